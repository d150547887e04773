// SPDX-License-Identifier: MIT OR Apache-2.0
//! The fuzz target's work, run by `cargo test` over deterministic mutations:
//! seed images (fresh file systems with content, one with orphans listed,
//! hostile orphan lists, one whose journal needs recovery — mutated in its
//! log half of the time — and small corpus images) get bytes overwritten at
//! random — mostly in the metadata at the start of the image — and each
//! mutant goes through `fuzz/exercise.rs` (and through its repair). A
//! failure here is a panic, hang or runaway allocation the libFuzzer target
//! would find.
#![forbid(unsafe_code)]

#[path = "../fuzz/exercise.rs"]
mod exercise;

mod common;

use std::io::Read;

use common::*;

/// A small file system with files, directories, links and rootlinks.
fn seed_image(block_size: u32) -> Vec<u8> {
    let mut file_system = new_file_system(2 << 20, block_size, 256, true);
    let root = file_system.root();
    let directory = file_system.mkdir(root, b"dir", 0o755, 0, 0).unwrap();
    for index in 0..20 {
        let file = file_system
            .create(directory, format!("file{index}").as_bytes(), 0o644, 0, 0)
            .unwrap();
        file_system
            .write(file, 0, &vec![index as u8; 300 * index])
            .unwrap();
    }
    let big = file_system.create(root, b"big", 0o644, 0, 0).unwrap();
    file_system.write(big, 0, &vec![7u8; 300_000]).unwrap();
    file_system
        .symlink(root, b"link", &[b'x'; 80], 0, 0)
        .unwrap();
    let package = file_system.mkdir(root, b"package", 0o755, 0, 0).unwrap();
    file_system
        .installer()
        .link(directory, package, b"shared")
        .unwrap();
    file_system.installer().set_rootlink(big, package).unwrap();
    file_system.unmount().unwrap().into_bytes()
}

/// A seed whose orphan list names three orphans (two files, one of them
/// large, and a directory) that a host held and never released; returns
/// it with the list (head first) and a linked file's number.
fn orphaned_seed_image() -> (Vec<u8>, Vec<u32>, u32) {
    let mut file_system = new_file_system(2 << 20, 1024, 128, true);
    let root = file_system.root();
    let kept = file_system.create(root, b"kept", 0o644, 0, 0).unwrap();
    let small = file_system.create(root, b"small", 0o644, 0, 0).unwrap();
    file_system.write(small, 0, &[1u8; 3000]).unwrap();
    let large = file_system.create(root, b"large", 0o644, 0, 0).unwrap();
    file_system.write(large, 0, &vec![2u8; 400_000]).unwrap();
    let directory = file_system.mkdir(root, b"cwd", 0o755, 0, 0).unwrap();
    for inode in [small, large, directory] {
        file_system.hold(inode).unwrap();
    }
    file_system.unlink(root, b"small").unwrap();
    file_system.unlink(root, b"large").unwrap();
    file_system.rmdir(root, b"cwd").unwrap();
    file_system.sync().unwrap();
    let listed = file_system
        .check()
        .unwrap()
        .orphans
        .iter()
        .map(|inode| inode.get())
        .collect();
    (file_system.into_device().into_bytes(), listed, kept.get())
}

/// Byte offset of inode `number` in an image (revision 1, 32-byte group
/// descriptors).
fn inode_offset(image: &[u8], number: u32) -> usize {
    let field = |offset: usize| {
        u32::from_le_bytes(image[1024 + offset..1024 + offset + 4].try_into().unwrap())
    };
    let block_size = 1024usize << field(0x18);
    let inodes_per_group = field(0x28);
    let inode_size = u16::from_le_bytes(image[1024 + 0x58..1024 + 0x5A].try_into().unwrap());
    let descriptors = (field(0x14) as usize + 1) * block_size;
    let group = ((number - 1) / inodes_per_group) as usize;
    let descriptor = descriptors + group * 32;
    let table = u32::from_le_bytes(image[descriptor + 8..descriptor + 12].try_into().unwrap());
    table as usize * block_size + ((number - 1) % inodes_per_group) as usize * inode_size as usize
}

