// SPDX-License-Identifier: MIT OR Apache-2.0
//! The builtins: commands that act on the shell itself, so they cannot be
//! programs (DESIGN §7: `cd`, `exit`, `poweroff`, `dots`, `xchroot`), plus
//! `pwd`, `export`, `unset`, `exec`, `help` and `:`; the language's own
//! (`set`, `read`, `trap`, …) are in `language`, `test` in `condition`,
//! `printf` in `printf`.
//!
//! Alone in a pipeline a builtin runs inside the shell, its input and
//! output where the command's redirections say ([`FdTable`]); in a longer
//! pipeline a child shell runs it (see `execute` and `child`).

use crate::execute::{report_not_started, Prepared};
use crate::fds::FdTable;
use crate::shell::{current_directory, Shell, NOT_RUNNABLE, SHELL_PATH, USAGE};
use crate::text::{print_to, write_bytes, Text};
use crate::{condition, dots, language, printf};
use alloc::vec::Vec;
use manux_runtime::abi::session::POWER_OFF_REQUEST;
use manux_runtime::abi::{AccessMode, LimitValue, OpenFlags, XchrootKind, XchrootOperation};
use manux_runtime::syscall::{self, Fd};
use manux_runtime::Errno;
use sh_syntax::quote::quote_words;
use sh_syntax::xchroot::{parse_request, Directory, Mode, Operation};
use sh_syntax::{is_name, quote, Variables};

/// A builtin command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Builtin {
    /// `cd [DIR|-]`
    ChangeDirectory,
    /// `pwd`
    PrintDirectory,
    /// `exit [N]`
    Exit,
    /// `export [NAME[=VALUE]…]`
    Export,
    /// `unset NAME…`
    Unset,
    /// `poweroff`
    PowerOff,
    /// `exec COMMAND [ARGUMENT…]`
    Exec,
    /// `dots`
    Dots,
    /// `xchroot CLAUSE… [-- COMMAND…]`
    Xchroot,
    /// `ulimit [-m KIB] [-p N]`
    Limits,
    /// `help`
    Help,
    /// `:`
    Nothing,
    /// `true`
    True,
    /// `false`
    False,
    /// `echo [-n] ARGUMENT…`
    Echo,
    /// `printf FORMAT [ARGUMENT…]`
    Printf,
    /// `test EXPRESSION`
    Test,
    /// `[ EXPRESSION ]`
    Bracket,
    /// `set [-eux] [--] [ARGUMENT…]`
    Set,
    /// `shift [N]`
    Shift,
    /// `read [-r] NAME…`
    Read,
    /// `eval ARGUMENT…`
    Eval,
    /// `. FILE`
    Dot,
    /// `type NAME…`
    Type,
    /// `command [-v|-V] NAME…`
    Command,
    /// `trap [ACTION CONDITION…]`
    Trap,
    /// `wait [PID…]`
    Wait,
    /// `return [N]`
    Return,
    /// `break [N]`
    Break,
    /// `continue [N]`
    Continue,
    /// `local NAME[=VALUE]…`
    Local,
    /// `getopts OPTSTRING NAME [ARGUMENT…]`
    Getopts,
    /// `readonly [NAME[=VALUE]…]`
    Readonly,
    /// `kill [-s NAME] PID…`
    Kill,
}

