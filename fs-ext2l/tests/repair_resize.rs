// SPDX-License-Identifier: MIT OR Apache-2.0
//! The resize inode (inode 7) in the checker and the repair.
//!
//! A plain growable volume (`resize_inode`, reserved descriptor blocks in
//! group 0 and in group 1's backup) is damaged one way at a time: inode 7
//! zeroed, its double-indirect pointer naming a file's block, one slot of
//! its double-indirect block wrong, one copy in a reserved block's backup
//! list wrong, `i_blocks` wrong, a reserved descriptor block marked free,
//! a file's block map naming a reserved descriptor block (its bytes
//! written there), the feature cleared with inode 7 still in use. Each
//! time `e2fsck -fn` and our checker find the damage; our repair makes
//! the volume clean for both, keeps every file's bytes, and the repaired
//! volume still grows (`grow`), clean for both afterwards.
#![forbid(unsafe_code)]

mod common;

use common::{assert_checker_clean, e2fsck, e2fsck_installed, mount_options, test_clock};
use fs_ext2l::{format, grow, FileSystem, FormatOptions, InodeNumber, MemoryDevice};

/// The volume: 1 KiB blocks, three groups (group 1 holds a backup).
const SIZE: usize = 17 << 20;
/// What it grows to: five groups (group 3 holds a backup too).
const GROWN: usize = 33 << 20;
/// `i_block[13]`, the double-indirect pointer, in an inode.
const DOUBLE_INDIRECT: usize = 40 + 13 * 4;
/// `s_feature_compat` and `s_reserved_gdt_blocks` in the superblock.
const COMPAT: usize = 1024 + 0x5C;
const RESERVED_GDT: usize = 1024 + 0xCE;

/// The files of the volume: (name, bytes).
fn files() -> Vec<(String, Vec<u8>)> {
    (0..6u32)
        .map(|index| {
            let length = 700 + index as usize * 5000;
            let bytes = (0..length)
                .map(|byte| (byte as u32).wrapping_mul(index * 2 + 3) as u8)
                .collect();
            (format!("file-{index}"), bytes)
        })
        .collect()
}

fn seed() -> Vec<u8> {
    let options = FormatOptions {
        block_size: 1024,
        inode_size: 256,
        ext2l: false,
        uuid: [5; 16],
        time: test_clock(),
        label: b"resize".to_vec(),
        growable: true,
        ..FormatOptions::default()
    };
    let mut file_system =
        format(MemoryDevice::new(SIZE), &options, mount_options()).expect("format");
    for (name, bytes) in files() {
        let inode = file_system
            .create(InodeNumber::ROOT, name.as_bytes(), 0o644, 0, 0)
            .unwrap();
        file_system.write(inode, 0, &bytes).unwrap();
    }
    assert_checker_clean(&mut file_system);
    file_system.unmount().unwrap().into_bytes()
}

fn read_u32(image: &[u8], offset: usize) -> u32 {
    u32::from_le_bytes(image[offset..offset + 4].try_into().unwrap())
}

fn write_u32(image: &mut [u8], offset: usize, value: u32) {
    image[offset..offset + 4].copy_from_slice(&value.to_le_bytes());
}

/// Byte offset of block `block` (1 KiB blocks).
fn block(block: u32) -> usize {
    block as usize * 1024
}

/// Byte offset of inode `number`.
fn inode_offset(image: &[u8], number: u32) -> usize {
    let per_group = read_u32(image, 1024 + 0x28);
    let group = (number - 1) / per_group;
    let index = (number - 1) % per_group;
    let descriptor = block(2) + group as usize * 32;
    let table = read_u32(image, descriptor + 8);
    block(table) + index as usize * 256
}

/// The inode number of root entry `name`.
fn lookup(image: &[u8], name: &str) -> u32 {
    let mut file_system =
        FileSystem::mount(MemoryDevice::from_bytes(image.to_vec()), mount_options()).unwrap();
    file_system
        .lookup(InodeNumber::ROOT, name.as_bytes())
        .unwrap()
        .get()
}

