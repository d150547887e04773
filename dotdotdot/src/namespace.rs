// SPDX-License-Identifier: MIT OR Apache-2.0
//! One domain's `/...` tree and the operations on it.
//!
//! [`Namespace`] is the whole tree of one xchroot domain: put and remove one
//! name, remove every name, look a name up, resolve a path for the kernel's
//! walk ([`Resolved`]), and pick a [`FreshName`] for a launcher. Atomic batches
//! for `xchroot()` are in the `batch` module ([`Namespace::apply`]).
//!
//! Every change first checks, without touching the tree, that it will succeed
//! and stay within [`MAX_ENTRIES`]; only then does it copy (if shared) and
//! modify the directories on its path. So a failed operation changes nothing,
//! not even which storage the namespace shares with its clones.
//!
//! Invariants kept here (the fields are private): `name_count` is the number of
//! names below the root, at most [`MAX_ENTRIES`]; no virtual directory but the
//! root is empty; every stored name passed [`validate_name`](crate::validate_name).

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::fmt;

use crate::limits::MAX_ENTRIES;
use crate::name::{validate_component, Components, FreshName};
use crate::tree::{AccessMode, Entry, Leaf, Node, VirtualDirectory};
use crate::Error;

/// One domain's `/...`: a tree of names whose leaves refer to real files or
/// directories through the kernel's `Handle` type.
///
/// `Clone` is O(1) and the clone shares all storage; the two diverge, copying
/// only what a change touches, when one of them is changed (DESIGN §5: a child
/// starts with its parent's view and they share it until one of them calls
/// `xchroot()`).
pub struct Namespace<Handle> {
    root: VirtualDirectory<Handle>,
    name_count: usize,
}

// Written out because `derive` would require `Handle: Clone`; a clone copies
// one pointer.
impl<Handle> Clone for Namespace<Handle> {
    fn clone(&self) -> Self {
        Namespace {
            root: self.root.clone(),
            name_count: self.name_count,
        }
    }
}

impl<Handle: PartialEq> PartialEq for Namespace<Handle> {
    fn eq(&self, other: &Self) -> bool {
        // Equal trees hold equally many names, so the root decides.
        self.root == other.root
    }
}

impl<Handle: Eq> Eq for Namespace<Handle> {}

impl<Handle: fmt::Debug> fmt::Debug for Namespace<Handle> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Namespace")
            .field("name_count", &self.name_count)
            .field("root", &self.root)
            .finish()
    }
}

impl<Handle> Default for Namespace<Handle> {
    fn default() -> Self {
        Self::new()
    }
}

/// Where a path below `/...` leads, as [`Namespace::resolve`] finds it.
#[derive(Debug, PartialEq, Eq)]
pub enum Resolved<'tree, 'path, Handle, Component> {
    /// The path names a virtual directory (the root `/...` for an empty path):
    /// the kernel lists it and refuses every change inside it.
    Virtual(&'tree VirtualDirectory<Handle>),
    /// The path reaches a leaf. The kernel continues with `rest` inside the
    /// leaf's file or directory on the real file system, and `mode` limits
    /// everything it reaches there.
    Leaf {
        /// The leaf's file or directory.
        handle: &'tree Handle,
        /// The leaf's access mode, binding for everything below it.
        mode: AccessMode,
        /// The components after the leaf's name, exactly as given (possibly
        /// empty). The kernel walks them on the file system and must resolve
        /// any `..` among them lexically (DESIGN §5): a `..` that climbs past
        /// the leaf returns into this tree, never to the leaf's on-disk parent.
        rest: &'path [Component],
    },
}

impl<Handle> Namespace<Handle> {
    /// An empty `/...`: no names, only the root virtual directory.
    pub fn new() -> Self {
        Namespace {
            root: VirtualDirectory::empty(),
            name_count: 0,
        }
    }

    /// The root virtual directory, `/...` itself.
    pub fn root(&self) -> &VirtualDirectory<Handle> {
        &self.root
    }

