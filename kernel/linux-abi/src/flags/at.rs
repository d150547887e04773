// SPDX-License-Identifier: MIT OR Apache-2.0
//! The `…at` calls' directory fd and flags, `renameat2`'s flags and
//! `utimensat`'s special nanosecond values (`linux/fcntl.h`,
//! `linux/fs.h`, `linux/stat.h`; the same on both architectures).

use bitflags::bitflags;

/// `AT_FDCWD`: the directory fd meaning "the current directory".
pub const CURRENT_DIRECTORY: i32 = -100;

/// Whether the register value `raw` (a C `int` fd) is `AT_FDCWD`.
pub fn is_current_directory(raw: u64) -> bool {
    raw as u32 as i32 == CURRENT_DIRECTORY
}

bitflags! {
    /// Flags of the `…at` calls. One bit means two things: `0x200` is
    /// `AT_REMOVEDIR` for `unlinkat` and `AT_EACCESS` for `faccessat2`;
    /// which applies depends on the call.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct AtFlags: u32 {
        /// `AT_SYMLINK_NOFOLLOW` (0x100): do not follow a final symlink.
        const SYMLINK_NO_FOLLOW = 0x100;
        /// `AT_REMOVEDIR` (0x200, `unlinkat`): remove a directory.
        const REMOVE_DIRECTORY = 0x200;
        /// `AT_EACCESS` (0x200, `faccessat2`): check with effective ids.
        const EFFECTIVE_ACCESS = 0x200;
        /// `AT_SYMLINK_FOLLOW` (0x400, `linkat`): follow a final symlink.
        const SYMLINK_FOLLOW = 0x400;
        /// `AT_NO_AUTOMOUNT` (0x800).
        const NO_AUTOMOUNT = 0x800;
        /// `AT_EMPTY_PATH` (0x1000): an empty path means the fd itself.
        const EMPTY_PATH = 0x1000;
        /// `AT_STATX_FORCE_SYNC` (0x2000, `statx`).
        const STATX_FORCE_SYNC = 0x2000;
        /// `AT_STATX_DONT_SYNC` (0x4000, `statx`).
        const STATX_DONT_SYNC = 0x4000;
    }
}

impl AtFlags {
    /// The flags in `raw` and the bits not named here (0 when none).
    pub fn decode(raw: u64) -> (AtFlags, u64) {
        let known = AtFlags::from_bits_truncate(raw as u32);
        (known, raw & !u64::from(known.bits()))
    }
}

bitflags! {
    /// `renameat2`'s flags.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct RenameFlags: u32 {
        /// `RENAME_NOREPLACE`: fail if the target exists.
        const NO_REPLACE = 1 << 0;
        /// `RENAME_EXCHANGE`: swap the two names.
        const EXCHANGE = 1 << 1;
        /// `RENAME_WHITEOUT`: leave a whiteout (overlay file systems).
        const WHITEOUT = 1 << 2;
    }
}

/// `UTIME_NOW`: in a `utimensat` `tv_nsec`, "set to the current time".
pub const UTIME_NOW: i64 = (1 << 30) - 1;
/// `UTIME_OMIT`: in a `utimensat` `tv_nsec`, "leave unchanged".
pub const UTIME_OMIT: i64 = (1 << 30) - 2;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_match_the_host_libc() {
        assert_eq!(CURRENT_DIRECTORY, libc::AT_FDCWD);
        assert!(is_current_directory(libc::AT_FDCWD as u32 as u64));
        assert!(is_current_directory(libc::AT_FDCWD as i64 as u64));
        assert!(!is_current_directory(3));
        assert_eq!(
            AtFlags::SYMLINK_NO_FOLLOW.bits() as i32,
            libc::AT_SYMLINK_NOFOLLOW
        );
        assert_eq!(AtFlags::REMOVE_DIRECTORY.bits() as i32, libc::AT_REMOVEDIR);
        assert_eq!(AtFlags::EFFECTIVE_ACCESS.bits() as i32, libc::AT_EACCESS);
        assert_eq!(
            AtFlags::SYMLINK_FOLLOW.bits() as i32,
            libc::AT_SYMLINK_FOLLOW
        );
        assert_eq!(AtFlags::EMPTY_PATH.bits() as i32, libc::AT_EMPTY_PATH);
        assert_eq!(RenameFlags::NO_REPLACE.bits(), libc::RENAME_NOREPLACE);
        assert_eq!(RenameFlags::EXCHANGE.bits(), libc::RENAME_EXCHANGE);
        assert_eq!(UTIME_NOW, libc::UTIME_NOW);
        assert_eq!(UTIME_OMIT, libc::UTIME_OMIT);
        let (flags, unknown) = AtFlags::decode(0x1100 | 0x10_0000);
        assert_eq!(flags, AtFlags::EMPTY_PATH | AtFlags::SYMLINK_NO_FOLLOW);
        assert_eq!(unknown, 0x10_0000);
    }
}
