// SPDX-License-Identifier: MIT OR Apache-2.0
//! The grammar blob inside each launcher copy: its layout, how the image
//! builder writes it ([`embed`]) and how the launcher reads it
//! ([`read_blob`]).
//!
//! The launcher program reserves a static array of [`BLOB_BYTES`] bytes,
//! initialised by [`placeholder`]: [`MARKER`], a zero length, zeros. Once
//! built, that array lies in the launcher's read-only data, in the ELF
//! file as it is in memory. The image builder copies the launcher for
//! each package and overwrites the array in the copy with the package's
//! blob:
//!
//! ```text
//! MARKER                "MANUX-LAUNCHER-GRAMMAR-v1\0" (26 bytes, kept)
//! u32 LE payload length (0 in the placeholder)
//! payload:
//!   u16 LE program path length, program path (the real program inside
//!   the package root, `/bin/cat`)
//!   the grammar's binary form (crate::binary)
//! zeros up to BLOB_BYTES
//! ```
//!
//! A custom link section would name the array more precisely, but
//! `#[link_section]` counts as unsafe code, which `apps/` programs deny;
//! the marker, required to occur exactly once in the file, is enough.
//! [`read_blob`] never compares the marker (that comparison would put a
//! second copy of it in the launcher), only what follows it.

use crate::binary;
use crate::grammar::{Grammar, GrammarError};
use alloc::vec::Vec;
use core::fmt;

/// The bytes that start the blob and locate it in a launcher file.
pub const MARKER: &[u8; 26] = b"MANUX-LAUNCHER-GRAMMAR-v1\0";
/// The size of the reserved array.
pub const BLOB_BYTES: usize = 8192;
/// Bytes before the payload: the marker and the length.
pub const HEADER_BYTES: usize = MARKER.len() + 4;
/// Longest program path.
pub const MAX_PROGRAM_PATH_BYTES: usize = 1024;

/// The placeholder array the launcher reserves: the marker, a zero
/// length, zeros.
pub const fn placeholder() -> [u8; BLOB_BYTES] {
    let mut blob = [0u8; BLOB_BYTES];
    let mut index = 0;
    while index < MARKER.len() {
        blob[index] = MARKER[index];
        index += 1;
    }
    blob
}

/// What the image builder embedded: the real program and its grammar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Embedded {
    /// The real program's path inside the package root (`/bin/cat`).
    pub program: Vec<u8>,
    /// The argument grammar.
    pub grammar: Grammar,
}

/// Why a blob cannot be written or read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EmbedError {
    /// The launcher file holds no marker: not a launcher.
    NoMarker,
    /// The marker occurs more than once (how many times): which one to
    /// fill would be a guess.
    SeveralMarkers(usize),
    /// The marker is too close to the end of the file for the array.
    Truncated,
    /// The array was already filled.
    AlreadyEmbedded,
    /// The program path is empty, not absolute, under `/...`, longer than
    /// [`MAX_PROGRAM_PATH_BYTES`] or holds a NUL byte.
    InvalidProgramPath,
    /// The payload does not fit the array.
    TooLarge,
    /// The launcher was never given a grammar (the placeholder is intact).
    NotEmbedded,
    /// The blob's length or program path are out of bounds.
    Malformed,
    /// The grammar in the blob is invalid.
    Grammar(GrammarError),
}