    /// How many names the tree holds, leaves and virtual directories together:
    /// the quantity [`MAX_ENTRIES`] bounds.
    pub fn len(&self) -> usize {
        self.name_count
    }

    /// Whether the tree holds no name at all.
    pub fn is_empty(&self) -> bool {
        self.name_count == 0
    }

    /// Whether `self` and `other` still share their storage: true from a clone
    /// until a successful change to either. Equal namespaces built apart are
    /// not sharing.
    pub fn shares_storage_with(&self, other: &Self) -> bool {
        self.root.shares_storage_with(&other.root)
    }

    /// What `name` (such as `rocknroll` or `rocknroll/blues.dat`) is in the
    /// tree.
    ///
    /// Return values:
    /// - `Ok(entry)`: a leaf or a virtual directory;
    /// - [`Error::InvalidName`]: `name` breaks the naming rules (so `/...`
    ///   itself cannot be looked up; use [`Namespace::root`]);
    /// - [`Error::NotFound`]: no such name;
    /// - [`Error::InsideLeaf`]: a prefix of `name` is a leaf; what lies inside
    ///   a leaf is the file system's, see [`Namespace::resolve`].
    pub fn lookup(&self, name: &[u8]) -> Result<Entry<'_, Handle>, Error> {
        let components = Components::parse(name)?;
        self.find_node(components.as_slice()).map(Node::as_entry)
    }

    /// Follows a path below `/...`, given as its components, as far as the
    /// tree goes: to a virtual directory, or to the first leaf on the way.
    ///
    /// For the kernel's path walk. `..` is not handled here: the kernel
    /// resolves it lexically before or while walking (DESIGN §5), so the
    /// components it passes down to the first leaf contain none.
    ///
    /// Return values:
    /// - `Ok(Resolved::Virtual(directory))`: every component named a virtual
    ///   directory (an empty path gives the root);
    /// - `Ok(Resolved::Leaf { handle, mode, rest })`: a leaf was reached;
    ///   `rest` is what follows it, unchecked, for the file system walk;
    /// - [`Error::InvalidName`]: a component before the first leaf is not a
    ///   valid component (empty, `.`, `..`, dot-only, NUL, too long): the
    ///   kernel should have removed dots and empty components already;
    /// - [`Error::NotFound`]: a component before the first leaf names nothing.
    pub fn resolve<'tree, 'path, Component: AsRef<[u8]>>(
        &'tree self,
        components: &'path [Component],
    ) -> Result<Resolved<'tree, 'path, Handle, Component>, Error> {
        let mut directory = &self.root;
        for (index, component) in components.iter().enumerate() {
            let component = component.as_ref();
            validate_component(component)?;
            match directory.child_node(component) {
                None => return Err(Error::NotFound),
                Some(Node::Directory(child)) => directory = child,
                Some(Node::Leaf(leaf)) => {
                    return Ok(Resolved::Leaf {
                        handle: &leaf.handle,
                        mode: leaf.mode,
                        rest: &components[index + 1..],
                    })
                }
            }
        }
        Ok(Resolved::Virtual(directory))
    }

    /// Every leaf with its full name (components joined by `/`), in the order
    /// of a depth-first walk of sorted directories; for a `dots`-style listing
    /// of the whole domain.
    ///
    /// Return values: the leaves, possibly none.
    pub fn leaves(&self) -> Vec<(Vec<u8>, &Leaf<Handle>)> {
        let mut leaves = Vec::new();
        let mut path = Vec::new();
        collect_leaves(&self.root, &mut path, &mut leaves);
        leaves
    }

