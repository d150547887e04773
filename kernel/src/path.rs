// SPDX-License-Identifier: MIT OR Apache-2.0
//! Path resolution inside a process's view: its root, its `/...`, and `..`
//! resolved lexically.
//!
//! DESIGN §5. A process sees two trees: its root directory, and `/...`,
//! visible from every root, whose content is the process's own
//! [`Namespace`] — virtual directories down to leaves that name files or
//! directories of the file system by inode, each with an access mode that
//! binds everything reached through it.
//!
//! A walk keeps the chain of names it went through and pops it for `..`: at
//! the root `..` stays at the root, past a `/...` leaf it returns into the
//! virtual tree, and from `/...` itself to the root. The on-disk `..` is
//! never consulted (the file-system library refuses to look it up), so
//! renaming a directory elsewhere, directory hardlinks or a cooperating
//! process cannot lead out of a view. Symbolic links are followed inside
//! the same walk — absolute targets restart at the process's root — at most
//! [`MAX_SYMLINKS`] times. The current directory and every directory fd
//! carry the [`Location`] they were reached by, so `..` from them is
//! lexical too.

use crate::disk::Disk;
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use dotdotdot::{AccessMode, Namespace, Resolved as DotResolved};
use fs_ext2l::{FileSystem, FileType, InodeNumber};
use manux_abi::{limits, Errno};

/// Symbolic links followed in one resolution before `ELOOP`.
pub const MAX_SYMLINKS: usize = 40;

/// The name that leads from the root to `/...`.
pub const DOTS: &[u8] = b"...";

/// What a `/...` leaf refers to: an inode of the root file system.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DotHandle {
    /// The file or directory.
    pub inode: InodeNumber,
}

/// A process's `/...`.
pub type DotView = Namespace<DotHandle>;

/// Which tree a location lies in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Anchor {
    /// Below the process's root directory.
    Root,
    /// Below `/...`.
    Dots,
}

/// A place in a process's view, as the lexical chain of names from its
/// anchor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// The tree.
    pub anchor: Anchor,
    /// The names from the anchor down.
    pub components: Vec<Vec<u8>>,
}

impl Location {
    /// The process's root.
    pub fn root() -> Self {
        Location {
            anchor: Anchor::Root,
            components: Vec::new(),
        }
    }

    /// `/.../name` for a `/...` name (`a/b` → `/.../a/b`).
    pub fn in_dots(name: &[u8]) -> Self {
        Location {
            anchor: Anchor::Dots,
            components: components(name).map(Vec::from).collect(),
        }
    }

    /// The path as a program sees it: `/a/b` or `/.../a/b`.
    pub fn display(&self) -> Vec<u8> {
        let mut path = Vec::new();
        if self.anchor == Anchor::Dots {
            path.extend_from_slice(b"/...");
        }
        for component in &self.components {
            path.push(b'/');
            path.extend_from_slice(component);
        }
        if path.is_empty() {
            path.push(b'/');
        }
        path
    }
}

/// What a process sees: its root directory and its `/...`.
pub struct View<'a> {
    /// The root directory.
    pub root: InodeNumber,
    /// The `/...` namespace.
    pub dots: &'a DotView,
}

/// What a resolved name is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Node {
    /// A virtual directory of `/...` (read-only, listed from the namespace).
    Virtual,
    /// An inode of the file system, and whether it may be changed through
    /// the way it was reached.
    Inode {
        /// The inode.
        inode: InodeNumber,
        /// Writable through this path (false below a read-only `/...` leaf).
        writable: bool,
    },
}

/// A resolved name.
#[derive(Clone, Debug)]
pub struct Resolved {
    /// What it is.
    pub node: Node,
    /// The lexical location it was reached by.
    pub location: Location,
    /// Whether the walk went through `/...` at any point (programs may not
    /// be run from there).
    pub through_dots: bool,
}

impl Resolved {
    /// The inode, or `error` for a virtual directory.
    pub fn inode_or(&self, error: Errno) -> Result<InodeNumber, Errno> {
        match self.node {
            Node::Inode { inode, .. } => Ok(inode),
            Node::Virtual => Err(error),
        }
    }

