// SPDX-License-Identifier: MIT OR Apache-2.0
//! User extents: the pages an access to `[address, address + length)`
//! reaches, checked before any byte is copied.
//!
//! This owns the arithmetic of a user-memory check — overflow, the
//! bounds of the user half, the split into page-sized pieces — so it is
//! tested on the host; `hal::user::UserPages` applies it to a process's
//! pages (each reached page must be mapped with the permission the access
//! needs). It never touches memory.

use crate::PAGE_SIZE;
use core::ops::Range;

/// Why an extent was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExtentError {
    /// It wraps around the address space or leaves the allowed range.
    BadAddress,
}

/// `[address, address + length)`, checked to lie in an allowed range
/// (an empty extent is allowed anywhere: it reaches no page).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Extent {
    address: u64,
    length: usize,
}

/// One page's share of an extent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Piece {
    /// The page's address.
    pub page: u64,
    /// Where the piece starts in the page.
    pub offset: usize,
    /// Which of the extent's bytes it holds (from 0 at `address`).
    pub bytes: Range<usize>,
}

impl Extent {
    /// The extent of `length` bytes at `address`.
    ///
    /// Return values: `BadAddress` if it is not empty and wraps around or
    /// reaches outside `allowed`.
    pub fn new(address: u64, length: usize, allowed: Range<u64>) -> Result<Extent, ExtentError> {
        let end = address
            .checked_add(length as u64)
            .ok_or(ExtentError::BadAddress)?;
        if length != 0 && (address < allowed.start || end > allowed.end) {
            return Err(ExtentError::BadAddress);
        }
        Ok(Extent { address, length })
    }

    /// One past its last byte.
    pub fn end(&self) -> u64 {
        self.address + self.length as u64
    }

    /// Whether it holds no byte.
    pub fn is_empty(&self) -> bool {
        self.length == 0
    }

    /// The addresses of the pages it reaches, as a range to look up
    /// (`first page .. end`), and how many pages that is.
    pub fn pages(&self) -> (Range<u64>, usize) {
        if self.is_empty() {
            return (self.address..self.address, 0);
        }
        let first = self.address & !(PAGE_SIZE - 1);
        let count = (self.end() - first).div_ceil(PAGE_SIZE) as usize;
        (first..self.end(), count)
    }

    /// The share of the page at `page` (one the extent reaches).
    pub fn piece(&self, page: u64) -> Piece {
        let from = page.max(self.address);
        let to = (page + PAGE_SIZE).min(self.end());
        let done = (from - self.address) as usize;
        Piece {
            page,
            offset: (from - page) as usize,
            bytes: done..done + to.saturating_sub(from) as usize,
        }
    }

    /// Every page's share, in order.
    pub fn pieces(&self) -> impl Iterator<Item = Piece> + '_ {
        let (pages, count) = self.pages();
        (0..count as u64).map(move |index| self.piece(pages.start + index * PAGE_SIZE))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const USER: Range<u64> = 0x40_0000..0x8000_0000_0000;

    #[test]
    fn wrapping_and_outside_extents_are_refused() {
        assert_eq!(
            Extent::new(u64::MAX - 1, 4, USER),
            Err(ExtentError::BadAddress)
        );
        assert_eq!(
            Extent::new(0x3f_ffff, 2, USER),
            Err(ExtentError::BadAddress)
        );
        assert_eq!(
            Extent::new(USER.end - 1, 2, USER),
            Err(ExtentError::BadAddress)
        );
        assert_eq!(
            Extent::new(0xffff_0000_0000_0000, 8, USER),
            Err(ExtentError::BadAddress),
            "a kernel address"
        );
        assert!(Extent::new(USER.end - 2, 2, USER).is_ok());
        assert!(
            Extent::new(0, 0, USER).is_ok(),
            "empty extents reach nothing"
        );
        assert_eq!(Extent::new(5, 0, USER).unwrap().pages().1, 0);
    }

    #[test]
    fn pieces_cover_every_byte_once_in_order() {
        let base = 0x40_0000u64;
        for start in [0, 1, 7, PAGE_SIZE - 1, PAGE_SIZE, PAGE_SIZE + 5] {
            for length in [1usize, 2, 100, 4095, 4096, 4097, 8192, 3 * 4096 + 3] {
                let extent = Extent::new(base + start, length, USER).unwrap();
                let (pages, count) = extent.pages();
                let pieces: Vec<Piece> = extent.pieces().collect();
                assert_eq!(pieces.len(), count);
                let mut next = 0;
                for piece in &pieces {
                    assert!(pages.contains(&piece.page) || piece.page == pages.start);
                    assert_eq!(piece.page % PAGE_SIZE, 0);
                    assert_eq!(piece.bytes.start, next, "{start} {length}");
                    assert!(piece.offset + piece.bytes.len() <= PAGE_SIZE as usize);
                    assert_eq!(
                        piece.page + piece.offset as u64,
                        base + start + piece.bytes.start as u64
                    );
                    assert!(!piece.bytes.is_empty());
                    next = piece.bytes.end;
                }
                assert_eq!(next, length);
            }
        }
    }
}
