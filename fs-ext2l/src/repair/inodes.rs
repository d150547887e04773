// SPDX-License-Identifier: MIT OR Apache-2.0
//! Pass 1: every inode — its fields, its block map, its attribute block.
//!
//! As e2fsck's pass 1, an inode is in use when its link count is not 0
//! (the bitmap is not trusted); the bad-block inode (1) is read first, so
//! a file using a block on the bad-block list gives it up in pass 1b, and
//! the inodes of an inode-table block on the list are unusable. For each
//! inode in use, in e2fsck's order:
//!
//! - a deletion time is cleared (`i_dtime` below the inode count is an
//!   orphan-list link: on an unused inode it becomes the repair's time);
//!   an unused inode with a mode and no deletion time gets one;
//! - flags: `casefold` off a non-directory, `imagic` and the index flag
//!   off where the volume lacks the feature; an inode with extents or
//!   inline data (features this library does not have) is cleared;
//! - the type: a device, FIFO or socket whose `i_block` is not one, a
//!   symbolic link e2fsck would not follow, an unknown mode: cleared (a
//!   non-directory whose first block is a directory block becomes a
//!   directory); immutable and append-only come off special files, except
//!   on an ext2l volume, where the installer may set them;
//! - fields ext2 does not have: `i_faddr` (kept on an ext2l volume's
//!   regular files: the rootlink), a directory's `i_size_high`, the high
//!   halves of `i_file_acl` and `i_blocks`;
//! - the extended attribute block (`attributes.rs`);
//! - the block map: a pointer outside the file system (or past what a
//!   directory or symbolic link may have) is cleared — at the twelfth the
//!   whole inode is cleared —, every block is claimed, a block claimed
//!   twice goes to pass 1b, a directory's holes to pass 2;
//! - an empty directory is cleared; a size the blocks contradict and
//!   `i_blocks` are set from the blocks (a regular file's block mapped
//!   exactly at its end, which e2fsck tolerates and this checker does not,
//!   is freed instead).
//!
//! Clearing an inode (e2fsck's `e2fsck_clear_inode`) sets its link count
//! to 0 and its deletion time, and takes back what it claimed: pass 5
//! frees its blocks.

use alloc::collections::BTreeSet;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::bytes::{read_u32, write_u32};
use crate::cache::BlockClass;
use crate::check::ProblemKind;
use crate::device::BlockDevice;
use crate::error::Result;
use crate::features::{CompatibleFeatures, IncompatibleFeatures, ReadOnlyCompatibleFeatures};
use crate::inode::{FileType, Inode, InodeFlags, InodeNumber};
use crate::journal::JOURNAL_INODE;
use crate::rules::{
    device_inode_is_valid, extra_size_is_valid, CASEFOLD_FLAG, CREATOR_HURD, ENCRYPT_FLAG,
};

use super::{DirectoryBlock, InodeRecord, Repairer, HAS_INODE_ATTRIBUTES, IN_BAD_BLOCK};

/// Problems with block pointers that clear the whole inode (e2fsck's
/// `PR_1_TOO_MANY_BAD_BLOCKS`, asked at every twelfth).
const MAX_BAD_POINTERS: u32 = 12;
/// `EXT2_EXT_ATTR_MAGIC`, which starts in-inode attributes too.
const ATTRIBUTE_MAGIC: u32 = 0xEA02_0000;

/// Why a block pointer is dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PointerProblem {
    /// Outside the file system.
    Illegal,
    /// Past what the inode's type may map.
    TooBig,
}

/// What walking one inode's block map found.
pub(super) struct BlockWalk {
    number: u32,
    is_directory: bool,
    is_regular: bool,
    /// Every claim made, in order (undone when the inode is cleared).
    claims: Vec<u32>,
    directory_blocks: Vec<DirectoryBlock>,
    /// Blocks kept (data and indirect).
    pub(super) blocks: u64,
    /// The highest logical block kept.
    last_logical: Option<u64>,
    /// The highest logical block a directory entry list covers (holes
    /// below it are filled in pass 2).
    last_directory_block: Option<u64>,
    problems: u32,
    /// The inode must be cleared (too many bad pointers).
    clear: bool,
    /// Indirect blocks of this inode already walked.
    visited: BTreeSet<u32>,
}

impl BlockWalk {
    pub(super) fn new(number: u32, file_type: FileType) -> BlockWalk {
        BlockWalk {
            number,
            is_directory: file_type == FileType::Directory,
            is_regular: file_type == FileType::RegularFile,
            claims: Vec::new(),
            directory_blocks: Vec::new(),
            blocks: 0,
            last_logical: None,
            last_directory_block: None,
            problems: 0,
            clear: false,
            visited: BTreeSet::new(),
        }
    }
}

