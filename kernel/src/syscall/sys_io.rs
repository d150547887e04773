// SPDX-License-Identifier: MIT OR Apache-2.0
//! `read`, `write`, `close`, `lseek`, `dup`, `dup2`, `pipe`, `sync`, `fsync`.
//!
//! The transfers are written once, with an optional position (`pread`,
//! `pwrite`) and with kernel-buffer forms ([`read_bytes`],
//! [`write_bytes`]) that the Linux personality also uses (`readv`,
//! `sendfile`).

use super::UserAccess;
use crate::files::{OpenFile, Pipe, SharedFile, PIPE_ATOMIC, PIPE_CAPACITY};
use crate::process::{Process, ProcessState};
use crate::root_fs::ROOT;
use crate::scheduler::{self, with_scheduler};
use alloc::collections::VecDeque;
use alloc::sync::Arc;
use alloc::vec::Vec;
use manux_abi::{limits, seek, Errno};
use spin::Mutex;

fn file(process: &Process, fd: u64) -> Result<SharedFile, Errno> {
    process.resources.lock().files.get(fd as i64)
}

/// Whether a blocking transfer of `process` ends with `EINTR`: it is
/// killed, or a Linux signal it does not block is pending.
fn is_killed(process: &Process) -> bool {
    super::linux::signals::interrupted(&process.resources.lock())
}

/// Blocks the caller on `pipe` until woken.
fn block_on_pipe(process: &Arc<Process>, pipe: &Arc<Mutex<Pipe>>) {
    with_scheduler(|_| {
        pipe.lock().waiting.push(process.pid);
        *process.state.lock() = ProcessState::Blocked;
    });
    scheduler::schedule();
}

fn wake_pipe_waiters(pipe: &Arc<Mutex<Pipe>>) {
    let waiting = core::mem::take(&mut pipe.lock().waiting);
    for pid in waiting {
        scheduler::wake(pid);
    }
}

/// Reads of regular files at least this long go straight into the
/// caller's pages (through the frames behind them, found and checked
/// writable first): the file system, and for long uncached runs the disk
/// itself, fill them without a kernel buffer or a copy.
const DIRECT_READ_BYTES: usize = 16 * 1024;

/// `read(fd, buffer, length)`.
pub fn read(process: &Arc<Process>, fd: u64, buffer: u64, length: u64) -> Result<u64, Errno> {
    read_at(process, fd, buffer, length, None)
}

/// Reads from `fd` into the caller's `buffer`: at the file's offset
/// (which moves) when `position` is `None`, else at `position` of a
/// regular file (`pread`; the offset stays).
///
/// Return values: `BadFd` (not open, or not for reading); `IsADirectory`;
/// `IllegalSeek` for a position on a pipe or the console; `BadAddress`;
/// `Interrupted` when killed while blocked; file-system errors.
pub(super) fn read_at(
    process: &Arc<Process>,
    fd: u64,
    buffer: u64,
    length: u64,
    position: Option<u64>,
) -> Result<u64, Errno> {
    let length = (length as usize).min(limits::IO_BYTES);
    let file = file(process, fd)?;
    // A long read of a file goes straight into the caller's pages.
    if length >= DIRECT_READ_BYTES {
        let mut runs = {
            let mut resources = process.resources.lock();
            resources
                .memory
                .as_mut()
                .ok_or(Errno::BadAddress)?
                .writable_runs(buffer, length)?
        };
        let mut guard = file.lock();
        if let OpenFile::Regular {
            object,
            offset,
            readable,
            ..
        } = &mut *guard
        {
            if !*readable {
                return Err(Errno::BadFd);
            }
            let start = position.unwrap_or(*offset);
            let mut root = ROOT.lock();
            let volume = root.as_mut().ok_or(Errno::InputOutput)?;
            // One pass of the file system over all the pieces of the
            // caller's buffer: cached blocks are copied, and the uncached
            // runs of a long read go from the disk straight into the
            // pieces, as one batch of requests.
            let total = runs.with_slices_mut(|pieces| volume.read_pieces(object, start, pieces))?;
            if position.is_none() {
                *offset += total as u64;
            }
            return Ok(total as u64);
        }
    } else {
        UserAccess::check_writable(process, buffer, length)?;
    }
    let bytes = read_bytes(process, &file, length, position)?;
    UserAccess::write(process, buffer, &bytes)?;
    Ok(bytes.len() as u64)
}

