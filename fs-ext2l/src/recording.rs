// SPDX-License-Identifier: MIT OR Apache-2.0
//! A block device that records what reaches it, and the crash states a
//! recording allows.
//!
//! [`RecordingDevice`] wraps a device and logs every accepted write and
//! every flush, in order, starting from a snapshot of the device's bytes.
//! [`crash_states`] then enumerates what the disk may hold if power is cut
//! at any moment of that history: a write is durable only once a later
//! flush completed, so a cut between flush *k* and flush *k + 1* leaves
//! everything before flush *k* plus **any subset** of the writes issued
//! since (applied in their order; a disk may persist them in any order,
//! and a later write of the same bytes wins only if it persisted too).
//! That is the contract of a volatile write cache, virtio-blk's with
//! `VIRTIO_BLK_F_FLUSH` included: killing an emulator never loses an
//! acknowledged write, so only this enumeration finds a missing barrier.
//!
//! Used by the crash tests (a workload runs on a recording device, then
//! every crash state is mounted, recovered and checked); kept in the
//! library, with no `std`, so any crate's tests can use it.

use alloc::vec::Vec;

use crate::device::{BlockDevice, MemoryDevice};
use crate::error::DeviceError;

/// One event the device saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    /// `data` was written at byte `offset` (accepted, maybe not durable).
    Write {
        /// Byte offset.
        offset: u64,
        /// The bytes.
        data: Vec<u8>,
    },
    /// Everything written before is durable.
    Flush,
}

/// A memory device that records its writes and flushes.
#[derive(Clone, Debug)]
pub struct RecordingDevice {
    device: MemoryDevice,
    start: Vec<u8>,
    log: Vec<Record>,
}

impl RecordingDevice {
    /// Starts recording on top of `device`'s current bytes.
    pub fn new(device: MemoryDevice) -> Self {
        let start = device.as_bytes().to_vec();
        RecordingDevice {
            device,
            start,
            log: Vec::new(),
        }
    }

    /// The bytes the device held when recording started.
    pub fn start(&self) -> &[u8] {
        &self.start
    }

    /// What happened since, in order.
    pub fn log(&self) -> &[Record] {
        &self.log
    }

    /// The device as it is now (every write applied).
    pub fn device(&self) -> &MemoryDevice {
        &self.device
    }

    /// Forgets the history: what the device holds now becomes the start.
    pub fn restart(&mut self) {
        self.start = self.device.as_bytes().to_vec();
        self.log.clear();
    }
}

impl BlockDevice for RecordingDevice {
    fn read_at(&mut self, offset: u64, buffer: &mut [u8]) -> Result<(), DeviceError> {
        self.device.read_at(offset, buffer)
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<(), DeviceError> {
        self.device.write_at(offset, data)?;
        self.log.push(Record::Write {
            offset,
            data: data.to_vec(),
        });
        Ok(())
    }

    fn flush(&mut self) -> Result<(), DeviceError> {
        self.device.flush()?;
        self.log.push(Record::Flush);
        Ok(())
    }

    fn size(&mut self) -> Result<u64, DeviceError> {
        self.device.size()
    }
}

/// One state a power cut may leave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CrashState {
    /// Flushes completed before the cut.
    pub flushes: usize,
    /// Which of the writes issued since the last completed flush reached
    /// the disk (indexes into that epoch's writes, ascending).
    pub persisted: Vec<usize>,
    /// The disk's bytes.
    pub bytes: Vec<u8>,
}

/// A small deterministic generator for sampling large subsets.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

fn apply(bytes: &mut [u8], offset: u64, data: &[u8]) {
    let Ok(start) = usize::try_from(offset) else {
        return;
    };
    if let Some(target) = start
        .checked_add(data.len())
        .and_then(|end| bytes.get_mut(start..end))
    {
        target.copy_from_slice(data);
    }
}

