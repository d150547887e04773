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
//! The kernel reads and writes user memory only through [`UserAddressSpace::lookup`]
//! and [`physical`]: it checks the page's user permissions first, then copies
//! through the direct map, so a user pointer can never make the kernel fault
//! or write a page that is read-only for the user.

/// Bytes in a page.
pub const PAGE_SIZE: u64 = 4096;
/// Lowest user address (the first 4 MiB stay unmapped to catch null pointers).
pub const USER_START: u64 = 0x0000_0000_0040_0000;
/// One past the highest user address (the lower half of a 48-bit space).
pub const USER_END: u64 = 0x0000_8000_0000_0000;

/// Where page-table frames come from (the kernel's frame allocator).
pub trait FrameSource {
    /// A free 4 KiB frame (physical address), or `None` when memory is out.
    fn allocate_frame(&mut self) -> Option<u64>;
    /// Gives a frame back.
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

/// Why a mapping failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapError {
    /// No frame for a translation table.
    OutOfMemory,
    /// The address is not a page-aligned user address.
    NotUserAddress,
    /// The page is already mapped.
    AlreadyMapped,
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
    /// Anything else (alignment, breakpoints, …), with the architecture's
    /// code and the instruction address.
    Other {
        /// Architecture-specific syndrome.
        code: u64,
        /// Where.
        address: u64,
    },
}

/// The per-process translation table's contract.
pub trait UserAddressSpace: Sized {
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
    /// Unmaps the page at `address` (and flushes it from the TLB for this
    /// id); returns the frame it mapped.
    fn unmap(&mut self, address: u64) -> Option<u64>;
    /// The frame and permission of the page containing `address`.
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
}

/// Copying to and from physical frames through the kernel's direct map.
pub mod physical {
    use crate::arch::mmu;

    /// Fills the frame at `frame` with zeros.
    pub fn zero_frame(frame: u64) {
        let virtual_address = mmu::physical_to_virtual(frame & !0xfff);
        // SAFETY: `frame` is a RAM frame the kernel's frame allocator owns
        // (the only source of frame addresses); the direct map covers all
        // RAM outside the kernel image, and frames are never the target of
        // a Rust reference, so raw writes alias nothing.
        unsafe { core::ptr::write_bytes(virtual_address as *mut u8, 0, super::PAGE_SIZE as usize) };
    }

    /// Copies `bytes` into the frame at `frame`, starting at `offset`;
    /// bytes that would pass the end of the frame are not copied.
    pub fn write(frame: u64, offset: usize, bytes: &[u8]) {
        let length = bytes
            .len()
            .min((super::PAGE_SIZE as usize).saturating_sub(offset));
        let virtual_address = mmu::physical_to_virtual(frame & !0xfff) + offset as u64;
        // SAFETY: as in `zero_frame`; the length is clamped to the frame.
        unsafe {
            core::ptr::copy_nonoverlapping(bytes.as_ptr(), virtual_address as *mut u8, length)
        };
    }

    /// Runs `body` on `length` bytes of RAM from physical address
    /// `start` as one mutable slice, through the direct map — for a
    /// device to fill user pages without a copy. The range must lie in
    /// consecutive frames the kernel's frame allocator owns (the direct
    /// map is linear, so they are consecutive there too); `body` must not
    /// reach them otherwise (`read`, `write`, `zero_frame`) while it runs.
    pub fn with_bytes_mut<R>(start: u64, length: usize, body: impl FnOnce(&mut [u8]) -> R) -> R {
        let virtual_address = mmu::physical_to_virtual(start);
        // SAFETY: as in `zero_frame`: the frames are RAM the kernel owns,
        // mapped by the direct map, and never otherwise the target of a
        // Rust reference; the slice lives only for `body`, which by the
        // contract above does not reach them any other way.
        let bytes = unsafe { core::slice::from_raw_parts_mut(virtual_address as *mut u8, length) };
        body(bytes)
    }

    /// Runs `body` on the RAM of every `(physical start, length)` of
    /// `runs` as mutable slices, in order, through the direct map — the
    /// pieces of one caller's buffer. Each range must lie in consecutive
    /// frames the kernel's frame allocator owns, no two may overlap, and
    /// `body` must not reach them otherwise while it runs (as
    /// [`with_bytes_mut`]).
    pub fn with_runs_mut<R>(runs: &[(u64, usize)], body: impl FnOnce(&mut [&mut [u8]]) -> R) -> R {
        let mut slices: alloc::vec::Vec<&mut [u8]> = runs
            .iter()
            .map(|&(start, length)| {
                let virtual_address = mmu::physical_to_virtual(start);
                // SAFETY: as in `with_bytes_mut`; the ranges do not overlap
                // (the contract above), so neither do the slices, which
                // live only for `body`.
                unsafe { core::slice::from_raw_parts_mut(virtual_address as *mut u8, length) }
            })
            .collect();
        body(&mut slices)
    }

    /// Copies from the frame at `frame`, starting at `offset`, into `bytes`
    /// (clamped to the frame's end).
    pub fn read(frame: u64, offset: usize, bytes: &mut [u8]) {
        let length = bytes
            .len()
            .min((super::PAGE_SIZE as usize).saturating_sub(offset));
        let virtual_address = mmu::physical_to_virtual(frame & !0xfff) + offset as u64;
        // SAFETY: as in `zero_frame`.
        unsafe {
            core::ptr::copy_nonoverlapping(virtual_address as *const u8, bytes.as_mut_ptr(), length)
        };
    }
}
