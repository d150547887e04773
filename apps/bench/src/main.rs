// SPDX-License-Identifier: MIT OR Apache-2.0
//! `bench REPETITIONS FILE [SECTOR [SEED]]` and `bench --writes REPETITIONS
//! [MIB]`: the in-guest half of `cargo xtask bench`.
//!
//! Run as the first process (`init=/bin/bench …` with the `bench` boot
//! argument), it measures with the kernel's monotonic clock and prints one
//! line per figure, `bench: KEY V1 V2 …`, a value per repetition; the
//! xtask takes medians and spreads. Every figure is an average over a
//! batch inside each repetition, so the clock's resolution does not count,
//! and every spawn figure is of a program already in the kernel's program
//! cache (one untimed run before each batch: a program run again is
//! what the figures are about; its first run also reads and checks the
//! file):
//!
//! | key | one value |
//! |---|---|
//! | `null_syscall_ns` | one `getpid` round trip, over a batch of calls |
//! | `spawn_exit_wait_us` | `spawn(/bin/nop)` + its exit + `wait` |
//! | `exec_direct_us` | `spawn(/bin/nop exec /bin/nop)` + `wait`: spawn + execve of the trivial program |
//! | `exec_launched_us` | `spawn(/bin/launched-nop)` + `wait`: its launcher, which execs the same program (alternating with the direct one) |
//! | `launcher_overhead_ratio` | `exec_launched_us / exec_direct_us`, from the same repetition |
//! | `linux_spawn_exit_wait_us` | `spawn(/bin/linux-nop)` + its exit + `wait`: a static-PIE glibc program that returns at once (alternating with the native `nop`) |
//! | `linux_vs_native_spawn_ratio` | `linux_spawn_exit_wait_us` over the native `nop`'s, from the same repetition |
//! | `applet_launched_us` | `spawn(/bin/uname -m)` + `wait`: Debian's busybox applet through its launcher, its output to a file |
//! | `file_read_cold_mbps` | `FILE` read whole in 512 KiB calls after the block cache is dropped, in MB/s (10⁶ bytes) |
//! | `file_read_warm_mbps` | the same read again at once |
//! | `raw_read_mbps` | as many sectors read raw from the root disk (`benchmark(RAW_READ)`), from SECTOR (default 0): the xtask passes the file's first sector, so both reads cover the same region |
//! | `file_vs_raw_ratio` | cold over raw, from the same repetition |
//! | `small_files_ops_per_s` | files per second: create, write 100 bytes and close each of 1,000 files, delete them all, `sync` |
//!
//! `--writes` measures only what writing costs, so the xtask can boot the
//! same image with and without a journal and take the ratio:
//! `small_files_ops_per_s` as above, and `file_write_mbps`, a new file of
//! MIB MiB (default 64) written in 512 KiB calls and `fsync`ed, in MB/s
//! (the file is then deleted, untimed).
//!
//! Everything is checked as it goes (exit statuses, byte counts); with
//! SEED, once the timed reads are done, `FILE` is read once more and every
//! byte compared with the xorshift stream the host wrote it from (64-bit
//! words, `x ^= x << 13; x ^= x >> 7; x ^= x << 17` from SEED), so a read
//! that streams into the wrong place cannot pass unseen. A failure prints
//! `bench: error: …` and ends with status 1, which powers the machine off
//! with that status.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;
// On the host, std supplies the panic handler and the allocator the
// runtime supplies on Manux, so `cargo clippy -p bench` can check this
// program (it is never linked there).
#[cfg(not(target_os = "none"))]
extern crate std;

use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::time::Duration;
use manux_runtime::abi::wait_status::WaitStatus;
use manux_runtime::abi::{benchmark, clock, FdMapping, OpenFlags, CURRENT_DIRECTORY};
use manux_runtime::{entry, eprintln, print, println, process, syscall};

entry!(main);

/// System calls per null-syscall batch.
const SYSCALL_BATCH: u32 = 20_000;
/// Processes per spawn batch.
const SPAWN_BATCH: u32 = 20;
/// The small-file workload: this many files of [`SMALL_FILE_BYTES`].
const SMALL_FILES: u32 = 1000;
/// Bytes written to each small file.
const SMALL_FILE_BYTES: usize = 100;
/// Bytes per `read` call of the big file (half the program's heap).
const READ_CHUNK: usize = 512 << 10;
/// The trivial program, unlaunched.
const NOP: &[u8] = b"/bin/nop";
/// The same program through its launcher (package `launched-nop`).
const NOP_LAUNCHED: &[u8] = b"/bin/launched-nop";
/// The trivial Linux program (static-PIE, glibc), unlaunched.
const LINUX_NOP: &[u8] = b"/bin/linux-nop";
/// A busybox applet, through its launcher.
const APPLET: &[u8] = b"/bin/uname";
/// Where the applet's output goes.
const APPLET_OUTPUT: &[u8] = b"/bench-applet.out";
/// The file `--writes` writes.
const WRITE_FILE: &[u8] = b"/bench-write.dat";
/// Its default size in MiB.
const WRITE_MIB: u32 = 64;
/// Where the small files are made.
const SMALL_DIRECTORY: &[u8] = b"/bench-small";

