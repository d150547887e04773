// SPDX-License-Identifier: MIT OR Apache-2.0
//! Reading the machine's description from the flattened device tree.
//!
//! Everything Manux needs to know about an AArch64 machine comes from here,
//! through the `fdt` crate: RAM, reserved ranges, the console UART, the GIC
//! and its version, the timer's interrupt, the PSCI conduit, virtio-mmio
//! slots and `/chosen/bootargs`. Nothing the tree says is hard-coded. The
//! tree stays in RAM for the kernel's life (its strings are borrowed by
//! [`BootInfo`]), so its range is reserved.
//!
//! Interrupt specifiers for the GIC are three cells, `<type number flags>`
//! (Linux `Documentation/devicetree/bindings/interrupt-controller/arm,gic.yaml`):
//! type 0 is an SPI (interrupt ID = number + 32), type 1 a PPI (ID = number + 16).

use super::boot::LINEAR_OFFSET;
use super::gic::{GicConfig, GicVersion};
use super::psci::Conduit;
use crate::boot_info::{BootInfo, FixedList, MemoryRange, PciHostBridge, VirtioMmioSlot};
use fdt::node::FdtNode;
use fdt::Fdt;

/// What the device tree says, as the boot code needs it.
pub struct Machine {
    /// The neutral part handed to the kernel.
    pub boot: BootInfo,
    /// Where the tree itself lies (to be reserved).
    pub device_tree: MemoryRange,
    /// `/memreserve/` entries and `/reserved-memory` children. Under UEFI
    /// the boot program (`hal/uefi-stub`) lists every range the firmware
    /// keeps here, up to 64 after merging neighbours: room for all of them.
    pub reserved: FixedList<MemoryRange, 64>,
    /// The console PL011's registers.
    pub uart: MemoryRange,
    /// The PL031 real-time clock's registers, if the machine has one.
    pub rtc: Option<MemoryRange>,
    /// The console UART's interrupt ID.
    pub uart_interrupt: u32,
    /// The interrupt controller.
    pub gic: GicConfig,
    /// Interrupt ID of the EL1 virtual timer.
    pub timer_interrupt: u32,
    /// How to call PSCI.
    pub psci_conduit: Conduit,
}

/// Why the tree could not be used.
#[derive(Debug)]
pub enum DeviceTreeError {
    /// No `0xd00dfeed` magic at the address.
    NoTree,
    /// The `fdt` crate refused it.
    Malformed,
    /// A node Manux cannot run without is missing.
    Missing(
        #[allow(
            dead_code,
            reason = "for a debugger: no console exists yet when parsing fails"
        )]
        &'static str,
    ),
}

const FDT_MAGIC: u32 = 0xd00d_feed;
/// Larger trees than this are not plausible for a virtual machine.
const MAX_TREE_SIZE: usize = 2 << 20;

