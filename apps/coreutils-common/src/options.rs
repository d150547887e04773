// SPDX-License-Identifier: MIT OR Apache-2.0
//! Command-line options, the way GNU `getopt_long` reads them (simplified).
//!
//! A program describes its options once in a [`Spec`]: single-letter
//! flags, letters that take a value, long names mapped to letters, and
//! whether the first operand ends the options (`env`, POSIX style) or
//! options may follow operands (GNU's permutation, the default). [`parse`]
//! then splits the arguments into [`Parsed`] flags, values and operands:
//!
//! - `-abc` is `-a -b -c`; `-nVALUE` and `-n VALUE` give `n` a value;
//! - `--name` and `--name=VALUE` (or `--name VALUE`) are the long forms;
//! - `--` ends the options; `-` alone is an operand (standard input);
//! - `--help` sets [`Parsed::help`].
//!
//! Nothing here allocates per byte of input: operands and values are
//! slices of the arguments. Every malformed input is a [`UsageError`],
//! never a panic.

use alloc::vec::Vec;
use core::fmt;

/// What a program accepts.
#[derive(Clone, Copy, Debug)]
pub struct Spec {
    /// The synopsis printed after `usage: ` (for example `ls [-1adl] [FILE]...`).
    pub usage: &'static str,
    /// Letters that are flags without a value.
    pub flags: &'static [u8],
    /// Letters that take a value.
    pub valued: &'static [u8],
    /// Long names and the letter each stands for.
    pub long: &'static [(&'static str, u8)],
    /// Whether the first operand ends the options (nothing after it is an
    /// option), as POSIX `getopt` does and `env` needs.
    pub stop_at_operand: bool,
}

impl Spec {
    /// A spec with no options at all.
    pub const fn none(usage: &'static str) -> Spec {
        Spec {
            usage,
            flags: b"",
            valued: b"",
            long: &[],
            stop_at_operand: false,
        }
    }

    fn takes_value(&self, letter: u8) -> bool {
        self.valued.contains(&letter)
    }

    fn knows(&self, letter: u8) -> bool {
        self.flags.contains(&letter) || self.takes_value(letter)
    }
}

/// Why the arguments were refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UsageError<'a> {
    /// `-x` for an unknown `x`.
    UnknownOption(u8),
    /// `--name` for an unknown name.
    UnknownLongOption(&'a [u8]),
    /// `-n` (or `--lines`) at the end, without its value.
    MissingValue(u8),
    /// `--name=VALUE` for an option without a value.
    UnexpectedValue(&'a [u8]),
}

impl fmt::Display for UsageError<'_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            UsageError::UnknownOption(letter) => {
                write!(
                    formatter,
                    "invalid option -- '{}'",
                    crate::text::Byte(letter)
                )
            }
            UsageError::UnknownLongOption(name) => {
                write!(
                    formatter,
                    "unrecognized option '--{}'",
                    crate::text::Name(name)
                )
            }
            UsageError::MissingValue(letter) => write!(
                formatter,
                "option requires an argument -- '{}'",
                crate::text::Byte(letter)
            ),
            UsageError::UnexpectedValue(name) => write!(
                formatter,
                "option '--{}' doesn't allow an argument",
                crate::text::Name(name)
            ),
        }
    }
}

/// The parsed command line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Parsed<'a> {
    /// One bit per ASCII letter seen as a flag or valued option.
    seen: u128,
    /// Values of valued options, in order.
    values: Vec<(u8, &'a [u8])>,
    /// The operands, in order.
    pub operands: Vec<&'a [u8]>,
    /// Whether `--help` was given.
    pub help: bool,
}

impl<'a> Parsed<'a> {
    /// Whether option `letter` was given (with or without a value).
    pub fn has(&self, letter: u8) -> bool {
        letter < 128 && self.seen & (1u128 << letter) != 0
    }

