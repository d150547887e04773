// SPDX-License-Identifier: MIT OR Apache-2.0
//! `echo [-neE] [STRING]...`: prints the strings, separated by spaces,
//! and a newline.
//!
//! As GNU `echo`, an argument is an option only while it is `-` followed
//! by letters all among `n`, `e`, `E` and only before the first string
//! (`echo -n -x` prints `-x`): `-n` leaves out the newline, `-e` turns
//! on the backslash escapes of [`coreutils_common::escape`], `-E` turns
//! them off. `--help` is printed as a string, as GNU does under POSIX.
//! The whole line is written at once (it is at most the kernel's
//! argument limit, 64 KiB).
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::vec::Vec;
use coreutils_common::escape::unescape;
use coreutils_common::memory::{try_extend, try_push, OutOfMemory};
use coreutils_common::report;
use manux_runtime::{entry, process, syscall, Errno};

entry!(main);

fn main() -> i32 {
    let arguments = process::arguments();
    let mut strings = arguments.get(1..).unwrap_or(&[]);
    let mut newline = true;
    let mut escapes = false;
    while let Some((first, rest)) = strings.split_first() {
        let letters = match first.strip_prefix(b"-") {
            Some(letters) if !letters.is_empty() => letters,
            _ => break,
        };
        if !letters
            .iter()
            .all(|letter| matches!(letter, b'n' | b'e' | b'E'))
        {
            break;
        }
        for letter in letters {
            match letter {
                b'n' => newline = false,
                b'e' => escapes = true,
                _ => escapes = false,
            }
        }
        strings = rest;
    }
    let mut line = Vec::new();
    if compose(strings, escapes, &mut newline, &mut line).is_err() {
        report::message(format_args!("{}", Errno::OutOfMemory));
        return 1;
    }
    if newline && try_push(&mut line, b'\n').is_err() {
        report::message(format_args!("{}", Errno::OutOfMemory));
        return 1;
    }
    match syscall::write_all(syscall::STDOUT, &line) {
        Ok(()) => 0,
        Err(errno) => {
            report::message(format_args!("write error: {errno}"));
            1
        }
    }
}

/// Puts the strings, separated by spaces, into `line`; a `\c` clears
/// `newline` and ends the output.
fn compose(
    strings: &[&[u8]],
    escapes: bool,
    newline: &mut bool,
    line: &mut Vec<u8>,
) -> Result<(), OutOfMemory> {
    for (index, string) in strings.iter().enumerate() {
        if index > 0 {
            try_push(line, b' ')?;
        }
        if !escapes {
            try_extend(line, string)?;
        } else if !unescape(string, line)? {
            *newline = false;
            break;
        }
    }
    Ok(())
}