const ALL: [(&str, Builtin, &str); 34] = [
    (
        "cd",
        Builtin::ChangeDirectory,
        "cd [DIR|-]         change directory (default $HOME)",
    ),
    (
        "pwd",
        Builtin::PrintDirectory,
        "pwd                print the current directory",
    ),
    (
        "exit",
        Builtin::Exit,
        "exit [N]           end the shell with status N (default $?)",
    ),
    (
        "export",
        Builtin::Export,
        "export [NAME[=V]]  pass NAME to commands; alone: list what is passed",
    ),
    (
        "unset",
        Builtin::Unset,
        "unset [-v|-f] NAME...  forget variables (-f: functions)",
    ),
    (
        "poweroff",
        Builtin::PowerOff,
        "poweroff           end the session and power off (init does it)",
    ),
    (
        "exec",
        Builtin::Exec,
        "exec CMD [ARG...]  replace the shell with CMD",
    ),
    (
        "dots",
        Builtin::Dots,
        "dots               list this shell's /... with access modes",
    ),
    (
        "xchroot",
        Builtin::Xchroot,
        "xchroot OPS [-- CMD...]  change /... and the root (see apps/sh/README.md)",
    ),
    (
        "ulimit",
        Builtin::Limits,
        "ulimit [-m KIB] [-p N]  show limits; set those of the commands started next (0: default)",
    ),
    ("help", Builtin::Help, "help               this list"),
    (
        ":",
        Builtin::Nothing,
        ":                  do nothing, successfully",
    ),
    ("true", Builtin::True, "true               status 0"),
    ("false", Builtin::False, "false              status 1"),
    (
        "echo",
        Builtin::Echo,
        "echo [-n] ARG...   print the arguments (\\ escapes expanded)",
    ),
    (
        "printf",
        Builtin::Printf,
        "printf FMT [ARG...]  formatted output",
    ),
    (
        "test",
        Builtin::Test,
        "test EXPR          evaluate a condition",
    ),
    (
        "[",
        Builtin::Bracket,
        "[ EXPR ]           evaluate a condition",
    ),
    (
        "set",
        Builtin::Set,
        "set [-eux] [--] [ARG...]  options; positional parameters; alone: variables",
    ),
    (
        "shift",
        Builtin::Shift,
        "shift [N]          drop positional parameters",
    ),
    (
        "read",
        Builtin::Read,
        "read [-r] NAME...  read a line into variables",
    ),
    (
        "eval",
        Builtin::Eval,
        "eval ARG...        run the arguments as shell text",
    ),
    (
        ".",
        Builtin::Dot,
        ". FILE             run FILE in this shell",
    ),
    (
        "type",
        Builtin::Type,
        "type NAME...       what each name runs",
    ),
    (
        "command",
        Builtin::Command,
        "command [-v|-V] NAME [ARG...]  run or describe NAME, never a function",
    ),
    (
        "trap",
        Builtin::Trap,
        "trap [ACTION COND...]  run ACTION on EXIT or INT; alone: list",
    ),
    (
        "wait",
        Builtin::Wait,
        "wait [PID...]      wait for background jobs",
    ),
    (
        "return",
        Builtin::Return,
        "return [N]         leave a function",
    ),
    ("break", Builtin::Break, "break [N]          leave N loops"),
    (
        "continue",
        Builtin::Continue,
        "continue [N]       next iteration of the Nth loop",
    ),
    (
        "kill",
        Builtin::Kill,
        "kill [-s SIG] PID...  end processes (descendants of this shell)",
    ),
    (
        "readonly",
        Builtin::Readonly,
        "readonly [NAME[=V]]  make NAME unchangeable; alone: list them",
    ),
    (
        "getopts",
        Builtin::Getopts,
        "getopts OPTS NAME [ARG...]  next option into NAME (OPTARG, OPTIND)",
    ),
    (
        "local",
        Builtin::Local,
        "local NAME[=V]...  variables restored when the function ends",
    ),
];

impl Builtin {
    /// The builtin called `name`, if any.
    pub fn find(name: &[u8]) -> Option<Builtin> {
        ALL.iter()
            .find(|(found, _, _)| found.as_bytes() == name)
            .map(|(_, builtin, _)| *builtin)
    }

    /// POSIX's special builtins: assignments before them stay, and
    /// `type` says so.
    pub fn is_special(self) -> bool {
        matches!(
            self,
            Builtin::Nothing
                | Builtin::Dot
                | Builtin::Break
                | Builtin::Continue
                | Builtin::Eval
                | Builtin::Exec
                | Builtin::Exit
                | Builtin::Export
                | Builtin::Return
                | Builtin::Set
                | Builtin::Shift
                | Builtin::Trap
                | Builtin::Unset
                | Builtin::Readonly
        )
    }

