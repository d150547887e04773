// SPDX-License-Identifier: MIT OR Apache-2.0
//! Running a parsed [`Script`]: lists, pipelines, compound commands,
//! functions and simple commands.
//!
//! - An and-or list runs its pipelines left to right, skipping one after
//!   `&&` when the status is not 0 and after `||` when it is; with `&` the
//!   whole list runs in a child shell, not waited for (`$!`).
//! - A pipeline of one command runs in the shell: a builtin or function
//!   changes the shell, a program is spawned. In a longer pipeline every
//!   member runs in its own process — a program spawned directly,
//!   anything else (builtin, function, compound command) in a child shell
//!   given the whole state (`child`), as POSIX runs pipeline members in
//!   subshells — with a pipe between each two; the status is the last
//!   one's.
//! - Compound commands run in the shell, except `( … )`, a child shell.
//!   `break`, `continue` and `return` unwind through [`Flow`].
//! - Redirections are opened by the shell and passed in the spawn map
//!   ([`FdTable`]); they never change the shell's own descriptors. For a
//!   compound command they become the shell's current table while its
//!   body runs. A here-document is a pipe the shell fills (so no file
//!   that another process could see is involved).
//!
//! Statuses: a program's exit code; 127 for a command not found, 126 for
//! one that cannot run (`EACCES`: not immutable, reached through `/...`);
//! 128 + the reason for one the kernel ended, reported as
//! `sh: NAME: memory fault` (`killed` after Ctrl-C); 1 for a redirection
//! that failed; 2 for a syntax, usage or expansion error (which also ends
//! a shell that is not interactive, as in dash).

use crate::builtins::Builtin;
use crate::child;
use crate::fds::{close_all, FdTable};
use crate::shell::{Flow, Shell, INTERRUPTED_STATUS, NOT_FOUND, NOT_RUNNABLE, USAGE};
use crate::text::{print_to, write_bytes, Text};
use alloc::format;
use alloc::rc::Rc;
use alloc::vec::Vec;
use manux_runtime::abi::wait_status::{WaitStatus, BROKEN_PIPE, INTERRUPTED, KILLED};
use manux_runtime::abi::OpenFlags;
use manux_runtime::syscall::{self, Fd, ProcessId};
use manux_runtime::Errno;
use sh_syntax::pattern;
use sh_syntax::{
    expand, expand_joined, expand_pattern, AndOr, Command, CompoundCommand, Connector,
    ExpansionError, Pipeline, Redirection, RedirectionKind, Script, SimpleCommand, Word,
};

/// A command with its words expanded and its redirections opened.
pub struct Prepared {
    /// The command name and arguments (empty: assignments only).
    pub words: Vec<Vec<u8>>,
    /// `NAME=VALUE` before the command, expanded.
    pub assignments: Vec<(Vec<u8>, Vec<u8>)>,
    /// The descriptors the command gets.
    pub fds: FdTable,
    /// What the shell opened for it, closed once it is started.
    pub opened: Vec<Fd>,
}

impl Shell {
    /// Runs every list of `script`, stopping early after `exit` or while
    /// a `break`, `continue` or `return` unwinds.
    pub fn run_script(&mut self, script: &Script) {
        for list in &script.lists {
            if self.exit_request.is_some() || self.flow.is_some() {
                return;
            }
            if list.background {
                self.status = self.run_background(list);
                continue;
            }
            let (status, checked) = self.run_and_or(list);
            if self.flow == Some(Flow::Abandon) {
                // What abandoned the line (an expansion error, Ctrl-C)
                // set the status.
                return;
            }
            self.status = status;
            if status != 0
                && checked
                && self.options.exit_on_error
                && self.condition_depth == 0
                && self.flow.is_none()
            {
                self.exit_request = Some(status);
            }
        }
    }

    /// Runs `script` as a condition: `set -e` does not apply inside.
    pub fn run_condition(&mut self, script: &Script) -> i32 {
        self.condition_depth += 1;
        self.run_script(script);
        self.condition_depth -= 1;
        self.status
    }

    /// `list &`: a child shell runs it; `$!` is its id.
    fn run_background(&mut self, list: &AndOr) -> i32 {
        let fds = self.fds.clone();
        match child::spawn(self, &list.source, &fds) {
            Ok(pid) => {
                self.last_background = Some(pid);
                self.background.push(pid);
                0
            }
            Err(status) => status,
        }
    }

