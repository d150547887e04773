// SPDX-License-Identifier: MIT OR Apache-2.0
//! Opening images and turning library errors into one-line messages.
//!
//! Read-only commands open the image file read-only and mount read-only, so
//! inspecting an image never changes a byte of it. Writing commands open it
//! read-write and unmount (which syncs) before they report success.
//!
//! Paths inside the image are resolved by the system's one resolver
//! (`kernel_core`, the same code the kernel runs), from the root of the
//! image with no `/...`: `..` is lexical, symbolic links are followed.

use std::fmt::Display;
use std::ops::{Deref, DerefMut};
use std::path::Path;

use fs_ext2l::{Error, FileDevice, FileSystem, InodeNumber, MountOptions, OnDamage};
use kernel_core::Volume;

use crate::Failure;

/// Inodes a command may hold at once while resolving paths.
const HELD_INODES: usize = 1024;

/// A mounted image file. It dereferences to its file system; paths are
/// resolved through the volume around it ([`resolve`]).
pub struct Image {
    volume: Volume<FileDevice>,
}

impl Image {
    fn new(file_system: FileSystem<FileDevice>, path: &Path) -> Result<Image, Failure> {
        let volume = Volume::new(file_system, HELD_INODES)
            .map_err(|error| Failure::usage(format!("{}: {error}", path.display())))?;
        Ok(Image { volume })
    }
}

impl Deref for Image {
    type Target = FileSystem<FileDevice>;

    fn deref(&self) -> &Self::Target {
        self.volume.file_system_ref()
    }
}

impl DerefMut for Image {
    fn deref_mut(&mut self) -> &mut Self::Target {
        self.volume.file_system()
    }
}

/// Seconds since 1970 from the host clock (0 before 1970, saturating in 2106).
pub fn host_clock() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| u32::try_from(elapsed.as_secs()).unwrap_or(u32::MAX))
        .unwrap_or(0)
}

/// Mounts `path`, read-write when `writable`.
pub fn open(path: &Path, writable: bool) -> Result<Image, Failure> {
    let device = FileDevice::open(path, writable)
        .map_err(|error| Failure::usage(format!("{}: {error}", path.display())))?;
    let options = MountOptions {
        read_only: !writable,
        cache_bytes: 16 << 20,
        clock: host_clock,
        // A writable open frees what the orphan list holds (written back
        // when the command unmounts); a read-only one leaves it.
        clean_orphans: true,
        // Damage an operation finds stops the command's writing.
        on_damage: OnDamage::ReadOnly,
    };
    let file_system = FileSystem::mount(device, options).map_err(|error| match error {
        Error::NeedsRecovery => Failure::usage(format!(
            "{}: {error}: run `ext2l recover {}` first",
            path.display(),
            path.display()
        )),
        other => Failure::usage(format!("{}: {other}", path.display())),
    })?;
    if writable {
        if let Some(reason) = file_system.read_only_reason() {
            let blockers = file_system.features().write_blockers();
            let blockers = if blockers.is_empty() {
                String::new()
            } else {
                format!(" ({blockers})")
            };
            return Err(Failure::operation(format!(
                "{}: cannot write: {reason}{blockers}",
                path.display()
            )));
        }
    }
    Image::new(file_system, path)
}

/// Syncs and closes a written image.
pub fn close(image: Image, path: &Path) -> Result<(), Failure> {
    image
        .volume
        .into_file_system()
        .unmount()
        .map(|_| ())
        .map_err(|error| Failure::operation(format!("{}: {error}", path.display())))
}

/// A failure about `what` caused by a library error.
pub fn failed(what: &str, error: impl Display) -> Failure {
    Failure::operation(format!("{what}: {error}"))
}

/// Resolves a path inside the image.
pub fn resolve(image: &mut Image, path: &str, follow: bool) -> Result<InodeNumber, Failure> {
    image
        .volume
        .resolve_path(path.as_bytes(), follow)
        .map(|object| object.inode())
        .map_err(|error| failed(path, error))
}

/// Splits a path inside the image into its resolved parent and last name.
pub fn resolve_parent(image: &mut Image, path: &str) -> Result<(InodeNumber, Vec<u8>), Failure> {
    image
        .volume
        .resolve_parent_path(path.as_bytes())
        .map(|(directory, name)| (directory.inode(), name))
        .map_err(|error| failed(path, error))
}
