// SPDX-License-Identifier: MIT OR Apache-2.0
//! Crashes in the middle of the journal writer, replayed.
//!
//! A property test: random transactions (home blocks with random contents,
//! some starting with the JBD2 magic so they are escaped, some revoke
//! records) are committed by [`Journal`] into a small log that wraps
//! around, with checkpoints now and then that write home blocks and move
//! the tail. Every write is recorded. The device is then cut after a
//! random number of writes — the write in flight torn at a random sector —
//! and, for formats with checksums, one random byte of the log is flipped.
//! Recovery of that device must replay exactly the committed transactions
//! still in the log, minus any the flip damaged and all after it: the home
//! blocks must equal the home blocks at the cut with those transactions
//! applied in order, revokes honoured. Also: hostile logs never panic and
//! end within the journal's size.
#![forbid(unsafe_code)]

use fs_ext2l::journal::{
    replay_log, scan_log, CommitTime, Journal, JournalCompatibleFeatures,
    JournalIncompatibleFeatures, JournalMap, JournalSuperblock, LogEnd, JOURNAL_MAGIC,
};
use fs_ext2l::{BlockDevice, DeviceError, MemoryDevice};
use proptest::prelude::*;

/// Bytes per block.
const BLOCK: usize = 1024;
/// Home blocks `0..HOME_BLOCKS`; the journal follows them.
const HOME_BLOCKS: u64 = 32;
/// Journal blocks (superblock included): small, so the log wraps.
const JOURNAL_BLOCKS: u32 = 48;

/// A device that records every write.
struct RecordingDevice {
    inner: MemoryDevice,
    writes: Vec<(u64, Vec<u8>)>,
}

