// SPDX-License-Identifier: MIT OR Apache-2.0
//! The inputs of a filter program (`cat`, `head`, `tail`, `wc`): each
//! file named as an operand, `-` for standard input, and standard input
//! alone when no file is named.
//!
//! This module owns choosing and opening the inputs and reporting the
//! ones that cannot be opened (`cat: x: No such file or directory`); it
//! never reads them — the program does, with [`read_chunks`](crate::fs::read_chunks).

use crate::fs::File;
use crate::memory::try_buffer;
use crate::report;
use alloc::vec::Vec;
use manux_runtime::abi::OpenFlags;
use manux_runtime::syscall::{Fd, STDIN};
use manux_runtime::Errno;

/// The operand that names standard input.
pub const STANDARD_INPUT: &[u8] = b"-";

/// Standard input alone, the inputs of a filter given no operand.
const STANDARD_INPUT_ONLY: &[&[u8]] = &[STANDARD_INPUT];

/// The operands a filter reads: `named`, or standard input alone when
/// `named` is empty.
pub fn operands<'a>(named: &'a [&'a [u8]]) -> &'a [&'a [u8]] {
    if named.is_empty() {
        STANDARD_INPUT_ONLY
    } else {
        named
    }
}

/// The name a header or message gives `operand`: `standard input` for `-`.
pub fn display_name(operand: &[u8]) -> &[u8] {
    if operand == STANDARD_INPUT {
        b"standard input"
    } else {
        operand
    }
}

/// One input being read: a file opened for it, or standard input. A file
/// is closed when the input is dropped.
#[derive(Debug)]
pub struct Input {
    file: Option<File>,
}

impl Input {
    /// Opens `operand` for reading (`-` is standard input, never closed).
    ///
    /// Return values: the input; `None` after reporting why the file
    /// cannot be opened (`PROGRAM: FILE: message` on standard error) — the
    /// program goes on with its other operands and ends with status 1.
    pub fn open(operand: &[u8]) -> Option<Input> {
        if operand == STANDARD_INPUT {
            return Some(Input { file: None });
        }
        match File::open(operand, OpenFlags::empty(), 0) {
            Ok(file) => Some(Input { file: Some(file) }),
            Err(errno) => {
                report::error(operand, errno);
                None
            }
        }
    }

    /// The descriptor to read.
    pub fn fd(&self) -> Fd {
        self.file.as_ref().map_or(STDIN, File::fd)
    }
}

/// A read buffer of `length` bytes for the inputs.
///
/// Return values: the buffer; `Err(1)`, the status to exit with, after
/// reporting that there is no memory for it.
pub fn read_buffer(length: usize) -> Result<Vec<u8>, i32> {
    try_buffer(length).map_err(|error| {
        report::message(format_args!("{}", Errno::from(error)));
        1
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_operand_means_standard_input() {
        assert_eq!(operands(&[]), &[b"-" as &[u8]]);
        let named: [&[u8]; 2] = [b"a", b"-"];
        assert_eq!(operands(&named), &named);
    }

    #[test]
    fn standard_input_has_a_readable_name() {
        assert_eq!(display_name(b"-"), b"standard input");
        assert_eq!(display_name(b"notes"), b"notes");
    }
}
