// SPDX-License-Identifier: MIT OR Apache-2.0
//! Formatted output on descriptors 1 and 2: `print!`, `println!`,
//! `eprint!`, `eprintln!`.
//!
//! Each macro call formats into a 512-byte buffer on the stack and writes
//! it with as few `write` calls as it can — one for any line shorter than
//! the buffer — so lines of processes sharing the console do not
//! interleave mid-line. Errors (a closed descriptor) are ignored, as
//! `print!` in `std` would panic on them and a program's output is not
//! worth dying for.

use crate::syscall::{write_all, Fd};
use core::fmt::{self, Write};

const BUFFER_BYTES: usize = 512;

/// A buffered writer on a descriptor; flushes when full and when dropped.
pub struct Output {
    fd: Fd,
    buffer: [u8; BUFFER_BYTES],
    length: usize,
}

impl Output {
    /// A writer on `fd`.
    pub fn new(fd: Fd) -> Output {
        Output {
            fd,
            buffer: [0; BUFFER_BYTES],
            length: 0,
        }
    }

    /// Writes what is buffered.
    pub fn flush(&mut self) {
        let _ = write_all(self.fd, &self.buffer[..self.length]);
        self.length = 0;
    }
}

impl Write for Output {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let mut bytes = text.as_bytes();
        while !bytes.is_empty() {
            if self.length == BUFFER_BYTES {
                self.flush();
            }
            let room = BUFFER_BYTES - self.length;
            let take = room.min(bytes.len());
            self.buffer[self.length..self.length + take].copy_from_slice(&bytes[..take]);
            self.length += take;
            bytes = &bytes[take..];
        }
        Ok(())
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        self.flush();
    }
}

/// Writes formatted text to `fd` (the macros' back end).
#[doc(hidden)]
pub fn print_to(fd: Fd, arguments: fmt::Arguments<'_>) {
    let mut output = Output::new(fd);
    let _ = output.write_fmt(arguments);
}

/// Prints to standard output.
#[macro_export]
macro_rules! print {
    ($($argument:tt)*) => {
        $crate::io::print_to($crate::syscall::STDOUT, format_args!($($argument)*))
    };
}

/// Prints a line to standard output.
#[macro_export]
macro_rules! println {
    () => { $crate::print!("\n") };
    ($($argument:tt)*) => {
        $crate::io::print_to($crate::syscall::STDOUT, format_args!("{}\n", format_args!($($argument)*)))
    };
}

/// Prints to standard error.
#[macro_export]
macro_rules! eprint {
    ($($argument:tt)*) => {
        $crate::io::print_to($crate::syscall::STDERR, format_args!($($argument)*))
    };
}

/// Prints a line to standard error.
#[macro_export]
macro_rules! eprintln {
    () => { $crate::eprint!("\n") };
    ($($argument:tt)*) => {
        $crate::io::print_to($crate::syscall::STDERR, format_args!("{}\n", format_args!($($argument)*)))
    };
}
