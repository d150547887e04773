// SPDX-License-Identifier: MIT OR Apache-2.0
//! Installing a checked manifest into an ext2l volume: the shared tree,
//! the home, `/bin`, and one nameless root per package (DESIGN §8, steps 1
//! to 4).
//!
//! [`install`] works on a freshly formatted volume (the image builder's
//! temporary file) in five phases:
//!
//! 1. **Shared tree**: every `[[directory]]` and `[[file]]` of the
//!    manifest, the user's home (writable), every `[[link]]`, and `/bin`.
//! 2. **Skeleton**: an empty root per package, made under a staging
//!    directory, and its launcher `/bin/NAME` with its rootlink set to
//!    that root; the unlaunched programs (`init`, the test programs) in
//!    `/bin`.
//! 3. **Judgement**: each declared need is resolved in this image, inode
//!    by inode (no symbolic link is followed), and everything it reaches
//!    through directory entries — directory hardlinks included — is
//!    computed. A need is refused if that set holds the root, the home, a
//!    writable directory, a package root or a launcher (a call must be
//!    declared in `calls`, not smuggled in as a file), or if the need lies
//!    outside what its publisher's `may-declare` paths reach. Spelling
//!    does not matter: `/etc/fonts` and `/share/fonts` naming one
//!    directory are judged as that directory. Any refusal ends the build
//!    here, before a root is filled (the caller deletes the temporary
//!    file).
//! 4. **Roots**: each root gets `bin/NAME` (the real program: one inode
//!    for all the packages whose program is the same, hard-linked), the
//!    launchers of the packages it calls hard-linked into its `bin/`, the
//!    device files it declares in `dev/` (character-device inodes with
//!    Linux's numbers; `[image] devices` puts them in the top-level
//!    root's `/dev` in phase 1), its own files, and its needs hard-linked in (directory hardlinks for
//!    directories, so the directory is shared, not copied).
//! 5. **Seal**: everything the installer wrote is made immutable except
//!    the root directory `/`, the home and the writable directories; the
//!    staging names are removed, so a package root has no name at all and
//!    is reached only through its launcher's rootlink.
//!
//! The resulting layout:
//!
//! ```text
//! /                     writable (init's root)
//! /bin/NAME             launcher of package NAME (rootlink → its root), or
//!                       an unlaunched program (init, hello, fault, …); a
//!                       package named like an unlaunched program has its
//!                       launcher only in its callers' roots
//! /etc/…                the shared tree, immutable
//! /home/user/           the home: writable, never declarable
//! (nameless root of P)  bin/P (the real program), bin/CALLED (launchers),
//!                       dev/DEVICE (the device files P declares), P's
//!                       files, P's needs (hard links)
//! ```

use crate::disk_image::Program;
use crate::manifest::{DeviceFile, Manifest, ProgramSource};
use crate::package_check::{
    self, path_components, CheckedPackage, FileContent, Problem, Rejected, Rejection, Scope,
    SHELL_PROGRAM,
};
use anyhow::{anyhow, bail, ensure, Result};
use fs_ext2l::{BlockDevice, FileSystem, FileType, InodeNumber};
use std::collections::{BTreeMap, BTreeSet};

/// The staging directory package roots are made in, removed at the end.
pub const STAGING: &str = "packages-being-installed";
/// Where launchers with no name in `/bin` are made (a package that shares
/// its name with an unlaunched program), removed at the end.
pub const STAGING_LAUNCHERS: &str = "launchers-being-installed";

/// Permission bits of device files: anyone may read and write them.
const DEVICE_MODE: u16 = 0o666;

/// Permission bits of directories the installer makes.
const DIRECTORY_MODE: u16 = 0o755;
/// Permission bits of programs and launchers.
const PROGRAM_MODE: u16 = 0o755;

/// What one package became.
#[derive(Clone, Debug)]
pub struct InstalledPackage {
    /// Its name.
    pub name: String,
    /// Its root directory (nameless).
    pub root: InodeNumber,
    /// Its launcher.
    pub launcher: InodeNumber,
    /// Whether the launcher is `/bin/NAME` (else `/bin/NAME` is the
    /// unlaunched program of that name, and the launcher is named only in
    /// its callers' roots).
    pub top_level: bool,
}

/// What [`install`] made.
#[derive(Clone, Debug, Default)]
pub struct Installed {
    /// The packages, in manifest order.
    pub packages: Vec<InstalledPackage>,
    /// The home directory.
    pub home: Option<InodeNumber>,
}

fn ext2l<T>(what: impl FnOnce() -> String, result: fs_ext2l::Result<T>) -> Result<T> {
    result.map_err(|error| anyhow!("{}: {error}", what()))
}

/// The installer's bookkeeping: what it made, and what stays writable.
struct Writer<'f, D: BlockDevice> {
    file_system: &'f mut FileSystem<D>,
    /// Inodes to seal at the end.
    made: Vec<InodeNumber>,
    /// Directories that stay writable, with their image path.
    writable: BTreeMap<InodeNumber, String>,
}

