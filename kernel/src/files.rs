// SPDX-License-Identifier: MIT OR Apache-2.0
//! Open files and each process's table of file descriptors.
//!
//! An [`OpenFile`] is shared (`Arc`) by every descriptor that refers to it
//! — after `dup`, `dup2` or inheritance by `spawn` — and carries the offset
//! and access rights fixed at open time. A file or directory is held by an
//! [`ObjectRef`] (directly, or through the steps of its [`Location`]): it
//! keeps meaning the object it was opened on, whatever happens to its
//! names, until the last descriptor of it is closed.

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
    /// The read end of a pipe.
    PipeReader(Arc<Mutex<Pipe>>),
    /// The write end of a pipe.
    PipeWriter(Arc<Mutex<Pipe>>),
}

impl Drop for OpenFile {
    fn drop(&mut self) {
        let (pipe, reader) = match self {
            OpenFile::PipeReader(pipe) => (pipe, true),
            OpenFile::PipeWriter(pipe) => (pipe, false),
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

/// A process's descriptors: `fd` indexes the table.
#[derive(Default)]
pub struct FileTable {
    slots: Vec<Option<SharedFile>>,
}

impl FileTable {
    /// A table with the console on 0, 1 and 2.
    pub fn with_console() -> Self {
        let console = Arc::new(Mutex::new(OpenFile::Console));
        FileTable {
            slots: alloc::vec![Some(console.clone()), Some(console.clone()), Some(console)],
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

    /// The file at `fd`.
    ///
    /// Return values: `BadFd`.
    pub fn get(&self, fd: i64) -> Result<SharedFile, Errno> {
        usize::try_from(fd)
            .ok()
            .and_then(|index| self.slots.get(index))
            .and_then(|slot| slot.clone())
            .ok_or(Errno::BadFd)
    }

    /// Puts `file` at the lowest free descriptor.
    ///
    /// Return values: `TooManyFiles`.
    pub fn insert(&mut self, file: SharedFile) -> Result<usize, Errno> {
        if let Some(index) = self.slots.iter().position(|slot| slot.is_none()) {
            self.slots[index] = Some(file);
            return Ok(index);
        }
        if self.slots.len() >= limits::FDS {
            return Err(Errno::TooManyFiles);
        }
        self.slots.try_reserve(1).map_err(|_| Errno::OutOfMemory)?;
        self.slots.push(Some(file));
        Ok(self.slots.len() - 1)
    }

    /// Puts `file` at exactly `fd`, closing what was there.
    ///
    /// Return values: `BadFd` when `fd` is out of range.
    pub fn insert_at(&mut self, fd: i64, file: SharedFile) -> Result<(), Errno> {
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
        self.slots[index] = Some(file);
        Ok(())
    }

    /// Closes every directory fd except those in `keep` (a root change);
    /// returns the closed files, to be dropped outside the caller's lock.
    pub fn close_directories_except(&mut self, keep: &[usize]) -> Vec<SharedFile> {
        let mut closed = Vec::new();
        for (index, slot) in self.slots.iter_mut().enumerate() {
            let is_directory = slot.as_ref().is_some_and(|file| {
                matches!(
                    *file.lock(),
                    OpenFile::Directory { .. } | OpenFile::VirtualDirectory { .. }
                )
            });
            if is_directory && !keep.contains(&index) {
                if let Some(file) = slot.take() {
                    if closed.try_reserve(1).is_ok() {
                        closed.push(file);
                    }
                }
            }
        }
        closed
    }

    /// Gives the directory fd `fd` a new location (a kept fd moves to its
    /// `/...` name).
    pub fn relocate(&mut self, fd: usize, new_location: Location) {
        if let Some(Some(file)) = self.slots.get(fd) {
            if let OpenFile::Directory { location, .. } = &mut *file.lock() {
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
            .ok_or(Errno::BadFd)
    }
}
