// SPDX-License-Identifier: MIT OR Apache-2.0
//! The device files a root may hold: `/dev/null`, `/dev/zero` and
//! `/dev/urandom`.
//!
//! A root declares the devices its programs need (the manifest's
//! `devices` key); the image builder makes them character-device inodes
//! with Linux's numbers (major 1; minor 3, 5, 9). Opening such an inode
//! gives a [`Device`] instead of the inode's data: the number says which,
//! and a number not listed here is refused (`ENXIO`). Nothing here makes
//! device inodes: no system call can (`mknod` is refused).

use alloc::vec::Vec;
use manux_abi::Errno;

/// A device an open file reads and writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Device {
    /// `/dev/null` (1:3): reads end at once, writes are taken whole.
    Null,
    /// `/dev/zero` (1:5): reads give zeros, writes are taken whole.
    Zero,
    /// `/dev/urandom` (1:9): reads give the kernel's random bytes
    /// ([`crate::random`]), writes are taken whole (and change nothing).
    Random,
}

/// Linux's device number of major `major`, minor `minor`, as an ext2
/// inode records it (the old encoding, `major << 8 | minor`).
const fn number(major: u32, minor: u32) -> u32 {
    major << 8 | minor
}

impl Device {
    /// The device of a character-device inode's number.
    ///
    /// Return values: `NoSuchDeviceOrAddress` for any other number.
    pub fn of_number(device: u32) -> Result<Device, Errno> {
        match device {
            n if n == number(1, 3) => Ok(Device::Null),
            n if n == number(1, 5) => Ok(Device::Zero),
            n if n == number(1, 9) => Ok(Device::Random),
            _ => Err(Errno::NoSuchDeviceOrAddress),
        }
    }

    /// Up to `length` bytes read from the device.
    ///
    /// Return values: `OutOfMemory` if the kernel cannot hold them.
    pub fn read(self, length: usize) -> Result<Vec<u8>, Errno> {
        let length = if self == Device::Null { 0 } else { length };
        let mut bytes = Vec::new();
        bytes
            .try_reserve_exact(length)
            .map_err(|_| Errno::OutOfMemory)?;
        bytes.resize(length, 0);
        if self == Device::Random {
            crate::random::fill(&mut bytes);
        }
        Ok(bytes)
    }
}
