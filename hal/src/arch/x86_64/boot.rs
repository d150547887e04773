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
//! IDT (so any fault from here on is reported), the `syscall` MSRs and the
//! CPU features user mode needs ([`super::user_mode::init`]), the start
//! info, the final page tables ([`super::mmu`]) and PCIDs
//! ([`super::address_space::init`]), the heap, the ACPI tables, power-off,
//! the interrupt controllers and the timer calibration, and enters the
//! kernel — the same flow as the AArch64 port.

use super::{
    address_space, firmware, gdt, io_apic, local_apic, mmu, pic, power, pvh, serial, stacks, timer,
    user_mode, vectors,
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
    /* Physical = virtual - KOFF for everything in the image. */
    .set KOFF, 0xffffffff80000000

    /* The PVH note (Xen's public/elfnote.h): an ELF note named "Xen" whose
       descriptor is the physical address of the 32-bit entry point. QEMU
       reads it from the PT_NOTE segment (x86.c, read_pvh_start_addr). */
    .section .note.Xen, "a", @note
    .balign 4
    .long 4                             /* name size: "Xen\0" */
    .long 8                             /* descriptor size */
    .long 18                            /* XEN_ELFNOTE_PHYS32_ENTRY */
    .asciz "Xen"
    .balign 4
    .quad _start32 - KOFF               /* physical entry address */
    .balign 4

    /* Boot page tables (zeroed with the rest of .bss below). One PML4,
       a PDPT for the low half and the direct map (shared), a PDPT for
       the top 2 GiB, and four page directories of 2 MiB pages. */
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

    /* The boot GDT: just enough to enter 64-bit mode. Descriptor bits
       (SDM Vol. 3A §3.4.5): present, DPL 0, code execute/read with L=1
       (64-bit), or data read/write. `gdt::init` replaces it. */
    .section .rodata.boot, "a"
    .balign 16
boot_gdt:
    .quad 0                             /* the mandatory null descriptor */
    .quad 0x00af9a000000ffff            /* 0x08: 64-bit code, ring 0 */
    .quad 0x00cf92000000ffff            /* 0x10: data, ring 0 */
boot_gdt_end:
boot_gdt_pointer:                       /* lgdt operand: limit, 32-bit base */
    .word boot_gdt_end - boot_gdt - 1
    .long boot_gdt - KOFF
no_long_mode_message:
    .asciz "Manux: this CPU has no 64-bit long mode; stopping.\r\n"

    .section .text.boot, "ax"
    .code32
    .global _start32
_start32:
    cli                                 /* PVH enters with IF clear; be sure */
    cld                                 /* string ops count up (rep stosl) */
    movl %ebx, %ebp                     /* hvm_start_info, kept in ebp */
    movl $(BOOT_STACK + {stack_bytes} - KOFF), %esp /* for the far return */

    /* 1. Long mode (CPUID 0x8000_0001 EDX bit 29) and NX (bit 20),
       SDM Vol. 2A CPUID, Table 3-8. CPUID clobbers eax/ebx/ecx/edx. */
    movl $0x80000000, %eax              /* highest extended leaf? */
    cpuid
    cmpl $0x80000001, %eax
    jb 90f                              /* no leaf 0x8000_0001: no long mode */
    movl $0x80000001, %eax
    cpuid
    btl $29, %edx                       /* LM */
    jnc 90f
    xorl %esi, %esi
    btl $20, %edx                       /* NX, into CF */
    adcl $0, %esi                       /* esi = 1 if NX */

    /* 2. Zero .bss, 4 bytes at a time (its bounds are 16-byte aligned,
       link.ld). The loader zero-fills it too; this does not rely on it. */
    movl $(__bss_start - KOFF), %edi
    movl $(__bss_end - KOFF), %ecx
    subl %edi, %ecx
    shrl $2, %ecx
    xorl %eax, %eax
    rep stosl
    movl %esi, (X86_NX_SUPPORTED - KOFF) /* now that .bss stays zeroed */

    /* 3. Boot page tables. The four PDs hold 2048 entries, each a 2 MiB
       page: address | present (0) | writable (1) | page size (7). */
    movl $(boot_pd - KOFF), %edi
    xorl %ecx, %ecx
1:  movl %ecx, %eax
    shll $21, %eax                      /* entry n maps n * 2 MiB */
    orl $0x83, %eax
    movl %eax, (%edi,%ecx,8)            /* high half stays 0: below 4 GiB */
    incl %ecx
    cmpl $2048, %ecx
    jb 1b
    /* PDPT entries 0-3 point at the four PDs: 0..4 GiB. */
    movl $(boot_pdpt_low - KOFF), %edi
    movl $(boot_pd - KOFF + 0x3), %eax  /* present | writable */
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

    /* 4. Enter IA-32e mode in the order SDM Vol. 3A §10.8.5 gives:
       CR4.PAE, CR3, EFER.LME, then CR0.PG. */
    movl %cr4, %eax
    orl $(1 << 5), %eax                 /* CR4.PAE */
    movl %eax, %cr4
    movl $(boot_pml4 - KOFF), %eax
    movl %eax, %cr3
    movl $0xc0000080, %ecx              /* IA32_EFER */
    rdmsr
    orl $(1 << 8), %eax                 /* EFER.LME */
    testl %esi, %esi
    jz 2f
    orl $(1 << 11), %eax                /* EFER.NXE, only if NX exists */
2:  wrmsr
    movl %cr0, %eax
    orl $0x80010001, %eax               /* CR0.PG | CR0.WP | CR0.PE */
    movl %eax, %cr0                     /* now in compatibility mode */
    lgdt (boot_gdt_pointer - KOFF)
    pushl $0x08                         /* far return to the 64-bit */
    pushl $(3f - KOFF)                  /* code segment: 64-bit mode */
    lret

    /* No long mode: say so on COM1 (port I/O needs no set-up; the
       UART's reset state is usable by QEMU) and stop. */
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
    /* 5. 64-bit mode, still at the physical address (identity map). */
3:  movw $0x10, %ax                     /* the boot GDT's data segment */
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movw %ax, %fs
    movw %ax, %gs
    movabsq $4f, %rax                   /* the link (upper-half) address */
    jmp *%rax
4:  movabsq $(BOOT_STACK + {stack_bytes}), %rsp /* same stack, upper half */
    movl %ebp, %edi                     /* zero-extends into rdi */
    xorl %ebp, %ebp                     /* end of the frame-pointer chain */
    call {boot_main}                    /* never returns */
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
    // The console first, so everything after can explain a failure; then
    // the CPU tables, so a fault is a report rather than a triple fault
    // (which QEMU turns into a silent reset or, with -no-reboot, an exit).
    serial::init();
    gdt::init();
    vectors::install();
    user_mode::init();

    // Everything the loader handed over is copied out now, while the boot
    // tables still map the low 4 GiB where it lies.
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
        unix_time: super::rtc::unix_time(),
    };
    // Free memory: RAM minus the image and the first MiB (see
    // `LOW_MEMORY`). Nothing else needs reserving: the start info was
    // copied, and the ACPI tables are outside RAM in the E820 map.
    for range in boot.ram.as_slice() {
        boot.truncated |= !boot.free_memory.push(*range);
    }
    let mut ok = subtract_range(&mut boot.free_memory, image);
    ok &= subtract_range(&mut boot.free_memory, LOW_MEMORY);
    if !ok {
        log_early("warning: memory map too fragmented; some RAM is left unused\n");
    }

    // Final page tables, then the heap inside their direct map; from here
    // on the pool of boot-time page tables can overflow into the heap.
    mmu::init_kernel_tables(boot.ram.as_slice());
    address_space::init();
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

    // The ACPI tables: PCI, interrupt controllers, power-off registers.
    // Devices: virtio-mmio slots named on the command line (microvm
    // without ACPI), else probed at microvm's fixed addresses.
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

    // Interrupt controllers, every line masked, then the timer frequencies
    // (measured with interrupts still off), then the console's receive
    // interrupt, the one line enabled before the kernel asks.
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
/// Slots named on the command line keep the command line's order.
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
    // Highest slot first: QEMU gives the first `-device` the highest free
    // transport, so this is `-device` order (and AArch64 `virt`'s order).
    for index in (0..count).rev() {
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
/// The tests of the banner only need `Manux <version> x86_64`; this is for
/// people: which of the machines this port knows it believes it is on,
/// judged from the ACPI tables (MCFG: PCI Express; FADT: hardware-reduced)
/// and the devices found.
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
