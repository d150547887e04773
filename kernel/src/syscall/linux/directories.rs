// SPDX-License-Identifier: MIT OR Apache-2.0
//! Linux's calls on names and directories: `getdents64`, `mkdirat`,
//! `unlinkat`, `renameat`, `renameat2`, `linkat`, `symlinkat`,
//! `readlinkat`, `chdir`, `fchdir`, `getcwd`, and x86_64's `mkdir`,
//! `rmdir`, `unlink`, `rename`, `link`, `symlink`, `readlink`.
//!
//! Each is the native `*_path` function of [`sys_fs`] behind Linux's
//! NUL-terminated paths, `AT_*` flags and `linux_dirent64` records, so a
//! change needs the containing directory to be writable through the way
//! it was reached, exactly as for a native program. Nothing here decides
//! a right of its own.
//!
//! - `getdents64` lists the entries as the native call does (`.` and
//!   `..` included, in the directory's order); `d_off` is the cursor
//!   after the entry, which only rewinding (`lseek(fd, 0, SEEK_SET)`)
//!   uses.
//! - `renameat2` takes flags 0 only (`RENAME_NOREPLACE`,
//!   `RENAME_EXCHANGE` and `RENAME_WHITEOUT` are `EINVAL`).
//! - `getcwd` answers the names the current directory was reached by
//!   (lexical, DESIGN §5).
//! - `readlink` of a name that does not exist is `ENOENT` — there is no
//!   `/proc`, so glibc's and busybox's look at `/proc/self/exe` fails
//!   cleanly.

use super::files::creation_mode;
use super::{fd, native, path, write_bytes};
use crate::process::Process;
use crate::syscall::{sys_fs, UserAccess};
use fs_ext2l::FileType;
use linux_abi::flags::at::{AtFlags, CURRENT_DIRECTORY};
use linux_abi::layout::directory_entry::{DirectoryEntryWriter, EntryType};
use linux_abi::Errno;
use manux_abi::limits;

/// The `d_type` of a file type.
fn entry_type(file_type: FileType) -> EntryType {
    match file_type {
        FileType::Unknown => EntryType::Unknown,
        FileType::RegularFile => EntryType::RegularFile,
        FileType::Directory => EntryType::Directory,
        FileType::CharacterDevice => EntryType::CharacterDevice,
        FileType::BlockDevice => EntryType::BlockDevice,
        FileType::Fifo => EntryType::Fifo,
        FileType::Socket => EntryType::Socket,
        FileType::Symlink => EntryType::SymbolicLink,
    }
}

/// `getdents64(fd, buffer, count)`: whole `linux_dirent64` records; 0 at
/// the end; `EINVAL` when not even one fits.
pub fn read_directory(process: &Process, file: u64, buffer: u64, count: u64) -> Result<u64, Errno> {
    let length = (count as u32 as usize).min(limits::IO_BYTES);
    native(UserAccess::check_writable(process, buffer, length))?;
    let records = native(sys_fs::list_directory(
        process,
        fd(file),
        length,
        |out, inode, file_type, name, next_cursor| {
            let mut writer = DirectoryEntryWriter::new(out);
            let next_offset = i64::try_from(next_cursor).unwrap_or(i64::MAX);
            writer
                .push(inode, next_offset, entry_type(file_type), name)
                .ok()?;
            Some(writer.written())
        },
    ))?;
    write_bytes(process, buffer, &records)?;
    Ok(records.len() as u64)
}

/// `mkdirat(directory fd, path, mode)`: the mode loses the `umask` bits.
pub fn make_directory_at(
    process: &Process,
    directory_fd: u64,
    path_address: u64,
    mode: u64,
) -> Result<u64, Errno> {
    let path = path(process, path_address)?;
    let mode = creation_mode(process, mode);
    native(sys_fs::make_directory_path(
        process,
        fd(directory_fd),
        &path,
        mode,
    ))
}

/// `unlinkat(directory fd, path, flags)`: `AT_REMOVEDIR` removes a
/// directory; other flags are `EINVAL`.
pub fn unlink_at(
    process: &Process,
    directory_fd: u64,
    path_address: u64,
    flags: u64,
) -> Result<u64, Errno> {
    let (flags, unknown) = AtFlags::decode(flags);
    if unknown != 0 || !AtFlags::REMOVE_DIRECTORY.contains(flags) {
        return Err(Errno::InvalidArgument);
    }
    let path = path(process, path_address)?;
    native(sys_fs::unlink_path(
        process,
        fd(directory_fd),
        &path,
        flags.contains(AtFlags::REMOVE_DIRECTORY),
    ))
}

