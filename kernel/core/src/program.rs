// SPDX-License-Identifier: MIT OR Apache-2.0
//! Loading a program, without the hardware: checking a static
//! position-independent ELF file, laying out its image, relocating it and
//! building its first stack, through a small trait.
//!
//! Accepted programs: ELF64, little-endian, the CPU's `e_machine`,
//! `ET_DYN` — or `ET_EXEC`, below — with no interpreter, and `PT_LOAD`
//! segments that are never both writable and executable (nor share a page
//! that would be).
//!
//! Two kinds of program, told apart by a note ([`ProgramKind`]). A native
//! program (the form `apps/` builds) carries, in a `PT_NOTE` segment, the
//! note `manux_abi::program_note` defines; the loader applies its
//! relocations, and it accepts in `DT_RELA` only `R_*_RELATIVE` ones, each
//! inside a segment and none in a shared read-only page, besides
//! `R_*_NONE` (skipped) and `R_*_IRELATIVE` (skipped too: a resolver
//! function in the program must run for each — the kernel must not).
//! Everything else is a [`Rejection`] (`ENOEXEC`). A program without the
//! note is a Linux program, and, as on Linux, it relocates itself (glibc's
//! `_dl_relocate_static_pie`, musl's `rcrt1`): the loader reads none of its
//! relocations and writes nothing but its file bytes. The note grants
//! nothing: a file that carries it gets every check above, one without it
//! gets no write of the loader's into its pages.
//! Every number in the file is checked before use (offsets and sizes
//! within the file, segments within the image, relocations within
//! segments), so a hostile file cannot make the loader read or write out
//! of bounds; [`ProgramImage::parse`] does every check before anything is
//! mapped. A parsed image is immutable and holds no address: the kernel
//! parses a program once and loads it many times.
//!
//! Loading builds each private page whole — zeroed, the file bytes of the
//! segments on it, then the relocations that land on it (sorted by
//! address when the file is parsed) — and hands it to the memory in one
//! call, so the cost of a relocation is a store into a page buffer, not a
//! checked write into a process.
//!
//! A fixed-address program (`ET_EXEC`: Debian's static executables,
//! linked at 0x40_0000) is the one exception to loading anywhere: every
//! segment must lie inside the target's fixed window
//! ([`ProgramTarget::fixed_window`], else `OutsideFixedWindow`), and the
//! image is reserved at the addresses the file names
//! ([`ProgramPages::reserve_fixed`]; [`Placement::Fixed`]). The kernel
//! gives each such process a private copy of the window, which the global
//! allocator never hands out.
//!
//! The image gets one range of the address space: `start - lowest +
//! p_vaddr` for each segment, where `lowest` is the page of the lowest
//! segment. The stack is a separate range; at its top, per the System V
//! ABI (AMD64 psABI §3.4.1, the AArch64 ELF ABI follows it): `argc`,
//! `argv[]`, NULL, `envp[]`, NULL, the full auxiliary vector a Linux libc
//! reads (`AT_PHDR`, `AT_PHENT`, `AT_PHNUM`, `AT_PAGESZ`, `AT_ENTRY`,
//! `AT_RANDOM`, `AT_HWCAP`, the ids, `AT_EXECFN`, …), then the strings,
//! laid out by `linux_abi::initial_stack::lay_out`. Native and Linux
//! programs get the same stack: the native runtime reads the keys it
//! knows and skips the others, so there is one loader path.
//!
//! What the architecture and the kernel decide comes in as values: the
//! machine and relocation numbers and the page size ([`ProgramTarget`]),
//! and the memory itself ([`ProgramPages`]: reserve a range, map pages,
//! write bytes). The kernel implements [`ProgramPages`] over a process's
//! `UserMemory` and the program cache's shared frames
//! (`kernel/src/elf_loader.rs`); the tests implement it over a map of
//! byte arrays.

use alloc::vec::Vec;
use elf::abi::{
    DT_RELA, DT_RELAENT, DT_RELASZ, ET_DYN, ET_EXEC, PF_W, PF_X, PT_DYNAMIC, PT_INTERP, PT_LOAD,
    PT_NOTE, PT_PHDR,
};
use elf::endian::LittleEndian;
use elf::note::Note;
use elf::ElfBytes;
use linux_abi::initial_stack::{lay_out, InitialStackError, StartValues};
use manux_abi::{limits, program_note, Errno};

/// Largest program file accepted.
pub const MAX_PROGRAM_BYTES: usize = 16 << 20;
/// Largest image (lowest to highest segment byte).
pub const MAX_IMAGE_BYTES: u64 = 64 << 20;
/// Most `PT_LOAD` segments.
pub const MAX_SEGMENTS: usize = 16;
/// Bytes of each process's stack (Linux's default `RLIMIT_STACK`): mapped
/// and paid for page by page as it is touched ([`ProgramPages::map_stack`]).
pub const STACK_BYTES: u64 = 8 << 20;
/// Bytes of one `Elf64_Rela` record (`r_offset`, `r_info`, `r_addend`).
const RELOCATION_BYTES: u64 = 24;

