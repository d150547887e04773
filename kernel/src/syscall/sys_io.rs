// SPDX-License-Identifier: MIT OR Apache-2.0
//! `read`, `write`, `close`, `lseek`, `dup`, `dup2`, `pipe`, `sync`, `fsync`.

use super::UserAccess;
use crate::files::{OpenFile, Pipe, SharedFile, PIPE_CAPACITY};
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

fn is_killed(process: &Process) -> bool {
    process.resources.lock().killed
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
    let length = (length as usize).min(limits::IO_BYTES);
    let file = file(process, fd)?;
    // A long read of a file goes straight into the caller's pages.
    let runs = if length >= DIRECT_READ_BYTES {
        let mut resources = process.resources.lock();
        Some(
            resources
                .memory
                .as_mut()
                .ok_or(Errno::BadAddress)?
                .writable_runs(buffer, length)?,
        )
    } else {
        UserAccess::check_writable(process, buffer, length)?;
        None
    };
    let bytes: Vec<u8> = {
        let kind = {
            let guard = file.lock();
            match &*guard {
                OpenFile::Console => 0,
                OpenFile::PipeReader(_) => 1,
                OpenFile::Regular { .. } => 2,
                OpenFile::Directory { .. } | OpenFile::VirtualDirectory { .. } => {
                    return Err(Errno::IsADirectory)
                }
                OpenFile::PipeWriter(_) => return Err(Errno::BadFd),
            }
        };
        match kind {
            0 => {
                let pid = process.pid;
                crate::console::read(pid, length, || is_killed(process))
                    .ok_or(Errno::Interrupted)?
            }
            1 => read_pipe(process, &file, length)?,
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
                if let Some(mut runs) = runs {
                    let mut root = ROOT.lock();
                    let volume = root.as_mut().ok_or(Errno::InputOutput)?;
                    // One pass of the file system over all the pieces of
                    // the caller's buffer: cached blocks are copied, and
                    // the uncached runs of a long read go from the disk
                    // straight into the pieces, as one batch of requests.
                    let total =
                        runs.with_slices_mut(|pieces| volume.read_pieces(object, *offset, pieces))?;
                    *offset += total as u64;
                    return Ok(total as u64);
                }
                let mut data = Vec::new();
                data.try_reserve_exact(length)
                    .map_err(|_| Errno::OutOfMemory)?;
                data.resize(length, 0);
                let count = {
                    let mut root = ROOT.lock();
                    let volume = root.as_mut().ok_or(Errno::InputOutput)?;
                    volume.read(object, *offset, &mut data)?
                };
                data.truncate(count);
                *offset += count as u64;
                data
            }
        }
    };
    UserAccess::write(process, buffer, &bytes)?;
    Ok(bytes.len() as u64)
}

fn read_pipe(process: &Arc<Process>, file: &SharedFile, length: usize) -> Result<Vec<u8>, Errno> {
    let pipe = match &*file.lock() {
        OpenFile::PipeReader(pipe) => pipe.clone(),
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
        }
        if is_killed(process) {
            return Err(Errno::Interrupted);
        }
        block_on_pipe(process, &pipe);
    }
}

/// `write(fd, buffer, length)`.
pub fn write(process: &Arc<Process>, fd: u64, buffer: u64, length: u64) -> Result<u64, Errno> {
    let file = file(process, fd)?;
    let length = (length as usize).min(limits::IO_BYTES) as u64;
    let data = UserAccess::read(process, buffer, length, limits::IO_BYTES)?;
    let pipe = {
        let mut guard = file.lock();
        match &mut *guard {
            OpenFile::Console => {
                crate::console::write(&data);
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
                if *append {
                    *offset = volume.stat(object)?.size;
                }
                let count = volume.write(object, *offset, &data)?;
                *offset += count as u64;
                return Ok(count as u64);
            }
            OpenFile::PipeWriter(pipe) => pipe.clone(),
            OpenFile::Directory { .. } | OpenFile::VirtualDirectory { .. } => {
                return Err(Errno::IsADirectory)
            }
            OpenFile::PipeReader(_) => return Err(Errno::BadFd),
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
            if room > 0 {
                let count = room.min(data.len() - written);
                state.buffer.extend(&data[written..written + count]);
                written += count;
                drop(state);
                wake_pipe_waiters(&pipe);
                continue;
            }
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
    let OpenFile::Regular {
        object,
        offset: position,
        ..
    } = &mut *guard
    else {
        return Err(Errno::IllegalSeek);
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
    let mut resources = process.resources.lock();
    let file = resources.files.get(fd as i64)?;
    resources.files.insert_at(target as i64, file)?;
    Ok(target)
}

/// `pipe(fds)`.
pub fn pipe(process: &Process, fds: u64) -> Result<u64, Errno> {
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
    let reader = Arc::new(Mutex::new(OpenFile::PipeReader(pipe.clone())));
    let writer = Arc::new(Mutex::new(OpenFile::PipeWriter(pipe)));
    let (read_fd, write_fd) = {
        let mut resources = process.resources.lock();
        let read_fd = resources.files.insert(reader)?;
        match resources.files.insert(writer) {
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
