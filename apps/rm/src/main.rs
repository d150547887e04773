// SPDX-License-Identifier: MIT OR Apache-2.0
//! `rm [-rf] FILE...`: removes files.
//!
//! A symlink is removed itself, never what it points to. A directory
//! needs `-r` (or `-R`), which removes everything below it and then it.
//! `-f` ignores files that do not exist and a missing operand; other
//! errors are still reported. `.`, `..` (as the last component) and `/`
//! are refused, as GNU `rm` does.
//!
//! The tree is walked without recursion: a work list of directories on
//! the heap, each listed once (its files unlinked, its subdirectories
//! pushed), then removed when everything pushed after it is done. A
//! directory whose contents could not all be removed is reported once
//! (`Directory not empty`), and the walk goes on. The program's stack (128
//! KiB) therefore does not limit the depth; the kernel's path length
//! does.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::vec::Vec;
use coreutils_common::fs::{list_directory, lstat};
use coreutils_common::memory::{try_copy, try_push};
use coreutils_common::mode::is_directory;
use coreutils_common::path::{ends_in_dot_or_dot_dot, join, trim_trailing_slashes};
use coreutils_common::text::Name;
use coreutils_common::{report, start, Spec};
use manux_runtime::abi::directory_entry::EntryKind;
use manux_runtime::abi::CURRENT_DIRECTORY;
use manux_runtime::{entry, syscall, Errno};

entry!(main);

const SPEC: Spec = Spec {
    usage: "rm [-rf] FILE...",
    flags: b"rRf",
    valued: b"",
    long: &[("recursive", b'r'), ("force", b'f')],
    stop_at_operand: false,
};

fn main() -> i32 {
    let options = match start(&SPEC) {
        Ok(options) => options,
        Err(status) => return status,
    };
    let force = options.has(b'f');
    let recursive = options.has(b'r') || options.has(b'R');
    if options.operands.is_empty() {
        if force {
            return 0;
        }
        return report::usage_error(&SPEC, format_args!("missing operand"));
    }
    let mut remover = Remover {
        force,
        failed: false,
    };
    for &operand in &options.operands {
        if ends_in_dot_or_dot_dot(operand) {
            report::message(format_args!(
                "refusing to remove '.' or '..' directory: skipping '{}'",
                Name(operand)
            ));
            remover.failed = true;
            continue;
        }
        if trim_trailing_slashes(operand) == b"/" {
            report::message(format_args!(
                "it is dangerous to operate recursively on '/'"
            ));
            remover.failed = true;
            continue;
        }
        let status = match lstat(operand) {
            Ok(status) => status,
            Err(errno) => {
                remover.fail(operand, errno);
                continue;
            }
        };
        if !is_directory(status.mode) {
            remover.unlink(operand);
        } else if recursive {
            remover.remove_tree(operand);
        } else {
            remover.fail(operand, Errno::IsADirectory);
        }
    }
    i32::from(remover.failed)
}

/// Removes, and remembers whether anything failed.
struct Remover {
    force: bool,
    failed: bool,
}

/// A directory on the work list.
struct Pending {
    path: Vec<u8>,
    /// Listed already: its files are gone and its subdirectories are
    /// above it on the list, so when it is on top again it is removed.
    listed: bool,
}

impl Remover {
    /// Reports `errno` for `path`, unless `-f` and it does not exist.
    fn fail(&mut self, path: &[u8], errno: Errno) {
        if self.force && errno == Errno::NotFound {
            return;
        }
        report::error(path, errno);
        self.failed = true;
    }

    fn unlink(&mut self, path: &[u8]) {
        if let Err(errno) = syscall::unlink_at(CURRENT_DIRECTORY, path) {
            self.fail(path, errno);
        }
    }

    fn remove_directory(&mut self, path: &[u8]) {
        if let Err(errno) = syscall::remove_directory_at(CURRENT_DIRECTORY, path) {
            self.fail(path, errno);
        }
    }

    /// Removes the directory `top` and everything below it.
    fn remove_tree(&mut self, top: &[u8]) {
        let mut pending: Vec<Pending> = Vec::new();
        let first = try_copy(trim_trailing_slashes(top)).and_then(|path| {
            try_push(
                &mut pending,
                Pending {
                    path,
                    listed: false,
                },
            )
        });
        if first.is_err() {
            self.fail(top, Errno::OutOfMemory);
            return;
        }
        while let Some(last) = pending.last_mut() {
            if last.listed {
                if let Some(done) = pending.pop() {
                    self.remove_directory(&done.path);
                }
                continue;
            }
            last.listed = true;
            let Ok(directory) = try_copy(&last.path) else {
                self.fail(&last.path, Errno::OutOfMemory);
                return;
            };
            let listing = match list_directory(&directory) {
                Ok(listing) => listing,
                Err(errno) => {
                    // Its removal would only fail again: report once.
                    self.fail(&directory, errno);
                    pending.pop();
                    continue;
                }
            };
            for entry in listing.iter() {
                if entry.name == b"." || entry.name == b".." {
                    continue;
                }
                let path = match join(&directory, entry.name) {
                    Ok(path) => path,
                    Err(error) => {
                        self.fail(&directory, error.into());
                        continue;
                    }
                };
                let subdirectory = match entry.kind {
                    EntryKind::Directory => true,
                    EntryKind::File | EntryKind::Symlink | EntryKind::Other => false,
                    EntryKind::Unknown => match lstat(&path) {
                        Ok(status) => is_directory(status.mode),
                        Err(errno) => {
                            self.fail(&path, errno);
                            continue;
                        }
                    },
                };
                if !subdirectory {
                    self.unlink(&path);
                } else if try_push(
                    &mut pending,
                    Pending {
                        path,
                        listed: false,
                    },
                )
                .is_err()
                {
                    self.fail(&directory, Errno::OutOfMemory);
                }
            }
        }
    }
}
