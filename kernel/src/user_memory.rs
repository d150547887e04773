// SPDX-License-Identifier: MIT OR Apache-2.0
//! A process's memory: its ranges of the one user address space, the
//! frames behind them, and checked copies in and out.
//!
//! DESIGN §3: every user segment gets a virtual range from one global
//! allocator ([`UserRanges`]), so no two live processes overlap and an
//! address means the same thing everywhere; each process's own table maps
//! only its own ranges. User pointers are claims: [`UserMemory::copy_in`]
//! and [`UserMemory::copy_out`] look every page up in the process's table,
//! check the user's permission (a page read-only for the user is never
//! written, even through the kernel's direct map) and copy through the
//! direct map. A bad pointer is `EFAULT`, never a kernel fault.
//!
//! Zero-filled memory — a program's `.bss` (its heap lives there), its
//! stack — is mapped on first touch ([`UserMemory::map_lazy`]): a process
//! pays for the pages it uses, not for the ones it might. A user fault on
//! such a page maps a zeroed frame ([`UserMemory::fault_in`]); a copy the
//! kernel makes for a system call maps the pages it crosses first, so a
//! pointer into untouched `.bss` is as good as any other.

use crate::memory::{Frame, FRAMES};
use crate::program_cache::SharedPages;
use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;
use hal::user::{
    physical, Access, FrameSource, UserAddressSpace, UserPermission, PAGE_SIZE, USER_END,
    USER_START,
};
use hal::AddressSpace;
use manux_abi::Errno;
use spin::Mutex;

/// The kernel's frame allocator as a [`FrameSource`] for `hal/`.
pub struct KernelFrames;

impl FrameSource for KernelFrames {
    fn allocate_frame(&mut self) -> Option<u64> {
        FRAMES.lock().as_mut()?.allocate().map(|frame| frame.0)
    }

    fn free_frame(&mut self, physical: u64) {
        if let Some(allocator) = FRAMES.lock().as_mut() {
            allocator.free(Frame(physical));
        }
    }
}

/// The free ranges of the user half, shared by every process.
struct UserRanges {
    /// Sorted, non-overlapping `(start, end)`.
    free: Vec<(u64, u64)>,
}

static RANGES: Mutex<Option<UserRanges>> = Mutex::new(None);

/// A gap left unmapped after every range, so running off the end of one
/// segment faults instead of reaching the next.
const GUARD: u64 = PAGE_SIZE;

/// Takes `size` bytes (page-rounded, plus a guard page) of user address
/// space; `None` when none is left.
pub fn allocate_range(size: u64) -> Option<u64> {
    let size = size.div_ceil(PAGE_SIZE) * PAGE_SIZE + GUARD;
    let mut ranges = RANGES.lock();
    let ranges = ranges.get_or_insert_with(|| UserRanges {
        free: alloc::vec![(USER_START, USER_END)],
    });
    let index = ranges
        .free
        .iter()
        .position(|(start, end)| end - start >= size)?;
    let (start, end) = ranges.free[index];
    if end - start == size {
        ranges.free.remove(index);
    } else {
        ranges.free[index].0 = start + size;
    }
    Some(start)
}

/// Returns a range taken by [`allocate_range`] with the same `size`.
pub fn free_range(start: u64, size: u64) {
    let size = size.div_ceil(PAGE_SIZE) * PAGE_SIZE + GUARD;
    let mut ranges = RANGES.lock();
    let Some(ranges) = ranges.as_mut() else {
        return;
    };
    let position = ranges
        .free
        .iter()
        .position(|(s, _)| *s > start)
        .unwrap_or(ranges.free.len());
    ranges.free.insert(position, (start, start + size));
    let mut index = 0;
    while index + 1 < ranges.free.len() {
        if ranges.free[index].1 == ranges.free[index + 1].0 {
            ranges.free[index].1 = ranges.free[index + 1].1;
            ranges.free.remove(index + 1);
        } else {
            index += 1;
        }
    }
}

/// An answer of [`UserMemory::writable_runs`] kept for the next call: the
/// address and length asked about, and the runs `(address, length)`.
type WritableRuns = (u64, usize, Vec<(u64, usize)>);

