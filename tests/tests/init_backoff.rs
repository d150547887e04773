// SPDX-License-Identifier: MIT OR Apache-2.0
//! init backs off (apps/init, `restart.rs`): a login shell that fails at
//! start — killed, or a non-zero status within the start window — is
//! started again after pauses that double, and after `--failures` in a
//! row init says why in one line and powers the machine off with status 1.
//! A shell ended with status 0, or one that outlived the window, resets
//! the count. init's arguments keep the delays short here (the defaults
//! are 5 failures from a 1 s pause within a 1 s window); each test boots
//! each architecture's default machine.

#![forbid(unsafe_code)]

use guest_tests::*;
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(60);

/// A login shell that faults on its first instruction: killed 5 times, with
/// visible pauses of 200 ms, 400 ms, 800 ms and 1.6 s, then the machine
/// powers off with init's status 1.
#[test]
fn a_shell_killed_at_start_is_retried_with_growing_pauses_then_the_machine_powers_off() {
    for (mut machine, _disk) in system_machines() {
        // A wide window: on a busy host even a fault on the first
        // instruction may take a while under TCG.
        machine.append = "init=/bin/init --failures 5 --delay 200 --start-window 10000 \
                          --shell /bin/fault --child unmapped 0"
            .into();
        let started = Instant::now();
        let boot = boot(&machine, b"", TIMEOUT);
        let elapsed = started.elapsed();
        let what = describe(&machine);
        let retries: Vec<&str> = boot
            .output
            .lines()
            .filter(|line| line.contains("failed at start ("))
            .collect();
        let pauses = ["200ms", "400ms", "800ms", "1.6s"];
        assert_eq!(retries.len(), pauses.len(), "{what}:\n{}", boot.output);
        for (index, (line, pause)) in retries.iter().zip(pauses).enumerate() {
            let expected = format!(
                "init: login shell /bin/fault failed at start (killed by the kernel: \
                 memory fault), {} of 5 in a row; starting a new one in {pause}",
                index + 1
            );
            assert_eq!(*line, expected, "{what}:\n{}", boot.output);
        }
        let kills = boot
            .output
            .lines()
            .filter(|line| line.contains("(fault) killed: page fault"))
            .count();
        assert_eq!(kills, 5, "{what}:\n{}", boot.output);
        let last = boot.expect_line("times in a row");
        assert_eq!(
            last,
            "init: login shell /bin/fault failed at start 5 times in a row \
             (last: killed by the kernel: memory fault); powering off",
            "{what}"
        );
        boot.expect_line("init exited with status 1");
        boot.expect_status(1);
        // The pauses really were taken: 0.2 + 0.4 + 0.8 + 1.6 s.
        assert!(
            elapsed >= Duration::from_millis(3000),
            "{what}: powered off after only {elapsed:?}"
        );
    }
}

/// `exit 0` at the prompt never counts, and it resets the count: two
/// quick `exit 3`s separated by `exit 0` are each the first failure of a
/// row, and the session goes on until `poweroff`.
#[test]
fn exit_0_does_not_count_and_resets_the_count() {
    for (mut machine, _disk) in system_machines() {
        // Every shell here ends within the window: only the status decides.
        machine.append = "init=/bin/init --failures 2 --delay 100 --start-window 600000".into();
        let lines = [
            "exit 3", "exit 0", "exit 3", "exit 0", "exit 0", "exit 0", "poweroff",
        ];
        let transcript = session(&machine, &lines, TIMEOUT);
        let what = describe(&machine);
        let everything = format!("{transcript:#?}");
        assert_eq!(transcript.status, Some(0), "{what}: {everything}");
        for index in [0, 2] {
            assert_eq!(
                transcript.output(index),
                "init: login shell /bin/sh failed at start (status 3), 1 of 2 in a row; \
                 starting a new one in 100ms\n",
                "{what}: {everything}"
            );
        }
        for index in [1, 3, 4, 5] {
            assert_eq!(
                transcript.output(index),
                "init: login shell ended (status 0); starting a new one\n",
                "{what}: {everything}"
            );
        }
        assert!(!everything.contains("2 of 2"), "{what}: {everything}");
        assert!(!everything.contains("powering off"), "{what}: {everything}");
    }
}

/// A shell that lived longer than the start window does not count, even
/// with a non-zero status, and resets the count: `exit 3`, then a shell
/// that sleeps past the window and exits 3, then two quick `exit 3`s —
/// only the last two make the row that ends the session.
#[test]
fn a_shell_that_outlived_the_start_window_resets_the_count() {
    for (mut machine, _disk) in system_machines() {
        machine.append = "init=/bin/init --failures 2 --delay 100 --start-window 4000".into();
        let lines = ["exit 3", "sleep 5; exit 3", "exit 3", "exit 3"];
        let transcript = session(&machine, &lines, TIMEOUT);
        let what = describe(&machine);
        let everything = format!("{transcript:#?}");
        assert_eq!(transcript.status, Some(1), "{what}: {everything}");
        let first_of_two =
            "init: login shell /bin/sh failed at start (status 3), 1 of 2 in a row; \
             starting a new one in 100ms\n";
        assert_eq!(transcript.output(0), first_of_two, "{what}: {everything}");
        assert_eq!(
            transcript.output(1),
            "init: login shell ended (status 3); starting a new one\n",
            "{what}: {everything}"
        );
        assert_eq!(transcript.output(2), first_of_two, "{what}: {everything}");
        assert!(
            transcript.tail.contains(
                "init: login shell /bin/sh failed at start 2 times in a row \
                 (last: status 3); powering off"
            ),
            "{what}: {everything}"
        );
        assert!(
            transcript.tail.contains("init exited with status 1"),
            "{what}: {everything}"
        );
    }
}
