// SPDX-License-Identifier: MIT OR Apache-2.0
//! The console as a file: output to the UART, input through a line
//! discipline fed by the receive interrupt.
//!
//! Input is edited a line at a time, as on a terminal in canonical mode:
//! Backspace/DEL erases one character, Ctrl-U the whole line; Enter hands
//! the line (with its `\n`) to readers; Ctrl-D hands over what is typed
//! so far without a newline — at the start of a line that is an empty
//! read, end of input. Bytes that arrive while nobody reads — during boot
//! or while a program runs — are kept raw and delivered in order. Bytes
//! are edited, and echoed, when a reader wants them, one line at a time:
//! typed-ahead lines appear after the prompt of the read that takes them,
//! as if typed there, never in the middle of the boot log or a program's
//! output.
//!
//! What holds for input arriving faster than it is read (a paste):
//! - **No byte is dropped.** The kernel keeps up to [`INPUT_CAPACITY`]
//!   raw bytes. When they are full it masks the UART's receive interrupt
//!   ([`Console::hold_input`]): the rest waits in the UART's FIFO and,
//!   behind it, with the sender (QEMU's character device stops reading
//!   its host side), with no interrupt storm. When a read has made room,
//!   the kernel drains the FIFO itself and unmasks the interrupt
//!   ([`Console::resume_input`]). So a pasted script runs whole, in order.
//! - **A line is at most [`LINE_LIMIT`] bytes** (not counting its
//!   newline). A longer one is refused as a whole: its first
//!   [`LINE_LIMIT`] bytes are echoed, the rest is neither echoed nor kept,
//!   and at its end (Enter or Ctrl-D) the console says
//!   `console: line too long (N bytes), discarded` and the reader gets an
//!   empty line (so the shell prompts again). Input after it is edited as
//!   usual; Ctrl-U abandons the overlong line without the message.
//! - Known limitation: while input is held, a Ctrl-C typed after it waits
//!   in the UART (or QEMU) behind it, so it takes effect only once the
//!   foreground program reads and so makes room. A waiting reader edits
//!   input as it arrives, so at the shell's prompt input is not held.
//!
//! Ctrl-C discards the line being typed and the type-ahead, and
//! interrupts the foreground: every descendant of the session leader (the
//! first process that read the console and is still alive — the login
//! shell) is ended, its status saying `interrupted` (a Linux program gets
//! `SIGINT`); with none running, the leader's read (the current one, or
//! else its next) fails with `EINTR`, so the shell drops an unfinished
//! command and prompts afresh — or the leader, busy with its own
//! commands, takes the interruption between them (`take_interrupt`).

use crate::scheduler::{self, with_scheduler, Pid};
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};
use embedded_io::{Read, ReadReady};
use hal::console::Console;
use hal::{Arch, Architecture};
use manux_abi::wait_status;
use spin::Mutex;

/// Raw bytes of input (received, not yet edited) the kernel keeps before
/// it holds the rest in the UART (see the module doc).
pub const INPUT_CAPACITY: usize = 4096;

/// The longest line, in bytes, not counting its newline: as on Linux's
/// `N_TTY`, whose canonical-mode buffer is 4096 bytes with the newline.
pub const LINE_LIMIT: usize = 4095;

const CONTROL_C: u8 = 0x03;
const CONTROL_D: u8 = 0x04;
const BACKSPACE: u8 = 0x08;
const CONTROL_U: u8 = 0x15;
const DELETE: u8 = 0x7f;

/// What a reader is handed next.
enum Delivery {
    /// Input: a line with its `\n`, or what Ctrl-D handed over; empty, it
    /// is end of input.
    Bytes(Vec<u8>),
    /// Ctrl-C with no foreground program: the read fails with `EINTR`.
    Interrupted,
}

struct Input {
    /// Received bytes not yet edited: type-ahead (at most
    /// [`INPUT_CAPACITY`]).
    pending: VecDeque<u8>,
    /// Completed input, ready for readers.
    ready: VecDeque<Delivery>,
    /// The line being edited (at most [`LINE_LIMIT`] bytes).
    line: Vec<u8>,
    /// The length so far of an overlong line being discarded, if any.
    overlong: Option<usize>,
    /// The receive interrupt is masked: `pending` was full.
    held: bool,
    /// The process blocked reading, if any.
    waiting: Option<Pid>,
    /// The session leader (see the module doc).
    leader: Option<Pid>,
}

static INPUT: Mutex<Input> = Mutex::new(Input {
    pending: VecDeque::new(),
    ready: VecDeque::new(),
    line: Vec::new(),
    overlong: None,
    held: false,
    waiting: None,
    leader: None,
});

