// SPDX-License-Identifier: MIT OR Apache-2.0
//! The repair judged against e2fsck on the e2fsprogs corpus.
//!
//! For each plain ext2 image of the corpus (`CLASSES.tsv`, class `ext2`):
//! one copy is repaired by [`FileSystem::mount_and_repair`], another by
//! `e2fsck -fy`. The image counts as judged clean when `e2fsck -fn` finds
//! nothing in our copy; and whether it counts or not, every regular file
//! e2fsck's copy keeps (by path, `lost+found` included) must be in ours
//! with the same bytes. The count reached is printed, and the test fails
//! if it drops below [`JUDGED_CLEAN_FLOOR`]. Images of the other classes
//! (ext3 and ext4 features) must repair or fail with an error, never
//! panic (every image of the corpus is tried).
//!
//! Skipped, with a printed reason, when e2fsck is not installed or the
//! corpus is not beside the checkout (`../shared/corpus/e2fsprogs-f`, as
//! the corpus test finds it; `EXT2L_CORPUS_DIR` points elsewhere).
#![forbid(unsafe_code)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use common::{
    corpus_directory, decompress, e2fsck_installed, mount_options, scratch_path, Random,
    MAX_IMAGE_BYTES,
};
use fs_ext2l::{FileSystem, FileType, InodeNumber, MemoryDevice, MountOptions};

/// Plain ext2 images of the corpus that e2fsck must find clean after our
/// repair. 67 of the 68: `f_crashdisk` has no superblock e2fsck (or
/// anything) can use, and our repair refuses it with an error as e2fsck
/// does.
const JUDGED_CLEAN_FLOOR: usize = 67;

/// Runs e2fsck with `flags` on `image` (written to a scratch file);
/// returns its exit status, output and the image afterwards.
fn run_e2fsck(flags: &str, image: &[u8]) -> (i32, String, Vec<u8>) {
    let path = scratch_path("judged.img");
    std::fs::write(&path, image).unwrap();
    let output = Command::new("e2fsck")
        .arg(flags)
        .arg(&path)
        .output()
        .unwrap();
    let after = std::fs::read(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code().unwrap_or(-1), text, after)
}

/// Every regular file reachable from the root (`lost+found` included),
/// by path, with its bytes; `None` when the volume does not mount.
fn regular_files(image: Vec<u8>) -> Option<BTreeMap<Vec<u8>, Vec<u8>>> {
    let options = MountOptions {
        read_only: true,
        ..mount_options()
    };
    let mut file_system = FileSystem::mount(MemoryDevice::from_bytes(image), options).ok()?;
    let mut found = BTreeMap::new();
    let mut seen = BTreeSet::new();
    let mut pending: Vec<(Vec<u8>, InodeNumber)> = vec![(Vec::new(), file_system.root())];
    while let Some((path, directory)) = pending.pop() {
        if !seen.insert(directory) {
            continue;
        }
        let Ok(entries) = file_system.entries(directory) else {
            continue;
        };
        for entry in entries {
            if entry.name == b"." || entry.name == b".." {
                continue;
            }
            let mut child = path.clone();
            child.push(b'/');
            child.extend_from_slice(&entry.name);
            let Ok(metadata) = file_system.stat(entry.inode) else {
                continue;
            };
            match metadata.file_type {
                FileType::Directory => pending.push((child, entry.inode)),
                FileType::RegularFile => {
                    let mut bytes = vec![0u8; metadata.size.min(MAX_IMAGE_BYTES) as usize];
                    match file_system.read(entry.inode, 0, &mut bytes) {
                        Ok(length) => bytes.truncate(length),
                        Err(_) => bytes.clear(),
                    }
                    found.insert(child, bytes);
                }
                _ => {}
            }
        }
    }
    Some(found)
}

/// A second repair of a repaired image: `None` when it finds nothing to
/// do and the volume clean, else what it did.
fn second_repair(image: &[u8]) -> Option<String> {
    match FileSystem::mount_and_repair(MemoryDevice::from_bytes(image.to_vec()), mount_options()) {
        Ok((_, report)) if report.repairs.is_empty() && report.is_clean() => None,
        Ok((_, report)) => Some(format!(
            "a second repair did something: {:?}, clean {}",
            report
                .repairs
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            report.is_clean()
        )),
        Err(error) => Some(format!("a second repair failed: {error}")),
    }
}

/// What one image came to.
struct Verdict {
    name: String,
    /// `e2fsck -fn` found nothing in our repaired copy.
    clean: bool,
    /// Why not, or which files differ.
    notes: Vec<String>,
}

