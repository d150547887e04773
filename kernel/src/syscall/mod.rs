// SPDX-License-Identifier: MIT OR Apache-2.0
//! The system-call dispatcher: the one place errors become numbers.
//!
//! A process's kernel thread calls [`dispatch`] when user code traps with a system
//! call. The number and arguments come from the registers
//! (`manux-abi` documents the convention). One dispatcher serves two
//! personalities, told apart by the number alone: numbers in the native
//! range (`manux_abi::is_native`: `NATIVE_BASE` = `0x0D58_0000` and up,
//! where neither Linux table has anything) are native calls, every other
//! number is a Linux call for the [`linux`] module (Linux's numbers,
//! structures and errors for prebuilt static Linux programs). Each family
//! of native calls lives in its own `sys_*` module and returns `Result<u64, Errno>`, which is
//! encoded here into the result register. A call the kernel does not know
//! is `ENOSYS`. User pointers are claims: [`UserAccess`] copies through the
//! process's own table with permission checks, so every bad pointer is
//! `EFAULT`.

pub mod linux;
mod sys_benchmark;
mod sys_fs;
mod sys_io;
mod sys_limits;
mod sys_process;
mod sys_time;
mod sys_xchroot;

pub use sys_benchmark::enable as enable_benchmarks;
pub use sys_fs::Caller;
pub use sys_process::read_runnable;

use crate::process::{Continue, Process};
use alloc::sync::Arc;
use alloc::vec::Vec;
use hal::user::UserRegisters;
use hal::UserContext;
use manux_abi::{encode_result, limits, Errno, Syscall, UserString};

/// What a system call may return besides its value.
#[allow(
    clippy::large_enum_variant,
    reason = "moved once per system call; boxing the registers would allocate in `execve`"
)]
pub enum Outcome {
    /// Put this value (or error) in the result register and resume.
    Value(Result<u64, Errno>),
    /// Something other than resuming (exec, exit).
    Control(Continue),
}

impl From<Result<u64, Errno>> for Outcome {
    fn from(result: Result<u64, Errno>) -> Self {
        Outcome::Value(result)
    }
}

/// Runs the system call in `context` for `process`.
pub fn dispatch(process: &Arc<Process>, context: &mut UserContext) -> Continue {
    let number = context.system_call_number();
    if !manux_abi::is_native(number) {
        return linux::dispatch(process, context, number);
    }
    let a = context.system_call_arguments();
    let outcome: Outcome = match Syscall::from_number(number) {
        None => Outcome::Value(Err(Errno::NotImplemented)),
        Some(call) => {
            use Syscall::*;
            match call {
                Read => sys_io::read(process, a[0], a[1], a[2]).into(),
                Write => sys_io::write(process, a[0], a[1], a[2]).into(),
                Close => sys_io::close(process, a[0]).into(),
                Seek => sys_io::seek(process, a[0], a[1], a[2]).into(),
                Duplicate => sys_io::duplicate(process, a[0]).into(),
                DuplicateTo => sys_io::duplicate_to(process, a[0], a[1]).into(),
                Pipe => sys_io::pipe(process, a[0]).into(),
                Sync => sys_io::sync().into(),
                FileSync => sys_io::file_sync(process, a[0]).into(),
                OpenAt => sys_fs::open_at(process, a[0], a[1], a[2], a[3], a[4]).into(),
                FileStatus => sys_fs::file_status(process, a[0], a[1]).into(),
                StatAt => sys_fs::stat_at(process, a[0], a[1], a[2], a[3], a[4]).into(),
                ReadDirectory => sys_fs::read_directory(process, a[0], a[1], a[2]).into(),
                MakeDirectory => sys_fs::make_directory(process, a[0], a[1], a[2], a[3]).into(),
                Unlink => sys_fs::unlink(process, a[0], a[1], a[2], false).into(),
                RemoveDirectory => sys_fs::unlink(process, a[0], a[1], a[2], true).into(),
                Link => sys_fs::link(process, a).into(),
                Rename => sys_fs::rename(process, a).into(),
                Symlink => sys_fs::symlink(process, a).into(),
                ReadLink => sys_fs::read_link(process, a).into(),
                ChangeDirectory => sys_fs::change_directory(process, a[0], a[1]).into(),
                ChangeDirectoryFd => sys_fs::change_directory_fd(process, a[0]).into(),
                GetCurrentDirectory => sys_fs::current_directory(process, a[0], a[1]).into(),
                Spawn => sys_process::spawn(process, a[0]).into(),
                Execute => sys_process::execute(process, a),
                Exit => Outcome::Control(Continue::Exit(
                    manux_abi::wait_status::WaitStatus::Exited(a[0] as u8).to_raw(),
                )),
                Wait => sys_process::wait(process, a[0], a[1]).into(),
                GetProcessId => Ok(u64::from(process.pid)).into(),
                Kill => sys_process::kill(process, a[0]).into(),
                PowerOff => sys_process::power_off(process, a[0]).into(),
                ClockGetTime => sys_time::clock_get_time(process, a[0], a[1]).into(),
                Sleep => sys_time::sleep(process, a[0]).into(),
                Xchroot => sys_xchroot::xchroot(process, a[0], a[1]).into(),
                SetTimes => sys_fs::set_times(process, a).into(),
                ChangeMode => sys_fs::change_mode(process, a).into(),
                Benchmark => sys_benchmark::benchmark(a[0], a[1], a[2]).into(),
                CloseRange => sys_io::close_range(process, a[0], a[1]).into(),
                GetLimits => sys_limits::get_limits(process, a[0]).into(),
                SetTreeLimits => sys_limits::set_tree_limits(process, a[0], a[1]).into(),
                TakeInterrupt => Ok(u64::from(crate::console::take_interrupt(process.pid))).into(),
            }
        }
    };
    match outcome {
        Outcome::Value(result) => {
            context.set_system_call_result(encode_result(result));
            Continue::Resume
        }
        Outcome::Control(next) => next,
    }
}

