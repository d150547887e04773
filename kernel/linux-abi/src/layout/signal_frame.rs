// SPDX-License-Identifier: MIT OR Apache-2.0
//! The frame Linux pushes on the user stack to run a signal handler
//! (`struct rt_sigframe`), and reads back at `rt_sigreturn`, for each
//! architecture. Written from the UAPI headers (`asm/sigcontext.h`,
//! `asm/ucontext.h`) and the kernels' `signal.c`; checked on the host
//! against the C library's `ucontext_t` where it shares the kernel's
//! layout (x86_64's general registers), against the installed arm64
//! header's `FPSIMD_MAGIC`, and by round trips.
//!
//! # AArch64 (`arch/arm64/kernel/signal.c`)
//! `rt_sigframe` is `siginfo` (128 bytes) then `struct ucontext`:
//! `uc_flags` 0, `uc_link` 8, `uc_stack` 16 (24 bytes), `uc_sigmask` 40,
//! padding to 1024 bits of mask (168), then `uc_mcontext` aligned to 16
//! at 176: `struct sigcontext` — `fault_address` 0, `regs[31]` 8, `sp`
//! 256, `pc` 264, `pstate` 272, `__reserved[4096]` at 288 (16-aligned).
//! `__reserved` holds records, each `{magic u32, size u32}` first: the
//! `fpsimd_context` (magic `0x46508001`, 528 bytes: `fpsr` 8, `fpcr` 12,
//! `vregs[32]` 16) and a terminating record of zeros. `sizeof(struct
//! ucontext)` is 4560, the frame 4688. Above the frame the kernel
//! leaves a frame record `{x29, x30}` (16 bytes) for unwinders, and
//! `x29` points at it.
//!
//! # x86_64 (`arch/x86/kernel/signal_64.c`, `asm/sigframe.h`)
//! `rt_sigframe` is `pretcode` (the return address the handler's `ret`
//! pops: `sa_restorer`) at 0, `struct ucontext` at 8, `siginfo` at 312:
//! 440 bytes. `struct ucontext`: `uc_flags` 0, `uc_link` 8, `uc_stack`
//! 16, `uc_mcontext` 40 (`struct sigcontext`, 256 bytes: r8–r15, rdi,
//! rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags at 0–136, `cs` `gs`
//! `fs` `ss` (u16 each) 144, `err` 152, `trapno` 160, `oldmask` 168,
//! `cr2` 176, `fpstate` (a pointer to the 512-byte `fxsave` image,
//! placed below the frame) 184, reserved 192–255), `uc_sigmask` 296;
//! 304 bytes.

use super::bytes::{get_u16, get_u32, get_u64, put_u16, put_u32, put_u64};
use super::signal_info::SIGINFO_SIZE;
pub use super::signal_stack::SignalStack;
use super::signal_stack::STACK_T_SIZE;
use crate::signals::SignalSet;
use alloc::vec::Vec;

/// Why a frame handed to `rt_sigreturn` is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// Too few bytes, or a record that is missing or malformed.
    Malformed,
}

/// AArch64's frame.
pub mod aarch64 {
    use super::*;

    /// Offset of `struct ucontext` in `rt_sigframe` (after `siginfo`).
    pub const UCONTEXT_OFFSET: usize = SIGINFO_SIZE;
    /// Offset of `uc_sigmask` in `struct ucontext`.
    pub const SIGMASK_OFFSET: usize = 40;
    /// Offset of `uc_mcontext` in `struct ucontext`.
    pub const MCONTEXT_OFFSET: usize = 176;
    /// Offset of `__reserved` in `struct sigcontext`.
    pub const RESERVED_OFFSET: usize = 288;
    /// Bytes of `__reserved`.
    pub const RESERVED_SIZE: usize = 4096;
    /// `sizeof(struct ucontext)`.
    pub const UCONTEXT_SIZE: usize = MCONTEXT_OFFSET + RESERVED_OFFSET + RESERVED_SIZE;
    /// `sizeof(struct rt_sigframe)`: what is pushed (16-byte multiple).
    pub const FRAME_SIZE: usize = UCONTEXT_OFFSET + UCONTEXT_SIZE;
    /// The frame record `{x29, x30}` above the frame.
    pub const FRAME_RECORD_SIZE: usize = 16;
    /// `FPSIMD_MAGIC`.
    pub const FPSIMD_MAGIC: u32 = 0x4650_8001;
    /// `sizeof(struct fpsimd_context)`.
    pub const FPSIMD_SIZE: u32 = 528;

