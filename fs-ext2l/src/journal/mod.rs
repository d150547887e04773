// SPDX-License-Identifier: MIT OR Apache-2.0
//! The journal: JBD2's on-disk format, a writer of transactions, recovery.
//!
//! An ext2l volume may carry an ext3 journal (DESIGN §4): compatible
//! feature `has_journal`, the journal in inode 8 (`s_journal_inum`), the
//! incompatible feature `needs_recovery` while it may hold transactions not
//! yet written home. The journal is JBD2's (`include/linux/jbd2.h`, the
//! kernel's `fs/jbd2/`, e2fsprogs' `e2fsck/recovery.c`), so Linux, `e2fsck`
//! and `debugfs logdump` read what this module writes and the other way
//! round. This module owns everything about it:
//!
//! - `superblock` — the journal superblock, its features and the
//!   [`LogFormat`] they imply (tag size, checksum version and seed);
//! - `blocks` — descriptor blocks and their tags, commit and revoke blocks,
//!   escaping, parsed without panics and encoded byte-exactly;
//! - `map` — where the journal's blocks are ([`JournalMap`], the block map
//!   of inode 8 read straight from the device);
//! - `writer` — [`lay_out_transaction`], the pure layout of a transaction
//!   in the circular log, and [`Journal`], which writes layouts and keeps
//!   the log's head, tail and sequence numbers;
//! - `recovery` — the three passes (scan, revoke, replay);
//! - `volume` — the journal of a volume: locating it, [`recover`] (what a
//!   read-write mount and `ext2l recover` do), [`inspect`], and the
//!   [`FileSystem`](crate::FileSystem) methods `journal_status` and
//!   `open_journal`;
//! - `view` — [`ReplayedView`], a read-only device showing a volume as it
//!   will be after recovery, without writing;
//! - `create` — adding a journal to a volume (`mkfs`, `ext2l tune`).
//!
//! Mount (`FileSystem::mount`) calls [`recover`]'s core first: a
//! read-write mount of a volume whose `needs_recovery` flag is set replays
//! the journal, then clears the flag; a read-only mount of one refuses with
//! [`Error::NeedsRecovery`] rather than show a
//! state that is not the volume's — mount a [`ReplayedView`] of the device
//! to read the recovered state without writing.
//!
//! What goes into transactions, and when they commit, is the file
//! system's (`transaction.rs`: ordered mode, eager checkpoints, two-phase
//! batches); it plans its transactions with the writer's layout
//! (`plan_transaction`). Fast commits, external journals and journals
//! shared by several file systems are refused.

mod big_endian;
mod blocks;
mod checksum;
mod create;
mod error;
mod map;
mod recovery;
mod superblock;
mod view;
mod volume;
mod writer;

pub use blocks::{
    data_checksum, escape, unescape, BlockHeader, BlockTag, CommitBlock, CommitTime,
    DescriptorBlock, RevokeBlock,
};
pub use create::default_journal_blocks;
pub use error::FormatError;
pub use map::JournalMap;
pub use recovery::{replay_log, scan_log, LogEnd, LogScan, LoggedTransaction, RecoveryReport};
pub use superblock::{
    ChecksumVersion, JournalCompatibleFeatures, JournalFeatureSet, JournalIncompatibleFeatures,
    JournalSuperblock, LogFormat, JOURNAL_MAGIC, JOURNAL_SUPERBLOCK_SIZE, MAX_JOURNAL_BLOCKS,
    MIN_JOURNAL_BLOCKS,
};
pub use view::ReplayedView;
pub use volume::{inspect, recover, JournalStatus};
pub use writer::{
    lay_out_transaction, transaction_log_blocks, Journal, LiveTransaction, LogWrite,
    TransactionLayout,
};

pub(crate) use volume::{open_unmounted, recover_at_mount};
pub(crate) use writer::{plan_transaction, PlannedContents};

use crate::device::BlockDevice;
use crate::error::{Error, Result};

/// `EXT3_JOURNAL_INO`: the inode an internal journal lives in.
pub const JOURNAL_INODE: u32 = 8;

/// Reads and validates the superblock of the journal stored where `map`
/// says: it must parse, have the map's block size and fit in the map.
///
/// Return values: the superblock; [`Error::Corrupt`] naming what is
/// wrong; [`Error::Device`].
pub(crate) fn read_superblock<D: BlockDevice>(
    device: &mut D,
    map: &JournalMap,
) -> Result<JournalSuperblock> {
    let mut block = alloc::vec![0u8; map.block_size() as usize];
    device.read_at(map.byte_offset(0)?, &mut block)?;
    let superblock = JournalSuperblock::parse(&block)?;
    if superblock.block_size() != map.block_size() {
        return Err(Error::corrupt_inode(
            "the journal's block size differs from the file system's",
            JOURNAL_INODE,
        ));
    }
    if superblock.journal_blocks() > map.block_count() {
        return Err(Error::corrupt_inode(
            "the journal superblock is longer than the journal inode",
            JOURNAL_INODE,
        ));
    }
    Ok(superblock)
}
