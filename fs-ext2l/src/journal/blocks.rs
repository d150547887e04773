// SPDX-License-Identifier: MIT OR Apache-2.0
//! The log's blocks: descriptor, commit and revoke, parsed and encoded.
//!
//! A transaction in the log is a run of blocks that all start with the
//! same 12-byte header (`journal_header_t`: magic, block type, sequence):
//! descriptor blocks, each followed by the copies of the home blocks its
//! tags name; revoke blocks, listing home blocks whose copies in this or
//! earlier transactions must not be replayed; and one commit block that
//! makes the transaction count. Layouts from `include/linux/jbd2.h`:
//!
//! - a descriptor's tags start after the header; each is
//!   `journal_block_tag3_t` with `checksum_v3` (block number, flags, high
//!   block number, CRC32C of the copy) or the shorter
//!   `journal_block_tag_t`; the first tag is followed by the journal's
//!   16-byte UUID, later ones carry `SAME_UUID`, the last `LAST_TAG`, and a
//!   copy whose first word would read as the JBD2 magic is stored with that
//!   word zeroed and the tag flagged `ESCAPE`;
//! - with v2/v3 checksums, descriptor and revoke blocks end in a 4-byte
//!   CRC32C of the whole block (`jbd2_journal_block_tail`), the commit block
//!   has its CRC32C in `h_chksum[0]`, and each tag holds the CRC32C of the
//!   sequence number and its copy;
//! - the commit block carries the commit time, and with version-1
//!   checksums a CRC32 of the transaction's descriptor and data blocks;
//! - a revoke block holds `r_count`, the bytes used, then 4- or 8-byte
//!   block numbers.
//!
//! Parsing follows the kernel's loops exactly (`count_tags` and the replay
//! loop of `fs/jbd2/recovery.c`, e2fsprogs `e2fsck/recovery.c`), so a
//! descriptor means the same number of data blocks here as there, and
//! checks every field it reads; encoding produces exactly what those loops
//! read back.

use alloc::borrow::Cow;
use alloc::vec;
use alloc::vec::Vec;

use super::big_endian::{read_u32, read_u64, write_u32, write_u64};
use super::checksum::{crc32_big_endian, crc32c};
use super::error::FormatError;
use super::superblock::{block_type, ChecksumVersion, LogFormat, JOURNAL_MAGIC};

/// Bytes of the block header.
const HEADER_BYTES: usize = 12;
/// Bytes of the revoke block header (`jbd2_journal_revoke_header_t`).
const REVOKE_HEADER_BYTES: usize = 16;
/// Bytes of the UUID after a descriptor's first tag.
const UUID_BYTES: usize = 16;

/// `t_flags` of a tag.
mod tag_flag {
    /// The copy's first word was the magic number and is stored zeroed.
    pub const ESCAPE: u32 = 0x1;
    /// No UUID follows this tag.
    pub const SAME_UUID: u32 = 0x2;
    /// The last tag of the descriptor.
    pub const LAST_TAG: u32 = 0x8;
}

/// Commit block field offsets (`struct commit_header`).
mod commit_field {
    pub const CHECKSUM_TYPE: usize = 12;
    pub const CHECKSUM_SIZE: usize = 13;
    pub const CHECKSUM: usize = 16;
    pub const SECONDS: usize = 48;
    pub const NANOSECONDS: usize = 56;
}

/// `JBD2_CRC32_CHKSUM`: `h_chksum_type` of a version-1 commit checksum.
const VERSION_1_CHECKSUM_TYPE: u8 = 1;
/// `JBD2_CRC32_CHKSUM_SIZE`.
const VERSION_1_CHECKSUM_SIZE: u8 = 4;

/// The header every log block starts with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockHeader {
    /// `h_blocktype`: 1 descriptor, 2 commit, 3 and 4 superblock, 5 revoke.
    pub block_type: u32,
    /// `h_sequence`: the transaction the block belongs to.
    pub sequence: u32,
}

