// SPDX-License-Identifier: MIT OR Apache-2.0
//! x86_64 boot: from the PVH entry to the kernel's `main`.
//!
//! The kernel ELF carries a PVH note (`.note.Xen`, type 18,
//! `XEN_ELFNOTE_PHYS32_ENTRY`: the physical address of a 32-bit entry
//! point). QEMU's `-kernel` on `microvm`, `q35` and `pc` finds it, loads
//! the image at its physical address and, through its PVH option ROM,
//! enters `_start32` in 32-bit protected mode, paging off, interrupts off,
//! flat segments, with `ebx` = physical address of `hvm_start_info`
//! (Xen's *x86/HVM direct boot ABI*, `docs/misc/pvh.pandoc`; DESIGN §2).
//!
//! The assembly does only what must happen before Rust can run:
//! 1. check for long mode (and note whether NX exists) with CPUID, saying
//!    so on COM1 if it is missing;
//! 2. zero `.bss` (the stacks and boot tables are in it);
//! 3. build boot page tables of 2 MiB pages mapping the low 4 GiB three
//!    times — identity (so the next instruction still runs), at
//!    `LINEAR_OFFSET` (the direct map) and, for the first GiB, at
//!    `KERNEL_OFFSET` (where the image is linked);
//! 4. enable PAE, load CR3, set `EFER.LME` (and `EFER.NXE`), enable paging
//!    with `CR0.WP` — which enters long mode (*Intel SDM* Vol. 3A §10.8.5,
//!    "Initializing IA-32e Mode") — and far-jump through a minimal GDT
//!    into 64-bit code;
//! 5. jump to the upper half, switch to the boot stack and call
//!    [`boot_main`].
//!
//! [`boot_main`] then brings up, in order: the console, the GDT/TSS and
//! IDT (so any fault from here on is reported), the start info, the final
//! page tables ([`super::mmu`]), the heap, the ACPI tables, power-off,
//! the interrupt controllers and the timer calibration, and enters the
//! kernel — the same flow as the AArch64 port.

use super::{
    firmware, gdt, io_apic, local_apic, mmu, pic, power, pvh, serial, stacks, timer, vectors,
};
use crate::boot_info::{subtract_range, BootInfo, FixedList, MemoryRange, VirtioMmioSlot};
use core::fmt::Write;
use spin::Once;

/// Where the image is linked: virtual = physical + `KERNEL_OFFSET` (the
/// top 2 GiB, `-C code-model=kernel`). Must match `link.ld`.
pub const KERNEL_OFFSET: u64 = 0xffff_ffff_8000_0000;
/// The direct map of physical memory: virtual = physical + `LINEAR_OFFSET`
/// (the start of the upper half, PML4 slot 256).
pub const LINEAR_OFFSET: u64 = 0xffff_8000_0000_0000;

/// The first MiB of physical memory: real-mode IVT, BIOS data, EBDA, video
/// memory, option ROMs (where QEMU's PVH ROM keeps the start info) and the
/// BIOS. Never handed out, whatever the memory map says about its pieces.
const LOW_MEMORY: MemoryRange = MemoryRange {
    start: 0,
    size: 1 << 20,
};

