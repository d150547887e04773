// SPDX-License-Identifier: MIT OR Apache-2.0
//! The mounted file system: mounting, inode access, metadata blocks and sync.
//!
//! [`FileSystem`] owns its [`BlockDevice`], the primary superblock, the group
//! descriptor table and the [`BlockCache`] of the volume's blocks (data
//! and metadata). Operations live
//! in sibling modules as further `impl FileSystem` blocks: `allocator`
//! (bitmaps and counters), `block_map` (logical to physical blocks), `file`
//! (read, write, truncate, attributes), `directory` (entries, lookup,
//! read_dir), `namespace` (create, link, unlink, rename, …), `held` (the
//! inodes the host holds), `orphan` (held inodes with no name left, the
//! on-disk orphan list), `generation` (the `i_generation` counter),
//! `installer`, `path` and `check`.
//!
//! Mounting validates the superblock ([`Geometry`]) and the descriptors, then
//! decides the access mode: incompatible features it does not implement
//! refuse the mount ([`Error::Unsupported`]); read-only compatible or
//! compatible features it cannot keep correct, revision 0, blocks above
//! 4 KiB and damaged descriptors make the mount read-only, and every write
//! then fails with [`Error::ReadOnly`].
//!
//! Before all that, a volume whose journal needs recovery is replayed
//! (read-write mount) or refused with [`Error::NeedsRecovery`] (read-only
//! mount): `journal/volume.rs`. A writable mount then empties the orphan
//! list (`orphan.rs`).
//!
//! A read-write mount then marks the volume in use (`state.rs`: the
//! superblock's valid bit cleared, `needs_recovery` set with a journal),
//! starts journaling when the volume has a journal (`transaction.rs`), and
//! checks a volume without one that was not cleanly unmounted.
//!
//! Changes to the superblock and descriptors stay in memory, and changed
//! blocks stay in the cache, until a commit or sync (`transaction.rs`; or
//! an eviction writes a block of data back); only long runs of a large
//! write go to the device at once. Callers must `sync` and `unmount`
//! before dropping: only an unmount marks the volume cleanly unmounted.

use alloc::vec;

use crate::cache::{BlockCache, BlockClass};
use crate::device::BlockDevice;
use crate::error::{Corruption, Error, Result};
use crate::features::{CompatibleFeatures, FeatureSet, ReadOnlyCompatibleFeatures};
use crate::group::GroupTable;
use crate::inode::{Inode, InodeNumber};
use crate::orphan::OrphanList;
use crate::state::{OnDamage, ERRORS_RECORDED, JOURNAL_UNUSABLE, UNCLEAN_AND_DAMAGED};
use crate::superblock::{
    field, Geometry, Superblock, STATE_ERRORS, STATE_VALID, SUPERBLOCK_OFFSET, SUPERBLOCK_SIZE,
};
use crate::transaction::Transactions;

/// Who is asking: ordinary callers obey the immutable flag and may not link
/// directories; the installer (the image builder) may.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Privilege {
    /// The kernel on behalf of an application, or the CLI's ordinary commands.
    Ordinary,
    /// The image builder, through [`crate::Installer`].
    Installer,
}

/// How to mount.
#[derive(Clone, Copy, Debug)]
pub struct MountOptions {
    /// Refuse every write even when the image could be written.
    pub read_only: bool,
    /// Bytes of blocks the cache may hold (at least
    /// [`crate::MIN_CAPACITY_BLOCKS`] blocks).
    pub cache_bytes: usize,
    /// Current time in seconds since 1970, for timestamps (the library has no
    /// clock of its own).
    pub clock: fn() -> u32,
    /// Free the inodes on the orphan list when the mount is writable (the
    /// default). Off, the list is only counted and stays for a later
    /// mount: for tools that mount writable only to inspect.
    pub clean_orphans: bool,
    /// What damage found by an operation does: turn the mount read-only
    /// (the default) or only record it (`state.rs`).
    pub on_damage: OnDamage,
}

fn zero_clock() -> u32 {
    0
}

impl Default for MountOptions {
    fn default() -> Self {
        MountOptions {
            read_only: false,
            cache_bytes: 4 << 20,
            clock: zero_clock,
            clean_orphans: true,
            on_damage: OnDamage::ReadOnly,
        }
    }
}

