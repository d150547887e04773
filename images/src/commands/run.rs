// SPDX-License-Identifier: MIT OR Apache-2.0
//! `cargo xtask run`: boot under QEMU with the console on this terminal.
//!
//! With `--uefi`, the cloud image of `cargo xtask image` boots through
//! UEFI firmware, as a cloud VM boots it (`xtask::cloud_image`); `--append`
//! then sets the image's kernel command line file on its EFI system
//! partition, in place, before the boot.
//!
//! The guest ends its lines with CR LF, as a serial terminal wants. On a
//! terminal QEMU's output goes straight to it; into a pipe or a file it
//! is copied with the carriage returns dropped, so a saved console log
//! is plain text whose lines `grep -x` can match.

use crate::Target;
use anyhow::{bail, Context, Result};
use std::io::{IsTerminal, Read, Write};
use std::process::{Command, ExitStatus, Stdio};
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
    let status = attach(machine.command())?;
    let code = status.code().unwrap_or(1);
    Ok(guest_status(target.arch, code))
}

/// Boots `target/images/manux-ARCH.raw` under UEFI firmware (the image is
/// used in place, like the development disk: what the guest writes stays);
/// returns the guest's exit status. With `append`, the image's
/// `EFI/manux/cmdline.txt` is set to those words first (removed when they
/// are empty); without, it is left as it is.
pub fn run_uefi(arch: Arch, append: Option<&str>, memory_mib: u32) -> Result<i32> {
    let (raw, _) = cloud_image::image_paths(arch);
    if !raw.exists() {
        bail!(
            "{} does not exist: make it with `cargo xtask image --arch {}`",
            raw.display(),
            arch.name()
        );
    }
    if let Some(words) = append {
        cloud_image::set_command_line(&raw, words)?;
        match words.trim() {
            "" => eprintln!(
                "xtask: removed {} from {}",
                cloud_image::COMMAND_LINE_FILE,
                raw.display()
            ),
            words => eprintln!(
                "xtask: kernel command line in {} of {}: \"{words}\"",
                cloud_image::COMMAND_LINE_FILE,
                raw.display()
            ),
        }
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
    let status = attach(machine.command())?;
    Ok(guest_status(arch, status.code().unwrap_or(1)))
}

/// Runs QEMU with the console on this process's standard input and
/// output: inherited on a terminal, otherwise copied without `\r`.
fn attach(mut command: Command) -> Result<ExitStatus> {
    if std::io::stdout().is_terminal() {
        return command.status().context("starting QEMU");
    }
    let mut child = command
        .stdout(Stdio::piped())
        .spawn()
        .context("starting QEMU")?;
    let mut console = child.stdout.take().context("QEMU's output")?;
    let mut output = std::io::stdout().lock();
    let mut buffer = [0u8; 4096];
    loop {
        let count = match console.read(&mut buffer) {
            Ok(0) => break,
            Ok(count) => count,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error).context("reading QEMU's output"),
        };
        let text: Vec<u8> = buffer[..count]
            .iter()
            .copied()
            .filter(|&byte| byte != b'\r')
            .collect();
        // A reader that went away (`| head`) does not stop the guest.
        if output
            .write_all(&text)
            .and_then(|()| output.flush())
            .is_err()
        {
            break;
        }
    }
    drop(console);
    child.wait().context("waiting for QEMU")
}
