// SPDX-License-Identifier: MIT OR Apache-2.0
//! The volume's state: mounted, cleanly unmounted, damaged.
//!
//! The superblock's `s_state` has two bits (ext2's `EXT2_VALID_FS` and
//! `EXT2_ERROR_FS`, [`STATE_VALID`] and [`STATE_ERRORS`]):
//!
//! - **valid** — cleanly unmounted. A read-write mount clears it on disk
//!   before anything it changed can reach the disk — at its first change
//!   without a journal, at its first commit with one, where the same
//!   write sets the superblock's `needs_recovery` flag — flushed; a mount
//!   that changes nothing writes nothing. Only a clean
//!   unmount sets it again, after the last commit: the journal emptied,
//!   `needs_recovery` cleared, the superblock written and flushed. A
//!   volume found without it and without a journal was cut off while
//!   mounted: the mount runs the checker, and mounts it read-only if the
//!   checker finds damage (a volume with a journal is recovered instead).
//! - **errors** — damage was found. Damage found while running — any
//!   [`Error::Corrupt`] an operation returns: a bad block pointer, a broken
//!   directory block — sets it (written to the disk at once when possible)
//!   and, under the default [`OnDamage::ReadOnly`], turns the mount
//!   read-only: every later change fails with [`Error::ReadOnly`], the
//!   running transaction is never committed, nothing is written back (the
//!   cache stops writing dirty blocks when it evicts), and
//!   [`FileSystem::read_only_reason`] says why. A volume that has it is
//!   mounted read-only until it is checked and repaired.
//!   [`OnDamage::Continue`] (ext4's `errors=continue`, for fuzzing and
//!   tools that must go on) records the damage and keeps writing, mounts
//!   a volume that records errors writable, and does not check an unclean
//!   volume at mount.

use crate::device::BlockDevice;
use crate::error::{Corruption, Error, Result};
use crate::features::IncompatibleFeatures;
use crate::filesystem::FileSystem;
use crate::superblock::{
    field, Superblock, STATE_ERRORS, STATE_VALID, SUPERBLOCK_OFFSET, SUPERBLOCK_SIZE,
};

/// What a mount does when an operation finds damage.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OnDamage {
    /// Record it and turn the mount read-only (the default; ext4's
    /// `errors=remount-ro`).
    #[default]
    ReadOnly,
    /// Record it and go on writing (ext4's `errors=continue`).
    Continue,
}

/// Why a volume must be repaired before it is used, read from its
/// superblock alone ([`repair_needed`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RepairNeed {
    /// The superblock records errors found earlier (`EXT2_ERROR_FS`).
    ErrorsRecorded,
    /// The volume has no journal and was not cleanly unmounted: it may be
    /// left half-written.
    UncleanWithoutJournal,
}

impl core::fmt::Display for RepairNeed {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            RepairNeed::ErrorsRecorded => "records errors found earlier",
            RepairNeed::UncleanWithoutJournal => "was not cleanly unmounted and has no journal",
        })
    }
}

/// Reads the superblock of `device` and says whether the volume must be
/// repaired before it is mounted: it records errors, or it has no journal
/// and was not cleanly unmounted. A volume with a journal that was not
/// cleanly unmounted needs only recovery, which the mount does.
///
/// Return values: `Ok(None)` when no repair is needed, or the device does
/// not hold an ext2 superblock (the mount says what is wrong); the need;
/// [`Error::Device`] when reading fails.
pub fn repair_needed<D: BlockDevice + ?Sized>(device: &mut D) -> Result<Option<RepairNeed>> {
    let mut raw = [0u8; SUPERBLOCK_SIZE];
    device.read_at(SUPERBLOCK_OFFSET, &mut raw)?;
    let superblock = Superblock::from_bytes(raw);
    if superblock.get_u16(field::MAGIC) != crate::superblock::EXT2_MAGIC {
        return Ok(None);
    }
    let state = superblock.state();
    let journaled = superblock.features().compatible
        & crate::features::CompatibleFeatures::HAS_JOURNAL.bits()
        != 0;
    Ok(if state & STATE_ERRORS != 0 {
        Some(RepairNeed::ErrorsRecorded)
    } else if state & STATE_VALID == 0 && !journaled {
        Some(RepairNeed::UncleanWithoutJournal)
    } else {
        None
    })
}

/// The reason of a mount turned read-only by damage found while running.
pub(crate) const DAMAGE_FOUND: &str = "damage was found while running; the volume needs a check";
/// The reason of a volume whose superblock records errors.
pub(crate) const ERRORS_RECORDED: &str =
    "the volume records errors found earlier; it needs a check and repair";
