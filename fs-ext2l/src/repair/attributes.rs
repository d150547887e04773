// SPDX-License-Identifier: MIT OR Apache-2.0
//! Extended attribute blocks: e2fsck's checks of `i_file_acl`.
//!
//! An inode's `i_file_acl` must be 0 on a volume without `ext_attr`, and
//! inside the file system otherwise. The block it names is checked the
//! first time an inode names it, as e2fsck's `check_ext_attr` does: the
//! header magic (`0xEA020000`), one block (`h_blocks`), then each entry —
//! inside the block, not overlapping the header, another entry or a value
//! (e2fsck's region allocator), with a name index, a value inside the
//! block, and the hash of name and value it records
//! ([`attribute_entry_hash`], `ext2fs_ext_attr_hash_entry`, with its
//! signed-char variant). A block failing any of them is dropped from the
//! inode (pass 5 frees it). Each further inode naming a good block adds a
//! reference; after pass 1, `h_refcount` is set to the references found.
//!
//! [`attribute_block_problem`] is pure, so the checker uses it too.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::vec::Vec;

use crate::bytes::{read_u16, read_u32, read_u8, write_u32};
use crate::cache::BlockClass;
use crate::check::ProblemKind;
use crate::device::BlockDevice;
use crate::error::Result;
use crate::features::CompatibleFeatures;
use crate::inode::Inode;

use super::Repairer;

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

impl<D: BlockDevice> Repairer<'_, D> {
    /// Pass 1's look at an inode's attribute block. Returns whether the
    /// block stays (it counts in `i_blocks`) and whether the inode
    /// changed.
    ///
    /// Return values: `(kept, changed)`, or [`crate::Error::Device`].
    pub(super) fn check_attribute_block(&mut self, inode: &mut Inode) -> Result<(bool, bool)> {
        let block = inode.file_acl();
        if block == 0 {
            return Ok((false, false));
        }
        let number = inode.number.get();
        let has_feature =
            self.fs.superblock.features().compatible & CompatibleFeatures::EXT_ATTR.bits() != 0;
        let problem = if !has_feature {
            Some("on a volume without ext_attr")
        } else if !self.fs.geometry.is_valid_block(block) {
            Some("outside the file system")
        } else if let Some(count) = self.attribute_blocks.get_mut(&block) {
            *count += 1;
            return Ok((true, false));
        } else if self.claimed.get(block) {
            Some("also used as data or metadata")
        } else {
            let data = self.read_block(block, BlockClass::Metadata)?;
            attribute_block_problem(&data)
        };
        if let Some(problem) = problem {
            inode.set_file_acl(0);
            self.fixed(
                ProblemKind::Inode,
                Some(number),
                format!("extended attribute block {block} {problem}: dropped it"),
            );
            return Ok((false, true));
        }
        self.claim(block);
        self.attribute_blocks.insert(block, 1);
        Ok((true, false))
    }

    /// Takes back an inode's reference to its attribute block (the inode
    /// is being cleared).
    pub(super) fn drop_attribute_reference(&mut self, inode: &Inode, kept: bool) {
        if !kept {
            return;
        }
        let block = inode.file_acl();
        if let Some(count) = self.attribute_blocks.get_mut(&block) {
            *count -= 1;
            if *count == 0 {
                self.attribute_blocks.remove(&block);
                self.unclaim(block);
            }
        }
    }

    /// Sets each attribute block's reference count to the inodes found
    /// naming it.
    ///
    /// Return values: `Ok(())`, or [`crate::Error::Device`].
    pub(super) fn adjust_attribute_counts(&mut self) -> Result<()> {
        let blocks: Vec<(u32, u32)> = self
            .attribute_blocks
            .iter()
            .map(|(&block, &count)| (block, count))
            .collect();
        for (block, count) in blocks {
            let mut data = self.read_block(block, BlockClass::Metadata)?;
            let recorded = read_u32(&data, 4);
            if recorded != count {
                write_u32(&mut data, 4, count);
                self.write_block(block, &data, BlockClass::Metadata)?;
                self.fixed(
                    ProblemKind::Inode,
                    None,
                    format!("extended attribute block {block} had reference count {recorded}: set it to {count}"),
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
