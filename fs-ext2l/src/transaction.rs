// SPDX-License-Identifier: MIT OR Apache-2.0
//! Transactions: the journal in use, in ordered mode (DESIGN §4).
//!
//! On a read-write mount of a volume with a journal, every change of
//! metadata — bitmaps, inode-table blocks, indirect, directory and symlink
//! blocks, orphan-list links, and at commit the group descriptors and the
//! superblock as whole blocks — belongs to the **running transaction**:
//! the cache pins each such block to it ([`BlockCache::set_running_transaction`]),
//! so it never reaches its home location before the transaction is in the
//! journal. File data is not journaled.
//!
//! **A commit** closes the running transaction (the next one starts at
//! once) and plans one [`WriteBack`] batch (`write_back.rs`) that the host
//! writes with nothing but the device:
//!
//! 1. the transaction's *new data* — blocks it allocated whose contents
//!    are only in the cache — plus, for an fsync, the file's dirty blocks
//!    and, for a sync, all dirty data; in the same run, the journal's
//!    descriptor blocks and the copies of the transaction's metadata (and
//!    the journal superblock's `s_start` when the log was empty); **flush**;
//! 2. the commit block; **flush** — the transaction is durable;
//! 3. the checkpoint: the same metadata images at their home locations;
//!    **flush**; then the journal superblock's tail moved past the
//!    transaction, not flushed (see below).
//!
//! Ordered mode is step 1: the data a committed transaction's metadata
//! points at is on the disk before the commit block is, so a crash never
//! shows a new file holding a deleted file's bytes. The checkpoint is
//! eager: every commit leaves nothing live in the log, so the log never
//! fills and a block logged once is never replayed over a later use of it.
//! The tail write needs no flush of its own: until the next flush a
//! replay may find the checkpointed transaction again and write the same
//! images home (recovery is idempotent), and the next commit's first flush
//! makes the tail durable before any block that transaction freed can be
//! reused.
//!
//! **Freed blocks wait.** A block freed by a transaction is not handed out
//! again (as data or metadata) until that transaction has committed: the
//! committed state on disk still uses it, and new data written into it
//! before the commit would show through that state after a crash. The
//! allocator sees a bitmap block as it was before the first uncommitted
//! free in it (a frozen copy, as ext3's `b_committed_data`) as well as as
//! it is now, and takes only blocks free in both. An allocation that
//! finds no space while frees wait commits the running transaction and
//! tries again.
//!
//! **Big transactions commit early**, between operations: when the
//! running transaction would take more than a quarter of the log, or more
//! than half the cache is pinned. A long write is cut into pieces, each an
//! operation of its own, so it never makes a transaction too big.
//!
//! **In flight.** Several batches may be in flight (begun, not finished);
//! the host writes them in the order they were begun (it locks the device
//! before it lets go of the file system). Each batch plans its log where
//! the one before it ends, and checks before its commit block that the
//! one before it was written: a transaction never commits after one that
//! may not have. A block changed while its batch is in flight gets a
//! fresh buffer (copy on write) and stays dirty and pinned to the new
//! transaction. A batch whose device work fails leaves everything pinned
//! and dirty; the next commit carries it all again. If the failed batch's
//! commit block may have reached the disk, the next batch first writes
//! that transaction again, byte for byte (log, commit block, checkpoint),
//! so the log never holds a half-replaced transaction; otherwise the next
//! transaction simply takes its place in the log.
//!
//! Without a journal there are no transactions: a write-back writes the
//! dirty data, flushes, writes the dirty metadata, descriptors and
//! superblock, and flushes, and every kind of batch (commit, fsync, sync)
//! writes everything.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::cache::{BlockCache, BlockClass, DirtyBlocks, TransactionId};
use crate::device::BlockDevice;
use crate::error::{Error, Result};
use crate::filesystem::FileSystem;
use crate::inode::InodeNumber;
use crate::journal::{
    plan_transaction, transaction_log_blocks, CommitTime, JournalMap, PlannedContents,
};
use crate::superblock::{field, SUPERBLOCK_OFFSET, SUPERBLOCK_SIZE};
use crate::write_back::{JournalPart, LogPosition, Outcome, Step, StepBytes, WriteBack};

