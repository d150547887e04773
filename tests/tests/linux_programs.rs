// SPDX-License-Identifier: MIT OR Apache-2.0
//! Linux programs (the first stage: the personality and the start
//! state): a prebuilt static-PIE glibc program, `tests/linux/hello.c`
//! built by Debian's compilers (`cargo xtask test` builds it, see
//! `images/src/linux_programs.rs`), runs unmodified as init on every
//! architecture under test, and prints what the same file prints on the
//! host — natively on an x86_64 host, under `qemu-aarch64-static` for
//! AArch64 — with the same exit status.
//!
//! `tests/linux/fixed.c` is linked for fixed addresses (`ET_EXEC`) and
//! runs in its private window (break, stack, `fork`);
//! `tests/linux/spawn.c` starts, waits for and kills other processes.
//!
//! The files stage: `tests/linux/files.c` works with files, directories
//! and pipes under a directory it is given (in the guest the user's home,
//! writable for init; on the host a fresh temporary directory), and the
//! guest's output must equal the host's line for line.
//!
//! `tests/linux/signals.c` runs handlers (every kind of sender, the mask,
//! the frame and `rt_sigreturn`, timers, the alternate stack, faults), and
//! Ctrl-C is `SIGINT` for a Linux program launched from the shell;
//! `tests/linux/files.c` checks non-blocking pipes too.
//!
//! `hello`, `files`, `spawn` and `signals` are also built against musl
//! (`linux-musl-NAME`) and checked in the same way, each against the
//! host's run of the same musl file: musl has its own start, stdio and
//! `strerror` texts (`No child process`), and on AArch64 a `vfork` that
//! is a `fork`, refused to static-PIE programs, so the musl `spawn`'s two
//! `vfork` cases are not checked there.
//!
//! Confinement: `tests/linux/escape.c`, the package `linux-escape`,
//! launched confined from the shell with a writable directory and a
//! read-only file, tries the escape suite's main techniques with Linux
//! calls; every one must be blocked and the secret beside its arguments
//! never read.
#![forbid(unsafe_code)]

use guest_tests::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(90);

/// The arguments both runs get.
const ARGUMENTS: [&str; 2] = ["first", "second"];

/// The built Linux program `name` for `arch`.
fn linux_program(arch: Arch, name: &str) -> PathBuf {
    let variable = format!("MANUX_LINUX_PROGRAMS_{}", arch.name().to_uppercase());
    let directory = std::env::var_os(&variable).unwrap_or_else(|| {
        panic!("{variable} is not set: run the guest tests with `cargo xtask test`")
    });
    PathBuf::from(directory).join(name)
}

/// How the host runs `program`, built for `arch`: itself, or under
/// Debian's user-mode QEMU; `None` when it cannot.
fn host_command(arch: Arch, program: &Path) -> Option<Command> {
    let native = match arch {
        Arch::Aarch64 => "aarch64",
        Arch::X86_64 => "x86_64",
    };
    if std::env::consts::ARCH == native {
        return Some(Command::new(program));
    }
    let emulator = format!("/usr/bin/qemu-{native}-static");
    Path::new(&emulator).exists().then(|| {
        let mut command = Command::new(emulator);
        command.arg(program);
        command
    })
}

/// What `program` printed on the host, and its status; `None` when the
/// host cannot run it.
fn host_run(arch: Arch, program: &Path) -> Option<(Vec<String>, i32)> {
    host_run_with(arch, program, &ARGUMENTS)
}

/// What `program` printed on the host when given `arguments`, with the
/// environment init gets in the guest (`kernel/src/main.rs`), and its
/// status; `None` when the host cannot run it.
fn host_run_with(arch: Arch, program: &Path, arguments: &[&str]) -> Option<(Vec<String>, i32)> {
    let mut command = host_command(arch, program)?;
    command
        .env_clear()
        .env("PATH", "/bin")
        .env("HOME", "/")
        .args(arguments);
    let output = command
        .output()
        .expect("running the Linux program on the host");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let lines = text.lines().map(str::to_string).collect();
    Some((lines, output.status.code().unwrap_or(-1)))
}

