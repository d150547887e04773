// SPDX-License-Identifier: MIT OR Apache-2.0
//! AArch64 boot: from the firmware's jump to the kernel's `main`.
//!
//! QEMU (or a boot loader) enters `_start` at EL1 with the MMU off, at the
//! image's physical address; `x0` holds the device tree's physical address
//! when the loader follows the Linux boot protocol and 0 otherwise (QEMU's
//! ELF `-kernel` path), in which case the tree sits at the start of RAM
//! (DESIGN §2). The assembly below does only what must happen before Rust
//! can run:
//! 1. enable FP/SIMD (`CPACR_EL1.FPEN`), which Rust code may use;
//! 2. set up the boot stack and zero `.bss`;
//! 3. build a boot translation table of 1 GiB blocks that maps the low
//!    4 GiB three times — identity (so the next instruction still runs),
//!    at `KERNEL_OFFSET` (where the image is linked) and at
//!    `LINEAR_OFFSET` (the direct map of physical memory) — and turn the
//!    MMU on;
//! 4. jump to the upper half and call [`boot_main`].
//!
//! [`boot_main`] then reads the device tree, brings up the console, replaces
//! the boot table with the final one ([`super::mmu`]), carves out the
//! heap, initialises the interrupt controller and enters the kernel.

use super::{device_tree, gic, mmu, psci, timer, uart, vectors};
use crate::boot_info::{subtract_range, BootInfo, MemoryRange};
use spin::Once;

/// Where the image is linked: virtual = physical + `KERNEL_OFFSET`.
pub const KERNEL_OFFSET: u64 = 0xffff_0000_0000_0000;
/// The direct map of physical memory: virtual = physical + `LINEAR_OFFSET`.
pub const LINEAR_OFFSET: u64 = 0xffff_8000_0000_0000;

/// Bytes of the boot stack (also the stack of the kernel's first thread).
const BOOT_STACK_SIZE: usize = 64 * 1024;

/// The boot stack. Aligned to 16 bytes as AAPCS64 requires of `sp`.
#[repr(C, align(16))]
struct BootStack([u8; BOOT_STACK_SIZE]);

#[unsafe(no_mangle)]
static mut BOOT_STACK: BootStack = BootStack([0; BOOT_STACK_SIZE]);

/// The boot translation table: level 0 and one level-1 table of 1 GiB
/// blocks. Written only by the assembly below, before the MMU is on.
#[repr(C, align(4096))]
struct BootTable([u64; 512]);

#[unsafe(no_mangle)]
static mut BOOT_LEVEL0: BootTable = BootTable([0; 512]);
#[unsafe(no_mangle)]
static mut BOOT_LEVEL1: BootTable = BootTable([0; 512]);

