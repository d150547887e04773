// SPDX-License-Identifier: MIT OR Apache-2.0
//! Growing collections without the chance of a panic.
//!
//! Every program has a 1 MiB heap, and the runtime's allocation-failure
//! handler is a panic (status 101). What a program stores because of its
//! input — directory listings, lines kept for `tail`, paths — therefore
//! grows through these helpers, which reserve first and report
//! [`OutOfMemory`] (shown as `ENOMEM`'s message) instead.

use alloc::vec::Vec;
use manux_runtime::Errno;

/// The heap could not hold what was asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutOfMemory;

impl From<OutOfMemory> for Errno {
    fn from(_: OutOfMemory) -> Errno {
        Errno::OutOfMemory
    }
}

/// Appends `item`.
///
/// Return values: `Ok(())`; [`OutOfMemory`].
pub fn try_push<T>(vector: &mut Vec<T>, item: T) -> Result<(), OutOfMemory> {
    vector.try_reserve(1).map_err(|_| OutOfMemory)?;
    vector.push(item);
    Ok(())
}

/// Appends a copy of `bytes`.
///
/// Return values: `Ok(())`; [`OutOfMemory`].
pub fn try_extend(vector: &mut Vec<u8>, bytes: &[u8]) -> Result<(), OutOfMemory> {
    vector.try_reserve(bytes.len()).map_err(|_| OutOfMemory)?;
    vector.extend_from_slice(bytes);
    Ok(())
}

/// A copy of `bytes`.
///
/// Return values: the copy; [`OutOfMemory`].
pub fn try_copy(bytes: &[u8]) -> Result<Vec<u8>, OutOfMemory> {
    let mut copy = Vec::new();
    try_extend(&mut copy, bytes)?;
    Ok(copy)
}

/// A zero-filled buffer of `length` bytes.
///
/// Return values: the buffer; [`OutOfMemory`].
pub fn try_buffer(length: usize) -> Result<Vec<u8>, OutOfMemory> {
    let mut buffer = Vec::new();
    buffer.try_reserve_exact(length).map_err(|_| OutOfMemory)?;
    buffer.resize(length, 0);
    Ok(buffer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers_grow_and_copy() {
        let mut vector = Vec::new();
        try_push(&mut vector, 1u8).unwrap();
        try_extend(&mut vector, b"23").unwrap();
        assert_eq!(vector, b"\x0123");
        assert_eq!(try_copy(b"ab").unwrap(), b"ab");
        assert_eq!(try_buffer(3).unwrap(), [0, 0, 0]);
        assert_eq!(Errno::from(OutOfMemory), Errno::OutOfMemory);
    }

    #[test]
    fn impossible_requests_fail_instead_of_panicking() {
        assert_eq!(try_buffer(usize::MAX), Err(OutOfMemory));
    }
}
