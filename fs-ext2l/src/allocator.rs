// SPDX-License-Identifier: MIT OR Apache-2.0
//! Block and inode allocation: bitmaps and the counters that mirror them.
//!
//! Every allocation or release updates, together, the bitmap bit, the
//! group's free count (and directory count for inodes) and the superblock's
//! free count, so the counters stay exactly what `e2fsck` computes from the
//! bitmaps. Blocks are searched from a goal (next to the previous block of
//! the same file, or the start of the inode's group), so a file's data sits
//! near its inode and in long runs. Independently of the bitmap, a block that
//! holds group metadata (superblock and descriptor copies, reserved
//! descriptor blocks, bitmaps, inode tables) is never handed out: a damaged
//! bitmap cannot make the allocator overwrite the layout.
//!
//! With a journal, a block freed by a transaction that has not committed
//! yet is not handed out again (`transaction.rs`): the allocator takes a
//! block only if it is free both in the bitmap and in the bitmap's frozen
//! copy from before the first uncommitted free in it.

use crate::bytes::{bit_is_set, set_bit};
use crate::cache::BlockClass;
use crate::device::BlockDevice;
use crate::error::{Error, Result};
use crate::filesystem::FileSystem;
use crate::inode::InodeNumber;

/// The first bit in `from..until` clear in `bitmap` and, if given, in
/// `frozen` too, examining them a byte at a time while they are full.
fn next_clear_bit(bitmap: &[u8], frozen: Option<&[u8]>, from: u32, until: u32) -> Option<u32> {
    let byte = |index: u32| {
        let at = (index / 8) as usize;
        let mine = bitmap.get(at).copied().unwrap_or(0xFF);
        mine | frozen.map_or(0, |frozen| frozen.get(at).copied().unwrap_or(0xFF))
    };
    let mut index = from;
    while index < until {
        if index % 8 == 0 && byte(index) == 0xFF {
            index += 8;
            continue;
        }
        if !bit_is_set(bitmap, index as usize)
            && !frozen.is_some_and(|frozen| bit_is_set(frozen, index as usize))
        {
            return Some(index);
        }
        index += 1;
    }
    None
}

impl<D: BlockDevice> FileSystem<D> {
    /// Whether `block` belongs to a group's fixed metadata.
    pub(crate) fn is_metadata_block(&self, block: u32) -> bool {
        let geometry = &self.geometry;
        if block < geometry.first_data_block {
            return true;
        }
        let group = geometry.group_of_block(block);
        let first = geometry.group_first_block(group);
        if block - first < geometry.group_header_blocks(group) {
            return true;
        }
        if !self.groups.is_valid(group) {
            return true;
        }
        let table = self.groups.inode_table(group);
        block == self.groups.block_bitmap(group)
            || block == self.groups.inode_bitmap(group)
            || (block >= table
                && u64::from(block) < u64::from(table) + u64::from(geometry.inode_table_blocks))
    }

    /// Finds a free, non-metadata block in `group` at bit `from` or later and
    /// below `until`, without changing anything.
    fn find_free_block_in_group(
        &mut self,
        group: u32,
        from: u32,
        until: u32,
    ) -> Result<Option<u32>> {
        let bitmap_block = self.groups.block_bitmap(group);
        let first = self.geometry.group_first_block(group);
        let until = until.min(self.geometry.group_block_count(group));
        let mut index = from;
        while index < until {
            // The next clear bit, found in one look at the cached bitmap.
            let bitmap = self
                .cache
                .read(&mut self.device, bitmap_block, BlockClass::Metadata)?;
            let frozen = self.transactions.frozen_bitmap(bitmap_block);
            let Some(clear) = next_clear_bit(bitmap, frozen, index, until) else {
                return Ok(None);
            };
            let block = first + clear;
            if !self.is_metadata_block(block) {
                return Ok(Some(block));
            }
            index = clear + 1;
        }
        Ok(None)
    }

