// SPDX-License-Identifier: MIT OR Apache-2.0
//! The kernel ELF the stub carries: its load segments and entry points.
//!
//! Only what a `-kernel` loader reads (System V ABI, ELF-64): the program
//! headers' `PT_LOAD` entries, placed at their *physical* addresses
//! (`p_paddr`), and the entry. On AArch64 the entry is `e_entry`, which the
//! kernel's link script makes physical; on x86_64 it is the 32-bit PVH
//! entry of the `.note.Xen` note (`XEN_ELFNOTE_PHYS32_ENTRY`, type 18), as
//! QEMU's PVH loader uses it. Everything is read with bounds checks: a
//! malformed ELF is an error, never a fault.

/// Why the carried kernel could not be loaded.
#[derive(Clone, Copy, Debug)]
pub enum ElfError {
    /// Not a little-endian ELF-64 executable.
    NotElf64,
    /// A header or segment lies outside the file.
    Truncated,
    /// No `PT_LOAD` segment.
    NoSegments,
    /// A segment's file size exceeds its memory size, or addresses wrap.
    BadSegment,
    /// x86_64: no PVH entry note.
    NoPvhEntry,
}

const PT_LOAD: u32 = 1;
const PT_NOTE: u32 = 4;
/// `XEN_ELFNOTE_PHYS32_ENTRY`.
const XEN_ELFNOTE_PHYS32_ENTRY: u32 = 18;

/// One loadable segment.
#[derive(Clone, Copy, Debug)]
pub struct Segment {
    /// Physical address of its first byte.
    pub physical: u64,
    /// Bytes to copy from the file.
    pub file_range: (usize, usize),
    /// Bytes it occupies in memory (the rest, past the file bytes, is zero).
    pub memory_size: u64,
}

/// A parsed kernel ELF.
pub struct KernelElf<'a> {
    bytes: &'a [u8],
    program_headers: usize,
    program_header_size: usize,
    program_header_count: usize,
    /// `e_entry`.
    #[cfg_attr(
        not(target_arch = "aarch64"),
        allow(dead_code, reason = "x86_64 enters at the PVH entry instead")
    )]
    pub entry: u64,
}

fn read_u16(bytes: &[u8], offset: usize) -> Result<u16, ElfError> {
    let slice = bytes.get(offset..offset + 2).ok_or(ElfError::Truncated)?;
    Ok(u16::from_le_bytes([slice[0], slice[1]]))
}

fn read_u32(bytes: &[u8], offset: usize) -> Result<u32, ElfError> {
    let slice = bytes.get(offset..offset + 4).ok_or(ElfError::Truncated)?;
    Ok(u32::from_le_bytes([slice[0], slice[1], slice[2], slice[3]]))
}

fn read_u64(bytes: &[u8], offset: usize) -> Result<u64, ElfError> {
    let slice = bytes.get(offset..offset + 8).ok_or(ElfError::Truncated)?;
    let mut word = [0; 8];
    word.copy_from_slice(slice);
    Ok(u64::from_le_bytes(word))
}

