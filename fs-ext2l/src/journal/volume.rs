// SPDX-License-Identifier: MIT OR Apache-2.0
//! A volume's journal: finding it, recovering it, describing it.
//!
//! The volume's superblock says where the journal is: `has_journal`, then
//! an internal journal in inode `s_journal_inum` (8) with a zero
//! `s_journal_uuid`, or an external one (refused here). Recovery happens
//! before the file system is mounted, so this module reads what it needs —
//! superblock, geometry, group descriptors, the journal inode, its block
//! map — straight from the device, with the same validation as a mount.
//!
//! [`recover`] replays in place, in the order that keeps a crash during
//! recovery harmless (recovery is idempotent: replaying again writes the
//! same blocks): the home blocks, a flush, the journal superblock marked
//! empty (`s_start` 0, sequence after the replayed log, as e2fsck leaves
//! it), a flush, then the file system superblock re-read — a transaction
//! may have rewritten it, and a journaled copy of it carries the flag —
//! with `needs_recovery` cleared, and a flush. The mount calls the same
//! code through `recover_at_mount`, which also decides what a mount does
//! with the flag (see the `journal` module doc).

use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use crate::device::BlockDevice;
use crate::error::{Error, Result};
use crate::features::{CompatibleFeatures, FeatureSet, IncompatibleFeatures};
use crate::filesystem::FileSystem;
use crate::group::GroupTable;
use crate::inode::{Inode, InodeNumber, INODE_BUFFER_SIZE};
use crate::superblock::{Geometry, Superblock, EXT2_MAGIC, SUPERBLOCK_OFFSET, SUPERBLOCK_SIZE};

use super::map::JournalMap;
use super::recovery::{
    recovered_superblock, replay, scan_log, LogScan, RecoveryReport, ReplayTarget,
};
use super::superblock::{JournalSuperblock, MIN_JOURNAL_BLOCKS};
use super::writer::Journal;
use super::{read_superblock, JOURNAL_INODE};

/// What the volume's superblock says about its journal.
enum Location {
    /// `has_journal` is clear.
    None,
    /// An internal journal in this inode.
    Internal(u32),
    /// A journal on another device.
    External,
}

fn location(superblock: &Superblock) -> Location {
    let features = superblock.features();
    if features.compatible & CompatibleFeatures::HAS_JOURNAL.bits() == 0 {
        Location::None
    } else if superblock.journal_uuid() != [0; 16] || superblock.journal_inode() == 0 {
        Location::External
    } else {
        Location::Internal(superblock.journal_inode())
    }
}

/// The refusal of a volume whose journal is on another device.
fn external_journal(superblock: &Superblock) -> Error {
    let features = superblock.features();
    Error::Unsupported {
        features: FeatureSet {
            compatible: features.compatible & CompatibleFeatures::HAS_JOURNAL.bits(),
            incompatible: features.incompatible & IncompatibleFeatures::RECOVER.bits(),
            read_only_compatible: 0,
        },
    }
}

/// Whether the volume's `needs_recovery` flag is set.
fn needs_recovery(superblock: &Superblock) -> bool {
    superblock.features().incompatible & IncompatibleFeatures::RECOVER.bits() != 0
}

/// A volume read from the device: its superblock, geometry and group
/// descriptors, as a mount reads them.
pub(crate) struct VolumeLayout {
    pub superblock: Superblock,
    pub geometry: Geometry,
    pub groups: GroupTable,
}

/// Reads the primary superblock and, when it describes a volume this
/// library mounts (the magic number, no incompatible feature it does not
/// implement besides `needs_recovery`, a valid geometry), the descriptors.
///
/// Return values: `Ok(Some(layout))`; `Ok(None)` for a volume the mount
/// will refuse anyway (it names the reason); [`Error::Device`].
fn read_volume<D: BlockDevice>(device: &mut D) -> Result<Option<VolumeLayout>> {
    let device_size = device.size()?;
    let mut raw = [0u8; SUPERBLOCK_SIZE];
    device.read_at(SUPERBLOCK_OFFSET, &mut raw)?;
    let superblock = Superblock::from_bytes(raw);
    if superblock.get_u16(crate::superblock::field::MAGIC) != EXT2_MAGIC {
        return Ok(None);
    }
    let mut unsupported = superblock.features().unsupported();
    unsupported.incompatible &= !IncompatibleFeatures::RECOVER.bits();
    if !unsupported.is_empty() {
        return Ok(None);
    }
    let Ok(geometry) = Geometry::from_superblock(&superblock, device_size) else {
        return Ok(None);
    };
    let mut table = vec![0u8; geometry.descriptor_blocks as usize * geometry.block_bytes()];
    device.read_at(
        geometry.block_offset(geometry.first_data_block + 1),
        &mut table,
    )?;
    let groups = GroupTable::from_bytes(table, &geometry);
    Ok(Some(VolumeLayout {
        superblock,
        geometry,
        groups,
    }))
}

