// SPDX-License-Identifier: MIT OR Apache-2.0
//! The block cache: the one write-back cache of a volume's blocks, data
//! and metadata alike.
//!
//! [`BlockCache`] holds whole file-system blocks in memory, keyed by block
//! number. Every block the file system reads or changes in small pieces
//! goes through it — bitmaps, inode tables, indirect and directory blocks
//! ([`BlockClass::Metadata`]) and file contents ([`BlockClass::Data`]) —
//! so a second read of anything recent costs no device access, and small
//! writes are gathered until write-back. Long runs of a large read or
//! write move between the caller's buffer and the device directly
//! (`file.rs` decides); the cache only has to stay coherent with them,
//! which it does by being asked first: a cached block is always copied
//! from the cache, never read past it, and a block written past the
//! cache is dropped from it.
//!
//! **Bounded, least recently used first.** At most `capacity` blocks are
//! held. Unpinned blocks are kept in a tree by use stamp (`recency`), so
//! the victim is found at the tree's front: O(log n), no scan. A hit only
//! stamps its entry (the file system reads the same bitmap or inode block
//! many times per operation, and a tree update per read would cost more
//! than the read); the tree is brought up to date lazily — a block at the
//! front that was used since it was queued goes back in at its last use,
//! which each hit pays for at most once. A dirty victim is written back first,
//! together with the dirty blocks next to it on the device (one vectored
//! device call for the whole cluster, which leaves them cached and
//! clean); if that write fails, nothing dirty is dropped: clean blocks are
//! evicted instead, so reading (a program starting) goes on working on a
//! device that no longer takes writes; a block about to become dirty gets
//! the write's error once the cache is full of blocks it cannot write. Buffers of dropped blocks are kept for the next ones as long
//! as held blocks and spare buffers together stay within the capacity.
//!
//! **What changed.** [`BlockCache::changes`] moves whenever a block's
//! contents may have changed, so the file system can keep what it derived
//! from cached blocks (a file's inode, where its run of blocks lies)
//! exactly as long as it stays true.
//!
//! **Dirty blocks know their class**, and dirty metadata can be
//! **pinned** to a transaction ([`BlockCache::pin`]): a pinned block is
//! never a victim and never part of a write-back, until
//! [`BlockCache::release`] unpins every block of that transaction and
//! older ones (transactions commit in order). This is what an ext3/JBD2
//! journal in ordered mode needs: a transaction's metadata reaches its
//! home location only after the transaction is committed to the journal,
//! and data blocks can be written back first ([`BlockCache::take_dirty`]
//! takes one class). A caller pins by hand at most half the cache, so
//! eviction always finds a victim; the file system instead sets the
//! **running transaction** ([`BlockCache::set_running_transaction`]), and
//! every change of a metadata block is then pinned to it with no limit
//! (the file system commits early enough, and the cache grows past its
//! capacity rather than fail when everything is pinned);
//! [`BlockCache::take_pinned`] takes a transaction's blocks for its
//! commit. A cache whose file system found damage is **frozen**
//! ([`BlockCache::freeze_write_back`]): eviction then drops only clean
//! blocks and never writes.
//!
//! **Write-back in two phases**, so that the device work can happen
//! without the file system: [`BlockCache::take_dirty`] gives a
//! [`DirtyBlocks`] batch — shared, immutable buffers of every dirty,
//! unpinned block with the version of its contents — that
//! [`DirtyBlocks::write_to`] writes with nothing but the device; then
//! [`BlockCache::complete`] marks clean the blocks whose version did not
//! change meanwhile. A block changed while its batch is being written
//! gets a fresh buffer first (copy on write), so the batch's bytes never
//! change under it, and it stays dirty. The batch holds its buffers, so
//! while one is in flight memory can reach twice the capacity at most.
//! The contract for the host: the batch's writes must reach the device
//! before any later device access of the file system (the kernel locks
//! the device before it lets go of the file system), so an older copy
//! can never overwrite a newer one.
//!
//! Blocks freed by the file system are dropped without being written
//! ([`BlockCache::forget`]): a block reused as file data is never
//! shadowed by a stale copy, and a freed block is never written.

use alloc::boxed::Box;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::ops::Deref;

use crate::device::{BlockDevice, ReadRequest, WriteRequest};
use crate::error::DeviceError;

/// Why a block is about to be held.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Purpose {
    /// To read it: held clean.
    Read,
    /// To change it: held dirty.
    Change,
}

/// The smallest capacity a cache gets, in blocks.
pub const MIN_CAPACITY_BLOCKS: usize = 16;
/// Most bytes of dirty neighbours written back with an evicted block.
const CLUSTER_BYTES: usize = 512 * 1024;

/// What a cached block holds, as a journal sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BlockClass {
    /// File contents.
    Data,
    /// Everything else: bitmaps, inode tables, indirect blocks,
    /// directories, symbolic link targets.
    Metadata,
}

