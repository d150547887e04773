// SPDX-License-Identifier: MIT OR Apache-2.0
//! The superblock and the geometry derived from it.
//!
//! [`Superblock`] keeps the 1024 raw bytes found at byte 1024 of the device and
//! edits fields in place, so every field this library does not interpret
//! (UUIDs, journal data, hash seeds, checksums of features we refuse to write)
//! survives a write untouched. [`Geometry`] is the validated arithmetic of the
//! layout: block size, group count, where each group's metadata lives and how
//! inode numbers map to inode-table bytes. Every number in it has been checked
//! against the others and against the device size, so later code can compute
//! with it without overflow (field offsets from the ext4 documentation,
//! `Documentation/filesystems/ext4/super.rst`).

use crate::bytes::{read_u16, read_u32, write_u16, write_u32};
use crate::error::{Error, Result};
use crate::features::{
    CompatibleFeatures, FeatureSet, IncompatibleFeatures, ReadOnlyCompatibleFeatures,
};

/// Byte offset of the primary superblock on the device.
pub(crate) const SUPERBLOCK_OFFSET: u64 = 1024;
/// Size of the superblock record.
pub(crate) const SUPERBLOCK_SIZE: usize = 1024;
/// `EXT2_VALID_FS`, a bit of `s_state`: the volume was cleanly unmounted
/// (cleared while it is mounted read-write).
pub const STATE_VALID: u16 = 1;
/// `EXT2_ERROR_FS`, a bit of `s_state`: damage was found on the volume.
pub const STATE_ERRORS: u16 = 2;
/// `s_magic` of every ext2/3/4 file system.
pub(crate) const EXT2_MAGIC: u16 = 0xEF53;
/// Size of a group descriptor without the `64bit` feature.
pub(crate) const GROUP_DESCRIPTOR_SIZE: u32 = 32;
/// Inode size of revision 0.
pub(crate) const GOOD_OLD_INODE_SIZE: u32 = 128;
/// First non-reserved inode of revision 0.
pub(crate) const GOOD_OLD_FIRST_INODE: u32 = 11;
/// Largest block size read (64 KiB).
const MAX_LOG_BLOCK_SIZE: u32 = 6;

