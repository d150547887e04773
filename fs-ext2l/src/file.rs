// SPDX-License-Identifier: MIT OR Apache-2.0
//! File contents and attributes: read, write, truncate, stat, set_attributes.
//!
//! File data goes through the block cache ([`crate::BlockCache`], as
//! [`BlockClass::Data`]) like metadata does, with one exception that keeps
//! large transfers fast: a read of at least [`STREAM_BYTES`] moves every
//! run of whole blocks that is not cached straight from the device into
//! the caller's buffer — all of them handed to the device in one
//! vectored call at the end ([`BlockDevice::read_vectored`]), so a
//! caller's buffer made of many separate pages costs one batch — and a
//! run of whole blocks of at least [`STREAM_BYTES`] in a write goes
//! straight to the device (and any cached copy of it is dropped). Those
//! runs are not cached: a big sequential read or copy does not push the
//! small, hot blocks (directories, programs) out of the cache. Blocks
//! that are cached are always copied from the cache (they may be newer
//! than the device); everything else — small reads, partial blocks,
//! small writes — is cached, so a re-read costs no device access and
//! small writes wait for write-back.
//!
//! Holes read as zeros; writing past the end of file leaves a hole (a
//! sparse file) and zeroes the tail of the old last block, so bytes
//! beyond an old end never reappear.
//!
//! Reads do not update the access time: a read never writes (like the
//! `noatime` mount option), which keeps reads possible on read-only media and
//! cheap everywhere.

use alloc::vec;
use alloc::vec::Vec;

use crate::cache::BlockClass;
use crate::device::{BlockDevice, ReadRequest};
use crate::error::{Error, Result};
use crate::filesystem::{FileSystem, Privilege};
use crate::inode::{mode, Inode, InodeFlags, InodeNumber, Metadata};

/// Largest size that needs no `large_file` feature.
const SMALL_FILE_LIMIT: u64 = 0x7FFF_FFFF;

/// A read at least this long streams its uncached runs of whole blocks
/// past the cache; a run of whole blocks at least this long in a write
/// goes past it (see the module doc).
pub const STREAM_BYTES: usize = 256 * 1024;

/// Attribute changes for [`FileSystem::set_attributes`]; `None` keeps a value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SetAttributes {
    /// New permission bits (the type bits are kept; only `0o7777` is used).
    pub mode: Option<u16>,
    /// New owner.
    pub uid: Option<u32>,
    /// New group.
    pub gid: Option<u32>,
    /// New access time.
    pub access_time: Option<u32>,
    /// New modification time.
    pub modification_time: Option<u32>,
}

/// Where a stretch of a file lies, from [`FileSystem::map_range`] and
/// [`FileSystem::allocate_range`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileExtent {
    /// `length` bytes of the file at `file_offset` are stored contiguously
    /// at byte `device_offset` of the device.
    Data {
        /// Position in the file.
        file_offset: u64,
        /// Position on the device.
        device_offset: u64,
        /// Bytes.
        length: u64,
    },
    /// `length` bytes at `file_offset` are a hole and read as zeros.
    Hole {
        /// Position in the file.
        file_offset: u64,
        /// Bytes.
        length: u64,
    },
}

/// The destination of a read: buffers filled in order as one, handed out
/// front to back as disjoint slices (so some can wait for the device
/// while others are filled from the cache).
struct Destination<'a, 'b> {
    pieces: core::slice::IterMut<'a, &'b mut [u8]>,
    current: &'a mut [u8],
}