    /// Allocates one block as close after `goal` as possible.
    ///
    /// Return values: the block number, [`Error::NoSpace`], [`Error::ReadOnly`]
    /// or [`Error::Device`].
    pub(crate) fn allocate_block(&mut self, goal: u32) -> Result<u32> {
        self.require_writable()?;
        if self.superblock.free_blocks_count() == 0 {
            return Err(Error::NoSpace);
        }
        let group_count = self.geometry.group_count;
        let goal = if self.geometry.is_valid_block(goal) {
            goal
        } else {
            self.geometry.first_data_block
        };
        let start_group = self.geometry.group_of_block(goal);
        let goal_index = goal - self.geometry.group_first_block(start_group);
        // The goal's group from the goal on, every other group, then the goal's
        // group before the goal.
        for step in 0..=group_count {
            let group = (start_group + step) % group_count;
            if !self.groups.is_valid(group) || self.groups.free_blocks(group) == 0 {
                continue;
            }
            let (from, until) = match step {
                0 => (goal_index, u32::MAX),
                step if step == group_count => (0, goal_index),
                _ => (0, u32::MAX),
            };
            if let Some(block) = self.find_free_block_in_group(group, from, until)? {
                self.mark_block(block, true)?;
                self.transactions.note_allocated(block);
                return Ok(block);
            }
        }
        Err(Error::NoSpace)
    }

    /// Sets or clears `block`'s bitmap bit and updates the counters.
    fn mark_block(&mut self, block: u32, used: bool) -> Result<()> {
        let group = self.geometry.group_of_block(block);
        let index = (block - self.geometry.group_first_block(group)) as usize;
        let bitmap_block = self.groups.block_bitmap(group);
        if !used && self.transactions.journaling() {
            let bitmap = self
                .cache
                .read(&mut self.device, bitmap_block, BlockClass::Metadata)?;
            if bit_is_set(bitmap, index) {
                self.transactions.freeze_bitmap(bitmap_block, bitmap);
            }
            self.transactions.note_freed(block);
        }
        let bitmap = self
            .cache
            .write(&mut self.device, bitmap_block, BlockClass::Metadata)?;
        if bit_is_set(bitmap, index) == used {
            // Already in that state: a damaged image; keep counters matching
            // the bitmap rather than counting twice.
            return Ok(());
        }
        set_bit(bitmap, index, used);
        let group_free = self.groups.free_blocks(group);
        let total_free = self.superblock.free_blocks_count();
        if used {
            self.groups
                .set_free_blocks(group, group_free.saturating_sub(1));
            self.superblock.set_u32(
                crate::superblock::field::FREE_BLOCKS_COUNT,
                total_free.saturating_sub(1),
            );
        } else {
            self.groups
                .set_free_blocks(group, group_free.saturating_add(1));
            self.superblock.set_u32(
                crate::superblock::field::FREE_BLOCKS_COUNT,
                total_free.saturating_add(1),
            );
        }
        self.groups_dirty = true;
        self.superblock_dirty = true;
        // A block changing hands must not keep a stale cached copy.
        self.cache.forget(block);
        Ok(())
    }

    /// Releases `block`. Metadata blocks and blocks outside the file system
    /// are refused as corruption rather than freed.
    pub(crate) fn free_block(&mut self, block: u32, owner: InodeNumber) -> Result<()> {
        self.require_writable()?;
        if !self.geometry.is_valid_block(block) || self.is_metadata_block(block) {
            return Err(Error::corrupt_block(
                "freeing a block that is not a data block",
                owner.get(),
                u64::from(block),
            ));
        }
        self.mark_block(block, false)
    }

    /// Allocates an inode for a new file in `parent`: a directory goes to a
    /// group with many free blocks to spread trees out, anything else to the
    /// parent's group (as Linux ext2's `find_group_dir`/`find_group_other`).
    ///
    /// Return values: the inode number, [`Error::NoSpace`], [`Error::ReadOnly`]
    /// or [`Error::Device`].
    pub(crate) fn allocate_inode(
        &mut self,
        parent: InodeNumber,
        directory: bool,
    ) -> Result<InodeNumber> {
        self.require_writable()?;
        if self.superblock.free_inodes_count() == 0 {
            return Err(Error::NoSpace);
        }
        let group_count = self.geometry.group_count;
        let (parent_group, _) = self.geometry.inode_position(parent.get());
        let start_group = if directory {
            self.directory_group(parent_group)
        } else {
            parent_group % group_count
        };
        for step in 0..group_count {
            let group = (start_group + step) % group_count;
            if !self.groups.is_valid(group) || self.groups.free_inodes(group) == 0 {
                continue;
            }
            if let Some(number) = self.find_free_inode_in_group(group)? {
                self.mark_inode(number, true, directory)?;
                return Ok(number);
            }
        }
        Err(Error::NoSpace)
    }

