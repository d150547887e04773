// SPDX-License-Identifier: MIT OR Apache-2.0
//! A process's pages: its translation table and every frame it maps.
//!
//! [`UserPages`] owns both. It maps owned frames, never addresses: a
//! process's own pages ([`UserPages::map`], which takes a [`Frame`]) and
//! the read-only pages of a program that many processes share
//! ([`UserPages::map_shared`], an `Arc<SharedFrames>`, all mapped at once
//! and recorded as one run). A frame leaves only when its translation is
//! gone and flushed — when the pages are dropped, the table is torn down
//! (one flush of its address-space id) before any frame is freed.
//! So no stale translation can reach a frame that is used again, and no
//! kernel code can map memory it does not own.
//!
//! User memory is reached only through checked accesses by extent: every
//! page of `[address, address + length)` must be a user page mapped with
//! the permission the access needs — readable for [`UserPages::read`],
//! writable by the user for [`UserPages::write`] and
//! [`UserPages::writable_runs`], this process's own (not shared) for the
//! loader's [`UserPages::load`] — or nothing is copied.

use super::{
    MapError, SharedFrames, UserAddressSpace, UserPermission, PAGE_SIZE, USER_END, USER_START,
};
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

/// A page of the process's own: its frame and what the user may do with
/// it.
struct MappedPage {
    frame: Arc<Frame>,
    permission: UserPermission,
}

/// What an access needs of each page.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Need {
    /// Any mapped page, own or shared (every user page is readable).
    Read,
    /// Writable by the user (so the process's own).
    UserWrite,
    /// The process's own page, whatever the user's permission (the loader
    /// filling read-only segments).
    Own,
}

/// A process's translation table and the frames it maps.
pub struct UserPages {
    /// Taken only by `drop`.
    table: ManuallyDrop<AddressSpace>,
    /// The process's own pages, by address.
    pages: BTreeMap<u64, MappedPage>,
    /// Programs' shared pages, each set mapped whole at a start:
    /// `(start, frames)`, disjoint from each other and from `pages`.
    shared: Vec<(u64, Arc<SharedFrames>)>,
}

impl UserPages {
    /// An empty table with a fresh address-space id; `None` when no frame
    /// or id is left.
    pub fn new() -> Option<Self> {
        Some(UserPages {
            table: ManuallyDrop::new(AddressSpace::new(&mut TableFrames)?),
            pages: BTreeMap::new(),
            shared: Vec::new(),
        })
    }

