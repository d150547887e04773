// SPDX-License-Identifier: MIT OR Apache-2.0
//! Calls that take paths or directory fds: `openat`, `fstat`, `statat`,
//! `getdents`, `mkdirat`, `unlinkat`, `rmdirat`, `linkat`, `renameat`,
//! `symlinkat`, `readlinkat`, `chdir`, `fchdir`, `getcwd`.
//!
//! Every path is resolved by `kernel_core::resolve` in the caller's view
//! (root and `/...`), relative to the directory fd or the current
//! directory — from the objects that location holds, not from its names,
//! so a directory renamed by another program still means itself. Anything
//! that changes the file system needs the containing directory to be
//! writable through the way it was reached: below a read-only `/...`
//! entry, or in a virtual `/...` directory, it is `EACCES`.
//!
//! Each call is two layers: the native entry point copies its arguments
//! in (paths as pointer and length) and calls a `*_path` function that
//! works on kernel bytes. The Linux personality
//! ([`super::linux`]) copies NUL-terminated paths in and calls the same
//! `*_path` functions, so both personalities share one implementation
//! and one set of checks.

use super::UserAccess;
use crate::device_files::Device;
use crate::disk::Disk;
use crate::files::OpenFile;
use crate::process::Process;
use crate::root_fs::ROOT;
use alloc::sync::Arc;
use alloc::vec::Vec;
use fs_ext2l::{FileType, Metadata, SetAttributes};
use kernel_core::budget::Budget;
use kernel_core::{DotView, Location, Node, ObjectRef, Resolved, View, Volume};
use manux_abi::directory_entry::{self, EntryKind};
use manux_abi::Errno;
use manux_abi::{limits, OpenFlags, Stat, CURRENT_DIRECTORY, STAT_NO_FOLLOW};
use spin::Mutex;

/// The mounted root volume the calls work on.
pub type RootVolume = Volume<Disk>;

/// What a call needs of its caller's view, copied out of the lock (the
/// copies hold their objects).
pub struct Caller {
    /// Root directory.
    pub root: ObjectRef,
    /// Where relative paths start.
    pub base: Location,
    /// `/...` (a cheap shared copy).
    pub dots: DotView,
    /// Who pays for the live objects the call makes: the caller's tree.
    pub payer: Arc<Budget>,
}

impl Caller {
    /// The caller's view with `base` = the directory fd, or the current
    /// directory for `CURRENT_DIRECTORY`.
    ///
    /// Return values: `BadFd`; `NotADirectory` for a non-directory fd.
    pub fn of(process: &Process, directory_fd: u64) -> Result<Caller, Errno> {
        let resources = process.resources.lock();
        let place = resources.place()?;
        let base = if directory_fd as i64 as i32 == CURRENT_DIRECTORY {
            place.cwd.clone()
        } else {
            let file = resources.files.get(directory_fd as i64)?;
            let guard = file.lock();
            match &*guard {
                OpenFile::Directory { location, .. }
                | OpenFile::VirtualDirectory { location, .. } => location.clone(),
                _ => return Err(Errno::NotADirectory),
            }
        };
        Ok(Caller {
            root: place.root.clone(),
            base,
            dots: place.dots.clone(),
            payer: process.budget.clone(),
        })
    }

    /// The view to resolve in.
    pub fn view(&self) -> View<'_> {
        View {
            root: &self.root,
            dots: &self.dots,
        }
    }

    /// Resolves `path`.
    ///
    /// Return values: path errors.
    pub fn resolve(
        &self,
        volume: &mut RootVolume,
        path: &[u8],
        follow: bool,
    ) -> Result<Resolved, Errno> {
        Ok(kernel_core::resolve(
            volume,
            self.view(),
            &self.base,
            path,
            follow,
        )?)
    }

    /// Resolves the directory containing `path`'s last name, which must be
    /// writable through the way it is reached; returns it, the directory
    /// and the name.
    ///
    /// Return values: path errors; `AccessDenied` when the directory is
    /// read-only through this path.
    pub fn writable_parent(
        &self,
        volume: &mut RootVolume,
        path: &[u8],
    ) -> Result<(Resolved, ObjectRef, Vec<u8>), Errno> {
        let (parent, name) = kernel_core::resolve_parent(volume, self.view(), &self.base, path)?;
        let directory = parent.writable_object()?;
        Ok((parent, directory, name))
    }
}