/// Every crash state `start` + `log` allows, epoch by epoch: for each
/// number of completed flushes, the subsets of the writes issued after
/// the last of them — all of them when there are at most
/// `exhaustive_writes`, otherwise none, each single write, every prefix,
/// every set but one, and `samples` random subsets (deterministic).
/// `visit` is called once per state; the count of states is returned.
pub fn crash_states(
    start: &[u8],
    log: &[Record],
    exhaustive_writes: usize,
    samples: usize,
    mut visit: impl FnMut(&CrashState),
) -> usize {
    let mut durable = start.to_vec();
    let mut epoch: Vec<(u64, &[u8])> = Vec::new();
    let mut flushes = 0;
    let mut count = 0;
    let mut random = SplitMix(0x5EED);
    let mut finish_epoch = |durable: &[u8], epoch: &[(u64, &[u8])], flushes: usize| -> usize {
        let n = epoch.len();
        let mut subsets: Vec<Vec<usize>> = Vec::new();
        if n <= exhaustive_writes.min(16) {
            for mask in 0u32..(1u32 << n) {
                subsets.push((0..n).filter(|&i| mask & (1 << i) != 0).collect());
            }
        } else {
            subsets.push(Vec::new());
            for i in 0..n {
                subsets.push(alloc::vec![i]);
                subsets.push((0..=i).collect());
                subsets.push((0..n).filter(|&j| j != i).collect());
            }
            for _ in 0..samples {
                subsets.push((0..n).filter(|_| random.next() & 1 == 1).collect());
            }
            subsets.sort();
            subsets.dedup();
        }
        let states = subsets.len();
        for persisted in subsets {
            let mut bytes = durable.to_vec();
            for &index in &persisted {
                let (offset, data) = epoch[index];
                apply(&mut bytes, offset, data);
            }
            visit(&CrashState {
                flushes,
                persisted,
                bytes,
            });
        }
        states
    };
    for record in log {
        match record {
            Record::Write { offset, data } => epoch.push((*offset, data)),
            Record::Flush => {
                count += finish_epoch(&durable, &epoch, flushes);
                for &(offset, data) in &epoch {
                    apply(&mut durable, offset, data);
                }
                epoch.clear();
                flushes += 1;
            }
        }
    }
    count += finish_epoch(&durable, &epoch, flushes);
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(start: &[u8], log: &[Record]) -> Vec<Vec<u8>> {
        let mut states = Vec::new();
        crash_states(start, log, 8, 4, |state| states.push(state.bytes.clone()));
        states
    }

    #[test]
    fn records_writes_and_flushes_in_order() {
        let mut device = RecordingDevice::new(MemoryDevice::new(4096));
        device.write_at(1024, &[1; 1024]).unwrap();
        device.flush().unwrap();
        device.write_at(2048, &[2; 1024]).unwrap();
        assert_eq!(device.log().len(), 3);
        assert_eq!(device.log()[1], Record::Flush);
        assert_eq!(device.start(), &[0u8; 4096][..]);
    }

    #[test]
    fn a_write_is_durable_only_after_a_flush() {
        let log = [
            Record::Write {
                offset: 0,
                data: alloc::vec![1],
            },
            Record::Write {
                offset: 1,
                data: alloc::vec![2],
            },
            Record::Flush,
            Record::Write {
                offset: 2,
                data: alloc::vec![3],
            },
        ];
        let states = written(&[0, 0, 0], &log);
        // Before the flush: any subset of the two writes; after it: both,
        // with or without the third.
        assert_eq!(
            states,
            [
                alloc::vec![0, 0, 0],
                alloc::vec![1, 0, 0],
                alloc::vec![0, 2, 0],
                alloc::vec![1, 2, 0],
                alloc::vec![1, 2, 0],
                alloc::vec![1, 2, 3],
            ]
        );
    }

    #[test]
    fn large_epochs_are_sampled_with_every_prefix_and_every_single_loss() {
        let log: Vec<Record> = (0..20u8)
            .map(|i| Record::Write {
                offset: u64::from(i),
                data: alloc::vec![i + 1],
            })
            .collect();
        let mut states = Vec::new();
        let count = crash_states(&[0; 20], &log, 8, 10, |state| {
            states.push(state.persisted.clone())
        });
        assert_eq!(count, states.len());
        assert!(states.contains(&(0..20).collect::<Vec<usize>>()));
        assert!(states.contains(&(0..7).collect::<Vec<usize>>()));
        assert!(states.contains(&(0..20).filter(|&i| i != 13).collect::<Vec<usize>>()));
        assert!(states.contains(&Vec::new()));
    }
}
