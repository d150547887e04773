// SPDX-License-Identifier: MIT OR Apache-2.0
#![doc = include_str!("../README.md")]
#![cfg_attr(not(any(test, feature = "std")), no_std)]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

mod allocator;
mod attribute_block;
mod block_map;
mod bytes;
mod cache;
mod check;
mod device;
mod directory;
mod directory_block;
mod error;
mod features;
mod file;
mod filesystem;
mod format;
mod generation;
mod group;
mod held;
mod htree;
mod inode;
mod installer;
pub mod journal;
mod name;
mod namespace;
mod orphan;
mod recording;
mod repair;
mod resize;
mod resize_inode;
mod rules;
mod state;
mod superblock;
mod transaction;
mod tune;
mod write_back;

pub use cache::{
    BlockCache, BlockClass, DirtyBlocks, PinError, SharedBlock, TransactionId, MIN_CAPACITY_BLOCKS,
};
pub use check::{CheckReport, Problem, ProblemKind};
#[cfg(feature = "std")]
pub use device::FileDevice;
pub use device::MemoryDevice;
pub use device::{BlockDevice, ReadRequest, WriteRequest};
pub use directory::DirectoryEntry;
pub use error::{Corruption, DeviceError, Error, Result};
pub use features::{
    CompatibleFeatures, FeatureSet, IncompatibleFeatures, ReadOnlyCompatibleFeatures,
    EXT2L_FEATURE_RO_COMPAT_EXT2L,
};
pub use file::{FileExtent, SetAttributes, STREAM_BYTES};
pub use filesystem::{FileSystem, FileSystemInfo, MountOptions};
pub use format::{format, FormatOptions};
pub use held::HeldInode;
pub use inode::{FileType, InodeFlags, InodeNumber, Metadata, MAX_LINKS};
pub use installer::Installer;
pub use name::{is_reserved_name, validate_new_name, MAX_NAME_LENGTH};
pub use recording::{crash_states, CrashState, Record, RecordingDevice};
pub use repair::{Repair, RepairReport, MAX_REPAIRS, MAX_ROUNDS};
pub use resize::{grow, growth_limit, volume_bytes, Growth};
pub use state::{repair_needed, OnDamage, RepairNeed};
pub use superblock::{Superblock, STATE_ERRORS, STATE_VALID};
pub use transaction::PendingBytes;
pub use write_back::WriteBack;
