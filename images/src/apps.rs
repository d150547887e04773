// SPDX-License-Identifier: MIT OR Apache-2.0
//! Cross builds of the user programs in `apps/`.
//!
//! A program is a workspace member `apps/NAME` with a `src/main.rs`; its
//! binary is `NAME` (how it is installed — launched in a package root, or
//! unlaunched in `/bin` — is `images/manifest.toml`'s to say), and so is
//! its cargo package unless
//! that would clash with a crates.io crate the workspace uses (`spin` is
//! the package `spin-program`). `abi` and `runtime` are libraries. [`programs`] finds them, so adding a program is adding its
//! directory and its line in the workspace `members`.
//!
//! [`build`] compiles them all in one cargo invocation, release, for
//! [`target`] — `aarch64-unknown-none-softfloat` or `x86_64-unknown-none`
//! (soft-float both: programs never use FP/SIMD registers) — into their
//! own target directory, `target/apps/`, with [`RUSTFLAGS`] that make
//! static position-independent executables. The environment's `RUSTFLAGS`
//! replaces the `[target.x86_64-unknown-none] rustflags` of
//! `.cargo/config.toml` (the kernel's `code-model=kernel` and static
//! relocation), which is why programs get a target directory of their
//! own: the kernel's build and theirs never invalidate each other. Each
//! result is then checked by [`crate::program_elf::check`]. [`build`]
//! then adds the Linux test programs ([`crate::linux_programs`]).

use crate::disk_image::Program;
use crate::toolchain::CrossToolchain;
use crate::{paths, program_elf, Arch};
use anyhow::{bail, Context, Result};
use std::path::PathBuf;
use std::process::Command;

/// Linker and code-generation flags for every program (both
/// architectures): position-independent code, linked `-pie` with no
/// dynamic linker (`ET_DYN`, no `PT_INTERP`, only relative relocations),
/// `-z text` (no relocation in read-only segments), `-z norelro` (one
/// writable segment, nothing to re-protect after relocation), 4 KiB pages
/// with every segment starting on its own page in the file.
pub const RUSTFLAGS: &str = "-C relocation-model=pie \
     -C link-arg=-pie -C link-arg=--no-dynamic-linker \
     -C link-arg=-z -C link-arg=text -C link-arg=-z -C link-arg=norelro \
     -C link-arg=-z -C link-arg=max-page-size=4096 \
     -C link-arg=-z -C link-arg=separate-loadable-segments";

/// Extra flags on x86_64: the target's default code model is `kernel`
/// (top 2 GiB); programs live in the lower half.
pub const RUSTFLAGS_X86_64: &str = "-C code-model=small";

/// The Rust target programs build for.
pub fn target(arch: Arch) -> &'static str {
    match arch {
        Arch::Aarch64 => "aarch64-unknown-none-softfloat",
        Arch::X86_64 => "x86_64-unknown-none",
    }
}

/// The programs' own target directory.
pub fn target_dir() -> PathBuf {
    paths::target_dir().join("apps")
}

/// Where program `name` is built for `arch`.
pub fn program_path(arch: Arch, name: &str) -> PathBuf {
    target_dir().join(target(arch)).join("release").join(name)
}

/// The names of the programs in `apps/`, sorted: the workspace members
/// `apps/NAME` that have a `src/main.rs`.
pub fn programs() -> Result<Vec<String>> {
    let manifest_path = paths::workspace_root().join("Cargo.toml");
    let manifest = std::fs::read_to_string(&manifest_path)
        .with_context(|| format!("reading {}", manifest_path.display()))?;
    let mut names = member_programs(&manifest)
        .into_iter()
        .filter(|name| {
            paths::workspace_root()
                .join("apps")
                .join(name)
                .join("src/main.rs")
                .is_file()
        })
        .collect::<Vec<_>>();
    names.sort();
    names.dedup();
    Ok(names)
}

/// The `NAME`s of `"apps/NAME"` entries in the workspace `members` list of
/// a top `Cargo.toml`.
fn member_programs(manifest: &str) -> Vec<String> {
    let mut offset = 0;
    let mut start = None;
    for line in manifest.split_inclusive('\n') {
        let text = line.trim_start();
        if text.starts_with("members") && text["members".len()..].trim_start().starts_with('=') {
            start = Some(offset);
            break;
        }
        offset += line.len();
    }
    let Some(start) = start else {
        return Vec::new();
    };
    let list = &manifest[start..];
    let list = &list[..list.find(']').unwrap_or(list.len())];
    list.split('"')
        .skip(1)
        .step_by(2)
        .filter_map(|member| member.strip_prefix("apps/"))
        .filter(|name| !name.is_empty() && !name.contains('/'))
        .map(str::to_string)
        .collect()
}

