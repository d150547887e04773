// SPDX-License-Identifier: MIT OR Apache-2.0
//! The journal on whole volumes: made by `format` and `add_journal`,
//! written by the writer, replayed by a mount, by `journal::recover` and
//! into a `ReplayedView`, and checked.
#![forbid(unsafe_code)]

mod common;

use common::*;
use fs_ext2l::journal::{
    self, CommitTime, Journal, JournalMap, JournalSuperblock, LogEnd, ReplayedView, JOURNAL_INODE,
};
use fs_ext2l::*;

/// A formatted volume with a journal of `journal_blocks` blocks.
fn journaled(size: usize, block_size: u32, journal_blocks: u32) -> FileSystem<MemoryDevice> {
    let options = FormatOptions {
        block_size,
        inode_size: 256,
        ext2l: false,
        uuid: [5; 16],
        time: test_clock(),
        journal_blocks: Some(journal_blocks),
        ..FormatOptions::default()
    };
    format(MemoryDevice::new(size), &options, mount_options()).expect("format")
}

/// Sets or clears the volume's `needs_recovery` flag in the image.
fn set_needs_recovery(image: &mut [u8], value: bool) {
    let offset = 1024 + 0x60;
    let mut word = u32::from_le_bytes(image[offset..offset + 4].try_into().unwrap());
    if value {
        word |= 0x4;
    } else {
        word &= !0x4;
    }
    image[offset..offset + 4].copy_from_slice(&word.to_le_bytes());
}

#[test]
fn a_new_journal_is_clean_for_us_and_for_e2fsck() {
    for (block_size, journal_blocks) in [(1024, 1024), (4096, 1024), (1024, 4096)] {
        let mut file_system = journaled(16 << 20, block_size, journal_blocks);
        assert_checker_clean(&mut file_system);
        let status = file_system.journal_status().unwrap().expect("a journal");
        assert_eq!(status.inode, JOURNAL_INODE);
        assert_eq!(status.superblock.journal_blocks(), journal_blocks);
        assert_eq!(status.superblock.block_size(), block_size);
        assert!(status.superblock.is_empty() && !status.needs_recovery);
        assert_eq!(status.log.end, LogEnd::Empty);
        assert!(file_system.features().compatible & 0x4 != 0);
        let image = file_system.unmount().unwrap().into_bytes();
        let (clean, output) = e2fsck(&image);
        assert!(clean, "{block_size}/{journal_blocks}: {output}");
    }
}

/// The device block of `file`'s first block (its first blocks are
/// consecutive on a fresh volume).
fn first_data_block(file_system: &mut FileSystem<MemoryDevice>, file: InodeNumber) -> u64 {
    match file_system.map_range(file, 0, 1).unwrap().first() {
        Some(FileExtent::Data { device_offset, .. }) => {
            device_offset / u64::from(file_system.block_size())
        }
        other => panic!("not allocated: {other:?}"),
    }
}

/// Commits `transactions` (each a list of (home block, fill byte)) with
/// the writer on a mounted volume; returns the image, with the flag set.
/// The volume is unmounted first, so its journal is empty (a mount that
/// changed something keeps its own transactions there), and mounted again.
fn log_transactions(
    file_system: FileSystem<MemoryDevice>,
    transactions: &[Vec<(u64, u8)>],
) -> Vec<u8> {
    let device = file_system.unmount().unwrap();
    let mut file_system = FileSystem::mount(device, mount_options()).unwrap();
    let block_size = file_system.block_size() as usize;
    let mut journal = file_system.open_journal().unwrap();
    for (index, transaction) in transactions.iter().enumerate() {
        let contents: Vec<(u64, Vec<u8>)> = transaction
            .iter()
            .map(|&(home, fill)| (home, vec![fill; block_size]))
            .collect();
        let blocks: Vec<(u64, &[u8])> = contents
            .iter()
            .map(|(home, bytes)| (*home, bytes.as_slice()))
            .collect();
        let time = CommitTime {
            seconds: 1_700_000_000 + index as u64,
            nanoseconds: 0,
        };
        journal
            .commit(file_system.device_mut(), &blocks, &[], time)
            .unwrap();
    }
    let mut image = file_system.into_device().into_bytes();
    set_needs_recovery(&mut image, true);
    image
}

