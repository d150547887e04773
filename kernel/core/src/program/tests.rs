// SPDX-License-Identifier: MIT OR Apache-2.0
//! Tests of the program loader against an in-memory address space.
//!
//! The files are built here, byte by byte, in the form `apps/` links
//! (ELF64 `ET_DYN`, a read-execute text segment holding the headers, a
//! read-write data segment with `.bss`, a `PT_DYNAMIC` table naming a
//! `DT_RELA` table of relative relocations, the native program's note in a
//! `PT_NOTE` segment), then broken one way at a time.
//! [`FakeMemory`] behaves as the kernel's `UserMemory` does for the calls
//! the loader makes, and panics if the loader ever writes outside a range
//! it reserved.

use super::*;
use alloc::collections::BTreeMap;
use alloc::vec;
use proptest::prelude::*;

const PAGE: u64 = 4096;
const AARCH64: ProgramTarget = ProgramTarget {
    machine: 183,
    relative_relocation: 1027,
    self_applied_relocation: 1032,
    page_size: PAGE,
    fixed_window: WINDOW,
};
const X86_64: ProgramTarget = ProgramTarget {
    machine: 62,
    relative_relocation: 8,
    self_applied_relocation: 37,
    page_size: PAGE,
    fixed_window: WINDOW,
};
/// The fixed-address window the kernel uses.
const WINDOW: (u64, u64) = (0x40_0000, 0x1_0000_0000);

const PT_LOAD: u32 = 1;
const PT_DYNAMIC: u32 = 2;
const PT_INTERP: u32 = 3;
const PT_NOTE: u32 = 4;
const READ_EXECUTE: u32 = 5;
const READ_WRITE: u32 = 6;
const READ: u32 = 4;

/// One program header.
#[derive(Clone, Copy)]
struct Header {
    kind: u32,
    flags: u32,
    offset: u64,
    address: u64,
    file_size: u64,
    memory_size: u64,
}

/// A program file, described field by field.
#[derive(Clone)]
struct TestElf {
    class: u8,
    data: u8,
    elf_type: u16,
    machine: u16,
    entry: u64,
    phentsize: u16,
    headers: Vec<Header>,
    /// `(tag, value)` at file offset [`DYNAMIC_OFFSET`].
    dynamic: Vec<(u64, u64)>,
    /// `(offset, info, addend)` at file offset [`RELA_OFFSET`].
    relocations: Vec<(u64, u64, u64)>,
    /// The notes at file offset [`NOTE_OFFSET`] (in the text), each
    /// `(name, type, descriptor)`, in a `PT_NOTE` segment after
    /// `headers`; none, no segment.
    notes: Vec<(Vec<u8>, u32, Vec<u8>)>,
    /// Bytes of the file.
    size: usize,
}

const DYNAMIC_OFFSET: usize = 0x1000;
const RELA_OFFSET: usize = 0x1100;
const RELA_ADDRESS: u64 = 0x2100;
const CODE_OFFSET: usize = 0x800;
const NOTE_OFFSET: usize = 0x900;
const DATA_MARK_OFFSET: usize = 0x11c0;
const CODE: &[u8] = b"CODE: ret";
const DATA: &[u8] = b"DATA: hello";

impl TestElf {
    /// A valid program for `target`: text at 0 (R+X, with the headers),
    /// data at 0x2000 (RW, 0x200 bytes in the file, 0x3000 in memory),
    /// two relocations: one in the data's file bytes, one in its `.bss`;
    /// the native program's note.
    fn valid(target: ProgramTarget) -> Self {
        let relative = u64::from(target.relative_relocation);
        TestElf {
            class: 2,
            data: 1,
            elf_type: 3,
            machine: target.machine,
            entry: CODE_OFFSET as u64,
            phentsize: 56,
            headers: vec![
                Header {
                    kind: PT_LOAD,
                    flags: READ_EXECUTE,
                    offset: 0,
                    address: 0,
                    file_size: 0x1000,
                    memory_size: 0x1000,
                },
                Header {
                    kind: PT_LOAD,
                    flags: READ_WRITE,
                    offset: 0x1000,
                    address: 0x2000,
                    file_size: 0x200,
                    memory_size: 0x3000,
                },
                Header {
                    kind: PT_DYNAMIC,
                    flags: READ_WRITE,
                    offset: 0x1000,
                    address: 0x2000,
                    file_size: 0x40,
                    memory_size: 0x40,
                },
            ],
            dynamic: vec![(7, RELA_ADDRESS), (8, 48), (9, 24), (0, 0)],
            relocations: vec![(0x2180, relative, 0x200), (0x3000, relative, 0x2000)],
            notes: vec![native_note()],
            size: 0x1200,
        }
    }

    /// The same program without the note: a Linux program.
    fn linux(target: ProgramTarget) -> Self {
        TestElf {
            notes: Vec::new(),
            ..TestElf::valid(target)
        }
    }

    /// Program headers in the file: `headers`, then the notes' one.
    fn header_count(&self) -> usize {
        self.headers.len() + usize::from(!self.notes.is_empty())
    }

