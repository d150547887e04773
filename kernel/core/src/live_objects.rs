// SPDX-License-Identifier: MIT OR Apache-2.0
//! Live objects: the inodes something in the kernel refers to, each counted.
//!
//! An [`ObjectRef`] is a counted reference to one file or directory of a
//! mounted volume: an open file description holds one, so do a `/...`
//! leaf, a process's root and current directory, every step of a lexical
//! chain, a running program's executable and the program cache (DESIGN §4,
//! object lifetime). Cloning a reference is the count going up; dropping
//! it, the count going down. While one exists the object keeps its
//! identity, its data and its inode number, whatever happens to its names:
//! the volume tells the file system the inode is held
//! (`fs_ext2l::FileSystem::hold`), and the file system turns a held inode
//! that loses its last name into an orphan instead of freeing it.
//!
//! [`LiveObjects`] is the table behind the references: inode number →
//! the one live object of that inode (a `hashbrown` map of weak
//! pointers), so two holders of one inode share one object, and the
//! generation read when it was first held, which every use is checked
//! against (a mismatch is [`crate::Error::Stale`], never another object).
//! The table is bounded ([`LiveObjects::new`]'s `limit`) and says what it
//! costs ([`LiveObjects::memory_bytes`]).
//!
//! Every new object is paid for: it takes one unit of
//! [`Pool::LiveObjects`] from the budget of whoever caused it (the payer
//! the kernel sets for one call, [`LiveObjects::set_payer`], or else the
//! volume's fallback payer, [`LiveObjects::set_fallback_payer`]), and the
//! [`Charge`] lives in the object, so it comes back when the last
//! reference drops. The first holder pays, for as long as anyone holds the
//! object: a later holder of a live object pays nothing, and the first
//! one's budget stays charged while others still hold it (an object is one
//! slot whoever holds it; splitting it among holders would make dropping a
//! reference able to fail). A count pool rather than bytes of kernel
//! heap, because the table is a count reserved up front: the kernel makes
//! the pool exactly the table's size and has every object paid for, so
//! the table is never full while the payer's tree is within its share and
//! the pool has room outside its reserve — one tree filling its share gets
//! [`Error::OverBudget`] (`ENOMEM`), and the others still hold objects.
//!
//! Dropping the last reference must not need the volume (it may be
//! dropped anywhere: a process ending, a descriptor closed, a namespace
//! replaced), so a dropped object only queues its inode number
//! ([`ReleaseQueue`], a small lock of its own that is never held while
//! waiting for anything else). The volume drains the queue at the start
//! of every operation ([`LiveObjects::take_released`]) and lets the file
//! system free the orphans among them.

use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::fmt;
use fs_ext2l::{FileType, HeldInode, InodeNumber};
use hashbrown::HashMap;
use spin::Mutex;

use crate::budget::{Budget, Charge, Pool};
use crate::error::Error;

/// Inode numbers whose last reference was dropped, waiting for the volume.
pub(crate) struct ReleaseQueue {
    pending: Mutex<Vec<InodeNumber>>,
    /// Releases that could not be queued (no memory): those inodes stay
    /// held until the volume is mounted again, which cleans orphans.
    lost: core::sync::atomic::AtomicUsize,
}

impl ReleaseQueue {
    fn push(&self, inode: InodeNumber) {
        let mut pending = self.pending.lock();
        if pending.try_reserve(1).is_ok() {
            pending.push(inode);
        } else {
            self.lost
                .fetch_add(1, core::sync::atomic::Ordering::Relaxed);
        }
    }
}

/// One live object: what its holders share.
struct LiveObject {
    inode: InodeNumber,
    generation: u32,
    file_type: FileType,
    releases: Arc<ReleaseQueue>,
    /// The slot its first holder's budget paid (none on an unpaid
    /// volume). A field drops after [`Drop::drop`] has queued the inode,
    /// so a slot given back is always an inode the volume can collect.
    _paid: Option<Charge>,
}

impl Drop for LiveObject {
    fn drop(&mut self) {
        self.releases.push(self.inode);
    }
}

/// A counted reference to a live file or directory.
///
/// Two references are equal when they name the same object: the same
/// inode with the same generation.
#[derive(Clone)]
pub struct ObjectRef {
    object: Arc<LiveObject>,
}

impl ObjectRef {
    /// The inode.
    pub fn inode(&self) -> InodeNumber {
        self.object.inode
    }

    /// The generation the inode had when it was first held.
    pub fn generation(&self) -> u32 {
        self.object.generation
    }

    /// What kind of file it is (fixed for as long as it is held).
    pub fn file_type(&self) -> FileType {
        self.object.file_type
    }

    /// Whether it is a directory.
    pub fn is_directory(&self) -> bool {
        self.object.file_type == FileType::Directory
    }

    /// How many references to this object exist (for tests and reports).
    pub fn holders(&self) -> usize {
        Arc::strong_count(&self.object)
    }
}

impl PartialEq for ObjectRef {
    fn eq(&self, other: &Self) -> bool {
        self.object.inode == other.object.inode && self.object.generation == other.object.generation
    }
}

