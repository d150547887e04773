// SPDX-License-Identifier: MIT OR Apache-2.0
//! The Interrupt Descriptor Table, its entry stubs, and the first Rust code
//! of a trap.
//!
//! All 256 vectors get a 16-byte assembly stub. The CPU pushes `ss`, `rsp`,
//! `rflags`, `cs`, `rip` and, for some exceptions, an error code (*Intel
//! SDM* Vol. 3A §7.12.1 and Table 7-1); a stub pushes a zero in place of
//! the error code where the CPU pushes none, so every frame has the same
//! shape, then pushes its vector number and jumps to `trap_common`.
//!
//! A trap from ring 3 (CPL 3 in the saved `cs`) belongs to the process
//! that was running: `trap_common` hands it to `manux_user_trap`
//! ([`super::user_mode`]), which saves the user's registers into its
//! `UserContext` and returns from `UserContext::run` — never to the
//! kernel-fault report. Only NMI, double fault and machine check stay on
//! the kernel path from ring 3: they are machine events, not the
//! program's, and run on IST stacks of their own.
//!
//! A trap from ring 0 is the kernel's: `trap_common` saves the
//! general-purpose registers into a [`TrapFrame`] and calls [`trap_entry`],
//! which only decides *what* happened: device interrupts go to
//! [`crate::interrupts::dispatch`] through [`handle_interrupt`], exceptions
//! to a readable report and power-off with a failure status.
//! Plain assembly stubs keep the crate free of the unstable
//! `extern "x86-interrupt"` ABI; the split between a thin unsafe entry and
//! a safe dispatcher is Hubris's `syscall_entry` / `safe_syscall_entry`.
//!
//! Vector map (the first 32 belong to the CPU):
//!
//! | vectors | use |
//! |---|---|
//! | 0x00–0x1f | exceptions |
//! | 0x20 | local APIC timer ([`TIMER_VECTOR`]) |
//! | 0x30–0xdf | I/O APIC lines: GSI *n* arrives at `0x30 + n` |
//! | 0xe0–0xef | the legacy 8259 PICs, remapped and masked (spurious only) |
//! | 0xff | local APIC spurious vector |
//!
//! Double fault, NMI, machine check and debug run on their own stacks
//! (IST, see [`super::stacks`]). The breakpoint gate (#BP, `int3`) has
//! DPL 3, so `int3` in user code is reported as a breakpoint; every other
//! gate has DPL 0, so `int n` from ring 3 raises #GP (§7.12.1.1).

use super::stacks::{self, InterruptStack};
use super::{io_apic, local_apic, serial};
use crate::interrupts::{dispatch, InterruptNumber};
use crate::ExitStatus;
use core::fmt::Write;
use spin::Once;
use x86_64::registers::control::{Cr2, Cr3};
use x86_64::structures::idt::InterruptDescriptorTable;
use x86_64::{PrivilegeLevel, VirtAddr};

/// The local APIC timer's vector.
pub const TIMER_VECTOR: u8 = 0x20;
/// The vector of I/O APIC line (GSI) 0; GSI *n* uses `DEVICE_VECTOR_BASE + n`.
pub const DEVICE_VECTOR_BASE: u8 = 0x30;
/// One past the last device vector.
pub const DEVICE_VECTOR_END: u8 = 0xe0;
/// Where the 8259 PICs are remapped before being masked.
pub const LEGACY_PIC_VECTOR_BASE: u8 = 0xe0;
/// The local APIC's spurious-interrupt vector (its low four bits must be
/// ones on old APICs, *Intel SDM* Vol. 3A §11.9).
pub const SPURIOUS_VECTOR: u8 = 0xff;

