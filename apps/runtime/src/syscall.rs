// SPDX-License-Identifier: MIT OR Apache-2.0
//! Safe, typed wrappers for every system call of `manux_abi::Syscall`.
//!
//! Each wrapper turns Rust references into the `(pointer, length)` pairs the
//! kernel takes, traps through [`call`], and decodes the result register
//! with [`manux_abi::decode_result`]. The kernel treats every pointer as a
//! claim and answers a bad one with `EFAULT`; the wrappers only ever pass
//! pointers to memory they hold a matching Rust borrow of, so the kernel's
//! writes land only where a `&mut` allows them.
//!
//! Paths, names and arguments are byte strings (`&[u8]`): ext2l names are
//! bytes, and the ABI passes lengths, never NUL terminators. Descriptors
//! and process ids are `i32`, as in the ABI's structures.
//!
//! Return values: every wrapper returns `Err(errno)` with the code the
//! kernel chose; the ABI's doc for each call lists them. Only `exit` cannot
//! fail, and `execute` and `power_off` return only on failure.

use alloc::vec::Vec;
use manux_abi::wait_status::WaitStatus;
use manux_abi::{
    decode_result, Errno, FdMapping, OpenFlags, SpawnRequest, Stat, Syscall, UserString,
    XchrootOperation, CURRENT_DIRECTORY,
};

/// A file descriptor.
pub type Fd = i32;
/// A process id.
pub type ProcessId = i32;

/// Standard input, output and error.
pub const STDIN: Fd = 0;
/// Standard output.
pub const STDOUT: Fd = 1;
/// Standard error.
pub const STDERR: Fd = 2;

/// Traps with call `number` and decodes the result.
///
/// # Safety
/// 1. Every argument the call uses as a pointer is valid for what the call
///    does through it (see [`crate::arch`]'s `syscall`).
unsafe fn call(number: Syscall, arguments: [u64; 6]) -> Result<u64, Errno> {
    // SAFETY: obligation 1 is passed on unchanged.
    decode_result(unsafe { crate::arch::syscall(number.number(), arguments) })
}

fn address<T: ?Sized>(pointer: *const T) -> u64 {
    pointer as *const u8 as usize as u64
}

fn sign(value: i32) -> u64 {
    value as i64 as u64
}

/// `read(fd, buffer)`: bytes read, 0 at end of file.
pub fn read(fd: Fd, buffer: &mut [u8]) -> Result<usize, Errno> {
    let arguments = [
        sign(fd),
        address(buffer.as_mut_ptr()),
        buffer.len() as u64,
        0,
        0,
        0,
    ];
    // SAFETY: the kernel writes at most `buffer.len()` bytes at `buffer`,
    // which is exclusively borrowed for the call.
    unsafe { call(Syscall::Read, arguments) }.map(|count| count as usize)
}

/// `write(fd, data)`: bytes written.
pub fn write(fd: Fd, data: &[u8]) -> Result<usize, Errno> {
    let arguments = [sign(fd), address(data.as_ptr()), data.len() as u64, 0, 0, 0];
    // SAFETY: the kernel reads at most `data.len()` bytes at `data`.
    unsafe { call(Syscall::Write, arguments) }.map(|count| count as usize)
}

/// Writes all of `data`, retrying short writes; a write of 0 bytes is
/// `EIO`.
pub fn write_all(fd: Fd, mut data: &[u8]) -> Result<(), Errno> {
    while !data.is_empty() {
        match write(fd, data)? {
            0 => return Err(Errno::InputOutput),
            written => data = &data[written.min(data.len())..],
        }
    }
    Ok(())
}

/// `openat(directory, path, flags, mode)`: the new descriptor.
pub fn open_at(directory: Fd, path: &[u8], flags: OpenFlags, mode: u32) -> Result<Fd, Errno> {
    let arguments = [
        sign(directory),
        address(path.as_ptr()),
        path.len() as u64,
        u64::from(flags.bits()),
        u64::from(mode),
        0,
    ];
    // SAFETY: the kernel reads `path.len()` bytes at `path`.
    unsafe { call(Syscall::OpenAt, arguments) }.map(|fd| fd as Fd)
}

/// [`open_at`] relative to the current directory.
pub fn open(path: &[u8], flags: OpenFlags, mode: u32) -> Result<Fd, Errno> {
    open_at(CURRENT_DIRECTORY, path, flags, mode)
}

/// `close(fd)`.
pub fn close(fd: Fd) -> Result<(), Errno> {
    // SAFETY: no pointer.
    unsafe { call(Syscall::Close, [sign(fd), 0, 0, 0, 0, 0]) }.map(drop)
}

