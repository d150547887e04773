// SPDX-License-Identifier: MIT OR Apache-2.0
//! Which of the shell's descriptors a command gets, under which numbers.
//!
//! `spawn` passes a child exactly the descriptors its map names (nothing
//! is inherited otherwise), so a command's redirections never touch the
//! shell's own descriptors: the shell opens the files, writes the
//! mapping — child number → shell descriptor — into an [`FdTable`],
//! spawns, and closes what it opened. Builtins read the same table for
//! where their input and output go. Only `exec`, which keeps the process,
//! has to move descriptors in place: [`FdTable::install`] before it
//! becomes a command, [`FdTable::apply_to_shell`] when it has only
//! redirections (`exec >log`).

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use manux_runtime::abi::{limits, FdMapping};
use manux_runtime::syscall::{self, Fd};
use manux_runtime::Errno;

/// Child descriptor number → the shell's descriptor it duplicates.
#[derive(Clone, Debug)]
pub struct FdTable {
    map: BTreeMap<u8, Fd>,
}

impl FdTable {
    /// 0, 1 and 2: the shell's own.
    pub fn standard() -> FdTable {
        FdTable {
            map: [(0, 0), (1, 1), (2, 2)].into_iter().collect(),
        }
    }

    /// The child's `fd` becomes the shell's `source`.
    pub fn set(&mut self, fd: u8, source: Fd) {
        self.map.insert(fd, source);
    }

    /// The shell descriptor behind the child's `fd`, if it gets one.
    pub fn get(&self, fd: u8) -> Option<Fd> {
        self.map.get(&fd).copied()
    }

    /// Whether `fd` (a descriptor of the shell) is behind some number.
    pub fn holds(&self, fd: Fd) -> bool {
        self.map.values().any(|&source| source == fd)
    }

    /// The child does not get `fd`.
    pub fn remove(&mut self, fd: u8) {
        self.map.remove(&fd);
    }

    /// Where a builtin writes its output (`-1`: nowhere).
    pub fn output(&self) -> Fd {
        self.get(1).unwrap_or(-1)
    }

    /// Where a builtin writes its errors (`-1`: nowhere).
    pub fn error(&self) -> Fd {
        self.get(2).unwrap_or(-1)
    }

    /// The map `spawn` takes.
    pub fn mappings(&self) -> Vec<FdMapping> {
        self.map
            .iter()
            .map(|(&child, &parent)| FdMapping {
                child: i32::from(child),
                parent,
            })
            .collect()
    }

    /// Makes this process's descriptors what the table says and closes
    /// every other one (for `exec`, which replaces the shell in place).
    ///
    /// Every source is first duplicated to a spare number that is no
    /// target, so moving one into place never overwrites another's
    /// source; then everything else is closed and the spares moved.
    ///
    /// Return values: `EMFILE` and other errors of `dup`/`dup2`; the
    /// descriptors may then be partly changed.
    pub fn install(&self) -> Result<(), Errno> {
        let targets: Vec<Fd> = self.map.keys().map(|&fd| Fd::from(fd)).collect();
        let mut spares: Vec<(Fd, Fd)> = Vec::new();
        let mut collided: Vec<Fd> = Vec::new();
        for (&target, &source) in &self.map {
            let mut spare = syscall::duplicate(source)?;
            while targets.contains(&spare) {
                collided.push(spare);
                spare = syscall::duplicate(source)?;
            }
            spares.push((Fd::from(target), spare));
        }
        for fd in collided {
            let _ = syscall::close(fd);
        }
        for fd in 0..limits::FDS as Fd {
            if !spares.iter().any(|&(_, spare)| spare == fd) {
                let _ = syscall::close(fd);
            }
        }
        for (target, spare) in spares {
            syscall::duplicate_to(spare, target)?;
            let _ = syscall::close(spare);
        }
        Ok(())
    }
}

impl FdTable {
    /// `exec` without a command: makes the shell's own descriptors what
    /// the table says, for every number it names or `previous` named
    /// (one the table dropped, `N>&-`, is closed); returns the table the
    /// shell uses from then on (each number mapped to itself).
    ///
    /// Sources are duplicated to spare numbers first, so that `3>&1 >f`
    /// gives 3 the old standard output. Return values: the errors of
    /// `dup`/`dup2`; the descriptors may then be partly changed.
    pub fn apply_to_shell(&self, previous: &FdTable) -> Result<FdTable, Errno> {
        let mut spares: Vec<(Fd, Fd)> = Vec::new();
        for (&target, &source) in &self.map {
            if Fd::from(target) == source {
                continue;
            }
            spares.push((Fd::from(target), syscall::duplicate(source)?));
        }
        for (target, spare) in &spares {
            let moved = syscall::duplicate_to(*spare, *target);
            let _ = syscall::close(*spare);
            moved?;
        }
        for &number in previous.map.keys() {
            if !self.map.contains_key(&number) {
                let _ = syscall::close(Fd::from(number));
            }
        }
        Ok(FdTable {
            map: self.map.keys().map(|&fd| (fd, Fd::from(fd))).collect(),
        })
    }
}

/// Closes every descriptor in `fds` (errors ignored: they are the
/// shell's own, opened for one command).
pub fn close_all(fds: &[Fd]) {
    for &fd in fds {
        let _ = syscall::close(fd);
    }
}