/// Bytes not yet on the device, as [`FileSystem::pending_bytes`] counts
/// them: what a power cut now would lose.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PendingBytes {
    /// File contents changed in the cache only.
    pub data: u64,
    /// Metadata changed and not yet committed (or, without a journal, not
    /// yet written back): blocks, plus the descriptors and superblock.
    pub metadata: u64,
}

/// The journal a read-write mount writes: where it is and where its log
/// stands once every batch begun so far is written.
pub(crate) struct JournalLog {
    map: JournalMap,
    position: LogPosition,
}

/// A copy of a block bitmap from before the first free in it by a
/// transaction that has not committed yet.
struct FrozenBitmap {
    /// The newest transaction that freed a block in it.
    transaction: TransactionId,
    bytes: Vec<u8>,
}

/// A batch in flight (begun, not finished).
struct InFlight {
    identity: u64,
    outcome: Arc<Outcome>,
    /// The transaction it commits, if it commits one.
    through: Option<TransactionId>,
}

/// Where the next batch's log must go after a failed one.
#[derive(Clone)]
struct Restart {
    position: LogPosition,
    /// The failed transaction's writes, when its commit block may have
    /// reached the disk: written again first.
    redo: Vec<Step>,
}

/// What a commit covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scope {
    /// The running transaction and the new data it needs (ordered mode).
    Commit,
    /// That, plus every dirty block of one file.
    File(InodeNumber),
    /// That, plus all dirty data.
    Everything,
}

/// The transaction state of a mount (see the module doc).
pub(crate) struct Transactions {
    /// The journal, on a read-write mount of a volume with one.
    journal: Option<JournalLog>,
    /// The running transaction.
    running: TransactionId,
    /// Blocks allocated by transactions not yet committed (with the newest
    /// of them): the data among them is written before the commit.
    new_blocks: BTreeMap<u32, TransactionId>,
    /// Block bitmaps as they were before frees that wait for a commit.
    frozen_bitmaps: BTreeMap<u32, FrozenBitmap>,
    /// File blocks written through the cache, by inode, for fsync (some
    /// may be clean by now: they are pruned as they are seen).
    file_blocks: BTreeMap<u32, BTreeSet<u32>>,
    file_block_count: usize,
    in_flight: Vec<InFlight>,
    /// Failed batches' restarts, by batch identity: the earliest is the
    /// one that counts.
    failures: BTreeMap<u64, Restart>,
    last_identity: u64,
}

impl Default for Transactions {
    fn default() -> Self {
        Transactions {
            journal: None,
            running: TransactionId(1),
            new_blocks: BTreeMap::new(),
            frozen_bitmaps: BTreeMap::new(),
            file_blocks: BTreeMap::new(),
            file_block_count: 0,
            in_flight: Vec::new(),
            failures: BTreeMap::new(),
            last_identity: 0,
        }
    }
}

impl Transactions {
    /// Whether a journal is in use.
    #[inline]
    pub(crate) fn journaling(&self) -> bool {
        self.journal.is_some()
    }

    /// Records that `block` was just allocated.
    pub(crate) fn note_allocated(&mut self, block: u32) {
        if self.journal.is_some() {
            self.new_blocks.insert(block, self.running);
        }
    }

    /// Records that `block` now holds file data past the file's old end
    /// (an append into a block already allocated): the new size commits
    /// with the running transaction, so these bytes are ordered data too —
    /// written before that commit, or a cut would show bytes the file
    /// never had.
    pub(crate) fn note_extended(&mut self, block: u32) {
        if self.journal.is_some() {
            self.new_blocks.insert(block, self.running);
        }
    }

    /// Records that `block` was just freed: it needs no writing any more.
    pub(crate) fn note_freed(&mut self, block: u32) {
        self.new_blocks.remove(&block);
    }

    /// Records that `first .. first + count` were written straight to the
    /// device: nothing of them waits in the cache.
    pub(crate) fn note_written_directly(&mut self, first: u32, count: u64) {
        let end = u32::try_from(u64::from(first) + count).unwrap_or(u32::MAX);
        let written: Vec<u32> = self
            .new_blocks
            .range(first..end)
            .map(|(&block, _)| block)
            .collect();
        for block in written {
            self.new_blocks.remove(&block);
        }
    }

    /// Records that file `inode` changed its `block` in the cache.
    pub(crate) fn note_file_block(&mut self, inode: InodeNumber, block: u32) {
        if self.journal.is_some()
            && self
                .file_blocks
                .entry(inode.get())
                .or_default()
                .insert(block)
        {
            self.file_block_count += 1;
        }
    }

