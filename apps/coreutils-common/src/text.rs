// SPDX-License-Identifier: MIT OR Apache-2.0
//! Showing names that are bytes, safely, on a terminal.
//!
//! File names on ext2l are any bytes but `/` and NUL. A name is shown as
//! UTF-8 where it is valid (invalid sequences become U+FFFD) and with
//! every control character — escape sequences included, which could
//! otherwise reprogram the terminal — replaced by `?`, as `ls -q` does.
//! Contents (`cat`, `head`) are never filtered; only names and messages.

use core::fmt;

/// A file name or argument, shown safely.
#[derive(Clone, Copy, Debug)]
pub struct Name<'a>(pub &'a [u8]);

impl fmt::Display for Name<'_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        for chunk in self.0.utf8_chunks() {
            let valid = chunk.valid();
            let mut start = 0;
            for (index, character) in valid.char_indices() {
                if character.is_control() {
                    formatter.write_str(&valid[start..index])?;
                    formatter.write_str("?")?;
                    start = index + character.len_utf8();
                }
            }
            formatter.write_str(&valid[start..])?;
            if !chunk.invalid().is_empty() {
                formatter.write_str("\u{fffd}")?;
            }
        }
        Ok(())
    }
}

/// One byte shown as a character: printable ASCII as itself, anything
/// else as `?`.
#[derive(Clone, Copy, Debug)]
pub struct Byte(pub u8);

impl fmt::Display for Byte {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_ascii_graphic() || self.0 == b' ' {
            write!(formatter, "{}", self.0 as char)
        } else {
            formatter.write_str("?")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    #[test]
    fn control_characters_and_invalid_bytes_are_replaced() {
        assert_eq!(format!("{}", Name(b"plain.txt")), "plain.txt");
        assert_eq!(format!("{}", Name(b"a\x1b[2Jb\n")), "a?[2Jb?");
        assert_eq!(format!("{}", Name(b"caf\xc3\xa9")), "caf\u{e9}");
        assert_eq!(format!("{}", Name(b"x\xffy")), "x\u{fffd}y");
        assert_eq!(format!("{}", Name("\u{85}".as_bytes())), "?");
        assert_eq!(format!("{}{}", Byte(b'n'), Byte(0)), "n?");
    }
}