impl BlockDevice for RecordingDevice {
    fn read_at(&mut self, offset: u64, buffer: &mut [u8]) -> Result<(), DeviceError> {
        self.inner.read_at(offset, buffer)
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<(), DeviceError> {
        self.writes.push((offset, data.to_vec()));
        self.inner.write_at(offset, data)
    }

    fn flush(&mut self) -> Result<(), DeviceError> {
        Ok(())
    }

    fn size(&mut self) -> Result<u64, DeviceError> {
        self.inner.size()
    }
}

/// One transaction of the workload.
#[derive(Clone, Debug)]
struct Planned {
    /// (home block, fill byte, starts with the magic).
    blocks: Vec<(u64, u8, bool)>,
    revoked: Vec<u64>,
    /// Checkpoint every live transaction after this one.
    checkpoint_after: bool,
}

impl Planned {
    fn contents(&self) -> Vec<(u64, Vec<u8>)> {
        self.blocks
            .iter()
            .map(|&(home, fill, magic)| {
                let mut bytes = vec![fill; BLOCK];
                bytes[BLOCK - 1] = home as u8;
                if magic {
                    bytes[..4].copy_from_slice(&JOURNAL_MAGIC.to_be_bytes());
                }
                (home, bytes)
            })
            .collect()
    }
}

fn planned_strategy() -> impl Strategy<Value = Planned> {
    (
        prop::collection::btree_map(
            0..HOME_BLOCKS,
            (any::<u8>(), prop::bool::weighted(0.2)),
            1..6,
        ),
        prop::collection::btree_set(0..HOME_BLOCKS, 0..3),
        prop::bool::weighted(0.3),
    )
        .prop_map(|(blocks, revoked, checkpoint_after)| Planned {
            revoked: revoked
                .into_iter()
                .filter(|home| !blocks.contains_key(home))
                .collect(),
            blocks: blocks
                .into_iter()
                .map(|(home, (fill, magic))| (home, fill, magic))
                .collect(),
            checkpoint_after,
        })
}

/// The journal superblock of format `index`: v3 (ours), v2, none, v1.
fn superblock_of(index: usize) -> JournalSuperblock {
    let (compatible, incompatible) = match index {
        0 => (
            JournalCompatibleFeatures::empty(),
            JournalIncompatibleFeatures::REVOKE | JournalIncompatibleFeatures::CHECKSUM_V3,
        ),
        1 => (
            JournalCompatibleFeatures::empty(),
            JournalIncompatibleFeatures::REVOKE | JournalIncompatibleFeatures::CHECKSUM_V2,
        ),
        2 => (
            JournalCompatibleFeatures::empty(),
            JournalIncompatibleFeatures::REVOKE,
        ),
        _ => (
            JournalCompatibleFeatures::CHECKSUM,
            JournalIncompatibleFeatures::REVOKE,
        ),
    };
    JournalSuperblock::with_features(
        BLOCK as u32,
        JOURNAL_BLOCKS,
        [0x5A; 16],
        compatible,
        incompatible,
    )
    .unwrap()
}

/// Whether format `index` checksums every byte of every log block.
fn detects_every_flip(index: usize) -> bool {
    index <= 1
}

/// A committed transaction: its sequence, log extent, contents, and the
/// index of its commit block's write.
struct Committed {
    sequence: u32,
    first_log_block: u32,
    log_blocks: u32,
    blocks: Vec<(u64, Vec<u8>)>,
    revoked: Vec<u64>,
    commit_write: usize,
}

fn journal_map() -> JournalMap {
    JournalMap::contiguous(HOME_BLOCKS as u32, JOURNAL_BLOCKS, BLOCK as u32)
}

/// Runs the workload; returns the initial image, the recording device and
/// what committed.
fn run_workload(format: usize, plan: &[Planned]) -> (Vec<u8>, RecordingDevice, Vec<Committed>) {
    let total_blocks = HOME_BLOCKS as usize + JOURNAL_BLOCKS as usize;
    let mut initial = MemoryDevice::new(total_blocks * BLOCK);
    for home in 0..HOME_BLOCKS {
        initial
            .write_at(home * BLOCK as u64, &vec![0xEE ^ home as u8; BLOCK])
            .unwrap();
    }
    initial
        .write_at(
            HOME_BLOCKS * BLOCK as u64,
            &superblock_of(format).to_block(),
        )
        .unwrap();
    let initial_bytes = initial.as_bytes().to_vec();
    let mut device = RecordingDevice {
        inner: initial,
        writes: Vec::new(),
    };
    let mut journal = Journal::open(&mut device, journal_map()).unwrap();
    let mut committed: Vec<Committed> = Vec::new();
    for (index, planned) in plan.iter().enumerate() {
        let contents = planned.contents();
        let blocks: Vec<(u64, &[u8])> = contents
            .iter()
            .map(|(home, bytes)| (*home, bytes.as_slice()))
            .collect();
        let time = CommitTime {
            seconds: 1_700_000_000 + index as u64,
            nanoseconds: 0,
        };
        let mut result = journal.commit(&mut device, &blocks, &planned.revoked, time);
        if result == Err(fs_ext2l::Error::NoSpace) {
            // Full: checkpoint everything, then it fits.
            checkpoint_all(&mut journal, &mut device, &committed);
            result = journal.commit(&mut device, &blocks, &planned.revoked, time);
        }
        let sequence = result.unwrap();
        let live = *journal.live_transactions().last().unwrap();
        committed.push(Committed {
            sequence,
            first_log_block: live.first_log_block,
            log_blocks: live.log_blocks,
            blocks: contents,
            revoked: planned.revoked.clone(),
            commit_write: device.writes.len() - 1,
        });
        if planned.checkpoint_after {
            checkpoint_all(&mut journal, &mut device, &committed);
        }
    }
    (initial_bytes, device, committed)
}

/// Writes home every live transaction's blocks, then releases them.
fn checkpoint_all(journal: &mut Journal, device: &mut RecordingDevice, committed: &[Committed]) {
    let live: Vec<u32> = journal
        .live_transactions()
        .map(|transaction| transaction.sequence)
        .collect();
    let Some(&last) = live.last() else {
        return;
    };
    for transaction in committed
        .iter()
        .filter(|transaction| live.contains(&transaction.sequence))
    {
        for (home, bytes) in &transaction.blocks {
            device.write_at(home * BLOCK as u64, bytes).unwrap();
        }
    }
    journal.checkpointed(device, last).unwrap();
}

/// The home blocks of `image`.
fn home_blocks(image: &[u8]) -> Vec<Vec<u8>> {
    (0..HOME_BLOCKS as usize)
        .map(|block| image[block * BLOCK..(block + 1) * BLOCK].to_vec())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn replay_yields_exactly_the_committed_prefix(
        format in 0usize..4,
        plan in prop::collection::vec(planned_strategy(), 1..14),
        cut_fraction in 0.0f64..=1.0,
        tear_sectors in 0usize..3,
        flip in prop::option::weighted(0.5, (1u32..JOURNAL_BLOCKS, 0usize..BLOCK, 1u8..=255)),
    ) {
        let (initial, device, committed) = run_workload(format, &plan);
        let writes = &device.writes;
        let cut = ((writes.len() as f64) * cut_fraction) as usize;
        let journal_start = HOME_BLOCKS * BLOCK as u64;
        // The image at the cut: the writes before it, the one in flight
        // torn after `tear_sectors` sectors (never the superblock, which
        // fits the device's atomic unit here).
        let mut image = initial.clone();
        let mut completed = cut;
        for (offset, data) in &writes[..cut] {
            image[*offset as usize..*offset as usize + data.len()].copy_from_slice(data);
        }
        if let Some((offset, data)) = writes.get(cut) {
            if *offset != journal_start && tear_sectors > 0 {
                let torn = (tear_sectors * 512).min(data.len());
                image[*offset as usize..*offset as usize + torn].copy_from_slice(&data[..torn]);
                // A torn write that leaves exactly the new bytes is whole;
                // without block checksums, a commit block is read from its
                // first sector only, so one sector of it commits.
                let whole = image[*offset as usize..*offset as usize + data.len()] == data[..];
                let commit = committed.iter().any(|transaction| transaction.commit_write == cut);
                if whole || (commit && !detects_every_flip(format)) {
                    completed = cut + 1;
                }
            }
        }
        let superblock = JournalSuperblock::parse(&image[journal_start as usize..]).unwrap();
        // What recovery must replay: transactions whose commit block is on
        // disk, at or after the on-disk tail.
        let mut expected: Vec<&Committed> = if superblock.is_empty() {
            Vec::new()
        } else {
            committed
                .iter()
                .filter(|transaction| transaction.commit_write < completed)
                .filter(|transaction| {
                    (transaction.sequence.wrapping_sub(superblock.first_sequence()) as i32) >= 0
                })
                .collect()
        };
        if let Some((log_block, byte, mask)) = flip {
            if detects_every_flip(format) {
                let offset = journal_start as usize + log_block as usize * BLOCK + byte;
                image[offset] ^= mask;
                let within = |transaction: &&Committed| {
                    let distance = (log_block + JOURNAL_BLOCKS - 1 - transaction.first_log_block)
                        % (JOURNAL_BLOCKS - 1);
                    distance < transaction.log_blocks
                };
                if let Some(damaged) = expected.iter().position(within) {
                    expected.truncate(damaged);
                }
            }
        }
        // The model: home blocks at the cut, then the expected
        // transactions in order, skipping copies a transaction at least as
        // recent revoked.
        let mut model = home_blocks(&image);
        for (index, transaction) in expected.iter().enumerate() {
            for (home, bytes) in &transaction.blocks {
                let revoked = expected[index..]
                    .iter()
                    .any(|later| later.revoked.contains(home));
                if !revoked {
                    model[*home as usize] = bytes.clone();
                }
            }
        }
        let mut crashed = MemoryDevice::from_bytes(image);
        let report = replay_log(&mut crashed, &journal_map(), &superblock, HOME_BLOCKS).unwrap();
        let replayed: Vec<u32> = report.scan.transactions.iter().map(|transaction| transaction.sequence).collect();
        let wanted: Vec<u32> = expected.iter().map(|transaction| transaction.sequence).collect();
        prop_assert_eq!(&replayed, &wanted, "end: {:?}", report.scan.end);
        prop_assert!(home_blocks(crashed.as_bytes()) == model, "home blocks differ from the model");
    }
}

#[test]
fn a_full_run_replays_everything_and_wraps() {
    let plan: Vec<Planned> = (0..40u8)
        .map(|index| Planned {
            blocks: vec![
                (u64::from(index % 7), index, index % 5 == 0),
                (u64::from(index % 11 + 7), !index, false),
            ],
            revoked: if index % 4 == 3 {
                vec![20 + u64::from(index % 3)]
            } else {
                Vec::new()
            },
            checkpoint_after: index % 6 == 5,
        })
        .collect();
    let (_, device, committed) = run_workload(0, &plan);
    let superblock =
        JournalSuperblock::parse(&device.inner.as_bytes()[HOME_BLOCKS as usize * BLOCK..]).unwrap();
    let mut image = device.inner.clone();
    let report = replay_log(&mut image, &journal_map(), &superblock, HOME_BLOCKS).unwrap();
    assert_eq!(report.scan.end, LogEnd::Clean);
    let last = committed.last().unwrap();
    assert_eq!(
        report.scan.transactions.last().unwrap().sequence,
        last.sequence
    );
    // Forty transactions of four to five blocks went through a 47-block log.
    assert!(committed
        .iter()
        .any(|transaction| transaction.first_log_block + transaction.log_blocks > JOURNAL_BLOCKS));
}

#[test]
fn hostile_logs_end_within_the_journal() {
    // A log made of copies of one valid transaction's blocks, in every
    // order, with sequences tampered: the scan ends, never loops.
    let plan = vec![Planned {
        blocks: vec![(1, 1, false), (2, 2, true)],
        revoked: vec![3],
        checkpoint_after: false,
    }];
    let (_, device, _) = run_workload(0, &plan);
    let bytes = device.inner.as_bytes().to_vec();
    let journal_start = HOME_BLOCKS as usize * BLOCK;
    let log: Vec<Vec<u8>> = (1..6)
        .map(|block| {
            bytes[journal_start + block * BLOCK..journal_start + (block + 1) * BLOCK].to_vec()
        })
        .collect();
    let mut random = 0x9E37_79B9_7F4A_7C15u64;
    for _ in 0..300 {
        let mut image = bytes.clone();
        for block in 1..JOURNAL_BLOCKS as usize {
            random ^= random << 13;
            random ^= random >> 7;
            random ^= random << 17;
            let source = &log[(random % log.len() as u64) as usize];
            let target = journal_start + block * BLOCK;
            image[target..target + BLOCK].copy_from_slice(source);
            if random & 0x100 != 0 {
                image[target + (random >> 20) as usize % BLOCK] ^= (random >> 40) as u8 | 1;
            }
        }
        let superblock = JournalSuperblock::parse(&image[journal_start..]).unwrap();
        let mut device = MemoryDevice::from_bytes(image);
        let scan = scan_log(&mut device, &journal_map(), &superblock, HOME_BLOCKS).unwrap();
        let blocks: u32 = scan
            .transactions
            .iter()
            .map(|transaction| transaction.log_blocks)
            .sum();
        assert!(blocks < JOURNAL_BLOCKS);
    }
}
