// SPDX-License-Identifier: MIT OR Apache-2.0
//! Path resolution in a view: a root, a `/...`, and `..` resolved
//! lexically. The one resolver of the system: the kernel resolves every
//! path of every process with it, and the host tools resolve theirs with
//! it too (a view of the volume's root with an empty `/...`).
//!
//! DESIGN §5. A process sees two trees: its root directory, and `/...`,
//! visible from every root, whose content is the process's own
//! [`DotView`] — virtual directories down to leaves that hold objects,
//! each with an access mode that binds everything reached through it.
//!
//! A walk extends a [`Location`] (the chain of steps, each holding what it
//! reached) and pops it for `..`: at the root `..` stays at the root, past
//! a `/...` leaf it returns into the virtual tree, and from `/...` itself
//! to the root. The on-disk `..` is never consulted (the file-system
//! library refuses to look it up), so renaming a directory elsewhere,
//! directory hardlinks or a cooperating process cannot lead out of a
//! view. A relative path starts from the base location's own objects —
//! never from its names — so a current directory or directory descriptor
//! renamed by another program still resolves inside itself. Symbolic links
//! are followed inside the same walk — absolute targets restart at the
//! view's root — at most [`MAX_SYMLINKS`] times.

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use dotdotdot::{AccessMode, Namespace, Resolved as DotsResolved};
use fs_ext2l::{BlockDevice, FileType};

use crate::error::Error;
use crate::live_objects::ObjectRef;
use crate::location::{Anchor, Location, Node};
use crate::volume::Volume;

/// Symbolic links followed in one resolution before `ELOOP` (Linux's
/// `MAXSYMLINKS`).
pub const MAX_SYMLINKS: usize = 40;

/// The name that leads from the root to `/...`.
pub const DOTS: &[u8] = b"...";

/// `/...` as a path.
pub(crate) const DOTS_PATH: &[u8] = b"/...";

/// A process's `/...`: its leaves hold objects.
pub type DotView = Namespace<ObjectRef>;

/// What a process sees: its root directory and its `/...`.
#[derive(Clone, Copy)]
pub struct View<'a> {
    /// The root directory.
    pub root: &'a ObjectRef,
    /// The `/...` namespace.
    pub dots: &'a DotView,
}

/// A resolved path.
#[derive(Clone, Debug)]
pub struct Resolved {
    /// Where it is: the chain down to it, its last step what it names.
    pub location: Location,
    /// Whether the walk went through `/...` at any point (programs may not
    /// be run from there, DESIGN §6).
    pub through_dots: bool,
}

impl Resolved {
    /// What the path names.
    pub fn node(&self) -> Node {
        self.location.node()
    }

    /// The object named, or `error` for a virtual directory.
    ///
    /// Return values: `error` for a virtual `/...` directory.
    pub fn object_or(&self, error: Error) -> Result<ObjectRef, Error> {
        self.location.object().ok_or(error)
    }

    /// The object named, when it may be changed through this path.
    ///
    /// Return values: `AccessDenied` below a read-only `/...` entry or for
    /// a virtual `/...` directory.
    pub fn writable_object(&self) -> Result<ObjectRef, Error> {
        match self.location.node() {
            Node::Object {
                object,
                writable: true,
            } => Ok(object),
            _ => Err(Error::AccessDenied),
        }
    }
}

/// Splits a path into components, dropping empty ones and `.`.
fn components(path: &[u8]) -> impl Iterator<Item = &[u8]> {
    path.split(|&byte| byte == b'/')
        .filter(|component| !component.is_empty() && *component != b".")
}

