// SPDX-License-Identifier: MIT OR Apache-2.0
//! Buffered output that remembers its first error.
//!
//! `println!` of the runtime writes once per call and ignores errors; a
//! program that copies data (`cat`, `head`, `tail`) or prints many lines
//! (`ls`, `env`) wants fewer system calls and must notice when its output
//! goes away (a closed pipe: `EPIPE`), to stop and exit 1 as GNU tools do
//! ("write error"). [`Output`] gathers up to [`CAPACITY`] bytes, writes
//! larger pieces straight through, and after the first failed `write`
//! drops everything and reports that error from [`Output::finish`].

use crate::lines::{line_number, NumberedOutput};
use alloc::vec::Vec;
use core::fmt;
use manux_runtime::syscall::{self, Fd};
use manux_runtime::Errno;

/// Bytes gathered before a `write`.
pub const CAPACITY: usize = 8192;

/// A buffered writer on a descriptor.
#[derive(Debug)]
pub struct Output {
    fd: Fd,
    buffer: Vec<u8>,
    error: Option<Errno>,
}

impl Output {
    /// A writer on `fd`. Without memory for the buffer it writes each
    /// piece straight through.
    pub fn new(fd: Fd) -> Output {
        let mut buffer = Vec::new();
        let _ = buffer.try_reserve_exact(CAPACITY);
        Output {
            fd,
            buffer,
            error: None,
        }
    }

    /// A writer on standard output.
    pub fn stdout() -> Output {
        Output::new(syscall::STDOUT)
    }

    /// Writes `bytes` (buffered).
    pub fn write(&mut self, bytes: &[u8]) {
        if self.error.is_some() {
            return;
        }
        if self.buffer.len() + bytes.len() > self.buffer.capacity() {
            self.flush_buffer();
            if self.error.is_some() {
                return;
            }
        }
        if bytes.len() > self.buffer.capacity() {
            if let Err(errno) = syscall::write_all(self.fd, bytes) {
                self.error = Some(errno);
            }
        } else {
            // Within the reserved capacity: no allocation.
            self.buffer.extend_from_slice(bytes);
        }
    }

    fn flush_buffer(&mut self) {
        if !self.buffer.is_empty() && self.error.is_none() {
            if let Err(errno) = syscall::write_all(self.fd, &self.buffer) {
                self.error = Some(errno);
            }
        }
        self.buffer.clear();
    }

    /// Writes what is buffered.
    ///
    /// Return values: `Ok(())`, or the first error any write met.
    pub fn flush(&mut self) -> Result<(), Errno> {
        self.flush_buffer();
        self.error.map_or(Ok(()), Err)
    }

    /// The first error any write met, if any.
    pub fn error(&self) -> Option<Errno> {
        self.error
    }

    /// Flushes; if any write failed, prints `NAME: write error: reason`
    /// and returns 1, else returns `status`.
    pub fn finish(&mut self, status: i32) -> i32 {
        match self.flush() {
            Ok(()) => status,
            Err(errno) => {
                crate::report::message(format_args!("write error: {errno}"));
                1
            }
        }
    }
}

impl fmt::Write for Output {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        self.write(text.as_bytes());
        Ok(())
    }
}

impl NumberedOutput for Output {
    fn bytes(&mut self, bytes: &[u8]) {
        self.write(bytes);
    }

    fn number(&mut self, number: u64) {
        self.write(line_number(number).as_bytes());
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        self.flush_buffer();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::fmt::Write;

    #[test]
    fn the_first_error_is_kept_and_later_writes_are_dropped() {
        // On the host every system call fails with ENOSYS.
        let mut output = Output::new(syscall::STDOUT);
        output.write(b"small");
        assert_eq!(output.error(), None);
        let _ = write!(output, "{}", 5);
        assert_eq!(output.flush(), Err(Errno::NotImplemented));
        output.write(&[0; CAPACITY + 1]);
        assert_eq!(output.error(), Some(Errno::NotImplemented));
        assert_eq!(output.finish(0), 1);
    }
}
