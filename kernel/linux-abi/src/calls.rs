// SPDX-License-Identifier: MIT OR Apache-2.0
//! System-call numbers: AArch64 uses Linux's generic table
//! (`include/uapi/asm-generic/unistd.h`), x86_64 its own
//! (`arch/x86/entry/syscalls/syscall_64.tbl`, installed as
//! `asm/unistd_64.h`). The two share no numbers, and x86_64 keeps legacy
//! calls (`open`, `stat`, `fork`, …) that the generic table replaced by
//! their `…at` forms; those are `None` on AArch64.
//!
//! The host test `tests/call_numbers.rs` parses both installed headers
//! and checks every entry of the table below.

use crate::Arch;

/// A Linux system call, named for what it does; [`LinuxCall::linux_name`] gives Linux's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LinuxCall {
    /// `read(fd, buffer, count)`
    Read,
    /// `write(fd, buffer, count)`
    Write,
    /// `readv(fd, iovec array, count)`
    ReadVector,
    /// `writev(fd, iovec array, count)`
    WriteVector,
    /// `pread64(fd, buffer, count, offset)`
    ReadAt,
    /// `pwrite64(fd, buffer, count, offset)`
    WriteAt,
    /// `open(path, flags, mode) — x86_64 only`
    Open,
    /// `creat(path, mode) — x86_64 only`
    Create,
    /// `openat(directory fd, path, flags, mode)`
    OpenAt,
    /// `close(fd)`
    Close,
    /// `lseek(fd, offset, whence)`
    Seek,
    /// `truncate(path, length)`
    Truncate,
    /// `ftruncate(fd, length)`
    TruncateFd,
    /// `fchmod(fd, mode)`
    ChangeModeFd,
    /// `chmod(path, mode) — x86_64 only`
    ChangeMode,
    /// `fchmodat(directory fd, path, mode)`
    ChangeModeAt,
    /// `fchown(fd, uid, gid)`
    ChangeOwnerFd,
    /// `fchownat(directory fd, path, uid, gid, flags)`
    ChangeOwnerAt,
    /// `utimensat(directory fd, path, timespec[2], flags)`
    SetTimesAt,
    /// `readlink(path, buffer, size) — x86_64 only`
    ReadLink,
    /// `readlinkat(directory fd, path, buffer, size)`
    ReadLinkAt,
    /// `rename(old, new) — x86_64 only`
    Rename,
    /// `renameat(old directory fd, old, new directory fd, new)`
    RenameAt,
    /// `renameat2(old directory fd, old, new directory fd, new, flags)`
    RenameAtWithFlags,
    /// `unlink(path) — x86_64 only`
    Unlink,
    /// `unlinkat(directory fd, path, flags)`
    UnlinkAt,
    /// `rmdir(path) — x86_64 only`
    RemoveDirectory,
    /// `mkdir(path, mode) — x86_64 only`
    MakeDirectory,
    /// `mkdirat(directory fd, path, mode)`
    MakeDirectoryAt,
    /// `symlink(target, path) — x86_64 only`
    Symlink,
    /// `symlinkat(target, directory fd, path)`
    SymlinkAt,
    /// `mknod(path, mode, device) — x86_64 only`
    MakeNode,
    /// `mknodat(directory fd, path, mode, device)`
    MakeNodeAt,
    /// `link(old, new) — x86_64 only`
    Link,
    /// `linkat(old directory fd, old, new directory fd, new, flags)`
    LinkAt,
    /// `access(path, mode) — x86_64 only`
    Access,
    /// `faccessat(directory fd, path, mode)`
    AccessAt,
    /// `faccessat2(directory fd, path, mode, flags)`
    AccessAtWithFlags,
    /// `stat(path, stat) — x86_64 only`
    FileStatus,
    /// `lstat(path, stat) — x86_64 only`
    SymlinkStatus,
    /// `fstat(fd, stat)`
    FileStatusFd,
    /// `newfstatat(directory fd, path, stat, flags)`
    FileStatusAt,
    /// `statx(directory fd, path, flags, mask, statx)`
    ExtendedFileStatus,
    /// `statfs(path, statfs)`
    FileSystemStatus,
    /// `fstatfs(fd, statfs)`
    FileSystemStatusFd,
    /// `getdents64(fd, buffer, count) of linux_dirent64 records`
    ReadDirectory,
    /// `getcwd(buffer, size)`
    CurrentDirectory,
    /// `chdir(path)`
    ChangeDirectory,
    /// `fchdir(fd)`
    ChangeDirectoryFd,
    /// `dup(fd)`
    Duplicate,
    /// `dup2(fd, new fd) — x86_64 only`
    DuplicateTo,
    /// `dup3(fd, new fd, flags)`
    DuplicateToWithFlags,
    /// `pipe(fds[2]) — x86_64 only`
    Pipe,
    /// `pipe2(fds[2], flags)`
    PipeWithFlags,
    /// `fcntl(fd, command, argument)`
    FileControl,
    /// `ioctl(fd, request, argument)`
    DeviceControl,
    /// `poll(pollfd array, count, milliseconds) — x86_64 only`
    Poll,
    /// `ppoll(pollfd array, count, timespec, signal mask, mask size)`
    PollWithTimespec,
    /// `select(count, read set, write set, except set, timeval) — x86_64 only`
    Select,
    /// `pselect6(count, read set, write set, except set, timespec, mask)`
    SelectWithTimespec,
    /// `sendfile(out fd, in fd, offset, count)`
    SendFile,
    /// `uname(utsname)`
    SystemName,
    /// `getrandom(buffer, count, flags)`
    GetRandom,
    /// `clock_gettime(clock, timespec)`
    ClockGetTime,
    /// `clock_getres(clock, timespec)`
    ClockGetResolution,
    /// `gettimeofday(timeval, timezone)`
    GetTimeOfDay,
    /// `time(seconds) — x86_64 only`
    Time,
    /// `nanosleep(request, remaining)`
    Sleep,
    /// `clock_nanosleep(clock, flags, request, remaining)`
    ClockSleep,
    /// `getuid()`
    GetUserId,
    /// `geteuid()`
    GetEffectiveUserId,
    /// `getgid()`
    GetGroupId,
    /// `getegid()`
    GetEffectiveGroupId,
    /// `setuid(uid)`
    SetUserId,
    /// `setgid(gid)`
    SetGroupId,
    /// `getresuid(real, effective, saved)`
    GetRealEffectiveSavedUserIds,
    /// `getresgid(real, effective, saved)`
    GetRealEffectiveSavedGroupIds,
    /// `getgroups(size, list)`
    GetGroups,
    /// `setgroups(size, list)`
    SetGroups,
    /// `getpid()`
    GetProcessId,
    /// `getppid()`
    GetParentProcessId,
    /// `gettid()`
    GetThreadId,
    /// `getpgid(pid)`
    GetProcessGroup,
    /// `setpgid(pid, group)`
    SetProcessGroup,
    /// `getpgrp() — x86_64 only`
    GetOwnProcessGroup,
    /// `getsid(pid)`
    GetSession,
    /// `setsid()`
    SetSession,
    /// `kill(pid, signal)`
    Kill,
    /// `tgkill(thread group, thread, signal)`
    ThreadGroupKill,
    /// `tkill(thread, signal)`
    ThreadKill,
    /// `exit(status): the calling thread`
    Exit,
    /// `exit_group(status): every thread of the process`
    ExitGroup,
    /// `wait4(pid, status, options, rusage)`
    Wait,
    /// `waitid(id type, id, siginfo, options, rusage)`
    WaitId,
    /// `execve(path, argv, envp)`
    Execute,
    /// `execveat(directory fd, path, argv, envp, flags)`
    ExecuteAt,
    /// `clone(flags, stack, …): argument order differs per architecture (see flags::clone)`
    Clone,
    /// `clone3(clone_args, size): refused with ENOSYS so libcs fall back to clone`
    Clone3,
    /// `fork() — x86_64 only`
    Fork,
    /// `vfork() — x86_64 only`
    Vfork,
    /// `brk(address)`
    ProgramBreak,
    /// `mmap(address, length, protection, flags, fd, offset)`
    MapMemory,
    /// `munmap(address, length)`
    UnmapMemory,
    /// `mprotect(address, length, protection)`
    ProtectMemory,
    /// `mremap(old address, old length, new length, flags, new address)`
    RemapMemory,
    /// `madvise(address, length, advice)`
    AdviseMemory,
    /// `rt_sigaction(signal, new, old, mask size)`
    SignalAction,
    /// `rt_sigprocmask(how, new, old, mask size)`
    SignalMask,
    /// `rt_sigreturn(): back from a signal handler`
    SignalReturn,
    /// `rt_sigsuspend(mask, mask size)`
    SignalSuspend,
    /// `rt_sigpending(set, mask size)`
    SignalPending,
    /// `sigaltstack(new, old)`
    SignalStack,
    /// `alarm(seconds) — x86_64 only`
    Alarm,
    /// `setitimer(which, new, old)`
    SetIntervalTimer,
    /// `getitimer(which, value)`
    GetIntervalTimer,
    /// `pause() — x86_64 only`
    Pause,
    /// `prlimit64(pid, resource, new, old)`
    ResourceLimit,
    /// `getrlimit(resource, rlimit)`
    GetResourceLimit,
    /// `setrlimit(resource, rlimit)`
    SetResourceLimit,
    /// `getrusage(who, rusage)`
    ResourceUsage,
    /// `times(tms)`
    ProcessTimes,
    /// `set_tid_address(address)`
    SetThreadIdAddress,
    /// `set_robust_list(head, length)`
    SetRobustList,
    /// `rseq(area, length, flags, signature)`
    RestartableSequences,
    /// `sysinfo(sysinfo)`
    SystemInformation,
    /// `umask(mask)`
    FileCreationMask,
    /// `sched_yield()`
    Yield,
    /// `sched_getaffinity(pid, size, mask)`
    SchedulerGetAffinity,
    /// `futex(address, operation, value, …)`
    Futex,
    /// `sync()`
    Sync,
    /// `fsync(fd)`
    SyncFd,
    /// `fdatasync(fd)`
    SyncFdData,
    /// `arch_prctl(code, address) — x86_64 only (FS_BASE)`
    ArchitectureControl,
    /// `prctl(option, …)`
    ProcessControl,
}

