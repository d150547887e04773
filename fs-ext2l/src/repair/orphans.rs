// SPDX-License-Identifier: MIT OR Apache-2.0
//! What a damaged orphan list still names, before pass 1.
//!
//! The read-write mount the repair runs on has freed every orphan of an
//! intact list (`orphan.rs`); it stops where the list is damaged and
//! leaves the rest listed. That rest is processed as e2fsck's
//! `release_orphan_inodes` processes a list: an entry with links is
//! truncated to its size (an interrupted ext3 truncate; its deletion time
//! is cleared), one without is left to pass 1 (which frees it), and the
//! walk stops at an entry out of range, met twice, or when the volume is
//! marked with errors (then nothing on the list is trusted). Either way
//! the list is cut: `s_last_orphan` becomes 0.

use alloc::collections::BTreeSet;
use alloc::format;

use crate::check::ProblemKind;
use crate::device::BlockDevice;
use crate::error::Result;
use crate::inode::InodeNumber;
use crate::orphan::OrphanList;

use super::Repairer;

/// `s_state`'s "errors detected" bit (`EXT2_ERROR_FS`).
const STATE_ERRORS: u16 = 0x2;

impl<D: BlockDevice> Repairer<'_, D> {
    /// Processes and cuts what is left of the orphan list.
    ///
    /// Return values: `Ok(())`, or [`crate::Error::Device`].
    pub(super) fn cut_orphan_list(&mut self) -> Result<()> {
        let head = self.fs.superblock.last_orphan();
        if head == 0 {
            return Ok(());
        }
        self.fs.superblock.set_last_orphan(0);
        self.fs.superblock_dirty = true;
        self.fs.orphans = OrphanList::default();
        self.fixed(
            ProblemKind::Orphan,
            None,
            format!("the orphan list (from inode {head}) is damaged: cut it"),
        );
        if self.fs.superblock.state() & STATE_ERRORS != 0 {
            return Ok(());
        }
        let first = self.fs.geometry.first_inode;
        let count = self.fs.geometry.inodes_count;
        let mut visited = BTreeSet::new();
        let mut current = head;
        while current != 0 {
            if current < first || current > count || !visited.insert(current) {
                break;
            }
            let Ok(mut inode) = self.fs.read_inode(InodeNumber(current)) else {
                break;
            };
            let next = inode.deletion_time();
            if next != 0 && (next < first || next > count) {
                break;
            }
            if inode.links() != 0 && inode.has_block_map() {
                let block_size = u64::from(self.fs.geometry.block_size);
                let keep = inode.size().div_ceil(block_size);
                let released = self.cut_block_map(&mut inode, keep)?;
                inode.set_deletion_time(0);
                self.fs.write_inode(&inode)?;
                self.fixed(
                    ProblemKind::Orphan,
                    Some(current),
                    format!(
                        "on the orphan list with links: truncated it to its size ({} blocks freed)",
                        released.len()
                    ),
                );
            }
            current = next;
        }
        Ok(())
    }
}