impl Input {
    /// Moves received bytes from the UART into `pending` while there is
    /// room, handling Ctrl-C at once (it sets `interrupted`). Full, it
    /// masks the receive interrupt; with room left and the UART empty, it
    /// unmasks it. Called with interrupts off (from the interrupt, or
    /// under [`with_scheduler`]).
    fn receive(&mut self, echo: &mut Vec<u8>, interrupted: &mut bool) {
        let mut received = [0u8; 64];
        loop {
            while self.pending.len() < INPUT_CAPACITY && Console.read_ready() == Ok(true) {
                // Never take more than there is room for: what is not
                // taken stays in the UART.
                let room = (INPUT_CAPACITY - self.pending.len()).min(received.len());
                let Ok(count) = Console.read(&mut received[..room]);
                for &byte in &received[..count] {
                    if byte == CONTROL_C {
                        *interrupted = true;
                        self.line.clear();
                        self.pending.clear();
                        self.overlong = None;
                        echo.extend_from_slice(b"^C\r\n");
                    } else {
                        self.pending.push_back(byte);
                    }
                }
            }
            if self.pending.len() >= INPUT_CAPACITY {
                if !self.held {
                    self.held = true;
                    Console.hold_input();
                }
                return;
            }
            if !self.held {
                return;
            }
            // Room, and the UART was drained: unmask. A byte that came in
            // since the last look interrupts (both UARTs raise the level
            // for a new byte whatever the mask); look once more anyway.
            self.held = false;
            Console.resume_input();
            if Console.read_ready() != Ok(true) {
                return;
            }
        }
    }

    /// Edits pending bytes (taking more from the UART as they are used
    /// up) until a delivery is ready for a reader, or no input is left;
    /// returns what to echo.
    fn edit_pending(&mut self, echo: &mut Vec<u8>, interrupted: &mut bool) {
        while self.ready.is_empty() {
            if self.pending.is_empty() {
                self.receive(echo, interrupted);
                if self.pending.is_empty() || *interrupted {
                    return;
                }
            }
            let Some(byte) = self.pending.pop_front() else {
                return;
            };
            self.accept(byte, echo);
        }
        // Editing made room: take what waits in the UART (unmasking).
        self.receive(echo, interrupted);
    }

    /// Ends the line being edited, with `ending` (a newline or nothing);
    /// an overlong line is discarded with a message and replaced by an
    /// empty line.
    fn finish_line(&mut self, ending: Option<u8>, echo: &mut Vec<u8>) {
        let mut line = core::mem::take(&mut self.line);
        if let Some(length) = self.overlong.take() {
            echo.extend_from_slice(b"\r\n");
            echo.extend_from_slice(
                alloc::format!("console: line too long ({length} bytes), discarded\r\n").as_bytes(),
            );
            self.ready.push_back(Delivery::Bytes(alloc::vec![b'\n']));
            return;
        }
        if let Some(ending) = ending {
            line.push(ending);
            echo.extend_from_slice(b"\r\n");
        }
        self.ready.push_back(Delivery::Bytes(line));
    }

    /// Applies one input byte; returns what to echo.
    fn accept(&mut self, byte: u8, echo: &mut Vec<u8>) {
        match byte {
            b'\r' | b'\n' => self.finish_line(Some(b'\n'), echo),
            CONTROL_D => self.finish_line(None, echo),
            BACKSPACE | DELETE => {
                // An overlong line is already lost; erasing does not
                // bring it back under the limit.
                if self.overlong.is_none() && self.line.pop().is_some() {
                    echo.extend_from_slice(b"\x08 \x08");
                }
            }
            CONTROL_U => {
                for _ in 0..self.line.len() {
                    echo.extend_from_slice(b"\x08 \x08");
                }
                self.line.clear();
                self.overlong = None;
            }
            _ => {
                if let Some(length) = &mut self.overlong {
                    *length += 1;
                } else if self.line.len() < LINE_LIMIT {
                    self.line.push(byte);
                    echo.push(byte);
                } else {
                    self.overlong = Some(self.line.len() + 1);
                }
            }
        }
    }
}

