// SPDX-License-Identifier: MIT OR Apache-2.0
//! `crashload SEED RUN [STEP_MS]`: the guest half of `cargo xtask crash`.
//!
//! Run as the first process (`init=/bin/crashload SEED RUN`), it writes
//! files and directory trees in `/crash/run-RUN` forever, one step every
//! STEP_MS milliseconds (default 20), until the host kills the machine —
//! there is no normal end. The steps come from a generator seeded with SEED
//! and RUN, so a run can be repeated: create a file, append to it, write
//! over part of it, rewrite it whole (`O_TRUNC`), rename it (to a new name
//! or over another file), unlink it (also while it is open: it lives on as
//! an orphan that later steps write to and close), `mkdir`, `rmdir`,
//! rename a directory with what it holds, keep a file open. Phases of 30
//! to 150 steps alternate: in a durable phase about one step in seven
//! `fsync`s a file and the phase ends with a `sync`; a quiet phase makes
//! nothing durable, so a cut there measures what the kernel writes back
//! by itself (`commit=`).
//!
//! Everything it prints is for the host, on the console, one line per
//! event, each with `t=SECONDS` since the machine's reset
//! (`CLOCK_MONOTONIC`); paths are relative to the run directory:
//!
//! | line | printed |
//! |---|---|
//! | `crashload: start run RUN seed SEED dir /crash/run-RUN t=T` | once the run directory exists, before the first step |
//! | `crashload: op N t=T KIND [KEY=VALUE…] [PATH…]` | **before** step N changes anything: every PATH it may change (a directory stands for everything under it) |
//! | `crashload: durable K t=T fsync PATH LENGTH DIGEST` | **after** `fsync` of PATH returned success: PATH holds LENGTH bytes with that digest |
//! | `crashload: durable K t=T sync PATH LENGTH DIGEST` | after `sync` returned, one per file the run holds |
//! | `crashload: durable K t=T progress STEP` | after that `sync`: the progress log holds every record up to STEP |
//! | `crashload: durable K t=T synced COUNT files` | the end of that list: no other file of the run exists |
//! | `crashload: warning: …` | an old run could not be removed (not fatal) |
//! | `crashload: error: …` | a system call failed: the program ends with status 1, which powers the machine off |
//!
//! DIGEST is the 64-bit FNV-1a hash of the file's bytes, 16 hex digits.
//! A durable claim holds until a later `op` line names its path (or a
//! directory above it): from then on the file may be in its old state or
//! its new one. The console is written synchronously, so an `op` line the
//! host has not read is a step that changed nothing yet.
//!
//! Each step ends by appending a record `N SECONDS\n` to the run's
//! `progress` file (opened once, `O_APPEND`, never named in `op` lines):
//! after a cut, the last record that reached the disk says how much of the
//! work written but not yet `fsync`ed survived.
//!
//! Earlier runs' directories are removed one entry per step while the run
//! goes on, so a cut can land in the middle of removing a tree too. Nothing
//! the program keeps in memory matters after a cut: the next boot starts a
//! new run in a new directory.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;
// On the host, std supplies the panic handler and the allocator the
// runtime supplies on Manux, so `cargo clippy -p crashload` can check this
// program (it is never linked there).
#[cfg(not(target_os = "none"))]
extern crate std;

use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt::Write as _;
use core::time::Duration;
use coreutils_common::fs::list_directory;
use manux_runtime::abi::directory_entry::EntryKind;
use manux_runtime::abi::{clock, seek, OpenFlags, CURRENT_DIRECTORY};
use manux_runtime::syscall::{self, Fd};
use manux_runtime::{entry, eprintln, println, process, Errno};

entry!(main);

