// SPDX-License-Identifier: MIT OR Apache-2.0
//! Writing transactions into the log.
//!
//! [`lay_out_transaction`] is the pure part: given the journal superblock,
//! the log block to start at, a sequence number, the home blocks to log
//! (number and new contents) and the home blocks to revoke, it returns
//! every block to write and where — revoke blocks first, then each
//! descriptor followed by the escaped copies its tags describe, and the
//! commit block last — in JBD2's format with whatever checksums the
//! journal has. Nothing is written; the copies of blocks that need no
//! escaping are borrowed, not copied.
//!
//! [`Journal`] applies layouts to a device: it tracks the head of the log
//! (where the next transaction goes), the live transactions between the
//! tail and the head, the next sequence number and the free space, and
//! writes the journal superblock when the log starts, when its tail moves
//! ([`Journal::checkpointed`]) and when it is closed empty. A transaction
//! is written in two steps with a flush after each: everything but the
//! commit block, then the commit block, so a commit block on disk always
//! follows a whole transaction (the kernel's ordering without
//! `async_commit`); the first transaction of an empty journal writes the
//! superblock's `s_start` before any of it.
//!
//! What goes into a transaction, when it commits and when its home blocks
//! are written back (checkpointing) is the caller's business: this module
//! has no notion of buffers, ordering or pinning.

use alloc::borrow::Cow;
use alloc::collections::{BTreeSet, VecDeque};
use alloc::vec::Vec;

use crate::device::BlockDevice;
use crate::error::{Error, Result};

use super::blocks::{
    continue_version_1_checksum, data_checksum, escape, BlockTag, CommitBlock, CommitTime,
    DescriptorBlock, RevokeBlock,
};
use super::map::JournalMap;
use super::recovery::sequence_after;
use super::superblock::{ChecksumVersion, JournalSuperblock};

/// One block of a laid-out transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogWrite<'a> {
    /// The log block (journal file block) to write.
    pub log_block: u32,
    /// Its contents, one journal block.
    pub contents: Cow<'a, [u8]>,
}

/// A transaction laid out in the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransactionLayout<'a> {
    /// Its sequence number.
    pub sequence: u32,
    /// Where it starts.
    pub first_log_block: u32,
    /// Log blocks it takes, commit block included.
    pub log_blocks: u32,
    /// Where the next transaction would start.
    pub next_log_block: u32,
    /// The blocks to write, in log order; the last is the commit block.
    pub writes: Vec<LogWrite<'a>>,
}

/// Log blocks a transaction of `blocks` home blocks and `revoked` revoke
/// records takes in the log `superblock` describes: descriptors, copies,
/// revoke blocks and the commit block.
pub fn transaction_log_blocks(
    superblock: &JournalSuperblock,
    blocks: usize,
    revoked: usize,
) -> u64 {
    let format = superblock.format();
    let descriptors = blocks.div_ceil(DescriptorBlock::capacity(&format).max(1));
    let revoke_blocks = revoked.div_ceil(RevokeBlock::capacity(&format).max(1));
    (descriptors + blocks + revoke_blocks + 1) as u64
}

/// What one block of a planned transaction holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PlannedContents {
    /// The caller's block number `index` of the transaction, unchanged
    /// (it needed no escaping): the caller writes its own buffer.
    Copy(usize),
    /// A block made here: a revoke, descriptor or commit block, or an
    /// escaped copy.
    Made(Vec<u8>),
}

/// One block of a planned transaction: where in the log, and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PlannedWrite {
    /// The log block (journal file block) to write.
    pub log_block: u32,
    /// Its contents.
    pub contents: PlannedContents,
}

/// A planned transaction: [`lay_out_transaction`]'s work, with the
/// caller's blocks named by index instead of borrowed, so a caller that
/// keeps its buffers elsewhere (shared cache buffers) need not copy them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PlannedTransaction {
    /// Log blocks it takes, commit block included.
    pub log_blocks: u32,
    /// Where the next transaction would start.
    pub next_log_block: u32,
    /// The blocks, in log order; the last is the commit block.
    pub writes: Vec<PlannedWrite>,
}

