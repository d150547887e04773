// SPDX-License-Identifier: MIT OR Apache-2.0
//! The ext2l repair: the fsck that fixes what the checker finds.
//!
//! Stock `e2fsck` refuses ext2l volumes, so this module is their `e2fsck
//! -y`. Where ext2 and ext2l agree it makes e2fsck's decisions (e2fsprogs
//! 1.47, `e2fsck/pass*.c`, read for behaviour, not copied), so that a
//! plain ext2 volume it repairs is one `e2fsck -fn` finds nothing in and
//! keeps the files e2fsck's own repair keeps; on a volume with the ext2l
//! feature it keeps what ext2l adds (DESIGN §4): rootlinks, directory
//! hardlinks, immutable flags. [`FileSystem::mount_and_repair`] is the
//! whole repair (what prevents a mount first, then the passes);
//! [`FileSystem::repair`] runs the passes on a volume already mounted.
//!
//! Like e2fsck it works from what it finds, not from the bitmaps: the
//! passes record which blocks and inodes are in use (one bit per block, a
//! few words per inode and per directory entry, bounded by validated
//! on-disk counts), fix what they meet, allocate what they need from that
//! record, and only the last pass writes bitmaps and counters from it.
//!
//! - `prepare` (before the mount): a primary superblock that does not
//!   describe a file system, or damaged group descriptors, are replaced
//!   by group 1's backups; a journal that needs recovery but cannot be
//!   read is removed (and made again after pass 5);
//! - `journal`: an invalid journal is cleared (and made again after pass
//!   5), a journal in another inode moves to inode 8, a stale backup of
//!   its block map is rewritten; `orphans`: what a damaged orphan list
//!   still names is truncated as ext3 would, and the list is cut;
//! - `layout` (pass 0): bitmaps and inode tables outside their group or
//!   overlapping other metadata are moved (after pass 1, into blocks it
//!   found free), `uninit_bg` flags without group checksums are cleared,
//!   superblock fields e2fsck refuses are reset;
//! - `inodes` (pass 1): every inode's fields and block map — illegal
//!   pointers cleared, sizes and `i_blocks` recomputed, inodes e2fsck
//!   would clear (bad mode, bad device, bad symlink, extents, inline
//!   data, too many illegal blocks, empty directories) cleared;
//!   `attributes` checks extended attribute blocks and their counts;
//! - `duplicates` (pass 1b): blocks claimed twice are cloned, the last
//!   claimer (and metadata, and the bad-block list) keeping the original;
//! - `directories` (pass 2): every directory block is parsed as e2fsck
//!   parses it, damaged records salvaged, `.` and `..` restored, entries
//!   naming nothing, reserved inodes, the root or the directory itself
//!   removed, types and names fixed, holes filled; duplicate and reserved
//!   dot-only names renamed (`names`); an htree index e2fsck would clear
//!   loses its flag (`indexes`);
//! - `connect` (pass 3): the root is made again if it is gone, directory
//!   cycles are broken, directories nothing reaches are reconnected to
//!   `/lost+found` (made when needed), `..` fixed;
//! - `links` (pass 4): inodes no entry names are reconnected (or, when
//!   empty, cleared) and link counts set to what was counted;
//! - `resize` (in pass 1, and before pass 5): a resize inode that does
//!   not match the layout of `resize_inode.rs` is cleared and made again
//!   from the geometry, after pass 1b has given any file sharing a
//!   reserved descriptor block its own copy;
//! - `bitmaps` (pass 5): bitmaps, padding and every counter written from
//!   what the passes found.
//!
//! A round of passes is followed by the checker; while it finds damage
//! and the round changed something, another round runs (at most
//! [`MAX_ROUNDS`]). Every change is logged ([`RepairReport`]); paths are
//! filled in from the repaired tree (`paths`).
//!
//! What it never does: drop a valid rootlink, a valid directory hardlink
//! or a valid immutable flag (on an ext2l volume); free a block or an
//! inode something valid still uses; write while the host holds inodes
//! (their handles would go stale). The work is bounded like the
//! checker's: each pass visits each inode, block or entry a bounded
//! number of times, and indirect trees shared between inodes are walked
//! again only within a budget of the volume's block count.

