// SPDX-License-Identifier: MIT OR Apache-2.0
//! x86_64 page tables for the kernel half of the address space.
//!
//! Four-level paging, 4 KiB pages and 2 MiB large pages (*Intel SDM*
//! Vol. 3A §5.5, "4-Level Paging"; entry formats in Tables 5-15 to 5-20).
//! The kernel's tables hold:
//! - the kernel image at `KERNEL_OFFSET + physical` (the top 2 GiB, where
//!   `code-model=kernel` wants it), 4 KiB pages, each section with its own
//!   permissions: text read-only and executable, rodata read-only, data and
//!   bss read-write — never writable and executable at once — and the
//!   guard page below each stack ([`super::stacks`]) left out;
//! - the direct map of RAM at `LINEAR_OFFSET + physical`, read-write and
//!   never executable, in 2 MiB pages where alignment allows; the image
//!   itself is left out so its text has no writable alias;
//! - device registers, mapped on request by [`map_device`] at
//!   `LINEAR_OFFSET + physical`, uncached (PCD and PWT set, which selects
//!   UC through the power-on PAT, §13.12.3), and firmware tables, mapped
//!   read-only by [`map_firmware`].
//!
//! "Never executable" is the NX bit (bit 63), honoured once the boot code
//! has set `EFER.NXE`; on the rare CPU without NX the bit is reserved and
//! is left clear. `CR0.WP` (set at boot) makes read-only pages read-only
//! for the kernel too.
//!
//! The lower half has no mappings: once the kernel runs on these tables a
//! stray low pointer faults. Each process has its own root table
//! ([`super::address_space`]) whose upper half (PML4 entries 256–511) is a
//! copy of this root's, so the kernel is mapped — supervisor-only, since
//! no kernel entry sets U/S — whichever root CR3 holds. The copies share
//! the kernel's lower-level tables, so a mapping added below an existing
//! PML4 entry is seen everywhere at once; only a new PML4 entry must be
//! copied again. [`kernel_half_generation`] counts those, so a process
//! root can tell it is stale, and the root in CR3 is brought up to date
//! at once (see `map_at_linear`).
//!
//! Tables come from a small pool in `.bss` until the kernel heap exists,
//! then from the heap (page-aligned, in the direct map, so their physical
//! address is known). New entries only ever replace non-present ones, which
//! needs no TLB invalidation (§5.10.4.3).
//!
//! The entries are encoded by `page_table::X86_64` and walked by the shared
//! `page_table::Walker`, which reaches the tables through
//! [`crate::page_table::PhysicalTables`]; this module decides what to map.

use super::boot::{KERNEL_OFFSET, LINEAR_OFFSET};
use super::stacks;
use crate::boot_info::{subtract_range, FixedList, MemoryRange};
use crate::page_table::{
    Existing, Format, KernelAccess, Owner, PhysicalTables, TableMemory, WalkError, Walker,
    BLOCK_LEVEL, BLOCK_SIZE, ENTRIES, PAGE_LEVEL, X86_64,
};
use alloc::alloc::{alloc_zeroed, Layout};
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use spin::Mutex;
use x86_64::registers::control::{Cr3, Cr3Flags};
use x86_64::structures::paging::PhysFrame;
use x86_64::PhysAddr;

/// Bytes in a page.
pub const PAGE_SIZE: u64 = 4096;

/// Physical memory the boot tables map at `LINEAR_OFFSET` (see `boot`).
const BOOT_MAPPED_LIMIT: u64 = 4 << 30;

/// Written by the boot assembly: 1 when the CPU has NX (CPUID
/// 0x8000_0001 EDX bit 20) and `EFER.NXE` was set.
#[unsafe(no_mangle)]
static X86_NX_SUPPORTED: AtomicU32 = AtomicU32::new(0);

/// Whether `EFER.NXE` is set, so bit 63 of an entry forbids execution
/// (otherwise it is reserved and must stay clear).
pub fn no_execute_supported() -> bool {
    X86_NX_SUPPORTED.load(Ordering::Relaxed) != 0
}

