// SPDX-License-Identifier: MIT OR Apache-2.0
//! Superblock feature flags and the policy of which ones this library handles.
//!
//! ext2 revision 1 has three feature words (the ext2/ext4 layout in the Linux
//! kernel's `Documentation/filesystems/ext4/super.rst`): *compatible* ones an
//! implementation may ignore, *read-only compatible* ones it may ignore only
//! when it does not write, and *incompatible* ones it must understand to read
//! at all. [`FeatureSet`] holds the three words; [`FeatureSet::unsupported`]
//! and [`FeatureSet::write_blockers`] say what stops a mount or a read-write
//! mount. Names follow e2fsprogs (`lib/e2p/feature.c`) so messages match what
//! `dumpe2fs` prints, including `FEATURE_R31` for unknown bits.
//!
//! ext2l's own feature is [`ReadOnlyCompatibleFeatures::EXT2L`], bit 31 of
//! `s_feature_ro_compat`: ext4 defines ro_compat bits up to 0x10000 (orphan
//! present) and nothing near the top of the word, so a stock kernel mounts an
//! ext2l volume read-only at most and stock e2fsck refuses it.

use core::fmt;

bitflags::bitflags! {
    /// `s_feature_compat`: features a reader may ignore.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
    pub struct CompatibleFeatures: u32 {
        /// Preallocate blocks for new directories.
        const DIR_PREALLOC = 0x1;
        /// AFS server inodes.
        const IMAGIC_INODES = 0x2;
        /// An ext3 journal exists (inode 8).
        const HAS_JOURNAL = 0x4;
        /// Extended attributes in blocks (`i_file_acl`).
        const EXT_ATTR = 0x8;
        /// Reserved group descriptor blocks for growing, owned by inode 7.
        const RESIZE_INODE = 0x10;
        /// Hashed (htree) directory indexes.
        const DIR_INDEX = 0x20;
        /// Lazy block groups.
        const LAZY_BG = 0x40;
        /// Exclude bitmap (snapshots).
        const EXCLUDE_BITMAP = 0x100;
        /// At most two backup superblocks.
        const SPARSE_SUPER2 = 0x200;
        /// Fast commits in the journal.
        const FAST_COMMIT = 0x400;
        /// Inode numbers never change.
        const STABLE_INODES = 0x800;
        /// Orphan file.
        const ORPHAN_FILE = 0x1000;
    }
}

bitflags::bitflags! {
    /// `s_feature_incompat`: features a reader must understand.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
    pub struct IncompatibleFeatures: u32 {
        /// Compression.
        const COMPRESSION = 0x1;
        /// Directory entries record the file type.
        const FILETYPE = 0x2;
        /// The journal needs recovery.
        const RECOVER = 0x4;
        /// This is an external journal device.
        const JOURNAL_DEV = 0x8;
        /// Meta block groups.
        const META_BG = 0x10;
        /// Extent trees instead of block maps.
        const EXTENTS = 0x40;
        /// 64-bit block numbers.
        const SIXTY_FOUR_BIT = 0x80;
        /// Multiple mount protection.
        const MMP = 0x100;
        /// Flexible block groups.
        const FLEX_BG = 0x200;
        /// Extended attribute values in inodes.
        const EA_INODE = 0x400;
        /// Data in directory entries.
        const DIRDATA = 0x1000;
        /// Metadata checksum seed in the superblock.
        const CSUM_SEED = 0x2000;
        /// Directories over 2 GiB or with 3-level htrees.
        const LARGEDIR = 0x4000;
        /// Data inside inodes.
        const INLINE_DATA = 0x8000;
        /// Encrypted inodes.
        const ENCRYPT = 0x10000;
        /// Case-insensitive names.
        const CASEFOLD = 0x20000;
    }
}

bitflags::bitflags! {
    /// `s_feature_ro_compat`: features a writer must understand.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
    pub struct ReadOnlyCompatibleFeatures: u32 {
        /// Superblock backups only in groups 0, 1 and powers of 3, 5, 7.
        const SPARSE_SUPER = 0x1;
        /// Files of 2 GiB and more (`i_size_high`).
        const LARGE_FILE = 0x2;
        /// B-tree directories (never implemented anywhere).
        const BTREE_DIR = 0x4;
        /// `i_blocks` in file-system blocks, 48 bits.
        const HUGE_FILE = 0x8;
        /// Group descriptor checksums.
        const GDT_CSUM = 0x10;
        /// Directories with more than 65000 subdirectories.
        const DIR_NLINK = 0x20;
        /// Large inodes reserve `s_min_extra_isize`.
        const EXTRA_ISIZE = 0x40;
        /// Snapshots.
        const HAS_SNAPSHOT = 0x80;
        /// Quota inodes.
        const QUOTA = 0x100;
        /// Clusters of blocks.
        const BIGALLOC = 0x200;
        /// Metadata checksums.
        const METADATA_CSUM = 0x400;
        /// Replicas.
        const REPLICA = 0x800;
        /// Read-only file system image.
        const READONLY = 0x1000;
        /// Project quotas.
        const PROJECT = 0x2000;
        /// Shared blocks.
        const SHARED_BLOCKS = 0x4000;
        /// fs-verity.
        const VERITY = 0x8000;
        /// Orphan file has entries.
        const ORPHAN_PRESENT = 0x10000;
        /// ext2l: rootlinks in `i_faddr`, directory hardlinks and reserved
        /// dot-only names (DESIGN §4). Bit 31, far from every bit ext4 uses.
        const EXT2L = 0x8000_0000;
    }
}

