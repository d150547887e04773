// SPDX-License-Identifier: MIT OR Apache-2.0
//! A program's read-only pages, built once and mapped by every process
//! that runs it.
//!
//! [`SharedFrames`] owns the frames: each is filled before it is added and
//! never written through a process's table (no page of it is ever
//! writable). A process maps them all at once
//! ([`UserPages::map_shared`](super::UserPages::map_shared)), holding an
//! `Arc` of the whole set, so the frames outlive every translation to them.
//! Their page-table entries are made once, here, from the frames this set
//! owns: mapping them is copying entries, run by run.

use super::{MapError, UserAddressSpace, UserPermission, PAGE_SIZE};
use crate::arch::AddressSpace;
use crate::frames::Frame;
use alloc::vec::Vec;
use core::ops::Range;

/// Read-only pages at offsets from a start chosen per process: `(offset,
/// frame, permission)`, sorted by offset, page-aligned, distinct.
#[derive(Default)]
pub struct SharedFrames {
    pages: Vec<(u64, Frame, UserPermission)>,
    /// Each page's table entry, in the order of `pages`.
    leaves: Vec<u64>,
    /// Runs of consecutive pages: `(offset of the first, indices in
    /// `pages`)`.
    runs: Vec<(u64, Range<usize>)>,
}

impl SharedFrames {
    /// The pages of `pages` (each frame already filled), in any order.
    ///
    /// Return values: `Writable` if one allows writes; `NotUserAddress`
    /// if an offset is not page-aligned or appears twice.
    pub fn new(mut pages: Vec<(u64, Frame, UserPermission)>) -> Result<Self, MapError> {
        if pages.iter().any(|(_, _, permission)| permission.write) {
            return Err(MapError::Writable);
        }
        pages.sort_unstable_by_key(|(offset, ..)| *offset);
        let misplaced = pages.iter().any(|(offset, ..)| offset % PAGE_SIZE != 0)
            || pages.windows(2).any(|pair| pair[0].0 == pair[1].0);
        if misplaced {
            return Err(MapError::NotUserAddress);
        }
        let mut leaves = Vec::new();
        leaves
            .try_reserve_exact(pages.len())
            .map_err(|_| MapError::OutOfMemory)?;
        leaves.extend(pages.iter().map(|(_, frame, permission)| {
            AddressSpace::leaf(frame.physical_address(), *permission)
        }));
        let mut runs: Vec<(u64, Range<usize>)> = Vec::new();
        for (index, (offset, ..)) in pages.iter().enumerate() {
            match runs.last_mut() {
                Some((first, indices))
                    if *first + (indices.len() as u64) * PAGE_SIZE == *offset =>
                {
                    indices.end = index + 1;
                }
                _ => {
                    runs.try_reserve(1).map_err(|_| MapError::OutOfMemory)?;
                    runs.push((*offset, index..index + 1));
                }
            }
        }
        Ok(SharedFrames {
            pages,
            leaves,
            runs,
        })
    }

    /// The runs of consecutive pages: the offset of each run's first page
    /// and the runs' table entries.
    pub(crate) fn runs(&self) -> impl Iterator<Item = (u64, &[u64])> {
        self.runs
            .iter()
            .map(|(offset, indices)| (*offset, &self.leaves[indices.clone()]))
    }

    /// The frame and permission of the page at `offset`, if it is one.
    pub fn at(&self, offset: u64) -> Option<(&Frame, UserPermission)> {
        let index = self
            .pages
            .binary_search_by_key(&offset, |(page, ..)| *page)
            .ok()?;
        self.pages
            .get(index)
            .map(|(_, frame, permission)| (frame, *permission))
    }

    /// The offsets from the first page's to the end of the last (empty
    /// when there are no pages).
    pub fn span(&self) -> Range<u64> {
        match (self.pages.first(), self.pages.last()) {
            (Some((first, ..)), Some((last, ..))) => *first..last + PAGE_SIZE,
            _ => 0..0,
        }
    }

    /// How many pages there are.
    pub fn len(&self) -> usize {
        self.pages.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.pages.is_empty()
    }

    /// How many pages lie in `offsets` (empty if reversed).
    pub fn count_in(&self, offsets: Range<u64>) -> usize {
        let below = |bound: u64| self.pages.partition_point(|(offset, ..)| *offset < bound);
        below(offsets.end).saturating_sub(below(offsets.start))
    }

    /// Each page's offset, frame and permission, by offset.
    pub fn iter(&self) -> impl Iterator<Item = (u64, &Frame, UserPermission)> {
        self.pages
            .iter()
            .map(|(offset, frame, permission)| (*offset, frame, *permission))
    }
}
