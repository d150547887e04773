// SPDX-License-Identifier: MIT OR Apache-2.0
//! The journal's checksum functions, with Linux's calling convention.
//!
//! JBD2 computes its checksums with the Linux kernel's `crc32c(seed, data)`
//! and `crc32_be(seed, data)` (`fs/jbd2/`, `include/linux/jbd2.h`,
//! `jbd2_chksum`): the register starts at `seed` and the result is the bare
//! register, with no final inversion, so a checksum can be continued by
//! passing it as the next seed (the tag checksum is `crc32c` of the
//! sequence number continued over the block). The `crc` crate's catalogue
//! algorithms invert their result and take their initial value in the
//! unreflected form, so these wrappers undo both: for the reflected
//! Castagnoli CRC the seed is given bit-reversed and the result inverted
//! back; for the unreflected CRC-32 (`crc32_be`) only the inversion.
//! e2fsprogs' `ext2fs_crc32c_le` has the same convention.

use crc::{Crc, CRC_32_BZIP2, CRC_32_ISCSI};

/// CRC-32C (Castagnoli, reflected): the checksum of JBD2 v2 and v3.
static CASTAGNOLI: Crc<u32> = Crc::<u32>::new(&CRC_32_ISCSI);
/// CRC-32 (polynomial 0x04C11DB7, unreflected): the v1 commit checksum.
static CRC32_BIG_ENDIAN: Crc<u32> = Crc::<u32>::new(&CRC_32_BZIP2);

/// Linux's `crc32c(seed, bytes)`: the bare register after `bytes`.
pub(crate) fn crc32c(seed: u32, bytes: &[u8]) -> u32 {
    let mut digest = CASTAGNOLI.digest_with_initial(seed.reverse_bits());
    digest.update(bytes);
    !digest.finalize()
}

/// Linux's `crc32_be(seed, bytes)`: the bare register after `bytes`.
pub(crate) fn crc32_big_endian(seed: u32, bytes: &[u8]) -> u32 {
    let mut digest = CRC32_BIG_ENDIAN.digest_with_initial(seed);
    digest.update(bytes);
    !digest.finalize()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn castagnoli_matches_the_catalogue_check_value() {
        // The catalogue's check value is the inverted register from ~0.
        assert_eq!(!crc32c(!0, b"123456789"), 0xE306_9283);
        // Continuing over a split input gives the same register.
        assert_eq!(
            crc32c(crc32c(!0, b"12345"), b"6789"),
            crc32c(!0, b"123456789")
        );
        // Linux's crc32c(0, "", 0) is 0; over zeros from seed 0 it stays 0.
        assert_eq!(crc32c(0, &[]), 0);
    }

    #[test]
    fn big_endian_crc_matches_the_catalogue_check_value() {
        assert_eq!(!crc32_big_endian(!0, b"123456789"), 0xFC89_1918);
        assert_eq!(
            crc32_big_endian(crc32_big_endian(!0, b"1234"), b"56789"),
            crc32_big_endian(!0, b"123456789")
        );
    }
}