/// Reads up to `length` bytes from `file` into a kernel buffer (see
/// [`read_at`] for `position`); blocks on an empty pipe (`TryAgain` for a
/// non-blocking end) or the console.
///
/// Return values: as [`read_at`].
pub(super) fn read_bytes(
    process: &Arc<Process>,
    file: &SharedFile,
    length: usize,
    position: Option<u64>,
) -> Result<Vec<u8>, Errno> {
    let kind = {
        let guard = file.lock();
        match &*guard {
            OpenFile::Console => 0,
            OpenFile::PipeReader { .. } => 1,
            OpenFile::Device {
                device, readable, ..
            } => {
                if !*readable {
                    return Err(Errno::BadFd);
                }
                return device.read(length);
            }
            OpenFile::Regular { .. } => 2,
            OpenFile::Directory { .. } | OpenFile::VirtualDirectory { .. } => {
                return Err(Errno::IsADirectory)
            }
            OpenFile::PipeWriter { .. } => return Err(Errno::BadFd),
        }
    };
    if kind != 2 && position.is_some() {
        return Err(Errno::IllegalSeek);
    }
    match kind {
        0 => {
            let pid = process.pid;
            crate::console::read(pid, length, || is_killed(process)).ok_or(Errno::Interrupted)
        }
        1 => read_pipe(process, file, length),
        _ => {
            let mut guard = file.lock();
            let OpenFile::Regular {
                object,
                offset,
                readable,
                ..
            } = &mut *guard
            else {
                return Err(Errno::BadFd);
            };
            if !*readable {
                return Err(Errno::BadFd);
            }
            let start = position.unwrap_or(*offset);
            let mut data = Vec::new();
            data.try_reserve_exact(length)
                .map_err(|_| Errno::OutOfMemory)?;
            data.resize(length, 0);
            let count = {
                let mut root = ROOT.lock();
                let volume = root.as_mut().ok_or(Errno::InputOutput)?;
                volume.read(object, start, &mut data)?
            };
            data.truncate(count);
            if position.is_none() {
                *offset += count as u64;
            }
            Ok(data)
        }
    }
}

fn read_pipe(process: &Arc<Process>, file: &SharedFile, length: usize) -> Result<Vec<u8>, Errno> {
    let (pipe, nonblocking) = match &*file.lock() {
        OpenFile::PipeReader { pipe, nonblocking } => (pipe.clone(), *nonblocking),
        _ => return Err(Errno::BadFd),
    };
    loop {
        {
            let mut state = pipe.lock();
            if !state.buffer.is_empty() {
                let count = length.min(state.buffer.len());
                let bytes: Vec<u8> = state.buffer.drain(..count).collect();
                drop(state);
                wake_pipe_waiters(&pipe);
                return Ok(bytes);
            }
            if state.writers == 0 {
                return Ok(Vec::new());
            }
            if nonblocking {
                return Err(Errno::TryAgain);
            }
        }
        if is_killed(process) {
            return Err(Errno::Interrupted);
        }
        block_on_pipe(process, &pipe);
    }
}

/// `write(fd, buffer, length)`.
pub fn write(process: &Arc<Process>, fd: u64, buffer: u64, length: u64) -> Result<u64, Errno> {
    write_at(process, fd, buffer, length, None)
}

/// Writes the caller's `buffer` to `fd`: at the file's offset (which
/// moves; at the end for an append-only file) when `position` is `None`,
/// else at `position` of a regular file (`pwrite`; the offset stays).
///
/// Return values: `BadFd` (not open, or not for writing); `IsADirectory`;
/// `IllegalSeek` for a position on a pipe or the console; `BrokenPipe`;
/// `BadAddress`; `Interrupted` when killed while blocked; file-system
/// errors.
pub(super) fn write_at(
    process: &Arc<Process>,
    fd: u64,
    buffer: u64,
    length: u64,
    position: Option<u64>,
) -> Result<u64, Errno> {
    let file = file(process, fd)?;
    let length = (length as usize).min(limits::IO_BYTES) as u64;
    let data = UserAccess::read(process, buffer, length, limits::IO_BYTES)?;
    write_bytes(process, &file, &data, position)
}

