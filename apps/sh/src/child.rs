// SPDX-License-Identifier: MIT OR Apache-2.0
//! Child shells: how a subshell, a command substitution, a background
//! job or a pipeline member that is not a program runs without `fork`.
//!
//! Manux has no `fork` for native programs, so the shell spawns its own
//! program again (`/bin/sh --child`) and hands it, through a pipe mapped
//! to the child's descriptor [`STATE_FD`], everything it needs to behave
//! as a copy of this shell would, then the text to run:
//!
//! ```text
//! state := field*            each field: DECIMAL-LENGTH ':' BYTES
//! fields: $?  $$  $!  options ($-)  $0  count  $1 … $count  preamble  text
//! ```
//!
//! The preamble is shell text the child runs first, silently: every
//! variable (`NAME='value'`, exported or not; exported ones are also in
//! the child's environment, and `export NAME` and `readonly NAME` mark
//! them), every
//! function's definition as written, and `trap '' COND` for ignored
//! conditions — traps with actions are reset in a subshell, as POSIX
//! says. The current directory and the `/...` view are inherited by
//! `spawn` itself; descriptors are the spawn map. Because the text is
//! parsed again by the child, the state passes through the very parser
//! that wrote it, and nothing but this pipe carries it: no file another
//! process could read.
//!
//! The writer writes the whole state after the spawn and closes its end;
//! the child reads to the end before doing anything else, so neither
//! waits on the other whatever the size.

use crate::fds::FdTable;
use crate::shell::{Shell, NOT_RUNNABLE, SHELL_PATH};
use crate::text::{print_to, Text};
use alloc::format;
use alloc::vec::Vec;
use manux_runtime::abi::wait_status::WaitStatus;
use manux_runtime::syscall::{self, Fd, ProcessId};
use manux_runtime::Errno;
use sh_syntax::quote;

/// The child's descriptor its state arrives on.
pub const STATE_FD: u8 = 63;

/// The option that makes `sh` a child shell.
pub const CHILD_OPTION: &[u8] = b"--child";

fn field(state: &mut Vec<u8>, bytes: &[u8]) {
    state.extend_from_slice(format!("{}:", bytes.len()).as_bytes());
    state.extend_from_slice(bytes);
}

/// `shell`'s state and `text`, encoded (see the module doc).
fn encode(shell: &Shell, text: &[u8]) -> Vec<u8> {
    let mut state = Vec::new();
    field(&mut state, format!("{}", shell.status).as_bytes());
    field(&mut state, format!("{}", shell.process_id).as_bytes());
    let last = shell
        .last_background
        .map(|pid| format!("{pid}"))
        .unwrap_or_default();
    field(&mut state, last.as_bytes());
    field(&mut state, &shell.options.letters());
    field(
        &mut state,
        shell.arguments.first().map_or(&b"sh"[..], Vec::as_slice),
    );
    let rest = &shell.arguments[1.min(shell.arguments.len())..];
    field(&mut state, format!("{}", rest.len()).as_bytes());
    for argument in rest {
        field(&mut state, argument);
    }
    let mut preamble = Vec::new();
    for (name, variable) in shell.all_variables() {
        if let Some(value) = &variable.value {
            preamble.extend_from_slice(name);
            preamble.push(b'=');
            preamble.extend_from_slice(&quote(value));
            preamble.push(b'\n');
        }
        if variable.exported {
            preamble.extend_from_slice(b"export ");
            preamble.extend_from_slice(name);
            preamble.push(b'\n');
        }
        if variable.readonly {
            preamble.extend_from_slice(b"readonly ");
            preamble.extend_from_slice(name);
            preamble.push(b'\n');
        }
    }
    for function in shell.functions.values() {
        preamble.extend_from_slice(&function.source);
        preamble.push(b'\n');
    }
    for (condition, action) in &shell.traps {
        if action.is_empty() {
            preamble.extend_from_slice(b"trap '' ");
            preamble.extend_from_slice(condition);
            preamble.push(b'\n');
        }
    }
    field(&mut state, &preamble);
    field(&mut state, text);
    state
}

/// Spawns a child shell that runs `text` with `fds`.
///
/// Return values: [`NOT_RUNNABLE`] if the shell could not be spawned
/// (reported on `fds`'s standard error).
pub fn spawn(shell: &Shell, text: &[u8], fds: &FdTable) -> Result<ProcessId, i32> {
    let state = encode(shell, text);
    let report = |errno: Errno| {
        print_to(
            fds.error(),
            format_args!("sh: {}: {errno}\n", Text(SHELL_PATH)),
        );
        NOT_RUNNABLE
    };
    let [read_end, write_end] = syscall::pipe().map_err(report)?;
    let mut child_fds = fds.clone();
    child_fds.set(STATE_FD, read_end);
    let environment = shell.environment(&[]);
    let environment: Vec<&[u8]> = environment.iter().map(Vec::as_slice).collect();
    let arguments: [&[u8]; 2] = [b"sh", CHILD_OPTION];
    let spawned = syscall::spawn(SHELL_PATH, &arguments, &environment, &child_fds.mappings());
    let _ = syscall::close(read_end);
    if spawned.is_ok() {
        let _ = syscall::write_all(write_end, &state);
    }
    let _ = syscall::close(write_end);
    spawned.map_err(report)
}

