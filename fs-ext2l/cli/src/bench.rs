// SPDX-License-Identifier: MIT OR Apache-2.0
//! `ext2l bench`: the time of `put` + `get` of a large file against `cp`.
//!
//! The target is that copying a file into an image and back out
//! costs at most twice one host `cp` of it. The benchmark makes a file of
//! pseudo-random bytes, then for each of `runs` rounds: copies it with the
//! host's `cp` to a fresh name, makes a fresh 4 KiB-block image three times
//! the file's size, and runs this very executable's `put` and `get` on it as
//! separate processes (so process start, mount and sync are all counted).
//! The best time of each step is kept, since the slower runs only measure
//! interference. The copy out is compared with the original.

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
    std::fs::write(path, &data)
        .map_err(|error| Failure::operation(format!("bench: {}: {error}", path.display())))
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
    std::fs::create_dir_all(&scratch)
        .map_err(|error| Failure::operation(format!("bench: {}: {error}", scratch.display())))?;
    let result = run_rounds(&executable, &scratch, size, runs);
    let _ = std::fs::remove_dir_all(&scratch);
    let (copy, put, get) = result?;
    let ratio = (put + get).as_secs_f64() / copy.as_secs_f64().max(1e-9);
    println!("ext2l bench: {size_mib} MiB file, 4096-byte blocks, best of {runs} runs");
    println!("  host cp        {:>8.3} s", copy.as_secs_f64());
    println!("  ext2l put      {:>8.3} s", put.as_secs_f64());
    println!("  ext2l get      {:>8.3} s", get.as_secs_f64());
    println!(
        "  put + get      {:>8.3} s  = {ratio:.2} × cp (target ≤ 2 ×: {})",
        (put + get).as_secs_f64(),
        if ratio <= 2.0 { "met" } else { "missed" }
    );
    Ok(())
}

fn run_rounds(
    executable: &Path,
    scratch: &Path,
    size: u64,
    runs: u32,
) -> Result<(Duration, Duration, Duration), Failure> {
    let source = scratch.join("source");
    make_source(&source, size)?;
    let image = scratch.join("image");
    let copy_target = scratch.join("copy");
    let output = scratch.join("output");
    let mut best = (Duration::MAX, Duration::MAX, Duration::MAX);
    let image_size = format!("{}", size.saturating_mul(3).max(16 << 20));
    for _ in 0..runs {
        let _ = std::fs::remove_file(&copy_target);
        let copy = timed(Command::new("cp").arg(&source).arg(&copy_target))?;
        let _ = std::fs::remove_file(&image);
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
        let put = timed(
            Command::new(executable)
                .arg("put")
                .arg(&image)
                .arg(&source)
                .arg("/big"),
        )?;
        let _ = std::fs::remove_file(&output);
        let get = timed(
            Command::new(executable)
                .arg("get")
                .arg(&image)
                .arg("/big")
                .arg(&output),
        )?;
        let same = std::fs::read(&source).ok() == std::fs::read(&output).ok();
        if !same {
            return Err(Failure::operation(
                "bench: the file read back differs from the original",
            ));
        }
        best = (best.0.min(copy), best.1.min(put), best.2.min(get));
    }
    Ok(best)
}
