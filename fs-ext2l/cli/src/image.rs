// SPDX-License-Identifier: MIT OR Apache-2.0
//! Opening images and turning library errors into one-line messages.
//!
//! Read-only commands open the image file read-only and mount read-only, so
//! inspecting an image never changes a byte of it. Writing commands open it
//! read-write and unmount (which syncs) before they report success.

use std::path::Path;

use fs_ext2l::{Error, FileDevice, FileSystem, InodeNumber, MountOptions};

use crate::Failure;

/// A mounted image file.
pub type Image = FileSystem<FileDevice>;

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
    };
    let file_system = FileSystem::mount(device, options)
        .map_err(|error| Failure::usage(format!("{}: {error}", path.display())))?;
    if writable {
        if let Some(reason) = file_system.read_only_reason() {
            return Err(Failure::operation(format!(
                "{}: cannot write: {reason} ({})",
                path.display(),
                file_system.features().write_blockers()
            )));
        }
    }
    Ok(file_system)
}

/// Mounts `path` from a read-only file but with a read-write mount, so the
/// mount reports whether the image could be written. Nothing may write.
pub fn open_inspect_writability(path: &Path) -> Result<Image, Failure> {
    let device = FileDevice::open(path, false)
        .map_err(|error| Failure::usage(format!("{}: {error}", path.display())))?;
    let options = MountOptions {
        clock: host_clock,
        ..MountOptions::default()
    };
    FileSystem::mount(device, options)
        .map_err(|error| Failure::usage(format!("{}: {error}", path.display())))
}

/// Syncs and closes a written image.
pub fn close(file_system: Image, path: &Path) -> Result<(), Failure> {
    file_system
        .unmount()
        .map(|_| ())
        .map_err(|error| Failure::operation(format!("{}: {error}", path.display())))
}

/// A failure about `what` caused by a library error.
pub fn failed(what: &str, error: Error) -> Failure {
    Failure::operation(format!("{what}: {error}"))
}

/// Resolves a path inside the image.
pub fn resolve(file_system: &mut Image, path: &str, follow: bool) -> Result<InodeNumber, Failure> {
    file_system
        .resolve_path(path.as_bytes(), follow)
        .map_err(|error| failed(path, error))
}

/// Splits a path inside the image into its resolved parent and last name.
pub fn resolve_parent(
    file_system: &mut Image,
    path: &str,
) -> Result<(InodeNumber, Vec<u8>), Failure> {
    file_system
        .resolve_parent(path.as_bytes())
        .map_err(|error| failed(path, error))
}
