// SPDX-License-Identifier: MIT OR Apache-2.0
//! Host tests: the walker over tables in host memory, for both formats,
//! and the descriptor encodings bit for bit.

use super::*;
use std::collections::{BTreeMap, BTreeSet};

/// Tables in host memory, keyed by a made-up physical address, with an
/// allocator that hands out zeroed tables and records what is freed.
#[derive(Default)]
struct HostTables {
    tables: BTreeMap<u64, [u64; ENTRIES]>,
    next: u64,
    limit: Option<usize>,
}

impl HostTables {
    fn new() -> Self {
        HostTables {
            tables: BTreeMap::new(),
            next: 0x10_0000,
            limit: None,
        }
    }

    fn allocate(&mut self) -> Option<u64> {
        if self.limit.is_some_and(|limit| self.tables.len() >= limit) {
            return None;
        }
        let table = self.next;
        self.next += PAGE_SIZE;
        self.tables.insert(table, [0; ENTRIES]);
        Some(table)
    }
}

impl TableMemory for HostTables {
    fn read(&self, table: u64, index: usize) -> u64 {
        assert!(index < ENTRIES);
        self.tables
            .get(&table)
            .expect("walked to a table that does not exist")[index]
    }

    fn write(&mut self, table: u64, index: usize, entry: u64) {
        assert!(index < ENTRIES);
        self.tables
            .get_mut(&table)
            .expect("wrote to a table that does not exist")[index] = entry;
    }
}

/// A walker over fresh host tables and its root.
fn walker<F: Format>() -> (Walker<F, HostTables>, u64) {
    let mut memory = HostTables::new();
    let root = memory.allocate().unwrap();
    (Walker::new(memory), root)
}

/// Maps a user page at `address`, taking up to three tables from the
/// walker's own memory (allocated up front, as `hal/`'s allocator is
/// separate from the memory the walker reads; unused ones are dropped).
fn map_user<F: Format>(
    walker: &mut Walker<F, HostTables>,
    root: u64,
    address: u64,
    leaf: u64,
) -> Result<Option<u64>, WalkError> {
    let mut spare: Vec<u64> = (0..3).filter_map(|_| walker.memory().allocate()).collect();
    spare.reverse();
    let result = walker.map(
        root,
        address,
        PAGE_LEVEL,
        leaf,
        Owner::User,
        Existing::Keep,
        &mut |_| spare.pop(),
    );
    for unused in spare {
        walker.memory().tables.remove(&unused);
    }
    result
}

#[test]
fn index_takes_nine_bits_per_level() {
    let address = (0x1a5 << 39) | (0x0f3 << 30) | (0x100 << 21) | (0x1ff << 12) | 0xabc;
    assert_eq!(index(address, 0), 0x1a5);
    assert_eq!(index(address, 1), 0x0f3);
    assert_eq!(index(address, 2), 0x100);
    assert_eq!(index(address, 3), 0x1ff);
    // The upper half's sign-extension bits do not leak into the root index.
    assert_eq!(index(0xffff_8000_0000_0000, 0), 256);
    assert_eq!(index(0xffff_ffff_8000_0000, 0), 511);
    assert_eq!(index(0xffff_ffff_8000_0000, 1), 510);
}

