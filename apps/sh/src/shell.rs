// SPDX-License-Identifier: MIT OR Apache-2.0
//! The shell's state and how it runs a parsed [`Script`].
//!
//! [`Shell`] holds the variables (each exported or not), the last status
//! (`$?`) and the positional arguments. [`Shell::run_script`] walks the
//! tree `sh_syntax::parse` built:
//!
//! - an and-or list runs its pipelines left to right, skipping one after
//!   `&&` when the status is not 0 and after `||` when it is;
//! - a pipeline of one command runs a builtin inside the shell (so `cd`
//!   and `export` change the shell), a program with `spawn`; a longer
//!   pipeline spawns every member — a builtin through a helper
//!   `/bin/sh -c`, as POSIX runs pipeline members in subshells — with a
//!   pipe between each two, then waits for all of them: the status is the
//!   last one's;
//! - redirections are opened by the shell and passed in the spawn map
//!   ([`FdTable`]); they never change the shell's own descriptors.
//!
//! Statuses: a program's exit code; 127 for a command not found, 126 for
//! one that cannot run (`EACCES`: not immutable, reached through `/...`);
//! 128 + the reason for one the kernel ended, reported as
//! `sh: NAME: memory fault` (`killed` after Ctrl-C); 1 for a redirection
//! that failed; 2 for a syntax or usage error.

use crate::builtins::Builtin;
use crate::fds::{close_all, FdTable};
use crate::text::{concat, print_to, Text};
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::vec::Vec;
use manux_runtime::abi::wait_status::{WaitStatus, BROKEN_PIPE, KILLED};
use manux_runtime::abi::OpenFlags;
use manux_runtime::syscall::{self, Fd, ProcessId};
use manux_runtime::Errno;
use sh_syntax::quote::quote_words;
use sh_syntax::{
    expand, expand_joined, quote, AndOr, Command, Connector, Pipeline, RedirectionKind, Script,
    Variables, Word,
};

/// Status of a command not found.
pub const NOT_FOUND: i32 = 127;
/// Status of a command found but not runnable.
pub const NOT_RUNNABLE: i32 = 126;
/// Status of a syntax or usage error.
pub const USAGE: i32 = 2;

/// Where the shell itself is, for the builtins it runs in a helper.
pub const SHELL_PATH: &[u8] = b"/bin/sh";

/// One shell variable.
#[derive(Clone, Debug, Default)]
struct Variable {
    /// `None`: exported but never set (`export NAME`).
    value: Option<Vec<u8>>,
    exported: bool,
}

/// A command with its words expanded and its redirections opened.
pub struct Prepared {
    /// The command name and arguments (empty: assignments only).
    pub words: Vec<Vec<u8>>,
    /// `NAME=VALUE` before the command, expanded.
    pub assignments: Vec<(Vec<u8>, Vec<u8>)>,
    /// The descriptors the command gets.
    pub fds: FdTable,
    /// What the shell opened for it, closed once it is started.
    opened: Vec<Fd>,
}

/// The shell.
pub struct Shell {
    variables: BTreeMap<Vec<u8>, Variable>,
    /// `$?`.
    pub status: i32,
    /// `$0`, then `$1`, `$2`, ….
    pub arguments: Vec<Vec<u8>>,
    /// Set by `exit`: the shell ends with this status once the current
    /// command is done.
    pub exit_request: Option<i32>,
}

impl Variables for Shell {
    fn get(&self, name: &[u8]) -> Option<Vec<u8>> {
        match name {
            b"?" => Some(format!("{}", self.status).into_bytes()),
            b"$" => Some(format!("{}", syscall::process_id()).into_bytes()),
            b"#" => Some(format!("{}", self.arguments.len().saturating_sub(1)).into_bytes()),
            b"*" | b"@" => Some(self.arguments().join(&b' ')),
            _ if name.iter().all(u8::is_ascii_digit) => {
                let index = core::str::from_utf8(name).ok()?.parse::<usize>().ok()?;
                self.arguments.get(index).cloned()
            }
            _ => self.variables.get(name)?.value.clone(),
        }
    }

    fn arguments(&self) -> Vec<Vec<u8>> {
        self.arguments.iter().skip(1).cloned().collect()
    }
}

impl Shell {
    /// A shell whose variables are `environment` (all exported) and whose
    /// `$0`, `$1`, … are `arguments`.
    pub fn new(environment: &[&[u8]], arguments: Vec<Vec<u8>>) -> Shell {
        let mut variables = BTreeMap::new();
        for entry in environment {
            if let Some(equals) = entry.iter().position(|&byte| byte == b'=') {
                variables.insert(
                    entry[..equals].to_vec(),
                    Variable {
                        value: Some(entry[equals + 1..].to_vec()),
                        exported: true,
                    },
                );
            }
        }
        let mut shell = Shell {
            variables,
            status: 0,
            arguments,
            exit_request: None,
        };
        if let Some(directory) = current_directory() {
            shell.set_variable(b"PWD", directory);
        }
        shell
    }

