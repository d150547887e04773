// SPDX-License-Identifier: MIT OR Apache-2.0
//! AArch64 translation tables for the kernel half of the address space.
//!
//! The kernel's table (`TTBR1_EL1`, addresses `0xffff…`) holds:
//! - the kernel image at `KERNEL_OFFSET + physical`, 4 KiB pages, each
//!   section with its own permissions: text read-only and executable,
//!   rodata read-only, data and bss read-write — never writable and
//!   executable at once;
//! - the direct map of RAM at `LINEAR_OFFSET + physical`, read-write and
//!   never executable, in 2 MiB blocks where alignment allows; the image
//!   itself is left out so its text has no writable alias;
//! - device registers, mapped on request by [`map_device`] at
//!   `LINEAR_OFFSET + physical` with the Device-nGnRE memory type.
//!
//! `TTBR0_EL1` (the lower half, later each process's own) points at an
//! empty table once the kernel runs in the upper half, so a stray low
//! pointer faults instead of reaching memory.
//!
//! Descriptor formats: *Arm ARM* D8.3 (VMSAv8-64 translation table format,
//! 4 KiB granule, 48-bit addresses, four levels), encoded by
//! `page_table::Aarch64`; the walk is the shared `page_table::Walker`,
//! reaching the tables through [`crate::page_table::PhysicalTables`].

use super::boot::{KERNEL_OFFSET, LINEAR_OFFSET};
use crate::boot_info::{subtract_range, FixedList, MemoryRange};
use crate::page_table::{
    Aarch64, Existing, Format, KernelAccess, Owner, PhysicalTables, WalkError, Walker, BLOCK_LEVEL,
    BLOCK_SIZE, ENTRIES, PAGE_LEVEL,
};
use spin::Mutex;

const PAGE_SIZE: u64 = 4096;

/// One 4 KiB translation table.
#[repr(C, align(4096))]
struct Table([u64; ENTRIES]);

/// Tables for the kernel's own mappings, in `.bss` so they exist before any
/// allocator does. 64 tables map the image, up to 64 GiB of RAM in 2 MiB
/// blocks, and the devices of any virtual machine we meet.
const POOL_TABLES: usize = 64;
static mut TABLE_POOL: [Table; POOL_TABLES] = [const { Table([0; ENTRIES]) }; POOL_TABLES];

/// The kernel's mapping state: the root table and the pool cursor.
struct KernelTables {
    root: u64,
    empty_user_root: u64,
    next_pool_table: usize,
}

static TABLES: Mutex<KernelTables> = Mutex::new(KernelTables {
    root: 0,
    empty_user_root: 0,
    next_pool_table: 0,
});

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
/// through the image mapping, others through the direct map.
fn kernel_tables_memory() -> (u64, u64) {
    let image = image_range();
    (image.start, image.end())
}

impl KernelTables {
    /// Takes a zeroed table from the pool; `None` when exhausted.
    fn allocate_table(&mut self) -> Option<u64> {
        if self.next_pool_table >= POOL_TABLES {
            return None;
        }
        let index = self.next_pool_table;
        self.next_pool_table += 1;
        // SAFETY: only the pool cursor hands out pool tables, once each, and
        // it is behind the `TABLES` lock; taking the address of one element
        // creates no reference.
        let virtual_address = unsafe { (&raw mut TABLE_POOL[index]) as u64 };
        Some(virtual_address - KERNEL_OFFSET)
    }

    /// The walker over the kernel's tables. Taking `&mut self` means the
    /// caller holds the `TABLES` lock.
    fn walker(&mut self) -> Walker<Aarch64, PhysicalTables> {
        // SAFETY: (1) the kernel's tables — the root and every table its
        // descriptors name — are pool tables handed out once each by
        // `allocate_table`, never freed and never referenced (only their
        // addresses are taken), reached through the image mapping
        // (`kernel_tables_memory`); (2) `&mut self` proves the `TABLES` lock is held.
        Walker::new(unsafe {
            PhysicalTables::with_image(kernel_tables_memory(), KERNEL_OFFSET, LINEAR_OFFSET)
        })
    }

