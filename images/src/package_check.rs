// SPDX-License-Identifier: MIT OR Apache-2.0
//! Package checks that need no image: names, paths, limits, duplicates,
//! links, calls, the publisher's right to call, and the signature
//! (DESIGN §8, steps 1 and 2).
//!
//! [`check`] reads every package of a [`Manifest`] against the built
//! programs and either returns them all as [`CheckedPackage`]s — grammar
//! built, files read and hashed, signature verified — or rejects the build
//! with every [`Rejection`] found, each naming the package (or publisher,
//! or shared-tree entry), the field and the problem. Nothing is written
//! before it succeeds; the checks that need the image being built (what a
//! declared path *reaches*) are [`crate::package_roots`]'s, and they too
//! run before any package root is filled.
//!
//! The order inside one package: its publisher must be known; then every
//! name, path and limit is checked without touching the host's files (so
//! a hostile `source` is refused before it is opened); a prebuilt Linux
//! program (of a Debian package or a host file, gathered by
//! [`crate::prebuilt`]) must be a static executable for the architecture,
//! at a fixed address only with `fixed-address = true`
//! ([`crate::linux_elf`]); then its files are read and hashed; then its
//! signature is verified over the canonical form ([`crate::signing`]);
//! then its calls are judged. Calls may form
//! cycles (`sh` calls `env`, `env` calls `sh`): a launcher is a regular
//! file and a rootlink is not a directory entry, so no directory cycle
//! can come of it, and each launch enters the callee's own root.

use crate::disk_image::Program;
use crate::linux_elf::{self, LinuxElfProblem};
use crate::manifest::{Manifest, MissingPrograms, Package, ProgramSource, Publisher};
use crate::signing::{self, FileDigest, PackageDigests, SecretKey, SignatureProblem};
use ed25519_dalek::VerifyingKey;
use launcher_grammar::{Grammar, GrammarError};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::PathBuf;

/// Most packages in one image.
pub const MAX_PACKAGES: usize = 256;
/// Most entries in one list of a package (`files`, `needs`, `calls`) or
/// of a publisher (`may-declare`, `may-call`).
pub const MAX_LIST_ENTRIES: usize = 256;
/// Longest package or publisher name.
pub const MAX_NAME_BYTES: usize = 64;
/// Longest path component (ext2's limit).
pub const MAX_COMPONENT_BYTES: usize = 255;
/// Longest path.
pub const MAX_PATH_BYTES: usize = 1024;
/// Deepest path.
pub const MAX_PATH_DEPTH: usize = 32;
/// Largest file a package ships.
pub const MAX_FILE_BYTES: u64 = 16 << 20;
/// Largest program.
pub const MAX_PROGRAM_BYTES: u64 = 32 << 20;

/// What is wrong with one field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// A name that is not 1–64 of `[a-z0-9._+-]` starting with a letter
    /// or digit.
    InvalidName(String),
    /// The package names a publisher the trust policy does not have.
    UnknownPublisher(String),
    /// A publisher's key is not an ed25519 public key.
    InvalidKey,
    /// The signature is well formed but not the publisher's over this
    /// package (tampered, or signed by another key).
    BadSignature,
    /// The signature is not 128 hexadecimal digits.
    MalformedSignature,
    /// No signature for this architecture and no development key.
    MissingSignature(String),
    /// The development key does not match the publisher's key.
    DevelopmentKeyMismatch,
    /// A path with a `..` component.
    DotDot(String),
    /// A path with a component made only of dots (`.`, `...`, …).
    DotOnlyName(String),
    /// A path with an empty component, a NUL, or nothing at all.
    MalformedPath(String),
    /// An absolute path where only paths inside the package (or next to
    /// the manifest) are allowed.
    AbsoluteOutsideScope(String),
    /// A relative path where an image path is needed.
    RelativeImagePath(String),
    /// A symbolic or hard link whose target is not inside the package.
    LinkOutside(String),
    /// A `files` entry that is not exactly one of `source`, `text`,
    /// `symlink`, `link`.
    AmbiguousFile,
    /// Permission bits beyond `0o777`.
    InvalidMode(u16),
    /// A call to a package the image does not have.
    UndeclaredCall(String),
    /// A name or path given twice (and where the other one is).
    Duplicate(String, String),
    /// A path inside a file, or inside a shared (needed) directory, of the
    /// same package.
    InsideOther(String, String),
    /// Something larger than its limit (what, limit).
    Oversize(String, u64),
    /// A name, path or list longer than its limit (what, limit).
    Overlong(String, usize),
    /// The program is not built from `apps/`.
    MissingProgram(String),
    /// The program names a `[[debian-package]]` the manifest does not have.
    UnknownDebianPackage(String),
    /// A prebuilt Linux program (of a Debian package) that is not a
    /// static executable the kernel can load, as the package declares it.
    LinuxProgram(String, LinuxElfProblem),
    /// `fixed-address = true` for a program of `apps/`, which is always
    /// position-independent, or for a script.
    FixedAddressForApp,
    /// The publisher may not call this package.
    MayNotCall(String),
    /// The publisher may not declare what this path reaches.
    MayNotDeclare(String),
    /// A declared path reaches something never declarable (what).
    Forbidden(String, String),
    /// A declared path that is not in the image (or crosses a symbolic
    /// link).
    NotInImage(String),
    /// A package whose launcher would have no name: `/bin/NAME` is the
    /// unlaunched program of that name and no package calls it.
    Unreachable(String),
    /// A host `source` file that cannot be read.
    Source(String),
    /// The argument grammar is invalid.
    Grammar(GrammarError),
    /// The grammar and program path do not fit the launcher.
    Launcher(String),
    /// A script program whose first line is not `#!/bin/sh`.
    NotAShellScript(String),
}

