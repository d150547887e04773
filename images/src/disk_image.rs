// SPDX-License-Identifier: MIT OR Apache-2.0
//! The system disk: an ext2l volume built from a manifest.
//!
//! [`build`] turns a [`Manifest`] (`images/manifest.toml` for the default
//! image) and the built programs into a disk:
//!
//! 1. [`prepare`] gathers the prebuilt programs ([`crate::prebuilt`]:
//!    Debian packages, downloaded or found in the cache, and host files),
//!    checks every package — names, paths, limits, links,
//!    calls, signatures ([`crate::package_check`]) — and makes each
//!    package's launcher: a copy of the `launcher` program with the
//!    package's grammar and real program path embedded
//!    (`launcher_grammar::embed`). Nothing is written before this passes.
//! 2. The volume is formatted in `NAME.partial` beside the target (4 KiB
//!    blocks, 256-byte inodes, an ext3/JBD2 journal of `mke2fs`'s size,
//!    through the `fs-ext2l` library, so the
//!    image is exactly what the kernel reads) and filled by
//!    [`crate::package_roots::install`], which also judges what each
//!    declared need reaches in this very image.
//! 3. The library's checker must find nothing; only then is the partial
//!    file renamed over the target. Any failure deletes it: a rejected
//!    build leaves neither an image nor a half-written file.
//!
//! [`ensure`] keeps a disk between runs — files written in the guest
//! persist — and rebuilds it only when it is missing or its inputs
//! changed: a stamp (`NAME.apps`: each program's name, size and FNV-1a
//! hash, and the hash of the manifest and of every file it names) beside
//! the image says what it was built from. A rebuild loses what the guest
//! wrote, so the command says so.
//!
//! Until `apps/launcher` is built, a manifest that skips missing programs
//! gets stand-in launchers: the real program itself (with its rootlink
//! set), so the system still runs, unconfined; the notes say so.

use crate::manifest::{Manifest, MissingPrograms};
use crate::package_check::{self, CheckedPackage, DevelopmentKeys, Problem, Rejected, Rejection};
use crate::package_roots;
use crate::Arch;
use anyhow::{bail, Context, Result};
use fs_ext2l::{format, FileDevice, FormatOptions, MountOptions};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Its block size.
pub const BLOCK_BYTES: u32 = 4096;

/// A built program of `apps/`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Program {
    /// Its name (`apps/NAME`).
    pub name: String,
    /// The ELF file.
    pub bytes: Vec<u8>,
}

impl Program {
    /// Reads the program at `path`, named `name`.
    pub fn read(name: &str, path: &Path) -> Result<Program> {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        Ok(Program {
            name: name.to_string(),
            bytes,
        })
    }
}

/// What [`ensure`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// There was no disk: a new one was made.
    Created,
    /// The inputs changed: the disk was made anew (guest files lost).
    Rebuilt,
    /// The disk was made from these inputs already: kept as it is.
    Kept,
}

/// A manifest ready to be written: checked packages and their launchers.
pub struct Prepared {
    /// The packages, in manifest order.
    pub packages: Vec<CheckedPackage>,
    /// Each package's launcher file, by package name.
    pub launchers: BTreeMap<String, Vec<u8>>,
    /// Things the person building should know (packages left out,
    /// stand-in launchers, programs no entry names).
    pub notes: Vec<String>,
}

fn host_clock() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs().min(u64::from(u32::MAX)) as u32)
        .unwrap_or(0)
}

/// FNV-1a, 64 bits: a stable hash for the stamp (not for security).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The stamp of a disk built from `manifest` and `programs`: one line per
/// program, sorted by name, then the SHA-256 of the manifest's text and
/// of every host file it names (a missing one counts as empty).
pub fn stamp(manifest: &Manifest, programs: &[Program]) -> String {
    let mut lines: Vec<String> = programs
        .iter()
        .map(|program| {
            format!(
                "{} {} {:016x}\n",
                program.name,
                program.bytes.len(),
                fnv1a(&program.bytes)
            )
        })
        .collect();
    lines.sort();
    let mut inputs = Sha256::new();
    inputs.update(manifest.text.as_bytes());
    let sources = manifest
        .files
        .iter()
        .filter_map(|file| file.source.as_ref())
        .chain(
            manifest
                .packages
                .iter()
                .flat_map(|package| package.files.iter().filter_map(|file| file.source.as_ref())),
        );
    for source in sources {
        let bytes = std::fs::read(manifest.base_directory.join(source)).unwrap_or_default();
        inputs.update(source.as_bytes());
        inputs.update(Sha256::digest(&bytes));
    }
    lines.push(format!(
        "manifest {}\n",
        crate::signing::to_hex(&inputs.finalize())
    ));
    lines.concat()
}

