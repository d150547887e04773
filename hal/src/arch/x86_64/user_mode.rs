// SPDX-License-Identifier: MIT OR Apache-2.0
//! Running user code in ring 3 and coming back at the next trap.
//!
//! [`UserContext::run`] is the only way into ring 3. It saves the kernel's
//! callee-saved registers (`rbp`, `rbx`, `r12`–`r15`) and a pointer to the
//! context on the current kernel stack, and records that stack pointer
//! — the *save area* — in the TSS's `rsp0`. Then it loads the user's
//! SSE/x87 state (`fxrstor64`), data segment selectors and general
//! registers and `iretq`s to ring 3 with the user's `rip`, `rsp` and
//! `rflags` (interrupts enabled, `IOPL` 0) and the user code and stack
//! selectors (*Intel SDM* Vol. 3A §7.14.4; Vol. 2A, IRET).
//!
//! The next trap from ring 3 comes back here in one of two ways:
//! - **an exception or interrupt**: the CPU switches to `rsp0` (or, for
//!   #DB, to its IST stack) and pushes `ss`, `rsp`, `rflags`, `cs`, `rip`
//!   and maybe an error code (§7.14.2); the vector's stub in
//!   [`super::vectors`] pushes the vector number and, seeing CPL 3 in the
//!   saved `cs`, jumps to `manux_user_trap`;
//! - **`syscall`**: the CPU loads `rip` from `IA32_LSTAR`, the kernel
//!   selectors from `IA32_STAR`, saves the user's `rip` in `rcx` and
//!   `rflags` in `r11`, clears the `rflags` bits named in `IA32_FMASK`
//!   (IF, TF, DF, AC, NT, IOPL) — and leaves `rsp` alone (Vol. 2B,
//!   SYSCALL). `manux_syscall_entry` parks the user's `rsp` in a static,
//!   loads `rsp0` and pushes the same five-word frame the CPU would, with
//!   vector [`SYSTEM_CALL_VECTOR`], then joins `manux_user_trap`.
//!
//! `manux_user_trap` stores every user register into the context (which
//! it finds through `rsp0`), the trap's vector and error code, CR2 for a
//! page fault, the data segment selectors and the SSE/x87 state
//! (`fxsave64`), clears `rflags` (interrupts stay masked, DF and AC
//! clear for Rust), then restores the kernel's registers from the save
//! area and returns from `run` as if it were an ordinary call. The kernel
//! decodes the cause in safe code ([`UserContext::run`]), like Hubris's
//! split of `syscall_entry` and `safe_syscall_entry`; an interrupt is
//! delivered there, through [`super::vectors::handle_interrupt`], before
//! `run` reports [`TrapCause::Interrupt`].
//!
//! One CPU: `rsp0` and the syscall scratch slot are single, and nothing
//! uses `swapgs` or GS (the kernel keeps no per-CPU data in a segment).
//! The return to ring 3 is always `iretq`: unlike `sysretq` it cannot
//! fault in ring 0 on a non-canonical `rip` — `run` never enters with a
//! `rip` outside the user half anyway — and restores every register.
//!
//! User code is not allowed port I/O: `IOPL` is forced to 0 and the TSS
//! has no I/O permission bitmap, so `in`/`out` raise #GP (§19.5), as do
//! `cli`, `hlt`, `mov cr3` and the like (§6.9, privileged instructions):
//! all reported as [`TrapCause::ProtectionFault`] (an undefined
//! instruction, #UD, as [`TrapCause::IllegalInstruction`]).
//!
//! The SSE/x87 state is saved and restored on every trap although the
//! kernel itself is built soft-float (`x86_64-unknown-none`) and never
//! touches it: other processes run between two traps of this one. AVX
//! (`XCR0`, `xsave`) is not enabled, so AVX instructions raise #UD.

