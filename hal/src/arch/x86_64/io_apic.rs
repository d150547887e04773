// SPDX-License-Identifier: MIT OR Apache-2.0
//! The I/O APICs: where device interrupt lines (GSIs) become vectors.
//!
//! Each I/O APIC owns a range of Global System Interrupts starting at the
//! base the MADT gives it (`microvm` with ACPI has two: GSIs 0–23 and
//! 24–47; `q35` and `pc` one). Every line is programmed to arrive at vector
//! `DEVICE_VECTOR_BASE + gsi` on this CPU, masked until the kernel asks for
//! it with [`enable`]. ISA interrupts may be wired to another GSI, or with
//! another polarity or trigger, than their number says: the MADT's
//! interrupt source overrides tell (ACPI 6.5 §5.2.12.5; on QEMU, IRQ 0 is
//! GSI 2 and IRQ 9 is level-triggered).
//!
//! Registers are reached through an index (`IOREGSEL`, offset 0) and a
//! window (`IOWIN`, offset 0x10); redirection entry *n* is registers
//! `0x10 + 2n` (low half) and `0x11 + 2n` (high half). *Intel 82093AA I/O
//! APIC* datasheet, §3.1 and §3.2.4.

use super::firmware::{InterruptOverride, IoApicInfo, Polarity, Trigger};
use super::vectors::{DEVICE_VECTOR_BASE, DEVICE_VECTOR_END};
use super::{local_apic, mmu};
use crate::boot_info::FixedList;
use core::ptr::{read_volatile, write_volatile};
use core::sync::atomic::{AtomicU32, Ordering};
use spin::{Mutex, Once};

/// `IOREGSEL`: which register the window shows.
const REGISTER_SELECT: u64 = 0x00;
/// `IOWIN`: the selected register's value.
const REGISTER_WINDOW: u64 = 0x10;
/// `IOAPICVER`: version and maximum redirection entry.
const VERSION_REGISTER: u32 = 0x01;
/// `IOREDTBL0`: the first redirection entry's low half.
const REDIRECTION_BASE: u32 = 0x10;

// Redirection entry bits (low half).
/// Interrupt input pin polarity: asserted low.
const ACTIVE_LOW: u32 = 1 << 13;
/// Trigger mode: level (the line stays asserted until the device is served).
const LEVEL_TRIGGERED: u32 = 1 << 15;
/// Interrupt mask: the line is ignored.
const MASKED: u32 = 1 << 16;

/// The ISA IRQ of COM1.
const COM1_IRQ: u8 = 4;

/// One I/O APIC, mapped.
#[derive(Clone, Copy, Debug, Default)]
struct IoApic {
    /// Virtual address of its registers.
    base: u64,
    /// Its first GSI.
    gsi_base: u32,
    /// How many redirection entries it has.
    lines: u32,
}

impl IoApic {
    fn read(&self, register: u32) -> u32 {
        // SAFETY: `base` is this I/O APIC's register page, mapped uncached
        // by `init`; the select-then-window pair runs either in `init`,
        // before the `IoApic` is published, or under the `CONTROLLERS`
        // lock, so no other access changes the selection in between.
        unsafe {
            write_volatile((self.base + REGISTER_SELECT) as *mut u32, register);
            read_volatile((self.base + REGISTER_WINDOW) as *const u32)
        }
    }

    fn write(&self, register: u32, value: u32) {
        // SAFETY: as in `read`.
        unsafe {
            write_volatile((self.base + REGISTER_SELECT) as *mut u32, register);
            write_volatile((self.base + REGISTER_WINDOW) as *mut u32, value);
        }
    }

    fn covers(&self, gsi: u32) -> bool {
        gsi >= self.gsi_base && gsi - self.gsi_base < self.lines
    }

    /// Programs redirection entry `index`.
    fn route(&self, index: u32, low: u32, destination: u8) {
        let register = REDIRECTION_BASE + 2 * index;
        // Mask first, then set the destination, then the final low half,
        // so the entry is never live half-written.
        self.write(register, MASKED);
        self.write(register + 1, u32::from(destination) << 24);
        self.write(register, low);
    }
}