    /// The group for a new directory: among groups with at least the average
    /// number of free inodes, the one with the most free blocks.
    fn directory_group(&self, parent_group: u32) -> u32 {
        let group_count = self.geometry.group_count;
        let average_free_inodes = self.superblock.free_inodes_count() / group_count.max(1);
        let mut best = parent_group % group_count;
        let mut best_free_blocks = 0u16;
        for group in 0..group_count {
            if !self.groups.is_valid(group) {
                continue;
            }
            let free_inodes = u32::from(self.groups.free_inodes(group));
            let free_blocks = self.groups.free_blocks(group);
            if free_inodes > 0
                && free_inodes >= average_free_inodes
                && free_blocks > best_free_blocks
            {
                best = group;
                best_free_blocks = free_blocks;
            }
        }
        best
    }

    fn find_free_inode_in_group(&mut self, group: u32) -> Result<Option<InodeNumber>> {
        let bitmap_block = self.groups.inode_bitmap(group);
        let inodes_per_group = self.geometry.inodes_per_group;
        let first_inode = self.geometry.first_inode;
        let inodes_count = self.geometry.inodes_count;
        let bitmap = self
            .cache
            .read(&mut self.device, bitmap_block, BlockClass::Metadata)?;
        for index in 0..inodes_per_group {
            let number = u64::from(group) * u64::from(inodes_per_group) + u64::from(index) + 1;
            if number > u64::from(inodes_count) {
                break;
            }
            let number = number as u32;
            if number < first_inode {
                continue;
            }
            if !bit_is_set(bitmap, index as usize) {
                return Ok(Some(InodeNumber(number)));
            }
        }
        Ok(None)
    }

    /// Sets or clears an inode's bitmap bit and updates the counters.
    fn mark_inode(&mut self, number: InodeNumber, used: bool, directory: bool) -> Result<()> {
        let (group, index) = self.geometry.inode_position(number.get());
        if !self.groups.is_valid(group) {
            return Err(Error::corrupt_inode(
                "inode in a damaged group",
                number.get(),
            ));
        }
        let bitmap_block = self.groups.inode_bitmap(group);
        let bitmap = self
            .cache
            .write(&mut self.device, bitmap_block, BlockClass::Metadata)?;
        if bit_is_set(bitmap, index as usize) == used {
            return Ok(());
        }
        set_bit(bitmap, index as usize, used);
        let group_free = self.groups.free_inodes(group);
        let total_free = self.superblock.free_inodes_count();
        let directories = self.groups.used_directories(group);
        let field = crate::superblock::field::FREE_INODES_COUNT;
        if used {
            self.groups
                .set_free_inodes(group, group_free.saturating_sub(1));
            self.superblock.set_u32(field, total_free.saturating_sub(1));
            if directory {
                self.groups
                    .set_used_directories(group, directories.saturating_add(1));
            }
        } else {
            self.groups
                .set_free_inodes(group, group_free.saturating_add(1));
            self.superblock.set_u32(field, total_free.saturating_add(1));
            if directory {
                self.groups
                    .set_used_directories(group, directories.saturating_sub(1));
            }
        }
        self.groups_dirty = true;
        self.superblock_dirty = true;
        Ok(())
    }

    /// Whether inode `number`'s bitmap bit is set.
    ///
    /// Return values: the bit; [`Error::Corrupt`] when the inode's group
    /// descriptor is damaged; [`Error::Device`].
    pub(crate) fn inode_marked_in_use(&mut self, number: InodeNumber) -> Result<bool> {
        let (group, index) = self.geometry.inode_position(number.get());
        if !self.groups.is_valid(group) {
            return Err(Error::corrupt_inode(
                "inode in a damaged group",
                number.get(),
            ));
        }
        let bitmap_block = self.groups.inode_bitmap(group);
        let bitmap = self
            .cache
            .read(&mut self.device, bitmap_block, BlockClass::Metadata)?;
        Ok(bit_is_set(bitmap, index as usize))
    }

    /// Releases an inode number (the inode itself has been cleared).
    pub(crate) fn free_inode_number(&mut self, number: InodeNumber, directory: bool) -> Result<()> {
        self.require_writable()?;
        self.mark_inode(number, false, directory)
    }

    /// The first block of the group holding `inode`: the allocation goal for
    /// its first data block.
    pub(crate) fn inode_goal(&self, inode: InodeNumber) -> u32 {
        let (group, _) = self.geometry.inode_position(inode.get());
        let group = group.min(self.geometry.group_count.saturating_sub(1));
        let first = self.geometry.group_first_block(group);
        let header = self.geometry.group_header_blocks(group);
        if self.groups.is_valid(group) {
            let table_end = self.groups.inode_table(group) + self.geometry.inode_table_blocks;
            if self.geometry.group_of_block(table_end) == group {
                return table_end;
            }
        }
        first + header
    }
}
