// SPDX-License-Identifier: MIT OR Apache-2.0
//! `touch [-c] FILE...`: sets each FILE's access and modification times
//! to now (`SetTimes` with `TIME_NOW`), creating it empty (mode 0644)
//! when it does not exist, unless `-c`.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use coreutils_common::fs::File;
use coreutils_common::{report, start, Spec};
use manux_runtime::abi::{OpenFlags, CURRENT_DIRECTORY, TIME_NOW};
use manux_runtime::{entry, syscall, Errno};

entry!(main);

const SPEC: Spec = Spec {
    usage: "touch [-c] FILE...",
    flags: b"c",
    valued: b"",
    long: &[("no-create", b'c')],
    stop_at_operand: false,
};

fn main() -> i32 {
    let options = match start(&SPEC) {
        Ok(options) => options,
        Err(status) => return status,
    };
    if options.operands.is_empty() {
        return report::usage_error(&SPEC, format_args!("missing file operand"));
    }
    let mut status = 0;
    for &path in &options.operands {
        let touched = match syscall::set_times_at(CURRENT_DIRECTORY, path, TIME_NOW, TIME_NOW) {
            Err(Errno::NotFound) if options.has(b'c') => Ok(()),
            Err(Errno::NotFound) => {
                File::open(path, OpenFlags::WRITE_ONLY | OpenFlags::CREATE, 0o644)
                    .and_then(File::close)
            }
            other => other,
        };
        if let Err(errno) = touched {
            report::error(path, errno);
            status = 1;
        }
    }
    status
}
