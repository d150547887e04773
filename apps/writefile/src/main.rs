// SPDX-License-Identifier: MIT OR Apache-2.0
//! `writefile PATH TEXT…`: creates (or truncates) PATH, writes the TEXT
//! arguments joined by spaces and a newline, `fsync`s it and exits 0; on
//! any error prints `writefile: PATH: reason` and exits 1. For the
//! persistence test: what it wrote must be on the disk after a reboot.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::vec::Vec;
use manux_runtime::abi::OpenFlags;
use manux_runtime::{entry, eprintln, process, syscall, Errno};

entry!(main);

fn main() -> i32 {
    let arguments = process::arguments();
    if arguments.len() < 3 {
        eprintln!("usage: writefile PATH TEXT...");
        return 2;
    }
    let path = arguments[1];
    let mut text: Vec<u8> = arguments[2..].join(&b' ');
    text.push(b'\n');
    match write_file(path, &text) {
        Ok(()) => 0,
        Err(errno) => {
            eprintln!(
                "writefile: {}: {errno}",
                core::str::from_utf8(path).unwrap_or("?")
            );
            1
        }
    }
}

fn write_file(path: &[u8], text: &[u8]) -> Result<(), Errno> {
    let flags = OpenFlags::WRITE_ONLY | OpenFlags::CREATE | OpenFlags::TRUNCATE;
    let fd = syscall::open(path, flags, 0o644)?;
    let result = syscall::write_all(fd, text).and_then(|()| syscall::file_sync(fd));
    let closed = syscall::close(fd);
    result.and(closed)
}
