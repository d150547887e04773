// SPDX-License-Identifier: MIT OR Apache-2.0
//! Cross builds of the kernel.

use crate::toolchain::CrossToolchain;
use crate::{paths, Arch};
use anyhow::{bail, Context, Result};
use std::path::PathBuf;

/// Builds the release kernel for `arch`; returns the ELF's path.
pub fn build_kernel(toolchain: &CrossToolchain, arch: Arch) -> Result<PathBuf> {
    let status = toolchain
        .cargo()
        .args([
            "build",
            "--quiet",
            "--release",
            "--package",
            "kernel",
            "--target",
            arch.kernel_target(),
        ])
        .args([
            "-Zbuild-std=core,alloc",
            "-Zbuild-std-features=compiler-builtins-mem",
        ])
        .status()
        .context("running cargo for the kernel")?;
    if !status.success() {
        bail!("building the {} kernel failed", arch.name());
    }
    Ok(paths::kernel_elf(arch))
}