/// `lseek(fd, offset, whence)` with a `manux_abi::seek` value: the new
/// position.
pub fn seek(fd: Fd, offset: i64, whence: u32) -> Result<u64, Errno> {
    let arguments = [sign(fd), offset as u64, u64::from(whence), 0, 0, 0];
    // SAFETY: no pointer.
    unsafe { call(Syscall::Seek, arguments) }
}

/// `fstat(fd)`.
pub fn file_status(fd: Fd) -> Result<Stat, Errno> {
    let mut status = Stat::default();
    let arguments = [sign(fd), address(&mut status as *mut Stat), 0, 0, 0, 0];
    // SAFETY: the kernel writes one `Stat` at `status`, a local it may
    // fully overwrite (plain integers: every bit pattern is valid).
    unsafe { call(Syscall::FileStatus, arguments) }.map(|_| status)
}

/// `statat(directory, path, flags)`; flags 0 or `manux_abi::STAT_NO_FOLLOW`.
pub fn status_at(directory: Fd, path: &[u8], flags: u32) -> Result<Stat, Errno> {
    let mut status = Stat::default();
    let arguments = [
        sign(directory),
        address(path.as_ptr()),
        path.len() as u64,
        address(&mut status as *mut Stat),
        u64::from(flags),
        0,
    ];
    // SAFETY: the kernel reads `path.len()` bytes at `path` and writes one
    // `Stat` at `status`, a local of plain integers.
    unsafe { call(Syscall::StatAt, arguments) }.map(|_| status)
}

/// `getdents(fd, buffer)`: bytes of `manux_abi::directory_entry` records
/// written, 0 at the end of the directory.
pub fn read_directory(fd: Fd, buffer: &mut [u8]) -> Result<usize, Errno> {
    let arguments = [
        sign(fd),
        address(buffer.as_mut_ptr()),
        buffer.len() as u64,
        0,
        0,
        0,
    ];
    // SAFETY: the kernel writes at most `buffer.len()` bytes at `buffer`.
    unsafe { call(Syscall::ReadDirectory, arguments) }.map(|count| count as usize)
}

/// `mkdirat(directory, path, mode)`.
pub fn make_directory_at(directory: Fd, path: &[u8], mode: u32) -> Result<(), Errno> {
    let arguments = [
        sign(directory),
        address(path.as_ptr()),
        path.len() as u64,
        u64::from(mode),
        0,
        0,
    ];
    // SAFETY: the kernel reads `path.len()` bytes at `path`.
    unsafe { call(Syscall::MakeDirectory, arguments) }.map(drop)
}

/// `unlinkat(directory, path)`.
pub fn unlink_at(directory: Fd, path: &[u8]) -> Result<(), Errno> {
    let arguments = [
        sign(directory),
        address(path.as_ptr()),
        path.len() as u64,
        0,
        0,
        0,
    ];
    // SAFETY: the kernel reads `path.len()` bytes at `path`.
    unsafe { call(Syscall::Unlink, arguments) }.map(drop)
}

/// `rmdirat(directory, path)`.
pub fn remove_directory_at(directory: Fd, path: &[u8]) -> Result<(), Errno> {
    let arguments = [
        sign(directory),
        address(path.as_ptr()),
        path.len() as u64,
        0,
        0,
        0,
    ];
    // SAFETY: the kernel reads `path.len()` bytes at `path`.
    unsafe { call(Syscall::RemoveDirectory, arguments) }.map(drop)
}

fn two_paths(
    number: Syscall,
    old_directory: Fd,
    old_path: &[u8],
    new_directory: Fd,
    new_path: &[u8],
) -> Result<(), Errno> {
    let arguments = [
        sign(old_directory),
        address(old_path.as_ptr()),
        old_path.len() as u64,
        sign(new_directory),
        address(new_path.as_ptr()),
        new_path.len() as u64,
    ];
    // SAFETY: `link` and `rename` read `old_path.len()` bytes at
    // `old_path` and `new_path.len()` bytes at `new_path`.
    unsafe { call(number, arguments) }.map(drop)
}

/// `linkat(old_directory, old_path, new_directory, new_path)`.
pub fn link_at(
    old_directory: Fd,
    old_path: &[u8],
    new_directory: Fd,
    new_path: &[u8],
) -> Result<(), Errno> {
    two_paths(
        Syscall::Link,
        old_directory,
        old_path,
        new_directory,
        new_path,
    )
}