/// The registers saved on entry, lowest address first. Layout shared with
/// the assembly below: fifteen general-purpose registers pushed by
/// `trap_common`, the vector and error code pushed by the stub, then the
/// frame the CPU pushed.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct TrapFrame {
    /// `r15` at the time of the trap (pushed by `trap_common`).
    pub r15: u64,
    /// `r14` at the time of the trap (pushed by `trap_common`).
    pub r14: u64,
    /// `r13` at the time of the trap (pushed by `trap_common`).
    pub r13: u64,
    /// `r12` at the time of the trap (pushed by `trap_common`).
    pub r12: u64,
    /// `r11` at the time of the trap (pushed by `trap_common`).
    pub r11: u64,
    /// `r10` at the time of the trap (pushed by `trap_common`).
    pub r10: u64,
    /// `r9` at the time of the trap (pushed by `trap_common`).
    pub r9: u64,
    /// `r8` at the time of the trap (pushed by `trap_common`).
    pub r8: u64,
    /// `rbp` at the time of the trap (pushed by `trap_common`).
    pub rbp: u64,
    /// `rdi` at the time of the trap (pushed by `trap_common`).
    pub rdi: u64,
    /// `rsi` at the time of the trap (pushed by `trap_common`).
    pub rsi: u64,
    /// `rdx` at the time of the trap (pushed by `trap_common`).
    pub rdx: u64,
    /// `rcx` at the time of the trap (pushed by `trap_common`).
    pub rcx: u64,
    /// `rbx` at the time of the trap (pushed by `trap_common`).
    pub rbx: u64,
    /// `rax` at the time of the trap (pushed by `trap_common`).
    pub rax: u64,
    /// The vector number, pushed by the stub.
    pub vector: u64,
    /// The CPU's error code, or 0 for vectors without one.
    pub error_code: u64,
    /// Where execution resumes.
    pub rip: u64,
    /// The interrupted code segment (its low two bits are the privilege level).
    pub cs: u64,
    /// The interrupted flags.
    pub rflags: u64,
    /// The interrupted stack pointer.
    pub rsp: u64,
    /// The interrupted stack segment.
    pub ss: u64,
}

const _: () = assert!(core::mem::size_of::<TrapFrame>() == 22 * 8);

/// Bytes per stub; the stubs are laid out at `interrupt_stubs + 16 * vector`.
const STUB_SIZE: u64 = 16;

// Vectors whose exceptions push an error code (Intel SDM Vol. 3A,
// Table 7-1): 8 #DF, 10 #TS, 11 #NP, 12 #SS, 13 #GP, 14 #PF, 17 #AC,
// 21 #CP, 29 #VC, 30 #SX — as a bit mask, tested by the assembler.
//
// The stack is 16-byte aligned when the CPU has pushed its frame (64-bit
// mode aligns it first, §7.14.2) and the stub its two words: 7 words.
// Fifteen more registers make 22 words, so `rsp` is 16-byte aligned at the
// `call` as the System V ABI wants. `cld` because the ABI also wants the
// direction flag clear on entry to Rust code.
core::arch::global_asm!(
    r#"
    .section .text.vectors, "ax"
    .balign 16
    .global interrupt_stubs
interrupt_stubs:
    /* 256 stubs, one every 16 bytes (at most 2 + 5 + 5 bytes of code
       each), so the IDT code can compute a stub's address. */
    .set vector, 0
    .rept 256
    .balign 16
    .if ((0x60227d00 >> vector) & 1) == 0
    pushq $0                            /* no CPU error code: a zero */
    .endif
    pushq $vector                       /* TrapFrame::vector */
    jmp trap_common
    .set vector, vector + 1
    .endr

    /* From ring 3 (the saved cs, at 24(%rsp), has RPL 3), except the
       machine events NMI (2), #DF (8) and #MC (18): the process's trap. */
trap_common:
    testb $3, 24(%rsp)
    jz 1f
    cmpq $2, (%rsp)
    je 1f
    cmpq $8, (%rsp)
    je 1f
    cmpq $18, (%rsp)
    je 1f
    jmp manux_user_trap

    /* Save the fifteen general-purpose registers (rsp is in the CPU's
       frame), in the reverse order of TrapFrame's fields. */
1:  pushq %rax
    pushq %rbx
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %rbp
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    cld                                 /* the ABI's DF = 0 */
    movq %rsp, %rdi                     /* &mut TrapFrame */
    call {trap_entry}
    /* Restore in reverse; drop vector and error code; return to the
       interrupted code with its rip, cs, rflags, rsp, ss (SDM Vol. 3A
       §7.14.4, IRET in 64-bit mode). */
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rbp
    popq %rdi
    popq %rsi
    popq %rdx
    popq %rcx
    popq %rbx
    popq %rax
    addq $16, %rsp
    iretq
    "#,
    trap_entry = sym trap_entry,
    options(att_syntax),
);