/// Writes `data` to `file` (see [`write_at`] for `position`); blocks on
/// a full pipe (a write of at most `PIPE_ATOMIC` bytes until it fits
/// whole) unless the end is non-blocking: then what fits, or `TryAgain`
/// when nothing does (a short write only whole).
///
/// Return values: as [`write_at`].
pub(super) fn write_bytes(
    process: &Arc<Process>,
    file: &SharedFile,
    data: &[u8],
    position: Option<u64>,
) -> Result<u64, Errno> {
    let (pipe, nonblocking) = {
        let mut guard = file.lock();
        match &mut *guard {
            OpenFile::Console if position.is_none() => {
                crate::console::write(data);
                return Ok(data.len() as u64);
            }
            OpenFile::Regular {
                object,
                offset,
                writable,
                append,
                ..
            } => {
                if !*writable {
                    return Err(Errno::BadFd);
                }
                let mut root = ROOT.lock();
                let volume = root.as_mut().ok_or(Errno::InputOutput)?;
                if let Some(position) = position {
                    return Ok(volume.write(object, position, data)? as u64);
                }
                if *append {
                    *offset = volume.stat(object)?.size;
                }
                let count = volume.write(object, *offset, data)?;
                *offset += count as u64;
                return Ok(count as u64);
            }
            OpenFile::Device { writable, .. } => {
                if !*writable {
                    return Err(Errno::BadFd);
                }
                return Ok(data.len() as u64);
            }
            OpenFile::PipeWriter { pipe, nonblocking } if position.is_none() => {
                (pipe.clone(), *nonblocking)
            }
            OpenFile::Directory { .. } | OpenFile::VirtualDirectory { .. } => {
                return Err(Errno::IsADirectory)
            }
            OpenFile::PipeReader { .. } => return Err(Errno::BadFd),
            OpenFile::Console | OpenFile::PipeWriter { .. } => return Err(Errno::IllegalSeek),
        }
    };
    let mut written = 0;
    while written < data.len() {
        {
            let mut state = pipe.lock();
            if state.readers == 0 {
                return if written > 0 {
                    Ok(written as u64)
                } else {
                    Err(Errno::BrokenPipe)
                };
            }
            let room = PIPE_CAPACITY.saturating_sub(state.buffer.len());
            // A short write is never split while it waits (`PIPE_BUF`).
            let whole = data.len() <= PIPE_ATOMIC && room < data.len();
            if room > 0 && !whole {
                let count = room.min(data.len() - written);
                state.buffer.extend(&data[written..written + count]);
                written += count;
                drop(state);
                wake_pipe_waiters(&pipe);
                continue;
            }
        }
        if nonblocking {
            return if written > 0 {
                Ok(written as u64)
            } else {
                Err(Errno::TryAgain)
            };
        }
        if is_killed(process) {
            return Err(Errno::Interrupted);
        }
        block_on_pipe(process, &pipe);
    }
    Ok(written as u64)
}

/// `close(fd)`.
pub fn close(process: &Process, fd: u64) -> Result<u64, Errno> {
    let file = process.resources.lock().files.remove(fd as i64)?;
    drop(file);
    Ok(0)
}

/// `close_range(first, last)`: closes every open descriptor in
/// `first..=last` (both taken as `i32`, negative meaning none below 0).
///
/// Return values: 0; `InvalidArgument` if `first > last`.
pub fn close_range(process: &Process, first: u64, last: u64) -> Result<u64, Errno> {
    let (first, last) = (first as i32, last as i32);
    if first > last {
        return Err(Errno::InvalidArgument);
    }
    let first = first.max(0);
    let last = last.min(limits::FDS as i32 - 1);
    let closed: Vec<SharedFile> = {
        let mut resources = process.resources.lock();
        (first..=last)
            .filter_map(|fd| resources.files.remove(i64::from(fd)).ok())
            .collect()
    };
    // Dropped outside the lock: the last end of a pipe wakes its readers.
    drop(closed);
    Ok(0)
}

/// `lseek(fd, offset, whence)`.
pub fn seek(process: &Process, fd: u64, offset: u64, whence: u64) -> Result<u64, Errno> {
    let file = file(process, fd)?;
    let mut guard = file.lock();
    let (object, position) = match &mut *guard {
        OpenFile::Regular {
            object,
            offset: position,
            ..
        } => (object, position),
        // A directory can be rewound (`rewinddir`), nothing more: its
        // cursor is the file system's, not a byte offset to compute.
        OpenFile::Directory { cursor, .. } | OpenFile::VirtualDirectory { cursor, .. } => {
            if whence as u32 == seek::SET && offset == 0 {
                *cursor = 0;
                return Ok(0);
            }
            return Err(Errno::InvalidArgument);
        }
        // A device has no position: every seek is to 0, as on Linux.
        OpenFile::Device { .. } => return Ok(0),
        _ => return Err(Errno::IllegalSeek),
    };
    let base = match whence as u32 {
        seek::SET => 0,
        seek::CURRENT => *position as i64,
        seek::END => {
            let mut root = ROOT.lock();
            root.as_mut().ok_or(Errno::InputOutput)?.stat(object)?.size as i64
        }
        _ => return Err(Errno::InvalidArgument),
    };
    let target = base
        .checked_add(offset as i64)
        .filter(|&t| t >= 0)
        .ok_or(Errno::InvalidArgument)?;
    *position = target as u64;
    Ok(target as u64)
}