#[test]
fn aarch64_encodings_match_the_architecture() {
    use aarch64::*;
    let format = Aarch64;
    assert_eq!(
        Aarch64::table_descriptor(0x4123_4000, Owner::Kernel),
        0x4123_4000 | 0b11
    );
    assert_eq!(
        Aarch64::table_descriptor(0x4123_4000, Owner::User),
        0x4123_4000 | 0b11
    );
    // Kernel text: normal, inner shareable, read-only, AF, UXN; PXN clear.
    assert_eq!(
        format.kernel_leaf(0x4020_0000, KernelAccess::ReadExecute, PAGE_LEVEL),
        0x4020_0000 | 0b11 | (1 << 2) | (0b11 << 8) | (1 << 7) | (1 << 10) | (1 << 54)
    );
    assert_eq!(
        format.kernel_leaf(0x4020_1000, KernelAccess::ReadOnly, PAGE_LEVEL),
        0x4020_1000 | 0b11 | (1 << 2) | (0b11 << 8) | (1 << 7) | (1 << 10) | (3 << 53)
    );
    // A 2 MiB block of the direct map: bits 1:0 = 0b01.
    assert_eq!(
        format.kernel_leaf(0x8000_0000, KernelAccess::ReadWrite, BLOCK_LEVEL),
        0x8000_0000 | 0b01 | (1 << 2) | (0b11 << 8) | (1 << 10) | (3 << 53)
    );
    // Device-nGnRE: AttrIndx 0, not shareable-marked, never executable.
    assert_eq!(
        format.kernel_leaf(0x0900_0000, KernelAccess::Device, PAGE_LEVEL),
        0x0900_0000 | 0b11 | (1 << 10) | (3 << 53)
    );
    let read_only = format.user_page(0x4567_8000, UserAccess::default());
    assert_eq!(
        read_only,
        0x4567_8000
            | 0b11
            | (1 << 2)
            | (1 << 6)
            | (1 << 7)
            | (0b11 << 8)
            | (1 << 10)
            | (1 << 11)
            | (3 << 53)
    );
    let all = UserAccess {
        write: true,
        execute: true,
    };
    let read_write_execute = format.user_page(0x4567_8000, all);
    assert_eq!(read_write_execute & (READ_ONLY | USER_EXECUTE_NEVER), 0);
    assert_ne!(read_write_execute & PRIVILEGED_EXECUTE_NEVER, 0);
    for write in [false, true] {
        for execute in [false, true] {
            let access = UserAccess { write, execute };
            assert_eq!(
                Aarch64::user_access(format.user_page(0x1000, access)),
                access
            );
        }
    }
    // Addresses outside bits 47:12 never reach the descriptor.
    assert_eq!(
        Aarch64::address(format.user_page(0xffff_0000_0000_1fff, all)),
        0x1000
    );
    assert!(Aarch64::is_table(0b11) && !Aarch64::is_table(0b01) && !Aarch64::is_table(0b10));
    assert!(Aarch64::is_page(0b11) && !Aarch64::is_page(0b01));
}

