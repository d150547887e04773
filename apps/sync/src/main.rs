// SPDX-License-Identifier: MIT OR Apache-2.0
//! `sync [FILE]...`: writes every cached block to the disk (`sync`), or,
//! given files, each file's (`fsync`).
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use coreutils_common::fs::File;
use coreutils_common::{report, start, Spec};
use manux_runtime::abi::OpenFlags;
use manux_runtime::{entry, syscall};

entry!(main);

const SPEC: Spec = Spec::none("sync [FILE]...");

fn main() -> i32 {
    let options = match start(&SPEC) {
        Ok(options) => options,
        Err(status) => return status,
    };
    if options.operands.is_empty() {
        return match syscall::sync() {
            Ok(()) => 0,
            Err(errno) => {
                report::message(format_args!("{errno}"));
                1
            }
        };
    }
    let mut status = 0;
    for &path in &options.operands {
        let synced = File::open(path, OpenFlags::empty(), 0)
            .and_then(|file| syscall::file_sync(file.fd()).and_then(|()| file.close()));
        if let Err(errno) = synced {
            report::error(path, errno);
            status = 1;
        }
    }
    status
}
