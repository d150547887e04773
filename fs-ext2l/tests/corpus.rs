// SPDX-License-Identifier: MIT OR Apache-2.0
//! The corrupted-image corpus: 197 images from the e2fsprogs test suite,
//! each damaged in one way. Every one must mount or fail cleanly, and the
//! walk, the checker and a round of writes must survive it (see
//! `fuzz/exercise.rs`). Images with incompatible features we do not
//! implement must be refused with an error naming them.

#[path = "../fuzz/exercise.rs"]
mod exercise;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fs_ext2l::{Error, FileSystem, MemoryDevice, MountOptions};

/// Largest decompressed image accepted (the biggest is 80 MB).
const MAX_IMAGE_BYTES: u64 = 128 << 20;

/// `shared/corpus/e2fsprogs-f` beside the repository, or the directory
/// `EXT2L_CORPUS_DIR` names (for a checkout elsewhere, e.g. a worktree).
fn corpus_directory() -> PathBuf {
    match std::env::var_os("EXT2L_CORPUS_DIR") {
        Some(directory) => PathBuf::from(directory),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/e2fsprogs-f"),
    }
}

fn decompress(path: &Path) -> Vec<u8> {
    let file = std::fs::File::open(path).unwrap();
    let mut image = Vec::new();
    flate2::read::GzDecoder::new(file)
        .take(MAX_IMAGE_BYTES)
        .read_to_end(&mut image)
        .unwrap();
    image
}

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
