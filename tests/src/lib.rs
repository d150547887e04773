// SPDX-License-Identifier: MIT OR Apache-2.0
//! The guest test harness: boot QEMU, read the serial console, assert.
//!
//! Tests run through `cargo xtask test`, which builds each architecture's
//! kernel once and passes its path in `MANUX_KERNEL_<ARCH>`; the list of
//! architectures to test is `MANUX_GUEST_ARCHES`. A test asks for
//! [`configurations`] and boots each with [`boot`], which enforces a
//! timeout (QEMU is killed, and the test fails, if the guest hangs) and
//! returns everything the console printed with QEMU's exit status.
//!
//! Run alone, without those variables, a guest test fails with a message
//! saying how to run it: it never passes by testing nothing.
#![forbid(unsafe_code)]

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};
pub use xtask::qemu::{Machine, MachineKind, VirtioTransport};
pub use xtask::Arch;

/// What a boot produced.
#[derive(Debug)]
pub struct Boot {
    /// The console output (carriage returns removed).
    pub output: String,
    /// The guest's exit status (QEMU's, decoded), `None` if killed.
    pub status: Option<i32>,
    /// Whether the timeout expired.
    pub timed_out: bool,
}

impl Boot {
    /// The first line that contains `needle`, if any.
    pub fn line_with(&self, needle: &str) -> Option<&str> {
        self.output.lines().find(|line| line.contains(needle))
    }

    /// Panics with the whole transcript unless `needle` was printed.
    pub fn expect_line(&self, needle: &str) -> &str {
        match self.line_with(needle) {
            Some(line) => line,
            None => panic!(
                "the guest never printed {needle:?}; console:\n{}",
                self.output
            ),
        }
    }

    /// Panics with the transcript unless the guest exited with `status`.
    pub fn expect_status(&self, status: i32) {
        assert!(
            !self.timed_out,
            "the guest timed out; console:\n{}",
            self.output
        );
        assert_eq!(
            self.status,
            Some(status),
            "unexpected exit status; console:\n{}",
            self.output
        );
    }
}

/// The architectures under test, from `MANUX_GUEST_ARCHES`.
pub fn arches() -> Vec<Arch> {
    let list = std::env::var("MANUX_GUEST_ARCHES")
        .expect("guest tests run through `cargo xtask test`, which builds the kernels and sets MANUX_GUEST_ARCHES");
    list.split(',')
        .filter(|name| !name.is_empty())
        .map(|name| match name {
            "aarch64" => Arch::Aarch64,
            "x86_64" => Arch::X86_64,
            other => panic!("unknown architecture {other:?} in MANUX_GUEST_ARCHES"),
        })
        .collect()
}

/// The kernel built for `arch` by `cargo xtask test`.
pub fn kernel(arch: Arch) -> PathBuf {
    let variable = format!("MANUX_KERNEL_{}", arch.name().to_uppercase());
    let path = std::env::var_os(&variable).unwrap_or_else(|| {
        panic!("{variable} is not set: run the guest tests with `cargo xtask test`")
    });
    PathBuf::from(path)
}

/// Every machine configuration under test, for the architectures in
/// `MANUX_GUEST_ARCHES`: AArch64 `virt` over MMIO and PCI, x86_64
/// `microvm` (MMIO) and `q35` (PCI).
pub fn configurations() -> Vec<Machine> {
    let mut machines = Vec::new();
    for arch in arches() {
        let kinds: &[(MachineKind, VirtioTransport)] = match arch {
            Arch::Aarch64 => &[
                (MachineKind::Virt, VirtioTransport::Mmio),
                (MachineKind::Virt, VirtioTransport::Pci),
            ],
            Arch::X86_64 => &[
                (MachineKind::Microvm, VirtioTransport::Mmio),
                (MachineKind::Q35, VirtioTransport::Pci),
            ],
        };
        for &(kind, virtio) in kinds {
            let mut machine = Machine::new(arch, kernel(arch));
            machine.kind = kind;
            machine.virtio = virtio;
            machines.push(machine);
        }
    }
    machines
}

/// One configuration per machine model under test (`virt`/MMIO,
/// `microvm`, `q35`): for what depends on the machine (RAM map, timer,
/// power-off path) rather than on the virtio transport.
pub fn machine_models() -> Vec<Machine> {
    let mut machines: Vec<Machine> = Vec::new();
    for machine in configurations() {
        if !machines.iter().any(|seen| seen.kind == machine.kind) {
            machines.push(machine);
        }
    }
    machines
}

/// The default machine of each architecture under test (`virt`/MMIO,
/// `microvm`).
pub fn default_machines() -> Vec<Machine> {
    arches()
        .into_iter()
        .map(|arch| Machine::new(arch, kernel(arch)))
        .collect()
}

