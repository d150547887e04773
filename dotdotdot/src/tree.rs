// SPDX-License-Identifier: MIT OR Apache-2.0
//! The nodes of the `/...` tree: leaves and virtual directories.
//!
//! A [`Leaf`] refers to a file or directory of a mounted file system through a
//! handle of the kernel's choosing (an inode reference, by inode and not by
//! path, DESIGN §5) and carries the [`AccessMode`] everything reached through
//! it is limited to. A [`VirtualDirectory`] has no existence of its own: it is
//! there because some leaf lies below it, and it disappears with its last
//! leaf; it is listable and read-only.
//!
//! Copy on write: a [`VirtualDirectory`] is a reference-counted pointer to its
//! children, so cloning one (and so cloning a whole
//! [`Namespace`](crate::Namespace)) is O(1) and the copies share every node.
//! A change copies only the directories on the path from the root to the
//! changed name, and only those still shared (`Arc::make_mut`); the other
//! holders keep seeing the old tree. This is how a child process shares its
//! parent's view until one of them applies an `xchroot()` (DESIGN §5), and why
//! a virtual directory a kernel keeps open is a stable snapshot.
//!
//! This module owns the tree's shape; the `namespace` module owns the counting
//! and the invariant that no virtual directory but the root is empty.

use alloc::boxed::Box;
use alloc::collections::btree_map;
use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use core::fmt;

use crate::name::DisplayName;

/// What a process may do through a leaf and everything reached through it.
///
/// `ReadOnly < ReadWrite`, so the narrower of two modes is their minimum (see
/// [`AccessMode::narrowed_to`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AccessMode {
    /// Files reached through the leaf can be read, directories listed and
    /// walked; nothing can be written, created, removed or renamed.
    ReadOnly,
    /// Everything the file system itself allows.
    ReadWrite,
}

impl AccessMode {
    /// Whether this mode allows changing what it covers.
    pub fn allows_write(self) -> bool {
        self == AccessMode::ReadWrite
    }

    /// The narrower of `self` and `limit`.
    ///
    /// The kernel needs this when it puts an entry whose source it reached
    /// through another leaf: carrying `/.../in/x` (read-only) under a new name
    /// must not make it writable, so the new mode is the requested one
    /// narrowed to the mode the source was reached with.
    ///
    /// Return values: `ReadWrite` only if both are `ReadWrite`.
    pub fn narrowed_to(self, limit: AccessMode) -> AccessMode {
        core::cmp::min(self, limit)
    }
}

/// A name of the tree that refers to a real file or directory.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Leaf<Handle> {
    pub(crate) handle: Handle,
    pub(crate) mode: AccessMode,
}

impl<Handle> Leaf<Handle> {
    /// The kernel's handle of the file or directory.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// The access mode of everything reached through this leaf.
    pub fn mode(&self) -> AccessMode {
        self.mode
    }
}

impl<Handle: fmt::Debug> fmt::Debug for Leaf<Handle> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{:?} ({:?})", self.handle, self.mode)
    }
}

/// One child of a virtual directory. Private: callers see [`Entry`], which
/// borrows, so they cannot break the tree's invariants.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) enum Node<Handle> {
    Leaf(Leaf<Handle>),
    Directory(VirtualDirectory<Handle>),
}

impl<Handle> Node<Handle> {
    /// Names this node holds, itself included: 1 for a leaf, 1 plus its
    /// descendants for a virtual directory.
    pub(crate) fn name_count(&self) -> usize {
        match self {
            Node::Leaf(_) => 1,
            Node::Directory(directory) => 1 + directory.descendant_count(),
        }
    }

    pub(crate) fn as_entry(&self) -> Entry<'_, Handle> {
        match self {
            Node::Leaf(leaf) => Entry::Leaf(leaf),
            Node::Directory(directory) => Entry::Directory(directory),
        }
    }
}

/// The children of a virtual directory, by component, in byte order.
pub(crate) type Children<Handle> = BTreeMap<Box<[u8]>, Node<Handle>>;

/// A directory of `/...` that exists because leaves lie below it.
///
/// Cheap to clone (one reference count): a clone is a snapshot that later
/// changes to the namespace do not touch, which a kernel can keep in an open
/// directory descriptor.
pub struct VirtualDirectory<Handle> {
    children: Arc<Children<Handle>>,
}

// Written out because `derive` would require `Handle: Clone`, and a clone here
// copies only the pointer.
impl<Handle> Clone for VirtualDirectory<Handle> {
    fn clone(&self) -> Self {
        VirtualDirectory {
            children: Arc::clone(&self.children),
        }
    }
}

