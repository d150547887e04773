// SPDX-License-Identifier: MIT OR Apache-2.0
//! The journal in use, apart from crashes (`tests/crash.rs` has those):
//! the superblock's state bits, damage found while running, the check of
//! an unclean volume without a journal, what fsync writes and what is
//! pending, transactions committed early, and freed blocks waiting for
//! their commit.
#![forbid(unsafe_code)]

mod common;

use common::{assert_checker_clean, mount_options, new_file_system, test_clock};
use fs_ext2l::{
    format, BlockClass, Error, FileSystem, FormatOptions, InodeNumber, MemoryDevice, MountOptions,
    OnDamage, PendingBytes, STATE_ERRORS, STATE_VALID,
};

/// `s_state` as the device holds it.
fn state_on_disk(bytes: &[u8]) -> u16 {
    u16::from_le_bytes([bytes[1024 + 0x3A], bytes[1024 + 0x3B]])
}

/// Whether the device's superblock has `needs_recovery`.
fn needs_recovery_on_disk(bytes: &[u8]) -> bool {
    bytes[1024 + 0x60] & 0x4 != 0
}

/// A journaled volume of `size` bytes (1 KiB blocks, a journal of 1024
/// blocks), mounted with `options`.
fn journaled(size: usize, options: MountOptions) -> FileSystem<MemoryDevice> {
    let format_options = FormatOptions {
        block_size: 1024,
        inode_size: 256,
        ext2l: false,
        uuid: [4; 16],
        time: test_clock(),
        journal_blocks: Some(1024),
        ..FormatOptions::default()
    };
    format(MemoryDevice::new(size), &format_options, options).unwrap()
}

/// Byte offset of inode `inode`'s on-disk record (1 KiB blocks, 256-byte
/// inodes, one group).
fn inode_offset(bytes: &[u8], inode: InodeNumber) -> usize {
    let table = u32::from_le_bytes(bytes[2048 + 8..2048 + 12].try_into().unwrap()) as usize;
    table * 1024 + (inode.get() as usize - 1) * 256
}

#[test]
fn the_state_says_mounted_until_a_clean_unmount() {
    let mut file_system = journaled(4 << 20, mount_options());
    assert!(file_system.journal_in_use());
    let root = file_system.root();
    // Nothing changed yet: the volume on disk is still clean.
    let bytes = file_system.device().as_bytes();
    assert_eq!(state_on_disk(bytes) & STATE_VALID, STATE_VALID);
    assert!(!needs_recovery_on_disk(bytes));
    let file = file_system.create(root, b"file", 0o644, 0, 0).unwrap();
    file_system.write(file, 0, b"contents").unwrap();
    // Still nothing on disk before the commit.
    assert_eq!(
        state_on_disk(file_system.device().as_bytes()) & STATE_VALID,
        STATE_VALID
    );
    file_system.commit().unwrap();
    let bytes = file_system.device().as_bytes();
    assert_eq!(state_on_disk(bytes) & STATE_VALID, 0);
    assert!(needs_recovery_on_disk(bytes));
    let bytes = file_system.unmount().unwrap().into_bytes();
    assert_eq!(state_on_disk(&bytes), STATE_VALID);
    assert!(!needs_recovery_on_disk(&bytes));
    let mut device = MemoryDevice::from_bytes(bytes.clone());
    let status = fs_ext2l::journal::inspect(&mut device).unwrap().unwrap();
    assert!(status.superblock.is_empty());
    let (clean, output) = common::e2fsck(&bytes);
    assert!(clean, "{output}");
}

/// A journaled volume with `file` of 20 KiB whose single indirect
/// pointer (`i_block[12]`) points outside the volume; returns its bytes.
fn damaged_volume() -> (Vec<u8>, InodeNumber) {
    let mut file_system = journaled(4 << 20, mount_options());
    let root = file_system.root();
    let file = file_system.create(root, b"file", 0o644, 0, 0).unwrap();
    file_system.write(file, 0, &vec![3u8; 20 * 1024]).unwrap();
    let mut bytes = file_system.unmount().unwrap().into_bytes();
    let pointer = inode_offset(&bytes, file) + 0x28 + 12 * 4;
    bytes[pointer..pointer + 4].copy_from_slice(&0x00FF_FFF0u32.to_le_bytes());
    (bytes, file)
}

