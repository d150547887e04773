// SPDX-License-Identifier: MIT OR Apache-2.0
//! The user half's free ranges: one allocator of virtual ranges for every
//! process (DESIGN §3), so no two live segments overlap and an address
//! means the same thing everywhere.
//!
//! Every range is page-rounded and followed by a guard gap that stays
//! unmapped, so running off the end of one segment faults instead of
//! reaching the next. It owns only the bookkeeping of addresses: it never
//! maps anything, and it refuses a free that does not match a range it
//! handed out whole.

use alloc::vec::Vec;

/// The free ranges of `[start, end)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddressRanges {
    /// Sorted, non-overlapping, non-adjacent `(start, end)`.
    free: Vec<(u64, u64)>,
    page_size: u64,
    guard: u64,
}

/// Why a range could not be given back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FreeError {
    /// Part of it is free already, or it lies outside the space.
    NotAllocated,
}

impl AddressRanges {
    /// All of `[start, end)` free; ranges are multiples of `page_size`
    /// (a power of two) followed by `guard` unmapped bytes.
    pub fn new(start: u64, end: u64, page_size: u64, guard: u64) -> Self {
        let start = start.next_multiple_of(page_size);
        let end = end / page_size * page_size;
        let mut free = Vec::new();
        if start < end {
            free.push((start, end));
        }
        AddressRanges {
            free,
            page_size,
            guard,
        }
    }

    /// The bytes a range of `size` takes, guard included; `None` if that
    /// does not fit in 64 bits.
    fn footprint(&self, size: u64) -> Option<u64> {
        size.checked_next_multiple_of(self.page_size)?
            .checked_add(self.guard)
    }

    /// Takes a range of `size` bytes (page-rounded, plus the guard);
    /// returns its start, or `None` when no free range is large enough.
    pub fn allocate(&mut self, size: u64) -> Option<u64> {
        let size = self.footprint(size)?;
        let index = self
            .free
            .iter()
            .position(|(start, end)| end - start >= size)?;
        let (start, end) = self.free[index];
        if end - start == size {
            self.free.remove(index);
        } else {
            self.free[index].0 = start + size;
        }
        Some(start)
    }

    /// Gives back the range at `start` taken by [`Self::allocate`] with
    /// the same `size`, merging it with its free neighbours.
    ///
    /// Return values: `NotAllocated` if any byte of it is free already (a
    /// double free, or a wrong size), and nothing changes.
    pub fn free(&mut self, start: u64, size: u64) -> Result<(), FreeError> {
        let end = self
            .footprint(size)
            .and_then(|size| start.checked_add(size))
            .ok_or(FreeError::NotAllocated)?;
        let position = self
            .free
            .partition_point(|&(free_start, _)| free_start < start);
        let overlaps_before = position > 0 && self.free[position - 1].1 > start;
        let overlaps_after = self
            .free
            .get(position)
            .is_some_and(|&(free_start, _)| free_start < end);
        if overlaps_before || overlaps_after {
            return Err(FreeError::NotAllocated);
        }
        self.free.insert(position, (start, end));
        // Merge with the next and the previous range where they touch.
        if position + 1 < self.free.len() && self.free[position].1 == self.free[position + 1].0 {
            self.free[position].1 = self.free[position + 1].1;
            self.free.remove(position + 1);
        }
        if position > 0 && self.free[position - 1].1 == self.free[position].0 {
            self.free[position - 1].1 = self.free[position].1;
            self.free.remove(position);
        }
        Ok(())
    }

    /// The free ranges, sorted: `(start, end)`.
    pub fn free_ranges(&self) -> &[(u64, u64)] {
        &self.free
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: u64 = 4096;

    #[test]
    fn ranges_are_page_rounded_and_guarded() {
        let mut ranges = AddressRanges::new(0x40_0000, 0x100_0000, PAGE, PAGE);
        let first = ranges.allocate(1).unwrap();
        let second = ranges.allocate(PAGE + 1).unwrap();
        assert_eq!(first, 0x40_0000);
        assert_eq!(second, first + 2 * PAGE, "one page and one guard page");
        assert_eq!(ranges.free_ranges()[0].0, second + 3 * PAGE);
    }

    #[test]
    fn a_double_free_changes_nothing() {
        let mut ranges = AddressRanges::new(0x40_0000, 0x100_0000, PAGE, PAGE);
        let start = ranges.allocate(PAGE).unwrap();
        ranges.free(start, PAGE).unwrap();
        let before = ranges.clone();
        assert_eq!(ranges.free(start, PAGE), Err(FreeError::NotAllocated));
        assert_eq!(ranges, before);
    }

    #[test]
    fn a_free_of_the_wrong_size_is_refused() {
        let mut ranges = AddressRanges::new(0x40_0000, 0x100_0000, PAGE, PAGE);
        let start = ranges.allocate(PAGE).unwrap();
        assert_eq!(ranges.free(start, 100 * PAGE), Err(FreeError::NotAllocated));
        assert_eq!(
            ranges.free(u64::MAX - PAGE, PAGE),
            Err(FreeError::NotAllocated)
        );
    }

    #[test]
    fn huge_sizes_do_not_overflow() {
        let mut ranges = AddressRanges::new(0x40_0000, 0x8000_0000_0000, PAGE, PAGE);
        assert_eq!(ranges.allocate(u64::MAX), None);
        assert_eq!(ranges.allocate(u64::MAX - PAGE), None);
        assert!(ranges.allocate(0x7000_0000_0000).is_some());
    }
}
