// SPDX-License-Identifier: MIT OR Apache-2.0
//! Growing a table to its disk: the backup at the new end, the last
//! partition to fill it.
//!
//! A cloud image's table describes the disk it was built on. Copied onto
//! a larger disk, its backup header and entry array (UEFI 2.10 §5.3.2:
//! the last sector, the entries just before it) sit in the middle of the
//! disk. [`grow_partition`] moves them to the end, moves the last usable
//! sector with them, and extends the wanted partition to it when no other
//! partition lies after it — what `sgdisk -e` then `growpart` do.
//!
//! **Order.** The new backup (entries, then header) goes to the new end
//! first, and a flush; then the primary entries, a flush, the primary
//! header, a flush; last, the old backup header is wiped. A cut before
//! the primary header leaves the old table valid (and the new backup
//! unused) or, between the primary entries and header, a primary whose
//! entry CRC fails: [`grow_partition`] finds that the next time (the
//! backup at the disk's end is valid and names the same disk) and writes
//! the primary again from it. Either way, the next boot sees one
//! consistent table.
//!
//! This module never moves a partition's start, never shrinks anything,
//! and never writes unless every check passed.

use alloc::vec::Vec;

use crate::SECTOR_SIZE;
use crate::{crc32, header, le64, read_table, PartitionError, SectorReader, Table};

/// A disk the table can be written to.
pub trait SectorWriter: SectorReader {
    /// Writes whole sectors from `buffer` (a multiple of
    /// [`SECTOR_SIZE`]) at `sector`.
    ///
    /// Return values: the device's error.
    fn write(&mut self, sector: u64, buffer: &[u8]) -> Result<(), Self::Error>;

    /// Makes every write before it durable.
    ///
    /// Return values: the device's error.
    fn flush(&mut self) -> Result<(), Self::Error>;
}

/// What [`grow_partition`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grown {
    /// The wanted partition's entry number, from 1.
    pub index: usize,
    /// Its length in sectors before.
    pub old_sectors: u64,
    /// Its length in sectors after (the same when another partition
    /// follows it).
    pub new_sectors: u64,
}

/// Moves the backup table to the end of `disk` and grows the first
/// partition of type `wanted` to the new last usable sector, if the disk
/// is larger than the table says (see the module doc).
///
/// Return values: `Ok(None)` for a disk without a table, or whose table
/// already ends at the disk's end; `Ok(Some(grown))` after a growth (or
/// after the primary was rewritten from the backup of an interrupted
/// one); `Device`; `CorruptHeader` / `CorruptEntries` for a table that
/// fails its checks, or whose backup lies past the disk's end;
/// `OutOfDisk` for a wanted entry outside the usable area; `NotFound`.
pub fn grow_partition<D: SectorWriter>(
    disk: &mut D,
    wanted: &[u8; 16],
) -> Result<Option<Grown>, PartitionError<D::Error>> {
    let sectors = disk.sectors();
    if sectors < 2 {
        return Ok(None);
    }
    let last_sector = sectors - 1;
    let primary = match read_table(disk, 1) {
        Ok(Some(table)) => table,
        Ok(None) => return Ok(None),
        Err(PartitionError::CorruptEntries) => {
            return finish_interrupted(disk, wanted, last_sector);
        }
        Err(error) => return Err(error),
    };
    let alternate = le64(&primary.header, header::ALTERNATE_LBA);
    if alternate == last_sector {
        return Ok(None);
    }
    if alternate > last_sector {
        return Err(PartitionError::CorruptHeader(
            "backup header past the disk's end",
        ));
    }
    let entry_sectors = primary.entries.len().div_ceil(SECTOR_SIZE) as u64;
    let backup_entries = last_sector - entry_sectors;
    let last_usable = backup_entries - 1;
    let old_last_usable = le64(&primary.header, header::LAST_USABLE);
    if last_usable <= old_last_usable {
        return Err(PartitionError::CorruptHeader(
            "backup header inside the usable area",
        ));
    }
    let mut entries = primary.entries.clone();
    let grown = extend_last(
        &mut entries,
        primary.entry_size,
        wanted,
        old_last_usable,
        last_usable,
    )?;
    let new_primary = sealed(
        &primary,
        &entries,
        1,
        last_sector,
        le64(&primary.header, header::ENTRIES_LBA),
        last_usable,
    );
    let new_backup = sealed(
        &primary,
        &entries,
        last_sector,
        1,
        backup_entries,
        last_usable,
    );
    let padded = padded(&entries);
    let write = |disk: &mut D, sector: u64, bytes: &[u8]| disk.write(sector, bytes);
    write(disk, backup_entries, &padded).map_err(PartitionError::Device)?;
    write(disk, last_sector, &new_backup).map_err(PartitionError::Device)?;
    disk.flush().map_err(PartitionError::Device)?;
    write(disk, le64(&new_primary, header::ENTRIES_LBA), &padded)
        .map_err(PartitionError::Device)?;
    disk.flush().map_err(PartitionError::Device)?;
    write(disk, 1, &new_primary).map_err(PartitionError::Device)?;
    disk.flush().map_err(PartitionError::Device)?;
    // The old backup header now lies inside the partition: wipe it, so
    // no tool mistakes it for a table.
    write(disk, alternate, &[0u8; SECTOR_SIZE]).map_err(PartitionError::Device)?;
    disk.flush().map_err(PartitionError::Device)?;
    Ok(Some(grown))
}