mod attributes;
mod bitmaps;
mod connect;
mod directories;
mod duplicates;
mod indexes;
mod inodes;
mod journal;
mod layout;
mod links;
mod names;
mod orphans;
mod paths;
mod prepare;
mod report;
mod resize;
mod space;

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::format;
use alloc::vec;
use alloc::vec::Vec;

use crate::check::ProblemKind;
use crate::device::BlockDevice;
use crate::error::{Error, Result};
use crate::features::{CompatibleFeatures, ReadOnlyCompatibleFeatures};
use crate::filesystem::{layout_read_only_reason, FileSystem, MountOptions};
use crate::inode::FileType;
use crate::journal::default_journal_blocks;
use crate::state::{OnDamage, ERRORS_RECORDED, JOURNAL_UNUSABLE};
use crate::superblock::{STATE_ERRORS, STATE_VALID};

pub(crate) use report::RepairLog;
pub use report::{Repair, RepairReport, MAX_REPAIRS};

/// Most rounds of passes one repair runs.
pub const MAX_ROUNDS: u32 = 3;

/// The reason a mount gives when it was asked to be read-only: the one
/// read-only mount a repair never writes through.
const READ_ONLY_ON_REQUEST: &str = "mounted read-only on request";
/// The reason of a mount whose repair stopped on an error.
const REPAIR_STOPPED: &str = "the repair stopped on an error; the volume needs another";

/// `InodeRecord::flags`: the inode lies in an inode-table block on the
/// bad-block list, so it is unusable (e2fsck's `inode_bb_map`).
const IN_BAD_BLOCK: u8 = 0x1;
/// `InodeRecord::flags`: an inode whose extended attributes (in the inode
/// body) make e2fsck keep it even when it is empty and unnamed.
const HAS_INODE_ATTRIBUTES: u8 = 0x2;

/// What the passes know about one inode.
#[derive(Clone, Copy, Debug, Default)]
struct InodeRecord {
    /// Its type, when it is in use (`None`: free or cleared).
    file_type: Option<FileType>,
    /// `i_links_count` as stored.
    links: u16,
    /// References found: entries naming it (`.` and `..` included) and
    /// rootlinks to it.
    counted: u32,
    /// A regular file's rootlink target (ext2l volumes; 0: none).
    rootlink: u32,
    /// A directory's `..` as found in pass 2 (0: none).
    dot_dot: u32,
    /// A directory's parent: the directory whose entry named it first
    /// (pass 2), or where pass 3 reconnected it (0: none).
    parent: u32,
    /// `IN_BAD_BLOCK`, `HAS_INODE_ATTRIBUTES`.
    flags: u8,
}

/// A plain bitmap over `0..length`; bits past the end read as set.
#[derive(Clone, Debug)]
struct BlockSet {
    words: Vec<u64>,
    length: usize,
}

impl BlockSet {
    fn new(length: usize) -> BlockSet {
        BlockSet {
            words: vec![0; length.div_ceil(64)],
            length,
        }
    }

    fn get(&self, index: u32) -> bool {
        let index = index as usize;
        if index >= self.length {
            return true;
        }
        self.words
            .get(index / 64)
            .is_some_and(|word| word & (1 << (index % 64)) != 0)
    }

    /// Sets the bit; returns whether it was already set.
    fn set(&mut self, index: u32) -> bool {
        let index = index as usize;
        if index >= self.length {
            return true;
        }
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

    fn clear(&mut self, index: u32) {
        let index = index as usize;
        if let Some(word) = self.words.get_mut(index / 64) {
            *word &= !(1 << (index % 64));
        }
    }
}

/// One block of a directory, as pass 1 found it (`physical` 0: a hole
/// pass 2 fills).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct DirectoryBlock {
    inode: u32,
    logical: u32,
    physical: u32,
}