/// Everything the interrupt routing needs, behind one lock: the lock also
/// keeps each select-then-access register pair atomic.
struct Controllers {
    io_apics: FixedList<IoApic, 4>,
    overrides: FixedList<InterruptOverride, 16>,
}

static CONTROLLERS: Once<Mutex<Controllers>> = Once::new();

/// The console's GSI (`u32::MAX` until known).
static CONSOLE_LINE: AtomicU32 = AtomicU32::new(u32::MAX);

/// Maps every I/O APIC, masks all its lines, and records the overrides.
pub fn init(io_apics: &[IoApicInfo], overrides: &[InterruptOverride]) {
    let mut controllers = Controllers {
        io_apics: FixedList::new(),
        overrides: FixedList::new(),
    };
    for info in io_apics {
        let base = mmu::map_device(info.address, 0x1000);
        if base == 0 {
            continue;
        }
        // The MADT gives address and first GSI; the chip itself says how
        // many lines it has. Every line is masked before anything can
        // be enabled, whatever the firmware left programmed.
        let mut io_apic = IoApic {
            base,
            gsi_base: info.gsi_base,
            lines: 0,
        };
        // Maximum redirection entry, bits 16–23 of the version register.
        io_apic.lines = ((io_apic.read(VERSION_REGISTER) >> 16) & 0xff) + 1;
        for index in 0..io_apic.lines {
            io_apic.route(index, MASKED, 0);
        }
        controllers.io_apics.push(io_apic);
    }
    for entry in overrides {
        controllers.overrides.push(*entry);
    }
    CONTROLLERS.call_once(|| Mutex::new(controllers));
    CONSOLE_LINE.store(isa_line(COM1_IRQ), Ordering::Relaxed);
}

/// The GSI an ISA IRQ arrives on: the override's, or the IRQ number
/// itself (ISA IRQs are identity-mapped onto the first I/O APIC's lines
/// unless the MADT says otherwise, ACPI 6.5 §5.2.12.5).
pub fn isa_line(irq: u8) -> u32 {
    let Some(controllers) = CONTROLLERS.get() else {
        return u32::from(irq);
    };
    let controllers = controllers.lock();
    controllers
        .overrides
        .as_slice()
        .iter()
        .find(|entry| entry.isa_irq == irq)
        .map(|entry| entry.gsi)
        .unwrap_or(u32::from(irq))
}

/// The console UART's GSI, once known.
pub fn console_line() -> Option<u32> {
    match CONSOLE_LINE.load(Ordering::Relaxed) {
        u32::MAX => None,
        line => Some(line),
    }
}

/// Unmasks GSI `gsi`, delivered to this CPU at `DEVICE_VECTOR_BASE + gsi`.
///
/// Trigger mode and polarity: an override's if one targets the line; ISA
/// defaults (edge, active high) for the sixteen ISA lines; level and
/// active high above them, which is how QEMU wires virtio-mmio and PCI
/// INTx lines (and what its ACPI tables declare). Lines beyond the vector
/// space or any I/O APIC are ignored.
pub fn enable(gsi: u32) {
    let vector = u32::from(DEVICE_VECTOR_BASE) + gsi;
    if vector >= u32::from(DEVICE_VECTOR_END) {
        return;
    }
    let Some(controllers) = CONTROLLERS.get() else {
        return;
    };
    let controllers = controllers.lock();
    let (trigger, polarity) = match controllers
        .overrides
        .as_slice()
        .iter()
        .find(|entry| entry.gsi == gsi)
    {
        Some(entry) => (entry.trigger, entry.polarity),
        None if gsi < 16 => (Trigger::Edge, Polarity::ActiveHigh),
        None => (Trigger::Level, Polarity::ActiveHigh),
    };
    // Fixed delivery (000) to one CPU in physical destination mode (bit
    // 11 clear), the vector in bits 0–7 (82093AA datasheet §3.2.4).
    let mut low = vector;
    if trigger == Trigger::Level {
        low |= LEVEL_TRIGGERED;
    }
    if polarity == Polarity::ActiveLow {
        low |= ACTIVE_LOW;
    }
    if let Some(io_apic) = controllers
        .io_apics
        .as_slice()
        .iter()
        .find(|io_apic| io_apic.covers(gsi))
    {
        io_apic.route(gsi - io_apic.gsi_base, low, local_apic::id());
    }
}
