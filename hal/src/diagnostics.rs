// SPDX-License-Identifier: MIT OR Apache-2.0
//! A deliberate kernel fault, so that the kernel's self test can prove
//! the exception path works: a fault in privileged code is reported
//! (`KERNEL BUG: unexpected exception`, the faulting address, the
//! registers) and the machine powers off with a failure status.
//!
//! Owns nothing else; must never be called except by the `test=fault`
//! self test.

/// An address no translation table maps once the kernel runs: below the
/// first range the user-range allocator hands out (4 MiB), and not RAM on
/// any supported machine's kernel map.
pub const NEVER_MAPPED: usize = 0x1000;

/// Reads [`NEVER_MAPPED`] from kernel mode. The exception handler reports
/// the fault and powers off; this function does not return.
pub fn fault_on_purpose() -> ! {
    // SAFETY: the read is of an address no table maps, so it reads no
    // memory: it raises a translation fault, whose handler reports and
    // powers off without returning here. Should a table ever map it, the
    // read is of one byte, volatile, and its value is ignored.
    let _ = unsafe { core::ptr::read_volatile(NEVER_MAPPED as *const u8) };
    panic!("self test: reading {NEVER_MAPPED:#x} in kernel mode did not fault")
}
