// SPDX-License-Identifier: MIT OR Apache-2.0
//! Physical memory: the frame allocator and owned frames.
//!
//! `BootInfo::free_memory` is the RAM nothing else uses (the kernel image,
//! the firmware's tables and the heap are already subtracted). This module
//! hands it out in 4 KiB frames, tracked by one bit per frame, and only as
//! [`Frame`] values: a `Frame` is the one owner of its memory, it is freed
//! when dropped, and no safe code can make a `Frame` out of an address. So
//! safe code cannot reach memory it was not given — kernel heap, another
//! process's pages, a page-table frame — and a frame cannot be handed out
//! again while anything (a table, a cache, a read in flight) still holds it.
//!
//! A frame's bytes are untyped memory, outside every Rust object: they are
//! reached by copies ([`Frame::read`], [`Frame::write`]) and, for a
//! device's transfer, by slices that live for one call
//! ([`crate::user::UserRuns`]), never by a lasting reference. Several
//! holders of one frame (`Arc<Frame>`: the read-only pages of a program
//! that many processes map) therefore never hold aliasing references.
//!
//! Allocation returns `None` when memory is exhausted; every caller that
//! acts for a user turns that into an `ENOMEM`-style error.

use crate::arch::mmu;
use crate::BootInfo;
use alloc::vec::Vec;
use spin::Mutex;

/// Bytes in a frame.
pub const FRAME_SIZE: u64 = 4096;

/// One contiguous range of free RAM and its allocation bitmap.
struct Region {
    first: u64,
    frames: u64,
    /// Bit set = frame in use.
    used: Vec<u64>,
    /// Where to start looking for a free frame.
    cursor: u64,
}

impl Region {
    /// The bitmap word and bit of frame number `number`, if it is here.
    fn bit_of(&self, number: u64) -> Option<(usize, u64)> {
        let index = number.checked_sub(self.first)?;
        (index < self.frames).then_some(((index / 64) as usize, index % 64))
    }
}

/// The frames of every free RAM range.
struct FrameAllocator {
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

    /// Takes one frame; returns its number.
    fn allocate(&mut self) -> Option<u64> {
        for region in self.regions.iter_mut() {
            let words = region.used.len() as u64;
            for step in 0..words {
                let word_index = ((region.cursor + step) % words) as usize;
                let word = region.used[word_index];
                if word != !0 {
                    let bit = u64::from((!word).trailing_zeros());
                    region.used[word_index] |= 1 << bit;
                    region.cursor = word_index as u64;
                    self.free_frames -= 1;
                    return Some(region.first + word_index as u64 * 64 + bit);
                }
            }
        }
        None
    }

