// SPDX-License-Identifier: MIT OR Apache-2.0
//! The PVH start info: memory map, command line, RSDP.
//!
//! A PVH boot loader (QEMU's `pvh.bin` option ROM for `-kernel`) enters
//! the kernel with `ebx` pointing at a `struct hvm_start_info` (Xen's
//! `xen/include/public/arch-x86/hvm/start_info.h`, version 1):
//!
//! | offset | field |
//! |---|---|
//! | 0 | `magic` = `0x336ec578` |
//! | 4 | `version` |
//! | 8 | `flags` |
//! | 12 | `nr_modules` |
//! | 16 | `modlist_paddr` |
//! | 24 | `cmdline_paddr` (NUL-terminated) |
//! | 32 | `rsdp_paddr` (0 if not known) |
//! | 40 | `memmap_paddr` (version ≥ 1) |
//! | 48 | `memmap_entries` |
//!
//! and memory map entries of `{ addr: u64, size: u64, type: u32, reserved:
//! u32 }`, type 1 being RAM (the E820 types). QEMU's option ROM keeps all
//! of it in its own area below 1 MiB.
//!
//! Everything is copied out while the boot page tables (which map the low
//! 4 GiB at `LINEAR_OFFSET`) are live: the RAM list into fixed lists, the
//! command line into a static buffer, so nothing the loader left behind
//! has to be reserved afterwards. While copying, the `virtio_mmio.device=`
//! words that QEMU's `microvm` appends without ACPI (Linux's
//! `virtio_mmio.device=<size>@<base>:<irq>` syntax) are taken out of the
//! kernel's command line and returned as virtio-mmio slots: they describe
//! the machine, not the kernel's options.

use super::boot::LINEAR_OFFSET;
use crate::boot_info::{FixedList, MemoryRange, VirtioMmioSlot};
use spin::Once;

const START_INFO_MAGIC: u32 = 0x336e_c578;
const MEMORY_TYPE_RAM: u32 = 1;
/// The boot page tables map this much physical memory at `LINEAR_OFFSET`.
const BOOT_MAPPED_LIMIT: u64 = 4 << 30;
/// Longest command line kept (Linux's x86 `COMMAND_LINE_SIZE` is 2048).
const COMMAND_LINE_CAPACITY: usize = 4096;

/// The start info, as far as Manux uses it.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
struct HvmStartInfo {
    /// `XEN_HVM_START_MAGIC_VALUE`.
    magic: u32,
    /// 0 or 1; version 1 added the memory map.
    version: u32,
    /// `SIF_*` flags (privileged domain, …): unused outside Xen.
    flags: u32,
    /// Modules (an initrd, say): none are used yet.
    module_count: u32,
    /// Physical address of the module list.
    module_list: u64,
    /// Physical address of the NUL-terminated command line, or 0.
    command_line: u64,
    /// Physical address of the ACPI RSDP, or 0 if the loader found none.
    rsdp: u64,
    /// Physical address of the memory map (version ≥ 1).
    memory_map: u64,
    /// Entries in the memory map.
    memory_map_entries: u32,
    /// Padding to a multiple of 8 bytes.
    reserved: u32,
}

/// One memory map entry.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
struct MemoryMapEntry {
    /// First byte of the range.
    address: u64,
    /// Its length in bytes.
    size: u64,
    /// E820 type: 1 RAM, 2 reserved, 3 ACPI reclaimable, 4 ACPI NVS,
    /// 5 unusable (ACPI 6.5 Table 15.1).
    kind: u32,
    /// Must be zero.
    reserved: u32,
}

/// What the start info says.
pub struct StartInfo {
    /// Every RAM range of the memory map.
    pub ram: FixedList<MemoryRange, 16>,
    /// The kernel's command line (loader's words removed, see module doc).
    pub command_line: &'static str,
    /// virtio-mmio slots named on the command line.
    pub virtio_mmio: FixedList<VirtioMmioSlot, 32>,
    /// Physical address of the ACPI RSDP, if the loader found one.
    pub rsdp: Option<u64>,
    /// Set when the map or the command line did not fit.
    pub truncated: bool,
}

