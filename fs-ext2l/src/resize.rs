// SPDX-License-Identifier: MIT OR Apache-2.0
//! Growing a volume: more block groups at its end.
//!
//! [`grow`] takes an unmounted volume to a larger block count, as
//! `resize2fs` does offline: the last group is extended, new groups get
//! their bitmaps, zeroed inode tables and descriptors, the groups
//! `sparse_super` chooses get a superblock and descriptor backup, and the
//! superblock's counts grow. Descriptor blocks never move: a new one takes
//! the place of the first block the resize inode reserved
//! (`resize_inode.rs`), whose layout is then rewritten, so a volume grows
//! as far as `mkfs` reserved for (1024 times its size) and no further
//! ([`growth_limit`]).
//!
//! **A power cut leaves the old size or the new one, both consistent.**
//! Nothing the old volume uses changes outside the journal:
//!
//! 1. everything past the old end (the new groups) is written directly,
//!    with the primary superblock's `needs_recovery` flag set; flush;
//! 2. every changed block of the old volume — superblock and its backups,
//!    descriptor blocks and their backups, the reserved blocks' lists, the
//!    resize inode and its double-indirect block, the old last group's
//!    block bitmap — is one journal transaction, committed (the journal's
//!    own flushes);
//! 3. the same blocks are written home; flush; the log is marked empty;
//! 4. `needs_recovery` is cleared; flush.
//!
//! A cut before the commit block is durable leaves the old volume (a
//! replay finds no complete transaction; the new groups lie past its
//! end); after it, the mount's replay finishes the new one. The whole
//! change must fit the log ([`Error::NoSpace`] otherwise, before anything
//! is written). A volume without a journal is grown in the same order
//! without step 2's transaction: then a cut during step 3 may leave
//! counters for `ext2l check --repair`.
//!
//! This module never shrinks a volume, never moves a block the file
//! system uses, and works only on an unmounted device ([`grow`] mounts it
//! once first, to replay its journal and free its orphans).

use alloc::collections::BTreeMap;
use alloc::vec;
use alloc::vec::Vec;

use crate::bytes::set_bit;
use crate::device::BlockDevice;
use crate::error::{Error, Result};
use crate::features::{CompatibleFeatures, IncompatibleFeatures};
use crate::filesystem::{FileSystem, MountOptions};
use crate::group::GroupTable;
use crate::inode::{Inode, InodeNumber, INODE_BUFFER_SIZE};
use crate::journal::{transaction_log_blocks, CommitTime, Journal};
use crate::resize_inode;
use crate::superblock::{
    field, Geometry, Superblock, GROUP_DESCRIPTOR_SIZE, SUPERBLOCK_OFFSET, SUPERBLOCK_SIZE,
};

/// Blocks of zeros written in one call when clearing new inode tables.
const ZERO_RUN_BLOCKS: u32 = 64;

/// What [`grow`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Growth {
    /// Bytes per block.
    pub block_size: u32,
    /// Blocks before.
    pub old_blocks: u32,
    /// Blocks after (equal to `old_blocks` when there was nothing to do).
    pub new_blocks: u32,
    /// Block groups before.
    pub old_groups: u32,
    /// Block groups after.
    pub new_groups: u32,
}

impl Growth {
    /// The volume's size before, in bytes.
    pub fn old_bytes(&self) -> u64 {
        u64::from(self.old_blocks) * u64::from(self.block_size)
    }

    /// The volume's size after, in bytes.
    pub fn new_bytes(&self) -> u64 {
        u64::from(self.new_blocks) * u64::from(self.block_size)
    }

    /// Whether the volume grew.
    pub fn grew(&self) -> bool {
        self.new_blocks > self.old_blocks
    }
}

/// The size in bytes of the volume on `device` (its block count).
///
/// Return values: the size; [`Error::Corrupt`] for a superblock that does
/// not validate; [`Error::Device`].
pub fn volume_bytes<D: BlockDevice>(device: &mut D) -> Result<u64> {
    let (_, geometry) = read_superblock(device)?;
    Ok(geometry.block_offset(geometry.blocks_count))
}

