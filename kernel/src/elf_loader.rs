// SPDX-License-Identifier: MIT OR Apache-2.0
//! Loading a program: a static position-independent ELF into a fresh
//! address space, with its arguments on a new stack.
//!
//! Accepted programs (the form `apps/` builds): ELF64, little-endian, this
//! CPU's `e_machine`, `ET_DYN` with no interpreter, `PT_LOAD` segments that
//! are never both writable and executable, and only `R_*_RELATIVE`
//! relocations in `DT_RELA`. Everything else is `ENOEXEC`. Every number in
//! the file is checked before use (offsets and sizes within the file,
//! segments within the image, relocations within segments), so a hostile
//! file cannot make the loader read or write out of bounds.
//!
//! The image gets one range of the global user address space (DESIGN §3):
//! `base + p_vaddr` for each segment. The stack is a separate range; at
//! its top, per the System V ABI: `argc`, `argv[]`, NULL, `envp[]`, NULL,
//! auxiliary vector (`AT_PAGESZ`, `AT_ENTRY`, `AT_NULL`), then the strings.

use crate::program_cache::{Program, SharedPages};
use crate::user_memory::{KernelFrames, UserMemory};
use alloc::vec::Vec;
use elf::abi::{
    DT_RELA, DT_RELAENT, DT_RELASZ, ET_DYN, PF_W, PF_X, PT_DYNAMIC, PT_INTERP, PT_LOAD,
};
use elf::endian::LittleEndian;
use elf::ElfBytes;
use hal::user::{physical, FrameSource, UserPermission, UserRegisters, PAGE_SIZE};
use hal::{Arch, Architecture, UserContext};
use manux_abi::{limits, Errno};

/// Largest program file accepted.
pub const MAX_PROGRAM_BYTES: usize = 16 << 20;
/// Largest image (lowest to highest segment byte).
const MAX_IMAGE_BYTES: u64 = 64 << 20;
/// Most `PT_LOAD` segments.
const MAX_SEGMENTS: usize = 16;
/// Bytes of each process's stack.
pub const STACK_BYTES: u64 = 128 * 1024;

const AT_NULL: u64 = 0;
const AT_PAGESZ: u64 = 6;
const AT_ENTRY: u64 = 9;

/// A program ready to run.
pub struct LoadedProgram {
    /// Its address space.
    pub memory: UserMemory,
    /// Its first registers.
    pub context: UserContext,
}

struct Segment {
    virtual_address: u64,
    memory_size: u64,
    file_offset: u64,
    file_size: u64,
    permission: UserPermission,
}

fn not_executable<T>(_: T) -> Errno {
    Errno::NotExecutable
}

/// Loads `file` with `arguments` and `environment`.
///
/// Return values: `NotExecutable` for anything but the accepted form;
/// `ArgumentsTooLong` when the strings exceed the limits; `OutOfMemory`.
pub fn load(
    program: &Program,
    arguments: &[Vec<u8>],
    environment: &[Vec<u8>],
) -> Result<LoadedProgram, Errno> {
    let file: &[u8] = &program.bytes;
    if file.len() > MAX_PROGRAM_BYTES {
        return Err(Errno::NotExecutable);
    }
    let elf = ElfBytes::<LittleEndian>::minimal_parse(file).map_err(not_executable)?;
    let header = elf.ehdr;
    if header.class != elf::file::Class::ELF64
        || header.e_machine != Arch::ELF_MACHINE
        || header.e_type != ET_DYN
    {
        return Err(Errno::NotExecutable);
    }
    let segments = read_segments(&elf, file.len() as u64)?;
    let lowest = segments
        .iter()
        .map(|s| s.virtual_address & !(PAGE_SIZE - 1))
        .min()
        .ok_or(Errno::NotExecutable)?;
    let highest = segments
        .iter()
        .map(|s| s.virtual_address + s.memory_size)
        .max()
        .ok_or(Errno::NotExecutable)?;
    let span = highest - lowest;
    if span > MAX_IMAGE_BYTES {
        return Err(Errno::NotExecutable);
    }
    let entry_offset = header
        .e_entry
        .checked_sub(lowest)
        .ok_or(Errno::NotExecutable)?;
    let entry_is_code = segments.iter().any(|s| {
        s.permission.execute
            && header.e_entry >= s.virtual_address
            && header.e_entry < s.virtual_address + s.memory_size
    });
    if !entry_is_code {
        return Err(Errno::NotExecutable);
    }

    let mut memory = UserMemory::new()?;
    match build(
        &mut memory,
        program,
        &elf,
        file,
        &segments,
        lowest,
        span,
        entry_offset,
        arguments,
        environment,
    ) {
        Ok(context) => Ok(LoadedProgram { memory, context }),
        Err(error) => {
            memory.destroy();
            Err(error)
        }
    }
}

