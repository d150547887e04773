// SPDX-License-Identifier: MIT OR Apache-2.0
//! A write-back batch: everything one commit, fsync or sync must send to
//! the device, in order, with its flushes.
//!
//! [`WriteBack`] is made by the file system under the caller's hold of it
//! (`FileSystem::begin_commit`, `begin_fsync`, `begin_write_back`: the
//! `transaction` module plans it), written by [`WriteBack::write_to`] with
//! nothing but the device, and handed back to
//! `FileSystem::finish_commit` with the outcome. It is a list of steps —
//! writes (cache buffers shared copy-on-write, so their bytes never change
//! under the batch, or bytes made for it: journal descriptors, commit
//! blocks, the journal superblock), flushes, and one check that the batch
//! begun before it reached the device — executed front to back, each run
//! of writes between two flushes as one vectored device call.
//!
//! The batch remembers how far it got ([`WriteBack::write_to`] records the
//! step it was at when the device failed): after a failure the file system
//! must know whether the journal's commit block may have reached the disk,
//! because a transaction that may be committed must be finished (its log
//! and checkpoint written again, byte for byte) before anything else goes
//! to the log, while one that cannot be is simply replaced.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

use crate::cache::{DirtyBlocks, SharedBlock, TransactionId};
use crate::device::{BlockDevice, WriteRequest};
use crate::error::{DeviceError, Error, Result};
use crate::journal::JournalSuperblock;
use crate::superblock::SUPERBLOCK_SIZE;

/// The bytes of one write step.
#[derive(Clone, Debug)]
pub(crate) enum StepBytes {
    /// A cache buffer (a block's contents), shared.
    Shared(SharedBlock),
    /// Bytes made for the batch.
    Made(Arc<[u8]>),
}

impl StepBytes {
    fn bytes(&self) -> &[u8] {
        match self {
            StepBytes::Shared(block) => block,
            StepBytes::Made(bytes) => bytes,
        }
    }
}

/// One step of a batch.
#[derive(Clone, Debug)]
pub(crate) enum Step {
    /// Write `bytes` at byte `offset` of the device.
    Write {
        /// Byte offset on the device.
        offset: u64,
        /// What to write.
        bytes: StepBytes,
    },
    /// Flush the device: everything written before is durable.
    Flush,
    /// Stop, failing, unless the batch begun before this one was written
    /// without error (its writes reached the device first: the host's
    /// contract). Placed before a commit block, so a transaction never
    /// commits after one that may not have.
    RequirePredecessor,
}

impl Step {
    /// A write of `bytes` at `offset`.
    pub(crate) fn made(offset: u64, bytes: &[u8]) -> Step {
        Step::Write {
            offset,
            bytes: StepBytes::Made(Arc::from(bytes)),
        }
    }
}

/// `write_to` (the state starts at 0: nothing known yet) finished without error.
const WRITTEN: u8 = 1;
/// `write_to` failed.
const FAILED: u8 = 2;

/// How a batch's writing went, shared with the batch begun after it.
#[derive(Debug, Default)]
pub(crate) struct Outcome(AtomicU8);

impl Outcome {
    fn set(&self, state: u8) {
        self.0.store(state, Ordering::Release);
    }

    fn written(&self) -> bool {
        self.0.load(Ordering::Acquire) == WRITTEN
    }
}

/// Where the journal's log stands: its superblock as last written (or to
/// be written), the next log block and the next sequence number.
#[derive(Clone, Debug)]
pub(crate) struct LogPosition {
    pub superblock: JournalSuperblock,
    pub head: u32,
    pub sequence: u32,
}

/// What a journaled batch did to the log, for the file system to follow
/// up when it finishes.
#[derive(Debug)]
pub(crate) struct JournalPart {
    /// The failed batch whose restart this batch carries (its redo, or
    /// its place in the log), if it carries one.
    pub carried: Option<u64>,
    /// The batch carries the redo of an earlier transaction that may have
    /// committed: its first `redo_steps` steps.
    pub redo_steps: usize,
    /// The step writing this batch's commit block, if it commits one.
    pub commit_step: Option<usize>,
    /// The log before this batch's own transaction (after any redo).
    pub before: LogPosition,
    /// The log after it (checkpointed).
    pub after: LogPosition,
    /// This transaction's log writes, commit and checkpoint, to write
    /// again first if it fails after its commit block may have reached
    /// the disk.
    pub redo_if_committed: Vec<Step>,
}

