// SPDX-License-Identifier: MIT OR Apache-2.0
//! The corrupted-image corpus: 197 images from the e2fsprogs test suite,
//! each damaged in one way. Every one must mount or fail cleanly, and the
//! walk, the checker, a round of writes and the repair must survive it
//! (see `fuzz/exercise.rs`). Images with incompatible features we do not
//! implement must be refused with an error naming them. The two orphan-list
//! images are cleaned by our mount exactly as `e2fsck -fy` cleans them; the
//! journal that needs recovery in `f_journal` is replayed by a read-write
//! mount (`tests/journal_e2fsprogs.rs` compares the result with e2fsck's).
#![forbid(unsafe_code)]

#[path = "../fuzz/exercise.rs"]
mod exercise;

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{corpus_directory, decompress};
use fs_ext2l::{Error, FileSystem, InodeNumber, MemoryDevice, MountOptions};

#[test]
fn every_corpus_image_mounts_or_fails_cleanly() {
    let directory = corpus_directory();
    let Ok(listing) = std::fs::read_dir(&directory) else {
        eprintln!("corpus not found at {}: skipped", directory.display());
        return;
    };
    let mut paths: Vec<PathBuf> = listing
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.to_string_lossy().ends_with(".img.gz"))
        .collect();
    paths.sort();
    assert!(
        paths.len() >= 190,
        "expected the 197-image corpus, found {}",
        paths.len()
    );
    // Two workers: the machine has two cores.
    let halves: Vec<Vec<PathBuf>> = vec![
        paths.iter().step_by(2).cloned().collect(),
        paths.iter().skip(1).step_by(2).cloned().collect(),
    ];
    let results: Vec<(usize, Vec<(Duration, String)>)> = std::thread::scope(|scope| {
        let workers: Vec<_> = halves
            .iter()
            .map(|half| {
                scope.spawn(move || {
                    let mut mounted = 0;
                    let mut timings = Vec::new();
                    for path in half {
                        let image = decompress(path);
                        let started = Instant::now();
                        if exercise::exercise(&image) {
                            mounted += 1;
                        }
                        exercise::exercise_repair(&image);
                        timings.push((
                            started.elapsed(),
                            path.file_name().unwrap().to_string_lossy().into_owned(),
                        ));
                    }
                    (mounted, timings)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| worker.join().unwrap())
            .collect()
    });
    let mounted: usize = results.iter().map(|(count, _)| count).sum();
    let mut timings: Vec<(Duration, String)> = results
        .into_iter()
        .flat_map(|(_, timings)| timings)
        .collect();
    timings.sort();
    eprintln!(
        "{mounted} of {} corpus images mounted; slowest: {:?}",
        paths.len(),
        timings.last()
    );
    assert!(mounted >= 80, "only {mounted} corpus images mounted");
    for (elapsed, name) in &timings {
        assert!(
            *elapsed < Duration::from_secs(30),
            "{name} took {elapsed:?}"
        );
    }
}

#[test]
fn extent_images_are_refused_naming_the_feature() {
    let path = corpus_directory().join("f_bad_bbitmap.img.gz");
    if !path.exists() {
        eprintln!("corpus not found: skipped");
        return;
    }
    let image = decompress(&path);
    match FileSystem::mount(MemoryDevice::from_bytes(image), MountOptions::default()) {
        Err(Error::Unsupported { features }) => {
            assert!(features.to_string().contains("extent"), "{features}")
        }
        other => panic!("expected refusal, got {other:?}"),
    }
}

#[test]
fn a_modified_indexed_directory_loses_its_index_flag_and_stays_clean() {
    let path = corpus_directory().join("f_h_normal.img.gz");
    if !path.exists() {
        eprintln!("corpus not found: skipped");
        return;
    }
    let image = decompress(&path);
    let mut file_system =
        FileSystem::mount(MemoryDevice::from_bytes(image), MountOptions::default()).unwrap();
    let root = file_system.root();
    let mut indexed = None;
    for entry in file_system.entries(root).unwrap() {
        let metadata = file_system.stat(entry.inode).unwrap();
        if metadata.flags.contains(fs_ext2l::InodeFlags::INDEX) {
            indexed = Some(entry.inode);
            break;
        }
    }
    let directory = indexed.expect("f_h_normal has an indexed directory");
    let before = file_system.entries(directory).unwrap().len();
    assert!(before > 100, "the htree directory reads linearly");
    file_system
        .create(directory, b"added-by-ext2l", 0o644, 0, 0)
        .unwrap();
    assert!(!file_system
        .stat(directory)
        .unwrap()
        .flags
        .contains(fs_ext2l::InodeFlags::INDEX));
    assert_eq!(file_system.entries(directory).unwrap().len(), before + 1);
    let report = file_system.check().unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);
    let bytes = file_system.unmount().unwrap().into_bytes();
    let scratch = std::env::temp_dir().join(format!("ext2l-htree-{}.img", std::process::id()));
    std::fs::write(&scratch, &bytes).unwrap();
    let output = std::process::Command::new("e2fsck")
        .arg("-fn")
        .arg(&scratch)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&scratch);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
}

