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
//! recently used page is evicted first, written back if dirty. Pages are
//! kept in recency order ([`BlockCache::lru`]), so finding the victim costs
//! a tree lookup, not a scan, and an evicted page's buffer is reused.
//!
//! Streaming: a read that needs at least [`STREAM_PAGES`] consecutive
//! pages none of which is cached goes from the disk straight into the
//! caller's buffer, in requests of up to [`MAX_RUN_PAGES`], and is not
//! cached. A long sequential read (a big file read in large calls) thus
//! costs the device transfer and no copy, and does not push every small,
//! hot page (directories, programs) out of the cache. Reads in small calls
//! are cached as before. A `read` into a caller's own pages
//! ([`BlockCache::stream_into`]) streams every uncached run however short
//! (the caller's pages may split a long run), and its requests go to the
//! device together, several in flight at once.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use fs_ext2l::DeviceError;
use hal::virtio::{BlockDevice, BlockError, FrameRead, SECTOR_SIZE};
use manux_abi::Errno;

/// Bytes in a cache page.
pub const PAGE_SIZE: u64 = 4096;
/// Longest run of pages moved in one device request.
const MAX_RUN_PAGES: u64 = 128;
/// Uncached runs at least this long bypass the cache (see the module doc).
pub const STREAM_PAGES: u64 = 64;
/// Pages read ahead past a read that missed the cache.
const READ_AHEAD_PAGES: u64 = 16;
/// Evicted page buffers kept for reuse.
const SPARE_PAGES: usize = 64;

struct Page {
    data: Box<[u8]>,
    dirty: bool,
    last_use: u64,
}

/// A disk with a write-back page cache in front of it.
pub struct BlockCache {
    disk: BlockDevice,
    pages: BTreeMap<u64, Page>,
    /// The cached pages by last use (`last_use` → page index): the first
    /// is the least recently used.
    lru: BTreeMap<u64, u64>,
    /// Buffers of evicted pages, reused for new ones.
    spare: Vec<Box<[u8]>>,
    capacity_pages: usize,
    use_counter: u64,
    size: u64,
    /// The caller's memory a long read is filling, if one is (see
    /// [`BlockCache::stream_into`]).
    targets: Vec<StreamTarget>,
    /// Streamed reads into `target` not yet sent to the disk.
    pending: Vec<FrameRead>,
}

/// Physically consecutive memory of a caller that reads fill directly.
#[derive(Clone, Copy)]
struct StreamTarget {
    /// Its address in the kernel's view (the slice the file system fills).
    virtual_start: u64,
    /// Its physical address.
    physical_start: u64,
    length: usize,
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
            lru: BTreeMap::new(),
            spare: Vec::new(),
            capacity_pages: capacity_pages.max(8),
            use_counter: 0,
            size,
            targets: Vec::new(),
            pending: Vec::new(),
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

    /// Marks cached page `index` as just used.
    fn use_page(&mut self, index: u64) {
        let last_use = self.touch();
        if let Some(page) = self.pages.get_mut(&index) {
            self.lru.remove(&page.last_use);
            page.last_use = last_use;
            self.lru.insert(last_use, index);
        }
    }

    /// Caches page `index` holding `bytes` (its length); it must not be
    /// cached yet.
    fn insert_page(&mut self, index: u64, bytes: &[u8], dirty: bool) {
        let data = match self.spare.pop() {
            Some(mut data) if data.len() == bytes.len() => {
                data.copy_from_slice(bytes);
                data
            }
            _ => bytes.into(),
        };
        let last_use = self.touch();
        self.lru.insert(last_use, index);
        if let Some(old) = self.pages.insert(
            index,
            Page {
                data,
                dirty,
                last_use,
            },
        ) {
            self.lru.remove(&old.last_use);
        }
    }

    /// Drops page `index`, keeping its buffer for reuse.
    fn remove_page(&mut self, index: u64) {
        if let Some(page) = self.pages.remove(&index) {
            self.lru.remove(&page.last_use);
            if self.spare.len() < SPARE_PAGES {
                self.spare.push(page.data);
            }
        }
    }

