// SPDX-License-Identifier: MIT OR Apache-2.0
//! `ext2l check --repair`: the checker's fsck mode.
//!
//! The image is opened read-write and handed to
//! [`FileSystem::mount_and_repair`]: group 1's backups replace a primary
//! superblock or descriptor table that cannot be used, the mount replays
//! a journal that needs recovery and frees the orphans on the orphan
//! list, then the repair's passes run until the checker finds nothing (or
//! a round changes nothing). Each repair is printed as one line (inode,
//! path, what was done); the exit status is `check`'s scale: 0 when the
//! volume is clean afterwards, 4 when damage remains (each remaining
//! problem is printed), 2 when the image cannot be opened, mounted or
//! written (a volume with features this library cannot write is not
//! repaired).

use crate::output::say;
use std::path::Path;

use fs_ext2l::{Error, FileDevice, FileSystem, MountOptions, OnDamage};

use crate::image::host_clock;
use crate::{Failure, Outcome};

/// `ext2l check --repair IMAGE` (see the module doc).
pub fn repair(image: &Path) -> Outcome {
    let device = FileDevice::open(image, true)
        .map_err(|error| Failure::usage(format!("{}: {error}", image.display())))?;
    let options = MountOptions {
        read_only: false,
        cache_bytes: 16 << 20,
        clock: host_clock,
        clean_orphans: true,
        on_damage: OnDamage::ReadOnly,
    };
    let (file_system, report) =
        FileSystem::mount_and_repair(device, options).map_err(|error| match error {
            Error::ReadOnly => Failure::usage(format!(
                "{}: cannot repair: the volume has features this library cannot write",
                image.display()
            )),
            other => Failure::usage(format!("{}: cannot repair: {other}", image.display())),
        })?;
    for line in report.lines() {
        say!("{line}");
    }
    file_system
        .unmount()
        .map_err(|error| Failure::operation(format!("{}: {error}", image.display())))?;
    let count = report.repairs.len() + report.omitted;
    let check = &report.check;
    let summary = format!(
        "{} inodes in use ({} directories), {} blocks in use, {} rootlinks, {} directory hardlinks",
        check.inodes_in_use,
        check.directories,
        check.blocks_in_use,
        check.rootlinks,
        check.directory_hardlinks
    );
    if report.is_clean() {
        let what = if count == 0 {
            String::from("nothing to repair")
        } else {
            format!("{count} repairs")
        };
        say!(
            "{}: clean after repair ({what}): {summary}",
            image.display()
        );
        Ok(())
    } else {
        say!("{summary}");
        Err(Failure::damage(format!(
            "check --repair: {}: {} problems remain after {count} repairs",
            image.display(),
            check.problems.len() + check.omitted
        )))
    }
}
