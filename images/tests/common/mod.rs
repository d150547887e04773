// SPDX-License-Identifier: MIT OR Apache-2.0
//! What the image tests share: fixture programs, a stand-in launcher, and
//! a laboratory directory holding the test keys and fixture files.

#![allow(dead_code, reason = "each test file uses its own part of this module")]

use std::path::{Path, PathBuf};
use xtask::disk_image::Program;
use xtask::manifest::Manifest;
use xtask::Arch;

/// `images/tests`.
pub fn tests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests")
}

/// The text of `tests/base.toml`, the image hostile cases are added to.
pub fn base_text() -> String {
    std::fs::read_to_string(tests_dir().join("base.toml")).unwrap()
}

/// The bytes of fixture program `name`: recognisable, not an ELF that
/// runs (the image builder does not look inside programs).
pub fn program_bytes(name: &str) -> Vec<u8> {
    format!("\x7fELF fixture program {name}\n")
        .repeat(50)
        .into_bytes()
}

/// A stand-in launcher: code, the grammar placeholder, more bytes.
pub fn launcher_bytes() -> Vec<u8> {
    let mut file = b"\x7fELF fixture launcher\n".repeat(40);
    file.extend_from_slice(&launcher_grammar::placeholder());
    file.extend_from_slice(&[0xcc; 321]);
    file
}

/// Fixture programs named `names`, plus the launcher.
pub fn programs(names: &[&str]) -> Vec<Program> {
    let mut programs: Vec<Program> = names
        .iter()
        .map(|name| Program {
            name: name.to_string(),
            bytes: program_bytes(name),
        })
        .collect();
    programs.push(Program {
        name: "launcher".into(),
        bytes: launcher_bytes(),
    });
    programs
}

/// The programs the corpus's manifests name.
pub fn corpus_programs() -> Vec<Program> {
    programs(&["sh", "cat", "evil", "hello", "a", "b", "tool"])
}

/// A temporary directory laid out as the corpus expects: `keys/` (the
/// test keys), `files/hello.txt`, `files/big.bin`, one byte over the
/// size limit (sparse), and the scripts `files/greet` (`#!/bin/sh`) and
/// `files/not-a-script` (`#!/bin/bash`).
pub fn lab() -> tempfile::TempDir {
    let directory = tempfile::tempdir().unwrap();
    let keys = directory.path().join("keys");
    std::fs::create_dir(&keys).unwrap();
    for entry in std::fs::read_dir(tests_dir().join("keys")).unwrap() {
        let entry = entry.unwrap();
        if entry.path().extension().is_some_and(|e| e == "secret") {
            std::fs::copy(entry.path(), keys.join(entry.file_name())).unwrap();
        }
    }
    let files = directory.path().join("files");
    std::fs::create_dir(&files).unwrap();
    std::fs::write(files.join("hello.txt"), b"hello, package\n").unwrap();
    // Script programs: one the kernel can run, one it could not.
    std::fs::write(files.join("greet"), b"#!/bin/sh\necho hello\n").unwrap();
    std::fs::write(files.join("not-a-script"), b"#!/bin/bash\necho hello\n").unwrap();
    let big = std::fs::File::create(files.join("big.bin")).unwrap();
    big.set_len(xtask::package_check::MAX_FILE_BYTES + 1)
        .unwrap();
    directory
}

/// Parses `text` as a manifest living in `lab`.
pub fn parse(text: &str, lab: &Path) -> anyhow::Result<Manifest> {
    Manifest::parse(text, lab)
}

/// Builds `text` (a manifest living in `lab`) into `image`.
pub fn build(
    text: &str,
    lab: &Path,
    image: &Path,
    programs: &[Program],
) -> anyhow::Result<Vec<String>> {
    let manifest = parse(text, lab)?;
    xtask::disk_image::build(image, &manifest, programs, Arch::Aarch64)
}

/// Whether `directory` holds anything but the lab's own `keys` and
/// `files`: an image or a partial file.
pub fn leftovers(directory: &Path) -> Vec<String> {
    std::fs::read_dir(directory)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name != "keys" && name != "files")
        .collect()
}

/// The inode at `path` (`/a/b`), found name by name from the root: plain
/// names only (the system's path resolver is `kernel_core`'s; manifest
/// paths are plain).
pub fn inode_at<D: fs_ext2l::BlockDevice>(
    file_system: &mut fs_ext2l::FileSystem<D>,
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