impl BlockHeader {
    /// Reads the header at the start of `block`.
    ///
    /// Return values: the header, [`FormatError::Truncated`] for fewer than
    /// 12 bytes, or [`FormatError::BadMagic`].
    pub fn parse(block: &[u8]) -> Result<BlockHeader, FormatError> {
        if block.len() < HEADER_BYTES {
            return Err(FormatError::Truncated);
        }
        if read_u32(block, 0) != JOURNAL_MAGIC {
            return Err(FormatError::BadMagic);
        }
        Ok(BlockHeader {
            block_type: read_u32(block, 4),
            sequence: read_u32(block, 8),
        })
    }

    /// Writes this header at the start of `block`.
    fn write(&self, block: &mut [u8]) {
        write_u32(block, 0, JOURNAL_MAGIC);
        write_u32(block, 4, self.block_type);
        write_u32(block, 8, self.sequence);
    }
}

/// Checks that `block` is one whole journal block of `expected` type.
fn whole_block<'a>(
    block: &'a [u8],
    format: &LogFormat,
    expected: u32,
) -> Result<(&'a [u8], BlockHeader), FormatError> {
    let block = block
        .get(..format.block_bytes())
        .ok_or(FormatError::Truncated)?;
    let header = BlockHeader::parse(block)?;
    if header.block_type != expected {
        return Err(FormatError::UnexpectedBlockType {
            found: header.block_type,
        });
    }
    Ok((block, header))
}

/// CRC32C of `block` from the journal's seed with the four bytes at
/// `checksum_offset` read as zero (`jbd2_descriptor_block_csum_verify`,
/// `jbd2_commit_block_csum_verify`).
fn block_checksum(format: &LogFormat, block: &[u8], checksum_offset: usize) -> u32 {
    let before = block.get(..checksum_offset).unwrap_or(&[]);
    let after = block.get(checksum_offset + 4..).unwrap_or(&[]);
    let checksum = crc32c(format.checksum_seed(), before);
    let checksum = crc32c(checksum, &[0; 4]);
    crc32c(checksum, after)
}

/// Verifies the tail checksum of a descriptor or revoke block.
fn verify_tail(format: &LogFormat, block: &[u8]) -> Result<(), FormatError> {
    if !format.has_block_checksums() {
        return Ok(());
    }
    let offset = block.len() - 4;
    if read_u32(block, offset) != block_checksum(format, block, offset) {
        return Err(FormatError::BadChecksum);
    }
    Ok(())
}

/// Sets the tail checksum of a descriptor or revoke block being encoded.
fn set_tail(format: &LogFormat, block: &mut [u8]) {
    if !format.has_block_checksums() {
        return;
    }
    let offset = block.len() - 4;
    let checksum = block_checksum(format, block, offset);
    write_u32(block, offset, checksum);
}

/// The checksum a tag holds for the journal copy `data` of a block in
/// transaction `sequence` (`jbd2_block_tag_csum_set`): CRC32C of the
/// big-endian sequence then the copy, from the journal's seed; only its
/// low 16 bits with version-2 checksums; 0 without.
pub fn data_checksum(format: &LogFormat, sequence: u32, data: &[u8]) -> u32 {
    let checksum = crc32c(format.checksum_seed(), &sequence.to_be_bytes());
    let checksum = crc32c(checksum, data);
    match format.checksum() {
        ChecksumVersion::Version3 => checksum,
        ChecksumVersion::Version2 => checksum & 0xFFFF,
        ChecksumVersion::None | ChecksumVersion::CommitOnly => 0,
    }
}

/// The running CRC32 of version-1 checksums, continued over one block
/// (`calc_chksums`: descriptor and data blocks, never revoke blocks).
pub(crate) fn continue_version_1_checksum(running: u32, block: &[u8]) -> u32 {
    crc32_big_endian(running, block)
}

/// One tag of a descriptor block: where a copy goes home, and how it is
/// stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockTag {
    /// The block of the file system the copy belongs to.
    pub home_block: u64,
    /// The copy's first word was the JBD2 magic and is stored as zeros.
    pub escaped: bool,
    /// The checksum of the copy as stored ([`data_checksum`]).
    pub checksum: u32,
}