    /// The status, and whether `set -e` looks at it (the last pipeline
    /// ran and was not negated).
    fn run_and_or(&mut self, list: &AndOr) -> (i32, bool) {
        let mut status = self.run_pipeline_checked(&list.first, !list.rest.is_empty());
        let mut checked = list.rest.is_empty() && !list.first.negated;
        for (index, (connector, pipeline)) in list.rest.iter().enumerate() {
            if self.exit_request.is_some() || self.flow.is_some() {
                break;
            }
            let run = match connector {
                Connector::And => status == 0,
                Connector::Or => status != 0,
            };
            if run {
                self.status = status;
                let last = index + 1 == list.rest.len();
                status = self.run_pipeline_checked(pipeline, !last);
                checked = last && !pipeline.negated;
            }
        }
        (status, checked)
    }

    /// A pipeline; `condition`: its status decides what runs next, so
    /// `set -e` does not apply inside it.
    fn run_pipeline_checked(&mut self, pipeline: &Pipeline, condition: bool) -> i32 {
        let condition = condition || pipeline.negated;
        if condition {
            self.condition_depth += 1;
        }
        let status = match pipeline.commands.as_slice() {
            [command] => self.run_command(command),
            commands => self.run_several(commands, &pipeline.sources),
        };
        if condition {
            self.condition_depth -= 1;
        }
        if pipeline.negated {
            i32::from(status == 0)
        } else {
            status
        }
    }

    /// One command, in the shell.
    pub fn run_command(&mut self, command: &Command) -> i32 {
        match command {
            Command::Simple(simple) => self.run_simple(simple),
            Command::Compound(compound, redirections) => {
                let base = self.fds.clone();
                let (fds, opened) = match self.open_redirections(redirections, base.clone()) {
                    Ok(opened) => opened,
                    Err(status) => return status,
                };
                self.fds = fds;
                let status = self.run_compound(compound);
                self.fds = base;
                close_all(&opened);
                status
            }
            Command::Function(definition) => {
                self.functions
                    .insert(definition.name.clone(), Rc::new(definition.clone()));
                0
            }
        }
    }

    fn run_compound(&mut self, compound: &CompoundCommand) -> i32 {
        match compound {
            CompoundCommand::Group(body) => {
                self.run_script(body);
                self.status
            }
            CompoundCommand::Subshell { source, .. } => {
                let fds = self.fds.clone();
                match child::spawn(self, source, &fds) {
                    Ok(pid) => self.wait_all(&[(Ok(pid), b"sh".to_vec())]),
                    Err(status) => status,
                }
            }
            CompoundCommand::If {
                branches,
                otherwise,
            } => {
                for (condition, body) in branches {
                    let status = self.run_condition(condition);
                    if self.flow.is_some() || self.exit_request.is_some() {
                        return status;
                    }
                    if status == 0 {
                        self.run_script(body);
                        return self.status;
                    }
                }
                match otherwise {
                    Some(body) => {
                        self.run_script(body);
                        self.status
                    }
                    None => 0,
                }
            }
            CompoundCommand::Loop {
                until,
                condition,
                body,
            } => {
                let mut status = 0;
                self.loop_depth += 1;
                loop {
                    let tested = self.run_condition(condition);
                    if self.flow.is_some() || self.exit_request.is_some() {
                        if self.end_of_iteration() {
                            break;
                        }
                        continue;
                    }
                    if (tested == 0) == *until {
                        break;
                    }
                    self.run_script(body);
                    status = self.status;
                    if self.end_of_iteration() {
                        break;
                    }
                }
                self.loop_depth -= 1;
                status
            }
            CompoundCommand::For { name, words, body } => {
                let items = match words {
                    Some(words) => match self.expand_words(words) {
                        Ok(items) => items,
                        Err(status) => return status,
                    },
                    None => sh_syntax::Variables::arguments(self),
                };
                let mut status = 0;
                self.loop_depth += 1;
                for item in items {
                    self.set_variable(name, item);
                    self.run_script(body);
                    status = self.status;
                    if self.end_of_iteration() {
                        break;
                    }
                }
                self.loop_depth -= 1;
                status
            }
            CompoundCommand::Case { word, items } => {
                let subject = match expand_joined(word, self) {
                    Ok(subject) => subject,
                    Err(error) => return self.expansion_failed(&error),
                };
                for item in items {
                    for pattern_word in &item.patterns {
                        let pattern = match expand_pattern(pattern_word, self) {
                            Ok(pattern) => pattern,
                            Err(error) => return self.expansion_failed(&error),
                        };
                        if pattern::matches(&pattern, &subject) {
                            self.status = 0;
                            self.run_script(&item.body);
                            return self.status;
                        }
                    }
                }
                0
            }
        }
    }

