// SPDX-License-Identifier: MIT OR Apache-2.0
//! The legacy 8259A interrupt controllers: remapped, then masked for good.
//!
//! Manux takes interrupts through the local APIC and the I/O APIC only.
//! The two cascaded 8259As still exist on `pc`, `q35` and (by default)
//! `microvm`, and after reset they deliver IRQ 0–7 at vectors 8–15, on top
//! of the CPU's exceptions. They are therefore re-initialised to vectors
//! [`LEGACY_PIC_VECTOR_BASE`]`..+16` and every line masked; a spurious
//! IRQ 7 or 15, which a masked 8259 can still raise, then lands on a vector
//! the dispatcher ignores. Initialisation sequence (ICW1–ICW4): *Intel
//! 8259A Programmable Interrupt Controller* datasheet, "Programming the
//! 8259A". On a machine without them the writes go nowhere.

use super::vectors::LEGACY_PIC_VECTOR_BASE;
use x86_64::instructions::port::Port;

const MASTER_COMMAND: u16 = 0x20;
const MASTER_DATA: u16 = 0x21;
const SLAVE_COMMAND: u16 = 0xa0;
const SLAVE_DATA: u16 = 0xa1;

fn write(port: u16, value: u8) {
    let mut port = Port::<u8>::new(port);
    // SAFETY: the 8259A command and data ports affect only the interrupt
    // controllers, which nothing else in Manux uses.
    unsafe { port.write(value) }
}

/// Remaps both controllers away from the exception vectors and masks
/// every line.
pub fn disable() {
    write(MASTER_COMMAND, 0x11); // ICW1: edge, cascade, ICW4 follows
    write(SLAVE_COMMAND, 0x11);
    write(MASTER_DATA, LEGACY_PIC_VECTOR_BASE); // ICW2: vector base
    write(SLAVE_DATA, LEGACY_PIC_VECTOR_BASE + 8);
    write(MASTER_DATA, 0x04); // ICW3: slave on IRQ 2
    write(SLAVE_DATA, 0x02); // ICW3: slave identity 2
    write(MASTER_DATA, 0x01); // ICW4: 8086 mode
    write(SLAVE_DATA, 0x01);
    write(MASTER_DATA, 0xff); // OCW1: mask all
    write(SLAVE_DATA, 0xff);
}