    /// The notes' bytes: each header, name and descriptor padded to 4.
    fn note_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::new();
        for (name, kind, descriptor) in &self.notes {
            bytes.extend_from_slice(&(name.len() as u32).to_le_bytes());
            bytes.extend_from_slice(&(descriptor.len() as u32).to_le_bytes());
            bytes.extend_from_slice(&kind.to_le_bytes());
            for part in [name, descriptor] {
                bytes.extend_from_slice(part);
                bytes.resize(bytes.len().next_multiple_of(4), 0);
            }
        }
        bytes
    }

    fn bytes(&self) -> Vec<u8> {
        let mut file = vec![0u8; self.size.max(0x1200)];
        file[..4].copy_from_slice(b"\x7fELF");
        file[4] = self.class;
        file[5] = self.data;
        file[6] = 1;
        put(&mut file, 16, &self.elf_type.to_le_bytes());
        put(&mut file, 18, &self.machine.to_le_bytes());
        put(&mut file, 20, &1u32.to_le_bytes());
        put(&mut file, 24, &self.entry.to_le_bytes());
        put(&mut file, 32, &64u64.to_le_bytes());
        put(&mut file, 52, &64u16.to_le_bytes());
        put(&mut file, 54, &self.phentsize.to_le_bytes());
        put(&mut file, 56, &(self.header_count() as u16).to_le_bytes());
        put(&mut file, 58, &64u16.to_le_bytes());
        for (index, header) in self.headers.iter().enumerate() {
            let at = 64 + index * 56;
            put(&mut file, at, &header.kind.to_le_bytes());
            put(&mut file, at + 4, &header.flags.to_le_bytes());
            put(&mut file, at + 8, &header.offset.to_le_bytes());
            put(&mut file, at + 16, &header.address.to_le_bytes());
            put(&mut file, at + 24, &header.address.to_le_bytes());
            put(&mut file, at + 32, &header.file_size.to_le_bytes());
            put(&mut file, at + 40, &header.memory_size.to_le_bytes());
            put(&mut file, at + 48, &PAGE.to_le_bytes());
        }
        if !self.notes.is_empty() {
            let notes = self.note_bytes();
            let at = 64 + self.headers.len() * 56;
            let (offset, size) = (NOTE_OFFSET as u64, notes.len() as u64);
            put(&mut file, at, &PT_NOTE.to_le_bytes());
            put(&mut file, at + 4, &READ.to_le_bytes());
            for (field, value) in [offset, offset, offset, size, size, 4].iter().enumerate() {
                put(&mut file, at + 8 + field * 8, &value.to_le_bytes());
            }
            put(&mut file, NOTE_OFFSET, &notes);
        }
        put(&mut file, CODE_OFFSET, CODE);
        for (index, (tag, value)) in self.dynamic.iter().enumerate() {
            put(&mut file, DYNAMIC_OFFSET + index * 16, &tag.to_le_bytes());
            put(
                &mut file,
                DYNAMIC_OFFSET + index * 16 + 8,
                &value.to_le_bytes(),
            );
        }
        for (index, (offset, info, addend)) in self.relocations.iter().enumerate() {
            let at = RELA_OFFSET + index * 24;
            put(&mut file, at, &offset.to_le_bytes());
            put(&mut file, at + 8, &info.to_le_bytes());
            put(&mut file, at + 16, &addend.to_le_bytes());
        }
        put(&mut file, DATA_MARK_OFFSET, DATA);
        file.truncate(self.size);
        file
    }
}

/// `manux_abi::program_note`'s note, without a descriptor.
fn native_note() -> (Vec<u8>, u32, Vec<u8>) {
    (b"Manux\0".to_vec(), 1, Vec::new())
}

/// Writes `bytes` at `at` when the file is large enough for them.
fn put(file: &mut [u8], at: usize, bytes: &[u8]) {
    if let Some(slot) = file.get_mut(at..at + bytes.len()) {
        slot.copy_from_slice(bytes);
    }
}

/// One page of [`FakeMemory`].
struct FakePage {
    bytes: Vec<u8>,
    permission: PagePermission,
    shared: bool,
}

/// An address space in a map, behaving as the kernel's `UserMemory` for
/// the loader's calls.
struct FakeMemory {
    next: u64,
    reservations: Vec<(u64, u64)>,
    pages: BTreeMap<u64, FakePage>,
    lazy: Vec<(u64, u64, PagePermission)>,
    /// How many shared page sets were built (the program cache builds
    /// one per program).
    shared_builds: usize,
}

impl FakeMemory {
    fn new() -> Self {
        FakeMemory {
            next: 0x40_0000_0000,
            reservations: Vec::new(),
            pages: BTreeMap::new(),
            lazy: Vec::new(),
            shared_builds: 0,
        }
    }

    fn inside(&self, start: u64, end: u64) -> bool {
        self.reservations
            .iter()
            .any(|&(first, size)| start >= first && end <= first + size.div_ceil(PAGE) * PAGE)
    }

    /// Panics unless `[address, address + length)` lies in a reserved
    /// range: the loader must never try to write anywhere else.
    fn assert_reserved(&self, address: u64, length: usize) {
        let end = address
            .checked_add(length as u64)
            .expect("a write wrapping the address space");
        assert!(
            self.inside(address, end),
            "a write outside the reserved ranges: {address:#x}+{length}"
        );
    }

    fn insert_page(&mut self, address: u64, permission: PagePermission, shared: bool) {
        self.pages.insert(
            address,
            FakePage {
                bytes: vec![0; PAGE as usize],
                permission,
                shared,
            },
        );
    }

    /// Writes through the pages, mapping lazy ones; `user` requires the
    /// program's write permission.
    fn write(&mut self, address: u64, bytes: &[u8], user: bool) -> Result<(), Errno> {
        self.assert_reserved(address, bytes.len());
        // Check every page first, so nothing is written on failure.
        let end = address + bytes.len() as u64;
        let mut page = address & !(PAGE - 1);
        while page < end {
            match self.pages.get(&page) {
                Some(known) if known.shared && !user => return Err(Errno::InvalidArgument),
                Some(known) if user && !known.permission.write => return Err(Errno::BadAddress),
                Some(_) => {}
                None => {
                    let lazy = self
                        .lazy
                        .iter()
                        .find(|&&(start, end, _)| page >= start && page < end)
                        .map(|&(_, _, permission)| permission);
                    match lazy {
                        Some(permission) if !user || permission.write => {
                            self.insert_page(page, permission, false)
                        }
                        _ => return Err(Errno::BadAddress),
                    }
                }
            }
            page += PAGE;
        }
        for (index, byte) in bytes.iter().enumerate() {
            let at = address + index as u64;
            let page = self
                .pages
                .get_mut(&(at & !(PAGE - 1)))
                .expect("mapped above");
            page.bytes[(at % PAGE) as usize] = *byte;
        }
        Ok(())
    }

    /// What the program would read at `address`: zero where unmapped
    /// lazy memory is.
    fn read(&self, address: u64, length: usize) -> Vec<u8> {
        (0..length as u64)
            .map(|index| {
                let at = address + index;
                self.pages
                    .get(&(at & !(PAGE - 1)))
                    .map_or(0, |page| page.bytes[(at % PAGE) as usize])
            })
            .collect()
    }

