// SPDX-License-Identifier: MIT OR Apache-2.0
//! Calls that take paths or directory fds: `openat`, `fstat`, `statat`,
//! `getdents`, `mkdirat`, `unlinkat`, `rmdirat`, `linkat`, `renameat`,
//! `symlinkat`, `readlinkat`, `chdir`, `fchdir`, `getcwd`.
//!
//! Every path is resolved by [`crate::path`] relative to the directory fd
//! or the current directory, with `..` resolved lexically.

use super::UserAccess;
use crate::block_cache::BlockCache;
use crate::files::OpenFile;
use crate::path::{self, errno, Resolved};
use crate::process::Process;
use crate::root_fs::ROOT;
use alloc::sync::Arc;
use alloc::vec::Vec;
use fs_ext2l::{FileSystem, FileType, InodeNumber, Metadata};
use manux_abi::directory_entry::{self, EntryKind};
use manux_abi::Errno;
use manux_abi::{limits, OpenFlags, Stat, CURRENT_DIRECTORY, STAT_NO_FOLLOW};
use spin::Mutex;

/// The absolute path `*at` calls resolve relative to.
fn base_path(process: &Process, directory_fd: u64) -> Result<Vec<u8>, Errno> {
    let resources = process.resources.lock();
    if directory_fd as i64 as i32 == CURRENT_DIRECTORY {
        return Ok(resources.cwd.clone());
    }
    let file = resources.files.get(directory_fd as i64)?;
    let guard = file.lock();
    match &*guard {
        OpenFile::Directory { path, .. } => Ok(path.clone()),
        _ => Err(Errno::NotADirectory),
    }
}

fn with_root<T>(
    body: impl FnOnce(&mut FileSystem<BlockCache>) -> Result<T, Errno>,
) -> Result<T, Errno> {
    let mut root = ROOT.lock();
    body(root.as_mut().ok_or(Errno::NotFound)?)
}

fn stat_of(metadata: &Metadata) -> Stat {
    Stat {
        inode: u64::from(metadata.inode.0),
        mode: u32::from(metadata.mode),
        links: u32::from(metadata.links),
        uid: metadata.uid,
        gid: metadata.gid,
        size: metadata.size,
        blocks: metadata.sectors,
        access_time: i64::from(metadata.access_time),
        modify_time: i64::from(metadata.modification_time),
        change_time: i64::from(metadata.change_time),
        flags: metadata.flags.bits(),
        reserved: 0,
    }
}

fn stat_bytes(stat: &Stat) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(72);
    for word in [stat.inode] {
        bytes.extend_from_slice(&word.to_le_bytes());
    }
    for word in [stat.mode, stat.links, stat.uid, stat.gid] {
        bytes.extend_from_slice(&word.to_le_bytes());
    }
    for word in [stat.size, stat.blocks] {
        bytes.extend_from_slice(&word.to_le_bytes());
    }
    for word in [stat.access_time, stat.modify_time, stat.change_time] {
        bytes.extend_from_slice(&word.to_le_bytes());
    }
    bytes.extend_from_slice(&stat.flags.to_le_bytes());
    bytes.extend_from_slice(&stat.reserved.to_le_bytes());
    bytes
}

/// `openat(directory_fd, path, path_length, flags, mode)`.
pub fn open_at(
    process: &Process,
    directory_fd: u64,
    path: u64,
    length: u64,
    flags: u64,
    mode: u64,
) -> Result<u64, Errno> {
    let path = UserAccess::path(process, path, length)?;
    let base = base_path(process, directory_fd)?;
    let flags = OpenFlags::from_bits(flags as u32).ok_or(Errno::InvalidArgument)?;
    let file = with_root(|file_system| {
        let existing = path::resolve(
            file_system,
            &base,
            &path,
            !flags.contains(OpenFlags::NO_FOLLOW),
        );
        let resolved = match existing {
            Ok(resolved) => {
                if flags.contains(OpenFlags::CREATE | OpenFlags::EXCLUSIVE) {
                    return Err(Errno::Exists);
                }
                resolved
            }
            Err(Errno::NotFound) if flags.contains(OpenFlags::CREATE) => {
                let (directory, name) = path::resolve_parent(file_system, &base, &path)?;
                let inode = file_system
                    .create(directory.inode, &name, (mode & 0o7777) as u16, 0, 0)
                    .map_err(errno)?;
                let mut full = directory.path.clone();
                if full != b"/" {
                    full.push(b'/');
                } else {
                    full.clear();
                    full.push(b'/');
                }
                if full.last() != Some(&b'/') {
                    full.push(b'/');
                }
                full.extend_from_slice(&name);
                Resolved { inode, path: full }
            }
            Err(error) => return Err(error),
        };
        let metadata = file_system.stat(resolved.inode).map_err(errno)?;
        match metadata.file_type {
            FileType::Directory => {
                if flags.writes() || flags.contains(OpenFlags::TRUNCATE) {
                    return Err(Errno::IsADirectory);
                }
                Ok(OpenFile::Directory {
                    inode: resolved.inode,
                    cursor: 0,
                    path: resolved.path,
                })
            }
            _ if flags.contains(OpenFlags::DIRECTORY) => Err(Errno::NotADirectory),
            FileType::Symlink => Err(Errno::Loop),
            _ => {
                if flags.contains(OpenFlags::TRUNCATE) && flags.writes() {
                    file_system.truncate(resolved.inode, 0).map_err(errno)?;
                }
                Ok(OpenFile::Regular {
                    inode: resolved.inode,
                    offset: 0,
                    readable: flags.reads(),
                    writable: flags.writes(),
                    append: flags.contains(OpenFlags::APPEND),
                })
            }
        }
    })?;
    let fd = process
        .resources
        .lock()
        .files
        .insert(Arc::new(Mutex::new(file)))?;
    Ok(fd as u64)
}