/// Called by the receive interrupt: takes received bytes (masking the
/// interrupt when the kernel's buffer is full), edits them for a reader
/// that is waiting, wakes it once a line is ready, and handles Ctrl-C at
/// once (dropping what was typed but not yet read).
pub fn receive_interrupt() {
    let mut echo = Vec::new();
    let mut interrupt = false;
    let waiting = {
        let mut input = INPUT.lock();
        input.receive(&mut echo, &mut interrupt);
        if input.waiting.is_some() {
            input.edit_pending(&mut echo, &mut interrupt);
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

/// Interrupts the session leader's descendants: `SIGINT` for a Linux
/// program (its handler runs, or it ends with `SIGINT`'s status), the
/// native kill for any other. With none running, the
/// leader's read is interrupted (`EINTR`), so the shell at its prompt
/// drops what it has read of an unfinished command and prompts afresh.
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
            // A Linux program gets `SIGINT`; a native one is ended,
            // its status saying `interrupted` as `SIGINT`'s would.
            killed |= crate::syscall::linux::signals::interrupt(pid)
                || crate::process::kill_for(leader, pid, wait_status::INTERRUPTED).is_ok();
        }
    }
    if !killed {
        let waiting = {
            let mut input = INPUT.lock();
            // One pending interruption is enough: a second Ctrl-C before
            // the read has nothing more to cancel.
            if !matches!(input.ready.back(), Some(Delivery::Interrupted)) {
                input.ready.push_back(Delivery::Interrupted);
            }
            input.waiting.take()
        };
        if let Some(pid) = waiting {
            scheduler::wake(pid);
        }
    }
}

/// Whether Ctrl-C interrupted `pid`, the session leader, while none of
/// its descendants ran (what its next read would fail with `EINTR` for),
/// consuming it: a shell running builtins asks between them.
pub fn take_interrupt(pid: Pid) -> bool {
    with_scheduler(|_| {
        let mut input = INPUT.lock();
        if input.leader != Some(pid) {
            return false;
        }
        let before = input.ready.len();
        input
            .ready
            .retain(|delivery| !matches!(delivery, Delivery::Interrupted));
        input.ready.len() != before
    })
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

/// What one look at the input found for a reader.
enum Outcome {
    /// Bytes for the reader (empty: end of input).
    Bytes(Vec<u8>),
    /// The read is interrupted (Ctrl-C at the prompt).
    Interrupted,
    /// Ctrl-C arrived while editing: deal with it, then look again.
    Again,
    /// Nothing yet: the reader is now blocked.
    Wait,
}

/// Reads up to `length` bytes of input for process `pid`: at most one
/// line, blocking until one is complete. An empty result is end of input.
/// Returns `None` if the process was killed while waiting, or if Ctrl-C
/// interrupted the read (see the module doc): both are `EINTR`.
pub fn read(pid: Pid, length: usize, is_killed: impl Fn() -> bool) -> Option<Vec<u8>> {
    if FIRST_READ_NANOS.load(Ordering::Relaxed) == 0 {
        let now = u64::try_from(Arch::time_since_reset().as_nanos()).unwrap_or(u64::MAX);
        let _ =
            FIRST_READ_NANOS.compare_exchange(0, now.max(1), Ordering::Relaxed, Ordering::Relaxed);
    }
    loop {
        let mut echo = Vec::new();
        let mut interrupt = false;
        let outcome = with_scheduler(|scheduler| {
            let mut input = INPUT.lock();
            input.edit_pending(&mut echo, &mut interrupt);
            let leader_alive = input.leader.is_some_and(|leader| {
                scheduler.processes.get(&leader).is_some_and(|p| {
                    !matches!(*p.state.lock(), crate::process::ProcessState::Zombie(_))
                })
            });
            if !leader_alive {
                input.leader = Some(pid);
            }
            match input.ready.front_mut() {
                Some(Delivery::Bytes(line)) => {
                    let count = length.min(line.len());
                    let bytes: Vec<u8> = line.drain(..count).collect();
                    if line.is_empty() {
                        input.ready.pop_front();
                    }
                    Outcome::Bytes(bytes)
                }
                Some(Delivery::Interrupted) => {
                    input.ready.pop_front();
                    Outcome::Interrupted
                }
                None if interrupt => Outcome::Again,
                None => {
                    input.waiting = Some(pid);
                    if let Some(process) = scheduler.processes.get(&pid) {
                        *process.state.lock() = crate::process::ProcessState::Blocked;
                    }
                    Outcome::Wait
                }
            }
        });
        if !echo.is_empty() {
            crate::logger::print_bytes(&echo);
        }
        if interrupt {
            interrupt_foreground();
        }
        match outcome {
            Outcome::Bytes(bytes) => return Some(bytes),
            Outcome::Interrupted => return None,
            Outcome::Again => continue,
            Outcome::Wait => {}
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