/// A short description for assertion messages.
pub fn describe(machine: &Machine) -> String {
    format!(
        "{} {:?} {:?}",
        machine.arch.name(),
        machine.kind,
        machine.virtio
    )
}

/// A private copy of the system image `cargo xtask test` built for `arch`
/// (programs in `/bin`, installed immutable), deleted when dropped: each
/// test boots its own disk, so tests never see each other's files.
pub fn system_disk(arch: Arch) -> tempfile::NamedTempFile {
    let variable = format!("MANUX_IMAGE_{}", arch.name().to_uppercase());
    let image = std::env::var_os(&variable).unwrap_or_else(|| {
        panic!("{variable} is not set: run the guest tests with `cargo xtask test`")
    });
    let copy = tempfile::Builder::new()
        .prefix("manux-system-")
        .suffix(".img")
        .tempfile()
        .expect("creating a disk copy");
    std::fs::copy(&image, copy.path()).expect("copying the system image");
    copy
}

/// The default machine of each architecture under test, each with its own
/// copy of the system image attached. The copies live as long as the
/// returned guards.
pub fn system_machines() -> Vec<(Machine, tempfile::NamedTempFile)> {
    with_system_disk(default_machines())
}

/// Every machine configuration under test ([`configurations`]), each with
/// its own copy of the system image attached: for what user mode does
/// through each transport.
pub fn system_configurations() -> Vec<(Machine, tempfile::NamedTempFile)> {
    with_system_disk(configurations())
}

/// `machines`, each with its own copy of its architecture's system image
/// as its only disk.
pub fn with_system_disk(machines: Vec<Machine>) -> Vec<(Machine, tempfile::NamedTempFile)> {
    machines
        .into_iter()
        .map(|mut machine| {
            let disk = system_disk(machine.arch);
            machine.disks = vec![disk.path().to_path_buf()];
            (machine, disk)
        })
        .collect()
}

/// A zero-filled scratch disk of `bytes`, deleted when dropped.
pub fn scratch_disk(bytes: u64) -> tempfile::NamedTempFile {
    let file = tempfile::Builder::new()
        .prefix("manux-test-")
        .suffix(".img")
        .tempfile()
        .expect("creating a scratch disk");
    file.as_file()
        .set_len(bytes)
        .expect("sizing the scratch disk");
    file
}

/// Boots `machine`, feeds `input` to the console, waits for QEMU to exit
/// or `timeout` to pass, and returns what happened.
pub fn boot(machine: &Machine, input: &[u8], timeout: Duration) -> Boot {
    let mut command = machine.command();
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child: Child = command.spawn().expect("starting QEMU");
    let mut stdin = child.stdin.take().expect("QEMU stdin");
    if !input.is_empty() {
        let _ = stdin.write_all(input);
    }
    let (sender, receiver) = mpsc::channel::<Vec<u8>>();
    for stream in [
        Box::new(child.stdout.take().expect("QEMU stdout")) as Box<dyn Read + Send>,
        Box::new(child.stderr.take().expect("QEMU stderr")) as Box<dyn Read + Send>,
    ] {
        let sender = sender.clone();
        thread::spawn(move || {
            let mut stream = stream;
            let mut buffer = [0u8; 4096];
            while let Ok(count) = stream.read(&mut buffer) {
                if count == 0 || sender.send(buffer[..count].to_vec()).is_err() {
                    break;
                }
            }
        });
    }
    drop(sender);
    let deadline = Instant::now() + timeout;
    let mut timed_out = false;
    let status = loop {
        if let Ok(Some(status)) = child.try_wait() {
            break status.code();
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            timed_out = true;
            break None;
        }
        thread::sleep(Duration::from_millis(20));
    };
    drop(stdin);
    let mut bytes = Vec::new();
    while let Ok(chunk) = receiver.recv_timeout(Duration::from_secs(2)) {
        bytes.extend_from_slice(&chunk);
    }
    let output = String::from_utf8_lossy(&bytes).replace('\r', "");
    Boot {
        output,
        status: status.map(|code| xtask::qemu::guest_status(machine.arch, code)),
        timed_out,
    }
}

/// What one typed command printed.
#[derive(Debug)]
pub struct Exchange {
    /// The command line typed.
    pub command: String,
    /// What came back before the next prompt (the echo removed).
    pub output: String,
}

/// A whole interactive session.
#[derive(Debug)]
pub struct Transcript {
    /// Everything before the first prompt.
    pub boot_log: String,
    /// One entry per command, in order.
    pub exchanges: Vec<Exchange>,
    /// Everything after the last prompt (up to power-off).
    pub tail: String,
    /// The guest's exit status (`None` if it was killed at the timeout).
    pub status: Option<i32>,
}