/// What the CPU and the kernel decide about programs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProgramTarget {
    /// The ELF `e_machine` this CPU runs (`EM_AARCH64`, `EM_X86_64`).
    pub machine: u16,
    /// The relocation type meaning "add the load base"
    /// (`R_AARCH64_RELATIVE`, `R_X86_64_RELATIVE`).
    pub relative_relocation: u32,
    /// The relocation type of an indirect function
    /// (`R_AARCH64_IRELATIVE`, `R_X86_64_IRELATIVE`): accepted and
    /// skipped, the program applies it itself.
    pub self_applied_relocation: u32,
    /// Bytes of a page; a power of two.
    pub page_size: u64,
    /// The fixed-address window `(start, end)`: where a program linked
    /// for fixed addresses (`ET_EXEC`) must lie whole. The kernel gives
    /// each such program a private copy of it.
    pub fixed_window: (u64, u64),
}

/// Where an image goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// Anywhere ([`ProgramPages::reserve`]): a position-independent
    /// program (`ET_DYN`), relocated to where it lands.
    Anywhere,
    /// At the addresses the file names ([`ProgramPages::reserve_fixed`]):
    /// a fixed-address program (`ET_EXEC`), inside the fixed window.
    Fixed,
}

/// Which kind of program a file is: whose the relocations are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProgramKind {
    /// A program built for Manux: the file has the note
    /// `manux_abi::program_note`; the loader checks and applies its
    /// relocations.
    Native,
    /// Any other program: a Linux one, which relocates itself; the
    /// loader leaves its relocations alone.
    Linux,
}

/// `R_AARCH64_NONE` and `R_X86_64_NONE`: no effect.
const NO_RELOCATION: u32 = 0;

/// What the program may do with a page, besides reading it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PagePermission {
    /// Writes allowed.
    pub write: bool,
    /// Instruction fetches allowed.
    pub execute: bool,
}

/// Why a file is not a program this kernel runs; each is `ENOEXEC`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// Larger than [`MAX_PROGRAM_BYTES`].
    FileTooLarge,
    /// The ELF header or the program header table cannot be read.
    Malformed,
    /// Not ELF64, not this machine, or neither `ET_DYN` nor `ET_EXEC`.
    WrongKind,
    /// A fixed-address program (`ET_EXEC`) with a segment outside the
    /// fixed window.
    OutsideFixedWindow,
    /// A `PT_INTERP` segment: the program wants a dynamic linker.
    Interpreter,
    /// A segment's bytes lie outside the file, its file size exceeds its
    /// memory size, or its addresses overflow or pass the image limit.
    SegmentOutOfBounds,
    /// A segment, or a page two segments share, both writable and
    /// executable.
    WriteAndExecute,
    /// More than [`MAX_SEGMENTS`] loadable segments.
    TooManySegments,
    /// No loadable segment.
    NoSegment,
    /// The image spans more than [`MAX_IMAGE_BYTES`].
    ImageTooLarge,
    /// The entry point is not in an executable segment.
    EntryNotInCode,
    /// The dynamic table or `DT_RELA` table is unreadable, of a bad size,
    /// or not inside a segment's file bytes.
    BadRelocationTable,
    /// A relocation other than the relative one.
    UnsupportedRelocation,
    /// A relocation that would write outside every segment.
    RelocationOutOfBounds,
    /// A relocation that would write a shared read-only page (programs
    /// are linked `-z text`: their code and constants are the same at
    /// every load address).
    RelocationInSharedPage,
}

/// Why loading failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadError {
    /// Not a program this kernel runs (`ENOEXEC`).
    Rejected(Rejection),
    /// More arguments and environment strings than
    /// [`limits::ARGUMENTS`], or more bytes than
    /// [`limits::ARGUMENT_BYTES`] (`E2BIG`).
    ArgumentsTooLong,
    /// The kernel heap could not hold a table of the loader (`ENOMEM`).
    OutOfMemory,
    /// The memory ([`ProgramPages`]) refused: its error, as it gave it.
    Memory(Errno),
}

impl From<Rejection> for LoadError {
    fn from(rejection: Rejection) -> Self {
        LoadError::Rejected(rejection)
    }
}

