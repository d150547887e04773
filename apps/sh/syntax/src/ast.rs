// SPDX-License-Identifier: MIT OR Apache-2.0
//! What shell text parses into.
//!
//! A [`Script`] is a sequence of [`AndOr`] lists (separated by `;`, `&` or
//! a newline); an [`AndOr`] is [`Pipeline`]s joined by `&&` and `||`; a
//! [`Pipeline`] is [`Command`]s joined by `|`, possibly negated with `!`;
//! a [`Command`] is a [`SimpleCommand`], a [`CompoundCommand`] with its
//! redirections, or a function definition. Words keep their quoting
//! ([`WordPart`]) until [`crate::expand`] turns them into fields.
//!
//! Whatever a child shell may have to run — a background list, a pipeline
//! member, a subshell, a command substitution, a function — keeps its
//! source text too: the runtime has no `fork`, so it hands that text to a
//! new shell process (see `apps/sh/README.md`).

use alloc::boxed::Box;
use alloc::vec::Vec;

/// A sequence of lists.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Script {
    /// The lists, in order.
    pub lists: Vec<AndOr>,
}

/// `PIPELINE [&& PIPELINE | || PIPELINE]… [&]`: each later pipeline runs
/// or not depending on the status of the one before it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AndOr {
    /// The first pipeline, always run.
    pub first: Pipeline,
    /// The rest, each with the operator before it.
    pub rest: Vec<(Connector, Pipeline)>,
    /// Ended with `&`: run in the background.
    pub background: bool,
    /// The list as written (without the `&`).
    pub source: Vec<u8>,
}

/// The operator between two pipelines of an [`AndOr`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Connector {
    /// `&&`: run the next one if the last status was 0.
    And,
    /// `||`: run the next one if the last status was not 0.
    Or,
}

/// `[!] COMMAND [| COMMAND]…`: run together, each one's standard output
/// the next one's standard input; the status is the last command's
/// (inverted by `!`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pipeline {
    /// Written with a leading `!`.
    pub negated: bool,
    /// At least one command.
    pub commands: Vec<Command>,
    /// Each command's text as written, for a member run by a child shell.
    pub sources: Vec<Vec<u8>>,
}

/// One command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Assignments, words and redirections.
    Simple(SimpleCommand),
    /// `if`, `while`, `{ … }`, … with the redirections written after it.
    Compound(CompoundCommand, Vec<Redirection>),
    /// `NAME() COMPOUND`.
    Function(FunctionDefinition),
}

/// `NAME() BODY`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionDefinition {
    /// The function's name.
    pub name: Vec<u8>,
    /// What it runs.
    pub body: Box<Command>,
    /// The whole definition as written.
    pub source: Vec<u8>,
}

/// A simple command.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SimpleCommand {
    /// `NAME=VALUE` words before the first ordinary word.
    pub assignments: Vec<Assignment>,
    /// The command name and its arguments, unexpanded.
    pub words: Vec<Word>,
    /// Redirections, in the order written (the order matters: `> f 2>&1`
    /// sends both to `f`, `2>&1 > f` only standard output).
    pub redirections: Vec<Redirection>,
}

/// The compound commands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CompoundCommand {
    /// `{ LIST; }`: run in the shell.
    Group(Script),
    /// `( LIST )`: run in a child shell; `source` is LIST as written.
    Subshell {
        /// The list.
        body: Script,
        /// Its text.
        source: Vec<u8>,
    },
    /// `if C; then B; [elif C; then B;]… [else B;] fi`.
    If {
        /// Each condition with its body, in order.
        branches: Vec<(Script, Script)>,
        /// The `else` body.
        otherwise: Option<Script>,
    },
    /// `while C; do B; done` or `until C; do B; done`.
    Loop {
        /// `until`: loop while the condition fails.
        until: bool,
        /// The condition.
        condition: Script,
        /// The body.
        body: Script,
    },
    /// `for NAME [in WORD…]; do B; done`.
    For {
        /// The variable.
        name: Vec<u8>,
        /// The words; `None`: the positional parameters.
        words: Option<Vec<Word>>,
        /// The body.
        body: Script,
    },
    /// `case WORD in [(]PATTERN[|PATTERN]…) LIST;; … esac`.
    Case {
        /// The word matched.
        word: Word,
        /// The items, in order.
        items: Vec<CaseItem>,
    },
}

/// One `PATTERN|PATTERN) LIST ;;` of a `case`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseItem {
    /// The patterns.
    pub patterns: Vec<Word>,
    /// What runs when one matches.
    pub body: Script,
}

/// `NAME=VALUE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assignment {
    /// The variable's name (a valid [`crate::is_name`]).
    pub name: Vec<u8>,
    /// Its value, unexpanded (never split into fields).
    pub value: Word,
}

