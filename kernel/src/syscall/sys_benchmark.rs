// SPDX-License-Identifier: MIT OR Apache-2.0
//! `benchmark(operation, a, b)`: what `cargo xtask bench` measures that no
//! other call shows (`manux_abi::benchmark` documents the operations).
//!
//! The boot-to-prompt time is open to anyone: it is a time, nothing more.
//! Dropping the block cache and reading the raw disk exist only when the
//! machine was booted with the `bench` argument (the xtask's benchmark
//! boot), and even then a raw read returns only a byte count, never data:
//! it cannot reveal a file a confined caller could not open.

use core::sync::atomic::{AtomicBool, Ordering};
use manux_abi::{benchmark, Errno};

/// Whether the `bench` boot argument was given.
static ENABLED: AtomicBool = AtomicBool::new(false);

/// Allows the privileged operations for the rest of this boot.
pub fn enable() {
    ENABLED.store(true, Ordering::Relaxed);
}

/// Runs benchmark `operation`.
///
/// Return values: the operation's result (see `manux_abi::benchmark`);
/// `InvalidArgument` for an unknown operation or a raw read longer than
/// `RAW_READ_MAX_SECTORS`; `NotPermitted` for a privileged operation
/// without the `bench` boot argument; `OutOfRange`, `OutOfMemory`,
/// `InputOutput`, `NotFound` (no root disk) from the cache.
pub fn benchmark(operation: u64, a: u64, b: u64) -> Result<u64, Errno> {
    match operation {
        benchmark::PROMPT_TIME => Ok(crate::console::first_read_nanos().unwrap_or(0)),
        benchmark::DROP_CACHE | benchmark::RAW_READ if !ENABLED.load(Ordering::Relaxed) => {
            Err(Errno::NotPermitted)
        }
        benchmark::DROP_CACHE => crate::root_fs::drop_cache().map(|()| 0),
        benchmark::RAW_READ if b > benchmark::RAW_READ_MAX_SECTORS => Err(Errno::InvalidArgument),
        benchmark::RAW_READ => crate::root_fs::read_raw(a, b),
        _ => Err(Errno::InvalidArgument),
    }
}