    /// Where the frame's fields are, from its start.
    const MCONTEXT: usize = UCONTEXT_OFFSET + MCONTEXT_OFFSET;
    const RECORDS: usize = MCONTEXT + RESERVED_OFFSET;

    /// The registers a frame saves.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Registers {
        /// x0–x30.
        pub x: [u64; 31],
        /// `sp`.
        pub sp: u64,
        /// `pc`.
        pub pc: u64,
        /// `pstate` (SPSR as Linux reports it).
        pub pstate: u64,
        /// `FPSR`.
        pub fpsr: u32,
        /// `FPCR`.
        pub fpcr: u32,
        /// q0–q31.
        pub vregs: [u128; 32],
    }

    /// The frame's bytes: `info` (a `siginfo_t`), `uc_flags` 0, no
    /// `uc_link`, the alternate stack as `sigaltstack` reports it, the
    /// mask to restore and the registers, with the FP/SIMD record and a
    /// terminator.
    pub fn encode(
        info: &[u8; SIGINFO_SIZE],
        stack: &SignalStack,
        mask: SignalSet,
        registers: &Registers,
    ) -> Vec<u8> {
        let mut bytes = alloc::vec![0u8; FRAME_SIZE];
        bytes[..SIGINFO_SIZE].copy_from_slice(info);
        bytes[UCONTEXT_OFFSET + 16..UCONTEXT_OFFSET + 16 + STACK_T_SIZE]
            .copy_from_slice(&stack.encode());
        put_u64(&mut bytes, UCONTEXT_OFFSET + SIGMASK_OFFSET, mask.0);
        // fault_address stays 0 (no fault).
        for (index, value) in registers.x.iter().enumerate() {
            put_u64(&mut bytes, MCONTEXT + 8 + index * 8, *value);
        }
        put_u64(&mut bytes, MCONTEXT + 256, registers.sp);
        put_u64(&mut bytes, MCONTEXT + 264, registers.pc);
        put_u64(&mut bytes, MCONTEXT + 272, registers.pstate);
        put_u32(&mut bytes, RECORDS, FPSIMD_MAGIC);
        put_u32(&mut bytes, RECORDS + 4, FPSIMD_SIZE);
        put_u32(&mut bytes, RECORDS + 8, registers.fpsr);
        put_u32(&mut bytes, RECORDS + 12, registers.fpcr);
        for (index, value) in registers.vregs.iter().enumerate() {
            let at = RECORDS + 16 + index * 16;
            bytes[at..at + 16].copy_from_slice(&value.to_le_bytes());
        }
        // The terminator after it: already zeros.
        bytes
    }

    /// The registers and mask a frame holds (`rt_sigreturn`). The
    /// records are walked as Linux walks them: each 16-byte aligned
    /// inside `__reserved`, the FP/SIMD one required, a zero record
    /// ending them; unknown ones are refused (Linux's answer too).
    pub fn decode(bytes: &[u8]) -> Result<(Registers, SignalSet), FrameError> {
        if bytes.len() < FRAME_SIZE {
            return Err(FrameError::Malformed);
        }
        let mut registers = Registers {
            x: [0; 31],
            sp: get_u64(bytes, MCONTEXT + 256),
            pc: get_u64(bytes, MCONTEXT + 264),
            pstate: get_u64(bytes, MCONTEXT + 272),
            fpsr: 0,
            fpcr: 0,
            vregs: [0; 32],
        };
        for (index, value) in registers.x.iter_mut().enumerate() {
            *value = get_u64(bytes, MCONTEXT + 8 + index * 8);
        }
        let mut offset = 0;
        let mut fpsimd = false;
        loop {
            // Room for a header, and for the terminator after any record.
            if offset + 8 > RESERVED_SIZE {
                return Err(FrameError::Malformed);
            }
            let magic = get_u32(bytes, RECORDS + offset);
            let size = get_u32(bytes, RECORDS + offset + 4) as usize;
            if magic == 0 {
                if size != 0 {
                    return Err(FrameError::Malformed);
                }
                break;
            }
            if magic != FPSIMD_MAGIC
                || size != FPSIMD_SIZE as usize
                || fpsimd
                || offset + size > RESERVED_SIZE
            {
                return Err(FrameError::Malformed);
            }
            fpsimd = true;
            let at = RECORDS + offset;
            registers.fpsr = get_u32(bytes, at + 8);
            registers.fpcr = get_u32(bytes, at + 12);
            for (index, value) in registers.vregs.iter_mut().enumerate() {
                let start = at + 16 + index * 16;
                let mut word = [0u8; 16];
                word.copy_from_slice(&bytes[start..start + 16]);
                *value = u128::from_le_bytes(word);
            }
            offset += size;
        }
        if !fpsimd {
            return Err(FrameError::Malformed);
        }
        let mask = SignalSet(get_u64(bytes, UCONTEXT_OFFSET + SIGMASK_OFFSET));
        Ok((registers, mask))
    }
}

