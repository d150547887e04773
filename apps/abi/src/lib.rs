// SPDX-License-Identifier: MIT OR Apache-2.0
//! The Manux system-call ABI, shared by the kernel and `apps/`.
//!
//! One crate says what crosses the user/kernel boundary so the two sides
//! cannot drift apart: syscall numbers ([`Syscall`]), the error numbers
//! ([`Errno`]), how results are encoded ([`encode_result`],
//! [`decode_result`]), open flags, and the `repr(C)` structures passed by
//! pointer ([`Stat`], [`XchrootOperation`], [`SpawnRequest`], the
//! [`directory_entry`] records of `getdents`).
//!
//! # Calling convention
//! | | AArch64 | x86_64 |
//! |---|---|---|
//! | trap | `svc #0` | `syscall` |
//! | number | `x8` | `rax` |
//! | arguments 1–6 | `x0`–`x5` | `rdi`, `rsi`, `rdx`, `r10`, `r8`, `r9` |
//! | result | `x0` | `rax` |
//! | clobbered | `x0` only | `rax`, `rcx`, `r11` |
//!
//! # Numbers
//! A native call's number is [`NATIVE_BASE`] plus its index
//! ([`Syscall::number`]): `0x0D58_0000 + n`. Linux's tables on both
//! architectures stop below 1024, so the kernel tells a native call from a
//! Linux one by its number alone ([`is_native`]) and one dispatcher serves
//! both personalities. The base leaves bit 30 clear (x86_64 Linux's x32
//! marker, `__X32_SYSCALL_BIT` = `0x4000_0000`) and bit 31 clear (the
//! number stays positive as a C `int`, which is how x86_64 Linux reads
//! `rax`), so no native number could be read as an x32 or negative call.
//!
//! A result in `-4095..=-1` (as a signed 64-bit value) is `-errno`; anything
//! else is success. Errno values are Linux's, so they read familiarly.
//!
//! This crate has no `unsafe` and no dependencies on either side: the
//! kernel validates every pointer it is given (they are claims, not
//! addresses), and the apps' runtime owns the trap instructions.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod benchmark;
pub mod clock;
pub mod directory_entry;
mod errno;
pub mod program_note;
pub mod seek;
pub mod session;
pub mod startup;
pub mod wait_status;

pub use errno::Errno;

/// The first native call number; see the crate doc ("Numbers").
pub const NATIVE_BASE: u64 = 0x0D58_0000;

/// How many numbers from [`NATIVE_BASE`] belong to the native range
/// (most unused, `ENOSYS`).
pub const NATIVE_RANGE: u64 = 0x1_0000;

/// Whether `number` lies in the native range: the kernel's dispatcher
/// sends it to the native table (an unused one is `ENOSYS` there), and
/// every other number to the Linux personality.
pub fn is_native(number: u64) -> bool {
    number.wrapping_sub(NATIVE_BASE) < NATIVE_RANGE
}

// Linux's tables (generic and x86_64) stay below 1024; the x32 marker
// is bit 30; x86_64 Linux reads the number as an `int`: the whole native
// range avoids all three.
const _: () = {
    let last = NATIVE_BASE + NATIVE_RANGE - 1;
    assert!(NATIVE_BASE >= 1024);
    assert!(NATIVE_BASE & 0x4000_0000 == 0 && last & 0x4000_0000 == 0);
    assert!(last < 0x8000_0000);
};

