// SPDX-License-Identifier: MIT OR Apache-2.0
//! The block cache: a write-back cache of 4 KiB disk pages.
//!
//! File systems see the disk through [`BlockCache`], which implements
//! `fs_ext2l::BlockDevice`. Reads fill whole pages and fetch a run of
//! missing consecutive pages with one virtio request; writes stay in the
//! cache, marked dirty, until [`BlockCache::flush`] (from `sync`, `fsync`,
//! power-off, or eviction) writes them back — consecutive dirty pages in
//! one request — and then asks the device to make them durable.
//!
//! The cache is bounded ([`BlockCache::new`]'s `capacity_pages`); the least
//! recently used page is evicted first, written back if dirty.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use fs_ext2l::DeviceError;
use hal::virtio::{BlockDevice, BlockError, SECTOR_SIZE};
use manux_abi::Errno;

/// Bytes in a cache page.
pub const PAGE_SIZE: u64 = 4096;
/// Longest run of pages moved in one device request.
const MAX_RUN_PAGES: u64 = 64;

struct Page {
    data: Box<[u8]>,
    dirty: bool,
    last_use: u64,
}

/// A disk with a write-back page cache in front of it.
pub struct BlockCache {
    disk: BlockDevice,
    pages: BTreeMap<u64, Page>,
    capacity_pages: usize,
    use_counter: u64,
    size: u64,
}

/// The file system's view of a device error.
fn device_error(error: BlockError) -> DeviceError {
    match error {
        BlockError::OutOfRange => DeviceError::OutOfRange,
        BlockError::ReadOnly => DeviceError::ReadOnly,
        BlockError::Device => DeviceError::Failed { code: 0 },
    }
}

impl BlockCache {
    /// Puts a cache of at most `capacity_pages` pages in front of `disk`.
    pub fn new(disk: BlockDevice, capacity_pages: usize) -> Self {
        let size = disk.capacity_sectors() * SECTOR_SIZE as u64;
        BlockCache {
            disk,
            pages: BTreeMap::new(),
            capacity_pages: capacity_pages.max(8),
            use_counter: 0,
            size,
        }
    }

    /// Bytes of page `index` that exist on the disk (the last page of a
    /// disk whose size is not a multiple of 4 KiB is short).
    fn page_length(&self, index: u64) -> usize {
        (self.size.saturating_sub(index * PAGE_SIZE)).min(PAGE_SIZE) as usize
    }

    fn touch(&mut self) -> u64 {
        self.use_counter += 1;
        self.use_counter
    }

    /// Makes room for one more page, writing back the victim if dirty.
    fn evict_if_full(&mut self) -> Result<(), DeviceError> {
        while self.pages.len() >= self.capacity_pages {
            let Some((&victim, _)) = self.pages.iter().min_by_key(|(_, page)| page.last_use) else {
                break;
            };
            if self.pages.get(&victim).is_some_and(|page| page.dirty) {
                self.write_back_run(victim, 1)?;
            }
            self.pages.remove(&victim);
        }
        Ok(())
    }

    /// Loads the missing pages of `first..first + count` (all missing,
    /// consecutive) with one request.
    fn load_run(&mut self, first: u64, count: u64) -> Result<(), DeviceError> {
        let length: usize = (first..first + count)
            .map(|index| self.page_length(index))
            .sum();
        let mut buffer = alloc::vec![0u8; length];
        self.disk
            .read_sectors(first * PAGE_SIZE / SECTOR_SIZE as u64, &mut buffer)
            .map_err(device_error)?;
        let mut offset = 0;
        for index in first..first + count {
            self.evict_if_full()?;
            let page_length = self.page_length(index);
            let data: Box<[u8]> = buffer[offset..offset + page_length].into();
            offset += page_length;
            let last_use = self.touch();
            self.pages.insert(
                index,
                Page {
                    data,
                    dirty: false,
                    last_use,
                },
            );
        }
        Ok(())
    }

    /// Writes `count` consecutive cached pages starting at `first` with one
    /// request and marks them clean. Pages not cached end the run early.
    fn write_back_run(&mut self, first: u64, count: u64) -> Result<(), DeviceError> {
        let mut buffer = Vec::new();
        let mut written = 0;
        for index in first..first + count {
            let Some(page) = self.pages.get(&index) else {
                break;
            };
            buffer.extend_from_slice(&page.data);
            written += 1;
        }
        self.disk
            .write_sectors(first * PAGE_SIZE / SECTOR_SIZE as u64, &buffer)
            .map_err(device_error)?;
        for index in first..first + written {
            if let Some(page) = self.pages.get_mut(&index) {
                page.dirty = false;
            }
        }
        Ok(())
    }

    /// Ensures pages `first..=last` are cached, fetching missing runs.
    fn ensure_cached(&mut self, first: u64, last: u64) -> Result<(), DeviceError> {
        let mut index = first;
        while index <= last {
            if self.pages.contains_key(&index) {
                index += 1;
                continue;
            }
            let mut count = 1;
            while index + count <= last
                && count < MAX_RUN_PAGES
                && !self.pages.contains_key(&(index + count))
            {
                count += 1;
            }
            self.load_run(index, count)?;
            index += count;
        }
        Ok(())
    }

