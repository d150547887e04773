// SPDX-License-Identifier: MIT OR Apache-2.0
//! Open files and each process's table of file descriptors.
//!
//! An [`OpenFile`] is shared (`Arc`) by every descriptor that refers to it
//! — after `dup`, `dup2` or inheritance by `spawn` — and carries the offset
//! and access rights fixed at open time. A file or directory is held by an
//! [`ObjectRef`] (directly, or through the steps of its [`Location`]): it
//! keeps meaning the object it was opened on, whatever happens to its
//! names, until the last descriptor of it is closed. Each descriptor has
//! its own close-on-exec flag (`FD_CLOEXEC`), which a successful `execve`
//! honours ([`FileTable::close_on_exec_all`]).

use crate::scheduler::Pid;
use alloc::collections::VecDeque;
use alloc::sync::Arc;
use alloc::vec::Vec;
use kernel_core::{Location, ObjectRef};
use manux_abi::{limits, Errno};
use spin::Mutex;

/// A pipe's buffer and the processes waiting on it.
pub struct Pipe {
    /// Bytes written and not yet read.
    pub buffer: VecDeque<u8>,
    /// Open read ends.
    pub readers: usize,
    /// Open write ends.
    pub writers: usize,
    /// Processes blocked on this pipe.
    pub waiting: Vec<Pid>,
    /// Its buffer's kernel heap, charged to the tree that made it.
    pub _charge: kernel_core::budget::Charge,
}

/// Bytes a pipe holds before writers block.
pub const PIPE_CAPACITY: usize = 64 * 1024;

/// Writes of at most this many bytes to a pipe are never split
/// (`PIPE_BUF`): a non-blocking one that does not fit whole is
/// `TryAgain`.
pub const PIPE_ATOMIC: usize = 4096;

/// What a descriptor refers to.
pub enum OpenFile {
    /// The serial console.
    Console,
    /// A regular file of the root file system.
    Regular {
        /// The file.
        object: ObjectRef,
        /// The next read/write position.
        offset: u64,
        /// Opened for reading.
        readable: bool,
        /// Opened for writing.
        writable: bool,
        /// Every write goes to the end.
        append: bool,
    },
    /// A directory, for `getdents` and `*at` calls.
    Directory {
        /// The directory.
        object: ObjectRef,
        /// Where `getdents` continues.
        cursor: u64,
        /// Where it was reached (its last step holds `object`): relative
        /// paths and `..` start here, and what may be changed below it
        /// follows from it.
        location: Location,
    },
    /// A virtual directory of `/...`.
    VirtualDirectory {
        /// Where it is.
        location: Location,
        /// How many entries `getdents` has returned.
        cursor: u64,
    },
    /// A device file (`/dev/null`, `/dev/zero`, `/dev/urandom`).
    Device {
        /// The device.
        device: crate::device_files::Device,
        /// Its inode, for `fstat`.
        object: ObjectRef,
        /// Opened for reading.
        readable: bool,
        /// Opened for writing.
        writable: bool,
    },
    /// The read end of a pipe.
    PipeReader {
        /// The pipe.
        pipe: Arc<Mutex<Pipe>>,
        /// `O_NONBLOCK` (Linux calls only): a read of an empty pipe
        /// that still has writers is `TryAgain` instead of waiting.
        nonblocking: bool,
    },
    /// The write end of a pipe.
    PipeWriter {
        /// The pipe.
        pipe: Arc<Mutex<Pipe>>,
        /// `O_NONBLOCK` (Linux calls only): a write to a full pipe is
        /// `TryAgain` (or the bytes that fitted) instead of waiting.
        nonblocking: bool,
    },
}

impl OpenFile {
    /// The pipe of a pipe end, and whether the end is non-blocking.
    pub fn pipe_end(&self) -> Option<(&Arc<Mutex<Pipe>>, bool)> {
        match self {
            OpenFile::PipeReader { pipe, nonblocking }
            | OpenFile::PipeWriter { pipe, nonblocking } => Some((pipe, *nonblocking)),
            _ => None,
        }
    }
}

