// SPDX-License-Identifier: MIT OR Apache-2.0
//! `struct statfs` (`asm-generic/statfs.h`, and x86_64's own with the
//! same layout): 120 bytes on 64-bit. `f_type` at 0, `f_bsize` at 8,
//! `f_blocks`, `f_bfree`, `f_bavail`, `f_files`, `f_ffree` at 16–48,
//! `f_fsid` (two `int`s) at 56, `f_namelen` at 64, `f_frsize` at 72,
//! `f_flags` at 80, `f_spare[4]` at 88–120. Checked against the host libc.

use super::bytes::{put_i64, put_u64};

/// Bytes in a `struct statfs`.
pub const STATFS_SIZE: usize = 120;

/// `EXT2_SUPER_MAGIC` (also ext3's and ext4's): the `f_type` of an ext2l
/// volume.
pub const EXT2_SUPER_MAGIC: i64 = 0xef53;

/// `ST_VALID`: `f_flags` holds the mount flags.
pub const ST_VALID: i64 = 0x20;
/// `ST_RDONLY`: the volume is mounted read-only.
pub const ST_RDONLY: i64 = 0x1;

/// What `statfs` and `fstatfs` report about a file system.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FileSystemStatus {
    /// `f_type`: the file system's magic number.
    pub kind: i64,
    /// `f_bsize` and `f_frsize`: bytes per block.
    pub block_size: i64,
    /// `f_blocks`: blocks in all.
    pub blocks: u64,
    /// `f_bfree`: free blocks.
    pub free_blocks: u64,
    /// `f_bavail`: free blocks an unprivileged writer may use.
    pub available_blocks: u64,
    /// `f_files`: inodes in all.
    pub files: u64,
    /// `f_ffree`: free inodes.
    pub free_files: u64,
    /// `f_namelen`: the longest name.
    pub name_length: i64,
    /// `f_flags`.
    pub flags: i64,
}

impl FileSystemStatus {
    /// The bytes a program reads; `f_fsid` and the spare words are 0.
    pub fn encode(&self) -> [u8; STATFS_SIZE] {
        let mut bytes = [0; STATFS_SIZE];
        put_i64(&mut bytes, 0, self.kind);
        put_i64(&mut bytes, 8, self.block_size);
        put_u64(&mut bytes, 16, self.blocks);
        put_u64(&mut bytes, 24, self.free_blocks);
        put_u64(&mut bytes, 32, self.available_blocks);
        put_u64(&mut bytes, 40, self.files);
        put_u64(&mut bytes, 48, self.free_files);
        put_i64(&mut bytes, 64, self.name_length);
        put_i64(&mut bytes, 72, self.block_size);
        put_i64(&mut bytes, 80, self.flags);
        bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{offset_of, size_of};

    #[test]
    fn layout_matches_the_host_libc() {
        assert_eq!(size_of::<libc::statfs>(), STATFS_SIZE);
        assert_eq!(offset_of!(libc::statfs, f_type), 0);
        assert_eq!(offset_of!(libc::statfs, f_bsize), 8);
        assert_eq!(offset_of!(libc::statfs, f_blocks), 16);
        assert_eq!(offset_of!(libc::statfs, f_bfree), 24);
        assert_eq!(offset_of!(libc::statfs, f_bavail), 32);
        assert_eq!(offset_of!(libc::statfs, f_files), 40);
        assert_eq!(offset_of!(libc::statfs, f_ffree), 48);
        assert_eq!(offset_of!(libc::statfs, f_fsid), 56);
        assert_eq!(offset_of!(libc::statfs, f_namelen), 64);
        assert_eq!(offset_of!(libc::statfs, f_frsize), 72);
        // The host libc's `statfs` names `f_flags` among its spare words:
        // the word after `f_frsize`.
        assert_eq!(i64::from(libc::ST_RDONLY as i32), ST_RDONLY);
        assert_eq!(EXT2_SUPER_MAGIC, 0xef53);
    }

    #[test]
    fn fields_land_at_their_offsets() {
        let status = FileSystemStatus {
            kind: EXT2_SUPER_MAGIC,
            block_size: 4096,
            blocks: 0x1_0000,
            free_blocks: 0x8000,
            available_blocks: 0x7000,
            files: 300,
            free_files: 200,
            name_length: 255,
            flags: ST_VALID,
        };
        let bytes = status.encode();
        assert_eq!(bytes[0..8], 0xef53i64.to_le_bytes());
        assert_eq!(bytes[8..16], 4096i64.to_le_bytes());
        assert_eq!(bytes[16..24], 0x1_0000u64.to_le_bytes());
        assert_eq!(bytes[32..40], 0x7000u64.to_le_bytes());
        assert_eq!(bytes[48..56], 200u64.to_le_bytes());
        assert_eq!(bytes[56..64], [0; 8], "no fsid");
        assert_eq!(bytes[64..72], 255i64.to_le_bytes());
        assert_eq!(
            bytes[72..80],
            4096i64.to_le_bytes(),
            "f_frsize is the block size"
        );
        assert_eq!(bytes[80..88], 0x20i64.to_le_bytes());
        assert_eq!(bytes[88..], [0; 32]);
    }
}