/// `fstat(fd, stat)`.
pub fn file_status(process: &Process, fd: u64, stat: u64) -> Result<u64, Errno> {
    let file = process.resources.lock().files.get(fd as i64)?;
    let inode = match &*file.lock() {
        OpenFile::Regular { inode, .. } | OpenFile::Directory { inode, .. } => Some(*inode),
        _ => None,
    };
    let result = match inode {
        Some(inode) => {
            with_root(|file_system| file_system.stat(inode).map_err(errno)).map(|m| stat_of(&m))?
        }
        // Console and pipes: a character device / FIFO with no inode.
        None => Stat {
            mode: 0o020_620,
            links: 1,
            ..Stat::default()
        },
    };
    UserAccess::write(process, stat, &stat_bytes(&result))?;
    Ok(0)
}

/// `statat(directory_fd, path, path_length, stat, flags)`.
pub fn stat_at(
    process: &Process,
    directory_fd: u64,
    path: u64,
    length: u64,
    stat: u64,
    flags: u64,
) -> Result<u64, Errno> {
    let path = UserAccess::path(process, path, length)?;
    let base = base_path(process, directory_fd)?;
    let follow = flags as u32 & STAT_NO_FOLLOW == 0;
    let metadata = with_root(|file_system| {
        let resolved = path::resolve(file_system, &base, &path, follow)?;
        file_system.stat(resolved.inode).map_err(errno)
    })?;
    UserAccess::write(process, stat, &stat_bytes(&stat_of(&metadata)))?;
    Ok(0)
}

fn entry_kind(file_type: FileType) -> EntryKind {
    match file_type {
        FileType::RegularFile => EntryKind::File,
        FileType::Directory => EntryKind::Directory,
        FileType::Symlink => EntryKind::Symlink,
        FileType::Unknown => EntryKind::Unknown,
        _ => EntryKind::Other,
    }
}

/// `getdents(fd, buffer, length)`: as many whole records as fit.
pub fn read_directory(process: &Process, fd: u64, buffer: u64, length: u64) -> Result<u64, Errno> {
    let length = (length as usize).min(limits::IO_BYTES);
    let file = process.resources.lock().files.get(fd as i64)?;
    let mut guard = file.lock();
    let OpenFile::Directory { inode, cursor, .. } = &mut *guard else {
        return Err(Errno::NotADirectory);
    };
    let mut out = Vec::new();
    out.try_reserve_exact(length)
        .map_err(|_| Errno::OutOfMemory)?;
    out.resize(length, 0);
    let mut used = 0;
    let mut next_cursor = *cursor;
    with_root(|file_system| {
        while let Some(entry) = file_system.read_dir(*inode, next_cursor).map_err(errno)? {
            match directory_entry::encode(
                &mut out[used..],
                u64::from(entry.inode.0),
                entry_kind(entry.file_type),
                &entry.name,
            ) {
                Some(size) => {
                    used += size;
                    next_cursor = entry.next_cursor;
                }
                None if used == 0 => return Err(Errno::InvalidArgument),
                None => break,
            }
        }
        Ok(())
    })?;
    out.truncate(used);
    UserAccess::write(process, buffer, &out)?;
    *cursor = next_cursor;
    Ok(used as u64)
}

/// `mkdirat(directory_fd, path, path_length, mode)`.
pub fn make_directory(
    process: &Process,
    directory_fd: u64,
    path: u64,
    length: u64,
    mode: u64,
) -> Result<u64, Errno> {
    let path = UserAccess::path(process, path, length)?;
    let base = base_path(process, directory_fd)?;
    with_root(|file_system| {
        let (directory, name) = path::resolve_parent(file_system, &base, &path)?;
        file_system
            .mkdir(directory.inode, &name, (mode & 0o7777) as u16, 0, 0)
            .map_err(errno)?;
        Ok(0)
    })
}