    fn word(&self, address: u64) -> u64 {
        u64::from_le_bytes(self.read(address, 8).try_into().unwrap())
    }

    fn string(&self, address: u64) -> Vec<u8> {
        let mut bytes = Vec::new();
        for at in address.. {
            match self.read(at, 1)[0] {
                0 => break,
                byte => bytes.push(byte),
            }
        }
        bytes
    }
}

impl ProgramPages for FakeMemory {
    type Page = Vec<u8>;

    fn random_bytes(&mut self) -> [u8; 16] {
        [0x5a; 16]
    }

    fn reserve(&mut self, size: u64) -> Result<u64, Errno> {
        let start = self.next;
        self.next += size.div_ceil(PAGE) * PAGE + PAGE;
        self.reservations.push((start, size));
        Ok(start)
    }

    fn reserve_fixed(&mut self, start: u64, size: u64) -> Result<u64, Errno> {
        assert!(
            start >= WINDOW.0 && start + size <= WINDOW.1 && start % PAGE == 0,
            "a fixed reservation outside the window: {start:#x}+{size:#x}"
        );
        let end = start + size.div_ceil(PAGE) * PAGE;
        if self
            .reservations
            .iter()
            .any(|&(first, length)| start < first + length.div_ceil(PAGE) * PAGE && first < end)
        {
            return Err(Errno::OutOfMemory);
        }
        self.reservations.push((start, size));
        Ok(start)
    }

    fn map_shared(&mut self, start: u64, image: &ProgramImage, file: &[u8]) -> Result<(), Errno> {
        self.shared_builds += 1;
        for page in image.shared_pages() {
            let address = start + page.offset;
            if !self.inside(address, address + PAGE)
                || page.permission.write
                || self.pages.contains_key(&address)
            {
                return Err(Errno::InvalidArgument);
            }
            self.insert_page(address, page.permission, true);
            let known = self.pages.get_mut(&address).expect("just mapped");
            image.fill_page(file, page.offset, |offset, bytes| {
                known.bytes[offset..offset + bytes.len()].copy_from_slice(bytes);
            });
        }
        Ok(())
    }

    fn map_built(
        &mut self,
        address: u64,
        permission: PagePermission,
        build: impl FnOnce(&mut Vec<u8>),
    ) -> Result<(), Errno> {
        if !self.inside(address, address + PAGE)
            || self.pages.contains_key(&address)
            || (permission.write && permission.execute)
        {
            return Err(Errno::InvalidArgument);
        }
        self.insert_page(address, permission, false);
        let known = self.pages.get_mut(&address).expect("just mapped");
        build(&mut known.bytes);
        Ok(())
    }

    fn map_lazy(&mut self, start: u64, end: u64, permission: PagePermission) -> Result<(), Errno> {
        let (start, end) = (start & !(PAGE - 1), end.div_ceil(PAGE) * PAGE);
        if end <= start {
            return Ok(());
        }
        if !self.inside(start, end) || (permission.write && permission.execute) {
            return Err(Errno::InvalidArgument);
        }
        self.lazy.push((start, end, permission));
        Ok(())
    }

    fn load(&mut self, address: u64, bytes: &[u8]) -> Result<(), Errno> {
        self.write(address, bytes, false)
    }

    fn map_new(&mut self, size: u64, permission: PagePermission) -> Result<u64, Errno> {
        let start = self.reserve(size)?;
        self.map_lazy(start, start + size, permission)?;
        Ok(start)
    }

    fn map_stack(&mut self, size: u64) -> Result<u64, Errno> {
        self.map_new(size, WRITABLE)
    }

    fn copy_out(&mut self, address: u64, bytes: &[u8]) -> Result<(), Errno> {
        self.write(address, bytes, true)
    }
}

/// Breaks one program header.
type BreakHeaderFn = fn(&mut Header);
/// Breaks a program description.
type BreakFileFn = fn(&mut TestElf);

fn rejection(file: &[u8], target: ProgramTarget) -> Rejection {
    match ProgramImage::parse(file, target) {
        Err(LoadError::Rejected(rejection)) => rejection,
        Err(other) => panic!("expected a rejection, got {other:?}"),
        Ok(_) => panic!("expected a rejection, the file was accepted"),
    }
}

fn arguments(strings: &[&str]) -> Vec<Vec<u8>> {
    strings.iter().map(|s| s.as_bytes().to_vec()).collect()
}

const READ_ONLY_EXECUTE: PagePermission = PagePermission {
    write: false,
    execute: true,
};
const WRITABLE: PagePermission = PagePermission {
    write: true,
    execute: false,
};