/// Why the start info could not be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartInfoError {
    /// No start info, or not PVH's magic number there.
    BadMagic,
    /// Version 0: no memory map.
    NoMemoryMap,
    /// The memory map lists no RAM.
    NoRam,
}

/// Copies a `T` from physical memory through the boot direct map.
/// `None` if it lies beyond what the boot tables map.
fn read_physical<T: Copy>(physical: u64) -> Option<T> {
    let end = physical.checked_add(core::mem::size_of::<T>() as u64)?;
    if physical == 0 || end > BOOT_MAPPED_LIMIT {
        return None;
    }
    // SAFETY: the boot tables map all physical memory below 4 GiB at
    // LINEAR_OFFSET (checked just above), so the read is of mapped memory;
    // `T` is one of the plain-integer `repr(C)` structs of this module (or
    // `u8`), valid for any bit pattern; `read_unaligned` asks nothing of
    // the alignment the loader chose.
    Some(unsafe { core::ptr::read_unaligned((physical + LINEAR_OFFSET) as *const T) })
}

/// The command line's storage: written once, then borrowed for good.
struct CommandLineBuffer {
    bytes: [u8; COMMAND_LINE_CAPACITY],
    length: usize,
}

static COMMAND_LINE: Once<CommandLineBuffer> = Once::new();

/// Parses the start info at physical address `physical`.
pub fn parse(physical: u64) -> Result<StartInfo, StartInfoError> {
    // The magic number is the only way to tell a PVH start info from
    // whatever else `ebx` might hold (a multiboot loader, say).
    let info: HvmStartInfo = read_physical(physical).ok_or(StartInfoError::BadMagic)?;
    if info.magic != START_INFO_MAGIC {
        return Err(StartInfoError::BadMagic);
    }
    // Version 0 has no memory map: the loader meant the kernel to ask the
    // hypervisor (Xen) for one, which Manux cannot.
    if info.version < 1 || info.memory_map == 0 {
        return Err(StartInfoError::NoMemoryMap);
    }
    let mut start = StartInfo {
        ram: FixedList::new(),
        command_line: "",
        virtio_mmio: FixedList::new(),
        rsdp: if info.rsdp != 0 {
            Some(info.rsdp)
        } else {
            None
        },
        truncated: false,
    };

    // RAM, sorted by address with overlaps merged (E820 maps may be
    // unsorted; later code assumes disjoint ranges).
    for index in 0..u64::from(info.memory_map_entries) {
        let address = info.memory_map + index * core::mem::size_of::<MemoryMapEntry>() as u64;
        let Some(entry) = read_physical::<MemoryMapEntry>(address) else {
            break;
        };
        if entry.kind != MEMORY_TYPE_RAM || entry.size == 0 {
            continue;
        }
        let range = MemoryRange {
            start: entry.address,
            size: entry.size,
        };
        let slots = start.ram.as_slice();
        let position = slots
            .iter()
            .position(|r| r.start > range.start)
            .unwrap_or(slots.len());
        start.truncated |= !start.ram.insert(position, range);
    }
    merge_overlaps(&mut start.ram);
    if start.ram.as_slice().is_empty() {
        return Err(StartInfoError::NoRam);
    }

    // The command line is copied even when empty, so `COMMAND_LINE` is
    // set exactly once and the `&'static str` always points into it.
    let mut buffer = CommandLineBuffer {
        bytes: [0; COMMAND_LINE_CAPACITY],
        length: 0,
    };
    if info.command_line != 0 {
        start.truncated |=
            copy_command_line(info.command_line, &mut buffer, &mut start.virtio_mmio);
    }
    let stored = COMMAND_LINE.call_once(|| buffer);
    start.command_line = core::str::from_utf8(&stored.bytes[..stored.length]).unwrap_or("");
    Ok(start)
}

