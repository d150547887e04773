// SPDX-License-Identifier: MIT OR Apache-2.0
//! Host tests: tables written by the `gpt` crate, each kind of damage, and
//! random mutations.

use super::*;
use gpt::partition_types::{Type, EFI, LINUX_ROOT_ARM_64};
use proptest::prelude::*;
use std::io::Cursor;

/// A disk in memory.
struct Memory(Vec<u8>);

impl SectorReader for Memory {
    type Error = ();

    fn sectors(&self) -> u64 {
        (self.0.len() / SECTOR_SIZE) as u64
    }

    fn read(&mut self, sector: u64, buffer: &mut [u8]) -> Result<(), ()> {
        let start = usize::try_from(sector)
            .ok()
            .and_then(|s| s.checked_mul(SECTOR_SIZE))
            .ok_or(())?;
        let end = start.checked_add(buffer.len()).ok_or(())?;
        buffer.copy_from_slice(self.0.get(start..end).ok_or(())?);
        Ok(())
    }
}

const DISK_BYTES: usize = 8 << 20;
const ROOT: [u8; 16] = guid_bytes(0xb921_b045, 0x1df0, 0x41c3, 0xaf44, 0x4c6f_280d_3fae);

/// An 8 MiB disk with a protective MBR and one 1 MiB partition of each
/// type, in order, aligned to 1 MiB.
fn disk_with(types: &[Type]) -> Vec<u8> {
    let mut cursor = Cursor::new(vec![0u8; DISK_BYTES]);
    gpt::mbr::ProtectiveMBR::with_lb_size((DISK_BYTES / SECTOR_SIZE - 1) as u32)
        .overwrite_lba0(&mut cursor)
        .unwrap();
    let mut disk = gpt::GptConfig::new()
        .writable(true)
        .logical_block_size(gpt::disk::LogicalBlockSize::Lb512)
        .create_from_device(cursor, None)
        .unwrap();
    for (index, kind) in types.iter().enumerate() {
        disk.add_partition(&format!("p{index}"), 1 << 20, kind.clone(), 0, Some(2048))
            .unwrap();
    }
    disk.write().unwrap().into_inner()
}

/// Recomputes the entry array's and the header's CRC-32 after an edit.
fn reseal(bytes: &mut [u8]) {
    let header = SECTOR_SIZE;
    let entries = le64(bytes, header + 72) as usize * SECTOR_SIZE;
    let length = le32(bytes, header + 80) as usize * le32(bytes, header + 84) as usize;
    let crc = crc32(&bytes[entries..entries + length]);
    bytes[header + 88..header + 92].copy_from_slice(&crc.to_le_bytes());
    let size = le32(bytes, header + 12) as usize;
    bytes[header + 16..header + 20].fill(0);
    let crc = crc32(&bytes[header..header + size]);
    bytes[header + 16..header + 20].copy_from_slice(&crc.to_le_bytes());
}

#[test]
fn guid_bytes_match_the_gpt_crate() {
    assert_eq!(ROOT, LINUX_ROOT_ARM_64.guid.to_bytes_le());
}

#[test]
fn a_disk_without_a_table_is_the_volume() {
    let mut disk = Memory(vec![0u8; DISK_BYTES]);
    assert_eq!(find_partition(&mut disk, &ROOT), Ok(Volume::WholeDisk));
    let mut tiny = Memory(vec![0u8; SECTOR_SIZE]);
    assert_eq!(find_partition(&mut tiny, &ROOT), Ok(Volume::WholeDisk));
}

#[test]
fn the_partition_of_the_wanted_type_is_found_wherever_it_is() {
    let bytes = disk_with(&[EFI, LINUX_ROOT_ARM_64]);
    let table = gpt::GptConfig::new()
        .open_from_device(Cursor::new(bytes.clone()))
        .unwrap();
    let root = &table.partitions()[&2];
    let mut disk = Memory(bytes);
    assert_eq!(
        find_partition(&mut disk, &ROOT),
        Ok(Volume::Partition {
            index: 2,
            first: root.first_lba,
            sectors: root.last_lba - root.first_lba + 1,
        })
    );
    let mut swapped = Memory(disk_with(&[LINUX_ROOT_ARM_64, EFI]));
    assert!(matches!(
        find_partition(&mut swapped, &ROOT),
        Ok(Volume::Partition { index: 1, .. })
    ));
}

#[test]
fn a_table_without_the_type_is_not_found() {
    let mut disk = Memory(disk_with(&[EFI]));
    assert_eq!(
        find_partition(&mut disk, &ROOT),
        Err(PartitionError::NotFound)
    );
}

