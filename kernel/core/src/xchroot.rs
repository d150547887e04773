// SPDX-License-Identifier: MIT OR Apache-2.0
//! Staging an `xchroot`: the operations decoded, checked and applied to a
//! copy of a domain's `/...`, all at once or not at all (DESIGN §6).
//!
//! The kernel's `sys_xchroot` reads the operation array from the caller
//! and hands it to [`decode`], which checks each record's kind, access
//! mode and lengths as it goes. For each [`Request`] the kernel does what
//! needs the process (reads a path or name from user memory, resolves a
//! path in the caller's view, looks an fd up) and gives the result to a
//! [`Staging`], which checks what belongs to the namespace: an entry can
//! be put read-write only if it was reached writable, only a directory is
//! kept. [`Staging::stage`] then applies the batch to a copy of the
//! caller's [`DotView`] (the `dotdotdot` crate owns the namespace and its
//! batch semantics) and places a handed-over current directory in the new
//! view. Only when all of that succeeded does the kernel, under the
//! process lock, [`Staged::install`] the result; before that nothing of
//! the domain has changed, so any error leaves its view as it was.

use alloc::vec::Vec;
use dotdotdot::{AccessMode, Operation};
use manux_abi::{limits, XchrootKind};

use crate::live_objects::ObjectRef;
use crate::location::Location;
use crate::resolve::DotView;

/// Bytes of one [`manux_abi::XchrootOperation`] record.
pub const OPERATION_BYTES: usize = 48;

/// Why an `xchroot` is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XchrootError {
    /// A count of zero or past [`limits::XCHROOT_OPERATIONS`], an unknown
    /// kind or access mode, or a name longer than
    /// [`dotdotdot::MAX_NAME_LENGTH`] (`EINVAL`).
    InvalidOperation,
    /// A path longer than [`limits::PATH_BYTES`] (`ENAMETOOLONG`).
    PathTooLong,
    /// A read-write entry for something reached read-only (`EACCES`).
    AccessDenied,
    /// A kept fd that is not a directory (`ENOTDIR`).
    NotADirectory,
    /// A handed-over current directory the new view does not reach by
    /// the same names (`ENOENT`).
    NotReachable,
    /// The namespace refused a step of the batch.
    Dots(dotdotdot::Error),
}

/// A `(pointer, length)` range of the caller's memory, not read yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UserBytes {
    /// Address of the first byte.
    pub address: u64,
    /// Number of bytes; within the operation's limit.
    pub length: u64,
}

/// One decoded operation (see [`XchrootKind`] for what each does).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request {
    /// Put the object at `path` at `/.../name`.
    PutPath {
        /// The entry's access.
        mode: AccessMode,
        /// The path, in the caller's current view.
        path: UserBytes,
        /// The `/...` name.
        name: UserBytes,
    },
    /// Put the object open as `fd` at `/.../name`.
    PutFd {
        /// The entry's access.
        mode: AccessMode,
        /// The descriptor.
        fd: i32,
        /// The `/...` name.
        name: UserBytes,
    },
    /// Put directory `fd` at `/.../name` and keep it open across a root
    /// change, moved there.
    KeepFd {
        /// The entry's access.
        mode: AccessMode,
        /// The descriptor.
        fd: i32,
        /// The `/...` name.
        name: UserBytes,
    },
    /// Remove `/.../name`.
    Remove {
        /// The `/...` name.
        name: UserBytes,
    },
    /// Remove every name.
    RemoveAll,
    /// Change the root to the executing file's rootlink target.
    RootExecutable,
    /// Change the root to the directory at `path`.
    RootPath {
        /// The path, in the caller's current view.
        path: UserBytes,
    },
    /// Make directory `fd` the current directory in the new view.
    ChangeDirectoryFd {
        /// The descriptor.
        fd: i32,
    },
}

/// How many bytes of operations to read for `count` operations.
///
/// Return values: `InvalidOperation` for zero or more than
/// [`limits::XCHROOT_OPERATIONS`].
pub fn operation_bytes(count: u64) -> Result<usize, XchrootError> {
    if count == 0 || count > limits::XCHROOT_OPERATIONS as u64 {
        return Err(XchrootError::InvalidOperation);
    }
    Ok(count as usize * OPERATION_BYTES)
}

/// The requests of `bytes` (whole records), decoded one at a time, so a
/// caller that stops at the first error sees the errors in order.
///
/// Return values (per item): `InvalidOperation` for an unknown kind or
/// mode or a name too long; `PathTooLong`.
pub fn decode(bytes: &[u8]) -> impl Iterator<Item = Result<Request, XchrootError>> + '_ {
    bytes.chunks_exact(OPERATION_BYTES).map(decode_one)
}

