// SPDX-License-Identifier: MIT OR Apache-2.0
//! Growing a volume.
//!
//! - `mkfs` reserves descriptor blocks and lays out the resize inode as
//!   `mke2fs` does (same reserve, same `i_blocks` and `i_size`), and
//!   `e2fsck -fn` finds it clean.
//! - [`grow`] takes a volume 64-fold and 1000-fold: `e2fsck -fn` and our
//!   checker are clean, every file reads back, the new space is usable.
//! - A power cut after any write of a growth leaves the old size or the
//!   new one, both clean for our checker and for `e2fsck -fn`.
//! - Bad sizes are refused before anything is written.
#![forbid(unsafe_code)]

mod common;

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::process::Command;

use common::*;
use fs_ext2l::*;

/// A sparse host file as a block device, for volumes too big for memory.
struct SparseFile(File);

impl BlockDevice for SparseFile {
    fn read_at(&mut self, offset: u64, buffer: &mut [u8]) -> std::result::Result<(), DeviceError> {
        self.0
            .read_exact_at(buffer, offset)
            .map_err(|_| DeviceError::OutOfRange)
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> std::result::Result<(), DeviceError> {
        self.0
            .write_all_at(data, offset)
            .map_err(|_| DeviceError::OutOfRange)
    }

    fn flush(&mut self) -> std::result::Result<(), DeviceError> {
        Ok(())
    }

    fn size(&mut self) -> std::result::Result<u64, DeviceError> {
        self.0
            .metadata()
            .map(|metadata| metadata.len())
            .map_err(|_| DeviceError::OutOfRange)
    }
}

/// Output of an e2fsprogs tool run on `path`.
fn tool(program: &str, arguments: &[&str], path: &Path) -> String {
    let output = Command::new(program)
        .args(arguments)
        .arg(path)
        .output()
        .expect("run e2fsprogs tool");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The value after `label` on the line of `text` that has it.
fn field_after<'a>(text: &'a str, label: &str) -> &'a str {
    let start = text
        .find(label)
        .unwrap_or_else(|| panic!("{label} in {text}"))
        + label.len();
    text[start..].split_whitespace().next().unwrap_or("")
}

