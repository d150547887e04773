// SPDX-License-Identifier: MIT OR Apache-2.0
//! `struct stat` of `fstat` and `newfstatat` (and x86_64's `stat`,
//! `lstat`), which differs between the architectures:
//!
//! | field | x86_64 (`asm/stat.h`) | AArch64 (`asm-generic/stat.h`) |
//! |---|---|---|
//! | `st_dev` | 0, u64 | 0, u64 |
//! | `st_ino` | 8, u64 | 8, u64 |
//! | `st_nlink` | 16, u64 | 20, u32 |
//! | `st_mode` | 24, u32 | 16, u32 |
//! | `st_uid`, `st_gid` | 28, 32 | 24, 28 |
//! | `st_rdev` | 40 | 32 |
//! | `st_size` | 48 | 48 |
//! | `st_blksize` | 56, i64 | 56, i32 |
//! | `st_blocks` | 64 | 64 |
//! | `st_atime`, `_nsec` | 72, 80 | 72, 80 |
//! | `st_mtime`, `_nsec` | 88, 96 | 88, 96 |
//! | `st_ctime`, `_nsec` | 104, 112 | 104, 112 |
//! | size | 144 | 128 |
//!
//! The x86_64 column is checked against the host libc's `struct stat`
//! (glibc's equals the kernel's there); the AArch64 one was read from
//! `/usr/include/asm-generic/stat.h` (`struct stat`, lines 24–44 in
//! linux-libc-dev 6.1), which arm64 uses unchanged.

use super::bytes::{put_i64, put_u32, put_u64};
use super::time::Timespec;
use super::EncodedBytes;
use crate::Arch;

/// Bytes in x86_64's `struct stat`.
pub const STAT_SIZE_X86_64: usize = 144;
/// Bytes in AArch64's (the generic) `struct stat`.
pub const STAT_SIZE_AARCH64: usize = 128;

/// `S_IFMT`: the file-type bits of a mode.
pub const FILE_TYPE_MASK: u32 = 0o170000;
/// `S_IFSOCK`.
pub const SOCKET: u32 = 0o140000;
/// `S_IFLNK`.
pub const SYMBOLIC_LINK: u32 = 0o120000;
/// `S_IFREG`.
pub const REGULAR_FILE: u32 = 0o100000;
/// `S_IFBLK`.
pub const BLOCK_DEVICE: u32 = 0o060000;
/// `S_IFDIR`.
pub const DIRECTORY: u32 = 0o040000;
/// `S_IFCHR`.
pub const CHARACTER_DEVICE: u32 = 0o020000;
/// `S_IFIFO`.
pub const FIFO: u32 = 0o010000;

/// What the kernel knows of a file, independent of the layout; both
/// [`FileStatus::encode_stat`] and [`super::statx`] write it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FileStatus {
    /// Device of the file system (`st_dev`).
    pub device: u64,
    /// Inode number.
    pub inode: u64,
    /// Type and permission bits (`S_IF…` | `0o7777`).
    pub mode: u32,
    /// Hard links.
    pub link_count: u64,
    /// Owner.
    pub user_id: u32,
    /// Group.
    pub group_id: u32,
    /// Device a special file stands for (`st_rdev`).
    pub special_device: u64,
    /// Size in bytes.
    pub size: i64,
    /// Preferred I/O size.
    pub block_size: u32,
    /// 512-byte blocks allocated.
    pub blocks: i64,
    /// Last access.
    pub access_time: Timespec,
    /// Last data change.
    pub modify_time: Timespec,
    /// Last status change.
    pub change_time: Timespec,
}

