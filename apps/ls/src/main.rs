// SPDX-License-Identifier: MIT OR Apache-2.0
//! `ls [-1adl] [FILE]...`: lists directories, one name per line.
//!
//! With no FILE, lists `.`. Operands that are not directories (or all of
//! them with `-d`) are printed first, as given; then each directory's
//! entries, sorted bytewise, under a `NAME:` header when there are
//! several operands. Names starting with `.` are hidden unless `-a`,
//! which shows `.` and `..` too (a virtual `/...` directory stores
//! neither, so they are added). `-1` is accepted: the output is always
//! one per line.
//!
//! `-l` prints, per entry, the mode string, links, uid, gid, size,
//! modification time (UTC, to the minute), the name and, for a symlink,
//! `-> target`, the columns right-aligned; a directory's list starts
//! with `total N`, its blocks in KiB. As in GNU `ls`, a symlink operand
//! is followed unless `-l` or `-d` is given (and a dangling one is shown
//! as itself).
//!
//! Names are shown with control characters as `?`. Failures (a missing
//! operand, an entry that vanished) are reported on standard error and
//! make the status 1; the rest is still listed.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::vec::Vec;
use core::fmt::Write;
use coreutils_common::count::digits;
use coreutils_common::fs::{list_directory, lstat, read_link, stat, Listing};
use coreutils_common::memory::try_push;
use coreutils_common::mode::{is_directory, is_symlink, mode_string};
use coreutils_common::output::Output;
use coreutils_common::path::join;
use coreutils_common::text::Name;
use coreutils_common::time::DateTime;
use coreutils_common::{report, start, Spec};
use manux_runtime::abi::directory_entry::EntryKind;
use manux_runtime::abi::Stat;
use manux_runtime::{entry, Errno};

entry!(main);

const SPEC: Spec = Spec {
    usage: "ls [-1adl] [FILE]...",
    flags: b"1adl",
    valued: b"",
    long: &[("all", b'a'), ("directory", b'd')],
    stop_at_operand: false,
};

/// What the options ask for.
#[derive(Clone, Copy, Debug)]
struct Format {
    long: bool,
    all: bool,
    directories_as_files: bool,
}

/// One line of `ls -l`, what is needed of a [`Stat`].
#[derive(Clone, Copy, Debug)]
struct Row {
    mode: u32,
    links: u32,
    uid: u32,
    gid: u32,
    size: u64,
    blocks: u64,
    modify_time: i64,
}

impl From<&Stat> for Row {
    fn from(status: &Stat) -> Row {
        Row {
            mode: status.mode,
            links: status.links,
            uid: status.uid,
            gid: status.gid,
            size: status.size,
            blocks: status.blocks,
            modify_time: status.modify_time,
        }
    }
}

/// Column widths of a group of rows.
#[derive(Clone, Copy, Debug, Default)]
struct Widths {
    links: usize,
    uid: usize,
    gid: usize,
    size: usize,
}

impl Widths {
    fn of<'a>(rows: impl Iterator<Item = &'a Row>) -> Widths {
        rows.fold(Widths::default(), |widths, row| Widths {
            links: widths.links.max(digits(u64::from(row.links))),
            uid: widths.uid.max(digits(u64::from(row.uid))),
            gid: widths.gid.max(digits(u64::from(row.gid))),
            size: widths.size.max(digits(row.size)),
        })
    }
}