impl<D: BlockDevice> Writer<'_, D> {
    /// The directory `components` below `base`, made (immutable-to-be)
    /// where missing.
    fn directories(
        &mut self,
        base: InodeNumber,
        components: &[&str],
        shown: &str,
    ) -> Result<InodeNumber> {
        let mut directory = base;
        for component in components {
            directory = match self.file_system.lookup(directory, component.as_bytes()) {
                Ok(found) => {
                    let metadata = ext2l(|| format!("stat {shown}"), self.file_system.stat(found))?;
                    ensure!(
                        metadata.file_type == FileType::Directory,
                        "{shown}: {component} is not a directory"
                    );
                    found
                }
                Err(fs_ext2l::Error::NotFound) => {
                    let made = ext2l(
                        || format!("mkdir {shown}"),
                        self.file_system.installer().mkdir(
                            directory,
                            component.as_bytes(),
                            DIRECTORY_MODE,
                            0,
                            0,
                        ),
                    )?;
                    self.made.push(made);
                    made
                }
                Err(error) => bail!("{shown}: {error}"),
            };
        }
        Ok(directory)
    }

    /// A new regular file `name` in `directory` holding `bytes`.
    fn file(
        &mut self,
        directory: InodeNumber,
        name: &str,
        bytes: &[u8],
        mode: u16,
        shown: &str,
    ) -> Result<InodeNumber> {
        let mut installer = self.file_system.installer();
        let inode = ext2l(
            || format!("create {shown}"),
            installer.create(directory, name.as_bytes(), mode, 0, 0),
        )?;
        let mut offset = 0usize;
        while offset < bytes.len() {
            let written = ext2l(
                || format!("write {shown}"),
                installer.write(inode, offset as u64, &bytes[offset..]),
            )?;
            ensure!(written > 0, "write {shown}: no progress");
            offset += written;
        }
        self.made.push(inode);
        Ok(inode)
    }

    /// Another name, `name` in `directory`, for `inode`.
    fn link(
        &mut self,
        inode: InodeNumber,
        directory: InodeNumber,
        name: &str,
        shown: &str,
    ) -> Result<()> {
        ext2l(
            || format!("link {shown}"),
            self.file_system
                .installer()
                .link(inode, directory, name.as_bytes()),
        )
    }

    /// Resolves image path `path` from the root without following
    /// symbolic links.
    fn resolve(&mut self, path: &str) -> Option<InodeNumber> {
        let components = path_components(path, Scope::Image).ok()?;
        let mut inode = self.file_system.root();
        for component in components {
            let metadata = self.file_system.stat(inode).ok()?;
            if metadata.file_type != FileType::Directory {
                return None;
            }
            inode = self.file_system.lookup(inode, component.as_bytes()).ok()?;
        }
        let metadata = self.file_system.stat(inode).ok()?;
        (metadata.file_type != FileType::Symlink).then_some(inode)
    }

    /// Every inode reachable from `start` through directory entries
    /// (directory hardlinks included, rootlinks not followed), `start`
    /// included.
    fn reach(&mut self, start: InodeNumber) -> Result<BTreeSet<InodeNumber>> {
        let mut seen = BTreeSet::from([start]);
        let mut pending = vec![start];
        while let Some(inode) = pending.pop() {
            let metadata = ext2l(
                || format!("stat inode {}", inode.get()),
                self.file_system.stat(inode),
            )?;
            if metadata.file_type != FileType::Directory {
                continue;
            }
            let entries = ext2l(
                || format!("reading directory inode {}", inode.get()),
                self.file_system.entries(inode),
            )?;
            for entry in entries {
                if entry.name == b"." || entry.name == b".." {
                    continue;
                }
                if seen.insert(entry.inode) {
                    pending.push(entry.inode);
                }
            }
        }
        Ok(seen)
    }
}

/// Splits an image path into its parent's components and its last name.
fn split_last<'p>(components: &[&'p str], shown: &str) -> Result<(Vec<&'p str>, &'p str)> {
    let (last, parents) = components
        .split_last()
        .ok_or_else(|| anyhow!("{shown}: the root itself"))?;
    Ok((parents.to_vec(), last))
}

