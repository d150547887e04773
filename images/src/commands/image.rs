// SPDX-License-Identifier: MIT OR Apache-2.0
//! `cargo xtask image`: the development disk.
//!
//! The disk (`target/disks/manux-ARCH.img`) is an ext2l volume with every
//! program of `apps/` in `/bin`, built by `xtask::disk_image`. This
//! command rebuilds it from scratch; `cargo xtask build` creates it when
//! missing and rebuilds it when the programs changed, keeping it (and the
//! files the guest wrote) otherwise.

use crate::Target;
use anyhow::Result;
use std::path::PathBuf;
use xtask::disk_image::{self, Outcome, Program};
use xtask::{apps, paths, toolchain, Arch};

/// Builds the programs and makes the disk anew.
pub fn run(target: Target) -> Result<()> {
    target.validate()?;
    let cross = toolchain::cross_toolchain()?;
    let programs = apps::build(&cross, target.arch)?;
    let disk = paths::dev_disk(target.arch);
    disk_image::build(&disk, &programs)?;
    eprintln!(
        "xtask: new disk {} ({} programs in /bin)",
        disk.display(),
        programs.len()
    );
    Ok(())
}

/// Creates the disk if it does not exist, rebuilds it if `programs`
/// changed since it was made; returns its path.
pub fn ensure(arch: Arch, programs: &[Program]) -> Result<PathBuf> {
    let disk = paths::dev_disk(arch);
    match disk_image::ensure(&disk, programs)? {
        Outcome::Created => eprintln!("xtask: new disk {}", disk.display()),
        Outcome::Rebuilt => eprintln!(
            "xtask: the programs changed: rebuilt {} (files written in the guest are gone)",
            disk.display()
        ),
        Outcome::Kept => {}
    }
    Ok(disk)
}
