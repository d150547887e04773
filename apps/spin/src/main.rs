// SPDX-License-Identifier: MIT OR Apache-2.0
//! `spin [SECONDS]`: computes without ever making a system call, forever
//! or, given SECONDS, until that much wall time has passed (checked every
//! few million iterations), then prints how many iterations it made.
//!
//! The scheduler tests run it beside another program: a process that never
//! enters the kernel must not starve the others (the timer preempts it).
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use core::hint::black_box;
use core::time::Duration;
use manux_runtime::abi::clock;
use manux_runtime::{entry, eprintln, println, process, syscall};

entry!(main);

/// Iterations between two looks at the clock.
const BATCH: u64 = 1 << 22;

fn main() -> i32 {
    let seconds = match process::argument(1).map(str::parse::<u64>) {
        None => None,
        Some(Ok(seconds)) => Some(seconds),
        Some(Err(_)) => {
            eprintln!("usage: spin [SECONDS]");
            return 2;
        }
    };
    let Some(seconds) = seconds else {
        let mut state = 1u64;
        loop {
            state = black_box(step(state));
        }
    };
    let start = syscall::clock_time(clock::MONOTONIC);
    let mut state = 1u64;
    let mut iterations = 0u64;
    loop {
        for _ in 0..BATCH {
            state = black_box(step(state));
        }
        iterations += BATCH;
        let elapsed = match (start, syscall::clock_time(clock::MONOTONIC)) {
            (Ok(start), Ok(now)) => now.saturating_sub(start),
            // Without a clock, stop after a fixed amount of work.
            _ => Duration::from_secs(iterations / (BATCH * 16)),
        };
        if elapsed >= Duration::from_secs(seconds) {
            println!("spin: {iterations} iterations in {seconds} s");
            return 0;
        }
    }
}

/// One xorshift step: work the compiler cannot fold away.
fn step(mut state: u64) -> u64 {
    state ^= state << 13;
    state ^= state >> 7;
    state ^ state << 17
}
