// SPDX-License-Identifier: MIT OR Apache-2.0
//! `cargo xtask bench`: the system's figures, measured in the guest.
//!
//! 1. Builds the release kernel (its file size is `kernel_elf_bytes`) and
//!    the programs, then a fresh system image from `images/manifest.toml`
//!    in `target/bench/`.
//! 2. The benchmark boot: a copy of that image, grown by room for a
//!    64 MiB file of pseudo-random bytes (`/bench-64m.dat`, written on the
//!    host, so its first read in the guest is cold), booted once at the
//!    default 128 MiB with `bench init=/bin/bench REPETITIONS FILE SECTOR
//!    SEED` (SECTOR: where the file's data starts on the disk, where the
//!    raw read starts too; SEED: the file's bytes are an xorshift stream
//!    from it, which the guest checks after the timed reads).
//!    `apps/bench` prints every in-guest figure, a value per repetition
//!    (`xtask::bench_report`).
//! 3. The journal's cost: the benchmark image and a copy built without a
//!    journal are booted in turn, REPETITIONS pairs, with `init=/bin/bench
//!    --writes 1`: 1,000 small files and a 64 MiB file written and
//!    `fsync`ed on each. Each pair gives `journal_small_files_ratio` and
//!    `journal_write_ratio` (with over without, so the host's load falls
//!    on both alike); `file_write_mbps` is the journaled write.
//! 4. The smoke session: a fresh copy of the image booted normally (init,
//!    the login shell), a short session typed at the prompt as a person
//!    would (write, copy, pipe, list, remove, `poweroff`), its output
//!    checked. At the default 128 MiB it runs REPETITIONS times; the kernel
//!    logs at power off when the console was first read — the shell's
//!    first prompt — which is `boot_to_prompt_ms`.
//! 5. `min_ram_mib`: the smallest `-m` (in MiB) with which the smoke
//!    session succeeds, by bisection between 8 MiB and 128 MiB.
//!
//! It prints one table (median, spread, target, met or missed) and writes
//! the medians to `target/bench-ARCH.json`. A failed boot or check is an
//! error; missed targets are not (they are in the table and the JSON).
//!
//! With `--instructions`, only the benchmark boot runs, under QEMU's
//! `-icount shift=0,sleep=off`: the guest's clock advances one nanosecond
//! per instruction, so the guest's timings of system calls, spawns and
//! `execve` are instruction counts, identical from run to run whatever
//! the host does (`*_instructions` in the table; nothing is written).

use crate::Target;
use anyhow::{bail, ensure, Context, Result};
use fs_ext2l::{FileDevice, FileExtent, FileSystem, MountOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};
use xtask::bench_report::{self, Figures};
use xtask::disk_image;
use xtask::manifest::{self, Manifest};
use xtask::qemu::{guest_status, Machine};
use xtask::{apps, cross, paths, toolchain};

/// The big file's size (a 64 MiB file).
const FILE_BYTES: u64 = 64 << 20;
/// Its path in the benchmark image.
const FILE_PATH: &str = "/bench-64m.dat";
/// The seed of its contents: 64-bit words of an xorshift stream
/// (`x ^= x << 13; x ^= x >> 7; x ^= x << 17`), which `apps/bench` checks.
const FILE_SEED: u64 = 0x9e37_79b9_7f4a_7c15;
/// RAM of the benchmark boot and of the boot-to-prompt boots (the
/// default of `cargo xtask run`).
const DEFAULT_MEMORY_MIB: u32 = 128;
/// The smallest RAM the search tries.
const SEARCH_FLOOR_MIB: u32 = 8;
/// Each wait for the guest (a prompt, a command's output) is bounded.
const STEP_TIMEOUT: Duration = Duration::from_secs(90);
/// The whole benchmark boot is bounded.
const BENCH_TIMEOUT: Duration = Duration::from_secs(1200);
/// The smoke session, typed at the prompt, and what each line must print.
const SMOKE_SESSION: &[(&str, &[&str])] = &[
    ("cd $HOME", &[]),
    ("echo qx7w > tf1", &[]),
    ("cp tf1 tf2", &[]),
    ("cat tf2 tf2", &["qx7w", "qx7w"]),
    ("cat tf1 | wc -c", &["5"]),
    ("ls -1", &["tf1", "tf2"]),
    ("rm tf1 tf2", &[]),
];