fn read_segments(elf: &ElfBytes<'_, LittleEndian>, file_size: u64) -> Result<Vec<Segment>, Errno> {
    let table = elf.segments().ok_or(Errno::NotExecutable)?;
    let mut segments = Vec::new();
    for header in table.iter() {
        if header.p_type == PT_INTERP {
            return Err(Errno::NotExecutable);
        }
        if header.p_type != PT_LOAD || header.p_memsz == 0 {
            continue;
        }
        let file_end = header
            .p_offset
            .checked_add(header.p_filesz)
            .ok_or(Errno::NotExecutable)?;
        let memory_end = header
            .p_vaddr
            .checked_add(header.p_memsz)
            .ok_or(Errno::NotExecutable)?;
        if file_end > file_size
            || header.p_filesz > header.p_memsz
            || memory_end > MAX_IMAGE_BYTES * 4
        {
            return Err(Errno::NotExecutable);
        }
        let permission = UserPermission {
            write: header.p_flags & PF_W != 0,
            execute: header.p_flags & PF_X != 0,
        };
        if permission.write && permission.execute {
            return Err(Errno::NotExecutable);
        }
        segments.push(Segment {
            virtual_address: header.p_vaddr,
            memory_size: header.p_memsz,
            file_offset: header.p_offset,
            file_size: header.p_filesz,
            permission,
        });
        if segments.len() > MAX_SEGMENTS {
            return Err(Errno::NotExecutable);
        }
    }
    Ok(segments)
}

#[allow(
    clippy::too_many_arguments,
    reason = "one loader step: the memory, the image and where each part goes"
)]
fn build(
    memory: &mut UserMemory,
    program: &Program,
    elf: &ElfBytes<'_, LittleEndian>,
    file: &[u8],
    segments: &[Segment],
    lowest: u64,
    span: u64,
    entry_offset: u64,
    arguments: &[Vec<u8>],
    environment: &[Vec<u8>],
) -> Result<UserContext, Errno> {
    let start = memory.reserve(span)?;
    // Pages holding file bytes are mapped now, each with its final
    // permission — the union when two segments share it; a page that
    // would be writable and executable is refused. The kernel writes the
    // file bytes and relocations through its own mapping, whatever the
    // user's permission, so nothing is remapped (and no TLB entry
    // invalidated) after loading. The zero-filled rest of a segment
    // (`.bss`, the program's heap) is mapped on first touch.
    let mut finals: Vec<(u64, UserPermission)> = Vec::new();
    for segment in segments {
        let first = (segment.virtual_address - lowest) & !(PAGE_SIZE - 1);
        let end = file_pages_end(segment, lowest);
        let mut page = first;
        while page < end {
            match finals.iter_mut().find(|(address, _)| *address == page) {
                Some((_, permission)) => {
                    permission.write |= segment.permission.write;
                    permission.execute |= segment.permission.execute;
                }
                None => {
                    finals.try_reserve(1).map_err(|_| Errno::OutOfMemory)?;
                    finals.push((page, segment.permission));
                }
            }
            page += PAGE_SIZE;
        }
    }
    if finals
        .iter()
        .any(|(_, permission)| permission.write && permission.execute)
    {
        return Err(Errno::NotExecutable);
    }
    // A read-only segment none of whose pages a writable segment shares
    // comes from the program's shared frames (see `program_cache`).
    let is_shared = |segment: &Segment| {
        !segment.permission.write
            && finals.iter().all(|&(page, permission)| {
                !permission.write || !segment_covers(segment, lowest, page)
            })
    };
    let shared = program.shared_pages(|| {
        build_shared_pages(file, segments, lowest, &finals, |segment| {
            is_shared(segment)
        })
    })?;
    memory.map_shared(start, &shared)?;
    for &(page, permission) in &finals {
        if !shared.pages.iter().any(|&(offset, _, _)| offset == page) {
            memory.map_page(start + page, permission)?;
        }
    }
    for segment in segments {
        let first = (segment.virtual_address - lowest) & !(PAGE_SIZE - 1);
        let end = segment.virtual_address - lowest + segment.memory_size;
        let file_end = file_pages_end(segment, lowest);
        if file_end < end {
            memory.map_lazy(start + file_end.max(first), start + end, segment.permission)?;
        }
        if is_shared(segment) {
            continue;
        }
        let bytes =
            &file[segment.file_offset as usize..(segment.file_offset + segment.file_size) as usize];
        memory.load(start + segment.virtual_address - lowest, bytes)?;
    }
    let base = start - lowest;
    relocate(memory, elf, file, segments, base)?;
    let stack_top = build_stack(memory, arguments, environment, start + entry_offset)?;
    Ok(UserContext::new(start + entry_offset, stack_top))
}