    /// Before a free in `bitmap_block` (whose bytes are `bitmap` now):
    /// keeps a copy from before the first uncommitted free in it.
    pub(crate) fn freeze_bitmap(&mut self, bitmap_block: u32, bitmap: &[u8]) {
        if self.journal.is_none() {
            return;
        }
        let running = self.running;
        self.frozen_bitmaps
            .entry(bitmap_block)
            .and_modify(|frozen| frozen.transaction = running)
            .or_insert_with(|| FrozenBitmap {
                transaction: running,
                bytes: bitmap.to_vec(),
            });
    }

    /// The frozen copy of `bitmap_block`, if frees in it wait.
    #[inline]
    pub(crate) fn frozen_bitmap(&self, bitmap_block: u32) -> Option<&[u8]> {
        self.frozen_bitmaps
            .get(&bitmap_block)
            .map(|frozen| frozen.bytes.as_slice())
    }

    /// Whether freed blocks wait for a commit.
    #[inline]
    pub(crate) fn frees_wait(&self) -> bool {
        !self.frozen_bitmaps.is_empty()
    }

    /// Drops what was kept for transactions up to `through`, committed.
    fn committed(&mut self, through: TransactionId, cache: &BlockCache) {
        self.new_blocks
            .retain(|_, transaction| *transaction > through);
        self.frozen_bitmaps
            .retain(|_, frozen| frozen.transaction > through);
        if self.file_block_count > cache.capacity() {
            self.prune_file_blocks(cache);
        }
    }

    /// Forgets file blocks that are no longer dirty.
    fn prune_file_blocks(&mut self, cache: &BlockCache) {
        let mut count = 0;
        self.file_blocks.retain(|_, blocks| {
            blocks.retain(|&block| cache.is_dirty(block));
            count += blocks.len();
            !blocks.is_empty()
        });
        self.file_block_count = count;
    }
}

impl<D: BlockDevice> FileSystem<D> {
    /// Starts journaling on a read-write mount of a volume with a journal:
    /// opens the journal (its log must be empty: the mount replayed it),
    /// and makes every later change of metadata part of the first
    /// transaction.
    ///
    /// Return values: `Ok(())`; the errors of [`Self::open_journal`].
    pub(crate) fn start_journal(&mut self) -> Result<()> {
        let journal = self.open_journal()?;
        self.transactions.journal = Some(JournalLog {
            map: journal.map().clone(),
            position: LogPosition {
                superblock: journal.superblock().clone(),
                head: journal.head(),
                sequence: journal.next_sequence(),
            },
        });
        let running = self.transactions.running;
        self.cache.set_running_transaction(Some(running));
        Ok(())
    }

    /// Stops journaling, for a repair (`repair/mod.rs`), which writes in
    /// place as e2fsck does and may rebuild the journal itself: everything
    /// is committed and checkpointed, the log closed (`s_start` 0) and
    /// `needs_recovery` cleared in memory (written with the superblock at
    /// the next write-back). Later changes are written back without a
    /// journal until [`Self::start_journal`]. Does nothing without one.
    ///
    /// Return values: `Ok(())`; the errors of [`Self::sync`] and
    /// [`Self::close_journal`].
    pub(crate) fn stop_journal(&mut self) -> Result<()> {
        if !self.transactions.journaling() {
            return Ok(());
        }
        self.sync()?;
        self.close_journal()?;
        self.transactions.journal = None;
        self.cache.set_running_transaction(None);
        self.superblock
            .set_incompatible(crate::features::IncompatibleFeatures::RECOVER, false);
        self.superblock_dirty = true;
        Ok(())
    }

    /// Marks the journal empty (`s_start` 0) and flushes, at a clean
    /// unmount once everything is committed and checkpointed.
    ///
    /// Return values: `Ok(())`; [`Error::InvalidArgument`] while a batch
    /// is in flight or a failed one waits to be written again;
    /// [`Error::Device`].
    pub(crate) fn close_journal(&mut self) -> Result<()> {
        if !self.transactions.in_flight.is_empty() || !self.transactions.failures.is_empty() {
            return Err(Error::InvalidArgument);
        }
        let Some(log) = &mut self.transactions.journal else {
            return Ok(());
        };
        let closed = log.position.superblock.with_log(0, log.position.sequence);
        self.device
            .write_at(log.map.byte_offset(0)?, closed.as_bytes())?;
        self.device.flush()?;
        log.position = LogPosition {
            head: closed.first_log_block(),
            superblock: closed,
            sequence: log.position.sequence,
        };
        Ok(())
    }