    /// The smallest decimal name, from `1` up, not used at the top level of
    /// `/...`; a launcher puts an argument's file at `/.../N/file` (DESIGN §7).
    ///
    /// Deterministic, and never an existing top-level name; only the top level
    /// matters because a launcher's name `N/file` collides with nothing once
    /// `N` is free. The same name comes back until it is used; for several at
    /// once, see [`fresh_names`](crate::fresh_names).
    ///
    /// Return values: the name; this cannot fail.
    pub fn fresh_name(&self) -> FreshName {
        // The top level holds at most MAX_ENTRIES names, so one of the
        // numbers 1..=MAX_ENTRIES + 1 is free: the loop ends long before
        // `number` could overflow.
        let mut number = 1;
        loop {
            let name = FreshName::from_number(number);
            if self.root.child_node(name.as_bytes()).is_none() {
                return name;
            }
            number += 1;
        }
    }

    /// The node at `components`, which must be non-empty and valid.
    fn find_node(&self, components: &[&[u8]]) -> Result<&Node<Handle>, Error> {
        let (last, parents) = components.split_last().ok_or(Error::InvalidName)?;
        let mut directory = &self.root;
        for component in parents {
            match directory.child_node(component) {
                None => return Err(Error::NotFound),
                Some(Node::Leaf(_)) => return Err(Error::InsideLeaf),
                Some(Node::Directory(child)) => directory = child,
            }
        }
        directory.child_node(last).ok_or(Error::NotFound)
    }

    /// How many names a put at `components` (non-empty, valid) would add: the
    /// missing virtual directories on the way plus the leaf. Read-only, so a
    /// refused put copies nothing.
    fn names_added_by_put(&self, components: &[&[u8]]) -> Result<usize, Error> {
        let (last, parents) = components.split_last().ok_or(Error::InvalidName)?;
        let mut directory = &self.root;
        for (depth, component) in parents.iter().enumerate() {
            match directory.child_node(component) {
                // This directory and every one below it are new, and so is
                // the leaf: the components from `depth` on.
                None => return Ok(components.len() - depth),
                Some(Node::Leaf(_)) => return Err(Error::InsideLeaf),
                Some(Node::Directory(child)) => directory = child,
            }
        }
        match directory.child_node(last) {
            Some(_) => Err(Error::Exists),
            None => Ok(1),
        }
    }
}

impl<Handle: Clone> Namespace<Handle> {
    /// Puts a leaf at `name`, referring to `handle` with access `mode`,
    /// creating the virtual directories above it that do not exist yet.
    ///
    /// Nothing is ever replaced: a put onto an existing name fails, so a
    /// caller cannot swap the file under a name another part of the program
    /// relies on by mistake; remove first, in the same batch if it must be
    /// atomic ([`Namespace::apply`]).
    ///
    /// Return values:
    /// - `Ok(())`: the leaf is in place;
    /// - [`Error::InvalidName`]: `name` breaks the naming rules;
    /// - [`Error::InsideLeaf`]: a prefix of `name` is a leaf;
    /// - [`Error::Exists`]: `name` is already a leaf or a virtual directory;
    /// - [`Error::NoSpace`]: the leaf and its new virtual directories would
    ///   take the tree over [`MAX_ENTRIES`] names.
    pub fn put(&mut self, name: &[u8], handle: Handle, mode: AccessMode) -> Result<(), Error> {
        let components = Components::parse(name)?;
        let components = components.as_slice();
        let names_added = self.names_added_by_put(components)?;
        if self.name_count + names_added > MAX_ENTRIES {
            return Err(Error::NoSpace);
        }
        // The checks above are exactly those `insert_leaf` repeats, so it
        // cannot fail here; its `Result` only keeps it free of panics.
        insert_leaf(&mut self.root, components, Leaf { handle, mode })?;
        self.name_count += names_added;
        Ok(())
    }