fn judge(name: &str, image: Vec<u8>) -> Verdict {
    let mut notes = Vec::new();
    let (_, _, theirs) = run_e2fsck("-fy", &image);
    let ours = match FileSystem::mount_and_repair(MemoryDevice::from_bytes(image), mount_options())
    {
        Ok((file_system, _)) => match file_system.unmount() {
            Ok(device) => Some(device.into_bytes()),
            Err(error) => {
                notes.push(format!("unmount after repair: {error}"));
                None
            }
        },
        Err(error) => {
            notes.push(format!("repair refused: {error}"));
            None
        }
    };
    let Some(ours) = ours else {
        return Verdict {
            name: name.to_string(),
            clean: false,
            notes,
        };
    };
    if let Some(again) = second_repair(&ours) {
        notes.push(again);
    }
    let (status, output, _) = run_e2fsck("-fn", &ours);
    let clean = status == 0;
    if !clean {
        notes.push(format!("e2fsck -fn exits {status}:\n{output}"));
    }
    if let Some(kept) = regular_files(theirs) {
        let repaired = regular_files(ours).unwrap_or_default();
        for (path, bytes) in kept {
            let path_text = String::from_utf8_lossy(&path).into_owned();
            match repaired.get(&path) {
                None => notes.push(format!("{path_text}: kept by e2fsck, missing after ours")),
                Some(ours) if *ours != bytes => notes.push(format!(
                    "{path_text}: {} bytes after e2fsck, {} different bytes after ours",
                    bytes.len(),
                    ours.len()
                )),
                Some(_) => {}
            }
        }
    }
    Verdict {
        name: name.to_string(),
        clean,
        notes,
    }
}

/// The corpus's directory, or `None` (with a printed reason) when the
/// checkout has no corpus beside it, as the corpus test does.
fn corpus_or_skip() -> Option<std::path::PathBuf> {
    let directory = corpus_directory();
    if directory.join("CLASSES.tsv").exists() {
        return Some(directory);
    }
    eprintln!(
        "corpus not found at {}: the repair is not judged on it (skipped)",
        directory.display()
    );
    None
}

/// The corpus's classes: image name to class.
fn classes(directory: &Path) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(directory.join("CLASSES.tsv")).unwrap_or_else(|error| {
        panic!(
            "{}: {error} (set EXT2L_CORPUS_DIR to the e2fsprogs-f corpus)",
            directory.display()
        )
    });
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let mut fields = line.split('\t');
            Some((fields.next()?.to_string(), fields.next()?.to_string()))
        })
        .collect()
}

