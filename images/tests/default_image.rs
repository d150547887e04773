// SPDX-License-Identifier: MIT OR Apache-2.0
//! The default image, `images/manifest.toml`, built with fixture programs
//! and opened with fs-ext2l: each package root holds exactly what its
//! package declares, launchers carry their grammar and a rootlink to
//! their root, everything the installer wrote is immutable, package roots
//! have no name, and the checker is clean.
#![forbid(unsafe_code)]

mod common;

use common::*;
use fs_ext2l::{FileDevice, FileSystem, FileType, InodeFlags, InodeNumber, MountOptions};
use launcher_grammar::embed::{BLOB_BYTES, MARKER};
use launcher_grammar::Grammar;
use std::collections::{BTreeMap, BTreeSet};
use xtask::disk_image::{self, Program};
use xtask::manifest::{self, Manifest, Package, ProgramSource};
use xtask::Arch;

/// Fixture programs for every program of `apps/` the manifest names
/// (the programs of Debian packages are the real ones, downloaded once
/// into target/debian/ by the build).
fn every_program(manifest: &Manifest) -> Vec<Program> {
    let mut names: Vec<String> = manifest
        .packages
        .iter()
        .filter(|package| matches!(package.program_source(), ProgramSource::App(_)))
        .map(Package::program)
        .collect();
    names.extend(manifest.image.unlaunched.iter().cloned());
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    programs(&names)
}

/// What `bin/NAME` of `package` must hold.
fn expected_program(package: &Package, debian: &[Program]) -> Vec<u8> {
    match debian
        .iter()
        .find(|program| program.name == package.program())
    {
        Some(program) => program.bytes.clone(),
        None => program_bytes(&package.program()),
    }
}

fn open(image: &std::path::Path) -> FileSystem<FileDevice> {
    let device = FileDevice::open(image, false).unwrap();
    let options = MountOptions {
        read_only: true,
        ..MountOptions::default()
    };
    FileSystem::mount(device, options).unwrap()
}

fn read_all(file_system: &mut FileSystem<FileDevice>, inode: InodeNumber) -> Vec<u8> {
    let size = file_system.stat(inode).unwrap().size as usize;
    let mut bytes = vec![0u8; size];
    let mut done = 0;
    while done < size {
        let read = file_system
            .read(inode, done as u64, &mut bytes[done..])
            .unwrap();
        assert!(read > 0);
        done += read;
    }
    bytes
}

fn immutable(file_system: &mut FileSystem<FileDevice>, inode: InodeNumber) -> bool {
    file_system
        .stat(inode)
        .unwrap()
        .flags
        .contains(InodeFlags::IMMUTABLE)
}

/// Every path below `directory` (relative, `/`-separated), not going
/// into the paths of `stop`; with each path's inode.
fn walk(
    file_system: &mut FileSystem<FileDevice>,
    directory: InodeNumber,
    stop: &BTreeSet<String>,
) -> BTreeMap<String, InodeNumber> {
    let mut found = BTreeMap::new();
    let mut pending = vec![(directory, String::new())];
    while let Some((inode, prefix)) = pending.pop() {
        for entry in file_system.entries(inode).unwrap() {
            if entry.name == b"." || entry.name == b".." {
                continue;
            }
            let name = String::from_utf8(entry.name.clone()).unwrap();
            let path = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            found.insert(path.clone(), entry.inode);
            let is_directory =
                file_system.stat(entry.inode).unwrap().file_type == FileType::Directory;
            if is_directory && !stop.contains(&path) {
                pending.push((entry.inode, path));
            }
        }
    }
    found
}

/// `path` and each of its parents.
fn with_parents(path: &str) -> Vec<String> {
    let components: Vec<&str> = path.split('/').collect();
    (1..=components.len())
        .map(|count| components[..count].join("/"))
        .collect()
}