#[test]
fn damage_is_reported_by_kind() {
    let good = disk_with(&[EFI, LINUX_ROOT_ARM_64]);

    let mut header = good.clone();
    header[SECTOR_SIZE + 40] ^= 1;
    assert_eq!(
        find_partition(&mut Memory(header), &ROOT),
        Err(PartitionError::CorruptHeader("CRC-32 mismatch"))
    );

    let mut entries = good.clone();
    entries[2 * SECTOR_SIZE + 130] ^= 1;
    assert_eq!(
        find_partition(&mut Memory(entries), &ROOT),
        Err(PartitionError::CorruptEntries)
    );

    // The root entry (the second, 128 bytes in) ends past the disk, with
    // both checksums made right again.
    let mut outside = good.clone();
    let last = 2 * SECTOR_SIZE + 128 + 40;
    outside[last..last + 8].copy_from_slice(&(DISK_BYTES as u64).to_le_bytes());
    reseal(&mut outside);
    assert_eq!(
        find_partition(&mut Memory(outside), &ROOT),
        Err(PartitionError::OutOfDisk { index: 2 })
    );

    // A huge entry count is refused before anything is allocated.
    let mut count = good.clone();
    count[SECTOR_SIZE + 80..SECTOR_SIZE + 84].copy_from_slice(&u32::MAX.to_le_bytes());
    reseal_header_only(&mut count);
    assert_eq!(
        find_partition(&mut Memory(count), &ROOT),
        Err(PartitionError::CorruptHeader("too many entries"))
    );

    // The entry array past the end of the disk is a device error.
    let mut far = good;
    far[SECTOR_SIZE + 72..SECTOR_SIZE + 80].copy_from_slice(&u64::MAX.to_le_bytes());
    reseal_header_only(&mut far);
    assert_eq!(
        find_partition(&mut Memory(far), &ROOT),
        Err(PartitionError::Device(()))
    );
}

/// Recomputes only the header's CRC-32.
fn reseal_header_only(bytes: &mut [u8]) {
    let header = SECTOR_SIZE;
    bytes[header + 16..header + 20].fill(0);
    let crc = crc32(&bytes[header..header + 92]);
    bytes[header + 16..header + 20].copy_from_slice(&crc.to_le_bytes());
}

proptest! {
    /// Any damage to the first 34 sectors (MBR, header, entries), with or
    /// without the checksums made right again, gives an answer or an
    /// error — never a panic — and an answer always lies inside the disk.
    #[test]
    fn mutations_never_panic(
        edits in proptest::collection::vec((0usize..34 * SECTOR_SIZE, any::<u8>()), 1..16),
        reseal_after in any::<bool>(),
        keep in 34usize..(DISK_BYTES / SECTOR_SIZE),
    ) {
        let mut bytes = disk_with(&[EFI, LINUX_ROOT_ARM_64]);
        for (offset, value) in edits {
            bytes[offset] = value;
        }
        if reseal_after && le32(&bytes, SECTOR_SIZE + 12) as usize <= SECTOR_SIZE {
            let count = le32(&bytes, SECTOR_SIZE + 80) as usize;
            let size = le32(&bytes, SECTOR_SIZE + 84) as usize;
            let entries = le64(&bytes, SECTOR_SIZE + 72) as usize;
            let fits = count.checked_mul(size).zip(entries.checked_mul(SECTOR_SIZE))
                .is_some_and(|(length, start)| start.checked_add(length).is_some_and(|end| end <= bytes.len()));
            if fits && le32(&bytes, SECTOR_SIZE + 12) >= 92 {
                reseal(&mut bytes);
            }
        }
        bytes.truncate(keep * SECTOR_SIZE);
        let mut disk = Memory(bytes);
        if let Ok(Volume::Partition { first, sectors, .. }) = find_partition(&mut disk, &ROOT) {
            prop_assert!(first + sectors <= disk.sectors());
        }
    }
}

impl SectorWriter for Memory {
    fn write(&mut self, sector: u64, buffer: &[u8]) -> Result<(), ()> {
        let start = usize::try_from(sector).map_err(|_| ())? * SECTOR_SIZE;
        let end = start + buffer.len();
        self.0
            .get_mut(start..end)
            .ok_or(())?
            .copy_from_slice(buffer);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), ()> {
        Ok(())
    }
}

/// The `gpt` crate's view of `bytes`: it checks both headers and both
/// entry arrays.
fn gpt_view(bytes: &[u8]) -> gpt::GptDisk<Cursor<Vec<u8>>> {
    gpt::GptConfig::new()
        .writable(false)
        .logical_block_size(gpt::disk::LogicalBlockSize::Lb512)
        .open_from_device(Cursor::new(bytes.to_vec()))
        .expect("the gpt crate reads the table")
}