/// Parses the tree at physical address `physical`.
pub fn parse(physical: u64) -> Result<Machine, DeviceTreeError> {
    let base = (physical + LINEAR_OFFSET) as *const u8;
    // SAFETY: the boot table maps the low 4 GiB of physical memory at
    // LINEAR_OFFSET, and QEMU puts the tree in RAM there; an 8-byte header
    // read is in bounds of any mapped page-aligned region that starts with
    // the magic (checked next) and of RAM in general.
    let header = unsafe { core::ptr::read_volatile(base as *const [u8; 8]) };
    let magic = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
    let total = u32::from_be_bytes([header[4], header[5], header[6], header[7]]) as usize;
    if magic != FDT_MAGIC || !(40..=MAX_TREE_SIZE).contains(&total) {
        return Err(DeviceTreeError::NoTree);
    }
    // SAFETY: the header says the blob is `total` bytes (bounded above); it
    // lies in RAM mapped by the boot table, and that memory is reserved for
    // the tree for the kernel's whole life, so a `'static` shared slice is
    // sound: nothing writes it.
    let bytes: &'static [u8] = unsafe { core::slice::from_raw_parts(base, total) };
    let tree = Fdt::new(bytes).map_err(|_| DeviceTreeError::Malformed)?;
    let mut boot = BootInfo {
        ram: FixedList::new(),
        free_memory: FixedList::new(),
        heap: MemoryRange::default(),
        command_line: "",
        virtio_mmio: FixedList::new(),
        pci: FixedList::new(),
        machine: "",
        truncated: false,
        unix_time: None,
    };
    boot.machine = leak_str(tree.root().model());
    boot.command_line = tree.chosen().bootargs().map(leak_str).unwrap_or("");

    for region in tree.memory().regions() {
        let range = MemoryRange {
            start: region.starting_address as u64,
            size: region.size.unwrap_or(0) as u64,
        };
        if range.size > 0 {
            boot.truncated |= !boot.ram.push(range);
            boot.truncated |= !boot.free_memory.push(range);
        }
    }
    if boot.ram.as_slice().is_empty() {
        return Err(DeviceTreeError::Missing("/memory"));
    }

    let mut reserved = FixedList::new();
    for entry in tree.memory_reservations() {
        let range = MemoryRange {
            start: entry.address() as u64,
            size: entry.size() as u64,
        };
        boot.truncated |= !reserved.push(range);
    }
    if let Some(node) = tree.find_node("/reserved-memory") {
        for child in node.children() {
            for region in child.reg().into_iter().flatten() {
                let range = MemoryRange {
                    start: region.starting_address as u64,
                    size: region.size.unwrap_or(0) as u64,
                };
                boot.truncated |= !reserved.push(range);
            }
        }
    }

    let uart_node = tree
        .chosen()
        .stdout()
        .or_else(|| tree.find_compatible(&["arm,pl011"]))
        .ok_or(DeviceTreeError::Missing("a PL011 UART"))?;
    let uart = first_reg(uart_node).ok_or(DeviceTreeError::Missing("the UART's reg"))?;
    let uart_interrupt = interrupt_ids(uart_node).next().unwrap_or(0);

    let gic = find_gic(&tree)?;
    let timer = tree
        .find_compatible(&["arm,armv8-timer", "arm,armv7-timer"])
        .ok_or(DeviceTreeError::Missing("the architected timer"))?;
    // The binding lists secure physical, non-secure physical, virtual and
    // hypervisor timers, in that order; Manux uses the virtual one.
    let timer_interrupt = interrupt_ids(timer)
        .nth(2)
        .ok_or(DeviceTreeError::Missing("the virtual timer's interrupt"))?;

    let psci_conduit = match tree
        .find_compatible(&["arm,psci-1.0", "arm,psci-0.2", "arm,psci"])
        .and_then(|node| node.property("method"))
        .and_then(|method| method.as_str())
    {
        Some("smc") => Conduit::Smc,
        Some("hvc") => Conduit::Hvc,
        _ => Conduit::None,
    };

    // virtio-mmio slots, highest address first: QEMU gives the first
    // `-device` the highest free transport, so this is `-device` order
    // (and the x86_64 port's `microvm` order).
    for node in tree.all_nodes() {
        let is_virtio = node
            .compatible()
            .map(|c| c.all().any(|name| name == "virtio,mmio"))
            .unwrap_or(false);
        if !is_virtio {
            continue;
        }
        if let (Some(reg), Some(interrupt)) = (first_reg(node), interrupt_ids(node).next()) {
            let slot = VirtioMmioSlot {
                base: reg.start,
                size: reg.size,
                interrupt,
            };
            let slots = boot.virtio_mmio.as_slice();
            let position = slots
                .iter()
                .position(|s| s.base < slot.base)
                .unwrap_or(slots.len());
            boot.truncated |= !boot.virtio_mmio.insert(position, slot);
        }
    }

    if let Some(bridge) = tree.find_compatible(&["pci-host-ecam-generic"]) {
        if let Some(host) = pci_host_bridge(bridge) {
            boot.truncated |= !boot.pci.push(host);
        }
    }

    Ok(Machine {
        boot,
        device_tree: MemoryRange {
            start: physical,
            size: total as u64,
        },
        reserved,
        uart,
        rtc: tree.find_compatible(&["arm,pl031"]).and_then(first_reg),
        uart_interrupt,
        gic,
        timer_interrupt,
        psci_conduit,
    })
}

/// The tree is never freed or written, so its strings live forever.
fn leak_str(text: &str) -> &'static str {
    // SAFETY: `text` borrows from the `'static` slice built in `parse`; the
    // `Fdt` wrapper only shortened the lifetime, the bytes stay put.
    unsafe { core::mem::transmute::<&str, &'static str>(text) }
}

fn first_reg(node: FdtNode<'_, '_>) -> Option<MemoryRange> {
    let region = node.reg()?.next()?;
    Some(MemoryRange {
        start: region.starting_address as u64,
        size: region.size.unwrap_or(0) as u64,
    })
}