#[test]
fn x86_64_encodings_match_the_architecture() {
    use x86_64::*;
    let with_nx = X86_64::new(true);
    let without_nx = X86_64::new(false);
    assert_eq!(
        X86_64::table_descriptor(0x20_3000, Owner::Kernel),
        0x20_3000 | 0b011
    );
    assert_eq!(
        X86_64::table_descriptor(0x20_3000, Owner::User),
        0x20_3000 | 0b111
    );
    assert_eq!(
        with_nx.kernel_leaf(0x10_0000, KernelAccess::ReadExecute, PAGE_LEVEL),
        0x10_0000 | PRESENT | ACCESSED
    );
    assert_eq!(
        with_nx.kernel_leaf(0x10_1000, KernelAccess::ReadOnly, PAGE_LEVEL),
        0x10_1000 | PRESENT | ACCESSED | (1 << 63)
    );
    assert_eq!(
        with_nx.kernel_leaf(0x4000_0000, KernelAccess::ReadWrite, BLOCK_LEVEL),
        0x4000_0000 | PRESENT | ACCESSED | WRITABLE | DIRTY | LARGE | (1 << 63)
    );
    // Uncached: PCD and PWT select PAT entry 3 with the power-on PAT.
    assert_eq!(
        with_nx.kernel_leaf(0xfee0_0000, KernelAccess::Device, PAGE_LEVEL),
        0xfee0_0000 | 0b11 | (1 << 3) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 63)
    );
    // Without NX, bit 63 is reserved and stays clear everywhere.
    for access in [
        KernelAccess::ReadExecute,
        KernelAccess::ReadOnly,
        KernelAccess::ReadWrite,
        KernelAccess::Device,
    ] {
        for level in [BLOCK_LEVEL, PAGE_LEVEL] {
            let entry = without_nx.kernel_leaf(0x1000, access, level);
            assert_eq!(entry & NO_EXECUTE, 0);
            assert_eq!(
                entry | (with_nx.kernel_leaf(0x1000, access, level) & NO_EXECUTE),
                { with_nx.kernel_leaf(0x1000, access, level) }
            );
        }
    }
    assert_eq!(
        with_nx.user_page(0x5000, UserAccess::default()),
        0x5000 | PRESENT | USER | ACCESSED | NO_EXECUTE
    );
    assert_eq!(
        with_nx.user_page(
            0x5000,
            UserAccess {
                write: true,
                execute: true
            }
        ),
        0x5000 | PRESENT | USER | ACCESSED | WRITABLE | DIRTY
    );
    assert_eq!(
        without_nx.user_page(0x5000, UserAccess::default()),
        0x5000 | PRESENT | USER | ACCESSED
    );
    for write in [false, true] {
        for execute in [false, true] {
            let access = UserAccess { write, execute };
            assert_eq!(
                X86_64::user_access(with_nx.user_page(0x1000, access)),
                access
            );
            // Without NX every readable page can be executed.
            assert!(X86_64::user_access(without_nx.user_page(0x1000, access)).execute);
        }
    }
    assert!(X86_64::is_table(PRESENT) && !X86_64::is_table(PRESENT | LARGE));
    assert!(!X86_64::is_valid(WRITABLE | USER));
}

/// Map, look up, refuse a second mapping, unmap, and free every table:
/// the life of a process's tables, the same for both formats.
fn user_life_cycle<F: Format>(format: &F) {
    let (mut walker, root) = walker::<F>();
    let first = 0x0000_0000_0040_0000;
    // Same level-2 table, other page; then another 1 GiB region.
    let neighbour = first + PAGE_SIZE;
    let far = 0x0000_1234_4000_0000;
    let writable = UserAccess {
        write: true,
        execute: false,
    };
    let text = UserAccess {
        write: false,
        execute: true,
    };
    assert_eq!(walker.lookup(root, first), None);
    assert_eq!(walker.unmap(root, first), None);

    let mut created = Vec::new();
    let before = walker.memory().tables.len();
    let leaf = format.user_page(0x7000_0000, writable);
    let outcome = {
        let mut allocate = |level: usize| {
            created.push(level);
            None
        };
        walker.map(
            root,
            first,
            PAGE_LEVEL,
            leaf,
            Owner::User,
            Existing::Keep,
            &mut allocate,
        )
    };
    assert_eq!(outcome, Err(WalkError::OutOfTables));
    assert_eq!(created, [0]);
    assert_eq!(walker.memory().tables.len(), before);

    assert_eq!(map_user(&mut walker, root, first, leaf), Ok(None));
    // Root + three new tables.
    assert_eq!(walker.memory().tables.len(), 4);
    let found = walker.lookup(root, first).unwrap();
    assert_eq!(F::address(found), 0x7000_0000);
    assert_eq!(F::user_access(found), writable);
    // Every table on the way is a user table descriptor.
    let level_one = walker.table(root, first, 1).unwrap();
    assert_eq!(
        walker.memory().read(root, index(first, 0)),
        F::table_descriptor(level_one, Owner::User)
    );
    // The rest of the page is the same page.
    assert_eq!(walker.lookup(root, first + 0xfff), Some(found));

    // A second mapping of the page is refused and changes nothing.
    let other = format.user_page(0x7100_0000, text);
    assert_eq!(map_user(&mut walker, root, first, other), Ok(Some(found)));
    assert_eq!(walker.lookup(root, first), Some(found));

    // The neighbour needs no new table; the far page needs three.
    assert_eq!(map_user(&mut walker, root, neighbour, other), Ok(None));
    assert_eq!(walker.memory().tables.len(), 4);
    assert_eq!(map_user(&mut walker, root, far, other), Ok(None));
    assert_eq!(walker.memory().tables.len(), 7);
    assert_eq!(F::user_access(walker.lookup(root, far).unwrap()), text);

    assert_eq!(walker.unmap(root, first), Some(found));
    assert_eq!(walker.lookup(root, first), None);
    assert_eq!(walker.unmap(root, first), None);
    assert!(walker.lookup(root, neighbour).is_some());

    let mut freed = BTreeSet::new();
    walker.free_tables(root, 0, ENTRIES, &mut |table| {
        assert!(freed.insert(table), "table freed twice");
    });
    let all: BTreeSet<u64> = walker.memory().tables.keys().copied().collect();
    assert_eq!(freed, all);
    // The mapped frames are the caller's, never freed here.
    assert!(!freed.contains(&0x7000_0000) && !freed.contains(&0x7100_0000));
}