/// The double-indirect block of the resize inode.
fn double_indirect(image: &[u8]) -> u32 {
    read_u32(image, inode_offset(image, 7) + DOUBLE_INDIRECT)
}

/// The first reserved descriptor block of group 0 (one descriptor block
/// before it).
const FIRST_RESERVED: u32 = 3;

/// `e2fsck -fn` (which exits 0 on a resize inode it would make again,
/// so its questions count) and our checker find the damage (our checker saying
/// `check`); the repair (one of its lines saying `repair`) leaves a volume
/// both find clean, with every file intact, which grows and is clean for
/// both after.
fn judge(what: &str, image: Vec<u8>, check: &[&str], repair: &[&str]) {
    let (clean, output) = e2fsck(&image);
    assert!(
        !clean || output.contains("? no"),
        "{what}: e2fsck finds no damage:\n{output}"
    );
    let mut file_system =
        FileSystem::mount(MemoryDevice::from_bytes(image.clone()), mount_options()).unwrap();
    let report = file_system.check().unwrap();
    let problems: Vec<String> = report.problems.iter().map(ToString::to_string).collect();
    for needle in check {
        assert!(
            problems.iter().any(|problem| problem.contains(needle)),
            "{what}: the checker does not say `{needle}`: {problems:#?}"
        );
    }
    drop(file_system);

    let (file_system, report) =
        FileSystem::mount_and_repair(MemoryDevice::from_bytes(image), mount_options())
            .unwrap_or_else(|error| panic!("{what}: repair failed: {error}"));
    let lines: Vec<String> = report.repairs.iter().map(ToString::to_string).collect();
    assert!(
        report.is_clean(),
        "{what}: not clean after the repair: {lines:#?} {:#?}",
        report.check.problems
    );
    for needle in repair {
        assert!(
            lines.iter().any(|line| line.contains(needle)),
            "{what}: no repair says `{needle}`: {lines:#?}"
        );
    }
    let mut repaired = file_system.unmount().unwrap().into_bytes();
    let (clean, output) = e2fsck(&repaired);
    assert!(
        clean && !output.contains("? no"),
        "{what}: e2fsck after our repair {lines:#?}:\n{output}"
    );
    files_intact(what, &repaired);

    repaired.resize(GROWN, 0);
    let (device, growth) = grow(
        MemoryDevice::from_bytes(repaired),
        GROWN as u64,
        mount_options(),
    )
    .unwrap_or_else(|error| panic!("{what}: growth after the repair failed: {error}"));
    assert!(growth.grew(), "{what}: {growth:?}");
    let grown = device.into_bytes();
    let (clean, output) = e2fsck(&grown);
    assert!(
        clean && !output.contains("? no"),
        "{what}: e2fsck after the growth:\n{output}"
    );
    files_intact(what, &grown);
}

/// Every file reads back whole; our checker is clean.
fn files_intact(what: &str, image: &[u8]) {
    let mut file_system =
        FileSystem::mount(MemoryDevice::from_bytes(image.to_vec()), mount_options()).unwrap();
    assert_checker_clean(&mut file_system);
    for (name, bytes) in files() {
        let inode = file_system
            .lookup(InodeNumber::ROOT, name.as_bytes())
            .unwrap_or_else(|error| panic!("{what}: {name}: {error}"));
        let mut read = vec![0u8; bytes.len() + 1];
        let length = file_system.read(inode, 0, &mut read).unwrap();
        assert_eq!(&read[..length], &bytes[..], "{what}: {name} changed");
    }
}

/// Skips (with a note) when e2fsck is missing.
fn skipped() -> bool {
    if e2fsck_installed() {
        return false;
    }
    eprintln!("e2fsck is not installed: the resize inode is not judged against it (skipped)");
    true
}

#[test]
fn a_zeroed_resize_inode_is_made_again() {
    if skipped() {
        return;
    }
    let mut image = seed();
    let seven = inode_offset(&image, 7);
    image[seven..seven + 256].fill(0);
    judge(
        "zeroed",
        image,
        &["resize inode: it has no double-indirect block"],
        &["resize inode: it has no double-indirect block: made it again"],
    );
}

