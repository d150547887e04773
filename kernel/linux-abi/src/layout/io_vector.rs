// SPDX-License-Identifier: MIT OR Apache-2.0
//! `struct iovec` of `readv` and `writev`: `iov_base` at 0, `iov_len` at
//! 8, 16 bytes (`linux/uio.h`); checked against the host libc.

use super::bytes::get_u64;

/// Bytes in a `struct iovec`.
pub const IOVEC_SIZE: usize = 16;
/// `UIO_MAXIOV`: most vectors one call takes (more is `EINVAL`).
pub const MAX_VECTORS: usize = 1024;

/// One buffer of a vector, as the program described it (its address is a
/// claim the kernel checks).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IoVector {
    /// The buffer's address in the program.
    pub base: u64,
    /// Its length.
    pub length: u64,
}

impl IoVector {
    /// Decodes one `struct iovec`.
    pub fn decode(bytes: &[u8; IOVEC_SIZE]) -> IoVector {
        IoVector {
            base: get_u64(bytes, 0),
            length: get_u64(bytes, 8),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{offset_of, size_of};

    #[test]
    fn layout_matches_the_host_libc() {
        assert_eq!(size_of::<libc::iovec>(), IOVEC_SIZE);
        assert_eq!(offset_of!(libc::iovec, iov_base), 0);
        assert_eq!(offset_of!(libc::iovec, iov_len), 8);
        assert_eq!(MAX_VECTORS, libc::UIO_MAXIOV as usize);
        let mut bytes = [0; IOVEC_SIZE];
        bytes[..8].copy_from_slice(&0x4000_1000u64.to_le_bytes());
        bytes[8..].copy_from_slice(&12u64.to_le_bytes());
        assert_eq!(
            IoVector::decode(&bytes),
            IoVector {
                base: 0x4000_1000,
                length: 12
            }
        );
    }
}
