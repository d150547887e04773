// SPDX-License-Identifier: MIT OR Apache-2.0
//! Adding a journal to a volume (`mkfs`, `ext2l tune --journal`).
//!
//! [`FileSystem::add_journal`] does what e2fsprogs' `ext2fs_add_journal_inode`
//! does for an internal journal: it allocates the journal's blocks — one
//! contiguous run when the volume has one, searched from the middle of the
//! volume as `mke2fs` places it, block by block from there otherwise —
//! builds inode 8 (a regular file, mode 0600, one link, its block map with
//! the indirect blocks placed before the data so the log itself is
//! contiguous), writes the journal superblock ([`JournalSuperblock::new`])
//! and zeros the rest of the log, and records the journal in the
//! superblock and its backups: `has_journal`, `s_journal_inum` = 8, a zero
//! `s_journal_uuid` and `s_journal_dev`, and the backup of the inode's
//! block map in `s_jnl_blocks` (`s_jnl_backup_type` 1), which e2fsck uses
//! when inode 8 is damaged.
//!
//! [`default_journal_blocks`] is `mke2fs`'s default size.

use alloc::vec;
use alloc::vec::Vec;

use crate::bytes::write_u32;
use crate::device::BlockDevice;
use crate::error::{Error, Result};
use crate::features::CompatibleFeatures;
use crate::filesystem::FileSystem;
use crate::inode::{mode, Inode, InodeNumber};

use super::superblock::{JournalSuperblock, MAX_JOURNAL_BLOCKS, MIN_JOURNAL_BLOCKS};
use super::JOURNAL_INODE;

/// `mke2fs`'s default journal size in blocks for a volume of
/// `volume_blocks` blocks (`ext2fs_default_journal_size`): 1024 below
/// 32768 blocks (4 MiB at 4 KiB blocks, 1 MiB at 1 KiB), 4096 below
/// 256 Ki blocks, 8192 below 512 Ki, 16384 below 4 Mi, 32768 below 8 Mi,
/// 65536 below 16 Mi, 131072 below 32 Mi, else 262144; `None` below 2048
/// blocks, where `mke2fs` makes no journal.
pub fn default_journal_blocks(volume_blocks: u32) -> Option<u32> {
    let blocks = match volume_blocks {
        0..2048 => return None,
        2048..32768 => 1024,
        32768..262_144 => 4096,
        262_144..524_288 => 8192,
        524_288..4_194_304 => 16384,
        4_194_304..8_388_608 => 32768,
        8_388_608..16_777_216 => 65536,
        16_777_216..33_554_432 => 131_072,
        _ => 262_144,
    };
    Some(blocks)
}

/// Indirect blocks a block map of `data_blocks` blocks needs, with
/// `pointers` pointers per indirect block: after the 12 direct pointers, a
/// tree of depth `d` mapping `m` blocks takes its root plus
/// `ceil(m / pointers^k)` blocks at each level `k` below it.
fn indirect_blocks(data_blocks: u64, pointers: u64) -> u64 {
    let mut remaining = data_blocks.saturating_sub(12);
    let mut count = 0;
    let mut span = pointers;
    for depth in 1..=3u32 {
        if remaining == 0 {
            break;
        }
        let mapped = remaining.min(span);
        count += 1;
        let mut per_block = 1u64;
        for _ in 1..depth {
            per_block = per_block.saturating_mul(pointers);
            count += mapped.div_ceil(per_block);
        }
        remaining -= mapped;
        span = span.saturating_mul(pointers);
    }
    count
}

/// Fills one indirect block of `depth` levels from the iterators, data
/// blocks for its leaves; returns its number.
fn build_indirect(
    depth: u32,
    pointers: usize,
    block_size: usize,
    remaining: &mut u64,
    data: &mut impl Iterator<Item = u32>,
    indirect: &mut impl Iterator<Item = u32>,
    written: &mut Vec<(u32, Vec<u8>)>,
) -> Result<u32> {
    let block = indirect.next().ok_or(Error::InvalidArgument)?;
    let mut contents = vec![0u8; block_size];
    for index in 0..pointers {
        if *remaining == 0 {
            break;
        }
        let child = if depth == 1 {
            *remaining -= 1;
            data.next().ok_or(Error::InvalidArgument)?
        } else {
            build_indirect(
                depth - 1,
                pointers,
                block_size,
                remaining,
                data,
                indirect,
                written,
            )?
        };
        write_u32(&mut contents, index * 4, child);
    }
    written.push((block, contents));
    Ok(block)
}