    /// Runs it in the shell; returns its status.
    pub fn run(self, shell: &mut Shell, prepared: &Prepared) -> i32 {
        let arguments = &prepared.words[1..];
        let fds = &prepared.fds;
        match self {
            Builtin::ChangeDirectory => change_directory(shell, arguments, fds),
            Builtin::PrintDirectory => match current_directory() {
                Some(mut directory) => {
                    directory.push(b'\n');
                    write_bytes(fds.output(), &directory);
                    0
                }
                None => {
                    print_to(fds.error(), format_args!("sh: pwd: cannot tell\n"));
                    1
                }
            },
            Builtin::Exit => exit(shell, arguments, fds),
            Builtin::Export => export(shell, arguments, fds),
            Builtin::Unset => {
                let (functions, names) = match arguments.first().map(Vec::as_slice) {
                    Some(b"-f") => (true, &arguments[1..]),
                    Some(b"-v") => (false, &arguments[1..]),
                    _ => (false, arguments),
                };
                let mut status = 0;
                for name in names {
                    if functions {
                        shell.functions.remove(name);
                    } else if !shell.unset(name) {
                        print_to(
                            fds.error(),
                            format_args!("sh: unset: {}: is read only\n", Text(name)),
                        );
                        status = 1;
                    }
                }
                status
            }
            Builtin::PowerOff => power_off(shell),
            Builtin::Exec => exec(shell, prepared),
            Builtin::Dots => dots::list(fds),
            Builtin::Xchroot => xchroot(shell, prepared),
            Builtin::Limits => limits(arguments, fds),
            Builtin::Help => {
                for (_, _, usage) in ALL {
                    print_to(fds.output(), format_args!("{usage}\n"));
                }
                0
            }
            Builtin::Nothing | Builtin::True => 0,
            Builtin::False => 1,
            Builtin::Echo => language::echo(arguments, prepared),
            Builtin::Printf => printf::printf(arguments, fds.output(), fds.error()),
            Builtin::Test => condition::test(arguments, false, fds.error()),
            Builtin::Bracket => condition::test(arguments, true, fds.error()),
            Builtin::Set => language::set(shell, arguments, prepared),
            Builtin::Shift => language::shift(shell, arguments, prepared),
            Builtin::Read => language::read(shell, arguments, prepared),
            Builtin::Eval => language::eval(shell, arguments),
            Builtin::Dot => language::dot(shell, arguments, prepared),
            Builtin::Type => language::type_of(shell, arguments, prepared),
            Builtin::Command => language::command(shell, arguments, prepared),
            Builtin::Trap => language::trap(shell, arguments, prepared),
            Builtin::Wait => language::wait(shell, arguments),
            Builtin::Return | Builtin::Break | Builtin::Continue => {
                language::flow(shell, self, arguments, prepared)
            }
            Builtin::Local => language::local(shell, arguments, prepared),
            Builtin::Getopts => language::getopts(shell, arguments, prepared),
            Builtin::Readonly => readonly(shell, arguments, fds),
            Builtin::Kill => language::kill(arguments, prepared),
        }
    }
}

fn change_directory(shell: &mut Shell, arguments: &[Vec<u8>], fds: &FdTable) -> i32 {
    let (target, show) = match arguments {
        [] => match shell.get(b"HOME") {
            Some(home) => (home, false),
            None => {
                print_to(fds.error(), format_args!("sh: cd: HOME not set\n"));
                return 1;
            }
        },
        [dash] if dash == b"-" => match shell.get(b"OLDPWD") {
            Some(old) => (old, true),
            None => {
                print_to(fds.error(), format_args!("sh: cd: OLDPWD not set\n"));
                return 1;
            }
        },
        [directory] => (directory.clone(), false),
        _ => {
            print_to(fds.error(), format_args!("sh: cd: too many arguments\n"));
            return USAGE;
        }
    };
    if let Err(errno) = syscall::change_directory(&target) {
        print_to(
            fds.error(),
            format_args!("sh: cd: {}: {}\n", Text(&target), errno.description()),
        );
        return 1;
    }
    if let Some(old) = shell.get(b"PWD") {
        shell.set_variable(b"OLDPWD", old);
    }
    if let Some(mut directory) = current_directory() {
        shell.set_variable(b"PWD", directory.clone());
        if show {
            directory.push(b'\n');
            write_bytes(fds.output(), &directory);
        }
    }
    0
}