    /// Writes every dirty page back, then drops every page: the next read
    /// of anything comes from the disk (the benchmarks' cold reads).
    ///
    /// Return values: the device's error if a write-back failed (then
    /// nothing is dropped).
    pub fn drop_all(&mut self) -> Result<(), DeviceError> {
        fs_ext2l::BlockDevice::flush(self)?;
        self.pages.clear();
        Ok(())
    }

    /// Reads `sectors` sectors from `first_sector` straight from the disk,
    /// in requests as long as the cache's longest run, into a scratch
    /// buffer that is then dropped; returns the bytes read. The cache is
    /// neither consulted nor changed (the benchmarks' raw device read).
    ///
    /// Return values: `OutOfRange` past the end of the disk; `OutOfMemory`
    /// if the scratch buffer cannot be had; `InputOutput` if the device
    /// failed.
    pub fn read_raw(&mut self, first_sector: u64, sectors: u64) -> Result<u64, Errno> {
        let sector_size = SECTOR_SIZE as u64;
        match first_sector.checked_add(sectors) {
            Some(end) if end <= self.size / sector_size => {}
            _ => return Err(Errno::OutOfRange),
        }
        let request_sectors = MAX_RUN_PAGES * PAGE_SIZE / sector_size;
        let mut buffer = Vec::new();
        buffer
            .try_reserve_exact((request_sectors.min(sectors) * sector_size) as usize)
            .map_err(|_| Errno::OutOfMemory)?;
        buffer.resize((request_sectors.min(sectors) * sector_size) as usize, 0u8);
        let mut done = 0;
        while done < sectors {
            let count = request_sectors.min(sectors - done);
            let bytes = (count * sector_size) as usize;
            self.disk
                .read_sectors(first_sector + done, &mut buffer[..bytes])
                .map_err(|_| Errno::InputOutput)?;
            done += count;
        }
        Ok(sectors * sector_size)
    }

    fn check_range(&self, offset: u64, length: usize) -> Result<(), DeviceError> {
        match offset.checked_add(length as u64) {
            Some(end) if end <= self.size => Ok(()),
            _ => Err(DeviceError::OutOfRange),
        }
    }
}

impl fs_ext2l::BlockDevice for BlockCache {
    fn read_at(&mut self, offset: u64, buffer: &mut [u8]) -> Result<(), DeviceError> {
        self.check_range(offset, buffer.len())?;
        if buffer.is_empty() {
            return Ok(());
        }
        let first = offset / PAGE_SIZE;
        let last = (offset + buffer.len() as u64 - 1) / PAGE_SIZE;
        let mut done = 0usize;
        let mut index = first;
        while index <= last {
            // Fetch in chunks so a long read never needs more pages than the
            // cache holds at once.
            let chunk_last =
                last.min(index + (self.capacity_pages as u64 / 2).clamp(1, MAX_RUN_PAGES) - 1);
            self.ensure_cached(index, chunk_last)?;
            for page_index in index..=chunk_last {
                let last_use = self.touch();
                let page = self
                    .pages
                    .get_mut(&page_index)
                    .ok_or(DeviceError::Failed { code: 0 })?;
                page.last_use = last_use;
                let page_start = page_index * PAGE_SIZE;
                let from = (offset + done as u64 - page_start) as usize;
                let take = (page.data.len() - from).min(buffer.len() - done);
                buffer[done..done + take].copy_from_slice(&page.data[from..from + take]);
                done += take;
            }
            index = chunk_last + 1;
        }
        Ok(())
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<(), DeviceError> {
        self.check_range(offset, data.len())?;
        if self.disk.is_read_only() {
            return Err(DeviceError::ReadOnly);
        }
        let mut done = 0usize;
        while done < data.len() {
            let position = offset + done as u64;
            let index = position / PAGE_SIZE;
            let from = (position % PAGE_SIZE) as usize;
            let page_length = self.page_length(index);
            let take = (page_length - from).min(data.len() - done);
            if !self.pages.contains_key(&index) {
                if from == 0 && take == page_length {
                    // The whole page is overwritten: no need to read it.
                    self.evict_if_full()?;
                    let last_use = self.touch();
                    let page = Page {
                        data: alloc::vec![0u8; page_length].into(),
                        dirty: false,
                        last_use,
                    };
                    self.pages.insert(index, page);
                } else {
                    self.ensure_cached(index, index)?;
                }
            }
            let last_use = self.touch();
            let page = self
                .pages
                .get_mut(&index)
                .ok_or(DeviceError::Failed { code: 0 })?;
            page.data[from..from + take].copy_from_slice(&data[done..done + take]);
            page.dirty = true;
            page.last_use = last_use;
            done += take;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), DeviceError> {
        let dirty: Vec<u64> = self
            .pages
            .iter()
            .filter(|(_, page)| page.dirty)
            .map(|(&index, _)| index)
            .collect();
        let mut position = 0;
        while position < dirty.len() {
            let first = dirty[position];
            let mut count = 1;
            while position + (count as usize) < dirty.len()
                && dirty[position + count as usize] == first + count
                && count < MAX_RUN_PAGES
            {
                count += 1;
            }
            self.write_back_run(first, count)?;
            position += count as usize;
        }
        self.disk.flush().map_err(device_error)?;
        Ok(())
    }

    fn size(&mut self) -> Result<u64, DeviceError> {
        Ok(self.size)
    }
}
