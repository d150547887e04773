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
//!
//! The walk itself is the shared `page_table::Walker` over the
//! `page_table::X86_64` format; this module adds the PCIDs, the TLB
//! invalidation and the kernel half around it.

use super::mmu;
use crate::page_table::{
    Existing, Format, Owner, PhysicalTables, WalkError, Walker, PAGE_LEVEL, X86_64,
};
use crate::user::{
    is_user_page, map_user_run, FrameSource, MapError, UserAddressSpace, UserPermission, USER_END,
    USER_START,
};
use core::arch::x86_64::__cpuid_count;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use spin::Mutex;

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

/// The walker over a process's tables.
fn walker() -> Walker<X86_64, PhysicalTables> {
    // SAFETY: (1) a process's tables — its root and every table the
    // descriptors of its user half name — are frames this module took
    // from the kernel's frame allocator and owns until `destroy`, reached
    // through the direct map and never referenced. The kernel half's
    // tables (the same tables as the kernel's own, in the image's pool or
    // the heap, both in the direct map) are never walked here: every
    // address walked is a user address, so the walk stays in entries
    // 0–255 of the root, and teardown stops there. (2) Entries are
    // written only through `&mut AddressSpace` (`map`, `unmap`), so by one
    // writer; the root's kernel half is written only by `mmu`.
    Walker::new(unsafe { PhysicalTables::new(super::boot::LINEAR_OFFSET) })
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
    /// Whether CR3 holds this space's root.
    fn is_current(&self) -> bool {
        mmu::current_root() == self.root
    }
}

impl UserAddressSpace for AddressSpace {
    fn new(frames: &mut dyn FrameSource) -> Option<Self> {
        let root = frames.allocate_frame()?;
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
        let leaf = Self::leaf(frame, permission);
        // Everything allowed at the upper levels, U/S included; the leaf
        // decides (the effective rights are the intersection, §5.11.3).
        let mut allocate = |_| frames.allocate_frame();
        // The entry was not present, so no TLB entry can exist for it
        // (the CPU caches only present translations, §5.10.2.1): no
        // invalidation needed.
        match walker().map(
            self.root,
            address,
            PAGE_LEVEL,
            leaf,
            Owner::User,
            Existing::Keep,
            &mut allocate,
        ) {
            Ok(None) => Ok(()),
            // No user table holds a large page, so `Block` does not happen.
            Ok(Some(_)) | Err(WalkError::Block) => Err(MapError::AlreadyMapped),
            Err(WalkError::OutOfTables) => Err(MapError::OutOfMemory),
        }
    }

    fn leaf(frame: u64, permission: UserPermission) -> u64 {
        // Without NX the format leaves bit 63 (reserved then) clear.
        X86_64::new(mmu::no_execute_supported()).user_page(frame, permission.into())
    }

    fn map_run(
        &mut self,
        address: u64,
        leaves: &[u64],
        frames: &mut dyn FrameSource,
    ) -> Result<usize, MapError> {
        // The entries were not present: no TLB entry can exist for them.
        map_user_run(&mut walker(), self.root, address, leaves, frames)
    }

    fn unmap(&mut self, address: u64) -> Option<u64> {
        if !is_user_page(address) {
            return None;
        }
        let entry = walker().unmap(self.root, address)?;
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
        Some(X86_64::address(entry))
    }

    fn lookup(&self, address: u64) -> Option<(u64, UserPermission)> {
        if !(USER_START..USER_END).contains(&address) {
            return None;
        }
        let entry = walker().lookup(self.root, address)?;
        // Without NX every readable page can be executed.
        Some((X86_64::address(entry), X86_64::user_access(entry).into()))
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
        // At the root only the user half (entries 0–255) is walked: the
        // kernel half's tables belong to the kernel.
        walker().free_tables(self.root, 0, mmu::KERNEL_HALF_FIRST_ENTRY, &mut |table| {
            frames.free_frame(table)
        });
        release_pcid(self.pcid);
        super::restore_interrupts_raw(were_enabled);
    }
}