fn exit(shell: &mut Shell, arguments: &[Vec<u8>], fds: &FdTable) -> i32 {
    let status = match arguments {
        [] => shell.status,
        [number] => match core::str::from_utf8(number)
            .ok()
            .and_then(|text| text.parse::<i64>().ok())
        {
            Some(value) => (value & 0xff) as i32,
            None => {
                print_to(
                    fds.error(),
                    format_args!("sh: exit: {}: numeric argument required\n", Text(number)),
                );
                USAGE
            }
        },
        _ => {
            print_to(fds.error(), format_args!("sh: exit: too many arguments\n"));
            return USAGE;
        }
    };
    shell.exit_request = Some(status);
    status
}

fn export(shell: &mut Shell, arguments: &[Vec<u8>], fds: &FdTable) -> i32 {
    if arguments.is_empty() {
        for (name, value) in shell.exported() {
            let mut line = b"export ".to_vec();
            line.extend_from_slice(&name);
            line.push(b'=');
            line.extend_from_slice(&quote(&value));
            line.push(b'\n');
            write_bytes(fds.output(), &line);
        }
        return 0;
    }
    let mut status = 0;
    for argument in arguments {
        let (name, value) = language::name_and_value(argument);
        if !is_name(name) {
            print_to(
                fds.error(),
                format_args!("sh: export: `{}': not a valid name\n", Text(argument)),
            );
            status = 1;
            continue;
        }
        if let Some(value) = value {
            shell.set_variable(name, value.to_vec());
        }
        shell.export(name);
    }
    status
}

/// `readonly [NAME[=VALUE]…]`: alone, `readonly NAME='value'` for each.
fn readonly(shell: &mut Shell, arguments: &[Vec<u8>], fds: &FdTable) -> i32 {
    if arguments.is_empty() {
        let mut out = Vec::new();
        for (name, variable) in shell.all_variables() {
            if variable.readonly {
                out.extend_from_slice(b"readonly ");
                out.extend_from_slice(name);
                if let Some(value) = &variable.value {
                    out.push(b'=');
                    out.extend_from_slice(&crate::language::always_quoted(value));
                }
                out.push(b'\n');
            }
        }
        write_bytes(fds.output(), &out);
        return 0;
    }
    for argument in arguments {
        let (name, value) = language::name_and_value(argument);
        if !is_name(name) {
            print_to(
                fds.error(),
                format_args!("sh: readonly: {}: bad variable name\n", Text(name)),
            );
            return USAGE;
        }
        if let Some(value) = value {
            shell.set_variable(name, value.to_vec());
        }
        shell.make_readonly(name);
    }
    0
}

/// `poweroff`: as init (`init=/bin/sh`), sync and power off; as the login
/// shell, end with the status that asks init to (`manux_abi::session`).
fn power_off(shell: &mut Shell) -> i32 {
    if syscall::process_id() == 1 {
        let _ = syscall::sync();
        let errno = syscall::power_off(0);
        shell.error(format_args!("poweroff: {errno}"));
        return 1;
    }
    let status = i32::from(POWER_OFF_REQUEST);
    shell.exit_request = Some(status);
    status
}

