// SPDX-License-Identifier: MIT OR Apache-2.0
//! The ext2l checker: every invariant of the format, verified read-only.
//!
//! Stock `e2fsck` refuses ext2l volumes (they carry an unknown `ro_compat`
//! bit), so this is their fsck. [`FileSystem::check`] runs in passes, each
//! bounded by validated on-disk counts:
//! 1. the superblock's fields e2fsck refuses (`rules.rs`) and group
//!    descriptors: every structure inside the file system, none
//!    overlapping another;
//! 2. inodes: known type, block pointers in range and not shared with any
//!    other inode or metadata, `i_blocks` matching, sizes consistent with
//!    blocks, no extents or inline data, rootlinks only on regular files,
//!    the fields e2fsck rejects (`rules.rs`); reserved inodes as e2fsck's
//!    pass 1 judges them (their block maps, `i_blocks` and sizes; quota
//!    and journal inodes clear when they are not in use); the resize
//!    inode against the layout of `resize_inode.rs` with `resize_inode`
//!    (`resize_inode::layout_problem`), clear without it (the reserved
//!    descriptor blocks are metadata from pass 1 on, so the bitmaps must
//!    mark them in use);
//! 3. directories: record structure, `.` and `..`, entries naming inodes in
//!    use with the right type, no duplicate names, no reserved names;
//!    `..` names the directory itself or a directory that names it; an
//!    htree index e2fsck would clear (`htree.rs`);
//! 4. link counts: entries naming an inode (`.` and `..` included) plus
//!    rootlinks to it;
//! 5. reachability from the root, through entries and rootlinks, and no
//!    directory cycles (judged on entries, never on `..`);
//! 6. bitmaps against use, and every free/used counter.
//!
//! Before the inodes, the journal (`journal/volume.rs`): with
//! `has_journal`, inode 8 must hold a journal whose superblock parses and
//! fits it, of at least 1024 blocks, whose log is empty unless
//! `needs_recovery` is set, and which matches the superblock's backup of
//! its block map; without it, inode 8 must not be in use. The journal's
//! blocks are claimed like any file's.
//!
//! Before them, the orphan list (`s_last_orphan`, chained through
//! `i_dtime`, `orphan.rs`) is walked: each inode on it must be in range,
//! met once, marked in use, without links and of a known type. Listed
//! orphans are valid state, not damage: they are in use (their blocks
//! count, a directory among them counts as a directory), need no name and
//! may have a deletion time (the next orphan's number); the rootlink of an
//! orphan still counts as a link of its target and reaches it. They are
//! reported in [`CheckReport::orphans`]. A broken list, and an inode marked
//! in use with no links that is not on the list, are problems.
//!
//! Memory is one bit per block plus a few words per inode and per entry; an
//! indirect block already claimed is never descended into again, so a
//! hostile block tree costs at most one pass over the device. Each problem
//! names its inode and, when one exists, a path to it.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

use crate::attribute_block::attribute_block_problem;
use crate::bytes::{bit_is_set, read_u32};
use crate::device::BlockDevice;
use crate::directory_block::entries;
use crate::error::Result;
use crate::features::{CompatibleFeatures, ReadOnlyCompatibleFeatures};
use crate::filesystem::FileSystem;
use crate::group::{GROUP_BLOCK_UNINIT, GROUP_INODE_UNINIT};
use crate::htree::{index_problem, HashSettings};
use crate::inode::{FileType, Inode, InodeFlags, InodeNumber};
use crate::journal::JOURNAL_INODE as JOURNAL_INODE_NUMBER;
use crate::name::{is_dot_or_dot_dot, is_reserved_name};
use crate::orphan::ListEntry;
use crate::rules::{inode_field_problems, VolumeRules};

/// Most problems kept in a report; the rest are only counted.
const MAX_PROBLEMS: usize = 1000;
/// The most links a directory counts before it counts 1 (`EXT2_LINK_MAX`
/// with `dir_nlink`).
const DIRECTORY_LINK_MAX: u32 = 65_000;
/// Most pointer problems reported for one inode.
const MAX_PROBLEMS_PER_INODE: u32 = 8;

/// What kind of invariant a problem breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProblemKind {
    /// Superblock fields or features.
    Superblock,
    /// A group descriptor.
    GroupDescriptor,
    /// An inode's own fields (mode, size, flags, `i_blocks`, times).
    Inode,
    /// A block pointer out of range.
    BlockPointer,
    /// A block used twice.
    SharedBlock,
    /// A directory record or the `.`/`..` structure.
    DirectoryEntry,
    /// A directory's htree index that e2fsck would clear.
    DirectoryIndex,
    /// A reserved dot-only name on disk.
    ReservedName,
    /// A rootlink.
    Rootlink,
    /// A link count.
    LinkCount,
    /// An inode in use that nothing reaches.
    Unreachable,
    /// A directory that contains itself.
    Cycle,
    /// Block bitmap against use.
    BlockBitmap,
    /// Inode bitmap against use.
    InodeBitmap,
    /// A free or used counter.
    Counter,
    /// The orphan list, or an inode with no links that is marked in use
    /// but not on it.
    Orphan,
    /// The journal: its inode, its superblock, or a log that holds
    /// transactions the superblock's flags do not account for.
    Journal,
}

/// One broken invariant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The invariant broken.
    pub kind: ProblemKind,
    /// The inode concerned, if any.
    pub inode: Option<InodeNumber>,
    /// A path to that inode (from the root; `<rootlink of N>` marks a step
    /// through a rootlink), when it is reachable.
    pub path: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.inode, &self.path) {
            (Some(inode), Some(path)) => {
                write!(formatter, "inode {inode} ({path}): {}", self.message)
            }
            (Some(inode), None) => {
                write!(formatter, "inode {inode} (unreachable): {}", self.message)
            }
            (None, _) => write!(formatter, "{}", self.message),
        }
    }
}

/// The result of [`FileSystem::check`].
#[derive(Clone, Debug, Default)]
pub struct CheckReport {
    /// The problems found (at most 1000).
    pub problems: Vec<Problem>,
    /// Problems found beyond those kept.
    pub omitted: usize,
    /// Inodes in use.
    pub inodes_in_use: u32,
    /// Directories in use.
    pub directories: u32,
    /// Blocks in use, metadata included.
    pub blocks_in_use: u64,
    /// Rootlinks found.
    pub rootlinks: u32,
    /// Directories with more than one name.
    pub directory_hardlinks: u32,
    /// The orphans on the orphan list, in list order (up to any damage):
    /// inodes with no name that a host still held; the next read-write
    /// mount frees them. Counted in `inodes_in_use`.
    pub orphans: Vec<InodeNumber>,
}

impl CheckReport {
    /// Whether no problem was found.
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty() && self.omitted == 0
    }

    fn add(&mut self, kind: ProblemKind, inode: Option<u32>, message: String) {
        if self.problems.len() >= MAX_PROBLEMS {
            self.omitted += 1;
            return;
        }
        self.problems.push(Problem {
            kind,
            inode: inode.map(InodeNumber),
            path: None,
            message,
        });
    }
}

/// A plain bitmap over `0..length`.
struct BitSet {
    words: Vec<u64>,
}

impl BitSet {
    fn new(length: usize) -> BitSet {
        BitSet {
            words: vec![0; length.div_ceil(64)],
        }
    }

    fn get(&self, index: usize) -> bool {
        self.words
            .get(index / 64)
            .is_some_and(|word| word & (1 << (index % 64)) != 0)
    }

    /// Sets the bit; returns whether it was already set.
    fn set(&mut self, index: usize) -> bool {
        match self.words.get_mut(index / 64) {
            Some(word) => {
                let mask = 1 << (index % 64);
                let was = *word & mask != 0;
                *word |= mask;
                was
            }
            None => true,
        }
    }
}

/// Per-inode facts gathered by the inode pass.
#[derive(Clone, Copy, Default)]
struct InodeFacts {
    file_type: Option<FileType>,
    links: u16,
    rootlink: u32,
}