static IDT: Once<InterruptDescriptorTable> = Once::new();

/// The address of vector `vector`'s stub.
fn stub_address(vector: u8) -> VirtAddr {
    // Defined by the assembly above; only its address is used, so no
    // read of the "u8" ever happens.
    unsafe extern "C" {
        static interrupt_stubs: u8;
    }
    VirtAddr::new((&raw const interrupt_stubs) as u64 + u64::from(vector) * STUB_SIZE)
}

/// Builds the IDT and loads it (`lidt`). Called once, right after the GDT.
pub fn install() {
    let idt = IDT.call_once(|| {
        let mut idt = InterruptDescriptorTable::new();
        // The exceptions are named fields of different handler types in
        // the `x86_64` crate, so each is set by name; every one points at
        // the stub of its vector. Reserved vectors (15, 22–27, 31) stay
        // absent: taking one raises #GP, which is reported.
        macro_rules! gate {
            ($field:ident, $vector:expr) => {
                // SAFETY: the address is the stub for this vector, which
                // follows the frame layout the CPU pushes for it (with or
                // without error code, see the mask in the assembly).
                unsafe { idt.$field.set_handler_addr(stub_address($vector)) }
            };
        }
        gate!(divide_error, 0);
        let debug = gate!(debug, 1);
        // SAFETY: IST slot 4 holds the debug stack, used by no other
        // vector; nothing in the kernel single-steps or sets breakpoints,
        // so a #DB cannot nest inside another.
        unsafe { debug.set_stack_index(InterruptStack::Debug.index()) };
        let nmi = gate!(non_maskable_interrupt, 2);
        // SAFETY: IST slot 2 holds the NMI stack (set in `gdt::init`) and
        // no other vector uses it.
        unsafe { nmi.set_stack_index(InterruptStack::Nmi.index()) };
        // `int3` is allowed from ring 3 (a user breakpoint, reported to
        // the kernel as such) rather than turned into #GP.
        gate!(breakpoint, 3).set_privilege_level(PrivilegeLevel::Ring3);
        gate!(overflow, 4);
        gate!(bound_range_exceeded, 5);
        gate!(invalid_opcode, 6);
        gate!(device_not_available, 7);
        let double_fault = gate!(double_fault, 8);
        // SAFETY: IST slot 1 holds the double-fault stack, used by no
        // other vector; a double fault never returns, so it cannot nest.
        unsafe { double_fault.set_stack_index(InterruptStack::DoubleFault.index()) };
        gate!(invalid_tss, 10);
        gate!(segment_not_present, 11);
        gate!(stack_segment_fault, 12);
        gate!(general_protection_fault, 13);
        gate!(page_fault, 14);
        gate!(x87_floating_point, 16);
        gate!(alignment_check, 17);
        let machine_check = gate!(machine_check, 18);
        // SAFETY: IST slot 3 holds the machine-check stack, used by no
        // other vector.
        unsafe { machine_check.set_stack_index(InterruptStack::MachineCheck.index()) };
        gate!(simd_floating_point, 19);
        gate!(virtualization, 20);
        gate!(cp_protection_exception, 21);
        gate!(hv_injection_exception, 28);
        gate!(vmm_communication_exception, 29);
        gate!(security_exception, 30);
        for vector in 32..=255u8 {
            // SAFETY: as in `gate!`; interrupts push no error code.
            unsafe { idt[vector].set_handler_addr(stub_address(vector)) };
        }
        idt
    });
    idt.load();
}

