// SPDX-License-Identifier: MIT OR Apache-2.0
//! Linux's memory calls: `brk`, anonymous `mmap`, `munmap`, `mprotect`.
//!
//! Every mapping comes from the one global range allocator
//! ([`crate::user_memory::UserMemory::map_new`]) and is charged to the
//! process's budget like any reservation: a Linux program lives in the
//! single address space like a native one (DESIGN §3).
//!
//! - `brk`: a fixed-address program (its memory is a private window, see
//!   `user_memory`) has a break just above its image that grows into
//!   zeroed memory, charged like any mapping
//!   ([`crate::user_memory::UserMemory::move_break`]). Any other program's
//!   break is 0 and never moves (in the shared address space the range
//!   above an image belongs to others): a request answers the current
//!   break, which is how Linux says "no", and musl's and glibc's `malloc`
//!   (and glibc's early TLS allocation) then take their memory from
//!   `mmap`.
//! - `mmap` maps anonymous memory (private or shared — without `fork`
//!   there is no one to share it with), zeroed on first touch, or a
//!   private copy of a regular file's bytes from a page-aligned offset
//!   (copied in at map time; the rest of the last page and any page past
//!   the file's end are zeros, writes never reach the file), wherever the
//!   allocator puts it: the address is a hint that is not followed. A
//!   read-only `MAP_SHARED` mapping of a file is such a copy too (no one
//!   could see a difference) and never becomes writable; a writable one
//!   is refused (`EACCES` for a descriptor not open for writing, as
//!   Linux; `ENODEV` otherwise: the writes would never reach the file),
//!   as is anything but a regular file (`ENODEV`). `MAP_FIXED` and
//!   `MAP_FIXED_NOREPLACE` work only inside one range the process owns
//!   already, not its stack or shared code
//!   ([`crate::user_memory::UserMemory::map_over`]); elsewhere `ENOMEM`.
//!   `PROT_NONE` memory is readable (every user page is); it is never
//!   writable and executable.
//! - `munmap` takes back the pages of the process's `mmap` mappings in the
//!   range, frees their frames and gives their bytes back to the budget
//!   ([`crate::user_memory::UserMemory::unmap`]); a later touch faults.
//!   A range touching its image, stack, break or shared code is `EINVAL`.
//! - `mprotect` changes the permission of the process's own pages; a
//!   page never becomes writable and executable at once (`EACCES`).

use super::{native, ARCH};
use crate::files::{OpenFile, SharedFile};
use crate::process::Process;
use crate::syscall::sys_io;
use alloc::sync::Arc;
use hal::user::{UserPermission, PAGE_SIZE};
use linux_abi::flags::memory::{MapFlags, MapRequest, MapSharing, Protection, ProtectionRequest};
use linux_abi::Errno;

/// `brk(address)`: moves the break if it can, answers where it is (see
/// the module doc).
pub fn program_break(process: &Process, address: u64) -> Result<u64, Errno> {
    let mut resources = process.resources.lock();
    let memory = resources.memory.as_mut().ok_or(Errno::OutOfMemory)?;
    Ok(memory.move_break(address))
}

/// The user permission of a Linux protection; `EACCES` when writable and
/// executable at once, `EINVAL` for bits Linux does not define.
fn permission(raw: u64) -> Result<UserPermission, Errno> {
    let request = ProtectionRequest::decode(ARCH, raw);
    if request.unknown_bits != 0 {
        return Err(Errno::InvalidArgument);
    }
    if request.is_writable_and_executable() {
        return Err(Errno::AccessDenied);
    }
    Ok(UserPermission {
        write: request.protection.contains(Protection::WRITE),
        execute: request.protection.contains(Protection::EXECUTE),
    })
}

