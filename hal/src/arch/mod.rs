// SPDX-License-Identifier: MIT OR Apache-2.0
//! The architecture ports. Exactly one is compiled, chosen here and only here.

#[cfg(target_arch = "aarch64")]
pub mod aarch64;
#[cfg(target_arch = "aarch64")]
pub use aarch64::{
    address_space::AddressSpace,
    thread::{switch as switch_thread, KernelThread, KERNEL_STACK_SIZE},
    user_mode::{SignalRegisters, UserContext},
    Aarch64 as Current,
};

#[cfg(target_arch = "x86_64")]
pub mod x86_64;
#[cfg(target_arch = "x86_64")]
pub use x86_64::{
    address_space::AddressSpace,
    thread::{switch as switch_thread, KernelThread, KERNEL_STACK_SIZE},
    user_mode::{initial_fx_state, SignalRegisters, UserContext},
    X86_64 as Current,
};

#[cfg(not(any(target_arch = "aarch64", target_arch = "x86_64")))]
compile_error!("Manux runs on aarch64 and x86_64 only");

/// The port's kernel memory map, as the rest of `hal/` uses it. Each port's
/// `mmu` module provides `map_device(physical, size) -> virtual`,
/// `virtual_to_physical(virtual) -> Option<physical>` and
/// `physical_to_virtual(physical) -> virtual` (the direct map).
#[cfg(target_arch = "aarch64")]
pub(crate) use aarch64::mmu;
#[cfg(target_arch = "x86_64")]
pub(crate) use x86_64::mmu;
