// SPDX-License-Identifier: MIT OR Apache-2.0
//! Orphans survive a power cut as ext3's orphan list, and the next boot
//! frees them (live file objects): a file removed while a program still
//! reads it is kept, listed on disk at `sync`, and when the machine stops
//! without powering off the next mount frees it — no inode or block is
//! leaked, and the volume checks clean.
#![forbid(unsafe_code)]

use guest_tests::*;
use std::time::Duration;

const STEP: Duration = Duration::from_secs(60);

#[test]
fn a_power_cut_with_an_open_removed_file_leaks_nothing() {
    for (machine, disk) in system_machines() {
        let what = describe(&machine);
        // The inner shell holds `held.txt` as its input; it removes the
        // name, syncs (the orphan list reaches the disk) and sleeps: the
        // machine is stopped then, without powering off.
        let first = session_steps(
            &machine,
            &[
                Step::Line("cd $HOME"),
                Step::Line("echo still-mine > held.txt"),
                Step::Start(
                    "sh -c 'rm held.txt; sync; echo removed-and-synced; sleep 600' < held.txt",
                    Duration::from_secs(4),
                ),
            ],
            Duration::from_secs(8),
        );
        assert_eq!(first.status, None, "{what}: the guest was to be cut off");
        assert!(
            first.tail.contains("removed-and-synced")
                || first.output(2).contains("removed-and-synced"),
            "{what}: {first:#?}"
        );
        // On the host: one orphan listed, otherwise clean — the volume
        // was in use (its journal marked for recovery), which is exit 1.
        let checked = ext2l(&[std::ffi::OsStr::new("check"), disk.path().as_os_str()]);
        let report = String::from_utf8_lossy(&checked.stdout);
        assert!(
            matches!(checked.status.code(), Some(0 | 1)),
            "{what}: {report}"
        );
        assert!(report.contains("1 orphan inode"), "{what}: {report}");
        // The next boot frees it; the volume is then clean with no orphan.
        let second = session(&machine, &["ls $HOME", "poweroff"], STEP);
        assert!(
            second
                .boot_log
                .contains("root: freed 1 orphan inode(s) left by the last boot"),
            "{what}: {second:#?}"
        );
        assert!(
            !second.output(0).contains("held.txt"),
            "{what}: {second:#?}"
        );
        assert_eq!(second.status, Some(0), "{what}: {second:#?}");
        let checked = ext2l(&[std::ffi::OsStr::new("check"), disk.path().as_os_str()]);
        let report = String::from_utf8_lossy(&checked.stdout);
        assert!(!report.contains("orphan inode"), "{what}: {report}");
        assert_ext2l_clean(disk.path(), &what);
    }
}
