// SPDX-License-Identifier: MIT OR Apache-2.0
//! The root file system: the kernel mounts the ext2
//! volume on the first disk through its block cache, reads files the host
//! put there, writes files the host then reads with e2fsprogs, leaves the
//! volume `e2fsck`-clean, and reports an unusable disk clearly.
#![forbid(unsafe_code)]

use guest_tests::*;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(60);

/// A disk made by `mke2fs -d` holding `/motd`.
fn ext2_disk(block_size: u32) -> tempfile::NamedTempFile {
    let content = tempfile::tempdir().unwrap();
    std::fs::write(content.path().join("motd"), "Welcome to Manux\n").unwrap();
    let disk = scratch_disk(16 << 20);
    let status = Command::new("mke2fs")
        .args([
            "-q",
            "-F",
            "-t",
            "ext2",
            "-L",
            "testvol",
            "-b",
            &block_size.to_string(),
            "-d",
        ])
        .arg(content.path())
        .arg(disk.path())
        .status()
        .expect("running mke2fs");
    assert!(status.success(), "mke2fs failed");
    disk
}

fn e2fsck_clean(image: &Path) {
    let (clean, report) = e2fsck_report(image);
    assert!(clean, "e2fsck -fn is not clean:\n{report}");
}

fn debugfs_cat(image: &Path, path: &str) -> String {
    let output = Command::new("debugfs")
        .arg("-R")
        .arg(format!("cat {path}"))
        .arg(image)
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The modification time of `path` in the image, in seconds since the
/// epoch, as `debugfs stat` prints it (`mtime: 0x…`).
fn debugfs_mtime(image: &Path, path: &str) -> u64 {
    let output = Command::new("debugfs")
        .arg("-R")
        .arg(format!("stat {path}"))
        .arg(image)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    let hex = text
        .split("mtime: 0x")
        .nth(1)
        .and_then(|rest| rest.get(..8))
        .unwrap_or_else(|| panic!("no mtime for {path}:\n{text}"));
    u64::from_str_radix(hex, 16).unwrap()
}

#[test]
fn the_kernel_reads_a_file_the_host_put_on_the_volume() {
    for mut machine in configurations() {
        for block_size in [1024, 4096] {
            let disk = ext2_disk(block_size);
            machine.disks = vec![disk.path().to_path_buf()];
            machine.append = "test=fs-read".into();
            let boot = boot(&machine, b"", TIMEOUT);
            let mounted = boot.expect_line("root: mounted ext2 volume 'testvol' as /");
            assert!(
                mounted.contains(&format!("{block_size}-byte blocks")),
                "{}: {mounted}",
                describe(&machine)
            );
            boot.expect_line("self test: /motd: Welcome to Manux");
            boot.expect_status(0);
        }
    }
}

#[test]
fn a_file_the_kernel_writes_is_on_disk_after_power_off_and_the_volume_is_clean() {
    for mut machine in configurations() {
        let disk = ext2_disk(4096);
        machine.disks = vec![disk.path().to_path_buf()];
        machine.append = "test=fs-write".into();
        // Twice: the second boot replaces the first boot's file.
        for _ in 0..2 {
            let boot = boot(&machine, b"", TIMEOUT);
            boot.expect_line("self test: wrote /selftest/hello.txt (28 bytes)");
            boot.expect_status(0);
            e2fsck_clean(disk.path());
            assert_eq!(
                debugfs_cat(disk.path(), "/selftest/hello.txt"),
                "written by the Manux kernel\n"
            );
            // Stamped with the time of day from the machine's real-time
            // clock (QEMU sets it from the host's), not time since reset.
            let host_now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs();
            let written = debugfs_mtime(disk.path(), "/selftest/hello.txt");
            assert!(
                written.abs_diff(host_now) < 600,
                "{}: mtime {written}, host time {host_now}",
                describe(&machine)
            );
            assert_eq!(debugfs_cat(disk.path(), "/motd"), "Welcome to Manux\n");
        }
    }
}

#[test]
fn a_disk_without_a_file_system_is_reported_without_a_panic() {
    for mut machine in default_machines() {
        let blank = scratch_disk(4 << 20);
        machine.disks = vec![blank.path().to_path_buf()];
        machine.append = "test=poweroff".into();
        let boot = boot(&machine, b"", TIMEOUT);
        boot.expect_line("root: cannot mount virtio-blk0:");
        assert!(!boot.output.contains("PANIC"), "{}", boot.output);
        boot.expect_status(0);
    }
}

#[test]
fn a_volume_with_a_corrupt_superblock_is_reported_without_a_panic() {
    for mut machine in default_machines() {
        let disk = ext2_disk(1024);
        // Superblock at byte 1024: s_inodes_per_group (offset 40) = 0
        // makes every inode number meaningless.
        let mut bytes = std::fs::read(disk.path()).unwrap();
        bytes[1024 + 40..1024 + 44].copy_from_slice(&0u32.to_le_bytes());
        std::fs::write(disk.path(), &bytes).unwrap();
        machine.disks = vec![disk.path().to_path_buf()];
        machine.append = "test=poweroff".into();
        let boot = boot(&machine, b"", TIMEOUT);
        let line = boot.expect_line("root: cannot mount virtio-blk0:");
        assert!(
            line.len() > "root: cannot mount virtio-blk0: ".len() + 30,
            "the error names the problem: {line}"
        );
        assert!(!boot.output.contains("PANIC"), "{}", boot.output);
        boot.expect_status(0);
    }
}