/// Installs `packages` (checked from `manifest`) and the rest of the
/// manifest into `file_system`, a freshly formatted volume. `launchers`
/// holds each package's launcher file (by package name); `programs` the
/// built programs (for the unlaunched ones).
///
/// Return values: what was made; [`Rejected`] (inside the error) when a
/// need fails its judgement; any other error for a manifest the image
/// cannot hold (a shared path twice, a link to nothing, no space).
pub fn install<D: BlockDevice>(
    file_system: &mut FileSystem<D>,
    manifest: &Manifest,
    packages: &[CheckedPackage],
    launchers: &BTreeMap<String, Vec<u8>>,
    programs: &[Program],
) -> Result<Installed> {
    let mut writer = Writer {
        file_system,
        made: Vec::new(),
        writable: BTreeMap::new(),
    };
    let root = writer.file_system.root();
    // 1. The shared tree, the home, /bin.
    shared_tree(&mut writer, manifest)?;
    let home_components = path_components(&manifest.user.home, Scope::Image)
        .map_err(|problem| anyhow!("[user] home: {problem}"))?;
    let (home_parent, home_name) = split_last(&home_components, "[user] home")?;
    let parent = writer.directories(root, &home_parent, &manifest.user.home)?;
    let home = ext2l(
        || format!("mkdir {}", manifest.user.home),
        writer
            .file_system
            .installer()
            .mkdir(parent, home_name.as_bytes(), DIRECTORY_MODE, 0, 0),
    )?;
    writer.writable.insert(home, manifest.user.home.clone());
    shared_links(&mut writer, manifest)?;
    let bin = ext2l(
        || "mkdir /bin".into(),
        writer
            .file_system
            .installer()
            .mkdir(root, b"bin", DIRECTORY_MODE, 0, 0),
    )?;
    writer.made.push(bin);
    devices(&mut writer, root, &manifest.image.devices, "/dev")?;

    // 2. Empty roots, launchers, unlaunched programs.
    let staging = ext2l(
        || format!("mkdir /{STAGING}"),
        writer
            .file_system
            .installer()
            .mkdir(root, STAGING.as_bytes(), 0o700, 0, 0),
    )?;
    let launcher_staging = ext2l(
        || format!("mkdir /{STAGING_LAUNCHERS}"),
        writer
            .file_system
            .installer()
            .mkdir(root, STAGING_LAUNCHERS.as_bytes(), 0o700, 0, 0),
    )?;
    let mut installed = Installed {
        packages: Vec::new(),
        home: Some(home),
    };
    for checked in packages {
        let name = &checked.package.name;
        let package_root = ext2l(
            || format!("mkdir the root of {name}"),
            writer
                .file_system
                .installer()
                .mkdir(staging, name.as_bytes(), DIRECTORY_MODE, 0, 0),
        )?;
        writer.made.push(package_root);
        let bytes = launchers
            .get(name)
            .ok_or_else(|| anyhow!("no launcher made for {name}"))?;
        // `/bin/NAME` belongs to the unlaunched program of that name, if
        // there is one; the launcher is then named only in its callers'
        // roots.
        let top_level = !package_check::has_top_level_program(manifest, programs, name);
        let (directory, shown) = if top_level {
            (bin, format!("/bin/{name}"))
        } else {
            (launcher_staging, format!("the launcher of {name}"))
        };
        let launcher = writer.file(directory, name, bytes, PROGRAM_MODE, &shown)?;
        ext2l(
            || format!("rootlink {shown}"),
            writer
                .file_system
                .installer()
                .set_rootlink(launcher, package_root),
        )?;
        installed.packages.push(InstalledPackage {
            name: name.clone(),
            root: package_root,
            launcher,
            top_level,
        });
    }
    for name in &manifest.image.unlaunched {
        let Some(program) = programs.iter().find(|program| &program.name == name) else {
            // Checked by the caller: only absent when the manifest lets
            // missing programs be skipped.
            continue;
        };
        writer.file(
            bin,
            name,
            &program.bytes,
            PROGRAM_MODE,
            &format!("/bin/{name}"),
        )?;
    }

    // 3. Judge every need in this image.
    judge_needs(
        &mut writer,
        manifest,
        packages,
        &installed,
        [staging, launcher_staging],
    )?;

    // 4. Fill the roots.
    let launcher_of: BTreeMap<&str, InodeNumber> = installed
        .packages
        .iter()
        .map(|package| (package.name.as_str(), package.launcher))
        .collect();
    // Packages with the same program (the applets of one multi-call
    // binary) share its inode: one file on the disk, parsed once by the
    // kernel's program cache.
    let mut program_inodes: BTreeMap<String, InodeNumber> = BTreeMap::new();
    for (checked, package) in packages.iter().zip(&installed.packages) {
        fill_root(
            &mut writer,
            checked,
            package.root,
            &launcher_of,
            &mut program_inodes,
        )?;
    }

    // 5. Seal, then take the roots' names away.
    let made = std::mem::take(&mut writer.made);
    for inode in made {
        if writer.writable.contains_key(&inode) {
            continue;
        }
        ext2l(
            || format!("chattr +i inode {}", inode.get()),
            writer.file_system.installer().set_immutable(inode, true),
        )?;
    }
    for package in &installed.packages {
        ext2l(
            || format!("unnaming the root of {}", package.name),
            writer
                .file_system
                .installer()
                .rmdir(staging, package.name.as_bytes()),
        )?;
    }
    ext2l(
        || format!("rmdir /{STAGING}"),
        writer
            .file_system
            .installer()
            .rmdir(root, STAGING.as_bytes()),
    )?;
    for package in installed
        .packages
        .iter()
        .filter(|package| !package.top_level)
    {
        ext2l(
            || format!("unnaming the launcher of {}", package.name),
            writer
                .file_system
                .installer()
                .unlink(launcher_staging, package.name.as_bytes()),
        )?;
    }
    ext2l(
        || format!("rmdir /{STAGING_LAUNCHERS}"),
        writer
            .file_system
            .installer()
            .rmdir(root, STAGING_LAUNCHERS.as_bytes()),
    )?;
    Ok(installed)
}

