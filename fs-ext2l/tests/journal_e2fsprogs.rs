// SPDX-License-Identifier: MIT OR Apache-2.0
//! The journal and e2fsprogs 1.47, both ways (on volumes without the
//! ext2l bit, or copies with it cleared, since stock tools refuse it):
//!
//! - a journal made by `format` or `add_journal` is one `e2fsck -fn`
//!   accepts and `dumpe2fs` describes;
//! - transactions written by the writer are listed by `debugfs logdump`
//!   and replayed by `e2fsck` byte for byte as `journal::recover` replays
//!   them, and the result is the state the transactions describe; so is a
//!   log whose live transactions run across its end;
//! - journals written by e2fsprogs (`debugfs` `journal_write`, with no
//!   checksums, version-1 and version-3 checksums, revokes, an
//!   uncommitted transaction) are replayed by `journal::recover` (or, on a
//!   `metadata_csum` volume this library does not write, seen through a
//!   `ReplayedView`) exactly as `e2fsck -E journal_only` replays them;
//! - e2fsprogs' own `f_journal` image (a journal found through the
//!   superblock's backup of its block map, six transactions, an orphan
//!   list) ends, after `journal::recover` then `e2fsck -fy`, byte for byte
//!   where `e2fsck -fy` alone takes it.
#![forbid(unsafe_code)]

mod common;

use std::io::Read;
use std::path::Path;
use std::process::Command;

use common::*;
use fs_ext2l::journal::{self, CommitTime, LogEnd, ReplayedView};
use fs_ext2l::*;

/// A home block and the contents a transaction logs for it.
type LoggedBlock = (u64, Vec<u8>);

/// A fixed time for e2fsprogs, so two runs write the same bytes.
const FIXED_TIME: &str = "1700000000";

