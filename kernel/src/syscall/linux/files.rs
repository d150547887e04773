// SPDX-License-Identifier: MIT OR Apache-2.0
//! Linux's calls on open files: `openat` (and x86_64's `open`, `creat`),
//! `close`, `lseek`, `readv`, `pread64`, `pwrite64`, `ftruncate`,
//! `truncate`, `fsync`, `fdatasync`, `sync`, `fcntl`, `dup`, `dup2`,
//! `dup3`, `pipe2` (and x86_64's `pipe`) and `sendfile`.
//!
//! Each is the native call ([`sys_io`], [`sys_fs`]) behind Linux's flags
//! and structures: this file translates and never decides a right of
//! its own. What a descriptor may do was fixed when it was opened, by the
//! way its path was reached.
//!
//! - Open flags are decoded for the kernel's architecture (`O_DIRECTORY`
//!   and `O_NOFOLLOW` differ between AArch64 and x86_64). `O_CLOEXEC`
//!   sets the descriptor's close-on-exec flag; `O_NOCTTY`,
//!   `O_LARGEFILE`, `O_NOATIME`, `O_SYNC`, `O_DSYNC`, `O_DIRECT` are
//!   accepted and change nothing; so is `O_NONBLOCK` for what a path
//!   opens (files, directories and device files never wait; no path
//!   leads to a pipe); `O_PATH` opens for reading; `O_TMPFILE` and
//!   unknown bits are `EINVAL`. A created file's mode loses the
//!   process's `umask` bits.
//! - `O_NONBLOCK` on a pipe end (`pipe2`, `F_SETFL`) belongs to the open
//!   file, shared by its duplicates: a read of an empty pipe that still
//!   has writers, or a write to a full pipe, is `EAGAIN` instead of
//!   waiting (a write that fits partly takes what fits; one of at most
//!   `PIPE_BUF` bytes only whole). Native pipes always block.
//! - `fcntl` answers `F_DUPFD`, `F_DUPFD_CLOEXEC`, `F_GETFD`, `F_SETFD`,
//!   `F_GETFL`, `F_SETFL` (`O_APPEND` of a file, `O_NONBLOCK` of a pipe
//!   end; the other bits change nothing) and the pipe size; record locks
//!   are `ENOLCK` (none are kept).
//! - `sendfile` copies from a regular file through a kernel buffer (64 KiB
//!   at a time); from anything else it is `EINVAL`, on which busybox and
//!   coreutils fall back to `read`/`write`.

use super::{fd, native, path, read_array, write_bytes, ARCH};
use crate::files::{OpenFile, PIPE_CAPACITY};
use crate::process::Process;
use crate::syscall::{sys_fs, sys_io};
use alloc::sync::Arc;
use linux_abi::flags::at::CURRENT_DIRECTORY;
use linux_abi::flags::fcntl::{FcntlCommand, FD_CLOSE_ON_EXEC};
use linux_abi::flags::open::{AccessMode, OpenFlags, OpenRequest};
use linux_abi::Errno;
use manux_abi::limits;
use spin::Mutex;

/// Flags `openat` accepts without acting on them (see the module doc).
const IGNORED_OPEN_FLAGS: OpenFlags = OpenFlags::NONBLOCK
    .union(OpenFlags::NO_CONTROLLING_TERMINAL)
    .union(OpenFlags::LARGE_FILE)
    .union(OpenFlags::NO_ACCESS_TIME)
    .union(OpenFlags::SYNC)
    .union(OpenFlags::DATA_SYNC)
    .union(OpenFlags::DIRECT);

