// SPDX-License-Identifier: MIT OR Apache-2.0
//! Helpers shared by the integration tests: fresh file systems in memory,
//! scratch files, and running the e2fsprogs tools on an image.
#![allow(dead_code)] // Reason: each test binary uses a different subset.

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use fs_ext2l::{format, FileSystem, FormatOptions, MemoryDevice, MountOptions};

/// A clock for tests: a fixed, plausible time.
pub fn test_clock() -> u32 {
    1_700_000_000
}

pub fn mount_options() -> MountOptions {
    MountOptions {
        clock: test_clock,
        ..MountOptions::default()
    }
}

/// A freshly formatted in-memory file system.
pub fn new_file_system(
    size: usize,
    block_size: u32,
    inode_size: u32,
    ext2l: bool,
) -> FileSystem<MemoryDevice> {
    let options = FormatOptions {
        block_size,
        inode_size,
        ext2l,
        uuid: [7; 16],
        time: test_clock(),
        label: b"test".to_vec(),
        ..FormatOptions::default()
    };
    format(MemoryDevice::new(size), &options, mount_options()).expect("format")
}

/// A freshly formatted in-memory file system with a journal of 1024
/// blocks: its mount journals its metadata.
pub fn new_journaled_file_system(
    size: usize,
    block_size: u32,
    inode_size: u32,
) -> FileSystem<MemoryDevice> {
    let options = FormatOptions {
        block_size,
        inode_size,
        ext2l: false,
        uuid: [8; 16],
        time: test_clock(),
        label: b"journaled".to_vec(),
        journal_blocks: Some(1024),
        ..FormatOptions::default()
    };
    format(MemoryDevice::new(size), &options, mount_options()).expect("format")
}

/// Syncs and remounts, to prove the state survives on disk.
pub fn remount(file_system: FileSystem<MemoryDevice>) -> FileSystem<MemoryDevice> {
    let device = file_system.unmount().expect("unmount");
    FileSystem::mount(device, mount_options()).expect("remount")
}

/// The e2fsprogs corrupted-image corpus: `EXT2L_CORPUS_DIR` when set (a
/// git worktree outside the project directory does not sit next to
/// `shared/`), else `shared/corpus/e2fsprogs-f` beside the repository.
pub fn corpus_directory() -> PathBuf {
    match std::env::var_os("EXT2L_CORPUS_DIR") {
        Some(directory) => PathBuf::from(directory),
        None => {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/e2fsprogs-f")
        }
    }
}

static SCRATCH_COUNTER: AtomicU32 = AtomicU32::new(0);

/// A fresh scratch path under the system temporary directory.
pub fn scratch_path(stem: &str) -> PathBuf {
    let count = SCRATCH_COUNTER.fetch_add(1, Ordering::Relaxed);
    let directory = std::env::temp_dir().join(format!("ext2l-test-{}", std::process::id()));
    std::fs::create_dir_all(&directory).expect("scratch directory");
    directory.join(format!("{stem}-{count}"))
}

/// Runs `e2fsck -fn` on an image held in memory; returns (clean, output).
pub fn e2fsck(image: &[u8]) -> (bool, String) {
    let path = scratch_path("e2fsck.img");
    std::fs::write(&path, image).expect("write image");
    let output = Command::new("e2fsck")
        .arg("-fn")
        .arg(&path)
        .output()
        .expect("run e2fsck");
    let _ = std::fs::remove_file(&path);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// Asserts that our checker finds nothing.
pub fn assert_checker_clean<D: fs_ext2l::BlockDevice>(file_system: &mut FileSystem<D>) {
    let report = file_system.check().expect("check");
    assert!(
        report.is_clean(),
        "checker problems:\n{}",
        report
            .problems
            .iter()
            .map(|problem| problem.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// The inode at `path` (`/a/b`), found name by name from the root: plain
/// names only (no `.`, `..` or symbolic links; the system's path resolver
/// is `kernel_core`'s).
pub fn inode_at<D: fs_ext2l::BlockDevice>(
    file_system: &mut FileSystem<D>,
    path: &[u8],
) -> fs_ext2l::InodeNumber {
    let mut inode = file_system.root();
    for name in path
        .split(|&byte| byte == b'/')
        .filter(|name| !name.is_empty())
    {
        inode = file_system
            .lookup(inode, name)
            .unwrap_or_else(|error| panic!("{}: {error}", String::from_utf8_lossy(path)));
    }
    inode
}