/// A transaction that pins blocks; transactions are numbered in the order
/// they commit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TransactionId(pub u64);

/// Why [`BlockCache::pin`] refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PinError {
    /// The block is not in the cache: bring it in (read or change it)
    /// first.
    NotCached,
    /// Half the cache is pinned already: commit a transaction first.
    TooManyPinned,
}

impl core::fmt::Display for PinError {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            PinError::NotCached => write!(formatter, "the block is not cached"),
            PinError::TooManyPinned => write!(formatter, "too many blocks are pinned"),
        }
    }
}

/// A block's bytes as the cache holds them: shared (with a write-back
/// batch, or a caller of [`BlockCache::read_run`]) and then never changed —
/// the cache copies a shared block before changing it.
///
/// The bytes are a separate allocation of exactly one block behind the
/// shared count, not one allocation with the count in front: a kernel heap
/// that rounds sizes up to a power of two would otherwise spend two
/// blocks of memory on each.
#[derive(Clone, Debug)]
pub struct SharedBlock(Arc<Box<[u8]>>);

impl Deref for SharedBlock {
    type Target = [u8];

    #[inline]
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

/// One cached block.
struct Entry {
    /// The contents; shared with a write-back batch while one holds it.
    data: SharedBlock,
    class: BlockClass,
    /// The stamp of its last use.
    last_use: u64,
    /// Its key in `recency` while unpinned (its last use when queued).
    queued: u64,
    /// `Some(version)` while dirty: the version of the contents, new with
    /// every change.
    dirty: Option<u64>,
    /// The newest transaction that pinned it.
    pinned: Option<TransactionId>,
}

/// The cache (see the module doc).
pub struct BlockCache {
    block_size: usize,
    capacity: usize,
    entries: BTreeMap<u32, Entry>,
    /// Unpinned blocks by last use: the first is the next victim.
    recency: BTreeMap<u64, u32>,
    /// Dirty blocks, pinned or not, in device order.
    dirty: BTreeSet<u32>,
    /// Pinned blocks by transaction.
    pins: BTreeSet<(TransactionId, u32)>,
    /// The last use stamp handed out.
    clock: u64,
    /// The last content version handed out.
    versions: u64,
    /// Buffers of dropped blocks, reused for new ones: a file system that
    /// creates and deletes small files frees and takes a block each time,
    /// and a kernel heap is slow to split and merge them. Held blocks and
    /// spare buffers together stay within the capacity.
    spare: Vec<SharedBlock>,
    /// The transaction every change of a metadata block is pinned to,
    /// while a journal is in use ([`BlockCache::set_running_transaction`]).
    running: Option<TransactionId>,
    /// Whether eviction may write dirty blocks back
    /// ([`BlockCache::freeze_write_back`]).
    write_back_frozen: bool,
}

impl core::fmt::Debug for BlockCache {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        formatter
            .debug_struct("BlockCache")
            .field("block_size", &self.block_size)
            .field("capacity", &self.capacity)
            .field("blocks", &self.entries.len())
            .field("dirty", &self.dirty.len())
            .field("pinned", &self.pins.len())
            .finish()
    }
}

/// `data` as a mutable slice, copied first if a batch shares it.
fn unique(data: &mut SharedBlock) -> &mut [u8] {
    if Arc::get_mut(&mut data.0).is_none() {
        *data = SharedBlock(Arc::new(Box::from(&data[..])));
    }
    // Just made unique: the fallback cannot happen.
    match Arc::get_mut(&mut data.0) {
        Some(bytes) => bytes,
        None => &mut [],
    }
}

/// One dirty block of a [`DirtyBlocks`] batch.
#[derive(Clone)]
struct DirtyBlock {
    block: u32,
    version: u64,
    class: BlockClass,
    data: SharedBlock,
}

/// A write-back batch from [`BlockCache::take_dirty`]: the dirty blocks'
/// contents as they were when it was taken, in device order.
#[derive(Clone, Default)]
pub struct DirtyBlocks {
    block_size: usize,
    blocks: Vec<DirtyBlock>,
}

impl core::fmt::Debug for DirtyBlocks {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        formatter
            .debug_struct("DirtyBlocks")
            .field("blocks", &self.blocks.len())
            .finish()
    }
}

impl DirtyBlocks {
    /// Blocks in the batch.
    #[inline]
    pub fn len(&self) -> usize {
        self.blocks.len()
    }

    /// Whether the batch has nothing to write.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }

    /// The batch's blocks and their classes, in device order.
    #[inline]
    pub fn blocks(&self) -> impl Iterator<Item = (u32, BlockClass)> + '_ {
        self.blocks.iter().map(|dirty| (dirty.block, dirty.class))
    }

    /// The batch's blocks with their shared contents, in device order.
    pub(crate) fn shared(&self) -> impl Iterator<Item = (u32, &SharedBlock)> + '_ {
        self.blocks.iter().map(|dirty| (dirty.block, &dirty.data))
    }

    /// The contents the batch holds for `block`, if it holds it.
    pub fn contents(&self, block: u32) -> Option<&[u8]> {
        self.blocks
            .binary_search_by_key(&block, |dirty| dirty.block)
            .ok()
            .and_then(|index| self.blocks.get(index))
            .map(|dirty| &*dirty.data)
    }

    /// Writes every block of the batch to `device`, in one vectored call
    /// (blocks that follow one another on the device are consecutive
    /// requests, which a device can join). Does not flush the device.
    ///
    /// Return values: `Ok(())`, or the device's error.
    pub fn write_to<D: BlockDevice + ?Sized>(&self, device: &mut D) -> Result<(), DeviceError> {
        if self.blocks.is_empty() {
            return Ok(());
        }
        let block_size = self.block_size as u64;
        let requests: Vec<WriteRequest<'_>> = self
            .blocks
            .iter()
            .map(|dirty| WriteRequest {
                offset: u64::from(dirty.block) * block_size,
                data: &dirty.data,
            })
            .collect();
        device.write_vectored(&requests)
    }
}

impl BlockCache {
    /// An empty cache of `capacity_blocks` blocks of `block_size` bytes
    /// (at least [`MIN_CAPACITY_BLOCKS`]).
    pub fn new(block_size: usize, capacity_blocks: usize) -> BlockCache {
        BlockCache {
            block_size,
            capacity: capacity_blocks.max(MIN_CAPACITY_BLOCKS),
            entries: BTreeMap::new(),
            recency: BTreeMap::new(),
            dirty: BTreeSet::new(),
            pins: BTreeSet::new(),
            clock: 0,
            versions: 0,
            spare: Vec::new(),
            running: None,
            write_back_frozen: false,
        }
    }

    /// Bytes per block.
    #[inline]
    pub fn block_size(&self) -> usize {
        self.block_size
    }

    /// Most blocks held at once.
    #[inline]
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Blocks held.
    #[inline]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is held.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Dirty blocks held (pinned ones included).
    #[inline]
    pub fn dirty_count(&self) -> usize {
        self.dirty.len()
    }

    /// Pinned blocks held.
    #[inline]
    pub fn pinned_count(&self) -> usize {
        self.pins.len()
    }

    /// A number that changes whenever the contents the cache gives for
    /// some block may have changed (a block written, zeroed, pinned,
    /// forgotten or discarded); reading, evicting and dropping clean
    /// blocks leave it alone. What was derived from cached blocks stays
    /// true while it is unchanged.
    #[inline]
    pub fn changes(&self) -> u64 {
        self.versions
    }

    /// Whether `block` is held.
    #[inline]
    pub fn contains(&self, block: u32) -> bool {
        self.entries.contains_key(&block)
    }

    /// Whether `block` is held and dirty.
    #[inline]
    pub fn is_dirty(&self, block: u32) -> bool {
        self.dirty.contains(&block)
    }

    /// The class of `block`, if held.
    #[inline]
    pub fn class(&self, block: u32) -> Option<BlockClass> {
        self.entries.get(&block).map(|entry| entry.class)
    }

    /// The newest transaction pinning `block`, if one does.
    #[inline]
    pub fn pinned_by(&self, block: u32) -> Option<TransactionId> {
        self.entries.get(&block).and_then(|entry| entry.pinned)
    }

    /// The held contents of `block`, without a device access or a change
    /// of its recency.
    #[inline]
    pub fn peek(&self, block: u32) -> Option<&[u8]> {
        self.entries.get(&block).map(|entry| &*entry.data)
    }

    /// The first held block of `first..end`, if any (one tree lookup).
    pub fn first_held(&self, first: u32, end: u64) -> Option<u32> {
        let end = u32::try_from(end).unwrap_or(u32::MAX);
        if first >= end {
            return None;
        }
        self.entries
            .range(first..end)
            .next()
            .map(|(&block, _)| block)
    }

    /// The contents of `block`, read from `device` on a miss (then held
    /// as `class`).
    ///
    /// Return values: the contents, or the device's error (reading it, or
    /// writing back a victim to make room).
    pub fn read<D: BlockDevice + ?Sized>(
        &mut self,
        device: &mut D,
        block: u32,
        class: BlockClass,
    ) -> Result<&[u8], DeviceError> {
        if !self.entries.contains_key(&block) {
            self.load(device, block, class, Purpose::Read)?;
        }
        let stamp = self.tick();
        match self.entries.get_mut(&block) {
            Some(entry) => {
                entry.last_use = stamp;
                Ok(&entry.data)
            }
            None => Err(DeviceError::Failed { code: 0 }),
        }
    }