    /// Whether this mount journals its metadata (a read-write mount of a
    /// volume with a journal).
    pub fn journal_in_use(&self) -> bool {
        self.transactions.journaling()
    }

    /// What a power cut now would lose: the dirty file data in the cache,
    /// and the metadata not yet committed (not yet written back, without a
    /// journal), in bytes. A host reports it when it must stop without
    /// writing (a device that fails for good).
    pub fn pending_bytes(&self) -> PendingBytes {
        let block = u64::from(self.geometry.block_size);
        let mut metadata = self.cache.dirty_count_of(BlockClass::Metadata) as u64 * block;
        if self.superblock_dirty {
            metadata += SUPERBLOCK_SIZE as u64;
        }
        if self.groups_dirty {
            metadata += u64::from(self.geometry.descriptor_blocks) * block;
        }
        PendingBytes {
            data: self.cache.dirty_count_of(BlockClass::Data) as u64 * block,
            metadata,
        }
    }

    /// The first phase of a commit, under the caller's hold of the file
    /// system: closes the running transaction (the next one starts at
    /// once) and returns the batch that commits it in ordered mode — the
    /// new data its metadata points at, the journal's copies, the commit
    /// block and the checkpoint, with their flushes (see the crate's
    /// README, "Durability"). Other dirty data is not written. Without a
    /// journal it writes everything back. With nothing to commit the
    /// batch is empty.
    ///
    /// Contract: the batch's writes must reach the device before any
    /// later device access of this file system (lock the device before
    /// letting go of the file system), and batches are written in the
    /// order they were begun; hand it to [`Self::finish_commit`] with the
    /// outcome of [`WriteBack::write_to`]. Several may be in flight.
    pub fn begin_commit(&mut self) -> WriteBack {
        self.plan(Scope::Commit)
    }

    /// The first phase of a sync: [`Self::begin_commit`] plus every dirty
    /// block of file data, so that everything changed so far is durable
    /// once the batch is written. Same contract.
    pub fn begin_write_back(&mut self) -> WriteBack {
        self.plan(Scope::Everything)
    }

    /// The first phase of an fsync of `inode`: [`Self::begin_commit`] plus
    /// every dirty block of that file's data (overwrites included). The
    /// commit carries the whole running transaction, so other files'
    /// metadata may become durable too (as in ext3); other files' data is
    /// written only where ordered mode needs it — the blocks the committed
    /// transactions newly allocated whose contents are still only in the
    /// cache. For a directory or a symbolic link, a commit: its entries
    /// and its target are metadata. Without a journal: everything. Same
    /// contract.
    ///
    /// Return values: the batch; [`Error::NotFound`] for an inode neither
    /// in use nor held; [`Error::Corrupt`], [`Error::Device`].
    pub fn begin_fsync(&mut self, inode: InodeNumber) -> Result<WriteBack> {
        let result = self.accessible_inode(inode);
        self.observe(result)?;
        Ok(self.plan(Scope::File(inode)))
    }

    /// The last phase of a commit, fsync or sync: given the outcome of
    /// [`WriteBack::write_to`], on success unpins the committed
    /// transaction's blocks and marks clean every block the batch wrote
    /// that did not change since it was begun (a block changed meanwhile
    /// stays dirty, pinned to the running transaction). On failure nothing
    /// is marked clean or unpinned and nothing is lost in memory: the next
    /// commit writes it all again.
    ///
    /// Return values: `Ok(())`; the write's error; the error the batch was
    /// refused with ([`Error::ReadOnly`] on a mount turned read-only by
    /// damage with changes pending, [`Error::NoSpace`] for a transaction
    /// longer than the whole journal, a device error while preparing it).
    pub fn finish_commit(&mut self, batch: WriteBack, written: Result<()>) -> Result<()> {
        let result = match batch.refused {
            Some(error) => Err(error),
            None => written,
        };
        if batch.identity != 0 {
            self.transactions
                .in_flight
                .retain(|flight| flight.identity != batch.identity);
        }
        match result {
            Ok(()) => {
                self.batch_written(&batch);
                Ok(())
            }
            Err(error) => {
                self.batch_failed(&batch);
                Err(error)
            }
        }
    }