/// What `tests/linux/hello.c` prints with [`ARGUMENTS`] and `HOME=/`.
fn expected_hello() -> Vec<String> {
    [
        "linux hello: argc = 3",
        "argv[1] = first",
        "argv[2] = second",
        "HOME = /",
        "joined = first+second, big[12345] = x",
        "written with write(2)",
    ]
    .map(str::to_string)
    .to_vec()
}

/// Whether a program of `arch` that runs other programs can be run on
/// this host: natively only (`qemu-aarch64-static` runs one program, and
/// its `execve` of another needs a `binfmt_misc` registration that a
/// build machine may not have).
fn host_runs_children(arch: Arch) -> bool {
    let native = match arch {
        Arch::Aarch64 => "aarch64",
        Arch::X86_64 => "x86_64",
    };
    std::env::consts::ARCH == native
}

/// Runs the Linux program `name` as init with [`ARGUMENTS`] on every
/// machine under test, and checks that it prints `expected` (the host's
/// run of the same file, when the host can run it, must print the same)
/// and ends with `status`. A program that runs others (`spawns`) is run
/// on the host only where [`host_runs_children`]. `name` is the file's
/// (`hello`, `musl-hello`), the program is `/bin/linux-NAME`.
fn runs_as_on_linux(name: &str, spawns: bool, expected: &[&str], status: i32) {
    runs_as_on_linux_on(name, spawns, expected, status, |_| true);
}

/// [`runs_as_on_linux`] on the machines whose architecture `wanted`.
fn runs_as_on_linux_on(
    name: &str,
    spawns: bool,
    expected: &[&str],
    status: i32,
    wanted: impl Fn(Arch) -> bool,
) {
    let expected: Vec<String> = expected.iter().map(|line| line.to_string()).collect();
    for (mut machine, _disk) in system_machines() {
        if !wanted(machine.arch) {
            eprintln!("{}: {name} is not run here", describe(&machine));
            continue;
        }
        let what = describe(&machine);
        let program = linux_program(machine.arch, name);
        let host = if spawns && !host_runs_children(machine.arch) {
            None
        } else {
            host_run(machine.arch, &program)
        };
        match host {
            Some((lines, host_status)) => {
                assert_eq!(lines, expected, "{what}: {name} run on the host");
                assert_eq!(host_status, status, "{what}: {name}'s status on the host");
            }
            None => eprintln!(
                "{what}: the host cannot run {} programs: comparing with the expected text",
                machine.arch.name()
            ),
        }
        machine.append = format!("init=/bin/linux-{name} {}", ARGUMENTS.join(" "));
        let boot = boot(&machine, b"", TIMEOUT);
        // The guest's lines, in order, among the kernel's own.
        let mut lines = boot.output.lines().map(|line| line.trim_end_matches('\r'));
        for line in &expected {
            assert!(
                lines.any(|guest| guest == line),
                "{what}: the guest never printed {line:?} (in order); console:\n{}",
                boot.output
            );
        }
        boot.expect_line(&format!("init exited with status {status}"));
        // The calls the program made that the kernel does not implement
        // (each logged once): shown with `--nocapture`.
        for line in boot.output.lines().filter(|line| line.contains("linux: ")) {
            eprintln!("{what}: {line}");
        }
    }
}

#[test]
fn a_static_pie_glibc_hello_runs_as_on_linux() {
    let expected = expected_hello();
    let expected: Vec<&str> = expected.iter().map(String::as_str).collect();
    runs_as_on_linux("hello", false, &expected, 3);
}

/// The same source built static-PIE against musl: another C library's
/// start (its own self-relocation, TLS and stdio), the same output.
#[test]
fn a_static_pie_musl_hello_runs_as_on_linux() {
    let expected = expected_hello();
    let expected: Vec<&str> = expected.iter().map(String::as_str).collect();
    runs_as_on_linux("musl-hello", false, &expected, 3);
}

