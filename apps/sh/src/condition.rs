// SPDX-License-Identifier: MIT OR Apache-2.0
//! `test EXPRESSION` and `[ EXPRESSION ]`, built in as in dash.
//!
//! POSIX XCU `test`: with 0–4 arguments the POSIX rules decide (so `[ -n
//! ]` and `[ = = = ]` mean what POSIX says); beyond, a recursive descent
//! over `!`, `-a`, `-o` and parentheses (`-a` binds tighter than `-o`).
//! Unary file tests (`-e -f -d -h -L -s -r -w -x -p -c -b -S`) stat the
//! path in the shell's own view; `-r -w -x` look at the owner's
//! permission bits, since Manux has one user. String tests `-n -z = !=
//! < >`, integer tests `-eq -ne -lt -le -gt -ge`. Status 0 true, 1 false,
//! 2 for a usage error (reported as dash does: `sh: test: …`).

use crate::text::{print_to, Text};
use alloc::vec::Vec;
use manux_runtime::abi::{CURRENT_DIRECTORY, STAT_NO_FOLLOW};
use manux_runtime::syscall::{self, Fd};

/// Why an expression could not be evaluated.
enum TestError {
    /// Something missing or extra, named.
    Expected(&'static str),
    /// An integer test's operand is not an integer.
    BadNumber(Vec<u8>),
    /// An argument where an operator was expected.
    Unexpected(Vec<u8>),
}

/// Runs `test` (`bracket`: called as `[`, so the last argument must be
/// `]`); returns the status.
pub fn test(arguments: &[Vec<u8>], bracket: bool, error_fd: Fd) -> i32 {
    let name = if bracket { "[" } else { "test" };
    let arguments = if bracket {
        match arguments.split_last() {
            Some((last, rest)) if last == b"]" => rest,
            _ => {
                print_to(error_fd, format_args!("sh: [: missing ]\n"));
                return 2;
            }
        }
    } else {
        arguments
    };
    let arguments: Vec<&[u8]> = arguments.iter().map(Vec::as_slice).collect();
    match evaluate(&arguments) {
        Ok(true) => 0,
        Ok(false) => 1,
        Err(error) => {
            match error {
                TestError::Expected(what) => {
                    print_to(error_fd, format_args!("sh: {name}: {what} expected\n"))
                }
                TestError::BadNumber(text) => print_to(
                    error_fd,
                    format_args!("sh: {name}: Illegal number: {}\n", Text(&text)),
                ),
                TestError::Unexpected(text) => print_to(
                    error_fd,
                    format_args!("sh: {name}: {}: unexpected operator\n", Text(&text)),
                ),
            }
            2
        }
    }
}

fn evaluate(arguments: &[&[u8]]) -> Result<bool, TestError> {
    match arguments {
        [] => Ok(false),
        [one] => Ok(!one.is_empty()),
        [b"!", one] => Ok(one.is_empty()),
        [operator, operand] if is_unary(operator) => unary(operator, operand),
        [_, _] => Err(TestError::Unexpected(arguments[0].to_vec())),
        [left, operator, right] if is_binary(operator) => binary(left, operator, right),
        [b"!", rest @ ..] if rest.len() == 2 => evaluate(rest).map(|value| !value),
        [b"(", inner, b")"] => Ok(!inner.is_empty()),
        [b"!", rest @ ..] if rest.len() == 3 => evaluate(rest).map(|value| !value),
        [b"(", inner @ .., b")"] if inner.len() == 2 => evaluate(inner),
        _ => {
            let mut parser = Parser {
                arguments,
                position: 0,
            };
            let value = parser.or()?;
            if parser.position != arguments.len() {
                return Err(TestError::Unexpected(arguments[parser.position].to_vec()));
            }
            Ok(value)
        }
    }
}

struct Parser<'a, 'b> {
    arguments: &'a [&'b [u8]],
    position: usize,
}