#[test]
fn damage_found_while_running_marks_the_volume_and_stops_writing() {
    let (bytes, file) = damaged_volume();
    let mut file_system =
        FileSystem::mount(MemoryDevice::from_bytes(bytes), mount_options()).unwrap();
    assert!(!file_system.is_read_only());
    let root = file_system.root();
    // A change waits in the running transaction when the damage is found.
    file_system.create(root, b"pending", 0o644, 0, 0).unwrap();
    let mut buffer = vec![0u8; 1024];
    assert!(matches!(
        file_system.read(file, 15 * 1024, &mut buffer),
        Err(Error::Corrupt(_))
    ));
    let damage = file_system.damage().expect("damage recorded");
    assert_eq!(damage.inode, file.get());
    assert!(file_system.read_only_reason().unwrap().contains("damage"));
    assert_eq!(
        file_system.create(root, b"more", 0o644, 0, 0),
        Err(Error::ReadOnly)
    );
    // The errors bit is on the disk; the pending change is not.
    let bytes = file_system.device().as_bytes();
    assert_eq!(state_on_disk(bytes) & STATE_ERRORS, STATE_ERRORS);
    assert!(file_system.pending_bytes().metadata > 0);
    assert_eq!(file_system.sync(), Err(Error::ReadOnly));
    let bytes = file_system.into_device().into_bytes();
    // The next mount is read-only until the volume is checked.
    let file_system =
        FileSystem::mount(MemoryDevice::from_bytes(bytes.clone()), mount_options()).unwrap();
    assert!(file_system.read_only_reason().unwrap().contains("errors"));
    let mut file_system = FileSystem::mount(
        MemoryDevice::from_bytes(bytes),
        MountOptions {
            read_only: true,
            ..mount_options()
        },
    )
    .unwrap();
    assert_eq!(file_system.lookup(root, b"pending"), Err(Error::NotFound));
}

#[test]
fn under_on_damage_continue_writing_goes_on() {
    let (bytes, file) = damaged_volume();
    let options = MountOptions {
        on_damage: OnDamage::Continue,
        ..mount_options()
    };
    let mut file_system = FileSystem::mount(MemoryDevice::from_bytes(bytes), options).unwrap();
    let mut buffer = vec![0u8; 1024];
    assert!(file_system.read(file, 15 * 1024, &mut buffer).is_err());
    assert!(file_system.damage().is_some());
    assert!(!file_system.is_read_only());
    let root = file_system.root();
    file_system.create(root, b"after", 0o644, 0, 0).unwrap();
    let bytes = file_system.unmount().unwrap().into_bytes();
    assert_eq!(state_on_disk(&bytes), STATE_VALID | STATE_ERRORS);
}

#[test]
fn an_unclean_volume_without_a_journal_is_checked_at_mount() {
    let mut file_system = new_file_system(2 << 20, 1024, 256, false);
    assert!(!file_system.journal_in_use());
    let root = file_system.root();
    let file = file_system.create(root, b"file", 0o644, 0, 0).unwrap();
    file_system.write(file, 0, &[1u8; 5000]).unwrap();
    file_system.sync().unwrap();
    let unclean = file_system.into_device().into_bytes();
    assert_eq!(state_on_disk(&unclean) & STATE_VALID, 0);
    // Consistent: checked, and writable.
    let file_system =
        FileSystem::mount(MemoryDevice::from_bytes(unclean.clone()), mount_options()).unwrap();
    assert!(!file_system.is_read_only());
    // A wrong free-block count: read-only, with the reason.
    let mut damaged = unclean;
    let count = u32::from_le_bytes(damaged[1024 + 0x0C..1024 + 0x10].try_into().unwrap());
    damaged[1024 + 0x0C..1024 + 0x10].copy_from_slice(&(count - 3).to_le_bytes());
    let file_system =
        FileSystem::mount(MemoryDevice::from_bytes(damaged.clone()), mount_options()).unwrap();
    assert!(file_system
        .read_only_reason()
        .unwrap()
        .contains("not cleanly unmounted"));
    // The same damage on a volume marked clean is not looked for.
    damaged[1024 + 0x3A] |= STATE_VALID as u8;
    let file_system =
        FileSystem::mount(MemoryDevice::from_bytes(damaged), mount_options()).unwrap();
    assert!(!file_system.is_read_only());
}

#[test]
fn fsync_writes_its_file_and_the_new_data_the_commit_needs_only() {
    let mut file_system = journaled(4 << 20, mount_options());
    let root = file_system.root();
    let block = u64::from(file_system.block_size());
    let a = file_system.create(root, b"a", 0o644, 0, 0).unwrap();
    let b = file_system.create(root, b"b", 0o644, 0, 0).unwrap();
    file_system.write(a, 0, &[1u8; 4096]).unwrap();
    file_system.write(b, 0, &[2u8; 4096]).unwrap();
    file_system.commit().unwrap();
    assert_eq!(file_system.pending_bytes(), PendingBytes::default());
    // Overwrites of both, and a new file whose blocks are new.
    file_system.write(a, 0, &[3u8; 100]).unwrap();
    file_system.write(b, 1024, &[4u8; 100]).unwrap();
    let c = file_system.create(root, b"c", 0o644, 0, 0).unwrap();
    file_system.write(c, 0, &[5u8; 2048]).unwrap();
    let pending = file_system.pending_bytes();
    assert_eq!(pending.data, 4 * block);
    assert!(pending.metadata > 0);
    file_system.fsync(a).unwrap();
    // b's overwrite waits; c's new blocks went with the commit (its
    // inode points at them now); every metadata change committed.
    assert_eq!(
        file_system.pending_bytes(),
        PendingBytes {
            data: block,
            metadata: 0
        }
    );
    assert_eq!(file_system.cache().dirty_count_of(BlockClass::Data), 1);
    file_system.sync().unwrap();
    assert_eq!(file_system.pending_bytes(), PendingBytes::default());
    // fsync of a directory commits its entries.
    file_system.mkdir(root, b"dir", 0o755, 0, 0).unwrap();
    file_system.fsync(root).unwrap();
    assert_eq!(file_system.pending_bytes(), PendingBytes::default());
    assert_eq!(file_system.fsync(InodeNumber(4000)), Err(Error::NotFound));
    let mut file_system = common::remount(file_system);
    assert_checker_clean(&mut file_system);
}

