// SPDX-License-Identifier: MIT OR Apache-2.0
//! The ELF note that marks a native Manux program.
//!
//! Every program built with the apps' runtime carries, in a `PT_NOTE`
//! segment, one note with the owner name [`NAME`], the type [`TYPE`] and
//! no descriptor. The kernel's loader reads it to tell the two kinds of
//! static position-independent program apart: a marked one has its
//! `R_*_RELATIVE` relocations checked and applied by the kernel; an
//! unmarked one is a Linux program, which relocates itself (glibc's
//! `_dl_relocate_static_pie`, musl's `rcrt1`), as Linux leaves it to do.

/// The note's owner name, with its terminating NUL (`n_namesz` is 6).
pub const NAME: &[u8] = b"Manux\0";
/// The note's type (`n_type`): "a native Manux program".
pub const TYPE: u32 = 1;
