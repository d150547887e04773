// SPDX-License-Identifier: MIT OR Apache-2.0
//! The builtins of the shell language itself, as dash has them: `echo`,
//! `true`, `false`, `set`, `shift`, `read`, `eval`, `.`, `type`,
//! `command`, `trap`, `wait`, `return`, `break`, `continue`, `local`,
//! `getopts`, `kill`.
//!
//! They act on the [`Shell`] (its variables, positional parameters,
//! options, traps, control flow) and write where the command's
//! descriptors say ([`Prepared::fds`]); each returns its status. Messages
//! follow dash's wording after the `sh: ` prefix.

use crate::builtins::Builtin;
use crate::execute::{report_not_started, Prepared};
use crate::shell::{Flow, Shell, NOT_FOUND, USAGE};
use crate::text::{print_to, write_bytes, Text};
use alloc::vec::Vec;
use manux_runtime::abi::{OpenFlags, CURRENT_DIRECTORY};
use manux_runtime::syscall;
use sh_syntax::{is_name, Variables, KEYWORDS};

/// `echo [-n] ARGUMENT…`: dash's, which also expands `\` escapes.
pub fn echo(arguments: &[Vec<u8>], prepared: &Prepared) -> i32 {
    let (newline, words) = match arguments.split_first() {
        Some((first, rest)) if first == b"-n" => (false, rest),
        _ => (true, arguments),
    };
    let mut out = Vec::new();
    for (index, word) in words.iter().enumerate() {
        if index > 0 {
            out.push(b' ');
        }
        if crate::printf::expand_escapes(word, &mut out) {
            write_bytes(prepared.fds.output(), &out);
            return 0;
        }
    }
    if newline {
        out.push(b'\n');
    }
    write_bytes(prepared.fds.output(), &out);
    0
}

/// `set`: alone, every variable; `-e -u -x` (`+` clears); the rest, or
/// all after `--`, become the positional parameters.
pub fn set(shell: &mut Shell, arguments: &[Vec<u8>], prepared: &Prepared) -> i32 {
    if arguments.is_empty() {
        let mut out = Vec::new();
        for (name, variable) in shell.all_variables() {
            if let Some(value) = &variable.value {
                out.extend_from_slice(name);
                out.push(b'=');
                out.extend_from_slice(&always_quoted(value));
                out.push(b'\n');
            }
        }
        write_bytes(prepared.fds.output(), &out);
        return 0;
    }
    let mut index = 0;
    let mut replace = false;
    while let Some(argument) = arguments.get(index) {
        if argument == b"--" {
            index += 1;
            replace = true;
            break;
        }
        let on = match argument.first() {
            Some(b'-') => true,
            Some(b'+') => false,
            _ => break,
        };
        if argument.len() == 1 {
            index += 1;
            replace = true;
            break;
        }
        for &letter in &argument[1..] {
            if !shell.options.set(letter, on) {
                print_to(
                    prepared.fds.error(),
                    format_args!(
                        "sh: set: Illegal option {}{}\n",
                        if on { '-' } else { '+' },
                        char::from(letter)
                    ),
                );
                return USAGE;
            }
        }
        index += 1;
    }
    if replace || index < arguments.len() {
        let zero = shell.arguments.first().cloned().unwrap_or_default();
        shell.arguments = core::iter::once(zero)
            .chain(arguments[index..].iter().cloned())
            .collect();
    }
    0
}

/// `'value'` always quoted, as dash's `set` prints it.
pub fn always_quoted(value: &[u8]) -> Vec<u8> {
    let mut out = b"'".to_vec();
    for &byte in value {
        if byte == b'\'' {
            out.extend_from_slice(b"'\\''");
        } else {
            out.push(byte);
        }
    }
    out.push(b'\'');
    out
}

/// `shift [N]`.
pub fn shift(shell: &mut Shell, arguments: &[Vec<u8>], prepared: &Prepared) -> i32 {
    let count = match arguments.first() {
        None => 1,
        Some(text) => match parse_count(text) {
            Some(count) => count,
            None => {
                print_to(
                    prepared.fds.error(),
                    format_args!("sh: shift: Illegal number: {}\n", Text(text)),
                );
                return USAGE;
            }
        },
    };
    let available = shell.arguments.len().saturating_sub(1);
    if count > available {
        print_to(
            prepared.fds.error(),
            format_args!("sh: shift: can't shift that many\n"),
        );
        return USAGE;
    }
    shell.arguments.drain(1..1 + count);
    0
}