use super::gdt::{RSP0_OFFSET, TASK_STATE, USER_CODE_SELECTOR, USER_DATA_SELECTOR};
use super::{gdt, vectors};
use crate::user::{Access, TrapCause, UserRegisters, USER_END};
use core::arch::x86_64::__cpuid_count;

/// The vector number recorded for a `syscall` (beyond the IDT's 256).
pub const SYSTEM_CALL_VECTOR: u64 = 256;

/// The page-fault vector (#PF).
const PAGE_FAULT_VECTOR: u64 = 14;
/// Invalid opcode (#UD): an undefined instruction.
const INVALID_OPCODE_VECTOR: u64 = 6;
/// General protection (#GP): a privileged instruction in ring 3, port I/O,
/// a non-canonical address, a bad selector, `int n` to a kernel gate.
const GENERAL_PROTECTION_VECTOR: u64 = 13;
/// The first vector that is an interrupt rather than an exception.
const FIRST_INTERRUPT_VECTOR: u64 = 32;

// Page-fault error code bits (*Intel SDM* Vol. 3A §5.7, Figure 5-12).
/// W/R: the access was a write.
const PAGE_FAULT_WRITE: u64 = 1 << 1;
/// I/D: the access was an instruction fetch (reported with `EFER.NXE`).
const PAGE_FAULT_FETCH: u64 = 1 << 4;

// RFLAGS bits (*Intel SDM* Vol. 1 §3.4.3).
/// Bit 1 always reads as one.
const FLAGS_RESERVED_ONE: u64 = 1 << 1;
/// IF: interrupts enabled.
const FLAGS_INTERRUPT_ENABLE: u64 = 1 << 9;
/// What user code may set: CF, PF, AF, ZF, SF, TF, DF, OF, AC, ID. Never
/// IOPL (port I/O), NT (nested task), RF, VM, VIF or VIP.
const FLAGS_USER_WRITABLE: u64 = 0x0000_0dd5 | (1 << 18) | (1 << 21);
/// Cleared on `syscall` (IA32_FMASK): TF, IF, DF, IOPL, NT, AC — the
/// kernel runs with interrupts masked, no single-stepping, DF = 0 as the
/// ABI wants, and AC = 0 so SMAP stays in force.
const SYSCALL_FLAGS_MASK: u64 = 0x0004_7700;

// Model-specific registers (*Intel SDM* Vol. 4, Table 2-2).
const IA32_EFER: u32 = 0xc000_0080;
const IA32_STAR: u32 = 0xc000_0081;
const IA32_LSTAR: u32 = 0xc000_0082;
const IA32_FMASK: u32 = 0xc000_0084;
/// EFER.SCE: `syscall`/`sysret` enabled.
const EFER_SYSCALL_ENABLE: u64 = 1 << 0;

// Control-register bits (*Intel SDM* Vol. 3A §2.5).
/// CR0.MP: `wait`/`fwait` honour TS.
const CR0_MONITOR_COPROCESSOR: u64 = 1 << 1;
/// CR0.EM: x87 emulation (must be clear for SSE).
const CR0_EMULATION: u64 = 1 << 2;
/// CR0.TS: task switched (lazy FPU switching; never used here).
const CR0_TASK_SWITCHED: u64 = 1 << 3;
/// CR4.OSFXSR: `fxsave`/`fxrstor` handle SSE state; SSE allowed.
const CR4_FXSR: u64 = 1 << 9;
/// CR4.OSXMMEXCPT: unmasked SSE exceptions raise #XM, not #UD.
const CR4_XMM_EXCEPTIONS: u64 = 1 << 10;
/// CR4.SMEP: ring 0 cannot execute user pages.
const CR4_SMEP: u64 = 1 << 20;
/// CR4.SMAP: ring 0 cannot read or write user pages (unless RFLAGS.AC).
const CR4_SMAP: u64 = 1 << 21;

/// The `fxsave64` area: 512 bytes, 16-byte aligned (*Intel SDM* Vol. 1
/// §10.5.1, Table 10-2).
#[repr(C, align(16))]
#[derive(Clone)]
struct FxArea([u8; 512]);