/// x86_64's frame.
pub mod x86_64 {
    use super::*;

    /// Offset of `struct ucontext` in `rt_sigframe` (after `pretcode`).
    pub const UCONTEXT_OFFSET: usize = 8;
    /// Offset of `uc_mcontext` in `struct ucontext`.
    pub const MCONTEXT_OFFSET: usize = 40;
    /// `sizeof(struct sigcontext)`.
    pub const MCONTEXT_SIZE: usize = 256;
    /// Offset of `uc_sigmask` in `struct ucontext`.
    pub const SIGMASK_OFFSET: usize = MCONTEXT_OFFSET + MCONTEXT_SIZE;
    /// `sizeof(struct ucontext)` (the kernel's).
    pub const UCONTEXT_SIZE: usize = SIGMASK_OFFSET + 8;
    /// Offset of `info` in `rt_sigframe`.
    pub const SIGINFO_OFFSET: usize = UCONTEXT_OFFSET + UCONTEXT_SIZE;
    /// `sizeof(struct rt_sigframe)`.
    pub const FRAME_SIZE: usize = SIGINFO_OFFSET + SIGINFO_SIZE;
    /// Bytes of the `fxsave` image `fpstate` points to.
    pub const FPSTATE_SIZE: usize = 512;
    /// `UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS`: what Linux sets in
    /// `uc_flags` (the saved `ss` is meaningful).
    pub const UC_FLAGS: u64 = 0x2 | 0x4;

    const MCONTEXT: usize = UCONTEXT_OFFSET + MCONTEXT_OFFSET;

    /// The general registers in `struct sigcontext` order (also glibc's
    /// `REG_R8`…`REG_RCX` of `gregs`), then rsp, rip, eflags.
    #[derive(Clone, Debug, Default, PartialEq, Eq)]
    pub struct Registers {
        /// r8, r9, r10, r11, r12, r13, r14, r15, rdi, rsi, rbp, rbx, rdx,
        /// rax, rcx.
        pub general: [u64; 15],
        /// `rsp`.
        pub rsp: u64,
        /// `rip`.
        pub rip: u64,
        /// `eflags`.
        pub rflags: u64,
        /// `cs`, `ss` as reported (never restored from the frame).
        pub cs: u16,
        /// `ss`.
        pub ss: u16,
        /// Where the `fxsave` image is.
        pub fpstate: u64,
    }

    /// Index of each register in [`Registers::general`].
    pub mod index {
        /// `r8`.
        pub const R8: usize = 0;
        /// `r9`.
        pub const R9: usize = 1;
        /// `r10`.
        pub const R10: usize = 2;
        /// `r11`.
        pub const R11: usize = 3;
        /// `r12`.
        pub const R12: usize = 4;
        /// `r13`.
        pub const R13: usize = 5;
        /// `r14`.
        pub const R14: usize = 6;
        /// `r15`.
        pub const R15: usize = 7;
        /// `rdi`.
        pub const RDI: usize = 8;
        /// `rsi`.
        pub const RSI: usize = 9;
        /// `rbp`.
        pub const RBP: usize = 10;
        /// `rbx`.
        pub const RBX: usize = 11;
        /// `rdx`.
        pub const RDX: usize = 12;
        /// `rax`.
        pub const RAX: usize = 13;
        /// `rcx`.
        pub const RCX: usize = 14;
    }