/// The reason of an unclean volume without a journal that the checker
/// found damaged.
pub(crate) const UNCLEAN_AND_DAMAGED: &str =
    "the volume was not cleanly unmounted and the checker found damage";
/// The reason of a volume whose journal cannot be written.
pub(crate) const JOURNAL_UNUSABLE: &str = "the volume's journal cannot be used for writing";

impl<D: BlockDevice> FileSystem<D> {
    /// Marks the volume in use by a read-write mount, before its first
    /// change: `s_state` without the valid bit and, with a journal,
    /// `needs_recovery` set, written and flushed before anything else is.
    /// Does nothing the second time.
    ///
    /// Return values: `Ok(())`, or [`Error::Device`].
    pub(crate) fn mark_in_use(&mut self) -> Result<()> {
        if self.marked_in_use {
            return Ok(());
        }
        self.marked_in_use = true;
        let journaling = self.transactions.journaling();
        let edit = |superblock: &mut Superblock| {
            superblock.set_state_bits(STATE_VALID, false);
            if journaling {
                superblock.set_incompatible(IncompatibleFeatures::RECOVER, true);
            }
        };
        edit(&mut self.superblock);
        self.edit_superblock_on_disk(edit)
    }

    /// The end of a clean unmount, once everything is committed: the
    /// journal emptied, `needs_recovery` cleared and the valid bit set,
    /// written and flushed.
    ///
    /// Return values: `Ok(())`, or [`Error::Device`].
    pub(crate) fn mark_unmounted(&mut self) -> Result<()> {
        if self.transactions.journaling() {
            self.close_journal()?;
            self.superblock
                .set_incompatible(IncompatibleFeatures::RECOVER, false);
        }
        self.superblock.set_state_bits(STATE_VALID, true);
        let now = self.now();
        self.superblock.set_u32(field::WRITE_TIME, now);
        self.write_superblock_now()
    }

    /// Writes the superblock as held in memory to its home and flushes.
    fn write_superblock_now(&mut self) -> Result<()> {
        self.device
            .write_at(SUPERBLOCK_OFFSET, self.superblock.as_bytes())?;
        self.device.flush()?;
        Ok(())
    }

    /// Passes `result` on; an [`Error::Corrupt`] in it is damage found
    /// while running, and marks the volume first (see the module doc).
    ///
    /// Return values: `result`.
    pub(crate) fn observe<T>(&mut self, result: Result<T>) -> Result<T> {
        if let Err(Error::Corrupt(corruption)) = &result {
            self.damage_found(*corruption);
        }
        result
    }

    /// Records damage: the errors bit, and under [`OnDamage::ReadOnly`] a
    /// read-only mount whose pending changes are never written.
    fn damage_found(&mut self, corruption: Corruption) {
        if self.damage.is_some() {
            return;
        }
        self.damage = Some(corruption);
        let writable = self.read_only_reason.is_none();
        self.superblock.set_state_bits(STATE_ERRORS, true);
        if !writable {
            return;
        }
        if self.on_damage == OnDamage::Continue {
            self.superblock_dirty = true;
            return;
        }
        self.read_only_reason = Some(DAMAGE_FOUND);
        self.cache.freeze_write_back(true);
        // Only the errors bit goes to the disk, on the superblock as the
        // disk has it (the running transaction is abandoned). If this
        // fails too, the volume stays as it was; the mount is read-only
        // anyway.
        let _ = self
            .edit_superblock_on_disk(|superblock| superblock.set_state_bits(STATE_ERRORS, true));
    }

    /// Applies `edit` to the superblock as the device has it (not the one
    /// in memory, whose other changes wait for a commit), writes it back
    /// and flushes.
    ///
    /// Return values: `Ok(())`, or [`Error::Device`].
    fn edit_superblock_on_disk(&mut self, edit: impl Fn(&mut Superblock)) -> Result<()> {
        let mut raw = [0u8; SUPERBLOCK_SIZE];
        self.device.read_at(SUPERBLOCK_OFFSET, &mut raw)?;
        let mut on_disk = Superblock::from_bytes(raw);
        edit(&mut on_disk);
        self.device
            .write_at(SUPERBLOCK_OFFSET, on_disk.as_bytes())?;
        self.device.flush()?;
        Ok(())
    }

    /// The first damage an operation of this mount found, if any (the
    /// kernel prints it when the mount turns read-only).
    pub fn damage(&self) -> Option<Corruption> {
        self.damage
    }
}
