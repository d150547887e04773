// SPDX-License-Identifier: MIT OR Apache-2.0
//! Paths for the repair log, from the repaired tree.
//!
//! Once the repair is done, one breadth-first walk from the root (through
//! entries, and through the rootlinks of the regular files met, written
//! `<rootlink of N>` as the checker writes them) records how each inode
//! was first reached; each logged inode that was reached gets its path.
//! The walk keeps one parent and one name per inode reached, and stops at
//! a directory it cannot read.

use alloc::collections::VecDeque;
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use crate::device::BlockDevice;
use crate::error::Result;
use crate::filesystem::FileSystem;
use crate::inode::{FileType, InodeNumber};

use super::Repair;

/// How the walk first reached an inode.
#[derive(Clone, Copy)]
enum Step {
    None,
    Root,
    /// Through the entry whose name starts at this offset of the names,
    /// in this directory.
    Entry {
        parent: u32,
        start: u32,
        length: u8,
    },
    /// Through this file's rootlink.
    Rootlink(u32),
}

/// Fills in the path of every repair whose inode the repaired tree
/// reaches.
///
/// Return values: `Ok(())`, or [`crate::Error::Device`].
pub(super) fn fill_paths<D: BlockDevice>(
    fs: &mut FileSystem<D>,
    repairs: &mut [Repair],
) -> Result<()> {
    if repairs.iter().all(|repair| repair.inode.is_none()) {
        return Ok(());
    }
    let slots = fs.geometry.inodes_count as usize + 1;
    let mut steps = vec![Step::None; slots];
    let mut names: Vec<u8> = Vec::new();
    let root = InodeNumber::ROOT;
    if fs.stat(root).is_err() {
        return Ok(());
    }
    steps[root.get() as usize] = Step::Root;
    let mut queue = VecDeque::from([root]);
    while let Some(directory) = queue.pop_front() {
        let entries = match fs.entries(directory) {
            Ok(entries) => entries,
            Err(crate::Error::Device(error)) => return Err(crate::Error::Device(error)),
            Err(_) => continue,
        };
        for entry in entries {
            if entry.name == b"." || entry.name == b".." {
                continue;
            }
            let child = entry.inode.get() as usize;
            if !matches!(steps.get(child), Some(Step::None)) {
                continue;
            }
            let start = names.len() as u32;
            names.extend_from_slice(&entry.name);
            steps[child] = Step::Entry {
                parent: directory.get(),
                start,
                length: entry.name.len().min(255) as u8,
            };
            let Ok(metadata) = fs.stat(entry.inode) else {
                continue;
            };
            match metadata.file_type {
                FileType::Directory => queue.push_back(entry.inode),
                FileType::RegularFile => {
                    if let Some(target) = metadata.rootlink {
                        if let Some(step @ Step::None) = steps.get_mut(target.get() as usize) {
                            *step = Step::Rootlink(entry.inode.get());
                            queue.push_back(target);
                        }
                    }
                }
                _ => {}
            }
        }
    }
    for repair in repairs.iter_mut() {
        if let Some(inode) = repair.inode {
            repair.path = path_of(inode.get(), &steps, &names);
        }
    }
    Ok(())
}

/// The path by which the walk reached `inode`, if it did.
fn path_of(inode: u32, steps: &[Step], names: &[u8]) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    let mut current = inode;
    for _ in 0..steps.len() {
        match steps.get(current as usize).copied().unwrap_or(Step::None) {
            Step::None => return None,
            Step::Root => {
                parts.reverse();
                let mut path = String::new();
                for part in &parts {
                    if !part.starts_with('<') {
                        path.push('/');
                    }
                    path.push_str(part);
                }
                if path.is_empty() {
                    path.push('/');
                }
                return Some(path);
            }
            Step::Entry {
                parent,
                start,
                length,
            } => {
                let name = names
                    .get(start as usize..start as usize + usize::from(length))
                    .unwrap_or(&[]);
                parts.push(String::from_utf8_lossy(name).into_owned());
                current = parent;
            }
            Step::Rootlink(file) => {
                parts.push(format!("<rootlink of {file}>"));
                current = file;
            }
        }
    }
    None
}
