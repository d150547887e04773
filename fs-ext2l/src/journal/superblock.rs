// SPDX-License-Identifier: MIT OR Apache-2.0
//! The journal superblock, its features, and the log format they imply.
//!
//! The first block of the journal holds `journal_superblock_t`
//! (`include/linux/jbd2.h`; e2fsprogs `lib/ext2fs/kernel-jbd.h`): the
//! static description of the log (block size `s_blocksize`, length
//! `s_maxlen`, first log block `s_first`), its dynamic state (`s_start`,
//! the log block where the oldest live transaction begins, 0 when the
//! journal is empty, and `s_sequence`, the transaction expected there),
//! the feature words, the UUID that seeds every checksum, and since
//! `CSUM_V2` a CRC32C of the superblock itself. All fields are big-endian.
//!
//! [`JournalSuperblock`] keeps the 1024 raw bytes, like the file system's
//! `Superblock`, so fields it does not interpret (`s_users`, padding)
//! survive an update; it is only ever built from bytes that
//! [`JournalSuperblock::parse`] validated, or by [`JournalSuperblock::new`].
//! [`LogFormat`] is what the rest of the journal needs from it: the block
//! size, the tag size, which checksums are present and their seed.
//!
//! Accepted: version 1 (`JBD2_SUPERBLOCK_V1`, no features) and version 2
//! with the incompatible features `revoke`, `64bit`, `async_commit`,
//! `checksum_v2` and `checksum_v3` and the compatible `checksum` (the
//! version-1 commit checksum). Refused as [`FormatError::Unsupported`]:
//! fast commits, read-only compatible features (none is defined), unknown
//! incompatible bits, and a journal shared by several file systems, as
//! e2fsck refuses them (`e2fsck/journal.c`, `e2fsck_journal_load`).

use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

use super::big_endian::{read_u32, write_u32};
use super::checksum::crc32c;
use super::error::FormatError;

/// `JBD2_MAGIC_NUMBER`: the first word of every journal block.
pub const JOURNAL_MAGIC: u32 = 0xC03B_3998;
/// Bytes of the superblock structure (the rest of its block is unused).
pub const JOURNAL_SUPERBLOCK_SIZE: usize = 1024;
/// `JBD2_MIN_JOURNAL_BLOCKS`: the smallest journal `mke2fs` makes.
pub const MIN_JOURNAL_BLOCKS: u32 = 1024;
/// `JBD2_MAX_JOURNAL_BLOCKS` in e2fsprogs: the largest journal it makes.
pub const MAX_JOURNAL_BLOCKS: u32 = MIN_JOURNAL_BLOCKS * 10_000;
/// `JBD2_CRC32C_CHKSUM`: `s_checksum_type` of v2/v3 checksums.
const CHECKSUM_TYPE_CRC32C: u8 = 4;

/// `h_blocktype` values of the block header.
pub(crate) mod block_type {
    /// A descriptor block: tags naming the data blocks that follow.
    pub const DESCRIPTOR: u32 = 1;
    /// The commit block that ends a transaction.
    pub const COMMIT: u32 = 2;
    /// A version-1 superblock.
    pub const SUPERBLOCK_V1: u32 = 3;
    /// A version-2 superblock.
    pub const SUPERBLOCK_V2: u32 = 4;
    /// A revoke block: home blocks whose earlier copies must not be replayed.
    pub const REVOKE: u32 = 5;
}

/// Field offsets inside the superblock (`journal_superblock_t`).
mod field {
    pub const MAGIC: usize = 0x00;
    pub const BLOCK_TYPE: usize = 0x04;
    pub const BLOCK_SIZE: usize = 0x0C;
    pub const MAX_LENGTH: usize = 0x10;
    pub const FIRST: usize = 0x14;
    pub const SEQUENCE: usize = 0x18;
    pub const START: usize = 0x1C;
    pub const ERRNO: usize = 0x20;
    pub const FEATURE_COMPATIBLE: usize = 0x24;
    pub const FEATURE_INCOMPATIBLE: usize = 0x28;
    pub const FEATURE_READ_ONLY_COMPATIBLE: usize = 0x2C;
    pub const UUID: usize = 0x30;
    pub const USER_COUNT: usize = 0x40;
    pub const CHECKSUM_TYPE: usize = 0x50;
    pub const CHECKSUM: usize = 0xFC;
}