#[test]
fn a_valid_program_loads_relocated_with_its_stack() {
    for target in [AARCH64, X86_64] {
        let program = TestElf::valid(target);
        let file = program.bytes();
        let image = ProgramImage::parse(&file, target).unwrap();
        assert_eq!(image.span(), 0x5000);
        assert_eq!(
            image.pages(),
            &[
                ImagePage {
                    offset: 0,
                    permission: READ_ONLY_EXECUTE,
                    shared: true,
                },
                ImagePage {
                    offset: 0x2000,
                    permission: WRITABLE,
                    shared: false,
                },
            ]
        );
        let mut memory = FakeMemory::new();
        let start = memory.next;
        let start_state = image
            .load(
                &mut memory,
                &file,
                &arguments(&["/bin/hello", "world"]),
                &arguments(&["HOME=/"]),
            )
            .unwrap();
        assert_eq!(start_state.entry, start + CODE_OFFSET as u64);
        // Text: shared, read-execute, the file's bytes.
        assert!(memory.pages[&start].shared);
        assert_eq!(memory.read(start + CODE_OFFSET as u64, CODE.len()), CODE);
        assert_eq!(memory.read(start, 4), b"\x7fELF");
        // Data: its bytes, and the relocations: base + addend.
        assert_eq!(
            memory.read(
                start + 0x2000 + (DATA_MARK_OFFSET - 0x1000) as u64,
                DATA.len()
            ),
            DATA
        );
        assert_eq!(memory.word(start + 0x2180), start + 0x200);
        assert_eq!(memory.word(start + 0x3000), start + 0x2000);
        // The rest of `.bss` is zero, mapped on touch; nothing past it.
        assert_eq!(memory.read(start + 0x3008, 8), [0; 8]);
        assert!(memory
            .lazy
            .contains(&(start + 0x3000, start + 0x5000, WRITABLE)));
        // The stack, per the System V ABI.
        let stack = start_state.stack_pointer;
        assert_eq!(stack % 16, 0);
        assert_eq!(memory.word(stack), 2);
        assert_eq!(memory.string(memory.word(stack + 8)), b"/bin/hello");
        assert_eq!(memory.string(memory.word(stack + 16)), b"world");
        assert_eq!(memory.word(stack + 24), 0);
        assert_eq!(memory.string(memory.word(stack + 32)), b"HOME=/");
        assert_eq!(memory.word(stack + 40), 0);
        // The auxiliary vector a libc reads, up to `AT_NULL`.
        let mut auxiliary = BTreeMap::new();
        let mut at = stack + 48;
        loop {
            let (key, value) = (memory.word(at), memory.word(at + 8));
            if key == 0 {
                break;
            }
            assert!(auxiliary.insert(key, value).is_none(), "key {key} twice");
            at += 16;
        }
        assert_eq!(auxiliary[&6], PAGE, "AT_PAGESZ");
        assert_eq!(auxiliary[&9], start_state.entry, "AT_ENTRY");
        // The headers follow the ELF header, in the text's first page.
        assert_eq!(auxiliary[&3], start + 64, "AT_PHDR");
        assert_eq!(memory.read(auxiliary[&3], 4), 1u32.to_le_bytes(), "PT_LOAD");
        assert_eq!(auxiliary[&4], 56, "AT_PHENT");
        assert_eq!(auxiliary[&5], program.header_count() as u64, "AT_PHNUM");
        assert_eq!(memory.read(auxiliary[&25], 16), [0x5a; 16], "AT_RANDOM");
        assert_eq!(memory.string(auxiliary[&31]), b"/bin/hello", "AT_EXECFN");
        for id in [11, 12, 13, 14] {
            assert_eq!(auxiliary[&id], 0, "AT_UID, AT_EUID, AT_GID, AT_EGID");
        }
        let (stack_start, stack_size) = memory.reservations[1];
        assert_eq!(stack_size, STACK_BYTES);
        assert!(stack > stack_start && stack < stack_start + STACK_BYTES);
        assert_eq!(memory.shared_builds, 1);
    }
}

#[test]
fn none_and_irelative_relocations_are_accepted_and_left_to_the_program() {
    // glibc's static-PIE programs carry `R_*_IRELATIVE` (applied by their
    // own start code, which calls the resolver) and, on AArch64,
    // `R_AARCH64_NONE`: the loader skips both and still applies the
    // relative ones.
    for target in [AARCH64, X86_64] {
        let mut program = TestElf::valid(target);
        let irelative = u64::from(target.self_applied_relocation);
        program.relocations.push((0x2188, irelative, 0x123));
        program.relocations.push((0x2190, 0, 0x456));
        let rela_size = program.relocations.len() as u64 * 24;
        for entry in &mut program.dynamic {
            if entry.0 == 8 {
                entry.1 = rela_size;
            }
        }
        let file = program.bytes();
        let image = ProgramImage::parse(&file, target).unwrap();
        let mut memory = FakeMemory::new();
        let start = memory.next;
        image.load(&mut memory, &file, &[], &[]).unwrap();
        assert_eq!(
            memory.word(start + 0x2180),
            start + 0x200,
            "relative applied"
        );
        assert_eq!(memory.word(start + 0x2188), 0, "IRELATIVE left alone");
        assert_eq!(memory.word(start + 0x2190), 0, "NONE left alone");
    }
}

#[test]
fn a_program_without_relocations_or_arguments_loads() {
    let mut program = TestElf::valid(AARCH64);
    program.headers.truncate(2);
    let file = program.bytes();
    let image = ProgramImage::parse(&file, AARCH64).unwrap();
    let mut memory = FakeMemory::new();
    let start = memory.next;
    let loaded = image.load(&mut memory, &file, &[], &[]).unwrap();
    assert_eq!(memory.word(start + 0x2180), 0, "no relocation applied");
    assert_eq!(memory.word(loaded.stack_pointer), 0, "argc");
}

#[test]
fn the_note_tells_a_native_program_from_a_linux_one() {
    let kind = |program: &TestElf| {
        ProgramImage::parse(&program.bytes(), AARCH64)
            .unwrap()
            .kind()
    };
    assert_eq!(kind(&TestElf::valid(AARCH64)), ProgramKind::Native);
    assert_eq!(kind(&TestElf::linux(AARCH64)), ProgramKind::Linux);
    // After another note (glibc's ABI tag, say), with a descriptor.
    let mut program = TestElf::valid(AARCH64);
    program.notes = vec![
        (b"GNU\0".to_vec(), 1, vec![0; 16]),
        (b"Manux\0".to_vec(), 1, vec![1, 2, 3]),
    ];
    assert_eq!(kind(&program), ProgramKind::Native);
    // Anything short of the name and the type is not the note.
    for note in [
        (b"Manux".to_vec(), 1, Vec::new()),
        (b"Manuy\0".to_vec(), 1, Vec::new()),
        (b"Manux\0\0".to_vec(), 1, Vec::new()),
        (b"Manux\0".to_vec(), 2, Vec::new()),
        (b"GNU\0".to_vec(), 1, Vec::new()),
    ] {
        let mut program = TestElf::valid(AARCH64);
        program.notes = vec![note];
        assert_eq!(kind(&program), ProgramKind::Linux);
    }
}