/// A fixed-address program (`ET_EXEC` at 0x400000, as Debian's static
/// executables are) runs in its private window: loaded where it was
/// linked, its break grows and shrinks (glibc's `malloc` takes its small
/// blocks there), an impossible break is refused, `mmap` works, and
/// `fork` gives the child a copy of the whole window.
#[test]
fn a_fixed_address_glibc_program_runs_as_on_linux() {
    runs_as_on_linux(
        "fixed",
        false,
        &[
            "fixed: code in the low window: yes",
            "break grew by 256 KiB, zeroed after the first byte: yes",
            "a 1 TiB break: refused (Cannot allocate memory), unchanged: yes",
            "small blocks: azl, from the break: yes",
            "mapped: m",
            "64 levels of 64 KiB of stack: 64",
            "fork child: counter 2, heap child's, same break yes",
            "fork parent: reaped the child, status 11, counter 1, heap parent's",
            "writing code: killed by SIGSEGV",
            "written from read-only data by the kernel",
        ],
        5,
    );
}

/// Processes: `posix_spawn` (glibc's `clone(CLONE_VM | CLONE_VFORK)` on a
/// stack of its own), `vfork` + `execve`, a vfork child writing its
/// parent's memory (lent, not copied), `waitpid` with `WNOHANG`, `kill`
/// with a signal, and the errors — as on Linux.
#[test]
fn a_glibc_program_spawns_waits_and_kills_as_on_linux() {
    let expected = spawn_expected("No child processes");
    let expected: Vec<&str> = expected.iter().map(String::as_str).collect();
    runs_as_on_linux("spawn", true, &expected, 6);
}

/// The same with musl: its `posix_spawn` is `clone(CLONE_VM |
/// CLONE_VFORK)` on a stack of its own as glibc's, its `vfork` on x86_64
/// the `vfork` call; its `strerror(ECHILD)` is `No child process`.
///
/// On AArch64 musl's `vfork` is a plain `fork` (`clone(SIGCHLD)`, so on
/// Linux too its child writes a copy of the parent's memory), which the
/// kernel refuses to a static-PIE program (ENOSYS: no copy of an address
/// space in the shared one): the two `vfork` cases are left out there,
/// everything else is checked.
#[test]
fn a_musl_program_spawns_waits_and_kills_as_on_linux() {
    let expected = spawn_expected("No child process");
    let expected: Vec<&str> = expected.iter().map(String::as_str).collect();
    runs_as_on_linux_on("musl-spawn", true, &expected, 6, |arch| {
        arch == Arch::X86_64
    });
    let without_vfork: Vec<&str> = expected
        .iter()
        .copied()
        .filter(|line| !line.contains("vfork"))
        .collect();
    runs_as_on_linux_on("musl-spawn", true, &without_vfork, 6, |arch| {
        arch == Arch::Aarch64
    });
}

/// `system` and `popen` (glibc's and musl's): the C library runs
/// `/bin/sh -c COMMAND` — Manux's shell, found in the program's root —
/// through `clone(CLONE_VM | CLONE_VFORK)` and `execve`, waits for it and
/// reads its status; `popen` joins a pipe to the command's output or
/// input.
#[test]
fn system_and_popen_run_the_shell_as_on_linux() {
    let expected = [
        "system(NULL) says a shell exists: yes",
        "printed by the shell system started",
        "system echo: exited with 0",
        "system exit 7: exited with 7",
        "after false",
        "after true",
        "system && ||: exited with 0",
        "read from popen: [first line]",
        "read from popen: [second line]",
        "lines read: 2",
        "pclose r: exited with 0",
        "written through popen",
        "pclose w: exited with 0",
    ];
    runs_as_on_linux("system", true, &expected, 0);
    // musl's `posix_spawn` is also `clone(CLONE_VM | CLONE_VFORK)` on
    // both architectures.
    runs_as_on_linux("musl-system", true, &expected, 0);
}

/// What `tests/linux/spawn.c` prints, with `no_children` the C library's
/// text for `ECHILD`.
fn spawn_expected(no_children: &str) -> Vec<String> {
    [
        "child spawned, argc 4",
        "posix_spawn child: same pid yes, exited with 3",
        "posix_spawn: ok",
        "child vforked, argc 4",
        "vfork + execve child: same pid yes, exited with 4",
        "vfork child: same pid yes, exited with 9",
        "the vfork child wrote its parent's memory: 42",
        "WNOHANG while it runs: 0",
        "kill(SIGTERM): ok",
        "spinning child: same pid yes, killed by Terminated",
        "kill of a reaped child: No such process",
        &format!("waitpid without children: {no_children}"),
        "posix_spawn of a missing file: No such file or directory",
    ]
    .map(str::to_string)
    .to_vec()
}