    /// The inode, when it may be changed through this path.
    ///
    /// Return values: `AccessDenied` below a read-only `/...` entry or on a
    /// virtual `/...` directory.
    pub fn writable_inode(&self) -> Result<InodeNumber, Errno> {
        match self.node {
            Node::Inode {
                inode,
                writable: true,
            } => Ok(inode),
            _ => Err(Errno::AccessDenied),
        }
    }
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

/// Turns a `/...` error into an errno.
pub fn dots_errno(error: dotdotdot::Error) -> Errno {
    match error {
        dotdotdot::Error::InvalidName => Errno::InvalidArgument,
        dotdotdot::Error::NoSpace => Errno::NoSpace,
        dotdotdot::Error::Exists => Errno::Exists,
        dotdotdot::Error::NotFound => Errno::NotFound,
        dotdotdot::Error::InsideLeaf => Errno::NotADirectory,
    }
}

/// Splits a path into components, dropping empty ones and `.`.
fn components(path: &[u8]) -> impl Iterator<Item = &[u8]> {
    path.split(|&b| b == b'/')
        .filter(|c| !c.is_empty() && *c != b".")
}

/// One step of a walk.
struct Step {
    name: Vec<u8>,
    node: Node,
}

/// Resolves `path` in `view`, relative to `base` unless it is absolute.
/// With `follow_final`, a final symlink is followed.
///
/// Return values: `NotFound`, `NotADirectory`, `Loop`, `NameTooLong`,
/// `InvalidArgument` (reserved or invalid names), `InputOutput`.
pub fn resolve(
    file_system: &mut FileSystem<Disk>,
    view: &View<'_>,
    base: &Location,
    path: &[u8],
    follow_final: bool,
) -> Result<Resolved, Errno> {
    if path.len() > limits::PATH_BYTES {
        return Err(Errno::NameTooLong);
    }
    let mut anchor = Anchor::Root;
    let mut pending: VecDeque<Vec<u8>> = VecDeque::new();
    if !path.starts_with(b"/") {
        anchor = base.anchor;
        pending.extend(base.components.iter().cloned());
    }
    pending.extend(components(path).map(Vec::from));
    let mut chain: Vec<Step> = Vec::new();
    let mut through_dots = anchor == Anchor::Dots;
    let mut links_followed = 0;
    while let Some(component) = pending.pop_front() {
        if component == b".." {
            if chain.pop().is_none() && anchor == Anchor::Dots {
                anchor = Anchor::Root;
            }
            continue;
        }
        if anchor == Anchor::Root && chain.is_empty() && component == DOTS {
            anchor = Anchor::Dots;
            through_dots = true;
            continue;
        }
        let current = match chain.last() {
            Some(step) => step.node,
            None if anchor == Anchor::Root => Node::Inode {
                inode: view.root,
                writable: true,
            },
            None => Node::Virtual,
        };
        let node = match current {
            Node::Virtual => {
                let mut names: Vec<&[u8]> = chain.iter().map(|step| step.name.as_slice()).collect();
                names.push(&component);
                match view.dots.resolve(&names).map_err(dots_errno)? {
                    DotResolved::Virtual(_) => Node::Virtual,
                    DotResolved::Leaf { handle, mode, .. } => Node::Inode {
                        inode: handle.inode,
                        writable: mode == AccessMode::ReadWrite,
                    },
                }
            }
            Node::Inode {
                inode: directory,
                writable,
            } => {
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
                        anchor = Anchor::Root;
                    }
                    for (index, part) in components(&target).map(Vec::from).enumerate() {
                        pending.insert(index, part);
                    }
                    continue;
                }
                if !is_final && metadata.file_type != FileType::Directory {
                    return Err(Errno::NotADirectory);
                }
                Node::Inode { inode, writable }
            }
        };
        chain.push(Step {
            name: component,
            node,
        });
    }
    let node = match chain.last() {
        Some(step) => step.node,
        None if anchor == Anchor::Root => Node::Inode {
            inode: view.root,
            writable: true,
        },
        None => Node::Virtual,
    };
    let location = Location {
        anchor,
        components: chain.into_iter().map(|step| step.name).collect(),
    };
    Ok(Resolved {
        node,
        location,
        through_dots,
    })
}

/// Resolves all but the last component of `path`: the directory an entry
/// is created in, removed from or renamed in, and the entry's name.
///
/// Return values: as [`resolve`]; `InvalidArgument` when the path has no
/// last component or it is `.` or `..`.
pub fn resolve_parent(
    file_system: &mut FileSystem<Disk>,
    view: &View<'_>,
    base: &Location,
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
        None => (&b"."[..], trimmed),
    };
    if name.is_empty() || name == b"." || name == b".." {
        return Err(Errno::InvalidArgument);
    }
    let directory = resolve(file_system, view, base, parent, true)?;
    Ok((directory, Vec::from(name)))
}