impl BlockTag {
    /// Whether `copy`, the data block read from the log for this tag in
    /// transaction `sequence`, matches the tag's checksum (always, without
    /// v2/v3 checksums).
    pub fn matches(&self, format: &LogFormat, sequence: u32, copy: &[u8]) -> bool {
        if !format.has_block_checksums() {
            return true;
        }
        data_checksum(format, sequence, copy) == self.checksum
    }
}

/// A descriptor block: the tags of the data blocks that follow it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DescriptorBlock {
    /// The transaction.
    pub sequence: u32,
    /// One tag per data block that follows, in log order.
    pub tags: Vec<BlockTag>,
}

impl DescriptorBlock {
    /// Parses a descriptor block, verifying its tail checksum.
    ///
    /// The tags are read as the kernel reads them: one after another
    /// while a whole tag fits before the tail, each followed by a UUID
    /// unless flagged `SAME_UUID`, until one is flagged `LAST_TAG`.
    ///
    /// Return values: the descriptor; [`FormatError::Truncated`] for a
    /// buffer shorter than a block; [`FormatError::BadMagic`],
    /// [`FormatError::UnexpectedBlockType`]; [`FormatError::BadChecksum`].
    /// (In a 32-bit journal the high word of a tag is not read, as by the
    /// kernel.)
    pub fn parse(block: &[u8], format: &LogFormat) -> Result<DescriptorBlock, FormatError> {
        let (block, header) = whole_block(block, format, block_type::DESCRIPTOR)?;
        verify_tail(format, block)?;
        let tag_bytes = format.tag_bytes();
        let limit = block.len() - format.tail_bytes();
        let mut tags = Vec::new();
        let mut offset = HEADER_BYTES;
        while offset + tag_bytes <= limit {
            let flags = read_u32(block, offset + 4) & 0xFFFF;
            let mut home_block = u64::from(read_u32(block, offset));
            if format.sixty_four_bit() {
                home_block |= u64::from(read_u32(block, offset + 8)) << 32;
            }
            let checksum = match format.checksum() {
                ChecksumVersion::Version3 => read_u32(block, offset + 12),
                ChecksumVersion::Version2 => read_u32(block, offset + 4) >> 16,
                ChecksumVersion::None | ChecksumVersion::CommitOnly => 0,
            };
            tags.push(BlockTag {
                home_block,
                escaped: flags & tag_flag::ESCAPE != 0,
                checksum,
            });
            offset += tag_bytes;
            if flags & tag_flag::SAME_UUID == 0 {
                offset += UUID_BYTES;
            }
            if flags & tag_flag::LAST_TAG != 0 {
                break;
            }
        }
        Ok(DescriptorBlock {
            sequence: header.sequence,
            tags,
        })
    }

    /// How many tags one descriptor block holds (the first one with the
    /// UUID after it).
    pub fn capacity(format: &LogFormat) -> usize {
        let limit = format.block_bytes() - format.tail_bytes();
        let tag_bytes = format.tag_bytes();
        let first_end = HEADER_BYTES + tag_bytes + UUID_BYTES;
        if first_end > limit {
            return 0;
        }
        1 + (limit - first_end) / tag_bytes
    }