    /// [`Self::finish_commit`] under the name the sync path uses.
    ///
    /// Return values: as [`Self::finish_commit`].
    pub fn finish_write_back(&mut self, batch: WriteBack, written: Result<()>) -> Result<()> {
        self.finish_commit(batch, written)
    }

    /// Commits the running transaction now (the three phases in a row).
    ///
    /// Return values: `Ok(())`, or the errors of [`Self::finish_commit`].
    pub fn commit(&mut self) -> Result<()> {
        let batch = self.begin_commit();
        self.run_batch(batch)
    }

    /// Makes everything changed so far durable — dirty data, the running
    /// transaction — and flushes the device: the three phases of
    /// [`Self::begin_write_back`] in a row.
    ///
    /// Return values: `Ok(())`, or the errors of [`Self::finish_commit`].
    pub fn sync(&mut self) -> Result<()> {
        let batch = self.begin_write_back();
        self.run_batch(batch)
    }

    /// Makes `inode` durable: the three phases of [`Self::begin_fsync`] in
    /// a row.
    ///
    /// Return values: `Ok(())`; the errors of [`Self::begin_fsync`] and
    /// [`Self::finish_commit`].
    pub fn fsync(&mut self, inode: InodeNumber) -> Result<()> {
        let batch = self.begin_fsync(inode)?;
        self.run_batch(batch)
    }

    /// Writes `batch` to this file system's device and finishes it.
    fn run_batch(&mut self, batch: WriteBack) -> Result<()> {
        let written = batch.write_to(&mut self.device);
        self.finish_commit(batch, written)
    }

    /// Whether the running transaction is big enough to commit before the
    /// next operation, and whether it is too big to go on without.
    fn transaction_size(&self) -> (bool, bool) {
        let Some(log) = &self.transactions.journal else {
            return (false, false);
        };
        let superblock = &log.position.superblock;
        let capacity = u64::from(
            superblock
                .journal_blocks()
                .saturating_sub(superblock.first_log_block()),
        );
        let pinned = self.cache.pinned_count();
        let estimate = transaction_log_blocks(
            superblock,
            pinned + 1 + self.geometry.descriptor_blocks as usize,
            0,
        );
        let large = estimate > capacity / 4 || pinned > self.cache.capacity() / 2;
        (large, estimate > capacity / 2)
    }

    /// What every changing operation does first: refuses a read-only
    /// mount, marks a volume without a journal in use (`state.rs`) the
    /// first time (with a journal, the first commit does: nothing of a
    /// change reaches the disk before), and commits the running
    /// transaction when it is big (see the module doc).
    ///
    /// Return values: `Ok(())`; [`Error::ReadOnly`]; the commit's error
    /// when the transaction cannot grow any more without it.
    pub(crate) fn prepare_change(&mut self) -> Result<()> {
        self.require_writable()?;
        if !self.transactions.journaling() {
            self.mark_in_use()?;
        }
        let (large, too_large) = self.transaction_size();
        if large {
            let committed = self.commit();
            if too_large {
                committed?;
            }
        }
        Ok(())
    }

    /// Runs `operation` as a change (see [`Self::prepare_change`]); when it
    /// finds no space while freed blocks wait for a commit, commits and
    /// runs it once more; damage it finds marks the volume
    /// ([`Self::observe`]).
    pub(crate) fn change<T>(
        &mut self,
        mut operation: impl FnMut(&mut Self) -> Result<T>,
    ) -> Result<T> {
        self.prepare_change()?;
        let mut result = operation(self);
        if is_no_space(&result) && self.transactions.frees_wait() && self.commit().is_ok() {
            result = operation(self);
        }
        self.observe(result)
    }

    /// Plans a batch of `scope` (see the module doc).
    fn plan(&mut self, scope: Scope) -> WriteBack {
        if self.read_only_reason.is_some() {
            let pending = self.cache.dirty_count() > 0
                || self.cache.pinned_count() > 0
                || self.superblock_dirty
                || self.groups_dirty;
            if self.damage.is_some() && pending {
                return WriteBack::refused(Error::ReadOnly);
            }
            return WriteBack::default();
        }
        if self.transactions.journal.is_none() {
            return self.plan_without_journal();
        }
        match self.plan_journaled(scope) {
            Ok(batch) => batch,
            Err(error) => WriteBack::refused(error),
        }
    }

