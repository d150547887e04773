// SPDX-License-Identifier: MIT OR Apache-2.0
//! AArch64 hand-off: the device tree in `x0`, MMU and data cache off.
//!
//! The kernel's `_start` expects what QEMU's `-kernel` gives it (DESIGN §2,
//! `hal/src/arch/aarch64/boot.rs`): EL1, MMU off, and the device tree in
//! `x0` (the kernel reads it there whenever `x0` is not zero).
//!
//! **Where the tree comes from.** UEFI publishes it as the configuration
//! table `EFI_DTB_TABLE_GUID` (b1b621d5-f19c-41a5-830b-d9152c69aae0). The
//! edk2 build for QEMU `virt` (Debian's `qemu-efi-aarch64`) publishes it
//! only when QEMU provides no ACPI tables, though, and QEMU's `virt`
//! provides them by default; edk2 still keeps QEMU's tree, and records its
//! address in a GUID HOB (`gFdtHobGuid`, 16958446-19b7-480b-b047-
//! 7485ad3f716d, `EmbeddedPkg.dec`) of the HOB list that is itself a
//! configuration table (`EFI_HOB_LIST_GUID`, PI 1.7 vol. 3 §5.5). The stub
//! takes the table when there is one and the HOB otherwise.
//!
//! **The command line** ([`crate::command_line`]) goes into the copy as
//! `/chosen/bootargs`, replacing the firmware's if it had one (the node is
//! added when the tree has no `/chosen`); with none, the tree's own
//! `/chosen` is kept as it is. The kernel reads `bootargs` as it does for
//! `-kernel` boots.
//!
//! **What the kernel must not touch** is everything the firmware's memory
//! map does not call usable; those ranges go into the copy's reservation
//! block ([`crate::device_tree`]), which the kernel subtracts from RAM. The
//! copy itself is loader data below 4 GiB (the kernel's boot tables map the
//! low 4 GiB), and the kernel reserves the tree it was given.
//!
//! **Caches.** With the MMU off, data accesses bypass the caches, so the
//! kernel image, the tree and the hand-off code are cleaned and invalidated
//! to the point of coherency first (ARM ARM D7.5.9; Linux's
//! `arch/arm64/kernel/efi-entry.S` does the same).

use crate::command_line::{CommandLine, Source};
use crate::device_tree;
use crate::efi::{Firmware, Guid, MemoryKind, MemoryMap, PAGE_SIZE};
use crate::error::BootError;
use crate::kernel_elf::KernelElf;
use core::arch::{asm, global_asm};

/// `EFI_DTB_TABLE_GUID`.
const DEVICE_TREE_TABLE: Guid = Guid::new(
    0xb1b6_21d5,
    0xf19c,
    0x41a5,
    [0x83, 0x0b, 0xd9, 0x15, 0x2c, 0x69, 0xaa, 0xe0],
);
/// `EFI_HOB_LIST_GUID`.
const HOB_LIST_TABLE: Guid = Guid::new(
    0x7739_f24c,
    0x93d7,
    0x11d4,
    [0x9a, 0x3a, 0x00, 0x90, 0x27, 0x3f, 0xc1, 0x4d],
);
/// edk2's `gFdtHobGuid`: a GUID HOB whose data is the tree's address.
const DEVICE_TREE_HOB: Guid = Guid::new(
    0x1695_8446,
    0x19b7,
    0x480b,
    [0xb0, 0x47, 0x74, 0x85, 0xad, 0x3f, 0x71, 0x6d],
);

/// Most reservations the copy can list (adjacent ranges are merged first;
/// QEMU's `virt` firmware leaves about a dozen).
const RESERVATION_CAPACITY: usize = 64;
/// The kernel's boot tables map the low 4 GiB: the tree must be there.
const BOOT_MAPPED_LIMIT: u64 = (4 << 30) - 1;

/// What `enter` needs.
pub struct Prepared {
    entry: u64,
    kernel: (u64, u64),
    tree: &'static [u8],
    copy: &'static mut [u8],
    copy_size: usize,
    command_line: CommandLine,
}

/// Finds the tree and allocates its copy (with room for `command_line`).
pub fn prepare(
    firmware: &Firmware,
    elf: &KernelElf<'_>,
    kernel: (u64, u64),
    command_line: CommandLine,
) -> Result<Prepared, BootError> {
    let current_el: u64;
    // SAFETY: reading CurrentEL has no side effect.
    unsafe { asm!("mrs {}, CurrentEL", out(reg) current_el) };
    if (current_el >> 2) & 3 != 1 {
        return Err(BootError::NotEl1);
    }
    let address = firmware
        .configuration_table(DEVICE_TREE_TABLE)
        .map(|table| table as u64)
        .or_else(|| tree_from_hob_list(firmware))
        .ok_or(BootError::NoDeviceTree)?;
    // SAFETY: the firmware published this address as a device tree; its
    // first 8 bytes (magic and size) are readable identity-mapped memory.
    let header = unsafe { core::ptr::read_unaligned(address as *const [u8; 8]) };
    let size = device_tree::total_size(&header).ok_or(BootError::MalformedDeviceTree)?;
    // SAFETY: the header says the tree is `size` bytes; the firmware keeps
    // it, unchanged, until boot services exit, and the copy is made before.
    let tree: &'static [u8] = unsafe { core::slice::from_raw_parts(address as *const u8, size) };
    let room = size
        + 16 * (RESERVATION_CAPACITY + 1)
        + 16 * 16
        + device_tree::bootargs_room(command_line.as_str());
    let copy = firmware
        .allocate_pages_below(BOOT_MAPPED_LIMIT, room.div_ceil(PAGE_SIZE as usize))
        .map_err(|status| BootError::OutOfMemory("the device tree below 4 GiB", status))?;
    Ok(Prepared {
        entry: elf.entry,
        kernel,
        tree,
        copy,
        copy_size: 0,
        command_line,
    })
}