/// The guest's figures measured in instructions under `--instructions`:
/// `(figure, its name in instructions, instructions per unit)`.
const INSTRUCTION_FIGURES: &[(&str, &str, f64)] = &[
    ("null_syscall_ns", "null_syscall_instructions", 1.0),
    ("spawn_exit_wait_us", "spawn_exit_wait_instructions", 1000.0),
    ("exec_direct_us", "exec_direct_instructions", 1000.0),
    ("exec_launched_us", "exec_launched_instructions", 1000.0),
    (
        "linux_spawn_exit_wait_us",
        "linux_spawn_exit_wait_instructions",
        1000.0,
    ),
    ("applet_launched_us", "applet_launched_instructions", 1000.0),
];

/// Runs the benchmarks for `target`, `repetitions` times each (only the
/// benchmark boot, counting instructions, if `instructions`).
pub fn run(target: Target, repetitions: u32, instructions: bool) -> Result<()> {
    target.validate()?;
    ensure!(repetitions > 0, "--repetitions must be at least 1");
    let arch = target.arch;
    toolchain::ensure_qemu(arch)?;
    toolchain::ensure_commands(&[("mke2fs", "e2fsprogs"), ("e2fsck", "e2fsprogs")])?;
    let cross_toolchain = toolchain::cross_toolchain()?;
    let kernel = cross::build_kernel(&cross_toolchain, arch)?;
    let programs = apps::build(&cross_toolchain, arch)?;
    let directory = paths::target_dir().join("bench");
    std::fs::create_dir_all(&directory)
        .with_context(|| format!("creating {}", directory.display()))?;

    let mut figures = Figures::default();
    let kernel_bytes = std::fs::metadata(&kernel)
        .with_context(|| format!("reading the size of {}", kernel.display()))?
        .len();
    figures.push("kernel_elf_bytes", kernel_bytes as f64);

    let manifest = Manifest::load(&manifest::default_path())?;
    let image = directory.join(format!("system-{}.img", arch.name()));
    disk_image::build(&image, &manifest, &programs, arch)?;
    let mut bench_manifest = manifest.clone();
    bench_manifest.image.size_mib = Some((manifest.size_bytes() + 2 * FILE_BYTES) >> 20);
    let bench_image = directory.join(format!("bench-{}.img", arch.name()));
    disk_image::build(&bench_image, &bench_manifest, &programs, arch)?;
    let first_sector = add_big_file(&bench_image)?;
    let mut unjournaled_manifest = bench_manifest.clone();
    unjournaled_manifest.image.journal = Some(false);
    let unjournaled_image = directory.join(format!("bench-unjournaled-{}.img", arch.name()));
    disk_image::build(&unjournaled_image, &unjournaled_manifest, &programs, arch)?;

    let machine = |memory_mib: u32, disk: PathBuf, append: String| {
        let mut machine = Machine::new(arch, kernel.clone());
        machine.kind = target.machine();
        machine.virtio = target.virtio();
        machine.memory_mib = memory_mib;
        machine.disks = vec![disk];
        machine.append = append;
        machine
    };

    eprintln!("xtask bench: the benchmark boot ({repetitions} repetitions)");
    let mut bench = machine(
        DEFAULT_MEMORY_MIB,
        bench_image.clone(),
        format!("bench init=/bin/bench {repetitions} {FILE_PATH} {first_sector} {FILE_SEED}"),
    );
    bench.instruction_clock = instructions;
    let console = boot_to_end(&bench, BENCH_TIMEOUT)?;
    let guest = Figures::parse_guest(&console.output)
        .with_context(|| format!("reading the guest's figures; console:\n{}", console.output))?;
    ensure!(
        console.status == Some(0)
            && console.output.contains("bench: done")
            && console.output.contains("bench: file_contents_checked 1"),
        "the benchmark boot failed (status {:?}); console:\n{}",
        console.status,
        console.output
    );
    if instructions {
        let mut counted = Figures::default();
        for &(key, name, per_unit) in INSTRUCTION_FIGURES {
            for value in guest.values.get(key).into_iter().flatten() {
                counted.push(name, value * per_unit);
            }
        }
        print!(
            "{}",
            bench_report::table_of(&counted, bench_report::INSTRUCTION_KEYS)
        );
        return Ok(());
    }
    for (key, values) in guest.values {
        for value in values {
            figures.push(&key, value);
        }
    }

    eprintln!("xtask bench: the journal's cost ({repetitions} pairs of boots)");
    for _ in 0..repetitions {
        let mut pair = Vec::new();
        for image in [&bench_image, &unjournaled_image] {
            let boot = machine(
                DEFAULT_MEMORY_MIB,
                image.clone(),
                "init=/bin/bench --writes 1".to_string(),
            );
            let console = boot_to_end(&boot, BENCH_TIMEOUT)?;
            ensure!(
                console.status == Some(0) && console.output.contains("bench: done"),
                "the writes boot of {} failed (status {:?}); console:\n{}",
                image.display(),
                console.status,
                console.output
            );
            pair.push(
                Figures::parse_keys(&console.output, bench_report::WRITES_KEYS).with_context(
                    || format!("reading the guest's figures; console:\n{}", console.output),
                )?,
            );
        }
        let value = |index: usize, key: &str| pair[index].median(key).unwrap_or(f64::NAN);
        figures.push("file_write_mbps", value(0, "file_write_mbps"));
        figures.push(
            "journal_small_files_ratio",
            value(0, "small_files_ops_per_s") / value(1, "small_files_ops_per_s"),
        );
        figures.push(
            "journal_write_ratio",
            value(0, "file_write_mbps") / value(1, "file_write_mbps"),
        );
    }

    let copy = directory.join(format!("smoke-{}.img", arch.name()));
    let smoke = |memory_mib: u32| -> Result<Smoke> {
        std::fs::copy(&image, &copy).with_context(|| format!("copying {}", image.display()))?;
        Ok(smoke_session(&machine(
            memory_mib,
            copy.clone(),
            String::new(),
        )))
    };
    eprintln!(
        "xtask bench: boot to prompt, {repetitions} smoke sessions at {DEFAULT_MEMORY_MIB} MiB"
    );
    for _ in 0..repetitions {
        match smoke(DEFAULT_MEMORY_MIB)? {
            Smoke::Passed { prompt_ms } => figures.push("boot_to_prompt_ms", prompt_ms),
            Smoke::Failed(why) => {
                bail!("the smoke session failed at {DEFAULT_MEMORY_MIB} MiB: {why}")
            }
        }
    }
    eprintln!("xtask bench: the smallest RAM that runs the smoke session");
    let (mut low, mut high) = (SEARCH_FLOOR_MIB - 1, DEFAULT_MEMORY_MIB);
    // Invariant: `high` passes; `low` fails (or is below the floor).
    while high - low > 1 {
        let middle = low + (high - low) / 2;
        let outcome = smoke(middle)?;
        eprintln!(
            "xtask bench:   -m {middle}M: {}",
            match &outcome {
                Smoke::Passed { .. } => "passed".to_string(),
                Smoke::Failed(why) => format!("failed ({why})"),
            }
        );
        match outcome {
            Smoke::Passed { .. } => high = middle,
            Smoke::Failed(_) => low = middle,
        }
    }
    figures.push("min_ram_mib", f64::from(high));
    let _ = std::fs::remove_file(&copy);

    print!("{}", bench_report::table(&figures));
    let json = bench_report::json(&figures)?;
    let json_path = paths::target_dir().join(format!("bench-{}.json", arch.name()));
    std::fs::write(&json_path, json).with_context(|| format!("writing {}", json_path.display()))?;
    eprintln!("xtask bench: wrote {}", json_path.display());
    Ok(())
}

