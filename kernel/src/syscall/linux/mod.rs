// SPDX-License-Identifier: MIT OR Apache-2.0
//! The Linux personality: system calls by Linux's numbers, with Linux's
//! structures and error values, for prebuilt static Linux programs.
//!
//! # How a call's personality is known
//! By its number alone. Native numbers live at `manux_abi::NATIVE_BASE`
//! (`0x0D58_0000`) and up, where neither Linux table has anything (both
//! stop below 1024); [`super::dispatch`] sends every number of the native
//! range to the native table and every other number here. A program's
//! kind is therefore not recorded anywhere, and nothing is decided by it:
//! a process may make calls of both kinds, and each is checked exactly as
//! strictly (the same [`UserAccess`] copies, the same budgets, the same
//! root). The personality is a translation, never a second set of rights.
//!
//! # What this module owns
//! Decoding a number with [`LinuxCall::from_number`] for the kernel's
//! architecture, each call's Linux semantics (one concept per file:
//! [`io`] reads and writes on descriptors and the console's `ioctl`,
//! [`files`] opening, seeking, positional and vectored transfers,
//! truncation, sync, `fcntl`, `dup*`, pipes and `sendfile`, [`status`]
//! `stat` and `statx`, [`directories`] listing, names, links and the
//! current directory, [`attributes`] `access`, modes, owners, times and
//! `umask`, [`poll`] waiting on descriptors, [`sleep`] sleeps and
//! yielding, [`memory`] the break and mappings, [`process`] exit,
//! the thread pointer and the process name, [`family`] `execve`,
//! `vfork`, `fork` and `wait4`, [`signals`] signal actions, masks,
//! sending (`kill`, `tkill`, `tgkill`), delivery and `rt_sigreturn`,
//! [`timers`] `alarm`, `setitimer`, `getitimer` and `pause`,
//! [`identity`] users,
//! the system's name, limits, `sysinfo`, time and randomness), and
//! turning native errors into Linux ones ([`linux_abi::Errno::from`]) as
//! negative values in the result register. A call Linux has that is not
//! implemented here, and a number Linux does not have, are `-ENOSYS`;
//! each such number is logged once ([`log_unimplemented`]).
//!
//! File calls take Linux's NUL-terminated paths ([`path`], at most
//! `PATH_MAX` bytes) and call the native layer's `*_path` functions, so
//! a file is opened, changed or removed by the same code and checks as
//! for a native program; x86_64's legacy calls (`open`, `stat`, `mkdir`,
//! `dup2`, `pipe`, `poll`, …) are their `…at` forms from the current
//! directory.
//!
//! # What it must never do
//! Decide a right: what a call may do follows from the caller's root,
//! `/...` view and budget as the native layer judges them. Nor trust a
//! pointer or a number: every pointer goes through [`UserAccess`], every
//! flag word is decoded by `linux-abi` and unknown bits are refused, and
//! no argument can make the kernel panic.
//!
//! Signals ([`signals`]): actions, the mask and pending signals are
//! kept per process; handlers run on a Linux frame pushed on the user
//! stack before the process returns to user mode, and `rt_sigreturn`
//! comes back; `kill`, `tkill`, `tgkill`, Ctrl-C (`SIGINT`), a write to a
//! pipe nobody reads (`SIGPIPE`, [`signals::broken_pipe`]), an expired
//! timer (`SIGALRM`, [`timers`]) and a Linux child's end (`SIGCHLD`) send
//! them; a handler may run on the alternate stack (`sigaltstack`). A call interrupted by one returns
//! `EINTR`, or starts again for a handler set with `SA_RESTART`.

mod attributes;
mod directories;
mod family;
mod files;
mod identity;
mod io;
mod memory;
mod poll;
mod process;
pub mod signals;
mod sleep;
mod status;
pub mod timers;

pub use signals::SignalState;

