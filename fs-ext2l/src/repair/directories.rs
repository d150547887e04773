// SPDX-License-Identifier: MIT OR Apache-2.0
//! Pass 2: every directory block, parsed and mended as e2fsck's pass 2.
//!
//! Blocks are visited in e2fsck's order (every directory's first block by
//! device block, then the others), so the entry that names a directory
//! first is the same one e2fsck meets first. A hole pass 1 left is filled
//! with a new block (an empty one, or `.` and `..` for block 0). Each
//! block is read record by record:
//!
//! - a record whose length is impossible is salvaged as e2fsck's
//!   `salvage_directory` does: an 8-byte record is squeezed out, a record
//!   running past the block is shortened when its name fits, a well-formed
//!   length is absorbed by the record before it, and otherwise the rest
//!   of the block goes to the previous record (or becomes one free
//!   record);
//! - block 0 must start with `.` (naming the directory, 12 bytes long; a
//!   longer one is split) and `..` (rewritten to name the root when it is
//!   not one; pass 3 gives it the right parent);
//! - an entry is removed when it names a reserved inode, an inode out of
//!   range, in a bad block or not in use, the root, the directory itself,
//!   or is a second `.` or `..` or has no name; on a volume without the
//!   ext2l feature, a second entry naming a directory is removed too
//!   (there, a directory has one name);
//! - the recorded type is set to the inode's, `/` and NUL in a name
//!   become `.`;
//! - two entries with one name: the same inode, the later is removed;
//!   different inodes, the one with the lower inode number is renamed
//!   (`names.rs`), as e2fsck's rehash does; a reserved dot-only name is
//!   renamed the same way.
//!
//! Every entry kept counts as a reference of the inode it names; entries
//! naming directories are kept for pass 3.

use alloc::collections::BTreeSet;
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use crate::bytes::{read_u16, read_u32, read_u8, write_u16, write_u32, write_u8};
use crate::cache::BlockClass;
use crate::check::ProblemKind;
use crate::device::BlockDevice;
use crate::directory_block::{initialise_directory, initialise_empty, record_size};
use crate::error::Result;
use crate::inode::{FileType, InodeFlags, InodeNumber};
use crate::name::is_reserved_name;

use super::indexes::IndexedDirectories;
use super::names::mutate_name;
use super::{DirectoryBlock, DirectoryEdge, Repairer, IN_BAD_BLOCK};

/// Bytes of a record header.
const HEADER: usize = 8;
/// The smallest record (`EXT2_DIR_REC_LEN(1)`).
const SMALLEST_RECORD: usize = 12;

/// One entry (not `.` or `..`), for the duplicate and reserved-name search.
#[derive(Clone, Copy, Debug)]
struct NamedEntry {
    directory: u32,
    block: u32,
    offset: u32,
    inode: u32,
    name_start: u32,
    name_length: u8,
}

/// The names of every entry, kept for the search after the last block.
#[derive(Default)]
struct EntryNames {
    entries: Vec<NamedEntry>,
    bytes: Vec<u8>,
}

impl EntryNames {
    fn name(&self, entry: &NamedEntry) -> &[u8] {
        let start = entry.name_start as usize;
        self.bytes
            .get(start..start + usize::from(entry.name_length))
            .unwrap_or(&[])
    }
}