/// Where every run lives.
const TOP: &[u8] = b"/crash";
/// The most files a run holds at once.
const MAX_FILES: usize = 32;
/// The files most steps pick among: the most recently used. The others
/// are left alone for a while, so what was made durable stays checkable
/// while its neighbours (directory blocks, inode table blocks, bitmaps)
/// keep changing.
const HOT_FILES: usize = 6;
/// The largest a file grows (its bytes are kept in memory for the digest,
/// in a 1 MiB heap).
const MAX_FILE_BYTES: usize = 12 << 10;
/// The most directories besides the run directory itself.
const MAX_DIRECTORIES: usize = 4;
/// The most files kept open with a name.
const MAX_HELD: usize = 2;
/// The most open files without a name (unlinked while open).
const MAX_ORPHANS: usize = 3;
/// Steps in a phase: at least this many…
const PHASE_MIN: u64 = 30;
/// …and fewer than this many more.
const PHASE_SPREAD: u64 = 120;
/// The default pause between steps.
const DEFAULT_STEP_MS: u64 = 20;
/// The progress log's name in the run directory.
const PROGRESS: &[u8] = b"progress";

/// A failed system call: what was being done, to what, and why.
struct Failure(String);

fn main() -> i32 {
    let arguments = process::arguments();
    let number = |index: usize| -> Option<u64> {
        let word = core::str::from_utf8(arguments.get(index)?).ok()?;
        word.parse::<u64>().ok()
    };
    let (Some(seed), Some(run)) = (number(1), number(2)) else {
        eprintln!("usage: crashload SEED RUN [STEP_MS]");
        return 2;
    };
    let step_ms = match arguments.get(3) {
        None => DEFAULT_STEP_MS,
        Some(_) => match number(3) {
            Some(milliseconds) if milliseconds <= 10_000 => milliseconds,
            _ => {
                eprintln!("usage: crashload SEED RUN [STEP_MS]");
                return 2;
            }
        },
    };
    match Workload::start(seed, run) {
        Ok(mut workload) => {
            let pause = Duration::from_millis(step_ms);
            loop {
                if let Err(Failure(what)) = workload.step() {
                    println!("crashload: error: {what}");
                    return 1;
                }
                let _ = syscall::sleep(pause);
            }
        }
        Err(Failure(what)) => {
            println!("crashload: error: {what}");
            1
        }
    }
}

/// Seconds since the machine's reset, for the console lines.
fn now() -> Seconds {
    Seconds(syscall::clock_time(clock::MONOTONIC).unwrap_or_default())
}

/// A time printed as `S.mmm`.
#[derive(Clone, Copy)]
struct Seconds(Duration);

impl core::fmt::Display for Seconds {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            formatter,
            "{}.{:03}",
            self.0.as_secs(),
            self.0.subsec_millis()
        )
    }
}

/// Text of a path for messages (the workload's own names are ASCII).
fn text(bytes: &[u8]) -> &str {
    core::str::from_utf8(bytes).unwrap_or("?")
}

/// `directory/name`, or `name` when `directory` is the run directory
/// (empty).
fn join(directory: &[u8], name: &[u8]) -> Vec<u8> {
    let mut path = directory.to_vec();
    if !path.is_empty() {
        path.push(b'/');
    }
    path.extend_from_slice(name);
    path
}

/// Whether `path` is `directory` or lies under it.
fn is_within(path: &[u8], directory: &[u8]) -> bool {
    path == directory
        || (path.len() > directory.len()
            && path.starts_with(directory)
            && path[directory.len()] == b'/')
}

