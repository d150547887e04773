// SPDX-License-Identifier: MIT OR Apache-2.0
//! The format of one directory block: parsing and editing entries in a buffer.
//!
//! An ext2 directory is a file whose blocks are chains of variable-length
//! records: `inode` (u32), `rec_len` (u16), `name_len` (u8), `file_type` (u8,
//! meaningful with the `filetype` feature), then the name, padded to 4 bytes.
//! Records tile the block exactly; an entry with inode 0 is free space. The
//! parser checks every record the way Linux's `ext2_check_page` does
//! (`fs/ext2/dir.c`) and stops at the first bad one, so nothing after it is
//! trusted. Indexed (htree) directories need nothing special: their index
//! blocks look like one empty record covering the block.
//!
//! This module is pure: it edits byte buffers. [`crate::FileSystem`] reads and
//! writes the blocks.

use crate::bytes::{read_u16, read_u32, read_u8, write_u16, write_u32, write_u8};
use crate::error::{Error, Result};

/// Bytes of a record header.
pub(crate) const HEADER_SIZE: usize = 8;

/// The space a record with a name of `name_length` bytes needs.
pub(crate) fn record_size(name_length: usize) -> usize {
    (HEADER_SIZE + name_length + 3) & !3
}

/// One parsed record.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RawEntry<'a> {
    /// Byte offset of the record inside the block.
    pub offset: usize,
    /// Inode number, 0 for free space.
    pub inode: u32,
    /// `rec_len`, decoded.
    pub record_length: usize,
    /// The name bytes.
    pub name: &'a [u8],
    /// The `file_type` byte (0 without the `filetype` feature).
    pub file_type: u8,
}

impl RawEntry<'_> {
    /// Slack after the name that another record could use.
    pub(crate) fn spare(&self) -> usize {
        if self.inode == 0 {
            self.record_length
        } else {
            self.record_length
                .saturating_sub(record_size(self.name.len()))
        }
    }
}

/// Decodes `rec_len`: blocks of 64 KiB and more store lengths above 65535
/// folded (Linux `ext4_rec_len_from_disk`).
fn decode_record_length(raw: u16, block_size: usize) -> usize {
    if block_size < 65536 {
        return usize::from(raw);
    }
    if raw == u16::MAX || raw == 0 {
        return block_size;
    }
    (usize::from(raw) & 65532) | ((usize::from(raw) & 3) << 16)
}

/// Encodes `rec_len` (inverse of [`decode_record_length`]).
fn encode_record_length(length: usize, block_size: usize) -> u16 {
    if block_size < 65536 {
        return length as u16;
    }
    if length == 65536 {
        return u16::MAX;
    }
    ((length & 65532) | ((length >> 16) & 3)) as u16
}

/// Iterates over the records of one directory block, checking each.
pub(crate) struct Entries<'a> {
    block: &'a [u8],
    offset: usize,
    filetype: bool,
    inodes_count: u32,
    failed: bool,
}

/// Parses `block`; `inodes_count` bounds the inode numbers accepted.
pub(crate) fn entries(block: &[u8], filetype: bool, inodes_count: u32) -> Entries<'_> {
    Entries {
        block,
        offset: 0,
        filetype,
        inodes_count,
        failed: false,
    }
}

impl<'a> Iterator for Entries<'a> {
    type Item = Result<RawEntry<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.offset >= self.block.len() {
            return None;
        }
        let result = self.parse_one();
        match &result {
            Ok(entry) => self.offset += entry.record_length,
            Err(_) => self.failed = true,
        }
        Some(result)
    }
}

