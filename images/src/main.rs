// SPDX-License-Identifier: MIT OR Apache-2.0
//! `cargo xtask`: build, boot and test Manux.
//!
//! Each subcommand is one file under `commands/`; the doc comments below
//! are the `--help` text.

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
        /// Extra kernel command line (e.g. `log=debug`).
        #[arg(long, default_value = "")]
        append: String,
        /// RAM in MiB.
        #[arg(long, default_value_t = 128)]
        memory: u32,
    },
    /// Rebuild the development disk image from scratch.
    Image {
        #[command(flatten)]
        target: Target,
    },
    /// Run every check: formatting, lints, host tests, guest tests under QEMU.
    Test {
        /// Skip the guest (QEMU) tests.
        #[arg(long)]
        host_only: bool,
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
        } => commands::run::run(target, &append, memory),
        Command::Image { target } => commands::image::run(target).map(|_| 0),
        Command::Test { host_only } => commands::test::run(host_only).map(|_| 0),
    };
    match result {
        Ok(status) => ExitCode::from(status.clamp(0, 255) as u8),
        Err(error) => {
            eprintln!("xtask: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