/// The native open flags of a Linux request, and whether the descriptor
/// is close-on-exec.
///
/// Return values: `EINVAL` for unknown bits, `O_TMPFILE`, `O_ASYNC`, or
/// the access mode 3.
fn native_open_flags(request: &OpenRequest) -> Result<(manux_abi::OpenFlags, bool), Errno> {
    use manux_abi::OpenFlags as Native;
    // Everything but `O_TMPFILE` and `O_ASYNC` (and bits Linux does not
    // define): a flag added to `OpenFlags` later is refused until it is
    // handled here.
    let accepted = OpenFlags::CREATE
        | OpenFlags::EXCLUSIVE
        | OpenFlags::TRUNCATE
        | OpenFlags::APPEND
        | OpenFlags::DIRECTORY
        | OpenFlags::NO_FOLLOW
        | OpenFlags::CLOSE_ON_EXEC
        | OpenFlags::PATH
        | IGNORED_OPEN_FLAGS;
    if request.unknown_bits != 0 || !accepted.contains(request.flags) {
        return Err(Errno::InvalidArgument);
    }
    let path_only = request.flags.contains(OpenFlags::PATH);
    let mut flags = match request.access {
        _ if path_only => Native::empty(),
        AccessMode::ReadOnly => Native::empty(),
        AccessMode::WriteOnly => Native::WRITE_ONLY,
        AccessMode::ReadWrite => Native::READ_WRITE,
        AccessMode::NoReadNoWrite => return Err(Errno::InvalidArgument),
    };
    let table = [
        (OpenFlags::CREATE, Native::CREATE),
        (OpenFlags::EXCLUSIVE, Native::EXCLUSIVE),
        (OpenFlags::TRUNCATE, Native::TRUNCATE),
        (OpenFlags::APPEND, Native::APPEND),
        (OpenFlags::DIRECTORY, Native::DIRECTORY),
        (OpenFlags::NO_FOLLOW, Native::NO_FOLLOW),
    ];
    for (linux, native) in table {
        // `O_PATH` ignores everything but `O_DIRECTORY` and `O_NOFOLLOW`.
        let kept = !path_only || matches!(native, Native::DIRECTORY | Native::NO_FOLLOW);
        if kept && request.flags.contains(linux) {
            flags |= native;
        }
    }
    Ok((flags, request.flags.contains(OpenFlags::CLOSE_ON_EXEC)))
}

/// The process's `umask` applied to a creation `mode`.
pub fn creation_mode(process: &Process, mode: u64) -> u64 {
    let mask = process.resources.lock().file_creation_mask;
    mode & 0o7777 & !u64::from(mask)
}

/// `openat(directory fd, path, flags, mode)`.
pub fn open_at(
    process: &Process,
    directory_fd: u64,
    path_address: u64,
    raw_flags: u64,
    mode: u64,
) -> Result<u64, Errno> {
    let request = OpenRequest::decode(ARCH, raw_flags);
    let (flags, close_on_exec) = native_open_flags(&request)?;
    let path = path(process, path_address)?;
    let mode = creation_mode(process, mode);
    let file = native(sys_fs::open_path(
        process,
        fd(directory_fd),
        &path,
        flags,
        mode,
    ))?;
    let descriptor = native(process.resources.lock().files.insert_from(
        0,
        Arc::new(Mutex::new(file)),
        close_on_exec,
    ))?;
    Ok(descriptor as u64)
}

/// x86_64's `open(path, flags, mode)`: `openat` from the current
/// directory.
pub fn open(process: &Process, path: u64, flags: u64, mode: u64) -> Result<u64, Errno> {
    open_at(process, CURRENT_DIRECTORY as u64, path, flags, mode)
}

/// x86_64's `creat(path, mode)`: `open(path, O_CREAT|O_WRONLY|O_TRUNC,
/// mode)`.
pub fn create(process: &Process, path: u64, mode: u64) -> Result<u64, Errno> {
    let flags = OpenRequest {
        access: AccessMode::WriteOnly,
        flags: OpenFlags::CREATE | OpenFlags::TRUNCATE,
        unknown_bits: 0,
    };
    open(process, path, flags.encode(ARCH), mode)
}

/// `close(fd)`.
pub fn close(process: &Process, file: u64) -> Result<u64, Errno> {
    native(sys_io::close(process, fd(file)))
}

/// `lseek(fd, offset, whence)`: the native seek (whence `SEEK_SET`,
/// `SEEK_CUR`, `SEEK_END` have Linux's values; a directory can only be
/// rewound).
pub fn seek(process: &Process, file: u64, offset: u64, whence: u64) -> Result<u64, Errno> {
    native(sys_io::seek(process, fd(file), offset, whence))
}

