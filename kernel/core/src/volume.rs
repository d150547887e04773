// SPDX-License-Identifier: MIT OR Apache-2.0
//! A mounted volume seen through live objects.
//!
//! [`Volume`] owns a mounted [`FileSystem`] and the [`LiveObjects`] table
//! of its in-use inodes, and is the only way the kernel (and the host
//! tools) act on files: every operation takes and gives [`ObjectRef`]s,
//! never bare inode numbers. It keeps three promises:
//!
//! - **Held means alive.** An inode gets its first reference through
//!   [`Volume::hold`], which tells the file system it is held; the file
//!   system then never frees it (its last name going makes it an orphan,
//!   fs-ext2l's `held.rs`). When the last reference is dropped the inode
//!   is queued, and the next operation of the volume releases it — the
//!   moment an orphan is freed.
//! - **A reference means its object.** Every use of a reference checks
//!   that the inode still carries the generation it had when first held;
//!   a mismatch is [`Error::Stale`], never another object's data.
//! - **Names are the file system's, objects are ours.** Creating, linking
//!   and removing names go straight to the file system; what holds
//!   objects (descriptors, roots, chains) lives above, in the kernel.
//!
//! A new object is paid for by a budget (`crate::live_objects`): the
//! kernel names the payer for one call with [`Volume::paid_by`], a guard
//! that sets it on the volume while the call holds the volume's lock, so
//! no operation needs a budget argument and none can forget to pass one.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::ops::{Deref, DerefMut};
use fs_ext2l::{BlockDevice, DirectoryEntry, FileSystem, InodeNumber, Metadata, SetAttributes};

use crate::budget::{Budget, Charge};
use crate::error::Error;
use crate::live_objects::{LiveObjects, ObjectRef};

/// A mounted file system and its live objects.
pub struct Volume<D: BlockDevice> {
    file_system: FileSystem<D>,
    objects: LiveObjects,
}

impl<D: BlockDevice> Volume<D> {
    /// Wraps a mounted file system; at most `object_limit` inodes may be
    /// held at once.
    ///
    /// Return values: the volume; `OutOfMemory` when the table cannot be
    /// reserved.
    pub fn new(file_system: FileSystem<D>, object_limit: usize) -> Result<Self, Error> {
        Ok(Volume {
            file_system,
            objects: LiveObjects::new(object_limit)?,
        })
    }

    /// Releases every inode whose last reference was dropped since the
    /// last operation: the file system frees the orphans among them.
    ///
    /// Return values: the first error of freeing an orphan (the others are
    /// still released; a failed free leaves an orphan that the next mount
    /// cleans).
    pub fn collect(&mut self) -> Result<(), Error> {
        let mut result = Ok(());
        for inode in self.objects.take_released() {
            if let Err(error) = self.file_system.release(inode) {
                if result.is_ok() {
                    result = Err(Error::FileSystem(error));
                }
            }
        }
        result
    }

    /// The file system, after releasing what was dropped: for operations
    /// that have no object form (mounting details, checking, tools).
    pub fn file_system(&mut self) -> &mut FileSystem<D> {
        let _ = self.collect();
        &mut self.file_system
    }

    /// The file system, to look at (nothing is released: see
    /// [`Self::file_system`] for anything that acts).
    pub fn file_system_ref(&self) -> &FileSystem<D> {
        &self.file_system
    }

    /// The live-object table (limits and counts).
    pub fn objects(&self) -> &LiveObjects {
        &self.objects
    }

