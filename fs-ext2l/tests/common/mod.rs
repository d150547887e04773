// SPDX-License-Identifier: MIT OR Apache-2.0
//! Helpers shared by the integration tests: fresh file systems in memory,
//! scratch files, running the e2fsprogs tools on an image, the corpus's
//! images, and reproducible randomness.
#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use fs_ext2l::{format, FileSystem, FileType, FormatOptions, MemoryDevice, MountOptions};

/// A clock for tests: a fixed, plausible time.
pub fn test_clock() -> u32 {
    1_700_000_000
}

pub fn mount_options() -> MountOptions {
    MountOptions {
        clock: test_clock,
        ..MountOptions::default()
    }
}

/// A freshly formatted in-memory file system.
pub fn new_file_system(
    size: usize,
    block_size: u32,
    inode_size: u32,
    ext2l: bool,
) -> FileSystem<MemoryDevice> {
    let options = FormatOptions {
        block_size,
        inode_size,
        ext2l,
        uuid: [7; 16],
        time: test_clock(),
        label: b"test".to_vec(),
        ..FormatOptions::default()
    };
    format(MemoryDevice::new(size), &options, mount_options()).expect("format")
}

/// A freshly formatted in-memory file system with a journal of 1024
/// blocks: its mount journals its metadata.
pub fn new_journaled_file_system(
    size: usize,
    block_size: u32,
    inode_size: u32,
) -> FileSystem<MemoryDevice> {
    let options = FormatOptions {
        block_size,
        inode_size,
        ext2l: false,
        uuid: [8; 16],
        time: test_clock(),
        label: b"journaled".to_vec(),
        journal_blocks: Some(1024),
        ..FormatOptions::default()
    };
    format(MemoryDevice::new(size), &options, mount_options()).expect("format")
}

/// Syncs and remounts, to prove the state survives on disk.
pub fn remount(file_system: FileSystem<MemoryDevice>) -> FileSystem<MemoryDevice> {
    let device = file_system.unmount().expect("unmount");
    FileSystem::mount(device, mount_options()).expect("remount")
}

/// The e2fsprogs corrupted-image corpus: `EXT2L_CORPUS_DIR` when set (a
/// git worktree outside the project directory does not sit next to
/// `shared/`), else `shared/corpus/e2fsprogs-f` beside the repository.
pub fn corpus_directory() -> PathBuf {
    match std::env::var_os("EXT2L_CORPUS_DIR") {
        Some(directory) => PathBuf::from(directory),
        None => {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/e2fsprogs-f")
        }
    }
}

static SCRATCH_COUNTER: AtomicU32 = AtomicU32::new(0);

/// A fresh scratch path under the system temporary directory.
pub fn scratch_path(stem: &str) -> PathBuf {
    let count = SCRATCH_COUNTER.fetch_add(1, Ordering::Relaxed);
    let directory = std::env::temp_dir().join(format!("ext2l-test-{}", std::process::id()));
    std::fs::create_dir_all(&directory).expect("scratch directory");
    directory.join(format!("{stem}-{count}"))
}

/// Whether `e2fsck` can be run.
pub fn e2fsck_installed() -> bool {
    Command::new("e2fsck").arg("-V").output().is_ok()
}