impl<'a> Entries<'a> {
    fn parse_one(&self) -> Result<RawEntry<'a>> {
        let offset = self.offset;
        let remaining = self.block.len() - offset;
        if remaining < HEADER_SIZE {
            return Err(Error::corrupt(
                "directory entry header crosses the block end",
            ));
        }
        let inode = read_u32(self.block, offset);
        let record_length =
            decode_record_length(read_u16(self.block, offset + 4), self.block.len());
        let name_length = usize::from(read_u8(self.block, offset + 6));
        let file_type = if self.filetype {
            read_u8(self.block, offset + 7)
        } else {
            0
        };
        if record_length < record_size(1) || record_length % 4 != 0 {
            return Err(Error::corrupt("directory entry has a bad record length"));
        }
        if record_length > remaining {
            return Err(Error::corrupt("directory entry crosses the block end"));
        }
        if record_size(name_length) > record_length {
            return Err(Error::corrupt(
                "directory entry name longer than its record",
            ));
        }
        if inode > self.inodes_count {
            return Err(Error::corrupt(
                "directory entry names an inode out of range",
            ));
        }
        let name = self
            .block
            .get(offset + HEADER_SIZE..offset + HEADER_SIZE + name_length)
            .ok_or(Error::corrupt("directory entry name out of range"))?;
        Ok(RawEntry {
            offset,
            inode,
            record_length,
            name,
            file_type,
        })
    }
}

/// Writes a record at `offset`. The caller has checked that `record_length`
/// fits in the block and holds the name.
pub(crate) fn write_entry(
    block: &mut [u8],
    offset: usize,
    inode: u32,
    record_length: usize,
    name: &[u8],
    file_type: u8,
) {
    let block_size = block.len();
    write_u32(block, offset, inode);
    write_u16(
        block,
        offset + 4,
        encode_record_length(record_length, block_size),
    );
    write_u8(block, offset + 6, name.len() as u8);
    write_u8(block, offset + 7, file_type);
    if let Some(target) = block.get_mut(offset + HEADER_SIZE..offset + HEADER_SIZE + name.len()) {
        target.copy_from_slice(name);
    }
    // Zero the padding so images are deterministic.
    let padded_end = (offset + record_size(name.len())).min(offset + record_length);
    if let Some(padding) = block.get_mut(offset + HEADER_SIZE + name.len()..padded_end) {
        padding.fill(0);
    }
}

/// Changes the inode and type of the record at `offset` in place.
pub(crate) fn set_entry_inode(block: &mut [u8], offset: usize, inode: u32, file_type: u8) {
    write_u32(block, offset, inode);
    write_u8(block, offset + 7, file_type);
}

/// Changes only the record length of the record at `offset`.
pub(crate) fn set_record_length(block: &mut [u8], offset: usize, record_length: usize) {
    let block_size = block.len();
    write_u16(
        block,
        offset + 4,
        encode_record_length(record_length, block_size),
    );
}

/// Fills a fresh block with one empty record covering it.
pub(crate) fn initialise_empty(block: &mut [u8]) {
    block.fill(0);
    let length = block.len();
    write_entry(block, 0, 0, length, &[], 0);
}

/// Fills a fresh block with the `.` and `..` records of a new directory.
pub(crate) fn initialise_directory(block: &mut [u8], itself: u32, parent: u32, filetype: bool) {
    block.fill(0);
    let directory_type = if filetype { 2 } else { 0 };
    let dot_length = record_size(1);
    write_entry(block, 0, itself, dot_length, b".", directory_type);
    let rest = block.len() - dot_length;
    write_entry(block, dot_length, parent, rest, b"..", directory_type);
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;

    #[test]
    fn new_directory_parses() {
        let mut block = vec![0u8; 1024];
        initialise_directory(&mut block, 12, 2, true);
        let parsed: Vec<_> = entries(&block, true, 100)
            .map(|entry| entry.unwrap())
            .collect();
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[0].name, b".");
        assert_eq!(parsed[1].name, b"..");
        assert_eq!(parsed[1].inode, 2);
        assert_eq!(parsed[1].record_length, 1012);
        assert_eq!(parsed[1].spare(), 1000);
    }

    #[test]
    fn bad_record_length_stops_parsing() {
        let mut block = vec![0u8; 1024];
        initialise_empty(&mut block);
        write_u16(&mut block, 4, 6);
        let mut iterator = entries(&block, true, 100);
        assert!(iterator.next().unwrap().is_err());
        assert!(iterator.next().is_none());
    }

    #[test]
    fn large_block_record_lengths_round_trip() {
        for length in [12usize, 65532, 65536] {
            assert_eq!(
                decode_record_length(encode_record_length(length, 65536), 65536),
                length
            );
        }
    }
}
