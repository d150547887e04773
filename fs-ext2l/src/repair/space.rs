// SPDX-License-Identifier: MIT OR Apache-2.0
//! Space for the repair: claims, allocation, block maps and new entries.
//!
//! Until pass 5 the on-disk bitmaps are not trusted, so the repair never
//! uses the library's allocator: blocks and inodes come from what the
//! passes found in use ([`Repairer::claim`] records a use, a second claim
//! of the same block is counted as a duplicate for pass 1b). A block is
//! allocated lowest first from a goal, as e2fsck's `ext2fs_new_block2`
//! with the found map; an inode lowest first from the first ordinary
//! inode, as `ext2fs_new_inode` for a child of the root.
//!
//! [`Repairer::map_block_to`] sets one logical block of a block map,
//! allocating (zeroed) indirect blocks on the way; [`Repairer::add_entry`]
//! adds a name to a directory the way `directory.rs` does (in the first
//! record with room, else in a new block at its end), for `/lost+found`
//! and the names passes 2 to 4 give back.

use alloc::vec;
use alloc::vec::Vec;

use crate::bytes::{read_u32, write_u32};
use crate::cache::BlockClass;
use crate::device::BlockDevice;
use crate::directory_block::{
    entries, initialise_empty, record_size, set_record_length, write_entry,
};
use crate::error::{Error, Result};
use crate::inode::{FileType, Inode, InodeFlags, InodeNumber};

use super::Repairer;

/// Direct pointers in `i_block`.
const DIRECT_POINTERS: u64 = 12;

