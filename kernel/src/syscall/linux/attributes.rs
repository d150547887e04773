// SPDX-License-Identifier: MIT OR Apache-2.0
//! Linux's calls on a file's attributes and on what may be done with it:
//! `faccessat`, `faccessat2` (and x86_64's `access`), `fchmod`,
//! `fchmodat` (and `chmod`), `fchown`, `fchownat`, `utimensat` and
//! `umask`.
//!
//! # What `access` answers
//! Permission bits and user ids are not the boundary on Manux; domains
//! are (DESIGN §5–§6). So `access` answers from what the caller's domain
//! can do with the file, judged as the calls themselves judge it:
//! - `F_OK` and `R_OK`: the name resolves (everything a domain reaches it
//!   may read);
//! - `W_OK`: the file is reached through a writable way (`EACCES` below
//!   a read-only `/...` entry or for a virtual `/...` directory, as the
//!   native layer answers a write there) and is not immutable (`EPERM`,
//!   as Linux answers for an immutable inode);
//! - `X_OK`: a directory may always be searched; a regular file may be
//!   run only when `execve` would take it — immutable and not reached
//!   through `/...` — else `EACCES`.
//!
//! # Owners
//! Every Linux program runs as the one user a Manux machine has
//! ([`super::identity::ID`]), who owns everything: `fchown` and
//! `fchownat` check that the file exists and change nothing.
//!
//! # Times
//! `utimensat` sets whole seconds (the volume keeps no more), takes
//! `UTIME_NOW` and `UTIME_OMIT`, and with a null path changes the file
//! open at the descriptor (glibc's `futimens`; `EFAULT` with `AT_FDCWD`);
//! a change needs a writable way, as `chmod` does.

use super::{fd, native, path, path_or_empty, read_array};
use crate::process::Process;
use crate::syscall::sys_fs::{self, Caller};
use fs_ext2l::{FileType, InodeFlags, SetAttributes};
use kernel_core::Node;
use linux_abi::flags::access::AccessCheck;
use linux_abi::flags::at::{is_current_directory, AtFlags, CURRENT_DIRECTORY};
use linux_abi::layout::time::{Timespec, TimestampUpdate, TIMESPEC_SIZE};
use linux_abi::Errno;

/// What `access` learnt of a file: its metadata, whether it is reached
/// through a writable way, and whether through `/...`.
struct Reached {
    metadata: Option<fs_ext2l::Metadata>,
    writable: bool,
    through_dots: bool,
}

/// `faccessat2(directory fd, path, mode, flags)` (`faccessat` and
/// x86_64's `access` with flags 0): see the module doc.
pub fn access_at(
    process: &Process,
    directory_fd: u64,
    path_address: u64,
    mode: u64,
    flags: u64,
) -> Result<u64, Errno> {
    let check = AccessCheck::decode(mode).ok_or(Errno::InvalidArgument)?;
    let (flags, unknown) = AtFlags::decode(flags);
    let allowed = AtFlags::EFFECTIVE_ACCESS | AtFlags::SYMLINK_NO_FOLLOW | AtFlags::EMPTY_PATH;
    if unknown != 0 || !allowed.contains(flags) {
        return Err(Errno::InvalidArgument);
    }
    let directory_fd = fd(directory_fd);
    let path = if flags.contains(AtFlags::EMPTY_PATH) {
        path_or_empty(process, path_address)?
    } else {
        path(process, path_address)?
    };
    let reached = if path.is_empty() && !is_current_directory(directory_fd) {
        let (object, writable) = native(sys_fs::object_of_fd(process, directory_fd))?;
        let metadata = native(sys_fs::with_root(&process.budget, |volume| {
            Ok(volume.stat(&object)?)
        }))?;
        Reached {
            metadata: Some(metadata),
            writable,
            through_dots: false,
        }
    } else {
        let path: &[u8] = if path.is_empty() { b"." } else { &path };
        let follow = !flags.contains(AtFlags::SYMLINK_NO_FOLLOW);
        let caller = native(Caller::of(process, directory_fd))?;
        native(sys_fs::with_root(&process.budget, |volume| {
            let resolved = caller.resolve(volume, path, follow)?;
            Ok(match resolved.node() {
                Node::Virtual => Reached {
                    metadata: None,
                    writable: false,
                    through_dots: true,
                },
                Node::Object { object, writable } => Reached {
                    metadata: Some(volume.stat(&object)?),
                    writable,
                    through_dots: resolved.through_dots,
                },
            })
        }))?
    };
    let immutable = reached
        .metadata
        .as_ref()
        .is_some_and(|metadata| metadata.flags.contains(InodeFlags::IMMUTABLE));
    let file_type = reached
        .metadata
        .as_ref()
        .map_or(FileType::Directory, |metadata| metadata.file_type);
    if check.contains(AccessCheck::WRITE) {
        if !reached.writable {
            return Err(Errno::AccessDenied);
        }
        if immutable {
            return Err(Errno::NotPermitted);
        }
    }
    if check.contains(AccessCheck::EXECUTE) {
        let runs = match file_type {
            FileType::Directory => true,
            FileType::RegularFile => immutable && !reached.through_dots,
            _ => false,
        };
        if !runs {
            return Err(Errno::AccessDenied);
        }
    }
    Ok(0)
}

/// `fchmod(fd, mode)`: through a descriptor that may change its file (a
/// regular file open for writing, a directory reached writably).
pub fn change_mode_fd(process: &Process, file: u64, mode: u64) -> Result<u64, Errno> {
    let changes = SetAttributes {
        mode: Some((mode & 0o7777) as u16),
        ..SetAttributes::default()
    };
    native(sys_fs::set_attributes_fd(process, fd(file), changes))
}