/// Every call with its Linux name and its number on AArch64 (the generic
/// table) and on x86_64; `None` where the architecture has no such call.
/// One past the highest number either table uses (both stop below 1024;
/// a test checks every entry fits).
const NUMBERS: usize = 512;

/// Each architecture's calls indexed by number, made from [`TABLE`] when
/// the crate is compiled: decoding a number is one load, not a search.
static AARCH64_BY_NUMBER: [Option<LinuxCall>; NUMBERS] = by_number(Arch::Aarch64);
static X86_64_BY_NUMBER: [Option<LinuxCall>; NUMBERS] = by_number(Arch::X86_64);

/// [`TABLE`] indexed by `arch`'s numbers.
const fn by_number(arch: Arch) -> [Option<LinuxCall>; NUMBERS] {
    let mut calls = [None; NUMBERS];
    let mut index = 0;
    while index < TABLE.len() {
        let (call, _, aarch64, x86_64) = TABLE[index];
        let number = match arch {
            Arch::Aarch64 => aarch64,
            Arch::X86_64 => x86_64,
        };
        if let Some(number) = number {
            assert!((number as usize) < NUMBERS, "a call number past NUMBERS");
            calls[number as usize] = Some(call);
        }
        index += 1;
    }
    calls
}

const TABLE: &[(LinuxCall, &str, Option<u32>, Option<u32>)] = &[
    (LinuxCall::Read, "read", Some(63), Some(0)),
    (LinuxCall::Write, "write", Some(64), Some(1)),
    (LinuxCall::ReadVector, "readv", Some(65), Some(19)),
    (LinuxCall::WriteVector, "writev", Some(66), Some(20)),
    (LinuxCall::ReadAt, "pread64", Some(67), Some(17)),
    (LinuxCall::WriteAt, "pwrite64", Some(68), Some(18)),
    (LinuxCall::Open, "open", None, Some(2)),
    (LinuxCall::Create, "creat", None, Some(85)),
    (LinuxCall::OpenAt, "openat", Some(56), Some(257)),
    (LinuxCall::Close, "close", Some(57), Some(3)),
    (LinuxCall::Seek, "lseek", Some(62), Some(8)),
    (LinuxCall::Truncate, "truncate", Some(45), Some(76)),
    (LinuxCall::TruncateFd, "ftruncate", Some(46), Some(77)),
    (LinuxCall::ChangeModeFd, "fchmod", Some(52), Some(91)),
    (LinuxCall::ChangeMode, "chmod", None, Some(90)),
    (LinuxCall::ChangeModeAt, "fchmodat", Some(53), Some(268)),
    (LinuxCall::ChangeOwnerFd, "fchown", Some(55), Some(93)),
    (LinuxCall::ChangeOwnerAt, "fchownat", Some(54), Some(260)),
    (LinuxCall::SetTimesAt, "utimensat", Some(88), Some(280)),
    (LinuxCall::ReadLink, "readlink", None, Some(89)),
    (LinuxCall::ReadLinkAt, "readlinkat", Some(78), Some(267)),
    (LinuxCall::Rename, "rename", None, Some(82)),
    (LinuxCall::RenameAt, "renameat", Some(38), Some(264)),
    (
        LinuxCall::RenameAtWithFlags,
        "renameat2",
        Some(276),
        Some(316),
    ),
    (LinuxCall::Unlink, "unlink", None, Some(87)),
    (LinuxCall::UnlinkAt, "unlinkat", Some(35), Some(263)),
    (LinuxCall::RemoveDirectory, "rmdir", None, Some(84)),
    (LinuxCall::MakeDirectory, "mkdir", None, Some(83)),
    (LinuxCall::MakeDirectoryAt, "mkdirat", Some(34), Some(258)),
    (LinuxCall::Symlink, "symlink", None, Some(88)),
    (LinuxCall::SymlinkAt, "symlinkat", Some(36), Some(266)),
    (LinuxCall::MakeNode, "mknod", None, Some(133)),
    (LinuxCall::MakeNodeAt, "mknodat", Some(33), Some(259)),
    (LinuxCall::Link, "link", None, Some(86)),
    (LinuxCall::LinkAt, "linkat", Some(37), Some(265)),
    (LinuxCall::Access, "access", None, Some(21)),
    (LinuxCall::AccessAt, "faccessat", Some(48), Some(269)),
    (
        LinuxCall::AccessAtWithFlags,
        "faccessat2",
        Some(439),
        Some(439),
    ),
    (LinuxCall::FileStatus, "stat", None, Some(4)),
    (LinuxCall::SymlinkStatus, "lstat", None, Some(6)),
    (LinuxCall::FileStatusFd, "fstat", Some(80), Some(5)),
    (LinuxCall::FileStatusAt, "newfstatat", Some(79), Some(262)),
    (LinuxCall::ExtendedFileStatus, "statx", Some(291), Some(332)),
    (LinuxCall::FileSystemStatus, "statfs", Some(43), Some(137)),
    (
        LinuxCall::FileSystemStatusFd,
        "fstatfs",
        Some(44),
        Some(138),
    ),
    (LinuxCall::ReadDirectory, "getdents64", Some(61), Some(217)),
    (LinuxCall::CurrentDirectory, "getcwd", Some(17), Some(79)),
    (LinuxCall::ChangeDirectory, "chdir", Some(49), Some(80)),
    (LinuxCall::ChangeDirectoryFd, "fchdir", Some(50), Some(81)),
    (LinuxCall::Duplicate, "dup", Some(23), Some(32)),
    (LinuxCall::DuplicateTo, "dup2", None, Some(33)),
    (LinuxCall::DuplicateToWithFlags, "dup3", Some(24), Some(292)),
    (LinuxCall::Pipe, "pipe", None, Some(22)),
    (LinuxCall::PipeWithFlags, "pipe2", Some(59), Some(293)),
    (LinuxCall::FileControl, "fcntl", Some(25), Some(72)),
    (LinuxCall::DeviceControl, "ioctl", Some(29), Some(16)),
    (LinuxCall::Poll, "poll", None, Some(7)),
    (LinuxCall::PollWithTimespec, "ppoll", Some(73), Some(271)),
    (LinuxCall::Select, "select", None, Some(23)),
    (
        LinuxCall::SelectWithTimespec,
        "pselect6",
        Some(72),
        Some(270),
    ),
    (LinuxCall::SendFile, "sendfile", Some(71), Some(40)),
    (LinuxCall::SystemName, "uname", Some(160), Some(63)),
    (LinuxCall::GetRandom, "getrandom", Some(278), Some(318)),
    (
        LinuxCall::ClockGetTime,
        "clock_gettime",
        Some(113),
        Some(228),
    ),
    (
        LinuxCall::ClockGetResolution,
        "clock_getres",
        Some(114),
        Some(229),
    ),
    (LinuxCall::GetTimeOfDay, "gettimeofday", Some(169), Some(96)),
    (LinuxCall::Time, "time", None, Some(201)),
    (LinuxCall::Sleep, "nanosleep", Some(101), Some(35)),
    (
        LinuxCall::ClockSleep,
        "clock_nanosleep",
        Some(115),
        Some(230),
    ),
    (LinuxCall::GetUserId, "getuid", Some(174), Some(102)),
    (
        LinuxCall::GetEffectiveUserId,
        "geteuid",
        Some(175),
        Some(107),
    ),
    (LinuxCall::GetGroupId, "getgid", Some(176), Some(104)),
    (
        LinuxCall::GetEffectiveGroupId,
        "getegid",
        Some(177),
        Some(108),
    ),
    (LinuxCall::SetUserId, "setuid", Some(146), Some(105)),
    (LinuxCall::SetGroupId, "setgid", Some(144), Some(106)),
    (
        LinuxCall::GetRealEffectiveSavedUserIds,
        "getresuid",
        Some(148),
        Some(118),
    ),
    (
        LinuxCall::GetRealEffectiveSavedGroupIds,
        "getresgid",
        Some(150),
        Some(120),
    ),
    (LinuxCall::GetGroups, "getgroups", Some(158), Some(115)),
    (LinuxCall::SetGroups, "setgroups", Some(159), Some(116)),
    (LinuxCall::GetProcessId, "getpid", Some(172), Some(39)),
    (
        LinuxCall::GetParentProcessId,
        "getppid",
        Some(173),
        Some(110),
    ),
    (LinuxCall::GetThreadId, "gettid", Some(178), Some(186)),
    (LinuxCall::GetProcessGroup, "getpgid", Some(155), Some(121)),
    (LinuxCall::SetProcessGroup, "setpgid", Some(154), Some(109)),
    (LinuxCall::GetOwnProcessGroup, "getpgrp", None, Some(111)),
    (LinuxCall::GetSession, "getsid", Some(156), Some(124)),
    (LinuxCall::SetSession, "setsid", Some(157), Some(112)),
    (LinuxCall::Kill, "kill", Some(129), Some(62)),
    (LinuxCall::ThreadGroupKill, "tgkill", Some(131), Some(234)),
    (LinuxCall::ThreadKill, "tkill", Some(130), Some(200)),
    (LinuxCall::Exit, "exit", Some(93), Some(60)),
    (LinuxCall::ExitGroup, "exit_group", Some(94), Some(231)),
    (LinuxCall::Wait, "wait4", Some(260), Some(61)),
    (LinuxCall::WaitId, "waitid", Some(95), Some(247)),
    (LinuxCall::Execute, "execve", Some(221), Some(59)),
    (LinuxCall::ExecuteAt, "execveat", Some(281), Some(322)),
    (LinuxCall::Clone, "clone", Some(220), Some(56)),
    (LinuxCall::Clone3, "clone3", Some(435), Some(435)),
    (LinuxCall::Fork, "fork", None, Some(57)),
    (LinuxCall::Vfork, "vfork", None, Some(58)),
    (LinuxCall::ProgramBreak, "brk", Some(214), Some(12)),
    (LinuxCall::MapMemory, "mmap", Some(222), Some(9)),
    (LinuxCall::UnmapMemory, "munmap", Some(215), Some(11)),
    (LinuxCall::ProtectMemory, "mprotect", Some(226), Some(10)),
    (LinuxCall::RemapMemory, "mremap", Some(216), Some(25)),
    (LinuxCall::AdviseMemory, "madvise", Some(233), Some(28)),
    (LinuxCall::SignalAction, "rt_sigaction", Some(134), Some(13)),
    (LinuxCall::SignalMask, "rt_sigprocmask", Some(135), Some(14)),
    (LinuxCall::SignalReturn, "rt_sigreturn", Some(139), Some(15)),
    (
        LinuxCall::SignalSuspend,
        "rt_sigsuspend",
        Some(133),
        Some(130),
    ),
    (
        LinuxCall::SignalPending,
        "rt_sigpending",
        Some(136),
        Some(127),
    ),
    (LinuxCall::SignalStack, "sigaltstack", Some(132), Some(131)),
    (LinuxCall::Alarm, "alarm", None, Some(37)),
    (
        LinuxCall::SetIntervalTimer,
        "setitimer",
        Some(103),
        Some(38),
    ),
    (
        LinuxCall::GetIntervalTimer,
        "getitimer",
        Some(102),
        Some(36),
    ),
    (LinuxCall::Pause, "pause", None, Some(34)),
    (LinuxCall::ResourceLimit, "prlimit64", Some(261), Some(302)),
    (
        LinuxCall::GetResourceLimit,
        "getrlimit",
        Some(163),
        Some(97),
    ),
    (
        LinuxCall::SetResourceLimit,
        "setrlimit",
        Some(164),
        Some(160),
    ),
    (LinuxCall::ResourceUsage, "getrusage", Some(165), Some(98)),
    (LinuxCall::ProcessTimes, "times", Some(153), Some(100)),
    (
        LinuxCall::SetThreadIdAddress,
        "set_tid_address",
        Some(96),
        Some(218),
    ),
    (
        LinuxCall::SetRobustList,
        "set_robust_list",
        Some(99),
        Some(273),
    ),
    (
        LinuxCall::RestartableSequences,
        "rseq",
        Some(293),
        Some(334),
    ),
    (LinuxCall::SystemInformation, "sysinfo", Some(179), Some(99)),
    (LinuxCall::FileCreationMask, "umask", Some(166), Some(95)),
    (LinuxCall::Yield, "sched_yield", Some(124), Some(24)),
    (
        LinuxCall::SchedulerGetAffinity,
        "sched_getaffinity",
        Some(123),
        Some(204),
    ),
    (LinuxCall::Futex, "futex", Some(98), Some(202)),
    (LinuxCall::Sync, "sync", Some(81), Some(162)),
    (LinuxCall::SyncFd, "fsync", Some(82), Some(74)),
    (LinuxCall::SyncFdData, "fdatasync", Some(83), Some(75)),
    (
        LinuxCall::ArchitectureControl,
        "arch_prctl",
        None,
        Some(158),
    ),
    (LinuxCall::ProcessControl, "prctl", Some(167), Some(157)),
];

