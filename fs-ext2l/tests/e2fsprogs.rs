// SPDX-License-Identifier: MIT OR Apache-2.0
//! Compatibility with Debian's e2fsprogs, both ways.
//!
//! - Images made by `mke2fs -t ext2 -d DIR` with every block size (1, 2 and
//!   4 KiB) and inode size (128, 256) read back identically: tree, contents,
//!   modes, symlinks, hard links, holes. Our checker finds them clean
//!   (`resize_inode`, `dir_index` and all).
//! - After this library writes without ext2l features, `e2fsck -fn` is
//!   clean and `debugfs`/`dumpe2fs` read the result.
//! - With the ext2l bit set, `dumpe2fs` shows the unknown `ro_compat` bit and
//!   stock tools refuse to check or write.
//! - Revision 0 images read, and mount read-only.
//! - The orphan list this library writes is the one e2fsck clears: `-fy`
//!   and `-p` clear exactly the listed orphans and nothing else, and
//!   `-fn` (which may not touch the list) reports exactly the orphans'
//!   inodes and blocks and nothing else.
#![forbid(unsafe_code)]

mod common;

use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use fs_ext2l::*;

/// Builds the host tree that every image is made from.
fn make_host_tree(root: &Path) {
    let _ = std::fs::remove_dir_all(root);
    std::fs::create_dir_all(root.join("dir/sub/deeper")).unwrap();
    std::fs::create_dir_all(root.join("empty")).unwrap();
    std::fs::write(root.join("empty-file"), b"").unwrap();
    std::fs::write(root.join("small"), b"hello, ext2\n").unwrap();
    let medium: Vec<u8> = (0..200_000u32).map(|index| (index % 251) as u8).collect();
    std::fs::write(root.join("dir/medium"), &medium).unwrap();
    let large: Vec<u8> = (0..3_000_000u32)
        .map(|index| (index.wrapping_mul(31) >> 7) as u8)
        .collect();
    std::fs::write(root.join("dir/sub/large"), &large).unwrap();
    // A sparse file: data, a 5 MiB hole, data.
    let sparse = std::fs::File::create(root.join("sparse")).unwrap();
    sparse.set_len(5 << 20).unwrap();
    drop(sparse);
    let mut contents = std::fs::read(root.join("sparse")).unwrap();
    contents[..4].copy_from_slice(b"head");
    contents.extend_from_slice(b"tail");
    std::fs::write(root.join("sparse"), &contents).unwrap();
    symlink("small", root.join("fast-link")).unwrap();
    symlink("d".repeat(200), root.join("slow-link")).unwrap();
    symlink("../../small", root.join("dir/sub/relative")).unwrap();
    std::fs::hard_link(root.join("small"), root.join("dir/hard")).unwrap();
    std::fs::set_permissions(root.join("small"), std::fs::Permissions::from_mode(0o640)).unwrap();
    std::fs::set_permissions(
        root.join("dir/medium"),
        std::fs::Permissions::from_mode(0o4755),
    )
    .unwrap();
    std::fs::set_permissions(root.join("empty"), std::fs::Permissions::from_mode(0o700)).unwrap();
    for index in 0..150 {
        std::fs::write(
            root.join(format!("dir/sub/n{index:03}")),
            format!("{index}"),
        )
        .unwrap();
    }
}