    /// Takes frame number `number` if it is free.
    fn take_if_free(&mut self, number: u64) -> bool {
        for region in self.regions.iter_mut() {
            if let Some((word, bit)) = region.bit_of(number) {
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

    /// Returns frame number `number`. Freeing a frame that is not
    /// allocated is a bug; it is logged and ignored rather than
    /// corrupting the counts.
    fn free(&mut self, number: u64) {
        for region in self.regions.iter_mut() {
            if let Some((word, bit)) = region.bit_of(number) {
                if region.used[word] & (1 << bit) == 0 {
                    log::error!("hal bug: double free of frame {:#x}", number * FRAME_SIZE);
                    return;
                }
                region.used[word] &= !(1 << bit);
                self.free_frames += 1;
                return;
            }
        }
        log::error!("hal bug: free of unknown frame {:#x}", number * FRAME_SIZE);
    }
}

/// The machine's frame allocator, built by [`init`].
static FRAMES: Mutex<Option<FrameAllocator>> = Mutex::new(None);

/// Builds the frame allocator from the boot memory map; returns the
/// number of free bytes, for the boot log.
pub fn init(boot: &BootInfo) -> u64 {
    let allocator = FrameAllocator::new(boot);
    let free = allocator.free_frames * FRAME_SIZE;
    *FRAMES.lock() = Some(allocator);
    free
}

/// Bytes currently free.
pub fn free_bytes() -> u64 {
    FRAMES
        .lock()
        .as_ref()
        .map_or(0, |allocator| allocator.free_frames * FRAME_SIZE)
}

/// A 4 KiB frame of RAM, owned: freed when dropped.
///
/// Only this module makes one, from a frame the allocator just took, so a
/// `Frame` always names free RAM that nothing else holds.
#[derive(Debug)]
pub struct Frame {
    physical: u64,
}

impl Frame {
    /// A zeroed frame; `None` when memory is exhausted.
    pub fn allocate() -> Option<Frame> {
        let frame = Frame::allocate_unzeroed()?;
        frame.zero();
        Some(frame)
    }

    /// Up to `max` physically consecutive zeroed frames: the first free
    /// frame and as many free frames right after it as there are (at
    /// least one, so a device can fill a run in one request); `None` when
    /// memory is exhausted.
    pub fn allocate_run(max: u64) -> Option<Vec<Frame>> {
        let mut frames = Vec::new();
        frames.try_reserve_exact(max as usize).ok()?;
        {
            let mut guard = FRAMES.lock();
            let allocator = guard.as_mut()?;
            let first = allocator.allocate()?;
            frames.push(Frame {
                physical: first * FRAME_SIZE,
            });
            let mut count = 1;
            while count < max && allocator.take_if_free(first + count) {
                frames.push(Frame {
                    physical: (first + count) * FRAME_SIZE,
                });
                count += 1;
            }
        }
        for frame in &frames {
            frame.zero();
        }
        Some(frames)
    }

    /// A new frame holding a copy of `source`'s bytes; `None` when memory
    /// is exhausted.
    pub fn copy_of(source: &Frame) -> Option<Frame> {
        let frame = Frame::allocate_unzeroed()?;
        // SAFETY: both are RAM their `Frame`s own (see the type's doc),
        // page-aligned and mapped as normal memory by the direct map; they
        // are different frames (the new one was free), so the ranges do
        // not overlap, and no Rust reference points into either.
        unsafe {
            mmu::copy_bytes(
                frame.virtual_address() as *mut u8,
                source.virtual_address() as *const u8,
                FRAME_SIZE as usize,
            )
        };
        Some(frame)
    }

    /// A frame taken without zeroing: only for one every byte of which is
    /// written before anything reads it (zeroed, a copy, a
    /// [`FrameBuilder`]'s).
    fn allocate_unzeroed() -> Option<Frame> {
        let number = FRAMES.lock().as_mut()?.allocate()?;
        Some(Frame {
            physical: number * FRAME_SIZE,
        })
    }

    /// Zeroes the bytes `range` of the frame (clamped to its end).
    fn zero_bytes(&self, range: core::ops::Range<usize>) {
        let end = range.end.min(FRAME_SIZE as usize);
        if range.start >= end {
            return;
        }
        let target = self.virtual_address() + range.start as u64;
        // SAFETY: as in `zero`; `range` lies within the frame.
        unsafe { mmu::zero_bytes(target, end - range.start) };
    }

    /// The frame's physical address (for reports and for telling whether
    /// two frames are consecutive; nothing can be reached through it).
    pub fn physical_address(&self) -> u64 {
        self.physical
    }

    /// The frame's bytes in the kernel's direct map.
    fn virtual_address(&self) -> u64 {
        mmu::physical_to_virtual(self.physical)
    }

    fn zero(&self) {
        // SAFETY: the frame is RAM this `Frame` owns (see the type's doc),
        // page-aligned and mapped writable as normal memory by the direct
        // map; its bytes are never the target of a Rust reference outside
        // one call (module doc), so a raw write aliases nothing.
        unsafe { mmu::zero_bytes(self.virtual_address(), FRAME_SIZE as usize) };
    }

    /// Copies `bytes` into the frame from `offset`; bytes past the frame's
    /// end are not copied.
    pub fn write(&self, offset: usize, bytes: &[u8]) {
        let length = bytes
            .len()
            .min((FRAME_SIZE as usize).saturating_sub(offset));
        let target = self.virtual_address() + offset.min(FRAME_SIZE as usize) as u64;
        // SAFETY: as in `zero`; `offset + length` stays within the frame,
        // and `bytes` is kernel memory, never a frame's (no overlap).
        unsafe { mmu::copy_bytes(target as *mut u8, bytes.as_ptr(), length) };
    }

    /// Writes `value`, little-endian, at `offset` in one store when
    /// `offset` is a multiple of 8 on the frame; otherwise as
    /// [`Self::write`] of its bytes.
    #[inline]
    pub fn write_word(&self, offset: usize, value: u64) {
        if offset % 8 != 0 || offset + 8 > FRAME_SIZE as usize {
            self.write(offset, &value.to_le_bytes());
            return;
        }
        let target = self.virtual_address() + offset as u64;
        // SAFETY: as in `zero`; the word is aligned and within the frame.
        unsafe { (target as *mut u64).write(value.to_le()) };
    }

    /// Copies from the frame, from `offset`, into `bytes` (clamped to the
    /// frame's end).
    pub fn read(&self, offset: usize, bytes: &mut [u8]) {
        let length = bytes
            .len()
            .min((FRAME_SIZE as usize).saturating_sub(offset));
        let source = self.virtual_address() + offset.min(FRAME_SIZE as usize) as u64;
        // SAFETY: as in `write`, reading.
        unsafe { core::ptr::copy_nonoverlapping(source as *const u8, bytes.as_mut_ptr(), length) };
    }

    /// `length` bytes of RAM from `offset` in this frame on, through the
    /// frames that follow it physically, as one slice.
    ///
    /// # Safety
    /// Every frame the bytes reach must be held, for as long as the slice
    /// lives, by whoever holds this one, and no other slice of these bytes may exist while the
    /// returned one does.
    #[allow(
        clippy::mut_from_ref,
        reason = "frame bytes are not Rust memory (module doc)"
    )]
    pub(crate) unsafe fn bytes_from(&self, offset: usize, length: usize) -> &mut [u8] {
        let start = self.virtual_address() + offset as u64;
        // SAFETY: the caller's contract: the bytes are RAM held while the
        // slice lives,
        // consecutive in the direct map (it is linear), and no other slice
        // of them exists meanwhile.
        unsafe { core::slice::from_raw_parts_mut(start as *mut u8, length) }
    }

    /// Gives up ownership without freeing: for the translation tables,
    /// which hold frames by address (see [`TableFrames`]).
    fn into_physical(self) -> u64 {
        let physical = self.physical;
        core::mem::forget(self);
        physical
    }
}

impl Drop for Frame {
    fn drop(&mut self) {
        if let Some(allocator) = FRAMES.lock().as_mut() {
            allocator.free(self.physical / FRAME_SIZE);
        }
    }
}

/// The frames of translation tables, for the ports' table code: tables
/// hold their frames by physical address, so these are taken out of
/// [`Frame`]'s ownership and returned to it when a table is freed.
pub(crate) struct TableFrames;

impl crate::user::FrameSource for TableFrames {
    fn allocate_frame(&mut self) -> Option<u64> {
        Frame::allocate().map(Frame::into_physical)
    }

