// SPDX-License-Identifier: MIT OR Apache-2.0
//! Power cuts during real work, every way the disk may be left.
//!
//! A workload — directory trees; files created, written (through the
//! cache and streamed past it), renamed, truncated, unlinked while held
//! (orphans), released; commits, fsyncs of files and of a directory,
//! syncs — runs on a journaled volume over a [`RecordingDevice`] with a
//! small cache (so blocks are evicted while transactions run). Then
//! [`crash_states`] enumerates every state a power cut may leave: each
//! number of completed flushes, with any subset of the writes issued
//! since (every subset for epochs of up to [`EXHAUSTIVE_WRITES`] writes;
//! for longer ones none, each single write, every prefix, every set but
//! one, and [`SAMPLES`] random subsets). Each state is mounted read-write
//! (which replays the journal), and must be consistent for our checker,
//! and every file fsync'ed before the cut must be there, under its name,
//! with its contents.
//!
//! The tests have teeth: the same workload on a volume without a journal
//! leaves inconsistent states, and a device that drops the flush after
//! the commit block (or every flush) lets states through that the checker
//! or the fsync'ed files catch — only this enumeration finds a missing
//! barrier, since killing an emulator never loses an acknowledged write.
//! A state cut with a committed transaction still in the log is also
//! replayed by `e2fsck -fy`, which must agree with our mount.
//!
//! Without a journal, every crash state (of a volume that also carries
//! the installer's rootlinks, directory hardlink and immutable files) is
//! given to the repair, which must leave it clean with every fsync'ed
//! file and every installed structure intact.
#![forbid(unsafe_code)]

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use common::{scratch_path, test_clock};
use fs_ext2l::{
    crash_states, format, BlockDevice, CrashState, DeviceError, FileSystem, FileType,
    FormatOptions, InodeNumber, MemoryDevice, MountOptions, Record, RecordingDevice,
};

/// Epochs of at most this many writes are enumerated whole.
const EXHAUSTIVE_WRITES: usize = 10;
/// Random subsets of each longer epoch.
const SAMPLES: usize = 24;
/// The same two bounds for the repair's crash test.
const REPAIR_EXHAUSTIVE_WRITES: usize = 6;
const REPAIR_SAMPLES: usize = 6;

/// Mount options for the workload: a small cache, so blocks are evicted
/// (and transactions commit early) while the work goes on.
fn workload_options() -> MountOptions {
    MountOptions {
        clock: test_clock,
        cache_bytes: 96 * 1024,
        ..MountOptions::default()
    }
}

fn check_options() -> MountOptions {
    MountOptions {
        clock: test_clock,
        ..MountOptions::default()
    }
}

/// A freshly formatted volume's bytes: `block_size`, with a journal of
/// 1024 blocks or none.
fn fresh_image(size: usize, block_size: u32, journal: bool) -> Vec<u8> {
    let options = FormatOptions {
        block_size,
        inode_size: 256,
        ext2l: false,
        uuid: [9; 16],
        time: test_clock(),
        journal_blocks: journal.then_some(1024),
        ..FormatOptions::default()
    };
    let file_system = format(MemoryDevice::new(size), &options, check_options()).unwrap();
    file_system.unmount().unwrap().into_bytes()
}

/// A device between the file system and the recording that may lose some
/// flushes (the barrier a buggy commit would miss) and may fail writes
/// and flushes (a medium failing, for a while or for good).
struct LosesFlushes {
    inner: RecordingDevice,
    /// Which flushes to lose.
    rule: FlushLoss,
    /// Writes since the last flush, and whether the last one was in the
    /// journal.
    writes_since_flush: usize,
    last_in_journal: bool,
    journal: std::ops::Range<u64>,
    /// Writes and flushes so far.
    operations: usize,
    /// Writes and flushes with these numbers fail.
    failing: std::ops::Range<usize>,
    /// Whether a failing write still reaches the medium (a device that
    /// wrote and then reported an error) rather than not at all.
    failed_writes_land: bool,
}

