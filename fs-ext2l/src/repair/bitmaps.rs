// SPDX-License-Identifier: MIT OR Apache-2.0
//! Pass 5: bitmaps and counters, written from what the passes found.
//!
//! As e2fsck's pass 5: each group's block bitmap gets a bit for every
//! block claimed (metadata, every block an inode kept, the bad-block
//! list, attribute blocks), its inode bitmap a bit for every reserved
//! inode, every inode in use and every inode in a bad block; the bits
//! past the group's end (the padding up to the bitmap block's end) are
//! set. Each group's free-block, free-inode and directory counts, and the
//! superblock's totals, follow. Only what differs is written, and each
//! difference is logged once per group and kind.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::bytes::{bit_is_set, set_bit};
use crate::cache::BlockClass;
use crate::check::ProblemKind;
use crate::device::BlockDevice;
use crate::error::Result;
use crate::inode::FileType;
use crate::superblock::field;

use super::{Repairer, IN_BAD_BLOCK};

impl<D: BlockDevice> Repairer<'_, D> {
    /// Pass 5 (see the module doc).
    ///
    /// Return values: `Ok(())`, or [`crate::Error::Device`].
    pub(super) fn write_bitmaps(&mut self) -> Result<()> {
        let geometry = self.fs.geometry.clone();
        let bits_per_block = geometry.block_size as usize * 8;
        let mut total_free_blocks = 0u64;
        let mut total_free_inodes = 0u64;
        for group in 0..geometry.group_count {
            if !self.fs.groups.is_valid(group) {
                continue;
            }
            // Blocks.
            let first = geometry.group_first_block(group);
            let count = geometry.group_block_count(group);
            let bitmap_block = self.fs.groups.block_bitmap(group);
            let mut bitmap = self.read_block(bitmap_block, BlockClass::Metadata)?;
            let mut free = 0u32;
            let mut added = 0u32;
            let mut removed = 0u32;
            let mut padding = false;
            for index in 0..bits_per_block as u32 {
                let used = index >= count || self.claimed.get(first + index);
                if index < count && !used {
                    free += 1;
                }
                if bit_is_set(&bitmap, index as usize) != used {
                    if index >= count {
                        padding = true;
                    } else if used {
                        added += 1;
                    } else {
                        removed += 1;
                    }
                    set_bit(&mut bitmap, index as usize, used);
                }
            }
            if added + removed > 0 || padding {
                self.write_block(bitmap_block, &bitmap, BlockClass::Metadata)?;
                let what = if added + removed > 0 {
                    format!("had {added} used blocks clear and {removed} free blocks set")
                } else {
                    String::from("had padding bits clear")
                };
                self.fixed(
                    ProblemKind::BlockBitmap,
                    None,
                    format!("group {group}: block bitmap {what}: fixed"),
                );
            }
            total_free_blocks += u64::from(free);
            if u32::from(self.fs.groups.free_blocks(group)) != free {
                let was = self.fs.groups.free_blocks(group);
                self.fs.groups.set_free_blocks(group, free as u16);
                self.fs.groups_dirty = true;
                self.fixed(
                    ProblemKind::Counter,
                    None,
                    format!("group {group}: free block count was {was}: set it to {free}"),
                );
            }
            // Inodes.
            let inode_bitmap_block = self.fs.groups.inode_bitmap(group);
            let mut bitmap = self.read_block(inode_bitmap_block, BlockClass::Metadata)?;
            let mut free_inodes = 0u32;
            let mut directories = 0u32;
            let mut differences = 0u32;
            let mut padding = false;
            let first_number = u64::from(group) * u64::from(geometry.inodes_per_group) + 1;
            for index in 0..bits_per_block as u32 {
                let number = first_number + u64::from(index);
                let exists =
                    index < geometry.inodes_per_group && number <= u64::from(geometry.inodes_count);
                let used = if exists {
                    let number = number as u32;
                    let record = self.record(number);
                    if record.file_type == Some(FileType::Directory) {
                        directories += 1;
                    }
                    let used = number < geometry.first_inode
                        || record.file_type.is_some()
                        || record.flags & IN_BAD_BLOCK != 0;
                    if !used {
                        free_inodes += 1;
                    }
                    used
                } else {
                    true
                };
                if bit_is_set(&bitmap, index as usize) != used {
                    if exists {
                        differences += 1;
                    } else {
                        padding = true;
                    }
                    set_bit(&mut bitmap, index as usize, used);
                }
            }
            if differences > 0 || padding {
                self.write_block(inode_bitmap_block, &bitmap, BlockClass::Metadata)?;
                let what = if differences > 0 {
                    format!("had {differences} differences")
                } else {
                    String::from("had padding bits clear")
                };
                self.fixed(
                    ProblemKind::InodeBitmap,
                    None,
                    format!("group {group}: inode bitmap {what}: fixed"),
                );
            }
            total_free_inodes += u64::from(free_inodes);
            if u32::from(self.fs.groups.free_inodes(group)) != free_inodes {
                let was = self.fs.groups.free_inodes(group);
                self.fs.groups.set_free_inodes(group, free_inodes as u16);
                self.fs.groups_dirty = true;
                self.fixed(
                    ProblemKind::Counter,
                    None,
                    format!("group {group}: free inode count was {was}: set it to {free_inodes}"),
                );
            }
            if u32::from(self.fs.groups.used_directories(group)) != directories {
                let was = self.fs.groups.used_directories(group);
                self.fs
                    .groups
                    .set_used_directories(group, directories as u16);
                self.fs.groups_dirty = true;
                self.fixed(
                    ProblemKind::Counter,
                    None,
                    format!("group {group}: directory count was {was}: set it to {directories}"),
                );
            }
        }
        let totals: Vec<(usize, u64, &str)> = alloc::vec![
            (
                field::FREE_BLOCKS_COUNT,
                total_free_blocks,
                "free block count"
            ),
            (
                field::FREE_INODES_COUNT,
                total_free_inodes,
                "free inode count"
            ),
        ];
        for (offset, total, what) in totals {
            let total = u32::try_from(total).unwrap_or(u32::MAX);
            let was = self.fs.superblock.get_u32(offset);
            if was != total {
                self.fs.superblock.set_u32(offset, total);
                self.fs.superblock_dirty = true;
                self.fixed(
                    ProblemKind::Counter,
                    None,
                    format!("superblock {what} was {was}: set it to {total}"),
                );
            }
        }
        Ok(())
    }
}