/// What a commit, fsync or sync must write, taken by
/// [`crate::FileSystem::begin_commit`] (and `begin_fsync`,
/// `begin_write_back`): the steps in order, with their flushes. It holds
/// its own copies (cache buffers are shared and copied on write), so it
/// is written with nothing but the device, by [`Self::write_to`], and
/// handed back to [`crate::FileSystem::finish_commit`] — always: a batch
/// dropped unwritten and unfinished makes every later commit fail (each
/// checks that the one begun before it was written).
#[derive(Default)]
pub struct WriteBack {
    /// Why nothing may be written (the mount turned read-only after damage
    /// with changes pending, a transaction too long for the journal, a
    /// device error while preparing): `write_to` and `finish_commit`
    /// return it.
    pub(crate) refused: Option<Error>,
    pub(crate) steps: Vec<Step>,
    /// Which batch this is, for the file system's list of batches in
    /// flight (0: none to follow up).
    pub(crate) identity: u64,
    /// This batch's outcome, and its predecessor's.
    pub(crate) outcome: Arc<Outcome>,
    pub(crate) predecessor: Option<Arc<Outcome>>,
    /// The step the device was at when it failed (or the step count).
    pub(crate) reached: AtomicUsize,
    /// The transaction committed (pinned blocks up to it are released).
    pub(crate) through: Option<TransactionId>,
    /// The blocks written home, to mark clean: data, then metadata.
    pub(crate) data: DirtyBlocks,
    pub(crate) metadata: DirtyBlocks,
    /// Without a journal: the descriptor table and superblock written.
    pub(crate) groups: Option<Vec<u8>>,
    pub(crate) superblock: Option<[u8; SUPERBLOCK_SIZE]>,
    /// With a journal: what happened to the log.
    pub(crate) journal: Option<JournalPart>,
}

impl core::fmt::Debug for WriteBack {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        formatter
            .debug_struct("WriteBack")
            .field("steps", &self.steps.len())
            .field("blocks", &self.blocks())
            .field("through", &self.through)
            .field("refused", &self.refused)
            .finish()
    }
}

impl WriteBack {
    /// A batch that writes nothing and ends with `error`.
    pub(crate) fn refused(error: Error) -> WriteBack {
        WriteBack {
            refused: Some(error),
            ..WriteBack::default()
        }
    }

    /// Blocks the batch writes to their home locations (file data and
    /// metadata; the journal's own blocks, the descriptors and the
    /// superblock of a volume without a journal not counted).
    pub fn blocks(&self) -> usize {
        self.data.len() + self.metadata.len()
    }

    /// Whether the batch writes nothing at all.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Writes the batch to `device`: every step in order, each run of
    /// writes between two flushes in one vectored call. On a journaled
    /// volume that is the commit sequence of the crate's README
    /// ("Durability"); without a journal, the data, a flush, the metadata,
    /// descriptors and superblock, and a flush.
    ///
    /// Return values: `Ok(())`; [`Error::Device`] when a write or flush
    /// fails, or when the batch begun before this one did not reach the
    /// device (its commit would follow one that may not have happened);
    /// the error the batch was refused with ([`Error::ReadOnly`] after
    /// damage, [`Error::NoSpace`] for a transaction longer than the
    /// journal, a device error while preparing it).
    pub fn write_to<D: BlockDevice + ?Sized>(&self, device: &mut D) -> Result<()> {
        if let Some(error) = self.refused {
            self.outcome.set(FAILED);
            return Err(error);
        }
        let result = self.run(device);
        self.outcome
            .set(if result.is_ok() { WRITTEN } else { FAILED });
        result
    }

    /// Executes the steps (see [`Self::write_to`]).
    fn run<D: BlockDevice + ?Sized>(&self, device: &mut D) -> Result<()> {
        let mut index = 0;
        while let Some(step) = self.steps.get(index) {
            self.reached.store(index, Ordering::Release);
            match step {
                Step::Flush => {
                    device.flush()?;
                    index += 1;
                }
                Step::RequirePredecessor => {
                    if let Some(predecessor) = &self.predecessor {
                        if !predecessor.written() {
                            return Err(Error::Device(DeviceError::Failed { code: 0 }));
                        }
                    }
                    index += 1;
                }
                Step::Write { .. } => {
                    let mut requests: Vec<WriteRequest<'_>> = Vec::new();
                    while let Some(Step::Write { offset, bytes }) = self.steps.get(index) {
                        requests.push(WriteRequest {
                            offset: *offset,
                            data: bytes.bytes(),
                        });
                        index += 1;
                    }
                    device.write_vectored(&requests)?;
                }
            }
        }
        self.reached.store(self.steps.len(), Ordering::Release);
        Ok(())
    }

    /// The step the device was at when writing stopped.
    pub(crate) fn reached(&self) -> usize {
        self.reached.load(Ordering::Acquire)
    }
}
