// SPDX-License-Identifier: MIT OR Apache-2.0
//! Open flags (`open`, `openat`, `fcntl(F_GETFL/F_SETFL)`, `pipe2`,
//! `dup3`).
//!
//! Most values are common (`asm-generic/fcntl.h`); four differ:
//!
//! | flag | x86_64 (generic) | AArch64 (`arch/arm64/include/uapi/asm/fcntl.h`) |
//! |---|---|---|
//! | `O_DIRECT` | `0o40000` | `0o200000` |
//! | `O_LARGEFILE` | `0o100000` | `0o400000` |
//! | `O_DIRECTORY` | `0o200000` | `0o40000` |
//! | `O_NOFOLLOW` | `0o400000` | `0o100000` |
//!
//! [`OpenRequest::decode`] turns a raw word into an [`AccessMode`], typed
//! [`OpenFlags`] and the bits it did not know; [`OpenRequest::encode`] is
//! the inverse (`F_GETFL`).

use bitflags::bitflags;

use crate::Arch;

/// `O_ACCMODE`: the two low bits give the access mode.
const ACCESS_MODE_MASK: u32 = 0o3;

/// How the file is opened (`flags & O_ACCMODE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessMode {
    /// `O_RDONLY` (0).
    ReadOnly,
    /// `O_WRONLY` (1).
    WriteOnly,
    /// `O_RDWR` (2).
    ReadWrite,
    /// 3: Linux's "neither read nor write", for `ioctl` only; a kernel
    /// may refuse it with `EINVAL`.
    NoReadNoWrite,
}

impl AccessMode {
    /// Whether the mode allows reading.
    pub fn reads(self) -> bool {
        matches!(self, AccessMode::ReadOnly | AccessMode::ReadWrite)
    }

    /// Whether the mode allows writing.
    pub fn writes(self) -> bool {
        matches!(self, AccessMode::WriteOnly | AccessMode::ReadWrite)
    }
}

bitflags! {
    /// The open flags other than the access mode, independent of the
    /// architecture (the bit values here are this crate's, not Linux's:
    /// [`OpenRequest`] translates).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct OpenFlags: u32 {
        /// `O_CREAT`: create the file if it does not exist.
        const CREATE = 1 << 0;
        /// `O_EXCL`: with `O_CREAT`, fail if it exists.
        const EXCLUSIVE = 1 << 1;
        /// `O_NOCTTY`: do not make a terminal the controlling one.
        const NO_CONTROLLING_TERMINAL = 1 << 2;
        /// `O_TRUNC`: truncate to length 0.
        const TRUNCATE = 1 << 3;
        /// `O_APPEND`: every write goes to the end.
        const APPEND = 1 << 4;
        /// `O_NONBLOCK`: never block.
        const NONBLOCK = 1 << 5;
        /// `O_DSYNC`: writes reach the disk with their data.
        const DATA_SYNC = 1 << 6;
        /// `FASYNC`: signal-driven I/O.
        const ASYNC = 1 << 7;
        /// `O_DIRECT`: bypass the cache.
        const DIRECT = 1 << 8;
        /// `O_LARGEFILE`: offsets beyond 2 GiB (implied on 64-bit).
        const LARGE_FILE = 1 << 9;
        /// `O_DIRECTORY`: fail unless a directory.
        const DIRECTORY = 1 << 10;
        /// `O_NOFOLLOW`: fail if the last component is a symbolic link.
        const NO_FOLLOW = 1 << 11;
        /// `O_NOATIME`: do not update the access time.
        const NO_ACCESS_TIME = 1 << 12;
        /// `O_CLOEXEC`: close on `execve`.
        const CLOSE_ON_EXEC = 1 << 13;
        /// `__O_SYNC`: with `O_DSYNC` (which `O_SYNC` includes), file
        /// metadata too.
        const SYNC = 1 << 14;
        /// `O_PATH`: a handle for the path only, no reads or writes.
        const PATH = 1 << 15;
        /// `__O_TMPFILE`: with `O_DIRECTORY` (which `O_TMPFILE`
        /// includes), an unnamed file in that directory.
        const TEMPORARY_FILE = 1 << 16;
    }
}