impl FileStatus {
    /// The `struct stat` bytes for `arch` (144 on x86_64, 128 on
    /// AArch64). A link count above AArch64's 32-bit field saturates.
    pub fn encode_stat(&self, arch: Arch) -> EncodedBytes<STAT_SIZE_X86_64> {
        let mut bytes = [0; STAT_SIZE_X86_64];
        put_u64(&mut bytes, 0, self.device);
        put_u64(&mut bytes, 8, self.inode);
        let len = match arch {
            Arch::X86_64 => {
                put_u64(&mut bytes, 16, self.link_count);
                put_u32(&mut bytes, 24, self.mode);
                put_u32(&mut bytes, 28, self.user_id);
                put_u32(&mut bytes, 32, self.group_id);
                put_u64(&mut bytes, 40, self.special_device);
                put_i64(&mut bytes, 56, i64::from(self.block_size));
                STAT_SIZE_X86_64
            }
            Arch::Aarch64 => {
                put_u32(&mut bytes, 16, self.mode);
                put_u32(
                    &mut bytes,
                    20,
                    u32::try_from(self.link_count).unwrap_or(u32::MAX),
                );
                put_u32(&mut bytes, 24, self.user_id);
                put_u32(&mut bytes, 28, self.group_id);
                put_u64(&mut bytes, 32, self.special_device);
                put_u32(&mut bytes, 56, self.block_size);
                STAT_SIZE_AARCH64
            }
        };
        put_i64(&mut bytes, 48, self.size);
        put_i64(&mut bytes, 64, self.blocks);
        for (offset, time) in [
            (72, self.access_time),
            (88, self.modify_time),
            (104, self.change_time),
        ] {
            put_i64(&mut bytes, offset, time.seconds);
            put_i64(&mut bytes, offset + 8, time.nanoseconds);
        }
        EncodedBytes { bytes, len }
    }
}

#[cfg(test)]
mod tests {
    use super::super::bytes::{get_i64, get_u32, get_u64};
    use super::*;
    use core::mem::{offset_of, size_of};

