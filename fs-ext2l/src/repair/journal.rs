// SPDX-License-Identifier: MIT OR Apache-2.0
//! The journal's repairs, before pass 1 and after pass 5.
//!
//! What e2fsck's `e2fsck_check_ext3_journal` and `e2fsck_move_ext3_journal`
//! do, for an internal journal (an external one is left alone):
//!
//! - without `has_journal`, `s_journal_inum` is cleared and pass 1 clears
//!   an inode 8 that holds data;
//! - a journal in an ordinary inode (old ext3 made a visible
//!   `/.journal`) moves to inode 8 when that is free; pass 2 then removes
//!   the old name;
//! - a journal that cannot be used — its inode or superblock unreadable,
//!   fewer than 1024 blocks, no journal inode at all — is cleared: no
//!   `has_journal`, no `needs_recovery`, no inode, no backup; after pass 5
//!   a new journal of `mke2fs`'s default size is made
//!   (`journal::default_journal_blocks`);
//! - a log holding transactions while `needs_recovery` is clear is
//!   emptied, as Linux discards it (`jbd2_journal_wipe`);
//! - a stale backup of the journal's block map (`s_jnl_blocks`) is
//!   rewritten.

use alloc::format;
use alloc::string::String;

use crate::check::ProblemKind;
use crate::device::BlockDevice;
use crate::error::{Error, Result};
use crate::features::{CompatibleFeatures, IncompatibleFeatures};
use crate::inode::{FileType, Inode, InodeNumber};
use crate::journal::{default_journal_blocks, JournalMap, JOURNAL_INODE, MIN_JOURNAL_BLOCKS};
use crate::superblock::field;

use super::inodes::BlockWalk;
use super::Repairer;

