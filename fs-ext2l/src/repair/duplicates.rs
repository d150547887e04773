// SPDX-License-Identifier: MIT OR Apache-2.0
//! Pass 1b: blocks claimed more than once, cloned as e2fsck clones them.
//!
//! Pass 1 counts every claim of a block after the first. When there are
//! any, this pass walks every block map again to learn who claims each
//! shared block (e2fsck's pass 1b and 1c), then visits the claimers in
//! inode order (pass 1d): an inode all of whose shared blocks are now its
//! alone (the others took copies) keeps them; any other inode gets a copy
//! of each block it shares — a fresh block, lowest first, with the same
//! bytes — so the last claimer of a block keeps the original. The
//! bad-block list and the resize inode never give a block up, and neither
//! does fixed metadata (superblock and descriptor copies, bitmaps, inode
//! tables) or an extended attribute block: a file sharing one of those
//! always gets a copy. An inode that shares a block with itself gets a
//! copy for every use but the last.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::bytes::{read_u32, write_u32};
use crate::cache::BlockClass;
use crate::check::ProblemKind;
use crate::device::BlockDevice;
use crate::error::Result;
use crate::inode::{Inode, InodeNumber};
use crate::journal::JOURNAL_INODE;

use super::Repairer;

/// The resize inode, whose blocks are the reserved descriptor blocks.
const RESIZE_INODE: u32 = 7;

