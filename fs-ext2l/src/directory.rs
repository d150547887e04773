// SPDX-License-Identifier: MIT OR Apache-2.0
//! Directories on a mounted file system: lookup, read_dir and entry editing.
//!
//! Directories are read linearly, block by block, through the metadata cache
//! (an htree index is never consulted, so an indexed directory reads like any
//! other). Editing follows Linux ext2 (`fs/ext2/dir.c`): a new entry takes the
//! first record with enough slack, or a new block appended to the directory;
//! a removed entry is merged into the record before it, or becomes an empty
//! record when it is first in its block. Any modification clears the index
//! flag, since the hash index is not maintained — as Linux's ext2 does.
//!
//! Lookups refuse reserved dot-only names (DESIGN §4) and `..`: the on-disk
//! `..` keeps a first parent and is never used to walk upwards (DESIGN §5),
//! so callers resolve `..` lexically.

use alloc::vec::Vec;

use crate::cache::BlockClass;
use crate::device::BlockDevice;
use crate::directory_block::{
    self as block_format, entries, initialise_empty, record_size, set_entry_inode,
    set_record_length, write_entry, RawEntry,
};
use crate::error::{Error, Result};
use crate::filesystem::FileSystem;
use crate::inode::{FileType, Inode, InodeFlags, InodeNumber};
use crate::name::{is_dot_or_dot_dot, is_reserved_name, validate_lookup_name};

/// One entry returned by [`FileSystem::read_dir`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirectoryEntry {
    /// The name (any bytes but `/` and NUL).
    pub name: Vec<u8>,
    /// The inode it names.
    pub inode: InodeNumber,
    /// The type recorded in the entry ([`FileType::Unknown`] without the
    /// `filetype` feature).
    pub file_type: FileType,
    /// The cursor to pass to [`FileSystem::read_dir`] for the next entry.
    pub next_cursor: u64,
}

/// Where an entry was found.
#[derive(Clone, Copy, Debug)]
pub(crate) struct EntryLocation {
    /// Device block holding the entry.
    pub device_block: u32,
    /// Byte offset of the entry in the block.
    pub offset: usize,
    /// Offset of the record before it in the same block.
    pub previous_offset: Option<usize>,
    /// Byte position of the entry in the directory.
    pub position: u64,
}

/// An entry copied out of a block.
#[derive(Clone, Debug)]
pub(crate) struct FoundEntry {
    pub inode: InodeNumber,
    pub location: EntryLocation,
}

impl<D: BlockDevice> FileSystem<D> {
    /// Loads a directory inode.
    ///
    /// Return values: the inode, [`Error::NotADirectory`], [`Error::NotFound`].
    pub(crate) fn directory_inode(&mut self, number: InodeNumber) -> Result<Inode> {
        let inode = self.live_inode(number)?;
        if !inode.is_directory() {
            return Err(Error::NotADirectory);
        }
        Ok(inode)
    }

    /// How many blocks a directory spans, bounded by the file system size.
    pub(crate) fn directory_block_count(&self, directory: &Inode) -> Result<u64> {
        let count = directory
            .size()
            .div_ceil(u64::from(self.geometry.block_size));
        if count > u64::from(self.geometry.blocks_count) {
            return Err(Error::corrupt_inode(
                "directory larger than the file system",
                directory.number.get(),
            ));
        }
        Ok(count)
    }

