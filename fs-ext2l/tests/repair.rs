// SPDX-License-Identifier: MIT OR Apache-2.0
//! The repair on ext2l volumes damaged on purpose.
//!
//! Each test damages a copy of one ext2l volume — packages installed as
//! the image builder installs them (`common::install_packages`: a
//! directory hardlink, rootlinks, a package root with no name, immutable
//! files and an immutable device) plus ordinary files — in one way, then
//! runs [`FileSystem::mount_and_repair`]. Afterwards: something was
//! repaired and the report says what, the checker finds the volume clean
//! after a remount, a second repair finds nothing, the packages are
//! intact, and every file the damage did not touch has its bytes.
#![forbid(unsafe_code)]

mod common;

use std::collections::BTreeMap;

use common::{
    assert_checker_clean, install_packages, mount_options, new_file_system,
    new_journaled_file_system, package_bytes, packages_intact,
};
use fs_ext2l::{FileSystem, InodeNumber, MemoryDevice, MountOptions, OnDamage};

/// The ordinary files of the volume, by path, with their bytes.
fn ordinary_files() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("/home/a.txt", package_bytes(10, 3000)),
        ("/home/b.txt", package_bytes(11, 40_000)),
        ("/home/docs/c.txt", package_bytes(12, 1200)),
        ("/home/docs/d.txt", package_bytes(13, 9000)),
        ("/home/abc", package_bytes(14, 100)),
        ("/home/victim.txt", package_bytes(15, 5000)),
    ]
}

/// Creates `path` with `contents` (its directories made as needed).
fn put<D: fs_ext2l::BlockDevice>(file_system: &mut FileSystem<D>, path: &str, contents: &[u8]) {
    let mut directory = file_system.root();
    let names: Vec<&str> = path.split('/').filter(|name| !name.is_empty()).collect();
    for name in &names[..names.len() - 1] {
        directory = match file_system.lookup(directory, name.as_bytes()) {
            Ok(inode) => inode,
            Err(_) => file_system
                .mkdir(directory, name.as_bytes(), 0o755, 0, 0)
                .unwrap(),
        };
    }
    let file = file_system
        .create(directory, names[names.len() - 1].as_bytes(), 0o644, 0, 0)
        .unwrap();
    file_system.write(file, 0, contents).unwrap();
}

/// The inode at `path`, or `None`.
fn find<D: fs_ext2l::BlockDevice>(
    file_system: &mut FileSystem<D>,
    path: &str,
) -> Option<InodeNumber> {
    let mut inode = file_system.root();
    for name in path.split('/').filter(|name| !name.is_empty()) {
        inode = file_system.lookup(inode, name.as_bytes()).ok()?;
    }
    Some(inode)
}

/// The damaged volume's facts a test needs: inode numbers by path.
struct Volume {
    image: Vec<u8>,
    inodes: BTreeMap<&'static str, u32>,
}

/// An ext2l volume with the packages and the ordinary files; `journal`
/// gives it a journal of 1024 blocks.
fn volume(journal: bool) -> Volume {
    let mut file_system = if journal {
        let mut file_system = new_journaled_file_system(8 << 20, 1024, 256);
        file_system.set_ext2l_feature(true).unwrap();
        file_system
    } else {
        new_file_system(4 << 20, 1024, 256, true)
    };
    install_packages(&mut file_system);
    for (path, contents) in ordinary_files() {
        put(&mut file_system, path, &contents);
    }
    let mut inodes = BTreeMap::new();
    for path in [
        "/home",
        "/home/a.txt",
        "/home/b.txt",
        "/home/docs",
        "/home/docs/c.txt",
        "/home/docs/d.txt",
        "/home/abc",
        "/home/victim.txt",
        "/lib",
        "/bin/cat",
        "/bin/hidden",
    ] {
        inodes.insert(path, find(&mut file_system, path).unwrap().get());
    }
    let hidden = InodeNumber(inodes["/bin/hidden"]);
    let hidden_root = file_system.stat(hidden).unwrap().rootlink.unwrap();
    inodes.insert("<hidden-root>", hidden_root.get());
    assert_checker_clean(&mut file_system);
    Volume {
        image: file_system.unmount().unwrap().into_bytes(),
        inodes,
    }
}