    /// A write-back of everything, without a journal.
    fn plan_without_journal(&mut self) -> WriteBack {
        let data = self.cache.take_dirty(Some(BlockClass::Data));
        let metadata = self.cache.take_dirty(Some(BlockClass::Metadata));
        let mut steps = Vec::new();
        push_home_writes(&mut steps, &data, self.geometry.block_size);
        if !data.is_empty() {
            steps.push(Step::Flush);
        }
        push_home_writes(&mut steps, &metadata, self.geometry.block_size);
        let groups = self.groups_dirty.then(|| self.groups.as_bytes().to_vec());
        if let Some(bytes) = &groups {
            let table_block = self.geometry.first_data_block + 1;
            steps.push(Step::made(self.geometry.block_offset(table_block), bytes));
        }
        let superblock = if self.superblock_dirty {
            let now = self.now();
            self.superblock.set_u32(field::WRITE_TIME, now);
            Some(*self.superblock.as_bytes())
        } else {
            None
        };
        if let Some(bytes) = &superblock {
            steps.push(Step::made(SUPERBLOCK_OFFSET, bytes));
        }
        steps.push(Step::Flush);
        self.transactions.last_identity += 1;
        WriteBack {
            steps,
            identity: self.transactions.last_identity,
            data,
            metadata,
            groups,
            superblock,
            ..WriteBack::default()
        }
    }

    /// Copies the superblock and the descriptor table into their blocks in
    /// the cache when they changed: they become metadata of the running
    /// transaction like any other block.
    fn superblock_and_descriptors_into_cache(&mut self) -> Result<()> {
        let block_size = self.geometry.block_bytes();
        if self.superblock_dirty {
            let now = self.now();
            self.superblock.set_u32(field::WRITE_TIME, now);
            let block = (SUPERBLOCK_OFFSET / block_size as u64) as u32;
            let offset = (SUPERBLOCK_OFFSET % block_size as u64) as usize;
            let bytes = *self.superblock.as_bytes();
            let data = self
                .cache
                .write(&mut self.device, block, BlockClass::Metadata)?;
            data.get_mut(offset..offset + SUPERBLOCK_SIZE)
                .ok_or(Error::InvalidArgument)?
                .copy_from_slice(&bytes);
            self.superblock_dirty = false;
        }
        if self.groups_dirty {
            let table = self.groups.as_bytes().to_vec();
            let first = self.geometry.first_data_block + 1;
            for (index, chunk) in table.chunks(block_size).enumerate() {
                let block = first + index as u32;
                let held = self
                    .cache
                    .read(&mut self.device, block, BlockClass::Metadata)?;
                if held.get(..chunk.len()) != Some(chunk) {
                    let data = self
                        .cache
                        .write(&mut self.device, block, BlockClass::Metadata)?;
                    if let Some(target) = data.get_mut(..chunk.len()) {
                        target.copy_from_slice(chunk);
                    }
                }
            }
            self.groups_dirty = false;
        }
        Ok(())
    }