#[test]
fn a_double_indirect_pointer_naming_a_file_block_is_replaced_and_the_file_kept() {
    if skipped() {
        return;
    }
    let mut image = seed();
    let file = lookup(&image, "file-3");
    let file_block = read_u32(&image, inode_offset(&image, file) + 40);
    let seven = inode_offset(&image, 7);
    write_u32(&mut image, seven + DOUBLE_INDIRECT, file_block);
    judge(
        "double-indirect pointer",
        image,
        &["resize inode: slot"],
        &["made it again from the layout"],
    );
}

#[test]
fn a_wrong_slot_in_the_double_indirect_block_is_rewritten() {
    if skipped() {
        return;
    }
    let mut image = seed();
    // The slot of reserved block 1 (slot 1 + 1: one descriptor block).
    let table = block(double_indirect(&image));
    write_u32(&mut image, table + 2 * 4, FIRST_RESERVED + 7);
    judge(
        "double-indirect slot",
        image,
        &["resize inode: slot 2 of its double-indirect block names block 10, not reserved descriptor block 4"],
        &["made it again from the layout"],
    );
}

#[test]
fn a_wrong_backup_in_a_reserved_block_is_rewritten() {
    if skipped() {
        return;
    }
    let mut image = seed();
    // The first reserved block's copy in group 1.
    write_u32(&mut image, block(FIRST_RESERVED), 12345);
    judge(
        "backup list",
        image,
        &["reserved descriptor block 3 names block 12345 as its copy in group 1"],
        &["made it again from the layout"],
    );
}

#[test]
fn a_wrong_block_count_of_the_resize_inode_is_rewritten() {
    if skipped() {
        return;
    }
    let mut image = seed();
    let seven = inode_offset(&image, 7);
    let sectors = read_u32(&image, seven + 28);
    write_u32(&mut image, seven + 28, sectors + 2);
    judge(
        "i_blocks",
        image,
        &["resize inode: its i_blocks"],
        &["made it again from the layout"],
    );
}

#[test]
fn a_reserved_descriptor_block_marked_free_is_marked_in_use() {
    if skipped() {
        return;
    }
    let mut image = seed();
    let bitmap = block(read_u32(&image, block(2)));
    // Bit `FIRST_RESERVED - 1` (group 0 starts at block 1).
    image[bitmap] &= !(1 << (FIRST_RESERVED - 1));
    judge(
        "bitmap",
        image,
        &["group 0: 1 block bitmap differences (+3)"],
        &["group 0: block bitmap"],
    );
}

#[test]
fn a_file_claiming_a_reserved_descriptor_block_keeps_its_bytes() {
    if skipped() {
        return;
    }
    let mut image = seed();
    // The file's first block moves onto the second reserved block, its
    // bytes with it: the block is shared with metadata, and the resize
    // inode's list of that block's copies is gone.
    let file = lookup(&image, "file-2");
    let pointer = inode_offset(&image, file) + 40;
    let old = read_u32(&image, pointer);
    let target = FIRST_RESERVED + 1;
    let bytes = image[block(old)..block(old) + 1024].to_vec();
    image[block(target)..block(target) + 1024].copy_from_slice(&bytes);
    write_u32(&mut image, pointer, target);
    judge(
        "shared reserved block",
        image,
        &["resize inode: reserved descriptor block 4"],
        &[
            "shared with file system metadata",
            "resize inode: reserved descriptor block 4",
        ],
    );
}

#[test]
fn a_resize_inode_in_use_without_the_feature_is_cleared() {
    if skipped() {
        return;
    }
    let mut image = seed();
    let reserved = u16::from_le_bytes(image[RESERVED_GDT..RESERVED_GDT + 2].try_into().unwrap());
    let compat = read_u32(&image, COMPAT);
    write_u32(&mut image, COMPAT, compat & !0x10);
    judge(
        "feature cleared",
        image,
        &[
            "the resize inode is in use without resize_inode",
            "s_reserved_gdt_blocks is set without resize_inode",
        ],
        &[
            "resize inode in use without resize_inode: zeroed it",
            &format!("s_reserved_gdt_blocks is set without resize_inode (was {reserved})"),
        ],
    );
}
