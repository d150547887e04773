// SPDX-License-Identifier: MIT OR Apache-2.0
//! A read-only view of a volume as it will be after recovery.
//!
//! A read-only mount may not write, so it cannot replay a journal; and
//! the volume as found, before replay, is not a state the file system was
//! ever in. [`ReplayedView`] wraps a device and runs the scan, revoke and
//! replay passes into memory instead of onto the device: reads return the
//! replayed blocks where the log has them, the file system superblock with
//! `needs_recovery` cleared and the journal superblock marked empty —
//! exactly the bytes a recovery would write — and the device's bytes
//! everywhere else. Writes are refused. `ext2l check` and `ext2l info`
//! mount through it; so can a kernel that must mount read-only.
//!
//! Memory: one copy of each distinct home block the committed log holds,
//! at most the journal's size.

use alloc::collections::BTreeMap;
use alloc::vec;
use alloc::vec::Vec;

use crate::device::BlockDevice;
use crate::error::{DeviceError, Result};
use crate::features::IncompatibleFeatures;
use crate::superblock::{Superblock, SUPERBLOCK_OFFSET, SUPERBLOCK_SIZE};

use super::recovery::{recovered_superblock, replay, scan_log, RecoveryReport, ReplayTarget};
use super::volume::journal_to_replay;

/// A device seen as it will be after its journal is replayed.
#[derive(Debug)]
pub struct ReplayedView<D: BlockDevice> {
    device: D,
    block_size: u64,
    /// Block number → contents after recovery, where they differ.
    blocks: BTreeMap<u64, Vec<u8>>,
    report: Option<RecoveryReport>,
}

impl<D: BlockDevice> ReplayedView<D> {
    /// Wraps `device`; when its volume needs recovery, replays the journal
    /// into memory. A volume that does not (or that is not one this
    /// library mounts) is shown as it is.
    ///
    /// Return values: the view; [`crate::Error::Unsupported`] for an
    /// external journal; [`crate::Error::Corrupt`] for a journal that
    /// cannot be read; [`crate::Error::Device`].
    pub fn new(mut device: D) -> Result<ReplayedView<D>> {
        let Some((layout, journal)) = journal_to_replay(&mut device)? else {
            return Ok(ReplayedView {
                device,
                block_size: 1024,
                blocks: BTreeMap::new(),
                report: None,
            });
        };
        let block_size = u64::from(layout.geometry.block_size);
        let scan = scan_log(
            &mut device,
            &journal.map,
            &journal.superblock,
            u64::from(layout.geometry.blocks_count),
        )?;
        let mut blocks = BTreeMap::new();
        let report = replay(
            &mut device,
            &journal.map,
            &journal.superblock,
            scan,
            ReplayTarget::Memory(&mut blocks),
        )?;
        let mut view = ReplayedView {
            device,
            block_size,
            blocks,
            report: None,
        };
        // The journal superblock, marked empty.
        let recovered = recovered_superblock(&journal.superblock, &report.scan);
        let journal_start = journal.map.byte_offset(0)?;
        view.patch(journal_start, recovered.as_bytes())?;
        // The file system superblock (maybe just replayed), flag cleared.
        let mut raw = [0u8; SUPERBLOCK_SIZE];
        view.read_at(SUPERBLOCK_OFFSET, &mut raw)?;
        let mut superblock = Superblock::from_bytes(raw);
        superblock.set_incompatible(IncompatibleFeatures::RECOVER, false);
        view.patch(SUPERBLOCK_OFFSET, superblock.as_bytes())?;
        view.report = Some(report);
        Ok(view)
    }

    /// What the replay into memory did; `None` when the volume needed no
    /// recovery.
    pub fn report(&self) -> Option<&RecoveryReport> {
        self.report.as_ref()
    }

    /// The device underneath, unchanged.
    pub fn into_inner(self) -> D {
        self.device
    }

    /// Replaces the bytes at `offset` (inside one block) in the view.
    fn patch(&mut self, offset: u64, bytes: &[u8]) -> Result<()> {
        let block = offset / self.block_size;
        let start = (offset % self.block_size) as usize;
        let contents = match self.blocks.remove(&block) {
            Some(contents) => contents,
            None => {
                let mut contents = vec![0u8; self.block_size as usize];
                self.device
                    .read_at(block * self.block_size, &mut contents)?;
                contents
            }
        };
        let mut contents = contents;
        if let Some(target) = contents.get_mut(start..start + bytes.len()) {
            target.copy_from_slice(bytes);
        }
        self.blocks.insert(block, contents);
        Ok(())
    }
}

impl<D: BlockDevice> BlockDevice for ReplayedView<D> {
    fn read_at(&mut self, offset: u64, buffer: &mut [u8]) -> core::result::Result<(), DeviceError> {
        self.device.read_at(offset, buffer)?;
        if self.blocks.is_empty() || buffer.is_empty() {
            return Ok(());
        }
        let end = offset
            .checked_add(buffer.len() as u64)
            .ok_or(DeviceError::OutOfRange)?;
        let first_block = offset / self.block_size;
        let last_block = (end - 1) / self.block_size;
        for (&block, contents) in self.blocks.range(first_block..=last_block) {
            let block_start = block * self.block_size;
            let from = block_start.max(offset);
            let to = (block_start + self.block_size).min(end);
            let source = contents.get((from - block_start) as usize..(to - block_start) as usize);
            let target = buffer.get_mut((from - offset) as usize..(to - offset) as usize);
            if let (Some(source), Some(target)) = (source, target) {
                target.copy_from_slice(source);
            }
        }
        Ok(())
    }

    fn write_at(&mut self, _offset: u64, _data: &[u8]) -> core::result::Result<(), DeviceError> {
        Err(DeviceError::ReadOnly)
    }

    fn flush(&mut self) -> core::result::Result<(), DeviceError> {
        Ok(())
    }

    fn size(&mut self) -> core::result::Result<u64, DeviceError> {
        self.device.size()
    }
}