/// The entry format, with NX when the CPU has it: "never executable"
/// leaves set bit 63 only then (otherwise it is reserved).
fn format() -> X86_64 {
    X86_64::new(no_execute_supported())
}

/// One 4 KiB page table.
#[repr(C, align(4096))]
struct Table([u64; ENTRIES]);

/// Tables in `.bss`, used before the heap exists: the root, the image
/// (one PDPT, one PD, a page table per 2 MiB of image), the direct map
/// (a PDPT, then one PD per GiB of RAM, as QEMU's default CPU models have
/// no 1 GiB pages; so about 56 GiB of RAM at most), and the first devices.
/// 256 KiB of `.bss`.
const POOL_TABLES: usize = 64;
static mut TABLE_POOL: [Table; POOL_TABLES] = [const { Table([0; ENTRIES]) }; POOL_TABLES];

/// The kernel's mapping state.
struct KernelTables {
    /// Physical address of the PML4 (0 while on the boot tables).
    root: u64,
    next_pool_table: usize,
}

static TABLES: Mutex<KernelTables> = Mutex::new(KernelTables {
    root: 0,
    next_pool_table: 0,
});
/// How many times a PML4 entry of the kernel half was added after the
/// final tables were built (see the module doc).
static KERNEL_HALF_GENERATION: AtomicU64 = AtomicU64::new(0);
/// The first PML4 entry of the upper half.
pub const KERNEL_HALF_FIRST_ENTRY: usize = 256;
/// Set once the heap can supply page tables.
static HEAP_TABLES: AtomicBool = AtomicBool::new(false);

/// Physical range of the kernel image.
fn image_range() -> MemoryRange {
    unsafe extern "C" {
        static __kernel_start: u8;
        static __kernel_end: u8;
    }
    let start = (&raw const __kernel_start) as u64 - KERNEL_OFFSET;
    let end = (&raw const __kernel_end) as u64 - KERNEL_OFFSET;
    MemoryRange {
        start,
        size: end - start,
    }
}

/// Where the kernel reaches its tables: pool tables (in the image)
/// through the image mapping, heap tables through the direct map.
fn kernel_tables_memory() -> (u64, u64) {
    let image = image_range();
    (image.start, image.end())
}

impl KernelTables {
    /// A zeroed table: from the pool, or from the heap once it exists.
    fn allocate_table(&mut self) -> Option<u64> {
        if self.next_pool_table < POOL_TABLES {
            let index = self.next_pool_table;
            self.next_pool_table += 1;
            // SAFETY: only this cursor hands out pool tables, once each,
            // behind the `TABLES` lock; taking an element's address
            // creates no reference.
            let virtual_address = unsafe { (&raw mut TABLE_POOL[index]) as u64 };
            return Some(virtual_address - KERNEL_OFFSET);
        }
        // The pool is used up. Before the heap exists there is nowhere else
        // to take a page from: the frame allocator is the kernel's.
        if !HEAP_TABLES.load(Ordering::Acquire) {
            return None;
        }
        let layout = Layout::from_size_align(PAGE_SIZE as usize, PAGE_SIZE as usize).ok()?;
        // SAFETY: the layout has a non-zero size. The page is never freed:
        // page tables of the kernel half live as long as the kernel.
        let pointer = unsafe { alloc_zeroed(layout) };
        if pointer.is_null() {
            return None;
        }
        virtual_to_physical(pointer as u64)
    }

    /// The kernel's tables in memory. Taking `&self` means the caller
    /// holds the `TABLES` lock.
    fn memory(&self) -> PhysicalTables {
        // SAFETY: (1) the kernel's tables — the root and every table its
        // descriptors name — come from `allocate_table` (the `.bss` pool,
        // once each, or zeroed heap pages), are never freed and never
        // referenced (only their addresses are taken), and are reached
        // through the image mapping or the direct map
        // (`kernel_tables_memory`);
        // (2) `&self` comes from the `TABLES` guard, so writers, which
        // need `&mut self`, are alone.
        unsafe { PhysicalTables::with_image(kernel_tables_memory(), KERNEL_OFFSET, LINEAR_OFFSET) }
    }

