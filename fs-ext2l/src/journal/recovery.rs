// SPDX-License-Identifier: MIT OR Apache-2.0
//! Recovery: finding the committed transactions in the log and replaying
//! them.
//!
//! JBD2 recovers in three passes (`jbd2_journal_recover` in
//! `fs/jbd2/recovery.c`; e2fsprogs runs the same file):
//! 1. **scan** — from `s_start`, expecting transaction `s_sequence`, walk
//!    the log block by block: descriptor blocks and the data blocks their
//!    tags count, revoke blocks, and a commit block that closes the
//!    transaction and makes the next sequence number expected. The first
//!    block that is not a journal block of the expected sequence ends the
//!    log; [`scan_log`] returns the committed transactions before it;
//! 2. **revoke** — collect the revoke records of those transactions: home
//!    block → the latest transaction that revoked it;
//! 3. **replay** — copy each tagged block of each committed transaction
//!    home, in log order, unless a transaction at least as recent revoked
//!    it, restoring escaped magic words.
//!
//! Where this differs from the kernel, it is stricter, for one rule: a
//! transaction is replayed whole or not at all. The scan verifies every
//! checksum the format has — descriptor and revoke tails, every data
//! block's tag checksum, the commit block (v2/v3) or the version-1 CRC32 of
//! the transaction — and the first transaction with any failure, a tag
//! naming a block outside the file system or inside the journal, or a
//! missing commit block ends the log there ([`LogEnd`]); nothing after it
//! is replayed. (The kernel checks data checksums only while replaying,
//! skips the bad blocks of a committed transaction and reports an error;
//! for a descriptor or revoke block with a bad checksum it fails recovery
//! unless the commit time says the block is stale. On a journal whose
//! checksums all hold — any journal written by a working JBD2 — the two
//! replay exactly the same blocks; the tests compare with `e2fsck`.)
//!
//! Every loop is bounded: the scan reads at most the log's size in blocks
//! (a log that would run around the whole journal ends with
//! [`LogEnd::Wrapped`]), and the other passes walk only what the scan
//! accepted. Memory is one block buffer, one entry per committed
//! transaction and one per distinct revoked block.

use alloc::collections::BTreeMap;
use alloc::vec;
use alloc::vec::Vec;

use crate::device::BlockDevice;
use crate::error::{Error, Result};

use super::blocks::{
    continue_version_1_checksum, unescape, BlockHeader, CommitBlock, CommitTime, DescriptorBlock,
    RevokeBlock,
};
use super::map::JournalMap;
use super::superblock::{block_type, ChecksumVersion, JournalSuperblock, LogFormat};
use super::JOURNAL_INODE;

/// Why the log ends where it does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogEnd {
    /// The journal is empty (`s_start` is 0): nothing to replay.
    Empty,
    /// After the last committed transaction comes a block that does not
    /// continue the log (no magic number, another sequence, another block
    /// type): the normal end.
    Clean,
    /// Transaction `sequence` began but its commit block is missing: a
    /// crash interrupted it, and it is not replayed.
    Torn {
        /// The interrupted transaction.
        sequence: u32,
    },
    /// A block of transaction `sequence`, at log block `log_block`, failed
    /// a check (`reason`): that transaction and everything after it are
    /// not replayed.
    Corrupt {
        /// The damaged transaction.
        sequence: u32,
        /// Where in the journal.
        log_block: u32,
        /// What is wrong.
        reason: &'static str,
    },
    /// The log ran around the whole journal without ending; what it held
    /// up to there counts.
    Wrapped,
}

/// One committed transaction the scan found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoggedTransaction {
    /// Its sequence number.
    pub sequence: u32,
    /// The log block of its first block.
    pub first_log_block: u32,
    /// Log blocks it takes, commit block included.
    pub log_blocks: u32,
    /// Home blocks it carries a copy of.
    pub data_blocks: u32,
    /// Revoke records it holds.
    pub revoke_records: u32,
    /// When it committed.
    pub commit_time: CommitTime,
}

/// What the scan pass found in the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogScan {
    /// `s_sequence`: the transaction expected first.
    pub first_sequence: u32,
    /// The committed transactions, in log order.
    pub transactions: Vec<LoggedTransaction>,
    /// The sequence of the first transaction not committed: where a new
    /// log would go on.
    pub end_sequence: u32,
    /// Why the log ends there.
    pub end: LogEnd,
}

