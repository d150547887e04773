// SPDX-License-Identifier: MIT OR Apache-2.0
//! The PL031 real-time clock: the time of day, read once at boot. Owns
//! nothing else; never writes the clock.

use super::mmu::map_device;
use crate::boot_info::MemoryRange;

/// The data register: seconds since the Unix epoch (QEMU sets it from the
/// host's clock).
const RTCDR: u64 = 0x000;

/// The time of day in seconds since the Unix epoch, from the PL031 at
/// `registers`; `None` when it reads 0 (a clock never set).
pub fn unix_time(registers: MemoryRange) -> Option<u64> {
    let base = map_device(registers.start, 0x1000);
    // SAFETY: `map_device` mapped the PL031's register page (from the
    // device tree) as device memory at `base`; RTCDR is a 32-bit
    // read-only register at offset 0, and reading it has no side effect.
    let seconds = unsafe { core::ptr::read_volatile((base + RTCDR) as *const u32) };
    (seconds != 0).then_some(u64::from(seconds))
}
