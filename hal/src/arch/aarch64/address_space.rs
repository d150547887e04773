// SPDX-License-Identifier: MIT OR Apache-2.0
//! AArch64 per-process translation tables (`TTBR0_EL1`) and ASIDs.
//!
//! Each process has a four-level table for the lower half, tagged with a
//! 16-bit ASID (`TCR_EL1.AS` = 1, ASID in `TTBR0_EL1[63:48]`), so switching
//! processes is one register write with no TLB flush. User pages are
//! non-global (`nG`), never executable at EL1 (`PXN`), and readable by EL0
//! (`AP[1]` = 1); read-only pages set `AP[2]`, non-executable ones `UXN`.
//! Unmapping invalidates the one page for the ASID (`TLBI VAE1IS`); a
//! retired ASID is invalidated whole (`TLBI ASIDE1IS`) before it can be
//! handed out again. (*Arm ARM* D8.3, D8.14.)

use super::boot::LINEAR_OFFSET;
use crate::user::{
    FrameSource, MapError, UserAddressSpace, UserPermission, PAGE_SIZE, USER_END, USER_START,
};
use core::ptr::{read_volatile, write_volatile};
use spin::Mutex;

const VALID: u64 = 1 << 0;
const TABLE_OR_PAGE: u64 = 1 << 1;
const ATTR_NORMAL: u64 = 1 << 2;
const EL0_ACCESS: u64 = 1 << 6;
const READ_ONLY: u64 = 1 << 7;
const INNER_SHAREABLE: u64 = 0b11 << 8;
const ACCESSED: u64 = 1 << 10;
const NOT_GLOBAL: u64 = 1 << 11;
const PRIVILEGED_EXECUTE_NEVER: u64 = 1 << 53;
const USER_EXECUTE_NEVER: u64 = 1 << 54;
const ADDRESS_MASK: u64 = 0x0000_ffff_ffff_f000;

/// ASIDs in use (bit set); ASID 0 belongs to the kernel's empty table.
static ASIDS: Mutex<[u64; 1024]> = Mutex::new({
    let mut words = [0u64; 1024];
    words[0] = 1;
    words
});

fn allocate_asid() -> Option<u16> {
    let usable_words = super::mmu::asid_count() / 64;
    let mut asids = ASIDS.lock();
    for (word_index, word) in asids.iter_mut().enumerate().take(usable_words) {
        if *word != !0 {
            let bit = (!*word).trailing_zeros() as usize;
            *word |= 1 << bit;
            return Some((word_index * 64 + bit) as u16);
        }
    }
    None
}

fn release_asid(asid: u16) {
    // SAFETY: invalidates every TLB entry tagged with `asid` on all CPUs
    // in the inner-shareable domain; no memory is accessed.
    unsafe {
        core::arch::asm!(
            "dsb ishst",
            "tlbi aside1is, {}",
            "dsb ish",
            "isb",
            in(reg) u64::from(asid) << 48,
        );
    }
    let index = usize::from(asid);
    ASIDS.lock()[index / 64] &= !(1 << (index % 64));
}

fn entry_pointer(table: u64, index: usize) -> *mut u64 {
    (LINEAR_OFFSET + (table & ADDRESS_MASK) + (index % 512) as u64 * 8) as *mut u64
}

fn read_entry(table: u64, index: usize) -> u64 {
    // SAFETY: `table` is a translation-table frame owned by an
    // `AddressSpace` (allocated from the kernel's frames, reached through
    // the direct map); `index < 512` keeps the access inside it.
    unsafe { read_volatile(entry_pointer(table, index)) }
}

fn write_entry(table: u64, index: usize, value: u64) {
    // SAFETY: as in `read_entry`; the table is reached through `&mut
    // AddressSpace`, so no one else writes it concurrently.
    unsafe { write_volatile(entry_pointer(table, index), value) }
}

fn index_at(address: u64, level: usize) -> usize {
    ((address >> (39 - 9 * level)) & 0x1ff) as usize
}

/// A process's lower-half translation table and its ASID.
#[derive(Debug)]
pub struct AddressSpace {
    root: u64,
    asid: u16,
}

impl AddressSpace {
    /// The level-3 table covering `address`, creating tables if `frames`
    /// is given.
    fn leaf_table(
        &mut self,
        address: u64,
        mut frames: Option<&mut dyn FrameSource>,
    ) -> Result<u64, MapError> {
        let mut table = self.root;
        for level in 0..3 {
            let index = index_at(address, level);
            let entry = read_entry(table, index);
            if entry & VALID == 0 {
                let Some(source) = frames.as_deref_mut() else {
                    return Err(MapError::OutOfMemory);
                };
                let next = source.allocate_frame().ok_or(MapError::OutOfMemory)?;
                crate::user::physical::zero_frame(next);
                write_entry(table, index, (next & ADDRESS_MASK) | VALID | TABLE_OR_PAGE);
                table = next;
            } else {
                table = entry & ADDRESS_MASK;
            }
        }
        Ok(table)
    }

