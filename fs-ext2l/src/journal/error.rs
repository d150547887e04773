// SPDX-License-Identifier: MIT OR Apache-2.0
//! Why bytes are not a journal structure: the parsers' error type.
//!
//! Every parser of the journal's blocks (`superblock.rs`, `blocks.rs`)
//! returns a [`FormatError`] for bytes it cannot accept, never a panic.
//! Recovery turns most of them into the end of the log (a block that does
//! not parse is where the valid log stops); the superblock's become
//! [`Error::Corrupt`] through the `From` conversion, since a journal whose
//! superblock is unreadable cannot be replayed at all.

use core::fmt;

use crate::error::{Corruption, Error};

/// What is wrong with a journal block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormatError {
    /// The buffer is shorter than the structure it should hold.
    Truncated,
    /// The block does not start with the JBD2 magic number `0xC03B3998`.
    BadMagic,
    /// The block header names another type than the one expected.
    UnexpectedBlockType {
        /// `h_blocktype` as found.
        found: u32,
    },
    /// A checksum stored in the block does not match its contents.
    BadChecksum,
    /// A field is out of range; the text names it.
    BadField(&'static str),
    /// The journal uses a format or feature this library does not
    /// implement (a superblock version other than 1 and 2, fast commits,
    /// read-only compatible features, a journal shared by several file
    /// systems).
    Unsupported(&'static str),
}

impl FormatError {
    /// The error as a static description.
    pub fn reason(&self) -> &'static str {
        match self {
            FormatError::Truncated => "journal block shorter than its structure",
            FormatError::BadMagic => "journal block without the JBD2 magic number",
            FormatError::UnexpectedBlockType { .. } => "journal block of an unexpected type",
            FormatError::BadChecksum => "journal block checksum does not match",
            FormatError::BadField(reason) | FormatError::Unsupported(reason) => reason,
        }
    }
}

impl fmt::Display for FormatError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FormatError::UnexpectedBlockType { found } => {
                write!(formatter, "{} ({found})", self.reason())
            }
            _ => write!(formatter, "{}", self.reason()),
        }
    }
}

impl From<FormatError> for Error {
    /// Every format error is damage (or a format this library cannot
    /// read) in the on-disk journal: [`Error::Corrupt`] with the reason.
    fn from(error: FormatError) -> Self {
        Error::Corrupt(Corruption {
            reason: error.reason(),
            inode: super::JOURNAL_INODE,
            block: 0,
        })
    }
}