#[test]
fn growth_moves_the_backup_to_the_end_and_fills_the_disk() {
    let mut bytes = disk_with(&[EFI, LINUX_ROOT_ARM_64]);
    let old_end = bytes.len();
    bytes.resize(64 * DISK_BYTES, 0);
    let mut disk = Memory(bytes);
    let grown = grow_partition(&mut disk, &ROOT).unwrap().expect("grown");
    assert_eq!(grown.index, 2);
    assert_eq!(grown.old_sectors, (1 << 20) / SECTOR_SIZE as u64);
    let last_sector = disk.sectors() - 1;
    // 128 entries of 128 bytes: 32 sectors before the backup header.
    let last_usable = last_sector - 33;
    let Volume::Partition { first, sectors, .. } = find_partition(&mut disk, &ROOT).unwrap() else {
        panic!("no partition");
    };
    assert_eq!(first + sectors - 1, last_usable);
    assert_eq!(sectors, grown.new_sectors);
    // The gpt crate agrees, both copies included.
    let view = gpt_view(&disk.0);
    let header = view.primary_header().unwrap();
    assert_eq!(header.backup_lba, last_sector);
    assert_eq!(header.last_usable, last_usable);
    assert_eq!(view.backup_header().unwrap().current_lba, last_sector);
    let root = view
        .partitions()
        .values()
        .find(|partition| partition.part_type_guid == LINUX_ROOT_ARM_64)
        .unwrap();
    assert_eq!(root.last_lba, last_usable);
    // The old backup header is wiped.
    assert!(disk.0[old_end - SECTOR_SIZE..old_end]
        .iter()
        .all(|&byte| byte == 0));
    // Growing again finds nothing to do.
    assert_eq!(grow_partition(&mut disk, &ROOT), Ok(None));
}

#[test]
fn a_partition_followed_by_another_keeps_its_size() {
    let mut bytes = disk_with(&[LINUX_ROOT_ARM_64, EFI]);
    bytes.resize(4 * DISK_BYTES, 0);
    let mut disk = Memory(bytes);
    let grown = grow_partition(&mut disk, &ROOT).unwrap().expect("moved");
    assert_eq!(grown.old_sectors, grown.new_sectors);
    let view = gpt_view(&disk.0);
    assert_eq!(
        view.primary_header().unwrap().backup_lba,
        disk.sectors() - 1
    );
}

#[test]
fn a_growth_cut_between_the_primary_entries_and_header_is_finished() {
    let mut bytes = disk_with(&[EFI, LINUX_ROOT_ARM_64]);
    bytes.resize(16 * DISK_BYTES, 0);
    let original = bytes.clone();
    let mut disk = Memory(bytes);
    grow_partition(&mut disk, &ROOT).unwrap();
    // Power cut after the primary entries: the old primary header with
    // the new entries and the new backup.
    let mut cut = disk.0.clone();
    cut[SECTOR_SIZE..2 * SECTOR_SIZE].copy_from_slice(&original[SECTOR_SIZE..2 * SECTOR_SIZE]);
    let mut cut = Memory(cut);
    assert_eq!(
        find_partition(&mut cut, &ROOT),
        Err(PartitionError::CorruptEntries)
    );
    let grown = grow_partition(&mut cut, &ROOT).unwrap().expect("finished");
    assert_eq!(grown.index, 2);
    assert_eq!(
        find_partition(&mut cut, &ROOT),
        find_partition(&mut disk, &ROOT)
    );
    gpt_view(&cut.0);
}

#[test]
fn a_disk_smaller_than_its_table_is_refused_untouched() {
    let bytes = disk_with(&[EFI, LINUX_ROOT_ARM_64]);
    let mut short = Memory(bytes[..DISK_BYTES / 2].to_vec());
    let before = short.0.clone();
    assert!(grow_partition(&mut short, &ROOT).is_err());
    assert_eq!(short.0, before);
}

#[test]
fn sgdisk_verifies_a_grown_table() {
    let mut bytes = disk_with(&[EFI, LINUX_ROOT_ARM_64]);
    bytes.resize(8 * DISK_BYTES, 0);
    let mut disk = Memory(bytes);
    grow_partition(&mut disk, &ROOT).unwrap().expect("grown");
    let path = std::env::temp_dir().join(format!("partition-grow-{}.img", std::process::id()));
    std::fs::write(&path, &disk.0).unwrap();
    let output = std::process::Command::new("sgdisk")
        .arg("-v")
        .arg(&path)
        .output()
        .expect("run sgdisk (Debian package gdisk)");
    let _ = std::fs::remove_file(&path);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{text}");
    assert!(text.contains("No problems found"), "{text}");
}

#[test]
fn corrupt_entries_of_a_table_that_was_not_growing_stay_an_error() {
    let mut bytes = disk_with(&[EFI, LINUX_ROOT_ARM_64]);
    bytes[2 * SECTOR_SIZE + 40] ^= 0xff;
    let before = bytes.clone();
    let mut disk = Memory(bytes);
    assert_eq!(
        grow_partition(&mut disk, &ROOT),
        Err(PartitionError::CorruptEntries)
    );
    assert_eq!(disk.0, before);
}