impl<D: BlockDevice> Repairer<'_, D> {
    /// Pass 2 (see the module doc).
    ///
    /// Return values: `Ok(())`; [`crate::Error::NoSpace`] when a hole
    /// cannot be filled; [`crate::Error::Device`].
    pub(super) fn check_directories(&mut self) -> Result<()> {
        let mut blocks = core::mem::take(&mut self.directory_blocks);
        blocks.sort_by_key(|block| {
            (
                block.logical != 0,
                block.physical,
                block.inode,
                block.logical,
            )
        });
        let mut names = EntryNames::default();
        let mut indexed = IndexedDirectories::default();
        for block in blocks {
            if !self.is_directory(block.inode) {
                continue;
            }
            let physical = if block.physical == 0 {
                self.fill_hole(block)?
            } else {
                block.physical
            };
            self.check_directory_block(block.inode, block.logical, physical, &mut names)?;
            self.note_indexed_block(&mut indexed, block.inode, block.logical, physical)?;
        }
        self.rename_clashing_entries(names)?;
        self.check_indexes(indexed)
    }

    /// Gives directory block `block.logical` (a hole) a new block.
    fn fill_hole(&mut self, block: DirectoryBlock) -> Result<u32> {
        let mut inode = self.fs.read_inode(InodeNumber(block.inode))?;
        let goal = self.fs.inode_goal(inode.number);
        let physical = self.allocate_block(goal)?;
        let mut data = vec![0u8; self.fs.geometry.block_bytes()];
        if block.logical == 0 {
            initialise_directory(
                &mut data,
                block.inode,
                InodeNumber::ROOT.get(),
                self.fs.geometry.filetype,
            );
        } else {
            initialise_empty(&mut data);
        }
        self.write_block(physical, &data, BlockClass::Metadata)?;
        self.map_block_to(&mut inode, u64::from(block.logical), physical)?;
        self.add_block_sectors(&mut inode, 1);
        let block_size = u64::from(self.fs.geometry.block_size);
        let end = (u64::from(block.logical) + 1) * block_size;
        if inode.size() < end {
            inode.set_size(end);
        }
        self.fs.write_inode(&inode)?;
        self.fixed(
            ProblemKind::Inode,
            Some(block.inode),
            format!(
                "directory block {} was missing: allocated block {physical}",
                block.logical
            ),
        );
        Ok(physical)
    }

    fn check_directory_block(
        &mut self,
        directory: u32,
        logical: u32,
        physical: u32,
        names: &mut EntryNames,
    ) -> Result<()> {
        let mut data = self.read_block(physical, BlockClass::Metadata)?;
        let block_size = data.len();
        let mut offset = 0usize;
        let mut previous: Option<usize> = None;
        let mut dot_state = if logical == 0 { 0 } else { 2 };
        let mut modified = false;
        let mut salvaged = 0u32;
        // Each salvage moves on or makes the record valid; the bound only
        // guards against mistakes.
        let mut steps = block_size;
        while offset < block_size && steps > 0 {
            steps -= 1;
            let (record_length, name_length) = if block_size - offset < HEADER {
                (SMALLEST_RECORD, 0)
            } else {
                (
                    usize::from(read_u16(&data, offset + 4)),
                    usize::from(read_u8(&data, offset + 6)),
                )
            };
            if offset + record_length > block_size
                || record_length < SMALLEST_RECORD
                || record_length % 4 != 0
                || record_size(name_length) > record_length
            {
                salvage(
                    &mut data,
                    &mut offset,
                    previous,
                    self.fs.geometry.inodes_count,
                );
                modified = true;
                salvaged += 1;
                continue;
            }
            let mut remove: Option<String> = None;
            if dot_state == 0 {
                modified |= self.check_dot(&mut data, offset, directory);
            } else if dot_state == 1 {
                modified |= self.check_dot_dot(&mut data, offset, directory);
            } else if read_u32(&data, offset) == directory {
                remove = Some(String::from("names the directory itself"));
            }
            let inode = read_u32(&data, offset);
            let name_length = usize::from(read_u8(&data, offset + 6));
            let name: Vec<u8> = data
                .get(offset + HEADER..offset + HEADER + name_length)
                .unwrap_or(&[])
                .into();
            if inode != 0 && remove.is_none() {
                remove = self.entry_problem(directory, inode, &name, dot_state);
            }
            if let Some(why) = remove {
                if inode != 0 {
                    write_u32(&mut data, offset, 0);
                    modified = true;
                    self.fixed(
                        ProblemKind::DirectoryEntry,
                        Some(directory),
                        format!(
                            "entry `{}` {why}: removed it",
                            String::from_utf8_lossy(&name)
                        ),
                    );
                }
                if dot_state == 1 {
                    if let Some(record) = self.record_mut(directory) {
                        record.dot_dot = 0;
                    }
                }
            } else if inode != 0 {
                modified |= self.check_entry(
                    &mut data, offset, directory, inode, dot_state, physical, names,
                );
            }
            previous = Some(offset);
            offset += usize::from(read_u16(&data, offset + 4)).max(4);
            dot_state += 1;
        }
        if salvaged > 0 {
            self.fixed(
                ProblemKind::DirectoryEntry,
                Some(directory),
                format!("block {physical} (directory block {logical}): salvaged {salvaged} damaged records"),
            );
        }
        if modified {
            self.write_block(physical, &data, BlockClass::Metadata)?;
            self.drop_index(directory)?;
        }
        Ok(())
    }

    /// e2fsck's `check_dot`: the first record is `.`, naming the
    /// directory, 12 bytes long. Returns whether the block changed.
    fn check_dot(&mut self, data: &mut [u8], offset: usize, directory: u32) -> bool {
        let mut changed = false;
        let inode = read_u32(data, offset);
        let name_length = read_u8(data, offset + 6);
        let problem = if inode == 0 {
            Some("is missing")
        } else if name_length != 1 || read_u8(data, offset + 8) != b'.' {
            Some("is not the first record")
        } else if read_u8(data, offset + 9) != 0 {
            Some("is not NUL-terminated")
        } else {
            None
        };
        let mut record_length = usize::from(read_u16(data, offset + 4));
        let mut created = false;
        if let Some(problem) = problem {
            if record_length < SMALLEST_RECORD {
                record_length = SMALLEST_RECORD;
                write_u16(data, offset + 4, SMALLEST_RECORD as u16);
            }
            write_u32(data, offset, directory);
            write_u8(data, offset + 6, 1);
            write_u8(data, offset + 7, self.directory_type_byte());
            write_u8(data, offset + 8, b'.');
            write_u8(data, offset + 9, 0);
            changed = true;
            created = true;
            self.fixed(
                ProblemKind::DirectoryEntry,
                Some(directory),
                format!("`.` {problem}: wrote it"),
            );
        }
        if read_u32(data, offset) != directory {
            let was = read_u32(data, offset);
            write_u32(data, offset, directory);
            changed = true;
            self.fixed(
                ProblemKind::DirectoryEntry,
                Some(directory),
                format!("`.` named inode {was}: pointed it at the directory itself"),
            );
        }
        if record_length > 2 * SMALLEST_RECORD {
            let rest = record_length - SMALLEST_RECORD;
            write_u16(data, offset + 4, SMALLEST_RECORD as u16);
            let next = offset + SMALLEST_RECORD;
            // A `..` the long `.` swallowed is kept (with the length of
            // what is left); anything else becomes one free record.
            let looks_like_dot_dot = data.get(next + HEADER..next + HEADER + 3) == Some(b"..\0");
            write_u16(data, next + 4, rest as u16);
            if !looks_like_dot_dot {
                write_u32(data, next, 0);
                write_u8(data, next + 6, 0);
                write_u8(data, next + 7, 0);
            }
            changed = true;
            if !created {
                self.fixed(
                    ProblemKind::DirectoryEntry,
                    Some(directory),
                    String::from("`.` record was longer than it needs: split it"),
                );
            }
        }
        changed
    }

    /// e2fsck's `check_dotdot`: the second record is `..` (pass 3 checks
    /// whom it names). Returns whether the block changed.
    fn check_dot_dot(&mut self, data: &mut [u8], offset: usize, directory: u32) -> bool {
        let inode = read_u32(data, offset);
        let name_length = read_u8(data, offset + 6);
        let problem = if inode == 0 {
            Some("is missing")
        } else if name_length != 2 || data.get(offset + HEADER..offset + HEADER + 2) != Some(b"..")
        {
            Some("is not the second record")
        } else if read_u8(data, offset + 10) != 0 {
            Some("is not NUL-terminated")
        } else {
            None
        };
        let Some(problem) = problem else {
            if let Some(record) = self.record_mut(directory) {
                record.dot_dot = inode;
            }
            return false;
        };
        if usize::from(read_u16(data, offset + 4)) < SMALLEST_RECORD {
            write_u16(data, offset + 4, SMALLEST_RECORD as u16);
        }
        write_u32(data, offset, InodeNumber::ROOT.get());
        write_u8(data, offset + 6, 2);
        write_u8(data, offset + 7, self.directory_type_byte());
        write_u8(data, offset + 8, b'.');
        write_u8(data, offset + 9, b'.');
        write_u8(data, offset + 10, 0);
        if let Some(record) = self.record_mut(directory) {
            // Unknown: pass 3 points it at the parent.
            record.dot_dot = 0;
        }
        self.fixed(
            ProblemKind::DirectoryEntry,
            Some(directory),
            format!("`..` {problem}: wrote it (pass 3 sets its parent)"),
        );
        true
    }

    /// Why an entry naming `inode` must go, if it must.
    fn entry_problem(
        &self,
        directory: u32,
        inode: u32,
        name: &[u8],
        dot_state: u32,
    ) -> Option<String> {
        let first_inode = self.fs.geometry.first_inode;
        let root = InodeNumber::ROOT.get();
        let _ = directory;
        if (inode != root && inode < first_inode) || inode > self.fs.geometry.inodes_count {
            return Some(format!("names reserved or out-of-range inode {inode}"));
        }
        if self.record(inode).flags & IN_BAD_BLOCK != 0 {
            return Some(format!("names inode {inode}, which lies in a bad block"));
        }
        if dot_state > 1 && name == b"." {
            return Some(String::from("is a second `.`"));
        }
        if dot_state > 1 && name == b".." {
            return Some(String::from("is a second `..`"));
        }
        if dot_state > 1 && inode == root {
            return Some(String::from("names the root directory"));
        }
        if dot_state > 1 && name.is_empty() {
            return Some(String::from("has an empty name"));
        }
        if !self.in_use(inode) {
            return Some(format!("names unused inode {inode}"));
        }
        None
    }

    /// An entry naming an inode in use: its type, its name, the directory
    /// it names. Returns whether the block changed.
    #[allow(clippy::too_many_arguments, reason = "one record and where it lives")]
    fn check_entry(
        &mut self,
        data: &mut [u8],
        offset: usize,
        directory: u32,
        inode: u32,
        dot_state: u32,
        physical: u32,
        names: &mut EntryNames,
    ) -> bool {
        let mut changed = false;
        let name_length = usize::from(read_u8(data, offset + 6));
        let file_type = self.record(inode).file_type.unwrap_or(FileType::Unknown);
        let recorded = read_u8(data, offset + 7);
        let expected = if self.fs.geometry.filetype {
            file_type.directory_entry_byte()
        } else {
            0
        };
        if recorded != expected {
            write_u8(data, offset + 7, expected);
            changed = true;
            self.fixed(
                ProblemKind::DirectoryEntry,
                Some(directory),
                format!(
                    "entry `{}` recorded type {recorded}, inode {inode} is {file_type:?}: set it to {expected}",
                    String::from_utf8_lossy(data.get(offset + HEADER..offset + HEADER + name_length).unwrap_or(&[]))
                ),
            );
        }
        if let Some(name) = data.get_mut(offset + HEADER..offset + HEADER + name_length) {
            if name.iter().any(|&byte| byte == b'/' || byte == 0) {
                for byte in name.iter_mut() {
                    if *byte == b'/' || *byte == 0 {
                        *byte = b'.';
                    }
                }
                changed = true;
                let shown = String::from_utf8_lossy(name).into_owned();
                self.fixed(
                    ProblemKind::DirectoryEntry,
                    Some(directory),
                    format!("entry name had `/` or NUL: renamed it `{shown}`"),
                );
            }
        }
        let name: Vec<u8> = data
            .get(offset + HEADER..offset + HEADER + name_length)
            .unwrap_or(&[])
            .into();
        if dot_state > 1 && file_type == FileType::RegularFile && self.record(inode).rootlink != 0 {
            // A launcher: pass 3 follows its rootlink.
            self.edges.push(DirectoryEdge {
                parent: directory,
                child: inode,
                block: physical,
                offset: offset as u32,
            });
        }
        if dot_state > 1 && file_type == FileType::Directory {
            let parent = self.record(inode).parent;
            if parent != 0 && !self.ext2l {
                write_u32(data, offset, 0);
                self.fixed(
                    ProblemKind::DirectoryEntry,
                    Some(directory),
                    format!(
                        "entry `{}` is a second name of directory {inode} (first in {parent}) on a volume without the ext2l feature: removed it",
                        String::from_utf8_lossy(&name)
                    ),
                );
                return true;
            }
            if parent == 0 {
                if let Some(record) = self.record_mut(inode) {
                    record.parent = directory;
                }
            }
            self.edges.push(DirectoryEdge {
                parent: directory,
                child: inode,
                block: physical,
                offset: offset as u32,
            });
        }
        if dot_state > 1 {
            let name_start = names.bytes.len() as u32;
            names.bytes.extend_from_slice(&name);
            names.entries.push(NamedEntry {
                directory,
                block: physical,
                offset: offset as u32,
                inode,
                name_start,
                name_length: name.len() as u8,
            });
        }
        self.count_reference(inode, 1);
        changed
    }

    /// The type byte of a directory entry naming a directory.
    fn directory_type_byte(&self) -> u8 {
        if self.fs.geometry.filetype {
            FileType::Directory.directory_entry_byte()
        } else {
            0
        }
    }

    /// Drops the index flag of a directory whose blocks changed (its
    /// hashes may no longer hold), as any change this library makes does.
    pub(super) fn drop_index(&mut self, directory: u32) -> Result<()> {
        let mut inode = self.fs.read_inode(InodeNumber(directory))?;
        let flags = inode.flags();
        if flags.contains(InodeFlags::INDEX) {
            inode.set_flags(flags - InodeFlags::INDEX);
            self.fs.write_inode(&inode)?;
        }
        Ok(())
    }

    /// Duplicate names and reserved names, after the last block.
    fn rename_clashing_entries(&mut self, names: EntryNames) -> Result<()> {
        let mut order: Vec<usize> = (0..names.entries.len()).collect();
        order.sort_by(|&left, &right| {
            let (a, b) = (&names.entries[left], &names.entries[right]);
            a.directory
                .cmp(&b.directory)
                .then_with(|| names.name(a).cmp(names.name(b)))
                .then_with(|| b.inode.cmp(&a.inode))
        });
        let mut start = 0;
        while start < order.len() {
            let directory = names.entries[order[start]].directory;
            let mut end = start;
            while end < order.len() && names.entries[order[end]].directory == directory {
                end += 1;
            }
            let group = &order[start..end];
            let clashes = group.windows(2).any(|pair| {
                names.name(&names.entries[pair[0]]) == names.name(&names.entries[pair[1]])
            }) || group
                .iter()
                .any(|&index| is_reserved_name(names.name(&names.entries[index])));
            if clashes {
                self.rename_in_directory(&names, group)?;
            }
            start = end;
        }
        Ok(())
    }

    /// Fixes the clashing names of one directory (`group`: its entries,
    /// sorted by name, then inode from the highest).
    fn rename_in_directory(&mut self, names: &EntryNames, group: &[usize]) -> Result<()> {
        let mut taken: BTreeSet<Vec<u8>> = group
            .iter()
            .map(|&index| Vec::from(names.name(&names.entries[index])))
            .collect();
        // The entry before, by name, and the inode it names now: 0 once
        // removed. As e2fsck's `duplicate_search_and_fix`, an entry is
        // compared with the one just before it even when that one was
        // removed, so of three equal entries the third is renamed.
        let mut previous: Option<(&NamedEntry, u32)> = None;
        for &index in group {
            let entry = &names.entries[index];
            let name = names.name(entry);
            let same_as_previous =
                previous.is_some_and(|(previous, _)| names.name(previous) == name);
            if same_as_previous && previous.is_some_and(|(_, inode)| inode == entry.inode) {
                self.remove_entry_at(entry.block, entry.offset)?;
                self.count_reference(entry.inode, -1);
                self.edges
                    .retain(|edge| !(edge.block == entry.block && edge.offset == entry.offset));
                self.fixed(
                    ProblemKind::DirectoryEntry,
                    Some(entry.directory),
                    format!(
                        "entry `{}` appeared twice for inode {}: removed one",
                        String::from_utf8_lossy(name),
                        entry.inode
                    ),
                );
                previous = Some((entry, 0));
                continue;
            }
            if same_as_previous || is_reserved_name(name) {
                let mut new_name = mutate_name(name);
                let mut tries = 0;
                while taken.contains(&new_name) && tries < 10_000 {
                    new_name = mutate_name(&new_name);
                    tries += 1;
                }
                taken.insert(new_name.clone());
                self.rename_entry_at(entry, &new_name)?;
                let why = if same_as_previous {
                    "is a name another entry of the directory has"
                } else {
                    "is a reserved dot-only name"
                };
                self.fixed(
                    ProblemKind::DirectoryEntry,
                    Some(entry.directory),
                    format!(
                        "entry `{}` (inode {}) {why}: renamed it `{}`",
                        String::from_utf8_lossy(name),
                        entry.inode,
                        String::from_utf8_lossy(&new_name)
                    ),
                );
            }
            previous = Some((entry, entry.inode));
        }
        Ok(())
    }

    /// Frees the record at `offset` of directory block `block` (its inode
    /// becomes 0: a free record).
    fn remove_entry_at(&mut self, block: u32, offset: u32) -> Result<()> {
        let mut data = self.read_block(block, BlockClass::Metadata)?;
        write_u32(&mut data, offset as usize, 0);
        self.write_block(block, &data, BlockClass::Metadata)
    }

    /// Gives an entry a new name: in place when its record holds it, else
    /// as a new entry (the old record freed).
    fn rename_entry_at(&mut self, entry: &NamedEntry, new_name: &[u8]) -> Result<()> {
        let mut data = self.read_block(entry.block, BlockClass::Metadata)?;
        let offset = entry.offset as usize;
        let record_length = usize::from(read_u16(&data, offset + 4));
        self.drop_index(entry.directory)?;
        if record_size(new_name.len()) <= record_length {
            write_u8(&mut data, offset + 6, new_name.len() as u8);
            if let Some(target) = data.get_mut(offset + HEADER..offset + HEADER + new_name.len()) {
                target.copy_from_slice(new_name);
            }
            return self.write_block(entry.block, &data, BlockClass::Metadata);
        }
        let file_type = self
            .record(entry.inode)
            .file_type
            .unwrap_or(FileType::Unknown);
        write_u32(&mut data, offset, 0);
        self.write_block(entry.block, &data, BlockClass::Metadata)?;
        self.add_entry(entry.directory, new_name, entry.inode, file_type)?;
        if file_type == FileType::Directory {
            // The entry moved: pass 3 finds it by a fresh edge.
            for edge in self.edges.iter_mut() {
                if edge.block == entry.block && edge.offset == entry.offset {
                    edge.block = 0;
                }
            }
        }
        Ok(())
    }
}

