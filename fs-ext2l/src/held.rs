// SPDX-License-Identifier: MIT OR Apache-2.0
//! Inodes the host holds: what keeps an inode alive besides its names.
//!
//! The kernel refers to files and directories by object, not by name: an
//! open file, a `/...` entry, a process's root and current directory, a
//! running program (DESIGN §4, object lifetime). It counts those holders
//! itself and tells this library only whether an inode is held at all:
//! [`FileSystem::hold`] when the first holder appears, [`FileSystem::release`]
//! when the last one goes.
//!
//! A held inode whose last name (or last rootlink) is removed is not freed:
//! it becomes an *orphan* (`orphan.rs`) — no name reaches it, its data
//! stays, reads and writes through the host's handles go on — and it is
//! freed by `release`. The library never frees a held inode, so an inode
//! number can never be reused while anything refers to it, and a new
//! occupant of a number gets a new generation (`generation.rs`), so the
//! host's (inode, generation) pair names one object only.
//!
//! Holds live in memory only: a new mount starts with none, and frees the
//! orphans the previous one left listed.

use crate::device::BlockDevice;
use crate::error::{Error, Result};
use crate::filesystem::FileSystem;
use crate::inode::{FileType, InodeNumber};

/// What [`FileSystem::hold`] found: enough to recognise the object later.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeldInode {
    /// The inode.
    pub inode: InodeNumber,
    /// Its `i_generation` when it was first held.
    pub generation: u32,
    /// Its type.
    pub file_type: FileType,
}

impl<D: BlockDevice> FileSystem<D> {
    /// Marks `inode` as held by the host. Holding an inode already held
    /// is allowed and changes nothing (the host counts its holders).
    ///
    /// Return values: what the inode is; [`Error::NotFound`] when it is
    /// not in use (free, or an orphan nobody holds); [`Error::Corrupt`],
    /// [`Error::Device`].
    pub fn hold(&mut self, inode: InodeNumber) -> Result<HeldInode> {
        let result = self.hold_unobserved(inode);
        self.observe(result)
    }

    /// [`Self::hold`], without marking damage it finds.
    fn hold_unobserved(&mut self, inode: InodeNumber) -> Result<HeldInode> {
        let found = self.accessible_inode(inode)?;
        self.held.insert(inode.get());
        Ok(HeldInode {
            inode,
            generation: found.generation(),
            file_type: found.file_type(),
        })
    }

    /// Lets go of a held inode: frees it now if it is an orphan — its
    /// blocks, its attribute block, its rootlink's reference (which may
    /// free, or make an orphan of, the directory it names), its number —
    /// and takes it off the on-disk orphan list.
    ///
    /// Return values: `Ok(())`; [`Error::InvalidArgument`] when it was not
    /// held; the errors of freeing an inode: [`Error::NotEmpty`] when its
    /// rootlink is the last reference to a directory that is not empty
    /// (only on a damaged image; the orphan stays listed and the next
    /// read-write mount reports it), [`Error::Corrupt`], [`Error::Device`].
    pub fn release(&mut self, inode: InodeNumber) -> Result<()> {
        if !self.held.remove(&inode.get()) {
            return Err(Error::InvalidArgument);
        }
        if self.is_orphan(inode) {
            self.change(|file_system| file_system.free_orphan(inode))?;
        }
        Ok(())
    }

    /// Whether the host holds `inode`.
    pub fn is_held(&self, inode: InodeNumber) -> bool {
        self.held.contains(&inode.get())
    }

    /// The number of inodes the host holds.
    pub fn held_count(&self) -> usize {
        self.held.len()
    }

    /// The current `i_generation` of `inode`, held or in use.
    ///
    /// Return values: the generation; [`Error::NotFound`] for an inode
    /// neither in use nor held; [`Error::Corrupt`], [`Error::Device`].
    pub fn generation(&mut self, inode: InodeNumber) -> Result<u32> {
        let result = self.generation_unobserved(inode);
        self.observe(result)
    }

    /// [`Self::generation`], without marking damage it finds.
    fn generation_unobserved(&mut self, inode: InodeNumber) -> Result<u32> {
        Ok(self.accessible_inode(inode)?.generation())
    }
}
