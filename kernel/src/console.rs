// SPDX-License-Identifier: MIT OR Apache-2.0
//! The console as a file: output to the UART, input through a line
//! discipline fed by the receive interrupt.
//!
//! Input is edited a line at a time, as on a terminal in canonical mode:
//! Backspace/DEL erases one character, Ctrl-U the whole line; Enter hands
//! the line (with its `\n`) to readers; Ctrl-D hands over what is typed
//! so far without a newline — at the start of a line that is an empty
//! read, end of input. Bytes that arrive while nobody reads — during boot
//! or while a program runs — are kept raw (up to [`INPUT_CAPACITY`]) and
//! delivered in order: type-ahead is never lost. Bytes are edited, and
//! echoed, when a reader wants them, one line at a time: typed-ahead
//! lines appear after the prompt of the read that takes them, as if typed
//! there, never in the middle of the boot log or a program's output.
//!
//! Ctrl-C interrupts the foreground: every descendant of the session
//! leader (the first process that read the console and is still alive —
//! the login shell) is killed; with none running, the line being typed is
//! discarded and an empty line is delivered, so the shell prompts again.

use crate::scheduler::{self, with_scheduler, Pid};
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};
use embedded_io::{Read, ReadReady};
use hal::console::Console;
use hal::{Arch, Architecture};
use spin::Mutex;

/// Bytes of input (typed lines plus the line being edited) kept.
pub const INPUT_CAPACITY: usize = 4096;

const CONTROL_C: u8 = 0x03;
const CONTROL_D: u8 = 0x04;
const BACKSPACE: u8 = 0x08;
const CONTROL_U: u8 = 0x15;
const DELETE: u8 = 0x7f;

struct Input {
    /// Received bytes not yet edited: type-ahead.
    pending: VecDeque<u8>,
    /// Completed input, ready for readers. An empty `Vec` entry marks end
    /// of input (Ctrl-D on an empty line).
    ready: VecDeque<Vec<u8>>,
    /// The line being edited.
    line: Vec<u8>,
    /// The process blocked reading, if any.
    waiting: Option<Pid>,
    /// The session leader (see the module doc).
    leader: Option<Pid>,
}

static INPUT: Mutex<Input> = Mutex::new(Input {
    pending: VecDeque::new(),
    ready: VecDeque::new(),
    line: Vec::new(),
    waiting: None,
    leader: None,
});

impl Input {
    fn stored(&self) -> usize {
        self.pending.len() + self.ready.iter().map(Vec::len).sum::<usize>() + self.line.len()
    }

    /// Edits pending bytes until a line is ready for a reader (or none
    /// are left); returns what to echo.
    fn edit_pending(&mut self, echo: &mut Vec<u8>) {
        while self.ready.is_empty() {
            let Some(byte) = self.pending.pop_front() else {
                return;
            };
            self.accept(byte, echo);
        }
    }

    /// Applies one input byte; returns what to echo.
    fn accept(&mut self, byte: u8, echo: &mut Vec<u8>) {
        match byte {
            b'\r' | b'\n' => {
                let mut line = core::mem::take(&mut self.line);
                line.push(b'\n');
                self.ready.push_back(line);
                echo.extend_from_slice(b"\r\n");
            }
            BACKSPACE | DELETE => {
                if self.line.pop().is_some() {
                    echo.extend_from_slice(b"\x08 \x08");
                }
            }
            CONTROL_U => {
                for _ in 0..self.line.len() {
                    echo.extend_from_slice(b"\x08 \x08");
                }
                self.line.clear();
            }
            CONTROL_D => {
                let line = core::mem::take(&mut self.line);
                self.ready.push_back(line);
            }
            _ => {
                if self.stored() < INPUT_CAPACITY {
                    self.line.push(byte);
                    echo.push(byte);
                }
            }
        }
    }
}

