// SPDX-License-Identifier: MIT OR Apache-2.0
//! Pass 0: where each group's bitmaps and inode table are.
//!
//! Before pass 1 reads an inode, the fixed metadata is claimed group by
//! group, as e2fsck's `mark_table_blocks` does: every group's superblock
//! and descriptor copies first, then each group's inode table, block
//! bitmap and inode bitmap. One that lies outside its group (e2fsck's
//! `check_super_block`) or on blocks already claimed (`PR_1_*_CONFLICT`)
//! is recorded as a [`Relocation`]; so is a bitmap on the bad-block list
//! (`inodes.rs`). After pass 1 has found every block in use,
//! [`Repairer::relocate_tables`] moves each into free blocks of its group
//! (`new_table_block`): the old contents are copied when the old place is
//! inside the file system, zeros written otherwise. A moved inode table
//! means pass 1 runs again on it.
//!
//! `uninit_bg` flags and `bg_itable_unused` mean nothing without group
//! checksums (which this library never writes): they are cleared
//! (`PR_0_GDT_UNINIT`).

use alloc::format;
use alloc::vec;

use crate::cache::BlockClass;
use crate::check::ProblemKind;
use crate::device::BlockDevice;
use crate::error::Result;
use crate::features::ReadOnlyCompatibleFeatures;
use crate::group::{GroupTable, GROUP_BLOCK_UNINIT, GROUP_INODE_UNINIT};

use super::{Relocation, Repairer, TableKind};