/// An entry naming a directory (other than `.` and `..`), kept by pass 2
/// for pass 3's reachability walk and cycle search.
#[derive(Clone, Copy, Debug)]
struct DirectoryEdge {
    parent: u32,
    child: u32,
    /// Where the entry is: device block and byte offset.
    block: u32,
    offset: u32,
}

/// Group metadata pass 0 found unusable, moved after pass 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Relocation {
    group: u32,
    what: TableKind,
    /// Whether the old contents are copied (the old place is inside the
    /// file system, only shared) or zeros written (it is not).
    copy: bool,
}

/// Which per-group structure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum TableKind {
    BlockBitmap,
    InodeBitmap,
    InodeTable,
}

impl TableKind {
    fn name(self) -> &'static str {
        match self {
            TableKind::BlockBitmap => "block bitmap",
            TableKind::InodeBitmap => "inode bitmap",
            TableKind::InodeTable => "inode table",
        }
    }
}

/// One round of passes over a mounted file system, and what they share.
struct Repairer<'a, D: BlockDevice> {
    fs: &'a mut FileSystem<D>,
    log: &'a mut RepairLog,
    /// The time written as a deletion or change time.
    now: u32,
    /// Whether the volume carries the ext2l feature: then rootlinks,
    /// directory hardlinks and immutable special files are valid.
    ext2l: bool,
    inodes: Vec<InodeRecord>,
    /// Blocks found in use: metadata, and every block an inode keeps.
    claimed: BlockSet,
    /// Fixed metadata (superblock and descriptor copies, bitmaps, inode
    /// tables): a file sharing one of these gives it up.
    metadata: BlockSet,
    /// Blocks claimed more than once: the number of extra claims.
    duplicates: BTreeMap<u32, u32>,
    /// Blocks on the bad-block list (inode 1) that it keeps.
    bad_blocks: BTreeSet<u32>,
    /// Extended attribute blocks in use: references counted so far.
    attribute_blocks: BTreeMap<u32, u32>,
    directory_blocks: Vec<DirectoryBlock>,
    edges: Vec<DirectoryEdge>,
    relocations: Vec<Relocation>,
    /// Groups whose inode table is unusable until moved: their inodes are
    /// not read.
    unreadable_tables: BTreeSet<u32>,
    /// A journal cleared by the journal pass, to make again after pass 5
    /// (its size in blocks).
    journal_to_create: Option<u32>,
    /// Why the resize inode was cleared by pass 1, to make it again
    /// before pass 5 (`resize.rs`).
    resize_inode_to_create: Option<alloc::string::String>,
    /// `/lost+found`, once looked up or made.
    lost_and_found: Option<u32>,
    /// Walks of indirect blocks already claimed by another inode still
    /// allowed (bounds the work of a hostile, shared block tree).
    shared_walk_budget: u64,
    /// Where the search for a free block starts next.
    next_free_block: u32,
}

impl<'a, D: BlockDevice> Repairer<'a, D> {
    fn new(fs: &'a mut FileSystem<D>, log: &'a mut RepairLog) -> Self {
        let blocks = fs.geometry.blocks_count as usize;
        let slots = fs.geometry.inodes_count as usize + 1;
        let ext2l = fs.superblock.features().has_ext2l();
        let now = repair_time(fs);
        let budget = u64::from(fs.geometry.blocks_count).saturating_mul(2);
        Repairer {
            fs,
            log,
            now,
            ext2l,
            inodes: vec![InodeRecord::default(); slots],
            claimed: BlockSet::new(blocks),
            metadata: BlockSet::new(blocks),
            duplicates: BTreeMap::new(),
            bad_blocks: BTreeSet::new(),
            attribute_blocks: BTreeMap::new(),
            directory_blocks: Vec::new(),
            edges: Vec::new(),
            relocations: Vec::new(),
            unreadable_tables: BTreeSet::new(),
            journal_to_create: None,
            resize_inode_to_create: None,
            lost_and_found: None,
            shared_walk_budget: budget,
            next_free_block: 0,
        }
    }

    /// Records a change.
    fn fixed(&mut self, kind: ProblemKind, inode: Option<u32>, action: alloc::string::String) {
        self.log.add(kind, inode, action);
    }

