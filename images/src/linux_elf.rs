// SPDX-License-Identifier: MIT OR Apache-2.0
//! The ELF form a prebuilt Linux program must have, checked before it
//! goes on a disk.
//!
//! Programs taken from Debian packages ([`crate::debian`]) are not Manux
//! programs ([`crate::program_elf`] checks those): they are unmodified
//! Linux executables, run through the kernel's Linux personality. What the
//! kernel's loader needs of them, checked here:
//!
//! - ELF64, little-endian, the architecture's `e_machine` (`EM_AARCH64`
//!   183, `EM_X86_64` 62);
//! - static: no `PT_INTERP` (no dynamic linker exists in a package root);
//! - `ET_DYN` (static-PIE, loaded anywhere), or `ET_EXEC` (linked at fixed
//!   addresses) only when the package says `fixed-address = true`: the
//!   kernel loads such a program in a private low window of addresses,
//!   [`FIXED_WINDOW`], and every `PT_LOAD` segment must lie inside it;
//! - at least one `PT_LOAD`, and the entry point inside an executable one.
//!
//! Every number is checked before use: a malformed file is an error,
//! never a panic.

use crate::Arch;
use std::fmt;
use std::ops::Range;

const ET_EXEC: u16 = 2;
const ET_DYN: u16 = 3;
const PT_LOAD: u32 = 1;
const PT_INTERP: u32 = 3;
const PF_X: u32 = 1;
const PROGRAM_HEADER_BYTES: usize = 56;

/// The addresses a fixed-address (`ET_EXEC`) program's segments must lie
/// in: from 4 MiB (the traditional x86_64 and AArch64 link address,
/// 0x40_0000) up to 4 GiB.
pub const FIXED_WINDOW: Range<u64> = 0x40_0000..0x1_0000_0000;

/// How the program is loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// `ET_DYN`: position-independent, anywhere.
    PositionIndependent,
    /// `ET_EXEC`: at the addresses it was linked for, inside
    /// [`FIXED_WINDOW`].
    FixedAddress,
}

/// What is wrong with a Linux program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinuxElfProblem {
    /// Not an ELF64 little-endian file for this architecture, or a header
    /// or table outside the file.
    Malformed(String),
    /// Dynamically linked (`PT_INTERP`).
    Dynamic(String),
    /// `ET_EXEC` in a package that does not say `fixed-address = true`.
    FixedAddressNotDeclared,
    /// `fixed-address = true` for an `ET_DYN` program.
    FixedAddressNotNeeded,
    /// An `e_type` other than `ET_EXEC` and `ET_DYN`.
    NotExecutable(u16),
    /// A segment of a fixed-address program outside [`FIXED_WINDOW`].
    OutsideWindow {
        /// `p_vaddr`.
        start: u64,
        /// `p_vaddr + p_memsz` (saturated).
        end: u64,
    },
}

impl fmt::Display for LinuxElfProblem {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinuxElfProblem::Malformed(what) => write!(formatter, "not a valid ELF program: {what}"),
            LinuxElfProblem::Dynamic(interpreter) => write!(
                formatter,
                "dynamically linked (PT_INTERP {interpreter:?}): only static programs can run in a package root"
            ),
            LinuxElfProblem::FixedAddressNotDeclared => write!(
                formatter,
                "a fixed-address executable (ET_EXEC): the package must say `fixed-address = true` to be loaded at its link addresses"
            ),
            LinuxElfProblem::FixedAddressNotNeeded => write!(
                formatter,
                "`fixed-address = true`, but the program is position-independent (ET_DYN): remove it"
            ),
            LinuxElfProblem::NotExecutable(kind) => write!(
                formatter,
                "ELF type {kind} is neither ET_EXEC nor ET_DYN: not an executable"
            ),
            LinuxElfProblem::OutsideWindow { start, end } => write!(
                formatter,
                "segment {start:#x}..{end:#x} lies outside the fixed-address window {:#x}..{:#x}",
                FIXED_WINDOW.start, FIXED_WINDOW.end
            ),
        }
    }
}

impl std::error::Error for LinuxElfProblem {}

/// What the check found in a valid program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinuxElf {
    /// How it is loaded.
    pub placement: Placement,
    /// `e_entry`.
    pub entry: u64,
    /// The `PT_LOAD` segments, `p_vaddr..p_vaddr + p_memsz`.
    pub segments: Vec<Range<u64>>,
}

fn read<const N: usize>(
    bytes: &[u8],
    offset: usize,
    what: &str,
) -> Result<[u8; N], LinuxElfProblem> {
    offset
        .checked_add(N)
        .and_then(|end| bytes.get(offset..end))
        .and_then(|slice| slice.try_into().ok())
        .ok_or_else(|| LinuxElfProblem::Malformed(format!("{what} lies outside the file")))
}

fn u16_at(bytes: &[u8], offset: usize, what: &str) -> Result<u16, LinuxElfProblem> {
    read::<2>(bytes, offset, what).map(u16::from_le_bytes)
}