#[test]
fn a_broken_note_segment_makes_a_linux_program() {
    // The note segment's header: offset, then (after the address
    // fields) the file size and the alignment.
    let header = 64 + 3 * 56;
    for (at, value) in [
        (header + 8, 0x10_0000u64),
        (header + 8, u64::MAX),
        (header + 32, u64::MAX),
        (header + 48, 0),
        (header + 48, u64::MAX),
        // The name's size past the segment.
        (NOTE_OFFSET, 0xffff_ffff),
    ] {
        let mut file = TestElf::valid(AARCH64).bytes();
        put(&mut file, at, &value.to_le_bytes());
        let image = ProgramImage::parse(&file, AARCH64).unwrap();
        assert_eq!(image.kind(), ProgramKind::Linux, "{at:#x} = {value:#x}");
    }
}

#[test]
fn a_linux_program_is_loaded_without_relocations() {
    // Linux programs relocate themselves: the loader writes nothing but
    // the file's bytes, whatever the relocation table says.
    for target in [AARCH64, X86_64] {
        let file = TestElf::linux(target).bytes();
        let image = ProgramImage::parse(&file, target).unwrap();
        let mut memory = FakeMemory::new();
        let start = memory.next;
        let loaded = image
            .load(&mut memory, &file, &arguments(&["a"]), &[])
            .unwrap();
        assert_eq!(loaded.entry, start + CODE_OFFSET as u64);
        assert_eq!(memory.word(start + 0x2180), 0, "in the file's bytes");
        assert_eq!(memory.word(start + 0x3000), 0, "in .bss");
        assert_eq!(
            memory.read(
                start + 0x2000 + (DATA_MARK_OFFSET - 0x1000) as u64,
                DATA.len()
            ),
            DATA
        );
        assert!(memory
            .lazy
            .contains(&(start + 0x3000, start + 0x5000, WRITABLE)));
    }
    // Tables a native program is refused for are not read at all: the
    // program's own start code meets them (and a write into its shared
    // text faults there, as on Linux).
    let cases: [BreakFileFn; 4] = [
        |p| p.relocations[1].1 = 1025,
        |p| p.relocations[0].0 = 0x100,
        |p| p.relocations[0].0 = u64::MAX - 3,
        |p| p.dynamic[1].1 = 25,
    ];
    for break_fn in cases {
        let mut native = TestElf::valid(AARCH64);
        break_fn(&mut native);
        assert!(ProgramImage::parse(&native.bytes(), AARCH64).is_err());
        let mut linux = TestElf::linux(AARCH64);
        break_fn(&mut linux);
        let file = linux.bytes();
        let image = ProgramImage::parse(&file, AARCH64).unwrap();
        let mut memory = FakeMemory::new();
        let start = memory.next;
        image.load(&mut memory, &file, &[], &[]).unwrap();
        assert_eq!(memory.word(start + 0x3000), 0);
    }
}

#[test]
fn a_read_only_segment_sharing_a_page_with_data_is_not_shared() {
    // Read-only constants on the data's first page: the page is
    // writable, so neither it nor the constants come from shared frames,
    // and the constants are still loaded.
    let mut program = TestElf::valid(AARCH64);
    program.headers.push(Header {
        kind: PT_LOAD,
        flags: READ,
        offset: 0x1180,
        address: 0x2180,
        file_size: 0x10,
        memory_size: 0x10,
    });
    program.relocations.truncate(0);
    program.dynamic = vec![(0, 0)];
    let file = program.bytes();
    let image = ProgramImage::parse(&file, AARCH64).unwrap();
    assert_eq!(image.shared_pages().count(), 1);
    let mut memory = FakeMemory::new();
    let start = memory.next;
    image.load(&mut memory, &file, &[], &[]).unwrap();
    assert!(!memory.pages[&(start + 0x2000)].shared);
    assert!(memory.pages[&(start + 0x2000)].permission.write);
}

#[test]
fn pages_are_laid_out_once_each_by_address_whatever_the_segment_order() {
    // Segments listed out of address order, two of them on one page:
    // each page once, sorted by offset, with the union of the
    // permissions of the segments on it.
    let mut program = TestElf::valid(AARCH64);
    program.headers.swap(0, 1);
    let read_only = |address: u64| Header {
        kind: PT_LOAD,
        flags: READ,
        offset: address - 0x1000,
        address,
        file_size: 0x10,
        memory_size: 0x10,
    };
    program.headers.insert(0, read_only(0x2180));
    program.headers.insert(2, read_only(0x1180));
    let file = program.bytes();
    let image = ProgramImage::parse(&file, AARCH64).unwrap();
    let page = |offset, permission, shared| ImagePage {
        offset,
        permission,
        shared,
    };
    assert_eq!(
        image.pages(),
        &[
            page(0, READ_ONLY_EXECUTE, true),
            page(0x1000, PagePermission::default(), true),
            page(0x2000, WRITABLE, false),
        ]
    );
    let mut memory = FakeMemory::new();
    let start = memory.next;
    image.load(&mut memory, &file, &[], &[]).unwrap();
    let data = start + 0x2000 + (DATA_MARK_OFFSET - 0x1000) as u64;
    assert_eq!(memory.read(data, DATA.len()), DATA);
}

#[test]
fn a_relocation_in_shared_text_is_refused() {
    // Programs are linked `-z text`: a relocation in a read-only segment
    // would change pages every process shares, so the file is refused.
    for offset in [0x100, 0xff8] {
        let mut program = TestElf::valid(AARCH64);
        program.relocations[0].0 = offset;
        assert_eq!(
            rejection(&program.bytes(), AARCH64),
            Rejection::RelocationInSharedPage
        );
    }
}