/// A failure: what was being done.
struct Failure(String);

fn main() -> i32 {
    let arguments = process::arguments();
    if arguments.get(1) == Some(&b"--writes".as_slice()) {
        return writes_main(&arguments[2..]);
    }
    if arguments.get(1) == Some(&b"--spawns".as_slice()) {
        return spawns_main(&arguments[2..]);
    }
    let (Some(repetitions), Some(file)) = (
        arguments
            .get(1)
            .and_then(|word| core::str::from_utf8(word).ok())
            .and_then(|word| word.parse::<u32>().ok())
            .filter(|&count| count > 0),
        arguments.get(2),
    ) else {
        eprintln!("usage: bench REPETITIONS FILE [SECTOR [SEED]]");
        return 2;
    };
    // Where the raw read starts: the file's first sector, when the caller
    // knows it, so the raw read covers the same region of the disk.
    let first_sector = match arguments.get(3).map(|word| {
        core::str::from_utf8(word)
            .ok()
            .and_then(|word| word.parse::<u64>().ok())
    }) {
        None => 0,
        Some(Some(sector)) => sector,
        Some(None) => {
            eprintln!("usage: bench REPETITIONS FILE [SECTOR [SEED]]");
            return 2;
        }
    };
    // The seed of the file's contents, when the caller knows it.
    let seed = match arguments.get(4).map(|word| {
        core::str::from_utf8(word)
            .ok()
            .and_then(|word| word.parse::<u64>().ok())
    }) {
        None => None,
        Some(Some(seed)) => Some(seed),
        Some(None) => {
            eprintln!("usage: bench REPETITIONS FILE [SECTOR [SEED]]");
            return 2;
        }
    };
    match run(repetitions, file, first_sector, seed) {
        Ok(()) => {
            println!("bench: done");
            0
        }
        Err(Failure(what)) => {
            eprintln!("bench: error: {what}");
            1
        }
    }
}

