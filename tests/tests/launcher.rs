// SPDX-License-Identifier: MIT OR Apache-2.0
//! The launcher (DESIGN §7) as a user meets it at the shell: file
//! arguments handed over under their `/...` names or under fresh ones
//! (`ls /bin/true` prints `/.../1/true`), relative names kept in the
//! caller's directory (`cat a b` in a subdirectory of home), outputs
//! created, `entry` arguments (`cp x .`, `mv`, `rm`, `touch`, `ln`),
//! `mkdir -p` through missing parents, `ln -s` whose target stays text,
//! words left alone, usage errors (status 2) and missing files (status 1)
//! reported with the program's name, and a confined program asking for a
//! file its caller was never handed (`env cat /.../home/user/notes.txt`:
//! env receives no file, so neither can the cat it runs). The installed
//! `#!/bin/sh` script `greet` runs through its launcher, confined (the
//! home file it was not handed is not there for it), while a script the
//! user wrote runs only as `sh FILE`, never by its path. Bad `#!` lines
//! (too long, no interpreter, a relative or missing interpreter, an
//! interpreter that is a script) are refused with their errno and a
//! kernel log line.
#![forbid(unsafe_code)]

use guest_tests::*;
use std::time::Duration;

const STEP: Duration = Duration::from_secs(60);

#[test]
fn launched_programs_get_exactly_their_arguments() {
    let script: &[(&str, &str)] = &[
        ("cd $HOME", ""),
        // DESIGN §7's example: a file in the caller's /... keeps its
        // name, any other gets a fresh one (the shell's /... holds only
        // `home`, so the first is 1).
        ("echo note > notes.txt", ""),
        ("cat -n notes.txt", "     1\tnote\n"),
        ("cat /.../home/user/notes.txt", "note\n"),
        // env is handed no file, so the cat it runs has none to get.
        (
            "env cat /.../home/user/notes.txt",
            "cat: /.../home/user/notes.txt: No such file or directory\n",
        ),
        ("ls /bin/true /etc", "/.../1/true\n\n/.../2/etc:\nmotd\n"),
        (
            "ls notes.txt /.../home/user/notes.txt",
            "/.../home/user/notes.txt\nnotes.txt\n",
        ),
        ("cat -n /etc/motd", "     1\tWelcome to Manux\n"),
        // An option's word value is not a file.
        ("head -n 1 /etc/motd", "Welcome to Manux\n"),
        // Outputs and entries are created in the caller's directory.
        ("cp /etc/motd copy", ""),
        ("cat copy", "Welcome to Manux\n"),
        ("mkdir d", ""),
        ("cd d", ""),
        ("cp ../copy .", ""),
        ("ls", "copy\n"),
        // Relative names from a subdirectory of home.
        ("echo A > a", ""),
        ("echo B > b", ""),
        ("cat a b", "A\nB\n"),
        ("mv a moved", ""),
        ("ls", "b\ncopy\nmoved\n"),
        ("cd ..", ""),
        // `mkdir -p` hands over the deepest directory that exists.
        ("mkdir -p p/q/r d/e/f", ""),
        ("ls p/q", "r\n"),
        ("ls d/e", "f\n"),
        ("mkdir s/t", "mkdir: s: No such file or directory\n"),
        // `ln -s`: the target is the link's text, not rewritten to a
        // `/...` name that would be gone once ln has ended.
        ("ln -s notes.txt link", ""),
        ("cat link", "note\n"),
        ("ln -s ../../notes.txt p/q/up", ""),
        ("cat p/q/up", "note\n"),
        // `touch` and a hard link: names in the home.
        ("touch empty", ""),
        ("ln empty hard", ""),
        ("ls", "copy\nd\nempty\nhard\nlink\nnotes.txt\np\n"),
        ("rm -r d p copy notes.txt link empty hard", ""),
        ("ls", ""),
        // Errors name the program and the file; usage errors are status 2.
        ("cat nothing", "cat: nothing: No such file or directory\n"),
        ("echo $?", "1\n"),
        ("cat -x", "cat: unknown option -x\n"),
        ("echo $?", "2\n"),
        // A virtual directory of /... is handed over by its leaves.
        ("ls /...", "home\n"),
        // An installed `#!/bin/sh` script (package greet): the kernel
        // runs its root's /bin/sh on it, confined like any program.
        ("printf 'one\\ntwo\\nthree\\n' > notes.txt", ""),
        (
            "greet you notes.txt",
            "Hello, you! notes.txt has 3 lines.\n",
        ),
        // It sees only what it is handed: $HOME/.plan is there, but not
        // for greet unless named on its command line.
        ("echo plan > .plan", ""),
        ("greet you", "greet: cannot read /.../home/user/.plan\n"),
        ("echo $?", "1\n"),
        ("greet me .plan", "Hello, me! .plan has 1 lines.\n"),
        // A file the user wrote never runs as a program, `#!` or not,
        // by any path; `sh FILE` reads it as a script.
        ("printf '#!/bin/sh\\necho ran $1\\n' > mine.sh", ""),
        ("./mine.sh x", "sh: ./mine.sh: Permission denied\n"),
        ("echo $?", "126\n"),
        (
            "/.../home/user/mine.sh x",
            "sh: /.../home/user/mine.sh: Permission denied\n",
        ),
        ("sh mine.sh x", "ran x\n"),
    ];
    for (machine, _disk) in system_machines() {
        assert_scripted_session(&machine, script, STEP);
    }
}

#[test]
fn bad_interpreter_lines_are_refused_clearly() {
    // shebang-refusals runs each immutable script of its root by path:
    // the kernel refuses every bad `#!` line with its errno and a log
    // line saying why, and runs the good one.
    let expected_output = "sh: /scripts/empty: Exec format error\n\
                           empty: 126\n\
                           inner one\n\
                           inner: 0\n\
                           sh: /scripts/long: Exec format error\n\
                           long: 126\n\
                           sh: /scripts/missing: No such file or directory\n\
                           missing: 127\n\
                           sh: /scripts/nested: Too many levels of symbolic links\n\
                           nested: 126\n\
                           sh: /scripts/relative: Exec format error\n\
                           relative: 126\n";
    let expected_log = [
        "exec: /scripts/empty: the `#!` line names no interpreter: Exec format error",
        "exec: /scripts/long: the `#!` line is longer than 256 bytes: Exec format error",
        "exec: /scripts/missing: interpreter /bin/nothing: No such file or directory",
        "exec: /scripts/nested: interpreter /scripts/inner is itself a `#!` script: Too many levels of symbolic links",
        "exec: /scripts/relative: the `#!` line's interpreter path is not absolute: Exec format error",
    ];
    for (machine, _disk) in system_machines() {
        let transcript = session(&machine, &["shebang-refusals", "poweroff"], STEP);
        let what = describe(&machine);
        let output = transcript.output(0);
        let (log, printed): (Vec<&str>, Vec<&str>) =
            output.lines().partition(|line| line.contains(" WARN "));
        let mut printed = printed.join("\n");
        printed.push('\n');
        assert_eq!(printed, expected_output, "{what}\n{transcript:#?}");
        assert_eq!(log.len(), expected_log.len(), "{what}\n{transcript:#?}");
        for (line, expected) in log.iter().zip(expected_log) {
            assert!(
                line.ends_with(expected),
                "{what}: {line:?}\n{transcript:#?}"
            );
        }
        assert_eq!(transcript.status, Some(0), "{what}\n{transcript:#?}");
    }
}