    /// Calls `visit_fn` on every record of `directory`, free ones included,
    /// until it returns `Some`.
    ///
    /// Return values: what `visit_fn` returned, `None` when it never did,
    /// [`Error::Corrupt`] for a damaged block, or [`Error::Device`].
    pub(crate) fn scan_directory<T>(
        &mut self,
        directory: &Inode,
        mut visit_fn: impl FnMut(&RawEntry<'_>, EntryLocation) -> Option<T>,
    ) -> Result<Option<T>> {
        let count = self.directory_block_count(directory)?;
        let block_size = u64::from(self.geometry.block_size);
        for index in 0..count {
            let Some(device_block) = self.map_block(directory, index)? else {
                continue;
            };
            let block: Vec<u8> = self
                .cache
                .read(&mut self.device, device_block, BlockClass::Metadata)?
                .into();
            let mut previous_offset = None;
            for entry in entries(&block, self.geometry.filetype, self.geometry.inodes_count) {
                let entry = entry.map_err(|error| match error {
                    Error::Corrupt(mut corruption) => {
                        corruption.inode = directory.number.get();
                        corruption.block = u64::from(device_block);
                        Error::Corrupt(corruption)
                    }
                    other => other,
                })?;
                let location = EntryLocation {
                    device_block,
                    offset: entry.offset,
                    previous_offset,
                    position: index * block_size + entry.offset as u64,
                };
                if let Some(result) = visit_fn(&entry, location) {
                    return Ok(Some(result));
                }
                previous_offset = Some(entry.offset);
            }
        }
        Ok(None)
    }

    /// The live entry called `name` in `directory`, if any (never a reserved name).
    pub(crate) fn find_entry(
        &mut self,
        directory: &Inode,
        name: &[u8],
    ) -> Result<Option<FoundEntry>> {
        if is_reserved_name(name) {
            return Ok(None);
        }
        self.scan_directory(directory, |entry, location| {
            if entry.inode != 0 && entry.name == name {
                Some(FoundEntry {
                    inode: InodeNumber(entry.inode),
                    location,
                })
            } else {
                None
            }
        })
    }

    /// Finds the inode called `name` in directory `directory`.
    ///
    /// `.` gives the directory itself. `..` is refused: the on-disk parent is
    /// never used to walk upwards; resolve it lexically (DESIGN §5).
    ///
    /// Return values:
    /// - the inode number;
    /// - [`Error::NotFound`] when there is no such entry;
    /// - [`Error::InvalidName`] for `..`, reserved dot-only names, empty
    ///   names and names with `/` or NUL; [`Error::NameTooLong`];
    /// - [`Error::NotADirectory`], [`Error::Corrupt`], [`Error::Device`].
    pub fn lookup(&mut self, directory: InodeNumber, name: &[u8]) -> Result<InodeNumber> {
        let result = self.lookup_unobserved(directory, name);
        self.observe(result)
    }

    /// [`Self::lookup`], without marking damage it finds.
    fn lookup_unobserved(&mut self, directory: InodeNumber, name: &[u8]) -> Result<InodeNumber> {
        validate_lookup_name(name)?;
        let directory = self.directory_inode(directory)?;
        if name == b"." {
            return Ok(directory.number);
        }
        if name == b".." {
            return Err(Error::InvalidName);
        }
        match self.find_entry(&directory, name)? {
            Some(found) => Ok(found.inode),
            None => Err(Error::NotFound),
        }
    }

    /// Returns the first entry at or after `cursor` (0 starts at the
    /// beginning), with the cursor of the entry after it. Free records and
    /// reserved dot-only names are skipped; `.` and `..` are returned as
    /// stored. A cursor left from before a change stays usable: it is a byte
    /// position, and the entry returned is the first that starts at or after it.
    ///
    /// An orphaned directory the host holds lists nothing (`orphan.rs`).
    ///
    /// Return values: `Some(entry)`, `None` at the end, [`Error::NotADirectory`],
    /// [`Error::NotFound`], [`Error::Corrupt`], [`Error::Device`].
    pub fn read_dir(
        &mut self,
        directory: InodeNumber,
        cursor: u64,
    ) -> Result<Option<DirectoryEntry>> {
        let result = self.read_dir_unobserved(directory, cursor);
        self.observe(result)
    }

    /// [`Self::read_dir`], without marking damage it finds.
    fn read_dir_unobserved(
        &mut self,
        directory: InodeNumber,
        cursor: u64,
    ) -> Result<Option<DirectoryEntry>> {
        let directory = self.accessible_inode(directory)?;
        if !directory.is_directory() {
            return Err(Error::NotADirectory);
        }
        if directory.links() == 0 {
            return Ok(None);
        }
        let block_size = u64::from(self.geometry.block_size);
        let count = self.directory_block_count(&directory)?;
        let mut index = cursor / block_size;
        let mut skip_before = (cursor % block_size) as usize;
        while index < count {
            if let Some(device_block) = self.map_block(&directory, index)? {
                let block: Vec<u8> = self
                    .cache
                    .read(&mut self.device, device_block, BlockClass::Metadata)?
                    .into();
                for entry in entries(&block, self.geometry.filetype, self.geometry.inodes_count) {
                    let entry = entry.map_err(|_| {
                        Error::corrupt_block(
                            "damaged directory entry",
                            directory.number.get(),
                            u64::from(device_block),
                        )
                    })?;
                    if entry.offset < skip_before
                        || entry.inode == 0
                        || is_reserved_name(entry.name)
                    {
                        continue;
                    }
                    return Ok(Some(DirectoryEntry {
                        name: entry.name.into(),
                        inode: InodeNumber(entry.inode),
                        file_type: FileType::from_directory_entry(entry.file_type),
                        next_cursor: index * block_size
                            + (entry.offset + entry.record_length) as u64,
                    }));
                }
            }
            index += 1;
            skip_before = 0;
        }
        Ok(None)
    }

    /// Every entry of a directory (as [`Self::read_dir`] returns them).
    ///
    /// Return values: as [`Self::read_dir`].
    pub fn entries(&mut self, directory: InodeNumber) -> Result<Vec<DirectoryEntry>> {
        let mut result = Vec::new();
        let mut cursor = 0;
        while let Some(entry) = self.read_dir(directory, cursor)? {
            cursor = entry.next_cursor;
            result.push(entry);
        }
        Ok(result)
    }

    /// The type to record in a new entry (0 without the `filetype` feature).
    pub(crate) fn entry_type_byte(&self, file_type: FileType) -> u8 {
        if self.geometry.filetype {
            file_type.directory_entry_byte()
        } else {
            0
        }
    }

    /// Records that a directory changed: times, and the index flag dropped.
    fn touch_directory(&self, directory: &mut Inode) {
        let now = self.now();
        directory.set_modification_time(now);
        directory.set_change_time(now);
        let flags = directory.flags();
        if flags.contains(InodeFlags::INDEX) {
            directory.set_flags(flags - InodeFlags::INDEX);
        }
    }

    /// Adds the entry `name` → `child` to `directory` and stores the
    /// directory inode. The name has been validated by the caller.
    ///
    /// Return values: `Ok(())`, [`Error::Exists`], [`Error::NoSpace`],
    /// [`Error::Corrupt`], [`Error::Device`].
    pub(crate) fn add_entry(
        &mut self,
        directory: &mut Inode,
        name: &[u8],
        child: InodeNumber,
        file_type: FileType,
    ) -> Result<()> {
        self.require_writable()?;
        let needed = record_size(name.len());
        let mut duplicate = false;
        let mut slot: Option<(EntryLocation, u32, usize, usize)> = None;
        self.scan_directory(directory, |entry, location| {
            if entry.inode != 0 && entry.name == name {
                duplicate = true;
                return Some(());
            }
            if slot.is_none() && entry.spare() >= needed {
                slot = Some((location, entry.inode, entry.name.len(), entry.record_length));
            }
            None
        })?;
        if duplicate {
            return Err(Error::Exists);
        }
        let type_byte = self.entry_type_byte(file_type);
        match slot {
            Some((location, existing_inode, existing_name_length, record_length)) => {
                let block = self.cache.write(
                    &mut self.device,
                    location.device_block,
                    BlockClass::Metadata,
                )?;
                if existing_inode == 0 {
                    write_entry(
                        block,
                        location.offset,
                        child.get(),
                        record_length,
                        name,
                        type_byte,
                    );
                } else {
                    let used = record_size(existing_name_length);
                    set_record_length(block, location.offset, used);
                    write_entry(
                        block,
                        location.offset + used,
                        child.get(),
                        record_length - used,
                        name,
                        type_byte,
                    );
                }
            }
            None => {
                let block_size = u64::from(self.geometry.block_size);
                let count = self.directory_block_count(directory)?;
                let goal = match count.checked_sub(1) {
                    Some(last) => self
                        .map_block(directory, last)?
                        .map(|block| block.saturating_add(1))
                        .unwrap_or_else(|| self.inode_goal(directory.number)),
                    None => self.inode_goal(directory.number),
                };
                let (device_block, _) = self.map_or_allocate(directory, count, goal)?;
                let block =
                    self.cache
                        .zeroed(&mut self.device, device_block, BlockClass::Metadata)?;
                initialise_empty(block);
                let length = block.len();
                write_entry(block, 0, child.get(), length, name, type_byte);
                directory.set_size((count + 1) * block_size);
            }
        }
        self.touch_directory(directory);
        self.write_inode(directory)
    }

    /// Removes the live entry `name` from `directory` and stores the
    /// directory inode; returns what it named.
    ///
    /// Return values: the removed entry, [`Error::NotFound`],
    /// [`Error::Corrupt`], [`Error::Device`].
    pub(crate) fn remove_entry(
        &mut self,
        directory: &mut Inode,
        name: &[u8],
    ) -> Result<FoundEntry> {
        self.require_writable()?;
        let found = self.find_entry(directory, name)?.ok_or(Error::NotFound)?;
        let location = found.location;
        let block = self.cache.write(
            &mut self.device,
            location.device_block,
            BlockClass::Metadata,
        )?;
        let record_length = entries(block, false, u32::MAX)
            .filter_map(|entry| entry.ok())
            .find(|entry| entry.offset == location.offset)
            .map(|entry| entry.record_length)
            .ok_or(Error::corrupt_inode(
                "directory entry vanished",
                directory.number.get(),
            ))?;
        match location.previous_offset {
            Some(previous) => {
                let previous_length = location.offset - previous;
                set_record_length(block, previous, previous_length + record_length);
            }
            None => set_entry_inode(block, location.offset, 0, 0),
        }
        self.touch_directory(directory);
        self.write_inode(directory)?;
        Ok(found)
    }

    /// Points the existing entry `name` of `directory` at another inode (for
    /// rename over an existing name) and stores the directory inode.
    pub(crate) fn retarget_entry(
        &mut self,
        directory: &mut Inode,
        location: EntryLocation,
        child: InodeNumber,
        file_type: FileType,
    ) -> Result<()> {
        self.require_writable()?;
        let type_byte = self.entry_type_byte(file_type);
        let block = self.cache.write(
            &mut self.device,
            location.device_block,
            BlockClass::Metadata,
        )?;
        set_entry_inode(block, location.offset, child.get(), type_byte);
        self.touch_directory(directory);
        self.write_inode(directory)
    }

    /// The `..` record of a directory: the second record of its first block.
    pub(crate) fn dot_dot(&mut self, directory: &Inode) -> Result<FoundEntry> {
        let block_size = u64::from(self.geometry.block_size);
        let mut records_seen = 0usize;
        let found = self.scan_directory(directory, |entry, location| {
            records_seen += 1;
            if records_seen < 2 {
                return None;
            }
            if location.position < block_size && entry.name == b".." && entry.inode != 0 {
                Some(Some(FoundEntry {
                    inode: InodeNumber(entry.inode),
                    location,
                }))
            } else {
                Some(None)
            }
        })?;
        found.flatten().ok_or(Error::corrupt_inode(
            "directory has no `..` entry",
            directory.number.get(),
        ))
    }

    /// Changes a directory's `..` record to point at `parent`.
    pub(crate) fn set_dot_dot(&mut self, directory: &mut Inode, parent: InodeNumber) -> Result<()> {
        let found = self.dot_dot(directory)?;
        self.retarget_entry(directory, found.location, parent, FileType::Directory)
    }

    /// Whether a directory holds nothing but `.`, `..` and free records.
    pub(crate) fn directory_is_empty(&mut self, directory: &Inode) -> Result<bool> {
        let non_empty = self.scan_directory(directory, |entry, _| {
            if entry.inode != 0 && !is_dot_or_dot_dot(entry.name) {
                Some(())
            } else {
                None
            }
        })?;
        Ok(non_empty.is_none())
    }

    /// The live entries of a directory other than `.` and `..`, reserved
    /// names included (the checker and cycle search need them all).
    pub(crate) fn child_entries(
        &mut self,
        directory: &Inode,
    ) -> Result<Vec<(Vec<u8>, InodeNumber, FileType)>> {
        let mut children = Vec::new();
        self.scan_directory::<()>(directory, |entry, _| {
            if entry.inode != 0 && !is_dot_or_dot_dot(entry.name) {
                children.push((
                    entry.name.into(),
                    InodeNumber(entry.inode),
                    FileType::from_directory_entry(entry.file_type),
                ));
            }
            None
        })?;
        Ok(children)
    }

    /// Allocates and fills the first block of a new directory.
    pub(crate) fn initialise_directory_block(
        &mut self,
        directory: &mut Inode,
        parent: InodeNumber,
    ) -> Result<()> {
        let goal = self.inode_goal(directory.number);
        let (device_block, _) = self.map_or_allocate(directory, 0, goal)?;
        let filetype = self.geometry.filetype;
        let block = self
            .cache
            .zeroed(&mut self.device, device_block, BlockClass::Metadata)?;
        block_format::initialise_directory(block, directory.number.get(), parent.get(), filetype);
        directory.set_size(u64::from(self.geometry.block_size));
        Ok(())
    }
}
