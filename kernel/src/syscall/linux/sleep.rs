// SPDX-License-Identifier: MIT OR Apache-2.0
//! Linux's `nanosleep`, `clock_nanosleep` and `sched_yield`: giving up
//! the processor for a time, or for a turn.
//!
//! Sleeps are the native sleep ([`sys_time::sleep`]): to the tick after
//! the time, ended early only by a kill (`EINTR`). An absolute
//! `clock_nanosleep` (`TIMER_ABSTIME`) sleeps until its clock reads the
//! time asked — the time of day for `CLOCK_REALTIME` and `CLOCK_TAI`,
//! the time since reset for the monotonic clocks — and returns at once
//! for a time already past. A relative sleep a signal interrupts
//! (`EINTR`) writes the time it had left to `remaining` when that is not
//! null, as Linux does (`sleep(3)` returns it). This file never touches
//! another process.

use super::{read_array, write_bytes};
use crate::process::Process;
use crate::scheduler;
use crate::syscall::sys_time;
use alloc::sync::Arc;
use hal::{Arch, Architecture};
use linux_abi::clock::{ClockId, TIMER_ABSOLUTE};
use linux_abi::layout::time::{Timespec, TIMESPEC_SIZE};
use linux_abi::Errno;

/// The duration or time at `address`, in nanoseconds.
///
/// Return values: `EFAULT`; `EINVAL` for an invalid timespec.
fn requested(process: &Process, address: u64) -> Result<u64, Errno> {
    Timespec::decode(&read_array::<TIMESPEC_SIZE>(process, address)?)
        .as_nanoseconds()
        .ok_or(Errno::InvalidArgument)
}

/// Sleeps `nanoseconds`; when a signal interrupts it, writes the time
/// left to `remaining` (unless it is 0).
fn sleep(process: &Arc<Process>, nanoseconds: u64, remaining: u64) -> Result<u64, Errno> {
    if nanoseconds == 0 {
        return Ok(0);
    }
    let started = Arch::time_since_reset();
    match sys_time::sleep(process, nanoseconds) {
        Err(manux_abi::Errno::Interrupted) if remaining != 0 => {
            let slept = u64::try_from(Arch::time_since_reset().saturating_sub(started).as_nanos())
                .unwrap_or(u64::MAX);
            let left = Timespec::from_nanoseconds(nanoseconds.saturating_sub(slept));
            write_bytes(process, remaining, &left.encode())?;
            Err(Errno::Interrupted)
        }
        result => Ok(result?),
    }
}

/// `nanosleep(request, remaining)`.
pub fn nanosleep(process: &Arc<Process>, request: u64, remaining: u64) -> Result<u64, Errno> {
    let nanoseconds = requested(process, request)?;
    sleep(process, nanoseconds, remaining)
}

/// `clock_nanosleep(clock, flags, request, remaining)`: see the module
/// doc; the CPU-time clocks are `EINVAL`.
pub fn clock_nanosleep(
    process: &Arc<Process>,
    clock: u64,
    flags: u64,
    request: u64,
    remaining: u64,
) -> Result<u64, Errno> {
    let clock = ClockId::from_number(clock).ok_or(Errno::InvalidArgument)?;
    let flags = flags as u32;
    if flags & !TIMER_ABSOLUTE != 0 {
        return Err(Errno::InvalidArgument);
    }
    let nanoseconds = requested(process, request)?;
    if flags & TIMER_ABSOLUTE == 0 {
        return sleep(process, nanoseconds, remaining);
    }
    let now = super::identity::clock_now(clock).ok_or(Errno::InvalidArgument)?;
    let now = u64::try_from(now.as_nanos()).unwrap_or(u64::MAX);
    sleep(process, nanoseconds.saturating_sub(now), 0)
}

/// `sched_yield()`: the caller goes to the back of the ready queue.
pub fn yield_processor() -> u64 {
    scheduler::schedule();
    0
}
