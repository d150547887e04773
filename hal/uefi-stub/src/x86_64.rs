// SPDX-License-Identifier: MIT OR Apache-2.0
//! x86_64 hand-off: a PVH start, as QEMU's `-kernel` makes it.
//!
//! The kernel's PVH entry (`hal/src/arch/x86_64/boot.rs`, `_start32`) wants
//! 32-bit protected mode with paging off, flat segments, interrupts off and
//! `ebx` = the physical address of a `struct hvm_start_info` (Xen's
//! `xen/include/public/arch-x86/hvm/start_info.h`, version 1; see also
//! `hal/src/arch/x86_64/pvh.rs`). The stub builds that structure in a page
//! below 4 GiB:
//!
//! - the memory map from UEFI's, as E820 types: usable after
//!   `ExitBootServices` → 1 (RAM), ACPI reclaim → 3, ACPI NVS → 4,
//!   everything else → 2 (reserved); neighbours of one type are merged;
//! - `rsdp_paddr` from the configuration table `EFI_ACPI_20_TABLE_GUID`
//!   (8868e871-e4f1-11d3-bc22-0080c73c8881), else the ACPI 1.0 one
//!   (eb9d2d30-2d88-11d3-9a16-0090273fc14d): the kernel reads the ACPI
//!   tables (MCFG, MADT, FADT) from there with the `acpi` crate;
//! - the command line ([`crate::command_line`]) in a page of its own,
//!   NUL-terminated (`cmdline_paddr`, which the kernel reads as it does
//!   for `-kernel` boots; empty when there is none).
//!
//! **Leaving long mode** (Intel SDM Vol. 3A §10.8.5.4, "Switching Out of
//! IA-32e Mode Operation"): from 64-bit code, load a GDT with flat 32-bit
//! code and data segments, far-return into compatibility mode, clear
//! `CR0.PG` (which also clears `EFER.LMA`), clear `EFER.LME`, and jump to
//! the entry. That code must run identity-mapped below 4 GiB, so it and
//! its GDT are copied to a page allocated there; it is position
//! independent (one `rip`-relative address) and keeps the entry in `edi`
//! and the start info in `ebx`, the only registers it needs after the
//! switch. `CR4.PCIDE` is cleared first: with it set, clearing `CR0.PG`
//! faults.

use crate::command_line::{CommandLine, MAX_LENGTH};
use crate::efi::{Firmware, Guid, MemoryKind, MemoryMap, PAGE_SIZE};
use crate::error::BootError;
use crate::kernel_elf::KernelElf;
use core::arch::global_asm;

/// `EFI_ACPI_20_TABLE_GUID`.
const ACPI_20_TABLE: Guid = Guid::new(
    0x8868_e871,
    0xe4f1,
    0x11d3,
    [0xbc, 0x22, 0x00, 0x80, 0xc7, 0x3c, 0x88, 0x81],
);
/// `ACPI_TABLE_GUID` (ACPI 1.0).
const ACPI_10_TABLE: Guid = Guid::new(
    0xeb9d_2d30,
    0x2d88,
    0x11d3,
    [0x9a, 0x16, 0x00, 0x90, 0x27, 0x3f, 0xc1, 0x4d],
);

/// `XEN_HVM_START_MAGIC_VALUE`.
const START_INFO_MAGIC: u32 = 0x336e_c578;
/// Everything the kernel reads first must be below 4 GiB (32-bit entry).
const LOW_LIMIT: u64 = 0xffff_ffff;
/// Pages for the start info (page 0: the structure; page 1: the command
/// line) and its memory map (the rest).
const BOOT_INFO_PAGES: usize = 4;
/// Offset of the NUL-terminated command line: a page holds the longest.
const COMMAND_LINE_OFFSET: usize = PAGE_SIZE as usize;
/// Offset of the memory map in the boot information pages.
const MEMORY_MAP_OFFSET: usize = 2 * PAGE_SIZE as usize;
/// Bytes of one `hvm_memmap_table_entry`.
const MEMORY_MAP_ENTRY: usize = 24;
/// Where the GDT and its `lgdt` operand go in the trampoline page.
const GDT_OFFSET: usize = 0xf00;
const GDT_POINTER_OFFSET: usize = 0xf40;

