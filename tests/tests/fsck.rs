// SPDX-License-Identifier: MIT OR Apache-2.0
//! The root repaired at boot (`fsck=`): a volume without a journal that
//! was cut off while mounted, and damaged, is repaired before it is
//! mounted — every repair on the console — and then mounted writable and
//! clean; with `fsck=check` it is mounted read-only instead. (A system
//! volume whose damage was recorded while running is in
//! `durability.rs`.)
#![forbid(unsafe_code)]

use guest_tests::*;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(60);

/// A plain ext2 volume (no journal) holding `/motd` and `/victim`, with
/// `/victim`'s first block pointer outside the volume, the free-block
/// count wrong, and the state of a volume cut off while mounted.
fn damaged_ext2_disk() -> tempfile::NamedTempFile {
    let content = tempfile::tempdir().unwrap();
    std::fs::write(content.path().join("motd"), "Welcome to Manux\n").unwrap();
    std::fs::write(content.path().join("victim"), "y".repeat(10_000)).unwrap();
    let disk = scratch_disk(16 << 20);
    let made = Command::new("mke2fs")
        .args([
            "-q", "-F", "-t", "ext2", "-L", "testvol", "-b", "4096", "-d",
        ])
        .arg(content.path())
        .arg(disk.path())
        .status()
        .expect("running mke2fs");
    assert!(made.success());
    debugfs_write(disk.path(), "sif /victim block[0] 4000000000");
    debugfs_write(disk.path(), "ssv free_blocks_count 17");
    debugfs_write(disk.path(), "ssv state 0");
    disk
}

fn debugfs_write(image: &Path, request: &str) {
    let output = Command::new("debugfs")
        .args(["-w", "-R", request])
        .arg(image)
        .output()
        .expect("running debugfs");
    assert!(output.status.success(), "debugfs {request}: {output:?}");
}

#[test]
fn a_damaged_volume_cut_off_without_a_journal_is_repaired_at_boot() {
    for mut machine in default_machines() {
        let what = describe(&machine);
        let disk = damaged_ext2_disk();
        assert!(!e2fsck_report(disk.path()).0, "the damage must be real");
        machine.disks = vec![disk.path().to_path_buf()];
        machine.append = "test=fs-write".into();
        let boot = boot(&machine, b"", TIMEOUT);
        boot.expect_line(
            "fsck: the volume was not cleanly unmounted and has no journal; repairing it",
        );
        // Each repair is told, the pointer among them.
        let repairs: Vec<&str> = boot
            .output
            .lines()
            .filter(|line| line.contains("fsck: ") && !line.contains("repairing it"))
            .collect();
        assert!(repairs.len() >= 2, "{what}:\n{}", boot.output);
        assert!(
            repairs.iter().any(|line| line.contains("victim")),
            "{what}: the bad pointer of /victim\n{}",
            boot.output
        );
        boot.expect_line("fsck: the volume is clean");
        let mounted = boot.expect_line("root: mounted ext2 volume 'testvol' as /");
        assert!(!mounted.contains("read-only"), "{what}: {mounted}");
        boot.expect_line("self test: wrote /selftest/hello.txt (28 bytes)");
        boot.expect_status(0);
        let (clean, report) = e2fsck_report(disk.path());
        assert!(clean, "{what}: e2fsck after the repair:\n{report}");
        assert_eq!(ext2l_cat(disk.path(), "/motd"), "Welcome to Manux\n");
        assert_eq!(
            ext2l_cat(disk.path(), "/selftest/hello.txt"),
            "written by the Manux kernel\n"
        );
        // The next boot finds nothing to repair.
        let again = boot_again(&machine);
        assert!(
            !again.output.contains("fsck: "),
            "{what}:\n{}",
            again.output
        );
    }
}

fn boot_again(machine: &Machine) -> Boot {
    let boot = boot(machine, b"", TIMEOUT);
    boot.expect_status(0);
    boot
}

#[test]
fn with_fsck_check_a_damaged_volume_is_mounted_read_only_and_left_alone() {
    for mut machine in default_machines() {
        let what = describe(&machine);
        let disk = damaged_ext2_disk();
        let before = std::fs::read(disk.path()).unwrap();
        machine.disks = vec![disk.path().to_path_buf()];
        machine.append = "fsck=check test=fs-write".into();
        let boot = boot(&machine, b"", TIMEOUT);
        boot.expect_line("not repaired (fsck=check)");
        let mounted = boot.expect_line("root: mounted ext2 volume 'testvol' as /");
        assert!(mounted.contains("read-only"), "{what}: {mounted}");
        assert!(boot.line_with("self test: wrote").is_none(), "{what}");
        assert_eq!(
            std::fs::read(disk.path()).unwrap(),
            before,
            "{what}: the volume was written"
        );
    }
}
