// SPDX-License-Identifier: MIT OR Apache-2.0
//! Where things are: the workspace, the target directory, built kernels and
//! the development disks.

use crate::Arch;
use std::path::PathBuf;

/// The workspace root (the directory holding the top `Cargo.toml`).
pub fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

/// Cargo's target directory (honours `CARGO_TARGET_DIR`).
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => workspace_root().join("target"),
    }
}

/// The release kernel ELF for `arch`.
pub fn kernel_elf(arch: Arch) -> PathBuf {
    target_dir()
        .join(arch.kernel_target())
        .join("release")
        .join("kernel")
}

/// The development disk of `arch`, kept between runs.
pub fn dev_disk(arch: Arch) -> PathBuf {
    target_dir()
        .join("disks")
        .join(format!("manux-{}.img", arch.name()))
}
