// SPDX-License-Identifier: MIT OR Apache-2.0
//! Every operation of the library on in-memory devices, for each block and
//! inode size: contents, sparse and large files, names, links, renames,
//! symlinks, attributes, and the ext2l rules (rootlinks, directory
//! hardlinks, reserved names, immutable inodes). After each scenario our
//! checker must find nothing, and `e2fsck -fn` must agree whenever the
//! ext2l bit is off.
#![forbid(unsafe_code)]

mod common;

use common::*;
use fs_ext2l::*;

const GEOMETRIES: [(u32, u32); 4] = [(1024, 128), (1024, 256), (2048, 256), (4096, 128)];

/// A deterministic byte pattern.
fn pattern(length: usize, seed: u32) -> Vec<u8> {
    (0..length as u32)
        .map(|index| (index.wrapping_mul(2_654_435_761).wrapping_add(seed) >> 13) as u8)
        .collect()
}

fn read_all(file_system: &mut FileSystem<MemoryDevice>, inode: InodeNumber) -> Vec<u8> {
    let size = file_system.stat(inode).unwrap().size as usize;
    let mut buffer = vec![0u8; size];
    assert_eq!(file_system.read(inode, 0, &mut buffer).unwrap(), size);
    buffer
}

fn finish_stock(file_system: FileSystem<MemoryDevice>, what: &str) {
    let mut file_system = remount(file_system);
    assert_checker_clean(&mut file_system);
    let image = file_system.unmount().unwrap().into_bytes();
    let (clean, output) = e2fsck(&image);
    assert!(clean, "{what}: e2fsck -fn:\n{output}");
}

#[test]
fn files_of_every_shape_round_trip() {
    for (block_size, inode_size) in GEOMETRIES {
        let mut file_system = new_file_system(24 << 20, block_size, inode_size, false);
        let root = file_system.root();
        let bs = block_size as usize;
        let pointers = bs / 4;
        // Sizes that end in direct, single, double indirect blocks, and odd ones.
        let sizes = [
            0usize,
            1,
            bs - 1,
            bs,
            12 * bs,
            12 * bs + 1,
            (12 + pointers) * bs + 7,
            3 * bs / 2,
        ];
        let mut files = Vec::new();
        for (index, &size) in sizes.iter().enumerate() {
            let name = format!("file{index}");
            let inode = file_system
                .create(root, name.as_bytes(), 0o644, 1000, 100)
                .unwrap();
            let data = pattern(size, index as u32);
            assert_eq!(file_system.write(inode, 0, &data).unwrap(), size);
            files.push((inode, data));
        }
        // Writes at odd offsets, overlapping block boundaries.
        let (inode, data) = &mut files[6];
        let patch = pattern(3 * bs + 5, 99);
        let offset = 5 * bs + 3;
        file_system.write(*inode, offset as u64, &patch).unwrap();
        data[offset..offset + patch.len()].copy_from_slice(&patch);
        let mut file_system = remount(file_system);
        for (inode, data) in &files {
            assert_eq!(
                &read_all(&mut file_system, *inode),
                data,
                "block size {block_size}"
            );
        }
        // Partial reads at every kind of offset.
        let (inode, data) = &files[6];
        let mut buffer = vec![0u8; 2 * bs + 11];
        let read = file_system
            .read(*inode, (bs - 5) as u64, &mut buffer)
            .unwrap();
        assert_eq!(&buffer[..read], &data[bs - 5..bs - 5 + read]);
        assert_eq!(
            file_system
                .read(*inode, data.len() as u64 + 10, &mut buffer)
                .unwrap(),
            0
        );
        finish_stock(file_system, "files");
    }
}