/// Called by the receive interrupt: keeps every received byte, edits
/// them for a reader that is waiting, wakes it once a line is ready, and
/// handles Ctrl-C at once (dropping what was typed but not yet read).
pub fn receive_interrupt() {
    let mut echo = Vec::new();
    let mut interrupt = false;
    let waiting = {
        let mut input = INPUT.lock();
        let mut received = [0u8; 64];
        while Console.read_ready() == Ok(true) {
            let Ok(count) = Console.read(&mut received);
            for &byte in &received[..count] {
                if byte == CONTROL_C {
                    interrupt = true;
                    input.line.clear();
                    input.pending.clear();
                    echo.extend_from_slice(b"^C\r\n");
                } else if input.stored() < INPUT_CAPACITY {
                    input.pending.push_back(byte);
                }
            }
        }
        if input.waiting.is_some() {
            input.edit_pending(&mut echo);
        }
        if input.ready.is_empty() {
            None
        } else {
            input.waiting.take()
        }
    };
    if !echo.is_empty() {
        crate::logger::print_bytes(&echo);
    }
    if let Some(pid) = waiting {
        scheduler::wake(pid);
    }
    if interrupt {
        interrupt_foreground();
    }
}

/// Kills the session leader's descendants. With none running, the
/// discarded line is replaced by an empty one, so the program reading
/// (the shell at its prompt) sees a fresh, empty command and prompts again.
fn interrupt_foreground() {
    let leader = INPUT.lock().leader;
    let victims: Vec<Pid> = match leader {
        Some(leader) => with_scheduler(|scheduler| {
            scheduler
                .processes
                .keys()
                .copied()
                .filter(|&pid| pid != leader && scheduler.is_descendant(pid, leader))
                .collect()
        }),
        None => Vec::new(),
    };
    let mut killed = false;
    if let Some(leader) = leader {
        for pid in victims {
            killed |= crate::process::kill(leader, pid).is_ok();
        }
    }
    if !killed {
        let waiting = {
            let mut input = INPUT.lock();
            input.ready.push_back(alloc::vec![b'\n']);
            input.waiting.take()
        };
        if let Some(pid) = waiting {
            scheduler::wake(pid);
        }
    }
}

/// Nanoseconds from reset to the first read of the console, 0 before it.
static FIRST_READ_NANOS: AtomicU64 = AtomicU64::new(0);

/// When the console was first read, in nanoseconds since reset: the login
/// shell reads right after printing its first prompt, so this is the
/// boot-to-prompt time. `None` before any read.
pub fn first_read_nanos() -> Option<u64> {
    match FIRST_READ_NANOS.load(Ordering::Relaxed) {
        0 => None,
        nanos => Some(nanos),
    }
}

/// Writes program output to the console.
pub fn write(bytes: &[u8]) {
    crate::logger::print_bytes(bytes);
}

/// Reads up to `length` bytes of input for process `pid`: at most one
/// line, blocking until one is complete. An empty result is end of input.
/// Returns `None` if the process was killed while waiting.
pub fn read(pid: Pid, length: usize, is_killed: impl Fn() -> bool) -> Option<Vec<u8>> {
    if FIRST_READ_NANOS.load(Ordering::Relaxed) == 0 {
        let now = u64::try_from(Arch::time_since_reset().as_nanos()).unwrap_or(u64::MAX);
        let _ =
            FIRST_READ_NANOS.compare_exchange(0, now.max(1), Ordering::Relaxed, Ordering::Relaxed);
    }
    loop {
        let mut echo = Vec::new();
        let ready = with_scheduler(|scheduler| {
            let mut input = INPUT.lock();
            input.edit_pending(&mut echo);
            let leader_alive = input.leader.is_some_and(|leader| {
                scheduler.processes.get(&leader).is_some_and(|p| {
                    !matches!(*p.state.lock(), crate::process::ProcessState::Zombie(_))
                })
            });
            if !leader_alive {
                input.leader = Some(pid);
            }
            match input.ready.front_mut() {
                Some(line) => {
                    let count = length.min(line.len());
                    let bytes: Vec<u8> = line.drain(..count).collect();
                    if line.is_empty() {
                        input.ready.pop_front();
                    }
                    Some(bytes)
                }
                None => {
                    input.waiting = Some(pid);
                    if let Some(process) = scheduler.processes.get(&pid) {
                        *process.state.lock() = crate::process::ProcessState::Blocked;
                    }
                    None
                }
            }
        });
        if !echo.is_empty() {
            crate::logger::print_bytes(&echo);
        }
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