impl Eq for ObjectRef {}

impl fmt::Debug for ObjectRef {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "ObjectRef({}#{})",
            self.object.inode.get(),
            self.object.generation
        )
    }
}

/// The table of live objects of one volume.
pub struct LiveObjects {
    entries: HashMap<u32, Weak<LiveObject>>,
    releases: Arc<ReleaseQueue>,
    limit: usize,
    /// Who pays for new objects during the current call.
    payer: Option<Arc<Budget>>,
    /// Who pays when no call set a payer (the kernel's own holders).
    fallback_payer: Option<Arc<Budget>>,
}

impl LiveObjects {
    /// An empty table of at most `limit` objects.
    ///
    /// Return values: the table; `OutOfMemory` if its map or queue cannot
    /// be reserved up front (they never grow past `limit` afterwards, so
    /// holding and releasing do not allocate).
    pub fn new(limit: usize) -> Result<Self, Error> {
        let limit = limit.max(16);
        let mut entries = HashMap::new();
        entries.try_reserve(limit).map_err(|_| Error::OutOfMemory)?;
        let mut pending = Vec::new();
        pending.try_reserve(limit).map_err(|_| Error::OutOfMemory)?;
        Ok(LiveObjects {
            entries,
            releases: Arc::new(ReleaseQueue {
                pending: Mutex::new(pending),
                lost: core::sync::atomic::AtomicUsize::new(0),
            }),
            limit,
            payer: None,
            fallback_payer: None,
        })
    }

    /// Sets who pays for the objects made from now on (the budget of the
    /// process whose call this is), returning the previous payer.
    pub fn set_payer(&mut self, payer: Option<Arc<Budget>>) -> Option<Arc<Budget>> {
        core::mem::replace(&mut self.payer, payer)
    }

    /// Sets who pays for the objects made while no payer is set (the
    /// kernel's own holders: init's root, tasks). Without either, new
    /// objects are free and bounded only by the table.
    pub fn set_fallback_payer(&mut self, payer: Option<Arc<Budget>>) {
        self.fallback_payer = payer;
    }

    /// One slot of [`Pool::LiveObjects`] from the payer, for an object
    /// about to be made.
    ///
    /// Return values: the charge (none when nobody pays); `OverBudget`.
    pub(crate) fn charge(&self) -> Result<Option<Charge>, Error> {
        match self.payer.as_ref().or(self.fallback_payer.as_ref()) {
            Some(payer) => Ok(Some(
                payer
                    .charge(Pool::LiveObjects, 1)
                    .map_err(Error::OverBudget)?,
            )),
            None => Ok(None),
        }
    }

    /// Whether the table has as many entries as it may (some may be
    /// objects gone but not yet collected).
    pub(crate) fn is_full(&self) -> bool {
        self.entries.len() >= self.limit
    }

    /// The live object of `inode`, if something holds it.
    pub fn find(&self, inode: InodeNumber) -> Option<ObjectRef> {
        let object = self.entries.get(&inode.get())?.upgrade()?;
        Some(ObjectRef { object })
    }

    /// Makes the object the file system just agreed to hold live, paid by
    /// `paid` (from [`Self::charge`]; given back if it is refused).
    ///
    /// Return values: the first reference; `TooManyObjects` when the table
    /// is full (the caller collects first).
    pub(crate) fn insert(
        &mut self,
        held: HeldInode,
        paid: Option<Charge>,
    ) -> Result<ObjectRef, Error> {
        let key = held.inode.get();
        let replaces_dead = self
            .entries
            .get(&key)
            .is_some_and(|entry| entry.strong_count() == 0);
        if !replaces_dead && self.entries.len() >= self.limit {
            return Err(Error::TooManyObjects);
        }
        let object = Arc::new(LiveObject {
            inode: held.inode,
            generation: held.generation,
            file_type: held.file_type,
            releases: self.releases.clone(),
            _paid: paid,
        });
        self.entries.insert(key, Arc::downgrade(&object));
        Ok(ObjectRef { object })
    }

    /// Forgets every object whose last reference was dropped since the
    /// last call, and returns their inodes (each once) for the file
    /// system to release. An inode held again meanwhile (a new live
    /// object) is not returned.
    pub(crate) fn take_released(&mut self) -> Vec<InodeNumber> {
        let queued = {
            let mut pending = self.releases.pending.lock();
            if pending.is_empty() {
                return Vec::new();
            }
            let mut queued = Vec::new();
            if queued.try_reserve(pending.len()).is_err() {
                // Leave them queued: the next call tries again.
                return Vec::new();
            }
            queued.append(&mut pending);
            queued
        };
        let mut released = Vec::new();
        for inode in queued {
            let dead = self
                .entries
                .get(&inode.get())
                .is_some_and(|entry| entry.strong_count() == 0);
            if dead {
                self.entries.remove(&inode.get());
                if released.try_reserve(1).is_ok() {
                    released.push(inode);
                }
            }
        }
        released
    }

