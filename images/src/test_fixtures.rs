// SPDX-License-Identifier: MIT OR Apache-2.0
//! Fixtures the guest tests need that only the installer can make.
//!
//! The escape suite (`apps/escape`) builds most of its laboratory itself
//! at run time, but a directory hard-linked in two places can only be made
//! by the installer (DESIGN §4: programs may not link directories). The
//! test image therefore gets `/lab`:
//!
//! ```text
//! /lab/secret.txt          the secret, outside the jail
//! /lab/outside/shared/     a directory whose on-disk `..` is /lab/outside
//! /lab/jail/shared         the same directory, hard-linked into the jail
//! ```
//!
//! Climbing `..` from `/lab/jail/shared` inside the jail must stay in the
//! jail, whatever the on-disk `..` says.

use anyhow::{anyhow, Context, Result};
use fs_ext2l::{FileDevice, FileSystem, MountOptions};
use std::path::Path;

/// The secret the escape suite looks for (the same as `apps/escape`'s).
pub const SECRET: &[u8] = b"TOPSECRET-7f3a\n";

/// Adds `/lab` to the image at `image`.
pub fn add_escape_lab(image: &Path) -> Result<()> {
    let device =
        FileDevice::open(image, true).with_context(|| format!("opening {}", image.display()))?;
    let mut file_system =
        FileSystem::mount(device, MountOptions::default()).map_err(|e| anyhow!("mounting: {e}"))?;
    let root = file_system.root();
    let mut installer = file_system.installer();
    let fail = |what: &str| {
        let what = what.to_string();
        move |error: fs_ext2l::Error| anyhow!("{what}: {error}")
    };
    let lab = installer
        .mkdir(root, b"lab", 0o755, 0, 0)
        .map_err(fail("mkdir /lab"))?;
    let outside = installer
        .mkdir(lab, b"outside", 0o755, 0, 0)
        .map_err(fail("mkdir /lab/outside"))?;
    let shared = installer
        .mkdir(outside, b"shared", 0o755, 0, 0)
        .map_err(fail("mkdir /lab/outside/shared"))?;
    let jail = installer
        .mkdir(lab, b"jail", 0o755, 0, 0)
        .map_err(fail("mkdir /lab/jail"))?;
    installer
        .link(shared, jail, b"shared")
        .map_err(fail("hard-linking /lab/jail/shared"))?;
    let secret = installer
        .create(lab, b"secret.txt", 0o644, 0, 0)
        .map_err(fail("create /lab/secret.txt"))?;
    installer
        .write(secret, 0, SECRET)
        .map_err(fail("write /lab/secret.txt"))?;
    file_system.sync().map_err(fail("sync"))?;
    let report = file_system.check().map_err(fail("check"))?;
    anyhow::ensure!(
        report.is_clean(),
        "the checker found problems after adding /lab"
    );
    Ok(())
}