/// Runs an e2fsprogs tool; returns (exit status, stdout + stderr).
fn run(tool: &str, arguments: &[&str], image: &Path) -> (i32, String) {
    let output = Command::new(tool)
        .args(arguments)
        .arg(image)
        .env("E2FSCK_TIME", FIXED_TIME)
        .env("E2FSPROGS_FAKE_TIME", FIXED_TIME)
        .output()
        .expect("run an e2fsprogs tool");
    (
        output.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

/// The bytes at which two images differ, ignoring two statistics of the
/// primary superblock that e2fsck updates when it closes: the write time
/// (`s_wtime`) and the kilobytes written (`s_kbytes_written`).
fn differences(ours: &[u8], theirs: &[u8]) -> Vec<usize> {
    assert_eq!(ours.len(), theirs.len());
    let statistics = |index: &usize| {
        (1024 + 0x30..1024 + 0x34).contains(index) || (1024 + 0x178..1024 + 0x180).contains(index)
    };
    ours.iter()
        .zip(theirs)
        .enumerate()
        .filter(|(index, (left, right))| left != right && !statistics(index))
        .map(|(index, _)| index)
        .collect()
}

fn journaled_options(ext2l: bool) -> FormatOptions {
    FormatOptions {
        block_size: 1024,
        inode_size: 256,
        ext2l,
        uuid: [0x11; 16],
        time: test_clock(),
        label: b"journaled".to_vec(),
        journal_blocks: Some(1024),
        ..FormatOptions::default()
    }
}

#[test]
fn our_journal_is_what_e2fsck_and_dumpe2fs_expect() {
    // Made with the ext2l bit, checked on a copy with it cleared.
    let mut file_system = format(
        MemoryDevice::new(16 << 20),
        &journaled_options(true),
        mount_options(),
    )
    .unwrap();
    let root = file_system.root();
    let file = file_system.create(root, b"file", 0o644, 0, 0).unwrap();
    file_system.write(file, 0, &vec![5u8; 50_000]).unwrap();
    file_system.set_ext2l_feature(false).unwrap();
    let image = file_system.unmount().unwrap().into_bytes();
    let path = scratch_path("journal-made.img");
    std::fs::write(&path, &image).unwrap();
    let (status, output) = run("e2fsck", &["-fn"], &path);
    assert_eq!(status, 0, "{output}");
    let (status, output) = run("dumpe2fs", &["-h"], &path);
    assert_eq!(status, 0, "{output}");
    for line in [
        "has_journal",
        "Journal inode:            8",
        "Journal backup:           inode blocks",
        "Journal features:         journal_incompat_revoke journal_checksum_v3",
        "Total journal blocks:     1024",
        "Journal sequence:         0x0000",
        "Journal start:            0",
        "Journal checksum type:    crc32c",
    ] {
        assert!(output.contains(line), "no `{line}` in:\n{output}");
    }
    let _ = std::fs::remove_file(&path);
}

#[test]
fn e2fsck_replays_our_transactions_as_we_do() {
    // A: a volume with a few files, written back. B: A after more work
    // (files created, written, removed, a directory), also written back.
    let mut file_system = format(
        MemoryDevice::new(8 << 20),
        &journaled_options(false),
        mount_options(),
    )
    .unwrap();
    let root = file_system.root();
    let directory = file_system.mkdir(root, b"dir", 0o755, 0, 0).unwrap();
    let old = file_system.create(directory, b"old", 0o644, 0, 0).unwrap();
    file_system.write(old, 0, &vec![1u8; 20_000]).unwrap();
    // Unmounted: A is clean, its journal empty.
    let mut file_system =
        FileSystem::mount(file_system.unmount().unwrap(), mount_options()).unwrap();
    let journal_blocks: Vec<u64> = {
        let status = file_system.journal_status().unwrap().unwrap();
        let first = u64::from(u32::from_le_bytes(
            file_system.device().as_bytes()[1024 + 0x10C..1024 + 0x110]
                .try_into()
                .unwrap(),
        ));
        (first..first + u64::from(status.inode_blocks)).collect()
    };
    let before = file_system.device().as_bytes().to_vec();
    let mut after_system =
        FileSystem::mount(MemoryDevice::from_bytes(before.clone()), mount_options()).unwrap();
    let new = after_system.create(directory, b"new", 0o600, 0, 0).unwrap();
    after_system.write(new, 0, &vec![2u8; 5_000]).unwrap();
    after_system.unlink(directory, b"old").unwrap();
    after_system.mkdir(root, b"more", 0o700, 0, 0).unwrap();
    let after = after_system.unmount().unwrap().into_bytes();

    // The blocks that changed, outside the journal, in two transactions;
    // a third transaction logs junk for a block and a fourth revokes it:
    // its home keeps B's contents, as ordered data written in place would.
    let changed: Vec<u64> = (0..(after.len() / 1024) as u64)
        .filter(|block| !journal_blocks.contains(block))
        .filter(|&block| {
            let range = block as usize * 1024..(block as usize + 1) * 1024;
            before[range.clone()] != after[range]
        })
        .collect();
    assert!(changed.len() >= 6, "{changed:?}");
    let contents = |block: u64| after[block as usize * 1024..(block as usize + 1) * 1024].to_vec();
    let revoked_block = *changed.last().unwrap();
    let (first_half, second_half) = changed.split_at(changed.len() / 2);
    let mut crash =
        FileSystem::mount(MemoryDevice::from_bytes(before.clone()), mount_options()).unwrap();
    let mut writer = crash.open_journal().unwrap();
    // The mounts so far committed transactions: ours follow them.
    let first_sequence = writer.next_sequence();
    let device = crash.device_mut();
    device
        .write_at(revoked_block * 1024, &contents(revoked_block))
        .unwrap();
    let mut magic = vec![0u8; 1024];
    magic[..4].copy_from_slice(&journal::JOURNAL_MAGIC.to_be_bytes());
    let transactions: Vec<(Vec<LoggedBlock>, Vec<u64>)> = vec![
        (vec![(revoked_block, magic)], vec![]),
        (
            first_half
                .iter()
                .map(|&block| (block, contents(block)))
                .collect(),
            vec![],
        ),
        (
            second_half
                .iter()
                .filter(|&&block| block != revoked_block)
                .map(|&block| (block, contents(block)))
                .collect(),
            vec![],
        ),
        (vec![], vec![revoked_block]),
    ];
    for (index, (blocks, revoked)) in transactions.iter().enumerate() {
        let blocks: Vec<(u64, &[u8])> = blocks
            .iter()
            .map(|(block, bytes)| (*block, bytes.as_slice()))
            .collect();
        let time = CommitTime {
            seconds: 1_700_000_000 + index as u64,
            nanoseconds: 17,
        };
        writer.commit(&mut *device, &blocks, revoked, time).unwrap();
    }
    let mut crashed = crash.into_device().into_bytes();
    crashed[1024 + 0x60] |= 0x4; // needs_recovery

    let path = scratch_path("journal-ours.img");
    std::fs::write(&path, &crashed).unwrap();
    let (status, logdump) = run("debugfs", &["-R", "logdump"], &path);
    assert_eq!(status, 0, "{logdump}");
    for sequence in first_sequence..first_sequence + 4 {
        assert!(
            logdump.contains(&format!(
                "Found expected sequence {sequence}, type 2 (commit block)"
            )),
            "{logdump}"
        );
    }
    assert!(
        logdump.contains(&format!(
            "Found expected sequence {}, type 5 (revoke table)",
            first_sequence + 3
        )),
        "{logdump}"
    );
    assert!(logdump.contains("end of journal"), "{logdump}");

    let (status, output) = run("e2fsck", &["-E", "journal_only", "-y"], &path);
    assert_eq!(status, 0, "{output}");
    let theirs = std::fs::read(&path).unwrap();
    let mut ours = MemoryDevice::from_bytes(crashed);
    let report = journal::recover(&mut ours).unwrap().expect("replayed");
    assert_eq!(report.scan.transactions.len(), 4);
    assert_eq!(report.scan.end, LogEnd::Clean);
    assert_eq!(report.blocks_revoked, 1);
    let ours = ours.into_bytes();
    assert_eq!(differences(&ours, &theirs), Vec::<usize>::new());
    // The replayed volume is B, outside the journal and the superblock.
    let outside: Vec<u64> = (0..(after.len() / 1024) as u64)
        .filter(|block| !journal_blocks.contains(block) && *block != 1)
        .filter(|&block| {
            let range = block as usize * 1024..(block as usize + 1) * 1024;
            ours[range.clone()] != after[range]
        })
        .collect();
    assert!(outside.is_empty(), "blocks differ from B: {outside:?}");
    std::fs::write(&path, &ours).unwrap();
    let (status, output) = run("e2fsck", &["-fn"], &path);
    assert_eq!(status, 0, "{output}");
    let mut mounted = FileSystem::mount(MemoryDevice::from_bytes(ours), mount_options()).unwrap();
    assert_checker_clean(&mut mounted);
    let _ = std::fs::remove_file(&path);
}

/// Makes an ext3 volume (with `extra` mke2fs options) whose journal
/// `debugfs` fills: three committed transactions (three blocks; a revoke
/// of one of them; one block, the first word of which is the magic) and
/// one left uncommitted, opened with `journal_open` `options`.
fn debugfs_journal(options: &str, extra: &[&str]) -> Vec<u8> {
    let path = scratch_path("debugfs-journal.img");
    let mut command = Command::new("mke2fs");
    command
        .args(["-q", "-F", "-t", "ext3", "-b", "1024"])
        .args(extra)
        .arg(&path)
        .arg("8M")
        .env("E2FSPROGS_FAKE_TIME", FIXED_TIME);
    let output = command.output().unwrap();
    assert!(output.status.success(), "{output:?}");
    let data = scratch_path("debugfs-data");
    let mut bytes: Vec<u8> = (0..4096u32).map(|index| (index * 7 + 3) as u8).collect();
    bytes[2048..2052].copy_from_slice(&journal::JOURNAL_MAGIC.to_be_bytes());
    std::fs::write(&data, &bytes).unwrap();
    let data = data.to_str().unwrap();
    let commands = scratch_path("debugfs-commands");
    std::fs::write(
        &commands,
        format!(
            "jo {options}\njw -b 3000,3001,3002 {data}\njw -r 3001\njw -b 3003,3004 {data}\njw -b 3005 -c {data}\njc\n"
        ),
    )
    .unwrap();
    let (status, output) = run("debugfs", &["-w", "-f", commands.to_str().unwrap()], &path);
    assert_eq!(status, 0, "{output}");
    let image = std::fs::read(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    image
}

/// `e2fsck -E journal_only -y` of `image`.
fn e2fsck_replay(image: &[u8]) -> Vec<u8> {
    let path = scratch_path("e2fsck-replay.img");
    std::fs::write(&path, image).unwrap();
    let (status, output) = run("e2fsck", &["-E", "journal_only", "-y"], &path);
    assert!(status == 0 || status == 1, "{output}");
    let replayed = std::fs::read(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    replayed
}

#[test]
fn we_replay_e2fsprogs_journals_as_e2fsck_does() {
    // No checksums: every committed transaction replays.
    let image = debugfs_journal("", &[]);
    let mut ours = MemoryDevice::from_bytes(image.clone());
    let report = journal::recover(&mut ours).unwrap().expect("replayed");
    assert_eq!(report.scan.transactions.len(), 3);
    assert_eq!(report.scan.end, LogEnd::Torn { sequence: 4 });
    assert_eq!((report.blocks_replayed, report.blocks_revoked), (4, 1));
    assert_eq!(
        differences(ours.as_bytes(), &e2fsck_replay(&image)),
        Vec::<usize>::new()
    );
    let mut mounted = FileSystem::mount(ours, mount_options()).unwrap();
    assert_checker_clean(&mut mounted);

    // Version-1 checksums: debugfs's revoke-only transaction fails its
    // CRC32 for e2fsck as for us, so both stop after the first
    // transaction; e2fsck then also marks the volume as having errors
    // (`s_state`), which recovery here leaves to the checker.
    let image = debugfs_journal("-c", &[]);
    let mut ours = MemoryDevice::from_bytes(image.clone());
    let report = journal::recover(&mut ours).unwrap().expect("replayed");
    assert_eq!(report.scan.transactions.len(), 1);
    assert!(
        matches!(report.scan.end, LogEnd::Corrupt { sequence: 2, .. }),
        "{:?}",
        report.scan.end
    );
    let theirs = e2fsck_replay(&image);
    assert_eq!(differences(ours.as_bytes(), &theirs), vec![1024 + 0x3A]);

    // Version-3 checksums need `metadata_csum`, a volume this library
    // reads but does not write: `recover` refuses it, and a replayed view
    // shows the blocks e2fsck writes.
    let image = debugfs_journal("-c -v 3", &["-O", "metadata_csum"]);
    let mut ours = MemoryDevice::from_bytes(image.clone());
    assert_eq!(journal::recover(&mut ours), Err(Error::ReadOnly));
    let mut view = ReplayedView::new(MemoryDevice::from_bytes(image.clone())).unwrap();
    let report = view.report().unwrap().clone();
    assert_eq!(report.scan.transactions.len(), 3, "{:?}", report.scan.end);
    let mut seen = vec![0u8; image.len()];
    view.read_at(0, &mut seen).unwrap();
    let theirs = e2fsck_replay(&image);
    // Our view leaves the superblock's metadata_csum checksum stale
    // (nothing reads it through a view); everything else is e2fsck's.
    let differing = differences(&seen, &theirs);
    assert!(
        differing
            .iter()
            .all(|&byte| (1024 + 0x3FC..2048).contains(&byte)),
        "{differing:?}"
    );
}

#[test]
fn e2fsprogs_f_journal_ends_where_e2fsck_takes_it() {
    let path = corpus_directory().join("f_journal.img.gz");
    let Ok(file) = std::fs::File::open(&path) else {
        eprintln!("corpus not found: skipped");
        return;
    };
    let mut image = Vec::new();
    flate2::read::GzDecoder::new(file)
        .read_to_end(&mut image)
        .unwrap();
    let status = journal::inspect(&mut MemoryDevice::from_bytes(image.clone()))
        .unwrap()
        .unwrap();
    assert!(status.needs_recovery);
    assert_eq!(status.inode, 12, "a journal e2fsck moves to inode 8");
    assert_eq!(status.log.transactions.len(), 6);

    let theirs_path = scratch_path("f_journal-theirs.img");
    std::fs::write(&theirs_path, &image).unwrap();
    let (status, output) = run("e2fsck", &["-fy"], &theirs_path);
    assert!(status <= 1, "{output}");

    let mut ours = MemoryDevice::from_bytes(image);
    let report = journal::recover(&mut ours).unwrap().unwrap();
    assert_eq!(report.scan.transactions.len(), 6);
    let ours_path = scratch_path("f_journal-ours.img");
    std::fs::write(&ours_path, ours.as_bytes()).unwrap();
    let (status, output) = run("e2fsck", &["-fy"], &ours_path);
    assert!(status <= 1, "{output}");
    let theirs = std::fs::read(&theirs_path).unwrap();
    let ours = std::fs::read(&ours_path).unwrap();
    assert_eq!(differences(&ours, &theirs), Vec::<usize>::new());
    let _ = std::fs::remove_file(&theirs_path);
    let _ = std::fs::remove_file(&ours_path);
}

#[test]
fn e2fsck_replays_a_log_that_wraps_as_we_do() {
    // Sixty-block transactions through a 1024-block log, checkpointed as
    // they go, until the live ones run across the end of the log.
    let mut file_system = format(
        MemoryDevice::new(8 << 20),
        &journaled_options(false),
        mount_options(),
    )
    .unwrap();
    let mut writer = file_system.open_journal().unwrap();
    let device = file_system.device_mut();
    let mut round = 0u32;
    let mut live_across_the_end = false;
    while !live_across_the_end {
        round += 1;
        assert!(round < 100, "the log never wrapped");
        let contents: Vec<(u64, Vec<u8>)> = (0..60u64)
            .map(|index| {
                let mut bytes = vec![(round as u8).wrapping_mul(31) ^ index as u8; 1024];
                if index % 13 == 0 {
                    bytes[..4].copy_from_slice(&journal::JOURNAL_MAGIC.to_be_bytes());
                }
                (4000 + (u64::from(round) * 7 + index) % 200, bytes)
            })
            .collect();
        let blocks: Vec<(u64, &[u8])> = contents
            .iter()
            .map(|(block, bytes)| (*block, bytes.as_slice()))
            .collect();
        let revoked = if round % 3 == 0 {
            vec![4000 + u64::from(round) % 200 + 1]
        } else {
            vec![]
        };
        let blocks: Vec<(u64, &[u8])> = blocks
            .into_iter()
            .filter(|(block, _)| !revoked.contains(block))
            .collect();
        let time = CommitTime {
            seconds: 1_700_000_000 + u64::from(round),
            nanoseconds: 0,
        };
        let sequence = writer
            .commit(&mut *device, &blocks, &revoked, time)
            .unwrap();
        // Keep the last three transactions live; checkpoint the rest.
        let live: Vec<_> = writer.live_transactions().copied().collect();
        if live.len() > 3 {
            for (block, bytes) in &blocks {
                device.write_at(block * 1024, bytes).unwrap();
            }
            writer
                .checkpointed(&mut *device, live[live.len() - 4].sequence)
                .unwrap();
        }
        let live: Vec<_> = writer.live_transactions().copied().collect();
        live_across_the_end = live.len() == 3
            && live
                .windows(2)
                .any(|pair| pair[1].first_log_block < pair[0].first_log_block)
            && sequence > 20;
    }
    let mut crashed = file_system.into_device().into_bytes();
    crashed[1024 + 0x60] |= 0x4;
    let path = scratch_path("journal-wrapped.img");
    std::fs::write(&path, &crashed).unwrap();
    let (status, logdump) = run("debugfs", &["-R", "logdump"], &path);
    assert_eq!(status, 0, "{logdump}");
    assert_eq!(logdump.matches("(commit block)").count(), 3, "{logdump}");
    let (status, output) = run("e2fsck", &["-E", "journal_only", "-y"], &path);
    assert_eq!(status, 0, "{output}");
    let theirs = std::fs::read(&path).unwrap();
    let mut ours = MemoryDevice::from_bytes(crashed);
    let report = journal::recover(&mut ours).unwrap().unwrap();
    assert_eq!(report.scan.transactions.len(), 3);
    assert_eq!(differences(ours.as_bytes(), &theirs), Vec::<usize>::new());
    let _ = std::fs::remove_file(&path);
}