/// The `s_feature_ro_compat` bit that marks an ext2l volume.
pub const EXT2L_FEATURE_RO_COMPAT_EXT2L: u32 = ReadOnlyCompatibleFeatures::EXT2L.bits();

/// All three feature words of a superblock, including bits no flag names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct FeatureSet {
    /// `s_feature_compat`.
    pub compatible: u32,
    /// `s_feature_incompat`.
    pub incompatible: u32,
    /// `s_feature_ro_compat`.
    pub read_only_compatible: u32,
}

/// Incompatible features this library reads and writes. `needs_recovery`
/// is handled before the mount looks at features: a read-write mount
/// replays the journal and clears it, a read-only mount refuses
/// (`journal/volume.rs`), an external journal is refused there.
const SUPPORTED_INCOMPATIBLE: u32 =
    IncompatibleFeatures::FILETYPE.bits() | IncompatibleFeatures::RECOVER.bits();

/// Read-only compatible features this library keeps correct when it writes.
const WRITABLE_READ_ONLY_COMPATIBLE: u32 = ReadOnlyCompatibleFeatures::SPARSE_SUPER.bits()
    | ReadOnlyCompatibleFeatures::LARGE_FILE.bits()
    | ReadOnlyCompatibleFeatures::EXT2L.bits();

/// Compatible features whose structures writing leaves intact: the journal is
/// only ever empty here (a mount replays it first), extended attribute
/// blocks are kept and reference-counted, reserved GDT blocks are never
/// allocated, and a modified directory loses its index flag as on Linux ext2.
const WRITABLE_COMPATIBLE: u32 = CompatibleFeatures::DIR_PREALLOC.bits()
    | CompatibleFeatures::HAS_JOURNAL.bits()
    | CompatibleFeatures::EXT_ATTR.bits()
    | CompatibleFeatures::RESIZE_INODE.bits()
    | CompatibleFeatures::DIR_INDEX.bits();

impl FeatureSet {
    /// Incompatible features that make the image unreadable here.
    pub fn unsupported(&self) -> FeatureSet {
        FeatureSet {
            compatible: 0,
            incompatible: self.incompatible & !SUPPORTED_INCOMPATIBLE,
            read_only_compatible: 0,
        }
    }

    /// Features that make this library refuse to write (it still reads).
    pub fn write_blockers(&self) -> FeatureSet {
        FeatureSet {
            compatible: self.compatible & !WRITABLE_COMPATIBLE,
            incompatible: 0,
            read_only_compatible: self.read_only_compatible & !WRITABLE_READ_ONLY_COMPATIBLE,
        }
    }

    /// No bit set in any word.
    pub fn is_empty(&self) -> bool {
        self.compatible == 0 && self.incompatible == 0 && self.read_only_compatible == 0
    }

    /// Whether the ext2l bit is set.
    pub fn has_ext2l(&self) -> bool {
        self.read_only_compatible & EXT2L_FEATURE_RO_COMPAT_EXT2L != 0
    }
}

/// The e2fsprogs name of one feature bit; `None` for bits it does not name.
fn feature_name(word: usize, bit: u32) -> Option<&'static str> {
    let name = match word {
        0 => match bit {
            0x1 => "dir_prealloc",
            0x2 => "imagic_inodes",
            0x4 => "has_journal",
            0x8 => "ext_attr",
            0x10 => "resize_inode",
            0x20 => "dir_index",
            0x40 => "lazy_bg",
            0x100 => "snapshot_bitmap",
            0x200 => "sparse_super2",
            0x400 => "fast_commit",
            0x800 => "stable_inodes",
            0x1000 => "orphan_file",
            _ => return None,
        },
        1 => match bit {
            0x1 => "compression",
            0x2 => "filetype",
            0x4 => "needs_recovery",
            0x8 => "journal_dev",
            0x10 => "meta_bg",
            0x40 => "extent",
            0x80 => "64bit",
            0x100 => "mmp",
            0x200 => "flex_bg",
            0x400 => "ea_inode",
            0x1000 => "dirdata",
            0x2000 => "metadata_csum_seed",
            0x4000 => "large_dir",
            0x8000 => "inline_data",
            0x10000 => "encrypt",
            0x20000 => "casefold",
            _ => return None,
        },
        _ => match bit {
            0x1 => "sparse_super",
            0x2 => "large_file",
            0x4 => "btree_dir",
            0x8 => "huge_file",
            0x10 => "uninit_bg",
            0x20 => "dir_nlink",
            0x40 => "extra_isize",
            0x80 => "snapshot",
            0x100 => "quota",
            0x200 => "bigalloc",
            0x400 => "metadata_csum",
            0x800 => "replica",
            0x1000 => "read-only",
            0x2000 => "project",
            0x4000 => "shared_blocks",
            0x8000 => "verity",
            0x10000 => "orphan_present",
            0x8000_0000 => "ext2l",
            _ => return None,
        },
    };
    Some(name)
}

impl fmt::Display for FeatureSet {
    /// Space-separated e2fsprogs names, `FEATURE_C5`-style for unnamed bits,
    /// `(none)` for an empty set.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let words = [
            (self.compatible, 'C'),
            (self.incompatible, 'I'),
            (self.read_only_compatible, 'R'),
        ];
        let mut first = true;
        for (word_index, (word, letter)) in words.iter().enumerate() {
            for bit_index in 0..32u32 {
                let bit = 1u32 << bit_index;
                if word & bit == 0 {
                    continue;
                }
                if !first {
                    write!(formatter, " ")?;
                }
                first = false;
                match feature_name(word_index, bit) {
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