/// Reads inode `number` from its inode table, bypassing any cache.
///
/// Return values: the inode; [`Error::Corrupt`] for a number out of range
/// or a damaged group descriptor; [`Error::Device`].
fn read_inode_directly<D: BlockDevice>(
    device: &mut D,
    layout: &VolumeLayout,
    number: u32,
) -> Result<Inode> {
    let geometry = &layout.geometry;
    if number == 0 || number > geometry.inodes_count {
        return Err(Error::corrupt_inode(
            "the journal inode number is out of range",
            number,
        ));
    }
    let (group, index) = geometry.inode_position(number);
    if !layout.groups.is_valid(group) {
        return Err(Error::corrupt_inode(
            "the journal inode's group descriptor is damaged",
            number,
        ));
    }
    let byte = u64::from(layout.groups.inode_table(group)) * u64::from(geometry.block_size)
        + u64::from(index) * u64::from(geometry.inode_size);
    let mut bytes = vec![0u8; (geometry.inode_size as usize).min(INODE_BUFFER_SIZE)];
    // Inodes of 128 and 256 bytes are read whole; the device is addressed
    // in 1024-byte units, so read the kilobyte holding the inode.
    let kilobyte = byte & !1023;
    let mut unit = [0u8; 1024];
    device.read_at(kilobyte, &mut unit)?;
    let start = (byte - kilobyte) as usize;
    let source = unit
        .get(start..start + bytes.len())
        .ok_or(Error::corrupt_inode(
            "the journal inode crosses its block",
            number,
        ))?;
    bytes.copy_from_slice(source);
    Ok(Inode::from_bytes(InodeNumber(number), &bytes))
}

/// An internal journal found on a volume.
pub(crate) struct VolumeJournal {
    /// Its inode.
    pub inode: u32,
    /// Where its blocks are.
    pub map: JournalMap,
    /// Its superblock, validated against the map.
    pub superblock: JournalSuperblock,
}

/// Finds and validates the internal journal of `layout`'s volume.
///
/// Return values: `Ok(None)` without `has_journal`; the journal;
/// [`Error::Unsupported`] for an external journal; [`Error::Corrupt`] for
/// a journal inode or superblock that cannot be used; [`Error::Device`].
fn locate<D: BlockDevice>(device: &mut D, layout: &VolumeLayout) -> Result<Option<VolumeJournal>> {
    let inode = match location(&layout.superblock) {
        Location::None => return Ok(None),
        Location::External => return Err(external_journal(&layout.superblock)),
        Location::Internal(inode) => inode,
    };
    let inode_bytes = read_inode_directly(device, layout, inode)?;
    let map = match journal_map(device, &layout.geometry, &inode_bytes) {
        Ok(map) => map,
        Err(Error::Corrupt(damage)) => {
            // As e2fsck (`e2fsck_get_journal`): a journal inode that cannot
            // be used is replaced by the superblock's backup of its block
            // map, when there is one. (The replay may well rewrite the
            // inode itself.)
            let Some(backup) = layout.superblock.journal_backup() else {
                return Err(Error::Corrupt(damage));
            };
            journal_map(device, &layout.geometry, &inode_from_backup(inode, backup))?
        }
        Err(error) => return Err(error),
    };
    let superblock = read_superblock(device, &map)?;
    Ok(Some(VolumeJournal {
        inode,
        map,
        superblock,
    }))
}