bitflags::bitflags! {
    /// `s_feature_compat` of the journal.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
    pub struct JournalCompatibleFeatures: u32 {
        /// Version-1 checksums: a CRC32 of each transaction in its commit block.
        const CHECKSUM = 0x1;
    }
}

bitflags::bitflags! {
    /// `s_feature_incompat` of the journal.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
    pub struct JournalIncompatibleFeatures: u32 {
        /// Revoke blocks may appear in the log.
        const REVOKE = 0x1;
        /// Tags and revoke records carry 64-bit block numbers.
        const SIXTY_FOUR_BIT = 0x2;
        /// Commit blocks may be written without waiting for the data.
        const ASYNC_COMMIT = 0x4;
        /// CRC32C checksums, 16 bits per tag.
        const CHECKSUM_V2 = 0x8;
        /// CRC32C checksums, 32 bits per tag (`journal_block_tag3_t`).
        const CHECKSUM_V3 = 0x10;
        /// A fast-commit area at the end of the journal.
        const FAST_COMMIT = 0x20;
    }
}

/// Incompatible features this library replays and writes.
const SUPPORTED_INCOMPATIBLE: JournalIncompatibleFeatures = JournalIncompatibleFeatures::REVOKE
    .union(JournalIncompatibleFeatures::SIXTY_FOUR_BIT)
    .union(JournalIncompatibleFeatures::ASYNC_COMMIT)
    .union(JournalIncompatibleFeatures::CHECKSUM_V2)
    .union(JournalIncompatibleFeatures::CHECKSUM_V3);

/// The journal's three feature words, for display.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct JournalFeatureSet {
    /// `s_feature_compat`.
    pub compatible: u32,
    /// `s_feature_incompat`.
    pub incompatible: u32,
    /// `s_feature_ro_compat`.
    pub read_only_compatible: u32,
}

impl fmt::Display for JournalFeatureSet {
    /// Space-separated names as `dumpe2fs` prints them
    /// (`lib/e2p/feature.c`), `FEATURE_I5`-style for bits it does not
    /// name, `(none)` for an empty set.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (word, letter) in [
            (self.compatible, 'C'),
            (self.incompatible, 'I'),
            (self.read_only_compatible, 'R'),
        ] {
            for bit_index in 0..32u32 {
                let bit = 1u32 << bit_index;
                if word & bit == 0 {
                    continue;
                }
                if !first {
                    write!(formatter, " ")?;
                }
                first = false;
                let name = match (letter, bit) {
                    ('C', 0x1) => Some("journal_checksum"),
                    ('I', 0x1) => Some("journal_incompat_revoke"),
                    ('I', 0x2) => Some("journal_64bit"),
                    ('I', 0x4) => Some("journal_async_commit"),
                    ('I', 0x8) => Some("journal_checksum_v2"),
                    ('I', 0x10) => Some("journal_checksum_v3"),
                    _ => None,
                };
                match name {
                    Some(name) => write!(formatter, "{name}")?,
                    None => write!(formatter, "FEATURE_{letter}{bit_index}")?,
                }
            }
        }
        if first {
            write!(formatter, "(none)")?;
        }
        Ok(())
    }
}

/// Which checksums the log carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChecksumVersion {
    /// None at all (what `mke2fs -t ext3` makes).
    None,
    /// Version 1 (`JBD2_FEATURE_COMPAT_CHECKSUM`): the commit block holds a
    /// big-endian CRC32 of the transaction's descriptor and data blocks.
    CommitOnly,
    /// Version 2: CRC32C of every descriptor, revoke and commit block, and
    /// the low 16 bits of each data block's CRC32C in its tag.
    Version2,
    /// Version 3: as version 2 with the whole 32 bits in the tag.
    Version3,
}

/// What the log's blocks look like: everything a parser or writer of
/// descriptor, commit and revoke blocks needs from the superblock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogFormat {
    block_size: u32,
    checksum: ChecksumVersion,
    sixty_four_bit: bool,
    async_commit: bool,
    uuid: [u8; 16],
    checksum_seed: u32,
}