/// What recovery did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecoveryReport {
    /// The scan it replayed.
    pub scan: LogScan,
    /// Home blocks written (a block in several transactions counts each time).
    pub blocks_replayed: u64,
    /// Copies not replayed because a later transaction revoked them.
    pub blocks_revoked: u64,
    /// Revoke records read.
    pub revoke_records: u64,
}

/// Whether sequence `left` comes after `right` (`tid_gt`: modulo 2³²).
pub(crate) fn sequence_after(left: u32, right: u32) -> bool {
    (left.wrapping_sub(right) as i32) > 0
}

/// Reads the log: one block buffer over the journal's map.
pub(crate) struct LogReader<'a> {
    map: &'a JournalMap,
    format: LogFormat,
    first: u32,
    end: u32,
    buffer: Vec<u8>,
}

impl<'a> LogReader<'a> {
    /// A reader of the log `superblock` describes, stored where `map` says.
    pub(crate) fn new(map: &'a JournalMap, superblock: &JournalSuperblock) -> LogReader<'a> {
        let format = superblock.format();
        LogReader {
            map,
            format,
            first: superblock.first_log_block(),
            end: superblock.journal_blocks(),
            buffer: vec![0u8; format.block_bytes()],
        }
    }

    /// Blocks of the circular log.
    fn capacity(&self) -> u32 {
        self.end.saturating_sub(self.first)
    }

    /// The log block after `block`, wrapping from the end to `s_first`.
    fn next(&self, block: u32) -> u32 {
        let next = block.saturating_add(1);
        if next >= self.end {
            self.first
        } else {
            next
        }
    }

    /// Reads log block `block` into the buffer.
    fn read<D: BlockDevice>(&mut self, device: &mut D, block: u32) -> Result<&[u8]> {
        let offset = self.map.byte_offset(block)?;
        device.read_at(offset, &mut self.buffer)?;
        Ok(&self.buffer)
    }
}

/// The state of a transaction the scan has entered but not yet closed.
struct OpenTransaction {
    first_log_block: u32,
    log_blocks: u32,
    data_blocks: u32,
    revoke_records: u32,
    version_1_checksum: u32,
}

/// Pass 1: finds the committed transactions, from `s_start`.
///
/// `home_block_limit` is the file system's block count: a tag naming a
/// block at or past it, or a block of the journal itself, makes its
/// transaction corrupt.
///
/// Return values: the scan (whatever the log holds, damage included, is
/// described by [`LogScan::end`]); [`Error::Corrupt`] when a log position
/// is outside the map (the superblock was validated against it, so only
/// for a map that does not match the superblock); [`Error::Device`].
pub fn scan_log<D: BlockDevice>(
    device: &mut D,
    map: &JournalMap,
    superblock: &JournalSuperblock,
    home_block_limit: u64,
) -> Result<LogScan> {
    let mut reader = LogReader::new(map, superblock);
    let format = reader.format;
    let mut sequence = superblock.first_sequence();
    let mut scan = LogScan {
        first_sequence: sequence,
        transactions: Vec::new(),
        end_sequence: sequence,
        end: LogEnd::Empty,
    };
    if superblock.is_empty() {
        return Ok(scan);
    }
    let capacity = reader.capacity();
    let mut position = superblock.log_start();
    let mut consumed = 0u32;
    let mut open: Option<OpenTransaction> = None;
    let corrupt = |sequence, log_block, reason| LogEnd::Corrupt {
        sequence,
        log_block,
        reason,
    };
    let end = 'log: loop {
        if consumed >= capacity {
            break 'log LogEnd::Wrapped;
        }
        let here = position;
        position = reader.next(position);
        consumed += 1;
        let block = reader.read(device, here)?;
        let header = match BlockHeader::parse(block) {
            Ok(header) if header.sequence == sequence => header,
            _ => break 'log ended_without_commit(&open, sequence),
        };
        let transaction = open.get_or_insert(OpenTransaction {
            first_log_block: here,
            log_blocks: 0,
            data_blocks: 0,
            revoke_records: 0,
            version_1_checksum: !0,
        });
        transaction.log_blocks += 1;
        match header.block_type {
            block_type::DESCRIPTOR => {
                let descriptor = match DescriptorBlock::parse(block, &format) {
                    Ok(descriptor) => descriptor,
                    Err(error) => break 'log corrupt(sequence, here, error.reason()),
                };
                if format.checksum() == ChecksumVersion::CommitOnly {
                    transaction.version_1_checksum =
                        continue_version_1_checksum(transaction.version_1_checksum, block);
                }
                for tag in &descriptor.tags {
                    if consumed >= capacity {
                        break 'log LogEnd::Wrapped;
                    }
                    let data_here = position;
                    position = reader.next(position);
                    consumed += 1;
                    transaction.log_blocks += 1;
                    transaction.data_blocks += 1;
                    if tag.home_block >= home_block_limit {
                        break 'log corrupt(
                            sequence,
                            here,
                            "a tag names a block outside the file system",
                        );
                    }
                    if map.contains_device_block(tag.home_block) {
                        break 'log corrupt(sequence, here, "a tag names a block of the journal");
                    }
                    let data = reader.read(device, data_here)?;
                    if !tag.matches(&format, sequence, data) {
                        break 'log corrupt(
                            sequence,
                            data_here,
                            "data block checksum does not match",
                        );
                    }
                    if format.checksum() == ChecksumVersion::CommitOnly {
                        transaction.version_1_checksum =
                            continue_version_1_checksum(transaction.version_1_checksum, data);
                    }
                }
            }
            block_type::REVOKE => match RevokeBlock::parse(block, &format) {
                Ok(revoke) => {
                    transaction.revoke_records = transaction
                        .revoke_records
                        .saturating_add(revoke.blocks.len() as u32);
                }
                Err(error) => break 'log corrupt(sequence, here, error.reason()),
            },
            block_type::COMMIT => {
                let commit = match CommitBlock::parse(block, &format) {
                    Ok(commit) => commit,
                    Err(error) => break 'log corrupt(sequence, here, error.reason()),
                };
                if format.checksum() == ChecksumVersion::CommitOnly
                    && !commit.version_1_checksum_matches(transaction.version_1_checksum)
                {
                    break 'log corrupt(sequence, here, "transaction checksum does not match");
                }
                scan.transactions.push(LoggedTransaction {
                    sequence,
                    first_log_block: transaction.first_log_block,
                    log_blocks: transaction.log_blocks,
                    data_blocks: transaction.data_blocks,
                    revoke_records: transaction.revoke_records,
                    commit_time: commit.time,
                });
                open = None;
                sequence = sequence.wrapping_add(1);
            }
            _ => {
                // A superblock or an unknown type with the right sequence:
                // the kernel ends the scan here too. Undo the count of a
                // block that is not part of the transaction.
                transaction.log_blocks -= 1;
                break 'log ended_without_commit(&open, sequence);
            }
        }
    };
    scan.end = end;
    scan.end_sequence = sequence;
    Ok(scan)
}

