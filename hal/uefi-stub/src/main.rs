// SPDX-License-Identifier: MIT OR Apache-2.0
//! Manux's UEFI boot program: the kernel, made bootable from UEFI firmware.
//!
//! A cloud image's EFI system partition holds this program at the
//! removable-media path (`EFI/BOOT/BOOTAA64.EFI`, `EFI/BOOT/BOOTX64.EFI`).
//! It carries the very kernel ELF that QEMU's `-kernel` boots (the xtask
//! names it in `MANUX_UEFI_KERNEL`) and enters it the way that boot does,
//! so the kernel has one boot path per architecture, not two:
//!
//! 1. check the ELF and allocate its load segments' physical range exactly
//!    where it is linked (`AllocatePages(AllocateAddress)`), copy the file
//!    bytes and zero the rest;
//! 2. find the kernel command line (the load options, else
//!    `EFI/manux/cmdline.txt` on the EFI system partition:
//!    [`command_line`]; only now, as reading a file makes the firmware
//!    allocate) and what describes the machine — the device tree
//!    (AArch64) or the ACPI RSDP (x86_64) — and allocate room for the boot
//!    information;
//! 3. take the memory map and exit boot services (retrying with a fresh
//!    map if the key went stale);
//! 4. write the boot information from that map — AArch64: a copy of the
//!    device tree whose reservation block lists what the firmware keeps
//!    and whose `/chosen/bootargs` is the command line; x86_64: a PVH
//!    `hvm_start_info` with an E820-style map and the command line — and
//!    jump:
//!    AArch64 with the MMU and data cache off and `x0` = the tree; x86_64
//!    in 32-bit protected mode with `ebx` = the start info.
//!
//! Errors before step 3 are printed on the firmware's console and returned
//! to the firmware (which then tries its next boot option).
//!
//! # Design principles
//! - The kernel never learns it was booted by UEFI: it gets exactly what a
//!   `-kernel` boot gives it, with the firmware's memory reserved.
//! - No boot service is called after `ExitBootServices`: [`efi::Firmware`]
//!   is consumed by it.
//! - Every `unsafe` block says why it holds (`// SAFETY:`).
#![no_std]
#![no_main]
#![allow(
    unsafe_code,
    reason = "the UEFI boot program is part of hal/, where unsafe code lives"
)]
#![forbid(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

mod command_line;
mod efi;
mod error;
mod kernel_elf;

#[cfg(target_arch = "aarch64")]
mod aarch64;
#[cfg(target_arch = "aarch64")]
mod device_tree;
#[cfg(target_arch = "aarch64")]
use aarch64 as arch;

#[cfg(target_arch = "x86_64")]
mod x86_64;
#[cfg(target_arch = "x86_64")]
use x86_64 as arch;

#[cfg(not(any(target_arch = "aarch64", target_arch = "x86_64")))]
compile_error!("the UEFI stub is built for aarch64-unknown-uefi or x86_64-unknown-uefi");

use core::fmt::Write;
use efi::{Firmware, Handle, Status, SystemTable, PAGE_SIZE};
use error::BootError;
use kernel_elf::KernelElf;

/// The kernel, exactly as `-kernel` boots it.
static KERNEL: &[u8] = include_bytes!(env!("MANUX_UEFI_KERNEL"));

/// `EFI_LOAD_ERROR`: what the firmware hears when the stub gives up.
const LOAD_ERROR: Status = (1 << (usize::BITS - 1)) | 1;

/// Attempts at `ExitBootServices` (each with a fresh memory map).
const EXIT_ATTEMPTS: usize = 4;

/// The image entry point the firmware calls.
#[unsafe(no_mangle)]
extern "efiapi" fn efi_main(image: Handle, system: *const SystemTable) -> Status {
    // SAFETY: these are the entry point's own arguments, with boot services
    // running; this is the only `Firmware` ever made.
    let Some(firmware) = (unsafe { Firmware::new(image, system) }) else {
        return LOAD_ERROR;
    };
    firmware.print("Manux UEFI boot: loading the kernel\n");
    let (firmware, error) = match prepare(&firmware) {
        Ok(prepared) => exit_and_enter(firmware, prepared),
        Err(error) => (firmware, error),
    };
    let _ = writeln!(firmware.console(), "Manux UEFI boot failed: {error}");
    LOAD_ERROR
}

/// Everything allocated before boot services end.
struct Prepared {
    /// Buffer for the memory map.
    memory_map: &'static mut [u8],
    /// The architecture's hand-off state (entry, boot information room).
    arch: arch::Prepared,
}

/// Steps 1 and 2: load the kernel, find the command line and the machine
/// description, allocate.
fn prepare(firmware: &Firmware) -> Result<Prepared, BootError> {
    let elf = KernelElf::parse(KERNEL).map_err(|_| BootError::KernelNotElf)?;
    let (start, end) = elf.physical_span().map_err(|_| BootError::KernelSegments)?;
    let first_page = start & !(PAGE_SIZE - 1);
    let pages = (end - first_page).div_ceil(PAGE_SIZE) as usize;
    firmware
        .allocate_pages_at(first_page, pages)
        .map_err(BootError::KernelRangeTaken)?;
    for segment in elf.segments() {
        let segment = segment.map_err(|_| BootError::KernelSegments)?;
        let bytes = elf.file_bytes(&segment);
        // SAFETY: the whole span [first_page, end) was just allocated to us
        // and is identity-mapped while boot services run; each segment lies
        // inside it (the span was computed from these very segments).
        let memory = unsafe {
            core::slice::from_raw_parts_mut(
                segment.physical as *mut u8,
                segment.memory_size as usize,
            )
        };
        memory[..bytes.len()].copy_from_slice(bytes);
        memory[bytes.len()..].fill(0);
    }
    // Only now that the kernel's range is ours: reading a file makes the
    // firmware allocate, possibly right where the kernel must go.
    let command_line = command_line::find(firmware);
    let arch = arch::prepare(firmware, &elf, (first_page, end), command_line)?;
    // The map grows as the firmware allocates: leave room for more
    // descriptors than the allocation below can add.
    let map_bytes = firmware.memory_map_size() + 64 * 64;
    let memory_map = firmware
        .allocate_pages_below(u64::MAX, map_bytes.div_ceil(PAGE_SIZE as usize))
        .map_err(|status| BootError::OutOfMemory("the memory map", status))?;
    Ok(Prepared { memory_map, arch })
}

/// Steps 3 and 4: nothing here may print or allocate once the final
/// memory map has been taken. Returns only on failure, with boot services
/// still running.
fn exit_and_enter(mut firmware: Firmware, prepared: Prepared) -> (Firmware, BootError) {
    let Prepared {
        memory_map,
        arch: mut hand_off,
    } = prepared;
    let mut last_status = 0;
    for _ in 0..EXIT_ATTEMPTS {
        let key = match firmware.memory_map(memory_map) {
            Ok(map) => {
                // Written from this map, before exiting: writing allocates
                // nothing, so the key stays valid.
                if let Err(error) = arch::describe_memory(&mut hand_off, &map) {
                    return (firmware, error);
                }
                map.key
            }
            Err(status) => return (firmware, BootError::ExitRefused(status)),
        };
        match firmware.exit_boot_services(key) {
            Ok(()) => arch::enter(hand_off),
            Err((still_running, status)) => {
                firmware = still_running;
                last_status = status;
            }
        }
    }
    (firmware, BootError::ExitRefused(last_status))
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    // Nothing in the stub panics on purpose (every index is checked);
    // if something does, stop rather than run on.
    loop {
        core::hint::spin_loop();
    }
}
