// SPDX-License-Identifier: MIT OR Apache-2.0
//! `struct linux_dirent64`, the records `getdents64` fills a buffer with
//! (`fs/readdir.c`; the same on both architectures): `d_ino` (u64) at 0,
//! `d_off` (i64) at 8, `d_reclen` (u16) at 16, `d_type` (u8) at 18, the
//! NUL-terminated name at 19, the whole record padded to a multiple of 8.
//! Checked against the host libc's `struct dirent64`, which has the same
//! header.

use super::bytes::{put_i64, put_u16, put_u64};

/// Offset of the name in a record.
pub const NAME_OFFSET: usize = 19;
/// Records are padded to this alignment.
pub const RECORD_ALIGNMENT: usize = 8;
/// Longest name (`NAME_MAX`).
pub const NAME_MAX: usize = 255;

/// `d_type`: what the entry is (`DT_*`).
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryType {
    /// `DT_UNKNOWN` (0).
    Unknown = 0,
    /// `DT_FIFO` (1).
    Fifo = 1,
    /// `DT_CHR` (2).
    CharacterDevice = 2,
    /// `DT_DIR` (4).
    Directory = 4,
    /// `DT_BLK` (6).
    BlockDevice = 6,
    /// `DT_REG` (8).
    RegularFile = 8,
    /// `DT_LNK` (10).
    SymbolicLink = 10,
    /// `DT_SOCK` (12).
    Socket = 12,
}

/// Why a record was not written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DirectoryEntryError {
    /// The buffer has no room for the record: the kernel stops here and
    /// returns what it wrote (or `EINVAL` if it wrote nothing).
    DoesNotFit,
    /// The name is empty, longer than `NAME_MAX`, or holds a NUL or `/`.
    InvalidName,
}

/// Bytes one record with a name of `name_length` bytes takes.
pub fn record_length(name_length: usize) -> usize {
    (NAME_OFFSET + name_length + 1).next_multiple_of(RECORD_ALIGNMENT)
}

/// Appends records to a `getdents64` buffer.
pub struct DirectoryEntryWriter<'buffer> {
    buffer: &'buffer mut [u8],
    written: usize,
}

impl<'buffer> DirectoryEntryWriter<'buffer> {
    /// A writer filling `buffer` from its start.
    pub fn new(buffer: &'buffer mut [u8]) -> Self {
        DirectoryEntryWriter { buffer, written: 0 }
    }

    /// Appends one record: `inode`, `next_offset` (the `d_off` a later
    /// `lseek` returns to, for the entry after this one), `kind`, `name`.
    pub fn push(
        &mut self,
        inode: u64,
        next_offset: i64,
        kind: EntryType,
        name: &[u8],
    ) -> Result<(), DirectoryEntryError> {
        if name.is_empty() || name.len() > NAME_MAX || name.iter().any(|&b| b == 0 || b == b'/') {
            return Err(DirectoryEntryError::InvalidName);
        }
        let length = record_length(name.len());
        let record = self
            .buffer
            .get_mut(self.written..)
            .and_then(|rest| rest.get_mut(..length))
            .ok_or(DirectoryEntryError::DoesNotFit)?;
        record.fill(0);
        put_u64(record, 0, inode);
        put_i64(record, 8, next_offset);
        put_u16(record, 16, length as u16);
        record[18] = kind as u8;
        record[NAME_OFFSET..NAME_OFFSET + name.len()].copy_from_slice(name);
        self.written += length;
        Ok(())
    }

    /// Bytes written so far: `getdents64`'s result.
    pub fn written(&self) -> usize {
        self.written
    }
}

#[cfg(test)]
mod tests {
    use super::super::bytes::{get_i64, get_u16, get_u64};
    use super::*;
    use core::mem::offset_of;

    #[test]
    fn header_matches_the_host_libc() {
        assert_eq!(offset_of!(libc::dirent64, d_ino), 0);
        assert_eq!(offset_of!(libc::dirent64, d_off), 8);
        assert_eq!(offset_of!(libc::dirent64, d_reclen), 16);
        assert_eq!(offset_of!(libc::dirent64, d_type), 18);
        assert_eq!(offset_of!(libc::dirent64, d_name), NAME_OFFSET);
        assert_eq!(EntryType::Directory as u8, libc::DT_DIR);
        assert_eq!(EntryType::RegularFile as u8, libc::DT_REG);
        assert_eq!(EntryType::SymbolicLink as u8, libc::DT_LNK);
        assert_eq!(EntryType::CharacterDevice as u8, libc::DT_CHR);
        assert_eq!(EntryType::Fifo as u8, libc::DT_FIFO);
    }

    #[test]
    fn records_are_aligned_and_the_last_that_does_not_fit_is_refused() {
        assert_eq!(record_length(1), 24);
        assert_eq!(record_length(4), 24);
        assert_eq!(record_length(5), 32);
        let mut buffer = [0xaa; 56];
        let mut writer = DirectoryEntryWriter::new(&mut buffer);
        writer.push(2, 1, EntryType::Directory, b".").unwrap();
        writer
            .push(12, 2, EntryType::RegularFile, b"hello")
            .unwrap();
        assert_eq!(writer.written(), 56);
        assert_eq!(
            writer.push(13, 3, EntryType::RegularFile, b"x"),
            Err(DirectoryEntryError::DoesNotFit)
        );
        assert_eq!(
            writer.push(13, 3, EntryType::RegularFile, b"a/b"),
            Err(DirectoryEntryError::InvalidName)
        );
        assert_eq!(writer.written(), 56);
        assert_eq!(get_u64(&buffer, 0), 2);
        assert_eq!(get_i64(&buffer, 8), 1);
        assert_eq!(get_u16(&buffer, 16), 24);
        assert_eq!(buffer[18], 4);
        assert_eq!(&buffer[19..21], b".\0");
        assert!(buffer[21..24].iter().all(|&b| b == 0), "padding zeroed");
        assert_eq!(get_u64(&buffer, 24), 12);
        assert_eq!(get_u16(&buffer, 40), 32);
        assert_eq!(&buffer[43..49], b"hello\0");
    }
}
