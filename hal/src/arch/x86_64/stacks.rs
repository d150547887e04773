// SPDX-License-Identifier: MIT OR Apache-2.0
//! The kernel's statically allocated stacks, each with a guard page.
//!
//! - the boot stack: the stack of the boot code and of the kernel's first
//!   thread;
//! - four interrupt stacks for the Interrupt Stack Table (IST) of the TSS
//!   (*Intel SDM* Vol. 3A §7.14.5, "Interrupt Stack Table"): double fault,
//!   NMI and machine check switch to a known-good stack whatever the state
//!   of the interrupted one, so a kernel stack overflow (a page fault that
//!   cannot push its frame, hence a double fault) still gets a readable
//!   report instead of a triple fault and a silent reset. The debug
//!   exception (#DB) has one too: a single-step trap can in principle be
//!   taken on the first instruction of the `syscall` entry, while `rsp`
//!   still holds the user's value (see [`super::user_mode`]), and must not
//!   be pushed there.
//!
//! Every stack starts with one page that [`super::mmu`] leaves unmapped:
//! running off the bottom of a stack faults at once instead of silently
//! overwriting whatever `.bss` holds below it.

/// Bytes in a page.
const PAGE: usize = 4096;

/// A stack of `N` usable bytes above one guard page.
#[repr(C, align(4096))]
pub struct GuardedStack<const N: usize> {
    guard: [u8; PAGE],
    stack: [u8; N],
}

impl<const N: usize> GuardedStack<N> {
    const fn new() -> Self {
        GuardedStack {
            guard: [0; PAGE],
            stack: [0; N],
        }
    }
}

/// Usable bytes of the boot stack.
pub const BOOT_STACK_SIZE: usize = 64 * 1024;
/// Usable bytes of each interrupt stack.
const INTERRUPT_STACK_SIZE: usize = 16 * 1024;

/// The boot stack. The assembly in [`super::boot`] sets `rsp` to its top
/// (`BOOT_STACK + size_of`), so the symbol name is part of the contract.
#[unsafe(no_mangle)]
static mut BOOT_STACK: GuardedStack<BOOT_STACK_SIZE> = GuardedStack::new();

static mut DOUBLE_FAULT_STACK: GuardedStack<INTERRUPT_STACK_SIZE> = GuardedStack::new();
static mut NMI_STACK: GuardedStack<INTERRUPT_STACK_SIZE> = GuardedStack::new();
static mut MACHINE_CHECK_STACK: GuardedStack<INTERRUPT_STACK_SIZE> = GuardedStack::new();
static mut DEBUG_STACK: GuardedStack<INTERRUPT_STACK_SIZE> = GuardedStack::new();

/// The interrupt stacks, by the IST slot the IDT gives them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InterruptStack {
    /// IST slot 1: double fault (#DF, vector 8).
    DoubleFault,
    /// IST slot 2: non-maskable interrupt (vector 2).
    Nmi,
    /// IST slot 3: machine check (#MC, vector 18).
    MachineCheck,
    /// IST slot 4: debug exception (#DB, vector 1).
    Debug,
}

impl InterruptStack {
    /// The zero-based index the `x86_64` crate's `set_stack_index` takes
    /// (the hardware field is one more: 0 means "no IST").
    pub const fn index(self) -> u16 {
        match self {
            InterruptStack::DoubleFault => 0,
            InterruptStack::Nmi => 1,
            InterruptStack::MachineCheck => 2,
            InterruptStack::Debug => 3,
        }
    }

    /// The virtual address one past the stack's top (stacks grow down;
    /// the address is 16-byte aligned as the IST requires).
    pub fn top(self) -> u64 {
        // Only addresses are taken (`&raw const`): no reference is created,
        // so the CPU's use of the memory as a stack aliases no Rust borrow.
        let start = match self {
            InterruptStack::DoubleFault => (&raw const DOUBLE_FAULT_STACK) as u64,
            InterruptStack::Nmi => (&raw const NMI_STACK) as u64,
            InterruptStack::MachineCheck => (&raw const MACHINE_CHECK_STACK) as u64,
            InterruptStack::Debug => (&raw const DEBUG_STACK) as u64,
        };
        start + core::mem::size_of::<GuardedStack<INTERRUPT_STACK_SIZE>>() as u64
    }
}

/// The virtual address one past the boot stack's top.
pub fn boot_stack_top() -> u64 {
    (&raw const BOOT_STACK) as u64 + core::mem::size_of::<GuardedStack<BOOT_STACK_SIZE>>() as u64
}

/// Virtual addresses of the guard pages, for [`super::mmu`] to leave out.
pub fn guard_pages() -> [u64; 5] {
    [
        (&raw const BOOT_STACK) as u64,
        (&raw const DOUBLE_FAULT_STACK) as u64,
        (&raw const NMI_STACK) as u64,
        (&raw const MACHINE_CHECK_STACK) as u64,
        (&raw const DEBUG_STACK) as u64,
    ]
}