impl<D: BlockDevice> Repairer<'_, D> {
    /// Clears `uninit_bg` flags and `bg_itable_unused` on a volume without
    /// group checksums.
    pub(super) fn check_group_flags(&mut self) {
        let features = self.fs.superblock.features().read_only_compatible;
        let checksums = ReadOnlyCompatibleFeatures::GDT_CSUM.bits()
            | ReadOnlyCompatibleFeatures::METADATA_CSUM.bits();
        if features & checksums != 0 {
            return;
        }
        for group in 0..self.fs.geometry.group_count {
            let flags = self.fs.groups.flags(group);
            let uninit = GROUP_BLOCK_UNINIT | GROUP_INODE_UNINIT;
            let unused = self.fs.groups.inode_table_unused(group);
            if flags & uninit != 0 || unused != 0 {
                self.fs.groups.set_flags(group, flags & !uninit);
                self.fs.groups.set_inode_table_unused(group, 0);
                self.fs.groups_dirty = true;
                self.fixed(
                    ProblemKind::GroupDescriptor,
                    None,
                    format!(
                        "group {group}: cleared uninit_bg flags a volume without group checksums cannot have"
                    ),
                );
            }
        }
    }

    /// Claims every group's fixed metadata and records what must move.
    pub(super) fn mark_table_blocks(&mut self) -> Result<()> {
        let geometry = self.fs.geometry.clone();
        for group in 0..geometry.group_count {
            let first = geometry.group_first_block(group);
            for offset in 0..geometry.group_header_blocks(group) {
                let block = first.saturating_add(offset);
                if geometry.is_valid_block(block) {
                    self.claimed.set(block);
                    self.metadata.set(block);
                }
            }
        }
        for group in 0..geometry.group_count {
            let first = u64::from(geometry.group_first_block(group));
            let last = first + u64::from(geometry.group_block_count(group)).max(1) - 1;
            let in_group = |block: u32, count: u32| {
                u64::from(block) >= first && u64::from(block) + u64::from(count).max(1) - 1 <= last
            };
            let table = self.fs.groups.inode_table(group);
            let table_blocks = geometry.inode_table_blocks;
            if !in_group(table, table_blocks) {
                self.relocate(group, TableKind::InodeTable, false);
                self.unreadable_tables.insert(group);
            } else if (0..table_blocks).any(|offset| self.claimed.get(table + offset)) {
                self.relocate(group, TableKind::InodeTable, true);
            } else {
                for offset in 0..table_blocks {
                    self.claimed.set(table + offset);
                    self.metadata.set(table + offset);
                }
            }
            for (kind, block) in [
                (TableKind::BlockBitmap, self.fs.groups.block_bitmap(group)),
                (TableKind::InodeBitmap, self.fs.groups.inode_bitmap(group)),
            ] {
                if !in_group(block, 1) {
                    self.relocate(group, kind, false);
                } else if self.claimed.get(block) {
                    self.relocate(group, kind, true);
                } else {
                    self.claimed.set(block);
                    self.metadata.set(block);
                }
            }
        }
        Ok(())
    }

    /// Records that `what` of `group` must move (once).
    pub(super) fn relocate(&mut self, group: u32, what: TableKind, copy: bool) {
        if self
            .relocations
            .iter()
            .any(|relocation| relocation.group == group && relocation.what == what)
        {
            return;
        }
        self.relocations.push(Relocation { group, what, copy });
    }

    /// Moves every recorded structure into free blocks of its group (or,
    /// when the group has none, anywhere). Returns whether an inode table
    /// moved (pass 1 must read it again).
    ///
    /// Return values: whether a table moved; [`crate::Error::NoSpace`]
    /// when no run of free blocks holds it; [`crate::Error::Device`].
    pub(super) fn relocate_tables(&mut self) -> Result<bool> {
        let mut relocations = core::mem::take(&mut self.relocations);
        relocations.sort_by_key(|relocation| (relocation.group, relocation.what));
        let geometry = self.fs.geometry.clone();
        let mut moved_table = false;
        for relocation in relocations.iter().copied() {
            let group = relocation.group;
            let count = match relocation.what {
                TableKind::InodeTable => geometry.inode_table_blocks,
                _ => 1,
            };
            let first = geometry.group_first_block(group);
            let end = first.saturating_add(geometry.group_block_count(group));
            let start = match self.free_run(first, end, count) {
                Some(start) => start,
                None => self
                    .free_run(geometry.first_data_block, geometry.blocks_count, count)
                    .ok_or(crate::Error::NoSpace)?,
            };
            let old = match relocation.what {
                TableKind::BlockBitmap => self.fs.groups.block_bitmap(group),
                TableKind::InodeBitmap => self.fs.groups.inode_bitmap(group),
                TableKind::InodeTable => self.fs.groups.inode_table(group),
            };
            let copy = relocation.copy
                && u64::from(old) + u64::from(count) <= u64::from(geometry.blocks_count)
                && old >= geometry.first_data_block;
            let mut buffer = vec![0u8; geometry.block_bytes()];
            for offset in 0..count {
                let target = start + offset;
                self.claimed.set(target);
                self.metadata.set(target);
                if copy {
                    buffer.copy_from_slice(self.fs.cache.read(
                        &mut self.fs.device,
                        old + offset,
                        BlockClass::Metadata,
                    )?);
                } else {
                    buffer.fill(0);
                }
                self.fs.cache.overwrite(
                    &mut self.fs.device,
                    target,
                    BlockClass::Metadata,
                    &buffer,
                )?;
            }
            let (mut block_bitmap, mut inode_bitmap, mut inode_table) = (
                self.fs.groups.block_bitmap(group),
                self.fs.groups.inode_bitmap(group),
                self.fs.groups.inode_table(group),
            );
            match relocation.what {
                TableKind::BlockBitmap => block_bitmap = start,
                TableKind::InodeBitmap => inode_bitmap = start,
                TableKind::InodeTable => {
                    inode_table = start;
                    moved_table = true;
                }
            }
            self.fs
                .groups
                .set_locations(group, block_bitmap, inode_bitmap, inode_table);
            self.fs.groups_dirty = true;
            self.fixed(
                ProblemKind::GroupDescriptor,
                None,
                format!(
                    "group {group}: moved the {} from block {old} to block {start}{}",
                    relocation.what.name(),
                    if copy { "" } else { " (zeroed)" }
                ),
            );
        }
        if !relocations.is_empty() {
            self.fs.groups = GroupTable::from_bytes(self.fs.groups.as_bytes().into(), &geometry);
        }
        Ok(moved_table)
    }

    /// The first run of `count` blocks in `first..end` that nothing claims.
    fn free_run(&self, first: u32, end: u32, count: u32) -> Option<u32> {
        let mut start = first;
        while u64::from(start) + u64::from(count) <= u64::from(end) {
            match (0..count).find(|&offset| self.claimed.get(start + offset)) {
                None => return Some(start),
                Some(taken) => start = start + taken + 1,
            }
        }
        None
    }
}