/// Resolves `path` in `view`, relative to `base` unless it is absolute.
/// With `follow_final`, a final symbolic link is followed.
///
/// Return values: the location; `PathTooLong`;
/// `FileSystem(NotFound | NotADirectory | TooManySymlinks | InvalidName)`;
/// `Dots(..)` for a `/...` name that does not exist or is invalid;
/// `Stale`, `OverBudget`, `TooManyObjects`, device errors.
pub fn resolve<D: BlockDevice>(
    volume: &mut Volume<D>,
    view: View<'_>,
    base: &Location,
    path: &[u8],
    follow_final: bool,
) -> Result<Resolved, Error> {
    if path.len() > manux_abi::limits::PATH_BYTES {
        return Err(Error::PathTooLong);
    }
    let mut location = if path.starts_with(b"/") {
        Location::root(view.root.clone())
    } else {
        base.clone()
    };
    let mut through_dots = location.is_in_dots();
    let mut pending: VecDeque<Vec<u8>> = components(path).map(Vec::from).collect();
    let mut links_followed = 0;
    while let Some(component) = pending.pop_front() {
        if component == b".." {
            location.pop(view.root);
            continue;
        }
        if matches!(location.anchor, Anchor::Root(_))
            && location.steps.is_empty()
            && component == DOTS
        {
            location = Location::dots();
            through_dots = true;
            continue;
        }
        let node = match location.node() {
            Node::Virtual => {
                let mut names = location.dots_names();
                names.push(&component);
                match view.dots.resolve(&names)? {
                    DotsResolved::Virtual(_) => Node::Virtual,
                    DotsResolved::Leaf { handle, mode, .. } => Node::Object {
                        object: handle.clone(),
                        writable: mode == AccessMode::ReadWrite,
                    },
                }
            }
            Node::Object {
                object: directory,
                writable,
            } => {
                let child = volume.lookup(&directory, &component)?;
                let is_final = pending.is_empty();
                if child.file_type() == FileType::Symlink && (!is_final || follow_final) {
                    links_followed += 1;
                    if links_followed > MAX_SYMLINKS {
                        return Err(Error::FileSystem(fs_ext2l::Error::TooManySymlinks));
                    }
                    let target = volume.readlink(&child)?;
                    if target.starts_with(b"/") {
                        location = Location::root(view.root.clone());
                    }
                    for (index, part) in components(&target).map(Vec::from).enumerate() {
                        pending.insert(index, part);
                    }
                    continue;
                }
                if !is_final && !child.is_directory() {
                    return Err(Error::FileSystem(fs_ext2l::Error::NotADirectory));
                }
                Node::Object {
                    object: child,
                    writable,
                }
            }
        };
        location.push(component, node);
    }
    Ok(Resolved {
        location,
        through_dots,
    })
}

/// Resolves all but the last component of `path`: the directory an entry
/// is created in, removed from or renamed in, and the entry's name.
///
/// Return values: as [`resolve`]; `InvalidPath` when the path has no last
/// component or it is `.` or `..`.
pub fn resolve_parent<D: BlockDevice>(
    volume: &mut Volume<D>,
    view: View<'_>,
    base: &Location,
    path: &[u8],
) -> Result<(Resolved, Vec<u8>), Error> {
    let mut end = path.len();
    while end > 1 && path[end - 1] == b'/' {
        end -= 1;
    }
    let trimmed = &path[..end];
    let (parent, name) = match trimmed.iter().rposition(|&byte| byte == b'/') {
        Some(0) => (&b"/"[..], &trimmed[1..]),
        Some(index) => (&trimmed[..index], &trimmed[index + 1..]),
        None => (&b"."[..], trimmed),
    };
    if name.is_empty() || name == b"." || name == b".." {
        return Err(Error::InvalidPath);
    }
    let directory = resolve(volume, view, base, parent, true)?;
    Ok((directory, Vec::from(name)))
}

impl<D: BlockDevice> Volume<D> {
    /// Resolves an absolute or root-relative `path` from the volume's root
    /// with no `/...` (the host tools' view): the object it names.
    ///
    /// Return values: as [`resolve`].
    pub fn resolve_path(&mut self, path: &[u8], follow_final: bool) -> Result<ObjectRef, Error> {
        let root = self.root()?;
        let dots = DotView::new();
        let view = View {
            root: &root,
            dots: &dots,
        };
        let resolved = resolve(
            self,
            view,
            &Location::root(root.clone()),
            path,
            follow_final,
        )?;
        resolved.object_or(Error::FileSystem(fs_ext2l::Error::NotFound))
    }

