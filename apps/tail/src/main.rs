// SPDX-License-Identifier: MIT OR Apache-2.0
//! `tail [-qv] [-n [+]N] [-c [+]N] [FILE]...`: the last N lines (10 by
//! default) or, with `-c`, bytes of each FILE or of standard input; with
//! `+N`, everything from line (byte) N on.
//!
//! `-N` as the first argument is short for `-n N`. With several files
//! each gets a `==> NAME <==` header (`-q` never, `-v` always).
//!
//! A regular file is read backwards from its end, a block at a time,
//! until the start of the last N lines is found, then copied from there:
//! memory stays small whatever the file's size, as in GNU `tail`. Other
//! input (a pipe, the console) cannot seek: `tail` keeps the last
//! [`WINDOW`] bytes it read and cuts longer last lines at the front.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::vec::Vec;
use core::fmt::Write;
use coreutils_common::fs::read_chunks;
use coreutils_common::input::{self, read_buffer, Input};
use coreutils_common::lines::{last_lines_start, BackwardScan, Skip, Unit};
use coreutils_common::mode::is_regular;
use coreutils_common::number::parse_unsigned;
use coreutils_common::options::{self, ParseError};
use coreutils_common::output::Output;
use coreutils_common::text::Name;
use coreutils_common::{report, Spec};
use manux_runtime::abi::seek;
use manux_runtime::syscall::{self, Fd};
use manux_runtime::{entry, process, Errno};

entry!(main);

const SPEC: Spec = Spec {
    usage: "tail [-qv] [-n [+]N] [-c [+]N] [FILE]...",
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

/// Bytes asked for per `read`, and the block size of the backward scan.
const CHUNK: usize = 32 * 1024;

/// How much of a stream that cannot seek is kept.
const WINDOW: usize = 256 * 1024;

/// What to print of each input.
#[derive(Clone, Copy, Debug)]
struct Request {
    unit: Unit,
    count: u64,
    /// `+N`: from unit N on, rather than the last N.
    from_start: bool,
}

fn main() -> i32 {
    let arguments = process::arguments();
    let mut rest = arguments.get(1..).unwrap_or(&[]);
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
    let request = match text {
        None => Request {
            unit,
            count: historical.unwrap_or(10),
            from_start: false,
        },
        Some(text) => {
            let (digits, from_start) = match text.strip_prefix(b"+") {
                Some(digits) => (digits, true),
                None => (text.strip_prefix(b"-").unwrap_or(text), false),
            };
            match parse_unsigned(digits) {
                Some(count) => Request {
                    unit,
                    count,
                    from_start,
                },
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
            }
        }
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
        if let Err(errno) = tail(fd, request, &mut buffer, &mut output) {
            report::error(operand, errno);
            status = 1;
        }
        if output.error().is_some() {
            break;
        }
    }
    output.finish(status)
}

/// Prints what `request` asks for of `fd`.
fn tail(fd: Fd, request: Request, buffer: &mut [u8], output: &mut Output) -> Result<(), Errno> {
    if request.from_start {
        // GNU: `+0` is the same as `+1`, the whole input.
        let mut skip = Skip::new(request.unit, request.count.saturating_sub(1));
        return read_chunks(fd, buffer, |chunk| {
            let skipped = skip.skip(chunk);
            output.write(&chunk[skipped..]);
            output.error().is_none()
        });
    }
    let size = match syscall::file_status(fd) {
        Ok(status) if is_regular(status.mode) => Some(status.size),
        _ => None,
    };
    match size {
        Some(size) => tail_seekable(fd, size, request, buffer, output),
        None => tail_stream(fd, request, buffer, output),
    }
}

/// Seeks `fd` to `offset`.
fn seek_to(fd: Fd, offset: u64) -> Result<(), Errno> {
    let offset = i64::try_from(offset).map_err(|_| Errno::FileTooLarge)?;
    syscall::seek(fd, offset, seek::SET).map(drop)
}

/// Reads from `fd` until `buffer` is full or the file ends; returns the
/// bytes read.
fn read_full(fd: Fd, buffer: &mut [u8]) -> Result<usize, Errno> {
    let mut filled = 0;
    while filled < buffer.len() {
        match syscall::read(fd, &mut buffer[filled..])? {
            0 => break,
            count => filled += count.min(buffer.len() - filled),
        }
    }
    Ok(filled)
}

/// A regular file of `size` bytes: find the start backwards, then copy.
fn tail_seekable(
    fd: Fd,
    size: u64,
    request: Request,
    buffer: &mut [u8],
    output: &mut Output,
) -> Result<(), Errno> {
    let start = match request.unit {
        Unit::Bytes => size.saturating_sub(request.count),
        Unit::Lines if request.count == 0 || size == 0 => size,
        Unit::Lines => {
            // A final newline ends the last line; it does not start one.
            let mut end = size;
            seek_to(fd, size - 1)?;
            if read_full(fd, &mut buffer[..1])? == 1 && buffer[0] == b'\n' {
                end -= 1;
            }
            let mut scan = BackwardScan::new(request.count);
            let mut start = 0;
            while end > 0 {
                let begin = end.saturating_sub(buffer.len() as u64);
                let length = (end - begin) as usize;
                seek_to(fd, begin)?;
                let read = read_full(fd, &mut buffer[..length])?;
                if let Some(index) = scan.feed(&buffer[..read]) {
                    start = begin + index as u64;
                    break;
                }
                end = begin;
            }
            start
        }
    };
    seek_to(fd, start)?;
    read_chunks(fd, buffer, |chunk| {
        output.write(chunk);
        output.error().is_none()
    })
}

/// Input that cannot seek: keep the last [`WINDOW`] bytes.
fn tail_stream(
    fd: Fd,
    request: Request,
    buffer: &mut [u8],
    output: &mut Output,
) -> Result<(), Errno> {
    let mut window: Vec<u8> = Vec::new();
    window
        .try_reserve_exact(WINDOW + buffer.len())
        .map_err(|_| Errno::OutOfMemory)?;
    read_chunks(fd, buffer, |chunk| {
        // Within the reserved capacity: no allocation.
        window.extend_from_slice(chunk);
        if window.len() > WINDOW {
            let excess = window.len() - WINDOW;
            window.drain(..excess);
        }
        true
    })?;
    let start = match request.unit {
        Unit::Lines => last_lines_start(&window, request.count),
        Unit::Bytes => {
            let keep = usize::try_from(request.count).unwrap_or(usize::MAX);
            window.len().saturating_sub(keep)
        }
    };
    output.write(&window[start..]);
    Ok(())
}