/// Where the stamp of the disk at `image` lives.
pub fn stamp_path(image: &Path) -> PathBuf {
    let mut name = image.as_os_str().to_owned();
    name.push(".apps");
    PathBuf::from(name)
}

fn ext2l<T>(what: &str, result: fs_ext2l::Result<T>) -> Result<T> {
    result.map_err(|error| anyhow::anyhow!("{what}: {error}"))
}

/// Checks `manifest` against `programs` built for `arch` and makes the
/// launchers; writes nothing.
///
/// Return values: the prepared packages; [`Rejected`] (inside the error)
/// for refused packages; other errors for a manifest that names programs
/// that are not built, or a shell that is not a package.
pub fn prepare(manifest: &Manifest, programs: &[Program], arch: Arch) -> Result<Prepared> {
    let keys = DevelopmentKeys::for_manifest(manifest)?;
    // Prebuilt programs (Debian packages, host files), unless the caller
    // brought them.
    let mut all_programs = programs.to_vec();
    all_programs.extend(crate::prebuilt::programs(manifest, arch, programs)?);
    let programs = all_programs.as_slice();
    let checked = package_check::check(manifest, programs, arch.name(), &keys)?;
    let mut notes = checked.notes;
    let skip = manifest.image.missing_programs == MissingPrograms::Skip;
    let built = |name: &str| programs.iter().find(|program| program.name == name);
    for name in &manifest.image.unlaunched {
        if built(name).is_none() {
            if !skip {
                bail!("[image] unlaunched: program {name:?} is not built (no apps/{name})");
            }
            notes.push(format!("/bin/{name} left out: its program is not built"));
        }
    }
    let shell = manifest.shell();
    if !checked.packages.iter().any(|p| p.package.name == shell) {
        if manifest.package(shell).is_none() || !skip {
            bail!("[user] shell: {shell:?} is not a package of this image");
        }
        notes.push(format!("no login shell: package {shell:?} is left out"));
    }
    let launcher = built(manifest.launcher());
    if launcher.is_none() {
        if !skip {
            bail!(
                "[image] launcher: program {:?} is not built",
                manifest.launcher()
            );
        }
        notes.push(format!(
            "no {} program: each package's /bin/NAME is its real program (unconfined)",
            manifest.launcher()
        ));
    }
    let mut launchers = BTreeMap::new();
    let mut rejections = Vec::new();
    for package in &checked.packages {
        let name = &package.package.name;
        let bytes = match launcher {
            Some(launcher) => {
                let program_path = format!("/{}", package.program_path());
                match launcher_grammar::embed(
                    &launcher.bytes,
                    &package.grammar,
                    program_path.as_bytes(),
                ) {
                    Ok(bytes) => bytes,
                    Err(error) => {
                        rejections.push(Rejection::package(
                            name,
                            "grammar",
                            Problem::Launcher(error.to_string()),
                        ));
                        continue;
                    }
                }
            }
            None => package.program.clone(),
        };
        launchers.insert(name.clone(), bytes);
    }
    if !rejections.is_empty() {
        return Err(Rejected(rejections).into());
    }
    for program in programs {
        let named = program.name == manifest.launcher()
            || manifest.image.unlaunched.contains(&program.name)
            || manifest
                .packages
                .iter()
                .any(|package| package.program() == program.name);
        if !named {
            notes.push(format!(
                "program {:?} is in apps/ but in no manifest entry: not installed",
                program.name
            ));
        }
    }
    Ok(Prepared {
        packages: checked.packages,
        launchers,
        notes,
    })
}

/// Builds the disk at `image` from scratch (replacing any there) from
/// `manifest` and `programs` built for `arch`, and writes its stamp.
///
/// Return values: the notes of [`Prepared`]; any error leaves no image
/// and no partial file (an image already at `image` is left as it was
/// when the manifest is refused).
pub fn build(
    image: &Path,
    manifest: &Manifest,
    programs: &[Program],
    arch: Arch,
) -> Result<Vec<String>> {
    let prepared = prepare(manifest, programs, arch)
        .with_context(|| format!("building {}", image.display()))?;
    if let Some(parent) = image.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    let mut partial_name = image.as_os_str().to_owned();
    partial_name.push(".partial");
    let partial = PathBuf::from(partial_name);
    let stamp_text = stamp(manifest, programs);
    if let Err(error) = write_image(&partial, manifest, &prepared, programs, &stamp_text) {
        let _ = std::fs::remove_file(&partial);
        return Err(error.context(format!("building {}", image.display())));
    }
    // The stamp goes first: a stamp without its image only causes a
    // rebuild, an image with a stale stamp would be kept wrongly.
    let stamp_file = stamp_path(image);
    let _ = std::fs::remove_file(&stamp_file);
    std::fs::rename(&partial, image)
        .with_context(|| format!("renaming {} to {}", partial.display(), image.display()))?;
    std::fs::write(&stamp_file, stamp_text)
        .with_context(|| format!("writing {}", stamp_file.display()))?;
    Ok(prepared.notes)
}