impl FxArea {
    /// The state after `fninit` with SSE's power-on MXCSR: x87 control
    /// word 0x037f (all exceptions masked, 64-bit precision, round to
    /// nearest), every register empty, MXCSR 0x1f80 (all masked).
    fn initial() -> Self {
        let mut bytes = [0u8; 512];
        bytes[0..2].copy_from_slice(&0x037fu16.to_le_bytes());
        bytes[24..28].copy_from_slice(&0x1f80u32.to_le_bytes());
        FxArea(bytes)
    }
}

impl core::fmt::Debug for FxArea {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        formatter.write_str("FxArea { .. }")
    }
}

/// Indices into [`UserContext::registers`].
const RAX: usize = 0;
const RCX: usize = 2;
const RDX: usize = 3;
const RSI: usize = 4;
const RDI: usize = 5;
const R8: usize = 7;
const R9: usize = 8;
const R10: usize = 9;

/// Everything user code can see of the CPU, saved while the kernel runs.
#[repr(C, align(16))]
#[derive(Clone, Debug)]
pub struct UserContext {
    /// rax, rbx, rcx, rdx, rsi, rdi, rbp, r8–r15 (offsets 0–112).
    registers: [u64; 15],
    /// The user stack pointer.
    rsp: u64,
    /// The user instruction pointer.
    rip: u64,
    /// The user flags.
    rflags: u64,
    /// The last trap's vector, or [`SYSTEM_CALL_VECTOR`].
    vector: u64,
    /// The last trap's error code (0 where the CPU pushes none).
    error_code: u64,
    /// CR2 at the last page fault.
    fault_address: u64,
    /// ds, es, fs, gs as the user left them.
    data_segments: [u16; 4],
    /// `FS_BASE`, the user's thread pointer: written to the MSR on every
    /// entry to ring 3, after the segment loads (loading a selector may
    /// change the base). Ring 3 cannot change the MSR itself (CR4.FSGSBASE
    /// stays clear), so it is never read back; only
    /// `arch_prctl(ARCH_SET_FS)` changes it.
    thread_pointer: u64,
    reserved: u64,
    /// x87, MMX and SSE registers, MXCSR.
    fx: FxArea,
}

const OFFSET_RSP: usize = 120;
const OFFSET_RIP: usize = 128;
const OFFSET_RFLAGS: usize = 136;
const OFFSET_VECTOR: usize = 144;
const OFFSET_ERROR_CODE: usize = 152;
const OFFSET_FAULT_ADDRESS: usize = 160;
const OFFSET_SEGMENTS: usize = 168;
const OFFSET_THREAD_POINTER: usize = 176;
/// `IA32_FS_BASE`.
const IA32_FS_BASE: u32 = 0xc000_0100;
const OFFSET_FX: usize = 192;
const _: () = {
    use core::mem::offset_of;
    assert!(offset_of!(UserContext, rsp) == OFFSET_RSP);
    assert!(offset_of!(UserContext, rip) == OFFSET_RIP);
    assert!(offset_of!(UserContext, rflags) == OFFSET_RFLAGS);
    assert!(offset_of!(UserContext, vector) == OFFSET_VECTOR);
    assert!(offset_of!(UserContext, error_code) == OFFSET_ERROR_CODE);
    assert!(offset_of!(UserContext, fault_address) == OFFSET_FAULT_ADDRESS);
    assert!(offset_of!(UserContext, data_segments) == OFFSET_SEGMENTS);
    assert!(offset_of!(UserContext, thread_pointer) == OFFSET_THREAD_POINTER);
    assert!(offset_of!(UserContext, fx) == OFFSET_FX);
    assert!(OFFSET_FX % 16 == 0);
};

