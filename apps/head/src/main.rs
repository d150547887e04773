// SPDX-License-Identifier: MIT OR Apache-2.0
//! `head [-qv] [-n N] [-c N] [FILE]...`: the first N lines (10 by
//! default) or, with `-c`, bytes of each FILE or of standard input.
//!
//! `-N` as the first argument is short for `-n N` (the historical form).
//! With several files each gets a `==> NAME <==` header (`-q` never,
//! `-v` always). `head` stops reading once it has printed enough, so
//! `head -n 1` on the console returns after one line.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use core::fmt::Write;
use coreutils_common::fs::read_chunks;
use coreutils_common::input::{self, read_buffer, Input};
use coreutils_common::lines::{Limit, Unit};
use coreutils_common::number::parse_unsigned;
use coreutils_common::options::{self, ParseError};
use coreutils_common::output::Output;
use coreutils_common::text::Name;
use coreutils_common::{report, Spec};
use manux_runtime::{entry, process, Errno};

entry!(main);

const SPEC: Spec = Spec {
    usage: "head [-qv] [-n N] [-c N] [FILE]...",
    flags: b"qv",
    valued: b"nc",
    long: &[
        ("lines", b'n'),
        ("bytes", b'c'),
        ("quiet", b'q'),
        ("silent", b'q'),
        ("verbose", b'v'),
    ],
    stop_at_operand: false,
};

/// Bytes asked for per `read`.
const CHUNK: usize = 32 * 1024;

fn main() -> i32 {
    let arguments = process::arguments();
    let mut rest = arguments.get(1..).unwrap_or(&[]);
    // `head -5`: the historical form, first argument only.
    let mut historical = None;
    if let Some(count) = rest
        .first()
        .and_then(|first| first.strip_prefix(b"-"))
        .and_then(parse_unsigned)
    {
        historical = Some(count);
        rest = &rest[1..];
    }
    let options = match options::parse(&SPEC, rest) {
        Ok(options) if options.help => {
            report::help(&SPEC);
            return 0;
        }
        Ok(options) => options,
        Err(ParseError::Usage(error)) => {
            return report::usage_error(&SPEC, format_args!("{error}"))
        }
        Err(ParseError::OutOfMemory) => {
            report::message(format_args!("{}", Errno::OutOfMemory));
            return 1;
        }
    };
    let (unit, text) = match (options.value(b'c'), options.value(b'n')) {
        (Some(bytes), _) => (Unit::Bytes, Some(bytes)),
        (None, lines) => (Unit::Lines, lines),
    };
    let count = match text {
        None => historical.unwrap_or(10),
        Some(text) => match parse_unsigned(text) {
            Some(count) => count,
            None => {
                let what = if unit == Unit::Bytes {
                    "bytes"
                } else {
                    "lines"
                };
                return report::usage_error(
                    &SPEC,
                    format_args!("invalid number of {what}: '{}'", Name(text)),
                );
            }
        },
    };
    let mut buffer = match read_buffer(CHUNK) {
        Ok(buffer) => buffer,
        Err(status) => return status,
    };
    let operands = input::operands(&options.operands);
    let headers = options.has(b'v') || (operands.len() > 1 && !options.has(b'q'));
    let mut output = Output::stdout();
    let mut status = 0;
    for (index, &operand) in operands.iter().enumerate() {
        let Some(input) = Input::open(operand) else {
            status = 1;
            continue;
        };
        let fd = input.fd();
        if headers {
            let separator = if index > 0 { "\n" } else { "" };
            let name = Name(input::display_name(operand));
            let _ = writeln!(output, "{separator}==> {name} <==");
        }
        let mut limit = Limit::new(unit, count);
        let copied = if limit.done() {
            Ok(())
        } else {
            read_chunks(fd, &mut buffer, |chunk| {
                let taken = limit.take(chunk);
                output.write(&chunk[..taken]);
                output.flush().is_ok() && !limit.done()
            })
        };
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