impl fmt::Display for Problem {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::InvalidName(name) => write!(
                formatter,
                "invalid name {name:?}: 1 to {MAX_NAME_BYTES} of [a-z0-9._+-], starting with a letter or digit"
            ),
            Problem::UnknownPublisher(name) => write!(
                formatter,
                "unknown publisher {name:?}: the trust policy has no such key"
            ),
            Problem::InvalidKey => write!(formatter, "not an ed25519 public key (64 hexadecimal digits)"),
            Problem::BadSignature => write!(
                formatter,
                "bad signature: not made by the publisher's key over this package (changed since it was signed?)"
            ),
            Problem::MalformedSignature => {
                write!(formatter, "bad signature: not 128 hexadecimal digits")
            }
            Problem::MissingSignature(arch) => write!(
                formatter,
                "no signature for {arch} and no development key for its publisher (cargo xtask sign)"
            ),
            Problem::DevelopmentKeyMismatch => write!(
                formatter,
                "the development key does not match the publisher's key in the trust policy"
            ),
            Problem::DotDot(path) => write!(formatter, "path {path:?} has a `..` component"),
            Problem::DotOnlyName(path) => write!(
                formatter,
                "path {path:?} has a dot-only name (reserved in ext2l)"
            ),
            Problem::MalformedPath(path) => write!(
                formatter,
                "path {path:?} is empty or has an empty component or a NUL"
            ),
            Problem::AbsoluteOutsideScope(path) => write!(
                formatter,
                "absolute path {path:?} outside its scope: write it relative (inside the package root, or beside the manifest)"
            ),
            Problem::RelativeImagePath(path) => write!(
                formatter,
                "path {path:?} is relative: an image path starts with `/`"
            ),
            Problem::LinkOutside(target) => {
                write!(formatter, "link to {target:?} leads outside the package")
            }
            Problem::AmbiguousFile => write!(
                formatter,
                "give exactly one of `source`, `text`, `symlink`, `link`"
            ),
            Problem::InvalidMode(mode) => {
                write!(formatter, "mode {mode:#o}: only permission bits up to 0o777")
            }
            Problem::UndeclaredCall(name) => write!(
                formatter,
                "undeclared dependency: calls {name:?}, which is no package of this image"
            ),
            Problem::Duplicate(name, other) => {
                write!(formatter, "duplicate name {name:?} (also {other})")
            }
            Problem::InsideOther(path, other) => write!(
                formatter,
                "{path:?} lies inside {other}, which cannot hold it"
            ),
            Problem::Oversize(what, limit) => {
                write!(formatter, "oversize: {what} is larger than {limit} bytes")
            }
            Problem::Overlong(what, limit) => {
                write!(formatter, "overlong: {what} exceeds the limit of {limit}")
            }
            Problem::MissingProgram(name) => write!(
                formatter,
                "program {name:?} is not built (no apps/{name} program)"
            ),
            Problem::UnknownDebianPackage(name) => write!(
                formatter,
                "no [[debian-package]] named {name:?} in the manifest"
            ),
            Problem::LinuxProgram(program, problem) => {
                write!(formatter, "program {program:?} is {problem}")
            }
            Problem::NotAShellScript(script) => write!(
                formatter,
                "{script:?} does not start with the line `#!/bin/sh`, the only interpreter a package root gets"
            ),
            Problem::FixedAddressForApp => write!(
                formatter,
                "`fixed-address` is for prebuilt Linux programs; programs of apps/ are position-independent, and scripts are not ELF files"
            ),
            Problem::MayNotCall(name) => write!(
                formatter,
                "the publisher exceeds its rights: it may not call {name:?} (may-call)"
            ),
            Problem::MayNotDeclare(path) => write!(
                formatter,
                "the publisher exceeds its rights: {path:?} reaches beyond what it may declare (may-declare)"
            ),
            Problem::Forbidden(path, what) => write!(
                formatter,
                "{path:?} reaches {what}, which no package may declare"
            ),
            Problem::NotInImage(path) => write!(
                formatter,
                "{path:?} is not in the image's shared tree (or crosses a symbolic link)"
            ),
            Problem::Unreachable(name) => write!(
                formatter,
                "/bin/{name} is the unlaunched program {name:?} and no package calls {name:?}: its launcher would have no name"
            ),
            Problem::Source(reason) => write!(formatter, "{reason}"),
            Problem::Grammar(error) => write!(formatter, "{error}"),
            Problem::Launcher(reason) => {
                write!(formatter, "cannot be embedded in the launcher: {reason}")
            }
        }
    }
}

/// One refused field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    /// What entry: `package "cat"`, `publisher "manux"`, `[[file]] #2`.
    pub entry: String,
    /// Which field: `needs[1].path`.
    pub field: String,
    /// What is wrong.
    pub problem: Problem,
}

impl Rejection {
    /// A rejection of a field of package `name`.
    pub fn package(name: &str, field: impl Into<String>, problem: Problem) -> Rejection {
        Rejection {
            entry: format!("package {name:?}"),
            field: field.into(),
            problem,
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "{}, field {}: {}",
            self.entry, self.field, self.problem
        )
    }
}

