// SPDX-License-Identifier: MIT OR Apache-2.0
//! Auxiliary-vector entry types (`linux/auxvec.h`; `AT_SYSINFO_EHDR`
//! from the architectures' `asm/auxvec.h`): the key of each (key, value)
//! pair the kernel leaves on the initial stack ([`crate::initial_stack`]).

/// An auxiliary-vector key.
#[repr(u64)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AuxvKey {
    /// `AT_NULL`: the end of the vector.
    Null = 0,
    /// `AT_IGNORE`: an entry to skip.
    Ignore = 1,
    /// `AT_EXECFD`: fd of the program (for an interpreter).
    ExecFd = 2,
    /// `AT_PHDR`: address of the program headers in memory.
    ProgramHeaders = 3,
    /// `AT_PHENT`: bytes in one program header.
    ProgramHeaderSize = 4,
    /// `AT_PHNUM`: number of program headers.
    ProgramHeaderCount = 5,
    /// `AT_PAGESZ`: the page size.
    PageSize = 6,
    /// `AT_BASE`: base address of the interpreter (0 without one).
    InterpreterBase = 7,
    /// `AT_FLAGS`: unused flags (0).
    Flags = 8,
    /// `AT_ENTRY`: the program's entry point.
    Entry = 9,
    /// `AT_NOTELF`: the program is not ELF.
    NotElf = 10,
    /// `AT_UID`: real user id.
    UserId = 11,
    /// `AT_EUID`: effective user id.
    EffectiveUserId = 12,
    /// `AT_GID`: real group id.
    GroupId = 13,
    /// `AT_EGID`: effective group id.
    EffectiveGroupId = 14,
    /// `AT_PLATFORM`: address of a string naming the CPU (`x86_64`,
    /// `aarch64`).
    Platform = 15,
    /// `AT_HWCAP`: the CPU's capability bits.
    HardwareCapabilities = 16,
    /// `AT_CLKTCK`: the frequency `times()` counts at (100).
    ClockTicks = 17,
    /// `AT_SECURE`: nonzero for a set-id program (libcs then ignore
    /// environment variables like `LD_LIBRARY_PATH`).
    Secure = 23,
    /// `AT_BASE_PLATFORM`: address of a string naming the real platform.
    BasePlatform = 24,
    /// `AT_RANDOM`: address of 16 random bytes (the stack protector's
    /// and pointer guard's seeds).
    Random = 25,
    /// `AT_HWCAP2`: more capability bits.
    HardwareCapabilities2 = 26,
    /// `AT_EXECFN`: address of the path the program was run by.
    ExecutableName = 31,
    /// `AT_SYSINFO_EHDR`: address of the vDSO (none on Manux).
    VdsoBase = 33,
    /// `AT_MINSIGSTKSZ`: smallest stack a signal handler needs.
    MinimumSignalStackSize = 51,
}

impl AuxvKey {
    /// Every key this crate names, with its C name.
    pub const ALL: [(AuxvKey, &'static str); 25] = [
        (AuxvKey::Null, "AT_NULL"),
        (AuxvKey::Ignore, "AT_IGNORE"),
        (AuxvKey::ExecFd, "AT_EXECFD"),
        (AuxvKey::ProgramHeaders, "AT_PHDR"),
        (AuxvKey::ProgramHeaderSize, "AT_PHENT"),
        (AuxvKey::ProgramHeaderCount, "AT_PHNUM"),
        (AuxvKey::PageSize, "AT_PAGESZ"),
        (AuxvKey::InterpreterBase, "AT_BASE"),
        (AuxvKey::Flags, "AT_FLAGS"),
        (AuxvKey::Entry, "AT_ENTRY"),
        (AuxvKey::NotElf, "AT_NOTELF"),
        (AuxvKey::UserId, "AT_UID"),
        (AuxvKey::EffectiveUserId, "AT_EUID"),
        (AuxvKey::GroupId, "AT_GID"),
        (AuxvKey::EffectiveGroupId, "AT_EGID"),
        (AuxvKey::Platform, "AT_PLATFORM"),
        (AuxvKey::HardwareCapabilities, "AT_HWCAP"),
        (AuxvKey::ClockTicks, "AT_CLKTCK"),
        (AuxvKey::Secure, "AT_SECURE"),
        (AuxvKey::BasePlatform, "AT_BASE_PLATFORM"),
        (AuxvKey::Random, "AT_RANDOM"),
        (AuxvKey::HardwareCapabilities2, "AT_HWCAP2"),
        (AuxvKey::ExecutableName, "AT_EXECFN"),
        (AuxvKey::VdsoBase, "AT_SYSINFO_EHDR"),
        (AuxvKey::MinimumSignalStackSize, "AT_MINSIGSTKSZ"),
    ];

    /// The key's number.
    pub fn number(self) -> u64 {
        self as u64
    }

    /// The key numbered `raw`, or `None`.
    pub fn from_number(raw: u64) -> Option<AuxvKey> {
        AuxvKey::ALL
            .iter()
            .find(|(key, _)| key.number() == raw)
            .map(|&(key, _)| key)
    }
}