    /// Sets `name` (keeping whether it is exported).
    pub fn set_variable(&mut self, name: &[u8], value: Vec<u8>) {
        self.variables.entry(name.to_vec()).or_default().value = Some(value);
    }

    /// Marks `name` exported.
    pub fn export(&mut self, name: &[u8]) {
        self.variables.entry(name.to_vec()).or_default().exported = true;
    }

    /// Forgets `name`.
    pub fn unset(&mut self, name: &[u8]) {
        self.variables.remove(name);
    }

    /// `NAME=value` of every exported variable that has a value, sorted.
    pub fn exported(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.variables
            .iter()
            .filter(|(_, variable)| variable.exported)
            .filter_map(|(name, variable)| Some((name.clone(), variable.value.clone()?)))
            .collect()
    }

    /// The environment a command gets: the exported variables, with the
    /// command's own `NAME=VALUE` assignments over them.
    pub fn environment(&self, assignments: &[(Vec<u8>, Vec<u8>)]) -> Vec<Vec<u8>> {
        let mut merged: BTreeMap<Vec<u8>, Vec<u8>> = self.exported().into_iter().collect();
        for (name, value) in assignments {
            merged.insert(name.clone(), value.clone());
        }
        merged
            .into_iter()
            .map(|(name, value)| {
                let mut entry = name;
                entry.push(b'=');
                entry.extend_from_slice(&value);
                entry
            })
            .collect()
    }

    /// Runs every list of `script`, stopping early after `exit`.
    pub fn run_script(&mut self, script: &Script) {
        for list in &script.lists {
            if self.exit_request.is_some() {
                return;
            }
            self.status = self.run_and_or(list);
        }
    }

    fn run_and_or(&mut self, list: &AndOr) -> i32 {
        let mut status = self.run_pipeline(&list.first);
        for (connector, pipeline) in &list.rest {
            if self.exit_request.is_some() {
                break;
            }
            let run = match connector {
                Connector::And => status == 0,
                Connector::Or => status != 0,
            };
            if run {
                self.status = status;
                status = self.run_pipeline(pipeline);
            }
        }
        status
    }

    fn run_pipeline(&mut self, pipeline: &Pipeline) -> i32 {
        match pipeline.commands.as_slice() {
            [command] => self.run_single(command),
            commands => self.run_several(commands),
        }
    }

    /// A pipeline of one command: builtins run in the shell.
    fn run_single(&mut self, command: &Command) -> i32 {
        let prepared = match self.prepare(command, FdTable::standard()) {
            Ok(prepared) => prepared,
            Err(status) => return status,
        };
        let status = match prepared.words.first() {
            None => {
                for (name, value) in &prepared.assignments {
                    self.set_variable(name, value.clone());
                }
                0
            }
            Some(name) => match Builtin::find(name) {
                Some(builtin) => builtin.run(self, &prepared),
                None => match self.spawn_program(&prepared) {
                    Ok(pid) => self.wait_all(&[(Ok(pid), name.clone())]),
                    Err(status) => status,
                },
            },
        };
        close_all(&prepared.opened);
        status
    }

    /// `A | B | …`: every member spawned, then all waited for.
    fn run_several(&mut self, commands: &[Command]) -> i32 {
        let mut members: Vec<(Result<ProcessId, i32>, Vec<u8>)> = Vec::new();
        let mut input: Option<Fd> = None;
        for (index, command) in commands.iter().enumerate() {
            let last = index + 1 == commands.len();
            let pipe = if last {
                None
            } else {
                match syscall::pipe() {
                    Ok(pipe) => Some(pipe),
                    Err(errno) => {
                        self.error(format_args!("pipe: {errno}"));
                        members.push((Err(1), Vec::new()));
                        break;
                    }
                }
            };
            let mut fds = FdTable::standard();
            if let Some(read_end) = input {
                fds.set(0, read_end);
            }
            if let Some([_, write_end]) = pipe {
                fds.set(1, write_end);
            }
            let member = match self.prepare(command, fds) {
                Ok(prepared) => {
                    let name = prepared.words.first().cloned().unwrap_or_default();
                    let started = self.spawn_member(&prepared);
                    close_all(&prepared.opened);
                    (started, name)
                }
                Err(status) => (Err(status), Vec::new()),
            };
            members.push(member);
            // The children hold their ends now; the shell's copies would
            // keep a reader from ever seeing the end of its input.
            if let Some(read_end) = input.take() {
                let _ = syscall::close(read_end);
            }
            if let Some([read_end, write_end]) = pipe {
                let _ = syscall::close(write_end);
                input = Some(read_end);
            }
        }
        if let Some(read_end) = input {
            let _ = syscall::close(read_end);
        }
        self.wait_all(&members)
    }

