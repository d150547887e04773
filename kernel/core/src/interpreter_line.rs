// SPDX-License-Identifier: MIT OR Apache-2.0
//! The `#!` line of a script: which interpreter `spawn` and `execve` run
//! instead of the file, and with what.
//!
//! A file that starts with `#!` is run as Linux runs it (`execve(2)`,
//! "Interpreter scripts"; `fs/binfmt_script.c`): the rest of the first
//! line is the interpreter's path, then at most one optional argument
//! (everything after the path's blank, trailing blanks removed, inner
//! blanks kept), and the interpreter gets `argv = [interpreter,
//! argument?, script path as given, original argv[1..]]`
//! ([`InterpreterLine::arguments`]). Stricter than Linux, because a
//! refusal is better than a guess: the whole line must fit in
//! [`LINE_BYTES`] (Linux's `BINPRM_BUF_SIZE`; Linux would cut a long
//! argument short), the path must be absolute (Linux would resolve a
//! relative one from the caller's current directory — a directory the
//! caller can write), and the line must hold no NUL.
//!
//! This module only reads bytes: it never opens the interpreter. Which
//! file the path names, and whether it may run, is the caller's (the
//! kernel's `sys_process`, with the same checks as for any program).

use alloc::vec::Vec;
use manux_abi::Errno;

/// The most bytes of a `#!` line, its `\n` included: Linux's
/// `BINPRM_BUF_SIZE` (`include/uapi/linux/binfmts.h`).
pub const LINE_BYTES: usize = 256;

/// What a file's first bytes say about running it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start<'a> {
    /// Not a script (no `#!`): the file itself is the program.
    NotScript,
    /// A script, run by this interpreter.
    Script(InterpreterLine<'a>),
}

/// A `#!` line, parsed: both parts borrow the file's bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InterpreterLine<'a> {
    /// The interpreter's path: absolute, non-empty, no blank and no NUL.
    pub interpreter: &'a [u8],
    /// The one optional argument, without its surrounding blanks.
    pub argument: Option<&'a [u8]>,
}

/// Why a `#!` line was refused; every one is `ENOEXEC` at the system
/// call ([`From<LineError> for Errno`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineError {
    /// No `\n` within [`LINE_BYTES`] bytes (and the file is longer).
    TooLong,
    /// Nothing after `#!` but blanks.
    NoInterpreter,
    /// The interpreter's path does not start with `/`.
    RelativeInterpreter,
    /// A NUL byte in the line.
    Nul,
}

impl LineError {
    /// The refusal in words, for the kernel's log.
    pub fn describe(self) -> &'static str {
        match self {
            LineError::TooLong => "the `#!` line is longer than 256 bytes",
            LineError::NoInterpreter => "the `#!` line names no interpreter",
            LineError::RelativeInterpreter => "the `#!` line's interpreter path is not absolute",
            LineError::Nul => "the `#!` line holds a NUL byte",
        }
    }
}

impl From<LineError> for Errno {
    fn from(_: LineError) -> Errno {
        Errno::NotExecutable
    }
}

/// The blanks that separate a `#!` line's parts, as Linux's (space, tab).
fn is_blank(byte: u8) -> bool {
    byte == b' ' || byte == b'\t'
}

/// Reads the start of a file.
///
/// Return values: [`Start::NotScript`] unless `file` starts with `#!`;
/// the parsed line; a [`LineError`] for a line that cannot be run.
pub fn parse(file: &[u8]) -> Result<Start<'_>, LineError> {
    let Some(rest) = file.strip_prefix(b"#!") else {
        return Ok(Start::NotScript);
    };
    let window = &file[..file.len().min(LINE_BYTES)];
    let line = match window.iter().position(|&byte| byte == b'\n') {
        Some(end) => &rest[..end - 2],
        // A file shorter than the limit may end without a newline.
        None if file.len() <= LINE_BYTES => rest,
        None => return Err(LineError::TooLong),
    };
    if line.contains(&0) {
        return Err(LineError::Nul);
    }
    let line = trim_blanks(line);
    if line.is_empty() {
        return Err(LineError::NoInterpreter);
    }
    let end = line.iter().position(|&byte| is_blank(byte));
    let interpreter = &line[..end.unwrap_or(line.len())];
    if interpreter.first() != Some(&b'/') {
        return Err(LineError::RelativeInterpreter);
    }
    let argument = end
        .map(|end| trim_blanks(&line[end..]))
        .filter(|argument| !argument.is_empty());
    Ok(Start::Script(InterpreterLine {
        interpreter,
        argument,
    }))
}