/// `e2fsck -fn` on a file; panics with its output unless clean.
fn assert_e2fsck_clean_file(path: &Path) {
    let output = Command::new("e2fsck")
        .arg("-fn")
        .arg(path)
        .output()
        .expect("run e2fsck");
    assert!(
        output.status.success(),
        "e2fsck:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn assert_e2fsck_clean(image: &[u8]) {
    let (clean, output) = e2fsck(image);
    assert!(clean, "e2fsck:\n{output}");
}

fn format_options(block_size: u32, journal_blocks: Option<u32>) -> FormatOptions {
    FormatOptions {
        block_size,
        inode_size: 256,
        ext2l: false,
        uuid: [9; 16],
        time: test_clock(),
        label: b"grow".to_vec(),
        journal_blocks,
        ..FormatOptions::default()
    }
}

/// Files written before a growth: (name, contents).
fn sample_files() -> Vec<(Vec<u8>, Vec<u8>)> {
    (0..12u32)
        .map(|index| {
            let name = format!("file-{index}").into_bytes();
            let length = 1000 + index as usize * 7919;
            let contents = (0..length)
                .map(|byte| (byte as u32).wrapping_mul(index + 3) as u8)
                .collect();
            (name, contents)
        })
        .collect()
}

fn write_files<D: BlockDevice>(file_system: &mut FileSystem<D>) {
    let directory = file_system
        .mkdir(InodeNumber::ROOT, b"kept", 0o755, 0, 0)
        .expect("mkdir");
    for (name, contents) in sample_files() {
        let file = file_system
            .create(directory, &name, 0o644, 0, 0)
            .expect("create");
        file_system.write(file, 0, &contents).expect("write");
    }
}

fn assert_files_intact<D: BlockDevice>(file_system: &mut FileSystem<D>) {
    let directory = file_system
        .lookup(InodeNumber::ROOT, b"kept")
        .expect("kept");
    for (name, contents) in sample_files() {
        let file = file_system.lookup(directory, &name).expect("lookup");
        let mut read = vec![0u8; contents.len() + 1];
        let length = file_system.read(file, 0, &mut read).expect("read");
        assert_eq!(&read[..length], &contents[..], "{name:?}");
    }
}

/// A formatted, unmounted volume of `size` bytes holding the sample files.
fn populated_image(size: usize, block_size: u32) -> Vec<u8> {
    let options = format_options(block_size, Some(1024));
    let mut file_system =
        format(MemoryDevice::new(size), &options, mount_options()).expect("format");
    write_files(&mut file_system);
    file_system.unmount().expect("unmount").into_bytes()
}

#[test]
fn mkfs_reserves_descriptor_blocks_as_mke2fs_does() {
    for (size, block_size) in [(64usize << 20, 1024u32), (256 << 20, 4096), (8 << 20, 2048)] {
        let options = format_options(block_size, None);
        let file_system =
            format(MemoryDevice::new(size), &options, mount_options()).expect("format");
        let ours = scratch_path("ours.img");
        std::fs::write(&ours, file_system.unmount().unwrap().into_bytes()).unwrap();
        assert_e2fsck_clean_file(&ours);

        let theirs = scratch_path("theirs.img");
        File::create(&theirs).unwrap().set_len(size as u64).unwrap();
        let status = Command::new("mke2fs")
            .args(["-q", "-F", "-t", "ext2", "-I", "256", "-b"])
            .arg(block_size.to_string())
            .arg(&theirs)
            .status()
            .expect("run mke2fs");
        assert!(status.success());

        let ours_header = tool("dumpe2fs", &["-h"], &ours);
        let theirs_header = tool("dumpe2fs", &["-h"], &theirs);
        assert_eq!(
            field_after(&ours_header, "Reserved GDT blocks:"),
            field_after(&theirs_header, "Reserved GDT blocks:"),
            "{size} bytes, {block_size}-byte blocks"
        );
        let ours_inode = tool("debugfs", &["-R", "stat <7>"], &ours);
        let theirs_inode = tool("debugfs", &["-R", "stat <7>"], &theirs);
        for label in ["Blockcount:", "Size:", "Mode:", "Links:"] {
            assert_eq!(
                field_after(&ours_inode, label),
                field_after(&theirs_inode, label),
                "{label} of the resize inode, {size} bytes, {block_size}-byte blocks"
            );
        }
        let _ = std::fs::remove_file(&ours);
        let _ = std::fs::remove_file(&theirs);
    }
}

/// Grows an in-memory image `factor`-fold and checks everything.
fn grow_in_memory(size: usize, block_size: u32, factor: usize) {
    let mut image = populated_image(size, block_size);
    image.resize(size * factor, 0);
    let (device, growth) = grow(
        MemoryDevice::from_bytes(image),
        (size * factor) as u64,
        mount_options(),
    )
    .expect("grow");
    assert!(growth.grew());
    assert!(
        growth.new_bytes() > (size * (factor - 1)) as u64,
        "{growth:?}"
    );
    assert_e2fsck_clean(device.as_bytes());
    let mut file_system = FileSystem::mount(device, mount_options()).expect("mount");
    assert_eq!(
        u64::from(file_system.superblock().blocks_count()) * u64::from(block_size),
        growth.new_bytes()
    );
    assert_checker_clean(&mut file_system);
    assert_files_intact(&mut file_system);
    // The new space is usable: a file larger than the old volume.
    let big = vec![0x5Au8; size + (size >> 1)];
    let file = file_system
        .create(InodeNumber::ROOT, b"big", 0o644, 0, 0)
        .expect("create");
    file_system
        .write(file, 0, &big)
        .expect("write into the new space");
    let device = file_system.unmount().expect("unmount");
    assert_e2fsck_clean(device.as_bytes());
}

#[test]
fn grows_64_fold_with_1_kib_blocks() {
    grow_in_memory(2 << 20, 1024, 64);
}

#[test]
fn grows_64_fold_with_4_kib_blocks_on_a_sparse_file() {
    grow_sparse_file(8 << 20, 4096, 64);
}

#[test]
fn grows_1000_fold_on_a_sparse_file() {
    grow_sparse_file(4 << 20, 1024, 1000);
}

/// Grows an image in a sparse host file `factor`-fold and checks
/// everything.
fn grow_sparse_file(size: usize, block_size: u32, factor: u64) {
    let path = scratch_path("sparse.img");
    std::fs::write(&path, populated_image(size, block_size)).unwrap();
    let file = File::options().read(true).write(true).open(&path).unwrap();
    file.set_len(size as u64 * factor).unwrap();
    let (device, growth) =
        grow(SparseFile(file), size as u64 * factor, mount_options()).expect("grow");
    assert!(
        growth.new_bytes() > size as u64 * (factor - 1),
        "{growth:?}"
    );
    drop(device);
    assert_e2fsck_clean_file(&path);
    let file = File::options().read(true).write(true).open(&path).unwrap();
    let mut file_system = FileSystem::mount(SparseFile(file), mount_options()).expect("mount");
    assert_eq!(file_system.superblock().blocks_count(), growth.new_blocks);
    assert_checker_clean(&mut file_system);
    assert_files_intact(&mut file_system);
    drop(file_system.unmount().expect("unmount"));
    let _ = std::fs::remove_file(&path);
}

#[test]
fn bad_sizes_are_refused() {
    let size = 2usize << 20;
    let image = populated_image(size, 1024);
    // Smaller than the volume.
    let device = MemoryDevice::from_bytes(image.clone());
    let result = grow(device, size as u64 / 2, mount_options());
    assert!(matches!(result, Err(Error::InvalidArgument)));
    // Larger than the device.
    let result = grow(
        MemoryDevice::from_bytes(image.clone()),
        size as u64 * 2,
        mount_options(),
    );
    assert!(matches!(result, Err(Error::InvalidArgument)));
    // Beyond what the reserved descriptor blocks allow.
    let mut device = MemoryDevice::from_bytes(image.clone());
    let limit = growth_limit(&mut device).expect("limit");
    assert!(limit >= size as u64 * 1000, "{limit}");
    let mut larger = image.clone();
    larger.resize(((limit >> 20) + 16) as usize * (1 << 20), 0);
    let length = larger.len() as u64;
    let device = MemoryDevice::from_bytes(larger);
    let result = grow(device, length, mount_options());
    assert!(matches!(result, Err(Error::NoSpace)), "{result:?}");
}

#[test]
fn a_power_cut_at_any_write_leaves_the_old_or_the_new_size() {
    let size = 2usize << 20;
    let factor = 12;
    let mut image = populated_image(size, 1024);
    image.resize(size * factor, 0);
    let old_blocks = (size / 1024) as u32;
    let recording = RecordingDevice::new(MemoryDevice::from_bytes(image));
    let (recording, growth) =
        grow(recording, (size * factor) as u64, mount_options()).expect("grow");
    assert!(growth.new_groups > growth.old_groups + 1);
    let mut seen_old = 0;
    let mut seen_new = 0;
    let mut index = 0;
    crash_states(recording.start(), recording.log(), 4, 8, |state| {
        index += 1;
        let device = MemoryDevice::from_bytes(state.bytes.clone());
        let mut file_system = FileSystem::mount(device, mount_options()).unwrap_or_else(|error| {
            panic!(
                "state {index} (flushes {}, persisted {:?}): mount: {error:?}",
                state.flushes, state.persisted
            )
        });
        let blocks = file_system.superblock().blocks_count();
        if blocks == old_blocks {
            seen_old += 1;
        } else {
            assert_eq!(blocks, growth.new_blocks, "state {index}");
            seen_new += 1;
        }
        assert_checker_clean(&mut file_system);
        assert_files_intact(&mut file_system);
        let device = file_system.unmount().expect("unmount");
        // e2fsck on a sample: every state is checked by our checker.
        if index % 7 == 0 {
            assert_e2fsck_clean(device.as_bytes());
        }
    });
    assert!(
        seen_old > 0 && seen_new > 0,
        "{seen_old} old, {seen_new} new"
    );
}
