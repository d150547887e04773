// SPDX-License-Identifier: MIT OR Apache-2.0
//! The block cache against a model: random interleavings of reads, writes,
//! evictions, pins and two-phase write-backs (with blocks changed while a
//! batch is in flight), on a device that records every write.
//!
//! The model is the bytes every block must read as. Each write stores a
//! fresh number in the whole block, so a block's contents say which write
//! produced them. Checked after every operation: a read returns the
//! model's bytes (nothing lost, nothing stale); the cache holds at most
//! its capacity; a block pinned by a transaction not yet released is
//! never written to the device with contents produced after the pin.
//! At the end, once every pin is released and the cache flushed, the
//! device holds exactly the model.
//!
//! The host's contract for a batch (its writes reach the device before
//! any later device access) is modelled by the device itself: batches in
//! flight are written before it serves anything else.
#![forbid(unsafe_code)]

use std::collections::BTreeMap;

use fs_ext2l::{
    BlockCache, BlockClass, BlockDevice, DeviceError, DirtyBlocks, PinError, ReadRequest,
    TransactionId, WriteRequest,
};
use proptest::prelude::*;

const BLOCK_SIZE: usize = 64;
const BLOCKS: u32 = 40;
const CAPACITY: usize = 16;

/// A device that remembers which write produced each write it gets, and
/// writes in-flight batches before serving anything.
#[derive(Default)]
struct RecordingDevice {
    bytes: Vec<u8>,
    /// Batches taken and not yet written.
    in_flight: Vec<DirtyBlocks>,
    /// Batches written, waiting for `complete`.
    written: Vec<DirtyBlocks>,
    /// Every write: block, number of the write that made its contents.
    log: Vec<(u32, u64)>,
    /// Make the next access fail.
    fail_next: bool,
    /// Make the next write fail.
    fail_next_write: bool,
    /// Make every write fail (a device that no longer takes writes).
    writes_fail: bool,
}

fn stamp_of(block: &[u8]) -> u64 {
    u64::from_le_bytes(block[..8].try_into().unwrap())
}

fn stamped(stamp: u64) -> Vec<u8> {
    let mut block = vec![(stamp % 251) as u8; BLOCK_SIZE];
    block[..8].copy_from_slice(&stamp.to_le_bytes());
    block
}

impl RecordingDevice {
    fn new() -> Self {
        RecordingDevice {
            bytes: vec![0; BLOCKS as usize * BLOCK_SIZE],
            ..RecordingDevice::default()
        }
    }

    fn block(&self, block: u32) -> &[u8] {
        let start = block as usize * BLOCK_SIZE;
        &self.bytes[start..start + BLOCK_SIZE]
    }

    /// The host's side of the contract: batches first. A batch whose
    /// write fails is never completed (its blocks stay dirty).
    fn write_in_flight(&mut self) {
        for batch in std::mem::take(&mut self.in_flight) {
            if batch.write_to(self).is_ok() {
                self.written.push(batch);
            }
        }
    }

    fn store(&mut self, offset: u64, data: &[u8]) -> Result<(), DeviceError> {
        let start = offset as usize;
        let end = start
            .checked_add(data.len())
            .ok_or(DeviceError::OutOfRange)?;
        if end > self.bytes.len() {
            return Err(DeviceError::OutOfRange);
        }
        self.bytes[start..end].copy_from_slice(data);
        for (index, block) in data.chunks(BLOCK_SIZE).enumerate() {
            self.log
                .push(((start / BLOCK_SIZE + index) as u32, stamp_of(block)));
        }
        Ok(())
    }
}

