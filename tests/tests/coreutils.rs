// SPDX-License-Identifier: MIT OR Apache-2.0
//! The coreutils: each command runs as init on the
//! machine's private copy of the system image, so a sequence of boots
//! works on one disk as a shell session would; the disk must check clean
//! afterwards. Output, messages in the usual form and exit statuses (0,
//! 1 for a failure, 2 for a usage error) are asserted.
//!
//! `/bin/NAME` is the launcher: the program runs confined and
//! sees each file argument under a `/.../N` name, so names in its output
//! and messages are the rewritten ones, and these tests compare what
//! does not depend on them.
#![forbid(unsafe_code)]

use guest_tests::*;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(90);

/// Boots `machine` with `init=COMMAND`.
fn run(machine: &Machine, command: &str) -> Boot {
    let mut machine = machine.clone();
    machine.append = format!("init={command}");
    boot(&machine, b"", TIMEOUT)
}

/// The lines init printed, between the kernel's `started` and `exited`.
fn printed(boot: &Boot) -> Vec<&str> {
    boot.output
        .lines()
        .skip_while(|line| !line.contains("init: started"))
        .skip(1)
        .take_while(|line| !line.starts_with("init exited"))
        .collect()
}

/// Runs `command`, expects `status`, returns the lines it printed.
fn expect(machine: &Machine, command: &str, status: i32) -> Vec<String> {
    let boot = run(machine, command);
    assert!(
        !boot.output.contains("panicked") && !boot.output.contains("PANIC"),
        "{command}:\n{}",
        boot.output
    );
    boot.expect_line(&format!("init exited with status {status}"));
    printed(&boot).into_iter().map(str::to_string).collect()
}

#[test]
fn ls_and_stat_describe_the_installed_programs() {
    for (machine, _disk) in system_machines() {
        let lines = expect(&machine, "/bin/ls -l /bin", 0);
        assert!(lines[0].starts_with("total "), "{lines:?}");
        let ls: Vec<&str> = lines
            .iter()
            .find(|line| line.ends_with(" ls"))
            .unwrap_or_else(|| panic!("no ls in {lines:?}"))
            .split_whitespace()
            .collect();
        assert_eq!(ls[0], "-rwxr-xr-x", "{ls:?}");
        assert_eq!(ls[2..4], ["0", "0"], "{ls:?}");
        let lines = expect(&machine, "/bin/stat /bin/ls", 0);
        assert!(
            lines
                .iter()
                .any(|line| line.starts_with("  File: /...") && line.ends_with("/ls")),
            "{lines:?}"
        );
        for expected in [
            " Flags: 0x00000010 (immutable)",
            "Access: (0755/-rwxr-xr-x)  Uid: 0  Gid: 0",
        ] {
            assert!(
                lines.iter().any(|line| line == expected),
                "{expected}: {lines:?}"
            );
        }
    }
}

/// The fields of `line` after the mode, links, uid, gid and size, which
/// are the date, the time and the name: `(mode, links, size, name)`.
fn long_fields(line: &str) -> (String, String, String, String) {
    let fields: Vec<&str> = line.split_whitespace().collect();
    assert!(fields.len() >= 8, "{line}");
    (
        fields[0].to_string(),
        fields[1].to_string(),
        fields[4].to_string(),
        fields[7..].join(" "),
    )
}

