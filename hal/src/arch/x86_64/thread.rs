// SPDX-License-Identifier: MIT OR Apache-2.0
//! Kernel threads: a stack each, and switching between them.
//!
//! Every process runs its kernel half (system calls, the loop around
//! [`super::user_mode::UserContext::run`]) on its own kernel stack, so a
//! process can block inside the kernel while others run. [`switch`] saves
//! the registers the System V AMD64 ABI makes callee-saved — `rbx`, `rbp`,
//! `r12`–`r15` and `rsp` (*System V ABI, AMD64 supplement* §3.2.1,
//! Figure 3.4) — of the running thread and loads another's; everything
//! else is caller-saved, so the compiler has already saved what it needs
//! around the call. The return address is on the stack, so `ret` resumes
//! the other thread where it called `switch`. The kernel is built
//! soft-float (`x86_64-unknown-none`), so no SSE or x87 state belongs to a
//! kernel thread; the user's is saved by `user_mode`.
//!
//! The same interface as the AArch64 port's `thread` module.

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::cell::UnsafeCell;
use spin::Mutex;

/// Bytes of each kernel stack.
pub const KERNEL_STACK_SIZE: usize = 64 * 1024;

/// The saved registers of a thread that is not running. Layout shared
/// with the assembly below.
#[repr(C)]
#[derive(Debug, Default)]
struct SavedRegisters {
    rbx: u64,
    rbp: u64,
    r12: u64,
    r13: u64,
    r14: u64,
    r15: u64,
    rsp: u64,
}

struct ThreadState {
    /// Written only by `switch` while this thread stops running, read only
    /// by `switch` when it starts again.
    registers: UnsafeCell<SavedRegisters>,
    /// `None` for the boot thread, which runs on the boot stack.
    _stack: Option<Box<[u8]>>,
}

// SAFETY: the registers are touched only inside `switch`, with interrupts
// masked, on the only CPU; see `switch` for why no two accesses overlap.
unsafe impl Sync for ThreadState {}
// SAFETY: as for `Sync`: whichever thread holds it, only `switch` touches
// the registers, with interrupts masked, on the only CPU.
unsafe impl Send for ThreadState {}

/// A kernel thread: its stack and, while it is not running, its registers.
/// Clones refer to the same thread. A thread that is running is also held
/// by this module, so its stack cannot be freed under it.
#[derive(Clone)]
pub struct KernelThread(Arc<ThreadState>);

/// The running thread (set at the first `switch`).
static CURRENT: Mutex<Option<KernelThread>> = Mutex::new(None);

core::arch::global_asm!(
    r#"
    .section .text.thread, "ax"
    .global manux_switch_thread
/* rdi = &mut SavedRegisters (from), rsi = &SavedRegisters (to). The
   caller's return address is at [rsp]: it stays on the old stack, and
   the `ret` below pops the new thread's. */
manux_switch_thread:
    movq %rbx, 0(%rdi)
    movq %rbp, 8(%rdi)
    movq %r12, 16(%rdi)
    movq %r13, 24(%rdi)
    movq %r14, 32(%rdi)
    movq %r15, 40(%rdi)
    movq %rsp, 48(%rdi)
    movq 0(%rsi), %rbx
    movq 8(%rsi), %rbp
    movq 16(%rsi), %r12
    movq 24(%rsi), %r13
    movq 32(%rsi), %r14
    movq 40(%rsi), %r15
    movq 48(%rsi), %rsp
    ret

    .global manux_thread_start
/* First code of a new thread, reached by the `ret` above with rsp 16-byte
   aligned: r12 = entry, r13 = argument. The `call` leaves rsp + 8
   aligned at the entry's first instruction, as the ABI wants. */
manux_thread_start:
    movq %r13, %rdi
    call *%r12
1:  hlt
    jmp 1b
    "#,
    options(att_syntax),
);

unsafe extern "C" {
    fn manux_switch_thread(from: *mut SavedRegisters, to: *const SavedRegisters);
    fn manux_thread_start();
}

impl KernelThread {
    /// The thread already running: the boot thread. Its registers are
    /// filled in the first time it is switched away from.
    pub fn boot_thread() -> Self {
        let thread = KernelThread(Arc::new(ThreadState {
            registers: UnsafeCell::new(SavedRegisters::default()),
            _stack: None,
        }));
        *CURRENT.lock() = Some(thread.clone());
        thread
    }

    /// A new thread that will call `entry(argument)` on a fresh stack the
    /// first time it is switched to. `entry` must never return.
    ///
    /// Return values: `None` if the stack cannot be allocated.
    pub fn new(entry: extern "C" fn(u64) -> !, argument: u64) -> Option<Self> {
        let mut memory = Vec::new();
        memory.try_reserve_exact(KERNEL_STACK_SIZE).ok()?;
        memory.resize(KERNEL_STACK_SIZE, 0u8);
        let mut stack = memory.into_boxed_slice();
        let top = (stack.as_mut_ptr() as u64 + KERNEL_STACK_SIZE as u64) & !15;
        // The first `switch` to this thread `ret`s to the word at the saved
        // rsp: `manux_thread_start`, leaving rsp = `top` (16-aligned).
        let return_slot = top - 8;
        let offset = (return_slot - stack.as_ptr() as u64) as usize;
        let start = manux_thread_start as *const () as usize as u64;
        stack[offset..offset + 8].copy_from_slice(&start.to_ne_bytes());
        let registers = SavedRegisters {
            r12: entry as *const () as usize as u64,
            r13: argument,
            rsp: return_slot,
            ..SavedRegisters::default()
        };
        Some(KernelThread(Arc::new(ThreadState {
            registers: UnsafeCell::new(registers),
            _stack: Some(stack),
        })))
    }

    /// Whether two handles name the same thread.
    pub fn same_as(&self, other: &KernelThread) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// Stops the running thread `from` and continues `to`; returns when some
/// thread switches back to `from`. Does nothing if `from` is not the
/// running thread or `to` is. Interrupts are masked across the switch and
/// restored afterwards as they were.
pub fn switch(from: &KernelThread, to: &KernelThread) {
    let were_enabled = super::disable_interrupts_raw();
    {
        let mut current = CURRENT.lock();
        let running = current.as_ref().is_some_and(|thread| thread.same_as(from));
        if !running || from.same_as(to) {
            drop(current);
            super::restore_interrupts_raw(were_enabled);
            return;
        }
        *current = Some(to.clone());
    }
    let from_registers = from.0.registers.get();
    let to_registers = to.0.registers.get() as *const SavedRegisters;
    // SAFETY: `from` was the running thread, so nothing else reads or
    // writes its save area now; `to` is not running (checked above, one
    // CPU, interrupts masked), so its save area holds registers saved by an
    // earlier `switch` or built by `new` (with the start address at its
    // saved rsp), and its stack is owned by its `ThreadState`, which
    // `CURRENT` now keeps alive while it runs. `from` stays alive for the
    // call because the caller borrows it. The assembly preserves every
    // callee-saved register of the System V ABI, and the direction flag
    // is clear in both threads (the ABI requires it at every call).
    unsafe { manux_switch_thread(from_registers, to_registers) };
    super::restore_interrupts_raw(were_enabled);
}