#[test]
fn sparse_files_and_truncation() {
    for (block_size, inode_size) in GEOMETRIES {
        let mut file_system = new_file_system(16 << 20, block_size, inode_size, false);
        let root = file_system.root();
        let bs = u64::from(block_size);
        let inode = file_system.create(root, b"sparse", 0o600, 0, 0).unwrap();
        // A byte far into the double-indirect range, nothing before it.
        let far = (12 + bs / 4 + 10) * bs + 17;
        file_system.write(inode, far, b"end").unwrap();
        let metadata = file_system.stat(inode).unwrap();
        assert_eq!(metadata.size, far + 3);
        assert!(
            metadata.sectors < 8 * bs / 512 + 8,
            "sparse file allocated too much"
        );
        let mut buffer = vec![1u8; 4096];
        file_system.read(inode, 1000, &mut buffer).unwrap();
        assert!(buffer.iter().all(|&byte| byte == 0));
        // Grow by truncate, shrink into the middle of a block, grow again:
        // the bytes past the shrink point must read as zeros.
        file_system
            .write(inode, 0, &pattern(3 * bs as usize, 1))
            .unwrap();
        file_system.truncate(inode, bs + 10).unwrap();
        file_system.truncate(inode, 5 * bs).unwrap();
        let contents = read_all(&mut file_system, inode);
        assert_eq!(
            &contents[..(bs + 10) as usize],
            &pattern(3 * bs as usize, 1)[..(bs + 10) as usize]
        );
        assert!(contents[(bs + 10) as usize..].iter().all(|&byte| byte == 0));
        file_system.truncate(inode, 0).unwrap();
        assert_eq!(file_system.stat(inode).unwrap().sectors, 0);
        // Writing past the end after a partial block leaves zeros between.
        file_system.write(inode, 0, b"abc").unwrap();
        file_system.write(inode, 10, b"xyz").unwrap();
        assert_eq!(read_all(&mut file_system, inode), b"abc\0\0\0\0\0\0\0xyz");
        finish_stock(file_system, "sparse");
    }
}

#[test]
fn large_files_set_large_file_and_use_triple_indirect_blocks() {
    let mut file_system = new_file_system(8 << 20, 1024, 128, false);
    let root = file_system.root();
    let inode = file_system.create(root, b"huge", 0o644, 0, 0).unwrap();
    // 1 KiB blocks: the triple-indirect range starts at 12 + 256 + 65536 blocks.
    let triple = (12 + 256 + 256 * 256 + 5) * 1024u64;
    file_system.write(inode, triple, b"deep").unwrap();
    let beyond_2_gib = 3u64 << 30;
    file_system.write(inode, beyond_2_gib, b"far").unwrap();
    let mut buffer = [0u8; 4];
    file_system.read(inode, triple, &mut buffer).unwrap();
    assert_eq!(&buffer, b"deep");
    assert!(
        file_system.features().read_only_compatible & ReadOnlyCompatibleFeatures::LARGE_FILE.bits()
            != 0
    );
    assert_eq!(
        file_system.write(inode, 1 << 50, b"x"),
        Err(Error::FileTooLarge)
    );
    finish_stock(file_system, "large");
}

#[test]
fn running_out_of_space_is_clean() {
    let mut file_system = new_file_system(1 << 20, 1024, 128, false);
    let root = file_system.root();
    let inode = file_system.create(root, b"fill", 0o644, 0, 0).unwrap();
    let data = pattern(2 << 20, 3);
    let written = file_system.write(inode, 0, &data).unwrap();
    assert!(written > 0 && written < data.len());
    assert_eq!(
        file_system.write(inode, written as u64, b"more"),
        Err(Error::NoSpace)
    );
    assert_eq!(&read_all(&mut file_system, inode)[..], &data[..written]);
    // Creating directories fails cleanly too, and deleting frees everything.
    let mut made = 0;
    while file_system
        .mkdir(root, format!("d{made}").as_bytes(), 0o755, 0, 0)
        .is_ok()
    {
        made += 1;
    }
    file_system.unlink(root, b"fill").unwrap();
    for index in 0..made {
        file_system
            .rmdir(root, format!("d{index}").as_bytes())
            .unwrap();
    }
    finish_stock(file_system, "full");
}