impl<'a, 'b> Destination<'a, 'b> {
    fn new(pieces: &'a mut [&'b mut [u8]]) -> Self {
        Destination {
            pieces: pieces.iter_mut(),
            current: &mut [],
        }
    }

    /// Hands the next `length` bytes to `each`, as one slice per buffer
    /// they span.
    ///
    /// Return values: `Ok(())`, [`Error::InvalidArgument`] past the last
    /// buffer, or the first error of `each`.
    fn take(
        &mut self,
        mut length: usize,
        mut each: impl FnMut(&'a mut [u8]) -> Result<()>,
    ) -> Result<()> {
        while length > 0 {
            if self.current.is_empty() {
                match self.pieces.next() {
                    Some(piece) => self.current = &mut **piece,
                    None => return Err(Error::InvalidArgument),
                }
                continue;
            }
            let count = length.min(self.current.len());
            let (head, tail) = core::mem::take(&mut self.current).split_at_mut(count);
            self.current = tail;
            each(head)?;
            length -= count;
        }
        Ok(())
    }

    /// Copies `source` into the next bytes.
    #[inline]
    fn fill(&mut self, source: &[u8]) -> Result<()> {
        let mut from = 0;
        self.take(source.len(), |target| {
            let bytes = source
                .get(from..from + target.len())
                .ok_or(Error::InvalidArgument)?;
            target.copy_from_slice(bytes);
            from += target.len();
            Ok(())
        })
    }

    /// Zeroes the next `length` bytes.
    #[inline]
    fn zero(&mut self, length: usize) -> Result<()> {
        self.take(length, |target| {
            target.fill(0);
            Ok(())
        })
    }
}

/// Consecutive device blocks waiting to be transferred in one call.
#[derive(Clone, Copy)]
struct Run {
    device_block: u32,
    buffer_start: usize,
    blocks: usize,
}

impl Run {
    /// Whether `device_block` continues the run.
    fn continues_with(&self, device_block: u32) -> bool {
        u64::from(self.device_block) + self.blocks as u64 == u64::from(device_block)
    }
}

impl<D: BlockDevice> FileSystem<D> {
    /// What an inode is: type, permissions, owner, size, times, link count,
    /// flags and rootlink. An orphan the host holds reports 0 links.
    ///
    /// Return values: the metadata, [`Error::NotFound`] for an inode not in
    /// use (nor an orphan the host holds), [`Error::Corrupt`] or
    /// [`Error::Device`].
    pub fn stat(&mut self, inode: InodeNumber) -> Result<Metadata> {
        let result = self.stat_unobserved(inode);
        self.observe(result)
    }

    /// [`Self::stat`], without marking damage it finds.
    fn stat_unobserved(&mut self, inode: InodeNumber) -> Result<Metadata> {
        Ok(self.accessible_inode(inode)?.metadata())
    }

    /// Loads a regular file for reading or writing: one in use, or an
    /// orphan the host holds (its handles keep working, `orphan.rs`).
    fn regular_file(&mut self, number: InodeNumber) -> Result<Inode> {
        let inode = self.accessible_inode(number)?;
        if inode.is_directory() {
            return Err(Error::IsADirectory);
        }
        if !inode.is_regular() {
            return Err(Error::InvalidArgument);
        }
        Ok(inode)
    }

