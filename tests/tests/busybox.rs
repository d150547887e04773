// SPDX-License-Identifier: MIT OR Apache-2.0
//! Debian's busybox applets at the shell: each typed at the default
//! image's prompt runs through its launcher, confined to what its command
//! line names, on files in the home — and prints what the same Debian
//! binary prints on the host for the same command on the same files
//! (natively on an x86_64 host, under `qemu-aarch64-static` for AArch64;
//! `MANUX_BUSYBOX_<ARCH>` is the file, which `cargo xtask test` takes
//! from the image's pinned `.deb`). Programs that run programs (`find
//! -exec`, `xargs`) run the launchers in their own root.
#![forbid(unsafe_code)]

use guest_tests::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const STEP: Duration = Duration::from_secs(60);

/// The applets the commands below use.
const APPLETS: &[&str] = &[
    "sort",
    "grep",
    "sed",
    "tr",
    "uniq",
    "awk",
    "cut",
    "sha256sum",
    "md5sum",
    "find",
    "xargs",
    "date",
    "diff",
    "tar",
    "uname",
];

/// The lines that run other programs (`find -exec`, `xargs`), with what
/// they print: under user-mode QEMU the host cannot run the host programs
/// they start, so there these are compared with this text instead.
const STARTING_OTHERS: &[(&str, &str)] = &[
    ("find . -name bl -exec cat {} \\;", "b\na\nc\na\n"),
    ("echo bl | xargs cat", "b\na\nc\na\n"),
];

/// The session after `cd $HOME`: each line's output is compared.
const LINES: &[&str] = &[
    "echo b > bl; echo a >> bl; echo c >> bl; echo a >> bl",
    "sort bl",
    "sort -r -u bl",
    "grep -c a bl",
    "grep -n -e a -e c bl",
    "sed s/a/z/ bl",
    "tr a-c A-C < bl",
    "sort bl | uniq -c",
    "awk '{print NR\":\"$0}' bl",
    "cut -c1 bl",
    "sha256sum bl",
    "md5sum bl",
    "find . -name bl",
    "find . -name bl -exec cat {} \\;",
    "echo bl | xargs cat",
    "diff bl bl",
    "date -u -d @86400 +%F",
    "sed -i s/b/q/ bl",
    "cat bl",
    "tar cf t.tar bl",
    "tar tf t.tar",
    "uname -m",
];

/// The busybox file for `arch`.
fn busybox(arch: Arch) -> PathBuf {
    let variable = format!("MANUX_BUSYBOX_{}", arch.name().to_uppercase());
    PathBuf::from(std::env::var_os(&variable).unwrap_or_else(|| {
        panic!("{variable} is not set: run the guest tests with `cargo xtask test`")
    }))
}

/// A directory of commands named for the applets, each running `busybox`
/// with that name as `argv[0]` (under user-mode QEMU on a foreign host).
fn applet_directory(arch: Arch, busybox: &Path) -> Option<tempfile::TempDir> {
    let native = match arch {
        Arch::Aarch64 => "aarch64",
        Arch::X86_64 => "x86_64",
    };
    let emulator = format!("/usr/bin/qemu-{native}-static");
    let runner = if std::env::consts::ARCH == native {
        String::new()
    } else if Path::new(&emulator).exists() {
        format!("{emulator} ")
    } else {
        return None;
    };
    let directory = tempfile::tempdir().expect("a directory for the applets");
    for applet in APPLETS {
        let script = format!(
            "#!/bin/sh\nexec {runner}{}{} \"$@\"\n",
            if runner.is_empty() {
                String::new()
            } else {
                format!("-0 {applet} ")
            },
            busybox.display()
        );
        let path = directory.path().join(applet);
        let script = if runner.is_empty() {
            // Natively: busybox reads its applet from argv[0]'s name.
            std::os::unix::fs::symlink(busybox, &path).expect("an applet link");
            continue;
        } else {
            script
        };
        std::fs::write(&path, script).expect("an applet script");
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .expect("an executable script");
    }
    Some(directory)
}

/// Whether the host runs `arch`'s programs natively (so a program it runs
/// can start the host's own).
fn host_runs_children(arch: Arch) -> bool {
    let native = match arch {
        Arch::Aarch64 => "aarch64",
        Arch::X86_64 => "x86_64",
    };
    std::env::consts::ARCH == native
}

/// What each of [`LINES`] prints on the host, run in order by `sh` in a
/// fresh directory with the applets first on the `PATH`.
fn host_outputs(arch: Arch) -> Option<Vec<String>> {
    let applets = applet_directory(arch, &busybox(arch))?;
    let work = tempfile::tempdir().expect("a directory for the host run");
    let path = format!("{}:/usr/bin:/bin", applets.path().display());
    Some(
        LINES
            .iter()
            .map(|line| {
                let starts_others = STARTING_OTHERS.iter().find(|(text, _)| text == line);
                if let (Some((_, printed)), false) = (starts_others, host_runs_children(arch)) {
                    return printed.to_string();
                }
                let output = Command::new("sh")
                    .arg("-c")
                    .arg(format!("{line} 2>&1"))
                    .current_dir(work.path())
                    .env_clear()
                    .env("PATH", &path)
                    .env("TZ", "UTC")
                    .output()
                    .expect("running sh on the host");
                String::from_utf8_lossy(&output.stdout).into_owned()
            })
            .collect(),
    )
}

#[test]
fn busybox_applets_print_at_the_shell_what_they_print_on_linux() {
    for (machine, _disk) in system_machines() {
        let what = describe(&machine);
        let Some(expected) = host_outputs(machine.arch) else {
            eprintln!(
                "{what}: the host cannot run {} programs: skipped",
                machine.arch.name()
            );
            continue;
        };
        let mut lines = vec!["cd $HOME"];
        lines.extend_from_slice(LINES);
        lines.push("poweroff");
        let transcript = session(&machine, &lines, STEP);
        for (index, (line, host)) in LINES.iter().zip(&expected).enumerate() {
            let guest = transcript.output(index + 1);
            assert_eq!(
                guest, host,
                "{what}: `{line}` (left: the guest, right: the host)"
            );
        }
        // The host's own `uname -m` says which machine it emulated.
        assert_eq!(
            expected.last().map(String::as_str),
            Some(&*format!("{}\n", machine.arch.name()))
        );
    }
}

#[test]
fn an_applet_run_again_is_not_read_again() {
    // At the default RAM the program cache holds busybox, its launcher and
    // the program running them: each file is read once, however many
    // times the applet runs. (On x86_64 busybox was once larger than the
    // cache, and every applet read and checked the whole file again: 14
    // times what it costs on AArch64.)
    for (mut machine, _disk) in system_machines() {
        let what = describe(&machine);
        machine.append = "log=debug init=/bin/bench --spawns 3 /bin/uname -m".into();
        let boot = boot(&machine, b"", STEP);
        // `bench` checks that each run exited with status 0.
        boot.expect_line("bench: done");
        boot.expect_status(0);
        // bench, the launcher, busybox.
        let reads: Vec<&str> = boot
            .output
            .lines()
            .filter_map(|line| line.split_once("program read: ").map(|(_, read)| read))
            .collect();
        assert_eq!(reads.len(), 3, "{what}: {reads:?}");
    }
}