/// Called by `trap_common` with the saved frame (a trap in ring 0, or a
/// machine event).
extern "C" fn trap_entry(frame: &mut TrapFrame) {
    match frame.vector {
        // A single-step trap on the first instruction of the `syscall`
        // entry: user code had TF set, `syscall` cleared it, and a CPU
        // may still report the step after `syscall` itself. Harmless (the
        // IST stack took the frame, not the user's `rsp`): continue.
        1 if super::user_mode::is_system_call_entry(frame.rip) => {}
        0..=31 => exception(frame),
        vector => handle_interrupt(vector as u8),
    }
}

/// An interrupt: decode the vector, signal end of interrupt, hand it on.
/// Also called by [`super::user_mode`] for an interrupt from ring 3.
pub(super) fn handle_interrupt(vector: u8) {
    if vector == SPURIOUS_VECTOR || vector >= LEGACY_PIC_VECTOR_BASE {
        // Spurious: no end-of-interrupt (Intel SDM Vol. 3A §11.9; a
        // masked 8259 can still raise IRQ 7/15 spuriously).
        return;
    }
    if vector == TIMER_VECTOR {
        // The timer reloads itself (periodic mode): EOI first, so a slow
        // handler cannot make the next tick wait behind this one.
        local_apic::end_of_interrupt();
        dispatch(InterruptNumber::TimerTick);
    } else if (DEVICE_VECTOR_BASE..DEVICE_VECTOR_END).contains(&vector) {
        let line = u32::from(vector - DEVICE_VECTOR_BASE);
        // The console's line is the UART's, whatever GSI an override put
        // it on; the kernel drains the UART, which drops the line.
        if Some(line) == io_apic::console_line() {
            dispatch(InterruptNumber::ConsoleReceive);
            local_apic::end_of_interrupt();
        } else {
            // End of interrupt after the handler: a level-triggered line
            // stays asserted until the driver has acknowledged its device,
            // and would be delivered again at once otherwise.
            dispatch(InterruptNumber::Device(line));
            local_apic::end_of_interrupt();
        }
    } else {
        local_apic::end_of_interrupt();
    }
}

/// Exception names (Intel SDM Vol. 3A, Table 7-1; AMD APM Vol. 2 §8.2).
fn exception_name(vector: u64) -> &'static str {
    // What each usually means in a kernel like this one, for whoever reads
    // a report: the name is printed, the comment is for the code reader.
    match vector {
        // Integer division by zero, or a quotient too large (`div`, `idiv`).
        0 => "#DE divide error",
        // A debug register or single-step trap: nothing sets them.
        1 => "#DB debug",
        // Hardware or hypervisor NMI (QEMU's `nmi` monitor command).
        2 => "NMI non-maskable interrupt",
        // `int3`: a breakpoint instruction left in the code.
        3 => "#BP breakpoint",
        // `into` with OF set: unused in 64-bit code.
        4 => "#OF overflow",
        // `bound`: invalid in 64-bit mode, so never raised.
        5 => "#BR bound range exceeded",
        // An undefined instruction (`ud2`, which Rust emits for traps).
        6 => "#UD invalid opcode",
        // An x87/SSE instruction with CR0.TS or EM set: no FPU use yet.
        7 => "#NM device not available",
        // A fault while delivering a fault: typically a stack overflow.
        8 => "#DF double fault",
        // Reserved since the 486.
        9 => "coprocessor segment overrun",
        // A bad TSS during a task switch or stack switch.
        10 => "#TS invalid TSS",
        // Loading a selector whose descriptor is not present.
        11 => "#NP segment not present",
        // A stack-segment problem, or a non-canonical stack address.
        12 => "#SS stack-segment fault",
        // Privilege violations, non-canonical addresses, bad selectors.
        13 => "#GP general protection",
        // An access the page tables do not allow (CR2 has the address).
        14 => "#PF page fault",
        // An unmasked x87 floating-point exception.
        16 => "#MF x87 floating-point error",
        // Unaligned access with CR0.AM and RFLAGS.AC set: never here.
        17 => "#AC alignment check",
        // The (virtual) hardware reports an internal error.
        18 => "#MC machine check",
        // An unmasked SSE floating-point exception.
        19 => "#XM SIMD floating-point exception",
        // EPT violation reflected to the guest (Intel VT-x).
        20 => "#VE virtualization exception",
        // Control-flow enforcement (CET): not enabled.
        21 => "#CP control protection",
        // AMD SEV-SNP and confidential-VM exceptions.
        28 => "#HV hypervisor injection",
        29 => "#VC VMM communication",
        30 => "#SX security exception",
        _ => "reserved vector",
    }
}