impl<Handle: PartialEq> PartialEq for VirtualDirectory<Handle> {
    fn eq(&self, other: &Self) -> bool {
        // Shared storage is equal without a walk.
        Arc::ptr_eq(&self.children, &other.children) || self.children == other.children
    }
}

impl<Handle: Eq> Eq for VirtualDirectory<Handle> {}

impl<Handle: core::hash::Hash> core::hash::Hash for VirtualDirectory<Handle> {
    fn hash<State: core::hash::Hasher>(&self, state: &mut State) {
        self.children.hash(state);
    }
}

impl<Handle: fmt::Debug> fmt::Debug for VirtualDirectory<Handle> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_map()
            .entries(
                self.entries()
                    .map(|(name, entry)| (DisplayName(name), entry)),
            )
            .finish()
    }
}

impl<Handle> VirtualDirectory<Handle> {
    /// An empty directory; only the root may stay empty.
    pub(crate) fn empty() -> Self {
        VirtualDirectory {
            children: Arc::new(BTreeMap::new()),
        }
    }

    /// How many names this directory holds directly.
    pub fn len(&self) -> usize {
        self.children.len()
    }

    /// Whether it holds no name; only the root of an empty `/...` does.
    pub fn is_empty(&self) -> bool {
        self.children.is_empty()
    }

    /// The child called `component`, if any.
    ///
    /// Return values: `Some(entry)`, or `None` when there is no such child
    /// (an invalid component simply matches nothing).
    pub fn get(&self, component: &[u8]) -> Option<Entry<'_, Handle>> {
        self.children.get(component).map(Node::as_entry)
    }

    /// The children with their names, sorted by the bytes of their names, the
    /// stable order a `readdir` of this directory returns.
    pub fn entries(&self) -> Entries<'_, Handle> {
        Entries {
            inner: self.children.iter(),
        }
    }

    /// Whether `self` and `other` are the same storage, not just equal: true
    /// until a change to one of their holders copies it.
    pub fn shares_storage_with(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.children, &other.children)
    }

    /// Names below this directory, at any depth.
    pub(crate) fn descendant_count(&self) -> usize {
        self.children.values().map(Node::name_count).sum()
    }

    pub(crate) fn child_node(&self, component: &[u8]) -> Option<&Node<Handle>> {
        self.children.get(component)
    }
}

impl<Handle: Clone> VirtualDirectory<Handle> {
    /// The children, for a change: copies them first if another namespace,
    /// snapshot or clone still shares them (copy on write).
    pub(crate) fn children_mut(&mut self) -> &mut Children<Handle> {
        Arc::make_mut(&mut self.children)
    }
}

/// What a name of the tree is, borrowed from the tree.
#[derive(Debug, PartialEq, Eq)]
pub enum Entry<'tree, Handle> {
    /// A virtual directory, listable and read-only.
    Directory(&'tree VirtualDirectory<Handle>),
    /// A leaf: a real file or directory and its access mode.
    Leaf(&'tree Leaf<Handle>),
}

// Written out because `derive` would require `Handle: Clone`/`Copy`, and the
// entry only holds references.
impl<Handle> Clone for Entry<'_, Handle> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<Handle> Copy for Entry<'_, Handle> {}

impl<Handle> Entry<'_, Handle> {
    /// The kind of entry, for a listing that does not need the handle.
    pub fn kind(&self) -> EntryKind {
        match self {
            Entry::Directory(_) => EntryKind::VirtualDirectory,
            Entry::Leaf(leaf) => EntryKind::Leaf(leaf.mode),
        }
    }
}

/// The kind of a name, as a listing of `/...` shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EntryKind {
    /// A virtual directory (read-only, exists because of leaves below it).
    VirtualDirectory,
    /// A leaf, with its access mode.
    Leaf(AccessMode),
}

/// The children of a [`VirtualDirectory`], sorted by name bytes; from
/// [`VirtualDirectory::entries`].
pub struct Entries<'tree, Handle> {
    inner: btree_map::Iter<'tree, Box<[u8]>, Node<Handle>>,
}

impl<'tree, Handle> Iterator for Entries<'tree, Handle> {
    type Item = (&'tree [u8], Entry<'tree, Handle>);

    fn next(&mut self) -> Option<Self::Item> {
        self.inner
            .next()
            .map(|(name, node)| (&name[..], node.as_entry()))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl<Handle> DoubleEndedIterator for Entries<'_, Handle> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.inner
            .next_back()
            .map(|(name, node)| (&name[..], node.as_entry()))
    }
}

impl<Handle> ExactSizeIterator for Entries<'_, Handle> {}
