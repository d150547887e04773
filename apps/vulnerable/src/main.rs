// SPDX-License-Identifier: MIT OR Apache-2.0
//! `vulnerable [-w DIRECTORY] SCRIPT [FILE]...`: a deliberately
//! vulnerable program. It does whatever SCRIPT tells it, as an exploited
//! program would do whatever its attacker tells it — the point of the
//! demo is what it *cannot* do once launched confined (DESIGN §7): it
//! sees only its own package root and the files on its command
//! line.
//!
//! Each line of SCRIPT is one command (empty lines and `#` comments are
//! skipped); each prints one line, `vulnerable: COMMAND PATH: RESULT`,
//! the result being what happened or the system's answer in the usual
//! form (`No such file or directory`):
//!
//! | command | does |
//! |---|---|
//! | `read PATH` | reads the file: `N bytes: FIRST LINE` |
//! | `write PATH` | creates or truncates the file and writes a line into it: `written` |
//! | `list PATH` | lists the directory: its names, sorted |
//! | `copy FROM TO` | copies a file (to drop a binary somewhere): `copied N bytes` |
//! | `exec PATH` | runs the file, waits: `ran, status S` |
//!
//! SCRIPT and the FILEs are read-only for it (its launcher's grammar says
//! `input`); `-w DIRECTORY` hands it a directory it may write in
//! (`dir-rw`). The program itself trusts nothing and checks nothing: it
//! is the confinement that answers.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::vec::Vec;
use coreutils_common::fs::{list_directory, read_chunks, File};
use coreutils_common::memory::{try_buffer, try_extend};
use coreutils_common::text::Name;
use coreutils_common::{start, Spec};
use manux_runtime::abi::wait_status::WaitStatus;
use manux_runtime::abi::{FdMapping, OpenFlags};
use manux_runtime::syscall;
use manux_runtime::{entry, println, Errno};

entry!(main);

const SPEC: Spec = Spec {
    usage: "vulnerable [-w DIRECTORY] SCRIPT [FILE]...",
    flags: b"",
    valued: b"w",
    long: &[],
    stop_at_operand: false,
};

/// The most a script may hold.
const SCRIPT_BYTES: usize = 64 * 1024;
/// Bytes read per `read`.
const CHUNK: usize = 4096;
/// The most of a first line shown by `read`.
const SHOWN_BYTES: usize = 64;
/// What `write` puts into a file.
const PAYLOAD: &[u8] = b"overwritten by vulnerable\n";

fn main() -> i32 {
    let options = match start(&SPEC) {
        Ok(options) => options,
        Err(status) => return status,
    };
    let Some(&script_path) = options.operands.first() else {
        println!("usage: {}", SPEC.usage);
        return 2;
    };
    let script = match read_file(script_path, SCRIPT_BYTES) {
        Ok(script) => script,
        Err(errno) => {
            println!("vulnerable: {}: {}", Name(script_path), errno);
            return 1;
        }
    };
    for line in script.split(|&byte| byte == b'\n') {
        let line = line.trim_ascii();
        if line.is_empty() || line.starts_with(b"#") {
            continue;
        }
        run(line);
    }
    0
}

/// Runs one command line and prints what came of it.
fn run(line: &[u8]) {
    let mut words = line
        .split(|byte| byte.is_ascii_whitespace())
        .filter(|word| !word.is_empty());
    let command = words.next().unwrap_or_default();
    let first = words.next();
    let second = words.next();
    let result = match (command, first, second) {
        (b"read", Some(path), None) => read(path),
        (b"write", Some(path), None) => write(path),
        (b"list", Some(path), None) => list(path),
        (b"copy", Some(from), Some(to)) => copy(from, to),
        (b"exec", Some(path), None) => exec(path),
        _ => {
            println!("vulnerable: {}: unknown command", Name(line));
            return;
        }
    };
    match result {
        Ok(outcome) => println!("vulnerable: {}: {}", Name(line), Name(&outcome)),
        Err(errno) => println!("vulnerable: {}: {}", Name(line), errno),
    }
}

