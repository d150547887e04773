// SPDX-License-Identifier: MIT OR Apache-2.0
//! The AArch64 port: QEMU `virt` and machines like it.
//!
//! - [`boot`]: entry, early stack, boot translation table, hand-off;
//! - [`device_tree`]: the machine description;
//! - [`mmu`]: the kernel's translation tables;
//! - [`vectors`]: exception vectors and trap reports;
//! - [`gic`], [`timer`], [`uart`], [`psci`]: the devices every such machine has.

pub mod address_space;
pub mod boot;
pub mod device_tree;
pub mod gic;
pub mod mmu;
pub mod psci;
pub mod rtc;
pub mod thread;
pub mod timer;
pub mod uart;
pub mod user_mode;
pub mod vectors;

use crate::{Architecture, ExitStatus};
use aarch64_cpu::registers::DAIF;
use core::sync::atomic::{AtomicU32, Ordering};
use core::time::Duration;
use tock_registers::interfaces::{Readable, Writeable};

/// The AArch64 implementation of [`Architecture`].
pub struct Aarch64;

static CONSOLE_INTERRUPT: AtomicU32 = AtomicU32::new(u32::MAX);

/// The console UART's interrupt ID (or `u32::MAX` before it is known).
pub(crate) fn console_interrupt() -> u32 {
    CONSOLE_INTERRUPT.load(Ordering::Relaxed)
}

pub(crate) fn set_console_interrupt(id: u32) {
    CONSOLE_INTERRUPT.store(id, Ordering::Relaxed);
}

/// Masks interrupts; returns whether they were unmasked.
pub(crate) fn disable_interrupts_raw() -> bool {
    let were_enabled = !DAIF.is_set(DAIF::I);
    DAIF.write(DAIF::D::Masked + DAIF::A::Masked + DAIF::I::Masked + DAIF::F::Masked);
    were_enabled
}

/// Unmasks interrupts if `enabled`.
pub(crate) fn restore_interrupts_raw(enabled: bool) {
    if enabled {
        DAIF.write(DAIF::D::Masked + DAIF::A::Unmasked + DAIF::I::Unmasked + DAIF::F::Masked);
    }
}

impl Architecture for Aarch64 {
    const NAME: &'static str = "aarch64";
    const ELF_MACHINE: u16 = 183; // EM_AARCH64
    const ELF_RELATIVE_RELOCATION: u32 = 1027; // R_AARCH64_RELATIVE
    const ELF_IRELATIVE_RELOCATION: u32 = 1032; // R_AARCH64_IRELATIVE
    const ROOT_PARTITION_TYPE: [u8; 16] =
        partition_table::guid_bytes(0xb921_b045, 0x1df0, 0x41c3, 0xaf44, 0x4c6f_280d_3fae);

    fn console_write(bytes: &[u8]) {
        uart::write_bytes(bytes);
    }

    fn console_read_byte() -> Option<u8> {
        uart::read_byte()
    }

    fn console_input_ready() -> bool {
        uart::has_byte()
    }

    fn console_receive_interrupt(enabled: bool) {
        uart::set_receive_interrupt(enabled);
    }

    fn time_since_reset() -> Duration {
        timer::now()
    }

    fn start_tick(hz: u32) {
        timer::start(hz);
    }

    fn enable_interrupts() {
        DAIF.write(DAIF::D::Masked + DAIF::A::Unmasked + DAIF::I::Unmasked + DAIF::F::Masked);
    }

    fn disable_interrupts() -> bool {
        disable_interrupts_raw()
    }

    fn wait_for_interrupt() {
        aarch64_cpu::asm::wfi();
    }

    fn enable_device_interrupt(line: u32) {
        gic::enable(line);
    }

    fn power_off(status: ExitStatus) -> ! {
        psci::power_off(status)
    }
}
