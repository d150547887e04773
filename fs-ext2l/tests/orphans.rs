// SPDX-License-Identifier: MIT OR Apache-2.0
//! Held inodes, orphans, the on-disk orphan list and generations, through
//! the public API (DESIGN §4, object lifetime).
//!
//! Every scenario ends with a sync and our checker, so the orphan list is
//! shown to be valid state at each step; `tests/e2fsprogs.rs` shows what
//! stock `e2fsck` makes of the same lists.
#![forbid(unsafe_code)]

mod common;

use common::*;
use fs_ext2l::*;

fn pattern(length: usize, seed: u8) -> Vec<u8> {
    (0..length)
        .map(|index| (index as u8).wrapping_mul(7) ^ seed)
        .collect()
}

fn read_all(file_system: &mut FileSystem<MemoryDevice>, inode: InodeNumber) -> Vec<u8> {
    let size = file_system.stat(inode).unwrap().size as usize;
    let mut buffer = vec![0u8; size];
    assert_eq!(file_system.read(inode, 0, &mut buffer).unwrap(), size);
    buffer
}

/// Syncs, then asserts that the checker is clean and lists `orphans`.
fn assert_clean_with_orphans(file_system: &mut FileSystem<MemoryDevice>, orphans: &[InodeNumber]) {
    file_system.sync().unwrap();
    assert_checker_clean(file_system);
    let report = file_system.check().unwrap();
    assert_eq!(report.orphans, orphans, "orphans the checker found");
    assert_eq!(file_system.info().orphans_listed, orphans.len() as u32);
    assert_eq!(
        file_system.superblock().last_orphan(),
        orphans.first().map_or(0, |inode| inode.get())
    );
}

#[test]
fn an_unlinked_held_file_lives_on_until_release() {
    let mut file_system = new_file_system(4 << 20, 1024, 128, false);
    let root = file_system.root();
    let empty = file_system.info();
    let file = file_system.create(root, b"open", 0o644, 0, 0).unwrap();
    let data = pattern(300_000, 1);
    file_system.write(file, 0, &data).unwrap();
    let held = file_system.hold(file).unwrap();
    assert_eq!(held.file_type, FileType::RegularFile);
    assert_eq!(held.generation, file_system.stat(file).unwrap().generation);
    let free_inodes = file_system.info().free_inodes;
    let free_blocks = file_system.info().free_blocks;

    file_system.unlink(root, b"open").unwrap();
    assert_eq!(file_system.lookup(root, b"open"), Err(Error::NotFound));
    let metadata = file_system.stat(file).unwrap();
    assert_eq!(metadata.links, 0);
    assert_eq!(metadata.generation, held.generation);
    assert_eq!(file_system.generation(file).unwrap(), held.generation);
    assert!(read_all(&mut file_system, file) == data);
    let mut first = [0u8; 10];
    let mut second = [0u8; 20];
    file_system
        .read_pieces(file, 5, &mut [&mut first, &mut second])
        .unwrap();
    assert_eq!(&first[..], &data[5..15]);
    assert_eq!(&second[..], &data[15..35]);
    // Nothing was freed: the orphan keeps its number and its blocks.
    assert_eq!(file_system.info().free_inodes, free_inodes);
    assert_eq!(file_system.info().free_blocks, free_blocks);
    assert_clean_with_orphans(&mut file_system, &[file]);

    // Writes, truncation and attributes work through the handle.
    file_system.write(file, 10, b"still here").unwrap();
    file_system.truncate(file, 5000).unwrap();
    file_system
        .set_attributes(
            file,
            SetAttributes {
                mode: Some(0o600),
                ..SetAttributes::default()
            },
        )
        .unwrap();
    let mut expected = data[..5000].to_vec();
    expected[10..20].copy_from_slice(b"still here");
    assert!(read_all(&mut file_system, file) == expected);
    assert_eq!(file_system.stat(file).unwrap().mode & 0o7777, 0o600);
    // Nothing new reaches it.
    assert_eq!(file_system.link(file, root, b"again"), Err(Error::NotFound));
    assert_clean_with_orphans(&mut file_system, &[file]);

    file_system.release(file).unwrap();
    assert_eq!(file_system.stat(file), Err(Error::NotFound));
    assert_eq!(file_system.hold(file), Err(Error::NotFound));
    assert_eq!(file_system.info().free_inodes, free_inodes + 1);
    assert_eq!(file_system.info().free_inodes, empty.free_inodes);
    assert_eq!(file_system.info().free_blocks, empty.free_blocks);
    assert_clean_with_orphans(&mut file_system, &[]);
    finish(file_system);
}