#[test]
fn a_read_write_mount_replays_and_a_read_only_mount_refuses() {
    let mut file_system = journaled(8 << 20, 1024, 1024);
    let root = file_system.root();
    let file = file_system.create(root, b"data", 0o644, 0, 0).unwrap();
    file_system.write(file, 0, &vec![1u8; 4096]).unwrap();
    file_system.sync().unwrap();
    let first = first_data_block(&mut file_system, file);
    let image = log_transactions(
        file_system,
        &[vec![(first, 0xAA)], vec![(first + 1, 0xBB), (first, 0xCC)]],
    );

    let read_only = MountOptions {
        read_only: true,
        ..mount_options()
    };
    let refused = FileSystem::mount(MemoryDevice::from_bytes(image.clone()), read_only);
    assert_eq!(refused.unwrap_err(), Error::NeedsRecovery);

    // The replayed view shows the result without writing.
    let view = ReplayedView::new(MemoryDevice::from_bytes(image.clone())).unwrap();
    let report = view.report().expect("replayed").clone();
    assert_eq!(report.scan.transactions.len(), 2);
    assert_eq!(report.blocks_replayed, 3);
    let mut seen = FileSystem::mount(view, read_only).unwrap();
    let mut buffer = vec![0u8; 3072];
    seen.read(file, 0, &mut buffer).unwrap();
    assert!(buffer[..1024].iter().all(|&byte| byte == 0xCC));
    assert!(buffer[1024..2048].iter().all(|&byte| byte == 0xBB));
    assert!(buffer[2048..].iter().all(|&byte| byte == 1));
    assert_checker_clean(&mut seen);
    let untouched = seen.into_device().into_inner().into_bytes();
    assert_eq!(untouched, image, "the view wrote nothing");

    let mut mounted = FileSystem::mount(MemoryDevice::from_bytes(image), mount_options()).unwrap();
    assert_eq!(mounted.recovery_report(), Some(&report));
    assert_eq!(mounted.features().incompatible & 0x4, 0);
    let mut again = vec![0u8; 3072];
    mounted.read(file, 0, &mut again).unwrap();
    assert_eq!(again, buffer);
    let status = mounted.journal_status().unwrap().unwrap();
    assert!(status.superblock.is_empty());
    assert_eq!(
        status.superblock.first_sequence(),
        report.scan.end_sequence + 1
    );
    assert_checker_clean(&mut mounted);
    let image = mounted.unmount().unwrap().into_bytes();
    let (clean, output) = e2fsck(&image);
    assert!(clean, "{output}");
}

#[test]
fn a_journal_can_be_added_to_a_volume_with_files() {
    let mut file_system = new_file_system(16 << 20, 1024, 256, false);
    let root = file_system.root();
    let file = file_system.create(root, b"kept", 0o644, 0, 0).unwrap();
    file_system.write(file, 0, &vec![9u8; 100_000]).unwrap();
    let free_before = file_system.info().free_blocks;
    assert_eq!(file_system.add_journal(1023), Err(Error::InvalidArgument));
    assert_eq!(file_system.add_journal(9000), Err(Error::InvalidArgument));
    file_system.add_journal(2048).unwrap();
    assert_eq!(file_system.add_journal(2048), Err(Error::Exists));
    // 2048 log blocks, a single and a double indirect block, and the
    // double's 7 children.
    assert_eq!(
        free_before - file_system.info().free_blocks,
        2048 + 1 + 1 + 7
    );
    let status = file_system.journal_status().unwrap().unwrap();
    assert_eq!(status.inode_blocks, 2048);
    assert_checker_clean(&mut file_system);
    let mut file_system = remount(file_system);
    let mut buffer = vec![0u8; 100_000];
    file_system.read(file, 0, &mut buffer).unwrap();
    assert!(buffer.iter().all(|&byte| byte == 9));
    let image = file_system.unmount().unwrap().into_bytes();
    let (clean, output) = e2fsck(&image);
    assert!(clean, "{output}");
}

