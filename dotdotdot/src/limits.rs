// SPDX-License-Identifier: MIT OR Apache-2.0
//! Per-domain bounds on the `/...` tree.
//!
//! Every process can grow its own `/...` through `xchroot()` without any
//! privilege, so everything a domain keeps in the kernel must be bounded: these
//! constants bound the size of one name and the number of names, and so the
//! kernel memory one domain can pin (at most [`MAX_ENTRIES`] names of at most
//! [`MAX_COMPONENT_LENGTH`] bytes each, about 64 KiB of name bytes). Going over
//! a length or depth bound is [`Error::InvalidName`](crate::Error::InvalidName)
//! (`EINVAL`, DESIGN §5); going over the count is
//! [`Error::NoSpace`](crate::Error::NoSpace) (`ENOSPC`).

/// Longest component of a name, in bytes.
///
/// 255 is `NAME_MAX` on Linux and the most an ext2 directory entry can hold
/// (its `name_len` is one byte), so any name a leaf could have on disk also
/// fits here.
pub const MAX_COMPONENT_LENGTH: usize = 255;

/// Longest whole name (components and the `/` between them), in bytes.
///
/// The kernel spells these paths as `/.../NAME/REST`; keeping `NAME` to a
/// quarter of Linux's `PATH_MAX` (4096) leaves room for `REST`, the part walked
/// inside a leaf on the real file system, in a path buffer of `PATH_MAX` bytes.
pub const MAX_NAME_LENGTH: usize = 1024;

/// Most components in one name, e.g. `home/alice` has 2.
///
/// Bounds the recursion and the copying a put or remove does (one virtual
/// directory per level), and no launcher or home layout needs more than 3.
pub const MAX_DEPTH: usize = 16;

/// Most names in one domain's tree, leaves and virtual directories together
/// (the root `/...` itself is not counted).
///
/// Counting virtual directories too makes this a real memory bound: each name
/// is one node. A launcher exposing its arguments as `N/file` uses 2 names per
/// argument, so 128 file arguments fit in an otherwise empty tree.
pub const MAX_ENTRIES: usize = 256;
