// SPDX-License-Identifier: MIT OR Apache-2.0
//! Path resolution: names to inodes, with `..` resolved lexically.
//!
//! DESIGN §5: the kernel remembers the chain of directories a path walked
//! through and pops it for `..`; at the root, `..` stays at the root. The
//! on-disk `..` is never consulted (the file-system library refuses to
//! look it up), so moving a directory or linking it elsewhere cannot lead
//! above the root. Symbolic links are followed inside the same walk —
//! absolute targets restart at the root — at most [`MAX_SYMLINKS`] times.
//!
//! Per-process roots and the `/...` view come with the confinement issue;
//! today every process's root is the file system's root.

use crate::block_cache::BlockCache;
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use fs_ext2l::{FileSystem, FileType, InodeNumber};
use manux_abi::{limits, Errno};

/// Symbolic links followed in one resolution before `ELOOP`.
pub const MAX_SYMLINKS: usize = 40;

/// A resolved name: the inode and the absolute, normalised path to it.
pub struct Resolved {
    /// The inode.
    pub inode: InodeNumber,
    /// The path it was reached by (`/` separated, no `.` or `..`).
    pub path: Vec<u8>,
}

/// Turns a file-system error into an errno.
pub fn errno(error: fs_ext2l::Error) -> Errno {
    use fs_ext2l::Error as E;
    match error {
        E::NotFound => Errno::NotFound,
        E::NotADirectory => Errno::NotADirectory,
        E::IsADirectory => Errno::IsADirectory,
        E::NotASymlink => Errno::InvalidArgument,
        E::Exists => Errno::Exists,
        E::NotEmpty => Errno::NotEmpty,
        E::NoSpace => Errno::NoSpace,
        E::ReadOnly => Errno::ReadOnlyFileSystem,
        E::Immutable | E::NotPermitted => Errno::NotPermitted,
        E::InvalidName => Errno::InvalidArgument,
        E::NameTooLong => Errno::NameTooLong,
        E::TooManyLinks => Errno::TooManyLinks,
        E::WouldCycle => Errno::InvalidArgument,
        E::TooManySymlinks => Errno::Loop,
        E::FileTooLarge => Errno::FileTooLarge,
        E::InvalidArgument => Errno::InvalidArgument,
        E::FeatureInUse => Errno::Busy,
        _ => Errno::InputOutput,
    }
}

/// Splits a path into components, dropping empty ones and `.`.
fn components(path: &[u8]) -> impl Iterator<Item = &[u8]> {
    path.split(|&b| b == b'/')
        .filter(|c| !c.is_empty() && *c != b".")
}

/// Resolves `path` relative to the directory at absolute path `base`.
/// With `follow_final`, a final symlink is followed.
///
/// Return values: `NotFound`, `NotADirectory`, `Loop`, `NameTooLong`,
/// `InvalidArgument` (reserved names), `InputOutput`.
pub fn resolve(
    file_system: &mut FileSystem<BlockCache>,
    base: &[u8],
    path: &[u8],
    follow_final: bool,
) -> Result<Resolved, Errno> {
    if path.len() > limits::PATH_BYTES {
        return Err(Errno::NameTooLong);
    }
    let root = file_system.root();
    // The chain walked so far: (name, inode) from the root down.
    let mut chain: Vec<(Vec<u8>, InodeNumber)> = Vec::new();
    let mut pending: VecDeque<Vec<u8>> = VecDeque::new();
    if !path.starts_with(b"/") {
        pending.extend(components(base).map(Vec::from));
    }
    pending.extend(components(path).map(Vec::from));
    let mut links_followed = 0;
    while let Some(component) = pending.pop_front() {
        if component == b".." {
            chain.pop();
            continue;
        }
        let directory = chain.last().map(|(_, inode)| *inode).unwrap_or(root);
        let inode = file_system.lookup(directory, &component).map_err(errno)?;
        let is_final = pending.is_empty();
        let metadata = file_system.stat(inode).map_err(errno)?;
        if metadata.file_type == FileType::Symlink && (!is_final || follow_final) {
            links_followed += 1;
            if links_followed > MAX_SYMLINKS {
                return Err(Errno::Loop);
            }
            let target = file_system.readlink(inode).map_err(errno)?;
            if target.starts_with(b"/") {
                chain.clear();
            }
            for (index, part) in components(&target).map(Vec::from).enumerate() {
                pending.insert(index, part);
            }
            continue;
        }
        if !is_final && metadata.file_type != FileType::Directory {
            return Err(Errno::NotADirectory);
        }
        chain.push((component, inode));
    }
    let inode = chain.last().map(|(_, inode)| *inode).unwrap_or(root);
    let mut resolved_path = Vec::new();
    for (name, _) in &chain {
        resolved_path.push(b'/');
        resolved_path.extend_from_slice(name);
    }
    if resolved_path.is_empty() {
        resolved_path.push(b'/');
    }
    Ok(Resolved {
        inode,
        path: resolved_path,
    })
}

/// Resolves all but the last component of `path`: the directory an
/// entry is created in, removed from or renamed in, and the entry's name.
///
/// Return values: as [`resolve`], and `InvalidArgument` when the path has
/// no last component or it is `.` or `..`.
pub fn resolve_parent(
    file_system: &mut FileSystem<BlockCache>,
    base: &[u8],
    path: &[u8],
) -> Result<(Resolved, Vec<u8>), Errno> {
    let trimmed = {
        let mut end = path.len();
        while end > 1 && path[end - 1] == b'/' {
            end -= 1;
        }
        &path[..end]
    };
    let (parent, name) = match trimmed.iter().rposition(|&b| b == b'/') {
        Some(0) => (&b"/"[..], &trimmed[1..]),
        Some(index) => (&trimmed[..index], &trimmed[index + 1..]),
        None => (&b""[..], trimmed),
    };
    if name.is_empty() || name == b"." || name == b".." {
        return Err(Errno::InvalidArgument);
    }
    let directory = if parent.is_empty() {
        resolve(file_system, base, b".", true)?
    } else {
        resolve(file_system, base, parent, true)?
    };
    Ok((directory, Vec::from(name)))
}
