// SPDX-License-Identifier: MIT OR Apache-2.0
//! Kernel threads: a stack each, and switching between them.
//!
//! Every process runs its kernel half (system calls, the loop around
//! [`super::user_mode::UserContext::run`]) on its own kernel stack, so a
//! process can block inside the kernel while others run. [`switch`] saves
//! the callee-saved registers (x19–x30, d8–d15) and `sp` of the running
//! thread and loads another's — everything else is caller-saved by the
//! AAPCS64, so the compiler has already saved it around the call.

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::cell::UnsafeCell;
use core::mem::MaybeUninit;
use spin::Mutex;

/// Bytes of each kernel stack.
pub const KERNEL_STACK_SIZE: usize = 64 * 1024;

/// The saved registers of a thread that is not running.
#[repr(C)]
#[derive(Debug, Default)]
struct SavedRegisters {
    x19_to_x30: [u64; 12],
    d8_to_d15: [u64; 8],
    sp: u64,
}

struct ThreadState {
    /// Written only by `switch` while this thread stops running, read only
    /// by `switch` when it starts again.
    registers: UnsafeCell<SavedRegisters>,
    /// `None` for the boot thread, which runs on the boot stack.
    _stack: Option<Box<[MaybeUninit<u8>]>>,
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
// x0 = &mut SavedRegisters (from), x1 = &SavedRegisters (to)
manux_switch_thread:
    stp     x19, x20, [x0, #0]
    stp     x21, x22, [x0, #16]
    stp     x23, x24, [x0, #32]
    stp     x25, x26, [x0, #48]
    stp     x27, x28, [x0, #64]
    stp     x29, x30, [x0, #80]
    stp     d8, d9, [x0, #96]
    stp     d10, d11, [x0, #112]
    stp     d12, d13, [x0, #128]
    stp     d14, d15, [x0, #144]
    mov     x2, sp
    str     x2, [x0, #160]
    ldp     x19, x20, [x1, #0]
    ldp     x21, x22, [x1, #16]
    ldp     x23, x24, [x1, #32]
    ldp     x25, x26, [x1, #48]
    ldp     x27, x28, [x1, #64]
    ldp     x29, x30, [x1, #80]
    ldp     d8, d9, [x1, #96]
    ldp     d10, d11, [x1, #112]
    ldp     d12, d13, [x1, #128]
    ldp     d14, d15, [x1, #144]
    ldr     x2, [x1, #160]
    mov     sp, x2
    ret

    .global manux_thread_start
// First code of a new thread: x19 = entry, x20 = argument.
manux_thread_start:
    mov     x0, x20
    blr     x19
1:  wfe
    b       1b
    "#
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
        // Not zeroed: a stack is written before it is read, and zeroing
        // 64 KiB cost a noticeable share of every spawn.
        let mut memory: Vec<MaybeUninit<u8>> = Vec::new();
        memory.try_reserve_exact(KERNEL_STACK_SIZE).ok()?;
        memory.resize(KERNEL_STACK_SIZE, MaybeUninit::uninit());
        let mut stack = memory.into_boxed_slice();
        let top = (stack.as_mut_ptr() as u64 + KERNEL_STACK_SIZE as u64) & !15;
        let mut registers = SavedRegisters::default();
        registers.x19_to_x30[0] = entry as *const () as usize as u64;
        registers.x19_to_x30[1] = argument;
        registers.x19_to_x30[11] = manux_thread_start as *const () as usize as u64; // x30 (lr)
        registers.sp = top;
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
    // earlier `switch` or built by `new`, and its stack is owned by its
    // `ThreadState`, which `CURRENT` now keeps alive while it runs. `from`
    // stays alive for the call because the caller borrows it. The assembly
    // preserves every callee-saved register of the AAPCS64.
    unsafe { manux_switch_thread(from_registers, to_registers) };
    super::restore_interrupts_raw(were_enabled);
}
