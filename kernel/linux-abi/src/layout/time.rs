// SPDX-License-Identifier: MIT OR Apache-2.0
//! `struct timespec` and `struct timeval` (`linux/time_types.h`,
//! `linux/time.h`): two 64-bit words each on both architectures; and
//! `struct itimerval` (`setitimer`, `getitimer`): two timevals.

use super::bytes::{get_i64, put_i64};
use crate::flags::at::{UTIME_NOW, UTIME_OMIT};

/// Bytes in a `struct timespec`.
pub const TIMESPEC_SIZE: usize = 16;
/// Bytes in a `struct timeval`.
pub const TIMEVAL_SIZE: usize = 16;
/// Bytes in a `struct itimerval`.
pub const ITIMERVAL_SIZE: usize = 32;
/// `ITIMER_REAL`: the one interval timer implemented (wall time,
/// `SIGALRM`).
pub const ITIMER_REAL: u64 = 0;
/// `ITIMER_VIRTUAL` and `ITIMER_PROF`: the timers of CPU time (`EINVAL`
/// here).
pub const ITIMER_CPU_TIME: [u64; 2] = [1, 2];

/// Nanoseconds in a second.
const NANOSECONDS_PER_SECOND: i64 = 1_000_000_000;

/// `struct timespec`: `tv_sec` at 0, `tv_nsec` at 8.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timespec {
    /// Seconds.
    pub seconds: i64,
    /// Nanoseconds, 0–999 999 999 in a valid value.
    pub nanoseconds: i64,
}

/// What a `utimensat` timestamp asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimestampUpdate {
    /// `UTIME_NOW`: the current time.
    Now,
    /// `UTIME_OMIT`: leave it.
    Omit,
    /// This time.
    Set(Timespec),
}

impl Timespec {
    /// The timespec of `nanoseconds` since an origin.
    pub fn from_nanoseconds(nanoseconds: u64) -> Timespec {
        Timespec {
            seconds: (nanoseconds / NANOSECONDS_PER_SECOND as u64) as i64,
            nanoseconds: (nanoseconds % NANOSECONDS_PER_SECOND as u64) as i64,
        }
    }

    /// The bytes a program reads.
    pub fn encode(&self) -> [u8; TIMESPEC_SIZE] {
        let mut bytes = [0; TIMESPEC_SIZE];
        put_i64(&mut bytes, 0, self.seconds);
        put_i64(&mut bytes, 8, self.nanoseconds);
        bytes
    }

    /// The timespec a program gave, unchecked.
    pub fn decode(bytes: &[u8; TIMESPEC_SIZE]) -> Timespec {
        Timespec {
            seconds: get_i64(bytes, 0),
            nanoseconds: get_i64(bytes, 8),
        }
    }

    /// Whether Linux accepts it as a duration or time (`nanosleep`,
    /// `ppoll`): seconds ≥ 0 and nanoseconds in 0–999 999 999; otherwise
    /// `EINVAL`.
    pub fn is_valid(&self) -> bool {
        self.seconds >= 0 && (0..NANOSECONDS_PER_SECOND).contains(&self.nanoseconds)
    }

    /// The total in nanoseconds, or `None` for an invalid or overflowing
    /// value.
    pub fn as_nanoseconds(&self) -> Option<u64> {
        if !self.is_valid() {
            return None;
        }
        (self.seconds as u64)
            .checked_mul(NANOSECONDS_PER_SECOND as u64)?
            .checked_add(self.nanoseconds as u64)
    }

    /// Reads it as one of `utimensat`'s two timestamps, or `None` when
    /// invalid (`EINVAL`).
    pub fn as_timestamp_update(&self) -> Option<TimestampUpdate> {
        match self.nanoseconds {
            UTIME_NOW => Some(TimestampUpdate::Now),
            UTIME_OMIT => Some(TimestampUpdate::Omit),
            _ if (0..NANOSECONDS_PER_SECOND).contains(&self.nanoseconds) => {
                Some(TimestampUpdate::Set(*self))
            }
            _ => None,
        }
    }
}

/// `struct timeval`: `tv_sec` at 0, `tv_usec` at 8.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timeval {
    /// Seconds.
    pub seconds: i64,
    /// Microseconds, 0–999 999.
    pub microseconds: i64,
}

impl Timeval {
    /// The timeval of `nanoseconds` since an origin (truncated to
    /// microseconds).
    pub fn from_nanoseconds(nanoseconds: u64) -> Timeval {
        let time = Timespec::from_nanoseconds(nanoseconds);
        Timeval {
            seconds: time.seconds,
            microseconds: time.nanoseconds / 1000,
        }
    }

    /// The bytes a program reads.
    pub fn encode(&self) -> [u8; TIMEVAL_SIZE] {
        let mut bytes = [0; TIMEVAL_SIZE];
        put_i64(&mut bytes, 0, self.seconds);
        put_i64(&mut bytes, 8, self.microseconds);
        bytes
    }

    /// The timeval a program gave, unchecked.
    pub fn decode(bytes: &[u8; TIMEVAL_SIZE]) -> Timeval {
        Timeval {
            seconds: get_i64(bytes, 0),
            microseconds: get_i64(bytes, 8),
        }
    }
}

impl Timeval {
    /// Whether Linux accepts it as a duration (`setitimer`): seconds ≥ 0
    /// and microseconds in 0–999 999; otherwise `EINVAL`.
    pub fn is_valid(&self) -> bool {
        self.seconds >= 0 && (0..1_000_000).contains(&self.microseconds)
    }

