// SPDX-License-Identifier: MIT OR Apache-2.0
//! The Arm generic timer: the clock since reset and the periodic tick.
//!
//! `CNTVCT_EL0` counts at `CNTFRQ_EL0` Hz from machine reset (QEMU starts
//! the virtual counter at 0 when the machine starts), so it is the clock
//! for "time since reset". The tick uses the EL1 virtual timer
//! (`CNTV_*_EL0`), whose interrupt ID comes from the device tree; each
//! interrupt re-arms the next one with `CNTV_TVAL_EL0`.
//! (*Arm Architecture Reference Manual*, D11 "The Generic Timer".)

use aarch64_cpu::registers::{CNTFRQ_EL0, CNTVCT_EL0, CNTV_CTL_EL0, CNTV_TVAL_EL0};
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use core::time::Duration;
use tock_registers::interfaces::{Readable, Writeable};

static INTERRUPT: AtomicU32 = AtomicU32::new(0);
static TICKS_PER_PERIOD: AtomicU64 = AtomicU64::new(0);

/// Records the timer's interrupt ID.
pub fn init(interrupt: u32) {
    INTERRUPT.store(interrupt, Ordering::Relaxed);
}

/// The timer's interrupt ID.
pub fn interrupt() -> u32 {
    INTERRUPT.load(Ordering::Relaxed)
}

/// Time since reset.
pub fn now() -> Duration {
    let frequency = CNTFRQ_EL0.get().max(1);
    let count = CNTVCT_EL0.get();
    let seconds = count / frequency;
    let remainder = count % frequency;
    Duration::new(
        seconds,
        ((u128::from(remainder) * 1_000_000_000) / u128::from(frequency)) as u32,
    )
}

/// Starts a tick of `hz` interrupts a second.
pub fn start(hz: u32) {
    let period = CNTFRQ_EL0.get() / u64::from(hz.max(1));
    TICKS_PER_PERIOD.store(period, Ordering::Relaxed);
    super::gic::enable(interrupt());
    CNTV_TVAL_EL0.set(period);
    CNTV_CTL_EL0.write(CNTV_CTL_EL0::ENABLE::SET + CNTV_CTL_EL0::IMASK::CLEAR);
}

/// Re-arms the timer for the next tick (called from the interrupt).
pub fn rearm() {
    CNTV_TVAL_EL0.set(TICKS_PER_PERIOD.load(Ordering::Relaxed));
}