impl Transcript {
    /// The output of the `index`th command (panics with the transcript
    /// when there is no such command).
    pub fn output(&self, index: usize) -> &str {
        match self.exchanges.get(index) {
            Some(exchange) => &exchange.output,
            None => panic!("the session ended before command {index}:\n{self:#?}"),
        }
    }
}

/// The shell prompt: a line ending in `$ ` with no newline after it.
pub const PROMPT: &str = "$ ";

/// Boots `machine` and drives its console as a person would: wait for the
/// prompt, type one line, collect what it printed until the next prompt.
/// `lines` are typed in order; after the last one the guest is expected to
/// power off by itself (the last line is typically `poweroff`). Each wait
/// is bounded by `step_timeout`; on a timeout the transcript so far is
/// returned with `status: None`.
pub fn session(machine: &Machine, lines: &[&str], step_timeout: Duration) -> Transcript {
    let steps: Vec<Step<'_>> = lines.iter().map(|line| Step::Line(line)).collect();
    session_steps(machine, &steps, step_timeout)
}

/// Runs the host's `ext2l` tool (`MANUX_EXT2L`, set by `cargo xtask
/// test`) with `arguments`.
pub fn ext2l<S: AsRef<OsStr>>(arguments: &[S]) -> Output {
    let tool =
        std::env::var("MANUX_EXT2L").expect("MANUX_EXT2L: the ext2l tool, set by cargo xtask test");
    Command::new(tool)
        .args(arguments)
        .output()
        .expect("running ext2l")
}