impl std::error::Error for Rejection {}

/// A refused build: every rejection found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejected(pub Vec<Rejection>);

impl fmt::Display for Rejected {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "the manifest is refused; nothing was installed ({} problem{})",
            self.0.len(),
            if self.0.len() == 1 { "" } else { "s" }
        )?;
        for rejection in &self.0 {
            write!(formatter, "\n  {rejection}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Rejected {}

/// Where a path must lie.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Inside a package root: relative.
    PackageRoot,
    /// A host file beside the manifest: relative.
    Source,
    /// The image: absolute. `/` itself is allowed here (as no
    /// components); whoever asks decides what the root may be.
    Image,
}

/// The components of `path`, checked for `scope`.
///
/// Return values: the components, or the [`Problem`] (`..`, dot-only
/// names, empty components or NUL, absolute or relative out of scope,
/// overlong).
pub fn path_components(path: &str, scope: Scope) -> Result<Vec<&str>, Problem> {
    if path.len() > MAX_PATH_BYTES {
        return Err(Problem::Overlong(
            format!("path of {} bytes", path.len()),
            MAX_PATH_BYTES,
        ));
    }
    let relative = match (scope, path.strip_prefix('/')) {
        (Scope::Image, Some(rest)) => {
            if rest.is_empty() {
                return Ok(Vec::new());
            }
            rest
        }
        (Scope::Image, None) => return Err(Problem::RelativeImagePath(path.into())),
        (_, Some(_)) => return Err(Problem::AbsoluteOutsideScope(path.into())),
        (_, None) => path,
    };
    let components: Vec<&str> = relative.split('/').collect();
    if components.len() > MAX_PATH_DEPTH {
        return Err(Problem::Overlong(
            format!("path of {} components", components.len()),
            MAX_PATH_DEPTH,
        ));
    }
    for component in &components {
        if *component == ".." {
            return Err(Problem::DotDot(path.into()));
        }
        if !component.is_empty() && component.bytes().all(|byte| byte == b'.') {
            return Err(Problem::DotOnlyName(path.into()));
        }
        if component.is_empty() || component.contains('\0') {
            return Err(Problem::MalformedPath(path.into()));
        }
        if component.len() > MAX_COMPONENT_BYTES {
            return Err(Problem::Overlong(
                format!("path component of {} bytes", component.len()),
                MAX_COMPONENT_BYTES,
            ));
        }
    }
    Ok(components)
}

/// Whether `name` may name a package or publisher.
pub fn valid_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_NAME_BYTES
        && bytes[0].is_ascii_alphanumeric()
        && bytes.iter().all(|&byte| {
            byte.is_ascii_lowercase()
                || byte.is_ascii_digit()
                || matches!(byte, b'.' | b'_' | b'+' | b'-')
        })
}

/// What one `files` entry installs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileContent {
    /// A regular file.
    Regular {
        /// Its bytes.
        bytes: Vec<u8>,
        /// Permission bits.
        mode: u16,
    },
    /// A symbolic link with this target.
    Symlink(String),
    /// A hard link to this other path of the package.
    HardLink(String),
}

/// A package that passed every check that needs no image.
#[derive(Clone, Debug)]
pub struct CheckedPackage {
    /// The manifest entry.
    pub package: Package,
    /// Its grammar.
    pub grammar: Grammar,
    /// Its program's ELF file (or its script).
    pub program: Vec<u8>,
    /// For a script program: the real shell's ELF file, `bin/sh` in its
    /// root, which the kernel runs for the script's `#!/bin/sh`.
    pub interpreter: Option<Vec<u8>>,
    /// What each `files` entry installs, in order.
    pub files: Vec<FileContent>,
    /// The calls whose launchers go into its `bin/` (the declared ones,
    /// less a call to itself and calls to skipped packages).
    pub launched_calls: Vec<String>,
    /// The canonical form that was verified.
    pub canonical_form: Vec<u8>,
}

impl CheckedPackage {
    /// The real program's path inside the root (`bin/NAME`).
    pub fn program_path(&self) -> String {
        format!("bin/{}", self.package.name)
    }
}

/// The outcome of [`check`].
#[derive(Clone, Debug)]
pub struct Checked {
    /// Every package to install, in manifest order.
    pub packages: Vec<CheckedPackage>,
    /// Notes for the person building (packages skipped and why).
    pub notes: Vec<String>,
}

/// Development secret keys, by publisher.
#[derive(Default)]
pub struct DevelopmentKeys {
    keys: BTreeMap<String, SecretKey>,
}

impl DevelopmentKeys {
    /// No keys: every package must be signed.
    pub fn none() -> DevelopmentKeys {
        DevelopmentKeys::default()
    }

    /// Reads `DIRECTORY/PUBLISHER.secret` for each publisher of
    /// `manifest` that has one.
    pub fn load(directory: &std::path::Path, manifest: &Manifest) -> anyhow::Result<Self> {
        let mut keys = BTreeMap::new();
        for publisher in &manifest.publishers {
            if !valid_name(&publisher.name) {
                continue;
            }
            let path = directory.join(format!("{}.secret", publisher.name));
            if path.is_file() {
                keys.insert(publisher.name.clone(), SecretKey::read(&path)?);
            }
        }
        Ok(DevelopmentKeys { keys })
    }

