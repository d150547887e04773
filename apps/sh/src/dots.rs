// SPDX-License-Identifier: MIT OR Apache-2.0
//! The `dots` builtin: this shell's `/...`, one line per entry.
//!
//! ```text
//! /.../home/user  rw  dir
//! /.../motd       ro  file immutable
//! ```
//!
//! The tree is walked with `getdents`: a virtual directory (one that
//! exists only because names lie below it) is reported by the kernel with
//! inode 0 and is descended into; anything else is an entry, listed with
//! its access mode and kind.
//!
//! The kernel has no call that states an entry's mode, so it is *probed*:
//! `openat(entry, O_WRONLY | O_NOFOLLOW)` is refused with `EACCES` below a
//! read-only entry before anything else is checked, and otherwise fails
//! with `EISDIR` (a directory), `ELOOP` (a symbolic link), `EPERM` (an
//! immutable file) or opens a regular file — which is closed at once,
//! unwritten: opening for writing without `O_TRUNC` changes nothing. This
//! relies on the order of the checks in the kernel's `openat`
//! (`kernel/src/syscall/sys_fs.rs`); a `?` is shown for any other answer.
//! An immutable file or directory (ext2's flag, as programs and the
//! shared tree are installed) says so after its kind: a read-write entry
//! for it still cannot change it.

use crate::fds::FdTable;
use crate::text::{print_to, write_bytes};
use alloc::vec::Vec;
use manux_runtime::abi::directory_entry::{self, EntryKind};
use manux_runtime::abi::{OpenFlags, CURRENT_DIRECTORY, STAT_NO_FOLLOW};
use manux_runtime::syscall;
use manux_runtime::Errno;

/// One entry found.
struct Found {
    path: Vec<u8>,
    mode: &'static str,
    kind: &'static str,
    immutable: bool,
}

/// ext2's immutable inode flag, as `Stat::flags` reports it.
const IMMUTABLE: u32 = 0x10;

/// Lists `/...`; returns the builtin's status.
pub fn list(fds: &FdTable) -> i32 {
    let mut found = Vec::new();
    if let Err(errno) = walk(b"/...".to_vec(), &mut found, 0) {
        print_to(fds.error(), format_args!("sh: dots: {errno}\n"));
        return 1;
    }
    let width = found
        .iter()
        .map(|entry| entry.path.len())
        .max()
        .unwrap_or(0);
    let mut text = Vec::new();
    for entry in &found {
        text.extend_from_slice(&entry.path);
        text.resize(text.len() + width - entry.path.len() + 2, b' ');
        // Modes are `rw`, `ro` or `?`: pad to keep the kinds aligned.
        text.extend_from_slice(entry.mode.as_bytes());
        text.resize(text.len() + 4 - entry.mode.len(), b' ');
        text.extend_from_slice(entry.kind.as_bytes());
        if entry.immutable {
            text.extend_from_slice(b" immutable");
        }
        text.push(b'\n');
    }
    write_bytes(fds.output(), &text);
    0
}

/// `/...` is at most `dotdotdot::MAX_DEPTH` (16) names deep.
const MAX_DEPTH: usize = 16;

fn walk(directory: Vec<u8>, found: &mut Vec<Found>, depth: usize) -> Result<(), Errno> {
    // Read the whole directory first, so only one descriptor is open at
    // a time however deep the tree.
    let fd = syscall::open(&directory, OpenFlags::DIRECTORY, 0)?;
    let mut entries: Vec<(Vec<u8>, u64, EntryKind)> = Vec::new();
    let mut buffer = alloc::vec![0u8; 4096];
    let result = loop {
        match syscall::read_directory(fd, &mut buffer) {
            Ok(0) => break Ok(()),
            Ok(count) => {
                for entry in directory_entry::records(&buffer[..count.min(buffer.len())]) {
                    if entry.name != b"." && entry.name != b".." {
                        entries.push((entry.name.to_vec(), entry.inode, entry.kind));
                    }
                }
            }
            Err(errno) => break Err(errno),
        }
    };
    let _ = syscall::close(fd);
    result?;
    for (name, inode, kind) in entries {
        let mut path = directory.clone();
        path.push(b'/');
        path.extend_from_slice(&name);
        if inode == 0 && kind == EntryKind::Directory && depth < MAX_DEPTH {
            walk(path, found, depth + 1)?;
            continue;
        }
        let kind = match kind {
            EntryKind::Directory => "dir",
            EntryKind::File => "file",
            EntryKind::Symlink => "symlink",
            EntryKind::Other => "other",
            EntryKind::Unknown => "?",
        };
        let mode = probe_mode(&path);
        let immutable = syscall::status_at(CURRENT_DIRECTORY, &path, STAT_NO_FOLLOW)
            .is_ok_and(|status| status.flags & IMMUTABLE != 0);
        found.push(Found {
            path,
            mode,
            kind,
            immutable,
        });
    }
    Ok(())
}

/// `rw`, `ro` or `?` (see the module doc).
fn probe_mode(path: &[u8]) -> &'static str {
    match syscall::open(path, OpenFlags::WRITE_ONLY | OpenFlags::NO_FOLLOW, 0) {
        Ok(fd) => {
            let _ = syscall::close(fd);
            "rw"
        }
        Err(Errno::IsADirectory | Errno::Loop | Errno::NotPermitted) => "rw",
        Err(Errno::AccessDenied) => "ro",
        Err(_) => "?",
    }
}
