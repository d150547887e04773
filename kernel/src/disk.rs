// SPDX-License-Identifier: MIT OR Apache-2.0
//! The root disk as the file system sees it: virtio-blk behind a lock,
//! caching nothing.
//!
//! The one cache of the volume's blocks is the file system's own
//! (`fs_ext2l::BlockCache`, inside the mounted `FileSystem`); this module
//! only turns the library's byte-addressed [`fs_ext2l::BlockDevice`] calls
//! into sector requests. [`Disk`] is a handle that can be cloned: the
//! mounted file system owns one, and `sync` keeps another, so that it can
//! take the device's lock ([`Disk::lock`]) before letting go of the file
//! system's and write a write-back batch with only the device held (see
//! `root_fs::sync`). Every call of the file system locks the device for
//! its own duration; the lock order is always the file system, then the
//! device.
//!
//! Vectored calls — every piece of a long read that streams into a
//! caller's pages, every block of a write-back — become batches of
//! requests in flight together, sent with one notification
//! ([`hal::virtio::BlockDevice::read_vectored`]), so a caller's buffer
//! made of separate frames costs about one request, not one per piece.

use alloc::sync::Arc;
use alloc::vec::Vec;
use fs_ext2l::{DeviceError, ReadRequest, WriteRequest};
use hal::virtio::{BlockDevice, BlockError, SectorRead, SectorWrite, SECTOR_SIZE};
use manux_abi::Errno;
use spin::{Mutex, MutexGuard};

/// The raw read's requests: the longest a file's read of 512 KiB makes
/// when its data lies in one run.
const RAW_REQUEST: usize = 512 * 1024;

/// The root disk: a handle that clones cheaply (see the module doc).
#[derive(Clone)]
pub struct Disk {
    device: Arc<Mutex<BlockDevice>>,
    /// Bytes on the disk (of the window: the root partition).
    size: u64,
}

/// The disk, locked: what a write-back batch is written to.
pub struct LockedDisk<'a> {
    device: MutexGuard<'a, BlockDevice>,
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

/// The first sector of a transfer of `length` bytes at byte `offset`,
/// checked to be whole sectors within `size` bytes.
fn first_sector(offset: u64, length: usize, size: u64) -> Result<u64, DeviceError> {
    let sector = SECTOR_SIZE as u64;
    match offset.checked_add(length as u64) {
        Some(end) if end <= size && offset % sector == 0 && length as u64 % sector == 0 => {
            Ok(offset / sector)
        }
        _ => Err(DeviceError::OutOfRange),
    }
}

impl Disk {
    /// The handle over `device`.
    pub fn new(device: BlockDevice) -> Self {
        let size = device.capacity_sectors() * SECTOR_SIZE as u64;
        Disk {
            device: Arc::new(Mutex::new(device)),
            size,
        }
    }

    /// Locks the device until the guard is dropped.
    pub fn lock(&self) -> LockedDisk<'_> {
        LockedDisk {
            device: self.device.lock(),
            size: self.size,
        }
    }

    /// Reads `sectors` sectors from `first_sector` straight from the disk,
    /// in requests of 512 KiB, one at a time (what a 512 KiB read of a
    /// file in one run on the disk costs), into a scratch buffer that is
    /// then dropped; returns the bytes read (the benchmarks' raw device
    /// read).
    ///
    /// Return values: `OutOfRange` past the end of the disk; `OutOfMemory`
    /// if the scratch buffer cannot be had; `InputOutput` if the device
    /// failed.
    pub fn read_raw(&self, first_sector: u64, sectors: u64) -> Result<u64, Errno> {
        let sector_size = SECTOR_SIZE as u64;
        match first_sector.checked_add(sectors) {
            Some(end) if end <= self.size / sector_size => {}
            _ => return Err(Errno::OutOfRange),
        }
        let request_sectors = RAW_REQUEST as u64 / sector_size;
        let bytes = (request_sectors.min(sectors) * sector_size) as usize;
        let mut buffer = Vec::new();
        buffer
            .try_reserve_exact(bytes)
            .map_err(|_| Errno::OutOfMemory)?;
        buffer.resize(bytes, 0u8);
        let mut device = self.device.lock();
        let mut done = 0;
        while done < sectors {
            let count = request_sectors.min(sectors - done);
            let length = (count * sector_size) as usize;
            device
                .read_sectors(first_sector + done, &mut buffer[..length])
                .map_err(|_| Errno::InputOutput)?;
            done += count;
        }
        Ok(sectors * sector_size)
    }
}

impl LockedDisk<'_> {
    fn read_many(&mut self, requests: &mut [ReadRequest<'_>]) -> Result<(), DeviceError> {
        let mut reads: Vec<SectorRead<'_>> = Vec::new();
        reads
            .try_reserve(requests.len())
            .map_err(|_| DeviceError::Failed { code: 0 })?;
        for request in requests.iter_mut() {
            let sector = first_sector(request.offset, request.buffer.len(), self.size)?;
            if !request.buffer.is_empty() {
                reads.push(SectorRead {
                    sector,
                    buffer: &mut *request.buffer,
                });
            }
        }
        if reads.is_empty() {
            return Ok(());
        }
        self.device.read_vectored(&mut reads).map_err(device_error)
    }

    fn write_many(&mut self, requests: &[WriteRequest<'_>]) -> Result<(), DeviceError> {
        let mut writes: Vec<SectorWrite<'_>> = Vec::new();
        writes
            .try_reserve(requests.len())
            .map_err(|_| DeviceError::Failed { code: 0 })?;
        for request in requests {
            let sector = first_sector(request.offset, request.data.len(), self.size)?;
            if !request.data.is_empty() {
                writes.push(SectorWrite {
                    sector,
                    data: request.data,
                });
            }
        }
        if writes.is_empty() {
            return Ok(());
        }
        self.device.write_vectored(&writes).map_err(device_error)
    }
}

impl fs_ext2l::BlockDevice for LockedDisk<'_> {
    fn read_at(&mut self, offset: u64, buffer: &mut [u8]) -> Result<(), DeviceError> {
        self.read_many(&mut [ReadRequest { offset, buffer }])
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<(), DeviceError> {
        self.write_many(&[WriteRequest { offset, data }])
    }

    fn read_vectored(&mut self, requests: &mut [ReadRequest<'_>]) -> Result<(), DeviceError> {
        self.read_many(requests)
    }

    fn write_vectored(&mut self, requests: &[WriteRequest<'_>]) -> Result<(), DeviceError> {
        self.write_many(requests)
    }

    fn flush(&mut self) -> Result<(), DeviceError> {
        self.device.flush().map_err(device_error)
    }

    fn size(&mut self) -> Result<u64, DeviceError> {
        Ok(self.size)
    }
}

/// Each call locks the device for its own duration.
impl fs_ext2l::BlockDevice for Disk {
    fn read_at(&mut self, offset: u64, buffer: &mut [u8]) -> Result<(), DeviceError> {
        self.lock().read_at(offset, buffer)
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<(), DeviceError> {
        self.lock().write_at(offset, data)
    }

    fn read_vectored(&mut self, requests: &mut [ReadRequest<'_>]) -> Result<(), DeviceError> {
        self.lock().read_vectored(requests)
    }

    fn write_vectored(&mut self, requests: &[WriteRequest<'_>]) -> Result<(), DeviceError> {
        self.lock().write_vectored(requests)
    }

    fn flush(&mut self) -> Result<(), DeviceError> {
        self.lock().flush()
    }

    fn size(&mut self) -> Result<u64, DeviceError> {
        Ok(self.size)
    }
}
