// SPDX-License-Identifier: MIT OR Apache-2.0
//! `lseek` whence values (Linux's).

/// From the start of the file.
pub const SET: u32 = 0;
/// From the current position.
pub const CURRENT: u32 = 1;
/// From the end of the file.
pub const END: u32 = 2;