fn parse_count(text: &[u8]) -> Option<usize> {
    core::str::from_utf8(text).ok()?.parse().ok()
}

/// `read [-r] [-p PROMPT] NAME…`: one line from standard input, read a
/// byte at a time (so nothing after the line is consumed), split at
/// `IFS` into the names, the last taking the rest.
pub fn read(shell: &mut Shell, arguments: &[Vec<u8>], prepared: &Prepared) -> i32 {
    let mut raw = false;
    let mut index = 0;
    while let Some(argument) = arguments.get(index) {
        match argument.as_slice() {
            b"-r" => raw = true,
            b"-p" => {
                index += 1;
                if let Some(prompt) = arguments.get(index) {
                    write_bytes(prepared.fds.error(), prompt);
                }
            }
            b"--" => {
                index += 1;
                break;
            }
            _ => break,
        }
        index += 1;
    }
    let names = &arguments[index..];
    if names.is_empty() {
        print_to(prepared.fds.error(), format_args!("sh: read: arg count\n"));
        return USAGE;
    }
    let Some(input) = prepared.fds.get(0) else {
        return 1;
    };
    // The line, each byte marked if a backslash quoted it.
    let mut line: Vec<(u8, bool)> = Vec::new();
    let mut ended = false;
    let mut escaped = false;
    loop {
        let mut byte = [0u8; 1];
        match syscall::read(input, &mut byte) {
            Ok(1) => {}
            _ => {
                ended = true;
                break;
            }
        }
        let byte = byte[0];
        if escaped {
            escaped = false;
            if byte != b'\n' {
                line.push((byte, true));
            }
            continue;
        }
        if byte == b'\\' && !raw {
            escaped = true;
            continue;
        }
        if byte == b'\n' {
            break;
        }
        line.push((byte, false));
    }
    let separators = shell.get(b"IFS").unwrap_or_else(|| b" \t\n".to_vec());
    let is_separator = |&(byte, quoted): &(u8, bool)| !quoted && separators.contains(&byte);
    let is_white = |item: &(u8, bool)| is_separator(item) && matches!(item.0, b' ' | b'\t' | b'\n');
    let mut rest: &[(u8, bool)] = &line;
    for (position, name) in names.iter().enumerate() {
        while rest.first().is_some_and(is_white) {
            rest = &rest[1..];
        }
        let value: Vec<u8> = if position + 1 == names.len() {
            let mut end = rest.len();
            while end > 0 && is_white(&rest[end - 1]) {
                end -= 1;
            }
            let value = rest[..end].iter().map(|&(byte, _)| byte).collect();
            rest = &[];
            value
        } else {
            let end = rest.iter().position(is_separator).unwrap_or(rest.len());
            let value = rest[..end].iter().map(|&(byte, _)| byte).collect();
            rest = &rest[end..];
            // One non-white separator (with white around it) ends a field.
            while rest.first().is_some_and(is_white) {
                rest = &rest[1..];
            }
            if rest
                .first()
                .is_some_and(|item| is_separator(item) && !is_white(item))
            {
                rest = &rest[1..];
            }
            value
        };
        if !is_name(name) {
            print_to(
                prepared.fds.error(),
                format_args!("sh: read: {}: bad variable name\n", Text(name)),
            );
            return USAGE;
        }
        shell.set_variable(name, value);
    }
    i32::from(ended)
}

/// `eval ARGUMENT…`: the arguments joined with spaces, run as shell text.
pub fn eval(shell: &mut Shell, arguments: &[Vec<u8>]) -> i32 {
    let text = arguments.join(&b' ');
    shell.status = 0;
    shell.run_text(&text)
}

