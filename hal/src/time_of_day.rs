// SPDX-License-Identifier: MIT OR Apache-2.0
//! Calendar dates to Unix time, for the real-time clocks that count in
//! calendar fields (the CMOS RTC). Owns only the arithmetic; never reads
//! a device. (Checked end to end: the guest test `root_fs.rs` compares a
//! file's timestamp on x86_64 with the host's clock, which QEMU's CMOS
//! follows.)

/// A date and time of day (UTC), as a clock's registers give it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CalendarTime {
    /// The year, e.g. 2026.
    pub year: u32,
    /// 1 to 12.
    pub month: u32,
    /// 1 to 31.
    pub day: u32,
    /// 0 to 23.
    pub hour: u32,
    /// 0 to 59.
    pub minute: u32,
    /// 0 to 59 (60 is taken as a leap second's 59).
    pub second: u32,
}

/// Seconds since 1970-01-01 00:00:00 UTC, or `None` for a date before
/// 1970 or a field out of range.
pub fn unix_seconds(time: CalendarTime) -> Option<u64> {
    let CalendarTime {
        year,
        month,
        day,
        hour,
        minute,
        second,
    } = time;
    if year < 1970
        || !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    // Days from the civil date (H. Hinnant's algorithm): years start in
    // March, so the leap day ends a year.
    let (year, month) = (i64::from(year), i64::from(month));
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    let seconds =
        days * 86_400 + i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second.min(59));
    u64::try_from(seconds).ok()
}
