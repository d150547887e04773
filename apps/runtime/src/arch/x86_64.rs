// SPDX-License-Identifier: MIT OR Apache-2.0
//! x86_64: `_start`, `syscall`, and the hazards' instructions.
//!
//! # Start-up
//! The kernel enters `_start` in ring 3 with `rsp` on the initial stack
//! (`manux_abi::startup`), 16-byte aligned. The program is a static
//! position-independent executable linked at 0, so `_start` first applies
//! its own `R_X86_64_RELATIVE` relocations: the load bias is the run-time
//! address of `__ehdr_start` (the ELF header, at link address 0),
//! `.dynamic` gives `DT_RELA`/`DT_RELASZ`, and each `Elf64_Rela` becomes
//! `*(bias + r_offset) = bias + r_addend`. That assignment is idempotent,
//! so a loader that already relocated the image changes nothing by it; a
//! loader that did not need not. Any other relocation type stops the
//! program with `ud2` (the xtask refuses to install such a program). Then
//! `call __manux_start(rsp)`: `rsp` is 16-byte aligned before the call, as
//! the System V ABI wants. `rbp` is zeroed so a backtrace ends here.
//!
//! # System calls
//! `syscall` with the number in rax, arguments in rdi, rsi, rdx, r10, r8,
//! r9, the result in rax; the instruction itself clobbers rcx and r11.
//! The `x86_64-unknown-none` target is soft-float: programs never touch
//! the SSE registers, so the kernel need not save them for user code.

use core::arch::{asm, global_asm};

global_asm!(
    r#"
    .section .text._start, "ax", @progbits
    .global _start
    .type _start, @function
_start:
    xor     ebp, ebp
    mov     r12, rsp
    lea     r13, [rip + __ehdr_start]
    lea     rsi, [rip + _DYNAMIC]
    xor     edx, edx
    xor     ecx, ecx
.Ldynamic_loop:
    mov     rax, qword ptr [rsi]
    mov     r8, qword ptr [rsi + 8]
    add     rsi, 16
    test    rax, rax
    jz      .Ldynamic_done
    cmp     rax, 7
    cmove   rdx, r8
    cmp     rax, 8
    cmove   rcx, r8
    jmp     .Ldynamic_loop
.Ldynamic_done:
    add     rdx, r13
    add     rcx, rdx
.Lrelocation_loop:
    cmp     rdx, rcx
    jae     .Lrelocated
    mov     rax, qword ptr [rdx]
    mov     r8, qword ptr [rdx + 8]
    mov     r9, qword ptr [rdx + 16]
    add     rdx, 24
    cmp     r8d, 8
    jne     .Lunknown_relocation
    add     r9, r13
    mov     qword ptr [r13 + rax], r9
    jmp     .Lrelocation_loop
.Lunknown_relocation:
    ud2
.Lrelocated:
    mov     rdi, r12
    call    __manux_start
    ud2
    .size _start, . - _start
"#
);

/// Machine code for `mov edi, 66; mov eax, 0x0d580017; syscall; ud2`: a
/// program that executes it exits with status 66 (`exit` is call
/// `NATIVE_BASE + 23`).
pub const EXIT_66_CODE: &[u8] = &[
    0xbf, 0x42, 0x00, 0x00, 0x00, // mov edi, 66
    0xb8, 0x17, 0x00, 0x58, 0x0d, // mov eax, 0x0d580017
    0x0f, 0x05, // syscall
    0x0f, 0x0b, // ud2
];

/// Traps into the kernel with call `number`.
///
/// # Safety
/// 1. Every argument the call uses as a pointer must be valid for what the
///    call does through it: readable for the bytes it reads, writable (and
///    not otherwise borrowed) for the bytes it writes.
pub unsafe fn syscall(number: u64, arguments: [u64; 6]) -> u64 {
    let result;
    // SAFETY: `syscall` enters the kernel, which reads rax, rdi, rsi, rdx,
    // r10, r8, r9, writes rax and preserves everything else but rcx and
    // r11, which the instruction itself overwrites (Intel SDM vol. 2B,
    // SYSCALL); what it does to memory is the caller's obligation 1.
    unsafe {
        asm!(
            "syscall",
            inlateout("rax") number => result,
            in("rdi") arguments[0],
            in("rsi") arguments[1],
            in("rdx") arguments[2],
            in("r10") arguments[3],
            in("r8") arguments[4],
            in("r9") arguments[5],
            lateout("rcx") _,
            lateout("r11") _,
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
    // SAFETY: one `mov` load; its effects are the caller's obligation 1.
    unsafe {
        asm!("mov {value}, qword ptr [{address}]", address = in(reg) address, value = lateout(reg) value, options(nostack, readonly));
    }
    value
}

/// Stores `value` at `address`.
///
/// # Safety
/// 1. A store at `address` either faults (ending the process) or writes
///    bytes no Rust code of this process uses.
pub unsafe fn write_word(address: usize, value: u64) {
    // SAFETY: one `mov` store; its effects are the caller's obligation 1.
    unsafe {
        asm!("mov qword ptr [{address}], {value}", address = in(reg) address, value = in(reg) value, options(nostack));
    }
}

/// Executes `hlt`, which ring 3 may not: the CPU raises #GP (Intel SDM
/// vol. 2A, HLT: "#GP(0) if the current privilege level is not 0") and
/// the kernel must end the process. Returns only if it did not.
pub fn privileged_instruction() {
    // SAFETY: `hlt` touches no memory; at CPL 3 it faults.
    unsafe {
        asm!("hlt", options(nomem, nostack));
    }
}

/// Jumps to `address`.
///
/// # Safety
/// 1. The code at `address`, if it runs at all, never returns into this
///    program's Rust code.
pub unsafe fn jump(address: usize) -> ! {
    // SAFETY: a jump; what runs there is the caller's obligation 1.
    unsafe {
        asm!("jmp {address}", address = in(reg) address, options(noreturn, nostack));
    }
}
