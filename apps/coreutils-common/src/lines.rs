// SPDX-License-Identifier: MIT OR Apache-2.0
//! Line arithmetic for `head`, `tail` and `cat -n`, over chunks.
//!
//! - [`Limit`]: how much of each chunk `head` passes on, stopping after N
//!   lines or N bytes;
//! - [`Skip`]: how much of each chunk `tail -n +N` drops first;
//! - [`BackwardScan`]: where the last N lines of a file start, fed
//!   blocks from the end backwards (`tail` on a seekable file reads only
//!   what it prints, as GNU `tail` does);
//! - [`Numberer`]: `cat -n`'s line numbers (`%6d\t`, as GNU `cat`).

use core::fmt::Write;

/// The unit of a [`Limit`] or [`Skip`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Lines (ended by `\n`).
    Lines,
    /// Bytes.
    Bytes,
}

/// Passes the first `remaining` lines or bytes of a stream.
#[derive(Clone, Copy, Debug)]
pub struct Limit {
    unit: Unit,
    remaining: u64,
}

impl Limit {
    /// The first `count` units.
    pub fn new(unit: Unit, count: u64) -> Limit {
        Limit {
            unit,
            remaining: count,
        }
    }

    /// Whether nothing more will pass.
    pub fn done(&self) -> bool {
        self.remaining == 0
    }

    /// How many bytes at the start of `chunk` pass.
    pub fn take(&mut self, chunk: &[u8]) -> usize {
        match self.unit {
            Unit::Bytes => {
                let taken = (chunk.len() as u64).min(self.remaining);
                self.remaining -= taken;
                taken as usize
            }
            Unit::Lines => {
                if self.remaining == 0 {
                    return 0;
                }
                for (index, &byte) in chunk.iter().enumerate() {
                    if byte == b'\n' {
                        self.remaining -= 1;
                        if self.remaining == 0 {
                            return index + 1;
                        }
                    }
                }
                chunk.len()
            }
        }
    }
}

/// Drops the first `count` lines or bytes of a stream (`tail -n +N`
/// drops N-1).
#[derive(Clone, Copy, Debug)]
pub struct Skip(Limit);

impl Skip {
    /// Skip the first `count` units.
    pub fn new(unit: Unit, count: u64) -> Skip {
        Skip(Limit::new(unit, count))
    }

    /// How many bytes at the start of `chunk` are dropped (the rest
    /// passes).
    pub fn skip(&mut self, chunk: &[u8]) -> usize {
        self.0.take(chunk)
    }
}

/// Finds where the last `count` lines start, reading backwards.
///
/// Feed blocks from the end of the file towards its start; a final
/// newline ends the last line and does not start another (the caller
/// leaves the file's last byte out of the first block fed when it is
/// `\n`, or calls [`BackwardScan::new_for`]).
#[derive(Clone, Copy, Debug)]
pub struct BackwardScan {
    newlines_wanted: u64,
}

impl BackwardScan {
    /// The start of the last `count` lines.
    pub fn new(count: u64) -> BackwardScan {
        BackwardScan {
            newlines_wanted: count,
        }
    }

    /// Feeds `block`, which ends where the previously fed one began.
    /// Returns the index in `block` where the last `count` lines begin,
    /// once found; `None` means: feed the block before this one (or, at
    /// the start of the file, the lines begin at offset 0).
    pub fn feed(&mut self, block: &[u8]) -> Option<usize> {
        if self.newlines_wanted == 0 {
            return Some(block.len());
        }
        for (index, &byte) in block.iter().enumerate().rev() {
            if byte == b'\n' {
                self.newlines_wanted -= 1;
                if self.newlines_wanted == 0 {
                    return Some(index + 1);
                }
            }
        }
        None
    }
}

/// The start of the last `count` lines of `data` held whole in memory
/// (standard input kept by `tail`).
pub fn last_lines_start(data: &[u8], count: u64) -> usize {
    if count == 0 {
        return data.len();
    }
    let body = match data.last() {
        Some(b'\n') => &data[..data.len() - 1],
        _ => data,
    };
    BackwardScan::new(count).feed(body).unwrap_or(0)
}

/// Numbers lines as `cat -n` does: every line, the number right-aligned
/// in six columns, then a tab.
#[derive(Clone, Copy, Debug)]
pub struct Numberer {
    next: u64,
    at_line_start: bool,
}

impl Default for Numberer {
    fn default() -> Self {
        Numberer {
            next: 1,
            at_line_start: true,
        }
    }
}

impl Numberer {
    /// Copies `chunk` to `output` with numbers put before each line.
    pub fn number(&mut self, chunk: &[u8], output: &mut impl NumberedOutput) {
        let mut rest = chunk;
        while !rest.is_empty() {
            if self.at_line_start {
                output.number(self.next);
                self.next = self.next.saturating_add(1);
                self.at_line_start = false;
            }
            match rest.iter().position(|&byte| byte == b'\n') {
                Some(newline) => {
                    output.bytes(&rest[..=newline]);
                    rest = &rest[newline + 1..];
                    self.at_line_start = true;
                }
                None => {
                    output.bytes(rest);
                    rest = &[];
                }
            }
        }
    }
}

