// SPDX-License-Identifier: MIT OR Apache-2.0
//! Power cuts in the guest: what `cargo xtask crash` and the guest test
//! `tests/tests/crash.rs` run.
//!
//! Each cut ([`run`]):
//!
//! 1. boots the disk with `commit=SECONDS init=/bin/crashload SEED RUN
//!    STEP_MS` (`apps/crashload`: files and directory trees written in a
//!    loop, `fsync` and `sync` now and then, each durable point printed);
//! 2. once the workload says `start`, waits a delay drawn uniformly from
//!    `0..window` (seeded), and kills QEMU (SIGKILL: no power-off, no
//!    sync; what the virtual disk acknowledged is in the image file, what
//!    the kernel still held in memory is gone);
//! 3. runs `ext2l check` on the image: clean, needs recovery (expected
//!    with a journal: the next mount replays it) or damaged;
//! 4. boots again with `init=/bin/nop`: the kernel mounts (replaying the
//!    journal, freeing orphans), `nop` exits, the kernel syncs and powers
//!    off; the power-off must be clean;
//! 5. runs `ext2l check` again: it must be clean;
//! 6. reads the volume ([`volume`]) and compares it with what the
//!    workload reported before the cut ([`console`]): every file reported
//!    durable (and not touched by a later step) must hold exactly the
//!    reported bytes, no file removed before the last `sync` may be back,
//!    the progress log must hold well-formed records up to the last
//!    `sync`'s step at least;
//! 7. measures the unsynced work lost: the guest time of the cut minus
//!    the time of the last progress record that reached the disk.
//!
//! The disk is kept from one cut to the next: each run works in a new
//! directory and removes the earlier runs' trees step by step, so later
//! cuts land on a volume that has been cut, recovered and re-used many
//! times — a journal that has wrapped, orphans freed at mount, blocks
//! freed and reused — and can land in the middle of removing a tree. A
//! cut after which the volume is not clean is kept (`cut-N.img`, the
//! first few) and the next cut starts from a fresh copy, so one failure
//! does not cascade. Every cut's console and checker output is kept in
//! `cut-N.log` in the work directory.

pub mod console;
pub mod volume;

use crate::qemu::{guest_status, Machine};
use anyhow::{Context, Result};
use console::{Line, Transcript, Via};
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};
use volume::{Found, Volume};

/// How long the workload may take to say `start` (boot, first mount).
const START_TIMEOUT: Duration = Duration::from_secs(120);
/// How long the recovery boot may take.
const RECOVERY_TIMEOUT: Duration = Duration::from_secs(120);
/// Damaged images kept for inspection, at most.
const KEPT_IMAGES: usize = 3;
/// The program the recovery boot runs: it exits at once.
const RECOVERY_INIT: &str = "/bin/nop";

/// What to run.
#[derive(Clone, Debug)]
pub struct Config {
    /// The machine: architecture, kernel, model, transport, RAM (its
    /// disks and command line are set for each boot).
    pub machine: Machine,
    /// The system image to start from (copied, never written).
    pub fresh_image: PathBuf,
    /// The `ext2l` host tool.
    pub ext2l: PathBuf,
    /// Where the working disk, logs and kept images go.
    pub directory: PathBuf,
    /// How many cuts.
    pub cuts: u32,
    /// Seeds the cut moments and the workload.
    pub seed: u64,
    /// `commit=SECONDS` on the kernel command line.
    pub commit_seconds: u32,
    /// Cuts fall uniformly within this long after the workload starts.
    pub window: Duration,
    /// The workload's pause between steps, in milliseconds.
    pub step_ms: u32,
}

/// What `ext2l check` said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Check {
    /// Exit 0.
    Clean,
    /// Exit 1: the journal needs replaying; the replayed volume is clean.
    NeedsRecovery,
    /// Exit 4 (or anything else): problems; the checker's last line.
    Damaged(String),
    /// Exit 2: the image could not be read or mounted.
    Unreadable(String),
}

impl Check {
    /// Whether the volume is damaged or unreadable.
    pub fn is_damage(&self) -> bool {
        matches!(self, Check::Damaged(_) | Check::Unreadable(_))
    }

