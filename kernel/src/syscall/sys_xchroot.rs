// SPDX-License-Identifier: MIT OR Apache-2.0
//! `xchroot(operations, count)`: change a domain's `/...` and root, all at
//! once or not at all (DESIGN §6).
//!
//! The operations ([`manux_abi::XchrootOperation`]) are read and checked
//! first — paths resolved in the caller's current view, fds looked up,
//! access modes checked (an entry can be put read-write only if it was
//! reached writable), the rootlink found — then applied to a copy of the
//! caller's `/...`. Only when every step succeeded is the result
//! installed; on any error nothing has changed. A root change closes every
//! directory fd except the kept ones, which move to their `/...` names,
//! and sets the current directory to the new root. The new `/...` belongs
//! to the caller alone: a parent or child that shared the old one keeps it.
//!
//! Everything is held by object: a put holds the file or directory it was
//! given (never its inode number), the new root is held, and a current
//! directory handed over with `ChangeDirectoryFd` keeps its own chain,
//! re-anchored at the `/...` entry of the new view that holds the same
//! directory.

use super::sys_fs::{with_root, Caller};
use super::UserAccess;
use crate::files::OpenFile;
use crate::process::Process;
use alloc::vec::Vec;
use dotdotdot::{AccessMode, Operation};
use kernel_core::{Location, Node, ObjectRef};
use manux_abi::{limits, Errno, XchrootKind, CURRENT_DIRECTORY};

const OPERATION_BYTES: usize = 48;

/// One operation as the caller sent it.
struct Request {
    kind: u32,
    mode: u32,
    fd: i32,
    path: (u64, u64),
    name: (u64, u64),
}

fn parse(bytes: &[u8]) -> Request {
    let word32 = |i: usize| u32::from_le_bytes(bytes[i..i + 4].try_into().unwrap_or([0; 4]));
    let word64 = |i: usize| u64::from_le_bytes(bytes[i..i + 8].try_into().unwrap_or([0; 8]));
    Request {
        kind: word32(0),
        mode: word32(4),
        fd: word32(8) as i32,
        path: (word64(16), word64(24)),
        name: (word64(32), word64(40)),
    }
}

fn access_mode(raw: u32) -> Result<AccessMode, Errno> {
    match raw {
        0 => Ok(AccessMode::ReadOnly),
        1 => Ok(AccessMode::ReadWrite),
        _ => Err(Errno::InvalidArgument),
    }
}

/// Refuses a read-write entry for something reached read-only.
fn check_mode(mode: AccessMode, writable: bool) -> Result<(), Errno> {
    if mode == AccessMode::ReadWrite && !writable {
        Err(Errno::AccessDenied)
    } else {
        Ok(())
    }
}

/// The directory at `directory` (a directory fd's location) in the staged
/// namespace `dots`, reached by the same names: walking its chain's names
/// down the new `/...`, the first leaf met must hold the very object the
/// chain holds at that step (the chain is then re-anchored there, the
/// steps below keeping their objects); if no leaf is met, the names are
/// virtual directories of the new view, and so is the result.
///
/// Return values: `NotFound` when the new view does not reach it so (a
/// chain from the root, a name the new `/...` lacks, another object).
fn carried_directory(directory: &Location, dots: &kernel_core::DotView) -> Result<Location, Errno> {
    if !directory.is_in_dots() {
        return Err(Errno::NotFound);
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
                    return Err(Errno::NotFound);
                }
                return directory
                    .reanchored(depth, handle.clone(), mode == AccessMode::ReadWrite)
                    .ok_or(Errno::NotFound);
            }
            _ => return Err(Errno::NotFound),
        }
    }
    Ok(Location::virtual_in_dots(&names))
}

