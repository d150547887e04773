// SPDX-License-Identifier: MIT OR Apache-2.0
//! Extended attribute blocks, judged as e2fsck judges them.
//!
//! The block an inode's `i_file_acl` names is checked as e2fsck's
//! `check_ext_attr` checks it: the header magic (`0xEA020000`), one block
//! (`h_blocks`), then each entry — inside the block, not overlapping the
//! header, another entry or a value (e2fsck's region allocator), with a
//! name index, a value inside the block, and the hash of name and value it
//! records ([`attribute_entry_hash`], `ext2fs_ext_attr_hash_entry`, with
//! its signed-char variant). The checker reports a block that fails
//! ([`attribute_block_problem`]); the repair drops it from its inodes
//! (`repair/attributes.rs`). Pure: it reads only the bytes it is given
//! and never touches a device.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use crate::bytes::{read_u16, read_u32, read_u8};

/// `EXT2_EXT_ATTR_MAGIC`.
const ATTRIBUTE_MAGIC: u32 = 0xEA02_0000;
/// Bytes of the block header.
const HEADER_BYTES: usize = 32;
/// Bytes of an entry before its name.
const ENTRY_BYTES: usize = 16;
/// `EXT2_XATTR_SIZE_MAX`.
const VALUE_MAX: u32 = 1 << 16;

/// What is wrong with an extended attribute block, if anything (see the
/// module doc).
pub(crate) fn attribute_block_problem(data: &[u8]) -> Option<&'static str> {
    if read_u32(data, 0) != ATTRIBUTE_MAGIC {
        return Some("bad extended attribute block header");
    }
    if read_u32(data, 8) != 1 {
        return Some("extended attribute block spanning several blocks");
    }
    let end = data.len();
    // Byte ranges in use: the header, each entry, each value, and the
    // four zero bytes ending the entries.
    let mut regions: BTreeMap<usize, usize> = BTreeMap::new();
    let mut allocate = |start: usize, length: usize| -> bool {
        let stop = start.saturating_add(length);
        if stop > end {
            return false;
        }
        let before = regions.range(..stop).next_back();
        if let Some((&other_start, &other_stop)) = before {
            if other_stop > start && other_start < stop {
                return false;
            }
        }
        regions.insert(start, stop);
        true
    };
    allocate(0, HEADER_BYTES);
    let mut offset = HEADER_BYTES;
    while offset + 4 <= end && read_u32(data, offset) != 0 {
        let name_length = usize::from(read_u8(data, offset));
        let entry_length = (name_length + ENTRY_BYTES + 3) & !3;
        if !allocate(offset, entry_length) {
            return Some("extended attribute entries overlap");
        }
        if read_u8(data, offset + 1) == 0 {
            return Some("extended attribute entry with no name index");
        }
        let value_offset = usize::from(read_u16(data, offset + 2));
        let value_inode = read_u32(data, offset + 4);
        let value_size = read_u32(data, offset + 8);
        if value_inode != 0 {
            return Some("extended attribute value in an inode (ea_inode is not supported)");
        }
        if value_size > VALUE_MAX || value_offset + value_size as usize > end {
            return Some("extended attribute value outside the block");
        }
        if value_size != 0 && !allocate(value_offset, (value_size as usize + 3) & !3) {
            return Some("extended attribute values overlap");
        }
        let name = data
            .get(offset + ENTRY_BYTES..offset + ENTRY_BYTES + name_length)
            .unwrap_or(&[]);
        // The hash reads whole words: the value's padding is read from
        // the block, as e2fsck reads it.
        let padded_end = (value_offset + ((value_size as usize + 3) & !3)).min(end);
        let value = if value_size == 0 {
            &[][..]
        } else {
            data.get(value_offset..padded_end).unwrap_or(&[])
        };
        let recorded = read_u32(data, offset + 12);
        if recorded != attribute_entry_hash(name, value, false)
            && recorded != attribute_entry_hash(name, value, true)
        {
            return Some("extended attribute entry with a bad hash");
        }
        offset += entry_length;
    }
    if !allocate(offset, 4) {
        return Some("extended attribute entries run past the block");
    }
    None
}

/// The hash of one entry (`ext2fs_ext_attr_hash_entry`): the name's
/// bytes (as signed chars when `signed`), then the value's 32-bit
/// little-endian words, padded to four bytes.
pub(crate) fn attribute_entry_hash(name: &[u8], value: &[u8], signed: bool) -> u32 {
    const NAME_SHIFT: u32 = 5;
    const VALUE_SHIFT: u32 = 16;
    let mut hash = 0u32;
    for &byte in name {
        let byte = if signed {
            i32::from(byte as i8) as u32
        } else {
            u32::from(byte)
        };
        hash = (hash << NAME_SHIFT) ^ (hash >> (32 - NAME_SHIFT)) ^ byte;
    }
    if !value.is_empty() {
        let mut padded: Vec<u8> = value.into();
        padded.resize(value.len().div_ceil(4) * 4, 0);
        for word in padded.chunks_exact(4) {
            let word = u32::from_le_bytes([word[0], word[1], word[2], word[3]]);
            hash = (hash << VALUE_SHIFT) ^ (hash >> (32 - VALUE_SHIFT)) ^ word;
        }
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bytes::write_u32;
    use alloc::vec;

    fn block_with(name: &[u8], value: &[u8], hash: Option<u32>) -> Vec<u8> {
        let mut data = vec![0u8; 1024];
        write_u32(&mut data, 0, ATTRIBUTE_MAGIC);
        write_u32(&mut data, 4, 1);
        write_u32(&mut data, 8, 1);
        data[32] = name.len() as u8;
        data[33] = 1;
        let value_offset = 1024 - ((value.len() + 3) & !3);
        data[34..36].copy_from_slice(&(value_offset as u16).to_le_bytes());
        write_u32(&mut data, 40, value.len() as u32);
        let hash = hash.unwrap_or_else(|| attribute_entry_hash(name, value, false));
        write_u32(&mut data, 44, hash);
        data[48..48 + name.len()].copy_from_slice(name);
        data[value_offset..value_offset + value.len()].copy_from_slice(value);
        data
    }

    #[test]
    fn a_good_block_passes_and_each_damage_is_named() {
        assert_eq!(
            attribute_block_problem(&block_with(b"user", b"value", None)),
            None
        );
        assert!(attribute_block_problem(&block_with(b"user", b"value", Some(7))).is_some());
        let mut bad_magic = block_with(b"user", b"value", None);
        bad_magic[3] = 0;
        assert!(attribute_block_problem(&bad_magic).is_some());
        let mut overlapping = block_with(b"user", b"value", None);
        overlapping[34..36].copy_from_slice(&40u16.to_le_bytes());
        assert!(attribute_block_problem(&overlapping).is_some());
    }
}
