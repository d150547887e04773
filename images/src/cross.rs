// SPDX-License-Identifier: MIT OR Apache-2.0
//! Cross builds of the kernel and of the UEFI boot program that carries it,
//! and their lints: [`clippy_kernel`] and [`clippy_uefi_stub`] check the
//! same packages for the same targets, with the same flags, under
//! `clippy -D warnings`.

use crate::toolchain::CrossToolchain;
use crate::{paths, Arch};
use anyhow::{bail, Context, Result};
use std::path::PathBuf;

/// The `-Zbuild-std` arguments of every cross build: `core` and `alloc`
/// from the toolchain's library source, with the `mem*` functions.
pub const BUILD_STD: [&str; 2] = [
    "-Zbuild-std=core,alloc",
    "-Zbuild-std-features=compiler-builtins-mem",
];

/// What follows `cargo build` (or `cargo clippy`) for the kernel of `arch`.
fn kernel_arguments(arch: Arch) -> Vec<&'static str> {
    let mut arguments = vec![
        "--quiet",
        "--release",
        "--package",
        "kernel",
        "--target",
        arch.kernel_target(),
    ];
    arguments.extend(BUILD_STD);
    // opt-level 2 rather than release's 3: the kernel ELF is about 5%
    // smaller (it must stay under 1 MiB with the file system's journal
    // and repair linked in) and the benchmark figures hold.
    arguments.extend(["--config", "profile.release.opt-level=2"]);
    arguments
}

/// Builds the release kernel for `arch`; returns the ELF's path.
pub fn build_kernel(toolchain: &CrossToolchain, arch: Arch) -> Result<PathBuf> {
    let status = toolchain
        .cargo()
        .arg("build")
        .args(kernel_arguments(arch))
        .status()
        .context("running cargo for the kernel")?;
    if !status.success() {
        bail!("building the {} kernel failed", arch.name());
    }
    Ok(paths::kernel_elf(arch))
}

/// Runs clippy, warnings denied, over the kernel of `arch` and every
/// workspace crate it is built from (`hal`, `kernel-core`, `fs-ext2l`,
/// …), as that target sees them.
pub fn clippy_kernel(toolchain: &CrossToolchain, arch: Arch) -> Result<()> {
    let status = toolchain
        .clippy()?
        .args(kernel_arguments(arch))
        .args(["--", "-D", "warnings"])
        .status()
        .context("running cargo clippy for the kernel")?;
    if !status.success() {
        bail!("clippy found problems in the {} kernel", arch.name());
    }
    Ok(())
}

/// The UEFI target triple of `arch`.
pub fn uefi_target(arch: Arch) -> &'static str {
    match arch {
        Arch::Aarch64 => "aarch64-unknown-uefi",
        Arch::X86_64 => "x86_64-unknown-uefi",
    }
}

/// What follows `cargo build` (or `cargo clippy`) for the UEFI boot
/// program of `arch`.
fn uefi_stub_arguments(arch: Arch) -> Vec<&'static str> {
    let mut arguments = vec![
        "--quiet",
        "--release",
        "--package",
        "uefi-stub",
        "--target",
        uefi_target(arch),
    ];
    arguments.extend(BUILD_STD);
    arguments
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
        .arg("build")
        .args(uefi_stub_arguments(arch))
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

/// Runs clippy, warnings denied, over the UEFI boot program of `arch`.
/// The kernel it carries is only `include_bytes!`d, so an empty stand-in
/// (`target/clippy/kernel.elf`) takes its place: no kernel build first.
pub fn clippy_uefi_stub(toolchain: &CrossToolchain, arch: Arch) -> Result<()> {
    let stand_in = paths::target_dir().join("clippy").join("kernel.elf");
    if !stand_in.is_file() {
        let directory = stand_in.parent().context("the stand-in has a directory")?;
        std::fs::create_dir_all(directory)
            .with_context(|| format!("creating {}", directory.display()))?;
        std::fs::write(&stand_in, b"")
            .with_context(|| format!("writing {}", stand_in.display()))?;
    }
    let status = toolchain
        .clippy()?
        .args(uefi_stub_arguments(arch))
        .args(["--", "-D", "warnings"])
        .env("MANUX_UEFI_KERNEL", &stand_in)
        .status()
        .context("running cargo clippy for the UEFI boot program")?;
    if !status.success() {
        bail!(
            "clippy found problems in the {} UEFI boot program",
            arch.name()
        );
    }
    Ok(())
}
