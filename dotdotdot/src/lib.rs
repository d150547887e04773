// SPDX-License-Identifier: MIT OR Apache-2.0
#![doc = include_str!("../README.md")]
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

mod batch;
mod error;
mod limits;
mod name;
mod namespace;
mod tree;

pub use batch::Operation;
pub use error::{BatchError, Error};
pub use limits::{MAX_COMPONENT_LENGTH, MAX_DEPTH, MAX_ENTRIES, MAX_NAME_LENGTH};
pub use name::{fresh_names, validate_component, validate_name, FreshName};
pub use namespace::{Namespace, Resolved};
pub use tree::{AccessMode, Entries, Entry, EntryKind, Leaf, VirtualDirectory};

#[cfg(test)]
mod tests;
