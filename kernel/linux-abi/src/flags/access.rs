// SPDX-License-Identifier: MIT OR Apache-2.0
//! `access`/`faccessat`'s mode (`unistd.h`: `F_OK`, `R_OK`, `W_OK`,
//! `X_OK`; the same on both architectures).

use bitflags::bitflags;

bitflags! {
    /// What `access` asks: the empty set is `F_OK` (existence only).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct AccessCheck: u32 {
        /// `X_OK`: may it be run (a directory: searched)?
        const EXECUTE = 1;
        /// `W_OK`: may it be written?
        const WRITE = 2;
        /// `R_OK`: may it be read?
        const READ = 4;
    }
}

impl AccessCheck {
    /// The checks in the register value `raw` (a C `int`), or `None`
    /// when it holds any other bit (Linux answers `EINVAL`).
    pub fn decode(raw: u64) -> Option<AccessCheck> {
        u32::try_from(raw).ok().and_then(AccessCheck::from_bits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_match_the_host_libc() {
        assert_eq!(libc::F_OK, 0);
        assert_eq!(AccessCheck::EXECUTE.bits() as i32, libc::X_OK);
        assert_eq!(AccessCheck::WRITE.bits() as i32, libc::W_OK);
        assert_eq!(AccessCheck::READ.bits() as i32, libc::R_OK);
        assert_eq!(AccessCheck::decode(0), Some(AccessCheck::empty()));
        assert_eq!(
            AccessCheck::decode(6),
            Some(AccessCheck::READ | AccessCheck::WRITE)
        );
        assert_eq!(AccessCheck::decode(8), None);
        assert_eq!(AccessCheck::decode(1 << 40), None);
    }
}
