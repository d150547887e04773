// SPDX-License-Identifier: MIT OR Apache-2.0
//! `cargo xtask run`: boot under QEMU with the console on this terminal.
//!
//! With `--uefi`, the cloud image of `cargo xtask image` boots through
//! UEFI firmware, as a cloud VM boots it (`xtask::cloud_image`).

use crate::Target;
use anyhow::{bail, Context, Result};
use xtask::qemu::{guest_status, Machine, MachineKind, VirtioTransport};
use xtask::{cloud_image, paths, toolchain, Arch};

/// Builds, boots, and returns the guest's exit status.
pub fn run(target: Target, append: &str, memory_mib: u32) -> Result<i32> {
    let built = super::build::run(target)?;
    let mut machine = Machine::new(target.arch, built.kernel);
    machine.kind = target.machine();
    machine.virtio = target.virtio();
    machine.memory_mib = memory_mib;
    machine.disks.push(built.disk);
    machine.append = append.to_string();
    let status = machine.command().status().context("starting QEMU")?;
    let code = status.code().unwrap_or(1);
    Ok(guest_status(target.arch, code))
}

/// Boots `target/images/manux-ARCH.raw` under UEFI firmware (the image is
/// used in place, like the development disk: what the guest writes stays);
/// returns the guest's exit status.
pub fn run_uefi(arch: Arch, memory_mib: u32) -> Result<i32> {
    let (raw, _) = cloud_image::image_paths(arch);
    if !raw.exists() {
        bail!(
            "{} does not exist: make it with `cargo xtask image --arch {}`",
            raw.display(),
            arch.name()
        );
    }
    toolchain::ensure_qemu(arch)?;
    let firmware = toolchain::ensure_uefi_firmware(arch)?;
    // OVMF gets a fresh copy of its empty variable store each run: it
    // finds the removable-media boot program again by itself.
    let variables = paths::target_dir()
        .join("images")
        .join(format!("manux-{}.vars.fd", arch.name()));
    let mut machine = Machine::new(arch, paths::kernel_elf(arch));
    machine.kind = match arch {
        Arch::Aarch64 => MachineKind::Virt,
        Arch::X86_64 => MachineKind::Q35,
    };
    machine.virtio = VirtioTransport::Pci;
    machine.memory_mib = memory_mib;
    machine.disks.push(raw);
    let boot = firmware
        .boot_with_variables_at(&variables)
        .with_context(|| {
            format!(
                "copying the firmware's variables to {}",
                variables.display()
            )
        })?;
    machine.uefi = Some(boot);
    let status = machine.command().status().context("starting QEMU")?;
    Ok(guest_status(arch, status.code().unwrap_or(1)))
}
