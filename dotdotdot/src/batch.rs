// SPDX-License-Identifier: MIT OR Apache-2.0
//! Atomic batches of operations: the `/...` part of `xchroot()`.
//!
//! `xchroot()` applies a list of operations all or nothing (DESIGN §6). The
//! kernel turns the `/...` part of the list into [`Operation`]s and hands them
//! to [`Namespace::applied`], which applies them in order to a copy (an O(1)
//! clone thanks to copy on write) and returns the copy only if every one
//! succeeded. The kernel can then finish its other checks (the root change,
//! the kept descriptors) and commit by storing the copy, or drop it; for a
//! batch with nothing else to check, [`Namespace::apply`] does both steps.
//!
//! Operations see the state the earlier ones left: `[RemoveAll, Put a]`
//! succeeds on a full `/...`, which is what a launcher sends (DESIGN §7).
//! The kernel bounds how many operations it copies in from user space; this
//! crate does bounded work per operation.

use alloc::vec::Vec;

use crate::namespace::Namespace;
use crate::tree::AccessMode;
use crate::{BatchError, Error};

/// One change to `/...`, as an element of an atomic batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Operation<Handle> {
    /// [`Namespace::put`]: a leaf at `name` referring to `handle`.
    Put {
        /// Where, relative to `/...`, e.g. `3/true`.
        name: Vec<u8>,
        /// The file or directory, already opened by the kernel (by path in
        /// the caller's view, or from a descriptor it keeps).
        handle: Handle,
        /// What the domain may do through the leaf.
        mode: AccessMode,
    },
    /// [`Namespace::remove`]: one name, with everything below it.
    Remove {
        /// Which name, relative to `/...`.
        name: Vec<u8>,
    },
    /// [`Namespace::remove_all`]: every name.
    RemoveAll,
}

impl<Handle: Clone> Namespace<Handle> {
    /// Applies one operation, as its own method does.
    ///
    /// Return values: those of [`Namespace::put`], [`Namespace::remove`] or
    /// [`Namespace::remove_all`] (which cannot fail).
    pub fn apply_operation(&mut self, operation: &Operation<Handle>) -> Result<(), Error> {
        match operation {
            Operation::Put { name, handle, mode } => self.put(name, handle.clone(), *mode),
            Operation::Remove { name } => self.remove(name),
            Operation::RemoveAll => {
                self.remove_all();
                Ok(())
            }
        }
    }

    /// This namespace with `operations` applied in order, leaving `self`
    /// untouched: the first phase of an atomic `xchroot()`.
    ///
    /// Return values:
    /// - `Ok(namespace)`: every operation succeeded; store it to commit;
    /// - `Err(BatchError { index, error })`: operation `index` failed with
    ///   `error` (any [`Error`] its method documents), seeing the state the
    ///   operations before it left.
    pub fn applied(&self, operations: &[Operation<Handle>]) -> Result<Self, BatchError> {
        let mut staged = self.clone();
        for (index, operation) in operations.iter().enumerate() {
            staged
                .apply_operation(operation)
                .map_err(|error| BatchError { index, error })?;
        }
        Ok(staged)
    }

    /// Applies `operations` all or nothing.
    ///
    /// On failure `self` is exactly as before, and still shares its storage
    /// with whatever it shared it with.
    ///
    /// Return values: as [`Namespace::applied`]; `Ok(())` means all of them
    /// took effect.
    pub fn apply(&mut self, operations: &[Operation<Handle>]) -> Result<(), BatchError> {
        *self = self.applied(operations)?;
        Ok(())
    }
}