#[test]
fn repair_of_plain_ext2_images_satisfies_e2fsck_and_keeps_its_files() {
    if !e2fsck_installed() {
        eprintln!("e2fsck is not installed: the repair is not judged against it (skipped)");
        return;
    }
    let Some(directory) = corpus_or_skip() else {
        return;
    };
    let plain: Vec<String> = classes(&directory)
        .into_iter()
        .filter(|(_, class)| class == "ext2")
        .map(|(name, _)| name)
        .collect();
    assert_eq!(plain.len(), 68, "CLASSES.tsv lists 68 plain ext2 images");
    // Two workers: the machine has two cores.
    let halves: Vec<Vec<String>> = vec![
        plain.iter().step_by(2).cloned().collect(),
        plain.iter().skip(1).step_by(2).cloned().collect(),
    ];
    let verdicts: Vec<Verdict> = std::thread::scope(|scope| {
        let workers: Vec<_> = halves
            .iter()
            .map(|names| {
                let directory = &directory;
                scope.spawn(move || {
                    names
                        .iter()
                        .map(|name| {
                            let image = decompress(&directory.join(format!("{name}.img.gz")));
                            judge(name, image)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| worker.join().unwrap())
            .collect()
    });
    let clean = verdicts.iter().filter(|verdict| verdict.clean).count();
    println!(
        "repair: {clean} of {} plain-ext2 images judged clean by e2fsck",
        plain.len()
    );
    let mut lost_files = Vec::new();
    for verdict in &verdicts {
        for note in &verdict.notes {
            println!("{}: {note}", verdict.name);
            if note.contains("kept by e2fsck")
                || note.contains("different bytes")
                || note.contains("second repair")
            {
                lost_files.push(format!("{}: {note}", verdict.name));
            }
        }
    }
    assert!(
        clean >= JUDGED_CLEAN_FLOOR,
        "only {clean} images judged clean, the floor is {JUDGED_CLEAN_FLOOR}"
    );
    assert!(
        lost_files.is_empty(),
        "files e2fsck keeps that the repair lost or changed, or second repairs that did something:\n{}",
        lost_files.join("\n")
    );
}

#[test]
fn repair_of_every_other_corpus_image_succeeds_or_fails_cleanly() {
    let Some(directory) = corpus_or_skip() else {
        return;
    };
    let others: Vec<String> = classes(&directory)
        .into_iter()
        .filter(|(_, class)| class != "ext2")
        .map(|(name, _)| name)
        .collect();
    assert!(others.len() >= 120, "the corpus lists its other classes");
    let mut repaired = 0;
    for name in &others {
        let image = decompress(&directory.join(format!("{name}.img.gz")));
        match FileSystem::mount_and_repair(MemoryDevice::from_bytes(image), mount_options()) {
            Ok((mut file_system, report)) => {
                repaired += 1;
                if report.is_clean() {
                    let device = file_system.unmount().unwrap();
                    assert_eq!(
                        second_repair(device.as_bytes()),
                        None,
                        "{name}: a second repair"
                    );
                    continue;
                }
                // What a repair that succeeds leaves: clean, or reported.
                let check = file_system.check().unwrap();
                assert_eq!(
                    check.is_clean(),
                    report.is_clean(),
                    "{name}: the report and a new check disagree"
                );
            }
            Err(error) => assert!(!error.to_string().is_empty(), "{name}: an error says what"),
        }
    }
    println!(
        "repair: {repaired} of {} ext3/ext4 images repaired, the rest refused",
        others.len()
    );
}

/// A plain ext2 volume (no ext2l bit) with directories, small and large
/// files and both kinds of symbolic link, growable (a resize inode and
/// reserved descriptor blocks).
fn plain_seed(block_size: u32) -> Vec<u8> {
    let options = fs_ext2l::FormatOptions {
        block_size,
        inode_size: 256,
        ext2l: false,
        uuid: [7; 16],
        time: common::test_clock(),
        label: b"test".to_vec(),
        ..fs_ext2l::FormatOptions::default()
    };
    let mut file_system =
        fs_ext2l::format(MemoryDevice::new(2 << 20), &options, mount_options()).expect("format");
    let root = file_system.root();
    let directory = file_system.mkdir(root, b"dir", 0o755, 0, 0).unwrap();
    let sub = file_system.mkdir(directory, b"sub", 0o755, 0, 0).unwrap();
    for index in 0..20u8 {
        let parent = if index % 2 == 0 { directory } else { sub };
        let file = file_system
            .create(parent, format!("file{index}").as_bytes(), 0o644, 0, 0)
            .unwrap();
        file_system
            .write(file, 0, &vec![index; 300 * usize::from(index)])
            .unwrap();
    }
    let big = file_system.create(root, b"big", 0o644, 0, 0).unwrap();
    file_system.write(big, 0, &vec![7u8; 300_000]).unwrap();
    file_system
        .symlink(root, b"link", &[b'x'; 80], 0, 0)
        .unwrap();
    file_system
        .symlink(root, b"short", b"dir/sub", 0, 0)
        .unwrap();
    file_system.unmount().unwrap().into_bytes()
}

/// Mutated plain ext2 volumes (bytes overwritten in the metadata at the
/// start of the image): every one our repair calls clean, e2fsck must
/// find clean too. A wider search: `EXT2L_REPAIR_MUTANTS=700` (each of
/// two seeds; 1396 repaired mutants all clean when this was written).
#[test]
fn mutated_plain_volumes_our_repair_calls_clean_are_clean_for_e2fsck() {
    if !e2fsck_installed() {
        eprintln!("e2fsck is not installed: the repair is not judged against it (skipped)");
        return;
    }
    let rounds: usize = std::env::var("EXT2L_REPAIR_MUTANTS")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(40);
    let mut random = Random(0x1234_5678_9ABC_DEF1);
    let mut judged = 0;
    let mut failures = Vec::new();
    for block_size in [1024u32, 4096] {
        let seed = plain_seed(block_size);
        for round in 0..rounds {
            let mut image = seed.clone();
            let area = image.len().min(96 * 1024);
            for _ in 0..1 + random.below(24) {
                let position = random.below(area);
                image[position] = match random.below(4) {
                    0 => 0,
                    1 => 0xFF,
                    2 => image[position].wrapping_add(1),
                    _ => random.next() as u8,
                };
            }
            let Ok((file_system, report)) =
                FileSystem::mount_and_repair(MemoryDevice::from_bytes(image), mount_options())
            else {
                continue;
            };
            if !report.is_clean() {
                failures.push(format!(
                    "{block_size}/{round}: not clean after our repair: {:?} after {:?}",
                    report
                        .check
                        .problems
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>(),
                    report
                        .repairs
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                ));
                continue;
            }
            judged += 1;
            let repaired = file_system.unmount().unwrap().into_bytes();
            let (status, output, _) = run_e2fsck("-fn", &repaired);
            if output.contains("unsupported feature") {
                // Feature bits e2fsck does not know: it judges nothing
                // (and the volume, read-only here, was not written).
                continue;
            }
            // A resize inode e2fsck would make again is a question
            // answered "no", with exit status 0.
            if status != 0 || output.contains("? no") {
                failures.push(format!(
                    "{block_size}/{round}: our repairs {:?}; e2fsck -fn:\n{output}",
                    report
                        .repairs
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                ));
            }
        }
    }
    println!("repair: {judged} mutated plain volumes judged by e2fsck");
    assert!(judged > rounds, "too few mutants repaired to judge");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