    /// The last value given to option `letter`.
    pub fn value(&self, letter: u8) -> Option<&'a [u8]> {
        self.values
            .iter()
            .rev()
            .find(|(found, _)| *found == letter)
            .map(|(_, value)| *value)
    }

    /// Every value given to option `letter`, in order.
    pub fn values(&self, letter: u8) -> impl Iterator<Item = &'a [u8]> + '_ {
        self.values
            .iter()
            .filter(move |(found, _)| *found == letter)
            .map(|(_, value)| *value)
    }

    fn mark(&mut self, letter: u8) {
        if letter < 128 {
            self.seen |= 1u128 << letter;
        }
    }

    fn push_value(
        &mut self,
        letter: u8,
        value: &'a [u8],
    ) -> Result<(), crate::memory::OutOfMemory> {
        self.mark(letter);
        crate::memory::try_push(&mut self.values, (letter, value))
    }
}

/// Either a usage error or running out of memory (which only a hostile
/// number of arguments could cause, and the kernel bounds those).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseError<'a> {
    /// The arguments are not what the program accepts.
    Usage(UsageError<'a>),
    /// No memory for the lists.
    OutOfMemory,
}

impl From<crate::memory::OutOfMemory> for ParseError<'_> {
    fn from(_: crate::memory::OutOfMemory) -> Self {
        ParseError::OutOfMemory
    }
}

impl<'a> From<UsageError<'a>> for ParseError<'a> {
    fn from(error: UsageError<'a>) -> Self {
        ParseError::Usage(error)
    }
}

