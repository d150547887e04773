// SPDX-License-Identifier: MIT OR Apache-2.0
//! The installer API: the only way to write immutable files, rootlinks and
//! directory hardlinks.
//!
//! DESIGN §8 makes the image builder the sole author of everything that
//! carries ext2's immutable flag, of every rootlink and of every directory
//! hardlink; no syscall can do any of it. The kernel therefore never calls
//! [`FileSystem::installer`]; the image builder and the `ext2l` host tool do.
//! An [`Installer`] borrows the file system and offers the ordinary
//! operations without the immutable checks, plus the three privileged ones.
//! The ext2l invariants still hold for it: reserved names are refused,
//! directory hardlinks never make a cycle, link counts stay exact, and the
//! ext2l feature bit is set as soon as a rootlink or directory hardlink is
//! written.

use crate::device::BlockDevice;
use crate::error::{Error, Result};
use crate::file::SetAttributes;
use crate::filesystem::{FileSystem, Privilege};
use crate::inode::{FileType, InodeFlags, InodeNumber, MAX_LINKS};

/// Privileged operations on a file system, for the image builder.
pub struct Installer<'a, D: BlockDevice> {
    file_system: &'a mut FileSystem<D>,
}

impl<D: BlockDevice> FileSystem<D> {
    /// The installer view of this file system (image builder only).
    pub fn installer(&mut self) -> Installer<'_, D> {
        Installer { file_system: self }
    }
}

