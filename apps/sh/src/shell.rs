// SPDX-License-Identifier: MIT OR Apache-2.0
//! The shell's state: variables, functions, options, positional
//! parameters, traps, background jobs, and the descriptors commands get.
//!
//! [`Shell`] is what a child shell must be given to behave as this one
//! would (see `child`): everything here but the open descriptors and the
//! background jobs. Running a parsed script is `execute`; this module
//! owns only the state and how expansion sees it ([`Variables`]):
//! special parameters, command substitution (a child shell), and the
//! directory listings pathname expansion reads.

use crate::fds::FdTable;
use crate::text::{concat, print_to};
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::rc::Rc;
use alloc::vec::Vec;
use manux_runtime::abi::directory_entry;
use manux_runtime::abi::OpenFlags;
use manux_runtime::syscall::{self, ProcessId};
use manux_runtime::Errno;
use sh_syntax::{FunctionDefinition, Script, Variables};

/// Status of a command not found.
pub const NOT_FOUND: i32 = 127;
/// Status of a command found but not runnable.
pub const NOT_RUNNABLE: i32 = 126;
/// Status of a syntax or usage error.
pub const USAGE: i32 = 2;
/// Status after Ctrl-C (128 + `SIGINT`'s number, as other shells say).
pub const INTERRUPTED_STATUS: i32 = 130;

/// Where the shell itself is, for the child shells it starts.
pub const SHELL_PATH: &[u8] = b"/bin/sh";

/// One shell variable.
#[derive(Clone, Debug, Default)]
pub struct Variable {
    /// `None`: exported but never set (`export NAME`).
    pub value: Option<Vec<u8>>,
    /// Passed to commands in their environment.
    pub exported: bool,
    /// `readonly`: no assignment or `unset` changes it.
    pub readonly: bool,
}

/// `set -e`, `set -u`, `set -x`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// `-e`: a failing command ends the shell.
    pub exit_on_error: bool,
    /// `-u`: expanding an unset variable is an error.
    pub unset_is_error: bool,
    /// `-x`: each command is printed before it runs.
    pub trace: bool,
}

impl Options {
    /// The letters of the options set, as `$-` shows them.
    pub fn letters(&self) -> Vec<u8> {
        let mut letters = Vec::new();
        if self.exit_on_error {
            letters.push(b'e');
        }
        if self.unset_is_error {
            letters.push(b'u');
        }
        if self.trace {
            letters.push(b'x');
        }
        letters
    }

    /// Sets (`on`) or clears the option `letter`; `false` if unknown.
    pub fn set(&mut self, letter: u8, on: bool) -> bool {
        match letter {
            b'e' => self.exit_on_error = on,
            b'u' => self.unset_is_error = on,
            b'x' => self.trace = on,
            _ => return false,
        }
        true
    }
}

/// A `break`, `continue` or `return` on its way out, or an error that
/// abandons the rest of the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    /// `break N`: leave N loops.
    Break(usize),
    /// `continue N`: leave N - 1 loops and go on with the next.
    Continue(usize),
    /// `return`: leave the function (or the `.` script).
    Return,
    /// An expansion error in an interactive shell: the rest of the line
    /// is not run.
    Abandon,
}

/// The shell.
pub struct Shell {
    variables: BTreeMap<Vec<u8>, Variable>,
    /// Functions by name.
    pub functions: BTreeMap<Vec<u8>, Rc<FunctionDefinition>>,
    /// `$?`.
    pub status: i32,
    /// `$0`, then `$1`, `$2`, ….
    pub arguments: Vec<Vec<u8>>,
    /// Set by `exit`: the shell ends with this status once the current
    /// command is done.
    pub exit_request: Option<i32>,
    /// `set -e/-u/-x`.
    pub options: Options,
    /// `trap` actions by condition (`EXIT`, `INT`); an empty action
    /// ignores it.
    pub traps: BTreeMap<Vec<u8>, Vec<u8>>,
    /// What is unwinding, if anything.
    pub flow: Option<Flow>,
    /// The descriptors commands get now (changed for the body of a
    /// compound command with redirections).
    pub fds: FdTable,
    /// `$$`: this shell's id, or its parent's for a child shell.
    pub process_id: ProcessId,
    /// `$!`.
    pub last_background: Option<ProcessId>,
    /// Background jobs not yet waited for.
    pub background: Vec<ProcessId>,
    /// Commands whose failure `set -e` ignores (conditions) are running.
    pub condition_depth: usize,
    /// Functions running (`return` is valid).
    pub function_depth: usize,
    /// Loops running (`break` and `continue` are valid).
    pub loop_depth: usize,
    /// Reading commands from a terminal: errors do not end the shell.
    pub interactive: bool,
    /// The status of the last command substitution of the command being
    /// expanded (`X=$(false)` has status 1).
    pub status_from_substitution: Option<i32>,
    /// For each function running, the variables `local` saved.
    pub locals: Vec<Vec<(Vec<u8>, Option<Variable>)>>,
    /// `getopts`: the `OPTIND` it last set, and how far into that
    /// argument (`-abc`) it got.
    pub getopts_position: Option<(usize, usize)>,
}

