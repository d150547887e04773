// SPDX-License-Identifier: MIT OR Apache-2.0
//! The Manux build tool's library: what both `cargo xtask` and the guest
//! tests need to agree on.
//!
//! - [`paths`]: where the workspace, the built kernels and the disks are;
//! - [`toolchain`]: installing and selecting the cross toolchain and QEMU
//!   (DESIGN §2);
//! - [`cross`]: building the kernel for a target;
//! - [`apps`]: building the user programs in `apps/` for a target;
//! - [`linux_programs`]: building the test programs in `tests/linux/`
//!   as static-PIE Linux binaries (glibc), which [`apps::build`] adds;
//! - [`program_elf`]: the ELF form a program must have, checked;
//! - [`debian`]: programs taken from Debian binary packages, downloaded
//!   by pinned version and SHA-256, cached, extracted;
//! - [`prebuilt`]: the packages' prebuilt programs, from Debian packages
//!   or host files pinned by SHA-256;
//! - [`linux_elf`]: the ELF form such a prebuilt Linux program must
//!   have, checked;
//! - [`manifest`]: the build-time manifest (packages, user, trust
//!   policy), `images/manifest.toml`;
//! - [`signing`]: canonical package forms, ed25519 keys and signatures;
//! - [`package_check`]: every check of a package that needs no image;
//! - [`package_roots`]: the shared tree, the package roots and their
//!   launchers, and the checks that need the image being built;
//! - [`cloud_image`]: the UEFI-bootable GPT images (raw and qcow2) for
//!   cloud VMs;
//! - [`crash`]: power cuts under a write-and-sync workload, the volume
//!   checked and compared with what the workload reported durable;
//! - [`disk_image`]: the system disk, built from a manifest into a
//!   temporary file and renamed only when complete and clean;
//! - [`qemu`]: the one place QEMU command lines are made, so `cargo xtask
//!   run` and the tests boot machines the same way.
//!
//! # Design principles
//! - A fresh Debian 12 machine needs nothing done by hand: every command
//!   installs what it is missing, from the package archive, without reading
//!   the terminal.
//! - Errors name what failed and what to do about it.
#![forbid(unsafe_code)]

pub mod apps;
pub mod bench_report;
pub mod cloud_image;
pub mod crash;
pub mod cross;
pub mod debian;
pub mod disk_image;
pub mod linux_elf;
pub mod linux_programs;
pub mod manifest;
pub mod package_check;
pub mod package_roots;
pub mod paths;
pub mod prebuilt;
pub mod program_elf;
pub mod qemu;
pub mod signing;
pub mod test_fixtures;
pub mod toolchain;

/// The architectures Manux runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Arch {
    /// 64-bit Arm (QEMU `virt`).
    Aarch64,
    /// 64-bit x86 (QEMU `microvm`, `q35`).
    #[value(name = "x86_64")]
    X86_64,
}

impl Arch {
    /// The Rust target triple of the kernel.
    pub fn kernel_target(self) -> &'static str {
        match self {
            Arch::Aarch64 => "aarch64-unknown-none",
            Arch::X86_64 => "x86_64-unknown-none",
        }
    }

    /// The architecture named `name` (`aarch64`, `x86_64`).
    pub fn from_name(name: &str) -> Option<Arch> {
        match name {
            "aarch64" => Some(Arch::Aarch64),
            "x86_64" => Some(Arch::X86_64),
            _ => None,
        }
    }

    /// The name used in paths and messages.
    pub fn name(self) -> &'static str {
        match self {
            Arch::Aarch64 => "aarch64",
            Arch::X86_64 => "x86_64",
        }
    }
}
