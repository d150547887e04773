// SPDX-License-Identifier: MIT OR Apache-2.0
//! Running user code at EL0 and coming back at the next trap.
//!
//! [`UserContext::run`] is the only way into EL0. It saves the kernel's
//! callee-saved registers (x19–x30, d8–d15) and a pointer to the context on
//! the current kernel stack, loads the user's registers — general, FP/SIMD,
//! `SP_EL0`, `ELR_EL1`, `SPSR_EL1` (EL0t, interrupts unmasked) — and
//! `eret`s. Because `SP_EL1` is left pointing at that save area, the next
//! exception from EL0 arrives on the same stack: the lower-EL vector entries
//! ([`super::vectors`]) branch to `user_trap`, which stores every user
//! register into the context, records the exception (kind, `ESR_EL1`,
//! `FAR_EL1`), restores the kernel's registers and returns from `run` as if
//! it were an ordinary call. The kernel then decodes the cause in safe
//! code, like Hubris's split of `syscall_entry` and `safe_syscall_entry`.
//!
//! FP/SIMD registers are saved and restored on every trap, since the kernel
//! itself is compiled to use them.

use super::vectors;
use crate::user::{Access, TrapCause, UserRegisters};

/// Everything user code can see of the CPU, saved while the kernel runs.
#[repr(C, align(16))]
#[derive(Clone, Debug)]
pub struct UserContext {
    /// x0–x30.
    x: [u64; 31],
    /// The user stack pointer.
    sp_el0: u64,
    /// The user program counter.
    elr: u64,
    /// The user processor state.
    spsr: u64,
    /// Which vector entry the last trap came through (8–15).
    kind: u64,
    /// `ESR_EL1` of the last trap.
    syndrome: u64,
    /// `FAR_EL1` of the last trap.
    fault_address: u64,
    /// `TPIDR_EL0`, the user's thread pointer: user code writes it
    /// itself, so it is read back after every trap and written before
    /// every entry ([`UserContext::run`]); the kernel never uses it.
    thread_pointer: u64,
    /// q0–q31.
    vector_registers: [u128; 32],
    /// `FPCR`.
    fp_control: u64,
    /// `FPSR`.
    fp_status: u64,
}

const OFFSET_KIND: usize = 272;
const OFFSET_VECTOR: usize = 304;
const OFFSET_FP_CONTROL: usize = OFFSET_VECTOR + 512;
const _: () = {
    assert!(core::mem::offset_of!(UserContext, kind) == OFFSET_KIND);
    assert!(core::mem::offset_of!(UserContext, vector_registers) == OFFSET_VECTOR);
    assert!(core::mem::offset_of!(UserContext, fp_control) == OFFSET_FP_CONTROL);
};

/// Bytes `run` keeps on the kernel stack: x19–x30, d8–d15, the context
/// pointer, padding to 16.
pub(super) const RUN_SAVE_BYTES: usize = 176;
/// Where in that area the context pointer is.
pub(super) const RUN_SAVE_CONTEXT: usize = 160;

