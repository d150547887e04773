// SPDX-License-Identifier: MIT OR Apache-2.0
//! Physical memory: the frame allocator.
//!
//! `hal/` reports the RAM it did not use itself (the kernel image, the
//! firmware's tables and the heap are already subtracted) as
//! [`BootInfo::free_memory`]. This module hands that memory out in 4 KiB
//! frames, tracked by one bit per frame. Allocation returns `None` when
//! memory is exhausted; every caller that acts for a user turns that into
//! an `ENOMEM`-style error instead of panicking.

use alloc::vec::Vec;
use hal::BootInfo;
use spin::Mutex;

/// Bytes in a frame.
pub const FRAME_SIZE: u64 = 4096;

/// A physical address of a frame (4 KiB aligned).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Frame(pub u64);

/// One contiguous range of free RAM and its allocation bitmap.
struct Region {
    first: u64,
    frames: u64,
    /// Bit set = frame in use.
    used: Vec<u64>,
    /// Where to start looking for a free frame.
    cursor: u64,
}

/// The frames of every free RAM range.
pub struct FrameAllocator {
    regions: Vec<Region>,
    free_frames: u64,
}

impl FrameAllocator {
    fn new(boot: &BootInfo) -> Self {
        let mut regions = Vec::new();
        let mut free_frames = 0;
        for range in boot.free_memory.as_slice() {
            let first = range.start.div_ceil(FRAME_SIZE);
            let end = range.end() / FRAME_SIZE;
            if end <= first {
                continue;
            }
            let frames = end - first;
            let mut used = alloc::vec![0u64; frames.div_ceil(64) as usize];
            // Bits past the end of the range are permanently "used".
            if frames % 64 != 0 {
                if let Some(last) = used.last_mut() {
                    *last = !0u64 << (frames % 64);
                }
            }
            free_frames += frames;
            regions.push(Region {
                first,
                frames,
                used,
                cursor: 0,
            });
        }
        FrameAllocator {
            regions,
            free_frames,
        }
    }

    /// Bytes currently free.
    pub fn free_bytes(&self) -> u64 {
        self.free_frames * FRAME_SIZE
    }

    /// Takes one frame; `None` when memory is exhausted.
    pub fn allocate(&mut self) -> Option<Frame> {
        for region in self.regions.iter_mut() {
            let words = region.used.len() as u64;
            for step in 0..words {
                let word_index = ((region.cursor + step) % words) as usize;
                let word = region.used[word_index];
                if word != !0 {
                    let bit = (!word).trailing_zeros() as u64;
                    region.used[word_index] |= 1 << bit;
                    region.cursor = word_index as u64;
                    self.free_frames -= 1;
                    return Some(Frame(
                        (region.first + word_index as u64 * 64 + bit) * FRAME_SIZE,
                    ));
                }
            }
        }
        None
    }

    /// Takes up to `max` physically consecutive frames: the first free
    /// frame, and as many free frames right after it as there are (at
    /// least one); `None` when memory is exhausted. Returns the first and
    /// the count.
    pub fn allocate_run(&mut self, max: u64) -> Option<(Frame, u64)> {
        let first = self.allocate()?;
        let mut count = 1;
        while count < max && self.take_if_free(first.0 / FRAME_SIZE + count) {
            count += 1;
        }
        Some((first, count))
    }

    /// Takes frame number `number` if it is free.
    fn take_if_free(&mut self, number: u64) -> bool {
        for region in self.regions.iter_mut() {
            if number >= region.first && number < region.first + region.frames {
                let index = number - region.first;
                let (word, bit) = ((index / 64) as usize, index % 64);
                if region.used[word] & (1 << bit) != 0 {
                    return false;
                }
                region.used[word] |= 1 << bit;
                self.free_frames -= 1;
                return true;
            }
        }
        false
    }

    /// Returns a frame. Freeing a frame that is not allocated is a kernel
    /// bug; it is logged and ignored rather than corrupting the counts.
    pub fn free(&mut self, frame: Frame) {
        let number = frame.0 / FRAME_SIZE;
        for region in self.regions.iter_mut() {
            if number >= region.first && number < region.first + region.frames {
                let index = number - region.first;
                let (word, bit) = ((index / 64) as usize, index % 64);
                if region.used[word] & (1 << bit) == 0 {
                    log::error!("kernel bug: double free of frame {:#x}", frame.0);
                    return;
                }
                region.used[word] &= !(1 << bit);
                self.free_frames += 1;
                return;
            }
        }
        log::error!("kernel bug: free of unknown frame {:#x}", frame.0);
    }
}

/// The machine's frame allocator.
pub static FRAMES: Mutex<Option<FrameAllocator>> = Mutex::new(None);

/// Builds the frame allocator from the boot memory map; returns the
/// number of free bytes, for the boot log.
pub fn init(boot: &BootInfo) -> u64 {
    let allocator = FrameAllocator::new(boot);
    let free = allocator.free_bytes();
    *FRAMES.lock() = Some(allocator);
    free
}
