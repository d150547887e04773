// SPDX-License-Identifier: MIT OR Apache-2.0
//! User mode: address spaces, user registers, and running user code.
//!
//! Manux has one address space in the sense of DESIGN §3 — every user
//! segment gets a range no other live process uses — but each process has
//! its own translation table that maps only its own ranges (plus the
//! kernel, privileged-only). This module holds the architecture-neutral
//! vocabulary; each port provides:
//!
//! - `AddressSpace`: a process's table (`TTBR0_EL1` + ASID on AArch64, CR3 +
//!   PCID on x86_64), implementing [`UserAddressSpace`];
//! - `UserContext`: the saved user registers, implementing [`UserRegisters`];
//!   `UserContext::run(&mut self)` enters user mode and returns at the next
//!   trap (system call, interrupt, fault) with a [`TrapCause`];
//! - `KernelThread`: a kernel stack and saved callee-saved registers, and
//!   `switch(from, to)`.
//!
//! The kernel sees a process's table only as [`UserPages`]: it maps owned
//! [`Frame`](crate::frames::Frame)s, never addresses, and reads and writes
//! user memory only through it, checked by extent against the user's
//! permissions, so a user pointer can never make the kernel fault, reach a
//! frame the process was not given, or write a page that is read-only for
//! the user.

mod pages;
mod shared_frames;
pub use pages::{AccessError, UserPages, UserRuns};
pub use shared_frames::SharedFrames;

/// Bytes in a page.
pub const PAGE_SIZE: u64 = 4096;
/// Lowest user address (the first 4 MiB stay unmapped to catch null pointers).
pub const USER_START: u64 = 0x0000_0000_0040_0000;
/// One past the highest user address (the lower half of a 48-bit space).
pub const USER_END: u64 = 0x0000_8000_0000_0000;
/// One past the fixed-address window: `[USER_START, FIXED_WINDOW_END)`
/// is never handed out by the global range allocator. Programs linked
/// for fixed addresses (`ET_EXEC`, Debian's static executables at
/// 0x40_0000) get their own private copy of it; every other range of a
/// process comes from above it (DESIGN §3, the one exception).
pub const FIXED_WINDOW_END: u64 = 0x0000_0001_0000_0000;

/// Where page-table frames come from ([`crate::frames::TableFrames`]).
pub(crate) trait FrameSource {
    /// A free, zeroed 4 KiB frame (physical address), or `None` when
    /// memory is out.
    fn allocate_frame(&mut self) -> Option<u64>;
    /// Gives back a frame this source gave (once).
    fn free_frame(&mut self, physical: u64);
}

/// What user code may do with a page. Every mapped user page is readable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct UserPermission {
    /// Writes allowed.
    pub write: bool,
    /// Instruction fetches allowed.
    pub execute: bool,
}

/// Whether `address` is a page-aligned user address.
pub(crate) fn is_user_page(address: u64) -> bool {
    address % PAGE_SIZE == 0 && (USER_START..USER_END).contains(&address)
}

/// Whether `count` pages from `address` are all user pages.
fn is_user_run(address: u64, count: usize) -> bool {
    (count as u64)
        .checked_mul(PAGE_SIZE)
        .and_then(|bytes| address.checked_add(bytes))
        .is_some_and(|end| is_user_page(address) && end <= USER_END)
}

/// The ports' [`UserAddressSpace::map_run`] without its TLB maintenance:
/// writes `leaves` into the user table at `root` through `walker`, for
/// consecutive pages from `address`, taking new tables from `frames`.
///
/// Return values: `NotUserAddress` unless every page is a user page
/// (nothing is written then); `OutOfMemory`.
pub(crate) fn map_user_run<F: crate::page_table::Format>(
    walker: &mut crate::page_table::Walker<F, crate::page_table::PhysicalTables>,
    root: u64,
    address: u64,
    leaves: &[u64],
    frames: &mut dyn FrameSource,
) -> Result<usize, MapError> {
    if !is_user_run(address, leaves.len()) {
        return Err(MapError::NotUserAddress);
    }
    let mut allocate = |_| frames.allocate_frame();
    walker
        .map_run(
            root,
            address,
            leaves,
            crate::page_table::Owner::User,
            &mut allocate,
        )
        .map_err(|_| MapError::OutOfMemory)
}

/// Why a mapping failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapError {
    /// No frame for a translation table.
    OutOfMemory,
    /// The address is not a page-aligned user address.
    NotUserAddress,
    /// The page is already mapped.
    AlreadyMapped,
    /// The page would be writable and executable at once.
    WritableAndExecutable,
    /// A shared page would be writable.
    Writable,
}

