// SPDX-License-Identifier: MIT OR Apache-2.0
//! `clock_gettime` and `nanosleep`.
//!
//! `CLOCK_REALTIME` is the time of day ([`crate::wall_clock`]);
//! `CLOCK_MONOTONIC` counts from machine reset.

use super::UserAccess;
use crate::process::{Process, ProcessState};
use crate::scheduler::{self, with_scheduler};
use alloc::sync::Arc;
use core::time::Duration;
use hal::{Arch, Architecture};
use manux_abi::{clock, Errno};

/// `clock_gettime(clock, timespec)`: seconds and nanoseconds.
pub fn clock_get_time(process: &Process, which: u64, timespec: u64) -> Result<u64, Errno> {
    if which as u32 != clock::REALTIME && which as u32 != clock::MONOTONIC {
        return Err(Errno::InvalidArgument);
    }
    let now = if which as u32 == clock::REALTIME {
        crate::wall_clock::now()
    } else {
        Arch::time_since_reset()
    };
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&now.as_secs().to_le_bytes());
    bytes[8..].copy_from_slice(&u64::from(now.subsec_nanos()).to_le_bytes());
    UserAccess::write(process, timespec, &bytes)?;
    Ok(0)
}

/// `nanosleep(nanoseconds)`: blocks until the time has passed (to the next
/// tick) or the process is killed.
pub fn sleep(process: &Arc<Process>, nanoseconds: u64) -> Result<u64, Errno> {
    let until = Arch::time_since_reset().saturating_add(Duration::from_nanos(nanoseconds));
    loop {
        if Arch::time_since_reset() >= until {
            return Ok(0);
        }
        if super::linux::signals::interrupted(&process.resources.lock()) {
            return Err(Errno::Interrupted);
        }
        with_scheduler(|_| {
            process.resources.lock().wake_at = Some(until);
            *process.state.lock() = ProcessState::Blocked;
        });
        scheduler::schedule();
    }
}
