// SPDX-License-Identifier: MIT OR Apache-2.0
//! The block group descriptor table.
//!
//! Each block group has a 32-byte descriptor (ext2 without `64bit`): where its
//! block bitmap, inode bitmap and inode table are, and its free-block,
//! free-inode and directory counters. [`GroupTable`] keeps the whole table as
//! raw bytes, exactly as many blocks as it occupies on disk, and edits fields
//! in place, so bytes it does not interpret (checksums, flags, the padding of
//! the last block) are written back unchanged. At load it records which
//! descriptors point inside the file system; the rest of the library never
//! reads a bitmap or inode table through a descriptor that failed that test.

use alloc::vec;
use alloc::vec::Vec;

use crate::bytes::{read_u16, read_u32, write_u16, write_u32};
use crate::superblock::{Geometry, GROUP_DESCRIPTOR_SIZE};

/// Offsets inside one descriptor.
mod field {
    pub const BLOCK_BITMAP: usize = 0x00;
    pub const INODE_BITMAP: usize = 0x04;
    pub const INODE_TABLE: usize = 0x08;
    pub const FREE_BLOCKS_COUNT: usize = 0x0C;
    pub const FREE_INODES_COUNT: usize = 0x0E;
    pub const USED_DIRECTORIES_COUNT: usize = 0x10;
    pub const FLAGS: usize = 0x12;
    pub const INODE_TABLE_UNUSED: usize = 0x1C;
}

/// `bg_flags`: the inode table and bitmap are not initialised (`uninit_bg`).
pub(crate) const GROUP_INODE_UNINIT: u16 = 0x1;
/// `bg_flags`: the block bitmap is not initialised (`uninit_bg`).
pub(crate) const GROUP_BLOCK_UNINIT: u16 = 0x2;

/// The raw descriptor table with typed accessors.
#[derive(Clone, Debug)]
pub(crate) struct GroupTable {
    raw: Vec<u8>,
    valid: Vec<bool>,
}

impl GroupTable {
    /// Wraps the table's raw blocks and checks every descriptor's pointers.
    pub(crate) fn from_bytes(raw: Vec<u8>, geometry: &Geometry) -> GroupTable {
        let mut table = GroupTable {
            raw,
            valid: Vec::new(),
        };
        table.valid = (0..geometry.group_count)
            .map(|group| table.descriptor_is_valid(group, geometry))
            .collect();
        table
    }

    /// A zeroed table for `mkfs`.
    pub(crate) fn zeroed(geometry: &Geometry) -> GroupTable {
        let bytes = geometry.descriptor_blocks as usize * geometry.block_bytes();
        GroupTable {
            raw: vec![0; bytes],
            valid: vec![true; geometry.group_count as usize],
        }
    }

