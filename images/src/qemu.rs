// SPDX-License-Identifier: MIT OR Apache-2.0
//! QEMU command lines, made in one place for `cargo xtask run` and the tests.
//!
//! | arch    | machine   | virtio | disk device          | exit status                  |
//! |---------|-----------|--------|----------------------|------------------------------|
//! | aarch64 | `virt`    | mmio   | `virtio-blk-device`  | PSCI off = 0; semihosting    |
//! | aarch64 | `virt`    | pci    | `virtio-blk-pci`     | as above                     |
//! | x86_64  | `microvm` | mmio   | `virtio-blk-device`  | ACPI off = 0; isa-debug-exit |
//! | x86_64  | `q35`     | pci    | `virtio-blk-pci`     | as above                     |
//!
//! A machine with [`Machine::uefi`] set boots its first disk through UEFI
//! firmware instead of `-kernel` (a cloud image, `xtask::cloud_image`):
//! AArch64 `virt` with `-bios QEMU_EFI.fd`, x86_64 `q35` with OVMF's code
//! and a private copy of its variable store as pflash (DESIGN §2).
//!
//! The serial console is QEMU's stdio (`-nographic`: Ctrl-A X quits, as
//! usual). On AArch64, Arm semihosting is enabled only so a failing kernel
//! can choose QEMU's exit status (`poweroff=semihosting` tells the kernel);
//! on x86_64 the `isa-debug-exit` device plays that part.

use crate::Arch;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The machine model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum MachineKind {
    /// AArch64 `virt`.
    Virt,
    /// x86_64 `microvm`.
    Microvm,
    /// x86_64 `q35`.
    Q35,
}

/// How virtio devices are attached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum VirtioTransport {
    /// virtio-mmio slots.
    Mmio,
    /// virtio-pci functions.
    Pci,
}

/// UEFI firmware files, as installed (see
/// `toolchain::ensure_uefi_firmware`).
#[derive(Clone, Debug)]
pub struct UefiFirmware {
    /// The firmware itself (`QEMU_EFI.fd`, `OVMF_CODE_4M.fd`).
    pub code: PathBuf,
    /// The empty variable store to copy for each machine (OVMF only).
    pub variables_template: Option<PathBuf>,
}

impl UefiFirmware {
    /// A boot with this firmware whose variable store (if it has one) is a
    /// fresh copy at `variables`; the caller owns that file.
    ///
    /// Return values: the copy's I/O error.
    pub fn boot_with_variables_at(&self, variables: &Path) -> std::io::Result<UefiBoot> {
        let variables = match &self.variables_template {
            Some(template) => {
                std::fs::copy(template, variables)?;
                Some(variables.to_path_buf())
            }
            None => None,
        };
        Ok(UefiBoot {
            code: self.code.clone(),
            variables,
        })
    }
}

/// How a machine boots through UEFI firmware.
#[derive(Clone, Debug)]
pub struct UefiBoot {
    /// The firmware (`-bios` on AArch64, read-only pflash 0 on x86_64).
    pub code: PathBuf,
    /// The writable variable store (pflash 1), OVMF only.
    pub variables: Option<PathBuf>,
}

/// One virtual machine to boot.
#[derive(Clone, Debug)]
pub struct Machine {
    /// CPU architecture.
    pub arch: Arch,
    /// Machine model.
    pub kind: MachineKind,
    /// virtio transport.
    pub virtio: VirtioTransport,
    /// RAM in MiB (`-m`).
    pub memory_mib: u32,
    /// The kernel ELF.
    pub kernel: PathBuf,
    /// Disk images, attached in order as virtio-blk devices.
    pub disks: Vec<PathBuf>,
    /// Extra kernel command line.
    pub append: String,
    /// AArch64 GIC version (2 or 3).
    pub gic_version: u8,
    /// Boot the first disk through UEFI firmware instead of `-kernel`
    /// (then `kernel` and `append` are not used).
    pub uefi: Option<UefiBoot>,
    /// Let the guest's clock count instructions (`-icount shift=0,sleep=off`:
    /// one nanosecond per instruction executed), so its timings are
    /// instruction counts, the same in every run.
    pub instruction_clock: bool,
}