/// A process's memory.
pub struct UserMemory {
    space: AddressSpace,
    /// Ranges taken from the global allocator: `(start, size)`.
    reservations: Vec<(u64, u64)>,
    /// Mapped pages: user address → frame.
    pages: BTreeMap<u64, u64>,
    /// Ranges mapped zeroed on first touch: `(start, end, permission)`.
    lazy: Vec<(u64, u64, UserPermission)>,
    /// Pages mapped read-only from a program's shared frames (not this
    /// process's to free, never written): user address → frame.
    shared: BTreeMap<u64, u64>,
    /// The shared page sets mapped here, kept alive while they are.
    holds: Vec<Arc<SharedPages>>,
    /// The last answer of [`UserMemory::writable_runs`]: `(address,
    /// length, runs)`. A program reads into the same buffer again and
    /// again; the answer stays true as long as no page of the range is
    /// unmapped, moved to another frame or loses write permission — and
    /// nothing here does that except [`UserMemory::remap`], which clears
    /// it (mappings otherwise only grow, and `destroy` ends them all).
    last_runs: Option<WritableRuns>,
}

impl UserMemory {
    /// An empty address space.
    ///
    /// Return values: `OutOfMemory` if no table or id is left.
    pub fn new() -> Result<Self, Errno> {
        let space = AddressSpace::new(&mut KernelFrames).ok_or(Errno::OutOfMemory)?;
        Ok(UserMemory {
            space,
            reservations: Vec::new(),
            pages: BTreeMap::new(),
            lazy: Vec::new(),
            shared: BTreeMap::new(),
            holds: Vec::new(),
            last_runs: None,
        })
    }

    /// Takes `size` bytes of the user half for this process; returns the
    /// start. Nothing is mapped yet.
    ///
    /// Return values: `OutOfMemory` when the address space is exhausted.
    pub fn reserve(&mut self, size: u64) -> Result<u64, Errno> {
        self.reservations
            .try_reserve(1)
            .map_err(|_| Errno::OutOfMemory)?;
        let start = allocate_range(size).ok_or(Errno::OutOfMemory)?;
        self.reservations.push((start, size));
        Ok(start)
    }

    /// Maps a zeroed page at `address` (inside a reservation) with
    /// `permission`; a page already mapped keeps its frame and gets the
    /// union of both permissions.
    ///
    /// Return values: `InvalidArgument` if the address is outside this
    /// process's reservations or the result would be writable and
    /// executable; `OutOfMemory`.
    pub fn map_page(&mut self, address: u64, permission: UserPermission) -> Result<(), Errno> {
        let address = address & !(PAGE_SIZE - 1);
        let inside = self.reservations.iter().any(|&(start, size)| {
            address >= start && address + PAGE_SIZE <= start + size.div_ceil(PAGE_SIZE) * PAGE_SIZE
        });
        if !inside || self.shared.contains_key(&address) {
            return Err(Errno::InvalidArgument);
        }
        if let Some(&frame) = self.pages.get(&address) {
            let (_, old) = self.space.lookup(address).ok_or(Errno::InvalidArgument)?;
            let merged = UserPermission {
                write: old.write || permission.write,
                execute: old.execute || permission.execute,
            };
            return self.remap(address, frame, merged);
        }
        if permission.write && permission.execute {
            return Err(Errno::InvalidArgument);
        }
        let frame = KernelFrames.allocate_frame().ok_or(Errno::OutOfMemory)?;
        self.map_fresh(address, frame, permission)
    }

    /// Zeroes `frame` (just taken from the allocator) and maps it at the
    /// unmapped page `address`; frees it on failure.
    ///
    /// Return values: `OutOfMemory`.
    fn map_fresh(
        &mut self,
        address: u64,
        frame: u64,
        permission: UserPermission,
    ) -> Result<(), Errno> {
        physical::zero_frame(frame);
        if self
            .space
            .map(address, frame, permission, &mut KernelFrames)
            .is_err()
        {
            KernelFrames.free_frame(frame);
            return Err(Errno::OutOfMemory);
        }
        self.pages.insert(address, frame);
        Ok(())
    }