/// `bytes` without leading and trailing blanks (a `\r` before the
/// `\n` is kept, as Linux keeps it: it is part of the last word).
fn trim_blanks(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|&byte| !is_blank(byte))
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|&byte| !is_blank(byte))
        .map_or(start, |last| last + 1);
    &bytes[start..end]
}

impl InterpreterLine<'_> {
    /// The interpreter's arguments for running the script at `path`
    /// (as the caller spelled it) with `arguments` (the caller's argv,
    /// whose `argv[0]` is dropped, as Linux drops it).
    ///
    /// Return values: `OutOfMemory` when the kernel heap cannot hold them.
    pub fn arguments(&self, path: &[u8], arguments: &[Vec<u8>]) -> Result<Vec<Vec<u8>>, Errno> {
        let mut all = Vec::new();
        all.try_reserve_exact(arguments.len() + 3)
            .map_err(|_| Errno::OutOfMemory)?;
        all.push(copy(self.interpreter)?);
        if let Some(argument) = self.argument {
            all.push(copy(argument)?);
        }
        all.push(copy(path)?);
        for argument in arguments.iter().skip(1) {
            all.push(copy(argument)?);
        }
        Ok(all)
    }
}

/// `bytes`, copied into the heap without aborting when it is full.
fn copy(bytes: &[u8]) -> Result<Vec<u8>, Errno> {
    let mut copy = Vec::new();
    copy.try_reserve_exact(bytes.len())
        .map_err(|_| Errno::OutOfMemory)?;
    copy.extend_from_slice(bytes);
    Ok(copy)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn script<'a>(interpreter: &'a [u8], argument: Option<&'a [u8]>) -> Start<'a> {
        Start::Script(InterpreterLine {
            interpreter,
            argument,
        })
    }

    #[test]
    fn plain_files_are_not_scripts() {
        assert_eq!(parse(b"\x7fELF\x02\x01"), Ok(Start::NotScript));
        assert_eq!(parse(b""), Ok(Start::NotScript));
        assert_eq!(parse(b"#"), Ok(Start::NotScript));
        assert_eq!(parse(b" #!/bin/sh\n"), Ok(Start::NotScript));
    }

    #[test]
    fn interpreter_and_argument() {
        assert_eq!(parse(b"#!/bin/sh\necho hi\n"), Ok(script(b"/bin/sh", None)));
        assert_eq!(parse(b"#! /bin/sh\n"), Ok(script(b"/bin/sh", None)));
        assert_eq!(parse(b"#!/bin/sh  \t\n"), Ok(script(b"/bin/sh", None)));
        assert_eq!(
            parse(b"#!/bin/sh -e\n"),
            Ok(script(b"/bin/sh", Some(b"-e")))
        );
        // One argument, inner blanks kept (Linux's rule).
        assert_eq!(
            parse(b"#!/bin/awk\t-f  -v x \n"),
            Ok(script(b"/bin/awk", Some(b"-f  -v x")))
        );
        // A file that is only its line, with no newline.
        assert_eq!(parse(b"#!/bin/sh"), Ok(script(b"/bin/sh", None)));
        // A `\r` is part of the word before it (so `/bin/sh\r` is looked
        // up, and not found, as on Linux).
        assert_eq!(parse(b"#!/bin/sh\r\n"), Ok(script(b"/bin/sh\r", None)));
    }

    #[test]
    fn bad_lines() {
        assert_eq!(parse(b"#!\n"), Err(LineError::NoInterpreter));
        assert_eq!(parse(b"#!   \t\nrest"), Err(LineError::NoInterpreter));
        assert_eq!(parse(b"#!"), Err(LineError::NoInterpreter));
        assert_eq!(parse(b"#!sh\n"), Err(LineError::RelativeInterpreter));
        assert_eq!(
            parse(b"#! bin/sh -e\n"),
            Err(LineError::RelativeInterpreter)
        );
        assert_eq!(parse(b"#!/bin/s\0h\n"), Err(LineError::Nul));
        assert_eq!(Errno::from(LineError::TooLong), Errno::NotExecutable);
    }

    #[test]
    fn the_line_limit() {
        // 256 bytes with the newline: accepted; one more: refused.
        let mut fits = b"#!/".to_vec();
        fits.resize(LINE_BYTES - 1, b'x');
        fits.extend_from_slice(b"\nbody");
        let Ok(Start::Script(line)) = parse(&fits) else {
            panic!("a 256-byte line is refused");
        };
        assert_eq!(line.interpreter.len(), LINE_BYTES - 3);
        let mut long = b"#!/".to_vec();
        long.resize(LINE_BYTES, b'x');
        long.extend_from_slice(b"\n");
        assert_eq!(parse(&long), Err(LineError::TooLong));
        // Without a newline: as long as the whole file fits.
        assert!(parse(&long[..LINE_BYTES]).is_ok());
        assert_eq!(parse(&long[..LINE_BYTES + 1]), Err(LineError::TooLong));
    }

    #[test]
    fn arguments_replace_argv0() {
        let Ok(Start::Script(line)) = parse(b"#!/bin/sh -e\n") else {
            panic!("not parsed");
        };
        let argv = [b"greet".to_vec(), b"a".to_vec(), b"b".to_vec()];
        assert_eq!(
            line.arguments(b"/bin/greet", &argv),
            Ok(vec![
                b"/bin/sh".to_vec(),
                b"-e".to_vec(),
                b"/bin/greet".to_vec(),
                b"a".to_vec(),
                b"b".to_vec()
            ])
        );
        let Ok(Start::Script(line)) = parse(b"#!/bin/sh\n") else {
            panic!("not parsed");
        };
        assert_eq!(
            line.arguments(b"./x", &[]),
            Ok(vec![b"/bin/sh".to_vec(), b"./x".to_vec()])
        );
    }

    proptest! {
        // Any bytes: never a panic; what is accepted keeps every rule.
        #[test]
        fn hostile_lines(body in proptest::collection::vec(any::<u8>(), 0..600)) {
            let mut file = b"#!".to_vec();
            file.extend_from_slice(&body);
            match parse(&file) {
                Ok(Start::NotScript) => prop_assert!(false, "a `#!` file is a script"),
                Ok(Start::Script(line)) => {
                    prop_assert_eq!(line.interpreter.first(), Some(&b'/'));
                    let line_end = file.iter().position(|&b| b == b'\n').unwrap_or(file.len());
                    prop_assert!(line_end < LINE_BYTES || file.len() <= LINE_BYTES);
                    for part in core::iter::once(line.interpreter).chain(line.argument) {
                        prop_assert!(!part.is_empty());
                        prop_assert!(!part.contains(&b'\n') && !part.contains(&0));
                        prop_assert!(!is_blank(part[0]) && !is_blank(part[part.len() - 1]));
                    }
                    prop_assert!(!line.interpreter.iter().any(|&b| is_blank(b)));
                }
                Err(_) => {}
            }
        }

        // Well-formed lines come back as written.
        #[test]
        fn well_formed_lines(
            path in "/[a-z/]{0,40}",
            argument in proptest::option::of("[a-z-][a-z -]{0,20}[a-z]"),
            body in proptest::collection::vec(any::<u8>(), 0..100),
        ) {
            let mut file = format!("#!{path}").into_bytes();
            if let Some(argument) = &argument {
                file.extend_from_slice(format!(" {argument}").as_bytes());
            }
            file.push(b'\n');
            file.extend_from_slice(&body);
            prop_assert_eq!(
                parse(&file),
                Ok(script(path.as_bytes(), argument.as_deref().map(str::as_bytes)))
            );
        }
    }
}