impl Machine {
    /// The defaults for `arch`: `virt`/mmio or `microvm`/mmio, 128 MiB.
    pub fn new(arch: Arch, kernel: PathBuf) -> Self {
        let kind = match arch {
            Arch::Aarch64 => MachineKind::Virt,
            Arch::X86_64 => MachineKind::Microvm,
        };
        Machine {
            arch,
            kind,
            virtio: default_transport(kind),
            memory_mib: 128,
            kernel,
            disks: Vec::new(),
            append: String::new(),
            gic_version: 2,
            uefi: None,
            instruction_clock: false,
        }
    }

    /// The full kernel command line this machine passes.
    pub fn command_line(&self) -> String {
        let mut words = Vec::new();
        if self.arch == Arch::Aarch64 {
            words.push("poweroff=semihosting".to_string());
        }
        if !self.append.trim().is_empty() {
            words.push(self.append.trim().to_string());
        }
        words.join(" ")
    }

    /// The QEMU command (stdin/stdout not yet set).
    pub fn command(&self) -> Command {
        let mut command = match self.arch {
            Arch::Aarch64 => Command::new("qemu-system-aarch64"),
            Arch::X86_64 => Command::new("qemu-system-x86_64"),
        };
        match (self.arch, self.kind) {
            (Arch::Aarch64, _) => {
                command.args([
                    "-M",
                    &format!("virt,gic-version={}", self.gic_version),
                    "-cpu",
                    "cortex-a72",
                ]);
                match &self.uefi {
                    Some(uefi) => {
                        command.arg("-bios").arg(&uefi.code);
                    }
                    None => {
                        command.args(["-semihosting-config", "enable=on,target=native"]);
                    }
                }
            }
            (Arch::X86_64, MachineKind::Q35) if self.uefi.is_some() => {
                command.args(["-M", "q35"]);
                if let Some(uefi) = &self.uefi {
                    command.arg("-drive").arg(format!(
                        "if=pflash,format=raw,unit=0,readonly=on,file={}",
                        uefi.code.display()
                    ));
                    if let Some(variables) = &uefi.variables {
                        command.arg("-drive").arg(format!(
                            "if=pflash,format=raw,unit=1,file={}",
                            variables.display()
                        ));
                    }
                }
            }
            (Arch::X86_64, MachineKind::Q35) => {
                // qboot instead of SeaBIOS: it prints nothing (so the
                // kernel's banner is the first line) and boots in
                // milliseconds; the kernel assigns PCI BARs itself.
                command.args(["-M", "q35", "-bios", "qboot.rom"]);
            }
            (Arch::X86_64, _) => {
                command.args(["-M", "microvm"]);
            }
        }
        if self.arch == Arch::X86_64 {
            command.args(["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]);
        }
        if self.instruction_clock {
            command.args(["-icount", "shift=0,sleep=off"]);
        }
        command.args(["-m", &format!("{}M", self.memory_mib)]);
        command.args(["-nographic", "-no-reboot", "-net", "none"]);
        if self.uefi.is_none() {
            command.arg("-kernel").arg(&self.kernel);
            command.args(["-append", &self.command_line()]);
        }
        if self.virtio == VirtioTransport::Mmio {
            // Modern (version 2) virtio-mmio rather than the legacy default.
            command.args(["-global", "virtio-mmio.force-legacy=false"]);
        }
        for (index, disk) in self.disks.iter().enumerate() {
            command.arg("-drive").arg(format!(
                "if=none,id=disk{index},format=raw,file={}",
                disk.display()
            ));
            let device = match self.virtio {
                VirtioTransport::Mmio => "virtio-blk-device",
                VirtioTransport::Pci => "virtio-blk-pci",
            };
            command.args(["-device", &format!("{device},drive=disk{index}")]);
        }
        command
    }
}

/// The transport a machine model has by default.
pub fn default_transport(kind: MachineKind) -> VirtioTransport {
    match kind {
        MachineKind::Q35 => VirtioTransport::Pci,
        _ => VirtioTransport::Mmio,
    }
}

/// Turns QEMU's exit status into the guest's: on x86_64 `isa-debug-exit`
/// makes QEMU exit with `(code << 1) | 1`, which we undo.
pub fn guest_status(arch: Arch, qemu_status: i32) -> i32 {
    match arch {
        Arch::X86_64 if qemu_status & 1 == 1 && qemu_status > 1 => qemu_status >> 1,
        _ => qemu_status,
    }
}
