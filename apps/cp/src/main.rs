// SPDX-License-Identifier: MIT OR Apache-2.0
//! `cp [-r] SOURCE DEST`, `cp [-r] SOURCE... DIRECTORY`: copies.
//!
//! When the last operand is a directory (always, with several sources)
//! each SOURCE is copied into it under its own name. A regular file is
//! copied into a new or truncated DEST that gets the source's permission
//! bits. A directory needs `-r` (or `-R`): the tree is copied through a
//! work list on the heap (no recursion, so the 128 KiB stack is no
//! limit), merging into directories that exist, recreating symlinks
//! inside it as symlinks (their targets unchanged); other file types are
//! reported and skipped. Without `-r` a symlink operand is followed.
//!
//! Refused, as in GNU `cp`: a file onto itself (`are the same file`), a
//! directory into itself (the new top directory is never copied into
//! itself again). A copied program cannot run: only immutable files do,
//! and the copy is an ordinary file.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::vec::Vec;
use coreutils_common::fs::{list_directory, lstat, read_link, stat, File};
use coreutils_common::memory::{try_buffer, try_copy, try_push};
use coreutils_common::mode::{is_directory, is_regular, is_symlink};
use coreutils_common::path::{base_name, join};
use coreutils_common::text::Name;
use coreutils_common::{report, start, Spec};
use manux_runtime::abi::{OpenFlags, Stat, CURRENT_DIRECTORY};
use manux_runtime::{entry, syscall, Errno};

entry!(main);

const SPEC: Spec = Spec {
    usage: "cp [-r] SOURCE DEST  or  cp [-r] SOURCE... DIRECTORY",
    flags: b"rR",
    valued: b"",
    long: &[("recursive", b'r')],
    stop_at_operand: false,
};

/// Bytes copied per `read`.
const CHUNK: usize = 64 * 1024;

fn main() -> i32 {
    let options = match start(&SPEC) {
        Ok(options) => options,
        Err(status) => return status,
    };
    let recursive = options.has(b'r') || options.has(b'R');
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
    let buffer = match try_buffer(CHUNK) {
        Ok(buffer) => buffer,
        Err(error) => {
            report::message(format_args!("{}", Errno::from(error)));
            return 1;
        }
    };
    let mut copier = Copier {
        buffer,
        failed: false,
    };
    for &source in sources {
        let target = if into {
            join(destination, base_name(source))
        } else {
            try_copy(destination)
        };
        let target = match target {
            Ok(target) => target,
            Err(error) => {
                copier.fail(source, error.into());
                continue;
            }
        };
        let described = if recursive {
            lstat(source)
        } else {
            stat(source)
        };
        let status = match described {
            Ok(status) => status,
            Err(errno) => {
                copier.fail(source, errno);
                continue;
            }
        };
        if is_directory(status.mode) {
            if recursive {
                copier.copy_tree(source, &target, &status);
            } else {
                report::message(format_args!(
                    "-r not specified; omitting directory '{}'",
                    Name(source)
                ));
                copier.failed = true;
            }
        } else {
            copier.copy_entry(source, &target, &status);
        }
    }
    i32::from(copier.failed)
}

/// Copies, and remembers whether anything failed.
struct Copier {
    buffer: Vec<u8>,
    failed: bool,
}

impl Copier {
    fn fail(&mut self, path: &[u8], errno: Errno) {
        report::error(path, errno);
        self.failed = true;
    }

    /// Copies a non-directory `source` (described by `status`, not
    /// following a symlink only when it is one) to `target`.
    fn copy_entry(&mut self, source: &[u8], target: &[u8], status: &Stat) {
        if is_regular(status.mode) {
            self.copy_file(source, target, status);
        } else if is_symlink(status.mode) {
            let copied = read_link(source)
                .and_then(|link| syscall::symlink_at(&link, CURRENT_DIRECTORY, target));
            if let Err(errno) = copied {
                self.fail(target, errno);
            }
        } else {
            report::message(format_args!(
                "'{}': not a regular file, directory or symlink; skipped",
                Name(source)
            ));
            self.failed = true;
        }
    }