impl<D: BlockDevice> Installer<'_, D> {
    /// The file system underneath, for ordinary operations.
    pub fn file_system(&mut self) -> &mut FileSystem<D> {
        self.file_system
    }

    /// [`FileSystem::create`], also inside immutable directories.
    pub fn create(
        &mut self,
        directory: InodeNumber,
        name: &[u8],
        permissions: u16,
        uid: u32,
        gid: u32,
    ) -> Result<InodeNumber> {
        self.file_system.change(|file_system| {
            file_system.create_node_as(
                directory,
                name,
                FileType::RegularFile,
                permissions,
                uid,
                gid,
                0,
                Privilege::Installer,
            )
        })
    }

    /// [`FileSystem::mkdir`], also inside immutable directories.
    pub fn mkdir(
        &mut self,
        directory: InodeNumber,
        name: &[u8],
        permissions: u16,
        uid: u32,
        gid: u32,
    ) -> Result<InodeNumber> {
        self.file_system.change(|file_system| {
            file_system.mkdir_as(directory, name, permissions, uid, gid, Privilege::Installer)
        })
    }

    /// [`FileSystem::symlink`], also inside immutable directories.
    pub fn symlink(
        &mut self,
        directory: InodeNumber,
        name: &[u8],
        target: &[u8],
        uid: u32,
        gid: u32,
    ) -> Result<InodeNumber> {
        self.file_system.change(|file_system| {
            file_system.symlink_as(directory, name, target, uid, gid, Privilege::Installer)
        })
    }

    /// [`FileSystem::write`], also to immutable files.
    pub fn write(&mut self, file: InodeNumber, offset: u64, data: &[u8]) -> Result<usize> {
        self.file_system
            .write_in_pieces(file, offset, data, Privilege::Installer)
    }

    /// [`FileSystem::truncate`], also of immutable files.
    pub fn truncate(&mut self, file: InodeNumber, size: u64) -> Result<()> {
        self.file_system
            .change(|file_system| file_system.truncate_as(file, size, Privilege::Installer))
    }

    /// [`FileSystem::set_attributes`], also of immutable inodes.
    pub fn set_attributes(&mut self, inode: InodeNumber, changes: SetAttributes) -> Result<()> {
        self.file_system.change(|file_system| {
            file_system.set_attributes_as(inode, changes, Privilege::Installer)
        })
    }

    /// [`FileSystem::unlink`], also of immutable files.
    pub fn unlink(&mut self, directory: InodeNumber, name: &[u8]) -> Result<()> {
        self.file_system
            .change(|file_system| file_system.unlink_as(directory, name, Privilege::Installer))
    }

    /// [`FileSystem::rmdir`], also of immutable directories.
    pub fn rmdir(&mut self, directory: InodeNumber, name: &[u8]) -> Result<()> {
        self.file_system
            .change(|file_system| file_system.rmdir_as(directory, name, Privilege::Installer))
    }

    /// [`FileSystem::rename`], also of immutable inodes.
    pub fn rename(
        &mut self,
        source_directory: InodeNumber,
        source_name: &[u8],
        target_directory: InodeNumber,
        target_name: &[u8],
    ) -> Result<()> {
        self.file_system.change(|file_system| {
            file_system.rename_as(
                source_directory,
                source_name,
                target_directory,
                target_name,
                Privilege::Installer,
            )
        })
    }

    /// Adds a name for an existing inode, immutable ones and directories
    /// included. Linking a directory makes a directory hardlink (it counts
    /// as one more link of the directory; its `..` keeps the first parent)
    /// and sets the ext2l feature bit.
    ///
    /// Return values: `Ok(())`, [`Error::WouldCycle`] when `directory` is
    /// reachable from the linked directory, and the errors of
    /// [`FileSystem::link`] other than [`Error::NotPermitted`] and
    /// [`Error::Immutable`].
    pub fn link(
        &mut self,
        existing: InodeNumber,
        directory: InodeNumber,
        name: &[u8],
    ) -> Result<()> {
        self.file_system.change(|file_system| {
            file_system.link_as(existing, directory, name, Privilege::Installer)
        })
    }

    /// Sets or clears the immutable flag.
    ///
    /// Return values: `Ok(())`, [`Error::NotFound`], [`Error::ReadOnly`],
    /// [`Error::Corrupt`], [`Error::Device`].
    pub fn set_immutable(&mut self, inode: InodeNumber, immutable: bool) -> Result<()> {
        self.file_system.change(|file_system| {
            let mut inode = file_system.live_inode(inode)?;
            let mut flags = inode.flags();
            flags.set(InodeFlags::IMMUTABLE, immutable);
            inode.set_flags(flags);
            inode.set_change_time(file_system.now());
            file_system.write_inode(&inode)
        })
    }

    /// Makes regular file `file` a rootlink to directory `root`: the root
    /// the program it holds runs in. The rootlink counts as a link of
    /// `root`; a previous rootlink of `file` is released.
    ///
    /// Return values: `Ok(())`, [`Error::NotPermitted`] when `file` is not a
    /// regular file, [`Error::NotADirectory`], [`Error::TooManyLinks`],
    /// [`Error::NotEmpty`] (the old target would be orphaned),
    /// [`Error::NotFound`], [`Error::ReadOnly`], [`Error::Corrupt`],
    /// [`Error::Device`].
    pub fn set_rootlink(&mut self, file: InodeNumber, root: InodeNumber) -> Result<()> {
        self.file_system.change(|file_system| {
            let inode = file_system.live_inode(file)?;
            if !inode.is_regular() {
                return Err(Error::NotPermitted);
            }
            let target = file_system.directory_inode(root)?;
            let old = inode.rootlink_raw();
            if old == root.get() {
                return Ok(());
            }
            if old != 0 {
                file_system.check_rootlink_release(&inode)?;
            }
            if target.links() >= MAX_LINKS {
                return Err(Error::TooManyLinks);
            }
            let mut target = target;
            let now = file_system.now();
            target.set_links(target.links().saturating_add(1));
            target.set_change_time(now);
            file_system.write_inode(&target)?;
            let mut inode = file_system.read_inode(file)?;
            inode.set_rootlink_raw(root.get());
            inode.set_change_time(now);
            file_system.write_inode(&inode)?;
            file_system.mark_ext2l_in_use();
            if old != 0 {
                file_system.release_rootlink_target(InodeNumber(old))?;
            }
            Ok(())
        })
    }

    /// Removes the rootlink of `file`, if any, releasing its target.
    ///
    /// Return values: `Ok(())`, [`Error::NotEmpty`] when the rootlink is
    /// the last reference to a non-empty directory, [`Error::NotFound`],
    /// [`Error::ReadOnly`], [`Error::Corrupt`], [`Error::Device`].
    pub fn clear_rootlink(&mut self, file: InodeNumber) -> Result<()> {
        self.file_system.change(|file_system| {
            let mut inode = file_system.live_inode(file)?;
            let old = inode.rootlink_raw();
            if old == 0 {
                return Ok(());
            }
            file_system.check_rootlink_release(&inode)?;
            inode.set_rootlink_raw(0);
            inode.set_change_time(file_system.now());
            file_system.write_inode(&inode)?;
            if inode.is_regular() {
                file_system.release_rootlink_target(InodeNumber(old))?;
            }
            Ok(())
        })
    }
}