impl<D: BlockDevice> Repairer<'_, D> {
    /// Pass 1 over every readable inode table.
    ///
    /// Return values: `Ok(())`, or [`crate::Error::Device`].
    pub(super) fn check_inodes(&mut self) -> Result<()> {
        self.check_bad_block_inode()?;
        let geometry = self.fs.geometry.clone();
        let per_block = geometry.block_size / geometry.inode_size;
        let low_dtime_check = self.low_dtime_check();
        for group in 0..geometry.group_count {
            if self.unreadable_tables.contains(&group) || !self.fs.groups.is_valid(group) {
                continue;
            }
            let table = self.fs.groups.inode_table(group);
            for table_block in 0..geometry.inode_table_blocks {
                let first_index = table_block.saturating_mul(per_block);
                if first_index >= geometry.inodes_per_group {
                    break;
                }
                let block = table + table_block;
                let numbers = (0..per_block)
                    .map(|slot| first_index + slot)
                    .take_while(|&index| index < geometry.inodes_per_group)
                    .map(|index| {
                        u64::from(group) * u64::from(geometry.inodes_per_group)
                            + u64::from(index)
                            + 1
                    })
                    .take_while(|&number| number <= u64::from(geometry.inodes_count));
                if self.bad_blocks.contains(&block) {
                    for number in numbers {
                        if let Some(record) = self.record_mut(number as u32) {
                            record.flags |= IN_BAD_BLOCK;
                        }
                    }
                    continue;
                }
                let numbers: Vec<u64> = numbers.collect();
                let data = self.read_block(block, BlockClass::Metadata)?;
                for (slot, number) in numbers.into_iter().enumerate() {
                    if number == 1 {
                        continue;
                    }
                    let start = slot * geometry.inode_size as usize;
                    let bytes = data
                        .get(start..start + geometry.inode_size as usize)
                        .unwrap_or(&[]);
                    let inode = Inode::from_bytes(InodeNumber(number as u32), bytes);
                    let attributes_in_body = geometry.inode_size > 128 && {
                        let extra = usize::from(inode.extra_size());
                        read_u32(bytes, 128 + extra) == ATTRIBUTE_MAGIC
                    };
                    if attributes_in_body {
                        if let Some(record) = self.record_mut(number as u32) {
                            record.flags |= HAS_INODE_ATTRIBUTES;
                        }
                    }
                    self.check_inode(inode, low_dtime_check)?;
                }
            }
        }
        Ok(())
    }

    /// Whether deletion times below the inode count read as orphan-list
    /// links: unless one of the superblock's times is itself that low
    /// (e2fsck's `low_dtime_check`).
    fn low_dtime_check(&self) -> bool {
        let inodes = self.fs.geometry.inodes_count;
        let (mount, write, mkfs, _) = self.fs.superblock.times();
        ![mount, write, mkfs]
            .iter()
            .any(|&time| time != 0 && time < inodes)
    }

    /// Clears `inode` (e2fsck's `e2fsck_clear_inode`): no flags, no links,
    /// a deletion time; a reserved inode loses its block map too.
    pub(super) fn clear_inode(
        &mut self,
        inode: &mut Inode,
        kind: ProblemKind,
        why: &str,
    ) -> Result<()> {
        let number = inode.number.get();
        inode.set_flags(InodeFlags::empty());
        inode.set_links(0);
        inode.set_deletion_time(self.now);
        if number < self.fs.geometry.first_inode {
            // As e2fsck, the block map of a reserved inode goes too (its
            // link count is never looked at); so do the size and
            // `i_blocks` that counted it, which e2fsck leaves for its
            // next run to fix.
            inode.block_area_mut().fill(0);
            inode.set_size(0);
            inode.set_sectors(0);
            inode.set_file_acl(0);
        }
        self.fs.write_inode(inode)?;
        if let Some(record) = self.record_mut(number) {
            record.file_type = None;
            record.links = 0;
        }
        self.fixed(kind, Some(number), format!("{why}: cleared the inode"));
        Ok(())
    }

    fn check_inode(&mut self, mut inode: Inode, low_dtime_check: bool) -> Result<()> {
        let number = inode.number.get();
        let first_inode = self.fs.geometry.first_inode;
        let inodes_count = self.fs.geometry.inodes_count;
        let dtime = inode.deletion_time();
        if low_dtime_check && dtime != 0 && dtime < inodes_count {
            let fixed = if inode.links() != 0 { 0 } else { self.now };
            inode.set_deletion_time(fixed);
            self.fs.write_inode(&inode)?;
            self.fixed(
                ProblemKind::Orphan,
                Some(number),
                format!("was left linked from the orphan list (i_dtime {dtime}): set its deletion time to {fixed}"),
            );
        }
        if inode.links() == 0 && number >= first_inode {
            if inode.deletion_time() == 0 && inode.mode() != 0 {
                inode.set_deletion_time(self.now);
                self.fs.write_inode(&inode)?;
                self.fixed(
                    ProblemKind::Inode,
                    Some(number),
                    String::from("deleted inode with no deletion time: set it"),
                );
            }
            return Ok(());
        }
        let dirty = self.check_flags(&mut inode);
        if inode.flags().contains(InodeFlags::INLINE_DATA) && number >= first_inode {
            return self.clear_inode(
                &mut inode,
                ProblemKind::Inode,
                "inline data on a volume without the inline_data feature (this library has none)",
            );
        }
        let special = number == InodeNumber::ROOT.get() || number == JOURNAL_INODE;
        if inode.flags().contains(InodeFlags::EXTENTS) && (inode.links() != 0 || special) {
            return self.clear_inode(
                &mut inode,
                ProblemKind::Inode,
                "extents on a volume without the extents feature (this library has none)",
            );
        }
        if number == JOURNAL_INODE {
            if dirty {
                self.fs.write_inode(&inode)?;
            }
            return self.check_journal_inode(inode);
        }
        if number < first_inode && number != InodeNumber::ROOT.get() {
            if dirty {
                self.fs.write_inode(&inode)?;
            }
            return self.check_reserved_inode(inode);
        }
        if number == InodeNumber::ROOT.get() {
            if inode.links() == 0 {
                if dirty {
                    self.fs.write_inode(&inode)?;
                }
                return Ok(());
            }
            if !inode.is_directory() {
                return self.clear_inode(
                    &mut inode,
                    ProblemKind::Inode,
                    "the root is not a directory (pass 3 makes a new one)",
                );
            }
        }
        self.check_inode_in_use(inode, dirty)
    }

    /// The flags e2fsck checks on every inode it reads: `casefold` only on
    /// a directory of a volume with the feature, `EA_INODE` only on a
    /// regular file. Returns whether the inode changed.
    fn check_flags(&mut self, inode: &mut Inode) -> bool {
        let number = inode.number.get();
        let incompatible = self.fs.superblock.features().incompatible;
        let mut dirty = false;
        let flags = inode.flags().bits();
        if flags & CASEFOLD_FLAG != 0
            && (!inode.is_directory() || incompatible & IncompatibleFeatures::CASEFOLD.bits() == 0)
        {
            inode.set_flags(InodeFlags::from_bits_retain(flags & !CASEFOLD_FLAG));
            dirty = true;
            self.fixed(
                ProblemKind::Inode,
                Some(number),
                String::from("cleared the casefold flag"),
            );
        }
        let flags = inode.flags();
        if flags.contains(InodeFlags::EA_INODE) && !inode.is_regular() {
            inode.set_flags(flags - InodeFlags::EA_INODE);
            dirty = true;
            self.fixed(
                ProblemKind::Inode,
                Some(number),
                String::from("cleared the EA_INODE flag of a non-regular inode"),
            );
        }
        // Encryption needs the `encrypt` feature, which this library does
        // not implement (it never mounts such a volume): the policy
        // attribute is missing, and e2fsck clears the flag.
        let flags = inode.flags().bits();
        if flags & ENCRYPT_FLAG != 0 {
            inode.set_flags(InodeFlags::from_bits_retain(flags & !ENCRYPT_FLAG));
            dirty = true;
            self.fixed(
                ProblemKind::Inode,
                Some(number),
                String::from("cleared the encrypt flag"),
            );
        }
        dirty
    }

    /// Reserved inodes other than the root, the bad-block list and the
    /// journal: no mode (the boot loader's inode may be a file); the
    /// resize inode as `resize.rs` judges it.
    fn check_reserved_inode(&mut self, mut inode: Inode) -> Result<()> {
        let number = inode.number.get();
        let resize =
            self.fs.superblock.features().compatible & CompatibleFeatures::RESIZE_INODE.bits() != 0;
        if number == InodeNumber::RESIZE.get() && resize {
            return self.check_resize_inode(&inode);
        }
        let bad_mode = match number {
            5 => inode.is_directory(),
            7 => inode.mode() != 0 && !inode.is_regular(),
            _ => inode.mode() != 0,
        };
        if bad_mode {
            let mode = inode.mode();
            inode.set_mode(0);
            self.fs.write_inode(&inode)?;
            self.fixed(
                ProblemKind::Inode,
                Some(number),
                format!("reserved inode with mode {mode:o}: cleared the mode"),
            );
        }
        let quota = self.fs.superblock.features().read_only_compatible
            & ReadOnlyCompatibleFeatures::QUOTA.bits()
            != 0;
        if (number == 3 || number == 4) && !quota {
            // The user and group quota inodes, without the quota feature
            // (a volume with it is not written here): e2fsck zeroes one
            // that has links, blocks or a first block pointer, and does
            // not look at it otherwise.
            if inode.links() != 0 || inode.sectors() != 0 || inode.block_pointer(0) != 0 {
                let zeroed = Inode::from_bytes(inode.number, &[]);
                self.fs.write_inode(&zeroed)?;
                self.fixed(
                    ProblemKind::Inode,
                    Some(number),
                    String::from("quota inode not clear without the quota feature: zeroed it"),
                );
            }
            return Ok(());
        }
        if number == 7 && (0..15).any(|index| inode.block_pointer(index) != 0) {
            // e2fsck's `check_resize_inode`: without the feature, the
            // resize inode is zeroed whole.
            let zeroed = Inode::from_bytes(inode.number, &[]);
            self.fs.write_inode(&zeroed)?;
            self.fixed(
                ProblemKind::Inode,
                Some(number),
                String::from("resize inode in use without resize_inode: zeroed it"),
            );
            return Ok(());
        }
        // e2fsck's pass 1 runs `check_blocks` on every reserved inode, in
        // use or not: its index flag, attribute block and block map are
        // checked, its blocks claimed, and `i_blocks` and the size must
        // agree with what it keeps.
        let unused = inode.file_type() == FileType::Unknown;
        if !inode.has_block_map() && !unused {
            return Ok(());
        }
        let mut dirty = false;
        if inode.flags().contains(InodeFlags::INDEX) && !inode.is_directory() {
            inode.set_flags(inode.flags() - InodeFlags::INDEX);
            dirty = true;
            self.fixed(
                ProblemKind::Inode,
                Some(number),
                String::from("cleared the htree index flag of a reserved inode"),
            );
        }
        let (attribute_kept, attribute_changed) = self.check_attribute_block(&mut inode)?;
        dirty |= attribute_changed;
        let mut walk = BlockWalk::new(number, inode.file_type());
        let before: [u32; 15] = core::array::from_fn(|index| inode.block_pointer(index));
        // Without a mode there is no block map (e2fsck's
        // `ext2fs_inode_has_valid_blocks2`): its pointers are neither
        // walked nor claimed, and `i_blocks` counts nothing of them.
        if !unused && before.iter().any(|&block| block != 0) {
            self.walk_block_map(&mut inode, &mut walk)?;
        }
        if walk.clear {
            self.undo_claims(&walk);
            self.drop_attribute_reference(&inode, attribute_kept);
            return self.clear_inode(
                &mut inode,
                ProblemKind::BlockPointer,
                "too many bad block pointers",
            );
        }
        dirty |= (0..15).any(|index| inode.block_pointer(index) != before[index]);
        let block_size = u64::from(self.fs.geometry.block_size);
        let attribute_sectors = if attribute_kept { block_size / 512 } else { 0 };
        let counted = walk.blocks * (block_size / 512) + attribute_sectors;
        let hurd = self
            .fs
            .superblock
            .get_u32(crate::superblock::field::CREATOR_OS)
            == CREATOR_HURD;
        if !hurd && counted != u64::from(inode.sectors()) {
            let was = inode.sectors();
            inode.set_sectors(u32::try_from(counted).unwrap_or(u32::MAX));
            dirty = true;
            self.fixed(
                ProblemKind::Inode,
                Some(number),
                format!("reserved inode's i_blocks was {was}: set it to {counted}"),
            );
        }
        // e2fsck's `EXT2_I_SIZE`: the high word counts whatever the mode.
        let size = u64::from(inode.size_low_raw()) | (u64::from(inode.size_high_raw()) << 32);
        if size > largest_mapped_size(self.fs.geometry.pointers_per_block(), block_size) {
            let fixed = walk.last_logical.map_or(0, |last| (last + 1) * block_size);
            inode.set_size(fixed);
            inode.set_size_high_raw((fixed >> 32) as u32);
            dirty = true;
            self.fixed(
                ProblemKind::Inode,
                Some(number),
                format!("reserved inode's i_size was {size}: set it to {fixed}"),
            );
        }
        if dirty {
            self.fs.write_inode(&inode)?;
        }
        Ok(())
    }

    /// An inode with links (or the root): see the module doc.
    fn check_inode_in_use(&mut self, mut inode: Inode, dirty: bool) -> Result<()> {
        let number = inode.number.get();
        let features = self.fs.superblock.features();
        let compatible = features.compatible;
        let incompatible = features.incompatible;
        let read_only_compatible = features.read_only_compatible;
        let hurd = self
            .fs
            .superblock
            .get_u32(crate::superblock::field::CREATOR_OS)
            == CREATOR_HURD;
        let mut dirty = dirty;
        if inode.deletion_time() != 0 {
            inode.set_deletion_time(0);
            dirty = true;
            self.fixed(
                ProblemKind::Inode,
                Some(number),
                String::from("in use but had a deletion time: cleared it"),
            );
        }
        if self.fs.geometry.inode_size > 128 {
            let extra = inode.extra_size();
            let most = (self.fs.geometry.inode_size - 128) as u16;
            if !extra_size_is_valid(extra, self.fs.geometry.inode_size) {
                let fixed = if extra < 4 || extra > most {
                    self.fs
                        .superblock
                        .get_u16(crate::superblock::field::WANT_EXTRA_INODE_SIZE)
                        .min(most)
                        & !3
                } else {
                    (extra + 3) & !3
                };
                inode.set_extra_size(fixed);
                dirty = true;
                self.fixed(
                    ProblemKind::Inode,
                    Some(number),
                    format!("i_extra_isize was {extra}: set it to {fixed}"),
                );
            }
        }
        let flags = inode.flags();
        if flags.contains(InodeFlags::IMAGIC)
            && compatible & CompatibleFeatures::IMAGIC_INODES.bits() == 0
        {
            inode.set_flags(flags - InodeFlags::IMAGIC);
            dirty = true;
            self.fixed(
                ProblemKind::Inode,
                Some(number),
                String::from("cleared the imagic flag"),
            );
        }
        if self.looks_like_directory(&inode)? {
            let mode = inode.mode();
            inode.set_mode((mode & 0o7777) | crate::inode::mode::DIRECTORY);
            dirty = true;
            self.fixed(
                ProblemKind::Inode,
                Some(number),
                format!("mode {mode:o} but its first block is a directory's: made it a directory"),
            );
        }
        let file_type = inode.file_type();
        match file_type {
            FileType::Directory | FileType::RegularFile => {}
            FileType::CharacterDevice
            | FileType::BlockDevice
            | FileType::Fifo
            | FileType::Socket => {
                if !device_inode_is_valid(&inode) {
                    return self.clear_inode(
                        &mut inode,
                        ProblemKind::Inode,
                        &format!("{file_type:?} whose block pointers are not a device's"),
                    );
                }
                dirty |= self.check_special_flags(&mut inode);
                if inode.size() != 0 || inode.size_high_raw() != 0 {
                    inode.set_size(0);
                    inode.set_size_high_raw(0);
                    dirty = true;
                    self.fixed(
                        ProblemKind::Inode,
                        Some(number),
                        String::from("special file with a size: set it to 0"),
                    );
                }
            }
            FileType::Symlink => {
                if !self.symlink_is_valid(&inode)? {
                    return self.clear_inode(
                        &mut inode,
                        ProblemKind::Inode,
                        "invalid symbolic link",
                    );
                }
                dirty |= self.check_special_flags(&mut inode);
            }
            FileType::Unknown => {
                let mode = inode.mode();
                return self.clear_inode(
                    &mut inode,
                    ProblemKind::Inode,
                    &format!("invalid mode {mode:o}"),
                );
            }
        }
        let flags = inode.flags();
        if flags.contains(InodeFlags::INDEX)
            && (file_type != FileType::Directory
                || compatible & CompatibleFeatures::DIR_INDEX.bits() == 0)
        {
            inode.set_flags(flags - InodeFlags::INDEX);
            dirty = true;
            self.fixed(
                ProblemKind::Inode,
                Some(number),
                String::from("cleared the htree index flag"),
            );
        }
        let faddr = inode.rootlink_raw();
        let mut rootlink = 0;
        if faddr != 0 {
            if self.ext2l && file_type == FileType::RegularFile {
                rootlink = faddr;
            } else {
                inode.set_rootlink_raw(0);
                dirty = true;
                let what = if self.ext2l {
                    "rootlink (i_faddr) on a file that is not regular"
                } else {
                    "i_faddr set on a volume without the ext2l feature"
                };
                self.fixed(
                    ProblemKind::Rootlink,
                    Some(number),
                    format!("{what} ({faddr}): cleared it"),
                );
            }
        }
        if file_type == FileType::Directory && inode.size_high_raw() != 0 {
            inode.set_size_high_raw(0);
            dirty = true;
            self.fixed(
                ProblemKind::Inode,
                Some(number),
                String::from("directory with i_size_high set: cleared it"),
            );
        }
        if !hurd
            && inode.file_acl_high() != 0
            && incompatible & IncompatibleFeatures::SIXTY_FOUR_BIT.bits() == 0
        {
            inode.set_file_acl_high(0);
            dirty = true;
            self.fixed(
                ProblemKind::Inode,
                Some(number),
                String::from("i_file_acl_hi set on a 32-bit volume: cleared it"),
            );
        }
        if !hurd
            && inode.blocks_high() != 0
            && read_only_compatible & ReadOnlyCompatibleFeatures::HUGE_FILE.bits() == 0
        {
            inode.set_blocks_high(0);
            dirty = true;
            self.fixed(
                ProblemKind::Inode,
                Some(number),
                String::from("i_blocks_hi set without huge_file: cleared it"),
            );
        }
        let (attribute_kept, attribute_changed) = self.check_attribute_block(&mut inode)?;
        dirty |= attribute_changed;
        let mut walk = BlockWalk::new(number, file_type);
        if inode.has_block_map() {
            let before: [u32; 15] = core::array::from_fn(|index| inode.block_pointer(index));
            self.walk_block_map(&mut inode, &mut walk)?;
            // A pointer cleared in the inode itself (an indirect one
            // changes neither the size nor `i_blocks`) must be written.
            dirty |= (0..15).any(|index| inode.block_pointer(index) != before[index]);
        }
        if walk.clear {
            self.undo_claims(&walk);
            self.drop_attribute_reference(&inode, attribute_kept);
            return self.clear_inode(
                &mut inode,
                ProblemKind::BlockPointer,
                "too many bad block pointers",
            );
        }
        if file_type == FileType::Directory && walk.blocks == 0 {
            self.drop_attribute_reference(&inode, attribute_kept);
            return self.clear_inode(&mut inode, ProblemKind::Inode, "directory with no blocks");
        }
        dirty |= self.check_sizes(&mut inode, &mut walk, attribute_kept)?;
        if dirty {
            self.fs.write_inode(&inode)?;
        }
        if let Some(record) = self.record_mut(number) {
            *record = InodeRecord {
                file_type: Some(file_type),
                links: inode.links(),
                rootlink,
                flags: record.flags,
                ..InodeRecord::default()
            };
        }
        self.directory_blocks.append(&mut walk.directory_blocks);
        Ok(())
    }

    /// A file of 2 GiB or more needs `large_file`, and a revision 0 volume
    /// becomes revision 1 to carry it (e2fsck's `PR_2_FEATURE_LARGE_FILES`
    /// and `ext2fs_update_dynamic_rev`).
    fn require_large_file(&mut self) {
        let features = self.fs.superblock.features().read_only_compatible;
        if features & ReadOnlyCompatibleFeatures::LARGE_FILE.bits() != 0 {
            return;
        }
        self.fs.mark_large_file();
        if self.fs.geometry.revision == 0 {
            use crate::superblock::field;
            self.fs.superblock.set_u32(field::REVISION, 1);
            self.fs
                .superblock
                .set_u32(field::FIRST_INODE, self.fs.geometry.first_inode);
            self.fs
                .superblock
                .set_u16(field::INODE_SIZE, self.fs.geometry.inode_size as u16);
            self.fs.geometry.revision = 1;
        }
        self.fixed(
            ProblemKind::Superblock,
            None,
            String::from("a file of 2 GiB or more on a volume without large_file: set the feature"),
        );
    }

    /// Immutable and append-only off a special file, except on an ext2l
    /// volume (its installer may set them); returns whether it changed.
    fn check_special_flags(&mut self, inode: &mut Inode) -> bool {
        let flags = inode.flags();
        let special = InodeFlags::IMMUTABLE | InodeFlags::APPEND_ONLY;
        if self.ext2l || !flags.intersects(special) {
            return false;
        }
        inode.set_flags(flags - special);
        self.fixed(
            ProblemKind::Inode,
            Some(inode.number.get()),
            String::from("special file with the immutable or append-only flag: cleared the flags"),
        );
        true
    }

    /// e2fsck's `check_is_really_dir`: a non-directory, non-file,
    /// non-symlink whose block pointers are valid, unclaimed blocks and
    /// whose first block starts with `.` and `..` records.
    fn looks_like_directory(&mut self, inode: &Inode) -> Result<bool> {
        let file_type = inode.file_type();
        if matches!(
            file_type,
            FileType::Directory | FileType::RegularFile | FileType::Symlink
        ) || inode.block_pointer(0) == 0
        {
            return Ok(false);
        }
        let mut not_device = false;
        for index in 0..15 {
            let block = inode.block_pointer(index);
            if block == 0 {
                continue;
            }
            if index >= 4 {
                not_device = true;
            }
            if !self.fs.geometry.is_valid_block(block) || self.claimed.get(block) {
                return Ok(false);
            }
        }
        if matches!(file_type, FileType::CharacterDevice | FileType::BlockDevice)
            && inode.links() == 1
            && !not_device
        {
            return Ok(false);
        }
        let data = self.read_block(inode.block_pointer(0), BlockClass::Metadata)?;
        let block_size = data.len();
        let first_length = usize::from(crate::bytes::read_u16(&data, 4));
        let dot = data.get(6).copied() == Some(1)
            && data.get(8).copied() == Some(b'.')
            && read_u32(&data, 0) == inode.number.get()
            && first_length >= 12
            && first_length % 4 == 0
            && first_length < block_size.saturating_sub(12);
        if !dot {
            return Ok(false);
        }
        let second_length = usize::from(crate::bytes::read_u16(&data, first_length + 4));
        Ok(data.get(first_length + 6).copied() == Some(2)
            && data.get(first_length + 8..first_length + 10) == Some(b"..")
            && second_length >= 12
            && second_length % 4 == 0)
    }

    /// e2fsck's `e2fsck_pass1_check_symlink` for a block-mapped symlink.
    fn symlink_is_valid(&mut self, inode: &Inode) -> Result<bool> {
        let size = inode.size();
        if inode.size_high_raw() != 0 || size == 0 || inode.flags().contains(InodeFlags::INDEX) {
            return Ok(false);
        }
        let (text, capacity) = if inode.is_fast_symlink() {
            (Vec::from(inode.block_area()), inode.block_area().len())
        } else {
            let block = inode.block_pointer(0);
            if (1..15).any(|index| inode.block_pointer(index) != 0)
                || !self.fs.geometry.is_valid_block(block)
            {
                return Ok(false);
            }
            let data = self.read_block(block, BlockClass::Data)?;
            let length = data.len();
            (data, length)
        };
        let length = text
            .iter()
            .position(|&byte| byte == 0)
            .unwrap_or(text.len());
        Ok(length < capacity && length as u64 == size)
    }

    /// Takes back every claim a walk made.
    pub(super) fn undo_claims(&mut self, walk: &BlockWalk) {
        for &block in walk.claims.iter().rev() {
            self.unclaim(block);
        }
    }

    /// Walks an inode's block map (see the module doc), clearing bad
    /// pointers in the inode and in its indirect blocks.
    ///
    /// Return values: `Ok(())` (the walk says what it found), or
    /// [`crate::Error::Device`].
    pub(super) fn walk_block_map(&mut self, inode: &mut Inode, walk: &mut BlockWalk) -> Result<()> {
        for index in 0..12usize {
            if walk.clear {
                return Ok(());
            }
            let block = inode.block_pointer(index);
            if block != 0 && !self.visit_pointer(walk, block, Some(index as u64)) {
                inode.set_block_pointer(index, 0);
            }
        }
        let pointers = u64::from(self.fs.geometry.pointers_per_block());
        let mut base = 12u64;
        let mut span = pointers;
        for depth in 1..=3u32 {
            let root = 11 + depth as usize;
            let block = inode.block_pointer(root);
            if block != 0 && !walk.clear {
                if self.visit_pointer(walk, block, None) {
                    self.walk_indirect(walk, block, depth, base)?;
                } else {
                    inode.set_block_pointer(root, 0);
                }
            }
            base += span;
            span = span.saturating_mul(pointers);
        }
        Ok(())
    }

    fn walk_indirect(
        &mut self,
        walk: &mut BlockWalk,
        block: u32,
        depth: u32,
        base: u64,
    ) -> Result<()> {
        // The pointer that made the walk give up (too many bad ones) is
        // "kept" only so the inode is cleared whole: never read it.
        if walk.clear || !walk.visited.insert(block) {
            return Ok(());
        }
        if self.duplicates.contains_key(&block) {
            // Shared with an earlier inode: walk it again only within the
            // budget (a hostile image may share one tree many times).
            if self.shared_walk_budget == 0 {
                return Ok(());
            }
            self.shared_walk_budget -= 1;
        }
        let mut data = self.read_block(block, BlockClass::Metadata)?;
        let pointers = u64::from(self.fs.geometry.pointers_per_block());
        let child_span = pointers.pow(depth - 1);
        let mut changed = false;
        for index in 0..pointers {
            if walk.clear {
                break;
            }
            let child = read_u32(&data, index as usize * 4);
            if child == 0 {
                continue;
            }
            let child_base = base + index * child_span;
            let keep = if depth == 1 {
                self.visit_pointer(walk, child, Some(child_base))
            } else {
                let keep = self.visit_pointer(walk, child, None);
                if keep {
                    self.walk_indirect(walk, child, depth - 1, child_base)?;
                }
                keep
            };
            if !keep {
                write_u32(&mut data, index as usize * 4, 0);
                changed = true;
            }
        }
        // An indirect block on fixed metadata is not written: pass 1b gives
        // the file a copy of its own.
        if changed && !walk.clear && !self.metadata.get(block) {
            self.write_block(block, &data, BlockClass::Metadata)?;
        }
        Ok(())
    }

    /// Looks at one pointer (`logical`: the data block's logical number,
    /// `None` for an indirect block); returns whether it is kept.
    fn visit_pointer(&mut self, walk: &mut BlockWalk, block: u32, logical: Option<u64>) -> bool {
        let log_block_size = self
            .fs
            .geometry
            .block_size
            .trailing_zeros()
            .saturating_sub(10);
        let mut problem = None;
        if let Some(logical) = logical {
            let directory_limit = 1u64 << (21 - log_block_size.min(21));
            let most_blocks = 1u64 << (31 - log_block_size.min(31));
            if walk.is_directory && logical > directory_limit {
                problem = Some(PointerProblem::TooBig);
            }
            if (walk.is_directory || walk.is_regular) && walk.blocks + 1 >= most_blocks {
                problem = Some(PointerProblem::TooBig);
            }
            if !walk.is_directory && !walk.is_regular && logical > 0 {
                problem = Some(PointerProblem::TooBig);
            }
        }
        if !self.fs.geometry.is_valid_block(block) {
            problem = Some(PointerProblem::Illegal);
        }
        if let Some(problem) = problem {
            walk.problems += 1;
            if walk.problems % MAX_BAD_POINTERS == 0 {
                walk.clear = true;
                return true;
            }
            let place = match logical {
                Some(logical) => format!("logical block {logical}"),
                None => String::from("an indirect block"),
            };
            let what = match problem {
                PointerProblem::Illegal => "outside the file system",
                PointerProblem::TooBig => "past the largest size of its type",
            };
            self.fixed(
                ProblemKind::BlockPointer,
                Some(walk.number),
                format!("block pointer {block} ({place}) {what}: cleared it"),
            );
            if walk.is_directory && problem == PointerProblem::Illegal {
                if let Some(logical) = logical {
                    self.note_directory_block(walk, logical, 0);
                }
            }
            return false;
        }
        self.claim(block);
        walk.claims.push(block);
        walk.blocks += 1;
        if let Some(logical) = logical {
            walk.last_logical = Some(walk.last_logical.map_or(logical, |last| last.max(logical)));
            if walk.is_directory {
                self.note_directory_block(walk, logical, block);
            }
        }
        true
    }

    /// Records directory block `logical` (and the holes before it).
    fn note_directory_block(&self, walk: &mut BlockWalk, logical: u64, physical: u32) {
        let Ok(logical32) = u32::try_from(logical) else {
            return;
        };
        let start = walk.last_directory_block.map_or(0, |last| last + 1);
        // Holes are bounded by the blocks of the volume: a directory never
        // holds more blocks than the file system.
        let limit = u64::from(self.fs.geometry.blocks_count);
        let mut hole = start;
        while hole < logical && hole < limit {
            walk.directory_blocks.push(DirectoryBlock {
                inode: walk.number,
                logical: hole as u32,
                physical: 0,
            });
            hole += 1;
        }
        walk.directory_blocks.push(DirectoryBlock {
            inode: walk.number,
            logical: logical32,
            physical,
        });
        walk.last_directory_block = Some(
            walk.last_directory_block
                .map_or(logical, |last| last.max(logical)),
        );
    }

    /// Sizes and `i_blocks` from what the walk kept; returns whether the
    /// inode changed.
    fn check_sizes(
        &mut self,
        inode: &mut Inode,
        walk: &mut BlockWalk,
        attribute_kept: bool,
    ) -> Result<bool> {
        let number = inode.number.get();
        let block_size = u64::from(self.fs.geometry.block_size);
        let mut dirty = false;
        let size = inode.size();
        let file_type = inode.file_type();
        let mut new_size = None;
        let last = walk.last_logical;
        match file_type {
            FileType::Directory => {
                let blocks_by_size = size / block_size;
                let blocks = last.map_or(0, |last| last + 1);
                if size % block_size != 0 || blocks_by_size != blocks {
                    new_size = Some(blocks * block_size);
                }
            }
            FileType::RegularFile => {
                if let Some(last) = last {
                    if size < last * block_size {
                        new_size = Some((last + 1) * block_size);
                    } else if size == last * block_size {
                        // One block mapped exactly at the end: e2fsck lets
                        // it be, the checker does not; the file's data ends
                        // before it, so it goes.
                        self.truncate_walked(inode, walk, last)?;
                        dirty = true;
                        self.fixed(
                            ProblemKind::Inode,
                            Some(number),
                            format!(
                                "freed the blocks mapped past the end of the file (size {size})"
                            ),
                        );
                    }
                }
                // e2fsck's `ext2_max_sizes`: what the block map addresses.
                let largest =
                    largest_mapped_size(self.fs.geometry.pointers_per_block(), block_size);
                if new_size.is_none() && size > largest {
                    new_size = Some(last.map_or(0, |last| (last + 1) * block_size));
                }
            }
            _ => {}
        }
        if let Some(fixed) = new_size.filter(|&fixed| fixed != size) {
            inode.set_size(fixed);
            dirty = true;
            self.fixed(
                ProblemKind::Inode,
                Some(number),
                format!("i_size was {size}: set it to {fixed}"),
            );
        }
        if file_type == FileType::RegularFile && inode.size() >= 1 << 31 {
            self.require_large_file();
        }
        let attribute_sectors = if attribute_kept { block_size / 512 } else { 0 };
        let counted = walk.blocks * (block_size / 512) + attribute_sectors;
        let hurd = self
            .fs
            .superblock
            .get_u32(crate::superblock::field::CREATOR_OS)
            == CREATOR_HURD;
        if !hurd && counted != u64::from(inode.sectors()) {
            let was = inode.sectors();
            inode.set_sectors(u32::try_from(counted).unwrap_or(u32::MAX));
            dirty = true;
            self.fixed(
                ProblemKind::Inode,
                Some(number),
                format!("i_blocks was {was}: set it to {counted}"),
            );
        }
        Ok(dirty)
    }

    /// Frees (takes back) the data blocks of a walked regular file from
    /// logical block `from` on, and the indirect blocks left empty.
    fn truncate_walked(
        &mut self,
        inode: &mut Inode,
        walk: &mut BlockWalk,
        from: u64,
    ) -> Result<()> {
        let released = self.cut_block_map(inode, from)?;
        for block in released {
            if let Some(position) = walk.claims.iter().rposition(|&claimed| claimed == block) {
                walk.claims.remove(position);
                walk.blocks = walk.blocks.saturating_sub(1);
                self.unclaim(block);
            }
        }
        walk.last_logical = from.checked_sub(1);
        Ok(())
    }

    /// Clears the pointers of `inode` that map logical block `from` or
    /// beyond, and the indirect blocks left empty; returns the blocks
    /// released (the caller stores the inode).
    ///
    /// Return values: the blocks, or [`crate::Error::Device`].
    pub(super) fn cut_block_map(&mut self, inode: &mut Inode, from: u64) -> Result<Vec<u32>> {
        let mut released = Vec::new();
        if from < 12 {
            for index in from as usize..12 {
                let block = inode.block_pointer(index);
                if block != 0 {
                    released.push(block);
                    inode.set_block_pointer(index, 0);
                }
            }
        }
        let pointers = u64::from(self.fs.geometry.pointers_per_block());
        let mut base = 12u64;
        let mut span = pointers;
        for depth in 1..=3u32 {
            let root = 11 + depth as usize;
            let block = inode.block_pointer(root);
            if block != 0 && from < base + span {
                let mut visits = u64::from(self.fs.geometry.blocks_count);
                if self.truncate_subtree(block, depth, base, from, &mut released, &mut visits)? {
                    released.push(block);
                    inode.set_block_pointer(root, 0);
                }
            }
            base += span;
            span = span.saturating_mul(pointers);
        }
        Ok(released)
    }

    /// Clears the pointers of the subtree at `block` that map `from` or
    /// beyond (collecting the blocks released); returns whether the
    /// subtree is now empty.
    fn truncate_subtree(
        &mut self,
        block: u32,
        depth: u32,
        base: u64,
        from: u64,
        released: &mut Vec<u32>,
        visits: &mut u64,
    ) -> Result<bool> {
        if *visits == 0 || !self.fs.geometry.is_valid_block(block) {
            return Ok(false);
        }
        *visits -= 1;
        let mut data = self.read_block(block, BlockClass::Metadata)?;
        let pointers = u64::from(self.fs.geometry.pointers_per_block());
        let child_span = pointers.pow(depth - 1);
        let mut empty = true;
        let mut changed = false;
        for index in 0..pointers {
            let child = read_u32(&data, index as usize * 4);
            if child == 0 {
                continue;
            }
            let child_base = base + index * child_span;
            if child_base + child_span <= from {
                empty = false;
                continue;
            }
            let child_empty = depth == 1
                || self.truncate_subtree(child, depth - 1, child_base, from, released, visits)?;
            if child_empty {
                released.push(child);
                write_u32(&mut data, index as usize * 4, 0);
                changed = true;
            } else {
                empty = false;
            }
        }
        if changed && !empty {
            self.write_block(block, &data, BlockClass::Metadata)?;
        }
        Ok(empty)
    }

    /// The bad-block inode (1): its list may not name blocks outside the
    /// file system or the primary superblock and descriptors; a bitmap on
    /// it moves; an inode-table block on it makes its inodes unusable.
    fn check_bad_block_inode(&mut self) -> Result<()> {
        let number = InodeNumber(1);
        let (group, _) = self.fs.geometry.inode_position(1);
        if self.unreadable_tables.contains(&group) || !self.fs.groups.is_valid(group) {
            return Ok(());
        }
        let mut inode = self.fs.read_inode(number)?;
        // e2fsck's low-dtime check reads every inode, this one too.
        let dtime = inode.deletion_time();
        if self.low_dtime_check() && dtime != 0 && dtime < self.fs.geometry.inodes_count {
            inode.set_deletion_time(self.now);
            self.fs.write_inode(&inode)?;
            self.fixed(
                ProblemKind::Orphan,
                Some(1),
                format!("was left linked from the orphan list (i_dtime {dtime}): set its deletion time to {}", self.now),
            );
        }
        let flags = inode.flags();
        if flags.contains(InodeFlags::EXTENTS)
            || inode.mode() != 0
            || inode.uid() != 0
            || inode.gid() != 0
            || inode.links() != 0
            || flags.contains(InodeFlags::INLINE_DATA)
            || inode.file_acl() != 0
        {
            self.fs.clear_inode_slot(number)?;
            self.fixed(
                ProblemKind::Inode,
                Some(1),
                String::from("the bad-block inode had fields set that it may not have: cleared it"),
            );
            return Ok(());
        }
        let mut changed = false;
        for index in 0..15usize {
            let block = inode.block_pointer(index);
            if block == 0 {
                continue;
            }
            let keep = if index < 12 {
                self.visit_bad_block(block)
            } else {
                self.visit_bad_indirect(block, index as u32 - 11)?
            };
            if !keep {
                inode.set_block_pointer(index, 0);
                changed = true;
            }
        }
        if changed {
            self.fs.write_inode(&inode)?;
        }
        Ok(())
    }

    /// An indirect block of the bad-block list; returns whether it stays.
    fn visit_bad_indirect(&mut self, block: u32, depth: u32) -> Result<bool> {
        if !self.fs.geometry.is_valid_block(block) || self.claimed.get(block) {
            self.fixed(
                ProblemKind::BlockPointer,
                Some(1),
                format!("indirect block {block} of the bad-block list is invalid: removed it"),
            );
            return Ok(false);
        }
        self.claim(block);
        let mut data = self.read_block(block, BlockClass::Metadata)?;
        let pointers = self.fs.geometry.pointers_per_block() as usize;
        let mut changed = false;
        for index in 0..pointers {
            let child = read_u32(&data, index * 4);
            if child == 0 {
                continue;
            }
            let keep = if depth == 1 {
                self.visit_bad_block(child)
            } else {
                self.visit_bad_indirect(child, depth - 1)?
            };
            if !keep {
                write_u32(&mut data, index * 4, 0);
                changed = true;
            }
        }
        if changed {
            self.write_block(block, &data, BlockClass::Metadata)?;
        }
        Ok(true)
    }

    /// One block on the bad-block list; returns whether it stays.
    fn visit_bad_block(&mut self, block: u32) -> bool {
        let geometry = self.fs.geometry.clone();
        if !geometry.is_valid_block(block) {
            self.fixed(
                ProblemKind::BlockPointer,
                Some(1),
                format!(
                    "block {block} on the bad-block list is outside the file system: removed it"
                ),
            );
            return false;
        }
        if !self.claimed.get(block) {
            self.claim(block);
            self.bad_blocks.insert(block);
            return true;
        }
        let primary = geometry.first_data_block;
        if block == primary || (block > primary && block <= primary + geometry.descriptor_blocks) {
            self.fixed(
                ProblemKind::BlockPointer,
                Some(1),
                format!("block {block} of the primary superblock or descriptors is on the bad-block list: removed it"),
            );
            return false;
        }
        for group in 0..geometry.group_count {
            if block == self.fs.groups.block_bitmap(group) {
                self.relocate(group, super::TableKind::BlockBitmap, true);
            } else if block == self.fs.groups.inode_bitmap(group) {
                self.relocate(group, super::TableKind::InodeBitmap, true);
            }
        }
        self.bad_blocks.insert(block);
        true
    }
}

/// e2fsck's `ext2_max_sizes`: the bytes a block map of 12 direct and
/// three indirect pointers addresses.
fn largest_mapped_size(pointers_per_block: u32, block_size: u64) -> u64 {
    let pointers = u64::from(pointers_per_block);
    (12 + pointers + pointers * pointers + pointers * pointers * pointers)
        .saturating_mul(block_size)
}
