// SPDX-License-Identifier: MIT OR Apache-2.0
//! The compact binary form of a [`Grammar`]: what the image builder embeds
//! into each launcher copy, and what the launcher reads on every command.
//!
//! Version 3, every integer little-endian:
//!
//! ```text
//! u8  version = 3
//! u8  flags: bit 0 = intermixed, bit 1 = bundled-first, bit 2 =
//!     operands-first; other bits 0
//! u8  option count
//!     per option: u8 short (0 = none), u8 value (0 = flag, else a kind
//!     code), u8 style (bit 0 = single-dash, bit 1 = command; other
//!     bits 0), u8 long length (0 = none), long bytes,
//!     u8 operands: bit 0 = positional kinds follow, bit 1 = a rest kind
//!     follows, bit 2 = value changes follow, bit 3 = a directory access
//!     follows; other bits 0; then u8 count and one kind code each, then
//!     the rest kind code (not 0), then u8 count (not 0) and per change
//!     u8 option index, u8 kind code, then u8 access (0 read-only, 1
//!     read-write)
//! u8  positional count, then one kind code each
//! u8  rest kind code (0 = none)
//! u16 min, u16 max (0xffff = none)
//! u8  default count, then per default: u16 length, bytes
//! u8  inherit count, then per name: u8 access (0 read-only, 1
//!     read-write), u16 length, bytes
//! u8  operand-end count, then per word: u8 length, bytes
//! ```
//!
//! Nothing may follow, the inherited names are sorted (as
//! [`Grammar::new`] keeps them) and value changes are in option order
//! (as it requires), so a grammar has exactly one form.
//! [`from_bytes`] reads it with bounds checks only
//! (no index can panic), refuses anything [`Grammar::new`] would refuse
//! and anything it cannot read back identically, so a launcher given
//! hostile bytes stops with an error.

use crate::grammar::{
    Grammar, GrammarError, GrammarParts, Inherit, Operands, OptionSpec, ValueChange,
    MAX_GRAMMAR_BYTES,
};
use crate::kind::{Access, Kind};
use alloc::string::String;
use alloc::vec::Vec;

/// The version [`to_bytes`] writes and [`from_bytes`] reads.
pub const VERSION: u8 = 3;

const OPERANDS_POSITIONAL: u8 = 1;
const OPERANDS_REST: u8 = 2;
const OPERANDS_VALUES: u8 = 4;
const OPERANDS_DIRECTORY: u8 = 8;
const OPERANDS_ALL: u8 = 15;

const STYLE_SINGLE_DASH: u8 = 1;
const STYLE_COMMAND: u8 = 2;

const FLAG_INTERMIXED: u8 = 1;
const FLAG_BUNDLED_FIRST: u8 = 2;
const FLAG_OPERANDS_FIRST: u8 = 4;
const FLAGS_ALL: u8 = 7;
const NO_MAX: u16 = 0xffff;

/// The length of `grammar`'s binary form, without building it.
pub(crate) fn encoded_length(grammar: &Grammar) -> usize {
    let parts = grammar.parts();
    let options: usize = parts
        .options
        .iter()
        .map(|option| {
            let operands = option.operands.as_ref().map_or(0, |operands| {
                operands
                    .positional
                    .as_ref()
                    .map_or(0, |kinds| 1 + kinds.len())
                    + usize::from(operands.rest.is_some())
                    + if operands.values.is_empty() {
                        0
                    } else {
                        1 + 2 * operands.values.len()
                    }
                    + usize::from(operands.directory.is_some())
            });
            5 + option.long.as_ref().map_or(0, String::len) + operands
        })
        .sum();
    let defaults: usize = parts.defaults.iter().map(|default| 2 + default.len()).sum();
    let inherit: usize = parts.inherit.iter().map(|name| 3 + name.name.len()).sum();
    let ends: usize = parts.operand_ends.iter().map(|word| 1 + word.len()).sum();
    3 + options + 1 + parts.positional.len() + 1 + 4 + 1 + defaults + 1 + inherit + 1 + ends
}