/// Field offsets inside the superblock.
pub(crate) mod field {
    pub const INODES_COUNT: usize = 0x00;
    pub const BLOCKS_COUNT: usize = 0x04;
    pub const RESERVED_BLOCKS_COUNT: usize = 0x08;
    pub const FREE_BLOCKS_COUNT: usize = 0x0C;
    pub const FREE_INODES_COUNT: usize = 0x10;
    pub const FIRST_DATA_BLOCK: usize = 0x14;
    pub const LOG_BLOCK_SIZE: usize = 0x18;
    pub const LOG_CLUSTER_SIZE: usize = 0x1C;
    pub const BLOCKS_PER_GROUP: usize = 0x20;
    pub const CLUSTERS_PER_GROUP: usize = 0x24;
    pub const INODES_PER_GROUP: usize = 0x28;
    pub const MOUNT_TIME: usize = 0x2C;
    pub const WRITE_TIME: usize = 0x30;
    pub const MAX_MOUNT_COUNT: usize = 0x36;
    pub const MAGIC: usize = 0x38;
    pub const STATE: usize = 0x3A;
    pub const ERRORS: usize = 0x3C;
    pub const LAST_CHECK: usize = 0x40;
    pub const CREATOR_OS: usize = 0x48;
    pub const REVISION: usize = 0x4C;
    pub const FIRST_INODE: usize = 0x54;
    pub const INODE_SIZE: usize = 0x58;
    pub const BLOCK_GROUP_NUMBER: usize = 0x5A;
    pub const FEATURE_COMPATIBLE: usize = 0x5C;
    pub const FEATURE_INCOMPATIBLE: usize = 0x60;
    pub const FEATURE_READ_ONLY_COMPATIBLE: usize = 0x64;
    pub const UUID: usize = 0x68;
    pub const VOLUME_NAME: usize = 0x78;
    pub const RESERVED_GDT_BLOCKS: usize = 0xCE;
    /// `s_journal_uuid`: the UUID of an external journal (zero: internal).
    pub const JOURNAL_UUID: usize = 0xD0;
    /// `s_journal_inum`: the inode of an internal journal.
    pub const JOURNAL_INODE: usize = 0xE0;
    /// `s_journal_dev`: the device number of an external journal.
    pub const JOURNAL_DEVICE: usize = 0xE4;
    /// `s_last_orphan`: the first inode of the ext3 orphan list (0: empty).
    pub const LAST_ORPHAN: usize = 0xE8;
    pub const HASH_SEED: usize = 0xEC;
    /// `s_jnl_backup_type`: 1 (`EXT3_JNL_BACKUP_BLOCKS`) when
    /// `s_jnl_blocks` holds a copy of the journal inode's block map.
    pub const JOURNAL_BACKUP_TYPE: usize = 0xFD;
    pub const MKFS_TIME: usize = 0x108;
    /// `s_jnl_blocks[17]`: the journal inode's `i_block`, `i_size_high`
    /// and `i_size`, as `mke2fs` backs them up.
    pub const JOURNAL_BLOCKS: usize = 0x10C;
    pub const MIN_EXTRA_INODE_SIZE: usize = 0x15C;
    /// `s_usr_quota_inum`, `s_grp_quota_inum`, `s_prj_quota_inum`: the
    /// quota inodes (only with the `quota` feature).
    pub const QUOTA_INODES: [usize; 3] = [0x240, 0x244, 0x26C];
    pub const WANT_EXTRA_INODE_SIZE: usize = 0x15E;
    /// ext2l: the next `i_generation` to hand out, 0 when not yet started.
    /// The last word of `s_reserved` (`s_reserved[93]`, just before
    /// `s_checksum` at 0x3FC), which e2fsprogs 1.47 never reads or clears.
    pub const NEXT_GENERATION: usize = 0x3F8;
}

/// The raw primary superblock with typed accessors.
#[derive(Clone)]
pub struct Superblock {
    raw: [u8; SUPERBLOCK_SIZE],
}

impl core::fmt::Debug for Superblock {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        formatter
            .debug_struct("Superblock")
            .field("blocks_count", &self.blocks_count())
            .field("inodes_count", &self.inodes_count())
            .field("features", &self.features())
            .finish()
    }
}

impl Superblock {
    /// Wraps raw superblock bytes.
    #[inline]
    pub(crate) fn from_bytes(raw: [u8; SUPERBLOCK_SIZE]) -> Superblock {
        Superblock { raw }
    }

    /// An all-zero superblock, for `mkfs` to fill in.
    #[inline]
    pub(crate) fn zeroed() -> Superblock {
        Superblock {
            raw: [0; SUPERBLOCK_SIZE],
        }
    }

    /// The raw bytes, as written to disk.
    #[inline]
    pub(crate) fn as_bytes(&self) -> &[u8; SUPERBLOCK_SIZE] {
        &self.raw
    }

    #[inline]
    pub(crate) fn get_u32(&self, offset: usize) -> u32 {
        read_u32(&self.raw, offset)
    }

    #[inline]
    pub(crate) fn get_u16(&self, offset: usize) -> u16 {
        read_u16(&self.raw, offset)
    }

    #[inline]
    pub(crate) fn set_u32(&mut self, offset: usize, value: u32) {
        write_u32(&mut self.raw, offset, value);
    }

    #[inline]
    pub(crate) fn set_u16(&mut self, offset: usize, value: u16) {
        write_u16(&mut self.raw, offset, value);
    }

    /// `s_inodes_count`.
    #[inline]
    pub fn inodes_count(&self) -> u32 {
        self.get_u32(field::INODES_COUNT)
    }

