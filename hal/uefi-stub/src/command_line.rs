// SPDX-License-Identifier: MIT OR Apache-2.0
//! The kernel command line: the load options, else `EFI/manux/cmdline.txt`.
//!
//! A `-kernel` boot gets its command line from QEMU's `-append`; a UEFI
//! boot has two places for one, tried in this order:
//!
//! 1. the image's **load options** (`EFI_LOADED_IMAGE_PROTOCOL.LoadOptions`,
//!    UEFI 2.10 §9.1): what a `Boot####` entry's optional data or a shell
//!    command line passes, UTF-16. They count only when they are text and
//!    say something: the UEFI Shell passes the whole command line, the
//!    program's own path first, so a first word ending in `.efi` (any case)
//!    is dropped; options that are then empty are no options; edk2's mark
//!    of the boot entries it creates by itself (16 bytes, the GUID
//!    8108ac4e-9f11-4d59-850e-e21a522c59b2, `mBmAutoCreateBootOptionGuid`
//!    of `MdeModulePkg/Library/UefiBootManagerLib`) is no options either;
//!    anything else that is not UTF-16 text is reported and ignored.
//! 2. the file **`EFI/manux/cmdline.txt`** of the volume the program was
//!    loaded from (its EFI system partition, through the simple file
//!    system protocol on the loaded image's `DeviceHandle`): UTF-8 (a
//!    leading byte-order mark is skipped), at most [`FILE_LIMIT`] bytes.
//!
//! Either way, leading and trailing whitespace is trimmed, tabs and line
//! breaks inside become spaces (the kernel splits words on whitespace
//! anyway) and the result must fit [`MAX_LENGTH`] bytes and hold no other
//! control character. A candidate that breaks a rule is refused with one
//! console line and the boot goes on without it; this module never fails
//! the boot. One line says where the command line came from.
//!
//! The kernel never sees the EFI system partition (it mounts only the
//! root partition), so nothing in a running system can change this file.

use crate::efi::{Firmware, Status, NOT_FOUND};
use core::fmt::Write;

/// Longest command line passed on, in bytes: the kernel keeps this much
/// and a NUL (`COMMAND_LINE_CAPACITY` in `hal/src/arch/x86_64/pvh.rs`).
pub const MAX_LENGTH: usize = 4095;
/// Largest `EFI/manux/cmdline.txt` accepted, in bytes.
pub const FILE_LIMIT: usize = 4096;
/// The file, as the console names it.
const FILE_NAME: &str = "EFI/manux/cmdline.txt";
/// The file, as UEFI opens it: UCS-2, backslashes, NUL-terminated.
const FILE_PATH: [u16; 23] = ucs2("\\EFI\\manux\\cmdline.txt\0");
/// edk2's `mBmAutoCreateBootOptionGuid` in memory (mixed-endian) order.
const EDK2_AUTO_CREATED_OPTION: [u8; 16] = [
    0x4e, 0xac, 0x08, 0x81, 0x11, 0x9f, 0x59, 0x4d, 0x85, 0x0e, 0xe2, 0x1a, 0x52, 0x2c, 0x59, 0xb2,
];

/// `text` (ASCII) as UCS-2 code units.
const fn ucs2<const N: usize>(text: &str) -> [u16; N] {
    let bytes = text.as_bytes();
    assert!(bytes.len() == N);
    let mut units = [0u16; N];
    let mut index = 0;
    while index < N {
        units[index] = bytes[index] as u16;
        index += 1;
    }
    units
}

/// Where the command line came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The image's load options.
    LoadOptions,
    /// `EFI/manux/cmdline.txt`.
    File,
    /// Neither: the kernel boots with an empty command line.
    Nowhere,
}

/// Why a candidate command line was refused.
#[derive(Clone, Copy, Debug)]
enum Refusal {
    /// A file of more than [`FILE_LIMIT`] bytes.
    FileTooLong,
    /// A command line of more than [`MAX_LENGTH`] bytes, once trimmed.
    LineTooLong,
    /// A file that is not UTF-8.
    NotUtf8,
    /// Load options that are not UTF-16 text.
    NotUtf16,
    /// A control character other than tab, CR or LF.
    ControlCharacter,
    /// The firmware could not read the file (its status).
    Unreadable(Status),
}

impl core::fmt::Display for Refusal {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Refusal::FileTooLong => write!(f, "longer than {FILE_LIMIT} bytes"),
            Refusal::LineTooLong => {
                write!(f, "a command line longer than {MAX_LENGTH} bytes")
            }
            Refusal::NotUtf8 => write!(f, "not UTF-8 text"),
            Refusal::NotUtf16 => write!(f, "not UTF-16 text"),
            Refusal::ControlCharacter => write!(f, "a control character"),
            Refusal::Unreadable(status) => write!(f, "unreadable, EFI status {status:#x}"),
        }
    }
}

/// The command line the kernel gets.
pub struct CommandLine {
    bytes: [u8; MAX_LENGTH],
    length: usize,
    /// Where it came from.
    pub source: Source,
}

impl CommandLine {
    fn empty() -> Self {
        CommandLine {
            bytes: [0; MAX_LENGTH],
            length: 0,
            source: Source::Nowhere,
        }
    }

