// SPDX-License-Identifier: MIT OR Apache-2.0
//! Clock ids for `clock_gettime` (Linux's values) and the `timespec` it
//! writes: `[seconds, nanoseconds]`, two `u64`s.

/// Wall-clock time since 1970.
pub const REALTIME: u32 = 0;
/// Time since boot, never going backwards.
pub const MONOTONIC: u32 = 1;