    /// Splits `path` (from the volume's root, no `/...`) into its parent
    /// directory, held, and its last name.
    ///
    /// Return values: as [`resolve_parent`].
    pub fn resolve_parent_path(&mut self, path: &[u8]) -> Result<(ObjectRef, Vec<u8>), Error> {
        let root = self.root()?;
        let dots = DotView::new();
        let view = View {
            root: &root,
            dots: &dots,
        };
        let (parent, name) = resolve_parent(self, view, &Location::root(root.clone()), path)?;
        let directory = parent.object_or(Error::FileSystem(fs_ext2l::Error::NotFound))?;
        Ok((directory, name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fs_ext2l::{format, FormatOptions, MemoryDevice, MountOptions};

    fn volume() -> Volume<MemoryDevice> {
        let options = FormatOptions {
            size: 512 * 1024,
            ..FormatOptions::default()
        };
        let file_system = format(
            MemoryDevice::new(512 * 1024),
            &options,
            MountOptions::default(),
        )
        .unwrap();
        Volume::new(file_system, 64).unwrap()
    }

    #[test]
    fn symbolic_links_dot_dot_and_loops() {
        let mut volume = volume();
        let root = volume.root().unwrap();
        volume.mkdir(&root, b"b", 0o755).unwrap();
        let b = volume.lookup(&root, b"b").unwrap();
        volume.mkdir(&b, b"inner", 0o755).unwrap();
        let file = volume.create(&b, b"victim", 0o644).unwrap();
        volume.symlink(&root, b"fast", b"b/victim").unwrap();
        let long_target = [
            b"b/inner/..".as_slice(),
            &b"/./inner/..".repeat(20),
            b"/victim",
        ]
        .concat();
        volume.symlink(&root, b"slow", &long_target).unwrap();
        let fast = volume.lookup(&root, b"fast").unwrap();
        assert_eq!(volume.resolve_path(b"/fast", true), Ok(file.clone()));
        assert_eq!(volume.resolve_path(b"/fast", false), Ok(fast));
        assert_eq!(volume.resolve_path(b"/slow", true), Ok(file.clone()));
        assert_eq!(volume.resolve_path(b"/b/inner/../victim", true), Ok(file));
        // `..` at the root stays at the root.
        assert_eq!(volume.resolve_path(b"/../../b", true), Ok(b.clone()));
        volume.symlink(&root, b"loop1", b"loop2").unwrap();
        volume.symlink(&root, b"loop2", b"loop1").unwrap();
        assert_eq!(
            volume.resolve_path(b"/loop1", true),
            Err(Error::FileSystem(fs_ext2l::Error::TooManySymlinks))
        );
        assert_eq!(
            volume.resolve_path(b"/b/victim/x", true),
            Err(Error::FileSystem(fs_ext2l::Error::NotADirectory))
        );
        let (parent, name) = volume.resolve_parent_path(b"/b/inner/new/").unwrap();
        assert_eq!(
            (volume.lookup(&b, b"inner").unwrap(), &name[..]),
            (parent, &b"new"[..])
        );
        assert_eq!(
            volume.resolve_parent_path(b"/b/.."),
            Err(Error::InvalidPath)
        );
    }

    #[test]
    fn dots_and_lexical_dot_dot_from_a_leaf() {
        let mut volume = volume();
        let root = volume.root().unwrap();
        volume.mkdir(&root, b"jail", 0o755).unwrap();
        volume.mkdir(&root, b"outside", 0o755).unwrap();
        let jail = volume.lookup(&root, b"jail").unwrap();
        let outside = volume.lookup(&root, b"outside").unwrap();
        volume.create(&outside, b"secret", 0o600).unwrap();
        let mut dots = DotView::new();
        dots.put(b"shared/dir", outside.clone(), AccessMode::ReadOnly)
            .unwrap();
        let view = View {
            root: &jail,
            dots: &dots,
        };
        let start = Location::root(jail.clone());
        // Through /... the leaf is reached, read-only.
        let found = resolve(&mut volume, view, &start, b"/.../shared/dir/secret", true).unwrap();
        assert!(found.through_dots);
        assert!(!found.node().is_writable());
        // `..` from inside the leaf returns into /..., never to the disk's
        // parent of `outside`; from /... to the jail's root.
        let up = resolve(&mut volume, view, &start, b"/.../shared/dir/../..", true).unwrap();
        assert_eq!(up.location.display(), b"/...");
        let top = resolve(
            &mut volume,
            view,
            &start,
            b"/.../shared/dir/../../../..",
            true,
        )
        .unwrap();
        assert_eq!(top.location.object(), Some(jail.clone()));
        assert_eq!(
            resolve(&mut volume, view, &start, b"/../outside", true).err(),
            Some(Error::FileSystem(fs_ext2l::Error::NotFound))
        );
        assert_eq!(
            resolve(&mut volume, view, &start, b"/.../missing", true).err(),
            Some(Error::Dots(dotdotdot::Error::NotFound))
        );
    }

    #[test]
    fn a_renamed_base_still_resolves_inside_itself() {
        let mut volume = volume();
        let root = volume.root().unwrap();
        volume.mkdir(&root, b"lv", 0o755).unwrap();
        let lv = volume.lookup(&root, b"lv").unwrap();
        volume.mkdir(&lv, b"a", 0o755).unwrap();
        let dots = DotView::new();
        let view = View {
            root: &root,
            dots: &dots,
        };
        let cwd = resolve(
            &mut volume,
            view,
            &Location::root(root.clone()),
            b"/lv/a",
            true,
        )
        .unwrap()
        .location;
        let a = cwd.object().unwrap();
        volume.create(&a, b"f", 0o644).unwrap();
        volume.rename(&root, b"lv", &root, b"lw").unwrap();
        let f = resolve(&mut volume, view, &cwd, b"f", true).unwrap();
        assert_eq!(f.location.display(), b"/lv/a/f");
        let parent = resolve(&mut volume, view, &cwd, b"..", true).unwrap();
        assert_eq!(parent.location.object(), Some(lv));
        assert_eq!(cwd.display(), b"/lv/a");
    }

    #[test]
    fn the_symbolic_link_limit_is_exactly_max_symlinks() {
        let mut volume = volume();
        let root = volume.root().unwrap();
        let file = volume.create(&root, b"file", 0o644).unwrap();
        // `l1` → `l2` → … → `l40` → `file`: 40 links followed.
        for index in 1..=MAX_SYMLINKS {
            let name = alloc::format!("l{index}");
            let target = if index == MAX_SYMLINKS {
                alloc::string::String::from("file")
            } else {
                alloc::format!("l{}", index + 1)
            };
            volume
                .symlink(&root, name.as_bytes(), target.as_bytes())
                .unwrap();
        }
        assert_eq!(volume.resolve_path(b"/l1", true), Ok(file.clone()));
        // One more is one too many, whether the links are final or not.
        volume.symlink(&root, b"l0", b"l1").unwrap();
        let too_many = Err(Error::FileSystem(fs_ext2l::Error::TooManySymlinks));
        assert_eq!(volume.resolve_path(b"/l0", true), too_many);
        // Not following the final link counts none.
        let l0 = volume.lookup(&root, b"l0").unwrap();
        assert_eq!(volume.resolve_path(b"/l0", false), Ok(l0));
        // Links met in the middle of a path count too.
        assert_eq!(volume.resolve_path(b"/l0/x", true), too_many);
        // A dangling link names nothing.
        volume.symlink(&root, b"dangling", b"nowhere").unwrap();
        assert_eq!(
            volume.resolve_path(b"/dangling", true),
            Err(Error::FileSystem(fs_ext2l::Error::NotFound))
        );
    }

    #[test]
    fn dot_dot_at_the_view_root_stays_in_the_view() {
        let mut volume = volume();
        let root = volume.root().unwrap();
        volume.mkdir(&root, b"jail", 0o755).unwrap();
        let jail = volume.lookup(&root, b"jail").unwrap();
        volume.create(&root, b"secret", 0o600).unwrap();
        volume.mkdir(&jail, b"sub", 0o755).unwrap();
        let sub = volume.lookup(&jail, b"sub").unwrap();
        let inside = volume.create(&jail, b"secret", 0o600).unwrap();
        // Links trying to climb out: relative, absolute, through `..`.
        volume.symlink(&sub, b"up", b"../../../..").unwrap();
        volume.symlink(&sub, b"absolute", b"/secret").unwrap();
        volume.symlink(&sub, b"climb", b"/../../secret").unwrap();
        let dots = DotView::new();
        let view = View {
            root: &jail,
            dots: &dots,
        };
        let at_root = Location::root(jail.clone());
        let in_sub = resolve(&mut volume, view, &at_root, b"sub", true)
            .unwrap()
            .location;
        for (base, path) in [
            (&at_root, &b".."[..]),
            (&at_root, b"../.."),
            (&at_root, b"/../../.."),
            (&in_sub, b"../../.."),
            (&in_sub, b"up"),
            (&in_sub, b"up/../.."),
            (&at_root, b"sub/up"),
        ] {
            let found = resolve(&mut volume, view, base, path, true).unwrap();
            assert_eq!(found.location.object(), Some(jail.clone()), "{path:?}");
            assert_eq!(found.location.display(), b"/");
        }
        // Every absolute or climbing link lands in the view's root.
        for path in [&b"sub/absolute"[..], b"sub/climb", b"sub/up/secret"] {
            let found = resolve(&mut volume, view, &at_root, path, true).unwrap();
            assert_eq!(found.location.object(), Some(inside.clone()), "{path:?}");
        }
        assert!(
            !resolve(&mut volume, view, &at_root, b"sub/up", true)
                .unwrap()
                .through_dots
        );
    }

    #[test]
    fn dots_names_virtual_directories_and_leaf_access() {
        let mut volume = volume();
        let root = volume.root().unwrap();
        volume.mkdir(&root, b"jail", 0o755).unwrap();
        volume.mkdir(&root, b"ro", 0o755).unwrap();
        volume.mkdir(&root, b"rw", 0o755).unwrap();
        let jail = volume.lookup(&root, b"jail").unwrap();
        let ro = volume.lookup(&root, b"ro").unwrap();
        let rw = volume.lookup(&root, b"rw").unwrap();
        let in_jail = volume.create(&jail, b"f", 0o644).unwrap();
        let in_ro = volume.create(&ro, b"f", 0o644).unwrap();
        volume.create(&rw, b"f", 0o644).unwrap();
        volume.mkdir(&jail, b"sub", 0o755).unwrap();
        // Inside the read-only leaf: links out of it, lexical and absolute.
        volume.symlink(&ro, b"out", b"../../..").unwrap();
        volume.symlink(&ro, b"home", b"/f").unwrap();
        volume.symlink(&ro, b"dots", b"/.../b/rw/f").unwrap();
        let mut dots = DotView::new();
        dots.put(b"a/ro", ro.clone(), AccessMode::ReadOnly).unwrap();
        dots.put(b"b/rw", rw.clone(), AccessMode::ReadWrite)
            .unwrap();
        let view = View {
            root: &jail,
            dots: &dots,
        };
        let start = Location::root(jail.clone());
        let mut at = |path: &[u8]| resolve(&mut volume, view, &start, path, true);
        // `/...` and its inner directories are virtual; leaves hold objects.
        for path in [&b"/..."[..], b"...", b"/.../a", b"/.../a/ro/.."] {
            let found = at(path).unwrap();
            assert_eq!(found.node(), Node::Virtual, "{path:?}");
            assert!(found.through_dots);
        }
        assert_eq!(at(b"/.../a/ro/..").unwrap().location.display(), b"/.../a");
        // `..` from `/...` is the view's root.
        assert_eq!(
            at(b"/.../..").unwrap().location.object(),
            Some(jail.clone())
        );
        assert_eq!(
            at(b"/.../a/../../f").unwrap().location.object(),
            Some(in_jail.clone())
        );
        // A leaf's access binds everything below it.
        let read_only = at(b"/.../a/ro/f").unwrap();
        assert_eq!(read_only.location.object(), Some(in_ro.clone()));
        assert_eq!(read_only.writable_object(), Err(Error::AccessDenied));
        assert!(at(b"/.../b/rw/f").unwrap().writable_object().is_ok());
        assert!(at(b"/.../b/rw/../rw/f").unwrap().writable_object().is_ok());
        // A virtual directory is never writable, and has no object.
        assert_eq!(
            at(b"/.../a").unwrap().writable_object(),
            Err(Error::AccessDenied)
        );
        // `...` is `/...` only as the first name from the root; below,
        // it is a name on disk, which the file system never holds.
        assert_eq!(
            at(b"/sub/...").err(),
            Some(Error::FileSystem(fs_ext2l::Error::InvalidName))
        );
        // Names the namespace lacks or refuses.
        assert_eq!(
            at(b"/.../c").err(),
            Some(Error::Dots(dotdotdot::Error::NotFound))
        );
        assert_eq!(
            at(b"/.../a/x").err(),
            Some(Error::Dots(dotdotdot::Error::NotFound))
        );
        let long = [&b"/.../"[..], &[b'x'; dotdotdot::MAX_COMPONENT_LENGTH + 1]].concat();
        assert_eq!(
            at(&long).err(),
            Some(Error::Dots(dotdotdot::Error::InvalidName))
        );
        // Links inside a leaf: `..` climbs lexically (leaf, `/...`, root);
        // an absolute target starts at the view's root, never the disk's.
        let out = at(b"/.../a/ro/out").unwrap();
        assert_eq!(out.location.object(), Some(jail.clone()));
        assert!(out.through_dots);
        assert_eq!(
            at(b"/.../a/ro/home").unwrap().location.object(),
            Some(in_jail)
        );
        let across = at(b"/.../a/ro/dots").unwrap();
        assert!(across.writable_object().is_ok(), "the rw leaf's own access");
    }
}