/// The tree's address from edk2's FDT HOB, if the HOB list has one.
fn tree_from_hob_list(firmware: &Firmware) -> Option<u64> {
    // PI 1.7 vol. 3 §5.2: every HOB starts with `{ u16 type, u16 length,
    // u32 reserved }`; type 4 is a GUID extension (a GUID, then data),
    // 0xffff ends the list.
    const GUID_EXTENSION: u16 = 4;
    const END_OF_LIST: u16 = 0xffff;
    let mut hob = firmware.configuration_table(HOB_LIST_TABLE)? as u64;
    // A bound on the walk, should a list be corrupt.
    for _ in 0..4096 {
        // SAFETY: `hob` points at a HOB header of the firmware's list (the
        // table's start, then each header's own length on), which stays in
        // memory while boot services run.
        let header = unsafe { core::ptr::read_unaligned(hob as *const [u16; 4]) };
        let (kind, length) = (header[0], u64::from(header[1]));
        if kind == END_OF_LIST || length < 8 {
            return None;
        }
        if kind == GUID_EXTENSION && length >= 8 + 16 + 8 {
            // SAFETY: a GUID HOB holds a GUID after its header (length
            // checked just above).
            let guid = unsafe { core::ptr::read_unaligned((hob + 8) as *const Guid) };
            if guid == DEVICE_TREE_HOB {
                // SAFETY: the FDT HOB's data is one u64 (length checked).
                return Some(unsafe { core::ptr::read_unaligned((hob + 24) as *const u64) });
            }
        }
        hob += length;
    }
    None
}

/// Writes the tree's copy with every range the kernel must leave alone.
pub fn describe_memory(prepared: &mut Prepared, map: &MemoryMap<'_>) -> Result<(), BootError> {
    let mut reserved = [(0u64, 0u64); RESERVATION_CAPACITY];
    let mut count = 0;
    for region in map.regions() {
        if region.kind == MemoryKind::Usable || region.kind == MemoryKind::Mmio {
            continue;
        }
        // Merge with the previous range when they touch.
        if count > 0 && reserved[count - 1].0 + reserved[count - 1].1 == region.start {
            reserved[count - 1].1 += region.size;
            continue;
        }
        let slot = reserved.get_mut(count).ok_or(BootError::MemoryMapTooLong)?;
        *slot = (region.start, region.size);
        count += 1;
    }
    let bootargs =
        (prepared.command_line.source != Source::Nowhere).then(|| prepared.command_line.as_str());
    prepared.copy_size = device_tree::copy_for_kernel(
        prepared.tree,
        reserved[..count].iter().copied(),
        bootargs,
        prepared.copy,
    )
    .map_err(|_| BootError::MalformedDeviceTree)?;
    Ok(())
}

/// Cleans and invalidates `[start, end)` to the point of coherency.
fn clean_to_point_of_coherency(start: u64, end: u64) {
    let cache_type: u64;
    // SAFETY: reading CTR_EL0 has no side effect.
    unsafe { asm!("mrs {}, ctr_el0", out(reg) cache_type) };
    // CTR_EL0.DminLine: log2 of the smallest data cache line, in words.
    let line = 4u64 << ((cache_type >> 16) & 0xf);
    let mut address = start & !(line - 1);
    while address < end {
        // SAFETY: `dc civac` on an identity-mapped address writes dirty
        // data back and drops the line; memory contents do not change.
        unsafe { asm!("dc civac, {}", in(reg) address) };
        address += line;
    }
    // SAFETY: a barrier only orders the maintenance above.
    unsafe { asm!("dsb sy") };
}

// The last instructions under the firmware's MMU. x0 = kernel entry,
// x1 = device tree. Cleans its own lines, masks interrupts, turns the MMU
// and data cache off (SCTLR_EL1.M, .C), drops stale TLB and instruction
// cache contents and jumps with x0 = tree (ARM ARM D8.2.11 for turning
// the MMU off from identity-mapped code).
global_asm!(
    r#"
    .section .text.manux_enter, "ax"
    .global manux_uefi_enter
    .balign 64
manux_uefi_enter:
    msr     daifset, #0xf
    adr     x2, manux_uefi_enter
    adr     x3, 2f
1:  dc      civac, x2
    add     x2, x2, #16
    cmp     x2, x3
    b.lo    1b
    dsb     sy
    mrs     x2, sctlr_el1
    bic     x2, x2, #1
    bic     x2, x2, #4
    msr     sctlr_el1, x2
    isb
    ic      iallu
    tlbi    vmalle1
    dsb     sy
    isb
    mov     x4, x0
    mov     x0, x1
    mov     x1, xzr
    mov     x2, xzr
    mov     x3, xzr
    br      x4
2:
    "#
);

unsafe extern "C" {
    /// Defined in the assembly above; never returns.
    fn manux_uefi_enter(entry: u64, tree: u64) -> !;
}

/// Leaves UEFI for the kernel. Boot services have exited.
pub fn enter(prepared: Prepared) -> ! {
    let tree = prepared.copy.as_ptr() as u64;
    clean_to_point_of_coherency(prepared.kernel.0, prepared.kernel.1);
    clean_to_point_of_coherency(tree, tree + prepared.copy_size as u64);
    // SAFETY: the kernel's segments are in place at their physical
    // addresses (loaded in `prepare`, cleaned to memory above), its entry is
    // physical (the link script's `ENTRY(_start_physical)`), the tree copy
    // is complete and ours, and boot services have exited, so nothing else
    // owns the CPU.
    unsafe { manux_uefi_enter(prepared.entry, tree) }
}
