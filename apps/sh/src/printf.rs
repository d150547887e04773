// SPDX-License-Identifier: MIT OR Apache-2.0
//! `printf FORMAT [ARGUMENT…]`, built in as in dash.
//!
//! POSIX XCU `printf`: the format's escapes (`\n`, `\t`, `\\`, `\ddd`
//! octal, …) and conversions `%d %i %o %u %x %X %c %s %b %%` with flags
//! `- + space # 0`, a width and a precision (either may be `*`). The
//! format is used again while arguments remain; a missing argument is
//! empty or 0. A numeric argument may be decimal, `0` octal, `0x` hex,
//! or `'c` (the byte's value). `%b` expands escapes in its argument, and
//! `\c` there ends all output. No floating point (`%f`, `%e`, `%g`).

use crate::text::{print_to, write_bytes, Text};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use manux_runtime::syscall::Fd;

/// Runs `printf`; returns its status (1 if an argument was not a number).
pub fn printf(arguments: &[Vec<u8>], output: Fd, error: Fd) -> i32 {
    let Some((format, mut rest)) = arguments.split_first() else {
        print_to(
            error,
            format_args!("sh: printf: usage: printf format [arg ...]\n"),
        );
        return 2;
    };
    let mut out = Vec::new();
    let mut status = 0;
    loop {
        let before = rest.len();
        let stop = one_pass(format, &mut rest, &mut out, &mut status, error);
        if stop || rest.is_empty() || rest.len() == before {
            break;
        }
    }
    write_bytes(output, &out);
    status
}

/// An escape at `text[0] == b'\\'`: the bytes it stands for, how many
/// bytes it took, and whether it is `\c`. `octal_zero`: `%b`'s `\0ddd`.
fn escape(text: &[u8], octal_zero: bool) -> (Vec<u8>, usize, bool) {
    let Some(&next) = text.get(1) else {
        return (b"\\".to_vec(), 1, false);
    };
    let simple = match next {
        b'\\' => Some(b'\\'),
        b'a' => Some(7),
        b'b' => Some(8),
        b'f' => Some(12),
        b'n' => Some(b'\n'),
        b'r' => Some(b'\r'),
        b't' => Some(b'\t'),
        b'v' => Some(11),
        b'"' if !octal_zero => Some(b'"'),
        b'\'' if !octal_zero => Some(b'\''),
        _ => None,
    };
    if let Some(byte) = simple {
        return (alloc::vec![byte], 2, false);
    }
    if next == b'c' && octal_zero {
        return (Vec::new(), 2, true);
    }
    if next.is_ascii_digit() && next < b'8' {
        let (start, most) = if octal_zero && next == b'0' {
            (2, 3)
        } else {
            (1, 3)
        };
        let mut value: u32 = 0;
        let mut length = start;
        while length < start + most {
            match text.get(length) {
                Some(&digit @ b'0'..=b'7') => {
                    value = value * 8 + u32::from(digit - b'0');
                    length += 1;
                }
                _ => break,
            }
        }
        return (alloc::vec![value as u8], length, false);
    }
    (alloc::vec![b'\\', next], 2, false)
}

/// `%b`'s argument with its escapes expanded; `true` if `\c` was met.
pub fn expand_escapes(text: &[u8], out: &mut Vec<u8>) -> bool {
    let mut index = 0;
    while index < text.len() {
        if text[index] == b'\\' {
            let (bytes, length, stop) = escape(&text[index..], true);
            if stop {
                return true;
            }
            out.extend_from_slice(&bytes);
            index += length;
        } else {
            out.push(text[index]);
            index += 1;
        }
    }
    false
}