#[test]
fn directories_grow_shrink_and_keep_counts() {
    for (block_size, inode_size) in GEOMETRIES {
        let mut file_system = new_file_system(8 << 20, block_size, inode_size, false);
        let root = file_system.root();
        let directory = file_system.mkdir(root, b"many", 0o755, 0, 0).unwrap();
        for index in 0..400 {
            let name = format!("entry-with-a-longish-name-{index:04}");
            if index % 3 == 0 {
                file_system
                    .mkdir(directory, name.as_bytes(), 0o700, 0, 0)
                    .unwrap();
            } else {
                file_system
                    .create(directory, name.as_bytes(), 0o600, 0, 0)
                    .unwrap();
            }
        }
        assert_eq!(file_system.stat(directory).unwrap().links, 2 + 134);
        assert!(file_system.stat(directory).unwrap().size > u64::from(block_size));
        for index in (0..400).step_by(2) {
            let name = format!("entry-with-a-longish-name-{index:04}");
            if index % 3 == 0 {
                file_system.rmdir(directory, name.as_bytes()).unwrap();
            } else {
                file_system.unlink(directory, name.as_bytes()).unwrap();
            }
        }
        let entries = file_system.entries(directory).unwrap();
        assert_eq!(entries.len(), 2 + 200);
        // read_dir resumes from any cursor it returned.
        let mut cursor = 0;
        let mut count = 0;
        while let Some(entry) = file_system.read_dir(directory, cursor).unwrap() {
            cursor = entry.next_cursor;
            count += 1;
        }
        assert_eq!(count, 202);
        assert_eq!(file_system.rmdir(root, b"many"), Err(Error::NotEmpty));
        finish_stock(file_system, "directories");
    }
}

#[test]
fn names_links_and_renames() {
    let mut file_system = new_file_system(4 << 20, 1024, 256, false);
    let root = file_system.root();
    let a = file_system.mkdir(root, b"a", 0o755, 0, 0).unwrap();
    let b = file_system.mkdir(root, b"b", 0o755, 0, 0).unwrap();
    let file = file_system.create(a, b"f", 0o644, 0, 0).unwrap();
    file_system.write(file, 0, b"contents").unwrap();
    assert_eq!(file_system.create(a, b"f", 0o644, 0, 0), Err(Error::Exists));
    assert_eq!(file_system.lookup(a, b"missing"), Err(Error::NotFound));
    assert_eq!(file_system.lookup(file, b"x"), Err(Error::NotADirectory));
    assert_eq!(file_system.lookup(a, b"."), Ok(a));
    assert_eq!(file_system.lookup(a, b".."), Err(Error::InvalidName));
    assert_eq!(
        file_system.create(a, &[b'n'; 256], 0o644, 0, 0),
        Err(Error::NameTooLong)
    );
    // Hard links of files.
    file_system.link(file, b, b"g").unwrap();
    assert_eq!(file_system.stat(file).unwrap().links, 2);
    assert_eq!(file_system.link(a, b, b"dirlink"), Err(Error::NotPermitted));
    // Rename within and across directories, over an existing file.
    file_system.rename(a, b"f", a, b"f2").unwrap();
    let other = file_system.create(b, b"victim", 0o644, 0, 0).unwrap();
    file_system.rename(a, b"f2", b, b"victim").unwrap();
    assert_eq!(file_system.stat(other), Err(Error::NotFound));
    assert_eq!(file_system.lookup(b, b"victim"), Ok(file));
    // Renaming one hard link over another of the same inode does nothing.
    file_system.rename(b, b"g", b, b"victim").unwrap();
    assert_eq!(file_system.stat(file).unwrap().links, 2);
    // Directory moves update `..` counts; cycles are refused.
    let inner = file_system.mkdir(a, b"inner", 0o755, 0, 0).unwrap();
    assert_eq!(file_system.stat(a).unwrap().links, 3);
    file_system.rename(a, b"inner", b, b"inner").unwrap();
    assert_eq!(file_system.stat(a).unwrap().links, 2);
    assert_eq!(file_system.stat(b).unwrap().links, 3);
    assert_eq!(
        file_system.rename(root, b"b", inner, b"loop"),
        Err(Error::WouldCycle)
    );
    assert_eq!(
        file_system.rename(root, b"b", b, b"self"),
        Err(Error::WouldCycle)
    );
    // A directory over an empty directory, not over a non-empty one.
    let empty = file_system.mkdir(root, b"empty", 0o755, 0, 0).unwrap();
    assert_eq!(
        file_system.rename(root, b"a", root, b"b"),
        Err(Error::NotEmpty)
    );
    file_system.rename(root, b"a", root, b"empty").unwrap();
    assert_eq!(file_system.stat(empty), Err(Error::NotFound));
    assert_eq!(
        file_system.rename(root, b"empty", b, b"victim"),
        Err(Error::NotADirectory)
    );
    assert_eq!(
        file_system.rename(b, b"victim", root, b"b"),
        Err(Error::IsADirectory)
    );
    // Symbolic links, fast and slow.
    let fast = file_system
        .symlink(root, b"fast", b"b/victim", 0, 0)
        .unwrap();
    let long_target = vec![b'y'; 300];
    let slow = file_system
        .symlink(root, b"slow", &long_target, 0, 0)
        .unwrap();
    assert_eq!(file_system.readlink(fast).unwrap(), b"b/victim");
    assert_eq!(file_system.readlink(slow).unwrap(), long_target);
    assert_eq!(file_system.readlink(file), Err(Error::NotASymlink));
    // Attributes.
    file_system
        .set_attributes(
            file,
            SetAttributes {
                mode: Some(0o4711),
                uid: Some(70000),
                gid: Some(80000),
                access_time: Some(5),
                modification_time: Some(6),
            },
        )
        .unwrap();
    let metadata = file_system.stat(file).unwrap();
    assert_eq!(metadata.mode, 0o104711);
    assert_eq!((metadata.uid, metadata.gid), (70000, 80000));
    assert_eq!((metadata.access_time, metadata.modification_time), (5, 6));
    // Special files.
    file_system
        .create_node(root, b"fifo", FileType::Fifo, 0o644, 0, 0, 0)
        .unwrap();
    let device = file_system
        .create_node(root, b"tty", FileType::CharacterDevice, 0o620, 0, 5, 0x0401)
        .unwrap();
    assert_eq!(file_system.stat(device).unwrap().device, 0x0401);
    finish_stock(file_system, "names");
}