    /// `s_blocks_count`.
    #[inline]
    pub fn blocks_count(&self) -> u32 {
        self.get_u32(field::BLOCKS_COUNT)
    }

    /// `s_r_blocks_count`: blocks reserved for the superuser.
    #[inline]
    pub fn reserved_blocks_count(&self) -> u32 {
        self.get_u32(field::RESERVED_BLOCKS_COUNT)
    }

    /// `s_free_blocks_count`.
    #[inline]
    pub fn free_blocks_count(&self) -> u32 {
        self.get_u32(field::FREE_BLOCKS_COUNT)
    }

    /// `s_free_inodes_count`.
    #[inline]
    pub fn free_inodes_count(&self) -> u32 {
        self.get_u32(field::FREE_INODES_COUNT)
    }

    /// `s_rev_level`.
    #[inline]
    pub fn revision(&self) -> u32 {
        self.get_u32(field::REVISION)
    }

    /// `s_state`: [`STATE_VALID`] (cleanly unmounted) and [`STATE_ERRORS`]
    /// (damage was found) bits.
    #[inline]
    pub fn state(&self) -> u16 {
        self.get_u16(field::STATE)
    }

    /// Sets or clears `bits` of `s_state`.
    pub(crate) fn set_state_bits(&mut self, bits: u16, value: bool) {
        let state = self.state();
        let state = if value { state | bits } else { state & !bits };
        self.set_u16(field::STATE, state);
    }

    /// `s_last_orphan`: the head of the on-disk orphan list, 0 when empty
    /// (each orphan's `i_dtime` names the next one).
    pub fn last_orphan(&self) -> u32 {
        self.get_u32(field::LAST_ORPHAN)
    }

    /// Sets `s_last_orphan`.
    pub(crate) fn set_last_orphan(&mut self, inode: u32) {
        self.set_u32(field::LAST_ORPHAN, inode);
    }

    /// The ext2l generation counter: the `i_generation` the next new inode
    /// gets (0 on a volume made before the counter existed).
    pub fn next_generation(&self) -> u32 {
        self.get_u32(field::NEXT_GENERATION)
    }

    /// Sets the ext2l generation counter.
    pub(crate) fn set_next_generation(&mut self, generation: u32) {
        self.set_u32(field::NEXT_GENERATION, generation);
    }

    /// `s_journal_inum`: the inode of an internal journal (0: none).
    pub fn journal_inode(&self) -> u32 {
        self.get_u32(field::JOURNAL_INODE)
    }

    /// `s_journal_uuid`: the UUID of an external journal (zero: none).
    pub fn journal_uuid(&self) -> [u8; 16] {
        let mut uuid = [0u8; 16];
        if let Some(source) = self.raw.get(field::JOURNAL_UUID..field::JOURNAL_UUID + 16) {
            uuid.copy_from_slice(source);
        }
        uuid
    }

    /// `s_journal_dev`: the device of an external journal (0: none).
    pub fn journal_device(&self) -> u32 {
        self.get_u32(field::JOURNAL_DEVICE)
    }

    /// `s_jnl_backup_type` and `s_jnl_blocks`: the backup of the journal
    /// inode's block map, when there is one (type 1).
    pub fn journal_backup(&self) -> Option<[u32; 17]> {
        if self.raw.get(field::JOURNAL_BACKUP_TYPE).copied() != Some(1) {
            return None;
        }
        let mut words = [0u32; 17];
        for (index, word) in words.iter_mut().enumerate() {
            *word = self.get_u32(field::JOURNAL_BLOCKS + index * 4);
        }
        Some(words)
    }

    /// Forgets an external journal: `s_journal_uuid` and `s_journal_dev`
    /// zero.
    pub(crate) fn clear_external_journal(&mut self) {
        self.set_u32(field::JOURNAL_DEVICE, 0);
        if let Some(target) = self
            .raw
            .get_mut(field::JOURNAL_UUID..field::JOURNAL_UUID + 16)
        {
            target.fill(0);
        }
    }

