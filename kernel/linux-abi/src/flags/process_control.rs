// SPDX-License-Identifier: MIT OR Apache-2.0
//! `prctl` options this personality answers (`linux/prctl.h`; the same on
//! both architectures).

/// `PR_SET_NAME`: set the calling thread's name (`comm`).
pub const SET_NAME: u64 = 15;
/// `PR_GET_NAME`: read it into a 16-byte buffer.
pub const GET_NAME: u64 = 16;
/// `TASK_COMM_LEN`: bytes of a name, its NUL included; longer names are
/// cut to 15 bytes.
pub const NAME_BYTES: usize = 16;

/// The 16 bytes `PR_GET_NAME` writes for `name`: at most 15 of its bytes,
/// then NULs.
pub fn encode_name(name: &[u8]) -> [u8; NAME_BYTES] {
    let mut bytes = [0; NAME_BYTES];
    let length = name.len().min(NAME_BYTES - 1);
    bytes[..length].copy_from_slice(&name[..length]);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_match_the_host_libc() {
        assert_eq!(SET_NAME, libc::PR_SET_NAME as u64);
        assert_eq!(GET_NAME, libc::PR_GET_NAME as u64);
    }

    #[test]
    fn names_are_cut_to_fifteen_bytes_and_terminated() {
        assert_eq!(&encode_name(b"sort")[..5], b"sort\0");
        let long = encode_name(b"a-very-long-program-name");
        assert_eq!(&long[..15], b"a-very-long-pro");
        assert_eq!(long[15], 0);
    }
}