/// `exec COMMAND [ARGUMENT…]`: `execve`, with the command's redirections
/// made the process's own descriptors first.
fn exec(shell: &mut Shell, prepared: &Prepared) -> i32 {
    let words = &prepared.words[1..];
    let Some(name) = words.first() else {
        // No command: the redirections become the shell's own
        // descriptors (`exec >log 2>&1`, `exec 3<f`).
        return match prepared.fds.apply_to_shell(&shell.fds) {
            Ok(table) => {
                shell.fds = table;
                0
            }
            Err(errno) => {
                shell.error(format_args!("exec: {errno}"));
                1
            }
        };
    };
    let environment = shell.environment(&prepared.assignments);
    let environment: Vec<&[u8]> = environment.iter().map(Vec::as_slice).collect();
    let arguments: Vec<&[u8]> = words.iter().map(Vec::as_slice).collect();
    if let Err(errno) = prepared.fds.install() {
        shell.error(format_args!("exec: {errno}"));
        return NOT_RUNNABLE;
    }
    let result: Result<(), Errno> = shell.search(name, |path| {
        Err(syscall::execute(path, &arguments, &environment))
    });
    // Only failures come back; the descriptors are now 0, 1, 2 as mapped.
    let errno = result.err().unwrap_or(Errno::Unknown);
    report_not_started(name, errno, 2)
}

/// `xchroot CLAUSE… [-- COMMAND…]`.
///
/// Without a command the operations change the shell's own domain (one
/// `xchroot()` call, all or nothing). With one, the shell spawns
/// `/bin/sh -c 'xchroot CLAUSE… && exec COMMAND…'` (the words quoted):
/// the helper changes its own domain — the shell's stays as it is — and
/// becomes the command. Manux has no `fork`; a helper shell is how a
/// command gets a domain its caller does not have.
fn xchroot(shell: &mut Shell, prepared: &Prepared) -> i32 {
    let words = &prepared.words[1..];
    let fds = &prepared.fds;
    let request = match parse_request(words) {
        Ok(request) => request,
        Err(error) => {
            print_to(fds.error(), format_args!("sh: xchroot: {error}\n"));
            return USAGE;
        }
    };
    if !request.command.is_empty() {
        let separator = words
            .iter()
            .position(|word| word == b"--")
            .unwrap_or(words.len());
        let mut line = b"xchroot ".to_vec();
        line.extend_from_slice(&quote_words(&words[..separator]));
        line.extend_from_slice(b" && exec ");
        line.extend_from_slice(&quote_words(&request.command));
        return match spawn_helper(shell, &line, fds, &prepared.assignments) {
            Ok(pid) => shell.wait_all(&[(Ok(pid), request.command[0].clone())]),
            Err(status) => status,
        };
    }
    match apply(&request.operations) {
        Ok(()) => {
            if let Some(directory) = current_directory() {
                shell.set_variable(b"PWD", directory);
            }
            0
        }
        Err((errno, what)) => {
            print_to(
                fds.error(),
                format_args!("sh: xchroot: {}{}\n", Text(&what), errno.description()),
            );
            1
        }
    }
}