/// Unmounts; e2fsck on a stock volume must be clean.
fn finish(file_system: FileSystem<MemoryDevice>) {
    let stock = !file_system.features().has_ext2l();
    let image = file_system.unmount().unwrap().into_bytes();
    if stock {
        let (clean, output) = e2fsck(&image);
        assert!(clean, "e2fsck -fn:\n{output}");
    }
}

#[test]
fn release_gives_back_exactly_what_the_file_held() {
    let mut file_system = new_file_system(4 << 20, 1024, 128, false);
    let root = file_system.root();
    let before = file_system.info();
    let file = file_system.create(root, b"f", 0o644, 0, 0).unwrap();
    file_system.write(file, 0, &pattern(100_000, 2)).unwrap();
    file_system.hold(file).unwrap();
    file_system.unlink(root, b"f").unwrap();
    file_system.release(file).unwrap();
    let after = file_system.info();
    assert_eq!(after.free_blocks, before.free_blocks);
    assert_eq!(after.free_inodes, before.free_inodes);
    assert_clean_with_orphans(&mut file_system, &[]);
}

#[test]
fn a_file_held_but_still_named_is_simply_released() {
    let mut file_system = new_file_system(2 << 20, 1024, 128, false);
    let root = file_system.root();
    let file = file_system.create(root, b"f", 0o644, 0, 0).unwrap();
    file_system.hold(file).unwrap();
    file_system.hold(file).unwrap();
    assert!(file_system.is_held(file));
    assert_eq!(file_system.held_count(), 1);
    file_system.release(file).unwrap();
    assert_eq!(file_system.release(file), Err(Error::InvalidArgument));
    assert_eq!(file_system.stat(file).unwrap().links, 1);
    assert_clean_with_orphans(&mut file_system, &[]);
}

#[test]
fn renaming_over_a_held_file_orphans_it() {
    let mut file_system = new_file_system(2 << 20, 1024, 128, false);
    let root = file_system.root();
    let victim = file_system.create(root, b"victim", 0o644, 0, 0).unwrap();
    file_system.write(victim, 0, b"old contents").unwrap();
    let new = file_system.create(root, b"new", 0o644, 0, 0).unwrap();
    file_system.hold(victim).unwrap();
    file_system.rename(root, b"new", root, b"victim").unwrap();
    assert_eq!(file_system.lookup(root, b"victim").unwrap(), new);
    assert_eq!(file_system.stat(victim).unwrap().links, 0);
    assert_eq!(read_all(&mut file_system, victim), b"old contents");
    assert_clean_with_orphans(&mut file_system, &[victim]);
    file_system.release(victim).unwrap();
    assert_clean_with_orphans(&mut file_system, &[]);
    finish(file_system);
}