    /// Maps `[virtual_address, +size)` to `[physical, +size)`, using 2 MiB
    /// blocks when both sides are aligned and `allow_blocks` is set.
    fn map(
        &mut self,
        virtual_address: u64,
        physical: u64,
        size: u64,
        access: KernelAccess,
        allow_blocks: bool,
    ) -> bool {
        let mut walker = self.walker();
        let root = self.root;
        let mut offset = 0;
        while offset < size {
            let va = virtual_address + offset;
            let pa = physical + offset;
            let use_block = allow_blocks
                && va % BLOCK_SIZE == 0
                && pa % BLOCK_SIZE == 0
                && size - offset >= BLOCK_SIZE;
            let level = if use_block { BLOCK_LEVEL } else { PAGE_LEVEL };
            let leaf = Aarch64.kernel_leaf(pa, access, level);
            match walker.map(
                root,
                va,
                level,
                leaf,
                Owner::Kernel,
                Existing::Replace,
                &mut |_| self.allocate_table(),
            ) {
                Ok(_) => {}
                // Already covered by a block (e.g. a device inside a
                // mapped block): leave it.
                Err(WalkError::Block) => return true,
                Err(WalkError::OutOfTables) => return false,
            }
            offset += if use_block { BLOCK_SIZE } else { PAGE_SIZE };
        }
        true
    }
}

/// Builds the kernel's final table and switches to it. `ram` is every RAM
/// range from the firmware. Stops the machine (with a message) if the pool
/// runs out, which only a machine with absurdly fragmented RAM can cause.
pub fn init_kernel_tables(ram: &[MemoryRange]) {
    unsafe extern "C" {
        static __text_end: u8;
        static __rodata_end: u8;
    }
    let image = image_range();
    let text_end = (&raw const __text_end) as u64 - KERNEL_OFFSET;
    let rodata_end = (&raw const __rodata_end) as u64 - KERNEL_OFFSET;

    let mut tables = TABLES.lock();
    let (Some(root), Some(empty)) = (tables.allocate_table(), tables.allocate_table()) else {
        fatal()
    };
    tables.root = root;
    tables.empty_user_root = empty;
    let mut ok = true;
    ok &= tables.map(
        image.start + KERNEL_OFFSET,
        image.start,
        text_end - image.start,
        KernelAccess::ReadExecute,
        false,
    );
    ok &= tables.map(
        text_end + KERNEL_OFFSET,
        text_end,
        rodata_end - text_end,
        KernelAccess::ReadOnly,
        false,
    );
    ok &= tables.map(
        rodata_end + KERNEL_OFFSET,
        rodata_end,
        image.end() - rodata_end,
        KernelAccess::ReadWrite,
        false,
    );

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
        fatal();
    }

    // 16-bit ASIDs when the CPU has them (ID_AA64MMFR0_EL1.ASIDBits = 0b0010).
    let features: u64;
    // SAFETY: reads an ID register; no side effects.
    unsafe { core::arch::asm!("mrs {}, id_aa64mmfr0_el1", out(reg) features) };
    if (features >> 4) & 0xf == 0b0010 {
        SIXTEEN_BIT_ASIDS.store(true, core::sync::atomic::Ordering::Relaxed);
        // SAFETY: TCR_EL1.AS (bit 36) selects 16-bit ASIDs; set before any
        // ASID other than 0 is used, followed by a synchronisation barrier.
        unsafe {
            core::arch::asm!("mrs {t}, tcr_el1", "orr {t}, {t}, #(1 << 36)", "msr tcr_el1, {t}", "isb", t = out(reg) _)
        };
    }

    // SAFETY: the new TTBR1 table maps everything the kernel uses from now
    // on — its image (where this code, its stack and statics live), the
    // direct map of RAM (heap, device tree) and, as soon as callers remap
    // them, devices; the UART is remapped right after this returns and is
    // not used in between. TTBR0 gets an empty table: nothing runs in the
    // lower half any more. The TLB is invalidated after both writes.
    unsafe {
        core::arch::asm!(
            "dsb ishst",
            "msr ttbr1_el1, {root}",
            "msr ttbr0_el1, {empty}",
            "isb",
            "tlbi vmalle1",
            "dsb ish",
            "isb",
            root = in(reg) root,
            empty = in(reg) empty,
        );
    }
}

