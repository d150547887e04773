// SPDX-License-Identifier: MIT OR Apache-2.0
//! `cargo xtask crash`: power cuts during writes, in the guest.
//!
//! Builds as `cargo xtask bench` does — the release kernel, the programs,
//! a fresh system image from `images/manifest.toml` in
//! `target/crash/ARCH/` — and the `ext2l` host tool, then makes CUTS power
//! cuts under the `crashload` workload with `xtask::crash` (its module doc
//! says what each cut does and checks). It prints one line per cut as it
//! goes, then the counts and the verdict; each cut's console and checker
//! output is in `target/crash/ARCH/cut-N.log`.
//!
//! The exit status is 0 when every cut recovered with nothing inconsistent
//! and nothing durable lost, 1 otherwise (and for a failure of the tool
//! itself, with the error on standard error).

use crate::Target;
use anyhow::{bail, ensure, Result};
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use xtask::crash::{self, Config};
use xtask::manifest::{self, Manifest};
use xtask::qemu::Machine;
use xtask::{apps, cross, disk_image, paths, toolchain};

/// What the command line asked for.
pub struct Options {
    /// The machine.
    pub target: Target,
    /// How many cuts.
    pub cuts: u32,
    /// The seed; `None`: one from the clock.
    pub seed: Option<u64>,
    /// `commit=SECONDS`.
    pub commit_seconds: u32,
    /// The window after the workload's start the cuts fall in, seconds.
    pub window_seconds: f64,
}

/// The workload's pause between steps, in milliseconds: about 40 steps a
/// second, so a second of lost work is a countable amount of it.
const STEP_MS: u32 = 20;

/// Runs the cuts; returns the exit status (0 passed, 1 failed).
pub fn run(options: Options) -> Result<i32> {
    let target = options.target;
    target.validate()?;
    ensure!(options.cuts > 0, "--cuts must be at least 1");
    ensure!(
        options.window_seconds.is_finite()
            && options.window_seconds > 0.0
            && options.window_seconds <= 3600.0,
        "--window must be more than 0 and at most 3600 seconds"
    );
    ensure!(
        options.commit_seconds <= 3600,
        "--commit must be at most 3600 seconds"
    );
    let arch = target.arch;
    toolchain::ensure_qemu(arch)?;
    let cross_toolchain = toolchain::cross_toolchain()?;
    let kernel = cross::build_kernel(&cross_toolchain, arch)?;
    let programs = apps::build(&cross_toolchain, arch)?;
    let ext2l = build_ext2l()?;
    let directory = paths::target_dir().join("crash").join(arch.name());
    // Logs and kept images of an earlier run would mix with this one's.
    if directory.exists() {
        std::fs::remove_dir_all(&directory).map_err(|error| {
            anyhow::anyhow!("removing the old {}: {error}", directory.display())
        })?;
    }
    let manifest = Manifest::load(&manifest::default_path())?;
    let fresh_image = directory.join("system.img");
    disk_image::build(&fresh_image, &manifest, &programs, arch)?;

    let seed = options.seed.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|elapsed| elapsed.as_nanos() as u64)
            .unwrap_or(1)
    });
    let mut machine = Machine::new(arch, kernel);
    machine.kind = target.machine();
    machine.virtio = target.virtio();
    let config = Config {
        machine,
        fresh_image,
        ext2l,
        directory: directory.clone(),
        cuts: options.cuts,
        seed,
        commit_seconds: options.commit_seconds,
        window: Duration::from_secs_f64(options.window_seconds),
        step_ms: STEP_MS,
    };
    println!(
        "crash: {} {:?} {:?}, {} cuts within {} s of the workload's start, commit={}, seed {seed} (again: --seed {seed})",
        arch.name(),
        config.machine.kind,
        config.machine.virtio,
        config.cuts,
        options.window_seconds,
        config.commit_seconds
    );
    let summary = crash::run(&config, &mut |line| println!("{line}"))?;
    for line in summary.lines() {
        println!("{line}");
    }
    eprintln!("xtask crash: logs of each cut in {}", directory.display());
    Ok(if summary.passed() { 0 } else { 1 })
}

/// Builds the `ext2l` host tool (release), returns its path.
fn build_ext2l() -> Result<std::path::PathBuf> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--quiet", "--release", "--package", "ext2l-cli"])
        .current_dir(paths::workspace_root())
        .status()
        .map_err(|error| anyhow::anyhow!("running cargo for the ext2l tool: {error}"))?;
    if !status.success() {
        bail!("building the ext2l tool failed");
    }
    Ok(paths::target_dir().join("release").join("ext2l"))
}