impl LinuxCall {
    /// Every call this crate knows, in table order.
    pub fn all() -> impl Iterator<Item = LinuxCall> {
        TABLE.iter().map(|&(call, ..)| call)
    }

    /// The call numbered `number` on `arch`, or `None` for a number this
    /// crate does not know (the dispatcher answers `ENOSYS`).
    pub fn from_number(arch: Arch, number: u64) -> Option<LinuxCall> {
        let by_number = match arch {
            Arch::Aarch64 => &AARCH64_BY_NUMBER,
            Arch::X86_64 => &X86_64_BY_NUMBER,
        };
        *by_number.get(usize::try_from(number).ok()?)?
    }

    /// This call's number on `arch`, or `None` when `arch` has no such
    /// call (the legacy x86_64 calls on AArch64).
    pub fn number(self, arch: Arch) -> Option<u32> {
        let &(_, _, aarch64, x86_64) = self.entry();
        match arch {
            Arch::Aarch64 => aarch64,
            Arch::X86_64 => x86_64,
        }
    }

    /// Linux's name for the call (`pread64`, `newfstatat`), as in the
    /// `__NR_…` macros and `strace` output.
    pub fn linux_name(self) -> &'static str {
        self.entry().1
    }

    fn entry(self) -> &'static (LinuxCall, &'static str, Option<u32>, Option<u32>) {
        TABLE
            .iter()
            .find(|(call, ..)| *call == self)
            .expect("every LinuxCall has a row in TABLE (tested)")
    }
}

