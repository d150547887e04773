// SPDX-License-Identifier: MIT OR Apache-2.0
//! Orphans: held inodes whose last reference is gone, and the on-disk list
//! that records them.
//!
//! When the last name (or last rootlink) of an inode the host holds
//! (`held.rs`) goes — by `unlink`, `rmdir`, `rename` over it, or a rootlink
//! release that cascades to a directory — the inode is not freed: it
//! becomes an *orphan*. Its link count is 0, its data and blocks stay
//! (an orphaned directory, always empty, gives its blocks back at once and
//! has size 0), and no name or rootlink reaches it any more, so nothing new
//! can. Operations by inode go on working on it for the host's handles
//! ([`FileSystem::accessible_inode`]); `lookup`, `create`, `link`, `rename`
//! and the rest refuse it with [`Error::NotFound`], as Linux gives `ENOENT`
//! for a removed working directory. [`FileSystem::release`] frees it.
//!
//! The orphans are listed on disk exactly as ext3 lists them: the
//! superblock's `s_last_orphan` (byte 0xE8) names the first, and each
//! orphan's `i_dtime` names the next, 0 ending the list. A new orphan goes
//! to the front; one that is freed is unlinked from the list by rewriting
//! its predecessor's `i_dtime` (or `s_last_orphan`). Like every change, the
//! list reaches the disk at `sync`: the inodes with the metadata cache,
//! `s_last_orphan` with the superblock just after. There is no journal
//! yet, so a crash in the middle of a sync can leave the list naming an
//! inode in its old state; the next mount's walk stops there (it never
//! frees an inode with links) and the checker reports it.
//!
//! A crash (or a host that never released) leaves the orphans listed; a
//! read-write mount frees every inode on the list and empties it
//! ([`FileSystem::open_orphan_list`]). That walk trusts nothing: a number
//! out of range, an inode not marked in use, one that still has links or
//! has no known type stops it, leaving that entry at the head of the list
//! for the checker to report, and it never frees a linked inode; an inode
//! seen twice (a cycle) stops it too, and ends the list, since everything
//! the cycle reaches has just been freed. The walk is bounded by the inode
//! count. A read-only mount only counts the list.
//!
//! One more rule keeps releases from failing: a directory whose only
//! references are rootlinks of orphans accepts no new entries
//! ([`FileSystem::require_reachable_directory`]), so it is still empty when
//! the last of those orphans is released and its reference dropped.

use alloc::collections::BTreeSet;
use alloc::vec::Vec;

use crate::device::BlockDevice;
use crate::error::{Error, Result};
use crate::filesystem::FileSystem;
use crate::inode::{FileType, Inode, InodeNumber};
use crate::namespace::Reference;

/// Reason the mount's walk of the list stopped early: a number out of range.
pub(crate) const OUT_OF_RANGE: &str = "the orphan list names an inode number out of range";
/// Reason: an inode met twice.
pub(crate) const CYCLE: &str = "the orphan list loops back on itself";
/// Reason: an inode the bitmap says is free.
pub(crate) const FREE: &str = "the orphan list names a free inode";
/// Reason: an inode with links.
pub(crate) const LINKED: &str = "the orphan list names an inode that still has links";
/// Reason: an inode of no known type.
pub(crate) const UNKNOWN_TYPE: &str = "the orphan list names an inode of unknown type";
/// Reason: freeing would drop the last reference to a non-empty directory.
pub(crate) const ROOTLINK_IN_USE: &str =
    "an orphan's rootlink is the last reference to a non-empty directory";

/// The orphan list as this mount knows it.
#[derive(Clone, Debug, Default)]
pub(crate) struct OrphanList {
    /// Orphans made by this mount, in list order from `s_last_orphan`,
    /// each with the directory its rootlink names (0: none; an orphan's
    /// rootlink cannot change: the installer refuses inodes not in use).
    made: Vec<(u32, u32)>,
    /// What the last of `made` points at (or `s_last_orphan` when `made`
    /// is empty): the part of the on-disk list this mount did not free —
    /// on a read-only mount all of it, after damage the damaged rest.
    tail: u32,
    /// Orphans counted in `tail` at mount, up to any damage.
    tail_length: u32,
    /// Orphans freed when the mount started.
    cleaned: u32,
    /// Why the walk at mount stopped before the end of the list.
    damage: Option<&'static str>,
}

