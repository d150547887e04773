// SPDX-License-Identifier: MIT OR Apache-2.0
//! Where the journal's blocks are on the device.
//!
//! An internal journal is the file of inode 8 (`EXT3_JOURNAL_INO`); JBD2
//! addresses it by file block (`jbd2_journal_bmap`). [`JournalMap`] is that
//! file's block map, read once and kept as runs of consecutive device
//! blocks (a journal made by `mke2fs` or by this library is one or a few
//! runs), so the log can be read and written without going through the
//! file system's block cache — recovery runs before the file system is
//! mounted, and the journal's blocks are never cached metadata.
//!
//! Reading the map trusts nothing: the inode must be a linked regular file
//! with a block map (no extents, no inline data); its size gives the block
//! count, which must be at least 2 and is bounded by the file system; every
//! pointer must lie inside the file system; a hole or a short tree is an
//! error (`e2fsck` says "journal too short"). Each indirect block is read
//! once, so the work is bounded by the journal's size.

use alloc::vec;
use alloc::vec::Vec;

use crate::bytes::read_u32;
use crate::device::BlockDevice;
use crate::error::{Error, Result};
use crate::inode::{Inode, InodeFlags};
use crate::superblock::Geometry;

/// A run of journal blocks stored in consecutive device blocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Run {
    /// The first journal block of the run.
    journal_block: u32,
    /// The device block holding it.
    device_block: u32,
    /// Blocks in the run.
    length: u32,
}

/// The journal's block map: journal block → device block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JournalMap {
    runs: Vec<Run>,
    block_count: u32,
    block_size: u32,
    /// The inode it was read from (for messages), 0 for none.
    inode: u32,
}

/// The error for a journal inode that cannot hold a journal.
fn bad_journal(reason: &'static str, inode: u32) -> Error {
    Error::corrupt_inode(reason, inode)
}

impl JournalMap {
    /// A journal of `block_count` blocks of `block_size` bytes stored in
    /// consecutive device blocks from `first_device_block` (for tests, and
    /// for tools that place a journal themselves).
    pub fn contiguous(first_device_block: u32, block_count: u32, block_size: u32) -> JournalMap {
        JournalMap {
            runs: vec![Run {
                journal_block: 0,
                device_block: first_device_block,
                length: block_count,
            }],
            block_count,
            block_size,
            inode: 0,
        }
    }

    /// Reads the block map of the journal inode `inode` straight from the
    /// device (see the module doc for the checks).
    ///
    /// Return values: the map; [`Error::Corrupt`] for an inode that is not
    /// a linked regular file with a block map, a size under two blocks or
    /// beyond the file system, a hole, or a pointer outside the file
    /// system; [`Error::Device`].
    pub(crate) fn from_inode<D: BlockDevice>(
        device: &mut D,
        geometry: &Geometry,
        inode: &Inode,
    ) -> Result<JournalMap> {
        let number = inode.number.get();
        if inode.links() == 0 || !inode.is_regular() {
            return Err(bad_journal(
                "the journal inode is not a regular file in use",
                number,
            ));
        }
        if inode
            .flags()
            .intersects(InodeFlags::EXTENTS | InodeFlags::INLINE_DATA)
        {
            return Err(bad_journal(
                "the journal inode does not use a block map",
                number,
            ));
        }
        let block_size = u64::from(geometry.block_size);
        let blocks = inode.size() / block_size;
        if blocks < 2 || blocks > u64::from(geometry.blocks_count) {
            return Err(bad_journal(
                "the journal inode's size is impossible",
                number,
            ));
        }
        let block_count = blocks as u32;
        let mut map = JournalMap {
            runs: Vec::new(),
            block_count: 0,
            block_size: geometry.block_size,
            inode: number,
        };
        for index in 0..12 {
            if map.block_count == block_count {
                return Ok(map);
            }
            map.push(geometry, inode.block_pointer(index))?;
        }
        let mut buffers = [
            vec![0u8; geometry.block_bytes()],
            vec![0u8; geometry.block_bytes()],
            vec![0u8; geometry.block_bytes()],
        ];
        for depth in 1..=3usize {
            if map.block_count == block_count {
                return Ok(map);
            }
            let root = inode.block_pointer(11 + depth);
            map.walk(device, geometry, root, depth, block_count, &mut buffers)?;
        }
        if map.block_count < block_count {
            return Err(bad_journal("the journal is shorter than its size", number));
        }
        Ok(map)
    }

    /// Appends the next journal block, stored in device block `block`.
    fn push(&mut self, geometry: &Geometry, block: u32) -> Result<()> {
        if block == 0 {
            return Err(bad_journal("the journal has a hole", self.inode));
        }
        if !geometry.is_valid_block(block) {
            return Err(Error::corrupt_block(
                "journal block outside the file system",
                self.inode,
                u64::from(block),
            ));
        }
        match self.runs.last_mut() {
            Some(run) if run.device_block.checked_add(run.length) == Some(block) => {
                run.length += 1;
            }
            _ => self.runs.push(Run {
                journal_block: self.block_count,
                device_block: block,
                length: 1,
            }),
        }
        self.block_count += 1;
        Ok(())
    }