/// e2fsck's `salvage_directory` on the record at `offset` (see the module
/// doc); `offset` moves past what was absorbed.
fn salvage(data: &mut [u8], offset: &mut usize, previous: Option<usize>, inodes_count: u32) {
    let block_size = data.len();
    let at = *offset;
    let (name_length, record_length) = if block_size - at < HEADER {
        (0usize, block_size - at)
    } else {
        (
            usize::from(read_u8(data, at + 6)),
            usize::from(read_u16(data, at + 4)),
        )
    };
    let left = block_size as i64 - at as i64 - record_length as i64;
    // An 8-byte record: pull the rest of the block over it.
    if left >= SMALLEST_RECORD as i64 && record_length == HEADER {
        let left = left as usize;
        data.copy_within(at + HEADER..at + HEADER + left, at);
        if let Some(tail) = data.get_mut(at + left..at + left + HEADER) {
            tail.fill(0);
        }
        return;
    }
    // A record running past the end whose name still fits: shorten it.
    let fits = record_length as i64 + left;
    let name_clean = data
        .get(at + HEADER..at + HEADER + name_length)
        .is_some_and(|name| !name.contains(&0));
    if left < 0
        && fits > HEADER as i64
        && record_size(name_length) as i64 <= fits
        && read_u32(data, at) <= inodes_count
        && name_clean
    {
        write_u16(data, at + 4, fits as u16);
        return;
    }
    // A well-formed length: the previous record absorbs this one.
    if let Some(previous) = previous {
        if record_length != 0 && record_length % 4 == 0 && at + record_length <= block_size {
            let previous_length = usize::from(read_u16(data, previous + 4));
            write_u16(data, previous + 4, (previous_length + record_length) as u16);
            *offset += record_length;
            return;
        }
    }
    // Otherwise the rest of the block goes.
    match previous {
        Some(previous) => {
            let previous_length = usize::from(read_u16(data, previous + 4));
            write_u16(
                data,
                previous + 4,
                (previous_length + block_size - at) as u16,
            );
            *offset = block_size;
        }
        None => {
            write_u16(data, at + 4, (block_size - at) as u16);
            write_u8(data, at + 6, 0);
            write_u8(data, at + 7, 0);
            write_u32(data, at, 0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(data: &mut [u8], at: usize, inode: u32, length: u16, name: &[u8]) {
        write_u32(data, at, inode);
        write_u16(data, at + 4, length);
        write_u8(data, at + 6, name.len() as u8);
        data[at + 8..at + 8 + name.len()].copy_from_slice(name);
    }

    #[test]
    fn a_record_past_the_end_is_shortened() {
        let mut data = vec![0u8; 1024];
        record(&mut data, 0, 11, 1000, b"a");
        record(&mut data, 1000, 12, 100, b"b");
        let mut offset = 1000;
        salvage(&mut data, &mut offset, Some(0), 100);
        assert_eq!(read_u16(&data, 1004), 24);
        assert_eq!(offset, 1000);
    }

    #[test]
    fn garbage_goes_to_the_previous_record() {
        let mut data = vec![0u8; 1024];
        record(&mut data, 0, 11, 12, b"a");
        write_u16(&mut data, 16, 3);
        let mut offset = 12;
        salvage(&mut data, &mut offset, Some(0), 100);
        assert_eq!(read_u16(&data, 4), 1024);
        assert_eq!(offset, 1024);
    }

    #[test]
    fn an_eight_byte_record_is_squeezed_out() {
        let mut data = vec![0u8; 1024];
        record(&mut data, 0, 11, 12, b"a");
        record(&mut data, 12, 0, 8, b"");
        record(&mut data, 20, 13, 1004, b"c");
        let mut offset = 12;
        salvage(&mut data, &mut offset, Some(0), 100);
        assert_eq!(read_u32(&data, 12), 13);
        assert_eq!(read_u16(&data, 16), 1004);
    }
}