/// `renameat(old_directory, old_path, new_directory, new_path)`.
pub fn rename_at(
    old_directory: Fd,
    old_path: &[u8],
    new_directory: Fd,
    new_path: &[u8],
) -> Result<(), Errno> {
    two_paths(
        Syscall::Rename,
        old_directory,
        old_path,
        new_directory,
        new_path,
    )
}

/// `symlinkat(target, directory, path)`.
pub fn symlink_at(target: &[u8], directory: Fd, path: &[u8]) -> Result<(), Errno> {
    let arguments = [
        address(target.as_ptr()),
        target.len() as u64,
        sign(directory),
        address(path.as_ptr()),
        path.len() as u64,
        0,
    ];
    // SAFETY: the kernel reads `target.len()` bytes at `target` and
    // `path.len()` bytes at `path`.
    unsafe { call(Syscall::Symlink, arguments) }.map(drop)
}

/// `readlinkat(directory, path, buffer)`: bytes of the target written.
pub fn read_link_at(directory: Fd, path: &[u8], buffer: &mut [u8]) -> Result<usize, Errno> {
    let arguments = [
        sign(directory),
        address(path.as_ptr()),
        path.len() as u64,
        address(buffer.as_mut_ptr()),
        buffer.len() as u64,
        0,
    ];
    // SAFETY: the kernel reads `path.len()` bytes at `path` and writes at
    // most `buffer.len()` bytes at `buffer`.
    unsafe { call(Syscall::ReadLink, arguments) }.map(|count| count as usize)
}

/// `chdir(path)`.
pub fn change_directory(path: &[u8]) -> Result<(), Errno> {
    let arguments = [address(path.as_ptr()), path.len() as u64, 0, 0, 0, 0];
    // SAFETY: the kernel reads `path.len()` bytes at `path`.
    unsafe { call(Syscall::ChangeDirectory, arguments) }.map(drop)
}

/// `fchdir(fd)`.
pub fn change_directory_fd(fd: Fd) -> Result<(), Errno> {
    // SAFETY: no pointer.
    unsafe { call(Syscall::ChangeDirectoryFd, [sign(fd), 0, 0, 0, 0, 0]) }.map(drop)
}

/// `getcwd(buffer)`: the length of the path written.
pub fn current_directory(buffer: &mut [u8]) -> Result<usize, Errno> {
    let arguments = [
        address(buffer.as_mut_ptr()),
        buffer.len() as u64,
        0,
        0,
        0,
        0,
    ];
    // SAFETY: the kernel writes at most `buffer.len()` bytes at `buffer`.
    unsafe { call(Syscall::GetCurrentDirectory, arguments) }.map(|count| count as usize)
}

/// `dup(fd)`: the new descriptor.
pub fn duplicate(fd: Fd) -> Result<Fd, Errno> {
    // SAFETY: no pointer.
    unsafe { call(Syscall::Duplicate, [sign(fd), 0, 0, 0, 0, 0]) }.map(|fd| fd as Fd)
}

/// `dup2(fd, target)`: `target`.
pub fn duplicate_to(fd: Fd, target: Fd) -> Result<Fd, Errno> {
    // SAFETY: no pointer.
    unsafe { call(Syscall::DuplicateTo, [sign(fd), sign(target), 0, 0, 0, 0]) }.map(|fd| fd as Fd)
}

/// `pipe()`: `[read end, write end]`.
pub fn pipe() -> Result<[Fd; 2], Errno> {
    let mut fds: [Fd; 2] = [-1, -1];
    let arguments = [address(&mut fds as *mut [Fd; 2]), 0, 0, 0, 0, 0];
    // SAFETY: the kernel writes two `i32`s at `fds`, a local array.
    unsafe { call(Syscall::Pipe, arguments) }.map(|_| fds)
}

fn user_strings(strings: &[&[u8]]) -> Vec<UserString> {
    strings
        .iter()
        .map(|string| UserString {
            pointer: address(string.as_ptr()),
            length: string.len() as u64,
        })
        .collect()
}

/// `spawn`: starts `path` with `arguments` (`arguments[0]` is by
/// convention the program's name), `environment`, and exactly the
/// descriptors `fds` maps; returns the child's id.
pub fn spawn(
    path: &[u8],
    arguments: &[&[u8]],
    environment: &[&[u8]],
    fds: &[FdMapping],
) -> Result<ProcessId, Errno> {
    let argument_strings = user_strings(arguments);
    let environment_strings = user_strings(environment);
    let request = SpawnRequest {
        path: UserString {
            pointer: address(path.as_ptr()),
            length: path.len() as u64,
        },
        arguments: address(argument_strings.as_ptr()),
        argument_count: argument_strings.len() as u64,
        environment: address(environment_strings.as_ptr()),
        environment_count: environment_strings.len() as u64,
        fds: address(fds.as_ptr()),
        fd_count: fds.len() as u64,
    };
    spawn_request(&request)
}