impl<D: BlockDevice> FileSystem<D> {
    /// Adds an internal journal of `journal_blocks` blocks (see the module
    /// doc), then syncs.
    ///
    /// Return values:
    /// - `Ok(())`;
    /// - [`Error::Exists`] when the volume has a journal, or inode 8 is in
    ///   use;
    /// - [`Error::InvalidArgument`] for a size below 1024 blocks, above
    ///   half the volume or above 10 240 000 blocks;
    /// - [`Error::NoSpace`] when the free blocks do not hold it;
    /// - [`Error::NotFound`] for a volume of fewer than 8 inodes;
    /// - [`Error::ReadOnly`], [`Error::Corrupt`], [`Error::Device`].
    pub fn add_journal(&mut self, journal_blocks: u32) -> Result<()> {
        self.add_journal_with(journal_blocks, true)
    }

    /// [`Self::add_journal`], zeroing the log only when `zero_log` (a new
    /// volume on a device known to read as zeros need not).
    pub(crate) fn add_journal_with(&mut self, journal_blocks: u32, zero_log: bool) -> Result<()> {
        self.prepare_change()?;
        let features = self.superblock.features();
        if features.compatible & CompatibleFeatures::HAS_JOURNAL.bits() != 0
            || self.superblock.journal_inode() != 0
        {
            return Err(Error::Exists);
        }
        let existing = self.read_inode(InodeNumber(JOURNAL_INODE))?;
        if existing.links() != 0 || existing.mode() != 0 {
            return Err(Error::Exists);
        }
        let limit = (self.geometry.blocks_count / 2).min(MAX_JOURNAL_BLOCKS);
        if journal_blocks < MIN_JOURNAL_BLOCKS || journal_blocks > limit {
            return Err(Error::InvalidArgument);
        }
        let pointers = u64::from(self.geometry.pointers_per_block());
        let indirect_count = indirect_blocks(u64::from(journal_blocks), pointers);
        let total = u64::from(journal_blocks) + indirect_count;
        if total > u64::from(self.superblock.free_blocks_count()) {
            return Err(Error::NoSpace);
        }
        let total = total as u32;
        let blocks = self.allocate_journal_blocks(total)?;
        let (indirect, data) = blocks.split_at(indirect_count as usize);
        let journal_superblock = JournalSuperblock::new(
            self.geometry.block_size,
            journal_blocks,
            self.superblock.uuid(),
        )?;

        // The block map: direct pointers, then the indirect trees.
        let mut inode = Inode::zeroed(InodeNumber(JOURNAL_INODE));
        let mut data_iter = data.iter().copied();
        let mut indirect_iter = indirect.iter().copied();
        let mut written = Vec::new();
        let mut remaining = u64::from(journal_blocks);
        for index in 0..12 {
            if remaining == 0 {
                break;
            }
            remaining -= 1;
            inode.set_block_pointer(index, data_iter.next().ok_or(Error::InvalidArgument)?);
        }
        for depth in 1..=3u32 {
            if remaining == 0 {
                break;
            }
            let root = build_indirect(
                depth,
                pointers as usize,
                self.geometry.block_bytes(),
                &mut remaining,
                &mut data_iter,
                &mut indirect_iter,
                &mut written,
            )?;
            inode.set_block_pointer(11 + depth as usize, root);
        }

        // The log: superblock, zeros; then the indirect blocks. The blocks
        // were just allocated, so no cached copy of them exists.
        let first = data.first().copied().ok_or(Error::InvalidArgument)?;
        self.device.write_at(
            self.geometry.block_offset(first),
            &journal_superblock.to_block(),
        )?;
        if zero_log {
            self.zero_blocks(data.get(1..).unwrap_or(&[]))?;
        }
        for (block, contents) in &written {
            self.device
                .write_at(self.geometry.block_offset(*block), contents)?;
        }

        let now = self.now();
        let size = u64::from(journal_blocks) * u64::from(self.geometry.block_size);
        inode.set_mode(mode::REGULAR | 0o600);
        inode.set_links(1);
        inode.set_size(size);
        inode.set_sectors(total * (self.geometry.block_size / 512));
        inode.set_access_time(now);
        inode.set_change_time(now);
        inode.set_modification_time(now);
        if self.geometry.inode_size > 128 {
            inode.set_extra_size(32);
            inode.set_creation_time(now);
        }
        self.clear_inode_slot(inode.number)?;
        self.write_inode(&inode)?;

        let mut backup = [0u32; 17];
        for (index, word) in backup.iter_mut().take(15).enumerate() {
            *word = inode.block_pointer(index);
        }
        backup[15] = (size >> 32) as u32;
        backup[16] = size as u32;
        self.superblock
            .set_compatible(CompatibleFeatures::HAS_JOURNAL, true);
        self.superblock.set_internal_journal(JOURNAL_INODE, backup);
        self.superblock_dirty = true;
        let features = self.superblock.features();
        self.edit_backup_superblocks(|copy| {
            copy.set_features(features);
            copy.set_internal_journal(JOURNAL_INODE, backup);
        })?;
        self.sync()
    }