    fn describe(&self) -> String {
        match self {
            Check::Clean => "clean".into(),
            Check::NeedsRecovery => "needs recovery".into(),
            Check::Damaged(why) => format!("damaged ({why})"),
            Check::Unreadable(why) => format!("unreadable ({why})"),
        }
    }
}

/// What one cut found.
#[derive(Clone, Debug)]
pub struct CutReport {
    /// 1-based.
    pub index: u32,
    /// Of how many.
    pub total: u32,
    /// How long after the workload's `start` the machine was killed.
    pub delay: Duration,
    /// Why the workload did not run until the cut, if it did not.
    pub workload_failure: Option<String>,
    /// `ext2l check` right after the cut.
    pub before: Check,
    /// The recovery boot: `Err` says how it failed.
    pub recovery: std::result::Result<(), String>,
    /// `ext2l check` after the recovery boot.
    pub after: Check,
    /// Durable claims compared with the volume (files, the progress log,
    /// the last `sync` list).
    pub checked: usize,
    /// Each claim the volume broke: a file reported durable that is
    /// missing or different, a removed file that is back, progress records
    /// lost.
    pub lost: Vec<String>,
    /// Bytes in an appended file that the workload never wrote (stale
    /// blocks exposed), if any.
    pub stale_data: Option<String>,
    /// Seconds of work lost: the cut minus the last progress record on
    /// the disk (guest clock).
    pub unsynced_lost: Option<f64>,
}

impl CutReport {
    /// Damaged before or after recovery, or stale data exposed.
    pub fn inconsistent(&self) -> bool {
        self.before.is_damage() || self.after.is_damage() || self.stale_data.is_some()
    }

    /// The recovery boot powered off cleanly and the volume checks clean.
    pub fn recovered(&self) -> bool {
        self.recovery.is_ok() && self.after == Check::Clean
    }

    /// The per-cut lines: `crash: cut I/N at S s: …`, then one indented
    /// line per problem.
    pub fn lines(&self) -> Vec<String> {
        let recovery = match &self.recovery {
            Ok(()) => "ok".to_string(),
            Err(why) => format!("FAILED ({why})"),
        };
        let unsynced = match self.unsynced_lost {
            Some(seconds) => format!("{seconds:.3} s"),
            None => "not measured".into(),
        };
        let mut lines = vec![format!(
            "crash: cut {}/{} at {:.3} s: before recovery {}, recovery boot {}, after {}; {} durable files checked, {} lost; unsynced work lost {}",
            self.index,
            self.total,
            self.delay.as_secs_f64(),
            self.before.describe(),
            recovery,
            self.after.describe(),
            self.checked,
            self.lost.len(),
            unsynced
        )];
        if let Some(why) = &self.workload_failure {
            lines.push(format!("crash:   workload: {why}"));
        }
        if let Some(what) = &self.stale_data {
            lines.push(format!("crash:   stale data: {what}"));
        }
        for what in &self.lost {
            lines.push(format!("crash:   lost: {what}"));
        }
        lines
    }

    /// Whether the next cut should start from a fresh image.
    fn spoilt(&self) -> bool {
        self.after != Check::Clean || self.workload_failure.is_some() || self.inconsistent()
    }
}

/// Every cut's report, and the counts.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    /// In order.
    pub reports: Vec<CutReport>,
}

impl Summary {
    /// Cuts made.
    pub fn cuts(&self) -> usize {
        self.reports.len()
    }

    /// Cuts after which the recovery boot was clean and the volume checked
    /// clean.
    pub fn recovered(&self) -> usize {
        self.reports.iter().filter(|r| r.recovered()).count()
    }

    /// Cuts that left a damaged volume (before or after recovery) or
    /// exposed stale data.
    pub fn inconsistent(&self) -> usize {
        self.reports.iter().filter(|r| r.inconsistent()).count()
    }

    /// Durable claims broken, over all cuts.
    pub fn fsynced_lost(&self) -> usize {
        self.reports.iter().map(|r| r.lost.len()).sum()
    }

    /// Cuts whose workload did not run until the cut.
    pub fn workload_failures(&self) -> usize {
        self.reports
            .iter()
            .filter(|r| r.workload_failure.is_some())
            .count()
    }