// The stack at `manux_run_user`'s entry is 8 modulo 16 (the `call` pushed
// the return address onto a 16-aligned stack); seven pushes make the save
// area 16-byte aligned, so the CPU's own alignment of `rsp0` before it
// pushes a frame (§7.14.2) moves nothing. The save area, from `rsp0` up:
// the context pointer, r15, r14, r13, r12, rbx, rbp, the return address.
core::arch::global_asm!(
    r#"
    .section .bss.user_mode, "aw", @nobits
    .balign 8
manux_syscall_user_stack:               /* the user rsp, for two instructions */
    .skip 8

    .section .text.user_mode, "ax"
    .global manux_run_user
/* rdi = &mut UserContext */
manux_run_user:
    cli
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    pushq %rdi
    movq %rsp, {tss}+{rsp0}(%rip)       /* where the next trap lands */

    fxrstor64 {fx}(%rdi)
    movw {segments}(%rdi), %ax
    movw %ax, %ds
    movw ({segments} + 2)(%rdi), %ax
    movw %ax, %es
    movw ({segments} + 4)(%rdi), %ax
    movw %ax, %fs
    movw ({segments} + 6)(%rdi), %ax
    movw %ax, %gs
    movl ${fs_base_msr}, %ecx
    movl {thread_pointer}(%rdi), %eax
    movl ({thread_pointer} + 4)(%rdi), %edx
    wrmsr                               /* FS_BASE; rax, rcx, rdx reloaded below */

    pushq ${user_data}                  /* ss */
    pushq {rsp}(%rdi)                   /* rsp */
    pushq {rflags}(%rdi)                /* rflags: IF set, IOPL 0 */
    pushq ${user_code}                  /* cs */
    pushq {rip}(%rdi)                   /* rip */
    movq 0(%rdi), %rax
    movq 8(%rdi), %rbx
    movq 16(%rdi), %rcx
    movq 24(%rdi), %rdx
    movq 32(%rdi), %rsi
    movq 48(%rdi), %rbp
    movq 56(%rdi), %r8
    movq 64(%rdi), %r9
    movq 72(%rdi), %r10
    movq 80(%rdi), %r11
    movq 88(%rdi), %r12
    movq 96(%rdi), %r13
    movq 104(%rdi), %r14
    movq 112(%rdi), %r15
    movq 40(%rdi), %rdi
    iretq

    .global manux_syscall_entry
/* From `syscall` in ring 3: rcx = user rip, r11 = user rflags, rsp = user
   rsp, interrupts masked by IA32_FMASK. Build the frame an interrupt
   would have pushed at rsp0 and join the common path. */
manux_syscall_entry:
    movq %rsp, manux_syscall_user_stack(%rip)
    movq {tss}+{rsp0}(%rip), %rsp
    pushq ${user_data}                  /* ss */
    pushq manux_syscall_user_stack(%rip) /* rsp */
    pushq %r11                          /* rflags */
    pushq ${user_code}                  /* cs */
    pushq %rcx                          /* rip */
    pushq $0                            /* error code */
    pushq ${system_call}                /* vector */
    jmp manux_user_trap

    .global manux_user_trap
/* rsp -> vector, error code, rip, cs, rflags, rsp, ss: on rsp0, or on the
   #DB IST stack; only the registers are read from it. */
manux_user_trap:
    pushq %rax
    movq {tss}+{rsp0}(%rip), %rax       /* the save area */
    movq (%rax), %rax                   /* the context */
    movq %rbx, 8(%rax)
    movq %rcx, 16(%rax)
    movq %rdx, 24(%rax)
    movq %rsi, 32(%rax)
    movq %rdi, 40(%rax)
    movq %rbp, 48(%rax)
    movq %r8, 56(%rax)
    movq %r9, 64(%rax)
    movq %r10, 72(%rax)
    movq %r11, 80(%rax)
    movq %r12, 88(%rax)
    movq %r13, 96(%rax)
    movq %r14, 104(%rax)
    movq %r15, 112(%rax)
    popq 0(%rax)                        /* the user's rax */
    popq {vector}(%rax)
    popq {error_code}(%rax)
    popq {rip}(%rax)
    addq $8, %rsp                       /* cs: always the user's */
    popq {rflags}(%rax)
    popq {rsp}(%rax)
    cmpq ${page_fault}, {vector}(%rax)
    jne 1f
    movq %cr2, %rcx                     /* the faulting address */
    movq %rcx, {fault_address}(%rax)
1:  movw %ds, {segments}(%rax)
    movw %es, ({segments} + 2)(%rax)
    movw %fs, ({segments} + 4)(%rax)
    movw %gs, ({segments} + 6)(%rax)
    fxsave64 {fx}(%rax)
    pushq $2                            /* rflags: IF, DF, AC, TF clear */
    popfq

    movq {tss}+{rsp0}(%rip), %rsp
    addq $8, %rsp                       /* the context pointer */
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    "#,
    tss = sym TASK_STATE,
    rsp0 = const RSP0_OFFSET,
    fx = const OFFSET_FX,
    segments = const OFFSET_SEGMENTS,
    rsp = const OFFSET_RSP,
    rip = const OFFSET_RIP,
    rflags = const OFFSET_RFLAGS,
    vector = const OFFSET_VECTOR,
    error_code = const OFFSET_ERROR_CODE,
    fault_address = const OFFSET_FAULT_ADDRESS,
    thread_pointer = const OFFSET_THREAD_POINTER,
    fs_base_msr = const IA32_FS_BASE,
    user_data = const USER_DATA_SELECTOR,
    user_code = const USER_CODE_SELECTOR,
    system_call = const SYSTEM_CALL_VECTOR,
    page_fault = const PAGE_FAULT_VECTOR,
    options(att_syntax),
);