#[test]
fn a_held_symlink_still_reads_and_a_device_node_still_stats() {
    let mut file_system = new_file_system(2 << 20, 1024, 128, false);
    let root = file_system.root();
    let fast = file_system.symlink(root, b"fast", b"target", 0, 0).unwrap();
    let slow = file_system
        .symlink(root, b"slow", &[b's'; 200], 0, 0)
        .unwrap();
    let fifo = file_system
        .create_node(root, b"fifo", FileType::Fifo, 0o600, 0, 0, 0)
        .unwrap();
    for (inode, name) in [(fast, &b"fast"[..]), (slow, b"slow"), (fifo, b"fifo")] {
        file_system.hold(inode).unwrap();
        file_system.unlink(root, name).unwrap();
        assert_eq!(file_system.stat(inode).unwrap().links, 0);
    }
    assert_eq!(file_system.readlink(fast).unwrap(), b"target");
    assert_eq!(file_system.readlink(slow).unwrap(), vec![b's'; 200]);
    assert_eq!(file_system.stat(fifo).unwrap().file_type, FileType::Fifo);
    assert_clean_with_orphans(&mut file_system, &[fifo, slow, fast]);
    for inode in [slow, fifo, fast] {
        file_system.release(inode).unwrap();
        assert_eq!(file_system.readlink(inode), Err(Error::NotFound));
    }
    assert_clean_with_orphans(&mut file_system, &[]);
    finish(file_system);
}

#[test]
fn a_file_with_another_name_is_not_orphaned() {
    let mut file_system = new_file_system(2 << 20, 1024, 128, false);
    let root = file_system.root();
    let file = file_system.create(root, b"a", 0o644, 0, 0).unwrap();
    file_system.link(file, root, b"b").unwrap();
    file_system.hold(file).unwrap();
    file_system.unlink(root, b"a").unwrap();
    assert_eq!(file_system.stat(file).unwrap().links, 1);
    assert_clean_with_orphans(&mut file_system, &[]);
    file_system.unlink(root, b"b").unwrap();
    assert_clean_with_orphans(&mut file_system, &[file]);
    file_system.release(file).unwrap();
    assert_clean_with_orphans(&mut file_system, &[]);
}

#[test]
fn a_removed_held_directory_is_an_empty_orphan() {
    let mut file_system = new_file_system(2 << 20, 1024, 128, false);
    let root = file_system.root();
    let parent = file_system.mkdir(root, b"parent", 0o755, 0, 0).unwrap();
    let directory = file_system.mkdir(parent, b"cwd", 0o755, 0, 0).unwrap();
    let other = file_system.create(root, b"other", 0o644, 0, 0).unwrap();
    file_system.hold(directory).unwrap();
    let free_inodes = file_system.info().free_inodes;
    assert_eq!(file_system.stat(parent).unwrap().links, 3);
    file_system.rmdir(parent, b"cwd").unwrap();
    // The parent loses the orphan's `..` at once.
    assert_eq!(file_system.stat(parent).unwrap().links, 2);
    let metadata = file_system.stat(directory).unwrap();
    assert_eq!((metadata.links, metadata.size), (0, 0));
    assert_eq!(metadata.file_type, FileType::Directory);
    assert_eq!(file_system.read_dir(directory, 0), Ok(None));
    assert_eq!(file_system.entries(directory), Ok(Vec::new()));
    assert_eq!(file_system.lookup(directory, b"x"), Err(Error::NotFound));
    assert_eq!(
        file_system.create(directory, b"x", 0o644, 0, 0),
        Err(Error::NotFound)
    );
    assert_eq!(
        file_system.mkdir(directory, b"x", 0o755, 0, 0),
        Err(Error::NotFound)
    );
    assert_eq!(
        file_system.symlink(directory, b"x", b"target", 0, 0),
        Err(Error::NotFound)
    );
    assert_eq!(
        file_system.link(other, directory, b"x"),
        Err(Error::NotFound)
    );
    assert_eq!(
        file_system.rename(root, b"other", directory, b"x"),
        Err(Error::NotFound)
    );
    assert_eq!(
        file_system.installer().link(parent, directory, b"x"),
        Err(Error::NotFound)
    );
    // Still attributes by inode, as `chmod` on a removed cwd.
    file_system
        .set_attributes(
            directory,
            SetAttributes {
                mode: Some(0o700),
                ..SetAttributes::default()
            },
        )
        .unwrap();
    assert_eq!(file_system.info().free_inodes, free_inodes);
    assert_clean_with_orphans(&mut file_system, &[directory]);
    file_system.release(directory).unwrap();
    assert_eq!(file_system.info().free_inodes, free_inodes + 1);
    assert_eq!(file_system.stat(directory), Err(Error::NotFound));
    assert_clean_with_orphans(&mut file_system, &[]);
    finish(file_system);
}

