// SPDX-License-Identifier: MIT OR Apache-2.0
//! `siginfo_t` (`asm-generic/siginfo.h`): 128 bytes on both
//! architectures. Only what `SIGCHLD` and `waitid` need, and a signal
//! `kill` sent: `si_signo` at 0, `si_errno` at 4, `si_code` at 8, then
//! (after 4 bytes of padding, the union being 8-aligned) `si_pid` at 16,
//! `si_uid` at 20, and for `SIGCHLD` `si_status` at 24, `si_utime` at 32,
//! `si_stime` at 40. The size and header fields are checked against
//! the host libc.

use super::bytes::{put_u32, put_u64};
use crate::signals::Signal;
use crate::wait_status::ChildEvent;

/// Bytes in a `siginfo_t`.
pub const SIGINFO_SIZE: usize = 128;

/// `SI_USER`: `si_code` of a signal sent by `kill`.
pub const SENT_BY_KILL: i32 = 0;

/// `SI_KERNEL`: `si_code` of a signal the kernel sent (Ctrl-C's
/// `SIGINT`, `SIGPIPE`).
pub const SENT_BY_KERNEL: i32 = 0x80;
/// `SI_TKILL`: `si_code` of a signal sent by `tkill` or `tgkill`
/// (glibc's and musl's `raise`).
pub const SENT_BY_THREAD_KILL: i32 = -6;

/// The `siginfo_t` of a `SIGCHLD` (or `waitid`'s answer): which child
/// changed, how, and its status (exit code or signal number).
pub fn encode_child_event(
    child: u32,
    child_user: u32,
    event: ChildEvent,
    status: i32,
) -> [u8; SIGINFO_SIZE] {
    let mut bytes = [0; SIGINFO_SIZE];
    put_u32(&mut bytes, 0, u32::from(Signal::CHILD.number()));
    put_u32(&mut bytes, 8, event as i32 as u32);
    put_u32(&mut bytes, 16, child);
    put_u32(&mut bytes, 20, child_user);
    put_u32(&mut bytes, 24, status as u32);
    put_u64(&mut bytes, 32, 0);
    put_u64(&mut bytes, 40, 0);
    bytes
}

/// The `siginfo_t` of `signal` sent by process `sender` with `kill`.
pub fn encode_sent_signal(signal: Signal, sender: u32, sender_user: u32) -> [u8; SIGINFO_SIZE] {
    let mut bytes = [0; SIGINFO_SIZE];
    put_u32(&mut bytes, 0, u32::from(signal.number()));
    put_u32(&mut bytes, 8, SENT_BY_KILL as u32);
    put_u32(&mut bytes, 16, sender);
    put_u32(&mut bytes, 20, sender_user);
    bytes
}

/// The `siginfo_t` of `signal` sent by process `sender` with `tkill` or
/// `tgkill`.
pub fn encode_thread_signal(signal: Signal, sender: u32, sender_user: u32) -> [u8; SIGINFO_SIZE] {
    let mut bytes = encode_sent_signal(signal, sender, sender_user);
    put_u32(&mut bytes, 8, SENT_BY_THREAD_KILL as u32);
    bytes
}

/// The `siginfo_t` of `signal` sent by the kernel itself.
pub fn encode_kernel_signal(signal: Signal) -> [u8; SIGINFO_SIZE] {
    let mut bytes = [0; SIGINFO_SIZE];
    put_u32(&mut bytes, 0, u32::from(signal.number()));
    put_u32(&mut bytes, 8, SENT_BY_KERNEL as u32);
    bytes
}

/// `SEGV_MAPERR`: `si_code` of a `SIGSEGV` from an access the process's
/// memory does not allow.
pub const SEGV_MAPPING_ERROR: i32 = 1;
/// `ILL_ILLOPC`: `si_code` of a `SIGILL` from an illegal instruction.
pub const ILLEGAL_OPCODE: i32 = 1;

/// The `siginfo_t` of `signal` raised by a fault: its `code` and the
/// faulting address (`si_addr`, at 16: `_sigfault`'s first member).
pub fn encode_fault(signal: Signal, code: i32, address: u64) -> [u8; SIGINFO_SIZE] {
    let mut bytes = [0; SIGINFO_SIZE];
    put_u32(&mut bytes, 0, u32::from(signal.number()));
    put_u32(&mut bytes, 8, code as u32);
    bytes[16..24].copy_from_slice(&address.to_le_bytes());
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::size_of;

    /// The header fields are checked against the host libc; the union's
    /// members are private there, so their offsets are the header's
    /// (`asm-generic/siginfo.h`: `__ARCH_SI_PREAMBLE_SIZE` is 16 on
    /// 64-bit, `_sigchld` is pid, uid, status, utime, stime).
    #[test]
    fn header_matches_the_host_libc_and_fields_land_in_place() {
        use core::mem::offset_of;
        assert_eq!(size_of::<libc::siginfo_t>(), SIGINFO_SIZE);
        assert_eq!(offset_of!(libc::siginfo_t, si_signo), 0);
        assert_eq!(offset_of!(libc::siginfo_t, si_errno), 4);
        assert_eq!(offset_of!(libc::siginfo_t, si_code), 8);
        let bytes = encode_child_event(42, 7, ChildEvent::Exited, 3);
        let word =
            |offset: usize| i32::from_le_bytes(bytes[offset..offset + 4].try_into().unwrap());
        assert_eq!(word(0), libc::SIGCHLD);
        assert_eq!(word(4), 0);
        assert_eq!(word(8), libc::CLD_EXITED);
        assert_eq!((word(16), word(20), word(24)), (42, 7, 3));
        assert!(bytes[28..].iter().all(|&b| b == 0));
        let sent = encode_sent_signal(Signal::TERMINATE, 5, 0);
        assert_eq!(sent[0], 15);
        assert_eq!(sent[16], 5);
        assert_eq!(SENT_BY_KERNEL, libc::SI_KERNEL);
        assert_eq!(SENT_BY_THREAD_KILL, libc::SI_TKILL);
        assert_eq!(
            encode_thread_signal(Signal::USER_1, 5, 0)[8..12],
            (-6i32).to_le_bytes()
        );
        assert_eq!(encode_kernel_signal(Signal::INTERRUPT)[8], 0x80);
        let fault = encode_fault(
            Signal::SEGMENTATION_FAULT,
            SEGV_MAPPING_ERROR,
            0x1234_5678_9abc,
        );
        assert_eq!(word(0), libc::SIGCHLD, "the first siginfo is unchanged");
        assert_eq!(fault[0], 11);
        assert_eq!(fault[8], 1);
        assert_eq!(fault[16..24], 0x1234_5678_9abcu64.to_le_bytes());
        assert!(fault[24..].iter().all(|&b| b == 0));
        assert_eq!(ChildEvent::Killed as i32, libc::CLD_KILLED);
        assert_eq!(ChildEvent::Dumped as i32, libc::CLD_DUMPED);
        assert_eq!(ChildEvent::Stopped as i32, libc::CLD_STOPPED);
        assert_eq!(ChildEvent::Continued as i32, libc::CLD_CONTINUED);
    }
}
