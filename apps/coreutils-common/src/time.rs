// SPDX-License-Identifier: MIT OR Apache-2.0
//! Seconds since 1970 as a UTC calendar date and time.
//!
//! The conversion is Howard Hinnant's `civil_from_days` ("chrono-Compatible
//! Low-Level Date Algorithms"), exact for the proleptic Gregorian calendar
//! over every `i64` second count the ext2 inode can hold (32-bit times).
//! Manux has no time zones: everything is UTC.

use core::fmt;

/// A UTC date and time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DateTime {
    /// Year (can be before 1970 for negative times).
    pub year: i64,
    /// Month, 1–12.
    pub month: u32,
    /// Day of the month, 1–31.
    pub day: u32,
    /// Hour, 0–23.
    pub hour: u32,
    /// Minute, 0–59.
    pub minute: u32,
    /// Second, 0–59.
    pub second: u32,
}

impl DateTime {
    /// The date and time `seconds` after 1970-01-01 00:00:00 UTC.
    pub fn from_unix(seconds: i64) -> DateTime {
        let days = seconds.div_euclid(86_400);
        let of_day = seconds.rem_euclid(86_400) as u32;
        // civil_from_days: shift the epoch to 0000-03-01 so leap days end
        // each 400-year era; `era` is the era, `day_of_era` in [0, 146096].
        let shifted = days + 719_468;
        let era = shifted.div_euclid(146_097);
        let day_of_era = shifted.rem_euclid(146_097);
        let year_of_era =
            (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let month_from_march = (5 * day_of_year + 2) / 153;
        let day = (day_of_year - (153 * month_from_march + 2) / 5 + 1) as u32;
        let month = if month_from_march < 10 {
            month_from_march + 3
        } else {
            month_from_march - 9
        } as u32;
        let year = year_of_era + era * 400 + i64::from(month <= 2);
        DateTime {
            year,
            month,
            day,
            hour: of_day / 3600,
            minute: of_day / 60 % 60,
            second: of_day % 60,
        }
    }

    /// `YYYY-MM-DD HH:MM` (the form `ls -l` prints).
    pub fn minutes(self) -> Minutes {
        Minutes(self)
    }
}

/// `YYYY-MM-DD HH:MM:SS`.
impl fmt::Display for DateTime {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}:{:02}", self.minutes(), self.second)
    }
}

/// A [`DateTime`] shown to the minute.
#[derive(Clone, Copy, Debug)]
pub struct Minutes(DateTime);

impl fmt::Display for Minutes {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let time = &self.0;
        write!(
            formatter,
            "{:04}-{:02}-{:02} {:02}:{:02}",
            time.year, time.month, time.day, time.hour, time.minute
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    #[test]
    fn known_dates() {
        assert_eq!(format!("{}", DateTime::from_unix(0)), "1970-01-01 00:00:00");
        assert_eq!(
            format!("{}", DateTime::from_unix(42)),
            "1970-01-01 00:00:42"
        );
        assert_eq!(
            format!("{}", DateTime::from_unix(951_782_400)),
            "2000-02-29 00:00:00"
        );
        assert_eq!(
            format!("{}", DateTime::from_unix(1_700_000_000)),
            "2023-11-14 22:13:20"
        );
        assert_eq!(
            format!("{}", DateTime::from_unix(i64::from(u32::MAX))),
            "2106-02-07 06:28:15"
        );
        assert_eq!(
            format!("{}", DateTime::from_unix(-1)),
            "1969-12-31 23:59:59"
        );
        assert_eq!(
            format!("{}", DateTime::from_unix(1_700_000_000).minutes()),
            "2023-11-14 22:13"
        );
    }

    #[test]
    fn every_day_follows_the_previous_one() {
        let mut previous = DateTime::from_unix(-86_400 * 800);
        for day in -799..20_000i64 {
            let next = DateTime::from_unix(day * 86_400);
            let consecutive = (next.day == previous.day + 1 && next.month == previous.month)
                || (next.day == 1
                    && (next.month == previous.month + 1
                        || (next.month == 1
                            && previous.month == 12
                            && next.year == previous.year + 1)));
            assert!(consecutive, "{previous:?} -> {next:?}");
            previous = next;
        }
    }

    #[test]
    fn extreme_times_do_not_panic() {
        let _ = format!("{}", DateTime::from_unix(i64::MIN));
        let _ = format!("{}", DateTime::from_unix(i64::MAX));
    }
}