fn superblock_u32(image: &[u8], offset: usize) -> u32 {
    u32::from_le_bytes(image[1024 + offset..1024 + offset + 4].try_into().unwrap())
}

fn block_size(image: &[u8]) -> usize {
    1024 << superblock_u32(image, 0x18)
}

/// Byte offset of group 0's descriptor.
fn descriptor(image: &[u8]) -> usize {
    (superblock_u32(image, 0x14) as usize + 1) * block_size(image)
}

fn read_u32(image: &[u8], offset: usize) -> u32 {
    u32::from_le_bytes(image[offset..offset + 4].try_into().unwrap())
}

fn write_u32(image: &mut [u8], offset: usize, value: u32) {
    image[offset..offset + 4].copy_from_slice(&value.to_le_bytes());
}

fn write_u16(image: &mut [u8], offset: usize, value: u16) {
    image[offset..offset + 2].copy_from_slice(&value.to_le_bytes());
}

/// Byte offset of inode `number` (every test inode is in group 0).
fn inode_offset(image: &[u8], number: u32) -> usize {
    let inode_size = u16::from_le_bytes(image[1024 + 0x58..1024 + 0x5A].try_into().unwrap());
    let table = read_u32(image, descriptor(image) + 8) as usize;
    assert!(number <= superblock_u32(image, 0x28));
    table * block_size(image) + (number as usize - 1) * inode_size as usize
}

/// Byte offset of the first block of directory `number`.
fn directory_block(image: &[u8], number: u32) -> usize {
    read_u32(image, inode_offset(image, number) + 40) as usize * block_size(image)
}

/// Byte offset of the record naming `name` in the first block of
/// directory `directory`.
fn entry_offset(image: &[u8], directory: u32, name: &[u8]) -> usize {
    let start = directory_block(image, directory);
    let mut offset = start;
    while offset < start + block_size(image) {
        let length = u16::from_le_bytes(image[offset + 4..offset + 6].try_into().unwrap());
        let name_length = image[offset + 6] as usize;
        if &image[offset + 8..offset + 8 + name_length] == name {
            return offset;
        }
        offset += length as usize;
    }
    panic!("no entry {}", String::from_utf8_lossy(name));
}

/// Repairs `image` and judges the outcome (see the module doc); `spared`
/// lists the ordinary files the damage may have touched. Returns the
/// repair's lines and the repaired volume.
fn repair_and_judge(
    what: &str,
    image: Vec<u8>,
    spared: &[&str],
) -> (Vec<String>, FileSystem<MemoryDevice>) {
    let (file_system, report) =
        FileSystem::mount_and_repair(MemoryDevice::from_bytes(image), mount_options())
            .unwrap_or_else(|error| panic!("{what}: repair failed: {error}"));
    let lines: Vec<String> = report.repairs.iter().map(ToString::to_string).collect();
    assert!(!lines.is_empty(), "{what}: nothing was repaired");
    assert!(
        report.is_clean(),
        "{what}: not clean after the repair: {:#?} {:#?}",
        lines,
        report.check.problems
    );
    let device = file_system.unmount().unwrap();
    let bytes = device.as_bytes().to_vec();
    let mut file_system = FileSystem::mount(device, mount_options()).unwrap();
    assert_eq!(file_system.read_only_reason(), None, "{what}: {lines:#?}");
    assert_checker_clean(&mut file_system);
    if let Some(problem) = packages_intact(&mut file_system) {
        panic!("{what}: {problem}\n{lines:#?}");
    }
    for (path, contents) in ordinary_files() {
        if spared.contains(&path) {
            continue;
        }
        let inode = find(&mut file_system, path)
            .unwrap_or_else(|| panic!("{what}: {path} is gone\n{lines:#?}"));
        let mut read = vec![0u8; contents.len() + 1];
        let length = file_system.read(inode, 0, &mut read).unwrap();
        assert_eq!(&read[..length], &contents[..], "{what}: {path} changed");
    }
    let (_, again) = FileSystem::mount_and_repair(MemoryDevice::from_bytes(bytes), mount_options())
        .unwrap_or_else(|error| panic!("{what}: second repair failed: {error}"));
    assert!(
        again.repairs.is_empty() && again.is_clean(),
        "{what}: a second repair did {:#?}",
        again.repairs
    );
    (lines, file_system)
}

