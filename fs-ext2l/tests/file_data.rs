// SPDX-License-Identifier: MIT OR Apache-2.0
//! File contents through the one block cache, against a model.
//!
//! Two files get random writes (small ones that stay in the cache, long
//! ones whose runs of whole blocks go straight to the device), truncations
//! and reads — whole-buffer reads and `read_pieces` into buffers cut at
//! random places, short ones through the cache and long ones that stream
//! their uncached runs — interleaved with syncs, dropping the clean
//! blocks, remounts, and two-phase write-backs whose completion comes
//! after further writes, with and without a journal. The cache is
//! small, so evictions happen all the time. Every read must return the model's bytes; at the end the
//! volume must be clean for our checker, and a remount must read back the
//! same files.
#![forbid(unsafe_code)]

mod common;

use common::*;
use fs_ext2l::{FileSystem, InodeNumber, MemoryDevice, MountOptions, WriteBack, STREAM_BYTES};
use proptest::prelude::*;

/// Large enough for long writes to stream past the cache.
const MAX_LENGTH: u32 = STREAM_BYTES as u32 * 2 + 5000;
const MAX_OFFSET: u32 = 1 << 20;

#[derive(Clone, Debug)]
enum Operation {
    Write(bool, u32, u32, u8),
    Read(bool, u32, u32),
    ReadPieces(bool, u32, u32, Vec<u16>),
    Truncate(bool, u32),
    Sync,
    DropClean,
    Remount,
    /// Take a write-back batch and write it; finished later.
    StartWriteBack,
    FinishWriteBack,
}

fn operation() -> impl Strategy<Value = Operation> {
    let file = any::<bool>();
    let offset = 0..MAX_OFFSET;
    // Lengths: mostly small, sometimes past the streaming threshold.
    let length = prop_oneof![3 => 0..9000u32, 2 => 0..MAX_LENGTH];
    prop_oneof![
        5 => (file, offset.clone(), length.clone(), any::<u8>())
            .prop_map(|(f, o, l, b)| Operation::Write(f, o, l, b)),
        3 => (file, offset.clone(), length.clone())
            .prop_map(|(f, o, l)| Operation::Read(f, o, l)),
        4 => (file, offset.clone(), length, proptest::collection::vec(1..20000u16, 0..40))
            .prop_map(|(f, o, l, p)| Operation::ReadPieces(f, o, l, p)),
        1 => (file, offset).prop_map(|(f, s)| Operation::Truncate(f, s)),
        1 => Just(Operation::Sync),
        1 => Just(Operation::DropClean),
        1 => Just(Operation::Remount),
        1 => Just(Operation::StartWriteBack),
        1 => Just(Operation::FinishWriteBack),
    ]
}

fn small_cache() -> MountOptions {
    MountOptions {
        cache_bytes: 48 * 1024,
        ..mount_options()
    }
}

fn expected(model: &[u8], offset: u32, length: u32) -> &[u8] {
    let start = (offset as usize).min(model.len());
    let end = (offset as usize + length as usize).min(model.len());
    &model[start..end]
}

