// SPDX-License-Identifier: MIT OR Apache-2.0
//! The architecture: the trap instruction, `_start`, and the deliberately
//! bad instructions of [`crate::hazard`].
//!
//! One module per target, selected once here. Each provides the same
//! items, checked by the uses in `syscall.rs`, `start.rs` and `hazard.rs`:
//! `unsafe fn syscall(number, [u64; 6]) -> u64`, `unsafe fn read_word`,
//! `unsafe fn write_word`, `fn privileged_instruction`, `unsafe fn jump`,
//! and `EXIT_66_CODE`, machine code that calls `exit(66)`.
//!
//! On the host (tests, `clippy`) a stub stands in: every call fails with
//! `ENOSYS` and nothing is ever dereferenced, so the rest of the crate
//! builds and its pure parts are tested there.

#[cfg(all(target_os = "none", target_arch = "aarch64"))]
mod aarch64;
#[cfg(all(target_os = "none", target_arch = "aarch64"))]
pub use aarch64::*;

#[cfg(all(target_os = "none", target_arch = "x86_64"))]
mod x86_64;
#[cfg(all(target_os = "none", target_arch = "x86_64"))]
pub use x86_64::*;

#[cfg(all(
    target_os = "none",
    not(any(target_arch = "aarch64", target_arch = "x86_64"))
))]
compile_error!("Manux programs run on aarch64 and x86_64 only");

#[cfg(not(target_os = "none"))]
mod host;
#[cfg(not(target_os = "none"))]
pub use host::*;
