// SPDX-License-Identifier: MIT OR Apache-2.0
//! Power cuts in the guest: the short version of
//! `cargo xtask crash`, on the default machine of each architecture.
//!
//! Both tests run `xtask::crash` — the code of the command — on a copy of
//! the test image: the `crashload` workload is booted with `commit=1`,
//! QEMU is killed at a seeded random moment within 3 s of the workload's
//! start, `ext2l check` looks, a `nop` boot recovers, `ext2l check` looks
//! again, and the files the workload reported durable are compared with
//! the volume. Each cut's console and checker output stays in
//! `target/crash-test/ARCH/cut-N.log`.
//!
//! - `cuts_are_reported_in_the_tools_format`: every cut gets its line in
//!   the command's format, the workload ran until each cut, the unsynced
//!   work lost was measured, and the summary's counts are the reports'.
//! - `power_cuts_leave_consistent_volumes_and_lose_nothing_fsynced`
//!   asserts what the kernel promises: no inconsistent volume, no durable
//!   file lost, every cut recovered (the journal replays at the next
//!   mount).
#![forbid(unsafe_code)]

use guest_tests::*;
use std::time::Duration;
use xtask::crash::{self, Config, Summary};

/// The same cut moments and workload every run.
const SEED: u64 = 15;

/// Runs `cuts` cuts on `machine` with a private copy of its system image;
/// returns the lines the command would print and the summary.
fn run_cuts(machine: Machine, cuts: u32) -> (Vec<String>, Summary) {
    let image = system_disk(machine.arch);
    let ext2l = std::env::var_os("MANUX_EXT2L")
        .expect("MANUX_EXT2L: the ext2l tool, set by cargo xtask test");
    let directory = xtask::paths::target_dir()
        .join("crash-test")
        .join(machine.arch.name());
    let _ = std::fs::remove_dir_all(&directory);
    let config = Config {
        machine,
        fresh_image: image.path().to_path_buf(),
        ext2l: ext2l.into(),
        directory,
        cuts,
        seed: SEED,
        commit_seconds: 1,
        window: Duration::from_secs(3),
        step_ms: 20,
    };
    let mut lines = Vec::new();
    let summary = crash::run(&config, &mut |line| lines.push(line.to_string()))
        .unwrap_or_else(|error| panic!("the crash tool failed: {error:#}"));
    lines.extend(summary.lines());
    (lines, summary)
}

/// Asserts the command's output format: a line per cut, problems
/// indented under it, then the three summary lines.
fn assert_format(lines: &[String], summary: &Summary, cuts: u32) {
    let shown = lines.join("\n");
    let mut cut = 0;
    for line in lines {
        if let Some(rest) = line.strip_prefix("crash: cut ") {
            cut += 1;
            assert!(
                rest.starts_with(&format!("{cut}/{cuts} at ")),
                "{line}\n{shown}"
            );
            for part in [
                " s: before recovery ",
                ", recovery boot ",
                ", after ",
                " durable files checked, ",
                " lost; unsynced work lost ",
            ] {
                assert!(line.contains(part), "{part:?} missing: {line}\n{shown}");
            }
        } else {
            assert!(
                line.starts_with("crash:   ")
                    || line.starts_with("crash: before recovery ")
                    || line == "crash: ok"
                    || line == "crash: FAILED"
                    || line.starts_with(&format!("crash: {cuts} cuts, ")),
                "unexpected line: {line}\n{shown}"
            );
        }
    }
    assert_eq!(cut, cuts, "{shown}");
    let counts = format!(
        "crash: {cuts} cuts, {} recovered, {} inconsistent, {} fsync'ed files lost, unsynced work lost ",
        summary.recovered(),
        summary.inconsistent(),
        summary.fsynced_lost()
    );
    assert!(
        lines.iter().any(|line| line.starts_with(&counts)),
        "no {counts:?}\n{shown}"
    );
    let verdict = if summary.passed() {
        "crash: ok"
    } else {
        "crash: FAILED"
    };
    assert_eq!(lines.last().map(String::as_str), Some(verdict), "{shown}");
}

#[test]
fn cuts_are_reported_in_the_tools_format() {
    for machine in default_machines() {
        let what = describe(&machine);
        let cuts = 2;
        let (lines, summary) = run_cuts(machine, cuts);
        let shown = lines.join("\n");
        assert_format(&lines, &summary, cuts);
        assert_eq!(summary.cuts(), cuts as usize, "{what}\n{shown}");
        assert_eq!(summary.workload_failures(), 0, "{what}\n{shown}");
        assert!(
            summary.reports.iter().all(|r| r.unsynced_lost.is_some()),
            "{what}: every cut measures the work lost\n{shown}"
        );
    }
}

#[test]
fn power_cuts_leave_consistent_volumes_and_lose_nothing_fsynced() {
    for machine in default_machines() {
        let what = describe(&machine);
        let cuts = 10;
        let (lines, summary) = run_cuts(machine, cuts);
        let shown = lines.join("\n");
        assert_format(&lines, &summary, cuts);
        assert_eq!(summary.inconsistent(), 0, "{what}\n{shown}");
        assert_eq!(summary.fsynced_lost(), 0, "{what}\n{shown}");
        assert_eq!(summary.recovered(), cuts as usize, "{what}\n{shown}");
        assert!(summary.passed(), "{what}\n{shown}");
    }
}
