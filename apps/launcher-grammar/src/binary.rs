// SPDX-License-Identifier: MIT OR Apache-2.0
//! The compact binary form of a [`Grammar`]: what the image builder embeds
//! into each launcher copy, and what the launcher reads on every command.
//!
//! Version 2, every integer little-endian:
//!
//! ```text
//! u8  version = 2
//! u8  flags: bit 0 = intermixed; other bits 0
//! u8  option count
//!     per option: u8 short (0 = none), u8 value (0 = flag, else a kind
//!     code), u8 long length (0 = none), long bytes,
//!     u8 operands: bit 0 = positional kinds follow, bit 1 = a rest kind
//!     follows; other bits 0; then u8 count and one kind code each, then
//!     the rest kind code (not 0)
//! u8  positional count, then one kind code each
//! u8  rest kind code (0 = none)
//! u16 min, u16 max (0xffff = none)
//! u8  default count, then per default: u16 length, bytes
//! u8  inherit count, then per name: u8 access (0 read-only, 1
//!     read-write), u16 length, bytes
//! ```
//!
//! Nothing may follow, and the inherited names are sorted (as
//! [`Grammar::new`] keeps them), so a grammar has exactly one form.
//! [`from_bytes`] reads it with bounds checks only
//! (no index can panic), refuses anything [`Grammar::new`] would refuse
//! and anything it cannot read back identically, so a launcher given
//! hostile bytes stops with an error.

use crate::grammar::{
    Grammar, GrammarError, GrammarParts, Inherit, Operands, OptionSpec, MAX_GRAMMAR_BYTES,
};
use crate::kind::{Access, Kind};
use alloc::string::String;
use alloc::vec::Vec;

/// The version [`to_bytes`] writes and [`from_bytes`] reads.
pub const VERSION: u8 = 2;

const OPERANDS_POSITIONAL: u8 = 1;
const OPERANDS_REST: u8 = 2;

const FLAG_INTERMIXED: u8 = 1;
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
            });
            4 + option.long.as_ref().map_or(0, String::len) + operands
        })
        .sum();
    let defaults: usize = parts.defaults.iter().map(|default| 2 + default.len()).sum();
    let inherit: usize = parts.inherit.iter().map(|name| 3 + name.name.len()).sum();
    3 + options + 1 + parts.positional.len() + 1 + 4 + 1 + defaults + 1 + inherit
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
    out.push(if parts.intermixed { FLAG_INTERMIXED } else { 0 });
    out.push(parts.options.len() as u8);
    for option in &parts.options {
        out.push(option.short.unwrap_or(0));
        out.push(option.value.map_or(0, Kind::code));
        let long = option.long.as_deref().unwrap_or("").as_bytes();
        out.push(long.len() as u8);
        out.extend_from_slice(long);
        let operands = option.operands.as_ref();
        let positional = operands.and_then(|operands| operands.positional.as_ref());
        let rest = operands.and_then(|operands| operands.rest);
        let mut flags = 0;
        if positional.is_some() {
            flags |= OPERANDS_POSITIONAL;
        }
        if rest.is_some() {
            flags |= OPERANDS_REST;
        }
        out.push(flags);
        if let Some(kinds) = positional {
            out.push(kinds.len() as u8);
            out.extend(kinds.iter().map(|kind| kind.code()));
        }
        if let Some(rest) = rest {
            out.push(rest.code());
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
        out.push(match inherit.access {
            Access::ReadOnly => 0,
            Access::ReadWrite => 1,
        });
        out.extend_from_slice(&(inherit.name.len() as u16).to_le_bytes());
        out.extend_from_slice(&inherit.name);
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
    if flags & !FLAG_INTERMIXED != 0 {
        return Err(GrammarError::BadCode(flags));
    }
    let mut parts = GrammarParts {
        intermixed: flags & FLAG_INTERMIXED != 0,
        ..GrammarParts::default()
    };
    for _ in 0..reader.byte()? {
        let short = match reader.byte()? {
            0 => None,
            short => Some(short),
        };
        let value = reader.kind()?;
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
        if flags & !(OPERANDS_POSITIONAL | OPERANDS_REST) != 0 {
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
        // An empty `operands` is written as none: refused, so that every
        // grammar has one form.
        let operands = (flags != 0).then_some(Operands { positional, rest });
        parts.options.push(OptionSpec {
            short,
            long,
            value,
            operands,
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
        let access = match reader.byte()? {
            0 => Access::ReadOnly,
            1 => Access::ReadWrite,
            code => return Err(GrammarError::BadCode(code)),
        };
        let length = usize::from(reader.u16()?);
        let name = reader.bytes(length)?.to_vec();
        parts.inherit.push(Inherit { name, access });
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
                    },
                ),
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
        assert_eq!(to_bytes(&empty), [2, 1, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0]);
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
        let bytes = [2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0];
        assert_eq!(
            from_bytes(&bytes),
            Err(GrammarError::OptionWithoutName { index: 0 })
        );
        // `-s`: with it, no leading kinds and every operand a word.
        let bytes = [2, 1, 1, b's', 0, 0, 3, 0, 6, 0, 0, 0, 0, 0xff, 0xff, 0, 0];
        let grammar = from_bytes(&bytes).unwrap();
        let operands = grammar.parts().options[0].operands.clone().unwrap();
        assert_eq!(operands.positional, Some(vec![]));
        assert_eq!(operands.rest, Some(Kind::Word));
        // Bits beyond the two are refused, and so is a rest code of 0.
        let mut bad = bytes;
        bad[6] = 4;
        let mut no_rest = bytes;
        no_rest[8] = 0;
        assert_eq!(from_bytes(&no_rest), Err(GrammarError::BadCode(0)));
        assert_eq!(from_bytes(&bad), Err(GrammarError::BadCode(4)));
    }
}