/// What `tests/linux/signals.c` prints.
const SIGNALS_EXPECTED: [&str; 42] = [
    "linux signals: start",
    "SIGUSR1 handler ran: 1",
    "siginfo: signo 12, pid mine yes, SI_USER yes",
    "raise: SI_TKILL yes",
    "blocked: handler ran 0, pending yes",
    "unblocked: handler ran 1, pending no",
    "SIG_IGN: still here, pending no",
    "SA_RESETHAND: ran 1, now SIG_DFL yes",
    "SIGPIPE: handler ran 2, write -1 EPIPE",
    "nested: outer-start inner outer-end",
    "registers kept across a handler: yes, locals 338350 338350, rounding kept yes",
    "child exited with 7, same pid yes, SIGCHLD so far 0",
    "sigsuspend: -1 EINTR; SIGCHLD 1: pid yes, status 7, CLD_EXITED yes",
    "pipe read across an SA_RESTART handler: 1 'x', handler ran 1",
    "reader exited with 0",
    "SIGTERM: signaled yes, WTERMSIG 15",
    "alarm(1): previous 0",
    "pause: -1 EINTR, SIGALRM handler ran 1",
    "alarm(30): previous 0",
    "alarm(0): previous 30",
    "nanosleep interrupted: -1 EINTR, 4 s left",
    "setitimer: 0",
    "getitimer: interval 20000 us, armed yes",
    "disarmed: old interval 20000 us, now 0 0",
    "setitimer of timer 7: -1 EINVAL",
    "alarm across execve: signaled yes, WTERMSIG 14",
    "sigaltstack at start: SS_DISABLE yes",
    "sigaltstack below MINSIGSTKSZ: -1 ENOMEM",
    "sigaltstack with unknown flags: -1 EINVAL",
    "sigaltstack: 0",
    "sigaltstack now: flags 0, base yes, size yes",
    "SA_ONSTACK: on the alternate stack yes, SS_ONSTACK yes, changing it EPERM yes",
    "without SA_ONSTACK: on the alternate stack no, flags 0",
    "disabled: SS_DISABLE yes",
    "SIGSEGV handler: signo 11, si_addr yes",
    "SIGILL handler: signo 4, si_addr yes",
    "privileged instruction: Linux's signal yes",
    "stack overflow caught on the alternate stack: yes",
    "fault (altstack): exited with 0",
    "fault (no-altstack): WTERMSIG 11",
    "fault (blocked): WTERMSIG 11",
    "linux signals: done",
];

/// Signals: handlers run on Linux's frame and return through
/// `rt_sigreturn` (glibc's `sa_restorer` on x86_64, the kernel's
/// trampoline on AArch64), with siginfo, the mask (blocked, pending,
/// unblocked), `SIG_IGN`, `SA_RESETHAND`, `SIGPIPE`, `SIGCHLD` in
/// `sigsuspend`, nesting, registers and the FP control kept, a restarted
/// read, `SIGTERM`'s default, `alarm` and `pause`, a sleep interrupted
/// by `SIGALRM` (the time left written back), an interval timer
/// (`setitimer`, `getitimer`) and one outliving `execve`, and
/// `sigaltstack` with `SA_ONSTACK`, handlers for `SIGSEGV` and `SIGILL`
/// (with `si_addr`), a stack overflow caught on the alternate stack and
/// the faults that still end a process — as on Linux.
#[test]
fn a_glibc_program_handles_signals_as_on_linux() {
    runs_as_on_linux("signals", true, &SIGNALS_EXPECTED, 0);
}

/// The same built against musl: its own `sigaction` (`sa_restorer` on
/// both architectures), `raise` (`tkill`) and `sigsuspend`.
#[test]
fn a_musl_program_handles_signals_as_on_linux() {
    runs_as_on_linux("musl-signals", true, &SIGNALS_EXPECTED, 0);
}