    fn find_leaf(&self, address: u64) -> Option<u64> {
        let mut table = self.root;
        for level in 0..3 {
            let entry = read_entry(table, index_at(address, level));
            if entry & (VALID | TABLE_OR_PAGE) != (VALID | TABLE_OR_PAGE) {
                return None;
            }
            table = entry & ADDRESS_MASK;
        }
        Some(table)
    }

    fn free_tables(table: u64, level: usize, frames: &mut dyn FrameSource) {
        if level < 3 {
            for index in 0..512 {
                let entry = read_entry(table, index);
                if entry & (VALID | TABLE_OR_PAGE) == (VALID | TABLE_OR_PAGE) {
                    Self::free_tables(entry & ADDRESS_MASK, level + 1, frames);
                }
            }
        }
        frames.free_frame(table);
    }
}

fn is_user_page(address: u64) -> bool {
    address % PAGE_SIZE == 0 && (USER_START..USER_END).contains(&address)
}

impl UserAddressSpace for AddressSpace {
    fn new(frames: &mut dyn FrameSource) -> Option<Self> {
        let root = frames.allocate_frame()?;
        crate::user::physical::zero_frame(root);
        match allocate_asid() {
            Some(asid) => Some(AddressSpace { root, asid }),
            None => {
                frames.free_frame(root);
                None
            }
        }
    }

    fn map(
        &mut self,
        address: u64,
        frame: u64,
        permission: UserPermission,
        frames: &mut dyn FrameSource,
    ) -> Result<(), MapError> {
        if !is_user_page(address) {
            return Err(MapError::NotUserAddress);
        }
        let table = self.leaf_table(address, Some(frames))?;
        let index = index_at(address, 3);
        if read_entry(table, index) & VALID != 0 {
            return Err(MapError::AlreadyMapped);
        }
        let mut entry = (frame & ADDRESS_MASK)
            | VALID
            | TABLE_OR_PAGE
            | ATTR_NORMAL
            | INNER_SHAREABLE
            | ACCESSED
            | NOT_GLOBAL
            | EL0_ACCESS
            | PRIVILEGED_EXECUTE_NEVER;
        if !permission.write {
            entry |= READ_ONLY;
        }
        if !permission.execute {
            entry |= USER_EXECUTE_NEVER;
        }
        // The entry was invalid, so no stale TLB entry can exist for it;
        // the barrier orders the table write before any later use.
        write_entry(table, index, entry);
        // SAFETY: a store barrier; no memory access of its own.
        unsafe { core::arch::asm!("dsb ishst", "isb") };
        Ok(())
    }

    fn unmap(&mut self, address: u64) -> Option<u64> {
        if !is_user_page(address) {
            return None;
        }
        let table = self.find_leaf(address)?;
        let index = index_at(address, 3);
        let entry = read_entry(table, index);
        if entry & VALID == 0 {
            return None;
        }
        write_entry(table, index, 0);
        // SAFETY: invalidates the page's TLB entries for this ASID (operand:
        // ASID in bits 63:48, VA[55:12] in bits 43:0); no memory access.
        unsafe {
            core::arch::asm!(
                "dsb ishst",
                "tlbi vae1is, {}",
                "dsb ish",
                "isb",
                in(reg) (u64::from(self.asid) << 48) | ((address >> 12) & 0xfff_ffff_ffff),
            );
        }
        Some(entry & ADDRESS_MASK)
    }

    fn lookup(&self, address: u64) -> Option<(u64, UserPermission)> {
        if !(USER_START..USER_END).contains(&address) {
            return None;
        }
        let table = self.find_leaf(address)?;
        let entry = read_entry(table, index_at(address, 3));
        if entry & (VALID | TABLE_OR_PAGE) != (VALID | TABLE_OR_PAGE) {
            return None;
        }
        let permission = UserPermission {
            write: entry & READ_ONLY == 0,
            execute: entry & USER_EXECUTE_NEVER == 0,
        };
        Some((entry & ADDRESS_MASK, permission))
    }

    fn activate(&self) {
        // SAFETY: the table maps only this process's user pages; the kernel
        // lives in TTBR1 and is unaffected. With ASIDs no flush is needed.
        unsafe {
            core::arch::asm!(
                "msr ttbr0_el1, {}",
                "isb",
                in(reg) (self.root & ADDRESS_MASK) | (u64::from(self.asid) << 48),
            );
        }
    }

    fn destroy(self, frames: &mut dyn FrameSource) {
        super::mmu::activate_empty_user_table();
        Self::free_tables(self.root, 0, frames);
        release_asid(self.asid);
    }
}