/// `spawn` with a request built by the caller. Safe whatever the request
/// holds: `spawn` only reads user memory, and the kernel checks every
/// address in it.
pub fn spawn_request(request: &SpawnRequest) -> Result<ProcessId, Errno> {
    let arguments = [address(request as *const SpawnRequest), 0, 0, 0, 0, 0];
    // SAFETY: `spawn` writes no user memory; it reads the request and what
    // it points to, and reading cannot break this program.
    unsafe { call(Syscall::Spawn, arguments) }.map(|pid| pid as ProcessId)
}

/// `execve(path, arguments, environment)`: returns only on failure, with
/// the reason.
pub fn execute(path: &[u8], arguments: &[&[u8]], environment: &[&[u8]]) -> Errno {
    let argument_strings = user_strings(arguments);
    let environment_strings = user_strings(environment);
    let call_arguments = [
        address(path.as_ptr()),
        path.len() as u64,
        address(argument_strings.as_ptr()),
        argument_strings.len() as u64,
        address(environment_strings.as_ptr()),
        environment_strings.len() as u64,
    ];
    // SAFETY: `execve` only reads: the path, and the two arrays of
    // `UserString` with the strings they name, all borrowed here.
    match unsafe { call(Syscall::Execute, call_arguments) } {
        Ok(_) => Errno::Unknown,
        Err(errno) => errno,
    }
}

/// `exit(status)`: ends this process.
pub fn exit(status: i32) -> ! {
    // SAFETY: no pointer.
    let _ = unsafe { call(Syscall::Exit, [sign(status), 0, 0, 0, 0, 0]) };
    // The kernel never returns from exit; should it, do not go on.
    loop {
        core::hint::spin_loop();
    }
}

/// `wait(pid)` (`-1`: any child): the child that ended and how.
pub fn wait(pid: ProcessId) -> Result<(ProcessId, WaitStatus), Errno> {
    let mut status: i32 = 0;
    let arguments = [sign(pid), address(&mut status as *mut i32), 0, 0, 0, 0];
    // SAFETY: the kernel writes one `i32` at `status`, a local.
    let child = unsafe { call(Syscall::Wait, arguments) }?;
    Ok((child as ProcessId, WaitStatus::from_raw(status)))
}

/// `getpid()`.
pub fn process_id() -> ProcessId {
    // SAFETY: no pointer.
    match unsafe { call(Syscall::GetProcessId, [0; 6]) } {
        Ok(pid) => pid as ProcessId,
        Err(_) => -1,
    }
}

/// `kill(pid)`: ends a descendant.
pub fn kill(pid: ProcessId) -> Result<(), Errno> {
    // SAFETY: no pointer.
    unsafe { call(Syscall::Kill, [sign(pid), 0, 0, 0, 0, 0]) }.map(drop)
}

/// `clock_gettime(clock)` with a `manux_abi::clock` id.
pub fn clock_time(clock: u32) -> Result<core::time::Duration, Errno> {
    let mut time: [u64; 2] = [0, 0];
    let arguments = [
        u64::from(clock),
        address(&mut time as *mut [u64; 2]),
        0,
        0,
        0,
        0,
    ];
    // SAFETY: the kernel writes two `u64`s at `time`, a local array.
    unsafe { call(Syscall::ClockGetTime, arguments) }?;
    Ok(core::time::Duration::new(
        time[0],
        (time[1] % 1_000_000_000) as u32,
    ))
}

/// `nanosleep(duration)`.
pub fn sleep(duration: core::time::Duration) -> Result<(), Errno> {
    let nanoseconds = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
    // SAFETY: no pointer.
    unsafe { call(Syscall::Sleep, [nanoseconds, 0, 0, 0, 0, 0]) }.map(drop)
}

/// `sync()`.
pub fn sync() -> Result<(), Errno> {
    // SAFETY: no pointer.
    unsafe { call(Syscall::Sync, [0; 6]) }.map(drop)
}

/// `fsync(fd)`.
pub fn file_sync(fd: Fd) -> Result<(), Errno> {
    // SAFETY: no pointer.
    unsafe { call(Syscall::FileSync, [sign(fd), 0, 0, 0, 0, 0]) }.map(drop)
}