impl fmt::Display for EmbedError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EmbedError::NoMarker => write!(formatter, "no grammar marker: not a launcher"),
            EmbedError::SeveralMarkers(count) => {
                write!(formatter, "the grammar marker occurs {count} times")
            }
            EmbedError::Truncated => {
                write!(formatter, "the grammar array runs past the end of the file")
            }
            EmbedError::AlreadyEmbedded => write!(formatter, "a grammar is already embedded"),
            EmbedError::InvalidProgramPath => write!(
                formatter,
                "program path: not absolute, under /..., empty, holding NUL or longer than {MAX_PROGRAM_PATH_BYTES} bytes"
            ),
            EmbedError::TooLarge => write!(
                formatter,
                "the program path and grammar exceed the {BLOB_BYTES}-byte array"
            ),
            EmbedError::NotEmbedded => write!(
                formatter,
                "no grammar embedded (a launcher not installed by the image builder)"
            ),
            EmbedError::Malformed => write!(formatter, "the embedded grammar is malformed"),
            EmbedError::Grammar(error) => write!(formatter, "embedded grammar: {error}"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for EmbedError {}

fn valid_program_path(path: &[u8]) -> bool {
    path.first() == Some(&b'/')
        && path.len() <= MAX_PROGRAM_PATH_BYTES
        && !path.contains(&0)
        && path != b"/..."
        && !path.starts_with(b"/.../")
}

/// The whole array for `grammar` and `program_path`: [`BLOB_BYTES`]
/// bytes.
///
/// Return values: the bytes, [`EmbedError::InvalidProgramPath`] or
/// [`EmbedError::TooLarge`].
pub fn encode_blob(grammar: &Grammar, program_path: &[u8]) -> Result<Vec<u8>, EmbedError> {
    if !valid_program_path(program_path) {
        return Err(EmbedError::InvalidProgramPath);
    }
    let grammar_bytes = binary::to_bytes(grammar);
    let payload_length = 2 + program_path.len() + grammar_bytes.len();
    if HEADER_BYTES + payload_length > BLOB_BYTES {
        return Err(EmbedError::TooLarge);
    }
    let mut blob = Vec::with_capacity(BLOB_BYTES);
    blob.extend_from_slice(MARKER);
    // Bounded by BLOB_BYTES just above: the casts cannot truncate.
    blob.extend_from_slice(&(payload_length as u32).to_le_bytes());
    blob.extend_from_slice(&(program_path.len() as u16).to_le_bytes());
    blob.extend_from_slice(program_path);
    blob.extend_from_slice(&grammar_bytes);
    blob.resize(BLOB_BYTES, 0);
    Ok(blob)
}

/// Where the marker occurs in `haystack`.
fn marker_positions(haystack: &[u8]) -> impl Iterator<Item = usize> + '_ {
    haystack
        .windows(MARKER.len())
        .enumerate()
        .filter(|(_, window)| *window == MARKER)
        .map(|(position, _)| position)
}

/// A copy of the launcher file `launcher_elf` with `grammar` and
/// `program_path` (the real program inside the package root) written into
/// its placeholder array. The marker must occur exactly once and the
/// array must still be the placeholder.
///
/// Return values: the new file, or [`EmbedError::NoMarker`],
/// [`EmbedError::SeveralMarkers`], [`EmbedError::Truncated`],
/// [`EmbedError::AlreadyEmbedded`], [`EmbedError::InvalidProgramPath`],
/// [`EmbedError::TooLarge`].
pub fn embed(
    launcher_elf: &[u8],
    grammar: &Grammar,
    program_path: &[u8],
) -> Result<Vec<u8>, EmbedError> {
    let mut positions = marker_positions(launcher_elf);
    let start = positions.next().ok_or(EmbedError::NoMarker)?;
    let others = positions.count();
    if others > 0 {
        return Err(EmbedError::SeveralMarkers(others + 1));
    }
    let array = launcher_elf
        .get(start..start + BLOB_BYTES)
        .ok_or(EmbedError::Truncated)?;
    if array[MARKER.len()..].iter().any(|&byte| byte != 0) {
        return Err(EmbedError::AlreadyEmbedded);
    }
    let blob = encode_blob(grammar, program_path)?;
    let mut out = launcher_elf.to_vec();
    out[start..start + BLOB_BYTES].copy_from_slice(&blob);
    Ok(out)
}