/// How many ASIDs the CPU supports: 65536 when `ID_AA64MMFR0_EL1.ASIDBits`
/// says 16 (and `TCR_EL1.AS` was set), else 256.
pub fn asid_count() -> usize {
    if SIXTEEN_BIT_ASIDS.load(core::sync::atomic::Ordering::Relaxed) {
        65536
    } else {
        256
    }
}

static SIXTEEN_BIT_ASIDS: core::sync::atomic::AtomicBool =
    core::sync::atomic::AtomicBool::new(false);

/// Points `TTBR0_EL1` at the empty table (ASID 0): no user mappings.
pub fn activate_empty_user_table() {
    let empty = TABLES.lock().empty_user_root;
    // SAFETY: the empty table maps nothing; the kernel lives in TTBR1.
    unsafe { core::arch::asm!("msr ttbr0_el1, {}", "isb", in(reg) empty) };
}

/// Maps device registers at `LINEAR_OFFSET + physical` (page-rounded) and
/// returns the virtual address of `physical`. Mapping the same registers
/// twice is harmless. Returns 0 if the table pool is exhausted.
pub fn map_device(physical: u64, size: u64) -> u64 {
    let start = physical & !(PAGE_SIZE - 1);
    let end = (physical + size.max(1) + PAGE_SIZE - 1) & !(PAGE_SIZE - 1);
    let mut tables = TABLES.lock();
    if tables.root == 0 {
        // Still on the boot table, which maps the low 4 GiB as devices.
        return physical + LINEAR_OFFSET;
    }
    if !tables.map(
        start + LINEAR_OFFSET,
        start,
        end - start,
        KernelAccess::Device,
        false,
    ) {
        return 0;
    }
    // SAFETY: a barrier and a TLB invalidation by address; no memory is
    // touched. New entries replace invalid ones, so only ordering matters.
    unsafe { core::arch::asm!("dsb ishst", "isb") };
    physical + LINEAR_OFFSET
}

/// Translates a kernel virtual address (image or direct map) to physical.
pub fn virtual_to_physical(virtual_address: u64) -> Option<u64> {
    if virtual_address >= LINEAR_OFFSET {
        Some(virtual_address - LINEAR_OFFSET)
    } else if virtual_address >= KERNEL_OFFSET {
        Some(virtual_address - KERNEL_OFFSET)
    } else {
        None
    }
}

/// The direct-map address of a physical address.
pub fn physical_to_virtual(physical: u64) -> u64 {
    physical + LINEAR_OFFSET
}

fn fatal() -> ! {
    super::boot::log_early("fatal: out of boot page tables while mapping the kernel\n");
    super::psci::power_off(crate::ExitStatus::Failure(1))
}

/// Bytes one `dc zva` zeroes, read once from `DCZID_EL0` (`BS`: log2 of
/// the block in words); 0 when the instruction is prohibited (`DZP`).
fn zero_block_bytes() -> u64 {
    use core::sync::atomic::{AtomicU64, Ordering};
    /// `u64::MAX`: not read yet.
    static BLOCK: AtomicU64 = AtomicU64::new(u64::MAX);
    let known = BLOCK.load(Ordering::Relaxed);
    if known != u64::MAX {
        return known;
    }
    let id: u64;
    // SAFETY: reads an identification register, readable at EL1; no
    // memory access.
    unsafe { core::arch::asm!("mrs {}, dczid_el0", out(reg) id, options(nomem, nostack)) };
    let block = if id & (1 << 4) != 0 {
        0
    } else {
        4 << (id & 0xf)
    };
    BLOCK.store(block, Ordering::Relaxed);
    block
}