/// One directory entry other than `.` and `..`.
#[derive(Clone, Copy)]
struct Edge {
    parent: u32,
    child: u32,
    name_start: u32,
    name_length: u8,
}

/// Everything the passes share.
struct State {
    report: CheckReport,
    used_blocks: BitSet,
    /// Inodes on the orphan list (valid entries).
    orphans: BitSet,
    /// Inodes with no links that are not on the orphan list.
    unlinked: BitSet,
    facts: Vec<InodeFacts>,
    references: Vec<u32>,
    edges: Vec<Edge>,
    names: Vec<u8>,
    dot_dot: Vec<u32>,
    /// Data blocks of directories (logical order), by inode.
    directory_blocks: BTreeMap<u32, Vec<Option<u32>>>,
    attribute_blocks: BTreeMap<u32, u32>,
    computed_free_blocks: Vec<u32>,
    /// Inode-table blocks on the bad-block list: their inodes are unusable
    /// (e2fsck skips them), and the list may name them.
    bad_table_blocks: BTreeSet<u32>,
    /// Inodes in those blocks.
    bad_inodes: BitSet,
    /// Whether the bad-block list is being walked.
    walking_bad_blocks: bool,
    /// What the volume allows an inode's fields.
    rules: VolumeRules,
    /// Directories with the htree index flag (on a volume with
    /// `dir_index`).
    indexed: BTreeSet<u32>,
}

impl State {
    fn facts(&self, inode: u32) -> InodeFacts {
        self.facts.get(inode as usize).copied().unwrap_or_default()
    }

    fn in_use(&self, inode: u32) -> bool {
        self.facts(inode).file_type.is_some()
    }

    fn add_reference(&mut self, inode: u32) {
        if let Some(count) = self.references.get_mut(inode as usize) {
            *count = count.saturating_add(1);
        }
    }
}

/// What walking one inode's block map found.
#[derive(Default)]
struct Walk {
    blocks: u64,
    data_blocks: u64,
    last_logical: Option<u64>,
    problems: u32,
}

impl<D: BlockDevice> FileSystem<D> {
    /// Reads a block for the checker: the cached copy when there is one (it
    /// may be newer than the disk), the device otherwise, without filling
    /// the cache.
    fn check_read(&mut self, block: u32) -> Result<Vec<u8>> {
        if let Some(data) = self.cache.peek(block) {
            return Ok(data.into());
        }
        let mut data = vec![0u8; self.geometry.block_bytes()];
        self.device
            .read_at(self.geometry.block_offset(block), &mut data)?;
        Ok(data)
    }

    /// Checks every invariant of the file system (see the module doc).
    ///
    /// Return values: the report (clean or not), or [`crate::Error::Device`]
    /// when the device fails.
    pub fn check(&mut self) -> Result<CheckReport> {
        let blocks_count = self.geometry.blocks_count as usize;
        let inode_slots = self.geometry.inodes_count as usize + 1;
        let mut state = State {
            report: CheckReport::default(),
            used_blocks: BitSet::new(blocks_count),
            orphans: BitSet::new(inode_slots),
            unlinked: BitSet::new(inode_slots),
            facts: vec![InodeFacts::default(); inode_slots],
            references: vec![0; inode_slots],
            edges: Vec::new(),
            names: Vec::new(),
            dot_dot: vec![0; inode_slots],
            directory_blocks: BTreeMap::new(),
            attribute_blocks: BTreeMap::new(),
            computed_free_blocks: vec![0; self.geometry.group_count as usize],
            bad_table_blocks: BTreeSet::new(),
            bad_inodes: BitSet::new(inode_slots),
            walking_bad_blocks: false,
            rules: VolumeRules::of(&self.superblock, self.geometry.inode_size),
            indexed: BTreeSet::new(),
        };
        self.check_groups(&mut state);
        for (inode, message) in self.journal_problems()? {
            state.report.add(ProblemKind::Journal, inode, message);
        }
        self.check_orphan_list(&mut state)?;
        self.check_inodes(&mut state)?;
        self.check_attribute_blocks(&mut state)?;
        self.check_directories(&mut state)?;
        self.check_rootlinks(&mut state);
        self.check_link_counts(&mut state);
        let parents = self.check_reachability(&mut state);
        self.check_cycles(&mut state);
        self.check_bitmaps(&mut state)?;
        let mut report = state.report;
        for problem in report.problems.iter_mut() {
            if let Some(inode) = problem.inode {
                problem.path = path_of(inode.get(), &parents, &state.edges, &state.names);
            }
        }
        Ok(report)
    }

    /// Claims `block` for metadata; reports overlaps.
    fn claim_metadata(&self, state: &mut State, block: u32, what: &str, group: u32) {
        if !self.geometry.is_valid_block(block) {
            return;
        }
        if state.used_blocks.set(block as usize) {
            state.report.add(
                ProblemKind::GroupDescriptor,
                None,
                format!("group {group}: {what} block {block} overlaps other metadata"),
            );
        }
    }

    /// Walks the orphan list: records its valid entries, and reports where
    /// it breaks.
    fn check_orphan_list(&mut self, state: &mut State) -> Result<()> {
        let mut visited = BTreeSet::new();
        let mut current = self.superblock.last_orphan();
        while current != 0 {
            match self.orphan_list_entry(current, &visited)? {
                ListEntry::Orphan { next } => {
                    visited.insert(current);
                    state.orphans.set(current as usize);
                    state.report.orphans.push(InodeNumber(current));
                    current = next;
                }
                ListEntry::Damaged(reason) => {
                    if current <= self.geometry.inodes_count {
                        state
                            .report
                            .add(ProblemKind::Orphan, Some(current), String::from(reason));
                    } else {
                        state
                            .report
                            .add(ProblemKind::Orphan, None, format!("{reason}: {current}"));
                    }
                    break;
                }
            }
        }
        Ok(())
    }