/// Writes [`FILE_PATH`], [`FILE_BYTES`] of pseudo-random bytes, into the
/// image with the file-system library, and checks the volume after.
///
/// Return value: the sector where the file's data starts, where the
/// guest's raw read starts too, so both read the same region of the disk.
fn add_big_file(image: &Path) -> Result<u64> {
    let device =
        FileDevice::open(image, true).with_context(|| format!("opening {}", image.display()))?;
    let mut file_system = FileSystem::mount(device, MountOptions::default())
        .map_err(|e| anyhow::anyhow!("mounting {}: {e}", image.display()))?;
    let root = file_system.root();
    let name = FILE_PATH.trim_start_matches('/').as_bytes();
    let mut installer = file_system.installer();
    let file = installer
        .create(root, name, 0o644, 0, 0)
        .map_err(|e| anyhow::anyhow!("creating {FILE_PATH}: {e}"))?;
    let mut state = FILE_SEED;
    let mut chunk = vec![0u8; 1 << 20];
    let mut offset = 0u64;
    while offset < FILE_BYTES {
        for word in chunk.chunks_exact_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            word.copy_from_slice(&state.to_le_bytes());
        }
        let written = installer
            .write(file, offset, &chunk)
            .map_err(|e| anyhow::anyhow!("writing {FILE_PATH}: {e}"))?;
        ensure!(
            written == chunk.len(),
            "short write to {FILE_PATH}: no space"
        );
        offset += chunk.len() as u64;
    }
    file_system
        .sync()
        .map_err(|e| anyhow::anyhow!("syncing {}: {e}", image.display()))?;
    let report = file_system
        .check()
        .map_err(|e| anyhow::anyhow!("checking {}: {e}", image.display()))?;
    ensure!(
        report.is_clean(),
        "the checker found problems after adding {FILE_PATH}"
    );
    let extents = file_system
        .map_range(file, 0, FILE_BYTES)
        .map_err(|e| anyhow::anyhow!("mapping {FILE_PATH}: {e}"))?;
    // A clean unmount: the journal emptied, the volume marked valid.
    file_system
        .unmount()
        .map_err(|e| anyhow::anyhow!("unmounting {}: {e}", image.display()))?;
    match extents.first() {
        Some(FileExtent::Data { device_offset, .. }) => Ok(device_offset / 512),
        _ => bail!("{FILE_PATH} does not start with data"),
    }
}

