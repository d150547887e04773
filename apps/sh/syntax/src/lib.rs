// SPDX-License-Identifier: MIT OR Apache-2.0
//! The language of `sh`, the Manux shell, as pure functions over bytes.
//!
//! `sh` (`apps/sh`) builds only for the guest; everything it does that
//! needs no kernel lives here, so that it is tested on the host with
//! `cargo test -p sh-syntax`:
//!
//! - [`parse`]: shell text into a [`Script`]: lists of pipelines of
//!   simple commands, compound commands (`if`, `while`, `until`, `for`,
//!   `case`, `{ … }`, `( … )`) and function definitions, with words that
//!   keep their quoting and expansions (`${…}` in all its POSIX forms,
//!   `$( … )`, backquotes, `$(( … ))`) and here-documents. Input that
//!   stops inside a construct is [`ParseError::Incomplete`], so an
//!   interactive shell can read one more line, as POSIX shells do.
//! - [`expand`]: a parsed [`Word`] into the fields it stands for, given
//!   what the shell knows and does ([`Variables`]).
//! - [`arithmetic`]: `$(( … ))` expressions evaluated.
//! - [`pattern`]: `*`, `?`, `[…]` matching for `case`, `${X%P}` and
//!   pathname expansion.
//! - [`quote`]: the inverse of parsing — a word written so that [`parse`]
//!   and [`expand`] give it back unchanged (the shell uses it to hand its
//!   state to a child shell).
//! - [`xchroot`]: the clauses of the `xchroot` builtin (`put`, `keep`,
//!   `remove`, `clear`, `root`, `root-exe`) into operations.
//!
//! # Design principles
//! - Bytes, not `str`: file names and arguments are bytes on Manux.
//! - Total functions: no input makes anything here panic (property tests
//!   feed arbitrary bytes to [`parse`] and to the evaluator); nesting is
//!   bounded, so neither is the stack.
//! - `no_std` + `alloc`, no dependencies, no `unsafe`.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

pub mod arithmetic;
mod ast;
pub mod expand;
mod parse;
pub mod pattern;
pub mod quote;
pub mod xchroot;

pub use ast::{
    AndOr, Assignment, CaseItem, Command, CompoundCommand, Connector, FunctionDefinition,
    ParameterOperation, Pipeline, Redirection, RedirectionKind, Script, SimpleCommand, Word,
    WordPart,
};
pub use expand::{expand, expand_joined, expand_pattern, ExpansionError, Variables};
pub use parse::{is_name, parse, Incomplete, ParseError, SyntaxError, KEYWORDS};
pub use quote::quote;

/// Bytes shown as text, invalid UTF-8 replaced by U+FFFD.
pub struct Text<'a>(pub &'a [u8]);

impl core::fmt::Display for Text<'_> {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        for chunk in self.0.utf8_chunks() {
            formatter.write_str(chunk.valid())?;
            if !chunk.invalid().is_empty() {
                formatter.write_str("\u{fffd}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