    /// The frame's bytes: `restorer` as `pretcode`, the alternate stack
    /// as `sigaltstack` reports it, the registers, the mask to restore,
    /// `info`.
    pub fn encode(
        restorer: u64,
        info: &[u8; SIGINFO_SIZE],
        stack: &SignalStack,
        mask: SignalSet,
        registers: &Registers,
    ) -> [u8; FRAME_SIZE] {
        let mut bytes = [0u8; FRAME_SIZE];
        put_u64(&mut bytes, 0, restorer);
        put_u64(&mut bytes, UCONTEXT_OFFSET, UC_FLAGS);
        bytes[UCONTEXT_OFFSET + 16..UCONTEXT_OFFSET + 16 + STACK_T_SIZE]
            .copy_from_slice(&stack.encode());
        for (index, value) in registers.general.iter().enumerate() {
            put_u64(&mut bytes, MCONTEXT + index * 8, *value);
        }
        put_u64(&mut bytes, MCONTEXT + 120, registers.rsp);
        put_u64(&mut bytes, MCONTEXT + 128, registers.rip);
        put_u64(&mut bytes, MCONTEXT + 136, registers.rflags);
        put_u16(&mut bytes, MCONTEXT + 144, registers.cs);
        put_u16(&mut bytes, MCONTEXT + 150, registers.ss);
        put_u64(&mut bytes, MCONTEXT + 184, registers.fpstate);
        put_u64(&mut bytes, UCONTEXT_OFFSET + SIGMASK_OFFSET, mask.0);
        bytes[SIGINFO_OFFSET..].copy_from_slice(info);
        bytes
    }

