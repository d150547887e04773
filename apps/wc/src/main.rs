// SPDX-License-Identifier: MIT OR Apache-2.0
//! `wc [-lwc] [FILE]...`: newline, word and byte counts of each FILE or
//! of standard input.
//!
//! `-l`, `-w`, `-c` choose the columns (always in that order); none
//! means all three. With several operands a `total` line follows. Every
//! column is right-aligned to the widest number printed, so a single
//! count of a single file has no padding (`wc -l x` prints `3 x`). A
//! word is a run of bytes that are not ASCII white space
//! ([`coreutils_common::count`]).
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::vec::Vec;
use core::fmt::Write;
use coreutils_common::count::{digits, Counter, Counts};
use coreutils_common::fs::read_chunks;
use coreutils_common::input::{self, read_buffer, Input};
use coreutils_common::memory::try_push;
use coreutils_common::output::Output;
use coreutils_common::text::Name;
use coreutils_common::{report, start, Spec};
use manux_runtime::{entry, Errno};

entry!(main);

const SPEC: Spec = Spec {
    usage: "wc [-lwc] [FILE]...",
    flags: b"lwc",
    valued: b"",
    long: &[("lines", b'l'), ("words", b'w'), ("bytes", b'c')],
    stop_at_operand: false,
};

/// Bytes asked for per `read`.
const CHUNK: usize = 32 * 1024;

fn main() -> i32 {
    let options = match start(&SPEC) {
        Ok(options) => options,
        Err(status) => return status,
    };
    let any = options.has(b'l') || options.has(b'w') || options.has(b'c');
    let columns = [
        !any || options.has(b'l'),
        !any || options.has(b'w'),
        !any || options.has(b'c'),
    ];
    let mut buffer = match read_buffer(CHUNK) {
        Ok(buffer) => buffer,
        Err(status) => return status,
    };
    let mut status = 0;
    let mut rows: Vec<(Counts, Option<&[u8]>)> = Vec::new();
    let named = !options.operands.is_empty();
    let operands = input::operands(&options.operands);
    let mut total = Counts::default();
    for &operand in operands {
        let Some(input) = Input::open(operand) else {
            status = 1;
            continue;
        };
        let fd = input.fd();
        let mut counter = Counter::default();
        if let Err(errno) = read_chunks(fd, &mut buffer, |chunk| {
            counter.feed(chunk);
            true
        }) {
            report::error(operand, errno);
            status = 1;
            continue;
        }
        total.add(&counter.counts());
        let name = named.then_some(operand);
        if try_push(&mut rows, (counter.counts(), name)).is_err() {
            report::message(format_args!("{}", Errno::OutOfMemory));
            return 1;
        }
    }
    if operands.len() > 1 && try_push(&mut rows, (total, Some(b"total"))).is_err() {
        report::message(format_args!("{}", Errno::OutOfMemory));
        return 1;
    }
    let width = rows
        .iter()
        .flat_map(|(counts, _)| {
            [counts.lines, counts.words, counts.bytes]
                .into_iter()
                .zip(columns)
                .filter(|(_, shown)| *shown)
                .map(|(value, _)| digits(value))
        })
        .max()
        .unwrap_or(1);
    let mut output = Output::stdout();
    for (counts, name) in &rows {
        let values = [counts.lines, counts.words, counts.bytes];
        let mut first = true;
        for (value, shown) in values.iter().zip(columns) {
            if shown {
                let separator = if first { "" } else { " " };
                let _ = write!(output, "{separator}{value:>width$}");
                first = false;
            }
        }
        match name {
            Some(name) => {
                let _ = writeln!(output, " {}", Name(name));
            }
            None => output.write(b"\n"),
        }
    }
    output.finish(status)
}