/// Plans transaction `sequence` at log block `head`: the work of
/// [`lay_out_transaction`] (same arguments, same checks), returning the
/// blocks as [`PlannedContents`].
///
/// Return values: as [`lay_out_transaction`].
pub(crate) fn plan_transaction(
    superblock: &JournalSuperblock,
    head: u32,
    sequence: u32,
    blocks: &[(u64, &[u8])],
    revoked: &[u64],
    time: CommitTime,
) -> Result<PlannedTransaction> {
    let format = superblock.format();
    let first = superblock.first_log_block();
    let end = superblock.journal_blocks();
    if head < first || head >= end {
        return Err(Error::InvalidArgument);
    }
    let mut homes = BTreeSet::new();
    for &(home, contents) in blocks {
        if contents.len() != format.block_bytes() || !homes.insert(home) {
            return Err(Error::InvalidArgument);
        }
    }
    for home in revoked {
        if !homes.insert(*home) {
            return Err(Error::InvalidArgument);
        }
    }
    let length = transaction_log_blocks(superblock, blocks.len(), revoked.len());
    if length > u64::from(end - first) {
        return Err(Error::NoSpace);
    }
    let next = |block: u32| if block + 1 >= end { first } else { block + 1 };
    let mut writes = Vec::with_capacity(length as usize);
    let mut position = head;
    let mut push = |writes: &mut Vec<PlannedWrite>, contents: PlannedContents| {
        writes.push(PlannedWrite {
            log_block: position,
            contents,
        });
        position = next(position);
    };
    for chunk in revoked.chunks(RevokeBlock::capacity(&format).max(1)) {
        let block =
            RevokeBlock::encode(sequence, chunk, &format).map_err(|_| Error::InvalidArgument)?;
        push(&mut writes, PlannedContents::Made(block));
    }
    let mut version_1_checksum = !0u32;
    let capacity = DescriptorBlock::capacity(&format).max(1);
    for (chunk_index, chunk) in blocks.chunks(capacity).enumerate() {
        let first_index = chunk_index * capacity;
        let copies: Vec<(u64, Cow<'_, [u8]>, bool)> = chunk
            .iter()
            .map(|&(home, contents)| {
                let (copy, escaped) = escape(contents);
                (home, copy, escaped)
            })
            .collect();
        let tags: Vec<BlockTag> = copies
            .iter()
            .map(|(home, copy, escaped)| BlockTag {
                home_block: *home,
                escaped: *escaped,
                checksum: data_checksum(&format, sequence, copy),
            })
            .collect();
        let descriptor = DescriptorBlock::encode(sequence, &tags, &format)
            .map_err(|_| Error::InvalidArgument)?;
        if format.checksum() == ChecksumVersion::CommitOnly {
            version_1_checksum = continue_version_1_checksum(version_1_checksum, &descriptor);
        }
        push(&mut writes, PlannedContents::Made(descriptor));
        for (offset, (_, copy, _)) in copies.into_iter().enumerate() {
            if format.checksum() == ChecksumVersion::CommitOnly {
                version_1_checksum = continue_version_1_checksum(version_1_checksum, &copy);
            }
            let contents = match copy {
                Cow::Borrowed(_) => PlannedContents::Copy(first_index + offset),
                Cow::Owned(escaped) => PlannedContents::Made(escaped),
            };
            push(&mut writes, contents);
        }
    }
    let commit = CommitBlock::encode(sequence, time, &format, version_1_checksum);
    push(&mut writes, PlannedContents::Made(commit));
    Ok(PlannedTransaction {
        log_blocks: length as u32,
        next_log_block: position,
        writes,
    })
}

/// Lays out transaction `sequence` at log block `head` (see the module
/// doc). `blocks` are (home block, contents of one journal block);
/// `revoked` are home blocks whose copies in earlier transactions must not
/// be replayed.
///
/// Return values:
/// - the layout;
/// - [`Error::InvalidArgument`] for a `head` outside the log, contents of
///   another size than the block, a home block listed twice or both
///   logged and revoked, or above 32 bits in a 32-bit journal;
/// - [`Error::NoSpace`] when the transaction is longer than the whole log.
pub fn lay_out_transaction<'a>(
    superblock: &JournalSuperblock,
    head: u32,
    sequence: u32,
    blocks: &[(u64, &'a [u8])],
    revoked: &[u64],
    time: CommitTime,
) -> Result<TransactionLayout<'a>> {
    let planned = plan_transaction(superblock, head, sequence, blocks, revoked, time)?;
    let writes = planned
        .writes
        .into_iter()
        .map(|write| LogWrite {
            log_block: write.log_block,
            contents: match write.contents {
                PlannedContents::Copy(index) => {
                    Cow::Borrowed(blocks.get(index).map_or(&[][..], |&(_, contents)| contents))
                }
                PlannedContents::Made(bytes) => Cow::Owned(bytes),
            },
        })
        .collect();
    Ok(TransactionLayout {
        sequence,
        first_log_block: head,
        log_blocks: planned.log_blocks,
        next_log_block: planned.next_log_block,
        writes,
    })
}

/// A transaction written to the log and not yet checkpointed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LiveTransaction {
    /// Its sequence number.
    pub sequence: u32,
    /// Where it starts in the log.
    pub first_log_block: u32,
    /// Log blocks it takes.
    pub log_blocks: u32,
}