/// How an access faulted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// A load.
    Read,
    /// A store.
    Write,
    /// An instruction fetch.
    Execute,
}

/// Why user code stopped running.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrapCause {
    /// A system call: number and arguments are in the registers.
    SystemCall,
    /// A device or timer interrupt (already delivered to the kernel's
    /// interrupt handler); the kernel may switch to another process.
    Interrupt,
    /// A memory access the process's table does not allow.
    PageFault {
        /// The faulting address.
        address: u64,
        /// What kind of access.
        access: Access,
    },
    /// An undefined or privileged instruction at `address`.
    IllegalInstruction {
        /// Where.
        address: u64,
    },
    /// A general-protection fault at `address` (x86_64's #GP: a
    /// privileged instruction, port I/O, a non-canonical address).
    ProtectionFault {
        /// Where.
        address: u64,
    },
    /// Anything else (alignment, breakpoints, …), with the architecture's
    /// code and the instruction address.
    Other {
        /// Architecture-specific syndrome.
        code: u64,
        /// Where.
        address: u64,
    },
}

/// The per-process translation table's contract, implemented by each
/// port's `AddressSpace`. It maps frames by address, so it stays inside
/// `hal/`: the kernel maps owned frames through [`UserPages`].
pub(crate) trait UserAddressSpace: Sized {
    /// An empty table with a fresh address-space id.
    fn new(frames: &mut dyn FrameSource) -> Option<Self>;
    /// Maps the user page at `address` to `frame`.
    ///
    /// Return values: `NotUserAddress` unless `address` is page-aligned and
    /// in `USER_START..USER_END`; `AlreadyMapped`; `OutOfMemory`.
    fn map(
        &mut self,
        address: u64,
        frame: u64,
        permission: UserPermission,
        frames: &mut dyn FrameSource,
    ) -> Result<(), MapError>;
    /// The page entry that maps `frame` with `permission` (checked by
    /// the caller: never writable and executable).
    fn leaf(frame: u64, permission: UserPermission) -> u64;
    /// Writes `leaves` (made by [`Self::leaf`]) as the entries of
    /// consecutive pages from `address`, with one walk per last-level
    /// table; a page mapped already keeps its entry. Returns how many were
    /// written.
    ///
    /// Return values: `NotUserAddress` unless every page is a user page
    /// (nothing is written then); `OutOfMemory` (the pages written before
    /// stay).
    fn map_run(
        &mut self,
        address: u64,
        leaves: &[u64],
        frames: &mut dyn FrameSource,
    ) -> Result<usize, MapError>;
    /// Unmaps the page at `address` (and flushes it from the TLB for this
    /// id); returns the frame it mapped.
    fn unmap(&mut self, address: u64) -> Option<u64>;
    /// The frame and permission of the page containing `address`.
    #[allow(dead_code, reason = "the ports' own checks; `UserPages` keeps its map")]
    fn lookup(&self, address: u64) -> Option<(u64, UserPermission)>;
    /// Makes this table the current user table.
    fn activate(&self);
    /// Frees the translation tables (not the mapped frames, which the
    /// caller unmaps first) and retires the id, flushing it from the TLB
    /// before it can be reused.
    fn destroy(self, frames: &mut dyn FrameSource);
}

/// The saved user registers' contract.
pub trait UserRegisters {
    /// Registers for a program entering at `entry` with stack `stack`.
    fn new(entry: u64, stack: u64) -> Self;
    /// The system-call number.
    fn system_call_number(&self) -> u64;
    /// The six system-call arguments.
    fn system_call_arguments(&self) -> [u64; 6];
    /// Sets the system-call result.
    fn set_system_call_result(&mut self, value: u64);
    /// The user program counter.
    fn instruction_pointer(&self) -> u64;
    /// The user thread pointer (`TPIDR_EL0` on AArch64, `FS_BASE` on
    /// x86_64), saved and restored with the other registers so each
    /// process keeps its own.
    fn thread_pointer(&self) -> u64;
    /// Sets the thread pointer the user code finds on its next run
    /// (x86_64's `arch_prctl(ARCH_SET_FS)`; AArch64 programs write
    /// `TPIDR_EL0` themselves).
    fn set_thread_pointer(&mut self, value: u64);
    /// Sets the user stack pointer (a child started on a stack of its
    /// own, Linux's `clone` with a stack).
    fn set_stack_pointer(&mut self, value: u64);
}