/// Each flag with its Linux value on x86_64 and on AArch64.
const VALUES: [(OpenFlags, u32, u32); 17] = [
    (OpenFlags::CREATE, 0o100, 0o100),
    (OpenFlags::EXCLUSIVE, 0o200, 0o200),
    (OpenFlags::NO_CONTROLLING_TERMINAL, 0o400, 0o400),
    (OpenFlags::TRUNCATE, 0o1000, 0o1000),
    (OpenFlags::APPEND, 0o2000, 0o2000),
    (OpenFlags::NONBLOCK, 0o4000, 0o4000),
    (OpenFlags::DATA_SYNC, 0o10000, 0o10000),
    (OpenFlags::ASYNC, 0o20000, 0o20000),
    (OpenFlags::DIRECT, 0o40000, 0o200000),
    (OpenFlags::LARGE_FILE, 0o100000, 0o400000),
    (OpenFlags::DIRECTORY, 0o200000, 0o40000),
    (OpenFlags::NO_FOLLOW, 0o400000, 0o100000),
    (OpenFlags::NO_ACCESS_TIME, 0o1000000, 0o1000000),
    (OpenFlags::CLOSE_ON_EXEC, 0o2000000, 0o2000000),
    (OpenFlags::SYNC, 0o4000000, 0o4000000),
    (OpenFlags::PATH, 0o10000000, 0o10000000),
    (OpenFlags::TEMPORARY_FILE, 0o20000000, 0o20000000),
];

impl OpenFlags {
    /// This single flag's Linux value on `arch`; 0 for a combination.
    pub fn linux_value(self, arch: Arch) -> u32 {
        VALUES
            .iter()
            .find(|(flag, ..)| *flag == self)
            .map_or(0, |&(_, x86_64, aarch64)| match arch {
                Arch::X86_64 => x86_64,
                Arch::Aarch64 => aarch64,
            })
    }
}

/// A decoded open-flags word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenRequest {
    /// The access mode.
    pub access: AccessMode,
    /// The flags this crate knows.
    pub flags: OpenFlags,
    /// Linux bits this crate does not know, as given (0 when none),
    /// including any above the C `int`: the kernel decides whether to
    /// refuse them.
    pub unknown_bits: u64,
}

impl OpenRequest {
    /// Decodes `raw` (the register value; the flags are a C `int`, so
    /// any bit above the low 32 is reported unknown) as `arch` numbers
    /// the flags.
    pub fn decode(arch: Arch, raw: u64) -> OpenRequest {
        let access = match raw & u64::from(ACCESS_MODE_MASK) {
            0 => AccessMode::ReadOnly,
            1 => AccessMode::WriteOnly,
            2 => AccessMode::ReadWrite,
            _ => AccessMode::NoReadNoWrite,
        };
        let mut flags = OpenFlags::empty();
        let mut remaining = raw & !u64::from(ACCESS_MODE_MASK);
        for (flag, ..) in VALUES {
            let value = u64::from(flag.linux_value(arch));
            if remaining & value != 0 {
                flags |= flag;
                remaining &= !value;
            }
        }
        OpenRequest {
            access,
            flags,
            unknown_bits: remaining,
        }
    }