use super::UserAccess;
use crate::process::{Continue, Process};
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};
use hal::user::UserRegisters;
use hal::UserContext;
use linux_abi::{Arch, Errno, LinuxCall};

/// The Linux ABI this kernel speaks: its own architecture's.
#[cfg(target_arch = "aarch64")]
pub const ARCH: Arch = Arch::Aarch64;
/// The Linux ABI this kernel speaks: its own architecture's.
#[cfg(not(target_arch = "aarch64"))]
pub const ARCH: Arch = Arch::X86_64;

/// What a Linux call returns: a value or a Linux error, or a change of
/// control (exit).
#[allow(
    clippy::large_enum_variant,
    reason = "moved once per system call, as the native `Outcome`"
)]
pub enum Outcome {
    /// Put this value (or `-errno`) in the result register and resume.
    Value(Result<u64, Errno>),
    /// Something other than resuming.
    Control(Continue),
}

impl From<Result<u64, Errno>> for Outcome {
    fn from(result: Result<u64, Errno>) -> Self {
        Outcome::Value(result)
    }
}

impl From<Result<u64, manux_abi::Errno>> for Outcome {
    fn from(result: Result<u64, manux_abi::Errno>) -> Self {
        Outcome::Value(result.map_err(Errno::from))
    }
}

/// A call that cannot fail.
fn value(value: u64) -> Outcome {
    Outcome::Value(Ok(value))
}

/// A native result as a Linux one.
fn native<T>(result: Result<T, manux_abi::Errno>) -> Result<T, Errno> {
    result.map_err(Errno::from)
}

/// Runs Linux call `number` for `process`.
pub fn dispatch(process: &Arc<Process>, context: &mut UserContext, number: u64) -> Continue {
    let a = context.system_call_arguments();
    process.resources.lock().linux_signals.mark_linux();
    let call = LinuxCall::from_number(ARCH, number);
    let outcome = match call {
        Some(call) => run(process, context, call, number, a),
        None => {
            log_unimplemented(number, None);
            Outcome::Value(Err(Errno::NotImplemented))
        }
    };
    if let Outcome::Value(Err(Errno::BrokenPipe)) = outcome {
        signals::broken_pipe(process);
    }
    // A transfer or a wait interrupted by a signal whose handler asked
    // for `SA_RESTART` starts again once the handler returns.
    if let (Outcome::Value(Err(Errno::Interrupted)), Some(call)) = (&outcome, call) {
        use LinuxCall::*;
        let restartable = matches!(
            call,
            Read | ReadVector | ReadAt | Write | WriteVector | WriteAt | Wait
        );
        if restartable && signals::restarts(process) {
            context.rewind_system_call(number, a[0]);
            return Continue::Resume;
        }
    }
    match outcome {
        Outcome::Value(result) => {
            context.set_system_call_result(match result {
                Ok(value) => value,
                Err(errno) => errno.as_return_value(),
            });
            Continue::Resume
        }
        Outcome::Control(next) => next,
    }
}

