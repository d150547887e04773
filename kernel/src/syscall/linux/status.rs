// SPDX-License-Identifier: MIT OR Apache-2.0
//! Linux's `fstat`, `newfstatat` (and x86_64's `stat`, `lstat`) and
//! `statx`: what the kernel knows of a file, in Linux's per-architecture
//! `struct stat` ([`linux_abi::layout::stat`]) or in `struct statx`; and
//! `statfs`, `fstatfs`: the root volume's sizes
//! ([`linux_abi::layout::statfs`]).
//!
//! Files of the root volume report their inode, type and permission
//! bits, links, owner, size, 512-byte blocks and times (whole seconds: the
//! volume keeps no more), on one device ([`ROOT_DEVICE`]), with a
//! preferred I/O size of 4096. A virtual `/...` directory is a read-only
//! directory with inode 0. The console is a character device
//! (`S_IFCHR | 0620`, as a terminal is), a pipe a FIFO (`S_IFIFO | 0600`);
//! neither has an inode. This file only reads: it never changes a file.

use super::{fd, native, path, path_or_empty, write_bytes, ARCH};
use crate::files::OpenFile;
use crate::process::Process;
use crate::syscall::sys_fs;
use fs_ext2l::{FileType, Metadata};
use linux_abi::flags::at::{AtFlags, CURRENT_DIRECTORY};
use linux_abi::layout::stat::{self, FileStatus};
use linux_abi::layout::statfs::{self, FileSystemStatus};
use linux_abi::layout::statx::StatxMask;
use linux_abi::layout::time::Timespec;
use linux_abi::Errno;

/// The device number of the root volume (`st_dev`): Linux's first
/// virtio disk, major 254 minor 0, in the user-space `dev_t` encoding.
pub const ROOT_DEVICE: u64 = 254 << 8;
/// The console's device number (`st_rdev`): `ttyS0`, major 4 minor 64.
const CONSOLE_DEVICE: u64 = (4 << 8) | 64;
/// The preferred I/O size every file reports.
const BLOCK_SIZE: u32 = 4096;

/// The Linux status of a root-volume file.
pub fn of_metadata(metadata: &Metadata) -> FileStatus {
    let time = |seconds: u32| Timespec {
        seconds: i64::from(seconds),
        nanoseconds: 0,
    };
    let special_device = match metadata.file_type {
        FileType::CharacterDevice | FileType::BlockDevice => u64::from(metadata.device),
        _ => 0,
    };
    FileStatus {
        device: ROOT_DEVICE,
        inode: u64::from(metadata.inode.0),
        mode: u32::from(metadata.mode),
        link_count: u64::from(metadata.links),
        user_id: metadata.uid,
        group_id: metadata.gid,
        special_device,
        size: i64::try_from(metadata.size).unwrap_or(i64::MAX),
        block_size: BLOCK_SIZE,
        blocks: i64::try_from(metadata.sectors).unwrap_or(i64::MAX),
        access_time: time(metadata.access_time),
        modify_time: time(metadata.modification_time),
        change_time: time(metadata.change_time),
    }
}

/// The status of a virtual `/...` directory.
fn virtual_directory() -> FileStatus {
    FileStatus {
        device: ROOT_DEVICE,
        mode: stat::DIRECTORY | 0o555,
        link_count: 2,
        block_size: BLOCK_SIZE,
        ..FileStatus::default()
    }
}

/// The status of what descriptor `file` refers to.
///
/// Return values: `EBADF`; file-system errors.
pub fn of_fd(process: &Process, file: u64) -> Result<FileStatus, Errno> {
    let shared = native(process.resources.lock().files.get(fd(file) as i64))?;
    let object = match &*shared.lock() {
        OpenFile::Regular { object, .. }
        | OpenFile::Directory { object, .. }
        | OpenFile::Device { object, .. } => object.clone(),
        OpenFile::VirtualDirectory { .. } => return Ok(virtual_directory()),
        OpenFile::Console => {
            return Ok(FileStatus {
                mode: stat::CHARACTER_DEVICE | 0o620,
                link_count: 1,
                special_device: CONSOLE_DEVICE,
                block_size: BLOCK_SIZE,
                ..FileStatus::default()
            })
        }
        OpenFile::PipeReader { .. } | OpenFile::PipeWriter { .. } => {
            return Ok(FileStatus {
                mode: stat::FIFO | 0o600,
                link_count: 1,
                block_size: BLOCK_SIZE,
                ..FileStatus::default()
            })
        }
    };
    let metadata = native(sys_fs::with_root(&process.budget, |volume| {
        Ok(volume.stat(&object)?)
    }))?;
    Ok(of_metadata(&metadata))
}

/// The status of `path` relative to `directory_fd` (a Linux `int`).
///
/// Return values: path errors.
fn of_path(
    process: &Process,
    directory_fd: u64,
    path: &[u8],
    follow: bool,
) -> Result<FileStatus, Errno> {
    Ok(
        match native(sys_fs::metadata_path(process, directory_fd, path, follow))? {
            Some(metadata) => of_metadata(&metadata),
            None => virtual_directory(),
        },
    )
}

