// SPDX-License-Identifier: MIT OR Apache-2.0
//! `stat [-L] FILE...`: describes each FILE — a symlink itself unless
//! `-L` — in GNU `stat`'s layout, simplified:
//!
//! ```text
//!   File: /bin/ls
//!   Size: 30192       Blocks: 64         regular file
//!  Inode: 13          Links: 1
//! Access: (0755/-rwxr-xr-x)  Uid: 0  Gid: 0
//! Access: 2024-05-01 12:00:00
//! Modify: 2024-05-01 12:00:00
//! Change: 2024-05-01 12:00:00
//!  Flags: 0x00000010 (immutable)
//! ```
//!
//! Blocks are 512-byte units; times are UTC; flags are ext2's inode
//! flags by name ([`coreutils_common::mode::flag_names`]).
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use core::fmt::Write;
use coreutils_common::fs::{lstat, read_link, stat};
use coreutils_common::mode::{flag_names, is_symlink, mode_string, type_name};
use coreutils_common::output::Output;
use coreutils_common::text::Name;
use coreutils_common::time::DateTime;
use coreutils_common::{report, start, Spec};
use manux_runtime::abi::Stat;
use manux_runtime::entry;

entry!(main);

const SPEC: Spec = Spec {
    usage: "stat [-L] FILE...",
    flags: b"L",
    valued: b"",
    long: &[("dereference", b'L')],
    stop_at_operand: false,
};

fn main() -> i32 {
    let options = match start(&SPEC) {
        Ok(options) => options,
        Err(status) => return status,
    };
    if options.operands.is_empty() {
        return report::usage_error(&SPEC, format_args!("missing operand"));
    }
    let follow = options.has(b'L');
    let mut output = Output::stdout();
    let mut status = 0;
    for &path in &options.operands {
        let described = if follow { stat(path) } else { lstat(path) };
        match described {
            Ok(described) => describe(&mut output, path, &described),
            Err(errno) => {
                // Keep the order of output and messages.
                let _ = output.flush();
                report::error(path, errno);
                status = 1;
            }
        }
    }
    output.finish(status)
}

/// Prints the description of `path`.
fn describe(output: &mut Output, path: &[u8], status: &Stat) {
    let _ = write!(output, "  File: {}", Name(path));
    if is_symlink(status.mode) {
        if let Ok(target) = read_link(path) {
            let _ = write!(output, " -> {}", Name(&target));
        }
    }
    let mode = mode_string(status.mode);
    let mode = core::str::from_utf8(&mode).unwrap_or("?");
    let _ = writeln!(
        output,
        "\n  Size: {:<12}Blocks: {:<11}{}",
        status.size,
        status.blocks,
        type_name(status.mode, status.size)
    );
    let _ = writeln!(
        output,
        " Inode: {:<12}Links: {}",
        status.inode, status.links
    );
    let _ = writeln!(
        output,
        "Access: ({:04o}/{mode})  Uid: {}  Gid: {}",
        status.mode & 0o7777,
        status.uid,
        status.gid
    );
    let _ = writeln!(
        output,
        "Access: {}",
        DateTime::from_unix(status.access_time)
    );
    let _ = writeln!(
        output,
        "Modify: {}",
        DateTime::from_unix(status.modify_time)
    );
    let _ = writeln!(
        output,
        "Change: {}",
        DateTime::from_unix(status.change_time)
    );
    let _ = write!(output, " Flags: {:#010x}", status.flags);
    let mut names = flag_names(status.flags).peekable();
    if names.peek().is_some() {
        let _ = write!(output, " (");
        for (index, name) in names.enumerate() {
            let separator = if index > 0 { ", " } else { "" };
            let _ = write!(output, "{separator}{name}");
        }
        let _ = write!(output, ")");
    }
    let _ = writeln!(output);
}
