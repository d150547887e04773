// SPDX-License-Identifier: MIT OR Apache-2.0
//! The ELF form every Manux program must have, checked before it goes on a
//! disk.
//!
//! The kernel's loader (`kernel/src/elf_loader.rs`) and the runtime's
//! `_start` (`apps/runtime/src/arch/`) both rely on it, so the xtask
//! refuses any program that strays, naming what is wrong:
//!
//! - ELF64, little-endian, `ET_DYN`, the architecture's `e_machine`
//!   (`EM_AARCH64` 183, `EM_X86_64` 62), entry inside an executable segment;
//! - no `PT_INTERP`, no `PT_TLS`, a `PT_DYNAMIC`, a `PT_NOTE` holding the
//!   note that marks a native program (owner `Manux`, type 1: the
//!   runtime's, `manux_abi::program_note`) — without it the kernel would
//!   take the program for a Linux one and not relocate it;
//! - `PT_LOAD` segments page-aligned (`p_align` 4096, `p_vaddr` and
//!   `p_offset` both multiples of 4096), never both writable and
//!   executable, the first at virtual address 0 (the runtime takes the
//!   run-time address of the ELF header as the load bias);
//! - dynamic table: no `DT_NEEDED`, `DT_TEXTREL`, `DT_REL`, `DT_RELR`,
//!   `DT_JMPREL`; `DT_RELAENT` 24;
//! - relocations: only `R_AARCH64_RELATIVE` (1027) / `R_X86_64_RELATIVE`
//!   (8), with no symbol, each 8-byte target inside a writable segment.
//!
//! Every number is checked before use, so a malformed file is an error,
//! never a panic.

use crate::Arch;
use anyhow::{bail, ensure, Context, Result};

const PT_LOAD: u32 = 1;
const PT_DYNAMIC: u32 = 2;
const PT_INTERP: u32 = 3;
const PT_NOTE: u32 = 4;
const PT_TLS: u32 = 7;
const PF_X: u32 = 1;
const PF_W: u32 = 2;

const DT_NULL: u64 = 0;
const DT_NEEDED: u64 = 1;
const DT_RELA: u64 = 7;
const DT_RELASZ: u64 = 8;
const DT_RELAENT: u64 = 9;
const DT_REL: u64 = 17;
const DT_TEXTREL: u64 = 22;
const DT_JMPREL: u64 = 23;
const DT_RELR: u64 = 36;

const PAGE: u64 = 4096;

/// One `PT_LOAD` segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    /// `p_vaddr`.
    pub virtual_address: u64,
    /// `p_memsz`.
    pub memory_size: u64,
    /// `p_offset`.
    pub file_offset: u64,
    /// `p_filesz`.
    pub file_size: u64,
    /// `PF_W`.
    pub writable: bool,
    /// `PF_X`.
    pub executable: bool,
}

/// What the check found in a valid program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgramElf {
    /// Entry point, relative to the load address.
    pub entry: u64,
    /// The loadable segments, in file order.
    pub segments: Vec<Segment>,
    /// Number of `R_*_RELATIVE` relocations.
    pub relocations: usize,
}

fn machine(arch: Arch) -> u16 {
    match arch {
        Arch::Aarch64 => 183,
        Arch::X86_64 => 62,
    }
}

/// The relative relocation type of `arch`.
pub fn relative_relocation(arch: Arch) -> u32 {
    match arch {
        Arch::Aarch64 => 1027,
        Arch::X86_64 => 8,
    }
}

fn bytes<const N: usize>(file: &[u8], offset: u64) -> Result<[u8; N]> {
    let start = usize::try_from(offset).context("offset out of range")?;
    let end = start.checked_add(N).context("offset out of range")?;
    let slice = file
        .get(start..end)
        .with_context(|| format!("the file ends before byte {end}"))?;
    Ok(slice.try_into().expect("slice of length N"))
}

fn u16_at(file: &[u8], offset: u64) -> Result<u16> {
    Ok(u16::from_le_bytes(bytes(file, offset)?))
}

fn u32_at(file: &[u8], offset: u64) -> Result<u32> {
    Ok(u32::from_le_bytes(bytes(file, offset)?))
}

