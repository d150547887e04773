// SPDX-License-Identifier: MIT OR Apache-2.0
//! Names: create, mkdir, symlink, readlink, link, unlink, rmdir, rename.
//!
//! The rules of DESIGN §4 live here:
//! - a directory's link count is the number of entries naming it (its own
//!   `.`, its subdirectories' `..` and names in any directory) plus the
//!   rootlinks to it; every operation keeps that count exact;
//! - removing one name of a directory that has others (more names or
//!   rootlinks) removes only that name, even if the directory is not empty;
//!   when that name was also the directory's on-disk parent, `..` is pointed
//!   at the directory itself, so the old parent's count drops and nothing
//!   ever refers to a directory that no longer names it;
//! - removing the last reference requires an empty directory;
//! - the last reference of an inode the host holds does not free it: it
//!   becomes an orphan (`orphan.rs`), and new entries go neither into an
//!   orphaned directory nor into one only orphans' rootlinks reach;
//! - every new inode takes its generation from the counter (`generation.rs`);
//! - `rename` refuses to put a directory inside itself, judged by walking
//!   real entries (directory hardlinks included) from the moved directory,
//!   never by following `..`;
//! - reserved dot-only names are refused by every operation that creates a
//!   name; ordinary callers cannot touch immutable inodes or entries of
//!   immutable directories, nor link directories: only the [`crate::Installer`] can.

use alloc::collections::{BTreeSet, VecDeque};
use alloc::vec::Vec;

use crate::bytes::{read_u32, write_u32};
use crate::cache::BlockClass;
use crate::device::BlockDevice;
use crate::error::{Error, Result};
use crate::filesystem::{FileSystem, Privilege};
use crate::inode::{mode, FileType, Inode, InodeNumber, BLOCK_POINTER_BYTES, MAX_LINKS};
use crate::name::{is_dot_or_dot_dot, validate_lookup_name, validate_new_name};

/// Magic number of an extended attribute block header.
const ATTRIBUTE_BLOCK_MAGIC: u32 = 0xEA02_0000;
/// Extra bytes used by large inodes, as e2fsprogs writes them
/// (`sizeof(struct ext2_inode_large) - 128`).
const EXTRA_INODE_SIZE: u16 = 32;

/// A reference about to be dropped, which a reachability test must ignore.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Reference<'a> {
    /// The entry `name` of directory `parent`.
    Entry(InodeNumber, &'a [u8]),
    /// The rootlink of this file.
    Rootlink(InodeNumber),
    /// Already dropped; nothing to ignore.
    Nothing,
}

/// What releasing one reference to a directory will do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Release {
    /// Other references remain: only this one goes.
    Keep,
    /// It was the last reference and the directory is empty: free it.
    Free,
}

impl<D: BlockDevice> FileSystem<D> {
    /// Allocates and initialises a new inode (not yet written).
    fn new_inode(
        &mut self,
        parent: InodeNumber,
        file_type: FileType,
        permissions: u16,
        uid: u32,
        gid: u32,
    ) -> Result<Inode> {
        let number = self.allocate_inode(parent, file_type == FileType::Directory)?;
        // The slot's old generation, before it is cleared: the new one must
        // differ from it (`generation.rs`).
        let previous_generation = self.read_inode(number)?.generation();
        self.clear_inode_slot(number)?;
        let mut inode = Inode::zeroed(number);
        inode.set_mode(file_type.mode_bits() | (permissions & mode::PERMISSION_MASK));
        inode.set_uid(uid);
        inode.set_gid(gid);
        let now = self.now();
        inode.set_access_time(now);
        inode.set_change_time(now);
        inode.set_modification_time(now);
        inode.set_links(1);
        let generation = self.take_generation(previous_generation);
        inode.set_generation(generation);
        if self.geometry.inode_size > 128 {
            inode.set_extra_size(EXTRA_INODE_SIZE);
            inode.set_creation_time(now);
        }
        Ok(inode)
    }

    /// Undoes [`Self::new_inode`] after a later step failed.
    fn abandon_inode(&mut self, inode: &mut Inode) {
        if inode.has_block_map() {
            let _ = self.free_blocks_from(inode, 0);
        }
        let directory = inode.is_directory();
        let _ = self.clear_inode_slot(inode.number);
        let _ = self.free_inode_number(inode.number, directory);
    }