impl<'a> KernelElf<'a> {
    /// Checks the ELF header.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, ElfError> {
        // e_ident: magic, ELFCLASS64 (2), ELFDATA2LSB (1); e_type ET_EXEC (2).
        if bytes.get(0..6) != Some(&[0x7f, b'E', b'L', b'F', 2, 1][..]) || read_u16(bytes, 16)? != 2
        {
            return Err(ElfError::NotElf64);
        }
        let elf = KernelElf {
            bytes,
            entry: read_u64(bytes, 24)?,
            program_headers: read_u64(bytes, 32)? as usize,
            program_header_size: usize::from(read_u16(bytes, 54)?),
            program_header_count: usize::from(read_u16(bytes, 56)?),
        };
        if elf.program_header_size < 56 {
            return Err(ElfError::NotElf64);
        }
        Ok(elf)
    }

    /// The program headers' `(p_type, offset of the header)`.
    fn headers(&self) -> impl Iterator<Item = Result<(u32, usize), ElfError>> + '_ {
        (0..self.program_header_count).map(move |index| {
            let offset = index
                .checked_mul(self.program_header_size)
                .and_then(|o| o.checked_add(self.program_headers))
                .ok_or(ElfError::Truncated)?;
            Ok((read_u32(self.bytes, offset)?, offset))
        })
    }

    /// The `PT_LOAD` segments, in file order.
    pub fn segments(&self) -> impl Iterator<Item = Result<Segment, ElfError>> + '_ {
        self.headers().filter_map(move |header| {
            let (kind, offset) = match header {
                Ok(header) => header,
                Err(error) => return Some(Err(error)),
            };
            (kind == PT_LOAD).then(|| self.segment(offset))
        })
    }

    fn segment(&self, header: usize) -> Result<Segment, ElfError> {
        // Elf64_Phdr: type, flags, offset (8), vaddr (16), paddr (24),
        // filesz (32), memsz (40), align (48).
        let file_offset = read_u64(self.bytes, header + 8)? as usize;
        let physical = read_u64(self.bytes, header + 24)?;
        let file_size = read_u64(self.bytes, header + 32)? as usize;
        let memory_size = read_u64(self.bytes, header + 40)?;
        let file_end = file_offset
            .checked_add(file_size)
            .filter(|end| *end <= self.bytes.len())
            .ok_or(ElfError::Truncated)?;
        if file_size as u64 > memory_size || physical.checked_add(memory_size).is_none() {
            return Err(ElfError::BadSegment);
        }
        Ok(Segment {
            physical,
            file_range: (file_offset, file_end),
            memory_size,
        })
    }

    /// The physical range `[start, end)` all load segments span.
    pub fn physical_span(&self) -> Result<(u64, u64), ElfError> {
        let mut span: Option<(u64, u64)> = None;
        for segment in self.segments() {
            let segment = segment?;
            let end = segment.physical + segment.memory_size;
            span = Some(match span {
                None => (segment.physical, end),
                Some((start, old_end)) => (start.min(segment.physical), old_end.max(end)),
            });
        }
        span.ok_or(ElfError::NoSegments)
    }

    /// The file bytes of `segment`.
    pub fn file_bytes(&self, segment: &Segment) -> &'a [u8] {
        &self.bytes[segment.file_range.0..segment.file_range.1]
    }

    /// The PVH entry point (`XEN_ELFNOTE_PHYS32_ENTRY`), a physical address
    /// entered in 32-bit protected mode.
    #[cfg_attr(
        not(target_arch = "x86_64"),
        allow(dead_code, reason = "only x86_64 boots through PVH")
    )]
    pub fn pvh_entry(&self) -> Result<u64, ElfError> {
        for header in self.headers() {
            let (kind, offset) = header?;
            if kind != PT_NOTE {
                continue;
            }
            let start = read_u64(self.bytes, offset + 8)? as usize;
            let size = read_u64(self.bytes, offset + 32)? as usize;
            let end = start.checked_add(size).ok_or(ElfError::Truncated)?;
            let mut cursor = start;
            // Elf64_Nhdr: namesz, descsz, type, then name and descriptor,
            // each padded to 4 bytes.
            while cursor + 12 <= end {
                let name_size = read_u32(self.bytes, cursor)? as usize;
                let descriptor_size = read_u32(self.bytes, cursor + 4)? as usize;
                let note_type = read_u32(self.bytes, cursor + 8)?;
                let descriptor = cursor + 12 + name_size.div_ceil(4) * 4;
                let name = self.bytes.get(cursor + 12..cursor + 12 + name_size);
                if note_type == XEN_ELFNOTE_PHYS32_ENTRY
                    && name.is_some_and(|name| name.starts_with(b"Xen"))
                {
                    return match descriptor_size {
                        4 => read_u32(self.bytes, descriptor).map(u64::from),
                        8 => read_u64(self.bytes, descriptor),
                        _ => Err(ElfError::NoPvhEntry),
                    };
                }
                cursor = descriptor + descriptor_size.div_ceil(4) * 4;
            }
        }
        Err(ElfError::NoPvhEntry)
    }
}