unsafe extern "C" {
    fn manux_run_user(context: *mut UserContext);
    fn manux_syscall_entry();
}

/// Whether `address` is the first instruction of the `syscall` entry,
/// where a single-step trap set up by user code could in principle be
/// taken in ring 0 with the user's `rsp` (see [`super::vectors`]).
pub(super) fn is_system_call_entry(address: u64) -> bool {
    address == manux_syscall_entry as *const () as usize as u64
}

fn read_msr(register: u32) -> u64 {
    let (low, high): (u32, u32);
    // SAFETY: `rdmsr` of an architectural MSR that every x86_64 CPU has
    // (EFER, STAR, LSTAR, FMASK exist with long mode); no memory access.
    unsafe {
        core::arch::asm!("rdmsr", in("ecx") register, out("eax") low, out("edx") high,
            options(nomem, nostack, preserves_flags))
    };
    (u64::from(high) << 32) | u64::from(low)
}

/// # Safety
/// 1. `register` is one of EFER, STAR, LSTAR, FMASK and `value` is what
///    [`init`] computed for it.
unsafe fn write_msr(register: u32, value: u64) {
    // SAFETY: obligation 1: architectural MSRs of every x86_64 CPU, with
    // values whose effect `init` explains; no memory access.
    unsafe {
        core::arch::asm!("wrmsr", in("ecx") register, in("eax") value as u32,
            in("edx") (value >> 32) as u32, options(nomem, nostack, preserves_flags))
    };
}

