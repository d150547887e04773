// SPDX-License-Identifier: MIT OR Apache-2.0
#![doc = include_str!("../README.md")]
//!
//! # Design principles
//! - Everything the launcher decides is decided here, on the host, under
//!   test; the `launcher` program only makes the system calls.
//! - Bytes from outside (a command line, an embedded blob, a manifest)
//!   are checked before use; no input makes this crate panic.
//! - A word never becomes a file: only what the grammar calls a file is
//!   opened and handed over.
#![cfg_attr(not(any(test, feature = "std")), no_std)]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

pub mod binary;
#[cfg(feature = "serde")]
pub mod description;
pub mod embed;
pub mod grammar;
pub mod kind;
pub mod parse;
pub mod plan;

pub use binary::{from_bytes, to_bytes};
#[cfg(feature = "serde")]
pub use description::{
    DirectoryDescription, GrammarDescription, OperandsDescription, OptionDescription,
    ValueDescription,
};
pub use embed::{embed, encode_blob, placeholder, read_blob, EmbedError, Embedded};
pub use grammar::{
    Grammar, GrammarError, GrammarParts, Inherit, Layout, Operands, OperandsProblem, OptionSpec,
    ValueChange,
};
pub use kind::{Access, Kind};
pub use parse::{parse, ParsedArgument, ParsedCommandLine, Role, Text, UsageError};
pub use plan::{prepare, CallerView, DotsEntry, Launch, LaunchError, Put};
