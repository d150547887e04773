// SPDX-License-Identifier: MIT OR Apache-2.0
//! `mmap`, `mprotect`, `mremap` and `madvise` values
//! (`asm-generic/mman-common.h`, `asm-generic/mman.h`, which both
//! architectures include; x86_64 adds `MAP_32BIT` in `asm/mman.h`, AArch64
//! adds `PROT_BTI` and `PROT_MTE` in `arch/arm64/include/uapi/asm/mman.h`).

use bitflags::bitflags;

use crate::Arch;

bitflags! {
    /// `PROT_*`: what a mapping allows. `PROT_NONE` is the empty set.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct Protection: u32 {
        /// `PROT_READ`.
        const READ = 0x1;
        /// `PROT_WRITE`.
        const WRITE = 0x2;
        /// `PROT_EXEC`.
        const EXECUTE = 0x4;
    }
}

/// `PROT_SEM` (0x8): accepted by Linux and meaningless on these CPUs.
const PROT_SEM: u64 = 0x8;
/// `PROT_BTI` (0x10, AArch64 only): branch-target identification pages,
/// which glibc's loader asks for on BTI-marked programs.
pub const PROT_BTI_AARCH64: u64 = 0x10;
/// `PROT_MTE` (0x20, AArch64 only): memory tagging.
pub const PROT_MTE_AARCH64: u64 = 0x20;

/// A decoded protection word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProtectionRequest {
    /// Read, write, execute.
    pub protection: Protection,
    /// Bits that are valid Linux hints and change nothing here
    /// (`PROT_SEM`; `PROT_BTI` on AArch64).
    pub ignorable_bits: u64,
    /// Every other bit (`PROT_GROWSDOWN`, `PROT_MTE`, unknown ones).
    pub unknown_bits: u64,
}

impl ProtectionRequest {
    /// Decodes the `prot` argument as `arch` numbers it.
    pub fn decode(arch: Arch, raw: u64) -> ProtectionRequest {
        let protection = Protection::from_bits_truncate(raw as u32);
        let rest = raw & !u64::from(protection.bits());
        let ignorable_mask = match arch {
            Arch::Aarch64 => PROT_SEM | PROT_BTI_AARCH64,
            Arch::X86_64 => PROT_SEM,
        };
        ProtectionRequest {
            protection,
            ignorable_bits: rest & ignorable_mask,
            unknown_bits: rest & !ignorable_mask,
        }
    }

    /// Whether the pages would be writable and executable at once (the
    /// kernel refuses that).
    pub fn is_writable_and_executable(&self) -> bool {
        self.protection
            .contains(Protection::WRITE | Protection::EXECUTE)
    }
}

/// The sharing type of a mapping (`flags & MAP_TYPE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapSharing {
    /// `MAP_SHARED` (1): writes reach the file and other mappings.
    Shared,
    /// `MAP_PRIVATE` (2): copy on write.
    Private,
    /// `MAP_SHARED_VALIDATE` (3): shared, and unknown flags are an error.
    SharedValidate,
}

bitflags! {
    /// `mmap` flags beyond the sharing type; bits are Linux's.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct MapFlags: u32 {
        /// `MAP_FIXED`: exactly at the address, replacing what is there.
        const FIXED = 0x10;
        /// `MAP_ANONYMOUS`: zeroed memory, no file.
        const ANONYMOUS = 0x20;
        /// `MAP_GROWSDOWN`: a stack that grows down.
        const GROWS_DOWN = 0x100;
        /// `MAP_DENYWRITE`: ignored by Linux.
        const DENY_WRITE = 0x800;
        /// `MAP_EXECUTABLE`: ignored by Linux.
        const EXECUTABLE = 0x1000;
        /// `MAP_LOCKED`: lock the pages.
        const LOCKED = 0x2000;
        /// `MAP_NORESERVE`: no swap reservation.
        const NO_RESERVE = 0x4000;
        /// `MAP_POPULATE`: fault the pages in now.
        const POPULATE = 0x8000;
        /// `MAP_NONBLOCK`: with `MAP_POPULATE`, no read-ahead.
        const NONBLOCK = 0x1_0000;
        /// `MAP_STACK`: a thread stack (a hint).
        const STACK = 0x2_0000;
        /// `MAP_HUGETLB`: huge pages.
        const HUGE_PAGES = 0x4_0000;
        /// `MAP_SYNC`: synchronous faults (DAX).
        const SYNC = 0x8_0000;
        /// `MAP_FIXED_NOREPLACE`: at the address, failing if it is taken.
        const FIXED_NO_REPLACE = 0x10_0000;
        /// `MAP_UNINITIALIZED`: not zeroed (only without an MMU).
        const UNINITIALIZED = 0x400_0000;
    }
}

/// `MAP_32BIT` (0x40, x86_64 only): an address below 2 GiB.
pub const MAP_32BIT_X86_64: u64 = 0x40;
/// `MAP_TYPE`: the sharing-type bits.
const MAP_TYPE: u64 = 0xf;

/// A decoded `mmap` flags word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MapRequest {
    /// The sharing type, or `None` for a type Linux refuses (0 or 4–15:
    /// `EINVAL`).
    pub sharing: Option<MapSharing>,
    /// The flags this crate knows.
    pub flags: MapFlags,
    /// Whether x86_64's `MAP_32BIT` was given.
    pub below_2_gib: bool,
    /// Every other bit (huge-page size bits, unknown ones).
    pub unknown_bits: u64,
}

