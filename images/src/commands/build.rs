// SPDX-License-Identifier: MIT OR Apache-2.0
//! `cargo xtask build`: install what is missing, build the kernel, the
//! programs and the disk.

use crate::Target;
use anyhow::Result;
use std::path::PathBuf;
use xtask::{apps, cross, toolchain};

/// Everything a boot needs, built.
pub struct Built {
    /// The kernel ELF.
    pub kernel: PathBuf,
    /// The development disk.
    pub disk: PathBuf,
}

/// Installs tools, builds the kernel and the programs, creates the disk
/// if missing (or rebuilds it if the programs changed).
pub fn run(target: Target) -> Result<Built> {
    target.validate()?;
    toolchain::ensure_qemu(target.arch)?;
    let cross = toolchain::cross_toolchain()?;
    let kernel = cross::build_kernel(&cross, target.arch)?;
    let programs = apps::build(&cross, target.arch)?;
    let disk = super::image::ensure(target.arch, &programs)?;
    Ok(Built { kernel, disk })
}
