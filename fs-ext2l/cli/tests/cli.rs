// SPDX-License-Identifier: MIT OR Apache-2.0
//! The `ext2l` binary end to end: every subcommand on scratch images, exit
//! statuses, one-line errors, and stock e2fsprogs agreeing with the result.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn ext2l(arguments: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ext2l"))
        .args(arguments)
        .output()
        .expect("run ext2l")
}

fn ok(arguments: &[&str]) -> String {
    let output = ext2l(arguments);
    assert!(
        output.status.success(),
        "ext2l {arguments:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Runs a failing command; returns (status, the one stderr line).
fn fails(arguments: &[&str]) -> (i32, String) {
    let output = ext2l(arguments);
    assert!(!output.status.success(), "ext2l {arguments:?} should fail");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    assert!(stderr.starts_with("ext2l: "), "{stderr}");
    (output.status.code().unwrap_or(-1), stderr)
}

fn scratch(name: &str) -> PathBuf {
    let directory = std::env::temp_dir().join(format!("ext2l-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    directory.join(name)
}

fn text(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// `e2fsck -fn` finds nothing wrong with `image`.
fn assert_e2fsck_clean(image: &str) {
    let fsck = Command::new("e2fsck")
        .args(["-fn", image])
        .output()
        .unwrap();
    assert!(
        fsck.status.success(),
        "{}",
        String::from_utf8_lossy(&fsck.stdout)
    );
}

#[test]
fn stock_workflow_round_trips_and_stays_e2fsck_clean() {
    let image = scratch("stock.img");
    let image = text(&image);
    ok(&[
        "mkfs", image, "--size", "32M", "--ext2l", "off", "-L", "stock",
    ]);
    let host = scratch("payload");
    let payload: Vec<u8> = (0..1_500_000u32)
        .map(|index| ((index * 13) >> 5) as u8)
        .collect();
    std::fs::write(&host, &payload).unwrap();
    ok(&["mkdir", "-p", image, "/usr/share/doc"]);
    ok(&["put", image, text(&host), "/usr/share/doc/payload"]);
    ok(&["put", image, text(&host), "/usr"]);
    ok(&["ln", image, "/usr/payload", "/usr/hard"]);
    ok(&["ln", "-s", image, "share/doc/payload", "/usr/soft"]);
    let back = scratch("back");
    ok(&["get", image, "/usr/soft", text(&back)]);
    assert!(std::fs::read(&back).unwrap() == payload);
    let listing = ok(&["ls", "-l", image, "/usr"]);
    assert!(
        listing.contains("hard") && listing.contains("soft -> share/doc/payload"),
        "{listing}"
    );
    assert!(
        listing
            .lines()
            .any(|line| line.contains(" 2 ") && line.ends_with("payload")),
        "{listing}"
    );
    ok(&["rm", image, "/usr/hard"]);
    ok(&["rm", "-r", image, "/usr/share"]);
    assert_eq!(ok(&["ls", image, "/usr"]), "payload\nsoft\n");
    let small = scratch("small");
    std::fs::write(&small, b"hello\n").unwrap();
    ok(&["put", image, text(&small), "/hello"]);
    assert_eq!(ok(&["cat", image, "/hello"]), "hello\n");
    let info = ok(&["info", image]);
    assert!(
        info.contains("ext2l:                no") && info.contains("stock"),
        "{info}"
    );
    assert!(ok(&["check", image]).contains("clean"));
    assert_e2fsck_clean(image);
}

#[test]
fn installer_commands_and_the_ext2l_rules() {
    let image = scratch("ext2l.img");
    let image = text(&image);
    ok(&["mkfs", image, "--size", "8M", "-b", "1024", "-I", "128"]);
    assert!(ok(&["info", image]).contains("ext2l:                yes"));
    let program = scratch("program");
    std::fs::write(&program, b"#!/bin/true\n").unwrap();
    ok(&["mkdir", "-p", image, "/pkg/cat/bin"]);
    ok(&["mkdir", image, "/lib"]);
    ok(&["put", image, text(&program), "/pkg/cat/bin/cat"]);
    ok(&["put", image, text(&program), "/launcher"]);
    ok(&["ln", "--dir", image, "/lib", "/pkg/cat/lib"]);
    let (status, message) = fails(&["ln", image, "/lib", "/pkg/lib2"]);
    assert_eq!(status, 1);
    assert!(message.contains("directory"), "{message}");
    let (_, message) = fails(&["ln", "--dir", image, "/pkg", "/pkg/cat/lib/up"]);
    assert!(message.contains("itself"), "{message}");
    ok(&["rootlink", "set", image, "/launcher", "/pkg/cat"]);
    assert!(ok(&["rootlink", "get", image, "/launcher"]).starts_with("/pkg/cat"));
    ok(&["chattr", image, "+i", "/launcher"]);
    ok(&["chattr", "+i", image, "/pkg/cat/bin"]);
    let (_, message) = fails(&["put", image, text(&program), "/launcher"]);
    assert!(message.contains("immutable"), "{message}");
    let (_, message) = fails(&["rm", image, "/pkg/cat/bin/cat"]);
    assert!(message.contains("immutable"), "{message}");
    let (_, message) = fails(&["mkdir", image, "/..."]);
    assert!(message.contains("reserved"), "{message}");
    let (_, message) = fails(&["tune", image, "--ext2l", "off"]);
    assert!(message.contains("in use"), "{message}");
    assert!(ok(&["check", image]).contains("1 rootlinks, 1 directory hardlinks"));
    ok(&["chattr", "-i", image, "/launcher"]);
    ok(&["rootlink", "clear", image, "/launcher"]);
    ok(&["rm", image, "/pkg/cat/lib"]);
    ok(&["tune", image, "--ext2l", "off"]);
    ok(&["check", image]);
    assert_e2fsck_clean(image);
}

#[test]
fn errors_are_one_line_with_meaningful_statuses() {
    let missing = scratch("missing.img");
    let (status, _) = fails(&["ls", text(&missing), "/"]);
    assert_eq!(status, 2);
    let garbage = scratch("garbage.img");
    std::fs::write(&garbage, vec![0xAB; 1 << 20]).unwrap();
    let (status, message) = fails(&["check", text(&garbage)]);
    assert_eq!(status, 2);
    assert!(message.contains("not an ext2"), "{message}");
    let image = scratch("errors.img");
    ok(&["mkfs", text(&image), "--size", "4M"]);
    let (status, message) = fails(&["cat", text(&image), "/nothing"]);
    assert_eq!(status, 1);
    assert!(message.contains("no such file"), "{message}");
    let (status, _) = fails(&["cat", text(&image), "/lost+found"]);
    assert_eq!(status, 1);
    let (status, _) = fails(&["mkfs", text(&image), "--size", "4M", "-b", "3000"]);
    assert_eq!(status, 2);
}

/// Bytes that differ from block to block, so a misplaced block shows.
fn pattern(length: usize, seed: u32) -> Vec<u8> {
    (0..length as u32)
        .map(|index| (index.wrapping_mul(2_654_435_761).wrapping_add(seed) >> 13) as u8)
        .collect()
}

#[test]
fn large_and_sparse_files_round_trip_through_put_and_get() {
    // Files of several MiB cross the pipe size of the copy and, with 1 KiB
    // blocks, many indirect blocks (so many separate runs on the device).
    let big = pattern(5 << 20 | 777, 1);
    let host = scratch("big");
    std::fs::write(&host, &big).unwrap();
    for block_size in ["1024", "4096"] {
        let image = scratch(&format!("big-{block_size}.img"));
        let image = text(&image);
        ok(&[
            "mkfs", image, "--size", "24M", "-b", block_size, "--ext2l", "off",
        ]);
        ok(&["put", image, text(&host), "/big"]);
        // Over an existing file: truncated, then filled again.
        ok(&["put", image, text(&host), "/big"]);
        let back = scratch(&format!("big-{block_size}.out"));
        ok(&["get", image, "/big", text(&back)]);
        assert!(std::fs::read(&back).unwrap() == big, "{block_size}");
        assert!(ok(&["check", image]).contains("clean"));
        assert_e2fsck_clean(image);
    }

    // A sparse file made by mke2fs: holes inside and at the end come back
    // as zeros, and stay holes in the host file.
    let tree = scratch("sparse-tree");
    std::fs::create_dir_all(&tree).unwrap();
    let sparse_path = tree.join("sparse");
    let head = pattern(8192, 2);
    let middle = pattern(3 << 20, 3);
    {
        use std::os::unix::fs::FileExt;
        let file = std::fs::File::create(&sparse_path).unwrap();
        file.write_all_at(&head, 0).unwrap();
        file.write_all_at(&middle, 2 << 20).unwrap();
        file.set_len(9 << 20).unwrap();
    }
    let image = scratch("sparse.img");
    let image = text(&image);
    let made = Command::new("mke2fs")
        .args([
            "-q",
            "-F",
            "-t",
            "ext2",
            "-b",
            "1024",
            "-d",
            text(&tree),
            image,
            "32M",
        ])
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let back = scratch("sparse.out");
    ok(&["get", image, "/sparse", text(&back)]);
    let mut expected = vec![0u8; 9 << 20];
    expected[..head.len()].copy_from_slice(&head);
    expected[2 << 20..(2 << 20) + middle.len()].copy_from_slice(&middle);
    assert!(std::fs::read(&back).unwrap() == expected);
    use std::os::unix::fs::MetadataExt;
    let allocated = std::fs::metadata(&back).unwrap().blocks() * 512;
    assert!(
        allocated < (6 << 20),
        "holes were written out: {allocated} bytes allocated"
    );
}

#[test]
fn bench_times_every_step_and_prints_the_median_ratio() {
    let directory = scratch("bench");
    std::fs::create_dir_all(&directory).unwrap();
    let report = ok(&[
        "bench",
        "--size-mib",
        "2",
        "--runs",
        "3",
        "--dir",
        text(&directory),
    ]);
    let rounds: Vec<&str> = report
        .lines()
        .filter(|line| line.trim_start().starts_with("round "))
        .collect();
    assert_eq!(rounds.len(), 4, "a warm-up and 3 rounds: {report}");
    assert!(rounds[0].contains("(warm-up)"), "{report}");
    let result = report
        .lines()
        .find(|line| line.contains("(put + get) / cp"))
        .unwrap_or_else(|| panic!("no ratio line: {report}"));
    let median: f64 = result
        .split("median ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|number| number.parse().ok())
        .unwrap_or_else(|| panic!("no median in {result}"));
    assert!(median > 0.0 && median.is_finite(), "{result}");
    // The scratch files are removed afterwards.
    assert_eq!(std::fs::read_dir(&directory).unwrap().count(), 0);
}

/// Leaves orphans on `image` the way a host that held them and went away
/// would: files held, unlinked, synced, never released.
fn leave_orphans(image: &str, names: &[&str]) {
    use fs_ext2l::{FileDevice, FileSystem, MountOptions};
    let device = FileDevice::open(Path::new(image), true).unwrap();
    let mut file_system = FileSystem::mount(device, MountOptions::default()).unwrap();
    let root = file_system.root();
    for name in names {
        let file = file_system
            .create(root, name.as_bytes(), 0o644, 0, 0)
            .unwrap();
        file_system.write(file, 0, &[7u8; 20_000]).unwrap();
        file_system.hold(file).unwrap();
        file_system.unlink(root, name.as_bytes()).unwrap();
    }
    file_system.sync().unwrap();
}

#[test]
fn check_and_info_report_orphans_and_a_write_frees_them() {
    let image = scratch("orphans.img");
    let image = text(&image);
    ok(&["mkfs", image, "--size", "4M", "--ext2l", "off"]);
    assert!(ok(&["info", image]).contains("Orphan list:          empty"));
    leave_orphans(image, &["a", "b"]);
    // The host stopped without unmounting a journaled volume: it needs
    // recovery (an empty log), and is clean as it will be once replayed.
    let output = ext2l(&["check", image]);
    assert_eq!(output.status.code(), Some(1));
    let report = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(report.contains(": clean once recovered: "), "{report}");
    assert!(
        report.contains("2 orphan inodes, freed at the next read-write mount"),
        "{report}"
    );
    let info = ok(&["info", image]);
    assert!(
        info.contains("Orphan list:          2 inodes (freed at the next read-write mount)"),
        "{info}"
    );
    // Two files and lost+found took generations 1 to 3.
    assert!(info.contains("Next generation:      4"), "{info}");
    // `info` and `check` only look: the list is still there.
    let output = ext2l(&["check", image]);
    assert!(String::from_utf8_lossy(&output.stdout).contains("2 orphan inodes"));
    // Any writing command mounts read-write, which frees them.
    ok(&["mkdir", image, "/after"]);
    let report = ok(&["check", image]);
    assert!(!report.contains("orphan inode"), "{report}");
    assert!(ok(&["info", image]).contains("Orphan list:          empty"));
    assert_e2fsck_clean(image);
}

/// `ext2l info`'s line starting with `label`.
fn info_line(image: &str, label: &str) -> String {
    let info = ok(&["info", image]);
    info.lines()
        .find(|line| line.starts_with(label))
        .unwrap_or_else(|| panic!("no `{label}` in:\n{info}"))
        .to_string()
}

#[test]
fn mkfs_makes_a_journal_by_default_and_tune_adds_one() {
    // mke2fs's default: 1024 blocks below 32768 blocks, 4096 from there.
    for (size, blocks) in [("16M", "1024 blocks"), ("32M", "4096 blocks")] {
        let image = scratch(&format!("journal-{size}.img"));
        let image = text(&image);
        ok(&["mkfs", image, "--size", size, "--ext2l", "off"]);
        let line = info_line(image, "Journal:  ");
        assert!(line.contains("inode 8") && line.contains(blocks), "{line}");
        assert!(info_line(image, "Journal state:").contains("clean"));
        assert!(ok(&["check", image]).contains("clean"));
        assert_e2fsck_clean(image);
        let dump = Command::new("dumpe2fs")
            .args(["-h", image])
            .output()
            .unwrap();
        let dump = String::from_utf8_lossy(&dump.stdout);
        assert!(dump.contains("Journal inode:            8"), "{dump}");
    }
    let image = scratch("journal-sized.img");
    let image = text(&image);
    ok(&[
        "mkfs",
        image,
        "--size",
        "16M",
        "--journal-size",
        "2",
        "--ext2l",
        "off",
    ]);
    assert!(info_line(image, "Journal:  ").contains("2048 blocks"));
    let (status, message) = fails(&["mkfs", image, "--size", "16M", "--journal-size", "9"]);
    assert_eq!(status, 2);
    assert!(message.contains("half the volume"), "{message}");

    // None, then added by `tune`, once.
    ok(&[
        "mkfs",
        image,
        "--size",
        "16M",
        "--no-journal",
        "--ext2l",
        "off",
    ]);
    assert_eq!(info_line(image, "Journal:  "), "Journal:              none");
    ok(&["mkdir", image, "/before"]);
    ok(&["tune", image, "--journal"]);
    assert!(info_line(image, "Journal:  ").contains("1024 blocks"));
    let (status, message) = fails(&["tune", image, "--journal", "2"]);
    assert_eq!(status, 1);
    assert!(message.contains("already has a journal"), "{message}");
    let (status, _) = fails(&["tune", image]);
    assert_eq!(status, 2);
    assert!(ok(&["check", image]).contains("clean"));
    assert_e2fsck_clean(image);
    // A stock ext2 volume gets one too; a small one cannot.
    let stock = scratch("journal-stock.img");
    let stock = text(&stock);
    let made = Command::new("mke2fs")
        .args(["-q", "-F", "-t", "ext2", "-b", "4096", stock, "64M"])
        .output()
        .unwrap();
    assert!(made.status.success());
    ok(&["tune", stock, "--journal", "8"]);
    assert!(info_line(stock, "Journal:  ").contains("2048 blocks"));
    assert_e2fsck_clean(stock);
    let small = scratch("journal-small.img");
    let small = text(&small);
    ok(&["mkfs", small, "--size", "1M"]);
    assert_eq!(info_line(small, "Journal:  "), "Journal:              none");
    let (status, message) = fails(&["tune", small, "--journal"]);
    assert_eq!(status, 2);
    assert!(message.contains("too small"), "{message}");
}

#[test]
fn check_recover_and_info_on_a_volume_that_needs_recovery() {
    let image = scratch("recover.img");
    let image = text(&image);
    ok(&["mkfs", image, "--size", "8M", "--ext2l", "off"]);
    let host = scratch("recover-host");
    std::fs::write(&host, b"kept across recovery\n").unwrap();
    ok(&["put", image, text(&host), "/hostname"]);
    let before = ok(&["cat", image, "/hostname"]);
    // e2fsprogs writes two transactions into the journal, one committed,
    // and leaves the volume needing recovery.
    let data = scratch("recover-data");
    std::fs::write(&data, vec![0x42u8; 2048]).unwrap();
    let commands = scratch("recover-commands");
    std::fs::write(
        &commands,
        format!(
            "jo\njw -b 7000,7001 {}\njw -b 7002 -c {}\njc\n",
            text(&data),
            text(&data)
        ),
    )
    .unwrap();
    let written = Command::new("debugfs")
        .args(["-w", "-f", text(&commands), image])
        .output()
        .unwrap();
    assert!(written.status.success(), "{written:?}");

    let output = ext2l(&["check", image]);
    assert_eq!(output.status.code(), Some(1));
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        report.contains("needs recovery: the journal holds 1 committed transaction"),
        "{report}"
    );
    assert!(report.contains("clean once recovered"), "{report}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("needs recovery"));
    let state = info_line(image, "Journal state:");
    assert!(
        state.contains("needs recovery") && state.contains("cut before its commit block"),
        "{state}"
    );
    let (status, message) = fails(&["cat", image, "/hostname"]);
    assert_eq!(status, 2);
    assert!(message.contains("ext2l recover"), "{message}");

    let replayed = ok(&["recover", image]);
    // The sequence follows the transactions `put` committed.
    assert!(
        replayed.contains("replayed 1 transaction (sequence ")
            && replayed.contains("): 2 blocks written"),
        "{replayed}"
    );
    assert!(ok(&["recover", image]).contains("nothing to recover"));
    assert!(ok(&["check", image]).contains(": clean: "));
    assert!(info_line(image, "Journal state:").contains("clean (sequence"));
    assert_eq!(ok(&["cat", image, "/hostname"]), before);
    let mut block = vec![0u8; 1024];
    let file = std::fs::File::open(image).unwrap();
    std::os::unix::fs::FileExt::read_exact_at(&file, &mut block, 7001 * 1024).unwrap();
    assert!(block.iter().all(|&byte| byte == 0x42));
    assert_e2fsck_clean(image);
}

#[test]
fn check_exits_4_on_damage() {
    let image = scratch("damaged.img");
    let image = text(&image);
    ok(&["mkfs", image, "--size", "4M"]);
    // A wrong free-block count in the superblock.
    let file = std::fs::OpenOptions::new().write(true).open(image).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&file, &7u32.to_le_bytes(), 1024 + 0x0C).unwrap();
    let output = ext2l(&["check", image]);
    assert_eq!(output.status.code(), Some(4), "{output:?}");
}

#[test]
fn check_repair_fixes_damage_prints_each_repair_and_exits_0() {
    let image = scratch("repaired.img");
    let image = text(&image);
    ok(&["mkfs", image, "--size", "4M", "--no-journal"]);
    let host = scratch("repaired-host.txt");
    std::fs::write(&host, b"survives the repair\n").unwrap();
    ok(&["put", image, text(&host), "/kept.txt"]);
    // A wrong free-block count, and the block bitmap's first bytes clear.
    let file = std::fs::OpenOptions::new().write(true).open(image).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&file, &7u32.to_le_bytes(), 1024 + 0x0C).unwrap();
    let bitmap = {
        let bytes = std::fs::read(image).unwrap();
        u32::from_le_bytes(bytes[2048..2052].try_into().unwrap()) as u64 * 1024
    };
    std::os::unix::fs::FileExt::write_all_at(&file, &[0u8; 8], bitmap).unwrap();
    drop(file);
    assert_eq!(ext2l(&["check", image]).status.code(), Some(4));
    let output = ext2l(&["check", "--repair", image]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert!(stdout.contains("block bitmap"), "{stdout}");
    assert!(stdout.contains("free block count was 7"), "{stdout}");
    assert!(stdout.contains("clean after repair"), "{stdout}");
    // A second run finds nothing; the file is intact.
    let again = ok(&["check", "--repair", image]);
    assert!(again.contains("nothing to repair"), "{again}");
    assert_eq!(ext2l(&["check", image]).status.code(), Some(0));
    assert_eq!(ok(&["cat", image, "/kept.txt"]), "survives the repair\n");
}

#[test]
fn check_repair_refuses_what_it_cannot_write_with_status_2() {
    let image = scratch("unrepairable.img");
    let image = text(&image);
    ok(&["mkfs", image, "--size", "4M", "--no-journal"]);
    // `extents`, an incompatible feature this library does not have.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(image)
        .unwrap();
    let mut word = [0u8; 4];
    std::os::unix::fs::FileExt::read_exact_at(&file, &mut word, 1024 + 0x60).unwrap();
    let incompatible = u32::from_le_bytes(word) | 0x40;
    std::os::unix::fs::FileExt::write_all_at(&file, &incompatible.to_le_bytes(), 1024 + 0x60)
        .unwrap();
    drop(file);
    let (status, message) = fails(&["check", "--repair", image]);
    assert_eq!(status, 2);
    assert!(message.contains("cannot repair"), "{message}");
    assert!(message.contains("extent"), "{message}");
}

#[test]
fn a_reader_that_goes_away_ends_the_report_quietly() {
    // `ext2l info IMAGE | head`: the reader closes the pipe before the
    // report is written; the command ends with status 0 and says nothing.
    let image = scratch("pipe.img");
    let image = text(&image);
    ok(&["mkfs", image, "--size", "8M"]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_ext2l"))
        .args(["info", image])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run ext2l");
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "status {:?}: {stderr}",
        output.status
    );
    assert!(stderr.is_empty(), "{stderr}");
}

#[test]
fn resize_fills_the_file_and_refuses_bad_sizes() {
    let image_path = scratch("grow.img");
    let image = text(&image_path);
    let host = scratch("grow-hello");
    std::fs::write(&host, b"kept across growth\n").unwrap();
    ok(&["mkfs", "--size", "8M", "--ext2l", "off", image]);
    ok(&["put", image, text(&host), "/hello"]);
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&image_path)
        .unwrap();
    file.set_len(512 << 20).unwrap();
    drop(file);
    let said = ok(&["resize", image]);
    assert!(said.contains("grown from 8 MiB to 512 MiB"), "{said}");
    assert_e2fsck_clean(image);
    assert_eq!(ok(&["cat", image, "/hello"]), "kept across growth\n");
    // A size larger than the file extends it.
    let said = ok(&["resize", image, "1G"]);
    assert!(said.contains("to 1024 MiB"), "{said}");
    assert_eq!(std::fs::metadata(&image_path).unwrap().len(), 1 << 30);
    assert_e2fsck_clean(image);
    ok(&["check", image]);
    let (status, message) = fails(&["resize", image, "4M"]);
    assert_eq!(status, 1);
    assert!(message.contains("smaller than the volume"), "{message}");
    let (status, message) = fails(&["resize", image, "100G"]);
    assert_eq!(status, 1);
    assert!(message.contains("beyond"), "{message}");
    let _ = std::fs::remove_file(&image_path);
}