/// `. FILE [ARGUMENT…]`: runs FILE (looked up in `PATH` without a `/`)
/// in this shell.
pub fn dot(shell: &mut Shell, arguments: &[Vec<u8>], prepared: &Prepared) -> i32 {
    let Some(name) = arguments.first() else {
        print_to(
            prepared.fds.error(),
            format_args!("sh: .: filename argument required\n"),
        );
        return USAGE;
    };
    let opened = shell.search(name, |path| syscall::open(path, OpenFlags::empty(), 0));
    let fd = match opened {
        Ok(fd) => fd,
        Err(_) => {
            print_to(
                prepared.fds.error(),
                format_args!("sh: .: cannot open {}: No such file\n", Text(name)),
            );
            if !shell.interactive {
                shell.exit_request = Some(USAGE);
            }
            return USAGE;
        }
    };
    let mut text = Vec::new();
    let mut buffer = [0u8; 4096];
    while let Ok(count) = syscall::read(fd, &mut buffer) {
        if count == 0 {
            break;
        }
        text.extend_from_slice(&buffer[..count.min(buffer.len())]);
    }
    let _ = syscall::close(fd);
    let saved = (arguments.len() > 1).then(|| {
        let zero = shell.arguments.first().cloned().unwrap_or_default();
        let replaced = core::iter::once(zero)
            .chain(arguments[1..].iter().cloned())
            .collect();
        core::mem::replace(&mut shell.arguments, replaced)
    });
    shell.function_depth += 1;
    shell.status = 0;
    let mut status = shell.run_text(&text);
    shell.function_depth -= 1;
    if shell.flow == Some(Flow::Return) {
        shell.flow = None;
        status = shell.status;
    }
    if let Some(saved) = saved {
        shell.arguments = saved;
    }
    status
}

/// What a command name is.
enum Kind {
    Keyword,
    Function,
    Builtin(Builtin),
    Program(Vec<u8>),
}

fn kind_of(shell: &Shell, name: &[u8]) -> Option<Kind> {
    if KEYWORDS.iter().any(|keyword| keyword.as_bytes() == name) {
        return Some(Kind::Keyword);
    }
    if shell.functions.contains_key(name) {
        return Some(Kind::Function);
    }
    if let Some(builtin) = Builtin::find(name) {
        return Some(Kind::Builtin(builtin));
    }
    shell
        .search(name, |path| {
            let status = syscall::status_at(CURRENT_DIRECTORY, path, 0)?;
            if status.mode & 0o170000 == 0o040000 {
                return Err(manux_runtime::Errno::NotFound);
            }
            Ok(path.to_vec())
        })
        .ok()
        .map(Kind::Program)
}

/// `type NAME…`: what each name would run.
pub fn type_of(shell: &mut Shell, arguments: &[Vec<u8>], prepared: &Prepared) -> i32 {
    let mut status = 0;
    for name in arguments {
        let shown = Text(name);
        match kind_of(shell, name) {
            Some(Kind::Keyword) => print_to(
                prepared.fds.output(),
                format_args!("{shown} is a shell keyword\n"),
            ),
            Some(Kind::Function) => print_to(
                prepared.fds.output(),
                format_args!("{shown} is a shell function\n"),
            ),
            Some(Kind::Builtin(builtin)) => print_to(
                prepared.fds.output(),
                format_args!(
                    "{shown} is a {}shell builtin\n",
                    if builtin.is_special() { "special " } else { "" }
                ),
            ),
            Some(Kind::Program(path)) => print_to(
                prepared.fds.output(),
                format_args!("{shown} is {}\n", Text(&path)),
            ),
            None => {
                print_to(prepared.fds.output(), format_args!("{shown}: not found\n"));
                status = NOT_FOUND;
            }
        }
    }
    status
}

