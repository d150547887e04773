// SPDX-License-Identifier: MIT OR Apache-2.0
//! Lines from a descriptor.
//!
//! The console's line discipline hands over at most one line per `read`
//! (Enter), or what was typed so far without a newline (Ctrl-D after
//! some text), or nothing (Ctrl-D on an empty line: end of input). A
//! script file or a pipe gives whatever is there. [`LineReader`] turns
//! all of these into lines that end with `\n`, plus possibly a last one
//! without it at the end of the input.
//!
//! Known limitation: from a pipe it reads ahead, so a command that reads
//! the shell's standard input (`echo 'cat; echo x' | sh`) may find that
//! the shell took its input. From the console nothing is read ahead.

use alloc::vec::Vec;
use manux_runtime::syscall::{self, Fd};
use manux_runtime::Errno;

/// Reads whole lines from a descriptor.
pub struct LineReader {
    fd: Fd,
    /// Bytes read but not yet handed out.
    buffered: Vec<u8>,
    /// A `read` returned 0.
    ended: bool,
    /// Lines handed out so far.
    lines: usize,
}

impl LineReader {
    /// Reads from `fd`.
    pub fn new(fd: Fd) -> LineReader {
        LineReader {
            fd,
            buffered: Vec::new(),
            ended: false,
            lines: 0,
        }
    }

    /// The number of the last line handed out (from 1).
    pub fn line_number(&self) -> usize {
        self.lines
    }

    /// The next line with its `\n`, the last bytes without one at the end
    /// of the input, then `None`.
    ///
    /// Return values: the `read` error, if any.
    pub fn next_line(&mut self) -> Result<Option<Vec<u8>>, Errno> {
        loop {
            if let Some(newline) = self.buffered.iter().position(|&byte| byte == b'\n') {
                self.lines += 1;
                let rest = self.buffered.split_off(newline + 1);
                return Ok(Some(core::mem::replace(&mut self.buffered, rest)));
            }
            if self.ended {
                if self.buffered.is_empty() {
                    return Ok(None);
                }
                self.lines += 1;
                return Ok(Some(core::mem::take(&mut self.buffered)));
            }
            let mut chunk = [0u8; 1024];
            let count = match syscall::read(self.fd, &mut chunk) {
                Ok(count) => count,
                Err(errno) => {
                    // An interrupted read (Ctrl-C) drops the partial line.
                    self.buffered.clear();
                    return Err(errno);
                }
            };
            match count {
                0 => self.ended = true,
                count => self
                    .buffered
                    .extend_from_slice(&chunk[..count.min(chunk.len())]),
            }
        }
    }
}