/// `readv(fd, iovec array, count)`. A regular file fills each buffer in
/// turn until one comes back short; anything else (a pipe, the console)
/// is read once, into the first non-empty buffer, so a call never blocks
/// again after it has bytes to return.
pub fn read_vector(
    process: &Arc<Process>,
    file: u64,
    vectors: u64,
    count: u64,
) -> Result<u64, Errno> {
    let vectors = super::io::io_vectors(process, vectors, count)?;
    let shared = native(process.resources.lock().files.get(fd(file) as i64))?;
    let is_regular = matches!(&*shared.lock(), OpenFile::Regular { .. });
    let mut total: u64 = 0;
    for vector in vectors {
        match sys_io::read(process, fd(file), vector.base, vector.length) {
            Ok(count) => {
                total += count;
                if count < vector.length || !is_regular {
                    break;
                }
            }
            Err(_) if total > 0 => break,
            Err(error) => return Err(error.into()),
        }
    }
    Ok(total)
}

/// A file position argument (`off_t`): negative is `EINVAL`.
fn position(offset: u64) -> Result<u64, Errno> {
    if (offset as i64) < 0 {
        return Err(Errno::InvalidArgument);
    }
    Ok(offset)
}

/// `pread64(fd, buffer, count, offset)`.
pub fn read_at(
    process: &Arc<Process>,
    file: u64,
    buffer: u64,
    count: u64,
    offset: u64,
) -> Result<u64, Errno> {
    let offset = position(offset)?;
    native(sys_io::read_at(
        process,
        fd(file),
        buffer,
        count,
        Some(offset),
    ))
}

/// `pwrite64(fd, buffer, count, offset)`: at `offset` even on an
/// append-only descriptor (POSIX; Linux itself appends there).
pub fn write_at(
    process: &Arc<Process>,
    file: u64,
    buffer: u64,
    count: u64,
    offset: u64,
) -> Result<u64, Errno> {
    let offset = position(offset)?;
    native(sys_io::write_at(
        process,
        fd(file),
        buffer,
        count,
        Some(offset),
    ))
}

/// `ftruncate(fd, length)`: a regular file open for writing.
pub fn truncate_fd(process: &Process, file: u64, length: u64) -> Result<u64, Errno> {
    let length = position(length)?;
    let shared = native(process.resources.lock().files.get(fd(file) as i64))?;
    let object = match &*shared.lock() {
        OpenFile::Regular {
            object,
            writable: true,
            ..
        } => object.clone(),
        _ => return Err(Errno::InvalidArgument),
    };
    native(sys_fs::truncate_object(process, &object, length))
}

/// `truncate(path, length)`: through a writable way only.
pub fn truncate(process: &Process, path_address: u64, length: u64) -> Result<u64, Errno> {
    let length = position(length)?;
    let path = path(process, path_address)?;
    let caller = native(sys_fs::Caller::of(process, CURRENT_DIRECTORY as u64))?;
    let object = native(sys_fs::with_root(&process.budget, |volume| {
        Ok(caller.resolve(volume, &path, true)?.writable_object()?)
    }))?;
    native(sys_fs::truncate_object(process, &object, length))
}

/// `fsync(fd)` and `fdatasync(fd)`: the native `fsync` (which makes the
/// file's data and the metadata that reaches it durable).
pub fn sync_fd(process: &Process, file: u64) -> Result<u64, Errno> {
    native(sys_io::file_sync(process, fd(file)))
}

/// `sync()`.
pub fn sync() -> Result<u64, Errno> {
    native(sys_io::sync())
}

/// `O_NONBLOCK` if `nonblocking`.
fn nonblocking_flag(nonblocking: bool) -> OpenFlags {
    if nonblocking {
        OpenFlags::NONBLOCK
    } else {
        OpenFlags::empty()
    }
}

/// `F_GETFL` for an open file: its access mode and `O_APPEND`, and
/// `O_DIRECTORY` for a directory; `O_LARGEFILE` as Linux reports it on
/// 64-bit machines (every open there forces it); `O_NONBLOCK` for a
/// non-blocking pipe end.
fn status_flags(file: &OpenFile) -> OpenRequest {
    let (access, flags) = match file {
        OpenFile::Console => (AccessMode::ReadWrite, OpenFlags::empty()),
        OpenFile::Regular {
            readable,
            writable,
            append,
            ..
        } => {
            let access = match (*readable, *writable) {
                (_, false) => AccessMode::ReadOnly,
                (false, true) => AccessMode::WriteOnly,
                (true, true) => AccessMode::ReadWrite,
            };
            let append = if *append {
                OpenFlags::APPEND
            } else {
                OpenFlags::empty()
            };
            (access, append | OpenFlags::LARGE_FILE)
        }
        OpenFile::Directory { .. } | OpenFile::VirtualDirectory { .. } => (
            AccessMode::ReadOnly,
            OpenFlags::DIRECTORY | OpenFlags::LARGE_FILE,
        ),
        OpenFile::Device {
            readable, writable, ..
        } => {
            let access = match (*readable, *writable) {
                (_, false) => AccessMode::ReadOnly,
                (false, true) => AccessMode::WriteOnly,
                (true, true) => AccessMode::ReadWrite,
            };
            (access, OpenFlags::empty())
        }
        OpenFile::PipeReader { nonblocking, .. } => {
            (AccessMode::ReadOnly, nonblocking_flag(*nonblocking))
        }
        OpenFile::PipeWriter { nonblocking, .. } => {
            (AccessMode::WriteOnly, nonblocking_flag(*nonblocking))
        }
    };
    OpenRequest {
        access,
        flags,
        unknown_bits: 0,
    }
}