impl OrphanList {
    /// Orphans on the list now: those made by this mount and those found.
    pub(crate) fn listed(&self) -> u32 {
        (self.made.len() as u32).saturating_add(self.tail_length)
    }

    /// Orphans freed at mount.
    pub(crate) fn cleaned(&self) -> u32 {
        self.cleaned
    }

    /// Why the list could not be walked to its end at mount, if it could not.
    pub(crate) fn damage(&self) -> Option<&'static str> {
        self.damage
    }
}

/// What one step of a walk over the list found.
pub(crate) enum ListEntry {
    /// An orphan (allocated, no links, a known type), naming the next
    /// entry (0: the end).
    Orphan {
        /// Its `i_dtime`.
        next: u32,
    },
    /// The list is damaged here, for this reason.
    Damaged(&'static str),
}

impl<D: BlockDevice> FileSystem<D> {
    /// Looks at inode `number`, met on the orphan list after the inodes in
    /// `visited`: is it an orphan?
    ///
    /// Return values: the entry (an orphan, or why the list is damaged
    /// here); [`Error::Device`].
    pub(crate) fn orphan_list_entry(
        &mut self,
        number: u32,
        visited: &BTreeSet<u32>,
    ) -> Result<ListEntry> {
        if number < self.geometry.first_inode || number > self.geometry.inodes_count {
            return Ok(ListEntry::Damaged(OUT_OF_RANGE));
        }
        if visited.contains(&number) {
            return Ok(ListEntry::Damaged(CYCLE));
        }
        let inode_number = InodeNumber(number);
        let inode = match self
            .inode_marked_in_use(inode_number)
            .and_then(|marked| Ok((marked, self.read_inode(inode_number)?)))
        {
            Ok((false, _)) => return Ok(ListEntry::Damaged(FREE)),
            Ok((true, inode)) => inode,
            Err(Error::Corrupt(corruption)) => return Ok(ListEntry::Damaged(corruption.reason)),
            Err(error) => return Err(error),
        };
        if inode.links() != 0 {
            return Ok(ListEntry::Damaged(LINKED));
        }
        if inode.file_type() == FileType::Unknown {
            return Ok(ListEntry::Damaged(UNKNOWN_TYPE));
        }
        Ok(ListEntry::Orphan {
            next: inode.deletion_time(),
        })
    }

    /// The mount's look at the orphan list: on a writable mount asked to
    /// clean, frees every orphan on it and empties it (the superblock is
    /// written back at the next sync); otherwise counts it.
    ///
    /// Return values: `Ok(())` — damage stops the walk and is recorded,
    /// not returned —, or [`Error::Device`].
    pub(crate) fn open_orphan_list(&mut self, clean: bool) -> Result<()> {
        let head = self.superblock.last_orphan();
        if head == 0 {
            return Ok(());
        }
        if clean && self.read_only_reason.is_none() {
            if !self.transactions.journaling() {
                self.mark_in_use()?;
            }
            return self.clean_orphans(head);
        }
        let mut visited = BTreeSet::new();
        let mut current = head;
        while current != 0 {
            match self.orphan_list_entry(current, &visited)? {
                ListEntry::Orphan { next } => {
                    visited.insert(current);
                    current = next;
                }
                ListEntry::Damaged(reason) => {
                    self.orphans.damage = Some(reason);
                    break;
                }
            }
        }
        self.orphans.tail = head;
        self.orphans.tail_length = visited.len() as u32;
        Ok(())
    }