/// Runs `body` with the root volume, `payer` paying for the live objects
/// it makes (the calling process's tree: `kernel_core::live_objects`).
///
/// Return values: `NotFound` without a root; `body`'s (`ENOMEM` when the
/// payer may hold no more live objects).
pub fn with_root<T>(
    payer: &Arc<Budget>,
    body: impl FnOnce(&mut RootVolume) -> Result<T, Errno>,
) -> Result<T, Errno> {
    let mut root = ROOT.lock();
    let volume = root.as_mut().ok_or(Errno::NotFound)?;
    let result = body(&mut volume.paid_by(payer));
    crate::root_fs::report_damage(volume);
    result
}

/// The native `Stat` of a file's metadata.
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

/// The `stat` of a virtual `/...` directory: read-only, no inode.
fn virtual_stat() -> Stat {
    Stat {
        mode: 0o040_555,
        links: 2,
        ..Stat::default()
    }
}

/// `Stat` as the bytes `manux-abi` lays out (72 bytes, little-endian).
fn stat_bytes(stat: &Stat) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(72);
    bytes.extend_from_slice(&stat.inode.to_le_bytes());
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
    let flags = OpenFlags::from_bits(flags as u32).ok_or(Errno::InvalidArgument)?;
    let file = open_path(process, directory_fd, &path, flags, mode)?;
    let fd = process
        .resources
        .lock()
        .files
        .insert(Arc::new(Mutex::new(file)))?;
    Ok(fd as u64)
}

/// Opens `path` (relative to `directory_fd`) with native `flags`; the
/// caller puts the open file in the table.
///
/// Return values: path errors; `Exists` (`CREATE | EXCLUSIVE`);
/// `AccessDenied` when a change is asked through a read-only way;
/// `NotPermitted` for an immutable file; `IsADirectory` when a directory
/// is opened to write or created; `NotADirectory` (`DIRECTORY`); `Loop`
/// for a final symbolic link with `NO_FOLLOW`.
pub(super) fn open_path(
    process: &Process,
    directory_fd: u64,
    path: &[u8],
    flags: OpenFlags,
    mode: u64,
) -> Result<OpenFile, Errno> {
    let caller = Caller::of(process, directory_fd)?;
    let changes = flags.writes() || flags.contains(OpenFlags::TRUNCATE);
    with_root(&process.budget, |volume| {
        let follow = !flags.contains(OpenFlags::NO_FOLLOW);
        let resolved = match caller.resolve(volume, path, follow) {
            Ok(_) if flags.contains(OpenFlags::CREATE | OpenFlags::EXCLUSIVE) => {
                return Err(Errno::Exists)
            }
            Ok(resolved) => resolved,
            Err(Errno::NotFound) if flags.contains(OpenFlags::CREATE) => {
                let (parent, directory, name) = caller.writable_parent(volume, path)?;
                let object = volume.create(&directory, &name, (mode & 0o7777) as u16)?;
                let mut location = parent.location;
                location.push_object(name, object, true);
                Resolved {
                    location,
                    through_dots: parent.through_dots,
                }
            }
            Err(error) => return Err(error),
        };
        let (object, writable) = match resolved.node() {
            Node::Virtual => {
                if changes {
                    return Err(Errno::AccessDenied);
                }
                return Ok(OpenFile::VirtualDirectory {
                    location: resolved.location,
                    cursor: 0,
                });
            }
            Node::Object { object, writable } => (object, writable),
        };
        let metadata = volume.stat(&object)?;
        // A device's data is not the inode's: reading or writing it
        // changes nothing on the volume.
        match metadata.file_type {
            FileType::CharacterDevice => {
                return Ok(OpenFile::Device {
                    device: Device::of_number(metadata.device)?,
                    object,
                    readable: flags.reads(),
                    writable: flags.writes(),
                })
            }
            FileType::BlockDevice => return Err(Errno::NoSuchDeviceOrAddress),
            _ => {}
        }
        if changes && !writable {
            return Err(Errno::AccessDenied);
        }
        if changes && metadata.flags.contains(fs_ext2l::InodeFlags::IMMUTABLE) {
            return Err(Errno::NotPermitted);
        }
        match metadata.file_type {
            FileType::Directory => {
                if changes || flags.contains(OpenFlags::CREATE) {
                    return Err(Errno::IsADirectory);
                }
                Ok(OpenFile::Directory {
                    object,
                    cursor: 0,
                    location: resolved.location,
                })
            }
            _ if flags.contains(OpenFlags::DIRECTORY) => Err(Errno::NotADirectory),
            FileType::Symlink => Err(Errno::Loop),
            _ => {
                if flags.contains(OpenFlags::TRUNCATE) && flags.writes() {
                    volume.truncate(&object, 0)?;
                }
                Ok(OpenFile::Regular {
                    object,
                    offset: 0,
                    readable: flags.reads(),
                    writable: flags.writes(),
                    append: flags.contains(OpenFlags::APPEND),
                })
            }
        }
    })
}