/// A summary of the superblock, as `ext2l info` prints it.
#[derive(Clone, Debug)]
pub struct FileSystemInfo {
    /// `s_rev_level`.
    pub revision: u32,
    /// Bytes per block.
    pub block_size: u32,
    /// Bytes per on-disk inode.
    pub inode_size: u32,
    /// Total blocks.
    pub blocks_count: u32,
    /// Free blocks.
    pub free_blocks: u32,
    /// Blocks reserved for the superuser.
    pub reserved_blocks: u32,
    /// Total inodes.
    pub inodes_count: u32,
    /// Free inodes.
    pub free_inodes: u32,
    /// Block groups.
    pub group_count: u32,
    /// Blocks per group.
    pub blocks_per_group: u32,
    /// Inodes per group.
    pub inodes_per_group: u32,
    /// First non-reserved inode.
    pub first_inode: u32,
    /// All feature bits.
    pub features: FeatureSet,
    /// Volume label.
    pub label: alloc::vec::Vec<u8>,
    /// Volume UUID.
    pub uuid: [u8; 16],
    /// `s_state`.
    pub state: u16,
    /// Why the mount is read-only, if it is.
    pub read_only_reason: Option<&'static str>,
    /// Orphans freed from the on-disk orphan list when this mount started.
    pub orphans_cleaned: u32,
    /// Orphans on the on-disk list now: those made since the mount (held
    /// by the host), plus, when the mount did not clean the list, those
    /// found on it.
    pub orphans_listed: u32,
    /// Why the orphan list could not be walked to its end at mount (a
    /// number out of range, a cycle, an entry that is not an orphan, …):
    /// the walk stopped there and left the rest listed.
    pub orphan_list_damage: Option<&'static str>,
    /// The `i_generation` the next new inode gets (0: the volume predates
    /// the counter, which starts at the first allocation).
    pub next_generation: u32,
}

/// A mounted ext2l (or plain ext2) file system.
pub struct FileSystem<D: BlockDevice> {
    pub(crate) device: D,
    pub(crate) superblock: Superblock,
    pub(crate) geometry: Geometry,
    pub(crate) groups: GroupTable,
    pub(crate) cache: BlockCache,
    pub(crate) superblock_dirty: bool,
    pub(crate) groups_dirty: bool,
    pub(crate) read_only_reason: Option<&'static str>,
    pub(crate) clock: fn() -> u32,
    /// Inodes the host holds ([`crate::HeldInode`], `held.rs`).
    pub(crate) held: alloc::collections::BTreeSet<u32>,
    /// The orphan list as this mount knows it (`orphan.rs`).
    pub(crate) orphans: OrphanList,
    /// What the journal replay at this mount did, if one ran.
    pub(crate) recovery: Option<crate::journal::RecoveryReport>,
    /// The last run of a file `map_run` found (`block_map.rs`).
    pub(crate) last_run: Option<crate::block_map::MappedRun>,
    /// The last regular file `read_pieces` loaded, and the cache's
    /// [`BlockCache::changes`] then: while they are unchanged, so is the
    /// inode, and a reader's next call skips looking it up (`file.rs`).
    pub(crate) last_file: Option<(u64, alloc::boxed::Box<Inode>)>,
    /// The running transaction, the journal, what waits for a commit
    /// (`transaction.rs`).
    pub(crate) transactions: Transactions,
    /// The first damage an operation found (`state.rs`).
    pub(crate) damage: Option<Corruption>,
    /// What damage does to the mount.
    pub(crate) on_damage: OnDamage,
    /// Whether this mount marked the volume in use (`state.rs`): at its
    /// first change, so a mount that only looks writes nothing.
    pub(crate) marked_in_use: bool,
}

impl<D: BlockDevice> core::fmt::Debug for FileSystem<D> {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        formatter
            .debug_struct("FileSystem")
            .field("superblock", &self.superblock)
            .field("read_only_reason", &self.read_only_reason)
            .finish()
    }
}

