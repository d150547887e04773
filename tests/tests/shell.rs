// SPDX-License-Identifier: MIT OR Apache-2.0
//! Console and shell: a session typed at the prompt, every
//! output compared; files persist across boots; Ctrl-C stops a spinning
//! program; a faulting program is reported and the shell goes on; lines
//! typed before the prompt appears are run in order. The scripted session
//! and type-ahead run on every machine model (x86_64 `q35` included, as a
//! smoke test of its console); the rest on each architecture's default.
#![forbid(unsafe_code)]

use guest_tests::*;
use std::time::Duration;

const STEP: Duration = Duration::from_secs(60);

#[test]
fn a_scripted_session_prints_exactly_what_it_should() {
    let script: [(&str, &str); 19] = [
        ("cd $HOME", ""),
        ("echo hello world", "hello world\n"),
        ("echo one > a.txt", ""),
        ("echo two >> a.txt", ""),
        ("cat a.txt", "one\ntwo\n"),
        ("cat a.txt | wc -l", "2\n"),
        ("mkdir d; mkdir d/e; mkdir d/e/f", ""),
        ("ls d/e", "f\n"),
        ("cp a.txt d/e/f/b.txt", ""),
        ("cat d/e/f/b.txt", "one\ntwo\n"),
        ("mv a.txt c.txt", ""),
        ("ls -1", "c.txt\nd\n"),
        ("rm -r d", ""),
        ("ls -1", "c.txt\n"),
        ("cat nosuch", "cat: nosuch: No such file or directory\n"),
        ("echo status=$?", "status=1\n"),
        ("false || echo failed", "failed\n"),
        ("true && echo ok; echo after", "ok\nafter\n"),
        (
            "echo \"quoted  $HOME\" 'single $HOME'",
            "quoted  /.../home/user single $HOME\n",
        ),
    ];
    // On every machine model: the console's receive interrupt reaches the
    // kernel differently on each (GIC, microvm's and q35's I/O APIC).
    for (machine, _disk) in with_system_disk(machine_models()) {
        assert_scripted_session(&machine, &script, STEP);
    }
}

#[test]
fn files_persist_across_two_boots_and_the_volume_stays_clean() {
    for (machine, disk) in system_machines() {
        let first = session(
            &machine,
            &["cd $HOME", "echo persist-me > keep.txt", "poweroff"],
            STEP,
        );
        assert_eq!(first.status, Some(0), "{first:#?}");
        let second = session(&machine, &["cat $HOME/keep.txt", "poweroff"], STEP);
        assert_eq!(second.output(0), "persist-me\n", "{second:#?}");
        assert_ext2l_clean(disk.path(), &describe(&machine));
    }
}

#[test]
fn control_c_stops_a_spinning_program_and_the_prompt_returns() {
    for (machine, _disk) in system_machines() {
        let steps = [
            Step::Start("spin", Duration::from_secs(2)),
            Step::Keys(b"\x03"),
            Step::Line("echo back"),
            Step::Line("poweroff"),
        ];
        let transcript = session_steps(&machine, &steps, STEP);
        assert_eq!(transcript.output(2), "back\n", "{transcript:#?}");
        assert_eq!(transcript.status, Some(0), "{transcript:#?}");
    }
}

/// Ctrl-C reaches the shell as `SIGINT` reaches dash: a loop whose
/// program it ended stops (status 130), a loop of builtins alone stops
/// too (the shell asks the kernel between commands), and an `INT` trap
/// runs instead, the shell going on after it.
#[test]
fn control_c_ends_a_loop_and_runs_an_int_trap() {
    for (machine, _disk) in system_machines() {
        let what = describe(&machine);
        let pause = Duration::from_secs(2);
        let steps = [
            Step::Start("while true; do spin; done; echo not-reached", pause),
            Step::Keys(b"\x03"),
            Step::Line("echo status=$?"),
            Step::Start("while :; do :; done; echo not-reached", pause),
            Step::Keys(b"\x03"),
            Step::Line("echo status=$?"),
            Step::Start("trap 'echo caught' INT; spin; echo after-trap", pause),
            Step::Keys(b"\x03"),
            Step::Line("poweroff"),
        ];
        let transcript = session_steps(&machine, &steps, STEP);
        // What two exchanges printed, a line each (the echo of the typed
        // command is a line of its own).
        let printed = |first: usize| -> Vec<String> {
            format!(
                "{}{}",
                transcript.output(first),
                transcript.output(first + 1)
            )
            .lines()
            .map(str::to_owned)
            .collect()
        };
        let has = |lines: &[String], wanted: &str| lines.iter().any(|line| line == wanted);
        let first = printed(0);
        assert!(
            has(&first, "sh: spin: interrupted") && !has(&first, "not-reached"),
            "{what}: {transcript:#?}"
        );
        assert_eq!(
            transcript.output(2),
            "status=130\n",
            "{what}: {transcript:#?}"
        );
        assert!(!has(&printed(3), "not-reached"), "{what}: {transcript:#?}");
        assert_eq!(
            transcript.output(5),
            "status=130\n",
            "{what}: {transcript:#?}"
        );
        let trapped = printed(6);
        assert!(
            has(&trapped, "caught")
                && has(&trapped, "after-trap")
                && !has(&trapped, "sh: spin: interrupted"),
            "{what}: {transcript:#?}"
        );
        assert_eq!(transcript.status, Some(0), "{what}: {transcript:#?}");
    }
}

#[test]
fn a_faulting_program_is_reported_and_the_shell_goes_on() {
    for (machine, _disk) in system_machines() {
        let transcript = session(
            &machine,
            &["fault --child unmapped 0", "echo still-here", "poweroff"],
            STEP,
        );
        // The kernel's one-line report, then the shell's.
        let report = transcript.output(0);
        assert!(
            report.contains("(fault) killed: page fault")
                && report.contains("sh: fault: memory fault"),
            "{transcript:#?}"
        );
        assert_eq!(transcript.output(1), "still-here\n", "{transcript:#?}");
        assert_eq!(transcript.status, Some(0), "{transcript:#?}");
    }
}

#[test]
fn lines_typed_before_the_prompt_run_in_order() {
    for (machine, _disk) in with_system_disk(machine_models()) {
        let boot = boot(
            &machine,
            b"echo typeahead-1\necho typeahead-2\npoweroff\n",
            STEP,
        );
        // The echo of what was typed appears when it arrives; the output
        // is a line of its own (or follows a prompt).
        let position = |word: &str| {
            boot.output
                .lines()
                .position(|line| line.ends_with(word) && !line.contains("echo"))
        };
        let (first, second) = (position("typeahead-1"), position("typeahead-2"));
        assert!(
            first.is_some() && second.is_some() && first < second,
            "{}:\n{}",
            describe(&machine),
            boot.output
        );
        boot.expect_status(0);
    }
}