/// Writes a little-endian word into an image.
fn poke(image: &mut [u8], offset: usize, value: u32) {
    image[offset..offset + 4].copy_from_slice(&value.to_le_bytes());
}

/// Orphan lists a mount must survive: a head out of range or reserved,
/// a cycle, an entry that still has links, a successor that is linked,
/// and one that is free.
fn hostile_orphan_lists() -> Vec<Vec<u8>> {
    let (image, listed, linked) = orphaned_seed_image();
    const LAST_ORPHAN: usize = 1024 + 0xE8;
    const DELETION_TIME: usize = 0x14;
    const LINKS: usize = 0x1A;
    let inodes_count = u32::from_le_bytes(image[1024..1028].try_into().unwrap());
    let mut variants = Vec::new();
    for head in [inodes_count + 1, 3, u32::MAX] {
        let mut variant = image.clone();
        poke(&mut variant, LAST_ORPHAN, head);
        variants.push(variant);
    }
    let last = *listed.last().unwrap();
    let mut cycle = image.clone();
    poke(
        &mut cycle,
        inode_offset(&image, last) + DELETION_TIME,
        listed[0],
    );
    variants.push(cycle);
    let mut still_linked = image.clone();
    let middle = inode_offset(&image, listed[1]) + LINKS;
    still_linked[middle..middle + 2].copy_from_slice(&1u16.to_le_bytes());
    variants.push(still_linked);
    let mut to_linked = image.clone();
    poke(
        &mut to_linked,
        inode_offset(&image, listed[0]) + DELETION_TIME,
        linked,
    );
    variants.push(to_linked);
    let mut to_free = image.clone();
    poke(
        &mut to_free,
        inode_offset(&image, last) + DELETION_TIME,
        inodes_count - 1,
    );
    variants.push(to_free);
    variants.push(image);
    variants
}

#[test]
fn hostile_orphan_lists_mount_and_never_free_a_linked_inode() {
    for image in hostile_orphan_lists() {
        assert!(exercise::exercise(&image), "the image must mount");
        let mut file_system =
            fs_ext2l::FileSystem::mount(fs_ext2l::MemoryDevice::from_bytes(image), mount_options())
                .unwrap();
        // Whatever the list said, every name still leads to an inode in use.
        let root = file_system.root();
        for entry in file_system.entries(root).unwrap() {
            assert!(file_system.stat(entry.inode).is_ok(), "{entry:?}");
        }
        let _ = file_system.check().unwrap();
    }
}

/// A seed that needs recovery: a journaled volume whose log holds three
/// committed transactions (one with a revoke, one with an escaped block)
/// and a torn one; returns it with the byte range of its live log, where
/// its mutations go half of the time.
fn journal_seed() -> (Vec<u8>, std::ops::Range<usize>) {
    use fs_ext2l::journal::{CommitTime, JOURNAL_MAGIC};
    use fs_ext2l::{format, BlockDevice, FormatOptions, MemoryDevice};
    let options = FormatOptions {
        block_size: 1024,
        inode_size: 128,
        uuid: [3; 16],
        time: test_clock(),
        journal_blocks: Some(1024),
        ..FormatOptions::default()
    };
    let mut file_system = format(MemoryDevice::new(4 << 20), &options, mount_options()).unwrap();
    let root = file_system.root();
    let directory = file_system.mkdir(root, b"dir", 0o755, 0, 0).unwrap();
    let file = file_system.create(directory, b"file", 0o644, 0, 0).unwrap();
    file_system.write(file, 0, &vec![4u8; 5000]).unwrap();
    // Unmounted, so the journal is empty, and mounted again to write
    // transactions of our own into it.
    let device = file_system.unmount().unwrap();
    let mut file_system = fs_ext2l::FileSystem::mount(device, mount_options()).unwrap();
    let mut journal = file_system.open_journal().unwrap();
    let first_log = journal.map().device_block(1).unwrap() as usize;
    let device = file_system.device_mut();
    let mut superblock = vec![0u8; 1024];
    device.read_at(1024, &mut superblock).unwrap();
    let mut escaped = vec![6u8; 1024];
    escaped[..4].copy_from_slice(&JOURNAL_MAGIC.to_be_bytes());
    let plain = vec![5u8; 1024];
    let time = CommitTime::default();
    journal
        .commit(&mut *device, &[(1, &superblock), (3000, &plain)], &[], time)
        .unwrap();
    journal
        .commit(&mut *device, &[(3001, &escaped)], &[3000], time)
        .unwrap();
    journal
        .commit(&mut *device, &[(3002, &plain), (3003, &escaped)], &[], time)
        .unwrap();
    let mut image = file_system.into_device().into_bytes();
    image[1024 + 0x60] |= 0x4; // needs_recovery
    (image, first_log * 1024 - 1024..(first_log + 12) * 1024)
}