/// A console writer for reports that must not depend on the kernel.
struct ReportWriter;

impl Write for ReportWriter {
    fn write_str(&mut self, text: &str) -> core::fmt::Result {
        serial::write_bytes(text.as_bytes());
        Ok(())
    }
}

/// Explains a page-fault error code (Intel SDM Vol. 3A §5.7, Figure 5-12).
fn page_fault_cause(code: u64) -> &'static str {
    match (code & 1 != 0, code & 2 != 0, code & 0x10 != 0) {
        (_, _, true) => "instruction fetch",
        (false, false, false) => "read of an unmapped page",
        (false, true, false) => "write to an unmapped page",
        (true, false, false) => "read denied by the page's protection",
        (true, true, false) => "write to a read-only page",
    }
}

/// Reports an exception and powers off with a failure status. Only
/// exceptions in ring 0 (and machine events) come here — user code's go
/// back to the kernel through `UserContext::run` — so any fault is a
/// kernel bug.
fn exception(frame: &TrapFrame) -> ! {
    let mut out = ReportWriter;
    let _ = writeln!(
        out,
        "\nKERNEL BUG: unexpected exception: {} (vector {})",
        exception_name(frame.vector),
        frame.vector
    );
    let _ = writeln!(out, "  error code {:#x}", frame.error_code);
    if frame.vector == 14 {
        let _ = writeln!(
            out,
            "  cause      {}{}",
            page_fault_cause(frame.error_code),
            if frame.error_code & 4 != 0 {
                " in user mode"
            } else {
                " in kernel mode"
            }
        );
    }
    let _ = writeln!(
        out,
        "  rip    {:#018x}  cs  {:#06x}  rflags {:#010x}",
        frame.rip, frame.cs, frame.rflags
    );
    let _ = writeln!(out, "  rsp    {:#018x}  ss  {:#06x}", frame.rsp, frame.ss);
    // A fault in a guard page (see `stacks`) means a stack ran over.
    let faulting_address = Cr2::read_raw();
    let in_guard_page = stacks::guard_pages()
        .iter()
        .any(|&guard| faulting_address >= guard && faulting_address < guard + 4096);
    let _ = writeln!(
        out,
        "  cr2    {:#018x}  (faulting address{})",
        faulting_address,
        if in_guard_page {
            ": a stack's guard page, so a kernel stack overflow"
        } else {
            ""
        }
    );
    let _ = writeln!(
        out,
        "  cr3    {:#018x}",
        Cr3::read_raw().0.start_address().as_u64()
    );
    // The general-purpose registers in the order people read them (the
    // frame stores them in push order), two to a line.
    let registers = [
        ("rax", frame.rax),
        ("rbx", frame.rbx),
        ("rcx", frame.rcx),
        ("rdx", frame.rdx),
        ("rsi", frame.rsi),
        ("rdi", frame.rdi),
        ("rbp", frame.rbp),
        ("r8", frame.r8),
        ("r9", frame.r9),
        ("r10", frame.r10),
        ("r11", frame.r11),
        ("r12", frame.r12),
        ("r13", frame.r13),
        ("r14", frame.r14),
        ("r15", frame.r15),
    ];
    for pair in registers.chunks(2) {
        let _ = match pair {
            [(a, va), (b, vb)] => writeln!(out, "  {:<4} {:#018x}  {:<4} {:#018x}", a, va, b, vb),
            [(a, va)] => writeln!(out, "  {:<4} {:#018x}", a, va),
            _ => Ok(()),
        };
    }
    let _ = writeln!(out, "system halted");
    super::power::power_off(ExitStatus::Failure(3))
}
