// SPDX-License-Identifier: MIT OR Apache-2.0
//! PCI: finding virtio devices behind an ECAM host bridge.
//!
//! Both architectures reach PCI configuration space the same way: the
//! Enhanced Configuration Access Mechanism, a memory window with 4 KiB per
//! function, bus `b` device `d` function `f` at offset
//! `(b << 20) | (d << 15) | (f << 12)` (*PCI Express Base Specification*
//! 4.0, §7.2.2). The host bridge's window comes from the device tree on
//! AArch64 and from the ACPI MCFG on x86_64 ([`PciHostBridge`]).
//! `virtio-drivers`' PCI transport does the rest through the
//! [`ConfigurationAccess`] implemented here.
//!
//! This module:
//! 1. maps the configuration space of each bus it scans (1 MiB per bus,
//!    on demand, so a 256 MiB window costs no more than the buses in use),
//!    starting at the bridge's first bus and following PCI-to-PCI bridges
//!    whose secondary bus the firmware numbered;
//! 2. gives unassigned memory BARs of the virtio devices it finds an
//!    address from the bridge's memory windows. On AArch64 `virt` no
//!    firmware ran, so every BAR is unassigned; on x86 `q35` SeaBIOS
//!    assigned them all before the PVH ROM started the kernel, and the
//!    MCFG names no window, so nothing is moved. Allocation is a bump
//!    pointer per window, aligned to the BAR's size (BAR sizes are powers
//!    of two, §7.5.1.2.1), at least a page so no two devices share a page;
//! 3. enables memory decoding and bus mastering (DMA) and builds the
//!    transport.
//!
//! Limitations: interrupts are not routed (legacy INTx needs the device
//! tree's `interrupt-map` or ACPI's `_PRT`; MSI-X is later work): the
//! devices are polled. Buses behind bridges the firmware did not number
//! are not scanned. Only I/O-space BARs are never assigned: virtio 1.x
//! uses memory BARs.

use crate::arch::mmu;
use crate::boot_info::{MemoryRange, PciHostBridge};
use crate::virtio::VirtioHal;
use alloc::vec::Vec;
use core::ptr::{read_volatile, write_volatile};
use virtio_drivers::transport::pci::bus::{
    BarInfo, Command, ConfigurationAccess, DeviceFunction, HeaderType, MemoryBarType, PciRoot,
};
use virtio_drivers::transport::pci::{virtio_device_type, PciTransport, VirtioPciError};
use virtio_drivers::transport::DeviceType;

/// Bytes of configuration space per bus.
const BUS_WINDOW: u64 = 1 << 20;
/// The value a read of a missing function returns.
const NO_DEVICE: u32 = 0xffff_ffff;
/// Configuration offset of a bridge's primary/secondary/subordinate bus
/// numbers (PCI-to-PCI Bridge Architecture Specification 1.2, §3.2).
const BRIDGE_BUS_NUMBERS: u8 = 0x18;

/// Configuration access through a mapped ECAM window, bus by bus.
pub(crate) struct EcamAccess {
    /// The first bus of the window.
    first_bus: u8,
    /// The last bus of the window.
    last_bus: u8,
    /// Physical address of the window (the first bus's space).
    physical: u64,
    /// Virtual address of each bus's 1 MiB, or 0 while not mapped.
    bus_windows: [u64; 256],
}

impl EcamAccess {
    /// An access with nothing mapped yet: every read answers "no device"
    /// until [`Self::map_bus`] has mapped the bus.
    fn new(bridge: &PciHostBridge) -> Self {
        EcamAccess {
            first_bus: bridge.first_bus,
            last_bus: bridge.last_bus,
            physical: bridge.ecam.start,
            bus_windows: [0; 256],
        }
    }

    /// Maps bus `bus`'s configuration space; `false` when the bus is
    /// outside the window or the mapping failed.
    fn map_bus(&mut self, bus: u8) -> bool {
        // A bridge may claim a secondary bus beyond the window (firmware
        // bug, or a hostile device): such a bus cannot be reached.
        if bus < self.first_bus || bus > self.last_bus {
            return false;
        }
        // Map once; a failed mapping (0) is retried on the next call.
        if self.bus_windows[usize::from(bus)] == 0 {
            let physical = self.physical + u64::from(bus - self.first_bus) * BUS_WINDOW;
            self.bus_windows[usize::from(bus)] = mmu::map_device(physical, BUS_WINDOW);
        }
        self.bus_windows[usize::from(bus)] != 0
    }

