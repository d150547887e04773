// SPDX-License-Identifier: MIT OR Apache-2.0
//! File-system helpers over the runtime's system calls: status with and
//! without following a final symlink, directory listings, link targets,
//! and [`File`], a descriptor closed when dropped.
//!
//! Paths are resolved by the kernel in the process's own view (its root
//! and `/...`), relative to the current directory.

use crate::memory::{try_buffer, try_extend, try_push};
use alloc::vec::Vec;
use manux_runtime::abi::directory_entry::{self, EntryKind};
use manux_runtime::abi::{limits, OpenFlags, Stat, CURRENT_DIRECTORY, STAT_NO_FOLLOW};
use manux_runtime::syscall::{self, Fd};
use manux_runtime::Errno;

/// `stat(path)`: follows a final symlink.
///
/// Return values: the status; the kernel's path errors.
pub fn stat(path: &[u8]) -> Result<Stat, Errno> {
    syscall::status_at(CURRENT_DIRECTORY, path, 0)
}

/// `lstat(path)`: a final symlink is described itself.
///
/// Return values: the status; the kernel's path errors.
pub fn lstat(path: &[u8]) -> Result<Stat, Errno> {
    syscall::status_at(CURRENT_DIRECTORY, path, STAT_NO_FOLLOW)
}

/// The target of symlink `path`.
///
/// Return values: the target; `EINVAL` when `path` is not a symlink; the
/// kernel's path errors; `ENOMEM`.
pub fn read_link(path: &[u8]) -> Result<Vec<u8>, Errno> {
    // Targets are paths, which the kernel bounds by `PATH_BYTES`.
    let mut buffer = try_buffer(limits::PATH_BYTES)?;
    let length = syscall::read_link_at(CURRENT_DIRECTORY, path, &mut buffer)?;
    buffer.truncate(length);
    Ok(buffer)
}

/// An open descriptor, closed when dropped (errors ignored there; call
/// [`File::close`] to see them).
#[derive(Debug)]
pub struct File {
    fd: Option<Fd>,
}

impl File {
    /// `open(path, flags, mode)`.
    ///
    /// Return values: the file; the kernel's open errors.
    pub fn open(path: &[u8], flags: OpenFlags, mode: u32) -> Result<File, Errno> {
        syscall::open(path, flags, mode).map(|fd| File { fd: Some(fd) })
    }

    /// The descriptor (`-1` once closed).
    pub fn fd(&self) -> Fd {
        self.fd.unwrap_or(-1)
    }

    /// `read` into `buffer`.
    ///
    /// Return values: bytes read, 0 at the end; the kernel's read errors.
    pub fn read(&self, buffer: &mut [u8]) -> Result<usize, Errno> {
        syscall::read(self.fd(), buffer)
    }

    /// `fstat`.
    ///
    /// Return values: the status; `EBADF`.
    pub fn status(&self) -> Result<Stat, Errno> {
        syscall::file_status(self.fd())
    }

    /// Closes, reporting the error.
    ///
    /// Return values: `Ok(())`; the kernel's close errors.
    pub fn close(mut self) -> Result<(), Errno> {
        match self.fd.take() {
            Some(fd) => syscall::close(fd),
            None => Ok(()),
        }
    }
}

impl Drop for File {
    fn drop(&mut self) {
        if let Some(fd) = self.fd.take() {
            let _ = syscall::close(fd);
        }
    }
}

/// Reads `fd` to its end in `buffer`-sized pieces, handing each to
/// `consume`, which returns `false` to stop early.
///
/// Return values: `Ok(())`; the first read error.
pub fn read_chunks(
    fd: Fd,
    buffer: &mut [u8],
    mut consume: impl FnMut(&[u8]) -> bool,
) -> Result<(), Errno> {
    loop {
        let count = syscall::read(fd, buffer)?;
        if count == 0 {
            return Ok(());
        }
        // A kernel never reports more than it was given room for; should
        // one, do not trust the count.
        let data = buffer.get(..count).ok_or(Errno::InputOutput)?;
        if !consume(data) {
            return Ok(());
        }
    }
}

/// One name in a [`Listing`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Listed {
    start: usize,
    end: usize,
    inode: u64,
    kind: EntryKind,
}

