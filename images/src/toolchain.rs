// SPDX-License-Identifier: MIT OR Apache-2.0
//! Installing and selecting the tools a cross build and a boot need.
//!
//! Target crates build with Debian 12's complete Rust toolchain (DESIGN §2):
//! packages `rustc-web cargo-web rust-web-src lld-22`, i.e. `/usr/bin/rustc`
//! with the library source under `/usr/lib/rustlib/src`, driven with
//! `RUSTC_BOOTSTRAP=1` and `-Zbuild-std`. Debian ships `lld` as `lld-22`,
//! while Rust's bare-metal targets call their linker `rust-lld`, so we link
//! `rust-lld` into that toolchain's sysroot. Host crates (this tool, the
//! `ext2l` CLI, the tests) build with whatever `cargo` ran us.
//!
//! Lints of target crates use that toolchain's clippy, Debian's
//! `rust-web-clippy` (`/usr/bin/cargo-clippy` and `clippy-driver`),
//! installed the same way when first needed ([`CrossToolchain::clippy`]).
//!
//! On a machine without those packages we install them (as root, from the
//! package archive, never reading the terminal). Without root, a rustup
//! nightly with `rust-src` works as well: set `MANUX_CROSS_TOOLCHAIN=nightly`.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Once;

/// A toolchain able to build `no_std` code for the kernel targets.
#[derive(Clone, Debug)]
pub struct CrossToolchain {
    /// The `cargo` to run.
    pub cargo: PathBuf,
    /// The `rustc` it must use (`RUSTC`), if not its own.
    pub rustc: Option<PathBuf>,
    /// Arguments placed before the cargo subcommand (`+nightly`).
    pub cargo_prefix: Vec<String>,
}

const DEBIAN_RUST: &[&str] = &["rustc-web", "cargo-web", "rust-web-src", "lld-22"];

/// Debian's clippy for that toolchain: `cargo-clippy` and `clippy-driver`.
const DEBIAN_CLIPPY: &str = "rust-web-clippy";
/// Where `rust-web-clippy` puts `cargo-clippy` (`clippy-driver` beside it).
const DEBIAN_CARGO_CLIPPY: &str = "/usr/bin/cargo-clippy";

