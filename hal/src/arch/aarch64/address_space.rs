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
//!
//! The walk itself is the shared `page_table::Walker` over the
//! `page_table::Aarch64` format; this module adds the ASIDs and the TLB
//! maintenance around it.

use super::boot::LINEAR_OFFSET;
use crate::page_table::{
    Aarch64, Existing, Format, Owner, PhysicalTables, WalkError, Walker, ENTRIES, PAGE_LEVEL,
};
use crate::user::{
    is_user_page, map_user_run, FrameSource, MapError, UserAddressSpace, UserPermission, USER_END,
    USER_START,
};
use spin::Mutex;

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

/// The walker over a process's tables. Taking the space's `&mut` (or,
/// for reading, `&`, under which nothing writes) keeps writers exclusive.
fn walker() -> Walker<Aarch64, PhysicalTables> {
    // SAFETY: (1) a process's tables — its root and every table its
    // descriptors name — are frames this module took from the kernel's
    // frame allocator and owns until `destroy`, reached through the
    // direct map and never referenced; (2) entries are written only
    // through `&mut AddressSpace` (`map`, `unmap`), so by one writer.
    Walker::new(unsafe { PhysicalTables::new(LINEAR_OFFSET) })
}

/// A process's lower-half translation table and its ASID.
#[derive(Debug)]
pub struct AddressSpace {
    root: u64,
    asid: u16,
}

impl UserAddressSpace for AddressSpace {
    fn new(frames: &mut dyn FrameSource) -> Option<Self> {
        let root = frames.allocate_frame()?;
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
        let leaf = Self::leaf(frame, permission);
        let mut allocate = |_| frames.allocate_frame();
        match walker().map(
            self.root,
            address,
            PAGE_LEVEL,
            leaf,
            Owner::User,
            Existing::Keep,
            &mut allocate,
        ) {
            Ok(None) => {}
            // No user table holds a block, so `Block` does not happen.
            Ok(Some(_)) | Err(WalkError::Block) => return Err(MapError::AlreadyMapped),
            Err(WalkError::OutOfTables) => return Err(MapError::OutOfMemory),
        }
        // The entry was invalid, so no stale TLB entry can exist for it;
        // the barrier orders the table write before any later use.
        // SAFETY: a store barrier; no memory access of its own.
        unsafe { core::arch::asm!("dsb ishst", "isb") };
        Ok(())
    }

    fn leaf(frame: u64, permission: UserPermission) -> u64 {
        Aarch64.user_page(frame, permission.into())
    }

    fn map_run(
        &mut self,
        address: u64,
        leaves: &[u64],
        frames: &mut dyn FrameSource,
    ) -> Result<usize, MapError> {
        let written = map_user_run(&mut walker(), self.root, address, leaves, frames);
        // The entries were invalid, so no stale TLB entry can exist for
        // them; the barrier orders the table writes before any later use.
        // SAFETY: a store barrier; no memory access of its own.
        unsafe { core::arch::asm!("dsb ishst", "isb") };
        written
    }

    fn unmap(&mut self, address: u64) -> Option<u64> {
        if !is_user_page(address) {
            return None;
        }
        let entry = walker().unmap(self.root, address)?;
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
        Some(Aarch64::address(entry))
    }

    fn lookup(&self, address: u64) -> Option<(u64, UserPermission)> {
        if !(USER_START..USER_END).contains(&address) {
            return None;
        }
        let entry = walker().lookup(self.root, address)?;
        Some((Aarch64::address(entry), Aarch64::user_access(entry).into()))
    }

    fn activate(&self) {
        // SAFETY: the table maps only this process's user pages; the kernel
        // lives in TTBR1 and is unaffected. With ASIDs no flush is needed.
        unsafe {
            core::arch::asm!(
                "msr ttbr0_el1, {}",
                "isb",
                in(reg) Aarch64::address(self.root) | (u64::from(self.asid) << 48),
            );
        }
    }

    fn destroy(self, frames: &mut dyn FrameSource) {
        super::mmu::activate_empty_user_table();
        walker().free_tables(self.root, 0, ENTRIES, &mut |table| frames.free_frame(table));
        release_asid(self.asid);
    }
}