impl Variables for Shell {
    fn get(&self, name: &[u8]) -> Option<Vec<u8>> {
        match name {
            b"?" => Some(format!("{}", self.status).into_bytes()),
            b"$" => Some(format!("{}", self.process_id).into_bytes()),
            b"!" => self
                .last_background
                .map(|pid| format!("{pid}").into_bytes()),
            b"-" => Some(self.options.letters()),
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

    fn set(&mut self, name: &[u8], value: Vec<u8>) {
        // `${1:=x}`: positional and special parameters cannot be
        // assigned (dash refuses too); only names are variables.
        if sh_syntax::is_name(name) {
            self.set_variable(name, value);
        }
    }

    fn substitute(&mut self, _script: &Script, source: &[u8]) -> Vec<u8> {
        let (output, status) = crate::child::capture(self, source);
        self.status = status;
        self.status_from_substitution = Some(status);
        output
    }

    fn list_directory(&mut self, directory: &[u8]) -> Option<Vec<Vec<u8>>> {
        list_directory(directory)
    }

    fn unset_is_error(&self) -> bool {
        self.options.unset_is_error
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
                        readonly: false,
                    },
                );
            }
        }
        let mut shell = Shell {
            variables,
            functions: BTreeMap::new(),
            status: 0,
            arguments,
            exit_request: None,
            options: Options::default(),
            traps: BTreeMap::new(),
            flow: None,
            fds: FdTable::standard(),
            process_id: syscall::process_id(),
            last_background: None,
            background: Vec::new(),
            condition_depth: 0,
            function_depth: 0,
            loop_depth: 0,
            interactive: false,
            status_from_substitution: None,
            locals: Vec::new(),
            getopts_position: None,
        };
        if let Some(directory) = current_directory() {
            shell.set_variable(b"PWD", directory);
        }
        shell
    }

    /// Sets `name` (keeping whether it is exported). A read-only
    /// variable is not changed: the error is reported, and a shell that
    /// is not interactive ends (status 2), as dash does.
    pub fn set_variable(&mut self, name: &[u8], value: Vec<u8>) {
        let variable = self.variables.entry(name.to_vec()).or_default();
        if variable.readonly {
            self.error(format_args!("{}: is read only", crate::text::Text(name)));
            self.status = USAGE;
            if !self.interactive {
                self.exit_request = Some(USAGE);
            }
            return;
        }
        variable.value = Some(value);
    }

    /// Marks `name` read-only.
    pub fn make_readonly(&mut self, name: &[u8]) {
        self.variables.entry(name.to_vec()).or_default().readonly = true;
    }

    /// Marks `name` exported.
    pub fn export(&mut self, name: &[u8]) {
        self.variables.entry(name.to_vec()).or_default().exported = true;
    }

    /// Forgets `name`; `false` (nothing changed) if it is read-only.
    pub fn unset(&mut self, name: &[u8]) -> bool {
        if self
            .variables
            .get(name)
            .is_some_and(|variable| variable.readonly)
        {
            return false;
        }
        self.variables.remove(name);
        true
    }

    /// Every variable, sorted by name.
    pub fn all_variables(&self) -> impl Iterator<Item = (&Vec<u8>, &Variable)> {
        self.variables.iter()
    }

    /// The variable `name` as it is now (to restore it later).
    pub fn saved_variable(&self, name: &[u8]) -> Option<Variable> {
        self.variables.get(name).cloned()
    }

    /// Puts back what [`Shell::saved_variable`] returned.
    pub fn restore_variable(&mut self, name: &[u8], saved: Option<Variable>) {
        match saved {
            Some(variable) => {
                self.variables.insert(name.to_vec(), variable);
            }
            None => {
                self.variables.remove(name);
            }
        }
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

    /// `sh: MESSAGE` on the current standard error.
    pub fn error(&self, message: core::fmt::Arguments<'_>) {
        print_to(self.fds.error(), format_args!("sh: {message}\n"));
    }
}

/// The current directory, as `getcwd` gives it.
pub fn current_directory() -> Option<Vec<u8>> {
    let mut buffer = alloc::vec![0u8; manux_runtime::abi::limits::PATH_BYTES];
    let length = syscall::current_directory(&mut buffer).ok()?;
    buffer.truncate(length);
    Some(buffer)
}

/// The names in `directory` (without `.` and `..`), `None` if it cannot
/// be read.
pub fn list_directory(directory: &[u8]) -> Option<Vec<Vec<u8>>> {
    let fd = syscall::open(directory, OpenFlags::DIRECTORY, 0).ok()?;
    let mut names = Vec::new();
    let mut buffer = alloc::vec![0u8; 4096];
    let complete = loop {
        match syscall::read_directory(fd, &mut buffer) {
            Ok(0) => break true,
            Ok(count) => {
                for entry in directory_entry::records(&buffer[..count.min(buffer.len())]) {
                    if entry.name != b"." && entry.name != b".." {
                        names.push(entry.name.to_vec());
                    }
                }
            }
            Err(_) => break false,
        }
    };
    let _ = syscall::close(fd);
    complete.then_some(names)
}
