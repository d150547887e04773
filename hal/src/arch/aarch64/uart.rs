// SPDX-License-Identifier: MIT OR Apache-2.0
//! The PL011 UART: the console on QEMU `virt` and on Arm cloud machines.
//!
//! Register layout from the *ARM PrimeCell UART (PL011) Technical Reference
//! Manual* (DDI 0183), §3.2. QEMU's model needs no baud-rate set-up, and
//! firmware that ran before us already configured real hardware, so this
//! driver only enables (and masks) the receiver interrupts, reads and writes.
//!
//! The receive (RX) and receive-timeout (RT) interrupts are levels: the
//! raw status (UARTRIS) is set by the FIFO reaching its trigger level or
//! by data sitting in it, and the line to the GIC is the raw status ANDed
//! with the mask (UARTIMSC) (TRM §3.3.10–3.3.12). Clearing a bit of
//! UARTIMSC therefore drops the line at once, whatever the FIFO holds: the
//! kernel does that when its input buffer is full, so the FIFO fills and
//! the sender waits (QEMU's character device stops reading its host side
//! while the FIFO is full). The raw status cleared through UARTICR is not
//! raised again by the bytes already in the FIFO (RT is set only by a
//! timeout after a byte arrives), so unmasking with data waiting is not
//! guaranteed to interrupt: the kernel drains the FIFO itself before it
//! unmasks.

use super::boot::LINEAR_OFFSET;
use crate::boot_info::MemoryRange;
use core::sync::atomic::{AtomicU64, Ordering};
use tock_registers::interfaces::{ReadWriteable, Readable, Writeable};
use tock_registers::register_bitfields;
use tock_registers::register_structs;
use tock_registers::registers::{ReadOnly, ReadWrite, WriteOnly};

register_bitfields! [u32,
    Flag [
        /// Transmit FIFO full.
        TXFF OFFSET(5) NUMBITS(1) [],
        /// Receive FIFO empty.
        RXFE OFFSET(4) NUMBITS(1) []
    ],
    Interrupt [
        /// Receive timeout.
        RT OFFSET(6) NUMBITS(1) [],
        /// Receive.
        RX OFFSET(4) NUMBITS(1) []
    ]
];

register_structs! {
    Pl011Registers {
        (0x000 => data: ReadWrite<u32>),
        (0x004 => _reserved0),
        (0x018 => flag: ReadOnly<u32, Flag::Register>),
        (0x01c => _reserved1),
        (0x038 => interrupt_mask: ReadWrite<u32, Interrupt::Register>),
        (0x03c => _reserved2),
        (0x044 => interrupt_clear: WriteOnly<u32, Interrupt::Register>),
        (0x048 => @END),
    }
}

/// Physical address of the console's registers (0 until [`init`]).
static PHYSICAL: AtomicU64 = AtomicU64::new(0);
/// Virtual address they are reached at (changes once, at [`remap`]).
static VIRTUAL: AtomicU64 = AtomicU64::new(0);

/// Selects the console UART. Until [`remap`], it is reached through the
/// boot table's device block at `LINEAR_OFFSET`.
pub fn init(registers: MemoryRange) {
    PHYSICAL.store(registers.start, Ordering::Relaxed);
    VIRTUAL.store(registers.start + LINEAR_OFFSET, Ordering::Relaxed);
}

/// Re-maps the registers into the final kernel table.
pub fn remap() {
    let physical = PHYSICAL.load(Ordering::Relaxed);
    if physical != 0 {
        let virtual_address = super::mmu::map_device(physical, 0x1000);
        VIRTUAL.store(virtual_address, Ordering::Relaxed);
    }
}

fn registers() -> Option<&'static Pl011Registers> {
    let address = VIRTUAL.load(Ordering::Relaxed);
    if address == 0 {
        return None;
    }
    // SAFETY: `address` is the UART's register block mapped as device
    // memory (by the boot table, then by `remap`), valid for the kernel's
    // life; tock-registers accesses are volatile.
    Some(unsafe { &*(address as *const Pl011Registers) })
}

/// Writes bytes, turning `\n` into `\r\n`. Spins while the FIFO is full.
pub fn write_bytes(bytes: &[u8]) {
    let Some(uart) = registers() else { return };
    for &byte in bytes {
        if byte == b'\n' {
            put(uart, b'\r');
        }
        put(uart, byte);
    }
}

fn put(uart: &Pl011Registers, byte: u8) {
    while uart.flag.is_set(Flag::TXFF) {
        core::hint::spin_loop();
    }
    uart.data.set(u32::from(byte));
}

/// Whether a received byte is waiting.
pub fn has_byte() -> bool {
    registers().is_some_and(|uart| !uart.flag.is_set(Flag::RXFE))
}

/// Takes one received byte, if any.
pub fn read_byte() -> Option<u8> {
    let uart = registers()?;
    if uart.flag.is_set(Flag::RXFE) {
        None
    } else {
        Some(uart.data.get() as u8)
    }
}

/// Enables the receive and receive-timeout interrupts.
pub fn enable_receive_interrupt() {
    set_receive_interrupt(true);
}

/// Unmasks (`true`) or masks (`false`) the receive and receive-timeout
/// interrupts in UARTIMSC, leaving its other bits alone. Masked, the
/// interrupt line drops at once (it is the raw status ANDed with the
/// mask); received bytes stay in the FIFO.
pub fn set_receive_interrupt(enabled: bool) {
    if let Some(uart) = registers() {
        if enabled {
            uart.interrupt_mask
                .modify(Interrupt::RX::SET + Interrupt::RT::SET);
        } else {
            uart.interrupt_mask
                .modify(Interrupt::RX::CLEAR + Interrupt::RT::CLEAR);
        }
    }
}

/// Clears the receive interrupts (after draining the FIFO).
pub fn clear_receive_interrupt() {
    if let Some(uart) = registers() {
        uart.interrupt_clear
            .write(Interrupt::RX::SET + Interrupt::RT::SET);
    }
}
