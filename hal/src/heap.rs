// SPDX-License-Identifier: MIT OR Apache-2.0
//! The kernel heap: a buddy allocator over one range of RAM.
//!
//! The architecture's boot code picks the range (a share of the largest RAM
//! range that is free) and calls [`init`] once, before the kernel runs; the
//! range is then removed from [`crate::BootInfo::free_memory`], so no frame
//! handed out later can overlap it. Allocation failure is reported to the
//! caller (`Vec::try_reserve`, `Box::try_new` patterns in the kernel) — the
//! global `alloc_error_handler` of `alloc` only fires for infallible calls,
//! and the kernel uses those only for boot-time structures.

use buddy_system_allocator::LockedHeap;

/// Order 32: blocks up to 4 GiB, far beyond any heap we create.
#[global_allocator]
static HEAP: LockedHeap<32> = LockedHeap::empty();

/// Gives the heap its memory.
///
/// # Safety
/// 1. `[start, start + size)` is mapped read-write for the kernel for the
///    rest of the kernel's life.
/// 2. Nothing else uses that memory: it is outside the kernel image and the
///    firmware's tables, and is never handed out as a frame.
/// 3. Called once.
pub(crate) unsafe fn init(start: usize, size: usize) {
    // SAFETY: obligations 1–3 are the caller's; `LockedHeap::init` needs
    // exactly that the range is valid, unused memory.
    unsafe { HEAP.lock().init(start, size) };
}

/// Bytes currently allocated from the heap, and its total size.
pub fn usage() -> (usize, usize) {
    let heap = HEAP.lock();
    (heap.stats_alloc_actual(), heap.stats_total_bytes())
}
