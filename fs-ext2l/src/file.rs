// SPDX-License-Identifier: MIT OR Apache-2.0
//! File contents and attributes: read, write, truncate, stat, set_attributes.
//!
//! Regular-file data bypasses the metadata cache: whole blocks move between
//! the caller's buffer and the device, and consecutive device blocks are
//! gathered into one device call, so a large file costs a few long transfers
//! rather than one call per block. Partial blocks are read, patched and
//! written back. Holes read as zeros; writing past the end of file leaves a
//! hole (a sparse file) and zeroes the tail of the old last block, so bytes
//! beyond an old end never reappear.
//!
//! Reads do not update the access time: a read never writes (like the
//! `noatime` mount option), which keeps reads possible on read-only media and
//! cheap everywhere.

use alloc::vec;
use alloc::vec::Vec;

use crate::device::BlockDevice;
use crate::error::{Error, Result};
use crate::filesystem::{FileSystem, Privilege};
use crate::inode::{mode, Inode, InodeFlags, InodeNumber, Metadata};

/// Largest size that needs no `large_file` feature.
const SMALL_FILE_LIMIT: u64 = 0x7FFF_FFFF;

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

/// The destination of a read: buffers filled in order as one.
struct Pieces<'a, 'b> {
    parts: &'a mut [&'b mut [u8]],
}

impl Pieces<'_, '_> {
    /// Bytes in all the buffers.
    fn len(&self) -> usize {
        self.parts.iter().map(|part| part.len()).sum()
    }

    /// Runs `body(position, slice)` on each buffer's share of bytes
    /// `start..end` (positions count from the first buffer's start), in
    /// order; stops at the first error.
    fn each(
        &mut self,
        start: usize,
        end: usize,
        mut body: impl FnMut(usize, &mut [u8]) -> Result<()>,
    ) -> Result<()> {
        if end > self.len() || start > end {
            return Err(Error::InvalidArgument);
        }
        let mut part_start = 0;
        for part in self.parts.iter_mut() {
            let part_end = part_start + part.len();
            let from = start.max(part_start);
            let to = end.min(part_end);
            if from < to {
                body(from, &mut part[from - part_start..to - part_start])?;
            }
            if part_end >= end {
                break;
            }
            part_start = part_end;
        }
        Ok(())
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

    fn read_run(&mut self, run: Option<Run>, buffer: &mut Pieces<'_, '_>) -> Result<()> {
        if let Some(run) = run {
            let block_size = self.geometry.block_bytes();
            let end = run.buffer_start + run.blocks * block_size;
            let offset = self.geometry.block_offset(run.device_block);
            let device = &mut self.device;
            buffer.each(run.buffer_start, end, |position, target| {
                device
                    .read_at(offset + (position - run.buffer_start) as u64, target)
                    .map_err(Error::from)
            })?;
        }
        Ok(())
    }

    fn write_run(&mut self, run: Option<Run>, data: &[u8]) -> Result<()> {
        if let Some(run) = run {
            let block_size = self.geometry.block_bytes();
            let end = run.buffer_start + run.blocks * block_size;
            let source = data
                .get(run.buffer_start..end)
                .ok_or(Error::InvalidArgument)?;
            self.device
                .write_at(self.geometry.block_offset(run.device_block), source)?;
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
        let inode = self.regular_file(inode)?;
        let size = inode.size();
        if offset >= size {
            return Ok(0);
        }
        let mut buffer = Pieces { parts: pieces };
        let length = (size - offset).min(buffer.len() as u64) as usize;
        let block_size = self.geometry.block_bytes();
        let mut run: Option<Run> = None;
        let mut done = 0usize;
        while done < length {
            let position = offset + done as u64;
            let logical = position / block_size as u64;
            let in_block = (position % block_size as u64) as usize;
            let chunk = (block_size - in_block).min(length - done);
            let whole_blocks = ((length - done) / block_size) as u64;
            if in_block == 0 && whole_blocks > 1 {
                // Consecutive whole blocks mapped to consecutive device
                // blocks join the run in one step.
                if let Some((device_block, count)) = self.map_run(&inode, logical, whole_blocks)? {
                    match &mut run {
                        Some(current) if current.continues_with(device_block) => {
                            current.blocks += count as usize
                        }
                        _ => {
                            self.read_run(run.take(), &mut buffer)?;
                            run = Some(Run {
                                device_block,
                                buffer_start: done,
                                blocks: count as usize,
                            });
                        }
                    }
                    done += count as usize * block_size;
                    continue;
                }
            }
            let mapped = self.map_block(&inode, logical)?;
            if in_block == 0 && chunk == block_size {
                if let Some(device_block) = mapped {
                    match &mut run {
                        Some(current) if current.continues_with(device_block) => {
                            current.blocks += 1
                        }
                        _ => {
                            self.read_run(run.take(), &mut buffer)?;
                            run = Some(Run {
                                device_block,
                                buffer_start: done,
                                blocks: 1,
                            });
                        }
                    }
                } else {
                    self.read_run(run.take(), &mut buffer)?;
                    buffer.each(done, done + chunk, |_, target| {
                        target.fill(0);
                        Ok(())
                    })?;
                }
            } else {
                self.read_run(run.take(), &mut buffer)?;
                match mapped {
                    Some(device_block) => {
                        let mut block = vec![0u8; block_size];
                        self.device
                            .read_at(self.geometry.block_offset(device_block), &mut block)?;
                        let source = block
                            .get(in_block..in_block + chunk)
                            .ok_or(Error::InvalidArgument)?;
                        buffer.each(done, done + chunk, |position, target| {
                            let from = position - done;
                            let bytes = source
                                .get(from..from + target.len())
                                .ok_or(Error::InvalidArgument)?;
                            target.copy_from_slice(bytes);
                            Ok(())
                        })?;
                    }
                    None => buffer.each(done, done + chunk, |_, target| {
                        target.fill(0);
                        Ok(())
                    })?,
                }
            }
            done += chunk;
        }
        self.read_run(run, &mut buffer)?;
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
            let offset = self.geometry.block_offset(device_block);
            let mut block = vec![0u8; block_size];
            self.device.read_at(offset, &mut block)?;
            if let Some(tail) = block.get_mut(in_block..) {
                tail.fill(0);
            }
            self.device.write_at(offset, &block)?;
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
        self.write_as(inode, offset, data, Privilege::Ordinary)
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
            if in_block == 0 && chunk == block_size {
                match &mut run {
                    Some(current) if current.continues_with(device_block) => current.blocks += 1,
                    _ => {
                        self.write_run(run.take(), data)?;
                        run = Some(Run {
                            device_block,
                            buffer_start: done,
                            blocks: 1,
                        });
                    }
                }
            } else {
                self.write_run(run.take(), data)?;
                let device_offset = self.geometry.block_offset(device_block);
                let mut block = vec![0u8; block_size];
                if !fresh {
                    self.device.read_at(device_offset, &mut block)?;
                }
                let source = data.get(done..done + chunk).ok_or(Error::InvalidArgument)?;
                if let Some(target) = block.get_mut(in_block..in_block + chunk) {
                    target.copy_from_slice(source);
                }
                self.device.write_at(device_offset, &block)?;
            }
            done += chunk;
        }
        self.write_run(run, data)?;
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
        Ok(extents)
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
        self.truncate_as(inode, size, Privilege::Ordinary)
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
        self.set_attributes_as(inode, changes, Privilege::Ordinary)
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