fn run(block_size: u32, journal: bool, operations: Vec<Operation>) -> Result<(), TestCaseError> {
    let mut file_system = if journal {
        new_journaled_file_system(12 << 20, block_size, 256)
    } else {
        new_file_system(12 << 20, block_size, 256, false)
    };
    file_system = FileSystem::mount(file_system.unmount().unwrap(), small_cache()).unwrap();
    let root = file_system.root();
    let files: [InodeNumber; 2] = [
        file_system.create(root, b"one", 0o644, 0, 0).unwrap(),
        file_system.create(root, b"two", 0o644, 0, 0).unwrap(),
    ];
    let mut models: [Vec<u8>; 2] = [Vec::new(), Vec::new()];
    let mut pending: Option<(WriteBack, fs_ext2l::Result<()>)> = None;
    let mut stamp = 0u8;

    for operation in operations {
        match operation {
            Operation::Write(which, offset, length, seed) => {
                let index = usize::from(which);
                stamp = stamp.wrapping_add(1);
                let data: Vec<u8> = (0..length)
                    .map(|position| (position as u8).wrapping_mul(31) ^ seed ^ stamp)
                    .collect();
                let written = file_system
                    .write(files[index], u64::from(offset), &data)
                    .unwrap();
                prop_assert_eq!(written, data.len());
                let model = &mut models[index];
                if !data.is_empty() {
                    let end = offset as usize + data.len();
                    if model.len() < end {
                        model.resize(end, 0);
                    }
                    model[offset as usize..end].copy_from_slice(&data);
                }
            }
            Operation::Read(which, offset, length) => {
                let index = usize::from(which);
                let mut buffer = vec![0xEEu8; length as usize];
                let count = file_system
                    .read(files[index], u64::from(offset), &mut buffer)
                    .unwrap();
                prop_assert_eq!(&buffer[..count], expected(&models[index], offset, length));
            }
            Operation::ReadPieces(which, offset, length, cuts) => {
                let index = usize::from(which);
                let mut buffer = vec![0xEEu8; length as usize];
                // Cut the buffer into pieces at the given lengths.
                let mut pieces: Vec<&mut [u8]> = Vec::new();
                let mut rest: &mut [u8] = &mut buffer;
                for cut in cuts {
                    let cut = usize::from(cut).min(rest.len());
                    let (head, tail) = rest.split_at_mut(cut);
                    pieces.push(head);
                    rest = tail;
                }
                pieces.push(rest);
                let count = file_system
                    .read_pieces(files[index], u64::from(offset), &mut pieces)
                    .unwrap();
                prop_assert_eq!(&buffer[..count], expected(&models[index], offset, length));
            }
            Operation::Truncate(which, size) => {
                let index = usize::from(which);
                file_system.truncate(files[index], u64::from(size)).unwrap();
                models[index].resize(size as usize, 0);
            }
            Operation::Sync => file_system.sync().unwrap(),
            Operation::DropClean => {
                file_system.drop_clean_blocks(None);
            }
            Operation::Remount => {
                if let Some((batch, written)) = pending.take() {
                    file_system.finish_write_back(batch, written).unwrap();
                }
                let device = file_system.unmount().unwrap();
                file_system = FileSystem::mount(device, small_cache()).unwrap();
            }
            Operation::StartWriteBack => {
                if pending.is_none() {
                    let batch = file_system.begin_write_back();
                    let written = batch.write_to(file_system.device_mut());
                    pending = Some((batch, written));
                }
            }
            Operation::FinishWriteBack => {
                if let Some((batch, written)) = pending.take() {
                    file_system.finish_write_back(batch, written).unwrap();
                }
            }
        }
    }
    if let Some((batch, written)) = pending.take() {
        file_system.finish_write_back(batch, written).unwrap();
    }
    // Everything on the device: a fresh mount reads the model back.
    let device: MemoryDevice = file_system.unmount().unwrap();
    let mut file_system = FileSystem::mount(device, small_cache()).unwrap();
    assert_checker_clean(&mut file_system);
    for (index, file) in files.iter().enumerate() {
        let mut buffer = vec![0u8; models[index].len() + 10];
        let count = file_system.read(*file, 0, &mut buffer).unwrap();
        prop_assert_eq!(&buffer[..count], models[index].as_slice());
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn file_contents_survive_the_cache_with_4k_blocks(
        operations in proptest::collection::vec(operation(), 1..30)
    ) {
        run(4096, false, operations)?;
    }

    #[test]
    fn file_contents_survive_the_cache_with_1k_blocks(
        operations in proptest::collection::vec(operation(), 1..30)
    ) {
        run(1024, false, operations)?;
    }

    /// The same with a journal: the write-backs are commits, the
    /// metadata pinned until they finish.
    #[test]
    fn file_contents_survive_the_cache_with_a_journal(
        operations in proptest::collection::vec(operation(), 1..30)
    ) {
        run(1024, true, operations)?;
    }
}

#[test]
fn a_warm_reread_needs_no_device() {
    let mut file_system = new_file_system(4 << 20, 4096, 256, false);
    let root = file_system.root();
    let file = file_system.create(root, b"f", 0o644, 0, 0).unwrap();
    let data: Vec<u8> = (0..100_000u32).map(|value| value as u8).collect();
    file_system.write(file, 0, &data).unwrap();
    file_system.sync().unwrap();
    file_system.drop_clean_blocks(None);
    let mut buffer = vec![0u8; data.len()];
    file_system.read(file, 0, &mut buffer).unwrap();
    assert_eq!(buffer, data);
    // Spoil the device under the file system: a warm re-read does not see it.
    let image_length = file_system.device().as_bytes().len();
    *file_system.device_mut() = MemoryDevice::new(image_length);
    let mut again = vec![0u8; data.len()];
    file_system.read(file, 0, &mut again).unwrap();
    assert_eq!(again, data);
}

/// A memory device that counts the calls it gets.
struct CountingDevice {
    inner: MemoryDevice,
    single_reads: usize,
    vectored_reads: usize,
}

impl fs_ext2l::BlockDevice for CountingDevice {
    fn read_at(&mut self, offset: u64, buffer: &mut [u8]) -> Result<(), fs_ext2l::DeviceError> {
        self.single_reads += 1;
        self.inner.read_at(offset, buffer)
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<(), fs_ext2l::DeviceError> {
        self.inner.write_at(offset, data)
    }

    fn read_vectored(
        &mut self,
        requests: &mut [fs_ext2l::ReadRequest<'_>],
    ) -> Result<(), fs_ext2l::DeviceError> {
        self.vectored_reads += 1;
        for request in requests.iter_mut() {
            self.inner.read_at(request.offset, request.buffer)?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), fs_ext2l::DeviceError> {
        Ok(())
    }

    fn size(&mut self) -> Result<u64, fs_ext2l::DeviceError> {
        self.inner.size()
    }
}

#[test]
fn a_long_sequential_read_fetches_its_pointer_blocks_ahead() {
    let mut file_system = new_file_system(64 << 20, 4096, 256, false);
    let root = file_system.root();
    let file = file_system.create(root, b"big", 0o644, 0, 0).unwrap();
    let chunk: Vec<u8> = (0..1 << 20).map(|value: u32| (value % 251) as u8).collect();
    for mebibyte in 0..24u64 {
        file_system.write(file, mebibyte << 20, &chunk).unwrap();
    }
    let device = CountingDevice {
        inner: file_system.unmount().unwrap(),
        single_reads: 0,
        vectored_reads: 0,
    };
    let mut file_system = FileSystem::mount(device, mount_options()).unwrap();
    file_system.drop_clean_blocks(None);
    let before = file_system.device().single_reads;
    let mut buffer = vec![0u8; 512 << 10];
    let mut offset = 0u64;
    let mut calls = 0;
    loop {
        let count = file_system.read(file, offset, &mut buffer).unwrap();
        if count == 0 {
            break;
        }
        assert_eq!(
            &buffer[..count],
            &chunk[(offset as usize % (1 << 20))..][..count]
        );
        offset += count as u64;
        calls += 1;
    }
    assert_eq!(offset, 24 << 20);
    // One vectored call per read; alone, only the inode's block, the
    // first indirect block and the first block under the double
    // indirect one (its parent arrives ahead, not yet its child): the
    // other five indirect blocks came along with data.
    let device = file_system.device();
    assert_eq!(device.vectored_reads, calls);
    assert!(
        device.single_reads - before <= 3,
        "{} reads alone",
        device.single_reads - before
    );
}

#[test]
fn a_remembered_run_is_forgotten_when_the_file_moves() {
    let mut file_system = new_file_system(16 << 20, 4096, 256, false);
    let root = file_system.root();
    let first = file_system.create(root, b"a", 0o644, 0, 0).unwrap();
    let second = file_system.create(root, b"b", 0o644, 0, 0).unwrap();
    let old = vec![1u8; 1 << 20];
    let other = vec![2u8; 1 << 20];
    let new = vec![3u8; 1 << 20];
    file_system.write(first, 0, &old).unwrap();
    let mut buffer = vec![0u8; 1 << 20];
    file_system.read(first, 0, &mut buffer).unwrap();
    assert_eq!(buffer, old);
    // The file's blocks go to another file; the file gets new ones.
    file_system.truncate(first, 0).unwrap();
    file_system.write(second, 0, &other).unwrap();
    file_system.write(first, 0, &new).unwrap();
    // From where the remembered run (past the direct blocks) starts.
    let count = file_system.read(first, 64 << 10, &mut buffer).unwrap();
    assert_eq!(&buffer[..count], &new[64 << 10..]);
    file_system.read(first, 0, &mut buffer).unwrap();
    assert_eq!(buffer, new);
    file_system.read(second, 0, &mut buffer).unwrap();
    assert_eq!(buffer, other);
}
