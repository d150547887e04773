// SPDX-License-Identifier: MIT OR Apache-2.0
//! `ln [-sf] TARGET [LINK]`, `ln [-sf] TARGET... DIRECTORY`: makes links.
//!
//! A hard link by default; with `-s` a symbolic link holding TARGET
//! exactly as given (resolved later, relative to the link's directory).
//! The new name is LINK; or `DIRECTORY/basename(TARGET)` when the last
//! operand is a directory (always, with several targets); or
//! `./basename(TARGET)` when only TARGET is given. `-f` removes an
//! existing name first. The kernel refuses hard links of directories
//! (`ln: dir: Operation not permitted`, DESIGN §4) and links through a
//! read-only path.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::vec::Vec;
use coreutils_common::fs::{lstat, stat};
use coreutils_common::memory::try_copy;
use coreutils_common::mode::is_directory;
use coreutils_common::path::{base_name, join};
use coreutils_common::text::Name;
use coreutils_common::{report, start, Spec};
use manux_runtime::abi::CURRENT_DIRECTORY;
use manux_runtime::{entry, syscall, Errno};

entry!(main);

const SPEC: Spec = Spec {
    usage: "ln [-sf] TARGET [LINK]  or  ln [-sf] TARGET... DIRECTORY",
    flags: b"sf",
    valued: b"",
    long: &[("symbolic", b's'), ("force", b'f')],
    stop_at_operand: false,
};

fn main() -> i32 {
    let options = match start(&SPEC) {
        Ok(options) => options,
        Err(status) => return status,
    };
    let symbolic = options.has(b's');
    let force = options.has(b'f');
    let (targets, directory): (&[&[u8]], Option<&[u8]>) = match options.operands.as_slice() {
        [] => return report::usage_error(&SPEC, format_args!("missing file operand")),
        [target] => (core::slice::from_ref(target), Some(b".")),
        [target, last] => {
            let into = stat(last).is_ok_and(|status| is_directory(status.mode));
            if into {
                (core::slice::from_ref(target), Some(*last))
            } else {
                return link(target, last, symbolic, force);
            }
        }
        [targets @ .., last] => {
            if !stat(last).is_ok_and(|status| is_directory(status.mode)) {
                report::message(format_args!("target '{}' is not a directory", Name(last)));
                return 1;
            }
            (targets, Some(*last))
        }
    };
    let mut status = 0;
    for &target in targets {
        let name: Result<Vec<u8>, Errno> = match directory {
            Some(b".") => try_copy(base_name(target)).map_err(Errno::from),
            Some(directory) => join(directory, base_name(target)).map_err(Errno::from),
            None => try_copy(target).map_err(Errno::from),
        };
        let failed = match name {
            Ok(name) => link(target, &name, symbolic, force),
            Err(errno) => {
                report::error(target, errno);
                1
            }
        };
        status |= failed;
    }
    status
}

/// Makes `name` a link to `target`; returns the status (0 or 1).
fn link(target: &[u8], name: &[u8], symbolic: bool, force: bool) -> i32 {
    if !symbolic {
        // Say which name is wrong: the target's errors name the target.
        if let Err(errno) = lstat(target) {
            report::error(target, errno);
            return 1;
        }
    }
    if force {
        match syscall::unlink_at(CURRENT_DIRECTORY, name) {
            Ok(()) | Err(Errno::NotFound) => {}
            Err(errno) => {
                report::error(name, errno);
                return 1;
            }
        }
    }
    let linked = if symbolic {
        syscall::symlink_at(target, CURRENT_DIRECTORY, name)
    } else {
        syscall::link_at(CURRENT_DIRECTORY, target, CURRENT_DIRECTORY, name)
    };
    match linked {
        Ok(()) => 0,
        Err(errno) => {
            let target_is_directory =
                !symbolic && lstat(target).is_ok_and(|status| is_directory(status.mode));
            report::error(if target_is_directory { target } else { name }, errno);
            1
        }
    }
}
