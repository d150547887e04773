// SPDX-License-Identifier: MIT OR Apache-2.0
//! Names in `/...`: the validation rules and fresh names for launchers.
//!
//! A name is a byte string relative to `/...`, such as `home/alice` or
//! `rocknroll/blues.dat`: one or more components joined by single `/`. Names
//! are bytes, not text (no UTF-8 requirement), as on ext2. The rules
//! (DESIGN §5, and the reserved names of ext2l, DESIGN §4):
//!
//! - no empty component: no leading `/`, no `//`, and no trailing `/` either.
//!   One spelling per name keeps the tree free of aliases; a shell that wants
//!   to accept `rocknroll/` strips the slash before calling `xchroot()`;
//! - no dot-only component: `.` and `..` would be aliases of other names once
//!   the kernel resolves them lexically, and `...`, `....`, … are reserved as
//!   on ext2l, which also keeps `/.../...` from looking like `/...`;
//! - no NUL byte (it ends a C string; `/` cannot occur, it separates);
//! - at most [`MAX_COMPONENT_LENGTH`] bytes per component, [`MAX_NAME_LENGTH`]
//!   bytes in all and [`MAX_DEPTH`] components.
//!
//! Every breach is [`Error::InvalidName`]. [`FreshName`] and [`fresh_names`]
//! produce the decimal names (`1`, `2`, …) a launcher exposes its arguments
//! under (DESIGN §7); they always pass these rules.

use core::fmt;

use crate::limits::{MAX_COMPONENT_LENGTH, MAX_DEPTH, MAX_NAME_LENGTH};
use crate::Error;

/// The byte that separates components.
const SEPARATOR: u8 = b'/';

/// Checks one component of a name: non-empty, not dot-only, no NUL or `/`, at
/// most [`MAX_COMPONENT_LENGTH`] bytes.
///
/// Return values:
/// - `Ok(())`: the component may appear in a `/...` name;
/// - [`Error::InvalidName`]: it breaks one of the rules above.
pub fn validate_component(component: &[u8]) -> Result<(), Error> {
    let dot_only = component.iter().all(|&byte| byte == b'.');
    // `all` is true for an empty slice, so `dot_only` also rejects "".
    if dot_only
        || component.len() > MAX_COMPONENT_LENGTH
        || component.contains(&0)
        || component.contains(&SEPARATOR)
    {
        return Err(Error::InvalidName);
    }
    Ok(())
}

/// Checks a whole name such as `home/alice` against every rule of the module
/// documentation.
///
/// Return values:
/// - `Ok(())`: the name may be put into or removed from `/...`;
/// - [`Error::InvalidName`]: it is empty, too long, too deep, or one of its
///   components is invalid (including the empty component a leading, doubled
///   or trailing `/` makes).
pub fn validate_name(name: &[u8]) -> Result<(), Error> {
    Components::parse(name).map(|_| ())
}

/// The components of a valid name, split without allocating: [`MAX_DEPTH`]
/// bounds how many there can be.
pub(crate) struct Components<'name> {
    parts: [&'name [u8]; MAX_DEPTH],
    count: usize,
}

impl<'name> Components<'name> {
    /// Validates `name` and splits it at each `/`.
    ///
    /// Return values:
    /// - `Ok(components)`: at least one, at most [`MAX_DEPTH`], each valid;
    /// - [`Error::InvalidName`]: as for [`validate_name`].
    pub(crate) fn parse(name: &'name [u8]) -> Result<Self, Error> {
        if name.is_empty() || name.len() > MAX_NAME_LENGTH {
            return Err(Error::InvalidName);
        }
        let mut components = Components {
            parts: [&[]; MAX_DEPTH],
            count: 0,
        };
        for component in name.split(|&byte| byte == SEPARATOR) {
            validate_component(component)?;
            let slot = components
                .parts
                .get_mut(components.count)
                .ok_or(Error::InvalidName)?;
            *slot = component;
            components.count += 1;
        }
        Ok(components)
    }

    /// The components, in order from the top of `/...`.
    pub(crate) fn as_slice(&self) -> &[&'name [u8]] {
        &self.parts[..self.count]
    }
}

/// Writes a byte-string name for people: printable ASCII as is, anything else
/// escaped (`\n`, `\xff`), so a hostile name cannot garble a console or a log.
pub(crate) struct DisplayName<'name>(pub(crate) &'name [u8]);

impl fmt::Display for DisplayName<'_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}", self.0.escape_ascii())
    }
}

impl fmt::Debug for DisplayName<'_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "\"{}\"", self.0.escape_ascii())
    }
}

/// Decimal digits of the largest `u32`, 4294967295.
const MAX_DECIMAL_DIGITS: usize = 10;

/// A decimal name such as `3`, for a launcher to expose an argument as
/// `/.../3/true` (DESIGN §7).
///
/// Stored inline (no allocation), so a launcher or the kernel can make one
/// anywhere. Always a valid component.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FreshName {
    number: u32,
    digits: [u8; MAX_DECIMAL_DIGITS],
    length: u8,
}

impl FreshName {
    /// The name spelling `number` in decimal, without leading zeros.
    ///
    /// Return values: the name; this cannot fail.
    pub fn from_number(number: u32) -> Self {
        let mut reversed = [0u8; MAX_DECIMAL_DIGITS];
        let mut length = 0;
        let mut rest = number;
        loop {
            // `rest % 10 < 10`, so the cast cannot truncate.
            reversed[length] = b'0' + (rest % 10) as u8;
            length += 1;
            rest /= 10;
            if rest == 0 {
                break;
            }
        }
        let mut digits = [0u8; MAX_DECIMAL_DIGITS];
        for (slot, digit) in digits.iter_mut().zip(reversed[..length].iter().rev()) {
            *slot = *digit;
        }
        FreshName {
            number,
            digits,
            // At most MAX_DECIMAL_DIGITS (10), so it fits a `u8`.
            length: length as u8,
        }
    }