    /// Frees the orphans listed from `head` on, stopping at damage.
    fn clean_orphans(&mut self, head: u32) -> Result<()> {
        let mut visited = BTreeSet::new();
        let mut current = head;
        while current != 0 {
            let next = match self.orphan_list_entry(current, &visited)? {
                ListEntry::Orphan { next } => next,
                ListEntry::Damaged(reason) => {
                    self.orphans.damage = Some(reason);
                    if reason == CYCLE {
                        // Everything the cycle reaches was just freed:
                        // the list ends here.
                        current = 0;
                    }
                    break;
                }
            };
            visited.insert(current);
            let inode = self.read_inode(InodeNumber(current))?;
            match self.free_orphan_inode(inode) {
                Ok(()) => self.orphans.cleaned += 1,
                Err(Error::Corrupt(corruption)) => {
                    self.orphans.damage = Some(corruption.reason);
                    break;
                }
                Err(Error::NotEmpty) => {
                    self.orphans.damage = Some(ROOTLINK_IN_USE);
                    break;
                }
                Err(error) => return Err(error),
            }
            current = next;
        }
        self.superblock.set_last_orphan(current);
        self.superblock_dirty = true;
        self.orphans.tail = current;
        Ok(())
    }

    /// Frees an orphan already off the list (or being walked at mount):
    /// its blocks, attribute block, rootlink reference and number.
    ///
    /// Return values: `Ok(())`; [`Error::NotEmpty`] (nothing changed) when
    /// its rootlink is the last reference to a non-empty directory;
    /// [`Error::Corrupt`], [`Error::Device`].
    fn free_orphan_inode(&mut self, mut inode: Inode) -> Result<()> {
        self.check_orphan_rootlink(&inode)?;
        self.free_file(&mut inode)
    }

    /// Refuses, before anything changes, to free an orphan whose rootlink
    /// is the last reference to a directory that is not empty.
    ///
    /// Return values: `Ok(())`, [`Error::NotEmpty`], [`Error::Corrupt`],
    /// [`Error::Device`].
    fn check_orphan_rootlink(&mut self, inode: &Inode) -> Result<()> {
        if inode.is_regular() && inode.rootlink_raw() != 0 {
            if let Ok(directory) = self.directory_inode(InodeNumber(inode.rootlink_raw())) {
                self.plan_directory_release(&directory, Reference::Nothing)?;
            }
        }
        Ok(())
    }

    /// Whether `number` is an orphan this mount made (one the host holds).
    pub(crate) fn is_orphan(&self, number: InodeNumber) -> bool {
        self.orphans
            .made
            .iter()
            .any(|&(orphan, _)| orphan == number.get())
    }

    /// Turns `inode`, whose last reference just went and which the host
    /// holds, into an orphan: no links, put at the front of the list
    /// (`i_dtime` names the old front), stored.
    ///
    /// Return values: `Ok(())`, [`Error::ReadOnly`], [`Error::Corrupt`],
    /// [`Error::Device`].
    pub(crate) fn make_orphan(&mut self, inode: &mut Inode) -> Result<()> {
        inode.set_links(0);
        inode.set_deletion_time(self.superblock.last_orphan());
        self.write_inode(inode)?;
        self.superblock.set_last_orphan(inode.number.get());
        self.superblock_dirty = true;
        let rootlink = if inode.is_regular() {
            inode.rootlink_raw()
        } else {
            0
        };
        self.orphans.made.insert(0, (inode.number.get(), rootlink));
        Ok(())
    }

    /// Makes an orphan of a directory the host holds whose last reference
    /// went (it is empty): its blocks go back at once and its size is 0, so
    /// it lists nothing; the inode waits for [`FileSystem::release`].
    ///
    /// Return values: as [`Self::make_orphan`].
    pub(crate) fn orphan_directory(&mut self, directory: &mut Inode) -> Result<()> {
        self.free_blocks_from(directory, 0)?;
        directory.set_size(0);
        let now = self.now();
        directory.set_modification_time(now);
        directory.set_change_time(now);
        self.make_orphan(directory)
    }

