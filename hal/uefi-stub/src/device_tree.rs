// SPDX-License-Identifier: MIT OR Apache-2.0
//! Copying the firmware's device tree with the memory it keeps reserved.
//!
//! The tree QEMU gives UEFI describes all of RAM in `/memory`; part of that
//! RAM stays the firmware's after `ExitBootServices` (runtime services,
//! ACPI tables, reserved pages). The kernel already honours the tree's
//! memory reservation block (`/memreserve/`), so the stub writes a copy of
//! the tree whose reservation block lists those ranges as well. The copy
//! is laid out as the Devicetree Specification v0.4 §5 describes: the
//! 40-byte header, the reservation block (8-byte aligned, pairs of
//! big-endian `u64` ended by a zero pair), then the structure and strings
//! blocks unchanged; the header's offsets and sizes are rewritten.

/// `FDT_MAGIC`.
const MAGIC: u32 = 0xd00d_feed;
/// Size of a version-17 header.
const HEADER_SIZE: usize = 40;

/// Why the tree could not be copied.
#[derive(Clone, Copy, Debug)]
pub enum TreeError {
    /// No device tree magic, or offsets that point outside the blob.
    Malformed,
    /// The destination buffer is too small.
    NoRoom,
}

fn be32(bytes: &[u8], offset: usize) -> Result<u32, TreeError> {
    let b = bytes.get(offset..offset + 4).ok_or(TreeError::Malformed)?;
    Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

fn be64(bytes: &[u8], offset: usize) -> Result<u64, TreeError> {
    Ok((u64::from(be32(bytes, offset)?) << 32) | u64::from(be32(bytes, offset + 4)?))
}

/// The total size the tree at `header` claims (to know how much to read).
pub fn total_size(header: &[u8; 8]) -> Option<usize> {
    let magic = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
    let total = u32::from_be_bytes([header[4], header[5], header[6], header[7]]) as usize;
    (magic == MAGIC && total >= HEADER_SIZE).then_some(total)
}

/// Writes `source` into `destination` with `extra` (start, size) ranges
/// appended to its memory reservation block; returns the new tree's size.
///
/// Return values: `Err(Malformed)` for a blob that is not a version ≥ 16
/// device tree or whose blocks lie outside it, `Err(NoRoom)` when
/// `destination` cannot hold the result.
pub fn copy_with_reservations(
    source: &[u8],
    extra: impl Iterator<Item = (u64, u64)>,
    destination: &mut [u8],
) -> Result<usize, TreeError> {
    if be32(source, 0)? != MAGIC || be32(source, 20)? < 16 {
        return Err(TreeError::Malformed);
    }
    let total = be32(source, 4)? as usize;
    let structure_offset = be32(source, 8)? as usize;
    let strings_offset = be32(source, 12)? as usize;
    let reservations_offset = be32(source, 16)? as usize;
    let strings_size = be32(source, 32)? as usize;
    let structure_size = be32(source, 36)? as usize;
    let block = |offset: usize, size: usize| {
        offset
            .checked_add(size)
            .filter(|end| *end <= total && *end <= source.len())
            .map(|end| &source[offset..end])
            .ok_or(TreeError::Malformed)
    };
    let structure = block(structure_offset, structure_size)?;
    let strings = block(strings_offset, strings_size)?;

    let mut cursor = HEADER_SIZE;
    let put = |destination: &mut [u8], cursor: &mut usize, bytes: &[u8]| {
        let end = *cursor + bytes.len();
        destination
            .get_mut(*cursor..end)
            .ok_or(TreeError::NoRoom)?
            .copy_from_slice(bytes);
        *cursor = end;
        Ok::<(), TreeError>(())
    };
    // The old reservations first, then ours, then the terminating pair.
    let mut old = reservations_offset;
    loop {
        let (address, size) = (be64(source, old)?, be64(source, old + 8)?);
        if address == 0 && size == 0 {
            break;
        }
        put(destination, &mut cursor, &address.to_be_bytes())?;
        put(destination, &mut cursor, &size.to_be_bytes())?;
        old += 16;
    }
    for (address, size) in extra {
        put(destination, &mut cursor, &address.to_be_bytes())?;
        put(destination, &mut cursor, &size.to_be_bytes())?;
    }
    put(destination, &mut cursor, &[0; 16])?;
    let new_structure = cursor;
    put(destination, &mut cursor, structure)?;
    let new_strings = cursor;
    put(destination, &mut cursor, strings)?;
    let new_total = cursor;

    // Header: magic, totalsize, off_dt_struct, off_dt_strings,
    // off_mem_rsvmap, version, last_comp_version, boot_cpuid_phys,
    // size_dt_strings, size_dt_struct.
    let header: [u32; 10] = [
        MAGIC,
        new_total as u32,
        new_structure as u32,
        new_strings as u32,
        HEADER_SIZE as u32,
        17,
        16,
        be32(source, 28)?,
        strings_size as u32,
        structure_size as u32,
    ];
    for (index, word) in header.iter().enumerate() {
        let slot = destination
            .get_mut(index * 4..index * 4 + 4)
            .ok_or(TreeError::NoRoom)?;
        slot.copy_from_slice(&word.to_be_bytes());
    }
    Ok(new_total)
}
