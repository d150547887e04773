// SPDX-License-Identifier: MIT OR Apache-2.0
//! The clauses of the `xchroot` builtin, read into operations.
//!
//! ```text
//! xchroot CLAUSE [[,] CLAUSE]… [-- COMMAND [ARGUMENT…]]
//!
//! CLAUSE := put PATH NAME [ro|rw]     PATH (current view) at /.../NAME
//!         | keep DIR NAME [ro|rw]     directory DIR, opened, kept across a root change
//!         | keep FD NAME [ro|rw]      the shell's open directory descriptor FD
//!         | remove NAME               take NAME (and what is below it) out of /...
//!         | clear                     empty /...
//!         | root PATH                 the root becomes directory PATH
//!         | root-exe                  the root becomes the running program's rootlink target
//! ```
//!
//! The mode is read-only unless `rw` is written. A comma between clauses
//! is optional (a word of its own, or at the end of the clause's last
//! word). NAME may be written with its `/.../` prefix and trailing
//! slashes; both are dropped, since `/...` names have one spelling
//! (`dotdotdot`). Every clause goes into *one* `xchroot()` call, all or
//! nothing. What follows `--` is the command to run in the new domain.

use alloc::vec::Vec;
use core::fmt;

/// Access mode of a put or kept entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `ro` (the default).
    ReadOnly,
    /// `rw`.
    ReadWrite,
}

/// The directory a `keep` clause names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Directory {
    /// An open descriptor of the shell (the word is digits only; write
    /// `./3` for a directory named `3`).
    Fd(i32),
    /// A path the shell opens for the call.
    Path(Vec<u8>),
}

/// One operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Operation {
    /// `put PATH NAME [ro|rw]`.
    Put {
        /// The file or directory, in the current view.
        path: Vec<u8>,
        /// Its `/...` name.
        name: Vec<u8>,
        /// Its mode.
        mode: Mode,
    },
    /// `keep DIR NAME [ro|rw]` or `keep FD NAME [ro|rw]`.
    Keep {
        /// The directory.
        directory: Directory,
        /// Its `/...` name.
        name: Vec<u8>,
        /// Its mode.
        mode: Mode,
    },
    /// `remove NAME`.
    Remove {
        /// The name.
        name: Vec<u8>,
    },
    /// `clear`.
    Clear,
    /// `root PATH`.
    Root {
        /// The new root, in the current view.
        path: Vec<u8>,
    },
    /// `root-exe`.
    RootExecutable,
}

/// What the builtin was asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// The operations, in order; at least one.
    pub operations: Vec<Operation>,
    /// The command after `--` (empty without `--`).
    pub command: Vec<Vec<u8>>,
}

/// Why the words are not a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UsageError {
    /// No clause at all.
    NoOperation,
    /// A word where a clause should start.
    UnknownClause(Vec<u8>),
    /// A clause ended before its arguments.
    MissingArgument(&'static str),
    /// `--` with no command after it.
    MissingCommand,
}

impl fmt::Display for UsageError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UsageError::NoOperation => formatter.write_str("no operation given"),
            UsageError::UnknownClause(word) => {
                formatter.write_str("unknown operation `")?;
                for chunk in word.utf8_chunks() {
                    formatter.write_str(chunk.valid())?;
                    if !chunk.invalid().is_empty() {
                        formatter.write_str("\u{fffd}")?;
                    }
                }
                formatter.write_str("`")
            }
            UsageError::MissingArgument(usage) => write!(formatter, "usage: {usage}"),
            UsageError::MissingCommand => formatter.write_str("`--` without a command after it"),
        }
    }
}

/// A word of the clause list: a word, or a comma.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Item<'a> {
    Word(&'a [u8]),
    Comma,
}

