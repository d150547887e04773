// SPDX-License-Identifier: MIT OR Apache-2.0
//! `mkdir [-p] [-m MODE] DIRECTORY...`: creates directories.
//!
//! The mode is 0755, or the octal MODE (Manux has no umask). `-p`
//! creates each missing parent (mode 0755) and accepts a directory that
//! exists already — whatever `mkdir` answered for it, since a launched
//! program's operands start with `/...`, which exists and cannot be
//! made (`EINVAL`); something else in the way is an error (`mkdir: a/b:
//! File exists`).
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use coreutils_common::fs::stat;
use coreutils_common::mode::is_directory;
use coreutils_common::number::parse_octal_mode;
use coreutils_common::path::prefix_ends;
use coreutils_common::text::Name;
use coreutils_common::{report, start, Spec};
use manux_runtime::abi::CURRENT_DIRECTORY;
use manux_runtime::{entry, syscall, Errno};

entry!(main);

const SPEC: Spec = Spec {
    usage: "mkdir [-p] [-m MODE] DIRECTORY...",
    flags: b"p",
    valued: b"m",
    long: &[("parents", b'p'), ("mode", b'm')],
    stop_at_operand: false,
};

/// The mode of new directories without `-m`, and of parents.
const DEFAULT_MODE: u32 = 0o755;

fn main() -> i32 {
    let options = match start(&SPEC) {
        Ok(options) => options,
        Err(status) => return status,
    };
    let mode = match options.value(b'm') {
        None => DEFAULT_MODE,
        Some(text) => match parse_octal_mode(text) {
            Some(mode) => mode,
            None => {
                return report::usage_error(&SPEC, format_args!("invalid mode '{}'", Name(text)))
            }
        },
    };
    if options.operands.is_empty() {
        return report::usage_error(&SPEC, format_args!("missing operand"));
    }
    let parents = options.has(b'p');
    let mut status = 0;
    for &path in &options.operands {
        let made = if parents {
            make_with_parents(path, mode)
        } else {
            syscall::make_directory_at(CURRENT_DIRECTORY, path, mode).map_err(|errno| (path, errno))
        };
        if let Err((subject, errno)) = made {
            report::error(subject, errno);
            status = 1;
        }
    }
    status
}

/// `mkdir -p`: every prefix of `path`, the last with `mode`. An error
/// names the prefix it happened at.
fn make_with_parents(path: &[u8], mode: u32) -> Result<(), (&[u8], Errno)> {
    if path.is_empty() {
        // No prefix to make; as GNU, an empty name does not exist.
        return Err((path, Errno::NotFound));
    }
    let mut ends = prefix_ends(path).peekable();
    while let Some(end) = ends.next() {
        let prefix = &path[..end];
        let this_mode = if ends.peek().is_none() {
            mode
        } else {
            DEFAULT_MODE
        };
        // A directory that exists is fine, whatever `mkdir` said of it:
        // `EEXIST`, or `EINVAL` for `/...` (a reserved name, never made),
        // or `EACCES` for a read-only directory on the way.
        if let Err(errno) = syscall::make_directory_at(CURRENT_DIRECTORY, prefix, this_mode) {
            if !stat(prefix).is_ok_and(|status| is_directory(status.mode)) {
                return Err((prefix, errno));
            }
        }
    }
    Ok(())
}
