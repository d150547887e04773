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
//! - [`address_space`], [`user_mode`], [`thread`]: processes — their page
//!   tables and PCIDs, ring 3 entry and exit (`syscall`, traps), kernel
//!   threads and switching between them;
//! - [`serial`], [`local_apic`], [`io_apic`], [`pic`], [`timer`],
//!   [`power`]: the devices every such machine has.
//!
//! The contract with the kernel is [`crate::Architecture`], implemented by
//! [`X86_64`] below exactly as the AArch64 port implements it.

pub mod address_space;
pub mod boot;
pub mod firmware;
pub mod gdt;
pub mod io_apic;
pub mod local_apic;
pub mod mmu;
pub mod pic;
pub mod power;
pub mod pvh;
pub mod rtc;
pub mod serial;
pub mod stacks;
pub mod thread;
pub mod timer;
pub mod user_mode;
pub mod vectors;

use crate::{Architecture, ExitStatus};
use core::time::Duration;
use x86_64::instructions::interrupts;

/// The x86_64 implementation of [`Architecture`].
pub struct X86_64;

/// Masks interrupts; returns whether they were enabled.
pub(crate) fn disable_interrupts_raw() -> bool {
    let were_enabled = interrupts::are_enabled();
    interrupts::disable();
    were_enabled
}

/// Enables interrupts if `enabled`.
pub(crate) fn restore_interrupts_raw(enabled: bool) {
    if enabled {
        interrupts::enable();
    }
}

impl Architecture for X86_64 {
    const NAME: &'static str = "x86_64";
    const ELF_MACHINE: u16 = 62; // EM_X86_64
    const ELF_RELATIVE_RELOCATION: u32 = 8; // R_X86_64_RELATIVE
    const ELF_IRELATIVE_RELOCATION: u32 = 37; // R_X86_64_IRELATIVE
    const ROOT_PARTITION_TYPE: [u8; 16] =
        partition_table::guid_bytes(0x4f68_bce3, 0xe8cd, 0x4db1, 0x96e7, 0xfbca_f984_b709);

    fn console_write(bytes: &[u8]) {
        serial::write_bytes(bytes);
    }

    fn console_read_byte() -> Option<u8> {
        serial::read_byte()
    }

    fn console_input_ready() -> bool {
        serial::has_byte()
    }

    fn console_receive_interrupt(enabled: bool) {
        serial::set_receive_interrupt(enabled);
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
        disable_interrupts_raw()
    }

    fn wait_for_interrupt() {
        // `hlt` resumes after the next interrupt (Intel SDM Vol. 2A, HLT),
        // but a masked one never wakes it, unlike AArch64's `wfi`. The
        // kernel idles with interrupts masked (check, then wait, so no
        // wake-up is lost), so then: `sti; hlt` — `sti` delays interrupts
        // until after the next instruction (Vol. 2B, STI), so one pending
        // at the check wakes the `hlt` rather than slipping in before it —
        // and mask again. The difference from AArch64: the interrupt is
        // taken (its handler runs) here, not when the caller unmasks.
        if interrupts::are_enabled() {
            x86_64::instructions::hlt();
        } else {
            // SAFETY: enables interrupts for exactly the `hlt`; the
            // handler that runs is the one the kernel would run anyway as
            // soon as it unmasks, and it does not switch threads. No
            // memory is touched.
            unsafe { core::arch::asm!("sti", "hlt", "cli", options(nomem, nostack)) };
        }
    }

    fn enable_device_interrupt(line: u32) {
        io_apic::enable(line);
    }

    fn power_off(status: ExitStatus) -> ! {
        power::power_off(status)
    }
}