    /// Checks what every creating operation checks: a writable mount, a
    /// usable name, a directory the caller may change, no existing entry.
    fn prepare_new_entry(
        &mut self,
        directory: InodeNumber,
        name: &[u8],
        privilege: Privilege,
    ) -> Result<Inode> {
        self.require_writable()?;
        validate_new_name(name)?;
        let parent = self.directory_inode(directory)?;
        self.require_mutable(&parent, privilege)?;
        if self.find_entry(&parent, name)?.is_some() {
            return Err(Error::Exists);
        }
        self.require_reachable_directory(directory)?;
        Ok(parent)
    }

    /// Creates an empty regular file `name` in `directory`.
    ///
    /// Return values:
    /// - the new inode;
    /// - [`Error::Exists`], [`Error::InvalidName`], [`Error::NameTooLong`];
    /// - [`Error::Immutable`] (immutable directory), [`Error::ReadOnly`],
    ///   [`Error::NoSpace`], [`Error::NotADirectory`], [`Error::NotFound`],
    ///   [`Error::Corrupt`], [`Error::Device`].
    pub fn create(
        &mut self,
        directory: InodeNumber,
        name: &[u8],
        permissions: u16,
        uid: u32,
        gid: u32,
    ) -> Result<InodeNumber> {
        self.change(|file_system| {
            file_system.create_node_as(
                directory,
                name,
                FileType::RegularFile,
                permissions,
                uid,
                gid,
                0,
                Privilege::Ordinary,
            )
        })
    }

