//! ext2l: ext2 with rootlinks, directory hardlinks and reserved names.
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_code)]
extern crate alloc;
