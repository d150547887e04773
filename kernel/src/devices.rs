// SPDX-License-Identifier: MIT OR Apache-2.0
//! Finding the machine's devices and reporting them in the boot log.

use alloc::vec::Vec;
use hal::virtio::{probe_block_devices, BlockDevice, Location, SECTOR_SIZE};
use hal::BootInfo;

/// Probes every virtio block device; logs each, or that there is none.
pub fn probe(boot: &BootInfo) -> Vec<BlockDevice> {
    let disks = probe_block_devices(boot);
    for (index, disk) in disks.iter().enumerate() {
        let sectors = disk.capacity_sectors();
        let place = match disk.location() {
            Location::Mmio(base) => alloc::format!("virtio-mmio@{:#x}", base),
            Location::Pci(bus, device, function) => {
                alloc::format!("pci {:02x}:{:02x}.{}", bus, device, function)
            }
        };
        log::info!(
            "virtio-blk{}: {}, capacity {} sectors ({} bytes){}",
            index,
            place,
            sectors,
            sectors * SECTOR_SIZE as u64,
            if disk.is_read_only() {
                ", read-only"
            } else {
                ""
            }
        );
    }
    if disks.is_empty() {
        log::warn!("no virtio-blk disk found: attach one with -drive if=none,id=d,file=IMAGE -device virtio-blk-device,drive=d (virtio-blk-pci on a PCI machine)");
    }
    disks
}
