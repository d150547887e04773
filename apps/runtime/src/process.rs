// SPDX-License-Identifier: MIT OR Apache-2.0
//! This process: its arguments, environment, auxiliary vector, and how
//! `main`'s return value becomes the exit status.

use crate::start::STARTUP;
use core::fmt::Display;

pub use crate::syscall::exit;

/// The arguments (`argv`), `arguments()[0]` being the program's name as
/// its caller gave it. Empty before start-up (on the host).
pub fn arguments() -> &'static [&'static [u8]] {
    STARTUP
        .get()
        .map(|startup| startup.arguments.as_slice())
        .unwrap_or(&[])
}

/// Argument `index` as text, if there is one and it is UTF-8.
pub fn argument(index: usize) -> Option<&'static str> {
    core::str::from_utf8(arguments().get(index)?).ok()
}

/// The environment strings (`NAME=value`).
pub fn environment() -> &'static [&'static [u8]] {
    STARTUP
        .get()
        .map(|startup| startup.environment.as_slice())
        .unwrap_or(&[])
}

/// The value of environment variable `name`.
pub fn variable(name: &[u8]) -> Option<&'static [u8]> {
    environment().iter().find_map(|entry| {
        let rest = entry.strip_prefix(name)?;
        rest.strip_prefix(b"=")
    })
}

/// The value of auxiliary-vector key `key` (`manux_abi::startup::AT_*`).
pub fn auxiliary(key: u64) -> Option<u64> {
    STARTUP.get().and_then(|startup| {
        startup
            .auxiliary
            .iter()
            .find(|(found, _)| *found == key)
            .map(|(_, value)| *value)
    })
}

/// The stack pointer the program started with (0 before start-up).
pub fn initial_stack_pointer() -> usize {
    STARTUP
        .get()
        .map(|startup| startup.stack_pointer)
        .unwrap_or(0)
}

/// One past the highest byte of the initial stack's words and strings (0
/// before start-up).
pub fn initial_stack_end() -> usize {
    STARTUP.get().map(|startup| startup.stack_end).unwrap_or(0)
}

/// The program's name for messages: the last component of `argv[0]`.
pub fn name() -> &'static str {
    let Some(first) = argument(0) else {
        return "program";
    };
    first
        .rsplit('/')
        .next()
        .filter(|n| !n.is_empty())
        .unwrap_or(first)
}

/// What `main` may return; [`crate::entry!`] turns it into the exit status.
pub trait Termination {
    /// The exit status.
    fn exit_code(self) -> i32;
}

impl Termination for () {
    fn exit_code(self) -> i32 {
        0
    }
}

impl Termination for i32 {
    fn exit_code(self) -> i32 {
        self
    }
}

/// `Ok` is the inner value's status; `Err` prints `name: error` on
/// standard error and is status 1.
impl<T: Termination, E: Display> Termination for Result<T, E> {
    fn exit_code(self) -> i32 {
        match self {
            Ok(value) => value.exit_code(),
            Err(error) => {
                crate::eprintln!("{}: {}", name(), error);
                1
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn before_start_up_everything_is_empty() {
        assert!(arguments().is_empty());
        assert_eq!(name(), "program");
        assert_eq!(auxiliary(6), None);
        assert_eq!(variable(b"HOME"), None);
    }

    #[test]
    fn results_become_statuses() {
        assert_eq!(().exit_code(), 0);
        assert_eq!(7.exit_code(), 7);
        assert_eq!(Ok::<i32, &str>(3).exit_code(), 3);
        assert_eq!(Err::<(), &str>("no").exit_code(), 1);
    }
}