    /// Plans a journaled batch (see the module doc).
    fn plan_journaled(&mut self, scope: Scope) -> Result<WriteBack> {
        if self.superblock_dirty
            || self.groups_dirty
            || self.cache.dirty_count_of(BlockClass::Metadata) > 0
        {
            // The first commit marks the volume in use (`needs_recovery`)
            // before anything of it reaches the device.
            self.mark_in_use()?;
        }
        self.superblock_and_descriptors_into_cache()?;
        let running = self.transactions.running;
        self.cache.pin_dirty_metadata(running);
        // Transactions of batches in flight are theirs: this batch
        // commits only what came after (it fails if they fail).
        let after = self
            .transactions
            .in_flight
            .iter()
            .filter_map(|flight| flight.through)
            .max();
        let predecessor = self
            .transactions
            .in_flight
            .last()
            .map(|flight| flight.outcome.clone());
        let metadata = self.cache.take_pinned(after, running);
        let through = if metadata.is_empty() {
            None
        } else {
            let next = TransactionId(running.0 + 1);
            self.transactions.running = next;
            self.cache.set_running_transaction(Some(next));
            Some(running)
        };
        let data = self.data_to_write(scope, after, through);
        // With no batch in flight, a failed batch decides where the log
        // goes on (and what must be written again first).
        let restart = if self.transactions.in_flight.is_empty() {
            let earliest = self
                .transactions
                .failures
                .iter()
                .next()
                .map(|(&identity, restart)| (identity, restart.clone()));
            if let Some((identity, _)) = earliest {
                // Later failures followed from this one.
                self.transactions.failures.retain(|&key, _| key == identity);
            }
            earliest
        } else {
            None
        };
        let Some(log) = &self.transactions.journal else {
            return Err(Error::InvalidArgument);
        };
        let mut position = match &restart {
            Some((_, restart)) => restart.position.clone(),
            None => log.position.clone(),
        };
        let mut steps: Vec<Step> = match &restart {
            Some((_, restart)) => restart.redo.clone(),
            None => Vec::new(),
        };
        let redo_steps = steps.len();
        let block_size = self.geometry.block_size;
        push_home_writes(&mut steps, &data, block_size);
        let before = position.clone();
        let mut commit_step = None;
        let mut redo_if_committed = Vec::new();
        if through.is_some() {
            let images: Vec<(u64, &[u8])> = metadata
                .shared()
                .map(|(block, bytes)| (u64::from(block), &**bytes))
                .collect();
            let time = CommitTime {
                seconds: u64::from(self.now()),
                nanoseconds: 0,
            };
            let planned = plan_transaction(
                &position.superblock,
                position.head,
                position.sequence,
                &images,
                &[],
                time,
            )?;
            let shared: Vec<_> = metadata.shared().map(|(_, bytes)| bytes.clone()).collect();
            let superblock_offset = log.map.byte_offset(0)?;
            let mut log_writes = Vec::with_capacity(planned.writes.len() + 1);
            if position.superblock.is_empty() {
                // The first transaction of an empty log: `s_start` says
                // where it is. Written with the transaction (a start with
                // no valid transaction behind it replays nothing).
                let started = position
                    .superblock
                    .with_log(position.head, position.sequence);
                log_writes.push(Step::made(superblock_offset, started.as_bytes()));
            }
            let mut commit_write = None;
            let last = planned.writes.len().saturating_sub(1);
            for (index, write) in planned.writes.into_iter().enumerate() {
                let offset = log.map.byte_offset(write.log_block)?;
                let bytes = match write.contents {
                    PlannedContents::Copy(block) => {
                        StepBytes::Shared(shared.get(block).cloned().ok_or(Error::InvalidArgument)?)
                    }
                    PlannedContents::Made(bytes) => StepBytes::Made(Arc::from(bytes)),
                };
                let step = Step::Write { offset, bytes };
                if index == last {
                    commit_write = Some(step);
                } else {
                    log_writes.push(step);
                }
            }
            let commit_write = commit_write.ok_or(Error::InvalidArgument)?;
            let mut checkpoint = Vec::new();
            push_home_writes(&mut checkpoint, &metadata, block_size);
            let sequence = position.sequence.wrapping_add(1);
            let tail = position
                .superblock
                .with_log(planned.next_log_block, sequence);
            let tail_write = Step::made(superblock_offset, tail.as_bytes());

            steps.extend(log_writes.iter().cloned());
            steps.push(Step::Flush);
            if predecessor.is_some() {
                steps.push(Step::RequirePredecessor);
            }
            commit_step = Some(steps.len());
            steps.push(commit_write.clone());
            steps.push(Step::Flush);
            steps.extend(checkpoint.iter().cloned());
            steps.push(Step::Flush);
            steps.push(tail_write.clone());

            redo_if_committed = log_writes;
            redo_if_committed.push(Step::Flush);
            redo_if_committed.push(commit_write);
            redo_if_committed.push(Step::Flush);
            redo_if_committed.extend(checkpoint);
            redo_if_committed.push(Step::Flush);
            redo_if_committed.push(tail_write);
            position = LogPosition {
                superblock: tail,
                head: planned.next_log_block,
                sequence,
            };
        } else if !data.is_empty() || scope != Scope::Commit || redo_steps > 0 {
            steps.push(Step::Flush);
            if predecessor.is_some() {
                steps.push(Step::RequirePredecessor);
            }
        }
        if steps.is_empty() {
            return Ok(WriteBack::default());
        }
        self.transactions.last_identity += 1;
        let identity = self.transactions.last_identity;
        let outcome = Arc::new(Outcome::default());
        self.transactions.in_flight.push(InFlight {
            identity,
            outcome: outcome.clone(),
            through,
        });
        if let Some(log) = &mut self.transactions.journal {
            log.position = position.clone();
        }
        Ok(WriteBack {
            steps,
            identity,
            outcome,
            predecessor,
            through,
            data,
            metadata,
            journal: Some(JournalPart {
                carried: restart.map(|(identity, _)| identity),
                redo_steps,
                commit_step,
                before,
                after: position,
                redo_if_committed,
            }),
            ..WriteBack::default()
        })
    }