    /// The walker over the kernel's tables (see [`KernelTables::memory`]).
    fn walker(&self) -> Walker<X86_64, PhysicalTables> {
        Walker::new(self.memory())
    }

    /// Maps one page (`large`: a 2 MiB page at the PD level). An address
    /// already mapped — by a page or a larger page — is left as it is, so
    /// mapping the same registers twice is harmless. `false` when out of
    /// tables.
    fn map_one(
        &mut self,
        virtual_address: u64,
        physical: u64,
        access: KernelAccess,
        large: bool,
    ) -> bool {
        // A 2 MiB page is a PD entry with the page-size bit; a 4 KiB page
        // is a PT entry. The walk creates the tables in between, whose
        // entries allow everything; the leaf decides. (U/S stays clear:
        // the kernel half is supervisor-only from its PML4 entries down,
        // §5.11.2.) A present leaf is never overwritten: changing a live
        // translation would need a TLB invalidation, and no caller means
        // to.
        let level = if large { BLOCK_LEVEL } else { PAGE_LEVEL };
        let leaf = format().kernel_leaf(physical, access, level);
        let root = self.root;
        let mut new_root_entry = false;
        let result = self.walker().map(
            root,
            virtual_address,
            level,
            leaf,
            Owner::Kernel,
            Existing::Keep,
            &mut |parent_level| {
                let table = self.allocate_table();
                new_root_entry |= parent_level == 0 && table.is_some();
                table
            },
        );
        if new_root_entry {
            KERNEL_HALF_GENERATION.fetch_add(1, Ordering::AcqRel);
        }
        match result {
            Ok(_) => true,
            // A large page already covers the address (a device in a
            // block mapped earlier): nothing to add.
            Err(WalkError::Block) => true,
            Err(WalkError::OutOfTables) => false,
        }
    }

    /// Maps `[virtual_address, +size)` to `[physical, +size)` (page-aligned),
    /// with 2 MiB pages where both sides are aligned, the rest of the range
    /// covers one, `allow_large` is set, and no smaller pages already map
    /// part of it.
    fn map(
        &mut self,
        virtual_address: u64,
        physical: u64,
        size: u64,
        access: KernelAccess,
        allow_large: bool,
    ) -> bool {
        // One page per step: large where the conditions above hold (the
        // probe refuses a large page over a PD entry that already points
        // at a page table, whose 4 KiB pages would be lost), else small.
        let mut offset = 0;
        while offset < size {
            let va = virtual_address + offset;
            let pa = physical + offset;
            let large = allow_large
                && va % BLOCK_SIZE == 0
                && pa % BLOCK_SIZE == 0
                && size - offset >= BLOCK_SIZE
                && !self
                    .walker()
                    .entry(self.root, va, BLOCK_LEVEL)
                    .is_some_and(X86_64::is_table);
            if !self.map_one(va, pa, access, large) {
                return false;
            }
            offset += if large { BLOCK_SIZE } else { PAGE_SIZE };
        }
        true
    }

    /// Maps `[start, end)` of the image (physical, page-aligned) with
    /// `access`, leaving out the stacks' guard pages.
    fn map_image_part(&mut self, start: u64, end: u64, access: KernelAccess) -> bool {
        let guards = stacks::guard_pages().map(|virtual_address| virtual_address - KERNEL_OFFSET);
        let mut ok = true;
        let mut page = start;
        while page < end {
            if !guards.contains(&page) {
                ok &= self.map_one(page + KERNEL_OFFSET, page, access, false);
            }
            page += PAGE_SIZE;
        }
        ok
    }
}