impl Drop for OpenFile {
    fn drop(&mut self) {
        let (pipe, reader) = match self {
            OpenFile::PipeReader { pipe, .. } => (pipe, true),
            OpenFile::PipeWriter { pipe, .. } => (pipe, false),
            _ => return,
        };
        let waiting = {
            let mut pipe = pipe.lock();
            if reader {
                pipe.readers = pipe.readers.saturating_sub(1);
            } else {
                pipe.writers = pipe.writers.saturating_sub(1);
            }
            core::mem::take(&mut pipe.waiting)
        };
        for pid in waiting {
            crate::scheduler::wake(pid);
        }
    }
}

/// A shared open file.
pub type SharedFile = Arc<Mutex<OpenFile>>;

/// One descriptor: the open file it refers to and its own flag. The
/// flag belongs to the descriptor, not to the open file: `dup` of a
/// close-on-exec descriptor gives one that stays open across `execve`.
#[derive(Clone)]
struct Descriptor {
    /// The open file.
    file: SharedFile,
    /// `FD_CLOEXEC`: closed by a successful `execve`.
    close_on_exec: bool,
}

/// A process's descriptors: `fd` indexes the table.
#[derive(Default)]
pub struct FileTable {
    slots: Vec<Option<Descriptor>>,
}

impl FileTable {
    /// A table with the console on 0, 1 and 2.
    pub fn with_console() -> Self {
        let console = Arc::new(Mutex::new(OpenFile::Console));
        let descriptor = |file: &SharedFile| {
            Some(Descriptor {
                file: file.clone(),
                close_on_exec: false,
            })
        };
        FileTable {
            slots: alloc::vec![
                descriptor(&console),
                descriptor(&console),
                descriptor(&console)
            ],
        }
    }

    /// A second table with the same open files at the same descriptors
    /// (a vfork child's): each file is shared, as after `dup`.
    ///
    /// Return values: `OutOfMemory`.
    pub fn duplicate(&self) -> Result<FileTable, Errno> {
        let mut slots = Vec::new();
        slots
            .try_reserve_exact(self.slots.len())
            .map_err(|_| Errno::OutOfMemory)?;
        slots.extend(self.slots.iter().cloned());
        Ok(FileTable { slots })
    }

    fn slot(&self, fd: i64) -> Result<&Descriptor, Errno> {
        usize::try_from(fd)
            .ok()
            .and_then(|index| self.slots.get(index))
            .and_then(|slot| slot.as_ref())
            .ok_or(Errno::BadFd)
    }

    /// The file at `fd`.
    ///
    /// Return values: `BadFd`.
    pub fn get(&self, fd: i64) -> Result<SharedFile, Errno> {
        self.slot(fd).map(|descriptor| descriptor.file.clone())
    }

    /// Puts `file` at the lowest free descriptor, open across `execve`.
    ///
    /// Return values: `TooManyFiles`; `OutOfMemory`.
    pub fn insert(&mut self, file: SharedFile) -> Result<usize, Errno> {
        self.insert_from(0, file, false)
    }

    /// Puts `file` at the lowest free descriptor that is at least
    /// `lowest` (`F_DUPFD`), with its close-on-exec flag.
    ///
    /// Return values: `TooManyFiles` when none is free below
    /// `limits::FDS`; `OutOfMemory`.
    pub fn insert_from(
        &mut self,
        lowest: usize,
        file: SharedFile,
        close_on_exec: bool,
    ) -> Result<usize, Errno> {
        let descriptor = Descriptor {
            file,
            close_on_exec,
        };
        let free = (lowest..self.slots.len()).find(|&index| self.slots[index].is_none());
        if let Some(index) = free {
            self.slots[index] = Some(descriptor);
            return Ok(index);
        }
        let index = self.slots.len().max(lowest);
        if index >= limits::FDS {
            return Err(Errno::TooManyFiles);
        }
        self.slots
            .try_reserve(index + 1 - self.slots.len())
            .map_err(|_| Errno::OutOfMemory)?;
        self.slots.resize(index + 1, None);
        self.slots[index] = Some(descriptor);
        Ok(index)
    }