impl<D: BlockDevice> Repairer<'_, D> {
    /// Resolves every shared block (see the module doc).
    ///
    /// Return values: `Ok(())`; [`crate::Error::NoSpace`] when there is no
    /// free block left for a copy; [`crate::Error::Device`].
    pub(super) fn resolve_duplicates(&mut self) -> Result<()> {
        if self.duplicates.is_empty() {
            return Ok(());
        }
        let claims = self.collect_shared_claims()?;
        let mut by_inode: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
        let mut by_block: BTreeMap<u32, BTreeSet<u32>> = BTreeMap::new();
        for &(block, inode) in &claims {
            by_inode.entry(inode).or_default().push(block);
            by_block.entry(block).or_default().insert(inode);
        }
        for (inode, blocks) in by_inode {
            if inode == 1 || inode == RESIZE_INODE {
                continue;
            }
            let mut shared_with: BTreeSet<u32> = BTreeSet::new();
            let mut metadata = false;
            let mut still_shared = false;
            for &block in &blocks {
                if self.metadata.get(block) {
                    metadata = true;
                    still_shared = true;
                }
                if self.duplicates.contains_key(&block) {
                    still_shared = true;
                }
                if let Some(others) = by_block.get(&block) {
                    shared_with.extend(others.iter().copied().filter(|&other| other != inode));
                }
            }
            if !still_shared {
                continue;
            }
            let copies = self.clone_shared_blocks(inode)?;
            let mut with: Vec<String> = shared_with
                .iter()
                .map(|other| format!("inode {other}"))
                .collect();
            if metadata {
                with.push(String::from("file system metadata"));
            }
            if with.is_empty() {
                with.push(String::from("itself"));
            }
            self.fixed(
                ProblemKind::SharedBlock,
                Some(inode),
                format!(
                    "{} blocks shared with {}: gave it {copies} copies of its own",
                    blocks.len(),
                    with.join(", ")
                ),
            );
        }
        Ok(())
    }

    /// (block, inode) for every use of a shared block by an inode's block
    /// map or the bad-block list, sorted.
    fn collect_shared_claims(&mut self) -> Result<Vec<(u32, u32)>> {
        let mut claims = Vec::new();
        // Bounded: a hostile volume may share a block very many times.
        let limit = (self.fs.geometry.blocks_count as usize)
            .saturating_mul(4)
            .max(1024);
        let mut budget = u64::from(self.fs.geometry.blocks_count).saturating_mul(2);
        for number in 1..=self.fs.geometry.inodes_count {
            let walks = number == 1
                || number == JOURNAL_INODE
                || (self.in_use(number) && number != RESIZE_INODE);
            if !walks {
                continue;
            }
            let inode = self.fs.read_inode(InodeNumber(number))?;
            if number != 1 && !inode.has_block_map() {
                continue;
            }
            if number == JOURNAL_INODE && inode.links() == 0 {
                continue;
            }
            let mut visited = BTreeSet::new();
            for index in 0..15usize {
                let block = inode.block_pointer(index);
                if block == 0 || !self.fs.geometry.is_valid_block(block) {
                    continue;
                }
                self.note_shared(&mut claims, block, number);
                if index >= 12 {
                    self.collect_in_indirect(
                        &mut claims,
                        number,
                        block,
                        index as u32 - 11,
                        &mut visited,
                        &mut budget,
                    )?;
                }
                if claims.len() > limit {
                    break;
                }
            }
        }
        claims.sort_unstable();
        Ok(claims)
    }

    fn note_shared(&self, claims: &mut Vec<(u32, u32)>, block: u32, inode: u32) {
        if self.duplicates.contains_key(&block)
            || (self.metadata.get(block) && inode != RESIZE_INODE)
        {
            claims.push((block, inode));
        }
    }

    fn collect_in_indirect(
        &mut self,
        claims: &mut Vec<(u32, u32)>,
        inode: u32,
        block: u32,
        depth: u32,
        visited: &mut BTreeSet<u32>,
        budget: &mut u64,
    ) -> Result<()> {
        if !visited.insert(block) || *budget == 0 {
            return Ok(());
        }
        *budget -= 1;
        let data = self.read_block(block, BlockClass::Metadata)?;
        for index in 0..self.fs.geometry.pointers_per_block() as usize {
            let child = read_u32(&data, index * 4);
            if child == 0 || !self.fs.geometry.is_valid_block(child) {
                continue;
            }
            self.note_shared(claims, child, inode);
            if depth > 1 {
                self.collect_in_indirect(claims, inode, child, depth - 1, visited, budget)?;
            }
        }
        Ok(())
    }

    /// Whether a use of `block` must take a copy.
    fn must_copy(&self, block: u32) -> bool {
        self.fs.geometry.is_valid_block(block)
            && (self.metadata.get(block) || self.duplicates.contains_key(&block))
    }

    /// A fresh copy of `block`; one claim of the original is given up.
    fn copy_block(&mut self, block: u32, class: BlockClass) -> Result<u32> {
        let copy = self.allocate_block(0)?;
        let data = self.read_block(block, class)?;
        self.write_block(copy, &data, class)?;
        if !self.metadata.get(block) {
            self.unclaim(block);
        }
        Ok(copy)
    }

    /// Gives `number` a copy of each block it shares; returns how many.
    fn clone_shared_blocks(&mut self, number: u32) -> Result<u32> {
        let mut inode: Inode = self.fs.read_inode(InodeNumber(number))?;
        let data_class = if inode.is_regular() {
            BlockClass::Data
        } else {
            BlockClass::Metadata
        };
        let mut copies = 0;
        let mut visited = BTreeSet::new();
        let mut budget = u64::from(self.fs.geometry.blocks_count);
        for index in 0..15usize {
            let mut block = inode.block_pointer(index);
            if block == 0 || !self.fs.geometry.is_valid_block(block) {
                continue;
            }
            if self.must_copy(block) {
                let class = if index < 12 {
                    data_class
                } else {
                    BlockClass::Metadata
                };
                block = self.copy_block(block, class)?;
                inode.set_block_pointer(index, block);
                copies += 1;
            }
            if index >= 12 {
                copies += self.clone_in_indirect(
                    block,
                    index as u32 - 11,
                    data_class,
                    &mut visited,
                    &mut budget,
                )?;
            }
        }
        self.fs.write_inode(&inode)?;
        Ok(copies)
    }

    fn clone_in_indirect(
        &mut self,
        block: u32,
        depth: u32,
        data_class: BlockClass,
        visited: &mut BTreeSet<u32>,
        budget: &mut u64,
    ) -> Result<u32> {
        if !visited.insert(block) || *budget == 0 {
            return Ok(0);
        }
        *budget -= 1;
        let mut data = self.read_block(block, BlockClass::Metadata)?;
        let mut copies = 0;
        let mut changed = false;
        for index in 0..self.fs.geometry.pointers_per_block() as usize {
            let mut child = read_u32(&data, index * 4);
            if child == 0 || !self.fs.geometry.is_valid_block(child) {
                continue;
            }
            if self.must_copy(child) {
                let class = if depth == 1 {
                    data_class
                } else {
                    BlockClass::Metadata
                };
                child = self.copy_block(child, class)?;
                write_u32(&mut data, index * 4, child);
                changed = true;
                copies += 1;
            }
            if depth > 1 {
                copies += self.clone_in_indirect(child, depth - 1, data_class, visited, budget)?;
            }
        }
        if changed {
            self.write_block(block, &data, BlockClass::Metadata)?;
        }
        Ok(copies)
    }
}
