// SPDX-License-Identifier: MIT OR Apache-2.0
//! Resource ids of `getrlimit`, `setrlimit` and `prlimit64`
//! (`asm-generic/resource.h`, which both architectures use), and
//! `RLIM_INFINITY`. The `rlimit` structure is [`crate::layout::rlimit`].

/// `RLIM_INFINITY`: no limit.
pub const UNLIMITED: u64 = u64::MAX;

/// A resource a limit applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Resource {
    /// `RLIMIT_CPU` (0): CPU seconds.
    CpuTime,
    /// `RLIMIT_FSIZE` (1): largest file written.
    FileSize,
    /// `RLIMIT_DATA` (2): data segment and heap.
    DataSize,
    /// `RLIMIT_STACK` (3): main stack.
    StackSize,
    /// `RLIMIT_CORE` (4): core file size.
    CoreSize,
    /// `RLIMIT_RSS` (5): resident pages.
    ResidentSize,
    /// `RLIMIT_NPROC` (6): processes of the user.
    Processes,
    /// `RLIMIT_NOFILE` (7): one more than the highest fd.
    OpenFiles,
    /// `RLIMIT_MEMLOCK` (8): locked memory.
    LockedMemory,
    /// `RLIMIT_AS` (9): address space.
    AddressSpace,
    /// `RLIMIT_LOCKS` (10): file locks.
    FileLocks,
    /// `RLIMIT_SIGPENDING` (11): queued signals.
    PendingSignals,
    /// `RLIMIT_MSGQUEUE` (12): POSIX message-queue bytes.
    MessageQueueBytes,
    /// `RLIMIT_NICE` (13): highest nice priority.
    NicePriority,
    /// `RLIMIT_RTPRIO` (14): highest real-time priority.
    RealTimePriority,
    /// `RLIMIT_RTTIME` (15): real-time CPU microseconds.
    RealTimeCpuTime,
}

const ALL: [Resource; 16] = [
    Resource::CpuTime,
    Resource::FileSize,
    Resource::DataSize,
    Resource::StackSize,
    Resource::CoreSize,
    Resource::ResidentSize,
    Resource::Processes,
    Resource::OpenFiles,
    Resource::LockedMemory,
    Resource::AddressSpace,
    Resource::FileLocks,
    Resource::PendingSignals,
    Resource::MessageQueueBytes,
    Resource::NicePriority,
    Resource::RealTimePriority,
    Resource::RealTimeCpuTime,
];

impl Resource {
    /// The resource numbered `raw`, or `None` (`EINVAL`).
    pub fn from_number(raw: u64) -> Option<Resource> {
        usize::try_from(raw).ok().and_then(|i| ALL.get(i).copied())
    }

    /// Linux's number for the resource.
    pub fn number(self) -> u32 {
        self as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_match_the_host_libc() {
        let host = [
            (Resource::CpuTime, libc::RLIMIT_CPU),
            (Resource::FileSize, libc::RLIMIT_FSIZE),
            (Resource::DataSize, libc::RLIMIT_DATA),
            (Resource::StackSize, libc::RLIMIT_STACK),
            (Resource::CoreSize, libc::RLIMIT_CORE),
            (Resource::ResidentSize, libc::RLIMIT_RSS),
            (Resource::Processes, libc::RLIMIT_NPROC),
            (Resource::OpenFiles, libc::RLIMIT_NOFILE),
            (Resource::LockedMemory, libc::RLIMIT_MEMLOCK),
            (Resource::AddressSpace, libc::RLIMIT_AS),
            (Resource::FileLocks, libc::RLIMIT_LOCKS),
            (Resource::PendingSignals, libc::RLIMIT_SIGPENDING),
            (Resource::MessageQueueBytes, libc::RLIMIT_MSGQUEUE),
            (Resource::NicePriority, libc::RLIMIT_NICE),
            (Resource::RealTimePriority, libc::RLIMIT_RTPRIO),
            (Resource::RealTimeCpuTime, libc::RLIMIT_RTTIME),
        ];
        for (resource, number) in host {
            assert_eq!(resource.number(), number, "{resource:?}");
            assert_eq!(Resource::from_number(number as u64), Some(resource));
        }
        assert_eq!(Resource::from_number(16), None);
        assert_eq!(UNLIMITED, libc::RLIM_INFINITY);
    }
}