    /// The manifest's own development keys, if it names a directory.
    pub fn for_manifest(manifest: &Manifest) -> anyhow::Result<Self> {
        match manifest.development_keys() {
            Some(directory) => DevelopmentKeys::load(&directory, manifest),
            None => Ok(DevelopmentKeys::none()),
        }
    }

    /// The key of `publisher`, if there is one.
    pub fn key(&self, publisher: &str) -> Option<&SecretKey> {
        self.keys.get(publisher)
    }
}

/// A package read and hashed, before its signature is judged.
pub struct LoadedPackage<'a> {
    /// The manifest entry.
    pub package: &'a Package,
    /// Its grammar.
    pub grammar: Grammar,
    /// Its program.
    pub program: &'a [u8],
    /// For a script program, the shell that runs it.
    pub interpreter: Option<&'a [u8]>,
    /// Its files.
    pub files: Vec<FileContent>,
    /// The canonical form for the architecture.
    pub canonical_form: Vec<u8>,
}

/// The program of `apps/` a script package's root gets as `bin/sh`.
pub const SHELL_PROGRAM: &str = "sh";

/// The first line every script program starts with (then `\n`).
const SHELL_SCRIPT_LINE: &[u8] = b"#!/bin/sh";

fn program_bytes<'p>(programs: &'p [Program], name: &str) -> Option<&'p [u8]> {
    programs
        .iter()
        .find(|program| program.name == name)
        .map(|program| program.bytes.as_slice())
}

/// Checks names, paths and limits of `package` and reads its files: all
/// but the signature, the calls and the image.
///
/// Return values: the loaded package, or the first [`Rejection`].
pub fn load<'a>(
    manifest: &Manifest,
    package: &'a Package,
    programs: &'a [Program],
    arch: &str,
) -> Result<LoadedPackage<'a>, Rejection> {
    let name = package.name.as_str();
    let reject = |field: &str, problem: Problem| Rejection::package(name, field, problem);
    if !valid_name(name) {
        return Err(reject("name", Problem::InvalidName(name.into())));
    }
    if manifest.publisher(&package.publisher).is_none() {
        return Err(reject(
            "publisher",
            Problem::UnknownPublisher(package.publisher.clone()),
        ));
    }
    for (field, length) in [
        ("files", package.files.len()),
        ("needs", package.needs.len()),
        ("calls", package.calls.len()),
    ] {
        if length > MAX_LIST_ENTRIES {
            return Err(reject(
                field,
                Problem::Overlong(format!("{length} entries"), MAX_LIST_ENTRIES),
            ));
        }
    }
    let grammar = match &package.grammar {
        Some(description) => Grammar::try_from(description.clone())
            .map_err(|error| reject("grammar", Problem::Grammar(error)))?,
        None => Grammar::empty(),
    };
    let program_name = package.program();
    let source = package.program_source();
    match &source {
        ProgramSource::App(app) => {
            if !valid_name(app) {
                return Err(reject("program", Problem::InvalidName(app.clone())));
            }
            if package.fixed_address {
                return Err(reject("fixed-address", Problem::FixedAddressForApp));
            }
        }
        ProgramSource::Debian {
            package: debian,
            path,
        } => {
            if manifest.debian_package(debian).is_none() {
                return Err(reject(
                    "program.debian",
                    Problem::UnknownDebianPackage(debian.clone()),
                ));
            }
            path_components(path, Scope::PackageRoot)
                .map_err(|problem| reject("program.path", problem))?;
        }
        ProgramSource::File { file, .. } => {
            // Before the host file is opened (by the image builder).
            for (arch, path) in [("aarch64", &file.aarch64), ("x86_64", &file.x86_64)] {
                path_components(path, Scope::Source)
                    .map_err(|problem| reject(&format!("program.file.{arch}"), problem))?;
            }
        }
        ProgramSource::Script { script } => {
            path_components(script, Scope::Source)
                .map_err(|problem| reject("program.script", problem))?;
            if package.fixed_address {
                return Err(reject("fixed-address", Problem::FixedAddressForApp));
            }
        }
    }
    let program = program_bytes(programs, &program_name)
        .ok_or_else(|| reject("program", Problem::MissingProgram(program_name.clone())))?;
    if program.len() as u64 > MAX_PROGRAM_BYTES {
        return Err(reject(
            "program",
            Problem::Oversize(format!("program {program_name:?}"), MAX_PROGRAM_BYTES),
        ));
    }
    let mut interpreter = None;
    if let ProgramSource::Script { script } = &source {
        // The kernel runs `#!` scripts (DESIGN §6); the one interpreter a
        // root gets is the real shell, as `bin/sh`.
        if !program.starts_with(SHELL_SCRIPT_LINE)
            || program
                .get(SHELL_SCRIPT_LINE.len())
                .is_some_and(|&byte| byte != b'\n')
        {
            return Err(reject(
                "program.script",
                Problem::NotAShellScript(script.clone()),
            ));
        }
        interpreter = Some(program_bytes(programs, SHELL_PROGRAM).ok_or_else(|| {
            reject(
                "program.script",
                Problem::MissingProgram(SHELL_PROGRAM.into()),
            )
        })?);
    } else if !matches!(source, ProgramSource::App(_)) {
        // A prebuilt Linux program: static, for this architecture, and at
        // a fixed address only when the package says so. (Programs of
        // apps/ were checked as Manux programs when they were built.)
        let arch = crate::Arch::from_name(arch).ok_or_else(|| {
            reject(
                "program",
                Problem::Source(format!("unknown architecture {arch:?}")),
            )
        })?;
        if let Err(problem) = linux_elf::check(program, arch, package.fixed_address) {
            let field = match problem {
                LinuxElfProblem::FixedAddressNotDeclared
                | LinuxElfProblem::FixedAddressNotNeeded => "fixed-address",
                _ => "program",
            };
            return Err(reject(field, Problem::LinuxProgram(program_name, problem)));
        }
    }
    let mut calls = BTreeMap::new();
    for (index, call) in package.calls.iter().enumerate() {
        let field = format!("calls[{index}]");
        if !valid_name(call) {
            return Err(reject(&field, Problem::InvalidName(call.clone())));
        }
        if let Some(other) = calls.insert(call.as_str(), field.clone()) {
            return Err(reject(&field, Problem::Duplicate(call.clone(), other)));
        }
    }
    check_layout(package)?;
    // Only now, with every path checked, are host files opened.
    let mut files = Vec::with_capacity(package.files.len());
    let mut digests = Vec::with_capacity(package.files.len());
    for (index, file) in package.files.iter().enumerate() {
        let content = read_file_content(manifest, file)
            .map_err(|problem| reject(&format!("files[{index}]"), problem))?;
        digests.push(match &content {
            FileContent::Regular { bytes, .. } => Some(FileDigest::of(bytes)),
            _ => None,
        });
        files.push(content);
    }
    let digests = PackageDigests {
        program: FileDigest::of(program),
        files: digests,
    };
    let canonical_form = signing::canonical_form(package, arch, &grammar, &digests);
    Ok(LoadedPackage {
        package,
        grammar,
        program,
        interpreter,
        files,
        canonical_form,
    })
}