    /// Takes orphan `number` off the list: its predecessor (or
    /// `s_last_orphan`) now names its successor. Nothing happens for an
    /// inode this mount did not make an orphan.
    ///
    /// Return values: `Ok(())`, [`Error::Corrupt`], [`Error::Device`].
    fn remove_orphan(&mut self, number: InodeNumber) -> Result<()> {
        let made = &self.orphans.made;
        let Some(index) = made.iter().position(|&(orphan, _)| orphan == number.get()) else {
            return Ok(());
        };
        let next = made
            .get(index + 1)
            .map_or(self.orphans.tail, |&(orphan, _)| orphan);
        match index
            .checked_sub(1)
            .and_then(|before| made.get(before))
            .map(|&(orphan, _)| orphan)
        {
            None => {
                self.superblock.set_last_orphan(next);
                self.superblock_dirty = true;
            }
            Some(previous) => {
                let mut previous = self.read_inode(InodeNumber(previous))?;
                previous.set_deletion_time(next);
                self.write_inode(&previous)?;
            }
        }
        self.orphans.made.remove(index);
        Ok(())
    }

    /// Frees orphan `number` now that the host let go of it.
    ///
    /// Return values: `Ok(())`; [`Error::NotEmpty`] when its rootlink is
    /// the last reference to a directory that is not empty (only a damaged
    /// image gets there; the orphan stays listed); [`Error::Corrupt`],
    /// [`Error::Device`].
    pub(crate) fn free_orphan(&mut self, number: InodeNumber) -> Result<()> {
        let mut inode = self.read_inode(number)?;
        self.check_orphan_rootlink(&inode)?;
        self.remove_orphan(number)?;
        self.free_file(&mut inode)
    }

    /// Reads an inode that operations by inode may use: one in use, or an
    /// orphan the host holds.
    ///
    /// Return values: the inode; [`Error::NotFound`] for a free inode, an
    /// orphan nobody holds, or a number out of range; [`Error::Corrupt`],
    /// [`Error::Device`].
    pub(crate) fn accessible_inode(&mut self, number: InodeNumber) -> Result<Inode> {
        let inode = self.read_inode(number)?;
        if inode.file_type() == FileType::Unknown
            || (inode.links() == 0 && !self.held.contains(&number.get()))
        {
            return Err(Error::NotFound);
        }
        Ok(inode)
    }