    /// The registers and mask a frame holds, from its `uc` on: what
    /// `rt_sigreturn` reads at the stack pointer (the handler's `ret`
    /// popped `pretcode`).
    pub fn decode(ucontext: &[u8]) -> Result<(Registers, SignalSet), FrameError> {
        if ucontext.len() < UCONTEXT_SIZE {
            return Err(FrameError::Malformed);
        }
        let m = MCONTEXT_OFFSET;
        let mut registers = Registers {
            general: [0; 15],
            rsp: get_u64(ucontext, m + 120),
            rip: get_u64(ucontext, m + 128),
            rflags: get_u64(ucontext, m + 136),
            cs: get_u16(ucontext, m + 144),
            ss: get_u16(ucontext, m + 150),
            fpstate: get_u64(ucontext, m + 184),
        };
        for (index, value) in registers.general.iter_mut().enumerate() {
            *value = get_u64(ucontext, m + index * 8);
        }
        let mask = SignalSet(get_u64(ucontext, SIGMASK_OFFSET));
        Ok((registers, mask))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signals::Signal;

    /// No alternate stack, as `sigaltstack` reports it.
    const DISABLED: SignalStack = SignalStack {
        base: 0,
        flags: crate::layout::signal_stack::DISABLE,
        size: 0,
    };

    #[test]
    fn aarch64_sizes_and_offsets_are_linuxs() {
        use aarch64::*;
        // arm64: sizeof(struct sigcontext) = 288 + 4096; ucontext 4560.
        assert_eq!(UCONTEXT_SIZE, 4560);
        assert_eq!(FRAME_SIZE, 4688);
        assert_eq!(FRAME_SIZE % 16, 0);
        // uc_sigmask then padding to 1024 bits, then the 16-aligned
        // mcontext: 40 + 128 = 168, aligned up to 176.
        assert_eq!(
            (SIGMASK_OFFSET + 1024 / 8).next_multiple_of(16),
            MCONTEXT_OFFSET
        );
        // fpsimd_context: header 8, fpsr, fpcr, 32 × 16.
        assert_eq!(FPSIMD_SIZE as usize, 8 + 4 + 4 + 32 * 16);
    }

    fn aarch64_registers() -> aarch64::Registers {
        let mut x = [0u64; 31];
        for (index, value) in x.iter_mut().enumerate() {
            *value = 0x1000 + index as u64;
        }
        let mut vregs = [0u128; 32];
        for (index, value) in vregs.iter_mut().enumerate() {
            *value = (index as u128) << 64 | 0xabcd;
        }
        aarch64::Registers {
            x,
            sp: 0x7fff_0000,
            pc: 0x40_1234,
            pstate: 0x6000_0000,
            fpsr: 0x10,
            fpcr: 0x0300_0000,
            vregs,
        }
    }

    #[test]
    fn aarch64_round_trip_and_fields_in_place() {
        let registers = aarch64_registers();
        let info = super::super::signal_info::encode_sent_signal(Signal::USER_1, 7, 0);
        let mask = SignalSet::EMPTY.with(Signal::USER_2);
        let bytes = aarch64::encode(&info, &DISABLED, mask, &registers);
        assert_eq!(bytes.len(), aarch64::FRAME_SIZE);
        assert_eq!(bytes[0], 10, "siginfo first");
        let mcontext = 128 + 176;
        assert_eq!(get_u64(&bytes, mcontext + 8), 0x1000, "regs[0]");
        assert_eq!(get_u64(&bytes, mcontext + 8 + 30 * 8), 0x1000 + 30);
        assert_eq!(get_u64(&bytes, mcontext + 264), 0x40_1234, "pc");
        assert_eq!(get_u32(&bytes, mcontext + 288), aarch64::FPSIMD_MAGIC);
        assert_eq!(get_u64(&bytes, 128 + 40), mask.0, "uc_sigmask");
        let (back, back_mask) = aarch64::decode(&bytes).unwrap();
        assert_eq!(back, registers);
        assert_eq!(back_mask, mask);
    }

    #[test]
    fn aarch64_forged_records_are_refused() {
        let info = [0u8; SIGINFO_SIZE];
        let good = aarch64::encode(&info, &DISABLED, SignalSet::EMPTY, &aarch64_registers());
        let records = 128 + 176 + 288;
        let mut missing = good.clone();
        missing[records..records + 8].fill(0);
        assert_eq!(aarch64::decode(&missing), Err(FrameError::Malformed));
        let mut huge = good.clone();
        put_u32(&mut huge, records + 4, u32::MAX);
        assert_eq!(aarch64::decode(&huge), Err(FrameError::Malformed));
        let mut unterminated = good.clone();
        put_u32(&mut unterminated, records + 528, 0x1234);
        put_u32(&mut unterminated, records + 532, 16);
        assert_eq!(aarch64::decode(&unterminated), Err(FrameError::Malformed));
        assert_eq!(
            aarch64::decode(&good[..100]),
            Err(FrameError::Malformed),
            "short"
        );
    }

    /// glibc's x86_64 `ucontext_t` begins as the kernel's does: flags,
    /// link, stack, then the 256-byte `mcontext_t` whose `gregs` are
    /// `struct sigcontext`'s registers in order.
    #[cfg(all(target_arch = "x86_64", target_os = "linux", target_env = "gnu"))]
    #[test]
    fn x86_64_matches_the_host_libc() {
        use core::mem::{offset_of, size_of};
        use x86_64::*;
        assert_eq!(offset_of!(libc::ucontext_t, uc_mcontext), MCONTEXT_OFFSET);
        assert_eq!(size_of::<libc::mcontext_t>(), MCONTEXT_SIZE);
        assert_eq!(offset_of!(libc::ucontext_t, uc_sigmask), SIGMASK_OFFSET);
        assert_eq!(libc::REG_R8 as usize, index::R8);
        assert_eq!(libc::REG_RDI as usize, index::RDI);
        assert_eq!(libc::REG_RAX as usize, index::RAX);
        assert_eq!(libc::REG_RCX as usize, index::RCX);
        assert_eq!(libc::REG_RSP, 15);
        assert_eq!(libc::REG_RIP, 16);
        assert_eq!(libc::REG_EFL, 17);
        assert_eq!(libc::REG_CSGSFS, 18);
        assert_eq!(libc::REG_CR2, 22);
        assert_eq!(size_of::<libc::_libc_fpstate>(), FPSTATE_SIZE);
    }

    #[test]
    fn x86_64_sizes_round_trip() {
        use x86_64::*;
        assert_eq!(UCONTEXT_SIZE, 304);
        assert_eq!(FRAME_SIZE, 440);
        let mut registers = Registers::default();
        for (index, value) in registers.general.iter_mut().enumerate() {
            *value = 0x100 + index as u64;
        }
        registers.rsp = 0x7000;
        registers.rip = 0x40_1000;
        registers.rflags = 0x246;
        registers.cs = 0x33;
        registers.ss = 0x2b;
        registers.fpstate = 0x6f00;
        let info = super::super::signal_info::encode_sent_signal(Signal::INTERRUPT, 3, 0);
        let mask = SignalSet::EMPTY.with(Signal::ALARM);
        let bytes = encode(0x40_2000, &info, &DISABLED, mask, &registers);
        assert_eq!(get_u64(&bytes, 0), 0x40_2000, "pretcode");
        assert_eq!(get_u64(&bytes, 8 + 40 + 16 * 8), 0x40_1000, "rip");
        assert_eq!(get_u64(&bytes, 8 + 40 + 184), 0x6f00, "fpstate");
        assert_eq!(bytes[312], 2, "siginfo");
        let (back, back_mask) = decode(&bytes[UCONTEXT_OFFSET..]).unwrap();
        assert_eq!(back, registers);
        assert_eq!(back_mask, mask);
        assert_eq!(decode(&bytes[..40]), Err(FrameError::Malformed));
    }
}