fn run(
    process: &Arc<Process>,
    context: &mut UserContext,
    call: LinuxCall,
    number: u64,
    a: [u64; 6],
) -> Outcome {
    use LinuxCall::*;
    match call {
        Read => io::read(process, a[0], a[1], a[2]).into(),
        Write => io::write(process, a[0], a[1], a[2]).into(),
        ReadVector => files::read_vector(process, a[0], a[1], a[2]).into(),
        WriteVector => io::write_vector(process, a[0], a[1], a[2]).into(),
        ReadAt => files::read_at(process, a[0], a[1], a[2], a[3]).into(),
        WriteAt => files::write_at(process, a[0], a[1], a[2], a[3]).into(),
        DeviceControl => io::device_control(process, a[0], a[1], a[2]).into(),
        // Open files.
        OpenAt => files::open_at(process, a[0], a[1], a[2], a[3]).into(),
        Open => files::open(process, a[0], a[1], a[2]).into(),
        Create => files::create(process, a[0], a[1]).into(),
        Close => files::close(process, a[0]).into(),
        Seek => files::seek(process, a[0], a[1], a[2]).into(),
        TruncateFd => files::truncate_fd(process, a[0], a[1]).into(),
        Truncate => files::truncate(process, a[0], a[1]).into(),
        SyncFd | SyncFdData => files::sync_fd(process, a[0]).into(),
        Sync => files::sync().into(),
        FileControl => files::file_control(process, a[0], a[1], a[2]).into(),
        Duplicate => files::duplicate(process, a[0]).into(),
        DuplicateTo => files::duplicate_to(process, a[0], a[1]).into(),
        DuplicateToWithFlags => files::duplicate_to_with_flags(process, a[0], a[1], a[2]).into(),
        Pipe => files::pipe(process, a[0], 0).into(),
        PipeWithFlags => files::pipe(process, a[0], a[1]).into(),
        SendFile => files::send_file(process, a[0], a[1], a[2], a[3]).into(),
        // Status.
        FileStatusFd => status::status_fd(process, a[0], a[1]).into(),
        FileStatusAt => status::status_at_path(process, a[0], a[1], a[2], a[3]).into(),
        FileStatus => status::status_path(process, a[0], a[1], true).into(),
        SymlinkStatus => status::status_path(process, a[0], a[1], false).into(),
        ExtendedFileStatus => status::extended_status(process, a[0], a[1], a[2], a[3], a[4]).into(),
        // Names and directories.
        ReadDirectory => directories::read_directory(process, a[0], a[1], a[2]).into(),
        MakeDirectoryAt => directories::make_directory_at(process, a[0], a[1], a[2]).into(),
        MakeDirectory => directories::make_directory_at(process, AT_FDCWD, a[0], a[1]).into(),
        UnlinkAt => directories::unlink_at(process, a[0], a[1], a[2]).into(),
        Unlink => directories::unlink_at(process, AT_FDCWD, a[0], 0).into(),
        RemoveDirectory => directories::unlink_at(process, AT_FDCWD, a[0], REMOVE_DIRECTORY).into(),
        RenameAt => directories::rename_at(process, a[0], a[1], a[2], a[3], 0).into(),
        RenameAtWithFlags => directories::rename_at(process, a[0], a[1], a[2], a[3], a[4]).into(),
        Rename => directories::rename_at(process, AT_FDCWD, a[0], AT_FDCWD, a[1], 0).into(),
        LinkAt => directories::link_at(process, a[0], a[1], a[2], a[3], a[4]).into(),
        Link => directories::link_at(process, AT_FDCWD, a[0], AT_FDCWD, a[1], 0).into(),
        SymlinkAt => directories::symlink_at(process, a[0], a[1], a[2]).into(),
        Symlink => directories::symlink_at(process, a[0], AT_FDCWD, a[1]).into(),
        FileSystemStatus => status::file_system_status(process, a[0], a[1]).into(),
        FileSystemStatusFd => status::file_system_status_fd(process, a[0], a[1]).into(),
        // Device files are the image builder's alone (see `device_files`).
        MakeNode | MakeNodeAt => Outcome::Value(Err(Errno::NotPermitted)),
        ReadLinkAt => directories::read_link_at(process, a[0], a[1], a[2], a[3]).into(),
        ReadLink => directories::read_link(process, a[0], a[1], a[2]).into(),
        ChangeDirectory => directories::change_directory(process, a[0]).into(),
        ChangeDirectoryFd => directories::change_directory_fd(process, a[0]).into(),
        CurrentDirectory => directories::current_directory(process, a[0], a[1]).into(),
        // Attributes.
        AccessAt => attributes::access_at(process, a[0], a[1], a[2], 0).into(),
        AccessAtWithFlags => attributes::access_at(process, a[0], a[1], a[2], a[3]).into(),
        Access => attributes::access(process, a[0], a[1]).into(),
        ChangeModeFd => attributes::change_mode_fd(process, a[0], a[1]).into(),
        ChangeModeAt => attributes::change_mode_at(process, a[0], a[1], a[2]).into(),
        ChangeMode => attributes::change_mode_at(process, AT_FDCWD, a[0], a[1]).into(),
        ChangeOwnerFd => attributes::change_owner_fd(process, a[0]).into(),
        ChangeOwnerAt => attributes::change_owner_at(process, a[0], a[1], a[4]).into(),
        SetTimesAt => attributes::set_times_at(process, a[0], a[1], a[2], a[3]).into(),
        FileCreationMask => value(attributes::file_creation_mask(process, a[0])),
        // Waiting.
        Poll => poll::poll(process, a[0], a[1], a[2]).into(),
        PollWithTimespec => poll::poll_with_timespec(process, a[0], a[1], a[2]).into(),
        Sleep => sleep::nanosleep(process, a[0], a[1]).into(),
        ClockSleep => sleep::clock_nanosleep(process, a[0], a[1], a[2], a[3]).into(),
        Yield => value(sleep::yield_processor()),
        Exit | ExitGroup => process::exit(a[0]),
        Execute => family::execute(process, a[0], a[1], a[2]),
        Clone => family::clone(process, context, a),
        Vfork => family::vfork(process, context),
        Fork => family::fork_call(process, context),
        Wait => family::wait(process, a[0], a[1], a[2], a[3]).into(),
        Kill => signals::kill(process, a[0], a[1]).into(),
        ThreadKill => signals::thread_kill(process, None, a[0], a[1]).into(),
        ThreadGroupKill => signals::thread_kill(process, Some(a[0]), a[1], a[2]).into(),
        // One process group and one session per process: its own.
        GetProcessGroup | GetSession => value(u64::from(process.pid)),
        GetOwnProcessGroup => value(u64::from(process.pid)),
        SetThreadIdAddress => value(u64::from(process.pid)),
        GetProcessId | GetThreadId => value(u64::from(process.pid)),
        GetParentProcessId => value(u64::from(*process.parent.lock())),
        SignalAction => signals::signal_action(process, a[0], a[1], a[2], a[3]).into(),
        SignalMask => signals::signal_mask(process, a[0], a[1], a[2], a[3]).into(),
        SignalReturn => signals::signal_return(process, context),
        SignalPending => signals::signal_pending(process, a[0], a[1]).into(),
        SignalSuspend => signals::signal_suspend(process, a[0], a[1]).into(),
        SignalStack => signals::signal_stack(process, context, a[0], a[1]).into(),
        Alarm => value(timers::alarm(process, a[0])),
        SetIntervalTimer => timers::set_interval_timer(process, a[0], a[1], a[2]).into(),
        GetIntervalTimer => timers::get_interval_timer(process, a[0], a[1]).into(),
        Pause => timers::pause(process).into(),
        // Nothing to clean at exit without threads: accepted.
        SetRobustList => value(0),
        ArchitectureControl => process::architecture_control(process, context, a[0], a[1]).into(),
        ProgramBreak => memory::program_break(process, a[0]).into(),
        MapMemory => memory::map(process, a).into(),
        UnmapMemory => memory::unmap(process, a[0], a[1]).into(),
        ProtectMemory => memory::protect(process, a[0], a[1], a[2]).into(),
        GetUserId | GetEffectiveUserId | GetGroupId | GetEffectiveGroupId => {
            value(u64::from(identity::ID))
        }
        SystemName => identity::system_name(process, a[0]).into(),
        GetRandom => identity::get_random(process, a[0], a[1], a[2]).into(),
        ClockGetTime => identity::clock_get_time(process, a[0], a[1]).into(),
        Time => identity::time(process, a[0]).into(),
        GetTimeOfDay => identity::time_of_day(process, a[0], a[1]).into(),
        ResourceLimit => identity::resource_limit(process, a[0], a[1], a[2], a[3]).into(),
        SystemInformation => identity::system_information(process, a[0]).into(),
        ProcessControl => process::process_control(process, a[0], a[1]).into(),
        // `rseq` is optional: glibc registers it when it can and goes on
        // without it; `ENOSYS` is the answer of kernels before 4.18.
        other => {
            if other != RestartableSequences {
                log_unimplemented(number, Some(other));
            }
            Outcome::Value(Err(Errno::NotImplemented))
        }
    }
}

