// SPDX-License-Identifier: MIT OR Apache-2.0
//! `cargo xtask image`: the development disk.
//!
//! For now the disk holds an empty ext2 file system of 64 MiB, made by
//! `mke2fs`; it is what the kernel's virtio-blk driver reads and writes.

use crate::Target;
use anyhow::{bail, Context, Result};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use xtask::{paths, toolchain, Arch};

/// Size of a new development disk.
const DISK_MIB: u64 = 64;

/// Rebuilds the disk from scratch.
pub fn run(target: Target) -> Result<()> {
    toolchain::ensure_qemu(target.arch)?;
    let disk = paths::dev_disk(target.arch);
    if disk.exists() {
        std::fs::remove_file(&disk).with_context(|| format!("removing {}", disk.display()))?;
    }
    let disk = ensure(target.arch)?;
    eprintln!("xtask: new disk {}", disk.display());
    Ok(())
}

/// Creates the disk if it does not exist; returns its path.
pub fn ensure(arch: Arch) -> Result<PathBuf> {
    let disk = paths::dev_disk(arch);
    if disk.exists() {
        return Ok(disk);
    }
    let parent = disk.parent().context("disk path has no parent")?;
    std::fs::create_dir_all(parent)?;
    let partial = disk.with_extension("img.partial");
    let file = std::fs::File::create(&partial)
        .with_context(|| format!("creating {}", partial.display()))?;
    file.set_len(DISK_MIB << 20)?;
    drop(file);
    let status = Command::new("mke2fs")
        .args(["-q", "-F", "-t", "ext2", "-L", "manux"])
        .arg(&partial)
        .stdin(Stdio::null())
        .status()
        .context("running mke2fs")?;
    if !status.success() {
        bail!("mke2fs failed on {}", partial.display());
    }
    std::fs::rename(&partial, &disk)?;
    Ok(disk)
}
