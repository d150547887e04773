// SPDX-License-Identifier: MIT OR Apache-2.0
//! x86_64 per-process page tables (CR3) and PCIDs.
//!
//! x86 has one root register for the whole address space, so each process
//! has its own four-level table whose lower half (PML4 entries 0–255) maps
//! that process's pages and whose upper half is a copy of the kernel's
//! PML4 entries 256–511 ([`super::mmu::copy_kernel_half`]): the kernel's
//! lower-level tables are shared, and none of their entries sets U/S, so
//! user code cannot touch the kernel (*Intel SDM* Vol. 3A §5.11.2).
//!
//! User pages set U/S at every level (the leaf decides the rest), `R/W`
//! only when writable and `XD` (bit 63) unless executable (with
//! `EFER.NXE`, which the boot code sets when the CPU has NX; with SMEP,
//! set in [`super::user_mode::init`], the kernel cannot execute them at
//! all — the counterpart of AArch64's `PXN`).
//!
//! **PCIDs.** When CPUID.01H:ECX.PCID[17] is set, [`init`] sets
//! `CR4.PCIDE` and every process gets a 12-bit process-context identifier
//! (1–4095; 0 is the kernel's own root), tagging its TLB entries, so
//! [`activate`](UserAddressSpace::activate) writes CR3 with bit 63 set and
//! flushes nothing (§5.10.1, §5.10.4.1):
//! - `unmap` of a page of the space in CR3 uses `invlpg`, which
//!   invalidates it for the current PCID; for another space, `invpcid`
//!   type 0 (one address, one PCID) when CPUID.07H:EBX.INVPCID[10] says
//!   the CPU has it, else the space is marked stale and its next
//!   activation writes CR3 *without* bit 63, which flushes that PCID;
//! - `destroy` switches to the kernel root if needed, frees the tables and
//!   flushes the retired PCID — `invpcid` type 1 (single context), or
//!   a CR3 load of the kernel root tagged with that PCID without bit 63,
//!   then back to PCID 0 — before the id returns to the pool, so a new
//!   process can never hit a translation of an old one.
//!
//! Without PCIDs every CR3 write flushes all (non-global) translations,
//! ids are not allocated, and only an `unmap` in the current space needs
//! an `invlpg`.

use super::mmu;
use crate::user::{
    FrameSource, MapError, UserAddressSpace, UserPermission, PAGE_SIZE, USER_END, USER_START,
};
use core::arch::x86_64::__cpuid_count;
use core::ptr::{read_volatile, write_volatile};
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use spin::Mutex;

// Entry bits (Intel SDM Vol. 3A, Tables 5-15 to 5-20).
/// The entry is valid.
const PRESENT: u64 = 1 << 0;
/// Writes allowed.
const WRITABLE: u64 = 1 << 1;
/// U/S: user-mode accesses allowed (needed at every level).
const USER: u64 = 1 << 2;
/// Preset so the CPU never writes it back.
const ACCESSED: u64 = 1 << 5;
/// Preset on writable pages, for the same reason.
const DIRTY: u64 = 1 << 6;
/// PS: a large page (never made here; a walk that meets one stops).
const LARGE: u64 = 1 << 7;
/// XD: no instruction fetches (with `EFER.NXE`).
const NO_EXECUTE: u64 = 1 << 63;
/// Bits 12–51: the next table or the page frame.
const ADDRESS_MASK: u64 = 0x000f_ffff_ffff_f000;

/// CR3 bit 63 with `CR4.PCIDE`: keep the PCID's cached translations.
const CR3_NO_FLUSH: u64 = 1 << 63;
/// `CR4.PCIDE`.
const CR4_PCIDE: u64 = 1 << 17;
/// PCIDs are 12 bits.
const PCID_COUNT: usize = 4096;

/// Set by [`init`] when `CR4.PCIDE` is on.
static PCIDS_ENABLED: AtomicBool = AtomicBool::new(false);
/// Set by [`init`] when the CPU has `invpcid`.
static INVPCID_AVAILABLE: AtomicBool = AtomicBool::new(false);

/// PCIDs in use (bit set); PCID 0 belongs to the kernel's root.
static PCIDS: Mutex<[u64; PCID_COUNT / 64]> = Mutex::new({
    let mut words = [0u64; PCID_COUNT / 64];
    words[0] = 1;
    words
});