/// `$( text )`: runs `text` in a child shell and returns what it wrote
/// on its standard output, with its status.
pub fn capture(shell: &mut Shell, text: &[u8]) -> (Vec<u8>, i32) {
    let [read_end, write_end] = match syscall::pipe() {
        Ok(pipe) => pipe,
        Err(errno) => {
            shell.error(format_args!("pipe: {errno}"));
            return (Vec::new(), 1);
        }
    };
    let mut fds = shell.fds.clone();
    fds.set(1, write_end);
    let started = spawn(shell, text, &fds);
    let _ = syscall::close(write_end);
    let mut output = Vec::new();
    if started.is_ok() {
        let mut buffer = [0u8; 4096];
        while let Ok(count) = syscall::read(read_end, &mut buffer) {
            if count == 0 {
                break;
            }
            output.extend_from_slice(&buffer[..count.min(buffer.len())]);
        }
    }
    let _ = syscall::close(read_end);
    let status = match started {
        Ok(pid) => match syscall::wait(pid) {
            Ok((_, WaitStatus::Exited(code))) => i32::from(code),
            Ok((_, WaitStatus::Killed(reason))) => 128 + i32::from(reason),
            Err(_) => 1,
        },
        Err(status) => status,
    };
    (output, status)
}

/// Reads all of `fd`.
fn read_all(fd: Fd) -> Vec<u8> {
    let mut state = Vec::new();
    let mut buffer = [0u8; 4096];
    while let Ok(count) = syscall::read(fd, &mut buffer) {
        if count == 0 {
            break;
        }
        state.extend_from_slice(&buffer[..count.min(buffer.len())]);
    }
    state
}

/// Cuts the next field off `state`.
fn next_field<'a>(state: &mut &'a [u8]) -> Option<&'a [u8]> {
    let colon = state.iter().position(|&byte| byte == b':')?;
    let length: usize = core::str::from_utf8(&state[..colon]).ok()?.parse().ok()?;
    let rest = &state[colon + 1..];
    let value = rest.get(..length)?;
    *state = &rest[length..];
    Some(value)
}

fn number<T: core::str::FromStr>(field: &[u8]) -> Option<T> {
    core::str::from_utf8(field).ok()?.parse().ok()
}

/// The child's side: reads the state from [`STATE_FD`], becomes that
/// shell, runs the text; returns the exit status.
pub fn run_child(environment: &[&[u8]]) -> i32 {
    let state = read_all(Fd::from(STATE_FD));
    let _ = syscall::close(Fd::from(STATE_FD));
    let mut rest = state.as_slice();
    let Some(restored) = decode(&mut rest, environment) else {
        print_to(2, format_args!("sh: --child: no state given\n"));
        return crate::shell::USAGE;
    };
    let Restored {
        mut shell,
        options,
        preamble,
        text,
    } = restored;
    let status = shell.status;
    shell.run_text(preamble);
    // Options after the preamble: `set -x` must not trace it.
    for &letter in options {
        shell.options.set(letter, true);
    }
    shell.status = status;
    shell.run_text(text);
    crate::finish(&mut shell)
}

/// A decoded state: the shell, and what the child applies and runs.
struct Restored<'a> {
    shell: Shell,
    options: &'a [u8],
    preamble: &'a [u8],
    text: &'a [u8],
}

fn decode<'a>(state: &mut &'a [u8], environment: &[&[u8]]) -> Option<Restored<'a>> {
    let status: i32 = number(next_field(state)?)?;
    let process_id: ProcessId = number(next_field(state)?)?;
    let last = next_field(state)?;
    let options = next_field(state)?;
    let zero = next_field(state)?.to_vec();
    let count: usize = number(next_field(state)?)?;
    let mut arguments = alloc::vec![zero];
    for _ in 0..count {
        arguments.push(next_field(state)?.to_vec());
    }
    let preamble = next_field(state)?;
    let text = next_field(state)?;
    let mut shell = Shell::new(environment, arguments);
    shell.status = status;
    shell.process_id = process_id;
    shell.last_background = number(last);
    Some(Restored {
        shell,
        options,
        preamble,
        text,
    })
}