/// One pass over the format; `true` if output must stop (`\c`).
fn one_pass(
    format: &[u8],
    arguments: &mut &[Vec<u8>],
    out: &mut Vec<u8>,
    status: &mut i32,
    error: Fd,
) -> bool {
    let mut index = 0;
    let next_argument = |arguments: &mut &[Vec<u8>]| -> Option<Vec<u8>> {
        let (first, rest) = arguments.split_first()?;
        *arguments = rest;
        Some(first.clone())
    };
    while index < format.len() {
        match format[index] {
            b'\\' => {
                let (bytes, length, _) = escape(&format[index..], false);
                out.extend_from_slice(&bytes);
                index += length;
            }
            b'%' if format.get(index + 1) == Some(&b'%') => {
                out.push(b'%');
                index += 2;
            }
            b'%' => {
                index += 1;
                let mut flags = String::new();
                while let Some(&flag @ (b'-' | b'+' | b' ' | b'#' | b'0')) = format.get(index) {
                    flags.push(char::from(flag));
                    index += 1;
                }
                let mut width: Option<usize> = None;
                if format.get(index) == Some(&b'*') {
                    index += 1;
                    let value =
                        number(&next_argument(arguments).unwrap_or_default(), status, error);
                    if value < 0 {
                        flags.push('-');
                    }
                    width = Some(value.unsigned_abs() as usize);
                } else {
                    while let Some(&digit @ b'0'..=b'9') = format.get(index) {
                        width = Some(width.unwrap_or(0) * 10 + usize::from(digit - b'0'));
                        index += 1;
                    }
                }
                let mut precision: Option<usize> = None;
                if format.get(index) == Some(&b'.') {
                    index += 1;
                    precision = Some(0);
                    if format.get(index) == Some(&b'*') {
                        index += 1;
                        let value =
                            number(&next_argument(arguments).unwrap_or_default(), status, error);
                        precision = usize::try_from(value).ok();
                    } else {
                        while let Some(&digit @ b'0'..=b'9') = format.get(index) {
                            precision =
                                Some(precision.unwrap_or(0) * 10 + usize::from(digit - b'0'));
                            index += 1;
                        }
                    }
                }
                let Some(&conversion) = format.get(index) else {
                    out.push(b'%');
                    out.extend_from_slice(flags.as_bytes());
                    break;
                };
                index += 1;
                let argument = next_argument(arguments);
                let left = flags.contains('-');
                let body: Vec<u8> = match conversion {
                    b's' => {
                        let mut text = argument.unwrap_or_default();
                        if let Some(precision) = precision {
                            text.truncate(precision);
                        }
                        text
                    }
                    b'b' => {
                        let mut text = Vec::new();
                        let stop = expand_escapes(&argument.unwrap_or_default(), &mut text);
                        if let Some(precision) = precision {
                            text.truncate(precision);
                        }
                        if stop {
                            out.extend_from_slice(&pad(text, width, left, false));
                            return true;
                        }
                        text
                    }
                    b'c' => argument
                        .and_then(|text| text.first().copied())
                        .map(|byte| alloc::vec![byte])
                        .unwrap_or_default(),
                    b'd' | b'i' | b'o' | b'u' | b'x' | b'X' => {
                        let value = number(&argument.unwrap_or_default(), status, error);
                        let text = integer(value, conversion, &flags, precision);
                        let zero = flags.contains('0') && precision.is_none() && !left;
                        out.extend_from_slice(&pad_number(text, width, left, zero));
                        continue;
                    }
                    other => {
                        print_to(
                            error,
                            format_args!("sh: printf: %{}: invalid directive\n", char::from(other)),
                        );
                        *status = 1;
                        return true;
                    }
                };
                out.extend_from_slice(&pad(body, width, left, false));
            }
            byte => {
                out.push(byte);
                index += 1;
            }
        }
    }
    false
}

fn pad(text: Vec<u8>, width: Option<usize>, left: bool, _zero: bool) -> Vec<u8> {
    let width = width.unwrap_or(0);
    if text.len() >= width {
        return text;
    }
    let fill = alloc::vec![b' '; width - text.len()];
    if left {
        [text, fill].concat()
    } else {
        [fill, text].concat()
    }
}

/// Pads a number; zero padding goes after its sign or `0x`.
fn pad_number(text: Vec<u8>, width: Option<usize>, left: bool, zero: bool) -> Vec<u8> {
    let width = width.unwrap_or(0);
    if text.len() >= width || !zero {
        return pad(text, Some(width), left, false);
    }
    let prefix = if text.starts_with(b"0x") || text.starts_with(b"0X") {
        2
    } else if matches!(text.first(), Some(b'-' | b'+' | b' ')) {
        1
    } else {
        0
    };
    let mut padded = text[..prefix].to_vec();
    padded.resize(prefix + width - text.len(), b'0');
    padded.extend_from_slice(&text[prefix..]);
    padded
}

fn integer(value: i64, conversion: u8, flags: &str, precision: Option<usize>) -> Vec<u8> {
    let (sign, digits) = match conversion {
        b'd' | b'i' => {
            let sign = if value < 0 {
                "-"
            } else if flags.contains('+') {
                "+"
            } else if flags.contains(' ') {
                " "
            } else {
                ""
            };
            (sign, format!("{}", value.unsigned_abs()))
        }
        b'o' => ("", format!("{:o}", value as u64)),
        b'u' => ("", format!("{}", value as u64)),
        b'x' => ("", format!("{:x}", value as u64)),
        _ => ("", format!("{:X}", value as u64)),
    };
    let mut digits = digits;
    if let Some(precision) = precision {
        if precision == 0 && value == 0 {
            digits.clear();
        }
        while digits.len() < precision {
            digits.insert(0, '0');
        }
    }
    let alternate = flags.contains('#') && value != 0;
    let prefix = match conversion {
        b'o' if alternate && !digits.starts_with('0') => "0",
        b'x' if alternate => "0x",
        b'X' if alternate => "0X",
        _ => "",
    };
    format!("{sign}{prefix}{digits}").into_bytes()
}

/// A numeric argument; a bad one is reported, counts as what parsed of
/// it, and makes the status 1.
fn number(text: &[u8], status: &mut i32, error: Fd) -> i64 {
    if let Some((&(b'\'' | b'"'), rest)) = text.split_first() {
        return rest.first().map_or(0, |&byte| i64::from(byte));
    }
    let trimmed = text.trim_ascii_start();
    if trimmed.is_empty() {
        return 0;
    }
    match sh_syntax::arithmetic::parse_number(trimmed) {
        Some(value) => value,
        None => {
            print_to(
                error,
                format_args!("sh: printf: {}: expected numeric value\n", Text(text)),
            );
            *status = 1;
            let digits: Vec<u8> = trimmed
                .iter()
                .enumerate()
                .take_while(|(index, byte)| {
                    byte.is_ascii_digit() || (*index == 0 && **byte == b'-')
                })
                .map(|(_, byte)| *byte)
                .collect();
            sh_syntax::arithmetic::parse_number(&digits).unwrap_or(0)
        }
    }
}