/// A journal open for writing: the log's head, tail and sequence numbers
/// over a device and the journal's block map.
#[derive(Clone, Debug)]
pub struct Journal {
    map: JournalMap,
    superblock: JournalSuperblock,
    head: u32,
    next_sequence: u32,
    live: VecDeque<LiveTransaction>,
}

impl Journal {
    /// Opens the empty journal stored where `map` says, for writing. The
    /// first transaction goes to the first log block, with the sequence
    /// after `s_sequence` (as the kernel numbers after a clean journal).
    ///
    /// Return values:
    /// - the journal;
    /// - [`Error::NeedsRecovery`] when the log is not empty (`s_start` is
    ///   set): it must be replayed (or deliberately discarded) first;
    /// - [`Error::Corrupt`] for a superblock that does not parse, or whose
    ///   block size or length does not match the map;
    /// - [`Error::Device`].
    pub fn open<D: BlockDevice>(device: &mut D, map: JournalMap) -> Result<Journal> {
        let superblock = super::read_superblock(device, &map)?;
        if !superblock.is_empty() {
            return Err(Error::NeedsRecovery);
        }
        Ok(Journal {
            head: superblock.first_log_block(),
            next_sequence: superblock.first_sequence().wrapping_add(1),
            map,
            superblock,
            live: VecDeque::new(),
        })
    }

    /// The superblock as last written.
    pub fn superblock(&self) -> &JournalSuperblock {
        &self.superblock
    }

    /// The journal's block map.
    pub fn map(&self) -> &JournalMap {
        &self.map
    }

    /// The sequence number the next transaction gets.
    pub fn next_sequence(&self) -> u32 {
        self.next_sequence
    }

    /// The log block the next transaction starts at.
    pub fn head(&self) -> u32 {
        self.head
    }

    /// Blocks of the circular log.
    pub fn capacity(&self) -> u32 {
        self.superblock.journal_blocks() - self.superblock.first_log_block()
    }

    /// Log blocks held by live transactions.
    pub fn used_blocks(&self) -> u32 {
        self.live
            .iter()
            .map(|transaction| transaction.log_blocks)
            .sum()
    }

    /// Log blocks a new transaction may use.
    pub fn free_blocks(&self) -> u32 {
        self.capacity().saturating_sub(self.used_blocks())
    }

    /// The transactions written and not yet checkpointed, oldest first.
    pub fn live_transactions(&self) -> impl Iterator<Item = &LiveTransaction> {
        self.live.iter()
    }

    /// Writes the superblock with the log starting at `log_start` and
    /// transaction `sequence` expected there, then flushes.
    fn write_superblock<D: BlockDevice>(
        &mut self,
        device: &mut D,
        log_start: u32,
        sequence: u32,
    ) -> Result<()> {
        let updated = self.superblock.with_log(log_start, sequence);
        let offset = self.map.byte_offset(0)?;
        device.write_at(offset, updated.as_bytes())?;
        device.flush()?;
        self.superblock = updated;
        Ok(())
    }

    /// Logs one transaction: `blocks` (home block, new contents) and
    /// `revoked` home blocks, stamped `time`, at the head (see the module
    /// doc for the order of writes and flushes). On success the
    /// transaction is durable in the log; its home blocks are not written.
    ///
    /// Return values:
    /// - its sequence number;
    /// - [`Error::NoSpace`] when it does not fit the free log space
    ///   (checkpoint older transactions first);
    /// - [`Error::InvalidArgument`] as [`lay_out_transaction`];
    /// - [`Error::Device`] (the transaction may then be partly written; a
    ///   replay ignores it).
    pub fn commit<D: BlockDevice>(
        &mut self,
        device: &mut D,
        blocks: &[(u64, &[u8])],
        revoked: &[u64],
        time: CommitTime,
    ) -> Result<u32> {
        let sequence = self.next_sequence;
        let layout =
            lay_out_transaction(&self.superblock, self.head, sequence, blocks, revoked, time)?;
        if layout.log_blocks > self.free_blocks() {
            return Err(Error::NoSpace);
        }
        if self.superblock.is_empty() {
            self.write_superblock(device, layout.first_log_block, sequence)?;
        }
        let Some((commit, body)) = layout.writes.split_last() else {
            return Err(Error::InvalidArgument);
        };
        for write in body {
            device.write_at(self.map.byte_offset(write.log_block)?, &write.contents)?;
        }
        device.flush()?;
        device.write_at(self.map.byte_offset(commit.log_block)?, &commit.contents)?;
        device.flush()?;
        self.live.push_back(LiveTransaction {
            sequence,
            first_log_block: layout.first_log_block,
            log_blocks: layout.log_blocks,
        });
        self.head = layout.next_log_block;
        self.next_sequence = sequence.wrapping_add(1);
        Ok(sequence)
    }