#[test]
fn recover_replays_revokes_and_the_superblock_flag_goes() {
    let mut file_system = journaled(8 << 20, 1024, 1024);
    let root = file_system.root();
    let file = file_system.create(root, b"data", 0o644, 0, 0).unwrap();
    file_system.write(file, 0, &vec![1u8; 3072]).unwrap();
    // Unmounted, so the journal is empty for the writer below.
    let mut file_system =
        FileSystem::mount(file_system.unmount().unwrap(), mount_options()).unwrap();
    let first = first_data_block(&mut file_system, file);
    // A transaction that also carries the superblock's block with the flag
    // set, as Linux journals it while mounted.
    let mut superblock_block = vec![0u8; 1024];
    file_system
        .device_mut()
        .read_at(1024, &mut superblock_block)
        .unwrap();
    superblock_block[0x60] |= 0x4;
    let mut journal = file_system.open_journal().unwrap();
    let copy = vec![0xAAu8; 1024];
    let mut escaped = vec![0x55u8; 1024];
    escaped[..4].copy_from_slice(&journal::JOURNAL_MAGIC.to_be_bytes());
    let device = file_system.device_mut();
    let time = CommitTime::default();
    journal
        .commit(device, &[(first, &copy), (1, &superblock_block)], &[], time)
        .unwrap();
    journal
        .commit(device, &[(first + 1, &escaped)], &[first], time)
        .unwrap();
    let mut image = file_system.into_device().into_bytes();
    set_needs_recovery(&mut image, true);
    let mut device = MemoryDevice::from_bytes(image);
    let report = journal::recover(&mut device).unwrap().expect("replayed");
    assert_eq!(report.scan.transactions.len(), 2);
    assert_eq!((report.blocks_replayed, report.blocks_revoked), (2, 1));
    assert_eq!(report.scan.end, LogEnd::Clean);
    assert_eq!(journal::recover(&mut device).unwrap(), None);
    let mut file_system = FileSystem::mount(device, mount_options()).unwrap();
    assert_eq!(file_system.features().incompatible & 0x4, 0);
    let mut buffer = vec![0u8; 3072];
    file_system.read(file, 0, &mut buffer).unwrap();
    assert!(buffer[..1024].iter().all(|&byte| byte == 1), "revoked");
    assert_eq!(buffer[1024..2048], escaped[..], "unescaped");
    assert_checker_clean(&mut file_system);
}

#[test]
fn the_checker_reports_bad_journals() {
    let problems = |image: Vec<u8>| -> Vec<String> {
        let options = MountOptions {
            read_only: true,
            ..mount_options()
        };
        let mut file_system = FileSystem::mount(MemoryDevice::from_bytes(image), options).unwrap();
        file_system
            .check()
            .unwrap()
            .problems
            .into_iter()
            .filter(|problem| problem.kind == ProblemKind::Journal)
            .map(|problem| problem.to_string())
            .collect()
    };
    let mut file_system = journaled(8 << 20, 1024, 1024);
    let status = file_system.journal_status().unwrap().unwrap();
    let image = file_system.unmount().unwrap().into_bytes();
    assert!(problems(image.clone()).is_empty());
    let journal_start = journal_device_block(&image) as usize * 1024;

    // A journal superblock that does not parse.
    let mut damaged = image.clone();
    damaged[journal_start + 0x20] ^= 0xFF;
    let found = problems(damaged);
    assert!(
        found.iter().any(|problem| problem.contains("checksum")),
        "{found:?}"
    );

    // A log with data while needs_recovery is clear.
    let mut unflagged = image.clone();
    let moved = status.superblock.with_log(1, 2);
    unflagged[journal_start..journal_start + 1024].copy_from_slice(moved.as_bytes());
    let found = problems(unflagged);
    assert!(
        found
            .iter()
            .any(|problem| problem.contains("needs_recovery is clear")),
        "{found:?}"
    );

    // A wrong backup of the block map.
    let mut backup = image.clone();
    backup[1024 + 0x10C] ^= 1;
    let found = problems(backup);
    assert!(
        found.iter().any(|problem| problem.contains("s_jnl_blocks")),
        "{found:?}"
    );

    // Inode 8 in use without has_journal.
    let mut flagless = image.clone();
    flagless[1024 + 0x5C] &= !0x4;
    let found = problems(flagless);
    assert!(
        found
            .iter()
            .any(|problem| problem.contains("has_journal is clear")),
        "{found:?}"
    );
}