    /// Maps `pages`' frames read-only at `start` plus each page's offset
    /// (inside a reservation), and keeps `pages` alive while mapped. The
    /// frames are shared: the kernel never writes them through this
    /// memory ([`Self::load`] refuses) and never frees them.
    ///
    /// Return values: `InvalidArgument` if a page is outside the
    /// reservations, already mapped, or writable; `OutOfMemory`.
    pub fn map_shared(&mut self, start: u64, pages: &Arc<SharedPages>) -> Result<(), Errno> {
        self.holds.try_reserve(1).map_err(|_| Errno::OutOfMemory)?;
        self.holds.push(pages.clone());
        for &(offset, frame, permission) in &pages.pages {
            let address = start + offset;
            let inside = self.reservations.iter().any(|&(first, size)| {
                address >= first
                    && address + PAGE_SIZE <= first + size.div_ceil(PAGE_SIZE) * PAGE_SIZE
            });
            if !inside
                || permission.write
                || self.pages.contains_key(&address)
                || self.shared.contains_key(&address)
            {
                return Err(Errno::InvalidArgument);
            }
            self.space
                .map(address, frame, permission, &mut KernelFrames)
                .map_err(|_| Errno::OutOfMemory)?;
            self.shared.insert(address, frame);
        }
        Ok(())
    }

    /// Makes the pages of `[start, end)` (inside a reservation) zeroed
    /// memory with `permission`, mapped when first touched, by the user
    /// ([`Self::fault_in`]) or by the kernel's copies.
    ///
    /// Return values: `InvalidArgument` if the range is outside this
    /// process's reservations or the permission writable and executable;
    /// `OutOfMemory`.
    pub fn map_lazy(
        &mut self,
        start: u64,
        end: u64,
        permission: UserPermission,
    ) -> Result<(), Errno> {
        let start = start & !(PAGE_SIZE - 1);
        let end = end.div_ceil(PAGE_SIZE) * PAGE_SIZE;
        if end <= start {
            return Ok(());
        }
        let inside = self.reservations.iter().any(|&(first, size)| {
            start >= first && end <= first + size.div_ceil(PAGE_SIZE) * PAGE_SIZE
        });
        if !inside || (permission.write && permission.execute) {
            return Err(Errno::InvalidArgument);
        }
        self.lazy.try_reserve(1).map_err(|_| Errno::OutOfMemory)?;
        self.lazy.push((start, end, permission));
        Ok(())
    }

    /// The permission of the lazy range holding `page`, if any.
    fn lazy_permission(&self, page: u64) -> Option<UserPermission> {
        self.lazy
            .iter()
            .find(|&&(start, end, _)| page >= start && page < end)
            .map(|&(_, _, permission)| permission)
    }

    /// Handles a user fault at `address`: maps a zeroed page there if it
    /// lies in a lazy range, is not mapped yet, and the range allows
    /// `access`. Returns whether the process may retry the access (false:
    /// a real fault, or no frame left).
    pub fn fault_in(&mut self, address: u64, access: Access) -> bool {
        let page = address & !(PAGE_SIZE - 1);
        if self.pages.contains_key(&page) || self.shared.contains_key(&page) {
            return false;
        }
        let Some(permission) = self.lazy_permission(page) else {
            return false;
        };
        let allowed = match access {
            Access::Read => true,
            Access::Write => permission.write,
            Access::Execute => permission.execute,
        };
        allowed && self.map_page(page, permission).is_ok()
    }