    /// Starts one member of a longer pipeline.
    fn spawn_member(&mut self, prepared: &Prepared) -> Result<ProcessId, i32> {
        let Some(name) = prepared.words.first() else {
            // Assignments alone in a pipeline change nothing (a subshell).
            return Err(0);
        };
        if Builtin::find(name).is_none() {
            return self.spawn_program(prepared);
        }
        // A builtin: run by a helper shell given the expanded words,
        // quoted so it expands nothing again.
        let mut line = Vec::new();
        for (name, value) in &prepared.assignments {
            line.extend_from_slice(name);
            line.push(b'=');
            line.extend_from_slice(&quote(value));
            line.push(b' ');
        }
        line.extend_from_slice(&quote_words(&prepared.words));
        self.spawn_helper(&line, &prepared.fds, &prepared.assignments)
    }

    /// Spawns `/bin/sh -c LINE` with `fds`.
    pub fn spawn_helper(
        &mut self,
        line: &[u8],
        fds: &FdTable,
        assignments: &[(Vec<u8>, Vec<u8>)],
    ) -> Result<ProcessId, i32> {
        let environment = self.environment(assignments);
        let environment: Vec<&[u8]> = environment.iter().map(Vec::as_slice).collect();
        let arguments: [&[u8]; 3] = [b"sh", b"-c", line];
        syscall::spawn(SHELL_PATH, &arguments, &environment, &fds.mappings()).map_err(|errno| {
            print_to(
                fds.error(),
                format_args!("sh: {}: {errno}\n", Text(SHELL_PATH)),
            );
            NOT_RUNNABLE
        })
    }

    /// Expands `command`'s words and assignments and opens its
    /// redirections over `fds`.
    ///
    /// Return values: the status to give the command if a redirection
    /// failed (1) or was ambiguous (1); the error is printed.
    fn prepare(&mut self, command: &Command, mut fds: FdTable) -> Result<Prepared, i32> {
        let words: Vec<Vec<u8>> = command
            .words
            .iter()
            .flat_map(|word| expand(word, self))
            .collect();
        let assignments = command
            .assignments
            .iter()
            .map(|assignment| {
                (
                    assignment.name.clone(),
                    expand_joined(&assignment.value, self),
                )
            })
            .collect();
        let mut opened = Vec::new();
        for redirection in &command.redirections {
            let (target, flags) = match &redirection.kind {
                RedirectionKind::Input(word) => (word, OpenFlags::empty()),
                RedirectionKind::Output(word) => (
                    word,
                    OpenFlags::WRITE_ONLY | OpenFlags::CREATE | OpenFlags::TRUNCATE,
                ),
                RedirectionKind::Append(word) => (
                    word,
                    OpenFlags::WRITE_ONLY | OpenFlags::CREATE | OpenFlags::APPEND,
                ),
                RedirectionKind::Duplicate(source) => {
                    match fds.get(*source) {
                        Some(fd) => fds.set(redirection.fd, fd),
                        None => {
                            print_to(
                                fds.error(),
                                format_args!("sh: {source}: {}\n", Errno::BadFd.description()),
                            );
                            close_all(&opened);
                            return Err(1);
                        }
                    }
                    continue;
                }
                RedirectionKind::Close => {
                    fds.remove(redirection.fd);
                    continue;
                }
            };
            match self.open_target(target, flags) {
                Ok(fd) => {
                    opened.push(fd);
                    fds.set(redirection.fd, fd);
                }
                Err(message) => {
                    print_to(fds.error(), format_args!("sh: {message}\n"));
                    close_all(&opened);
                    return Err(1);
                }
            }
        }
        Ok(Prepared {
            words,
            assignments,
            fds,
            opened,
        })
    }

    /// Opens a redirection's file; the error is the message to print.
    fn open_target(&self, target: &Word, flags: OpenFlags) -> Result<Fd, alloc::string::String> {
        let fields = expand(target, self);
        let [path] = fields.as_slice() else {
            return Err(format!("{}: ambiguous redirect", Text(&fields.join(&b' '))));
        };
        syscall::open(path, flags, 0o644)
            .map_err(|errno| format!("{}: {}", Text(path), errno.description()))
    }