fn main() -> i32 {
    let options = match start(&SPEC) {
        Ok(options) => options,
        Err(status) => return status,
    };
    let format = Format {
        long: options.has(b'l'),
        all: options.has(b'a'),
        directories_as_files: options.has(b'd'),
    };
    let current: [&[u8]; 1] = [b"."];
    let operands = if options.operands.is_empty() {
        &current[..]
    } else {
        &options.operands[..]
    };
    let mut output = Output::stdout();
    let mut status = 0;
    let mut files: Vec<(&[u8], Row)> = Vec::new();
    let mut directories: Vec<&[u8]> = Vec::new();
    for &operand in operands {
        let follow = !(format.long || format.directories_as_files);
        let described = if follow {
            stat(operand).or_else(|errno| match errno {
                // A dangling symlink is listed as itself.
                Errno::NotFound | Errno::Loop => lstat(operand),
                other => Err(other),
            })
        } else {
            lstat(operand)
        };
        let sorted_into = match described {
            Ok(described) if is_directory(described.mode) && !format.directories_as_files => {
                try_push(&mut directories, operand)
            }
            Ok(described) => try_push(&mut files, (operand, Row::from(&described))),
            Err(errno) => {
                report::error(operand, errno);
                status = 1;
                continue;
            }
        };
        if sorted_into.is_err() {
            report::error(operand, Errno::OutOfMemory);
            return output.finish(1);
        }
    }
    files.sort_unstable_by(|left, right| left.0.cmp(right.0));
    directories.sort_unstable();
    if format.long {
        let widths = Widths::of(files.iter().map(|(_, row)| row));
        for (name, row) in &files {
            print_long(&mut output, name, name, row, &widths);
        }
    } else {
        for (name, _) in &files {
            let _ = writeln!(output, "{}", Name(name));
        }
    }
    let headers = operands.len() > 1;
    for (index, directory) in directories.iter().enumerate() {
        if index > 0 || !files.is_empty() {
            output.write(b"\n");
        }
        if headers {
            let _ = writeln!(output, "{}:", Name(directory));
        }
        if let Err((subject, errno)) = list(&mut output, directory, format) {
            // Keep the order of output and messages.
            let _ = output.flush();
            report::error(&subject, errno);
            status = 1;
        }
    }
    output.finish(status)
}

/// Lists one directory. An error names what it happened to; entries
/// that cannot be described are reported and skipped, the first such
/// error returned once the rest is printed.
fn list(output: &mut Output, directory: &[u8], format: Format) -> Result<(), (Vec<u8>, Errno)> {
    let owned = |errno: Errno| (Vec::from(directory), errno);
    let mut listing = list_directory(directory).map_err(owned)?;
    if format.all {
        // A virtual `/...` directory stores no `.` or `..`.
        for dot in [&b"."[..], b".."] {
            if !listing.contains(dot) {
                listing.push(dot, 0, EntryKind::Directory).map_err(owned)?;
            }
        }
    } else {
        listing.retain(|name| !name.starts_with(b"."));
    }
    listing.sort();
    if !format.long {
        for entry in listing.iter() {
            let _ = writeln!(output, "{}", Name(entry.name));
        }
        return Ok(());
    }
    list_long(output, directory, &listing)
}

/// The `-l` form of a directory's listing.
fn list_long(
    output: &mut Output,
    directory: &[u8],
    listing: &Listing,
) -> Result<(), (Vec<u8>, Errno)> {
    let mut rows: Vec<Option<Row>> = Vec::new();
    rows.try_reserve_exact(listing.len())
        .map_err(|_| (Vec::from(directory), Errno::OutOfMemory))?;
    let mut first_error = None;
    for entry in listing.iter() {
        let row = join(directory, entry.name)
            .map_err(Errno::from)
            .and_then(|path| lstat(&path));
        match row {
            Ok(described) => rows.push(Some(Row::from(&described))),
            Err(errno) => {
                let _ = output.flush();
                let path = join(directory, entry.name).unwrap_or_default();
                report::error(&path, errno);
                first_error.get_or_insert((path, errno));
                rows.push(None);
            }
        }
    }
    let total: u64 = rows
        .iter()
        .flatten()
        .map(|row| row.blocks.div_ceil(2))
        .fold(0, u64::saturating_add);
    let _ = writeln!(output, "total {total}");
    let widths = Widths::of(rows.iter().flatten());
    for (entry, row) in listing.iter().zip(&rows) {
        if let Some(row) = row {
            match join(directory, entry.name) {
                Ok(path) => print_long(output, entry.name, &path, row, &widths),
                Err(_) => print_long(output, entry.name, b"", row, &widths),
            }
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// Prints one `-l` line for `name`, found at `path` (to read a symlink's
/// target).
fn print_long(output: &mut Output, name: &[u8], path: &[u8], row: &Row, widths: &Widths) {
    let mode = mode_string(row.mode);
    let _ = write!(
        output,
        "{} {:>links$} {:>uid$} {:>gid$} {:>size$} {} {}",
        core::str::from_utf8(&mode).unwrap_or("??????????"),
        row.links,
        row.uid,
        row.gid,
        row.size,
        DateTime::from_unix(row.modify_time).minutes(),
        Name(name),
        links = widths.links,
        uid = widths.uid,
        gid = widths.gid,
        size = widths.size,
    );
    if is_symlink(row.mode) {
        if let Ok(target) = read_link(path) {
            let _ = write!(output, " -> {}", Name(&target));
        }
    }
    output.write(b"\n");
}