/// Checked access to the calling process's memory.
pub struct UserAccess;

impl UserAccess {
    /// Copies `length` bytes in from `address`.
    ///
    /// Return values: `BadAddress`; `OutOfMemory`; `InvalidArgument` when
    /// `length` exceeds `limit`.
    pub fn read(
        process: &Process,
        address: u64,
        length: u64,
        limit: usize,
    ) -> Result<Vec<u8>, Errno> {
        let length = usize::try_from(length)
            .ok()
            .filter(|&l| l <= limit)
            .ok_or(Errno::InvalidArgument)?;
        let mut resources = process.resources.lock();
        resources
            .memory
            .as_mut()
            .ok_or(Errno::BadAddress)?
            .copy_in(address, length)
    }

    /// Copies `bytes` out to `address`.
    ///
    /// Return values: `BadAddress`.
    pub fn write(process: &Process, address: u64, bytes: &[u8]) -> Result<(), Errno> {
        let mut resources = process.resources.lock();
        resources
            .memory
            .as_mut()
            .ok_or(Errno::BadAddress)?
            .copy_out(address, bytes)
    }

    /// Checks, before a call blocks or reads anything, that the caller's
    /// buffer at `address` can take `length` bytes.
    ///
    /// Return values: `BadAddress`.
    pub fn check_writable(process: &Process, address: u64, length: usize) -> Result<(), Errno> {
        let mut resources = process.resources.lock();
        resources
            .memory
            .as_mut()
            .ok_or(Errno::BadAddress)?
            .check(address, length, true)
    }

    /// A path argument.
    ///
    /// Return values: `BadAddress`, `NameTooLong`, `NotFound` (empty).
    pub fn path(process: &Process, address: u64, length: u64) -> Result<Vec<u8>, Errno> {
        if length > limits::PATH_BYTES as u64 {
            return Err(Errno::NameTooLong);
        }
        let path = Self::read(process, address, length, limits::PATH_BYTES)?;
        if path.is_empty() {
            return Err(Errno::NotFound);
        }
        if path.contains(&0) {
            return Err(Errno::InvalidArgument);
        }
        Ok(path)
    }

    /// A NUL-terminated string at `address` (a C string, as Linux calls
    /// take paths), without its NUL: read a page at a time, so a string
    /// that ends just before an unmapped page is read, and never more
    /// than `limit` bytes (the NUL included) are looked at. The string
    /// may be empty; the caller decides what that means.
    ///
    /// Return values: `BadAddress` when a byte before the NUL is not
    /// readable; `NameTooLong` when no NUL is within `limit` bytes;
    /// `OutOfMemory`.
    pub fn c_string(process: &Process, address: u64, limit: usize) -> Result<Vec<u8>, Errno> {
        const PAGE: u64 = hal::user::PAGE_SIZE;
        let mut string = Vec::new();
        let mut next = address;
        while string.len() < limit {
            let to_page_end = PAGE - next % PAGE;
            let chunk = to_page_end.min((limit - string.len()) as u64);
            let bytes = Self::read(process, next, chunk, limit)?;
            if let Some(end) = bytes.iter().position(|&byte| byte == 0) {
                string
                    .try_reserve_exact(end)
                    .map_err(|_| Errno::OutOfMemory)?;
                string.extend_from_slice(&bytes[..end]);
                return Ok(string);
            }
            string
                .try_reserve(bytes.len())
                .map_err(|_| Errno::OutOfMemory)?;
            string.extend_from_slice(&bytes);
            next = next.checked_add(chunk).ok_or(Errno::BadAddress)?;
        }
        Err(Errno::NameTooLong)
    }

    /// An array of `count` [`UserString`]s and the strings they point at.
    ///
    /// Return values: `BadAddress`; `ArgumentsTooLong` past the limits.
    pub fn strings(
        process: &Process,
        address: u64,
        count: u64,
        budget: &mut usize,
    ) -> Result<Vec<Vec<u8>>, Errno> {
        if count > limits::ARGUMENTS as u64 {
            return Err(Errno::ArgumentsTooLong);
        }
        let table = Self::read(process, address, count * 16, limits::ARGUMENTS * 16)?;
        let mut strings = Vec::new();
        strings
            .try_reserve(count as usize)
            .map_err(|_| Errno::OutOfMemory)?;
        for entry in table.chunks_exact(16) {
            let word =
                |i: usize| u64::from_le_bytes(entry[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]));
            let string = UserString {
                pointer: word(0),
                length: word(1),
            };
            if string.length as usize > *budget {
                return Err(Errno::ArgumentsTooLong);
            }
            *budget -= string.length as usize;
            strings.push(Self::read(
                process,
                string.pointer,
                string.length,
                limits::ARGUMENT_BYTES,
            )?);
        }
        Ok(strings)
    }
}
