// SPDX-License-Identifier: MIT OR Apache-2.0
//! Where a process is in its view: the lexical chain of steps, each
//! holding its directory.
//!
//! DESIGN §5: `..` is resolved lexically, by popping the chain of
//! directories a path walked through, never through the on-disk `..`. A
//! [`Location`] is that chain. It starts at an [`Anchor`] — the process's
//! root (held) or `/...` — and each [`Step`] keeps the name it was walked
//! by and what it reached: a virtual `/...` directory, or an object held
//! by an [`ObjectRef`] with the access that way gives. Because every step
//! holds its directory itself, a current directory or a directory
//! descriptor still means the same directory after another program
//! renames it (relative names resolve inside it, new files land in it),
//! and `..` from it goes back to the step before, whatever the names now
//! say. [`Location::display`] gives the names the chain was walked by,
//! which is what `getcwd` returns.
//!
//! A location never names anything by inode number alone, so it can never
//! come to mean an object other than the one it was reached by.

use alloc::vec::Vec;

use crate::live_objects::ObjectRef;

/// What a step (or a location) reaches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    /// A virtual directory of `/...` (read-only, listed from the namespace,
    /// found again by its names on every use).
    Virtual,
    /// A file or directory, held.
    Object {
        /// The object.
        object: ObjectRef,
        /// Whether it may be changed through the way it was reached
        /// (false below a read-only `/...` entry).
        writable: bool,
    },
}

impl Node {
    /// The object, if this is one.
    pub fn object(&self) -> Option<&ObjectRef> {
        match self {
            Node::Object { object, .. } => Some(object),
            Node::Virtual => None,
        }
    }

    /// Whether changes are allowed through this node.
    pub fn is_writable(&self) -> bool {
        matches!(self, Node::Object { writable: true, .. })
    }
}

/// One step of a chain: the name walked by and what it reached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// The component.
    pub name: Vec<u8>,
    /// What it reached.
    pub node: Node,
}

/// Where a chain starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Anchor {
    /// The process's root directory (held: a location keeps meaning the
    /// root it was reached from).
    Root(ObjectRef),
    /// `/...`, the process's namespace.
    Dots,
}

/// A place in a process's view, as the chain of steps from its anchor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    pub(crate) anchor: Anchor,
    pub(crate) steps: Vec<Step>,
}

impl Location {
    /// The root directory itself.
    pub fn root(root: ObjectRef) -> Self {
        Location {
            anchor: Anchor::Root(root),
            steps: Vec::new(),
        }
    }

    /// `/...` itself.
    pub fn dots() -> Self {
        Location {
            anchor: Anchor::Dots,
            steps: Vec::new(),
        }
    }

    /// `/.../name` for an object put in `/...` under `name` (`a/b` →
    /// steps `a` (virtual) and `b` (the object)): where a directory
    /// descriptor kept across a root change restarts its chain.
    pub fn in_dots(name: &[u8], object: ObjectRef, writable: bool) -> Self {
        let names: Vec<&[u8]> = name
            .split(|&byte| byte == b'/')
            .filter(|part| !part.is_empty())
            .collect();
        let mut steps = Vec::with_capacity(names.len());
        for (index, part) in names.iter().enumerate() {
            let node = if index + 1 == names.len() {
                Node::Object {
                    object: object.clone(),
                    writable,
                }
            } else {
                Node::Virtual
            };
            steps.push(Step {
                name: Vec::from(*part),
                node,
            });
        }
        Location {
            anchor: Anchor::Dots,
            steps,
        }
    }

    /// `/.../a/b` made of virtual directories only (names of `/...`).
    pub fn virtual_in_dots(names: &[&[u8]]) -> Self {
        Location {
            anchor: Anchor::Dots,
            steps: names
                .iter()
                .map(|name| Step {
                    name: Vec::from(*name),
                    node: Node::Virtual,
                })
                .collect(),
        }
    }

    /// The anchor.
    pub fn anchor(&self) -> &Anchor {
        &self.anchor
    }

    /// The steps from the anchor down.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// What the location reaches: its last step, or its anchor.
    pub fn node(&self) -> Node {
        match (self.steps.last(), &self.anchor) {
            (Some(step), _) => step.node.clone(),
            (None, Anchor::Root(root)) => Node::Object {
                object: root.clone(),
                writable: true,
            },
            (None, Anchor::Dots) => Node::Virtual,
        }
    }

    /// The object reached, if it is not a virtual directory.
    pub fn object(&self) -> Option<ObjectRef> {
        match self.node() {
            Node::Object { object, .. } => Some(object),
            Node::Virtual => None,
        }
    }

    /// Whether the chain starts at `/...`.
    pub fn is_in_dots(&self) -> bool {
        self.anchor == Anchor::Dots
    }

    /// The names of the steps from `/...` while they are virtual: what
    /// to ask the namespace for the next name.
    pub(crate) fn dots_names(&self) -> Vec<&[u8]> {
        self.steps.iter().map(|step| step.name.as_slice()).collect()
    }

    /// Goes one step down.
    pub(crate) fn push(&mut self, name: Vec<u8>, node: Node) {
        self.steps.push(Step { name, node });
    }

    /// Goes one step down to `object`, reached as `name` (a file just
    /// created in this directory).
    pub fn push_object(&mut self, name: Vec<u8>, object: ObjectRef, writable: bool) {
        self.push(name, Node::Object { object, writable });
    }

    /// `..`: one step back; from `/...` itself back to `root`; at the root
    /// it stays.
    pub(crate) fn pop(&mut self, root: &ObjectRef) {
        if self.steps.pop().is_none() && self.anchor == Anchor::Dots {
            self.anchor = Anchor::Root(root.clone());
        }
    }

    /// The path as a program sees it, `/a/b` or `/.../a/b`: the names the
    /// chain was walked by (`getcwd`).
    pub fn display(&self) -> Vec<u8> {
        let mut path = Vec::new();
        if self.anchor == Anchor::Dots {
            path.extend_from_slice(crate::resolve::DOTS_PATH);
        }
        for step in &self.steps {
            path.push(b'/');
            path.extend_from_slice(&step.name);
        }
        if path.is_empty() {
            path.push(b'/');
        }
        path
    }

    /// The same chain re-anchored in a new `/...` whose leaf is its
    /// `leaf_steps`-th step, holding `new_leaf` with access `writable`:
    /// the steps above become virtual directories, the steps below keep
    /// their objects and take the new leaf's access. `None` when the chain
    /// does not start in `/...`, is shorter, or has no object below the
    /// leaf where one is needed.
    pub fn reanchored(
        &self,
        leaf_steps: usize,
        new_leaf: ObjectRef,
        writable: bool,
    ) -> Option<Self> {
        if self.anchor != Anchor::Dots || leaf_steps == 0 || leaf_steps > self.steps.len() {
            return None;
        }
        let mut steps = Vec::with_capacity(self.steps.len());
        for (index, step) in self.steps.iter().enumerate() {
            let node = match (index + 1).cmp(&leaf_steps) {
                core::cmp::Ordering::Less => Node::Virtual,
                core::cmp::Ordering::Equal => Node::Object {
                    object: new_leaf.clone(),
                    writable,
                },
                core::cmp::Ordering::Greater => Node::Object {
                    object: step.node.object()?.clone(),
                    writable,
                },
            };
            steps.push(Step {
                name: step.name.clone(),
                node,
            });
        }
        Some(Location {
            anchor: Anchor::Dots,
            steps,
        })
    }
}