/// System calls, by index: the number a program passes is
/// [`Syscall::number`] (`NATIVE_BASE + index`).
#[repr(u64)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Syscall {
    /// `read(fd, buffer, length) -> count`
    Read = 0,
    /// `write(fd, buffer, length) -> count`
    Write = 1,
    /// `openat(directory_fd, path, path_length, flags, mode) -> fd`
    OpenAt = 2,
    /// `close(fd)`
    Close = 3,
    /// `lseek(fd, offset, whence) -> position`
    Seek = 4,
    /// `fstat(fd, stat)`
    FileStatus = 5,
    /// `statat(directory_fd, path, path_length, stat, flags)` (stat and lstat)
    StatAt = 6,
    /// `getdents(fd, buffer, length) -> bytes` of [`directory_entry`] records
    ReadDirectory = 7,
    /// `mkdirat(directory_fd, path, path_length, mode)`
    MakeDirectory = 8,
    /// `unlinkat(directory_fd, path, path_length)`
    Unlink = 9,
    /// `rmdirat(directory_fd, path, path_length)`
    RemoveDirectory = 10,
    /// `linkat(old_fd, old_path, old_length, new_fd, new_path, new_length)`
    Link = 11,
    /// `renameat(old_fd, old_path, old_length, new_fd, new_path, new_length)`
    Rename = 12,
    /// `symlinkat(target, target_length, directory_fd, path, path_length)`
    Symlink = 13,
    /// `readlinkat(directory_fd, path, path_length, buffer, length) -> count`
    ReadLink = 14,
    /// `chdir(path, path_length)`
    ChangeDirectory = 15,
    /// `fchdir(fd)`
    ChangeDirectoryFd = 16,
    /// `getcwd(buffer, length) -> length`
    GetCurrentDirectory = 17,
    /// `dup(fd) -> fd`
    Duplicate = 18,
    /// `dup2(fd, target) -> target`
    DuplicateTo = 19,
    /// `pipe(fds: *mut [i32; 2])`
    Pipe = 20,
    /// `spawn(request: *const SpawnRequest) -> pid`
    Spawn = 21,
    /// `execve(path, path_length, argv, argc, envp, envc)`
    Execute = 22,
    /// `exit(status) -> !`
    Exit = 23,
    /// `wait(pid or -1, status: *mut i32) -> pid`
    Wait = 24,
    /// `getpid() -> pid`
    GetProcessId = 25,
    /// `kill(pid)` — descendants only
    Kill = 26,
    /// `clock_gettime(clock, timespec: *mut [u64; 2])`
    ClockGetTime = 27,
    /// `nanosleep(nanoseconds)`
    Sleep = 28,
    /// `sync()`
    Sync = 29,
    /// `fsync(fd)`
    FileSync = 30,
    /// `poweroff(status)` — init only
    PowerOff = 31,
    /// `xchroot(operations: *const XchrootOperation, count)`
    Xchroot = 32,
    /// `utimensat(directory_fd, path, path_length, access_seconds,
    /// modify_seconds)`: [`TIME_NOW`] for the current time.
    SetTimes = 33,
    /// `chmodat(directory_fd, path, path_length, mode)`: permission bits.
    ChangeMode = 34,
    /// `benchmark(operation, a, b)`: what `cargo xtask bench` measures
    /// that no other call shows; see [`benchmark`].
    Benchmark = 35,
    /// `close_range(first, last)`: closes every open descriptor from
    /// `first` to `last` inclusive (`EINVAL` if `first > last`).
    CloseRange = 36,
    /// `get_limits(limits: *mut Limits)`: the caller's limits and what
    /// its process tree holds.
    GetLimits = 37,
    /// `set_tree_limits(memory, processes)`: the limits of the process
    /// trees the caller starts from now on (0: the default share); only
    /// init's programs (the login shell) start trees.
    SetTreeLimits = 38,
    /// `take_interrupt()`: 1 if Ctrl-C interrupted the caller — the
    /// console's session leader (the login shell) while no program of
    /// its ran — since its last read or call, else 0; the interruption is
    /// consumed either way. A shell busy with its own commands (a loop of
    /// builtins) asks between them, since the kernel has no signal for it.
    TakeInterrupt = 39,
}

/// A limit of [`Limits`] for people to read: the value shifted right by
/// `shift` bits (10: KiB), or `unlimited` for `u64::MAX`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LimitValue(pub u64, pub u32);

impl core::fmt::Display for LimitValue {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        if self.0 == u64::MAX {
            formatter.write_str("unlimited")
        } else {
            write!(formatter, "{}", self.0 >> self.1)
        }
    }
}

/// What `get_limits` reports: a process's limits and what its tree
/// holds. `u64::MAX` means "no limit of its own" (init and the shell,
/// bounded only by the machine).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of memory the caller's tree may hold: frames (images, stacks,
    /// page tables) and the kernel heap its processes cause.
    pub memory: u64,
    /// Bytes of it the tree holds now.
    pub memory_used: u64,
    /// Processes the tree may have alive at once.
    pub processes: u64,
    /// Processes it has.
    pub processes_used: u64,
    /// Descriptors one process may have open.
    pub open_files: u64,
}

/// `SetTimes` argument meaning "now".
pub const TIME_NOW: u64 = u64::MAX;

impl Syscall {
    /// The number a program passes for this call: [`NATIVE_BASE`] plus
    /// its index.
    pub const fn number(self) -> u64 {
        NATIVE_BASE + self as u64
    }