/// `fcntl(fd, command, argument)`: see the module doc.
pub fn file_control(
    process: &Process,
    file: u64,
    command: u64,
    argument: u64,
) -> Result<u64, Errno> {
    let file = fd(file) as i64;
    let command = FcntlCommand::from_number(command & 0xffff_ffff).ok_or(Errno::InvalidArgument)?;
    match command {
        FcntlCommand::DuplicateFd | FcntlCommand::DuplicateFdCloseOnExec => {
            let lowest = usize::try_from(argument as u32 as i32)
                .ok()
                .filter(|&lowest| lowest < limits::FDS)
                .ok_or(Errno::InvalidArgument)?;
            let close_on_exec = command == FcntlCommand::DuplicateFdCloseOnExec;
            let mut resources = process.resources.lock();
            let shared = native(resources.files.get(file))?;
            let new = native(resources.files.insert_from(lowest, shared, close_on_exec))?;
            Ok(new as u64)
        }
        FcntlCommand::GetFdFlags => {
            let close_on_exec = native(process.resources.lock().files.close_on_exec(file))?;
            Ok(if close_on_exec {
                u64::from(FD_CLOSE_ON_EXEC)
            } else {
                0
            })
        }
        FcntlCommand::SetFdFlags => {
            let close_on_exec = argument as u32 & FD_CLOSE_ON_EXEC != 0;
            native(
                process
                    .resources
                    .lock()
                    .files
                    .set_close_on_exec(file, close_on_exec),
            )?;
            Ok(0)
        }
        FcntlCommand::GetStatusFlags => {
            let shared = native(process.resources.lock().files.get(file))?;
            let flags = status_flags(&shared.lock());
            Ok(flags.encode(ARCH))
        }
        FcntlCommand::SetStatusFlags => {
            let shared = native(process.resources.lock().files.get(file))?;
            let request = OpenRequest::decode(ARCH, argument & 0xffff_ffff);
            match &mut *shared.lock() {
                OpenFile::Regular { append, .. } => {
                    *append = request.flags.contains(OpenFlags::APPEND);
                }
                OpenFile::PipeReader { nonblocking, .. }
                | OpenFile::PipeWriter { nonblocking, .. } => {
                    *nonblocking = request.flags.contains(OpenFlags::NONBLOCK);
                }
                _ => {}
            }
            Ok(0)
        }
        FcntlCommand::GetPipeSize | FcntlCommand::SetPipeSize => {
            let shared = native(process.resources.lock().files.get(file))?;
            let is_pipe = shared.lock().pipe_end().is_some();
            if !is_pipe {
                return Err(Errno::BadFd);
            }
            // The size is fixed: asking for another one answers it.
            Ok(PIPE_CAPACITY as u64)
        }
        FcntlCommand::GetLock | FcntlCommand::SetLock | FcntlCommand::SetLockWait => {
            native(process.resources.lock().files.get(file))?;
            Err(Errno::NoLocks)
        }
        FcntlCommand::GetOwner | FcntlCommand::SetOwner => Err(Errno::InvalidArgument),
    }
}

/// `dup(fd)`.
pub fn duplicate(process: &Process, file: u64) -> Result<u64, Errno> {
    native(sys_io::duplicate(process, fd(file)))
}

/// x86_64's `dup2(fd, target)`: with `target == fd`, only checks that
/// `fd` is open.
pub fn duplicate_to(process: &Process, file: u64, target: u64) -> Result<u64, Errno> {
    let (file, target) = (fd(file), fd(target));
    if file == target {
        native(process.resources.lock().files.get(file as i64))?;
        return Ok(target);
    }
    native(sys_io::duplicate_to_with(process, file, target, false))
}