/// A primary whose header is sound but whose entries fail their CRC,
/// naming a backup before the disk's end, while the disk's last sector
/// holds a valid backup of the same disk (GUID) naming the primary: a
/// growth was cut off between the primary's entries and header. Writes
/// the primary again from that backup; any other damage stays
/// `CorruptEntries`, untouched.
fn finish_interrupted<D: SectorWriter>(
    disk: &mut D,
    wanted: &[u8; 16],
    last_sector: u64,
) -> Result<Option<Grown>, PartitionError<D::Error>> {
    let error = PartitionError::CorruptEntries;
    let Ok(Some(backup)) = read_table(disk, last_sector) else {
        return Err(error);
    };
    let mut primary_header = [0u8; SECTOR_SIZE];
    disk.read(1, &mut primary_header)
        .map_err(PartitionError::Device)?;
    // The disk GUID @56.
    if &primary_header[0..8] != b"EFI PART"
        || primary_header[56..72] != backup.header[56..72]
        || le64(&primary_header, header::ALTERNATE_LBA) >= last_sector
    {
        return Err(error);
    }
    if le64(&backup.header, header::ALTERNATE_LBA) != 1 {
        return Err(error);
    }
    let entries_sector = le64(&primary_header, header::ENTRIES_LBA);
    if entries_sector < 2 || entries_sector >= le64(&backup.header, header::FIRST_USABLE) {
        return Err(error);
    }
    let last_usable = le64(&backup.header, header::LAST_USABLE);
    let new_primary = sealed(
        &backup,
        &backup.entries,
        1,
        last_sector,
        entries_sector,
        last_usable,
    );
    disk.write(entries_sector, &padded(&backup.entries))
        .map_err(PartitionError::Device)?;
    disk.flush().map_err(PartitionError::Device)?;
    disk.write(1, &new_primary)
        .map_err(PartitionError::Device)?;
    disk.flush().map_err(PartitionError::Device)?;
    let index = backup
        .entries
        .chunks_exact(backup.entry_size)
        .position(|entry| entry[0..16] == wanted[..])
        .ok_or(PartitionError::NotFound)?;
    let entry = &backup.entries[index * backup.entry_size..];
    let sectors = le64(entry, 40) - le64(entry, 32) + 1;
    Ok(Some(Grown {
        index: index + 1,
        old_sectors: sectors,
        new_sectors: sectors,
    }))
}

/// Extends the first entry of type `wanted` to `last_usable` when it ends
/// last of all entries in use (type GUID not zero).
fn extend_last<E>(
    entries: &mut [u8],
    entry_size: usize,
    wanted: &[u8; 16],
    old_last_usable: u64,
    last_usable: u64,
) -> Result<Grown, PartitionError<E>> {
    let position = entries
        .chunks_exact(entry_size)
        .position(|entry| entry[0..16] == wanted[..])
        .ok_or(PartitionError::NotFound)?;
    let index = position + 1;
    let start = position * entry_size;
    let (first, last) = (le64(entries, start + 32), le64(entries, start + 40));
    if first > last || last > old_last_usable {
        return Err(PartitionError::OutOfDisk { index });
    }
    let last_of_all = entries
        .chunks_exact(entry_size)
        .filter(|entry| entry[0..16].iter().any(|&byte| byte != 0))
        .map(|entry| le64(entry, 40))
        .max()
        .unwrap_or(0);
    let old_sectors = last - first + 1;
    if last != last_of_all {
        return Ok(Grown {
            index,
            old_sectors,
            new_sectors: old_sectors,
        });
    }
    entries[start + 40..start + 48].copy_from_slice(&last_usable.to_le_bytes());
    Ok(Grown {
        index,
        old_sectors,
        new_sectors: last_usable - first + 1,
    })
}

/// `table`'s header placed at `my_lba`, naming `alternate`, its entries
/// at `entries_lba`, the usable area ending at `last_usable`, with both
/// CRCs computed for `entries`.
fn sealed(
    table: &Table,
    entries: &[u8],
    my_lba: u64,
    alternate: u64,
    entries_lba: u64,
    last_usable: u64,
) -> [u8; SECTOR_SIZE] {
    let mut header = table.header;
    header[header::MY_LBA..header::MY_LBA + 8].copy_from_slice(&my_lba.to_le_bytes());
    header[header::ALTERNATE_LBA..header::ALTERNATE_LBA + 8]
        .copy_from_slice(&alternate.to_le_bytes());
    header[header::ENTRIES_LBA..header::ENTRIES_LBA + 8]
        .copy_from_slice(&entries_lba.to_le_bytes());
    header[header::LAST_USABLE..header::LAST_USABLE + 8]
        .copy_from_slice(&last_usable.to_le_bytes());
    header[header::ENTRIES_CRC..header::ENTRIES_CRC + 4]
        .copy_from_slice(&crc32(entries).to_le_bytes());
    header[header::CRC..header::CRC + 4].fill(0);
    let crc = crc32(&header[..table.header_size]);
    header[header::CRC..header::CRC + 4].copy_from_slice(&crc.to_le_bytes());
    header
}

/// The entry array padded to whole sectors.
fn padded(entries: &[u8]) -> Vec<u8> {
    let mut padded = entries.to_vec();
    padded.resize(entries.len().div_ceil(SECTOR_SIZE) * SECTOR_SIZE, 0);
    padded
}