    fn record(&self, inode: u32) -> InodeRecord {
        self.inodes.get(inode as usize).copied().unwrap_or_default()
    }

    fn record_mut(&mut self, inode: u32) -> Option<&mut InodeRecord> {
        self.inodes.get_mut(inode as usize)
    }

    fn in_use(&self, inode: u32) -> bool {
        self.record(inode).file_type.is_some()
    }

    fn is_directory(&self, inode: u32) -> bool {
        self.record(inode).file_type == Some(FileType::Directory)
    }

    /// Adds `delta` to the references counted for `inode`.
    fn count_reference(&mut self, inode: u32, delta: i32) {
        if let Some(record) = self.record_mut(inode) {
            record.counted = if delta < 0 {
                record.counted.saturating_sub(delta.unsigned_abs())
            } else {
                record.counted.saturating_add(delta as u32)
            };
        }
    }

    /// One round: every pass in order.
    fn run(&mut self) -> Result<()> {
        self.check_journal()?;
        self.cut_orphan_list()?;
        self.check_group_flags();
        self.check_superblock_fields();
        // Pass 1 again after an inode table moved (its inodes are new),
        // at most once per group.
        let mut restarts = 0;
        loop {
            self.reset_for_pass_one();
            self.mark_table_blocks()?;
            self.check_inodes()?;
            let moved_table = self.relocate_tables()?;
            if !moved_table || restarts > self.fs.geometry.group_count {
                break;
            }
            restarts += 1;
        }
        self.check_rootlinks()?;
        self.adjust_attribute_counts()?;
        self.resolve_duplicates()?;
        // The volume is marked in use on the disk (valid bit cleared) only
        // now: pass 1b copies shared blocks as they are on the disk, as
        // e2fsck does, and a file sharing the superblock's block gets the
        // superblock as it was. Little of the repair reached the disk
        // before: its changes wait in the cache for the round's sync,
        // unless the cache must evict them.
        self.fs.mark_in_use()?;
        self.check_directories()?;
        self.check_connectivity()?;
        self.check_link_counts()?;
        self.create_resize_inode()?;
        self.write_bitmaps()?;
        self.create_journal()?;
        Ok(())
    }

    /// Forgets what a previous pass 1 found.
    fn reset_for_pass_one(&mut self) {
        let blocks = self.fs.geometry.blocks_count as usize;
        for record in self.inodes.iter_mut() {
            *record = InodeRecord::default();
        }
        self.claimed = BlockSet::new(blocks);
        self.metadata = BlockSet::new(blocks);
        self.duplicates.clear();
        self.bad_blocks.clear();
        self.attribute_blocks.clear();
        self.directory_blocks.clear();
        self.edges.clear();
        self.relocations.clear();
        self.unreadable_tables.clear();
        self.shared_walk_budget = u64::from(self.fs.geometry.blocks_count).saturating_mul(2);
        self.next_free_block = 0;
    }
}

/// The time the repair writes (deletion times above all): the clock, or,
/// when it reads as a time e2fsck would take for an orphan-list link
/// (below the inode count), the newest time the superblock records.
fn repair_time<D: BlockDevice>(fs: &FileSystem<D>) -> u32 {
    let clock = fs.now();
    let inodes = fs.geometry.inodes_count;
    if clock >= inodes {
        return clock;
    }
    let (mount, write, mkfs, _) = fs.superblock.times();
    mount.max(write).max(mkfs).max(inodes)
}