#[test]
fn relocations_straddling_pages_are_applied_whole() {
    // With 0x1100 file bytes of data, pages 0x2000 and 0x3000 hold file
    // bytes and 0x4000 is zero-filled: one relocation across two built
    // pages, one across a built page and a zero-filled one. Both land
    // whole, like those inside a page.
    let relative = u64::from(AARCH64.relative_relocation);
    let mut program = TestElf::valid(AARCH64);
    program.headers[1].file_size = 0x1100;
    program.size = 0x2200;
    program.relocations[1] = (0x2ffc, relative, 0x40);
    program.relocations.push((0x3ffc, relative, 0x48));
    program.dynamic[1].1 += 24;
    let file = program.bytes();
    let image = ProgramImage::parse(&file, AARCH64).unwrap();
    let mut memory = FakeMemory::new();
    let start = memory.next;
    image.load(&mut memory, &file, &[], &[]).unwrap();
    assert!(memory.pages.contains_key(&(start + 0x3000)));
    assert!(!memory.pages[&(start + 0x3000)].shared);
    assert_eq!(memory.word(start + 0x2ffc), start + 0x40);
    assert_eq!(memory.word(start + 0x3ffc), start + 0x48);
    assert_eq!(memory.word(start + 0x2180), start + 0x200);
}

#[test]
fn truncated_and_foreign_headers_are_refused() {
    let file = TestElf::valid(AARCH64).bytes();
    for length in [0, 4, 16, 40, 63, 64, 64 + 56, 64 + 2 * 56 + 10] {
        assert_eq!(
            rejection(&file[..length], AARCH64),
            Rejection::Malformed,
            "{length}"
        );
    }
    let mut magic = file.clone();
    magic[1] = b'X';
    assert_eq!(rejection(&magic, AARCH64), Rejection::Malformed);
    let mut program = TestElf::valid(AARCH64);
    program.data = 2;
    assert_eq!(rejection(&program.bytes(), AARCH64), Rejection::Malformed);
    let mut program = TestElf::valid(AARCH64);
    program.phentsize = 32;
    assert_eq!(rejection(&program.bytes(), AARCH64), Rejection::Malformed);
    let mut program = TestElf::valid(AARCH64);
    program.class = 1;
    assert!(matches!(
        rejection(&program.bytes(), AARCH64),
        Rejection::Malformed | Rejection::WrongKind
    ));
}

#[test]
fn a_wrong_machine_or_type_is_refused() {
    let file = TestElf::valid(AARCH64).bytes();
    assert_eq!(rejection(&file, X86_64), Rejection::WrongKind);
    let file = TestElf::valid(X86_64).bytes();
    assert_eq!(rejection(&file, AARCH64), Rejection::WrongKind);
    let mut program = TestElf::valid(AARCH64);
    program.elf_type = 1; // ET_REL
    assert_eq!(rejection(&program.bytes(), AARCH64), Rejection::WrongKind);
    program.elf_type = 4; // ET_CORE
    assert_eq!(rejection(&program.bytes(), AARCH64), Rejection::WrongKind);
}

/// [`TestElf::valid`] linked for fixed addresses at `base`: `ET_EXEC`,
/// every address (segments, entry, relocations, dynamic table) moved up
/// by `base`.
fn fixed_at(target: ProgramTarget, base: u64) -> TestElf {
    let mut program = TestElf::valid(target);
    program.elf_type = 2; // ET_EXEC
    program.entry += base;
    for header in &mut program.headers {
        header.address += base;
    }
    program.dynamic[0].1 += base;
    for relocation in &mut program.relocations {
        relocation.0 += base;
        relocation.2 += base;
    }
    program
}

#[test]
fn a_fixed_address_program_loads_where_it_was_linked() {
    for target in [AARCH64, X86_64] {
        let program = fixed_at(target, 0x40_0000);
        let file = program.bytes();
        let image = ProgramImage::parse(&file, target).unwrap();
        assert_eq!(image.placement(), Placement::Fixed);
        let mut memory = FakeMemory::new();
        let start = image
            .load(&mut memory, &file, &arguments(&["grep"]), &[])
            .unwrap();
        assert_eq!(memory.reservations[0], (0x40_0000, 0x5000));
        assert_eq!(start.entry, 0x40_0000 + CODE_OFFSET as u64);
        assert_eq!(
            memory.read(0x40_0000 + CODE_OFFSET as u64, CODE.len()),
            CODE
        );
        // Its relocations add nothing: the base is where it was linked.
        assert_eq!(memory.word(0x40_2180), 0x40_0200);
        assert_eq!(memory.word(0x40_3000), 0x40_2000);
        // A position-independent one still goes anywhere.
        let pie = TestElf::valid(target).bytes();
        let image = ProgramImage::parse(&pie, target).unwrap();
        assert_eq!(image.placement(), Placement::Anywhere);
    }
}

#[test]
fn a_fixed_address_program_outside_the_window_is_refused() {
    // Below the window: where null pointers must fault.
    let below = fixed_at(AARCH64, 0x1000).bytes();
    assert_eq!(rejection(&below, AARCH64), Rejection::OutsideFixedWindow);
    // Reaching past its end: the shared address space starts there.
    let mut across = fixed_at(AARCH64, WINDOW.1 - 0x2000);
    across.relocations.clear();
    across.dynamic = vec![(0, 0)];
    assert_eq!(
        rejection(&across.bytes(), AARCH64),
        Rejection::SegmentOutOfBounds
    );
    let above = fixed_at(AARCH64, WINDOW.1).bytes();
    assert_eq!(rejection(&above, AARCH64), Rejection::SegmentOutOfBounds);
}

#[test]
fn an_interpreter_is_refused() {
    let mut program = TestElf::valid(AARCH64);
    program.headers[2].kind = PT_INTERP;
    assert_eq!(rejection(&program.bytes(), AARCH64), Rejection::Interpreter);
}

#[test]
fn a_file_too_large_is_refused() {
    let mut program = TestElf::valid(AARCH64);
    program.size = MAX_PROGRAM_BYTES + 1;
    assert_eq!(
        rejection(&program.bytes(), AARCH64),
        Rejection::FileTooLarge
    );
}

