// SPDX-License-Identifier: MIT OR Apache-2.0
//! What the fuzz target and the corpus tests do with an untrusted image.
//!
//! Mount it (a writable mount frees whatever the orphan list names); walk
//! the tree with bounded budgets (directories, entries, bytes read),
//! reading files, links and metadata; run the checker; then, when the
//! mount is writable, apply a few writes of every kind — holding some
//! inodes while their names go, so they become orphans — check again,
//! release half the holds, and mount the result again, which frees the
//! orphans left behind. [`exercise_repair`] gives the image to the repair
//! instead. Any error is fine. A panic, a hang or unbounded memory is the bug this hunts:
//! the library must survive whatever the image says. Shared by
//! `fuzz_targets/mutated_image.rs` (libFuzzer) and the `cargo test` corpus
//! runs through `#[path]`.

use std::collections::{BTreeSet, VecDeque};

use fs_ext2l::{FileSystem, FileType, InodeNumber, MemoryDevice, MountOptions, OnDamage};

/// Most directories walked.
const MAX_DIRECTORIES: usize = 256;
/// Most entries looked at over the whole walk.
const MAX_ENTRIES: usize = 4096;
/// Bytes read from the start of each file.
const READ_BYTES: usize = 64 * 1024;

fn clock() -> u32 {
    1_700_000_000
}

/// Exercises the library on `image`; returns whether it mounted.
pub fn exercise(image: &[u8]) -> bool {
    let options = MountOptions {
        cache_bytes: 64 * 1024,
        clock,
        // Keep writing after damage is found, so the write paths meet
        // every kind of it (the default turns the mount read-only).
        on_damage: OnDamage::Continue,
        ..MountOptions::default()
    };
    let Ok(mut file_system) = FileSystem::mount(MemoryDevice::from_bytes(image.to_vec()), options)
    else {
        return false;
    };
    let _ = file_system.info();
    let found = walk(&mut file_system);
    // The system's path resolver, on whatever the image holds.
    if let Ok(mut volume) = kernel_core::Volume::new(file_system, 64) {
        let _ = volume.resolve_path(b"/lost+found/../a/./b", true);
        let _ = volume.resolve_path(b"/...", true);
        let _ = volume.resolve_parent_path(b"/a/b/c");
        file_system = volume.into_file_system();
    } else {
        return true;
    }
    let _ = file_system.check();
    if !file_system.is_read_only() {
        write_some(&mut file_system, &found);
        let _ = file_system.check();
        let _ = file_system.sync();
        // What the holds left on the orphan list is freed by the next mount.
        let device = file_system.into_device();
        if let Ok(mut file_system) = FileSystem::mount(device, options) {
            let _ = file_system.info();
            let _ = file_system.check();
            let _ = file_system.sync();
        }
    }
    true
}

/// Repairs `image` ([`FileSystem::mount_and_repair`]); returns whether
/// the repair ran. Any error is fine; a repair that says the volume is
/// clean must be right: the repaired volume mounts writable, the checker
/// finds nothing, and a second repair has nothing to do (a panic here is
/// a finding, as any other).
pub fn exercise_repair(image: &[u8]) -> bool {
    let options = MountOptions {
        cache_bytes: 64 * 1024,
        clock,
        ..MountOptions::default()
    };
    let Ok((file_system, report)) =
        FileSystem::mount_and_repair(MemoryDevice::from_bytes(image.to_vec()), options)
    else {
        return false;
    };
    let _ = walk_after_repair(file_system, report.is_clean(), options);
    true
}

/// What [`exercise_repair`] checks of a repaired volume.
fn walk_after_repair(
    file_system: FileSystem<MemoryDevice>,
    clean: bool,
    options: MountOptions,
) -> Option<()> {
    let device = file_system.unmount().ok()?;
    if !clean {
        return Some(());
    }
    let repaired = device.into_bytes();
    let mut file_system =
        FileSystem::mount(MemoryDevice::from_bytes(repaired.clone()), options).ok()?;
    if let Some(reason) = file_system.read_only_reason() {
        assert!(
            !reason.contains("error") && !reason.contains("damage"),
            "a repaired volume mounts read-only: {reason}"
        );
    }
    let report = file_system.check().ok()?;
    assert!(
        report.is_clean(),
        "the repair said clean, the checker finds {:?}",
        report.problems
    );
    let _ = walk(&mut file_system);
    let (_, second) =
        FileSystem::mount_and_repair(MemoryDevice::from_bytes(repaired), options).ok()?;
    assert!(
        second.repairs.is_empty(),
        "a second repair did {:?}",
        second.repairs
    );
    Some(())
}