/// The entries of a directory, names in one buffer.
#[derive(Debug, Default)]
pub struct Listing {
    names: Vec<u8>,
    entries: Vec<Listed>,
}

/// An entry of a [`Listing`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListedEntry<'a> {
    /// Its name.
    pub name: &'a [u8],
    /// Its inode (0 for a virtual `/...` directory).
    pub inode: u64,
    /// Its kind, as the directory records it.
    pub kind: EntryKind,
}

impl Listing {
    /// Adds an entry.
    ///
    /// Return values: `Ok(())`; `ENOMEM`.
    pub fn push(&mut self, name: &[u8], inode: u64, kind: EntryKind) -> Result<(), Errno> {
        let start = self.names.len();
        try_extend(&mut self.names, name)?;
        try_push(
            &mut self.entries,
            Listed {
                start,
                end: self.names.len(),
                inode,
                kind,
            },
        )?;
        Ok(())
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether an entry is named `name`.
    pub fn contains(&self, name: &[u8]) -> bool {
        self.iter().any(|entry| entry.name == name)
    }

    /// Entry `index`.
    pub fn get(&self, index: usize) -> Option<ListedEntry<'_>> {
        let listed = self.entries.get(index)?;
        Some(ListedEntry {
            name: self.names.get(listed.start..listed.end)?,
            inode: listed.inode,
            kind: listed.kind,
        })
    }

    /// The entries in order.
    pub fn iter(&self) -> impl Iterator<Item = ListedEntry<'_>> + '_ {
        (0..self.entries.len()).filter_map(|index| self.get(index))
    }

    /// Sorts the entries by name, byte by byte (the C locale's order), in
    /// place, without allocating.
    pub fn sort(&mut self) {
        let names = &self.names;
        self.entries.sort_unstable_by(|left, right| {
            names[left.start..left.end].cmp(&names[right.start..right.end])
        });
    }

    /// Keeps only the entries for which `keep` holds.
    pub fn retain(&mut self, mut keep: impl FnMut(&[u8]) -> bool) {
        let names = &self.names;
        self.entries
            .retain(|listed| keep(&names[listed.start..listed.end]));
    }
}

/// Reads every entry of the directory at `path` (`.` and `..` included,
/// as the directory stores them).
///
/// Return values: the listing; `ENOTDIR`; the kernel's open and
/// `getdents` errors; `ENOMEM`.
pub fn list_directory(path: &[u8]) -> Result<Listing, Errno> {
    let directory = File::open(path, OpenFlags::DIRECTORY, 0)?;
    let mut buffer = try_buffer(4096)?;
    let mut listing = Listing::default();
    loop {
        let count = syscall::read_directory(directory.fd(), &mut buffer)?;
        if count == 0 {
            break;
        }
        let records = buffer.get(..count).ok_or(Errno::InputOutput)?;
        for entry in directory_entry::records(records) {
            listing.push(entry.name, entry.inode, entry.kind)?;
        }
    }
    directory.close()?;
    Ok(listing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listings_sort_and_filter_by_name() {
        let mut listing = Listing::default();
        for (index, name) in [&b"b"[..], b".", b"a", b"..", b".hidden", b"B"]
            .iter()
            .enumerate()
        {
            listing.push(name, index as u64, EntryKind::File).unwrap();
        }
        listing.sort();
        let names: Vec<&[u8]> = listing.iter().map(|entry| entry.name).collect();
        assert_eq!(names, [&b"."[..], b"..", b".hidden", b"B", b"a", b"b"]);
        assert!(listing.contains(b"..") && !listing.contains(b"c"));
        listing.retain(|name| !name.starts_with(b"."));
        assert_eq!(listing.len(), 3);
        assert_eq!(listing.get(0).unwrap().inode, 5);
        assert!(listing.get(3).is_none());
    }

    #[test]
    fn calls_fail_cleanly_on_the_host() {
        assert_eq!(stat(b"/").err(), Some(Errno::NotImplemented));
        assert_eq!(list_directory(b"/").err(), Some(Errno::NotImplemented));
        assert_eq!(read_link(b"/x").err(), Some(Errno::NotImplemented));
        let mut buffer = [0u8; 4];
        assert_eq!(
            read_chunks(0, &mut buffer, |_| true),
            Err(Errno::NotImplemented)
        );
    }
}