impl LogFormat {
    /// A format of `block_size`-byte blocks with the given checksums, for
    /// the journal whose UUID is `uuid` (the checksum seed is CRC32C of it).
    ///
    /// Return values: the format, or [`FormatError::BadField`] for a block
    /// size that is not a power of two from 1 KiB to 64 KiB.
    pub fn new(
        block_size: u32,
        checksum: ChecksumVersion,
        sixty_four_bit: bool,
        uuid: [u8; 16],
    ) -> Result<LogFormat, FormatError> {
        if !block_size.is_power_of_two() || !(1024..=65536).contains(&block_size) {
            return Err(FormatError::BadField(
                "journal block size is not 1 to 64 KiB",
            ));
        }
        Ok(LogFormat {
            block_size,
            checksum,
            sixty_four_bit,
            async_commit: false,
            uuid,
            checksum_seed: crc32c(!0, &uuid),
        })
    }

    /// Bytes per journal block.
    pub fn block_size(&self) -> u32 {
        self.block_size
    }

    /// Bytes per journal block, as `usize`.
    pub(crate) fn block_bytes(&self) -> usize {
        self.block_size as usize
    }

    /// The checksums the log carries.
    pub fn checksum(&self) -> ChecksumVersion {
        self.checksum
    }

    /// Whether tags and revoke records hold 64-bit block numbers.
    pub fn sixty_four_bit(&self) -> bool {
        self.sixty_four_bit
    }

    /// Whether commit blocks may precede their data (`async_commit`).
    pub fn async_commit(&self) -> bool {
        self.async_commit
    }

    /// The journal UUID, written after the first tag of a descriptor.
    pub fn uuid(&self) -> [u8; 16] {
        self.uuid
    }

    /// Whether descriptor, revoke and commit blocks carry a CRC32C.
    pub(crate) fn has_block_checksums(&self) -> bool {
        matches!(
            self.checksum,
            ChecksumVersion::Version2 | ChecksumVersion::Version3
        )
    }

    /// `j_csum_seed`: CRC32C of the journal UUID from ~0.
    pub(crate) fn checksum_seed(&self) -> u32 {
        self.checksum_seed
    }

    /// Bytes of one tag (`journal_tag_bytes` in `jbd2.h`): 16 with
    /// version-3 checksums, else 12 with 64-bit block numbers or 8
    /// without, plus 2 with version-2 checksums.
    pub(crate) fn tag_bytes(&self) -> usize {
        if self.checksum == ChecksumVersion::Version3 {
            return 16;
        }
        let mut bytes = 12;
        if self.checksum == ChecksumVersion::Version2 {
            bytes += 2;
        }
        if !self.sixty_four_bit {
            bytes -= 4;
        }
        bytes
    }

    /// Bytes of the checksum tail of descriptor and revoke blocks
    /// (`struct jbd2_journal_block_tail`): 4 with v2/v3 checksums, else 0.
    pub(crate) fn tail_bytes(&self) -> usize {
        if self.has_block_checksums() {
            4
        } else {
            0
        }
    }

    /// Bytes of a revoke record: 8 with 64-bit block numbers, else 4.
    pub(crate) fn revoke_record_bytes(&self) -> usize {
        if self.sixty_four_bit {
            8
        } else {
            4
        }
    }
}

/// A validated journal superblock.
#[derive(Clone)]
pub struct JournalSuperblock {
    raw: [u8; JOURNAL_SUPERBLOCK_SIZE],
}

impl fmt::Debug for JournalSuperblock {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("JournalSuperblock")
            .field("version", &self.version())
            .field("block_size", &self.block_size())
            .field("journal_blocks", &self.journal_blocks())
            .field("first_log_block", &self.first_log_block())
            .field("first_sequence", &self.first_sequence())
            .field("log_start", &self.log_start())
            .field("features", &self.features())
            .finish()
    }
}

/// The CRC32C of a superblock's first 1024 bytes with `s_checksum` zeroed
/// (`e2fsck_journal_sb_csum`; Linux `jbd2_superblock_csum`).
fn superblock_checksum(raw: &[u8; JOURNAL_SUPERBLOCK_SIZE]) -> u32 {
    let mut copy = *raw;
    write_u32(&mut copy, field::CHECKSUM, 0);
    crc32c(!0, &copy)
}