    /// Allocates `total` blocks for a journal: one contiguous run when one
    /// is free (searched from the middle of the volume), else the first
    /// free blocks from there. On failure, frees what it took.
    fn allocate_journal_blocks(&mut self, total: u32) -> Result<Vec<u32>> {
        let middle = self.geometry.first_data_block
            + (self.geometry.blocks_count - self.geometry.first_data_block) / 2;
        let middle_group = self.geometry.group_of_block(middle);
        let goal = self.geometry.group_first_block(middle_group);
        let run = self.find_free_run(total, goal)?;
        let mut blocks = Vec::with_capacity(total as usize);
        let mut next_goal = run.unwrap_or(goal);
        for _ in 0..total {
            match self.allocate_block(next_goal) {
                Ok(block) => {
                    blocks.push(block);
                    next_goal = block.saturating_add(1);
                }
                Err(error) => {
                    for block in blocks {
                        let _ = self.free_block(block, InodeNumber(JOURNAL_INODE));
                    }
                    return Err(error);
                }
            }
        }
        Ok(blocks)
    }

    /// The first block of a run of `length` free data blocks, searching
    /// from `start` around the volume.
    fn find_free_run(&mut self, length: u32, start: u32) -> Result<Option<u32>> {
        let first = self.geometry.first_data_block;
        let count = self.geometry.blocks_count - first;
        let mut run_start = 0u32;
        let mut run_length = 0u32;
        for step in 0..count {
            let block = first + (start - first + step) % count;
            if block == first {
                // Runs do not wrap around the end of the volume.
                run_length = 0;
            }
            let free = !self.is_metadata_block(block) && !self.block_in_use(block)?;
            if !free {
                run_length = 0;
                continue;
            }
            if run_length == 0 {
                run_start = block;
            }
            run_length += 1;
            if run_length == length {
                return Ok(Some(run_start));
            }
        }
        Ok(None)
    }

    /// Writes zeros over `blocks`, a run at a time.
    fn zero_blocks(&mut self, blocks: &[u32]) -> Result<()> {
        const CHUNK_BLOCKS: usize = 64;
        let zeros = vec![0u8; CHUNK_BLOCKS * self.geometry.block_bytes()];
        let mut index = 0;
        while let Some(&first) = blocks.get(index) {
            let mut length = 1;
            while length < CHUNK_BLOCKS
                && blocks.get(index + length).copied() == first.checked_add(length as u32)
            {
                length += 1;
            }
            let bytes = zeros
                .get(..length * self.geometry.block_bytes())
                .unwrap_or(&[]);
            self.device
                .write_at(self.geometry.block_offset(first), bytes)?;
            index += length;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts indirect blocks the slow way: by building the tree.
    fn built_indirect(data_blocks: u64, pointers: usize) -> u64 {
        let mut data = 0u32..;
        let mut indirect = 1_000_000u32..;
        let mut written = Vec::new();
        let mut remaining = data_blocks.saturating_sub(12);
        for depth in 1..=3 {
            if remaining == 0 {
                break;
            }
            build_indirect(
                depth,
                pointers,
                4,
                &mut remaining,
                &mut data,
                &mut indirect,
                &mut written,
            )
            .unwrap();
        }
        written.len() as u64
    }

    #[test]
    fn indirect_block_counts_match_the_tree() {
        for pointers in [4u64, 256] {
            for data_blocks in [
                0u64,
                12,
                13,
                12 + pointers,
                13 + pointers,
                12 + pointers + pointers * pointers,
                13 + pointers + pointers * pointers,
                1024,
                4096,
                70_000,
            ] {
                if pointers == 4 && data_blocks > 200 {
                    continue;
                }
                assert_eq!(
                    indirect_blocks(data_blocks, pointers),
                    built_indirect(data_blocks, pointers as usize),
                    "{data_blocks} blocks, {pointers} pointers"
                );
            }
        }
    }

    #[test]
    fn default_sizes_follow_mke2fs() {
        assert_eq!(default_journal_blocks(2047), None);
        assert_eq!(default_journal_blocks(2048), Some(1024));
        assert_eq!(default_journal_blocks(32767), Some(1024));
        assert_eq!(default_journal_blocks(32768), Some(4096));
        assert_eq!(default_journal_blocks(u32::MAX), Some(262_144));
    }
}
