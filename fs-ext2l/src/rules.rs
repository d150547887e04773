// SPDX-License-Identifier: MIT OR Apache-2.0
//! Rules of an inode's own fields, as e2fsck enforces them.
//!
//! e2fsck's pass 1 (`e2fsck/pass1.c`) and its `process_bad_inode`
//! (`pass2.c`) reject fields an ext2 inode of a given volume may not have:
//! flags of features the volume lacks, a device whose `i_block` is not a
//! device number, a special file with a size, the high halves of fields
//! a 32-bit volume does not use. The checker reports each
//! ([`inode_field_problems`]); the repair fixes each the way e2fsck does
//! (`repair/inodes.rs`). One thing differs on an ext2l volume: its
//! installer may make special files immutable (DESIGN §4), so the
//! immutable and append-only flags are allowed on them there. Pure: it
//! judges an inode it is given and never reads or writes the disk.

use alloc::vec::Vec;

use crate::features::{CompatibleFeatures, IncompatibleFeatures, ReadOnlyCompatibleFeatures};
use crate::inode::{FileType, Inode, InodeFlags};
use crate::superblock::{field, Superblock};

/// `EXT4_CASEFOLD_FL`.
pub(crate) const CASEFOLD_FLAG: u32 = 0x4000_0000;
/// `s_creator_os` of the Hurd, whose inodes use the `osd2` fields
/// differently.
pub(crate) const CREATOR_HURD: u32 = 1;

/// What the volume allows, for [`inode_field_problems`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct VolumeRules {
    /// The ext2l feature: special files may be immutable.
    pub ext2l: bool,
    pub ext_attr: bool,
    pub dir_index: bool,
    pub imagic: bool,
    pub casefold: bool,
    pub huge_file: bool,
    pub sixty_four_bit: bool,
    pub hurd: bool,
    /// Bytes per on-disk inode.
    pub inode_size: u32,
}

impl VolumeRules {
    /// The rules of the volume `superblock` describes.
    pub(crate) fn of(superblock: &Superblock, inode_size: u32) -> VolumeRules {
        let features = superblock.features();
        let compatible = |flag: CompatibleFeatures| features.compatible & flag.bits() != 0;
        let incompatible = |flag: IncompatibleFeatures| features.incompatible & flag.bits() != 0;
        VolumeRules {
            ext2l: features.has_ext2l(),
            ext_attr: compatible(CompatibleFeatures::EXT_ATTR),
            dir_index: compatible(CompatibleFeatures::DIR_INDEX),
            imagic: compatible(CompatibleFeatures::IMAGIC_INODES),
            casefold: incompatible(IncompatibleFeatures::CASEFOLD),
            huge_file: features.read_only_compatible & ReadOnlyCompatibleFeatures::HUGE_FILE.bits()
                != 0,
            sixty_four_bit: incompatible(IncompatibleFeatures::SIXTY_FOUR_BIT),
            hurd: superblock.get_u32(field::CREATOR_OS) == CREATOR_HURD,
            inode_size,
        }
    }
}

/// e2fsck's `e2fsck_pass1_check_device_inode`: no index or extents flag,
/// and with the immutable or append-only flag, nothing past `i_block[3]`.
pub(crate) fn device_inode_is_valid(inode: &Inode) -> bool {
    let flags = inode.flags();
    if flags.intersects(InodeFlags::INDEX | InodeFlags::EXTENTS) {
        return false;
    }
    if flags.intersects(InodeFlags::IMMUTABLE | InodeFlags::APPEND_ONLY) {
        return (4..15).all(|index| inode.block_pointer(index) == 0);
    }
    true
}

/// Whether `extra` is a valid `i_extra_isize` for inodes of `inode_size`
/// bytes: 0, or a multiple of 4 from 4 to the room past byte 128.
pub(crate) fn extra_size_is_valid(extra: u16, inode_size: u32) -> bool {
    if inode_size <= 128 || extra == 0 {
        return true;
    }
    let most = (inode_size - 128).min(u32::from(u16::MAX)) as u16;
    (4..=most).contains(&extra) && extra % 4 == 0
}

/// The problems of an in-use inode's own fields (see the module doc).
pub(crate) fn inode_field_problems(inode: &Inode, rules: &VolumeRules) -> Vec<&'static str> {
    let mut problems = Vec::new();
    let flags = inode.flags();
    let file_type = inode.file_type();
    let special = matches!(
        file_type,
        FileType::CharacterDevice | FileType::BlockDevice | FileType::Fifo | FileType::Socket
    );
    if flags.bits() & CASEFOLD_FLAG != 0 && (file_type != FileType::Directory || !rules.casefold) {
        problems.push("casefold flag on a non-directory or without the casefold feature");
    }
    if flags.contains(InodeFlags::EA_INODE) && file_type != FileType::RegularFile {
        problems.push("EA_INODE flag on an inode that is not a regular file");
    }
    if flags.contains(InodeFlags::IMAGIC) && !rules.imagic {
        problems.push("imagic flag without the imagic_inodes feature");
    }
    if flags.contains(InodeFlags::INDEX) && (file_type != FileType::Directory || !rules.dir_index) {
        problems.push("htree index flag on a non-directory or without dir_index");
    }
    if special && !device_inode_is_valid(inode) {
        problems.push("a device, FIFO or socket whose block pointers are not one's");
    }
    let special_or_link = special || file_type == FileType::Symlink;
    if special_or_link
        && !rules.ext2l
        && flags.intersects(InodeFlags::IMMUTABLE | InodeFlags::APPEND_ONLY)
    {
        problems.push("immutable or append-only special file");
    }
    if special && (inode.size() != 0 || inode.size_high_raw() != 0) {
        problems.push("device, FIFO or socket with a size");
    }
    if file_type == FileType::Directory && inode.size_high_raw() != 0 {
        problems.push("directory with i_size_high set");
    }
    if !rules.hurd && !rules.sixty_four_bit && inode.file_acl_high() != 0 {
        problems.push("i_file_acl_hi set on a 32-bit volume");
    }
    if !rules.hurd && !rules.huge_file && inode.blocks_high() != 0 {
        problems.push("i_blocks_hi set without huge_file");
    }
    if inode.file_acl() != 0 && !rules.ext_attr {
        problems.push("extended attribute block on a volume without ext_attr");
    }
    if !extra_size_is_valid(inode.extra_size(), rules.inode_size) {
        problems.push("invalid i_extra_isize");
    }
    problems
}
