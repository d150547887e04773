// SPDX-License-Identifier: MIT OR Apache-2.0
//! The root file system: the ext2l volume on the first virtio-blk disk.
//!
//! At boot the kernel mounts the first disk through a [`BlockCache`] and
//! keeps the mounted [`FileSystem`] here, behind a lock (the `fs-ext2l`
//! library is single-threaded by design). [`sync`] writes every dirty page
//! back and flushes the device; power-off calls it.

use crate::block_cache::{BlockCache, PAGE_SIZE};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use fs_ext2l::{FileSystem, MountOptions};
use hal::virtio::BlockDevice;
use hal::{Arch, Architecture, BootInfo};
use spin::Mutex;

/// The mounted root, once [`mount`] succeeded.
pub static ROOT: Mutex<Option<FileSystem<BlockCache>>> = Mutex::new(None);

/// Why the root could not be mounted.
#[derive(Debug)]
pub enum MountError {
    /// No disk at all.
    NoDisk,
    /// The library refused the volume (not ext2, corrupt, unsupported).
    FileSystem(fs_ext2l::Error),
}

impl core::fmt::Display for MountError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            MountError::NoDisk => write!(f, "no disk"),
            MountError::FileSystem(error) => write!(f, "{error}"),
        }
    }
}

/// Seconds for file timestamps. There is no real-time clock yet, so time
/// starts at the Unix epoch plus the time since reset.
fn clock() -> u32 {
    Arch::time_since_reset().as_secs() as u32
}

/// Mounts the first of `disks` as the root; returns a one-line summary.
///
/// Return values: `NoDisk` when `disks` is empty; `FileSystem(error)` when
/// the volume is not a mountable ext2/ext2l file system (the error names
/// what is wrong, e.g. an unsupported feature or a bad superblock).
pub fn mount(boot: &BootInfo, disks: Vec<BlockDevice>) -> Result<String, MountError> {
    let disk = disks.into_iter().next().ok_or(MountError::NoDisk)?;
    // A quarter of the heap for cached pages, within sane bounds.
    let capacity = ((boot.heap.size / 4) / PAGE_SIZE).clamp(64, 16384) as usize;
    let cache = BlockCache::new(disk, capacity);
    let options = MountOptions {
        clock,
        ..MountOptions::default()
    };
    let file_system = FileSystem::mount(cache, options).map_err(MountError::FileSystem)?;
    let info = file_system.info();
    let label = String::from_utf8_lossy(&info.label).into_owned();
    let summary = format!(
        "mounted {} volume '{}' as / ({}-byte blocks, {} of {} blocks free, {} of {} inodes free{})",
        if info.features.has_ext2l() { "ext2l" } else { "ext2" },
        label,
        info.block_size,
        info.free_blocks,
        info.blocks_count,
        info.free_inodes,
        info.inodes_count,
        match info.read_only_reason {
            Some(reason) => format!("; read-only: {reason}"),
            None => String::new(),
        }
    );
    *ROOT.lock() = Some(file_system);
    Ok(summary)
}

/// Writes every dirty block back and flushes the disk.
///
/// Return values: the library's error if a write or the flush failed.
pub fn sync() -> Result<(), fs_ext2l::Error> {
    match ROOT.lock().as_mut() {
        Some(file_system) => file_system.sync(),
        None => Ok(()),
    }
}