/// Phase 1: `[[directory]]`, `[[file]]`.
fn shared_tree<D: BlockDevice>(writer: &mut Writer<'_, D>, manifest: &Manifest) -> Result<()> {
    let root = writer.file_system.root();
    for (index, directory) in manifest.directories.iter().enumerate() {
        let shown = format!("[[directory]] #{} ({})", index + 1, directory.path);
        let components = path_components(&directory.path, Scope::Image)
            .map_err(|problem| anyhow!("{shown}: {problem}"))?;
        let (parents, last) = split_last(&components, &shown)?;
        let parent = writer.directories(root, &parents, &shown)?;
        let mode = directory.mode.unwrap_or(DIRECTORY_MODE);
        ensure!(mode <= 0o777, "{shown}: mode {mode:#o} beyond 0o777");
        let inode = ext2l(
            || shown.clone(),
            writer
                .file_system
                .installer()
                .mkdir(parent, last.as_bytes(), mode, 0, 0),
        )?;
        writer.made.push(inode);
        if directory.writable {
            writer.writable.insert(inode, directory.path.clone());
        }
    }
    for (index, file) in manifest.files.iter().enumerate() {
        let shown = format!("[[file]] #{} ({})", index + 1, file.path);
        let components = path_components(&file.path, Scope::Image)
            .map_err(|problem| anyhow!("{shown}: {problem}"))?;
        let (parents, last) = split_last(&components, &shown)?;
        let bytes = match (&file.source, &file.text) {
            (Some(source), None) => {
                path_components(source, Scope::Source)
                    .map_err(|problem| anyhow!("{shown}: source: {problem}"))?;
                let host = manifest.base_directory.join(source);
                std::fs::read(&host)
                    .map_err(|error| anyhow!("{shown}: {}: {error}", host.display()))?
            }
            (None, Some(text)) => text.as_bytes().to_vec(),
            _ => bail!("{shown}: give exactly one of `source` and `text`"),
        };
        let mode = file.mode.unwrap_or(0o644);
        ensure!(mode <= 0o777, "{shown}: mode {mode:#o} beyond 0o777");
        let parent = writer.directories(root, &parents, &shown)?;
        writer.file(parent, last, &bytes, mode, &shown)?;
    }
    Ok(())
}

/// Phase 1, after the home: `[[link]]` (which may name the home, to be
/// refused when declared).
fn shared_links<D: BlockDevice>(writer: &mut Writer<'_, D>, manifest: &Manifest) -> Result<()> {
    let root = writer.file_system.root();
    for (index, link) in manifest.links.iter().enumerate() {
        let shown = format!("[[link]] #{} ({} → {})", index + 1, link.path, link.target);
        let components = path_components(&link.path, Scope::Image)
            .map_err(|problem| anyhow!("{shown}: {problem}"))?;
        let (parents, last) = split_last(&components, &shown)?;
        let target = writer
            .resolve(&link.target)
            .ok_or_else(|| anyhow!("{shown}: the target is not in the image"))?;
        let parent = writer.directories(root, &parents, &shown)?;
        writer.link(target, parent, last, &shown)?;
    }
    Ok(())
}

/// Phase 3: every need against the forbidden inodes and its publisher's
/// rights.
fn judge_needs<D: BlockDevice>(
    writer: &mut Writer<'_, D>,
    manifest: &Manifest,
    packages: &[CheckedPackage],
    installed: &Installed,
    [staging, launcher_staging]: [InodeNumber; 2],
) -> Result<()> {
    let root = writer.file_system.root();
    // What can never be declared, and how to say it.
    let mut forbidden: BTreeMap<InodeNumber, String> = BTreeMap::new();
    for (inode, path) in &writer.writable {
        let what = if Some(*inode) == installed.home {
            format!("the home {path}")
        } else {
            format!("the writable directory {path}")
        };
        forbidden.insert(*inode, what);
    }
    for package in &installed.packages {
        forbidden.insert(
            package.root,
            format!("the root of package {:?}", package.name),
        );
        forbidden.insert(
            package.launcher,
            format!(
                "the launcher of package {:?} (a call is declared in `calls`)",
                package.name
            ),
        );
    }
    forbidden.insert(staging, "the package roots".into());
    forbidden.insert(launcher_staging, "the launchers".into());
    forbidden.insert(root, "the root".into());
    let sealed: BTreeSet<InodeNumber> = writer
        .made
        .iter()
        .copied()
        .filter(|inode| !writer.writable.contains_key(inode))
        .collect();

    let mut rejections = Vec::new();
    let mut allowed: BTreeMap<&str, BTreeSet<InodeNumber>> = BTreeMap::new();
    for publisher in &manifest.publishers {
        let mut reach = BTreeSet::new();
        for (index, path) in publisher.may_declare.iter().enumerate() {
            match writer.resolve(path) {
                Some(inode) => reach.extend(writer.reach(inode)?),
                None => rejections.push(Rejection {
                    entry: format!("publisher {:?}", publisher.name),
                    field: format!("may-declare[{index}]"),
                    problem: Problem::NotInImage(path.clone()),
                }),
            }
        }
        allowed.insert(publisher.name.as_str(), reach);
    }
    for checked in packages {
        let package = &checked.package;
        for (index, need) in package.needs.iter().enumerate() {
            let field = format!("needs[{index}].path");
            let Some(inode) = writer.resolve(&need.path) else {
                rejections.push(Rejection::package(
                    &package.name,
                    field,
                    Problem::NotInImage(need.path.clone()),
                ));
                continue;
            };
            let reach = writer.reach(inode)?;
            // The most telling reason first: the root, the home, writable
            // directories, then roots and launchers.
            let hit = [root]
                .into_iter()
                .chain(installed.home)
                .chain(writer.writable.keys().copied())
                .chain(installed.packages.iter().flat_map(|p| [p.root, p.launcher]))
                .chain([staging, launcher_staging])
                .find(|inode| reach.contains(inode));
            if let Some(hit) = hit {
                rejections.push(Rejection::package(
                    &package.name,
                    field,
                    Problem::Forbidden(need.path.clone(), forbidden[&hit].clone()),
                ));
                continue;
            }
            // Anything else the seal will not make immutable (the
            // formatter's /lost+found, say) is writable too.
            if let Some(writable) = reach.iter().find(|inode| !sealed.contains(inode)) {
                let what = match writer.file_system.lookup(root, b"lost+found") {
                    Ok(lost) if lost == *writable => "the writable directory /lost+found".into(),
                    _ => format!("writable inode {}", writable.get()),
                };
                rejections.push(Rejection::package(
                    &package.name,
                    field,
                    Problem::Forbidden(need.path.clone(), what),
                ));
                continue;
            }
            let may = allowed
                .get(package.publisher.as_str())
                .is_some_and(|allowed| allowed.contains(&inode));
            if !may {
                rejections.push(Rejection::package(
                    &package.name,
                    field,
                    Problem::MayNotDeclare(need.path.clone()),
                ));
            }
        }
    }
    if rejections.is_empty() {
        Ok(())
    } else {
        Err(Rejected(rejections).into())
    }
}