    /// Reads consecutive device blocks `first .. first + count` (whole
    /// blocks of a file) into the next bytes of `destination`: held
    /// blocks are copied from the cache; each run of blocks not held is,
    /// when `stream`, added to `streamed` (read past the cache, later, in
    /// one batch), else read through the cache.
    fn read_blocks<'a>(
        &mut self,
        first: u32,
        count: u64,
        stream: bool,
        destination: &mut Destination<'a, '_>,
        streamed: &mut Vec<ReadRequest<'a>>,
    ) -> Result<()> {
        let block_size = self.geometry.block_bytes();
        let end = u64::from(first) + count;
        let mut block = u64::from(first);
        while block < end {
            let number = u32::try_from(block).map_err(|_| Error::InvalidArgument)?;
            let held = self.cache.first_held(number, end).map_or(end, u64::from);
            if held == block {
                let data = self
                    .cache
                    .read(&mut self.device, number, BlockClass::Data)?;
                destination.fill(data)?;
                block += 1;
                continue;
            }
            let missing = held - block;
            if stream {
                let mut device_offset = self.geometry.block_offset(number);
                destination.take(missing as usize * block_size, |buffer| {
                    let length = buffer.len() as u64;
                    streamed.push(ReadRequest {
                        offset: device_offset,
                        buffer,
                    });
                    device_offset += length;
                    Ok(())
                })?;
            } else {
                let buffers = self.cache.read_run(
                    &mut self.device,
                    number,
                    missing as usize,
                    BlockClass::Data,
                )?;
                for buffer in &buffers {
                    destination.fill(buffer)?;
                }
            }
            block = held;
        }
        Ok(())
    }

    /// Writes `run` of whole blocks from `data`: a long run straight to
    /// the device (dropping cached copies, now older), a short one into
    /// the cache.
    fn write_run(&mut self, file: InodeNumber, run: Option<Run>, data: &[u8]) -> Result<()> {
        let Some(run) = run else {
            return Ok(());
        };
        let block_size = self.geometry.block_bytes();
        let length = run.blocks * block_size;
        let source = data
            .get(run.buffer_start..run.buffer_start + length)
            .ok_or(Error::InvalidArgument)?;
        if length >= STREAM_BYTES {
            self.device
                .write_at(self.geometry.block_offset(run.device_block), source)?;
            self.cache
                .discard_range(run.device_block, run.blocks as u64);
            self.transactions
                .note_written_directly(run.device_block, run.blocks as u64);
        } else {
            for (index, bytes) in source.chunks(block_size).enumerate() {
                let block = run.device_block + index as u32;
                self.cache
                    .overwrite(&mut self.device, block, BlockClass::Data, bytes)?;
                self.transactions.note_file_block(file, block);
            }
        }
        Ok(())
    }

    /// Reads from a regular file at `offset` into `buffer`.
    ///
    /// Return values:
    /// - the number of bytes read: less than `buffer.len()` only at the end
    ///   of file, 0 at or past it;
    /// - [`Error::IsADirectory`], [`Error::InvalidArgument`] (not a regular file);
    /// - [`Error::NotFound`], [`Error::Corrupt`], [`Error::Device`].
    pub fn read(&mut self, inode: InodeNumber, offset: u64, buffer: &mut [u8]) -> Result<usize> {
        self.read_pieces(inode, offset, &mut [buffer])
    }

    /// Reads from a regular file at `offset` into `pieces`, filled in order
    /// as if they were one buffer (memory that is not consecutive, e.g. a
    /// caller's pages): one pass over the file's block map for them all.
    ///
    /// Return values: as [`Self::read`], the count over all pieces.
    pub fn read_pieces(
        &mut self,
        inode: InodeNumber,
        offset: u64,
        pieces: &mut [&mut [u8]],
    ) -> Result<usize> {
        let result = self.read_pieces_unobserved(inode, None, offset, pieces);
        self.observe(result)
    }

    /// [`Self::read_pieces`] of `inode` only while it is still the file of
    /// `generation` (`i_generation`): a handle's check that it reaches the
    /// object it was opened on, at no cost when the read reuses the inode
    /// the last one loaded.
    ///
    /// Return values: as [`Self::read`]; [`Error::NotFound`] also when
    /// the inode's generation is not `generation`.
    pub fn read_pieces_of_generation(
        &mut self,
        inode: InodeNumber,
        generation: u32,
        offset: u64,
        pieces: &mut [&mut [u8]],
    ) -> Result<usize> {
        let result = self.read_pieces_unobserved(inode, Some(generation), offset, pieces);
        self.observe(result)
    }

    /// [`Self::read_pieces`], without marking damage it finds; with
    /// `generation`, only of the file of that generation.
    fn read_pieces_unobserved(
        &mut self,
        inode: InodeNumber,
        generation: Option<u32>,
        offset: u64,
        pieces: &mut [&mut [u8]],
    ) -> Result<usize> {
        // The inode the last read loaded, when nothing has changed since:
        // a program reading a file in many calls loads it once. It is lent
        // out of `last_file` (boxed: moving it costs nothing) and put back.
        let changes = self.cache.changes();
        let file = match self.last_file.take() {
            Some((seen, file)) if seen == changes && file.number == inode => file,
            _ => alloc::boxed::Box::new(self.regular_file(inode)?),
        };
        let result = match generation {
            Some(generation) if file.generation() != generation => Err(Error::NotFound),
            _ => self.read_file_pieces(&file, offset, pieces),
        };
        self.last_file = Some((changes, file));
        result
    }

    /// [`Self::read_pieces`] of loaded regular file `inode`.
    fn read_file_pieces(
        &mut self,
        inode: &Inode,
        offset: u64,
        pieces: &mut [&mut [u8]],
    ) -> Result<usize> {
        let size = inode.size();
        if offset >= size {
            return Ok(0);
        }
        let total: usize = pieces.iter().map(|piece| piece.len()).sum();
        let pieces_count = pieces.len();
        let length = (size - offset).min(total as u64) as usize;
        let stream = length >= STREAM_BYTES;
        let mut destination = Destination::new(pieces);
        let mut streamed: Vec<ReadRequest<'_>> = Vec::new();
        if stream {
            // One piece per buffer, plus a few where the file is not one
            // run on the device: rarely a second allocation.
            streamed.reserve(pieces_count + 4);
        }
        let block_size = self.geometry.block_bytes();
        let mut done = 0usize;
        while done < length {
            let position = offset + done as u64;
            let logical = position / block_size as u64;
            let in_block = (position % block_size as u64) as usize;
            let left = length - done;
            if in_block != 0 || left < block_size {
                // A partial block, through the cache.
                let chunk = (block_size - in_block).min(left);
                match self.map_block(inode, logical)? {
                    Some(device_block) => {
                        let data =
                            self.cache
                                .read(&mut self.device, device_block, BlockClass::Data)?;
                        let source = data
                            .get(in_block..in_block + chunk)
                            .ok_or(Error::InvalidArgument)?;
                        destination.fill(source)?;
                    }
                    None => destination.zero(chunk)?,
                }
                done += chunk;
                continue;
            }
            // Consecutive whole blocks mapped to consecutive device blocks,
            // from one pointer block.
            let whole_blocks = (left / block_size) as u64;
            match self.map_run(inode, logical, whole_blocks)? {
                Some((first, count)) => {
                    self.read_blocks(first, count, stream, &mut destination, &mut streamed)?;
                    done += count as usize * block_size;
                }
                None => {
                    destination.zero(block_size)?;
                    done += block_size;
                }
            }
        }
        if !streamed.is_empty() {
            // The pointer blocks the next stretch as long as this one
            // needs come along with this read's data: a sequential reader
            // then never waits for one on its own.
            let end = offset + length as u64;
            let next = end / block_size as u64;
            let ahead = if end % block_size as u64 == 0
                && !self.run_covers(inode, next, (length / block_size) as u64)
            {
                self.pointer_blocks_to_fetch(inode, next, (length / block_size) as u64)
            } else {
                Vec::new()
            };
            self.cache.read_along(
                &mut self.device,
                &mut streamed,
                &ahead,
                BlockClass::Metadata,
            )?;
        }
        Ok(length)
    }

    /// Zeroes the bytes of the block holding `size` that lie at or after
    /// `size`, so a file growing past its old end reads zeros there.
    fn zero_tail(&mut self, inode: &Inode, size: u64) -> Result<()> {
        let block_size = self.geometry.block_bytes();
        let in_block = (size % block_size as u64) as usize;
        if in_block == 0 {
            return Ok(());
        }
        if let Some(device_block) = self.map_block(inode, size / block_size as u64)? {
            let block = self
                .cache
                .write(&mut self.device, device_block, BlockClass::Data)?;
            if let Some(tail) = block.get_mut(in_block..) {
                tail.fill(0);
            }
            self.transactions
                .note_file_block(inode.number, device_block);
            self.transactions.note_extended(device_block);
        }
        Ok(())
    }

    /// Writes `data` to a regular file at `offset`, allocating blocks as
    /// needed; writing past the end grows the file and leaves a hole.
    ///
    /// Return values:
    /// - the number of bytes written: all of `data`, or fewer when space ran
    ///   out part way (then the file holds what was written);
    /// - [`Error::NoSpace`] when not even one byte fit;
    /// - [`Error::FileTooLarge`] past the largest file size;
    /// - [`Error::Immutable`], [`Error::NotPermitted`] (append-only file
    ///   written elsewhere than at its end), [`Error::ReadOnly`];
    /// - [`Error::IsADirectory`], [`Error::InvalidArgument`], [`Error::NotFound`],
    ///   [`Error::Corrupt`], [`Error::Device`].
    pub fn write(&mut self, inode: InodeNumber, offset: u64, data: &[u8]) -> Result<usize> {
        self.write_in_pieces(inode, offset, data, Privilege::Ordinary)
    }

    /// Bytes of one piece of a long write on a journaled mount: each piece
    /// is an operation of its own, so the running transaction can commit
    /// between pieces (`transaction.rs`). A piece allocates about an
    /// eighth of the cache's worth of pointer blocks, at least two
    /// streamed runs' worth and at most 16 MiB.
    fn write_piece_bytes(&self) -> usize {
        if !self.transactions.journaling() {
            return usize::MAX;
        }
        let block_size = self.geometry.block_bytes();
        let pointer_blocks = (self.cache.capacity() / 8).max(1);
        (self.geometry.pointers_per_block() as usize)
            .saturating_mul(pointer_blocks)
            .saturating_mul(block_size)
            .clamp(2 * STREAM_BYTES, 16 << 20)
    }

    /// [`Self::write`] for `privilege`, in pieces (see
    /// [`Self::write_piece_bytes`]); when space runs out while freed
    /// blocks wait for a commit, commits once and goes on.
    pub(crate) fn write_in_pieces(
        &mut self,
        number: InodeNumber,
        offset: u64,
        data: &[u8],
        privilege: Privilege,
    ) -> Result<usize> {
        let piece = self.write_piece_bytes();
        let block_size = self.geometry.block_size as u64;
        let mut done = 0usize;
        let mut committed_for_space = false;
        loop {
            if let Err(error) = self.prepare_change() {
                return if done == 0 { Err(error) } else { Ok(done) };
            }
            // Pieces end on block boundaries of the file.
            let target = offset.saturating_add((done as u64).saturating_add(piece as u64));
            let aligned = (target - target % block_size).saturating_sub(offset);
            let end = usize::try_from(aligned)
                .unwrap_or(usize::MAX)
                .max(done + 1)
                .min(data.len());
            let wanted = end - done;
            let written = self.write_as(
                number,
                offset + done as u64,
                data.get(done..end).unwrap_or(&[]),
                privilege,
            );
            let result = self.observe(written);
            let short = match result {
                Ok(count) => {
                    done += count;
                    count < wanted
                }
                Err(Error::NoSpace) => true,
                Err(error) => return if done == 0 { Err(error) } else { Ok(done) },
            };
            if short {
                if committed_for_space || !self.transactions.frees_wait() || self.commit().is_err()
                {
                    break;
                }
                committed_for_space = true;
                continue;
            }
            if done >= data.len() {
                break;
            }
        }
        if done == 0 && !data.is_empty() {
            return Err(Error::NoSpace);
        }
        Ok(done)
    }

    pub(crate) fn write_as(
        &mut self,
        number: InodeNumber,
        offset: u64,
        data: &[u8],
        privilege: Privilege,
    ) -> Result<usize> {
        self.require_writable()?;
        let mut inode = self.regular_file(number)?;
        self.require_mutable(&inode, privilege)?;
        let old_size = inode.size();
        if privilege == Privilege::Ordinary
            && inode.flags().contains(InodeFlags::APPEND_ONLY)
            && offset != old_size
        {
            return Err(Error::NotPermitted);
        }
        let end = offset
            .checked_add(data.len() as u64)
            .ok_or(Error::FileTooLarge)?;
        if end > self.geometry.max_file_size() {
            return Err(Error::FileTooLarge);
        }
        if data.is_empty() {
            return Ok(0);
        }
        if offset > old_size {
            self.zero_tail(&inode, old_size)?;
        }
        let block_size = self.geometry.block_bytes();
        let first_logical = offset / block_size as u64;
        let mut goal = match first_logical.checked_sub(1) {
            Some(previous) => match self.map_block(&inode, previous)? {
                Some(block) => block.saturating_add(1),
                None => self.inode_goal(number),
            },
            None => self.inode_goal(number),
        };
        let mut run: Option<Run> = None;
        let mut done = 0usize;
        let mut failure = None;
        while done < data.len() {
            let position = offset + done as u64;
            let logical = position / block_size as u64;
            let in_block = (position % block_size as u64) as usize;
            let chunk = (block_size - in_block).min(data.len() - done);
            let (device_block, fresh) = match self.map_or_allocate(&mut inode, logical, goal) {
                Ok(mapping) => mapping,
                Err(error) => {
                    failure = Some(error);
                    break;
                }
            };
            goal = device_block.saturating_add(1);
            if position + chunk as u64 > old_size {
                // Bytes past the old end: the new size must not commit
                // before them (ordered mode).
                self.transactions.note_extended(device_block);
            }
            if in_block == 0 && chunk == block_size {
                match &mut run {
                    Some(current) if current.continues_with(device_block) => current.blocks += 1,
                    _ => {
                        self.write_run(number, run.take(), data)?;
                        run = Some(Run {
                            device_block,
                            buffer_start: done,
                            blocks: 1,
                        });
                    }
                }
            } else {
                self.write_run(number, run.take(), data)?;
                // A partial block, patched in the cache (a fresh block
                // starts as zeros, not as whatever the device holds).
                let source = data.get(done..done + chunk).ok_or(Error::InvalidArgument)?;
                let block = if fresh {
                    self.cache
                        .zeroed(&mut self.device, device_block, BlockClass::Data)?
                } else {
                    self.cache
                        .write(&mut self.device, device_block, BlockClass::Data)?
                };
                if let Some(target) = block.get_mut(in_block..in_block + chunk) {
                    target.copy_from_slice(source);
                }
                self.transactions.note_file_block(number, device_block);
            }
            done += chunk;
        }
        self.write_run(number, run, data)?;
        let new_size = old_size.max(offset + done as u64);
        if done > 0 || new_size != old_size {
            inode.set_size(new_size);
            let now = self.now();
            inode.set_modification_time(now);
            inode.set_change_time(now);
        }
        if new_size > SMALL_FILE_LIMIT {
            self.mark_large_file();
        }
        self.write_inode(&inode)?;
        match failure {
            Some(error) if done == 0 => Err(error),
            _ => Ok(done),
        }
    }

    /// Where the bytes `offset .. offset + length` of a regular file lie on
    /// the device (clipped to the file size), as runs of data and holes in
    /// file order. Hosts use it to move file data with the operating
    /// system's own copy (`copy_file_range`) instead of through a buffer.
    ///
    /// Return values: the extents, [`Error::IsADirectory`],
    /// [`Error::InvalidArgument`], [`Error::NotFound`], [`Error::Corrupt`],
    /// [`Error::Device`].
    pub fn map_range(
        &mut self,
        inode: InodeNumber,
        offset: u64,
        length: u64,
    ) -> Result<Vec<FileExtent>> {
        let result = self.map_range_unobserved(inode, offset, length);
        self.observe(result)
    }

    /// [`Self::map_range`], without marking damage it finds.
    fn map_range_unobserved(
        &mut self,
        inode: InodeNumber,
        offset: u64,
        length: u64,
    ) -> Result<Vec<FileExtent>> {
        let inode = self.regular_file(inode)?;
        let end = offset.saturating_add(length).min(inode.size());
        let block_size = u64::from(self.geometry.block_size);
        let mut extents: Vec<FileExtent> = Vec::new();
        let mut position = offset;
        while position < end {
            let logical = position / block_size;
            let in_block = position % block_size;
            let chunk = (block_size - in_block).min(end - position);
            let piece = match self.map_block(&inode, logical)? {
                Some(block) => FileExtent::Data {
                    file_offset: position,
                    device_offset: self.geometry.block_offset(block) + in_block,
                    length: chunk,
                },
                None => FileExtent::Hole {
                    file_offset: position,
                    length: chunk,
                },
            };
            match (extents.last_mut(), piece) {
                (
                    Some(FileExtent::Data {
                        device_offset,
                        length,
                        ..
                    }),
                    FileExtent::Data {
                        device_offset: next,
                        length: more,
                        ..
                    },
                ) if *device_offset + *length == next => *length += more,
                (Some(FileExtent::Hole { length, .. }), FileExtent::Hole { length: more, .. }) => {
                    *length += more
                }
                (_, piece) => extents.push(piece),
            }
            position += chunk;
        }
        // The host reads these bytes from the device: changes still in the
        // cache go there first.
        for extent in &extents {
            if let Some((first, count)) = self.extent_blocks(extent) {
                self.cache
                    .write_back_range(&mut self.device, first, count)?;
            }
        }
        Ok(extents)
    }

    /// The device blocks a data extent touches: first and count.
    fn extent_blocks(&self, extent: &FileExtent) -> Option<(u32, u64)> {
        let FileExtent::Data {
            device_offset,
            length,
            ..
        } = *extent
        else {
            return None;
        };
        let block_size = u64::from(self.geometry.block_size);
        let first = u32::try_from(device_offset / block_size).ok()?;
        let end = device_offset.checked_add(length)?.div_ceil(block_size);
        Some((first, end.saturating_sub(u64::from(first))))
    }

    /// Allocates every block of `offset .. offset + length` in a regular
    /// file (`offset` block-aligned), grows the file to cover it, and
    /// returns where those bytes lie on the device, for a host to fill
    /// directly.
    ///
    /// Contract: newly allocated blocks are not initialised (only the tail of
    /// a partial last block is zeroed); the caller must write every byte of
    /// the returned extents before the file is read. That is why only host
    /// tools use this; the kernel writes through [`Self::write`].
    ///
    /// Return values: the extents, [`Error::InvalidArgument`] for an
    /// unaligned offset or a file that is not regular, [`Error::NoSpace`]
    /// (checked before anything is allocated), [`Error::FileTooLarge`], and
    /// the errors of [`Self::write`].
    pub fn allocate_range(
        &mut self,
        number: InodeNumber,
        offset: u64,
        length: u64,
    ) -> Result<Vec<FileExtent>> {
        // The host fills the blocks itself, past the cache, and an
        // allocation cannot stop half way: blocks freed by the running
        // transaction are made available first.
        if self.transactions.frees_wait() {
            self.prepare_change()?;
            self.commit()?;
        }
        self.change(|file_system| file_system.allocate_range_unobserved(number, offset, length))
    }

    /// [`Self::allocate_range`], without marking damage it finds.
    fn allocate_range_unobserved(
        &mut self,
        number: InodeNumber,
        offset: u64,
        length: u64,
    ) -> Result<Vec<FileExtent>> {
        self.require_writable()?;
        let mut inode = self.regular_file(number)?;
        self.require_mutable(&inode, Privilege::Ordinary)?;
        let block_size = u64::from(self.geometry.block_size);
        if offset % block_size != 0 || inode.flags().contains(InodeFlags::APPEND_ONLY) {
            return Err(Error::InvalidArgument);
        }
        let end = offset.checked_add(length).ok_or(Error::FileTooLarge)?;
        if end > self.geometry.max_file_size() {
            return Err(Error::FileTooLarge);
        }
        // Data blocks plus one indirect block per pointer block's worth,
        // plus the roots: if that is not free, fail before changing anything.
        let blocks = length.div_ceil(block_size);
        let needed = blocks + blocks / u64::from(self.geometry.pointers_per_block()) + 3;
        if needed > u64::from(self.superblock.free_blocks_count()) {
            return Err(Error::NoSpace);
        }
        let old_size = inode.size();
        if offset > old_size {
            self.zero_tail(&inode, old_size)?;
        }
        let mut goal = match (offset / block_size).checked_sub(1) {
            Some(previous) => self
                .map_block(&inode, previous)?
                .map_or_else(|| self.inode_goal(number), |block| block.saturating_add(1)),
            None => self.inode_goal(number),
        };
        let mut extents: Vec<FileExtent> = Vec::new();
        let mut position = offset;
        while position < end {
            let chunk = block_size.min(end - position);
            let (block, fresh) = self.map_or_allocate(&mut inode, position / block_size, goal)?;
            goal = block.saturating_add(1);
            let device_offset = self.geometry.block_offset(block);
            if fresh && chunk < block_size {
                self.device
                    .write_at(device_offset, &vec![0u8; block_size as usize])?;
            }
            match extents.last_mut() {
                Some(FileExtent::Data {
                    device_offset: start,
                    length,
                    ..
                }) if *start + *length == device_offset => *length += chunk,
                _ => extents.push(FileExtent::Data {
                    file_offset: position,
                    device_offset,
                    length: chunk,
                }),
            }
            position += chunk;
        }
        // The host writes these blocks on the device: whatever the cache
        // holds of them goes there first and leaves the cache, so no stale
        // copy is read or written back later.
        for extent in &extents {
            if let Some((first, count)) = self.extent_blocks(extent) {
                self.cache
                    .write_back_range(&mut self.device, first, count)?;
                self.cache.discard_range(first, count);
            }
        }
        let new_size = old_size.max(end);
        inode.set_size(new_size);
        let now = self.now();
        inode.set_modification_time(now);
        inode.set_change_time(now);
        if new_size > SMALL_FILE_LIMIT {
            self.mark_large_file();
        }
        self.write_inode(&inode)?;
        Ok(extents)
    }

    /// Sets a regular file's size: shrinking frees the blocks past the new
    /// end, growing leaves a hole.
    ///
    /// Return values: `Ok(())`, [`Error::FileTooLarge`], [`Error::Immutable`],
    /// [`Error::ReadOnly`], [`Error::IsADirectory`], [`Error::InvalidArgument`],
    /// [`Error::NotFound`], [`Error::Corrupt`], [`Error::Device`].
    pub fn truncate(&mut self, inode: InodeNumber, size: u64) -> Result<()> {
        self.change(|file_system| file_system.truncate_as(inode, size, Privilege::Ordinary))
    }

    pub(crate) fn truncate_as(
        &mut self,
        number: InodeNumber,
        size: u64,
        privilege: Privilege,
    ) -> Result<()> {
        self.require_writable()?;
        let mut inode = self.regular_file(number)?;
        self.require_mutable(&inode, privilege)?;
        if privilege == Privilege::Ordinary && inode.flags().contains(InodeFlags::APPEND_ONLY) {
            return Err(Error::NotPermitted);
        }
        if size > self.geometry.max_file_size() {
            return Err(Error::FileTooLarge);
        }
        let old_size = inode.size();
        let block_size = self.geometry.block_size as u64;
        if size < old_size {
            self.free_blocks_from(&mut inode, size.div_ceil(block_size))?;
            self.zero_tail(&inode, size)?;
        } else if size > old_size {
            self.zero_tail(&inode, old_size)?;
        }
        inode.set_size(size);
        let now = self.now();
        inode.set_modification_time(now);
        inode.set_change_time(now);
        if size > SMALL_FILE_LIMIT {
            self.mark_large_file();
        }
        self.write_inode(&inode)
    }

    /// Changes permissions, owner, group or times.
    ///
    /// Return values: `Ok(())`, [`Error::Immutable`], [`Error::ReadOnly`],
    /// [`Error::NotFound`], [`Error::Corrupt`], [`Error::Device`].
    pub fn set_attributes(&mut self, inode: InodeNumber, changes: SetAttributes) -> Result<()> {
        self.change(|file_system| {
            file_system.set_attributes_as(inode, changes, Privilege::Ordinary)
        })
    }

    pub(crate) fn set_attributes_as(
        &mut self,
        number: InodeNumber,
        changes: SetAttributes,
        privilege: Privilege,
    ) -> Result<()> {
        self.require_writable()?;
        let mut inode = self.accessible_inode(number)?;
        self.require_mutable(&inode, privilege)?;
        if let Some(permissions) = changes.mode {
            let kept = inode.mode() & mode::TYPE_MASK;
            inode.set_mode(kept | (permissions & mode::PERMISSION_MASK));
        }
        if let Some(uid) = changes.uid {
            inode.set_uid(uid);
        }
        if let Some(gid) = changes.gid {
            inode.set_gid(gid);
        }
        if let Some(time) = changes.access_time {
            inode.set_access_time(time);
        }
        if let Some(time) = changes.modification_time {
            inode.set_modification_time(time);
        }
        inode.set_change_time(self.now());
        self.write_inode(&inode)
    }
}