/// Runs `e2fsck -fn` on an image held in memory; returns (clean, output).
pub fn e2fsck(image: &[u8]) -> (bool, String) {
    let path = scratch_path("e2fsck.img");
    std::fs::write(&path, image).expect("write image");
    let output = Command::new("e2fsck")
        .arg("-fn")
        .arg(&path)
        .output()
        .expect("run e2fsck");
    let _ = std::fs::remove_file(&path);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// Asserts that our checker finds nothing.
pub fn assert_checker_clean<D: fs_ext2l::BlockDevice>(file_system: &mut FileSystem<D>) {
    let report = file_system.check().expect("check");
    assert!(
        report.is_clean(),
        "checker problems:\n{}",
        report
            .problems
            .iter()
            .map(|problem| problem.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// The inode at `path` (`/a/b`), found name by name from the root: plain
/// names only (no `.`, `..` or symbolic links; the system's path resolver
/// is `kernel_core`'s).
pub fn inode_at<D: fs_ext2l::BlockDevice>(
    file_system: &mut FileSystem<D>,
    path: &[u8],
) -> fs_ext2l::InodeNumber {
    let mut inode = file_system.root();
    for name in path
        .split(|&byte| byte == b'/')
        .filter(|name| !name.is_empty())
    {
        inode = file_system
            .lookup(inode, name)
            .unwrap_or_else(|error| panic!("{}: {error}", String::from_utf8_lossy(path)));
    }
    inode
}

/// Bytes of an installed file: a pattern that differs from seed to seed.
pub fn package_bytes(seed: u8, length: usize) -> Vec<u8> {
    (0..length)
        .map(|index| (index as u8).wrapping_mul(17).wrapping_add(seed))
        .collect()
}

/// Installs what only the image builder makes (DESIGN §4, §8) on an
/// ext2l volume, everything immutable:
///
/// - `/lib/libc.so`, and `/lib` hard-linked as `/pkg/cat-root/lib` (a
///   directory hardlink);
/// - `/pkg/cat-root/cat.real`, and the launcher `/bin/cat` whose rootlink
///   names `/pkg/cat-root`;
/// - a package root with no name at all, reached only through the
///   rootlink of `/bin/hidden`, holding `tool`;
/// - a character device `/dev/null`, immutable (valid on ext2l only).
///
/// [`packages_intact`] checks that all of it survives.
pub fn install_packages<D: fs_ext2l::BlockDevice>(file_system: &mut FileSystem<D>) {
    let root = file_system.root();
    let mut installer = file_system.installer();
    let lib = installer.mkdir(root, b"lib", 0o755, 0, 0).unwrap();
    let libc = installer.create(lib, b"libc.so", 0o755, 0, 0).unwrap();
    installer.write(libc, 0, &package_bytes(1, 5000)).unwrap();
    let pkg = installer.mkdir(root, b"pkg", 0o755, 0, 0).unwrap();
    let cat_root = installer.mkdir(pkg, b"cat-root", 0o755, 0, 0).unwrap();
    installer.link(lib, cat_root, b"lib").unwrap();
    let real = installer
        .create(cat_root, b"cat.real", 0o755, 0, 0)
        .unwrap();
    installer.write(real, 0, &package_bytes(2, 3000)).unwrap();
    let bin = installer.mkdir(root, b"bin", 0o755, 0, 0).unwrap();
    let cat = installer.create(bin, b"cat", 0o755, 0, 0).unwrap();
    installer.write(cat, 0, &package_bytes(3, 700)).unwrap();
    installer.set_rootlink(cat, cat_root).unwrap();
    let hidden_root = installer.mkdir(root, b"hidden-root", 0o755, 0, 0).unwrap();
    let tool = installer.create(hidden_root, b"tool", 0o755, 0, 0).unwrap();
    installer.write(tool, 0, &package_bytes(4, 1500)).unwrap();
    let hidden = installer.create(bin, b"hidden", 0o755, 0, 0).unwrap();
    installer.set_rootlink(hidden, hidden_root).unwrap();
    installer.rmdir(root, b"hidden-root").unwrap();
    let dev = installer.mkdir(root, b"dev", 0o755, 0, 0).unwrap();
    let null = installer
        .file_system()
        .create_node(dev, b"null", FileType::CharacterDevice, 0o666, 0, 0, 0x0103)
        .unwrap();
    for inode in [libc, real, cat, tool, hidden, null, cat_root, hidden_root] {
        installer.set_immutable(inode, true).unwrap();
    }
}

/// What is wrong with what [`install_packages`] made, if anything.
pub fn packages_intact<D: fs_ext2l::BlockDevice>(
    file_system: &mut FileSystem<D>,
) -> Option<String> {
    let mut lookup = |path: &[u8]| -> Result<fs_ext2l::InodeNumber, String> {
        let mut inode = file_system.root();
        for name in path
            .split(|&byte| byte == b'/')
            .filter(|name| !name.is_empty())
        {
            inode = file_system
                .lookup(inode, name)
                .map_err(|error| format!("{}: {error}", String::from_utf8_lossy(path)))?;
        }
        Ok(inode)
    };
    let found = (|| -> Result<_, String> {
        Ok((
            lookup(b"/lib")?,
            lookup(b"/pkg/cat-root/lib")?,
            lookup(b"/pkg/cat-root")?,
            lookup(b"/bin/cat")?,
            lookup(b"/bin/hidden")?,
            lookup(b"/dev/null")?,
        ))
    })();
    let (lib, shared_lib, cat_root, cat, hidden, null) = match found {
        Ok(found) => found,
        Err(error) => return Some(error),
    };
    if lib != shared_lib {
        return Some(String::from(
            "the directory hardlink /pkg/cat-root/lib is gone",
        ));
    }
    let stat = |file_system: &mut FileSystem<D>, inode| file_system.stat(inode).unwrap();
    if stat(file_system, cat).rootlink != Some(cat_root) {
        return Some(String::from("the rootlink of /bin/cat is gone"));
    }
    let Some(hidden_root) = stat(file_system, hidden).rootlink else {
        return Some(String::from("the rootlink of /bin/hidden is gone"));
    };
    let files: [(fs_ext2l::InodeNumber, &[u8], Vec<u8>); 4] = [
        (lib, b"libc.so", package_bytes(1, 5000)),
        (cat_root, b"cat.real", package_bytes(2, 3000)),
        (hidden_root, b"tool", package_bytes(4, 1500)),
        (shared_lib, b"libc.so", package_bytes(1, 5000)),
    ];
    let mut immutable = vec![cat, hidden, null, cat_root, hidden_root];
    for (directory, name, contents) in files {
        let Ok(file) = file_system.lookup(directory, name) else {
            return Some(format!("{} is gone", String::from_utf8_lossy(name)));
        };
        let mut read = vec![0u8; contents.len() + 1];
        let length = file_system.read(file, 0, &mut read).unwrap_or(0);
        if read[..length] != contents[..] {
            return Some(format!("{} changed", String::from_utf8_lossy(name)));
        }
        immutable.push(file);
    }
    let mut bytes = vec![0u8; 701];
    let length = file_system.read(cat, 0, &mut bytes).unwrap_or(0);
    if bytes[..length] != package_bytes(3, 700)[..] {
        return Some(String::from("/bin/cat changed"));
    }
    for inode in immutable {
        if !stat(file_system, inode)
            .flags
            .contains(fs_ext2l::InodeFlags::IMMUTABLE)
        {
            return Some(format!("inode {} lost its immutable flag", inode.get()));
        }
    }
    None
}

/// The largest decompressed corpus image read (the corpus's largest is
/// 128 MiB).
pub const MAX_IMAGE_BYTES: u64 = 128 << 20;

/// The decompressed bytes of the gzipped image `path`.
pub fn decompress(path: &Path) -> Vec<u8> {
    let file = std::fs::File::open(path).unwrap();
    let mut image = Vec::new();
    flate2::read::GzDecoder::new(file)
        .take(MAX_IMAGE_BYTES)
        .read_to_end(&mut image)
        .unwrap();
    image
}

/// xorshift64*: reproducible, dependency-free randomness.
pub struct Random(pub u64);

impl Random {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound.max(1) as u64) as usize
    }
}
