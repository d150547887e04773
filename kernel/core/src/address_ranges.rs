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

    /// Takes the range of `size` bytes (and its guard) at the highest
    /// free address; returns its start. A private space fills from the
    /// top down this way, keeping the space above its lowest ranges free
    /// for them to grow into.
    pub fn allocate_from_top(&mut self, size: u64) -> Option<u64> {
        let size = self.footprint(size)?;
        let index = self
            .free
            .iter()
            .rposition(|(start, end)| end - start >= size)?;
        let (start, end) = self.free[index];
        if end - start == size {
            self.free.remove(index);
        } else {
            self.free[index].1 = end - size;
        }
        Some(end - size)
    }

    /// Takes the range of `size` bytes (and its guard) starting exactly
    /// at `start` (page-aligned), if all of it is free; returns `start`.
    pub fn allocate_at(&mut self, start: u64, size: u64) -> Option<u64> {
        if start % self.page_size != 0 {
            return None;
        }
        let end = start.checked_add(self.footprint(size)?)?;
        let index = self
            .free
            .iter()
            .position(|&(free_start, free_end)| free_start <= start && end <= free_end)?;
        let (free_start, free_end) = self.free[index];
        match (free_start == start, free_end == end) {
            (true, true) => {
                self.free.remove(index);
            }
            (true, false) => self.free[index].0 = end,
            (false, true) => self.free[index].1 = start,
            (false, false) => {
                self.free.try_reserve(1).ok()?;
                self.free[index].1 = start;
                self.free.insert(index + 1, (end, free_end));
            }
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
    fn from_the_top_and_at_an_address() {
        let mut ranges = AddressRanges::new(0x40_0000, 0x100_0000, PAGE, PAGE);
        let top = ranges.allocate_from_top(PAGE).unwrap();
        assert_eq!(top, 0x100_0000 - 2 * PAGE, "the page, then its guard");
        let fixed = ranges.allocate_at(0x80_0000, 3 * PAGE).unwrap();
        assert_eq!(fixed, 0x80_0000);
        assert_eq!(
            ranges.free_ranges(),
            &[(0x40_0000, 0x80_0000), (0x80_0000 + 4 * PAGE, top)]
        );
        assert_eq!(ranges.allocate_at(0x80_0000 + PAGE, PAGE), None, "taken");
        assert_eq!(ranges.allocate_at(0x40_0001, PAGE), None, "unaligned");
        assert_eq!(ranges.allocate_at(!(PAGE - 1), PAGE), None);
        // Exactly the free range before the fixed one, and back.
        assert_eq!(
            ranges.allocate_at(0x40_0000, 0x40_0000 - PAGE),
            Some(0x40_0000)
        );
        ranges.free(0x40_0000, 0x40_0000 - PAGE).unwrap();
        ranges.free(fixed, 3 * PAGE).unwrap();
        ranges.free(top, PAGE).unwrap();
        assert_eq!(ranges.free_ranges(), &[(0x40_0000, 0x100_0000)]);
    }

    #[test]
    fn huge_sizes_do_not_overflow() {
        let mut ranges = AddressRanges::new(0x40_0000, 0x8000_0000_0000, PAGE, PAGE);
        assert_eq!(ranges.allocate(u64::MAX), None);
        assert_eq!(ranges.allocate(u64::MAX - PAGE), None);
        assert!(ranges.allocate(0x7000_0000_0000).is_some());
    }
}
