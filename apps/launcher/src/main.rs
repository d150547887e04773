// SPDX-License-Identifier: MIT OR Apache-2.0
//! `launcher`: the small static program in front of every installed
//! program (DESIGN §7).
//!
//! The image builder installs one copy per package (as `/bin/NAME`, with
//! its rootlink set to the package root) after writing into it, with
//! `launcher_grammar::embed`, the program's argument grammar and the
//! real program's path inside the package root. Called as
//! `cat -n notes.txt /bin/true`, the copy for `cat`:
//!
//! 1. reads its grammar from [`GRAMMAR_BLOB`] and parses its arguments
//!    (a usage error: `cat: unknown option -x`, status 2);
//! 2. opens each file argument in the caller's view and decides its name
//!    in the program's `/...` (`launcher_grammar::plan`; an error:
//!    `cat: notes.txt: No such file or directory`, status 1);
//! 3. calls `xchroot()` once: `RemoveAll`, one `PutFd` per file (by the
//!    descriptor it opened: nothing can be swapped between the check and
//!    the put), `RootExecutable`;
//!    and, when the new view reaches the caller's current directory,
//!    `ChangeDirectoryFd` with a descriptor of that directory (opened
//!    before the call: the directory itself, not its name, which another
//!    program may have changed);
//! 4. closes every descriptor but 0, 1 and 2, and `execve`s the real
//!    program with the rewritten arguments and the caller's environment
//!    (a failure: status 127); `argv[0]` is the caller's if it ends in
//!    the program's name, else the program's path (busybox runs the
//!    applet its last component names).
//!
//! Everything it decides is in `launcher_grammar`, tested on the host;
//! this file only makes the system calls. See README.md.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::vec::Vec;
use launcher_grammar::embed::BLOB_BYTES;
use launcher_grammar::plan::{program_name, Fd, CREATE_MODE};
use launcher_grammar::{parse, prepare, read_blob, CallerView, DotsEntry, Launch, Put, Text};
use manux_runtime::abi::directory_entry::{self, EntryKind};
use manux_runtime::abi::{limits, OpenFlags, XchrootKind, XchrootOperation};
use manux_runtime::{entry, eprintln, process, syscall, Errno};

entry!(main);

/// The grammar blob. The image builder finds it by its marker in each
/// installed copy and overwrites it (`launcher_grammar::embed`); as
/// built, it is the placeholder, and the launcher refuses to run.
static GRAMMAR_BLOB: [u8; BLOB_BYTES] = launcher_grammar::embed::placeholder();

/// Exit status of a command line the grammar refuses.
const USAGE_STATUS: i32 = 2;
/// Exit status when a file cannot be handed over or `xchroot()` fails.
const FAILURE_STATUS: i32 = 1;
/// Exit status when the program cannot be run at all.
const NOT_RUN_STATUS: i32 = 127;

fn main() -> i32 {
    let name = process::name();
    let arguments = process::arguments();
    // `black_box` hides the array's content from the optimiser: as built
    // it is the placeholder, and without this the compiler would be right
    // to read it at compile time and drop the whole launch as dead code.
    let blob: &[u8; BLOB_BYTES] = core::hint::black_box(&GRAMMAR_BLOB);
    let embedded = match read_blob(blob) {
        Ok(embedded) => embedded,
        Err(error) => {
            eprintln!("{name}: {error}");
            return NOT_RUN_STATUS;
        }
    };
    let line = match parse(&embedded.grammar, arguments.get(1..).unwrap_or(&[])) {
        Ok(line) => line,
        Err(error) => {
            eprintln!("{name}: {error}");
            return USAGE_STATUS;
        }
    };
    let launch = match prepare(&embedded.grammar, &line, &mut System) {
        Ok(launch) => launch,
        Err(error) => {
            eprintln!("{name}: {error}");
            return FAILURE_STATUS;
        }
    };
    // The caller's current directory, held open across the root change
    // (the call makes it the program's current directory, or fails).
    let directory_fd = match &launch.directory {
        Some(directory) => match syscall::open(b".", OpenFlags::DIRECTORY, 0) {
            Ok(fd) => Some(fd),
            Err(errno) => {
                eprintln!("{name}: {}: {errno}", Text(directory));
                return FAILURE_STATUS;
            }
        },
        None => None,
    };
    let mut operations = Vec::with_capacity(launch.puts.len() + 3);
    operations.push(operation(XchrootKind::RemoveAll));
    operations.extend(launch.puts.iter().map(put_operation));
    operations.push(operation(XchrootKind::RootExecutable));
    if let Some(fd) = directory_fd {
        operations.push(XchrootOperation {
            fd,
            ..operation(XchrootKind::ChangeDirectoryFd)
        });
    }
    if let Err(errno) = syscall::xchroot(&operations) {
        diagnose(name, &launch, errno);
        return FAILURE_STATUS;
    }
    // Every descriptor but the standard three: the files just put, and
    // whatever the caller handed this process (DESIGN §7, step 4).
    let _ = syscall::close_range(3, limits::FDS as Fd - 1);
    let program_name = program_name(arguments.first().copied(), &embedded.program);
    let argv: Vec<&[u8]> = core::iter::once(program_name)
        .chain(launch.arguments.iter().map(Vec::as_slice))
        .collect();
    let errno = syscall::execute(&embedded.program, &argv, process::environment());
    eprintln!("{name}: {}: {errno}", Text(&embedded.program));
    NOT_RUN_STATUS
}

