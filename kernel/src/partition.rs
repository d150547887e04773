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

use hal::virtio::{BlockDevice, BlockError, SECTOR_SIZE};
use hal::{Arch, Architecture};

/// The root partition type of the architecture the kernel was built for,
/// in the on-disk byte order of a GPT GUID (first three fields
/// little-endian); the HAL knows which.
pub const ROOT_TYPE: [u8; 16] = Arch::ROOT_PARTITION_TYPE;

/// Where the root volume is on its disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Volume {
    /// No partition table: the whole disk.
    WholeDisk,
    /// GPT entry `index` (counted from 1, as `fdisk` does), sectors
    /// `first..first + sectors`.
    Partition {
        /// Entry number, from 1.
        index: usize,
        /// First sector.
        first: u64,
        /// Length in sectors.
        sectors: u64,
    },
}

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

/// Longest partition entry array read (the usual one is 128 × 128 bytes).
const MAX_ENTRY_BYTES: usize = 64 * 1024;

fn le32(bytes: &[u8], offset: usize) -> u32 {
    u32::from_le_bytes([
        bytes[offset],
        bytes[offset + 1],
        bytes[offset + 2],
        bytes[offset + 3],
    ])
}

fn le64(bytes: &[u8], offset: usize) -> u64 {
    u64::from(le32(bytes, offset)) | (u64::from(le32(bytes, offset + 4)) << 32)
}

/// CRC-32 as GPT uses it (ISO-HDLC: reflected polynomial 0xedb88320,
/// initial and final XOR with all ones).
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Finds the root volume on `disk` (see the module documentation).
///
/// Return values: `Device` if a sector of the table cannot be read;
/// `CorruptHeader` / `CorruptEntries` for a GPT that fails its checks;
/// `OutOfDisk` for a root entry past the disk's end; `NoRootPartition`
/// for a valid GPT without a root entry.
pub fn find_root(disk: &mut BlockDevice) -> Result<Volume, PartitionError> {
    let mut header = [0u8; SECTOR_SIZE];
    if disk.capacity_sectors() < 2 {
        return Ok(Volume::WholeDisk);
    }
    disk.read_sectors(1, &mut header)
        .map_err(PartitionError::Device)?;
    if &header[0..8] != b"EFI PART" {
        return Ok(Volume::WholeDisk);
    }
    // Header (UEFI 2.10 Table 5.5): revision @8, size @12, CRC @16,
    // MyLBA @24, first/last usable LBA @40/@48, entries LBA @72,
    // entry count @80, entry size @84, entries CRC @88.
    let header_size = le32(&header, 12) as usize;
    if !(92..=SECTOR_SIZE).contains(&header_size) {
        return Err(PartitionError::CorruptHeader("impossible header size"));
    }
    let stored_crc = le32(&header, 16);
    let mut copy = header;
    copy[16..20].fill(0);
    if crc32(&copy[..header_size]) != stored_crc {
        return Err(PartitionError::CorruptHeader("CRC-32 mismatch"));
    }
    if le64(&header, 24) != 1 {
        return Err(PartitionError::CorruptHeader("not at sector 1"));
    }
    let entries_sector = le64(&header, 72);
    let entry_count = le32(&header, 80) as usize;
    let entry_size = le32(&header, 84) as usize;
    if entry_size < 128 || entry_size % 8 != 0 {
        return Err(PartitionError::CorruptHeader("impossible entry size"));
    }
    let entry_bytes = entry_count
        .checked_mul(entry_size)
        .filter(|bytes| *bytes <= MAX_ENTRY_BYTES)
        .ok_or(PartitionError::CorruptHeader("too many entries"))?;
    let mut entries = alloc::vec![0u8; entry_bytes.div_ceil(SECTOR_SIZE) * SECTOR_SIZE];
    disk.read_sectors(entries_sector, &mut entries)
        .map_err(PartitionError::Device)?;
    let entries = &entries[..entry_bytes];
    if crc32(entries) != le32(&header, 88) {
        return Err(PartitionError::CorruptEntries);
    }
    let (first_usable, last_usable) = (le64(&header, 40), le64(&header, 48));
    for (position, entry) in entries.chunks_exact(entry_size).enumerate() {
        // Entry (Table 5.6): type GUID @0, unique GUID @16, first LBA @32,
        // last LBA @40 (inclusive).
        if entry[0..16] != ROOT_TYPE {
            continue;
        }
        let index = position + 1;
        let (first, last) = (le64(entry, 32), le64(entry, 40));
        if first > last
            || first < first_usable
            || last > last_usable
            || last >= disk.capacity_sectors()
        {
            return Err(PartitionError::OutOfDisk { index });
        }
        return Ok(Volume::Partition {
            index,
            first,
            sectors: last - first + 1,
        });
    }
    Err(PartitionError::NoRootPartition)
}
