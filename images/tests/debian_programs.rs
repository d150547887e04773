// SPDX-License-Identifier: MIT OR Apache-2.0
//! Programs from Debian packages, without the network: each test builds
//! a small `.deb` with `dpkg-deb --build` into a pool laid out as the
//! archive's, under a temporary directory, and names it with
//! `archive = "file://…"`. The manifest's `[[debian-package]]` and
//! `program = { debian, path }` are read strictly; the download is
//! checked against the pinned SHA-256; a fixed-address (`ET_EXEC`)
//! program needs `fixed-address = true`; packages sharing a program share
//! its inode.
#![forbid(unsafe_code)]

mod common;

use common::*;
use fs_ext2l::{FileDevice, FileSystem, MountOptions};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::process::Command;
use xtask::linux_elf::sample;

const ET_EXEC: u16 = 2;
const ET_DYN: u16 = 3;
const EM_AARCH64: u16 = 183;

/// Builds `NAME_VERSION_arm64.deb` holding `bin/tool` = `program` into
/// `lab/archive`'s pool (`pool/main/f/NAME/`); returns its SHA-256.
fn fake_deb(lab: &Path, name: &str, version: &str, program: &[u8]) -> String {
    let tree = lab.join("tree").join(format!("{name}-{version}"));
    std::fs::create_dir_all(tree.join("DEBIAN")).unwrap();
    std::fs::create_dir_all(tree.join("bin")).unwrap();
    std::fs::write(
        tree.join("DEBIAN/control"),
        format!(
            "Package: {name}\nVersion: 1:{version}\nArchitecture: arm64\n\
             Maintainer: Manux tests <tests@example.invalid>\nDescription: a test package\n"
        ),
    )
    .unwrap();
    std::fs::write(tree.join("bin/tool"), program).unwrap();
    let pool = lab.join("archive/pool/main").join(&name[..1]).join(name);
    std::fs::create_dir_all(&pool).unwrap();
    let deb = pool.join(format!("{name}_{version}_arm64.deb"));
    let status = Command::new("dpkg-deb")
        .args(["--build", "--root-owner-group", "-Zgzip"])
        .arg(&tree)
        .arg(&deb)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    xtask::signing::to_hex(&Sha256::digest(std::fs::read(&deb).unwrap()))
}

/// The base image plus a `[[debian-package]]` NAME at `1:VERSION` pinned
/// to `sha256` (for arm64), and `extra` (its packages).
fn manifest(lab: &Path, name: &str, version: &str, sha256: &str, extra: &str) -> String {
    format!(
        "{}\n[[debian-package]]\nname = \"{name}\"\nversion = \"1:{version}\"\n\
         sha256 = {{ aarch64 = \"{sha256}\", x86_64 = \"{}\" }}\n\
         archive = \"file://{}\"\n{extra}",
        base_text(),
        "0".repeat(64),
        lab.join("archive").display()
    )
}

/// A package `name` whose program is `bin/tool` of Debian package `debian`.
fn tool_package(name: &str, debian: &str, fixed_address: bool) -> String {
    format!(
        "\n[[package]]\nname = \"{name}\"\npublisher = \"trusted\"\n\
         program = {{ debian = \"{debian}\", path = \"bin/tool\" }}\n{}",
        if fixed_address {
            "fixed-address = true\n"
        } else {
            ""
        }
    )
}

fn build_error(text: &str, lab: &Path) -> String {
    let image = lab.join("disk.img");
    let error = build(text, lab, &image, &corpus_programs()).unwrap_err();
    assert!(!image.exists());
    format!("{error:#}")
}

