// SPDX-License-Identifier: MIT OR Apache-2.0
//! What the workload said before the cut: its console lines, read.
//!
//! `apps/crashload` prints a `start` line, an `op` line before each step
//! that changes something (with every path it may change), and `durable`
//! lines after each `fsync` and `sync` returned (its module doc has the
//! table). [`Transcript::parse`] replays them in order and keeps:
//!
//! - the **claims that still stand** at the cut: path → length and digest,
//!   from `fsync` and `sync` reports, minus every path a later `op` line
//!   named (a directory named stands for all it holds): those files may be
//!   in their old or new state, and are not checked;
//! - the **last complete `sync` list** and the paths named since: a file
//!   of the run that is in neither must not exist (its removal was synced);
//! - the **progress step** the last `sync` made durable;
//! - the guest clock against the host's: each line carries `t=` (guest
//!   seconds since reset) and the host instant it arrived, so the smallest
//!   difference maps the host's cut to the guest's clock.
//!
//! Lines that are not the workload's (the kernel's log) are skipped; a
//! workload line that does not parse is kept in `malformed`, a tool error.
//! A line cut short by the cut (no newline) is skipped too: the workload
//! prints an `op` line whole before the step, so a step whose line is cut
//! short has not started; a `durable` line cut short only loses a claim
//! (its digits may be cut, so it must not be read).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// One console line and when the host read it (since QEMU started).
#[derive(Clone, Debug)]
pub struct Line {
    /// Host time since the machine was started.
    pub at: Duration,
    /// The line, without its end.
    pub text: String,
    /// Whether it ended with a newline: the last line before a cut may
    /// have been cut short.
    pub complete: bool,
}

/// How a file came to be reported durable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    /// `fsync` of the file.
    Fsync,
    /// `sync` of everything.
    Sync,
}

/// A file the workload reported durable.
#[derive(Clone, Debug, PartialEq)]
pub struct Claim {
    /// Its length in bytes.
    pub length: u64,
    /// FNV-1a 64 of its bytes.
    pub digest: u64,
    /// Guest seconds of the report.
    pub time: f64,
    /// `fsync` or `sync`.
    pub via: Via,
}

/// The run's `start` line.
#[derive(Clone, Debug, PartialEq)]
pub struct Start {
    /// The run number.
    pub run: u64,
    /// The run directory, absolute.
    pub directory: String,
    /// Guest seconds.
    pub time: f64,
}

/// The files a `sync` listed: after it, no other file of the run exists.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Listing {
    /// Paths, relative to the run directory.
    pub files: BTreeSet<String>,
    /// Guest seconds of the report.
    pub time: f64,
}

/// What the workload's lines say, replayed up to the cut.
#[derive(Clone, Debug, Default)]
pub struct Transcript {
    /// The `start` line, if it came.
    pub start: Option<Start>,
    /// Claims standing at the cut, by path relative to the run directory.
    pub claims: BTreeMap<String, Claim>,
    /// The last complete `sync` list.
    pub listing: Option<Listing>,
    /// Paths named by `op` lines since that list.
    pub touched_since_listing: Vec<String>,
    /// The progress step the last `sync` made durable.
    pub progress_step: Option<u64>,
    /// The last step announced.
    pub last_step: u64,
    /// Guest seconds of the last `durable` line.
    pub last_durable: Option<f64>,
    /// `crashload: error: …` lines.
    pub errors: Vec<String>,
    /// `crashload: warning: …` lines.
    pub warnings: Vec<String>,
    /// Workload lines that do not parse.
    pub malformed: Vec<String>,
    /// The smallest host-minus-guest difference, in seconds.
    clock_offset: Option<f64>,
}

/// The prefix of every workload line.
const PREFIX: &str = "crashload: ";

/// Whether `path` is `directory` or lies under it (paths relative to the
/// run directory, `/`-separated).
pub fn is_within(path: &str, directory: &str) -> bool {
    path == directory
        || (path.len() > directory.len()
            && path.starts_with(directory)
            && path.as_bytes()[directory.len()] == b'/')
}

/// `t=SECONDS` → seconds.
fn time_of(word: Option<&str>) -> Option<f64> {
    let seconds: f64 = word?.strip_prefix("t=")?.parse().ok()?;
    seconds.is_finite().then_some(seconds)
}