    /// Maps the lazy pages of `[address, address + length)` not mapped
    /// yet, before the kernel copies through them.
    ///
    /// Return values: `OutOfMemory`.
    fn populate(&mut self, address: u64, length: usize) -> Result<(), Errno> {
        if self.lazy.is_empty() || length == 0 {
            return Ok(());
        }
        let end = address.saturating_add(length as u64).min(USER_END);
        let mut page = address & !(PAGE_SIZE - 1);
        // Usually every page is mapped already: one walk over the map
        // says so, rather than a lookup per page.
        let pages = end.saturating_sub(page).div_ceil(PAGE_SIZE) as usize;
        if self.pages.range(page..end).count() == pages {
            return Ok(());
        }
        while page < end {
            let missing = |memory: &Self, page: u64| {
                !memory.pages.contains_key(&page) && !memory.shared.contains_key(&page)
            };
            let Some(permission) = self.lazy_permission(page).filter(|_| missing(self, page))
            else {
                page += PAGE_SIZE;
                continue;
            };
            // A stretch of missing pages gets physically consecutive
            // frames where the allocator has them, so a device can fill
            // it in one request (see `writable_runs`).
            let mut wanted = 1;
            while page + wanted * PAGE_SIZE < end
                && missing(self, page + wanted * PAGE_SIZE)
                && self.lazy_permission(page + wanted * PAGE_SIZE) == Some(permission)
            {
                wanted += 1;
            }
            let (first, count) = FRAMES
                .lock()
                .as_mut()
                .and_then(|allocator| allocator.allocate_run(wanted))
                .ok_or(Errno::OutOfMemory)?;
            for index in 0..count {
                if let Err(error) = self.map_fresh(page, first.0 + index * PAGE_SIZE, permission) {
                    // `map_fresh` freed its own frame; free the rest.
                    for rest in index + 1..count {
                        KernelFrames.free_frame(first.0 + rest * PAGE_SIZE);
                    }
                    return Err(error);
                }
                page += PAGE_SIZE;
            }
        }
        Ok(())
    }

    fn remap(&mut self, address: u64, frame: u64, permission: UserPermission) -> Result<(), Errno> {
        if permission.write && permission.execute {
            return Err(Errno::InvalidArgument);
        }
        self.last_runs = None;
        self.space.unmap(address);
        self.space
            .map(address, frame, permission, &mut KernelFrames)
            .map_err(|_| Errno::OutOfMemory)
    }

    /// Reserves `size` bytes of zeroed memory, mapped on first touch;
    /// returns the start.
    ///
    /// Return values: as [`Self::reserve`] and [`Self::map_lazy`].
    pub fn map_new(&mut self, size: u64, permission: UserPermission) -> Result<u64, Errno> {
        let start = self.reserve(size)?;
        self.map_lazy(start, start + size, permission)?;
        Ok(start)
    }

    /// Writes `bytes` at `address` as the kernel (ignoring the user's
    /// write permission: for loading read-only segments).
    ///
    /// Return values: `BadAddress` if a byte is not mapped;
    /// `InvalidArgument` if one lies in a shared page.
    pub fn load(&mut self, address: u64, bytes: &[u8]) -> Result<(), Errno> {
        if !self.shared.is_empty() && !bytes.is_empty() {
            let end = address.saturating_add(bytes.len() as u64);
            let first = address & !(PAGE_SIZE - 1);
            if self.shared.range(first..end).next().is_some() {
                return Err(Errno::InvalidArgument);
            }
        }
        self.copy(address, bytes.len(), false, |frame, offset, range| {
            physical::write(frame, offset, &bytes[range]);
        })
    }

    /// Copies `length` bytes from user memory at `address`.
    ///
    /// Return values: `BadAddress` if any byte is not mapped readable for
    /// the user; `OutOfMemory` if the kernel cannot hold the copy.
    pub fn copy_in(&mut self, address: u64, length: usize) -> Result<Vec<u8>, Errno> {
        let mut bytes = Vec::new();
        bytes
            .try_reserve_exact(length)
            .map_err(|_| Errno::OutOfMemory)?;
        bytes.resize(length, 0);
        self.copy(address, length, false, |frame, offset, range| {
            physical::read(frame, offset, &mut bytes[range]);
        })?;
        Ok(bytes)
    }

    /// Copies `bytes` to user memory at `address`.
    ///
    /// Return values: `BadAddress` if any byte is not mapped writable for
    /// the user (nothing is written then).
    pub fn copy_out(&mut self, address: u64, bytes: &[u8]) -> Result<(), Errno> {
        self.copy(address, bytes.len(), true, |frame, offset, range| {
            physical::write(frame, offset, &bytes[range]);
        })
    }