/// Turns PCIDs on when the CPU has them. Called once at boot, after the
/// kernel's tables are in CR3 (PCID 0, as `CR4.PCIDE` requires: setting it
/// with CR3[11:0] ≠ 0 raises #GP, *Intel SDM* Vol. 3A §4.10.1 / MOV CR).
pub fn init() {
    // CPUID leaf 1 exists on every x86_64 CPU; leaf 7 is read only when
    // leaf 0 says it exists.
    let has_pcid = __cpuid_count(1, 0).ecx & (1 << 17) != 0;
    let has_invpcid = __cpuid_count(0, 0).eax >= 7 && __cpuid_count(7, 0).ebx & (1 << 10) != 0;
    if !has_pcid {
        return;
    }
    // SAFETY: the CPU has PCIDs (checked above); CR3 holds the kernel's
    // root with PCID 0 (`mmu::init_kernel_tables` wrote it with no flags)
    // and the CPU is in IA-32e mode, the two conditions for setting
    // `CR4.PCIDE`. Every later CR3 write in this port knows about PCIDs.
    unsafe {
        core::arch::asm!(
            "mov {value}, cr4",
            "or {value}, {pcide}",
            "mov cr4, {value}",
            value = out(reg) _,
            pcide = in(reg) CR4_PCIDE,
            options(nostack, preserves_flags),
        );
    }
    PCIDS_ENABLED.store(true, Ordering::Release);
    INVPCID_AVAILABLE.store(has_invpcid, Ordering::Release);
}

/// Whether `CR4.PCIDE` is set.
fn pcids_enabled() -> bool {
    PCIDS_ENABLED.load(Ordering::Acquire)
}

/// A free PCID, or 0 when PCIDs are off (no id is needed then).
fn allocate_pcid() -> Option<u16> {
    if !pcids_enabled() {
        return Some(0);
    }
    let mut pcids = PCIDS.lock();
    for (word_index, word) in pcids.iter_mut().enumerate() {
        if *word != !0 {
            let bit = (!*word).trailing_zeros() as usize;
            *word |= 1 << bit;
            return Some((word_index * 64 + bit) as u16);
        }
    }
    None
}

/// Flushes every translation tagged `pcid` from the TLB and the
/// paging-structure caches. CR3 must not hold `pcid` (the caller has
/// switched to the kernel root) and interrupts must be masked.
fn flush_pcid(pcid: u16) {
    if !pcids_enabled() || pcid == 0 {
        return;
    }
    if INVPCID_AVAILABLE.load(Ordering::Acquire) {
        invpcid(1, pcid, 0);
    } else {
        // A CR3 load without bit 63 invalidates everything tagged with the
        // PCID it loads (§5.10.4.1). The kernel root maps only the kernel,
        // so the kernel keeps running; then back to PCID 0, keeping it.
        let root = mmu::kernel_root();
        // SAFETY: both values name the kernel's root, which maps all the
        // kernel uses; PCIDs are on, so bits 0–11 are a PCID and bit 63
        // is the no-flush bit. Interrupts are masked by the caller, so no
        // code runs between the two writes.
        unsafe {
            core::arch::asm!(
                "mov cr3, {tagged}",
                "mov cr3, {kernel}",
                tagged = in(reg) root | u64::from(pcid),
                kernel = in(reg) root | CR3_NO_FLUSH,
                options(nostack, preserves_flags),
            );
        }
    }
}

/// Returns a flushed PCID to the pool.
fn release_pcid(pcid: u16) {
    if !pcids_enabled() || pcid == 0 {
        return;
    }
    let index = usize::from(pcid);
    PCIDS.lock()[index / 64] &= !(1 << (index % 64));
}

/// `invpcid` of `kind` (0: one address, 1: one PCID) (*Intel SDM* Vol. 2A,
/// INVPCID). Only called when the CPU has the instruction.
fn invpcid(kind: u64, pcid: u16, address: u64) {
    // The 128-bit descriptor: PCID in bits 0–11, the address in 64–127.
    let descriptor: [u64; 2] = [u64::from(pcid), address];
    // SAFETY: `INVPCID_AVAILABLE` was checked by the caller and PCIDs are
    // on; the descriptor is a live local, its reserved bits (12–63) zero,
    // and `address` canonical (a user page) for type 0. Invalidation
    // touches no memory Rust can see.
    unsafe {
        core::arch::asm!(
            "invpcid {kind}, [{descriptor}]",
            kind = in(reg) kind,
            descriptor = in(reg) descriptor.as_ptr(),
            options(nostack, preserves_flags, readonly),
        );
    }
}