#[test]
fn a_fixed_address_program_is_installed_once_for_every_package_naming_it() {
    let lab = lab();
    let program = sample(ET_EXEC, EM_AARCH64, 0x40_0000, None);
    let sha256 = fake_deb(lab.path(), "fake-shared", "1.0-1", &program);
    let text = manifest(
        lab.path(),
        "fake-shared",
        "1.0-1",
        &sha256,
        &format!(
            "{}{}",
            tool_package("tool", "fake-shared", true),
            tool_package("tool2", "fake-shared", true)
        ),
    );
    let image = lab.path().join("disk.img");
    build(&text, lab.path(), &image, &corpus_programs()).unwrap();
    let device = FileDevice::open(&image, false).unwrap();
    let options = MountOptions {
        read_only: true,
        ..MountOptions::default()
    };
    let mut file_system = FileSystem::mount(device, options).unwrap();
    assert!(file_system.check().unwrap().is_clean());
    let mut inodes = Vec::new();
    for name in ["tool", "tool2"] {
        let launcher = inode_at(&mut file_system, format!("/bin/{name}").as_bytes());
        let root = file_system.stat(launcher).unwrap().rootlink.unwrap();
        let bin = file_system.lookup(root, b"bin").unwrap();
        inodes.push(file_system.lookup(bin, name.as_bytes()).unwrap());
    }
    assert_eq!(inodes[0], inodes[1], "one inode for both packages");
    let metadata = file_system.stat(inodes[0]).unwrap();
    assert_eq!(metadata.links, 2);
    assert_eq!(metadata.size, program.len() as u64);
    let mut bytes = vec![0; program.len()];
    file_system.read(inodes[0], 0, &mut bytes).unwrap();
    assert_eq!(bytes, program);
    // Cached: a second build needs no archive.
    std::fs::remove_dir_all(lab.path().join("archive")).unwrap();
    std::fs::remove_file(&image).unwrap();
    build(&text, lab.path(), &image, &corpus_programs()).unwrap();
}

#[test]
fn a_fixed_address_program_needs_the_flag_and_a_pie_refuses_it() {
    let lab = lab();
    let program = sample(ET_EXEC, EM_AARCH64, 0x40_0000, None);
    let sha256 = fake_deb(lab.path(), "fake-exec", "1.0-1", &program);
    let unmarked = manifest(
        lab.path(),
        "fake-exec",
        "1.0-1",
        &sha256,
        &tool_package("tool", "fake-exec", false),
    );
    let message = build_error(&unmarked, lab.path());
    assert!(
        message.contains(
            "package \"tool\", field fixed-address: program \"debian:fake-exec/bin/tool\" is a fixed-address executable (ET_EXEC)"
        ),
        "{message}"
    );

    let pie = sample(ET_DYN, EM_AARCH64, 0, None);
    let sha256 = fake_deb(lab.path(), "fake-pie", "1.0-1", &pie);
    let marked = manifest(
        lab.path(),
        "fake-pie",
        "1.0-1",
        &sha256,
        &tool_package("tool", "fake-pie", true),
    );
    let message = build_error(&marked, lab.path());
    assert!(
        message.contains("package \"tool\", field fixed-address:")
            && message.contains("position-independent (ET_DYN)"),
        "{message}"
    );
    let unmarked = marked.replace("fixed-address = true\n", "");
    let image = lab.path().join("disk.img");
    build(&unmarked, lab.path(), &image, &corpus_programs()).unwrap();
}

#[test]
fn dynamic_foreign_and_misplaced_programs_are_refused() {
    let lab = lab();
    for (version, program, fixed, expected) in [
        (
            "1.0-1",
            sample(ET_DYN, EM_AARCH64, 0, Some("/lib/ld-linux-aarch64.so.1")),
            false,
            "dynamically linked (PT_INTERP \"/lib/ld-linux-aarch64.so.1\")",
        ),
        (
            "1.0-2",
            sample(ET_DYN, 62, 0, None),
            false,
            "e_machine 62, not 183 (aarch64)",
        ),
        (
            "1.0-3",
            sample(ET_EXEC, EM_AARCH64, 0x1000, None),
            true,
            "segment 0x1000..0x2000 lies outside the fixed-address window 0x400000..0x100000000",
        ),
    ] {
        let sha256 = fake_deb(lab.path(), "fake-bad", version, &program);
        let text = manifest(
            lab.path(),
            "fake-bad",
            version,
            &sha256,
            &tool_package("tool", "fake-bad", fixed),
        );
        let message = build_error(&text, lab.path());
        assert!(
            message.contains("package \"tool\", field program:") && message.contains(expected),
            "{expected}: {message}"
        );
    }
}

