// SPDX-License-Identifier: MIT OR Apache-2.0
//! How `wait` reports the way a child ended, in the `i32` it writes.
//!
//! Linux's encoding, so it reads familiarly: a child that called
//! `exit(code)` is `(code & 0xff) << 8`; a child the kernel ended is the
//! reason number in the low 7 bits (native programs have no signals, but
//! the reasons are Linux's signal numbers): [`KILLED`] for `kill`,
//! [`MEMORY_FAULT`] for a bad access (kernel address, another process's
//! range, an unmapped page, executing data), [`ILLEGAL_INSTRUCTION`] for a
//! privileged or undefined instruction; a Linux program may also end by
//! the signal another sends it or by [`BROKEN_PIPE`].

/// Ended by `kill` (`SIGKILL`'s number).
pub const KILLED: u8 = 9;
/// Ended by a memory access it may not make (`SIGSEGV`'s number).
pub const MEMORY_FAULT: u8 = 11;
/// Ended by a privileged or undefined instruction (`SIGILL`'s number).
pub const ILLEGAL_INSTRUCTION: u8 = 4;
/// Ended by a misaligned access or a bus error (`SIGBUS`'s number).
pub const BUS_ERROR: u8 = 7;
/// Ended by Linux's `SIGINT` (a Linux program's `kill`).
pub const INTERRUPTED: u8 = 2;
/// Ended by Linux's `SIGPIPE`: a Linux program wrote to a pipe nobody
/// reads any more.
pub const BROKEN_PIPE: u8 = 13;
/// Ended by Linux's `SIGTERM` (a Linux program's `kill`).
pub const TERMINATED: u8 = 15;

/// How a child ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitStatus {
    /// It called `exit` with this code (the low 8 bits of it).
    Exited(u8),
    /// The kernel ended it for this reason.
    Killed(u8),
}

impl WaitStatus {
    /// The word `wait` writes.
    pub const fn to_raw(self) -> i32 {
        match self {
            WaitStatus::Exited(code) => (code as i32) << 8,
            WaitStatus::Killed(reason) => (reason & 0x7f) as i32,
        }
    }

    /// Decodes the word `wait` wrote.
    pub const fn from_raw(raw: i32) -> WaitStatus {
        match raw & 0x7f {
            0 => WaitStatus::Exited(((raw >> 8) & 0xff) as u8),
            reason => WaitStatus::Killed(reason as u8),
        }
    }

    /// A word for a reason: `killed`, `memory fault`, `illegal
    /// instruction`, `bus error`, `interrupted`, `broken pipe`,
    /// `terminated`, or `other reason`.
    pub const fn reason_name(reason: u8) -> &'static str {
        match reason {
            KILLED => "killed",
            MEMORY_FAULT => "memory fault",
            ILLEGAL_INSTRUCTION => "illegal instruction",
            BUS_ERROR => "bus error",
            INTERRUPTED => "interrupted",
            BROKEN_PIPE => "broken pipe",
            TERMINATED => "terminated",
            _ => "other reason",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip() {
        for code in [0u8, 1, 101, 255] {
            let status = WaitStatus::Exited(code);
            assert_eq!(WaitStatus::from_raw(status.to_raw()), status);
        }
        for reason in [KILLED, MEMORY_FAULT, ILLEGAL_INSTRUCTION, BUS_ERROR] {
            let status = WaitStatus::Killed(reason);
            assert_eq!(WaitStatus::from_raw(status.to_raw()), status);
        }
        assert_eq!(WaitStatus::Exited(3).to_raw(), 0x300);
    }
}