/// Interrupt IDs of a node whose parent is the GIC (three-cell specifiers).
fn interrupt_ids<'a>(node: FdtNode<'_, 'a>) -> impl Iterator<Item = u32> + 'a {
    let value: &'a [u8] = node.property("interrupts").map(|p| p.value).unwrap_or(&[]);
    value.chunks_exact(12).map(|cells| {
        let cell =
            |i: usize| u32::from_be_bytes([cells[i], cells[i + 1], cells[i + 2], cells[i + 3]]);
        match cell(0) {
            0 => cell(4) + 32,
            _ => cell(4) + 16,
        }
    })
}

fn find_gic(tree: &Fdt<'_>) -> Result<GicConfig, DeviceTreeError> {
    if let Some(node) = tree.find_compatible(&["arm,gic-v3"]) {
        let mut regs = node
            .reg()
            .ok_or(DeviceTreeError::Missing("the GICv3's reg"))?;
        let distributor = regs
            .next()
            .ok_or(DeviceTreeError::Missing("the GICv3 distributor"))?;
        let redistributor = regs
            .next()
            .ok_or(DeviceTreeError::Missing("the GICv3 redistributors"))?;
        return Ok(GicConfig {
            version: GicVersion::V3,
            distributor: MemoryRange {
                start: distributor.starting_address as u64,
                size: distributor.size.unwrap_or(0x1_0000) as u64,
            },
            cpu_or_redistributor: MemoryRange {
                start: redistributor.starting_address as u64,
                size: redistributor.size.unwrap_or(0x2_0000) as u64,
            },
        });
    }
    let node = tree
        .find_compatible(&["arm,cortex-a15-gic", "arm,gic-400", "arm,cortex-a9-gic"])
        .ok_or(DeviceTreeError::Missing(
            "a GICv2 or GICv3 interrupt controller",
        ))?;
    let mut regs = node
        .reg()
        .ok_or(DeviceTreeError::Missing("the GICv2's reg"))?;
    let distributor = regs
        .next()
        .ok_or(DeviceTreeError::Missing("the GICv2 distributor"))?;
    let cpu = regs
        .next()
        .ok_or(DeviceTreeError::Missing("the GICv2 CPU interface"))?;
    Ok(GicConfig {
        version: GicVersion::V2,
        distributor: MemoryRange {
            start: distributor.starting_address as u64,
            size: distributor.size.unwrap_or(0x1_0000) as u64,
        },
        cpu_or_redistributor: MemoryRange {
            start: cpu.starting_address as u64,
            size: cpu.size.unwrap_or(0x1_0000) as u64,
        },
    })
}

/// A generic ECAM host bridge: `reg` is the configuration window,
/// `bus-range` its buses, `ranges` the windows BARs may use
/// (Linux `Documentation/devicetree/bindings/pci/host-generic-pci.yaml`).
fn pci_host_bridge(node: FdtNode<'_, '_>) -> Option<PciHostBridge> {
    let ecam = first_reg(node)?;
    let mut host = PciHostBridge {
        ecam,
        first_bus: 0,
        last_bus: 0,
        ..Default::default()
    };
    let cell = |bytes: &[u8], i: usize| -> u32 {
        bytes
            .get(i * 4..i * 4 + 4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
            .unwrap_or(0)
    };
    match node.property("bus-range") {
        Some(range) => {
            host.first_bus = cell(range.value, 0).min(255) as u8;
            host.last_bus = cell(range.value, 1).min(255) as u8;
        }
        None => host.last_bus = ((ecam.size >> 20).saturating_sub(1)).min(255) as u8,
    }
    // `ranges` entries: 3 cells PCI address (the first says the space),
    // 2 cells CPU address, 2 cells size.
    let ranges = node.property("ranges")?.value;
    for entry in ranges.chunks_exact(28) {
        let space = (cell(entry, 0) >> 24) & 3;
        let cpu = (u64::from(cell(entry, 3)) << 32) | u64::from(cell(entry, 4));
        let size = (u64::from(cell(entry, 5)) << 32) | u64::from(cell(entry, 6));
        match space {
            2 => host.memory_window = MemoryRange { start: cpu, size },
            3 => host.memory_window_64 = MemoryRange { start: cpu, size },
            _ => {}
        }
    }
    Some(host)
}