impl<D: BlockDevice> FileSystem<D> {
    /// Repairs the volume on `device`: first what keeps it from mounting
    /// (a primary superblock that does not describe a file system, damaged
    /// group descriptors: group 1's backups replace them), then a
    /// read-write mount (which replays a journal that needs recovery and
    /// frees the orphans on the orphan list; damage it meets is only
    /// recorded), then [`Self::repair`]. The file system is returned
    /// mounted and synced, set up as [`Self::repair`] leaves it under
    /// `options` (its [`MountOptions::on_damage`] included); each line of
    /// [`RepairReport::repairs`] is one repair, for a console.
    ///
    /// Return values:
    /// - the file system and what was repaired (see
    ///   [`RepairReport::is_clean`]);
    /// - [`Error::ReadOnly`] when `options` asks for a read-only mount, or
    ///   the volume has features this library cannot write;
    /// - the errors of [`Self::mount`] when even the backups do not make
    ///   it mountable ([`Error::Corrupt`], [`Error::Unsupported`]);
    /// - [`Error::NoSpace`] when a repair needs a block or inode and none
    ///   is left; [`Error::Device`].
    pub fn mount_and_repair(
        mut device: D,
        options: MountOptions,
    ) -> Result<(FileSystem<D>, RepairReport)> {
        if options.read_only {
            return Err(Error::ReadOnly);
        }
        let mut log = RepairLog::default();
        prepare::prepare_device(&mut device, &mut log)?;
        let journal_removed = prepare::drop_unreadable_journal(&mut device, &mut log)?;
        // Damage must not stop the repair: the mount neither turns a
        // volume that records errors read-only nor checks an unclean one
        // (the repair does both), and damage met while it frees the
        // orphans is only recorded.
        let repair_options = MountOptions {
            clean_orphans: true,
            on_damage: OnDamage::Continue,
            ..options
        };
        let mut file_system = FileSystem::mount(device, repair_options)?;
        if let Some(recovery) = file_system.recovery_report() {
            log.add(
                ProblemKind::Journal,
                None,
                format!(
                    "replayed the journal: {} transactions, {} blocks written",
                    recovery.scan.transactions.len(),
                    recovery.blocks_replayed
                ),
            );
        }
        let cleaned = file_system.orphans.cleaned();
        if cleaned > 0 {
            log.add(
                ProblemKind::Orphan,
                None,
                format!("freed the {cleaned} inodes on the orphan list"),
            );
        }
        let report = file_system.repair_logged(log, options.on_damage, journal_removed)?;
        Ok((file_system, report))
    }

    /// Repairs the mounted volume (see the module doc): rounds of passes
    /// until the checker finds nothing or a round changes nothing.
    ///
    /// The repair writes in place, as e2fsck does: a journal in use is
    /// committed, emptied and set aside first, and damage it meets is
    /// only recorded. Afterwards the volume is synced and, when the
    /// checker finds it clean, marked clean (no errors bit, valid bit
    /// set, as after a clean unmount); the mount then goes on as a fresh
    /// mount would: journaling again, or read-only for a layout this
    /// library does not write (revision 0, blocks above 4 KiB), or, still
    /// damaged under [`OnDamage::ReadOnly`], read-only with the errors bit
    /// set. A volume mounted read-only on request is not written.
    ///
    /// Return values:
    /// - what was repaired, with the checker's report afterwards;
    /// - [`Error::ReadOnly`] on a read-only mount the repair may not
    ///   write (on request, blocks above 4 KiB, features this library
    ///   cannot write) unless the volume is clean;
    /// - [`Error::NotPermitted`] while the host holds inodes (a repair
    ///   may renumber or free what they refer to);
    /// - [`Error::NoSpace`] when a repair needs a block or inode and none
    ///   is left; [`Error::Device`]. After an error the mount is
    ///   read-only.
    pub fn repair(&mut self) -> Result<RepairReport> {
        let on_damage = self.on_damage;
        self.repair_logged(RepairLog::default(), on_damage, false)
    }