    fn free_frame(&mut self, physical: u64) {
        // The table code returns only frames this source gave it, once.
        drop(Frame { physical });
    }
}

/// A frame being filled, taken without zeroing: whatever its bytes held
/// before never shows, as every byte not written by the time it is
/// [finished](Self::finish) is zeroed then (and the gap below a write is
/// zeroed as the write lands). A page built whole — a program's private
/// page copied from its file — is written once instead of zeroed first.
#[derive(Debug)]
pub struct FrameBuilder {
    frame: Frame,
    /// Bytes `[0, settled)` hold what was written or zeros.
    settled: usize,
}

impl FrameBuilder {
    /// A frame to fill; `None` when memory is exhausted.
    pub fn new() -> Option<Self> {
        Some(FrameBuilder {
            frame: Frame::allocate_unzeroed()?,
            settled: 0,
        })
    }

    /// Zeroes what lies between the settled bytes and `offset`, and
    /// counts everything below `end` as settled.
    #[inline]
    fn settle(&mut self, offset: usize, end: usize) {
        if offset > self.settled {
            self.frame.zero_bytes(self.settled..offset);
        }
        self.settled = self.settled.max(end.min(FRAME_SIZE as usize));
    }

    /// Copies `bytes` into the frame from `offset`; bytes past the frame's
    /// end are not copied.
    pub fn write(&mut self, offset: usize, bytes: &[u8]) {
        self.settle(offset, offset.saturating_add(bytes.len()));
        self.frame.write(offset, bytes);
    }

    /// Writes `value`, little-endian, at `offset` (see
    /// [`Frame::write_word`]).
    #[inline]
    pub fn write_word(&mut self, offset: usize, value: u64) {
        self.settle(offset, offset.saturating_add(8));
        self.frame.write_word(offset, value);
    }

    /// The frame, every byte not written zeroed.
    pub fn finish(mut self) -> Frame {
        self.settle(FRAME_SIZE as usize, FRAME_SIZE as usize);
        self.frame
    }
}
