// SPDX-License-Identifier: MIT OR Apache-2.0
//! Table frames in memory, for the one page-table walker.
//!
//! The walker (the `page-table` crate) is generic and safe: it reads and
//! writes entries only through [`TableMemory`]. [`PhysicalTables`] is the
//! implementation every table of both ports uses — the kernel's own
//! tables in `mmu` and each process's in `address_space` — and the one
//! place where an entry of a table frame is reached through a raw
//! pointer. Which virtual address reaches a table's physical frame is the
//! caller's choice: the direct map for frames from the frame allocator,
//! the image mapping for the kernel's `.bss` table pool.

#[cfg(target_arch = "aarch64")]
pub(crate) use page_table::Aarch64;
#[cfg(target_arch = "x86_64")]
pub(crate) use page_table::X86_64;
pub(crate) use page_table::{
    Existing, Format, KernelAccess, Owner, TableMemory, UserAccess, WalkError, Walker, BLOCK_LEVEL,
    BLOCK_SIZE, ENTRIES, PAGE_LEVEL,
};

use crate::user::UserPermission;
use core::ptr::{read_volatile, write_volatile};

/// The walker's name for what a user page allows, from the kernel's.
impl From<UserPermission> for UserAccess {
    fn from(permission: UserPermission) -> Self {
        UserAccess {
            write: permission.write,
            execute: permission.execute,
        }
    }
}

/// The kernel's name for what a user page allows, from the walker's.
impl From<UserAccess> for UserPermission {
    fn from(access: UserAccess) -> Self {
        UserPermission {
            write: access.write,
            execute: access.execute,
        }
    }
}

/// Table frames reached at a fixed offset from their physical address:
/// the direct map's, or, for frames inside the kernel image (the `.bss`
/// table pool, reachable before the direct map exists), the image
/// mapping's. Two offsets and a range, not a function: every entry access
/// goes through here.
#[derive(Clone, Copy)]
pub(crate) struct PhysicalTables {
    /// Physical addresses reached through the image mapping.
    image: (u64, u64),
    image_offset: u64,
    direct_offset: u64,
}

impl PhysicalTables {
    /// Table frames reached at `physical + direct_offset`.
    ///
    /// # Safety
    ///
    /// For every table the walker is given or finds through this value —
    /// the roots its callers pass, and every address a table descriptor in
    /// them holds:
    /// 1. it is a 4 KiB table frame owned by those translation tables
    ///    (from the kernel's table pool or frame allocator, never freed
    ///    while reachable), mapped read-write at its virtual address (see
    ///    [`Self::with_image`]), and never the target of a Rust reference;
    /// 2. whoever writes through this value holds the tables' lock or a
    ///    `&mut` to their owner, so no other writer touches the same
    ///    entries at once (the CPU's table walker only reads them).
    pub(crate) const unsafe fn new(direct_offset: u64) -> Self {
        PhysicalTables {
            image: (0, 0),
            image_offset: 0,
            direct_offset,
        }
    }

    /// As [`Self::new`], but frames in the physical range `image` are
    /// reached at `physical + image_offset`.
    ///
    /// # Safety
    ///
    /// As [`Self::new`].
    pub(crate) const unsafe fn with_image(
        image: (u64, u64),
        image_offset: u64,
        direct_offset: u64,
    ) -> Self {
        PhysicalTables {
            image,
            image_offset,
            direct_offset,
        }
    }

    /// The address of entry `index` of `table`, inside the table's page
    /// whatever the arguments (low address bits dropped, index reduced).
    #[inline]
    fn entry_pointer(&self, table: u64, index: usize) -> *mut u64 {
        let physical = table & !(page_table::PAGE_SIZE - 1);
        let offset = if physical >= self.image.0 && physical < self.image.1 {
            self.image_offset
        } else {
            self.direct_offset
        };
        (physical.wrapping_add(offset) + (index % ENTRIES) as u64 * 8) as *mut u64
    }
}

impl TableMemory for PhysicalTables {
    #[inline]
    fn read(&self, table: u64, index: usize) -> u64 {
        // SAFETY: `table` is a table frame mapped at the address `entry_pointer`
        // computes (obligation 1 of `new`); the pointer stays inside its page and is
        // aligned. Volatile, as the write: the tables are shared with the
        // CPU's table walker, which the compiler cannot see.
        unsafe { read_volatile(self.entry_pointer(table, index)) }
    }

    #[inline]
    fn write(&mut self, table: u64, index: usize, entry: u64) {
        // SAFETY: as in `read`, and no one else writes the entry at the
        // same time (obligation 2 of `new`). Volatile: the CPU's walker
        // reads the table behind the compiler's back.
        unsafe { write_volatile(self.entry_pointer(table, index), entry) }
    }
}