/// `fstat(fd, stat)`.
pub fn file_status(process: &Process, fd: u64, stat: u64) -> Result<u64, Errno> {
    let file = process.resources.lock().files.get(fd as i64)?;
    let object = match &*file.lock() {
        OpenFile::Regular { object, .. }
        | OpenFile::Directory { object, .. }
        | OpenFile::Device { object, .. } => Some(object.clone()),
        OpenFile::VirtualDirectory { .. } => {
            return UserAccess::write(process, stat, &stat_bytes(&virtual_stat())).map(|_| 0);
        }
        _ => None,
    };
    let result = match object {
        Some(object) => with_root(&process.budget, |volume| {
            Ok(stat_of(&volume.stat(&object)?))
        })?,
        // Console and pipes: a character device with no inode.
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
    let follow = flags as u32 & STAT_NO_FOLLOW == 0;
    let result = match metadata_path(process, directory_fd, &path, follow)? {
        Some(metadata) => stat_of(&metadata),
        None => virtual_stat(),
    };
    UserAccess::write(process, stat, &stat_bytes(&result))?;
    Ok(0)
}

/// The metadata of what `path` (relative to `directory_fd`) names;
/// `None` for a virtual `/...` directory.
///
/// Return values: path errors.
pub(super) fn metadata_path(
    process: &Process,
    directory_fd: u64,
    path: &[u8],
    follow: bool,
) -> Result<Option<Metadata>, Errno> {
    let caller = Caller::of(process, directory_fd)?;
    with_root(&process.budget, |volume| {
        let resolved = caller.resolve(volume, path, follow)?;
        match resolved.node() {
            Node::Virtual => Ok(None),
            Node::Object { object, .. } => Ok(Some(volume.stat(&object)?)),
        }
    })
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

/// `getdents(fd, buffer, length)`: as many whole records as fit. A
/// directory removed while open lists nothing.
pub fn read_directory(process: &Process, fd: u64, buffer: u64, length: u64) -> Result<u64, Errno> {
    let length = (length as usize).min(limits::IO_BYTES);
    UserAccess::check_writable(process, buffer, length)?;
    let out = list_directory(process, fd, length, |out, inode, file_type, name, _| {
        directory_entry::encode(out, inode, entry_kind(file_type), name)
    })?;
    UserAccess::write(process, buffer, &out)?;
    Ok(out.len() as u64)
}

/// Lists the directory open at `fd` from its cursor into a buffer of at
/// most `length` bytes, each entry written by `encode(rest of the
/// buffer, inode, type, name, cursor after it)`, which returns the
/// record's size or `None` when it does not fit; the cursor moves past
/// the entries written. Returns the filled part of the buffer.
///
/// Return values: `BadFd`; `NotADirectory`; `InvalidArgument` when not
/// even one record fits; file-system errors.
pub(super) fn list_directory(
    process: &Process,
    fd: u64,
    length: usize,
    mut encode: impl FnMut(&mut [u8], u64, FileType, &[u8], u64) -> Option<usize>,
) -> Result<Vec<u8>, Errno> {
    let (file, dots) = {
        let resources = process.resources.lock();
        (
            resources.files.get(fd as i64)?,
            resources.place()?.dots.clone(),
        )
    };
    let mut out = Vec::new();
    out.try_reserve_exact(length)
        .map_err(|_| Errno::OutOfMemory)?;
    out.resize(length, 0);
    let mut used = 0;
    let mut guard = file.lock();
    match &mut *guard {
        OpenFile::Directory { object, cursor, .. } => {
            let mut next_cursor = *cursor;
            with_root(&process.budget, |volume| {
                while let Some(entry) = volume.read_dir(object, next_cursor)? {
                    match encode(
                        &mut out[used..],
                        u64::from(entry.inode.0),
                        entry.file_type,
                        &entry.name,
                        entry.next_cursor,
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
            *cursor = next_cursor;
        }
        OpenFile::VirtualDirectory { location, cursor } => {
            let names: Vec<&[u8]> = location.steps().iter().map(|s| s.name.as_slice()).collect();
            let directory = match dots.resolve(&names) {
                Ok(dotdotdot::Resolved::Virtual(directory)) => directory,
                // The entry was removed by an `xchroot` since: empty.
                _ => return Ok(Vec::new()),
            };
            for (name, entry) in directory.entries().skip(*cursor as usize) {
                let (inode, file_type) = match entry {
                    dotdotdot::Entry::Directory(_) => (0, FileType::Directory),
                    dotdotdot::Entry::Leaf(leaf) => (
                        u64::from(leaf.handle().inode().get()),
                        leaf.handle().file_type(),
                    ),
                };
                match encode(&mut out[used..], inode, file_type, name, *cursor + 1) {
                    Some(size) => {
                        used += size;
                        *cursor += 1;
                    }
                    None if used == 0 => return Err(Errno::InvalidArgument),
                    None => break,
                }
            }
        }
        _ => return Err(Errno::NotADirectory),
    }
    drop(guard);
    out.truncate(used);
    Ok(out)
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
    make_directory_path(process, directory_fd, &path, mode)
}

/// Makes directory `path` with permission bits `mode`.
///
/// Return values: path errors; `AccessDenied` through a read-only way;
/// `Exists`; file-system errors.
pub(super) fn make_directory_path(
    process: &Process,
    directory_fd: u64,
    path: &[u8],
    mode: u64,
) -> Result<u64, Errno> {
    let caller = Caller::of(process, directory_fd)?;
    with_root(&process.budget, |volume| {
        let (_, directory, name) = caller.writable_parent(volume, path)?;
        volume.mkdir(&directory, &name, (mode & 0o7777) as u16)?;
        Ok(0)
    })
}

/// `unlinkat` / `rmdirat(directory_fd, path, path_length)`. An object
/// still open (or held any other way) loses the name only; it is freed
/// when its last holder lets go.
pub fn unlink(
    process: &Process,
    directory_fd: u64,
    path: u64,
    length: u64,
    directory: bool,
) -> Result<u64, Errno> {
    let path = UserAccess::path(process, path, length)?;
    unlink_path(process, directory_fd, &path, directory)
}

/// Removes the name `path` (a directory's with `directory`).
///
/// Return values: path errors; `AccessDenied` through a read-only way;
/// `IsADirectory`, `NotADirectory`, `NotEmpty`; file-system errors.
pub(super) fn unlink_path(
    process: &Process,
    directory_fd: u64,
    path: &[u8],
    directory: bool,
) -> Result<u64, Errno> {
    let caller = Caller::of(process, directory_fd)?;
    with_root(&process.budget, |volume| {
        let (_, parent, name) = caller.writable_parent(volume, path)?;
        if directory {
            volume.rmdir(&parent, &name)?;
        } else {
            volume.unlink(&parent, &name)?;
        }
        Ok(0)
    })
}

/// The two (directory fd, path) pairs of `linkat` and `renameat`.
fn two_paths(process: &Process, a: [u64; 6]) -> Result<(Caller, Vec<u8>, Caller, Vec<u8>), Errno> {
    let old = UserAccess::path(process, a[1], a[2])?;
    let old_caller = Caller::of(process, a[0])?;
    let new = UserAccess::path(process, a[4], a[5])?;
    let new_caller = Caller::of(process, a[3])?;
    Ok((old_caller, old, new_caller, new))
}

/// `linkat(old_fd, old_path, old_length, new_fd, new_path, new_length)`.
/// Directories cannot be linked by programs (DESIGN §4), and a file
/// reached read-only cannot gain a writable name.
pub fn link(process: &Process, a: [u64; 6]) -> Result<u64, Errno> {
    let (old_caller, old, new_caller, new) = two_paths(process, a)?;
    link_paths(process, (old_caller, &old), (new_caller, &new), false)
}

/// Gives the file at `old` the new name `new` (each with its caller's
/// base); a final symbolic link of `old` is followed with `follow`.
///
/// Return values: path errors; `AccessDenied` through a read-only way;
/// `NotPermitted` for a directory; `Exists`; file-system errors.
pub(super) fn link_paths(
    process: &Process,
    (old_caller, old): (Caller, &[u8]),
    (new_caller, new): (Caller, &[u8]),
    follow: bool,
) -> Result<u64, Errno> {
    with_root(&process.budget, |volume| {
        let existing = old_caller.resolve(volume, old, follow)?;
        let object = existing.writable_object()?;
        if object.is_directory() {
            return Err(Errno::NotPermitted);
        }
        let (_, directory, name) = new_caller.writable_parent(volume, new)?;
        volume.link(&object, &directory, &name)?;
        Ok(0)
    })
}

/// `renameat(old_fd, old_path, old_length, new_fd, new_path, new_length)`.
/// A file renamed over another that is open leaves that other one an
/// orphan for its holders.
pub fn rename(process: &Process, a: [u64; 6]) -> Result<u64, Errno> {
    let (old_caller, old, new_caller, new) = two_paths(process, a)?;
    rename_paths(process, (old_caller, &old), (new_caller, &new))
}

/// Renames `old` to `new` (each with its caller's base).
///
/// Return values: path errors; `AccessDenied` through a read-only way;
/// file-system errors (`NotEmpty`, `IsADirectory`, `NotADirectory`,
/// `InvalidArgument` for a cycle).
pub(super) fn rename_paths(
    process: &Process,
    (old_caller, old): (Caller, &[u8]),
    (new_caller, new): (Caller, &[u8]),
) -> Result<u64, Errno> {
    with_root(&process.budget, |volume| {
        let (_, old_directory, old_name) = old_caller.writable_parent(volume, old)?;
        let (_, new_directory, new_name) = new_caller.writable_parent(volume, new)?;
        volume.rename(&old_directory, &old_name, &new_directory, &new_name)?;
        Ok(0)
    })
}

/// `symlinkat(target, target_length, directory_fd, path, path_length)`.
pub fn symlink(process: &Process, a: [u64; 6]) -> Result<u64, Errno> {
    let target = UserAccess::path(process, a[0], a[1])?;
    let path = UserAccess::path(process, a[3], a[4])?;
    symlink_path(process, &target, a[2], &path)
}

/// Makes `path` a symbolic link to `target`.
///
/// Return values: path errors; `AccessDenied` through a read-only way;
/// `Exists`; file-system errors.
pub(super) fn symlink_path(
    process: &Process,
    target: &[u8],
    directory_fd: u64,
    path: &[u8],
) -> Result<u64, Errno> {
    let caller = Caller::of(process, directory_fd)?;
    with_root(&process.budget, |volume| {
        let (_, directory, name) = caller.writable_parent(volume, path)?;
        volume.symlink(&directory, &name, target)?;
        Ok(0)
    })
}

/// `readlinkat(directory_fd, path, path_length, buffer, length)`.
pub fn read_link(process: &Process, a: [u64; 6]) -> Result<u64, Errno> {
    let path = UserAccess::path(process, a[1], a[2])?;
    let target = read_link_path(process, a[0], &path)?;
    let count = target.len().min(a[4] as usize);
    UserAccess::write(process, a[3], &target[..count])?;
    Ok(count as u64)
}

/// The target of the symbolic link `path`.
///
/// Return values: path errors; `InvalidArgument` when it is not a
/// symbolic link.
pub(super) fn read_link_path(
    process: &Process,
    directory_fd: u64,
    path: &[u8],
) -> Result<Vec<u8>, Errno> {
    let caller = Caller::of(process, directory_fd)?;
    with_root(&process.budget, |volume| {
        let link = caller.resolve(volume, path, false)?;
        let object = link.location.object().ok_or(Errno::InvalidArgument)?;
        Ok(volume.readlink(&object)?)
    })
}

/// Makes `location` (a directory, or a virtual `/...` directory) the
/// current directory.
fn set_cwd(process: &Process, location: Location) -> Result<u64, Errno> {
    if let Some(object) = location.object() {
        if !object.is_directory() {
            return Err(Errno::NotADirectory);
        }
    }
    // The old one is dropped after the lock: its objects queue releases.
    let old = core::mem::replace(&mut process.resources.lock().place_mut()?.cwd, location);
    drop(old);
    Ok(0)
}

/// `chdir(path, path_length)`.
pub fn change_directory(process: &Process, path: u64, length: u64) -> Result<u64, Errno> {
    let path = UserAccess::path(process, path, length)?;
    change_directory_path(process, &path)
}

/// Makes `path` the current directory.
///
/// Return values: path errors; `NotADirectory`.
pub(super) fn change_directory_path(process: &Process, path: &[u8]) -> Result<u64, Errno> {
    let caller = Caller::of(process, CURRENT_DIRECTORY as i64 as u64)?;
    let resolved = with_root(&process.budget, |volume| caller.resolve(volume, path, true))?;
    set_cwd(process, resolved.location)
}

/// `fchdir(fd)`.
pub fn change_directory_fd(process: &Process, fd: u64) -> Result<u64, Errno> {
    let file = process.resources.lock().files.get(fd as i64)?;
    let location = match &*file.lock() {
        OpenFile::Directory { location, .. } | OpenFile::VirtualDirectory { location, .. } => {
            location.clone()
        }
        _ => return Err(Errno::NotADirectory),
    };
    set_cwd(process, location)
}

/// `getcwd(buffer, length)`: the names the current directory was reached
/// by (lexical: after another program renames it, still the old names).
pub fn current_directory(process: &Process, buffer: u64, length: u64) -> Result<u64, Errno> {
    let cwd = current_directory_path(process)?;
    if cwd.len() > length as usize {
        return Err(Errno::OutOfRange);
    }
    UserAccess::write(process, buffer, &cwd)?;
    Ok(cwd.len() as u64)
}

/// The names the current directory was reached by.
///
/// Return values: `NoSuchProcess` once the process has ended.
pub(super) fn current_directory_path(process: &Process) -> Result<Vec<u8>, Errno> {
    Ok(process.resources.lock().place()?.cwd.display())
}

/// Applies attribute `changes` to the file at `path` (through a writable
/// path only).
fn set_attributes(
    process: &Process,
    directory_fd: u64,
    path: u64,
    length: u64,
    changes: SetAttributes,
) -> Result<u64, Errno> {
    let path = UserAccess::path(process, path, length)?;
    set_attributes_path(process, directory_fd, &path, true, changes)
}

/// Applies attribute `changes` to the file at `path` (a final symbolic
/// link followed with `follow`), through a writable way only.
///
/// Return values: path errors; `AccessDenied` through a read-only way;
/// `NotPermitted` for an immutable file.
pub(super) fn set_attributes_path(
    process: &Process,
    directory_fd: u64,
    path: &[u8],
    follow: bool,
    changes: SetAttributes,
) -> Result<u64, Errno> {
    let caller = Caller::of(process, directory_fd)?;
    with_root(&process.budget, |volume| {
        let object = caller.resolve(volume, path, follow)?.writable_object()?;
        volume.set_attributes(&object, changes)?;
        Ok(0)
    })
}

/// The file or directory open at `fd`, and whether it may be changed
/// through it: a regular file opened for writing, or a directory reached
/// through a writable way.
///
/// Return values: `BadFd`; `AccessDenied` for a virtual `/...`
/// directory; `InvalidArgument` for a pipe or the console.
pub(super) fn object_of_fd(process: &Process, fd: u64) -> Result<(ObjectRef, bool), Errno> {
    let file = process.resources.lock().files.get(fd as i64)?;
    let guard = file.lock();
    match &*guard {
        OpenFile::Regular {
            object, writable, ..
        } => Ok((object.clone(), *writable)),
        OpenFile::Directory {
            object, location, ..
        } => Ok((object.clone(), location.node().is_writable())),
        OpenFile::VirtualDirectory { .. } => Err(Errno::AccessDenied),
        _ => Err(Errno::InvalidArgument),
    }
}

/// Applies attribute `changes` to the file or directory open at `fd`
/// (see [`object_of_fd`] for when it may be changed).
///
/// Return values: those of [`object_of_fd`]; `AccessDenied` when it may
/// not be changed through `fd`; `NotPermitted` for an immutable file.
pub(super) fn set_attributes_fd(
    process: &Process,
    fd: u64,
    changes: SetAttributes,
) -> Result<u64, Errno> {
    let (object, writable) = object_of_fd(process, fd)?;
    if !writable {
        return Err(Errno::AccessDenied);
    }
    with_root(&process.budget, |volume| {
        volume.set_attributes(&object, changes)?;
        Ok(0)
    })
}

/// Sets the size of the regular file `object` (shrinking frees its end,
/// growing leaves a hole).
///
/// Return values: `IsADirectory`; `InvalidArgument` for anything else
/// that is not a regular file; `NotPermitted` (immutable); `FileTooLarge`.
pub(super) fn truncate_object(
    process: &Process,
    object: &ObjectRef,
    size: u64,
) -> Result<u64, Errno> {
    with_root(&process.budget, |volume| {
        match volume.stat(object)?.file_type {
            FileType::RegularFile => {}
            FileType::Directory => return Err(Errno::IsADirectory),
            _ => return Err(Errno::InvalidArgument),
        }
        volume.truncate(object, size)?;
        Ok(0)
    })
}

/// `utimensat(directory_fd, path, path_length, access, modify)`.
pub fn set_times(process: &Process, a: [u64; 6]) -> Result<u64, Errno> {
    let now = crate::wall_clock::timestamp();
    let time = |value: u64| {
        if value == manux_abi::TIME_NOW {
            now
        } else {
            value.min(u64::from(u32::MAX)) as u32
        }
    };
    let changes = SetAttributes {
        access_time: Some(time(a[3])),
        modification_time: Some(time(a[4])),
        ..SetAttributes::default()
    };
    set_attributes(process, a[0], a[1], a[2], changes)
}

/// `chmodat(directory_fd, path, path_length, mode)`.
pub fn change_mode(process: &Process, a: [u64; 6]) -> Result<u64, Errno> {
    let changes = SetAttributes {
        mode: Some((a[3] & 0o7777) as u16),
        ..SetAttributes::default()
    };
    set_attributes(process, a[0], a[1], a[2], changes)
}