impl<'b> Parser<'_, 'b> {
    fn peek(&self) -> Option<&'b [u8]> {
        self.arguments.get(self.position).copied()
    }

    fn or(&mut self) -> Result<bool, TestError> {
        let mut value = self.and()?;
        while self.peek() == Some(b"-o") {
            self.position += 1;
            let right = self.and()?;
            value = value || right;
        }
        Ok(value)
    }

    fn and(&mut self) -> Result<bool, TestError> {
        let mut value = self.not()?;
        while self.peek() == Some(b"-a") {
            self.position += 1;
            let right = self.not()?;
            value = value && right;
        }
        Ok(value)
    }

    fn not(&mut self) -> Result<bool, TestError> {
        if self.peek() == Some(b"!") {
            self.position += 1;
            return self.not().map(|value| !value);
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<bool, TestError> {
        let Some(first) = self.peek() else {
            return Err(TestError::Expected("argument"));
        };
        if first == b"(" {
            self.position += 1;
            let value = self.or()?;
            if self.peek() != Some(b")") {
                return Err(TestError::Expected("closing paren"));
            }
            self.position += 1;
            return Ok(value);
        }
        if let (Some(operator), Some(right)) = (
            self.arguments.get(self.position + 1),
            self.arguments.get(self.position + 2),
        ) {
            if is_binary(operator) {
                self.position += 3;
                return binary(first, operator, right);
            }
        }
        if is_unary(first) {
            let Some(operand) = self.arguments.get(self.position + 1) else {
                return Err(TestError::Expected("argument"));
            };
            self.position += 2;
            return unary(first, operand);
        }
        self.position += 1;
        Ok(!first.is_empty())
    }
}

fn is_unary(operator: &[u8]) -> bool {
    matches!(
        operator,
        b"-n"
            | b"-z"
            | b"-e"
            | b"-f"
            | b"-d"
            | b"-h"
            | b"-L"
            | b"-s"
            | b"-r"
            | b"-w"
            | b"-x"
            | b"-p"
            | b"-c"
            | b"-b"
            | b"-S"
            | b"-t"
    )
}

fn is_binary(operator: &[u8]) -> bool {
    matches!(
        operator,
        b"=" | b"!=" | b"<" | b">" | b"-eq" | b"-ne" | b"-lt" | b"-le" | b"-gt" | b"-ge"
    )
}

/// File type bits of `Stat::mode`.
const TYPE_MASK: u32 = 0o170000;

fn unary(operator: &[u8], operand: &[u8]) -> Result<bool, TestError> {
    let stat = |follow: bool| {
        syscall::status_at(
            CURRENT_DIRECTORY,
            operand,
            if follow { 0 } else { STAT_NO_FOLLOW },
        )
        .ok()
    };
    let file_type = |follow: bool| stat(follow).map(|status| status.mode & TYPE_MASK);
    Ok(match operator {
        b"-n" => !operand.is_empty(),
        b"-z" => operand.is_empty(),
        b"-e" => stat(true).is_some(),
        b"-f" => file_type(true) == Some(0o100000),
        b"-d" => file_type(true) == Some(0o040000),
        b"-h" | b"-L" => file_type(false) == Some(0o120000),
        b"-p" => file_type(true) == Some(0o010000),
        b"-c" => file_type(true) == Some(0o020000),
        b"-b" => file_type(true) == Some(0o060000),
        b"-S" => file_type(true) == Some(0o140000),
        b"-s" => stat(true).is_some_and(|status| status.size > 0),
        b"-r" => stat(true).is_some_and(|status| status.mode & 0o400 != 0),
        b"-w" => stat(true).is_some_and(|status| status.mode & 0o200 != 0),
        b"-x" => stat(true).is_some_and(|status| status.mode & 0o100 != 0),
        // `-t FD`: Manux cannot tell a terminal from a pipe (same
        // `fstat` type), so only descriptors 0–2 of the console count.
        _ => false,
    })
}

fn integer(text: &[u8]) -> Result<i64, TestError> {
    let trimmed = text.trim_ascii();
    core::str::from_utf8(trimmed)
        .ok()
        .and_then(|text| text.parse::<i64>().ok())
        .ok_or_else(|| TestError::BadNumber(text.to_vec()))
}

fn binary(left: &[u8], operator: &[u8], right: &[u8]) -> Result<bool, TestError> {
    Ok(match operator {
        b"=" => left == right,
        b"!=" => left != right,
        b"<" => left < right,
        b">" => left > right,
        _ => {
            let (left, right) = (integer(left)?, integer(right)?);
            match operator {
                b"-eq" => left == right,
                b"-ne" => left != right,
                b"-lt" => left < right,
                b"-le" => left <= right,
                b"-gt" => left > right,
                _ => left >= right,
            }
        }
    })
}
