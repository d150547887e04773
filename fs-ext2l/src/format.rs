// SPDX-License-Identifier: MIT OR Apache-2.0
//! Making a new file system (`mkfs`).
//!
//! [`format`] lays out ext2 revision 1 the way `mke2fs -t ext2` does:
//! groups of `8 × block size` blocks, superblock and descriptor backups in
//! groups 0, 1 and powers of 3, 5 and 7 (`sparse_super`), each followed by
//! the descriptor blocks reserved for growth (`resize_inode`, owned by
//! inode 7 as `resize_inode.rs` lays it out: enough to grow 1024-fold),
//! then each group's block bitmap, inode bitmap and inode table. Features:
//! `filetype`, `sparse_super`, `large_file`, `ext_attr`, `resize_inode`
//! (unless [`FormatOptions::growable`] is off), and the ext2l bit when
//! asked for. It then mounts the result and creates
//! the root directory and `lost+found` through the ordinary code paths, so
//! counters and bitmaps come out exactly as the allocator keeps them, and,
//! when asked for, a journal (`journal/create.rs`: inode 8, placed in the
//! middle of the volume as `mke2fs` places it). The result passes
//! `e2fsck -fn` when the ext2l bit is off.

use alloc::vec;
use alloc::vec::Vec;

use crate::bytes::set_bit;
use crate::device::BlockDevice;
use crate::error::{Error, Result};
use crate::features::{
    CompatibleFeatures, FeatureSet, IncompatibleFeatures, ReadOnlyCompatibleFeatures,
};
use crate::filesystem::{FileSystem, MountOptions};
use crate::group::GroupTable;
use crate::inode::{mode, Inode, InodeNumber};
use crate::superblock::{
    field, Geometry, Superblock, EXT2_MAGIC, GOOD_OLD_FIRST_INODE, GROUP_DESCRIPTOR_SIZE,
    SUPERBLOCK_OFFSET,
};

/// Parameters of a new file system.
#[derive(Clone, Debug)]
pub struct FormatOptions {
    /// Bytes to use; 0 means the whole device.
    pub size: u64,
    /// 1024, 2048 or 4096.
    pub block_size: u32,
    /// 128 or 256.
    pub inode_size: u32,
    /// Bytes of space per inode; 0 picks `mke2fs`'s default for the size.
    pub bytes_per_inode: u32,
    /// Volume label, up to 16 bytes.
    pub label: Vec<u8>,
    /// Set the ext2l feature bit.
    pub ext2l: bool,
    /// Volume UUID (the caller supplies randomness; the library has none).
    pub uuid: [u8; 16],
    /// Creation time, seconds since 1970.
    pub time: u32,
    /// The device is known to read as zeros: skip zeroing inode tables
    /// and the journal's log.
    pub assume_zeroed: bool,
    /// Make a journal of this many blocks (inode 8, `has_journal`; at
    /// least 1024 and at most half the volume); `None` for no journal.
    /// [`crate::journal::default_journal_blocks`] gives `mke2fs`'s size.
    pub journal_blocks: Option<u32>,
    /// Reserve descriptor blocks so the volume can grow 1024-fold
    /// (`resize_inode`, as `mke2fs` does by default).
    pub growable: bool,
}

impl Default for FormatOptions {
    fn default() -> Self {
        FormatOptions {
            size: 0,
            block_size: 1024,
            inode_size: 256,
            bytes_per_inode: 0,
            label: Vec::new(),
            ext2l: true,
            uuid: [0; 16],
            time: 0,
            assume_zeroed: false,
            journal_blocks: None,
            growable: true,
        }
    }
}

/// The block layout of one group.
struct GroupLayout {
    block_bitmap: u32,
    inode_bitmap: u32,
    inode_table: u32,
}

