// SPDX-License-Identifier: MIT OR Apache-2.0
//! The AArch64 exception vector table and the first Rust code of a trap.
//!
//! `VBAR_EL1` points at a 2 KiB-aligned table of sixteen 128-byte entries
//! (*Arm ARM* D1.10.2): {synchronous, IRQ, FIQ, SError} × {current EL with
//! SP_EL0, current EL with SP_ELx, lower EL AArch64, lower EL AArch32}.
//! Every entry saves the interrupted context into a [`TrapFrame`] on the
//! current stack and calls [`trap_entry`] with the frame and the entry's
//! number; that function only decodes *what* happened and hands it on:
//! interrupts to [`crate::interrupts::dispatch`], anything unexpected to a
//! readable report followed by power-off with a failure status.
//!
//! The trap entry is kept thin and the decisions safe, as in Hubris's
//! `syscall_entry` / `safe_syscall_entry` split.

use super::{gic, timer, uart};
use crate::interrupts::{dispatch, InterruptNumber};
use crate::ExitStatus;
use aarch64_cpu::registers::{ESR_EL1, FAR_EL1, VBAR_EL1};
use core::fmt::Write;
use tock_registers::interfaces::{Readable, Writeable};

/// The registers saved on entry to the kernel. Layout shared with the
/// assembly below: `x[0..31]`, then `sp_el0`, `elr_el1`, `spsr_el1`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct TrapFrame {
    /// General-purpose registers x0–x30.
    pub x: [u64; 31],
    /// The interrupted stack pointer of EL0.
    pub sp_el0: u64,
    /// Where execution resumes (`ELR_EL1`).
    pub elr: u64,
    /// The interrupted processor state (`SPSR_EL1`).
    pub spsr: u64,
}

const FRAME_SIZE: usize = core::mem::size_of::<TrapFrame>();
const _: () = assert!(FRAME_SIZE == 34 * 8 && FRAME_SIZE % 16 == 0);

