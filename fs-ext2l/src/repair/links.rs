// SPDX-License-Identifier: MIT OR Apache-2.0
//! Rootlinks, and pass 4: link counts.
//!
//! On an ext2l volume a regular file's rootlink counts as one link of the
//! directory it names (DESIGN §4); after pass 1 each rootlink is checked:
//! one naming anything but a directory in use is cleared, a valid one is
//! counted. (On other volumes pass 1 cleared `i_faddr` already.)
//!
//! Pass 4 then visits every inode in use, as e2fsck's pass 4: one that no
//! entry or rootlink names is cleared when it is an empty regular file or
//! directory with no blocks (and no attributes in its body), reconnected
//! to `/lost+found` otherwise; then its link count is set to the
//! references counted — entries naming it, its own `.`, its
//! subdirectories' `..`, rootlinks to it. A directory with more
//! references than a link count holds gets the count 1 and the volume
//! `dir_nlink`, as e2fsck does.

use alloc::format;

use crate::check::ProblemKind;
use crate::device::BlockDevice;
use crate::error::Result;
use crate::inode::{FileType, InodeNumber};

use super::{Repairer, HAS_INODE_ATTRIBUTES, IN_BAD_BLOCK};

/// The highest link count e2fsck keeps (`EXT2_LINK_MAX`); past it a
/// directory counts 1 (`dir_nlink`).
const LINK_MAX: u32 = 65_000;

impl<D: BlockDevice> Repairer<'_, D> {
    /// Checks and counts every rootlink (ext2l volumes).
    ///
    /// Return values: `Ok(())`, or [`crate::Error::Device`].
    pub(super) fn check_rootlinks(&mut self) -> Result<()> {
        if !self.ext2l {
            return Ok(());
        }
        for file in 1..self.inodes.len() as u32 {
            let record = self.record(file);
            if record.file_type != Some(FileType::RegularFile) || record.rootlink == 0 {
                continue;
            }
            let target = record.rootlink;
            if self.is_directory(target) {
                self.count_reference(target, 1);
                continue;
            }
            let mut inode = self.fs.read_inode(InodeNumber(file))?;
            inode.set_rootlink_raw(0);
            self.fs.write_inode(&inode)?;
            if let Some(record) = self.record_mut(file) {
                record.rootlink = 0;
            }
            self.fixed(
                ProblemKind::Rootlink,
                Some(file),
                format!(
                    "rootlink named inode {target}, which is not a directory in use: cleared it"
                ),
            );
        }
        Ok(())
    }

    /// Pass 4 (see the module doc).
    ///
    /// Return values: `Ok(())`, or [`crate::Error::Device`].
    pub(super) fn check_link_counts(&mut self) -> Result<()> {
        let first_inode = self.fs.geometry.first_inode;
        let root = InodeNumber::ROOT.get();
        let count = self.fs.geometry.inodes_count;
        let numbers = core::iter::once(root).chain(first_inode..=count);
        for number in numbers {
            let record = self.record(number);
            let Some(file_type) = record.file_type else {
                continue;
            };
            if record.flags & IN_BAD_BLOCK != 0 {
                continue;
            }
            if record.counted == 0 {
                let mut inode = self.fs.read_inode(InodeNumber(number))?;
                let empty = inode.sectors() == 0
                    && record.flags & HAS_INODE_ATTRIBUTES == 0
                    && matches!(file_type, FileType::RegularFile | FileType::Directory);
                if empty {
                    self.clear_inode(
                        &mut inode,
                        ProblemKind::Unreachable,
                        "empty and named by nothing",
                    )?;
                    continue;
                }
                if !self.reconnect(number)? {
                    continue;
                }
            }
            let record = self.record(number);
            let mut counted = record.counted;
            if file_type == FileType::Directory && counted > LINK_MAX {
                self.fs.mark_dir_nlink();
                counted = 1;
            }
            let counted = u16::try_from(counted).unwrap_or(u16::MAX);
            if counted != record.links {
                let mut inode = self.fs.read_inode(InodeNumber(number))?;
                let was = inode.links();
                inode.set_links(counted);
                self.fs.write_inode(&inode)?;
                if let Some(record) = self.record_mut(number) {
                    record.links = counted;
                }
                self.fixed(
                    ProblemKind::LinkCount,
                    Some(number),
                    format!("link count was {was}: set it to {counted}"),
                );
            }
        }
        Ok(())
    }
}