/// The largest size in bytes the volume on `device` can grow to: what its
/// descriptor blocks, reserved ones included, can describe, within 32-bit
/// block and inode numbers.
///
/// Return values: the size; [`Error::Corrupt`] for a superblock that does
/// not validate; [`Error::Device`].
pub fn growth_limit<D: BlockDevice>(device: &mut D) -> Result<u64> {
    let (_, geometry) = read_superblock(device)?;
    let descriptors_per_block = geometry.block_size / GROUP_DESCRIPTOR_SIZE;
    let groups = u64::from(geometry.descriptor_blocks + geometry.reserved_descriptor_blocks)
        * u64::from(descriptors_per_block);
    let groups = groups.min(u64::from(u32::MAX / geometry.inodes_per_group));
    let blocks =
        u64::from(geometry.first_data_block) + groups * u64::from(geometry.blocks_per_group);
    Ok(blocks.min(u64::from(u32::MAX)) * u64::from(geometry.block_size))
}

/// Grows the volume on `device` to `new_size` bytes (rounded down to
/// whole blocks; a last group too small to hold its own metadata and 50
/// blocks of data is left out, as `mke2fs` does). The volume is mounted
/// once with `options` first (its journal replayed, orphans freed) and
/// unmounted; see the module doc for the order of writes.
///
/// Return values:
/// - the device and what was done (nothing when `new_size` adds no block);
/// - [`Error::InvalidArgument`] for a size smaller than the volume or
///   larger than the device;
/// - [`Error::NoSpace`] for a size beyond [`growth_limit`], or a change
///   too large for the journal's log;
/// - [`Error::ReadOnly`] for a volume this library mounts only read-only;
/// - the errors of [`FileSystem::mount`] and [`FileSystem::unmount`];
///   [`Error::Device`].
pub fn grow<D: BlockDevice>(
    device: D,
    new_size: u64,
    options: MountOptions,
) -> Result<(D, Growth)> {
    let time = (options.clock)();
    let file_system = FileSystem::mount(device, options)?;
    if file_system.is_read_only() {
        return Err(Error::ReadOnly);
    }
    let mut device = file_system.unmount()?;
    let plan = Plan::new(&mut device, new_size, time)?;
    let growth = plan.growth();
    if growth.grew() {
        let journal = crate::journal::open_unmounted(&mut device)?;
        plan.write(&mut device, journal, time)?;
    }
    Ok((device, growth))
}

/// Reads and validates the primary superblock.
fn read_superblock<D: BlockDevice>(device: &mut D) -> Result<(Superblock, Geometry)> {
    let device_size = device.size()?;
    let mut raw = [0u8; SUPERBLOCK_SIZE];
    device.read_at(SUPERBLOCK_OFFSET, &mut raw)?;
    let superblock = Superblock::from_bytes(raw);
    let geometry = Geometry::from_superblock(&superblock, device_size)?;
    Ok((superblock, geometry))
}

/// Everything a growth writes, computed before anything is.
struct Plan {
    old: Geometry,
    new: Geometry,
    /// The new primary superblock (without `needs_recovery`).
    superblock: Superblock,
    /// The new descriptor table, `new.descriptor_blocks` blocks.
    groups: GroupTable,
    /// Blocks past the old end: (block, contents), written directly.
    outside: Vec<(u32, Vec<u8>)>,
    /// Runs of blocks past the old end to zero (the new inode tables):
    /// (first block, count).
    zeroed: Vec<(u32, u32)>,
    /// Changed blocks of the old volume, journaled.
    inside: BTreeMap<u32, Vec<u8>>,
}

