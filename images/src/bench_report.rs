// SPDX-License-Identifier: MIT OR Apache-2.0
//! The figures of `cargo xtask bench`: reading what the guest printed,
//! medians and spreads, the targets, the table and the JSON.
//!
//! The in-guest program `apps/bench` prints `bench: KEY V1 V2 …`, one
//! value per repetition; the xtask adds what it measures itself (kernel
//! size, boot to prompt, smallest RAM). [`KEYS`] is the list and order of
//! figures in the table and in `target/bench-ARCH.json`.

use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Every figure, in table order, with its unit.
pub const KEYS: &[(&str, &str)] = &[
    ("boot_to_prompt_ms", "ms"),
    ("kernel_elf_bytes", "bytes"),
    ("null_syscall_ns", "ns"),
    ("spawn_exit_wait_us", "µs"),
    ("exec_direct_us", "µs"),
    ("exec_launched_us", "µs"),
    ("launcher_overhead_ratio", "×"),
    ("linux_spawn_exit_wait_us", "µs"),
    ("linux_vs_native_spawn_ratio", "×"),
    ("applet_launched_us", "µs"),
    ("file_read_cold_mbps", "MB/s"),
    ("file_read_warm_mbps", "MB/s"),
    ("raw_read_mbps", "MB/s"),
    ("file_vs_raw_ratio", "×"),
    ("small_files_ops_per_s", "files/s"),
    ("journal_small_files_ratio", "×"),
    ("file_write_mbps", "MB/s"),
    ("journal_write_ratio", "×"),
    ("min_ram_mib", "MiB"),
];

/// The figures of `bench --instructions`, with their unit: the guest's
/// timings read under a clock that counts instructions.
pub const INSTRUCTION_KEYS: &[(&str, &str)] = &[
    ("null_syscall_instructions", "instructions"),
    ("spawn_exit_wait_instructions", "instructions"),
    ("exec_direct_instructions", "instructions"),
    ("exec_launched_instructions", "instructions"),
    ("linux_spawn_exit_wait_instructions", "instructions"),
    ("applet_launched_instructions", "instructions"),
];

/// The figures the guest program prints (the rest the xtask measures).
pub const GUEST_KEYS: &[&str] = &[
    "null_syscall_ns",
    "spawn_exit_wait_us",
    "exec_direct_us",
    "exec_launched_us",
    "launcher_overhead_ratio",
    "linux_spawn_exit_wait_us",
    "linux_vs_native_spawn_ratio",
    "applet_launched_us",
    "file_read_cold_mbps",
    "file_read_warm_mbps",
    "raw_read_mbps",
    "file_vs_raw_ratio",
    "small_files_ops_per_s",
];

/// The figures `bench --writes` prints, from one boot with a journal and
/// one without: the xtask takes the journal's cost as their ratios.
pub const WRITES_KEYS: &[&str] = &["small_files_ops_per_s", "file_write_mbps"];

/// A target a figure must meet.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Target {
    /// At most this value.
    AtMost(f64),
    /// Below this value.
    Below(f64),
    /// At least this value.
    AtLeast(f64),
}

impl Target {
    /// Whether `value` meets the target.
    pub fn met(self, value: f64) -> bool {
        match self {
            Target::AtMost(limit) => value <= limit,
            Target::Below(limit) => value < limit,
            Target::AtLeast(limit) => value >= limit,
        }
    }

    fn describe(self) -> String {
        match self {
            Target::AtMost(limit) => format!("≤ {}", number(limit)),
            Target::Below(limit) => format!("< {}", number(limit)),
            Target::AtLeast(limit) => format!("≥ {}", number(limit)),
        }
    }
}

/// The target of figure `key`, if it has one.
pub fn target(key: &str) -> Option<Target> {
    Some(match key {
        "launcher_overhead_ratio" => Target::AtMost(1.25),
        "linux_vs_native_spawn_ratio" => Target::AtMost(1.5),
        "file_vs_raw_ratio" => Target::AtLeast(0.9),
        "journal_small_files_ratio" => Target::AtLeast(0.7),
        "min_ram_mib" => Target::AtMost(32.0),
        "boot_to_prompt_ms" => Target::Below(200.0),
        "spawn_exit_wait_us" => Target::Below(1000.0),
        "kernel_elf_bytes" => Target::Below((1u64 << 20) as f64),
        _ => return None,
    })
}

/// The values of each figure, one per repetition.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Figures {
    /// Values by key.
    pub values: BTreeMap<String, Vec<f64>>,
}

