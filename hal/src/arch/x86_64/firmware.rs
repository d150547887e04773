// SPDX-License-Identifier: MIT OR Apache-2.0
//! Reading the machine's description from the ACPI tables.
//!
//! On x86 the firmware's machine description is ACPI. The `acpi` crate
//! finds and checksums the tables from the RSDP (whose address the PVH
//! start info gives, or which it finds in the BIOS areas itself); this
//! module pulls out what Manux needs:
//! - **MCFG** (*PCI Firmware Specification* 3.2, §4.1.2): the PCI Express
//!   ECAM windows, one per segment and bus range → [`PciHostBridge`];
//! - **MADT** (ACPI 6.5 §5.2.12): the local APIC's address, every I/O APIC
//!   with its first GSI, and the ISA interrupt source overrides;
//! - **FADT** (ACPI 6.5 §5.2.9): whether the platform is "hardware-reduced"
//!   (`microvm`), and the registers that power it off — the sleep control
//!   register on hardware-reduced platforms, the PM1a control block
//!   elsewhere.
//!
//! Nothing here interprets AML: the power-off sleep type is the one QEMU's
//! `\_S5` declares (see [`super::power`]). A machine without ACPI
//! (`microvm` with `acpi=off`) gets the PC defaults: one I/O APIC at
//! `0xfec0_0000`, the local APIC at `0xfee0_0000`, no overrides.
//!
//! The tables are reached through [`super::mmu::map_firmware`], which maps
//! them read-only wherever they are; the mappings are kept (the tables are
//! small and few).

use super::mmu;
use crate::boot_info::{FixedList, MemoryRange, PciHostBridge};
use acpi::address::{AddressSpace, GenericAddress};
use acpi::fadt::Fadt;
use acpi::madt::{Madt, MadtEntry};
use acpi::mcfg::Mcfg;
use acpi::{AcpiHandler, AcpiTables, PhysicalMapping};
use core::ptr::NonNull;

/// The PC's default I/O APIC address (Intel 82093AA datasheet §3.0).
const DEFAULT_IO_APIC: u64 = 0xfec0_0000;
/// The PC's default local APIC address (Intel SDM Vol. 3A §11.4.1).
pub const DEFAULT_LOCAL_APIC: u64 = 0xfee0_0000;

/// Polarity of an interrupt line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Polarity {
    /// Asserted high (ISA's convention).
    #[default]
    ActiveHigh,
    /// Asserted low.
    ActiveLow,
}

/// Trigger mode of an interrupt line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Trigger {
    /// Edge-triggered (ISA's convention).
    #[default]
    Edge,
    /// Level-triggered.
    Level,
}

/// An I/O APIC from the MADT.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IoApicInfo {
    /// Physical address of its registers.
    pub address: u64,
    /// The first GSI it serves.
    pub gsi_base: u32,
}

/// An ISA interrupt wired differently from the identity mapping.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InterruptOverride {
    /// The ISA IRQ.
    pub isa_irq: u8,
    /// The GSI it arrives on.
    pub gsi: u32,
    /// Its polarity.
    pub polarity: Polarity,
    /// Its trigger mode.
    pub trigger: Trigger,
}

/// A register named by the FADT.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Register {
    /// An I/O port.
    Port(u16),
    /// A memory-mapped register at this physical address.
    Memory(u64),
}

/// What the ACPI tables say, as the x86_64 boot code needs it.
#[derive(Debug)]
pub struct Platform {
    /// Whether ACPI tables were found at all.
    pub has_acpi: bool,
    /// ACPI "hardware-reduced" platform (no PM1 blocks, no 8259 needed).
    pub hardware_reduced: bool,
    /// Physical address of the local APIC.
    pub local_apic: u64,
    /// The I/O APICs.
    pub io_apics: FixedList<IoApicInfo, 4>,
    /// ISA interrupt source overrides.
    pub overrides: FixedList<InterruptOverride, 16>,
    /// PCI Express host bridges (ECAM windows, segment 0 only).
    pub pci: FixedList<PciHostBridge, 2>,
    /// The hardware-reduced sleep control register (FADT `SLEEP_CONTROL_REG`).
    pub sleep_control: Option<Register>,
    /// The PM1a control block (FADT `X_PM1a_CNT_BLK` / `PM1a_CNT_BLK`).
    pub pm1a_control: Option<Register>,
    /// Set when the tables listed more than the lists hold.
    pub truncated: bool,
}