    /// Mean and maximum seconds of unsynced work lost, over the cuts that
    /// measured it.
    pub fn unsynced_lost(&self) -> Option<(f64, f64)> {
        let values: Vec<f64> = self
            .reports
            .iter()
            .filter_map(|r| r.unsynced_lost)
            .collect();
        if values.is_empty() {
            return None;
        }
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        let max = values.iter().copied().fold(0.0, f64::max);
        Some((mean, max))
    }

    /// Nothing inconsistent, nothing durable lost, every cut recovered,
    /// every workload ran.
    pub fn passed(&self) -> bool {
        self.inconsistent() == 0
            && self.fsynced_lost() == 0
            && self.recovered() == self.cuts()
            && self.workload_failures() == 0
    }

    /// The summary lines: the counts, what the checker saw before
    /// recovery, and the verdict (`crash: ok` or `crash: FAILED`).
    pub fn lines(&self) -> Vec<String> {
        let unsynced = match self.unsynced_lost() {
            Some((mean, max)) => format!("{mean:.3} s mean, {max:.3} s max"),
            None => "not measured".into(),
        };
        let count =
            |check: fn(&Check) -> bool| self.reports.iter().filter(|r| check(&r.before)).count();
        let checked: usize = self.reports.iter().map(|r| r.checked).sum();
        vec![
            format!(
                "crash: {} cuts, {} recovered, {} inconsistent, {} fsync'ed files lost, unsynced work lost {unsynced}",
                self.cuts(),
                self.recovered(),
                self.inconsistent(),
                self.fsynced_lost()
            ),
            format!(
                "crash: before recovery {} clean, {} needed recovery, {} damaged; {checked} durable files checked; {} workload failures",
                count(|c| *c == Check::Clean),
                count(|c| *c == Check::NeedsRecovery),
                count(Check::is_damage),
                self.workload_failures()
            ),
            if self.passed() {
                "crash: ok".to_string()
            } else {
                "crash: FAILED".to_string()
            },
        ]
    }
}

/// splitmix64, for the cut moments.
struct HostRandom(u64);