impl Figures {
    /// Adds one value of `key`.
    pub fn push(&mut self, key: &str, value: f64) {
        self.values.entry(key.to_string()).or_default().push(value);
    }

    /// Reads the guest's `bench: KEY V1 V2 …` lines from a console
    /// transcript; other lines are ignored. Fails on a malformed value or
    /// when a figure of [`GUEST_KEYS`] is missing.
    pub fn parse_guest(console: &str) -> Result<Figures> {
        Figures::parse_keys(console, GUEST_KEYS)
    }

    /// [`Self::parse_guest`] for the figures `keys`.
    pub fn parse_keys(console: &str, keys: &[&str]) -> Result<Figures> {
        let mut figures = Figures::default();
        for line in console.lines() {
            let Some(rest) = line.trim().strip_prefix("bench: ") else {
                continue;
            };
            let mut words = rest.split_whitespace();
            let Some(key) = words.next() else { continue };
            if !keys.contains(&key) {
                continue;
            }
            for word in words {
                let value: f64 = word
                    .parse()
                    .with_context(|| format!("bad value {word:?} for {key} in {line:?}"))?;
                if !value.is_finite() {
                    bail!("value {word:?} of {key} is not a finite number");
                }
                figures.push(key, value);
            }
        }
        for key in keys {
            if figures.values.get(*key).is_none_or(Vec::is_empty) {
                bail!("the guest printed no values for {key}");
            }
        }
        Ok(figures)
    }

    /// The median of `key`.
    pub fn median(&self, key: &str) -> Option<f64> {
        self.values.get(key).and_then(|values| median(values))
    }
}

/// The median of `values` (mean of the middle two for an even count).
pub fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    Some(if sorted.len() % 2 == 1 {
        sorted[middle]
    } else {
        (sorted[middle - 1] + sorted[middle]) / 2.0
    })
}

/// A value for people: integers as such, others with up to 3 decimals.
fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else if value.abs() >= 100.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.3}")
    }
}

/// The table: per figure its median, spread (min–max and relative),
/// repetitions, target and whether it is met.
pub fn table(figures: &Figures) -> String {
    table_of(figures, KEYS)
}

/// The table of `keys` (figure and unit, in order) of `figures`.
pub fn table_of(figures: &Figures, keys: &[(&str, &str)]) -> String {
    let mut rows = vec![[
        "figure".to_string(),
        "median".to_string(),
        "unit".to_string(),
        "spread (min–max)".to_string(),
        "n".to_string(),
        "target".to_string(),
        "".to_string(),
    ]];
    for (key, unit) in keys {
        let values = figures.values.get(*key).cloned().unwrap_or_default();
        let Some(middle) = median(&values) else {
            rows.push([
                key.to_string(),
                "—".into(),
                unit.to_string(),
                "".into(),
                "0".into(),
                "".into(),
                "missing".into(),
            ]);
            continue;
        };
        let low = values.iter().copied().fold(f64::INFINITY, f64::min);
        let high = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let spread = if values.len() > 1 && middle != 0.0 {
            format!(
                "{}–{} (±{:.1}%)",
                number(low),
                number(high),
                (high - low) / 2.0 / middle.abs() * 100.0
            )
        } else {
            "—".to_string()
        };
        let (target_text, verdict) = match target(key) {
            Some(target) => (
                target.describe(),
                if target.met(middle) { "met" } else { "MISSED" }.to_string(),
            ),
            None => (String::new(), String::new()),
        };
        rows.push([
            key.to_string(),
            number(middle),
            unit.to_string(),
            spread,
            values.len().to_string(),
            target_text,
            verdict,
        ]);
    }
    let mut widths = [0usize; 7];
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut text = String::new();
    for row in &rows {
        let mut line = String::new();
        for (index, (width, cell)) in widths.iter().zip(row).enumerate() {
            let pad = width - cell.chars().count();
            // Numbers right-aligned, words left-aligned.
            if index == 1 {
                line.push_str(&" ".repeat(pad));
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.push_str(&" ".repeat(pad));
            }
            line.push_str("  ");
        }
        let _ = writeln!(text, "{}", line.trim_end());
    }
    text
}