/// Phase 4: one package's root.
fn fill_root<D: BlockDevice>(
    writer: &mut Writer<'_, D>,
    checked: &CheckedPackage,
    root: InodeNumber,
    launcher_of: &BTreeMap<&str, InodeNumber>,
    program_inodes: &mut BTreeMap<String, InodeNumber>,
) -> Result<()> {
    let package = &checked.package;
    let name = &package.name;
    let shown = |path: &str| format!("package {name}: {path}");
    let bin = writer.directories(root, &["bin"], &shown("bin"))?;
    match program_inodes.get(&package.program()) {
        Some(&program) => writer.link(program, bin, name, &shown(&checked.program_path()))?,
        None => {
            let program = writer.file(
                bin,
                name,
                &checked.program,
                PROGRAM_MODE,
                &shown(&checked.program_path()),
            )?;
            program_inodes.insert(package.program(), program);
        }
    }
    if let Some(shell) = &checked.interpreter {
        // A script's interpreter: the real shell, one inode with the
        // shell package's own `bin/sh`.
        let path = format!("bin/{SHELL_PROGRAM}");
        match program_inodes.get(SHELL_PROGRAM) {
            Some(&program) => writer.link(program, bin, SHELL_PROGRAM, &shown(&path))?,
            None => {
                let program =
                    writer.file(bin, SHELL_PROGRAM, shell, PROGRAM_MODE, &shown(&path))?;
                program_inodes.insert(SHELL_PROGRAM.into(), program);
            }
        }
    }
    for call in &checked.launched_calls {
        let launcher = launcher_of
            .get(call.as_str())
            .ok_or_else(|| anyhow!("{}: no launcher for {call}", shown("calls")))?;
        writer.link(*launcher, bin, call, &shown(&format!("bin/{call}")))?;
    }
    // Regular files and symbolic links first, hard links once their
    // targets exist.
    let mut by_path: BTreeMap<String, InodeNumber> = BTreeMap::new();
    by_path.insert(
        checked.program_path(),
        writer
            .file_system
            .lookup(bin, name.as_bytes())
            .map_err(|e| anyhow!("{e}"))?,
    );
    for (file, content) in package.files.iter().zip(&checked.files) {
        let components = path_components(&file.path, Scope::PackageRoot)
            .map_err(|problem| anyhow!("{}: {problem}", shown(&file.path)))?;
        let (parents, last) = split_last(&components, &shown(&file.path))?;
        let parent = writer.directories(root, &parents, &shown(&file.path))?;
        match content {
            FileContent::Regular { bytes, mode } => {
                let inode = writer.file(parent, last, bytes, *mode, &shown(&file.path))?;
                by_path.insert(file.path.clone(), inode);
            }
            FileContent::Symlink(target) => {
                let inode = ext2l(
                    || shown(&file.path),
                    writer.file_system.installer().symlink(
                        parent,
                        last.as_bytes(),
                        target.as_bytes(),
                        0,
                        0,
                    ),
                )?;
                writer.made.push(inode);
            }
            FileContent::HardLink(_) => {}
        }
    }
    for (file, content) in package.files.iter().zip(&checked.files) {
        if let FileContent::HardLink(target) = content {
            let components = path_components(&file.path, Scope::PackageRoot)
                .map_err(|problem| anyhow!("{}: {problem}", shown(&file.path)))?;
            let (parents, last) = split_last(&components, &shown(&file.path))?;
            let parent = writer.directories(root, &parents, &shown(&file.path))?;
            let inode = *by_path
                .get(target)
                .ok_or_else(|| anyhow!("{}: link target {target} missing", shown(&file.path)))?;
            writer.link(inode, parent, last, &shown(&file.path))?;
        }
    }
    devices(writer, root, &package.devices, &shown("dev"))?;
    for need in &package.needs {
        let inode = writer
            .resolve(&need.path)
            .ok_or_else(|| anyhow!("{}: not in the image", shown(&need.path)))?;
        let components = path_components(need.root_path(), Scope::PackageRoot)
            .map_err(|problem| anyhow!("{}: {problem}", shown(need.root_path())))?;
        let (parents, last) = split_last(&components, &shown(need.root_path()))?;
        let parent = writer.directories(root, &parents, &shown(need.root_path()))?;
        writer.link(inode, parent, last, &shown(need.root_path()))?;
    }
    Ok(())
}