impl HostRandom {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut value = self.0;
        value = (value ^ (value >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        value = (value ^ (value >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        value ^ (value >> 31)
    }

    /// Uniform in `[0, 1)`.
    fn fraction(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Runs `config.cuts` cuts, handing each cut's lines to `print` as soon as
/// it is done.
///
/// Return values: the summary (failures of the file system are in it);
/// an error when the tool itself cannot go on (QEMU or `ext2l` do not
/// start, files cannot be written).
pub fn run(config: &Config, print: &mut dyn FnMut(&str)) -> Result<Summary> {
    std::fs::create_dir_all(&config.directory)
        .with_context(|| format!("creating {}", config.directory.display()))?;
    let disk = config.directory.join("disk.img");
    fresh_copy(config, &disk)?;
    let mut random = HostRandom(config.seed);
    let mut summary = Summary::default();
    let mut kept = 0;
    for index in 1..=config.cuts {
        let mut log = String::new();
        let report = cut(config, &disk, index, &mut random, &mut log)?;
        for line in report.lines() {
            print(&line);
        }
        let log_path = config.directory.join(format!("cut-{index}.log"));
        std::fs::write(&log_path, &log)
            .with_context(|| format!("writing {}", log_path.display()))?;
        if report.spoilt() {
            if kept < KEPT_IMAGES {
                let keep = config.directory.join(format!("cut-{index}.img"));
                std::fs::copy(&disk, &keep)
                    .with_context(|| format!("keeping {}", keep.display()))?;
                print(&format!("crash:   kept {}", keep.display()));
                kept += 1;
            }
            fresh_copy(config, &disk)?;
        }
        summary.reports.push(report);
    }
    Ok(summary)
}

/// Replaces `disk` with a copy of the fresh image.
fn fresh_copy(config: &Config, disk: &Path) -> Result<()> {
    std::fs::copy(&config.fresh_image, disk).with_context(|| {
        format!(
            "copying {} to {}",
            config.fresh_image.display(),
            disk.display()
        )
    })?;
    Ok(())
}

/// One cut: boot, kill, check, recover, check, compare.
fn cut(
    config: &Config,
    disk: &Path,
    index: u32,
    random: &mut HostRandom,
    log: &mut String,
) -> Result<CutReport> {
    let delay = config.window.mul_f64(random.fraction());
    let mut machine = config.machine.clone();
    machine.disks = vec![disk.to_path_buf()];
    machine.append = format!(
        "commit={} init=/bin/crashload {} {index} {}",
        config.commit_seconds, config.seed, config.step_ms
    );
    let _ = writeln!(log, "### cut {index}: {}", machine.command_line());
    let mut guest = Guest::start(&machine)?;
    let mut workload_failure = None;
    match guest.receive(Instant::now() + START_TIMEOUT, |line| {
        line.text.starts_with("crashload: start ")
    }) {
        Received::Found(at) => {
            let cut_at = guest.started + at + delay;
            if let Received::Exited(status) = guest.receive(cut_at, |_| false) {
                workload_failure = Some(format!(
                    "the machine powered off by itself before the cut (status {status:?})"
                ));
            }
        }
        Received::Exited(status) => {
            workload_failure = Some(format!(
                "the machine powered off before the workload started (status {status:?})"
            ))
        }
        Received::TimedOut => {
            workload_failure = Some(format!(
                "no `crashload: start` within {} s",
                START_TIMEOUT.as_secs()
            ))
        }
    }
    let cut_at = guest.kill();
    let lines = guest.finish(Duration::ZERO).lines;
    for line in &lines {
        let _ = writeln!(log, "{:9.3} {}", line.at.as_secs_f64(), line.text);
    }
    let transcript = Transcript::parse(&lines);
    if workload_failure.is_none() {
        if let Some(error) = transcript.errors.first() {
            workload_failure = Some(format!("crashload: error: {error}"));
        } else if let Some(line) = transcript.malformed.first() {
            workload_failure = Some(format!("a line the tool cannot read: {line:?}"));
        }
    }

    let before = check(&config.ext2l, disk, log)?;

    let mut recovery_machine = config.machine.clone();
    recovery_machine.disks = vec![disk.to_path_buf()];
    recovery_machine.append = format!("commit={} init={RECOVERY_INIT}", config.commit_seconds);
    let _ = writeln!(
        log,
        "### recovery boot: {}",
        recovery_machine.command_line()
    );
    let recovery_guest = Guest::start(&recovery_machine)?;
    let ended = recovery_guest.finish(RECOVERY_TIMEOUT);
    for line in &ended.lines {
        let _ = writeln!(log, "{:9.3} {}", line.at.as_secs_f64(), line.text);
    }
    let panicked = ended.lines.iter().any(|line| {
        let lower = line.text.to_lowercase();
        lower.contains("panic") || lower.contains("kernel bug")
    });
    let recovery = match ended.status {
        _ if panicked => Err("the kernel panicked".to_string()),
        Some(0) => Ok(()),
        Some(status) => Err(format!("exit status {status}")),
        None => Err(format!(
            "no power-off within {} s",
            RECOVERY_TIMEOUT.as_secs()
        )),
    };

    let after = check(&config.ext2l, disk, log)?;
    let mut report = CutReport {
        index,
        total: config.cuts,
        delay,
        workload_failure,
        before,
        recovery,
        after,
        checked: 0,
        lost: Vec::new(),
        stale_data: None,
        unsynced_lost: None,
    };
    compare(disk, &transcript, cut_at, &mut report);
    Ok(report)
}

/// Compares the volume with the workload's claims, and measures the work
/// lost (step 6 and 7 of the module doc).
fn compare(disk: &Path, transcript: &Transcript, cut_at: Duration, report: &mut CutReport) {
    let Some(start) = &transcript.start else {
        return;
    };
    let cut_guest = transcript.guest_time(cut_at);
    let mut volume = match Volume::open(disk) {
        Ok(volume) => volume,
        Err(error) => {
            report.checked = transcript.claims.len();
            report.lost.push(format!(
                "every durable file: the volume cannot be read: {error:#}"
            ));
            return;
        }
    };
    let absolute = |path: &str| format!("{}/{path}", start.directory);
    for (path, claim) in &transcript.claims {
        report.checked += 1;
        let how = match claim.via {
            Via::Fsync => "fsync'ed",
            Via::Sync => "synced",
        };
        let problem = match volume.read(&absolute(path)) {
            Found::File(bytes) => {
                if bytes.len() as u64 == claim.length && console::digest(&bytes) == claim.digest {
                    None
                } else {
                    Some(format!(
                        "holds {} bytes (digest {:016x})",
                        bytes.len(),
                        console::digest(&bytes)
                    ))
                }
            }
            Found::Missing => Some("missing".into()),
            Found::NotAFile => Some("not a regular file".into()),
            Found::Unreadable(why) => Some(format!("unreadable: {why}")),
        };
        if let Some(problem) = problem {
            report.lost.push(format!(
                "{path}: {problem}; {how} at {:.3} s with {} bytes (digest {:016x})",
                claim.time, claim.length, claim.digest
            ));
        }
    }
    if transcript.listing.is_some() {
        report.checked += 1;
        match volume.files_under(&start.directory) {
            Ok(files) => {
                for path in files {
                    if path != "progress" && !transcript.may_exist(&path) {
                        report.lost.push(format!(
                            "{path}: exists, but was removed before the last sync"
                        ));
                    }
                }
            }
            Err(error) => report
                .lost
                .push(format!("the run directory cannot be listed: {error:#}")),
        }
    }
    let progress = match volume.read(&absolute("progress")) {
        Found::File(bytes) => read_progress(&bytes),
        _ => Progress::default(),
    };
    if let Some(what) = progress.garbled {
        report.stale_data = Some(format!("progress log: {what}"));
    }
    if let Some(step) = transcript.progress_step {
        report.checked += 1;
        let on_disk = progress.last.map_or(0, |(step, _)| step);
        if on_disk < step {
            report.lost.push(format!(
                "progress: steps up to {step} were synced, the log holds {on_disk}"
            ));
        }
    }
    let last_durable_work = progress.last.map_or(start.time, |(_, time)| time);
    report.unsynced_lost = cut_guest.map(|cut| (cut - last_durable_work).max(0.0));
}

/// The progress log, read.
#[derive(Debug, Default, PartialEq)]
struct Progress {
    /// The last well-formed record: step and guest seconds.
    last: Option<(u64, f64)>,
    /// What is wrong after it, if anything.
    garbled: Option<String>,
}

/// Reads the records `STEP SECONDS\n`, steps counting from 1.
fn read_progress(bytes: &[u8]) -> Progress {
    let mut progress = Progress::default();
    let mut rest = bytes;
    let mut expected = 1u64;
    while !rest.is_empty() {
        let Some(end) = rest.iter().position(|&byte| byte == b'\n') else {
            progress.garbled = Some(format!(
                "ends with {} bytes that are not a whole record",
                rest.len()
            ));
            break;
        };
        let record = std::str::from_utf8(&rest[..end]).ok().and_then(|text| {
            let (step, time) = text.split_once(' ')?;
            Some((step.parse::<u64>().ok()?, time.parse::<f64>().ok()?))
        });
        match record {
            Some((step, time)) if step == expected => progress.last = Some((step, time)),
            _ => {
                let shown: String = String::from_utf8_lossy(&rest[..end.min(24)])
                    .chars()
                    .map(|c| if c.is_control() { '.' } else { c })
                    .collect();
                progress.garbled = Some(format!(
                    "record {expected} is {shown:?} ({} bytes to the end)",
                    rest.len()
                ));
                break;
            }
        }
        expected += 1;
        rest = &rest[end + 1..];
    }
    progress
}

/// Runs `ext2l check IMAGE`, logging what it printed.
fn check(ext2l: &Path, image: &Path, log: &mut String) -> Result<Check> {
    let output = Command::new(ext2l)
        .arg("check")
        .arg(image)
        .output()
        .with_context(|| format!("running {} check", ext2l.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let _ = writeln!(
        log,
        "### ext2l check: {:?}\n{stdout}{stderr}",
        output.status.code()
    );
    // `ext2l: check: IMAGE: N problems` (or why it could not read it) is
    // its last word on standard error; the problems come first on
    // standard output, the first one says most.
    let verdict = stderr
        .lines()
        .rfind(|line| !line.trim().is_empty())
        .unwrap_or("")
        .trim();
    let verdict = verdict
        .rsplit_once(": ")
        .map_or(verdict, |(_, last)| last)
        .to_string();
    let first: String = stdout
        .lines()
        .next()
        .unwrap_or("")
        .chars()
        .take(200)
        .collect();
    Ok(match output.status.code() {
        Some(0) => Check::Clean,
        Some(1) => Check::NeedsRecovery,
        Some(2) => Check::Unreadable(verdict),
        _ => Check::Damaged(format!("{verdict}; first: {first}")),
    })
}

/// How waiting for a line ended.
enum Received {
    /// A line matched; when it arrived (since QEMU started).
    Found(Duration),
    /// QEMU exited, with the guest's status if it has one.
    Exited(Option<i32>),
    /// The deadline passed.
    TimedOut,
}

/// A booted machine whose console lines are collected by two threads.
struct Guest {
    child: Child,
    arch: crate::Arch,
    started: Instant,
    receiver: mpsc::Receiver<Line>,
    lines: Vec<Line>,
    // Kept open: QEMU's console reads its standard input.
    _stdin: Option<ChildStdin>,
}

/// A machine that has ended.
struct Ended {
    lines: Vec<Line>,
    status: Option<i32>,
}

impl Guest {
    fn start(machine: &Machine) -> Result<Guest> {
        let mut command = machine.command();
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().context("starting QEMU")?;
        let started = Instant::now();
        let stdin = child.stdin.take();
        let (sender, receiver) = mpsc::channel::<Line>();
        let streams: [Box<dyn Read + Send>; 2] = [
            Box::new(child.stdout.take().context("QEMU stdout")?),
            Box::new(child.stderr.take().context("QEMU stderr")?),
        ];
        for stream in streams {
            let sender = sender.clone();
            thread::spawn(move || {
                let mut reader = BufReader::new(stream);
                let mut buffer = Vec::new();
                loop {
                    buffer.clear();
                    match reader.read_until(b'\n', &mut buffer) {
                        Ok(0) | Err(_) => break,
                        Ok(_) => {
                            let complete = buffer.ends_with(b"\n");
                            let text = String::from_utf8_lossy(&buffer)
                                .replace('\r', "")
                                .trim_end_matches('\n')
                                .to_string();
                            let line = Line {
                                at: started.elapsed(),
                                text,
                                complete,
                            };
                            if sender.send(line).is_err() {
                                break;
                            }
                        }
                    }
                }
            });
        }
        Ok(Guest {
            child,
            arch: machine.arch,
            started,
            receiver,
            lines: Vec::new(),
            _stdin: stdin,
        })
    }

    /// Collects lines until one satisfies `wanted`, QEMU exits, or
    /// `deadline`.
    fn receive(&mut self, deadline: Instant, mut wanted: impl FnMut(&Line) -> bool) -> Received {
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                self.drain(Duration::from_secs(1));
                return Received::Exited(status.code().map(|code| guest_status(self.arch, code)));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Received::TimedOut;
            }
            match self
                .receiver
                .recv_timeout(left.min(Duration::from_millis(10)))
            {
                Ok(line) => {
                    let found = wanted(&line).then_some(line.at);
                    self.lines.push(line);
                    if let Some(at) = found {
                        return Received::Found(at);
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    thread::sleep(left.min(Duration::from_millis(10)))
                }
            }
        }
    }

    /// Collects what the reader threads still have, until they end or
    /// `limit` passes.
    fn drain(&mut self, limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.receiver.recv_timeout(left) {
                Ok(line) => self.lines.push(line),
                Err(_) => break,
            }
        }
    }

    /// Kills QEMU (SIGKILL): the power cut. Returns when, since the start.
    fn kill(&mut self) -> Duration {
        let at = self.started.elapsed();
        let _ = self.child.kill();
        let _ = self.child.wait();
        at
    }

    /// Waits up to `timeout` for QEMU to exit (killing it then), and
    /// collects every line.
    fn finish(mut self, timeout: Duration) -> Ended {
        let status = match self.receive(Instant::now() + timeout, |_| false) {
            Received::Exited(status) => status,
            _ => {
                self.kill();
                None
            }
        };
        self.drain(Duration::from_secs(2));
        Ended {
            lines: self.lines,
            status,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> CutReport {
        CutReport {
            index: 3,
            total: 20,
            delay: Duration::from_millis(2841),
            workload_failure: None,
            before: Check::NeedsRecovery,
            recovery: Ok(()),
            after: Check::Clean,
            checked: 14,
            lost: Vec::new(),
            stale_data: None,
            unsynced_lost: Some(0.2124),
        }
    }

    #[test]
    fn a_clean_cut_is_one_line() {
        assert_eq!(
            report().lines(),
            ["crash: cut 3/20 at 2.841 s: before recovery needs recovery, recovery boot ok, after clean; 14 durable files checked, 0 lost; unsynced work lost 0.212 s"]
        );
        assert!(report().recovered() && !report().inconsistent());
    }

    #[test]
    fn problems_follow_their_cut() {
        let mut bad = report();
        bad.before = Check::Damaged("check: disk.img: 4 problems".into());
        bad.after = Check::Damaged("check: disk.img: 5 problems".into());
        bad.lost
            .push("f3: missing; fsync'ed at 1.000 s with 4 bytes".into());
        bad.stale_data = Some("progress log: ends with 3 bytes".into());
        let lines = bad.lines();
        assert!(lines[0].contains(
            "before recovery damaged (check: disk.img: 4 problems), recovery boot ok, after damaged"
        ));
        assert!(lines[0].contains("1 lost"));
        assert_eq!(
            lines[1],
            "crash:   stale data: progress log: ends with 3 bytes"
        );
        assert_eq!(
            lines[2],
            "crash:   lost: f3: missing; fsync'ed at 1.000 s with 4 bytes"
        );
        assert!(bad.inconsistent() && !bad.recovered());
    }

    #[test]
    fn the_summary_counts_and_judges() {
        let mut summary = Summary {
            reports: vec![report(), report()],
        };
        summary.reports[1].unsynced_lost = Some(1.5);
        assert_eq!(
            summary.lines(),
            [
                "crash: 2 cuts, 2 recovered, 0 inconsistent, 0 fsync'ed files lost, unsynced work lost 0.856 s mean, 1.500 s max",
                "crash: before recovery 0 clean, 2 needed recovery, 0 damaged; 28 durable files checked; 0 workload failures",
                "crash: ok",
            ]
        );
        summary.reports[1].after = Check::NeedsRecovery;
        summary.reports[0].lost.push("f1: missing".into());
        let lines = summary.lines();
        assert!(lines[0]
            .starts_with("crash: 2 cuts, 1 recovered, 0 inconsistent, 1 fsync'ed files lost"));
        assert_eq!(lines[2], "crash: FAILED");
    }

    #[test]
    fn progress_records_are_read_strictly() {
        assert_eq!(read_progress(b""), Progress::default());
        let good = read_progress(b"1 0.500\n2 0.520\n3 0.541\n");
        assert_eq!(good.last, Some((3, 0.541)));
        assert_eq!(good.garbled, None);
        let torn = read_progress(b"1 0.500\n2 0.5");
        assert_eq!(torn.last, Some((1, 0.5)));
        assert!(torn.garbled.unwrap().contains("not a whole record"));
        let zeros = read_progress(b"1 0.500\n\0\0\0\0\0\0\n");
        assert_eq!(zeros.last, Some((1, 0.5)));
        assert!(zeros.garbled.unwrap().contains("record 2"));
        let skipped = read_progress(b"1 0.500\n3 0.520\n");
        assert!(skipped.garbled.is_some());
    }

    #[test]
    fn cut_moments_are_uniform_and_repeatable() {
        let mut first = HostRandom(7);
        let mut second = HostRandom(7);
        let values: Vec<f64> = (0..1000).map(|_| first.fraction()).collect();
        assert!(values.iter().all(|v| (0.0..1.0).contains(v)));
        assert!(values.iter().any(|v| *v < 0.1) && values.iter().any(|v| *v > 0.9));
        assert_eq!(values[0], second.fraction());
    }
}