    /// Appends the blocks an indirect tree of `depth` levels rooted at
    /// `block` maps, until the map holds `wanted` blocks.
    fn walk<D: BlockDevice>(
        &mut self,
        device: &mut D,
        geometry: &Geometry,
        block: u32,
        depth: usize,
        wanted: u32,
        buffers: &mut [Vec<u8>; 3],
    ) -> Result<()> {
        if block == 0 {
            return Err(bad_journal("the journal has a hole", self.inode));
        }
        if !geometry.is_valid_block(block) {
            return Err(Error::corrupt_block(
                "journal indirect block outside the file system",
                self.inode,
                u64::from(block),
            ));
        }
        let level = depth - 1;
        let buffer = buffers
            .get_mut(level)
            .ok_or(bad_journal("journal block map too deep", self.inode))?;
        device.read_at(geometry.block_offset(block), buffer)?;
        for index in 0..geometry.pointers_per_block() as usize {
            if self.block_count == wanted {
                return Ok(());
            }
            let pointer = buffers
                .get(level)
                .map_or(0, |buffer| read_u32(buffer, index * 4));
            if depth == 1 {
                self.push(geometry, pointer)?;
            } else {
                self.walk(device, geometry, pointer, depth - 1, wanted, buffers)?;
            }
        }
        Ok(())
    }

    /// Journal blocks mapped (`s_maxlen` may not exceed it).
    pub fn block_count(&self) -> u32 {
        self.block_count
    }

    /// Bytes per block.
    pub fn block_size(&self) -> u32 {
        self.block_size
    }

    /// The device block holding journal block `journal_block`.
    pub fn device_block(&self, journal_block: u32) -> Option<u32> {
        if journal_block >= self.block_count {
            return None;
        }
        let index = self
            .runs
            .partition_point(|run| run.journal_block <= journal_block);
        let run = self.runs.get(index.checked_sub(1)?)?;
        let offset = journal_block - run.journal_block;
        (offset < run.length).then(|| run.device_block + offset)
    }

    /// The byte offset on the device of journal block `journal_block`.
    ///
    /// Return values: the offset, or [`Error::Corrupt`] for a block past
    /// the journal's end (a log position no valid superblock allows).
    pub(crate) fn byte_offset(&self, journal_block: u32) -> Result<u64> {
        let device_block = self
            .device_block(journal_block)
            .ok_or(Error::corrupt_block(
                "log position past the end of the journal",
                self.inode,
                u64::from(journal_block),
            ))?;
        Ok(u64::from(device_block) * u64::from(self.block_size))
    }

    /// Whether device block `block` belongs to the journal.
    pub fn contains_device_block(&self, block: u64) -> bool {
        self.runs.iter().any(|run| {
            block >= u64::from(run.device_block)
                && block < u64::from(run.device_block) + u64::from(run.length)
        })
    }

    /// The runs of consecutive device blocks, as (first device block,
    /// length), in journal order.
    pub fn runs(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.runs.iter().map(|run| (run.device_block, run.length))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contiguous_maps_translate_and_bound() {
        let map = JournalMap::contiguous(100, 10, 1024);
        assert_eq!(map.device_block(0), Some(100));
        assert_eq!(map.device_block(9), Some(109));
        assert_eq!(map.device_block(10), None);
        assert!(map.contains_device_block(105));
        assert!(!map.contains_device_block(110));
        assert_eq!(map.byte_offset(2).unwrap(), 102 * 1024);
        assert!(map.byte_offset(10).is_err());
    }

    #[test]
    fn runs_merge_and_split() {
        let geometry_blocks = 1000u32;
        let mut map = JournalMap {
            runs: Vec::new(),
            block_count: 0,
            block_size: 1024,
            inode: 8,
        };
        let geometry = test_geometry(geometry_blocks);
        for block in [10, 11, 12, 50, 51, 20] {
            map.push(&geometry, block).unwrap();
        }
        assert_eq!(map.runs().collect::<Vec<_>>(), [(10, 3), (50, 2), (20, 1)]);
        assert_eq!(map.device_block(3), Some(50));
        assert_eq!(map.device_block(5), Some(20));
        assert!(map.push(&geometry, 0).is_err());
        assert!(map.push(&geometry, geometry_blocks).is_err());
    }

    fn test_geometry(blocks: u32) -> Geometry {
        Geometry {
            block_size: 1024,
            blocks_count: blocks,
            first_data_block: 1,
            blocks_per_group: 8192,
            inodes_per_group: 16,
            inodes_count: 16,
            inode_size: 128,
            first_inode: 11,
            group_count: 1,
            descriptor_blocks: 1,
            reserved_descriptor_blocks: 0,
            inode_table_blocks: 2,
            sparse_super: true,
            filetype: true,
            revision: 1,
        }
    }
}
