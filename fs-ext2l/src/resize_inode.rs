// SPDX-License-Identifier: MIT OR Apache-2.0
//! The resize inode (inode 7, `resize_inode`): room for the descriptor
//! table to grow.
//!
//! A volume that may grow keeps `s_reserved_gdt_blocks` blocks right after
//! the descriptor table, in group 0 and in every group holding a backup
//! (`sparse_super`). When the volume grows past what its descriptor blocks
//! can describe, the first reserved block becomes a descriptor block; no
//! data has to move. Inode 7 owns these blocks the way e2fsprogs lays it
//! out (`lib/ext2fs/res_gdt.c`, checked by e2fsck's `check_resize_inode`):
//!
//! - only its double-indirect pointer is set; the double-indirect block's
//!   slot `(descriptor_blocks + j) mod pointers_per_block` names reserved
//!   block `j` of group 0 (so a block keeps its slot when the blocks before
//!   it become descriptor blocks);
//! - each reserved block of group 0 is an indirect block listing its copies
//!   in the backup groups 1, 3, 5, 7, 9, 25, 27, … that exist, in order;
//! - `i_blocks` counts the double-indirect block, the reserved blocks and
//!   all their copies; `i_size` is the end of the double-indirect range;
//!   mode `0100600`, one link.
//!
//! This module computes that layout and the number of blocks to reserve
//! (`mke2fs`'s rule: enough for 1024 times the size, at most one block of
//! pointers), and judges a resize inode against it ([`layout_problem`]);
//! `format.rs` writes it at `mkfs`, `resize.rs` rewrites it as the volume
//! grows, the checker reports a resize inode that differs from it and the
//! repair (`repair/resize.rs`) makes a damaged one again from it. It
//! never allocates and never writes: the caller chooses the
//! double-indirect block, writes the blocks and keeps the bitmaps.

use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use crate::bytes::{read_u32, write_u32};
use crate::error::Result;
use crate::inode::{mode, Inode, InodeNumber};
use crate::superblock::{Geometry, GROUP_DESCRIPTOR_SIZE};

/// Block-map slot of the double-indirect pointer (`EXT2_DIND_BLOCK`).
pub(crate) const DOUBLE_INDIRECT_SLOT: usize = 13;

/// How many descriptor blocks to reserve for a volume of `blocks_count`
/// blocks so it can grow to 1024 times its size (or to the 32-bit limit),
/// at most one block of pointers: `mke2fs`'s `calc_reserved_gdt_blocks`.
pub(crate) fn blocks_to_reserve(
    blocks_count: u32,
    first_data_block: u32,
    blocks_per_group: u32,
    block_size: u32,
    descriptor_blocks: u32,
) -> u32 {
    let largest = u64::from(blocks_count)
        .saturating_mul(1024)
        .min(u64::from(u32::MAX));
    let groups = (largest - u64::from(first_data_block)).div_ceil(u64::from(blocks_per_group));
    let descriptors_per_block = u64::from(block_size / GROUP_DESCRIPTOR_SIZE);
    let needed = groups.div_ceil(descriptors_per_block);
    let reserve = needed.saturating_sub(u64::from(descriptor_blocks));
    reserve.min(u64::from(block_size / 4)) as u32
}

/// The groups after group 0 holding a superblock backup, in order.
pub(crate) fn backup_groups(geometry: &Geometry) -> Vec<u32> {
    (1..geometry.group_count)
        .filter(|&group| geometry.group_has_superblock(group))
        .collect()
}

/// Block `index` of the reserved descriptor blocks of group 0.
pub(crate) fn reserved_block(geometry: &Geometry, index: u32) -> u32 {
    geometry.first_data_block + 1 + geometry.descriptor_blocks + index
}

/// The double-indirect block's contents: one slot per reserved block.
pub(crate) fn double_indirect_contents(geometry: &Geometry) -> Vec<u8> {
    let mut contents = vec![0u8; geometry.block_bytes()];
    let pointers = geometry.pointers_per_block();
    for index in 0..geometry.reserved_descriptor_blocks {
        let slot = (geometry.descriptor_blocks + index) % pointers;
        write_u32(
            &mut contents,
            slot as usize * 4,
            reserved_block(geometry, index),
        );
    }
    contents
}

/// Reserved block `index`'s contents: the list of its backup copies.
pub(crate) fn reserved_block_contents(geometry: &Geometry, index: u32) -> Vec<u8> {
    let mut contents = vec![0u8; geometry.block_bytes()];
    let primary = reserved_block(geometry, index);
    let backups = backup_groups(geometry);
    let slots = geometry.pointers_per_block() as usize;
    for (slot, group) in backups.iter().take(slots).enumerate() {
        let copy = primary - geometry.first_data_block + geometry.group_first_block(*group);
        write_u32(&mut contents, slot * 4, copy);
    }
    contents
}

/// The first of `pointers` 4-byte slots where `found` and `expected`
/// differ.
fn first_difference(found: &[u8], expected: &[u8], pointers: usize) -> Option<usize> {
    (0..pointers).find(|&slot| read_u32(found, slot * 4) != read_u32(expected, slot * 4))
}

/// `i_blocks` (512-byte sectors) of the resize inode: the double-indirect
/// block, each reserved block and each of its copies.
pub(crate) fn sectors(geometry: &Geometry) -> u32 {
    let copies = backup_groups(geometry)
        .len()
        .min(geometry.pointers_per_block() as usize) as u32;
    let blocks = 1 + geometry.reserved_descriptor_blocks * (1 + copies);
    blocks * (geometry.block_size / 512)
}