/// Prepares the CPU for user mode. Called once at boot, after the GDT (the
/// selectors `STAR` names) and before any process runs:
/// - `syscall`: `EFER.SCE`; `STAR[47:32]` = kernel code (kernel stack =
///   +8), `STAR[63:48]` = kernel data | 3, so a `sysret` would load user
///   code = +16 and user stack = +8 — the GDT order kernel code, kernel
///   data, user data, user code that SYSRET requires (Vol. 2B, SYSRET);
///   `LSTAR` = `manux_syscall_entry`; `FMASK` = [`SYSCALL_FLAGS_MASK`];
/// - SSE in user mode: `CR0.EM` and `CR0.TS` clear, `CR0.MP` set,
///   `CR4.OSFXSR` and `CR4.OSXMMEXCPT` set (Vol. 3A §14.1.3);
/// - SMEP and SMAP when CPUID.07H:EBX says the CPU has them (bits 7 and
///   20): the kernel never executes a user page and never reads or writes
///   one through its user address — it copies through the direct map
///   after checking the process's table (`crate::user::physical`).
pub fn init() {
    let star = (u64::from(gdt::KERNEL_DATA_SELECTOR | 3) << 48)
        | (u64::from(gdt::KERNEL_CODE_SELECTOR) << 32);
    let entry = manux_syscall_entry as *const () as usize as u64;
    // SAFETY: the values are the ones documented above; the entry point is
    // the assembly above, which never runs before a user `syscall`, and
    // the GDT with the selectors STAR names is loaded (`gdt::init`).
    unsafe {
        write_msr(IA32_STAR, star);
        write_msr(IA32_LSTAR, entry);
        write_msr(IA32_FMASK, SYSCALL_FLAGS_MASK);
        write_msr(IA32_EFER, read_msr(IA32_EFER) | EFER_SYSCALL_ENABLE);
    }

    // CPUID leaf 7 only when leaf 0 says it exists.
    let (smep, smap) = if __cpuid_count(0, 0).eax >= 7 {
        let features = __cpuid_count(7, 0).ebx;
        (features & (1 << 7) != 0, features & (1 << 20) != 0)
    } else {
        (false, false)
    };
    let mut cr4_bits = CR4_FXSR | CR4_XMM_EXCEPTIONS;
    if smep {
        cr4_bits |= CR4_SMEP;
    }
    if smap {
        cr4_bits |= CR4_SMAP;
    }
    // SAFETY: every CPU with long mode has SSE2 and FXSR, so the CR0/CR4
    // bits are defined; SMEP/SMAP are set only when CPUID reports them.
    // The kernel executes and touches no user page (see above), and runs
    // with RFLAGS.AC clear (FMASK clears it on `syscall`, and the trap
    // path and thread start clear it), so neither faults the kernel.
    unsafe {
        core::arch::asm!(
            "mov {value}, cr0",
            "and {value}, {cr0_clear}",
            "or {value}, {cr0_set}",
            "mov cr0, {value}",
            "mov {value}, cr4",
            "or {value}, {cr4_set}",
            "mov cr4, {value}",
            value = out(reg) _,
            cr0_clear = in(reg) !(CR0_EMULATION | CR0_TASK_SWITCHED),
            cr0_set = in(reg) CR0_MONITOR_COPROCESSOR,
            cr4_set = in(reg) cr4_bits,
            options(nostack, preserves_flags),
        );
    }
}

impl UserContext {
    /// Runs the user code this context describes in the currently active
    /// address space until it traps; returns why. Interrupts are masked on
    /// return; an interrupt from ring 3 has already been delivered to the
    /// kernel's handler.
    pub fn run(&mut self) -> TrapCause {
        if self.rip >= USER_END {
            // `iretq` to a non-canonical `rip` would fault in ring 0, and
            // a kernel address would fault at once in ring 3: report the
            // fetch fault without entering (interrupts masked as after a
            // trap).
            super::disable_interrupts_raw();
            return TrapCause::PageFault {
                address: self.rip,
                access: Access::Execute,
            };
        }
        // Whatever the kernel stored, user code runs with interrupts on
        // and no I/O privilege.
        self.rflags =
            (self.rflags & FLAGS_USER_WRITABLE) | FLAGS_RESERVED_ONE | FLAGS_INTERRUPT_ENABLE;
        // SAFETY: `self` is a valid, exclusively borrowed, 16-byte aligned
        // context for the whole call; its FX area holds either the initial
        // state or what `fxsave64` stored, so `fxrstor64` cannot fault, and
        // its selectors are null or ones ring 3 itself loaded, valid in
        // ring 0 too. `manux_run_user` saves and restores every
        // callee-saved register of the System V ABI and `rsp`, returning
        // normally when the user traps, with DF clear. The `rip` pushed for
        // `iretq` is in the user half (checked above), hence canonical, and
        // so is the `thread_pointer` it writes to `FS_BASE` (only
        // `set_thread_pointer` sets it, to a user-half value or 0), so the
        // `wrmsr` cannot fault; the kernel does not use FS.
        unsafe { manux_run_user(self) };
        self.cause()
    }