/// Walks from the root; returns some directories and files it found.
fn walk(file_system: &mut FileSystem<MemoryDevice>) -> (Vec<InodeNumber>, Vec<InodeNumber>) {
    let root = file_system.root();
    let mut directories = Vec::new();
    let mut files = Vec::new();
    let mut visited = BTreeSet::new();
    let mut queue = VecDeque::from([root]);
    let mut entries_seen = 0usize;
    let mut buffer = vec![0u8; READ_BYTES];
    while let Some(directory) = queue.pop_front() {
        if directories.len() >= MAX_DIRECTORIES || !visited.insert(directory) {
            continue;
        }
        directories.push(directory);
        let mut cursor = 0u64;
        while entries_seen < MAX_ENTRIES {
            let entry = match file_system.read_dir(directory, cursor) {
                Ok(Some(entry)) => entry,
                _ => break,
            };
            entries_seen += 1;
            if entry.next_cursor <= cursor {
                panic!("read_dir did not advance");
            }
            cursor = entry.next_cursor;
            if entry.name == b"." || entry.name == b".." {
                continue;
            }
            let _ = file_system.lookup(directory, &entry.name);
            let Ok(metadata) = file_system.stat(entry.inode) else {
                continue;
            };
            match metadata.file_type {
                FileType::Directory => queue.push_back(entry.inode),
                FileType::RegularFile => {
                    let _ = file_system.read(entry.inode, 0, &mut buffer);
                    let tail = metadata.size.saturating_sub(4096);
                    let _ = file_system.read(entry.inode, tail, &mut buffer[..4096]);
                    let _ = file_system.map_range(entry.inode, 0, 1 << 20);
                    let _ = file_system.rootlink(entry.inode);
                    files.push(entry.inode);
                }
                FileType::Symlink => {
                    let _ = file_system.readlink(entry.inode);
                }
                _ => {}
            }
        }
    }
    (directories, files)
}

/// A few writes of every kind, wherever the walk found room.
fn write_some(
    file_system: &mut FileSystem<MemoryDevice>,
    found: &(Vec<InodeNumber>, Vec<InodeNumber>),
) {
    let root = file_system.root();
    let data = vec![0x5Au8; 20_000];
    // Held while their names go: orphans, used through the hold.
    let mut held = Vec::new();
    for &inode in found.0.iter().skip(1).take(4).chain(found.1.iter().take(4)) {
        if file_system.hold(inode).is_ok() {
            held.push(inode);
        }
    }
    if let Ok(file) = file_system.create(root, b"fuzz-held", 0o644, 0, 0) {
        if file_system.hold(file).is_ok() {
            held.push(file);
        }
        let _ = file_system.write(file, 0, &data);
        let _ = file_system.unlink(root, b"fuzz-held");
        let _ = file_system.write(file, 30_000, b"orphan");
        let _ = file_system.read(file, 0, &mut vec![0u8; 4096]);
        let _ = file_system.link(file, root, b"fuzz-back");
    }
    if let Ok(file) = file_system.create(root, b"fuzz-file", 0o644, 0, 0) {
        let _ = file_system.write(file, 0, &data);
        let _ = file_system.write(file, 1 << 20, b"sparse");
        let _ = file_system.truncate(file, 100);
    }
    if let Ok(directory) = file_system.mkdir(root, b"fuzz-dir", 0o755, 0, 0) {
        let _ = file_system.symlink(directory, b"link", &[b'l'; 100], 0, 0);
        let _ = file_system.rename(root, b"fuzz-file", directory, b"moved");
        let _ = file_system.installer().link(directory, root, b"fuzz-dir-2");
    }
    for &directory in found.0.iter().take(8) {
        let _ = file_system.create(directory, b"fuzz-child", 0o644, 0, 0);
        let _ = file_system.unlink(directory, b"fuzz-child");
        if let Ok(entries) = file_system.entries(directory) {
            for entry in entries.iter().take(4) {
                let _ = file_system.rename(directory, &entry.name, root, b"fuzz-renamed");
                let _ = file_system.unlink(root, b"fuzz-renamed");
                let _ = file_system.rmdir(root, b"fuzz-renamed");
            }
        }
    }
    for &file in found.1.iter().take(8) {
        let _ = file_system.write(file, 10, &data[..3000]);
        let _ = file_system.truncate(file, 5000);
        let _ = file_system.installer().set_rootlink(file, root);
        let _ = file_system.installer().clear_rootlink(file);
    }
    let _ = file_system.rmdir(root, b"fuzz-dir-2");
    for &inode in &held {
        let _ = file_system.stat(inode);
        let _ = file_system.read_dir(inode, 0);
        let _ = file_system.create(inode, b"fuzz-in-orphan", 0o644, 0, 0);
    }
    // Half are let go now; the rest stay listed for the next mount.
    for &inode in held.iter().step_by(2) {
        let _ = file_system.release(inode);
    }
}