#[test]
fn renaming_over_a_held_directory_orphans_it() {
    let mut file_system = new_file_system(2 << 20, 1024, 128, false);
    let root = file_system.root();
    let victim = file_system.mkdir(root, b"victim", 0o755, 0, 0).unwrap();
    let moved = file_system.mkdir(root, b"moved", 0o755, 0, 0).unwrap();
    file_system.hold(victim).unwrap();
    file_system.rename(root, b"moved", root, b"victim").unwrap();
    assert_eq!(file_system.lookup(root, b"victim").unwrap(), moved);
    assert_eq!(file_system.stat(victim).unwrap().links, 0);
    assert_clean_with_orphans(&mut file_system, &[victim]);
    file_system.release(victim).unwrap();
    assert_clean_with_orphans(&mut file_system, &[]);
    finish(file_system);
}

#[test]
fn orphans_leave_the_middle_of_the_list_cleanly() {
    let mut file_system = new_file_system(2 << 20, 1024, 128, false);
    let root = file_system.root();
    let mut files = Vec::new();
    for index in 0..4u8 {
        let name = [b'f', b'0' + index];
        let file = file_system.create(root, &name, 0o644, 0, 0).unwrap();
        file_system.write(file, 0, &pattern(3000, index)).unwrap();
        file_system.hold(file).unwrap();
        file_system.unlink(root, &name).unwrap();
        files.push(file);
    }
    // The newest orphan heads the list.
    let mut listed: Vec<InodeNumber> = files.iter().rev().copied().collect();
    assert_clean_with_orphans(&mut file_system, &listed);
    for victim in [files[1], files[3], files[0], files[2]] {
        file_system.release(victim).unwrap();
        listed.retain(|&inode| inode != victim);
        assert_clean_with_orphans(&mut file_system, &listed);
        for &survivor in &listed {
            let index = files.iter().position(|&file| file == survivor).unwrap();
            assert!(read_all(&mut file_system, survivor) == pattern(3000, index as u8));
        }
    }
    finish(file_system);
}

#[test]
fn a_read_write_mount_frees_what_was_left_listed() {
    let mut file_system = new_file_system(4 << 20, 1024, 128, false);
    let root = file_system.root();
    let before = file_system.info();
    let directory = file_system.mkdir(root, b"d", 0o755, 0, 0).unwrap();
    let file = file_system.create(directory, b"f", 0o644, 0, 0).unwrap();
    file_system.write(file, 0, &pattern(200_000, 3)).unwrap();
    file_system.hold(file).unwrap();
    file_system.hold(directory).unwrap();
    file_system.unlink(directory, b"f").unwrap();
    file_system.rmdir(root, b"d").unwrap();
    assert_clean_with_orphans(&mut file_system, &[directory, file]);
    // The host goes away without releasing (a crash, as far as the
    // volume can tell): the list is on disk.
    file_system.sync().unwrap();
    let device = file_system.into_device();

    let read_only = MountOptions {
        read_only: true,
        ..mount_options()
    };
    let mut file_system = FileSystem::mount(device, read_only).unwrap();
    let info = file_system.info();
    assert_eq!((info.orphans_cleaned, info.orphans_listed), (0, 2));
    assert_eq!(info.orphan_list_damage, None);
    assert_eq!(file_system.check().unwrap().orphans, [directory, file]);
    assert!(file_system.check().unwrap().is_clean());
    // Nobody holds them here: they are not in use.
    assert_eq!(file_system.hold(file), Err(Error::NotFound));
    assert_eq!(file_system.stat(file), Err(Error::NotFound));
    let device = file_system.into_device();

    // Mounting writable without cleaning (a tool that only inspects).
    let inspect = MountOptions {
        clean_orphans: false,
        ..mount_options()
    };
    let file_system = FileSystem::mount(device, inspect).unwrap();
    assert_eq!(file_system.info().orphans_listed, 2);
    let device = file_system.into_device();

    let mut file_system = FileSystem::mount(device, mount_options()).unwrap();
    let info = file_system.info();
    assert_eq!((info.orphans_cleaned, info.orphans_listed), (2, 0));
    assert_eq!(info.free_inodes, before.free_inodes);
    assert_eq!(info.free_blocks, before.free_blocks);
    assert_clean_with_orphans(&mut file_system, &[]);
    let file_system = remount(file_system);
    assert_eq!(file_system.info().orphans_cleaned, 0);
    finish(file_system);
}