impl Plan {
    /// Plans the growth of the volume on `device` to `new_size` bytes.
    fn new<D: BlockDevice>(device: &mut D, new_size: u64, time: u32) -> Result<Plan> {
        let (old_superblock, old) = read_superblock(device)?;
        if old.revision != 1 || old.block_size > 4096 {
            return Err(Error::ReadOnly);
        }
        if new_size > device.size()? {
            return Err(Error::InvalidArgument);
        }
        let new = new_geometry(&old, new_size)?;
        let block_size = old.block_bytes();
        let mut table = vec![0u8; old.descriptor_blocks as usize * block_size];
        device.read_at(old.block_offset(old.first_data_block + 1), &mut table)?;
        let old_groups = GroupTable::from_bytes(table.clone(), &old);
        if !old_groups.all_valid() {
            return Err(Error::corrupt(
                "a group descriptor points outside the volume",
            ));
        }
        table.resize(new.descriptor_blocks as usize * block_size, 0);
        let mut plan = Plan {
            groups: GroupTable::from_bytes(table, &new),
            superblock: old_superblock,
            old,
            new,
            outside: Vec::new(),
            zeroed: Vec::new(),
            inside: BTreeMap::new(),
        };
        if plan.new.blocks_count == plan.old.blocks_count {
            return Ok(plan);
        }
        let extended = plan.extend_last_group(device, &old_groups)?;
        let added = plan.add_groups();
        plan.update_superblock(extended + added, time);
        plan.place_tables(device)?;
        if plan.features_resize() && plan.old.reserved_descriptor_blocks > 0 {
            plan.update_resize_inode(device, &old_groups)?;
        }
        Ok(plan)
    }

    fn growth(&self) -> Growth {
        Growth {
            block_size: self.old.block_size,
            old_blocks: self.old.blocks_count,
            new_blocks: self.new.blocks_count,
            old_groups: self.old.group_count,
            new_groups: self.new.group_count,
        }
    }

    fn features_resize(&self) -> bool {
        self.superblock.features().compatible & CompatibleFeatures::RESIZE_INODE.bits() != 0
    }

    /// Frees the blocks the old last group gains, if it was short.
    /// Returns how many.
    fn extend_last_group<D: BlockDevice>(
        &mut self,
        device: &mut D,
        old_groups: &GroupTable,
    ) -> Result<u32> {
        let last = self.old.group_count - 1;
        let before = self.old.group_block_count(last);
        let after = self.new.group_block_count(last);
        if after == before {
            return Ok(0);
        }
        let bitmap_block = old_groups.block_bitmap(last);
        let mut bitmap = vec![0u8; self.old.block_bytes()];
        device.read_at(self.old.block_offset(bitmap_block), &mut bitmap)?;
        for index in before..after {
            set_bit(&mut bitmap, index as usize, false);
        }
        self.inside.insert(bitmap_block, bitmap);
        let gained = after - before;
        let free = u32::from(self.groups.free_blocks(last)) + gained;
        self.groups.set_free_blocks(last, free as u16);
        Ok(gained)
    }

    /// Lays out every new group: bitmaps, zeroed inode table, descriptor.
    /// Returns the free blocks they add.
    fn add_groups(&mut self) -> u32 {
        let geometry = &self.new;
        let block_size = geometry.block_bytes();
        let mut free_total = 0;
        for group in self.old.group_count..geometry.group_count {
            let start = geometry.group_first_block(group) + geometry.group_header_blocks(group);
            let (block_bitmap, inode_bitmap, inode_table) = (start, start + 1, start + 2);
            let used = geometry.group_header_blocks(group) + 2 + geometry.inode_table_blocks;
            let group_blocks = geometry.group_block_count(group);
            let mut blocks = vec![0u8; block_size];
            for index in 0..used {
                set_bit(&mut blocks, index as usize, true);
            }
            // Bits past the end of a short last group are set, as mke2fs does.
            for index in group_blocks..geometry.blocks_per_group {
                set_bit(&mut blocks, index as usize, true);
            }
            let mut inodes = vec![0u8; block_size];
            for index in geometry.inodes_per_group..(block_size as u32 * 8) {
                set_bit(&mut inodes, index as usize, true);
            }
            self.outside.push((block_bitmap, blocks));
            self.outside.push((inode_bitmap, inodes));
            self.zeroed.push((inode_table, geometry.inode_table_blocks));
            let free = group_blocks - used;
            free_total += free;
            self.groups
                .set_locations(group, block_bitmap, inode_bitmap, inode_table);
            self.groups.set_free_blocks(group, free as u16);
            self.groups
                .set_free_inodes(group, geometry.inodes_per_group as u16);
            self.groups.set_used_directories(group, 0);
            self.groups.set_flags(group, 0);
        }
        free_total
    }