impl<D: BlockDevice> FileSystem<D> {
    /// Mounts the file system on `device`. When the volume's journal needs
    /// recovery, a writable mount replays it first and a read-only one
    /// refuses (the `journal` module). A writable mount then frees the
    /// inodes on the orphan list (unless [`MountOptions::clean_orphans`] is
    /// off); a damaged list stops that walk, which [`Self::info`] reports.
    ///
    /// A read-write mount also: mounts read-only instead a volume whose
    /// superblock records errors (under [`OnDamage::ReadOnly`]), one whose
    /// journal cannot be written, and one without a journal that was not
    /// cleanly unmounted and that the checker finds damaged (each with its
    /// [`Self::read_only_reason`]); otherwise it starts journaling when
    /// there is a journal. Its first change marks the volume in use
    /// (valid bit cleared, `needs_recovery` set with a journal, written
    /// and flushed), so a writable mount that changes nothing writes
    /// nothing.
    ///
    /// Return values:
    /// - the file system, read-write or read-only (see [`Self::read_only_reason`]);
    /// - [`Error::NeedsRecovery`] for a read-only mount of a volume whose
    ///   journal needs recovery (or a volume this library only mounts
    ///   read-only, such as one with `metadata_csum`);
    /// - [`Error::Unsupported`] naming incompatible features not
    ///   implemented (an external journal that needs recovery included);
    /// - [`Error::Corrupt`] when the superblock or layout is inconsistent,
    ///   or the journal to replay cannot be read;
    /// - [`Error::Device`] when reading fails.
    pub fn mount(mut device: D, options: MountOptions) -> Result<Self> {
        let recovery = crate::journal::recover_at_mount(&mut device, options.read_only)?;
        let device_size = device.size()?;
        let mut raw = [0u8; SUPERBLOCK_SIZE];
        device.read_at(SUPERBLOCK_OFFSET, &mut raw)?;
        let superblock = Superblock::from_bytes(raw);
        // Features first: an ext4 image's layout (bigalloc, flex_bg, 64bit
        // descriptors) is not ours to judge, so name what is missing rather
        // than calling the layout corrupt.
        let features = superblock.features();
        let unsupported = features.unsupported();
        if superblock.get_u16(field::MAGIC) == crate::superblock::EXT2_MAGIC
            && !unsupported.is_empty()
        {
            return Err(Error::Unsupported {
                features: unsupported,
            });
        }
        let geometry = Geometry::from_superblock(&superblock, device_size)?;
        let table_bytes = geometry.descriptor_blocks as usize * geometry.block_bytes();
        let mut table = vec![0u8; table_bytes];
        let table_block = geometry.first_data_block + 1;
        device.read_at(geometry.block_offset(table_block), &mut table)?;
        let groups = GroupTable::from_bytes(table, &geometry);

        let read_only_reason = if options.read_only {
            Some("mounted read-only on request")
        } else {
            layout_read_only_reason(&geometry, &features, &groups)
        };
        let cache = BlockCache::new(
            geometry.block_bytes(),
            options.cache_bytes / geometry.block_bytes().max(1),
        );
        let mut file_system = FileSystem {
            device,
            superblock,
            geometry,
            groups,
            cache,
            superblock_dirty: false,
            groups_dirty: false,
            read_only_reason,
            clock: options.clock,
            held: alloc::collections::BTreeSet::new(),
            orphans: OrphanList::default(),
            recovery,
            last_run: None,
            last_file: None,
            transactions: Transactions::default(),
            damage: None,
            on_damage: options.on_damage,
            marked_in_use: false,
        };
        file_system.start_writing()?;
        file_system.open_orphan_list(options.clean_orphans)?;
        Ok(file_system)
    }

    /// What a read-write mount does before its first change (see
    /// [`Self::mount`]).
    ///
    /// Return values: `Ok(())` (possibly now read-only), or
    /// [`Error::Device`].
    fn start_writing(&mut self) -> Result<()> {
        if self.read_only_reason.is_some() {
            return Ok(());
        }
        let state = self.superblock.state();
        if state & STATE_ERRORS != 0 && self.on_damage == OnDamage::ReadOnly {
            self.read_only_reason = Some(ERRORS_RECORDED);
            return Ok(());
        }
        let features = self.superblock.features();
        if features.compatible & CompatibleFeatures::HAS_JOURNAL.bits() != 0 {
            match self.start_journal() {
                Ok(()) => {}
                Err(Error::Device(error)) => return Err(Error::Device(error)),
                Err(_) => {
                    self.read_only_reason = Some(JOURNAL_UNUSABLE);
                    return Ok(());
                }
            }
        } else if state & STATE_VALID == 0 && self.on_damage == OnDamage::ReadOnly {
            // (Under `OnDamage::Continue` damage changes nothing: no check.)
            let report = self.check()?;
            if !report.is_clean() {
                self.read_only_reason = Some(UNCLEAN_AND_DAMAGED);
            }
        }
        Ok(())
    }

    /// A clean unmount: makes everything durable ([`Self::sync`]), empties
    /// the journal, clears `needs_recovery`, sets the superblock's valid
    /// bit, writes it and flushes; then gives the device back. A read-only
    /// mount writes nothing.
    ///
    /// Return values: the device; the errors of [`Self::sync`]
    /// ([`Error::ReadOnly`] when the mount turned read-only after damage
    /// with changes pending: they are lost); [`Error::InvalidArgument`]
    /// while a batch is in flight; [`Error::Device`].
    pub fn unmount(mut self) -> Result<D> {
        self.sync()?;
        if self.read_only_reason.is_none() && self.marked_in_use {
            self.mark_unmounted()?;
        }
        Ok(self.device)
    }