#[test]
fn aarch64_user_tables_life_cycle() {
    user_life_cycle(&Aarch64);
}

#[test]
fn x86_64_user_tables_life_cycle() {
    user_life_cycle(&X86_64::new(true));
}

/// A run of pages written at once: each entry as [`Walker::map`] would
/// write it, a table made once per 2 MiB, a mapped slot kept.
fn pages_in_one_walk<F: Format>(format: &F) {
    let (mut walker, root) = walker::<F>();
    let boundary = 0x0000_0000_0060_0000;
    let text = UserAccess {
        write: false,
        execute: true,
    };
    let kept = format.user_page(0x7000_0000, text);
    assert_eq!(
        map_user(&mut walker, root, boundary + PAGE_SIZE, kept),
        Ok(None)
    );
    let tables = walker.memory().tables.len();
    let first = boundary - 3 * PAGE_SIZE;
    let leaf = |page: u64| format.user_page(0x8000_0000 + page * PAGE_SIZE, text);
    let leaves: Vec<u64> = (0..6).map(leaf).collect();
    let mut spare: Vec<u64> = (0..3).filter_map(|_| walker.memory().allocate()).collect();
    let written = walker.map_run(root, first, &leaves, Owner::User, &mut |_| spare.pop());
    assert_eq!(written, Ok(5));
    // One more last-level table, for the pages below the boundary.
    assert_eq!(spare.len(), 2);
    for unused in spare {
        walker.memory().tables.remove(&unused);
    }
    assert_eq!(walker.memory().tables.len(), tables + 1);
    for page in 0..6 {
        let address = first + page * PAGE_SIZE;
        let expected = if address == boundary + PAGE_SIZE {
            kept
        } else {
            leaf(page)
        };
        assert_eq!(walker.lookup(root, address), Some(expected));
    }
    assert_eq!(walker.lookup(root, first + 6 * PAGE_SIZE), None);
    assert_eq!(walker.lookup(root, first - PAGE_SIZE), None);

    // Without tables nothing is written.
    let (mut empty, empty_root) = self::walker::<F>();
    assert_eq!(
        empty.map_run(empty_root, first, &leaves, Owner::User, &mut |_| None),
        Err(WalkError::OutOfTables)
    );
    assert_eq!(empty.lookup(empty_root, first), None);
}

#[test]
fn aarch64_pages_in_one_walk() {
    pages_in_one_walk(&Aarch64);
}

#[test]
fn x86_64_pages_in_one_walk() {
    pages_in_one_walk(&X86_64::new(true));
}