fn have(program: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {program}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

static APT_UPDATE: Once = Once::new();

/// Installs Debian packages, non-interactively, without recommends (with
/// recommends the QEMU install pulls in a desktop and breaks, DESIGN §2).
pub fn apt_install(packages: &[&str]) -> Result<()> {
    if packages.is_empty() {
        return Ok(());
    }
    if !is_root() || !have("apt-get") {
        bail!(
            "missing packages {}: install them (as root: apt-get install --no-install-recommends {})",
            packages.join(" "),
            packages.join(" ")
        );
    }
    eprintln!("xtask: installing {}", packages.join(" "));
    APT_UPDATE.call_once(|| {
        let _ = Command::new("apt-get")
            .args(["update", "-q"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .status();
    });
    let status = Command::new("apt-get")
        .args(["install", "-y", "-q", "--no-install-recommends"])
        .args(packages)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .context("running apt-get")?;
    if !status.success() {
        bail!("apt-get install {} failed", packages.join(" "));
    }
    Ok(())
}

/// Makes sure every command in `needs` (command, package) exists.
pub fn ensure_commands(needs: &[(&str, &str)]) -> Result<()> {
    let missing: Vec<&str> = needs
        .iter()
        .filter(|(command, _)| !have(command))
        .map(|(_, package)| *package)
        .collect();
    apt_install(&missing)
}

/// QEMU for `arch`, and the e2fsprogs the disk tooling and tests use.
pub fn ensure_qemu(arch: crate::Arch) -> Result<()> {
    let qemu = match arch {
        crate::Arch::Aarch64 => ("qemu-system-aarch64", "qemu-system-arm"),
        crate::Arch::X86_64 => ("qemu-system-x86_64", "qemu-system-x86"),
    };
    ensure_commands(&[
        qemu,
        ("mke2fs", "e2fsprogs"),
        ("debugfs", "e2fsprogs"),
        ("qemu-img", "qemu-utils"),
    ])
}

/// The UEFI firmware QEMU boots a cloud image of `arch` with (DESIGN §2):
/// Debian's `qemu-efi-aarch64` (`QEMU_EFI.fd`, given as `-bios`) or
/// `ovmf` (`OVMF_CODE_4M.fd`, with a copy of `OVMF_VARS_4M.fd` for its
/// variables, both as pflash), installed when missing.
pub fn ensure_uefi_firmware(arch: crate::Arch) -> Result<crate::qemu::UefiFirmware> {
    let (package, code, variables) = match arch {
        crate::Arch::Aarch64 => (
            "qemu-efi-aarch64",
            "/usr/share/qemu-efi-aarch64/QEMU_EFI.fd",
            None,
        ),
        crate::Arch::X86_64 => (
            "ovmf",
            "/usr/share/OVMF/OVMF_CODE_4M.fd",
            Some("/usr/share/OVMF/OVMF_VARS_4M.fd"),
        ),
    };
    if !Path::new(code).exists() {
        apt_install(&[package])?;
    }
    if !Path::new(code).exists() {
        bail!("{code} is missing after installing {package}");
    }
    Ok(crate::qemu::UefiFirmware {
        code: code.into(),
        variables_template: variables.map(PathBuf::from),
    })
}

fn debian_toolchain_complete() -> bool {
    Path::new("/usr/bin/rustc").exists()
        && Path::new("/usr/bin/cargo").exists()
        && Path::new("/usr/lib/rustlib/src/rust/library/core").exists()
        && Path::new("/usr/lib/llvm-22/bin/lld").exists()
}

/// Links `rust-lld` into the Debian toolchain's sysroot (where rustc
/// looks for it first) if it is not there.
fn ensure_rust_lld() -> Result<()> {
    let bin = Path::new("/usr/lib/rustlib/x86_64-unknown-linux-gnu/bin");
    let link = bin.join("rust-lld");
    if link.exists() {
        return Ok(());
    }
    std::fs::create_dir_all(bin).with_context(|| format!("creating {}", bin.display()))?;
    std::os::unix::fs::symlink("/usr/lib/llvm-22/bin/lld", &link)
        .with_context(|| format!("linking {} to lld-22", link.display()))?;
    Ok(())
}

/// Finds (installing if needed) the toolchain for target crates.
pub fn cross_toolchain() -> Result<CrossToolchain> {
    if let Ok(name) = std::env::var("MANUX_CROSS_TOOLCHAIN") {
        return Ok(CrossToolchain {
            cargo: "cargo".into(),
            rustc: None,
            cargo_prefix: vec![format!("+{name}")],
        });
    }
    if !debian_toolchain_complete() {
        apt_install(DEBIAN_RUST)?;
    }
    if !debian_toolchain_complete() {
        bail!(
            "the Debian Rust toolchain ({}) is incomplete after installing it",
            DEBIAN_RUST.join(" ")
        );
    }
    ensure_rust_lld()?;
    Ok(CrossToolchain {
        cargo: "/usr/bin/cargo".into(),
        rustc: Some("/usr/bin/rustc".into()),
        cargo_prefix: vec![],
    })
}

impl CrossToolchain {
    /// A `cargo` command set up for a `-Zbuild-std` cross build.
    pub fn cargo(&self) -> Command {
        let mut command = self.command(&self.cargo);
        command.args(&self.cargo_prefix);
        command
    }

    /// A `cargo clippy` command of this toolchain, set up as [`Self::cargo`]
    /// is: the arguments that follow go after `clippy`. Installs Debian's
    /// clippy (`rust-web-clippy`) when it is missing.
    ///
    /// With the Debian toolchain this runs `/usr/bin/cargo-clippy` itself:
    /// `/usr/bin/cargo clippy` would look for `cargo-clippy` in
    /// `$CARGO_HOME/bin` first and, on a machine with rustup, run that
    /// toolchain's clippy against Debian's library source. `cargo-clippy`
    /// runs the `cargo` named by `CARGO`, with its own `clippy-driver`.
    pub fn clippy(&self) -> Result<Command> {
        if self.rustc.is_none() {
            let mut command = self.cargo();
            command.arg("clippy");
            return Ok(command);
        }
        if !Path::new(DEBIAN_CARGO_CLIPPY).exists() {
            apt_install(&[DEBIAN_CLIPPY])?;
        }
        if !Path::new(DEBIAN_CARGO_CLIPPY).exists() {
            bail!("{DEBIAN_CARGO_CLIPPY} is missing after installing {DEBIAN_CLIPPY}");
        }
        let mut command = self.command(Path::new(DEBIAN_CARGO_CLIPPY));
        command.arg("clippy").env("CARGO", &self.cargo);
        Ok(command)
    }

    /// `program` with the environment every cross command needs.
    fn command(&self, program: &Path) -> Command {
        let mut command = Command::new(program);
        // The host cargo that runs us sets these for its own toolchain.
        for variable in [
            "RUSTUP_TOOLCHAIN",
            "RUSTC",
            "RUSTDOC",
            "CARGO",
            "RUSTC_WRAPPER",
            "RUSTC_WORKSPACE_WRAPPER",
        ] {
            command.env_remove(variable);
        }
        if let Some(rustc) = &self.rustc {
            command.env("RUSTC", rustc);
        }
        // Set in exactly one place: changing it forces a full rebuild.
        command.env("RUSTC_BOOTSTRAP", "1");
        command.current_dir(crate::paths::workspace_root());
        command.stdin(Stdio::null());
        command
    }
}