/// Joins ranges of a sorted list that overlap or touch.
fn merge_overlaps(list: &mut FixedList<MemoryRange, 16>) {
    // One pass suffices on a sorted list: a range can only overlap the
    // (already merged) one before it.
    let mut index = 1;
    while index < list.as_slice().len() {
        let (previous, current) = (list.as_slice()[index - 1], list.as_slice()[index]);
        if current.start <= previous.end() {
            let end = previous.end().max(current.end());
            list.as_mut_slice()[index - 1].size = end - previous.start;
            list.remove(index);
        } else {
            index += 1;
        }
    }
}

/// Copies the NUL-terminated command line word by word into `buffer`,
/// turning `virtio_mmio.device=` words into `slots` and any byte that is
/// not printable ASCII into `?` (so the result is valid UTF-8). Returns
/// whether something was dropped.
fn copy_command_line(
    physical: u64,
    buffer: &mut CommandLineBuffer,
    slots: &mut FixedList<VirtioMmioSlot, 32>,
) -> bool {
    // First the raw bytes, up to the NUL; `truncated` stays set if no NUL
    // came within the capacity (or the string ran off mapped memory).
    let mut raw = [0u8; COMMAND_LINE_CAPACITY];
    let mut length = 0;
    let mut truncated = true;
    while length < COMMAND_LINE_CAPACITY {
        let Some(byte) = read_physical::<u8>(physical + length as u64) else {
            break;
        };
        if byte == 0 {
            truncated = false;
            break;
        }
        raw[length] = if byte == b'\t' || byte == b'\n' {
            b' '
        } else if (0x20..0x7f).contains(&byte) {
            byte
        } else {
            b'?'
        };
        length += 1;
    }
    // Then word by word: machine descriptions out, the rest joined with
    // single spaces (the kernel splits on whitespace anyway).
    let text = core::str::from_utf8(&raw[..length]).unwrap_or("");
    for word in text.split_ascii_whitespace() {
        if let Some(description) = word.strip_prefix("virtio_mmio.device=") {
            match parse_virtio_mmio(description) {
                Some(slot) => truncated |= !slots.push(slot),
                None => truncated = true,
            }
            continue;
        }
        let needed = word.len() + usize::from(buffer.length > 0);
        if buffer.length + needed > COMMAND_LINE_CAPACITY {
            truncated = true;
            break;
        }
        if buffer.length > 0 {
            buffer.bytes[buffer.length] = b' ';
            buffer.length += 1;
        }
        buffer.bytes[buffer.length..buffer.length + word.len()].copy_from_slice(word.as_bytes());
        buffer.length += word.len();
    }
    truncated
}

/// Parses Linux's `<size>@<base>:<irq>[:<id>]` (size with an optional
/// K/M/G suffix; numbers decimal or `0x` hex).
fn parse_virtio_mmio(description: &str) -> Option<VirtioMmioSlot> {
    let (size, rest) = description.split_once('@')?;
    let (base, rest) = rest.split_once(':')?;
    let interrupt = rest.split(':').next()?;
    let (digits, multiplier) = match size.as_bytes().last()? {
        b'K' | b'k' => (&size[..size.len() - 1], 1 << 10),
        b'M' | b'm' => (&size[..size.len() - 1], 1 << 20),
        b'G' | b'g' => (&size[..size.len() - 1], 1 << 30),
        _ => (size, 1),
    };
    Some(VirtioMmioSlot {
        base: parse_number(base)?,
        size: parse_number(digits)?.checked_mul(multiplier)?,
        interrupt: u32::try_from(parse_number(interrupt)?).ok()?,
    })
}

/// A number as Linux's `memparse`/`simple_strtoull` read them here:
/// `0x`-prefixed hexadecimal or decimal.
fn parse_number(text: &str) -> Option<u64> {
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}
