// SPDX-License-Identifier: MIT OR Apache-2.0
//! A process's pages: its translation table and every frame it maps.
//!
//! [`UserPages`] owns both. It maps owned frames, never addresses: a
//! process's own zeroed pages ([`UserPages::map`], which takes a
//! [`Frame`]) and the read-only pages of a program that many processes
//! share ([`UserPages::map_shared`], an `Arc<Frame>`, refused writable). A
//! frame leaves only when its translation is gone and flushed — when the
//! pages are dropped, the table is torn down (one flush of its
//! address-space id) before any frame is freed.
//! So no stale translation can reach a frame that is used again, and no
//! kernel code can map memory it does not own.
//!
//! User memory is reached only through checked accesses by extent: every
//! page of `[address, address + length)` must be a user page mapped with
//! the permission the access needs — readable for [`UserPages::read`],
//! writable by the user for [`UserPages::write`] and
//! [`UserPages::writable_runs`], this process's own (not shared) for the
//! loader's [`UserPages::load`] — or nothing is copied.

use super::{MapError, UserAddressSpace, UserPermission, PAGE_SIZE, USER_END, USER_START};
use crate::arch::AddressSpace;
use crate::frames::{Frame, TableFrames};
use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::mem::ManuallyDrop;
use core::ops::Range;
use page_table::extent::{Extent, Piece};

/// Why a user-memory access failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessError {
    /// A byte is outside the user half, not mapped, or lacks the
    /// permission the access needs.
    BadAddress,
    /// The kernel cannot hold what the access needs.
    OutOfMemory,
}

/// A mapped page: its frame and what the user may do with it.
struct MappedPage {
    frame: Arc<Frame>,
    permission: UserPermission,
    /// A program's shared read-only page: never written, not this
    /// process's to change.
    shared: bool,
}

/// What an access needs of each page.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Need {
    /// Any mapped page (every user page is readable).
    Read,
    /// Writable by the user.
    UserWrite,
    /// The process's own page, whatever the user's permission (the loader
    /// filling read-only segments).
    Own,
}

/// A process's translation table and the frames it maps.
pub struct UserPages {
    /// Taken only by `drop`.
    table: ManuallyDrop<AddressSpace>,
    pages: BTreeMap<u64, MappedPage>,
}

impl UserPages {
    /// An empty table with a fresh address-space id; `None` when no frame
    /// or id is left.
    pub fn new() -> Option<Self> {
        Some(UserPages {
            table: ManuallyDrop::new(AddressSpace::new(&mut TableFrames)?),
            pages: BTreeMap::new(),
        })
    }

    /// Maps `frame`, this process's own, at the page `address`.
    ///
    /// Return values: `NotUserAddress`, `AlreadyMapped`,
    /// `WritableAndExecutable`, `OutOfMemory` (the frame is freed then).
    pub fn map(
        &mut self,
        address: u64,
        frame: Frame,
        permission: UserPermission,
    ) -> Result<(), MapError> {
        self.insert(address, Arc::new(frame), permission, false)
    }

    /// Maps a program's shared page `frame`, read-only, at `address`; the
    /// mapping holds it.
    ///
    /// Return values: as [`Self::map`]; `Writable` if `permission` allows
    /// writes.
    pub fn map_shared(
        &mut self,
        address: u64,
        frame: &Arc<Frame>,
        permission: UserPermission,
    ) -> Result<(), MapError> {
        if permission.write {
            return Err(MapError::Writable);
        }
        self.insert(address, frame.clone(), permission, true)
    }

    fn insert(
        &mut self,
        address: u64,
        frame: Arc<Frame>,
        permission: UserPermission,
        shared: bool,
    ) -> Result<(), MapError> {
        if permission.write && permission.execute {
            return Err(MapError::WritableAndExecutable);
        }
        // One search of the map: the free slot it finds is filled once
        // the table has taken the page.
        let alloc::collections::btree_map::Entry::Vacant(slot) = self.pages.entry(address) else {
            return Err(MapError::AlreadyMapped);
        };
        self.table.map(
            address,
            frame.physical_address(),
            permission,
            &mut TableFrames,
        )?;
        slot.insert(MappedPage {
            frame,
            permission,
            shared,
        });
        Ok(())
    }

    /// A new table (with a fresh id) mapping every page this one maps, at
    /// the same address with the same permission: a shared page to the
    /// same frame, this process's own pages to new frames holding copies
    /// of theirs (a fork's memory). `None` when no frame or id is left
    /// (what was built is freed).
    pub fn copy(&self) -> Option<UserPages> {
        let mut copy = UserPages::new()?;
        for (&address, page) in &self.pages {
            let mapped = if page.shared {
                copy.map_shared(address, &page.frame, page.permission)
            } else {
                let frame = Frame::copy_of(&page.frame)?;
                copy.map(address, frame, page.permission)
            };
            mapped.ok()?;
        }
        Some(copy)
    }