fn read_file_content(
    manifest: &Manifest,
    file: &crate::manifest::PackageFile,
) -> Result<FileContent, Problem> {
    let mode = file.mode.unwrap_or(0o644);
    match (&file.source, &file.text, &file.symlink, &file.link) {
        (Some(source), None, None, None) => {
            let host_path: PathBuf = manifest.base_directory.join(source);
            let metadata = std::fs::symlink_metadata(&host_path)
                .map_err(|error| Problem::Source(format!("source {source:?}: {error}")))?;
            if !metadata.is_file() {
                return Err(Problem::Source(format!(
                    "source {source:?} is not a regular file (symbolic links are not followed)"
                )));
            }
            if metadata.len() > MAX_FILE_BYTES {
                return Err(Problem::Oversize(
                    format!("source {source:?}"),
                    MAX_FILE_BYTES,
                ));
            }
            let bytes = std::fs::read(&host_path)
                .map_err(|error| Problem::Source(format!("source {source:?}: {error}")))?;
            if bytes.len() as u64 > MAX_FILE_BYTES {
                return Err(Problem::Oversize(
                    format!("source {source:?}"),
                    MAX_FILE_BYTES,
                ));
            }
            Ok(FileContent::Regular { bytes, mode })
        }
        (None, Some(text), None, None) => Ok(FileContent::Regular {
            bytes: text.as_bytes().to_vec(),
            mode,
        }),
        (None, None, Some(target), None) => Ok(FileContent::Symlink(target.clone())),
        (None, None, None, Some(target)) => Ok(FileContent::HardLink(target.clone())),
        _ => Err(Problem::AmbiguousFile),
    }
}

/// What occupies one path of a package root.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    /// A directory the installer makes (`bin`): other paths may lie in it.
    Directory,
    /// A file (program, launcher, shipped file or link): nothing lies in
    /// it.
    File,
    /// A needed file or directory of the shared tree: nothing may be put
    /// inside it, that would write to the shared tree.
    Shared,
}

/// Whether `inner` lies strictly below `outer`, component-wise.
fn strictly_inside(inner: &str, outer: &str) -> bool {
    inner
        .strip_prefix(outer)
        .is_some_and(|rest| rest.starts_with('/'))
}