    /// The volume with `payer` paying for every object made through it
    /// until the guard is dropped (then the previous payer is back).
    pub fn paid_by(&mut self, payer: &Arc<Budget>) -> PaidBy<'_, D> {
        let previous = self.objects.set_payer(Some(payer.clone()));
        PaidBy {
            volume: self,
            previous,
        }
    }

    /// Has `payer` pay for objects made outside [`Self::paid_by`] (the
    /// kernel's own holders); none: such objects are free.
    pub fn set_fallback_payer(&mut self, payer: Option<Arc<Budget>>) {
        self.objects.set_fallback_payer(payer);
    }

    /// Gives the file system back (after releasing what was dropped).
    /// References still alive keep their inodes only until the next mount.
    pub fn into_file_system(mut self) -> FileSystem<D> {
        let _ = self.collect();
        self.file_system
    }

    /// A reference to inode `inode`, which must be in use (named, or held).
    ///
    /// Return values: the reference; `FileSystem(NotFound)` for an inode
    /// not in use; `OverBudget` when the payer may not have one more live
    /// object; `TooManyObjects`; the file system's errors.
    pub fn hold(&mut self, inode: InodeNumber) -> Result<ObjectRef, Error> {
        self.collect()?;
        self.hold_collected(inode)
    }

    fn hold_collected(&mut self, inode: InodeNumber) -> Result<ObjectRef, Error> {
        if let Some(object) = self.objects.find(inode) {
            // A live object of a reused number would be another object:
            // never hand it out for this one (the table then holds the
            // new object; the old references stay stale).
            if self.file_system.generation(inode)? == object.generation() {
                return Ok(object);
            }
        }
        let paid = self.objects.charge()?;
        self.hold_paid(inode, paid)
    }

    /// Holds `inode`, not live yet, with the slot `paid`.
    fn hold_paid(&mut self, inode: InodeNumber, paid: Option<Charge>) -> Result<ObjectRef, Error> {
        // Paid first: a slot given back before this charge is an inode
        // already queued, so collecting makes room in a full table.
        if self.objects.is_full() {
            self.collect()?;
        }
        let held = self.file_system.hold(inode)?;
        match self.objects.insert(held, paid) {
            Ok(object) => Ok(object),
            Err(error) => {
                let _ = self.file_system.release(inode);
                Err(error)
            }
        }
    }

    /// The root directory of the volume.
    ///
    /// Return values: as [`Self::hold`].
    pub fn root(&mut self) -> Result<ObjectRef, Error> {
        let root = self.file_system.root();
        self.hold(root)
    }

    /// Checks that `object` is still what it was when first held.
    ///
    /// Return values: `Stale` when the inode now carries another
    /// generation or is no longer in use; device errors.
    pub fn verify(&mut self, object: &ObjectRef) -> Result<(), Error> {
        self.collect()?;
        match self.file_system.generation(object.inode()) {
            Ok(generation) if generation == object.generation() => Ok(()),
            Ok(_) | Err(fs_ext2l::Error::NotFound) => Err(Error::Stale),
            Err(error) => Err(Error::FileSystem(error)),
        }
    }

    /// The entry `name` of directory `directory`, held.
    ///
    /// Return values: `FileSystem(NotFound)` (also in a removed directory),
    /// `FileSystem(NotADirectory)`, `FileSystem(InvalidName)` (`..`,
    /// reserved names), `Stale`, `OverBudget`, `TooManyObjects`, device errors.
    pub fn lookup(&mut self, directory: &ObjectRef, name: &[u8]) -> Result<ObjectRef, Error> {
        self.verify(directory)?;
        let inode = self.file_system.lookup(directory.inode(), name)?;
        self.hold_collected(inode)
    }

    /// What `object` is now (type, size, times, link count — 0 for an
    /// orphan).
    ///
    /// Return values: `Stale`; the file system's errors.
    pub fn stat(&mut self, object: &ObjectRef) -> Result<Metadata, Error> {
        self.verify(object)?;
        Ok(self.file_system.stat(object.inode())?)
    }

    /// Reads `object` (a regular file) at `offset`.
    ///
    /// Return values: bytes read; `Stale`; the file system's errors.
    pub fn read(
        &mut self,
        object: &ObjectRef,
        offset: u64,
        buffer: &mut [u8],
    ) -> Result<usize, Error> {
        self.verify(object)?;
        Ok(self.file_system.read(object.inode(), offset, buffer)?)
    }

    /// Reads `object` at `offset` into several buffers filled as one.
    ///
    /// Return values: bytes read; `Stale`; the file system's errors.
    pub fn read_pieces(
        &mut self,
        object: &ObjectRef,
        offset: u64,
        pieces: &mut [&mut [u8]],
    ) -> Result<usize, Error> {
        // The generation is checked by the read itself (against the inode
        // it loads or reuses), not by a separate load as `verify` does:
        // this is the path of every long read.
        self.collect()?;
        match self.file_system.read_pieces_of_generation(
            object.inode(),
            object.generation(),
            offset,
            pieces,
        ) {
            Err(fs_ext2l::Error::NotFound) => Err(Error::Stale),
            result => Ok(result?),
        }
    }

    /// Writes `data` into `object` at `offset`.
    ///
    /// Return values: bytes written; `Stale`; the file system's errors.
    pub fn write(&mut self, object: &ObjectRef, offset: u64, data: &[u8]) -> Result<usize, Error> {
        self.verify(object)?;
        Ok(self.file_system.write(object.inode(), offset, data)?)
    }

    /// Sets the size of `object`.
    ///
    /// Return values: `Stale`; the file system's errors.
    pub fn truncate(&mut self, object: &ObjectRef, size: u64) -> Result<(), Error> {
        self.verify(object)?;
        Ok(self.file_system.truncate(object.inode(), size)?)
    }

    /// Changes permissions or times of `object`.
    ///
    /// Return values: `Stale`; the file system's errors.
    pub fn set_attributes(
        &mut self,
        object: &ObjectRef,
        changes: SetAttributes,
    ) -> Result<(), Error> {
        self.verify(object)?;
        Ok(self.file_system.set_attributes(object.inode(), changes)?)
    }

    /// The next entry of directory `object` from `cursor` (none once the
    /// directory is removed).
    ///
    /// Return values: `Stale`; the file system's errors.
    pub fn read_dir(
        &mut self,
        object: &ObjectRef,
        cursor: u64,
    ) -> Result<Option<DirectoryEntry>, Error> {
        self.verify(object)?;
        Ok(self.file_system.read_dir(object.inode(), cursor)?)
    }

    /// The target of symbolic link `object`.
    ///
    /// Return values: `Stale`; the file system's errors.
    pub fn readlink(&mut self, object: &ObjectRef) -> Result<Vec<u8>, Error> {
        self.verify(object)?;
        Ok(self.file_system.readlink(object.inode())?)
    }

    /// The directory `object`'s rootlink names, held, if it has one.
    ///
    /// Return values: `Stale`; `OverBudget`; `TooManyObjects`; the file
    /// system's errors.
    pub fn rootlink(&mut self, object: &ObjectRef) -> Result<Option<ObjectRef>, Error> {
        self.verify(object)?;
        match self.file_system.rootlink(object.inode())? {
            Some(target) => Ok(Some(self.hold_collected(target)?)),
            None => Ok(None),
        }
    }

    /// Creates the empty regular file `name` in `directory`; returns it,
    /// held.
    ///
    /// Return values: `Stale`; `OverBudget`; `TooManyObjects`; the file
    /// system's errors.
    pub fn create(
        &mut self,
        directory: &ObjectRef,
        name: &[u8],
        permissions: u16,
    ) -> Result<ObjectRef, Error> {
        self.verify(directory)?;
        // Paid before the name is made: a refused call changes nothing.
        let paid = self.objects.charge()?;
        let inode = self
            .file_system
            .create(directory.inode(), name, permissions, 0, 0)?;
        self.hold_paid(inode, paid)
    }

    /// Creates directory `name` in `directory`.
    ///
    /// Return values: `Stale`; the file system's errors.
    pub fn mkdir(
        &mut self,
        directory: &ObjectRef,
        name: &[u8],
        permissions: u16,
    ) -> Result<(), Error> {
        self.verify(directory)?;
        self.file_system
            .mkdir(directory.inode(), name, permissions, 0, 0)?;
        Ok(())
    }

    /// Creates symbolic link `name` in `directory`, pointing at `target`.
    ///
    /// Return values: `Stale`; the file system's errors.
    pub fn symlink(
        &mut self,
        directory: &ObjectRef,
        name: &[u8],
        target: &[u8],
    ) -> Result<(), Error> {
        self.verify(directory)?;
        self.file_system
            .symlink(directory.inode(), name, target, 0, 0)?;
        Ok(())
    }

    /// Adds the name `name` in `directory` for `object`.
    ///
    /// Return values: `Stale`; the file system's errors (`NotFound` for an
    /// orphan: a removed file cannot be named again).
    pub fn link(
        &mut self,
        object: &ObjectRef,
        directory: &ObjectRef,
        name: &[u8],
    ) -> Result<(), Error> {
        self.verify(object)?;
        self.verify(directory)?;
        Ok(self
            .file_system
            .link(object.inode(), directory.inode(), name)?)
    }

    /// Removes the name `name` (not a directory) from `directory`.
    ///
    /// Return values: `Stale`; the file system's errors.
    pub fn unlink(&mut self, directory: &ObjectRef, name: &[u8]) -> Result<(), Error> {
        self.verify(directory)?;
        Ok(self.file_system.unlink(directory.inode(), name)?)
    }

    /// Removes the directory name `name` from `directory`.
    ///
    /// Return values: `Stale`; the file system's errors.
    pub fn rmdir(&mut self, directory: &ObjectRef, name: &[u8]) -> Result<(), Error> {
        self.verify(directory)?;
        Ok(self.file_system.rmdir(directory.inode(), name)?)
    }

    /// Moves entry `name` of `directory` to `new_directory` as `new_name`.
    ///
    /// Return values: `Stale`; the file system's errors.
    pub fn rename(
        &mut self,
        directory: &ObjectRef,
        name: &[u8],
        new_directory: &ObjectRef,
        new_name: &[u8],
    ) -> Result<(), Error> {
        self.verify(directory)?;
        self.verify(new_directory)?;
        Ok(self
            .file_system
            .rename(directory.inode(), name, new_directory.inode(), new_name)?)
    }

    /// Releases what was dropped, then writes everything back.
    ///
    /// Return values: the file system's errors.
    pub fn sync(&mut self) -> Result<(), Error> {
        let collected = self.collect();
        self.file_system.sync()?;
        collected
    }
}

