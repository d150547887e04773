// SPDX-License-Identifier: MIT OR Apache-2.0
//! Counting lines, words and bytes for `wc`, chunk by chunk.
//!
//! A line is a newline byte (POSIX `wc`: "the number of <newline>
//! characters"); a word is a maximal run of bytes that are not ASCII
//! white space (space, `\t`, `\n`, `\v`, `\f`, `\r`). A word split
//! across two chunks counts once: [`Counter`] remembers whether the last
//! chunk ended inside one.

/// Counts so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Newlines.
    pub lines: u64,
    /// Words.
    pub words: u64,
    /// Bytes.
    pub bytes: u64,
}

impl Counts {
    /// Adds `other` (for the total), saturating.
    pub fn add(&mut self, other: &Counts) {
        self.lines = self.lines.saturating_add(other.lines);
        self.words = self.words.saturating_add(other.words);
        self.bytes = self.bytes.saturating_add(other.bytes);
    }
}

/// Counts a stream fed in chunks.
#[derive(Clone, Copy, Debug, Default)]
pub struct Counter {
    counts: Counts,
    in_word: bool,
}

fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

impl Counter {
    /// Counts `chunk`, the next bytes of the stream.
    pub fn feed(&mut self, chunk: &[u8]) {
        for &byte in chunk {
            if byte == b'\n' {
                self.counts.lines += 1;
            }
            if is_space(byte) {
                self.in_word = false;
            } else if !self.in_word {
                self.in_word = true;
                self.counts.words += 1;
            }
        }
        self.counts.bytes += chunk.len() as u64;
    }

    /// The counts of everything fed.
    pub fn counts(&self) -> Counts {
        self.counts
    }
}

/// The number of decimal digits of `value` (1 for 0): the column width
/// `wc` pads to.
pub fn digits(value: u64) -> usize {
    let mut digits = 1;
    let mut rest = value / 10;
    while rest > 0 {
        digits += 1;
        rest /= 10;
    }
    digits
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(chunks: &[&[u8]]) -> Counts {
        let mut counter = Counter::default();
        for chunk in chunks {
            counter.feed(chunk);
        }
        counter.counts()
    }

    #[test]
    fn lines_words_bytes() {
        let counts = count(&[b"hello world\nsecond  line\n\tlast"]);
        assert_eq!(
            counts,
            Counts {
                lines: 2,
                words: 5,
                bytes: 30
            }
        );
        assert_eq!(count(&[]), Counts::default());
        assert_eq!(count(&[b"\n\n"]).words, 0);
        assert_eq!(count(&[b"\xff\xfe \x00"]).words, 2);
    }

    #[test]
    fn a_word_across_chunks_counts_once() {
        assert_eq!(count(&[b"hel", b"lo wor", b"ld"]).words, 2);
        assert_eq!(count(&[b"a ", b" b"]).words, 2);
        assert_eq!(count(&[b"a", b"", b"b"]).words, 1);
    }

    #[test]
    fn totals_and_widths() {
        let mut total = Counts::default();
        total.add(&Counts {
            lines: 1,
            words: 2,
            bytes: u64::MAX,
        });
        total.add(&Counts {
            lines: 1,
            words: 2,
            bytes: 3,
        });
        assert_eq!((total.lines, total.words, total.bytes), (2, 4, u64::MAX));
        assert_eq!(digits(0), 1);
        assert_eq!(digits(9), 1);
        assert_eq!(digits(10), 2);
        assert_eq!(digits(u64::MAX), 20);
    }
}