    /// Changes the permission of this process's own page at `address`.
    ///
    /// Return values: `NotUserAddress` if no such page is mapped (or it is
    /// shared); `WritableAndExecutable`; `OutOfMemory`.
    pub fn set_permission(
        &mut self,
        address: u64,
        permission: UserPermission,
    ) -> Result<(), MapError> {
        if permission.write && permission.execute {
            return Err(MapError::WritableAndExecutable);
        }
        let page = self
            .pages
            .get_mut(&address)
            .filter(|page| !page.shared)
            .ok_or(MapError::NotUserAddress)?;
        self.table.unmap(address);
        let mapped = self.table.map(
            address,
            page.frame.physical_address(),
            permission,
            &mut TableFrames,
        );
        match mapped {
            Ok(()) => {
                page.permission = permission;
                Ok(())
            }
            Err(error) => {
                // The translation is gone (and flushed): drop the frame.
                self.pages.remove(&address);
                Err(error)
            }
        }
    }

    /// Unmaps this process's own pages in `pages` (page addresses; empty
    /// if reversed; a program's shared pages stay): each translation goes
    /// (and is flushed) before its frame is let go, so a later access
    /// faults and never reaches the frame, which is freed once nothing
    /// else holds it. Returns how many pages were unmapped.
    pub fn unmap_own(&mut self, pages: Range<u64>) -> usize {
        if pages.is_empty() {
            return 0;
        }
        let mut unmapped = 0;
        let mut next = pages.start;
        // Page by page through the map, without a list of addresses (which
        // would need the heap): each step finds the next own page.
        while let Some(address) = self
            .pages
            .range(next..pages.end)
            .find(|(_, page)| !page.shared)
            .map(|(&address, _)| address)
        {
            self.table.unmap(address);
            self.pages.remove(&address);
            unmapped += 1;
            next = address + PAGE_SIZE;
        }
        unmapped
    }

    /// The user's permission on the page holding `address`, if mapped.
    pub fn permission(&self, address: u64) -> Option<UserPermission> {
        self.pages
            .get(&(address & !(PAGE_SIZE - 1)))
            .map(|page| page.permission)
    }

    /// Whether the page holding `address` is a program's shared page.
    pub fn is_shared(&self, address: u64) -> bool {
        self.pages
            .get(&(address & !(PAGE_SIZE - 1)))
            .is_some_and(|page| page.shared)
    }

    /// How many pages of `pages` (page addresses; empty if reversed) are
    /// mapped.
    pub fn mapped_count(&self, pages: Range<u64>) -> usize {
        if pages.is_empty() {
            return 0;
        }
        self.pages.range(pages).count()
    }

    /// Whether any page of `pages` (empty if reversed) is a shared one.
    pub fn any_shared(&self, pages: Range<u64>) -> bool {
        !pages.is_empty() && self.pages.range(pages).any(|(_, page)| page.shared)
    }

    /// Makes this table the current user table.
    pub fn activate(&self) {
        self.table.activate();
    }

    /// Checks `[address, address + length)` page by page for `need` (the
    /// extent's arithmetic is `page_table::extent`, host-tested).
    fn check_extent(&self, address: u64, length: usize, need: Need) -> Result<Extent, AccessError> {
        let extent = Extent::new(address, length, USER_START..USER_END)
            .map_err(|_| AccessError::BadAddress)?;
        let (pages, count) = extent.pages();
        if count == 0 {
            return Ok(extent);
        }
        let mut seen = 0;
        for (_, page) in self.pages.range(pages) {
            let allowed = match need {
                Need::Read => true,
                Need::UserWrite => page.permission.write,
                Need::Own => !page.shared,
            };
            if !allowed {
                return Err(AccessError::BadAddress);
            }
            seen += 1;
        }
        if seen == count {
            Ok(extent)
        } else {
            Err(AccessError::BadAddress)
        }
    }

    /// Checks that `[address, address + length)` is mapped for the user,
    /// writable if `write`.
    ///
    /// Return values: `BadAddress`.
    pub fn check(&self, address: u64, length: usize, write: bool) -> Result<(), AccessError> {
        let need = if write { Need::UserWrite } else { Need::Read };
        self.check_extent(address, length, need).map(|_| ())
    }