    /// Records an internal journal in inode `inode` whose `i_block`,
    /// `i_size_high` and `i_size` are `backup` (`s_journal_inum`, zero
    /// `s_journal_dev` and `s_journal_uuid`, `s_jnl_blocks` and its type).
    pub(crate) fn set_internal_journal(&mut self, inode: u32, backup: [u32; 17]) {
        self.set_u32(field::JOURNAL_INODE, inode);
        self.set_u32(field::JOURNAL_DEVICE, 0);
        if let Some(target) = self
            .raw
            .get_mut(field::JOURNAL_UUID..field::JOURNAL_UUID + 16)
        {
            target.fill(0);
        }
        for (index, word) in backup.iter().enumerate() {
            self.set_u32(field::JOURNAL_BLOCKS + index * 4, *word);
        }
        if let Some(slot) = self.raw.get_mut(field::JOURNAL_BACKUP_TYPE) {
            *slot = 1;
        }
    }

    /// `s_mtime`, `s_wtime`, `s_mkfs_time`, `s_lastcheck`.
    pub fn times(&self) -> (u32, u32, u32, u32) {
        (
            self.get_u32(field::MOUNT_TIME),
            self.get_u32(field::WRITE_TIME),
            self.get_u32(field::MKFS_TIME),
            self.get_u32(field::LAST_CHECK),
        )
    }

    /// `s_uuid`.
    pub fn uuid(&self) -> [u8; 16] {
        let mut uuid = [0u8; 16];
        if let Some(source) = self.raw.get(field::UUID..field::UUID + 16) {
            uuid.copy_from_slice(source);
        }
        uuid
    }

    /// `s_volume_name`, up to its first NUL.
    pub fn volume_name(&self) -> &[u8] {
        let name = self
            .raw
            .get(field::VOLUME_NAME..field::VOLUME_NAME + 16)
            .unwrap_or(&[]);
        let end = name
            .iter()
            .position(|&byte| byte == 0)
            .unwrap_or(name.len());
        name.get(..end).unwrap_or(&[])
    }

    /// Sets `s_volume_name` (truncated to 16 bytes).
    pub(crate) fn set_volume_name(&mut self, name: &[u8]) {
        if let Some(target) = self
            .raw
            .get_mut(field::VOLUME_NAME..field::VOLUME_NAME + 16)
        {
            target.fill(0);
            for (slot, byte) in target.iter_mut().zip(name.iter()) {
                *slot = *byte;
            }
        }
    }

    /// Sets `s_uuid`.
    #[inline]
    pub(crate) fn set_uuid(&mut self, uuid: [u8; 16]) {
        if let Some(target) = self.raw.get_mut(field::UUID..field::UUID + 16) {
            target.copy_from_slice(&uuid);
        }
    }

    /// Sets 16 bytes of `s_hash_seed`.
    #[inline]
    pub(crate) fn set_hash_seed(&mut self, seed: [u8; 16]) {
        if let Some(target) = self.raw.get_mut(field::HASH_SEED..field::HASH_SEED + 16) {
            target.copy_from_slice(&seed);
        }
    }

    /// The three feature words.
    pub fn features(&self) -> FeatureSet {
        FeatureSet {
            compatible: self.get_u32(field::FEATURE_COMPATIBLE),
            incompatible: self.get_u32(field::FEATURE_INCOMPATIBLE),
            read_only_compatible: self.get_u32(field::FEATURE_READ_ONLY_COMPATIBLE),
        }
    }

    /// Replaces the three feature words.
    pub(crate) fn set_features(&mut self, features: FeatureSet) {
        self.set_u32(field::FEATURE_COMPATIBLE, features.compatible);
        self.set_u32(field::FEATURE_INCOMPATIBLE, features.incompatible);
        self.set_u32(
            field::FEATURE_READ_ONLY_COMPATIBLE,
            features.read_only_compatible,
        );
    }

