// SPDX-License-Identifier: MIT OR Apache-2.0
//! Manux hardware abstraction layer: the one crate allowed to be `unsafe`.
//!
//! Everything that touches the machine directly lives here: the boot entry,
//! exception vectors, page tables, the interrupt controller, the timer, the
//! console UART, power-off, and the glue that lets `virtio-drivers` do DMA.
//! The architecture-neutral kernel (`kernel/`) sees only the safe API below
//! and the [`Architecture`] trait that each supported architecture implements.
//!
//! # Design principles
//! - **One architecture, chosen once.** [`arch`] selects AArch64 or x86_64
//!   with a single `cfg`; any other target stops with `compile_error!`. The
//!   contract between `hal/` and `kernel/` is the [`Architecture`] trait, so
//!   the compiler (not a convention) checks that both ports offer the same
//!   operations.
//! - **Every `unsafe` has a written proof.** Each `unsafe` block carries a
//!   `// SAFETY:` comment; `unsafe fn`s list their obligations under
//!   `# Safety`. `unsafe_op_in_unsafe_fn` is forbidden so obligations never
//!   hide inside an `unsafe fn` body.
//! - **No callbacks into unknown code.** The kernel hands `hal/` plain function
//!   pointers at start-up ([`set_interrupt_handler`]); `hal/` never names the
//!   kernel's types.
//! - **Boot information is neutral.** Whatever the firmware hands over (a
//!   device tree on AArch64, PVH start info on x86_64) is turned into one
//!   [`BootInfo`] before the kernel runs.
#![no_std]
#![allow(unsafe_code, reason = "hal/ is where the kernel's unsafe code lives")]
#![forbid(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]
#![deny(missing_docs)]

extern crate alloc;

mod arch;
pub mod boot_info;
pub mod console;
pub mod diagnostics;
mod entry;
pub mod frames;
pub mod heap;
pub mod interrupts;
mod page_table;
mod panic;
mod pci;
pub mod time_of_day;
pub mod user;
pub mod virtio;

#[cfg(target_arch = "x86_64")]
pub use arch::initial_fx_state;
pub(crate) use arch::AddressSpace;
pub use arch::{switch_thread, KernelThread, SignalRegisters, UserContext};

/// Bytes of kernel heap each kernel thread's stack takes.
pub fn thread_stack_size() -> usize {
    arch::KERNEL_STACK_SIZE
}
pub use boot_info::{BootInfo, MemoryRange, VirtioMmioSlot};
pub use interrupts::{set_interrupt_handler, InterruptNumber};

use core::time::Duration;

/// The architecture this kernel was built for.
pub type Arch = arch::Current;

/// How the machine should end when the kernel powers off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// A clean shutdown: QEMU exits with status 0.
    Success,
    /// A failure (a kernel panic, a failed self-test, a non-zero init
    /// status): QEMU exits non-zero where the machine lets the guest choose
    /// its exit status, and in every case the console says why.
    Failure(u8),
}

/// The operations every architecture port provides to the kernel.
///
/// All methods are associated functions: there is exactly one CPU
/// architecture in a running kernel, so there is nothing to hold an instance
/// of. The kernel calls them through the [`Arch`] alias.
pub trait Architecture {
    /// A short name printed in the boot banner (`aarch64`, `x86_64`).
    const NAME: &'static str;

    /// The ELF `e_machine` of programs for this CPU.
    const ELF_MACHINE: u16;

    /// The ELF relocation type "base + addend" (`R_*_RELATIVE`), the only
    /// one a static position-independent program needs.
    const ELF_RELATIVE_RELOCATION: u32;

    /// The ELF relocation type of an indirect function
    /// (`R_*_IRELATIVE`), which glibc's static-PIE start code applies
    /// itself: the loader accepts and skips it.
    const ELF_IRELATIVE_RELOCATION: u32;

    /// The root partition type GUID of the Discoverable Partitions
    /// Specification for this CPU ("Linux root (ARM-64)", "Linux root
    /// (x86-64)"), in a GPT's on-disk byte order
    /// ([`partition_table::guid_bytes`]): the kernel
    /// mounts the partition of this type.
    const ROOT_PARTITION_TYPE: [u8; 16];

    /// Writes bytes to the boot console (the machine's first UART).
    /// Line feeds are written as CR LF so terminals show lines.
    fn console_write(bytes: &[u8]);

    /// Takes one byte from the console's receiver, if one is waiting.
    fn console_read_byte() -> Option<u8>;

    /// Whether the console's receiver holds a byte.
    fn console_input_ready() -> bool;

    /// Unmasks (`true`) or masks (`false`) the console's receive
    /// interrupt. Masked, received bytes wait in the UART's FIFO and, once
    /// it is full, with the sender (QEMU's character device stops reading
    /// its host side): nothing is lost and no interrupt repeats. Unmasking
    /// while bytes wait is not guaranteed to interrupt on every UART (the
    /// PL011's receive-timeout status is not raised again): the caller
    /// drains the receiver first.
    fn console_receive_interrupt(enabled: bool);

    /// Time since the machine was reset, from the architecture's free-running
    /// counter (AArch64 generic timer, x86_64 TSC calibrated at boot).
    fn time_since_reset() -> Duration;

    /// Starts the periodic timer tick, `hz` times a second. Each tick arrives
    /// at the interrupt handler as [`InterruptNumber::TimerTick`].
    fn start_tick(hz: u32);

    /// Allows interrupts on this CPU.
    fn enable_interrupts();

    /// Masks interrupts on this CPU; returns whether they were enabled.
    fn disable_interrupts() -> bool;

    /// Waits for the next interrupt (low-power idle).
    fn wait_for_interrupt();

    /// Enables delivery of a device interrupt line (a virtio-mmio slot's
    /// interrupt, say) to the handler.
    fn enable_device_interrupt(line: u32);

    /// Powers the machine off. Never returns.
    fn power_off(status: ExitStatus) -> !;
}

/// Checked at compile time: the selected architecture implements the
/// contract (a missing method is a build error, not a link error).
const _: () = {
    const fn implements<A: Architecture, S: user::UserAddressSpace, R: user::UserRegisters>() {}
    implements::<Arch, AddressSpace, UserContext>()
};
