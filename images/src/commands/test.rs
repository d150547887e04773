// SPDX-License-Identifier: MIT OR Apache-2.0
//! `cargo xtask test`: every check the project has, in one command.
//!
//! 1. `cargo fmt --check` over the workspace;
//! 2. `cargo clippy`, warnings denied, on every crate: the host crates
//!    (all targets: tests and examples too), then for each architecture
//!    the crates built for the guest — the kernel with hal/ and the
//!    libraries it links, the UEFI boot program, the programs with their
//!    runtime — each for its own target, through the cross toolchain's
//!    clippy (`rust-web-clippy`, installed when missing). On a shared
//!    2-core machine the guest part took 4½ (aarch64) and 6 (x86_64)
//!    minutes from an empty target directory — checking `core` and
//!    `alloc` for five targets is most of it — and under a minute per
//!    architecture when little changed;
//! 3. `cargo test` of the host crates (libraries, tools, property tests,
//!    corpus runs);
//! 4. a build of the kernel for every architecture, then the guest tests
//!    (`tests/`), which boot QEMU and read the serial console. They find the
//!    kernels through `MANUX_KERNEL_<ARCH>`, the system images through
//!    `MANUX_IMAGE_<ARCH>` and the cloud images (GPT, UEFI-bootable)
//!    through `MANUX_CLOUD_IMAGE_<ARCH>`, set here, so every guest test
//!    shares one build.
//!
//! Any failure makes the command exit non-zero.

use anyhow::{bail, Context, Result};
use std::process::{Command, Stdio};
use std::time::Instant;
use xtask::manifest::{self, Manifest};
use xtask::{apps, cloud_image, cross, disk_image, paths, test_fixtures, toolchain, Arch};

/// The architectures the guest tests boot. Each test picks its machines
/// (`tests/src/lib.rs`): AArch64 `virt` over MMIO and PCI, x86_64
/// `microvm` (every test) and `q35` (platform and smoke tests).
const GUEST_ARCHES: &[Arch] = &[Arch::Aarch64, Arch::X86_64];

fn step(name: &str, command: &mut Command) -> Result<()> {
    eprintln!("xtask test: {name}");
    let status = command
        .current_dir(paths::workspace_root())
        .stdin(Stdio::null())
        .status()
        .with_context(|| format!("starting {name}"))?;
    if !status.success() {
        bail!("{name} failed");
    }
    Ok(())
}

fn host_cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// What to run.
pub enum Scope {
    /// Every check (the README's test command, what CI runs).
    Everything,
    /// Formatting, lints and host tests.
    HostOnly,
    /// Only guest tests: of one architecture, one test file, one filter.
    GuestOnly {
        /// Only this architecture.
        arch: Option<Arch>,
        /// Only this file of `tests/tests/`.
        test: Option<String>,
        /// A test-name filter.
        filter: Option<String>,
    },
}

/// Runs everything; host checks first, so a quick failure stays quick.
pub fn run(scope: Scope) -> Result<()> {
    toolchain::ensure_commands(&[
        ("mke2fs", "e2fsprogs"),
        ("e2fsck", "e2fsprogs"),
        ("debugfs", "e2fsprogs"),
    ])?;
    let (arches, test, filter) = match scope {
        Scope::GuestOnly { arch, test, filter } => {
            let arches: Vec<Arch> = match arch {
                Some(arch) => vec![arch],
                None => GUEST_ARCHES.to_vec(),
            };
            (arches, test, filter)
        }
        Scope::Everything | Scope::HostOnly => {
            host_checks()?;
            if matches!(scope, Scope::HostOnly) {
                return Ok(());
            }
            (GUEST_ARCHES.to_vec(), None, None)
        }
    };
    guest_tests(&arches, test.as_deref(), filter.as_deref())
}

/// Formatting, lints, host tests.
fn host_checks() -> Result<()> {
    step(
        "formatting (cargo fmt --check)",
        host_cargo().args(["fmt", "--all", "--check"]),
    )?;
    // Every crate that builds for the host: the workspace less the kernel,
    // hal/ and the programs, which only build for the guest.
    let mut clippy = host_cargo();
    clippy.args(["clippy", "--quiet", "--all-targets", "--workspace"]);
    for guest_only in ["hal", "uefi-stub", "kernel"]
        .map(String::from)
        .into_iter()
        .chain(apps::packages()?)
    {
        clippy.args(["--exclude", &guest_only]);
    }
    step(
        "lints on the host (cargo clippy)",
        clippy.args(["--", "-D", "warnings"]),
    )?;
    guest_lints()?;
    step(
        "host tests (cargo test)",
        host_cargo().args(["test", "--quiet"]),
    )
}