/// Kernel mappings: blocks stop a walk, `Keep` and `Replace` differ, and
/// the allocator hears which level each new table hangs from.
fn kernel_blocks<F: Format>(format: &F) {
    let (mut walker, root) = walker::<F>();
    let base = 0xffff_8000_4000_0000;
    let block = format.kernel_leaf(0x4000_0000, KernelAccess::ReadWrite, BLOCK_LEVEL);
    let mut levels = Vec::new();
    let mut spare: Vec<u64> = (0..2)
        .map(|_| walker.memory().allocate().unwrap())
        .collect();
    let outcome = walker.map(
        root,
        base,
        BLOCK_LEVEL,
        block,
        Owner::Kernel,
        Existing::Keep,
        &mut |level| {
            levels.push(level);
            spare.pop()
        },
    );
    assert_eq!(outcome, Ok(None));
    assert_eq!(levels, [0, 1]);
    assert_eq!(walker.entry(root, base + 0x1234, BLOCK_LEVEL), Some(block));
    // No page table under a block: lookups and page walks stop there.
    assert_eq!(walker.table(root, base, PAGE_LEVEL), None);
    assert_eq!(walker.lookup(root, base), None);
    let device = format.kernel_leaf(0x4000_1000, KernelAccess::Device, PAGE_LEVEL);
    let outcome = walker.map(
        root,
        base + PAGE_SIZE,
        PAGE_LEVEL,
        device,
        Owner::Kernel,
        Existing::Keep,
        &mut |_| panic!("no table may be made under a block"),
    );
    assert_eq!(outcome, Err(WalkError::Block));

    // Keep leaves a valid leaf; Replace overwrites it.
    let read_only = format.kernel_leaf(0x4000_0000, KernelAccess::ReadOnly, BLOCK_LEVEL);
    let keep = walker.map(
        root,
        base,
        BLOCK_LEVEL,
        read_only,
        Owner::Kernel,
        Existing::Keep,
        &mut |_| None,
    );
    assert_eq!(keep, Ok(Some(block)));
    assert_eq!(walker.entry(root, base, BLOCK_LEVEL), Some(block));
    let replace = walker.map(
        root,
        base,
        BLOCK_LEVEL,
        read_only,
        Owner::Kernel,
        Existing::Replace,
        &mut |_| None,
    );
    assert_eq!(replace, Ok(Some(block)));
    assert_eq!(walker.entry(root, base, BLOCK_LEVEL), Some(read_only));
    // Kernel table descriptors never carry the user bit.
    let level_one = walker.table(root, base, 1).unwrap();
    assert_eq!(
        walker.memory().read(root, index(base, 0)),
        F::table_descriptor(level_one, Owner::Kernel)
    );
    // Teardown follows tables, not blocks.
    let mut freed = Vec::new();
    walker.free_tables(root, 0, ENTRIES, &mut |table| freed.push(table));
    assert_eq!(freed.len(), 3);
}

#[test]
fn aarch64_kernel_blocks() {
    kernel_blocks(&Aarch64);
}

#[test]
fn x86_64_kernel_blocks() {
    kernel_blocks(&X86_64::new(true));
}

/// The x86_64 user root shares its upper half with the kernel: teardown
/// limited to entries 0–255 never frees the kernel's tables.
#[test]
fn teardown_stops_at_the_entry_limit() {
    let format = X86_64::new(true);
    let (mut walker, root) = walker::<X86_64>();
    let user = 0x0000_0000_0040_0000;
    let kernel = 0xffff_8000_0000_0000;
    assert_eq!(
        map_user(
            &mut walker,
            root,
            user,
            format.user_page(0x9000, UserAccess::default())
        ),
        Ok(None)
    );
    let leaf = format.kernel_leaf(0x9000, KernelAccess::ReadWrite, PAGE_LEVEL);
    assert_eq!(map_user(&mut walker, root, kernel, leaf), Ok(None));
    let kernel_tables: Vec<u64> = (1..=PAGE_LEVEL)
        .map(|level| walker.table(root, kernel, level).unwrap())
        .collect();
    let mut freed = Vec::new();
    walker.free_tables(root, 0, 256, &mut |table| freed.push(table));
    assert_eq!(freed.len(), 4);
    assert!(kernel_tables.iter().all(|table| !freed.contains(table)));
}
