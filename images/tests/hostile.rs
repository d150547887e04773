// SPDX-License-Identifier: MIT OR Apache-2.0
//! The hostile-package corpus: every `tests/hostile/NAME.toml` is a
//! package (or a few) added to `tests/base.toml`; its first line,
//! `# expect: MESSAGE`, is part of the error the build must fail with.
//! A refused build must leave nothing behind: no image, no partial file,
//! and an image already there untouched.
#![forbid(unsafe_code)]

mod common;

use common::*;

/// The cases, sorted: (name, text, expected message).
fn cases() -> Vec<(String, String, String)> {
    let mut cases = Vec::new();
    for entry in std::fs::read_dir(tests_dir().join("hostile")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|extension| extension != "toml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let expected = text
            .lines()
            .next()
            .and_then(|line| line.strip_prefix("# expect: "))
            .unwrap_or_else(|| panic!("{} has no `# expect:` first line", path.display()))
            .to_string();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        cases.push((name, text, expected));
    }
    cases.sort();
    cases
}

#[test]
fn the_base_image_builds() {
    let lab = lab();
    let image = lab.path().join("disk.img");
    build(&base_text(), lab.path(), &image, &corpus_programs()).unwrap();
    assert!(image.is_file());
}

#[test]
fn every_hostile_package_is_refused_with_its_message_and_leaves_nothing() {
    let cases = cases();
    assert!(cases.len() >= 40, "only {} cases", cases.len());
    let programs = corpus_programs();
    let mut failures = Vec::new();
    for (name, text, expected) in &cases {
        let lab = lab();
        let image = lab.path().join("disk.img");
        let manifest = format!("{}\n{text}", base_text());
        match build(&manifest, lab.path(), &image, &programs) {
            Ok(_) => failures.push(format!("{name}: built, expected {expected:?}")),
            Err(error) => {
                let message = format!("{error:#}");
                if !message.contains(expected.as_str()) {
                    failures.push(format!(
                        "{name}: expected {expected:?}\n    got {message:?}"
                    ));
                }
            }
        }
        let left = leftovers(lab.path());
        if !left.is_empty() {
            failures.push(format!("{name}: left {left:?} behind"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_refused_build_leaves_the_old_image_as_it_was() {
    let lab = lab();
    let image = lab.path().join("disk.img");
    let programs = corpus_programs();
    build(&base_text(), lab.path(), &image, &programs).unwrap();
    let before = std::fs::read(&image).unwrap();
    let stamp_before = std::fs::read(xtask::disk_image::stamp_path(&image)).unwrap();
    // Refused late: in the judgement of what a need reaches, after the
    // shared tree was written into the temporary file.
    let hostile =
        std::fs::read_to_string(tests_dir().join("hostile/need-home-alias.toml")).unwrap();
    let error = build(
        &format!("{}\n{hostile}", base_text()),
        lab.path(),
        &image,
        &programs,
    )
    .unwrap_err();
    assert!(format!("{error:#}").contains("reaches the home"));
    assert_eq!(std::fs::read(&image).unwrap(), before);
    assert_eq!(
        std::fs::read(xtask::disk_image::stamp_path(&image)).unwrap(),
        stamp_before
    );
    assert!(!lab.path().join("disk.img.partial").exists());
}

#[test]
fn every_problem_is_reported_at_once() {
    let lab = lab();
    let image = lab.path().join("disk.img");
    let mut text = base_text();
    for case in ["dotdot-file", "unknown-publisher"] {
        let case =
            std::fs::read_to_string(tests_dir().join(format!("hostile/{case}.toml"))).unwrap();
        let renamed = format!("name = \"evil-{}\"\nprogram = \"evil\"", text.len());
        text.push_str(&case.replace("name = \"evil\"", &renamed));
    }
    let error = format!(
        "{:#}",
        build(&text, lab.path(), &image, &corpus_programs()).unwrap_err()
    );
    assert!(error.contains("2 problems"), "{error}");
    assert!(
        error.contains("`..` component") && error.contains("unknown publisher"),
        "{error}"
    );
}

#[test]
fn rights_follow_inodes_not_spelling() {
    // "limited" may declare /etc/fonts; /share/fonts is the same
    // directory under another name, so declaring it is within its rights.
    let lab = lab();
    let image = lab.path().join("disk.img");
    let text = format!(
        "{}\n[[package]]\nname = \"tool\"\npublisher = \"limited\"\nneeds = [{{ path = \"/share/fonts\" }}, {{ path = \"/etc/fonts/mono.txt\", at = \"mono\" }}]\ncalls = [\"cat\"]\n",
        base_text()
    );
    build(&text, lab.path(), &image, &corpus_programs()).unwrap();
}

#[test]
fn calls_may_form_cycles() {
    let lab = lab();
    let image = lab.path().join("disk.img");
    let text = format!(
        "{}\n[[package]]\nname = \"a\"\npublisher = \"trusted\"\ncalls = [\"b\", \"a\"]\n[[package]]\nname = \"b\"\npublisher = \"trusted\"\ncalls = [\"a\"]\n",
        base_text()
    );
    build(&text, lab.path(), &image, &corpus_programs()).unwrap();
}

#[test]
fn a_launcher_without_its_placeholder_is_refused() {
    let lab = lab();
    let image = lab.path().join("disk.img");
    let mut programs = corpus_programs();
    let launcher = programs.iter_mut().find(|p| p.name == "launcher").unwrap();
    launcher.bytes = b"\x7fELF not a launcher".to_vec();
    let error = format!(
        "{:#}",
        build(&base_text(), lab.path(), &image, &programs).unwrap_err()
    );
    assert!(
        error.contains(
            "package \"sh\", field grammar: cannot be embedded in the launcher: no grammar marker"
        ),
        "{error}"
    );
    assert!(leftovers(lab.path()).is_empty());
}

#[test]
fn a_package_may_share_its_name_with_an_unlaunched_program() {
    // /bin/hello stays the raw program (for `init=/bin/hello`); the hello
    // package's launcher is named only in the roots that call it.
    let lab = lab();
    let image = lab.path().join("disk.img");
    let text = base_text().replace("calls = [\"cat\"]", "calls = [\"cat\", \"hello\"]")
        + "\n[[package]]\nname = \"hello\"\npublisher = \"trusted\"\n";
    build(&text, lab.path(), &image, &corpus_programs()).unwrap();
    let mut file_system = mount_clean(&image);
    let top = inode_at(&mut file_system, b"/bin/hello");
    assert_eq!(file_system.stat(top).unwrap().rootlink, None);
    let shell = inode_at(&mut file_system, b"/bin/sh");
    let shell_root = file_system.stat(shell).unwrap().rootlink.unwrap();
    let shell_bin = file_system.lookup(shell_root, b"bin").unwrap();
    let launcher = file_system.lookup(shell_bin, b"hello").unwrap();
    assert!(file_system.stat(launcher).unwrap().rootlink.is_some());
    let root = file_system.root();
    assert!(file_system
        .lookup(root, b"launchers-being-installed")
        .is_err());
}

#[test]
fn a_script_package_gets_the_real_shell_and_passes_the_audit() {
    // `program = { script }`: the script is bin/NAME, and bin/sh is the
    // shell package's own program inode (no launcher), which the kernel
    // runs for its `#!/bin/sh`.
    let lab = lab();
    let image = lab.path().join("disk.img");
    let text = base_text()
        + "\n[[package]]\nname = \"greet\"\npublisher = \"trusted\"\nprogram = { script = \"files/greet\" }\n";
    build(&text, lab.path(), &image, &corpus_programs()).unwrap();
    let manifest = parse(&text, lab.path()).unwrap();
    let problems = xtask::disk_image::audit(&image, &manifest).unwrap();
    assert!(problems.is_empty(), "{problems:?}");
    let mut file_system = mount_clean(&image);
    let root_of = |file_system: &mut fs_ext2l::FileSystem<_>, launcher: &[u8]| {
        let launcher = inode_at(file_system, launcher);
        let root = file_system.stat(launcher).unwrap().rootlink.unwrap();
        file_system.lookup(root, b"bin").unwrap()
    };
    let greet_bin = root_of(&mut file_system, b"/bin/greet");
    let shell_bin = root_of(&mut file_system, b"/bin/sh");
    let interpreter = file_system.lookup(greet_bin, b"sh").unwrap();
    assert_eq!(interpreter, file_system.lookup(shell_bin, b"sh").unwrap());
    let metadata = file_system.stat(interpreter).unwrap();
    assert_eq!(metadata.rootlink, None);
    assert!(metadata.flags.contains(fs_ext2l::InodeFlags::IMMUTABLE));
    let script = file_system.lookup(greet_bin, b"greet").unwrap();
    let mut bytes = vec![0; 64];
    let count = file_system.read(script, 0, &mut bytes).unwrap();
    assert_eq!(&bytes[..count], b"#!/bin/sh\necho hello\n");
}

/// The image at `image`, mounted read-only after `check` found it clean.
fn mount_clean(image: &std::path::Path) -> fs_ext2l::FileSystem<fs_ext2l::FileDevice> {
    let device = fs_ext2l::FileDevice::open(image, false).unwrap();
    let options = fs_ext2l::MountOptions {
        read_only: true,
        ..fs_ext2l::MountOptions::default()
    };
    let mut file_system = fs_ext2l::FileSystem::mount(device, options).unwrap();
    assert!(file_system.check().unwrap().is_clean());
    file_system
}