/// `renameat2(old directory fd, old, new directory fd, new, flags)`
/// (`renameat` and x86_64's `rename` with flags 0).
pub fn rename_at(
    process: &Process,
    old_directory_fd: u64,
    old_address: u64,
    new_directory_fd: u64,
    new_address: u64,
    flags: u64,
) -> Result<u64, Errno> {
    if flags as u32 != 0 {
        return Err(Errno::InvalidArgument);
    }
    let old = path(process, old_address)?;
    let new = path(process, new_address)?;
    let old_caller = native(sys_fs::Caller::of(process, fd(old_directory_fd)))?;
    let new_caller = native(sys_fs::Caller::of(process, fd(new_directory_fd)))?;
    native(sys_fs::rename_paths(
        process,
        (old_caller, &old),
        (new_caller, &new),
    ))
}

/// `linkat(old directory fd, old, new directory fd, new, flags)`:
/// `AT_SYMLINK_FOLLOW` follows a final symbolic link of `old`;
/// `AT_EMPTY_PATH` (linking a descriptor) is not offered: `ENOENT`, as
/// Linux answers a caller without the privilege.
pub fn link_at(
    process: &Process,
    old_directory_fd: u64,
    old_address: u64,
    new_directory_fd: u64,
    new_address: u64,
    flags: u64,
) -> Result<u64, Errno> {
    let (flags, unknown) = AtFlags::decode(flags);
    if unknown != 0 || !(AtFlags::SYMLINK_FOLLOW | AtFlags::EMPTY_PATH).contains(flags) {
        return Err(Errno::InvalidArgument);
    }
    let old = path(process, old_address)?;
    let new = path(process, new_address)?;
    let old_caller = native(sys_fs::Caller::of(process, fd(old_directory_fd)))?;
    let new_caller = native(sys_fs::Caller::of(process, fd(new_directory_fd)))?;
    native(sys_fs::link_paths(
        process,
        (old_caller, &old),
        (new_caller, &new),
        flags.contains(AtFlags::SYMLINK_FOLLOW),
    ))
}

/// `symlinkat(target, directory fd, path)`.
pub fn symlink_at(
    process: &Process,
    target_address: u64,
    directory_fd: u64,
    path_address: u64,
) -> Result<u64, Errno> {
    let target = path(process, target_address)?;
    let path = path(process, path_address)?;
    native(sys_fs::symlink_path(
        process,
        &target,
        fd(directory_fd),
        &path,
    ))
}

/// `readlinkat(directory fd, path, buffer, size)`: the target, cut to
/// `size` bytes, without a NUL; `EINVAL` for a size ≤ 0 or a name that
/// is not a symbolic link.
pub fn read_link_at(
    process: &Process,
    directory_fd: u64,
    path_address: u64,
    buffer: u64,
    size: u64,
) -> Result<u64, Errno> {
    let size = size as u32 as i32;
    if size <= 0 {
        return Err(Errno::InvalidArgument);
    }
    let path = path(process, path_address)?;
    let target = native(sys_fs::read_link_path(process, fd(directory_fd), &path))?;
    let count = target.len().min(size as usize);
    write_bytes(process, buffer, &target[..count])?;
    Ok(count as u64)
}

/// x86_64's `readlink(path, buffer, size)`.
pub fn read_link(process: &Process, path: u64, buffer: u64, size: u64) -> Result<u64, Errno> {
    read_link_at(process, CURRENT_DIRECTORY as u64, path, buffer, size)
}

/// `chdir(path)`.
pub fn change_directory(process: &Process, path_address: u64) -> Result<u64, Errno> {
    let path = path(process, path_address)?;
    native(sys_fs::change_directory_path(process, &path))
}

/// `fchdir(fd)`.
pub fn change_directory_fd(process: &Process, file: u64) -> Result<u64, Errno> {
    native(sys_fs::change_directory_fd(process, fd(file)))
}

/// `getcwd(buffer, size)`: the current directory's names and a NUL;
/// returns their length with the NUL; `ERANGE` when `size` is too small.
pub fn current_directory(process: &Process, buffer: u64, size: u64) -> Result<u64, Errno> {
    let mut cwd = native(sys_fs::current_directory_path(process))?;
    cwd.try_reserve_exact(1).map_err(|_| Errno::OutOfMemory)?;
    cwd.push(0);
    if cwd.len() as u64 > size {
        return Err(Errno::OutOfRange);
    }
    write_bytes(process, buffer, &cwd)?;
    Ok(cwd.len() as u64)
}
