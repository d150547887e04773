// SPDX-License-Identifier: MIT OR Apache-2.0
//! The local APIC: this CPU's interrupt acceptor and its timer.
//!
//! Used in xAPIC mode, through its 4 KiB register page (physical address
//! from the `IA32_APIC_BASE` MSR, normally `0xfee0_0000`), mapped uncached
//! by [`super::mmu::map_device`]. Register offsets and bits: *Intel SDM*
//! Vol. 3A §11.4 (enabling), §11.5.4 (timer), §11.8.5 (end of interrupt),
//! §11.9 (spurious vector), Table 11-1 (register map).

use super::mmu;
use super::vectors::{SPURIOUS_VECTOR, TIMER_VECTOR};
use core::ptr::{read_volatile, write_volatile};
use core::sync::atomic::{AtomicU64, Ordering};
use x86_64::registers::model_specific::Msr;

// Register offsets (SDM Vol. 3A, Table 11-1).
/// Local APIC ID: bits 24–31 in xAPIC mode.
const ID: u64 = 0x020;
/// Task priority: interrupts of a lower priority class are held back.
const TASK_PRIORITY: u64 = 0x080;
/// End of interrupt: any write retires the in-service interrupt.
const END_OF_INTERRUPT: u64 = 0x0b0;
/// Spurious-interrupt vector and the APIC software-enable bit.
const SPURIOUS: u64 = 0x0f0;
/// Local vector table: the timer's entry.
const LVT_TIMER: u64 = 0x320;
/// Local vector table: LINT0 (where the 8259's output arrives).
const LVT_LINT0: u64 = 0x350;
/// Local vector table: LINT1 (usually NMI).
const LVT_LINT1: u64 = 0x360;
/// Local vector table: APIC internal errors.
const LVT_ERROR: u64 = 0x370;
/// Timer: the count loaded at start and at each period.
const TIMER_INITIAL_COUNT: u64 = 0x380;
/// Timer: the count now (read-only).
const TIMER_CURRENT_COUNT: u64 = 0x390;
/// Timer: the divider applied to the bus clock.
const TIMER_DIVIDE: u64 = 0x3e0;

/// `IA32_APIC_BASE` (Intel SDM Vol. 4, MSR 0x1b): base in bits 12+, global
/// enable in bit 11.
const APIC_BASE_MSR: u32 = 0x1b;
const APIC_GLOBAL_ENABLE: u64 = 1 << 11;

/// Local vector table bits.
const LVT_MASKED: u32 = 1 << 16;
const LVT_TIMER_PERIODIC: u32 = 1 << 17;
/// Spurious-vector register: APIC software enable.
const SOFTWARE_ENABLE: u32 = 1 << 8;
/// Timer divide configuration for "divide by 16" (Figure 11-10).
const DIVIDE_BY_16: u32 = 0b0011;

/// Virtual address of the register page (0 until [`init`]).
static BASE: AtomicU64 = AtomicU64::new(0);

fn read(offset: u64) -> u32 {
    let base = BASE.load(Ordering::Relaxed);
    if base == 0 {
        return 0;
    }
    // SAFETY: `base` is the APIC's register page, mapped as uncached
    // device memory by `init` for the kernel's life; registers are 32-bit
    // and 16-byte aligned, and `offset` is one of the constants above.
    unsafe { read_volatile((base + offset) as *const u32) }
}

fn write(offset: u64, value: u32) {
    let base = BASE.load(Ordering::Relaxed);
    if base == 0 {
        return;
    }
    // SAFETY: as in `read`.
    unsafe { write_volatile((base + offset) as *mut u32, value) }
}

/// Maps and software-enables the local APIC, with every local interrupt
/// source masked and the task priority at 0 (accept everything).
/// `physical_from_firmware` is the MADT's address, used only if the MSR
/// cannot be read sensibly.
pub fn init(physical_from_firmware: u64) {
    let mut base_msr = Msr::new(APIC_BASE_MSR);
    // SAFETY: IA32_APIC_BASE exists on every CPU with an APIC (CPUID.1:EDX
    // bit 9, which every x86_64 CPU has); reading it has no side effects.
    let value = unsafe { base_msr.read() };
    let mut physical = value & 0x000f_ffff_ffff_f000;
    if physical == 0 {
        physical = physical_from_firmware;
    }
    if value & APIC_GLOBAL_ENABLE == 0 {
        // SAFETY: setting the global-enable bit with the same base only
        // turns the APIC on (after reset it is on anyway).
        unsafe { base_msr.write(value | APIC_GLOBAL_ENABLE) };
    }
    BASE.store(mmu::map_device(physical, 0x1000), Ordering::Relaxed);
    write(TASK_PRIORITY, 0);
    write(LVT_TIMER, LVT_MASKED);
    write(LVT_LINT0, LVT_MASKED);
    write(LVT_LINT1, LVT_MASKED);
    write(LVT_ERROR, LVT_MASKED);
    write(SPURIOUS, SOFTWARE_ENABLE | u32::from(SPURIOUS_VECTOR));
    end_of_interrupt();
}

/// This CPU's APIC ID (bits 24–31 of the ID register), the destination
/// the I/O APIC sends device interrupts to.
pub fn id() -> u8 {
    (read(ID) >> 24) as u8
}

/// Signals the end of the interrupt being handled.
pub fn end_of_interrupt() {
    write(END_OF_INTERRUPT, 0);
}

/// Starts the timer counting down from `u32::MAX`, masked, one-shot, for
/// calibration; [`timer_count`] then tells how far it got.
pub fn start_calibration_count() {
    write(TIMER_DIVIDE, DIVIDE_BY_16);
    write(LVT_TIMER, LVT_MASKED | u32::from(TIMER_VECTOR));
    write(TIMER_INITIAL_COUNT, u32::MAX);
}

/// The timer's current count.
pub fn timer_count() -> u32 {
    read(TIMER_CURRENT_COUNT)
}

/// Starts the periodic timer: an interrupt at [`TIMER_VECTOR`] every
/// `count` timer ticks (the bus clock divided by 16).
pub fn start_periodic(count: u32) {
    write(TIMER_DIVIDE, DIVIDE_BY_16);
    write(LVT_TIMER, LVT_TIMER_PERIODIC | u32::from(TIMER_VECTOR));
    write(TIMER_INITIAL_COUNT, count.max(1));
}
