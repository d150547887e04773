// SPDX-License-Identifier: MIT OR Apache-2.0
//! The root volume's repair at boot (`fsck=`), before it is mounted.
//!
//! A deployed machine has no host to run `ext2l check --repair` on, so the
//! kernel runs the same repair (`fs-ext2l`'s `repair` module) on its root
//! when the volume needs it ([`fs_ext2l::repair_needed`]): it records
//! errors found earlier, or it has no journal and was not cleanly
//! unmounted. A journaled volume cut off while mounted needs only its
//! journal replayed, which the mount does. Every repair is printed on the
//! console (`fsck: …`); the repaired volume is unmounted cleanly, so the
//! mount that follows finds it clean and writable. With `fsck=check`
//! nothing is repaired: such a volume mounts read-only, for a person to
//! repair.
//!
//! This module owns the decision and the console report; it never
//! mounts the root for use (`root_fs` does) and never panics on what the
//! volume holds: a repair that fails leaves the volume to the mount,
//! which then refuses it or mounts it read-only.

use crate::disk::Disk;
use fs_ext2l::{FileSystem, MountOptions};

/// What the kernel does with a root volume that needs repair.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FsckMode {
    /// Repair it before mounting (the default).
    Repair,
    /// Leave it: the mount makes it read-only.
    Check,
}

impl FsckMode {
    /// The mode named `value` (`repair`, `check`), if any.
    pub fn from_name(value: &str) -> Option<FsckMode> {
        match value {
            "repair" => Some(FsckMode::Repair),
            "check" => Some(FsckMode::Check),
            _ => None,
        }
    }
}

/// Repairs the volume on `disk` when `mode` says so and it needs it,
/// printing what was done.
pub fn run(disk: &Disk, mode: FsckMode, options: MountOptions) {
    // The repair mounts a clone of the disk handle: the same file-system
    // code as the root's mount (one instance of the generic library in the
    // kernel), and the disk stays ours whatever the repair does.
    let mut disk = disk.clone();
    let need = match fs_ext2l::repair_needed(&mut disk) {
        Ok(Some(need)) => need,
        Ok(None) => return,
        Err(error) => {
            log::error!("fsck: cannot read the superblock: {error}");
            return;
        }
    };
    if mode == FsckMode::Check {
        log::warn!("fsck: the volume {need}; not repaired (fsck=check): it mounts read-only");
        return;
    }
    log::warn!("fsck: the volume {need}; repairing it");
    let options = MountOptions {
        read_only: false,
        ..options
    };
    let (file_system, report) = match FileSystem::mount_and_repair(disk, options) {
        Ok(repaired) => repaired,
        Err(error) => {
            log::error!("fsck: the repair failed: {error}");
            return;
        }
    };
    // One line per repair, then (if damage remains) per problem left.
    for line in report.lines() {
        log::info!("fsck: {line}");
    }
    if report.is_clean() {
        log::info!(
            "fsck: the volume is clean ({} repairs in {} rounds)",
            report.repairs.len() + report.omitted,
            report.rounds
        );
    } else {
        log::error!(
            "fsck: {} problems remain after the repair; the volume mounts read-only",
            report.check.problems.len() + report.check.omitted
        );
    }
    if let Err(error) = file_system.unmount() {
        log::error!("fsck: writing the repaired volume failed: {error}");
    }
}