/// Builds the kernel's final tables and switches to them. `ram` is every
/// RAM range from the firmware. Stops the machine (with a message) if the
/// pool runs out, which only absurdly fragmented RAM can cause.
pub fn init_kernel_tables(ram: &[MemoryRange]) {
    unsafe extern "C" {
        static __text_end: u8;
        static __rodata_end: u8;
    }
    let image = image_range();
    let text_end = (&raw const __text_end) as u64 - KERNEL_OFFSET;
    let rodata_end = (&raw const __rodata_end) as u64 - KERNEL_OFFSET;

    // The image, section by section: the linker script aligns each end to
    // a page, so no page is shared by two permissions.
    let mut tables = TABLES.lock();
    let Some(root) = tables.allocate_table() else {
        super::boot::fatal("no page table for the kernel's root")
    };
    tables.root = root;
    let mut ok = true;
    ok &= tables.map_image_part(image.start, text_end, KernelAccess::ReadExecute);
    ok &= tables.map_image_part(text_end, rodata_end, KernelAccess::ReadOnly);
    ok &= tables.map_image_part(rodata_end, image.end(), KernelAccess::ReadWrite);

    // The direct map: all RAM except the image, whose pages are reached
    // only through the image mapping above (so text has no writable alias).
    let mut direct: FixedList<MemoryRange, 32> = FixedList::new();
    for range in ram {
        ok &= direct.push(*range);
    }
    ok &= subtract_range(&mut direct, image);
    for range in direct.as_slice() {
        let start = range.start & !(PAGE_SIZE - 1);
        let end = (range.end() + PAGE_SIZE - 1) & !(PAGE_SIZE - 1);
        ok &= tables.map(
            start + LINEAR_OFFSET,
            start,
            end - start,
            KernelAccess::ReadWrite,
            true,
        );
    }
    if !ok {
        drop(tables);
        super::boot::fatal("out of boot page tables while mapping the kernel");
    }
    let Ok(frame) = PhysFrame::from_start_address(PhysAddr::new(root)) else {
        super::boot::fatal("misaligned root page table")
    };
    // SAFETY: the new tables map everything the kernel uses from now on:
    // its image (this code, the boot stack, every static — GDT, IDT and
    // TSS included, which `gdt::init` and `vectors::install` already moved
    // off the boot tables' identity map) and the direct map of RAM. Devices
    // are mapped by later `map_device` calls; none is in use across the
    // switch (the console uses ports). Writing CR3 flushes the TLB.
    unsafe { Cr3::write(frame, Cr3Flags::empty()) };
}

/// Lets the page-table code take tables from the heap once the pool is
/// used up. Called by the boot code right after `heap::init`.
pub fn enable_heap_tables() {
    HEAP_TABLES.store(true, Ordering::Release);
}

/// Maps `[physical, +size)` with `access` at `LINEAR_OFFSET + physical`
/// and returns the virtual address of `physical`, or 0 when out of tables.
fn map_at_linear(physical: u64, size: u64, access: KernelAccess) -> u64 {
    let start = physical & !(PAGE_SIZE - 1);
    let Some(end) = physical
        .checked_add(size.max(1))
        .and_then(|end| end.checked_add(PAGE_SIZE - 1))
    else {
        return 0;
    };
    let end = end & !(PAGE_SIZE - 1);
    let mut tables = TABLES.lock();
    if tables.root == 0 {
        // Still on the boot tables, which map the low 4 GiB.
        return if end <= BOOT_MAPPED_LIMIT {
            physical + LINEAR_OFFSET
        } else {
            0
        };
    }
    let generation = KERNEL_HALF_GENERATION.load(Ordering::Acquire);
    let mapped = tables.map(start + LINEAR_OFFSET, start, end - start, access, true);
    if KERNEL_HALF_GENERATION.load(Ordering::Acquire) != generation {
        // A new PML4 entry: if a process's root is in CR3, the kernel
        // would not see its own new mapping through it until the next
        // `activate`, so copy it there now.
        let current = current_root();
        if current != tables.root {
            copy_kernel_half_locked(&tables, current);
        }
    }
    if !mapped {
        return 0;
    }
    physical + LINEAR_OFFSET
}

/// The physical address of the root table in CR3 (PCID bits dropped).
pub fn current_root() -> u64 {
    Cr3::read_raw().0.start_address().as_u64()
}

/// The physical address of the kernel's root table (0 before
/// [`init_kernel_tables`]).
pub fn kernel_root() -> u64 {
    TABLES.lock().root
}

/// How many PML4 entries the kernel half has gained since its tables were
/// built; a root copied at an older generation needs copying again.
pub fn kernel_half_generation() -> u64 {
    KERNEL_HALF_GENERATION.load(Ordering::Acquire)
}