#[test]
fn no_number_is_reused_while_held_and_generations_never_repeat() {
    let mut file_system = new_file_system(2 << 20, 1024, 128, false);
    let root = file_system.root();
    let file = file_system.create(root, b"held", 0o644, 0, 0).unwrap();
    let first_generation = file_system.hold(file).unwrap().generation;
    file_system.unlink(root, b"held").unwrap();
    for index in 0..40u32 {
        let name = format!("n{index}");
        let other = file_system
            .create(root, name.as_bytes(), 0o644, 0, 0)
            .unwrap();
        assert_ne!(other, file, "a held inode's number was reused");
        file_system.unlink(root, name.as_bytes()).unwrap();
    }
    file_system.release(file).unwrap();
    // Now the number comes back, with a new generation each time, also
    // across a remount.
    let mut generations = vec![first_generation];
    for round in 0..6 {
        let again = file_system.create(root, b"again", 0o644, 0, 0).unwrap();
        assert_eq!(again, file);
        let generation = file_system.stat(again).unwrap().generation;
        assert!(
            generation > *generations.last().unwrap(),
            "generations {generations:?} then {generation}"
        );
        generations.push(generation);
        file_system.unlink(root, b"again").unwrap();
        if round % 2 == 1 {
            file_system = remount(file_system);
        }
    }
    assert_eq!(
        file_system.info().next_generation,
        generations.last().unwrap() + 1
    );
}

#[test]
fn a_rootlink_release_makes_a_held_root_an_orphan() {
    let mut file_system = new_file_system(2 << 20, 1024, 128, true);
    let root = file_system.root();
    let launcher = file_system.create(root, b"launcher", 0o755, 0, 0).unwrap();
    let package = file_system.mkdir(root, b"package", 0o755, 0, 0).unwrap();
    file_system
        .installer()
        .set_rootlink(launcher, package)
        .unwrap();
    // The package root keeps only the rootlink (and `.`, and `..` now
    // naming itself), and a process runs in it.
    file_system.rmdir(root, b"package").unwrap();
    assert_eq!(file_system.stat(package).unwrap().links, 3);
    file_system.hold(package).unwrap();
    file_system.unlink(root, b"launcher").unwrap();
    assert_eq!(file_system.stat(launcher), Err(Error::NotFound));
    assert_eq!(file_system.stat(package).unwrap().links, 0);
    assert_clean_with_orphans(&mut file_system, &[package]);
    file_system.release(package).unwrap();
    assert_clean_with_orphans(&mut file_system, &[]);
}