/// Decodes one [`manux_abi::XchrootOperation`] record.
fn decode_one(record: &[u8]) -> Result<Request, XchrootError> {
    let word32 = |i: usize| {
        u32::from_le_bytes(
            record
                .get(i..i + 4)
                .and_then(|b| b.try_into().ok())
                .unwrap_or([0; 4]),
        )
    };
    let word64 = |i: usize| {
        u64::from_le_bytes(
            record
                .get(i..i + 8)
                .and_then(|b| b.try_into().ok())
                .unwrap_or([0; 8]),
        )
    };
    let kind = match word32(0) {
        1 => XchrootKind::PutPath,
        2 => XchrootKind::PutFd,
        3 => XchrootKind::KeepFd,
        4 => XchrootKind::Remove,
        5 => XchrootKind::RemoveAll,
        6 => XchrootKind::RootExecutable,
        7 => XchrootKind::RootPath,
        8 => XchrootKind::ChangeDirectoryFd,
        _ => return Err(XchrootError::InvalidOperation),
    };
    let mode = || access_mode(word32(4));
    let fd = word32(8) as i32;
    let path = || {
        let length = word64(24);
        if length > limits::PATH_BYTES as u64 {
            return Err(XchrootError::PathTooLong);
        }
        Ok(UserBytes {
            address: word64(16),
            length,
        })
    };
    let name = || {
        let length = word64(40);
        if length > dotdotdot::MAX_NAME_LENGTH as u64 {
            return Err(XchrootError::InvalidOperation);
        }
        Ok(UserBytes {
            address: word64(32),
            length,
        })
    };
    Ok(match kind {
        XchrootKind::PutPath => Request::PutPath {
            mode: mode()?,
            path: path()?,
            name: name()?,
        },
        XchrootKind::PutFd => Request::PutFd {
            mode: mode()?,
            fd,
            name: name()?,
        },
        XchrootKind::KeepFd => Request::KeepFd {
            mode: mode()?,
            fd,
            name: name()?,
        },
        XchrootKind::Remove => Request::Remove { name: name()? },
        XchrootKind::RemoveAll => Request::RemoveAll,
        XchrootKind::RootExecutable => Request::RootExecutable,
        XchrootKind::RootPath => Request::RootPath { path: path()? },
        XchrootKind::ChangeDirectoryFd => Request::ChangeDirectoryFd { fd },
    })
}

/// The access mode of a raw [`manux_abi::AccessMode`] value.
fn access_mode(raw: u32) -> Result<AccessMode, XchrootError> {
    match raw {
        0 => Ok(AccessMode::ReadOnly),
        1 => Ok(AccessMode::ReadWrite),
        _ => Err(XchrootError::InvalidOperation),
    }
}

/// A directory fd kept across the change, to move to `/.../name`.
#[derive(Clone, Debug)]
pub struct Keep {
    /// The descriptor.
    pub fd: usize,
    /// Its `/...` name.
    pub name: Vec<u8>,
    /// The directory.
    pub object: ObjectRef,
    /// Whether the entry is read-write.
    pub writable: bool,
}

/// The checked operations of one call, not applied yet.
#[derive(Default)]
pub struct Staging {
    batch: Vec<Operation<ObjectRef>>,
    keeps: Vec<Keep>,
    root: Option<ObjectRef>,
    directory: Option<Location>,
}

/// Refuses a read-write entry for something reached read-only.
fn check_mode(mode: AccessMode, writable: bool) -> Result<(), XchrootError> {
    if mode == AccessMode::ReadWrite && !writable {
        Err(XchrootError::AccessDenied)
    } else {
        Ok(())
    }
}

impl Staging {
    /// Nothing staged.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stages putting `object`, reached `writable` or not, at `/.../name`
    /// with `mode`.
    ///
    /// Return values: `AccessDenied` for a read-write entry of something
    /// reached read-only.
    pub fn put(
        &mut self,
        name: Vec<u8>,
        object: ObjectRef,
        mode: AccessMode,
        writable: bool,
    ) -> Result<(), XchrootError> {
        check_mode(mode, writable)?;
        self.batch.push(Operation::Put {
            name,
            handle: object,
            mode,
        });
        Ok(())
    }

    /// Stages keeping directory fd `fd` (open on `object`, reached
    /// `writable` or not) across the change, at `/.../name` with `mode`.
    ///
    /// Return values: `NotADirectory` unless `is_directory`;
    /// `AccessDenied` as [`Self::put`].
    pub fn keep(
        &mut self,
        fd: usize,
        name: Vec<u8>,
        object: ObjectRef,
        is_directory: bool,
        mode: AccessMode,
        writable: bool,
    ) -> Result<(), XchrootError> {
        if !is_directory {
            return Err(XchrootError::NotADirectory);
        }
        self.keeps.push(Keep {
            fd,
            name: name.clone(),
            object: object.clone(),
            writable: mode == AccessMode::ReadWrite,
        });
        self.put(name, object, mode, writable)
    }

