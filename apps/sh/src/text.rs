// SPDX-License-Identifier: MIT OR Apache-2.0
//! Output helpers: bytes shown as text, and lines written to a chosen
//! descriptor (a builtin's output may be redirected).

use alloc::vec::Vec;
use core::fmt::{self, Write};
use manux_runtime::io::Output;
use manux_runtime::syscall::{self, Fd};

/// Bytes shown as text, invalid UTF-8 replaced by U+FFFD.
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

/// Writes formatted text to `fd` (errors ignored: a closed output is not
/// worth failing a command for, as in `print!`).
pub fn print_to(fd: Fd, arguments: fmt::Arguments<'_>) {
    if fd < 0 {
        return;
    }
    let mut output = Output::new(fd);
    let _ = output.write_fmt(arguments);
}

/// Writes raw bytes to `fd`, errors ignored.
pub fn write_bytes(fd: Fd, bytes: &[u8]) {
    if fd >= 0 {
        let _ = syscall::write_all(fd, bytes);
    }
}

/// `a` then `b`, as one new vector.
pub fn concat(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut joined = Vec::with_capacity(a.len() + b.len());
    joined.extend_from_slice(a);
    joined.extend_from_slice(b);
    joined
}