    /// The contents of `block` to change (read on a miss), marked dirty as
    /// `class`.
    ///
    /// Return values: as [`Self::read`].
    pub fn write<D: BlockDevice + ?Sized>(
        &mut self,
        device: &mut D,
        block: u32,
        class: BlockClass,
    ) -> Result<&mut [u8], DeviceError> {
        if !self.entries.contains_key(&block) {
            self.load(device, block, class, Purpose::Change)?;
        }
        self.note_change(block, class);
        match self.entries.get_mut(&block) {
            Some(entry) => Ok(unique(&mut entry.data)),
            None => Err(DeviceError::Failed { code: 0 }),
        }
    }

    /// Holds `block` as exactly `bytes` (a whole block; a shorter slice is
    /// padded with zeros), dirty as `class`, without reading the device.
    ///
    /// Return values: `Ok(())`, or the device's error writing back a
    /// victim.
    pub fn overwrite<D: BlockDevice + ?Sized>(
        &mut self,
        device: &mut D,
        block: u32,
        class: BlockClass,
        bytes: &[u8],
    ) -> Result<(), DeviceError> {
        let target = self.zeroed(device, block, class)?;
        let length = bytes.len().min(target.len());
        if let (Some(target), Some(source)) = (target.get_mut(..length), bytes.get(..length)) {
            target.copy_from_slice(source);
        }
        Ok(())
    }

    /// Holds `block` as zeros, dirty as `class`, without reading the
    /// device (a freshly allocated block), and gives it to fill.
    ///
    /// Return values: as [`Self::overwrite`].
    pub fn zeroed<D: BlockDevice + ?Sized>(
        &mut self,
        device: &mut D,
        block: u32,
        class: BlockClass,
    ) -> Result<&mut [u8], DeviceError> {
        if !self.entries.contains_key(&block) {
            self.make_room(device, Purpose::Change)?;
            let data = self.fresh_buffer();
            self.insert(block, data, class);
        }
        self.note_change(block, class);
        match self.entries.get_mut(&block) {
            Some(entry) => {
                let bytes = unique(&mut entry.data);
                bytes.fill(0);
                Ok(bytes)
            }
            None => Err(DeviceError::Failed { code: 0 }),
        }
    }

    /// Records that held `block` is about to change as `class`: just
    /// used, dirty with a new version, and — metadata while a transaction
    /// runs — pinned to that transaction.
    fn note_change(&mut self, block: u32, class: BlockClass) {
        let stamp = self.tick();
        if let Some(entry) = self.entries.get_mut(&block) {
            entry.last_use = stamp;
        }
        self.mark_dirty(block, class);
        if class == BlockClass::Metadata {
            if let Some(transaction) = self.running {
                self.attach_pin(block, transaction);
            }
        }
    }

    /// The contents of `count` consecutive blocks from `first`, in order:
    /// the held ones from the cache, each missing stretch with one
    /// vectored device read, after which those blocks are held (clean, as
    /// `class`). The returned buffers stay valid whatever the cache does
    /// next, so a run longer than the cache can be read too.
    ///
    /// Return values: the buffers, or the device's error.
    pub fn read_run<D: BlockDevice + ?Sized>(
        &mut self,
        device: &mut D,
        first: u32,
        count: usize,
        class: BlockClass,
    ) -> Result<Vec<SharedBlock>, DeviceError> {
        let end = u64::from(first) + count as u64;
        let mut blocks: Vec<SharedBlock> = Vec::new();
        blocks
            .try_reserve_exact(count)
            .map_err(|_| DeviceError::Failed { code: 0 })?;
        let mut block = u64::from(first);
        while block < end {
            let number = u32::try_from(block).map_err(|_| DeviceError::OutOfRange)?;
            if let Some(entry) = self.entries.get(&number) {
                blocks.push(entry.data.clone());
                self.touch(number);
                block += 1;
                continue;
            }
            let stop = self
                .first_held(number, end)
                .map_or(end, u64::from)
                .min(block + (CLUSTER_BYTES / self.block_size.max(1)).max(1) as u64);
            let missing = (stop - block) as usize;
            let mut buffers: Vec<SharedBlock> = (0..missing).map(|_| self.fresh_buffer()).collect();
            {
                let block_size = self.block_size as u64;
                let mut requests: Vec<ReadRequest<'_>> = buffers
                    .iter_mut()
                    .enumerate()
                    .map(|(index, buffer)| ReadRequest {
                        offset: (block + index as u64) * block_size,
                        buffer: unique(buffer),
                    })
                    .collect();
                device.read_vectored(&mut requests)?;
            }
            for (index, buffer) in buffers.into_iter().enumerate() {
                self.make_room(device, Purpose::Read)?;
                self.insert(number + index as u32, buffer.clone(), class);
                blocks.push(buffer);
            }
            block = stop;
        }
        Ok(blocks)
    }

