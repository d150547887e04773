// SPDX-License-Identifier: MIT OR Apache-2.0
//! The x86_64 descriptor format: 4-level paging, 4 KiB pages and 2 MiB
//! large pages (*Intel SDM* Vol. 3A §5.5; entry formats in Tables 5-15 to
//! 5-20).
//!
//! An entry is present with bit 0; in a PD entry, PS (bit 7) makes it a
//! 2 MiB page instead of a pointer to a page table (in a PT entry bit 7
//! is PAT, which the walker never reads there). The rights of a
//! translation are the intersection of every level's (§5.11.3), so table
//! entries allow everything and the leaf decides — except U/S, which a
//! user translation needs on every level and the kernel's never have.
//!
//! Accessed and dirty are preset so the CPU never writes them back. NX
//! (bit 63) forbids instruction fetches once `EFER.NXE` is set; without it
//! the bit is reserved, so the format is told at construction whether
//! the CPU has it.

use crate::{Format, KernelAccess, Owner, UserAccess, PAGE_LEVEL};

/// The entry is valid.
pub const PRESENT: u64 = 1 << 0;
/// Writes are allowed (with `CR0.WP`, for the kernel too).
pub const WRITABLE: u64 = 1 << 1;
/// U/S: user-mode accesses allowed (needed at every level).
pub const USER: u64 = 1 << 2;
/// PWT: write-through; with PCD, selects PAT entry 3 = uncached.
pub const WRITE_THROUGH: u64 = 1 << 3;
/// PCD: page-level cache disable.
pub const CACHE_DISABLE: u64 = 1 << 4;
/// Set by the CPU on first access (preset here).
pub const ACCESSED: u64 = 1 << 5;
/// Set by the CPU on first write to a page (preset on writable pages).
pub const DIRTY: u64 = 1 << 6;
/// PS: in a PD entry, the entry maps a 2 MiB page.
pub const LARGE: u64 = 1 << 7;
/// XD: instruction fetches are not allowed (needs `EFER.NXE`).
pub const NO_EXECUTE: u64 = 1 << 63;
/// Bits 51:12: the physical address of the page or next table.
pub const ADDRESS_MASK: u64 = 0x000f_ffff_ffff_f000;

/// The x86_64 descriptor format, knowing whether NX can be used.
#[derive(Clone, Copy, Debug, Default)]
pub struct X86_64 {
    no_execute: u64,
}

impl X86_64 {
    /// The format for a CPU with `EFER.NXE` set (`no_execute_supported`)
    /// or without NX, where bit 63 must stay clear.
    pub const fn new(no_execute_supported: bool) -> Self {
        X86_64 {
            no_execute: if no_execute_supported { NO_EXECUTE } else { 0 },
        }
    }
}

impl Format for X86_64 {
    const ADDRESS_MASK: u64 = ADDRESS_MASK;

    fn is_valid(entry: u64) -> bool {
        entry & PRESENT != 0
    }

    fn is_table(entry: u64) -> bool {
        entry & PRESENT != 0 && entry & LARGE == 0
    }

    fn is_page(entry: u64) -> bool {
        entry & PRESENT != 0
    }

    fn table_descriptor(table: u64, owner: Owner) -> u64 {
        let user = match owner {
            Owner::Kernel => 0,
            Owner::User => USER,
        };
        (table & ADDRESS_MASK) | PRESENT | WRITABLE | user
    }

    fn kernel_leaf(&self, physical: u64, access: KernelAccess, level: usize) -> u64 {
        let kind = if level == PAGE_LEVEL { 0 } else { LARGE };
        let no_execute = self.no_execute;
        let attributes = PRESENT
            | ACCESSED
            | match access {
                KernelAccess::ReadExecute => 0,
                KernelAccess::ReadOnly => no_execute,
                KernelAccess::ReadWrite => WRITABLE | DIRTY | no_execute,
                KernelAccess::Device => {
                    WRITABLE | DIRTY | CACHE_DISABLE | WRITE_THROUGH | no_execute
                }
            };
        (physical & ADDRESS_MASK) | kind | attributes
    }

    fn user_page(&self, frame: u64, access: UserAccess) -> u64 {
        let mut entry = (frame & ADDRESS_MASK) | PRESENT | USER | ACCESSED;
        if access.write {
            entry |= WRITABLE | DIRTY;
        }
        if !access.execute {
            entry |= self.no_execute;
        }
        entry
    }

    fn user_access(entry: u64) -> UserAccess {
        UserAccess {
            write: entry & WRITABLE != 0,
            // Without NX every readable page can be executed.
            execute: entry & NO_EXECUTE == 0,
        }
    }
}
