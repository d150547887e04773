// SPDX-License-Identifier: MIT OR Apache-2.0
//! Clock ids of `clock_gettime`, `clock_getres` and `clock_nanosleep`
//! (`linux/time.h`; the same on both architectures).

/// A clock a program names. Negative ids (another process's or thread's
/// CPU clock, built by glibc's `clock_getcpuclockid`) are not decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClockId {
    /// `CLOCK_REALTIME` (0): wall-clock time since the epoch.
    Realtime,
    /// `CLOCK_MONOTONIC` (1): time since boot, not counting suspend.
    Monotonic,
    /// `CLOCK_PROCESS_CPUTIME_ID` (2): CPU time of the process.
    ProcessCpuTime,
    /// `CLOCK_THREAD_CPUTIME_ID` (3): CPU time of the thread.
    ThreadCpuTime,
    /// `CLOCK_MONOTONIC_RAW` (4): monotonic, never adjusted.
    MonotonicRaw,
    /// `CLOCK_REALTIME_COARSE` (5): realtime, cheap and coarse.
    RealtimeCoarse,
    /// `CLOCK_MONOTONIC_COARSE` (6): monotonic, cheap and coarse.
    MonotonicCoarse,
    /// `CLOCK_BOOTTIME` (7): monotonic, counting suspend.
    Boottime,
    /// `CLOCK_REALTIME_ALARM` (8).
    RealtimeAlarm,
    /// `CLOCK_BOOTTIME_ALARM` (9).
    BoottimeAlarm,
    /// `CLOCK_TAI` (11): international atomic time.
    Tai,
}

const TABLE: &[(ClockId, i32, &str)] = &[
    (ClockId::Realtime, 0, "CLOCK_REALTIME"),
    (ClockId::Monotonic, 1, "CLOCK_MONOTONIC"),
    (ClockId::ProcessCpuTime, 2, "CLOCK_PROCESS_CPUTIME_ID"),
    (ClockId::ThreadCpuTime, 3, "CLOCK_THREAD_CPUTIME_ID"),
    (ClockId::MonotonicRaw, 4, "CLOCK_MONOTONIC_RAW"),
    (ClockId::RealtimeCoarse, 5, "CLOCK_REALTIME_COARSE"),
    (ClockId::MonotonicCoarse, 6, "CLOCK_MONOTONIC_COARSE"),
    (ClockId::Boottime, 7, "CLOCK_BOOTTIME"),
    (ClockId::RealtimeAlarm, 8, "CLOCK_REALTIME_ALARM"),
    (ClockId::BoottimeAlarm, 9, "CLOCK_BOOTTIME_ALARM"),
    (ClockId::Tai, 11, "CLOCK_TAI"),
];

/// `TIMER_ABSTIME`: `clock_nanosleep`'s request is an absolute time.
pub const TIMER_ABSOLUTE: u32 = 1;

impl ClockId {
    /// Every clock id this crate knows.
    pub fn all() -> impl Iterator<Item = ClockId> {
        TABLE.iter().map(|&(clock, ..)| clock)
    }

    /// The clock named by the register value `raw` (a C `clockid_t`, an
    /// `int`), or `None` (`EINVAL`).
    pub fn from_number(raw: u64) -> Option<ClockId> {
        let raw = raw as u32 as i32;
        TABLE
            .iter()
            .find(|&&(_, number, _)| number == raw)
            .map(|&(clock, ..)| clock)
    }

    /// Linux's number for the clock.
    pub fn number(self) -> i32 {
        self.row().1
    }

    /// The C name (`CLOCK_MONOTONIC`).
    pub fn name(self) -> &'static str {
        self.row().2
    }

    fn row(self) -> &'static (ClockId, i32, &'static str) {
        TABLE
            .iter()
            .find(|(clock, ..)| *clock == self)
            .expect("every ClockId has a row in TABLE")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_match_the_host_libc() {
        let host = [
            (ClockId::Realtime, libc::CLOCK_REALTIME),
            (ClockId::Monotonic, libc::CLOCK_MONOTONIC),
            (ClockId::ProcessCpuTime, libc::CLOCK_PROCESS_CPUTIME_ID),
            (ClockId::ThreadCpuTime, libc::CLOCK_THREAD_CPUTIME_ID),
            (ClockId::MonotonicRaw, libc::CLOCK_MONOTONIC_RAW),
            (ClockId::RealtimeCoarse, libc::CLOCK_REALTIME_COARSE),
            (ClockId::MonotonicCoarse, libc::CLOCK_MONOTONIC_COARSE),
            (ClockId::Boottime, libc::CLOCK_BOOTTIME),
            (ClockId::RealtimeAlarm, libc::CLOCK_REALTIME_ALARM),
            (ClockId::BoottimeAlarm, libc::CLOCK_BOOTTIME_ALARM),
            (ClockId::Tai, libc::CLOCK_TAI),
        ];
        assert_eq!(host.len(), ClockId::all().count());
        for (clock, number) in host {
            assert_eq!(clock.number(), number, "{}", clock.name());
            assert_eq!(ClockId::from_number(number as u64), Some(clock));
        }
        assert_eq!(ClockId::from_number(10), None);
        assert_eq!(ClockId::from_number((-6i64) as u64), None);
    }
}
