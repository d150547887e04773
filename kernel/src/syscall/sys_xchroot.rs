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

use super::sys_fs::{with_root, Caller};
use super::UserAccess;
use crate::files::OpenFile;
use crate::path::{dots_errno, errno, DotHandle, Location, Node};
use crate::process::Process;
use alloc::vec::Vec;
use dotdotdot::{AccessMode, Operation};
use fs_ext2l::{FileType, InodeNumber};
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
    let executable = process.resources.lock().executable;
    let mut batch: Vec<Operation<DotHandle>> = Vec::new();
    let mut keeps: Vec<(usize, Vec<u8>)> = Vec::new();
    let mut new_root: Option<InodeNumber> = None;
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
            _ => return Err(Errno::InvalidArgument),
        };
        match kind {
            XchrootKind::PutPath => {
                let mode = access_mode(request.mode)?;
                let path = UserAccess::path(process, request.path.0, request.path.1)?;
                let name = name()?;
                let (inode, writable) = with_root(|file_system| {
                    match caller.resolve(file_system, &path, true)?.node {
                        Node::Inode { inode, writable } => Ok((inode, writable)),
                        // A virtual directory has no inode to refer to.
                        Node::Virtual => Err(Errno::InvalidArgument),
                    }
                })?;
                check_mode(mode, writable)?;
                batch.push(Operation::Put {
                    name,
                    handle: DotHandle { inode },
                    mode,
                });
            }
            XchrootKind::PutFd | XchrootKind::KeepFd => {
                let mode = access_mode(request.mode)?;
                let name = name()?;
                let file = process.resources.lock().files.get(i64::from(request.fd))?;
                let (inode, writable, is_directory) = match &*file.lock() {
                    OpenFile::Regular {
                        inode, writable, ..
                    } => (*inode, *writable, false),
                    OpenFile::Directory {
                        inode, location, ..
                    } => {
                        let location = location.clone();
                        let inode = *inode;
                        let reached = with_root(|file_system| {
                            let view = caller.view();
                            crate::path::resolve(file_system, &view, &location, b".", true)
                        })?;
                        let writable = matches!(reached.node, Node::Inode { inode: i, writable: true } if i == inode);
                        (inode, writable, true)
                    }
                    _ => return Err(Errno::InvalidArgument),
                };
                if kind == XchrootKind::KeepFd {
                    if !is_directory {
                        return Err(Errno::NotADirectory);
                    }
                    keeps.push((request.fd as usize, name.clone()));
                }
                check_mode(mode, writable)?;
                batch.push(Operation::Put {
                    name,
                    handle: DotHandle { inode },
                    mode,
                });
            }
            XchrootKind::Remove => batch.push(Operation::Remove { name: name()? }),
            XchrootKind::RemoveAll => batch.push(Operation::RemoveAll),
            XchrootKind::RootExecutable => {
                let target =
                    with_root(|file_system| file_system.rootlink(executable).map_err(errno))?;
                new_root = Some(target.ok_or(Errno::NotFound)?);
            }
            XchrootKind::RootPath => {
                let path = UserAccess::path(process, request.path.0, request.path.1)?;
                let inode = with_root(|file_system| {
                    let inode = caller
                        .resolve(file_system, &path, true)?
                        .inode_or(Errno::NotADirectory)?;
                    if file_system.stat(inode).map_err(errno)?.file_type != FileType::Directory {
                        return Err(Errno::NotADirectory);
                    }
                    Ok(inode)
                })?;
                new_root = Some(inode);
            }
        }
    }
    let staged = caller
        .dots
        .applied(&batch)
        .map_err(|error| dots_errno(error.error))?;
    // Everything checked: commit.
    let mut resources = process.resources.lock();
    resources.dots = staged;
    for (fd, name) in &keeps {
        resources.files.relocate(*fd, Location::in_dots(name));
    }
    if let Some(root) = new_root {
        resources.root = root;
        resources.cwd = Location::root();
        let kept: Vec<usize> = keeps.iter().map(|(fd, _)| *fd).collect();
        resources.files.close_directories_except(&kept);
    }
    Ok(0)
}
