// SPDX-License-Identifier: MIT OR Apache-2.0
//! The structures that cross the boundary, as bytes: sizes and field
//! offsets per architecture, little-endian encoders for what the kernel
//! writes into a program's memory and decoders for what it reads.
//!
//! Encoders fill every byte, padding included, so no kernel memory can
//! leak through a gap. Decoders take fixed-size arrays: the kernel copies
//! exactly `SIZE` bytes from the program (checking the pointer) first.
//!
//! Both architectures are little-endian and LP64; the structures differ
//! only where noted (`struct stat`).

mod bytes;
pub mod directory_entry;
pub mod io_vector;
pub mod poll;
pub mod rlimit;
pub mod signal_action;
pub mod signal_frame;
pub mod signal_info;
pub mod signal_stack;
pub mod stat;
pub mod statfs;
pub mod statx;
pub mod system_info;
pub mod terminal;
pub mod time;
pub mod utsname;

/// An encoded structure whose size depends on the architecture: the
/// first `len` bytes of `bytes` are the structure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EncodedBytes<const N: usize> {
    bytes: [u8; N],
    len: usize,
}

impl<const N: usize> EncodedBytes<N> {
    /// The structure's bytes, to copy to the program.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}
