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
        })
    }

    /// The live object of `inode`, if something holds it.
    pub fn find(&self, inode: InodeNumber) -> Option<ObjectRef> {
        let object = self.entries.get(&inode.get())?.upgrade()?;
        Some(ObjectRef { object })
    }

    /// Makes the object the file system just agreed to hold live.
    ///
    /// Return values: the first reference; `TooManyObjects` when the table
    /// is full (after forgetting entries whose objects are gone).
    pub(crate) fn insert(&mut self, held: HeldInode) -> Result<ObjectRef, Error> {
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
        let first = table.insert(held(12, 7)).unwrap();
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
        drop(table.insert(held(12, 7)).unwrap());
        let again = table.insert(held(12, 7)).unwrap();
        assert!(table.take_released().is_empty());
        drop(again);
        assert_eq!(table.take_released(), [InodeNumber(12)]);
    }

    #[test]
    fn the_table_is_bounded() {
        let mut table = LiveObjects::new(16).unwrap();
        let kept: Vec<ObjectRef> = (0..16)
            .map(|i| table.insert(held(20 + i, 1)).unwrap())
            .collect();
        assert_eq!(table.insert(held(99, 1)), Err(Error::TooManyObjects));
        drop(kept);
        table.take_released();
        assert!(table.insert(held(99, 1)).is_ok());
    }

    #[test]
    fn references_of_different_generations_differ() {
        let mut table = LiveObjects::new(16).unwrap();
        let old = table.insert(held(12, 1)).unwrap();
        drop(table.take_released());
        let mut other = LiveObjects::new(16).unwrap();
        let new = other.insert(held(12, 2)).unwrap();
        assert_ne!(old, new);
    }
}