const _: () = assert!(MAX_LENGTH < PAGE_SIZE as usize);

/// What `enter` needs.
pub struct Prepared {
    entry: u64,
    rsdp: u64,
    boot_info: &'static mut [u8],
    trampoline: &'static mut [u8],
}

/// Finds the RSDP, allocates the start info (writing `command_line` in
/// it) and the trampoline page.
pub fn prepare(
    firmware: &Firmware,
    elf: &KernelElf<'_>,
    _kernel: (u64, u64),
    command_line: CommandLine,
) -> Result<Prepared, BootError> {
    let entry = elf.pvh_entry().map_err(|_| BootError::KernelNoPvhEntry)?;
    if entry > LOW_LIMIT {
        return Err(BootError::KernelNoPvhEntry);
    }
    let rsdp = firmware
        .configuration_table(ACPI_20_TABLE)
        .or_else(|| firmware.configuration_table(ACPI_10_TABLE))
        .map(|table| table as u64)
        .ok_or(BootError::NoAcpi)?;
    let boot_info = firmware
        .allocate_pages_below(LOW_LIMIT, BOOT_INFO_PAGES)
        .map_err(|status| BootError::OutOfMemory("the start info below 4 GiB", status))?;
    // The pages come zeroed: the line is NUL-terminated (it is at most
    // `MAX_LENGTH` bytes, less than the page).
    let text = command_line.as_str().as_bytes();
    boot_info[COMMAND_LINE_OFFSET..COMMAND_LINE_OFFSET + text.len()].copy_from_slice(text);
    let trampoline = firmware
        .allocate_code_pages_below(LOW_LIMIT, 1)
        .map_err(|status| BootError::OutOfMemory("the hand-off code below 4 GiB", status))?;
    Ok(Prepared {
        entry,
        rsdp,
        boot_info,
        trampoline,
    })
}

fn put_u32(bytes: &mut [u8], offset: usize, value: u32) {
    bytes[offset..offset + 4].copy_from_slice(&value.to_le_bytes());
}

fn put_u64(bytes: &mut [u8], offset: usize, value: u64) {
    bytes[offset..offset + 8].copy_from_slice(&value.to_le_bytes());
}

/// The E820 type of a UEFI memory kind.
fn e820_type(kind: MemoryKind) -> u32 {
    match kind {
        MemoryKind::Usable => 1,
        MemoryKind::AcpiReclaim => 3,
        MemoryKind::AcpiNvs => 4,
        MemoryKind::Mmio | MemoryKind::Reserved => 2,
    }
}

/// Writes the start info with the memory map from `map`.
pub fn describe_memory(prepared: &mut Prepared, map: &MemoryMap<'_>) -> Result<(), BootError> {
    let base = prepared.boot_info.as_ptr() as u64;
    let capacity = (prepared.boot_info.len() - MEMORY_MAP_OFFSET) / MEMORY_MAP_ENTRY;
    let mut count = 0usize;
    let mut last: Option<(u64, u64, u32)> = None;
    let entries = &mut prepared.boot_info[MEMORY_MAP_OFFSET..];
    let write = |entries: &mut [u8], index: usize, (start, size, kind): (u64, u64, u32)| {
        let offset = index * MEMORY_MAP_ENTRY;
        put_u64(entries, offset, start);
        put_u64(entries, offset + 8, size);
        put_u32(entries, offset + 16, kind);
        put_u32(entries, offset + 20, 0);
    };
    for region in map.regions() {
        let kind = e820_type(region.kind);
        match last {
            Some((start, size, last_kind)) if last_kind == kind && start + size == region.start => {
                last = Some((start, size + region.size, kind));
                write(entries, count - 1, last.unwrap_or_default());
            }
            _ => {
                if count == capacity {
                    return Err(BootError::MemoryMapTooLong);
                }
                last = Some((region.start, region.size, kind));
                write(entries, count, (region.start, region.size, kind));
                count += 1;
            }
        }
    }
    let info = &mut prepared.boot_info[..COMMAND_LINE_OFFSET];
    put_u32(info, 0, START_INFO_MAGIC);
    put_u32(info, 4, 1); // version 1: has the memory map
    put_u32(info, 8, 0); // flags
    put_u32(info, 12, 0); // nr_modules
    put_u64(info, 16, 0); // modlist_paddr
    put_u64(info, 24, base + COMMAND_LINE_OFFSET as u64);
    put_u64(info, 32, prepared.rsdp);
    put_u64(info, 40, base + MEMORY_MAP_OFFSET as u64);
    put_u32(info, 48, count as u32);
    put_u32(info, 52, 0);
    Ok(())
}