/// Copies the kernel's PML4 entries 256–511 into the root table at
/// physical `root` (a process's, reached through the direct map).
///
/// The caller owns `root`'s upper half in the sense that nothing else
/// writes it: [`super::address_space`] writes only entries 0–255.
pub fn copy_kernel_half(root: u64) {
    let tables = TABLES.lock();
    copy_kernel_half_locked(&tables, root);
}

fn copy_kernel_half_locked(tables: &KernelTables, root: u64) {
    let kernel = tables.memory();
    // SAFETY: (1) `root` is a process root table: a RAM frame from the
    // kernel's frame allocator, mapped read-write in the direct map and
    // never the target of a Rust reference; nothing but `root` itself is
    // reached through this value. (2) Only the kernel half is written,
    // which no other code writes (see `copy_kernel_half`), and the
    // entries written are the kernel root's own, so any translation the
    // CPU may already cache through them stays the same.
    let mut process = unsafe { PhysicalTables::new(LINEAR_OFFSET) };
    for index in KERNEL_HALF_FIRST_ENTRY..ENTRIES {
        process.write(root, index, kernel.read(tables.root, index));
    }
}

/// Loads CR3 with the kernel's own root (PCID 0), keeping cached
/// translations when PCIDs are on (bit 63, *Intel SDM* Vol. 3A §5.10.4.1).
/// Used before a process root is freed.
pub fn activate_kernel_root(keep_translations: bool) {
    let root = TABLES.lock().root;
    let value = if keep_translations {
        root | (1 << 63)
    } else {
        root
    };
    // SAFETY: the kernel root maps everything the kernel uses (its half is
    // what every process root copies) and nothing of any process. With
    // `keep_translations` the caller has checked that CR4.PCIDE is set
    // (bit 63 is otherwise reserved); PCID 0 holds only kernel entries.
    unsafe { core::arch::asm!("mov cr3, {}", in(reg) value, options(nostack, preserves_flags)) };
}

/// Maps device registers uncached at `LINEAR_OFFSET + physical`
/// (page-rounded) and returns the virtual address of `physical`. Mapping
/// the same registers twice is harmless. Returns 0 if out of page tables.
pub fn map_device(physical: u64, size: u64) -> u64 {
    map_at_linear(physical, size, KernelAccess::Device)
}

/// Maps firmware tables (ACPI) read-only at `LINEAR_OFFSET + physical`
/// and returns the virtual address of `physical`; 0 if out of tables.
/// Tables inside RAM are already in the direct map and stay as they are.
pub fn map_firmware(physical: u64, size: u64) -> u64 {
    map_at_linear(physical, size, KernelAccess::ReadOnly)
}

/// Translates a kernel virtual address (image or direct map) to physical.
pub fn virtual_to_physical(virtual_address: u64) -> Option<u64> {
    if virtual_address >= KERNEL_OFFSET {
        Some(virtual_address - KERNEL_OFFSET)
    } else if virtual_address >= LINEAR_OFFSET {
        Some(virtual_address - LINEAR_OFFSET)
    } else {
        None
    }
}

/// The direct-map address of a physical address.
pub fn physical_to_virtual(physical: u64) -> u64 {
    physical + LINEAR_OFFSET
}

/// Copies `length` bytes from `source` to `target` (`memcpy`, which is
/// `rep movsb` here).
///
/// # Safety
///
/// As `core::ptr::copy_nonoverlapping`.
pub(crate) unsafe fn copy_bytes(target: *mut u8, source: *const u8, length: usize) {
    // SAFETY: the caller's contract.
    unsafe { core::ptr::copy_nonoverlapping(source, target, length) };
}

/// Zeroes the `length` bytes at `address` (`rep stos`, through the
/// compiler's `memset`).
///
/// # Safety
///
/// The bytes are mapped writable (the direct map), and no Rust reference
/// to any of them is alive.
pub(crate) unsafe fn zero_bytes(address: u64, length: usize) {
    // SAFETY: the caller's contract: the bytes are writable and unreferenced.
    unsafe { core::ptr::write_bytes(address as *mut u8, 0, length) };
}