/// `[N]< WORD`, `[N]> WORD`, `[N]>> WORD`, `[N]>&M`, `[N]<&M`, `[N]>&-`,
/// `[N]<< DELIMITER`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Redirection {
    /// The descriptor of the command redirected (0 for `<`, 1 for `>`
    /// unless a number is written before the operator).
    pub fd: u8,
    /// What it is redirected to.
    pub kind: RedirectionKind,
}

/// Where a [`Redirection`] points.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RedirectionKind {
    /// `< WORD`: the file, opened for reading.
    Input(Word),
    /// `> WORD`: the file, created or truncated, opened for writing.
    Output(Word),
    /// `>> WORD`: the file, created if missing, every write appended.
    Append(Word),
    /// `>&M` or `<&M`: whatever the command's descriptor `M` is at this
    /// point of the list.
    Duplicate(u8),
    /// `>&-` or `<&-`: the descriptor is not passed at all.
    Close,
    /// `<< DELIMITER` or `<<- DELIMITER`: the lines that follow, up to
    /// the delimiter, as standard input. A quoted delimiter makes the
    /// body one quoted literal; otherwise `$…` and backquotes expand.
    HereDocument(Word),
}

/// One word as written: quoted and unquoted pieces, expansions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Word {
    /// The pieces, in order.
    pub parts: Vec<WordPart>,
}

/// A piece of a [`Word`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WordPart {
    /// Text taken as is (quotes and escapes already removed).
    Literal {
        /// The bytes.
        text: Vec<u8>,
        /// Whether it was inside quotes or escaped; a quoted empty
        /// literal (`""`) still makes a field, and quoted pattern
        /// characters match only themselves.
        quoted: bool,
    },
    /// `$NAME`, `${NAME}`, `${NAME OP WORD}`, `${#NAME}` or a special
    /// parameter (`$?`, `$$`, `$!`, `$#`, `$-`, `$0`–`$9`, `$@`, `$*`).
    Parameter {
        /// The name, without `$` and braces.
        name: Vec<u8>,
        /// What `${…}` does with the value.
        operation: ParameterOperation,
        /// Inside double quotes: never split into fields.
        quoted: bool,
    },
    /// `$( LIST )` or `` `LIST` ``: what the list prints.
    CommandSubstitution {
        /// The list.
        script: Script,
        /// Its text, for the child shell that runs it.
        source: Vec<u8>,
        /// Inside double quotes.
        quoted: bool,
    },
    /// `$(( EXPRESSION ))`: the expression is expanded, then evaluated.
    Arithmetic {
        /// The expression's text, with its expansions.
        expression: Word,
        /// Inside double quotes.
        quoted: bool,
    },
    /// An unquoted `~` at the start of a word, followed by `/` or nothing:
    /// the value of `HOME`.
    Home,
}

/// The `${…}` forms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParameterOperation {
    /// `$NAME` or `${NAME}`: the value.
    Value,
    /// `${#NAME}`: the value's length.
    Length,
    /// `${NAME:-WORD}` (`colon`: also when empty) or `${NAME-WORD}`.
    Default {
        /// Written with `:`: an empty value counts as unset.
        colon: bool,
        /// The word.
        word: Word,
    },
    /// `${NAME:=WORD}`: also assign it.
    Assign {
        /// Written with `:`.
        colon: bool,
        /// The word.
        word: Word,
    },
    /// `${NAME:?WORD}`: an error when unset.
    Error {
        /// Written with `:`.
        colon: bool,
        /// The message.
        word: Word,
    },
    /// `${NAME:+WORD}`: WORD when set.
    Alternative {
        /// Written with `:`.
        colon: bool,
        /// The word.
        word: Word,
    },
    /// `${NAME%WORD}` (`longest`: `%%`).
    RemoveSuffix {
        /// `%%`.
        longest: bool,
        /// The pattern.
        pattern: Word,
    },
    /// `${NAME#WORD}` (`longest`: `##`).
    RemovePrefix {
        /// `##`.
        longest: bool,
        /// The pattern.
        pattern: Word,
    },
}

impl Word {
    /// A word of one unquoted literal (tests and callers that build
    /// commands).
    pub fn literal(text: &[u8]) -> Word {
        Word {
            parts: alloc::vec![WordPart::Literal {
                text: text.to_vec(),
                quoted: false,
            }],
        }
    }

    /// The word's text if it is a single unquoted literal (no expansion,
    /// no quotes), as keywords and descriptor numbers must be.
    pub fn as_plain_literal(&self) -> Option<&[u8]> {
        match self.parts.as_slice() {
            [WordPart::Literal {
                text,
                quoted: false,
            }] => Some(text),
            _ => None,
        }
    }
}