/// `unlinkat` / `rmdirat(directory_fd, path, path_length)`.
pub fn unlink(
    process: &Process,
    directory_fd: u64,
    path: u64,
    length: u64,
    directory: bool,
) -> Result<u64, Errno> {
    let path = UserAccess::path(process, path, length)?;
    let base = base_path(process, directory_fd)?;
    with_root(|file_system| {
        let (parent, name) = path::resolve_parent(file_system, &base, &path)?;
        if directory {
            file_system.rmdir(parent.inode, &name).map_err(errno)?;
        } else {
            file_system.unlink(parent.inode, &name).map_err(errno)?;
        }
        Ok(0)
    })
}

fn two_paths(
    process: &Process,
    a: [u64; 6],
) -> Result<(Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>), Errno> {
    let old = UserAccess::path(process, a[1], a[2])?;
    let old_base = base_path(process, a[0])?;
    let new = UserAccess::path(process, a[4], a[5])?;
    let new_base = base_path(process, a[3])?;
    Ok((old_base, old, new_base, new))
}

/// `linkat(old_fd, old_path, old_length, new_fd, new_path, new_length)`.
/// Directories cannot be linked by programs (DESIGN §4).
pub fn link(process: &Process, a: [u64; 6]) -> Result<u64, Errno> {
    let (old_base, old, new_base, new) = two_paths(process, a)?;
    with_root(|file_system| {
        let existing = path::resolve(file_system, &old_base, &old, false)?;
        if file_system.stat(existing.inode).map_err(errno)?.file_type == FileType::Directory {
            return Err(Errno::NotPermitted);
        }
        let (directory, name) = path::resolve_parent(file_system, &new_base, &new)?;
        file_system
            .link(existing.inode, directory.inode, &name)
            .map_err(errno)?;
        Ok(0)
    })
}

/// `renameat(old_fd, old_path, old_length, new_fd, new_path, new_length)`.
pub fn rename(process: &Process, a: [u64; 6]) -> Result<u64, Errno> {
    let (old_base, old, new_base, new) = two_paths(process, a)?;
    with_root(|file_system| {
        let (old_directory, old_name) = path::resolve_parent(file_system, &old_base, &old)?;
        let (new_directory, new_name) = path::resolve_parent(file_system, &new_base, &new)?;
        file_system
            .rename(
                old_directory.inode,
                &old_name,
                new_directory.inode,
                &new_name,
            )
            .map_err(errno)?;
        Ok(0)
    })
}

/// `symlinkat(target, target_length, directory_fd, path, path_length)`.
pub fn symlink(process: &Process, a: [u64; 6]) -> Result<u64, Errno> {
    let target = UserAccess::path(process, a[0], a[1])?;
    let path = UserAccess::path(process, a[3], a[4])?;
    let base = base_path(process, a[2])?;
    with_root(|file_system| {
        let (directory, name) = path::resolve_parent(file_system, &base, &path)?;
        file_system
            .symlink(directory.inode, &name, &target, 0, 0)
            .map_err(errno)?;
        Ok(0)
    })
}

/// `readlinkat(directory_fd, path, path_length, buffer, length)`.
pub fn read_link(process: &Process, a: [u64; 6]) -> Result<u64, Errno> {
    let path = UserAccess::path(process, a[1], a[2])?;
    let base = base_path(process, a[0])?;
    let target = with_root(|file_system| {
        let link = path::resolve(file_system, &base, &path, false)?;
        file_system.readlink(link.inode).map_err(errno)
    })?;
    let count = target.len().min(a[4] as usize);
    UserAccess::write(process, a[3], &target[..count])?;
    Ok(count as u64)
}

fn set_cwd(
    process: &Process,
    resolved: Resolved,
    file_system: &mut FileSystem<BlockCache>,
) -> Result<u64, Errno> {
    if file_system.stat(resolved.inode).map_err(errno)?.file_type != FileType::Directory {
        return Err(Errno::NotADirectory);
    }
    process.resources.lock().cwd = resolved.path;
    Ok(0)
}

/// `chdir(path, path_length)`.
pub fn change_directory(process: &Process, path: u64, length: u64) -> Result<u64, Errno> {
    let path = UserAccess::path(process, path, length)?;
    let base = process.resources.lock().cwd.clone();
    with_root(|file_system| {
        let resolved = path::resolve(file_system, &base, &path, true)?;
        set_cwd(process, resolved, file_system)
    })
}

/// `fchdir(fd)`.
pub fn change_directory_fd(process: &Process, fd: u64) -> Result<u64, Errno> {
    let file = process.resources.lock().files.get(fd as i64)?;
    let (inode, path): (InodeNumber, Vec<u8>) = match &*file.lock() {
        OpenFile::Directory { inode, path, .. } => (*inode, path.clone()),
        _ => return Err(Errno::NotADirectory),
    };
    with_root(|file_system| set_cwd(process, Resolved { inode, path }, file_system))
}

/// `getcwd(buffer, length)`.
pub fn current_directory(process: &Process, buffer: u64, length: u64) -> Result<u64, Errno> {
    let cwd = process.resources.lock().cwd.clone();
    if cwd.len() > length as usize {
        return Err(Errno::OutOfRange);
    }
    UserAccess::write(process, buffer, &cwd)?;
    Ok(cwd.len() as u64)
}
