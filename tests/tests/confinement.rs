// SPDX-License-Identifier: MIT OR Apache-2.0
//! Confinement: the escape suite, run inside the guest, tries
//! every known way out of an xchroot domain; each must be blocked, the
//! secret must never appear, and the behaviour checks (the 2014 seed's
//! own scenario, writes through a read-write `/...` directory) must hold.
//! The live-object techniques (stale
//! descriptors, removed `/...` entries and roots, a renamed current
//! directory, a file renamed over an open one, a hard link's last name, a
//! running program's file) are in the same list; `live_files.rs` meets
//! the same cases from the shell.
#![forbid(unsafe_code)]

use guest_tests::*;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(120);

const TECHNIQUES: [&str; 24] = [
    "closed-directory-fd",
    "kept-fd-climb",
    "renamed-cwd",
    "renamed-kept-directory",
    "hardlinked-directory",
    "dots-directory-climb",
    "symlinks",
    "dotdot-spellings",
    "reserved-names",
    "immutable",
    "read-only-dots",
    "exec-through-dots",
    "kill-non-descendant",
    "dots-sharing",
    "stale-read-fd",
    "stale-write-fd",
    "removed-dots-file",
    "removed-dots-directory",
    "removed-root",
    "renamed-cwd-relative",
    "renamed-over-open-file",
    "hardlink-last-name",
    "running-program-file",
    "xchroot-arguments",
];

#[test]
fn every_escape_technique_is_blocked_and_the_secret_never_appears() {
    for (mut machine, disk) in system_machines() {
        machine.append = "init=/bin/escape".into();
        let boot = boot(&machine, b"", TIMEOUT);
        let what = describe(&machine);
        for technique in TECHNIQUES {
            let line = boot.expect_line(&format!("escape: {technique}: "));
            assert_eq!(
                line.trim_end(),
                format!("escape: {technique}: blocked"),
                "{what}:\n{}",
                boot.output
            );
        }
        boot.expect_line(&format!(
            "escape suite: {} of {} techniques blocked",
            TECHNIQUES.len(),
            TECHNIQUES.len()
        ));
        assert!(
            !boot.output.contains("TOPSECRET"),
            "{what}: the secret appeared:\n{}",
            boot.output
        );
        assert!(!boot.output.contains("ESCAPED"), "{what}:\n{}", boot.output);
        boot.expect_line("behaviour: seed-scenario: ok");
        boot.expect_line("behaviour: persist-through-dots: ok");
        boot.expect_status(0);
        // The file written through a read-write `/...` directory is on disk.
        assert_eq!(
            ext2l_cat(disk.path(), "/home/user/through-dots.txt"),
            "written through /...\n",
            "{what}"
        );
        assert_ext2l_clean(disk.path(), &what);
    }
}