#[test]
fn big_transactions_commit_between_operations() {
    // A tiny cache: at most half of it may be pinned before a commit.
    let options = MountOptions {
        cache_bytes: 16 * 1024,
        ..mount_options()
    };
    let mut file_system = journaled(8 << 20, options);
    let capacity = file_system.cache().capacity();
    let before = file_system
        .journal_status()
        .unwrap()
        .unwrap()
        .superblock
        .first_sequence();
    let root = file_system.root();
    let mut most = 0;
    for index in 0..200u32 {
        let name = format!("directory-{index}");
        let directory = file_system
            .mkdir(root, name.as_bytes(), 0o755, 0, 0)
            .unwrap();
        let file = file_system.create(directory, b"file", 0o644, 0, 0).unwrap();
        file_system.write(file, 0, &[index as u8; 1500]).unwrap();
        most = most.max(file_system.cache().len());
    }
    assert!(
        most <= 2 * capacity,
        "{most} blocks held, capacity {capacity}"
    );
    // A write far longer than the cache goes in pieces, each committed.
    let big = file_system.create(root, b"big", 0o644, 0, 0).unwrap();
    let data: Vec<u8> = (0..3 << 20).map(|index: u32| (index % 251) as u8).collect();
    assert_eq!(file_system.write(big, 0, &data).unwrap(), data.len());
    most = most.max(file_system.cache().len());
    assert!(
        most <= 2 * capacity,
        "{most} blocks held, capacity {capacity}"
    );
    let after = file_system
        .journal_status()
        .unwrap()
        .unwrap()
        .superblock
        .first_sequence();
    assert!(after > before + 20, "{before} → {after}: commits");
    let mut file_system = common::remount(file_system);
    assert_checker_clean(&mut file_system);
    let big = file_system.lookup(root, b"big").unwrap();
    let mut read = vec![0u8; data.len()];
    assert_eq!(file_system.read(big, 0, &mut read).unwrap(), data.len());
    assert!(read == data);
}

#[test]
fn freed_blocks_wait_for_their_commit_and_a_full_volume_commits_for_them() {
    let mut file_system = journaled(3 << 20, mount_options());
    let root = file_system.root();
    let free = u64::from(file_system.info().free_blocks);
    // Most of the free space, committed.
    let length = ((free - 40) * 1024) as usize;
    let first = file_system.create(root, b"first", 0o644, 0, 0).unwrap();
    assert_eq!(
        file_system.write(first, 0, &vec![1u8; length]).unwrap(),
        length
    );
    file_system.commit().unwrap();
    let first_blocks = file_system.map_range(first, 0, length as u64).unwrap();
    // Removed and written again at once: the freed blocks cannot be
    // taken before the removal commits, so the write commits it first.
    file_system.unlink(root, b"first").unwrap();
    let second = file_system.create(root, b"second", 0o644, 0, 0).unwrap();
    let small = file_system.write(second, 0, &[2u8; 10 * 1024]).unwrap();
    assert_eq!(small, 10 * 1024);
    let second_blocks = file_system.map_range(second, 0, small as u64).unwrap();
    // Blocks other than the freed ones were free: taken first.
    for extent in &second_blocks {
        assert!(!first_blocks.contains(extent), "{extent:?}");
    }
    assert_eq!(
        file_system
            .write(second, small as u64, &vec![3u8; length])
            .unwrap(),
        length
    );
    let mut file_system = common::remount(file_system);
    assert_checker_clean(&mut file_system);
}

/// Regression (found by `tests/file_data.rs`): a
/// write-back finished after a later one had written newer descriptors
/// found the descriptors back at the bytes it wrote (two blocks taken,
/// two freed) and called them clean, so the newest never reached the
/// disk. Only the newest batch may call them clean now.
#[test]
fn an_old_write_back_finished_late_does_not_hide_newer_descriptors() {
    let mut file_system = new_file_system(12 << 20, 1024, 256, false);
    let root = file_system.root();
    let file = file_system.create(root, b"one", 0o644, 0, 0).unwrap();
    let old = file_system.begin_write_back();
    old.write_to(file_system.device_mut()).unwrap();
    // Two blocks taken (data and indirect), written back, then freed:
    // the counters are what the old batch wrote.
    file_system.write(file, 34 * 1024, b"x").unwrap();
    file_system.sync().unwrap();
    file_system.truncate(file, 0).unwrap();
    file_system.finish_write_back(old, Ok(())).unwrap();
    let mut file_system = common::remount(file_system);
    assert_checker_clean(&mut file_system);
}