/// Clippy, warnings denied, over every crate as each architecture builds
/// it: the kernel (with hal/ and what it links), the UEFI boot program and
/// the programs (with the runtime), each for its own target.
fn guest_lints() -> Result<()> {
    let cross_toolchain = toolchain::cross_toolchain()?;
    for &arch in GUEST_ARCHES {
        eprintln!(
            "xtask test: lints on the {} kernel, UEFI boot program and programs (cargo clippy)",
            arch.name()
        );
        let started = Instant::now();
        cross::clippy_kernel(&cross_toolchain, arch)?;
        cross::clippy_uefi_stub(&cross_toolchain, arch)?;
        apps::clippy(&cross_toolchain, arch)?;
        eprintln!(
            "xtask test: {} lints clean in {:.0?}",
            arch.name(),
            started.elapsed()
        );
    }
    Ok(())
}

/// Builds each architecture's kernel, programs and images once, then runs
/// the guest tests (`test`: one file of `tests/tests/`; `filter`: names).
fn guest_tests(arches: &[Arch], test: Option<&str>, filter: Option<&str>) -> Result<()> {
    let cross_toolchain = toolchain::cross_toolchain()?;
    step(
        "the ext2l tool (for the guest tests)",
        host_cargo().args(["build", "--quiet", "--release", "--package", "ext2l-cli"]),
    )?;
    let mut guest = host_cargo();
    // One QEMU at a time: consoles are timed by a person-like driver, and
    // two cores shared by several emulated machines make prompts late.
    guest.args(["test", "--quiet", "--package", "guest-tests"]);
    if let Some(test) = test {
        guest.args(["--test", test]);
    }
    guest.args(["--", "--test-threads=1"]);
    if let Some(filter) = filter {
        guest.arg(filter);
    }
    guest.env(
        "MANUX_EXT2L",
        paths::target_dir().join("release").join("ext2l"),
    );
    for &arch in arches {
        toolchain::ensure_qemu(arch)?;
        eprintln!(
            "xtask test: building the {} kernel, programs and system image",
            arch.name()
        );
        let kernel = cross::build_kernel(&cross_toolchain, arch)?;
        let programs = apps::build(&cross_toolchain, arch)?;
        // A fresh image every run: no test depends on an old disk.
        let image = paths::target_dir()
            .join("disks")
            .join(format!("test-{}.img", arch.name()));
        let manifest = Manifest::load(&manifest::default_path())?;
        disk_image::build(&image, &manifest, &programs, arch)?;
        test_fixtures::add_escape_lab(&image)?;
        let upper = arch.name().to_uppercase();
        // The same volume as a UEFI-bootable GPT disk, for the cloud
        // tests (`tests/tests/cloud.rs`); built once, copied by each test.
        toolchain::ensure_uefi_firmware(arch)?;
        let boot_program = cross::build_uefi_stub(&cross_toolchain, arch, &kernel)?;
        let cloud = paths::target_dir()
            .join("images")
            .join(format!("test-{}.raw", arch.name()));
        cloud_image::build_raw(arch, &boot_program, &image, &cloud)?;
        guest.env(format!("MANUX_CLOUD_IMAGE_{upper}"), cloud);
        guest.env(format!("MANUX_KERNEL_{upper}"), kernel);
        guest.env(format!("MANUX_IMAGE_{upper}"), image);
        guest.env(
            format!("MANUX_LINUX_PROGRAMS_{upper}"),
            xtask::linux_programs::output_dir(arch),
        );
        // Debian's busybox, as the image holds it, for the applet tests to
        // run on the host too (`tests/tests/busybox.rs`).
        let busybox = xtask::linux_programs::output_dir(arch).join("busybox");
        let package = manifest
            .debian_packages
            .iter()
            .find(|package| package.name == "busybox-static")
            .context("the manifest has no busybox-static")?;
        let deb = xtask::debian::fetch(&manifest, package, arch)?;
        let bytes = xtask::debian::extract(&deb, "bin/busybox", "busybox-static")?;
        std::fs::write(&busybox, bytes)
            .with_context(|| format!("writing {}", busybox.display()))?;
        std::fs::set_permissions(
            &busybox,
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .with_context(|| format!("making {} executable", busybox.display()))?;
        guest.env(format!("MANUX_BUSYBOX_{upper}"), busybox);
    }
    guest.env(
        "MANUX_GUEST_ARCHES",
        arches
            .iter()
            .map(|a| a.name())
            .collect::<Vec<_>>()
            .join(","),
    );
    step("guest tests (QEMU)", &mut guest)
}