    /// Finds and spawns a program; prints why not.
    ///
    /// Return values: the status for a command that did not start:
    /// [`NOT_FOUND`] or [`NOT_RUNNABLE`].
    pub fn spawn_program(&mut self, prepared: &Prepared) -> Result<ProcessId, i32> {
        let environment = self.environment(&prepared.assignments);
        let environment: Vec<&[u8]> = environment.iter().map(Vec::as_slice).collect();
        let arguments: Vec<&[u8]> = prepared.words.iter().map(Vec::as_slice).collect();
        let mappings = prepared.fds.mappings();
        let name = &prepared.words[0];
        self.search(name, |path| {
            syscall::spawn(path, &arguments, &environment, &mappings)
        })
        .map_err(|errno| self.report_not_started(name, errno, prepared.fds.error()))
    }

    /// Runs `attempt` on `name` if it has a `/`, else on `DIR/name` for
    /// each directory of `PATH` (default `/bin`) until one is not "not
    /// found". `EACCES` on the way is remembered: if nothing runs, it is
    /// the answer rather than `ENOENT`.
    pub fn search<T>(
        &self,
        name: &[u8],
        mut attempt: impl FnMut(&[u8]) -> Result<T, Errno>,
    ) -> Result<T, Errno> {
        if name.contains(&b'/') {
            return attempt(name);
        }
        if name.is_empty() {
            return Err(Errno::NotFound);
        }
        let path = Variables::get(self, b"PATH").unwrap_or_else(|| b"/bin".to_vec());
        let mut denied = false;
        for directory in path.split(|&byte| byte == b':') {
            let directory: &[u8] = if directory.is_empty() {
                b"."
            } else {
                directory
            };
            let mut candidate = concat(directory, b"/");
            candidate.extend_from_slice(name);
            match attempt(&candidate) {
                Err(Errno::NotFound | Errno::NotADirectory) => {}
                Err(Errno::AccessDenied) => denied = true,
                other => return other,
            }
        }
        Err(if denied {
            Errno::AccessDenied
        } else {
            Errno::NotFound
        })
    }

    /// Prints why `name` did not start; returns its status.
    pub fn report_not_started(&self, name: &[u8], errno: Errno, error_fd: Fd) -> i32 {
        match errno {
            Errno::NotFound if !name.contains(&b'/') => {
                print_to(
                    error_fd,
                    format_args!("sh: {}: command not found\n", Text(name)),
                );
                NOT_FOUND
            }
            Errno::NotFound => {
                print_to(
                    error_fd,
                    format_args!("sh: {}: {}\n", Text(name), errno.description()),
                );
                NOT_FOUND
            }
            _ => {
                print_to(
                    error_fd,
                    format_args!("sh: {}: {}\n", Text(name), errno.description()),
                );
                NOT_RUNNABLE
            }
        }
    }

    /// Waits for every started member; the status is the last member's.
    /// A member the kernel ended is reported: a fault each time, `killed`
    /// (Ctrl-C, or `kill`) once for the pipeline, a broken pipe never.
    pub fn wait_all(&mut self, members: &[(Result<ProcessId, i32>, Vec<u8>)]) -> i32 {
        let mut status = 0;
        let mut killed: Option<&[u8]> = None;
        for (started, name) in members {
            status = match started {
                Err(status) => *status,
                Ok(pid) => match syscall::wait(*pid) {
                    Ok((_, WaitStatus::Exited(code))) => i32::from(code),
                    Ok((_, WaitStatus::Killed(reason))) => {
                        if reason == KILLED {
                            killed = Some(name);
                        } else if reason == BROKEN_PIPE {
                            // A writer whose reader is gone (`grep … |
                            // head -1`): what a pipeline expects, said
                            // by no shell.
                        } else {
                            self.error(format_args!(
                                "{}: {}",
                                Text(name),
                                WaitStatus::reason_name(reason)
                            ));
                        }
                        128 + i32::from(reason)
                    }
                    Err(errno) => {
                        self.error(format_args!("wait: {errno}"));
                        1
                    }
                },
            };
        }
        if let Some(name) = killed {
            self.error(format_args!("{}: killed", Text(name)));
        }
        status
    }

    /// `sh: MESSAGE` on standard error.
    pub fn error(&self, message: core::fmt::Arguments<'_>) {
        print_to(2, format_args!("sh: {message}\n"));
    }
}

/// The current directory, as `getcwd` gives it.
pub fn current_directory() -> Option<Vec<u8>> {
    let mut buffer = alloc::vec![0u8; manux_runtime::abi::limits::PATH_BYTES];
    let length = syscall::current_directory(&mut buffer).ok()?;
    buffer.truncate(length);
    Some(buffer)
}
