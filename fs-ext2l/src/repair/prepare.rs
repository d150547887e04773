// SPDX-License-Identifier: MIT OR Apache-2.0
//! Before the mount: a superblock and descriptors the repair can use.
//!
//! As e2fsck's `unix.c` does before it checks anything: a primary
//! superblock that does not describe a file system (bad magic, an
//! impossible geometry) is replaced by the first backup that does —
//! group 1's, found where the primary's geometry puts it or, when that
//! cannot be read, where `mke2fs` puts it for 1, 2 and 4 KiB blocks —
//! together with the descriptor table that follows it. A primary
//! superblock that is fine but whose descriptor table fails e2fsck's
//! `ext2fs_check_desc` (a bitmap or inode table outside its group or on
//! another group's metadata) on a volume of several groups gets group 1's
//! copy of the table instead. Whatever is still wrong is pass 0's to move
//! (`layout.rs`).
//!
//! Then the journal: one that needs recovery but cannot be read (its
//! inode or superblock unusable) would stop the mount, which replays it.
//! e2fsck clears such a journal ("Superblock has an invalid journal"),
//! losing what its log held, and makes a new one after pass 5; so does
//! the repair ([`drop_unreadable_journal`]: `has_journal` and
//! `needs_recovery` cleared here, inode 8 cleared by pass 1, a journal of
//! `mke2fs`'s size made at the end).

use alloc::format;
use alloc::vec;
use alloc::vec::Vec;

use crate::check::ProblemKind;
use crate::device::BlockDevice;
use crate::error::{Error, Result};
use crate::features::{CompatibleFeatures, IncompatibleFeatures};
use crate::group::GroupTable;
use crate::superblock::{field, Geometry, Superblock, SUPERBLOCK_OFFSET, SUPERBLOCK_SIZE};

use super::{BlockSet, RepairLog};

/// Replaces an unusable primary superblock or descriptor table by group
/// 1's backup (see the module doc).
///
/// Return values: `Ok(())` (a volume no backup helps is left to fail at
/// mount), or [`crate::Error::Device`].
pub(super) fn prepare_device<D: BlockDevice>(device: &mut D, log: &mut RepairLog) -> Result<()> {
    let size = device.size()?;
    if size < SUPERBLOCK_OFFSET + SUPERBLOCK_SIZE as u64 {
        return Ok(());
    }
    let primary = read_superblock(device, SUPERBLOCK_OFFSET)?;
    match Geometry::from_superblock(&primary, size) {
        Ok(geometry) => {
            if geometry.group_count < 2 {
                return Ok(());
            }
            let table_offset = geometry.block_offset(geometry.first_data_block + 1);
            let table = read_table(device, &geometry, table_offset)?;
            let primary_problems = descriptor_problems(&geometry, &table);
            if primary_problems == 0 {
                return Ok(());
            }
            let backup_block = geometry.group_first_block(1);
            let backup_offset = geometry.block_offset(backup_block + 1);
            let Ok(backup) = read_table(device, &geometry, backup_offset) else {
                return Ok(());
            };
            if descriptor_problems(&geometry, &backup) >= primary_problems {
                return Ok(());
            }
            device.write_at(table_offset, &backup)?;
            log.add(
                ProblemKind::GroupDescriptor,
                None,
                format!("the group descriptors were damaged ({primary_problems} groups): replaced them by group 1's backup"),
            );
        }
        Err(error) => {
            for (block_size, blocks_per_group) in candidates(&primary) {
                let first_data_block = u64::from(block_size == 1024);
                let backup_block = first_data_block + u64::from(blocks_per_group);
                let offset = backup_block * u64::from(block_size);
                if offset + SUPERBLOCK_SIZE as u64 > size {
                    continue;
                }
                let mut backup = read_superblock(device, offset)?;
                let Ok(geometry) = Geometry::from_superblock(&backup, size) else {
                    continue;
                };
                if geometry.block_size != block_size
                    || geometry.blocks_per_group != blocks_per_group
                {
                    continue;
                }
                let table = read_table(
                    device,
                    &geometry,
                    geometry.block_offset(geometry.group_first_block(1) + 1),
                )?;
                backup.set_block_group_number(0);
                device.write_at(SUPERBLOCK_OFFSET, backup.as_bytes())?;
                device.write_at(geometry.block_offset(geometry.first_data_block + 1), &table)?;
                log.add(
                    ProblemKind::Superblock,
                    None,
                    format!(
                        "the primary superblock is unusable ({error}): replaced it and the descriptors by group 1's backup (block {backup_block})"
                    ),
                );
                return Ok(());
            }
        }
    }
    Ok(())
}

