// SPDX-License-Identifier: MIT OR Apache-2.0
//! On-disk inodes, inode numbers, file types and inode flags.
//!
//! [`Inode`] holds the first 256 bytes of an on-disk inode (all of a 128- or
//! 256-byte inode) and edits fields in place, so fields this library does not
//! interpret — extra timestamps, in-inode extended attributes, checksums —
//! survive a write. Larger inodes keep their tail untouched on disk because
//! only the held bytes are written back. Layout from the ext4 documentation
//! (`Documentation/filesystems/ext4/inodes.rst`), Linux `osd2` variant.
//!
//! ext2l gives `i_faddr` (byte 0x70, the obsolete fragment address) a new
//! meaning: on a regular file it is the rootlink, the inode number of a
//! directory (DESIGN §4).

use core::fmt;

use crate::bytes::{read_u16, read_u32, write_u16, write_u32};

/// Bytes of an inode this library holds in memory.
pub(crate) const INODE_BUFFER_SIZE: usize = 256;
/// Number of block pointers in `i_block`: 12 direct, then single, double and
/// triple indirect.
pub(crate) const BLOCK_POINTERS: usize = 15;
/// Bytes of `i_block`, which also hold a fast symlink's target.
pub(crate) const BLOCK_POINTER_BYTES: usize = BLOCK_POINTERS * 4;
/// The highest link count ext2 allows (Linux `EXT2_LINK_MAX`).
pub const MAX_LINKS: u16 = 32000;

/// Offsets inside the on-disk inode.
pub(crate) mod field {
    pub const MODE: usize = 0x00;
    pub const UID: usize = 0x02;
    pub const SIZE: usize = 0x04;
    pub const ACCESS_TIME: usize = 0x08;
    pub const CHANGE_TIME: usize = 0x0C;
    pub const MODIFICATION_TIME: usize = 0x10;
    pub const DELETION_TIME: usize = 0x14;
    pub const GID: usize = 0x18;
    pub const LINKS_COUNT: usize = 0x1A;
    pub const BLOCKS: usize = 0x1C;
    pub const FLAGS: usize = 0x20;
    pub const BLOCK: usize = 0x28;
    pub const GENERATION: usize = 0x64;
    pub const FILE_ACL: usize = 0x68;
    pub const SIZE_HIGH: usize = 0x6C;
    /// `l_i_blocks_hi` (Linux `osd2`): the high 16 bits of `i_blocks`.
    pub const BLOCKS_HIGH: usize = 0x74;
    /// `l_i_file_acl_high` (Linux `osd2`): the high 16 bits of `i_file_acl`.
    pub const FILE_ACL_HIGH: usize = 0x76;
    /// `i_faddr`: the ext2l rootlink.
    pub const FRAGMENT_ADDRESS: usize = 0x70;
    pub const UID_HIGH: usize = 0x78;
    pub const GID_HIGH: usize = 0x7A;
    pub const EXTRA_INODE_SIZE: usize = 0x80;
    pub const CREATION_TIME: usize = 0x90;
}

/// The number of an inode; inode numbers start at 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct InodeNumber(pub u32);

impl InodeNumber {
    /// The root directory, inode 2.
    pub const ROOT: InodeNumber = InodeNumber(2);
    /// The resize inode that owns the reserved descriptor blocks.
    pub(crate) const RESIZE: InodeNumber = InodeNumber(7);

    /// The raw number.
    #[inline]
    pub fn get(self) -> u32 {
        self.0
    }
}

impl fmt::Display for InodeNumber {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}", self.0)
    }
}

/// The type of a file, from its mode or its directory entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileType {
    /// Not recorded (directory entries without the `filetype` feature).
    Unknown,
    /// A regular file.
    RegularFile,
    /// A directory.
    Directory,
    /// A character device.
    CharacterDevice,
    /// A block device.
    BlockDevice,
    /// A named pipe.
    Fifo,
    /// A Unix socket.
    Socket,
    /// A symbolic link.
    Symlink,
}

/// `S_IFMT` and the type bits of `i_mode`.
pub(crate) mod mode {
    pub const TYPE_MASK: u16 = 0o170000;
    pub const SOCKET: u16 = 0o140000;
    pub const SYMLINK: u16 = 0o120000;
    pub const REGULAR: u16 = 0o100000;
    pub const BLOCK_DEVICE: u16 = 0o060000;
    pub const DIRECTORY: u16 = 0o040000;
    pub const CHARACTER_DEVICE: u16 = 0o020000;
    pub const FIFO: u16 = 0o010000;
    /// Permission bits plus set-uid, set-gid and sticky.
    pub const PERMISSION_MASK: u16 = 0o7777;
}