impl core::fmt::Display for LinuxCall {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.linux_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_number_round_trips_on_both_architectures() {
        for arch in [Arch::Aarch64, Arch::X86_64] {
            for call in LinuxCall::all() {
                if let Some(number) = call.number(arch) {
                    assert_eq!(
                        LinuxCall::from_number(arch, u64::from(number)),
                        Some(call),
                        "{call} on {arch:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn each_call_has_one_row_and_a_distinct_name() {
        let calls: std::vec::Vec<_> = LinuxCall::all().collect();
        for (index, call) in calls.iter().enumerate() {
            assert!(!calls[index + 1..].contains(call), "{call:?} twice");
            assert!(
                !calls[index + 1..]
                    .iter()
                    .any(|other| other.linux_name() == call.linux_name()),
                "{} twice",
                call.linux_name()
            );
        }
    }

    #[test]
    fn only_legacy_x86_64_calls_lack_an_aarch64_number() {
        for call in LinuxCall::all() {
            assert!(
                call.number(Arch::X86_64).is_some(),
                "{call}: every call here exists on x86_64"
            );
        }
        assert_eq!(LinuxCall::OpenAt.number(Arch::Aarch64), Some(56));
        assert_eq!(LinuxCall::Open.number(Arch::Aarch64), None);
        assert_eq!(LinuxCall::from_number(Arch::Aarch64, 2), None);
        assert_eq!(LinuxCall::from_number(Arch::X86_64, 1 << 40), None);
        assert_eq!(LinuxCall::MakeNodeAt.number(Arch::Aarch64), Some(33));
        assert_eq!(LinuxCall::MakeNodeAt.number(Arch::X86_64), Some(259));
    }
}
