// SPDX-License-Identifier: MIT OR Apache-2.0
//! `nop [exec PATH]`: the trivial program `bench` starts.
//!
//! Alone, it ends at once with status 0: spawn + exit + wait of it is the
//! cost of a process. `nop exec PATH` replaces itself with `PATH` (argv
//! `[PATH]`, no environment) by `execve`, so `spawn(nop exec /bin/nop)` is
//! a direct spawn + execve of the trivial program, the baseline a launcher
//! (spawn of the launcher, which execs the program) is compared with. A
//! failed `execve` ends with status 127.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

// On the host, std supplies the panic handler and the allocator the
// runtime supplies on Manux, so `cargo clippy -p nop` can check this
// program (it is never linked there).
#[cfg(not(target_os = "none"))]
extern crate std;

use manux_runtime::{entry, process, syscall};

entry!(main);

fn main() -> i32 {
    match process::arguments() {
        [_, b"exec", path, ..] => {
            let _ = syscall::execute(path, &[path], &[]);
            127
        }
        _ => 0,
    }
}