/// `command -v NAME…`, `command -V NAME…`, `command NAME [ARG…]` (runs
/// NAME, a builtin or a program, never a function).
pub fn command(shell: &mut Shell, arguments: &[Vec<u8>], prepared: &Prepared) -> i32 {
    match arguments.first().map(Vec::as_slice) {
        Some(b"-v") => {
            let mut status = 0;
            for name in &arguments[1..] {
                match kind_of(shell, name) {
                    Some(Kind::Program(path)) => {
                        print_to(prepared.fds.output(), format_args!("{}\n", Text(&path)))
                    }
                    Some(_) => print_to(prepared.fds.output(), format_args!("{}\n", Text(name))),
                    None => status = 127,
                }
            }
            status
        }
        Some(b"-V") => type_of(shell, &arguments[1..], prepared),
        None => 0,
        Some(_) => {
            let inner = Prepared {
                words: arguments.to_vec(),
                assignments: prepared.assignments.clone(),
                fds: prepared.fds.clone(),
                opened: Vec::new(),
            };
            if Builtin::find(&arguments[0]).is_none() && kind_of(shell, &arguments[0]).is_none() {
                return report_not_started(
                    &arguments[0],
                    manux_runtime::Errno::NotFound,
                    prepared.fds.error(),
                );
            }
            shell.run_named(&inner)
        }
    }
}

/// A condition's name as `trap` stores it: `EXIT`, `INT`, `HUP`, … (a
/// number or a `SIG` prefix accepted).
fn condition_name(text: &[u8]) -> Option<Vec<u8>> {
    let text = text.strip_prefix(b"SIG").unwrap_or(text);
    let name: &[u8] = match text {
        b"0" | b"EXIT" => b"EXIT",
        b"1" | b"HUP" => b"HUP",
        b"2" | b"INT" => b"INT",
        b"3" | b"QUIT" => b"QUIT",
        b"15" | b"TERM" => b"TERM",
        _ => return None,
    };
    Some(name.to_vec())
}

/// `trap [ACTION CONDITION…]`: alone, the traps set; `-` resets, `''`
/// ignores. `EXIT` runs when the shell ends; `INT` after a command Ctrl-C
/// killed (the kernel ends the processes, not the shell).
pub fn trap(shell: &mut Shell, arguments: &[Vec<u8>], prepared: &Prepared) -> i32 {
    let Some((action, conditions)) = arguments.split_first() else {
        for (condition, action) in &shell.traps {
            let mut line = b"trap -- ".to_vec();
            line.extend_from_slice(&always_quoted(action));
            line.push(b' ');
            line.extend_from_slice(condition);
            line.push(b'\n');
            write_bytes(prepared.fds.output(), &line);
        }
        return 0;
    };
    // `trap INT`: one argument that is a condition resets it.
    let (action, conditions): (Option<&[u8]>, &[Vec<u8>]) =
        if conditions.is_empty() || action == b"-" {
            (
                None,
                if conditions.is_empty() {
                    arguments
                } else {
                    conditions
                },
            )
        } else {
            (Some(action), conditions)
        };
    let mut status = 0;
    for condition in conditions {
        let Some(name) = condition_name(condition) else {
            print_to(
                prepared.fds.error(),
                format_args!("sh: trap: {}: bad trap\n", Text(condition)),
            );
            status = 1;
            continue;
        };
        match action {
            Some(action) => {
                shell.traps.insert(name, action.to_vec());
            }
            None => {
                shell.traps.remove(&name);
            }
        }
    }
    status
}

/// `wait [PID…]`: the background jobs (all, or those named); the status
/// is the last one's.
pub fn wait(shell: &mut Shell, arguments: &[Vec<u8>]) -> i32 {
    let pids: Vec<syscall::ProcessId> = if arguments.is_empty() {
        core::mem::take(&mut shell.background)
    } else {
        let mut pids = Vec::new();
        for argument in arguments {
            match core::str::from_utf8(argument)
                .ok()
                .and_then(|text| text.parse().ok())
            {
                Some(pid) => pids.push(pid),
                None => {
                    shell.error(format_args!("wait: Illegal number: {}", Text(argument)));
                    return USAGE;
                }
            }
        }
        shell.background.retain(|pid| !pids.contains(pid));
        pids
    };
    let mut status = 0;
    for pid in pids {
        status = shell.wait_all(&[(Ok(pid), b"sh".to_vec())]);
    }
    if arguments.is_empty() {
        0
    } else {
        status
    }
}