/// The memory a program is loaded into.
///
/// Addresses are the memory's own (user addresses in the kernel). The
/// loader calls, in order: [`Self::reserve`] once for the image,
/// [`Self::map_shared`] once, [`Self::map_built`] for each other page
/// holding file bytes, [`Self::map_lazy`] for the zero-filled rest of
/// each segment, [`Self::load`] for relocations that land there, then
/// [`Self::map_stack`] once for the stack and [`Self::copy_out`] to fill
/// it. Every address it passes lies in a range it reserved.
pub trait ProgramPages {
    /// A page being built ([`Self::map_built`]).
    type Page: PageBytes;
    /// Takes `size` bytes of address space for the image; returns the
    /// start (page-aligned). Nothing is mapped yet.
    fn reserve(&mut self, size: u64) -> Result<u64, Errno>;
    /// Takes the `size` bytes of address space at `start` (page-aligned,
    /// inside the fixed window) for a fixed-address image, instead of
    /// [`Self::reserve`]. From then on the memory is a private window:
    /// [`Self::map_new`] takes its ranges there too.
    fn reserve_fixed(&mut self, start: u64, size: u64) -> Result<u64, Errno>;
    /// Maps the image's shared pages ([`ProgramImage::shared_pages`]) at
    /// `start` plus each page's offset, read-only, each holding what
    /// [`ProgramImage::fill_page`] writes into a zeroed page. The memory
    /// may build them once per program and map the same frames in every
    /// process running it; [`Self::load`] never writes them.
    fn map_shared(&mut self, start: u64, image: &ProgramImage, file: &[u8]) -> Result<(), Errno>;
    /// Maps a new page of this process at `address` (not mapped yet)
    /// with `permission`, holding what `build` writes into it, zeroed
    /// first: the page is built where it will stay, never copied.
    fn map_built(
        &mut self,
        address: u64,
        permission: PagePermission,
        build: impl FnOnce(&mut Self::Page),
    ) -> Result<(), Errno>;
    /// Makes `[start, end)` zeroed memory with `permission`, mapped when
    /// first touched (by the program or by [`Self::load`]).
    fn map_lazy(&mut self, start: u64, end: u64, permission: PagePermission) -> Result<(), Errno>;
    /// 16 random bytes for the new program (`AT_RANDOM`: libcs seed
    /// their stack-protector canary and pointer guard from them).
    fn random_bytes(&mut self) -> [u8; 16];
    /// Writes `bytes` at `address` whatever the program's permission
    /// there (relocations in the zero-filled part of a segment).
    fn load(&mut self, address: u64, bytes: &[u8]) -> Result<(), Errno>;
    /// Takes `size` bytes of zeroed memory with `permission`, mapped when
    /// first touched; returns the start.
    fn map_new(&mut self, size: u64, permission: PagePermission) -> Result<u64, Errno>;
    /// Takes `size` bytes of zeroed, writable memory for the stack,
    /// mapped — and paid for — page by page when first touched; returns
    /// the start.
    fn map_stack(&mut self, size: u64) -> Result<u64, Errno>;
    /// Writes `bytes` at `address`, which must be writable by the
    /// program (the stack).
    fn copy_out(&mut self, address: u64, bytes: &[u8]) -> Result<(), Errno>;
}

/// A page being built by the loader ([`ProgramPages::map_built`]), zeroed
/// to start with. Offsets are from the page's start; bytes past its end
/// are not written.
pub trait PageBytes {
    /// Copies `bytes` to `offset`.
    fn write(&mut self, offset: usize, bytes: &[u8]);
    /// Writes `value`, little-endian, at `offset`, a multiple of 8 with
    /// the eight bytes on the page (one store where the memory allows).
    fn write_word(&mut self, offset: usize, value: u64);
}

/// A page held in a buffer (a host test's memory, for one).
impl PageBytes for Vec<u8> {
    #[inline]
    fn write(&mut self, offset: usize, bytes: &[u8]) {
        let end = offset.saturating_add(bytes.len()).min(self.len());
        if offset < end {
            self[offset..end].copy_from_slice(&bytes[..end - offset]);
        }
    }

    fn write_word(&mut self, offset: usize, value: u64) {
        PageBytes::write(self, offset, &value.to_le_bytes());
    }
}

/// One loadable segment, checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    /// `p_vaddr`.
    pub virtual_address: u64,
    /// `p_memsz`, not zero.
    pub memory_size: u64,
    /// `p_offset`.
    pub file_offset: u64,
    /// `p_filesz`, at most `memory_size`.
    pub file_size: u64,
    /// From `p_flags`; never both.
    pub permission: PagePermission,
}

/// One page of the image holding file bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImagePage {
    /// Offset from the image's start, page-aligned.
    pub offset: u64,
    /// The union of the permissions of the segments on it; never
    /// writable and executable.
    pub permission: PagePermission,
    /// Whether the page is one of the program's shared read-only pages
    /// (see [`ProgramImage::shared_pages`]).
    pub shared: bool,
}

/// Where a loaded program starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProgramStart {
    /// Address of the first instruction.
    pub entry: u64,
    /// The stack pointer: `argc` is there, 16-byte aligned.
    pub stack_pointer: u64,
}

/// One checked relative relocation: where it writes (from the image's
/// start) and what it adds to the load base.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Relocation {
    offset: u64,
    addend: u64,
}

