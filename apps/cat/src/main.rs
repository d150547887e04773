// SPDX-License-Identifier: MIT OR Apache-2.0
//! `cat [-n] [FILE]...`: copies each FILE, or standard input for `-` or
//! none, to standard output; `-n` numbers the lines (`%6d` and a tab),
//! counting on across files, as GNU `cat` does.
//!
//! Each piece read is written before the next read, so `cat` from the
//! console echoes line by line. A file that cannot be opened or read is
//! reported (`cat: x: No such file or directory`) and the others are
//! still copied; the status is then 1. When standard output fails
//! (`EPIPE`), `cat` stops at once with `cat: write error: …`.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use coreutils_common::fs::read_chunks;
use coreutils_common::input::{self, read_buffer, Input};
use coreutils_common::lines::Numberer;
use coreutils_common::output::Output;
use coreutils_common::{report, start, Spec};
use manux_runtime::entry;

entry!(main);

const SPEC: Spec = Spec {
    usage: "cat [-n] [FILE]...",
    flags: b"nu",
    valued: b"",
    long: &[("number", b'n')],
    stop_at_operand: false,
};

/// Bytes asked for per `read`.
const CHUNK: usize = 32 * 1024;

fn main() -> i32 {
    let options = match start(&SPEC) {
        Ok(options) => options,
        Err(status) => return status,
    };
    let mut buffer = match read_buffer(CHUNK) {
        Ok(buffer) => buffer,
        Err(status) => return status,
    };
    let operands = input::operands(&options.operands);
    let mut numberer = options.has(b'n').then(Numberer::default);
    let mut output = Output::stdout();
    let mut status = 0;
    for &operand in operands {
        let Some(input) = Input::open(operand) else {
            status = 1;
            continue;
        };
        let fd = input.fd();
        let copied = read_chunks(fd, &mut buffer, |chunk| {
            match numberer.as_mut() {
                Some(numberer) => numberer.number(chunk, &mut output),
                None => output.write(chunk),
            }
            output.flush().is_ok()
        });
        if let Err(errno) = copied {
            report::error(operand, errno);
            status = 1;
        }
        if output.error().is_some() {
            break;
        }
    }
    output.finish(status)
}