fn run(repetitions: u32, file: &[u8], first_sector: u64, seed: Option<u64>) -> Result<(), Failure> {
    let prompt = syscall::benchmark(benchmark::PROMPT_TIME, 0, 0)
        .map_err(|errno| Failure(format!("benchmark(PROMPT_TIME): {errno}")))?;
    // As the first process nothing has read the console: 0 says so.
    println!("bench: console_first_read_ns {prompt}");

    let mut null = Vec::new();
    for _ in 0..repetitions {
        let start = now();
        for _ in 0..SYSCALL_BATCH {
            core::hint::black_box(syscall::process_id());
        }
        null.push(nanos(now() - start) / f64::from(SYSCALL_BATCH));
    }
    report("null_syscall_ns", &null);

    let (mut spawn, mut direct, mut launched, mut ratio) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..repetitions {
        spawn.push(spawn_batch(NOP, &[b"nop"])?);
        // Direct and launched alternate, one process each, so a change in
        // the host's load falls on both alike.
        let (mut exec_direct, mut exec_launched) = (0.0, 0.0);
        spawn_one(NOP_LAUNCHED, &[b"launched-nop"])?;
        for _ in 0..SPAWN_BATCH {
            exec_direct += spawn_one(NOP, &[b"nop", b"exec", NOP])?;
            exec_launched += spawn_one(NOP_LAUNCHED, &[b"launched-nop"])?;
        }
        let exec_direct = exec_direct / f64::from(SPAWN_BATCH);
        let exec_launched = exec_launched / f64::from(SPAWN_BATCH);
        direct.push(exec_direct);
        launched.push(exec_launched);
        ratio.push(exec_launched / exec_direct);
    }
    report("spawn_exit_wait_us", &spawn);
    report("exec_direct_us", &direct);
    report("exec_launched_us", &launched);
    report("launcher_overhead_ratio", &ratio);

    let output = syscall::open(
        APPLET_OUTPUT,
        OpenFlags::CREATE | OpenFlags::TRUNCATE | OpenFlags::WRITE_ONLY,
        0o644,
    )
    .map_err(|errno| Failure(format!("open {}: {errno}", text(APPLET_OUTPUT))))?;
    let to_file = [FdMapping {
        child: 1,
        parent: output,
    }];
    let (mut linux, mut linux_ratio, mut applet) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..repetitions {
        // Linux and native alternate, one process each, as above.
        let (mut linux_total, mut native_total) = (0.0, 0.0);
        spawn_one(LINUX_NOP, &[b"linux-nop"])?;
        spawn_one(NOP, &[b"nop"])?;
        for _ in 0..SPAWN_BATCH {
            linux_total += spawn_one(LINUX_NOP, &[b"linux-nop"])?;
            native_total += spawn_one(NOP, &[b"nop"])?;
        }
        linux.push(linux_total / f64::from(SPAWN_BATCH));
        linux_ratio.push(linux_total / native_total);
        let mut applet_total = 0.0;
        spawn_with(APPLET, &[b"uname", b"-m"], &to_file)?;
        for _ in 0..SPAWN_BATCH {
            applet_total += spawn_with(APPLET, &[b"uname", b"-m"], &to_file)?;
        }
        applet.push(applet_total / f64::from(SPAWN_BATCH));
    }
    syscall::close(output).map_err(|errno| Failure(format!("close: {errno}")))?;
    report("linux_spawn_exit_wait_us", &linux);
    report("linux_vs_native_spawn_ratio", &linux_ratio);
    report("applet_launched_us", &applet);

    let size = syscall::status_at(CURRENT_DIRECTORY, file, 0)
        .map_err(|errno| Failure(format!("stat {}: {errno}", text(file))))?
        .size;
    let sectors = size.div_ceil(512);
    let (mut cold, mut warm, mut raw, mut file_vs_raw) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut buffer = vec![0u8; READ_CHUNK];
    for _ in 0..repetitions {
        syscall::benchmark(benchmark::DROP_CACHE, 0, 0)
            .map_err(|errno| Failure(format!("benchmark(DROP_CACHE): {errno}")))?;
        let cold_rate = read_file(file, size, &mut buffer)?;
        cold.push(cold_rate);
        warm.push(read_file(file, size, &mut buffer)?);
        let raw_rate = read_raw(first_sector, sectors)?;
        raw.push(raw_rate);
        file_vs_raw.push(cold_rate / raw_rate);
    }
    report("file_read_cold_mbps", &cold);
    report("file_read_warm_mbps", &warm);
    report("raw_read_mbps", &raw);
    report("file_vs_raw_ratio", &file_vs_raw);
    println!("bench: file_bytes {size}");
    if let Some(seed) = seed {
        check_contents(file, seed, &mut buffer)?;
        println!("bench: file_contents_checked 1");
    }

    let mut small = Vec::new();
    for _ in 0..repetitions {
        small.push(small_files()?);
    }
    report("small_files_ops_per_s", &small);
    Ok(())
}

/// `bench --writes REPETITIONS [MIB]`.
fn writes_main(arguments: &[&[u8]]) -> i32 {
    let number = |word: Option<&&[u8]>| -> Option<u32> {
        core::str::from_utf8(word?)
            .ok()?
            .parse::<u32>()
            .ok()
            .filter(|&count| count > 0)
    };
    let repetitions = number(arguments.first());
    let mebibytes = match arguments.get(1) {
        None => Some(WRITE_MIB),
        Some(word) => number(Some(word)),
    };
    let (Some(repetitions), Some(mebibytes), true) = (repetitions, mebibytes, arguments.len() <= 2)
    else {
        eprintln!("usage: bench --writes REPETITIONS [MIB]");
        return 2;
    };
    let run = || -> Result<(), Failure> {
        let (mut small, mut write) = (Vec::new(), Vec::new());
        for _ in 0..repetitions {
            small.push(small_files()?);
            write.push(write_file(mebibytes)?);
        }
        report("small_files_ops_per_s", &small);
        report("file_write_mbps", &write);
        Ok(())
    };
    match run() {
        Ok(()) => {
            println!("bench: done");
            0
        }
        Err(Failure(what)) => {
            eprintln!("bench: error: {what}");
            1
        }
    }
}