/// What a `…at` status call names: `path` relative to `directory_fd`,
/// or with `AT_EMPTY_PATH` and an empty path the descriptor itself (the
/// current directory for `AT_FDCWD`). `flags` beyond `allowed` are
/// `EINVAL`.
fn status_at(
    process: &Process,
    directory_fd: u64,
    path_address: u64,
    flags: u64,
    allowed: AtFlags,
) -> Result<FileStatus, Errno> {
    let (flags, unknown) = AtFlags::decode(flags);
    if unknown != 0 || !allowed.contains(flags) {
        return Err(Errno::InvalidArgument);
    }
    let follow = !flags.contains(AtFlags::SYMLINK_NO_FOLLOW);
    let directory_fd = fd(directory_fd);
    if flags.contains(AtFlags::EMPTY_PATH) {
        let path = path_or_empty(process, path_address)?;
        if path.is_empty() {
            if linux_abi::flags::at::is_current_directory(directory_fd) {
                return of_path(process, directory_fd, b".", true);
            }
            return of_fd(process, directory_fd);
        }
        return of_path(process, directory_fd, &path, follow);
    }
    let path = path(process, path_address)?;
    of_path(process, directory_fd, &path, follow)
}

/// `fstat(fd, stat)`.
pub fn status_fd(process: &Process, file: u64, address: u64) -> Result<u64, Errno> {
    let status = of_fd(process, file)?;
    write_bytes(process, address, status.encode_stat(ARCH).as_bytes())?;
    Ok(0)
}

/// `newfstatat(directory fd, path, stat, flags)`: flags
/// `AT_SYMLINK_NOFOLLOW`, `AT_EMPTY_PATH`, `AT_NO_AUTOMOUNT`.
pub fn status_at_path(
    process: &Process,
    directory_fd: u64,
    path_address: u64,
    address: u64,
    flags: u64,
) -> Result<u64, Errno> {
    let allowed = AtFlags::SYMLINK_NO_FOLLOW | AtFlags::EMPTY_PATH | AtFlags::NO_AUTOMOUNT;
    let status = status_at(process, directory_fd, path_address, flags, allowed)?;
    write_bytes(process, address, status.encode_stat(ARCH).as_bytes())?;
    Ok(0)
}

/// x86_64's `stat(path, stat)` (`follow`) and `lstat(path, stat)`.
pub fn status_path(
    process: &Process,
    path_address: u64,
    address: u64,
    follow: bool,
) -> Result<u64, Errno> {
    let path = path(process, path_address)?;
    let status = of_path(process, CURRENT_DIRECTORY as u64, &path, follow)?;
    write_bytes(process, address, status.encode_stat(ARCH).as_bytes())?;
    Ok(0)
}

/// `statx(directory fd, path, flags, mask, statx)`: the basic fields,
/// whatever the mask asks (`stx_mask` says which were filled, as Linux
/// does); the synchronisation flags are accepted.
pub fn extended_status(
    process: &Process,
    directory_fd: u64,
    path_address: u64,
    flags: u64,
    _mask: u64,
    address: u64,
) -> Result<u64, Errno> {
    let allowed = AtFlags::SYMLINK_NO_FOLLOW
        | AtFlags::EMPTY_PATH
        | AtFlags::NO_AUTOMOUNT
        | AtFlags::STATX_FORCE_SYNC
        | AtFlags::STATX_DONT_SYNC;
    let status = status_at(process, directory_fd, path_address, flags, allowed)?;
    write_bytes(process, address, &status.encode_statx(StatxMask::BASIC))?;
    Ok(0)
}

/// `statfs(path, statfs)`: the numbers of the root volume, which holds
/// every file a program can name (see [`volume_status`]); the path must
/// be one the caller reaches.
pub fn file_system_status(
    process: &Process,
    path_address: u64,
    address: u64,
) -> Result<u64, Errno> {
    let path = path(process, path_address)?;
    of_path(process, CURRENT_DIRECTORY as u64, &path, true)?;
    write_bytes(process, address, &volume_status(process)?.encode())?;
    Ok(0)
}

/// `fstatfs(fd, statfs)`: as [`file_system_status`] for an open file
/// (a pipe or the console too: Linux answers theirs from its internal
/// file systems; here the root volume's numbers stand for every file).
pub fn file_system_status_fd(process: &Process, file: u64, address: u64) -> Result<u64, Errno> {
    native(process.resources.lock().files.get(fd(file) as i64))?;
    write_bytes(process, address, &volume_status(process)?.encode())?;
    Ok(0)
}

/// The root volume's sizes in Linux's `struct statfs`: ext2's magic
/// number, its block size, its blocks and inodes in all and free (less
/// the blocks reserved for the superuser for `f_bavail`), names of up to
/// 255 bytes, and `ST_RDONLY` when it is mounted read-only.
fn volume_status(process: &Process) -> Result<FileSystemStatus, Errno> {
    native(sys_fs::with_root(&process.budget, |volume| {
        let info = volume.file_system_ref().info();
        let read_only = if info.read_only_reason.is_some() {
            statfs::ST_RDONLY
        } else {
            0
        };
        Ok(FileSystemStatus {
            kind: statfs::EXT2_SUPER_MAGIC,
            block_size: i64::from(info.block_size),
            blocks: u64::from(info.blocks_count),
            free_blocks: u64::from(info.free_blocks),
            available_blocks: u64::from(info.free_blocks.saturating_sub(info.reserved_blocks)),
            files: u64::from(info.inodes_count),
            free_files: u64::from(info.free_inodes),
            name_length: 255,
            flags: statfs::ST_VALID | read_only,
        })
    }))
}
