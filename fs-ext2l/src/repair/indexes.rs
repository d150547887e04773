// SPDX-License-Identifier: MIT OR Apache-2.0
//! Pass 2's last step: htree indexes e2fsck would clear lose their flag.
//!
//! While pass 2 reads directory blocks it notes, for each directory that
//! still has the index flag, where its blocks are; afterwards each index
//! is judged by `htree.rs` as e2fsck's pass 2 judges it. A bad one loses
//! the flag: every block is an ordinary directory block (an interior node
//! reads as one empty record), so the directory stays whole and is read
//! linearly, as this library reads every directory. e2fsck would rebuild
//! the index instead (its pass 3A); this module never writes an index,
//! and never touches a directory's blocks, only its flag. A directory
//! pass 2 changed has lost its flag already (`finish_directory_change`).

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::vec::Vec;

use crate::cache::BlockClass;
use crate::check::ProblemKind;
use crate::device::BlockDevice;
use crate::error::Result;
use crate::htree::{index_problem, HashSettings};
use crate::inode::{InodeFlags, InodeNumber};

use super::Repairer;

/// What pass 2 noted of indexed directories.
#[derive(Default)]
pub(super) struct IndexedDirectories {
    /// Whether each directory met so far has the index flag.
    flagged: BTreeMap<u32, bool>,
    /// The blocks (logical, device) of those that have it.
    blocks: BTreeMap<u32, Vec<(u32, u32)>>,
}

impl<D: BlockDevice> Repairer<'_, D> {
    /// Notes block `logical` (at `physical`) of `directory` if the
    /// directory has the index flag.
    ///
    /// Return values: `Ok(())`; the errors of reading the inode.
    pub(super) fn note_indexed_block(
        &mut self,
        indexed: &mut IndexedDirectories,
        directory: u32,
        logical: u32,
        physical: u32,
    ) -> Result<()> {
        let flagged = match indexed.flagged.get(&directory) {
            Some(&flagged) => flagged,
            None => {
                let inode = self.fs.read_inode(InodeNumber(directory))?;
                let flagged = inode.flags().contains(InodeFlags::INDEX);
                indexed.flagged.insert(directory, flagged);
                flagged
            }
        };
        if flagged {
            indexed
                .blocks
                .entry(directory)
                .or_default()
                .push((logical, physical));
        }
        Ok(())
    }

    /// Judges every noted index (see the module doc).
    ///
    /// Return values: `Ok(())`, or [`crate::Error::Device`].
    pub(super) fn check_indexes(&mut self, indexed: IndexedDirectories) -> Result<()> {
        let settings = HashSettings::of(&self.fs.superblock);
        let block_size = self.fs.geometry.block_size as usize;
        for (directory, mut blocks) in indexed.blocks {
            if !self.is_directory(directory) {
                continue;
            }
            let mut inode = self.fs.read_inode(InodeNumber(directory))?;
            if !inode.flags().contains(InodeFlags::INDEX) {
                continue;
            }
            blocks.sort_unstable();
            let count = blocks.last().map_or(0, |&(logical, _)| logical + 1);
            let problem = index_problem(&blocks, count, block_size, &settings, |block| {
                self.read_block(block, BlockClass::Metadata)
            })?;
            if let Some(problem) = problem {
                inode.set_flags(inode.flags() - InodeFlags::INDEX);
                self.fs.write_inode(&inode)?;
                self.fixed(
                    ProblemKind::DirectoryIndex,
                    Some(directory),
                    format!("invalid htree index ({problem}): cleared the index flag, the directory is read linearly"),
                );
            }
        }
        Ok(())
    }
}
