// SPDX-License-Identifier: MIT OR Apache-2.0
//! The periodic tick and the kernel's interrupt dispatcher.
//!
//! `hal/` delivers every interrupt to [`handle_interrupt`]; this module
//! counts timer ticks (the scheduler will hang off them) and forwards
//! console and device interrupts to their drivers.

use core::sync::atomic::{AtomicU64, Ordering};
use hal::{Arch, Architecture, InterruptNumber};

static TICKS: AtomicU64 = AtomicU64::new(0);

/// Starts the tick at `hz` and enables interrupts.
pub fn start(hz: u32) {
    hal::set_interrupt_handler(handle_interrupt);
    Arch::start_tick(hz);
    Arch::enable_interrupts();
}

/// Ticks since [`start`].
pub fn ticks() -> u64 {
    TICKS.load(Ordering::Relaxed)
}

fn handle_interrupt(number: InterruptNumber) {
    match number {
        InterruptNumber::TimerTick => {
            TICKS.fetch_add(1, Ordering::Relaxed);
            crate::process::wake_sleepers();
        }
        InterruptNumber::ConsoleReceive => crate::console::receive_interrupt(),
        InterruptNumber::Device(_) => {}
    }
}
