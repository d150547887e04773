// SPDX-License-Identifier: MIT OR Apache-2.0
//! Cross builds of the kernel and of the UEFI boot program that carries it.

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
        // opt-level 2 rather than release's 3: the kernel ELF is about 5%
        // smaller (it must stay under 1 MiB with the file system's journal
        // and repair linked in) and the benchmark figures hold.
        .args(["--config", "profile.release.opt-level=2"])
        .status()
        .context("running cargo for the kernel")?;
    if !status.success() {
        bail!("building the {} kernel failed", arch.name());
    }
    Ok(paths::kernel_elf(arch))
}

/// The UEFI target triple of `arch`.
pub fn uefi_target(arch: Arch) -> &'static str {
    match arch {
        Arch::Aarch64 => "aarch64-unknown-uefi",
        Arch::X86_64 => "x86_64-unknown-uefi",
    }
}

/// Builds the UEFI boot program (`hal/uefi-stub`) of `arch` around the
/// kernel ELF `kernel`; returns the `.efi` file's path. Cargo rebuilds it
/// when the kernel file changes (it is `include_bytes!`d).
pub fn build_uefi_stub(
    toolchain: &CrossToolchain,
    arch: Arch,
    kernel: &std::path::Path,
) -> Result<PathBuf> {
    let status = toolchain
        .cargo()
        .args([
            "build",
            "--quiet",
            "--release",
            "--package",
            "uefi-stub",
            "--target",
            uefi_target(arch),
        ])
        .args([
            "-Zbuild-std=core,alloc",
            "-Zbuild-std-features=compiler-builtins-mem",
        ])
        .env("MANUX_UEFI_KERNEL", kernel)
        .status()
        .context("running cargo for the UEFI boot program")?;
    if !status.success() {
        bail!("building the {} UEFI boot program failed", arch.name());
    }
    Ok(paths::target_dir()
        .join(uefi_target(arch))
        .join("release")
        .join("uefi-stub.efi"))
}
