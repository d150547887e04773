// SPDX-License-Identifier: MIT OR Apache-2.0
//! Finding a partition by its type GUID in a GUID partition table, and
//! growing the table to its disk.
//!
//! [`find_partition`] reads sector 1 of a [`SectorReader`]: without the
//! `EFI PART` signature the disk has no table and is one volume
//! ([`Volume::WholeDisk`]). Otherwise the header (UEFI 2.10 Table 5.5) and
//! the partition entry array (Table 5.6) must pass their CRC-32 checks, and
//! the first entry of the wanted type must lie inside the usable area and
//! the disk; it is returned as [`Volume::Partition`]. Anything else is a
//! [`PartitionError`]. Only the primary table is read: a disk whose
//! primary table is damaged needs repair, not a guess.
//!
//! [`grow_partition`] (`grow.rs`) moves the backup table to the end of a
//! disk larger than the table and grows the last partition to fill it.
//!
//! The kernel (`kernel/src/partition.rs`) uses this for its root volume;
//! the image builder writes the tables with the `gpt` crate.
//!
//! # Design principles
//! - The disk is untrusted: every offset is checked, sizes are bounded
//!   before allocation, and no input makes the reader panic (a property
//!   test mutates valid tables at random).
//! - Errors are typed; the caller words them.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

/// Bytes in a sector (virtio-blk's logical block; GPTs on 4 KiB-sector
/// disks are not read).
pub const SECTOR_SIZE: usize = 512;
/// Longest partition entry array read (the usual one is 128 × 128 bytes).
pub const MAX_ENTRY_BYTES: usize = 64 * 1024;

/// Whole 512-byte sectors of a disk.
pub trait SectorReader {
    /// The device's error.
    type Error;

    /// The disk's size in sectors.
    fn sectors(&self) -> u64;

    /// Reads whole sectors from `sector` into `buffer` (a multiple of
    /// [`SECTOR_SIZE`]).
    ///
    /// Return values: the device's error, for a range past the end too.
    fn read(&mut self, sector: u64, buffer: &mut [u8]) -> Result<(), Self::Error>;
}

/// Where the volume is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Volume {
    /// No partition table: the whole disk.
    WholeDisk,
    /// Entry `index` (counted from 1, as `fdisk` does), sectors
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

/// Why no volume could be chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartitionError<E> {
    /// Reading the table failed.
    Device(E),
    /// The header is malformed or fails its CRC-32 (what is wrong).
    CorruptHeader(&'static str),
    /// The partition entry array fails its CRC-32.
    CorruptEntries,
    /// The wanted entry's sectors are not inside the disk's usable area.
    OutOfDisk {
        /// Entry number, from 1.
        index: usize,
    },
    /// The table lists no partition of the wanted type.
    NotFound,
}

pub(crate) fn le32(bytes: &[u8], offset: usize) -> u32 {
    let mut word = [0u8; 4];
    if let Some(slice) = bytes.get(offset..offset + 4) {
        word.copy_from_slice(slice);
    }
    u32::from_le_bytes(word)
}

pub(crate) fn le64(bytes: &[u8], offset: usize) -> u64 {
    u64::from(le32(bytes, offset)) | (u64::from(le32(bytes, offset + 4)) << 32)
}