impl FileType {
    /// The type encoded in an `i_mode`.
    pub fn from_mode(file_mode: u16) -> FileType {
        match file_mode & mode::TYPE_MASK {
            mode::REGULAR => FileType::RegularFile,
            mode::DIRECTORY => FileType::Directory,
            mode::CHARACTER_DEVICE => FileType::CharacterDevice,
            mode::BLOCK_DEVICE => FileType::BlockDevice,
            mode::FIFO => FileType::Fifo,
            mode::SOCKET => FileType::Socket,
            mode::SYMLINK => FileType::Symlink,
            _ => FileType::Unknown,
        }
    }

    /// The type bits of `i_mode` for this type (0 for `Unknown`).
    pub fn mode_bits(self) -> u16 {
        match self {
            FileType::Unknown => 0,
            FileType::RegularFile => mode::REGULAR,
            FileType::Directory => mode::DIRECTORY,
            FileType::CharacterDevice => mode::CHARACTER_DEVICE,
            FileType::BlockDevice => mode::BLOCK_DEVICE,
            FileType::Fifo => mode::FIFO,
            FileType::Socket => mode::SOCKET,
            FileType::Symlink => mode::SYMLINK,
        }
    }

    /// The type in a directory entry's `file_type` byte.
    pub fn from_directory_entry(byte: u8) -> FileType {
        match byte {
            1 => FileType::RegularFile,
            2 => FileType::Directory,
            3 => FileType::CharacterDevice,
            4 => FileType::BlockDevice,
            5 => FileType::Fifo,
            6 => FileType::Socket,
            7 => FileType::Symlink,
            _ => FileType::Unknown,
        }
    }

    /// This type's directory entry `file_type` byte.
    pub fn directory_entry_byte(self) -> u8 {
        match self {
            FileType::Unknown => 0,
            FileType::RegularFile => 1,
            FileType::Directory => 2,
            FileType::CharacterDevice => 3,
            FileType::BlockDevice => 4,
            FileType::Fifo => 5,
            FileType::Socket => 6,
            FileType::Symlink => 7,
        }
    }
}

bitflags::bitflags! {
    /// `i_flags`.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
    pub struct InodeFlags: u32 {
        /// Secure deletion (not implemented anywhere).
        const SECURE_DELETE = 0x1;
        /// Undelete (not implemented anywhere).
        const UNDELETE = 0x2;
        /// Compressed file.
        const COMPRESSED = 0x4;
        /// Synchronous updates.
        const SYNCHRONOUS = 0x8;
        /// Immutable: nothing may change the inode or its directory entries.
        const IMMUTABLE = 0x10;
        /// Writes may only append.
        const APPEND_ONLY = 0x20;
        /// Not to be dumped.
        const NO_DUMP = 0x40;
        /// Access time not updated.
        const NO_ACCESS_TIME = 0x80;
        /// Hashed (htree) directory.
        const INDEX = 0x1000;
        /// AFS directory.
        const IMAGIC = 0x2000;
        /// Data journalled.
        const JOURNAL_DATA = 0x4000;
        /// No tail merging.
        const NO_TAIL = 0x8000;
        /// Synchronous directory updates.
        const DIRECTORY_SYNCHRONOUS = 0x10000;
        /// Top of a directory hierarchy (Orlov allocator hint).
        const TOP_DIRECTORY = 0x20000;
        /// `i_blocks` counts file-system blocks.
        const HUGE_FILE = 0x40000;
        /// Extent tree instead of a block map.
        const EXTENTS = 0x80000;
        /// fs-verity file.
        const VERITY = 0x100000;
        /// Inode holding a large extended attribute value.
        const EA_INODE = 0x200000;
        /// Data stored inside the inode.
        const INLINE_DATA = 0x1000_0000;
    }
}