    /// Encodes a descriptor of transaction `sequence` with `tags` (1 to
    /// [`Self::capacity`] of them), with the UUID after the first, the
    /// flags, the tag checksums as given and the tail checksum.
    ///
    /// Return values: the block; [`FormatError::BadField`] for no tags,
    /// more than fit, or a block number above 32 bits in a 32-bit journal.
    pub fn encode(
        sequence: u32,
        tags: &[BlockTag],
        format: &LogFormat,
    ) -> Result<Vec<u8>, FormatError> {
        if tags.is_empty() || tags.len() > Self::capacity(format) {
            return Err(FormatError::BadField(
                "descriptor with no tags or more than fit",
            ));
        }
        let mut block = vec![0u8; format.block_bytes()];
        BlockHeader {
            block_type: block_type::DESCRIPTOR,
            sequence,
        }
        .write(&mut block);
        let tag_bytes = format.tag_bytes();
        let mut offset = HEADER_BYTES;
        for (index, tag) in tags.iter().enumerate() {
            if !format.sixty_four_bit() && tag.home_block > u64::from(u32::MAX) {
                return Err(FormatError::BadField(
                    "block number above 32 bits in a 32-bit journal",
                ));
            }
            let mut flags = 0;
            if tag.escaped {
                flags |= tag_flag::ESCAPE;
            }
            if index > 0 {
                flags |= tag_flag::SAME_UUID;
            }
            if index + 1 == tags.len() {
                flags |= tag_flag::LAST_TAG;
            }
            write_u32(&mut block, offset, tag.home_block as u32);
            match format.checksum() {
                ChecksumVersion::Version3 => {
                    write_u32(&mut block, offset + 4, flags);
                    write_u32(&mut block, offset + 8, (tag.home_block >> 32) as u32);
                    write_u32(&mut block, offset + 12, tag.checksum);
                }
                _ => {
                    write_u32(
                        &mut block,
                        offset + 4,
                        ((tag.checksum & 0xFFFF) << 16) | flags,
                    );
                    if format.sixty_four_bit() {
                        write_u32(&mut block, offset + 8, (tag.home_block >> 32) as u32);
                    }
                }
            }
            offset += tag_bytes;
            if index == 0 {
                if let Some(target) = block.get_mut(offset..offset + UUID_BYTES) {
                    target.copy_from_slice(&format.uuid());
                }
                offset += UUID_BYTES;
            }
        }
        set_tail(format, &mut block);
        Ok(block)
    }
}

/// The journal copy of a home block's contents: the contents, or, when
/// its first word is the JBD2 magic, a copy with that word zeroed and the
/// tag's `escaped` flag set (`jbd2_journal_write_metadata_buffer`).
pub fn escape(contents: &[u8]) -> (Cow<'_, [u8]>, bool) {
    if read_u32(contents, 0) == JOURNAL_MAGIC {
        let mut copy = contents.to_vec();
        write_u32(&mut copy, 0, 0);
        (Cow::Owned(copy), true)
    } else {
        (Cow::Borrowed(contents), false)
    }
}

/// Restores the magic word of an escaped copy read from the log.
pub fn unescape(copy: &mut [u8], escaped: bool) {
    if escaped {
        write_u32(copy, 0, JOURNAL_MAGIC);
    }
}

/// When a transaction committed, as the commit block records it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CommitTime {
    /// Seconds since 1970.
    pub seconds: u64,
    /// Nanoseconds within the second.
    pub nanoseconds: u32,
}

/// A commit block: the transaction is complete.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommitBlock {
    /// The transaction.
    pub sequence: u32,
    /// `h_commit_sec` and `h_commit_nsec`.
    pub time: CommitTime,
    /// `h_chksum_type`, `h_chksum_size` and `h_chksum[0]`: a version-1
    /// checksum, or all zero.
    version_1_checksum: (u8, u8, u32),
}

impl CommitBlock {
    /// Parses a commit block, verifying its v2/v3 checksum.
    ///
    /// Return values: the commit block; [`FormatError::Truncated`],
    /// [`FormatError::BadMagic`], [`FormatError::UnexpectedBlockType`],
    /// [`FormatError::BadChecksum`].
    pub fn parse(block: &[u8], format: &LogFormat) -> Result<CommitBlock, FormatError> {
        let (block, header) = whole_block(block, format, block_type::COMMIT)?;
        if format.has_block_checksums()
            && read_u32(block, commit_field::CHECKSUM)
                != block_checksum(format, block, commit_field::CHECKSUM)
        {
            return Err(FormatError::BadChecksum);
        }
        Ok(CommitBlock {
            sequence: header.sequence,
            time: CommitTime {
                seconds: read_u64(block, commit_field::SECONDS),
                nanoseconds: read_u32(block, commit_field::NANOSECONDS),
            },
            version_1_checksum: (
                block.get(commit_field::CHECKSUM_TYPE).copied().unwrap_or(0),
                block.get(commit_field::CHECKSUM_SIZE).copied().unwrap_or(0),
                read_u32(block, commit_field::CHECKSUM),
            ),
        })
    }

