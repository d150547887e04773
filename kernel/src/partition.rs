// SPDX-License-Identifier: MIT OR Apache-2.0
//! Finding the root volume on a disk: the whole disk, or a GPT partition.
//!
//! A development disk is one ext2l volume from sector 0; a cloud image is
//! a GUID partition table (UEFI 2.10 §5.3) with an EFI system partition
//! and the root. The root partition is recognised by its **partition type
//! GUID**, never by its position: the Discoverable Partitions
//! Specification's "root partition" type of the architecture,
//!
//! `hal::Architecture::ROOT_PARTITION_TYPE`
//! (`uapi-group.org/specifications/specs/discoverable_partitions_specification`),
//! so an image of another architecture is never mounted by mistake. The
//! image builder (`images/src/cloud_image.rs`) writes the same GUIDs.
//!
//! A disk whose sector 1 does not start with `EFI PART` has no GPT and is
//! the volume itself, as before. A GPT whose header or entry array fails
//! its CRC-32, whose root entry lies outside the disk, or that has no root
//! entry at all is an error the boot log reports (the kernel then has no
//! root and powers off saying so); it is never guessed around. Only the
//! primary header is read: a disk whose primary GPT is damaged needs
//! repair on the host.
//!
//! [`grow_root`] first fits the table to a disk larger than it says (a
//! cloud image copied onto a bigger disk): the backup table moves to the
//! disk's end and the root partition, when last, grows to fill the disk
//! (`partition_table::grow_partition`, which orders its writes so a cut
//! leaves one consistent table).

use hal::virtio::{BlockDevice, BlockError};
use hal::{Arch, Architecture};
pub use partition_table::Grown;
pub use partition_table::Volume;
use partition_table::{SectorReader, SectorWriter};

/// The root partition type of the architecture the kernel was built for,
/// in the on-disk byte order of a GPT GUID (first three fields
/// little-endian); the HAL knows which.
pub const ROOT_TYPE: [u8; 16] = Arch::ROOT_PARTITION_TYPE;

/// Why no root volume could be chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartitionError {
    /// Reading the table failed.
    Device(BlockError),
    /// The GPT header is malformed or fails its CRC-32.
    CorruptHeader(&'static str),
    /// The partition entry array fails its CRC-32.
    CorruptEntries,
    /// The root entry's sectors are not inside the disk.
    OutOfDisk {
        /// Entry number, from 1.
        index: usize,
    },
    /// The GPT lists no partition of the root type.
    NoRootPartition,
}

impl From<partition_table::PartitionError<BlockError>> for PartitionError {
    fn from(error: partition_table::PartitionError<BlockError>) -> Self {
        use partition_table::PartitionError as Table;
        match error {
            Table::Device(error) => PartitionError::Device(error),
            Table::CorruptHeader(what) => PartitionError::CorruptHeader(what),
            Table::CorruptEntries => PartitionError::CorruptEntries,
            Table::OutOfDisk { index } => PartitionError::OutOfDisk { index },
            Table::NotFound => PartitionError::NoRootPartition,
        }
    }
}

impl core::fmt::Display for PartitionError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            PartitionError::Device(error) => {
                write!(f, "cannot read the partition table: {error:?}")
            }
            PartitionError::CorruptHeader(what) => {
                write!(f, "corrupt GPT header ({what}); repair the disk image")
            }
            PartitionError::CorruptEntries => {
                write!(
                    f,
                    "corrupt GPT partition entries (CRC-32 mismatch); repair the disk image"
                )
            }
            PartitionError::OutOfDisk { index } => {
                write!(
                    f,
                    "corrupt root partition: GPT entry {index} lies outside the disk"
                )
            }
            PartitionError::NoRootPartition => write!(
                f,
                "the GPT has no root partition (type {})",
                GuidText(&ROOT_TYPE)
            ),
        }
    }
}

/// Prints on-disk GUID bytes in the usual text form.
struct GuidText<'a>(&'a [u8; 16]);

impl core::fmt::Display for GuidText<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let g = self.0;
        write!(
            f,
            "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-",
            g[3], g[2], g[1], g[0], g[5], g[4], g[7], g[6], g[8], g[9]
        )?;
        g[10..].iter().try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}

/// The virtio disk as the table reader sees it.
struct Disk<'a>(&'a mut BlockDevice);

impl SectorReader for Disk<'_> {
    type Error = BlockError;

    fn sectors(&self) -> u64 {
        self.0.capacity_sectors()
    }

    fn read(&mut self, sector: u64, buffer: &mut [u8]) -> Result<(), BlockError> {
        self.0.read_sectors(sector, buffer)
    }
}

impl SectorWriter for Disk<'_> {
    fn write(&mut self, sector: u64, buffer: &[u8]) -> Result<(), BlockError> {
        self.0.write_sectors(sector, buffer)
    }

    fn flush(&mut self) -> Result<(), BlockError> {
        self.0.flush()
    }
}

/// Fits the GPT on `disk` to the disk's size (see the module
/// documentation).
///
/// Return values: `Ok(None)` without a GPT or when it already ends at the
/// disk's end; `Ok(Some(grown))` after moving the backup table (and
/// growing the root partition when it is last); the errors of
/// [`find_root`], before anything is written.
pub fn grow_root(disk: &mut BlockDevice) -> Result<Option<Grown>, PartitionError> {
    Ok(partition_table::grow_partition(
        &mut Disk(disk),
        &ROOT_TYPE,
    )?)
}

/// Finds the root volume on `disk` (see the module documentation).
///
/// Return values: `Device` if a sector of the table cannot be read;
/// `CorruptHeader` / `CorruptEntries` for a GPT that fails its checks;
/// `OutOfDisk` for a root entry past the disk's end; `NoRootPartition`
/// for a valid GPT without a root entry.
pub fn find_root(disk: &mut BlockDevice) -> Result<Volume, PartitionError> {
    Ok(partition_table::find_partition(
        &mut Disk(disk),
        &ROOT_TYPE,
    )?)
}