impl Platform {
    /// A PC without ACPI.
    fn defaults() -> Self {
        let mut io_apics = FixedList::new();
        io_apics.push(IoApicInfo {
            address: DEFAULT_IO_APIC,
            gsi_base: 0,
        });
        Platform {
            has_acpi: false,
            hardware_reduced: false,
            local_apic: DEFAULT_LOCAL_APIC,
            io_apics,
            overrides: FixedList::new(),
            pci: FixedList::new(),
            sleep_control: None,
            pm1a_control: None,
            truncated: false,
        }
    }
}

/// The `acpi` crate's window onto physical memory.
#[derive(Clone, Copy, Debug)]
struct FirmwareMapper;

impl AcpiHandler for FirmwareMapper {
    unsafe fn map_physical_region<T>(
        &self,
        physical_address: usize,
        size: usize,
    ) -> PhysicalMapping<Self, T> {
        let virtual_address = mmu::map_firmware(physical_address as u64, size as u64);
        let Some(pointer) = NonNull::new(virtual_address as *mut T) else {
            // Out of page tables while reading firmware tables at boot: the
            // machine is unusable, and returning would hand out a null
            // pointer.
            super::boot::fatal("out of page tables while mapping the ACPI tables")
        };
        // SAFETY: `map_firmware` mapped `[physical_address, +size)` (page-
        // rounded) readable at `virtual_address` for the kernel's life; the
        // caller (the `acpi` crate) promises a `T` lives there.
        unsafe { PhysicalMapping::new(physical_address, pointer, size, size, *self) }
    }

    fn unmap_physical_region<T>(_region: &PhysicalMapping<Self, T>) {
        // The mappings are kept: unmapping would need TLB shootdowns for
        // little gain, and nothing reads the tables after boot.
    }
}