/// Makes `dev/NAME` in `root` for each of `devices`: a character-device
/// inode with the device's Linux number, readable and writable by all
/// (the kernel opens it as the device, DESIGN §8).
fn devices<D: BlockDevice>(
    writer: &mut Writer<'_, D>,
    root: InodeNumber,
    devices: &[DeviceFile],
    shown: &str,
) -> Result<()> {
    if devices.is_empty() {
        return Ok(());
    }
    let dev = writer.directories(root, &["dev"], shown)?;
    for device in devices {
        let inode = ext2l(
            || format!("mknod {shown}/{}", device.name()),
            writer.file_system.create_node(
                dev,
                device.name().as_bytes(),
                FileType::CharacterDevice,
                DEVICE_MODE,
                0,
                0,
                device.number(),
            ),
        )?;
        writer.made.push(inode);
    }
    Ok(())
}

/// What one package's root and launcher must be, as its entry declares
/// them: what [`audit`] compares an image with.
#[derive(Clone, Debug)]
pub struct Declared {
    /// The package's name: its launcher is `bin/NAME`, its program
    /// `bin/NAME` inside its root.
    pub name: String,
    /// The paths of the files it ships, relative to its root.
    pub files: Vec<String>,
    /// Its needs: the image path and the path inside its root.
    pub needs: Vec<(String, String)>,
    /// The packages whose launchers are in its `bin/`.
    pub calls: Vec<String>,
    /// Its device files, in its `dev/`.
    pub devices: Vec<DeviceFile>,
    /// Its launcher's grammar.
    pub grammar: launcher_grammar::Grammar,
    /// The launcher file, byte for byte, when known (the image builder
    /// knows it; an audit of an image from elsewhere checks the embedded
    /// grammar and program path instead).
    pub launcher: Option<Vec<u8>>,
    /// The real program, byte for byte, when known.
    pub program: Option<Vec<u8>>,
    /// The program is a `#!/bin/sh` script: the root holds the real
    /// shell as `bin/sh`.
    pub script: bool,
}

impl Declared {
    /// What `package` declares, by its manifest entry alone: every call
    /// but one to itself, the grammar of its entry.
    ///
    /// Return values: the declaration; an error if its grammar is
    /// invalid.
    pub fn from_entry(package: &crate::manifest::Package) -> Result<Declared> {
        let grammar = match &package.grammar {
            Some(description) => launcher_grammar::Grammar::try_from(description.clone())
                .map_err(|error| anyhow!("package {:?}, field grammar: {error}", package.name))?,
            None => launcher_grammar::Grammar::empty(),
        };
        Ok(Declared {
            name: package.name.clone(),
            files: package.files.iter().map(|file| file.path.clone()).collect(),
            needs: package
                .needs
                .iter()
                .map(|need| (need.path.clone(), need.root_path().to_string()))
                .collect(),
            calls: package
                .calls
                .iter()
                .filter(|call| **call != package.name)
                .cloned()
                .collect(),
            devices: package.devices.clone(),
            grammar,
            launcher: None,
            program: None,
            script: matches!(package.program_source(), ProgramSource::Script { .. }),
        })
    }

    /// What a checked package declares, with its launcher and program
    /// bytes (the calls are those installed: less calls to skipped
    /// packages).
    pub fn from_checked(package: &CheckedPackage, launcher: Option<&[u8]>) -> Declared {
        Declared {
            name: package.package.name.clone(),
            files: package
                .package
                .files
                .iter()
                .map(|file| file.path.clone())
                .collect(),
            needs: package
                .package
                .needs
                .iter()
                .map(|need| (need.path.clone(), need.root_path().to_string()))
                .collect(),
            calls: package.launched_calls.clone(),
            devices: package.package.devices.clone(),
            grammar: package.grammar.clone(),
            launcher: launcher.map(<[u8]>::to_vec),
            program: Some(package.program.clone()),
            script: package.interpreter.is_some(),
        }
    }

