// SPDX-License-Identifier: MIT OR Apache-2.0
//! The resize inode (inode 7) in the repair, as e2fsck's
//! `check_resize_inode` treats it.
//!
//! On a volume with `resize_inode`, pass 1 judges inode 7 against the
//! layout of `resize_inode.rs` (`resize_inode::layout_problem`, the
//! checker's rule). A resize inode that matches keeps its double-indirect
//! block (claimed as metadata). One that does not is zeroed at once, its
//! blocks left unclaimed, and made again from the geometry after the
//! other passes (before pass 5 writes the bitmaps): a new double-indirect
//! block near group 0's inode table (where `mkfs` puts it), the reserved
//! descriptor blocks' lists of their copies rewritten, inode 7 written as
//! `mkfs` writes it — with the builder `mkfs` and `grow` use. One line
//! reports it. Without the feature, a resize inode in use is zeroed and
//! `s_reserved_gdt_blocks` set to 0 (`inodes.rs`, `layout.rs`).
//!
//! It never loses a file's data. The reserved descriptor blocks, in group
//! 0 and in every backup group, are metadata from `mark_table_blocks` on,
//! whatever inode 7 holds, so a file whose block map names one of them
//! shares it with metadata: pass 1b (`duplicates.rs`) gives the file a
//! copy of the block as it is on the disk (the file's bytes, if it wrote
//! there) before the lists are rewritten here — e2fsck's order too (pass
//! 1b clones, the resize inode is made again at the end). The old
//! double-indirect block of a damaged resize inode is not claimed, so a
//! file naming it simply keeps it, and the new one is taken from blocks
//! nothing claims.
//!
//! It never writes a reserved block before pass 1b has copied what a
//! file shares, and never makes a resize inode on a volume without the
//! feature.

use alloc::format;
use alloc::string::String;

use crate::cache::BlockClass;
use crate::check::ProblemKind;
use crate::device::BlockDevice;
use crate::error::{Error, Result};
use crate::inode::{Inode, InodeNumber};
use crate::resize_inode;

use super::Repairer;

impl<D: BlockDevice> Repairer<'_, D> {
    /// Pass 1 on inode 7 of a volume with `resize_inode` (see the module
    /// doc).
    ///
    /// Return values: `Ok(())`, or [`Error::Device`].
    pub(super) fn check_resize_inode(&mut self, inode: &Inode) -> Result<()> {
        let geometry = self.fs.geometry.clone();
        let mut problem = resize_inode::layout_problem(&geometry, inode, |block| {
            self.read_block(block, BlockClass::Metadata)
        })?;
        let double_indirect = inode.block_pointer(resize_inode::DOUBLE_INDIRECT_SLOT);
        if problem.is_none() && double_indirect != 0 && self.claimed.get(double_indirect) {
            problem = Some(format!(
                "its double-indirect block {double_indirect} is also file system metadata"
            ));
        }
        match problem {
            None => {
                if double_indirect != 0 {
                    self.claim(double_indirect);
                    self.metadata.set(double_indirect);
                }
            }
            Some(problem) => {
                let zeroed = Inode::from_bytes(InodeNumber::RESIZE, &[]);
                self.fs.write_inode(&zeroed)?;
                // A restarted pass 1 finds it zeroed: keep the first reason.
                if self.resize_inode_to_create.is_none() {
                    self.resize_inode_to_create = Some(problem);
                }
            }
        }
        Ok(())
    }

    /// Makes the resize inode cleared by pass 1 again from the geometry
    /// (see the module doc).
    ///
    /// Return values: `Ok(())` (no free block for the double-indirect
    /// block is reported, not returned), or [`Error::Device`].
    pub(super) fn create_resize_inode(&mut self) -> Result<()> {
        let Some(problem) = self.resize_inode_to_create.take() else {
            return Ok(());
        };
        let geometry = self.fs.geometry.clone();
        let goal = self
            .fs
            .groups
            .inode_table(0)
            .saturating_add(geometry.inode_table_blocks);
        let double_indirect = match self.allocate_block(goal) {
            Ok(block) => block,
            Err(Error::NoSpace) => {
                self.fixed(
                    ProblemKind::Inode,
                    Some(InodeNumber::RESIZE.get()),
                    format!("resize inode: {problem}: cleared it; no free block to make it again"),
                );
                return Ok(());
            }
            Err(error) => return Err(error),
        };
        self.metadata.set(double_indirect);
        let table = resize_inode::double_indirect_contents(&geometry);
        self.write_block(double_indirect, &table, BlockClass::Metadata)?;
        for index in 0..geometry.reserved_descriptor_blocks {
            let block = resize_inode::reserved_block(&geometry, index);
            let list = resize_inode::reserved_block_contents(&geometry, index);
            self.write_block(block, &list, BlockClass::Metadata)?;
        }
        let inode = resize_inode::new_inode(&geometry, double_indirect, self.now);
        self.fs.write_inode(&inode)?;
        self.fixed(
            ProblemKind::Inode,
            Some(InodeNumber::RESIZE.get()),
            String::from("resize inode: ") + &problem + ": made it again from the layout",
        );
        Ok(())
    }
}