/// `return [N]`, `break [N]`, `continue [N]`.
pub fn flow(
    shell: &mut Shell,
    builtin: Builtin,
    arguments: &[Vec<u8>],
    prepared: &Prepared,
) -> i32 {
    let name = match builtin {
        Builtin::Return => "return",
        Builtin::Break => "break",
        _ => "continue",
    };
    let number = match arguments.first() {
        None => None,
        Some(text) => match core::str::from_utf8(text)
            .ok()
            .and_then(|t| t.parse::<i64>().ok())
        {
            Some(number) => Some(number),
            None => {
                print_to(
                    prepared.fds.error(),
                    format_args!("sh: {name}: Illegal number: {}\n", Text(text)),
                );
                return USAGE;
            }
        },
    };
    if builtin == Builtin::Return {
        let status = number.map_or(shell.status, |number| (number & 0xff) as i32);
        shell.status = status;
        shell.flow = Some(Flow::Return);
        return status;
    }
    let count = number.unwrap_or(1);
    if count < 1 {
        print_to(
            prepared.fds.error(),
            format_args!("sh: {name}: Illegal number: {count}\n"),
        );
        return USAGE;
    }
    if shell.loop_depth == 0 {
        return 0;
    }
    let count = (count as usize).min(shell.loop_depth);
    shell.flow = Some(if builtin == Builtin::Break {
        Flow::Break(count)
    } else {
        Flow::Continue(count)
    });
    0
}

/// `NAME=VALUE` as `export`, `readonly` and `local` take it: the name,
/// and the value if there is an `=`.
pub fn name_and_value(argument: &[u8]) -> (&[u8], Option<&[u8]>) {
    match argument.iter().position(|&byte| byte == b'=') {
        Some(equals) => (&argument[..equals], Some(&argument[equals + 1..])),
        None => (argument, None),
    }
}

/// `local NAME[=VALUE]…`: the variables return to what they were when
/// the function ends.
pub fn local(shell: &mut Shell, arguments: &[Vec<u8>], prepared: &Prepared) -> i32 {
    if shell.function_depth == 0 || shell.locals.is_empty() {
        print_to(
            prepared.fds.error(),
            format_args!("sh: local: not in a function\n"),
        );
        return USAGE;
    }
    for argument in arguments {
        let (name, value) = name_and_value(argument);
        let saved = shell.saved_variable(name);
        if let Some(frame) = shell.locals.last_mut() {
            if !frame.iter().any(|(saved_name, _)| saved_name == name) {
                frame.push((name.to_vec(), saved));
            }
        }
        if let Some(value) = value {
            shell.set_variable(name, value.to_vec());
        }
    }
    0
}

