// SPDX-License-Identifier: MIT OR Apache-2.0
//! `getrandom`'s flags (`linux/random.h`).

use bitflags::bitflags;

bitflags! {
    /// `getrandom` flags.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct RandomFlags: u32 {
        /// `GRND_NONBLOCK`: `EAGAIN` rather than wait for entropy.
        const NONBLOCK = 0x1;
        /// `GRND_RANDOM`: the (historical) blocking pool.
        const RANDOM = 0x2;
        /// `GRND_INSECURE`: never wait, even before the pool is ready.
        const INSECURE = 0x4;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_match_the_host_libc() {
        assert_eq!(RandomFlags::NONBLOCK.bits(), libc::GRND_NONBLOCK);
        assert_eq!(RandomFlags::RANDOM.bits(), libc::GRND_RANDOM);
        assert_eq!(RandomFlags::INSECURE.bits(), libc::GRND_INSECURE);
    }
}
