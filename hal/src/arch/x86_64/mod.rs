// SPDX-License-Identifier: MIT OR Apache-2.0
//! The x86_64 port: QEMU `microvm`, `q35` and `pc`, booted through PVH.
//!
//! QEMU's `-kernel` finds the PVH entry note in the kernel ELF itself and
//! enters it in 32-bit protected mode with a pointer to `hvm_start_info`
//! (Xen's `arch-x86/hvm/start_info.h`, the "PVH boot ABI"). From there:
//! - [`boot`]: the 32-bit entry, long mode, the boot page tables, and the
//!   order in which everything below is brought up;
//! - [`pvh`]: the start info — memory map, command line, RSDP;
//! - [`firmware`]: the ACPI tables — PCI ECAM (MCFG), I/O APICs and
//!   interrupt overrides (MADT), power-off registers (FADT);
//! - [`stacks`], [`gdt`], [`vectors`]: the boot stack and the separate
//!   fault stacks, segments and TSS, the IDT with its entry stubs and the
//!   exception reports;
//! - [`mmu`]: the kernel's page tables;
//! - [`serial`], [`local_apic`], [`io_apic`], [`pic`], [`timer`],
//!   [`power`]: the devices every such machine has.
//!
//! The contract with the kernel is [`crate::Architecture`], implemented by
//! [`X86_64`] below exactly as the AArch64 port implements it.

pub mod boot;
pub mod firmware;
pub mod gdt;
pub mod io_apic;
pub mod local_apic;
pub mod mmu;
pub mod pic;
pub mod power;
pub mod pvh;
pub mod serial;
pub mod stacks;
pub mod timer;
pub mod vectors;

use crate::{Architecture, ExitStatus};
use core::time::Duration;
use x86_64::instructions::interrupts;

/// The x86_64 implementation of [`Architecture`].
pub struct X86_64;

impl Architecture for X86_64 {
    const NAME: &'static str = "x86_64";

    fn console_write(bytes: &[u8]) {
        serial::write_bytes(bytes);
    }

    fn console_read_byte() -> Option<u8> {
        serial::read_byte()
    }

    fn time_since_reset() -> Duration {
        timer::now()
    }

    fn start_tick(hz: u32) {
        timer::start(hz);
    }

    fn enable_interrupts() {
        interrupts::enable();
    }

    fn disable_interrupts() -> bool {
        let were_enabled = interrupts::are_enabled();
        interrupts::disable();
        were_enabled
    }

    fn wait_for_interrupt() {
        // `hlt` resumes after the next interrupt (Intel SDM Vol. 2A, HLT).
        // It is only reached with interrupts enabled in practice: the
        // kernel idles after `enable_interrupts`.
        x86_64::instructions::hlt();
    }

    fn enable_device_interrupt(line: u32) {
        io_apic::enable(line);
    }

    fn power_off(status: ExitStatus) -> ! {
        power::power_off(status)
    }
}
