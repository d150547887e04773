// SPDX-License-Identifier: MIT OR Apache-2.0
//! `struct statx` (`linux/stat.h`): 256 bytes, the same on both
//! architectures; checked against the host libc's `struct statx`.

use bitflags::bitflags;

use super::bytes::{put_i64, put_u16, put_u32, put_u64};
use super::stat::FileStatus;
use super::time::Timespec;

/// Bytes in a `struct statx`.
pub const STATX_SIZE: usize = 256;

bitflags! {
    /// `STATX_*`: the fields asked for (`mask`) and filled (`stx_mask`).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct StatxMask: u32 {
        /// `STATX_TYPE`.
        const TYPE = 0x1;
        /// `STATX_MODE`.
        const MODE = 0x2;
        /// `STATX_NLINK`.
        const LINK_COUNT = 0x4;
        /// `STATX_UID`.
        const USER_ID = 0x8;
        /// `STATX_GID`.
        const GROUP_ID = 0x10;
        /// `STATX_ATIME`.
        const ACCESS_TIME = 0x20;
        /// `STATX_MTIME`.
        const MODIFY_TIME = 0x40;
        /// `STATX_CTIME`.
        const CHANGE_TIME = 0x80;
        /// `STATX_INO`.
        const INODE = 0x100;
        /// `STATX_SIZE`.
        const SIZE = 0x200;
        /// `STATX_BLOCKS`.
        const BLOCKS = 0x400;
        /// `STATX_BTIME`: creation time.
        const BIRTH_TIME = 0x800;
        /// `STATX_MNT_ID`.
        const MOUNT_ID = 0x1000;
    }
}

impl StatxMask {
    /// `STATX_BASIC_STATS`: what `struct stat` holds.
    pub const BASIC: StatxMask = StatxMask::from_bits_truncate(0x7ff);
}

/// Splits a Linux device number into (major, minor) as `statx` reports
/// them (the kernel's `new_encode_dev` layout: minor bits 0–7 and
/// 20–31, major bits 8–19).
pub fn device_major_minor(device: u64) -> (u32, u32) {
    let major = ((device >> 8) & 0xfff) as u32 | ((device >> 32) & !0xfff) as u32;
    let minor = (device & 0xff) as u32 | ((device >> 12) & !0xff) as u32;
    (major, minor)
}

fn put_timestamp(bytes: &mut [u8], offset: usize, time: Timespec) {
    put_i64(bytes, offset, time.seconds);
    put_u32(bytes, offset + 8, time.nanoseconds as u32);
    put_u32(bytes, offset + 12, 0);
}

impl FileStatus {
    /// The `struct statx` bytes, reporting `filled` in `stx_mask`
    /// (normally [`StatxMask::BASIC`]); fields outside it are written
    /// anyway, as Linux does for what it knows.
    pub fn encode_statx(&self, filled: StatxMask) -> [u8; STATX_SIZE] {
        let mut bytes = [0; STATX_SIZE];
        put_u32(&mut bytes, 0, filled.bits());
        put_u32(&mut bytes, 4, self.block_size);
        put_u64(&mut bytes, 8, 0);
        put_u32(
            &mut bytes,
            16,
            u32::try_from(self.link_count).unwrap_or(u32::MAX),
        );
        put_u32(&mut bytes, 20, self.user_id);
        put_u32(&mut bytes, 24, self.group_id);
        put_u16(&mut bytes, 28, self.mode as u16);
        put_u64(&mut bytes, 32, self.inode);
        put_u64(&mut bytes, 40, self.size as u64);
        put_u64(&mut bytes, 48, self.blocks as u64);
        put_timestamp(&mut bytes, 64, self.access_time);
        put_timestamp(&mut bytes, 96, self.change_time);
        put_timestamp(&mut bytes, 112, self.modify_time);
        let (rdev_major, rdev_minor) = device_major_minor(self.special_device);
        put_u32(&mut bytes, 128, rdev_major);
        put_u32(&mut bytes, 132, rdev_minor);
        let (dev_major, dev_minor) = device_major_minor(self.device);
        put_u32(&mut bytes, 136, dev_major);
        put_u32(&mut bytes, 140, dev_minor);
        bytes
    }
}