    fn cause(&mut self) -> TrapCause {
        let address = self.rip;
        match self.vector {
            SYSTEM_CALL_VECTOR => TrapCause::SystemCall,
            PAGE_FAULT_VECTOR => {
                let access = if self.error_code & PAGE_FAULT_FETCH != 0 {
                    Access::Execute
                } else if self.error_code & PAGE_FAULT_WRITE != 0 {
                    Access::Write
                } else {
                    Access::Read
                };
                TrapCause::PageFault {
                    address: self.fault_address,
                    access,
                }
            }
            INVALID_OPCODE_VECTOR => TrapCause::IllegalInstruction { address },
            GENERAL_PROTECTION_VECTOR => TrapCause::ProtectionFault { address },
            vector @ FIRST_INTERRUPT_VECTOR..SYSTEM_CALL_VECTOR => {
                vectors::handle_interrupt(vector as u8);
                TrapCause::Interrupt
            }
            // #DE, #DB, #BP, #SS, #MF, #AC, #XM, …: the vector in bits
            // 0–7, the error code above.
            vector => TrapCause::Other {
                code: vector | (self.error_code << 8),
                address,
            },
        }
    }

    /// The user stack pointer.
    pub fn stack_pointer(&self) -> u64 {
        self.rsp
    }

    /// Sets argument register `index` before the first run: 0–5 are
    /// rdi, rsi, rdx, rcx, r8, r9 (the System V integer argument
    /// registers); x86_64 has no seventh or eighth, so 6 and 7 are
    /// ignored, as is any other index.
    pub fn set_argument(&mut self, index: usize, value: u64) {
        let register = match index {
            0 => RDI,
            1 => RSI,
            2 => RDX,
            3 => RCX,
            4 => R8,
            5 => R9,
            _ => return,
        };
        self.registers[register] = value;
    }
}

/// The user registers a signal frame saves and `rt_sigreturn` restores
/// (Linux's `struct sigcontext` and its `fxsave` image), as plain values.
#[derive(Clone, Debug)]
pub struct SignalRegisters {
    /// rax, rbx, rcx, rdx, rsi, rdi, rbp, r8–r15 (this order).
    pub general: [u64; 15],
    /// `rsp`.
    pub rsp: u64,
    /// `rip`.
    pub rip: u64,
    /// `rflags`.
    pub rflags: u64,
    /// The `fxsave64` image: x87, MMX and SSE registers, MXCSR.
    pub fx: [u8; 512],
}

/// Offsets of MXCSR and MXCSR_MASK in the `fxsave` image.
const FX_MXCSR: usize = 24;
const FX_MXCSR_MASK: usize = 28;
/// The MXCSR mask to assume when `fxsave` stores 0 there (*Intel SDM*
/// Vol. 1 §11.6.6): every bit but DAZ.
const DEFAULT_MXCSR_MASK: u32 = 0xffbf;

/// `syscall` is one 2-byte instruction.
const SYSTEM_CALL_INSTRUCTION_BYTES: u64 = 2;

/// The SSE/x87 state a process starts with (and a signal handler on
/// Linux), as `fxsave64` lays it out.
pub fn initial_fx_state() -> [u8; 512] {
    FxArea::initial().0
}

impl UserContext {
    /// The registers as a signal frame saves them.
    pub fn signal_registers(&self) -> SignalRegisters {
        SignalRegisters {
            general: self.registers,
            rsp: self.rsp,
            rip: self.rip,
            rflags: self.rflags,
            fx: self.fx.0,
        }
    }

