// SPDX-License-Identifier: MIT OR Apache-2.0
//! Errors of the `/...` tree.
//!
//! [`Error`] is what a single operation can fail with; [`BatchError`] adds the
//! index of the operation that failed inside an atomic batch
//! ([`Namespace::apply`](crate::Namespace::apply)). This crate never turns them
//! into numbers: the kernel's `Errno` has one `From<Error>` impl (STYLE §6); the
//! errno each variant should become is written on the variant.

use core::fmt;

/// Why an operation on the `/...` tree failed.
///
/// A failed operation never changes the tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Error {
    /// The name breaks a naming rule: it is empty, has an empty component
    /// (leading, trailing or doubled `/`), a dot-only component (`.`, `..`,
    /// `...`, …), a NUL byte, or is longer or deeper than
    /// [`MAX_COMPONENT_LENGTH`](crate::MAX_COMPONENT_LENGTH),
    /// [`MAX_NAME_LENGTH`](crate::MAX_NAME_LENGTH) or
    /// [`MAX_DEPTH`](crate::MAX_DEPTH) allow. Becomes `EINVAL` (DESIGN §5).
    InvalidName,
    /// The domain already holds [`MAX_ENTRIES`](crate::MAX_ENTRIES) names, or
    /// would go over it with the virtual directories this put creates. Becomes
    /// `ENOSPC` (DESIGN §5).
    NoSpace,
    /// A put named an entry that already exists, leaf or virtual directory;
    /// nothing is ever replaced in place (remove it first, in the same batch if
    /// it must be atomic). Becomes `EEXIST`.
    Exists,
    /// No entry has this name. Becomes `ENOENT`.
    NotFound,
    /// A proper prefix of the name is a leaf, e.g. `home/alice/notes` when
    /// `home/alice` is a leaf. The tree holds no names below a leaf: what is
    /// inside a leaf directory is reached through the file system, with
    /// [`Namespace::resolve`](crate::Namespace::resolve). Becomes `ENOTDIR`, as
    /// Linux answers `mkdir("file/x")`.
    InsideLeaf,
}

impl fmt::Display for Error {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            Error::InvalidName => "invalid name in /...",
            Error::NoSpace => "too many names in /...",
            Error::Exists => "name already exists in /...",
            Error::NotFound => "no such name in /...",
            Error::InsideLeaf => "name lies inside a leaf of /...",
        };
        formatter.write_str(text)
    }
}

impl core::error::Error for Error {}

/// Why an atomic batch failed: which operation, and its error.
///
/// When [`Namespace::apply`](crate::Namespace::apply) returns this, the
/// namespace is exactly as it was before the call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BatchError {
    /// Position in the batch of the first operation that failed; the
    /// operations before it were valid (on the state they saw) and were
    /// discarded with the rest.
    pub index: usize,
    /// Why that operation failed.
    pub error: Error,
}

impl fmt::Display for BatchError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "operation {}: {}", self.index, self.error)
    }
}

impl core::error::Error for BatchError {}

impl From<BatchError> for Error {
    /// Keeps the reason and drops the index, for a caller that reports one
    /// errno for the whole batch.
    fn from(batch_error: BatchError) -> Self {
        batch_error.error
    }
}
