// SPDX-License-Identifier: MIT OR Apache-2.0
#![doc = include_str!("../README.md")]
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod aarch64;
pub mod extent;
pub mod x86_64;

pub use aarch64::Aarch64;
pub use x86_64::X86_64;

use core::marker::PhantomData;

/// Entries in one table (both formats: 4 KiB tables of 8-byte entries).
pub const ENTRIES: usize = 512;
/// Bytes in a page, the leaf of the last level.
pub const PAGE_SIZE: u64 = 4096;
/// Bytes in a block (AArch64) or large page (x86_64): a leaf at
/// [`BLOCK_LEVEL`].
pub const BLOCK_SIZE: u64 = 2 << 20;
/// The level whose leaves are 2 MiB blocks (AArch64 level 2, x86_64 PD).
pub const BLOCK_LEVEL: usize = 2;
/// The last level, whose entries map 4 KiB pages (AArch64 level 3, x86_64
/// PT).
pub const PAGE_LEVEL: usize = 3;

/// The index of `address` in the table of `level` (0 = root).
///
/// Each level translates 9 bits above the 12-bit page offset: bits 47–39
/// index the root, 38–30 level 1, 29–21 level 2, 20–12 level 3 (*Arm ARM*
/// D8.2.7, 4 KiB granule with 48-bit addresses; *Intel SDM* Vol. 3A
/// Figure 5-8). Bits above 47 (the upper half's ones) are ignored, as the
/// hardware does once it has chosen the table by them.
pub fn index(address: u64, level: usize) -> usize {
    ((address >> (39 - 9 * level)) & (ENTRIES as u64 - 1)) as usize
}

/// Access to the table frames: the walker's only way to memory.
///
/// `table` is always the physical address of a 4 KiB table — the root
/// given to the walker or an address taken from a table descriptor — and
/// `index` is below [`ENTRIES`]. `hal/` implements this over the direct
/// map (the one place with raw pointers); the tests over host memory.
pub trait TableMemory {
    /// The entry `index` of `table`.
    fn read(&self, table: u64, index: usize) -> u64;
    /// Sets the entry `index` of `table` to `entry`.
    fn write(&mut self, table: u64, index: usize, entry: u64);
}

/// Whose tables a new table descriptor goes into: the x86_64 U/S bit must
/// be set on every level of a user translation and on none of the
/// kernel's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owner {
    /// The kernel's own tables (the upper half).
    Kernel,
    /// A process's tables (the lower half).
    User,
}

/// What a kernel leaf allows. Never writable and executable at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KernelAccess {
    /// Kernel text.
    ReadExecute,
    /// Kernel rodata, firmware tables.
    ReadOnly,
    /// Kernel data, heap, direct map.
    ReadWrite,
    /// Device registers: device memory (AArch64) or uncached (x86_64).
    Device,
}

/// What user code may do with a page; every mapped user page is readable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct UserAccess {
    /// Writes allowed.
    pub write: bool,
    /// Instruction fetches allowed.
    pub execute: bool,
}

/// A descriptor format: how one architecture encodes table entries.
///
/// The associated functions describe the structure the walker follows;
/// the methods encode leaves, and take `&self` because an encoding may
/// depend on what the CPU supports (x86_64's NX bit).
pub trait Format {
    /// The bits of an entry that hold the next table's or the leaf's
    /// physical address.
    const ADDRESS_MASK: u64;
    /// Whether the entry is valid (present) at all.
    fn is_valid(entry: u64) -> bool;
    /// Whether an entry above [`PAGE_LEVEL`] points to a next-level table
    /// (valid and not a block).
    fn is_table(entry: u64) -> bool;
    /// Whether an entry of [`PAGE_LEVEL`] maps a page.
    fn is_page(entry: u64) -> bool;
    /// The physical address an entry holds (next table or leaf).
    fn address(entry: u64) -> u64 {
        entry & Self::ADDRESS_MASK
    }
    /// A descriptor pointing to the table at physical `table`. It allows
    /// everything; the leaf decides.
    fn table_descriptor(table: u64, owner: Owner) -> u64;
    /// A kernel leaf at `level` ([`BLOCK_LEVEL`] or [`PAGE_LEVEL`]) mapping
    /// `physical`.
    fn kernel_leaf(&self, physical: u64, access: KernelAccess, level: usize) -> u64;
    /// A user page mapping `frame`.
    fn user_page(&self, frame: u64, access: UserAccess) -> u64;
    /// What a user page entry allows.
    fn user_access(entry: u64) -> UserAccess;
}

/// Why a walk stopped short of the level it was asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WalkError {
    /// A table on the way is missing, and the allocator gave none.
    OutOfTables,
    /// A block (large page) on the way already maps the address.
    Block,
}

/// Whether [`Walker::map`] may replace a valid leaf.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Existing {
    /// Leave a valid leaf as it is.
    Keep,
    /// Write the new leaf over it. The caller answers for the TLB and
    /// (on AArch64) for break-before-make.
    Replace,
}

/// The page-table walker for format `F` over memory `M`.
///
/// It holds no root: each operation takes the physical address of the
/// root table, so one walker serves the kernel's table and every
/// process's. It does no TLB maintenance and takes no locks; the callers
/// in `hal/src/arch/*/` do both, as the architecture requires.
pub struct Walker<F, M> {
    memory: M,
    format: PhantomData<F>,
}

impl<F: Format, M: TableMemory> Walker<F, M> {
    /// A walker reaching table frames through `memory`.
    pub const fn new(memory: M) -> Self {
        Walker {
            memory,
            format: PhantomData,
        }
    }

    /// The memory the walker reaches tables through.
    pub fn memory(&mut self) -> &mut M {
        &mut self.memory
    }