    /// Objects alive now (entries whose holders are all gone but not yet
    /// collected are not counted).
    pub fn len(&self) -> usize {
        self.entries
            .values()
            .filter(|entry| entry.strong_count() > 0)
            .count()
    }

    /// Whether no object is alive.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The most objects the table holds.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Releases that were lost for want of memory (their inodes stay held
    /// until the next mount cleans the orphans among them).
    pub fn lost_releases(&self) -> usize {
        self.releases
            .lost
            .load(core::sync::atomic::Ordering::Relaxed)
    }

    /// Bytes the table may use when full: map slots, queue slots and the
    /// objects themselves.
    pub fn memory_bytes(&self) -> usize {
        let per_object = core::mem::size_of::<(u32, Weak<LiveObject>)>()
            + core::mem::size_of::<InodeNumber>()
            + core::mem::size_of::<LiveObject>()
            + 2 * core::mem::size_of::<usize>();
        self.limit * per_object
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::budget::{Ledger, POOLS};

    impl LiveObjects {
        fn insert_free(&mut self, held: HeldInode) -> Result<ObjectRef, Error> {
            self.insert(held, None)
        }

        fn insert_paid(&mut self, held: HeldInode) -> Result<ObjectRef, Error> {
            let paid = self.charge()?;
            self.insert(held, paid)
        }
    }

    /// A tree with at most `objects` live objects.
    fn tree(ledger: &Arc<Ledger>, objects: u64, privileged: bool) -> Arc<Budget> {
        let mut limits = [u64::MAX; POOLS];
        limits[Pool::LiveObjects as usize] = objects;
        Budget::new(ledger, limits, privileged)
    }

    #[test]
    fn the_payer_is_charged_until_the_last_reference_drops() {
        let ledger = Ledger::new([0, 0, 0, 16], [0; POOLS]);
        let budget = tree(&ledger, 4, false);
        let mut table = LiveObjects::new(16).unwrap();
        table.set_payer(Some(budget.clone()));
        let first = table.insert_paid(held(12, 7)).unwrap();
        assert_eq!(budget.state().live_objects(), 1);
        let second = table.find(InodeNumber(12)).unwrap();
        assert_eq!(budget.state().live_objects(), 1, "sharing is free");
        drop(first);
        assert_eq!(budget.state().live_objects(), 1);
        drop(second);
        assert_eq!(budget.state().live_objects(), 0);
        assert_eq!(ledger.pool(Pool::LiveObjects).committed, 0);
        assert_eq!(table.take_released(), [InodeNumber(12)]);
    }

    #[test]
    fn without_a_payer_the_fallback_pays() {
        let ledger = Ledger::new([0, 0, 0, 16], [0; POOLS]);
        let kernel = tree(&ledger, u64::MAX, true);
        let mut table = LiveObjects::new(16).unwrap();
        assert!(table.charge().unwrap().is_none(), "an unpaid volume");
        table.set_fallback_payer(Some(kernel.clone()));
        let object = table.insert_paid(held(12, 7)).unwrap();
        assert_eq!(kernel.state().live_objects(), 1);
        drop(object);
        assert_eq!(kernel.state().live_objects(), 0);
    }

    fn held(inode: u32, generation: u32) -> HeldInode {
        HeldInode {
            inode: InodeNumber(inode),
            generation,
            file_type: FileType::RegularFile,
        }
    }

    #[test]
    fn one_object_per_inode_and_released_at_the_last_reference() {
        let mut table = LiveObjects::new(16).unwrap();
        let first = table.insert_free(held(12, 7)).unwrap();
        let second = table.find(InodeNumber(12)).unwrap();
        assert_eq!(first, second);
        assert_eq!(first.holders(), 2);
        drop(first);
        assert!(table.take_released().is_empty());
        drop(second);
        assert_eq!(table.take_released(), [InodeNumber(12)]);
        assert!(table.find(InodeNumber(12)).is_none());
        assert!(table.take_released().is_empty());
    }

    #[test]
    fn an_inode_held_again_before_collection_is_not_released() {
        let mut table = LiveObjects::new(16).unwrap();
        drop(table.insert_free(held(12, 7)).unwrap());
        let again = table.insert_free(held(12, 7)).unwrap();
        assert!(table.take_released().is_empty());
        drop(again);
        assert_eq!(table.take_released(), [InodeNumber(12)]);
    }

    #[test]
    fn the_table_is_bounded() {
        let mut table = LiveObjects::new(16).unwrap();
        let kept: Vec<ObjectRef> = (0..16)
            .map(|i| table.insert_free(held(20 + i, 1)).unwrap())
            .collect();
        assert_eq!(table.insert_free(held(99, 1)), Err(Error::TooManyObjects));
        drop(kept);
        table.take_released();
        assert!(table.insert_free(held(99, 1)).is_ok());
    }

    #[test]
    fn references_of_different_generations_differ() {
        let mut table = LiveObjects::new(16).unwrap();
        let old = table.insert_free(held(12, 1)).unwrap();
        drop(table.take_released());
        let mut other = LiveObjects::new(16).unwrap();
        let new = other.insert_free(held(12, 2)).unwrap();
        assert_ne!(old, new);
    }
}
