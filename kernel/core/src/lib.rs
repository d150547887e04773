// SPDX-License-Identifier: MIT OR Apache-2.0
#![doc = include_str!("../README.md")]
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

mod address_ranges;
pub mod budget;
mod error;
pub mod interpreter_line;
mod live_objects;
mod location;
pub mod program;
mod resolve;
mod volume;
pub mod xchroot;

pub use address_ranges::{AddressRanges, FreeError};
pub use error::Error;
pub use live_objects::{LiveObjects, ObjectRef};
pub use location::{Anchor, Location, Node, Step};
pub use resolve::{resolve, resolve_parent, DotView, Resolved, View, DOTS, MAX_SYMLINKS};
pub use volume::{PaidBy, Volume};