/// The paths and limits of a package's root: every path valid in its
/// scope, files well formed, links inside the package, no duplicate, and
/// nothing inside a file or a shared directory.
fn check_layout(package: &Package) -> Result<(), Rejection> {
    let name = package.name.as_str();
    let reject = |field: String, problem: Problem| Rejection::package(name, field, problem);
    // (path, field, slot)
    let mut slots: Vec<(String, String, Slot)> = vec![
        ("bin".into(), "(the package's bin/)".into(), Slot::Directory),
        (
            format!("bin/{name}"),
            "program (bin/NAME)".into(),
            Slot::File,
        ),
    ];
    if matches!(package.program_source(), ProgramSource::Script { .. }) {
        slots.push((
            format!("bin/{SHELL_PROGRAM}"),
            "program.script (its interpreter, bin/sh)".into(),
            Slot::File,
        ));
    }
    for (index, call) in package.calls.iter().enumerate() {
        if call != name {
            slots.push((format!("bin/{call}"), format!("calls[{index}]"), Slot::File));
        }
    }
    for (index, file) in package.files.iter().enumerate() {
        let given = [
            file.source.is_some(),
            file.text.is_some(),
            file.symlink.is_some(),
            file.link.is_some(),
        ];
        if given.iter().filter(|given| **given).count() != 1 {
            return Err(reject(format!("files[{index}]"), Problem::AmbiguousFile));
        }
        let field = format!("files[{index}].path");
        path_components(&file.path, Scope::PackageRoot).map_err(|p| reject(field.clone(), p))?;
        if let Some(source) = &file.source {
            path_components(source, Scope::Source)
                .map_err(|p| reject(format!("files[{index}].source"), p))?;
        }
        if let Some(mode) = file.mode {
            if mode > 0o777 {
                return Err(reject(
                    format!("files[{index}].mode"),
                    Problem::InvalidMode(mode),
                ));
            }
        }
        if let Some(text) = &file.text {
            if text.len() as u64 > MAX_FILE_BYTES {
                return Err(reject(
                    format!("files[{index}].text"),
                    Problem::Oversize("the text".into(), MAX_FILE_BYTES),
                ));
            }
        }
        slots.push((file.path.clone(), field, Slot::File));
    }
    for (index, need) in package.needs.iter().enumerate() {
        path_components(&need.path, Scope::Image)
            .map_err(|p| reject(format!("needs[{index}].path"), p))?;
        if need.path == "/" {
            return Err(reject(
                format!("needs[{index}].path"),
                Problem::Forbidden("/".into(), "the root".into()),
            ));
        }
        let field = if need.at.is_some() {
            format!("needs[{index}].at")
        } else {
            format!("needs[{index}].path")
        };
        path_components(need.root_path(), Scope::PackageRoot)
            .map_err(|p| reject(field.clone(), p))?;
        slots.push((need.root_path().to_string(), field, Slot::Shared));
    }
    for (index, (path, field, _)) in slots.iter().enumerate() {
        for (other_path, other_field, _) in &slots[..index] {
            if path == other_path {
                return Err(reject(
                    field.clone(),
                    Problem::Duplicate(path.clone(), other_field.clone()),
                ));
            }
        }
    }
    for (path, field, _) in &slots {
        for (other_path, other_field, other_slot) in &slots {
            if *other_slot != Slot::Directory && strictly_inside(path, other_path) {
                let what = match other_slot {
                    Slot::Shared => format!("{other_field}, a shared entry of the image"),
                    _ => format!("{other_field}, a file"),
                };
                return Err(reject(
                    field.clone(),
                    Problem::InsideOther(path.clone(), what),
                ));
            }
        }
    }
    // Links: targets inside the package.
    for (index, file) in package.files.iter().enumerate() {
        let field = format!("files[{index}]");
        if let Some(target) = &file.link {
            let field = format!("{field}.link");
            path_components(target, Scope::PackageRoot)
                .map_err(|_| reject(field.clone(), Problem::LinkOutside(target.clone())))?;
            let is_own_file = package.files.iter().any(|other| {
                other.path == *target && (other.source.is_some() || other.text.is_some())
            });
            if !is_own_file && *target != format!("bin/{name}") {
                return Err(reject(field, Problem::LinkOutside(target.clone())));
            }
        }
        if let Some(target) = &file.symlink {
            let field = format!("{field}.symlink");
            let resolved = resolve_symlink(&file.path, target)
                .ok_or_else(|| reject(field.clone(), Problem::LinkOutside(target.clone())))?;
            let inside = slots.iter().any(|(path, _, slot)| {
                *path == resolved
                    || strictly_inside(path, &resolved)
                    || (*slot == Slot::Shared && strictly_inside(&resolved, path))
            });
            // An empty resolution is the package root itself.
            if !inside && !resolved.is_empty() {
                return Err(reject(field, Problem::LinkOutside(target.clone())));
            }
        }
    }
    Ok(())
}

/// Where symbolic link `link` (a path in the root) pointing to `target`
/// leads, lexically, as a root-relative path; `None` when the target is
/// absolute, climbs above the root, or holds a reserved name. (In a
/// domain `..` stops at the root, and an absolute target means the
/// package root, but a link that needs either to stay inside is refused:
/// it was written to lead somewhere else.)
fn resolve_symlink(link: &str, target: &str) -> Option<String> {
    if target.is_empty() || target.starts_with('/') || target.len() > MAX_PATH_BYTES {
        return None;
    }
    let mut stack: Vec<&str> = link.split('/').collect();
    stack.pop();
    for component in target.split('/') {
        match component {
            "" | "." => {}
            ".." => {
                stack.pop()?;
            }
            dots if dots.bytes().all(|byte| byte == b'.') => return None,
            other => stack.push(other),
        }
    }
    Some(stack.join("/"))
}

