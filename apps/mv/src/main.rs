// SPDX-License-Identifier: MIT OR Apache-2.0
//! `mv SOURCE DEST`, `mv SOURCE... DIRECTORY`: renames.
//!
//! When the last operand is a directory (always, with several sources)
//! each SOURCE moves into it under its own name. `rename` replaces an
//! existing destination — a file by a file, a directory by an empty
//! directory — and refuses to move a directory into itself. Moving a
//! file onto another name of itself is refused (`are the same file`).
//! There is no copy-and-delete fallback: Manux has one file system per
//! view, and `EXDEV` is reported as it is.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use coreutils_common::fs::{lstat, stat};
use coreutils_common::memory::try_copy;
use coreutils_common::mode::is_directory;
use coreutils_common::path::{base_name, join};
use coreutils_common::text::Name;
use coreutils_common::{report, start, Spec};
use manux_runtime::abi::CURRENT_DIRECTORY;
use manux_runtime::{entry, syscall, Errno};

entry!(main);

const SPEC: Spec = Spec::none("mv SOURCE DEST  or  mv SOURCE... DIRECTORY");

fn main() -> i32 {
    let options = match start(&SPEC) {
        Ok(options) => options,
        Err(status) => return status,
    };
    let (sources, destination) = match options.operands.as_slice() {
        [] | [_] => return report::usage_error(&SPEC, format_args!("missing file operand")),
        [sources @ .., last] => (sources, *last),
    };
    let into = stat(destination).is_ok_and(|status| is_directory(status.mode));
    if sources.len() > 1 && !into {
        report::message(format_args!(
            "target '{}' is not a directory",
            Name(destination)
        ));
        return 1;
    }
    let mut status = 0;
    for &source in sources {
        let target = if into {
            join(destination, base_name(source))
        } else {
            try_copy(destination)
        };
        let target = match target {
            Ok(target) => target,
            Err(error) => {
                report::error(source, Errno::from(error));
                status = 1;
                continue;
            }
        };
        status |= move_one(source, &target);
    }
    status
}

/// Renames `source` to `target`; returns the status (0 or 1).
fn move_one(source: &[u8], target: &[u8]) -> i32 {
    let source_status = match lstat(source) {
        Ok(status) => status,
        Err(errno) => {
            report::error(source, errno);
            return 1;
        }
    };
    if lstat(target).is_ok_and(|status| status.inode == source_status.inode) {
        report::message(format_args!(
            "'{}' and '{}' are the same file",
            Name(source),
            Name(target)
        ));
        return 1;
    }
    match syscall::rename_at(CURRENT_DIRECTORY, source, CURRENT_DIRECTORY, target) {
        Ok(()) => 0,
        Err(errno) => {
            report::message(format_args!(
                "cannot move '{}' to '{}': {errno}",
                Name(source),
                Name(target)
            ));
            1
        }
    }
}