    /// The table of `level` covering `address`, when the walk from `root`
    /// finds tables all the way down (no allocation). `None` at a missing
    /// entry or a block.
    pub fn table(&self, root: u64, address: u64, level: usize) -> Option<u64> {
        let mut table = root;
        for current in 0..level {
            let entry = self.memory.read(table, index(address, current));
            if !F::is_table(entry) {
                return None;
            }
            table = F::address(entry);
        }
        Some(table)
    }

    /// The entry of `level` covering `address` (valid or not), when the
    /// table holding it exists.
    pub fn entry(&self, root: u64, address: u64, level: usize) -> Option<u64> {
        let table = self.table(root, address, level)?;
        Some(self.memory.read(table, index(address, level)))
    }

    /// The table of `level` covering `address`, creating the missing
    /// tables on the way from `allocate`.
    ///
    /// `allocate(level)` returns the physical address of a zeroed table for
    /// a new entry in the table of `level`, or `None`; the new table gets
    /// a descriptor for `owner`.
    ///
    /// Return values: `OutOfTables` when `allocate` returns `None` (tables
    /// made before stay, empty); `Block` when a valid leaf above `level`
    /// already maps the address.
    pub fn table_or_create(
        &mut self,
        root: u64,
        address: u64,
        level: usize,
        owner: Owner,
        allocate: &mut dyn FnMut(usize) -> Option<u64>,
    ) -> Result<u64, WalkError> {
        let mut table = root;
        for current in 0..level {
            let slot = index(address, current);
            let entry = self.memory.read(table, slot);
            if !F::is_valid(entry) {
                let next = allocate(current).ok_or(WalkError::OutOfTables)?;
                self.memory
                    .write(table, slot, F::table_descriptor(next, owner));
                table = next;
            } else if F::is_table(entry) {
                table = F::address(entry);
            } else {
                return Err(WalkError::Block);
            }
        }
        Ok(table)
    }

    /// Writes `leaf` as the entry of `level` for `address`, creating the
    /// tables on the way (see [`Walker::table_or_create`]). Returns the
    /// entry that was there if it was valid — then replaced only with
    /// [`Existing::Replace`] — or `None` when the slot was empty.
    ///
    /// Return values: the errors of [`Walker::table_or_create`].
    #[allow(clippy::too_many_arguments, reason = "one walk, every input named")]
    pub fn map(
        &mut self,
        root: u64,
        address: u64,
        level: usize,
        leaf: u64,
        owner: Owner,
        existing: Existing,
        allocate: &mut dyn FnMut(usize) -> Option<u64>,
    ) -> Result<Option<u64>, WalkError> {
        let table = self.table_or_create(root, address, level, owner, allocate)?;
        let slot = index(address, level);
        let previous = self.memory.read(table, slot);
        let occupied = F::is_valid(previous);
        if !occupied || existing == Existing::Replace {
            self.memory.write(table, slot, leaf);
        }
        Ok(occupied.then_some(previous))
    }

    /// Writes `leaves` as the page entries of consecutive pages from
    /// `address` (page-aligned), creating the tables on the way (see
    /// [`Walker::table_or_create`]); each last-level table is found once.
    /// A slot already valid keeps its entry. Returns how many leaves were
    /// written.
    ///
    /// Return values: the errors of [`Walker::table_or_create`] (the
    /// leaves before the failing table stay written).
    pub fn map_run(
        &mut self,
        root: u64,
        address: u64,
        leaves: &[u64],
        owner: Owner,
        allocate: &mut dyn FnMut(usize) -> Option<u64>,
    ) -> Result<usize, WalkError> {
        let mut written = 0;
        let mut at = address;
        let mut rest = leaves;
        while !rest.is_empty() {
            let table = self.table_or_create(root, at, PAGE_LEVEL, owner, allocate)?;
            let first = index(at, PAGE_LEVEL);
            let here = rest.len().min(ENTRIES - first);
            for (slot, &leaf) in (first..first + here).zip(&rest[..here]) {
                if !F::is_valid(self.memory.read(table, slot)) {
                    self.memory.write(table, slot, leaf);
                    written += 1;
                }
            }
            rest = &rest[here..];
            at += here as u64 * PAGE_SIZE;
        }
        Ok(written)
    }

    /// Clears the page entry for `address` and returns what it held, or
    /// `None` (changing nothing) when no valid entry maps it. The caller
    /// invalidates the TLB.
    pub fn unmap(&mut self, root: u64, address: u64) -> Option<u64> {
        let table = self.table(root, address, PAGE_LEVEL)?;
        let slot = index(address, PAGE_LEVEL);
        let entry = self.memory.read(table, slot);
        if !F::is_valid(entry) {
            return None;
        }
        self.memory.write(table, slot, 0);
        Some(entry)
    }

    /// The page entry mapping `address`, if a page maps it.
    pub fn lookup(&self, root: u64, address: u64) -> Option<u64> {
        self.entry(root, address, PAGE_LEVEL)
            .filter(|&entry| F::is_page(entry))
    }

    /// Frees `table`, of `level`, and every table below it, through
    /// `free`. Only entries `0..entries` of `table` are followed (the
    /// x86_64 user root stops at the kernel half); leaves are not freed.
    pub fn free_tables(&self, table: u64, level: usize, entries: usize, free: &mut dyn FnMut(u64)) {
        if level < PAGE_LEVEL {
            for slot in 0..entries.min(ENTRIES) {
                let entry = self.memory.read(table, slot);
                if F::is_table(entry) {
                    self.free_tables(F::address(entry), level + 1, ENTRIES, free);
                }
            }
        }
        free(table);
    }
}

#[cfg(test)]
mod tests;