    /// Sets or clears one read-only compatible feature.
    pub(crate) fn set_read_only_compatible(
        &mut self,
        feature: ReadOnlyCompatibleFeatures,
        value: bool,
    ) {
        let mut features = self.features();
        if value {
            features.read_only_compatible |= feature.bits();
        } else {
            features.read_only_compatible &= !feature.bits();
        }
        self.set_features(features);
    }

    /// Sets or clears one compatible feature.
    pub(crate) fn set_compatible(&mut self, feature: CompatibleFeatures, value: bool) {
        let mut features = self.features();
        if value {
            features.compatible |= feature.bits();
        } else {
            features.compatible &= !feature.bits();
        }
        self.set_features(features);
    }

    /// Sets or clears one incompatible feature.
    pub(crate) fn set_incompatible(&mut self, feature: IncompatibleFeatures, value: bool) {
        let mut features = self.features();
        if value {
            features.incompatible |= feature.bits();
        } else {
            features.incompatible &= !feature.bits();
        }
        self.set_features(features);
    }

    /// `s_block_group_nr`: which group's copy this is.
    #[inline]
    pub(crate) fn set_block_group_number(&mut self, group: u16) {
        self.set_u16(field::BLOCK_GROUP_NUMBER, group);
    }
}

/// The validated layout of a file system.
#[derive(Clone, Debug)]
pub(crate) struct Geometry {
    /// Bytes per block: 1024 << `s_log_block_size`.
    pub block_size: u32,
    /// `s_blocks_count`.
    pub blocks_count: u32,
    /// `s_first_data_block`: 1 for 1 KiB blocks, else 0.
    pub first_data_block: u32,
    /// `s_blocks_per_group`.
    pub blocks_per_group: u32,
    /// `s_inodes_per_group`.
    pub inodes_per_group: u32,
    /// `s_inodes_count`.
    pub inodes_count: u32,
    /// Bytes per on-disk inode.
    pub inode_size: u32,
    /// First inode number ordinary files may use.
    pub first_inode: u32,
    /// Number of block groups.
    pub group_count: u32,
    /// Blocks holding the group descriptor table.
    pub descriptor_blocks: u32,
    /// Blocks reserved after the descriptor table for growing (`resize_inode`).
    pub reserved_descriptor_blocks: u32,
    /// Blocks of each group's inode table.
    pub inode_table_blocks: u32,
    /// Backups only in groups 0, 1 and powers of 3, 5 and 7.
    pub sparse_super: bool,
    /// Directory entries carry a file type.
    pub filetype: bool,
    /// `s_rev_level`.
    pub revision: u32,
}