/// What [`crate::FileSystem::stat`] reports about an inode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Metadata {
    /// The inode's number.
    pub inode: InodeNumber,
    /// Its type.
    pub file_type: FileType,
    /// The full `i_mode`: type bits and permission bits.
    pub mode: u16,
    /// Owner (32 bits: `i_uid` plus `l_i_uid_high`).
    pub uid: u32,
    /// Group (32 bits: `i_gid` plus `l_i_gid_high`).
    pub gid: u32,
    /// Size in bytes.
    pub size: u64,
    /// Last access, seconds since 1970.
    pub access_time: u32,
    /// Last content change.
    pub modification_time: u32,
    /// Last inode change.
    pub change_time: u32,
    /// Link count (names, `.`/`..` entries and rootlinks that refer to it).
    pub links: u16,
    /// `i_flags`.
    pub flags: InodeFlags,
    /// 512-byte sectors allocated, metadata included.
    pub sectors: u64,
    /// The rootlink target of a regular file, if any.
    pub rootlink: Option<InodeNumber>,
    /// Device number of a character or block device (`i_block[0]` or `[1]`).
    pub device: u32,
    /// `i_generation`: with the inode number, names this object and no
    /// other (a number reused after a free gets a new generation).
    pub generation: u32,
}

/// The in-memory copy of one on-disk inode.
#[derive(Clone)]
pub(crate) struct Inode {
    /// Which inode this is.
    pub number: InodeNumber,
    raw: [u8; INODE_BUFFER_SIZE],
}

impl fmt::Debug for Inode {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Inode")
            .field("number", &self.number)
            .field("mode", &self.mode())
            .field("links", &self.links())
            .field("size", &self.size())
            .finish()
    }
}

impl Inode {
    /// Wraps raw bytes read from the inode table (shorter input is zero-padded).
    pub(crate) fn from_bytes(number: InodeNumber, bytes: &[u8]) -> Inode {
        let mut raw = [0u8; INODE_BUFFER_SIZE];
        // One copy, not a loop per byte: every read and write of a file
        // loads its inode (a bare-metal target's byte loop is slow).
        let length = bytes.len().min(INODE_BUFFER_SIZE);
        if let (Some(target), Some(source)) = (raw.get_mut(..length), bytes.get(..length)) {
            target.copy_from_slice(source);
        }
        Inode { number, raw }
    }

    /// An all-zero inode.
    #[inline]
    pub(crate) fn zeroed(number: InodeNumber) -> Inode {
        Inode {
            number,
            raw: [0; INODE_BUFFER_SIZE],
        }
    }

    /// The held bytes.
    #[inline]
    pub(crate) fn as_bytes(&self) -> &[u8; INODE_BUFFER_SIZE] {
        &self.raw
    }

    /// `i_mode`.
    #[inline]
    pub fn mode(&self) -> u16 {
        read_u16(&self.raw, field::MODE)
    }

    #[inline]
    pub fn set_mode(&mut self, value: u16) {
        write_u16(&mut self.raw, field::MODE, value);
    }

    /// The type from `i_mode`.
    #[inline]
    pub fn file_type(&self) -> FileType {
        FileType::from_mode(self.mode())
    }

    #[inline]
    pub fn is_directory(&self) -> bool {
        self.file_type() == FileType::Directory
    }

    #[inline]
    pub fn is_regular(&self) -> bool {
        self.file_type() == FileType::RegularFile
    }

    #[inline]
    pub fn is_symlink(&self) -> bool {
        self.file_type() == FileType::Symlink
    }

    /// Whether `i_block` holds block pointers (not a device number or a fast
    /// symlink's text).
    pub fn has_block_map(&self) -> bool {
        match self.file_type() {
            FileType::RegularFile | FileType::Directory => true,
            FileType::Symlink => !self.is_fast_symlink(),
            _ => false,
        }
    }

    /// A symlink whose target lives in `i_block`. e2fsprogs decides by size
    /// alone (`ext2fs_is_fast_symlink`: shorter than the 60 bytes of
    /// `i_block`), and every writer, Linux and this library included, stores
    /// exactly those targets inline, so the size rule is used here too.
    #[inline]
    pub fn is_fast_symlink(&self) -> bool {
        self.is_symlink() && self.size() < BLOCK_POINTER_BYTES as u64
    }

    /// `i_uid` with its high half.
    #[inline]
    pub fn uid(&self) -> u32 {
        u32::from(read_u16(&self.raw, field::UID))
            | (u32::from(read_u16(&self.raw, field::UID_HIGH)) << 16)
    }

    #[inline]
    pub fn set_uid(&mut self, uid: u32) {
        write_u16(&mut self.raw, field::UID, uid as u16);
        write_u16(&mut self.raw, field::UID_HIGH, (uid >> 16) as u16);
    }