/// What a package's root must hold, by its manifest entry.
fn expected_listing(package: &Package) -> BTreeSet<String> {
    let mut paths = BTreeSet::from(["bin".to_string(), format!("bin/{}", package.name)]);
    if matches!(package.program_source(), ProgramSource::Script { .. }) {
        paths.insert("bin/sh".to_string());
    }
    for call in &package.calls {
        paths.insert(format!("bin/{call}"));
    }
    for file in &package.files {
        paths.extend(with_parents(&file.path));
    }
    for need in &package.needs {
        paths.extend(with_parents(need.root_path()));
    }
    for device in &package.devices {
        paths.extend(with_parents(&format!("dev/{}", device.name())));
    }
    paths
}

/// The launcher's embedded grammar and program path.
fn embedded(bytes: &[u8]) -> launcher_grammar::Embedded {
    let start = bytes
        .windows(MARKER.len())
        .position(|window| window == MARKER)
        .expect("a launcher holds the marker");
    launcher_grammar::read_blob(&bytes[start..start + BLOB_BYTES]).unwrap()
}

#[test]
fn the_default_image_holds_exactly_what_the_manifest_declares() {
    let manifest = Manifest::load(&manifest::default_path()).unwrap();
    let programs = every_program(&manifest);
    let directory = tempfile::tempdir().unwrap();
    let image = directory.path().join("disk.img");
    let notes = disk_image::build(&image, &manifest, &programs, Arch::Aarch64).unwrap();
    assert!(notes.is_empty(), "{notes:?}");
    // The programs not of apps/: Debian's, host files, scripts.
    let debian = xtask::prebuilt::programs(&manifest, Arch::Aarch64, &[]).unwrap();

    let mut file_system = open(&image);
    let report = file_system.check().unwrap();
    assert!(report.is_clean(), "{:?}", report.problems);
    let root = file_system.root();
    assert!(!immutable(&mut file_system, root), "/ stays writable");
    let bin = file_system.lookup(root, b"bin").unwrap();
    assert!(immutable(&mut file_system, bin));

    // The home: writable, inside an immutable /home.
    let home = inode_at(&mut file_system, manifest.user.home.as_bytes());
    assert!(!immutable(&mut file_system, home));
    let home_parent = file_system.lookup(root, b"home").unwrap();
    assert!(immutable(&mut file_system, home_parent));
    let motd = inode_at(&mut file_system, b"/etc/motd");
    assert_eq!(read_all(&mut file_system, motd), b"Welcome to Manux\n");
    assert!(immutable(&mut file_system, motd));

    // Unlaunched programs: raw, immutable, no rootlink.
    for name in &manifest.image.unlaunched {
        let inode = file_system.lookup(bin, name.as_bytes()).unwrap();
        let metadata = file_system.stat(inode).unwrap();
        assert_eq!(metadata.rootlink, None, "{name}");
        assert!(metadata.flags.contains(InodeFlags::IMMUTABLE), "{name}");
        assert_eq!(
            read_all(&mut file_system, inode),
            program_bytes(name),
            "{name}"
        );
    }

    // Launchers and roots.
    let mut launcher_of = BTreeMap::new();
    let mut root_of = BTreeMap::new();
    // A package named like an unlaunched program has its launcher only in
    // its callers' roots (here: the shell's, whose launcher is /bin/sh).
    let top_level = |name: &String| !manifest.image.unlaunched.contains(name);
    let shell = file_system.lookup(bin, b"sh").unwrap();
    let shell_root = file_system.stat(shell).unwrap().rootlink.unwrap();
    let shell_bin = file_system.lookup(shell_root, b"bin").unwrap();
    for package in &manifest.packages {
        let name = &package.name;
        let directory = if top_level(name) { bin } else { shell_bin };
        let launcher = file_system.lookup(directory, name.as_bytes()).unwrap();
        let metadata = file_system.stat(launcher).unwrap();
        assert_eq!(metadata.file_type, FileType::RegularFile);
        assert_eq!(metadata.mode & 0o777, 0o755);
        assert!(metadata.flags.contains(InodeFlags::IMMUTABLE), "{name}");
        let package_root = metadata
            .rootlink
            .unwrap_or_else(|| panic!("{name} has no rootlink"));
        let contents = embedded(&read_all(&mut file_system, launcher));
        assert_eq!(contents.program, format!("/bin/{name}").into_bytes());
        let grammar = match &package.grammar {
            Some(description) => Grammar::try_from(description.clone()).unwrap(),
            None => Grammar::empty(),
        };
        assert_eq!(contents.grammar, grammar, "{name}");
        launcher_of.insert(name.clone(), launcher);
        root_of.insert(name.clone(), package_root);
    }
    for package in &manifest.packages {
        let name = &package.name;
        let package_root = root_of[name];
        assert!(immutable(&mut file_system, package_root), "{name}");
        let stop: BTreeSet<String> = package
            .needs
            .iter()
            .map(|n| n.root_path().to_string())
            .collect();
        let listing = walk(&mut file_system, package_root, &stop);
        let paths: BTreeSet<String> = listing.keys().cloned().collect();
        assert_eq!(paths, expected_listing(package), "the root of {name}");
        for (path, inode) in &listing {
            if !stop
                .iter()
                .any(|need| path.starts_with(&format!("{need}/")))
            {
                assert!(immutable(&mut file_system, *inode), "{name}: {path}");
            }
        }
        let program = listing[&format!("bin/{name}")];
        assert_eq!(
            read_all(&mut file_system, program),
            expected_program(package, &debian),
            "{name}"
        );
        assert_eq!(file_system.stat(program).unwrap().rootlink, None);
        if matches!(package.program_source(), ProgramSource::Script { .. }) {
            // A script's interpreter: the shell package's real shell.
            let shell_program = file_system.lookup(root_of["sh"], b"bin").unwrap();
            let shell_program = file_system.lookup(shell_program, b"sh").unwrap();
            assert_eq!(listing["bin/sh"], shell_program, "{name}: bin/sh");
            assert!(read_all(&mut file_system, program).starts_with(b"#!/bin/sh\n"));
        }
        for call in &package.calls {
            if call != name {
                assert_eq!(
                    listing[&format!("bin/{call}")],
                    launcher_of[call],
                    "{name} → {call}"
                );
            }
        }
        for need in &package.needs {
            let shared = inode_at(&mut file_system, need.path.as_bytes());
            assert_eq!(listing[need.root_path()], shared, "{name}: {}", need.path);
        }
    }
    // The shell shares /etc with the image: one directory, two names.
    let shell_etc = file_system.lookup(root_of["sh"], b"etc").unwrap();
    assert_eq!(shell_etc, file_system.lookup(root, b"etc").unwrap());

    // No package root has a name anywhere: only launchers lead in.
    let everything = walk(&mut file_system, root, &BTreeSet::new());
    let named: BTreeSet<InodeNumber> = everything.values().copied().collect();
    for (name, package_root) in &root_of {
        assert!(
            !named.contains(package_root),
            "the root of {name} has a name"
        );
    }
    assert!(!everything.contains_key(xtask::package_roots::STAGING));
}

