// SPDX-License-Identifier: MIT OR Apache-2.0
//! Big-endian field access that cannot panic, for the journal's blocks.
//!
//! Every JBD2 structure is big-endian (`include/linux/jbd2.h` declares
//! its fields `__be32`/`__be64`), unlike the rest of ext2, whose helpers are
//! in `crate::bytes`. As there, an offset that does not fit reads as zero
//! and writes nothing: callers check the buffer length first (every parser
//! here starts by checking that it holds a whole block), so the fallback is
//! only a guard against a slip turning into a panic.

/// The big-endian `u32` at `offset`, 0 when out of range.
pub(crate) fn read_u32(buffer: &[u8], offset: usize) -> u32 {
    match buffer.get(offset..offset.wrapping_add(4)) {
        Some(&[byte0, byte1, byte2, byte3]) => u32::from_be_bytes([byte0, byte1, byte2, byte3]),
        _ => 0,
    }
}

/// The big-endian `u64` at `offset`, 0 when out of range.
pub(crate) fn read_u64(buffer: &[u8], offset: usize) -> u64 {
    let high = read_u32(buffer, offset);
    let low = read_u32(buffer, offset.wrapping_add(4));
    (u64::from(high) << 32) | u64::from(low)
}

/// Stores `value` big-endian at `offset` when it fits.
pub(crate) fn write_u32(buffer: &mut [u8], offset: usize, value: u32) {
    if let Some(slot) = buffer.get_mut(offset..offset.wrapping_add(4)) {
        slot.copy_from_slice(&value.to_be_bytes());
    }
}

/// Stores `value` big-endian at `offset` when it fits.
pub(crate) fn write_u64(buffer: &mut [u8], offset: usize, value: u64) {
    write_u32(buffer, offset, (value >> 32) as u32);
    write_u32(buffer, offset.wrapping_add(4), value as u32);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_big_endian_and_bounded() {
        let mut buffer = [0u8; 12];
        write_u32(&mut buffer, 0, 0xC03B_3998);
        assert_eq!(buffer[..4], [0xC0, 0x3B, 0x39, 0x98]);
        write_u64(&mut buffer, 4, 0x0102_0304_0506_0708);
        assert_eq!(read_u64(&buffer, 4), 0x0102_0304_0506_0708);
        assert_eq!(read_u32(&buffer, 10), 0);
        assert_eq!(read_u32(&buffer, usize::MAX), 0);
        write_u32(&mut buffer, 10, 7);
        assert_eq!(buffer[10..], [0x07, 0x08]);
    }
}
