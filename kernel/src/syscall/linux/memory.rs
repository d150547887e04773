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
//!   there is no one to share it with), zeroed on first touch, wherever
//!   the allocator puts it: the address is a hint that is not followed,
//!   and `MAP_FIXED` is refused (`ENOMEM`) in this stage, as are file
//!   mappings (`ENODEV`). `PROT_NONE` memory is readable (every user page
//!   is); it is never writable or executable.
//! - `munmap` of page-aligned memory succeeds and keeps the memory until
//!   the process ends (its frames and range are freed then, and counted
//!   against its budget until then).
//! - `mprotect` changes the permission of the process's own pages; a
//!   page never becomes writable and executable at once (`EACCES`).

use super::{native, ARCH};
use crate::process::Process;
use hal::user::{UserPermission, PAGE_SIZE};
use linux_abi::flags::memory::{MapFlags, MapRequest, Protection, ProtectionRequest};
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
pub fn map(process: &Process, a: [u64; 6]) -> Result<u64, Errno> {
    let [_hint, length, protection, flags, _fd, offset] = a;
    let request = MapRequest::decode(ARCH, flags);
    if length == 0 || request.sharing.is_none() || offset % PAGE_SIZE != 0 {
        return Err(Errno::InvalidArgument);
    }
    let permission = permission(protection)?;
    if request
        .flags
        .intersects(MapFlags::FIXED | MapFlags::FIXED_NO_REPLACE)
    {
        return Err(Errno::OutOfMemory);
    }
    if !request.flags.contains(MapFlags::ANONYMOUS) {
        return Err(Errno::NoSuchDevice);
    }
    let size = length
        .checked_add(PAGE_SIZE - 1)
        .ok_or(Errno::OutOfMemory)?
        & !(PAGE_SIZE - 1);
    let mut resources = process.resources.lock();
    let memory = resources.memory.as_mut().ok_or(Errno::OutOfMemory)?;
    native(memory.map_new(size, permission))
}

/// `munmap(address, length)`: see the module doc.
pub fn unmap(_process: &Process, address: u64, length: u64) -> Result<u64, Errno> {
    if address % PAGE_SIZE != 0 || length == 0 {
        return Err(Errno::InvalidArgument);
    }
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