#[test]
fn the_default_image_builds_while_programs_are_missing() {
    // `missing-programs = "skip"`: packages without a program are left
    // out with a note, and so are the calls to them.
    let manifest = Manifest::load(&manifest::default_path()).unwrap();
    let programs: Vec<Program> = every_program(&manifest)
        .into_iter()
        .filter(|program| program.name != "wc" && program.name != "init")
        .collect();
    let directory = tempfile::tempdir().unwrap();
    let image = directory.path().join("disk.img");
    let notes = disk_image::build(&image, &manifest, &programs, Arch::Aarch64).unwrap();
    assert!(
        notes.iter().any(|note| note.contains("\"wc\" left out")),
        "{notes:?}"
    );
    assert!(
        notes.iter().any(|note| note.contains("/bin/init left out")),
        "{notes:?}"
    );
    let mut file_system = open(&image);
    assert!(file_system.check().unwrap().is_clean());
    let bin = inode_at(&mut file_system, b"/bin");
    assert!(file_system.lookup(bin, b"wc").is_err());
    let shell = file_system.lookup(bin, b"sh").unwrap();
    let shell_root = file_system.stat(shell).unwrap().rootlink.unwrap();
    let shell_bin = file_system.lookup(shell_root, b"bin").unwrap();
    assert!(file_system.lookup(shell_bin, b"wc").is_err());
    assert!(file_system.lookup(shell_bin, b"cat").is_ok());
}