/// Checks the manifest's own entries that packages rely on: the trust
/// policy's names and keys, and the names installed in `/bin`.
fn check_policy(manifest: &Manifest, rejections: &mut Vec<Rejection>) {
    let mut seen = BTreeSet::new();
    for (index, publisher) in manifest.publishers.iter().enumerate() {
        let entry = format!("publisher {:?}", publisher.name);
        let mut reject = |field: &str, problem: Problem| {
            rejections.push(Rejection {
                entry: entry.clone(),
                field: field.into(),
                problem,
            })
        };
        if !valid_name(&publisher.name) {
            reject("name", Problem::InvalidName(publisher.name.clone()));
        } else if !seen.insert(publisher.name.as_str()) {
            reject(
                "name",
                Problem::Duplicate(publisher.name.clone(), format!("publisher #{}", index + 1)),
            );
        }
        if signing::parse_public_key(&publisher.key).is_none() {
            reject("key", Problem::InvalidKey);
        }
        for (field, list) in [
            ("may-declare", &publisher.may_declare),
            ("may-call", &publisher.may_call),
        ] {
            if list.len() > MAX_LIST_ENTRIES {
                reject(
                    field,
                    Problem::Overlong(format!("{} entries", list.len()), MAX_LIST_ENTRIES),
                );
            }
        }
        for (index, path) in publisher.may_declare.iter().enumerate() {
            if let Err(problem) = path_components(path, Scope::Image) {
                reject(&format!("may-declare[{index}]"), problem);
            }
        }
    }
    let mut names = BTreeMap::new();
    for (index, program) in manifest.image.unlaunched.iter().enumerate() {
        let field = format!("unlaunched[{index}]");
        if !valid_name(program) {
            rejections.push(Rejection {
                entry: "[image]".into(),
                field,
                problem: Problem::InvalidName(program.clone()),
            });
        } else if let Some(other) = names.insert(program.clone(), field.clone()) {
            rejections.push(Rejection {
                entry: "[image]".into(),
                field,
                problem: Problem::Duplicate(program.clone(), other),
            });
        }
    }
    if manifest.packages.len() > MAX_PACKAGES {
        rejections.push(Rejection {
            entry: "the manifest".into(),
            field: "package".into(),
            problem: Problem::Overlong(
                format!("{} packages", manifest.packages.len()),
                MAX_PACKAGES,
            ),
        });
    }
    // A package may share its name with an unlaunched program: `/bin/NAME`
    // is then the unlaunched program, and the package's launcher lives
    // only in its callers' roots (see `check`).
    let mut names = BTreeMap::new();
    for (index, package) in manifest.packages.iter().enumerate() {
        let other = names.insert(
            package.name.clone(),
            format!("package #{} ({:?})", index + 1, package.name),
        );
        if let Some(other) = other {
            rejections.push(Rejection::package(
                &package.name,
                "name",
                Problem::Duplicate(package.name.clone(), other),
            ));
        }
    }
}

/// Whether `/bin/NAME` at the top is the unlaunched program `name` (in
/// `[image] unlaunched` and built), not a package's launcher.
pub fn has_top_level_program(manifest: &Manifest, programs: &[Program], name: &str) -> bool {
    manifest
        .image
        .unlaunched
        .iter()
        .any(|unlaunched| unlaunched == name)
        && program_bytes(programs, name).is_some()
}

/// Verifies the signature of `loaded` for `arch`, signing it first with a
/// development key when it carries none for `arch`.
fn check_signature(
    loaded: &LoadedPackage<'_>,
    publisher: &Publisher,
    arch: &str,
    keys: &DevelopmentKeys,
) -> Result<(), Rejection> {
    let package = loaded.package;
    let field = format!("signature.{arch}");
    let reject = |problem: Problem| Rejection::package(&package.name, field.clone(), problem);
    let key: VerifyingKey = signing::parse_public_key(&publisher.key)
        .ok_or_else(|| Rejection::package(&package.name, "publisher", Problem::InvalidKey))?;
    let signature = match package.signature.get(arch) {
        Some(signature) => signature.clone(),
        None => {
            let Some(secret) = keys.key(&publisher.name) else {
                return Err(reject(Problem::MissingSignature(arch.into())));
            };
            if secret.public() != key {
                return Err(reject(Problem::DevelopmentKeyMismatch));
            }
            secret.sign(&loaded.canonical_form)
        }
    };
    signing::verify(&key, &loaded.canonical_form, &signature).map_err(|problem| {
        reject(match problem {
            SignatureProblem::Malformed => Problem::MalformedSignature,
            SignatureProblem::Mismatch => Problem::BadSignature,
        })
    })
}

/// Checks every package of `manifest`, built for `arch` with `programs`,
/// signing unsigned ones with `keys`.
///
/// Return values: the checked packages, or [`Rejected`] with every
/// problem found (at most one per package).
pub fn check(
    manifest: &Manifest,
    programs: &[Program],
    arch: &str,
    keys: &DevelopmentKeys,
) -> Result<Checked, Rejected> {
    let mut rejections = Vec::new();
    let mut notes = Vec::new();
    check_policy(manifest, &mut rejections);
    // Packages left out because their program of apps/ is not built
    // (when the manifest allows it). A program from a Debian package is
    // never skipped: it is downloaded, or the build fails.
    let mut skipped = BTreeSet::new();
    if manifest.image.missing_programs == MissingPrograms::Skip {
        for package in &manifest.packages {
            let needed = match package.program_source() {
                ProgramSource::App(app) => app,
                ProgramSource::Script { .. } => SHELL_PROGRAM.into(),
                _ => continue,
            };
            if program_bytes(programs, &needed).is_none() {
                notes.push(format!(
                    "package {:?} left out: its program {needed:?} is not built",
                    package.name,
                ));
                skipped.insert(package.name.as_str());
            }
        }
    }
    let mut packages = Vec::new();
    for package in &manifest.packages {
        if skipped.contains(package.name.as_str()) {
            continue;
        }
        match check_one(manifest, package, programs, arch, keys, &skipped) {
            Ok(checked) => packages.push(checked),
            Err(rejection) => rejections.push(rejection),
        }
        for call in &package.calls {
            if skipped.contains(call.as_str()) {
                notes.push(format!(
                    "package {:?}: no launcher for {call:?} (left out)",
                    package.name
                ));
            }
        }
    }
    for checked in &packages {
        let name = &checked.package.name;
        // Judged on the declared calls, so a caller refused for another
        // reason does not add a second, misleading problem here.
        let launched_elsewhere = manifest.packages.iter().any(|caller| {
            caller.name != *name
                && !skipped.contains(caller.name.as_str())
                && caller.calls.contains(name)
        });
        if has_top_level_program(manifest, programs, name) && !launched_elsewhere {
            rejections.push(Rejection::package(
                name,
                "name",
                Problem::Unreachable(name.clone()),
            ));
        }
    }
    if !rejections.is_empty() {
        return Err(Rejected(rejections));
    }
    Ok(Checked { packages, notes })
}

