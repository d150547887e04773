// SPDX-License-Identifier: MIT OR Apache-2.0
//! Path helpers for the host tools and the image builder.
//!
//! The kernel resolves paths itself (per-process roots, `/...`), using only
//! the inode-based API. The host tools want to say `/bin/cat`, so
//! [`FileSystem::resolve_path`] walks a path from the root the way DESIGN §5
//! prescribes: `..` is lexical (it pops the chain of directories walked
//! through and stays put at the root; the on-disk `..` is never read),
//! symbolic links are followed with at most 40 expansions (Linux's
//! `MAXSYMLINKS`), and a relative link target continues from the directory
//! that holds the link.

use alloc::collections::VecDeque;
use alloc::vec;
use alloc::vec::Vec;

use crate::device::BlockDevice;
use crate::error::{Error, Result};
use crate::filesystem::FileSystem;
use crate::inode::{FileType, InodeNumber};

/// Most symbolic links followed while resolving one path.
const MAX_SYMLINK_EXPANSIONS: usize = 40;

/// Splits a path into its non-empty components.
fn components(path: &[u8]) -> impl DoubleEndedIterator<Item = &[u8]> {
    path.split(|&byte| byte == b'/')
        .filter(|part| !part.is_empty())
}

impl<D: BlockDevice> FileSystem<D> {
    /// Resolves `path` from the root directory. `follow_final` selects
    /// whether a symbolic link in the last component is followed.
    ///
    /// Return values: the inode, [`Error::NotFound`], [`Error::NotADirectory`],
    /// [`Error::TooManySymlinks`], [`Error::InvalidName`] (a reserved name on
    /// the way), [`Error::Corrupt`], [`Error::Device`].
    pub fn resolve_path(&mut self, path: &[u8], follow_final: bool) -> Result<InodeNumber> {
        let mut chain: Vec<InodeNumber> = vec![InodeNumber::ROOT];
        let mut pending: VecDeque<Vec<u8>> = components(path).map(Vec::from).collect();
        let mut expansions = 0usize;
        while let Some(component) = pending.pop_front() {
            let current = *chain.last().unwrap_or(&InodeNumber::ROOT);
            if component == b"." {
                self.directory_inode(current)?;
                continue;
            }
            if component == b".." {
                if chain.len() > 1 {
                    chain.pop();
                }
                continue;
            }
            let next = self.lookup(current, &component)?;
            let is_last = pending.is_empty();
            let metadata = self.stat(next)?;
            if metadata.file_type == FileType::Symlink && (!is_last || follow_final) {
                expansions += 1;
                if expansions > MAX_SYMLINK_EXPANSIONS {
                    return Err(Error::TooManySymlinks);
                }
                let target = self.readlink(next)?;
                if target.first() == Some(&b'/') {
                    chain.truncate(1);
                }
                for part in components(&target).rev() {
                    pending.push_front(part.into());
                }
                continue;
            }
            chain.push(next);
        }
        Ok(*chain.last().unwrap_or(&InodeNumber::ROOT))
    }

    /// Splits `path` into the directory that holds its last component
    /// (resolved, links followed) and that last name.
    ///
    /// Return values: `(directory, name)`, [`Error::InvalidName`] for a path
    /// with no last name (`/`, `.`, `..`), and the errors of
    /// [`Self::resolve_path`].
    pub fn resolve_parent(&mut self, path: &[u8]) -> Result<(InodeNumber, Vec<u8>)> {
        let trimmed_length = path
            .iter()
            .rposition(|&byte| byte != b'/')
            .map_or(0, |index| index + 1);
        let trimmed = path.get(..trimmed_length).unwrap_or(&[]);
        let split = trimmed.iter().rposition(|&byte| byte == b'/');
        let (parent, name) = match split {
            Some(index) => (
                trimmed.get(..index).unwrap_or(&[]),
                trimmed.get(index + 1..).unwrap_or(&[]),
            ),
            None => (&[][..], trimmed),
        };
        if name.is_empty() || name == b"." || name == b".." {
            return Err(Error::InvalidName);
        }
        let directory = self.resolve_path(parent, true)?;
        Ok((directory, name.into()))
    }
}