impl Transcript {
    /// Replays `lines` in order.
    pub fn parse(lines: &[Line]) -> Transcript {
        let mut transcript = Transcript::default();
        // The `sync` list being printed: its report number and files.
        let mut pending: Option<(u64, BTreeSet<String>)> = None;
        for line in lines.iter().filter(|line| line.complete) {
            let Some(rest) = line.text.trim_end().strip_prefix(PREFIX) else {
                continue;
            };
            if let Some(error) = rest.strip_prefix("error: ") {
                transcript.errors.push(error.to_string());
                continue;
            }
            if let Some(warning) = rest.strip_prefix("warning: ") {
                transcript.warnings.push(warning.to_string());
                continue;
            }
            let words: Vec<&str> = rest.split_whitespace().collect();
            let time = match words.first() {
                Some(&"start") => words.iter().find(|w| w.starts_with("t=")).copied(),
                _ => words.get(2).copied(),
            };
            let Some(time) = time_of(time) else {
                transcript.malformed.push(line.text.clone());
                continue;
            };
            let offset = line.at.as_secs_f64() - time;
            transcript.clock_offset = Some(match transcript.clock_offset {
                Some(known) => known.min(offset),
                None => offset,
            });
            let parsed = match words.first() {
                Some(&"start") => transcript.start_line(&words, time),
                Some(&"op") => transcript.op_line(&words),
                Some(&"durable") => transcript.durable_line(&words, time, &mut pending),
                _ => None,
            };
            if parsed.is_none() {
                transcript.malformed.push(line.text.clone());
            }
        }
        transcript
    }

    /// `start run RUN seed SEED dir DIRECTORY t=T`.
    fn start_line(&mut self, words: &[&str], time: f64) -> Option<()> {
        let value = |key: &str| {
            let index = words.iter().position(|word| *word == key)?;
            words.get(index + 1).copied()
        };
        self.start = Some(Start {
            run: value("run")?.parse().ok()?,
            directory: value("dir")?.to_string(),
            time,
        });
        Some(())
    }

    /// `op N t=T KIND [KEY=VALUE…] [PATH…]`.
    fn op_line(&mut self, words: &[&str]) -> Option<()> {
        let step: u64 = words.get(1)?.parse().ok()?;
        words.get(3)?;
        self.last_step = self.last_step.max(step);
        for path in words[4..].iter().filter(|word| !word.contains('=')) {
            self.claims.retain(|claimed, _| !is_within(claimed, path));
            self.touched_since_listing.push(path.to_string());
        }
        Some(())
    }

    /// `durable K t=T fsync|sync PATH LENGTH DIGEST`, `durable K t=T
    /// progress STEP`, `durable K t=T synced COUNT files`.
    fn durable_line(
        &mut self,
        words: &[&str],
        time: f64,
        pending: &mut Option<(u64, BTreeSet<String>)>,
    ) -> Option<()> {
        let report: u64 = words.get(1)?.parse().ok()?;
        self.last_durable = Some(time);
        match *words.get(3)? {
            kind @ ("fsync" | "sync") => {
                let [path, length, digest] = words.get(4..7)? else {
                    return None;
                };
                let claim = Claim {
                    length: length.parse().ok()?,
                    digest: u64::from_str_radix(digest, 16).ok()?,
                    time,
                    via: if kind == "fsync" {
                        Via::Fsync
                    } else {
                        Via::Sync
                    },
                };
                self.claims.insert(path.to_string(), claim);
                if kind == "sync" {
                    match pending {
                        Some((number, files)) if *number == report => {
                            files.insert(path.to_string());
                        }
                        _ => *pending = Some((report, BTreeSet::from([path.to_string()]))),
                    }
                }
            }
            "progress" => {
                let step: u64 = words.get(4)?.parse().ok()?;
                self.progress_step = Some(self.progress_step.unwrap_or(0).max(step));
            }
            "synced" => {
                let count: usize = words.get(4)?.parse().ok()?;
                let files = match pending.take() {
                    Some((number, files)) if number == report => files,
                    _ => BTreeSet::new(),
                };
                // A list cut short (lines lost) says nothing about absence.
                if files.len() == count {
                    self.listing = Some(Listing { files, time });
                    self.touched_since_listing.clear();
                }
            }
            _ => return None,
        }
        Some(())
    }

    /// The guest's clock at host time `at` (since the machine started),
    /// from the line that arrived soonest after it was printed.
    pub fn guest_time(&self, at: Duration) -> Option<f64> {
        self.clock_offset.map(|offset| at.as_secs_f64() - offset)
    }

    /// Whether a file at `path` (relative) that is not in the last `sync`
    /// list may exist: no list yet, or a later step named it.
    pub fn may_exist(&self, path: &str) -> bool {
        match &self.listing {
            None => true,
            Some(listing) => {
                listing.files.contains(path)
                    || self
                        .touched_since_listing
                        .iter()
                        .any(|touched| is_within(path, touched))
            }
        }
    }
}