impl JournalSuperblock {
    /// Validates the superblock at the start of `bytes` (the journal's
    /// first block). See the module doc for what is accepted.
    ///
    /// Return values:
    /// - the superblock;
    /// - [`FormatError::Truncated`] for fewer than 1024 bytes;
    /// - [`FormatError::BadMagic`], [`FormatError::UnexpectedBlockType`]
    ///   (a log block where the superblock should be);
    /// - [`FormatError::Unsupported`] for another version, fast commits,
    ///   unknown incompatible or any read-only compatible feature, a shared
    ///   journal;
    /// - [`FormatError::BadChecksum`] when a v2/v3 checksum does not match;
    /// - [`FormatError::BadField`] for a field out of range (block size,
    ///   first block, length, start, checksum type or version conflicts).
    pub fn parse(bytes: &[u8]) -> Result<JournalSuperblock, FormatError> {
        let source = bytes
            .get(..JOURNAL_SUPERBLOCK_SIZE)
            .ok_or(FormatError::Truncated)?;
        let mut raw = [0u8; JOURNAL_SUPERBLOCK_SIZE];
        raw.copy_from_slice(source);
        if read_u32(&raw, field::MAGIC) != JOURNAL_MAGIC {
            return Err(FormatError::BadMagic);
        }
        let superblock = JournalSuperblock { raw };
        match read_u32(&raw, field::BLOCK_TYPE) {
            block_type::SUPERBLOCK_V1 | block_type::SUPERBLOCK_V2 => {}
            found @ (block_type::DESCRIPTOR | block_type::COMMIT | block_type::REVOKE) => {
                return Err(FormatError::UnexpectedBlockType { found });
            }
            _ => {
                return Err(FormatError::Unsupported(
                    "journal superblock of an unknown version",
                ))
            }
        }
        let features = superblock.features();
        let incompatible = JournalIncompatibleFeatures::from_bits_retain(features.incompatible);
        if incompatible.contains(JournalIncompatibleFeatures::FAST_COMMIT) {
            return Err(FormatError::Unsupported("journal with fast commits"));
        }
        if !SUPPORTED_INCOMPATIBLE.contains(incompatible) {
            return Err(FormatError::Unsupported(
                "journal with unknown incompatible features",
            ));
        }
        if features.read_only_compatible != 0 {
            return Err(FormatError::Unsupported(
                "journal with read-only compatible features",
            ));
        }
        if superblock.version() == 2 && read_u32(&raw, field::USER_COUNT) > 1 {
            return Err(FormatError::Unsupported(
                "journal shared by several file systems",
            ));
        }
        let version_2 = incompatible.contains(JournalIncompatibleFeatures::CHECKSUM_V2);
        let version_3 = incompatible.contains(JournalIncompatibleFeatures::CHECKSUM_V3);
        if version_2 && version_3 {
            return Err(FormatError::BadField(
                "journal claims both checksum versions 2 and 3",
            ));
        }
        if (version_2 || version_3)
            && features.compatible & JournalCompatibleFeatures::CHECKSUM.bits() != 0
        {
            return Err(FormatError::BadField(
                "journal claims checksum versions 1 and 2 or 3",
            ));
        }
        if version_2 || version_3 {
            if raw.get(field::CHECKSUM_TYPE).copied() != Some(CHECKSUM_TYPE_CRC32C) {
                return Err(FormatError::BadField("journal checksum type is not crc32c"));
            }
            if read_u32(&raw, field::CHECKSUM) != superblock_checksum(&raw) {
                return Err(FormatError::BadChecksum);
            }
        }
        let block_size = superblock.block_size();
        if !block_size.is_power_of_two() || !(1024..=65536).contains(&block_size) {
            return Err(FormatError::BadField(
                "journal block size is not 1 to 64 KiB",
            ));
        }
        let length = superblock.journal_blocks();
        let first = superblock.first_log_block();
        if first == 0 || first >= length {
            return Err(FormatError::BadField(
                "journal first log block outside the journal",
            ));
        }
        let start = superblock.log_start();
        if start != 0 && (start < first || start >= length) {
            return Err(FormatError::BadField("journal log start outside the log"));
        }
        Ok(superblock)
    }