fn u64_at(file: &[u8], offset: u64) -> Result<u64> {
    Ok(u64::from_le_bytes(bytes(file, offset)?))
}

/// Whether the notes at `[offset, offset + size)` of `file` include the
/// native program's (owner `Manux\0`, type 1).
///
/// Return values: an error if a note lies outside the file.
fn has_native_note(file: &[u8], offset: u64, size: u64) -> Result<bool> {
    let end = offset.checked_add(size).context("PT_NOTE out of range")?;
    let mut at = offset;
    while at + 12 <= end {
        let name_size = u64::from(u32_at(file, at)?);
        let descriptor_size = u64::from(u32_at(file, at + 4)?);
        let kind = u32_at(file, at + 8)?;
        let name = at + 12;
        if name_size == 6 && kind == 1 && bytes::<6>(file, name)? == *b"Manux\0" {
            return Ok(true);
        }
        at = name + name_size.next_multiple_of(4) + descriptor_size.next_multiple_of(4);
    }
    Ok(false)
}

/// Checks `file` against the program form for `arch`.
///
/// Return values: what was found, or an error naming the first violation.
pub fn check(file: &[u8], arch: Arch) -> Result<ProgramElf> {
    ensure!(file.get(..4) == Some(b"\x7fELF"), "not an ELF file");
    ensure!(
        file.get(4) == Some(&2) && file.get(5) == Some(&1),
        "not ELF64 little-endian"
    );
    let kind = u16_at(file, 16)?;
    ensure!(
        kind == 3,
        "e_type is {kind}, not ET_DYN (3): link with -pie, not as a fixed-address executable"
    );
    let found_machine = u16_at(file, 18)?;
    ensure!(
        found_machine == machine(arch),
        "e_machine is {found_machine}, not {} for {}",
        machine(arch),
        arch.name()
    );
    let entry = u64_at(file, 24)?;
    let header_offset = u64_at(file, 32)?;
    let header_size = u64::from(u16_at(file, 54)?);
    let header_count = u64::from(u16_at(file, 56)?);
    ensure!(header_size == 56, "e_phentsize is {header_size}, not 56");

    let mut segments = Vec::new();
    let mut dynamic = None;
    let mut marked = false;
    for index in 0..header_count {
        let at = header_offset
            .checked_add(index * header_size)
            .filter(|at| at.checked_add(header_size).is_some())
            .context("program header table out of range")?;
        let kind = u32_at(file, at)?;
        let flags = u32_at(file, at + 4)?;
        let file_offset = u64_at(file, at + 8)?;
        let virtual_address = u64_at(file, at + 16)?;
        let file_size = u64_at(file, at + 32)?;
        let memory_size = u64_at(file, at + 40)?;
        let align = u64_at(file, at + 48)?;
        match kind {
            PT_INTERP => bail!("has an interpreter (PT_INTERP): link with --no-dynamic-linker"),
            PT_TLS => bail!("has thread-local storage (PT_TLS), which Manux programs cannot use"),
            PT_DYNAMIC => dynamic = Some((file_offset, file_size)),
            PT_NOTE => marked |= has_native_note(file, file_offset, file_size)?,
            PT_LOAD => {
                let segment = Segment {
                    virtual_address,
                    memory_size,
                    file_offset,
                    file_size,
                    writable: flags & PF_W != 0,
                    executable: flags & PF_X != 0,
                };
                ensure!(
                    !(segment.writable && segment.executable),
                    "segment at {virtual_address:#x} is writable and executable"
                );
                ensure!(
                    align == PAGE && virtual_address % PAGE == 0 && file_offset % PAGE == 0,
                    "segment at {virtual_address:#x} (offset {file_offset:#x}, align {align:#x}) is not page-aligned"
                );
                ensure!(
                    file_size <= memory_size
                        && file_offset
                            .checked_add(file_size)
                            .is_some_and(|end| end <= file.len() as u64)
                        && virtual_address.checked_add(memory_size).is_some(),
                    "segment at {virtual_address:#x} lies outside the file"
                );
                segments.push(segment);
            }
            _ => {}
        }
    }
    ensure!(
        marked,
        "no Manux note (PT_NOTE, owner Manux, type 1): link the apps' runtime"
    );
    let first = segments.first().context("no PT_LOAD segment")?;
    ensure!(
        first.virtual_address == 0 && first.file_offset == 0,
        "the first segment is at {:#x}, not 0 (the runtime takes the ELF header's address as the load bias)",
        first.virtual_address
    );
    ensure!(
        segments.iter().any(|segment| segment.executable
            && entry >= segment.virtual_address
            && entry - segment.virtual_address < segment.memory_size),
        "the entry point {entry:#x} is not in an executable segment"
    );

    let (dynamic_offset, dynamic_size) = dynamic.context("no PT_DYNAMIC: link with -pie")?;
    let (mut table, mut table_size) = (None, 0);
    let mut entry_size = 24;
    let mut at = dynamic_offset;
    let dynamic_end = dynamic_offset
        .checked_add(dynamic_size)
        .context("PT_DYNAMIC out of range")?;
    while at + 16 <= dynamic_end {
        let (tag, value) = (u64_at(file, at)?, u64_at(file, at + 8)?);
        match tag {
            DT_NULL => break,
            DT_NEEDED => bail!("needs a shared library (DT_NEEDED)"),
            DT_TEXTREL => bail!("has relocations in text (DT_TEXTREL): link with -z text"),
            DT_REL | DT_RELR | DT_JMPREL => {
                bail!("has DT_REL, DT_RELR or DT_JMPREL relocations; only DT_RELA is loaded")
            }
            DT_RELA => table = Some(value),
            DT_RELASZ => table_size = value,
            DT_RELAENT => entry_size = value,
            _ => {}
        }
        at += 16;
    }
    ensure!(entry_size == 24, "DT_RELAENT is {entry_size}, not 24");
    let mut relocations = 0;
    if let Some(table) = table {
        ensure!(
            table_size % 24 == 0,
            "DT_RELASZ {table_size} is not a multiple of 24"
        );
        // The table's file offset, through the segment that holds it.
        let holder = segments
            .iter()
            .find(|segment| {
                table >= segment.virtual_address
                    && table
                        .checked_add(table_size)
                        .is_some_and(|end| end <= segment.virtual_address + segment.file_size)
            })
            .context("the relocation table is not inside a segment's file bytes")?;
        let start = holder.file_offset + (table - holder.virtual_address);
        for index in 0..table_size / 24 {
            let record = start + index * 24;
            let target = u64_at(file, record)?;
            let info = u64_at(file, record + 8)?;
            let kind = (info & 0xffff_ffff) as u32;
            ensure!(
                kind == relative_relocation(arch) && info >> 32 == 0,
                "relocation {index} has type {kind} (symbol {}); only {} (RELATIVE) is allowed",
                info >> 32,
                relative_relocation(arch)
            );
            ensure!(
                segments.iter().any(|segment| segment.writable
                    && target >= segment.virtual_address
                    && target
                        .checked_add(8)
                        .is_some_and(|end| end <= segment.virtual_address + segment.memory_size)),
                "relocation {index} targets {target:#x}, outside every writable segment"
            );
            relocations += 1;
        }
    }
    Ok(ProgramElf {
        entry,
        segments,
        relocations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small program image: headers, one read-only segment holding the
    /// dynamic table and relocations, one executable, one writable.
    struct Builder {
        kind: u16,
        machine: u16,
        interpreter: bool,
        relocation_type: u32,
        writable_executable: bool,
        relocation_target: u64,
        note: bool,
    }

    impl Builder {
        fn new() -> Builder {
            Builder {
                kind: 3,
                machine: 183,
                interpreter: false,
                relocation_type: 1027,
                writable_executable: false,
                relocation_target: 0x2000,
                note: true,
            }
        }

        fn build(&self) -> Vec<u8> {
            let mut file = vec![0u8; 3 * 4096];
            let put16 = |file: &mut Vec<u8>, at: usize, value: u16| {
                file[at..at + 2].copy_from_slice(&value.to_le_bytes())
            };
            let put32 = |file: &mut Vec<u8>, at: usize, value: u32| {
                file[at..at + 4].copy_from_slice(&value.to_le_bytes())
            };
            let put64 = |file: &mut Vec<u8>, at: usize, value: u64| {
                file[at..at + 8].copy_from_slice(&value.to_le_bytes())
            };
            file[..6].copy_from_slice(b"\x7fELF\x02\x01");
            put16(&mut file, 16, self.kind);
            put16(&mut file, 18, self.machine);
            put64(&mut file, 24, 0x1000);
            put64(&mut file, 32, 64);
            put16(&mut file, 54, 56);
            let mut headers: Vec<(u32, u32, u64, u64, u64)> = vec![
                (PT_LOAD, 4, 0, 0, 4096),
                (
                    PT_LOAD,
                    if self.writable_executable { 7 } else { 5 },
                    0x1000,
                    0x1000,
                    4096,
                ),
                (PT_LOAD, 6, 0x2000, 0x2000, 4096),
                (PT_DYNAMIC, 4, 0x400, 0x400, 64),
            ];
            if self.note {
                headers.push((PT_NOTE, 4, 0x600, 0x600, 20));
                put32(&mut file, 0x600, 6);
                put32(&mut file, 0x608, 1);
                file[0x60c..0x612].copy_from_slice(b"Manux\0");
            }
            if self.interpreter {
                headers.push((PT_INTERP, 4, 0x300, 0x300, 16));
            }
            put16(&mut file, 56, headers.len() as u16);
            for (index, (kind, flags, offset, address, size)) in headers.into_iter().enumerate() {
                let at = 64 + index * 56;
                put32(&mut file, at, kind);
                put32(&mut file, at + 4, flags);
                put64(&mut file, at + 8, offset);
                put64(&mut file, at + 16, address);
                put64(&mut file, at + 32, size);
                put64(&mut file, at + 40, size);
                put64(&mut file, at + 48, if kind == PT_LOAD { 4096 } else { 8 });
            }
            // Dynamic: RELA at 0x500, one record.
            for (index, (tag, value)) in [(DT_RELA, 0x500), (DT_RELASZ, 24), (DT_RELAENT, 24)]
                .into_iter()
                .enumerate()
            {
                put64(&mut file, 0x400 + index * 16, tag);
                put64(&mut file, 0x408 + index * 16, value);
            }
            put64(&mut file, 0x500, self.relocation_target);
            put64(&mut file, 0x508, u64::from(self.relocation_type));
            put64(&mut file, 0x510, 0x1234);
            file
        }
    }

    #[test]
    fn a_well_formed_program_passes() {
        let found = check(&Builder::new().build(), Arch::Aarch64).unwrap();
        assert_eq!(found.entry, 0x1000);
        assert_eq!(found.segments.len(), 3);
        assert_eq!(found.relocations, 1);
    }

    #[test]
    fn each_violation_is_named() {
        let cases: Vec<(Builder, &str)> = vec![
            (
                Builder {
                    kind: 2,
                    ..Builder::new()
                },
                "ET_DYN",
            ),
            (
                Builder {
                    machine: 62,
                    ..Builder::new()
                },
                "e_machine",
            ),
            (
                Builder {
                    interpreter: true,
                    ..Builder::new()
                },
                "interpreter",
            ),
            (
                Builder {
                    relocation_type: 1025,
                    ..Builder::new()
                },
                "only 1027",
            ),
            (
                Builder {
                    writable_executable: true,
                    ..Builder::new()
                },
                "writable and executable",
            ),
            (
                Builder {
                    relocation_target: 0x1000,
                    ..Builder::new()
                },
                "outside every writable",
            ),
            (
                Builder {
                    note: false,
                    ..Builder::new()
                },
                "no Manux note",
            ),
        ];
        for (builder, expected) in cases {
            let error = check(&builder.build(), Arch::Aarch64).unwrap_err();
            assert!(
                format!("{error:#}").contains(expected),
                "{error:#} should mention {expected}"
            );
        }
    }

    #[test]
    fn truncated_and_garbage_files_are_errors() {
        let file = Builder::new().build();
        for length in [0, 3, 20, 64, 100, 0x450, 0x510] {
            assert!(check(&file[..length], Arch::Aarch64).is_err());
        }
        let mut state = 0x1234_5678u32;
        for _ in 0..200 {
            let mut mutated = file.clone();
            for _ in 0..8 {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                let at = (state as usize) % 0x600;
                mutated[at] = (state >> 8) as u8;
            }
            let _ = check(&mutated, Arch::Aarch64);
        }
    }
}
