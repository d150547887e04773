// SPDX-License-Identifier: MIT OR Apache-2.0
//! What the firmware told us, in one architecture-neutral shape.
//!
//! The architecture port builds a [`BootInfo`] from the device tree (AArch64)
//! or the PVH start info (x86_64) before any allocator exists, so every list
//! here has a fixed capacity. A machine that reports more entries than fit is
//! reported by [`BootInfo::truncated`] rather than silently cut.

use core::fmt;

/// A physical address range `[start, start + size)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemoryRange {
    /// First byte.
    pub start: u64,
    /// Length in bytes.
    pub size: u64,
}

impl MemoryRange {
    /// One past the last byte.
    pub fn end(&self) -> u64 {
        self.start.saturating_add(self.size)
    }
}

/// One virtio-mmio transport slot: a register window and its interrupt line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VirtioMmioSlot {
    /// Physical address of the register window.
    pub base: u64,
    /// Length of the window.
    pub size: u64,
    /// Interrupt line, in the numbering [`crate::Architecture::enable_device_interrupt`] takes.
    pub interrupt: u32,
}

/// A PCI host bridge with an ECAM configuration window.
///
/// Filled from the device tree's `pci-host-ecam-generic` node (AArch64) or
/// the ACPI MCFG (x86_64). A memory window of size 0 means the firmware did
/// not say: BARs are then used as the firmware assigned them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PciHostBridge {
    /// Physical address of the ECAM window. It starts at the configuration
    /// space of `first_bus` (bus `b` is at `start + ((b - first_bus) << 20)`).
    pub ecam: MemoryRange,
    /// First bus number the window covers.
    pub first_bus: u8,
    /// Last bus number the window covers.
    pub last_bus: u8,
    /// The 32-bit memory window for BARs.
    pub memory_window: MemoryRange,
    /// The 64-bit memory window for BARs (size 0 when absent).
    pub memory_window_64: MemoryRange,
}

/// A fixed-capacity list, usable before the heap exists.
#[derive(Clone, Copy)]
pub struct FixedList<T: Copy + Default, const N: usize> {
    items: [T; N],
    len: usize,
}

impl<T: Copy + Default, const N: usize> FixedList<T, N> {
    /// An empty list.
    pub fn new() -> Self {
        Self {
            items: [T::default(); N],
            len: 0,
        }
    }

    /// Appends `item`; returns `false` (and keeps the list) when full.
    pub fn push(&mut self, item: T) -> bool {
        match self.items.get_mut(self.len) {
            Some(slot) => {
                *slot = item;
                self.len += 1;
                true
            }
            None => false,
        }
    }

    /// The items pushed so far.
    pub fn as_slice(&self) -> &[T] {
        &self.items[..self.len]
    }

    /// The items pushed so far, mutably.
    pub fn as_mut_slice(&mut self) -> &mut [T] {
        &mut self.items[..self.len]
    }

    /// Removes the item at `index`, keeping order.
    pub fn remove(&mut self, index: usize) {
        if index < self.len {
            self.items.copy_within(index + 1..self.len, index);
            self.len -= 1;
        }
    }

    /// Inserts `item` at `index`; returns `false` when full.
    pub fn insert(&mut self, index: usize, item: T) -> bool {
        if self.len == N || index > self.len {
            return false;
        }
        self.items.copy_within(index..self.len, index + 1);
        self.items[index] = item;
        self.len += 1;
        true
    }
}

impl<T: Copy + Default, const N: usize> Default for FixedList<T, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Copy + Default + fmt::Debug, const N: usize> fmt::Debug for FixedList<T, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

/// Everything the kernel learns from the firmware.
#[derive(Debug)]
pub struct BootInfo {
    /// Every RAM range the firmware reports.
    pub ram: FixedList<MemoryRange, 16>,
    /// RAM the kernel may hand out as frames: `ram` minus the kernel image,
    /// the firmware's tables, reserved ranges, boot page tables and the
    /// kernel heap.
    pub free_memory: FixedList<MemoryRange, 32>,
    /// The range given to the kernel heap.
    pub heap: MemoryRange,
    /// The kernel command line (`/chosen/bootargs`, PVH `cmdline_paddr`).
    pub command_line: &'static str,
    /// virtio-mmio slots, in the firmware's order.
    pub virtio_mmio: FixedList<VirtioMmioSlot, 32>,
    /// PCI host bridges.
    pub pci: FixedList<PciHostBridge, 2>,
    /// A human-readable description of the machine (DTB `model`, …).
    pub machine: &'static str,
    /// Set when the firmware described more than a list could hold.
    pub truncated: bool,
    /// The time of day during boot, in seconds since the Unix epoch, read
    /// from the machine's real-time clock (PL031, CMOS RTC); `None` when
    /// the machine has none or it reads nonsense.
    pub unix_time: Option<u64>,
}

impl BootInfo {
    /// Total bytes of RAM the firmware reports.
    pub fn ram_bytes(&self) -> u64 {
        self.ram.as_slice().iter().map(|r| r.size).sum()
    }

    /// Chooses the kernel heap and removes it from `free_memory`: a quarter
    /// of RAM, between 2 MiB and 64 MiB, 2 MiB aligned (so the direct map
    /// covers it with large pages), taken from the largest free range.
    /// The ports call this once, after subtracting everything else they
    /// reserve and before `heap::init`.
    #[cfg_attr(
        target_arch = "aarch64",
        allow(
            dead_code,
            reason = "AArch64's boot.rs still carries its own copy of this policy"
        )
    )]
    pub(crate) fn carve_heap(&mut self) -> MemoryRange {
        const MIB: u64 = 1 << 20;
        let wanted = (self.ram_bytes() / 4).clamp(2 * MIB, 64 * MIB) & !(2 * MIB - 1);
        let largest = self
            .free_memory
            .as_slice()
            .iter()
            .copied()
            .max_by_key(|r| r.size)
            .unwrap_or_default();
        let start = (largest.start + 2 * MIB - 1) & !(2 * MIB - 1);
        let size = wanted.min(largest.end().saturating_sub(start));
        let heap = MemoryRange { start, size };
        subtract_range(&mut self.free_memory, heap);
        heap
    }
}

/// Subtracts `hole` from every range of `list`, splitting where needed.
/// Returns `false` if a split did not fit: the range being split is then
/// dropped in part or whole, which wastes memory but never lists the hole.
pub fn subtract_range<const N: usize>(
    list: &mut FixedList<MemoryRange, N>,
    hole: MemoryRange,
) -> bool {
    let mut index = 0;
    while index < list.as_slice().len() {
        let range = list.as_slice()[index];
        let (start, end) = (range.start, range.end());
        let (hole_start, hole_end) = (hole.start, hole.end());
        if hole_end <= start || hole_start >= end {
            index += 1;
            continue;
        }
        list.remove(index);
        let mut inserted = 0;
        if hole_start > start {
            if !list.insert(
                index,
                MemoryRange {
                    start,
                    size: hole_start - start,
                },
            ) {
                return false;
            }
            inserted += 1;
        }
        if hole_end < end {
            if !list.insert(
                index + inserted,
                MemoryRange {
                    start: hole_end,
                    size: end - hole_end,
                },
            ) {
                return false;
            }
            inserted += 1;
        }
        index += inserted;
    }
    true
}