    /// After a loop body: whether the loop ends, consuming a `break` or
    /// `continue` aimed at it.
    fn end_of_iteration(&mut self) -> bool {
        // A loop of builtins runs no program Ctrl-C could end: the login
        // shell asks the kernel whether Ctrl-C was typed.
        if self.interactive && syscall::take_interrupt() {
            self.interrupted();
        }
        if self.exit_request.is_some() {
            return true;
        }
        match self.flow {
            None => false,
            Some(Flow::Break(1)) => {
                self.flow = None;
                true
            }
            Some(Flow::Break(count)) => {
                self.flow = Some(Flow::Break(count - 1));
                true
            }
            Some(Flow::Continue(1)) => {
                self.flow = None;
                false
            }
            Some(Flow::Continue(count)) => {
                self.flow = Some(Flow::Continue(count - 1));
                true
            }
            Some(Flow::Return | Flow::Abandon) => true,
        }
    }

    /// Reports an expansion error; a shell that is not interactive ends
    /// (status 2), an interactive one abandons the line.
    pub fn expansion_failed(&mut self, error: &ExpansionError) -> i32 {
        self.error(format_args!("{error}"));
        if self.interactive {
            self.status = USAGE;
            self.flow = Some(Flow::Abandon);
        } else {
            self.exit_request = Some(USAGE);
        }
        USAGE
    }

    /// The fields of `words`.
    ///
    /// Return values: the status after an expansion error (reported).
    pub fn expand_words(&mut self, words: &[Word]) -> Result<Vec<Vec<u8>>, i32> {
        let mut fields = Vec::new();
        for word in words {
            match expand(word, self) {
                Ok(more) => fields.extend(more),
                Err(error) => return Err(self.expansion_failed(&error)),
            }
        }
        Ok(fields)
    }

    fn run_simple(&mut self, command: &SimpleCommand) -> i32 {
        self.status_from_substitution = None;
        let fds = self.fds.clone();
        let prepared = match self.prepare(command, fds) {
            Ok(prepared) => prepared,
            Err(status) => return status,
        };
        if self.options.trace {
            self.trace(&prepared);
        }
        let status = match prepared.words.first() {
            None => {
                for (name, value) in &prepared.assignments {
                    self.set_variable(name, value.clone());
                }
                // `X=$(cmd)`: the status is the substitution's.
                self.status_from_substitution.unwrap_or(0)
            }
            Some(name) => {
                if let Some(function) = self.functions.get(name).cloned() {
                    let fds = core::mem::replace(&mut self.fds, prepared.fds.clone());
                    let status = self.call_function(&function.body, &prepared.words[1..]);
                    self.fds = fds;
                    status
                } else {
                    self.run_named(&prepared)
                }
            }
        };
        // What `exec 3>f` made the shell's own stays open; anything else
        // opened for the command is closed (a new descriptor is never
        // one the table already held, so nothing else is kept).
        let closing: Vec<Fd> = prepared
            .opened
            .iter()
            .copied()
            .filter(|fd| !self.fds.holds(*fd))
            .collect();
        close_all(&closing);
        status
    }

    /// A builtin or a program (no function lookup: `command NAME`).
    pub fn run_named(&mut self, prepared: &Prepared) -> i32 {
        let name = &prepared.words[0];
        match Builtin::find(name) {
            Some(builtin) => {
                // `IFS= read line`: assignments hold while the builtin
                // runs (special builtins keep them, as POSIX says).
                let saved: Vec<_> = if builtin.is_special() {
                    Vec::new()
                } else {
                    prepared
                        .assignments
                        .iter()
                        .map(|(name, _)| (name.clone(), self.saved_variable(name)))
                        .collect()
                };
                for (name, value) in &prepared.assignments {
                    self.set_variable(name, value.clone());
                }
                let status = builtin.run(self, prepared);
                for (name, value) in saved {
                    self.restore_variable(&name, value);
                }
                status
            }
            None => match self.spawn_program(prepared) {
                Ok(pid) => self.wait_all(&[(Ok(pid), name.clone())]),
                Err(status) => status,
            },
        }
    }

