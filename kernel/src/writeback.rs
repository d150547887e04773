// SPDX-License-Identifier: MIT OR Apache-2.0
//! Write-back on a clock: changes reach the disk by themselves.
//!
//! A kernel task ([`crate::process::spawn_kernel_task`]) wakes every
//! `commit=SECONDS` (default 5, [`crate::boot_args`]) and writes back
//! what changed — on a journaled volume, commits the running transaction
//! ([`crate::root_fs::sync`]) — so a power cut loses at most the last
//! seconds of work. It holds the file system's lock only to take and to
//! complete the batch; the device work happens with only the disk held.
//! A failing write-back is reported once when it starts failing and once
//! when it recovers, not every interval.

use crate::process::{self, Process};
use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use core::time::Duration;
use hal::{Arch, Architecture};

/// Seconds between write-backs.
static INTERVAL_SECONDS: AtomicU32 = AtomicU32::new(crate::boot_args::DEFAULT_COMMIT_SECONDS);
/// Whether the last write-back failed (so the next failure is not
/// reported again).
static FAILING: AtomicBool = AtomicBool::new(false);

/// Sets the interval to `seconds` and says so (before init starts, so the
/// line stays in the boot log).
pub fn configure(seconds: u32) {
    INTERVAL_SECONDS.store(seconds.max(1), Ordering::Relaxed);
    log::info!("writeback: every {} s", seconds.max(1));
}

/// Starts the write-back task (after init, which must be process 1).
pub fn start() {
    if let Err(error) = process::spawn_kernel_task("writeback", run) {
        log::error!("writeback: cannot start: {error}; changes reach the disk only at sync");
    }
}

/// The task: sleep an interval, write back, again.
fn run(task: &Arc<Process>) {
    loop {
        let interval = Duration::from_secs(u64::from(INTERVAL_SECONDS.load(Ordering::Relaxed)));
        process::sleep_until(task, Arch::time_since_reset().saturating_add(interval));
        match crate::root_fs::sync() {
            Ok(()) => {
                if FAILING.swap(false, Ordering::Relaxed) {
                    log::info!("writeback: writing back works again");
                }
            }
            Err(error) => {
                if !FAILING.swap(true, Ordering::Relaxed) {
                    log::error!("writeback: writing back failed: {error}; changes stay in memory");
                }
            }
        }
    }
}