/// Copies `length` bytes from `source` to `target`: 64 bytes per loop
/// (four register pairs in, four out) where both are 16-byte aligned at
/// the same point, the bytes around that by `copy_nonoverlapping`. The
/// build's `memcpy` moves a word per loop; a program's private pages are
/// copied whole at every spawn.
///
/// # Safety
///
/// As `core::ptr::copy_nonoverlapping`: `source` readable and `target`
/// writable for `length` bytes, not overlapping, and no Rust reference to
/// the target bytes alive.
pub(crate) unsafe fn copy_bytes(target: *mut u8, source: *const u8, length: usize) {
    let head = target.align_offset(16).min(length);
    let blocks = (length - head) / 64;
    if blocks == 0 || (source as usize).wrapping_add(head) % 16 != 0 {
        // SAFETY: the caller's contract.
        unsafe { core::ptr::copy_nonoverlapping(source, target, length) };
        return;
    }
    // SAFETY: the caller's contract, for the head's bytes.
    unsafe { core::ptr::copy_nonoverlapping(source, target, head) };
    // SAFETY: `head + blocks * 64 <= length`, so every pair loaded and
    // stored lies in the caller's ranges, 16-byte aligned (both are at
    // `head`); the registers named are declared clobbered.
    unsafe {
        core::arch::asm!(
            "2:",
            "ldp {a}, {b}, [{source}]",
            "ldp {c}, {d}, [{source}, #16]",
            "stp {a}, {b}, [{target}]",
            "stp {c}, {d}, [{target}, #16]",
            "ldp {a}, {b}, [{source}, #32]",
            "ldp {c}, {d}, [{source}, #48]",
            "stp {a}, {b}, [{target}, #32]",
            "stp {c}, {d}, [{target}, #48]",
            "add {source}, {source}, #64",
            "add {target}, {target}, #64",
            "subs {blocks}, {blocks}, #1",
            "b.ne 2b",
            source = inout(reg) source.add(head) => _,
            target = inout(reg) target.add(head) => _,
            blocks = inout(reg) blocks => _,
            a = out(reg) _,
            b = out(reg) _,
            c = out(reg) _,
            d = out(reg) _,
            options(nostack),
        );
    }
    let done = head + blocks * 64;
    // SAFETY: the caller's contract, for the tail's bytes.
    unsafe { core::ptr::copy_nonoverlapping(source.add(done), target.add(done), length - done) };
}

/// Zeroes the `length` bytes at `address`, a block of cache lines at a
/// time (`dc zva`) where the CPU allows it and the bytes span whole
/// blocks, the edges by `write_bytes`.
///
/// # Safety
///
/// The bytes are mapped writable as normal memory (the direct map), and no
/// Rust reference to any of them is alive.
pub(crate) unsafe fn zero_bytes(address: u64, length: usize) {
    let block = zero_block_bytes();
    let end = address + length as u64;
    let first = address.next_multiple_of(block.max(1));
    let last = end - end % block.max(1);
    if block == 0 || block > PAGE_SIZE || first >= last {
        // SAFETY: the caller's contract: the bytes are writable and
        // unreferenced.
        unsafe { core::ptr::write_bytes(address as *mut u8, 0, length) };
        return;
    }
    // SAFETY: the caller's contract, for the bytes before the first block.
    unsafe { core::ptr::write_bytes(address as *mut u8, 0, (first - address) as usize) };
    let mut at = first;
    while at < last {
        // SAFETY: `at` is a block-aligned address whose whole block lies
        // in the caller's bytes, which its contract makes writable normal
        // memory.
        unsafe { core::arch::asm!("dc zva, {}", in(reg) at, options(nostack)) };
        at += block;
    }
    // SAFETY: the caller's contract, for the bytes after the last block.
    unsafe { core::ptr::write_bytes(last as *mut u8, 0, (end - last) as usize) };
}