/// A checked program file: its segments, image layout and relocations,
/// ready to be loaded at any address.
#[derive(Debug)]
pub struct ProgramImage {
    target: ProgramTarget,
    placement: Placement,
    kind: ProgramKind,
    segments: Vec<Segment>,
    /// The page of the lowest segment byte (an ELF address).
    lowest: u64,
    /// Bytes from `lowest` to the highest segment byte.
    span: u64,
    /// The entry point's offset from `lowest`.
    entry_offset: u64,
    /// The pages holding file bytes, by offset.
    pages: Vec<ImagePage>,
    /// Where the program header table is in the image (offset from
    /// `lowest`), if a segment loads it; its entry size and count.
    program_headers: Option<u64>,
    program_header_size: u64,
    program_header_count: u64,
    /// The relocations whose bytes all lie in private pages holding file
    /// bytes, sorted by offset: applied while those pages are built.
    in_pages: Vec<Relocation>,
    /// The others (bytes in the zero-filled part of a segment): written
    /// through the memory after the pages are mapped.
    outside_pages: Vec<Relocation>,
}

fn malformed<T>(_: T) -> Rejection {
    Rejection::Malformed
}

fn bad_table<T>(_: T) -> Rejection {
    Rejection::BadRelocationTable
}

impl ProgramImage {
    /// Checks `file` as a program for `target` and lays out its image.
    ///
    /// Return values: [`LoadError::Rejected`] with the first check that
    /// failed; [`LoadError::OutOfMemory`] if the heap cannot hold the
    /// page table of the layout.
    pub fn parse(file: &[u8], target: ProgramTarget) -> Result<Self, LoadError> {
        if file.len() > MAX_PROGRAM_BYTES {
            return Err(Rejection::FileTooLarge.into());
        }
        let elf = ElfBytes::<LittleEndian>::minimal_parse(file).map_err(malformed)?;
        let header = elf.ehdr;
        let placement = match header.e_type {
            ET_DYN => Placement::Anywhere,
            ET_EXEC => Placement::Fixed,
            _ => return Err(Rejection::WrongKind.into()),
        };
        if header.class != elf::file::Class::ELF64 || header.e_machine != target.machine {
            return Err(Rejection::WrongKind.into());
        }
        let address_limit = match placement {
            Placement::Anywhere => MAX_IMAGE_BYTES * 4,
            Placement::Fixed => target.fixed_window.1,
        };
        let segments = read_segments(&elf, file.len() as u64, address_limit)?;
        let page_mask = !(target.page_size - 1);
        let lowest = segments
            .iter()
            .map(|s| s.virtual_address & page_mask)
            .min()
            .ok_or(Rejection::NoSegment)?;
        let highest = segments
            .iter()
            .map(|s| s.virtual_address + s.memory_size)
            .max()
            .ok_or(Rejection::NoSegment)?;
        let span = highest - lowest;
        if span > MAX_IMAGE_BYTES {
            return Err(Rejection::ImageTooLarge.into());
        }
        if placement == Placement::Fixed
            && (lowest < target.fixed_window.0 || highest > target.fixed_window.1)
        {
            return Err(Rejection::OutsideFixedWindow.into());
        }
        let entry_offset = header
            .e_entry
            .checked_sub(lowest)
            .ok_or(Rejection::EntryNotInCode)?;
        let entry_is_code = segments.iter().any(|s| {
            s.permission.execute
                && header.e_entry >= s.virtual_address
                && header.e_entry < s.virtual_address + s.memory_size
        });
        if !entry_is_code {
            return Err(Rejection::EntryNotInCode.into());
        }
        let program_headers =
            program_header_address(&elf, &segments).and_then(|address| address.checked_sub(lowest));
        let kind = program_kind(&elf);
        let mut image = ProgramImage {
            target,
            placement,
            kind,
            segments,
            lowest,
            span,
            entry_offset,
            program_headers,
            program_header_size: u64::from(header.e_phentsize),
            program_header_count: u64::from(header.e_phnum),
            pages: Vec::new(),
            in_pages: Vec::new(),
            outside_pages: Vec::new(),
        };
        image.lay_out_pages()?;
        if kind == ProgramKind::Native {
            let table = image.relocation_table(&elf, file)?;
            image.sort_relocations(&file[table])?;
        }
        Ok(image)
    }

    /// Where the image goes.
    pub fn placement(&self) -> Placement {
        self.placement
    }

    /// Whether the program is a native or a Linux one.
    pub fn kind(&self) -> ProgramKind {
        self.kind
    }

    /// The segments, in file order.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// Bytes of address space the image needs (from the page of its
    /// lowest byte to its highest byte).
    pub fn span(&self) -> u64 {
        self.span
    }

    /// The entry point's offset from the image's start.
    pub fn entry_offset(&self) -> u64 {
        self.entry_offset
    }

    /// The pages holding file bytes, with their final permissions.
    pub fn pages(&self) -> &[ImagePage] {
        &self.pages
    }

    /// The shared pages: those holding file bytes of a read-only segment
    /// none of whose pages is writable. Programs are position-independent
    /// with no relocation in read-only segments (`-z text`), so those
    /// pages hold the same bytes at every load address, and every process
    /// running the program can map the same frames.
    pub fn shared_pages(&self) -> impl Iterator<Item = &ImagePage> {
        self.pages.iter().filter(|page| page.shared)
    }