    /// The virtual address of a register, if its bus is mapped.
    fn register(&self, device_function: DeviceFunction, offset: u8) -> Option<u64> {
        // Unmapped bus, or a device/function number the ECAM layout has
        // no room for (5 and 3 bits): no register, so reads give all ones
        // exactly as an empty slot does.
        let base = self.bus_windows[usize::from(device_function.bus)];
        if base == 0 || device_function.device >= 32 || device_function.function >= 8 {
            return None;
        }
        // Registers are 32-bit; the low two bits of the offset select a
        // byte within one, which whole-word access ignores.
        let offset = (u64::from(device_function.device) << 15)
            | (u64::from(device_function.function) << 12)
            | u64::from(offset & !3);
        Some(base + offset)
    }
}

impl ConfigurationAccess for EcamAccess {
    fn read_word(&self, device_function: DeviceFunction, register_offset: u8) -> u32 {
        match self.register(device_function, register_offset) {
            // SAFETY: `register` returns an aligned address inside a bus
            // window that `map_bus` mapped as device memory and that stays
            // mapped for the kernel's life; configuration reads have no
            // side effects on memory.
            Some(address) => unsafe { read_volatile(address as *const u32) },
            None => NO_DEVICE,
        }
    }

    fn write_word(&mut self, device_function: DeviceFunction, register_offset: u8, data: u32) {
        if let Some(address) = self.register(device_function, register_offset) {
            // SAFETY: as in `read_word`. A configuration write changes the
            // device's setup (BARs, command), which is what the callers in
            // this module and in virtio-drivers intend.
            unsafe { write_volatile(address as *mut u32, data) }
        }
    }

    // A copy of the window table: both copies reach the same mapped
    // configuration space, which is what the trait's contract describes.
    unsafe fn unsafe_clone(&self) -> Self {
        EcamAccess {
            first_bus: self.first_bus,
            last_bus: self.last_bus,
            physical: self.physical,
            bus_windows: self.bus_windows,
        }
    }
}

/// Hands out addresses from a host bridge's memory windows. A bump
/// pointer per window: BARs are assigned once, at boot, and never freed.
struct BarAllocator {
    window_32: MemoryRange,
    next_32: u64,
    window_64: MemoryRange,
    next_64: u64,
}

impl BarAllocator {
    fn new(bridge: &PciHostBridge) -> Self {
        BarAllocator {
            window_32: bridge.memory_window,
            next_32: bridge.memory_window.start,
            window_64: bridge.memory_window_64,
            next_64: bridge.memory_window_64.start,
        }
    }

    /// An address for a BAR of `size` bytes: from the 32-bit window, or —
    /// for a 64-bit BAR when that is full — from the 64-bit window.
    fn allocate(&mut self, size: u64, is_64_bit: bool) -> Option<u64> {
        // BARs decode naturally aligned addresses (the low bits of a BAR
        // are hard-wired to zero), so align to the size; at least a page,
        // so `map_device` never shares a page between two devices.
        let alignment = size.max(4096).checked_next_power_of_two()?;
        let take = |next: &mut u64, window: &MemoryRange| -> Option<u64> {
            if window.size == 0 {
                return None;
            }
            let start = next.checked_add(alignment - 1)? & !(alignment - 1);
            let end = start.checked_add(size)?;
            if end > window.end() {
                return None;
            }
            *next = end;
            Some(start)
        };
        // Prefer the 32-bit window even for 64-bit BARs: its mappings are
        // cheaper and every BAR type can use it.
        let low =
            take(&mut self.next_32, &self.window_32).filter(|address| address + size <= 1 << 32);
        match low {
            Some(address) => Some(address),
            None if is_64_bit => take(&mut self.next_64, &self.window_64),
            None => None,
        }
    }
}

/// Why a device was skipped.
#[derive(Debug)]
pub(crate) enum PciProbeError {
    /// A memory BAR is unassigned and no window has room for it.
    NoBarSpace(u8),
    /// The BARs could not be read.
    Bars,
    /// virtio-drivers refused the transport.
    Transport(VirtioPciError),
}