    /// Creates a device node, named pipe or socket (or a regular file).
    /// `device` is the encoded device number for character and block devices.
    ///
    /// Return values: as [`Self::create`], plus [`Error::InvalidArgument`]
    /// for a directory or symlink type (use `mkdir` and `symlink`).
    #[allow(
        clippy::too_many_arguments,
        reason = "mirrors mknod(2): place, name, type, mode, owner, device"
    )]
    pub fn create_node(
        &mut self,
        directory: InodeNumber,
        name: &[u8],
        file_type: FileType,
        permissions: u16,
        uid: u32,
        gid: u32,
        device: u32,
    ) -> Result<InodeNumber> {
        self.change(|file_system| {
            file_system.create_node_as(
                directory,
                name,
                file_type,
                permissions,
                uid,
                gid,
                device,
                Privilege::Ordinary,
            )
        })
    }

    #[allow(
        clippy::too_many_arguments,
        reason = "`create_node` plus the caller's privilege"
    )]
    pub(crate) fn create_node_as(
        &mut self,
        directory: InodeNumber,
        name: &[u8],
        file_type: FileType,
        permissions: u16,
        uid: u32,
        gid: u32,
        device: u32,
        privilege: Privilege,
    ) -> Result<InodeNumber> {
        if matches!(
            file_type,
            FileType::Directory | FileType::Symlink | FileType::Unknown
        ) {
            return Err(Error::InvalidArgument);
        }
        let mut parent = self.prepare_new_entry(directory, name, privilege)?;
        let mut inode = self.new_inode(directory, file_type, permissions, uid, gid)?;
        if matches!(file_type, FileType::CharacterDevice | FileType::BlockDevice) {
            // Linux ext2: the old 16-bit encoding in i_block[0] when it
            // fits, the new 32-bit one in i_block[1] otherwise.
            if device < 0x1_0000 {
                inode.set_block_pointer(0, device);
            } else {
                inode.set_block_pointer(1, device);
            }
        }
        self.write_inode(&inode)?;
        if let Err(error) = self.add_entry(&mut parent, name, inode.number, file_type) {
            self.abandon_inode(&mut inode);
            return Err(error);
        }
        Ok(inode.number)
    }

    /// Creates directory `name` in `directory`.
    ///
    /// Return values: the new inode, [`Error::TooManyLinks`] when the parent
    /// has too many subdirectories, and the errors of [`Self::create`].
    pub fn mkdir(
        &mut self,
        directory: InodeNumber,
        name: &[u8],
        permissions: u16,
        uid: u32,
        gid: u32,
    ) -> Result<InodeNumber> {
        self.change(|file_system| {
            file_system.mkdir_as(directory, name, permissions, uid, gid, Privilege::Ordinary)
        })
    }

    pub(crate) fn mkdir_as(
        &mut self,
        directory: InodeNumber,
        name: &[u8],
        permissions: u16,
        uid: u32,
        gid: u32,
        privilege: Privilege,
    ) -> Result<InodeNumber> {
        let mut parent = self.prepare_new_entry(directory, name, privilege)?;
        if parent.links() >= MAX_LINKS {
            return Err(Error::TooManyLinks);
        }
        let mut inode = self.new_inode(directory, FileType::Directory, permissions, uid, gid)?;
        // Its entry in the parent, and its own `.`.
        inode.set_links(2);
        if let Err(error) = self.initialise_directory_block(&mut inode, directory) {
            self.abandon_inode(&mut inode);
            return Err(error);
        }
        self.write_inode(&inode)?;
        if let Err(error) = self.add_entry(&mut parent, name, inode.number, FileType::Directory) {
            self.abandon_inode(&mut inode);
            return Err(error);
        }
        // The new directory's `..` names the parent.
        parent.set_links(parent.links().saturating_add(1));
        self.write_inode(&parent)?;
        Ok(inode.number)
    }

    /// Creates symbolic link `name` in `directory` pointing at `target`.
    /// Targets shorter than 60 bytes live in the inode (a fast symlink),
    /// longer ones in one block.
    ///
    /// Return values: the new inode, [`Error::NameTooLong`] for a target of a
    /// block or more, [`Error::InvalidArgument`] for an empty target or one
    /// containing NUL, and the errors of [`Self::create`].
    pub fn symlink(
        &mut self,
        directory: InodeNumber,
        name: &[u8],
        target: &[u8],
        uid: u32,
        gid: u32,
    ) -> Result<InodeNumber> {
        self.change(|file_system| {
            file_system.symlink_as(directory, name, target, uid, gid, Privilege::Ordinary)
        })
    }

    pub(crate) fn symlink_as(
        &mut self,
        directory: InodeNumber,
        name: &[u8],
        target: &[u8],
        uid: u32,
        gid: u32,
        privilege: Privilege,
    ) -> Result<InodeNumber> {
        if target.is_empty() || target.contains(&0) {
            return Err(Error::InvalidArgument);
        }
        if target.len() >= self.geometry.block_bytes() {
            return Err(Error::NameTooLong);
        }
        let mut parent = self.prepare_new_entry(directory, name, privilege)?;
        let mut inode = self.new_inode(directory, FileType::Symlink, 0o777, uid, gid)?;
        inode.set_size(target.len() as u64);
        if target.len() < BLOCK_POINTER_BYTES {
            if let Some(area) = inode.block_area_mut().get_mut(..target.len()) {
                area.copy_from_slice(target);
            }
        } else {
            let goal = self.inode_goal(inode.number);
            let block = match self.map_or_allocate(&mut inode, 0, goal) {
                Ok((block, _)) => block,
                Err(error) => {
                    self.abandon_inode(&mut inode);
                    return Err(error);
                }
            };
            let data = self
                .cache
                .zeroed(&mut self.device, block, BlockClass::Metadata)?;
            if let Some(area) = data.get_mut(..target.len()) {
                area.copy_from_slice(target);
            }
        }
        self.write_inode(&inode)?;
        if let Err(error) = self.add_entry(&mut parent, name, inode.number, FileType::Symlink) {
            self.abandon_inode(&mut inode);
            return Err(error);
        }
        Ok(inode.number)
    }

    /// The target of a symbolic link.
    ///
    /// Return values: the target bytes, [`Error::NotASymlink`],
    /// [`Error::NotFound`], [`Error::Corrupt`], [`Error::Device`].
    pub fn readlink(&mut self, link: InodeNumber) -> Result<Vec<u8>> {
        let result = self.readlink_unobserved(link);
        self.observe(result)
    }

    /// [`Self::readlink`], without marking damage it finds.
    fn readlink_unobserved(&mut self, link: InodeNumber) -> Result<Vec<u8>> {
        let inode = self.accessible_inode(link)?;
        if !inode.is_symlink() {
            return Err(Error::NotASymlink);
        }
        let size = inode.size();
        if inode.is_fast_symlink() {
            let text = inode.block_area().get(..size as usize).unwrap_or(&[]);
            return Ok(text.into());
        }
        if size >= u64::from(self.geometry.block_size) {
            return Err(Error::corrupt_inode(
                "symbolic link longer than a block",
                link.get(),
            ));
        }
        let block = self.map_block(&inode, 0)?.ok_or(Error::corrupt_inode(
            "symbolic link has no data block",
            link.get(),
        ))?;
        let data = self
            .cache
            .read(&mut self.device, block, BlockClass::Metadata)?;
        Ok(data.get(..size as usize).unwrap_or(&[]).into())
    }

    /// The rootlink of a regular file: the directory it names, if any.
    ///
    /// Return values: the target, [`Error::NotFound`], [`Error::Corrupt`],
    /// [`Error::Device`].
    pub fn rootlink(&mut self, file: InodeNumber) -> Result<Option<InodeNumber>> {
        let result = self.rootlink_unobserved(file);
        self.observe(result)
    }

    /// [`Self::rootlink`], without marking damage it finds.
    fn rootlink_unobserved(&mut self, file: InodeNumber) -> Result<Option<InodeNumber>> {
        Ok(self.accessible_inode(file)?.metadata().rootlink)
    }

    /// Adds the name `name` in `directory` for the existing inode `existing`.
    /// Directories cannot be linked this way (only by the installer), nor
    /// can immutable inodes.
    ///
    /// Return values: `Ok(())`, [`Error::NotPermitted`] for a directory,
    /// [`Error::Immutable`], [`Error::TooManyLinks`], and the errors of
    /// [`Self::create`].
    pub fn link(
        &mut self,
        existing: InodeNumber,
        directory: InodeNumber,
        name: &[u8],
    ) -> Result<()> {
        self.change(|file_system| {
            file_system.link_as(existing, directory, name, Privilege::Ordinary)
        })
    }

    pub(crate) fn link_as(
        &mut self,
        existing: InodeNumber,
        directory: InodeNumber,
        name: &[u8],
        privilege: Privilege,
    ) -> Result<()> {
        let mut parent = self.prepare_new_entry(directory, name, privilege)?;
        let target = self.live_inode(existing)?;
        self.require_mutable(&target, privilege)?;
        if target.is_directory() {
            if privilege != Privilege::Installer {
                return Err(Error::NotPermitted);
            }
            if existing == directory || self.is_reachable(existing, directory, false)? {
                return Err(Error::WouldCycle);
            }
        }
        if target.links() >= MAX_LINKS {
            return Err(Error::TooManyLinks);
        }
        let file_type = target.file_type();
        self.add_entry(&mut parent, name, existing, file_type)?;
        let mut target = self.read_inode(existing)?;
        target.set_links(target.links().saturating_add(1));
        target.set_change_time(self.now());
        self.write_inode(&target)?;
        if file_type == FileType::Directory {
            self.mark_ext2l_in_use();
        }
        Ok(())
    }

    /// Whether directory `target` can be reached from directory `from` by
    /// following entries (never `..`): the cycle test of DESIGN §4. With
    /// `through_rootlinks`, the rootlinks of regular files met on the way are
    /// followed too (for moves, which must not leave anything reachable only
    /// through itself).
    pub(crate) fn is_reachable(
        &mut self,
        from: InodeNumber,
        target: InodeNumber,
        through_rootlinks: bool,
    ) -> Result<bool> {
        let mut visited = BTreeSet::new();
        let mut queue = VecDeque::new();
        visited.insert(from);
        queue.push_back(from);
        while let Some(directory) = queue.pop_front() {
            if directory == target {
                return Ok(true);
            }
            let inode = match self.directory_inode(directory) {
                Ok(inode) => inode,
                Err(Error::NotADirectory | Error::NotFound) => continue,
                Err(error) => return Err(error),
            };
            for (_, child, file_type) in self.child_entries(&inode)? {
                if let Some(next) = self.walk_step(child, file_type, through_rootlinks) {
                    if visited.insert(next) {
                        queue.push_back(next);
                    }
                }
            }
        }
        Ok(false)
    }

    /// Where a walk goes from an entry: the directory itself, or (when
    /// asked) a regular file's rootlink target.
    fn walk_step(
        &mut self,
        child: InodeNumber,
        file_type: FileType,
        through_rootlinks: bool,
    ) -> Option<InodeNumber> {
        match file_type {
            FileType::Directory => Some(child),
            FileType::RegularFile | FileType::Unknown => {
                if file_type == FileType::RegularFile && !through_rootlinks {
                    return None;
                }
                let inode = self.read_inode(child).ok()?;
                if inode.is_directory() {
                    return Some(child);
                }
                if through_rootlinks
                    && inode.is_regular()
                    && inode.links() > 0
                    && inode.rootlink_raw() != 0
                {
                    return Some(InodeNumber(inode.rootlink_raw()));
                }
                None
            }
            _ => None,
        }
    }

    /// Whether `target` stays reachable from the root, through entries and
    /// rootlinks, once the reference `ignored` is gone.
    pub(crate) fn reachable_from_root_without(
        &mut self,
        target: InodeNumber,
        ignored: Reference<'_>,
    ) -> Result<bool> {
        let root = InodeNumber::ROOT;
        if target == root {
            return Ok(true);
        }
        let mut visited = BTreeSet::new();
        let mut queue = VecDeque::new();
        visited.insert(root);
        queue.push_back(root);
        while let Some(directory) = queue.pop_front() {
            let Ok(inode) = self.directory_inode(directory) else {
                continue;
            };
            for (name, child, file_type) in self.child_entries(&inode)? {
                if let Reference::Entry(parent, ignored_name) = ignored {
                    if parent == directory && ignored_name == name.as_slice() {
                        continue;
                    }
                }
                if let Reference::Rootlink(file) = ignored {
                    if file == child {
                        continue;
                    }
                }
                let Some(next) = self.walk_step(child, file_type, true) else {
                    continue;
                };
                if next == target {
                    return Ok(true);
                }
                if visited.insert(next) {
                    queue.push_back(next);
                }
            }
        }
        Ok(false)
    }

    /// How many references to a directory exist besides its own `.`, a `..`
    /// pointing at itself and its subdirectories' `..`: its names elsewhere
    /// and the rootlinks to it.
    fn other_references(&mut self, directory: &Inode) -> Result<u32> {
        let links = u32::from(directory.links());
        let self_parent = match self.dot_dot(directory) {
            Ok(found) if found.inode == directory.number => 1,
            _ => 0,
        };
        if links <= 2 + self_parent {
            return Ok(links.saturating_sub(1 + self_parent));
        }
        let mut back_references = 0u32;
        // A subdirectory named twice here still has one `..`: count each once.
        let mut counted = BTreeSet::new();
        for (_, child, file_type) in self.child_entries(directory)? {
            if file_type != FileType::Directory && file_type != FileType::Unknown {
                continue;
            }
            if !counted.insert(child) {
                continue;
            }
            let Ok(child_inode) = self.read_inode(child) else {
                continue;
            };
            if !child_inode.is_directory() || child_inode.links() == 0 {
                continue;
            }
            if let Ok(found) = self.dot_dot(&child_inode) {
                if found.inode == directory.number {
                    back_references += 1;
                }
            }
        }
        Ok(links.saturating_sub(1 + self_parent + back_references))
    }

    /// Decides what dropping the reference `dropped` to `directory` does;
    /// refuses with [`Error::NotEmpty`] when it is the last way in (the last
    /// reference, or the last one not inside the directory itself) and the
    /// directory has entries.
    pub(crate) fn plan_directory_release(
        &mut self,
        directory: &Inode,
        dropped: Reference<'_>,
    ) -> Result<Release> {
        if self.other_references(directory)? > 1 {
            // Other references remain, but they may all come from inside
            // the directory (a rootlink of a file it contains): then this
            // was the last way in after all.
            if matches!(dropped, Reference::Nothing)
                || self.reachable_from_root_without(directory.number, dropped)?
            {
                return Ok(Release::Keep);
            }
            return Err(Error::NotEmpty);
        }
        if self.directory_is_empty(directory)? {
            Ok(Release::Free)
        } else {
            Err(Error::NotEmpty)
        }
    }

    /// Drops one reference to a directory whose entry (in `name_parent`) or
    /// rootlink has already gone, as planned by [`Self::plan_directory_release`].
    pub(crate) fn release_directory_reference(
        &mut self,
        number: InodeNumber,
        plan: Release,
        name_parent: Option<InodeNumber>,
    ) -> Result<()> {
        let mut directory = self.directory_inode(number)?;
        match plan {
            Release::Keep => {
                directory.set_links(directory.links().saturating_sub(1));
                directory.set_change_time(self.now());
                self.write_inode(&directory)?;
                if let Some(parent) = name_parent {
                    if self.dot_dot(&directory)?.inode == parent {
                        // `..` may only name a directory that names this
                        // one: point it at the directory itself.
                        self.set_dot_dot(&mut directory, number)?;
                        directory.set_links(directory.links().saturating_add(1));
                        self.write_inode(&directory)?;
                        self.adjust_links(parent, -1)?;
                    }
                }
                Ok(())
            }
            Release::Free => {
                let parent = self.dot_dot(&directory).map(|found| found.inode).ok();
                if self.is_held(number) {
                    self.orphan_directory(&mut directory)?;
                } else {
                    self.free_file(&mut directory)?;
                }
                if let Some(parent) = parent {
                    if parent != number {
                        self.adjust_links(parent, -1)?;
                    }
                }
                Ok(())
            }
        }
    }

    /// Adds `delta` to an inode's link count (for `..` changes).
    fn adjust_links(&mut self, number: InodeNumber, delta: i32) -> Result<()> {
        let mut inode = match self.live_inode(number) {
            Ok(inode) => inode,
            // The parent is already gone (damaged image): nothing to adjust.
            Err(Error::NotFound) => return Ok(()),
            Err(error) => return Err(error),
        };
        let links = i32::from(inode.links()) + delta;
        inode.set_links(links.clamp(0, i32::from(u16::MAX)) as u16);
        inode.set_change_time(self.now());
        self.write_inode(&inode)
    }

    /// Frees an inode whose last reference went: its blocks, its extended
    /// attribute block reference, its rootlink reference and its number.
    pub(crate) fn free_file(&mut self, inode: &mut Inode) -> Result<()> {
        let rootlink = if inode.is_regular() {
            inode.rootlink_raw()
        } else {
            0
        };
        if inode.has_block_map() {
            self.free_blocks_from(inode, 0)?;
        }
        let attribute_block = inode.file_acl();
        if attribute_block != 0 {
            self.release_attribute_block(attribute_block, inode.number)?;
            inode.set_file_acl(0);
        }
        let directory = inode.is_directory();
        inode.set_links(0);
        inode.set_size(0);
        inode.set_sectors(0);
        inode.set_rootlink_raw(0);
        inode.set_deletion_time(self.now());
        self.write_inode(inode)?;
        self.free_inode_number(inode.number, directory)?;
        if rootlink != 0 {
            self.release_rootlink_target(InodeNumber(rootlink))?;
        }
        Ok(())
    }

    /// Drops the reference a rootlink held on its target directory.
    pub(crate) fn release_rootlink_target(&mut self, target: InodeNumber) -> Result<()> {
        let Ok(directory) = self.directory_inode(target) else {
            // A rootlink to something that is not a directory (damaged
            // image): there is no count to fix.
            return Ok(());
        };
        let plan = self.plan_directory_release(&directory, Reference::Nothing)?;
        self.release_directory_reference(target, plan, None)
    }

    /// Refuses early when dropping a rootlink would orphan a non-empty directory.
    pub(crate) fn check_rootlink_release(&mut self, file: &Inode) -> Result<()> {
        if !file.is_regular() || file.rootlink_raw() == 0 {
            return Ok(());
        }
        if let Ok(directory) = self.directory_inode(InodeNumber(file.rootlink_raw())) {
            self.plan_directory_release(&directory, Reference::Rootlink(file.number))?;
        }
        Ok(())
    }

    /// Drops an inode's reference to an extended attribute block, freeing
    /// the block with its last reference (`h_refcount` at offset 4).
    fn release_attribute_block(&mut self, block: u32, owner: InodeNumber) -> Result<()> {
        if !self.geometry.is_valid_block(block) || self.is_metadata_block(block) {
            return Ok(());
        }
        let data = self
            .cache
            .write(&mut self.device, block, BlockClass::Metadata)?;
        if read_u32(data, 0) != ATTRIBUTE_BLOCK_MAGIC {
            // Not an attribute block: leave it alone rather than free
            // something another file may own.
            return Ok(());
        }
        let references = read_u32(data, 4);
        if references > 1 {
            write_u32(data, 4, references - 1);
            Ok(())
        } else {
            self.free_block(block, owner)
        }
    }

    /// Drops one name of a non-directory inode; with its last link it is
    /// freed, or becomes an orphan when the host holds it (`orphan.rs`).
    fn drop_file_link(&mut self, number: InodeNumber) -> Result<()> {
        let mut inode = self.read_inode(number)?;
        let links = inode.links().saturating_sub(1);
        inode.set_links(links);
        inode.set_change_time(self.now());
        if links > 0 {
            self.write_inode(&inode)
        } else if self.is_held(number) {
            self.make_orphan(&mut inode)
        } else {
            self.free_file(&mut inode)
        }
    }

    /// Removes the name `name` of a non-directory from `directory`; the
    /// inode is freed with its last link.
    ///
    /// Return values: `Ok(())`, [`Error::IsADirectory`], [`Error::NotFound`],
    /// [`Error::Immutable`] (the directory or the file), [`Error::NotEmpty`]
    /// (the file's rootlink is the last way into a non-empty directory),
    /// [`Error::InvalidName`], [`Error::ReadOnly`], [`Error::Corrupt`],
    /// [`Error::Device`].
    pub fn unlink(&mut self, directory: InodeNumber, name: &[u8]) -> Result<()> {
        self.change(|file_system| file_system.unlink_as(directory, name, Privilege::Ordinary))
    }

    pub(crate) fn unlink_as(
        &mut self,
        directory: InodeNumber,
        name: &[u8],
        privilege: Privilege,
    ) -> Result<()> {
        self.require_writable()?;
        validate_lookup_name(name)?;
        if is_dot_or_dot_dot(name) {
            return Err(Error::InvalidName);
        }
        let mut parent = self.directory_inode(directory)?;
        self.require_mutable(&parent, privilege)?;
        let found = self.find_entry(&parent, name)?.ok_or(Error::NotFound)?;
        let target = self.live_inode(found.inode)?;
        if target.is_directory() {
            return Err(Error::IsADirectory);
        }
        self.require_mutable(&target, privilege)?;
        if target.links() <= 1 {
            self.check_rootlink_release(&target)?;
        }
        self.remove_entry(&mut parent, name)?;
        self.drop_file_link(found.inode)
    }

    /// Removes the directory name `name` from `directory`. When the
    /// directory has other names or rootlinks only this name goes (the
    /// directory may have entries); otherwise it must be empty and is freed.
    ///
    /// Return values: `Ok(())`, [`Error::NotADirectory`], [`Error::NotEmpty`],
    /// [`Error::NotFound`], [`Error::Immutable`], [`Error::InvalidName`]
    /// (`.`, `..`, reserved names), [`Error::ReadOnly`], [`Error::Corrupt`],
    /// [`Error::Device`].
    pub fn rmdir(&mut self, directory: InodeNumber, name: &[u8]) -> Result<()> {
        self.change(|file_system| file_system.rmdir_as(directory, name, Privilege::Ordinary))
    }

    pub(crate) fn rmdir_as(
        &mut self,
        directory: InodeNumber,
        name: &[u8],
        privilege: Privilege,
    ) -> Result<()> {
        self.require_writable()?;
        validate_lookup_name(name)?;
        if is_dot_or_dot_dot(name) {
            return Err(Error::InvalidName);
        }
        let mut parent = self.directory_inode(directory)?;
        self.require_mutable(&parent, privilege)?;
        let found = self.find_entry(&parent, name)?.ok_or(Error::NotFound)?;
        let target = self.live_inode(found.inode)?;
        if !target.is_directory() {
            return Err(Error::NotADirectory);
        }
        if target.number == InodeNumber::ROOT {
            return Err(Error::NotPermitted);
        }
        self.require_mutable(&target, privilege)?;
        let plan = self.plan_directory_release(&target, Reference::Entry(directory, name))?;
        self.remove_entry(&mut parent, name)?;
        self.release_directory_reference(found.inode, plan, Some(directory))
    }

    /// Moves the entry `source_name` of `source_directory` to
    /// `target_directory` as `target_name`, replacing an existing entry
    /// there: a file by a file, a directory by a directory that is empty or
    /// has other names.
    ///
    /// Return values: `Ok(())`, [`Error::WouldCycle`] when a directory would
    /// end up inside itself, [`Error::NotEmpty`], [`Error::IsADirectory`],
    /// [`Error::NotADirectory`], [`Error::TooManyLinks`], [`Error::Immutable`],
    /// [`Error::InvalidName`], [`Error::NameTooLong`], [`Error::NotFound`],
    /// [`Error::NoSpace`], [`Error::ReadOnly`], [`Error::Corrupt`],
    /// [`Error::Device`].
    pub fn rename(
        &mut self,
        source_directory: InodeNumber,
        source_name: &[u8],
        target_directory: InodeNumber,
        target_name: &[u8],
    ) -> Result<()> {
        self.change(|file_system| {
            file_system.rename_as(
                source_directory,
                source_name,
                target_directory,
                target_name,
                Privilege::Ordinary,
            )
        })
    }

    pub(crate) fn rename_as(
        &mut self,
        source_directory: InodeNumber,
        source_name: &[u8],
        target_directory: InodeNumber,
        target_name: &[u8],
        privilege: Privilege,
    ) -> Result<()> {
        self.require_writable()?;
        validate_lookup_name(source_name)?;
        if is_dot_or_dot_dot(source_name) {
            return Err(Error::InvalidName);
        }
        validate_new_name(target_name)?;
        let source_parent = self.directory_inode(source_directory)?;
        let target_parent = self.directory_inode(target_directory)?;
        self.require_mutable(&source_parent, privilege)?;
        self.require_mutable(&target_parent, privilege)?;
        if source_directory != target_directory {
            self.require_reachable_directory(target_directory)?;
        }
        let source_entry = self
            .find_entry(&source_parent, source_name)?
            .ok_or(Error::NotFound)?;
        let source = self.live_inode(source_entry.inode)?;
        self.require_mutable(&source, privilege)?;
        if source_directory == target_directory && source_name == target_name {
            return Ok(());
        }
        let moving_directory = source.is_directory();
        let existing = self.find_entry(&target_parent, target_name)?;
        let mut replaced: Option<(InodeNumber, Option<Release>)> = None;
        if let Some(existing) = &existing {
            if existing.inode == source.number {
                // Two names of one inode: POSIX says rename does nothing.
                return Ok(());
            }
            let victim = self.live_inode(existing.inode)?;
            self.require_mutable(&victim, privilege)?;
            if moving_directory {
                if !victim.is_directory() {
                    return Err(Error::NotADirectory);
                }
                let plan = self.plan_directory_release(
                    &victim,
                    Reference::Entry(target_directory, target_name),
                )?;
                replaced = Some((victim.number, Some(plan)));
            } else {
                if victim.is_directory() {
                    return Err(Error::IsADirectory);
                }
                if victim.links() <= 1 {
                    self.check_rootlink_release(&victim)?;
                }
                replaced = Some((victim.number, None));
            }
        }
        let mut moves_parent = false;
        if source.is_regular() && source.rootlink_raw() != 0 && source_directory != target_directory
        {
            // A launcher must not move under the root it opens: that root
            // could then be reachable only through itself.
            let root = InodeNumber(source.rootlink_raw());
            if target_directory == root || self.is_reachable(root, target_directory, true)? {
                return Err(Error::WouldCycle);
            }
        }
        if moving_directory && source_directory != target_directory {
            if target_directory == source.number
                || self.is_reachable(source.number, target_directory, true)?
            {
                return Err(Error::WouldCycle);
            }
            moves_parent = self.dot_dot(&source)?.inode == source_directory;
            if moves_parent && target_parent.links() >= MAX_LINKS {
                return Err(Error::TooManyLinks);
            }
        }

        // The new name first: if it cannot be added, nothing has changed.
        let file_type = source.file_type();
        let mut target_parent = self.directory_inode(target_directory)?;
        match &existing {
            Some(existing) => self.retarget_entry(
                &mut target_parent,
                existing.location,
                source.number,
                file_type,
            )?,
            None => self.add_entry(&mut target_parent, target_name, source.number, file_type)?,
        }
        let mut source_parent = self.directory_inode(source_directory)?;
        self.remove_entry(&mut source_parent, source_name)?;
        match replaced {
            Some((victim, Some(plan))) => {
                self.release_directory_reference(victim, plan, Some(target_directory))?
            }
            Some((victim, None)) => self.drop_file_link(victim)?,
            None => {}
        }
        let mut source = self.read_inode(source.number)?;
        if moves_parent {
            self.set_dot_dot(&mut source, target_directory)?;
            self.adjust_links(source_directory, -1)?;
            self.adjust_links(target_directory, 1)?;
            source = self.read_inode(source.number)?;
        }
        source.set_change_time(self.now());
        self.write_inode(&source)
    }
}
