// SPDX-License-Identifier: MIT OR Apache-2.0
//! Numbers in arguments: counts (`head -n 5`), durations (`sleep 1.5`),
//! octal modes (`mkdir -m 700`). No floating point: programs are built
//! soft-float and durations are exact in nanoseconds.

use core::time::Duration;

/// A decimal count: ASCII digits only, no sign, no overflow.
///
/// Return values: the number; `None` for anything else.
pub fn parse_unsigned(text: &[u8]) -> Option<u64> {
    if text.is_empty() {
        return None;
    }
    let mut value: u64 = 0;
    for &byte in text {
        if !byte.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(u64::from(byte - b'0'))?;
    }
    Some(value)
}

/// An octal permission mode (`755`, `0644`): at most `0o7777`.
///
/// Return values: the mode; `None` for anything else.
pub fn parse_octal_mode(text: &[u8]) -> Option<u32> {
    if text.is_empty() || text.len() > 5 {
        return None;
    }
    let mut value: u32 = 0;
    for &byte in text {
        if !(b'0'..=b'7').contains(&byte) {
            return None;
        }
        value = value * 8 + u32::from(byte - b'0');
    }
    (value <= 0o7777).then_some(value)
}

/// A duration as `sleep` takes it: `SECONDS[.FRACTION][SUFFIX]`, the
/// suffix `s` (seconds, the default), `m` (minutes), `h` (hours) or `d`
/// (days); `.5` and `5.` are allowed. Fraction digits past the ninth are
/// checked and then ignored (nanoseconds are the kernel's resolution).
///
/// Return values: the duration; `None` for anything else, including
/// overflow.
pub fn parse_duration(text: &[u8]) -> Option<Duration> {
    let (number, multiplier) = match text.last()? {
        b's' => (&text[..text.len() - 1], 1u64),
        b'm' => (&text[..text.len() - 1], 60),
        b'h' => (&text[..text.len() - 1], 60 * 60),
        b'd' => (&text[..text.len() - 1], 24 * 60 * 60),
        _ => (text, 1),
    };
    let (whole, fraction) = match number.iter().position(|&byte| byte == b'.') {
        Some(dot) => (&number[..dot], &number[dot + 1..]),
        None => (number, &b""[..]),
    };
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    let seconds = if whole.is_empty() {
        0
    } else {
        parse_unsigned(whole)?
    };
    let mut nanoseconds: u64 = 0;
    for (index, &byte) in fraction.iter().enumerate() {
        if !byte.is_ascii_digit() {
            return None;
        }
        if index < 9 {
            nanoseconds = nanoseconds * 10 + u64::from(byte - b'0');
        }
    }
    for _ in fraction.len()..9 {
        nanoseconds *= 10;
    }
    let total = (u128::from(seconds) * 1_000_000_000 + u128::from(nanoseconds))
        .checked_mul(u128::from(multiplier))?;
    let seconds = u64::try_from(total / 1_000_000_000).ok()?;
    Some(Duration::new(seconds, (total % 1_000_000_000) as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsigned() {
        assert_eq!(parse_unsigned(b"0"), Some(0));
        assert_eq!(parse_unsigned(b"0010"), Some(10));
        assert_eq!(parse_unsigned(b"18446744073709551615"), Some(u64::MAX));
        for bad in [
            &b""[..],
            b"18446744073709551616",
            b"-1",
            b"+1",
            b"1 ",
            b"1e3",
            b"\xff",
        ] {
            assert_eq!(parse_unsigned(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn octal_modes() {
        assert_eq!(parse_octal_mode(b"755"), Some(0o755));
        assert_eq!(parse_octal_mode(b"0644"), Some(0o644));
        assert_eq!(parse_octal_mode(b"7777"), Some(0o7777));
        for bad in [&b""[..], b"8", b"17777", b"u+x", b"777777"] {
            assert_eq!(parse_octal_mode(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration(b"2"), Some(Duration::from_secs(2)));
        assert_eq!(parse_duration(b"1.5"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration(b".25"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration(b"3."), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_duration(b"0.000000001"),
            Some(Duration::from_nanos(1))
        );
        assert_eq!(
            parse_duration(b"0.0000000019"),
            Some(Duration::from_nanos(1))
        );
        assert_eq!(parse_duration(b"1.5m"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration(b"2h"), Some(Duration::from_secs(7200)));
        assert_eq!(parse_duration(b"1d"), Some(Duration::from_secs(86400)));
        assert_eq!(parse_duration(b"4s"), Some(Duration::from_secs(4)));
        for bad in [
            &b""[..],
            b".",
            b"s",
            b"-1",
            b"1.2.3",
            b"inf",
            b"1x",
            b"1.x",
            b"18446744073709551615d",
            b"99999999999999999999",
        ] {
            assert_eq!(parse_duration(bad), None, "{bad:?}");
        }
        assert_eq!(
            parse_duration(b"18446744073709551615"),
            Some(Duration::from_secs(u64::MAX))
        );
    }
}