/// The map of the journal in `inode`, which must be at least
/// `JBD2_MIN_JOURNAL_BLOCKS` long (e2fsck's rule: a shorter journal inode
/// is not a journal).
fn journal_map<D: BlockDevice>(
    device: &mut D,
    geometry: &Geometry,
    inode: &Inode,
) -> Result<JournalMap> {
    let map = JournalMap::from_inode(device, geometry, inode)?;
    if map.block_count() < MIN_JOURNAL_BLOCKS {
        return Err(Error::corrupt_inode(
            "the journal is shorter than 1024 blocks",
            inode.number.get(),
        ));
    }
    Ok(map)
}

/// A journal inode rebuilt from the superblock's `s_jnl_blocks`: a
/// regular file with one link, that block map and that size.
fn inode_from_backup(number: u32, backup: [u32; 17]) -> Inode {
    let mut inode = Inode::zeroed(InodeNumber(number));
    inode.set_mode(crate::inode::mode::REGULAR | 0o600);
    inode.set_links(1);
    for (index, pointer) in backup.iter().take(15).enumerate() {
        inode.set_block_pointer(index, *pointer);
    }
    inode.set_size((u64::from(backup[15]) << 32) | u64::from(backup[16]));
    inode
}

/// Why the journal of `layout`'s volume may not be replayed: what makes
/// the volume read-only, except damaged descriptors of groups other than
/// the journal's (checked when it is located): a transaction may rewrite
/// them, as a growth's does (`resize.rs`) when its replay is cut off
/// while the superblock already counts new groups whose descriptors are
/// not home yet.
fn replay_blocker(layout: &VolumeLayout) -> Option<&'static str> {
    if layout.geometry.revision == 0 {
        Some("revision 0 file systems are read-only")
    } else if layout.geometry.block_size > 4096 {
        Some("blocks larger than 4 KiB are read-only")
    } else if !layout.superblock.features().write_blockers().is_empty() {
        Some("features this library cannot write are enabled")
    } else {
        None
    }
}

/// Replays `journal` in place (see the module doc for the order).
fn replay_in_place<D: BlockDevice>(
    device: &mut D,
    journal: &VolumeJournal,
    geometry: &Geometry,
) -> Result<RecoveryReport> {
    let scan = scan_log(
        device,
        &journal.map,
        &journal.superblock,
        u64::from(geometry.blocks_count),
    )?;
    let report = replay(
        device,
        &journal.map,
        &journal.superblock,
        scan,
        ReplayTarget::Device,
    )?;
    device.flush()?;
    let recovered = recovered_superblock(&journal.superblock, &report.scan);
    device.write_at(journal.map.byte_offset(0)?, recovered.as_bytes())?;
    device.flush()?;
    clear_needs_recovery(device)?;
    Ok(report)
}

/// Re-reads the primary superblock and clears `needs_recovery` in it.
fn clear_needs_recovery<D: BlockDevice>(device: &mut D) -> Result<()> {
    let mut raw = [0u8; SUPERBLOCK_SIZE];
    device.read_at(SUPERBLOCK_OFFSET, &mut raw)?;
    let mut superblock = Superblock::from_bytes(raw);
    superblock.set_incompatible(IncompatibleFeatures::RECOVER, false);
    device.write_at(SUPERBLOCK_OFFSET, superblock.as_bytes())?;
    device.flush()?;
    Ok(())
}

