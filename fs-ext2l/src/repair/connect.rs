// SPDX-License-Identifier: MIT OR Apache-2.0
//! Pass 3: the root, directory cycles, `/lost+found`, and `..`.
//!
//! As e2fsck's pass 3: a root that pass 1 cleared (or never found) is made
//! again, empty, and `/lost+found` is looked up in it (a `lost+found` that
//! is not a directory loses its name). Then, because ext2l directories may
//! have several names (DESIGN §4), the entries between directories are
//! searched depth first from the root and from every other directory in
//! inode order, and an entry leading back to a directory on the current
//! path — a cycle — is removed (e2fsck's volumes cannot have one: each of
//! their directories has one name). Every directory is then reached from
//! the root, through entries and, on an ext2l volume, through the
//! rootlinks of the regular files met (a package root may have no name at
//! all). A directory nothing reaches is reconnected: its parents are
//! followed up (the first directory naming each) to the top of what
//! cannot be reached, which gets an entry `#INODE` in `/lost+found` (made
//! when first needed, as e2fsck makes it: mode 0700, one block, the
//! lowest free inode). Last, each directory's `..` must name its parent
//! (on an ext2l volume: itself or any directory naming it); otherwise it
//! is pointed at the parent.

use alloc::collections::VecDeque;
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use crate::bytes::{read_u16, read_u32, read_u8, write_u32, write_u8};
use crate::cache::BlockClass;
use crate::check::ProblemKind;
use crate::device::BlockDevice;
use crate::directory_block::initialise_directory;
use crate::error::{Error, Result};
use crate::inode::{FileType, InodeNumber};

use super::{InodeRecord, Repairer};

/// The name e2fsck gives the directory of reconnected inodes.
pub(super) const LOST_AND_FOUND: &[u8] = b"lost+found";