    /// `i_gid` with its high half.
    #[inline]
    pub fn gid(&self) -> u32 {
        u32::from(read_u16(&self.raw, field::GID))
            | (u32::from(read_u16(&self.raw, field::GID_HIGH)) << 16)
    }

    #[inline]
    pub fn set_gid(&mut self, gid: u32) {
        write_u16(&mut self.raw, field::GID, gid as u16);
        write_u16(&mut self.raw, field::GID_HIGH, (gid >> 16) as u16);
    }

    /// Size in bytes: `i_size` plus `i_size_high` for regular files (for
    /// directories revision 1 reused that field as `i_dir_acl`).
    pub fn size(&self) -> u64 {
        let low = u64::from(read_u32(&self.raw, field::SIZE));
        if self.is_regular() {
            low | (u64::from(read_u32(&self.raw, field::SIZE_HIGH)) << 32)
        } else {
            low
        }
    }

    #[inline]
    pub fn set_size(&mut self, size: u64) {
        write_u32(&mut self.raw, field::SIZE, size as u32);
        if self.is_regular() {
            write_u32(&mut self.raw, field::SIZE_HIGH, (size >> 32) as u32);
        }
    }

    #[inline]
    pub fn access_time(&self) -> u32 {
        read_u32(&self.raw, field::ACCESS_TIME)
    }

    #[inline]
    pub fn set_access_time(&mut self, time: u32) {
        write_u32(&mut self.raw, field::ACCESS_TIME, time);
    }

    #[inline]
    pub fn change_time(&self) -> u32 {
        read_u32(&self.raw, field::CHANGE_TIME)
    }

    #[inline]
    pub fn set_change_time(&mut self, time: u32) {
        write_u32(&mut self.raw, field::CHANGE_TIME, time);
    }

    #[inline]
    pub fn modification_time(&self) -> u32 {
        read_u32(&self.raw, field::MODIFICATION_TIME)
    }

    #[inline]
    pub fn set_modification_time(&mut self, time: u32) {
        write_u32(&mut self.raw, field::MODIFICATION_TIME, time);
    }

    #[inline]
    pub fn deletion_time(&self) -> u32 {
        read_u32(&self.raw, field::DELETION_TIME)
    }

    #[inline]
    pub fn set_deletion_time(&mut self, time: u32) {
        write_u32(&mut self.raw, field::DELETION_TIME, time);
    }

    /// Sets creation time (large inodes only; ignored in the 128-byte part).
    #[inline]
    pub fn set_creation_time(&mut self, time: u32) {
        write_u32(&mut self.raw, field::CREATION_TIME, time);
    }

    /// `i_extra_isize`.
    #[inline]
    pub fn set_extra_size(&mut self, size: u16) {
        write_u16(&mut self.raw, field::EXTRA_INODE_SIZE, size);
    }

    /// `i_links_count`.
    #[inline]
    pub fn links(&self) -> u16 {
        read_u16(&self.raw, field::LINKS_COUNT)
    }

    #[inline]
    pub fn set_links(&mut self, links: u16) {
        write_u16(&mut self.raw, field::LINKS_COUNT, links);
    }

    /// `i_blocks`: 512-byte sectors allocated.
    #[inline]
    pub fn sectors(&self) -> u32 {
        read_u32(&self.raw, field::BLOCKS)
    }

    #[inline]
    pub fn set_sectors(&mut self, sectors: u32) {
        write_u32(&mut self.raw, field::BLOCKS, sectors);
    }

    /// `i_flags`.
    #[inline]
    pub fn flags(&self) -> InodeFlags {
        InodeFlags::from_bits_retain(read_u32(&self.raw, field::FLAGS))
    }

    #[inline]
    pub fn set_flags(&mut self, flags: InodeFlags) {
        write_u32(&mut self.raw, field::FLAGS, flags.bits());
    }

    #[inline]
    pub fn is_immutable(&self) -> bool {
        self.flags().contains(InodeFlags::IMMUTABLE)
    }

    /// `i_block[index]`.
    #[inline]
    pub fn block_pointer(&self, index: usize) -> u32 {
        if index >= BLOCK_POINTERS {
            return 0;
        }
        read_u32(&self.raw, field::BLOCK + index * 4)
    }

