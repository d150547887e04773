// SPDX-License-Identifier: MIT OR Apache-2.0
//! What a command line parses into.
//!
//! A [`Script`] is a sequence of [`AndOr`] lists (separated by `;` or a
//! newline); an [`AndOr`] is [`Pipeline`]s joined by `&&` and `||`; a
//! [`Pipeline`] is [`Command`]s joined by `|`; a [`Command`] is its leading
//! `NAME=VALUE` [`Assignment`]s, its [`Word`]s and its [`Redirection`]s in
//! the order written. Words keep their quoting ([`WordPart`]) until
//! [`crate::expand`] turns them into fields.

use alloc::vec::Vec;

/// Everything one [`crate::parse`] call read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Script {
    /// The lists, in order.
    pub lists: Vec<AndOr>,
}

/// `PIPELINE [&& PIPELINE | || PIPELINE]…`: each later pipeline runs or
/// not depending on the status of the one before it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AndOr {
    /// The first pipeline, always run.
    pub first: Pipeline,
    /// The rest, each with the operator before it.
    pub rest: Vec<(Connector, Pipeline)>,
}

/// The operator between two pipelines of an [`AndOr`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Connector {
    /// `&&`: run the next one if the last status was 0.
    And,
    /// `||`: run the next one if the last status was not 0.
    Or,
}

/// `COMMAND [| COMMAND]…`: run together, each one's standard output the
/// next one's standard input; the status is the last command's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pipeline {
    /// At least one command.
    pub commands: Vec<Command>,
}

/// One simple command.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Command {
    /// `NAME=VALUE` words before the first ordinary word.
    pub assignments: Vec<Assignment>,
    /// The command name and its arguments, unexpanded.
    pub words: Vec<Word>,
    /// Redirections, in the order written (the order matters: `> f 2>&1`
    /// sends both to `f`, `2>&1 > f` only standard output).
    pub redirections: Vec<Redirection>,
}

/// `NAME=VALUE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assignment {
    /// The variable's name (a valid [`crate::is_name`]).
    pub name: Vec<u8>,
    /// Its value, unexpanded (never split into fields).
    pub value: Word,
}

/// `[N]< WORD`, `[N]> WORD`, `[N]>> WORD`, `[N]>&M`, `[N]<&M`, `[N]>&-`.
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
        /// literal (`""`) still makes a field.
        quoted: bool,
    },
    /// `$NAME`, `${NAME}` or a special parameter (`$?`, `$$`, `$#`, `$0`–`$9`,
    /// `$@`, `$*`): the name without `$` and braces.
    Variable {
        /// The name.
        name: Vec<u8>,
        /// Inside double quotes: never split into fields.
        quoted: bool,
    },
    /// An unquoted `~` at the start of a word, followed by `/` or nothing:
    /// the value of `HOME`.
    Home,
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
