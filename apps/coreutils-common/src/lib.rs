// SPDX-License-Identifier: MIT OR Apache-2.0
#![doc = include_str!("../README.md")]
//!
//! # Design principles
//! - Everything a program decides from its input — options, numbers,
//!   modes, dates, counts, line positions, paths — is a pure function
//!   here, tested on the host; the programs only wire them to system
//!   calls.
//! - No panics on any input: parsers return `Option`/`Result`, and what
//!   grows with the input grows through [`memory`], which reports `ENOMEM`
//!   instead of aborting.
//! - No `unsafe`: the runtime owns the system calls.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;

pub mod count;
pub mod escape;
pub mod fs;
pub mod input;
pub mod lines;
pub mod memory;
pub mod mode;
pub mod number;
pub mod options;
pub mod output;
pub mod path;
pub mod report;
pub mod text;
pub mod time;

pub use options::{Parsed, Spec};

/// Parses this process's arguments against `spec`.
///
/// Return values: the options; `Err(status)` when the program should
/// exit at once: 0 after printing the usage for `--help`, 2 after a
/// usage error (`NAME: invalid option -- 'x'` and the usage line), 1
/// when there was no memory for the lists.
pub fn start(spec: &Spec) -> Result<Parsed<'static>, i32> {
    let arguments = manux_runtime::process::arguments();
    let rest = arguments.get(1..).unwrap_or(&[]);
    match options::parse(spec, rest) {
        Ok(parsed) if parsed.help => {
            report::help(spec);
            Err(0)
        }
        Ok(parsed) => Ok(parsed),
        Err(options::ParseError::Usage(error)) => {
            Err(report::usage_error(spec, format_args!("{error}")))
        }
        Err(options::ParseError::OutOfMemory) => {
            report::message(format_args!("{}", manux_runtime::Errno::OutOfMemory));
            Err(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_arguments_on_the_host_parse_to_nothing() {
        let parsed = start(&Spec::none("true")).unwrap();
        assert!(parsed.operands.is_empty() && !parsed.help);
    }
}