    /// Every path its root must hold, and nothing else: `bin`, `bin/NAME`,
    /// `bin/CALL` for each call, `dev/DEVICE` for each device, each file
    /// and each need with their
    /// parents (not what is inside a need: that is the shared tree's).
    pub fn expected_paths(&self) -> BTreeSet<String> {
        let mut paths = BTreeSet::from(["bin".to_string(), format!("bin/{}", self.name)]);
        if self.script {
            paths.insert(format!("bin/{SHELL_PROGRAM}"));
        }
        for call in &self.calls {
            paths.insert(format!("bin/{call}"));
        }
        if !self.devices.is_empty() {
            paths.insert("dev".to_string());
        }
        for device in &self.devices {
            paths.insert(format!("dev/{}", device.name()));
        }
        for path in self.files.iter().chain(self.needs.iter().map(|(_, at)| at)) {
            let components: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
            for count in 1..=components.len() {
                paths.insert(components[..count].join("/"));
            }
        }
        paths
    }
}

/// Every path below `directory` (relative, `/`-separated) with its
/// inode, not going into the paths in `stop` (a package's needs, which
/// are the shared tree's). Directories are walked once each, so a
/// directory hardlink cannot make the walk loop.
fn walk<D: BlockDevice>(
    file_system: &mut FileSystem<D>,
    directory: InodeNumber,
    stop: &BTreeSet<String>,
) -> Result<BTreeMap<String, InodeNumber>> {
    let mut found = BTreeMap::new();
    let mut seen = BTreeSet::from([directory]);
    let mut pending = vec![(directory, String::new())];
    while let Some((inode, prefix)) = pending.pop() {
        let entries = ext2l(|| format!("listing {prefix}/"), file_system.entries(inode))?;
        for entry in entries {
            if entry.name == b"." || entry.name == b".." {
                continue;
            }
            let name = String::from_utf8_lossy(&entry.name).into_owned();
            let path = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            found.insert(path.clone(), entry.inode);
            let metadata = ext2l(|| format!("stat {path}"), file_system.stat(entry.inode))?;
            if metadata.file_type == FileType::Directory
                && !stop.contains(&path)
                && seen.insert(entry.inode)
            {
                pending.push((entry.inode, path));
            }
        }
    }
    Ok(found)
}

/// The whole content of file `inode`.
fn read_whole<D: BlockDevice>(
    file_system: &mut FileSystem<D>,
    inode: InodeNumber,
) -> Result<Vec<u8>> {
    let size = ext2l(|| "stat".into(), file_system.stat(inode))?.size;
    let size = usize::try_from(size).map_err(|_| anyhow!("a file of {size} bytes"))?;
    let mut bytes = vec![0u8; size];
    let mut done = 0;
    while done < size {
        let read = ext2l(
            || "read".into(),
            file_system.read(inode, done as u64, &mut bytes[done..]),
        )?;
        ensure!(read > 0, "a file ends before its size");
        done += read;
    }
    Ok(bytes)
}