/// Computes the geometry for `options` on a device of `device_size` bytes.
fn plan(options: &FormatOptions, device_size: u64) -> Result<Geometry> {
    let block_size = options.block_size;
    if !matches!(block_size, 1024 | 2048 | 4096) {
        return Err(Error::InvalidArgument);
    }
    if !matches!(options.inode_size, 128 | 256) {
        return Err(Error::InvalidArgument);
    }
    let size = if options.size == 0 {
        device_size
    } else {
        options.size.min(device_size)
    };
    let blocks = (size / u64::from(block_size)).min(u64::from(u32::MAX));
    let first_data_block = u32::from(block_size == 1024);
    let blocks_per_group = block_size * 8;
    let bytes_per_inode = match options.bytes_per_inode {
        0 if size < 3 << 20 => 8192,
        0 if size < 512 << 20 => 4096,
        0 => 16384,
        chosen => chosen.max(1024),
    };
    let mut blocks_count = blocks as u32;
    loop {
        if blocks_count <= first_data_block + 16 {
            return Err(Error::InvalidArgument);
        }
        let group_count = (blocks_count - first_data_block).div_ceil(blocks_per_group);
        let wanted_inodes =
            (u64::from(blocks_count) * u64::from(block_size) / u64::from(bytes_per_inode)).max(16);
        let inodes_per_block = block_size / options.inode_size;
        let mut inodes_per_group = wanted_inodes.div_ceil(u64::from(group_count)) as u32;
        // Whole inode-table blocks, a multiple of 8 bits, at most one bitmap.
        let granule = inodes_per_block.max(8);
        inodes_per_group = inodes_per_group.div_ceil(granule) * granule;
        inodes_per_group = inodes_per_group.clamp(16, block_size * 8);
        let inode_table_blocks = (inodes_per_group * options.inode_size).div_ceil(block_size);
        let descriptor_blocks = (group_count * GROUP_DESCRIPTOR_SIZE).div_ceil(block_size);
        let reserved_descriptor_blocks = if options.growable {
            crate::resize_inode::blocks_to_reserve(
                blocks_count,
                first_data_block,
                blocks_per_group,
                block_size,
                descriptor_blocks,
            )
        } else {
            0
        };
        let mut geometry = Geometry {
            block_size,
            blocks_count,
            first_data_block,
            blocks_per_group,
            inodes_per_group,
            inodes_count: inodes_per_group.saturating_mul(group_count),
            inode_size: options.inode_size,
            first_inode: GOOD_OLD_FIRST_INODE,
            group_count,
            descriptor_blocks,
            reserved_descriptor_blocks,
            inode_table_blocks,
            sparse_super: true,
            filetype: true,
            revision: 1,
        };
        // Like mke2fs, drop a last group too small to hold its own metadata
        // and some data.
        let last = group_count - 1;
        let overhead = geometry.group_header_blocks(last) + 2 + inode_table_blocks + 1;
        let last_blocks = geometry.group_block_count(last);
        if last_blocks < overhead + 50 {
            if group_count == 1 {
                if last_blocks < overhead + 8 {
                    return Err(Error::InvalidArgument);
                }
            } else {
                blocks_count -= last_blocks;
                continue;
            }
        }
        geometry.blocks_count = blocks_count;
        return Ok(geometry);
    }
}

/// Where each group's bitmaps and inode table go.
fn layout(geometry: &Geometry, group: u32) -> GroupLayout {
    let start = geometry.group_first_block(group) + geometry.group_header_blocks(group);
    GroupLayout {
        block_bitmap: start,
        inode_bitmap: start + 1,
        inode_table: start + 2,
    }
}