    /// The raw table, as written to disk.
    #[inline]
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.raw
    }

    #[inline]
    fn offset(group: u32) -> usize {
        group as usize * GROUP_DESCRIPTOR_SIZE as usize
    }

    fn descriptor_is_valid(&self, group: u32, geometry: &Geometry) -> bool {
        let block_bitmap = self.block_bitmap(group);
        let inode_bitmap = self.inode_bitmap(group);
        let inode_table = self.inode_table(group);
        let table_end = u64::from(inode_table) + u64::from(geometry.inode_table_blocks);
        geometry.is_valid_block(block_bitmap)
            && geometry.is_valid_block(inode_bitmap)
            && geometry.is_valid_block(inode_table)
            && table_end <= u64::from(geometry.blocks_count)
    }

    /// Whether `group`'s descriptor points inside the file system.
    #[inline]
    pub(crate) fn is_valid(&self, group: u32) -> bool {
        self.valid.get(group as usize).copied().unwrap_or(false)
    }

    /// Whether every descriptor points inside the file system.
    #[inline]
    pub(crate) fn all_valid(&self) -> bool {
        self.valid.iter().all(|&valid| valid)
    }

    /// `bg_block_bitmap`.
    #[inline]
    pub(crate) fn block_bitmap(&self, group: u32) -> u32 {
        read_u32(&self.raw, Self::offset(group) + field::BLOCK_BITMAP)
    }

    /// `bg_inode_bitmap`.
    #[inline]
    pub(crate) fn inode_bitmap(&self, group: u32) -> u32 {
        read_u32(&self.raw, Self::offset(group) + field::INODE_BITMAP)
    }

    /// `bg_inode_table`.
    #[inline]
    pub(crate) fn inode_table(&self, group: u32) -> u32 {
        read_u32(&self.raw, Self::offset(group) + field::INODE_TABLE)
    }

    /// `bg_free_blocks_count`.
    #[inline]
    pub(crate) fn free_blocks(&self, group: u32) -> u16 {
        read_u16(&self.raw, Self::offset(group) + field::FREE_BLOCKS_COUNT)
    }

    /// `bg_free_inodes_count`.
    #[inline]
    pub(crate) fn free_inodes(&self, group: u32) -> u16 {
        read_u16(&self.raw, Self::offset(group) + field::FREE_INODES_COUNT)
    }

    /// `bg_used_dirs_count`.
    #[inline]
    pub(crate) fn used_directories(&self, group: u32) -> u16 {
        read_u16(
            &self.raw,
            Self::offset(group) + field::USED_DIRECTORIES_COUNT,
        )
    }

    /// `bg_flags`.
    #[inline]
    pub(crate) fn flags(&self, group: u32) -> u16 {
        read_u16(&self.raw, Self::offset(group) + field::FLAGS)
    }

    /// `bg_itable_unused` (meaningful with group checksums only).
    #[inline]
    pub(crate) fn inode_table_unused(&self, group: u32) -> u16 {
        read_u16(&self.raw, Self::offset(group) + field::INODE_TABLE_UNUSED)
    }

    /// Sets `bg_itable_unused`.
    pub(crate) fn set_inode_table_unused(&mut self, group: u32, value: u16) {
        write_u16(
            &mut self.raw,
            Self::offset(group) + field::INODE_TABLE_UNUSED,
            value,
        );
    }

    /// Sets the three location fields (used by `mkfs`).
    #[inline]
    pub(crate) fn set_locations(
        &mut self,
        group: u32,
        block_bitmap: u32,
        inode_bitmap: u32,
        inode_table: u32,
    ) {
        let base = Self::offset(group);
        write_u32(&mut self.raw, base + field::BLOCK_BITMAP, block_bitmap);
        write_u32(&mut self.raw, base + field::INODE_BITMAP, inode_bitmap);
        write_u32(&mut self.raw, base + field::INODE_TABLE, inode_table);
    }

    /// Sets `bg_flags` (the repair clears `uninit_bg` flags a volume
    /// without group checksums must not carry).
    pub(crate) fn set_flags(&mut self, group: u32, value: u16) {
        write_u16(&mut self.raw, Self::offset(group) + field::FLAGS, value);
    }

    /// Sets `bg_free_blocks_count`.
    pub(crate) fn set_free_blocks(&mut self, group: u32, value: u16) {
        write_u16(
            &mut self.raw,
            Self::offset(group) + field::FREE_BLOCKS_COUNT,
            value,
        );
    }

    /// Sets `bg_free_inodes_count`.
    pub(crate) fn set_free_inodes(&mut self, group: u32, value: u16) {
        write_u16(
            &mut self.raw,
            Self::offset(group) + field::FREE_INODES_COUNT,
            value,
        );
    }

    /// Sets `bg_used_dirs_count`.
    pub(crate) fn set_used_directories(&mut self, group: u32, value: u16) {
        write_u16(
            &mut self.raw,
            Self::offset(group) + field::USED_DIRECTORIES_COUNT,
            value,
        );
    }
}