#[test]
fn a_digest_mismatch_names_the_entry_the_architecture_and_the_line() {
    let lab = lab();
    let program = sample(ET_EXEC, EM_AARCH64, 0x40_0000, None);
    let sha256 = fake_deb(lab.path(), "fake-mismatch", "1.0-1", &program);
    let wrong = "ab".repeat(32);
    let text = manifest(
        lab.path(),
        "fake-mismatch",
        "1.0-1",
        &wrong,
        &tool_package("tool", "fake-mismatch", true),
    );
    let line = text.lines().position(|line| line.contains(&wrong)).unwrap() + 1;
    let message = build_error(&text, lab.path());
    for expected in [
        "[[debian-package]] \"fake-mismatch\" (version \"1:1.0-1\"), field sha256.aarch64:",
        &format!("has SHA-256 {sha256}, the manifest expects {wrong}"),
        &format!("(manifest line {line})"),
    ] {
        assert!(message.contains(expected), "{expected}: {message}");
    }
    // Nothing of a mismatched download is kept.
    let cached = xtask::debian::cache_dir().join("fake-mismatch_1.0-1_arm64.deb");
    assert!(!cached.exists());
}

#[test]
fn a_version_the_archive_lacks_is_a_clear_error() {
    let lab = lab();
    let text = manifest(
        lab.path(),
        "fake-gone",
        "9.9-1",
        &"cd".repeat(32),
        &tool_package("tool", "fake-gone", true),
    );
    let line = text
        .lines()
        .position(|line| line.contains("version = \"1:9.9-1\""))
        .unwrap()
        + 1;
    let message = build_error(&text, lab.path());
    for expected in [
        "[[debian-package]] \"fake-gone\" (version \"1:9.9-1\")",
        "pool/main/f/fake-gone/fake-gone_9.9-1_arm64.deb does not exist",
        "the archive no longer has this version for arm64",
        &format!("manifest line {line}"),
        "snapshot.debian.org",
    ] {
        assert!(message.contains(expected), "{expected}: {message}");
    }
}