/// The device block of the journal's first block (its superblock), from
/// the superblock's backup of inode 8's block map.
fn journal_device_block(image: &[u8]) -> u32 {
    u32::from_le_bytes(image[1024 + 0x10C..1024 + 0x110].try_into().unwrap())
}

#[test]
fn a_volume_needing_recovery_with_a_damaged_journal_is_not_mounted() {
    let file_system = journaled(8 << 20, 1024, 1024);
    let mut image = log_transactions(file_system, &[vec![(300, 7)]]);
    let journal_start = journal_device_block(&image) as usize * 1024;
    image[journal_start + 0x30] ^= 1; // the journal UUID, under the checksum
    for read_only in [false, true] {
        let options = MountOptions {
            read_only,
            ..mount_options()
        };
        let result = FileSystem::mount(MemoryDevice::from_bytes(image.clone()), options);
        let error = result.unwrap_err();
        if read_only {
            assert_eq!(error, Error::NeedsRecovery);
        } else {
            assert!(matches!(error, Error::Corrupt(_)), "{error:?}");
        }
    }
    assert!(matches!(
        ReplayedView::new(MemoryDevice::from_bytes(image.clone())),
        Err(Error::Corrupt(_))
    ));
    // The flag without a journal: a read-write mount clears it, a
    // read-only one ignores it.
    let plain = new_file_system(4 << 20, 1024, 128, false);
    let mut image = plain.unmount().unwrap().into_bytes();
    set_needs_recovery(&mut image, true);
    let read_only = MountOptions {
        read_only: true,
        ..mount_options()
    };
    assert!(FileSystem::mount(MemoryDevice::from_bytes(image.clone()), read_only).is_ok());
    let mounted = FileSystem::mount(MemoryDevice::from_bytes(image), mount_options()).unwrap();
    assert_eq!(mounted.features().incompatible & 0x4, 0);
}

#[test]
fn the_writer_refuses_a_journal_with_a_log_and_reopens_after_close() {
    let mut file_system = journaled(8 << 20, 1024, 1024);
    let map: JournalMap = file_system.open_journal().unwrap().map().clone();
    let block = vec![3u8; 1024];
    let device = file_system.device_mut();
    let mut journal = Journal::open(&mut *device, map.clone()).unwrap();
    let sequence = journal.next_sequence();
    journal
        .commit(&mut *device, &[(400, &block)], &[], CommitTime::default())
        .unwrap();
    assert_eq!(
        Journal::open(&mut *device, map.clone()).unwrap_err(),
        Error::NeedsRecovery
    );
    assert_eq!(journal.close(&mut *device), Err(Error::InvalidArgument));
    device.write_at(400 * 1024, &block).unwrap();
    journal.checkpointed(&mut *device, sequence).unwrap();
    assert_eq!(journal.used_blocks(), 0);
    journal.close(&mut *device).unwrap();
    let reopened = Journal::open(&mut *device, map).unwrap();
    assert_eq!(reopened.next_sequence(), sequence + 2);
    let superblock: &JournalSuperblock = reopened.superblock();
    assert!(superblock.is_empty());
}