/// Numbers below this each have a bit in [`LOGGED`]; the rest share the last.
const LOGGED_NUMBERS: u64 = 1024;
/// Which unimplemented numbers were logged already: one bit each.
static LOGGED: [AtomicU64; (LOGGED_NUMBERS / 64) as usize] =
    [const { AtomicU64::new(0) }; (LOGGED_NUMBERS / 64) as usize];

/// Logs, once per number, that a program asked for a Linux call this
/// kernel does not implement (`call`) or a number Linux does not have.
/// Numbers of 1024 and up (Linux has none) share one entry.
pub fn log_unimplemented(number: u64, call: Option<LinuxCall>) {
    let bit = number.min(LOGGED_NUMBERS - 1);
    let mask = 1u64 << (bit % 64);
    let Some(word) = LOGGED.get((bit / 64) as usize) else {
        return;
    };
    if word.fetch_or(mask, Ordering::Relaxed) & mask != 0 {
        return;
    }
    match call {
        Some(call) => log::warn!(
            "linux: {} (call {number}) is not implemented: ENOSYS",
            call.linux_name()
        ),
        None => log::warn!("linux: no call numbered {number:#x}: ENOSYS"),
    }
}

/// A descriptor argument: Linux's `int`, whatever the upper half holds.
fn fd(argument: u64) -> u64 {
    argument as i32 as i64 as u64
}