    /// Does the caller's `requests` and reads those of `blocks` that are
    /// not held, all in one vectored device call (several requests in
    /// flight together on a device that can); the blocks read are then
    /// held, clean, as `class`. A long read fetches the pointer blocks it
    /// will need next this way, alongside its own data.
    ///
    /// Return values: `Ok(())`, or the device's error (then no block is
    /// added and the requests' buffers are unspecified).
    pub fn read_along<D: BlockDevice + ?Sized>(
        &mut self,
        device: &mut D,
        requests: &mut [ReadRequest<'_>],
        blocks: &[u32],
        class: BlockClass,
    ) -> Result<(), DeviceError> {
        if blocks.iter().all(|block| self.entries.contains_key(block)) {
            return if requests.is_empty() {
                Ok(())
            } else {
                device.read_vectored(requests)
            };
        }
        let mut wanted: Vec<(u32, SharedBlock)> = Vec::new();
        for &block in blocks {
            if !self.entries.contains_key(&block) && !wanted.iter().any(|(seen, _)| *seen == block)
            {
                let buffer = self.fresh_buffer();
                wanted.push((block, buffer));
            }
        }
        {
            let block_size = self.block_size as u64;
            let mut all: Vec<ReadRequest<'_>> = Vec::new();
            all.try_reserve_exact(requests.len() + wanted.len())
                .map_err(|_| DeviceError::Failed { code: 0 })?;
            all.extend(requests.iter_mut().map(|request| ReadRequest {
                offset: request.offset,
                buffer: &mut *request.buffer,
            }));
            all.extend(wanted.iter_mut().map(|(block, buffer)| ReadRequest {
                offset: u64::from(*block) * block_size,
                buffer: unique(buffer),
            }));
            if all.is_empty() {
                return Ok(());
            }
            device.read_vectored(&mut all)?;
        }
        for (block, buffer) in wanted {
            self.make_room(device, Purpose::Read)?;
            self.insert(block, buffer, class);
        }
        Ok(())
    }

    /// Drops `block` without writing it back (it was freed), pinned or
    /// not.
    #[inline]
    pub fn forget(&mut self, block: u32) {
        self.versions += 1;
        self.remove(block);
    }

    /// Drops every held block of `first .. first + count` without writing
    /// it back: the device has newer contents (written past the cache).
    pub fn discard_range(&mut self, first: u32, count: u64) {
        self.versions += 1;
        let end = u64::from(first) + count;
        while let Some(block) = self.first_held(first, end) {
            self.remove(block);
        }
    }

    /// Writes back the dirty, unpinned blocks of `first .. first + count`
    /// (one vectored call) and marks them clean: the device then has
    /// every change of that range that may be written.
    ///
    /// Return values: `Ok(())`, or the device's error (nothing is marked
    /// clean then).
    pub fn write_back_range<D: BlockDevice + ?Sized>(
        &mut self,
        device: &mut D,
        first: u32,
        count: u64,
    ) -> Result<(), DeviceError> {
        let end = u32::try_from(u64::from(first) + count).unwrap_or(u32::MAX);
        if first >= end {
            return Ok(());
        }
        let blocks: Vec<u32> = self
            .dirty
            .range(first..end)
            .copied()
            .filter(|block| self.pinned_by(*block).is_none())
            .collect();
        self.write_blocks(device, &blocks)
    }

    /// Writes back every dirty, unpinned block and marks it clean (the
    /// one-phase write-back). Does not flush the device.
    ///
    /// Return values: `Ok(())`, or the device's error (nothing is marked
    /// clean then).
    pub fn flush<D: BlockDevice + ?Sized>(&mut self, device: &mut D) -> Result<(), DeviceError> {
        let batch = self.take_dirty(None);
        batch.write_to(device)?;
        self.complete(&batch);
        Ok(())
    }

    /// The first phase of a write-back: every dirty, unpinned block (of
    /// `class` only, if given), shared with the cache as it is now.
    /// Nothing changes in the cache until [`Self::complete`].
    pub fn take_dirty(&self, class: Option<BlockClass>) -> DirtyBlocks {
        let blocks = self
            .dirty
            .iter()
            .filter_map(|&block| {
                let entry = self.entries.get(&block)?;
                let wanted = class.is_none_or(|class| class == entry.class);
                match (entry.dirty, entry.pinned) {
                    (Some(version), None) if wanted => Some(DirtyBlock {
                        block,
                        version,
                        class: entry.class,
                        data: entry.data.clone(),
                    }),
                    _ => None,
                }
            })
            .collect();
        DirtyBlocks {
            block_size: self.block_size,
            blocks,
        }
    }

    /// The last phase of a write-back, once `batch` is on the device:
    /// marks clean each of its blocks that did not change (nor get pinned)
    /// since it was taken. Call it only after a successful write.
    pub fn complete(&mut self, batch: &DirtyBlocks) {
        for dirty in &batch.blocks {
            if let Some(entry) = self.entries.get_mut(&dirty.block) {
                if entry.dirty == Some(dirty.version) && entry.pinned.is_none() {
                    entry.dirty = None;
                    self.dirty.remove(&dirty.block);
                }
            }
        }
    }

    /// Pins held `block` to `transaction`: it becomes dirty metadata,
    /// its present contents a new version, and it is neither evicted nor
    /// written back until `transaction` (or a later one) is released. A
    /// block already pinned stays pinned until the newest of its
    /// transactions is released.
    ///
    /// Return values: `Ok(())`; [`PinError::NotCached`] if `block` is not
    /// held; [`PinError::TooManyPinned`] if half the cache is pinned
    /// already.
    pub fn pin(&mut self, block: u32, transaction: TransactionId) -> Result<(), PinError> {
        let previous = match self.entries.get(&block) {
            None => return Err(PinError::NotCached),
            Some(entry) => entry.pinned,
        };
        if previous.is_none() && self.pins.len() + 1 > self.capacity / 2 {
            return Err(PinError::TooManyPinned);
        }
        self.mark_dirty(block, BlockClass::Metadata);
        self.attach_pin(block, transaction);
        Ok(())
    }

    /// Pins held `block` to `transaction` (or keeps the newer transaction
    /// pinning it), with no limit: it leaves the eviction order.
    fn attach_pin(&mut self, block: u32, transaction: TransactionId) {
        let Some(entry) = self.entries.get_mut(&block) else {
            return;
        };
        match entry.pinned {
            Some(older) if older >= transaction => {}
            Some(older) => {
                self.pins.remove(&(older, block));
                self.pins.insert((transaction, block));
                entry.pinned = Some(transaction);
            }
            None => {
                self.recency.remove(&entry.queued);
                self.pins.insert((transaction, block));
                entry.pinned = Some(transaction);
            }
        }
    }

    /// Makes every later change of a metadata block part of
    /// `transaction` (pinned to it, with no limit: the journal commits
    /// early enough to keep the count sensible), or, with `None`, stops
    /// pinning changes. The file system sets it on a read-write mount of
    /// a volume with a journal and moves it at every commit.
    pub(crate) fn set_running_transaction(&mut self, transaction: Option<TransactionId>) {
        self.running = transaction;
    }

    /// Pins every dirty metadata block that is not pinned to
    /// `transaction` (with no limit); returns how many. A commit calls it
    /// so no change of metadata escapes its transaction.
    pub(crate) fn pin_dirty_metadata(&mut self, transaction: TransactionId) -> usize {
        let stray: Vec<u32> = self
            .dirty
            .iter()
            .copied()
            .filter(|block| {
                self.entries.get(block).is_some_and(|entry| {
                    entry.class == BlockClass::Metadata && entry.pinned.is_none()
                })
            })
            .collect();
        for &block in &stray {
            self.attach_pin(block, transaction);
        }
        stray.len()
    }

    /// The first phase of a commit: every block pinned by `through` or an
    /// earlier transaction (later than `after`, if given), shared with the
    /// cache as it is now, in device order. Nothing changes until
    /// [`Self::release`] and [`Self::complete`].
    pub(crate) fn take_pinned(
        &self,
        after: Option<TransactionId>,
        through: TransactionId,
    ) -> DirtyBlocks {
        let mut blocks: Vec<DirtyBlock> = self
            .pins
            .range(..=(through, u32::MAX))
            .filter(|(transaction, _)| after.is_none_or(|after| *transaction > after))
            .filter_map(|&(_, block)| {
                let entry = self.entries.get(&block)?;
                Some(DirtyBlock {
                    block,
                    version: entry.dirty.unwrap_or(0),
                    class: entry.class,
                    data: entry.data.clone(),
                })
            })
            .collect();
        blocks.sort_unstable_by_key(|dirty| dirty.block);
        DirtyBlocks {
            block_size: self.block_size,
            blocks,
        }
    }

    /// Like [`Self::take_dirty`], but only the blocks of `blocks` (in
    /// ascending order) that are held, dirty, unpinned and of `class`.
    pub(crate) fn take_dirty_among(
        &self,
        blocks: impl IntoIterator<Item = u32>,
        class: BlockClass,
    ) -> DirtyBlocks {
        let mut taken: Vec<DirtyBlock> = blocks
            .into_iter()
            .filter_map(|block| {
                let entry = self.entries.get(&block)?;
                match (entry.dirty, entry.pinned) {
                    (Some(version), None) if entry.class == class => Some(DirtyBlock {
                        block,
                        version,
                        class,
                        data: entry.data.clone(),
                    }),
                    _ => None,
                }
            })
            .collect();
        taken.sort_unstable_by_key(|dirty| dirty.block);
        taken.dedup_by_key(|dirty| dirty.block);
        DirtyBlocks {
            block_size: self.block_size,
            blocks: taken,
        }
    }

    /// Dirty blocks held of `class` (pinned ones included).
    pub fn dirty_count_of(&self, class: BlockClass) -> usize {
        self.dirty
            .iter()
            .filter(|block| {
                self.entries
                    .get(block)
                    .is_some_and(|entry| entry.class == class)
            })
            .count()
    }

    /// With `true`, eviction never writes a dirty block: it drops clean
    /// blocks only, and the cache grows past its capacity rather than
    /// write (the file system freezes it when it finds damage, so nothing
    /// more reaches the volume); `false` restores normal eviction.
    pub(crate) fn freeze_write_back(&mut self, frozen: bool) {
        self.write_back_frozen = frozen;
    }

    /// Unpins every block pinned by `through` or an earlier transaction
    /// (they were committed): they stay dirty and are written back as
    /// any other. Returns how many were unpinned.
    pub fn release(&mut self, through: TransactionId) -> usize {
        let released: Vec<(TransactionId, u32)> =
            self.pins.range(..=(through, u32::MAX)).copied().collect();
        for pin in &released {
            self.pins.remove(pin);
            let stamp = self.tick();
            if let Some(entry) = self.entries.get_mut(&pin.1) {
                entry.pinned = None;
                entry.last_use = stamp;
                entry.queued = stamp;
                self.recency.insert(stamp, pin.1);
            }
        }
        released.len()
    }

    /// Drops every clean, unpinned block (of `class` only, if given: the
    /// benchmarks' cold reads drop file data and keep metadata); returns
    /// how many.
    pub fn drop_clean(&mut self, class: Option<BlockClass>) -> usize {
        let clean: Vec<u32> = self
            .entries
            .iter()
            .filter(|(_, entry)| {
                entry.dirty.is_none()
                    && entry.pinned.is_none()
                    && class.is_none_or(|class| class == entry.class)
            })
            .map(|(&block, _)| block)
            .collect();
        for &block in &clean {
            self.remove(block);
        }
        self.spare.clear();
        clean.len()
    }

    /// A new use stamp.
    #[inline]
    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }

    /// Marks held `block` as just used (its place in `recency` is
    /// updated when it reaches the front).
    #[inline]
    fn touch(&mut self, block: u32) {
        let stamp = self.tick();
        if let Some(entry) = self.entries.get_mut(&block) {
            entry.last_use = stamp;
        }
    }

    /// Marks held `block` dirty as `class`, with a new version.
    fn mark_dirty(&mut self, block: u32, class: BlockClass) {
        self.versions += 1;
        if let Some(entry) = self.entries.get_mut(&block) {
            if entry.dirty.is_none() {
                self.dirty.insert(block);
            }
            entry.dirty = Some(self.versions);
            entry.class = class;
        }
    }

    /// A buffer of one block that nothing else shares, holding whatever
    /// it held before: every caller fills all of it (a device read, or
    /// zeros) before the cache holds it.
    #[inline]
    fn fresh_buffer(&mut self) -> SharedBlock {
        match self.spare.pop() {
            Some(buffer) => buffer,
            None => SharedBlock(Arc::new(vec![0u8; self.block_size].into_boxed_slice())),
        }
    }

    /// Holds `data` as clean `block` (replacing what was held), most
    /// recently used.
    fn insert(&mut self, block: u32, data: SharedBlock, class: BlockClass) {
        let stamp = self.tick();
        self.recency.insert(stamp, block);
        let replaced = self.entries.insert(
            block,
            Entry {
                data,
                class,
                last_use: stamp,
                queued: stamp,
                dirty: None,
                pinned: None,
            },
        );
        // Callers insert only blocks not held; should one be, its old
        // entry leaves every index.
        if let Some(old) = replaced {
            match old.pinned {
                Some(transaction) => {
                    self.pins.remove(&(transaction, block));
                }
                None => {
                    self.recency.remove(&old.queued);
                }
            }
            if old.dirty.is_some() {
                self.dirty.remove(&block);
            }
        }
    }