/// Asserts that one of `lines` contains `needle`.
fn said(what: &str, lines: &[String], needle: &str) {
    assert!(
        lines.iter().any(|line| line.contains(needle)),
        "{what}: no repair mentions `{needle}`: {lines:#?}"
    );
}

#[test]
fn bitmaps_and_counters_are_rewritten_from_what_is_used() {
    let volume = volume(false);
    let block = block_size(&volume.image);
    let group = descriptor(&volume.image);
    let mut image = volume.image.clone();
    let block_bitmap = read_u32(&image, group) as usize * block;
    image[block_bitmap..block_bitmap + 64].fill(0);
    let inode_bitmap = read_u32(&image, group + 4) as usize * block;
    image[inode_bitmap..inode_bitmap + 4].fill(0);
    write_u32(&mut image, 1024 + 0x0C, 17);
    write_u16(&mut image, group + 14, 3);
    let (lines, _) = repair_and_judge("bitmaps", image, &[]);
    said("bitmaps", &lines, "block bitmap");
    said("bitmaps", &lines, "inode bitmap");
    said("bitmaps", &lines, "free block count");
}

#[test]
fn link_counts_count_directory_hardlinks_and_rootlinks() {
    let volume = volume(false);
    let mut image = volume.image.clone();
    for (path, wrong) in [("/home/a.txt", 9u16), ("/lib", 1), ("<hidden-root>", 1)] {
        let offset = inode_offset(&image, volume.inodes[path]) + 26;
        write_u16(&mut image, offset, wrong);
    }
    let (lines, mut file_system) = repair_and_judge("link counts", image, &[]);
    said("link counts", &lines, "link count was 9: set it to 1");
    // `/lib`: two names and its `.`; the nameless root: its rootlink and
    // its `.` (its `..` names itself).
    let lib = InodeNumber(volume.inodes["/lib"]);
    assert_eq!(file_system.stat(lib).unwrap().links, 3);
    let hidden_root = InodeNumber(volume.inodes["<hidden-root>"]);
    assert_eq!(file_system.stat(hidden_root).unwrap().links, 3);
}

#[test]
fn unreachable_inodes_are_reconnected_into_lost_and_found() {
    let volume = volume(false);
    let mut image = volume.image.clone();
    let file = entry_offset(&image, volume.inodes["/home/docs"], b"c.txt");
    write_u32(&mut image, file, 0);
    let directory = entry_offset(&image, volume.inodes["/home"], b"b.txt");
    write_u32(&mut image, directory, 0);
    let (lines, mut file_system) =
        repair_and_judge("unreachable", image, &["/home/docs/c.txt", "/home/b.txt"]);
    said("unreachable", &lines, "lost+found");
    for (path, seed, length) in [("/home/docs/c.txt", 12, 1200), ("/home/b.txt", 11, 40_000)] {
        let name = format!("/lost+found/#{}", volume.inodes[path]);
        let inode = find(&mut file_system, &name).unwrap_or_else(|| panic!("{name}: {lines:#?}"));
        let mut read = vec![0u8; length + 1];
        let read_length = file_system.read(inode, 0, &mut read).unwrap();
        assert_eq!(read[..read_length], package_bytes(seed, length)[..]);
    }
}

