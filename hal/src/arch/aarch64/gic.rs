// SPDX-License-Identifier: MIT OR Apache-2.0
//! The Arm Generic Interrupt Controller, versions 2 and 3.
//!
//! The device tree says which one the machine has (QEMU `virt` defaults to
//! GICv2; `-M virt,gic-version=3` gives GICv3). Both are driven the same
//! way: the distributor routes shared peripheral interrupts (SPIs, IDs
//! 32–1019) to this CPU, and private peripheral interrupts (PPIs, IDs
//! 16–31, such as the timer) are enabled per CPU — in the distributor on
//! GICv2, in the redistributor's SGI frame on GICv3. Acknowledge and end of
//! interrupt go through the memory-mapped CPU interface on GICv2 and the
//! `ICC_*` system registers on GICv3.
//!
//! Register offsets: *Arm GIC Architecture Specification* (IHI 0048B for
//! v2, IHI 0069 for v3), §4.1 and §12.

use super::mmu;
use crate::boot_info::MemoryRange;
use core::ptr::{read_volatile, write_volatile};
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Which architecture version the controller implements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GicVersion {
    /// GICv2: memory-mapped CPU interface.
    V2,
    /// GICv3: system-register CPU interface and redistributors.
    V3,
}

/// Where the controller's registers are.
#[derive(Clone, Copy, Debug)]
pub struct GicConfig {
    /// The version.
    pub version: GicVersion,
    /// The distributor (GICD).
    pub distributor: MemoryRange,
    /// The CPU interface (GICC, v2) or the first redistributor (GICR, v3).
    pub cpu_or_redistributor: MemoryRange,
}

// Distributor registers.
const GICD_CTLR: u64 = 0x000;
const GICD_IGROUPR: u64 = 0x080;
const GICD_ISENABLER: u64 = 0x100;
const GICD_IPRIORITYR: u64 = 0x400;
const GICD_ITARGETSR: u64 = 0x800;
const GICD_IROUTER: u64 = 0x6000;
// GICv2 CPU interface.
const GICC_CTLR: u64 = 0x00;
const GICC_PMR: u64 = 0x04;
const GICC_IAR: u64 = 0x0c;
const GICC_EOIR: u64 = 0x10;
// GICv3 redistributor: RD frame, then the SGI frame 64 KiB above.
const GICR_WAKER: u64 = 0x0014;
const GICR_SGI_FRAME: u64 = 0x1_0000;

/// Interrupt IDs at or above this are "spurious" (no interrupt pending).
pub const SPURIOUS: u32 = 1020;
/// The priority given to every interrupt we enable (lower is more urgent).
const PRIORITY: u8 = 0xa0;

static IS_V3: AtomicBool = AtomicBool::new(false);
static DISTRIBUTOR: AtomicU64 = AtomicU64::new(0);
static CPU_INTERFACE: AtomicU64 = AtomicU64::new(0);
static REDISTRIBUTOR: AtomicU64 = AtomicU64::new(0);

fn read32(address: u64) -> u32 {
    // SAFETY: `address` is inside a GIC register frame mapped as device
    // memory by `init`; 32-bit aligned accesses are what the GIC requires.
    unsafe { read_volatile(address as *const u32) }
}

fn write32(address: u64, value: u32) {
    // SAFETY: as in `read32`.
    unsafe { write_volatile(address as *mut u32, value) }
}

fn write8(address: u64, value: u8) {
    // SAFETY: as in `read32`; priority and target registers are
    // byte-accessible (IHI 0048B §4.3.11, IHI 0069 §12.9.21).
    unsafe { write_volatile(address as *mut u8, value) }
}

fn write64(address: u64, value: u64) {
    // SAFETY: as in `read32`; GICD_IROUTER<n> are 64-bit registers.
    unsafe { write_volatile(address as *mut u64, value) }
}