/// What a mount does first: when the volume's `needs_recovery` flag is
/// set, a read-write mount replays the journal and clears the flag, and a
/// read-only one refuses. A volume the mount will refuse for other reasons
/// (not ext2, unsupported features, a bad geometry) is left to it.
///
/// Return values:
/// - `Ok(None)`: nothing to do (no flag; or the flag without a journal:
///   cleared by a read-write mount, as e2fsck clears it, ignored by a
///   read-only one);
/// - `Ok(Some(report))`: the journal was replayed;
/// - [`Error::NeedsRecovery`] for a read-only mount of a volume to
///   recover, or one this library only mounts read-only (features it
///   cannot write, blocks over 4 KiB);
/// - [`Error::Unsupported`] for an external journal;
/// - [`Error::Corrupt`] for a journal that cannot be read;
/// - [`Error::Device`].
pub(crate) fn recover_at_mount<D: BlockDevice>(
    device: &mut D,
    read_only: bool,
) -> Result<Option<RecoveryReport>> {
    // The common case costs one superblock read.
    let mut raw = [0u8; SUPERBLOCK_SIZE];
    device.read_at(SUPERBLOCK_OFFSET, &mut raw)?;
    if !needs_recovery(&Superblock::from_bytes(raw)) {
        return Ok(None);
    }
    let Some(layout) = read_volume(device)? else {
        return Ok(None);
    };
    if !needs_recovery(&layout.superblock) {
        return Ok(None);
    }
    if let Location::External = location(&layout.superblock) {
        return Err(external_journal(&layout.superblock));
    }
    // Replaying is writing: only a mount that may write does it.
    if read_only || replay_blocker(&layout).is_some() {
        return match location(&layout.superblock) {
            Location::None => Ok(None),
            _ => Err(Error::NeedsRecovery),
        };
    }
    match locate(device, &layout)? {
        None => {
            clear_needs_recovery(device)?;
            Ok(None)
        }
        Some(journal) => replay_in_place(device, &journal, &layout.geometry).map(Some),
    }
}

/// Replays the journal of the volume on `device` when its
/// `needs_recovery` flag is set, as a read-write mount does, without
/// mounting (`ext2l recover`; e2fsck's journal replay). A journal that
/// holds data while the flag is clear is not replayed: Linux discards such
/// a log (`jbd2_journal_wipe`), and replaying it could write stale blocks
/// over newer ones; the checker reports it.
///
/// Return values:
/// - `Ok(Some(report))` after a replay;
/// - `Ok(None)` when there was nothing to replay (flag clear; or set
///   without a journal, and then cleared);
/// - [`Error::Corrupt`] for a volume whose superblock or layout is not
///   valid, or whose journal cannot be read;
/// - [`Error::Unsupported`] for incompatible features this library does
///   not implement, or an external journal;
/// - [`Error::ReadOnly`] for a volume to recover that this library only
///   mounts read-only (features it cannot write, such as `metadata_csum`,
///   whose superblock checksum it does not maintain);
/// - [`Error::Device`].
pub fn recover<D: BlockDevice>(device: &mut D) -> Result<Option<RecoveryReport>> {
    let layout = require_mountable(device)?;
    if needs_recovery(&layout.superblock) && replay_blocker(&layout).is_some() {
        return Err(Error::ReadOnly);
    }
    recover_at_mount(device, false)
}

/// Opens the empty internal journal of an unmounted volume for writing,
/// for a tool that changes the volume outside any mount (`resize.rs`).
///
/// Return values: `Ok(None)` without a journal; the journal; the errors
/// of [`recover`]'s checks and of [`Journal::open`]
/// ([`Error::NeedsRecovery`] for a log that is not empty).
pub(crate) fn open_unmounted<D: BlockDevice>(device: &mut D) -> Result<Option<Journal>> {
    let layout = require_mountable(device)?;
    match locate(device, &layout)? {
        Some(journal) => Ok(Some(Journal::open(device, journal.map)?)),
        None => Ok(None),
    }
}

/// Fails as a mount would for a volume `read_volume` skips.
fn require_mountable<D: BlockDevice>(device: &mut D) -> Result<VolumeLayout> {
    if let Some(layout) = read_volume(device)? {
        return Ok(layout);
    }
    let device_size = device.size()?;
    let mut raw = [0u8; SUPERBLOCK_SIZE];
    device.read_at(SUPERBLOCK_OFFSET, &mut raw)?;
    let superblock = Superblock::from_bytes(raw);
    if superblock.get_u16(crate::superblock::field::MAGIC) == EXT2_MAGIC {
        let mut unsupported = superblock.features().unsupported();
        unsupported.incompatible &= !IncompatibleFeatures::RECOVER.bits();
        if !unsupported.is_empty() {
            return Err(Error::Unsupported {
                features: unsupported,
            });
        }
    }
    Geometry::from_superblock(&superblock, device_size)?;
    Err(Error::corrupt("the volume cannot be read"))
}