    /// The Linux word for `arch` (what `F_GETFL` returns), unknown bits
    /// included.
    pub fn encode(&self, arch: Arch) -> u64 {
        let access: u64 = match self.access {
            AccessMode::ReadOnly => 0,
            AccessMode::WriteOnly => 1,
            AccessMode::ReadWrite => 2,
            AccessMode::NoReadNoWrite => 3,
        };
        self.flags
            .iter()
            .fold(access | self.unknown_bits, |word, flag| {
                word | u64::from(flag.linux_value(arch))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_four_flags_that_differ() {
        let directory_nofollow_x86 = 0o200000 | 0o400000;
        let request = OpenRequest::decode(Arch::X86_64, directory_nofollow_x86);
        assert_eq!(request.flags, OpenFlags::DIRECTORY | OpenFlags::NO_FOLLOW);
        let same_bits_on_arm = OpenRequest::decode(Arch::Aarch64, directory_nofollow_x86);
        assert_eq!(
            same_bits_on_arm.flags,
            OpenFlags::DIRECT | OpenFlags::LARGE_FILE
        );
        assert_eq!(
            OpenRequest::decode(Arch::Aarch64, 0o40000 | 0o100000).flags,
            OpenFlags::DIRECTORY | OpenFlags::NO_FOLLOW
        );
    }

    #[test]
    fn values_are_distinct_single_bits_and_round_trip() {
        for arch in Arch::ALL {
            let mut seen = 0;
            for (flag, ..) in VALUES {
                let value = flag.linux_value(arch);
                assert_eq!(value.count_ones(), 1, "{flag:?}");
                assert_eq!(seen & value, 0, "{flag:?} overlaps on {arch:?}");
                assert_eq!(value & ACCESS_MODE_MASK, 0);
                seen |= value;
            }
            for raw in [
                0u64,
                0o2,
                0o1101,
                0o2_000_302,
                0o3 | 0o40000,
                0x8000_0000,
                1 << 40,
            ] {
                assert_eq!(OpenRequest::decode(arch, raw).encode(arch), raw);
            }
        }
    }

    #[test]
    fn unknown_bits_are_reported() {
        let request = OpenRequest::decode(Arch::X86_64, 0o1 | 0o100 | 0x4000_0000);
        assert_eq!(request.access, AccessMode::WriteOnly);
        assert_eq!(request.flags, OpenFlags::CREATE);
        assert_eq!(request.unknown_bits, 0x4000_0000);
        assert_eq!(
            OpenRequest::decode(Arch::X86_64, 1 << 40).unknown_bits,
            1 << 40
        );
        assert!(AccessMode::ReadWrite.reads() && AccessMode::ReadWrite.writes());
        assert!(!AccessMode::NoReadNoWrite.reads());
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn x86_64_values_match_the_host_libc() {
        let host = [
            (OpenFlags::CREATE, libc::O_CREAT),
            (OpenFlags::EXCLUSIVE, libc::O_EXCL),
            (OpenFlags::NO_CONTROLLING_TERMINAL, libc::O_NOCTTY),
            (OpenFlags::TRUNCATE, libc::O_TRUNC),
            (OpenFlags::APPEND, libc::O_APPEND),
            (OpenFlags::NONBLOCK, libc::O_NONBLOCK),
            (OpenFlags::DATA_SYNC, libc::O_DSYNC),
            (OpenFlags::ASYNC, libc::O_ASYNC),
            (OpenFlags::DIRECT, libc::O_DIRECT),
            (OpenFlags::DIRECTORY, libc::O_DIRECTORY),
            (OpenFlags::NO_FOLLOW, libc::O_NOFOLLOW),
            (OpenFlags::NO_ACCESS_TIME, libc::O_NOATIME),
            (OpenFlags::CLOSE_ON_EXEC, libc::O_CLOEXEC),
            (OpenFlags::PATH, libc::O_PATH),
        ];
        for (flag, value) in host {
            assert_eq!(flag.linux_value(Arch::X86_64), value as u32, "{flag:?}");
        }
        assert_eq!(
            OpenFlags::SYNC.linux_value(Arch::X86_64)
                | OpenFlags::DATA_SYNC.linux_value(Arch::X86_64),
            libc::O_SYNC as u32
        );
        assert_eq!(
            OpenFlags::TEMPORARY_FILE.linux_value(Arch::X86_64)
                | OpenFlags::DIRECTORY.linux_value(Arch::X86_64),
            libc::O_TMPFILE as u32
        );
    }
}
