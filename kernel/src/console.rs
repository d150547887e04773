// SPDX-License-Identifier: MIT OR Apache-2.0
//! The console as a file: output to the UART, input from a buffer the
//! receive interrupt fills.
//!
//! Bytes that arrive while nobody reads — during boot or while a program
//! runs — wait in the buffer (type-ahead is never dropped until the buffer
//! of [`INPUT_CAPACITY`] bytes is full). A reader with nothing to read
//! blocks until the interrupt handler wakes it.

use crate::scheduler::{self, Pid};
use alloc::collections::VecDeque;
use hal::{Arch, Architecture};
use spin::Mutex;

/// Bytes of type-ahead kept.
pub const INPUT_CAPACITY: usize = 4096;

struct Input {
    bytes: VecDeque<u8>,
    waiting: Option<Pid>,
}

static INPUT: Mutex<Input> = Mutex::new(Input {
    bytes: VecDeque::new(),
    waiting: None,
});

/// Called by the receive interrupt: drains the UART into the buffer.
pub fn receive_interrupt() {
    let mut input = INPUT.lock();
    while let Some(byte) = Arch::console_read_byte() {
        if input.bytes.len() < INPUT_CAPACITY {
            input.bytes.push_back(byte);
        }
    }
    if let Some(pid) = input.waiting.take() {
        drop(input);
        scheduler::wake(pid);
    }
}

/// Writes program output to the console.
pub fn write(bytes: &[u8]) {
    crate::logger::print_bytes(bytes);
}

/// Reads up to `length` bytes, blocking until at least one is there.
/// Returns `None` if the process was killed while waiting.
pub fn read(pid: Pid, length: usize, is_killed: impl Fn() -> bool) -> Option<alloc::vec::Vec<u8>> {
    loop {
        let ready = scheduler::with_scheduler(|scheduler| {
            let mut input = INPUT.lock();
            // Pick up anything the UART holds that no interrupt reported yet.
            while let Some(byte) = Arch::console_read_byte() {
                if input.bytes.len() < INPUT_CAPACITY {
                    input.bytes.push_back(byte);
                }
            }
            if input.bytes.is_empty() {
                input.waiting = Some(pid);
                if let Some(process) = scheduler.processes.get(&pid) {
                    *process.state.lock() = crate::process::ProcessState::Blocked;
                }
                None
            } else {
                let count = length.min(input.bytes.len());
                Some(input.bytes.drain(..count).collect())
            }
        });
        if ready.is_some() {
            return ready;
        }
        if is_killed() {
            return None;
        }
        scheduler::schedule();
        if is_killed() {
            return None;
        }
    }
}