impl Geometry {
    /// Validates a superblock against itself and the device size.
    ///
    /// Return values: the geometry, or [`Error::Corrupt`] naming the first
    /// inconsistency.
    pub(crate) fn from_superblock(superblock: &Superblock, device_size: u64) -> Result<Geometry> {
        if superblock.get_u16(field::MAGIC) != EXT2_MAGIC {
            return Err(Error::corrupt("not an ext2 file system (bad magic number)"));
        }
        let revision = superblock.revision();
        if revision > 1 {
            return Err(Error::corrupt("unknown superblock revision"));
        }
        let log_block_size = superblock.get_u32(field::LOG_BLOCK_SIZE);
        if log_block_size > MAX_LOG_BLOCK_SIZE {
            return Err(Error::corrupt("block size larger than 64 KiB"));
        }
        let block_size = 1024u32 << log_block_size;
        let blocks_count = superblock.blocks_count();
        let first_data_block = superblock.get_u32(field::FIRST_DATA_BLOCK);
        // The superblock sits at byte 1024: in block 1 when blocks are 1 KiB,
        // in block 0 otherwise, and the first data block is the one holding it.
        let expected_first = if block_size == 1024 { 1 } else { 0 };
        if first_data_block != expected_first {
            return Err(Error::corrupt("first data block does not match block size"));
        }
        if blocks_count <= first_data_block {
            return Err(Error::corrupt("block count too small"));
        }
        let device_blocks = device_size / u64::from(block_size);
        if u64::from(blocks_count) > device_blocks {
            return Err(Error::corrupt("file system is larger than its device"));
        }
        let bits_per_block = block_size.saturating_mul(8);
        let blocks_per_group = superblock.get_u32(field::BLOCKS_PER_GROUP);
        if blocks_per_group < 8 || blocks_per_group > bits_per_block || blocks_per_group % 8 != 0 {
            return Err(Error::corrupt("bad blocks-per-group count"));
        }
        let inodes_per_group = superblock.get_u32(field::INODES_PER_GROUP);
        if inodes_per_group == 0 || inodes_per_group > bits_per_block {
            return Err(Error::corrupt("bad inodes-per-group count"));
        }
        let (inode_size, first_inode) = if revision == 0 {
            (GOOD_OLD_INODE_SIZE, GOOD_OLD_FIRST_INODE)
        } else {
            (
                u32::from(superblock.get_u16(field::INODE_SIZE)),
                superblock.get_u32(field::FIRST_INODE),
            )
        };
        if inode_size < GOOD_OLD_INODE_SIZE
            || !inode_size.is_power_of_two()
            || inode_size > block_size
        {
            return Err(Error::corrupt("bad inode size"));
        }
        let data_blocks = blocks_count - first_data_block;
        let group_count = data_blocks.div_ceil(blocks_per_group);
        let inodes_count = superblock.inodes_count();
        let inode_capacity = u64::from(group_count) * u64::from(inodes_per_group);
        if inodes_count < 3 || u64::from(inodes_count) > inode_capacity {
            return Err(Error::corrupt("inode count does not match the groups"));
        }
        if first_inode < 3 || first_inode > inodes_count {
            return Err(Error::corrupt("bad first inode number"));
        }
        let inode_table_bytes = u64::from(inodes_per_group) * u64::from(inode_size);
        let inode_table_blocks = inode_table_bytes.div_ceil(u64::from(block_size));
        let inode_table_blocks = u32::try_from(inode_table_blocks)
            .map_err(|_| Error::corrupt("inode table too large"))?;
        let descriptor_bytes = u64::from(group_count) * u64::from(GROUP_DESCRIPTOR_SIZE);
        let descriptor_blocks = u32::try_from(descriptor_bytes.div_ceil(u64::from(block_size)))
            .map_err(|_| Error::corrupt("descriptor table too large"))?;
        let features = superblock.features();
        let reserved_descriptor_blocks = if features.compatible
            & crate::features::CompatibleFeatures::RESIZE_INODE.bits()
            != 0
        {
            u32::from(superblock.get_u16(field::RESERVED_GDT_BLOCKS))
        } else {
            0
        };
        if reserved_descriptor_blocks > block_size / 4 {
            return Err(Error::corrupt("too many reserved descriptor blocks"));
        }
        // Group 0's header (superblock, descriptors, reserved descriptors)
        // must fit before the end of the file system.
        let header_end = u64::from(first_data_block)
            + 1
            + u64::from(descriptor_blocks)
            + u64::from(reserved_descriptor_blocks);
        if header_end > u64::from(blocks_count) {
            return Err(Error::corrupt("descriptor table does not fit"));
        }
        let sparse_super =
            features.read_only_compatible & ReadOnlyCompatibleFeatures::SPARSE_SUPER.bits() != 0;
        let filetype =
            features.incompatible & crate::features::IncompatibleFeatures::FILETYPE.bits() != 0;
        Ok(Geometry {
            block_size,
            blocks_count,
            first_data_block,
            blocks_per_group,
            inodes_per_group,
            inodes_count,
            inode_size,
            first_inode,
            group_count,
            descriptor_blocks,
            reserved_descriptor_blocks,
            inode_table_blocks,
            sparse_super,
            filetype,
            revision,
        })
    }