#[test]
fn ensure_keeps_the_disk_until_an_input_changes() {
    let manifest = Manifest::load(&manifest::default_path()).unwrap();
    let programs = every_program(&manifest);
    let directory = tempfile::tempdir().unwrap();
    let image = directory.path().join("disk.img");
    let ensure = |manifest: &Manifest, programs: &[Program]| {
        disk_image::ensure(&image, manifest, programs, Arch::Aarch64)
            .unwrap()
            .0
    };
    use disk_image::Outcome;
    assert_eq!(ensure(&manifest, &programs), Outcome::Created);
    let before = std::fs::read(&image).unwrap();
    assert_eq!(ensure(&manifest, &programs), Outcome::Kept);
    assert_eq!(std::fs::read(&image).unwrap(), before);
    let mut changed = programs.clone();
    changed[0].bytes[0] ^= 1;
    assert_eq!(ensure(&manifest, &changed), Outcome::Rebuilt);
    assert_eq!(ensure(&manifest, &changed), Outcome::Kept);
    let edited = Manifest::parse(
        &manifest.text.replace("Welcome to Manux", "Welcome back"),
        &manifest.base_directory,
    )
    .unwrap();
    assert_eq!(ensure(&edited, &changed), Outcome::Rebuilt);
    std::fs::remove_file(disk_image::stamp_path(&image)).unwrap();
    assert_eq!(ensure(&edited, &changed), Outcome::Rebuilt);
}

#[test]
fn the_audit_finds_an_image_as_declared_and_any_root_changed() {
    let manifest = Manifest::load(&manifest::default_path()).unwrap();
    let programs = every_program(&manifest);
    let directory = tempfile::tempdir().unwrap();
    let image = directory.path().join("disk.img");
    // `build` audits what it installed (with the launcher and program
    // bytes); the audit by manifest entry alone agrees.
    disk_image::build(&image, &manifest, &programs, Arch::Aarch64).unwrap();
    assert_eq!(
        disk_image::audit(&image, &manifest).unwrap(),
        Vec::<String>::new()
    );

    // Tamper with cat's root as only an installer could: a file it does
    // not declare, a file left mutable, a call's launcher removed.
    {
        let device = FileDevice::open(&image, true).unwrap();
        let mut file_system = FileSystem::mount(device, MountOptions::default()).unwrap();
        let bin = inode_at(&mut file_system, b"/bin");
        let cat = file_system.lookup(bin, b"cat").unwrap();
        let cat_root = file_system.stat(cat).unwrap().rootlink.unwrap();
        file_system
            .installer()
            .create(cat_root, b"payload", 0o755, 0, 0)
            .unwrap();
        let cat_bin = file_system.lookup(cat_root, b"bin").unwrap();
        let program = file_system.lookup(cat_bin, b"cat").unwrap();
        file_system
            .installer()
            .set_immutable(program, false)
            .unwrap();
        let shell = file_system.lookup(bin, b"sh").unwrap();
        let shell_root = file_system.stat(shell).unwrap().rootlink.unwrap();
        let shell_bin = file_system.lookup(shell_root, b"bin").unwrap();
        file_system
            .installer()
            .unlink(shell_bin, b"vulnerable")
            .unwrap();
        file_system.unmount().unwrap();
    }
    let differences = disk_image::audit(&image, &manifest).unwrap();
    for expected in [
        "cat: its root holds payload, which it does not declare",
        "cat: bin/cat in its root is not immutable",
        "sh: its root lacks bin/vulnerable",
    ] {
        assert!(
            differences.iter().any(|line| line == expected),
            "{expected}: {differences:#?}"
        );
    }
}