// The boot code. AT&T syntax; `.code32` until the far jump. 32-bit code
// runs at physical addresses, so every symbol it names is written
// `symbol - KOFF` (the linker resolves that to the physical address).
// Boot page-table entries: present (0), writable (1), page size (7, in
// PD entries: a 2 MiB page).
core::arch::global_asm!(
    r#"
    .set KOFF, 0xffffffff80000000

    .section .note.Xen, "a", @note
    .balign 4
    .long 4                             /* name size: "Xen\0" */
    .long 8                             /* descriptor size */
    .long 18                            /* XEN_ELFNOTE_PHYS32_ENTRY */
    .asciz "Xen"
    .balign 4
    .quad _start32 - KOFF
    .balign 4

    .section .bss.boot_tables, "aw", @nobits
    .balign 4096
boot_pml4:
    .skip 4096
boot_pdpt_low:
    .skip 4096
boot_pdpt_high:
    .skip 4096
boot_pd:
    .skip 4 * 4096                      /* 4 GiB of 2 MiB pages */

    .section .rodata.boot, "a"
    .balign 16
boot_gdt:
    .quad 0
    .quad 0x00af9a000000ffff            /* 0x08: 64-bit code, ring 0 */
    .quad 0x00cf92000000ffff            /* 0x10: data, ring 0 */
boot_gdt_end:
boot_gdt_pointer:
    .word boot_gdt_end - boot_gdt - 1
    .long boot_gdt - KOFF
no_long_mode_message:
    .asciz "Manux: this CPU has no 64-bit long mode; stopping.\r\n"

    .section .text.boot, "ax"
    .code32
    .global _start32
_start32:
    cli
    cld
    movl %ebx, %ebp                     /* hvm_start_info, kept in ebp */
    movl $(BOOT_STACK + {stack_bytes} - KOFF), %esp

    /* 1. Long mode (CPUID 0x8000_0001 EDX bit 29) and NX (bit 20). */
    movl $0x80000000, %eax
    cpuid
    cmpl $0x80000001, %eax
    jb 90f
    movl $0x80000001, %eax
    cpuid
    btl $29, %edx
    jnc 90f
    xorl %esi, %esi
    btl $20, %edx
    adcl $0, %esi                       /* esi = 1 if NX */

    /* 2. Zero .bss. */
    movl $(__bss_start - KOFF), %edi
    movl $(__bss_end - KOFF), %ecx
    subl %edi, %ecx
    shrl $2, %ecx
    xorl %eax, %eax
    rep stosl
    movl %esi, (X86_NX_SUPPORTED - KOFF)

    /* 3. Boot page tables. Four PDs: 2048 large pages for 0..4 GiB. */
    movl $(boot_pd - KOFF), %edi
    xorl %ecx, %ecx
1:  movl %ecx, %eax
    shll $21, %eax
    orl $0x83, %eax
    movl %eax, (%edi,%ecx,8)
    incl %ecx
    cmpl $2048, %ecx
    jb 1b
    movl $(boot_pdpt_low - KOFF), %edi
    movl $(boot_pd - KOFF + 0x3), %eax
    movl %eax, 0(%edi)
    addl $4096, %eax
    movl %eax, 8(%edi)
    addl $4096, %eax
    movl %eax, 16(%edi)
    addl $4096, %eax
    movl %eax, 24(%edi)
    /* PDPT slot 510 of PML4 slot 511 is 0xffffffff80000000: first GiB. */
    movl $(boot_pd - KOFF + 0x3), %eax
    movl %eax, (boot_pdpt_high - KOFF + 510 * 8)
    movl $(boot_pdpt_low - KOFF + 0x3), %eax
    movl %eax, (boot_pml4 - KOFF)               /* identity */
    movl %eax, (boot_pml4 - KOFF + 256 * 8)     /* LINEAR_OFFSET */
    movl $(boot_pdpt_high - KOFF + 0x3), %eax
    movl %eax, (boot_pml4 - KOFF + 511 * 8)     /* KERNEL_OFFSET */

    /* 4. PAE, CR3, EFER.LME (+ NXE), paging + write protect. */
    movl %cr4, %eax
    orl $(1 << 5), %eax
    movl %eax, %cr4
    movl $(boot_pml4 - KOFF), %eax
    movl %eax, %cr3
    movl $0xc0000080, %ecx
    rdmsr
    orl $(1 << 8), %eax
    testl %esi, %esi
    jz 2f
    orl $(1 << 11), %eax
2:  wrmsr
    movl %cr0, %eax
    orl $0x80010001, %eax
    movl %eax, %cr0
    lgdt (boot_gdt_pointer - KOFF)
    pushl $0x08
    pushl $(3f - KOFF)
    lret

    /* No long mode: say so on COM1 and stop. */
90: movl $(no_long_mode_message - KOFF), %esi
    movw $0x3f8, %dx
91: movb (%esi), %al
    testb %al, %al
    jz 92f
    outb %al, %dx
    incl %esi
    jmp 91b
92: hlt
    jmp 92b

    .code64
    /* 5. 64-bit mode, still at the physical address. */
3:  movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movw %ax, %fs
    movw %ax, %gs
    movabsq $4f, %rax
    jmp *%rax
4:  movabsq $(BOOT_STACK + {stack_bytes}), %rsp
    movl %ebp, %edi                     /* zero-extends into rdi */
    xorl %ebp, %ebp
    call {boot_main}
5:  hlt
    jmp 5b
    "#,
    stack_bytes = const core::mem::size_of::<stacks::GuardedStack<{ stacks::BOOT_STACK_SIZE }>>(),
    boot_main = sym boot_main,
    options(att_syntax),
);

static BOOT_INFO: Once<BootInfo> = Once::new();

