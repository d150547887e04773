// SPDX-License-Identifier: MIT OR Apache-2.0
//! The global allocator: a buddy allocator over a fixed arena in `.bss`.
//!
//! There is no `brk` or `mmap` system call: a program's memory is what its
//! image maps. So the heap is a [`HEAP_BYTES`] array in `.bss` (zero-filled
//! by the kernel's loader, costing no file space), handed once, before
//! `main`, to `buddy_system_allocator` (the allocator the brief chose, as
//! the kernel's heap does). Allocation failure ends the program through
//! the default `alloc` error handler, a panic (status 101).
//!
//! Programs are single-threaded; the allocator's spin lock is therefore
//! never contended, and no allocation happens while it is held.

#[cfg(target_os = "none")]
use buddy_system_allocator::LockedHeap;
#[cfg(target_os = "none")]
use core::cell::UnsafeCell;
#[cfg(target_os = "none")]
use core::sync::atomic::{AtomicBool, Ordering};

/// Size of every program's heap.
pub const HEAP_BYTES: usize = 1 << 20;

/// The heap's memory.
#[cfg(target_os = "none")]
#[repr(C, align(4096))]
struct Arena(UnsafeCell<[u8; HEAP_BYTES]>);

// SAFETY: the arena is touched only through the allocator (handed over
// once, in `initialize`), whose lock serialises every access.
#[cfg(target_os = "none")]
unsafe impl Sync for Arena {}

#[cfg(target_os = "none")]
static ARENA: Arena = Arena(UnsafeCell::new([0; HEAP_BYTES]));

#[cfg(target_os = "none")]
static INITIALIZED: AtomicBool = AtomicBool::new(false);

#[cfg(target_os = "none")]
#[global_allocator]
static HEAP: LockedHeap<32> = LockedHeap::empty();

/// Hands the arena to the allocator; later calls do nothing.
#[cfg(target_os = "none")]
pub(crate) fn initialize() {
    if INITIALIZED.swap(true, Ordering::AcqRel) {
        return;
    }
    let start = ARENA.0.get() as usize;
    // SAFETY: `LockedHeap::init` needs `[start, start + HEAP_BYTES)` to be
    // unused memory owned by the heap from now on: it is `ARENA`, a static
    // nothing else refers to, handed over once (the swap above).
    unsafe { HEAP.lock().init(start, HEAP_BYTES) };
}

/// Bytes of the heap in use now.
#[cfg(target_os = "none")]
pub fn used_bytes() -> usize {
    HEAP.lock().stats_alloc_actual()
}

/// Bytes of the heap in use now (none on the host).
#[cfg(not(target_os = "none"))]
pub fn used_bytes() -> usize {
    0
}