/// 64-bit FNV-1a: the digest the host recomputes (`xtask::crash`).
fn digest(bytes: &[u8]) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    for &byte in bytes {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// splitmix64: small, and the same sequence everywhere.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut value = self.0;
        value = (value ^ (value >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        value = (value ^ (value >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        value ^ (value >> 31)
    }

    /// A number in `0..bound` (0 when `bound` is 0).
    fn below(&mut self, bound: usize) -> usize {
        if bound == 0 {
            0
        } else {
            (self.next() % bound as u64) as usize
        }
    }

    /// `length` bytes: a line naming what they are for, then noise.
    fn bytes(&mut self, label: &str, length: usize) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(length);
        bytes.extend_from_slice(label.as_bytes());
        bytes.push(b'\n');
        while bytes.len() < length {
            bytes.extend_from_slice(&self.next().to_le_bytes());
        }
        bytes.truncate(length);
        bytes
    }
}

/// A file of the run with a name.
struct File {
    /// Its path in the run directory.
    path: Vec<u8>,
    /// What it holds, as written.
    content: Vec<u8>,
    /// A read-write descriptor kept open on it, if any.
    held: Option<Fd>,
}

/// The workload's state: the model of what the run directory holds.
struct Workload {
    /// `/crash/run-RUN`.
    directory: Vec<u8>,
    random: Random,
    files: Vec<File>,
    /// Directories of the run, relative; `""` (the run directory) first.
    directories: Vec<Vec<u8>>,
    /// Descriptors of files unlinked while open.
    orphans: Vec<Fd>,
    /// The next file or directory number (names are never reused).
    next_name: u32,
    /// Steps done.
    step: u64,
    /// Durable reports printed.
    durable: u64,
    /// Whether this phase is quiet: no `fsync`, no `sync`.
    quiet: bool,
    /// The step at which this phase ends.
    phase_end: u64,
    /// The progress log, open for appending.
    progress: Fd,
    /// Absolute paths of the old runs' entries, deepest first, with
    /// whether each is a directory: removed one per step.
    old_entries: Vec<(Vec<u8>, bool)>,
}

impl Workload {
    /// Makes `/crash` and the run directory, finds what earlier runs left,
    /// opens the progress log, and prints the `start` line.
    fn start(seed: u64, run: u64) -> Result<Workload, Failure> {
        make_directory_if_missing(TOP)?;
        let name = format!("run-{run}");
        let mut directory = TOP.to_vec();
        directory.push(b'/');
        directory.extend_from_slice(name.as_bytes());
        let mut old_entries = Vec::new();
        match list_directory(TOP) {
            Ok(listing) => {
                for entry in listing.iter() {
                    if entry.name == b"." || entry.name == b".." {
                        continue;
                    }
                    let mut path = TOP.to_vec();
                    path.push(b'/');
                    path.extend_from_slice(entry.name);
                    collect_tree(&path, entry.kind == EntryKind::Directory, &mut old_entries);
                }
            }
            Err(errno) => println!("crashload: warning: listing /crash: {errno}"),
        }
        // A run directory of this number from an earlier boot goes now, so
        // the new run starts empty.
        let (mine, old): (Vec<_>, Vec<_>) = old_entries
            .into_iter()
            .partition(|(path, _)| is_within(path, &directory));
        for (path, is_directory) in mine.into_iter().rev() {
            remove(&path, is_directory)?;
        }
        syscall::make_directory_at(CURRENT_DIRECTORY, &directory, 0o755)
            .map_err(|errno| Failure(format!("mkdir {}: {errno}", text(&directory))))?;
        let progress_path = {
            let mut path = directory.clone();
            path.push(b'/');
            path.extend_from_slice(PROGRESS);
            path
        };
        let progress = syscall::open(
            &progress_path,
            OpenFlags::WRITE_ONLY | OpenFlags::CREATE | OpenFlags::APPEND,
            0o644,
        )
        .map_err(|errno| Failure(format!("creating {}: {errno}", text(&progress_path))))?;
        let mut random = Random(seed ^ run.wrapping_mul(0xd6e8_feb8_6659_fd93));
        let quiet = random.below(2) == 0;
        let phase_end = PHASE_MIN + random.below(PHASE_SPREAD as usize) as u64;
        println!(
            "crashload: start run {run} seed {seed} dir {} t={}",
            text(&directory),
            now()
        );
        Ok(Workload {
            directory,
            random,
            files: Vec::new(),
            directories: vec![Vec::new()],
            orphans: Vec::new(),
            next_name: 1,
            step: 0,
            durable: 0,
            quiet,
            phase_end,
            progress,
            old_entries: old,
        })
    }

    /// The absolute path of `path` (relative to the run directory).
    fn absolute(&self, path: &[u8]) -> Vec<u8> {
        let mut absolute = self.directory.clone();
        if !path.is_empty() {
            absolute.push(b'/');
            absolute.extend_from_slice(path);
        }
        absolute
    }

    /// A fresh name: `f7`, `d8`.
    fn fresh_name(&mut self, prefix: char) -> Vec<u8> {
        let name = format!("{prefix}{}", self.next_name);
        self.next_name += 1;
        name.into_bytes()
    }

    /// Prints the `op` line of the step about to run.
    fn announce(&self, kind: &str, details: &[(&str, usize)], paths: &[&[u8]]) {
        let mut line = format!("crashload: op {} t={} {kind}", self.step + 1, now());
        for (key, value) in details {
            let _ = write!(line, " {key}={value}");
        }
        for path in paths {
            let _ = write!(line, " {}", text(path));
        }
        println!("{line}");
    }

    /// One step: maybe remove an old entry, one operation, the progress
    /// record, maybe `sync`.
    fn step(&mut self) -> Result<(), Failure> {
        if let Some((path, is_directory)) = self.old_entries.pop() {
            if let Err(Failure(what)) = remove(&path, is_directory) {
                println!("crashload: warning: {what}");
            }
        }
        // A young run creates more, so there are soon files enough for
        // many to stay untouched (and checkable) after they were made
        // durable.
        let young = self.files.len() < MAX_FILES / 2;
        match self.random.below(100) {
            0..=15 => self.create()?,
            16..=31 if young => self.create()?,
            16..=31 => self.append()?,
            32..=41 => self.write_inside()?,
            42..=47 => self.rewrite()?,
            48..=56 => self.rename_file()?,
            57..=63 => self.unlink()?,
            64..=67 => self.make_directory()?,
            68..=71 => self.remove_directory()?,
            72..=73 => self.rename_directory()?,
            74..=79 => self.hold_or_release()?,
            80..=85 => self.orphan_work()?,
            _ if self.quiet => self.append()?,
            _ => self.fsync_one()?,
        }
        self.step += 1;
        let record = format!("{} {}\n", self.step, now());
        syscall::write_all(self.progress, record.as_bytes())
            .map_err(|errno| Failure(format!("appending to the progress log: {errno}")))?;
        if self.step >= self.phase_end {
            if !self.quiet {
                self.sync_all()?;
            }
            self.quiet = !self.quiet;
            self.phase_end =
                self.step + PHASE_MIN + self.random.below(PHASE_SPREAD as usize) as u64;
        }
        Ok(())
    }

    /// Picks a file (there must be one), mostly among the [`HOT_FILES`]
    /// used last, and makes it the last used: `files` is kept in order of
    /// use. Returns its new index.
    fn pick_file(&mut self) -> usize {
        let count = self.files.len();
        let index = if count > HOT_FILES && self.random.below(4) != 0 {
            count - HOT_FILES + self.random.below(HOT_FILES)
        } else {
            self.random.below(count)
        };
        let file = self.files.remove(index);
        self.files.push(file);
        count - 1
    }

    fn pick_directory(&mut self) -> Vec<u8> {
        let index = self.random.below(self.directories.len());
        self.directories[index].clone()
    }

    /// Creates a new file of up to 4 KiB (or appends when the run is full).
    fn create(&mut self) -> Result<(), Failure> {
        if self.files.len() >= MAX_FILES {
            return self.append();
        }
        let directory = self.pick_directory();
        let name = self.fresh_name('f');
        let path = join(&directory, &name);
        let length = self.random.below(4097);
        let content = self.random.bytes(text(&path), length);
        self.announce("create", &[("bytes", length)], &[&path]);
        let absolute = self.absolute(&path);
        let flags = OpenFlags::WRITE_ONLY | OpenFlags::CREATE | OpenFlags::EXCLUSIVE;
        let fd = syscall::open(&absolute, flags, 0o644).map_err(|e| failed("create", &path, e))?;
        let written = syscall::write_all(fd, &content);
        let closed = syscall::close(fd);
        written.and(closed).map_err(|e| failed("write", &path, e))?;
        self.files.push(File {
            path,
            content,
            held: None,
        });
        Ok(())
    }

    /// Appends up to 2 KiB to a file (through its held descriptor if any).
    fn append(&mut self) -> Result<(), Failure> {
        if self.files.is_empty() {
            return self.create();
        }
        let index = self.pick_file();
        let room = MAX_FILE_BYTES.saturating_sub(self.files[index].content.len());
        if room == 0 {
            return self.rewrite_file(index);
        }
        let length = 1 + self.random.below(2048.min(room));
        let data = self.random.bytes("append", length);
        let path = self.files[index].path.clone();
        self.announce("append", &[("bytes", length)], &[&path]);
        match self.files[index].held {
            Some(fd) => {
                syscall::seek(fd, 0, seek::END).map_err(|e| failed("seek", &path, e))?;
                syscall::write_all(fd, &data).map_err(|e| failed("append", &path, e))?;
            }
            None => {
                let flags = OpenFlags::WRITE_ONLY | OpenFlags::APPEND;
                let fd = syscall::open(&self.absolute(&path), flags, 0)
                    .map_err(|e| failed("open", &path, e))?;
                let written = syscall::write_all(fd, &data);
                let closed = syscall::close(fd);
                written
                    .and(closed)
                    .map_err(|e| failed("append", &path, e))?;
            }
        }
        self.files[index].content.extend_from_slice(&data);
        Ok(())
    }

    /// Writes up to 2 KiB somewhere inside a file (or just past its end).
    fn write_inside(&mut self) -> Result<(), Failure> {
        if self.files.is_empty() {
            return self.create();
        }
        let index = self.pick_file();
        let size = self.files[index].content.len();
        let offset = self.random.below(size + 1).min(MAX_FILE_BYTES - 1);
        let length = 1 + self.random.below(2048.min(MAX_FILE_BYTES - offset));
        let data = self.random.bytes("write", length);
        let path = self.files[index].path.clone();
        self.announce("write", &[("offset", offset), ("bytes", length)], &[&path]);
        let (fd, opened) = match self.files[index].held {
            Some(fd) => (fd, false),
            None => (
                syscall::open(&self.absolute(&path), OpenFlags::WRITE_ONLY, 0)
                    .map_err(|e| failed("open", &path, e))?,
                true,
            ),
        };
        let written =
            syscall::seek(fd, offset as i64, seek::SET).and_then(|_| syscall::write_all(fd, &data));
        let closed = if opened { syscall::close(fd) } else { Ok(()) };
        written.and(closed).map_err(|e| failed("write", &path, e))?;
        let content = &mut self.files[index].content;
        if content.len() < offset + length {
            content.resize(offset + length, 0);
        }
        content[offset..offset + length].copy_from_slice(&data);
        Ok(())
    }

    /// Rewrites a random file whole.
    fn rewrite(&mut self) -> Result<(), Failure> {
        if self.files.is_empty() {
            return self.create();
        }
        let index = self.pick_file();
        self.rewrite_file(index)
    }

    /// Truncates file `index` (`O_TRUNC`) and writes up to 8 KiB.
    fn rewrite_file(&mut self, index: usize) -> Result<(), Failure> {
        let length = self.random.below(8193);
        let path = self.files[index].path.clone();
        let content = self.random.bytes(text(&path), length);
        self.announce("rewrite", &[("bytes", length)], &[&path]);
        let flags = OpenFlags::WRITE_ONLY | OpenFlags::TRUNCATE;
        let fd =
            syscall::open(&self.absolute(&path), flags, 0).map_err(|e| failed("open", &path, e))?;
        let written = syscall::write_all(fd, &content);
        let closed = syscall::close(fd);
        written
            .and(closed)
            .map_err(|e| failed("rewrite", &path, e))?;
        self.files[index].content = content;
        Ok(())
    }

    /// Renames a file to a new name, or over another file of the run.
    fn rename_file(&mut self) -> Result<(), Failure> {
        if self.files.is_empty() {
            return self.create();
        }
        let index = self.pick_file();
        let replace = self.files.len() > 1 && self.random.below(2) == 0;
        let target = if replace {
            let mut other = self.random.below(self.files.len() - 1);
            if other >= index {
                other += 1;
            }
            Some(other)
        } else {
            None
        };
        let source = self.files[index].path.clone();
        let destination = match target {
            Some(other) => self.files[other].path.clone(),
            None => {
                let directory = self.pick_directory();
                let name = self.fresh_name('f');
                join(&directory, &name)
            }
        };
        self.announce("rename", &[], &[&source, &destination]);
        syscall::rename_at(
            CURRENT_DIRECTORY,
            &self.absolute(&source),
            CURRENT_DIRECTORY,
            &self.absolute(&destination),
        )
        .map_err(|e| failed("rename", &source, e))?;
        if let Some(other) = target {
            let replaced = self.files.remove(other);
            if let Some(fd) = replaced.held {
                self.orphans.push(fd);
            }
        }
        if let Some(file) = self.files.iter_mut().find(|file| file.path == source) {
            file.path = destination;
        }
        Ok(())
    }

    /// Unlinks a file; one held open lives on as an orphan.
    fn unlink(&mut self) -> Result<(), Failure> {
        if self.files.is_empty() {
            return self.create();
        }
        // Prefer a held file: unlinking an open file is the case to test.
        let held: Vec<usize> = (0..self.files.len())
            .filter(|&index| self.files[index].held.is_some())
            .collect();
        let index =
            if !held.is_empty() && self.orphans.len() < MAX_ORPHANS && self.random.below(2) == 0 {
                held[self.random.below(held.len())]
            } else {
                self.pick_file()
            };
        let path = self.files[index].path.clone();
        self.announce("unlink", &[], &[&path]);
        syscall::unlink_at(CURRENT_DIRECTORY, &self.absolute(&path))
            .map_err(|e| failed("unlink", &path, e))?;
        let file = self.files.remove(index);
        if let Some(fd) = file.held {
            self.orphans.push(fd);
        }
        Ok(())
    }

    /// Makes a directory under one of the run's.
    fn make_directory(&mut self) -> Result<(), Failure> {
        if self.directories.len() > MAX_DIRECTORIES {
            return self.remove_directory();
        }
        let parent = self.pick_directory();
        let name = self.fresh_name('d');
        let path = join(&parent, &name);
        self.announce("mkdir", &[], &[&path]);
        syscall::make_directory_at(CURRENT_DIRECTORY, &self.absolute(&path), 0o755)
            .map_err(|e| failed("mkdir", &path, e))?;
        self.directories.push(path);
        Ok(())
    }

    /// Removes an empty directory; when none is empty, moves a file out
    /// of one first (a rename, a step of its own).
    fn remove_directory(&mut self) -> Result<(), Failure> {
        let empty: Vec<usize> = (1..self.directories.len())
            .filter(|&index| {
                let directory = &self.directories[index];
                !self
                    .files
                    .iter()
                    .any(|file| is_within(&file.path, directory))
                    && !self
                        .directories
                        .iter()
                        .any(|other| other != directory && is_within(other, directory))
            })
            .collect();
        if empty.is_empty() {
            if self.directories.len() > 1 {
                return self.move_file_up();
            }
            return self.make_directory();
        }
        let index = empty[self.random.below(empty.len())];
        let path = self.directories[index].clone();
        self.announce("rmdir", &[], &[&path]);
        syscall::remove_directory_at(CURRENT_DIRECTORY, &self.absolute(&path))
            .map_err(|e| failed("rmdir", &path, e))?;
        self.directories.remove(index);
        Ok(())
    }

    /// Moves a file that lives in a subdirectory to the run directory.
    fn move_file_up(&mut self) -> Result<(), Failure> {
        let nested: Vec<usize> = (0..self.files.len())
            .filter(|&index| self.files[index].path.contains(&b'/'))
            .collect();
        if nested.is_empty() {
            return self.create();
        }
        let index = nested[self.random.below(nested.len())];
        let source = self.files[index].path.clone();
        let name = self.fresh_name('f');
        self.announce("rename", &[], &[&source, &name]);
        syscall::rename_at(
            CURRENT_DIRECTORY,
            &self.absolute(&source),
            CURRENT_DIRECTORY,
            &self.absolute(&name),
        )
        .map_err(|e| failed("rename", &source, e))?;
        self.files[index].path = name;
        Ok(())
    }

    /// Renames a directory, with everything in it, under another one.
    fn rename_directory(&mut self) -> Result<(), Failure> {
        if self.directories.len() < 2 {
            return self.make_directory();
        }
        let index = 1 + self.random.below(self.directories.len() - 1);
        let source = self.directories[index].clone();
        let parents: Vec<Vec<u8>> = self
            .directories
            .iter()
            .filter(|directory| !is_within(directory, &source))
            .cloned()
            .collect();
        let parent = parents[self.random.below(parents.len())].clone();
        let name = self.fresh_name('d');
        let destination = join(&parent, &name);
        self.announce("rename-dir", &[], &[&source, &destination]);
        syscall::rename_at(
            CURRENT_DIRECTORY,
            &self.absolute(&source),
            CURRENT_DIRECTORY,
            &self.absolute(&destination),
        )
        .map_err(|e| failed("rename", &source, e))?;
        let moved = |path: &mut Vec<u8>| {
            if is_within(path, &source) {
                let mut new = destination.clone();
                new.extend_from_slice(&path[source.len()..]);
                *path = new;
            }
        };
        for directory in &mut self.directories {
            moved(directory);
        }
        for file in &mut self.files {
            moved(&mut file.path);
        }
        Ok(())
    }

    /// Opens a file and keeps it open, or closes one kept open. Neither
    /// changes what is on the disk: no `op` line.
    fn hold_or_release(&mut self) -> Result<(), Failure> {
        let held: Vec<usize> = (0..self.files.len())
            .filter(|&index| self.files[index].held.is_some())
            .collect();
        let free: Vec<usize> = (0..self.files.len())
            .filter(|&index| self.files[index].held.is_none())
            .collect();
        if !held.is_empty()
            && (held.len() >= MAX_HELD || free.is_empty() || self.random.below(2) == 0)
        {
            let index = held[self.random.below(held.len())];
            if let Some(fd) = self.files[index].held.take() {
                let path = self.files[index].path.clone();
                syscall::close(fd).map_err(|e| failed("close", &path, e))?;
            }
            return Ok(());
        }
        if free.is_empty() {
            return self.create();
        }
        let index = free[self.random.below(free.len())];
        let path = self.files[index].path.clone();
        let fd = syscall::open(&self.absolute(&path), OpenFlags::READ_WRITE, 0)
            .map_err(|e| failed("open", &path, e))?;
        self.files[index].held = Some(fd);
        Ok(())
    }

    /// Writes to a file unlinked while open, or closes one (the last
    /// holder: the file is freed).
    fn orphan_work(&mut self) -> Result<(), Failure> {
        if self.orphans.is_empty() {
            return self.append();
        }
        let index = self.random.below(self.orphans.len());
        let fd = self.orphans[index];
        if self.orphans.len() >= MAX_ORPHANS || self.random.below(3) == 0 {
            self.announce("close-orphan", &[], &[]);
            self.orphans.remove(index);
            return syscall::close(fd).map_err(|e| failed("close", b"(orphan)", e));
        }
        let length = 1 + self.random.below(4096);
        let data = self.random.bytes("orphan", length);
        self.announce("append-orphan", &[("bytes", length)], &[]);
        syscall::seek(fd, 0, seek::END)
            .and_then(|_| syscall::write_all(fd, &data))
            .map_err(|e| failed("append", b"(orphan)", e))
    }

    /// `fsync`s one file, then says it is durable.
    fn fsync_one(&mut self) -> Result<(), Failure> {
        if self.files.is_empty() {
            return self.create();
        }
        let index = self.pick_file();
        let path = self.files[index].path.clone();
        let (fd, opened) = match self.files[index].held {
            Some(fd) => (fd, false),
            None => (
                syscall::open(&self.absolute(&path), OpenFlags::empty(), 0)
                    .map_err(|e| failed("open", &path, e))?,
                true,
            ),
        };
        let synced = syscall::file_sync(fd);
        let closed = if opened { syscall::close(fd) } else { Ok(()) };
        synced.map_err(|e| failed("fsync", &path, e))?;
        closed.map_err(|e| failed("close", &path, e))?;
        self.durable += 1;
        let content = &self.files[index].content;
        println!(
            "crashload: durable {} t={} fsync {} {} {:016x}",
            self.durable,
            now(),
            text(&path),
            content.len(),
            digest(content)
        );
        Ok(())
    }

    /// `sync`s, then lists every file of the run as durable.
    fn sync_all(&mut self) -> Result<(), Failure> {
        syscall::sync().map_err(|errno| Failure(format!("sync: {errno}")))?;
        self.durable += 1;
        let time = now();
        for file in &self.files {
            println!(
                "crashload: durable {} t={time} sync {} {} {:016x}",
                self.durable,
                text(&file.path),
                file.content.len(),
                digest(&file.content)
            );
        }
        println!(
            "crashload: durable {} t={time} progress {}",
            self.durable, self.step
        );
        println!(
            "crashload: durable {} t={time} synced {} files",
            self.durable,
            self.files.len()
        );
        Ok(())
    }
}

/// The failure of `operation` on `path` (relative to the run).
fn failed(operation: &str, path: &[u8], errno: Errno) -> Failure {
    Failure(format!("{operation} {}: {errno}", text(path)))
}

/// `mkdir path`, where an existing directory is fine.
fn make_directory_if_missing(path: &[u8]) -> Result<(), Failure> {
    match syscall::make_directory_at(CURRENT_DIRECTORY, path, 0o755) {
        Ok(()) | Err(Errno::Exists) => Ok(()),
        Err(errno) => Err(Failure(format!("mkdir {}: {errno}", text(path)))),
    }
}

/// Adds `path` and, for a directory, everything under it to `entries`,
/// in an order whose reverse removes children before their directory
/// (`entries` is used as a stack). What cannot be listed is left for the
/// removal to report.
fn collect_tree(path: &[u8], is_directory: bool, entries: &mut Vec<(Vec<u8>, bool)>) {
    entries.push((path.to_vec(), is_directory));
    if !is_directory {
        return;
    }
    let listing = match list_directory(path) {
        Ok(listing) => listing,
        Err(errno) => {
            println!("crashload: warning: listing {}: {errno}", text(path));
            return;
        }
    };
    for entry in listing.iter() {
        if entry.name == b"." || entry.name == b".." {
            continue;
        }
        let mut child = path.to_vec();
        child.push(b'/');
        child.extend_from_slice(entry.name);
        collect_tree(&child, entry.kind == EntryKind::Directory, entries);
    }
}

/// Removes one entry of an old run (its children are gone already).
fn remove(path: &[u8], is_directory: bool) -> Result<(), Failure> {
    let result = if is_directory {
        syscall::remove_directory_at(CURRENT_DIRECTORY, path)
    } else {
        syscall::unlink_at(CURRENT_DIRECTORY, path)
    };
    match result {
        Ok(()) | Err(Errno::NotFound) => Ok(()),
        Err(errno) => Err(Failure(format!("removing {}: {errno}", text(path)))),
    }
}