    /// The RAM behind `[address, address + length)`, checked writable for
    /// the user, as runs of physically consecutive bytes: `(physical
    /// start, length)`, in order.
    ///
    /// Return values: `BadAddress`; `OutOfMemory`.
    pub fn writable_runs(
        &mut self,
        address: u64,
        length: usize,
    ) -> Result<Vec<(u64, usize)>, Errno> {
        let end = address
            .checked_add(length as u64)
            .ok_or(Errno::BadAddress)?;
        if length == 0 {
            return Ok(Vec::new());
        }
        if address < USER_START || end > USER_END {
            return Err(Errno::BadAddress);
        }
        if let Some((last_address, last_length, runs)) = &self.last_runs {
            if (*last_address, *last_length) == (address, length) {
                let mut copy = Vec::new();
                copy.try_reserve_exact(runs.len())
                    .map_err(|_| Errno::OutOfMemory)?;
                copy.extend_from_slice(runs);
                return Ok(copy);
            }
        }
        self.populate(address, length)?;
        // One walk per page gives both the permission and the frame.
        let mut runs: Vec<(u64, usize)> = Vec::new();
        let mut done = 0;
        while done < length {
            let position = address + done as u64;
            let frame = match self.space.lookup(position) {
                Some((frame, permission)) if permission.write => frame,
                _ => return Err(Errno::BadAddress),
            };
            let offset = (position % PAGE_SIZE) as usize;
            let take = (PAGE_SIZE as usize - offset).min(length - done);
            let physical = frame + offset as u64;
            match runs.last_mut() {
                Some((start, bytes)) if *start + *bytes as u64 == physical => *bytes += take,
                _ => {
                    runs.try_reserve(1).map_err(|_| Errno::OutOfMemory)?;
                    runs.push((physical, take));
                }
            }
            done += take;
        }
        let mut kept = Vec::new();
        if kept.try_reserve_exact(runs.len()).is_ok() {
            kept.extend_from_slice(&runs);
            self.last_runs = Some((address, length, kept));
        }
        Ok(runs)
    }

    /// Checks that `[address, address + length)` is mapped for the user,
    /// writable if `write`.
    ///
    /// Return values: `BadAddress`.
    pub fn check(&mut self, address: u64, length: usize, write: bool) -> Result<(), Errno> {
        let end = address
            .checked_add(length as u64)
            .ok_or(Errno::BadAddress)?;
        if length == 0 {
            return Ok(());
        }
        if address < USER_START || end > USER_END {
            return Err(Errno::BadAddress);
        }
        self.populate(address, length)?;
        let mut page = address & !(PAGE_SIZE - 1);
        while page < end {
            match self.space.lookup(page) {
                Some((_, permission)) if !write || permission.write => {}
                _ => return Err(Errno::BadAddress),
            }
            page += PAGE_SIZE;
        }
        Ok(())
    }

    fn copy(
        &mut self,
        address: u64,
        length: usize,
        require_user_write: bool,
        mut copy_fn: impl FnMut(u64, usize, core::ops::Range<usize>),
    ) -> Result<(), Errno> {
        self.check(address, length, require_user_write)?;
        let mut done = 0;
        while done < length {
            let position = address + done as u64;
            let (frame, _) = self.space.lookup(position).ok_or(Errno::BadAddress)?;
            let offset = (position % PAGE_SIZE) as usize;
            let take = (PAGE_SIZE as usize - offset).min(length - done);
            copy_fn(frame, offset, done..done + take);
            done += take;
        }
        Ok(())
    }

    /// Makes this process's table the current one.
    pub fn activate(&self) {
        self.space.activate();
    }

    /// Frees everything: frames, tables, ranges, and the address-space id.
    ///
    /// The table goes first, with one flush of the whole address-space id
    /// (rather than one per page); only then are the frames freed, so no
    /// stale translation can reach a frame that is used again.
    pub fn destroy(mut self) {
        let pages = core::mem::take(&mut self.pages);
        let reservations = core::mem::take(&mut self.reservations);
        let holds = core::mem::take(&mut self.holds);
        self.space.destroy(&mut KernelFrames);
        for frame in pages.into_values() {
            KernelFrames.free_frame(frame);
        }
        // Shared frames are freed by their last holder, after this table
        // (and its translations) is gone.
        drop(holds);
        for (start, size) in reservations {
            free_range(start, size);
        }
    }
}