/// Parses `arguments` (without the program name) against `spec`.
///
/// Return values: the [`Parsed`] options; [`ParseError::Usage`] for an
/// unknown option, a missing value or a value given to a flag;
/// [`ParseError::OutOfMemory`].
pub fn parse<'a>(spec: &Spec, arguments: &[&'a [u8]]) -> Result<Parsed<'a>, ParseError<'a>> {
    let mut parsed = Parsed::default();
    let mut index = 0;
    let mut only_operands = false;
    while index < arguments.len() {
        let argument = arguments[index];
        index += 1;
        if only_operands || argument.len() < 2 || argument[0] != b'-' {
            crate::memory::try_push(&mut parsed.operands, argument)?;
            if spec.stop_at_operand {
                only_operands = true;
            }
            continue;
        }
        if argument == b"--" {
            only_operands = true;
            continue;
        }
        if let Some(long) = argument.strip_prefix(b"--") {
            let (name, inline_value) = match long.iter().position(|&byte| byte == b'=') {
                Some(equals) => (&long[..equals], Some(&long[equals + 1..])),
                None => (long, None),
            };
            if name == b"help" && inline_value.is_none() {
                parsed.help = true;
                continue;
            }
            let letter = spec
                .long
                .iter()
                .find(|(known, _)| known.as_bytes() == name)
                .map(|(_, letter)| *letter)
                .ok_or(UsageError::UnknownLongOption(name))?;
            if spec.takes_value(letter) {
                let value = match inline_value {
                    Some(value) => value,
                    None => {
                        let value = arguments
                            .get(index)
                            .copied()
                            .ok_or(UsageError::MissingValue(letter))?;
                        index += 1;
                        value
                    }
                };
                parsed.push_value(letter, value)?;
            } else if inline_value.is_some() {
                return Err(UsageError::UnexpectedValue(name).into());
            } else {
                parsed.mark(letter);
            }
            continue;
        }
        // A cluster of short options: `-abc`, `-nVALUE`, `-n VALUE`.
        let mut position = 1;
        while position < argument.len() {
            let letter = argument[position];
            position += 1;
            if !spec.knows(letter) {
                return Err(UsageError::UnknownOption(letter).into());
            }
            if spec.takes_value(letter) {
                let value = if position < argument.len() {
                    &argument[position..]
                } else {
                    let value = arguments
                        .get(index)
                        .copied()
                        .ok_or(UsageError::MissingValue(letter))?;
                    index += 1;
                    value
                };
                parsed.push_value(letter, value)?;
                break;
            }
            parsed.mark(letter);
        }
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LS: Spec = Spec {
        usage: "ls [-1adl] [FILE]...",
        flags: b"1adl",
        valued: b"",
        long: &[("all", b'a')],
        stop_at_operand: false,
    };

    const HEAD: Spec = Spec {
        usage: "head [-n N] [FILE]...",
        flags: b"qv",
        valued: b"nc",
        long: &[("lines", b'n'), ("quiet", b'q')],
        stop_at_operand: false,
    };

    fn arguments(text: &'static str) -> Vec<&'static [u8]> {
        text.split(' ')
            .filter(|word| !word.is_empty())
            .map(str::as_bytes)
            .collect()
    }

    #[test]
    fn clustered_flags_and_permuted_operands() {
        let parsed = parse(&LS, &arguments("-la /bin -1 x")).unwrap();
        assert!(parsed.has(b'l') && parsed.has(b'a') && parsed.has(b'1'));
        assert!(!parsed.has(b'd'));
        assert_eq!(parsed.operands, [b"/bin".as_slice(), b"x"]);
    }

    #[test]
    fn double_dash_and_single_dash() {
        let parsed = parse(&LS, &arguments("-- -l - x")).unwrap();
        assert!(!parsed.has(b'l'));
        assert_eq!(parsed.operands, [b"-l".as_slice(), b"-", b"x"]);
        let parsed = parse(&LS, &arguments("- -l")).unwrap();
        assert!(parsed.has(b'l'));
        assert_eq!(parsed.operands, [b"-".as_slice()]);
    }

    #[test]
    fn values_attached_separate_and_long() {
        let parsed = parse(&HEAD, &arguments("-n5 f")).unwrap();
        assert_eq!(parsed.value(b'n'), Some(b"5".as_slice()));
        let parsed = parse(&HEAD, &arguments("-qn 7 f")).unwrap();
        assert!(parsed.has(b'q'));
        assert_eq!(parsed.value(b'n'), Some(b"7".as_slice()));
        assert_eq!(parsed.operands, [b"f".as_slice()]);
        let parsed = parse(&HEAD, &arguments("--lines=3 --lines 4 --quiet")).unwrap();
        assert_eq!(parsed.value(b'n'), Some(b"4".as_slice()));
        assert_eq!(parsed.values(b'n').count(), 2);
        assert!(parsed.has(b'q') && parsed.has(b'n'));
        let parsed = parse(&HEAD, &arguments("-n -5")).unwrap();
        assert_eq!(parsed.value(b'n'), Some(b"-5".as_slice()));
    }

    #[test]
    fn errors() {
        assert_eq!(
            parse(&LS, &arguments("-x")),
            Err(ParseError::Usage(UsageError::UnknownOption(b'x')))
        );
        assert_eq!(
            parse(&HEAD, &arguments("f -n")),
            Err(ParseError::Usage(UsageError::MissingValue(b'n')))
        );
        assert_eq!(
            parse(&HEAD, &arguments("--lines")),
            Err(ParseError::Usage(UsageError::MissingValue(b'n')))
        );
        assert_eq!(
            parse(&LS, &arguments("--all=yes")),
            Err(ParseError::Usage(UsageError::UnexpectedValue(b"all")))
        );
        assert_eq!(
            parse(&LS, &arguments("--bogus")),
            Err(ParseError::Usage(UsageError::UnknownLongOption(b"bogus")))
        );
        let message = alloc::format!("{}", UsageError::UnknownOption(0x1b));
        assert_eq!(message, "invalid option -- '?'");
        let message = alloc::format!("{}", UsageError::MissingValue(b'n'));
        assert_eq!(message, "option requires an argument -- 'n'");
    }

    #[test]
    fn help_and_stop_at_operand() {
        assert!(parse(&LS, &arguments("--help")).unwrap().help);
        let env = Spec {
            usage: "env [-i] [NAME=VALUE]... [COMMAND [ARG]...]",
            flags: b"i",
            valued: b"u",
            long: &[],
            stop_at_operand: true,
        };
        let parsed = parse(&env, &arguments("-i A=1 ls -l")).unwrap();
        assert!(parsed.has(b'i'));
        assert_eq!(parsed.operands, [b"A=1".as_slice(), b"ls", b"-l"]);
    }

    #[test]
    fn hostile_bytes_never_panic() {
        let inputs: [&[u8]; 6] = [
            b"-\xff",
            b"--\xff=\x00",
            b"-n",
            b"--=",
            b"---",
            b"-\x80\x81",
        ];
        for input in inputs {
            let _ = parse(&HEAD, &[input]);
            let _ = parse(&LS, &[input, input]);
        }
    }
}
