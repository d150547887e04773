// SPDX-License-Identifier: MIT OR Apache-2.0
//! `cargo xtask`: build, boot and test Manux.
//!
//! Each subcommand is one file under `commands/`; the doc comments below
//! are the `--help` text.
#![forbid(unsafe_code)]

use clap::{Parser, Subcommand};
use std::process::ExitCode;
use xtask::qemu::{MachineKind, VirtioTransport};
use xtask::Arch;

mod commands;

/// Build, boot and test Manux.
#[derive(Parser)]
#[command(name = "cargo xtask", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Which machine to build for or boot.
#[derive(clap::Args, Clone, Copy)]
pub struct Target {
    /// CPU architecture.
    #[arg(long, value_enum, default_value = "aarch64")]
    arch: Arch,
    /// Machine model (default: `virt` on aarch64, `microvm` on x86_64).
    #[arg(long, value_enum)]
    machine: Option<MachineKind>,
    /// virtio transport (default: the machine's own: mmio, or pci on q35).
    #[arg(long, value_enum)]
    virtio: Option<VirtioTransport>,
}

#[derive(Subcommand)]
enum Command {
    /// Install what is missing (toolchain, QEMU), then build everything a boot needs.
    Build {
        #[command(flatten)]
        target: Target,
    },
    /// Build what changed, then boot under QEMU with the serial console on this terminal.
    ///
    /// The development disk (target/disks/manux-ARCH.img) is created when
    /// missing and kept between runs. QEMU's exit ends the command with the
    /// guest's status; Ctrl-A X quits.
    Run {
        #[command(flatten)]
        target: Target,
        /// Extra kernel command line (e.g. `log=debug`). With --uefi: the
        /// words are written to the cloud image's EFI/manux/cmdline.txt
        /// (empty words remove it); without --append the image keeps
        /// the command line it has.
        #[arg(long)]
        append: Option<String>,
        /// RAM in MiB (default 128; 256 with --uefi: the firmware's own
        /// allocations leave too little free RAM where the kernel is
        /// linked on a 128 MiB AArch64 machine).
        #[arg(long)]
        memory: Option<u32>,
        /// Boot the cloud image (target/images/manux-ARCH.raw, made by
        /// `cargo xtask image`) through UEFI firmware instead: `virt` or
        /// `q35`, virtio over PCI.
        #[arg(long)]
        uefi: bool,
    },
    /// Rebuild the development disk and the cloud images from scratch.
    Image {
        #[command(flatten)]
        target: Target,
        /// Build from this manifest instead of images/manifest.toml.
        #[arg(long)]
        manifest: Option<std::path::PathBuf>,
        /// Kernel command line of the cloud images: written to their EFI
        /// system partition as EFI/manux/cmdline.txt, which the boot
        /// program passes on (without it, or with empty words: no file,
        /// no command line).
        #[arg(long, value_name = "WORDS")]
        append: Option<String>,
    },
    /// Sign packages of the manifest with development keys (or make a key).
    ///
    /// Builds the programs for --arch, signs each package's canonical form
    /// (its fields and every file's SHA-256) with KEYS/PUBLISHER.secret and
    /// writes `signature.ARCH` into the manifest, keeping its layout. The
    /// keys in images/keys/ are for development only.
    Sign {
        /// The architecture whose programs are hashed.
        #[arg(long, value_enum, default_value = "aarch64")]
        arch: Arch,
        /// The manifest to sign (default: images/manifest.toml).
        #[arg(long)]
        manifest: Option<std::path::PathBuf>,
        /// Directory of secret keys (default: the manifest's development-keys, else images/keys).
        #[arg(long)]
        keys: Option<std::path::PathBuf>,
        /// Sign only this package (repeatable; default: every package).
        #[arg(long = "package", value_name = "NAME")]
        packages: Vec<String>,
        /// Remove the signatures for --arch instead of making them.
        #[arg(long)]
        clear: bool,
        /// Make a new key pair for publisher NAME: write KEYS/NAME.secret, print the public key.
        #[arg(long, value_name = "NAME")]
        new_key: Option<String>,
    },
    /// Measure the system: boot a fresh image, run the in-guest benchmarks, print the table.
    ///
    /// One benchmark boot (`init=/bin/bench`) measures system calls,
    /// spawn/exec and the launcher, file and raw disk reads and small
    /// files, each REPETITIONS times; smoke sessions typed at the shell
    /// give boot-to-prompt (kernel clock) and the smallest RAM that works.
    /// Writes the medians to target/bench-ARCH.json.
    Bench {
        #[command(flatten)]
        target: Target,
        /// Repetitions of each figure in the same boot (and smoke boots).
        #[arg(long, default_value_t = 5)]
        repetitions: u32,
        /// Only the benchmark boot, with the guest's clock counting
        /// instructions (QEMU `-icount`): system-call, spawn and exec
        /// figures in guest instructions, the same in every run whatever
        /// the host's load — for comparing two versions.
        #[arg(long)]
        instructions: bool,
    },
    /// Cut the power during writes, again and again; check the volume and the fsync'ed data.
    ///
    /// Builds as `bench` does (release kernel, programs, a fresh image in
    /// target/crash/ARCH/), then CUTS times: boots the `crashload`
    /// workload (`commit=SECONDS init=/bin/crashload …`), kills QEMU at a
    /// random moment within WINDOW seconds of its start, runs `ext2l
    /// check` (clean, needs recovery, damaged), boots again so the kernel
    /// recovers, checks again (must be clean), and compares every file the
    /// workload reported durable with the volume. Prints a line per cut,
    /// then: cuts, recovered, inconsistent, fsync'ed files lost, seconds of
    /// unsynced work lost. Exits 1 on any inconsistency, lost durable data
    /// or failed recovery. The disk is kept from cut to cut (a fresh copy
    /// after a cut that spoilt it); logs in target/crash/ARCH/cut-N.log.
    Crash {
        #[command(flatten)]
        target: Target,
        /// How many power cuts.
        #[arg(long, default_value_t = 20)]
        cuts: u32,
        /// Seed of the cut moments and of the workload (default: from the
        /// clock; printed, to run the same again).
        #[arg(long)]
        seed: Option<u64>,
        /// `commit=SECONDS` on the kernel command line: how often the
        /// kernel is asked to commit what is dirty.
        #[arg(long, default_value_t = 1, value_name = "SECONDS")]
        commit: u32,
        /// Cuts fall uniformly within this many seconds after the workload
        /// starts.
        #[arg(long, default_value_t = 6.0, value_name = "SECONDS")]
        window: f64,
    },
    /// Run every check: formatting, lints, host tests, guest tests under QEMU.
    Test {
        /// Skip the guest (QEMU) tests.
        #[arg(long, conflicts_with = "guest_only")]
        host_only: bool,
        /// Only the guest tests (no formatting, lints or host tests): for
        /// working on the kernel; the full command is what CI runs.
        #[arg(long)]
        guest_only: bool,
        /// With `--guest-only`: only this architecture.
        #[arg(long, requires = "guest_only")]
        arch: Option<Arch>,
        /// With `--guest-only`: only this guest test file (`shell` for
        /// `tests/tests/shell.rs`), or a test name filter after `--`.
        #[arg(long, requires = "guest_only")]
        test: Option<String>,
        /// With `--guest-only`: a test-name filter, as `cargo test` takes.
        #[arg(requires = "guest_only")]
        filter: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Build { target } => commands::build::run(target).map(|_| 0),
        Command::Run {
            target,
            append,
            memory,
            uefi,
        } => {
            if uefi {
                commands::run::run_uefi(target.arch, append.as_deref(), memory.unwrap_or(256))
            } else {
                commands::run::run(
                    target,
                    append.as_deref().unwrap_or(""),
                    memory.unwrap_or(128),
                )
            }
        }
        Command::Image {
            target,
            manifest,
            append,
        } => commands::image::run(target, manifest.as_deref(), append.as_deref()).map(|_| 0),
        Command::Sign {
            arch,
            manifest,
            keys,
            packages,
            clear,
            new_key,
        } => commands::sign::run(commands::sign::Options {
            arch,
            manifest,
            keys,
            packages,
            clear,
            new_key,
        })
        .map(|_| 0),
        Command::Bench {
            target,
            repetitions,
            instructions,
        } => commands::bench::run(target, repetitions, instructions).map(|_| 0),
        Command::Crash {
            target,
            cuts,
            seed,
            commit,
            window,
        } => commands::crash::run(commands::crash::Options {
            target,
            cuts,
            seed,
            commit_seconds: commit,
            window_seconds: window,
        }),
        Command::Test {
            host_only,
            guest_only,
            arch,
            test,
            filter,
        } => {
            let scope = if host_only {
                commands::test::Scope::HostOnly
            } else if guest_only {
                commands::test::Scope::GuestOnly { arch, test, filter }
            } else {
                commands::test::Scope::Everything
            };
            commands::test::run(scope).map(|_| 0)
        }
    };
    match result {
        Ok(status) => ExitCode::from(status.clamp(0, 255) as u8),
        Err(error) => {
            eprintln!("xtask: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
