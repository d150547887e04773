// SPDX-License-Identifier: MIT OR Apache-2.0
//! The deliberately vulnerable demo (`apps/vulnerable`): it does
//! whatever its script says, as an exploited program would, and the
//! launcher's confinement is all that stands in its way. Launched from
//! the shell with a read-only script and argument file and a writable
//! work directory, it can read its argument files and its own root, and
//! write only in the work directory; it cannot write its read-only
//! argument, create files next to its arguments, run the binary it
//! dropped, reach any other file of the home by any spelling, see a
//! program its package does not hold, or run a launcher it was handed
//! as an argument. The secret in the home never
//! appears in anything printed.
#![forbid(unsafe_code)]

use guest_tests::*;
use std::time::Duration;

const STEP: Duration = Duration::from_secs(60);

/// Planted in the home, never handed to the program.
const SECRET: &str = "TOPSECRET-51c9";

/// Each command of the script, and what the program must print for it
/// (after `vulnerable: COMMAND: `). `None`: checked separately.
const ATTACKS: &[(&str, Option<&str>)] = &[
    // What it was handed, and its own root.
    ("read arg.txt", Some("12 bytes: handed-over")),
    ("list /", Some("bin")),
    ("list /bin", Some("vulnerable")),
    // Its view of the home holds only what it was handed.
    ("list .", Some("arg.txt script work")),
    ("list /...", Some("1 home")),
    ("list /.../home/user", Some("arg.txt script work")),
    // The rest of the home, by every spelling.
    ("read secret.txt", Some("No such file or directory")),
    (
        "read /.../home/user/secret.txt",
        Some("No such file or directory"),
    ),
    ("read ../user/secret.txt", Some("No such file or directory")),
    (
        "read /../../home/user/secret.txt",
        Some("No such file or directory"),
    ),
    (
        "read /home/user/secret.txt",
        Some("No such file or directory"),
    ),
    // Files of the system its package does not declare.
    ("read /etc/motd", Some("No such file or directory")),
    ("exec /bin/sh", Some("No such file or directory")),
    // Its read-only argument, and the read-only directory around it.
    ("write arg.txt", Some("Permission denied")),
    ("write new.txt", Some("Permission denied")),
    // The writable directory it was handed: it may write there...
    ("write work/dropped.txt", Some("written")),
    ("copy /bin/vulnerable work/dropped", None),
    // ...but what it drops there never runs, by any name.
    ("exec work/dropped", Some("Permission denied")),
    (
        "exec /.../home/user/work/dropped",
        Some("Permission denied"),
    ),
];

#[test]
fn an_exploited_program_reaches_only_what_it_was_handed() {
    let mut setup: Vec<String> = vec![
        "cd $HOME".into(),
        format!("echo {SECRET} > secret.txt"),
        "echo handed-over > arg.txt".into(),
        "mkdir work".into(),
    ];
    for (attack, _) in ATTACKS {
        setup.push(format!("echo '{attack}' >> script"));
    }
    let run = setup.len();
    let mut lines: Vec<&str> = setup.iter().map(String::as_str).collect();
    lines.extend([
        "vulnerable -w work script arg.txt /bin/cat",
        "cat arg.txt",
        "ls",
        "ls work",
        "poweroff",
    ]);
    for (machine, _disk) in system_machines() {
        let transcript = session(&machine, &lines, STEP);
        let what = describe(&machine);
        for (index, line) in lines.iter().enumerate().take(run) {
            assert_eq!(transcript.output(index), "", "{what}: `{line}`");
        }
        let printed: Vec<&str> = transcript.output(run).lines().collect();
        assert_eq!(
            printed.len(),
            ATTACKS.len(),
            "{what}: one line per command\n{transcript:#?}"
        );
        for ((attack, expected), line) in ATTACKS.iter().zip(&printed) {
            let prefix = format!("vulnerable: {attack}: ");
            let outcome = line
                .strip_prefix(&prefix)
                .unwrap_or_else(|| panic!("{what}: `{attack}` printed {line:?}"));
            match expected {
                Some(expected) => assert_eq!(outcome, *expected, "{what}: `{attack}`"),
                // A size that depends on the build: a copy, or a read.
                None => assert!(
                    outcome.starts_with("copied ") && outcome.ends_with(" bytes")
                        || outcome.contains(" bytes: "),
                    "{what}: `{attack}`: {outcome}"
                ),
            }
        }
        // The read-only argument is intact, nothing appeared beside it,
        // and the work directory holds what was dropped.
        assert_eq!(transcript.output(run + 1), "handed-over\n", "{what}");
        assert_eq!(
            transcript.output(run + 2),
            "arg.txt\nscript\nsecret.txt\nwork\n",
            "{what}"
        );
        assert_eq!(
            transcript.output(run + 3),
            "dropped\ndropped.txt\n",
            "{what}"
        );
        for exchange in &transcript.exchanges {
            assert!(
                !exchange.output.contains(SECRET),
                "{what}: the secret leaked after `{}`",
                exchange.command
            );
        }
        assert!(!transcript.tail.contains(SECRET), "{what}");
        assert_eq!(
            transcript.status,
            Some(0),
            "{what}: poweroff must end the machine cleanly\n{transcript:#?}"
        );
    }
}