#[test]
fn segments_out_of_bounds_are_refused() {
    let cases: [(usize, BreakHeaderFn); 6] = [
        // Bytes past the end of the file.
        (1, |h| h.file_size = 0x201),
        (1, |h| h.offset = u64::MAX - 0x10),
        // More file bytes than memory bytes.
        (0, |h| h.memory_size = 0xfff),
        // Addresses wrapping, or past the image limit.
        (1, |h| h.address = u64::MAX - 0x100),
        (1, |h| h.memory_size = MAX_IMAGE_BYTES * 4),
        (0, |h| {
            h.address = MAX_IMAGE_BYTES * 4;
            h.file_size = 0;
        }),
    ];
    for (index, (segment, break_fn)) in cases.iter().enumerate() {
        let mut program = TestElf::valid(AARCH64);
        break_fn(&mut program.headers[*segment]);
        assert_eq!(
            rejection(&program.bytes(), AARCH64),
            Rejection::SegmentOutOfBounds,
            "case {index}"
        );
    }
}

#[test]
fn a_huge_image_is_refused() {
    let mut program = TestElf::valid(AARCH64);
    program.headers[1].address = MAX_IMAGE_BYTES;
    program.headers[2].address = MAX_IMAGE_BYTES;
    assert_eq!(
        rejection(&program.bytes(), AARCH64),
        Rejection::ImageTooLarge
    );
}

#[test]
fn writable_code_is_refused_in_a_segment_or_a_shared_page() {
    let mut program = TestElf::valid(AARCH64);
    program.headers[0].flags = 7;
    assert_eq!(
        rejection(&program.bytes(), AARCH64),
        Rejection::WriteAndExecute
    );
    // Data overlapping the text's last page: that page would be both.
    let mut program = TestElf::valid(AARCH64);
    program.headers[1].address = 0xf00;
    program.headers[2].address = 0xf00;
    program.dynamic = vec![(0, 0)];
    program.relocations.clear();
    assert_eq!(
        rejection(&program.bytes(), AARCH64),
        Rejection::WriteAndExecute
    );
}

#[test]
fn too_many_or_no_segments_are_refused() {
    let mut program = TestElf::valid(AARCH64);
    let data = program.headers[1];
    program.headers = vec![program.headers[0]];
    for index in 0..MAX_SEGMENTS as u64 {
        program.headers.push(Header {
            address: 0x2000 + index * PAGE,
            ..data
        });
    }
    assert_eq!(
        rejection(&program.bytes(), AARCH64),
        Rejection::TooManySegments
    );
    // Exactly the limit is fine.
    program.headers.pop();
    assert!(ProgramImage::parse(&program.bytes(), AARCH64).is_ok());

    let mut program = TestElf::valid(AARCH64);
    program.headers.truncate(0);
    assert_eq!(rejection(&program.bytes(), AARCH64), Rejection::NoSegment);
    // Empty segments do not count.
    let mut program = TestElf::valid(AARCH64);
    for header in &mut program.headers {
        header.memory_size = 0;
        header.file_size = 0;
    }
    program.headers.truncate(2);
    assert_eq!(rejection(&program.bytes(), AARCH64), Rejection::NoSegment);
}

#[test]
fn an_entry_outside_the_code_is_refused() {
    for entry in [0x2000, 0x1000, u64::MAX] {
        let mut program = TestElf::valid(AARCH64);
        program.entry = entry;
        assert_eq!(
            rejection(&program.bytes(), AARCH64),
            Rejection::EntryNotInCode
        );
    }
    // Below the image.
    let mut program = TestElf::valid(AARCH64);
    for header in &mut program.headers {
        header.address += 0x10000;
    }
    program.dynamic = vec![(0, 0)];
    assert_eq!(
        rejection(&program.bytes(), AARCH64),
        Rejection::EntryNotInCode
    );
}

#[test]
fn bad_relocations_are_refused() {
    let relative = 1027;
    let cases: [(BreakFileFn, Rejection); 9] = [
        (
            |p| p.relocations[1].1 = 1025, // R_AARCH64_GLOB_DAT
            Rejection::UnsupportedRelocation,
        ),
        (
            |p| p.relocations[0].1 = u64::from(X86_64.relative_relocation),
            Rejection::UnsupportedRelocation,
        ),
        (
            |p| p.relocations[0].0 = 0x4ffc, // last bytes of .bss, 8 wide
            Rejection::RelocationOutOfBounds,
        ),
        (
            |p| p.relocations[0].0 = 0x1ff8, // between the segments
            Rejection::RelocationOutOfBounds,
        ),
        (
            |p| p.relocations[0].0 = u64::MAX - 3,
            Rejection::RelocationOutOfBounds,
        ),
        (|p| p.dynamic[2].1 = 16, Rejection::BadRelocationTable),
        (|p| p.dynamic[1].1 = 25, Rejection::BadRelocationTable),
        // The table must lie in a segment's file bytes, not its `.bss`.
        (|p| p.dynamic[0].1 = 0x2200, Rejection::BadRelocationTable),
        (
            |p| p.dynamic[1].1 = u64::MAX - 23,
            Rejection::BadRelocationTable,
        ),
    ];
    for (index, (break_fn, expected)) in cases.iter().enumerate() {
        let mut program = TestElf::valid(AARCH64);
        assert_eq!(program.relocations[0].1, relative);
        break_fn(&mut program);
        assert_eq!(
            rejection(&program.bytes(), AARCH64),
            *expected,
            "case {index}"
        );
    }
    // A dynamic segment whose bytes are outside the file.
    let mut program = TestElf::valid(AARCH64);
    program.headers[2].offset = 0x10_0000;
    assert_eq!(
        rejection(&program.bytes(), AARCH64),
        Rejection::BadRelocationTable
    );
    // No `DT_RELA`: nothing to do.
    let mut program = TestElf::valid(AARCH64);
    program.dynamic = vec![(0, 0)];
    assert!(ProgramImage::parse(&program.bytes(), AARCH64).is_ok());
}

#[test]
fn too_many_arguments_are_refused_before_the_stack_is_built() {
    let file = TestElf::valid(AARCH64).bytes();
    let image = ProgramImage::parse(&file, AARCH64).unwrap();
    let many = vec![b"x".to_vec(); limits::ARGUMENTS + 1];
    let long = vec![vec![b'x'; limits::ARGUMENT_BYTES]];
    for (arguments, environment) in [(&many, &vec![]), (&vec![], &long)] {
        let mut memory = FakeMemory::new();
        assert_eq!(
            image.load(&mut memory, &file, arguments, environment),
            Err(LoadError::ArgumentsTooLong)
        );
        assert_eq!(memory.reservations.len(), 1, "no stack reserved");
    }
    // Exactly the limits fit.
    let fits = vec![vec![b'x'; limits::ARGUMENT_BYTES / limits::ARGUMENTS - 1]; limits::ARGUMENTS];
    let mut memory = FakeMemory::new();
    image.load(&mut memory, &file, &fits, &[]).unwrap();
}