    #[inline]
    pub fn set_block_pointer(&mut self, index: usize, block: u32) {
        if index < BLOCK_POINTERS {
            write_u32(&mut self.raw, field::BLOCK + index * 4, block);
        }
    }

    /// The 60 bytes of `i_block`, a fast symlink's text.
    #[inline]
    pub fn block_area(&self) -> &[u8] {
        self.raw
            .get(field::BLOCK..field::BLOCK + BLOCK_POINTER_BYTES)
            .unwrap_or(&[])
    }

    #[inline]
    pub fn block_area_mut(&mut self) -> &mut [u8] {
        self.raw
            .get_mut(field::BLOCK..field::BLOCK + BLOCK_POINTER_BYTES)
            .unwrap_or(&mut [])
    }

    /// `i_generation`.
    #[inline]
    pub fn generation(&self) -> u32 {
        read_u32(&self.raw, field::GENERATION)
    }

    /// Sets `i_generation`.
    #[inline]
    pub fn set_generation(&mut self, generation: u32) {
        write_u32(&mut self.raw, field::GENERATION, generation);
    }

    /// `i_file_acl`: the extended attribute block, 0 for none.
    #[inline]
    pub fn file_acl(&self) -> u32 {
        read_u32(&self.raw, field::FILE_ACL)
    }

    #[inline]
    pub fn set_file_acl(&mut self, block: u32) {
        write_u32(&mut self.raw, field::FILE_ACL, block);
    }

    /// `i_size_high` whatever the type (for a directory, revision 1's
    /// `i_dir_acl`; the repair clears it there, as e2fsck does).
    #[inline]
    pub fn size_high_raw(&self) -> u32 {
        read_u32(&self.raw, field::SIZE_HIGH)
    }

    #[inline]
    pub fn set_size_high_raw(&mut self, value: u32) {
        write_u32(&mut self.raw, field::SIZE_HIGH, value);
    }

    /// `l_i_blocks_hi`: the high half of `i_blocks` (`huge_file` only).
    #[inline]
    pub fn blocks_high(&self) -> u16 {
        read_u16(&self.raw, field::BLOCKS_HIGH)
    }

    #[inline]
    pub fn set_blocks_high(&mut self, value: u16) {
        write_u16(&mut self.raw, field::BLOCKS_HIGH, value);
    }

    /// `l_i_file_acl_high`: the high half of `i_file_acl` (`64bit` only).
    #[inline]
    pub fn file_acl_high(&self) -> u16 {
        read_u16(&self.raw, field::FILE_ACL_HIGH)
    }

    #[inline]
    pub fn set_file_acl_high(&mut self, value: u16) {
        write_u16(&mut self.raw, field::FILE_ACL_HIGH, value);
    }

    /// `i_extra_isize` (0 in a 128-byte inode).
    #[inline]
    pub fn extra_size(&self) -> u16 {
        read_u16(&self.raw, field::EXTRA_INODE_SIZE)
    }

    /// The raw rootlink field (`i_faddr`).
    #[inline]
    pub fn rootlink_raw(&self) -> u32 {
        read_u32(&self.raw, field::FRAGMENT_ADDRESS)
    }

    #[inline]
    pub fn set_rootlink_raw(&mut self, target: u32) {
        write_u32(&mut self.raw, field::FRAGMENT_ADDRESS, target);
    }

    /// Device number of a device inode: old encoding in `i_block[0]`, new in `i_block[1]`.
    pub fn device_number(&self) -> u32 {
        let old = self.block_pointer(0);
        if old != 0 {
            old
        } else {
            self.block_pointer(1)
        }
    }

    /// The public view of this inode.
    pub fn metadata(&self) -> Metadata {
        let rootlink = if self.is_regular() && self.rootlink_raw() != 0 {
            Some(InodeNumber(self.rootlink_raw()))
        } else {
            None
        };
        let device = match self.file_type() {
            FileType::CharacterDevice | FileType::BlockDevice => self.device_number(),
            _ => 0,
        };
        Metadata {
            inode: self.number,
            file_type: self.file_type(),
            mode: self.mode(),
            uid: self.uid(),
            gid: self.gid(),
            size: self.size(),
            access_time: self.access_time(),
            modification_time: self.modification_time(),
            change_time: self.change_time(),
            links: self.links(),
            flags: self.flags(),
            sectors: u64::from(self.sectors()),
            rootlink,
            device,
            generation: self.generation(),
        }
    }
}