#[test]
fn a_held_launcher_keeps_its_root_until_release() {
    let mut file_system = new_file_system(2 << 20, 1024, 128, true);
    let root = file_system.root();
    let launcher = file_system.create(root, b"launcher", 0o755, 0, 0).unwrap();
    let package = file_system.mkdir(root, b"package", 0o755, 0, 0).unwrap();
    file_system
        .installer()
        .set_rootlink(launcher, package)
        .unwrap();
    file_system.rmdir(root, b"package").unwrap();
    file_system.hold(launcher).unwrap();
    file_system.hold(package).unwrap();
    file_system.unlink(root, b"launcher").unwrap();
    // The orphaned launcher's rootlink still counts, and still reaches
    // the package root for the checker.
    assert_eq!(file_system.stat(launcher).unwrap().links, 0);
    assert_eq!(file_system.rootlink(launcher).unwrap(), Some(package));
    assert_eq!(file_system.stat(package).unwrap().links, 3);
    assert_clean_with_orphans(&mut file_system, &[launcher]);
    // Only orphans reach the package root now: it takes no new entries,
    // so the release below can always drop the reference.
    assert_eq!(
        file_system.create(package, b"x", 0o644, 0, 0),
        Err(Error::NotFound)
    );
    assert_eq!(
        file_system.mkdir(package, b"x", 0o755, 0, 0),
        Err(Error::NotFound)
    );
    file_system.release(launcher).unwrap();
    assert_clean_with_orphans(&mut file_system, &[package]);
    file_system.release(package).unwrap();
    assert_clean_with_orphans(&mut file_system, &[]);
}

#[test]
fn a_held_launcher_into_a_non_empty_root_cannot_lose_its_last_name() {
    let mut file_system = new_file_system(2 << 20, 1024, 128, true);
    let root = file_system.root();
    let launcher = file_system.create(root, b"launcher", 0o755, 0, 0).unwrap();
    let package = file_system.mkdir(root, b"package", 0o755, 0, 0).unwrap();
    file_system
        .create(package, b"program", 0o755, 0, 0)
        .unwrap();
    file_system
        .installer()
        .set_rootlink(launcher, package)
        .unwrap();
    // The rootlink becomes the only way into the (non-empty) package root.
    file_system.rmdir(root, b"package").unwrap();
    file_system.hold(launcher).unwrap();
    // Holding the launcher does not let it orphan the package root: its
    // last name goes only when the root could go too (the same rule as
    // without a hold), so every orphan's rootlink can be dropped later.
    assert_eq!(file_system.unlink(root, b"launcher"), Err(Error::NotEmpty));
    let other = file_system.create(root, b"other", 0o644, 0, 0).unwrap();
    assert_eq!(
        file_system.rename(root, b"other", root, b"launcher"),
        Err(Error::NotEmpty)
    );
    assert_eq!(file_system.stat(launcher).unwrap().links, 1);
    assert_eq!(file_system.stat(other).unwrap().links, 1);
    assert_clean_with_orphans(&mut file_system, &[]);
    file_system.release(launcher).unwrap();
    assert_clean_with_orphans(&mut file_system, &[]);
}

#[test]
fn ext2l_info_and_check_report_the_list() {
    let mut file_system = new_file_system(2 << 20, 1024, 128, false);
    let root = file_system.root();
    assert_eq!(file_system.info().next_generation, 2, "lost+found took 1");
    let file = file_system.create(root, b"f", 0o644, 0, 0).unwrap();
    assert_eq!(file_system.stat(file).unwrap().generation, 2);
    file_system.hold(file).unwrap();
    file_system.unlink(root, b"f").unwrap();
    let info = file_system.info();
    assert_eq!(
        (
            info.orphans_listed,
            info.orphans_cleaned,
            info.next_generation
        ),
        (1, 0, 3)
    );
    let report = file_system.check().unwrap();
    assert!(report.is_clean());
    assert_eq!(report.orphans, [file]);
    // The root, lost+found and the orphan.
    assert_eq!(report.inodes_in_use, 3);
}

#[test]
fn a_read_only_mount_makes_no_orphans_and_holds_what_is_in_use() {
    let file_system = new_file_system(2 << 20, 1024, 128, false);
    let device = file_system.unmount().unwrap();
    let options = MountOptions {
        read_only: true,
        ..mount_options()
    };
    let mut file_system = FileSystem::mount(device, options).unwrap();
    let root = file_system.root();
    let lost_and_found = file_system.lookup(root, b"lost+found").unwrap();
    let held = file_system.hold(lost_and_found).unwrap();
    assert_eq!(held.file_type, FileType::Directory);
    assert_eq!(file_system.rmdir(root, b"lost+found"), Err(Error::ReadOnly));
    file_system.release(lost_and_found).unwrap();
}