/// Ctrl-C at the console is `SIGINT` for a Linux program: its handler
/// runs (it prints and exits 0), and one without a handler is ended by
/// it — the shell reports it `interrupted`, as it does a native program
/// Ctrl-C ended (`shell.rs`). `linux-sigint` and `linux-musl-sigint` are
/// packages whose programs are `signals.c`'s two builds, so the shell
/// launches them.
#[test]
fn control_c_is_sigint_for_a_linux_program() {
    for (machine, _disk) in system_machines() {
        let what = describe(&machine);
        let steps = [
            Step::Start("linux-sigint interrupt", Duration::from_secs(3)),
            Step::Keys(b"\x03"),
            Step::Line("echo status=$?"),
            Step::Start(
                "linux-musl-sigint interrupt-default",
                Duration::from_secs(3),
            ),
            Step::Keys(b"\x03"),
            Step::Line("echo status=$?"),
            Step::Line("poweroff"),
        ];
        let transcript = session_steps(&machine, &steps, TIMEOUT);
        let handled = format!("{}{}", transcript.output(0), transcript.output(1));
        assert!(
            handled.contains("waiting for Ctrl-C")
                && handled.contains("SIGINT caught, from the kernel: yes"),
            "{what}: {transcript:#?}"
        );
        assert_eq!(
            transcript.output(2),
            "status=0\n",
            "{what}: {transcript:#?}"
        );
        let ended = format!("{}{}", transcript.output(3), transcript.output(4));
        assert!(
            ended.contains("spinning until Ctrl-C")
                && ended.contains("sh: linux-musl-sigint: interrupted"),
            "{what}: {transcript:#?}"
        );
        assert_eq!(
            transcript.output(5),
            "status=130\n",
            "{what}: {transcript:#?}"
        );
        assert_eq!(transcript.status, Some(0), "{what}: {transcript:#?}");
    }
}

/// Where the files test works in the guest: the user's home, which the
/// image makes writable (init's root is the volume's root).
const GUEST_DIRECTORY: &str = "/home/user";

/// Lines of the files test that must be there, whatever the host: a
/// sample of each part, so a host run that printed nothing (or a
/// different program) cannot pass.
const FILES_SAMPLE: [&str; 15] = [
    "linux files: start",
    "read: 5 \"world\"",
    "create data again (O_EXCL): EEXIST",
    "statx: regular size 13 links 1",
    "F_GETFD after F_SETFD: 1",
    "dup3 to 11 with O_CLOEXEC: 11, F_GETFD 1",
    "rmdir non-empty sub: ENOTEMPTY",
    "list list: [. directory] [.. directory] [a regular] [b regular] [c symlink] [d directory]",
    "stat masked: regular size 0 links 1 mode 600",
    "poll after write: 1 revents 0x1",
    "poll after close: 1 revents 0x10",
    "write to a full non-blocking pipe: EAGAIN",
    "read empty pipe after F_SETFL: EAGAIN",
    "readlink /proc/self/exe as expected here: 1",
    "linux files: done",
];

#[test]
fn a_static_pie_glibc_program_works_with_files_as_on_linux() {
    works_with_files_as_on_linux("files");
}

/// The same source built against musl (which has no `statx` or
/// `renameat2` functions: `files.c` makes those calls itself there).
#[test]
fn a_static_pie_musl_program_works_with_files_as_on_linux() {
    works_with_files_as_on_linux("musl-files");
}

/// Runs `tests/linux/files.c` built as `name` (`files`, `musl-files`) on
/// the host in a fresh directory and as init in the guest in
/// [`GUEST_DIRECTORY`], and compares the outputs line by line.
fn works_with_files_as_on_linux(name: &str) {
    for (mut machine, _disk) in system_machines() {
        let what = describe(&machine);
        let program = linux_program(machine.arch, name);
        let host_directory = tempfile::tempdir().expect("a directory for the host run");
        let host_path = host_directory.path().to_str().expect("a UTF-8 path");
        let Some(expected) = host_lines(&what, machine.arch, &program, &[host_path], FILES_SAMPLE)
        else {
            continue;
        };
        machine.append = format!("init=/bin/linux-{name} {GUEST_DIRECTORY}");
        let boot = boot(&machine, b"", TIMEOUT);
        let guest = guest_lines(&boot.output, "linux files: start", |_| true);
        same_lines_and_success(&what, &expected, &guest, &boot);
    }
}