/// `dup(fd)`.
pub fn duplicate(process: &Process, fd: u64) -> Result<u64, Errno> {
    let mut resources = process.resources.lock();
    let file = resources.files.get(fd as i64)?;
    resources.files.insert(file).map(|fd| fd as u64)
}

/// `dup2(fd, target)`.
pub fn duplicate_to(process: &Process, fd: u64, target: u64) -> Result<u64, Errno> {
    duplicate_to_with(process, fd, target, false)
}

/// Makes `target` refer to what `fd` does, with its own close-on-exec
/// flag; what `target` referred to is closed (outside the lock: the last
/// end of a pipe wakes its waiters).
///
/// Return values: `BadFd` when `fd` is not open or `target` is out of
/// range; `OutOfMemory`.
pub(super) fn duplicate_to_with(
    process: &Process,
    fd: u64,
    target: u64,
    close_on_exec: bool,
) -> Result<u64, Errno> {
    let old = {
        let mut resources = process.resources.lock();
        let file = resources.files.get(fd as i64)?;
        resources
            .files
            .insert_at_with(target as i64, file, close_on_exec)?
    };
    drop(old);
    Ok(target)
}

/// `pipe(fds)`.
pub fn pipe(process: &Process, fds: u64) -> Result<u64, Errno> {
    pipe_with(process, fds, false, false)
}

/// Makes a pipe and writes its read and write descriptors (two `i32`)
/// to `fds`; both are close-on-exec with `close_on_exec`, and
/// non-blocking (Linux's `O_NONBLOCK`) with `nonblocking`.
///
/// Return values: `TooManyFiles`; `OutOfMemory` (or the budget's error)
/// for the buffer; `BadAddress` (nothing stays open then).
pub(super) fn pipe_with(
    process: &Process,
    fds: u64,
    close_on_exec: bool,
    nonblocking: bool,
) -> Result<u64, Errno> {
    let charge = crate::budgets::charge(
        &process.budget,
        kernel_core::budget::Pool::KernelHeap,
        crate::files::PIPE_CAPACITY as u64 + 1024,
    )?;
    let pipe = Arc::new(Mutex::new(Pipe {
        buffer: VecDeque::new(),
        readers: 1,
        writers: 1,
        waiting: Vec::new(),
        _charge: charge,
    }));
    let reader = Arc::new(Mutex::new(OpenFile::PipeReader {
        pipe: pipe.clone(),
        nonblocking,
    }));
    let writer = Arc::new(Mutex::new(OpenFile::PipeWriter { pipe, nonblocking }));
    let (read_fd, write_fd) = {
        let mut resources = process.resources.lock();
        let read_fd = resources.files.insert_from(0, reader, close_on_exec)?;
        match resources.files.insert_from(0, writer, close_on_exec) {
            Ok(write_fd) => (read_fd, write_fd),
            Err(error) => {
                let _ = resources.files.remove(read_fd as i64);
                return Err(error);
            }
        }
    };
    let mut bytes = [0u8; 8];
    bytes[..4].copy_from_slice(&(read_fd as i32).to_le_bytes());
    bytes[4..].copy_from_slice(&(write_fd as i32).to_le_bytes());
    if let Err(error) = UserAccess::write(process, fds, &bytes) {
        let mut resources = process.resources.lock();
        let _ = resources.files.remove(read_fd as i64);
        let _ = resources.files.remove(write_fd as i64);
        return Err(error);
    }
    Ok(0)
}

/// `sync()`.
pub fn sync() -> Result<u64, Errno> {
    crate::root_fs::sync()?;
    Ok(0)
}

/// `fsync(fd)`: makes the file or directory durable — its data and the
/// metadata that reaches it (the running transaction commits; other
/// files' data stays in the cache but for blocks they newly allocated).
/// Pipes and the console have nothing to write.
///
/// Return values: `BadFd`; `InputOutput` when the device failed (the
/// changes stay in memory and a later call can still write them);
/// `ReadOnlyFileSystem` after damage made the volume read-only with
/// changes pending; `Stale`.
pub fn file_sync(process: &Process, fd: u64) -> Result<u64, Errno> {
    let file = file(process, fd)?;
    let object = match &*file.lock() {
        OpenFile::Regular { object, .. } | OpenFile::Directory { object, .. } => object.clone(),
        _ => return Ok(0),
    };
    crate::root_fs::fsync(&object)?;
    Ok(0)
}