    /// Runs a function's body with `arguments` as `$1`….
    pub fn call_function(&mut self, body: &Command, arguments: &[Vec<u8>]) -> i32 {
        let mut positional = alloc::vec![self.arguments.first().cloned().unwrap_or_default()];
        positional.extend_from_slice(arguments);
        let saved = core::mem::replace(&mut self.arguments, positional);
        self.function_depth += 1;
        self.locals.push(Vec::new());
        let mut status = self.run_command(body);
        for (name, value) in self.locals.pop().unwrap_or_default() {
            self.restore_variable(&name, value);
        }
        self.function_depth -= 1;
        if self.flow == Some(Flow::Return) {
            self.flow = None;
            status = self.status;
        }
        self.arguments = saved;
        status
    }

    /// `+ WORD…` on standard error (`set -x`), the words as dash shows
    /// them: expanded, unquoted.
    fn trace(&self, prepared: &Prepared) {
        let mut line = b"+".to_vec();
        for (name, value) in &prepared.assignments {
            line.push(b' ');
            line.extend_from_slice(name);
            line.push(b'=');
            line.extend_from_slice(value);
        }
        for word in &prepared.words {
            line.push(b' ');
            line.extend_from_slice(word);
        }
        line.push(b'\n');
        write_bytes(self.fds.error(), &line);
    }