/// Compares the package roots of an installed image with their
/// declarations: for each package, its launcher (found as `/bin/NAME`,
/// or in a caller's `bin/` when `/bin/NAME` is an unlaunched program) is
/// an immutable regular file whose rootlink names the root and which
/// carries the package's grammar and program path (or is byte for byte
/// the launcher built); the root is immutable and holds exactly
/// [`Declared::expected_paths`], each immutable; `bin/NAME` is the real
/// program (no rootlink); each `bin/CALL` is the callee's launcher inode;
/// each need is the shared tree's inode; and no package root has a name
/// anywhere in the image.
///
/// Return values: the differences found, one line each (empty: the image
/// is as declared); an error if the image cannot be read.
pub fn audit<D: BlockDevice>(
    file_system: &mut FileSystem<D>,
    manifest: &Manifest,
    declared: &[Declared],
) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    let root = file_system.root();
    let bin = ext2l(|| "/bin".into(), file_system.lookup(root, b"bin"))?;
    // Launchers: /bin/NAME, else in the bin/ of a caller found so far.
    let mut launchers: BTreeMap<String, InodeNumber> = BTreeMap::new();
    let mut roots: BTreeMap<String, InodeNumber> = BTreeMap::new();
    loop {
        let mut progress = false;
        for package in declared {
            if launchers.contains_key(&package.name) {
                continue;
            }
            let found = if manifest.image.unlaunched.contains(&package.name) {
                declared
                    .iter()
                    .filter(|caller| caller.calls.contains(&package.name))
                    .filter_map(|caller| roots.get(&caller.name))
                    .find_map(|&caller_root| {
                        let caller_bin = file_system.lookup(caller_root, b"bin").ok()?;
                        file_system.lookup(caller_bin, package.name.as_bytes()).ok()
                    })
            } else {
                file_system.lookup(bin, package.name.as_bytes()).ok()
            };
            let Some(launcher) = found else {
                continue;
            };
            let metadata = ext2l(
                || format!("stat {}", package.name),
                file_system.stat(launcher),
            )?;
            launchers.insert(package.name.clone(), launcher);
            progress = true;
            match metadata.rootlink {
                Some(package_root) => {
                    roots.insert(package.name.clone(), package_root);
                }
                None => problems.push(format!("{}: its launcher has no rootlink", package.name)),
            }
            if metadata.file_type != FileType::RegularFile
                || !metadata.flags.contains(fs_ext2l::InodeFlags::IMMUTABLE)
            {
                problems.push(format!(
                    "{}: its launcher is not an immutable regular file",
                    package.name
                ));
            }
            let bytes = read_whole(file_system, launcher)?;
            match &package.launcher {
                Some(expected) if *expected != bytes => problems.push(format!(
                    "{}: its launcher is not the one built",
                    package.name
                )),
                Some(_) => {}
                None => match embedded(&bytes) {
                    Some(contents)
                        if contents.grammar == package.grammar
                            && contents.program == format!("/bin/{}", package.name).as_bytes() => {}
                    _ => problems.push(format!(
                        "{}: its launcher does not carry its grammar and /bin/{}",
                        package.name, package.name
                    )),
                },
            }
        }
        if !progress {
            break;
        }
    }
    for package in declared {
        if !launchers.contains_key(&package.name) {
            problems.push(format!("{}: no launcher", package.name));
        }
    }
    // Every name of the image, from its root: what a package's needs
    // must be the very objects of.
    let everything = walk(file_system, root, &BTreeSet::new())?;
    for package in declared {
        let Some(&package_root) = roots.get(&package.name) else {
            continue;
        };
        let name = &package.name;
        let metadata = ext2l(
            || format!("stat the root of {name}"),
            file_system.stat(package_root),
        )?;
        if metadata.file_type != FileType::Directory
            || !metadata.flags.contains(fs_ext2l::InodeFlags::IMMUTABLE)
        {
            problems.push(format!("{name}: its root is not an immutable directory"));
            continue;
        }
        let stop: BTreeSet<String> = package.needs.iter().map(|(_, at)| at.clone()).collect();
        let listing = walk(file_system, package_root, &stop)?;
        let found: BTreeSet<String> = listing.keys().cloned().collect();
        let expected = package.expected_paths();
        for extra in found.difference(&expected) {
            problems.push(format!(
                "{name}: its root holds {extra}, which it does not declare"
            ));
        }
        for missing in expected.difference(&found) {
            problems.push(format!("{name}: its root lacks {missing}"));
        }
        for (path, &inode) in &listing {
            let inside_need = stop
                .iter()
                .any(|need| path.starts_with(&format!("{need}/")));
            let flags = ext2l(|| format!("stat {path}"), file_system.stat(inode))?.flags;
            if !inside_need && !flags.contains(fs_ext2l::InodeFlags::IMMUTABLE) {
                problems.push(format!("{name}: {path} in its root is not immutable"));
            }
        }
        if let Some(&program) = listing.get(&format!("bin/{name}")) {
            let metadata = ext2l(|| format!("stat bin/{name}"), file_system.stat(program))?;
            if metadata.rootlink.is_some() || metadata.file_type != FileType::RegularFile {
                problems.push(format!("{name}: bin/{name} is not the real program"));
            } else if let Some(expected) = &package.program {
                if *expected != read_whole(file_system, program)? {
                    problems.push(format!("{name}: bin/{name} is not the program built"));
                }
            }
        }
        if package.script {
            if let Some(&shell) = listing.get(&format!("bin/{SHELL_PROGRAM}")) {
                let metadata = ext2l(
                    || format!("stat bin/{SHELL_PROGRAM}"),
                    file_system.stat(shell),
                )?;
                if metadata.rootlink.is_some() || metadata.file_type != FileType::RegularFile {
                    problems.push(format!("{name}: bin/{SHELL_PROGRAM} is not the real shell"));
                }
            }
        }
        for device in &package.devices {
            let path = format!("dev/{}", device.name());
            if let Some(&inode) = listing.get(&path) {
                let metadata = ext2l(|| format!("stat {path}"), file_system.stat(inode))?;
                if metadata.file_type != FileType::CharacterDevice
                    || metadata.device != device.number()
                {
                    problems.push(format!(
                        "{name}: {path} is not the character device {:#x}",
                        device.number()
                    ));
                }
            }
        }
        for call in &package.calls {
            let here = listing.get(&format!("bin/{call}"));
            if here.is_some() && here != launchers.get(call) {
                problems.push(format!("{name}: bin/{call} is not {call}'s launcher"));
            }
        }
        for (path, at) in &package.needs {
            let shared = everything.get(path.trim_start_matches('/')).copied();
            let here = listing.get(at).copied();
            if here.is_some() && here != shared {
                problems.push(format!("{name}: {at} is not the image's {path}"));
            }
        }
    }
    // No root has a name: the only way in is a launcher's rootlink.
    let named: BTreeSet<InodeNumber> = everything.values().copied().collect();
    for (name, package_root) in &roots {
        if named.contains(package_root) {
            problems.push(format!("{name}: its root has a name in the image"));
        }
    }
    Ok(problems)
}

/// The grammar and program path embedded in a launcher, if any.
fn embedded(bytes: &[u8]) -> Option<launcher_grammar::Embedded> {
    let marker = launcher_grammar::embed::MARKER;
    let start = bytes
        .windows(marker.len())
        .position(|window| window == marker)?;
    let blob = bytes.get(start..start + launcher_grammar::embed::BLOB_BYTES)?;
    launcher_grammar::read_blob(blob).ok()
}