/// The JSON object of medians, with exactly the keys of [`KEYS`]; fails if
/// one is missing.
pub fn json(figures: &Figures) -> Result<String> {
    let mut text = String::from("{\n");
    for (index, (key, _)) in KEYS.iter().enumerate() {
        let value = figures
            .median(key)
            .with_context(|| format!("no value for {key}"))?;
        let rendered = if value.fract() == 0.0 && value.abs() < 1e15 {
            format!("{}", value as i64)
        } else {
            format!("{value}")
        };
        let comma = if index + 1 < KEYS.len() { "," } else { "" };
        let _ = writeln!(text, "  \"{key}\": {rendered}{comma}");
    }
    text.push_str("}\n");
    Ok(text)
}

/// The boot-to-prompt time the kernel logs at power off
/// (`first console read at 48.123 ms after reset`), in milliseconds.
pub fn prompt_time_ms(console: &str) -> Option<f64> {
    console.lines().find_map(|line| {
        let rest = line.split("first console read at ").nth(1)?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guest_lines() -> String {
        let mut text = String::from("Manux 0.1.0 aarch64\nbench: console_first_read_ns 0\n");
        for key in GUEST_KEYS {
            text.push_str(&format!("bench: {key} 3.000 1.000 2.000\n"));
        }
        text
    }

    #[test]
    fn guest_lines_are_parsed_and_medians_taken() {
        let figures = Figures::parse_guest(&guest_lines()).unwrap();
        assert_eq!(figures.values["null_syscall_ns"], vec![3.0, 1.0, 2.0]);
        assert_eq!(figures.median("raw_read_mbps"), Some(2.0));
        assert!(!figures.values.contains_key("console_first_read_ns"));
    }

    #[test]
    fn a_missing_or_malformed_figure_is_an_error() {
        let text = guest_lines().replace("bench: raw_read_mbps", "bench: other");
        assert!(Figures::parse_guest(&text).is_err());
        let text = guest_lines().replace("bench: raw_read_mbps 3.000", "bench: raw_read_mbps x");
        assert!(Figures::parse_guest(&text).is_err());
        let text = guest_lines().replace("bench: raw_read_mbps 3.000", "bench: raw_read_mbps NaN");
        assert!(Figures::parse_guest(&text).is_err());
    }

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[5.0]), Some(5.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }

    #[test]
    fn targets_are_the_documented_ones() {
        assert!(target("launcher_overhead_ratio").unwrap().met(1.25));
        assert!(!target("launcher_overhead_ratio").unwrap().met(1.26));
        assert!(target("file_vs_raw_ratio").unwrap().met(0.9));
        assert!(target("journal_small_files_ratio").unwrap().met(0.7));
        assert!(!target("journal_small_files_ratio").unwrap().met(0.69));
        assert!(!target("file_vs_raw_ratio").unwrap().met(0.89));
        assert!(!target("boot_to_prompt_ms").unwrap().met(200.0));
        assert!(target("kernel_elf_bytes").unwrap().met(1048575.0));
        assert!(!target("kernel_elf_bytes").unwrap().met(1048576.0));
        assert_eq!(target("null_syscall_ns"), None);
    }

    #[test]
    fn the_json_has_exactly_the_keys_and_medians() {
        let mut figures = Figures::parse_guest(&guest_lines()).unwrap();
        assert!(json(&figures).is_err(), "host figures are still missing");
        figures.push("boot_to_prompt_ms", 51.5);
        figures.push("kernel_elf_bytes", 700000.0);
        figures.push("min_ram_mib", 24.0);
        assert!(json(&figures).is_err(), "the journal's figures are missing");
        figures.push("journal_small_files_ratio", 0.8);
        figures.push("file_write_mbps", 120.0);
        figures.push("journal_write_ratio", 0.9);
        let text = json(&figures).unwrap();
        let keys: Vec<&str> = text
            .lines()
            .filter_map(|line| line.trim().strip_prefix('"')?.split('"').next())
            .collect();
        let expected: Vec<&str> = KEYS.iter().map(|(key, _)| *key).collect();
        assert_eq!(keys, expected);
        assert!(text.contains("\"kernel_elf_bytes\": 700000,"));
        assert!(text.contains("\"boot_to_prompt_ms\": 51.5,"));
        assert!(text.contains("\"min_ram_mib\": 24\n"));
        let table = table(&figures);
        assert!(table.contains("MISSED") || table.contains("met"));
        assert!(table
            .lines()
            .any(|line| line.starts_with("min_ram_mib") && line.contains("met")));
    }

    #[test]
    fn the_prompt_time_is_read_from_the_power_off_log() {
        let log = "[    1.2] INFO  first console read at 48.123 ms after reset\n";
        assert_eq!(prompt_time_ms(log), Some(48.123));
        assert_eq!(prompt_time_ms("nothing"), None);
    }
}