#[test]
fn reserved_names_are_refused_everywhere() {
    let mut file_system = new_file_system(2 << 20, 1024, 128, true);
    let root = file_system.root();
    let file = file_system.create(root, b"f", 0o644, 0, 0).unwrap();
    for name in [&b"..."[..], b"....", b"......."] {
        assert_eq!(
            file_system.create(root, name, 0o644, 0, 0),
            Err(Error::InvalidName)
        );
        assert_eq!(
            file_system.mkdir(root, name, 0o755, 0, 0),
            Err(Error::InvalidName)
        );
        assert_eq!(
            file_system.symlink(root, name, b"f", 0, 0),
            Err(Error::InvalidName)
        );
        assert_eq!(file_system.link(file, root, name), Err(Error::InvalidName));
        assert_eq!(
            file_system.rename(root, b"f", root, name),
            Err(Error::InvalidName)
        );
        assert_eq!(file_system.lookup(root, name), Err(Error::InvalidName));
        assert_eq!(
            file_system.installer().mkdir(root, name, 0o755, 0, 0),
            Err(Error::InvalidName)
        );
    }
    for name in [&b"."[..], b"..", b"", b"a/b", b"a\0b"] {
        assert_eq!(
            file_system.create(root, name, 0o644, 0, 0),
            Err(Error::InvalidName)
        );
    }
    file_system.create(root, b"..a", 0o644, 0, 0).unwrap();
    file_system.create(root, b".a.", 0o644, 0, 0).unwrap();
    let mut file_system = remount(file_system);
    assert_checker_clean(&mut file_system);
}