    /// Writes the file bytes of the page at `offset` (from the image's
    /// start): `write_fn(offset in the page, bytes)` for each segment with
    /// file bytes on it, in segment order. The rest of the page is zero.
    pub fn fill_page(&self, file: &[u8], offset: u64, mut write_fn: impl FnMut(usize, &[u8])) {
        for segment in &self.segments {
            let from = segment.virtual_address - self.lowest;
            let to = from + segment.file_size;
            let (low, high) = (from.max(offset), to.min(offset + self.target.page_size));
            if low >= high {
                continue;
            }
            // In the file: `parse` checked `file_offset + file_size`.
            let source = (segment.file_offset + (low - from)) as usize;
            write_fn(
                (low - offset) as usize,
                &file[source..source + (high - low) as usize],
            );
        }
    }

    /// Loads the image into `pages` and builds the stack with
    /// `arguments` and `environment`.
    ///
    /// `file` must be the file [`Self::parse`] checked. On error, what
    /// was mapped stays mapped: the caller discards the memory.
    ///
    /// Return values: [`LoadError::ArgumentsTooLong`];
    /// [`LoadError::OutOfMemory`]; [`LoadError::Memory`] with what
    /// `pages` returned.
    pub fn load<P: ProgramPages + ?Sized>(
        &self,
        pages: &mut P,
        file: &[u8],
        arguments: &[Vec<u8>],
        environment: &[Vec<u8>],
    ) -> Result<ProgramStart, LoadError> {
        let start = match self.placement {
            Placement::Anywhere => pages.reserve(self.span),
            Placement::Fixed => pages.reserve_fixed(self.lowest, self.span),
        }
        .map_err(LoadError::Memory)?;
        // The base is what the file's address 0 becomes; it may wrap
        // below `start`, as the addends are ELF addresses.
        let base = start.wrapping_sub(self.lowest);
        pages
            .map_shared(start, self, file)
            .map_err(LoadError::Memory)?;
        // Each other page holding file bytes is built whole, in place,
        // relocations included, and mapped once with its final permission.
        for page in self.pages.iter().filter(|page| !page.shared) {
            pages
                .map_built(start + page.offset, page.permission, |content| {
                    self.fill_page(file, page.offset, |at, bytes| content.write(at, bytes));
                    self.relocate_page(page.offset, base, content);
                })
                .map_err(LoadError::Memory)?;
        }
        // The zero-filled rest of a segment (`.bss`, the program's heap) is
        // mapped on first touch.
        for segment in &self.segments {
            let first = self.first_page(segment);
            let end = segment.virtual_address - self.lowest + segment.memory_size;
            let file_end = self.file_pages_end(segment);
            if file_end < end {
                pages
                    .map_lazy(start + file_end.max(first), start + end, segment.permission)
                    .map_err(LoadError::Memory)?;
            }
        }
        for relocation in &self.outside_pages {
            pages
                .load(
                    start + relocation.offset,
                    &base.wrapping_add(relocation.addend).to_le_bytes(),
                )
                .map_err(LoadError::Memory)?;
        }
        let entry = start + self.entry_offset;
        let program_headers = self.program_headers.map_or(0, |offset| start + offset);
        let stack_pointer = build_stack(
            pages,
            arguments,
            environment,
            StackFacts {
                entry,
                program_headers,
                program_header_size: self.program_header_size,
                program_header_count: self.program_header_count,
                page_size: self.target.page_size,
            },
        )?;
        Ok(ProgramStart {
            entry,
            stack_pointer,
        })
    }

    /// The offset of the first page of `segment`.
    fn first_page(&self, segment: &Segment) -> u64 {
        (segment.virtual_address - self.lowest) & !(self.target.page_size - 1)
    }

    /// The end (offset from `lowest`, page-rounded up) of the pages of
    /// `segment` that hold bytes of the file.
    fn file_pages_end(&self, segment: &Segment) -> u64 {
        let page_size = self.target.page_size;
        (segment.virtual_address - self.lowest + segment.file_size).div_ceil(page_size) * page_size
    }

    /// The offsets of the pages of `segment` that hold file bytes.
    fn file_pages(&self, segment: &Segment) -> core::ops::Range<u64> {
        self.first_page(segment)..self.file_pages_end(segment)
    }

    /// Whether `segment` comes from the shared pages: read-only, and no
    /// page of it writable through another segment (a page is writable
    /// when a writable segment has file bytes on it).
    fn is_shared(&self, segment: &Segment) -> bool {
        let pages = self.file_pages(segment);
        !segment.permission.write
            && self.segments.iter().all(|other| {
                let others = self.file_pages(other);
                !other.permission.write
                    || pages.start.max(others.start) >= pages.end.min(others.end)
            })
    }