impl BlockDevice for RecordingDevice {
    fn read_at(&mut self, offset: u64, buffer: &mut [u8]) -> Result<(), DeviceError> {
        if std::mem::take(&mut self.fail_next) {
            return Err(DeviceError::Failed { code: 5 });
        }
        self.write_in_flight();
        let start = offset as usize;
        let source = self
            .bytes
            .get(start..start + buffer.len())
            .ok_or(DeviceError::OutOfRange)?;
        buffer.copy_from_slice(source);
        Ok(())
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<(), DeviceError> {
        if std::mem::take(&mut self.fail_next)
            || std::mem::take(&mut self.fail_next_write)
            || self.writes_fail
        {
            return Err(DeviceError::Failed { code: 5 });
        }
        self.write_in_flight();
        self.store(offset, data)
    }

    fn read_vectored(&mut self, requests: &mut [ReadRequest<'_>]) -> Result<(), DeviceError> {
        for request in requests.iter_mut() {
            self.read_at(request.offset, request.buffer)?;
        }
        Ok(())
    }

    fn write_vectored(&mut self, requests: &[WriteRequest<'_>]) -> Result<(), DeviceError> {
        for request in requests {
            self.write_at(request.offset, request.data)?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), DeviceError> {
        Ok(())
    }

    fn size(&mut self) -> Result<u64, DeviceError> {
        Ok(self.bytes.len() as u64)
    }
}

#[derive(Clone, Debug)]
enum Operation {
    Read(u32, bool),
    Write(u32, bool),
    Overwrite(u32),
    Zeroed(u32),
    ReadRun(u32, u8),
    Forget(u32),
    /// A long write past the cache: the device, then `discard_range`.
    WritePast(u32, u8),
    WriteBackRange(u32, u8),
    Flush,
    /// Take a batch (it is in flight until the device's next access or
    /// `Land`).
    Take(Option<bool>),
    /// Write the batches in flight.
    Land,
    /// Complete the written batches.
    Complete,
    Pin(u32),
    /// Release the oldest open transaction.
    Release,
    /// Start a new transaction for later pins.
    NextTransaction,
    DropClean(Option<bool>),
    /// The next device access fails.
    Fail,
}

fn operation() -> impl Strategy<Value = Operation> {
    let block = 0..BLOCKS;
    prop_oneof![
        6 => (block.clone(), any::<bool>()).prop_map(|(b, m)| Operation::Read(b, m)),
        6 => (block.clone(), any::<bool>()).prop_map(|(b, m)| Operation::Write(b, m)),
        2 => block.clone().prop_map(Operation::Overwrite),
        1 => block.clone().prop_map(Operation::Zeroed),
        2 => (block.clone(), 1..12u8).prop_map(|(b, c)| Operation::ReadRun(b, c)),
        1 => block.clone().prop_map(Operation::Forget),
        1 => (block.clone(), 1..8u8).prop_map(|(b, c)| Operation::WritePast(b, c)),
        1 => (block.clone(), 1..12u8).prop_map(|(b, c)| Operation::WriteBackRange(b, c)),
        1 => Just(Operation::Flush),
        2 => proptest::option::of(any::<bool>()).prop_map(Operation::Take),
        1 => Just(Operation::Land),
        2 => Just(Operation::Complete),
        3 => block.prop_map(Operation::Pin),
        1 => Just(Operation::Release),
        1 => Just(Operation::NextTransaction),
        1 => proptest::option::of(any::<bool>()).prop_map(Operation::DropClean),
        1 => Just(Operation::Fail),
    ]
}

fn class(metadata: bool) -> BlockClass {
    if metadata {
        BlockClass::Metadata
    } else {
        BlockClass::Data
    }
}

/// The model: what each block must read as (`None`: freed, anything
/// goes until it is read or written again).
struct Model {
    blocks: Vec<Option<u64>>,
    next_stamp: u64,
    /// Pinned blocks: the transaction and the last stamp before the pin.
    pins: BTreeMap<u32, (u64, u64)>,
    /// The oldest transaction not released, and the newest started.
    oldest: u64,
    newest: u64,
}

impl Model {
    fn stamp(&mut self) -> u64 {
        self.next_stamp += 1;
        self.next_stamp
    }
}

fn run(operations: Vec<Operation>) -> Result<(), TestCaseError> {
    let mut device = RecordingDevice::new();
    // Every block starts with a distinct stamp on the device.
    let mut model = Model {
        blocks: Vec::new(),
        next_stamp: 0,
        pins: BTreeMap::new(),
        oldest: 1,
        newest: 1,
    };
    for block in 0..BLOCKS {
        let stamp = model.stamp();
        device
            .store(u64::from(block) * BLOCK_SIZE as u64, &stamped(stamp))
            .expect("initial contents");
        model.blocks.push(Some(stamp));
    }
    device.log.clear();
    let mut cache = BlockCache::new(BLOCK_SIZE, CAPACITY);
    let mut checked_log = 0;

    for operation in operations {
        match operation {
            Operation::Read(block, metadata) => {
                if let Ok(data) = cache.read(&mut device, block, class(metadata)) {
                    let seen = stamp_of(data);
                    match model.blocks[block as usize] {
                        Some(stamp) => prop_assert_eq!(seen, stamp, "read {}", block),
                        None => model.blocks[block as usize] = Some(seen),
                    }
                }
            }
            Operation::Write(block, metadata) => {
                let stamp = model.stamp();
                if let Ok(data) = cache.write(&mut device, block, class(metadata)) {
                    data.copy_from_slice(&stamped(stamp));
                    model.blocks[block as usize] = Some(stamp);
                }
            }
            Operation::Overwrite(block) => {
                let stamp = model.stamp();
                if cache
                    .overwrite(&mut device, block, BlockClass::Data, &stamped(stamp))
                    .is_ok()
                {
                    model.blocks[block as usize] = Some(stamp);
                }
            }
            Operation::Zeroed(block) => {
                if cache
                    .zeroed(&mut device, block, BlockClass::Metadata)
                    .is_ok()
                {
                    model.blocks[block as usize] = Some(0);
                }
            }
            Operation::ReadRun(first, count) => {
                let count = (count as u32).min(BLOCKS - first) as usize;
                if let Ok(buffers) = cache.read_run(&mut device, first, count, BlockClass::Data) {
                    prop_assert_eq!(buffers.len(), count);
                    for (index, buffer) in buffers.iter().enumerate() {
                        let block = first as usize + index;
                        let seen = stamp_of(buffer);
                        match model.blocks[block] {
                            Some(stamp) => prop_assert_eq!(seen, stamp, "run {}", block),
                            None => model.blocks[block] = Some(seen),
                        }
                    }
                }
            }
            Operation::Forget(block) => {
                if model.pins.contains_key(&block) {
                    continue;
                }
                cache.forget(block);
                model.blocks[block as usize] = None;
            }
            Operation::WritePast(first, count) => {
                let count = (count as u32).min(BLOCKS - first);
                if (first..first + count).any(|block| model.pins.contains_key(&block)) {
                    continue;
                }
                let mut bytes = Vec::new();
                let mut stamps = Vec::new();
                for _ in 0..count {
                    let stamp = model.stamp();
                    bytes.extend(stamped(stamp));
                    stamps.push(stamp);
                }
                if device
                    .write_at(u64::from(first) * BLOCK_SIZE as u64, &bytes)
                    .is_ok()
                {
                    cache.discard_range(first, u64::from(count));
                    for (index, stamp) in stamps.into_iter().enumerate() {
                        model.blocks[first as usize + index] = Some(stamp);
                    }
                }
            }
            Operation::WriteBackRange(first, count) => {
                let _ = cache.write_back_range(&mut device, first, u64::from(count));
            }
            Operation::Flush => {
                let _ = cache.flush(&mut device);
            }
            Operation::Take(only) => {
                let batch = cache.take_dirty(only.map(class));
                for (block, _) in batch.blocks() {
                    prop_assert!(!model.pins.contains_key(&block), "took pinned {}", block);
                }
                device.in_flight.push(batch);
            }
            Operation::Land => device.write_in_flight(),
            Operation::Complete => {
                for batch in std::mem::take(&mut device.written) {
                    cache.complete(&batch);
                }
            }
            Operation::Pin(block) => {
                let transaction = TransactionId(model.newest);
                match cache.pin(block, transaction) {
                    Ok(()) => {
                        prop_assert!(cache.contains(block));
                        // Contents made after the first pin wait for the
                        // newest transaction's release.
                        let last = model.next_stamp;
                        let entry = model.pins.entry(block).or_insert((transaction.0, last));
                        entry.0 = entry.0.max(transaction.0);
                    }
                    Err(PinError::NotCached) => prop_assert!(!cache.contains(block)),
                    Err(PinError::TooManyPinned) => {
                        prop_assert!(cache.pinned_count() >= CAPACITY / 2)
                    }
                }
            }
            Operation::Release => {
                let through = model.oldest;
                let expected = model
                    .pins
                    .values()
                    .filter(|(transaction, _)| *transaction <= through)
                    .count();
                prop_assert_eq!(cache.release(TransactionId(through)), expected);
                model
                    .pins
                    .retain(|_, (transaction, _)| *transaction > through);
                model.oldest = (through + 1).min(model.newest);
            }
            Operation::NextTransaction => model.newest += 1,
            Operation::DropClean(only) => {
                cache.drop_clean(only.map(class));
            }
            Operation::Fail => device.fail_next = true,
        }
        // One block more only while every held block is dirty and the
        // write-back to make room failed (a read is served all the same).
        prop_assert!(
            cache.len() <= CAPACITY
                || (cache.len() == CAPACITY + 1 && cache.dirty_count() >= CAPACITY),
            "cache over capacity"
        );
        prop_assert!(cache.pinned_count() <= CAPACITY / 2);
        for (block, (_, last)) in &model.pins {
            prop_assert!(cache.pinned_by(*block).is_some(), "{} lost its pin", block);
            prop_assert!(cache.is_dirty(*block));
            // Nothing made after the pin reached the device.
            for &(written, stamp) in &device.log[checked_log..] {
                prop_assert!(
                    written != *block || stamp <= *last,
                    "pinned {} written with {} (pinned after {})",
                    block,
                    stamp,
                    last
                );
            }
        }
        checked_log = device.log.len();
    }

    // Release everything, write everything back: the device is the model.
    device.fail_next = false;
    cache.release(TransactionId(u64::MAX));
    device.write_in_flight();
    for batch in std::mem::take(&mut device.written) {
        cache.complete(&batch);
    }
    cache
        .flush(&mut device)
        .map_err(|error| TestCaseError::fail(format!("final flush: {error}")))?;
    prop_assert_eq!(cache.dirty_count(), 0);
    for block in 0..BLOCKS {
        if let Some(stamp) = model.blocks[block as usize] {
            prop_assert_eq!(stamp_of(device.block(block)), stamp, "block {}", block);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn the_cache_never_loses_or_leaks_a_write(
        operations in proptest::collection::vec(operation(), 1..160)
    ) {
        run(operations)?;
    }
}

#[test]
fn a_block_changed_during_its_write_back_stays_dirty() {
    let mut device = RecordingDevice::new();
    let mut cache = BlockCache::new(BLOCK_SIZE, CAPACITY);
    cache
        .write(&mut device, 3, BlockClass::Data)
        .unwrap()
        .copy_from_slice(&stamped(100));
    let batch = cache.take_dirty(None);
    cache
        .write(&mut device, 3, BlockClass::Data)
        .unwrap()
        .copy_from_slice(&stamped(101));
    // The batch's bytes did not change under it.
    assert_eq!(stamp_of(batch.contents(3).unwrap()), 100);
    batch.write_to(&mut device).unwrap();
    cache.complete(&batch);
    assert!(cache.is_dirty(3));
    assert_eq!(stamp_of(device.block(3)), 100);
    cache.flush(&mut device).unwrap();
    assert!(!cache.is_dirty(3));
    assert_eq!(stamp_of(device.block(3)), 101);
}

#[test]
fn eviction_writes_dirty_neighbours_in_one_call_and_never_a_pinned_block() {
    let mut device = RecordingDevice::new();
    let mut cache = BlockCache::new(BLOCK_SIZE, CAPACITY);
    for block in 0..8 {
        cache
            .write(&mut device, block, BlockClass::Data)
            .unwrap()
            .copy_from_slice(&stamped(1000 + u64::from(block)));
    }
    cache.pin(4, TransactionId(1)).unwrap();
    // Fill the cache with clean blocks until every unpinned dirty one went.
    for block in 8..8 + CAPACITY as u32 {
        cache
            .read(&mut device, block % BLOCKS, BlockClass::Metadata)
            .unwrap();
    }
    assert!(cache.contains(4) && cache.is_dirty(4));
    let written: Vec<u32> = device.log.iter().map(|(block, _)| *block).collect();
    assert!(!written.contains(&4));
    for block in [0, 1, 2, 3, 5, 6, 7] {
        assert!(written.contains(&block), "{block} not written");
    }
    assert!(cache.len() <= CAPACITY);
    assert_eq!(cache.release(TransactionId(1)), 1);
    cache.flush(&mut device).unwrap();
    assert_eq!(stamp_of(device.block(4)), 1004);
}

#[test]
fn at_most_half_the_cache_can_be_pinned() {
    let mut device = RecordingDevice::new();
    let mut cache = BlockCache::new(BLOCK_SIZE, CAPACITY);
    assert_eq!(cache.pin(0, TransactionId(1)), Err(PinError::NotCached));
    for block in 0..CAPACITY as u32 / 2 {
        cache
            .write(&mut device, block, BlockClass::Metadata)
            .unwrap();
        cache.pin(block, TransactionId(1)).unwrap();
    }
    cache.read(&mut device, 20, BlockClass::Metadata).unwrap();
    assert_eq!(
        cache.pin(20, TransactionId(2)),
        Err(PinError::TooManyPinned)
    );
    // A block already pinned can move to a newer transaction.
    cache.pin(0, TransactionId(2)).unwrap();
    assert_eq!(cache.release(TransactionId(1)), CAPACITY / 2 - 1);
    assert_eq!(cache.pinned_by(0), Some(TransactionId(2)));
    assert_eq!(cache.release(TransactionId(2)), 1);
    assert_eq!(cache.pinned_count(), 0);
}

#[test]
fn a_failed_eviction_loses_nothing() {
    let mut device = RecordingDevice::new();
    let mut cache = BlockCache::new(BLOCK_SIZE, CAPACITY);
    for block in 0..CAPACITY as u32 {
        cache
            .write(&mut device, block, BlockClass::Data)
            .unwrap()
            .copy_from_slice(&stamped(500 + u64::from(block)));
    }
    // The read itself fails; then the read works, but writing back the
    // victim to make room fails: the block is read all the same, nothing
    // dirty is dropped. A block to change is refused instead.
    device.fail_next = true;
    assert!(cache.read(&mut device, 30, BlockClass::Data).is_err());
    device.fail_next_write = true;
    assert_eq!(
        stamp_of(cache.read(&mut device, 30, BlockClass::Data).unwrap()),
        stamp_of(device.block(30))
    );
    assert_eq!(cache.dirty_count(), CAPACITY);
    device.fail_next_write = true;
    assert!(cache.write(&mut device, 31, BlockClass::Data).is_err());
    assert!(!cache.contains(31));
    assert_eq!(cache.dirty_count(), CAPACITY);
    cache.flush(&mut device).unwrap();
    for block in 0..CAPACITY as u32 {
        assert_eq!(stamp_of(device.block(block)), 500 + u64::from(block));
    }
}

#[test]
fn a_device_that_takes_no_writes_still_serves_reads() {
    let mut device = RecordingDevice::new();
    for block in 0..BLOCKS {
        device
            .store(
                u64::from(block) * BLOCK_SIZE as u64,
                &stamped(u64::from(block)),
            )
            .unwrap();
    }
    let mut cache = BlockCache::new(BLOCK_SIZE, CAPACITY);
    device.writes_fail = true;
    // A cache full of blocks that cannot be written...
    for block in 0..CAPACITY as u32 {
        cache
            .write(&mut device, block, BlockClass::Data)
            .unwrap()
            .copy_from_slice(&stamped(900 + u64::from(block)));
    }
    // ...still reads every other block, again and again, within one
    // block more than its capacity...
    for _ in 0..3 {
        for block in CAPACITY as u32..BLOCKS {
            let data = cache.read(&mut device, block, BlockClass::Data).unwrap();
            assert_eq!(stamp_of(data), u64::from(block));
            assert!(cache.len() <= CAPACITY + 1);
        }
    }
    // ...changes the blocks it holds, and refuses new ones.
    cache
        .write(&mut device, 3, BlockClass::Data)
        .unwrap()
        .copy_from_slice(&stamped(1003));
    let (first_free, second_free) = (CAPACITY as u32, CAPACITY as u32 + 1);
    assert!(!cache.contains(first_free) && !cache.contains(second_free));
    assert!(cache
        .write(&mut device, first_free, BlockClass::Data)
        .is_err());
    assert!(cache
        .zeroed(&mut device, second_free, BlockClass::Data)
        .is_err());
    assert!(cache.flush(&mut device).is_err());
    // Once the device takes writes again, nothing was lost.
    device.writes_fail = false;
    cache.flush(&mut device).unwrap();
    for block in 0..CAPACITY as u32 {
        let expected = if block == 3 {
            1003
        } else {
            900 + u64::from(block)
        };
        assert_eq!(stamp_of(device.block(block)), expected);
    }
}

#[test]
fn the_least_recently_used_block_goes_first() {
    let mut device = RecordingDevice::new();
    let mut cache = BlockCache::new(BLOCK_SIZE, CAPACITY);
    for block in 0..CAPACITY as u32 {
        cache.read(&mut device, block, BlockClass::Data).unwrap();
    }
    // Block 0 used again: block 1 is now the oldest.
    cache.read(&mut device, 0, BlockClass::Data).unwrap();
    cache.read(&mut device, 30, BlockClass::Data).unwrap();
    assert!(cache.contains(0));
    assert!(!cache.contains(1));
    cache.read(&mut device, 31, BlockClass::Data).unwrap();
    assert!(!cache.contains(2));
    assert!(cache.contains(0) && cache.contains(30));
}