fn u32_at(bytes: &[u8], offset: usize, what: &str) -> Result<u32, LinuxElfProblem> {
    read::<4>(bytes, offset, what).map(u32::from_le_bytes)
}

fn u64_at(bytes: &[u8], offset: usize, what: &str) -> Result<u64, LinuxElfProblem> {
    read::<8>(bytes, offset, what).map(u64::from_le_bytes)
}

fn to_usize(value: u64, what: &str) -> Result<usize, LinuxElfProblem> {
    usize::try_from(value).map_err(|_| LinuxElfProblem::Malformed(format!("{what} is too large")))
}

/// Checks `bytes`, a Linux program for `arch`, for a package that does
/// (`fixed_address`) or does not allow an `ET_EXEC`.
///
/// Return values: what was found, or the first [`LinuxElfProblem`].
pub fn check(bytes: &[u8], arch: Arch, fixed_address: bool) -> Result<LinuxElf, LinuxElfProblem> {
    let malformed = |what: &str| LinuxElfProblem::Malformed(what.to_string());
    if bytes.get(..4) != Some(b"\x7fELF") {
        return Err(malformed("no ELF magic"));
    }
    if bytes.get(4) != Some(&2) || bytes.get(5) != Some(&1) {
        return Err(malformed("not ELF64 little-endian"));
    }
    let machine = u16_at(bytes, 18, "e_machine")?;
    let expected = match arch {
        Arch::Aarch64 => 183,
        Arch::X86_64 => 62,
    };
    if machine != expected {
        return Err(LinuxElfProblem::Malformed(format!(
            "e_machine {machine}, not {expected} ({})",
            arch.name()
        )));
    }
    let placement = match u16_at(bytes, 16, "e_type")? {
        ET_DYN if fixed_address => return Err(LinuxElfProblem::FixedAddressNotNeeded),
        ET_DYN => Placement::PositionIndependent,
        ET_EXEC if fixed_address => Placement::FixedAddress,
        ET_EXEC => return Err(LinuxElfProblem::FixedAddressNotDeclared),
        other => return Err(LinuxElfProblem::NotExecutable(other)),
    };
    let entry = u64_at(bytes, 24, "e_entry")?;
    let table = to_usize(u64_at(bytes, 32, "e_phoff")?, "e_phoff")?;
    let entry_bytes = usize::from(u16_at(bytes, 54, "e_phentsize")?);
    let count = usize::from(u16_at(bytes, 56, "e_phnum")?);
    if entry_bytes != PROGRAM_HEADER_BYTES {
        return Err(LinuxElfProblem::Malformed(format!(
            "e_phentsize {entry_bytes}, not {PROGRAM_HEADER_BYTES}"
        )));
    }
    let mut segments = Vec::new();
    let mut entry_is_executable = false;
    for index in 0..count {
        let header = table
            .checked_add(index * PROGRAM_HEADER_BYTES)
            .ok_or_else(|| malformed("the program headers overflow"))?;
        let kind = u32_at(bytes, header, "a program header")?;
        let flags = u32_at(bytes, header + 4, "a program header")?;
        let offset = u64_at(bytes, header + 8, "a program header")?;
        let address = u64_at(bytes, header + 16, "a program header")?;
        let file_size = u64_at(bytes, header + 32, "a program header")?;
        let memory_size = u64_at(bytes, header + 40, "a program header")?;
        let file_end = offset
            .checked_add(file_size)
            .ok_or_else(|| malformed("a segment's file range overflows"))?;
        if file_end > bytes.len() as u64 {
            return Err(malformed("a segment lies outside the file"));
        }
        match kind {
            PT_INTERP => {
                let start = to_usize(offset, "p_offset")?;
                let end = to_usize(file_end, "p_filesz")?;
                let text = bytes.get(start..end).unwrap_or_default();
                let text = text.split(|&byte| byte == 0).next().unwrap_or_default();
                return Err(LinuxElfProblem::Dynamic(
                    String::from_utf8_lossy(text).into_owned(),
                ));
            }
            PT_LOAD => {
                if file_size > memory_size {
                    return Err(malformed("a segment's p_filesz exceeds its p_memsz"));
                }
                let end = address.checked_add(memory_size);
                if placement == Placement::FixedAddress {
                    let inside = address >= FIXED_WINDOW.start
                        && end.is_some_and(|end| end <= FIXED_WINDOW.end);
                    if !inside {
                        return Err(LinuxElfProblem::OutsideWindow {
                            start: address,
                            end: end.unwrap_or(u64::MAX),
                        });
                    }
                }
                let end = end.ok_or_else(|| malformed("a segment's addresses overflow"))?;
                if flags & PF_X != 0 && (address..end).contains(&entry) {
                    entry_is_executable = true;
                }
                segments.push(address..end);
            }
            _ => {}
        }
    }
    if segments.is_empty() {
        return Err(malformed("no PT_LOAD segment"));
    }
    if !entry_is_executable {
        return Err(LinuxElfProblem::Malformed(format!(
            "the entry point {entry:#x} is in no executable segment"
        )));
    }
    Ok(LinuxElf {
        placement,
        entry,
        segments,
    })
}