    fn check_groups(&mut self, state: &mut State) {
        let capacity =
            u64::from(self.geometry.inodes_per_group) * u64::from(self.geometry.group_count);
        if capacity != u64::from(self.geometry.inodes_count) {
            state.report.add(
                ProblemKind::Superblock,
                None,
                format!(
                    "the inode count {} is not the {capacity} inodes the groups hold",
                    self.geometry.inodes_count
                ),
            );
        }
        if let Some(problem) = crate::rules::cluster_fields_problem(&self.superblock) {
            state
                .report
                .add(ProblemKind::Superblock, None, String::from(problem));
        }
        for (_, _, problem) in crate::rules::superblock_field_problems(&self.superblock) {
            state
                .report
                .add(ProblemKind::Superblock, None, String::from(problem));
        }
        if let Some(problem) = crate::rules::cluster_fields_problem(&self.superblock) {
            state
                .report
                .add(ProblemKind::Superblock, None, String::from(problem));
        }
        if self.superblock.features().read_only_compatible
            & ReadOnlyCompatibleFeatures::QUOTA.bits()
            == 0
        {
            for offset in crate::superblock::field::QUOTA_INODES {
                let inode = self.superblock.get_u32(offset);
                if inode != 0 {
                    state.report.add(
                        ProblemKind::Superblock,
                        None,
                        format!("a quota inode ({inode}) is named without the quota feature"),
                    );
                }
            }
        }
        let geometry = self.geometry.clone();
        for group in 0..geometry.group_count {
            let first = geometry.group_first_block(group);
            for offset in 0..geometry.group_header_blocks(group) {
                self.claim_metadata(
                    state,
                    first.saturating_add(offset),
                    "superblock or descriptor",
                    group,
                );
            }
            if !self.groups.is_valid(group) {
                state.report.add(
                    ProblemKind::GroupDescriptor,
                    None,
                    format!("group {group}: bitmap or inode table outside the file system"),
                );
                continue;
            }
            let checksums = ReadOnlyCompatibleFeatures::GDT_CSUM.bits()
                | ReadOnlyCompatibleFeatures::METADATA_CSUM.bits();
            let uninit = GROUP_BLOCK_UNINIT | GROUP_INODE_UNINIT;
            if self.superblock.features().read_only_compatible & checksums == 0
                && (self.groups.flags(group) & uninit != 0
                    || self.groups.inode_table_unused(group) != 0)
            {
                state.report.add(
                    ProblemKind::GroupDescriptor,
                    None,
                    format!("group {group}: uninit_bg flags on a volume without group checksums"),
                );
            }
            // e2fsck's `ext2fs_check_desc`: each group's bitmaps and inode
            // table lie in the group.
            let group_start = u64::from(first);
            let group_end = group_start + u64::from(geometry.group_block_count(group));
            let table_end =
                u64::from(self.groups.inode_table(group)) + u64::from(geometry.inode_table_blocks);
            let outside = [
                u64::from(self.groups.block_bitmap(group)) + 1,
                u64::from(self.groups.inode_bitmap(group)) + 1,
                table_end,
            ]
            .iter()
            .zip([
                self.groups.block_bitmap(group),
                self.groups.inode_bitmap(group),
                self.groups.inode_table(group),
            ])
            .any(|(&end, start)| u64::from(start) < group_start || end > group_end);
            if outside {
                state.report.add(
                    ProblemKind::GroupDescriptor,
                    None,
                    format!("group {group}: a bitmap or the inode table lies outside the group"),
                );
            }
            self.claim_metadata(
                state,
                self.groups.block_bitmap(group),
                "block bitmap",
                group,
            );
            self.claim_metadata(
                state,
                self.groups.inode_bitmap(group),
                "inode bitmap",
                group,
            );
            let table = self.groups.inode_table(group);
            for offset in 0..geometry.inode_table_blocks {
                self.claim_metadata(state, table + offset, "inode table", group);
            }
        }
        let features = self.superblock.features();
        if !features.unsupported().is_empty() {
            state.report.add(
                ProblemKind::Superblock,
                None,
                format!("unsupported features: {}", features.unsupported()),
            );
        }
    }

    /// Whether the group's inode table is uninitialised (`uninit_bg`).
    fn group_flag(&self, group: u32, flag: u16) -> bool {
        let features = self.superblock.features().read_only_compatible;
        let checksummed =
            ReadOnlyCompatibleFeatures::GDT_CSUM | ReadOnlyCompatibleFeatures::METADATA_CSUM;
        features & checksummed.bits() != 0 && self.groups.flags(group) & flag != 0
    }

