// SPDX-License-Identifier: MIT OR Apache-2.0
//! `sleep DURATION...`: waits for the sum of the durations.
//!
//! A duration is seconds with optional decimals and an optional `s`,
//! `m`, `h` or `d` suffix ([`coreutils_common::number::parse_duration`]).
//! The wait is measured on `CLOCK_MONOTONIC`, so an interrupted
//! `nanosleep` resumes for what is left; sums beyond what one call takes
//! are slept in pieces.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use core::time::Duration;
use coreutils_common::number::parse_duration;
use coreutils_common::text::Name;
use coreutils_common::{report, start, Spec};
use manux_runtime::abi::clock;
use manux_runtime::{entry, syscall, Errno};

entry!(main);

const SPEC: Spec = Spec::none("sleep DURATION...");

/// The longest single `nanosleep` asked for (about 34 years).
const LONGEST_PIECE: Duration = Duration::from_secs(1 << 30);

fn main() -> i32 {
    let options = match start(&SPEC) {
        Ok(options) => options,
        Err(status) => return status,
    };
    if options.operands.is_empty() {
        return report::usage_error(&SPEC, format_args!("missing operand"));
    }
    let mut total = Duration::ZERO;
    for &operand in &options.operands {
        match parse_duration(operand).and_then(|duration| total.checked_add(duration)) {
            Some(sum) => total = sum,
            None => {
                return report::usage_error(
                    &SPEC,
                    format_args!("invalid time interval '{}'", Name(operand)),
                )
            }
        }
    }
    match sleep_for(total) {
        Ok(()) => 0,
        Err(errno) => {
            report::message(format_args!("{errno}"));
            1
        }
    }
}

/// Sleeps until `total` has passed on the monotonic clock.
fn sleep_for(total: Duration) -> Result<(), Errno> {
    let started = syscall::clock_time(clock::MONOTONIC)?;
    loop {
        let now = syscall::clock_time(clock::MONOTONIC)?;
        let elapsed = now.saturating_sub(started);
        let Some(remaining) = total.checked_sub(elapsed).filter(|left| !left.is_zero()) else {
            return Ok(());
        };
        match syscall::sleep(remaining.min(LONGEST_PIECE)) {
            Ok(()) | Err(Errno::Interrupted) => {}
            Err(errno) => return Err(errno),
        }
    }
}