/// FNV-1a 64, as the workload computes it.
pub fn digest(bytes: &[u8]) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    for &byte in bytes {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<Line> {
        text.lines()
            .enumerate()
            .map(|(index, text)| Line {
                at: Duration::from_millis(1000 + 100 * index as u64),
                text: text.to_string(),
                complete: true,
            })
            .collect()
    }

    #[test]
    fn a_line_cut_short_is_not_read() {
        let mut cut = lines(
            "crashload: op 4 t=0.220 append bytes=3 f1\n\
             crashload: durable 3 t=0.260 fsync f1 13 00000000000000bb\n\
             crashload: op 5 t=0.280 rename f1 f2",
        );
        // The cut came while the last line was printed: `f21` arrived as
        // `f2`, and the step never started.
        cut[2].complete = false;
        let transcript = Transcript::parse(&cut);
        assert!(transcript.malformed.is_empty());
        assert_eq!(transcript.last_step, 4);
        assert!(transcript.claims.contains_key("f1"));
        let shorter = cut[1].text.len() - 3;
        cut[1].text.truncate(shorter);
        cut[1].complete = false;
        let transcript = Transcript::parse(&cut[..2]);
        assert!(transcript.claims.is_empty() && transcript.malformed.is_empty());
    }

    #[test]
    fn the_digest_is_fnv1a() {
        assert_eq!(digest(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(digest(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn later_steps_withdraw_claims_on_what_they_name() {
        let transcript = Transcript::parse(&lines(
            "[    0.050000] INFO  init: started /bin/crashload as process 1\n\
             crashload: start run 2 seed 7 dir /crash/run-2 t=0.100\n\
             crashload: op 1 t=0.120 create bytes=10 f1\n\
             crashload: op 2 t=0.140 mkdir d2\n\
             crashload: op 3 t=0.160 create bytes=0 d2/f3\n\
             crashload: durable 1 t=0.180 fsync f1 10 00000000000000aa\n\
             crashload: durable 2 t=0.200 fsync d2/f3 0 cbf29ce484222325\n\
             crashload: op 4 t=0.220 rename-dir d2 d4\n\
             crashload: op 5 t=0.240 append bytes=3 f1\n\
             crashload: durable 3 t=0.260 fsync f1 13 00000000000000bb\n",
        ));
        let start = transcript.start.clone().unwrap();
        assert_eq!((start.run, start.directory.as_str()), (2, "/crash/run-2"));
        assert_eq!(transcript.last_step, 5);
        assert_eq!(transcript.claims.len(), 1);
        let claim = &transcript.claims["f1"];
        assert_eq!(
            (claim.length, claim.digest, claim.via),
            (13, 0xbb, Via::Fsync)
        );
        assert!(transcript.malformed.is_empty() && transcript.errors.is_empty());
        // The first workload line arrived 1.1 s after QEMU started and says
        // 0.100: the guest's clock runs 1.0 s behind the host's.
        let guest = transcript.guest_time(Duration::from_secs(3)).unwrap();
        assert!((guest - 2.0).abs() < 1e-9, "{guest}");
    }

    #[test]
    fn a_complete_sync_list_says_what_may_exist() {
        let transcript = Transcript::parse(&lines(
            "crashload: start run 1 seed 7 dir /crash/run-1 t=0.100\n\
             crashload: durable 1 t=1.000 sync f1 4 0000000000000001\n\
             crashload: durable 1 t=1.000 sync d2/f3 5 0000000000000002\n\
             crashload: durable 1 t=1.000 progress 40\n\
             crashload: durable 1 t=1.000 synced 2 files\n\
             crashload: op 41 t=1.020 rename d2/f3 f9\n\
             crashload: op 42 t=1.040 create bytes=1 d2/f10\n",
        ));
        assert_eq!(transcript.progress_step, Some(40));
        assert!(transcript.may_exist("f1"));
        assert!(transcript.may_exist("f9") && transcript.may_exist("d2/f3"));
        assert!(transcript.may_exist("d2/f10"));
        assert!(!transcript.may_exist("f5"));
        assert_eq!(
            transcript.claims.keys().collect::<Vec<_>>(),
            vec!["f1"],
            "the rename withdrew d2/f3"
        );
    }

    #[test]
    fn a_list_cut_short_proves_no_absence() {
        let transcript = Transcript::parse(&lines(
            "crashload: durable 1 t=1.000 sync f1 4 0000000000000001\n\
             crashload: durable 1 t=1.000 synced 2 files\n",
        ));
        assert!(transcript.listing.is_none());
        assert!(transcript.may_exist("f5"));
        assert_eq!(transcript.claims.len(), 1, "what was listed still counts");
    }

    #[test]
    fn errors_and_malformed_lines_are_kept() {
        let transcript = Transcript::parse(&lines(
            "crashload: error: fsync f1: Input/output error\n\
             crashload: durable x t=1.0 fsync f1 1 0\n\
             crashload: op 1 t=bad create f1\n\
             crashload: durable 1 t=1.0 fsync f1 1\n",
        ));
        assert_eq!(transcript.errors, ["fsync f1: Input/output error"]);
        assert_eq!(transcript.malformed.len(), 3);
        assert!(transcript.claims.is_empty());
    }
}
