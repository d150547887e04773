// SPDX-License-Identifier: MIT OR Apache-2.0
//! The kernel's source of random bytes: Linux's `getrandom` and the 16
//! `AT_RANDOM` bytes of a program's initial stack (which libcs use for
//! stack-protector canaries and pointer guards).
//!
//! Not a cryptographic generator: the machines this runs on give the
//! kernel no hardware entropy it uses yet (no `RNDR`, `RDRAND` or
//! virtio-rng driver), so the bytes are SplitMix64 over a state that
//! every request stirs with the time since reset (nanoseconds, whose low
//! bits vary from run to run under QEMU) and the time of day. Good enough
//! to make canaries differ between processes and boots; not a key source.

use core::sync::atomic::{AtomicU64, Ordering};
use hal::{Arch, Architecture};

/// The generator's state.
static STATE: AtomicU64 = AtomicU64::new(0x4d58_5f72_616e_646f);

/// SplitMix64's output function.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The next 64 random bits.
fn next() -> u64 {
    let now = Arch::time_since_reset().as_nanos() as u64;
    let wall = crate::wall_clock::now().as_nanos() as u64;
    let step = 0x9e37_79b9_7f4a_7c15u64 ^ mix(now) ^ wall.rotate_left(17);
    let previous = STATE.fetch_add(step | 1, Ordering::Relaxed);
    mix(previous.wrapping_add(step | 1))
}

/// Fills `bytes` with random bytes.
pub fn fill(bytes: &mut [u8]) {
    for chunk in bytes.chunks_mut(8) {
        let word = next().to_le_bytes();
        chunk.copy_from_slice(&word[..chunk.len()]);
    }
}
