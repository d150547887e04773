// SPDX-License-Identifier: MIT OR Apache-2.0
//! AArch64: `_start`, `svc #0`, and the hazards' instructions.
//!
//! # Start-up
//! The kernel enters `_start` at EL0 with `sp` on the initial stack
//! (`manux_abi::startup`). The program is a static position-independent
//! executable linked at 0, so `_start` first applies its own
//! `R_AARCH64_RELATIVE` relocations: the load bias is the run-time address
//! of `__ehdr_start` (the ELF header, at link address 0), `.dynamic` gives
//! `DT_RELA`/`DT_RELASZ`, and each `Elf64_Rela` becomes
//! `*(bias + r_offset) = bias + r_addend`. That assignment is idempotent, so
//! a loader that already relocated the image changes nothing by it; a
//! loader that did not need not. Any other relocation type stops the
//! program with `brk #1` (the xtask refuses to install such a program, so
//! this never happens). Only then does Rust code run: `__manux_start(sp)`.
//!
//! Registers x19 and x20 hold the stack pointer and the bias across the
//! loop (no call is made before `__manux_start`, so nothing needs saving).
//! The frame pointer and link register are zeroed so a backtrace ends here.
//!
//! # System calls
//! `svc #0` with the number in x8, arguments in x0–x5, the result in x0
//! (manux_abi's calling convention); the kernel preserves every other
//! register. The programs are built for `aarch64-unknown-none-softfloat`,
//! so they never touch the FP/SIMD registers and the kernel need not save
//! them for user code.

use core::arch::{asm, global_asm};

global_asm!(
    r#"
    .section .text._start, "ax", %progbits
    .global _start
    .type _start, %function
_start:
    mov     x29, xzr
    mov     x30, xzr
    mov     x19, sp
    adrp    x20, __ehdr_start
    add     x20, x20, :lo12:__ehdr_start
    adrp    x1, _DYNAMIC
    add     x1, x1, :lo12:_DYNAMIC
    mov     x2, xzr
    mov     x3, xzr
.Ldynamic_loop:
    ldp     x4, x5, [x1], #16
    cbz     x4, .Ldynamic_done
    cmp     x4, #7
    csel    x2, x5, x2, eq
    cmp     x4, #8
    csel    x3, x5, x3, eq
    b       .Ldynamic_loop
.Ldynamic_done:
    add     x2, x2, x20
    add     x3, x2, x3
.Lrelocation_loop:
    cmp     x2, x3
    b.hs    .Lrelocated
    ldp     x4, x5, [x2], #16
    ldr     x6, [x2], #8
    cmp     w5, #1027
    b.ne    .Lunknown_relocation
    add     x6, x6, x20
    str     x6, [x20, x4]
    b       .Lrelocation_loop
.Lunknown_relocation:
    brk     #1
.Lrelocated:
    mov     x0, x19
    bl      __manux_start
    brk     #2
    .size _start, . - _start
"#
);

/// Machine code for `mov x0, #66; mov x8, #0x0d580017; svc #0; brk #3`: a
/// program that executes it exits with status 66 (`exit` is call
/// `NATIVE_BASE + 23`).
pub const EXIT_66_CODE: &[u8] = &[
    0x40, 0x08, 0x80, 0xd2, // movz x0, #66
    0xe8, 0x02, 0x80, 0xd2, // movz x8, #0x17
    0x08, 0xab, 0xa1, 0xf2, // movk x8, #0x0d58, lsl #16
    0x01, 0x00, 0x00, 0xd4, // svc #0
    0x60, 0x00, 0x20, 0xd4, // brk #3
];

/// Traps into the kernel with call `number`.
///
/// # Safety
/// 1. Every argument the call uses as a pointer must be valid for what the
///    call does through it: readable for the bytes it reads, writable (and
///    not otherwise borrowed) for the bytes it writes.
pub unsafe fn syscall(number: u64, arguments: [u64; 6]) -> u64 {
    let result;
    // SAFETY: `svc #0` enters the kernel, which reads x8 and x0–x5, writes
    // x0 and preserves everything else (manux_abi's convention); what it
    // does to memory is the caller's obligation 1.
    unsafe {
        asm!(
            "svc #0",
            in("x8") number,
            inlateout("x0") arguments[0] => result,
            in("x1") arguments[1],
            in("x2") arguments[2],
            in("x3") arguments[3],
            in("x4") arguments[4],
            in("x5") arguments[5],
            options(nostack),
        );
    }
    result
}

/// Loads the 64-bit word at `address`, through the MMU as any load.
///
/// # Safety
/// 1. A load at `address` either faults (ending the process) or reads
///    bytes no Rust reference has mutable access to.
pub unsafe fn read_word(address: usize) -> u64 {
    let value;
    // SAFETY: one `ldr`; its effects are the caller's obligation 1.
    unsafe {
        asm!("ldr {value}, [{address}]", address = in(reg) address, value = lateout(reg) value, options(nostack, readonly));
    }
    value
}

/// Stores `value` at `address`.
///
/// # Safety
/// 1. A store at `address` either faults (ending the process) or writes
///    bytes no Rust code of this process uses.
pub unsafe fn write_word(address: usize, value: u64) {
    // SAFETY: one `str`; its effects are the caller's obligation 1.
    unsafe {
        asm!("str {value}, [{address}]", address = in(reg) address, value = in(reg) value, options(nostack));
    }
}

/// Reads `TTBR1_EL1`, which EL0 may not: the kernel must end the process
/// with an undefined-instruction exception (ARM ARM D19.2, `TTBR1_EL1`
/// accessibility: EL0 access is UNDEFINED). Returns only if it did not.
pub fn privileged_instruction() {
    let _value: u64;
    // SAFETY: the read has no effect on memory or on this program's state
    // other than the register it writes; at EL0 it traps.
    unsafe {
        asm!("mrs {value}, ttbr1_el1", value = out(reg) _value, options(nomem, nostack));
    }
}

/// Jumps to `address`.
///
/// # Safety
/// 1. The code at `address`, if it runs at all, never returns into this
///    program's Rust code.
pub unsafe fn jump(address: usize) -> ! {
    // SAFETY: a branch; what runs there is the caller's obligation 1.
    unsafe {
        asm!("br {address}", address = in(reg) address, options(noreturn, nostack));
    }
}
