// SPDX-License-Identifier: MIT OR Apache-2.0
//! Delivering interrupts to the kernel.
//!
//! The architecture's vector code acknowledges an interrupt at the
//! controller, turns it into an [`InterruptNumber`], calls the kernel's
//! handler (registered once with [`set_interrupt_handler`]) and signals end
//! of interrupt. The handler runs with interrupts masked and must not block.

use spin::Once;

/// An interrupt, as the kernel sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InterruptNumber {
    /// The periodic tick started by [`crate::Architecture::start_tick`].
    TimerTick,
    /// The console UART has received data.
    ConsoleReceive,
    /// A device line, numbered as in [`crate::VirtioMmioSlot::interrupt`].
    Device(u32),
}

static HANDLER: Once<fn(InterruptNumber)> = Once::new();

/// Registers the kernel's interrupt handler. Only the first call counts.
pub fn set_interrupt_handler(handler: fn(InterruptNumber)) {
    HANDLER.call_once(|| handler);
}

/// Called by the architecture's vector code.
pub(crate) fn dispatch(number: InterruptNumber) {
    if let Some(handler) = HANDLER.get() {
        handler(number);
    }
}
