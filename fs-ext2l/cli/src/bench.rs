// SPDX-License-Identifier: MIT OR Apache-2.0
//! `ext2l bench`: the time of `put` + `get` of a large file against `cp`.
//!
//! The target is that copying a file into an image and back out
//! costs at most twice one host `cp` of it. The benchmark makes one file of
//! pseudo-random bytes, then runs rounds; each round times, as separate
//! processes (so process start, mount and sync are all counted):
//!
//! - the host's `cp` of the file to a fresh name,
//! - this very executable's `put` of it into a fresh 4 KiB-block image
//!   three times the file's size (made by `mkfs`, not timed),
//! - and its `get` back out to a fresh host file.
//!
//! `cp` and `put` read the same cached source: it is read through (not
//! timed) right before each of them. After each timed step its output is
//! flushed to disk (`fsync`, not timed), so no step pays for the write-back
//! of another's dirty pages. Odd rounds run `cp` after `put` and `get` instead
//! of before, so a drift of the machine's speed favours neither. Each round
//! gives the ratio `(put + get) / cp` of its own timings; a first round
//! is a warm-up and not counted; the median ratio over the counted rounds is
//! the result. The copy out is compared with the original every round.

use crate::output::say;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::{Failure, Outcome};

/// Runs a command and returns how long it took.
fn timed(command: &mut Command) -> Result<Duration, Failure> {
    let started = Instant::now();
    let status = command
        .status()
        .map_err(|error| Failure::operation(format!("bench: cannot run {command:?}: {error}")))?;
    let elapsed = started.elapsed();
    if !status.success() {
        return Err(Failure::operation(format!(
            "bench: {command:?} failed with {status}"
        )));
    }
    Ok(elapsed)
}

/// A failure about a scratch file.
fn scratch_error(path: &Path, error: std::io::Error) -> Failure {
    Failure::operation(format!("bench: {}: {error}", path.display()))
}

/// Flushes a file written by a timed step to disk, so the next step does
/// not share the machine with its write-back.
fn settle(path: &Path) -> Result<(), Failure> {
    File::open(path)
        .and_then(|file| file.sync_all())
        .map_err(|error| scratch_error(path, error))
}

/// Reads `path` through, so a step that reads it finds every page cached
/// (this machine's page cache also loses idle pages over time).
fn warm(path: &Path) -> Result<(), Failure> {
    File::open(path)
        .and_then(|mut file| std::io::copy(&mut file, &mut std::io::sink()))
        .map(|_| ())
        .map_err(|error| scratch_error(path, error))
}

/// Removes a file left by the previous round (absent is fine).
fn discard(path: &Path) -> Result<(), Failure> {
    match std::fs::remove_file(path) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
            Err(scratch_error(path, error))
        }
        _ => Ok(()),
    }
}

/// Writes `size` pseudo-random bytes (xorshift64*; incompressible enough
/// that no layer below can shortcut the copy).
fn make_source(path: &Path, size: u64) -> Result<(), Failure> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut data = Vec::with_capacity(size as usize);
    while (data.len() as u64) < size {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        data.extend_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    data.truncate(size as usize);
    std::fs::write(path, &data).map_err(|error| scratch_error(path, error))?;
    settle(path)
}

/// The timings of one round.
#[derive(Clone, Copy, Debug)]
struct Round {
    copy: Duration,
    put: Duration,
    get: Duration,
}

impl Round {
    fn ratio(&self) -> f64 {
        (self.put + self.get).as_secs_f64() / self.copy.as_secs_f64().max(1e-9)
    }
}

/// The median of `values` (the mean of the middle two for an even count).
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    match values.len() {
        0 => 0.0,
        length if length % 2 == 1 => values[middle],
        _ => (values[middle - 1] + values[middle]) / 2.0,
    }
}

