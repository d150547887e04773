// SPDX-License-Identifier: MIT OR Apache-2.0
//! Little-endian field access that cannot panic.
//!
//! Every on-disk structure of ext2 is little-endian. These helpers read and
//! write fixed-width fields at a byte offset of a buffer. An offset that does
//! not fit reads as zero and writes nothing: callers use them with constant
//! offsets inside buffers whose length they fixed themselves, so the fallback
//! never triggers in practice, but it keeps a slip from becoming a panic on a
//! hostile image (DESIGN §4: never panic on on-disk data).

/// The `u8` at `offset`, 0 when out of range.
#[inline]
pub(crate) fn read_u8(buffer: &[u8], offset: usize) -> u8 {
    buffer.get(offset).copied().unwrap_or(0)
}

/// The little-endian `u16` at `offset`, 0 when out of range.
#[inline]
pub(crate) fn read_u16(buffer: &[u8], offset: usize) -> u16 {
    match buffer.get(offset..offset.wrapping_add(2)) {
        Some(&[low, high]) => u16::from_le_bytes([low, high]),
        _ => 0,
    }
}

/// The little-endian `u32` at `offset`, 0 when out of range.
#[inline]
pub(crate) fn read_u32(buffer: &[u8], offset: usize) -> u32 {
    match buffer.get(offset..offset.wrapping_add(4)) {
        Some(&[byte0, byte1, byte2, byte3]) => u32::from_le_bytes([byte0, byte1, byte2, byte3]),
        _ => 0,
    }
}

/// Stores `value` at `offset` when it fits.
#[inline]
pub(crate) fn write_u8(buffer: &mut [u8], offset: usize, value: u8) {
    if let Some(slot) = buffer.get_mut(offset) {
        *slot = value;
    }
}

/// Stores `value` little-endian at `offset` when it fits.
#[inline]
pub(crate) fn write_u16(buffer: &mut [u8], offset: usize, value: u16) {
    if let Some(slot) = buffer.get_mut(offset..offset.wrapping_add(2)) {
        slot.copy_from_slice(&value.to_le_bytes());
    }
}

/// Stores `value` little-endian at `offset` when it fits.
#[inline]
pub(crate) fn write_u32(buffer: &mut [u8], offset: usize, value: u32) {
    if let Some(slot) = buffer.get_mut(offset..offset.wrapping_add(4)) {
        slot.copy_from_slice(&value.to_le_bytes());
    }
}

/// Whether bit `index` of a bitmap is set; bits past the end read as set, so
/// a short bitmap never offers a block or inode that does not exist.
#[inline]
pub(crate) fn bit_is_set(bitmap: &[u8], index: usize) -> bool {
    match bitmap.get(index / 8) {
        Some(byte) => byte & (1 << (index % 8)) != 0,
        None => true,
    }
}

/// Sets or clears bit `index` of a bitmap when it exists.
pub(crate) fn set_bit(bitmap: &mut [u8], index: usize, value: bool) {
    if let Some(byte) = bitmap.get_mut(index / 8) {
        if value {
            *byte |= 1 << (index % 8);
        } else {
            *byte &= !(1 << (index % 8));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_range_reads_zero_and_writes_nothing() {
        let mut buffer = [1u8, 2, 3];
        assert_eq!(read_u32(&buffer, 0), 0);
        assert_eq!(read_u16(&buffer, 1), 0x0302);
        assert_eq!(read_u16(&buffer, usize::MAX), 0);
        write_u32(&mut buffer, 1, 7);
        assert_eq!(buffer, [1, 2, 3]);
        assert!(bit_is_set(&buffer, 100));
    }
}