// The hand-off code, copied to a page below 4 GiB before it runs.
// rdi = PVH entry, rsi = start info, rdx = the `lgdt` operand; all three
// below 4 GiB. GDT: 0x08 flat 32-bit code, 0x10 flat data.
global_asm!(
    r#"
    .section .text.manux_enter, "ax"
    .global manux_uefi_enter
    .global manux_uefi_enter_end
    .code64
manux_uefi_enter:
    cli
    movq %rsi, %rbx
    movq %cr4, %rax
    btrq $17, %rax                      /* CR4.PCIDE off */
    movq %rax, %cr4
    lgdt (%rdx)
    leaq 1f(%rip), %rax
    pushq $0x08
    pushq %rax
    lretq                               /* to compatibility mode */
    .code32
1:  movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movw %ax, %fs
    movw %ax, %gs
    movl %cr0, %eax
    andl $0x7fffffff, %eax              /* CR0.PG off: IA-32e mode ends */
    movl %eax, %cr0
    movl $0xc0000080, %ecx              /* IA32_EFER */
    rdmsr
    andl $0xfffffeff, %eax              /* EFER.LME off */
    wrmsr
    jmp *%edi
manux_uefi_enter_end:
    .code64
    "#,
    options(att_syntax)
);

unsafe extern "C" {
    static manux_uefi_enter: u8;
    static manux_uefi_enter_end: u8;
}

/// Leaves UEFI for the kernel. Boot services have exited.
pub fn enter(prepared: Prepared) -> ! {
    let start = (&raw const manux_uefi_enter) as usize;
    let end = (&raw const manux_uefi_enter_end) as usize;
    // SAFETY: the two symbols delimit the hand-off code in this image's
    // text, which is readable; the length is what lies between them.
    let code = unsafe { core::slice::from_raw_parts(start as *const u8, end - start) };
    let page = prepared.trampoline;
    page[..code.len()].copy_from_slice(code);
    // Flat 4 GiB descriptors (SDM Vol. 3A §3.4.5): 32-bit code
    // execute/read, data read/write, both ring 0, granularity 4 KiB.
    put_u64(page, GDT_OFFSET, 0);
    put_u64(page, GDT_OFFSET + 8, 0x00cf_9a00_0000_ffff);
    put_u64(page, GDT_OFFSET + 16, 0x00cf_9200_0000_ffff);
    let gdt = page.as_ptr() as u64 + GDT_OFFSET as u64;
    page[GDT_POINTER_OFFSET..GDT_POINTER_OFFSET + 2].copy_from_slice(&23u16.to_le_bytes());
    put_u64(page, GDT_POINTER_OFFSET + 2, gdt);
    let gdt_pointer = page.as_ptr() as u64 + GDT_POINTER_OFFSET as u64;
    let info = prepared.boot_info.as_ptr() as u64;
    // SAFETY: `page` now holds the position-independent hand-off code
    // and its GDT, identity-mapped below 4 GiB and executable (loader
    // code, allocated so);
    // the kernel is in place, its entry and the start info are below
    // 4 GiB, and boot services have exited, so nothing else owns the CPU.
    unsafe {
        // System V argument registers (rdi, rsi, rdx), as the assembly
        // expects: the UEFI target's "C" is the Microsoft convention.
        let code: extern "sysv64" fn(u64, u64, u64) -> ! = core::mem::transmute::<
            *const u8,
            extern "sysv64" fn(u64, u64, u64) -> !,
        >(page.as_ptr());
        code(prepared.entry, info, gdt_pointer)
    }
}
