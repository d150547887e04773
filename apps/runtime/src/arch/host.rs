// SPDX-License-Identifier: MIT OR Apache-2.0
//! The host stand-in: lets the crate build and its pure parts run under
//! `cargo test` and `clippy`; no call reaches any kernel.

use manux_abi::{encode_result, Errno};

/// Machine code for `exit(66)`: none on the host.
pub const EXIT_66_CODE: &[u8] = &[];

/// Every call fails with `ENOSYS`.
///
/// # Safety
/// None needed; `unsafe` only to match the targets' signature.
pub unsafe fn syscall(_number: u64, _arguments: [u64; 6]) -> u64 {
    encode_result(Err(Errno::NotImplemented))
}

/// Reads nothing on the host.
///
/// # Safety
/// None needed; `unsafe` only to match the targets' signature.
pub unsafe fn read_word(_address: usize) -> u64 {
    0
}

/// Writes nothing on the host.
///
/// # Safety
/// None needed; `unsafe` only to match the targets' signature.
pub unsafe fn write_word(_address: usize, _value: u64) {}

/// Does nothing on the host.
pub fn privileged_instruction() {}

/// Cannot jump on the host.
///
/// # Safety
/// None needed; `unsafe` only to match the targets' signature.
pub unsafe fn jump(_address: usize) -> ! {
    panic!("no jumps on the host")
}