impl MapRequest {
    /// Decodes the `flags` argument of `mmap` as `arch` numbers it.
    pub fn decode(arch: Arch, raw: u64) -> MapRequest {
        let sharing = match raw & MAP_TYPE {
            1 => Some(MapSharing::Shared),
            2 => Some(MapSharing::Private),
            3 => Some(MapSharing::SharedValidate),
            _ => None,
        };
        let rest = raw & !MAP_TYPE;
        let flags = MapFlags::from_bits_truncate(rest as u32);
        let mut unknown_bits = rest & !u64::from(flags.bits());
        let below_2_gib = arch == Arch::X86_64 && unknown_bits & MAP_32BIT_X86_64 != 0;
        if below_2_gib {
            unknown_bits &= !MAP_32BIT_X86_64;
        }
        MapRequest {
            sharing,
            flags,
            below_2_gib,
            unknown_bits,
        }
    }
}

/// `MAP_FAILED` as a register value is `-errno`, like every call; this is
/// what the C library compares against: `(void *)-1`.
pub const MAP_FAILED: u64 = u64::MAX;

bitflags! {
    /// `mremap` flags.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct RemapFlags: u32 {
        /// `MREMAP_MAYMOVE`: the mapping may move.
        const MAY_MOVE = 1;
        /// `MREMAP_FIXED`: move to the given address.
        const FIXED = 2;
        /// `MREMAP_DONTUNMAP`: leave the old range mapped.
        const DONT_UNMAP = 4;
    }
}

/// An `madvise` advice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Advice {
    /// `MADV_NORMAL` (0).
    Normal,
    /// `MADV_RANDOM` (1).
    Random,
    /// `MADV_SEQUENTIAL` (2).
    Sequential,
    /// `MADV_WILLNEED` (3).
    WillNeed,
    /// `MADV_DONTNEED` (4): private anonymous pages read back as zero.
    DontNeed,
    /// `MADV_FREE` (8): the pages may be freed lazily.
    Free,
}

impl Advice {
    /// The advice numbered `raw`, or `None` (Linux answers `EINVAL`
    /// for unknown advice; a kernel may accept and ignore hints).
    pub fn from_number(raw: u64) -> Option<Advice> {
        match raw {
            0 => Some(Advice::Normal),
            1 => Some(Advice::Random),
            2 => Some(Advice::Sequential),
            3 => Some(Advice::WillNeed),
            4 => Some(Advice::DontNeed),
            8 => Some(Advice::Free),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_match_the_host_libc() {
        assert_eq!(Protection::READ.bits() as i32, libc::PROT_READ);
        assert_eq!(Protection::WRITE.bits() as i32, libc::PROT_WRITE);
        assert_eq!(Protection::EXECUTE.bits() as i32, libc::PROT_EXEC);
        let host = [
            (MapFlags::FIXED, libc::MAP_FIXED),
            (MapFlags::ANONYMOUS, libc::MAP_ANONYMOUS),
            (MapFlags::GROWS_DOWN, libc::MAP_GROWSDOWN),
            (MapFlags::DENY_WRITE, libc::MAP_DENYWRITE),
            (MapFlags::EXECUTABLE, libc::MAP_EXECUTABLE),
            (MapFlags::LOCKED, libc::MAP_LOCKED),
            (MapFlags::NO_RESERVE, libc::MAP_NORESERVE),
            (MapFlags::POPULATE, libc::MAP_POPULATE),
            (MapFlags::NONBLOCK, libc::MAP_NONBLOCK),
            (MapFlags::STACK, libc::MAP_STACK),
            (MapFlags::HUGE_PAGES, libc::MAP_HUGETLB),
            (MapFlags::SYNC, libc::MAP_SYNC),
            (MapFlags::FIXED_NO_REPLACE, libc::MAP_FIXED_NOREPLACE),
        ];
        for (flag, value) in host {
            assert_eq!(flag.bits() as i32, value, "{flag:?}");
        }
        assert_eq!(MAP_32BIT_X86_64 as i32, libc::MAP_32BIT);
        assert_eq!(RemapFlags::MAY_MOVE.bits() as i32, libc::MREMAP_MAYMOVE);
        assert_eq!(RemapFlags::FIXED.bits() as i32, libc::MREMAP_FIXED);
        assert_eq!(
            Advice::from_number(libc::MADV_DONTNEED as u64),
            Some(Advice::DontNeed)
        );
        assert_eq!(
            Advice::from_number(libc::MADV_FREE as u64),
            Some(Advice::Free)
        );
    }

    #[test]
    fn decoding_reports_what_it_does_not_know() {
        let anonymous_private = MapRequest::decode(Arch::Aarch64, 0x22);
        assert_eq!(anonymous_private.sharing, Some(MapSharing::Private));
        assert_eq!(anonymous_private.flags, MapFlags::ANONYMOUS);
        assert_eq!(anonymous_private.unknown_bits, 0);
        let low = MapRequest::decode(Arch::X86_64, 0x62);
        assert!(low.below_2_gib && low.unknown_bits == 0);
        let low_on_arm = MapRequest::decode(Arch::Aarch64, 0x62);
        assert!(!low_on_arm.below_2_gib && low_on_arm.unknown_bits == 0x40);
        assert_eq!(MapRequest::decode(Arch::X86_64, 0x20).sharing, None);
        let bti = ProtectionRequest::decode(Arch::Aarch64, 0x15);
        assert_eq!(bti.protection, Protection::READ | Protection::EXECUTE);
        assert_eq!((bti.ignorable_bits, bti.unknown_bits), (0x10, 0));
        let bti_on_x86 = ProtectionRequest::decode(Arch::X86_64, 0x15);
        assert_eq!(bti_on_x86.unknown_bits, 0x10);
        assert!(ProtectionRequest::decode(Arch::X86_64, 0x7).is_writable_and_executable());
        assert!(!ProtectionRequest::decode(Arch::X86_64, 0x5).is_writable_and_executable());
    }
}
