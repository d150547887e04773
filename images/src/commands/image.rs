// SPDX-License-Identifier: MIT OR Apache-2.0
//! `cargo xtask image`: the system disk, from the manifest.
//!
//! The disk (`target/disks/manux-ARCH.img`) is an ext2l volume built from
//! `images/manifest.toml` by `xtask::disk_image`: every package checked
//! and signed, its nameless root filled, its launcher in `/bin`. This
//! command rebuilds it from scratch; `cargo xtask build` creates it when
//! missing and rebuilds it when the programs or the manifest changed,
//! keeping it (and the files the guest wrote) otherwise. A refused
//! manifest leaves the old disk untouched.
//!
//! It then builds the kernel, the UEFI boot program that carries it
//! (`hal/uefi-stub`) and the cloud images `target/images/manux-ARCH.raw`
//! and `.qcow2` (`xtask::cloud_image`): GPT, EFI system partition (with
//! `EFI/manux/cmdline.txt` when `--append` gives a kernel command line),
//! and the new disk's volume as the root partition.

use crate::Target;
use anyhow::Result;
use std::path::{Path, PathBuf};
use xtask::disk_image::{self, Outcome, Program};
use xtask::manifest::{self, Manifest};
use xtask::{apps, cloud_image, cross, paths, toolchain, Arch};

/// Builds the programs and makes the disk anew, from `manifest_path`
/// (default `images/manifest.toml`), then the cloud images, whose kernel
/// command line is `append` (none when absent or empty).
pub fn run(target: Target, manifest_path: Option<&Path>, append: Option<&str>) -> Result<()> {
    target.validate()?;
    let manifest_path = manifest_path.map_or_else(manifest::default_path, Path::to_path_buf);
    let manifest = Manifest::load(&manifest_path)?;
    let cross = toolchain::cross_toolchain()?;
    let programs = apps::build(&cross, target.arch)?;
    let disk = paths::dev_disk(target.arch);
    let notes = disk_image::build(&disk, &manifest, &programs, target.arch)?;
    print_notes(&notes);
    eprintln!(
        "xtask: new disk {} ({} packages, {} unlaunched programs in /bin)",
        disk.display(),
        manifest.packages.len(),
        manifest.image.unlaunched.len()
    );
    let kernel = cross::build_kernel(&cross, target.arch)?;
    let boot_program = cross::build_uefi_stub(&cross, target.arch, &kernel)?;
    let images = cloud_image::build(target.arch, &boot_program, &disk, append)?;
    eprintln!(
        "xtask: cloud image {} ({} MiB), {} ({} MiB): boots under UEFI ({})",
        images.raw.display(),
        images.raw_bytes.div_ceil(1 << 20),
        images.qcow2.display(),
        images.qcow2_bytes.div_ceil(1 << 20),
        cloud_image::boot_path(target.arch)
    );
    match cloud_image::command_line(&images.raw)? {
        Some(words) => eprintln!(
            "xtask: kernel command line in {}: \"{}\"",
            cloud_image::COMMAND_LINE_FILE,
            words.trim_end()
        ),
        None => eprintln!("xtask: no kernel command line (no --append)"),
    }
    Ok(())
}

/// Prints the notes of a build.
pub fn print_notes(notes: &[String]) {
    for note in notes {
        eprintln!("xtask: note: {note}");
    }
}

/// Creates the disk if it does not exist, rebuilds it if `programs` or
/// the manifest changed since it was made; returns its path.
pub fn ensure(arch: Arch, programs: &[Program]) -> Result<PathBuf> {
    let manifest = Manifest::load(&manifest::default_path())?;
    let disk = paths::dev_disk(arch);
    let (outcome, notes) = disk_image::ensure(&disk, &manifest, programs, arch)?;
    print_notes(&notes);
    match outcome {
        Outcome::Created => eprintln!("xtask: new disk {}", disk.display()),
        Outcome::Rebuilt => eprintln!(
            "xtask: the programs or the manifest changed: rebuilt {} (files written in the guest are gone)",
            disk.display()
        ),
        Outcome::Kept => {}
    }
    Ok(disk)
}