/// Whether `page` (an offset from `lowest`) holds file bytes of `segment`.
fn segment_covers(segment: &Segment, lowest: u64, page: u64) -> bool {
    let first = (segment.virtual_address - lowest) & !(PAGE_SIZE - 1);
    page >= first && page < file_pages_end(segment, lowest)
}

/// Builds the frames of the pages of the segments `shared` selects: each
/// zeroed, then filled with the file bytes of every segment on it.
///
/// Return values: `OutOfMemory` (the frames built so far are freed).
fn build_shared_pages(
    file: &[u8],
    segments: &[Segment],
    lowest: u64,
    finals: &[(u64, UserPermission)],
    shared: impl Fn(&Segment) -> bool,
) -> Result<SharedPages, Errno> {
    let mut pages = SharedPages::default();
    for &(page, permission) in finals {
        if !segments
            .iter()
            .any(|segment| shared(segment) && segment_covers(segment, lowest, page))
        {
            continue;
        }
        pages.pages.try_reserve(1).map_err(|_| Errno::OutOfMemory)?;
        let frame = KernelFrames.allocate_frame().ok_or(Errno::OutOfMemory)?;
        physical::zero_frame(frame);
        pages.pages.push((page, frame, permission));
        for segment in segments {
            let from = segment.virtual_address - lowest;
            let to = from + segment.file_size;
            let (low, high) = (from.max(page), to.min(page + PAGE_SIZE));
            if low >= high {
                continue;
            }
            let source = (segment.file_offset + (low - from)) as usize;
            physical::write(
                frame,
                (low - page) as usize,
                &file[source..source + (high - low) as usize],
            );
        }
    }
    Ok(pages)
}

/// The end (offset from `lowest`, page-rounded up) of the pages of
/// `segment` that hold bytes of the file.
fn file_pages_end(segment: &Segment, lowest: u64) -> u64 {
    (segment.virtual_address - lowest + segment.file_size).div_ceil(PAGE_SIZE) * PAGE_SIZE
}