/// Runs `program` on the host with `arguments`, checks that it succeeded
/// and printed every line of `samples`, and returns its lines; `None`
/// (and a line saying so) when the host cannot run programs of `arch`.
fn host_lines<'a>(
    what: &str,
    arch: Arch,
    program: &Path,
    arguments: &[&str],
    samples: impl IntoIterator<Item = &'a str>,
) -> Option<Vec<String>> {
    let Some((expected, status)) = host_run_with(arch, program, arguments) else {
        eprintln!(
            "{what}: the host cannot run {} programs: skipped",
            arch.name()
        );
        return None;
    };
    assert_eq!(
        status,
        0,
        "{what}: the host run failed:\n{}",
        expected.join("\n")
    );
    for line in samples {
        assert!(
            expected.iter().any(|printed| printed == line),
            "{what}: the host run never printed {line:?}:\n{}",
            expected.join("\n")
        );
    }
    Some(expected)
}

/// The program's lines on the guest's console: from `first` on, without
/// the kernel's own log lines (`[   0.123456] WARN  …`) and those `keep`
/// refuses.
fn guest_lines<'a>(output: &'a str, first: &str, keep: impl Fn(&str) -> bool) -> Vec<&'a str> {
    let console: Vec<&str> = output
        .lines()
        .map(|line| line.trim_end_matches('\r'))
        .collect();
    match console.iter().position(|line| *line == first) {
        Some(first) => console[first..]
            .iter()
            .copied()
            .filter(|line| !line.starts_with('[') && keep(line))
            .collect(),
        None => Vec::new(),
    }
}

/// Checks that the guest printed `expected` line for line and that init
/// ended with status 0; shows the calls the kernel logged as not
/// implemented (with `--nocapture`).
fn same_lines_and_success(what: &str, expected: &[String], guest: &[&str], boot: &Boot) {
    for (index, line) in expected.iter().enumerate() {
        assert_eq!(
            guest.get(index).copied(),
            Some(line.as_str()),
            "{what}: line {} differs from the host's; console:\n{}",
            index + 1,
            boot.output
        );
    }
    boot.expect_line("init exited with status 0");
    for line in boot.output.lines().filter(|line| line.contains("linux: ")) {
        eprintln!("{what}: {line}");
    }
}

/// What a host run of `tests/linux/mmap.c` must print, whatever the
/// host: a sample of each part.
const MMAP_SAMPLE: [&str; 10] = [
    "linux mmap: start",
    "munmap of the middle page: 0, the ends kept: a c",
    "mapped, touched and unmapped 32 MiB: 32 times",
    "bytes: A A B C, after the end: 0",
    "written privately: z, the file still has A",
    "MAP_FIXED over its own mapping: ok, at the address yes, bytes x B x",
    "/dev/null: read 0, write 5",
    "/dev/zero: read 64, zeros 64",
    "fstatfs: ok, same file system yes",
    "linux mmap: done",
];

/// What the child case of `tests/linux/mmap.c` prints.
const MMAP_CHILD: &str = "child touching unmapped memory: killed by SIGSEGV";

/// Memory: anonymous and private file mappings, `munmap` that frees (1
/// GiB mapped, touched and unmapped a piece at a time on a machine of
/// 128 MiB), a touch of unmapped memory killing the child that made it
/// with SIGSEGV, `MAP_FIXED` over the program's own mapping, the
/// refusals; the device files of init's root; `statfs` and `fstatfs` —
/// as on Linux.
#[test]
fn a_static_pie_glibc_program_maps_memory_as_on_linux() {
    maps_memory_as_on_linux("mmap");
}

/// The same source built against musl.
#[test]
fn a_static_pie_musl_program_maps_memory_as_on_linux() {
    maps_memory_as_on_linux("musl-mmap");
}