#[test]
fn immutable_inodes_refuse_every_change() {
    let mut file_system = new_file_system(2 << 20, 1024, 256, false);
    let root = file_system.root();
    let directory = file_system.mkdir(root, b"frozen", 0o755, 0, 0).unwrap();
    let inside = file_system
        .create(directory, b"inside", 0o644, 0, 0)
        .unwrap();
    let file = file_system.create(root, b"file", 0o644, 0, 0).unwrap();
    file_system.write(file, 0, b"old").unwrap();
    let subdirectory = file_system.mkdir(directory, b"sub", 0o755, 0, 0).unwrap();
    {
        let mut installer = file_system.installer();
        installer.set_immutable(directory, true).unwrap();
        installer.set_immutable(file, true).unwrap();
    }
    let expect = Err(Error::Immutable);
    assert_eq!(file_system.write(file, 0, b"new"), expect.map(|()| 0));
    assert_eq!(file_system.truncate(file, 0), expect);
    assert_eq!(
        file_system.set_attributes(
            file,
            SetAttributes {
                mode: Some(0o777),
                ..SetAttributes::default()
            }
        ),
        expect
    );
    assert_eq!(file_system.unlink(root, b"file"), expect);
    assert_eq!(file_system.rename(root, b"file", root, b"moved"), expect);
    assert_eq!(file_system.link(file, root, b"second"), expect);
    assert_eq!(
        file_system.create(directory, b"new", 0o644, 0, 0),
        expect.map(|()| InodeNumber(0))
    );
    assert_eq!(
        file_system.mkdir(directory, b"new", 0o755, 0, 0),
        expect.map(|()| InodeNumber(0))
    );
    assert_eq!(
        file_system.symlink(directory, b"new", b"x", 0, 0),
        expect.map(|()| InodeNumber(0))
    );
    assert_eq!(file_system.unlink(directory, b"inside"), expect);
    assert_eq!(file_system.rmdir(directory, b"sub"), expect);
    assert_eq!(
        file_system.rename(directory, b"inside", root, b"out"),
        expect
    );
    assert_eq!(file_system.rename(root, b"file", directory, b"in"), expect);
    assert_eq!(file_system.link(inside, directory, b"again"), expect);
    assert_eq!(file_system.rmdir(root, b"frozen"), expect);
    // The contents of a mutable file inside an immutable directory can change.
    file_system.write(inside, 0, b"ok").unwrap();
    file_system
        .mkdir(subdirectory, b"deeper", 0o755, 0, 0)
        .unwrap();
    // The installer may do all of it.
    {
        let mut installer = file_system.installer();
        installer.write(file, 0, b"new").unwrap();
        installer
            .create(directory, b"installed", 0o755, 0, 0)
            .unwrap();
        installer.link(file, directory, b"file-link").unwrap();
        installer.set_immutable(file, false).unwrap();
    }
    file_system.write(file, 3, b"!").unwrap();
    assert_eq!(read_all(&mut file_system, file), b"new!");
    finish_stock(file_system, "immutable");
}

#[test]
fn directory_hardlinks_count_and_never_cycle() {
    let mut file_system = new_file_system(4 << 20, 1024, 256, false);
    let root = file_system.root();
    let shared = file_system.mkdir(root, b"shared", 0o755, 0, 0).unwrap();
    let library = file_system.mkdir(shared, b"lib", 0o755, 0, 0).unwrap();
    file_system
        .create(library, b"libc.so", 0o755, 0, 0)
        .unwrap();
    let package = file_system.mkdir(root, b"package", 0o755, 0, 0).unwrap();
    assert!(!file_system.features().has_ext2l());
    file_system
        .installer()
        .link(library, package, b"lib")
        .unwrap();
    assert!(
        file_system.features().has_ext2l(),
        "a directory hardlink sets the ext2l bit"
    );
    // Two names, its `.`, no subdirectories.
    assert_eq!(file_system.stat(library).unwrap().links, 3);
    assert_eq!(file_system.lookup(package, b"lib"), Ok(library));
    assert_checker_clean(&mut file_system);
    // Cycles: linking a directory into itself or its descendants.
    assert_eq!(
        file_system.installer().link(shared, library, b"up"),
        Err(Error::WouldCycle)
    );
    assert_eq!(
        file_system.installer().link(library, library, b"me"),
        Err(Error::WouldCycle)
    );
    let deep = file_system.mkdir(library, b"deep", 0o755, 0, 0).unwrap();
    assert_eq!(
        file_system.installer().link(shared, deep, b"up"),
        Err(Error::WouldCycle)
    );
    // Through the second name too: package/lib/deep reaches package? No, but
    // moving `package` under lib/deep would make package/lib/deep/package/lib…
    assert_eq!(
        file_system.rename(root, b"package", deep, b"package"),
        Err(Error::WouldCycle)
    );
    file_system.rmdir(library, b"deep").unwrap();
    // Removing the first parent's name removes only that name, even though
    // the directory is not empty; `..` moves to the directory itself.
    file_system.rmdir(shared, b"lib").unwrap();
    assert_eq!(file_system.lookup(package, b"lib"), Ok(library));
    assert!(file_system.lookup(library, b"libc.so").is_ok());
    assert_eq!(file_system.stat(shared).unwrap().links, 2);
    assert_checker_clean(&mut file_system);
    // Now it has one name left: removing it needs an empty directory.
    assert_eq!(file_system.rmdir(package, b"lib"), Err(Error::NotEmpty));
    file_system.unlink(library, b"libc.so").unwrap();
    file_system.rmdir(package, b"lib").unwrap();
    assert_eq!(file_system.stat(library), Err(Error::NotFound));
    let mut file_system = remount(file_system);
    assert_checker_clean(&mut file_system);
    // With no ext2l structure left the bit can go, and e2fsck agrees.
    file_system.set_ext2l_feature(false).unwrap();
    finish_stock(file_system, "directory hardlinks");
}

