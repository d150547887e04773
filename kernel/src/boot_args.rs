// SPDX-License-Identifier: MIT OR Apache-2.0
//! The kernel command line (`/chosen/bootargs`, PVH `cmdline`).
//!
//! Words are `key=value` or bare flags, separated by spaces:
//! - `log=error|warn|info|debug|trace` — the log level (default `info`);
//! - `test=NAME` — run a built-in self test after `ready` (see
//!   [`crate::self_test`]); used by the guest test suite;
//! - `poweroff=semihosting` — read by `hal/` (QEMU exit statuses on AArch64);
//! - `bench` — allow the privileged operations of the `benchmark` call
//!   (dropping the block cache, raw disk reads) for `cargo xtask bench`;
//! - `commit=SECONDS` — how often changes are written back (committed to
//!   the journal) by themselves, 1 to 3600 (default
//!   [`DEFAULT_COMMIT_SECONDS`]);
//! - `fsck=repair|check` — what to do with a root volume that records
//!   errors or was cut off without a journal: repair it before mounting
//!   (`repair`, the default) or mount it read-only (`check`); see
//!   [`crate::fsck`];
//! - `init=PROGRAM ARGS…` — the first process (default `/bin/init`); the
//!   rest of the line is its arguments.
//!
//! Unknown words are reported, not fatal: a typo must not stop a boot.

use crate::fsck::FsckMode;
use crate::self_test::SelfTest;
use alloc::vec::Vec;
use log::LevelFilter;

/// Seconds between write-backs when `commit=` does not say.
pub const DEFAULT_COMMIT_SECONDS: u32 = 5;

/// The parsed command line.
pub struct BootArgs {
    /// Maximum level of log messages printed.
    pub log_level: LevelFilter,
    /// A self test to run after boot, if any.
    pub self_test: Option<SelfTest>,
    /// Words not understood (reported as warnings).
    pub unknown: Vec<&'static str>,
    /// `init=PROGRAM ARGS…`: the first process and its arguments. As in
    /// Linux, everything after `init=` belongs to it.
    pub init: Option<Vec<&'static str>>,
    /// `bench`: the benchmark boot.
    pub bench: bool,
    /// `commit=SECONDS`: the write-back interval.
    pub commit_seconds: u32,
    /// `fsck=`: what to do with a root volume that needs repair.
    pub fsck: FsckMode,
}

impl BootArgs {
    /// Parses `command_line`; never fails.
    pub fn parse(command_line: &'static str) -> Self {
        let mut args = BootArgs {
            log_level: LevelFilter::Info,
            self_test: None,
            unknown: Vec::new(),
            init: None,
            bench: false,
            commit_seconds: DEFAULT_COMMIT_SECONDS,
            fsck: FsckMode::Repair,
        };
        let mut words = command_line.split_whitespace();
        while let Some(word) = words.next() {
            if let Some(program) = word.strip_prefix("init=") {
                let mut init = alloc::vec![program];
                init.extend(words.by_ref());
                args.init = Some(init);
                break;
            }
            let (key, value) = word.split_once('=').unwrap_or((word, ""));
            match key {
                "log" => match parse_level(value) {
                    Some(level) => args.log_level = level,
                    None => args.unknown.push(word),
                },
                "test" => match SelfTest::from_name(value) {
                    Some(test) => args.self_test = Some(test),
                    None => args.unknown.push(word),
                },
                "poweroff" if value == "semihosting" => {}
                "bench" if value.is_empty() => args.bench = true,
                "commit" => match value.parse::<u32>() {
                    Ok(seconds @ 1..=3600) => args.commit_seconds = seconds,
                    _ => args.unknown.push(word),
                },
                "fsck" => match FsckMode::from_name(value) {
                    Some(mode) => args.fsck = mode,
                    None => args.unknown.push(word),
                },
                _ => args.unknown.push(word),
            }
        }
        args
    }
}

fn parse_level(value: &str) -> Option<LevelFilter> {
    Some(match value {
        "off" => LevelFilter::Off,
        "error" => LevelFilter::Error,
        "warn" => LevelFilter::Warn,
        "info" => LevelFilter::Info,
        "debug" => LevelFilter::Debug,
        "trace" => LevelFilter::Trace,
        _ => return None,
    })
}