    /// The repair (see [`Self::repair`]); `journal_removed`: the journal
    /// was removed before the mount and a new one is to be made.
    fn repair_logged(
        &mut self,
        mut log: RepairLog,
        on_damage: OnDamage,
        journal_removed: bool,
    ) -> Result<RepairReport> {
        if let Some(reason) = self.read_only_reason {
            let features = self.superblock.features();
            if reason == READ_ONLY_ON_REQUEST
                || self.geometry.block_size > 4096
                || !features.write_blockers().is_empty()
                || !features.unsupported().is_empty()
            {
                // Nothing may be written: a volume the checker finds
                // clean needs nothing, any other cannot be repaired here.
                let check = self.check()?;
                if check.is_clean() && log.total() == 0 {
                    return Ok(RepairReport {
                        check,
                        ..RepairReport::default()
                    });
                }
                return Err(Error::ReadOnly);
            }
        }
        if !self.held.is_empty() {
            return Err(Error::NotPermitted);
        }
        // Every other reason to be read-only (revision 0, damaged
        // descriptors, errors recorded or found, a journal that cannot
        // be used) is what the repair is for.
        self.read_only_reason = None;
        self.cache.freeze_write_back(false);
        self.on_damage = OnDamage::Continue;
        let outcome = self
            .stop_journal()
            .and_then(|()| self.repair_rounds(&mut log, journal_removed));
        self.on_damage = on_damage;
        let (rounds, check) = match outcome {
            Ok(outcome) => outcome,
            Err(error) => {
                self.read_only_reason = Some(REPAIR_STOPPED);
                return Err(error);
            }
        };
        if let Err(error) = self.resume_after_repair(check.is_clean()) {
            self.read_only_reason = Some(REPAIR_STOPPED);
            return Err(error);
        }
        let mut report = RepairReport {
            repairs: log.repairs,
            omitted: log.omitted,
            rounds,
            check,
        };
        paths::fill_paths(self, &mut report.repairs)?;
        Ok(report)
    }

    /// After the passes: the volume marked clean (or as having errors),
    /// synced, and the mount set up as a fresh mount would be (see
    /// [`Self::repair`]).
    ///
    /// Return values: `Ok(())`, or [`Error::Device`].
    fn resume_after_repair(&mut self, clean: bool) -> Result<()> {
        if clean {
            self.damage = None;
            self.superblock.set_state_bits(STATE_ERRORS, false);
            self.superblock.set_state_bits(STATE_VALID, true);
        } else {
            self.superblock.set_state_bits(STATE_ERRORS, true);
        }
        self.superblock_dirty = true;
        self.sync()?;
        // A clean volume is as a clean unmount leaves it: the next change
        // marks it in use again (and, with a journal, sets
        // `needs_recovery` before its first commit).
        self.marked_in_use = !clean;
        let features = self.superblock.features();
        self.read_only_reason = layout_read_only_reason(&self.geometry, &features, &self.groups);
        if self.read_only_reason.is_some() {
            return Ok(());
        }
        if !clean && self.on_damage == OnDamage::ReadOnly {
            self.read_only_reason = Some(ERRORS_RECORDED);
            return Ok(());
        }
        if features.compatible & CompatibleFeatures::HAS_JOURNAL.bits() != 0 {
            match self.start_journal() {
                Ok(()) => {}
                Err(Error::Device(error)) => return Err(Error::Device(error)),
                Err(_) => self.read_only_reason = Some(JOURNAL_UNUSABLE),
            }
        }
        Ok(())
    }

    fn repair_rounds(
        &mut self,
        log: &mut RepairLog,
        journal_removed: bool,
    ) -> Result<(u32, crate::CheckReport)> {
        let mut rounds = 0;
        loop {
            rounds += 1;
            let before = log.total();
            let mut repairer = Repairer::new(self, log);
            if journal_removed && rounds == 1 {
                repairer.journal_to_create =
                    default_journal_blocks(repairer.fs.geometry.blocks_count);
            }
            repairer.run()?;
            self.sync()?;
            let check = self.check()?;
            if check.is_clean() || log.total() == before || rounds >= MAX_ROUNDS {
                return Ok((rounds, check));
            }
        }
    }

    /// Sets the `dir_nlink` feature (a directory with more subdirectories
    /// than a link count holds counts 1, as e2fsck does).
    fn mark_dir_nlink(&mut self) {
        let features = self.superblock.features();
        if features.read_only_compatible & ReadOnlyCompatibleFeatures::DIR_NLINK.bits() == 0 {
            self.superblock
                .set_read_only_compatible(ReadOnlyCompatibleFeatures::DIR_NLINK, true);
            self.superblock_dirty = true;
        }
    }
}
