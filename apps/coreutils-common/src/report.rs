// SPDX-License-Identifier: MIT OR Apache-2.0
//! Error messages in the usual form, on standard error:
//! `NAME: SUBJECT: reason` (`cat: x: No such file or directory`), with
//! the reason from [`Errno`]'s `Display` (`manux_abi::Errno::description`)
//! and the subject shown safely ([`crate::text::Name`]).

use crate::options::Spec;
use crate::text::Name;
use core::fmt;
use manux_runtime::{eprintln, println, process, Errno};

/// Prints `NAME: SUBJECT: reason`.
pub fn error(subject: &[u8], errno: Errno) {
    eprintln!("{}: {}: {}", process::name(), Name(subject), errno);
}

/// Prints `NAME: message`.
pub fn message(message: fmt::Arguments<'_>) {
    eprintln!("{}: {}", process::name(), message);
}

/// Prints `usage: SYNOPSIS` on standard error (after a usage error).
pub fn usage(spec: &Spec) {
    eprintln!("usage: {}", spec.usage);
}

/// Prints `NAME: message` and the usage line; returns status 2.
pub fn usage_error(spec: &Spec, message: fmt::Arguments<'_>) -> i32 {
    self::message(message);
    usage(spec);
    2
}

/// Prints `usage: SYNOPSIS` on standard output (for `--help`).
pub fn help(spec: &Spec) {
    println!("usage: {}", spec.usage);
}
