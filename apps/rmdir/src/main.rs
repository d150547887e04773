// SPDX-License-Identifier: MIT OR Apache-2.0
//! `rmdir [-p] DIRECTORY...`: removes empty directories; with `-p`, then
//! each parent the operand names (`rmdir -p a/b/c` removes `a/b/c`,
//! `a/b`, `a`), stopping at the first that fails.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use coreutils_common::path::{directory_name, trim_trailing_slashes};
use coreutils_common::{report, start, Spec};
use manux_runtime::abi::CURRENT_DIRECTORY;
use manux_runtime::{entry, syscall};

entry!(main);

const SPEC: Spec = Spec {
    usage: "rmdir [-p] DIRECTORY...",
    flags: b"p",
    valued: b"",
    long: &[("parents", b'p')],
    stop_at_operand: false,
};

fn main() -> i32 {
    let options = match start(&SPEC) {
        Ok(options) => options,
        Err(status) => return status,
    };
    if options.operands.is_empty() {
        return report::usage_error(&SPEC, format_args!("missing operand"));
    }
    let mut status = 0;
    for &operand in &options.operands {
        let mut path = trim_trailing_slashes(operand);
        loop {
            if let Err(errno) = syscall::remove_directory_at(CURRENT_DIRECTORY, path) {
                report::error(path, errno);
                status = 1;
                break;
            }
            if !options.has(b'p') {
                break;
            }
            path = directory_name(path);
            // `/...` itself is never a directory to remove (a launched
            // program's operands start there).
            if matches!(path, b"." | b"/" | b"/...") {
                break;
            }
        }
    }
    status
}
