// SPDX-License-Identifier: MIT OR Apache-2.0
//! Quoting: write a word so that the shell reads it back unchanged.
//!
//! The shell uses it to hand words it has already expanded to a helper
//! `sh -c` (the `xchroot … -- COMMAND` builtin, builtins in a pipeline):
//! each word is quoted, so nothing in it is expanded, split or taken as an
//! operator a second time. A word of only harmless bytes is written as
//! is; anything else goes in single quotes, with each `'` written `'\''`
//! (close, escaped quote, reopen). A property test checks the round trip
//! through [`crate::parse`] and [`crate::expand`] for arbitrary bytes.

use alloc::vec::Vec;

/// Bytes that mean nothing special anywhere in a word.
fn is_harmless(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"_-./,:+%@^".contains(&byte)
}

/// `word`, quoted if it needs to be.
pub fn quote(word: &[u8]) -> Vec<u8> {
    // `=` is harmless inside a word but not in the first word of a
    // command, where `A=b` is an assignment: always quote it.
    if !word.is_empty() && word.iter().all(|&byte| is_harmless(byte)) {
        return word.to_vec();
    }
    let mut quoted = Vec::with_capacity(word.len() + 2);
    quoted.push(b'\'');
    for &byte in word {
        if byte == b'\'' {
            quoted.extend_from_slice(b"'\\''");
        } else {
            quoted.push(byte);
        }
    }
    quoted.push(b'\'');
    quoted
}

/// `words`, each quoted, separated by spaces.
pub fn quote_words<T: AsRef<[u8]>>(words: &[T]) -> Vec<u8> {
    let mut line = Vec::new();
    for (index, word) in words.iter().enumerate() {
        if index > 0 {
            line.push(b' ');
        }
        line.extend_from_slice(&quote(word.as_ref()));
    }
    line
}
