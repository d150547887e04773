// SPDX-License-Identifier: MIT OR Apache-2.0
//! `cargo xtask sign`: sign packages with development keys, or make a key.
//!
//! A package's signature covers its canonical form (`xtask::signing`):
//! its fields and the SHA-256 of every file, the program's ELF included,
//! so it is made per architecture, after the programs are built. This
//! command builds them, signs each selected package with its publisher's
//! secret key (`KEYS/PUBLISHER.secret`) and writes `signature.ARCH` into
//! the manifest in place, keeping its comments and layout. `--clear`
//! removes the signatures instead (a manifest with `development-keys`
//! then has them made at build time again). `--new-key NAME` writes a new
//! key pair's secret half to `KEYS/NAME.secret` and prints the public
//! half for the trust policy.
//!
//! The keys in `images/keys/` are development keys: published with the
//! source, so they prove nothing about who made a package. A release is
//! signed with keys kept elsewhere (`--keys DIR`).

use anyhow::{bail, Context, Result};
use std::path::PathBuf;
use xtask::manifest::{self, Manifest};
use xtask::package_check::{self, DevelopmentKeys};
use xtask::signing::SecretKey;
use xtask::{apps, paths, toolchain, Arch};

/// What to sign, with what.
pub struct Options {
    /// The architecture whose programs are hashed.
    pub arch: Arch,
    /// The manifest (default `images/manifest.toml`).
    pub manifest: Option<PathBuf>,
    /// The secret keys' directory (default: the manifest's
    /// `development-keys`, else `images/keys`).
    pub keys: Option<PathBuf>,
    /// Only these packages (default: every package).
    pub packages: Vec<String>,
    /// Remove the signatures instead.
    pub clear: bool,
    /// Make a key for this publisher instead.
    pub new_key: Option<String>,
}

fn default_keys(manifest: Option<&Manifest>) -> PathBuf {
    manifest
        .and_then(Manifest::development_keys)
        .unwrap_or_else(|| paths::workspace_root().join("images").join("keys"))
}

/// Runs the command.
pub fn run(options: Options) -> Result<()> {
    if let Some(publisher) = &options.new_key {
        if !package_check::valid_name(publisher) {
            bail!("{publisher:?} is not a valid publisher name");
        }
        let directory = options.keys.clone().unwrap_or_else(|| default_keys(None));
        let path = directory.join(format!("{publisher}.secret"));
        if path.exists() {
            bail!(
                "{} exists: remove it first to replace the key",
                path.display()
            );
        }
        let key = SecretKey::generate()?;
        std::fs::create_dir_all(&directory)
            .with_context(|| format!("creating {}", directory.display()))?;
        let comment = format!(
            "ed25519 secret key (seed) of publisher {publisher:?}.\nDEVELOPMENT ONLY when kept in this repository: anyone can sign with it.\npublic key: {}",
            key.public_hex()
        );
        std::fs::write(&path, key.to_file_text(&comment))
            .with_context(|| format!("writing {}", path.display()))?;
        eprintln!("xtask: wrote {}", path.display());
        println!(
            "[[publisher]]\nname = {publisher:?}\nkey = \"{}\"",
            key.public_hex()
        );
        return Ok(());
    }
    let arch = options.arch;
    let manifest_path = options
        .manifest
        .clone()
        .unwrap_or_else(manifest::default_path);
    let manifest = Manifest::load(&manifest_path)?;
    for name in &options.packages {
        if manifest.package(name).is_none() {
            bail!("{} has no package {name:?}", manifest_path.display());
        }
    }
    let selected: Vec<_> = manifest
        .packages
        .iter()
        .filter(|package| options.packages.is_empty() || options.packages.contains(&package.name))
        .collect();
    let mut text = manifest.text.clone();
    if options.clear {
        for package in &selected {
            text = manifest::set_signature(&text, &package.name, arch.name(), None)?;
        }
    } else {
        let keys_directory = options
            .keys
            .clone()
            .unwrap_or_else(|| default_keys(Some(&manifest)));
        let keys = DevelopmentKeys::load(&keys_directory, &manifest)?;
        let cross = toolchain::cross_toolchain()?;
        let mut programs = apps::build(&cross, arch)?;
        programs.extend(xtask::prebuilt::programs(&manifest, arch, &programs)?);
        for package in &selected {
            let loaded = package_check::load(&manifest, package, &programs, arch.name())?;
            let Some(key) = keys.key(&package.publisher) else {
                bail!(
                    "package {:?}: no key {}/{}.secret for its publisher",
                    package.name,
                    keys_directory.display(),
                    package.publisher
                );
            };
            let policy_key = manifest
                .publisher(&package.publisher)
                .map(|publisher| publisher.key.trim().to_lowercase());
            if policy_key.as_deref() != Some(key.public_hex().as_str()) {
                bail!(
                    "package {:?}: the key in {} is not publisher {:?}'s key in the trust policy",
                    package.name,
                    keys_directory.display(),
                    package.publisher
                );
            }
            let signature = key.sign(&loaded.canonical_form);
            text = manifest::set_signature(&text, &package.name, arch.name(), Some(&signature))?;
        }
    }
    std::fs::write(&manifest_path, &text)
        .with_context(|| format!("writing {}", manifest_path.display()))?;
    eprintln!(
        "xtask: {} {} package(s) for {} in {}",
        if options.clear { "unsigned" } else { "signed" },
        selected.len(),
        arch.name(),
        manifest_path.display()
    );
    Ok(())
}