core::arch::global_asm!(
    r#"
    .section .text.user_mode, "ax"
    .global manux_run_user
// x0 = &mut UserContext
manux_run_user:
    msr     daifset, #0xf
    sub     sp, sp, #{save}
    stp     x19, x20, [sp, #0]
    stp     x21, x22, [sp, #16]
    stp     x23, x24, [sp, #32]
    stp     x25, x26, [sp, #48]
    stp     x27, x28, [sp, #64]
    stp     x29, x30, [sp, #80]
    stp     d8, d9, [sp, #96]
    stp     d10, d11, [sp, #112]
    stp     d12, d13, [sp, #128]
    stp     d14, d15, [sp, #144]
    str     x0, [sp, #{context}]

    add     x1, x0, #{vector}
    ldp     q0, q1, [x1, #0]
    ldp     q2, q3, [x1, #32]
    ldp     q4, q5, [x1, #64]
    ldp     q6, q7, [x1, #96]
    ldp     q8, q9, [x1, #128]
    ldp     q10, q11, [x1, #160]
    ldp     q12, q13, [x1, #192]
    ldp     q14, q15, [x1, #224]
    ldp     q16, q17, [x1, #256]
    ldp     q18, q19, [x1, #288]
    ldp     q20, q21, [x1, #320]
    ldp     q22, q23, [x1, #352]
    ldp     q24, q25, [x1, #384]
    ldp     q26, q27, [x1, #416]
    ldp     q28, q29, [x1, #448]
    ldp     q30, q31, [x1, #480]
    add     x1, x1, #512
    ldp     x2, x3, [x1]
    msr     fpcr, x2
    msr     fpsr, x3

    ldp     x2, x3, [x0, #256]
    msr     elr_el1, x2
    msr     spsr_el1, x3
    ldp     x30, x2, [x0, #240]
    msr     sp_el0, x2
    ldp     x28, x29, [x0, #224]
    ldp     x26, x27, [x0, #208]
    ldp     x24, x25, [x0, #192]
    ldp     x22, x23, [x0, #176]
    ldp     x20, x21, [x0, #160]
    ldp     x18, x19, [x0, #144]
    ldp     x16, x17, [x0, #128]
    ldp     x14, x15, [x0, #112]
    ldp     x12, x13, [x0, #96]
    ldp     x10, x11, [x0, #80]
    ldp     x8, x9, [x0, #64]
    ldp     x6, x7, [x0, #48]
    ldp     x4, x5, [x0, #32]
    ldp     x2, x3, [x0, #16]
    ldp     x0, x1, [x0, #0]
    eret

    .global manux_user_trap
// Entered from a lower-EL vector with x1 = kind, the user's x0/x1 pushed
// at [sp], and the `run` save area right above them.
manux_user_trap:
    ldr     x0, [sp, #(16 + {context})]
    stp     x2, x3, [x0, #16]
    stp     x4, x5, [x0, #32]
    stp     x6, x7, [x0, #48]
    stp     x8, x9, [x0, #64]
    stp     x10, x11, [x0, #80]
    stp     x12, x13, [x0, #96]
    stp     x14, x15, [x0, #112]
    stp     x16, x17, [x0, #128]
    stp     x18, x19, [x0, #144]
    stp     x20, x21, [x0, #160]
    stp     x22, x23, [x0, #176]
    stp     x24, x25, [x0, #192]
    stp     x26, x27, [x0, #208]
    stp     x28, x29, [x0, #224]
    mrs     x2, sp_el0
    stp     x30, x2, [x0, #240]
    mrs     x2, elr_el1
    mrs     x3, spsr_el1
    stp     x2, x3, [x0, #256]
    ldp     x2, x3, [sp], #16
    stp     x2, x3, [x0, #0]
    mrs     x2, esr_el1
    mrs     x3, far_el1
    str     x1, [x0, #{kind}]
    stp     x2, x3, [x0, #({kind} + 8)]

    add     x1, x0, #{vector}
    stp     q0, q1, [x1, #0]
    stp     q2, q3, [x1, #32]
    stp     q4, q5, [x1, #64]
    stp     q6, q7, [x1, #96]
    stp     q8, q9, [x1, #128]
    stp     q10, q11, [x1, #160]
    stp     q12, q13, [x1, #192]
    stp     q14, q15, [x1, #224]
    stp     q16, q17, [x1, #256]
    stp     q18, q19, [x1, #288]
    stp     q20, q21, [x1, #320]
    stp     q22, q23, [x1, #352]
    stp     q24, q25, [x1, #384]
    stp     q26, q27, [x1, #416]
    stp     q28, q29, [x1, #448]
    stp     q30, q31, [x1, #480]
    mrs     x2, fpcr
    mrs     x3, fpsr
    add     x1, x1, #512
    stp     x2, x3, [x1]

    ldp     x19, x20, [sp, #0]
    ldp     x21, x22, [sp, #16]
    ldp     x23, x24, [sp, #32]
    ldp     x25, x26, [sp, #48]
    ldp     x27, x28, [sp, #64]
    ldp     x29, x30, [sp, #80]
    ldp     d8, d9, [sp, #96]
    ldp     d10, d11, [sp, #112]
    ldp     d12, d13, [sp, #128]
    ldp     d14, d15, [sp, #144]
    add     sp, sp, #{save}
    ret
    "#,
    save = const RUN_SAVE_BYTES,
    context = const RUN_SAVE_CONTEXT,
    vector = const OFFSET_VECTOR,
    kind = const OFFSET_KIND,
);

unsafe extern "C" {
    fn manux_run_user(context: *mut UserContext);
}

// Vector kinds (see `vectors::KIND_NAMES`).
const KIND_SYNCHRONOUS: u64 = 8;
const KIND_IRQ: u64 = 9;

impl UserContext {
    /// Runs the user code this context describes in the currently active
    /// address space until it traps; returns why. Interrupts are masked on
    /// return; an interrupt from EL0 has already been delivered to the
    /// kernel's handler.
    pub fn run(&mut self) -> TrapCause {
        // Only EL0t with interrupts unmasked may be entered: whatever the
        // kernel stored in `spsr`, user code never runs privileged.
        self.spsr &= !0x3cf;
        // SAFETY: `TPIDR_EL0` is the EL0 software thread register; the
        // kernel (built without thread-local storage) never reads it, so
        // writing it changes only what the user code finds there.
        unsafe {
            core::arch::asm!("msr tpidr_el0, {}", in(reg) self.thread_pointer,
                options(nomem, nostack, preserves_flags))
        };
        // SAFETY: `self` is a valid, exclusively borrowed context for the
        // whole call; `manux_run_user` saves and restores every
        // callee-saved register the AAPCS64 requires (x19–x30, d8–d15) and
        // the stack pointer, returning normally when the user traps.
        unsafe { manux_run_user(self) };
        let thread_pointer: u64;
        // SAFETY: reading `TPIDR_EL0` has no effect; it holds what the
        // user code left there (nothing in the kernel writes it).
        unsafe {
            core::arch::asm!("mrs {}, tpidr_el0", out(reg) thread_pointer,
                options(nomem, nostack, preserves_flags))
        };
        self.thread_pointer = thread_pointer;
        self.cause()
    }

    fn cause(&mut self) -> TrapCause {
        match self.kind {
            KIND_IRQ => {
                vectors::handle_interrupt();
                TrapCause::Interrupt
            }
            KIND_SYNCHRONOUS => {
                let class = (self.syndrome >> 26) & 0x3f;
                let address = self.elr;
                match class {
                    0x15 => TrapCause::SystemCall,
                    0x20 => TrapCause::PageFault {
                        address: self.fault_address,
                        access: Access::Execute,
                    },
                    0x24 => {
                        // ISS.WnR (bit 6): the abort was on a write.
                        let access = if self.syndrome & (1 << 6) != 0 {
                            Access::Write
                        } else {
                            Access::Read
                        };
                        TrapCause::PageFault {
                            address: self.fault_address,
                            access,
                        }
                    }
                    0x00 | 0x0e | 0x18 => TrapCause::IllegalInstruction { address },
                    _ => TrapCause::Other {
                        code: self.syndrome,
                        address,
                    },
                }
            }
            _ => TrapCause::Other {
                code: self.kind,
                address: self.elr,
            },
        }
    }

    /// The user stack pointer.
    pub fn stack_pointer(&self) -> u64 {
        self.sp_el0
    }

    /// Sets argument register `index` (0–7) before the first run.
    pub fn set_argument(&mut self, index: usize, value: u64) {
        if let Some(register) = self.x.get_mut(index) {
            *register = value;
        }
    }
}

/// The user registers a signal frame saves and `rt_sigreturn` restores
/// (Linux's `struct sigcontext` and `fpsimd_context`), as plain values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignalRegisters {
    /// x0–x30.
    pub x: [u64; 31],
    /// The stack pointer (`SP_EL0`).
    pub sp: u64,
    /// The program counter (`ELR_EL1`).
    pub pc: u64,
    /// The processor state (`SPSR_EL1`).
    pub pstate: u64,
    /// `FPSR`.
    pub fp_status: u32,
    /// `FPCR`.
    pub fp_control: u32,
    /// q0–q31.
    pub vector: [u128; 32],
}

/// `PSTATE` bits a program may set through `rt_sigreturn`: N, Z, C, V
/// (31–28), DIT (24) and SSBS (12). Everything else — the exception
/// level and stack selection (M), the interrupt masks (DAIF), PAN, UAO,
/// single step, illegal execution — comes from the kernel.
const PSTATE_USER_WRITABLE: u64 = 0xf000_0000 | (1 << 24) | (1 << 12);

/// `svc` is one 4-byte instruction.
const SYSTEM_CALL_INSTRUCTION_BYTES: u64 = 4;

impl UserContext {
    /// The registers as a signal frame saves them.
    pub fn signal_registers(&self) -> SignalRegisters {
        SignalRegisters {
            x: self.x,
            sp: self.sp_el0,
            pc: self.elr,
            pstate: self.spsr & PSTATE_USER_WRITABLE,
            fp_status: self.fp_status as u32,
            fp_control: self.fp_control as u32,
            vector: self.vector_registers,
        }
    }

    /// Loads `registers` (a handler's start, or what `rt_sigreturn`
    /// read from a frame the program may have forged): only the
    /// [`PSTATE_USER_WRITABLE`] bits of `pstate` are taken, so user code
    /// always runs at EL0t with interrupts unmasked; any `pc` or `sp` is
    /// the program's own to fault on.
    pub fn set_signal_registers(&mut self, registers: &SignalRegisters) {
        self.x = registers.x;
        self.sp_el0 = registers.sp;
        self.elr = registers.pc;
        self.spsr = registers.pstate & PSTATE_USER_WRITABLE;
        self.fp_status = u64::from(registers.fp_status);
        self.fp_control = u64::from(registers.fp_control);
        self.vector_registers = registers.vector;
    }

    /// Makes the system call just made run again on the next entry: the
    /// program counter back on the `svc`, the first argument (which the
    /// result overwrote) back in x0; the number is still in x8.
    pub fn rewind_system_call(&mut self, _number: u64, first_argument: u64) {
        self.x[0] = first_argument;
        self.elr = self.elr.wrapping_sub(SYSTEM_CALL_INSTRUCTION_BYTES);
    }
}

impl UserRegisters for UserContext {
    fn new(entry: u64, stack: u64) -> Self {
        UserContext {
            x: [0; 31],
            sp_el0: stack,
            elr: entry,
            spsr: 0, // EL0t, DAIF clear
            kind: 0,
            syndrome: 0,
            fault_address: 0,
            thread_pointer: 0,
            vector_registers: [0; 32],
            fp_control: 0,
            fp_status: 0,
        }
    }

    fn system_call_number(&self) -> u64 {
        self.x[8]
    }

    fn system_call_arguments(&self) -> [u64; 6] {
        [
            self.x[0], self.x[1], self.x[2], self.x[3], self.x[4], self.x[5],
        ]
    }

    fn set_system_call_result(&mut self, value: u64) {
        self.x[0] = value;
    }

    fn instruction_pointer(&self) -> u64 {
        self.elr
    }

    fn thread_pointer(&self) -> u64 {
        self.thread_pointer
    }

    fn set_thread_pointer(&mut self, value: u64) {
        self.thread_pointer = value;
    }

    fn set_stack_pointer(&mut self, value: u64) {
        self.sp_el0 = value;
    }
}