impl<D: BlockDevice> Repairer<'_, D> {
    /// The journal, before pass 1 (see the module doc).
    ///
    /// Return values: `Ok(())`, or [`Error::Device`].
    pub(super) fn check_journal(&mut self) -> Result<()> {
        let superblock = &self.fs.superblock;
        let has_journal =
            superblock.features().compatible & CompatibleFeatures::HAS_JOURNAL.bits() != 0;
        let number = superblock.journal_inode();
        if !has_journal {
            if number != 0 {
                self.fs.superblock.set_u32(field::JOURNAL_INODE, 0);
                self.fs.superblock_dirty = true;
                self.fixed(
                    ProblemKind::Journal,
                    None,
                    format!("has_journal is clear but s_journal_inum is {number}: cleared it"),
                );
            }
            return Ok(());
        }
        if superblock.journal_uuid() != [0; 16] || superblock.journal_device() != 0 {
            return Ok(());
        }
        if number == 0
            || number > self.fs.geometry.inodes_count
            || number == InodeNumber::ROOT.get()
        {
            return self.clear_journal(&format!("s_journal_inum is {number}"));
        }
        if number != JOURNAL_INODE {
            self.move_journal(number)?;
        }
        let status = match self.fs.journal_status() {
            Ok(Some(status)) => status,
            Ok(None) => return Ok(()),
            Err(Error::Device(error)) => return Err(Error::Device(error)),
            Err(error) => return self.clear_journal(&format!("{error}")),
        };
        if status.inode_blocks < MIN_JOURNAL_BLOCKS {
            return self.clear_journal(&format!(
                "it has {} blocks, fewer than {MIN_JOURNAL_BLOCKS}",
                status.inode_blocks
            ));
        }
        let number = self.fs.superblock.journal_inode();
        let inode = self.fs.read_inode(InodeNumber(number))?;
        if status.has_unflagged_data() {
            let map = JournalMap::from_inode(&mut self.fs.device, &self.fs.geometry, &inode)?;
            if let Some(block) = map.device_block(0) {
                let emptied = status
                    .superblock
                    .with_log(0, status.superblock.first_sequence());
                self.fs.cache.forget(block);
                let offset = self.fs.geometry.block_offset(block);
                self.fs.device.write_at(offset, &emptied.to_block())?;
                self.fixed(
                    ProblemKind::Journal,
                    Some(number),
                    String::from("the log held transactions while needs_recovery was clear: emptied it, as Linux discards them"),
                );
            }
        }
        let backup = journal_backup(&inode);
        if self.fs.superblock.journal_backup() != Some(backup) {
            self.fs.superblock.set_internal_journal(number, backup);
            self.fs.superblock_dirty = true;
            self.fixed(
                ProblemKind::Journal,
                Some(number),
                String::from(
                    "the superblock's backup of the journal's block map was stale: rewrote it",
                ),
            );
        }
        Ok(())
    }

    /// Clears an unusable journal; pass 1 clears its inode and a new one
    /// is made after pass 5.
    fn clear_journal(&mut self, why: &str) -> Result<()> {
        let superblock = &mut self.fs.superblock;
        superblock.set_compatible(CompatibleFeatures::HAS_JOURNAL, false);
        superblock.set_incompatible(IncompatibleFeatures::RECOVER, false);
        superblock.set_u32(field::JOURNAL_INODE, 0);
        for index in 0..17 {
            superblock.set_u32(field::JOURNAL_BLOCKS + index * 4, 0);
        }
        // `s_jnl_backup_type` is the byte after `s_def_hash_version`.
        let word = superblock.get_u16(field::JOURNAL_BACKUP_TYPE - 1);
        superblock.set_u16(field::JOURNAL_BACKUP_TYPE - 1, word & 0x00FF);
        self.fs.superblock_dirty = true;
        self.journal_to_create = default_journal_blocks(self.fs.geometry.blocks_count);
        self.fixed(
            ProblemKind::Journal,
            None,
            format!("the journal cannot be used ({why}): removed it"),
        );
        Ok(())
    }

    /// Moves a journal from ordinary inode `from` to inode 8, when that
    /// is free.
    fn move_journal(&mut self, from: u32) -> Result<()> {
        let target = self.fs.read_inode(InodeNumber(JOURNAL_INODE))?;
        let mut old = self.fs.read_inode(InodeNumber(from))?;
        if target.links() != 0 || old.links() != 1 || !old.is_regular() {
            return Ok(());
        }
        let mut moved = Inode::from_bytes(InodeNumber(JOURNAL_INODE), old.as_bytes());
        moved.set_flags(crate::inode::InodeFlags::empty());
        self.fs.clear_inode_slot(InodeNumber(JOURNAL_INODE))?;
        self.fs.write_inode(&moved)?;
        self.fs
            .superblock
            .set_internal_journal(JOURNAL_INODE, journal_backup(&moved));
        self.fs.superblock_dirty = true;
        old.set_links(0);
        old.set_deletion_time(self.now);
        self.fs.write_inode(&old)?;
        self.fixed(
            ProblemKind::Journal,
            Some(from),
            String::from("the journal was in an ordinary inode: moved it to inode 8"),
        );
        Ok(())
    }

    /// Pass 1's look at inode 8: the journal's blocks are claimed, or an
    /// inode 8 that is no journal but holds data is cleared.
    pub(super) fn check_journal_inode(&mut self, mut inode: Inode) -> Result<()> {
        let superblock = &self.fs.superblock;
        let is_journal = superblock.features().compatible & CompatibleFeatures::HAS_JOURNAL.bits()
            != 0
            && superblock.journal_inode() == JOURNAL_INODE
            && superblock.journal_uuid() == [0; 16]
            && superblock.journal_device() == 0;
        if !is_journal {
            if inode.links() != 0 || inode.sectors() != 0 || inode.block_pointer(0) != 0 {
                self.fs.clear_inode_slot(inode.number)?;
                self.fixed(
                    ProblemKind::Journal,
                    Some(JOURNAL_INODE),
                    String::from("inode 8 is no journal but held data: cleared it"),
                );
            }
            return Ok(());
        }
        if !inode.is_regular() {
            inode.set_mode(crate::inode::mode::REGULAR);
            self.fixed(
                ProblemKind::Journal,
                Some(JOURNAL_INODE),
                String::from("the journal inode was not a regular file: made it one"),
            );
        }
        let mut walk = BlockWalk::new(JOURNAL_INODE, FileType::RegularFile);
        self.walk_block_map(&mut inode, &mut walk)?;
        self.fs.write_inode(&inode)
    }

    /// Makes the journal a cleared one is replaced by, after pass 5.
    ///
    /// Return values: `Ok(())` (a journal that does not fit is logged,
    /// not returned), or [`Error::Device`].
    pub(super) fn create_journal(&mut self) -> Result<()> {
        let Some(blocks) = self.journal_to_create.take() else {
            return Ok(());
        };
        // The journal's blocks are written past the cache: drop any old
        // copy of them first.
        self.fs.sync()?;
        self.fs.drop_clean_blocks(None);
        match self.fs.add_journal(blocks) {
            Ok(()) => self.fixed(
                ProblemKind::Journal,
                Some(JOURNAL_INODE),
                format!("made a new journal of {blocks} blocks"),
            ),
            Err(Error::Device(error)) => return Err(Error::Device(error)),
            Err(error) => self.fixed(
                ProblemKind::Journal,
                None,
                format!("could not make a new journal: {error}"),
            ),
        }
        Ok(())
    }
}

/// `s_jnl_blocks` for a journal inode: `i_block`, then the size's high
/// and low words.
fn journal_backup(inode: &Inode) -> [u32; 17] {
    let mut backup = [0u32; 17];
    for (index, slot) in backup.iter_mut().take(15).enumerate() {
        *slot = inode.block_pointer(index);
    }
    let size = inode.size();
    backup[15] = (size >> 32) as u32;
    backup[16] = size as u32;
    backup
}