    /// Whether a version-1 checksum is absent or equals `running`, the
    /// CRC32 of the transaction's descriptor and data blocks (the test of
    /// `do_one_pass`: a matching CRC32 of type 1 and size 4, or all zero).
    pub(crate) fn version_1_checksum_matches(&self, running: u32) -> bool {
        let (checksum_type, size, value) = self.version_1_checksum;
        (checksum_type == VERSION_1_CHECKSUM_TYPE
            && size == VERSION_1_CHECKSUM_SIZE
            && value == running)
            || (checksum_type == 0 && size == 0 && value == 0)
    }

    /// Encodes the commit block of transaction `sequence`; `running` is
    /// the version-1 CRC32 of its descriptor and data blocks, used only
    /// with version-1 checksums.
    pub fn encode(sequence: u32, time: CommitTime, format: &LogFormat, running: u32) -> Vec<u8> {
        let mut block = vec![0u8; format.block_bytes()];
        BlockHeader {
            block_type: block_type::COMMIT,
            sequence,
        }
        .write(&mut block);
        write_u64(&mut block, commit_field::SECONDS, time.seconds);
        write_u32(&mut block, commit_field::NANOSECONDS, time.nanoseconds);
        match format.checksum() {
            ChecksumVersion::CommitOnly => {
                if let Some(slot) = block.get_mut(commit_field::CHECKSUM_TYPE) {
                    *slot = VERSION_1_CHECKSUM_TYPE;
                }
                if let Some(slot) = block.get_mut(commit_field::CHECKSUM_SIZE) {
                    *slot = VERSION_1_CHECKSUM_SIZE;
                }
                write_u32(&mut block, commit_field::CHECKSUM, running);
            }
            ChecksumVersion::Version2 | ChecksumVersion::Version3 => {
                let checksum = block_checksum(format, &block, commit_field::CHECKSUM);
                write_u32(&mut block, commit_field::CHECKSUM, checksum);
            }
            ChecksumVersion::None => {}
        }
        block
    }
}

/// A revoke block: home blocks whose copies in this and earlier
/// transactions must not be replayed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevokeBlock {
    /// The transaction.
    pub sequence: u32,
    /// The revoked home blocks.
    pub blocks: Vec<u64>,
}

impl RevokeBlock {
    /// Parses a revoke block, verifying its tail checksum.
    ///
    /// Return values: the block; [`FormatError::Truncated`],
    /// [`FormatError::BadMagic`], [`FormatError::UnexpectedBlockType`],
    /// [`FormatError::BadChecksum`]; [`FormatError::BadField`] when
    /// `r_count` reaches into the tail (`scan_revoke_records` refuses it).
    pub fn parse(block: &[u8], format: &LogFormat) -> Result<RevokeBlock, FormatError> {
        let (block, header) = whole_block(block, format, block_type::REVOKE)?;
        verify_tail(format, block)?;
        let used = read_u32(block, 12) as usize;
        if used > block.len() - format.tail_bytes() {
            return Err(FormatError::BadField("revoke block count past its end"));
        }
        let record_bytes = format.revoke_record_bytes();
        let mut blocks = Vec::new();
        let mut offset = REVOKE_HEADER_BYTES;
        while offset + record_bytes <= used {
            let block_number = if record_bytes == 8 {
                read_u64(block, offset)
            } else {
                u64::from(read_u32(block, offset))
            };
            blocks.push(block_number);
            offset += record_bytes;
        }
        Ok(RevokeBlock {
            sequence: header.sequence,
            blocks,
        })
    }

