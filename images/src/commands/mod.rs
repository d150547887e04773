// SPDX-License-Identifier: MIT OR Apache-2.0
//! The subcommands of `cargo xtask`, one per file.

pub mod bench;
pub mod build;
pub mod crash;
pub mod image;
pub mod run;
pub mod sign;
pub mod test;

use crate::Target;
use xtask::qemu::{default_transport, MachineKind, VirtioTransport};
use xtask::Arch;

impl Target {
    /// The machine model, defaulted from the architecture.
    pub fn machine(&self) -> MachineKind {
        self.machine.unwrap_or(match self.arch {
            Arch::Aarch64 => MachineKind::Virt,
            Arch::X86_64 => MachineKind::Microvm,
        })
    }

    /// The virtio transport, defaulted from the machine.
    pub fn virtio(&self) -> VirtioTransport {
        self.virtio
            .unwrap_or_else(|| default_transport(self.machine()))
    }

    /// Refuses combinations QEMU does not have.
    pub fn validate(&self) -> anyhow::Result<()> {
        let machine = self.machine();
        match (self.arch, machine, self.virtio()) {
            (Arch::Aarch64, MachineKind::Virt, _) => Ok(()),
            (Arch::X86_64, MachineKind::Microvm, VirtioTransport::Mmio) => Ok(()),
            (Arch::X86_64, MachineKind::Q35, VirtioTransport::Pci) => Ok(()),
            (arch, machine, virtio) => anyhow::bail!(
                "no such configuration: --arch {} --machine {:?} --virtio {:?} (aarch64: virt with mmio or pci; x86_64: microvm with mmio, q35 with pci)",
                arch.name(),
                machine,
                virtio
            ),
        }
    }
}
