// SPDX-License-Identifier: MIT OR Apache-2.0
//! `env [-i] [-u NAME]... [NAME=VALUE]... [COMMAND [ARGUMENT]...]`: prints
//! the environment, or runs COMMAND in a changed one.
//!
//! The new environment starts as this process's (empty with `-i`),
//! loses each `-u NAME`, then gets each `NAME=VALUE` (replacing an
//! earlier value). Without COMMAND it is printed, one entry per line.
//! With COMMAND, `env` replaces itself (`execve`) by it: a COMMAND
//! without `/` is looked for in the new environment's `PATH` (`/bin`
//! when unset), as `execvp` does. Options end at the first operand, so
//! `env ls -l` passes `-l` to `ls`.
//!
//! Exit status: COMMAND's, once it runs; 127 when it is not found, 126
//! when it was found but cannot run (GNU's values); 2 for a usage error.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::vec::Vec;
use coreutils_common::memory::try_push;
use coreutils_common::output::Output;
use coreutils_common::path::join;
use coreutils_common::text::Name;
use coreutils_common::{report, start, Spec};
use manux_runtime::{entry, process, syscall, Errno};

entry!(main);

const SPEC: Spec = Spec {
    usage: "env [-i] [-u NAME]... [NAME=VALUE]... [COMMAND [ARGUMENT]...]",
    flags: b"i",
    valued: b"u",
    long: &[("ignore-environment", b'i'), ("unset", b'u')],
    stop_at_operand: true,
};

/// Where commands are looked for when `PATH` is unset.
const DEFAULT_PATH: &[u8] = b"/bin";

/// The name part of a `NAME=VALUE` entry (the whole entry without `=`).
fn name_of(entry: &[u8]) -> &[u8] {
    match entry.iter().position(|&byte| byte == b'=') {
        Some(equals) => &entry[..equals],
        None => entry,
    }
}

fn main() -> i32 {
    let options = match start(&SPEC) {
        Ok(options) => options,
        Err(status) => return status,
    };
    for name in options.values(b'u') {
        if name.is_empty() || name.contains(&b'=') {
            return report::usage_error(
                &SPEC,
                format_args!("cannot unset '{}': {}", Name(name), Errno::InvalidArgument),
            );
        }
    }
    let mut environment: Vec<&[u8]> = Vec::new();
    if !options.has(b'i') {
        for &entry in process::environment() {
            let unset = options.values(b'u').any(|name| name == name_of(entry));
            if !unset && try_push(&mut environment, entry).is_err() {
                return out_of_memory();
            }
        }
    }
    let mut operands = options.operands.as_slice();
    while let Some((&assignment, rest)) = operands.split_first() {
        // `NAME=VALUE` with a non-empty NAME; the first other operand is
        // the command.
        if !matches!(assignment.iter().position(|&byte| byte == b'='), Some(1..)) {
            break;
        }
        let name = name_of(assignment);
        environment.retain(|entry| name_of(entry) != name);
        if try_push(&mut environment, assignment).is_err() {
            return out_of_memory();
        }
        operands = rest;
    }
    if operands.is_empty() {
        let mut output = Output::stdout();
        for entry in &environment {
            output.write(entry);
            output.write(b"\n");
        }
        return output.finish(0);
    }
    execute(operands, &environment)
}

fn out_of_memory() -> i32 {
    report::message(format_args!("{}", Errno::OutOfMemory));
    1
}

/// Runs `command[0]` with arguments `command` and `environment`;
/// returns only when that failed, with the status to exit with.
fn execute(command: &[&[u8]], environment: &[&[u8]]) -> i32 {
    let program = command[0];
    if program.contains(&b'/') {
        let errno = syscall::execute(program, command, environment);
        report::error(program, errno);
        return if errno == Errno::NotFound { 127 } else { 126 };
    }
    let search = environment
        .iter()
        .find_map(|entry| entry.strip_prefix(b"PATH="))
        .unwrap_or(DEFAULT_PATH);
    // As `execvp`: go on past directories where it is not; remember a
    // program that was found but could not run.
    let mut found_error = None;
    for directory in search.split(|&byte| byte == b':') {
        let directory: &[u8] = if directory.is_empty() {
            b"."
        } else {
            directory
        };
        let Ok(candidate) = join(directory, program) else {
            return out_of_memory();
        };
        match syscall::execute(&candidate, command, environment) {
            Errno::NotFound | Errno::NotADirectory | Errno::NameTooLong => {}
            errno => {
                found_error.get_or_insert(errno);
            }
        }
    }
    match found_error {
        Some(errno) => {
            report::error(program, errno);
            126
        }
        None => {
            report::error(program, Errno::NotFound);
            127
        }
    }
}