fn small_corpus_images() -> Vec<Vec<u8>> {
    let directory = corpus_directory();
    [
        "f_baddir.img.gz",
        "f_dirlink.img.gz",
        "f_lotsbad.img.gz",
        "f_badsymlinks.img.gz",
        "f_h_normal.img.gz",
    ]
    .iter()
    .filter_map(|name| std::fs::File::open(directory.join(name)).ok())
    .map(|file| {
        let mut image = Vec::new();
        flate2::read::GzDecoder::new(file)
            .take(8 << 20)
            .read_to_end(&mut image)
            .unwrap();
        image
    })
    .collect()
}

#[test]
fn mutated_images_never_break_the_library() {
    // Each seed with its share of the rounds: the hostile orphan lists
    // differ from one another in a few bytes, so they share one share.
    // Each seed also names a hot area (its journal's log) where half of
    // its mutations go.
    let mut seeds: Vec<(Vec<u8>, usize, std::ops::Range<usize>)> = [1024, 2048, 4096]
        .into_iter()
        .map(|block_size| (seed_image(block_size), 4, 0..0))
        .collect();
    seeds.extend(
        hostile_orphan_lists()
            .into_iter()
            .map(|image| (image, 1, 0..0)),
    );
    let (journaled, log) = journal_seed();
    seeds.push((journaled, 4, log));
    seeds.extend(
        small_corpus_images()
            .into_iter()
            .map(|image| (image, 4, 0..0)),
    );
    // EXT2L_FUZZ_SEED and EXT2L_FUZZ_ROUNDS widen the search by hand; the
    // defaults keep `cargo test` reproducible and quick.
    let seed_value = std::env::var("EXT2L_FUZZ_SEED")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(0x0123_4567_89AB_CDEFu64);
    let rounds: usize = std::env::var("EXT2L_FUZZ_ROUNDS")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(20);
    let mut random = Random(seed_value | 1);
    let mut mounted = 0;
    let mut total = 0;
    let mut repaired = 0;
    let mut slowest_repair = std::time::Duration::ZERO;
    for (seed, share, hot) in &seeds {
        for _ in 0..rounds * share {
            let mut image = seed.clone();
            let metadata_area = image.len().min(96 * 1024);
            for _ in 0..1 + random.below(24) {
                let position = if !hot.is_empty() && random.below(2) == 0 {
                    hot.start + random.below(hot.len())
                } else if random.below(5) == 0 {
                    random.below(image.len())
                } else {
                    random.below(metadata_area)
                };
                // Small numbers, all-ones and random bytes break different checks.
                image[position] = match random.below(4) {
                    0 => 0,
                    1 => 0xFF,
                    2 => image[position].wrapping_add(1),
                    _ => random.next() as u8,
                };
            }
            total += 1;
            if exercise::exercise(&image) {
                mounted += 1;
            }
            let started = std::time::Instant::now();
            if exercise::exercise_repair(&image) {
                repaired += 1;
            }
            slowest_repair = slowest_repair.max(started.elapsed());
        }
    }
    eprintln!(
        "{mounted} of {total} mutants mounted; {repaired} repaired, the slowest in {slowest_repair:?}"
    );
    assert!(
        mounted > total / 3,
        "too few mutants mounted to exercise anything"
    );
    assert!(
        repaired > total / 3,
        "too few mutants repaired to exercise the repair"
    );
    // A repair is linear in the volume; seconds on these small images
    // would be a runaway loop.
    assert!(
        slowest_repair < std::time::Duration::from_secs(5),
        "a repair took {slowest_repair:?}"
    );
}