fn entry_pointer(table: u64, index: usize) -> *mut u64 {
    (mmu::physical_to_virtual(table & ADDRESS_MASK) + (index % 512) as u64 * 8) as *mut u64
}

fn read_entry(table: u64, index: usize) -> u64 {
    // SAFETY: `table` is a page-table frame owned by an `AddressSpace`
    // (allocated from the kernel's frames, reached through the direct
    // map); `index < 512` keeps the access inside it.
    unsafe { read_volatile(entry_pointer(table, index)) }
}

fn write_entry(table: u64, index: usize, value: u64) {
    // SAFETY: as in `read_entry`; the table is reached through `&mut
    // AddressSpace`, so no one else writes it concurrently (the kernel
    // half of the root, written by `mmu`, is never touched here).
    unsafe { write_volatile(entry_pointer(table, index), value) }
}

/// The index of `address` in the table of `level` (0 = PML4 … 3 = PT):
/// bits 47–39, 38–30, 29–21, 20–12 (§5.5, Figure 5-8).
fn index_at(address: u64, level: usize) -> usize {
    ((address >> (39 - 9 * level)) & 0x1ff) as usize
}

/// A process's page table, its PCID, and what its TLB entries need.
#[derive(Debug)]
pub struct AddressSpace {
    root: u64,
    pcid: u16,
    /// A page was unmapped while another root was in CR3 and `invpcid`
    /// was not available: the next activation flushes the PCID.
    stale: AtomicBool,
    /// The [`mmu::kernel_half_generation`] the kernel half was copied at.
    kernel_generation: AtomicU64,
}

impl AddressSpace {
    /// The page table covering `address`, creating tables if `frames` is
    /// given.
    fn leaf_table(
        &mut self,
        address: u64,
        mut frames: Option<&mut dyn FrameSource>,
    ) -> Result<u64, MapError> {
        let mut table = self.root;
        for level in 0..3 {
            let index = index_at(address, level);
            let entry = read_entry(table, index);
            if entry & PRESENT == 0 {
                let Some(source) = frames.as_deref_mut() else {
                    return Err(MapError::OutOfMemory);
                };
                let next = source.allocate_frame().ok_or(MapError::OutOfMemory)?;
                crate::user::physical::zero_frame(next);
                // Everything allowed at the upper levels; the leaf decides
                // (the effective rights are the intersection, §5.11.3).
                write_entry(
                    table,
                    index,
                    (next & ADDRESS_MASK) | PRESENT | WRITABLE | USER,
                );
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
            if entry & PRESENT == 0 || entry & LARGE != 0 {
                return None;
            }
            table = entry & ADDRESS_MASK;
        }
        Some(table)
    }

    /// Frees `table` and, above the page-table level, the tables below it.
    /// At the root only the user half (entries 0–255) is walked: the
    /// kernel half's tables belong to the kernel.
    fn free_tables(table: u64, level: usize, frames: &mut dyn FrameSource) {
        if level < 3 {
            let entries = if level == 0 {
                mmu::KERNEL_HALF_FIRST_ENTRY
            } else {
                512
            };
            for index in 0..entries {
                let entry = read_entry(table, index);
                if entry & PRESENT != 0 && entry & LARGE == 0 {
                    Self::free_tables(entry & ADDRESS_MASK, level + 1, frames);
                }
            }
        }
        frames.free_frame(table);
    }

    /// Whether CR3 holds this space's root.
    fn is_current(&self) -> bool {
        mmu::current_root() == self.root
    }
}

fn is_user_page(address: u64) -> bool {
    address % PAGE_SIZE == 0 && (USER_START..USER_END).contains(&address)
}

impl UserAddressSpace for AddressSpace {
    fn new(frames: &mut dyn FrameSource) -> Option<Self> {
        let root = frames.allocate_frame()?;
        crate::user::physical::zero_frame(root);
        let Some(pcid) = allocate_pcid() else {
            frames.free_frame(root);
            return None;
        };
        // Read the generation first: a PML4 entry added during the copy
        // makes the recorded generation old, so `activate` copies again.
        let generation = mmu::kernel_half_generation();
        mmu::copy_kernel_half(root);
        Some(AddressSpace {
            root,
            pcid,
            stale: AtomicBool::new(false),
            kernel_generation: AtomicU64::new(generation),
        })
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
        if read_entry(table, index) & PRESENT != 0 {
            return Err(MapError::AlreadyMapped);
        }
        let mut entry = (frame & ADDRESS_MASK) | PRESENT | USER | ACCESSED;
        if permission.write {
            entry |= WRITABLE | DIRTY;
        }
        if !permission.execute && mmu::no_execute_supported() {
            entry |= NO_EXECUTE;
        }
        // The entry was not present, so no TLB entry can exist for it
        // (the CPU caches only present translations, §5.10.2.1): no
        // invalidation needed.
        write_entry(table, index, entry);
        Ok(())
    }