/// A console transcript and the guest's exit status.
struct Console {
    output: String,
    status: Option<i32>,
}

/// A running QEMU whose console is read by a thread.
struct Guest {
    child: Child,
    stdin: Option<std::process::ChildStdin>,
    chunks: mpsc::Receiver<Vec<u8>>,
    output: String,
}

impl Guest {
    fn start(machine: &Machine) -> Result<Guest> {
        let mut command = machine.command();
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().context("starting QEMU")?;
        let stdin = child.stdin.take();
        let (sender, chunks) = mpsc::channel::<Vec<u8>>();
        let streams: [Box<dyn Read + Send>; 2] = [
            Box::new(child.stdout.take().context("QEMU stdout")?),
            Box::new(child.stderr.take().context("QEMU stderr")?),
        ];
        for mut stream in streams {
            let sender = sender.clone();
            thread::spawn(move || {
                let mut buffer = [0u8; 4096];
                while let Ok(count) = stream.read(&mut buffer) {
                    if count == 0 || sender.send(buffer[..count].to_vec()).is_err() {
                        break;
                    }
                }
            });
        }
        Ok(Guest {
            child,
            stdin,
            chunks,
            output: String::new(),
        })
    }

    /// Reads until the console (from byte `from`) ends with the prompt;
    /// false at the deadline or if QEMU ended.
    fn wait_prompt(&mut self, from: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.output.len() > from && self.output.ends_with("$ ") {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            match self
                .chunks
                .recv_timeout(left.min(Duration::from_millis(100)))
            {
                Ok(chunk) => self
                    .output
                    .push_str(&String::from_utf8_lossy(&chunk).replace('\r', "")),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => return false,
            }
        }
    }