fn access_code(access: Access) -> u8 {
    match access {
        Access::ReadOnly => 0,
        Access::ReadWrite => 1,
    }
}

/// Writes `grammar` in the binary form. A [`Grammar`] is always valid, so
/// this cannot fail; the result is at most [`MAX_GRAMMAR_BYTES`] long.
pub fn to_bytes(grammar: &Grammar) -> Vec<u8> {
    let parts = grammar.parts();
    let mut out = Vec::with_capacity(encoded_length(grammar));
    // Every count and length below is bounded by `Grammar::new`'s limits
    // (64 options, 32 kinds, 16 defaults of 1024 bytes, 16 names of 1024
    // bytes), so the narrowing casts cannot truncate.
    out.push(VERSION);
    let mut flags = 0;
    for (set, bit) in [
        (parts.intermixed, FLAG_INTERMIXED),
        (parts.bundled_first, FLAG_BUNDLED_FIRST),
        (parts.operands_first, FLAG_OPERANDS_FIRST),
    ] {
        if set {
            flags |= bit;
        }
    }
    out.push(flags);
    out.push(parts.options.len() as u8);
    for option in &parts.options {
        out.push(option.short.unwrap_or(0));
        out.push(option.value.map_or(0, Kind::code));
        let mut style = 0;
        if option.single_dash {
            style |= STYLE_SINGLE_DASH;
        }
        if option.command {
            style |= STYLE_COMMAND;
        }
        out.push(style);
        let long = option.long.as_deref().unwrap_or("").as_bytes();
        out.push(long.len() as u8);
        out.extend_from_slice(long);
        let operands = option.operands.as_ref();
        let positional = operands.and_then(|operands| operands.positional.as_ref());
        let rest = operands.and_then(|operands| operands.rest);
        let values = operands.map_or(&[][..], |operands| &operands.values[..]);
        let directory = operands.and_then(|operands| operands.directory);
        let mut flags = 0;
        if positional.is_some() {
            flags |= OPERANDS_POSITIONAL;
        }
        if rest.is_some() {
            flags |= OPERANDS_REST;
        }
        if !values.is_empty() {
            flags |= OPERANDS_VALUES;
        }
        if directory.is_some() {
            flags |= OPERANDS_DIRECTORY;
        }
        out.push(flags);
        if let Some(kinds) = positional {
            out.push(kinds.len() as u8);
            out.extend(kinds.iter().map(|kind| kind.code()));
        }
        if let Some(rest) = rest {
            out.push(rest.code());
        }
        if !values.is_empty() {
            // At most one change per option: fewer than 64.
            out.push(values.len() as u8);
            for change in values {
                out.push(change.option as u8);
                out.push(change.kind.code());
            }
        }
        if let Some(access) = directory {
            out.push(access_code(access));
        }
    }
    out.push(parts.positional.len() as u8);
    out.extend(parts.positional.iter().map(|kind| kind.code()));
    out.push(parts.rest.map_or(0, Kind::code));
    out.extend_from_slice(&parts.min.to_le_bytes());
    out.extend_from_slice(&parts.max.unwrap_or(NO_MAX).to_le_bytes());
    out.push(parts.defaults.len() as u8);
    for default in &parts.defaults {
        out.extend_from_slice(&(default.len() as u16).to_le_bytes());
        out.extend_from_slice(default);
    }
    out.push(parts.inherit.len() as u8);
    for inherit in &parts.inherit {
        out.push(access_code(inherit.access));
        out.extend_from_slice(&(inherit.name.len() as u16).to_le_bytes());
        out.extend_from_slice(&inherit.name);
    }
    // At most 8 words of at most 16 bytes.
    out.push(parts.operand_ends.len() as u8);
    for word in &parts.operand_ends {
        out.push(word.len() as u8);
        out.extend_from_slice(word);
    }
    out
}