fn check_one(
    manifest: &Manifest,
    package: &Package,
    programs: &[Program],
    arch: &str,
    keys: &DevelopmentKeys,
    skipped: &BTreeSet<&str>,
) -> Result<CheckedPackage, Rejection> {
    let loaded = load(manifest, package, programs, arch)?;
    let publisher = manifest.publisher(&package.publisher).ok_or_else(|| {
        Rejection::package(
            &package.name,
            "publisher",
            Problem::UnknownPublisher(package.publisher.clone()),
        )
    })?;
    check_signature(&loaded, publisher, arch, keys)?;
    let mut launched_calls = Vec::new();
    for (index, call) in package.calls.iter().enumerate() {
        let field = format!("calls[{index}]");
        if manifest.package(call).is_none() {
            return Err(Rejection::package(
                &package.name,
                field,
                Problem::UndeclaredCall(call.clone()),
            ));
        }
        if !publisher
            .may_call
            .iter()
            .any(|allowed| allowed == "*" || allowed == call)
        {
            return Err(Rejection::package(
                &package.name,
                field,
                Problem::MayNotCall(call.clone()),
            ));
        }
        if call != &package.name && !skipped.contains(call.as_str()) {
            launched_calls.push(call.clone());
        }
    }
    Ok(CheckedPackage {
        package: package.clone(),
        grammar: loaded.grammar,
        program: loaded.program.to_vec(),
        interpreter: loaded.interpreter.map(<[u8]>::to_vec),
        files: loaded.files,
        launched_calls,
        canonical_form: loaded.canonical_form,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_judged_by_scope() {
        assert_eq!(
            path_components("etc/shrc", Scope::PackageRoot),
            Ok(vec!["etc", "shrc"])
        );
        assert_eq!(path_components("/", Scope::Image), Ok(vec![]));
        assert_eq!(
            path_components("/etc/motd", Scope::Image),
            Ok(vec!["etc", "motd"])
        );
        let problem = |path, scope| path_components(path, scope).unwrap_err();
        assert!(matches!(
            problem("a/../b", Scope::PackageRoot),
            Problem::DotDot(_)
        ));
        assert!(matches!(
            problem("a/.../b", Scope::PackageRoot),
            Problem::DotOnlyName(_)
        ));
        assert!(matches!(
            problem("./b", Scope::PackageRoot),
            Problem::DotOnlyName(_)
        ));
        assert!(matches!(
            problem("a//b", Scope::PackageRoot),
            Problem::MalformedPath(_)
        ));
        assert!(matches!(
            problem("a/", Scope::PackageRoot),
            Problem::MalformedPath(_)
        ));
        assert!(matches!(
            problem("", Scope::PackageRoot),
            Problem::MalformedPath(_)
        ));
        assert!(matches!(
            problem("/etc/x", Scope::PackageRoot),
            Problem::AbsoluteOutsideScope(_)
        ));
        assert!(matches!(
            problem("/x", Scope::Source),
            Problem::AbsoluteOutsideScope(_)
        ));
        assert!(matches!(
            problem("etc", Scope::Image),
            Problem::RelativeImagePath(_)
        ));
        let long = "a".repeat(256);
        assert!(matches!(
            problem(&long, Scope::PackageRoot),
            Problem::Overlong(..)
        ));
        let deep = vec!["a"; 33].join("/");
        assert!(matches!(
            problem(&deep, Scope::PackageRoot),
            Problem::Overlong(..)
        ));
        let huge = vec!["a"; 600].join("/");
        assert!(matches!(
            problem(&huge, Scope::PackageRoot),
            Problem::Overlong(..)
        ));
    }

    #[test]
    fn names_are_plain() {
        for good in ["sh", "coreutils-ls", "g++", "a.b_c", "9p"] {
            assert!(valid_name(good), "{good}");
        }
        for bad in ["", "Sh", "-x", ".hidden", "a/b", "a b", &"a".repeat(65)] {
            assert!(!valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn symbolic_links_resolve_lexically_inside_the_root() {
        assert_eq!(resolve_symlink("bin/sh2", "sh"), Some("bin/sh".into()));
        assert_eq!(resolve_symlink("a/b/c", "../d"), Some("a/d".into()));
        assert_eq!(resolve_symlink("a/b", "../../x"), None);
        assert_eq!(resolve_symlink("a", "/etc/passwd"), None);
        assert_eq!(resolve_symlink("a", "..."), None);
        assert_eq!(resolve_symlink("a", ""), None);
    }
}