    /// Loads `registers` (a handler's start, or what `rt_sigreturn`
    /// read from a frame the program may have forged), sanitised: only
    /// the flags user code may set ([`FLAGS_USER_WRITABLE`]; never IOPL,
    /// NT, VM, interrupts always enabled); MXCSR only with bits the CPU
    /// supports, as `fxrstor64` faults on any other (in ring 0); the
    /// segment selectors are not taken from the program at all, and a
    /// `rip` outside the user half is never entered ([`Self::run`]).
    pub fn set_signal_registers(&mut self, registers: &SignalRegisters) {
        self.registers = registers.general;
        self.rsp = registers.rsp;
        self.rip = registers.rip;
        self.rflags =
            (registers.rflags & FLAGS_USER_WRITABLE) | FLAGS_RESERVED_ONE | FLAGS_INTERRUPT_ENABLE;
        let mut fx = registers.fx;
        let mut mask = u32::from_le_bytes([
            self.fx.0[FX_MXCSR_MASK],
            self.fx.0[FX_MXCSR_MASK + 1],
            self.fx.0[FX_MXCSR_MASK + 2],
            self.fx.0[FX_MXCSR_MASK + 3],
        ]);
        if mask == 0 {
            mask = DEFAULT_MXCSR_MASK;
        }
        let mxcsr = u32::from_le_bytes([
            fx[FX_MXCSR],
            fx[FX_MXCSR + 1],
            fx[FX_MXCSR + 2],
            fx[FX_MXCSR + 3],
        ]) & mask;
        fx[FX_MXCSR..FX_MXCSR + 4].copy_from_slice(&mxcsr.to_le_bytes());
        // Ignored by `fxrstor64`; kept as the CPU reported it.
        fx[FX_MXCSR_MASK..FX_MXCSR_MASK + 4]
            .copy_from_slice(&self.fx.0[FX_MXCSR_MASK..FX_MXCSR_MASK + 4]);
        self.fx.0 = fx;
    }

    /// Makes the system call just made run again on the next entry: the
    /// instruction pointer back on the `syscall`, the number (which the
    /// result overwrote) back in rax.
    pub fn rewind_system_call(&mut self, number: u64, _first_argument: u64) {
        self.registers[RAX] = number;
        self.rip = self.rip.wrapping_sub(SYSTEM_CALL_INSTRUCTION_BYTES);
    }
}

impl UserRegisters for UserContext {
    fn new(entry: u64, stack: u64) -> Self {
        UserContext {
            registers: [0; 15],
            rsp: stack,
            rip: entry,
            rflags: FLAGS_RESERVED_ONE | FLAGS_INTERRUPT_ENABLE,
            vector: 0,
            error_code: 0,
            fault_address: 0,
            data_segments: [0; 4],
            thread_pointer: 0,
            reserved: 0,
            fx: FxArea::initial(),
        }
    }

    fn system_call_number(&self) -> u64 {
        self.registers[RAX]
    }

    fn system_call_arguments(&self) -> [u64; 6] {
        [
            self.registers[RDI],
            self.registers[RSI],
            self.registers[RDX],
            self.registers[R10],
            self.registers[R8],
            self.registers[R9],
        ]
    }

    fn set_system_call_result(&mut self, value: u64) {
        self.registers[RAX] = value;
    }

    fn instruction_pointer(&self) -> u64 {
        self.rip
    }

    fn thread_pointer(&self) -> u64 {
        self.thread_pointer
    }

    /// A non-canonical value would make the `wrmsr` on entry fault in
    /// ring 0, so one is stored as 0 (the kernel's `arch_prctl` refuses
    /// it before this).
    fn set_thread_pointer(&mut self, value: u64) {
        self.thread_pointer = if value < USER_END { value } else { 0 };
    }

    fn set_stack_pointer(&mut self, value: u64) {
        self.rsp = value;
    }
}