/// `dup3(fd, target, flags)`: `flags` is 0 or `O_CLOEXEC`; `target ==
/// fd` is `EINVAL`.
pub fn duplicate_to_with_flags(
    process: &Process,
    file: u64,
    target: u64,
    flags: u64,
) -> Result<u64, Errno> {
    let request = OpenRequest::decode(ARCH, flags);
    let close_on_exec = match request.flags {
        _ if request.unknown_bits != 0 || request.access != AccessMode::ReadOnly => {
            return Err(Errno::InvalidArgument)
        }
        flags if flags == OpenFlags::CLOSE_ON_EXEC => true,
        flags if flags.is_empty() => false,
        _ => return Err(Errno::InvalidArgument),
    };
    let (file, target) = (fd(file), fd(target));
    if file == target {
        return Err(Errno::InvalidArgument);
    }
    native(sys_io::duplicate_to_with(
        process,
        file,
        target,
        close_on_exec,
    ))
}

/// `pipe2(fds, flags)` (and x86_64's `pipe(fds)`, flags 0): `O_CLOEXEC`
/// sets both descriptors' flag, `O_NONBLOCK` makes both ends
/// non-blocking (see the module doc); anything else is `EINVAL`.
pub fn pipe(process: &Process, fds: u64, flags: u64) -> Result<u64, Errno> {
    let request = OpenRequest::decode(ARCH, flags);
    let allowed = OpenFlags::CLOSE_ON_EXEC | OpenFlags::NONBLOCK;
    if request.unknown_bits != 0
        || request.access != AccessMode::ReadOnly
        || !allowed.contains(request.flags)
    {
        return Err(Errno::InvalidArgument);
    }
    let close_on_exec = request.flags.contains(OpenFlags::CLOSE_ON_EXEC);
    let nonblocking = request.flags.contains(OpenFlags::NONBLOCK);
    native(sys_io::pipe_with(process, fds, close_on_exec, nonblocking))
}

/// Bytes `sendfile` moves per step through its kernel buffer.
const SEND_FILE_CHUNK: usize = 64 * 1024;
/// Most bytes one `sendfile` moves (Linux's `MAX_RW_COUNT`).
const SEND_FILE_LIMIT: u64 = 0x7fff_f000;

/// `sendfile(out fd, in fd, offset, count)`: see the module doc. With an
/// `offset` pointer, reads start there, the input's own offset stays, and
/// the new position is written back.
pub fn send_file(
    process: &Arc<Process>,
    output: u64,
    input: u64,
    offset_address: u64,
    count: u64,
) -> Result<u64, Errno> {
    let (input, output) = {
        let resources = process.resources.lock();
        (
            native(resources.files.get(fd(input) as i64))?,
            native(resources.files.get(fd(output) as i64))?,
        )
    };
    match &*input.lock() {
        OpenFile::Regular { readable: true, .. } => {}
        OpenFile::Regular { .. } => return Err(Errno::BadFd),
        _ => return Err(Errno::InvalidArgument),
    }
    let mut start = if offset_address != 0 {
        Some(position(u64::from_le_bytes(read_array::<8>(
            process,
            offset_address,
        )?))?)
    } else {
        None
    };
    let count = count.min(SEND_FILE_LIMIT);
    let mut total: u64 = 0;
    while total < count {
        let chunk = (count - total).min(SEND_FILE_CHUNK as u64) as usize;
        let bytes = match sys_io::read_bytes(process, &input, chunk, start) {
            Ok(bytes) => bytes,
            Err(_) if total > 0 => break,
            Err(error) => return Err(error.into()),
        };
        if bytes.is_empty() {
            break;
        }
        let written = match sys_io::write_bytes(process, &output, &bytes, None) {
            Ok(written) => written,
            Err(_) if total > 0 => break,
            Err(error) => return Err(error.into()),
        };
        total += written;
        if let Some(start) = start.as_mut() {
            *start += written;
        }
        if written < bytes.len() as u64 || bytes.len() < chunk {
            break;
        }
    }
    if let Some(start) = start {
        write_bytes(process, offset_address, &start.to_le_bytes())?;
    }
    Ok(total)
}