/// An operation without fd, path or name.
fn operation(kind: XchrootKind) -> XchrootOperation {
    XchrootOperation {
        kind: kind as u32,
        ..XchrootOperation::default()
    }
}

/// The `PutFd` for `put` (its name borrowed from `put` for the call).
fn put_operation(put: &Put) -> XchrootOperation {
    XchrootOperation {
        kind: XchrootKind::PutFd as u32,
        mode: put.access.mode() as u32,
        fd: put.fd,
        name: put.name.as_ptr() as usize as u64,
        name_length: put.name.len() as u64,
        ..XchrootOperation::default()
    }
}

/// Says which file made `xchroot()` fail: each put is tried alone (after
/// a `RemoveAll`: this process's `/...` is its own since its first
/// successful `xchroot()`, and it is about to exit), and the first that
/// fails is named; if none does, the root change was the problem.
fn diagnose(name: &str, launch: &Launch, errno: Errno) {
    for put in &launch.puts {
        let alone = [operation(XchrootKind::RemoveAll), put_operation(put)];
        if let Err(errno) = syscall::xchroot(&alone) {
            eprintln!("{name}: {}: {errno}", Text(&put.source));
            return;
        }
    }
    if let Some(directory) = &launch.directory {
        // Without the current directory: if that works, it was the problem.
        let mut operations = alloc::vec![operation(XchrootKind::RemoveAll)];
        operations.extend(launch.puts.iter().map(put_operation));
        operations.push(operation(XchrootKind::RootExecutable));
        if syscall::xchroot(&operations).is_ok() {
            eprintln!("{name}: {}: {errno}", Text(directory));
            return;
        }
    }
    match errno {
        Errno::NotFound => eprintln!("{name}: no package root (the launcher has no rootlink)"),
        _ => eprintln!("{name}: xchroot: {errno}"),
    }
}

/// The caller's view through system calls.
struct System;

impl CallerView for System {
    fn open(&mut self, path: &[u8], flags: OpenFlags) -> Result<Fd, Errno> {
        syscall::open(path, flags, CREATE_MODE)
    }

    fn is_virtual(&mut self, fd: Fd) -> Result<bool, Errno> {
        // Virtual directories of `/...` are the only files with inode 0.
        Ok(syscall::file_status(fd)?.inode == 0)
    }

    fn list_dots(&mut self, path: &[u8]) -> Result<Vec<DotsEntry>, Errno> {
        let fd = syscall::open(path, OpenFlags::DIRECTORY, 0)?;
        let mut entries = Vec::new();
        let mut buffer = [0u8; 2048];
        let result = loop {
            match syscall::read_directory(fd, &mut buffer) {
                Ok(0) => break Ok(entries),
                Ok(length) => {
                    let filled = buffer.get(..length).unwrap_or(&buffer);
                    entries.extend(directory_entry::records(filled).map(|entry| DotsEntry {
                        name: entry.name.to_vec(),
                        // A virtual directory is listed with inode 0.
                        leaf: entry.inode != 0,
                        directory: entry.kind == EntryKind::Directory,
                    }));
                }
                Err(errno) => break Err(errno),
            }
        };
        let _ = syscall::close(fd);
        result
    }

    fn current_directory(&mut self) -> Result<Vec<u8>, Errno> {
        let mut buffer = alloc::vec![0u8; limits::PATH_BYTES];
        let length = syscall::current_directory(&mut buffer)?;
        buffer.truncate(length);
        Ok(buffer)
    }

    fn close(&mut self, fd: Fd) {
        let _ = syscall::close(fd);
    }
}