// Boot-time constants for the assembly, derived from the ARM ARM (D8.3):
// - block descriptor: bits[1:0] = 0b01, AF (bit 10), SH (bits 9:8),
//   AttrIndx (bits 4:2), PXN (53), UXN (54);
// - MAIR: index 0 Device-nGnRE (0x04), index 1 Normal write-back (0xff),
//   index 2 Normal non-cacheable (0x44), as `mmu` uses them;
// - TCR: T0SZ = T1SZ = 16 (48-bit halves), 4 KiB granules, inner/outer
//   write-back walks, inner shareable; IPS filled in from ID_AA64MMFR0.
core::arch::global_asm!(
    r#"
    .section .text.boot, "ax"
    .global _start
_start:
    mov     x19, x0                     // device tree, or 0

    // FP/SIMD: CPACR_EL1.FPEN = 0b11, no trapping at EL0 or EL1.
    mrs     x1, cpacr_el1
    orr     x1, x1, #(3 << 20)
    msr     cpacr_el1, x1
    isb

    // Boot stack (physical address: the MMU is still off).
    adrp    x1, BOOT_STACK
    add     x1, x1, :lo12:BOOT_STACK
    add     x1, x1, #{stack_size}
    mov     sp, x1

    // Zero .bss (the stack and boot tables are in it; nothing is in use yet).
    adrp    x1, __bss_start
    add     x1, x1, :lo12:__bss_start
    adrp    x2, __bss_end
    add     x2, x2, :lo12:__bss_end
1:  cmp     x1, x2
    b.hs    2f
    stp     xzr, xzr, [x1], #16
    b       1b
2:
    // Level 1: [0] = device block for 0..1 GiB (MMIO on virt), [1..3] =
    // normal memory blocks for 1..4 GiB (RAM on virt).
    adrp    x1, BOOT_LEVEL1
    add     x1, x1, :lo12:BOOT_LEVEL1
    movz    x2, #0x0401                 // valid block, AF, AttrIndx 0
    movk    x2, #0x0060, lsl #48        // PXN, UXN
    str     x2, [x1]
    mov     x3, #1
    mov     x4, #0x705                  // valid block, AF, inner shareable, AttrIndx 1
3:  lsl     x2, x3, #30
    orr     x2, x2, x4
    str     x2, [x1, x3, lsl #3]
    add     x3, x3, #1
    cmp     x3, #4
    b.lo    3b

    // Level 0: entries 0 (identity and KERNEL_OFFSET) and 256 (LINEAR_OFFSET)
    // all point at the same level-1 table.
    adrp    x2, BOOT_LEVEL0
    add     x2, x2, :lo12:BOOT_LEVEL0
    orr     x3, x1, #3                  // table descriptor
    str     x3, [x2]
    str     x3, [x2, #(256 * 8)]

    // Memory attributes and translation control.
    movz    x1, #0xff04
    movk    x1, #0x0044, lsl #16
    msr     mair_el1, x1
    movz    x1, #0x3510
    movk    x1, #0xb510, lsl #16
    mrs     x3, id_aa64mmfr0_el1
    and     x3, x3, #7
    bfi     x1, x3, #32, #3             // IPS = PARange
    msr     tcr_el1, x1
    msr     ttbr0_el1, x2
    msr     ttbr1_el1, x2
    isb
    tlbi    vmalle1
    dsb     nsh
    isb

    // MMU, data and instruction caches on.
    mrs     x1, sctlr_el1
    movz    x3, #0x1005                 // I (12), C (2), M (0)
    orr     x1, x1, x3
    bic     x1, x1, #2                  // no alignment checking
    msr     sctlr_el1, x1
    isb

    // Continue in the upper half.
    ldr     x1, =3f
    br      x1
3:
    movz    x2, #0xffff, lsl #48        // KERNEL_OFFSET
    add     x1, sp, x2
    mov     sp, x1
    mov     x0, x19
    bl      {boot_main}
4:  wfe
    b       4b
    .ltorg
    "#,
    stack_size = const BOOT_STACK_SIZE,
    boot_main = sym boot_main,
);

static BOOT_INFO: Once<BootInfo> = Once::new();

/// The first Rust code, running in the upper half on the boot table.
extern "C" fn boot_main(device_tree_physical: u64) -> ! {
    vectors::install();
    let image = kernel_image_range();
    // The ELF boot path leaves x0 = 0; QEMU then put the tree at the start
    // of RAM, i.e. the 1 GiB boundary below the image (DESIGN §2).
    let tree_physical = if device_tree_physical != 0 {
        device_tree_physical
    } else {
        image.start & !((1 << 30) - 1)
    };
    let machine = match device_tree::parse(tree_physical) {
        Ok(machine) => machine,
        // No console is known yet: all we can do is stop.
        Err(_) => halt(),
    };
    uart::init(machine.uart);
    if machine.boot.truncated {
        log_early("warning: the device tree lists more than Manux keeps; some memory or devices are ignored\n");
    }
    psci::init(machine.psci_conduit);
    if machine
        .boot
        .command_line
        .split_whitespace()
        .any(|word| word == "poweroff=semihosting")
    {
        psci::enable_semihosting_exit();
    }
    super::set_console_interrupt(machine.uart_interrupt);

    let mut boot = machine.boot;
    let mut ok = subtract_range(&mut boot.free_memory, image);
    ok &= subtract_range(&mut boot.free_memory, machine.device_tree);
    for reserved in machine.reserved.as_slice() {
        ok &= subtract_range(&mut boot.free_memory, *reserved);
    }
    if !ok {
        log_early("warning: memory map too fragmented; some RAM is left unused\n");
    }

    mmu::init_kernel_tables(boot.ram.as_slice());
    uart::remap();
    boot.unix_time = machine.rtc.and_then(super::rtc::unix_time);

    boot.heap = choose_heap(&mut boot);
    // SAFETY: the heap range was just removed from `free_memory`, lies in
    // RAM outside the image and the device tree, and `mmu` maps all RAM
    // read-write at LINEAR_OFFSET; this is the only call.
    unsafe {
        crate::heap::init(
            (boot.heap.start + LINEAR_OFFSET) as usize,
            boot.heap.size as usize,
        )
    };

    gic::init(&machine.gic);
    timer::init(machine.timer_interrupt);
    if machine.uart_interrupt != 0 {
        gic::enable(machine.uart_interrupt);
        uart::enable_receive_interrupt();
    }
    let boot = BOOT_INFO.call_once(|| boot);
    crate::entry::enter_kernel(boot)
}

/// The physical range of the kernel image, from the linker's symbols.
fn kernel_image_range() -> MemoryRange {
    unsafe extern "C" {
        static __kernel_start: u8;
        static __kernel_end: u8;
    }
    let start = (&raw const __kernel_start) as u64 - KERNEL_OFFSET;
    let end = (&raw const __kernel_end) as u64 - KERNEL_OFFSET;
    MemoryRange {
        start,
        size: end - start,
    }
}

/// The kernel heap: a quarter of RAM, between 2 MiB and 64 MiB, 2 MiB
/// aligned, taken from the largest free range.
fn choose_heap(boot: &mut BootInfo) -> MemoryRange {
    const MIB: u64 = 1 << 20;
    let wanted = (boot.ram_bytes() / 4).clamp(2 * MIB, 64 * MIB) & !(2 * MIB - 1);
    let largest = boot
        .free_memory
        .as_slice()
        .iter()
        .copied()
        .max_by_key(|r| r.size)
        .unwrap_or_default();
    let start = (largest.start + 2 * MIB - 1) & !(2 * MIB - 1);
    let size = wanted.min(largest.end().saturating_sub(start));
    let heap = MemoryRange { start, size };
    subtract_range(&mut boot.free_memory, heap);
    heap
}

/// Writes a message before the logger exists.
pub(super) fn log_early(message: &str) {
    uart::write_bytes(message.as_bytes());
}

/// Stops this CPU for good.
pub(super) fn halt() -> ! {
    loop {
        aarch64_cpu::asm::wfe();
    }
}