    /// The new counts: blocks, inodes, free ones, reserved ones (the same
    /// share as before) and reserved descriptor blocks.
    fn update_superblock(&mut self, added_free_blocks: u32, time: u32) {
        let superblock = &mut self.superblock;
        let added_inodes = self.new.inodes_count - self.old.inodes_count;
        let reserved = u64::from(superblock.get_u32(field::RESERVED_BLOCKS_COUNT))
            * u64::from(self.new.blocks_count)
            / u64::from(self.old.blocks_count);
        superblock.set_u32(field::BLOCKS_COUNT, self.new.blocks_count);
        superblock.set_u32(field::INODES_COUNT, self.new.inodes_count);
        superblock.set_u32(field::RESERVED_BLOCKS_COUNT, reserved as u32);
        let free_blocks = superblock.get_u32(field::FREE_BLOCKS_COUNT);
        superblock.set_u32(field::FREE_BLOCKS_COUNT, free_blocks + added_free_blocks);
        let free_inodes = superblock.get_u32(field::FREE_INODES_COUNT);
        superblock.set_u32(field::FREE_INODES_COUNT, free_inodes + added_inodes);
        if self.new.reserved_descriptor_blocks != self.old.reserved_descriptor_blocks {
            superblock.set_u16(
                field::RESERVED_GDT_BLOCKS,
                self.new.reserved_descriptor_blocks as u16,
            );
        }
        superblock.set_u32(field::WRITE_TIME, time);
    }

    /// Places the superblock and descriptor table, primary and backups:
    /// in the old volume journaled, in the new groups directly.
    fn place_tables<D: BlockDevice>(&mut self, device: &mut D) -> Result<()> {
        let block_size = self.new.block_bytes();
        for group in 0..self.new.group_count {
            if !self.new.group_has_superblock(group) {
                continue;
            }
            let first = self.new.group_first_block(group);
            let mut copy = self.superblock.clone();
            copy.set_block_group_number(group as u16);
            // The block holding the superblock: for group 0 the one with
            // byte 1024 (its other bytes kept), for a backup its first.
            let (block, offset) = if group == 0 {
                let block = (SUPERBLOCK_OFFSET / self.new.block_size as u64) as u32;
                let offset = (SUPERBLOCK_OFFSET % self.new.block_size as u64) as usize;
                (block, offset)
            } else {
                (first, 0)
            };
            let mut contents = vec![0u8; block_size];
            if group < self.old.group_count {
                device.read_at(self.new.block_offset(block), &mut contents)?;
            }
            if let Some(target) = contents.get_mut(offset..offset + SUPERBLOCK_SIZE) {
                target.copy_from_slice(copy.as_bytes());
            }
            self.put(block, contents);
            let table: Vec<Vec<u8>> = self
                .groups
                .as_bytes()
                .chunks(block_size)
                .map(<[u8]>::to_vec)
                .collect();
            for (index, chunk) in table.into_iter().enumerate() {
                self.put(first + 1 + index as u32, chunk);
            }
        }
        Ok(())
    }