/// Writes a new file of `mebibytes` MiB in [`READ_CHUNK`] calls and
/// `fsync`s it; returns MB/s. The file is deleted after, untimed.
fn write_file(mebibytes: u32) -> Result<f64, Failure> {
    let chunk = vec![0x5a_u8; READ_CHUNK];
    let total = u64::from(mebibytes) << 20;
    let start = now();
    let fd = syscall::open(
        WRITE_FILE,
        OpenFlags::CREATE | OpenFlags::EXCLUSIVE | OpenFlags::WRITE_ONLY,
        0o644,
    )
    .map_err(|errno| Failure(format!("create {}: {errno}", text(WRITE_FILE))))?;
    let mut written = 0u64;
    while written < total {
        let count = (total - written).min(chunk.len() as u64) as usize;
        syscall::write_all(fd, &chunk[..count])
            .map_err(|errno| Failure(format!("write {}: {errno}", text(WRITE_FILE))))?;
        written += count as u64;
    }
    syscall::file_sync(fd)
        .map_err(|errno| Failure(format!("fsync {}: {errno}", text(WRITE_FILE))))?;
    syscall::close(fd).map_err(|errno| Failure(format!("close {}: {errno}", text(WRITE_FILE))))?;
    let elapsed = now() - start;
    syscall::unlink_at(CURRENT_DIRECTORY, WRITE_FILE)
        .map_err(|errno| Failure(format!("unlink {}: {errno}", text(WRITE_FILE))))?;
    syscall::sync().map_err(|errno| Failure(format!("sync: {errno}")))?;
    Ok(total as f64 / 1000.0 / elapsed.as_secs_f64() / 1000.0)
}

/// Prints one figure's values.
fn report(key: &str, values: &[f64]) {
    print!("bench: {key}");
    for value in values {
        print!(" {value:.3}");
    }
    println!();
}

fn now() -> Duration {
    syscall::clock_time(clock::MONOTONIC).unwrap_or_default()
}

fn nanos(duration: Duration) -> f64 {
    duration.as_nanos() as f64
}

fn text(bytes: &[u8]) -> &str {
    core::str::from_utf8(bytes).unwrap_or("?")
}

/// `bench --spawns COUNT PATH [ARG…]`: spawns PATH (`argv[0]` its last
/// component) COUNT times, one at a time, and prints nothing but `bench:
/// done` — a workload for profiling a spawn (docs/performance.md: a
/// boot with COUNT 0 subtracted from one with COUNT N).
fn spawns_main(arguments: &[&[u8]]) -> i32 {
    let (Some(count), Some(path)) = (
        arguments
            .first()
            .and_then(|word| core::str::from_utf8(word).ok())
            .and_then(|word| word.parse::<u32>().ok()),
        arguments.get(1),
    ) else {
        eprintln!("usage: bench --spawns COUNT PATH [ARG…]");
        return 2;
    };
    let name = path.rsplit(|&byte| byte == b'/').next().unwrap_or(path);
    let mut argv = vec![name];
    argv.extend_from_slice(&arguments[2..]);
    for _ in 0..count {
        if let Err(Failure(what)) = spawn_one(path, &argv) {
            eprintln!("bench: error: {what}");
            return 1;
        }
    }
    println!("bench: done");
    0
}

/// Spawns `path` with `arguments` [`SPAWN_BATCH`] times, one at a time,
/// waiting for each, after one untimed run; returns the mean microseconds
/// per process. Each must exit with status 0.
fn spawn_batch(path: &[u8], arguments: &[&[u8]]) -> Result<f64, Failure> {
    spawn_one(path, arguments)?;
    let mut total = 0.0;
    for _ in 0..SPAWN_BATCH {
        total += spawn_one(path, arguments)?;
    }
    Ok(total / f64::from(SPAWN_BATCH))
}

/// Spawns `path` with `arguments` and waits for it; returns the
/// microseconds it took. It must exit with status 0.
fn spawn_one(path: &[u8], arguments: &[&[u8]]) -> Result<f64, Failure> {
    spawn_with(path, arguments, &[])
}

/// [`spawn_one`], the child getting the descriptors `fds` maps.
fn spawn_with(path: &[u8], arguments: &[&[u8]], fds: &[FdMapping]) -> Result<f64, Failure> {
    let start = now();
    let pid = syscall::spawn(path, arguments, &[], fds)
        .map_err(|errno| Failure(format!("spawn {}: {errno}", text(path))))?;
    match syscall::wait(pid) {
        Ok((_, WaitStatus::Exited(0))) => Ok(nanos(now() - start) / 1000.0),
        Ok((_, status)) => Err(Failure(format!("{}: ended with {status:?}", text(path)))),
        Err(errno) => Err(Failure(format!("wait {}: {errno}", text(path)))),
    }
}