/// The contents of `path` in the ext2l volume `image` (`ext2l cat`).
pub fn ext2l_cat(image: &Path, path: &str) -> String {
    let output = ext2l(&[OsStr::new("cat"), image.as_os_str(), OsStr::new(path)]);
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// `e2fsck -fn IMAGE`: whether it found the volume clean, and what it
/// printed.
pub fn e2fsck_report(image: &Path) -> (bool, String) {
    let output = Command::new("e2fsck")
        .arg("-fn")
        .arg(image)
        .output()
        .expect("running e2fsck");
    (
        output.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

/// `ext2l check` finds the volume `image` clean; `what` names the case.
pub fn assert_ext2l_clean(image: &Path, what: &str) {
    let check = ext2l(&[OsStr::new("check"), image.as_os_str()]);
    assert!(
        check.status.success(),
        "{what}: ext2l check:\n{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
}

/// Types each line of `script` at the prompt, then `poweroff`, and
/// asserts that every line printed exactly its expected output and that
/// the machine then powered off cleanly.
pub fn assert_scripted_session(machine: &Machine, script: &[(&str, &str)], step_timeout: Duration) {
    let mut lines: Vec<&str> = script.iter().map(|(line, _)| *line).collect();
    lines.push("poweroff");
    let transcript = session(machine, &lines, step_timeout);
    let what = describe(machine);
    for (index, (line, expected)) in script.iter().enumerate() {
        assert_eq!(
            transcript.output(index),
            *expected,
            "{what}: `{line}`\n{transcript:#?}"
        );
    }
    assert_eq!(
        transcript.status,
        Some(0),
        "{what}: poweroff must end the machine cleanly\n{transcript:#?}"
    );
}

/// One thing a person does at the console.
#[derive(Clone, Copy, Debug)]
pub enum Step<'a> {
    /// Type a line and wait for the next prompt (the last step is expected
    /// to end the session: the guest then powers off by itself).
    Line(&'a str),
    /// Type a line and only wait this long (a program that does not end
    /// by itself).
    Start(&'a str, Duration),
    /// Send raw bytes (a control character) and wait for the prompt.
    Keys(&'a [u8]),
    /// Paste: write all the bytes in one go (from another thread, so the
    /// output is read meanwhile and the guest may hold input back), then
    /// wait until the output contains the second field and ends with the
    /// prompt. The exchange's output is everything printed, echo included.
    Paste(&'a [u8], &'a str),
}

/// [`session`] with [`Step`]s.
pub fn session_steps(machine: &Machine, steps: &[Step<'_>], step_timeout: Duration) -> Transcript {
    let mut command = machine.command();
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child: Child = command.spawn().expect("starting QEMU");
    let mut stdin = child.stdin.take().expect("QEMU stdin");
    let (sender, receiver) = mpsc::channel::<Vec<u8>>();
    for stream in [
        Box::new(child.stdout.take().expect("QEMU stdout")) as Box<dyn Read + Send>,
        Box::new(child.stderr.take().expect("QEMU stderr")) as Box<dyn Read + Send>,
    ] {
        let sender = sender.clone();
        thread::spawn(move || {
            let mut stream = stream;
            let mut buffer = [0u8; 4096];
            while let Ok(count) = stream.read(&mut buffer) {
                if count == 0 || sender.send(buffer[..count].to_vec()).is_err() {
                    break;
                }
            }
        });
    }
    drop(sender);
    let mut pending = String::new();
    // Reads until `pending` satisfies `done_fn`, or the deadline.
    let wait_until = |pending: &mut String, deadline: Instant, done_fn: &dyn Fn(&str) -> bool| loop {
        if done_fn(pending) {
            return true;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        match receiver.recv_timeout(left.min(Duration::from_millis(200))) {
            Ok(chunk) => pending.push_str(&String::from_utf8_lossy(&chunk).replace('\r', "")),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => return done_fn(pending),
        }
    };
    // Reads until `pending` ends with the prompt, or the deadline.
    let wait_prompt = |pending: &mut String, deadline: Instant| -> bool {
        loop {
            if pending.ends_with(PROMPT) {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            match receiver.recv_timeout(left.min(Duration::from_millis(200))) {
                Ok(chunk) => pending.push_str(&String::from_utf8_lossy(&chunk).replace('\r', "")),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => return pending.ends_with(PROMPT),
            }
        }
    };
    let mut transcript = Transcript {
        boot_log: String::new(),
        exchanges: Vec::new(),
        tail: String::new(),
        status: None,
    };
    let mut at_prompt = wait_prompt(&mut pending, Instant::now() + step_timeout);
    transcript.boot_log = core::mem::take(&mut pending);
    for (index, step) in steps.iter().enumerate() {
        if !at_prompt {
            break;
        }
        let (bytes, label, wait_prompt_after) = match *step {
            Step::Line(line) => (format!("{line}\n").into_bytes(), line.to_string(), true),
            Step::Start(line, _) => (format!("{line}\n").into_bytes(), line.to_string(), false),
            Step::Keys(keys) => (keys.to_vec(), format!("{keys:?}"), true),
            Step::Paste(bytes, until) => {
                let writer = {
                    let bytes = bytes.to_vec();
                    let mut stdin = stdin;
                    thread::spawn(move || {
                        let _ = stdin.write_all(&bytes);
                        let _ = stdin.flush();
                        stdin
                    })
                };
                let done_fn = |text: &str| text.contains(until) && text.ends_with(PROMPT);
                at_prompt = wait_until(&mut pending, Instant::now() + step_timeout, &done_fn);
                if !at_prompt {
                    // The writer may be blocked on a guest that stopped
                    // reading: end QEMU so the write fails.
                    let _ = child.kill();
                }
                stdin = writer.join().expect("the paste writer");
                transcript.exchanges.push(Exchange {
                    command: format!("paste of {} bytes", bytes.len()),
                    output: core::mem::take(&mut pending),
                });
                continue;
            }
        };
        let _ = stdin.write_all(&bytes);
        let _ = stdin.flush();
        let last = index + 1 == steps.len();
        if last {
            transcript.exchanges.push(Exchange {
                command: label,
                output: String::new(),
            });
            break;
        }
        if let Step::Start(_, pause) = *step {
            // Let the program run, keep what it printed, and go on typing
            // without a prompt.
            let until = Instant::now() + pause;
            while Instant::now() < until {
                if let Ok(chunk) = receiver.recv_timeout(Duration::from_millis(50)) {
                    pending.push_str(&String::from_utf8_lossy(&chunk).replace('\r', ""));
                }
            }
            transcript.exchanges.push(Exchange {
                command: label,
                output: core::mem::take(&mut pending),
            });
            continue;
        }
        debug_assert!(wait_prompt_after);
        at_prompt = wait_prompt(&mut pending, Instant::now() + step_timeout);
        let mut text = core::mem::take(&mut pending);
        if at_prompt {
            text.truncate(text.len() - PROMPT.len());
            // The prompt's own line (e.g. `/.../home/user $ `) up to the
            // last newline belongs to the prompt, not the output.
            match text.rfind('\n') {
                Some(end) => text.truncate(end + 1),
                None => text.clear(),
            }
        }
        let body = match text.split_once('\n') {
            Some((first, rest)) if first.trim_end() == label.trim_end() => rest.to_string(),
            _ => text,
        };
        transcript.exchanges.push(Exchange {
            command: label,
            output: body,
        });
    }
    // Let the guest finish (power off) by itself.
    let deadline = Instant::now() + step_timeout;
    let status = loop {
        while let Ok(chunk) = receiver.try_recv() {
            pending.push_str(&String::from_utf8_lossy(&chunk).replace('\r', ""));
        }
        if let Ok(Some(status)) = child.try_wait() {
            break status.code();
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        thread::sleep(Duration::from_millis(20));
    };
    drop(stdin);
    while let Ok(chunk) = receiver.recv_timeout(Duration::from_secs(1)) {
        pending.push_str(&String::from_utf8_lossy(&chunk).replace('\r', ""));
    }
    transcript.tail = pending;
    transcript.status = status.map(|code| xtask::qemu::guest_status(machine.arch, code));
    transcript
}
