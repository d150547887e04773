// SPDX-License-Identifier: MIT OR Apache-2.0
//! `xchroot(operations, count)`: change a domain's `/...` and root, all at
//! once or not at all (DESIGN §6).
//!
//! The operations ([`manux_abi::XchrootOperation`]) are read and checked
//! first — decoded by `kernel_core::xchroot::decode`, paths resolved in
//! the caller's current view, fds looked up, access modes checked (an
//! entry can be put read-write only if it was reached writable), the
//! rootlink found — then applied to a copy of the caller's `/...`
//! (`kernel_core::xchroot::Staging`, host-tested). Only when every step
//! succeeded is the result installed; on any error nothing has changed. A
//! root change closes every directory fd except the kept ones, which move
//! to their `/...` names, and sets the current directory to the new root.
//! The new `/...` belongs to the caller alone: a parent or child that
//! shared the old one keeps it.
//!
//! This module is the glue that needs the process: user memory, the fd
//! table, the root volume, the process lock.
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
use kernel_core::xchroot::{self, Request, Staging, UserBytes};
use kernel_core::{Location, Node, ObjectRef};
use manux_abi::{limits, Errno, CURRENT_DIRECTORY};

/// `xchroot(operations, count)`.
pub fn xchroot(process: &Process, operations: u64, count: u64) -> Result<u64, Errno> {
    let bytes = xchroot::operation_bytes(count)?;
    let raw = UserAccess::read(
        process,
        operations,
        bytes as u64,
        limits::XCHROOT_OPERATIONS * xchroot::OPERATION_BYTES,
    )?;
    let caller = Caller::of(process, CURRENT_DIRECTORY as i64 as u64)?;
    let executable = process.resources.lock().place()?.executable.clone();
    let name = |name: UserBytes| {
        UserAccess::read(
            process,
            name.address,
            name.length,
            dotdotdot::MAX_NAME_LENGTH,
        )
    };
    let path = |path: UserBytes| UserAccess::path(process, path.address, path.length);
    let mut staging = Staging::new();
    for request in xchroot::decode(&raw) {
        let request = request?;
        match request {
            Request::PutPath {
                mode,
                path: path_bytes,
                name: name_bytes,
            } => {
                let path = path(path_bytes)?;
                let name = name(name_bytes)?;
                let (object, writable) = with_root(&process.budget, |volume| {
                    match caller.resolve(volume, &path, true)?.node() {
                        Node::Object { object, writable } => Ok((object, writable)),
                        // A virtual directory has no object to refer to.
                        Node::Virtual => Err(Errno::InvalidArgument),
                    }
                })?;
                staging.put(name, object, mode, writable)?;
            }
            Request::PutFd {
                mode,
                fd,
                name: name_bytes,
            }
            | Request::KeepFd {
                mode,
                fd,
                name: name_bytes,
            } => {
                let keep = matches!(request, Request::KeepFd { .. });
                let name = name(name_bytes)?;
                let (object, writable, is_directory) = open_object(process, fd)?;
                if keep {
                    staging.keep(fd as usize, name, object, is_directory, mode, writable)?;
                } else {
                    staging.put(name, object, mode, writable)?;
                }
            }
            Request::Remove { name: name_bytes } => staging.remove(name(name_bytes)?),
            Request::RemoveAll => staging.remove_all(),
            Request::RootExecutable => {
                let target =
                    with_root(&process.budget, |volume| Ok(volume.rootlink(&executable)?))?;
                staging.change_root(target.ok_or(Errno::NotFound)?);
            }
            Request::RootPath { path: path_bytes } => {
                let path = path(path_bytes)?;
                let object = with_root(&process.budget, |volume| {
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
                staging.change_root(object);
            }
            Request::ChangeDirectoryFd { fd } => {
                let file = process.resources.lock().files.get(i64::from(fd))?;
                let location = match &*file.lock() {
                    OpenFile::Directory { location, .. }
                    | OpenFile::VirtualDirectory { location, .. } => location.clone(),
                    _ => return Err(Errno::NotADirectory),
                };
                staging.change_directory(location);
            }
        }
    }
    let staged = staging.stage(&caller.dots)?;
    // The new names' kernel heap, charged to the caller's tree before
    // anything changes.
    let names: u64 = staged
        .dots
        .leaves()
        .iter()
        .map(|(name, _)| name.len() as u64 + crate::budgets::DOTS_NAME_BYTES)
        .sum();
    let dots_charge = crate::budgets::charge(
        &process.budget,
        kernel_core::budget::Pool::KernelHeap,
        names,
    )?;
    // Everything checked: commit. What the process lets go of is dropped
    // after the lock (releases are queued, never done under it).
    let mut resources = process.resources.lock();
    let place = resources.place_mut()?;
    let (replaced, keeps) = staged.install(&mut place.dots, &mut place.root, &mut place.cwd);
    let old_charge = place
        .dots_charge
        .replace(alloc::sync::Arc::new(dots_charge));
    for keep in &keeps {
        resources.files.relocate(
            keep.fd,
            Location::in_dots(&keep.name, keep.object.clone(), keep.writable),
        );
    }
    let closed = if replaced.root.is_some() {
        let kept: Vec<usize> = keeps.iter().map(|keep| keep.fd).collect();
        resources.files.close_directories_except(&kept)
    } else {
        Vec::new()
    };
    drop(resources);
    drop((replaced, keeps, closed, old_charge));
    Ok(0)
}

/// The object open as `fd`, whether it was reached writable, and whether
/// it is a directory.
///
/// Return values: `BadFd`; `InvalidArgument` for anything but
/// a file or a directory on the volume.
fn open_object(process: &Process, fd: i32) -> Result<(ObjectRef, bool, bool), Errno> {
    let file = process.resources.lock().files.get(i64::from(fd))?;
    let open = match &*file.lock() {
        OpenFile::Regular {
            object, writable, ..
        } => (object.clone(), *writable, false),
        OpenFile::Directory {
            object, location, ..
        } => (object.clone(), location.node().is_writable(), true),
        _ => return Err(Errno::InvalidArgument),
    };
    Ok(open)
}
