// SPDX-License-Identifier: MIT OR Apache-2.0
//! `hello [ARGUMENT…]`: the first program a new kernel runs.
//!
//! Prints `hello from user mode: pid N, privilege EL0` (AArch64) or
//! `… ring 3` (x86_64), then each argument and the environment. The
//! privilege level is stated, not measured: no unprivileged instruction
//! reads it (`CurrentEL` traps at EL0), and the `fault privileged` test
//! is what proves user code runs unprivileged.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use manux_runtime::{entry, println, process, syscall};

entry!(main);

/// The privilege level user code runs at on this architecture.
const PRIVILEGE: &str = if cfg!(target_arch = "aarch64") {
    "EL0"
} else {
    "ring 3"
};

fn main() -> i32 {
    println!(
        "hello from user mode: pid {}, privilege {}",
        syscall::process_id(),
        PRIVILEGE
    );
    for (index, argument) in process::arguments().iter().enumerate() {
        println!("argv[{index}] = {:?}", Text(argument));
    }
    for variable in process::environment() {
        println!("env: {:?}", Text(variable));
    }
    0
}

/// Bytes shown as text, invalid UTF-8 replaced.
struct Text<'a>(&'a [u8]);

impl core::fmt::Debug for Text<'_> {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        for chunk in self.0.utf8_chunks() {
            formatter.write_str(chunk.valid())?;
            if !chunk.invalid().is_empty() {
                formatter.write_str("\u{fffd}")?;
            }
        }
        Ok(())
    }
}