    /// Refuses new entries in a directory that only orphans' rootlinks
    /// still reach: it must stay empty so that releasing the last of those
    /// orphans can drop its reference. Costs nothing unless an orphan's
    /// rootlink names `directory`; then a walk from the root decides.
    ///
    /// Return values: `Ok(())`, [`Error::NotFound`] for such a directory,
    /// [`Error::Corrupt`], [`Error::Device`].
    pub(crate) fn require_reachable_directory(&mut self, directory: InodeNumber) -> Result<()> {
        let named_by_orphan = self
            .orphans
            .made
            .iter()
            .any(|&(_, rootlink)| rootlink == directory.get());
        if named_by_orphan && !self.reachable_from_root_without(directory, Reference::Nothing)? {
            return Err(Error::NotFound);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::ProblemKind;
    use crate::device::MemoryDevice;
    use crate::filesystem::MountOptions;
    use crate::format::{format, FormatOptions};

    fn clock() -> u32 {
        1_700_000_000
    }

    fn options() -> MountOptions {
        MountOptions {
            clock,
            ..MountOptions::default()
        }
    }

    /// A file system with three files of some blocks each, held and
    /// unlinked: orphans listed `[c, b, a]`, synced.
    fn with_orphans() -> (FileSystem<MemoryDevice>, [InodeNumber; 3]) {
        let format_options = FormatOptions {
            uuid: [5; 16],
            time: clock(),
            ext2l: false,
            ..FormatOptions::default()
        };
        let mut file_system =
            format(MemoryDevice::new(2 << 20), &format_options, options()).unwrap();
        let root = file_system.root();
        let mut files = [InodeNumber(0); 3];
        for (index, name) in [b"a", b"b", b"c"].iter().enumerate() {
            let file = file_system.create(root, *name, 0o644, 0, 0).unwrap();
            file_system.write(file, 0, &[index as u8; 5000]).unwrap();
            file_system.hold(file).unwrap();
            file_system.unlink(root, *name).unwrap();
            files[index] = file;
        }
        file_system.sync().unwrap();
        (file_system, files)
    }

    /// Edits inode `number` as stored.
    fn edit(
        file_system: &mut FileSystem<MemoryDevice>,
        number: InodeNumber,
        edit_fn: impl FnOnce(&mut Inode),
    ) {
        let mut inode = file_system.read_inode(number).unwrap();
        edit_fn(&mut inode);
        file_system.write_inode(&inode).unwrap();
    }

    /// Syncs, drops the holds (a crash) and mounts again read-write.
    /// Mounts the volume again without releasing anything (as after a
    /// crash). The superblock claims a clean unmount, as a hostile image
    /// may: the mount then walks the list itself, which is what these
    /// tests test (an unclean volume without a journal is checked first,
    /// and one whose list is damaged mounts read-only: `state.rs`).
    fn crash_and_mount(file_system: FileSystem<MemoryDevice>) -> FileSystem<MemoryDevice> {
        let mut file_system = file_system;
        file_system
            .superblock
            .set_state_bits(crate::superblock::STATE_VALID, true);
        file_system.superblock_dirty = true;
        file_system.sync().unwrap();
        FileSystem::mount(file_system.into_device(), options()).unwrap()
    }

    fn orphan_problems(file_system: &mut FileSystem<MemoryDevice>) -> Vec<String> {
        file_system
            .check()
            .unwrap()
            .problems
            .iter()
            .filter(|problem| problem.kind == ProblemKind::Orphan)
            .map(|problem| problem.to_string())
            .collect()
    }

    #[test]
    fn the_list_is_chained_through_the_deletion_time() {
        let (mut file_system, [a, b, c]) = with_orphans();
        assert_eq!(file_system.superblock.last_orphan(), c.get());
        assert_eq!(file_system.read_inode(c).unwrap().deletion_time(), b.get());
        assert_eq!(file_system.read_inode(b).unwrap().deletion_time(), a.get());
        assert_eq!(file_system.read_inode(a).unwrap().deletion_time(), 0);
        file_system.release(b).unwrap();
        assert_eq!(file_system.read_inode(c).unwrap().deletion_time(), a.get());
        file_system.release(c).unwrap();
        assert_eq!(file_system.superblock.last_orphan(), a.get());
        file_system.release(a).unwrap();
        assert_eq!(file_system.superblock.last_orphan(), 0);
    }

    #[test]
    fn a_clean_list_is_freed_at_mount() {
        let (file_system, files) = with_orphans();
        let free_before = file_system.superblock.free_inodes_count();
        let mut file_system = crash_and_mount(file_system);
        assert_eq!(file_system.orphans.cleaned(), 3);
        assert_eq!(file_system.orphans.damage(), None);
        assert_eq!(file_system.superblock.last_orphan(), 0);
        assert_eq!(file_system.superblock.free_inodes_count(), free_before + 3);
        for file in files {
            assert!(!file_system.inode_marked_in_use(file).unwrap());
        }
        assert!(file_system.check().unwrap().is_clean());
    }

    #[test]
    fn a_head_out_of_range_stops_the_walk() {
        for head in [1, 5, 10, 100_000] {
            let (mut file_system, _) = with_orphans();
            file_system.superblock.set_last_orphan(head);
            file_system.superblock_dirty = true;
            let free_before = file_system.superblock.free_inodes_count();
            let mut file_system = crash_and_mount(file_system);
            assert_eq!(file_system.orphans.cleaned(), 0);
            assert_eq!(file_system.orphans.damage(), Some(OUT_OF_RANGE));
            assert_eq!(file_system.superblock.last_orphan(), head);
            assert_eq!(file_system.superblock.free_inodes_count(), free_before);
            let problems = orphan_problems(&mut file_system);
            assert!(
                problems
                    .iter()
                    .any(|problem| problem.contains(OUT_OF_RANGE)),
                "{problems:?}"
            );
            // The three real orphans are now unlisted.
            assert_eq!(problems.len(), 4, "{problems:?}");
        }
    }

    #[test]
    fn a_linked_inode_on_the_list_is_never_freed() {
        let (mut file_system, [a, b, _]) = with_orphans();
        let root = file_system.root();
        let linked = file_system.create(root, b"linked", 0o644, 0, 0).unwrap();
        file_system.write(linked, 0, b"keep me").unwrap();
        // b's successor becomes a linked inode.
        edit(&mut file_system, b, |inode| {
            inode.set_deletion_time(linked.get())
        });
        let mut file_system = crash_and_mount(file_system);
        assert_eq!(file_system.orphans.cleaned(), 2);
        assert_eq!(file_system.orphans.damage(), Some(LINKED));
        assert_eq!(file_system.superblock.last_orphan(), linked.get());
        let mut buffer = [0u8; 7];
        file_system.read(linked, 0, &mut buffer).unwrap();
        assert_eq!(&buffer, b"keep me");
        let problems = orphan_problems(&mut file_system);
        assert!(
            problems.iter().any(|problem| problem.contains(LINKED)),
            "{problems:?}"
        );
        // `a` was cut off the list: marked in use, no links, not listed.
        assert!(
            problems
                .iter()
                .any(|problem| problem.contains(&format!("inode {a} "))
                    && problem.contains("not on the orphan list")),
            "{problems:?}"
        );
        // The next mount stops at once, without looping or freeing.
        let mut file_system = crash_and_mount(file_system);
        assert_eq!(file_system.orphans.cleaned(), 0);
        assert_eq!(file_system.orphans.damage(), Some(LINKED));
        assert_eq!(file_system.stat(linked).unwrap().links, 1);
    }

    #[test]
    fn a_cycle_is_freed_once_and_ends_the_list() {
        let (mut file_system, [a, _, c]) = with_orphans();
        edit(&mut file_system, a, |inode| {
            inode.set_deletion_time(c.get())
        });
        let free_before = file_system.superblock.free_inodes_count();
        let mut file_system = crash_and_mount(file_system);
        assert_eq!(file_system.orphans.cleaned(), 3);
        assert_eq!(file_system.orphans.damage(), Some(CYCLE));
        assert_eq!(file_system.superblock.last_orphan(), 0);
        assert_eq!(file_system.superblock.free_inodes_count(), free_before + 3);
        assert!(file_system.check().unwrap().is_clean());
        // A self-loop, on a read-only mount: counted once, reported.
        let (mut file_system, [_, _, c]) = with_orphans();
        edit(&mut file_system, c, |inode| {
            inode.set_deletion_time(c.get())
        });
        file_system.sync().unwrap();
        let read_only = MountOptions {
            read_only: true,
            ..options()
        };
        let mut file_system = FileSystem::mount(file_system.into_device(), read_only).unwrap();
        assert_eq!(file_system.orphans.listed(), 1);
        assert_eq!(file_system.orphans.damage(), Some(CYCLE));
        let problems = orphan_problems(&mut file_system);
        assert!(
            problems.iter().any(|problem| problem.contains(CYCLE)),
            "{problems:?}"
        );
    }

    #[test]
    fn a_free_or_typeless_inode_on_the_list_stops_the_walk() {
        let (mut file_system, [a, b, _]) = with_orphans();
        // Release `a` behind the list's back: b now names a free inode.
        file_system.held.remove(&a.get());
        let mut inode = file_system.read_inode(a).unwrap();
        file_system.free_file(&mut inode).unwrap();
        edit(&mut file_system, b, |inode| {
            inode.set_deletion_time(a.get())
        });
        let mut file_system = crash_and_mount(file_system);
        assert_eq!(file_system.orphans.cleaned(), 2);
        assert_eq!(file_system.orphans.damage(), Some(FREE));
        assert_eq!(file_system.superblock.last_orphan(), a.get());
        assert!(!orphan_problems(&mut file_system).is_empty());

        let (mut file_system, [_, _, c]) = with_orphans();
        edit(&mut file_system, c, |inode| inode.set_mode(0));
        let mut file_system = crash_and_mount(file_system);
        assert_eq!(file_system.orphans.cleaned(), 0);
        assert_eq!(file_system.orphans.damage(), Some(UNKNOWN_TYPE));
        assert!(!orphan_problems(&mut file_system).is_empty());
    }

    #[test]
    fn an_unlisted_inode_without_links_is_a_problem() {
        let (mut file_system, [_, _, c]) = with_orphans();
        // Drop `c` (the head) from the list without freeing it.
        let next = file_system.read_inode(c).unwrap().deletion_time();
        file_system.superblock.set_last_orphan(next);
        let problems = orphan_problems(&mut file_system);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains(&format!("inode {c} ")), "{problems:?}");
        assert!(
            problems[0].contains("not on the orphan list"),
            "{problems:?}"
        );
    }

    #[test]
    fn an_orphan_whose_rootlink_holds_a_non_empty_directory_stays_listed() {
        let format_options = FormatOptions {
            uuid: [6; 16],
            time: clock(),
            ..FormatOptions::default()
        };
        let mut file_system =
            format(MemoryDevice::new(2 << 20), &format_options, options()).unwrap();
        let root = file_system.root();
        let launcher = file_system.create(root, b"launcher", 0o755, 0, 0).unwrap();
        let package = file_system.mkdir(root, b"package", 0o755, 0, 0).unwrap();
        let program = file_system.create(root, b"program", 0o755, 0, 0).unwrap();
        file_system
            .installer()
            .set_rootlink(launcher, package)
            .unwrap();
        file_system.rmdir(root, b"package").unwrap();
        file_system.hold(launcher).unwrap();
        file_system.unlink(root, b"launcher").unwrap();
        // Behind the library's back (it refuses this: only orphans reach
        // the package root), an entry appears in the package root.
        let mut directory = file_system.directory_inode(package).unwrap();
        file_system
            .add_entry(&mut directory, b"program", program, FileType::RegularFile)
            .unwrap();
        let mut linked = file_system.read_inode(program).unwrap();
        linked.set_links(2);
        file_system.write_inode(&linked).unwrap();
        assert!(file_system.check().unwrap().is_clean());
        // Releasing the launcher would drop the last way into a non-empty
        // directory: refused, and the launcher stays listed.
        assert_eq!(file_system.release(launcher), Err(Error::NotEmpty));
        assert!(file_system.is_orphan(launcher));
        assert_eq!(file_system.superblock.last_orphan(), launcher.get());
        // The next mount stops there too, freeing nothing.
        let mut file_system = crash_and_mount(file_system);
        assert_eq!(file_system.orphans.cleaned(), 0);
        assert_eq!(file_system.orphans.damage(), Some(ROOTLINK_IN_USE));
        assert_eq!(file_system.superblock.last_orphan(), launcher.get());
        assert_eq!(file_system.stat(program).unwrap().links, 2);
        assert!(file_system.inode_marked_in_use(launcher).unwrap());
    }

    #[test]
    fn a_read_only_mount_leaves_the_list_alone() {
        let (file_system, [a, b, c]) = with_orphans();
        let device = file_system.into_device();
        let bytes = device.as_bytes().to_vec();
        let read_only = MountOptions {
            read_only: true,
            ..options()
        };
        let mut file_system = FileSystem::mount(device, read_only).unwrap();
        assert_eq!(file_system.orphans.listed(), 3);
        assert_eq!(file_system.orphans.cleaned(), 0);
        assert_eq!(file_system.check().unwrap().orphans, [c, b, a]);
        file_system.sync().unwrap();
        assert!(file_system.into_device().as_bytes() == bytes.as_slice());
    }
}