/// Maps and enables the controller for this CPU, all interrupts masked at
/// the CPU until [`crate::Architecture::enable_interrupts`].
pub fn init(config: &GicConfig) {
    let distributor = mmu::map_device(
        config.distributor.start,
        config.distributor.size.max(0x1_0000),
    );
    DISTRIBUTOR.store(distributor, Ordering::Relaxed);
    match config.version {
        GicVersion::V2 => {
            let cpu = mmu::map_device(
                config.cpu_or_redistributor.start,
                config.cpu_or_redistributor.size.max(0x2000),
            );
            CPU_INTERFACE.store(cpu, Ordering::Relaxed);
            write32(distributor + GICD_CTLR, 1);
            write32(cpu + GICC_PMR, 0xff);
            write32(cpu + GICC_CTLR, 1);
        }
        GicVersion::V3 => {
            IS_V3.store(true, Ordering::Relaxed);
            let redistributor = mmu::map_device(config.cpu_or_redistributor.start, 0x2_0000);
            REDISTRIBUTOR.store(redistributor, Ordering::Relaxed);
            // ARE (affinity routing, bit 4) and both group enables (bits 0, 1).
            write32(distributor + GICD_CTLR, (1 << 4) | 0b11);
            // Wake the redistributor: clear ProcessorSleep, wait for
            // ChildrenAsleep to clear (IHI 0069 §12.11.41).
            let waker = read32(redistributor + GICR_WAKER) & !(1 << 1);
            write32(redistributor + GICR_WAKER, waker);
            let mut tries = 0u32;
            while read32(redistributor + GICR_WAKER) & (1 << 2) != 0 && tries < 1_000_000 {
                tries += 1;
                core::hint::spin_loop();
            }
            // SAFETY: ICC_SRE_EL1.SRE = 1 selects the system-register
            // interface; ICC_PMR_EL1 = 0xff lets every priority through;
            // ICC_IGRPEN1_EL1 = 1 enables group-1 interrupts. None touches
            // memory.
            unsafe {
                core::arch::asm!(
                    "mrs {t}, icc_sre_el1",
                    "orr {t}, {t}, #1",
                    "msr icc_sre_el1, {t}",
                    "isb",
                    "mov {t}, #0xff",
                    "msr icc_pmr_el1, {t}",
                    "mov {t}, #1",
                    "msr icc_igrpen1_el1, {t}",
                    "isb",
                    t = out(reg) _,
                );
            }
        }
    }
}

/// Enables interrupt `id` (a PPI or an SPI), routed to this CPU.
pub fn enable(id: u32) {
    if !(16..SPURIOUS).contains(&id) {
        return;
    }
    let distributor = DISTRIBUTOR.load(Ordering::Relaxed);
    let word = u64::from(id / 32) * 4;
    let bit = 1u32 << (id % 32);
    if IS_V3.load(Ordering::Relaxed) {
        if id < 32 {
            let sgi = REDISTRIBUTOR.load(Ordering::Relaxed) + GICR_SGI_FRAME;
            write32(sgi + GICD_IGROUPR, read32(sgi + GICD_IGROUPR) | bit);
            write8(sgi + GICD_IPRIORITYR + u64::from(id), PRIORITY);
            write32(sgi + GICD_ISENABLER, bit);
        } else {
            write32(
                distributor + GICD_IGROUPR + word,
                read32(distributor + GICD_IGROUPR + word) | bit,
            );
            write8(distributor + GICD_IPRIORITYR + u64::from(id), PRIORITY);
            write64(distributor + GICD_IROUTER + u64::from(id) * 8, 0);
            write32(distributor + GICD_ISENABLER + word, bit);
        }
    } else {
        write8(distributor + GICD_IPRIORITYR + u64::from(id), PRIORITY);
        if id >= 32 {
            write8(distributor + GICD_ITARGETSR + u64::from(id), 1);
        }
        write32(distributor + GICD_ISENABLER + word, bit);
    }
}

/// Acknowledges the highest-priority pending interrupt; returns its ID
/// (`>= SPURIOUS` when none).
pub fn acknowledge() -> u32 {
    if IS_V3.load(Ordering::Relaxed) {
        let id: u64;
        // SAFETY: reading ICC_IAR1_EL1 acknowledges the interrupt; no memory access.
        unsafe { core::arch::asm!("mrs {}, icc_iar1_el1", out(reg) id) };
        (id & 0xff_ffff) as u32
    } else {
        read32(CPU_INTERFACE.load(Ordering::Relaxed) + GICC_IAR) & 0x3ff
    }
}

/// Signals the end of interrupt `id`.
pub fn end_of_interrupt(id: u32) {
    if IS_V3.load(Ordering::Relaxed) {
        // SAFETY: writing ICC_EOIR1_EL1 drops the running priority; no memory access.
        unsafe { core::arch::asm!("msr icc_eoir1_el1, {}", in(reg) u64::from(id)) };
    } else {
        write32(CPU_INTERFACE.load(Ordering::Relaxed) + GICC_EOIR, id);
    }
}