fn write_image(
    path: &Path,
    manifest: &Manifest,
    prepared: &Prepared,
    programs: &[Program],
    stamp_text: &str,
) -> Result<()> {
    let size = manifest.size_bytes();
    let device =
        FileDevice::create(path, size).with_context(|| format!("creating {}", path.display()))?;
    let now = host_clock();
    let hash = fnv1a(stamp_text.as_bytes()) ^ u64::from(now);
    let mut uuid = [0u8; 16];
    uuid[..8].copy_from_slice(&hash.to_le_bytes());
    uuid[8..].copy_from_slice(&fnv1a(&hash.to_le_bytes()).to_le_bytes());
    let options = FormatOptions {
        size,
        block_size: BLOCK_BYTES,
        inode_size: 256,
        label: b"manux".to_vec(),
        ext2l: true,
        uuid,
        time: now,
        assume_zeroed: true,
        // An ext3/JBD2 journal of mke2fs's size for the volume (inode 8),
        // unless the manifest says none.
        journal_blocks: manifest
            .image
            .journal
            .unwrap_or(true)
            .then(|| {
                fs_ext2l::journal::default_journal_blocks(
                    u32::try_from(size / u64::from(BLOCK_BYTES)).unwrap_or(u32::MAX),
                )
            })
            .flatten(),
        ..FormatOptions::default()
    };
    let mount = MountOptions {
        clock: host_clock,
        ..MountOptions::default()
    };
    let mut file_system = ext2l("formatting", format(device, &options, mount))?;
    package_roots::install(
        &mut file_system,
        manifest,
        &prepared.packages,
        &prepared.launchers,
        programs,
    )?;
    ext2l("syncing", file_system.sync())?;
    let report = ext2l("checking", file_system.check())?;
    if !report.is_clean() {
        let problems: Vec<String> = report.problems.iter().map(|p| p.to_string()).collect();
        bail!("the checker found problems: {}", problems.join("; "));
    }
    // Each root as its package declares it, nothing more or less.
    let declared: Vec<package_roots::Declared> = prepared
        .packages
        .iter()
        .map(|package| {
            let launcher = prepared.launchers.get(&package.package.name);
            package_roots::Declared::from_checked(package, launcher.map(Vec::as_slice))
        })
        .collect();
    let differences = package_roots::audit(&mut file_system, manifest, &declared)?;
    if !differences.is_empty() {
        bail!(
            "the package roots differ from the manifest: {}",
            differences.join("; ")
        );
    }
    let device = ext2l("unmounting", file_system.unmount())?;
    device
        .sync_all()
        .with_context(|| format!("syncing {}", path.display()))?;
    Ok(())
}

/// Compares the package roots of the image at `image` (opened
/// read-only) with what `manifest` declares, by entry alone (every
/// package must be installed: the image of a build that skipped none,
/// such as the guest tests' image). See [`package_roots::audit`].
///
/// Return values: the differences, one line each (empty: as declared);
/// an error if the image cannot be opened or read, or a grammar of the
/// manifest is invalid.
pub fn audit(image: &Path, manifest: &Manifest) -> Result<Vec<String>> {
    let device =
        FileDevice::open(image, false).with_context(|| format!("opening {}", image.display()))?;
    let mount = MountOptions {
        read_only: true,
        ..MountOptions::default()
    };
    let mut file_system = ext2l("mounting", fs_ext2l::FileSystem::mount(device, mount))?;
    let declared = manifest
        .packages
        .iter()
        .map(package_roots::Declared::from_entry)
        .collect::<Result<Vec<_>>>()?;
    package_roots::audit(&mut file_system, manifest, &declared)
}

/// Makes sure the disk at `image` was built from `manifest` and
/// `programs`: creates it when missing, rebuilds it when they changed,
/// keeps it otherwise. Returns what it did and the build's notes.
pub fn ensure(
    image: &Path,
    manifest: &Manifest,
    programs: &[Program],
    arch: Arch,
) -> Result<(Outcome, Vec<String>)> {
    if !image.exists() {
        let notes = build(image, manifest, programs, arch)?;
        return Ok((Outcome::Created, notes));
    }
    let recorded = std::fs::read_to_string(stamp_path(image)).unwrap_or_default();
    if recorded == stamp(manifest, programs) {
        return Ok((Outcome::Kept, Vec::new()));
    }
    let notes = build(image, manifest, programs, arch)?;
    Ok((Outcome::Rebuilt, notes))
}