/// `mmap(address, length, protection, flags, fd, offset)`.
pub fn map(process: &Arc<Process>, a: [u64; 6]) -> Result<u64, Errno> {
    let [hint, length, protection, flags, fd, offset] = a;
    let request = MapRequest::decode(ARCH, flags);
    let Some(sharing) = request.sharing else {
        return Err(Errno::InvalidArgument);
    };
    if length == 0 || offset % PAGE_SIZE != 0 {
        return Err(Errno::InvalidArgument);
    }
    let permission = permission(protection)?;
    let size = length
        .checked_add(PAGE_SIZE - 1)
        .ok_or(Errno::OutOfMemory)?
        & !(PAGE_SIZE - 1);
    let file = if request.flags.contains(MapFlags::ANONYMOUS) {
        None
    } else {
        Some(mappable_file(process, fd, sharing, permission)?)
    };
    // A read-only shared mapping of a file is a private copy that may
    // never become writable: no one could see a difference.
    let frozen = file.is_some() && sharing != MapSharing::Private;
    let fixed = request.flags.contains(MapFlags::FIXED);
    let no_replace = request.flags.contains(MapFlags::FIXED_NO_REPLACE);
    let start = if fixed || no_replace {
        if hint % PAGE_SIZE != 0 {
            return Err(Errno::InvalidArgument);
        }
        let end = hint.checked_add(size).ok_or(Errno::OutOfMemory)?;
        let mut resources = process.resources.lock();
        let memory = resources.memory.as_mut().ok_or(Errno::OutOfMemory)?;
        // `MAP_FIXED` wins when both are given, as in Linux.
        native(memory.map_over(hint, end, permission, no_replace && !fixed))?;
        hint
    } else {
        let mut resources = process.resources.lock();
        let memory = resources.memory.as_mut().ok_or(Errno::OutOfMemory)?;
        native(memory.map_mapping(size, permission, frozen))?
    };
    if let Some(file) = file {
        if let Err(error) = fill(process, &file, start, size, offset) {
            if !(fixed || no_replace) {
                let mut resources = process.resources.lock();
                if let Some(memory) = resources.memory.as_mut() {
                    let _ = memory.unmap(start, start + size);
                }
            }
            return Err(error);
        }
    }
    Ok(start)
}

/// The open file `fd` as `mmap` may map it: a regular file open for
/// reading, not shared writable.
///
/// Return values: `BadFd`; `AccessDenied` if it is not open for reading,
/// or for a writable shared mapping when it is not open for writing;
/// `NoSuchDevice` for anything but a regular file, and for a writable
/// shared mapping of a file open for writing (the writes would never
/// reach the file).
fn mappable_file(
    process: &Process,
    fd: u64,
    sharing: MapSharing,
    permission: UserPermission,
) -> Result<SharedFile, Errno> {
    let file = native(process.resources.lock().files.get(fd as i32 as i64))?;
    let writable = match &*file.lock() {
        OpenFile::Regular {
            readable: true,
            writable,
            ..
        } => *writable,
        OpenFile::Regular { .. } => return Err(Errno::AccessDenied),
        _ => return Err(Errno::NoSuchDevice),
    };
    if sharing != MapSharing::Private && permission.write {
        // Linux's answer for a descriptor not open for writing; for one
        // that is, the writes could never reach the file.
        return Err(if writable {
            Errno::NoSuchDevice
        } else {
            Errno::AccessDenied
        });
    }
    Ok(file)
}

/// Bytes read from the file per step of [`fill`].
const FILL_CHUNK: usize = 64 * 1024;

/// Copies the bytes of `file` from `offset` into the `size` bytes of
/// memory at `start` (the pages past the file's end stay zero).
fn fill(
    process: &Arc<Process>,
    file: &SharedFile,
    start: u64,
    size: u64,
    offset: u64,
) -> Result<(), Errno> {
    let mut done = 0;
    while done < size {
        let wanted = (size - done).min(FILL_CHUNK as u64) as usize;
        let position = offset.checked_add(done).ok_or(Errno::InvalidArgument)?;
        let bytes = native(sys_io::read_bytes(process, file, wanted, Some(position)))?;
        if bytes.is_empty() {
            break;
        }
        let mut resources = process.resources.lock();
        let memory = resources.memory.as_mut().ok_or(Errno::OutOfMemory)?;
        native(memory.load(start + done, &bytes))?;
        done += bytes.len() as u64;
    }
    Ok(())
}

/// `munmap(address, length)`: see the module doc.
pub fn unmap(process: &Process, address: u64, length: u64) -> Result<u64, Errno> {
    if address % PAGE_SIZE != 0 || length == 0 {
        return Err(Errno::InvalidArgument);
    }
    let end = address
        .checked_add(length)
        .and_then(|end| end.checked_add(PAGE_SIZE - 1))
        .ok_or(Errno::InvalidArgument)?
        & !(PAGE_SIZE - 1);
    let mut resources = process.resources.lock();
    let memory = resources.memory.as_mut().ok_or(Errno::OutOfMemory)?;
    native(memory.unmap(address, end))?;
    Ok(0)
}

/// `mprotect(address, length, protection)`.
pub fn protect(
    process: &Process,
    address: u64,
    length: u64,
    protection: u64,
) -> Result<u64, Errno> {
    if address % PAGE_SIZE != 0 {
        return Err(Errno::InvalidArgument);
    }
    let permission = permission(protection)?;
    let end = address
        .checked_add(length)
        .and_then(|end| end.checked_add(PAGE_SIZE - 1))
        .ok_or(Errno::OutOfMemory)?
        & !(PAGE_SIZE - 1);
    let mut resources = process.resources.lock();
    let memory = resources.memory.as_mut().ok_or(Errno::OutOfMemory)?;
    native(memory.protect(address, end, permission))?;
    Ok(0)
}