    fn type_line(&mut self, line: &str) {
        if let Some(stdin) = self.stdin.as_mut() {
            let _ = stdin.write_all(format!("{line}\n").as_bytes());
            let _ = stdin.flush();
        }
    }

    /// Waits for QEMU to exit (killing it at the deadline).
    fn finish(mut self, timeout: Duration) -> Console {
        drop(self.stdin.take());
        let deadline = Instant::now() + timeout;
        let status = loop {
            while let Ok(chunk) = self.chunks.try_recv() {
                self.output
                    .push_str(&String::from_utf8_lossy(&chunk).replace('\r', ""));
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                break status.code();
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                break None;
            }
            thread::sleep(Duration::from_millis(20));
        };
        while let Ok(chunk) = self.chunks.recv_timeout(Duration::from_millis(500)) {
            self.output
                .push_str(&String::from_utf8_lossy(&chunk).replace('\r', ""));
        }
        Console {
            output: self.output,
            status,
        }
    }
}

/// Boots `machine` and waits for it to power off by itself.
fn boot_to_end(machine: &Machine, timeout: Duration) -> Result<Console> {
    let guest = Guest::start(machine)?;
    let mut console = guest.finish(timeout);
    console.status = console.status.map(|code| guest_status(machine.arch, code));
    Ok(console)
}

/// How a smoke session went.
enum Smoke {
    /// Every check held; the kernel's boot-to-prompt time.
    Passed { prompt_ms: f64 },
    /// Why not.
    Failed(String),
}

/// Boots `machine` normally and types [`SMOKE_SESSION`], then `poweroff`.
fn smoke_session(machine: &Machine) -> Smoke {
    let mut guest = match Guest::start(machine) {
        Ok(guest) => guest,
        Err(error) => return Smoke::Failed(format!("{error:#}")),
    };
    let mut failure = None;
    if !guest.wait_prompt(0, STEP_TIMEOUT) {
        failure = Some("no prompt".to_string());
    }
    for (line, expected) in SMOKE_SESSION {
        if failure.is_some() {
            break;
        }
        let from = guest.output.len();
        guest.type_line(line);
        if !guest.wait_prompt(from, STEP_TIMEOUT) {
            failure = Some(format!("no prompt after `{line}`"));
            break;
        }
        let printed: Vec<&str> = guest.output[from..].lines().map(str::trim).collect();
        for want in *expected {
            if !printed.contains(want) {
                failure = Some(format!("`{line}` did not print {want:?}"));
            }
        }
    }
    if failure.is_none() {
        guest.type_line("poweroff");
    }
    let console = guest.finish(if failure.is_none() {
        STEP_TIMEOUT
    } else {
        Duration::ZERO
    });
    if let Some(why) = failure {
        return Smoke::Failed(why);
    }
    let lower = console.output.to_lowercase();
    if lower.contains("panic") || lower.contains("kernel bug") {
        return Smoke::Failed("the kernel reported a panic or a bug".into());
    }
    if console.status.map(|code| guest_status(machine.arch, code)) != Some(0) {
        return Smoke::Failed(format!("exit status {:?}", console.status));
    }
    match bench_report::prompt_time_ms(&console.output) {
        Some(prompt_ms) => Smoke::Passed { prompt_ms },
        None => Smoke::Failed("the kernel did not report the first console read".into()),
    }
}
