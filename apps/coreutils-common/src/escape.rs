// SPDX-License-Identifier: MIT OR Apache-2.0
//! Backslash escapes of `echo -e` (GNU `echo`'s list): `\\`, `\a`, `\b`,
//! `\c` (stop printing, no newline), `\e`, `\f`, `\n`, `\r`, `\t`, `\v`,
//! `\0NNN` (octal, up to three digits) and `\xHH` (hex, one or two
//! digits). Any other backslash stays as it is.

use crate::memory::{try_push, OutOfMemory};
use alloc::vec::Vec;

/// Appends `text` with its escapes interpreted to `output`.
///
/// Return values: `Ok(true)` to go on, `Ok(false)` when `\c` asked to
/// stop all output; [`OutOfMemory`].
pub fn unescape(text: &[u8], output: &mut Vec<u8>) -> Result<bool, OutOfMemory> {
    let mut index = 0;
    while index < text.len() {
        let byte = text[index];
        index += 1;
        if byte != b'\\' || index == text.len() {
            try_push(output, byte)?;
            continue;
        }
        let code = text[index];
        index += 1;
        let simple = match code {
            b'\\' => Some(b'\\'),
            b'a' => Some(0x07),
            b'b' => Some(0x08),
            b'e' => Some(0x1b),
            b'f' => Some(0x0c),
            b'n' => Some(b'\n'),
            b'r' => Some(b'\r'),
            b't' => Some(b'\t'),
            b'v' => Some(0x0b),
            _ => None,
        };
        if let Some(value) = simple {
            try_push(output, value)?;
            continue;
        }
        match code {
            b'c' => return Ok(false),
            b'0' => {
                let mut value: u32 = 0;
                let mut digits = 0;
                while digits < 3 && index < text.len() && (b'0'..=b'7').contains(&text[index]) {
                    value = value * 8 + u32::from(text[index] - b'0');
                    index += 1;
                    digits += 1;
                }
                try_push(output, value as u8)?;
            }
            b'x' if index < text.len() && text[index].is_ascii_hexdigit() => {
                let mut value: u32 = 0;
                let mut digits = 0;
                while digits < 2 && index < text.len() && text[index].is_ascii_hexdigit() {
                    value = value * 16 + (text[index] as char).to_digit(16).unwrap_or(0);
                    index += 1;
                    digits += 1;
                }
                try_push(output, value as u8)?;
            }
            _ => {
                try_push(output, b'\\')?;
                try_push(output, code)?;
            }
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &[u8]) -> (Vec<u8>, bool) {
        let mut output = Vec::new();
        let go_on = unescape(text, &mut output).unwrap();
        (output, go_on)
    }

    #[test]
    fn escapes() {
        assert_eq!(run(b"a\\tb\\n"), (b"a\tb\n".to_vec(), true));
        assert_eq!(run(b"\\\\x"), (b"\\x".to_vec(), true));
        assert_eq!(run(b"\\0101\\0"), (b"A\0".to_vec(), true));
        assert_eq!(run(b"\\x41\\x4g\\xz"), (b"A\x04g\\xz".to_vec(), true));
        assert_eq!(run(b"ab\\cde"), (b"ab".to_vec(), false));
        assert_eq!(run(b"\\q\\"), (b"\\q\\".to_vec(), true));
        assert_eq!(run(b"\\0777"), (b"\xff".to_vec(), true));
        assert_eq!(run(b"\\e[0m"), (b"\x1b[0m".to_vec(), true));
    }
}
