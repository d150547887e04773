// SPDX-License-Identifier: MIT OR Apache-2.0
//! The block-device contract, and the devices the host uses.
//!
//! [`BlockDevice`] is the only way the library touches storage. It is byte
//! addressed so that one call can move a long contiguous run (that is what
//! makes `put`/`get` of a large file about as fast as `cp`), but the library
//! promises to use it only in multiples of 1024 bytes at offsets that are
//! multiples of 1024: a device over 512-byte sectors or a page cache can
//! split requests without ever needing read-modify-write.
//!
//! Several transfers can be handed over at once
//! ([`BlockDevice::read_vectored`], [`BlockDevice::write_vectored`]): the
//! file system gives every piece of a long read (a caller's buffer may be
//! many separate pages) or of a write-back in one call, and a device that
//! can keep several requests in flight, or join consecutive ones, serves
//! them together. By default they are done one by one.
//!
//! The device caches nothing: the one cache is the file system's
//! ([`crate::BlockCache`]). The kernel implements the trait over virtio-blk;
//! the host tools use [`MemoryDevice`] (tests) and, with the `std` feature,
//! `FileDevice` (an image file).

use alloc::vec;
use alloc::vec::Vec;

use crate::error::DeviceError;

/// One transfer of [`BlockDevice::read_vectored`]: fill `buffer` with the
/// bytes at `offset`.
#[derive(Debug)]
pub struct ReadRequest<'a> {
    /// Byte offset on the device.
    pub offset: u64,
    /// Where the bytes go.
    pub buffer: &'a mut [u8],
}

/// One transfer of [`BlockDevice::write_vectored`]: store `data` at
/// `offset`.
#[derive(Clone, Copy, Debug)]
pub struct WriteRequest<'a> {
    /// Byte offset on the device.
    pub offset: u64,
    /// The bytes.
    pub data: &'a [u8],
}

/// Storage an ext2l file system lives on.
///
/// Every method takes `&mut self`: the file system owns its device and calls it
/// from one thread at a time (the kernel wraps the whole file system in a
/// mutex).
pub trait BlockDevice {
    /// Fills `buffer` with the bytes at `offset`.
    ///
    /// Return values:
    /// - `Ok(())` when all of `buffer` was filled;
    /// - [`DeviceError::OutOfRange`] when the range passes the end;
    /// - [`DeviceError::Failed`] when the medium failed.
    fn read_at(&mut self, offset: u64, buffer: &mut [u8]) -> Result<(), DeviceError>;

    /// Stores `data` at `offset`.
    ///
    /// Return values:
    /// - `Ok(())` when all of `data` was accepted (it may sit in a cache until [`flush`](Self::flush));
    /// - [`DeviceError::OutOfRange`] when the range passes the end;
    /// - [`DeviceError::ReadOnly`] when the device refuses writes;
    /// - [`DeviceError::Failed`] when the medium failed.
    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<(), DeviceError>;