/// `AT_FDCWD` as a register value, for the legacy calls that mean it.
const AT_FDCWD: u64 = linux_abi::flags::at::CURRENT_DIRECTORY as i64 as u64;

/// `AT_REMOVEDIR` as a register value (x86_64's `rmdir`).
const REMOVE_DIRECTORY: u64 = linux_abi::flags::at::AtFlags::REMOVE_DIRECTORY.bits() as u64;

/// Linux's `PATH_MAX`: bytes of a path, its NUL included.
const PATH_MAX: usize = manux_abi::limits::PATH_BYTES;

/// A path argument that may be empty (for `AT_EMPTY_PATH`): the
/// NUL-terminated string at `address`.
///
/// Return values: `EFAULT`; `ENAMETOOLONG` past [`PATH_MAX`].
fn path_or_empty(process: &Process, address: u64) -> Result<alloc::vec::Vec<u8>, Errno> {
    native(UserAccess::c_string(process, address, PATH_MAX))
}

/// A path argument: the NUL-terminated string at `address`, not empty.
///
/// Return values: `EFAULT`; `ENAMETOOLONG` past [`PATH_MAX`]; `ENOENT`
/// for an empty path (as Linux answers without `AT_EMPTY_PATH`).
fn path(process: &Process, address: u64) -> Result<alloc::vec::Vec<u8>, Errno> {
    let path = path_or_empty(process, address)?;
    if path.is_empty() {
        return Err(Errno::NotFound);
    }
    Ok(path)
}

/// Copies `N` bytes in from `address`, checked as every native copy.
fn read_array<const N: usize>(process: &Process, address: u64) -> Result<[u8; N], Errno> {
    let bytes = native(UserAccess::read(process, address, N as u64, N))?;
    let mut array = [0u8; N];
    array.copy_from_slice(&bytes);
    Ok(array)
}

/// Copies `bytes` out to `address`, checked as every native copy.
fn write_bytes(process: &Process, address: u64, bytes: &[u8]) -> Result<(), Errno> {
    native(UserAccess::write(process, address, bytes))
}