    /// Fills `self.pages`: each page holding file bytes, in address
    /// order, with the union of the permissions of the segments on it.
    ///
    /// Linear in the pages (a few checks per segment for each): a
    /// program is parsed at its first spawn and again whenever it has
    /// left the program cache, and busybox has about 480 pages.
    ///
    /// Return values: `WriteAndExecute` if a page would be writable and
    /// executable; `OutOfMemory`.
    fn lay_out_pages(&mut self) -> Result<(), LoadError> {
        let page_size = self.target.page_size;
        // The segments' page ranges (at most `MAX_SEGMENTS`), by start.
        let mut ranges: Vec<core::ops::Range<u64>> = Vec::new();
        ranges
            .try_reserve_exact(self.segments.len())
            .map_err(|_| LoadError::OutOfMemory)?;
        ranges.extend(self.segments.iter().map(|segment| self.file_pages(segment)));
        ranges.sort_unstable_by_key(|range| range.start);
        // `read_segments` keeps at most `MAX_SEGMENTS`.
        let mut shared = [false; MAX_SEGMENTS];
        for (slot, segment) in shared.iter_mut().zip(&self.segments) {
            *slot = self.is_shared(segment);
        }
        let mut pages: Vec<ImagePage> = Vec::new();
        // Every page of the union of the ranges, once, in order.
        let mut next = 0;
        for range in &ranges {
            let mut page = range.start.max(next);
            while page < range.end {
                let (mut permission, mut is_shared) = (PagePermission::default(), false);
                for (segment, &segment_shared) in self.segments.iter().zip(&shared) {
                    if self.file_pages(segment).contains(&page) {
                        permission.write |= segment.permission.write;
                        permission.execute |= segment.permission.execute;
                        is_shared |= segment_shared;
                    }
                }
                if permission.write && permission.execute {
                    return Err(Rejection::WriteAndExecute.into());
                }
                pages.try_reserve(1).map_err(|_| LoadError::OutOfMemory)?;
                pages.push(ImagePage {
                    offset: page,
                    permission,
                    shared: is_shared,
                });
                page += page_size;
            }
            next = next.max(range.end);
        }
        self.pages = pages;
        Ok(())
    }

    /// Finds and checks the `DT_RELA` table: its file byte range (empty
    /// without a dynamic segment or table).
    ///
    /// Return values: `BadRelocationTable`, `UnsupportedRelocation`,
    /// `RelocationOutOfBounds`.
    fn relocation_table(
        &self,
        elf: &ElfBytes<'_, LittleEndian>,
        file: &[u8],
    ) -> Result<core::ops::Range<usize>, Rejection> {
        let has_dynamic = elf
            .segments()
            .is_some_and(|table| table.iter().any(|h| h.p_type == PT_DYNAMIC));
        if !has_dynamic {
            return Ok(0..0);
        }
        let dynamic = elf
            .dynamic()
            .map_err(bad_table)?
            .ok_or(Rejection::BadRelocationTable)?;
        let (mut table, mut size, mut entry_size) = (None, 0u64, RELOCATION_BYTES);
        for entry in dynamic.iter() {
            match entry.d_tag {
                DT_RELA => table = Some(entry.d_ptr()),
                DT_RELASZ => size = entry.d_val(),
                DT_RELAENT => entry_size = entry.d_val(),
                _ => {}
            }
        }
        let Some(table) = table else { return Ok(0..0) };
        if entry_size != RELOCATION_BYTES || size % RELOCATION_BYTES != 0 {
            return Err(Rejection::BadRelocationTable);
        }
        // Find the table's bytes in the file through the segment holding it.
        let holder = self
            .segments
            .iter()
            .find(|s| {
                table >= s.virtual_address
                    && table.saturating_add(size) <= s.virtual_address + s.file_size
            })
            .ok_or(Rejection::BadRelocationTable)?;
        let offset = (holder.file_offset + (table - holder.virtual_address)) as usize;
        let range = offset..offset + size as usize;
        let bytes = file
            .get(range.clone())
            .ok_or(Rejection::BadRelocationTable)?;
        for record in bytes.chunks_exact(RELOCATION_BYTES as usize) {
            let (target, info, _) = relocation_fields(record);
            let kind = (info & 0xffff_ffff) as u32;
            if kind == NO_RELOCATION || kind == self.target.self_applied_relocation {
                continue;
            }
            if kind != self.target.relative_relocation {
                return Err(Rejection::UnsupportedRelocation);
            }
            let inside = self.segments.iter().any(|s| {
                target >= s.virtual_address
                    && target.saturating_add(8) <= s.virtual_address + s.memory_size
            });
            if !inside {
                return Err(Rejection::RelocationOutOfBounds);
            }
        }
        Ok(range)
    }

