// SPDX-License-Identifier: MIT OR Apache-2.0
//! Operations of the `benchmark(operation, a, b)` call, which gives
//! `cargo xtask bench` what no other call shows.
//!
//! | operation | arguments | result | who |
//! |---|---|---|---|
//! | [`PROMPT_TIME`] | — | nanoseconds from reset to the first read of the console (the shell's first prompt), 0 before | anyone |
//! | [`DROP_CACHE`] | — | 0: every dirty block of the root file system's cache written back, then every block of file data dropped (metadata stays cached) | `bench` boot argument |
//! | [`RAW_READ`] | first sector `a`, sector count `b` | bytes read from the root disk, bypassing the cache and the file system, in 512 KiB requests one at a time | `bench` boot argument |
//!
//! A raw read hands no data to the caller, only the count: it measures
//! the device, and reveals nothing a confined program could not read
//! otherwise. Without the `bench` boot argument the privileged operations
//! are `EPERM`; an unknown operation is `EINVAL`; a raw range past the
//! disk's end is `ERANGE`.

/// Nanoseconds from reset to the console's first read.
pub const PROMPT_TIME: u64 = 0;
/// Write back the root file system's block cache, then drop its file data.
pub const DROP_CACHE: u64 = 1;
/// Read sectors of the root disk, bypassing the cache.
pub const RAW_READ: u64 = 2;
/// The largest `RAW_READ` sector count in one call (64 MiB).
pub const RAW_READ_MAX_SECTORS: u64 = 1 << 17;