    /// The number this name spells.
    pub fn number(&self) -> u32 {
        self.number
    }

    /// The name's bytes, e.g. `b"3"`.
    pub fn as_bytes(&self) -> &[u8] {
        &self.digits[..usize::from(self.length)]
    }
}

impl AsRef<[u8]> for FreshName {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl fmt::Display for FreshName {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}", self.number)
    }
}

impl fmt::Debug for FreshName {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "FreshName({})", self.number)
    }
}

/// The decimal names `1`, `2`, `3`, … for which `is_taken_fn` answers `false`,
/// in increasing order.
///
/// This is the rule [`Namespace::fresh_name`](crate::Namespace::fresh_name)
/// follows, offered apart from a [`Namespace`](crate::Namespace) for a
/// launcher in user space: it knows the top-level names it keeps (the
/// arguments already under `/...`, DESIGN §7) and needs one fresh name per
/// other argument, none colliding with the kept ones or with each other.
/// Numbering starts at 1 so the first argument reads `/.../1/…`.
///
/// Return values: an iterator that ends only after `4294967295`; if
/// `is_taken_fn` answers `true` for finitely many names, every name it yields
/// is free and they are all different.
pub fn fresh_names<IsTakenFn>(mut is_taken_fn: IsTakenFn) -> impl Iterator<Item = FreshName>
where
    IsTakenFn: FnMut(&[u8]) -> bool,
{
    (1..=u32::MAX)
        .map(FreshName::from_number)
        .filter(move |name| !is_taken_fn(name.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;

    #[test]
    fn accepts_ordinary_names() {
        for name in [
            &b"home"[..],
            b"home/alice",
            b"rocknroll/blues.dat",
            b"3/true",
            b".hidden",
            b"a..b",
            b"...x",
            b"x...",
            b"\xff\xfe/caf\xc3\xa9",
            b" ",
        ] {
            assert_eq!(validate_name(name), Ok(()), "{:?}", DisplayName(name));
        }
    }

    #[test]
    fn rejects_empty_and_dot_only_components() {
        for name in [
            &b""[..],
            b"/",
            b"/home",
            b"home/",
            b"home//alice",
            b".",
            b"..",
            b"...",
            b"....",
            b"home/.",
            b"home/../etc",
            b"home/.../x",
            b"a\0b",
            b"\0",
        ] {
            assert_eq!(
                validate_name(name),
                Err(Error::InvalidName),
                "{:?}",
                DisplayName(name)
            );
        }
    }

    #[test]
    fn enforces_length_and_depth_bounds() {
        let longest_component = vec![b'c'; MAX_COMPONENT_LENGTH];
        assert_eq!(validate_name(&longest_component), Ok(()));
        let too_long_component = vec![b'c'; MAX_COMPONENT_LENGTH + 1];
        assert_eq!(validate_name(&too_long_component), Err(Error::InvalidName));

        let deepest: Vec<u8> = vec![&b"d"[..]; MAX_DEPTH].join(&b'/');
        assert_eq!(validate_name(&deepest), Ok(()));
        let too_deep: Vec<u8> = vec![&b"d"[..]; MAX_DEPTH + 1].join(&b'/');
        assert_eq!(validate_name(&too_deep), Err(Error::InvalidName));

        // Four components of 255 bytes and their separators: 1023 bytes.
        let long_parts = [&longest_component[..]; 4];
        let longest_name = long_parts.join(&b'/');
        assert_eq!(longest_name.len(), 4 * MAX_COMPONENT_LENGTH + 3);
        assert!(longest_name.len() <= MAX_NAME_LENGTH);
        assert_eq!(validate_name(&longest_name), Ok(()));
        let mut too_long_name = longest_name.clone();
        too_long_name.extend_from_slice(b"/xy");
        assert!(too_long_name.len() > MAX_NAME_LENGTH);
        assert_eq!(validate_name(&too_long_name), Err(Error::InvalidName));
    }

    #[test]
    fn component_check_rejects_separator() {
        assert_eq!(validate_component(b"a/b"), Err(Error::InvalidName));
        assert_eq!(validate_component(b"ab"), Ok(()));
    }

    #[test]
    fn components_split_in_order() {
        let components = Components::parse(b"rocknroll/blues.dat").unwrap();
        assert_eq!(components.as_slice(), &[&b"rocknroll"[..], b"blues.dat"]);
    }

    #[test]
    fn fresh_names_spell_decimal_numbers() {
        for (number, spelling) in [
            (0, &b"0"[..]),
            (1, b"1"),
            (10, b"10"),
            (307, b"307"),
            (u32::MAX, b"4294967295"),
        ] {
            let name = FreshName::from_number(number);
            assert_eq!(name.as_bytes(), spelling);
            assert_eq!(name.number(), number);
            assert_eq!(validate_name(name.as_bytes()), Ok(()));
        }
    }

    #[test]
    fn fresh_names_skip_taken_ones() {
        let taken = [&b"1"[..], b"2", b"4", b"01"];
        let names: Vec<u32> = fresh_names(|name| taken.contains(&name))
            .take(3)
            .map(|name| name.number())
            .collect();
        assert_eq!(names, [3, 5, 6]);
    }

    #[test]
    fn display_escapes_unprintable_bytes() {
        let shown = alloc::format!("{}", DisplayName(b"a\nb\xff"));
        assert_eq!(shown, "a\\nb\\xff");
    }
}