/// Makes a new, empty file system on `device` and mounts it (with a
/// journal, mounted again once the journal is made, so the mount
/// returned journals its metadata).
///
/// Return values: the mounted file system, [`Error::InvalidArgument`] for an
/// unsupported block or inode size, a device too small or a journal size
/// out of range, [`Error::NoSpace`] when the journal does not fit, or
/// [`Error::Device`].
pub fn format<D: BlockDevice>(
    mut device: D,
    options: &FormatOptions,
    mount_options: MountOptions,
) -> Result<FileSystem<D>> {
    let device_size = device.size()?;
    let geometry = plan(options, device_size)?;
    let block_size = geometry.block_bytes();
    let mut groups = GroupTable::zeroed(&geometry);
    let mut free_blocks_total = 0u32;

    for group in 0..geometry.group_count {
        let place = layout(&geometry, group);
        groups.set_locations(
            group,
            place.block_bitmap,
            place.inode_bitmap,
            place.inode_table,
        );
        let group_blocks = geometry.group_block_count(group);
        // Group 0 also holds the resize inode's double-indirect block,
        // right after its inode table.
        let resize_block = u32::from(group == 0 && geometry.reserved_descriptor_blocks > 0);
        let used =
            geometry.group_header_blocks(group) + 2 + geometry.inode_table_blocks + resize_block;
        let mut block_bitmap = vec![0u8; block_size];
        for index in 0..used {
            set_bit(&mut block_bitmap, index as usize, true);
        }
        // Bits past the end of a short last group are set, as mke2fs does.
        for index in group_blocks..geometry.blocks_per_group {
            set_bit(&mut block_bitmap, index as usize, true);
        }
        let mut inode_bitmap = vec![0u8; block_size];
        let mut used_inodes = 0u32;
        if group == 0 {
            // Inodes 1–10 are reserved (root, bad blocks, resize, journal, …).
            for index in 0..GOOD_OLD_FIRST_INODE - 1 {
                set_bit(&mut inode_bitmap, index as usize, true);
                used_inodes += 1;
            }
        }
        for index in geometry.inodes_per_group..(block_size as u32 * 8) {
            set_bit(&mut inode_bitmap, index as usize, true);
        }
        device.write_at(geometry.block_offset(place.block_bitmap), &block_bitmap)?;
        device.write_at(geometry.block_offset(place.inode_bitmap), &inode_bitmap)?;
        if !options.assume_zeroed {
            let zeros = vec![0u8; block_size * 64];
            let mut remaining = geometry.inode_table_blocks;
            let mut block = place.inode_table;
            while remaining > 0 {
                let count = remaining.min(64);
                let bytes = zeros.get(..count as usize * block_size).unwrap_or(&[]);
                device.write_at(geometry.block_offset(block), bytes)?;
                block += count;
                remaining -= count;
            }
        }
        let free_blocks = group_blocks.saturating_sub(used);
        free_blocks_total += free_blocks;
        groups.set_free_blocks(group, free_blocks as u16);
        groups.set_free_inodes(group, (geometry.inodes_per_group - used_inodes) as u16);
        groups.set_used_directories(group, 0);
    }

    let double_indirect = if geometry.reserved_descriptor_blocks > 0 {
        let double_indirect = layout(&geometry, 0).inode_table + geometry.inode_table_blocks;
        write_resize_blocks(&mut device, &geometry, double_indirect)?;
        Some(double_indirect)
    } else {
        None
    };

    let mut superblock = Superblock::zeroed();
    superblock.set_u32(field::INODES_COUNT, geometry.inodes_count);
    superblock.set_u32(field::BLOCKS_COUNT, geometry.blocks_count);
    superblock.set_u32(field::RESERVED_BLOCKS_COUNT, geometry.blocks_count / 20);
    superblock.set_u32(field::FREE_BLOCKS_COUNT, free_blocks_total);
    superblock.set_u32(
        field::FREE_INODES_COUNT,
        geometry.inodes_count - (GOOD_OLD_FIRST_INODE - 1),
    );
    superblock.set_u32(field::FIRST_DATA_BLOCK, geometry.first_data_block);
    let log_block_size = geometry.block_size.trailing_zeros() - 10;
    superblock.set_u32(field::LOG_BLOCK_SIZE, log_block_size);
    // libext2fs rejects a cluster size different from the block size
    // without `bigalloc`.
    superblock.set_u32(field::LOG_CLUSTER_SIZE, log_block_size);
    superblock.set_u32(field::BLOCKS_PER_GROUP, geometry.blocks_per_group);
    superblock.set_u32(field::CLUSTERS_PER_GROUP, geometry.blocks_per_group);
    superblock.set_u32(field::INODES_PER_GROUP, geometry.inodes_per_group);
    superblock.set_u32(field::WRITE_TIME, options.time);
    superblock.set_u16(field::MAX_MOUNT_COUNT, u16::MAX);
    superblock.set_u16(field::MAGIC, EXT2_MAGIC);
    superblock.set_u16(field::STATE, 1);
    superblock.set_u16(field::ERRORS, 1);
    superblock.set_u32(field::LAST_CHECK, options.time);
    superblock.set_u32(field::CREATOR_OS, 0);
    superblock.set_u32(field::REVISION, 1);
    superblock.set_u32(field::FIRST_INODE, GOOD_OLD_FIRST_INODE);
    superblock.set_u16(field::INODE_SIZE, geometry.inode_size as u16);
    superblock.set_u32(field::MKFS_TIME, options.time);
    // The first new inode (lost+found) gets generation 1 (`generation.rs`).
    superblock.set_next_generation(1);
    if geometry.inode_size > 128 {
        superblock.set_u16(field::MIN_EXTRA_INODE_SIZE, 32);
        superblock.set_u16(field::WANT_EXTRA_INODE_SIZE, 32);
    }
    let mut read_only_compatible =
        ReadOnlyCompatibleFeatures::SPARSE_SUPER | ReadOnlyCompatibleFeatures::LARGE_FILE;
    if options.ext2l {
        read_only_compatible |= ReadOnlyCompatibleFeatures::EXT2L;
    }
    let mut compatible = CompatibleFeatures::EXT_ATTR;
    if double_indirect.is_some() {
        compatible |= CompatibleFeatures::RESIZE_INODE;
        superblock.set_u16(
            field::RESERVED_GDT_BLOCKS,
            geometry.reserved_descriptor_blocks as u16,
        );
    }
    superblock.set_features(FeatureSet {
        compatible: compatible.bits(),
        incompatible: IncompatibleFeatures::FILETYPE.bits(),
        read_only_compatible: read_only_compatible.bits(),
    });
    superblock.set_uuid(options.uuid);
    let mut seed = options.uuid;
    seed.reverse();
    superblock.set_hash_seed(seed);
    superblock.set_volume_name(&options.label);

    // Backups first, primary last: a half-written format never mounts.
    for group in (0..geometry.group_count).rev() {
        if !geometry.group_has_superblock(group) {
            continue;
        }
        let mut copy = superblock.clone();
        copy.set_block_group_number(group as u16);
        let first = geometry.group_first_block(group);
        let superblock_offset = if group == 0 {
            SUPERBLOCK_OFFSET
        } else {
            geometry.block_offset(first)
        };
        device.write_at(superblock_offset, copy.as_bytes())?;
        device.write_at(geometry.block_offset(first + 1), groups.as_bytes())?;
    }

    let mut file_system = FileSystem::mount(device, mount_options)?;
    if let Some(double_indirect) = double_indirect {
        let inode = crate::resize_inode::new_inode(&geometry, double_indirect, options.time);
        file_system.write_inode(&inode)?;
    }
    make_root(&mut file_system, options.time)?;
    file_system.mkdir(InodeNumber::ROOT, b"lost+found", 0o700, 0, 0)?;
    if let Some(journal_blocks) = options.journal_blocks {
        file_system.add_journal_with(journal_blocks, !options.assume_zeroed)?;
        // Mounted again, so the volume is journaled from its first change.
        let device = file_system.unmount()?;
        return FileSystem::mount(device, mount_options);
    }
    file_system.sync()?;
    Ok(file_system)
}