    /// The call numbered `number` (`NATIVE_BASE + index`), if any.
    pub fn from_number(number: u64) -> Option<Self> {
        use Syscall::*;
        const ALL: [Syscall; 40] = [
            Read,
            Write,
            OpenAt,
            Close,
            Seek,
            FileStatus,
            StatAt,
            ReadDirectory,
            MakeDirectory,
            Unlink,
            RemoveDirectory,
            Link,
            Rename,
            Symlink,
            ReadLink,
            ChangeDirectory,
            ChangeDirectoryFd,
            GetCurrentDirectory,
            Duplicate,
            DuplicateTo,
            Pipe,
            Spawn,
            Execute,
            Exit,
            Wait,
            GetProcessId,
            Kill,
            ClockGetTime,
            Sleep,
            Sync,
            FileSync,
            PowerOff,
            Xchroot,
            SetTimes,
            ChangeMode,
            Benchmark,
            CloseRange,
            GetLimits,
            SetTreeLimits,
            TakeInterrupt,
        ];
        let index = number.checked_sub(NATIVE_BASE)?;
        ALL.get(usize::try_from(index).ok()?).copied()
    }
}

/// Encodes a syscall's outcome into the result register.
pub fn encode_result(result: Result<u64, Errno>) -> u64 {
    match result {
        Ok(value) => value,
        Err(errno) => (-(errno as i64)) as u64,
    }
}

/// Decodes the result register. Values in `-4095..=-1` are errors; an
/// error number this crate does not know decodes as [`Errno::Unknown`].
pub fn decode_result(raw: u64) -> Result<u64, Errno> {
    let signed = raw as i64;
    if (-4095..=-1).contains(&signed) {
        Err(Errno::from_raw((-signed) as u32))
    } else {
        Ok(raw)
    }
}

/// The directory fd meaning "the current directory" in `*at` calls.
pub const CURRENT_DIRECTORY: i32 = -100;

bitflags::bitflags! {
    /// `openat` flags (Linux values).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct OpenFlags: u32 {
        /// Open for writing only.
        const WRITE_ONLY = 0o1;
        /// Open for reading and writing.
        const READ_WRITE = 0o2;
        /// Create the file if missing.
        const CREATE = 0o100;
        /// With `CREATE`: fail if it exists.
        const EXCLUSIVE = 0o200;
        /// Truncate to length 0.
        const TRUNCATE = 0o1000;
        /// Every write appends.
        const APPEND = 0o2000;
        /// Fail unless a directory.
        const DIRECTORY = 0o200000;
        /// Do not follow a final symlink.
        const NO_FOLLOW = 0o400000;
    }
}

impl OpenFlags {
    /// Whether reading is allowed (`O_RDONLY` is 0, so it is the absence of `WRITE_ONLY`).
    pub fn reads(self) -> bool {
        !self.contains(OpenFlags::WRITE_ONLY)
    }

    /// Whether writing is allowed.
    pub fn writes(self) -> bool {
        self.intersects(OpenFlags::WRITE_ONLY | OpenFlags::READ_WRITE)
    }
}

/// `statat` flag: do not follow a final symlink (lstat).
pub const STAT_NO_FOLLOW: u32 = 0x100;

/// File status, as `fstat` and `statat` write it.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stat {
    /// Inode number.
    pub inode: u64,
    /// Type and permission bits (`S_IFMT` values as in Linux).
    pub mode: u32,
    /// Hard links.
    pub links: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Size in bytes.
    pub size: u64,
    /// 512-byte blocks allocated.
    pub blocks: u64,
    /// Last access, seconds.
    pub access_time: i64,
    /// Last modification, seconds.
    pub modify_time: i64,
    /// Last status change, seconds.
    pub change_time: i64,
    /// ext2 inode flags (`IMMUTABLE` = 0x10).
    pub flags: u32,
    /// Reserved, zero.
    pub reserved: u32,
}

/// Access mode of an entry put into `/...`.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessMode {
    /// Read-only, for everything reached through the entry.
    ReadOnly = 0,
    /// Read-write.
    ReadWrite = 1,
}

/// What one xchroot operation does.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XchrootKind {
    /// Put the file or directory at `path` (current view) at `/.../name`.
    PutPath = 1,
    /// Put the file or directory open as `fd` at `/.../name`.
    PutFd = 2,
    /// Keep directory `fd` open across the root change; it appears at `/.../name`.
    KeepFd = 3,
    /// Remove `/.../name`.
    Remove = 4,
    /// Remove every name.
    RemoveAll = 5,
    /// Change the root to the rootlink target of the executing file.
    RootExecutable = 6,
    /// Change the root to the directory at `path` (current view).
    RootPath = 7,
    /// After the change, make directory `fd` the current directory: it
    /// must lie at or below a `/...` entry that the new `/...` still
    /// holds under the same name, for the same directory (so a caller can
    /// hand a program its current directory itself, not a path that a
    /// rename may have changed). `ENOENT` when the new view cannot reach
    /// it that way.
    ChangeDirectoryFd = 8,
}