    /// Block size as `usize`.
    #[inline]
    pub fn block_bytes(&self) -> usize {
        self.block_size as usize
    }

    /// Byte offset of block `block`.
    #[inline]
    pub fn block_offset(&self, block: u32) -> u64 {
        u64::from(block) * u64::from(self.block_size)
    }

    /// Number of 32-bit block pointers in one indirect block.
    #[inline]
    pub fn pointers_per_block(&self) -> u32 {
        self.block_size / 4
    }

    /// Whether `block` may hold file data or metadata: inside the file system.
    #[inline]
    pub fn is_valid_block(&self, block: u32) -> bool {
        block >= self.first_data_block && block < self.blocks_count
    }

    /// The group `block` belongs to (for a valid block).
    #[inline]
    pub fn group_of_block(&self, block: u32) -> u32 {
        block.saturating_sub(self.first_data_block) / self.blocks_per_group
    }

    /// The first block of `group`.
    #[inline]
    pub fn group_first_block(&self, group: u32) -> u32 {
        let first =
            u64::from(self.first_data_block) + u64::from(group) * u64::from(self.blocks_per_group);
        u32::try_from(first).unwrap_or(u32::MAX)
    }

    /// How many blocks `group` has (the last one may be short).
    #[inline]
    pub fn group_block_count(&self, group: u32) -> u32 {
        let first = self.group_first_block(group);
        let end = u64::from(first) + u64::from(self.blocks_per_group);
        let end = end.min(u64::from(self.blocks_count));
        u32::try_from(end.saturating_sub(u64::from(first))).unwrap_or(0)
    }

    /// The group inode `inode` belongs to and its index inside that group.
    #[inline]
    pub fn inode_position(&self, inode: u32) -> (u32, u32) {
        let index = inode.saturating_sub(1);
        (index / self.inodes_per_group, index % self.inodes_per_group)
    }

    /// Whether `group` holds a superblock and descriptor backup.
    #[inline]
    pub fn group_has_superblock(&self, group: u32) -> bool {
        if !self.sparse_super || group <= 1 {
            return true;
        }
        [3u32, 5, 7].iter().any(|&base| is_power_of(group, base))
    }

    /// Blocks at the start of `group` taken by the superblock copy, the
    /// descriptor table and the reserved descriptor blocks.
    pub fn group_header_blocks(&self, group: u32) -> u32 {
        if self.group_has_superblock(group) {
            1 + self.descriptor_blocks + self.reserved_descriptor_blocks
        } else {
            0
        }
    }

    /// The largest file size the block map can address.
    pub fn max_file_size(&self) -> u64 {
        let pointers = u64::from(self.pointers_per_block());
        let blocks = 12 + pointers + pointers * pointers + pointers * pointers * pointers;
        // Logical block numbers are 32-bit, and `i_blocks` counts 512-byte
        // sectors in 32 bits: keep well inside both.
        let blocks = blocks.min(u64::from(u32::MAX));
        let by_map = blocks * u64::from(self.block_size);
        let by_sector_count = (u64::from(u32::MAX) * 512) / 2;
        by_map.min(by_sector_count)
    }
}

/// Whether `value` is `base` raised to some power ≥ 1.
fn is_power_of(mut value: u32, base: u32) -> bool {
    if value < base {
        return false;
    }
    while value % base == 0 {
        value /= base;
    }
    value == 1
}

#[cfg(test)]
mod tests {
    use super::is_power_of;

    #[test]
    fn sparse_super_groups() {
        assert!(is_power_of(3, 3));
        assert!(is_power_of(9, 3));
        assert!(is_power_of(49, 7));
        assert!(!is_power_of(1, 3));
        assert!(!is_power_of(15, 3));
    }
}