    /// Drops `block`, keeping its buffer for reuse when nothing shares it.
    fn remove(&mut self, block: u32) {
        let Some(entry) = self.entries.remove(&block) else {
            return;
        };
        match entry.pinned {
            Some(transaction) => {
                self.pins.remove(&(transaction, block));
            }
            None => {
                self.recency.remove(&entry.queued);
            }
        }
        self.dirty.remove(&block);
        let mut data = entry.data;
        if self.entries.len() + self.spare.len() < self.capacity
            && Arc::get_mut(&mut data.0).is_some()
        {
            self.spare.push(data);
        }
    }

    /// Reads `block` into the cache if it is not held.
    fn load<D: BlockDevice + ?Sized>(
        &mut self,
        device: &mut D,
        block: u32,
        class: BlockClass,
        purpose: Purpose,
    ) -> Result<(), DeviceError> {
        let mut data = self.fresh_buffer();
        let offset = u64::from(block) * self.block_size as u64;
        if let Err(error) = device.read_at(offset, unique(&mut data)) {
            if self.entries.len() + self.spare.len() < self.capacity {
                self.spare.push(data);
            }
            return Err(error);
        }
        self.make_room(device, purpose)?;
        self.insert(block, data, class);
        Ok(())
    }

    /// Evicts least recently used blocks until one more fits.
    ///
    /// When writing back a dirty victim fails, clean blocks are evicted
    /// instead (the dirty ones stay for a later write-back to retry).
    /// Then, if none was left: a block to read is held all the same (the
    /// cache grows by one, which the next miss evicts), a block to change
    /// is refused with the write's error.
    fn make_room<D: BlockDevice + ?Sized>(
        &mut self,
        device: &mut D,
        purpose: Purpose,
    ) -> Result<(), DeviceError> {
        match self.make_room_writing(device) {
            Ok(()) => Ok(()),
            Err(error) => {
                self.make_room_without_writing();
                if purpose == Purpose::Change && self.entries.len() >= self.capacity {
                    return Err(error);
                }
                Ok(())
            }
        }
    }