/// `ext2l bench [--size-mib N] [--dir DIR] [--runs N]`.
pub fn bench(size_mib: u64, directory: Option<&Path>, runs: u32) -> Outcome {
    let size = size_mib
        .checked_mul(1 << 20)
        .filter(|&size| size > 0)
        .ok_or_else(|| Failure::usage("bench: bad size"))?;
    let runs = runs.max(1);
    let executable =
        std::env::current_exe().map_err(|error| Failure::operation(format!("bench: {error}")))?;
    let scratch: PathBuf = directory
        .map(Path::to_path_buf)
        .unwrap_or_else(std::env::temp_dir)
        .join(format!("ext2l-bench-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).map_err(|error| scratch_error(&scratch, error))?;
    let result = run_rounds(&executable, &scratch, size, runs);
    let _ = std::fs::remove_dir_all(&scratch);
    let rounds = result?;
    let seconds = |pick: fn(&Round) -> Duration| {
        median(
            rounds
                .iter()
                .map(|round| pick(round).as_secs_f64())
                .collect(),
        )
    };
    let ratios: Vec<f64> = rounds.iter().map(Round::ratio).collect();
    let lowest = ratios.iter().copied().fold(f64::INFINITY, f64::min);
    let highest = ratios.iter().copied().fold(0.0, f64::max);
    let ratio = median(ratios);
    say!(
        "ext2l bench: {size_mib} MiB file, 4096-byte blocks, median of {runs} rounds (after 1 warm-up)"
    );
    say!("  host cp        {:>8.3} s", seconds(|round| round.copy));
    say!("  ext2l put      {:>8.3} s", seconds(|round| round.put));
    say!("  ext2l get      {:>8.3} s", seconds(|round| round.get));
    say!(
        "  put + get      {:>8.3} s",
        seconds(|round| round.put + round.get)
    );
    say!(
        "  (put + get) / cp, round by round: median {ratio:.2} (min {lowest:.2}, max {highest:.2}); target ≤ 2: {}",
        if ratio <= 2.0 { "met" } else { "missed" }
    );
    Ok(())
}

/// Runs one warm-up round and `runs` counted ones.
fn run_rounds(
    executable: &Path,
    scratch: &Path,
    size: u64,
    runs: u32,
) -> Result<Vec<Round>, Failure> {
    let source = scratch.join("source");
    make_source(&source, size)?;
    let image = scratch.join("image");
    let copy_target = scratch.join("copy");
    let output = scratch.join("output");
    let image_size = format!("{}", size.saturating_mul(3).max(16 << 20));
    let original = std::fs::read(&source).map_err(|error| scratch_error(&source, error))?;
    let mut rounds = Vec::new();
    for round in 0..=runs {
        discard(&copy_target)?;
        discard(&image)?;
        discard(&output)?;
        timed(
            Command::new(executable)
                .args([
                    "mkfs",
                    "--ext2l",
                    "off",
                    "-b",
                    "4096",
                    "--size",
                    &image_size,
                ])
                .arg(&image),
        )?;
        settle(&image)?;
        let cp = |copy_target: &Path| -> Result<Duration, Failure> {
            warm(&source)?;
            let copy = timed(Command::new("cp").arg(&source).arg(copy_target))?;
            settle(copy_target)?;
            Ok(copy)
        };
        let copy_first = round % 2 == 0;
        let early_copy = if copy_first {
            Some(cp(&copy_target)?)
        } else {
            None
        };
        warm(&source)?;
        let put = timed(
            Command::new(executable)
                .arg("put")
                .arg(&image)
                .arg(&source)
                .arg("/big"),
        )?;
        settle(&image)?;
        let get = timed(
            Command::new(executable)
                .arg("get")
                .arg(&image)
                .arg("/big")
                .arg(&output),
        )?;
        settle(&output)?;
        let copy = match early_copy {
            Some(copy) => copy,
            None => cp(&copy_target)?,
        };
        let read_back = std::fs::read(&output).map_err(|error| scratch_error(&output, error))?;
        if read_back != original {
            return Err(Failure::operation(
                "bench: the file read back differs from the original",
            ));
        }
        let timings = Round { copy, put, get };
        say!(
            "  round {round}{}: cp {:.3} s, put {:.3} s, get {:.3} s, ratio {:.2}",
            if round == 0 { " (warm-up)" } else { "" },
            copy.as_secs_f64(),
            put.as_secs_f64(),
            get.as_secs_f64(),
            timings.ratio()
        );
        if round > 0 {
            rounds.push(timings);
        }
    }
    Ok(rounds)
}