/// Reads `path` whole; returns MB/s. The bytes read must be `size`.
fn read_file(path: &[u8], size: u64, buffer: &mut [u8]) -> Result<f64, Failure> {
    let start = now();
    let fd = syscall::open(path, OpenFlags::empty(), 0)
        .map_err(|errno| Failure(format!("open {}: {errno}", text(path))))?;
    let mut total = 0u64;
    loop {
        match syscall::read(fd, buffer) {
            Ok(0) => break,
            Ok(count) => total += count as u64,
            Err(errno) => return Err(Failure(format!("read {}: {errno}", text(path)))),
        }
    }
    let _ = syscall::close(fd);
    let elapsed = now() - start;
    if total != size {
        return Err(Failure(format!(
            "read {} bytes of {}, not {size}",
            total,
            text(path)
        )));
    }
    Ok(total as f64 / 1000.0 / elapsed.as_secs_f64() / 1000.0)
}

/// Reads `path` whole once more and compares every byte with the xorshift
/// stream from `seed` that the host wrote it from.
fn check_contents(path: &[u8], seed: u64, buffer: &mut [u8]) -> Result<(), Failure> {
    let fd = syscall::open(path, OpenFlags::empty(), 0)
        .map_err(|errno| Failure(format!("open {}: {errno}", text(path))))?;
    let mut state = seed;
    let mut position = 0u64;
    loop {
        let count = match syscall::read(fd, buffer) {
            Ok(0) => break,
            Ok(count) => count,
            Err(errno) => return Err(Failure(format!("read {}: {errno}", text(path)))),
        };
        // Reads are whole words here (512 KiB calls of a file of words).
        for word in buffer[..count].chunks(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            if word != &state.to_le_bytes()[..word.len()] {
                let _ = syscall::close(fd);
                return Err(Failure(format!(
                    "{} differs from what the host wrote at byte {position}",
                    text(path)
                )));
            }
            position += word.len() as u64;
        }
    }
    let _ = syscall::close(fd);
    Ok(())
}

/// Reads `sectors` sectors raw from the root disk, from sector `first`;
/// returns MB/s.
fn read_raw(first: u64, sectors: u64) -> Result<f64, Failure> {
    let start = now();
    let mut done = 0;
    while done < sectors {
        let count = (sectors - done).min(benchmark::RAW_READ_MAX_SECTORS);
        let bytes = syscall::benchmark(benchmark::RAW_READ, first + done, count)
            .map_err(|errno| Failure(format!("benchmark(RAW_READ): {errno}")))?;
        if bytes != count * 512 {
            return Err(Failure(format!(
                "raw read of {count} sectors gave {bytes} bytes"
            )));
        }
        done += count;
    }
    let elapsed = now() - start;
    Ok((sectors * 512) as f64 / 1000.0 / elapsed.as_secs_f64() / 1000.0)
}

/// Creates, writes and closes [`SMALL_FILES`] files, deletes them and
/// syncs; returns files per second.
fn small_files() -> Result<f64, Failure> {
    match syscall::make_directory_at(CURRENT_DIRECTORY, SMALL_DIRECTORY, 0o755) {
        Ok(()) | Err(manux_runtime::Errno::Exists) => {}
        Err(errno) => return Err(Failure(format!("mkdir {}: {errno}", text(SMALL_DIRECTORY)))),
    }
    let data = [b'x'; SMALL_FILE_BYTES];
    let names: Vec<String> = (0..SMALL_FILES)
        .map(|index| format!("{}/f{index:04}", text(SMALL_DIRECTORY)))
        .collect();
    let start = now();
    for name in &names {
        let fd = syscall::open(
            name.as_bytes(),
            OpenFlags::CREATE | OpenFlags::EXCLUSIVE | OpenFlags::WRITE_ONLY,
            0o644,
        )
        .map_err(|errno| Failure(format!("create {name}: {errno}")))?;
        syscall::write_all(fd, &data).map_err(|errno| Failure(format!("write {name}: {errno}")))?;
        syscall::close(fd).map_err(|errno| Failure(format!("close {name}: {errno}")))?;
    }
    for name in &names {
        syscall::unlink_at(CURRENT_DIRECTORY, name.as_bytes())
            .map_err(|errno| Failure(format!("unlink {name}: {errno}")))?;
    }
    syscall::sync().map_err(|errno| Failure(format!("sync: {errno}")))?;
    let elapsed = now() - start;
    Ok(f64::from(SMALL_FILES) / elapsed.as_secs_f64())
}
