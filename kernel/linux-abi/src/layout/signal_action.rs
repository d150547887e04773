// SPDX-License-Identifier: MIT OR Apache-2.0
//! The kernel's `struct sigaction` of `rt_sigaction`: `sa_handler` at 0,
//! `sa_flags` at 8, `sa_restorer` at 16, `sa_mask` (one 64-bit word) at
//! 24; 32 bytes on both architectures.
//!
//! Sources: `asm-generic/signal.h` (`struct sigaction`, with
//! `sa_restorer` present because arm64's `uapi/asm/signal.h` defines
//! `SA_RESTORER`), and for x86_64 the kernel's own
//! `include/linux/signal_types.h` — the `struct sigaction` in x86's
//! installed `asm/signal.h` is the legacy `sigaction` call's layout, not
//! `rt_sigaction`'s. musl's `struct k_sigaction` (handler, flags,
//! restorer, mask) is the same on both. The C library's `struct
//! sigaction` differs (a 128-byte mask first), so there is no libc
//! comparison: the layout is written down and round-tripped here.

use super::bytes::{get_u64, put_u64};
use crate::signals::{SignalActionFlags, SignalSet};

/// Bytes in the kernel's `struct sigaction`.
pub const SIGACTION_SIZE: usize = 32;

/// A signal disposition as `rt_sigaction` passes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignalAction {
    /// `sa_handler`: the handler's address, or
    /// [`crate::signals::HANDLER_DEFAULT`] / [`crate::signals::HANDLER_IGNORE`].
    pub handler: u64,
    /// `sa_flags`; unknown bits kept.
    pub flags: SignalActionFlags,
    /// `sa_restorer`: the trampoline that calls `rt_sigreturn`, with
    /// `SA_RESTORER`.
    pub restorer: u64,
    /// `sa_mask`: signals blocked while the handler runs.
    pub mask: SignalSet,
}

impl SignalAction {
    /// The bytes a program reads (the old action).
    pub fn encode(&self) -> [u8; SIGACTION_SIZE] {
        let mut bytes = [0; SIGACTION_SIZE];
        put_u64(&mut bytes, 0, self.handler);
        put_u64(&mut bytes, 8, self.flags.bits());
        put_u64(&mut bytes, 16, self.restorer);
        put_u64(&mut bytes, 24, self.mask.0);
        bytes
    }

    /// The action a program gave.
    pub fn decode(bytes: &[u8; SIGACTION_SIZE]) -> SignalAction {
        SignalAction {
            handler: get_u64(bytes, 0),
            flags: SignalActionFlags::from_bits_retain(get_u64(bytes, 8)),
            restorer: get_u64(bytes, 16),
            mask: SignalSet(get_u64(bytes, 24)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signals::Signal;

    #[test]
    fn fields_at_their_offsets_and_round_trip() {
        let action = SignalAction {
            handler: 0x40_1000,
            flags: SignalActionFlags::SIGNAL_INFO | SignalActionFlags::RESTORER,
            restorer: 0x40_2000,
            mask: SignalSet::EMPTY.with(Signal::INTERRUPT),
        };
        let bytes = action.encode();
        assert_eq!(bytes[0..8], 0x40_1000u64.to_le_bytes());
        assert_eq!(bytes[8..16], 0x0400_0004u64.to_le_bytes());
        assert_eq!(bytes[16..24], 0x40_2000u64.to_le_bytes());
        assert_eq!(bytes[24..32], 2u64.to_le_bytes());
        assert_eq!(SignalAction::decode(&bytes), action);
        let unknown = SignalAction::decode(&{
            let mut raw = bytes;
            raw[10] = 0x40;
            raw
        });
        assert_eq!(
            unknown.flags.bits() & 0x40_0000,
            0x40_0000,
            "unknown bits kept"
        );
    }

    #[test]
    fn flag_values_match_the_host_libc() {
        assert_eq!(
            SignalActionFlags::NO_CHILD_STOP.bits(),
            libc::SA_NOCLDSTOP as u64
        );
        assert_eq!(
            SignalActionFlags::NO_CHILD_WAIT.bits(),
            libc::SA_NOCLDWAIT as u64
        );
        assert_eq!(
            SignalActionFlags::SIGNAL_INFO.bits(),
            libc::SA_SIGINFO as u64
        );
        assert_eq!(SignalActionFlags::ON_STACK.bits(), libc::SA_ONSTACK as u64);
        assert_eq!(SignalActionFlags::RESTART.bits(), libc::SA_RESTART as u64);
        assert_eq!(SignalActionFlags::NO_DEFER.bits(), libc::SA_NODEFER as u64);
        assert_eq!(
            SignalActionFlags::RESET_HANDLER.bits(),
            libc::SA_RESETHAND as u32 as u64
        );
        assert_eq!(crate::signals::SIGNAL_SET_SIZE, 8);
    }
}