impl<D: BlockDevice> Repairer<'_, D> {
    /// Pass 3 (see the module doc).
    ///
    /// Return values: `Ok(())`; [`Error::NoSpace`] when the root cannot
    /// be made; [`Error::Device`].
    pub(super) fn check_connectivity(&mut self) -> Result<()> {
        let root = InodeNumber::ROOT.get();
        if !self.is_directory(root) {
            self.make_root()?;
        }
        self.find_lost_and_found()?;
        self.break_cycles()?;
        let mut reached = self.reach_from_root();
        let directories: Vec<u32> = (1..self.inodes.len() as u32)
            .filter(|&inode| self.is_directory(inode))
            .collect();
        // Which walk up last met each directory (a walk never goes round a
        // loop of parents twice).
        let mut met_by = vec![0u32; self.inodes.len()];
        for &directory in &directories {
            if reached.get(directory as usize).copied().unwrap_or(true) {
                continue;
            }
            // Up to the top of what cannot be reached.
            let mut top = directory;
            if let Some(mark) = met_by.get_mut(directory as usize) {
                *mark = directory;
            }
            loop {
                let parent = self.record(top).parent;
                let unreached =
                    parent != 0 && !reached.get(parent as usize).copied().unwrap_or(true);
                if !unreached || met_by.get(parent as usize).copied() == Some(directory) {
                    break;
                }
                if let Some(mark) = met_by.get_mut(parent as usize) {
                    *mark = directory;
                }
                top = parent;
            }
            if !self.reconnect(top)? {
                // No `/lost+found`: nothing more can be reconnected.
                break;
            }
            self.reach_from(top, &mut reached);
        }
        for &directory in &directories {
            self.check_dot_dot_target(directory)?;
        }
        Ok(())
    }

    /// Makes a new, empty root directory (e2fsck's `check_root`).
    fn make_root(&mut self) -> Result<()> {
        let root = InodeNumber::ROOT.get();
        let block = self.allocate_block(0)?;
        let mut data = vec![0u8; self.fs.geometry.block_bytes()];
        initialise_directory(&mut data, root, root, self.fs.geometry.filetype);
        self.write_block(block, &data, BlockClass::Metadata)?;
        self.fs.clear_inode_slot(InodeNumber::ROOT)?;
        let mut inode = crate::inode::Inode::zeroed(InodeNumber::ROOT);
        inode.set_mode(crate::inode::mode::DIRECTORY | 0o755);
        inode.set_size(u64::from(self.fs.geometry.block_size));
        inode.set_links(2);
        inode.set_block_pointer(0, block);
        self.add_block_sectors(&mut inode, 1);
        inode.set_access_time(self.now);
        inode.set_change_time(self.now);
        inode.set_modification_time(self.now);
        if self.fs.geometry.inode_size > 128 {
            inode.set_extra_size(32);
        }
        self.fs.write_inode(&inode)?;
        if let Some(record) = self.record_mut(root) {
            *record = InodeRecord {
                file_type: Some(FileType::Directory),
                links: 2,
                counted: 2,
                dot_dot: root,
                parent: root,
                ..InodeRecord::default()
            };
        }
        self.fixed(
            ProblemKind::Inode,
            Some(root),
            format!("the root directory was gone: made a new one in block {block}"),
        );
        Ok(())
    }

    /// Looks `lost+found` up in the root; a name that is not a directory
    /// in use is removed (the directory is made when first needed).
    fn find_lost_and_found(&mut self) -> Result<()> {
        let root = InodeNumber::ROOT.get();
        let Some((inode, block, offset)) = self.find_entry_named(root, LOST_AND_FOUND)? else {
            return Ok(());
        };
        if self.is_directory(inode) {
            self.lost_and_found = Some(inode);
            return Ok(());
        }
        let mut data = self.read_block(block, BlockClass::Metadata)?;
        write_u32(&mut data, offset as usize, 0);
        self.write_block(block, &data, BlockClass::Metadata)?;
        self.count_reference(inode, -1);
        self.fixed(
            ProblemKind::DirectoryEntry,
            Some(root),
            format!("`lost+found` names inode {inode}, which is not a directory: removed the name"),
        );
        Ok(())
    }

    /// `/lost+found`, made when it is missing (e2fsck's
    /// `e2fsck_get_lost_and_found`); `None` when there is no room for it.
    ///
    /// Return values: the directory or `None`; [`Error::Device`].
    pub(super) fn lost_and_found(&mut self) -> Result<Option<u32>> {
        if let Some(directory) = self.lost_and_found {
            return Ok(Some(directory));
        }
        let root = InodeNumber::ROOT.get();
        if !self.is_directory(root) {
            return Ok(None);
        }
        let mut inode = match self.allocate_inode(FileType::Directory) {
            Ok(inode) => inode,
            Err(Error::NoSpace) => return Ok(None),
            Err(error) => return Err(error),
        };
        let number = inode.number.get();
        let block = match self.allocate_block(0) {
            Ok(block) => block,
            Err(Error::NoSpace) => {
                if let Some(record) = self.record_mut(number) {
                    record.file_type = None;
                }
                return Ok(None);
            }
            Err(error) => return Err(error),
        };
        let mut data = vec![0u8; self.fs.geometry.block_bytes()];
        initialise_directory(&mut data, number, root, self.fs.geometry.filetype);
        self.write_block(block, &data, BlockClass::Metadata)?;
        inode.set_mode(crate::inode::mode::DIRECTORY | 0o700);
        inode.set_size(u64::from(self.fs.geometry.block_size));
        inode.set_links(2);
        inode.set_block_pointer(0, block);
        self.add_block_sectors(&mut inode, 1);
        inode.set_access_time(self.now);
        inode.set_change_time(self.now);
        inode.set_modification_time(self.now);
        self.fs.write_inode(&inode)?;
        if let Err(error) = self.add_entry(root, LOST_AND_FOUND, number, FileType::Directory) {
            if let Some(record) = self.record_mut(number) {
                record.file_type = None;
            }
            return match error {
                Error::NoSpace => Ok(None),
                other => Err(other),
            };
        }
        if let Some(record) = self.record_mut(number) {
            *record = InodeRecord {
                file_type: Some(FileType::Directory),
                links: 2,
                counted: 2,
                dot_dot: root,
                parent: root,
                ..InodeRecord::default()
            };
        }
        self.count_reference(root, 1);
        self.edges.push(super::DirectoryEdge {
            parent: root,
            child: number,
            block: 0,
            offset: 0,
        });
        self.lost_and_found = Some(number);
        self.fixed(
            ProblemKind::Unreachable,
            Some(number),
            String::from("made /lost+found"),
        );
        Ok(Some(number))
    }

    /// Gives `inode` the name `#INODE` in `/lost+found`; a directory's
    /// `..` then names `/lost+found`. Returns false when there is no
    /// `/lost+found` to put it in.
    ///
    /// Return values: whether it was reconnected; [`Error::Device`].
    pub(super) fn reconnect(&mut self, inode: u32) -> Result<bool> {
        let Some(directory) = self.lost_and_found()? else {
            return Ok(false);
        };
        let file_type = self.record(inode).file_type.unwrap_or(FileType::Unknown);
        let name = format!("#{inode}");
        match self.add_entry(directory, name.as_bytes(), inode, file_type) {
            Ok(()) => {}
            Err(Error::NoSpace) => return Ok(false),
            Err(error) => return Err(error),
        }
        self.count_reference(inode, 1);
        self.fixed(
            ProblemKind::Unreachable,
            Some(inode),
            format!("nothing reached it: reconnected it as /lost+found/{name}"),
        );
        if file_type == FileType::Directory {
            if let Some(record) = self.record_mut(inode) {
                record.parent = directory;
            }
            self.edges.push(super::DirectoryEdge {
                parent: directory,
                child: inode,
                block: 0,
                offset: 0,
            });
            self.set_dot_dot(inode, directory)?;
        }
        Ok(true)
    }

    /// Whether each inode is reached from the root (by index).
    fn reach_from_root(&mut self) -> Vec<bool> {
        let mut reached = vec![false; self.inodes.len()];
        let root = InodeNumber::ROOT.get();
        if self.is_directory(root) {
            self.reach_from(root, &mut reached);
        }
        reached
    }

    /// Marks everything reached from `start` through entries between
    /// directories and rootlinks.
    fn reach_from(&mut self, start: u32, reached: &mut [bool]) {
        if !self.edges.is_sorted_by_key(|edge| edge.parent) {
            self.edges.sort_by_key(|edge| edge.parent);
        }
        let mut queue = VecDeque::new();
        if let Some(slot) = reached.get_mut(start as usize) {
            *slot = true;
        }
        queue.push_back(start);
        while let Some(directory) = queue.pop_front() {
            let first = self.edges.partition_point(|edge| edge.parent < directory);
            for edge in self.edges.get(first..).unwrap_or(&[]) {
                if edge.parent != directory {
                    break;
                }
                let target = if self.is_directory(edge.child) {
                    edge.child
                } else {
                    // A launcher: what its rootlink names.
                    self.record(edge.child).rootlink
                };
                if target == 0 || !self.is_directory(target) {
                    continue;
                }
                if let Some(slot) = reached.get_mut(target as usize) {
                    if !*slot {
                        *slot = true;
                        queue.push_back(target);
                    }
                }
            }
        }
    }

    /// Removes every entry that closes a directory cycle.
    fn break_cycles(&mut self) -> Result<()> {
        let mut edges: Vec<(u32, u32, usize)> = self
            .edges
            .iter()
            .enumerate()
            .filter(|(_, edge)| self.is_directory(edge.child))
            .map(|(index, edge)| (edge.parent, edge.child, index))
            .collect();
        edges.sort_unstable();
        let slots = self.inodes.len();
        // 0 unvisited, 1 on the path, 2 done.
        let mut colour = vec![0u8; slots];
        let mut closing: Vec<usize> = Vec::new();
        let root = InodeNumber::ROOT.get();
        let starts = core::iter::once(root).chain(1..slots as u32);
        for start in starts {
            if !self.is_directory(start) || colour.get(start as usize).copied() != Some(0) {
                continue;
            }
            let mut stack: Vec<(u32, usize)> =
                vec![(start, edges.partition_point(|edge| edge.0 < start))];
            colour[start as usize] = 1;
            while let Some(top) = stack.last_mut() {
                let (directory, cursor) = *top;
                match edges.get(cursor) {
                    Some(&(parent, child, index)) if parent == directory => {
                        top.1 += 1;
                        match colour.get(child as usize).copied() {
                            Some(0) => {
                                colour[child as usize] = 1;
                                stack.push((child, edges.partition_point(|edge| edge.0 < child)));
                            }
                            Some(1) => closing.push(index),
                            _ => {}
                        }
                    }
                    _ => {
                        colour[directory as usize] = 2;
                        stack.pop();
                    }
                }
            }
        }
        closing.sort_unstable();
        closing.dedup();
        for &index in closing.iter().rev() {
            let edge = self.edges.remove(index);
            self.remove_directory_entry(edge.parent, edge.child, edge.block, edge.offset)?;
            self.count_reference(edge.child, -1);
            self.fixed(
                ProblemKind::Cycle,
                Some(edge.parent),
                format!(
                    "its entry for directory {} closed a directory cycle: removed it",
                    edge.child
                ),
            );
        }
        if !closing.is_empty() {
            // Parents are the first remaining entry naming each directory.
            for record in self.inodes.iter_mut() {
                if record.file_type == Some(FileType::Directory) {
                    record.parent = 0;
                }
            }
            let edges: Vec<(u32, u32)> = self
                .edges
                .iter()
                .map(|edge| (edge.parent, edge.child))
                .collect();
            for (parent, child) in edges {
                if self.is_directory(child) && self.record(child).parent == 0 {
                    if let Some(record) = self.record_mut(child) {
                        record.parent = parent;
                    }
                }
            }
            if let Some(record) = self.record_mut(root) {
                record.parent = root;
            }
        }
        Ok(())
    }

    /// Frees the entry of `parent` naming `child`: at `block`/`offset`
    /// when that record still names it, else the first such entry found.
    fn remove_directory_entry(
        &mut self,
        parent: u32,
        child: u32,
        block: u32,
        offset: u32,
    ) -> Result<()> {
        let location = if block != 0 {
            let data = self.read_block(block, BlockClass::Metadata)?;
            (read_u32(&data, offset as usize) == child).then_some((block, offset))
        } else {
            None
        };
        let location = match location {
            Some(location) => Some(location),
            None => self
                .find_entry_naming(parent, child)?
                .map(|(_, block, offset)| (block, offset)),
        };
        if let Some((block, offset)) = location {
            let mut data = self.read_block(block, BlockClass::Metadata)?;
            write_u32(&mut data, offset as usize, 0);
            self.write_block(block, &data, BlockClass::Metadata)?;
            self.drop_index(parent)?;
        }
        Ok(())
    }

    /// A directory's `..` against its parent (see the module doc).
    fn check_dot_dot_target(&mut self, directory: u32) -> Result<()> {
        let record = self.record(directory);
        let root = InodeNumber::ROOT.get();
        let wanted = if directory == root {
            root
        } else {
            record.parent
        };
        if wanted == 0 || record.dot_dot == wanted {
            return Ok(());
        }
        if self.ext2l && directory != root && record.dot_dot != 0 {
            let dot_dot = record.dot_dot;
            let valid = dot_dot == directory
                || self
                    .edges
                    .iter()
                    .any(|edge| edge.parent == dot_dot && edge.child == directory);
            if valid {
                return Ok(());
            }
        }
        let was = record.dot_dot;
        self.set_dot_dot(directory, wanted)?;
        self.fixed(
            ProblemKind::DirectoryEntry,
            Some(directory),
            format!("`..` named inode {was}, not its parent: pointed it at inode {wanted}"),
        );
        Ok(())
    }

    /// Points a directory's `..` at `parent` (e2fsck's `fix_dotdot`),
    /// moving the reference it counted.
    fn set_dot_dot(&mut self, directory: u32, parent: u32) -> Result<()> {
        let inode = self.fs.read_inode(InodeNumber(directory))?;
        let Ok(Some(block)) = self.fs.map_block(&inode, 0) else {
            return Ok(());
        };
        let mut data = self.read_block(block, BlockClass::Metadata)?;
        let first_length = usize::from(read_u16(&data, 4));
        let second = first_length;
        if second + 12 > data.len() || read_u8(&data, second + 6) != 2 {
            return Ok(());
        }
        let old = read_u32(&data, second);
        write_u32(&mut data, second, parent);
        if self.fs.geometry.filetype {
            write_u8(
                &mut data,
                second + 7,
                FileType::Directory.directory_entry_byte(),
            );
        }
        self.write_block(block, &data, BlockClass::Metadata)?;
        if old != 0 {
            self.count_reference(old, -1);
        }
        self.count_reference(parent, 1);
        if let Some(record) = self.record_mut(directory) {
            record.dot_dot = parent;
        }
        Ok(())
    }

    /// The entry of `directory` called `name`: (inode, block, offset).
    fn find_entry_named(&mut self, directory: u32, name: &[u8]) -> Result<Option<(u32, u32, u32)>> {
        self.find_entry(directory, |entry_name, _| entry_name == name)
    }

    /// The first entry of `directory` (not `.` or `..`) naming `child`.
    fn find_entry_naming(&mut self, directory: u32, child: u32) -> Result<Option<(u32, u32, u32)>> {
        self.find_entry(directory, |name, inode| {
            inode == child && name != b"." && name != b".."
        })
    }

    fn find_entry(
        &mut self,
        directory: u32,
        wanted_fn: impl Fn(&[u8], u32) -> bool,
    ) -> Result<Option<(u32, u32, u32)>> {
        let inode = self.fs.read_inode(InodeNumber(directory))?;
        if !inode.is_directory() {
            return Ok(None);
        }
        let block_size = u64::from(self.fs.geometry.block_size);
        let filetype = self.fs.geometry.filetype;
        let inodes_count = self.fs.geometry.inodes_count;
        for logical in 0..inode.size() / block_size {
            let Ok(Some(block)) = self.fs.map_block(&inode, logical) else {
                continue;
            };
            let data = self.read_block(block, BlockClass::Metadata)?;
            for entry in crate::directory_block::entries(&data, filetype, inodes_count)
                .map_while(|entry| entry.ok())
            {
                if entry.inode != 0 && wanted_fn(entry.name, entry.inode) {
                    return Ok(Some((entry.inode, block, entry.offset as u32)));
                }
            }
        }
        Ok(None)
    }
}