/// The package name of program `name`: the first `name = "…"` of its
/// `Cargo.toml` (the `[package]` table comes first).
fn package_name(name: &str) -> Result<String> {
    let manifest_path = paths::workspace_root()
        .join("apps")
        .join(name)
        .join("Cargo.toml");
    let manifest = std::fs::read_to_string(&manifest_path)
        .with_context(|| format!("reading {}", manifest_path.display()))?;
    manifest
        .lines()
        .find_map(|line| {
            let value = line
                .trim()
                .strip_prefix("name")?
                .trim_start()
                .strip_prefix('=')?;
            Some(value.trim().trim_matches('"').to_string())
        })
        .with_context(|| format!("{} names no package", manifest_path.display()))
}

/// The flags for `arch`.
pub fn rustflags(arch: Arch) -> String {
    match arch {
        Arch::Aarch64 => RUSTFLAGS.to_string(),
        Arch::X86_64 => format!("{RUSTFLAGS} {RUSTFLAGS_X86_64}"),
    }
}

/// `cargo` (a `cargo build` or `cargo clippy`) given what the programs
/// `names` need for `arch`: their target, target directory, `-Zbuild-std`
/// and flags.
fn configure(mut cargo: Command, arch: Arch, names: &[String]) -> Result<Command> {
    cargo
        .args(["--quiet", "--release", "--target", target(arch)])
        .arg("--target-dir")
        .arg(target_dir())
        .args(crate::cross::BUILD_STD);
    for name in names {
        cargo.args(["--package", &package_name(name)?]);
    }
    // Only these flags: neither the kernel's config rustflags nor anything
    // the calling environment set. No debug information on the disk.
    cargo
        .env("RUSTFLAGS", rustflags(arch))
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .env("CARGO_PROFILE_RELEASE_DEBUG", "false");
    Ok(cargo)
}

/// Builds every program for `arch`, checks each one's ELF form, and
/// returns them.
pub fn build(toolchain: &CrossToolchain, arch: Arch) -> Result<Vec<Program>> {
    let names = programs()?;
    if names.is_empty() {
        bail!("no programs in apps/");
    }
    let mut build = toolchain.cargo();
    build.arg("build");
    let status = configure(build, arch, &names)?
        .status()
        .context("running cargo for the programs")?;
    if !status.success() {
        bail!("building the {} programs failed", arch.name());
    }
    let mut programs = Vec::new();
    for name in names {
        let path = program_path(arch, &name);
        let program = Program::read(&name, &path)?;
        program_elf::check(&program.bytes, arch)
            .with_context(|| format!("{} is not a Manux program", path.display()))?;
        programs.push(program);
    }
    // The Linux test programs (`tests/linux/`), installed beside them.
    programs.extend(crate::linux_programs::build(arch)?);
    Ok(programs)
}

/// Runs clippy, warnings denied, over every program for `arch` and the
/// libraries they use (`manux-runtime`, `manux-abi`, …), built as
/// [`build`] builds them.
pub fn clippy(toolchain: &CrossToolchain, arch: Arch) -> Result<()> {
    let names = programs()?;
    let status = configure(toolchain.clippy()?, arch, &names)?
        .args(["--", "-D", "warnings"])
        .status()
        .context("running cargo clippy for the programs")?;
    if !status.success() {
        bail!("clippy found problems in the {} programs", arch.name());
    }
    Ok(())
}

/// The cargo package names of [`programs`], for `--package`/`--exclude`.
pub fn packages() -> Result<Vec<String>> {
    programs()?.iter().map(|name| package_name(name)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_test_programs_are_found() {
        let names = programs().unwrap();
        for expected in ["fault", "hello", "hostile", "spin", "writefile"] {
            assert!(
                names.iter().any(|name| name == expected),
                "{expected} missing from {names:?}"
            );
        }
        assert!(!names.iter().any(|name| name == "abi" || name == "runtime"));
        assert_eq!(package_name("spin").unwrap(), "spin-program");
        assert_eq!(package_name("hello").unwrap(), "hello");
    }

    #[test]
    fn only_members_under_apps_count() {
        let manifest = "# the default members\n[workspace]\nmembers = [\n    \"hal\",\n    \"apps/abi\",\n    \"apps/hello\", \"apps/x/y\",\n]\ndefault-members = [\"apps/other\"]\n";
        assert_eq!(member_programs(manifest), vec!["abi", "hello"]);
    }

    #[test]
    fn x86_64_programs_leave_the_kernel_code_model() {
        assert!(rustflags(Arch::X86_64).contains("code-model=small"));
        assert!(!rustflags(Arch::Aarch64).contains("code-model"));
        assert!(RUSTFLAGS.contains("-pie") && RUSTFLAGS.contains("--no-dynamic-linker"));
    }
}
