// SPDX-License-Identifier: MIT OR Apache-2.0
//! The time of day: the machine's real-time clock, read once at boot by
//! the HAL, plus the time since reset. Gives file timestamps and
//! `CLOCK_REALTIME`; owns nothing else (the monotonic clock is the HAL's
//! time since reset).
//!
//! A machine without a real-time clock counts from the Unix epoch at
//! reset, as before, and says so in the log.

use core::sync::atomic::{AtomicU64, Ordering};
use core::time::Duration;
use hal::{Arch, Architecture};

/// Seconds since the Unix epoch at machine reset.
static UNIX_AT_RESET: AtomicU64 = AtomicU64::new(0);

/// Sets the clock from the HAL's reading, `unix_time` (seconds since the
/// epoch, taken during boot); `None` leaves it at the epoch.
pub fn init(unix_time: Option<u64>) {
    let Some(unix_time) = unix_time else {
        log::warn!("no real-time clock: the time of day counts from 1970 at reset");
        return;
    };
    let at_reset = unix_time.saturating_sub(Arch::time_since_reset().as_secs());
    UNIX_AT_RESET.store(at_reset, Ordering::Relaxed);
    log::info!("clock: {} s since the Unix epoch", unix_time);
}

/// The time of day since the Unix epoch.
pub fn now() -> Duration {
    Duration::from_secs(UNIX_AT_RESET.load(Ordering::Relaxed))
        .saturating_add(Arch::time_since_reset())
}

/// Whole seconds since the Unix epoch, as ext2 timestamps hold them
/// (until 2106).
pub fn timestamp() -> u32 {
    u32::try_from(now().as_secs()).unwrap_or(u32::MAX)
}