/// A volume whose new objects one budget pays for ([`Volume::paid_by`]).
pub struct PaidBy<'a, D: BlockDevice> {
    volume: &'a mut Volume<D>,
    previous: Option<Arc<Budget>>,
}

impl<D: BlockDevice> Deref for PaidBy<'_, D> {
    type Target = Volume<D>;

    fn deref(&self) -> &Volume<D> {
        self.volume
    }
}

impl<D: BlockDevice> DerefMut for PaidBy<'_, D> {
    fn deref_mut(&mut self) -> &mut Volume<D> {
        self.volume
    }
}

impl<D: BlockDevice> Drop for PaidBy<'_, D> {
    fn drop(&mut self) {
        self.volume.objects.set_payer(self.previous.take());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::budget::{Ledger, OverBudget, Pool, POOLS};
    use fs_ext2l::{format, FormatOptions, MemoryDevice, MountOptions};

    const LIMIT: usize = 32;

    /// A volume of [`LIMIT`] live objects whose pool is the table, with
    /// a reserve of 4, the kernel paying for what no call pays for.
    fn volume() -> (Volume<MemoryDevice>, Arc<Ledger>) {
        let options = FormatOptions {
            size: 1024 * 1024,
            ..FormatOptions::default()
        };
        let file_system = format(
            MemoryDevice::new(1024 * 1024),
            &options,
            MountOptions::default(),
        )
        .unwrap();
        let mut volume = Volume::new(file_system, LIMIT).unwrap();
        let ledger = Ledger::new([0, 0, 0, LIMIT as u64], [0, 0, 0, 4]);
        volume.set_fallback_payer(Some(Budget::new(&ledger, [u64::MAX; POOLS], true)));
        (volume, ledger)
    }

    /// An unprivileged tree of at most `objects` live objects.
    fn tree(ledger: &Arc<Ledger>, objects: u64) -> Arc<Budget> {
        let mut limits = [u64::MAX; POOLS];
        limits[Pool::LiveObjects as usize] = objects;
        Budget::new(ledger, limits, false)
    }

    /// Creates `/name` and holds it, paid by `payer`.
    fn create(
        volume: &mut Volume<MemoryDevice>,
        root: &ObjectRef,
        payer: &Arc<Budget>,
        name: &str,
    ) -> Result<ObjectRef, Error> {
        volume.paid_by(payer).create(root, name.as_bytes(), 0o644)
    }

    #[test]
    fn a_tree_over_its_share_is_refused_and_another_still_holds() {
        let (mut volume, ledger) = volume();
        let root = volume.root().unwrap();
        let greedy = tree(&ledger, 10);
        let bystander = tree(&ledger, 10);
        let mut held = Vec::new();
        let refusal = loop {
            match create(
                &mut volume,
                &root,
                &greedy,
                &alloc::format!("g{}", held.len()),
            ) {
                Ok(object) => held.push(object),
                Err(error) => break error,
            }
        };
        assert_eq!(held.len(), 10);
        assert_eq!(
            refusal,
            Error::OverBudget(OverBudget::Tree(Pool::LiveObjects))
        );
        assert_eq!(
            manux_abi::Errno::from(refusal),
            manux_abi::Errno::OutOfMemory
        );
        // Lookups are refused too, not only creations.
        volume.paid_by(&greedy).mkdir(&root, b"dir", 0o755).unwrap();
        assert_eq!(
            volume.paid_by(&greedy).lookup(&root, b"dir"),
            Err(Error::OverBudget(OverBudget::Tree(Pool::LiveObjects)))
        );
        let other = create(&mut volume, &root, &bystander, "b").unwrap();
        assert_eq!(bystander.state().live_objects(), 1);
        assert_eq!(greedy.state().live_objects(), 10);
        drop(other);
        // The greedy tree's slots come back when its objects go.
        held.pop();
        assert_eq!(greedy.state().live_objects(), 9);
        assert!(volume.paid_by(&greedy).lookup(&root, b"dir").is_ok());
    }

    #[test]
    fn sharing_a_live_object_charges_only_its_first_holder() {
        let (mut volume, ledger) = volume();
        let root = volume.root().unwrap();
        let first = tree(&ledger, 4);
        let second = tree(&ledger, 4);
        let file = create(&mut volume, &root, &first, "shared").unwrap();
        let again = volume.paid_by(&second).lookup(&root, b"shared").unwrap();
        assert_eq!(file, again);
        assert_eq!(first.state().live_objects(), 1);
        assert_eq!(second.state().live_objects(), 0);
        // The first holder pays for as long as anyone holds it.
        drop(file);
        assert_eq!(first.state().live_objects(), 1);
        drop(again);
        assert_eq!(first.state().live_objects(), 0);
        assert_eq!(ledger.pool(Pool::LiveObjects).committed, 1, "the root");
        // And the payer of a call is undone with its guard.
        let kernel_held = volume.lookup(&root, b"shared").unwrap();
        assert_eq!(first.state().live_objects(), 0);
        assert_eq!(ledger.pool(Pool::LiveObjects).committed, 2);
        drop(kernel_held);
    }

    #[test]
    fn the_reserve_admits_a_privileged_tree_and_the_table_is_never_full_first() {
        let (mut volume, ledger) = volume();
        let root = volume.root().unwrap();
        // Unprivileged trees together take everything outside the
        // reserve: 32 - 4 - the root.
        let trees = [tree(&ledger, 20), tree(&ledger, 20)];
        let mut held = Vec::new();
        for (index, payer) in trees.iter().enumerate() {
            while let Ok(object) = create(
                &mut volume,
                &root,
                payer,
                &alloc::format!("t{index}-{}", held.len()),
            ) {
                held.push(object);
            }
        }
        assert_eq!(held.len(), LIMIT - 4 - 1);
        assert_eq!(
            create(&mut volume, &root, &trees[1], "more"),
            Err(Error::OverBudget(OverBudget::Machine(Pool::LiveObjects)))
        );
        let shell = Budget::new(&ledger, [u64::MAX; POOLS], true);
        for index in 0..4 {
            held.push(create(&mut volume, &root, &shell, &alloc::format!("s{index}")).unwrap());
        }
        assert_eq!(volume.objects().len(), LIMIT);
        // A full table is a full pool: the refusal is the budget's.
        assert_eq!(
            create(&mut volume, &root, &shell, "last"),
            Err(Error::OverBudget(OverBudget::Machine(Pool::LiveObjects)))
        );
        // Slots given back are usable at once, though not yet collected.
        held.pop();
        assert!(create(&mut volume, &root, &shell, "again").is_ok());
        assert!(
            volume.lookup(&root, b"last").is_err(),
            "a refused creation makes no name"
        );
    }
}