    /// Does every read of `requests`, as [`Self::read_at`] would, in any
    /// order or together: requests whose offsets follow one another are
    /// the pieces of one longer read. The default reads them one by one.
    ///
    /// Return values: `Ok(())` when every buffer was filled, else the first
    /// error of [`Self::read_at`] (the buffers' contents are then
    /// unspecified).
    fn read_vectored(&mut self, requests: &mut [ReadRequest<'_>]) -> Result<(), DeviceError> {
        for request in requests.iter_mut() {
            self.read_at(request.offset, request.buffer)?;
        }
        Ok(())
    }

    /// Does every write of `requests`, as [`Self::write_at`] would, in any
    /// order or together (no two overlap). The default writes them one by
    /// one.
    ///
    /// Return values: `Ok(())` when every write was accepted, else the
    /// first error of [`Self::write_at`] (some may have been done).
    fn write_vectored(&mut self, requests: &[WriteRequest<'_>]) -> Result<(), DeviceError> {
        for request in requests {
            self.write_at(request.offset, request.data)?;
        }
        Ok(())
    }

    /// Makes every accepted write durable.
    ///
    /// Return values: `Ok(())`, or [`DeviceError::Failed`].
    fn flush(&mut self) -> Result<(), DeviceError>;

    /// The size of the device in bytes.
    ///
    /// Return values: `Ok(size)`, or [`DeviceError::Failed`].
    fn size(&mut self) -> Result<u64, DeviceError>;
}

/// Checks that `offset .. offset + length` lies within `size` bytes and gives
/// the range as `usize` indexes.
fn checked_range(offset: u64, length: usize, size: usize) -> Result<(usize, usize), DeviceError> {
    let start = usize::try_from(offset).map_err(|_| DeviceError::OutOfRange)?;
    let end = start.checked_add(length).ok_or(DeviceError::OutOfRange)?;
    if end > size {
        return Err(DeviceError::OutOfRange);
    }
    Ok((start, end))
}

/// A device held in memory: for tests, fuzzing and building images in RAM.
#[derive(Clone, Debug, Default)]
pub struct MemoryDevice {
    bytes: Vec<u8>,
}

impl MemoryDevice {
    /// A zero-filled device of `size` bytes.
    pub fn new(size: usize) -> MemoryDevice {
        MemoryDevice {
            bytes: vec![0; size],
        }
    }

    /// A device holding exactly `bytes` (an image read from somewhere).
    pub fn from_bytes(bytes: Vec<u8>) -> MemoryDevice {
        MemoryDevice { bytes }
    }

    /// The device's contents.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Gives the contents back.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

impl BlockDevice for MemoryDevice {
    fn read_at(&mut self, offset: u64, buffer: &mut [u8]) -> Result<(), DeviceError> {
        let (start, end) = checked_range(offset, buffer.len(), self.bytes.len())?;
        let source = self.bytes.get(start..end).ok_or(DeviceError::OutOfRange)?;
        buffer.copy_from_slice(source);
        Ok(())
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<(), DeviceError> {
        let (start, end) = checked_range(offset, data.len(), self.bytes.len())?;
        let target = self
            .bytes
            .get_mut(start..end)
            .ok_or(DeviceError::OutOfRange)?;
        target.copy_from_slice(data);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), DeviceError> {
        Ok(())
    }

    fn size(&mut self) -> Result<u64, DeviceError> {
        Ok(self.bytes.len() as u64)
    }
}

impl<T: BlockDevice + ?Sized> BlockDevice for &mut T {
    fn read_at(&mut self, offset: u64, buffer: &mut [u8]) -> Result<(), DeviceError> {
        (**self).read_at(offset, buffer)
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<(), DeviceError> {
        (**self).write_at(offset, data)
    }

    fn read_vectored(&mut self, requests: &mut [ReadRequest<'_>]) -> Result<(), DeviceError> {
        (**self).read_vectored(requests)
    }

    fn write_vectored(&mut self, requests: &[WriteRequest<'_>]) -> Result<(), DeviceError> {
        (**self).write_vectored(requests)
    }

    fn flush(&mut self) -> Result<(), DeviceError> {
        (**self).flush()
    }

    fn size(&mut self) -> Result<u64, DeviceError> {
        (**self).size()
    }
}

#[cfg(feature = "std")]
pub use file::FileDevice;

#[cfg(feature = "std")]
mod file {
    //! A [`BlockDevice`] over an image file, for the host tools.

    extern crate std;

    use std::fs::File;
    use std::io;
    use std::os::unix::fs::FileExt;

    use std::vec::Vec;

    use super::{BlockDevice, WriteRequest};
    use crate::error::DeviceError;

    /// Longest run [`FileDevice::write_vectored`] gathers into one write.
    const GATHER_BYTES: usize = 1 << 20;

    /// An image file used as a block device.
    ///
    /// Writes go to the operating system's page cache; [`BlockDevice::flush`]
    /// does not `fsync`, exactly as `cp` does not, because the host tools
    /// edit image files rather than disks. Call [`FileDevice::sync_all`] for
    /// durability.
    #[derive(Debug)]
    pub struct FileDevice {
        file: File,
        size: u64,
        writable: bool,
    }

    fn device_error(error: io::Error) -> DeviceError {
        DeviceError::Failed {
            code: error.raw_os_error().unwrap_or(0),
        }
    }

    impl FileDevice {
        /// Opens `path`; `writable` selects read-write.
        pub fn open(path: &std::path::Path, writable: bool) -> io::Result<FileDevice> {
            let file = std::fs::OpenOptions::new()
                .read(true)
                .write(writable)
                .open(path)?;
            let size = file.metadata()?.len();
            Ok(FileDevice {
                file,
                size,
                writable,
            })
        }

        /// Creates (or truncates) `path` as a zero-filled image of `size` bytes.
        pub fn create(path: &std::path::Path, size: u64) -> io::Result<FileDevice> {
            let file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(true)
                .open(path)?;
            file.set_len(size)?;
            Ok(FileDevice {
                file,
                size,
                writable: true,
            })
        }

        /// Forces everything written to stable storage.
        pub fn sync_all(&self) -> io::Result<()> {
            self.file.sync_all()
        }
    }

    impl BlockDevice for FileDevice {
        fn read_at(&mut self, offset: u64, buffer: &mut [u8]) -> Result<(), DeviceError> {
            let end = offset
                .checked_add(buffer.len() as u64)
                .ok_or(DeviceError::OutOfRange)?;
            if end > self.size {
                return Err(DeviceError::OutOfRange);
            }
            self.file
                .read_exact_at(buffer, offset)
                .map_err(device_error)
        }

        fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<(), DeviceError> {
            if !self.writable {
                return Err(DeviceError::ReadOnly);
            }
            let end = offset
                .checked_add(data.len() as u64)
                .ok_or(DeviceError::OutOfRange)?;
            if end > self.size {
                return Err(DeviceError::OutOfRange);
            }
            self.file.write_all_at(data, offset).map_err(device_error)
        }

        /// Requests that follow one another on the device are gathered
        /// into one system call (up to a megabyte): a write-back of many
        /// consecutive blocks costs a few `pwrite`s, not one per block.
        fn write_vectored(&mut self, requests: &[WriteRequest<'_>]) -> Result<(), DeviceError> {
            let mut gathered: Vec<u8> = Vec::new();
            let mut start = 0u64;
            for request in requests {
                let follows = start.checked_add(gathered.len() as u64) == Some(request.offset);
                if !gathered.is_empty()
                    && (!follows || gathered.len() + request.data.len() > GATHER_BYTES)
                {
                    self.write_at(start, &gathered)?;
                    gathered.clear();
                }
                if gathered.is_empty() {
                    start = request.offset;
                }
                gathered.extend_from_slice(request.data);
            }
            if !gathered.is_empty() {
                self.write_at(start, &gathered)?;
            }
            Ok(())
        }

        fn flush(&mut self) -> Result<(), DeviceError> {
            Ok(())
        }

        fn size(&mut self) -> Result<u64, DeviceError> {
            Ok(self.size)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_device_checks_ranges() {
        let mut device = MemoryDevice::new(2048);
        let mut buffer = [0u8; 1024];
        assert!(device.read_at(1024, &mut buffer).is_ok());
        assert_eq!(
            device.read_at(1025, &mut buffer),
            Err(DeviceError::OutOfRange)
        );
        assert_eq!(
            device.write_at(u64::MAX, &buffer),
            Err(DeviceError::OutOfRange)
        );
    }
}
