// SPDX-License-Identifier: MIT OR Apache-2.0
//! The language of `sh`, the Manux shell, as pure functions over bytes.
//!
//! `sh` (`apps/sh`) builds only for the guest; everything it does that
//! needs no kernel lives here, so that it is tested on the host with
//! `cargo test -p sh-syntax`:
//!
//! - [`parse`]: a command line (or several) into a [`Script`] of
//!   `;`-separated [`AndOr`] lists of [`Pipeline`]s of [`Command`]s, each
//!   with its assignments, words and [`Redirection`]s; quotes, backslash
//!   escapes, `$VAR`, `${VAR}`, `$?` and comments are handled here. An
//!   unterminated quote or a trailing `|`, `&&`, `||` or `\` is
//!   [`ParseError::Incomplete`], so an interactive shell can read one more
//!   line, as POSIX shells do.
//! - [`expand`]: a parsed [`Word`] into the fields it stands for, given the
//!   shell's variables ([`Variables`]): unquoted expansions are split on
//!   blanks, quoted ones never.
//! - [`quote`]: the inverse — a word written so that [`parse`] and
//!   [`expand`] give it back unchanged (the shell uses it to hand already
//!   expanded words to a helper `sh -c`).
//! - [`xchroot`]: the clauses of the `xchroot` builtin (`put`, `keep`,
//!   `remove`, `clear`, `root`, `root-exe`) into operations.
//!
//! # Design principles
//! - Bytes, not `str`: file names and arguments are bytes on Manux.
//! - Total functions: no input makes anything here panic (a property test
//!   feeds arbitrary bytes to [`parse`]).
//! - `no_std` + `alloc`, no dependencies, no `unsafe`.
//!
//! # Not supported (a clear syntax error, never a silent misreading)
//! Background jobs (`&`), subshells and groups (`(…)`), command
//! substitution (`$(…)`, backquotes), here-documents (`<<`). Words are not
//! glob-expanded, and there are no `if`, `while` or `for`.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

mod ast;
pub mod expand;
mod parse;
pub mod quote;
pub mod xchroot;

pub use ast::{
    AndOr, Assignment, Command, Connector, Pipeline, Redirection, RedirectionKind, Script, Word,
    WordPart,
};
pub use expand::{expand, expand_joined, Variables};
pub use parse::{is_name, parse, Incomplete, ParseError};
pub use quote::quote;

#[cfg(test)]
mod tests;
