// SPDX-License-Identifier: MIT OR Apache-2.0
//! A small write-back cache of metadata blocks.
//!
//! Bitmaps, inode-table blocks, indirect blocks, directory blocks and slow
//! symlink blocks go through [`BlockCache`]; regular-file data never does (it
//! moves between the caller's buffer and the device in long runs, which is
//! what keeps large copies fast). The rule that keeps the two paths coherent:
//! a block is removed from the cache when it is freed, so a block reused as
//! file data is never shadowed by a stale cached copy.
//!
//! Eviction is first-in first-out over a bounded number of blocks; a dirty
//! block is written back when evicted and on [`BlockCache::flush`]. The
//! kernel has its own block cache underneath, so this one only needs to save
//! repeated parsing of the same few blocks, not to be clever.

use alloc::boxed::Box;
use alloc::collections::{BTreeMap, VecDeque};
use alloc::vec;

use crate::device::BlockDevice;
use crate::error::Result;

/// One cached block.
struct Entry {
    data: Box<[u8]>,
    dirty: bool,
}

/// The cache: block number to contents, plus insertion order for eviction.
pub(crate) struct BlockCache {
    block_size: usize,
    capacity: usize,
    entries: BTreeMap<u32, Entry>,
    order: VecDeque<u32>,
}

impl BlockCache {
    /// An empty cache of at most `capacity` blocks (at least 16).
    pub(crate) fn new(block_size: usize, capacity: usize) -> BlockCache {
        BlockCache {
            block_size,
            capacity: capacity.max(16),
            entries: BTreeMap::new(),
            order: VecDeque::new(),
        }
    }

    /// The cached contents of `block`, if present (no device access).
    pub(crate) fn peek(&self, block: u32) -> Option<&[u8]> {
        self.entries.get(&block).map(|entry| &*entry.data)
    }

    /// The contents of `block`, read from the device on a miss.
    pub(crate) fn get<D: BlockDevice>(&mut self, device: &mut D, block: u32) -> Result<&[u8]> {
        self.load(device, block)?;
        match self.entries.get(&block) {
            Some(entry) => Ok(&entry.data),
            None => Err(crate::error::Error::corrupt("block cache lost a block")),
        }
    }

    /// Mutable contents of `block` (read on a miss), marked dirty.
    pub(crate) fn get_mut<D: BlockDevice>(
        &mut self,
        device: &mut D,
        block: u32,
    ) -> Result<&mut [u8]> {
        self.load(device, block)?;
        match self.entries.get_mut(&block) {
            Some(entry) => {
                entry.dirty = true;
                Ok(&mut entry.data)
            }
            None => Err(crate::error::Error::corrupt("block cache lost a block")),
        }
    }

    /// Installs a zero-filled dirty block without reading the device: for
    /// freshly allocated metadata blocks.
    pub(crate) fn insert_zeroed<D: BlockDevice>(
        &mut self,
        device: &mut D,
        block: u32,
    ) -> Result<&mut [u8]> {
        if let Some(entry) = self.entries.get_mut(&block) {
            entry.data.fill(0);
            entry.dirty = true;
        } else {
            self.make_room(device)?;
            self.entries.insert(
                block,
                Entry {
                    data: vec![0u8; self.block_size].into_boxed_slice(),
                    dirty: true,
                },
            );
            self.order.push_back(block);
        }
        match self.entries.get_mut(&block) {
            Some(entry) => Ok(&mut entry.data),
            None => Err(crate::error::Error::corrupt("block cache lost a block")),
        }
    }

    /// Drops `block` without writing it back: it was freed.
    pub(crate) fn forget(&mut self, block: u32) {
        self.entries.remove(&block);
    }

    /// Writes every dirty block back.
    pub(crate) fn flush<D: BlockDevice>(&mut self, device: &mut D) -> Result<()> {
        let block_size = self.block_size as u64;
        for (&block, entry) in self.entries.iter_mut() {
            if entry.dirty {
                device.write_at(u64::from(block) * block_size, &entry.data)?;
                entry.dirty = false;
            }
        }
        Ok(())
    }

    fn load<D: BlockDevice>(&mut self, device: &mut D, block: u32) -> Result<()> {
        if self.entries.contains_key(&block) {
            return Ok(());
        }
        let mut data = vec![0u8; self.block_size].into_boxed_slice();
        device.read_at(u64::from(block) * self.block_size as u64, &mut data)?;
        self.make_room(device)?;
        self.entries.insert(block, Entry { data, dirty: false });
        self.order.push_back(block);
        Ok(())
    }

    /// Evicts the oldest blocks until one more fits.
    fn make_room<D: BlockDevice>(&mut self, device: &mut D) -> Result<()> {
        // `order` may name blocks already forgotten or re-inserted; rebuild it
        // when it has grown far past the live entries so it stays bounded.
        if self.order.len() > self.capacity.saturating_mul(4) {
            self.order = self.entries.keys().copied().collect();
        }
        while self.entries.len() >= self.capacity {
            let Some(victim) = self.order.pop_front() else {
                break;
            };
            if let Some(entry) = self.entries.remove(&victim) {
                if entry.dirty {
                    let offset = u64::from(victim) * self.block_size as u64;
                    if let Err(error) = device.write_at(offset, &entry.data) {
                        // Keep the block so the data is not lost; report.
                        self.entries.insert(victim, entry);
                        self.order.push_back(victim);
                        return Err(error.into());
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::MemoryDevice;

    #[test]
    fn eviction_writes_back_dirty_blocks() {
        let mut device = MemoryDevice::new(1024 * 64);
        let mut cache = BlockCache::new(1024, 16);
        for block in 0..40u32 {
            let data = cache.get_mut(&mut device, block).unwrap();
            data[0] = block as u8 + 1;
        }
        cache.flush(&mut device).unwrap();
        for block in 0..40usize {
            assert_eq!(device.as_bytes()[block * 1024], block as u8 + 1);
        }
        assert!(cache.entries.len() <= 16);
    }
}
