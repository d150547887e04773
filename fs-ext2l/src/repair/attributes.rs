// SPDX-License-Identifier: MIT OR Apache-2.0
//! Extended attribute blocks: e2fsck's checks of `i_file_acl`.
//!
//! An inode's `i_file_acl` must be 0 on a volume without `ext_attr`, and
//! inside the file system otherwise. The block it names is checked the
//! first time an inode names it, as e2fsck's `check_ext_attr` does
//! ([`attribute_block_problem`]). A block failing is dropped from the
//! inode (pass 5 frees it). Each further inode naming a good block adds a
//! reference; after pass 1, `h_refcount` is set to the references found.
//! The judgement of a block is `attribute_block.rs`'s, shared with the
//! checker.

use alloc::format;
use alloc::vec::Vec;

use crate::attribute_block::attribute_block_problem;
use crate::bytes::{read_u32, write_u32};
use crate::cache::BlockClass;
use crate::check::ProblemKind;
use crate::device::BlockDevice;
use crate::error::Result;
use crate::features::CompatibleFeatures;
use crate::inode::Inode;

use super::Repairer;

impl<D: BlockDevice> Repairer<'_, D> {
    /// Pass 1's look at an inode's attribute block. Returns whether the
    /// block stays (it counts in `i_blocks`) and whether the inode
    /// changed.
    ///
    /// Return values: `(kept, changed)`, or [`crate::Error::Device`].
    pub(super) fn check_attribute_block(&mut self, inode: &mut Inode) -> Result<(bool, bool)> {
        let block = inode.file_acl();
        if block == 0 {
            return Ok((false, false));
        }
        let number = inode.number.get();
        let has_feature =
            self.fs.superblock.features().compatible & CompatibleFeatures::EXT_ATTR.bits() != 0;
        let problem = if !has_feature {
            Some("on a volume without ext_attr")
        } else if !self.fs.geometry.is_valid_block(block) {
            Some("outside the file system")
        } else if let Some(count) = self.attribute_blocks.get_mut(&block) {
            *count += 1;
            return Ok((true, false));
        } else if self.claimed.get(block) {
            Some("also used as data or metadata")
        } else {
            let data = self.read_block(block, BlockClass::Metadata)?;
            attribute_block_problem(&data)
        };
        if let Some(problem) = problem {
            inode.set_file_acl(0);
            self.fixed(
                ProblemKind::Inode,
                Some(number),
                format!("extended attribute block {block} {problem}: dropped it"),
            );
            return Ok((false, true));
        }
        self.claim(block);
        self.attribute_blocks.insert(block, 1);
        Ok((true, false))
    }

    /// Takes back an inode's reference to its attribute block (the inode
    /// is being cleared).
    pub(super) fn drop_attribute_reference(&mut self, inode: &Inode, kept: bool) {
        if !kept {
            return;
        }
        let block = inode.file_acl();
        if let Some(count) = self.attribute_blocks.get_mut(&block) {
            *count -= 1;
            if *count == 0 {
                self.attribute_blocks.remove(&block);
                self.unclaim(block);
            }
        }
    }

    /// Sets each attribute block's reference count to the inodes found
    /// naming it.
    ///
    /// Return values: `Ok(())`, or [`crate::Error::Device`].
    pub(super) fn adjust_attribute_counts(&mut self) -> Result<()> {
        let blocks: Vec<(u32, u32)> = self
            .attribute_blocks
            .iter()
            .map(|(&block, &count)| (block, count))
            .collect();
        for (block, count) in blocks {
            let mut data = self.read_block(block, BlockClass::Metadata)?;
            let recorded = read_u32(&data, 4);
            if recorded != count {
                write_u32(&mut data, 4, count);
                self.write_block(block, &data, BlockClass::Metadata)?;
                self.fixed(
                    ProblemKind::Inode,
                    None,
                    format!("extended attribute block {block} had reference count {recorded}: set it to {count}"),
                );
            }
        }
        Ok(())
    }
}