#[test]
fn a_memory_error_is_passed_on() {
    struct Full;
    impl ProgramPages for Full {
        type Page = Vec<u8>;

        fn random_bytes(&mut self) -> [u8; 16] {
            unreachable!()
        }
        fn reserve(&mut self, _: u64) -> Result<u64, Errno> {
            Err(Errno::OutOfMemory)
        }
        fn reserve_fixed(&mut self, _: u64, _: u64) -> Result<u64, Errno> {
            unreachable!()
        }
        fn map_shared(&mut self, _: u64, _: &ProgramImage, _: &[u8]) -> Result<(), Errno> {
            unreachable!()
        }
        fn map_built(
            &mut self,
            _: u64,
            _: PagePermission,
            _: impl FnOnce(&mut Vec<u8>),
        ) -> Result<(), Errno> {
            unreachable!()
        }
        fn map_lazy(&mut self, _: u64, _: u64, _: PagePermission) -> Result<(), Errno> {
            unreachable!()
        }
        fn load(&mut self, _: u64, _: &[u8]) -> Result<(), Errno> {
            unreachable!()
        }
        fn map_new(&mut self, _: u64, _: PagePermission) -> Result<u64, Errno> {
            unreachable!()
        }
        fn map_stack(&mut self, _: u64) -> Result<u64, Errno> {
            unreachable!()
        }
        fn copy_out(&mut self, _: u64, _: &[u8]) -> Result<(), Errno> {
            unreachable!()
        }
    }
    let file = TestElf::valid(AARCH64).bytes();
    let image = ProgramImage::parse(&file, AARCH64).unwrap();
    assert_eq!(
        image.load(&mut Full, &file, &[], &[]),
        Err(LoadError::Memory(Errno::OutOfMemory))
    );
    assert_eq!(
        Errno::from(LoadError::Memory(Errno::OutOfMemory)),
        Errno::OutOfMemory
    );
    assert_eq!(
        Errno::from(LoadError::Rejected(Rejection::Interpreter)),
        Errno::NotExecutable
    );
    assert_eq!(
        Errno::from(LoadError::ArgumentsTooLong),
        Errno::ArgumentsTooLong
    );
}

/// A change to a valid file: bytes overwritten, a header field set to an
/// interesting value, or the file cut short.
#[derive(Clone, Debug)]
enum Mutation {
    Byte { at: usize, value: u8 },
    Field { at: usize, value: u64 },
    Truncate { length: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let interesting = prop_oneof![
        Just(0u64),
        Just(1),
        Just(8),
        Just(24),
        Just(0xfff),
        Just(0x1000),
        Just(0x2000),
        Just(0x2ff8),
        Just(0x4ff8),
        Just(MAX_IMAGE_BYTES),
        Just(u64::MAX),
        Just(u64::MAX - 7),
        Just(1027),
        any::<u64>(),
    ];
    prop_oneof![
        (0..0x1200usize, any::<u8>()).prop_map(|(at, value)| Mutation::Byte { at, value }),
        // Fields of the ELF header, the program headers, the dynamic
        // table and the relocations, 8-byte aligned.
        (
            prop_oneof![
                0usize..(64 + 4 * 56) / 8,
                0x120..0x123usize,
                0x200..0x208usize,
                0x220..0x226usize
            ],
            interesting
        )
            .prop_map(|(slot, value)| Mutation::Field {
                at: slot * 8,
                value
            }),
        (0..0x1200usize).prop_map(|length| Mutation::Truncate { length }),
    ]
}

fn apply(file: &mut Vec<u8>, mutation: &Mutation) {
    match *mutation {
        Mutation::Byte { at, value } => {
            if let Some(byte) = file.get_mut(at) {
                *byte = value;
            }
        }
        Mutation::Field { at, value } => put(file, at, &value.to_le_bytes()),
        Mutation::Truncate { length } => file.truncate(length),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// A mutated file is refused, or it loads; either way the loader
    /// never panics, and never writes outside the ranges it reserved
    /// (the fake panics if it does), and every page it maps lies in the
    /// image or the stack.
    #[test]
    fn mutated_programs_never_write_outside_their_image(
        mutations in proptest::collection::vec(mutation(), 1..6),
        x86 in any::<bool>(),
    ) {
        let target = if x86 { X86_64 } else { AARCH64 };
        let mut file = TestElf::valid(target).bytes();
        for mutation in &mutations {
            apply(&mut file, mutation);
        }
        let Ok(image) = ProgramImage::parse(&file, target) else {
            return Ok(());
        };
        prop_assert!(image.span() <= MAX_IMAGE_BYTES);
        let mut memory = FakeMemory::new();
        let result = image.load(&mut memory, &file, &arguments(&["a"]), &[]);
        let (image_start, image_size) = memory.reservations[0];
        let image_end = image_start + image_size.div_ceil(PAGE) * PAGE;
        for (&address, page) in &memory.pages {
            let in_image = address >= image_start && address < image_end;
            let in_stack = memory.reservations.get(1).is_some_and(|&(start, size)| {
                address >= start && address < start + size
            });
            prop_assert!(in_image || in_stack, "page {:#x} outside", address);
            prop_assert!(!(page.permission.write && page.permission.execute));
        }
        if let Ok(start) = result {
            prop_assert!(start.entry >= image_start && start.entry < image_end);
            let page = start.entry & !(PAGE - 1);
            let executable = match memory.pages.get(&page) {
                Some(known) => known.permission.execute,
                None => memory
                    .lazy
                    .iter()
                    .any(|&(first, end, permission)| page >= first && page < end && permission.execute),
            };
            prop_assert!(executable);
        }
    }
}
