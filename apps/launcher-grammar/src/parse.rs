// SPDX-License-Identifier: MIT OR Apache-2.0
//! Parsing a command line with a [`Grammar`]: every argument becomes a word
//! or a file argument of a given kind.
//!
//! The syntax is the usual one (`getopt_long`), without its guesses:
//!
//! - `--name` is a long option; a value is attached as `--name=VALUE` or
//!   given as the next argument (`--name VALUE`). Long names match
//!   exactly: no abbreviations, so what a word means never depends on
//!   which other options exist. `--flag=VALUE` is an error.
//! - `-abc` is a cluster of short options; the first one that takes a
//!   value takes the rest of the cluster (`-n5`, `-an5`), or, if nothing
//!   is left, the next argument (`-n 5`).
//! - `-name` is a `single_dash` option when it is exactly one's name;
//!   its value is the next argument. Otherwise `-…` is a cluster.
//! - A `command` option's value (`find -exec CMD ARG... ;`) is every
//!   following argument up to and including `;`, or a `+` right after
//!   `{}`: all words.
//! - With `bundled_first`, a first argument not starting with `-` (and
//!   not empty) is a cluster, as if it did (`tar cf a.tar`).
//! - `--` ends the options; so does the first positional argument when the
//!   grammar is not `intermixed`.
//! - Everything else is a positional argument: the first ones have the
//!   grammar's `positional` kinds in order, further ones its `rest` kind
//!   — or those the switching options given anywhere on the line make
//!   (`ln -s`, `sed -e`; several apply in the grammar's order, a later
//!   one winning). Positional arguments and option values (whose kinds a
//!   switching option may change too: `tar c` makes `-f`'s an output)
//!   are classified once every option is read. `-` alone is a positional
//!   argument. With `operands_first`, a positional argument after an
//!   option or from one of `operand_ends` on is a word and no operand
//!   (`find . -name x ( ... )`).
//! - With no positional argument at all, the grammar's `default`
//!   arguments are used as if given, and are marked
//!   [`ParsedArgument::from_default`].
//!
//! Whatever the grammar says, a value or positional argument that is
//! exactly `-` (standard input or output, by convention) or empty stays a
//! word: neither names a file. Nothing else ever becomes a file unless
//! the grammar gives it a file kind. Parsing never panics and is linear
//! in the arguments times the options (plus the options times their
//! value changes, once).

use crate::grammar::Grammar;
use crate::kind::{Access, Kind};
use alloc::vec::Vec;
use core::fmt;

/// What one argument is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// An option, or a cluster of short options, possibly with a word
    /// value attached: passed on unchanged.
    Option,
    /// `--`: passed on unchanged.
    EndOfOptions,
    /// A word: a positional argument or option value of kind `word` (or
    /// `-`, or empty): passed on unchanged.
    Word,
    /// A file argument: `text[offset..]` is the path (`offset` > 0 for a
    /// value attached to its option, `--output=PATH`, `-oPATH`); `kind` is
    /// never [`Kind::Word`].
    File {
        /// What the path names.
        kind: Kind,
        /// Where the path starts in the argument.
        offset: usize,
    },
}

/// One argument and its role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParsedArgument<'a> {
    /// The argument as given (or the grammar's default).
    pub text: &'a [u8],
    /// What it is.
    pub role: Role,
    /// Whether it is one of the grammar's default arguments (not given on
    /// the command line).
    pub from_default: bool,
}

impl<'a> ParsedArgument<'a> {
    /// The path of a file argument (`None` for any other role).
    pub fn path(&self) -> Option<&'a [u8]> {
        match self.role {
            Role::File { offset, .. } => self.text.get(offset..),
            _ => None,
        }
    }

    /// The kind of a file argument.
    pub fn file_kind(&self) -> Option<Kind> {
        match self.role {
            Role::File { kind, .. } => Some(kind),
            _ => None,
        }
    }
}

/// A command line classified by a grammar: the arguments in order
/// (without `argv[0]`), then the defaults if they were used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedCommandLine<'a> {
    /// Every argument.
    pub arguments: Vec<ParsedArgument<'a>>,
    /// The access the caller's current directory is handed over with,
    /// when a given option asks for it (`tar x`: read-write), else `None`.
    pub directory: Option<Access>,
}