    /// The data blocks a batch of `scope` writes before its commit block.
    fn data_to_write(
        &mut self,
        scope: Scope,
        after: Option<TransactionId>,
        through: Option<TransactionId>,
    ) -> DirtyBlocks {
        if scope == Scope::Everything {
            return self.cache.take_dirty(Some(BlockClass::Data));
        }
        let mut blocks: BTreeSet<u32> = match through {
            Some(through) => self
                .transactions
                .new_blocks
                .iter()
                .filter(|(_, &transaction)| {
                    transaction <= through && after.is_none_or(|after| transaction > after)
                })
                .map(|(&block, _)| block)
                .collect(),
            None => BTreeSet::new(),
        };
        if let Scope::File(inode) = scope {
            let cache = &self.cache;
            let transactions = &mut self.transactions;
            if let Some(file) = transactions.file_blocks.get_mut(&inode.get()) {
                let before = file.len();
                file.retain(|&block| cache.is_dirty(block));
                transactions.file_block_count -= before - file.len();
                blocks.extend(file.iter().copied());
            }
        }
        self.cache.take_dirty_among(blocks, BlockClass::Data)
    }

    /// A batch reached the device: unpin and mark clean what it wrote.
    fn batch_written(&mut self, batch: &WriteBack) {
        if let Some(through) = batch.through {
            self.cache.release(through);
            self.transactions.committed(through, &self.cache);
        }
        self.cache.complete(&batch.data);
        self.cache.complete(&batch.metadata);
        if batch.identity != 0 {
            // Everything begun before it reached the device too.
            self.transactions
                .failures
                .retain(|&identity, _| identity > batch.identity);
        }
        // The descriptors and superblock are clean if they are what this
        // batch wrote — unless a later batch was begun: it may have
        // written other bytes since, and equal bytes here would be the
        // old ones back (it decides when it finishes).
        let newest = batch.identity == self.transactions.last_identity;
        if let Some(bytes) = &batch.groups {
            if newest && self.groups.as_bytes() == bytes.as_slice() {
                self.groups_dirty = false;
            }
        }
        if let Some(bytes) = &batch.superblock {
            if newest && self.superblock.as_bytes() == bytes {
                self.superblock_dirty = false;
            }
        }
    }

    /// A batch failed: remember where the log must go on.
    fn batch_failed(&mut self, batch: &WriteBack) {
        let Some(part) = &batch.journal else {
            return;
        };
        let reached = batch.reached();
        if reached < part.redo_steps {
            // The redo it carried did not get through: that failure still
            // decides.
            return;
        }
        if let Some(carried) = part.carried {
            self.transactions.failures.remove(&carried);
        }
        let restart = match part.commit_step {
            Some(commit) if reached >= commit => Restart {
                position: part.after.clone(),
                redo: part.redo_if_committed.clone(),
            },
            _ => Restart {
                position: part.before.clone(),
                redo: Vec::new(),
            },
        };
        self.transactions.failures.insert(batch.identity, restart);
    }
}

/// Whether `result` is [`Error::NoSpace`].
fn is_no_space<T>(result: &Result<T>) -> bool {
    matches!(result, Err(Error::NoSpace))
}

/// Appends a write of each block of `blocks` at its home location.
fn push_home_writes(steps: &mut Vec<Step>, blocks: &DirtyBlocks, block_size: u32) {
    for (block, bytes) in blocks.shared() {
        steps.push(Step::Write {
            offset: u64::from(block) * u64::from(block_size),
            bytes: StepBytes::Shared(bytes.clone()),
        });
    }
}