/// How the log ends at a block that does not continue it.
fn ended_without_commit(open: &Option<OpenTransaction>, sequence: u32) -> LogEnd {
    match open {
        Some(transaction) if transaction.log_blocks > 0 => LogEnd::Torn { sequence },
        _ => LogEnd::Clean,
    }
}

/// Where replayed blocks go.
pub(crate) enum ReplayTarget<'a> {
    /// Home, on the device (recovery).
    Device,
    /// Into memory, block number → contents (a replayed view).
    Memory(&'a mut BTreeMap<u64, Vec<u8>>),
}

/// Passes 2 and 3: collects the revoke records of the scanned
/// transactions, then replays their blocks to `target`.
///
/// Return values: the report; [`Error::Corrupt`] when a block the scan
/// accepted no longer parses or matches its checksum (the device changed
/// under recovery); [`Error::Device`].
pub(crate) fn replay<D: BlockDevice>(
    device: &mut D,
    map: &JournalMap,
    superblock: &JournalSuperblock,
    scan: LogScan,
    mut target: ReplayTarget<'_>,
) -> Result<RecoveryReport> {
    let mut reader = LogReader::new(map, superblock);
    let format = reader.format;
    let block_size = u64::from(format.block_size());
    let changed = || Error::corrupt_inode("the journal changed during recovery", JOURNAL_INODE);
    let mut report = RecoveryReport {
        scan: LogScan {
            transactions: Vec::new(),
            ..scan.clone()
        },
        blocks_replayed: 0,
        blocks_revoked: 0,
        revoke_records: 0,
    };
    // Pass 2: revoke records, home block → latest revoking transaction.
    let mut revoked: BTreeMap<u64, u32> = BTreeMap::new();
    for transaction in &scan.transactions {
        let mut position = transaction.first_log_block;
        let mut remaining = transaction.log_blocks;
        while remaining > 0 {
            let here = position;
            position = reader.next(position);
            remaining -= 1;
            let block = reader.read(device, here)?;
            let header = BlockHeader::parse(block).map_err(|_| changed())?;
            match header.block_type {
                block_type::DESCRIPTOR => {
                    let descriptor =
                        DescriptorBlock::parse(block, &format).map_err(|_| changed())?;
                    let skip = (descriptor.tags.len() as u32).min(remaining);
                    for _ in 0..skip {
                        position = reader.next(position);
                    }
                    remaining -= skip;
                }
                block_type::REVOKE => {
                    let revoke = RevokeBlock::parse(block, &format).map_err(|_| changed())?;
                    for home in revoke.blocks {
                        report.revoke_records += 1;
                        revoked
                            .entry(home)
                            .and_modify(|latest| {
                                if sequence_after(transaction.sequence, *latest) {
                                    *latest = transaction.sequence;
                                }
                            })
                            .or_insert(transaction.sequence);
                    }
                }
                _ => {}
            }
        }
    }
    // Pass 3: replay.
    let mut copy = vec![0u8; format.block_bytes()];
    for transaction in &scan.transactions {
        let mut position = transaction.first_log_block;
        let mut remaining = transaction.log_blocks;
        while remaining > 0 {
            let here = position;
            position = reader.next(position);
            remaining -= 1;
            let block = reader.read(device, here)?;
            let header = BlockHeader::parse(block).map_err(|_| changed())?;
            if header.block_type != block_type::DESCRIPTOR {
                continue;
            }
            let descriptor = DescriptorBlock::parse(block, &format).map_err(|_| changed())?;
            for tag in &descriptor.tags {
                if remaining == 0 {
                    return Err(changed());
                }
                let here = position;
                position = reader.next(position);
                remaining -= 1;
                let data = reader.read(device, here)?;
                if !tag.matches(&format, transaction.sequence, data) {
                    return Err(changed());
                }
                if let Some(&latest) = revoked.get(&tag.home_block) {
                    if !sequence_after(transaction.sequence, latest) {
                        report.blocks_revoked += 1;
                        continue;
                    }
                }
                copy.copy_from_slice(data);
                unescape(&mut copy, tag.escaped);
                match &mut target {
                    ReplayTarget::Device => {
                        let offset = tag.home_block.checked_mul(block_size).ok_or_else(changed)?;
                        device.write_at(offset, &copy)?;
                    }
                    ReplayTarget::Memory(blocks) => {
                        blocks.insert(tag.home_block, copy.clone());
                    }
                }
                report.blocks_replayed += 1;
            }
        }
    }
    report.scan = scan;
    Ok(report)
}