    /// Releases the transactions up to and including `sequence`, whose
    /// home blocks the caller has written and flushed: moves the log's
    /// tail past them and writes the superblock (`s_start` at the oldest
    /// transaction still live, or at the head when none is, as JBD2 does).
    ///
    /// Return values: `Ok(())`, or [`Error::Device`].
    pub fn checkpointed<D: BlockDevice>(&mut self, device: &mut D, sequence: u32) -> Result<()> {
        while let Some(oldest) = self.live.front() {
            if sequence_after(oldest.sequence, sequence) {
                break;
            }
            self.live.pop_front();
        }
        if self.superblock.is_empty() {
            return Ok(());
        }
        let (start, expected) = match self.live.front() {
            Some(oldest) => (oldest.first_log_block, oldest.sequence),
            None => (self.head, self.next_sequence),
        };
        self.write_superblock(device, start, expected)
    }

    /// Marks the journal empty (`s_start` 0), as at a clean unmount: every
    /// transaction must have been checkpointed.
    ///
    /// Return values: `Ok(())`; [`Error::InvalidArgument`] while a
    /// transaction is live; [`Error::Device`].
    pub fn close<D: BlockDevice>(&mut self, device: &mut D) -> Result<()> {
        if !self.live.is_empty() {
            return Err(Error::InvalidArgument);
        }
        let sequence = self.next_sequence;
        self.write_superblock(device, 0, sequence)?;
        self.head = self.superblock.first_log_block();
        self.next_sequence = sequence.wrapping_add(1);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::blocks::{BlockHeader, CommitBlock as ParsedCommit};
    use crate::journal::superblock::block_type;

    fn superblock() -> JournalSuperblock {
        JournalSuperblock::new(1024, 64, [3; 16]).unwrap()
    }

    #[test]
    fn a_layout_has_revokes_descriptors_copies_and_a_commit() {
        let superblock = superblock();
        let data: Vec<Vec<u8>> = (0..3u8).map(|index| vec![index; 1024]).collect();
        let blocks: Vec<(u64, &[u8])> = data
            .iter()
            .enumerate()
            .map(|(index, contents)| (100 + index as u64, contents.as_slice()))
            .collect();
        let layout =
            lay_out_transaction(&superblock, 62, 5, &blocks, &[7, 8], CommitTime::default())
                .unwrap();
        // revoke, descriptor, three copies, commit: six blocks from 62,
        // wrapping from 63 to the first log block, 1.
        assert_eq!(layout.log_blocks, 6);
        let positions: Vec<u32> = layout.writes.iter().map(|write| write.log_block).collect();
        assert_eq!(positions, [62, 63, 1, 2, 3, 4]);
        assert_eq!(layout.next_log_block, 5);
        let types: Vec<u32> = layout
            .writes
            .iter()
            .filter_map(|write| BlockHeader::parse(&write.contents).ok())
            .map(|header| header.block_type)
            .collect();
        assert_eq!(
            types,
            [
                block_type::REVOKE,
                block_type::DESCRIPTOR,
                block_type::COMMIT
            ]
        );
        let commit = ParsedCommit::parse(&layout.writes[5].contents, &superblock.format()).unwrap();
        assert_eq!(commit.sequence, 5);
    }

    #[test]
    fn bad_transactions_are_refused() {
        let superblock = superblock();
        let block = vec![0u8; 1024];
        let short = vec![0u8; 10];
        let time = CommitTime::default();
        let refuse = |blocks: &[(u64, &[u8])], revoked: &[u64], head| {
            lay_out_transaction(&superblock, head, 1, blocks, revoked, time).unwrap_err()
        };
        assert_eq!(refuse(&[(1, &block)], &[], 0), Error::InvalidArgument);
        assert_eq!(refuse(&[(1, &block)], &[], 64), Error::InvalidArgument);
        assert_eq!(refuse(&[(1, &short)], &[], 1), Error::InvalidArgument);
        assert_eq!(
            refuse(&[(1, &block), (1, &block)], &[], 1),
            Error::InvalidArgument
        );
        assert_eq!(refuse(&[(1, &block)], &[1], 1), Error::InvalidArgument);
        assert_eq!(refuse(&[(1 << 40, &block)], &[], 1), Error::InvalidArgument);
        let many: Vec<(u64, &[u8])> = (0..63).map(|home| (home, block.as_slice())).collect();
        assert_eq!(refuse(&many, &[], 1), Error::NoSpace);
    }
}