/// Writes the resize inode's double-indirect block at `double_indirect`
/// and its indirect blocks, the reserved descriptor blocks of group 0
/// (`resize_inode.rs`).
fn write_resize_blocks<D: BlockDevice>(
    device: &mut D,
    geometry: &Geometry,
    double_indirect: u32,
) -> Result<()> {
    let contents = crate::resize_inode::double_indirect_contents(geometry);
    device.write_at(geometry.block_offset(double_indirect), &contents)?;
    for index in 0..geometry.reserved_descriptor_blocks {
        let block = crate::resize_inode::reserved_block(geometry, index);
        let contents = crate::resize_inode::reserved_block_contents(geometry, index);
        device.write_at(geometry.block_offset(block), &contents)?;
    }
    Ok(())
}

/// Creates the root directory, inode 2 (already marked used as reserved).
fn make_root<D: BlockDevice>(file_system: &mut FileSystem<D>, time: u32) -> Result<()> {
    let mut root = Inode::zeroed(InodeNumber::ROOT);
    root.set_mode(mode::DIRECTORY | 0o755);
    root.set_links(2);
    root.set_access_time(time);
    root.set_change_time(time);
    root.set_modification_time(time);
    if file_system.geometry.inode_size > 128 {
        root.set_extra_size(32);
        root.set_creation_time(time);
    }
    file_system.initialise_directory_block(&mut root, InodeNumber::ROOT)?;
    file_system.write_inode(&root)?;
    let directories = file_system.groups.used_directories(0);
    file_system.groups.set_used_directories(0, directories + 1);
    file_system.groups_dirty = true;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_devices_are_refused() {
        let device = crate::device::MemoryDevice::new(8 * 1024);
        let result = format(device, &FormatOptions::default(), MountOptions::default());
        assert!(matches!(result, Err(Error::InvalidArgument)));
    }

    #[test]
    fn a_short_last_group_is_dropped() {
        let options = FormatOptions {
            block_size: 1024,
            ..FormatOptions::default()
        };
        let geometry = plan(&options, (8192 + 20) * 1024).unwrap();
        assert_eq!(geometry.group_count, 1);
        assert_eq!(geometry.blocks_count, 8193);
    }
}