/// `xchroot(operations, count)`.
pub fn xchroot(process: &Process, operations: u64, count: u64) -> Result<u64, Errno> {
    if count == 0 || count > limits::XCHROOT_OPERATIONS as u64 {
        return Err(Errno::InvalidArgument);
    }
    let raw = UserAccess::read(
        process,
        operations,
        count * OPERATION_BYTES as u64,
        limits::XCHROOT_OPERATIONS * OPERATION_BYTES,
    )?;
    let caller = Caller::of(process, CURRENT_DIRECTORY as i64 as u64)?;
    let executable = process.resources.lock().place()?.executable.clone();
    let mut batch: Vec<Operation<ObjectRef>> = Vec::new();
    let mut keeps: Vec<(usize, Vec<u8>, ObjectRef, bool)> = Vec::new();
    let mut new_root: Option<ObjectRef> = None;
    let mut new_cwd: Option<Location> = None;
    for request in raw.chunks_exact(OPERATION_BYTES).map(parse) {
        let name = || {
            UserAccess::read(
                process,
                request.name.0,
                request.name.1,
                dotdotdot::MAX_NAME_LENGTH,
            )
        };
        let kind = match request.kind {
            1 => XchrootKind::PutPath,
            2 => XchrootKind::PutFd,
            3 => XchrootKind::KeepFd,
            4 => XchrootKind::Remove,
            5 => XchrootKind::RemoveAll,
            6 => XchrootKind::RootExecutable,
            7 => XchrootKind::RootPath,
            8 => XchrootKind::ChangeDirectoryFd,
            _ => return Err(Errno::InvalidArgument),
        };
        match kind {
            XchrootKind::PutPath => {
                let mode = access_mode(request.mode)?;
                let path = UserAccess::path(process, request.path.0, request.path.1)?;
                let name = name()?;
                let (object, writable) = with_root(|volume| {
                    match caller.resolve(volume, &path, true)?.node() {
                        Node::Object { object, writable } => Ok((object, writable)),
                        // A virtual directory has no object to refer to.
                        Node::Virtual => Err(Errno::InvalidArgument),
                    }
                })?;
                check_mode(mode, writable)?;
                batch.push(Operation::Put {
                    name,
                    handle: object,
                    mode,
                });
            }
            XchrootKind::PutFd | XchrootKind::KeepFd => {
                let mode = access_mode(request.mode)?;
                let name = name()?;
                let file = process.resources.lock().files.get(i64::from(request.fd))?;
                let (object, writable, is_directory) = match &*file.lock() {
                    OpenFile::Regular {
                        object, writable, ..
                    } => (object.clone(), *writable, false),
                    OpenFile::Directory {
                        object, location, ..
                    } => (object.clone(), location.node().is_writable(), true),
                    _ => return Err(Errno::InvalidArgument),
                };
                if kind == XchrootKind::KeepFd {
                    if !is_directory {
                        return Err(Errno::NotADirectory);
                    }
                    keeps.push((
                        request.fd as usize,
                        name.clone(),
                        object.clone(),
                        mode == AccessMode::ReadWrite,
                    ));
                }
                check_mode(mode, writable)?;
                batch.push(Operation::Put {
                    name,
                    handle: object,
                    mode,
                });
            }
            XchrootKind::Remove => batch.push(Operation::Remove { name: name()? }),
            XchrootKind::RemoveAll => batch.push(Operation::RemoveAll),
            XchrootKind::RootExecutable => {
                let target = with_root(|volume| Ok(volume.rootlink(&executable)?))?;
                new_root = Some(target.ok_or(Errno::NotFound)?);
            }
            XchrootKind::RootPath => {
                let path = UserAccess::path(process, request.path.0, request.path.1)?;
                let object = with_root(|volume| {
                    let object = caller
                        .resolve(volume, &path, true)?
                        .location
                        .object()
                        .ok_or(Errno::NotADirectory)?;
                    if !object.is_directory() {
                        return Err(Errno::NotADirectory);
                    }
                    Ok(object)
                })?;
                new_root = Some(object);
            }
            XchrootKind::ChangeDirectoryFd => {
                let file = process.resources.lock().files.get(i64::from(request.fd))?;
                let location = match &*file.lock() {
                    OpenFile::Directory { location, .. }
                    | OpenFile::VirtualDirectory { location, .. } => location.clone(),
                    _ => return Err(Errno::NotADirectory),
                };
                new_cwd = Some(location);
            }
        }
    }
    let staged = caller
        .dots
        .applied(&batch)
        .map_err(|error| Errno::from(kernel_core::Error::Dots(error.error)))?;
    let new_cwd = match new_cwd {
        Some(directory) => Some(carried_directory(&directory, &staged)?),
        None => None,
    };
    // Everything checked: commit. What the process lets go of is dropped
    // after the lock (releases are queued, never done under it).
    let mut resources = process.resources.lock();
    let place = resources.place_mut()?;
    let old_dots = core::mem::replace(&mut place.dots, staged);
    let mut old_root = None;
    let mut old_cwd = None;
    if let Some(root) = new_root {
        old_cwd = Some(core::mem::replace(
            &mut place.cwd,
            Location::root(root.clone()),
        ));
        old_root = Some(core::mem::replace(&mut place.root, root));
    }
    if let Some(directory) = new_cwd {
        let replaced = core::mem::replace(&mut place.cwd, directory);
        old_cwd.get_or_insert(replaced);
    }
    for (fd, name, object, writable) in &keeps {
        resources
            .files
            .relocate(*fd, Location::in_dots(name, object.clone(), *writable));
    }
    let closed = if old_root.is_some() {
        let kept: Vec<usize> = keeps.iter().map(|(fd, ..)| *fd).collect();
        resources.files.close_directories_except(&kept)
    } else {
        Vec::new()
    };
    drop(resources);
    drop((old_dots, old_root, old_cwd, closed));
    Ok(0)
}