/// Where a [`Numberer`] writes.
pub trait NumberedOutput {
    /// Writes bytes of the input.
    fn bytes(&mut self, bytes: &[u8]);
    /// Writes a line number (`%6d\t`).
    fn number(&mut self, number: u64);
}

/// The `%6d\t` of a line number, formatted without allocating.
pub fn line_number(number: u64) -> NumberText {
    let mut text = NumberText {
        bytes: [b' '; 28],
        length: 0,
    };
    let _ = write!(text, "{number:>6}\t");
    text
}

/// A formatted line number.
#[derive(Clone, Copy, Debug)]
pub struct NumberText {
    bytes: [u8; 28],
    length: usize,
}

impl NumberText {
    /// The text.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.length]
    }
}

impl Write for NumberText {
    fn write_str(&mut self, text: &str) -> core::fmt::Result {
        let end = self.length + text.len();
        let place = self
            .bytes
            .get_mut(self.length..end)
            .ok_or(core::fmt::Error)?;
        place.copy_from_slice(text.as_bytes());
        self.length = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn head(unit: Unit, count: u64, chunks: &[&[u8]]) -> Vec<u8> {
        let mut limit = Limit::new(unit, count);
        let mut out = Vec::new();
        for chunk in chunks {
            let taken = limit.take(chunk);
            out.extend_from_slice(&chunk[..taken]);
        }
        out
    }

    #[test]
    fn limits() {
        assert_eq!(head(Unit::Lines, 2, &[b"a\nb", b"\nc\n"]), b"a\nb\n");
        assert_eq!(head(Unit::Lines, 5, &[b"a\nb"]), b"a\nb");
        assert_eq!(head(Unit::Lines, 0, &[b"a\nb"]), b"");
        assert_eq!(head(Unit::Bytes, 3, &[b"ab", b"cd"]), b"abc");
        assert_eq!(head(Unit::Bytes, u64::MAX, &[b"ab", b"cd"]), b"abcd");
        let mut limit = Limit::new(Unit::Lines, 1);
        assert!(!limit.done());
        assert_eq!(limit.take(b"x\ny"), 2);
        assert!(limit.done());
    }

    #[test]
    fn skips() {
        let mut skip = Skip::new(Unit::Lines, 2);
        assert_eq!(skip.skip(b"1\n2"), 3);
        assert_eq!(skip.skip(b"\n3\n"), 1);
        assert_eq!(skip.skip(b"4\n"), 0);
        let mut skip = Skip::new(Unit::Bytes, 3);
        assert_eq!(skip.skip(b"ab"), 2);
        assert_eq!(skip.skip(b"cd"), 1);
    }

    #[test]
    fn backward_scan_over_blocks() {
        let file = b"one\ntwo\nthree\nfour\n";
        // The last two lines, blocks of 3 from the end, final \n left out.
        let body = &file[..file.len() - 1];
        let mut scan = BackwardScan::new(2);
        let mut end = body.len();
        let start = loop {
            let begin = end.saturating_sub(3);
            if let Some(index) = scan.feed(&body[begin..end]) {
                break begin + index;
            }
            if begin == 0 {
                break 0;
            }
            end = begin;
        };
        assert_eq!(&file[start..], b"three\nfour\n");
    }

    #[test]
    fn last_lines_in_memory() {
        assert_eq!(last_lines_start(b"a\nb\nc\n", 2), 2);
        assert_eq!(last_lines_start(b"a\nb\nc", 2), 2);
        assert_eq!(last_lines_start(b"a\nb\nc", 10), 0);
        assert_eq!(last_lines_start(b"a\nb\nc", 0), 5);
        assert_eq!(last_lines_start(b"", 3), 0);
        assert_eq!(last_lines_start(b"\n\n", 1), 1);
    }

    struct Collect(Vec<u8>);

    impl NumberedOutput for Collect {
        fn bytes(&mut self, bytes: &[u8]) {
            self.0.extend_from_slice(bytes);
        }
        fn number(&mut self, number: u64) {
            self.0.extend_from_slice(line_number(number).as_bytes());
        }
    }

    #[test]
    fn numbering_across_chunks() {
        let mut numberer = Numberer::default();
        let mut out = Collect(Vec::new());
        numberer.number(b"first\nsec", &mut out);
        numberer.number(b"ond\n\nlast", &mut out);
        assert_eq!(
            out.0,
            b"     1\tfirst\n     2\tsecond\n     3\t\n     4\tlast".as_slice()
        );
        assert_eq!(line_number(u64::MAX).as_bytes(), b"18446744073709551615\t");
    }
}