/// `i_size` of the resize inode: the end of the range the direct, single
/// and double-indirect pointers map.
pub(crate) fn size(geometry: &Geometry) -> u64 {
    let pointers = u64::from(geometry.pointers_per_block());
    (12 + pointers + pointers * pointers) * u64::from(geometry.block_size)
}

/// A fresh resize inode whose double-indirect block is `double_indirect`,
/// stamped `time`.
pub(crate) fn new_inode(geometry: &Geometry, double_indirect: u32, time: u32) -> Inode {
    let mut inode = Inode::zeroed(InodeNumber::RESIZE);
    inode.set_mode(mode::REGULAR | 0o600);
    inode.set_links(1);
    inode.set_size(size(geometry));
    inode.set_sectors(sectors(geometry));
    inode.set_block_pointer(DOUBLE_INDIRECT_SLOT, double_indirect);
    inode.set_access_time(time);
    inode.set_change_time(time);
    inode.set_modification_time(time);
    if geometry.inode_size > 128 {
        inode.set_extra_size(32);
        inode.set_creation_time(time);
    }
    inode
}

/// What makes `inode` (inode 7 of a volume with `resize_inode`) differ
/// from the layout of `geometry`, as e2fsck's `check_resize_inode` and
/// pass 1 judge it, or `None`: block pointers other than the
/// double-indirect one, no double-indirect block (allowed only when
/// nothing is reserved and no pointer is set), no links, not a regular
/// file, a double-indirect block outside the volume, a slot of it not
/// naming its reserved descriptor block, a reserved block not listing its
/// copies in the backup groups, any other pointer in these blocks (e2fsck's
/// pass 1 walks them all), `i_blocks` not counting them all, an `i_size`
/// short of the range it maps. Every reserved block is checked (e2fsck's
/// `check_resize_inode` looks at the first quarter). `read` reads a
/// block.
///
/// Return values: the problem, or the errors of `read`.
pub(crate) fn layout_problem(
    geometry: &Geometry,
    inode: &Inode,
    mut read: impl FnMut(u32) -> Result<Vec<u8>>,
) -> Result<Option<String>> {
    let double_indirect = inode.block_pointer(DOUBLE_INDIRECT_SLOT);
    let other_pointers = (0..15)
        .filter(|&slot| slot != DOUBLE_INDIRECT_SLOT)
        .any(|slot| inode.block_pointer(slot) != 0);
    if other_pointers {
        return Ok(Some(String::from(
            "it has block pointers other than its double-indirect one",
        )));
    }
    if double_indirect == 0 {
        if geometry.reserved_descriptor_blocks == 0 {
            return Ok(None);
        }
        return Ok(Some(String::from("it has no double-indirect block")));
    }
    if inode.links() == 0 {
        return Ok(Some(String::from("it has no links")));
    }
    if !inode.is_regular() {
        return Ok(Some(format!(
            "it is not a regular file (mode {:o})",
            inode.mode()
        )));
    }
    if !geometry.is_valid_block(double_indirect) {
        return Ok(Some(format!(
            "its double-indirect block {double_indirect} is outside the file system"
        )));
    }
    // Whole blocks are compared: e2fsck's pass 1 walks every pointer of
    // the tree, so a stray one past the layout is damage too.
    let pointers = geometry.pointers_per_block() as usize;
    let table = read(double_indirect)?;
    let expected = double_indirect_contents(geometry);
    if let Some(slot) = first_difference(&table, &expected, pointers) {
        let found = read_u32(&table, slot * 4);
        let wanted = read_u32(&expected, slot * 4);
        return Ok(Some(if wanted == 0 {
            format!(
                "slot {slot} of its double-indirect block names block {found}, \
                 where no reserved descriptor block is"
            )
        } else {
            format!(
                "slot {slot} of its double-indirect block names block {found}, \
                 not reserved descriptor block {wanted}"
            )
        }));
    }
    let copies = backup_groups(geometry);
    for index in 0..geometry.reserved_descriptor_blocks {
        let primary = reserved_block(geometry, index);
        let list = read(primary)?;
        let expected = reserved_block_contents(geometry, index);
        if let Some(slot) = first_difference(&list, &expected, pointers) {
            let found = read_u32(&list, slot * 4);
            let wanted = read_u32(&expected, slot * 4);
            return Ok(Some(match copies.get(slot) {
                Some(group) => format!(
                    "reserved descriptor block {primary} names block {found} \
                     as its copy in group {group}, not {wanted}"
                ),
                None => format!(
                    "reserved descriptor block {primary} names block {found} \
                     past its copies (slot {slot})"
                ),
            }));
        }
    }
    if inode.sectors() != sectors(geometry) {
        return Ok(Some(format!(
            "its i_blocks is {}, not the {} its blocks take",
            inode.sectors(),
            sectors(geometry)
        )));
    }
    let raw_size = u64::from(inode.size_low_raw()) | (u64::from(inode.size_high_raw()) << 32);
    if raw_size < size(geometry) {
        return Ok(Some(format!(
            "its i_size {raw_size} is short of the {} bytes it maps",
            size(geometry)
        )));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mke2fs_reserves_for_a_thousandfold_growth() {
        // 64 MiB of 1 KiB blocks: mke2fs reserves 255 blocks.
        assert_eq!(blocks_to_reserve(65536, 1, 8192, 1024, 1), 255);
        // Capped at one block of pointers.
        assert_eq!(blocks_to_reserve(1 << 20, 1, 8192, 1024, 4), 256);
        // Near the 32-bit limit there is nothing to reserve beyond it.
        assert_eq!(blocks_to_reserve(u32::MAX, 0, 32768, 4096, 1024), 0);
    }
}
