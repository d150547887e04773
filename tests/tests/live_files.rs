// SPDX-License-Identifier: MIT OR Apache-2.0
//! Live file objects (DESIGN §4 object
//! lifetime, §5) as a user meets them at the shell: a current directory
//! is the directory itself, not its name — after `mv` renames it, `cat f`
//! still reads its file, new files (the shell's redirections, a launched
//! `touch`, a script run with `sh FILE`) land in it, `pwd` prints the
//! names it was reached by and `..` climbs the way in; a removed current
//! directory lists nothing and creating in it fails with "No such file or
//! directory"; a descriptor of a removed file reads that file and writes
//! only that file, never the next file created (`sh -c 'rm sf; echo
//! intruder > sn; cat' < sf`), also after a file is renamed over it or a
//! hard link's last name goes; a file or directory handed in `/...` and
//! then removed is never another one; a running program's file cannot be
//! removed. The volume checks clean afterwards.
//!
//! The same cases, attacked from a confined domain with an accomplice
//! outside (and a removed root, which a user cannot arrange from the
//! shell), are techniques of the escape suite (`confinement.rs`).
#![forbid(unsafe_code)]

use guest_tests::*;
use std::time::Duration;

const STEP: Duration = Duration::from_secs(60);

/// Types each line of `script` at the prompt, then `poweroff`; asserts
/// that every line printed exactly what it should — all the lines that
/// did not, in one message — and that the machine powered off cleanly.
fn assert_every_line(machine: &Machine, script: &[(&str, &str)]) {
    let mut lines: Vec<&str> = script.iter().map(|(line, _)| *line).collect();
    lines.push("poweroff");
    let transcript = session(machine, &lines, STEP);
    let what = describe(machine);
    let mut wrong = Vec::new();
    for (index, (line, expected)) in script.iter().enumerate() {
        let printed = transcript
            .exchanges
            .get(index)
            .map_or("(the session ended before)", |exchange| &exchange.output);
        if printed != *expected {
            wrong.push(format!(
                "`{line}`\n    expected {expected:?}\n    printed  {printed:?}"
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{what}: {} of {} lines printed something else:\n{}\n{transcript:#?}",
        wrong.len(),
        script.len(),
        wrong.join("\n")
    );
    assert_eq!(
        transcript.status,
        Some(0),
        "{what}: poweroff must end the machine cleanly\n{transcript:#?}"
    );
}

#[test]
fn renamed_and_removed_files_and_directories_stay_themselves() {
    let script: &[(&str, &str)] = &[
        ("cd $HOME", ""),
        ("echo 'cat f; echo from-script > s' > script", ""),
        // A current directory renamed by another program
        // (../shared/acceptance/10-live-files.sh).
        ("mkdir -p lv/a", ""),
        ("cd lv/a", ""),
        ("echo one > f", ""),
        ("mv /.../home/user/lv /.../home/user/lw", ""),
        ("cat f", "one\n"),
        ("echo two > g", ""),
        ("touch t", ""),
        ("sh $HOME/script", "one\n"),
        ("pwd", "/.../home/user/lv/a\n"),
        ("ls", "f\ng\ns\nt\n"),
        ("ls ..", "a\n"),
        ("cat ../../script", "cat f; echo from-script > s\n"),
        ("cd ..", ""),
        ("pwd", "/.../home/user/lv\n"),
        ("cd /.../home/user", ""),
        ("cat lw/a/g", "two\n"),
        ("ls lw/a", "f\ng\ns\nt\n"),
        // A removed current directory.
        ("mkdir gone", ""),
        ("cd gone", ""),
        ("rmdir /.../home/user/gone", ""),
        ("ls", ""),
        ("touch x", "touch: x: No such file or directory\n"),
        ("echo x > y", "sh: y: No such file or directory\n"),
        ("pwd", "/.../home/user/gone\n"),
        ("cd ..", ""),
        ("ls", "lw\nscript\n"),
        // A descriptor of a removed file: reads it, writes it, never the
        // file created next.
        ("echo original > sf", ""),
        ("sh -c 'rm sf; echo intruder > sn; cat' < sf", "original\n"),
        ("echo mine > wf", ""),
        ("sh -c 'rm wf; echo intruder > wn; echo graffiti' >> wf", ""),
        ("cat sn wn", "intruder\nintruder\n"),
        // A file renamed over an open one.
        ("echo old > of", ""),
        ("echo new > nf", ""),
        ("sh -c 'mv nf of; cat' < of", "old\n"),
        ("cat of", "new\n"),
        // A hard link: one name gone, then the last.
        ("echo linked > l1", ""),
        ("ln l1 l2", ""),
        (
            "sh -c 'rm l1; cat l2; rm l2; echo intruder > l3; cat' < l1",
            "linked\nlinked\n",
        ),
        ("cat l3", "intruder\n"),
        // A file and a directory handed in /..., removed by their owner.
        ("echo handed > hf", ""),
        (
            "xchroot put hf handed -- sh -c 'rm /.../home/user/hf; echo intruder > /.../home/user/hn; cat /.../handed'",
            "handed\n",
        ),
        ("mkdir hd", ""),
        (
            "xchroot put hd hd rw -- sh -c 'rmdir /.../home/user/hd; mkdir nd; echo intruder > nd/s; ls /.../hd; touch /.../hd/x'",
            "touch: /.../hd/x: No such file or directory\n",
        ),
        ("ls nd", "s\n"),
        // A running program's file cannot be removed; it runs on.
        (
            "sh -c 'rm /bin/sh; echo still running'",
            "rm: /.../1/sh: Operation not permitted\nstill running\n",
        ),
        ("cat /etc/motd", "Welcome to Manux\n"),
        ("rm -r sn wn of l3 hn nd script", ""),
        ("ls", "lw\n"),
    ];
    for (machine, disk) in system_machines() {
        assert_every_line(&machine, script);
        let what = describe(&machine);
        assert_eq!(
            ext2l_cat(disk.path(), "/home/user/lw/a/f"),
            "one\n",
            "{what}"
        );
        assert_eq!(
            ext2l_cat(disk.path(), "/home/user/lw/a/g"),
            "two\n",
            "{what}"
        );
        assert_eq!(
            ext2l_cat(disk.path(), "/home/user/lw/a/s"),
            "from-script\n",
            "{what}"
        );
        assert_ext2l_clean(disk.path(), &what);
    }
}