/// `/...` names have one spelling: no `/.../` prefix, no trailing `/`.
pub fn normalize_name(name: &[u8]) -> Vec<u8> {
    let mut name = name.strip_prefix(b"/.../").unwrap_or(name);
    while let Some(shorter) = name.strip_suffix(b"/") {
        if shorter.is_empty() {
            break;
        }
        name = shorter;
    }
    name.to_vec()
}

/// Reads the builtin's arguments (the words after `xchroot`).
///
/// Return values: [`UsageError`] for anything but a valid clause list.
pub fn parse_request<T: AsRef<[u8]>>(words: &[T]) -> Result<Request, UsageError> {
    let words: Vec<&[u8]> = words.iter().map(AsRef::as_ref).collect();
    let (clauses, command) = match words.iter().position(|word| *word == b"--") {
        Some(index) => {
            let command: Vec<Vec<u8>> = words[index + 1..].iter().map(|w| w.to_vec()).collect();
            if command.is_empty() {
                return Err(UsageError::MissingCommand);
            }
            (&words[..index], command)
        }
        None => (&words[..], Vec::new()),
    };
    let mut items = Vec::new();
    for word in clauses {
        if *word == b"," {
            items.push(Item::Comma);
        } else if let Some(stripped) = word.strip_suffix(b",") {
            items.push(Item::Word(stripped));
            items.push(Item::Comma);
        } else {
            items.push(Item::Word(word));
        }
    }
    let mut operations = Vec::new();
    let mut rest = items.as_slice();
    while let Some((first, after)) = rest.split_first() {
        rest = after;
        let verb = match first {
            Item::Comma => continue,
            Item::Word(verb) => *verb,
        };
        let operation = match verb {
            b"put" | b"keep" => {
                let usage = if verb == b"put" {
                    "put PATH NAME [ro|rw]"
                } else {
                    "keep DIR|FD NAME [ro|rw]"
                };
                let (target, name) = match rest {
                    [Item::Word(target), Item::Word(name), ..] => (*target, normalize_name(name)),
                    _ => return Err(UsageError::MissingArgument(usage)),
                };
                rest = &rest[2..];
                let mode = match rest.first() {
                    Some(Item::Word(b"rw")) => Some(Mode::ReadWrite),
                    Some(Item::Word(b"ro")) => Some(Mode::ReadOnly),
                    _ => None,
                };
                if mode.is_some() {
                    rest = &rest[1..];
                }
                let mode = mode.unwrap_or(Mode::ReadOnly);
                if verb == b"put" {
                    Operation::Put {
                        path: target.to_vec(),
                        name,
                        mode,
                    }
                } else {
                    let directory = match parse_fd(target) {
                        Some(fd) => Directory::Fd(fd),
                        None => Directory::Path(target.to_vec()),
                    };
                    Operation::Keep {
                        directory,
                        name,
                        mode,
                    }
                }
            }
            b"remove" => match rest.split_first() {
                Some((Item::Word(name), after)) => {
                    rest = after;
                    Operation::Remove {
                        name: normalize_name(name),
                    }
                }
                _ => return Err(UsageError::MissingArgument("remove NAME")),
            },
            b"clear" => Operation::Clear,
            b"root" => match rest.split_first() {
                Some((Item::Word(path), after)) => {
                    rest = after;
                    Operation::Root {
                        path: path.to_vec(),
                    }
                }
                _ => return Err(UsageError::MissingArgument("root PATH")),
            },
            b"root-exe" => Operation::RootExecutable,
            other => return Err(UsageError::UnknownClause(other.to_vec())),
        };
        operations.push(operation);
    }
    if operations.is_empty() {
        return Err(UsageError::NoOperation);
    }
    Ok(Request {
        operations,
        command,
    })
}

/// A descriptor number: digits only, below 64.
fn parse_fd(word: &[u8]) -> Option<i32> {
    if word.is_empty() || word.len() > 2 || !word.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let value = word
        .iter()
        .fold(0i32, |value, digit| value * 10 + i32::from(digit - b'0'));
    (value < 64).then_some(value)
}
