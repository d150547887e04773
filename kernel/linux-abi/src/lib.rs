// SPDX-License-Identifier: MIT OR Apache-2.0
//! Linux's system-call ABI, as facts: what a prebuilt static Linux program
//! (glibc or musl, static-PIE or fixed-address, busybox) expects of the
//! kernel on AArch64 and x86_64.
//!
//! # What this crate owns
//! - the call numbers of both architectures ([`LinuxCall`], [`Arch`]);
//! - the byte layouts of the structures that cross the boundary, with
//!   little-endian encoders and, where a program hands one to the kernel,
//!   decoders ([`layout`]);
//! - flag and constant values, per architecture where they differ, decoded
//!   into typed values that report unknown bits ([`flags`]);
//! - error numbers ([`Errno`]) and the one mapping from the native
//!   [`manux_abi::Errno`];
//! - signal numbers and default actions ([`signals`]), wait statuses
//!   ([`wait_status`]), clock ids ([`clock`]), resource ids ([`resource`]);
//! - the initial stack a libc's start code reads ([`initial_stack`]).
//!
//! # What it must never do
//! It knows nothing about Manux's kernel: no processes, files, memory or
//! policy. It never reads user memory (the kernel copies bytes in and out,
//! checking every pointer, and hands this crate plain byte slices), never
//! decides whether a call is allowed, and never guesses: a value it does
//! not know is reported as unknown, not dropped. It has no `unsafe`.
//!
//! Every table is checked on the host against Linux's own headers where
//! they are installed (`tests/`), and against the `libc` crate's
//! definitions where the kernel's and the C library's structures agree;
//! README.md says where each fact was checked.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;

pub mod auxv;
mod calls;
pub mod clock;
mod errno;
pub mod flags;
pub mod initial_stack;
pub mod layout;
pub mod resource;
pub mod signals;
pub mod wait_status;

pub use calls::LinuxCall;
pub use errno::Errno;

/// The architectures whose Linux ABI this crate describes. Not chosen by
/// `cfg`: the kernel of one architecture uses one value, and the host
/// tests check both.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Arch {
    /// AArch64: the generic system-call table and structure layouts.
    Aarch64,
    /// x86_64: its own table, legacy calls, its own `struct stat`.
    X86_64,
}

impl Arch {
    /// Both architectures, for tests and tables.
    pub const ALL: [Arch; 2] = [Arch::Aarch64, Arch::X86_64];
}
