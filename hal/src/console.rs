// SPDX-License-Identifier: MIT OR Apache-2.0
//! The boot console (the machine's first UART) as an `embedded-io` byte
//! stream: [`Console`] writes, and reads what has been received.
//!
//! Reads never wait in practice: the kernel reads from its receive
//! interrupt, after [`ReadReady::read_ready`] said a byte is there.
//! Writing never fails (the UART is polled until it takes each byte).
//! [`Console::hold_input`] and [`Console::resume_input`] mask and unmask
//! the receive interrupt, for flow control: held, input waits in the UART
//! and its sender instead of interrupting.

use crate::{Arch, Architecture};
use core::convert::Infallible;
use embedded_io::{ErrorType, Read, ReadReady, Write};

/// The boot console.
#[derive(Clone, Copy, Debug, Default)]
pub struct Console;

impl Console {
    /// Masks the receive interrupt: received bytes wait in the UART (and,
    /// once its FIFO is full, with the sender) until [`Self::resume_input`].
    pub fn hold_input(&mut self) {
        Arch::console_receive_interrupt(false);
    }

    /// Unmasks the receive interrupt. Drain the receiver first (read while
    /// [`ReadReady::read_ready`]): a UART may not interrupt again for bytes
    /// that were already waiting.
    pub fn resume_input(&mut self) {
        Arch::console_receive_interrupt(true);
    }
}

impl ErrorType for Console {
    type Error = Infallible;
}

impl Write for Console {
    /// Line feeds are written as CR LF so terminals show lines.
    fn write(&mut self, bytes: &[u8]) -> Result<usize, Infallible> {
        Arch::console_write(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> Result<(), Infallible> {
        Ok(())
    }
}

impl ReadReady for Console {
    fn read_ready(&mut self) -> Result<bool, Infallible> {
        Ok(Arch::console_input_ready())
    }
}

impl Read for Console {
    /// Takes the bytes received so far, up to `buffer`'s length; waits
    /// for the first one if none has arrived (as `Read` requires).
    fn read(&mut self, buffer: &mut [u8]) -> Result<usize, Infallible> {
        let mut count = 0;
        while count < buffer.len() {
            match Arch::console_read_byte() {
                Some(byte) => {
                    buffer[count] = byte;
                    count += 1;
                }
                None if count > 0 => break,
                None => core::hint::spin_loop(),
            }
        }
        Ok(count)
    }
}