#[test]
fn debian_entries_and_programs_are_read_strictly() {
    let lab = lab();
    let good = manifest(
        lab.path(),
        "fake-strict",
        "1.0-1",
        &"ef".repeat(32),
        &tool_package("tool", "fake-strict", true),
    );
    let parsed = parse(&good, lab.path()).unwrap();
    let entry = parsed.debian_package("fake-strict").unwrap();
    assert_eq!(entry.source(), "fake-strict");
    assert_eq!(entry.sha256.get("aarch64"), Some("ef".repeat(32).as_str()));
    let refused = |text: String, expected: &[&str]| {
        let message = format!("{:#}", parse(&text, lab.path()).unwrap_err());
        for expected in expected {
            assert!(message.contains(expected), "{expected}: {message}");
        }
    };
    refused(
        good.replace("version = ", "flavour = \"x\"\nversion = "),
        &[
            "[[debian-package]] \"fake-strict\"",
            "unknown field `flavour`",
        ],
    );
    refused(
        good.replace("sha256 = ", "sha265 = "),
        &["[[debian-package]] \"fake-strict\"", "sha265"],
    );
    let without_sha = good
        .lines()
        .filter(|line| !line.starts_with("sha256 = "))
        .collect::<Vec<_>>()
        .join("\n");
    refused(
        without_sha,
        &[
            "[[debian-package]] \"fake-strict\"",
            "missing field `sha256`",
        ],
    );
    refused(
        good.replace(", x86_64 = ", ", riscv64 = "),
        &["[[debian-package]] \"fake-strict\"", "riscv64"],
    );
    refused(
        good.replace("path = \"bin/tool\"", "path = \"bin/tool\", mode = 1"),
        &["package \"tool\"", "program: unknown field `mode`"],
    );
    refused(
        good.replace("program = {", "program = 3 # {"),
        &["package \"tool\"", "program: a program of apps/"],
    );
    // A known shape naming what the manifest lacks: refused by the check.
    for (text, expected) in [
        (
            good.replace("debian = \"fake-strict\"", "debian = \"fake-other\""),
            "package \"tool\", field program.debian: no [[debian-package]] named \"fake-other\"",
        ),
        (
            good.replace("path = \"bin/tool\"", "path = \"../bin/tool\""),
            "package \"tool\", field program.path: path \"../bin/tool\" has a `..` component",
        ),
        (
            good.replace(
                "fixed-address = true",
                "fixed-address = true\nprogram = \"cat\"",
            ),
            "duplicate key",
        ),
    ] {
        let message = match parse(&text, lab.path()) {
            Err(error) => format!("{error:#}"),
            Ok(_) => build_error(&text, lab.path()),
        };
        assert!(message.contains(expected), "{expected}: {message}");
    }
    // `fixed-address` on a program of apps/.
    let text = format!(
        "{}\n[[package]]\nname = \"tool\"\npublisher = \"trusted\"\nfixed-address = true\n",
        base_text()
    );
    let message = build_error(&text, lab.path());
    assert!(
        message.contains(
            "package \"tool\", field fixed-address: `fixed-address` is for prebuilt Linux programs"
        ),
        "{message}"
    );
}

#[test]
fn a_host_file_program_is_pinned_by_its_digest() {
    let lab = lab();
    let program = sample(ET_DYN, EM_AARCH64, 0, None);
    std::fs::create_dir_all(lab.path().join("prebuilt")).unwrap();
    std::fs::write(lab.path().join("prebuilt/tool-arm64"), &program).unwrap();
    let sha256 = xtask::signing::to_hex(&Sha256::digest(&program));
    let entry = |path: &str, sha256: &str| {
        format!(
            "{}\n[[package]]\nname = \"tool\"\npublisher = \"trusted\"\n\
             program = {{ file = {{ aarch64 = \"{path}\", x86_64 = \"prebuilt/tool-amd64\" }}, \
             sha256 = {{ aarch64 = \"{sha256}\", x86_64 = \"{}\" }} }}\n",
            base_text(),
            "0".repeat(64)
        )
    };
    let image = lab.path().join("disk.img");
    build(
        &entry("prebuilt/tool-arm64", &sha256),
        lab.path(),
        &image,
        &corpus_programs(),
    )
    .unwrap();
    std::fs::remove_file(&image).unwrap();
    let wrong = "12".repeat(32);
    let text = entry("prebuilt/tool-arm64", &wrong);
    let line = text.lines().position(|l| l.contains(&wrong)).unwrap() + 1;
    let message = build_error(&text, lab.path());
    for expected in [
        "package \"tool\", field program.sha256.aarch64:",
        &format!("has SHA-256 {sha256}, the manifest expects \"{wrong}\""),
        &format!("(manifest line {line})"),
    ] {
        assert!(message.contains(expected), "{expected}: {message}");
    }
    let message = build_error(&entry("../tool-arm64", &sha256), lab.path());
    assert!(
        message.contains("package \"tool\", field program.file.aarch64: path \"../tool-arm64\" has a `..` component"),
        "{message}"
    );
    let text =
        entry("prebuilt/tool-arm64", &sha256).replace("sha256 = {", "path = \"x\", sha256 = {");
    let message = format!("{:#}", parse(&text, lab.path()).unwrap_err());
    assert!(
        message.contains("package \"tool\"") && message.contains("program: unknown field `path`"),
        "{message}"
    );
}