#[test]
fn the_busybox_applets_share_one_program_inode() {
    let manifest = Manifest::load(&manifest::default_path()).unwrap();
    let programs = every_program(&manifest);
    let directory = tempfile::tempdir().unwrap();
    let image = directory.path().join("disk.img");
    disk_image::build(&image, &manifest, &programs, Arch::Aarch64).unwrap();
    let applets = [
        "grep",
        "sed",
        "awk",
        "sort",
        "uniq",
        "tr",
        "cut",
        "find",
        "xargs",
        "date",
        "sha256sum",
        "md5sum",
        "tar",
        "diff",
        "uname",
    ];
    let mut file_system = open(&image);
    assert!(file_system.check().unwrap().is_clean());
    let bin = inode_at(&mut file_system, b"/bin");
    let shell = file_system.lookup(bin, b"sh").unwrap();
    let shell_root = file_system.stat(shell).unwrap().rootlink.unwrap();
    let shell_bin = file_system.lookup(shell_root, b"bin").unwrap();
    let mut programs_found = BTreeSet::new();
    for applet in applets {
        let package = manifest.package(applet).unwrap();
        assert_eq!(
            package.program_source(),
            ProgramSource::Debian {
                package: "busybox-static".into(),
                path: "bin/busybox".into()
            },
            "{applet}"
        );
        assert!(package.fixed_address, "{applet}");
        // A launcher in the shell's root (the same inode as /bin/APPLET),
        // whose embedded program path ends in the applet's name.
        let launcher = file_system.lookup(shell_bin, applet.as_bytes()).unwrap();
        assert_eq!(
            launcher,
            file_system.lookup(bin, applet.as_bytes()).unwrap()
        );
        let metadata = file_system.stat(launcher).unwrap();
        let contents = embedded(&read_all(&mut file_system, launcher));
        assert_eq!(contents.program, format!("/bin/{applet}").into_bytes());
        // The real program in its root: busybox.
        let root = metadata.rootlink.unwrap();
        let root_bin = file_system.lookup(root, b"bin").unwrap();
        let program = file_system.lookup(root_bin, applet.as_bytes()).unwrap();
        programs_found.insert(program);
    }
    assert_eq!(
        programs_found.len(),
        1,
        "one busybox inode: {programs_found:?}"
    );
    let busybox = *programs_found.first().unwrap();
    let metadata = file_system.stat(busybox).unwrap();
    assert_eq!(usize::from(metadata.links), applets.len());
    assert!(metadata.flags.contains(InodeFlags::IMMUTABLE));
    assert_eq!(metadata.rootlink, None);
    let bytes = read_all(&mut file_system, busybox);
    // Debian's static busybox for arm64: ET_EXEC, EM_AARCH64.
    assert_eq!(&bytes[..4], b"\x7fELF");
    assert_eq!(u16::from_le_bytes([bytes[16], bytes[17]]), 2);
    assert_eq!(u16::from_le_bytes([bytes[18], bytes[19]]), 183);
    let placement = xtask::linux_elf::check(&bytes, Arch::Aarch64, true)
        .unwrap()
        .placement;
    assert_eq!(placement, xtask::linux_elf::Placement::FixedAddress);
}