#[test]
fn a_lost_directory_comes_back_with_its_files() {
    let volume = volume(false);
    let mut image = volume.image.clone();
    let entry = entry_offset(&image, volume.inodes["/home"], b"docs");
    write_u32(&mut image, entry, 0);
    let spared = ["/home/docs/c.txt", "/home/docs/d.txt"];
    let (lines, mut file_system) = repair_and_judge("lost directory", image, &spared);
    let name = format!("/lost+found/#{}/d.txt", volume.inodes["/home/docs"]);
    let inode = find(&mut file_system, &name).unwrap_or_else(|| panic!("{name}: {lines:#?}"));
    let mut read = vec![0u8; 9001];
    let length = file_system.read(inode, 0, &mut read).unwrap();
    assert_eq!(read[..length], package_bytes(13, 9000)[..]);
}

#[test]
fn bad_and_shared_block_pointers_are_cleared_or_cloned() {
    let volume = volume(false);
    let victim = inode_offset(&volume.image, volume.inodes["/home/victim.txt"]);
    // A pointer past the end of the volume.
    let mut image = volume.image.clone();
    write_u32(&mut image, victim + 40, 0xFFFF_FF00);
    let (lines, _) = repair_and_judge("bad pointer", image, &["/home/victim.txt"]);
    said("bad pointer", &lines, "victim.txt");
    // A block of /home/b.txt shared: one of the two gets a copy (e2fsck's
    // pass 1b), and b.txt keeps its bytes.
    let mut image = volume.image.clone();
    let shared = read_u32(
        &image,
        inode_offset(&image, volume.inodes["/home/b.txt"]) + 40,
    );
    write_u32(&mut image, victim + 40, shared);
    let (lines, _) = repair_and_judge("shared block", image, &["/home/victim.txt"]);
    said("shared block", &lines, "shared with");
}

#[test]
fn a_broken_directory_block_is_salvaged() {
    let volume = volume(false);
    let mut image = volume.image.clone();
    let entry = entry_offset(&image, volume.inodes["/home/docs"], b"c.txt");
    write_u16(&mut image, entry + 4, 3);
    let spared = ["/home/docs/c.txt", "/home/docs/d.txt"];
    let (lines, _) = repair_and_judge("directory block", image, &spared);
    said("directory block", &lines, "/home/docs");
}

#[test]
fn a_reserved_dot_only_name_is_renamed_and_its_file_kept() {
    let volume = volume(false);
    let mut image = volume.image.clone();
    let entry = entry_offset(&image, volume.inodes["/home"], b"abc");
    image[entry + 8..entry + 11].copy_from_slice(b"...");
    let (lines, mut file_system) = repair_and_judge("reserved name", image, &["/home/abc"]);
    said("reserved name", &lines, "reserved dot-only name");
    let home = InodeNumber(volume.inodes["/home"]);
    let entries = file_system.entries(home).unwrap();
    let kept = entries
        .iter()
        .find(|entry| entry.inode.get() == volume.inodes["/home/abc"])
        .expect("the file keeps a name in /home");
    assert!(!fs_ext2l::is_reserved_name(&kept.name));
}

#[test]
fn orphans_are_freed_and_the_errors_bit_cleared() {
    let volume = volume(false);
    let mut file_system = FileSystem::mount(
        MemoryDevice::from_bytes(volume.image.clone()),
        mount_options(),
    )
    .unwrap();
    let victim = InodeNumber(volume.inodes["/home/victim.txt"]);
    file_system.hold(victim).unwrap();
    let home = InodeNumber(volume.inodes["/home"]);
    file_system.unlink(home, b"victim.txt").unwrap();
    file_system.sync().unwrap();
    let mut image = file_system.into_device().into_bytes();
    // The errors bit, as damage found while running leaves it.
    image[1024 + 0x3A] |= 2;
    let blocked =
        FileSystem::mount(MemoryDevice::from_bytes(image.clone()), mount_options()).unwrap();
    assert!(blocked.read_only_reason().is_some());
    let (lines, file_system) = repair_and_judge("orphans", image, &["/home/victim.txt"]);
    said("orphans", &lines, "orphan list");
    assert_eq!(
        file_system.superblock().state() & 2,
        0,
        "the errors bit is cleared"
    );
}