    /// Gives the device back without writing anything pending.
    pub fn into_device(self) -> D {
        self.device
    }

    /// The device (for tests and tools that inspect the image).
    pub fn device(&self) -> &D {
        &self.device
    }

    /// The device, mutably: for a host of the library that manages the
    /// device's own state (a test replacing the medium, a host writing a
    /// [`crate::WriteBack`] batch). Writing to the volume through it, behind the
    /// file system's back, corrupts it.
    pub fn device_mut(&mut self) -> &mut D {
        &mut self.device
    }

    /// Whether writes are refused.
    pub fn is_read_only(&self) -> bool {
        self.read_only_reason.is_some()
    }

    /// Why writes are refused, if they are.
    pub fn read_only_reason(&self) -> Option<&'static str> {
        self.read_only_reason
    }

    /// Replaces the clock used for timestamps.
    pub fn set_clock(&mut self, clock: fn() -> u32) {
        self.clock = clock;
    }

    /// The current time from the clock.
    pub(crate) fn now(&self) -> u32 {
        (self.clock)()
    }

    /// The root directory.
    pub fn root(&self) -> InodeNumber {
        InodeNumber::ROOT
    }

    /// The primary superblock.
    pub fn superblock(&self) -> &Superblock {
        &self.superblock
    }

    /// The feature words.
    pub fn features(&self) -> FeatureSet {
        self.superblock.features()
    }

    /// Bytes per block.
    pub fn block_size(&self) -> u32 {
        self.geometry.block_size
    }

    /// A summary of the superblock.
    pub fn info(&self) -> FileSystemInfo {
        FileSystemInfo {
            revision: self.geometry.revision,
            block_size: self.geometry.block_size,
            inode_size: self.geometry.inode_size,
            blocks_count: self.geometry.blocks_count,
            free_blocks: self.superblock.free_blocks_count(),
            reserved_blocks: self.superblock.reserved_blocks_count(),
            inodes_count: self.geometry.inodes_count,
            free_inodes: self.superblock.free_inodes_count(),
            group_count: self.geometry.group_count,
            blocks_per_group: self.geometry.blocks_per_group,
            inodes_per_group: self.geometry.inodes_per_group,
            first_inode: self.geometry.first_inode,
            features: self.superblock.features(),
            label: self.superblock.volume_name().into(),
            uuid: self.superblock.uuid(),
            state: self.superblock.state(),
            read_only_reason: self.read_only_reason,
            orphans_cleaned: self.orphans.cleaned(),
            orphans_listed: self.orphans.listed(),
            orphan_list_damage: self.orphans.damage(),
            next_generation: self.superblock.next_generation(),
        }
    }

    /// Fails with [`Error::ReadOnly`] on a read-only mount.
    pub(crate) fn require_writable(&self) -> Result<()> {
        if self.read_only_reason.is_some() {
            return Err(Error::ReadOnly);
        }
        Ok(())
    }

    /// Fails with [`Error::Immutable`] when an ordinary caller would change an
    /// immutable inode.
    pub(crate) fn require_mutable(&self, inode: &Inode, privilege: Privilege) -> Result<()> {
        if privilege == Privilege::Ordinary && inode.is_immutable() {
            return Err(Error::Immutable);
        }
        Ok(())
    }

    /// Sets the ext2l feature bit if it is not set yet: called whenever an
    /// ext2l-only structure (a rootlink, a directory hardlink) is written, so
    /// stock tools stop writing the volume exactly when they would damage it.
    pub(crate) fn mark_ext2l_in_use(&mut self) {
        if !self.superblock.features().has_ext2l() {
            self.superblock
                .set_read_only_compatible(ReadOnlyCompatibleFeatures::EXT2L, true);
            self.superblock_dirty = true;
        }
    }

    /// Sets `large_file` the first time a file reaches 2 GiB.
    pub(crate) fn mark_large_file(&mut self) {
        let features = self.superblock.features();
        if features.read_only_compatible & ReadOnlyCompatibleFeatures::LARGE_FILE.bits() == 0 {
            self.superblock
                .set_read_only_compatible(ReadOnlyCompatibleFeatures::LARGE_FILE, true);
            self.superblock_dirty = true;
        }
    }

    /// Where inode `number` lives: block and byte offset inside it.
    fn inode_location(&self, number: InodeNumber) -> Result<(u32, usize)> {
        let value = number.get();
        if value == 0 || value > self.geometry.inodes_count {
            return Err(Error::NotFound);
        }
        let (group, index) = self.geometry.inode_position(value);
        if !self.groups.is_valid(group) {
            return Err(Error::corrupt_inode(
                "the inode's group descriptor is damaged",
                value,
            ));
        }
        let byte_in_table = u64::from(index) * u64::from(self.geometry.inode_size);
        let block_size = u64::from(self.geometry.block_size);
        let block = u64::from(self.groups.inode_table(group)) + byte_in_table / block_size;
        let block = u32::try_from(block)
            .map_err(|_| Error::corrupt_inode("inode table out of range", value))?;
        Ok((block, (byte_in_table % block_size) as usize))
    }

    /// Reads inode `number` as stored, whatever its state.
    ///
    /// Return values: the inode, [`Error::NotFound`] for a number out of
    /// range, [`Error::Corrupt`] or [`Error::Device`].
    pub(crate) fn read_inode(&mut self, number: InodeNumber) -> Result<Inode> {
        let (block, offset) = self.inode_location(number)?;
        let size = self.geometry.inode_size as usize;
        let data = self
            .cache
            .read(&mut self.device, block, BlockClass::Metadata)?;
        let bytes = data
            .get(offset..offset + size.min(crate::inode::INODE_BUFFER_SIZE))
            .ok_or(Error::corrupt_inode(
                "inode crosses its block",
                number.get(),
            ))?;
        Ok(Inode::from_bytes(number, bytes))
    }

    /// Reads an inode that must be in use (linked and of a known type).
    ///
    /// Return values: the inode, or [`Error::NotFound`] when it is free.
    pub(crate) fn live_inode(&mut self, number: InodeNumber) -> Result<Inode> {
        let inode = self.read_inode(number)?;
        if inode.links() == 0 || inode.file_type() == crate::inode::FileType::Unknown {
            return Err(Error::NotFound);
        }
        Ok(inode)
    }

    /// Stores an inode back into its table block (held bytes only).
    pub(crate) fn write_inode(&mut self, inode: &Inode) -> Result<()> {
        self.require_writable()?;
        let (block, offset) = self.inode_location(inode.number)?;
        let size = (self.geometry.inode_size as usize).min(crate::inode::INODE_BUFFER_SIZE);
        let data = self
            .cache
            .write(&mut self.device, block, BlockClass::Metadata)?;
        let target = data
            .get_mut(offset..offset + size)
            .ok_or(Error::corrupt_inode(
                "inode crosses its block",
                inode.number.get(),
            ))?;
        let source = inode.as_bytes().get(..size).unwrap_or(&[]);
        target.copy_from_slice(source);
        Ok(())
    }

    /// Zeroes the whole on-disk inode (beyond the held bytes too), for a
    /// freshly allocated inode whose slot may hold old data.
    pub(crate) fn clear_inode_slot(&mut self, number: InodeNumber) -> Result<()> {
        let (block, offset) = self.inode_location(number)?;
        let size = self.geometry.inode_size as usize;
        let data = self
            .cache
            .write(&mut self.device, block, BlockClass::Metadata)?;
        if let Some(slot) = data.get_mut(offset..offset + size) {
            slot.fill(0);
        }
        Ok(())
    }

    /// Checks a block number taken from disk before it is read.
    pub(crate) fn check_block(&self, block: u32, inode: InodeNumber) -> Result<()> {
        if !self.geometry.is_valid_block(block) {
            return Err(Error::corrupt_block(
                "block pointer outside the file system",
                inode.get(),
                u64::from(block),
            ));
        }
        Ok(())
    }

    /// The cache of the volume's blocks (to see how full and how dirty it
    /// is).
    pub fn cache(&self) -> &BlockCache {
        &self.cache
    }

    /// Drops every clean, unpinned block (of `class` only, if given) from
    /// the cache, so the next read of it comes from the device (the
    /// benchmarks' cold reads; call [`Self::sync`] first to drop every
    /// block). Returns how many.
    pub fn drop_clean_blocks(&mut self, class: Option<BlockClass>) -> usize {
        self.last_run = None;
        self.last_file = None;
        self.cache.drop_clean(class)
    }
}

/// Why a volume of this layout and these features can only be mounted
/// read-only, whatever its state (`None`: it can be written).
pub(crate) fn layout_read_only_reason(
    geometry: &Geometry,
    features: &FeatureSet,
    groups: &GroupTable,
) -> Option<&'static str> {
    if geometry.revision == 0 {
        Some("revision 0 file systems are read-only")
    } else if geometry.block_size > 4096 {
        Some("blocks larger than 4 KiB are read-only")
    } else if !features.write_blockers().is_empty() {
        Some("features this library cannot write are enabled")
    } else if !groups.all_valid() {
        Some("a group descriptor points outside the file system")
    } else {
        None
    }
}