    /// Copies regular file `source` to `target`.
    fn copy_file(&mut self, source: &[u8], target: &[u8], status: &Stat) {
        if lstat(target).is_ok_and(|existing| existing.inode == status.inode) {
            report::message(format_args!(
                "'{}' and '{}' are the same file",
                Name(source),
                Name(target)
            ));
            self.failed = true;
            return;
        }
        let input = match File::open(source, OpenFlags::empty(), 0) {
            Ok(input) => input,
            Err(errno) => return self.fail(source, errno),
        };
        let flags = OpenFlags::WRITE_ONLY | OpenFlags::CREATE | OpenFlags::TRUNCATE;
        let output = match File::open(target, flags, status.mode & 0o777) {
            Ok(output) => output,
            Err(errno) => return self.fail(target, errno),
        };
        loop {
            let count = match input.read(&mut self.buffer) {
                Ok(0) => break,
                Ok(count) => count.min(self.buffer.len()),
                Err(errno) => return self.fail(source, errno),
            };
            if let Err(errno) = syscall::write_all(output.fd(), &self.buffer[..count]) {
                return self.fail(target, errno);
            }
        }
        if let Err(errno) = output.close() {
            self.fail(target, errno);
        }
    }

    /// Makes directory `target` like `source` (mode), accepting one that
    /// exists.
    fn make_directory(&mut self, target: &[u8], status: &Stat) -> bool {
        match syscall::make_directory_at(CURRENT_DIRECTORY, target, status.mode & 0o7777) {
            Ok(()) => true,
            Err(Errno::Exists) if stat(target).is_ok_and(|found| is_directory(found.mode)) => true,
            Err(errno) => {
                self.fail(target, errno);
                false
            }
        }
    }

    /// Copies the tree at directory `source` to `target`.
    fn copy_tree(&mut self, source: &[u8], target: &[u8], status: &Stat) {
        if stat(target).is_ok_and(|found| found.inode == status.inode) {
            report::message(format_args!(
                "cannot copy a directory, '{}', into itself, '{}'",
                Name(source),
                Name(target)
            ));
            self.failed = true;
            return;
        }
        if !self.make_directory(target, status) {
            return;
        }
        // The new top directory: when it lies inside `source`, the walk
        // meets it and must not copy it into itself again.
        let top = stat(target).map(|found| found.inode).unwrap_or(0);
        let mut pending: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        let first = try_copy(source)
            .and_then(|source| Ok((source, try_copy(target)?)))
            .and_then(|pair| try_push(&mut pending, pair));
        if first.is_err() {
            return self.fail(source, Errno::OutOfMemory);
        }
        while let Some((from, to)) = pending.pop() {
            let listing = match list_directory(&from) {
                Ok(listing) => listing,
                Err(errno) => {
                    self.fail(&from, errno);
                    continue;
                }
            };
            for entry in listing.iter() {
                if entry.name == b"." || entry.name == b".." {
                    continue;
                }
                let paths = join(&from, entry.name)
                    .and_then(|child_from| Ok((child_from, join(&to, entry.name)?)));
                let Ok((child_from, child_to)) = paths else {
                    self.fail(&from, Errno::OutOfMemory);
                    continue;
                };
                let child = match lstat(&child_from) {
                    Ok(child) => child,
                    Err(errno) => {
                        self.fail(&child_from, errno);
                        continue;
                    }
                };
                if is_directory(child.mode) {
                    if child.inode == top {
                        report::message(format_args!(
                            "cannot copy a directory, '{}', into itself, '{}'",
                            Name(source),
                            Name(&child_to)
                        ));
                        self.failed = true;
                        continue;
                    }
                    if self.make_directory(&child_to, &child)
                        && try_push(&mut pending, (child_from, child_to)).is_err()
                    {
                        self.fail(&from, Errno::OutOfMemory);
                    }
                } else {
                    self.copy_entry(&child_from, &child_to, &child);
                }
            }
        }
    }
}