impl<D: BlockDevice> Repairer<'_, D> {
    /// Reads a block (the cached copy when there is one) as `class`.
    ///
    /// Return values: the bytes, or [`Error::Device`].
    pub(super) fn read_block(&mut self, block: u32, class: BlockClass) -> Result<Vec<u8>> {
        Ok(self
            .fs
            .cache
            .read(&mut self.fs.device, block, class)?
            .into())
    }

    /// Replaces a block's contents (through the cache).
    ///
    /// Return values: `Ok(())`, or [`Error::Device`].
    pub(super) fn write_block(
        &mut self,
        block: u32,
        bytes: &[u8],
        class: BlockClass,
    ) -> Result<()> {
        self.fs
            .cache
            .overwrite(&mut self.fs.device, block, class, bytes)?;
        Ok(())
    }

    /// Records that something uses `block`; false when something already
    /// did (then it is a duplicate for pass 1b).
    pub(super) fn claim(&mut self, block: u32) -> bool {
        if self.claimed.set(block) {
            *self.duplicates.entry(block).or_insert(0) += 1;
            false
        } else {
            true
        }
    }

    /// Takes back one claim of `block`.
    pub(super) fn unclaim(&mut self, block: u32) {
        match self.duplicates.get_mut(&block) {
            Some(count) => {
                *count -= 1;
                if *count == 0 {
                    self.duplicates.remove(&block);
                }
            }
            None => self.claimed.clear(block),
        }
    }

    /// Allocates a block nothing claims, the lowest at or after `goal`
    /// (0: the lowest of all), wrapping around.
    ///
    /// Return values: the block; [`Error::NoSpace`].
    pub(super) fn allocate_block(&mut self, goal: u32) -> Result<u32> {
        let first = self.fs.geometry.first_data_block;
        let count = self.fs.geometry.blocks_count;
        let start = if goal == 0 {
            self.next_free_block.max(first)
        } else if goal >= first && goal < count {
            goal
        } else {
            first
        };
        let found = (start..count)
            .find(|&block| !self.claimed.get(block))
            .or_else(|| (first..start).find(|&block| !self.claimed.get(block)));
        let block = found.ok_or(Error::NoSpace)?;
        self.claimed.set(block);
        if goal == 0 {
            self.next_free_block = block + 1;
        }
        Ok(block)
    }

    /// Allocates an inode number nothing uses, the lowest ordinary one
    /// in a group whose table can be read, and records it with `file_type`.
    /// The slot is zeroed and given a fresh generation.
    ///
    /// Return values: the inode; [`Error::NoSpace`]; [`Error::Device`].
    pub(super) fn allocate_inode(&mut self, file_type: FileType) -> Result<Inode> {
        let first = self.fs.geometry.first_inode;
        let count = self.fs.geometry.inodes_count;
        let per_group = self.fs.geometry.inodes_per_group;
        let number = (first..=count)
            .find(|&number| {
                let record = self.record(number);
                let group = (number - 1) / per_group;
                record.file_type.is_none()
                    && record.flags & super::IN_BAD_BLOCK == 0
                    && self.fs.groups.is_valid(group)
                    && !self.unreadable_tables.contains(&group)
            })
            .ok_or(Error::NoSpace)?;
        if let Some(record) = self.record_mut(number) {
            *record = super::InodeRecord {
                file_type: Some(file_type),
                ..super::InodeRecord::default()
            };
        }
        let previous = self.fs.read_inode(InodeNumber(number))?.generation();
        self.fs.clear_inode_slot(InodeNumber(number))?;
        let mut inode = Inode::zeroed(InodeNumber(number));
        let generation = self.fs.take_generation(previous);
        inode.set_generation(generation);
        if self.fs.geometry.inode_size > 128 {
            // Room for the extra timestamps, as mke2fs and e2fsck write.
            inode.set_extra_size(32);
        }
        Ok(inode)
    }

    /// Points logical block `logical` of `inode` at `block`, allocating
    /// the indirect blocks on the way (zeroed, counted in `i_blocks`). The
    /// caller counts `block` itself and stores the inode.
    ///
    /// Return values: `Ok(())`; [`Error::FileTooLarge`] past the triple
    /// indirect tree; [`Error::NoSpace`]; [`Error::Device`].
    pub(super) fn map_block_to(
        &mut self,
        inode: &mut Inode,
        logical: u64,
        block: u32,
    ) -> Result<()> {
        let pointers = u64::from(self.fs.geometry.pointers_per_block());
        if logical < DIRECT_POINTERS {
            inode.set_block_pointer(logical as usize, block);
            return Ok(());
        }
        let mut rest = logical - DIRECT_POINTERS;
        let mut depth = 1u32;
        let mut span = pointers;
        while rest >= span {
            rest -= span;
            depth += 1;
            if depth > 3 {
                return Err(Error::FileTooLarge);
            }
            span = span.saturating_mul(pointers);
        }
        let root = 11 + depth as usize;
        let mut pointer = inode.block_pointer(root);
        if pointer == 0 || !self.fs.geometry.is_valid_block(pointer) {
            pointer = self.new_indirect_block(inode)?;
            inode.set_block_pointer(root, pointer);
        }
        let mut level_span = span / pointers;
        for level in (0..depth).rev() {
            let index = (rest / level_span.max(1)) as usize % pointers as usize;
            rest %= level_span.max(1);
            let mut data = self.read_block(pointer, BlockClass::Metadata)?;
            if level == 0 {
                write_u32(&mut data, index * 4, block);
                self.write_block(pointer, &data, BlockClass::Metadata)?;
                return Ok(());
            }
            let mut child = read_u32(&data, index * 4);
            if child == 0 || !self.fs.geometry.is_valid_block(child) {
                child = self.new_indirect_block(inode)?;
                write_u32(&mut data, index * 4, child);
                self.write_block(pointer, &data, BlockClass::Metadata)?;
            }
            pointer = child;
            level_span /= pointers;
        }
        Ok(())
    }

    /// A zeroed indirect block for `inode`, counted in its `i_blocks`.
    fn new_indirect_block(&mut self, inode: &mut Inode) -> Result<u32> {
        let goal = self.fs.inode_goal(inode.number);
        let block = self.allocate_block(goal)?;
        let zeros = vec![0u8; self.fs.geometry.block_bytes()];
        self.write_block(block, &zeros, BlockClass::Metadata)?;
        self.add_block_sectors(inode, 1);
        Ok(block)
    }

    /// Adds `count` blocks to `inode`'s `i_blocks`.
    pub(super) fn add_block_sectors(&self, inode: &mut Inode, count: u32) {
        let sectors = (self.fs.geometry.block_size / 512).saturating_mul(count);
        inode.set_sectors(inode.sectors().saturating_add(sectors));
    }

    /// Adds the entry `name` → `child` to `directory` (whose blocks pass 2
    /// made valid): in the first record with room, else in a new block at
    /// its end. An indexed directory loses its index, as any directory
    /// this library changes does.
    ///
    /// Return values: `Ok(())`; [`Error::NotADirectory`];
    /// [`Error::NoSpace`]; [`Error::Device`].
    pub(super) fn add_entry(
        &mut self,
        directory: u32,
        name: &[u8],
        child: u32,
        file_type: FileType,
    ) -> Result<()> {
        let mut inode = self.fs.read_inode(InodeNumber(directory))?;
        if !inode.is_directory() {
            return Err(Error::NotADirectory);
        }
        let block_size = u64::from(self.fs.geometry.block_size);
        let filetype = self.fs.geometry.filetype;
        let inodes_count = self.fs.geometry.inodes_count;
        let type_byte = if filetype {
            file_type.directory_entry_byte()
        } else {
            0
        };
        let needed = record_size(name.len());
        let count = inode.size() / block_size;
        for logical in 0..count {
            let Ok(Some(physical)) = self.fs.map_block(&inode, logical) else {
                continue;
            };
            let mut data = self.read_block(physical, BlockClass::Metadata)?;
            let slot = entries(&data, filetype, inodes_count)
                .map_while(|entry| entry.ok())
                .find(|entry| entry.spare() >= needed)
                .map(|entry| {
                    (
                        entry.offset,
                        entry.inode,
                        entry.name.len(),
                        entry.record_length,
                    )
                });
            let Some((offset, existing, existing_name, length)) = slot else {
                continue;
            };
            if existing == 0 {
                write_entry(&mut data, offset, child, length, name, type_byte);
            } else {
                let used = record_size(existing_name);
                set_record_length(&mut data, offset, used);
                write_entry(
                    &mut data,
                    offset + used,
                    child,
                    length - used,
                    name,
                    type_byte,
                );
            }
            self.write_block(physical, &data, BlockClass::Metadata)?;
            return self.finish_directory_change(inode);
        }
        let last = match count.checked_sub(1) {
            Some(last) => self.fs.map_block(&inode, last).ok().flatten(),
            None => None,
        };
        let goal = last
            .map(|block| block.saturating_add(1))
            .unwrap_or_else(|| self.fs.inode_goal(inode.number));
        let block = self.allocate_block(goal)?;
        let mut data = vec![0u8; self.fs.geometry.block_bytes()];
        initialise_empty(&mut data);
        let length = data.len();
        write_entry(&mut data, 0, child, length, name, type_byte);
        self.write_block(block, &data, BlockClass::Metadata)?;
        self.map_block_to(&mut inode, count, block)?;
        self.add_block_sectors(&mut inode, 1);
        inode.set_size((count + 1) * block_size);
        self.finish_directory_change(inode)
    }

    /// Stores a directory whose entries changed: times, and the index flag
    /// dropped.
    pub(super) fn finish_directory_change(&mut self, mut inode: Inode) -> Result<()> {
        let flags = inode.flags();
        if flags.contains(InodeFlags::INDEX) {
            inode.set_flags(flags - InodeFlags::INDEX);
        }
        inode.set_modification_time(self.now);
        inode.set_change_time(self.now);
        self.fs.write_inode(&inode)
    }
}