/// Removes a journal that needs recovery but cannot be read (see the
/// module doc); returns whether it did, so a new one is made.
///
/// Return values: `Ok(removed)`, or [`crate::Error::Device`].
pub(super) fn drop_unreadable_journal<D: BlockDevice>(
    device: &mut D,
    log: &mut RepairLog,
) -> Result<bool> {
    let size = device.size()?;
    if size < SUPERBLOCK_OFFSET + SUPERBLOCK_SIZE as u64 {
        return Ok(false);
    }
    let mut superblock = read_superblock(device, SUPERBLOCK_OFFSET)?;
    let features = superblock.features();
    let internal = superblock.journal_uuid() == [0; 16] && superblock.journal_device() == 0;
    if features.compatible & CompatibleFeatures::HAS_JOURNAL.bits() == 0
        || features.incompatible & IncompatibleFeatures::RECOVER.bits() == 0
        || !internal
        || Geometry::from_superblock(&superblock, size).is_err()
    {
        return Ok(false);
    }
    let why = match crate::journal::inspect(device) {
        Err(Error::Device(error)) => return Err(Error::Device(error)),
        Err(Error::Corrupt(corruption)) => corruption,
        // Readable (the mount replays it), or a volume the mount refuses
        // for reasons of its own.
        _ => return Ok(false),
    };
    superblock.set_compatible(CompatibleFeatures::HAS_JOURNAL, false);
    superblock.set_incompatible(IncompatibleFeatures::RECOVER, false);
    device.write_at(SUPERBLOCK_OFFSET, superblock.as_bytes())?;
    device.flush()?;
    log.add(
        ProblemKind::Journal,
        None,
        format!(
            "the journal needs recovery but cannot be read ({}): removed it, and its log with it",
            Error::Corrupt(why)
        ),
    );
    Ok(true)
}

/// Where group 1's backup may be: (block size, blocks per group), the
/// primary's own geometry first when it reads as one.
fn candidates(primary: &Superblock) -> Vec<(u32, u32)> {
    let mut candidates = Vec::new();
    let log_block_size = primary.get_u32(field::LOG_BLOCK_SIZE);
    let blocks_per_group = primary.get_u32(field::BLOCKS_PER_GROUP);
    if log_block_size <= 2 {
        let block_size = 1024u32 << log_block_size;
        if blocks_per_group >= 8 && blocks_per_group <= block_size * 8 && blocks_per_group % 8 == 0
        {
            candidates.push((block_size, blocks_per_group));
        }
    }
    for block_size in [1024u32, 2048, 4096] {
        let standard = (block_size, block_size * 8);
        if !candidates.contains(&standard) {
            candidates.push(standard);
        }
    }
    candidates
}

fn read_superblock<D: BlockDevice>(device: &mut D, offset: u64) -> Result<Superblock> {
    let mut raw = [0u8; SUPERBLOCK_SIZE];
    device.read_at(offset, &mut raw)?;
    Ok(Superblock::from_bytes(raw))
}

fn read_table<D: BlockDevice>(device: &mut D, geometry: &Geometry, offset: u64) -> Result<Vec<u8>> {
    let mut table = vec![0u8; geometry.descriptor_blocks as usize * geometry.block_bytes()];
    device.read_at(offset, &mut table)?;
    Ok(table)
}

/// How many groups' descriptors `ext2fs_check_desc` rejects: a bitmap or
/// inode table outside its group, or on blocks another descriptor or a
/// superblock or descriptor copy already uses.
fn descriptor_problems(geometry: &Geometry, raw: &[u8]) -> u32 {
    let groups = GroupTable::from_bytes(raw.into(), geometry);
    let mut used = BlockSet::new(geometry.blocks_count as usize);
    for group in 0..geometry.group_count {
        let first = geometry.group_first_block(group);
        for offset in 0..geometry.group_header_blocks(group) {
            used.set(first.saturating_add(offset));
        }
    }
    let mut problems = 0;
    for group in 0..geometry.group_count {
        let first = u64::from(geometry.group_first_block(group));
        let last = first + u64::from(geometry.group_block_count(group)).max(1) - 1;
        let mut bad = false;
        for (block, count) in [
            (groups.block_bitmap(group), 1),
            (groups.inode_bitmap(group), 1),
            (groups.inode_table(group), geometry.inode_table_blocks),
        ] {
            let end = u64::from(block) + u64::from(count).max(1) - 1;
            if u64::from(block) < first || end > last {
                bad = true;
                continue;
            }
            for offset in 0..count {
                if used.set(block + offset) {
                    bad = true;
                }
            }
        }
        if bad {
            problems += 1;
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backups_are_looked_for_where_mke2fs_puts_them() {
        let superblock = Superblock::zeroed();
        assert_eq!(
            candidates(&superblock),
            vec![(1024, 8192), (2048, 16384), (4096, 32768)]
        );
    }
}