    /// A fresh, empty version-2 superblock as `mke2fs` writes it
    /// (`ext2fs_create_journal_superblock2`): one user, log from block 1,
    /// sequence 1, the file system's UUID; plus, unlike `mke2fs` on a file
    /// system without `metadata_csum`, the `revoke` and `checksum_v3`
    /// features with a CRC32C superblock checksum, so a torn transaction
    /// is always detected.
    ///
    /// Return values: the superblock, or [`FormatError::BadField`] for a
    /// block size that is not 1 to 64 KiB or fewer than 2 blocks.
    pub fn new(
        block_size: u32,
        journal_blocks: u32,
        uuid: [u8; 16],
    ) -> Result<JournalSuperblock, FormatError> {
        Self::with_features(
            block_size,
            journal_blocks,
            uuid,
            JournalCompatibleFeatures::empty(),
            JournalIncompatibleFeatures::REVOKE | JournalIncompatibleFeatures::CHECKSUM_V3,
        )
    }

    /// As [`Self::new`] with chosen features (for tests and tools that
    /// need the other formats).
    ///
    /// Return values: as [`Self::new`], plus the errors of [`Self::parse`]
    /// for a feature combination it refuses.
    pub fn with_features(
        block_size: u32,
        journal_blocks: u32,
        uuid: [u8; 16],
        compatible: JournalCompatibleFeatures,
        incompatible: JournalIncompatibleFeatures,
    ) -> Result<JournalSuperblock, FormatError> {
        let mut raw = [0u8; JOURNAL_SUPERBLOCK_SIZE];
        write_u32(&mut raw, field::MAGIC, JOURNAL_MAGIC);
        write_u32(&mut raw, field::BLOCK_TYPE, block_type::SUPERBLOCK_V2);
        write_u32(&mut raw, field::BLOCK_SIZE, block_size);
        write_u32(&mut raw, field::MAX_LENGTH, journal_blocks);
        write_u32(&mut raw, field::FIRST, 1);
        write_u32(&mut raw, field::SEQUENCE, 1);
        write_u32(&mut raw, field::FEATURE_COMPATIBLE, compatible.bits());
        write_u32(&mut raw, field::FEATURE_INCOMPATIBLE, incompatible.bits());
        write_u32(&mut raw, field::USER_COUNT, 1);
        if let Some(target) = raw.get_mut(field::UUID..field::UUID + 16) {
            target.copy_from_slice(&uuid);
        }
        let checksummed = incompatible.intersects(
            JournalIncompatibleFeatures::CHECKSUM_V2 | JournalIncompatibleFeatures::CHECKSUM_V3,
        );
        if checksummed {
            if let Some(slot) = raw.get_mut(field::CHECKSUM_TYPE) {
                *slot = CHECKSUM_TYPE_CRC32C;
            }
        }
        let mut superblock = JournalSuperblock { raw };
        superblock.update_checksum();
        JournalSuperblock::parse(&superblock.raw)
    }

    /// Recomputes `s_checksum` when the journal has v2/v3 checksums.
    fn update_checksum(&mut self) {
        let incompatible = JournalIncompatibleFeatures::from_bits_retain(read_u32(
            &self.raw,
            field::FEATURE_INCOMPATIBLE,
        ));
        if incompatible.intersects(
            JournalIncompatibleFeatures::CHECKSUM_V2 | JournalIncompatibleFeatures::CHECKSUM_V3,
        ) {
            let checksum = superblock_checksum(&self.raw);
            write_u32(&mut self.raw, field::CHECKSUM, checksum);
        }
    }

    /// The 1024 bytes of the structure.
    pub fn as_bytes(&self) -> &[u8; JOURNAL_SUPERBLOCK_SIZE] {
        &self.raw
    }

    /// The superblock as a whole journal block of `block_size` bytes (the
    /// structure, then zeros), as written to the journal's block 0.
    pub fn to_block(&self) -> Vec<u8> {
        let mut block = vec![0u8; (self.block_size() as usize).max(JOURNAL_SUPERBLOCK_SIZE)];
        if let Some(target) = block.get_mut(..JOURNAL_SUPERBLOCK_SIZE) {
            target.copy_from_slice(&self.raw);
        }
        block
    }