    /// Rewrites the resize inode for the new layout: the reserved blocks
    /// left list the new backup groups too, the double-indirect block
    /// names only them, and `i_blocks` counts what it owns now.
    fn update_resize_inode<D: BlockDevice>(
        &mut self,
        device: &mut D,
        old_groups: &GroupTable,
    ) -> Result<()> {
        let geometry = &self.new;
        let (group, index) = geometry.inode_position(InodeNumber::RESIZE.get());
        let byte = self.old.block_offset(old_groups.inode_table(group))
            + u64::from(index) * u64::from(geometry.inode_size);
        let block = (byte / u64::from(geometry.block_size)) as u32;
        let offset = (byte % u64::from(geometry.block_size)) as usize;
        let mut table_block = vec![0u8; geometry.block_bytes()];
        device.read_at(geometry.block_offset(block), &mut table_block)?;
        let held = (geometry.inode_size as usize).min(INODE_BUFFER_SIZE);
        let bytes = table_block
            .get(offset..offset + held)
            .ok_or(Error::corrupt("the resize inode crosses its block"))?;
        let mut inode = Inode::from_bytes(InodeNumber::RESIZE, bytes);
        let double_indirect = inode.block_pointer(resize_inode::DOUBLE_INDIRECT_SLOT);
        if double_indirect <= self.old.first_data_block
            || double_indirect >= self.old.blocks_count
            || !inode.is_regular()
        {
            return Err(Error::corrupt_inode(
                "the resize inode has no double-indirect block",
                InodeNumber::RESIZE.get(),
            ));
        }
        inode.set_sectors(resize_inode::sectors(geometry));
        if let Some(target) = table_block.get_mut(offset..offset + held) {
            target.copy_from_slice(inode.as_bytes().get(..held).unwrap_or(&[]));
        }
        let double_indirect_contents = resize_inode::double_indirect_contents(geometry);
        let reserved: Vec<(u32, Vec<u8>)> = (0..geometry.reserved_descriptor_blocks)
            .map(|index| {
                (
                    resize_inode::reserved_block(geometry, index),
                    resize_inode::reserved_block_contents(geometry, index),
                )
            })
            .collect();
        self.put(block, table_block);
        self.put(double_indirect, double_indirect_contents);
        for (block, contents) in reserved {
            self.put(block, contents);
        }
        Ok(())
    }

    /// Files a block under the old volume's (journaled) or past its end.
    fn put(&mut self, block: u32, contents: Vec<u8>) {
        if block < self.old.blocks_count {
            self.inside.insert(block, contents);
        } else {
            self.outside.push((block, contents));
        }
    }

    /// Writes the growth in the order of the module doc.
    fn write<D: BlockDevice>(
        &self,
        device: &mut D,
        journal: Option<Journal>,
        time: u32,
    ) -> Result<()> {
        let blocks: Vec<(u64, &[u8])> = self
            .inside
            .iter()
            .map(|(block, contents)| (u64::from(*block), contents.as_slice()))
            .collect();
        if let Some(journal) = &journal {
            let needed = transaction_log_blocks(journal.superblock(), blocks.len(), 0);
            if needed > u64::from(journal.free_blocks()) {
                return Err(Error::NoSpace);
            }
        }
        // 1. The new groups, past the old end.
        for (block, contents) in &self.outside {
            device.write_at(self.new.block_offset(*block), contents)?;
        }
        let zeros = vec![0u8; ZERO_RUN_BLOCKS as usize * self.new.block_bytes()];
        for &(first, count) in &self.zeroed {
            let mut block = first;
            while block < first + count {
                let run = (first + count - block).min(ZERO_RUN_BLOCKS);
                let bytes = zeros
                    .get(..run as usize * self.new.block_bytes())
                    .unwrap_or(&[]);
                device.write_at(self.new.block_offset(block), bytes)?;
                block += run;
            }
        }
        let Some(mut journal) = journal else {
            device.flush()?;
            let primary = (SUPERBLOCK_OFFSET / u64::from(self.new.block_size)) as u32;
            for (block, contents) in &blocks {
                if *block != u64::from(primary) {
                    device.write_at(*block * u64::from(self.new.block_size), contents)?;
                }
            }
            device.flush()?;
            if let Some(contents) = self.inside.get(&primary) {
                device.write_at(
                    u64::from(primary) * u64::from(self.new.block_size),
                    contents,
                )?;
            }
            device.flush()?;
            return Ok(());
        };
        set_needs_recovery(device, true)?;
        device.flush()?;
        // 2. One transaction; the journaled superblock carries the flag,
        // as a mounted volume's does, and the replay clears it.
        let primary = (SUPERBLOCK_OFFSET / u64::from(self.new.block_size)) as u32;
        let offset = (SUPERBLOCK_OFFSET % u64::from(self.new.block_size)) as usize;
        let mut flagged = self.inside.get(&primary).cloned().unwrap_or_default();
        if let Some(bytes) = flagged.get_mut(offset..offset + SUPERBLOCK_SIZE) {
            let mut superblock = self.superblock.clone();
            superblock.set_incompatible(IncompatibleFeatures::RECOVER, true);
            bytes.copy_from_slice(superblock.as_bytes());
        }
        let logged: Vec<(u64, &[u8])> = blocks
            .iter()
            .map(|&(block, contents)| {
                if block == u64::from(primary) {
                    (block, flagged.as_slice())
                } else {
                    (block, contents)
                }
            })
            .collect();
        let stamp = CommitTime {
            seconds: u64::from(time),
            nanoseconds: 0,
        };
        let sequence = journal.commit(device, &logged, &[], stamp)?;
        // 3. Home, the primary superblock last, so that it never counts
        // groups whose descriptors are not home; then the log emptied.
        for (block, contents) in &logged {
            if *block != u64::from(primary) {
                device.write_at(*block * u64::from(self.new.block_size), contents)?;
            }
        }
        device.flush()?;
        device.write_at(
            u64::from(primary) * u64::from(self.new.block_size),
            &flagged,
        )?;
        device.flush()?;
        journal.checkpointed(device, sequence)?;
        journal.close(device)?;
        // 4. The flag cleared.
        set_needs_recovery(device, false)?;
        device.flush()?;
        Ok(())
    }
}

