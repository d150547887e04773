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
//!
//! It also gets a running program with a rootlink whose file sits in a
//! writable directory (programs in `/bin` sit in an immutable one, and
//! `/bin/escape` has no rootlink), for the running-program technique:
//!
//! ```text
//! /lab/run/escape          a copy of /bin/escape: immutable, rootlink → /lab/run-root
//! /lab/run-root/marker.txt what that root holds
//! ```
//!
//! Deleting or renaming over `/lab/run/escape` while it runs must be
//! refused (the file is immutable), and its rootlink must keep working.

use anyhow::{anyhow, Context, Result};
use fs_ext2l::{FileDevice, FileSystem, MountOptions};
use std::path::Path;

/// The secret the escape suite looks for (the same as `apps/escape`'s).
pub const SECRET: &[u8] = b"TOPSECRET-7f3a\n";

/// What `/lab/run-root/marker.txt` says (the same as `apps/escape`'s).
pub const RUN_ROOT_MARKER: &[u8] = b"the running program's root\n";

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
    add_rooted_program(&mut file_system, lab)?;
    file_system.sync().map_err(fail("sync"))?;
    let report = file_system.check().map_err(fail("check"))?;
    anyhow::ensure!(
        report.is_clean(),
        "the checker found problems after adding /lab"
    );
    // A clean unmount: the journal emptied, the volume marked valid.
    file_system.unmount().map_err(fail("unmount"))?;
    Ok(())
}

/// `/lab/run/escape` (a copy of `/bin/escape`, immutable, its rootlink
/// naming `/lab/run-root`) and `/lab/run-root/marker.txt`.
fn add_rooted_program(
    file_system: &mut FileSystem<FileDevice>,
    lab: fs_ext2l::InodeNumber,
) -> Result<()> {
    let fail = |what: &str| {
        let what = what.to_string();
        move |error: fs_ext2l::Error| anyhow!("{what}: {error}")
    };
    let root = file_system.root();
    let bin = file_system
        .lookup(root, b"bin")
        .map_err(fail("finding /bin"))?;
    let original = file_system
        .lookup(bin, b"escape")
        .map_err(fail("finding /bin/escape"))?;
    let size = file_system
        .stat(original)
        .map_err(fail("stat /bin/escape"))?
        .size;
    let mut program = vec![0u8; usize::try_from(size).context("/bin/escape's size")?];
    let read = file_system
        .read(original, 0, &mut program)
        .map_err(fail("reading /bin/escape"))?;
    anyhow::ensure!(read == program.len(), "/bin/escape: short read");
    let mut installer = file_system.installer();
    let run = installer
        .mkdir(lab, b"run", 0o755, 0, 0)
        .map_err(fail("mkdir /lab/run"))?;
    let run_root = installer
        .mkdir(lab, b"run-root", 0o755, 0, 0)
        .map_err(fail("mkdir /lab/run-root"))?;
    let marker = installer
        .create(run_root, b"marker.txt", 0o644, 0, 0)
        .map_err(fail("create /lab/run-root/marker.txt"))?;
    installer
        .write(marker, 0, RUN_ROOT_MARKER)
        .map_err(fail("write /lab/run-root/marker.txt"))?;
    let copy = installer
        .create(run, b"escape", 0o755, 0, 0)
        .map_err(fail("create /lab/run/escape"))?;
    installer
        .write(copy, 0, &program)
        .map_err(fail("write /lab/run/escape"))?;
    installer
        .set_rootlink(copy, run_root)
        .map_err(fail("rootlink of /lab/run/escape"))?;
    installer
        .set_immutable(copy, true)
        .map_err(fail("making /lab/run/escape immutable"))?;
    Ok(())
}
