// SPDX-License-Identifier: MIT OR Apache-2.0
//! Prebuilt programs: the packages' programs that are not built from
//! `apps/`, gathered before any package is checked.
//!
//! A package's program is a program of `apps/`, or a prebuilt Linux
//! program (DESIGN §8; `images/README.md`):
//!
//! - a file of a Debian package, `program = { debian, path }`, which
//!   [`crate::debian`] downloads, checks and extracts;
//! - a host file beside the manifest, one per architecture, `program = {
//!   file = { aarch64, x86_64 }, sha256 = { aarch64, x86_64 } }`, read
//!   here and used only if its SHA-256 is the pinned one;
//! - or a `#!/bin/sh` script beside the manifest, `program = { script }`,
//!   the same file for every architecture (its digest is in the
//!   package's signed canonical form, like any program's).
//!
//! [`programs`] returns each once, named [`ProgramSource::key`], for the
//! image builder (`disk_image::prepare`) and `cargo xtask sign`. Whether
//! each is a static Linux executable the kernel can load, as its package
//! declares it (`fixed-address`), is the package check's
//! ([`crate::linux_elf`]).

use crate::disk_image::Program;
use crate::manifest::{ByArch, Manifest, ProgramSource};
use crate::package_check::{path_components, Scope, MAX_PROGRAM_BYTES};
use crate::{debian, Arch};
use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;

/// Every prebuilt program the packages of `manifest` name, for `arch`,
/// except those `have` already holds (a caller may supply them), each
/// once however many packages name it. An entry naming an unknown
/// `[[debian-package]]` or a path out of its scope is skipped here: the
/// package check refuses it with its package and field.
///
/// Return values: the programs; an error from [`debian::fetch`] or
/// [`debian::extract`], a host file that cannot be read, or whose digest
/// is not the pinned one.
pub fn programs(manifest: &Manifest, arch: Arch, have: &[Program]) -> Result<Vec<Program>> {
    let mut programs = debian::programs(manifest, arch, have)?;
    let mut done = BTreeSet::new();
    for package in &manifest.packages {
        let source = package.program_source();
        let key = source.key();
        let path = match &source {
            ProgramSource::File { file, .. } => file.get(arch.name()).unwrap_or_default(),
            ProgramSource::Script { script } => script.as_str(),
            _ => continue,
        };
        // A path out of its scope is the package check's to refuse.
        if path_components(path, Scope::Source).is_err()
            || have.iter().any(|program| program.name == key)
            || !done.insert(key.clone())
        {
            continue;
        }
        let bytes = match &source {
            ProgramSource::File { file, sha256 } => {
                host_file(manifest, &package.name, file, sha256, arch)?
            }
            _ => read_regular(
                manifest,
                path,
                &format!("package {:?}, field program.script", package.name),
            )?,
        };
        programs.push(Program { name: key, bytes });
    }
    Ok(programs)
}

/// The host file of `file` for `arch`, checked against `sha256`.
fn host_file(
    manifest: &Manifest,
    package: &str,
    file: &ByArch,
    sha256: &ByArch,
    arch: Arch,
) -> Result<Vec<u8>> {
    let path = file.get(arch.name()).unwrap_or_default();
    let expected = sha256
        .get(arch.name())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let shown = format!("package {package:?}, field program.file.{}", arch.name());
    let bytes = read_regular(manifest, path, &shown)?;
    let got = crate::signing::to_hex(&Sha256::digest(&bytes));
    if got != expected {
        let line = manifest
            .line_of(&expected)
            .map(|line| format!(" (manifest line {line})"))
            .unwrap_or_default();
        bail!(
            "package {package:?}, field program.sha256.{}: {} has SHA-256 {got}, the manifest expects {expected:?}{line}",
            arch.name(),
            manifest.base_directory.join(path).display()
        );
    }
    Ok(bytes)
}

/// The host file at `path` (relative to the manifest), a regular file
/// of at most `MAX_PROGRAM_BYTES`; `shown` names the field in errors.
fn read_regular(manifest: &Manifest, path: &str, shown: &str) -> Result<Vec<u8>> {
    let host = manifest.base_directory.join(path);
    let metadata =
        std::fs::symlink_metadata(&host).with_context(|| format!("{shown}: {}", host.display()))?;
    if !metadata.is_file() || metadata.len() > MAX_PROGRAM_BYTES {
        bail!(
            "{shown}: {} is not a regular file of at most {MAX_PROGRAM_BYTES} bytes (symbolic links are not followed)",
            host.display()
        );
    }
    std::fs::read(&host).with_context(|| format!("{shown}: {}", host.display()))
}