/// Runs an e2fsprogs tool; returns its exit status and its output.
fn run_status(command: &mut Command) -> (i32, String) {
    let output = command.output().expect("run e2fsprogs tool");
    (
        output.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

fn run(command: &mut Command) -> (bool, String) {
    let output = command.output().expect("run e2fsprogs tool");
    (
        output.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

fn mke2fs(image: &Path, block_size: u32, inode_size: u32, source: Option<&Path>, extra: &[&str]) {
    let mut command = Command::new("mke2fs");
    command
        .args([
            "-q",
            "-F",
            "-t",
            "ext2",
            "-b",
            &block_size.to_string(),
            "-I",
            &inode_size.to_string(),
        ])
        .args(extra);
    if let Some(source) = source {
        command.arg("-d").arg(source);
    }
    command.arg(image).arg("24M");
    let (ok, output) = run(&mut command);
    assert!(ok, "mke2fs failed: {output}");
}

fn mount_file(path: &Path) -> FileSystem<MemoryDevice> {
    let bytes = std::fs::read(path).unwrap();
    FileSystem::mount(MemoryDevice::from_bytes(bytes), mount_options()).expect("mount")
}

/// Compares the image tree under `inode` with the host tree under `host`.
fn compare_tree(file_system: &mut FileSystem<MemoryDevice>, inode: InodeNumber, host: &Path) {
    let mut host_names: Vec<String> = std::fs::read_dir(host)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    host_names.sort();
    let mut image_names: Vec<String> = file_system
        .entries(inode)
        .unwrap()
        .into_iter()
        .map(|entry| String::from_utf8(entry.name).unwrap())
        .filter(|name| name != "." && name != ".." && name != "lost+found")
        .collect();
    image_names.sort();
    assert_eq!(image_names, host_names, "names in {}", host.display());
    for name in host_names {
        let host_path = host.join(&name);
        let host_metadata = std::fs::symlink_metadata(&host_path).unwrap();
        let child = file_system.lookup(inode, name.as_bytes()).unwrap();
        let metadata = file_system.stat(child).unwrap();
        assert_eq!(
            u32::from(metadata.mode),
            host_metadata.mode() & 0o177777,
            "mode of {}",
            host_path.display()
        );
        if host_metadata.file_type().is_symlink() {
            let target = std::fs::read_link(&host_path).unwrap();
            assert_eq!(
                file_system.readlink(child).unwrap(),
                target.as_os_str().as_encoded_bytes()
            );
        } else if host_metadata.is_dir() {
            compare_tree(file_system, child, &host_path);
        } else {
            let expected = std::fs::read(&host_path).unwrap();
            let mut actual = vec![0u8; metadata.size as usize];
            assert_eq!(
                file_system.read(child, 0, &mut actual).unwrap(),
                expected.len()
            );
            assert!(actual == expected, "contents of {}", host_path.display());
            assert_eq!(
                u64::from(metadata.links),
                host_metadata.nlink(),
                "links of {}",
                host_path.display()
            );
        }
    }
}

fn scratch_tree() -> PathBuf {
    let tree = scratch_path("tree");
    make_host_tree(&tree);
    tree
}

#[test]
fn mke2fs_images_read_back_identically() {
    let tree = scratch_tree();
    for block_size in [1024, 2048, 4096] {
        for inode_size in [128, 256] {
            let image = scratch_path("mke2fs.img");
            mke2fs(&image, block_size, inode_size, Some(&tree), &[]);
            let mut file_system = mount_file(&image);
            assert!(!file_system.is_read_only(), "stock ext2 must be writable");
            let root = file_system.root();
            compare_tree(&mut file_system, root, &tree);
            assert_checker_clean(&mut file_system);
            let _ = std::fs::remove_file(&image);
        }
    }
}

#[test]
fn writes_leave_stock_images_clean_for_e2fsck_and_readable_by_debugfs() {
    let tree = scratch_tree();
    for (block_size, inode_size) in [(1024, 128), (2048, 256), (4096, 256)] {
        let image = scratch_path("written.img");
        mke2fs(&image, block_size, inode_size, Some(&tree), &[]);
        let mut file_system = mount_file(&image);
        let root = file_system.root();
        let directory = inode_at(&mut file_system, b"/dir/sub");
        // Modify an indexed-size directory, files, links and renames.
        for index in (0..150).step_by(3) {
            file_system
                .unlink(directory, format!("n{index:03}").as_bytes())
                .unwrap();
        }
        let new = file_system
            .create(directory, b"new-file", 0o600, 1000, 1000)
            .unwrap();
        let data: Vec<u8> = (0..700_000u32).map(|index| (index % 239) as u8).collect();
        file_system.write(new, 0, &data).unwrap();
        file_system.mkdir(root, b"made", 0o755, 0, 0).unwrap();
        let made = file_system.lookup(root, b"made").unwrap();
        file_system.rename(root, b"dir", made, b"dir").unwrap();
        let large = inode_at(&mut file_system, b"/made/dir/sub/large");
        file_system.truncate(large, 12345).unwrap();
        file_system.unlink(root, b"sparse").unwrap();
        file_system
            .symlink(root, b"new-slow-link", &[b'z'; 120], 0, 0)
            .unwrap();
        assert!(!file_system.features().has_ext2l());
        assert_checker_clean(&mut file_system);
        let bytes = file_system.unmount().unwrap().into_bytes();
        std::fs::write(&image, &bytes).unwrap();
        let (clean, output) = e2fsck(&bytes);
        assert!(
            clean,
            "e2fsck after writes (block size {block_size}):\n{output}"
        );
        let (ok, _) = run(Command::new("dumpe2fs").arg(&image));
        assert!(ok, "dumpe2fs must read the image");
        let output = Command::new("debugfs")
            .args(["-R", "cat /made/dir/sub/new-file"])
            .arg(&image)
            .output()
            .unwrap();
        assert!(output.stdout == data, "debugfs reads different bytes");
        let (ok, listing) = run(Command::new("debugfs")
            .args(["-R", "ls -l /made/dir/sub"])
            .arg(&image));
        assert!(
            ok && listing.contains("new-file") && !listing.contains("n000"),
            "debugfs ls: {listing}"
        );
        let _ = std::fs::remove_file(&image);
    }
}

#[test]
fn the_ext2l_bit_makes_stock_tools_refuse() {
    let image = scratch_path("ext2l.img");
    mke2fs(&image, 1024, 256, None, &[]);
    let mut file_system = mount_file(&image);
    let root = file_system.root();
    let directory = file_system.mkdir(root, b"shared", 0o755, 0, 0).unwrap();
    file_system
        .installer()
        .link(directory, root, b"again")
        .unwrap();
    assert_checker_clean(&mut file_system);
    std::fs::write(&image, file_system.unmount().unwrap().into_bytes()).unwrap();
    let (ok, header) = run(Command::new("dumpe2fs").arg("-h").arg(&image));
    assert!(ok, "dumpe2fs -h: {header}");
    assert!(
        header.contains("FEATURE_R31"),
        "dumpe2fs shows the unknown ro_compat bit:\n{header}"
    );
    let (clean, output) = run(Command::new("e2fsck").arg("-fn").arg(&image));
    assert!(!clean, "e2fsck must refuse an ext2l volume:\n{output}");
    assert!(
        output.contains("unsupported feature") || output.contains("newer version"),
        "{output}"
    );
    let (_, output) = run(Command::new("debugfs")
        .args(["-w", "-R", "mkdir /stock"])
        .arg(&image));
    assert!(
        output.contains("unsupported"),
        "debugfs -w must refuse: {output}"
    );
    // Read-only stock tools still read it.
    let (_, listing) = run(Command::new("debugfs").args(["-R", "ls /"]).arg(&image));
    assert!(listing.contains("again"), "{listing}");
    let _ = std::fs::remove_file(&image);
}

#[test]
fn our_mkfs_passes_e2fsck_and_dumpe2fs() {
    for (block_size, inode_size) in [(1024, 128), (1024, 256), (2048, 128), (4096, 256)] {
        for size in [3 << 20, 20 << 20, (8 << 20) + 30 * 1024] {
            let file_system = new_file_system(size, block_size, inode_size, false);
            let bytes = file_system.unmount().unwrap().into_bytes();
            let (clean, output) = e2fsck(&bytes);
            assert!(clean, "mkfs {block_size}/{inode_size}/{size}: {output}");
        }
    }
}

#[test]
fn revision_zero_images_read_and_mount_read_only() {
    let tree = scratch_path("rev0-tree");
    std::fs::create_dir_all(tree.join("d")).unwrap();
    std::fs::write(tree.join("d/f"), b"old format").unwrap();
    let image = scratch_path("rev0.img");
    let (ok, output) = run(Command::new("mke2fs")
        .args(["-q", "-F", "-r", "0", "-b", "1024", "-d"])
        .arg(&tree)
        .arg(&image)
        .arg("4M"));
    assert!(ok, "mke2fs -r 0: {output}");
    let mut file_system = mount_file(&image);
    assert!(file_system.is_read_only());
    let file = inode_at(&mut file_system, b"/d/f");
    let mut buffer = [0u8; 10];
    assert_eq!(file_system.read(file, 0, &mut buffer).unwrap(), 10);
    assert_eq!(&buffer, b"old format");
    let root = file_system.root();
    assert_eq!(
        file_system.create(root, b"x", 0o644, 0, 0),
        Err(Error::ReadOnly)
    );
    assert_checker_clean(&mut file_system);
    let _ = std::fs::remove_file(&image);
}

#[test]
fn unsupported_features_are_named_at_mount() {
    let image = scratch_path("ext4.img");
    let (ok, output) = run(Command::new("mke2fs")
        .args(["-q", "-F", "-t", "ext4", "-O", "^has_journal"])
        .arg(&image)
        .arg("8M"));
    assert!(ok, "{output}");
    let bytes = std::fs::read(&image).unwrap();
    match FileSystem::mount(MemoryDevice::from_bytes(bytes), mount_options()) {
        Err(Error::Unsupported { features }) => {
            let text = features.to_string();
            assert!(
                text.contains("extent") && text.contains("flex_bg"),
                "{text}"
            );
        }
        other => panic!("ext4 must be refused, got {other:?}"),
    }
    let _ = std::fs::remove_file(&image);
}

/// Parses e2fsprogs ranges (`-(263--563) -565`, `564, 566-8191`) into a
/// set of numbers; `sign` is the prefix each item must carry (or none).
fn parse_ranges(text: &str, sign: Option<char>) -> std::collections::BTreeSet<u32> {
    let mut numbers = std::collections::BTreeSet::new();
    for item in text.split([' ', ',']).filter(|item| !item.is_empty()) {
        let item = match sign {
            Some(sign) => item
                .strip_prefix(sign)
                .unwrap_or_else(|| panic!("`{item}` lacks `{sign}`")),
            None => item,
        };
        let item = item.trim_start_matches('(').trim_end_matches(')');
        let (first, last) = match item.split_once("--").or_else(|| item.split_once('-')) {
            Some((first, last)) => (first.parse::<u32>().unwrap(), last.parse::<u32>().unwrap()),
            None => {
                let value = item.parse::<u32>().unwrap();
                (value, value)
            }
        };
        numbers.extend(first..=last);
    }
    numbers
}

/// The free blocks and free inodes `dumpe2fs` lists, over all groups.
fn dumpe2fs_free(
    image: &Path,
) -> (
    std::collections::BTreeSet<u32>,
    std::collections::BTreeSet<u32>,
) {
    let (ok, output) = run(Command::new("dumpe2fs").arg(image));
    assert!(ok, "dumpe2fs: {output}");
    let mut blocks = std::collections::BTreeSet::new();
    let mut inodes = std::collections::BTreeSet::new();
    for line in output.lines() {
        if let Some(list) = line.strip_prefix("  Free blocks: ") {
            blocks.extend(parse_ranges(list, None));
        } else if let Some(list) = line.strip_prefix("  Free inodes: ") {
            inodes.extend(parse_ranges(list, None));
        }
    }
    (blocks, inodes)
}

/// e2fsck's closing summary (`11/2048 files (…), 263/8192 blocks`),
/// without the volume name and fragmentation figure.
fn e2fsck_summary(output: &str) -> String {
    let line = output
        .lines()
        .rev()
        .find(|line| line.contains(" files") && line.contains(" blocks"))
        .unwrap_or_else(|| panic!("no summary in:\n{output}"));
    let after_name = line.split_once(": ").map_or(line, |(_, rest)| rest);
    let after_name = after_name.trim_start_matches("clean, ");
    let files = after_name.split(' ').next().unwrap();
    let blocks = after_name.rsplit(", ").next().unwrap();
    format!("{files} files, {blocks}")
}

/// What stock e2fsck makes of the orphan list ext2l writes, on a volume
/// without the ext2l bit (made so, or with the bit cleared afterwards):
///
/// - `e2fsck -fy` and `-p` clear exactly the listed orphans, in list
///   order, and nothing else; the result is `e2fsck -fn` clean and counts
///   exactly what the same workload counts after the host released them.
/// - `e2fsck -fn` may not touch the list, so it sees each orphan as a
///   deleted inode whose blocks and bitmap bits are still taken: it names
///   the orphans (the last one "has zero dtime", the others "were part of
///   the orphaned inode list") and reports, as bitmap and directory-count
///   differences, exactly the orphans' inodes and blocks — computed here
///   from the same workload with the orphans released. Nothing else.
/// - `dumpe2fs` shows the head of the list, and `debugfs` reads an orphan.
#[test]
fn e2fsck_clears_exactly_the_orphans_and_reports_nothing_else() {
    for (block_size, inode_size, ext2l_then_cleared) in [(1024, 128, false), (4096, 256, true)] {
        let mut file_system = new_file_system(16 << 20, block_size, inode_size, ext2l_then_cleared);
        if ext2l_then_cleared {
            file_system.set_ext2l_feature(false).unwrap();
        }
        let root = file_system.root();
        let directory = file_system.mkdir(root, b"kept", 0o755, 0, 0).unwrap();
        let small = file_system.create(root, b"small", 0o644, 0, 0).unwrap();
        file_system.write(small, 0, b"small file").unwrap();
        let large = file_system
            .create(directory, b"large", 0o644, 0, 0)
            .unwrap();
        let large_data: Vec<u8> = (0..1_500_000u32).map(|index| (index % 253) as u8).collect();
        file_system.write(large, 0, &large_data).unwrap();
        let removed_directory = file_system.mkdir(directory, b"cwd", 0o755, 0, 0).unwrap();
        let slow_link = file_system
            .symlink(root, b"link", &[b'l'; 300], 0, 0)
            .unwrap();
        let linked = file_system.create(root, b"two-names", 0o644, 0, 0).unwrap();
        file_system.link(linked, directory, b"other-name").unwrap();
        let orphans = [small, large, removed_directory, slow_link];
        for inode in orphans.iter().chain([&linked]) {
            file_system.hold(*inode).unwrap();
        }
        file_system.unlink(root, b"small").unwrap();
        file_system.unlink(directory, b"large").unwrap();
        file_system.rmdir(directory, b"cwd").unwrap();
        file_system.unlink(root, b"link").unwrap();
        // Held and unlinked once, but still named: not an orphan.
        file_system.unlink(root, b"two-names").unwrap();
        file_system.sync().unwrap();
        assert_checker_clean(&mut file_system);
        let listed: Vec<u32> = file_system
            .check()
            .unwrap()
            .orphans
            .iter()
            .map(|inode| inode.get())
            .collect();
        assert_eq!(
            listed,
            [
                slow_link.get(),
                removed_directory.get(),
                large.get(),
                small.get()
            ]
        );
        assert!(!file_system.features().has_ext2l());
        let orphaned = scratch_path("orphaned.img");
        std::fs::write(&orphaned, file_system.device().as_bytes()).unwrap();
        // The same workload, with the host releasing everything.
        for inode in orphans.iter().chain([&linked]) {
            file_system.release(*inode).unwrap();
        }
        let released = scratch_path("released.img");
        std::fs::write(&released, file_system.unmount().unwrap().into_bytes()).unwrap();
        let (clean, released_output) = run(Command::new("e2fsck").arg("-fn").arg(&released));
        assert!(clean, "e2fsck -fn, orphans released:\n{released_output}");

        // dumpe2fs and debugfs read the list and an orphan.
        let (ok, header) = run(Command::new("dumpe2fs").arg("-h").arg(&orphaned));
        assert!(ok, "{header}");
        assert!(
            header
                .lines()
                .any(|line| line.starts_with("First orphan inode:")
                    && line.ends_with(&format!(" {}", slow_link.get()))),
            "{header}"
        );
        let output = Command::new("debugfs")
            .args(["-R", &format!("cat <{}>", large.get())])
            .arg(&orphaned)
            .output()
            .unwrap();
        assert!(
            output.stdout == large_data,
            "debugfs reads the orphan's data"
        );
        let (_, stat) = run(Command::new("debugfs")
            .args(["-R", &format!("stat <{}>", large.get())])
            .arg(&orphaned));
        assert!(stat.contains("Links: 0"), "{stat}");

        // e2fsck -fn: only its view of the orphans.
        let (clean, output) = run(Command::new("e2fsck").arg("-fn").arg(&orphaned));
        assert!(!clean, "{output}");
        let (released_blocks, released_inodes) = dumpe2fs_free(&released);
        let (orphaned_blocks, orphaned_inodes) = dumpe2fs_free(&orphaned);
        let orphan_blocks: std::collections::BTreeSet<u32> = released_blocks
            .difference(&orphaned_blocks)
            .copied()
            .collect();
        let orphan_inodes: std::collections::BTreeSet<u32> = released_inodes
            .difference(&orphaned_inodes)
            .copied()
            .collect();
        assert_eq!(orphan_inodes, listed.iter().copied().collect());
        assert!(orphaned_blocks.is_subset(&released_blocks));
        let mut zero_dtime = Vec::new();
        let mut were_listed = Vec::new();
        let mut block_differences = None;
        let mut inode_differences = None;
        let mut directory_difference = 0u32;
        for line in output.lines() {
            let line = line.trim_end();
            if let Some(rest) = line.strip_prefix("Deleted inode ") {
                zero_dtime.push(rest.split(' ').next().unwrap().parse::<u32>().unwrap());
                assert!(rest.ends_with("has zero dtime.  Fix? no"), "{line}");
            } else if let Some(list) = line.strip_prefix("Block bitmap differences:  ") {
                block_differences = Some(parse_ranges(list, Some('-')));
            } else if let Some(list) = line.strip_prefix("Inode bitmap differences:  ") {
                inode_differences = Some(parse_ranges(list, Some('-')));
            } else if let Some(rest) = line.strip_prefix("Inode ") {
                assert!(
                    rest.ends_with(" was part of the orphaned inode list.  IGNORED."),
                    "{line}"
                );
                were_listed.push(rest.split(' ').next().unwrap().parse::<u32>().unwrap());
            } else if let Some(rest) = line.strip_prefix("Directories count wrong for group #") {
                let counts = rest.split_once(" (").unwrap().1.trim_end_matches(").");
                let (recorded, counted) = counts.split_once(", counted=").unwrap();
                directory_difference +=
                    recorded.parse::<u32>().unwrap() - counted.parse::<u32>().unwrap();
            } else {
                let expected = line.is_empty()
                    || line.starts_with("Pass ")
                    || line.starts_with("e2fsck ")
                    || line == "Fix? no"
                    || line
                        == "Inodes that were part of a corrupted orphan linked list found.  Fix? no"
                    || line.ends_with("********** WARNING: Filesystem still has errors **********")
                    || line.contains(" files (");
                assert!(
                    expected,
                    "e2fsck -fn reports more than the orphans: `{line}`\n{output}"
                );
            }
        }
        // The last orphan of the list ends it with i_dtime 0.
        assert_eq!(zero_dtime, [small.get()], "{output}");
        were_listed.sort_unstable();
        let mut others: Vec<u32> = listed[..listed.len() - 1].to_vec();
        others.sort_unstable();
        assert_eq!(were_listed, others, "{output}");
        assert_eq!(inode_differences, Some(orphan_inodes), "{output}");
        assert_eq!(block_differences, Some(orphan_blocks), "{output}");
        assert_eq!(directory_difference, 1, "one orphaned directory:\n{output}");

        // e2fsck -fy on a copy: clears exactly the orphans, in list order.
        let repaired = scratch_path("repaired.img");
        std::fs::copy(&orphaned, &repaired).unwrap();
        // The snapshot is what a power cut leaves: the valid bit of
        // `s_state` clear (a read-write mount clears it). Marking the
        // volume valid again is a change, so e2fsck exits 1
        // (FSCK_NONDESTRUCT), not 0.
        let (status, output) = run_status(Command::new("e2fsck").arg("-fy").arg(&repaired));
        assert_eq!(status, 1, "e2fsck -fy exits 1:\n{output}");
        let cleared: Vec<u32> = output
            .lines()
            .filter_map(|line| line.strip_prefix("Clearing orphaned inode "))
            .map(|rest| rest.split(' ').next().unwrap().parse().unwrap())
            .collect();
        assert_eq!(cleared, listed, "{output}");
        for line in output.lines() {
            let expected = line.is_empty()
                || line.starts_with("Clearing orphaned inode ")
                || line.starts_with("Pass ")
                || line.starts_with("e2fsck ")
                || line.ends_with("***** FILE SYSTEM WAS MODIFIED *****")
                || line.contains(" files (");
            assert!(
                expected,
                "e2fsck -fy does more than clear orphans: `{line}`\n{output}"
            );
        }
        let (clean, after) = run(Command::new("e2fsck").arg("-fn").arg(&repaired));
        assert!(clean, "e2fsck -fn after -fy:\n{after}");
        assert_eq!(e2fsck_summary(&after), e2fsck_summary(&released_output));
        let (_, header) = run(Command::new("dumpe2fs").arg("-h").arg(&repaired));
        assert!(!header.contains("First orphan inode"), "{header}");

        // e2fsck -p (no -f): clears them, and checks the volume because it
        // was not cleanly unmounted (the snapshot's valid bit is clear),
        // finding nothing else; marking it valid is its change (exit 1).
        let preened = scratch_path("preened.img");
        std::fs::copy(&orphaned, &preened).unwrap();
        let (status, output) = run_status(Command::new("e2fsck").arg("-p").arg(&preened));
        assert_eq!(status, 1, "e2fsck -p exits 1:\n{output}");
        let lines: Vec<&str> = output
            .lines()
            .filter(|line| !line.is_empty() && !line.starts_with("e2fsck "))
            .collect();
        assert_eq!(lines.len(), listed.len() + 2, "{output}");
        for (line, orphan) in lines.iter().zip(&listed) {
            assert!(
                line.contains(&format!(": Clearing orphaned inode {orphan} (")),
                "{output}"
            );
        }
        assert!(
            lines[listed.len()].ends_with(" was not cleanly unmounted, check forced."),
            "{output}"
        );
        assert!(lines[listed.len() + 1].contains(" files ("), "{output}");
        assert_eq!(e2fsck_summary(&output), e2fsck_summary(&released_output));
        let (clean, after) = run(Command::new("e2fsck").arg("-fn").arg(&preened));
        assert!(clean, "e2fsck -fn after -p:\n{after}");
        for image in [&orphaned, &released, &repaired, &preened] {
            let _ = std::fs::remove_file(image);
        }
    }
}

/// A volume `mke2fs` made has no generation counter (the word at 0x3F8,
/// in `s_reserved`, is 0): its first new inode starts it at the clock;
/// it then persists across mounts, and e2fsck, dumpe2fs and debugfs
/// ignore the word (debugfs shows the generations it produced; after
/// `e2fsck -fy` rewrote the superblock the next mount carries on).
#[test]
fn the_generation_counter_starts_on_stock_volumes_and_stock_tools_ignore_it() {
    let image = scratch_path("generations.img");
    mke2fs(&image, 1024, 256, None, &[]);
    let mut file_system = mount_file(&image);
    assert_eq!(file_system.info().next_generation, 0);
    let root = file_system.root();
    let first = file_system.create(root, b"first", 0o644, 0, 0).unwrap();
    let second = file_system.mkdir(root, b"second", 0o755, 0, 0).unwrap();
    assert_eq!(file_system.stat(first).unwrap().generation, test_clock());
    assert_eq!(
        file_system.stat(second).unwrap().generation,
        test_clock() + 1
    );
    let bytes = file_system.unmount().unwrap().into_bytes();
    assert_eq!(
        u32::from_le_bytes(bytes[1024 + 0x3F8..1024 + 0x3FC].try_into().unwrap()),
        test_clock() + 2
    );
    std::fs::write(&image, &bytes).unwrap();
    let (clean, output) = e2fsck(&bytes);
    assert!(clean, "{output}");
    let (ok, _) = run(Command::new("dumpe2fs").arg(&image));
    assert!(ok);
    let (_, stat) = run(Command::new("debugfs")
        .args(["-R", "stat /second"])
        .arg(&image));
    assert!(
        stat.contains(&format!("Generation: {}", test_clock() + 1)),
        "{stat}"
    );
    let (clean, _) = run(Command::new("e2fsck").arg("-fy").arg(&image));
    assert!(clean);
    let mut file_system = mount_file(&image);
    assert_eq!(file_system.info().next_generation, test_clock() + 2);
    let third = file_system.create(root, b"third", 0o644, 0, 0).unwrap();
    assert_eq!(
        file_system.stat(third).unwrap().generation,
        test_clock() + 2
    );
    let _ = std::fs::remove_file(&image);
}