/// Reads the array a launcher holds (`blob`, normally [`BLOB_BYTES`]
/// long). The marker is not compared (see the module documentation).
///
/// Return values: what was embedded, or [`EmbedError::NotEmbedded`] (the
/// placeholder), [`EmbedError::Malformed`], [`EmbedError::Grammar`].
pub fn read_blob(blob: &[u8]) -> Result<Embedded, EmbedError> {
    let length_bytes = blob
        .get(MARKER.len()..HEADER_BYTES)
        .ok_or(EmbedError::Malformed)?;
    let length = u32::from_le_bytes([
        length_bytes[0],
        length_bytes[1],
        length_bytes[2],
        length_bytes[3],
    ]);
    if length == 0 {
        return Err(EmbedError::NotEmbedded);
    }
    let payload = usize::try_from(length)
        .ok()
        .and_then(|length| blob.get(HEADER_BYTES..HEADER_BYTES.checked_add(length)?))
        .ok_or(EmbedError::Malformed)?;
    let (path_length, rest) = payload.split_at_checked(2).ok_or(EmbedError::Malformed)?;
    let path_length = usize::from(u16::from_le_bytes([path_length[0], path_length[1]]));
    let (program, grammar_bytes) = rest
        .split_at_checked(path_length)
        .ok_or(EmbedError::Malformed)?;
    if !valid_program_path(program) {
        return Err(EmbedError::Malformed);
    }
    let grammar = binary::from_bytes(grammar_bytes).map_err(EmbedError::Grammar)?;
    Ok(Embedded {
        program: program.to_vec(),
        grammar,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grammar::{GrammarParts, OptionSpec};
    use crate::kind::Kind;
    use alloc::vec;

    fn cat() -> Grammar {
        Grammar::new(GrammarParts {
            options: vec![OptionSpec::flag(Some(b'n'), Some("number"))],
            rest: Some(Kind::Input),
            ..GrammarParts::default()
        })
        .unwrap()
    }

    /// A stand-in launcher file: code before, the placeholder, data after.
    fn launcher() -> Vec<u8> {
        let mut file = vec![0x7f, b'E', b'L', b'F'];
        file.extend_from_slice(&[0x90; 1000]);
        file.extend_from_slice(&placeholder());
        file.extend_from_slice(&[0xcc; 123]);
        file
    }

    #[test]
    fn embeds_and_reads_back() {
        let file = launcher();
        let filled = embed(&file, &cat(), b"/bin/cat").unwrap();
        assert_eq!(filled.len(), file.len());
        assert_eq!(&filled[..1004], &file[..1004]);
        assert_eq!(&filled[1004 + BLOB_BYTES..], &file[1004 + BLOB_BYTES..]);
        let embedded = read_blob(&filled[1004..1004 + BLOB_BYTES]).unwrap();
        assert_eq!(embedded.program, b"/bin/cat");
        assert_eq!(embedded.grammar, cat());
        // Filled once, never again.
        assert_eq!(
            embed(&filled, &cat(), b"/bin/cat"),
            Err(EmbedError::AlreadyEmbedded)
        );
    }

    #[test]
    fn the_marker_must_occur_exactly_once() {
        assert_eq!(
            embed(&[0; 100], &cat(), b"/bin/cat"),
            Err(EmbedError::NoMarker)
        );
        let mut twice = launcher();
        twice.extend_from_slice(MARKER);
        assert_eq!(
            embed(&twice, &cat(), b"/bin/cat"),
            Err(EmbedError::SeveralMarkers(2))
        );
        let mut short = launcher();
        short.truncate(1004 + BLOB_BYTES - 1);
        assert_eq!(
            embed(&short, &cat(), b"/bin/cat"),
            Err(EmbedError::Truncated)
        );
    }

    #[test]
    fn program_paths_are_checked() {
        for path in [&b""[..], b"bin/cat", b"/.../1/cat", b"/...", b"/bin/c\0t"] {
            assert_eq!(
                embed(&launcher(), &cat(), path),
                Err(EmbedError::InvalidProgramPath)
            );
        }
        let long = vec![b'/'; MAX_PROGRAM_PATH_BYTES + 1];
        assert_eq!(
            encode_blob(&cat(), &long),
            Err(EmbedError::InvalidProgramPath)
        );
    }

    #[test]
    fn the_placeholder_reads_as_not_embedded() {
        assert_eq!(read_blob(&placeholder()), Err(EmbedError::NotEmbedded));
        assert_eq!(read_blob(&[]), Err(EmbedError::Malformed));
        let mut blob = placeholder();
        blob[MARKER.len()] = 0xff;
        blob[MARKER.len() + 3] = 0xff;
        assert_eq!(read_blob(&blob), Err(EmbedError::Malformed));
    }
}
