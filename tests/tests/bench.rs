// SPDX-License-Identifier: MIT OR Apache-2.0
//! Benchmarks: the in-guest program `bench` runs to the end
//! with the `bench` boot argument and prints every figure; without it the
//! privileged operations of the `benchmark` call are refused; the kernel
//! reports when the console was first read (the boot-to-prompt time).
//! `cargo xtask bench` itself is the full measurement; these check its
//! parts without timing anything.
#![forbid(unsafe_code)]

use guest_tests::*;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(120);

/// The figures `bench` prints, one line each: those the xtask parses.
const FIGURES: &[&str] = xtask::bench_report::GUEST_KEYS;

/// Each of `figures` was printed once, with `repetitions` finite values
/// above zero.
fn assert_figures(boot: &Boot, figures: &[&str], repetitions: usize, what: &str) {
    for figure in figures {
        let line = boot.expect_line(&format!("bench: {figure} "));
        let values: Vec<f64> = line
            .split_whitespace()
            .skip(2)
            .map(|word| word.parse().expect("a number"))
            .collect();
        assert_eq!(values.len(), repetitions, "{what}: {line}");
        assert!(
            values.iter().all(|value| value.is_finite() && *value > 0.0),
            "{what}: {line}"
        );
    }
}

#[test]
fn bench_measures_every_figure_with_the_bench_argument() {
    for (mut machine, _disk) in system_machines() {
        // /etc/motd stands in for the 64 MiB file of `cargo xtask bench`.
        machine.append = "bench init=/bin/bench 2 /etc/motd".into();
        let boot = boot(&machine, b"", TIMEOUT);
        assert_figures(&boot, FIGURES, 2, &describe(&machine));
        // As the first process nothing has read the console yet.
        boot.expect_line("bench: console_first_read_ns 0");
        boot.expect_line("bench: done");
        boot.expect_status(0);
    }
}

#[test]
fn bench_measures_what_writing_costs() {
    for (mut machine, _disk) in system_machines() {
        // 4 MiB stands in for the 64 MiB write of `cargo xtask bench`.
        machine.append = "init=/bin/bench --writes 2 4".into();
        let boot = boot(&machine, b"", TIMEOUT);
        assert_figures(
            &boot,
            xtask::bench_report::WRITES_KEYS,
            2,
            &describe(&machine),
        );
        boot.expect_line("bench: done");
        boot.expect_status(0);
    }
}

#[test]
fn the_privileged_benchmark_operations_need_the_bench_argument() {
    for (mut machine, _disk) in system_machines() {
        machine.append = "init=/bin/bench 1 /etc/motd".into();
        let boot = boot(&machine, b"", TIMEOUT);
        boot.expect_line("bench: error: benchmark(DROP_CACHE): Operation not permitted");
        boot.expect_status(1);
    }
}

#[test]
fn the_kernel_reports_when_the_shell_first_read_the_console() {
    for (machine, _disk) in system_machines() {
        let transcript = session(&machine, &["poweroff"], TIMEOUT);
        let text = format!("{}{}", transcript.boot_log, transcript.tail);
        let line = text
            .lines()
            .find(|line| line.contains("first console read at "))
            .unwrap_or_else(|| panic!("no first-read line; console:\n{text}"));
        let milliseconds: f64 = line
            .split("first console read at ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|number| number.parse().ok())
            .unwrap_or_else(|| panic!("unreadable: {line}"));
        assert!(milliseconds > 0.0, "{line}");
        assert_eq!(transcript.status, Some(0), "{text}");
    }
}