/// Reads the ACPI tables. `rsdp` is the start info's `rsdp_paddr` (None
/// when it was 0: then the BIOS areas are searched, as on `microvm`'s
/// qboot, which the PVH option ROM may not have searched).
pub fn parse(rsdp: Option<u64>) -> Platform {
    // Start from the PC defaults; every table found overrides its part,
    // so a machine with a partial set of tables still gets a usable
    // description.
    let mut platform = Platform::defaults();
    let handler = FirmwareMapper;
    let tables = match rsdp {
        // SAFETY: the PVH start info's `rsdp_paddr` is the firmware's
        // statement that an RSDP lives there; the crate checks its
        // signature and checksum before trusting anything in it.
        Some(address) => unsafe { AcpiTables::from_rsdp(handler, address as usize) },
        // SAFETY: every machine this port boots on is a PC-compatible
        // BIOS platform (PVH comes from QEMU's BIOS option ROM), where the
        // EBDA and 0xe0000–0xfffff are readable memory.
        None => unsafe { AcpiTables::search_for_rsdp_bios(handler) },
    };
    // No RSDP, or a bad checksum: a machine without ACPI, with PC defaults.
    let Ok(tables) = tables else { return platform };
    platform.has_acpi = true;

    if let Ok(mcfg) = tables.find_table::<Mcfg>() {
        for entry in mcfg.entries() {
            let (segment, first, last, base) = (
                entry.pci_segment_group,
                entry.bus_number_start,
                entry.bus_number_end,
                entry.base_address,
            );
            if segment != 0 || last < first {
                continue;
            }
            // The MCFG's base address is that of bus 0 even when the range
            // starts later (PCI Firmware Spec 3.2, Table 4-3);
            // `PciHostBridge::ecam` starts at its first bus.
            let bridge = PciHostBridge {
                ecam: MemoryRange {
                    start: base + (u64::from(first) << 20),
                    size: (u64::from(last) - u64::from(first) + 1) << 20,
                },
                first_bus: first,
                last_bus: last,
                memory_window: MemoryRange::default(),
                memory_window_64: MemoryRange::default(),
            };
            platform.truncated |= !platform.pci.push(bridge);
        }
    }

    // The MADT's entries are variable-length records; the crate walks them.
    // Its fields are packed, hence the copies into locals before use.
    if let Ok(madt) = tables.find_table::<Madt>() {
        let madt = madt.get();
        let mut io_apics = FixedList::new();
        platform.local_apic = u64::from(madt.local_apic_address);
        for entry in madt.entries() {
            match entry {
                MadtEntry::IoApic(io_apic) => {
                    let (address, gsi_base) = (
                        io_apic.io_apic_address,
                        io_apic.global_system_interrupt_base,
                    );
                    platform.truncated |= !io_apics.push(IoApicInfo {
                        address: u64::from(address),
                        gsi_base,
                    });
                }
                MadtEntry::InterruptSourceOverride(entry) => {
                    let (bus, irq, gsi, flags) = (
                        entry.bus,
                        entry.irq,
                        entry.global_system_interrupt,
                        entry.flags,
                    );
                    if bus == 0 {
                        // MPS INTI flags (ACPI 6.5 Table 5.50): polarity
                        // in bits 0–1, trigger in bits 2–3; 0b11 means
                        // active low / level, 0b00 "as the bus says",
                        // which for ISA is active high / edge.
                        let isa_override = InterruptOverride {
                            isa_irq: irq,
                            gsi,
                            polarity: if flags & 0b11 == 0b11 {
                                Polarity::ActiveLow
                            } else {
                                Polarity::ActiveHigh
                            },
                            trigger: if (flags >> 2) & 0b11 == 0b11 {
                                Trigger::Level
                            } else {
                                Trigger::Edge
                            },
                        };
                        platform.truncated |= !platform.overrides.push(isa_override);
                    }
                }
                MadtEntry::LocalApicAddressOverride(entry) => {
                    platform.local_apic = entry.local_apic_address;
                }
                _ => {}
            }
        }
        // Keep the default I/O APIC unless the MADT named at least one.
        if !io_apics.as_slice().is_empty() {
            platform.io_apics = io_apics;
        }
    }

    // The FADT (signature "FACP"). The crate prefers the 64-bit X_ fields
    // and falls back to the ACPI 1.0 port numbers.
    if let Ok(fadt) = tables.find_table::<Fadt>() {
        let flags = fadt.flags;
        platform.hardware_reduced = flags.system_is_hw_reduced_acpi();
        platform.sleep_control = fadt
            .sleep_control_register()
            .ok()
            .flatten()
            .and_then(register);
        platform.pm1a_control = fadt.pm1a_control_block().ok().and_then(register);
    }
    if !platform.hardware_reduced {
        for bridge in platform.pci.as_mut_slice() {
            bridge.memory_window = pc_pci_hole(bridge.ecam);
        }
    }
    platform
}

/// The memory window for BARs the firmware left unassigned, on a PC
/// chipset (`q35`, not hardware-reduced `microvm`).
///
/// The window really is the host bridge's `_CRS` in the DSDT, which only
/// an AML interpreter can read. A PC chipset, though, forwards every
/// address of the 32-bit hole that nothing else claims to PCI; SeaBIOS
/// puts BARs between the ECAM window and the I/O APIC at `0xfec0_0000`,
/// and so does Manux. Only BARs that no firmware assigned are placed there
/// (SeaBIOS assigns all; QEMU's quieter `qboot` none), so the guess never
/// moves a device.
fn pc_pci_hole(ecam: MemoryRange) -> MemoryRange {
    const HOLE_END: u64 = DEFAULT_IO_APIC;
    const HOLE_START: u64 = 0xc000_0000;
    let start = ecam.end().max(HOLE_START);
    if start >= HOLE_END {
        return MemoryRange::default();
    }
    MemoryRange {
        start,
        size: HOLE_END - start,
    }
}

/// A FADT register, if it names a port or memory and is not empty.
fn register(address: GenericAddress) -> Option<Register> {
    match address.address_space {
        _ if address.address == 0 => None,
        AddressSpace::SystemIo => u16::try_from(address.address).ok().map(Register::Port),
        AddressSpace::SystemMemory => Some(Register::Memory(address.address)),
        _ => None,
    }
}