    /// Puts `file` at exactly `fd`, open across `execve`, closing what
    /// was there; returns that, to be dropped outside the caller's lock.
    ///
    /// Return values: `BadFd` when `fd` is out of range; `OutOfMemory`.
    pub fn insert_at(&mut self, fd: i64, file: SharedFile) -> Result<Option<SharedFile>, Errno> {
        self.insert_at_with(fd, file, false)
    }

    /// [`FileTable::insert_at`] with the new descriptor's close-on-exec
    /// flag (`dup3(…, O_CLOEXEC)`).
    ///
    /// Return values: `BadFd` when `fd` is out of range; `OutOfMemory`.
    pub fn insert_at_with(
        &mut self,
        fd: i64,
        file: SharedFile,
        close_on_exec: bool,
    ) -> Result<Option<SharedFile>, Errno> {
        let index = usize::try_from(fd)
            .ok()
            .filter(|&i| i < limits::FDS)
            .ok_or(Errno::BadFd)?;
        if self.slots.len() <= index {
            self.slots
                .try_reserve(index + 1 - self.slots.len())
                .map_err(|_| Errno::OutOfMemory)?;
            self.slots.resize(index + 1, None);
        }
        let old = self.slots[index].replace(Descriptor {
            file,
            close_on_exec,
        });
        Ok(old.map(|descriptor| descriptor.file))
    }

    /// Whether `fd` is closed by `execve` (`F_GETFD`).
    ///
    /// Return values: `BadFd`.
    pub fn close_on_exec(&self, fd: i64) -> Result<bool, Errno> {
        self.slot(fd).map(|descriptor| descriptor.close_on_exec)
    }

    /// Sets whether `fd` is closed by `execve` (`F_SETFD`).
    ///
    /// Return values: `BadFd`.
    pub fn set_close_on_exec(&mut self, fd: i64, close_on_exec: bool) -> Result<(), Errno> {
        let descriptor = usize::try_from(fd)
            .ok()
            .and_then(|index| self.slots.get_mut(index))
            .and_then(|slot| slot.as_mut())
            .ok_or(Errno::BadFd)?;
        descriptor.close_on_exec = close_on_exec;
        Ok(())
    }

    /// Closes every close-on-exec descriptor (a successful `execve`);
    /// returns the closed files, to be dropped outside the caller's lock.
    pub fn close_on_exec_all(&mut self) -> Vec<SharedFile> {
        let mut closed = Vec::new();
        for slot in &mut self.slots {
            if slot.as_ref().is_some_and(|d| d.close_on_exec) {
                if let Some(descriptor) = slot.take() {
                    if closed.try_reserve(1).is_ok() {
                        closed.push(descriptor.file);
                    }
                }
            }
        }
        closed
    }

    /// Closes every directory fd except those in `keep` (a root change);
    /// returns the closed files, to be dropped outside the caller's lock.
    pub fn close_directories_except(&mut self, keep: &[usize]) -> Vec<SharedFile> {
        let mut closed = Vec::new();
        for (index, slot) in self.slots.iter_mut().enumerate() {
            let is_directory = slot.as_ref().is_some_and(|descriptor| {
                matches!(
                    *descriptor.file.lock(),
                    OpenFile::Directory { .. } | OpenFile::VirtualDirectory { .. }
                )
            });
            if is_directory && !keep.contains(&index) {
                if let Some(descriptor) = slot.take() {
                    if closed.try_reserve(1).is_ok() {
                        closed.push(descriptor.file);
                    }
                }
            }
        }
        closed
    }

    /// Gives the directory fd `fd` a new location (a kept fd moves to its
    /// `/...` name).
    pub fn relocate(&mut self, fd: usize, new_location: Location) {
        if let Some(Some(descriptor)) = self.slots.get(fd) {
            if let OpenFile::Directory { location, .. } = &mut *descriptor.file.lock() {
                *location = new_location;
            }
        }
    }

    /// Closes `fd`.
    ///
    /// Return values: `BadFd`.
    pub fn remove(&mut self, fd: i64) -> Result<SharedFile, Errno> {
        usize::try_from(fd)
            .ok()
            .and_then(|index| self.slots.get_mut(index))
            .and_then(|slot| slot.take())
            .map(|descriptor| descriptor.file)
            .ok_or(Errno::BadFd)
    }
}