impl<'a> ParsedCommandLine<'a> {
    /// The file arguments, with their index in [`Self::arguments`].
    pub fn files(&self) -> impl Iterator<Item = (usize, &ParsedArgument<'a>)> {
        self.arguments
            .iter()
            .enumerate()
            .filter(|(_, argument)| matches!(argument.role, Role::File { .. }))
    }
}

/// A command line the grammar does not accept. The message names what is
/// wrong; the launcher prints it after the program's name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UsageError {
    /// `unknown option -x` / `unknown option --frobnicate`.
    UnknownOption(Vec<u8>),
    /// `option --lines needs a value`.
    OptionNeedsValue(Vec<u8>),
    /// `option --number takes no value`.
    OptionTakesNoValue(Vec<u8>),
    /// `too many arguments` (more positional arguments than allowed).
    TooManyArguments {
        /// The most allowed.
        max: u16,
    },
    /// `missing argument` (fewer positional arguments than required).
    MissingArguments {
        /// The fewest required.
        min: u16,
    },
    /// `option -exec needs a command ending in ; or {} +`.
    UnterminatedCommand(Vec<u8>),
}

/// Bytes shown as text, invalid UTF-8 replaced (for messages).
pub struct Text<'a>(pub &'a [u8]);

impl fmt::Display for Text<'_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        for chunk in self.0.utf8_chunks() {
            formatter.write_str(chunk.valid())?;
            if !chunk.invalid().is_empty() {
                formatter.write_str("\u{fffd}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for UsageError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UsageError::UnknownOption(option) => {
                write!(formatter, "unknown option {}", Text(option))
            }
            UsageError::OptionNeedsValue(option) => {
                write!(formatter, "option {} needs a value", Text(option))
            }
            UsageError::OptionTakesNoValue(option) => {
                write!(formatter, "option {} takes no value", Text(option))
            }
            UsageError::TooManyArguments { max } => {
                write!(formatter, "too many arguments (at most {max})")
            }
            UsageError::MissingArguments { min } => {
                write!(formatter, "missing argument (at least {min})")
            }
            UsageError::UnterminatedCommand(option) => write!(
                formatter,
                "option {} needs a command ending in ; or {{}} +",
                Text(option)
            ),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for UsageError {}

/// The role of a value or positional argument `text` of kind `kind`.
fn classify(kind: Kind, text: &[u8], offset: usize) -> Role {
    let value = text.get(offset..).unwrap_or(&[]);
    if kind.is_file() && !value.is_empty() && value != b"-" {
        Role::File { kind, offset }
    } else if offset == 0 {
        Role::Word
    } else {
        Role::Option
    }
}

fn short_name(short: u8) -> Vec<u8> {
    Vec::from([b'-', short])
}

/// The kind of every option's value on a line where the options `given`
/// are given: the option's own, or the last change a given switching
/// option makes to it (in the grammar's order).
fn value_kinds(grammar: &Grammar, given: &[bool]) -> Vec<Option<Kind>> {
    let options = &grammar.parts().options;
    let mut kinds: Vec<Option<Kind>> = options.iter().map(|option| option.value).collect();
    for (index, option) in options.iter().enumerate() {
        let (Some(operands), true) = (&option.operands, given.get(index) == Some(&true)) else {
            continue;
        };
        for change in &operands.values {
            if let Some(kind) = kinds.get_mut(change.option) {
                *kind = Some(change.kind);
            }
        }
    }
    kinds
}

/// Classifies `arguments` (the command line without `argv[0]`) with
/// `grammar`.
///
/// Return values:
/// - `Ok(line)`: every argument, and the defaults if none was positional;
/// - `Err(UsageError)`: an unknown option, a missing or unexpected option
///   value, a command (`-exec`) without its end, or a positional count
///   outside the grammar's bounds.
pub fn parse<'a, A: AsRef<[u8]>>(
    grammar: &'a Grammar,
    arguments: &'a [A],
) -> Result<ParsedCommandLine<'a>, UsageError> {
    let parts = grammar.parts();
    let options = &parts.options;
    let mut parsed = Vec::with_capacity(arguments.len());
    let mut options_ended = false;
    // With `operands_first`: an option or an operand end was seen, so
    // further positional arguments are words of the expression.
    let mut operands_ended = false;
    // Positional arguments and option values get their kinds at the end,
    // once it is known which switching options were given: their places
    // in the parsed line (and, for a value, its option and offset).
    let mut positionals: Vec<usize> = Vec::new();
    let mut values: Vec<(usize, usize, usize)> = Vec::new();
    let mut given = alloc::vec![false; options.len()];
    // The option whose value is the next argument: its spelling and index.
    let mut pending: Option<(Vec<u8>, usize)> = None;
    // The `command` option whose command line is being read.
    let mut command: Option<Vec<u8>> = None;
    let mut previous: &[u8] = &[];
    let word = |text| ParsedArgument {
        text,
        role: Role::Word,
        from_default: false,
    };
    let option_role = |text| ParsedArgument {
        text,
        role: Role::Option,
        from_default: false,
    };
    for (position, argument) in arguments.iter().enumerate() {
        let text = argument.as_ref();
        if command.is_some() {
            if text == b";" || (text == b"+" && previous == b"{}") {
                command = None;
            }
            previous = text;
            parsed.push(word(text));
            continue;
        }
        previous = text;
        if let Some((_, option)) = pending.take() {
            values.push((parsed.len(), option, 0));
            parsed.push(word(text));
            continue;
        }
        if !options_ended && text == b"--" {
            options_ended = true;
            parsed.push(ParsedArgument {
                text,
                role: Role::EndOfOptions,
                from_default: false,
            });
            continue;
        }
        if !options_ended && text.starts_with(b"--") {
            let body = &text[2..];
            let (name, value_offset) = match body.iter().position(|&byte| byte == b'=') {
                Some(equals) => (&body[..equals], Some(2 + equals + 1)),
                None => (body, None),
            };
            let mut spelling = Vec::from(&b"--"[..]);
            spelling.extend_from_slice(name);
            let Some(index) = grammar.long_option_index(name, false) else {
                return Err(UsageError::UnknownOption(spelling));
            };
            let has_value = options.get(index).is_some_and(|o| o.value.is_some());
            match (has_value, value_offset) {
                (false, None) => {}
                (false, Some(_)) => return Err(UsageError::OptionTakesNoValue(spelling)),
                (true, Some(offset)) => values.push((parsed.len(), index, offset)),
                (true, None) => pending = Some((spelling, index)),
            }
            given[index] = true;
            operands_ended = true;
            parsed.push(option_role(text));
            continue;
        }
        let dashed = !options_ended && text.len() > 1 && text[0] == b'-';
        if dashed {
            if let Some(index) = grammar.long_option_index(&text[1..], true) {
                let option = &options[index];
                if option.command {
                    command = Some(text.to_vec());
                } else if option.value.is_some() {
                    pending = Some((text.to_vec(), index));
                }
                given[index] = true;
                operands_ended = true;
                parsed.push(option_role(text));
                continue;
            }
        }
        // `tar cf out.tar`: a first argument without `-` read as if it
        // had one.
        let bundled =
            position == 0 && parts.bundled_first && text.first().is_some_and(|&b| b != b'-');
        if dashed || bundled {
            let start = usize::from(dashed);
            for (index, &short) in text.iter().enumerate().skip(start) {
                let Some(option) = grammar.short_option_index(short) else {
                    // `find -nam`: where options are spelled `-name`, the
                    // whole argument is what is unknown.
                    if dashed && text.len() > 2 && options.iter().any(|o| o.single_dash) {
                        return Err(UsageError::UnknownOption(text.to_vec()));
                    }
                    return Err(UsageError::UnknownOption(short_name(short)));
                };
                given[option] = true;
                if options[option].value.is_some() {
                    if index + 1 < text.len() {
                        values.push((parsed.len(), option, index + 1));
                    } else {
                        pending = Some((short_name(short), option));
                    }
                    break;
                }
            }
            operands_ended = true;
            parsed.push(option_role(text));
            continue;
        }
        if parts.operands_first
            && (operands_ended || parts.operand_ends.iter().any(|end| end == text))
        {
            // `find . -name x ( ... )`: a word of the expression, no
            // operand.
            operands_ended = true;
            parsed.push(word(text));
            continue;
        }
        if !parts.intermixed {
            options_ended = true;
        }
        positionals.push(parsed.len());
        parsed.push(word(text));
    }
    if let Some(spelling) = command {
        return Err(UsageError::UnterminatedCommand(spelling));
    }
    if let Some((spelling, _)) = pending {
        return Err(UsageError::OptionNeedsValue(spelling));
    }
    if positionals.is_empty() {
        for default in &parts.defaults {
            positionals.push(parsed.len());
            parsed.push(ParsedArgument {
                text: default,
                role: Role::Word,
                from_default: true,
            });
        }
    }
    let is_given = |index: usize| given.get(index) == Some(&true);
    let layout = grammar.layout_given(is_given);
    if let Some(max) = layout.max {
        if positionals.len() > usize::from(max) {
            return Err(UsageError::TooManyArguments { max });
        }
    }
    let min = parts.min;
    if positionals.len() < usize::from(min) {
        return Err(UsageError::MissingArguments { min });
    }
    for (count, &at) in positionals.iter().enumerate() {
        let Some(kind) = layout.kind(count) else {
            return Err(UsageError::TooManyArguments {
                max: layout.max.unwrap_or(0),
            });
        };
        if let Some(argument) = parsed.get_mut(at) {
            argument.role = classify(kind, argument.text, 0);
        }
    }
    let kinds = value_kinds(grammar, &given);
    for (at, option, offset) in values {
        let (Some(argument), Some(Some(kind))) = (parsed.get_mut(at), kinds.get(option)) else {
            continue;
        };
        argument.role = classify(*kind, argument.text, offset);
    }
    let directory = options
        .iter()
        .enumerate()
        .filter(|&(index, _)| is_given(index))
        .filter_map(|(_, option)| option.operands.as_ref()?.directory)
        .max();
    Ok(ParsedCommandLine {
        arguments: parsed,
        directory,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grammar::{GrammarParts, OptionSpec};
    use alloc::vec;

    fn cat() -> Grammar {
        Grammar::new(GrammarParts {
            options: vec![
                OptionSpec::flag(Some(b'n'), Some("number")),
                OptionSpec::flag(Some(b'a'), None),
                OptionSpec::with_value(Some(b'o'), Some("output"), Kind::Output),
                OptionSpec::with_value(Some(b'l'), Some("lines"), Kind::Word),
            ],
            rest: Some(Kind::Input),
            ..GrammarParts::default()
        })
        .unwrap()
    }

    fn roles(grammar: &Grammar, arguments: &[&str]) -> Result<Vec<Role>, UsageError> {
        parse(grammar, arguments).map(|line| line.arguments.iter().map(|a| a.role).collect())
    }

    const INPUT: Role = Role::File {
        kind: Kind::Input,
        offset: 0,
    };

    #[test]
    fn cat_dash_n_notes_and_true() {
        assert_eq!(
            roles(&cat(), &["-n", "notes.txt", "/bin/true"]),
            Ok(vec![Role::Option, INPUT, INPUT])
        );
    }

    #[test]
    fn option_values_in_every_spelling() {
        let output = |offset| Role::File {
            kind: Kind::Output,
            offset,
        };
        let grammar = cat();
        assert_eq!(
            roles(&grammar, &["-o", "x"]),
            Ok(vec![Role::Option, output(0)])
        );
        assert_eq!(roles(&grammar, &["-ox"]), Ok(vec![output(2)]));
        assert_eq!(roles(&grammar, &["-naox"]), Ok(vec![output(4)]));
        assert_eq!(roles(&grammar, &["--output=x"]), Ok(vec![output(9)]));
        assert_eq!(
            roles(&grammar, &["--output", "x"]),
            Ok(vec![Role::Option, output(0)])
        );
        // Word values stay words, attached or not.
        assert_eq!(roles(&grammar, &["-l5"]), Ok(vec![Role::Option]));
        assert_eq!(
            roles(&grammar, &["--lines", "/etc"]),
            Ok(vec![Role::Option, Role::Word])
        );
        // `-` and empty values are words.
        assert_eq!(
            roles(&grammar, &["-o", "-"]),
            Ok(vec![Role::Option, Role::Word])
        );
        assert_eq!(roles(&grammar, &["--output="]), Ok(vec![Role::Option]));
        // A value that looks like an option is a value.
        assert_eq!(
            roles(&grammar, &["-o", "-n"]),
            Ok(vec![Role::Option, output(0)])
        );
    }

    #[test]
    fn double_dash_and_dash() {
        assert_eq!(
            roles(&cat(), &["--", "-n", "-", "--"]),
            Ok(vec![Role::EndOfOptions, INPUT, Role::Word, INPUT])
        );
        assert_eq!(roles(&cat(), &["-"]), Ok(vec![Role::Word]));
    }

    #[test]
    fn errors_name_what_is_wrong() {
        let grammar = cat();
        let message =
            |arguments: &[&str]| alloc::format!("{}", roles(&grammar, arguments).unwrap_err());
        assert_eq!(message(&["-x"]), "unknown option -x");
        assert_eq!(message(&["-nx"]), "unknown option -x");
        assert_eq!(message(&["--frob"]), "unknown option --frob");
        assert_eq!(message(&["--numb"]), "unknown option --numb");
        assert_eq!(message(&["--lines"]), "option --lines needs a value");
        assert_eq!(message(&["a", "-l"]), "option -l needs a value");
        assert_eq!(message(&["--number=3"]), "option --number takes no value");
        let one = Grammar::new(GrammarParts {
            positional: vec![Kind::Input],
            min: 1,
            ..GrammarParts::default()
        })
        .unwrap();
        assert_eq!(
            alloc::format!("{}", roles(&one, &["a", "b"]).unwrap_err()),
            "too many arguments (at most 1)"
        );
        assert_eq!(
            alloc::format!("{}", roles(&one, &[]).unwrap_err()),
            "missing argument (at least 1)"
        );
    }

    #[test]
    fn leading_kinds_then_rest() {
        let grammar = Grammar::new(GrammarParts {
            positional: vec![Kind::Word, Kind::Entry],
            rest: Some(Kind::Dir),
            max: Some(3),
            ..GrammarParts::default()
        })
        .unwrap();
        assert_eq!(
            roles(&grammar, &["w", "e", "d"]),
            Ok(vec![
                Role::Word,
                Role::File {
                    kind: Kind::Entry,
                    offset: 0
                },
                Role::File {
                    kind: Kind::Dir,
                    offset: 0
                }
            ])
        );
        assert_eq!(
            roles(&grammar, &["w", "e", "d", "d"]),
            Err(UsageError::TooManyArguments { max: 3 })
        );
    }

    #[test]
    fn a_switching_flag_changes_the_operands_wherever_it_stands() {
        // `ln [-s] [-f] TARGET... NAME`: with `-s`, TARGET is a word.
        let ln = Grammar::new(GrammarParts {
            options: vec![
                OptionSpec::switch(
                    Some(b's'),
                    Some("symbolic"),
                    crate::grammar::Operands {
                        positional: Some(vec![Kind::Word]),
                        rest: None,
                        ..Default::default()
                    },
                ),
                OptionSpec::flag(Some(b'f'), None),
            ],
            rest: Some(Kind::Entry),
            min: 1,
            ..GrammarParts::default()
        })
        .unwrap();
        const ENTRY: Role = Role::File {
            kind: Kind::Entry,
            offset: 0,
        };
        assert_eq!(roles(&ln, &["t", "n"]), Ok(vec![ENTRY, ENTRY]));
        assert_eq!(
            roles(&ln, &["-s", "t", "n"]),
            Ok(vec![Role::Option, Role::Word, ENTRY])
        );
        assert_eq!(
            roles(&ln, &["t", "n", "-fs"]),
            Ok(vec![Role::Word, ENTRY, Role::Option])
        );
        assert_eq!(
            roles(&ln, &["--symbolic", "--", "-t", "n"]),
            Ok(vec![Role::Option, Role::EndOfOptions, Role::Word, ENTRY])
        );
        // After `--`, `-s` is an operand, not the flag.
        assert_eq!(
            roles(&ln, &["--", "-s", "n"]),
            Ok(vec![Role::EndOfOptions, ENTRY, ENTRY])
        );
        // The switched kinds bound the count as the grammar's do.
        let copy = Grammar::new(GrammarParts {
            options: vec![OptionSpec::switch(
                Some(b'1'),
                None,
                crate::grammar::Operands {
                    positional: Some(vec![Kind::Input]),
                    rest: None,
                    ..Default::default()
                },
            )],
            positional: vec![Kind::Input, Kind::Output],
            ..GrammarParts::default()
        })
        .unwrap();
        assert_eq!(roles(&copy, &["a", "b"]).map(|r| r.len()), Ok(2));
        assert_eq!(
            roles(&copy, &["a", "-1", "b"]),
            Err(UsageError::TooManyArguments { max: 1 })
        );
    }

    #[test]
    fn defaults_apply_only_without_positionals() {
        let grammar = Grammar::new(GrammarParts {
            options: vec![OptionSpec::flag(Some(b'l'), None)],
            rest: Some(Kind::Dir),
            defaults: vec![b".".to_vec()],
            ..GrammarParts::default()
        })
        .unwrap();
        let line = parse(&grammar, &["-l"]).unwrap();
        assert_eq!(line.arguments.len(), 2);
        assert!(line.arguments[1].from_default);
        assert_eq!(line.arguments[1].path(), Some(&b"."[..]));
        let line = parse(&grammar, &["bin"]).unwrap();
        assert_eq!(line.arguments.len(), 1);
        assert!(!line.arguments[0].from_default);
        assert_eq!(line.files().count(), 1);
    }

    #[test]
    fn posix_order_ends_options_at_the_first_positional() {
        let grammar = Grammar::new(GrammarParts {
            options: vec![OptionSpec::flag(Some(b'x'), None)],
            positional: vec![Kind::Input],
            rest: Some(Kind::Word),
            intermixed: false,
            ..GrammarParts::default()
        })
        .unwrap();
        assert_eq!(
            roles(&grammar, &["-x", "script", "-x", "--", "-y"]),
            Ok(vec![
                Role::Option,
                INPUT,
                Role::Word,
                Role::Word,
                Role::Word
            ])
        );
        // Intermixed (the default) reads options anywhere.
        assert_eq!(
            roles(&cat(), &["a", "-n", "b"]),
            Ok(vec![INPUT, Role::Option, INPUT])
        );
    }

    #[test]
    fn single_dash_long_options_and_commands() {
        // `find [-L] [PATH...] [-name P] [-newer F] [-exec CMD... ;]`.
        let find = Grammar::new(GrammarParts {
            options: vec![
                OptionSpec::flag(Some(b'L'), None),
                OptionSpec::flag(Some(b'n'), None),
                OptionSpec::single_dash("name", Some(Kind::Word)),
                OptionSpec::single_dash("newer", Some(Kind::Input)),
                OptionSpec::single_dash("print", None),
                OptionSpec::command("exec"),
            ],
            rest: Some(Kind::Input),
            operands_first: true,
            operand_ends: vec![b"!".to_vec()],
            ..GrammarParts::default()
        })
        .unwrap();
        // An argument that is a single-dash name is that option; else a
        // cluster of short options.
        assert_eq!(
            roles(&find, &["a", "-name", "x", "-L", "-newer", "r"]),
            Ok(vec![
                INPUT,
                Role::Option,
                Role::Word,
                Role::Option,
                Role::Option,
                INPUT
            ])
        );
        assert_eq!(roles(&find, &["-nL"]), Ok(vec![Role::Option]));
        // Never with two dashes, nor after `--`.
        assert_eq!(
            roles(&find, &["--name"]),
            Err(UsageError::UnknownOption(b"--name".to_vec()))
        );
        assert_eq!(
            roles(&find, &["--", "-name"]),
            Ok(vec![Role::EndOfOptions, INPUT])
        );
        // After the first option, or `!`, positional arguments are words
        // of the expression, and no operands.
        assert_eq!(
            roles(&find, &["a", "!", "b", "-print", "c"]),
            Ok(vec![
                INPUT,
                Role::Word,
                Role::Word,
                Role::Option,
                Role::Word
            ])
        );
        // A command runs to `;`, or to `+` right after `{}`; every
        // argument of it is a word, options and files alike.
        assert_eq!(
            roles(&find, &["-exec", "-newer", "+", "{}", "+", "-print"]),
            Ok(vec![
                Role::Option,
                Role::Word,
                Role::Word,
                Role::Word,
                Role::Word,
                Role::Option
            ])
        );
        assert_eq!(
            roles(&find, &["-exec", ";", "a"]),
            Ok(vec![Role::Option, Role::Word, Role::Word])
        );
        assert_eq!(
            roles(&find, &["-exec", "rm", "{}"]),
            Err(UsageError::UnterminatedCommand(b"-exec".to_vec()))
        );
    }

    #[test]
    fn a_bundled_first_argument_is_a_cluster() {
        let tar = Grammar::new(GrammarParts {
            options: vec![
                OptionSpec::flag(Some(b'v'), None),
                OptionSpec::with_value(Some(b'f'), None, Kind::Output),
            ],
            rest: Some(Kind::Input),
            bundled_first: true,
            ..GrammarParts::default()
        })
        .unwrap();
        let output = Role::File {
            kind: Kind::Output,
            offset: 0,
        };
        assert_eq!(
            roles(&tar, &["vf", "a.tar", "b"]),
            Ok(vec![Role::Option, output, INPUT])
        );
        // As with a dash, the value may be attached.
        assert_eq!(
            roles(&tar, &["fa.tar"]),
            Ok(vec![Role::File {
                kind: Kind::Output,
                offset: 1
            }])
        );
        assert_eq!(
            roles(&tar, &["-vf", "a.tar", "vf"]),
            Ok(vec![Role::Option, output, INPUT])
        );
        // Only the first argument; `-` and empty ones are none.
        assert_eq!(
            roles(&tar, &["q"]),
            Err(UsageError::UnknownOption(b"-q".to_vec()))
        );
        assert_eq!(roles(&tar, &["-", "v"]), Ok(vec![Role::Word, INPUT]));
        assert_eq!(roles(&tar, &[""]), Ok(vec![Role::Word]));
    }

    #[test]
    fn switches_with_values_combine_in_grammar_order() {
        use crate::grammar::{Operands, ValueChange};
        let switch = |short, value, operands| OptionSpec {
            operands: Some(operands),
            ..match value {
                Some(kind) => OptionSpec::with_value(Some(short), None, kind),
                None => OptionSpec::flag(Some(short), None),
            }
        };
        // c: rest input, -f output; x: -f input, directory read-write;
        // C DIR: rest word (later in the grammar: wins over c's rest).
        let grammar = Grammar::new(GrammarParts {
            options: vec![
                switch(
                    b'c',
                    None,
                    Operands {
                        rest: Some(Kind::Input),
                        values: vec![ValueChange {
                            option: 2,
                            kind: Kind::Output,
                        }],
                        ..Operands::default()
                    },
                ),
                switch(
                    b'x',
                    None,
                    Operands {
                        values: vec![ValueChange {
                            option: 2,
                            kind: Kind::Input,
                        }],
                        directory: Some(Access::ReadWrite),
                        ..Operands::default()
                    },
                ),
                OptionSpec::with_value(Some(b'f'), None, Kind::Word),
                switch(
                    b'C',
                    Some(Kind::DirRw),
                    Operands {
                        rest: Some(Kind::Word),
                        ..Operands::default()
                    },
                ),
                switch(
                    b'e',
                    Some(Kind::Word),
                    Operands {
                        positional: Some(vec![]),
                        ..Operands::default()
                    },
                ),
            ],
            positional: vec![Kind::Word],
            rest: Some(Kind::Word),
            ..GrammarParts::default()
        })
        .unwrap();
        let file = |kind| Role::File { kind, offset: 0 };
        // The value's kind is decided once every option is read: `-f`
        // before `-c` is the archive written.
        let line = parse(&grammar, &["-f", "o", "-c", "a", "b"]).unwrap();
        let got: Vec<Role> = line.arguments.iter().map(|a| a.role).collect();
        assert_eq!(
            got,
            vec![
                Role::Option,
                file(Kind::Output),
                Role::Option,
                Role::Word,
                file(Kind::Input)
            ]
        );
        assert_eq!(line.directory, None);
        let line = parse(&grammar, &["-xfi", "m"]).unwrap();
        assert_eq!(
            line.arguments[0].role,
            Role::File {
                kind: Kind::Input,
                offset: 3
            }
        );
        assert_eq!(line.directory, Some(Access::ReadWrite));
        // Neither mode: `-f`'s value stays a word.
        assert_eq!(
            roles(&grammar, &["-f", "o"]),
            Ok(vec![Role::Option, Role::Word])
        );
        // Both c and C: C's rest wins; e's positional and c's rest
        // together.
        assert_eq!(
            roles(&grammar, &["-c", "-C", "d", "a", "b"]),
            Ok(vec![
                Role::Option,
                Role::Option,
                file(Kind::DirRw),
                Role::Word,
                Role::Word
            ])
        );
        assert_eq!(
            roles(&grammar, &["-c", "-e", "s", "a"]),
            Ok(vec![
                Role::Option,
                Role::Option,
                Role::Word,
                file(Kind::Input)
            ])
        );
    }
}
