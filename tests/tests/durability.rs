// SPDX-License-Identifier: MIT OR Apache-2.0
//! Durability in the guest, beyond power cuts (`crash.rs`): changes reach
//! the disk on the write-back clock; damage turns the volume read-only
//! with a console line instead of being written on, and the next boot
//! repairs it (or, with `fsck=check`, mounts it read-only); a disk that no
//! longer takes writes gives `EIO` to `sync`, still starts programs, and
//! makes power-off say what was lost and fail.
#![forbid(unsafe_code)]

use guest_tests::*;
use std::ffi::OsStr;
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(60);

/// A block number far outside any test volume.
const OUTSIDE: u32 = 4_000_000_000;

/// `ext2l check IMAGE`'s exit code and output.
fn check(image: &Path) -> (Option<i32>, String) {
    let output = ext2l(&[OsStr::new("check"), image.as_os_str()]);
    (
        output.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

/// A value of `dumpe2fs -h IMAGE`, e.g. `Block size`.
fn superblock_field(image: &Path, field: &str) -> String {
    let output = Command::new("dumpe2fs")
        .arg("-h")
        .arg(image)
        .output()
        .expect("running dumpe2fs");
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines()
        .find_map(|line| line.strip_prefix(&format!("{field}:")))
        .map(|value| value.trim().to_string())
        .unwrap_or_else(|| panic!("dumpe2fs has no {field:?}:\n{text}"))
}

/// Points the first block of `path`'s inode in `image` outside the
/// volume, in place (ext2l volumes refuse e2fsprogs' writes): `debugfs
/// imap` says where the inode lies, `i_block[0]` is at byte 40 of it.
fn point_outside(image: &Path, path: &str) {
    let output = Command::new("debugfs")
        .arg("-R")
        .arg(format!("imap {path}"))
        .arg(image)
        .output()
        .expect("running debugfs");
    let text = String::from_utf8_lossy(&output.stdout);
    let rest = text
        .split("located at block ")
        .nth(1)
        .unwrap_or_else(|| panic!("debugfs imap {path}:\n{text}"));
    let block: u64 = rest.split(',').next().unwrap().trim().parse().unwrap();
    let offset = u64::from_str_radix(rest.split("offset 0x").nth(1).unwrap().trim(), 16).unwrap();
    let block_size: u64 = superblock_field(image, "Block size").parse().unwrap();
    let mut file = std::fs::OpenOptions::new().write(true).open(image).unwrap();
    file.seek(SeekFrom::Start(block * block_size + offset + 40))
        .unwrap();
    file.write_all(&OUTSIDE.to_le_bytes()).unwrap();
}

/// Everything the console printed in a session.
fn console(transcript: &Transcript) -> String {
    let mut text = transcript.boot_log.clone();
    for exchange in &transcript.exchanges {
        text.push_str(&exchange.command);
        text.push('\n');
        text.push_str(&exchange.output);
    }
    text.push_str(&transcript.tail);
    text
}

#[test]
fn an_idle_change_reaches_the_disk_on_the_write_back_clock() {
    for (mut machine, disk) in system_machines() {
        let what = describe(&machine);
        machine.append = "commit=1".into();
        // Nothing syncs: the change is left idle at the prompt (a `sleep`
        // runs), and the machine is killed (no power-off) at the session's
        // end, seconds later.
        let transcript = session_steps(
            &machine,
            &[
                Step::Line("echo left-idle > idle.txt"),
                Step::Start("sleep 30", Duration::from_secs(3)),
            ],
            Duration::from_secs(20),
        );
        let text = console(&transcript);
        assert_eq!(
            transcript.status, None,
            "{what}: the guest was to be cut\n{text}"
        );
        assert!(text.contains("writeback: every 1 s"), "{what}\n{text}");
        // The journal holds what was committed; recovery replays it.
        let (code, report) = check(disk.path());
        assert!(matches!(code, Some(0 | 1)), "{what}: {report}");
        let recovered = ext2l(&[OsStr::new("recover"), disk.path().as_os_str()]);
        assert!(recovered.status.success(), "{what}: {recovered:?}");
        assert_ext2l_clean(disk.path(), &what);
        assert_eq!(
            ext2l_cat(disk.path(), "/home/user/idle.txt"),
            "left-idle\n",
            "{what}: the change was not written back\n{text}"
        );
    }
}

#[test]
fn damage_found_while_running_turns_the_volume_read_only_until_repaired() {
    for (machine, disk) in system_machines() {
        let what = describe(&machine);
        let victim = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(victim.path(), "x".repeat(10_000)).unwrap();
        let put = ext2l(&[
            OsStr::new("put"),
            disk.path().as_os_str(),
            victim.path().as_os_str(),
            OsStr::new("/home/user/victim"),
        ]);
        assert!(put.status.success(), "{put:?}");
        point_outside(disk.path(), "/home/user/victim");
        let transcript = session(
            &machine,
            &[
                "cat victim",
                "echo after > after.txt",
                "echo still running",
                "poweroff",
            ],
            TIMEOUT,
        );
        let text = console(&transcript);
        let damage = "the volume is marked and now read-only";
        assert_eq!(text.matches(damage).count(), 1, "{what}:\n{text}");
        assert!(
            transcript.output(1).contains("Read-only file system"),
            "{what}:\n{text}"
        );
        assert_eq!(transcript.output(2), "still running\n", "{what}:\n{text}");
        // On the disk: the damage recorded, nothing written after it.
        assert!(
            superblock_field(disk.path(), "Filesystem state").contains("errors"),
            "{what}"
        );
        let (code, report) = check(disk.path());
        assert_eq!(code, Some(4), "{what}: {report}");
        assert_eq!(ext2l_cat(disk.path(), "/home/user/after.txt"), "", "{what}");
        // With fsck=check the next boot mounts it read-only, and says why.
        let mut checking = machine.clone();
        checking.append = "fsck=check".into();
        let transcript = session(&checking, &["poweroff"], TIMEOUT);
        let text = console(&transcript);
        assert!(
            text.contains("read-only: the volume records errors found earlier"),
            "{what}:\n{text}"
        );
        // By default the boot repairs it first: every repair on the
        // console, then a clean, writable volume whose other files are
        // intact.
        let transcript = session(
            &machine,
            &["echo repaired > after.txt", "cat after.txt", "poweroff"],
            TIMEOUT,
        );
        let text = console(&transcript);
        assert!(
            text.contains("fsck: the volume records errors found earlier; repairing it"),
            "{what}:\n{text}"
        );
        assert!(
            text.contains("fsck: the volume is clean"),
            "{what}:\n{text}"
        );
        assert_eq!(transcript.output(1), "repaired\n", "{what}:\n{text}");
        assert_eq!(transcript.status, Some(0), "{what}:\n{text}");
        assert_ext2l_clean(disk.path(), &what);
        assert_eq!(ext2l_cat(disk.path(), "/home/user/after.txt"), "repaired\n");
        assert!(!ext2l_cat(disk.path(), "/etc/motd").is_empty(), "{what}");
    }
}

#[test]
fn a_disk_that_takes_no_writes_fails_sync_starts_programs_and_says_what_was_lost() {
    for (mut machine, disk) in system_machines() {
        let what = describe(&machine);
        // QEMU's blkdebug fails every write with EIO; reads work.
        let rules = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(
            rules.path(),
            "[inject-error]\nevent = \"pwritev\"\niotype = \"write\"\nerrno = \"5\"\n",
        )
        .unwrap();
        machine.disks = vec![format!(
            "blkdebug:{}:{}",
            rules.path().display(),
            disk.path().display()
        )
        .into()];
        // A small machine: its cache fills with what cannot be written.
        machine.memory_mib = 48;
        let transcript = session(
            &machine,
            &[
                "echo unsaved > a.txt",
                "sync",
                "cat /bin/sh /bin/sh /bin/sh /bin/sh /bin/sh /bin/sh /bin/sh /bin/sh > b",
                "cat b b b b b b b b > c",
                "cat c c c c c c c c > d",
                "ls a.txt",
                "echo programs still start",
                "poweroff",
            ],
            TIMEOUT,
        );
        let text = console(&transcript);
        assert!(
            transcript.output(1).contains("Input/output error"),
            "{what}: sync must fail\n{text}"
        );
        assert_eq!(transcript.output(5), "a.txt\n", "{what}:\n{text}");
        assert_eq!(
            transcript.output(6),
            "programs still start\n",
            "{what}:\n{text}"
        );
        assert!(
            text.contains("KiB of changes could not be written and are lost"),
            "{what}:\n{text}"
        );
        assert_ne!(transcript.status, Some(0), "{what}:\n{text}");
        assert!(
            transcript.status.is_some(),
            "{what}: it must power off\n{text}"
        );
    }
}