    fn sample() -> FileStatus {
        FileStatus {
            device: 0x0102_0304_0506_0708,
            inode: 0x1112_1314_1516_1718,
            mode: REGULAR_FILE | 0o644,
            link_count: 3,
            user_id: 1000,
            group_id: 100,
            special_device: 0x2122_2324_2526_2728,
            size: 0x3132_3334_3536,
            block_size: 4096,
            blocks: 0x4142,
            access_time: Timespec {
                seconds: 51,
                nanoseconds: 52,
            },
            modify_time: Timespec {
                seconds: 61,
                nanoseconds: 62,
            },
            change_time: Timespec {
                seconds: 71,
                nanoseconds: 72,
            },
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn x86_64_layout_matches_the_host_libc() {
        assert_eq!(size_of::<libc::stat>(), STAT_SIZE_X86_64);
        assert_eq!(offset_of!(libc::stat, st_dev), 0);
        assert_eq!(offset_of!(libc::stat, st_ino), 8);
        assert_eq!(offset_of!(libc::stat, st_nlink), 16);
        assert_eq!(offset_of!(libc::stat, st_mode), 24);
        assert_eq!(offset_of!(libc::stat, st_uid), 28);
        assert_eq!(offset_of!(libc::stat, st_gid), 32);
        assert_eq!(offset_of!(libc::stat, st_rdev), 40);
        assert_eq!(offset_of!(libc::stat, st_size), 48);
        assert_eq!(offset_of!(libc::stat, st_blksize), 56);
        assert_eq!(offset_of!(libc::stat, st_blocks), 64);
        assert_eq!(offset_of!(libc::stat, st_atime), 72);
        assert_eq!(offset_of!(libc::stat, st_atime_nsec), 80);
        assert_eq!(offset_of!(libc::stat, st_mtime), 88);
        assert_eq!(offset_of!(libc::stat, st_mtime_nsec), 96);
        assert_eq!(offset_of!(libc::stat, st_ctime), 104);
        assert_eq!(offset_of!(libc::stat, st_ctime_nsec), 112);
        assert_eq!(libc::S_IFMT, FILE_TYPE_MASK);
        assert_eq!(libc::S_IFREG, REGULAR_FILE);
        assert_eq!(libc::S_IFDIR, DIRECTORY);
        assert_eq!(libc::S_IFLNK, SYMBOLIC_LINK);
        assert_eq!(libc::S_IFCHR, CHARACTER_DEVICE);
        assert_eq!(libc::S_IFBLK, BLOCK_DEVICE);
        assert_eq!(libc::S_IFIFO, FIFO);
        assert_eq!(libc::S_IFSOCK, SOCKET);
    }

    #[cfg(target_arch = "x86_64")]
    /// The encoder writes where the host's own `struct stat` reads.
    #[test]
    fn x86_64_encoding_reads_back_through_the_host_struct() {
        let status = sample();
        let encoded = status.encode_stat(Arch::X86_64);
        let bytes = encoded.as_bytes();
        assert_eq!(bytes.len(), STAT_SIZE_X86_64);
        let field = |offset| get_u64(bytes, offset);
        assert_eq!(field(offset_of!(libc::stat, st_dev)), status.device);
        assert_eq!(field(offset_of!(libc::stat, st_ino)), status.inode);
        assert_eq!(field(offset_of!(libc::stat, st_nlink)), 3);
        assert_eq!(get_u32(bytes, offset_of!(libc::stat, st_mode)), status.mode);
        assert_eq!(get_u32(bytes, offset_of!(libc::stat, st_uid)), 1000);
        assert_eq!(get_u32(bytes, offset_of!(libc::stat, st_gid)), 100);
        assert_eq!(
            field(offset_of!(libc::stat, st_rdev)),
            status.special_device
        );
        assert_eq!(get_i64(bytes, offset_of!(libc::stat, st_size)), status.size);
        assert_eq!(get_i64(bytes, offset_of!(libc::stat, st_blksize)), 4096);
        assert_eq!(get_i64(bytes, offset_of!(libc::stat, st_blocks)), 0x4142);
        assert_eq!(get_i64(bytes, offset_of!(libc::stat, st_atime_nsec)), 52);
        assert_eq!(get_i64(bytes, offset_of!(libc::stat, st_mtime)), 61);
        assert_eq!(get_i64(bytes, offset_of!(libc::stat, st_ctime_nsec)), 72);
        assert!(bytes[120..].iter().all(|&b| b == 0), "reserved words zero");
        assert_eq!(bytes[36..40], [0; 4], "padding zero");
    }

    /// Offsets from `asm-generic/stat.h`'s `struct stat`.
    #[test]
    fn aarch64_encoding_follows_the_generic_header() {
        let status = sample();
        let encoded = status.encode_stat(Arch::Aarch64);
        let bytes = encoded.as_bytes();
        assert_eq!(bytes.len(), STAT_SIZE_AARCH64);
        assert_eq!(get_u64(bytes, 0), status.device);
        assert_eq!(get_u64(bytes, 8), status.inode);
        assert_eq!(get_u32(bytes, 16), status.mode);
        assert_eq!(get_u32(bytes, 20), 3);
        assert_eq!(get_u32(bytes, 24), 1000);
        assert_eq!(get_u32(bytes, 28), 100);
        assert_eq!(get_u64(bytes, 32), status.special_device);
        assert_eq!(get_u64(bytes, 40), 0, "__pad1");
        assert_eq!(get_i64(bytes, 48), status.size);
        assert_eq!(get_u32(bytes, 56), 4096);
        assert_eq!(get_u32(bytes, 60), 0, "__pad2");
        assert_eq!(get_i64(bytes, 64), 0x4142);
        assert_eq!(get_i64(bytes, 72), 51);
        assert_eq!(get_i64(bytes, 80), 52);
        assert_eq!(get_i64(bytes, 88), 61);
        assert_eq!(get_i64(bytes, 96), 62);
        assert_eq!(get_i64(bytes, 104), 71);
        assert_eq!(get_i64(bytes, 112), 72);
        assert_eq!(get_u64(bytes, 120), 0, "__unused4, __unused5");
        let many_links = FileStatus {
            link_count: 1 << 40,
            ..status
        };
        assert_eq!(
            get_u32(many_links.encode_stat(Arch::Aarch64).as_bytes(), 20),
            u32::MAX
        );
    }
}