    /// Removes `name` and, if it is a virtual directory, every name below it;
    /// then removes the virtual directories above it that this left empty.
    ///
    /// Removing a virtual directory removes its subtree because the directory
    /// has no existence of its own: `remove 3` is how a launcher's caller
    /// drops everything it exposed under `3/`.
    ///
    /// Return values:
    /// - `Ok(())`: the name and everything below it are gone;
    /// - [`Error::InvalidName`]: `name` breaks the naming rules (use
    ///   [`Namespace::remove_all`] to empty `/...`);
    /// - [`Error::InsideLeaf`]: a prefix of `name` is a leaf (what lies inside
    ///   a leaf is the file system's);
    /// - [`Error::NotFound`]: no such name.
    pub fn remove(&mut self, name: &[u8]) -> Result<(), Error> {
        let components = Components::parse(name)?;
        let components = components.as_slice();
        self.find_node(components)?;
        // `find_node` found the name, so `remove_node` cannot fail here.
        let names_removed = remove_node(&mut self.root, components)?;
        self.name_count -= names_removed;
        Ok(())
    }

    /// Removes every name: `/...` becomes empty. Cannot fail.
    pub fn remove_all(&mut self) {
        // A fresh root rather than clearing the old one: a clone still
        // sharing the old root keeps it, and nothing is copied.
        self.root = VirtualDirectory::empty();
        self.name_count = 0;
    }
}

/// Puts `leaf` at `components` below `directory`, creating missing virtual
/// directories; copies shared directories on the way.
///
/// Return values: `Ok(())`, or the error [`Namespace::put`] would have found
/// first (`InsideLeaf`, `Exists`) if the caller did not check.
fn insert_leaf<Handle: Clone>(
    directory: &mut VirtualDirectory<Handle>,
    components: &[&[u8]],
    leaf: Leaf<Handle>,
) -> Result<(), Error> {
    let (first, rest) = components.split_first().ok_or(Error::InvalidName)?;
    let children = directory.children_mut();
    if let Some(node) = children.get_mut(*first) {
        return match node {
            Node::Directory(child) if !rest.is_empty() => insert_leaf(child, rest, leaf),
            Node::Leaf(_) if !rest.is_empty() => Err(Error::InsideLeaf),
            _ => Err(Error::Exists),
        };
    }
    let node = if rest.is_empty() {
        Node::Leaf(leaf)
    } else {
        let mut child = VirtualDirectory::empty();
        insert_leaf(&mut child, rest, leaf)?;
        Node::Directory(child)
    };
    children.insert(Box::from(*first), node);
    Ok(())
}

/// Removes the node at `components` below `directory`, pruning directories
/// it leaves empty (but never `directory` itself: the caller prunes it).
///
/// Return values: `Ok(count)` of names removed, pruned directories included;
/// or `NotFound` / `InsideLeaf` if the caller did not check.
fn remove_node<Handle: Clone>(
    directory: &mut VirtualDirectory<Handle>,
    components: &[&[u8]],
) -> Result<usize, Error> {
    let (first, rest) = components.split_first().ok_or(Error::InvalidName)?;
    let children = directory.children_mut();
    if rest.is_empty() {
        let node = children.remove(*first).ok_or(Error::NotFound)?;
        return Ok(node.name_count());
    }
    let (names_removed, child_now_empty) = match children.get_mut(*first) {
        None => return Err(Error::NotFound),
        Some(Node::Leaf(_)) => return Err(Error::InsideLeaf),
        Some(Node::Directory(child)) => (remove_node(child, rest)?, child.is_empty()),
    };
    if child_now_empty {
        // A virtual directory exists only because of what lies below it.
        children.remove(*first);
        return Ok(names_removed + 1);
    }
    Ok(names_removed)
}

/// Appends the leaves below `directory` to `leaves`; `path` holds the name of
/// `directory` (empty for the root) and is restored before returning.
fn collect_leaves<'tree, Handle>(
    directory: &'tree VirtualDirectory<Handle>,
    path: &mut Vec<u8>,
    leaves: &mut Vec<(Vec<u8>, &'tree Leaf<Handle>)>,
) {
    for (component, entry) in directory.entries() {
        let parent_length = path.len();
        if parent_length > 0 {
            path.push(b'/');
        }
        path.extend_from_slice(component);
        match entry {
            Entry::Leaf(leaf) => leaves.push((path.clone(), leaf)),
            Entry::Directory(child) => collect_leaves(child, path, leaves),
        }
        path.truncate(parent_length);
    }
}
