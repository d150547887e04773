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

use alloc::format;
use alloc::string::{String, ToString};
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

    /// The report as lines for a console (no newlines): one per repair
    /// (`inode 12 (/etc/fstab): link count was 2: set it to 1`), then
    /// `… and N more repairs` when some were not kept; when damage
    /// remains, one line per problem the checker still finds, and
    /// `… and N more problems`. A clean volume that needed nothing gives
    /// no line at all.
    pub fn lines(&self) -> impl Iterator<Item = String> + '_ {
        let more_repairs =
            (self.omitted > 0).then(|| format!("… and {} more repairs", self.omitted));
        let problems = self
            .check
            .problems
            .iter()
            .filter(|_| !self.is_clean())
            .map(ToString::to_string);
        let more_problems = (!self.is_clean() && self.check.omitted > 0)
            .then(|| format!("… and {} more problems", self.check.omitted));
        self.repairs
            .iter()
            .map(ToString::to_string)
            .chain(more_repairs)
            .chain(problems)
            .chain(more_problems)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_list_repairs_then_what_remains() {
        let mut log = RepairLog::default();
        log.add(
            ProblemKind::LinkCount,
            Some(12),
            String::from("link count was 2: set it to 1"),
        );
        log.add(
            ProblemKind::BlockBitmap,
            None,
            String::from("group 0: block bitmap fixed"),
        );
        let mut report = RepairReport {
            repairs: log.repairs,
            omitted: 3,
            ..RepairReport::default()
        };
        report.repairs[0].path = Some(String::from("/etc/fstab"));
        let lines: Vec<String> = report.lines().collect();
        assert_eq!(
            lines,
            [
                "inode 12 (/etc/fstab): link count was 2: set it to 1",
                "group 0: block bitmap fixed",
                "… and 3 more repairs",
            ]
        );
        assert_eq!(RepairReport::default().lines().count(), 0);
        // Damage left: the checker's problems follow.
        let problem = crate::check::Problem {
            kind: ProblemKind::Inode,
            inode: Some(InodeNumber(14)),
            path: None,
            message: String::from("i_blocks is 2, counted 4"),
        };
        report.check.problems.push(problem.clone());
        report.check.omitted = 1;
        let lines: Vec<String> = report.lines().collect();
        assert_eq!(lines.len(), 5);
        assert_eq!(lines[3], problem.to_string());
        assert_eq!(lines[4], "… and 1 more problems");
    }
}