/// The first Rust code, running in the upper half on the boot tables,
/// interrupts off.
extern "C" fn boot_main(start_info_physical: u64) -> ! {
    serial::init();
    gdt::init();
    vectors::install();

    let start = match pvh::parse(start_info_physical) {
        Ok(start) => start,
        Err(error) => {
            let _ = writeln!(
                EarlyWriter,
                "fatal: unusable PVH start info at {:#x}: {:?}",
                start_info_physical, error
            );
            power::power_off(crate::ExitStatus::Failure(1))
        }
    };
    let image = kernel_image_range();
    let mut boot = BootInfo {
        ram: start.ram,
        free_memory: FixedList::new(),
        heap: MemoryRange::default(),
        command_line: start.command_line,
        virtio_mmio: FixedList::new(),
        pci: FixedList::new(),
        machine: "",
        truncated: start.truncated,
    };
    for range in boot.ram.as_slice() {
        boot.truncated |= !boot.free_memory.push(*range);
    }
    let mut ok = subtract_range(&mut boot.free_memory, image);
    ok &= subtract_range(&mut boot.free_memory, LOW_MEMORY);
    if !ok {
        log_early("warning: memory map too fragmented; some RAM is left unused\n");
    }

    mmu::init_kernel_tables(boot.ram.as_slice());
    boot.heap = boot.carve_heap();
    // SAFETY: the heap range was just removed from `free_memory`, lies in
    // RAM outside the image and the first MiB, and the final tables map
    // all RAM read-write at LINEAR_OFFSET; this is the only call.
    unsafe {
        crate::heap::init(
            (boot.heap.start + LINEAR_OFFSET) as usize,
            boot.heap.size as usize,
        )
    };
    mmu::enable_heap_tables();

    let platform = firmware::parse(start.rsdp);
    boot.truncated |= platform.truncated;
    power::init(&platform);
    boot.pci = platform.pci;
    boot.virtio_mmio = if start.virtio_mmio.as_slice().is_empty() {
        probe_microvm_slots(&platform)
    } else {
        start.virtio_mmio
    };
    boot.machine = describe(&platform, &boot);
    if boot.truncated {
        log_early("warning: the firmware lists more than Manux keeps; some memory or devices are ignored\n");
    }

    pic::disable();
    local_apic::init(platform.local_apic);
    io_apic::init(platform.io_apics.as_slice(), platform.overrides.as_slice());
    match timer::calibrate() {
        timer::CalibrationSource::Pit | timer::CalibrationSource::Cpuid => {}
        timer::CalibrationSource::Assumed => log_early(
            "warning: no PIT and no TSC frequency in CPUID; assuming 1 GHz, times will be off\n",
        ),
    }
    if let Some(line) = io_apic::console_line() {
        io_apic::enable(line);
        serial::enable_receive_interrupt();
    }
    let boot = BOOT_INFO.call_once(|| boot);
    crate::entry::enter_kernel(boot)
}

/// QEMU's `microvm` virtio-mmio transports: 512-byte windows from
/// `0xfeb0_0000`. Their number and interrupt lines depend on the machine's
/// options (QEMU `hw/i386/microvm.c`): with ACPI and the second I/O APIC
/// (the default), 24 transports on GSIs 24–47; with ACPI and one I/O
/// APIC, 8 on GSIs 16–23; without ACPI, 8 on GSIs 5–12 — but then QEMU
/// also lists them on the command line, which `pvh` already took. Windows
/// without the magic value "virt" are skipped; empty transports (device
/// ID 0) are kept and skipped later by the driver probe, as on AArch64.
fn probe_microvm_slots(platform: &firmware::Platform) -> FixedList<VirtioMmioSlot, 32> {
    const BASE: u64 = 0xfeb0_0000;
    const SLOT_SIZE: u64 = 0x200;
    const MAGIC: u32 = 0x7472_6976; // "virt", little-endian
    let second_io_apic = platform
        .io_apics
        .as_slice()
        .iter()
        .any(|io_apic| io_apic.gsi_base == 24);
    let (count, first_gsi) = match (platform.has_acpi, second_io_apic) {
        (true, true) => (24, 24),
        (true, false) => (8, 16),
        (false, _) => (8, 5),
    };
    let mut slots = FixedList::new();
    let window = mmu::map_device(BASE, count * SLOT_SIZE);
    if window == 0 {
        return slots;
    }
    for index in 0..count {
        // SAFETY: `window` maps `count` transport windows as device memory;
        // offset 0 of each is the read-only MagicValue register (virtio
        // 1.2 §4.2.2), and reading it has no side effect. Where no
        // transport exists the read returns what unassigned memory does.
        let magic = unsafe { core::ptr::read_volatile((window + index * SLOT_SIZE) as *const u32) };
        if magic == MAGIC {
            slots.push(VirtioMmioSlot {
                base: BASE + index * SLOT_SIZE,
                size: SLOT_SIZE,
                interrupt: (first_gsi + index) as u32,
            });
        }
    }
    slots
}

/// A one-line description of the machine for the banner.
fn describe(platform: &firmware::Platform, boot: &BootInfo) -> &'static str {
    if !boot.pci.as_slice().is_empty() && !platform.hardware_reduced {
        "PC with PCI Express (q35-like), PVH boot"
    } else if platform.hardware_reduced || !boot.virtio_mmio.as_slice().is_empty() {
        if platform.has_acpi {
            "microvm (ACPI hardware-reduced), PVH boot"
        } else {
            "microvm (no ACPI), PVH boot"
        }
    } else if platform.has_acpi {
        "PC (i440fx-like), PVH boot"
    } else {
        "PC without ACPI, PVH boot"
    }
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

/// A console writer for boot messages, before the kernel's logger exists.
struct EarlyWriter;

impl Write for EarlyWriter {
    fn write_str(&mut self, text: &str) -> core::fmt::Result {
        serial::write_bytes(text.as_bytes());
        Ok(())
    }
}

/// Writes a message before the logger exists.
pub(super) fn log_early(message: &str) {
    serial::write_bytes(message.as_bytes());
}

/// Reports a boot failure that leaves nothing to run, and powers off with
/// a failure status.
pub(super) fn fatal(message: &str) -> ! {
    let _ = writeln!(EarlyWriter, "fatal: {}", message);
    power::power_off(crate::ExitStatus::Failure(1))
}
