// SPDX-License-Identifier: MIT OR Apache-2.0
//! `race`: shows that a process spinning forever does not starve others.
//!
//! Spawns `/bin/spin` (which never yields), then `/bin/hello`, and waits
//! for `hello`. Only a preemptive scheduler lets `hello` finish; then it
//! prints `race: hello finished while spin was running`, kills `spin`,
//! reaps it and exits 0. Any failure exits 1 with a message.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use manux_runtime::abi::wait_status::WaitStatus;
use manux_runtime::abi::FdMapping;
use manux_runtime::{entry, eprintln, println, syscall};

entry!(main);

fn main() -> i32 {
    let fds = [0, 1, 2].map(|fd| FdMapping {
        child: fd,
        parent: fd,
    });
    let spin = match syscall::spawn(b"/bin/spin", &[b"spin"], &[], &fds) {
        Ok(pid) => pid,
        Err(errno) => {
            eprintln!("race: cannot spawn /bin/spin: {errno}");
            return 1;
        }
    };
    let hello = match syscall::spawn(b"/bin/hello", &[b"hello"], &[], &fds) {
        Ok(pid) => pid,
        Err(errno) => {
            eprintln!("race: cannot spawn /bin/hello: {errno}");
            return 1;
        }
    };
    match syscall::wait(hello) {
        Ok((_, WaitStatus::Exited(0))) => println!("race: hello finished while spin was running"),
        Ok((_, status)) => {
            eprintln!("race: hello ended with {status:?}");
            return 1;
        }
        Err(errno) => {
            eprintln!("race: wait for hello: {errno}");
            return 1;
        }
    }
    if let Err(errno) = syscall::kill(spin) {
        eprintln!("race: kill spin: {errno}");
        return 1;
    }
    match syscall::wait(spin) {
        Ok((_, WaitStatus::Killed(_))) => {
            println!("race: spin killed");
            0
        }
        other => {
            eprintln!("race: spin ended unexpectedly: {other:?}");
            1
        }
    }
}
