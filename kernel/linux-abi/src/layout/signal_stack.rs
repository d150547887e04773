// SPDX-License-Identifier: MIT OR Apache-2.0
//! `stack_t` of `sigaltstack` (`asm-generic/signal.h`, `x86`'s
//! `asm/signal.h`): `ss_sp` at 0, `ss_flags` (i32) at 8, `ss_size` at 16,
//! 24 bytes on both architectures. Checked against the host libc.

use super::bytes::{get_u32, get_u64, put_u32, put_u64};

/// Bytes in a `stack_t`.
pub const STACK_T_SIZE: usize = 24;
/// `SS_ONSTACK`: the alternate stack is in use (reported).
pub const ON_STACK: u32 = 1;
/// `SS_DISABLE`: no alternate stack.
pub const DISABLE: u32 = 2;
/// `SS_AUTODISARM`: disarm the stack while a handler runs on it (not
/// implemented: `EINVAL`).
pub const AUTO_DISARM: u32 = 1 << 31;

/// `MINSIGSTKSZ` of `arch`: the smallest alternate stack `sigaltstack`
/// takes (`ENOMEM` below).
pub fn minimum_size(arch: crate::Arch) -> u64 {
    match arch {
        crate::Arch::Aarch64 => 5120,
        crate::Arch::X86_64 => 2048,
    }
}

/// An alternate signal stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignalStack {
    /// `ss_sp`: its lowest address.
    pub base: u64,
    /// `ss_flags`.
    pub flags: u32,
    /// `ss_size`: its size in bytes.
    pub size: u64,
}

impl SignalStack {
    /// The bytes a program reads (the old stack).
    pub fn encode(&self) -> [u8; STACK_T_SIZE] {
        let mut bytes = [0; STACK_T_SIZE];
        put_u64(&mut bytes, 0, self.base);
        put_u32(&mut bytes, 8, self.flags);
        put_u64(&mut bytes, 16, self.size);
        bytes
    }

    /// The stack a program gave.
    pub fn decode(bytes: &[u8; STACK_T_SIZE]) -> SignalStack {
        SignalStack {
            base: get_u64(bytes, 0),
            flags: get_u32(bytes, 8),
            size: get_u64(bytes, 16),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{offset_of, size_of};

    #[test]
    fn layout_matches_the_host_libc() {
        assert_eq!(size_of::<libc::stack_t>(), STACK_T_SIZE);
        assert_eq!(offset_of!(libc::stack_t, ss_sp), 0);
        assert_eq!(offset_of!(libc::stack_t, ss_flags), 8);
        assert_eq!(offset_of!(libc::stack_t, ss_size), 16);
        assert_eq!(ON_STACK as i32, libc::SS_ONSTACK);
        assert_eq!(DISABLE as i32, libc::SS_DISABLE);
        #[cfg(target_arch = "x86_64")]
        assert_eq!(minimum_size(crate::Arch::X86_64), libc::MINSIGSTKSZ as u64);
        #[cfg(target_arch = "aarch64")]
        assert_eq!(minimum_size(crate::Arch::Aarch64), libc::MINSIGSTKSZ as u64);
        let stack = SignalStack {
            base: 0x7000,
            flags: DISABLE,
            size: 8192,
        };
        assert_eq!(SignalStack::decode(&stack.encode()), stack);
        assert_eq!(stack.encode()[12..16], [0; 4], "padding zero");
    }
}