/// A bounds-checked reader over untrusted bytes.
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, GrammarError> {
        let (&first, rest) = self.rest.split_first().ok_or(GrammarError::Truncated)?;
        self.rest = rest;
        Ok(first)
    }

    fn u16(&mut self) -> Result<u16, GrammarError> {
        Ok(u16::from_le_bytes([self.byte()?, self.byte()?]))
    }

    fn bytes(&mut self, length: usize) -> Result<&'a [u8], GrammarError> {
        if length > self.rest.len() {
            return Err(GrammarError::Truncated);
        }
        let (taken, rest) = self.rest.split_at(length);
        self.rest = rest;
        Ok(taken)
    }

    /// A count, then that many kind codes (none 0).
    fn kinds(&mut self) -> Result<Vec<Kind>, GrammarError> {
        let count = self.byte()?;
        let mut kinds = Vec::with_capacity(usize::from(count));
        for _ in 0..count {
            kinds.push(self.kind()?.ok_or(GrammarError::BadCode(0))?);
        }
        Ok(kinds)
    }

    fn access(&mut self) -> Result<Access, GrammarError> {
        match self.byte()? {
            0 => Ok(Access::ReadOnly),
            1 => Ok(Access::ReadWrite),
            code => Err(GrammarError::BadCode(code)),
        }
    }

    fn kind(&mut self) -> Result<Option<Kind>, GrammarError> {
        match self.byte()? {
            0 => Ok(None),
            code => Kind::from_code(code)
                .map(Some)
                .ok_or(GrammarError::BadCode(code)),
        }
    }
}