    /// 1 or 2 (`JBD2_SUPERBLOCK_V1`, `_V2`).
    pub fn version(&self) -> u32 {
        if read_u32(&self.raw, field::BLOCK_TYPE) == block_type::SUPERBLOCK_V1 {
            1
        } else {
            2
        }
    }

    /// `s_blocksize`.
    pub fn block_size(&self) -> u32 {
        read_u32(&self.raw, field::BLOCK_SIZE)
    }

    /// `s_maxlen`: blocks of the journal, superblock included.
    pub fn journal_blocks(&self) -> u32 {
        read_u32(&self.raw, field::MAX_LENGTH)
    }

    /// `s_first`: the first block of the circular log.
    pub fn first_log_block(&self) -> u32 {
        read_u32(&self.raw, field::FIRST)
    }

    /// `s_sequence`: the transaction expected at [`Self::log_start`].
    pub fn first_sequence(&self) -> u32 {
        read_u32(&self.raw, field::SEQUENCE)
    }

    /// `s_start`: where the oldest live transaction begins; 0 when the
    /// journal is empty (cleanly unmounted, or recovered).
    pub fn log_start(&self) -> u32 {
        read_u32(&self.raw, field::START)
    }

    /// `s_errno`: the error a kernel recorded when it aborted the journal.
    pub fn errno(&self) -> i32 {
        read_u32(&self.raw, field::ERRNO) as i32
    }

    /// `s_uuid`.
    pub fn uuid(&self) -> [u8; 16] {
        let mut uuid = [0u8; 16];
        if let Some(source) = self.raw.get(field::UUID..field::UUID + 16) {
            uuid.copy_from_slice(source);
        }
        uuid
    }

    /// The feature words; a version-1 superblock has none, whatever its
    /// bytes say (e2fsck clears them).
    pub fn features(&self) -> JournalFeatureSet {
        if self.version() == 1 {
            return JournalFeatureSet::default();
        }
        JournalFeatureSet {
            compatible: read_u32(&self.raw, field::FEATURE_COMPATIBLE),
            incompatible: read_u32(&self.raw, field::FEATURE_INCOMPATIBLE),
            read_only_compatible: read_u32(&self.raw, field::FEATURE_READ_ONLY_COMPATIBLE),
        }
    }

    /// The log format these features describe.
    pub fn format(&self) -> LogFormat {
        let features = self.features();
        let incompatible = JournalIncompatibleFeatures::from_bits_retain(features.incompatible);
        let checksum = if incompatible.contains(JournalIncompatibleFeatures::CHECKSUM_V3) {
            ChecksumVersion::Version3
        } else if incompatible.contains(JournalIncompatibleFeatures::CHECKSUM_V2) {
            ChecksumVersion::Version2
        } else if features.compatible & JournalCompatibleFeatures::CHECKSUM.bits() != 0 {
            ChecksumVersion::CommitOnly
        } else {
            ChecksumVersion::None
        };
        let uuid = self.uuid();
        LogFormat {
            block_size: self.block_size(),
            checksum,
            sixty_four_bit: incompatible.contains(JournalIncompatibleFeatures::SIXTY_FOUR_BIT),
            async_commit: incompatible.contains(JournalIncompatibleFeatures::ASYNC_COMMIT),
            uuid,
            checksum_seed: crc32c(!0, &uuid),
        }
    }

    /// This superblock with the log starting at `log_start` (0: empty)
    /// with transaction `sequence` expected there, checksum updated: the
    /// only fields the writer and recovery change.
    pub fn with_log(&self, log_start: u32, sequence: u32) -> JournalSuperblock {
        let mut updated = self.clone();
        write_u32(&mut updated.raw, field::START, log_start);
        write_u32(&mut updated.raw, field::SEQUENCE, sequence);
        updated.update_checksum();
        updated
    }