    fn unmap(&mut self, address: u64) -> Option<u64> {
        if !is_user_page(address) {
            return None;
        }
        let table = self.find_leaf(address)?;
        let index = index_at(address, 3);
        let entry = read_entry(table, index);
        if entry & PRESENT == 0 {
            return None;
        }
        write_entry(table, index, 0);
        if self.is_current() {
            // SAFETY: `invlpg` drops the page's translations for the
            // current PCID (and paging-structure caches); it touches no
            // memory (Intel SDM Vol. 2A, INVLPG).
            unsafe {
                core::arch::asm!("invlpg [{}]", in(reg) address, options(nostack, preserves_flags))
            };
        } else if pcids_enabled() {
            if INVPCID_AVAILABLE.load(Ordering::Acquire) {
                invpcid(0, self.pcid, address);
            } else {
                self.stale.store(true, Ordering::Release);
            }
        }
        // Without PCIDs, translations of a space not in CR3 were all
        // dropped by the CR3 write that replaced it.
        Some(entry & ADDRESS_MASK)
    }

    fn lookup(&self, address: u64) -> Option<(u64, UserPermission)> {
        if !(USER_START..USER_END).contains(&address) {
            return None;
        }
        let table = self.find_leaf(address)?;
        let entry = read_entry(table, index_at(address, 3));
        if entry & PRESENT == 0 {
            return None;
        }
        let permission = UserPermission {
            write: entry & WRITABLE != 0,
            // Without NX every readable page can be executed.
            execute: entry & NO_EXECUTE == 0,
        };
        Some((entry & ADDRESS_MASK, permission))
    }

    fn activate(&self) {
        let generation = mmu::kernel_half_generation();
        if self.kernel_generation.swap(generation, Ordering::AcqRel) != generation {
            mmu::copy_kernel_half(self.root);
        }
        let value = if pcids_enabled() {
            let flush = self.stale.swap(false, Ordering::AcqRel);
            if !flush && self.is_current() {
                return;
            }
            let no_flush = if flush { 0 } else { CR3_NO_FLUSH };
            self.root | u64::from(self.pcid) | no_flush
        } else {
            if self.is_current() {
                return;
            }
            self.root
        };
        // SAFETY: the root maps the kernel half exactly as the kernel's
        // own root does (copied above, up to date), so the code, stack and
        // data in use stay mapped; the lower half maps only this process's
        // pages, user-accessible. With PCIDs the value carries this
        // space's PCID, which no other live space has, and bit 63 only
        // when nothing of this PCID needs flushing.
        unsafe {
            core::arch::asm!("mov cr3, {}", in(reg) value, options(nostack, preserves_flags))
        };
    }

    fn destroy(self, frames: &mut dyn FrameSource) {
        let were_enabled = super::disable_interrupts_raw();
        if self.is_current() {
            mmu::activate_kernel_root(pcids_enabled());
        }
        // Flush before the table frames go back: until then the
        // paging-structure caches may still point into them.
        flush_pcid(self.pcid);
        Self::free_tables(self.root, 0, frames);
        release_pcid(self.pcid);
        super::restore_interrupts_raw(were_enabled);
    }
}