#[test]
fn an_invalid_rootlink_is_dropped_and_valid_ones_kept() {
    let volume = volume(false);
    let mut image = volume.image.clone();
    // `/home/a.txt` gets a rootlink to a regular file: not a directory.
    let offset = inode_offset(&image, volume.inodes["/home/a.txt"]) + 0x70;
    write_u32(&mut image, offset, volume.inodes["/home/b.txt"]);
    let (lines, mut file_system) = repair_and_judge("bad rootlink", image, &[]);
    said("bad rootlink", &lines, "rootlink");
    let file = InodeNumber(volume.inodes["/home/a.txt"]);
    assert_eq!(file_system.stat(file).unwrap().rootlink, None);
}

#[test]
fn a_bad_journal_is_rebuilt_and_used_again() {
    let volume = volume(true);
    let mut file_system = FileSystem::mount(
        MemoryDevice::from_bytes(volume.image.clone()),
        mount_options(),
    )
    .unwrap();
    let journal = file_system.open_journal().unwrap();
    let (first, _) = journal.map().runs().next().unwrap();
    drop(file_system);
    // The journal superblock's magic; with and without `needs_recovery`
    // (then the mount itself could not replay it).
    for needs_recovery in [false, true] {
        let what = format!("bad journal, needs_recovery {needs_recovery}");
        let mut image = volume.image.clone();
        let offset = first as usize * block_size(&image);
        image[offset..offset + 4].fill(0);
        if needs_recovery {
            image[1024 + 0x60] |= 0x4;
            assert!(
                FileSystem::mount(MemoryDevice::from_bytes(image.clone()), mount_options())
                    .is_err()
            );
        }
        let (lines, mut file_system) = repair_and_judge(&what, image, &[]);
        said(&what, &lines, "made a new journal");
        assert!(file_system.journal_in_use(), "{lines:#?}");
        assert!(file_system.journal_status().unwrap().is_some());
    }
}

#[test]
fn damage_on_a_journaled_volume_is_repaired_in_place_and_journaling_resumes() {
    let volume = volume(true);
    let mut image = volume.image.clone();
    let offset = inode_offset(&image, volume.inodes["/home/a.txt"]) + 26;
    write_u16(&mut image, offset, 4);
    let block_bitmap = read_u32(&image, descriptor(&image)) as usize * block_size(&image);
    image[block_bitmap..block_bitmap + 16].fill(0);
    let (mut file_system, report) =
        FileSystem::mount_and_repair(MemoryDevice::from_bytes(image), mount_options()).unwrap();
    assert!(
        report.is_clean() && report.repairs.len() >= 2,
        "{report:#?}"
    );
    assert!(file_system.journal_in_use());
    let status = file_system.journal_status().unwrap().unwrap();
    assert!(!status.needs_recovery, "the log is empty after the repair");
    let (lines, _) = repair_and_judge(
        "journaled",
        {
            let mut image = file_system.unmount().unwrap().into_bytes();
            // Damage again, for the full judgement.
            let offset = inode_offset(&image, volume.inodes["/home/b.txt"]) + 26;
            write_u16(&mut image, offset, 3);
            image
        },
        &[],
    );
    said("journaled", &lines, "link count was 3");
}

#[test]
fn a_clean_volume_needs_nothing_and_stays_writable_under_either_policy() {
    for on_damage in [OnDamage::ReadOnly, OnDamage::Continue] {
        let volume = volume(false);
        let options = MountOptions {
            on_damage,
            ..mount_options()
        };
        let (mut file_system, report) =
            FileSystem::mount_and_repair(MemoryDevice::from_bytes(volume.image), options).unwrap();
        assert!(
            report.is_clean() && report.repairs.is_empty(),
            "{report:#?}"
        );
        assert_eq!(file_system.read_only_reason(), None);
        let root = file_system.root();
        file_system
            .create(root, b"after-repair", 0o644, 0, 0)
            .unwrap();
        assert_checker_clean(&mut file_system);
        assert_eq!(packages_intact(&mut file_system), None);
    }
}