    /// Stages removing `/.../name`.
    pub fn remove(&mut self, name: Vec<u8>) {
        self.batch.push(Operation::Remove { name });
    }

    /// Stages removing every name.
    pub fn remove_all(&mut self) {
        self.batch.push(Operation::RemoveAll);
    }

    /// Stages changing the root to the directory `root` (the last such
    /// operation wins).
    pub fn change_root(&mut self, root: ObjectRef) {
        self.root = Some(root);
    }

    /// Stages making `directory` (a directory fd's location) the current
    /// directory in the new view (the last such operation wins).
    pub fn change_directory(&mut self, directory: Location) {
        self.directory = Some(directory);
    }

    /// Applies the batch to a copy of `dots` (which is left as it is) and
    /// finds the new current directory in the result.
    ///
    /// Return values: `Dots` with the first step the namespace refused;
    /// `NotReachable` for a current directory the new view does not
    /// reach by the same names.
    pub fn stage(self, dots: &DotView) -> Result<Staged, XchrootError> {
        let staged = dots
            .applied(&self.batch)
            .map_err(|error| XchrootError::Dots(error.error))?;
        let directory = match self.directory {
            Some(directory) => Some(carried_directory(&directory, &staged)?),
            None => None,
        };
        Ok(Staged {
            dots: staged,
            root: self.root,
            directory,
            keeps: self.keeps,
        })
    }
}

/// The directory at `directory` (a directory fd's location) in the staged
/// namespace `dots`, reached by the same names: walking its chain's names
/// down the new `/...`, the first leaf met must hold the very object the
/// chain holds at that step (the chain is then re-anchored there, the
/// steps below keeping their objects); if no leaf is met, the names are
/// virtual directories of the new view, and so is the result.
///
/// Return values: `NotReachable` when the new view does not reach it so
/// (a chain from the root, a name the new `/...` lacks, another object).
fn carried_directory(directory: &Location, dots: &DotView) -> Result<Location, XchrootError> {
    if !directory.is_in_dots() {
        return Err(XchrootError::NotReachable);
    }
    let names: Vec<&[u8]> = directory
        .steps()
        .iter()
        .map(|step| step.name.as_slice())
        .collect();
    for depth in 1..=names.len() {
        match dots.resolve(&names[..depth]) {
            Ok(dotdotdot::Resolved::Virtual(_)) => continue,
            Ok(dotdotdot::Resolved::Leaf {
                handle,
                mode,
                rest: [],
            }) => {
                if directory.steps()[depth - 1].node.object() != Some(handle) {
                    return Err(XchrootError::NotReachable);
                }
                return directory
                    .reanchored(depth, handle.clone(), mode == AccessMode::ReadWrite)
                    .ok_or(XchrootError::NotReachable);
            }
            _ => return Err(XchrootError::NotReachable),
        }
    }
    Ok(Location::virtual_in_dots(&names))
}

/// A checked and applied `xchroot`, ready to install.
pub struct Staged {
    /// The new `/...`, the caller's alone.
    pub dots: DotView,
    /// The new root, if it changes.
    pub root: Option<ObjectRef>,
    /// The new current directory, if handed over.
    pub directory: Option<Location>,
    /// The directory fds kept across the change.
    pub keeps: Vec<Keep>,
}

/// What a domain let go of in [`Staged::install`], to drop once its lock
/// is released.
pub struct Replaced {
    /// The old `/...`.
    pub dots: DotView,
    /// The old root, if the root changed.
    pub root: Option<ObjectRef>,
    /// The old current directory, if it changed.
    pub directory: Option<Location>,
}

impl Staged {
    /// Installs the new view in a domain's `dots`, `root` and current
    /// `directory`: a root change also moves the current directory to
    /// the new root, unless one was handed over. Returns what was
    /// replaced and the fds to keep; the caller moves those to their
    /// `/...` names and, when the root changed, closes every other
    /// directory fd.
    pub fn install(
        self,
        dots: &mut DotView,
        root: &mut ObjectRef,
        directory: &mut Location,
    ) -> (Replaced, Vec<Keep>) {
        let old_dots = core::mem::replace(dots, self.dots);
        let mut old_root = None;
        let mut old_directory = None;
        if let Some(new_root) = self.root {
            old_directory = Some(core::mem::replace(
                directory,
                Location::root(new_root.clone()),
            ));
            old_root = Some(core::mem::replace(root, new_root));
        }
        if let Some(new_directory) = self.directory {
            let replaced = core::mem::replace(directory, new_directory);
            old_directory.get_or_insert(replaced);
        }
        (
            Replaced {
                dots: old_dots,
                root: old_root,
                directory: old_directory,
            },
            self.keeps,
        )
    }
}

#[cfg(test)]
mod tests;