/// Runs an e2fsprogs tool on `image`; returns (success, stdout + stderr).
fn run_on(tool: &str, arguments: &[&str], image: &Path) -> (bool, String) {
    let output = std::process::Command::new(tool)
        .args(arguments)
        .arg(image)
        .output()
        .unwrap();
    (
        output.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

/// The free-block and free-inode lines of `dumpe2fs`, group by group.
fn free_lists(image: &Path) -> Vec<String> {
    let (ok, output) = run_on("dumpe2fs", &[], image);
    assert!(ok, "{output}");
    output
        .lines()
        .filter(|line| line.starts_with("  Free blocks: ") || line.starts_with("  Free inodes: "))
        .map(String::from)
        .collect()
}

/// The inodes `e2fsck` says it clears from the orphan list, in order.
fn cleared_by_e2fsck(output: &str) -> Vec<InodeNumber> {
    output
        .lines()
        .filter_map(|line| line.strip_prefix("Clearing orphaned inode "))
        .map(|rest| InodeNumber(rest.split(' ').next().unwrap().parse().unwrap()))
        .collect()
}

/// e2fsprogs' own orphan-list images: our read-write mount frees exactly
/// the inodes `e2fsck -fy` clears from the list. On `f_orphan` (a clean
/// list) the results are identical, bitmap for bitmap, and `e2fsck -fn`
/// clean; on `f_badorphan` (a list that ends early, with its former
/// members still allocated) we free the listed four and, unlike e2fsck's
/// pass 1, leave the rest to the checker, which reports each of them.
#[test]
fn e2fsprogs_orphan_lists_are_cleaned_as_e2fsck_cleans_them() {
    for (name, clean_after) in [("f_orphan", true), ("f_badorphan", false)] {
        let path = corpus_directory().join(format!("{name}.img.gz"));
        if !path.exists() {
            eprintln!("corpus not found: skipped");
            return;
        }
        let image = decompress(&path);
        let scratch = std::env::temp_dir().join(format!("ext2l-{name}-{}", std::process::id()));
        let theirs = scratch.with_extension("e2fsck.img");
        std::fs::write(&theirs, &image).unwrap();
        let (_, output) = run_on("e2fsck", &["-fy"], &theirs);
        let cleared = cleared_by_e2fsck(&output);
        assert!(!cleared.is_empty(), "{output}");

        let options = MountOptions {
            read_only: true,
            ..MountOptions::default()
        };
        let mut file_system =
            FileSystem::mount(MemoryDevice::from_bytes(image.clone()), options).unwrap();
        assert_eq!(file_system.check().unwrap().orphans, cleared);
        // A clock: e2fsck wants a freed inode's deletion time set.
        let writable = MountOptions {
            clock: || 1_700_000_000,
            ..MountOptions::default()
        };
        let mut file_system = FileSystem::mount(MemoryDevice::from_bytes(image), writable).unwrap();
        let info = file_system.info();
        assert_eq!(info.orphans_cleaned as usize, cleared.len());
        assert_eq!((info.orphans_listed, info.orphan_list_damage), (0, None));
        let report = file_system.check().unwrap();
        assert!(report.orphans.is_empty());
        let ours = scratch.with_extension("ext2l.img");
        std::fs::write(&ours, file_system.unmount().unwrap().into_bytes()).unwrap();
        if clean_after {
            assert!(report.is_clean(), "{:?}", report.problems);
            let (clean, output) = run_on("e2fsck", &["-fn"], &ours);
            assert!(clean, "{output}");
            assert_eq!(free_lists(&ours), free_lists(&theirs));
        } else {
            // Every problem left is an allocated inode without links that
            // the list no longer names (e2fsck's "refugees").
            assert!(!report.is_clean());
            for problem in &report.problems {
                assert!(
                    matches!(
                        problem.kind,
                        fs_ext2l::ProblemKind::Orphan
                            | fs_ext2l::ProblemKind::InodeBitmap
                            | fs_ext2l::ProblemKind::BlockBitmap
                            | fs_ext2l::ProblemKind::Counter
                    ),
                    "{problem}"
                );
            }
            assert!(report
                .problems
                .iter()
                .any(|problem| problem.message.contains("not on the orphan list")));
        }
        let _ = std::fs::remove_file(&theirs);
        let _ = std::fs::remove_file(&ours);
    }
}

/// The corpus images whose journal needs recovery: an internal journal is
/// replayed by a read-write mount (and a read-only mount refuses); an
/// external one, or one on a volume with features we do not implement, is
/// refused naming the features.
#[test]
fn journal_images_are_replayed_or_refused() {
    let load = |name: &str| {
        let path = corpus_directory().join(format!("{name}.img.gz"));
        path.exists().then(|| decompress(&path))
    };
    let Some(image) = load("f_journal") else {
        eprintln!("corpus not found: skipped");
        return;
    };
    let read_only = MountOptions {
        read_only: true,
        ..MountOptions::default()
    };
    assert_eq!(
        FileSystem::mount(MemoryDevice::from_bytes(image.clone()), read_only).unwrap_err(),
        Error::NeedsRecovery
    );
    let file_system =
        FileSystem::mount(MemoryDevice::from_bytes(image), MountOptions::default()).unwrap();
    let report = file_system.recovery_report().expect("replayed");
    assert_eq!(report.scan.transactions.len(), 6);
    for (name, feature) in [
        ("f_ext_journal", "needs_recovery"),
        ("f_jnl_32bit", "extent"),
    ] {
        let image = load(name).unwrap();
        match FileSystem::mount(MemoryDevice::from_bytes(image), MountOptions::default()) {
            Err(Error::Unsupported { features }) => {
                assert!(features.to_string().contains(feature), "{name}: {features}")
            }
            other => panic!("{name}: expected refusal, got {other:?}"),
        }
    }
}
