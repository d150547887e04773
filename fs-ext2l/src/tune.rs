// SPDX-License-Identifier: MIT OR Apache-2.0
//! Turning the ext2l feature bit on and off (`ext2l tune`).
//!
//! The bit tells stock tools to keep their hands off (DESIGN §4). Turning
//! it on is always allowed. Turning it off is allowed only when nothing on
//! the volume needs it — no rootlink and no directory with two names — which
//! the checker establishes; then stock `e2fsck` may check and repair the
//! volume again. Both the primary superblock and every backup are updated,
//! so `e2fsck`'s comparison of the backups with the primary stays quiet.

use crate::device::BlockDevice;
use crate::error::{Error, Result};
use crate::features::ReadOnlyCompatibleFeatures;
use crate::filesystem::FileSystem;
use crate::superblock::{field, Superblock, EXT2_MAGIC, SUPERBLOCK_SIZE};

impl<D: BlockDevice> FileSystem<D> {
    /// Sets or clears the ext2l `ro_compat` bit in the superblock and its backups.
    ///
    /// Return values: `Ok(())`, [`Error::FeatureInUse`] when clearing it
    /// while rootlinks or directory hardlinks exist, [`Error::ReadOnly`],
    /// [`Error::Device`].
    pub fn set_ext2l_feature(&mut self, enabled: bool) -> Result<()> {
        self.change(|file_system| file_system.set_ext2l_feature_unobserved(enabled))
    }

    /// [`Self::set_ext2l_feature`], without marking damage it finds.
    fn set_ext2l_feature_unobserved(&mut self, enabled: bool) -> Result<()> {
        self.require_writable()?;
        if !enabled {
            let report = self.check()?;
            if report.rootlinks > 0 || report.directory_hardlinks > 0 {
                return Err(Error::FeatureInUse);
            }
        }
        self.superblock
            .set_read_only_compatible(ReadOnlyCompatibleFeatures::EXT2L, enabled);
        self.superblock_dirty = true;
        let features = self.superblock.features();
        self.edit_backup_superblocks(|backup| backup.set_features(features))?;
        self.sync()
    }

    /// Applies `edit` to every backup superblock (groups 1, and powers of
    /// 3, 5 and 7 with `sparse_super`) and writes it back; a backup
    /// without the magic number is left alone. The primary is the
    /// caller's (it is written at `sync`).
    ///
    /// Return values: `Ok(())`, or [`Error::Device`].
    pub(crate) fn edit_backup_superblocks(&mut self, edit: impl Fn(&mut Superblock)) -> Result<()> {
        for group in 1..self.geometry.group_count {
            if !self.geometry.group_has_superblock(group) {
                continue;
            }
            let offset = self
                .geometry
                .block_offset(self.geometry.group_first_block(group));
            let mut raw = [0u8; SUPERBLOCK_SIZE];
            self.device.read_at(offset, &mut raw)?;
            let mut backup = Superblock::from_bytes(raw);
            if backup.get_u16(field::MAGIC) != EXT2_MAGIC {
                continue;
            }
            edit(&mut backup);
            self.device.write_at(offset, backup.as_bytes())?;
        }
        Ok(())
    }
}