/// `poweroff(status)` (init only): returns only on failure.
pub fn power_off(status: i32) -> Errno {
    // SAFETY: no pointer.
    match unsafe { call(Syscall::PowerOff, [sign(status), 0, 0, 0, 0, 0]) } {
        Ok(_) => Errno::Unknown,
        Err(errno) => errno,
    }
}

/// `xchroot(operations)`: all or nothing. Safe whatever the operations
/// hold: `xchroot` only reads user memory.
pub fn xchroot(operations: &[XchrootOperation]) -> Result<(), Errno> {
    let arguments = [
        address(operations.as_ptr()),
        operations.len() as u64,
        0,
        0,
        0,
        0,
    ];
    // SAFETY: `xchroot` writes no user memory; it reads the operations
    // and the paths and names they point to.
    unsafe { call(Syscall::Xchroot, arguments) }.map(drop)
}

/// `utimensat(directory, path, access, modify)`: seconds, or
/// [`manux_abi::TIME_NOW`].
pub fn set_times_at(directory: Fd, path: &[u8], access: u64, modify: u64) -> Result<(), Errno> {
    let arguments = [
        sign(directory),
        address(path.as_ptr()),
        path.len() as u64,
        access,
        modify,
        0,
    ];
    // SAFETY: `utimensat` reads `path.len()` bytes at `path` and writes no
    // user memory.
    unsafe { call(Syscall::SetTimes, arguments) }.map(drop)
}

/// `chmodat(directory, path, mode)`.
pub fn change_mode_at(directory: Fd, path: &[u8], mode: u32) -> Result<(), Errno> {
    let arguments = [
        sign(directory),
        address(path.as_ptr()),
        path.len() as u64,
        u64::from(mode),
        0,
        0,
    ];
    // SAFETY: `chmodat` reads `path.len()` bytes at `path` and writes no
    // user memory.
    unsafe { call(Syscall::ChangeMode, arguments) }.map(drop)
}

/// `close_range(first, last)`: closes every open descriptor from `first`
/// to `last` inclusive, in one call.
pub fn close_range(first: Fd, last: Fd) -> Result<(), Errno> {
    // SAFETY: no pointer.
    unsafe { call(Syscall::CloseRange, [sign(first), sign(last), 0, 0, 0, 0]) }.map(drop)
}

/// `get_limits()`: this process's limits and what its tree holds.
pub fn limits() -> Result<manux_abi::Limits, Errno> {
    let mut limits = manux_abi::Limits::default();
    let address = &mut limits as *mut manux_abi::Limits as u64;
    // SAFETY: the kernel writes `size_of::<Limits>()` bytes (five `u64`s,
    // `repr(C)`) at `address`, a live exclusive local.
    unsafe { call(Syscall::GetLimits, [address, 0, 0, 0, 0, 0]) }?;
    Ok(limits)
}

/// `set_tree_limits(memory, processes)`: what the process trees this
/// process starts from now on may hold (0: the default share).
pub fn set_tree_limits(memory: u64, processes: u64) -> Result<(), Errno> {
    // SAFETY: no pointer.
    unsafe { call(Syscall::SetTreeLimits, [memory, processes, 0, 0, 0, 0]) }.map(drop)
}

/// `take_interrupt()`: whether Ctrl-C interrupted this process (the
/// login shell) while it ran no program, since its last read or call.
pub fn take_interrupt() -> bool {
    // SAFETY: no pointer.
    let answer = unsafe { call(Syscall::TakeInterrupt, [0; 6]) };
    answer == Ok(1)
}

/// `benchmark(operation, a, b)` with a `manux_abi::benchmark` operation.
pub fn benchmark(operation: u64, a: u64, b: u64) -> Result<u64, Errno> {
    // SAFETY: no operation takes a pointer; the kernel writes no user memory.
    unsafe { call(Syscall::Benchmark, [operation, a, b, 0, 0, 0]) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_fail_cleanly_on_the_host() {
        assert_eq!(write(STDOUT, b"x"), Err(Errno::NotImplemented));
        assert_eq!(wait(-1), Err(Errno::NotImplemented));
        assert_eq!(process_id(), -1);
        assert_eq!(write_all(STDOUT, b""), Ok(()));
    }

    #[test]
    fn strings_become_pointer_length_pairs() {
        let strings: [&[u8]; 2] = [b"fault", b""];
        let converted = user_strings(&strings);
        assert_eq!(converted[0].length, 5);
        assert_eq!(converted[0].pointer, strings[0].as_ptr() as u64);
        assert_eq!(converted[1].length, 0);
    }
}
