// SPDX-License-Identifier: MIT OR Apache-2.0
//! `sh`: the Manux shell.
//!
//! ```text
//! sh                      read commands from standard input, with a prompt
//! sh -c LINE [NAME ARG…]  run LINE ($0 = NAME, $1… = ARG…)
//! sh FILE [ARG…]          run the script FILE ($0 = FILE), no prompt
//! sh --child              a child shell: state and text on descriptor 63 (see `child`)
//! ```
//!
//! Interactive, it prints the prompt — the current directory then `$ `,
//! e.g. `/.../home/user $ `, on standard error — reads one line, runs it,
//! and again; `> ` asks for the rest of an unfinished line (an open
//! quote, a trailing `|`); Ctrl-C there drops the unfinished command
//! (the console interrupts the read) and prompts afresh. End of input
//! (Ctrl-D at the prompt) ends it
//! with status 0, and init starts a new login shell. A script ends at its
//! first syntax error (status 2) or with its last command's status.
//!
//! The language is `sh_syntax` (`apps/sh/syntax`, host-tested); the
//! state is [`shell`], running it [`execute`], child shells (subshells,
//! substitutions, background jobs) [`child`]; the builtins are
//! [`builtins`], [`language`], [`condition`], [`printf`] and [`dots`].
//! See `apps/sh/README.md` for the whole language with examples.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;
// On the host, std supplies the panic handler and the allocator the
// runtime supplies on Manux, so `cargo clippy -p NAME` can check this
// program (it is never linked there).
#[cfg(not(target_os = "none"))]
extern crate std;

mod builtins;
mod child;
mod condition;
mod dots;
mod execute;
mod fds;
mod input;
mod language;
mod printf;
mod shell;
mod text;

use alloc::vec::Vec;
use input::LineReader;
use manux_runtime::abi::OpenFlags;
use manux_runtime::{entry, eprint, eprintln, process, syscall, Errno};
use sh_syntax::{parse, ParseError};
use shell::{current_directory, Shell, USAGE};
use text::Text;

entry!(main);

/// The descriptor a script file is read from.
const SCRIPT_FD: i32 = 62;

fn main() -> i32 {
    let arguments: Vec<Vec<u8>> = process::arguments().iter().map(|a| a.to_vec()).collect();
    let environment = process::environment();
    match arguments.get(1).map(Vec::as_slice) {
        Some(option) if option == child::CHILD_OPTION => child::run_child(environment),
        Some(b"-c") => {
            let Some(line) = arguments.get(2) else {
                eprintln!("sh: -c: a command line is needed");
                return USAGE;
            };
            // `sh -c LINE NAME ARG…`: NAME is `$0`, as in POSIX.
            let mut positional: Vec<Vec<u8>> = arguments[3..].to_vec();
            if positional.is_empty() {
                positional.push(b"sh".to_vec());
            }
            let mut shell = Shell::new(environment, positional);
            run_line(&mut shell, line)
        }
        Some(option) if option.starts_with(b"-") && option != b"-" => {
            eprintln!("sh: {}: unknown option", Text(option));
            eprintln!("usage: sh [-c LINE [NAME ARG...] | FILE [ARG...]]");
            USAGE
        }
        Some(file) => {
            let fd = match syscall::open(file, OpenFlags::empty(), 0) {
                Ok(fd) => fd,
                Err(errno) => {
                    eprintln!("sh: {}: {}", Text(file), errno.description());
                    return shell::NOT_FOUND;
                }
            };
            // Out of the way of `exec 3<f` and the like: the script is
            // read from a high descriptor, as dash does.
            let fd = match syscall::duplicate_to(fd, SCRIPT_FD) {
                Ok(high) => {
                    let _ = syscall::close(fd);
                    high
                }
                Err(_) => fd,
            };
            let mut shell = Shell::new(environment, arguments[1..].to_vec());
            let status = run_input(&mut shell, LineReader::new(fd), Some(file));
            let _ = syscall::close(fd);
            shell.status = status;
            finish(&mut shell)
        }
        None => {
            let mut shell = Shell::new(environment, alloc::vec![b"sh".to_vec()]);
            shell.interactive = true;
            let status = run_input(&mut shell, LineReader::new(syscall::STDIN), None);
            shell.status = status;
            finish(&mut shell)
        }
    }
}

/// `sh -c LINE`.
fn run_line(shell: &mut Shell, line: &[u8]) -> i32 {
    match parse(line) {
        Ok(script) => {
            shell.run_script(&script);
            finish(shell)
        }
        Err(error) => {
            eprintln!("sh: syntax error: {error}");
            USAGE
        }
    }
}

/// The shell ends: its `EXIT` trap runs (once), then its status is the
/// one `exit` asked for or the last command's.
pub fn finish(shell: &mut Shell) -> i32 {
    let status = shell.exit_request.unwrap_or(shell.status);
    if let Some(action) = shell.traps.remove(&b"EXIT"[..]) {
        shell.exit_request = None;
        shell.flow = None;
        shell.status = status;
        shell.run_text(&action);
        if let Some(requested) = shell.exit_request {
            return requested;
        }
    }
    status
}

/// Reads and runs commands until the end of the input or `exit`.
/// `script` is the file's name, `None` for interactive standard input.
fn run_input(shell: &mut Shell, mut reader: LineReader, script: Option<&[u8]>) -> i32 {
    let interactive = script.is_none();
    let mut pending: Vec<u8> = Vec::new();
    let mut first_line = 1;
    loop {
        if interactive {
            prompt(pending.is_empty());
        }
        let end = match reader.next_line() {
            Ok(Some(line)) => {
                if pending.is_empty() {
                    first_line = reader.line_number();
                }
                pending.extend_from_slice(&line);
                false
            }
            Ok(None) => true,
            // Ctrl-C at the prompt (no program to stop): the console
            // interrupts the read. Drop the unfinished command, if any
            // (`echo "abc` then Enter), and prompt afresh.
            Err(Errno::Interrupted) if interactive => {
                pending.clear();
                continue;
            }
            Err(errno) => {
                eprintln!("sh: read: {errno}");
                return 1;
            }
        };
        if end && pending.is_empty() {
            if interactive {
                // Ctrl-D leaves the cursor after the prompt.
                eprint!("\n");
                return 0;
            }
            return shell.status;
        }
        match parse(&pending) {
            Ok(script) => {
                pending.clear();
                shell.run_script(&script);
                // An error abandoned the rest of the line.
                if shell.flow == Some(shell::Flow::Abandon) {
                    shell.flow = None;
                }
                shell.flow = None;
                if let Some(status) = shell.exit_request {
                    return status;
                }
            }
            Err(ParseError::Incomplete(_)) if !end => continue,
            Err(error) => {
                pending.clear();
                match script {
                    Some(file) => {
                        eprintln!(
                            "sh: {}: line {first_line}: syntax error: {error}",
                            Text(file)
                        );
                        return USAGE;
                    }
                    None => {
                        eprintln!("sh: syntax error: {error}");
                        shell.status = USAGE;
                    }
                }
            }
        }
        if end {
            return if interactive { 0 } else { shell.status };
        }
    }
}

/// `CWD $ `, or `> ` for the rest of an unfinished line.
fn prompt(fresh: bool) {
    if !fresh {
        eprint!("> ");
        return;
    }
    let directory = current_directory().unwrap_or_else(|| b"?".to_vec());
    eprint!("{} $ ", Text(&directory));
}