    fn check_inodes(&mut self, state: &mut State) -> Result<()> {
        let geometry = self.geometry.clone();
        let inodes_per_block = geometry.block_size / geometry.inode_size;
        self.check_bad_block_list(state)?;
        for group in 0..geometry.group_count {
            if !self.groups.is_valid(group) || self.group_flag(group, GROUP_INODE_UNINIT) {
                continue;
            }
            let table = self.groups.inode_table(group);
            for table_block in 0..geometry.inode_table_blocks {
                if state.bad_table_blocks.contains(&(table + table_block)) {
                    // Unusable inodes: e2fsck neither reads nor frees them.
                    for slot in 0..inodes_per_block {
                        let index =
                            u64::from(table_block) * u64::from(inodes_per_block) + u64::from(slot);
                        let number =
                            u64::from(group) * u64::from(geometry.inodes_per_group) + index + 1;
                        if index < u64::from(geometry.inodes_per_group)
                            && number <= u64::from(geometry.inodes_count)
                        {
                            state.bad_inodes.set(number as usize);
                        }
                    }
                    continue;
                }
                let data = self.check_read(table + table_block)?;
                for slot in 0..inodes_per_block {
                    let index =
                        u64::from(table_block) * u64::from(inodes_per_block) + u64::from(slot);
                    if index >= u64::from(geometry.inodes_per_group) {
                        break;
                    }
                    let number =
                        u64::from(group) * u64::from(geometry.inodes_per_group) + index + 1;
                    if number > u64::from(geometry.inodes_count) {
                        break;
                    }
                    let start = (slot * geometry.inode_size) as usize;
                    let bytes = data
                        .get(start..start + geometry.inode_size as usize)
                        .unwrap_or(&[]);
                    let inode = Inode::from_bytes(InodeNumber(number as u32), bytes);
                    if number != 1 {
                        self.check_inode(state, &inode)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// The bad-block list (inode 1), read before any other inode: its
    /// blocks are claimed; one inside an inode table makes that block's
    /// inodes unusable rather than being a shared block.
    fn check_bad_block_list(&mut self, state: &mut State) -> Result<()> {
        let (group, _) = self.geometry.inode_position(1);
        if !self.groups.is_valid(group) || self.group_flag(group, GROUP_INODE_UNINIT) {
            return Ok(());
        }
        let data = self.check_read(self.groups.inode_table(group))?;
        let bytes = data.get(..self.geometry.inode_size as usize).unwrap_or(&[]);
        let inode = Inode::from_bytes(InodeNumber(1), bytes);
        state.walking_bad_blocks = true;
        let result = self.check_reserved_inode(state, &inode);
        state.walking_bad_blocks = false;
        result
    }

    /// Whether `block` belongs to a group's inode table.
    fn in_inode_table(&self, block: u32) -> bool {
        (0..self.geometry.group_count).any(|group| {
            self.groups.is_valid(group) && {
                let table = self.groups.inode_table(group);
                block >= table
                    && u64::from(block)
                        < u64::from(table) + u64::from(self.geometry.inode_table_blocks)
            }
        })
    }

    fn check_inode(&mut self, state: &mut State, inode: &Inode) -> Result<()> {
        let number = inode.number.get();
        let first_inode = self.geometry.first_inode;
        if number < first_inode && number != InodeNumber::ROOT.get() {
            return self.check_reserved_inode(state, inode);
        }
        if number == InodeNumber::ROOT.get() && (inode.links() == 0 || !inode.is_directory()) {
            state.report.add(
                ProblemKind::Inode,
                Some(number),
                String::from("the root inode is not a directory in use"),
            );
            return Ok(());
        }
        let orphan = state.orphans.get(number as usize);
        if inode.links() == 0 && !orphan {
            state.unlinked.set(number as usize);
            return Ok(());
        }
        let file_type = inode.file_type();
        if file_type == FileType::Unknown {
            state.report.add(
                ProblemKind::Inode,
                Some(number),
                format!("in use with an unknown mode {:o}", inode.mode()),
            );
            return Ok(());
        }
        state.report.inodes_in_use += 1;
        if file_type == FileType::Directory {
            state.report.directories += 1;
        }
        for problem in inode_field_problems(inode, &state.rules) {
            state
                .report
                .add(ProblemKind::Inode, Some(number), String::from(problem));
        }
        if let Some(facts) = state.facts.get_mut(number as usize) {
            *facts = InodeFacts {
                file_type: Some(file_type),
                links: inode.links(),
                rootlink: if file_type == FileType::RegularFile {
                    inode.rootlink_raw()
                } else {
                    0
                },
            };
        }
        if inode.deletion_time() != 0 && !orphan {
            state.report.add(
                ProblemKind::Inode,
                Some(number),
                String::from("in use but has a deletion time"),
            );
        }
        if inode.rootlink_raw() != 0 && file_type != FileType::RegularFile {
            state.report.add(
                ProblemKind::Rootlink,
                Some(number),
                String::from("rootlink (i_faddr) set on a file that is not regular"),
            );
        }
        if inode
            .flags()
            .intersects(InodeFlags::EXTENTS | InodeFlags::INLINE_DATA)
        {
            state.report.add(
                ProblemKind::Inode,
                Some(number),
                String::from("uses extents or inline data, which ext2 does not have"),
            );
            return Ok(());
        }
        let block_size = u64::from(self.geometry.block_size);
        let attribute_block = inode.file_acl();
        let mut attribute_sectors = 0u64;
        if attribute_block != 0 {
            if self.geometry.is_valid_block(attribute_block) {
                *state.attribute_blocks.entry(attribute_block).or_insert(0) += 1;
                attribute_sectors = block_size / 512;
            } else {
                state.report.add(
                    ProblemKind::BlockPointer,
                    Some(number),
                    format!("extended attribute block {attribute_block} outside the file system"),
                );
            }
        }
        let size = inode.size();
        let mut walk = Walk::default();
        if inode.has_block_map() {
            // An orphaned directory has no entries that count: its blocks
            // (ext2l frees them at once, Linux keeps them) are only claimed.
            let keep_map = file_type == FileType::Directory && !orphan;
            let mut map = Vec::new();
            self.walk_blocks(state, inode, &mut walk, keep_map.then_some(&mut map))?;
            if keep_map {
                if inode.flags().contains(InodeFlags::INDEX) && state.rules.dir_index {
                    state.indexed.insert(number);
                }
                state.directory_blocks.insert(number, map);
            }
        }
        let counted = walk.blocks * (block_size / 512) + attribute_sectors;
        if counted != u64::from(inode.sectors()) && !inode.flags().contains(InodeFlags::HUGE_FILE) {
            state.report.add(
                ProblemKind::Inode,
                Some(number),
                format!("i_blocks is {}, counted {}", inode.sectors(), counted),
            );
        }
        match file_type {
            FileType::RegularFile => {
                if let Some(last) = walk.last_logical {
                    if last >= size.div_ceil(block_size) {
                        state.report.add(
                            ProblemKind::Inode,
                            Some(number),
                            format!("blocks mapped past the end of the file (size {size})"),
                        );
                    }
                }
            }
            FileType::Directory if !orphan => {
                if size % block_size != 0 || size == 0 {
                    state.report.add(
                        ProblemKind::Inode,
                        Some(number),
                        format!(
                            "directory size {size} is not a positive multiple of the block size"
                        ),
                    );
                } else if walk.data_blocks != size / block_size
                    || walk.last_logical.map_or(0, |last| last + 1) != size / block_size
                {
                    state.report.add(
                        ProblemKind::Inode,
                        Some(number),
                        String::from("directory has holes or blocks past its size"),
                    );
                }
            }
            FileType::Symlink => {
                if size == 0 || size >= block_size {
                    state.report.add(
                        ProblemKind::Inode,
                        Some(number),
                        format!("symbolic link of impossible length {size}"),
                    );
                } else if inode.is_fast_symlink() {
                    // e2fsck: the text up to its NUL is exactly the size.
                    let area = inode.block_area();
                    let length = area
                        .iter()
                        .position(|&byte| byte == 0)
                        .unwrap_or(area.len());
                    if length as u64 != size {
                        state.report.add(
                            ProblemKind::Inode,
                            Some(number),
                            String::from("fast symbolic link whose text is not its size long"),
                        );
                    }
                } else if walk.data_blocks != 1
                    || (1..15).any(|index| inode.block_pointer(index) != 0)
                {
                    state.report.add(
                        ProblemKind::Inode,
                        Some(number),
                        String::from("slow symbolic link without exactly one block"),
                    );
                } else {
                    let block = inode.block_pointer(0);
                    if self.geometry.is_valid_block(block) {
                        let text = self.check_read(block)?;
                        let length = text
                            .iter()
                            .position(|&byte| byte == 0)
                            .unwrap_or(text.len());
                        if length as u64 != size {
                            state.report.add(
                                ProblemKind::Inode,
                                Some(number),
                                String::from("slow symbolic link whose text is not its size long"),
                            );
                        }
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Reserved inodes below `s_first_ino`: the bad-block list (1) and the
    /// journal (8) own blocks; the resize inode (7) must match the layout
    /// of `resize_inode.rs` and owns the reserved descriptor blocks
    /// already claimed as metadata, so only its double-indirect block is
    /// claimed.
    fn check_reserved_inode(&mut self, state: &mut State, inode: &Inode) -> Result<()> {
        let number = inode.number.get();
        let features = self.superblock.features();
        if number == InodeNumber::RESIZE.get()
            && features.compatible & CompatibleFeatures::RESIZE_INODE.bits() != 0
        {
            let geometry = self.geometry.clone();
            let problem = crate::resize_inode::layout_problem(&geometry, inode, |block| {
                self.check_read(block)
            })?;
            if let Some(problem) = problem {
                state.report.add(
                    ProblemKind::Inode,
                    Some(number),
                    format!("resize inode: {problem}"),
                );
            }
            let block = inode.block_pointer(crate::resize_inode::DOUBLE_INDIRECT_SLOT);
            if block != 0
                && self.geometry.is_valid_block(block)
                && state.used_blocks.set(block as usize)
            {
                state.report.add(
                    ProblemKind::SharedBlock,
                    Some(number),
                    format!("resize inode block {block} is also used elsewhere"),
                );
            }
            return Ok(());
        }
        let quota = features.read_only_compatible & ReadOnlyCompatibleFeatures::QUOTA.bits() != 0;
        let superblock = &self.superblock;
        let journal = features.compatible & CompatibleFeatures::HAS_JOURNAL.bits() != 0
            && superblock.journal_inode() == JOURNAL_INODE_NUMBER
            && superblock.journal_uuid() == [0; 16]
            && superblock.journal_device() == 0;
        if number == JOURNAL_INODE_NUMBER && !journal {
            // Not a journal: e2fsck wants it clear, and ignores it
            // otherwise (in use, it is the journal check's problem).
            if inode.links() == 0 && (inode.sectors() != 0 || inode.block_pointer(0) != 0) {
                state.report.add(
                    ProblemKind::Journal,
                    Some(number),
                    String::from("inode 8 is no journal but is not clear"),
                );
            }
            return Ok(());
        }
        if (number == 3 || number == 4) && !quota {
            // Quota inodes without the quota feature (which this library
            // does not implement): e2fsck wants them clear, and ignores
            // them otherwise.
            if inode.links() != 0 || inode.sectors() != 0 || inode.block_pointer(0) != 0 {
                state.report.add(
                    ProblemKind::Inode,
                    Some(number),
                    String::from("quota inode not clear without the quota feature"),
                );
            }
            return Ok(());
        }
        if number == InodeNumber::RESIZE.get()
            && (0..15).any(|index| inode.block_pointer(index) != 0)
        {
            state.report.add(
                ProblemKind::Inode,
                Some(number),
                String::from("the resize inode is in use without resize_inode"),
            );
            return Ok(());
        }
        // e2fsck's pass 1 runs `check_blocks` on every reserved inode, in
        // use or not: its index flag, attribute block and block map are
        // checked, its blocks claimed, and `i_blocks` and the size must
        // agree with what it keeps.
        let mut view = inode.clone();
        if number == 1 {
            // The bad-block inode has no mode; read its map as a file's.
            view.set_mode(crate::inode::mode::REGULAR);
        }
        let unused = view.file_type() == FileType::Unknown;
        if (!view.has_block_map() && !unused)
            || view
                .flags()
                .intersects(InodeFlags::EXTENTS | InodeFlags::INLINE_DATA)
        {
            return Ok(());
        }
        if number != 1 && inode.flags().contains(InodeFlags::INDEX) && !inode.is_directory() {
            state.report.add(
                ProblemKind::Inode,
                Some(number),
                String::from("reserved inode with the htree index flag"),
            );
        }
        let attribute_block = inode.file_acl();
        let mut attribute_sectors = 0;
        if number != 1 && attribute_block != 0 {
            if self.geometry.is_valid_block(attribute_block) && state.rules.ext_attr {
                *state.attribute_blocks.entry(attribute_block).or_insert(0) += 1;
                attribute_sectors = u64::from(self.geometry.block_size / 512);
            } else {
                state.report.add(
                    ProblemKind::BlockPointer,
                    Some(number),
                    format!(
                        "reserved inode's extended attribute block {attribute_block} is invalid"
                    ),
                );
            }
        }
        let mut walk = Walk::default();
        // Without a mode there is no block map (e2fsck's
        // `ext2fs_inode_has_valid_blocks2`): its pointers are not walked.
        if !unused && (0..15).any(|index| inode.block_pointer(index) != 0) {
            self.walk_blocks(state, &view, &mut walk, None)?;
        }
        if number == 1 {
            return Ok(());
        }
        let block_size = u64::from(self.geometry.block_size);
        let counted = walk.blocks * (block_size / 512) + attribute_sectors;
        let hurd = self
            .superblock
            .get_u32(crate::superblock::field::CREATOR_OS)
            == crate::rules::CREATOR_HURD;
        if !hurd && counted != u64::from(inode.sectors()) {
            state.report.add(
                ProblemKind::Inode,
                Some(number),
                format!(
                    "reserved inode's i_blocks is {}, counted {counted}",
                    inode.sectors()
                ),
            );
        }
        let pointers = u64::from(self.geometry.pointers_per_block());
        let largest = (12 + pointers + pointers * pointers + pointers * pointers * pointers)
            .saturating_mul(block_size);
        // e2fsck's `EXT2_I_SIZE`: the high word counts whatever the mode.
        let size = u64::from(inode.size_low_raw()) | (u64::from(inode.size_high_raw()) << 32);
        if size > largest {
            state.report.add(
                ProblemKind::Inode,
                Some(number),
                format!("reserved inode's i_size {size} is past what a block map holds"),
            );
        }
        Ok(())
    }

    /// Claims one data or indirect block; false when it must not be used.
    fn claim_block(&self, state: &mut State, walk: &mut Walk, inode: u32, block: u32) -> bool {
        if !self.geometry.is_valid_block(block) {
            walk.problems += 1;
            if walk.problems <= MAX_PROBLEMS_PER_INODE {
                state.report.add(
                    ProblemKind::BlockPointer,
                    Some(inode),
                    format!("block pointer {block} outside the file system"),
                );
            }
            return false;
        }
        walk.blocks += 1;
        if state.walking_bad_blocks
            && state.used_blocks.get(block as usize)
            && self.in_inode_table(block)
        {
            state.bad_table_blocks.insert(block);
            return false;
        }
        if state.used_blocks.set(block as usize) {
            walk.problems += 1;
            if walk.problems <= MAX_PROBLEMS_PER_INODE {
                state.report.add(
                    ProblemKind::SharedBlock,
                    Some(inode),
                    format!("block {block} is also used by another inode or by metadata"),
                );
            }
            return false;
        }
        true
    }

    /// Walks an inode's block map, claiming every block; `map` receives the
    /// device block of each logical block (directories).
    fn walk_blocks(
        &mut self,
        state: &mut State,
        inode: &Inode,
        walk: &mut Walk,
        mut map: Option<&mut Vec<Option<u32>>>,
    ) -> Result<()> {
        let number = inode.number.get();
        for index in 0..12u64 {
            let block = inode.block_pointer(index as usize);
            if block != 0 {
                self.record_data(state, walk, number, block, index, map.as_deref_mut());
            }
        }
        let pointers = u64::from(self.geometry.pointers_per_block());
        let mut base = 12u64;
        let mut span = pointers;
        for depth in 1..=3u32 {
            let block = inode.block_pointer(11 + depth as usize);
            if block != 0 {
                self.walk_indirect(state, walk, number, block, depth, base, map.as_deref_mut())?;
            }
            base += span;
            span *= pointers;
        }
        Ok(())
    }

    fn record_data(
        &self,
        state: &mut State,
        walk: &mut Walk,
        inode: u32,
        block: u32,
        logical: u64,
        map: Option<&mut Vec<Option<u32>>>,
    ) {
        let valid = self.claim_block(state, walk, inode, block);
        if self.geometry.is_valid_block(block) {
            walk.data_blocks += 1;
            walk.last_logical = Some(walk.last_logical.map_or(logical, |last| last.max(logical)));
        }
        if let Some(map) = map {
            // Directories are bounded by the device: never grow the map
            // past the number of blocks in the file system.
            if logical < u64::from(self.geometry.blocks_count) {
                let index = logical as usize;
                if map.len() <= index {
                    map.resize(index + 1, None);
                }
                if let Some(slot) = map.get_mut(index) {
                    *slot = if valid || self.geometry.is_valid_block(block) {
                        Some(block)
                    } else {
                        None
                    };
                }
            }
        }
    }

    #[allow(
        clippy::too_many_arguments,
        reason = "one level of a recursive walk and its bookkeeping"
    )]
    fn walk_indirect(
        &mut self,
        state: &mut State,
        walk: &mut Walk,
        inode: u32,
        block: u32,
        depth: u32,
        base: u64,
        mut map: Option<&mut Vec<Option<u32>>>,
    ) -> Result<()> {
        if !self.claim_block(state, walk, inode, block) {
            // Out of range or already claimed: descending again could loop.
            return Ok(());
        }
        let data = self.check_read(block)?;
        let pointers = u64::from(self.geometry.pointers_per_block());
        let child_span = pointers.pow(depth - 1);
        for index in 0..pointers {
            let child = read_u32(&data, index as usize * 4);
            if child == 0 {
                continue;
            }
            let child_base = base + index * child_span;
            if depth == 1 {
                self.record_data(state, walk, inode, child, child_base, map.as_deref_mut());
            } else {
                self.walk_indirect(
                    state,
                    walk,
                    inode,
                    child,
                    depth - 1,
                    child_base,
                    map.as_deref_mut(),
                )?;
            }
        }
        Ok(())
    }

    /// Extended attribute blocks: valid header, reference count matching the
    /// inodes that point at it, claimed once.
    fn check_attribute_blocks(&mut self, state: &mut State) -> Result<()> {
        let blocks: Vec<(u32, u32)> = state
            .attribute_blocks
            .iter()
            .map(|(&block, &count)| (block, count))
            .collect();
        for (block, count) in blocks {
            if state.used_blocks.set(block as usize) {
                state.report.add(
                    ProblemKind::SharedBlock,
                    None,
                    format!("extended attribute block {block} is also used as data or metadata"),
                );
                continue;
            }
            let data = self.check_read(block)?;
            if let Some(problem) = attribute_block_problem(&data) {
                state.report.add(
                    ProblemKind::Inode,
                    None,
                    format!("extended attribute block {block}: {problem}"),
                );
            } else if read_u32(&data, 4) != count {
                state.report.add(
                    ProblemKind::Inode,
                    None,
                    format!(
                        "extended attribute block {block} has reference count {}, but {count} inodes use it",
                        read_u32(&data, 4)
                    ),
                );
            }
        }
        Ok(())
    }

    fn check_directories(&mut self, state: &mut State) -> Result<()> {
        let filetype = self.geometry.filetype;
        let inodes_count = self.geometry.inodes_count;
        let block_size = u64::from(self.geometry.block_size);
        let directories: Vec<(u32, Vec<Option<u32>>)> =
            core::mem::take(&mut state.directory_blocks)
                .into_iter()
                .collect();
        let hash_settings = HashSettings::of(&self.superblock);
        for (directory, blocks) in directories {
            if state.indexed.contains(&directory) {
                let mapped: Vec<(u32, u32)> = blocks
                    .iter()
                    .enumerate()
                    .filter_map(|(logical, block)| block.map(|block| (logical as u32, block)))
                    .collect();
                let count = mapped.last().map_or(0, |&(logical, _)| logical + 1);
                let problem = index_problem(
                    &mapped,
                    count,
                    self.geometry.block_size as usize,
                    &hash_settings,
                    |block| self.check_read(block),
                )?;
                if let Some(problem) = problem {
                    state.report.add(
                        ProblemKind::DirectoryIndex,
                        Some(directory),
                        format!("invalid htree index: {problem}"),
                    );
                }
            }
            let mut names_here: Vec<(u32, u8)> = Vec::new();
            let mut record_index = 0usize;
            for (logical, device_block) in blocks.iter().enumerate() {
                let Some(device_block) = *device_block else {
                    continue;
                };
                let data = self.check_read(device_block)?;
                for entry in entries(&data, filetype, inodes_count) {
                    let entry = match entry {
                        Ok(entry) => entry,
                        Err(error) => {
                            let reason = match error {
                                crate::Error::Corrupt(corruption) => corruption.reason,
                                _ => "damaged record",
                            };
                            state.report.add(
                                ProblemKind::DirectoryEntry,
                                Some(directory),
                                format!(
                                    "block {device_block} (byte {}): {reason}",
                                    logical as u64 * block_size
                                ),
                            );
                            break;
                        }
                    };
                    let position = record_index;
                    record_index += 1;
                    // Without `filetype` the type byte is the high byte of
                    // an old 16-bit name length: 0 (e2fsck clears it).
                    if !filetype && data.get(entry.offset + 7).copied().unwrap_or(0) != 0 {
                        state.report.add(
                            ProblemKind::DirectoryEntry,
                            Some(directory),
                            format!(
                                "`{}` has a type byte on a volume without filetype",
                                String::from_utf8_lossy(entry.name)
                            ),
                        );
                    }
                    if logical == 0 && position < 2 {
                        let expected: &[u8] = if position == 0 { b"." } else { b".." };
                        let terminated = data
                            .get(entry.offset + 8 + expected.len())
                            .is_none_or(|&byte| byte == 0);
                        if entry.name == expected && entry.inode != 0 {
                            if !terminated {
                                state.report.add(
                                    ProblemKind::DirectoryEntry,
                                    Some(directory),
                                    format!(
                                        "`{}` is not NUL-terminated",
                                        String::from_utf8_lossy(expected)
                                    ),
                                );
                            }
                            if position == 0 && entry.record_length > 24 {
                                state.report.add(
                                    ProblemKind::DirectoryEntry,
                                    Some(directory),
                                    String::from("`.` record is longer than 24 bytes"),
                                );
                            }
                            if filetype
                                && entry.file_type != FileType::Directory.directory_entry_byte()
                            {
                                state.report.add(
                                    ProblemKind::DirectoryEntry,
                                    Some(directory),
                                    format!(
                                        "`{}` records type {}",
                                        String::from_utf8_lossy(expected),
                                        entry.file_type
                                    ),
                                );
                            }
                        }
                        if entry.name != expected || entry.inode == 0 {
                            state.report.add(
                                ProblemKind::DirectoryEntry,
                                Some(directory),
                                format!(
                                    "record {position} is not `{}`",
                                    String::from_utf8_lossy(expected)
                                ),
                            );
                        } else if position == 0 && entry.inode != directory {
                            state.report.add(
                                ProblemKind::DirectoryEntry,
                                Some(directory),
                                format!("`.` names inode {} instead of itself", entry.inode),
                            );
                        }
                        if entry.inode != 0 && entry.name == expected {
                            if position == 1 {
                                if let Some(slot) = state.dot_dot.get_mut(directory as usize) {
                                    *slot = entry.inode;
                                }
                            }
                            state.add_reference(entry.inode);
                            if !state.in_use(entry.inode) {
                                state.report.add(
                                    ProblemKind::DirectoryEntry,
                                    Some(directory),
                                    format!(
                                        "`{}` names unused inode {}",
                                        String::from_utf8_lossy(expected),
                                        entry.inode
                                    ),
                                );
                            }
                            continue;
                        }
                    }
                    if entry.inode == 0 {
                        continue;
                    }
                    if is_dot_or_dot_dot(entry.name) {
                        state.report.add(
                            ProblemKind::DirectoryEntry,
                            Some(directory),
                            format!("extra `{}` record", String::from_utf8_lossy(entry.name)),
                        );
                        continue;
                    }
                    if is_reserved_name(entry.name) {
                        state.report.add(
                            ProblemKind::ReservedName,
                            Some(directory),
                            format!(
                                "reserved name `{}` names inode {}",
                                String::from_utf8_lossy(entry.name),
                                entry.inode
                            ),
                        );
                    }
                    if entry.name.contains(&b'/')
                        || entry.name.contains(&0)
                        || entry.name.is_empty()
                    {
                        state.report.add(
                            ProblemKind::DirectoryEntry,
                            Some(directory),
                            format!(
                                "name {:?} contains `/` or NUL or is empty",
                                String::from_utf8_lossy(entry.name)
                            ),
                        );
                    }
                    if entry.inode < self.geometry.first_inode
                        && entry.inode != InodeNumber::ROOT.get()
                    {
                        state.report.add(
                            ProblemKind::DirectoryEntry,
                            Some(directory),
                            format!(
                                "`{}` names reserved inode {}",
                                String::from_utf8_lossy(entry.name),
                                entry.inode
                            ),
                        );
                        continue;
                    }
                    let target = state.facts(entry.inode);
                    match target.file_type {
                        None => {
                            state.report.add(
                                ProblemKind::DirectoryEntry,
                                Some(directory),
                                format!(
                                    "`{}` names unused inode {}",
                                    String::from_utf8_lossy(entry.name),
                                    entry.inode
                                ),
                            );
                            continue;
                        }
                        Some(file_type) => {
                            if filetype && entry.file_type != file_type.directory_entry_byte() {
                                state.report.add(
                                    ProblemKind::DirectoryEntry,
                                    Some(directory),
                                    format!(
                                        "`{}` records type {} but inode {} is {:?}",
                                        String::from_utf8_lossy(entry.name),
                                        entry.file_type,
                                        entry.inode,
                                        file_type
                                    ),
                                );
                            }
                        }
                    }
                    state.add_reference(entry.inode);
                    let name_start = state.names.len() as u32;
                    state.names.extend_from_slice(entry.name);
                    names_here.push((name_start, entry.name.len() as u8));
                    state.edges.push(Edge {
                        parent: directory,
                        child: entry.inode,
                        name_start,
                        name_length: entry.name.len() as u8,
                    });
                }
            }
            // Duplicate names inside one directory.
            let names = &state.names;
            let name_of = |&(start, length): &(u32, u8)| {
                names
                    .get(start as usize..start as usize + length as usize)
                    .unwrap_or(&[])
            };
            names_here.sort_by(|left, right| name_of(left).cmp(name_of(right)));
            let duplicates: Vec<String> = names_here
                .windows(2)
                .filter(|pair| name_of(&pair[0]) == name_of(&pair[1]))
                .map(|pair| String::from_utf8_lossy(name_of(&pair[0])).into_owned())
                .collect();
            for duplicate in duplicates {
                state.report.add(
                    ProblemKind::DirectoryEntry,
                    Some(directory),
                    format!("name `{duplicate}` appears twice"),
                );
            }
        }
        // `..` must name the directory itself or a directory naming it.
        let mut named_by: Vec<(u32, u32)> = state
            .edges
            .iter()
            .map(|edge| (edge.child, edge.parent))
            .collect();
        named_by.sort_unstable();
        let has_ext2l = self.superblock.features().has_ext2l();
        for directory in 1..state.dot_dot.len() as u32 {
            let parent = state.dot_dot.get(directory as usize).copied().unwrap_or(0);
            if parent == 0 || directory == InodeNumber::ROOT.get() {
                if directory == InodeNumber::ROOT.get() && parent != 0 && parent != directory {
                    state.report.add(
                        ProblemKind::DirectoryEntry,
                        Some(directory),
                        format!("the root's `..` names inode {parent}"),
                    );
                }
                continue;
            }
            let names_it = named_by.binary_search(&(directory, parent)).is_ok();
            let self_parent = parent == directory && has_ext2l;
            if !names_it && !self_parent {
                state.report.add(
                    ProblemKind::DirectoryEntry,
                    Some(directory),
                    format!("`..` names inode {parent}, which has no entry for this directory"),
                );
            }
        }
        Ok(())
    }

    fn check_rootlinks(&mut self, state: &mut State) {
        let has_ext2l = self.superblock.features().has_ext2l();
        for file in 1..state.facts.len() as u32 {
            let facts = state.facts(file);
            if facts.file_type != Some(FileType::RegularFile) || facts.rootlink == 0 {
                continue;
            }
            state.report.rootlinks += 1;
            if !has_ext2l {
                state.report.add(
                    ProblemKind::Superblock,
                    Some(file),
                    String::from("rootlink on a file system without the ext2l feature"),
                );
            }
            let target = facts.rootlink;
            if state.facts(target).file_type != Some(FileType::Directory) {
                state.report.add(
                    ProblemKind::Rootlink,
                    Some(file),
                    format!("rootlink names inode {target}, which is not a directory in use"),
                );
                continue;
            }
            state.add_reference(target);
        }
    }

    fn check_link_counts(&mut self, state: &mut State) {
        let has_ext2l = self.superblock.features().has_ext2l();
        let mut names: Vec<u32> = state
            .edges
            .iter()
            .filter(|edge| state.facts(edge.child).file_type == Some(FileType::Directory))
            .map(|edge| edge.child)
            .collect();
        names.sort_unstable();
        let mut index = 0;
        while index < names.len() {
            let directory = names[index];
            let mut end = index;
            while end < names.len() && names[end] == directory {
                end += 1;
            }
            if end - index > 1 {
                state.report.directory_hardlinks += 1;
                if !has_ext2l {
                    state.report.add(
                        ProblemKind::Superblock,
                        Some(directory),
                        format!(
                            "directory has {} names on a file system without the ext2l feature",
                            end - index
                        ),
                    );
                }
            }
            index = end;
        }
        let first_inode = self.geometry.first_inode;
        for inode in 1..state.facts.len() as u32 {
            let facts = state.facts(inode);
            if facts.file_type.is_none()
                || (inode < first_inode && inode != InodeNumber::ROOT.get())
            {
                continue;
            }
            let mut counted = state.references.get(inode as usize).copied().unwrap_or(0);
            if facts.file_type == Some(FileType::Directory) && counted > DIRECTORY_LINK_MAX {
                // More subdirectories than a link count holds: the count
                // is 1, with `dir_nlink` (as ext4 and e2fsck have it).
                let features = self.superblock.features().read_only_compatible;
                if features & ReadOnlyCompatibleFeatures::DIR_NLINK.bits() == 0 {
                    state.report.add(
                        ProblemKind::Superblock,
                        Some(inode),
                        format!("directory with {counted} links on a volume without dir_nlink"),
                    );
                }
                counted = 1;
            }
            if counted != u32::from(facts.links) {
                state.report.add(
                    ProblemKind::LinkCount,
                    Some(inode),
                    format!("link count is {}, counted {}", facts.links, counted),
                );
            }
        }
    }

    /// Walks from the root through entries and rootlinks, then from each
    /// orphan (through its rootlink); returns, for each inode reached, how
    /// it was reached (for paths).
    fn check_reachability(&mut self, state: &mut State) -> Vec<Step> {
        let slots = state.facts.len();
        let mut steps = vec![Step::None; slots];
        let mut by_parent: Vec<usize> = (0..state.edges.len()).collect();
        by_parent.sort_unstable_by_key(|&index| state.edges[index].parent);
        let mut queue = alloc::collections::VecDeque::new();
        let root = InodeNumber::ROOT.get();
        if state.in_use(root) {
            if let Some(step) = steps.get_mut(root as usize) {
                *step = Step::Root;
            }
            queue.push_back(root);
            walk_entries(state, &by_parent, &mut steps, &mut queue);
        }
        // An orphan is reached by the host's hold, and what its rootlink
        // names (a program's root) through it.
        let orphans = state.report.orphans.clone();
        for orphan in orphans {
            let orphan = orphan.get();
            if let Some(step @ Step::None) = steps.get_mut(orphan as usize) {
                *step = Step::Orphan;
            }
            follow_rootlink(state, orphan, &mut steps, &mut queue);
            walk_entries(state, &by_parent, &mut steps, &mut queue);
        }
        let first_inode = self.geometry.first_inode;
        for inode in first_inode..slots as u32 {
            if state.in_use(inode) && matches!(steps.get(inode as usize), Some(Step::None)) {
                state.report.add(
                    ProblemKind::Unreachable,
                    Some(inode),
                    String::from("in use but not reachable from the root or through a rootlink"),
                );
            }
        }
        steps
    }

    /// Finds directory cycles with an iterative depth-first search over
    /// directory-to-directory entries.
    fn check_cycles(&mut self, state: &mut State) {
        let mut by_parent: Vec<(u32, u32, usize)> = state
            .edges
            .iter()
            .enumerate()
            .filter(|(_, edge)| state.facts(edge.child).file_type == Some(FileType::Directory))
            .map(|(index, edge)| (edge.parent, edge.child, index))
            .collect();
        by_parent.sort_unstable();
        let slots = state.facts.len();
        // 0 unvisited, 1 on the stack, 2 done.
        let mut colour = vec![0u8; slots];
        let mut reported = 0u32;
        for start in 1..slots as u32 {
            if state.facts(start).file_type != Some(FileType::Directory)
                || colour[start as usize] != 0
            {
                continue;
            }
            let mut stack: Vec<(u32, usize)> =
                vec![(start, by_parent.partition_point(|edge| edge.0 < start))];
            colour[start as usize] = 1;
            while let Some(top) = stack.last_mut() {
                let (directory, cursor) = *top;
                match by_parent.get(cursor) {
                    Some(&(parent, child, edge_index)) if parent == directory => {
                        top.1 += 1;
                        match colour.get(child as usize).copied() {
                            Some(0) => {
                                colour[child as usize] = 1;
                                stack.push((
                                    child,
                                    by_parent.partition_point(|edge| edge.0 < child),
                                ));
                            }
                            Some(1) => {
                                reported += 1;
                                if reported <= 16 {
                                    let edge = state.edges[edge_index];
                                    let name = state
                                        .names
                                        .get(
                                            edge.name_start as usize
                                                ..edge.name_start as usize
                                                    + edge.name_length as usize,
                                        )
                                        .unwrap_or(&[]);
                                    state.report.add(
                                        ProblemKind::Cycle,
                                        Some(child),
                                        format!(
                                            "directory cycle: entry `{}` in directory {} leads back to it",
                                            String::from_utf8_lossy(name),
                                            directory
                                        ),
                                    );
                                }
                            }
                            _ => {}
                        }
                    }
                    _ => {
                        colour[directory as usize] = 2;
                        stack.pop();
                    }
                }
            }
        }
    }

    fn check_bitmaps(&mut self, state: &mut State) -> Result<()> {
        let geometry = self.geometry.clone();
        state.report.blocks_in_use = 0;
        let mut total_free_blocks = 0u64;
        let mut total_free_inodes = 0u64;
        for group in 0..geometry.group_count {
            let first = geometry.group_first_block(group);
            let count = geometry.group_block_count(group);
            let mut free = 0u32;
            for index in 0..count {
                if state.used_blocks.get((first + index) as usize) {
                    state.report.blocks_in_use += 1;
                } else {
                    free += 1;
                }
            }
            if let Some(slot) = state.computed_free_blocks.get_mut(group as usize) {
                *slot = free;
            }
            total_free_blocks += u64::from(free);
            if !self.groups.is_valid(group) {
                continue;
            }
            if !self.group_flag(group, GROUP_BLOCK_UNINIT) {
                let bitmap = self.check_read(self.groups.block_bitmap(group))?;
                let mut differences = Vec::new();
                let mut difference_count = 0u32;
                for index in 0..count {
                    let used = state.used_blocks.get((first + index) as usize);
                    if bit_is_set(&bitmap, index as usize) != used {
                        difference_count += 1;
                        if differences.len() < 10 {
                            differences.push(format!(
                                "{}{}",
                                if used { "+" } else { "-" },
                                first + index
                            ));
                        }
                    }
                }
                if difference_count > 0 {
                    state.report.add(
                        ProblemKind::BlockBitmap,
                        None,
                        format!(
                            "group {group}: {difference_count} block bitmap differences ({}{})",
                            differences.join(" "),
                            if difference_count > 10 { " …" } else { "" }
                        ),
                    );
                }
                let padding_clear = (count..geometry.block_size * 8)
                    .any(|index| !bit_is_set(&bitmap, index as usize));
                if padding_clear {
                    state.report.add(
                        ProblemKind::BlockBitmap,
                        None,
                        format!("group {group}: padding at the end of the block bitmap is not set"),
                    );
                }
            }
            if u32::from(self.groups.free_blocks(group)) != free {
                state.report.add(
                    ProblemKind::Counter,
                    None,
                    format!(
                        "group {group}: free block count is {}, counted {free}",
                        self.groups.free_blocks(group)
                    ),
                );
            }
            // Inodes.
            // In 64 bits: a hostile superblock may claim more inodes per
            // group times groups than 32 bits hold (only the total is bounded).
            let first_inode_number = u64::from(group) * u64::from(geometry.inodes_per_group) + 1;
            let mut free_inodes = 0u32;
            let mut directories = 0u32;
            let inode_bitmap = if self.group_flag(group, GROUP_INODE_UNINIT) {
                None
            } else {
                Some(self.check_read(self.groups.inode_bitmap(group))?)
            };
            let mut differences = Vec::new();
            let mut difference_count = 0u32;
            for index in 0..geometry.inodes_per_group {
                let number = first_inode_number + u64::from(index);
                if number > u64::from(geometry.inodes_count) {
                    break;
                }
                let number = number as u32;
                let used = number < geometry.first_inode
                    || state.in_use(number)
                    || state.bad_inodes.get(number as usize);
                if !used {
                    free_inodes += 1;
                }
                if state.facts(number).file_type == Some(FileType::Directory) {
                    directories += 1;
                }
                if let Some(bitmap) = &inode_bitmap {
                    let marked = bit_is_set(bitmap, index as usize);
                    if marked && !used && state.unlinked.get(number as usize) {
                        state.report.add(
                            ProblemKind::Orphan,
                            Some(number),
                            String::from("marked in use with no links, but not on the orphan list"),
                        );
                    }
                    if marked != used {
                        difference_count += 1;
                        if differences.len() < 10 {
                            differences.push(format!("{}{}", if used { "+" } else { "-" }, number));
                        }
                    }
                }
            }
            total_free_inodes += u64::from(free_inodes);
            if let Some(bitmap) = &inode_bitmap {
                let padding_clear = (geometry.inodes_per_group..geometry.block_size * 8)
                    .any(|index| !bit_is_set(bitmap, index as usize));
                if padding_clear {
                    state.report.add(
                        ProblemKind::InodeBitmap,
                        None,
                        format!("group {group}: padding at the end of the inode bitmap is not set"),
                    );
                }
            }
            if difference_count > 0 {
                state.report.add(
                    ProblemKind::InodeBitmap,
                    None,
                    format!(
                        "group {group}: {difference_count} inode bitmap differences ({}{})",
                        differences.join(" "),
                        if difference_count > 10 { " …" } else { "" }
                    ),
                );
            }
            if inode_bitmap.is_some() {
                if u32::from(self.groups.free_inodes(group)) != free_inodes {
                    state.report.add(
                        ProblemKind::Counter,
                        None,
                        format!(
                            "group {group}: free inode count is {}, counted {free_inodes}",
                            self.groups.free_inodes(group)
                        ),
                    );
                }
                if u32::from(self.groups.used_directories(group)) != directories {
                    state.report.add(
                        ProblemKind::Counter,
                        None,
                        format!(
                            "group {group}: directory count is {}, counted {directories}",
                            self.groups.used_directories(group)
                        ),
                    );
                }
            }
        }
        if u64::from(self.superblock.free_blocks_count()) != total_free_blocks {
            state.report.add(
                ProblemKind::Counter,
                None,
                format!(
                    "superblock free block count is {}, counted {total_free_blocks}",
                    self.superblock.free_blocks_count()
                ),
            );
        }
        if u64::from(self.superblock.free_inodes_count()) != total_free_inodes {
            state.report.add(
                ProblemKind::Counter,
                None,
                format!(
                    "superblock free inode count is {}, counted {total_free_inodes}",
                    self.superblock.free_inodes_count()
                ),
            );
        }
        Ok(())
    }
}

/// Breadth-first walk from the directories in `queue` through entries
/// (and the rootlinks of the regular files met), recording how each inode
/// was first reached.
fn walk_entries(
    state: &State,
    by_parent: &[usize],
    steps: &mut [Step],
    queue: &mut alloc::collections::VecDeque<u32>,
) {
    while let Some(directory) = queue.pop_front() {
        let start = by_parent.partition_point(|&index| state.edges[index].parent < directory);
        for &edge_index in by_parent.get(start..).unwrap_or(&[]) {
            let edge = state.edges[edge_index];
            if edge.parent != directory {
                break;
            }
            let child = edge.child as usize;
            if !matches!(steps.get(child), Some(Step::None)) {
                continue;
            }
            steps[child] = Step::Entry(edge_index as u32);
            match state.facts(edge.child).file_type {
                Some(FileType::Directory) => queue.push_back(edge.child),
                Some(FileType::RegularFile) => follow_rootlink(state, edge.child, steps, queue),
                _ => {}
            }
        }
    }
}

/// Queues the directory `file`'s rootlink names, if it has one not yet
/// reached.
fn follow_rootlink(
    state: &State,
    file: u32,
    steps: &mut [Step],
    queue: &mut alloc::collections::VecDeque<u32>,
) {
    let facts = state.facts(file);
    if facts.file_type != Some(FileType::RegularFile) || facts.rootlink == 0 {
        return;
    }
    let target = facts.rootlink;
    if state.facts(target).file_type == Some(FileType::Directory) {
        if let Some(step @ Step::None) = steps.get_mut(target as usize) {
            *step = Step::Rootlink(file);
            queue.push_back(target);
        }
    }
}

/// How the reachability walk first reached an inode.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Not reached.
    None,
    /// The root itself.
    Root,
    /// An orphan on the orphan list (held by a host, no name).
    Orphan,
    /// Through edge number `n`.
    Entry(u32),
    /// Through the rootlink of the given file.
    Rootlink(u32),
}

/// The path by which the walk reached `inode`, if it did.
fn path_of(inode: u32, steps: &[Step], edges: &[Edge], names: &[u8]) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    let mut current = inode;
    // Each step moves to an inode reached earlier, so the chain is at most
    // as long as the number of inodes; the bound only guards against bugs.
    for _ in 0..steps.len() {
        match steps.get(current as usize).copied().unwrap_or(Step::None) {
            Step::None => return None,
            step @ (Step::Root | Step::Orphan) => {
                parts.reverse();
                let mut path = String::new();
                if step == Step::Orphan {
                    path = format!("<orphan {current}>");
                }
                for part in &parts {
                    if !part.starts_with('<') {
                        path.push('/');
                    }
                    path.push_str(part);
                }
                if path.is_empty() {
                    path.push('/');
                }
                return Some(path);
            }
            Step::Entry(index) => {
                let edge = edges.get(index as usize)?;
                let name = names
                    .get(
                        edge.name_start as usize
                            ..edge.name_start as usize + edge.name_length as usize,
                    )
                    .unwrap_or(&[]);
                parts.push(String::from_utf8_lossy(name).into_owned());
                current = edge.parent;
            }
            Step::Rootlink(file) => {
                parts.push(format!("<rootlink of {file}>"));
                current = file;
            }
        }
    }
    None
}