/// Each argument's role under `package`'s grammar, one letter each:
/// `o` option, `-` end of options, `w` word, and the file kinds `i`
/// input, `O` output, `e` entry, `d` dir, `D` dir-rw, `p` entry-parents,
/// `u` update.
fn roles(manifest: &Manifest, package: &str, line: &[&str]) -> Result<String, String> {
    use launcher_grammar::{Kind, Role};
    let description = manifest.package(package).unwrap().grammar.clone().unwrap();
    let grammar = Grammar::try_from(description).unwrap();
    let parsed = launcher_grammar::parse(&grammar, line).map_err(|error| error.to_string())?;
    Ok(parsed
        .arguments
        .iter()
        .map(|argument| match argument.role {
            Role::Option => 'o',
            Role::EndOfOptions => '-',
            Role::Word => 'w',
            Role::File { kind, .. } => match kind {
                Kind::Input => 'i',
                Kind::Output => 'O',
                Kind::Entry => 'e',
                Kind::Dir => 'd',
                Kind::DirRw => 'D',
                Kind::EntryParents => 'p',
                Kind::Update => 'u',
                Kind::Word => 'w',
            },
        })
        .collect())
}

#[test]
fn the_applets_grammars_read_the_command_lines_they_must() {
    let manifest = Manifest::load(&manifest::default_path()).unwrap();
    // Each line is split at spaces; `|` stands for a space inside one
    // argument (the awk program, as the shell's quotes make it one).
    for (line, expected) in [
        ("sort bl", "i"),
        ("sort -r -n -u bl", "oooi"),
        ("sort -o out bl", "oOi"),
        ("grep -c a bl", "owi"),
        ("grep --help", "o"),
        ("grep -e a", "ow"),
        ("grep -e a bl", "owi"),
        ("sed -e s/a/z/ -f script bl", "owoii"),
        ("find dir -type f -exec wc -l {} ;", "iowowwww"),
        ("sed s/a/z/ bl", "wi"),
        ("sed -i s/a/z/ bl", "owu"),
        ("tr a-c A-C", "ww"),
        ("uniq", ""),
        ("uniq in out", "iO"),
        ("awk {print|NR\":\"$0} bl", "wi"),
        ("cut -c1 bl", "oi"),
        ("cut -d : -f 1 bl", "owowi"),
        ("sha256sum bl", "i"),
        ("md5sum bl", "i"),
        ("find . -name bl", "iow"),
        ("date +%Y", "w"),
        ("date -r bl", "oi"),
        ("uname -m", "o"),
        ("diff a b", "ii"),
        ("diff -u a b", "oii"),
        ("xargs grep -c a", "www"),
        ("xargs -n 1 echo", "oww"),
        ("tar cf out.tar a b", "oOii"),
        ("tar xf in.tar", "oi"),
        ("tar -C dir -xf in.tar", "oDoi"),
    ] {
        let words: Vec<String> = line.split(' ').map(|word| word.replace('|', " ")).collect();
        let arguments: Vec<&str> = words[1..].iter().map(String::as_str).collect();
        assert_eq!(
            roles(&manifest, &words[0], &arguments),
            Ok(expected.to_string()),
            "{line}"
        );
    }
    for applet in [
        "grep",
        "sed",
        "awk",
        "sort",
        "uniq",
        "tr",
        "cut",
        "find",
        "xargs",
        "date",
        "sha256sum",
        "md5sum",
        "tar",
        "diff",
        "uname",
    ] {
        // find starts from `.` when no path is given: it is handed over.
        let expected = if applet == "find" { "oi" } else { "o" };
        assert_eq!(
            roles(&manifest, applet, &["--help"]),
            Ok(expected.into()),
            "{applet}"
        );
    }
}

/// The applets' grammars in the manifest are launcher-grammar's busybox
/// examples, which its own tests check line by line: the two never drift.
#[test]
fn the_applets_grammars_are_the_checked_examples() {
    let manifest = Manifest::load(&manifest::default_path()).unwrap();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../apps/launcher-grammar/examples/busybox.toml");
    let examples: BTreeMap<String, launcher_grammar::GrammarDescription> =
        toml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(examples.len(), 15, "the fifteen applets");
    for (applet, example) in examples {
        let package = manifest
            .package(&applet)
            .unwrap_or_else(|| panic!("{applet}"));
        let grammar = Grammar::try_from(package.grammar.clone().unwrap()).unwrap();
        assert_eq!(grammar, Grammar::try_from(example).unwrap(), "{applet}");
    }
}