core::arch::global_asm!(
    r#"
.macro VECTOR kind
    .balign 0x80
    sub     sp, sp, #{frame}
    stp     x0, x1, [sp, #0]
    mov     x0, #\kind
    b       trap_common
.endm

// Exceptions from EL0 arrive on the kernel stack `UserContext::run` left
// in SP_EL1; `manux_user_trap` saves the user registers into the context
// and returns from `run` (see `user_mode`).
.macro VECTOR_USER kind
    .balign 0x80
    stp     x0, x1, [sp, #-16]!
    mov     x1, #\kind
    b       manux_user_trap
.endm

    .section .text.vectors, "ax"
    .balign 0x800
    .global exception_vectors
exception_vectors:
    VECTOR 0
    VECTOR 1
    VECTOR 2
    VECTOR 3
    VECTOR 4
    VECTOR 5
    VECTOR 6
    VECTOR 7
    VECTOR_USER 8
    VECTOR_USER 9
    VECTOR_USER 10
    VECTOR_USER 11
    VECTOR_USER 12
    VECTOR_USER 13
    VECTOR_USER 14
    VECTOR_USER 15

trap_common:
    stp     x2, x3, [sp, #16]
    stp     x4, x5, [sp, #32]
    stp     x6, x7, [sp, #48]
    stp     x8, x9, [sp, #64]
    stp     x10, x11, [sp, #80]
    stp     x12, x13, [sp, #96]
    stp     x14, x15, [sp, #112]
    stp     x16, x17, [sp, #128]
    stp     x18, x19, [sp, #144]
    stp     x20, x21, [sp, #160]
    stp     x22, x23, [sp, #176]
    stp     x24, x25, [sp, #192]
    stp     x26, x27, [sp, #208]
    stp     x28, x29, [sp, #224]
    mrs     x2, sp_el0
    stp     x30, x2, [sp, #240]
    mrs     x2, elr_el1
    mrs     x3, spsr_el1
    stp     x2, x3, [sp, #256]
    mov     x1, x0                      // kind
    mov     x0, sp                      // frame
    bl      {trap_entry}
    ldp     x2, x3, [sp, #256]
    msr     elr_el1, x2
    msr     spsr_el1, x3
    ldp     x30, x2, [sp, #240]
    msr     sp_el0, x2
    ldp     x28, x29, [sp, #224]
    ldp     x26, x27, [sp, #208]
    ldp     x24, x25, [sp, #192]
    ldp     x22, x23, [sp, #176]
    ldp     x20, x21, [sp, #160]
    ldp     x18, x19, [sp, #144]
    ldp     x16, x17, [sp, #128]
    ldp     x14, x15, [sp, #112]
    ldp     x12, x13, [sp, #96]
    ldp     x10, x11, [sp, #80]
    ldp     x8, x9, [sp, #64]
    ldp     x6, x7, [sp, #48]
    ldp     x4, x5, [sp, #32]
    ldp     x2, x3, [sp, #16]
    ldp     x0, x1, [sp, #0]
    add     sp, sp, #{frame}
    eret
    "#,
    frame = const FRAME_SIZE,
    trap_entry = sym trap_entry,
);

/// Points `VBAR_EL1` at the table.
pub fn install() {
    unsafe extern "C" {
        static exception_vectors: u8;
    }
    VBAR_EL1.set((&raw const exception_vectors) as u64);
    aarch64_cpu::asm::barrier::isb(aarch64_cpu::asm::barrier::SY);
}

/// The sixteen vector entries, in table order.
const KIND_NAMES: [&str; 16] = [
    "synchronous (EL1, SP_EL0)",
    "IRQ (EL1, SP_EL0)",
    "FIQ (EL1, SP_EL0)",
    "SError (EL1, SP_EL0)",
    "synchronous (EL1)",
    "IRQ (EL1)",
    "FIQ (EL1)",
    "SError (EL1)",
    "synchronous (EL0)",
    "IRQ (EL0)",
    "FIQ (EL0)",
    "SError (EL0)",
    "synchronous (EL0, AArch32)",
    "IRQ (EL0, AArch32)",
    "FIQ (EL0, AArch32)",
    "SError (EL0, AArch32)",
];

/// Called by `trap_common` with the saved frame and the entry number.
extern "C" fn trap_entry(frame: &mut TrapFrame, kind: u64) {
    match kind {
        1 | 5 => handle_interrupt(),
        _ => unexpected_exception(frame, kind as usize),
    }
}

pub(super) fn handle_interrupt() {
    let id = gic::acknowledge();
    if id >= gic::SPURIOUS {
        return;
    }
    if id == timer::interrupt() {
        timer::rearm();
        gic::end_of_interrupt(id);
        dispatch(InterruptNumber::TimerTick);
    } else if id == super::console_interrupt() {
        // Clear first, then drain: a byte arriving while the handler drains
        // raises the interrupt again instead of being cleared with the rest
        // (QEMU's PL011 raises it only on the FIFO's first byte).
        uart::clear_receive_interrupt();
        gic::end_of_interrupt(id);
        dispatch(InterruptNumber::ConsoleReceive);
    } else {
        gic::end_of_interrupt(id);
        dispatch(InterruptNumber::Device(id));
    }
}

/// Exception classes worth naming (*Arm ARM* D17.2.37, ESR_ELx.EC).
fn exception_class_name(class: u64) -> &'static str {
    match class {
        0x00 => "unknown reason (undefined instruction)",
        0x01 => "trapped WFI/WFE",
        0x07 => "FP/SIMD access trapped",
        0x0e => "illegal execution state",
        0x15 => "SVC from AArch64",
        0x16 => "HVC from AArch64",
        0x17 => "SMC from AArch64",
        0x18 => "trapped system register access",
        0x20 => "instruction abort from a lower EL",
        0x21 => "instruction abort at the same EL",
        0x22 => "PC alignment fault",
        0x24 => "data abort from a lower EL",
        0x25 => "data abort at the same EL",
        0x26 => "SP alignment fault",
        0x2f => "SError",
        0x3c => "BRK instruction",
        _ => "other",
    }
}

/// A console writer for reports that must not depend on the kernel.
struct ReportWriter;

impl Write for ReportWriter {
    fn write_str(&mut self, text: &str) -> core::fmt::Result {
        uart::write_bytes(text.as_bytes());
        Ok(())
    }
}

fn unexpected_exception(frame: &TrapFrame, kind: usize) -> ! {
    let syndrome = ESR_EL1.get();
    let class = (syndrome >> 26) & 0x3f;
    let mut out = ReportWriter;
    let _ = writeln!(
        out,
        "\nKERNEL BUG: unexpected exception: {}",
        KIND_NAMES.get(kind).copied().unwrap_or("?")
    );
    let _ = writeln!(
        out,
        "  class   {:#04x} ({})",
        class,
        exception_class_name(class)
    );
    let _ = writeln!(out, "  syndrome {:#010x}", syndrome);
    let _ = writeln!(out, "  faulting address (FAR_EL1) {:#018x}", FAR_EL1.get());
    let _ = writeln!(out, "  return address (ELR_EL1)   {:#018x}", frame.elr);
    let _ = writeln!(out, "  processor state (SPSR_EL1) {:#010x}", frame.spsr);
    for (index, pair) in frame.x.chunks(2).enumerate() {
        let _ = match pair {
            [a, b] => writeln!(
                out,
                "  x{:<2} {:#018x}  x{:<2} {:#018x}",
                index * 2,
                a,
                index * 2 + 1,
                b
            ),
            [a] => writeln!(out, "  x{:<2} {:#018x}", index * 2, a),
            _ => Ok(()),
        };
    }
    let _ = writeln!(out, "system halted");
    super::psci::power_off(ExitStatus::Failure(3))
}