/// A minimal ELF64 program, for tests: an `e_type` of `kind`, for
/// `machine`, one executable `PT_LOAD` of a page at `address` holding the
/// entry, and a `PT_INTERP` when `interpreter` is given.
pub fn sample(kind: u16, machine: u16, address: u64, interpreter: Option<&str>) -> Vec<u8> {
    let headers = 1 + usize::from(interpreter.is_some());
    let mut file = vec![0u8; 64 + headers * PROGRAM_HEADER_BYTES];
    file[..4].copy_from_slice(b"\x7fELF");
    file[4] = 2;
    file[5] = 1;
    file[6] = 1;
    file[16..18].copy_from_slice(&kind.to_le_bytes());
    file[18..20].copy_from_slice(&machine.to_le_bytes());
    file[20..24].copy_from_slice(&1u32.to_le_bytes());
    file[24..32].copy_from_slice(&(address + 0x100).to_le_bytes());
    file[32..40].copy_from_slice(&64u64.to_le_bytes());
    file[52..54].copy_from_slice(&64u16.to_le_bytes());
    file[54..56].copy_from_slice(&(PROGRAM_HEADER_BYTES as u16).to_le_bytes());
    file[56..58].copy_from_slice(&(headers as u16).to_le_bytes());
    let text_offset = file.len() as u64;
    let mut header = |index: usize, kind: u32, flags: u32, offset: u64, address: u64, size: u64| {
        let at = 64 + index * PROGRAM_HEADER_BYTES;
        file[at..at + 4].copy_from_slice(&kind.to_le_bytes());
        file[at + 4..at + 8].copy_from_slice(&flags.to_le_bytes());
        file[at + 8..at + 16].copy_from_slice(&offset.to_le_bytes());
        file[at + 16..at + 24].copy_from_slice(&address.to_le_bytes());
        file[at + 24..at + 32].copy_from_slice(&address.to_le_bytes());
        file[at + 32..at + 40].copy_from_slice(&size.to_le_bytes());
        file[at + 40..at + 48].copy_from_slice(&size.to_le_bytes());
        file[at + 48..at + 56].copy_from_slice(&4096u64.to_le_bytes());
    };
    header(0, PT_LOAD, PF_X | 4, 0, address, 0x1000);
    if let Some(interpreter) = interpreter {
        header(
            1,
            PT_INTERP,
            4,
            text_offset,
            address + text_offset,
            interpreter.len() as u64 + 1,
        );
    }
    file.extend_from_slice(interpreter.unwrap_or_default().as_bytes());
    file.push(0);
    file.resize(0x1000, 0);
    file
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_pie_and_declared_fixed_address_programs_pass() {
        let pie = sample(ET_DYN, 62, 0, None);
        let found = check(&pie, Arch::X86_64, false).unwrap();
        assert_eq!(found.placement, Placement::PositionIndependent);
        let fixed = sample(ET_EXEC, 183, 0x40_0000, None);
        let found = check(&fixed, Arch::Aarch64, true).unwrap();
        assert_eq!(found.placement, Placement::FixedAddress);
        assert_eq!(found.segments, vec![0x40_0000..0x40_1000]);
    }

    #[test]
    fn every_problem_is_named() {
        let fixed = sample(ET_EXEC, 62, 0x40_0000, None);
        assert_eq!(
            check(&fixed, Arch::X86_64, false),
            Err(LinuxElfProblem::FixedAddressNotDeclared)
        );
        assert!(matches!(
            check(&fixed, Arch::Aarch64, true),
            Err(LinuxElfProblem::Malformed(_))
        ));
        assert_eq!(
            check(&sample(ET_DYN, 62, 0, None), Arch::X86_64, true),
            Err(LinuxElfProblem::FixedAddressNotNeeded)
        );
        assert_eq!(
            check(
                &sample(ET_DYN, 62, 0, Some("/lib64/ld-linux-x86-64.so.2")),
                Arch::X86_64,
                false
            ),
            Err(LinuxElfProblem::Dynamic(
                "/lib64/ld-linux-x86-64.so.2".into()
            ))
        );
        for address in [0x1000, 0x3f_f800, 0xffff_f800, 0x1_0000_0000] {
            assert!(
                matches!(
                    check(&sample(ET_EXEC, 62, address, None), Arch::X86_64, true),
                    Err(LinuxElfProblem::OutsideWindow { .. })
                ),
                "{address:#x}"
            );
        }
        assert_eq!(
            check(&sample(1, 62, 0, None), Arch::X86_64, false),
            Err(LinuxElfProblem::NotExecutable(1))
        );
    }

    #[test]
    fn truncated_and_damaged_files_are_errors() {
        let pie = sample(ET_DYN, 62, 0, None);
        for length in 0..pie.len().min(200) {
            assert!(
                check(&pie[..length], Arch::X86_64, false).is_err(),
                "{length}"
            );
        }
        let mut damaged = pie.clone();
        damaged[32..40].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(check(&damaged, Arch::X86_64, false).is_err());
        assert!(check(b"#!/bin/sh\n", Arch::X86_64, false).is_err());
    }
}