/// `fchmodat(directory fd, path, mode)` (and x86_64's `chmod`).
pub fn change_mode_at(
    process: &Process,
    directory_fd: u64,
    path_address: u64,
    mode: u64,
) -> Result<u64, Errno> {
    let path = path(process, path_address)?;
    let changes = SetAttributes {
        mode: Some((mode & 0o7777) as u16),
        ..SetAttributes::default()
    };
    native(sys_fs::set_attributes_path(
        process,
        fd(directory_fd),
        &path,
        true,
        changes,
    ))
}

/// `fchown(fd, user, group)`: accepted, nothing changes (module doc).
pub fn change_owner_fd(process: &Process, file: u64) -> Result<u64, Errno> {
    native(process.resources.lock().files.get(fd(file) as i64))?;
    Ok(0)
}

/// `fchownat(directory fd, path, user, group, flags)`: accepted when the
/// file exists, nothing changes (module doc).
pub fn change_owner_at(
    process: &Process,
    directory_fd: u64,
    path_address: u64,
    flags: u64,
) -> Result<u64, Errno> {
    let (flags, unknown) = AtFlags::decode(flags);
    if unknown != 0 || !(AtFlags::SYMLINK_NO_FOLLOW | AtFlags::EMPTY_PATH).contains(flags) {
        return Err(Errno::InvalidArgument);
    }
    let path = if flags.contains(AtFlags::EMPTY_PATH) {
        path_or_empty(process, path_address)?
    } else {
        path(process, path_address)?
    };
    if path.is_empty() {
        return change_owner_fd(process, directory_fd);
    }
    let follow = !flags.contains(AtFlags::SYMLINK_NO_FOLLOW);
    native(sys_fs::metadata_path(
        process,
        fd(directory_fd),
        &path,
        follow,
    ))?;
    Ok(0)
}

/// One of `utimensat`'s timestamps as the volume's seconds: `None` to
/// leave it.
fn seconds(update: TimestampUpdate, now: u32) -> Option<u32> {
    match update {
        TimestampUpdate::Now => Some(now),
        TimestampUpdate::Omit => None,
        TimestampUpdate::Set(time) => Some(time.seconds.clamp(0, i64::from(u32::MAX)) as u32),
    }
}

/// `utimensat(directory fd, path, times[2], flags)`: see the module doc.
pub fn set_times_at(
    process: &Process,
    directory_fd: u64,
    path_address: u64,
    times_address: u64,
    flags: u64,
) -> Result<u64, Errno> {
    let (flags, unknown) = AtFlags::decode(flags);
    if unknown != 0 || !(AtFlags::SYMLINK_NO_FOLLOW | AtFlags::EMPTY_PATH).contains(flags) {
        return Err(Errno::InvalidArgument);
    }
    let (access, modify) = if times_address == 0 {
        (TimestampUpdate::Now, TimestampUpdate::Now)
    } else {
        let bytes = read_array::<{ 2 * TIMESPEC_SIZE }>(process, times_address)?;
        let mut first = [0u8; TIMESPEC_SIZE];
        let mut second = [0u8; TIMESPEC_SIZE];
        first.copy_from_slice(&bytes[..TIMESPEC_SIZE]);
        second.copy_from_slice(&bytes[TIMESPEC_SIZE..]);
        let decode = |bytes: &[u8; TIMESPEC_SIZE]| {
            Timespec::decode(bytes)
                .as_timestamp_update()
                .ok_or(Errno::InvalidArgument)
        };
        (decode(&first)?, decode(&second)?)
    };
    let now = crate::wall_clock::timestamp();
    let changes = SetAttributes {
        access_time: seconds(access, now),
        modification_time: seconds(modify, now),
        ..SetAttributes::default()
    };
    let directory_fd = fd(directory_fd);
    let path = if path_address == 0 {
        // A null path names the descriptor; `AT_FDCWD` is none (Linux
        // then reads the null path: `EFAULT`).
        if is_current_directory(directory_fd) {
            return Err(Errno::BadAddress);
        }
        alloc::vec::Vec::new()
    } else if flags.contains(AtFlags::EMPTY_PATH) {
        path_or_empty(process, path_address)?
    } else {
        path(process, path_address)?
    };
    if path.is_empty() {
        if is_current_directory(directory_fd) {
            return native(sys_fs::set_attributes_path(
                process,
                directory_fd,
                b".",
                true,
                changes,
            ));
        }
        return native(sys_fs::set_attributes_fd(process, directory_fd, changes));
    }
    let follow = !flags.contains(AtFlags::SYMLINK_NO_FOLLOW);
    native(sys_fs::set_attributes_path(
        process,
        directory_fd,
        &path,
        follow,
        changes,
    ))
}

/// `umask(mask)`: sets the process's file-creation mask to `mask`'s
/// permission bits and returns the previous one.
pub fn file_creation_mask(process: &Process, mask: u64) -> u64 {
    let mut resources = process.resources.lock();
    let previous = resources.file_creation_mask;
    resources.file_creation_mask = (mask & 0o777) as u32;
    u64::from(previous)
}

/// x86_64's `access(path, mode)`.
pub fn access(process: &Process, path: u64, mode: u64) -> Result<u64, Errno> {
    access_at(process, CURRENT_DIRECTORY as u64, path, mode, 0)
}