#[test]
fn file_commands_change_the_disk_as_asked() {
    for (machine, disk) in system_machines() {
        // Launched, `mkdir -p` gets the deepest directory that exists
        // (`/home/user`, as `/.../1`) and makes the rest; `-p` still
        // accepts what exists.
        for command in [
            "/bin/mkdir -p /home/user/t/a/b",
            "/bin/mkdir -p /home/user/t/a/b",
            "/bin/touch /home/user/t/a/b/empty",
            "/bin/cp /etc/motd /home/user/t/motd",
            "/bin/ln /home/user/t/motd /home/user/t/hard",
            "/bin/cp -r /home/user/t/a /home/user/t/c",
            "/bin/mv /home/user/t/c /home/user/t/d",
        ] {
            assert_eq!(
                expect(&machine, command, 0),
                Vec::<String>::new(),
                "{command}"
            );
        }
        let lines = expect(&machine, "/bin/ls -l /home/user/t /home/user/t/d/b", 0);
        // Headers (`NAME:`), `total N`, entries, a blank line between.
        let entries: Vec<(String, String, String, String)> = lines
            .iter()
            .filter(|line| !line.is_empty() && !line.ends_with(':') && !line.starts_with("total "))
            .map(|line| long_fields(line))
            .collect();
        let names: Vec<&str> = entries.iter().map(|entry| entry.3.as_str()).collect();
        assert_eq!(names, ["a", "d", "hard", "motd", "empty"], "{lines:?}");
        assert_eq!(entries[0].0, "drwxr-xr-x", "{lines:?}");
        assert_eq!(
            (
                entries[2].0.as_str(),
                entries[2].1.as_str(),
                entries[2].2.as_str()
            ),
            ("-rw-r--r--", "2", "17"),
            "{lines:?}"
        );
        assert_eq!(
            lines.iter().filter(|line| line.ends_with(':')).count(),
            2,
            "{lines:?}"
        );
        assert_eq!(
            expect(&machine, "/bin/cat /home/user/t/hard", 0),
            ["Welcome to Manux"]
        );
        let counts: Vec<Vec<String>> = expect(
            &machine,
            "/bin/wc /home/user/t/motd /home/user/t/d/b/empty",
            0,
        )
        .iter()
        .map(|line| {
            line.split_whitespace()
                .take(3)
                .map(str::to_string)
                .collect()
        })
        .collect();
        assert_eq!(
            counts,
            [["1", "3", "17"], ["0", "0", "0"], ["1", "3", "17"]]
        );
        assert_eq!(
            expect(&machine, "/bin/rm -r /home/user/t", 0),
            Vec::<String>::new()
        );
        let listing = ext2l(&["ls", &disk.path().to_string_lossy(), "/home/user"]);
        assert!(
            !String::from_utf8_lossy(&listing.stdout).contains('t'),
            "{listing:?}"
        );
        assert_ext2l_clean(disk.path(), &describe(&machine));
    }
}

#[test]
fn failures_are_reported_in_the_usual_form() {
    // (command, status, the start and the end of the message): the
    // middle is the argument, as given or as the launcher renamed it.
    let cases = [
        (
            "/bin/cat /nonexistent",
            1,
            "cat: ",
            ": No such file or directory",
        ),
        ("/bin/rm /bin/ls", 1, "rm: ", "ls: Operation not permitted"),
        ("/bin/rm /home", 1, "rm: ", "home: Is a directory"),
        (
            "/bin/ln /bin /home/user/bin",
            1,
            "ln: ",
            "bin: Operation not permitted",
        ),
        ("/bin/mkdir /home", 1, "mkdir: ", "home: File exists"),
        (
            "/bin/head -n x /etc/motd",
            2,
            "head: invalid number of lines: 'x'",
            "",
        ),
        (
            "/bin/env nosuch",
            127,
            "env: nosuch: No such file or directory",
            "",
        ),
    ];
    for (machine, _disk) in system_machines() {
        for (command, status, start, end) in cases {
            let lines = expect(&machine, command, status);
            assert!(
                lines
                    .iter()
                    .any(|line| line.starts_with(start) && line.ends_with(end)),
                "{command}: {lines:?}"
            );
        }
        assert_eq!(expect(&machine, "/bin/false", 1), Vec::<String>::new());
        assert_eq!(expect(&machine, "/bin/true", 0), Vec::<String>::new());
    }
}

#[test]
fn text_commands_print_what_they_are_asked() {
    for (machine, _disk) in system_machines() {
        assert_eq!(expect(&machine, "/bin/echo a  b", 0), ["a b"]);
        assert_eq!(
            expect(&machine, "/bin/head -n 1 /etc/motd", 0),
            ["Welcome to Manux"]
        );
        assert_eq!(expect(&machine, "/bin/tail -c 6 /etc/motd", 0), ["Manux"]);
        assert_eq!(
            expect(&machine, "/bin/cat -n /etc/motd", 0),
            ["     1\tWelcome to Manux"]
        );
        assert_eq!(expect(&machine, "/bin/env -i A=1 B=2", 0), ["A=1", "B=2"]);
        assert_eq!(
            expect(&machine, "/bin/env -i PATH=/bin X=y env", 0),
            ["PATH=/bin", "X=y"]
        );
        let boot = run(&machine, "/bin/sleep 0.3");
        boot.expect_status(0);
    }
}