/// A volume's journal as `ext2l info` and `ext2l check` describe it.
#[derive(Clone, Debug)]
pub struct JournalStatus {
    /// The journal's inode (8).
    pub inode: u32,
    /// Blocks the journal inode maps (`s_maxlen` may be fewer).
    pub inode_blocks: u32,
    /// The journal superblock.
    pub superblock: JournalSuperblock,
    /// The volume's `needs_recovery` flag.
    pub needs_recovery: bool,
    /// What the log holds from `s_start` (nothing when it is empty): the
    /// transactions a recovery would replay.
    pub log: LogScan,
}

impl JournalStatus {
    /// Whether the log holds transactions although `needs_recovery` is
    /// clear (Linux would discard them; e2fsck asks).
    pub fn has_unflagged_data(&self) -> bool {
        !self.needs_recovery && !self.superblock.is_empty()
    }
}

/// Builds the status of `journal` on a volume of `blocks_count` blocks.
fn status_of<D: BlockDevice>(
    device: &mut D,
    journal: VolumeJournal,
    needs_recovery: bool,
    blocks_count: u32,
) -> Result<JournalStatus> {
    let log = scan_log(
        device,
        &journal.map,
        &journal.superblock,
        u64::from(blocks_count),
    )?;
    Ok(JournalStatus {
        inode: journal.inode,
        inode_blocks: journal.map.block_count(),
        superblock: journal.superblock,
        needs_recovery,
        log,
    })
}

/// Describes the journal of the volume on `device` without mounting and
/// without writing.
///
/// Return values: `Ok(None)` without `has_journal`; the status;
/// [`Error::Unsupported`] for an external journal or a volume with
/// features this library does not implement; [`Error::Corrupt`] for a
/// volume or journal that cannot be read; [`Error::Device`].
pub fn inspect<D: BlockDevice>(device: &mut D) -> Result<Option<JournalStatus>> {
    let layout = require_mountable(device)?;
    let Some(journal) = locate(device, &layout)? else {
        return Ok(None);
    };
    status_of(
        device,
        journal,
        needs_recovery(&layout.superblock),
        layout.geometry.blocks_count,
    )
    .map(Some)
}

/// Finds the volume's journal and what a [`super::ReplayedView`] shows:
/// the layout and, when the volume needs recovery, its journal.
pub(crate) fn journal_to_replay<D: BlockDevice>(
    device: &mut D,
) -> Result<Option<(VolumeLayout, VolumeJournal)>> {
    let Some(layout) = read_volume(device)? else {
        return Ok(None);
    };
    if !needs_recovery(&layout.superblock) {
        return Ok(None);
    }
    match locate(device, &layout)? {
        Some(journal) => Ok(Some((layout, journal))),
        None => Ok(None),
    }
}

impl<D: BlockDevice> FileSystem<D> {
    /// Finds the mounted volume's internal journal (its inode read through
    /// the cache, its map and superblock from the device).
    fn mounted_journal(&mut self) -> Result<Option<VolumeJournal>> {
        let inode = match location(&self.superblock) {
            Location::None => return Ok(None),
            Location::External => return Err(external_journal(&self.superblock)),
            Location::Internal(inode) => inode,
        };
        let inode_bytes = match self.read_inode(InodeNumber(inode)) {
            Ok(inode_bytes) => inode_bytes,
            Err(Error::Device(error)) => return Err(Error::Device(error)),
            Err(_) => {
                return Err(Error::corrupt_inode(
                    "the journal inode cannot be read",
                    inode,
                ))
            }
        };
        let map = JournalMap::from_inode(&mut self.device, &self.geometry, &inode_bytes)?;
        let superblock = read_superblock(&mut self.device, &map)?;
        Ok(Some(VolumeJournal {
            inode,
            map,
            superblock,
        }))
    }

    /// The journal's state: size, features, sequence, and what its log
    /// holds; `None` when the volume has no journal.
    ///
    /// Return values: the status or `None`; [`Error::Unsupported`] for an
    /// external journal; [`Error::Corrupt`] for a journal that cannot be
    /// read; [`Error::Device`].
    pub fn journal_status(&mut self) -> Result<Option<JournalStatus>> {
        let needs_recovery = needs_recovery(&self.superblock);
        let blocks_count = self.geometry.blocks_count;
        match self.mounted_journal()? {
            Some(journal) => {
                status_of(&mut self.device, journal, needs_recovery, blocks_count).map(Some)
            }
            None => Ok(None),
        }
    }