    /// `A | B | …`: every member started, then all waited for.
    fn run_several(&mut self, commands: &[Command], sources: &[Vec<u8>]) -> i32 {
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
            let mut fds = self.fds.clone();
            if let Some(read_end) = input {
                fds.set(0, read_end);
            }
            if let Some([_, write_end]) = pipe {
                fds.set(1, write_end);
            }
            let source = sources.get(index).map(Vec::as_slice).unwrap_or_default();
            members.push(self.start_member(command, source, fds));
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

    /// Starts one member of a longer pipeline: a program directly,
    /// anything else in a child shell.
    fn start_member(
        &mut self,
        command: &Command,
        source: &[u8],
        fds: FdTable,
    ) -> (Result<ProcessId, i32>, Vec<u8>) {
        if let Command::Simple(simple) = command {
            let is_program = simple.words.first().is_some_and(|word| {
                word.as_plain_literal().is_some_and(|name| {
                    Builtin::find(name).is_none() && !self.functions.contains_key(name)
                })
            });
            if is_program {
                return match self.prepare(simple, fds) {
                    Ok(prepared) => {
                        let name = prepared.words.first().cloned().unwrap_or_default();
                        let started = if name.is_empty() {
                            Err(0)
                        } else {
                            self.spawn_program(&prepared)
                        };
                        close_all(&prepared.opened);
                        (started, name)
                    }
                    Err(status) => (Err(status), Vec::new()),
                };
            }
        }
        (child::spawn(self, source, &fds), b"sh".to_vec())
    }

    /// Expands `command`'s words and assignments and opens its
    /// redirections over `fds`.
    ///
    /// Return values: the status to give the command if an expansion or
    /// a redirection failed (the error is printed).
    fn prepare(&mut self, command: &SimpleCommand, fds: FdTable) -> Result<Prepared, i32> {
        let mut assignments = Vec::new();
        for assignment in &command.assignments {
            match expand_joined(&assignment.value, self) {
                Ok(value) => assignments.push((assignment.name.clone(), value)),
                Err(error) => return Err(self.expansion_failed(&error)),
            }
        }
        let words = self.expand_words(&command.words)?;
        let (fds, opened) = self.open_redirections(&command.redirections, fds)?;
        Ok(Prepared {
            words,
            assignments,
            fds,
            opened,
        })
    }

    /// Opens `redirections` over `fds`; returns the new table and what
    /// was opened for it (the caller closes those).
    ///
    /// Return values: 1 after a failed redirection (reported), 2 after an
    /// expansion error.
    pub fn open_redirections(
        &mut self,
        redirections: &[Redirection],
        mut fds: FdTable,
    ) -> Result<(FdTable, Vec<Fd>), i32> {
        let mut opened = Vec::new();
        for redirection in redirections {
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
                RedirectionKind::HereDocument(body) => {
                    let text = match expand_joined(body, self) {
                        Ok(text) => text,
                        Err(error) => {
                            close_all(&opened);
                            return Err(self.expansion_failed(&error));
                        }
                    };
                    match here_document(&text) {
                        Ok(fd) => {
                            opened.push(fd);
                            fds.set(redirection.fd, fd);
                        }
                        Err(errno) => {
                            print_to(fds.error(), format_args!("sh: here-document: {errno}\n"));
                            close_all(&opened);
                            return Err(1);
                        }
                    }
                    continue;
                }
            };
            let fields = match expand(target, self) {
                Ok(fields) => fields,
                Err(error) => {
                    close_all(&opened);
                    return Err(self.expansion_failed(&error));
                }
            };
            let opened_fd = match fields.as_slice() {
                [path] => syscall::open(path, flags, 0o644)
                    .map_err(|errno| format!("{}: {}", Text(path), errno.description())),
                _ => Err(format!("{}: ambiguous redirect", Text(&fields.join(&b' ')))),
            };
            match opened_fd {
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
        Ok((fds, opened))
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
        .map_err(|errno| report_not_started(name, errno, prepared.fds.error()))
    }

    /// Waits for every started member; the status is the last member's.
    /// A member the kernel ended is reported: a fault each time, `killed`
    /// (`kill`) or `interrupted` (Ctrl-C) once for the pipeline, a broken
    /// pipe never. After `interrupted`, the shell acts on Ctrl-C
    /// ([`Shell::interrupted`]).
    pub fn wait_all(&mut self, members: &[(Result<ProcessId, i32>, Vec<u8>)]) -> i32 {
        let mut status = 0;
        let mut ended: Option<(&[u8], u8)> = None;
        for (started, name) in members {
            status = match started {
                Err(status) => *status,
                Ok(pid) => match syscall::wait(*pid) {
                    Ok((_, WaitStatus::Exited(code))) => i32::from(code),
                    Ok((_, WaitStatus::Killed(reason))) => {
                        if reason == KILLED || reason == INTERRUPTED {
                            ended = Some((name, reason));
                        } else if reason == BROKEN_PIPE {
                            // A writer whose reader is gone (`grep … |
                            // head -1`): what a pipeline expects, said
                            // by no shell.
                        } else {
                            self.report_ended(name, reason);
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
        match ended {
            Some((name, INTERRUPTED)) => {
                // An `INT` trap stands for the report.
                if !self.traps.contains_key(&b"INT"[..]) {
                    self.report_ended(name, INTERRUPTED);
                }
                self.status = status;
                self.interrupted();
            }
            Some((name, reason)) => self.report_ended(name, reason),
            None => {}
        }
        status
    }

    /// `sh: NAME: killed` and the like.
    fn report_ended(&self, name: &[u8], reason: u8) {
        self.error(format_args!(
            "{}: {}",
            Text(name),
            WaitStatus::reason_name(reason)
        ));
    }

    /// Ctrl-C reached this shell: a command it waited for ended
    /// `interrupted`, or (the login shell, busy with its own commands)
    /// the kernel says so. As a shell does on `SIGINT`: an `INT` trap's
    /// action runs and the shell goes on; an ignored `INT` changes
    /// nothing; otherwise an interactive shell abandons the rest of the
    /// command line (status 130) and any other shell ends with 130.
    pub fn interrupted(&mut self) {
        match self.traps.get(&b"INT"[..]).cloned() {
            Some(action) if !action.is_empty() => {
                self.run_text(&action);
            }
            Some(_) => {}
            None => {
                self.status = INTERRUPTED_STATUS;
                if self.interactive {
                    self.flow = Some(Flow::Abandon);
                } else {
                    self.exit_request = Some(INTERRUPTED_STATUS);
                }
            }
        }
    }

    /// Parses and runs `text` in this shell (`eval`, traps, `.`).
    pub fn run_text(&mut self, text: &[u8]) -> i32 {
        match sh_syntax::parse(text) {
            Ok(script) => {
                self.run_script(&script);
                self.status
            }
            Err(error) => {
                self.error(format_args!("syntax error: {error}"));
                if !self.interactive {
                    self.exit_request = Some(USAGE);
                }
                USAGE
            }
        }
    }
}

/// A pipe holding `text`, closed for writing: the read end.
///
/// Return values: the `pipe` or `write` error. A body larger than a
/// pipe holds (64 KiB) is refused with `EFBIG` rather than blocking the
/// shell on a pipe nobody reads yet.
fn here_document(text: &[u8]) -> Result<Fd, Errno> {
    if text.len() > 64 * 1024 {
        return Err(Errno::FileTooLarge);
    }
    let [read_end, write_end] = syscall::pipe()?;
    let written = syscall::write_all(write_end, text);
    let _ = syscall::close(write_end);
    match written {
        Ok(()) => Ok(read_end),
        Err(errno) => {
            let _ = syscall::close(read_end);
            Err(errno)
        }
    }
}

/// Prints why `name` did not start; returns its status.
pub fn report_not_started(name: &[u8], errno: Errno, error_fd: Fd) -> i32 {
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