impl LosesFlushes {
    /// Whether the operation starting now fails.
    fn next_fails(&mut self) -> bool {
        let fails = self.failing.contains(&self.operations);
        self.operations += 1;
        fails
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum FlushLoss {
    /// None: the device as it should be.
    None,
    /// The flush right after a lone write into the journal — the commit
    /// block's: the checkpoint may then reach the disk before it.
    AfterCommitBlock,
    /// Every flush.
    Every,
}

impl BlockDevice for LosesFlushes {
    fn read_at(&mut self, offset: u64, buffer: &mut [u8]) -> Result<(), DeviceError> {
        self.inner.read_at(offset, buffer)
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<(), DeviceError> {
        if self.next_fails() {
            if self.failed_writes_land {
                self.inner.write_at(offset, data)?;
            }
            return Err(DeviceError::Failed { code: 5 });
        }
        self.writes_since_flush += 1;
        self.last_in_journal = self.journal.contains(&offset);
        self.inner.write_at(offset, data)
    }

    fn flush(&mut self) -> Result<(), DeviceError> {
        if self.next_fails() {
            return Err(DeviceError::Failed { code: 5 });
        }
        let lose = match self.rule {
            FlushLoss::None => false,
            FlushLoss::Every => true,
            FlushLoss::AfterCommitBlock => self.writes_since_flush == 1 && self.last_in_journal,
        };
        self.writes_since_flush = 0;
        if lose {
            Ok(())
        } else {
            self.inner.flush()
        }
    }

    fn size(&mut self) -> Result<u64, DeviceError> {
        self.inner.size()
    }
}

/// A file that must survive every cut after `flushes` flushes completed.
#[derive(Clone, Debug)]
struct Durable {
    flushes: usize,
    path: Vec<u8>,
    /// `None` for a directory.
    contents: Option<Vec<u8>>,
}

/// What a workload left: the recording and the fsync'ed files.
struct Recorded {
    start: Vec<u8>,
    log: Vec<Record>,
    durable: Vec<Durable>,
}

/// The workload's view of the file system and what it promised.
struct Run {
    file_system: FileSystem<LosesFlushes>,
    durable: Vec<Durable>,
}

impl Run {
    fn flushes(&self) -> usize {
        self.file_system
            .device()
            .inner
            .log()
            .iter()
            .filter(|record| **record == Record::Flush)
            .count()
    }

    fn lookup(&mut self, path: &[u8]) -> InodeNumber {
        let mut inode = self.file_system.root();
        for name in path
            .split(|&byte| byte == b'/')
            .filter(|name| !name.is_empty())
        {
            inode = self.file_system.lookup(inode, name).unwrap();
        }
        inode
    }

    fn parent_and_name<'a>(&mut self, path: &'a [u8]) -> (InodeNumber, &'a [u8]) {
        let split = path.iter().rposition(|&byte| byte == b'/').unwrap();
        let parent = self.lookup(&path[..split]);
        (parent, &path[split + 1..])
    }

    fn mkdir(&mut self, path: &[u8]) {
        let (parent, name) = self.parent_and_name(path);
        self.file_system.mkdir(parent, name, 0o755, 0, 0).unwrap();
    }

    fn create(&mut self, path: &[u8], contents: &[u8]) -> InodeNumber {
        let (parent, name) = self.parent_and_name(path);
        let file = self.file_system.create(parent, name, 0o644, 0, 0).unwrap();
        assert_eq!(
            self.file_system.write(file, 0, contents).unwrap(),
            contents.len()
        );
        file
    }

    /// fsyncs `path` (a file with `contents`, or a directory) and records
    /// the promise.
    fn fsync(&mut self, path: &[u8], contents: Option<&[u8]>) {
        let inode = self.lookup(path);
        self.file_system.fsync(inode).unwrap();
        let flushes = self.flushes();
        self.durable.push(Durable {
            flushes,
            path: path.to_vec(),
            contents: contents.map(<[u8]>::to_vec),
        });
    }

    fn rename(&mut self, from: &[u8], to: &[u8]) {
        let (from_parent, from_name) = self.parent_and_name(from);
        let (to_parent, to_name) = self.parent_and_name(to);
        self.file_system
            .rename(from_parent, from_name, to_parent, to_name)
            .unwrap();
    }

    fn unlink(&mut self, path: &[u8]) {
        let (parent, name) = self.parent_and_name(path);
        self.file_system.unlink(parent, name).unwrap();
    }
}

/// Bytes of a file: a pattern that differs from file to file.
fn pattern(seed: u8, length: usize) -> Vec<u8> {
    (0..length)
        .map(|index| (index as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// Mounts `image` over a recording device losing flushes by `rule`.
fn start_run(image: Vec<u8>, rule: FlushLoss) -> Run {
    let journal = {
        let mut file_system =
            FileSystem::mount(MemoryDevice::from_bytes(image.clone()), check_options()).unwrap();
        if file_system.journal_status().unwrap().is_some() {
            let block = u64::from(file_system.block_size());
            let mut map_first = u64::MAX;
            let mut map_end = 0;
            for (first, count) in journal_runs(&mut file_system) {
                map_first = map_first.min(first * block);
                map_end = map_end.max((first + count) * block);
            }
            map_first..map_end
        } else {
            0..0
        }
    };
    let device = LosesFlushes {
        inner: RecordingDevice::new(MemoryDevice::from_bytes(image)),
        rule,
        writes_since_flush: 0,
        last_in_journal: false,
        journal,
        operations: 0,
        failing: 0..0,
        failed_writes_land: false,
    };
    Run {
        file_system: FileSystem::mount(device, workload_options()).unwrap(),
        durable: Vec::new(),
    }
}

/// Cuts the power: what the device recorded and what was promised.
fn cut(run: Run) -> Recorded {
    let device = run.file_system.into_device();
    Recorded {
        start: device.inner.start().to_vec(),
        log: device.inner.log().to_vec(),
        durable: run.durable,
    }
}

/// Runs the workload on `image` (see the module doc); `streamed` adds a
/// file long enough to go past the cache.
fn run_workload(image: Vec<u8>, rule: FlushLoss, streamed: bool) -> Recorded {
    let mut run = start_run(image, rule);
    // A tree, and a file in it made durable.
    run.mkdir(b"/a");
    run.mkdir(b"/a/b");
    let first = pattern(1, 3000);
    run.create(b"/a/b/first", &first);
    run.fsync(b"/a/b/first", Some(&first));
    // Work that is only committed: a file, a held file unlinked (an
    // orphan) and written through its hold.
    run.create(b"/scratch", &pattern(2, 10_000));
    let held = run.create(b"/held", &pattern(3, 2000));
    run.file_system.hold(held).unwrap();
    run.unlink(b"/held");
    run.file_system
        .write(held, 2000, &pattern(4, 3000))
        .unwrap();
    run.file_system.commit().unwrap();
    // Renamed across directories, truncated; a second durable file
    // written after the truncation freed blocks.
    run.rename(b"/scratch", b"/a/moved");
    let moved = run.lookup(b"/a/moved");
    run.file_system.truncate(moved, 100).unwrap();
    let second = pattern(5, 5000);
    run.create(b"/a/b/second", &second);
    run.fsync(b"/a/b/second", Some(&second));
    // Freed blocks reused once committed; a sync.
    run.unlink(b"/a/moved");
    run.create(b"/after", &pattern(6, 20_000));
    run.file_system.sync().unwrap();
    // The orphan released (freed), and a directory's new entry made
    // durable by an fsync of the directory.
    run.file_system.release(held).unwrap();
    run.mkdir(b"/a/c");
    run.create(b"/a/c/empty", b"");
    run.fsync(b"/a/c", None);
    if streamed {
        // Long enough to be streamed past the cache, in several pieces.
        let big = pattern(7, 600 * 1024);
        run.create(b"/a/big", &big);
        run.fsync(b"/a/big", Some(&big));
        // Another, committed, then cut short and removed: its blocks
        // are free again for the next transaction.
        let file = run.create(b"/a/temporary", &pattern(9, 700 * 1024));
        run.file_system.commit().unwrap();
        run.file_system.truncate(file, 1000).unwrap();
        run.unlink(b"/a/temporary");
        run.create(b"/a/reuse", &pattern(10, 64 * 1024));
        run.file_system.commit().unwrap();
    }
    // Work left uncommitted at the cut.
    run.create(b"/a/b/late", &pattern(8, 4000));
    run.unlink(b"/a/b/late");
    cut(run)
}

/// The journal's runs on the device, (first block, count).
fn journal_runs(file_system: &mut FileSystem<MemoryDevice>) -> Vec<(u64, u64)> {
    let journal = file_system.open_journal().unwrap();
    journal
        .map()
        .runs()
        .map(|(first, count)| (u64::from(first), u64::from(count)))
        .collect()
}

/// What went wrong in one crash state, if anything.
fn judge(state: &CrashState, durable: &[Durable]) -> Option<String> {
    let mut file_system = match FileSystem::mount(
        MemoryDevice::from_bytes(state.bytes.clone()),
        check_options(),
    ) {
        Ok(file_system) => file_system,
        Err(error) => return Some(format!("mount: {error}")),
    };
    if let Some(reason) = file_system.read_only_reason() {
        return Some(format!("read-only: {reason}"));
    }
    let report = match file_system.check() {
        Ok(report) => report,
        Err(error) => return Some(format!("check: {error}")),
    };
    if !report.is_clean() {
        return Some(format!(
            "inconsistent: {}",
            report
                .problems
                .iter()
                .map(|problem| problem.to_string())
                .collect::<Vec<_>>()
                .join("; ")
        ));
    }
    for promise in durable
        .iter()
        .filter(|promise| promise.flushes <= state.flushes)
    {
        let mut inode = file_system.root();
        for name in promise
            .path
            .split(|&byte| byte == b'/')
            .filter(|name| !name.is_empty())
        {
            inode = match file_system.lookup(inode, name) {
                Ok(inode) => inode,
                Err(error) => {
                    return Some(format!(
                        "fsync'ed {} lost: {error}",
                        String::from_utf8_lossy(&promise.path)
                    ))
                }
            };
        }
        let metadata = file_system.stat(inode).unwrap();
        match &promise.contents {
            None => {
                if metadata.file_type != FileType::Directory {
                    return Some("fsync'ed directory is not one".into());
                }
            }
            Some(contents) => {
                let mut read = vec![0u8; contents.len() + 1];
                let length = file_system.read(inode, 0, &mut read).unwrap();
                if &read[..length] != contents.as_slice() {
                    return Some(format!(
                        "fsync'ed {} has other contents",
                        String::from_utf8_lossy(&promise.path)
                    ));
                }
            }
        }
    }
    None
}

/// Every crash state of `recorded`: how many, and what went wrong in
/// each bad one (at most a few are kept).
fn judge_all(recorded: &Recorded) -> (usize, usize, Vec<String>) {
    let mut bad = 0;
    let mut examples = Vec::new();
    let states = crash_states(
        &recorded.start,
        &recorded.log,
        EXHAUSTIVE_WRITES,
        SAMPLES,
        |state| {
            if let Some(problem) = judge(state, &recorded.durable) {
                bad += 1;
                if examples.len() < 3 {
                    examples.push(format!(
                        "after {} flushes, writes {:?}: {problem}",
                        state.flushes, state.persisted
                    ));
                }
            }
        },
    );
    (states, bad, examples)
}

#[test]
fn every_crash_state_of_a_journaled_workload_is_consistent_and_keeps_fsynced_files() {
    for (block_size, size, streamed) in [(1024, 3 << 20, false), (4096, 8 << 20, true)] {
        let recorded = run_workload(
            fresh_image(size, block_size, true),
            FlushLoss::None,
            streamed,
        );
        assert!(recorded.durable.len() >= 3);
        let (states, bad, examples) = judge_all(&recorded);
        eprintln!("{block_size}-byte blocks: {states} crash states checked");
        assert!(states > 1000, "{states}");
        assert_eq!(
            bad, 0,
            "{bad} of {states} crash states are bad: {examples:#?}"
        );
    }
}

#[test]
fn without_the_journal_the_same_workload_leaves_inconsistent_states() {
    let recorded = run_workload(fresh_image(3 << 20, 1024, false), FlushLoss::None, false);
    let (states, bad, examples) = judge_all(&recorded);
    eprintln!("no journal: {bad} of {states} crash states bad, e.g. {examples:#?}");
    assert!(bad > 0, "the test would not notice a missing journal");
}

/// A volume without a journal carrying the installer's structures
/// (`common::install_packages`), for the repair's crash test.
fn fresh_image_with_packages(size: usize, block_size: u32) -> Vec<u8> {
    let mut file_system = FileSystem::mount(
        MemoryDevice::from_bytes(fresh_image(size, block_size, false)),
        check_options(),
    )
    .unwrap();
    file_system.set_ext2l_feature(true).unwrap();
    common::install_packages(&mut file_system);
    file_system.unmount().unwrap().into_bytes()
}

/// What went wrong when one crash state of a volume without a journal
/// was repaired, if anything: the repair must succeed and leave the
/// volume clean (for a new check after a remount, and for a second
/// repair), every file fsync'ed before the cut must be there with its
/// bytes, and the installer's structures must survive.
fn judge_repaired(state: &CrashState, durable: &[Durable]) -> Option<String> {
    let (file_system, report) = match FileSystem::mount_and_repair(
        MemoryDevice::from_bytes(state.bytes.clone()),
        check_options(),
    ) {
        Ok(repaired) => repaired,
        Err(error) => return Some(format!("repair: {error}")),
    };
    if !report.is_clean() {
        return Some(format!(
            "not clean after repair: {:?}",
            report.check.problems
        ));
    }
    let device = match file_system.unmount() {
        Ok(device) => device,
        Err(error) => return Some(format!("unmount: {error}")),
    };
    let repaired = device.into_bytes();
    let again = CrashState {
        bytes: repaired.clone(),
        ..state.clone()
    };
    // The repaired volume mounts writable and clean, and keeps what was
    // fsync'ed.
    if let Some(problem) = judge(&again, durable) {
        return Some(format!(
            "after repair ({} repairs): {problem}",
            report.repairs.len()
        ));
    }
    let mut file_system =
        FileSystem::mount(MemoryDevice::from_bytes(repaired.clone()), check_options()).unwrap();
    if let Some(problem) = common::packages_intact(&mut file_system) {
        return Some(format!("after repair: {problem}: {:?}", report.repairs));
    }
    match FileSystem::mount_and_repair(MemoryDevice::from_bytes(repaired), check_options()) {
        Ok((_, second)) if second.repairs.is_empty() => None,
        Ok((_, second)) => Some(format!("a second repair did {:?}", second.repairs)),
        Err(error) => Some(format!("second repair: {error}")),
    }
}

#[test]
fn every_crash_state_without_a_journal_is_repaired_keeping_fsynced_files_and_packages() {
    for (block_size, size, streamed) in [(1024, 3 << 20, false), (4096, 4 << 20, false)] {
        let recorded = run_workload(
            fresh_image_with_packages(size, block_size),
            FlushLoss::None,
            streamed,
        );
        let mut bad = 0;
        let mut examples = Vec::new();
        let mut needed_repair = 0;
        // Fewer subsets than the journaled tests enumerate: each state is
        // checked, repaired, remounted and repaired again, and the test
        // stays within a few seconds.
        let states = crash_states(
            &recorded.start,
            &recorded.log,
            REPAIR_EXHAUSTIVE_WRITES,
            REPAIR_SAMPLES,
            |state| {
                if judge(state, &recorded.durable).is_some() {
                    needed_repair += 1;
                }
                if let Some(problem) = judge_repaired(state, &recorded.durable) {
                    bad += 1;
                    if examples.len() < 3 {
                        examples.push(format!(
                            "after {} flushes, writes {:?}: {problem}",
                            state.flushes, state.persisted
                        ));
                    }
                }
            },
        );
        eprintln!(
            "{block_size}-byte blocks, no journal: {needed_repair} of {states} crash states needed a repair"
        );
        assert!(needed_repair > 0, "the cuts left nothing to repair");
        assert_eq!(bad, 0, "{bad} of {states} states: {examples:#?}");
    }
}

#[test]
fn a_missing_flush_in_the_commit_sequence_is_caught() {
    for rule in [FlushLoss::AfterCommitBlock, FlushLoss::Every] {
        let recorded = run_workload(fresh_image(3 << 20, 1024, true), rule, false);
        let (states, bad, examples) = judge_all(&recorded);
        eprintln!("{rule:?}: {bad} of {states} crash states bad, e.g. {examples:#?}");
        assert!(
            bad > 0,
            "{rule:?}: the test would not notice the missing flush"
        );
    }
}

/// The tree of a volume: every path with its type, size and contents.
fn tree<D: BlockDevice>(file_system: &mut FileSystem<D>) -> BTreeMap<Vec<u8>, (FileType, Vec<u8>)> {
    let mut found = BTreeMap::new();
    let mut pending = vec![(b"".to_vec(), file_system.root())];
    while let Some((path, directory)) = pending.pop() {
        for entry in file_system.entries(directory).unwrap() {
            if entry.name == b"." || entry.name == b".." || entry.name == b"lost+found" {
                continue;
            }
            let mut child = path.clone();
            child.push(b'/');
            child.extend_from_slice(&entry.name);
            let metadata = file_system.stat(entry.inode).unwrap();
            let contents = if metadata.file_type == FileType::RegularFile {
                let mut bytes = vec![0u8; metadata.size as usize];
                file_system.read(entry.inode, 0, &mut bytes).unwrap();
                bytes
            } else {
                Vec::new()
            };
            if metadata.file_type == FileType::Directory {
                pending.push((child.clone(), entry.inode));
            }
            found.insert(child, (metadata.file_type, contents));
        }
    }
    found
}

/// Whether the journal of the volume in `bytes` holds committed
/// transactions to replay.
fn has_committed_log(bytes: &[u8]) -> bool {
    let mut device = MemoryDevice::from_bytes(bytes.to_vec());
    matches!(
        fs_ext2l::journal::inspect(&mut device),
        Ok(Some(status)) if status.needs_recovery && !status.log.transactions.is_empty()
    )
}

#[test]
fn e2fsck_replays_a_cut_volume_to_what_our_mount_sees() {
    let recorded = run_workload(fresh_image(3 << 20, 1024, true), FlushLoss::None, false);
    // Cuts after a commit block's flush, before any of the checkpoint.
    let mut cut = Vec::new();
    crash_states(&recorded.start, &recorded.log, 0, 0, |state| {
        if state.persisted.is_empty() && has_committed_log(&state.bytes) {
            cut.push(state.bytes.clone());
        }
    });
    assert!(cut.len() >= 3, "{} cuts with a log to replay", cut.len());
    eprintln!(
        "{} cuts with a committed log, replayed by e2fsck -fy",
        cut.len()
    );
    for bytes in cut {
        let mut ours =
            FileSystem::mount(MemoryDevice::from_bytes(bytes.clone()), check_options()).unwrap();
        let our_tree = tree(&mut ours);
        let our_free = (ours.info().free_blocks, ours.info().free_inodes);
        let ours = ours.unmount().unwrap().into_bytes();
        let path = scratch_path("crash-ours.img");
        std::fs::write(&path, &ours).unwrap();
        let output = Command::new("e2fsck")
            .arg("-fn")
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "e2fsck -fn after our replay: {}",
            String::from_utf8_lossy(&output.stdout)
        );
        let theirs_path = scratch_path("crash-theirs.img");
        std::fs::write(&theirs_path, &bytes).unwrap();
        let output = Command::new("e2fsck")
            .arg("-fy")
            .arg(&theirs_path)
            .output()
            .unwrap();
        let status = output.status.code().unwrap_or(-1);
        assert!(
            status == 0 || status == 1,
            "e2fsck -fy: {status}: {}",
            String::from_utf8_lossy(&output.stdout)
        );
        let theirs = std::fs::read(&theirs_path).unwrap();
        let mut replayed = FileSystem::mount(
            MemoryDevice::from_bytes(theirs),
            MountOptions {
                read_only: true,
                ..check_options()
            },
        )
        .unwrap();
        assert_eq!(tree(&mut replayed), our_tree);
        assert_eq!(
            (replayed.info().free_blocks, replayed.info().free_inodes),
            our_free
        );
        let report = replayed.check().unwrap();
        assert!(report.is_clean(), "{:?}", report.problems);
        let _ = std::fs::remove_file(&path);
        let _ = std::fs::remove_file(&theirs_path);
    }
}

/// Two-phase commits as the kernel runs them: a batch written while the
/// blocks it holds change (they stay dirty, pinned to the next
/// transaction), and a second batch begun before the first is finished
/// and finished first.
fn run_two_phase_workload(image: Vec<u8>) -> Recorded {
    let mut run = start_run(image, FlushLoss::None);
    run.mkdir(b"/d");
    let file = run.create(b"/d/one", &pattern(11, 6000));
    let first = run.file_system.begin_commit();
    assert!(!first.is_empty());
    first.write_to(run.file_system.device_mut()).unwrap();
    // The directory block, bitmaps, inode table and /d/one change while
    // the first batch is in flight.
    let two = pattern(12, 3000);
    run.create(b"/d/two", &two);
    run.file_system
        .write(file, 6000, &pattern(13, 2000))
        .unwrap();
    let inode = run.lookup(b"/d/two");
    let second = run.file_system.begin_fsync(inode).unwrap();
    second.write_to(run.file_system.device_mut()).unwrap();
    run.file_system.finish_commit(second, Ok(())).unwrap();
    run.file_system.finish_commit(first, Ok(())).unwrap();
    let flushes = run.flushes();
    run.durable.push(Durable {
        flushes,
        path: b"/d/two".to_vec(),
        contents: Some(two),
    });
    let mut one = pattern(11, 6000);
    one.extend(pattern(13, 2000));
    run.fsync(b"/d/one", Some(&one));
    // The sync path of the kernel: the batch written, then more work,
    // then finished.
    let three = pattern(14, 1500);
    run.create(b"/d/three", &three);
    run.create(b"/d/gone", &pattern(16, 2500));
    let batch = run.file_system.begin_write_back();
    batch.write_to(run.file_system.device_mut()).unwrap();
    run.unlink(b"/d/gone");
    run.create(b"/d/four", &pattern(15, 9000));
    run.file_system.finish_write_back(batch, Ok(())).unwrap();
    let flushes = run.flushes();
    run.durable.push(Durable {
        flushes,
        path: b"/d/three".to_vec(),
        contents: Some(three),
    });
    assert!(run.file_system.cache().pinned_count() > 0);
    run.file_system.commit().unwrap();
    assert_eq!(run.file_system.cache().pinned_count(), 0);
    cut(run)
}

#[test]
fn commits_in_flight_while_their_blocks_change_stay_consistent() {
    let recorded = run_two_phase_workload(fresh_image(3 << 20, 1024, true));
    let (states, bad, examples) = judge_all(&recorded);
    eprintln!("two-phase: {states} crash states checked");
    assert_eq!(
        bad, 0,
        "{bad} of {states} crash states are bad: {examples:#?}"
    );
}

/// How a device fails in [`run_failure_workload`].
#[derive(Clone, Copy, Debug)]
struct Failure {
    /// The device operation (write or flush) of the fsync that fails
    /// first.
    at: usize,
    /// How many operations fail (from then on until healed when large).
    count: usize,
    /// Whether failing writes reach the medium anyway.
    land: bool,
}

/// Durable work, then an fsync during which the device fails as
/// `failure` says, more work while it fails, then the device heals and
/// the same fsync, another and a sync must succeed. Returns the
/// recording and the device operations the failing fsync took without a
/// failure (`failure` `None`).
fn run_failure_workload(image: Vec<u8>, failure: Option<Failure>) -> (Recorded, usize) {
    let mut run = start_run(image, FlushLoss::None);
    run.mkdir(b"/d");
    let first = pattern(21, 4000);
    run.create(b"/d/first", &first);
    run.fsync(b"/d/first", Some(&first));
    let orphan = run.create(b"/d/orphan", &pattern(22, 9000));
    run.file_system.hold(orphan).unwrap();
    run.unlink(b"/d/orphan");
    run.file_system
        .write(orphan, 9000, &pattern(23, 1000))
        .unwrap();
    run.mkdir(b"/e");
    run.create(b"/d/moving", &pattern(24, 2500));
    run.rename(b"/d/moving", b"/e/moved");
    let moved = run.lookup(b"/e/moved");
    run.file_system.truncate(moved, 10).unwrap();
    let target = pattern(25, 7000);
    run.create(b"/e/target", &target);
    let inode = run.lookup(b"/e/target");
    let before = run.file_system.device().operations;
    // The states before this point are the same whatever fails next:
    // recording starts over (what was made durable stays so).
    run.file_system.device_mut().inner.restart();
    for promise in &mut run.durable {
        promise.flushes = 0;
    }
    if let Some(failure) = failure {
        run.file_system.device_mut().failing = before + failure.at
            ..before
                .saturating_add(failure.at)
                .saturating_add(failure.count);
        run.file_system.device_mut().failed_writes_land = failure.land;
    }
    let attempt = run.file_system.fsync(inode);
    let taken = run.file_system.device().operations - before;
    match attempt {
        Ok(()) => {
            let flushes = run.flushes();
            run.durable.push(Durable {
                flushes,
                path: b"/e/target".to_vec(),
                contents: Some(target.clone()),
            });
        }
        Err(error) => {
            assert!(matches!(error, fs_ext2l::Error::Device(_)), "{error}");
            assert!(run.file_system.pending_bytes().metadata > 0);
        }
    }
    // Work goes on while the device may still fail.
    let extra = pattern(26, 3000);
    run.create(b"/e/extra", &extra);
    let _ = run.file_system.commit();
    // Healed: everything goes through.
    run.file_system.device_mut().failing = 0..0;
    run.fsync(b"/e/target", Some(&target));
    run.fsync(b"/e/extra", Some(&extra));
    run.file_system.release(orphan).unwrap();
    run.file_system.sync().unwrap();
    assert_eq!(
        run.file_system.pending_bytes(),
        fs_ext2l::PendingBytes::default()
    );
    run.create(b"/e/late", &pattern(27, 500));
    (cut(run), taken)
}

#[test]
fn a_commit_that_fails_anywhere_is_carried_by_the_next_one() {
    // The smallest volume with a journal: many runs, each cheap to judge.
    let image = fresh_image(2 << 20, 1024, true);
    let (_, operations) = run_failure_workload(image.clone(), None);
    assert!(operations >= 8, "{operations}");
    let mut total = 0;
    for at in 0..operations {
        for (count, land) in [(1, false), (usize::MAX / 4, false), (usize::MAX / 4, true)] {
            let failure = Failure { at, count, land };
            let (recorded, _) = run_failure_workload(image.clone(), Some(failure));
            let mut bad = 0;
            let mut examples = Vec::new();
            total += crash_states(&recorded.start, &recorded.log, 5, 4, |state| {
                if let Some(problem) = judge(state, &recorded.durable) {
                    bad += 1;
                    if examples.len() < 3 {
                        examples.push(format!(
                            "after {} flushes, writes {:?}: {problem}",
                            state.flushes, state.persisted
                        ));
                    }
                }
            });
            assert_eq!(bad, 0, "{failure:?}: {examples:#?}");
        }
    }
    eprintln!("failures at {operations} points: {total} crash states checked");
}

/// Commits around the end of the log, where the head wraps to its start,
/// with a metadata block that must be escaped in the journal (a symbolic
/// link whose target starts with the JBD2 magic number).
fn run_wrapping_workload(image: Vec<u8>) -> (Recorded, Vec<u8>) {
    let mut run = start_run(image, FlushLoss::None);
    run.mkdir(b"/w");
    // Commits until the next one would reach the end of the log.
    let mut index = 0u32;
    loop {
        let name = format!("/w/file-{index}");
        run.create(name.as_bytes(), &pattern(index as u8, 700));
        run.file_system.commit().unwrap();
        index += 1;
        let status = run.file_system.journal_status().unwrap().unwrap();
        let end = status.superblock.journal_blocks();
        if status.superblock.log_start() + 12 >= end {
            break;
        }
        assert!(index < 2000, "the log does not move");
    }
    run.file_system.device_mut().inner.restart();
    for promise in &mut run.durable {
        promise.flushes = 0;
    }
    let mut target = fs_ext2l::journal::JOURNAL_MAGIC.to_be_bytes().to_vec();
    target.extend_from_slice(&[b'm'; 200]);
    let directory = run.lookup(b"/w");
    run.file_system
        .symlink(directory, b"magic", &target, 0, 0)
        .unwrap();
    for round in 0..4u8 {
        let name = format!("/w/wrapped-{round}");
        let contents = pattern(100 + round, 1500);
        run.create(name.as_bytes(), &contents);
        run.fsync(name.as_bytes(), Some(&contents));
    }
    let status = run.file_system.journal_status().unwrap().unwrap();
    assert!(
        status.superblock.log_start() < 40,
        "the head wrapped: {}",
        status.superblock.log_start()
    );
    (cut(run), target)
}

#[test]
fn commits_across_the_end_of_the_log_and_escaped_blocks_survive_cuts() {
    let (recorded, target) = run_wrapping_workload(fresh_image(3 << 20, 1024, true));
    let mut link_checked = 0;
    let (states, bad, examples) = judge_all(&recorded);
    crash_states(&recorded.start, &recorded.log, 0, 0, |state| {
        if state.flushes + 1 < recorded.log.iter().filter(|r| **r == Record::Flush).count() {
            return;
        }
        let mut file_system = FileSystem::mount(
            MemoryDevice::from_bytes(state.bytes.clone()),
            check_options(),
        )
        .unwrap();
        let directory = file_system.lookup(file_system.root(), b"w").unwrap();
        let link = file_system.lookup(directory, b"magic").unwrap();
        assert_eq!(file_system.readlink(link).unwrap(), target);
        link_checked += 1;
    });
    eprintln!("wrapping log: {states} crash states checked");
    assert!(link_checked > 0);
    // The link's block went to the journal escaped (its magic zeroed)
    // and home as it is.
    let writes: Vec<&Vec<u8>> = recorded
        .log
        .iter()
        .filter_map(|record| match record {
            Record::Write { data, .. } => Some(data),
            Record::Flush => None,
        })
        .collect();
    let home = writes
        .iter()
        .find(|data| data.starts_with(&target))
        .expect("the link's block written home");
    let mut escaped = home.to_vec();
    escaped[..4].fill(0);
    assert!(writes.iter().any(|data| **data == escaped));
    assert_eq!(
        bad, 0,
        "{bad} of {states} crash states are bad: {examples:#?}"
    );
}

/// An append inside a block the file already has grows the file's size,
/// which commits with whatever transaction comes next — here one forced by
/// an fsync of another file. Ordered mode writes the appended bytes before
/// that commit, so no cut ever shows the log file longer than the bytes
/// written to it (a regression: `cargo xtask crash` saw a progress log
/// ending in bytes it never had).
#[test]
fn an_append_never_shows_bytes_the_file_never_had() {
    for (block_size, size) in [(1024, 3 << 20), (4096, 8 << 20)] {
        let mut run = start_run(fresh_image(size, block_size, true), FlushLoss::None);
        let log = run.create(b"/log", b"");
        run.create(b"/other", b"");
        run.file_system.commit().unwrap();
        let mut expected = Vec::new();
        for step in 0..24u8 {
            let record = pattern(step, 37 + usize::from(step) * 5);
            let at = expected.len() as u64;
            run.file_system.write(log, at, &record).unwrap();
            expected.extend_from_slice(&record);
            let other = pattern(100 + step, 50);
            let other_inode = run.lookup(b"/other");
            run.file_system.write(other_inode, 0, &other).unwrap();
            run.fsync(b"/other", Some(&other));
        }
        let recorded = cut(run);
        let mut bad = Vec::new();
        let states = crash_states(
            &recorded.start,
            &recorded.log,
            EXHAUSTIVE_WRITES,
            SAMPLES,
            |state| {
                let mut file_system = FileSystem::mount(
                    MemoryDevice::from_bytes(state.bytes.clone()),
                    check_options(),
                )
                .unwrap();
                let root = file_system.root();
                // Before the first commit there is no log yet.
                let Ok(inode) = file_system.lookup(root, b"log") else {
                    return;
                };
                let mut content = vec![0u8; expected.len() + 1];
                let length = file_system.read(inode, 0, &mut content).unwrap();
                if !expected.starts_with(&content[..length]) && bad.len() < 3 {
                    bad.push(format!(
                        "after {} flushes: the log holds {length} bytes not all written",
                        state.flushes
                    ));
                }
            },
        );
        assert!(states > 20, "{states}");
        assert!(bad.is_empty(), "{block_size}-byte blocks: {bad:#?}");
    }
}