    /// The pieces of a checked `extent`: each page's frame and share.
    fn pieces<'a>(&'a self, extent: &'a Extent) -> impl Iterator<Item = (&'a Arc<Frame>, Piece)> {
        let (pages, _) = extent.pages();
        self.pages
            .range(pages)
            .map(move |(&page, mapped)| (&mapped.frame, extent.piece(page)))
    }

    /// Copies user memory at `address` into `bytes`.
    ///
    /// Return values: `BadAddress` (nothing copied).
    pub fn read(&self, address: u64, bytes: &mut [u8]) -> Result<(), AccessError> {
        let extent = self.check_extent(address, bytes.len(), Need::Read)?;
        for (frame, piece) in self.pieces(&extent) {
            frame.read(piece.offset, &mut bytes[piece.bytes]);
        }
        Ok(())
    }

    /// Copies `bytes` to user memory at `address`, every page writable by
    /// the user.
    ///
    /// Return values: `BadAddress` (nothing written).
    pub fn write(&self, address: u64, bytes: &[u8]) -> Result<(), AccessError> {
        let extent = self.check_extent(address, bytes.len(), Need::UserWrite)?;
        for (frame, piece) in self.pieces(&extent) {
            frame.write(piece.offset, &bytes[piece.bytes]);
        }
        Ok(())
    }

    /// Writes `bytes` at `address` as the loader: into this process's own
    /// pages, whatever the user may do with them (read-only segments);
    /// never into a shared page.
    ///
    /// Return values: `BadAddress` (nothing written).
    pub fn load(&self, address: u64, bytes: &[u8]) -> Result<(), AccessError> {
        let extent = self.check_extent(address, bytes.len(), Need::Own)?;
        for (frame, piece) in self.pieces(&extent) {
            frame.write(piece.offset, &bytes[piece.bytes]);
        }
        Ok(())
    }

    /// The memory of `[address, address + length)`, checked writable by
    /// the user, held for a transfer into it ([`UserRuns`]).
    ///
    /// Return values: `BadAddress`; `OutOfMemory`.
    pub fn writable_runs(&self, address: u64, length: usize) -> Result<UserRuns, AccessError> {
        let extent = self.check_extent(address, length, Need::UserWrite)?;
        let mut runs = UserRuns::default();
        for (
            frame,
            Piece {
                offset,
                bytes: range,
                ..
            },
        ) in self.pieces(&extent)
        {
            runs.frames
                .try_reserve(1)
                .map_err(|_| AccessError::OutOfMemory)?;
            let consecutive = runs.frames.last().is_some_and(|last: &Arc<Frame>| {
                last.physical_address() + PAGE_SIZE == frame.physical_address()
            }) && offset == 0;
            runs.frames.push(frame.clone());
            match runs.runs.last_mut() {
                Some(run) if consecutive => {
                    run.length += range.len();
                }
                _ => {
                    runs.runs
                        .try_reserve(1)
                        .map_err(|_| AccessError::OutOfMemory)?;
                    runs.runs.push(Run {
                        first: runs.frames.len() - 1,
                        offset,
                        length: range.len(),
                    });
                }
            }
        }
        Ok(runs)
    }
}

impl Drop for UserPages {
    fn drop(&mut self) {
        // SAFETY: `table` is taken exactly once, here, and not used after.
        let table = unsafe { ManuallyDrop::take(&mut self.table) };
        // The table goes first, with one flush of its whole id; only then
        // (when `pages` drops) are the frames freed.
        table.destroy(&mut TableFrames);
    }
}

/// One run of physically consecutive bytes of a [`UserRuns`].
#[derive(Clone, Copy, Debug)]
struct Run {
    /// Index of its first frame in `UserRuns::frames`.
    first: usize,
    /// Where it starts in its first frame.
    offset: usize,
    length: usize,
}

/// User memory held for a transfer into it (a device filling a caller's
/// buffer): the frames behind a checked-writable extent, grouped into runs
/// of physically consecutive bytes, kept alive while this is held — even
/// if the process's pages go meanwhile.
#[derive(Clone, Debug, Default)]
pub struct UserRuns {
    frames: Vec<Arc<Frame>>,
    runs: Vec<Run>,
}

impl UserRuns {
    /// Runs `body` on the runs as mutable slices, in order.
    pub fn with_slices_mut<R>(&mut self, body: impl FnOnce(&mut [&mut [u8]]) -> R) -> R {
        let mut slices: Vec<&mut [u8]> = Vec::with_capacity(self.runs.len());
        for run in &self.runs {
            // SAFETY: a run's frames are physically consecutive (built so
            // by `writable_runs`), its bytes end within its last frame, and
            // `self.frames` holds every one of them while the slice lives;
            // each is a distinct writable page of one process (a process's
            // own frames are mapped once; shared frames are never
            // writable), so no two runs overlap, and `&mut self` keeps any
            // other slice of these runs from existing meanwhile.
            let slice = unsafe { self.frames[run.first].bytes_from(run.offset, run.length) };
            slices.push(slice);
        }
        body(&mut slices)
    }
}