/// Reads a grammar in the binary form. Safe on any input: it never
/// panics, allocates at most about the input's size, and returns only
/// grammars [`Grammar::new`] accepts.
///
/// Return values:
/// - `Ok(grammar)`;
/// - [`GrammarError::UnsupportedVersion`], [`GrammarError::Truncated`],
///   [`GrammarError::TrailingBytes`], [`GrammarError::BadCode`],
///   [`GrammarError::TooLarge`], [`GrammarError::NotCanonical`], or any
///   rule [`Grammar::new`] checks.
pub fn from_bytes(bytes: &[u8]) -> Result<Grammar, GrammarError> {
    if bytes.len() > MAX_GRAMMAR_BYTES {
        return Err(GrammarError::TooLarge);
    }
    let mut reader = Reader { rest: bytes };
    let version = reader.byte()?;
    if version != VERSION {
        return Err(GrammarError::UnsupportedVersion(version));
    }
    let flags = reader.byte()?;
    if flags & !FLAGS_ALL != 0 {
        return Err(GrammarError::BadCode(flags));
    }
    let mut parts = GrammarParts {
        intermixed: flags & FLAG_INTERMIXED != 0,
        bundled_first: flags & FLAG_BUNDLED_FIRST != 0,
        operands_first: flags & FLAG_OPERANDS_FIRST != 0,
        ..GrammarParts::default()
    };
    for _ in 0..reader.byte()? {
        let short = match reader.byte()? {
            0 => None,
            short => Some(short),
        };
        let value = reader.kind()?;
        let style = reader.byte()?;
        if style & !(STYLE_SINGLE_DASH | STYLE_COMMAND) != 0 {
            return Err(GrammarError::BadCode(style));
        }
        let length = usize::from(reader.byte()?);
        let long = match length {
            0 => None,
            _ => Some(
                core::str::from_utf8(reader.bytes(length)?)
                    .map_err(|_| GrammarError::InvalidLongOption {
                        index: parts.options.len(),
                    })?
                    .into(),
            ),
        };
        let flags = reader.byte()?;
        if flags & !OPERANDS_ALL != 0 {
            return Err(GrammarError::BadCode(flags));
        }
        let positional = match flags & OPERANDS_POSITIONAL {
            0 => None,
            _ => Some(reader.kinds()?),
        };
        let rest = match flags & OPERANDS_REST {
            0 => None,
            _ => Some(reader.kind()?.ok_or(GrammarError::BadCode(0))?),
        };
        let mut values = Vec::new();
        if flags & OPERANDS_VALUES != 0 {
            // No changes is written without the bit: refused, so that
            // every grammar has one form.
            let count = reader.byte()?;
            if count == 0 {
                return Err(GrammarError::BadCode(0));
            }
            for _ in 0..count {
                let option = usize::from(reader.byte()?);
                let kind = reader.kind()?.ok_or(GrammarError::BadCode(0))?;
                values.push(ValueChange { option, kind });
            }
        }
        let directory = match flags & OPERANDS_DIRECTORY {
            0 => None,
            _ => Some(reader.access()?),
        };
        // An empty `operands` is written as none: refused, so that every
        // grammar has one form.
        let operands = (flags != 0).then_some(Operands {
            positional,
            rest,
            values,
            directory,
        });
        parts.options.push(OptionSpec {
            short,
            long,
            value,
            operands,
            single_dash: style & STYLE_SINGLE_DASH != 0,
            command: style & STYLE_COMMAND != 0,
        });
    }
    parts.positional = reader.kinds()?;
    parts.rest = reader.kind()?;
    parts.min = reader.u16()?;
    parts.max = match reader.u16()? {
        NO_MAX => None,
        max => Some(max),
    };
    for _ in 0..reader.byte()? {
        let length = usize::from(reader.u16()?);
        parts.defaults.push(reader.bytes(length)?.to_vec());
    }
    for _ in 0..reader.byte()? {
        let access = reader.access()?;
        let length = usize::from(reader.u16()?);
        let name = reader.bytes(length)?.to_vec();
        parts.inherit.push(Inherit { name, access });
    }
    for _ in 0..reader.byte()? {
        let length = usize::from(reader.byte()?);
        parts.operand_ends.push(reader.bytes(length)?.to_vec());
    }
    if !reader.rest.is_empty() {
        return Err(GrammarError::TrailingBytes);
    }
    let inherit = parts.inherit.clone();
    let grammar = Grammar::new(parts)?;
    if grammar.parts().inherit != inherit {
        return Err(GrammarError::NotCanonical);
    }
    Ok(grammar)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn sample() -> Grammar {
        Grammar::new(GrammarParts {
            options: vec![
                OptionSpec::flag(Some(b'n'), Some("number")),
                OptionSpec::with_value(Some(b'o'), None, Kind::Output),
                OptionSpec::with_value(None, Some("lines"), Kind::Word),
                OptionSpec::switch(
                    Some(b's'),
                    None,
                    Operands {
                        positional: Some(vec![Kind::Word, Kind::EntryParents]),
                        rest: Some(Kind::Entry),
                        values: vec![ValueChange {
                            option: 1,
                            kind: Kind::Update,
                        }],
                        directory: Some(Access::ReadWrite),
                    },
                ),
                OptionSpec::single_dash("name", Some(Kind::Word)),
                OptionSpec::command("exec"),
            ],
            positional: vec![Kind::Word],
            rest: Some(Kind::Input),
            min: 1,
            max: Some(9),
            defaults: vec![b"x".to_vec()],
            inherit: vec![Inherit {
                name: b"home".to_vec(),
                access: Access::ReadWrite,
            }],
            intermixed: false,
            bundled_first: true,
            operands_first: true,
            operand_ends: vec![b"!".to_vec()],
        })
        .unwrap()
    }

    #[test]
    fn round_trips_and_the_length_is_exact() {
        let grammar = sample();
        let bytes = to_bytes(&grammar);
        assert_eq!(bytes.len(), encoded_length(&grammar));
        assert_eq!(from_bytes(&bytes), Ok(grammar));
        let empty = Grammar::empty();
        assert_eq!(to_bytes(&empty), [3, 1, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0]);
        assert_eq!(from_bytes(&to_bytes(&empty)), Ok(empty));
    }

    #[test]
    fn damaged_forms_are_refused() {
        let bytes = to_bytes(&sample());
        for cut in 0..bytes.len() {
            assert!(from_bytes(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(from_bytes(&longer), Err(GrammarError::TrailingBytes));
        let mut version = bytes.clone();
        version[0] = 1;
        assert_eq!(
            from_bytes(&version),
            Err(GrammarError::UnsupportedVersion(1))
        );
        let mut flags = bytes.clone();
        flags[1] = 0x80;
        assert_eq!(from_bytes(&flags), Err(GrammarError::BadCode(0x80)));
        let mut kind = bytes;
        kind[4] = 9; // the first option's value
        assert_eq!(from_bytes(&kind), Err(GrammarError::BadCode(9)));
        assert_eq!(
            from_bytes(&vec![0; MAX_GRAMMAR_BYTES + 1]),
            Err(GrammarError::TooLarge)
        );
    }

    #[test]
    fn rules_are_checked_on_reading() {
        // An option without a name.
        let bytes = [3, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0];
        assert_eq!(
            from_bytes(&bytes),
            Err(GrammarError::OptionWithoutName { index: 0 })
        );
        // `-s`: with it, no leading kinds and every operand a word.
        let bytes = [
            3, 1, 1, b's', 0, 0, 0, 3, 0, 6, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0,
        ];
        let grammar = from_bytes(&bytes).unwrap();
        let operands = grammar.parts().options[0].operands.clone().unwrap();
        assert_eq!(operands.positional, Some(vec![]));
        assert_eq!(operands.rest, Some(Kind::Word));
        // Bits beyond the two are refused, and so is a rest code of 0.
        let mut bad = bytes;
        bad[7] = 0x13;
        let mut no_rest = bytes;
        no_rest[9] = 0;
        assert_eq!(from_bytes(&no_rest), Err(GrammarError::BadCode(0)));
        assert_eq!(from_bytes(&bad), Err(GrammarError::BadCode(0x13)));
        // A style beyond single-dash and command is refused.
        let mut style = bytes;
        style[5] = 4;
        assert_eq!(from_bytes(&style), Err(GrammarError::BadCode(4)));
        // Value changes: a count of 0 is no form (the bit is left out),
        // and changes out of option order are refused.
        let tar = |first: u8, second: u8, count: u8| {
            let mut bytes = vec![3, 1, 3];
            bytes.extend([b'c', 0, 0, 0, 4, count]);
            if count > 0 {
                bytes.extend([first, 2, second, 1]);
            }
            bytes.extend([b'f', 6, 0, 0, 0]);
            bytes.extend([b'C', 4, 0, 0, 0]);
            bytes.extend([0, 6, 0, 0, 0xff, 0xff, 0, 0, 0]);
            bytes
        };
        let grammar = from_bytes(&tar(1, 2, 2)).unwrap();
        assert_eq!(to_bytes(&grammar), tar(1, 2, 2));
        assert_eq!(
            grammar.parts().options[0].operands.as_ref().unwrap().values,
            vec![
                ValueChange {
                    option: 1,
                    kind: Kind::Output
                },
                ValueChange {
                    option: 2,
                    kind: Kind::Input
                }
            ]
        );
        assert_eq!(from_bytes(&tar(1, 2, 0)), Err(GrammarError::BadCode(0)));
        for (first, second) in [(2, 1), (1, 1), (0, 1), (1, 3)] {
            assert_eq!(
                from_bytes(&tar(first, second, 2)),
                Err(GrammarError::InvalidOperands {
                    index: 0,
                    problem: crate::grammar::OperandsProblem::BadValue
                }),
                "{first} {second}"
            );
        }
    }
}