impl core::fmt::Display for PciProbeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            PciProbeError::NoBarSpace(index) => {
                write!(
                    f,
                    "BAR {} is unassigned and the host bridge has no room for it",
                    index
                )
            }
            PciProbeError::Bars => write!(f, "its BARs cannot be read"),
            PciProbeError::Transport(error) => write!(f, "{}", error),
        }
    }
}

/// A virtio block function found on a bridge.
pub(crate) struct FoundFunction {
    /// Bus, device, function.
    pub location: DeviceFunction,
    /// The transport, or why there is none.
    pub transport: Result<PciTransport, PciProbeError>,
}

/// Gives every unassigned memory BAR of `device_function` an address.
fn assign_bars(
    root: &mut PciRoot<EcamAccess>,
    device_function: DeviceFunction,
    allocator: &mut BarAllocator,
) -> Result<(), PciProbeError> {
    // `bars` sizes each BAR (write all ones, read back, restore: PCIe
    // Base Spec §7.5.1.2.1) with decoding off; 64-bit BARs span two slots.
    let bars = root
        .bars(device_function)
        .map_err(|_| PciProbeError::Bars)?;
    for (index, bar) in bars.iter().enumerate() {
        let index = index as u8;
        let Some(BarInfo::Memory {
            address_type,
            address,
            size,
            ..
        }) = bar
        else {
            continue;
        };
        // Assigned by firmware, or not implemented: leave it.
        if *address != 0 || *size == 0 {
            continue;
        }
        let is_64_bit = *address_type == MemoryBarType::Width64;
        let assigned = allocator
            .allocate(*size, is_64_bit)
            .ok_or(PciProbeError::NoBarSpace(index))?;
        if is_64_bit {
            root.set_bar_64(device_function, index, assigned);
        } else {
            root.set_bar_32(device_function, index, assigned as u32);
        }
    }
    Ok(())
}

/// Finds every virtio block function behind `bridge`, makes its BARs
/// usable, and builds its transport.
pub(crate) fn virtio_block_functions(bridge: &PciHostBridge) -> Vec<FoundFunction> {
    // First pass: walk the buses (a work list, each bus once) and note the
    // virtio block functions. Second pass: configure them, through the one
    // `PciRoot` that may write configuration space.
    let mut found = Vec::new();
    let mut access = EcamAccess::new(bridge);
    let mut pending: Vec<u8> = Vec::new();
    let mut seen = [false; 256];
    pending.push(bridge.first_bus);
    let mut functions = Vec::new();
    while let Some(bus) = pending.pop() {
        if seen[usize::from(bus)] || !access.map_bus(bus) {
            continue;
        }
        seen[usize::from(bus)] = true;
        // SAFETY: the clone only reads (vendor, class, header type) while
        // enumerating, which is the contract of `unsafe_clone`.
        let reader = PciRoot::new(unsafe { access.unsafe_clone() });
        for (device_function, info) in reader.enumerate_bus(bus) {
            if info.header_type == HeaderType::PciPciBridge {
                let numbers = access.read_word(device_function, BRIDGE_BUS_NUMBERS);
                let secondary = (numbers >> 8) as u8;
                if secondary > bus && !seen[usize::from(secondary)] {
                    pending.push(secondary);
                }
            } else if virtio_device_type(&info) == Some(DeviceType::Block) {
                functions.push(device_function);
            }
        }
    }
    functions.sort();
    let mut root = PciRoot::new(access);
    let mut allocator = BarAllocator::new(bridge);
    for device_function in functions {
        // Addresses first, then decoding and DMA on (a BAR must not decode
        // before it holds its final address), then the transport, which
        // reads the virtio capabilities and maps the BAR regions.
        let transport = assign_bars(&mut root, device_function, &mut allocator).and_then(|()| {
            let (_, command) = root.get_status_command(device_function);
            root.set_command(
                device_function,
                command | Command::MEMORY_SPACE | Command::BUS_MASTER,
            );
            PciTransport::new::<VirtioHal, _>(&mut root, device_function)
                .map_err(PciProbeError::Transport)
        });
        found.push(FoundFunction {
            location: device_function,
            transport,
        });
    }
    found
}