    /// How many records one revoke block holds.
    pub fn capacity(format: &LogFormat) -> usize {
        (format.block_bytes() - format.tail_bytes() - REVOKE_HEADER_BYTES)
            / format.revoke_record_bytes()
    }

    /// Encodes a revoke block of transaction `sequence` listing `blocks`
    /// (1 to [`Self::capacity`] of them).
    ///
    /// Return values: the block; [`FormatError::BadField`] for no records,
    /// more than fit, or a block number above 32 bits in a 32-bit journal.
    pub fn encode(
        sequence: u32,
        blocks: &[u64],
        format: &LogFormat,
    ) -> Result<Vec<u8>, FormatError> {
        if blocks.is_empty() || blocks.len() > Self::capacity(format) {
            return Err(FormatError::BadField(
                "revoke block with no records or more than fit",
            ));
        }
        let mut block = vec![0u8; format.block_bytes()];
        BlockHeader {
            block_type: block_type::REVOKE,
            sequence,
        }
        .write(&mut block);
        let record_bytes = format.revoke_record_bytes();
        let mut offset = REVOKE_HEADER_BYTES;
        for &block_number in blocks {
            if record_bytes == 8 {
                write_u64(&mut block, offset, block_number);
            } else if let Ok(narrow) = u32::try_from(block_number) {
                write_u32(&mut block, offset, narrow);
            } else {
                return Err(FormatError::BadField(
                    "block number above 32 bits in a 32-bit journal",
                ));
            }
            offset += record_bytes;
        }
        write_u32(&mut block, 12, offset as u32);
        set_tail(format, &mut block);
        Ok(block)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::superblock::ChecksumVersion;

    fn formats() -> Vec<LogFormat> {
        let mut all = Vec::new();
        for block_size in [1024, 4096] {
            for checksum in [
                ChecksumVersion::None,
                ChecksumVersion::CommitOnly,
                ChecksumVersion::Version2,
                ChecksumVersion::Version3,
            ] {
                for sixty_four_bit in [false, true] {
                    all.push(
                        LogFormat::new(block_size, checksum, sixty_four_bit, [9; 16]).unwrap(),
                    );
                }
            }
        }
        all
    }

    #[test]
    fn descriptors_round_trip_at_every_size() {
        for format in formats() {
            let capacity = DescriptorBlock::capacity(&format);
            assert!(capacity > 0);
            for count in [1, 2, capacity] {
                let tags: Vec<BlockTag> = (0..count)
                    .map(|index| BlockTag {
                        home_block: 1000 + index as u64,
                        escaped: index % 3 == 1,
                        checksum: data_checksum(&format, 7, &[index as u8; 16]),
                    })
                    .collect();
                let block = DescriptorBlock::encode(7, &tags, &format).unwrap();
                let parsed = DescriptorBlock::parse(&block, &format).unwrap();
                assert_eq!(parsed.sequence, 7);
                assert_eq!(parsed.tags, tags, "{format:?} with {count} tags");
            }
            assert!(DescriptorBlock::encode(7, &[], &format).is_err());
            let too_many = vec![
                BlockTag {
                    home_block: 1,
                    escaped: false,
                    checksum: 0
                };
                capacity + 1
            ];
            assert!(DescriptorBlock::encode(7, &too_many, &format).is_err());
        }
    }

    #[test]
    fn descriptor_capacity_matches_the_kernel_for_1_kib_v3() {
        let format = LogFormat::new(1024, ChecksumVersion::Version3, false, [0; 16]).unwrap();
        // (1024 - 12 header - 4 tail - 16 UUID) / 16 bytes per tag.
        assert_eq!(DescriptorBlock::capacity(&format), 62);
    }

    #[test]
    fn a_damaged_descriptor_fails_its_checksum() {
        let format = LogFormat::new(1024, ChecksumVersion::Version3, false, [1; 16]).unwrap();
        let tag = BlockTag {
            home_block: 5,
            escaped: false,
            checksum: 0,
        };
        let block = DescriptorBlock::encode(3, &[tag], &format).unwrap();
        for index in 0..block.len() {
            let mut damaged = block.clone();
            damaged[index] ^= 0x10;
            assert!(
                DescriptorBlock::parse(&damaged, &format).is_err(),
                "byte {index}"
            );
        }
        assert_eq!(
            DescriptorBlock::parse(&block[..512], &format),
            Err(FormatError::Truncated)
        );
    }

    #[test]
    fn commit_blocks_round_trip_and_check() {
        for format in formats() {
            let time = CommitTime {
                seconds: 1_700_000_000,
                nanoseconds: 123,
            };
            let block = CommitBlock::encode(9, time, &format, 0xDEAD_BEEF);
            let parsed = CommitBlock::parse(&block, &format).unwrap();
            assert_eq!((parsed.sequence, parsed.time), (9, time));
            match format.checksum() {
                // No version-1 checksum: the fields are zero, which matches.
                ChecksumVersion::None => assert!(parsed.version_1_checksum_matches(1)),
                ChecksumVersion::CommitOnly => {
                    assert!(parsed.version_1_checksum_matches(0xDEAD_BEEF));
                    assert!(!parsed.version_1_checksum_matches(1));
                }
                // The CRC32C sits in `h_chksum[0]` and is never compared so.
                ChecksumVersion::Version2 | ChecksumVersion::Version3 => {}
            }
            if format.has_block_checksums() {
                let mut damaged = block.clone();
                damaged[100] = 1;
                assert_eq!(
                    CommitBlock::parse(&damaged, &format),
                    Err(FormatError::BadChecksum)
                );
            }
        }
    }

    #[test]
    fn revoke_blocks_round_trip_and_check_their_count() {
        for format in formats() {
            let capacity = RevokeBlock::capacity(&format);
            let blocks: Vec<u64> = (0..capacity as u64).map(|index| index * 3 + 1).collect();
            let block = RevokeBlock::encode(4, &blocks, &format).unwrap();
            let parsed = RevokeBlock::parse(&block, &format).unwrap();
            assert_eq!(parsed.blocks, blocks);
            assert!(RevokeBlock::encode(4, &[], &format).is_err());
            let mut too_long = block.clone();
            write_u32(&mut too_long, 12, format.block_size() + 4);
            set_tail(&format, &mut too_long);
            assert!(RevokeBlock::parse(&too_long, &format).is_err());
        }
        let narrow = LogFormat::new(1024, ChecksumVersion::None, false, [0; 16]).unwrap();
        assert!(RevokeBlock::encode(1, &[1 << 40], &narrow).is_err());
    }

    #[test]
    fn escaping_round_trips() {
        let mut contents = vec![7u8; 1024];
        contents[..4].copy_from_slice(&JOURNAL_MAGIC.to_be_bytes());
        let (copy, escaped) = escape(&contents);
        assert!(escaped);
        assert_eq!(copy[..4], [0, 0, 0, 0]);
        let mut restored = copy.into_owned();
        unescape(&mut restored, true);
        assert_eq!(restored, contents);
        let plain = vec![1u8; 1024];
        let (copy, escaped) = escape(&plain);
        assert!(!escaped && matches!(copy, Cow::Borrowed(_)));
    }

    #[test]
    fn hostile_blocks_never_panic() {
        let mut random = 0x1234_5678_9ABC_DEF0u64;
        for format in formats() {
            for round in 0..200u32 {
                let mut block = vec![0u8; format.block_bytes()];
                for byte in block.iter_mut() {
                    random ^= random << 13;
                    random ^= random >> 7;
                    random ^= random << 17;
                    *byte = random as u8;
                }
                write_u32(&mut block, 0, JOURNAL_MAGIC);
                write_u32(&mut block, 4, round % 6);
                let _ = DescriptorBlock::parse(&block, &format);
                let _ = CommitBlock::parse(&block, &format);
                let _ = RevokeBlock::parse(&block, &format);
                let _ = BlockHeader::parse(&block[..round as usize % 16]);
            }
        }
    }
}