/// The first `limit` bytes of the file at `path`.
fn read_file(path: &[u8], limit: usize) -> Result<Vec<u8>, Errno> {
    let file = File::open(path, OpenFlags::empty(), 0)?;
    let mut buffer = try_buffer(CHUNK)?;
    let mut content = Vec::new();
    let mut failed = None;
    read_chunks(file.fd(), &mut buffer, |chunk| {
        let room = limit.saturating_sub(content.len());
        let piece = chunk.get(..chunk.len().min(room)).unwrap_or_default();
        if let Err(error) = try_extend(&mut content, piece) {
            failed = Some(Errno::from(error));
        }
        failed.is_none() && content.len() < limit
    })?;
    match failed {
        Some(errno) => Err(errno),
        None => Ok(content),
    }
}

/// `read PATH`: its size and first line.
fn read(path: &[u8]) -> Result<Vec<u8>, Errno> {
    let size = File::open(path, OpenFlags::empty(), 0)?.status()?.size;
    let content = read_file(path, SHOWN_BYTES)?;
    let first_line = content
        .split(|&byte| byte == b'\n')
        .next()
        .unwrap_or_default();
    let mut outcome = Vec::new();
    try_extend(&mut outcome, alloc::format!("{size} bytes: ").as_bytes())?;
    try_extend(&mut outcome, first_line)?;
    Ok(outcome)
}

/// `write PATH`: creates or truncates it and writes [`PAYLOAD`].
fn write(path: &[u8]) -> Result<Vec<u8>, Errno> {
    let flags = OpenFlags::WRITE_ONLY | OpenFlags::CREATE | OpenFlags::TRUNCATE;
    let file = File::open(path, flags, 0o644)?;
    syscall::write_all(file.fd(), PAYLOAD)?;
    file.close()?;
    Ok(b"written".to_vec())
}

/// `list PATH`: the directory's names, sorted, without `.` and `..`.
fn list(path: &[u8]) -> Result<Vec<u8>, Errno> {
    let mut listing = list_directory(path)?;
    listing.retain(|name| name != b"." && name != b"..");
    listing.sort();
    let mut outcome = Vec::new();
    for (index, entry) in listing.iter().enumerate() {
        if index > 0 {
            try_extend(&mut outcome, b" ")?;
        }
        try_extend(&mut outcome, entry.name)?;
    }
    if outcome.is_empty() {
        try_extend(&mut outcome, b"(empty)")?;
    }
    Ok(outcome)
}

/// `copy FROM TO`: copies the file, mode 0755 (a binary to run).
fn copy(from: &[u8], to: &[u8]) -> Result<Vec<u8>, Errno> {
    let source = File::open(from, OpenFlags::empty(), 0)?;
    let flags = OpenFlags::WRITE_ONLY | OpenFlags::CREATE | OpenFlags::TRUNCATE;
    let target = File::open(to, flags, 0o755)?;
    let mut buffer = try_buffer(CHUNK)?;
    let mut copied: u64 = 0;
    let mut failed = None;
    read_chunks(source.fd(), &mut buffer, |chunk| {
        match syscall::write_all(target.fd(), chunk) {
            Ok(()) => copied += chunk.len() as u64,
            Err(errno) => failed = Some(errno),
        }
        failed.is_none()
    })?;
    if let Some(errno) = failed {
        return Err(errno);
    }
    target.close()?;
    Ok(alloc::format!("copied {copied} bytes").into_bytes())
}

/// `exec PATH`: runs it with standard input, output and error, waits.
fn exec(path: &[u8]) -> Result<Vec<u8>, Errno> {
    let fds = [0, 1, 2].map(|fd| FdMapping {
        child: fd,
        parent: fd,
    });
    let child = syscall::spawn(path, &[path], &[], &fds)?;
    let (_, status) = syscall::wait(child)?;
    Ok(match status {
        WaitStatus::Exited(code) => alloc::format!("ran, status {code}"),
        other => alloc::format!("ran, {other:?}"),
    }
    .into_bytes())
}