    /// Sorts the checked relocation records `table` into those applied
    /// while private pages are built and the others.
    ///
    /// Return values: `RelocationInSharedPage`; `OutOfMemory`.
    fn sort_relocations(&mut self, table: &[u8]) -> Result<(), LoadError> {
        let page_mask = !(self.target.page_size - 1);
        // Whether the page holding `offset` is shared; `None` if it holds
        // no file bytes (`self.pages` is sorted by offset).
        let page_kind = |offset: u64| {
            self.pages
                .binary_search_by_key(&(offset & page_mask), |page| page.offset)
                .ok()
                .map(|index| self.pages[index].shared)
        };
        let count = table.len() / RELOCATION_BYTES as usize;
        let (mut in_pages, mut outside_pages) = (Vec::new(), Vec::new());
        in_pages
            .try_reserve_exact(count)
            .map_err(|_| LoadError::OutOfMemory)?;
        for record in table.chunks_exact(RELOCATION_BYTES as usize) {
            let (target, info, addend) = relocation_fields(record);
            if (info & 0xffff_ffff) as u32 != self.target.relative_relocation {
                // `R_*_NONE` and `R_*_IRELATIVE` (checked): not the
                // loader's to apply.
                continue;
            }
            // `target >= lowest`: it lies in a segment (checked).
            let relocation = Relocation {
                offset: target - self.lowest,
                addend,
            };
            // The pages of its first and last byte.
            let end_pages = [relocation.offset, relocation.offset + 7].map(page_kind);
            if end_pages.contains(&Some(true)) {
                return Err(Rejection::RelocationInSharedPage.into());
            }
            if end_pages == [Some(false); 2] {
                in_pages.push(relocation);
            } else {
                outside_pages
                    .try_reserve(1)
                    .map_err(|_| LoadError::OutOfMemory)?;
                outside_pages.push(relocation);
            }
        }
        // Relocations that overlap (no linker makes them) may land in any
        // order: their bytes stay in this process's own pages either way.
        in_pages.sort_unstable_by_key(|relocation| relocation.offset);
        self.in_pages = in_pages;
        self.outside_pages = outside_pages;
        Ok(())
    }

    /// Applies to `content`, the page at `page` (from the image's start),
    /// the bytes of every relocation that lands on it, for the load base
    /// `base`.
    fn relocate_page(&self, page: u64, base: u64, content: &mut impl PageBytes) {
        let end = page + self.target.page_size;
        let first = self
            .in_pages
            .partition_point(|relocation| relocation.offset + 8 <= page);
        for relocation in self.in_pages[first..]
            .iter()
            .take_while(|relocation| relocation.offset < end)
        {
            let value = base.wrapping_add(relocation.addend);
            // Nearly always an aligned word on this page: one store.
            if relocation.offset % 8 == 0 && relocation.offset >= page {
                content.write_word((relocation.offset - page) as usize, value);
                continue;
            }
            // Otherwise the part of its eight bytes on this page.
            let bytes = value.to_le_bytes();
            let (low, high) = (
                relocation.offset.max(page),
                (relocation.offset + 8).min(end),
            );
            let skipped = (low - relocation.offset) as usize;
            content.write(
                (low - page) as usize,
                &bytes[skipped..skipped + (high - low) as usize],
            );
        }
    }
}

/// A program's kind: [`ProgramKind::Native`] if a `PT_NOTE` segment
/// holds the note `manux_abi::program_note` (owner name and type; any
/// descriptor), else [`ProgramKind::Linux`]. A note segment outside the
/// file or malformed is read up to its first bad note.
fn program_kind(elf: &ElfBytes<'_, LittleEndian>) -> ProgramKind {
    let marked = elf.segments().is_some_and(|table| {
        table
            .iter()
            .filter(|header| header.p_type == PT_NOTE)
            .any(|header| {
                elf.segment_data_as_notes(&header).is_ok_and(|mut notes| {
                    notes.any(|note| {
                        matches!(note, Note::Unknown(note)
                            if note.name == program_note::NAME
                                && note.n_type == u64::from(program_note::TYPE))
                    })
                })
            })
    });
    if marked {
        ProgramKind::Native
    } else {
        ProgramKind::Linux
    }
}

/// `(r_offset, r_info, r_addend)` of a 24-byte record.
fn relocation_fields(record: &[u8]) -> (u64, u64, u64) {
    let field = |i: usize| {
        u64::from_le_bytes(
            record
                .get(i * 8..i * 8 + 8)
                .and_then(|bytes| bytes.try_into().ok())
                .unwrap_or([0; 8]),
        )
    };
    (field(0), field(1), field(2))
}