/// Sets or clears `needs_recovery` in the primary superblock (not flushed).
fn set_needs_recovery<D: BlockDevice>(device: &mut D, value: bool) -> Result<()> {
    let mut raw = [0u8; SUPERBLOCK_SIZE];
    device.read_at(SUPERBLOCK_OFFSET, &mut raw)?;
    let mut superblock = Superblock::from_bytes(raw);
    superblock.set_incompatible(IncompatibleFeatures::RECOVER, value);
    device.write_at(SUPERBLOCK_OFFSET, superblock.as_bytes())?;
    Ok(())
}

/// The geometry of `old` grown to `new_size` bytes.
///
/// Return values: the geometry; [`Error::InvalidArgument`] for a size
/// smaller than `old`; [`Error::NoSpace`] beyond what the descriptor
/// blocks (reserved ones included) or 32-bit inode numbers allow.
fn new_geometry(old: &Geometry, new_size: u64) -> Result<Geometry> {
    let wanted = (new_size / u64::from(old.block_size)).min(u64::from(u32::MAX)) as u32;
    if wanted < old.blocks_count {
        return Err(Error::InvalidArgument);
    }
    let mut blocks_count = wanted;
    loop {
        let group_count = (blocks_count - old.first_data_block).div_ceil(old.blocks_per_group);
        let descriptor_bytes = u64::from(group_count) * u64::from(GROUP_DESCRIPTOR_SIZE);
        let descriptor_blocks = descriptor_bytes.div_ceil(u64::from(old.block_size)) as u32;
        let room = old.descriptor_blocks + old.reserved_descriptor_blocks;
        if descriptor_blocks > room {
            return Err(Error::NoSpace);
        }
        let inodes_count = u64::from(group_count) * u64::from(old.inodes_per_group);
        let inodes_count = u32::try_from(inodes_count).map_err(|_| Error::NoSpace)?;
        let geometry = Geometry {
            blocks_count,
            group_count,
            inodes_count,
            descriptor_blocks,
            reserved_descriptor_blocks: room - descriptor_blocks,
            ..old.clone()
        };
        // Like mke2fs, leave out a new last group too small to hold its
        // own metadata and some data.
        let last = group_count - 1;
        if last >= old.group_count {
            let overhead =
                geometry.group_header_blocks(last) + 2 + geometry.inode_table_blocks + 50;
            let last_blocks = geometry.group_block_count(last);
            if last_blocks < overhead {
                blocks_count -= last_blocks;
                continue;
            }
        }
        return Ok(geometry);
    }
}
