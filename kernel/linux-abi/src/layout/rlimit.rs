// SPDX-License-Identifier: MIT OR Apache-2.0
//! `struct rlimit` (and `rlimit64`, identical on 64-bit): the soft limit
//! at 0, the hard limit at 8, 16 bytes (`linux/resource.h`). Checked
//! against the host libc.

use super::bytes::{get_u64, put_u64};

/// Bytes in a `struct rlimit`.
pub const RLIMIT_SIZE: usize = 16;

/// A resource limit; [`crate::resource::UNLIMITED`] is no limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResourceLimit {
    /// `rlim_cur`: the limit enforced.
    pub soft: u64,
    /// `rlim_max`: the ceiling for the soft limit.
    pub hard: u64,
}

impl ResourceLimit {
    /// The bytes a program reads.
    pub fn encode(&self) -> [u8; RLIMIT_SIZE] {
        let mut bytes = [0; RLIMIT_SIZE];
        put_u64(&mut bytes, 0, self.soft);
        put_u64(&mut bytes, 8, self.hard);
        bytes
    }

    /// The limit a program gave.
    pub fn decode(bytes: &[u8; RLIMIT_SIZE]) -> ResourceLimit {
        ResourceLimit {
            soft: get_u64(bytes, 0),
            hard: get_u64(bytes, 8),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{offset_of, size_of};

    #[test]
    fn layout_matches_the_host_libc() {
        assert_eq!(size_of::<libc::rlimit>(), RLIMIT_SIZE);
        assert_eq!(size_of::<libc::rlimit64>(), RLIMIT_SIZE);
        assert_eq!(offset_of!(libc::rlimit, rlim_cur), 0);
        assert_eq!(offset_of!(libc::rlimit, rlim_max), 8);
        let limit = ResourceLimit {
            soft: 1024,
            hard: u64::MAX,
        };
        assert_eq!(ResourceLimit::decode(&limit.encode()), limit);
    }
}