#[test]
fn rootlinks_count_as_links_and_can_be_the_only_way_in() {
    let mut file_system = new_file_system(4 << 20, 1024, 128, false);
    let root = file_system.root();
    let bin = file_system.mkdir(root, b"bin", 0o755, 0, 0).unwrap();
    let launcher = file_system.create(bin, b"cat", 0o755, 0, 0).unwrap();
    let package_root = file_system.mkdir(root, b"cat-root", 0o755, 0, 0).unwrap();
    file_system
        .create(package_root, b"cat.real", 0o755, 0, 0)
        .unwrap();
    assert_eq!(
        file_system.installer().set_rootlink(launcher, launcher),
        Err(Error::NotADirectory)
    );
    assert_eq!(
        file_system.installer().set_rootlink(bin, package_root),
        Err(Error::NotPermitted)
    );
    file_system
        .installer()
        .set_rootlink(launcher, package_root)
        .unwrap();
    assert!(file_system.features().has_ext2l());
    assert_eq!(file_system.rootlink(launcher), Ok(Some(package_root)));
    assert_eq!(file_system.stat(package_root).unwrap().links, 3);
    // The package root loses its name: the rootlink is now the only way in.
    file_system.rmdir(root, b"cat-root").unwrap();
    // Root: `.`, `..`, and the `..` of lost+found and bin.
    assert_eq!(file_system.stat(root).unwrap().links, 4);
    assert!(file_system.lookup(package_root, b"cat.real").is_ok());
    assert_checker_clean(&mut file_system);
    // The last reference to a non-empty directory cannot be dropped.
    assert_eq!(
        file_system.installer().clear_rootlink(launcher),
        Err(Error::NotEmpty)
    );
    assert_eq!(file_system.unlink(bin, b"cat"), Err(Error::NotEmpty));
    // A second launcher sharing the root, then the first goes.
    let other = file_system.create(bin, b"other", 0o755, 0, 0).unwrap();
    file_system
        .installer()
        .set_rootlink(other, package_root)
        .unwrap();
    file_system.unlink(bin, b"cat").unwrap();
    assert_checker_clean(&mut file_system);
    // Emptied, the root goes with its last rootlink.
    file_system.unlink(package_root, b"cat.real").unwrap();
    file_system.installer().clear_rootlink(other).unwrap();
    assert_eq!(file_system.stat(package_root), Err(Error::NotFound));
    assert_eq!(file_system.rootlink(other), Ok(None));
    let mut file_system = remount(file_system);
    assert_checker_clean(&mut file_system);
    file_system.set_ext2l_feature(false).unwrap();
    finish_stock(file_system, "rootlinks");
}

#[test]
fn the_ext2l_bit_stays_off_without_ext2l_structures_and_cannot_go_while_used() {
    let mut file_system = new_file_system(2 << 20, 1024, 128, false);
    let root = file_system.root();
    let directory = file_system.mkdir(root, b"d", 0o755, 0, 0).unwrap();
    let file = file_system.create(directory, b"f", 0o644, 0, 0).unwrap();
    file_system.installer().set_immutable(file, true).unwrap();
    assert!(
        !file_system.features().has_ext2l(),
        "immutable is stock ext2"
    );
    file_system
        .installer()
        .link(directory, root, b"d2")
        .unwrap();
    assert_eq!(
        file_system.set_ext2l_feature(false),
        Err(Error::FeatureInUse)
    );
    file_system.rmdir(root, b"d2").unwrap();
    file_system.set_ext2l_feature(false).unwrap();
    file_system.set_ext2l_feature(true).unwrap();
    assert!(file_system.features().has_ext2l());
}

#[test]
fn read_only_mounts_refuse_writes() {
    let file_system = new_file_system(2 << 20, 1024, 128, false);
    let device = file_system.unmount().unwrap();
    let options = MountOptions {
        read_only: true,
        ..mount_options()
    };
    let mut file_system = FileSystem::mount(device, options).unwrap();
    let root = file_system.root();
    assert_eq!(
        file_system.create(root, b"x", 0o644, 0, 0),
        Err(Error::ReadOnly)
    );
    assert_eq!(
        file_system.mkdir(root, b"x", 0o644, 0, 0),
        Err(Error::ReadOnly)
    );
    assert_eq!(file_system.rmdir(root, b"lost+found"), Err(Error::ReadOnly));
    assert!(file_system.lookup(root, b"lost+found").is_ok());
}