/// Spawns `/bin/sh -c LINE` with `fds`.
fn spawn_helper(
    shell: &Shell,
    line: &[u8],
    fds: &FdTable,
    assignments: &[(Vec<u8>, Vec<u8>)],
) -> Result<manux_runtime::syscall::ProcessId, i32> {
    let environment = shell.environment(assignments);
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

fn access_mode(mode: Mode) -> u32 {
    match mode {
        Mode::ReadOnly => AccessMode::ReadOnly as u32,
        Mode::ReadWrite => AccessMode::ReadWrite as u32,
    }
}

fn address(bytes: &[u8]) -> u64 {
    bytes.as_ptr() as usize as u64
}

/// Makes the one `xchroot()` call. Directories named by path in `keep`
/// clauses are opened for it and closed after (the kernel put them in
/// `/...`; the shell has no use for the descriptor).
///
/// Return values: the errno, and a `PATH: ` prefix when opening a `keep`
/// directory failed.
fn apply(operations: &[Operation]) -> Result<(), (Errno, Vec<u8>)> {
    let mut opened: Vec<Fd> = Vec::new();
    let mut calls: Vec<XchrootOperation> = Vec::new();
    let mut failure = None;
    for operation in operations {
        let call = match operation {
            Operation::Put { path, name, mode } => XchrootOperation {
                kind: XchrootKind::PutPath as u32,
                mode: access_mode(*mode),
                path: address(path),
                path_length: path.len() as u64,
                name: address(name),
                name_length: name.len() as u64,
                ..XchrootOperation::default()
            },
            Operation::Keep {
                directory,
                name,
                mode,
            } => {
                let fd = match directory {
                    Directory::Fd(fd) => *fd,
                    Directory::Path(path) => match syscall::open(path, OpenFlags::DIRECTORY, 0) {
                        Ok(fd) => {
                            opened.push(fd);
                            fd
                        }
                        Err(errno) => {
                            let mut what = path.clone();
                            what.extend_from_slice(b": ");
                            failure = Some((errno, what));
                            break;
                        }
                    },
                };
                XchrootOperation {
                    kind: XchrootKind::KeepFd as u32,
                    mode: access_mode(*mode),
                    fd,
                    name: address(name),
                    name_length: name.len() as u64,
                    ..XchrootOperation::default()
                }
            }
            Operation::Remove { name } => XchrootOperation {
                kind: XchrootKind::Remove as u32,
                name: address(name),
                name_length: name.len() as u64,
                ..XchrootOperation::default()
            },
            Operation::Clear => XchrootOperation {
                kind: XchrootKind::RemoveAll as u32,
                ..XchrootOperation::default()
            },
            Operation::Root { path } => XchrootOperation {
                kind: XchrootKind::RootPath as u32,
                path: address(path),
                path_length: path.len() as u64,
                ..XchrootOperation::default()
            },
            Operation::RootExecutable => XchrootOperation {
                kind: XchrootKind::RootExecutable as u32,
                ..XchrootOperation::default()
            },
        };
        calls.push(call);
    }
    let result = match failure {
        Some(failure) => Err(failure),
        None => syscall::xchroot(&calls).map_err(|errno| (errno, Vec::new())),
    };
    for fd in opened {
        let _ = syscall::close(fd);
    }
    result
}

/// `ulimit`: alone, the shell's limits and what its tree holds; with
/// `-m KIB` and/or `-p N`, the limits of the process trees the commands
/// it starts next head (0: the default share of what is free).
fn limits(arguments: &[Vec<u8>], fds: &FdTable) -> i32 {
    if arguments.is_empty() {
        return match syscall::limits() {
            Ok(limits) => {
                print_to(
                    fds.output(),
                    format_args!(
                        "memory: {} of {} KiB\nprocesses: {} of {}\nopen files: {}\n",
                        limits.memory_used >> 10,
                        LimitValue(limits.memory, 10),
                        limits.processes_used,
                        LimitValue(limits.processes, 0),
                        limits.open_files
                    ),
                );
                0
            }
            Err(errno) => {
                print_to(fds.error(), format_args!("sh: ulimit: {errno}\n"));
                1
            }
        };
    }
    let (mut memory, mut processes) = (0u64, 0u64);
    let mut words = arguments.iter();
    while let Some(option) = words.next() {
        let value = words
            .next()
            .and_then(|word| core::str::from_utf8(word).ok())
            .and_then(|word| word.parse::<u64>().ok());
        match (option.as_slice(), value) {
            (b"-m", Some(kib)) => memory = kib.saturating_mul(1024),
            (b"-p", Some(count)) => processes = count,
            _ => {
                print_to(
                    fds.error(),
                    format_args!("sh: ulimit: usage: ulimit [-m KIB] [-p N]\n"),
                );
                return USAGE;
            }
        }
    }
    match syscall::set_tree_limits(memory, processes) {
        Ok(()) => 0,
        Err(errno) => {
            print_to(fds.error(), format_args!("sh: ulimit: {errno}\n"));
            1
        }
    }
}
