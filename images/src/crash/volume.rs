// SPDX-License-Identifier: MIT OR Apache-2.0
//! Reading the volume after a cut, on the host, with the file-system
//! library.
//!
//! The image is opened read-only through a `journal::ReplayedView`: as it
//! will be once its journal is replayed (as it is, when nothing needs
//! replaying), so a recovery boot that left the journal unreplayed still
//! shows what the kernel would have recovered — the checker says whether
//! the kernel did. Nothing is written.

use anyhow::{anyhow, Context, Result};
use fs_ext2l::journal::ReplayedView;
use fs_ext2l::{Error, FileDevice, FileSystem, FileType, InodeNumber, MountOptions};
use std::path::Path;

/// The largest file read back (the workload's are far smaller).
const MAX_FILE_BYTES: u64 = 64 << 20;

/// What a path holds.
#[derive(Debug, PartialEq, Eq)]
pub enum Found {
    /// A regular file with these bytes.
    File(Vec<u8>),
    /// Nothing of that name.
    Missing,
    /// Something else (a directory, a link).
    NotAFile,
    /// A read failed: the reason.
    Unreadable(String),
}

/// A volume mounted read-only.
pub struct Volume {
    file_system: FileSystem<ReplayedView<FileDevice>>,
}

impl Volume {
    /// Opens `image`.
    ///
    /// Return values: the volume; an error when the image cannot be opened,
    /// its journal not read, or the volume not mounted.
    pub fn open(image: &Path) -> Result<Volume> {
        let device = FileDevice::open(image, false)
            .with_context(|| format!("opening {}", image.display()))?;
        let view = ReplayedView::new(device)
            .map_err(|error| anyhow!("reading the journal of {}: {error}", image.display()))?;
        let options = MountOptions {
            read_only: true,
            ..MountOptions::default()
        };
        let file_system = FileSystem::mount(view, options)
            .map_err(|error| anyhow!("mounting {}: {error}", image.display()))?;
        Ok(Volume { file_system })
    }

    /// The inode at absolute `path`, `None` when a component is missing.
    fn resolve(&mut self, path: &str) -> std::result::Result<Option<InodeNumber>, Error> {
        let mut inode = self.file_system.root();
        for name in path.split('/').filter(|name| !name.is_empty()) {
            match self.file_system.lookup(inode, name.as_bytes()) {
                Ok(found) => inode = found,
                Err(Error::NotFound | Error::NotADirectory) => return Ok(None),
                Err(error) => return Err(error),
            }
        }
        Ok(Some(inode))
    }

    /// What absolute `path` holds.
    pub fn read(&mut self, path: &str) -> Found {
        let inode = match self.resolve(path) {
            Ok(Some(inode)) => inode,
            Ok(None) => return Found::Missing,
            Err(error) => return Found::Unreadable(error.to_string()),
        };
        let metadata = match self.file_system.stat(inode) {
            Ok(metadata) => metadata,
            Err(error) => return Found::Unreadable(error.to_string()),
        };
        if metadata.file_type != FileType::RegularFile {
            return Found::NotAFile;
        }
        if metadata.size > MAX_FILE_BYTES {
            return Found::Unreadable(format!("{} bytes", metadata.size));
        }
        let mut bytes = vec![0u8; metadata.size as usize];
        let mut offset = 0;
        while offset < bytes.len() {
            match self
                .file_system
                .read(inode, offset as u64, &mut bytes[offset..])
            {
                Ok(0) => return Found::Unreadable(format!("ends at byte {offset}")),
                Ok(count) => offset += count,
                Err(error) => return Found::Unreadable(error.to_string()),
            }
        }
        Found::File(bytes)
    }

    /// The regular files under absolute `directory`, as paths relative to
    /// it, sorted; empty when it does not exist.
    ///
    /// Return values: the paths; the first read error.
    pub fn files_under(&mut self, directory: &str) -> Result<Vec<String>> {
        let mut files = Vec::new();
        let Some(top) = self
            .resolve(directory)
            .map_err(|error| anyhow!("{directory}: {error}"))?
        else {
            return Ok(files);
        };
        // Depth-bounded walk: the workload nests a few levels at most, and a
        // damaged volume must not loop.
        let mut pending = vec![(top, String::new(), 0u32)];
        while let Some((inode, prefix, depth)) = pending.pop() {
            let entries = self
                .file_system
                .entries(inode)
                .map_err(|error| anyhow!("listing {directory}/{prefix}: {error}"))?;
            for entry in entries {
                if entry.name == b"." || entry.name == b".." {
                    continue;
                }
                let name = String::from_utf8_lossy(&entry.name);
                let path = if prefix.is_empty() {
                    name.into_owned()
                } else {
                    format!("{prefix}/{name}")
                };
                let file_type = match entry.file_type {
                    FileType::Unknown => self
                        .file_system
                        .stat(entry.inode)
                        .map(|metadata| metadata.file_type)
                        .unwrap_or(FileType::Unknown),
                    known => known,
                };
                match file_type {
                    FileType::Directory if depth < 32 => {
                        pending.push((entry.inode, path, depth + 1))
                    }
                    FileType::RegularFile => files.push(path),
                    _ => {}
                }
            }
        }
        files.sort();
        Ok(files)
    }
}