    /// Its total in nanoseconds, or `None` for an invalid value or one
    /// that overflows.
    pub fn as_nanoseconds(&self) -> Option<u64> {
        if !self.is_valid() {
            return None;
        }
        (self.seconds as u64)
            .checked_mul(NANOSECONDS_PER_SECOND as u64)?
            .checked_add(self.microseconds as u64 * 1000)
    }
}

/// `struct itimerval`: `it_interval` at 0, `it_value` at 16.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IntervalTimer {
    /// The period it is re-armed with when it expires (0: once).
    pub interval: Timeval,
    /// The time left until it expires (0: disarmed).
    pub value: Timeval,
}

impl IntervalTimer {
    /// The bytes a program reads.
    pub fn encode(&self) -> [u8; ITIMERVAL_SIZE] {
        let mut bytes = [0; ITIMERVAL_SIZE];
        bytes[..TIMEVAL_SIZE].copy_from_slice(&self.interval.encode());
        bytes[TIMEVAL_SIZE..].copy_from_slice(&self.value.encode());
        bytes
    }

    /// The timer a program gave, unchecked.
    pub fn decode(bytes: &[u8; ITIMERVAL_SIZE]) -> IntervalTimer {
        let mut interval = [0; TIMEVAL_SIZE];
        let mut value = [0; TIMEVAL_SIZE];
        interval.copy_from_slice(&bytes[..TIMEVAL_SIZE]);
        value.copy_from_slice(&bytes[TIMEVAL_SIZE..]);
        IntervalTimer {
            interval: Timeval::decode(&interval),
            value: Timeval::decode(&value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{offset_of, size_of};

    #[test]
    fn layouts_match_the_host_libc() {
        assert_eq!(size_of::<libc::timespec>(), TIMESPEC_SIZE);
        assert_eq!(offset_of!(libc::timespec, tv_sec), 0);
        assert_eq!(offset_of!(libc::timespec, tv_nsec), 8);
        assert_eq!(size_of::<libc::timeval>(), TIMEVAL_SIZE);
        assert_eq!(offset_of!(libc::timeval, tv_sec), 0);
        assert_eq!(offset_of!(libc::timeval, tv_usec), 8);
        assert_eq!(size_of::<libc::itimerval>(), ITIMERVAL_SIZE);
        assert_eq!(offset_of!(libc::itimerval, it_interval), 0);
        assert_eq!(offset_of!(libc::itimerval, it_value), TIMEVAL_SIZE);
        assert_eq!(ITIMER_REAL as i32, libc::ITIMER_REAL);
        assert_eq!(
            ITIMER_CPU_TIME.map(|which| which as i32),
            [libc::ITIMER_VIRTUAL, libc::ITIMER_PROF]
        );
    }

    #[test]
    fn interval_timers_round_trip_and_are_checked() {
        let timer = IntervalTimer {
            interval: Timeval {
                seconds: 0,
                microseconds: 250_000,
            },
            value: Timeval {
                seconds: 2,
                microseconds: 5,
            },
        };
        let bytes = timer.encode();
        assert_eq!(IntervalTimer::decode(&bytes), timer);
        assert_eq!(bytes[16..24], 2i64.to_le_bytes());
        assert_eq!(timer.value.as_nanoseconds(), Some(2_000_005_000));
        assert_eq!(timer.interval.as_nanoseconds(), Some(250_000_000));
        let bad = |seconds, microseconds| Timeval {
            seconds,
            microseconds,
        };
        assert_eq!(bad(0, 1_000_000).as_nanoseconds(), None);
        assert_eq!(bad(0, -1).as_nanoseconds(), None);
        assert_eq!(bad(-1, 0).as_nanoseconds(), None);
        assert_eq!(bad(i64::MAX, 0).as_nanoseconds(), None);
        assert!(bad(i64::MAX, 999_999).is_valid());
        assert!(!bad(0, 1_000_000).is_valid());
    }

    #[test]
    fn round_trips_and_validation() {
        let time = Timespec::from_nanoseconds(3_000_000_007);
        assert_eq!((time.seconds, time.nanoseconds), (3, 7));
        assert_eq!(Timespec::decode(&time.encode()), time);
        assert_eq!(time.as_nanoseconds(), Some(3_000_000_007));
        assert!(!Timespec {
            seconds: 0,
            nanoseconds: NANOSECONDS_PER_SECOND
        }
        .is_valid());
        assert!(!Timespec {
            seconds: -1,
            nanoseconds: 0
        }
        .is_valid());
        assert_eq!(
            Timespec {
                seconds: i64::MAX,
                nanoseconds: 0
            }
            .as_nanoseconds(),
            None
        );
        let omit = Timespec {
            seconds: 5,
            nanoseconds: UTIME_OMIT,
        };
        assert_eq!(omit.as_timestamp_update(), Some(TimestampUpdate::Omit));
        assert_eq!(
            Timespec {
                seconds: 0,
                nanoseconds: -3
            }
            .as_timestamp_update(),
            None
        );
        let now = Timeval::from_nanoseconds(1_500_000_999);
        assert_eq!((now.seconds, now.microseconds), (1, 500_000));
        assert_eq!(Timeval::decode(&now.encode()), now);
    }
}