    /// Makes room for one more page, writing back the victim if dirty.
    fn evict_if_full(&mut self) -> Result<(), DeviceError> {
        while self.pages.len() >= self.capacity_pages {
            let Some((_, &victim)) = self.lru.first_key_value() else {
                break;
            };
            if self.pages.get(&victim).is_some_and(|page| page.dirty) {
                self.write_back_run(victim, 1)?;
            }
            self.remove_page(victim);
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
            self.insert_page(index, &buffer[offset..offset + page_length], false);
            offset += page_length;
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
    ///
    /// A run fetched for a read goes on for up to `ahead` pages past
    /// `last` (read-ahead), as far as they are missing too: sequential
    /// reads in small pieces then cost one request per run, not per page.
    fn ensure_cached(&mut self, first: u64, last: u64, ahead: u64) -> Result<(), DeviceError> {
        let end = (last + ahead).min(self.size.div_ceil(PAGE_SIZE).saturating_sub(1));
        let mut index = first;
        while index <= last {
            if self.pages.contains_key(&index) {
                index += 1;
                continue;
            }
            let mut count = 1;
            while index + count <= end.max(last)
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

    /// Until [`Self::finish_streaming`], reads into `buffer` — a caller's
    /// memory, physically consecutive from `physical` (a `read` of a file
    /// straight into the caller's pages; one call per piece of it) —
    /// stream every run of whole, uncached pages, however short, straight
    /// from the disk, and those requests are only queued:
    /// `finish_streaming` sends them together (see
    /// [`BlockDevice::read_sectors_to_frames`]). Reads into other memory
    /// (the file system's own blocks) are served as usual.
    ///
    /// Return values: `OutOfMemory` if the piece cannot be noted (it is
    /// then served as other memory).
    pub fn stream_into(&mut self, buffer: &[u8], physical: u64) -> Result<(), Errno> {
        self.targets
            .try_reserve(1)
            .map_err(|_| Errno::OutOfMemory)?;
        self.targets.push(StreamTarget {
            virtual_start: buffer.as_ptr() as u64,
            physical_start: physical,
            length: buffer.len(),
        });
        Ok(())
    }

    /// Sends the reads queued since [`Self::stream_into`] and waits for
    /// them; ends the streaming.
    ///
    /// Return values: the device's error if a read failed.
    pub fn finish_streaming(&mut self) -> Result<(), DeviceError> {
        self.targets.clear();
        let pending = core::mem::take(&mut self.pending);
        if pending.is_empty() {
            return Ok(());
        }
        let result = self
            .disk
            .read_sectors_to_frames(&pending)
            .map_err(device_error);
        self.pending = pending;
        self.pending.clear();
        result
    }

    /// The physical address of `buffer` if it lies in a stream target.
    fn target_physical(&self, buffer: &[u8]) -> Option<u64> {
        let start = buffer.as_ptr() as u64;
        self.targets.iter().find_map(|target| {
            let offset = start.checked_sub(target.virtual_start)?;
            (offset + buffer.len() as u64 <= target.length as u64)
                .then_some(target.physical_start + offset)
        })
    }

    /// Queues a streamed read of `length` bytes from `sector` into
    /// `physical`, joining the previous one when both continue it.
    fn queue_read(&mut self, sector: u64, physical: u64, length: usize) {
        let longest = (MAX_RUN_PAGES * PAGE_SIZE) as usize;
        if let Some(last) = self.pending.last_mut() {
            if last.sector + (last.length / SECTOR_SIZE) as u64 == sector
                && last.physical + last.length as u64 == physical
                && last.length + length <= longest
            {
                last.length += length;
                return;
            }
        }
        self.pending.push(FrameRead {
            sector,
            physical,
            length,
        });
    }

    /// Writes every dirty page back, then drops every page: the next read
    /// of anything comes from the disk (the benchmarks' cold reads).
    ///
    /// Return values: the device's error if a write-back failed (then
    /// nothing is dropped).
    pub fn drop_all(&mut self) -> Result<(), DeviceError> {
        fs_ext2l::BlockDevice::flush(self)?;
        self.pages.clear();
        self.lru.clear();
        self.spare.clear();
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

    /// Copies from cached page `index`, from disk offset `position` (in
    /// that page), into the start of `buffer`; returns the bytes copied.
    fn copy_cached(
        &mut self,
        index: u64,
        position: u64,
        buffer: &mut [u8],
    ) -> Result<usize, DeviceError> {
        self.use_page(index);
        let page = self
            .pages
            .get(&index)
            .ok_or(DeviceError::Failed { code: 0 })?;
        let from = (position - index * PAGE_SIZE) as usize;
        let take = (page.data.len() - from).min(buffer.len());
        buffer[..take].copy_from_slice(&page.data[from..from + take]);
        Ok(take)
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
            let position = offset + done as u64;
            // A cached page is copied on its own, so that a long uncached
            // run right after it can still stream.
            if self.pages.contains_key(&index) {
                done += self.copy_cached(index, position, &mut buffer[done..])?;
                index += 1;
                continue;
            }
            // A long run of whole, uncached pages streams past the cache.
            if position % PAGE_SIZE == 0 {
                let whole_pages = ((buffer.len() - done) as u64 / PAGE_SIZE).min(last - index + 1);
                // Up to the first cached page (one tree lookup, not one
                // per page), and only pages the disk holds whole.
                let whole_on_disk = self.size / PAGE_SIZE;
                let mut run = whole_pages.min(whole_on_disk.saturating_sub(index));
                if let Some((&cached, _)) = self.pages.range(index..index + run).next() {
                    run = cached - index;
                }
                let into_frames = self.target_physical(&buffer[done..]);
                let mut done_here = 0usize;
                if run >= STREAM_PAGES || (into_frames.is_some() && run > 0) {
                    let mut streamed = 0;
                    while streamed < run {
                        let page = index + streamed;
                        let count = (run - streamed).min(MAX_RUN_PAGES);
                        let bytes = (count * PAGE_SIZE) as usize;
                        let sector = page * PAGE_SIZE / SECTOR_SIZE as u64;
                        match into_frames {
                            Some(physical) => {
                                self.queue_read(sector, physical + done_here as u64, bytes);
                            }
                            None => {
                                self.disk
                                    .read_sectors(sector, &mut buffer[done..done + bytes])
                                    .map_err(device_error)?;
                            }
                        }
                        done_here += bytes;
                        done += bytes;
                        streamed += count;
                    }
                    index += run;
                    continue;
                }
            }
            // Otherwise fetch in chunks, so a long read never needs more
            // pages than the cache holds at once.
            let chunk_last =
                last.min(index + (self.capacity_pages as u64 / 2).clamp(1, MAX_RUN_PAGES) - 1);
            // No read-ahead while a read streams into a caller's pages:
            // what follows a pointer block it needs is that read's data,
            // which streams (read ahead, it would be cached and copied).
            let ahead = if self.targets.is_empty() {
                READ_AHEAD_PAGES.min(self.capacity_pages as u64 / 4)
            } else {
                0
            };
            self.ensure_cached(index, chunk_last, ahead)?;
            for page_index in index..=chunk_last {
                done += self.copy_cached(page_index, offset + done as u64, &mut buffer[done..])?;
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
                    self.insert_page(index, &data[done..done + take], true);
                    done += take;
                    continue;
                }
                self.ensure_cached(index, index, 0)?;
            }
            self.use_page(index);
            let page = self
                .pages
                .get_mut(&index)
                .ok_or(DeviceError::Failed { code: 0 })?;
            page.data[from..from + take].copy_from_slice(&data[done..done + take]);
            page.dirty = true;
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
