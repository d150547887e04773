// SPDX-License-Identifier: MIT OR Apache-2.0
//! The CMOS real-time clock (MC146818, ports 0x70/0x71): the time of day,
//! read once at boot. Owns nothing else; never writes the clock.

use crate::time_of_day::{unix_seconds, CalendarTime};
use x86_64::instructions::port::Port;

/// Status register A: bit 7 is set while the clock updates its registers.
const STATUS_A: u8 = 0x0a;
/// Status register B: bit 2 binary (not BCD) values, bit 1 24-hour mode.
const STATUS_B: u8 = 0x0b;
/// The century register QEMU's CMOS provides.
const CENTURY: u8 = 0x32;
/// Bounds the waits for an update to finish (an update takes < 2 ms).
const MAX_POLLS: u32 = 1_000_000;

fn read_register(index: u8) -> u8 {
    let mut select: Port<u8> = Port::new(0x70);
    let mut data: Port<u8> = Port::new(0x71);
    // SAFETY: ports 0x70/0x71 are the CMOS index and data registers on
    // every PC-compatible machine QEMU emulates (microvm, q35, pc);
    // selecting a clock register and reading it has no side effect beyond
    // the index register, and bit 7 (NMI disable) is left clear.
    unsafe {
        select.write(index & 0x7f);
        data.read()
    }
}

/// One reading of the date and time registers, after an update ends.
fn read_once() -> Option<[u8; 7]> {
    let mut polls = 0;
    while read_register(STATUS_A) & 0x80 != 0 {
        polls += 1;
        if polls > MAX_POLLS {
            return None;
        }
    }
    Some([
        read_register(0x00),
        read_register(0x02),
        read_register(0x04),
        read_register(0x07),
        read_register(0x08),
        read_register(0x09),
        read_register(CENTURY),
    ])
}

/// The time of day in seconds since the Unix epoch, or `None` when the
/// clock is absent, keeps changing under us or reads nonsense.
pub fn unix_time() -> Option<u64> {
    // Read until two readings agree: an update may land between reads.
    let mut previous = read_once()?;
    let mut registers = None;
    for _ in 0..5 {
        let reading = read_once()?;
        if reading == previous {
            registers = Some(reading);
            break;
        }
        previous = reading;
    }
    let [second, minute, hour, day, month, year, century] = registers?;
    let status_b = read_register(STATUS_B);
    let binary = status_b & 0x04 != 0;
    let hours_24 = status_b & 0x02 != 0;
    let value = |raw: u8| -> Option<u32> {
        if binary {
            Some(u32::from(raw))
        } else if raw & 0x0f < 10 && raw >> 4 < 10 {
            Some(u32::from(raw >> 4) * 10 + u32::from(raw & 0x0f))
        } else {
            None
        }
    };
    let pm = !hours_24 && hour & 0x80 != 0;
    let mut hour = value(hour & 0x7f)?;
    if !hours_24 {
        hour %= 12;
        if pm {
            hour += 12;
        }
    }
    let century = value(century)
        .filter(|c| (19..=30).contains(c))
        .unwrap_or(20);
    unix_seconds(CalendarTime {
        year: century * 100 + value(year)?,
        month: value(month)?,
        day: value(day)?,
        hour,
        minute: value(minute)?,
        second: value(second)?,
    })
}