/// The loadable segments of `elf`, checked against a file of `file_size`
/// bytes.
///
/// Return values: `Malformed`, `Interpreter`, `SegmentOutOfBounds`,
/// `WriteAndExecute`, `TooManySegments`.
fn read_segments(
    elf: &ElfBytes<'_, LittleEndian>,
    file_size: u64,
    address_limit: u64,
) -> Result<Vec<Segment>, LoadError> {
    let table = elf.segments().ok_or(Rejection::Malformed)?;
    let mut segments = Vec::new();
    for header in table.iter() {
        if header.p_type == PT_INTERP {
            return Err(Rejection::Interpreter.into());
        }
        if header.p_type != PT_LOAD || header.p_memsz == 0 {
            continue;
        }
        let file_end = header
            .p_offset
            .checked_add(header.p_filesz)
            .ok_or(Rejection::SegmentOutOfBounds)?;
        let memory_end = header
            .p_vaddr
            .checked_add(header.p_memsz)
            .ok_or(Rejection::SegmentOutOfBounds)?;
        if file_end > file_size || header.p_filesz > header.p_memsz || memory_end > address_limit {
            return Err(Rejection::SegmentOutOfBounds.into());
        }
        let permission = PagePermission {
            write: header.p_flags & PF_W != 0,
            execute: header.p_flags & PF_X != 0,
        };
        if permission.write && permission.execute {
            return Err(Rejection::WriteAndExecute.into());
        }
        segments
            .try_reserve(1)
            .map_err(|_| LoadError::OutOfMemory)?;
        segments.push(Segment {
            virtual_address: header.p_vaddr,
            memory_size: header.p_memsz,
            file_offset: header.p_offset,
            file_size: header.p_filesz,
            permission,
        });
        if segments.len() > MAX_SEGMENTS {
            return Err(Rejection::TooManySegments.into());
        }
    }
    Ok(segments)
}

/// What the initial stack says of the loaded image.
struct StackFacts {
    entry: u64,
    program_headers: u64,
    program_header_size: u64,
    program_header_count: u64,
    page_size: u64,
}

/// The address the program header table has once loaded: `PT_PHDR`'s
/// if the file has one, else where the `PT_LOAD` segment holding the
/// table's file bytes puts them (for a static-PIE program, its first
/// page); `None` if no segment loads it.
fn program_header_address(elf: &ElfBytes<'_, LittleEndian>, segments: &[Segment]) -> Option<u64> {
    let table = elf.segments()?;
    if let Some(phdr) = table.iter().find(|h| h.p_type == PT_PHDR) {
        return Some(phdr.p_vaddr);
    }
    let offset = elf.ehdr.e_phoff;
    let size = u64::from(elf.ehdr.e_phentsize) * u64::from(elf.ehdr.e_phnum);
    segments
        .iter()
        .find(|s| {
            offset >= s.file_offset && offset.saturating_add(size) <= s.file_offset + s.file_size
        })
        .map(|s| s.virtual_address + (offset - s.file_offset))
}

/// Lays out the initial stack with `linux_abi::initial_stack::lay_out`;
/// returns the stack pointer. The program is user 0, group 0 (Manux's
/// one user; domains, not ids, are the boundary), `AT_HWCAP` is 0 (a
/// libc then takes its baseline routines), and `AT_EXECFN` is `argv[0]`
/// (or empty).
///
/// Return values: `ArgumentsTooLong`, `OutOfMemory`, `Memory`.
fn build_stack<P: ProgramPages + ?Sized>(
    pages: &mut P,
    arguments: &[Vec<u8>],
    environment: &[Vec<u8>],
    facts: StackFacts,
) -> Result<u64, LoadError> {
    let count = arguments.len() + environment.len();
    let string_bytes: usize = arguments
        .iter()
        .chain(environment)
        .map(|s| s.len() + 1)
        .sum();
    if count > limits::ARGUMENTS || string_bytes > limits::ARGUMENT_BYTES {
        return Err(LoadError::ArgumentsTooLong);
    }
    let mut strings: Vec<&[u8]> = Vec::new();
    strings
        .try_reserve_exact(count)
        .map_err(|_| LoadError::OutOfMemory)?;
    strings.extend(arguments.iter().chain(environment).map(Vec::as_slice));
    let (argument_strings, environment_strings) = strings.split_at(arguments.len());
    let random = pages.random_bytes();
    let stack = pages.map_stack(STACK_BYTES).map_err(LoadError::Memory)?;
    let top = stack + STACK_BYTES;
    let values = StartValues {
        arguments: argument_strings,
        environment: environment_strings,
        program_headers: facts.program_headers,
        program_header_size: facts.program_header_size,
        program_header_count: facts.program_header_count,
        page_size: facts.page_size,
        interpreter_base: 0,
        entry: facts.entry,
        random,
        hardware_capabilities: 0,
        hardware_capabilities2: 0,
        user_id: 0,
        effective_user_id: 0,
        group_id: 0,
        effective_group_id: 0,
        secure: false,
        clock_ticks: 100,
        executable_name: arguments.first().map_or(&[][..], Vec::as_slice),
        platform: None,
    };
    let laid_out = lay_out(top, STACK_BYTES, &values).map_err(|error| match error {
        InitialStackError::DoesNotFit { .. } => LoadError::ArgumentsTooLong,
        // A NUL inside a string: the native calls take lengths, so a
        // string may hold one; Linux's stack cannot carry it.
        InitialStackError::ContainsNul(_) => LoadError::Memory(Errno::InvalidArgument),
    })?;
    pages
        .copy_out(laid_out.address, &laid_out.bytes)
        .map_err(LoadError::Memory)?;
    Ok(laid_out.stack_pointer)
}

#[cfg(test)]
mod tests;