/// Scans the log `superblock` describes and replays its committed
/// transactions home onto `device` (block `n` at byte `n × block size`),
/// leaving both superblocks alone: the three passes on their own, for
/// tools and tests that manage a journal outside a volume ([`super::recover`]
/// does the whole recovery of a volume).
///
/// Return values: the report; the errors of [`scan_log`]; [`Error::Device`].
pub fn replay_log<D: BlockDevice>(
    device: &mut D,
    map: &JournalMap,
    superblock: &JournalSuperblock,
    home_block_limit: u64,
) -> Result<RecoveryReport> {
    let scan = scan_log(device, map, superblock, home_block_limit)?;
    replay(device, map, superblock, scan, ReplayTarget::Device)
}

/// The journal superblock after recovery: empty (`s_start` 0), expecting
/// the sequence after the end of the replayed log, as e2fsck leaves it
/// (`jbd2_journal_recover` sets `++end_transaction`;
/// `e2fsck_journal_release` stores it).
pub(crate) fn recovered_superblock(
    superblock: &JournalSuperblock,
    scan: &LogScan,
) -> JournalSuperblock {
    let next = if superblock.is_empty() {
        superblock.first_sequence().wrapping_add(1)
    } else {
        scan.end_sequence.wrapping_add(1)
    };
    superblock.with_log(0, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequences_compare_modulo_two_to_the_32() {
        assert!(sequence_after(2, 1));
        assert!(!sequence_after(1, 1));
        assert!(sequence_after(0, u32::MAX));
        assert!(!sequence_after(u32::MAX, 0));
    }
}