/// Applies `R_*_RELATIVE` relocations from the dynamic table.
fn relocate(
    memory: &mut UserMemory,
    elf: &ElfBytes<'_, LittleEndian>,
    file: &[u8],
    segments: &[Segment],
    base: u64,
) -> Result<(), Errno> {
    let has_dynamic = elf
        .segments()
        .is_some_and(|table| table.iter().any(|h| h.p_type == PT_DYNAMIC));
    if !has_dynamic {
        return Ok(());
    }
    let dynamic = elf
        .dynamic()
        .map_err(not_executable)?
        .ok_or(Errno::NotExecutable)?;
    let (mut table, mut size, mut entry_size) = (None, 0u64, 24u64);
    for entry in dynamic.iter() {
        match entry.d_tag {
            DT_RELA => table = Some(entry.d_ptr()),
            DT_RELASZ => size = entry.d_val(),
            DT_RELAENT => entry_size = entry.d_val(),
            _ => {}
        }
    }
    let Some(table) = table else { return Ok(()) };
    if entry_size != 24 || size % 24 != 0 {
        return Err(Errno::NotExecutable);
    }
    // Find the table's bytes in the file through the segment holding it.
    let holder = segments
        .iter()
        .find(|s| {
            table >= s.virtual_address
                && table.saturating_add(size) <= s.virtual_address + s.file_size
        })
        .ok_or(Errno::NotExecutable)?;
    let offset = (holder.file_offset + (table - holder.virtual_address)) as usize;
    let bytes = file
        .get(offset..offset + size as usize)
        .ok_or(Errno::NotExecutable)?;
    for record in bytes.chunks_exact(24) {
        let field =
            |i: usize| u64::from_le_bytes(record[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]));
        let (target, info, addend) = (field(0), field(1), field(2));
        if (info & 0xffff_ffff) as u32 != Arch::ELF_RELATIVE_RELOCATION {
            return Err(Errno::NotExecutable);
        }
        let inside = segments.iter().any(|s| {
            target >= s.virtual_address
                && target.saturating_add(8) <= s.virtual_address + s.memory_size
        });
        if !inside {
            return Err(Errno::NotExecutable);
        }
        memory.load(base + target, &base.wrapping_add(addend).to_le_bytes())?;
    }
    Ok(())
}

/// Lays out the initial stack; returns the stack pointer.
fn build_stack(
    memory: &mut UserMemory,
    arguments: &[Vec<u8>],
    environment: &[Vec<u8>],
    entry: u64,
) -> Result<u64, Errno> {
    let count = arguments.len() + environment.len();
    let string_bytes: usize = arguments
        .iter()
        .chain(environment)
        .map(|s| s.len() + 1)
        .sum();
    if count > limits::ARGUMENTS || string_bytes > limits::ARGUMENT_BYTES {
        return Err(Errno::ArgumentsTooLong);
    }
    let stack = memory.map_new(
        STACK_BYTES,
        UserPermission {
            write: true,
            execute: false,
        },
    )?;
    let top = stack + STACK_BYTES;
    // Strings at the top.
    let mut cursor = top;
    let mut pointers = Vec::new();
    pointers
        .try_reserve(count)
        .map_err(|_| Errno::OutOfMemory)?;
    for string in arguments.iter().chain(environment) {
        cursor -= string.len() as u64 + 1;
        memory.copy_out(cursor, string)?;
        memory.copy_out(cursor + string.len() as u64, &[0])?;
        pointers.push(cursor);
    }
    // Then the vector: argc, argv, NULL, envp, NULL, auxv.
    let mut words: Vec<u64> = Vec::new();
    words
        .try_reserve(count + 8)
        .map_err(|_| Errno::OutOfMemory)?;
    words.push(arguments.len() as u64);
    words.extend_from_slice(&pointers[..arguments.len()]);
    words.push(0);
    words.extend_from_slice(&pointers[arguments.len()..]);
    words.push(0);
    words.extend_from_slice(&[AT_PAGESZ, PAGE_SIZE, AT_ENTRY, entry, AT_NULL, 0]);
    let vector_bytes = words.len() as u64 * 8;
    let stack_pointer = (cursor - vector_bytes) & !15;
    let mut bytes = Vec::new();
    bytes
        .try_reserve(vector_bytes as usize)
        .map_err(|_| Errno::OutOfMemory)?;
    for word in words {
        bytes.extend_from_slice(&word.to_le_bytes());
    }
    memory.copy_out(stack_pointer, &bytes)?;
    Ok(stack_pointer)
}