    /// Whether the log is empty (`s_start` is 0).
    pub fn is_empty(&self) -> bool {
        self.log_start() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fresh() -> JournalSuperblock {
        JournalSuperblock::new(1024, 1024, [0x42; 16]).unwrap()
    }

    #[test]
    fn a_new_superblock_round_trips() {
        let superblock = fresh();
        let parsed = JournalSuperblock::parse(&superblock.to_block()).unwrap();
        assert_eq!(parsed.as_bytes(), superblock.as_bytes());
        assert_eq!(parsed.version(), 2);
        assert_eq!(parsed.journal_blocks(), 1024);
        assert_eq!(parsed.first_log_block(), 1);
        assert_eq!(parsed.first_sequence(), 1);
        assert!(parsed.is_empty());
        assert_eq!(parsed.uuid(), [0x42; 16]);
        assert_eq!(parsed.format().checksum(), ChecksumVersion::Version3);
        assert_eq!(parsed.format().tag_bytes(), 16);
        assert_eq!(
            parsed.features().to_string(),
            "journal_incompat_revoke journal_checksum_v3"
        );
        let moved = parsed.with_log(17, 99);
        let reparsed = JournalSuperblock::parse(moved.as_bytes()).unwrap();
        assert_eq!((reparsed.log_start(), reparsed.first_sequence()), (17, 99));
    }

    #[test]
    fn the_superblock_checksum_is_crc32c_with_the_field_zeroed() {
        let superblock = fresh();
        let stored = read_u32(superblock.as_bytes(), field::CHECKSUM);
        let mut copy = *superblock.as_bytes();
        copy[field::CHECKSUM..field::CHECKSUM + 4].fill(0);
        assert_eq!(stored, crc32c(!0, &copy));
    }

    #[test]
    fn hostile_superblocks_are_refused() {
        let good = *fresh().as_bytes();
        assert_eq!(
            JournalSuperblock::parse(&good[..100]).unwrap_err(),
            FormatError::Truncated
        );
        let mut bad = good;
        bad[0] ^= 1;
        assert_eq!(
            JournalSuperblock::parse(&bad).unwrap_err(),
            FormatError::BadMagic
        );
        let mut bad = good;
        bad[0x60] ^= 1; // padding, covered by the checksum
        assert_eq!(
            JournalSuperblock::parse(&bad).unwrap_err(),
            FormatError::BadChecksum
        );
        let edits: [(usize, u32); 6] = [
            (field::BLOCK_TYPE, block_type::COMMIT),
            (field::BLOCK_TYPE, 9),
            (field::BLOCK_SIZE, 1000),
            (field::FIRST, 0),
            (field::START, 5000),
            (field::FEATURE_INCOMPATIBLE, 0x20),
        ];
        for (offset, value) in edits {
            let mut raw = good;
            write_u32(&mut raw, offset, value);
            let mut edited = JournalSuperblock { raw };
            edited.update_checksum();
            assert!(
                JournalSuperblock::parse(edited.as_bytes()).is_err(),
                "field {offset:#x} = {value}"
            );
        }
        // Every single-byte change of a valid superblock parses or fails
        // cleanly (never panics).
        for index in 0..JOURNAL_SUPERBLOCK_SIZE {
            for value in [0u8, 0xFF, 0x80] {
                let mut raw = good;
                raw[index] = value;
                let _ = JournalSuperblock::parse(&raw);
            }
        }
    }

    #[test]
    fn version_one_superblocks_have_no_features() {
        let mut raw = *fresh().as_bytes();
        write_u32(&mut raw, field::BLOCK_TYPE, block_type::SUPERBLOCK_V1);
        write_u32(&mut raw, field::FEATURE_INCOMPATIBLE, 0);
        let parsed = JournalSuperblock::parse(&raw).unwrap();
        assert_eq!(parsed.version(), 1);
        assert_eq!(parsed.format().checksum(), ChecksumVersion::None);
        assert_eq!(parsed.format().tag_bytes(), 8);
    }

    #[test]
    fn tag_sizes_follow_jbd2() {
        let uuid = [0; 16];
        let size = |checksum, sixty_four_bit| {
            LogFormat::new(1024, checksum, sixty_four_bit, uuid)
                .unwrap()
                .tag_bytes()
        };
        assert_eq!(size(ChecksumVersion::None, false), 8);
        assert_eq!(size(ChecksumVersion::None, true), 12);
        assert_eq!(size(ChecksumVersion::Version2, false), 10);
        assert_eq!(size(ChecksumVersion::Version2, true), 14);
        assert_eq!(size(ChecksumVersion::Version3, false), 16);
        assert_eq!(size(ChecksumVersion::Version3, true), 16);
    }
}
