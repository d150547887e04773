// SPDX-License-Identifier: MIT OR Apache-2.0
//! What a repair did: one line per repair, and the volume's state after it.
//!
//! [`Repair`] is one change — the invariant it restores (a
//! [`ProblemKind`], as the checker names them), the inode it concerns and
//! a path to that inode when one exists after the repair, and what was
//! done. [`RepairReport`] holds them in the order they were made, with
//! the checker's report on the repaired volume. The log is bounded
//! ([`MAX_REPAIRS`] lines kept, the rest counted), so a volume with
//! millions of bad entries cannot make the report itself exhaust memory.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::check::{CheckReport, ProblemKind};
use crate::inode::InodeNumber;

/// Most repairs kept in a report; the rest are only counted.
pub const MAX_REPAIRS: usize = 10_000;

/// One change the repair made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Repair {
    /// The invariant the change restores.
    pub kind: ProblemKind,
    /// The inode concerned, if any.
    pub inode: Option<InodeNumber>,
    /// A path to that inode after the repair (from the root, as the
    /// checker writes them), when it is reachable.
    pub path: Option<String>,
    /// What was done.
    pub action: String,
}

impl fmt::Display for Repair {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.inode, &self.path) {
            (Some(inode), Some(path)) => {
                write!(formatter, "inode {inode} ({path}): {}", self.action)
            }
            (Some(inode), None) => write!(formatter, "inode {inode}: {}", self.action),
            (None, _) => write!(formatter, "{}", self.action),
        }
    }
}

/// The result of a repair ([`crate::FileSystem::repair`],
/// [`crate::FileSystem::mount_and_repair`]).
#[derive(Clone, Debug, Default)]
pub struct RepairReport {
    /// The changes made, in order (at most [`MAX_REPAIRS`]).
    pub repairs: Vec<Repair>,
    /// Changes made beyond those kept.
    pub omitted: usize,
    /// Rounds of passes run: a round that changed something is followed
    /// by another (at most three) while the checker still finds damage.
    pub rounds: u32,
    /// The checker's report on the volume after the repair.
    pub check: CheckReport,
}

impl RepairReport {
    /// Whether the checker finds nothing wrong after the repair.
    pub fn is_clean(&self) -> bool {
        self.check.is_clean()
    }

    /// Whether the repair changed anything.
    pub fn changed(&self) -> bool {
        !self.repairs.is_empty() || self.omitted > 0
    }
}

/// The repairs made so far, bounded.
#[derive(Debug, Default)]
pub(crate) struct RepairLog {
    pub(crate) repairs: Vec<Repair>,
    pub(crate) omitted: usize,
}

impl RepairLog {
    /// Records one change.
    pub(crate) fn add(&mut self, kind: ProblemKind, inode: Option<u32>, action: String) {
        if self.repairs.len() >= MAX_REPAIRS {
            self.omitted += 1;
            return;
        }
        self.repairs.push(Repair {
            kind,
            inode: inode.map(InodeNumber),
            path: None,
            action,
        });
    }

    /// Changes recorded so far, kept or not.
    pub(crate) fn total(&self) -> usize {
        self.repairs.len() + self.omitted
    }
}
