// SPDX-License-Identifier: MIT OR Apache-2.0
//! Linux programs for the guest tests: C sources in `tests/linux/`,
//! built as static-PIE executables by Debian's compilers against glibc,
//! unmodified Linux binaries that Manux runs through its Linux
//! personality.
//!
//! `tests/linux/NAME.c` becomes the program `linux-NAME`, in
//! `target/linux/ARCH/NAME`, built with `-static-pie -O2` (or, for
//! [`FIXED_ADDRESS_PROGRAMS`], `-static -no-pie`): for x86_64 by
//! `x86_64-linux-gnu-gcc` (package `gcc`, the host compiler on an x86_64
//! host, `gcc-x86-64-linux-gnu` elsewhere) with `libc6-dev`'s static
//! glibc; for AArch64 by `aarch64-linux-gnu-gcc` (`gcc-aarch64-linux-gnu`,
//! static glibc in `libc6-dev-arm64-cross`). Missing packages are
//! installed as every other tool is ([`toolchain::apt_install`]).
//!
//! The image installs them as unlaunched programs (`[image] unlaunched`
//! in `images/manifest.toml`: `/bin/linux-NAME`), the smallest way to
//! reach them: a guest test runs one as init (`init=/bin/linux-hello
//! …`). They are not checked as Manux programs ([`crate::program_elf`]):
//! they carry glibc's `IRELATIVE` relocations and a TLS segment, which
//! the kernel's loader accepts for any program. The guest tests also run
//! the same file on the host (natively, or under `qemu-aarch64-static`)
//! and compare: `MANUX_LINUX_PROGRAMS_<ARCH>` names the directory.

use crate::disk_image::Program;
use crate::{paths, toolchain, Arch};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The programs: `tests/linux/NAME.c` for each NAME, static-PIE.
pub const PROGRAMS: &[&str] = &["hello", "files", "spawn", "nop"];

/// The programs linked for fixed addresses instead (`-static -no-pie`:
/// `ET_EXEC` at 0x400000, the form of Debian's static executables),
/// which the kernel runs in a private low window of addresses.
pub const FIXED_ADDRESS_PROGRAMS: &[&str] = &["fixed"];

/// Where the sources are.
pub fn source_dir() -> PathBuf {
    paths::workspace_root().join("tests").join("linux")
}

/// Where the programs for `arch` are built.
pub fn output_dir(arch: Arch) -> PathBuf {
    paths::target_dir().join("linux").join(arch.name())
}

/// The compiler for `arch` (its command, its Debian package) and the
/// Debian package and file of its static C library.
fn compiler(arch: Arch) -> (&'static str, &'static str, &'static str, &'static str) {
    match arch {
        Arch::Aarch64 => (
            "aarch64-linux-gnu-gcc",
            "gcc-aarch64-linux-gnu",
            "libc6-dev-arm64-cross",
            "/usr/aarch64-linux-gnu/lib/libc.a",
        ),
        Arch::X86_64 if std::env::consts::ARCH == "x86_64" => (
            "gcc",
            "gcc",
            "libc6-dev",
            "/usr/lib/x86_64-linux-gnu/libc.a",
        ),
        Arch::X86_64 => (
            "x86_64-linux-gnu-gcc",
            "gcc-x86-64-linux-gnu",
            "libc6-dev-amd64-cross",
            "/usr/x86_64-linux-gnu/lib/libc.a",
        ),
    }
}

/// Builds every program of [`PROGRAMS`] for `arch`.
pub fn build(arch: Arch) -> Result<Vec<Program>> {
    let (command, package, libc_package, libc) = compiler(arch);
    toolchain::ensure_commands(&[(command, package)])?;
    if !Path::new(libc).exists() {
        toolchain::apt_install(&[libc_package])?;
    }
    let output = output_dir(arch);
    std::fs::create_dir_all(&output).with_context(|| format!("creating {}", output.display()))?;
    let mut programs = Vec::new();
    let static_pie = PROGRAMS.iter().map(|name| (name, &["-static-pie"][..]));
    let fixed = FIXED_ADDRESS_PROGRAMS
        .iter()
        .map(|name| (name, &["-static", "-no-pie"][..]));
    for (name, link) in static_pie.chain(fixed) {
        let source = source_dir().join(format!("{name}.c"));
        let binary = output.join(name);
        let status = Command::new(command)
            .args(link)
            .args(["-O2", "-Wall", "-Werror", "-o"])
            .arg(&binary)
            .arg(&source)
            .status()
            .with_context(|| format!("running {command}"))?;
        if !status.success() {
            bail!("{command} could not build {}", source.display());
        }
        programs.push(Program::read(&format!("linux-{name}"), &binary)?);
    }
    Ok(programs)
}