    /// Maps `frame`, this process's own, at the page `address`.
    ///
    /// Return values: `NotUserAddress`, `AlreadyMapped` (a shared page
    /// too), `WritableAndExecutable`, `OutOfMemory` (the frame is freed
    /// then).
    pub fn map(
        &mut self,
        address: u64,
        frame: Frame,
        permission: UserPermission,
    ) -> Result<(), MapError> {
        if permission.write && permission.execute {
            return Err(MapError::WritableAndExecutable);
        }
        // One search of the map: the free slot it finds is filled once
        // the table has taken the page (which refuses a shared page's
        // address: its entry is valid).
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
            frame: Arc::new(frame),
            permission,
        });
        Ok(())
    }

    /// Maps every page of `frames` at `start` plus its offset, read-only,
    /// in one pass over the table, and holds the set until the table is
    /// gone: a spawn maps a program's code without a fault per page, and
    /// records it once, not page by page.
    ///
    /// Return values: `NotUserAddress` if a page falls outside the user
    /// half or `start` is not page-aligned; `AlreadyMapped` if a page of
    /// the span is mapped already (nothing is mapped then);
    /// `OutOfMemory` (nothing stays mapped).
    pub fn map_shared(&mut self, start: u64, frames: &Arc<SharedFrames>) -> Result<(), MapError> {
        let span = frames.span();
        if span.is_empty() {
            return Ok(());
        }
        let (first, end) = match (start.checked_add(span.start), start.checked_add(span.end)) {
            (Some(first), Some(end)) if start % PAGE_SIZE == 0 => (first, end),
            _ => return Err(MapError::NotUserAddress),
        };
        if self.pages.range(first..end).next().is_some() || self.shared_count(first..end) > 0 {
            return Err(MapError::AlreadyMapped);
        }
        self.shared
            .try_reserve(1)
            .map_err(|_| MapError::OutOfMemory)?;
        let table = &mut self.table;
        let mapped = frames.runs().try_fold(0, |count, (offset, leaves)| {
            table
                .map_run(start + offset, leaves, &mut TableFrames)
                .map(|written| count + written)
        });
        match mapped {
            Ok(written) if written == frames.len() => {
                self.shared.push((start, frames.clone()));
                Ok(())
            }
            outcome => {
                // Nothing of the span was mapped before: take back what
                // was (each entry flushed), so no translation outlives
                // the set it points into.
                for (offset, ..) in frames.iter() {
                    self.table.unmap(start + offset);
                }
                Err(outcome.err().unwrap_or(MapError::AlreadyMapped))
            }
        }
    }

    /// The shared page at `page`, if one is mapped there: its frame and
    /// permission.
    fn shared_page(&self, page: u64) -> Option<(&Frame, UserPermission)> {
        self.shared
            .iter()
            .find_map(|(start, frames)| frames.at(page.checked_sub(*start)?))
    }

    /// How many shared pages lie in `pages` (empty if reversed).
    fn shared_count(&self, pages: Range<u64>) -> usize {
        self.shared
            .iter()
            .map(|(start, frames)| {
                frames
                    .count_in(pages.start.saturating_sub(*start)..pages.end.saturating_sub(*start))
            })
            .sum()
    }

    /// A new table (with a fresh id) mapping every page this one maps, at
    /// the same address with the same permission: a shared page to the
    /// same frame, this process's own pages to new frames holding copies
    /// of theirs (a fork's memory). `None` when no frame or id is left
    /// (what was built is freed).
    pub fn copy(&self) -> Option<UserPages> {
        let mut copy = UserPages::new()?;
        for (&address, page) in &self.pages {
            let frame = Frame::copy_of(&page.frame)?;
            copy.map(address, frame, page.permission).ok()?;
        }
        for (start, frames) in &self.shared {
            copy.map_shared(*start, frames).ok()?;
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
            .next()
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
        let page = address & !(PAGE_SIZE - 1);
        match self.pages.get(&page) {
            Some(mapped) => Some(mapped.permission),
            None => self.shared_page(page).map(|(_, permission)| permission),
        }
    }

    /// Whether the page holding `address` is a program's shared page.
    pub fn is_shared(&self, address: u64) -> bool {
        self.shared_page(address & !(PAGE_SIZE - 1)).is_some()
    }

    /// How many pages of `pages` (page addresses; empty if reversed) are
    /// mapped, own or shared.
    pub fn mapped_count(&self, pages: Range<u64>) -> usize {
        if pages.is_empty() {
            return 0;
        }
        self.pages.range(pages.clone()).count() + self.shared_count(pages)
    }

    /// Whether any page of `pages` (empty if reversed) is a shared one.
    pub fn any_shared(&self, pages: Range<u64>) -> bool {
        self.shared_count(pages) > 0
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
        for (_, page) in self.pages.range(pages.clone()) {
            if need == Need::UserWrite && !page.permission.write {
                return Err(AccessError::BadAddress);
            }
            seen += 1;
        }
        // Own and shared pages never overlap: the rest must be shared
        // ones, which only a read may use.
        if seen == count || (need == Need::Read && seen + self.shared_count(pages) == count) {
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
    fn pieces<'a>(&'a self, extent: &'a Extent) -> impl Iterator<Item = (&'a Frame, Piece)> {
        let (pages, _) = extent.pages();
        let mut own = self.pages.range(pages).peekable();
        extent.pieces().filter_map(move |piece| {
            let frame = match own.next_if(|(&page, _)| page == piece.page) {
                Some((_, mapped)) => &*mapped.frame,
                None => self.shared_page(piece.page)?.0,
            };
            Some((frame, piece))
        })
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
        // Checked writable: every page is the process's own.
        let (pages, _) = extent.pages();
        for (
            frame,
            Piece {
                offset,
                bytes: range,
                ..
            },
        ) in self
            .pages
            .range(pages)
            .map(|(&page, mapped)| (&mapped.frame, extent.piece(page)))
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