    /// The journal's problems for the checker, as (inode, message): see
    /// the `check` module doc for the rules.
    ///
    /// Return values: the problems (none for a good journal or none at
    /// all); [`Error::Device`].
    pub(crate) fn journal_problems(&mut self) -> Result<Vec<(Option<u32>, String)>> {
        let mut problems = Vec::new();
        let inode_number = match location(&self.superblock) {
            Location::None => {
                // A volume of fewer than 8 inodes has no inode 8 to judge.
                match self.read_inode(InodeNumber(JOURNAL_INODE)) {
                    Ok(inode) if inode.links() != 0 => problems.push((
                        Some(JOURNAL_INODE),
                        String::from("inode 8 is in use but has_journal is clear"),
                    )),
                    Err(Error::Device(error)) => return Err(Error::Device(error)),
                    _ => {}
                }
                // e2fsck looks for a journal the superblock still names.
                let superblock = &self.superblock;
                if superblock.journal_inode() != 0
                    || superblock.journal_uuid() != [0; 16]
                    || superblock.journal_device() != 0
                {
                    problems.push((
                        None,
                        String::from("has_journal is clear but the superblock names a journal"),
                    ));
                }
                return Ok(problems);
            }
            // Not ours to check: nothing here refers to its blocks.
            Location::External => return Ok(problems),
            Location::Internal(inode) => inode,
        };
        if inode_number != JOURNAL_INODE {
            problems.push((
                None,
                format!("the journal is in inode {inode_number}, not in inode 8"),
            ));
        }
        let journal = match self.mounted_journal() {
            Ok(Some(journal)) => journal,
            Ok(None) => return Ok(problems),
            Err(Error::Device(error)) => return Err(Error::Device(error)),
            Err(error) => {
                problems.push((Some(inode_number), format!("journal: {error}")));
                return Ok(problems);
            }
        };
        if journal.map.block_count() < MIN_JOURNAL_BLOCKS {
            problems.push((
                Some(inode_number),
                format!(
                    "the journal has {} blocks, fewer than {MIN_JOURNAL_BLOCKS}",
                    journal.map.block_count()
                ),
            ));
        }
        if !needs_recovery(&self.superblock) && !journal.superblock.is_empty() {
            problems.push((
                Some(inode_number),
                String::from(
                    "the journal holds transactions but needs_recovery is clear \
                     (Linux discards them; e2fsck asks whether to replay them)",
                ),
            ));
        }
        if let (Some(backup), Ok(inode)) = (
            self.superblock.journal_backup(),
            self.read_inode(InodeNumber(inode_number)),
        ) {
            let size = inode.size();
            let matches = (0..15).all(|index| backup[index] == inode.block_pointer(index))
                && backup[15] == (size >> 32) as u32
                && backup[16] == size as u32;
            if !matches {
                problems.push((
                    Some(inode_number),
                    String::from(
                        "the superblock's backup of the journal's block map (s_jnl_blocks) \
                         differs from the journal inode",
                    ),
                ));
            }
        }
        Ok(problems)
    }

    /// What the journal replay at this mount did; `None` when the volume
    /// needed none.
    pub fn recovery_report(&self) -> Option<&RecoveryReport> {
        self.recovery.as_ref()
    }

    /// Opens the volume's journal for writing transactions ([`Journal`]);
    /// it writes through [`Self::device_mut`]. The file system's own
    /// commits use the journal of a mount that journals
    /// ([`Self::journal_in_use`]): writing into it with this behind the
    /// file system's back is for tests and tools that then give the
    /// device up, and corrupts the log otherwise.
    ///
    /// Return values: the journal; [`Error::NotFound`] without a journal;
    /// [`Error::ReadOnly`] on a read-only mount; the errors of
    /// [`Journal::open`] and [`Self::journal_status`].
    pub fn open_journal(&mut self) -> Result<Journal> {
        self.require_writable()?;
        let journal = self.mounted_journal()?.ok_or(Error::NotFound)?;
        Journal::open(&mut self.device, journal.map)
    }
}