    /// Evicts least recently used blocks, writing back dirty victims,
    /// until one more fits.
    fn make_room_writing<D: BlockDevice + ?Sized>(
        &mut self,
        device: &mut D,
    ) -> Result<(), DeviceError> {
        if self.write_back_frozen {
            self.make_room_without_writing();
            return Ok(());
        }
        while self.entries.len() >= self.capacity {
            let Some((&stamp, &victim)) = self.recency.first_key_value() else {
                // Everything is pinned: cannot happen while at most half
                // the cache may be pinned; hold one more rather than fail.
                return Ok(());
            };
            // Used since it was queued: back in at its last use.
            if let Some(entry) = self.entries.get_mut(&victim) {
                if entry.last_use > entry.queued && entry.queued == stamp {
                    self.recency.remove(&stamp);
                    entry.queued = entry.last_use;
                    self.recency.insert(entry.last_use, victim);
                    continue;
                }
            }
            if self.dirty.contains(&victim) {
                self.write_back_cluster(device, victim)?;
            }
            self.remove(victim);
            // Every round takes one stamp out, whatever `remove` found.
            self.recency.remove(&stamp);
        }
        Ok(())
    }

    /// Evicts least recently used clean blocks until one more fits, or
    /// none is left to evict (then the cache grows).
    fn make_room_without_writing(&mut self) {
        while self.entries.len() >= self.capacity {
            let victim = self
                .recency
                .iter()
                .find(|(_, block)| !self.dirty.contains(block))
                .map(|(&stamp, &block)| (stamp, block));
            let Some((stamp, block)) = victim else {
                return;
            };
            self.remove(block);
            self.recency.remove(&stamp);
        }
    }

    /// Writes back dirty `victim` together with the dirty, unpinned
    /// blocks around it that follow one another on the device.
    fn write_back_cluster<D: BlockDevice + ?Sized>(
        &mut self,
        device: &mut D,
        victim: u32,
    ) -> Result<(), DeviceError> {
        let limit = (CLUSTER_BYTES / self.block_size.max(1)).max(1);
        let writable = |entry: &Entry| entry.dirty.is_some() && entry.pinned.is_none();
        let mut first = victim;
        for (&block, entry) in self.entries.range(..victim).rev() {
            if block.checked_add(1) != Some(first)
                || !writable(entry)
                || victim - block >= limit as u32 / 2
            {
                break;
            }
            first = block;
        }
        let mut blocks = Vec::new();
        for (&block, entry) in self.entries.range(first..) {
            let expected = first as u64 + blocks.len() as u64;
            if u64::from(block) != expected || !writable(entry) || blocks.len() >= limit {
                break;
            }
            blocks.push(block);
        }
        self.write_blocks(device, &blocks)
    }

    /// Writes held `blocks` (in device order) with one vectored call and
    /// marks them clean.
    fn write_blocks<D: BlockDevice + ?Sized>(
        &mut self,
        device: &mut D,
        blocks: &[u32],
    ) -> Result<(), DeviceError> {
        if blocks.is_empty() {
            return Ok(());
        }
        let block_size = self.block_size as u64;
        {
            let requests: Vec<WriteRequest<'_>> = blocks
                .iter()
                .filter_map(|block| {
                    self.entries.get(block).map(|entry| WriteRequest {
                        offset: u64::from(*block) * block_size,
                        data: &entry.data,
                    })
                })
                .collect();
            device.write_vectored(&requests)?;
        }
        for block in blocks {
            if let Some(entry) = self.entries.get_mut(block) {
                entry.dirty = None;
            }
            self.dirty.remove(block);
        }
        Ok(())
    }
}