    /// The words, as one line (valid UTF-8, no control characters).
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(&self.bytes[..self.length]).unwrap_or("")
    }

    /// Appends `character`, tabs and line breaks as spaces.
    fn push(&mut self, character: char) -> Result<(), Refusal> {
        let character = match character {
            '\t' | '\r' | '\n' => ' ',
            _ if character.is_control() => return Err(Refusal::ControlCharacter),
            _ => character,
        };
        let mut encoded = [0; 4];
        let encoded = character.encode_utf8(&mut encoded).as_bytes();
        let end = self.length + encoded.len();
        self.bytes
            .get_mut(self.length..end)
            .ok_or(Refusal::LineTooLong)?
            .copy_from_slice(encoded);
        self.length = end;
        Ok(())
    }

    /// Builds the line from `characters`, trimmed; `drop_program` drops a
    /// first word ending in `.efi` (the program's own path).
    fn from_characters(
        characters: impl Iterator<Item = Result<char, Refusal>>,
        source: Source,
        drop_program: bool,
    ) -> Result<Self, Refusal> {
        let mut line = CommandLine::empty();
        // Leading whitespace is skipped here, trailing trimmed at the end;
        // the length bound counts the trimmed line only, so pending spaces
        // are kept apart until a word follows them.
        let mut pending_spaces = 0;
        for character in characters {
            let character = character?;
            if character.is_whitespace() {
                pending_spaces += usize::from(line.length > 0);
                continue;
            }
            for _ in 0..pending_spaces {
                line.push(' ')?;
            }
            pending_spaces = 0;
            line.push(character)?;
        }
        if drop_program {
            line.drop_program_path();
        }
        line.source = if line.length == 0 {
            Source::Nowhere
        } else {
            source
        };
        Ok(line)
    }

    /// Removes a first word ending in `.efi`, and the spaces after it.
    fn drop_program_path(&mut self) {
        let text = &self.bytes[..self.length];
        let first_end = text.iter().position(|&b| b == b' ').unwrap_or(text.len());
        let first = &text[..first_end];
        let suffix = b".efi";
        if first.len() < suffix.len()
            || !first[first.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
        {
            return;
        }
        let rest = text[first_end..]
            .iter()
            .position(|&b| b != b' ')
            .map_or(text.len(), |skip| first_end + skip);
        self.bytes.copy_within(rest..self.length, 0);
        self.length -= rest;
    }
}

/// The load options as a command line, `None` when they say nothing.
fn from_load_options(options: &[u8]) -> Result<Option<CommandLine>, Refusal> {
    if options.is_empty() || options == EDK2_AUTO_CREATED_OPTION {
        return Ok(None);
    }
    if options.len() % 2 != 0 {
        return Err(Refusal::NotUtf16);
    }
    let units = options
        .chunks_exact(2)
        .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
        .take_while(|&unit| unit != 0);
    let characters =
        char::decode_utf16(units).map(|decoded| decoded.map_err(|_| Refusal::NotUtf16));
    let line = CommandLine::from_characters(characters, Source::LoadOptions, true)?;
    Ok((line.source != Source::Nowhere).then_some(line))
}

/// `EFI/manux/cmdline.txt` as a command line, `None` when it is absent
/// or holds only whitespace.
fn from_file(firmware: &Firmware) -> Result<Option<CommandLine>, Refusal> {
    // One byte more than accepted, to tell "exactly the limit" from "more".
    let mut buffer = [0u8; FILE_LIMIT + 1];
    let length = match firmware.read_boot_volume_file(&FILE_PATH, &mut buffer) {
        Ok(length) => length,
        Err(NOT_FOUND) => return Ok(None),
        Err(status) => return Err(Refusal::Unreadable(status)),
    };
    if length > FILE_LIMIT {
        return Err(Refusal::FileTooLong);
    }
    let text = core::str::from_utf8(&buffer[..length]).map_err(|_| Refusal::NotUtf8)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let line = CommandLine::from_characters(text.chars().map(Ok), Source::File, false)?;
    Ok((line.source != Source::Nowhere).then_some(line))
}

/// Finds the command line, saying on the console where it came from (and
/// why a candidate was refused). Never fails: without one, the kernel
/// boots with an empty command line.
pub fn find(firmware: &Firmware) -> CommandLine {
    let mut console = firmware.console();
    match from_load_options(firmware.load_options()) {
        Ok(Some(line)) => {
            let _ = writeln!(
                console,
                "Manux UEFI boot: command line from the load options: \"{}\"",
                line.as_str()
            );
            return line;
        }
        Ok(None) => {}
        Err(refusal) => {
            let _ = writeln!(
                console,
                "Manux UEFI boot: refused the load options ({refusal}): ignored"
            );
        }
    }
    match from_file(firmware) {
        Ok(Some(line)) => {
            let _ = writeln!(
                console,
                "Manux UEFI boot: command line from {FILE_NAME}: \"{}\"",
                line.as_str()
            );
            line
        }
        Ok(None) => {
            let _ = writeln!(
                console,
                "Manux UEFI boot: no command line (no load options, {FILE_NAME} absent or empty)"
            );
            CommandLine::empty()
        }
        Err(refusal) => {
            let _ = writeln!(
                console,
                "Manux UEFI boot: refused {FILE_NAME} ({refusal}): booting without a command line"
            );
            CommandLine::empty()
        }
    }
}