/// One operation of an `xchroot` call; the call takes an array of them and
/// applies all or none.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XchrootOperation {
    /// An [`XchrootKind`] value.
    pub kind: u32,
    /// An [`AccessMode`] value (puts and keeps).
    pub mode: u32,
    /// The fd (`PutFd`, `KeepFd`).
    pub fd: i32,
    /// Reserved, zero.
    pub reserved: u32,
    /// Path pointer (`PutPath`, `RootPath`).
    pub path: u64,
    /// Path length.
    pub path_length: u64,
    /// `/...` name pointer (puts, keeps, `Remove`).
    pub name: u64,
    /// Name length.
    pub name_length: u64,
}

/// A `(pointer, length)` string in a user-space array.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UserString {
    /// Address of the bytes.
    pub pointer: u64,
    /// Number of bytes.
    pub length: u64,
}

/// One file-descriptor mapping for a spawned child: the child's `child`
/// is the parent's `parent`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FdMapping {
    /// The fd number in the child.
    pub child: i32,
    /// The parent's fd it duplicates.
    pub parent: i32,
}

/// What `spawn` starts: like `posix_spawn`, a program with arguments,
/// environment and an explicit fd map (no other fd is inherited).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SpawnRequest {
    /// The program's path (resolved in the caller's root, never `/...`).
    pub path: UserString,
    /// Array of argument strings.
    pub arguments: u64,
    /// Number of arguments.
    pub argument_count: u64,
    /// Array of environment strings.
    pub environment: u64,
    /// Number of environment strings.
    pub environment_count: u64,
    /// Array of [`FdMapping`].
    pub fds: u64,
    /// Number of mappings.
    pub fd_count: u64,
}

/// Bounds the kernel enforces on what it copies in.
pub mod limits {
    /// Longest path accepted.
    pub const PATH_BYTES: usize = 4096;
    /// Most arguments plus environment strings for spawn/execve.
    pub const ARGUMENTS: usize = 256;
    /// Total bytes of arguments plus environment.
    pub const ARGUMENT_BYTES: usize = 64 * 1024;
    /// Most operations in one `xchroot`.
    pub const XCHROOT_OPERATIONS: usize = 64;
    /// Most fd mappings in one `spawn`.
    pub const SPAWN_FDS: usize = 64;
    /// Largest single read or write.
    pub const IO_BYTES: usize = 1 << 20;
    /// Open fds per process.
    pub const FDS: usize = 64;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_number_round_trips_and_numbers_are_dense() {
        for index in 0..64u64 {
            let number = NATIVE_BASE + index;
            assert!(is_native(number));
            match Syscall::from_number(number) {
                Some(call) => assert_eq!(call.number(), number),
                None => assert!(index >= 39),
            }
            // The bare index is not a native number: it is Linux's.
            assert_eq!(Syscall::from_number(index), None);
            assert!(!is_native(index));
        }
        assert_eq!(Syscall::from_number(u64::MAX), None);
        assert!(!is_native(u64::MAX) && !is_native(NATIVE_BASE - 1));
        assert!(!is_native(NATIVE_BASE + NATIVE_RANGE));
    }

    #[test]
    fn results_round_trip() {
        for value in [0u64, 1, 4096, u64::MAX / 2, (-4096i64) as u64] {
            assert_eq!(decode_result(encode_result(Ok(value))), Ok(value));
        }
        for errno in [
            Errno::NotFound,
            Errno::BadAddress,
            Errno::NoSpace,
            Errno::Loop,
        ] {
            assert_eq!(decode_result(encode_result(Err(errno))), Err(errno));
        }
    }

    #[test]
    fn structures_have_the_documented_sizes() {
        assert_eq!(core::mem::size_of::<Stat>(), 72);
        assert_eq!(core::mem::size_of::<XchrootOperation>(), 48);
        assert_eq!(core::mem::size_of::<SpawnRequest>(), 64);
    }

    #[test]
    fn open_flag_access_modes() {
        assert!(OpenFlags::empty().reads() && !OpenFlags::empty().writes());
        assert!(!OpenFlags::WRITE_ONLY.reads() && OpenFlags::WRITE_ONLY.writes());
        assert!(OpenFlags::READ_WRITE.reads() && OpenFlags::READ_WRITE.writes());
    }
}