#[test]
fn direct_extents_cover_exactly_the_file() {
    let mut file_system = new_file_system(4 << 20, 1024, 128, false);
    let root = file_system.root();
    let inode = file_system.create(root, b"direct", 0o644, 0, 0).unwrap();
    let data = pattern(300_000, 5);
    let extents = file_system
        .allocate_range(inode, 0, data.len() as u64)
        .unwrap();
    let mut covered = 0u64;
    let mut image = file_system.unmount().unwrap().into_bytes();
    for extent in &extents {
        let FileExtent::Data {
            file_offset,
            device_offset,
            length,
        } = *extent
        else {
            panic!("allocate_range returned a hole");
        };
        assert_eq!(file_offset, covered);
        covered += length;
        image[device_offset as usize..(device_offset + length) as usize]
            .copy_from_slice(&data[file_offset as usize..(file_offset + length) as usize]);
    }
    assert_eq!(covered, data.len() as u64);
    let mut file_system =
        FileSystem::mount(MemoryDevice::from_bytes(image), mount_options()).unwrap();
    assert_eq!(read_all(&mut file_system, inode), data);
    let mapped = file_system.map_range(inode, 0, u64::MAX).unwrap();
    assert_eq!(mapped.len(), extents.len());
    finish_stock(file_system, "extents");
}

#[test]
fn a_write_of_nothing_past_the_end_changes_nothing() {
    let mut file_system = new_file_system(4 << 20, 1024, 128, false);
    let root = file_system.root();
    let inode = file_system.create(root, b"f", 0o644, 0, 0).unwrap();
    assert_eq!(file_system.write(inode, 5, b"abc").unwrap(), 3);
    assert_eq!(file_system.write(inode, 70_000, b"").unwrap(), 0);
    assert_eq!(file_system.stat(inode).unwrap().size, 8);
    assert_eq!(read_all(&mut file_system, inode), b"\0\0\0\0\0abc");
    finish_stock(file_system, "empty write past the end");
}

#[test]
fn a_read_into_pieces_fills_them_as_one_buffer() {
    for (block_size, inode_size) in GEOMETRIES {
        let mut file_system = new_file_system(16 << 20, block_size, inode_size, false);
        let root = file_system.root();
        let bs = block_size as usize;
        let inode = file_system.create(root, b"pieces", 0o600, 0, 0).unwrap();
        // Data, a hole of whole blocks, data past the indirect boundary.
        let head = pattern(5 * bs + 300, 3);
        let tail_at = (14 + bs / 4) * bs + 123;
        let tail = pattern(3 * bs, 9);
        file_system.write(inode, 0, &head).unwrap();
        file_system.write(inode, tail_at as u64, &tail).unwrap();
        let whole = read_all(&mut file_system, inode);
        assert_eq!(whole.len(), tail_at + tail.len());
        // Every cut of the range into pieces: at and off block boundaries,
        // empty pieces, and pieces past the end of the file.
        for offset in [0, 1, bs - 1, bs, 5 * bs + 299, tail_at - 2 * bs - 5] {
            for cuts in [
                vec![1, bs, 3 * bs + 7],
                vec![bs, 0, 16 * bs],
                vec![7, 4096 - 7, 128 * 1024],
                vec![whole.len() + bs],
            ] {
                let mut parts: Vec<Vec<u8>> = cuts.iter().map(|&n| vec![0xA5; n]).collect();
                let mut slices: Vec<&mut [u8]> =
                    parts.iter_mut().map(|part| part.as_mut_slice()).collect();
                let count = file_system
                    .read_pieces(inode, offset as u64, &mut slices)
                    .unwrap();
                let wanted = cuts.iter().sum::<usize>().min(whole.len() - offset);
                assert_eq!(count, wanted, "offset {offset}, pieces {cuts:?}");
                let joined: Vec<u8> = parts.concat();
                assert_eq!(
                    &joined[..count],
                    &whole[offset..offset + count],
                    "offset {offset}, pieces {cuts:?}, block size {bs}"
                );
                assert!(joined[count..].iter().all(|&byte| byte == 0xA5));
            }
        }
    }
}