#[test]
fn a_bad_indirect_pointer_of_a_small_file_is_cleared_for_good() {
    // Neither the size nor `i_blocks` counts it: the inode must still be
    // written (a second repair used to find it again).
    let volume = volume(false);
    let mut image = volume.image.clone();
    let offset = inode_offset(&image, volume.inodes["/home/victim.txt"]) + 40 + 12 * 4;
    write_u32(&mut image, offset, 0x00FF_0000);
    let (lines, _) = repair_and_judge("small file's indirect pointer", image, &[]);
    said("small file's indirect pointer", &lines, "an indirect block");
}

#[test]
fn a_package_root_that_lost_its_only_name_stays_reachable_through_its_rootlink() {
    let volume = volume(false);
    let mut image = volume.image.clone();
    let pkg = {
        let mut file_system =
            FileSystem::mount(MemoryDevice::from_bytes(image.clone()), mount_options()).unwrap();
        find(&mut file_system, "/pkg").unwrap().get()
    };
    let entry = entry_offset(&image, pkg, b"cat-root");
    write_u32(&mut image, entry, 0);
    let (file_system, report) =
        FileSystem::mount_and_repair(MemoryDevice::from_bytes(image), mount_options()).unwrap();
    assert!(report.is_clean(), "{:#?}", report.check.problems);
    let bytes = file_system.unmount().unwrap().into_bytes();
    let mut file_system =
        FileSystem::mount(MemoryDevice::from_bytes(bytes.clone()), mount_options()).unwrap();
    assert_checker_clean(&mut file_system);
    let cat = InodeNumber(volume.inodes["/bin/cat"]);
    let root = file_system
        .stat(cat)
        .unwrap()
        .rootlink
        .expect("the rootlink stays");
    let real = file_system.lookup(root, b"cat.real").unwrap();
    let mut read = vec![0u8; 3001];
    let length = file_system.read(real, 0, &mut read).unwrap();
    assert_eq!(read[..length], package_bytes(2, 3000)[..]);
    // Not moved to lost+found: the rootlink reaches it.
    assert!(find(&mut file_system, &format!("/lost+found/#{}", root.get())).is_none());
    let (_, again) =
        FileSystem::mount_and_repair(MemoryDevice::from_bytes(bytes), mount_options()).unwrap();
    assert!(again.repairs.is_empty(), "{:#?}", again.repairs);
}

#[test]
fn reserved_inodes_and_superblock_fields_are_set_as_e2fsck_wants_them() {
    let volume = volume(false);
    let mut image = volume.image.clone();
    // Inode 9: `i_blocks` and a size past any block map; inode 3 (user
    // quota, no quota feature): a block pointer; the superblock: a
    // project quota inode and a cluster size (what e2fsck checks of
    // reserved inodes and refuses in a superblock).
    let nine = inode_offset(&image, 9);
    write_u32(&mut image, nine + 28, 8);
    write_u32(&mut image, nine + 0x6C, 1 << 24);
    let three = inode_offset(&image, 3);
    write_u32(&mut image, three + 40, 300);
    write_u32(&mut image, 1024 + 0x26C, 20);
    write_u32(&mut image, 1024 + 0x1C, 3);
    // More reserved blocks than half the volume, and reserved descriptor
    // blocks and a resize inode without resize_inode.
    write_u32(&mut image, 1024 + 0x08, 1 << 20);
    write_u16(&mut image, 1024 + 0xCE, 7);
    let compatible = read_u32(&image, 1024 + 0x5C);
    write_u32(&mut image, 1024 + 0x5C, compatible & !0x10);
    let (lines, _) = repair_and_judge("reserved inodes", image, &[]);
    for needle in [
        "reserved inode's i_blocks was 8",
        "reserved inode's i_size",
        "quota inode not clear",
        "quota inode is named without the quota feature (was 20)",
        "cluster size",
        "more than half the blocks are reserved",
        "s_reserved_gdt_blocks is set without resize_inode (was 7)",
        "resize inode in use without resize_inode: zeroed it",
    ] {
        said("reserved inodes", &lines, needle);
    }
}