#[cfg(test)]
mod tests {
    use super::super::bytes::{get_i64, get_u16, get_u32, get_u64};
    use super::super::stat::DIRECTORY;
    use super::*;
    use core::mem::{offset_of, size_of};

    #[test]
    fn layout_matches_the_host_libc() {
        assert_eq!(size_of::<libc::statx>(), STATX_SIZE);
        assert_eq!(offset_of!(libc::statx, stx_mask), 0);
        assert_eq!(offset_of!(libc::statx, stx_blksize), 4);
        assert_eq!(offset_of!(libc::statx, stx_attributes), 8);
        assert_eq!(offset_of!(libc::statx, stx_nlink), 16);
        assert_eq!(offset_of!(libc::statx, stx_uid), 20);
        assert_eq!(offset_of!(libc::statx, stx_gid), 24);
        assert_eq!(offset_of!(libc::statx, stx_mode), 28);
        assert_eq!(offset_of!(libc::statx, stx_ino), 32);
        assert_eq!(offset_of!(libc::statx, stx_size), 40);
        assert_eq!(offset_of!(libc::statx, stx_blocks), 48);
        assert_eq!(offset_of!(libc::statx, stx_attributes_mask), 56);
        assert_eq!(offset_of!(libc::statx, stx_atime), 64);
        assert_eq!(offset_of!(libc::statx, stx_btime), 80);
        assert_eq!(offset_of!(libc::statx, stx_ctime), 96);
        assert_eq!(offset_of!(libc::statx, stx_mtime), 112);
        assert_eq!(offset_of!(libc::statx, stx_rdev_major), 128);
        assert_eq!(offset_of!(libc::statx, stx_rdev_minor), 132);
        assert_eq!(offset_of!(libc::statx, stx_dev_major), 136);
        assert_eq!(offset_of!(libc::statx, stx_dev_minor), 140);
        assert_eq!(size_of::<libc::statx_timestamp>(), 16);
        assert_eq!(offset_of!(libc::statx_timestamp, tv_nsec), 8);
        assert_eq!(StatxMask::BASIC.bits(), libc::STATX_BASIC_STATS);
        assert_eq!(StatxMask::BIRTH_TIME.bits(), libc::STATX_BTIME);
        assert_eq!(StatxMask::MOUNT_ID.bits(), libc::STATX_MNT_ID);
    }

    #[test]
    fn device_numbers_split_as_the_host_does() {
        for device in [
            0u64,
            0x0803,
            libc::makedev(259, 1_048_575),
            libc::makedev(4095, 0),
        ] {
            let (major, minor) = device_major_minor(device);
            assert_eq!((major, minor), (libc::major(device), libc::minor(device)));
        }
    }

    #[test]
    fn fields_land_where_the_host_struct_reads_them() {
        let status = FileStatus {
            device: libc::makedev(8, 3),
            inode: 77,
            mode: DIRECTORY | 0o755,
            link_count: 2,
            user_id: 5,
            group_id: 6,
            size: 4096,
            block_size: 1024,
            blocks: 8,
            access_time: Timespec {
                seconds: 10,
                nanoseconds: 11,
            },
            modify_time: Timespec {
                seconds: 20,
                nanoseconds: 21,
            },
            change_time: Timespec {
                seconds: 30,
                nanoseconds: 31,
            },
            ..FileStatus::default()
        };
        let bytes = status.encode_statx(StatxMask::BASIC);
        assert_eq!(get_u32(&bytes, 0), 0x7ff);
        assert_eq!(get_u32(&bytes, 4), 1024);
        assert_eq!(get_u32(&bytes, 16), 2);
        assert_eq!(get_u16(&bytes, 28), (DIRECTORY | 0o755) as u16);
        assert_eq!(get_u64(&bytes, 32), 77);
        assert_eq!(get_u64(&bytes, 40), 4096);
        assert_eq!(get_i64(&bytes, offset_of!(libc::statx, stx_mtime)), 20);
        assert_eq!(get_u32(&bytes, offset_of!(libc::statx, stx_mtime) + 8), 21);
        assert_eq!(get_i64(&bytes, offset_of!(libc::statx, stx_ctime)), 30);
        assert_eq!(get_u32(&bytes, 136), 8);
        assert_eq!(get_u32(&bytes, 140), 3);
        assert!(bytes[144..].iter().all(|&b| b == 0));
    }
}