/// Runs `tests/linux/mmap.c` built as `name` on the host in a fresh
/// directory and as init in the guest in [`GUEST_DIRECTORY`], and
/// compares the outputs line by line. A host that cannot run the
/// program's children leaves the child case out ([`host_runs_children`]);
/// the guest's line for it is then checked against [`MMAP_CHILD`].
fn maps_memory_as_on_linux(name: &str) {
    for (mut machine, _disk) in system_machines() {
        let what = describe(&machine);
        let program = linux_program(machine.arch, name);
        let host_directory = tempfile::tempdir().expect("a directory for the host run");
        let host_path = host_directory.path().to_str().expect("a UTF-8 path");
        let children = host_runs_children(machine.arch);
        let arguments: &[&str] = if children {
            &[host_path]
        } else {
            &[host_path, "no-children"]
        };
        let samples = MMAP_SAMPLE
            .into_iter()
            .chain(children.then_some(MMAP_CHILD));
        let Some(expected) = host_lines(&what, machine.arch, &program, arguments, samples) else {
            continue;
        };
        machine.append = format!("init=/bin/linux-{name} {GUEST_DIRECTORY}");
        let boot = boot(&machine, b"", TIMEOUT);
        // The kernel's report of the child it killed (`process 3
        // (linux-mmap) killed: page fault at …`) is left out too.
        let kernel_report =
            |line: &str| line.starts_with("process ") && line.contains(") killed: page fault at ");
        let mut guest = guest_lines(&boot.output, "linux mmap: start", |line| {
            !kernel_report(line)
        });
        if !children {
            let child = guest.iter().position(|line| *line == MMAP_CHILD);
            assert!(
                child.is_some(),
                "{what}: the guest never printed {MMAP_CHILD:?}; console:\n{}",
                boot.output
            );
            guest.remove(child.unwrap_or_default());
        }
        same_lines_and_success(&what, &expected, &guest, &boot);
    }
}

/// Planted in the home, never handed to `linux-escape`.
const ESCAPE_SECRET: &str = "TOPSECRET-linux-e5c4";

/// The techniques `tests/linux/escape.c` tries, in its order.
const ESCAPE_TECHNIQUES: [&str; 6] = [
    "paths",
    "chdir-dotdot",
    "directory-fd-climb",
    "symlinks",
    "move-handed-file",
    "exec-dropped",
];

/// The escape suite's main techniques with Linux calls (`..` past the
/// root, absolute and `/...` names, `/proc/self`, a handed directory's
/// descriptor climbed, symbolic links pointing out, a handed read-only
/// file linked or renamed out of its place, a dropped copy run): the
/// program, launched confined from the shell with a writable directory
/// and a read-only file, must find every one blocked and never read the
/// secret beside them.
#[test]
fn a_confined_linux_program_cannot_escape() {
    let plant = format!("echo {ESCAPE_SECRET} > secret.txt");
    let lines = [
        "cd $HOME",
        plant.as_str(),
        "echo handed-over > handed.txt",
        "mkdir work",
        "linux-escape -w work handed.txt",
        "cat handed.txt",
        "poweroff",
    ];
    let run = 4;
    for (machine, _disk) in system_machines() {
        let transcript = session(&machine, &lines, TIMEOUT);
        let what = describe(&machine);
        let printed = transcript.output(run);
        let printed: Vec<&str> = printed.lines().collect();
        // Shown with `--nocapture`.
        for line in &printed {
            eprintln!("{what}: linux-escape: {line}");
        }
        for technique in ESCAPE_TECHNIQUES {
            assert!(
                printed.contains(&format!("blocked: {technique}").as_str()),
                "{what}: {technique} not blocked:\n{transcript:#?}"
            );
        }
        assert!(
            printed.contains(&"linux escape: 0 escaped"),
            "{what}:\n{transcript:#?}"
        );
        assert!(
            !printed.iter().any(|line| line.contains("ESCAPED")),
            "{what}:\n{transcript:#?}"
        );
        assert_eq!(transcript.output(run + 1), "handed-over\n", "{what}");
        for exchange in &transcript.exchanges {
            assert!(
                !exchange.output.contains(ESCAPE_SECRET),
                "{what}: the secret leaked after `{}`",
                exchange.command
            );
        }
        assert!(!transcript.tail.contains(ESCAPE_SECRET), "{what}");
    }
}
