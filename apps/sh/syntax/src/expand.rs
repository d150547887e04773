// SPDX-License-Identifier: MIT OR Apache-2.0
//! Expansion: a parsed [`Word`] becomes the fields (arguments) it stands
//! for.
//!
//! Variables are substituted; `~` at the start of a word becomes `HOME`.
//! The result of an *unquoted* expansion is split into fields at blanks
//! (space, tab, newline: POSIX field splitting with the default `IFS`), so
//! `X="a b"; ls $X` passes two arguments; anything quoted is never split,
//! and a word that was quoted, even `""`, always makes a field. An unset
//! variable expands to nothing. `"$@"` is one field per positional
//! argument. There is no pathname (glob) expansion.

use crate::ast::{Word, WordPart};
use alloc::vec::Vec;

/// What the shell knows that expansion reads.
pub trait Variables {
    /// The value of variable or special parameter `name` (`?`, `$`, `#`,
    /// `0`–`9`, `*`, `@`, or a name), `None` if unset.
    fn get(&self, name: &[u8]) -> Option<Vec<u8>>;

    /// The positional arguments `$1`, `$2`, … for `"$@"`.
    fn arguments(&self) -> Vec<Vec<u8>>;
}

/// Builds fields: `current` is the field being built, `None` before any
/// byte or quoted piece started one.
#[derive(Default)]
struct Fields {
    done: Vec<Vec<u8>>,
    current: Option<Vec<u8>>,
}

impl Fields {
    fn append(&mut self, bytes: &[u8]) {
        self.current
            .get_or_insert_with(Vec::new)
            .extend_from_slice(bytes);
    }

    fn end_field(&mut self) {
        if let Some(field) = self.current.take() {
            self.done.push(field);
        }
    }

    /// An unquoted expansion's value: blanks end fields and are dropped.
    fn append_split(&mut self, value: &[u8]) {
        for &byte in value {
            if matches!(byte, b' ' | b'\t' | b'\n') {
                self.end_field();
            } else {
                self.current.get_or_insert_with(Vec::new).push(byte);
            }
        }
    }

    fn finish(mut self) -> Vec<Vec<u8>> {
        self.end_field();
        self.done
    }
}

/// The fields `word` expands to (possibly none, e.g. an unset `$X`).
pub fn expand(word: &Word, variables: &dyn Variables) -> Vec<Vec<u8>> {
    let mut fields = Fields::default();
    for part in &word.parts {
        match part {
            WordPart::Literal { text, .. } => fields.append(text),
            WordPart::Home => fields.append(&variables.get(b"HOME").unwrap_or_default()),
            WordPart::Variable { name, quoted: true } if name == b"@" => {
                for (index, argument) in variables.arguments().iter().enumerate() {
                    if index > 0 {
                        fields.end_field();
                    }
                    fields.append(argument);
                }
            }
            WordPart::Variable { name, quoted } => {
                let value = variables.get(name).unwrap_or_default();
                if *quoted {
                    fields.append(&value);
                } else {
                    fields.append_split(&value);
                }
            }
        }
    }
    fields.finish()
}

/// `word` expanded to exactly one string, nothing split: assignment
/// values (`X=$Y` keeps `Y`'s blanks).
pub fn expand_joined(word: &Word, variables: &dyn Variables) -> Vec<u8> {
    let mut text = Vec::new();
    for part in &word.parts {
        match part {
            WordPart::Literal { text: literal, .. } => text.extend_from_slice(literal),
            WordPart::Home => text.extend_from_slice(&variables.get(b"HOME").unwrap_or_default()),
            WordPart::Variable { name, .. } => {
                text.extend_from_slice(&variables.get(name).unwrap_or_default())
            }
        }
    }
    text
}