/// `getopts OPTSTRING NAME [ARGUMENT…]`: the next option of the
/// arguments (default: the positional parameters) into NAME, its
/// argument into `OPTARG`, the index of the next argument in `OPTIND`;
/// status 1 at the end of the options. A leading `:` in OPTSTRING makes
/// errors silent (NAME is `?` or `:`, `OPTARG` the option), as POSIX
/// says.
pub fn getopts(shell: &mut Shell, arguments: &[Vec<u8>], prepared: &Prepared) -> i32 {
    let [optstring, name, rest @ ..] = arguments else {
        print_to(
            prepared.fds.error(),
            format_args!("sh: getopts: usage: getopts optstring var [arg]\n"),
        );
        return USAGE;
    };
    let words: Vec<Vec<u8>> = if rest.is_empty() {
        shell.arguments()
    } else {
        rest.to_vec()
    };
    let (silent, optstring) = match optstring.split_first() {
        Some((b':', rest)) => (true, rest),
        _ => (false, optstring.as_slice()),
    };
    let index_text = shell.get(b"OPTIND").unwrap_or_else(|| b"1".to_vec());
    let index: usize = parse_count(&index_text).unwrap_or(1).max(1);
    // Where in a grouped argument (`-ab`) the last call stopped; a
    // changed `OPTIND` starts afresh.
    let offset = match shell.getopts_position {
        Some((seen, offset)) if seen == index => offset,
        _ => 0,
    };
    let finish = |shell: &mut Shell, index: usize, offset: usize| {
        shell.set_variable(b"OPTIND", alloc::format!("{index}").into_bytes());
        shell.getopts_position = Some((index, offset));
    };
    let argument = match words.get(index - 1) {
        Some(argument) if offset > 0 || (argument.len() > 1 && argument[0] == b'-') => argument,
        _ => {
            shell.set_variable(name, b"?".to_vec());
            finish(shell, index, 0);
            return 1;
        }
    };
    if offset == 0 && argument == b"--" {
        shell.set_variable(name, b"?".to_vec());
        finish(shell, index + 1, 0);
        return 1;
    }
    let position = offset + 1;
    let option = argument[position];
    let at_end = position + 1 >= argument.len();
    let known = optstring
        .iter()
        .position(|&byte| byte == option && byte != b':');
    let (mut next_index, mut next_offset) = if at_end {
        (index + 1, 0)
    } else {
        (index, offset + 1)
    };
    let status = match known {
        None => {
            if silent {
                shell.set_variable(b"OPTARG", alloc::vec![option]);
            } else {
                shell.unset(b"OPTARG");
                print_to(
                    prepared.fds.error(),
                    format_args!("sh: Illegal option -{}\n", char::from(option)),
                );
            }
            shell.set_variable(name, b"?".to_vec());
            0
        }
        Some(at) if optstring.get(at + 1) == Some(&b':') => {
            if !at_end {
                shell.set_variable(b"OPTARG", argument[position + 1..].to_vec());
                next_index = index + 1;
                next_offset = 0;
                shell.set_variable(name, alloc::vec![option]);
            } else if let Some(value) = words.get(index) {
                shell.set_variable(b"OPTARG", value.clone());
                next_index = index + 2;
                shell.set_variable(name, alloc::vec![option]);
            } else if silent {
                shell.set_variable(b"OPTARG", alloc::vec![option]);
                shell.set_variable(name, b":".to_vec());
            } else {
                shell.unset(b"OPTARG");
                print_to(
                    prepared.fds.error(),
                    format_args!("sh: No arg for -{} option\n", char::from(option)),
                );
                shell.set_variable(name, b"?".to_vec());
            }
            0
        }
        Some(_) => {
            shell.unset(b"OPTARG");
            shell.set_variable(name, alloc::vec![option]);
            0
        }
    };
    finish(shell, next_index, next_offset);
    status
}

/// `kill [-s NAME | -NAME] PID…`: ends each process (a descendant of
/// this shell: the kernel's rule). Manux has no signals, so the only
/// conditions accepted are those that end a process: `TERM` (the
/// default), `KILL`, `INT`, `HUP`, `QUIT`.
pub fn kill(arguments: &[Vec<u8>], prepared: &Prepared) -> i32 {
    let mut pids = arguments;
    let condition: Option<&[u8]> = match arguments.first().map(Vec::as_slice) {
        Some(b"-s") => {
            let name = arguments.get(1).map(Vec::as_slice);
            pids = arguments.get(2..).unwrap_or_default();
            Some(name.unwrap_or_default())
        }
        Some(option) if option.starts_with(b"-") && option != b"--" => {
            pids = &arguments[1..];
            Some(&option[1..])
        }
        Some(b"--") => {
            pids = &arguments[1..];
            None
        }
        _ => None,
    };
    if let Some(condition) = condition {
        let condition = condition.strip_prefix(b"SIG").unwrap_or(condition);
        if !matches!(
            condition,
            b"TERM" | b"KILL" | b"INT" | b"HUP" | b"QUIT" | b"15" | b"9" | b"2" | b"1" | b"3"
        ) {
            print_to(
                prepared.fds.error(),
                format_args!(
                    "sh: kill: {}: invalid signal specification\n",
                    Text(condition)
                ),
            );
            return USAGE;
        }
    }
    if pids.is_empty() {
        print_to(
            prepared.fds.error(),
            format_args!("sh: kill: usage: kill [-s sigspec | -signum | -sigspec] pid...\n"),
        );
        return USAGE;
    }
    let mut status = 0;
    for pid in pids {
        let result = core::str::from_utf8(pid)
            .ok()
            .and_then(|text| text.parse::<syscall::ProcessId>().ok())
            .ok_or(manux_runtime::Errno::InvalidArgument)
            .and_then(syscall::kill);
        if let Err(errno) = result {
            print_to(
                prepared.fds.error(),
                format_args!("sh: kill: {}: {}\n", Text(pid), errno.description()),
            );
            status = 1;
        }
    }
    status
}