/// CRC-32 as GPT uses it (ISO-HDLC: reflected polynomial 0xedb88320,
/// initial value and final XOR all ones).
pub fn crc32(bytes: &[u8]) -> u32 {
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

/// The GUID `a-b-c-d-e` in a GPT's on-disk byte order (the first three
/// fields little-endian, the rest as written).
pub const fn guid_bytes(a: u32, b: u16, c: u16, d: u16, e: u64) -> [u8; 16] {
    let a = a.to_le_bytes();
    let b = b.to_le_bytes();
    let c = c.to_le_bytes();
    let d = d.to_be_bytes();
    let e = e.to_be_bytes();
    [
        a[0], a[1], a[2], a[3], b[0], b[1], c[0], c[1], d[0], d[1], e[2], e[3], e[4], e[5], e[6],
        e[7],
    ]
}

/// A primary table that passed its checks: the header sector and the
/// entry array (exactly `entry_count × entry_size` bytes).
pub(crate) struct Table {
    pub(crate) header: [u8; SECTOR_SIZE],
    pub(crate) header_size: usize,
    pub(crate) entries: alloc::vec::Vec<u8>,
    pub(crate) entry_size: usize,
}

/// Header fields (UEFI 2.10 Table 5.5): size @12, CRC @16 (computed with
/// the field zeroed), MyLBA @24, AlternateLBA @32, first/last usable LBA
/// @40/@48, entries LBA @72, entry count @80, entry size @84, entries CRC
/// @88.
pub(crate) mod header {
    pub const SIZE: usize = 12;
    pub const CRC: usize = 16;
    pub const MY_LBA: usize = 24;
    pub const ALTERNATE_LBA: usize = 32;
    pub const FIRST_USABLE: usize = 40;
    pub const LAST_USABLE: usize = 48;
    pub const ENTRIES_LBA: usize = 72;
    pub const ENTRY_COUNT: usize = 80;
    pub const ENTRY_SIZE: usize = 84;
    pub const ENTRIES_CRC: usize = 88;
}

/// Reads the header at `sector` and its entry array, and checks both.
///
/// Return values: `Ok(None)` without the `EFI PART` signature; the
/// table; `Device`, `CorruptHeader` or `CorruptEntries`.
pub(crate) fn read_table<R: SectorReader>(
    disk: &mut R,
    sector: u64,
) -> Result<Option<Table>, PartitionError<R::Error>> {
    let mut header = [0u8; SECTOR_SIZE];
    disk.read(sector, &mut header)
        .map_err(PartitionError::Device)?;
    if &header[0..8] != b"EFI PART" {
        return Ok(None);
    }
    let header_size = le32(&header, header::SIZE) as usize;
    if !(92..=SECTOR_SIZE).contains(&header_size) {
        return Err(PartitionError::CorruptHeader("impossible header size"));
    }
    let mut zeroed = header;
    zeroed[header::CRC..header::CRC + 4].fill(0);
    if crc32(&zeroed[..header_size]) != le32(&header, header::CRC) {
        return Err(PartitionError::CorruptHeader("CRC-32 mismatch"));
    }
    if le64(&header, header::MY_LBA) != sector {
        return Err(PartitionError::CorruptHeader("not where it says it is"));
    }
    let entries_sector = le64(&header, header::ENTRIES_LBA);
    let entry_count = le32(&header, header::ENTRY_COUNT) as usize;
    let entry_size = le32(&header, header::ENTRY_SIZE) as usize;
    // UEFI: 128 × 2^n bytes.
    if entry_size < 128 || !entry_size.is_power_of_two() {
        return Err(PartitionError::CorruptHeader("impossible entry size"));
    }
    let entry_bytes = entry_count
        .checked_mul(entry_size)
        .filter(|bytes| *bytes <= MAX_ENTRY_BYTES)
        .ok_or(PartitionError::CorruptHeader("too many entries"))?;
    let mut entries = alloc::vec![0u8; entry_bytes.div_ceil(SECTOR_SIZE) * SECTOR_SIZE];
    disk.read(entries_sector, &mut entries)
        .map_err(PartitionError::Device)?;
    entries.truncate(entry_bytes);
    if crc32(&entries) != le32(&header, header::ENTRIES_CRC) {
        return Err(PartitionError::CorruptEntries);
    }
    Ok(Some(Table {
        header,
        header_size,
        entries,
        entry_size,
    }))
}

/// Finds the first partition of type `wanted` (on-disk GUID bytes).
///
/// Return values: `Device` if a sector of the table cannot be read;
/// `CorruptHeader` / `CorruptEntries` for a table that fails its checks;
/// `OutOfDisk` for a wanted entry outside the usable area or the disk;
/// `NotFound` for a valid table without such an entry.
pub fn find_partition<R: SectorReader>(
    disk: &mut R,
    wanted: &[u8; 16],
) -> Result<Volume, PartitionError<R::Error>> {
    if disk.sectors() < 2 {
        return Ok(Volume::WholeDisk);
    }
    let Some(table) = read_table(disk, 1)? else {
        return Ok(Volume::WholeDisk);
    };
    let first_usable = le64(&table.header, header::FIRST_USABLE);
    let last_usable = le64(&table.header, header::LAST_USABLE);
    for (position, entry) in table.entries.chunks_exact(table.entry_size).enumerate() {
        // Entry: type GUID @0, unique GUID @16, first LBA @32, last LBA
        // @40 (inclusive).
        if entry[0..16] != wanted[..] {
            continue;
        }
        let index = position + 1;
        let (first, last) = (le64(entry, 32), le64(entry, 40));
        if first > last || first < first_usable || last > last_usable || last >= disk.sectors() {
            return Err(PartitionError::OutOfDisk { index });
        }
        return Ok(Volume::Partition {
            index,
            first,
            sectors: last - first + 1,
        });
    }
    Err(PartitionError::NotFound)
}

mod grow;
pub use grow::{grow_partition, Grown, SectorWriter};

#[cfg(test)]
mod tests;
