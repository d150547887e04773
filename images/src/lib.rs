// SPDX-License-Identifier: MIT OR Apache-2.0
//! The Manux build tool's library: what both `cargo xtask` and the guest
//! tests need to agree on.
//!
//! - [`paths`]: where the workspace, the built kernels and the disks are;
//! - [`toolchain`]: installing and selecting the cross toolchain and QEMU
//!   (DESIGN §2);
//! - [`cross`]: building the kernel for a target;
//! - [`apps`]: building the user programs in `apps/` for a target;
//! - [`program_elf`]: the ELF form a program must have, checked;
//! - [`disk_image`]: the development disk, an ext2l volume with the
//!   programs in `/bin`;
//! - [`qemu`]: the one place QEMU command lines are made, so `cargo xtask
//!   run` and the tests boot machines the same way.
//!
//! # Design principles
//! - A fresh Debian 12 machine needs nothing done by hand: every command
//!   installs what it is missing, from the package archive, without reading
//!   the terminal.
//! - Errors name what failed and what to do about it.

pub mod apps;
pub mod cross;
pub mod disk_image;
pub mod paths;
pub mod program_elf;
pub mod qemu;
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

    /// The name used in paths and messages.
    pub fn name(self) -> &'static str {
        match self {
            Arch::Aarch64 => "aarch64",
            Arch::X86_64 => "x86_64",
        }
    }
}
