// SPDX-License-Identifier: MIT OR Apache-2.0
//! The build-time manifest: what an image holds and whom it trusts
//! (DESIGN §8).
//!
//! A manifest is a TOML file (the default image's is
//! `images/manifest.toml`; `images/README.md` documents every field). It
//! has five parts:
//!
//! - `[image]`: the disk's size, the programs installed unlaunched in
//!   `/bin`, the launcher program, what to do about packages whose
//!   program is not built, and where development keys are;
//! - `[user]`: the user's name and home directory;
//! - the shared tree: `[[directory]]`, `[[file]]` and `[[link]]` entries,
//!   the files and directories packages may depend on;
//! - the trust policy: `[[publisher]]` entries, each a public key and the
//!   rights of the packages it signs (what they may declare, whom they may
//!   call);
//! - `[[debian-package]]` entries: Debian binary packages, pinned by
//!   version and SHA-256, whose files packages may take as their program
//!   (downloaded and extracted by [`crate::debian`]);
//! - `[[package]]` entries: a program (of `apps/`, or a file of a
//!   `[[debian-package]]`), the files it ships, the files of the shared
//!   tree it needs, the packages it calls, its launcher's argument
//!   grammar, and its signatures.
//!
//! This module only reads the text into these types; it judges nothing
//! beyond the TOML shape (unknown fields are refused everywhere, so a
//! misspelt right is never silently ignored). The judging is
//! [`crate::package_check`]'s. Package and publisher entries are read one
//! by one, so a malformed one is reported with its name.

use anyhow::{anyhow, Context, Result};
use launcher_grammar::GrammarDescription;
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Where the default image's manifest lives.
pub fn default_path() -> PathBuf {
    crate::paths::workspace_root()
        .join("images")
        .join("manifest.toml")
}

/// Default disk size, MiB.
pub const DEFAULT_SIZE_MIB: u64 = 64;

/// What to do with a package whose program `apps/` does not build.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MissingPrograms {
    /// Refuse the build (the default: a release image is complete).
    #[default]
    Refuse,
    /// Leave the package out, and the calls to it, with a note (for a tree
    /// where programs are still being written).
    Skip,
}

/// The `[image]` table.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ImageSection {
    /// Disk size in MiB (default [`DEFAULT_SIZE_MIB`]).
    #[serde(default)]
    pub size_mib: Option<u64>,
    /// Programs of `apps/` installed as `/bin/NAME` without a launcher,
    /// running in the top-level root: `init` and the test programs.
    #[serde(default)]
    pub unlaunched: Vec<String>,
    /// The program of `apps/` every launcher is a copy of (default
    /// `launcher`).
    #[serde(default)]
    pub launcher: Option<String>,
    /// Packages whose program is not built: `refuse` (default) or `skip`.
    #[serde(default)]
    pub missing_programs: MissingPrograms,
    /// A directory (relative to the manifest) of development secret keys,
    /// `PUBLISHER.secret`: packages without a signature for the image's
    /// architecture are signed with them at build time. Absent: every
    /// package must carry its signature.
    #[serde(default)]
    pub development_keys: Option<String>,
    /// Whether the volume has an ext3/JBD2 journal (default true);
    /// `cargo xtask bench` builds one without to measure its cost.
    #[serde(default)]
    pub journal: Option<bool>,
    /// Device files made in the top-level root's `/dev` (init's and the
    /// unlaunched programs' root).
    #[serde(default)]
    pub devices: Vec<DeviceFile>,
}

/// A device file a root may declare (`devices = ["null", …]`): made as a
/// character-device inode `dev/NAME` with Linux's number, which the
/// kernel opens as that device.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceFile {
    /// `/dev/null` (1:3): reads nothing, takes every write.
    Null,
    /// `/dev/zero` (1:5): reads zeros.
    Zero,
    /// `/dev/urandom` (1:9): reads the kernel's random bytes.
    Urandom,
}

impl DeviceFile {
    /// Its name in `dev/`.
    pub fn name(self) -> &'static str {
        match self {
            DeviceFile::Null => "null",
            DeviceFile::Zero => "zero",
            DeviceFile::Urandom => "urandom",
        }
    }

    /// Its Linux device number, as an ext2 inode records it (`major << 8
    /// | minor`).
    pub fn number(self) -> u32 {
        let minor = match self {
            DeviceFile::Null => 3,
            DeviceFile::Zero => 5,
            DeviceFile::Urandom => 9,
        };
        1 << 8 | minor
    }
}

/// The `[user]` table.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct UserSection {
    /// The login name: the home appears as `/.../home/NAME`.
    pub name: String,
    /// The home directory in the image, e.g. `/home/user`: writable, and
    /// never declarable by a package.
    pub home: String,
    /// The package whose launcher init starts as the login shell
    /// (`/bin/NAME`); default `sh`.
    #[serde(default)]
    pub shell: Option<String>,
}

/// A `[[directory]]` of the shared tree.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SharedDirectory {
    /// Absolute path in the image; missing parents are made too.
    pub path: String,
    /// Writable (not immutable): apps may write there, packages may never
    /// declare it. Default `false`.
    #[serde(default)]
    pub writable: bool,
    /// Permission bits (default `0o755`).
    #[serde(default)]
    pub mode: Option<u16>,
}

/// A `[[file]]` of the shared tree: immutable, with the bytes of `source`
/// (relative to the manifest) or `text`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SharedFile {
    /// Absolute path in the image; missing parents are made too.
    pub path: String,
    /// A host file, relative to the manifest's directory.
    #[serde(default)]
    pub source: Option<String>,
    /// The contents, inline.
    #[serde(default)]
    pub text: Option<String>,
    /// Permission bits (default `0o644`).
    #[serde(default)]
    pub mode: Option<u16>,
}

/// A `[[link]]` of the shared tree: a second name for a file or a
/// directory (a directory hardlink) already in the shared tree.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SharedLink {
    /// The new name (absolute).
    pub path: String,
    /// What it names (absolute).
    pub target: String,
}

/// A `[[publisher]]`: one key of the trust policy and its rights.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Publisher {
    /// The name packages give in their `publisher` field.
    pub name: String,
    /// The ed25519 public key, 64 hexadecimal digits.
    pub key: String,
    /// Image paths: its packages may declare (in `needs`) whatever these
    /// reach, judged by inode.
    #[serde(default)]
    pub may_declare: Vec<String>,
    /// Package names its packages may call; `"*"` for any.
    #[serde(default)]
    pub may_call: Vec<String>,
}

/// One `files` entry of a package: a file in its root. Exactly one of
/// `source`, `text`, `symlink` and `link` is given.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PackageFile {
    /// The path inside the package root, relative (`etc/shrc`).
    pub path: String,
    /// A host file, relative to the manifest's directory.
    #[serde(default)]
    pub source: Option<String>,
    /// The contents, inline.
    #[serde(default)]
    pub text: Option<String>,
    /// A symbolic link to this relative target, which must stay inside
    /// the package.
    #[serde(default)]
    pub symlink: Option<String>,
    /// A hard link to another path of this package.
    #[serde(default)]
    pub link: Option<String>,
    /// Permission bits of a regular file (default `0o644`).
    #[serde(default)]
    pub mode: Option<u16>,
}

/// One `needs` entry: a file or directory of the shared tree, hard-linked
/// into the package root (a directory hardlink for a directory).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Need {
    /// The image path (absolute).
    pub path: String,
    /// Where in the root, relative; default: `path` without its `/`.
    #[serde(default)]
    pub at: Option<String>,
}

impl Need {
    /// The path inside the package root.
    pub fn root_path(&self) -> &str {
        match &self.at {
            Some(at) => at,
            None => self.path.trim_start_matches('/'),
        }
    }
}

/// The Debian archive packages are downloaded from, unless a
/// `[[debian-package]]` names another (`archive`).
pub const DEFAULT_DEBIAN_ARCHIVE: &str = "http://deb.debian.org/debian";

/// One value per architecture — a SHA-256 (64 hexadecimal digits), a
/// host path: both are required, so an image of either architecture is
/// pinned.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ByArch {
    /// For AArch64 (Debian's `arm64`).
    pub aarch64: String,
    /// For x86_64 (Debian's `amd64`).
    pub x86_64: String,
}

impl ByArch {
    /// The value for architecture `arch` (`aarch64` or `x86_64`).
    pub fn get(&self, arch: &str) -> Option<&str> {
        match arch {
            "aarch64" => Some(&self.aarch64),
            "x86_64" => Some(&self.x86_64),
            _ => None,
        }
    }
}

/// A `[[debian-package]]`: a Debian binary package, pinned by version and
/// by the SHA-256 of its `.deb` for each architecture, whose files
/// packages may name as their program.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DebianPackage {
    /// The binary package's name (`busybox-static`).
    pub name: String,
    /// The source package's name, which names its directory in the
    /// archive's pool (`busybox`); default: `name`.
    #[serde(default)]
    pub source: Option<String>,
    /// The exact Debian version, epoch included (`1:1.35.0-4+deb12u1+b1`).
    pub version: String,
    /// The SHA-256 of the `.deb` of each architecture.
    pub sha256: ByArch,
    /// The archive's base URL (default [`DEFAULT_DEBIAN_ARCHIVE`]); a
    /// `snapshot.debian.org` URL keeps a version the archive dropped.
    #[serde(default)]
    pub archive: Option<String>,
}

impl DebianPackage {
    /// The source package: the pool directory's name.
    pub fn source(&self) -> &str {
        self.source.as_deref().unwrap_or(&self.name)
    }

    /// The archive's base URL, without a trailing `/`.
    pub fn archive(&self) -> &str {
        self.archive
            .as_deref()
            .unwrap_or(DEFAULT_DEBIAN_ARCHIVE)
            .trim_end_matches('/')
    }
}

/// Where a package's program comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProgramSource {
    /// A program of `apps/`, by name: `program = "nop"`.
    App(String),
    /// A file of a `[[debian-package]]`: `program = { debian =
    /// "busybox-static", path = "bin/busybox" }`.
    Debian {
        /// The `[[debian-package]]`'s name.
        package: String,
        /// The file's path inside the package, relative (`bin/busybox`).
        path: String,
    },
    /// A prebuilt program in a host file beside the manifest, one per
    /// architecture, pinned by SHA-256: `program = { file = { aarch64 =
    /// "…", x86_64 = "…" }, sha256 = { aarch64 = "…", x86_64 = "…" } }`.
    File {
        /// The host files, relative to the manifest's directory.
        file: ByArch,
        /// Their SHA-256.
        sha256: ByArch,
    },
    /// A `#!/bin/sh` script in a host file beside the manifest, the same
    /// for every architecture: `program = { script = "scripts/greet" }`.
    /// The package's root also gets `bin/sh`, the real shell, which the
    /// kernel runs for it (`#!`).
    Script {
        /// The host file, relative to the manifest's directory.
        script: String,
    },
}

impl ProgramSource {
    /// The name the program goes by in the list of programs an image is
    /// built from: the app's name, or `debian:PACKAGE/PATH`. Packages
    /// whose programs have the same name share one inode.
    pub fn key(&self) -> String {
        match self {
            ProgramSource::App(name) => name.clone(),
            ProgramSource::Debian { package, path } => format!("debian:{package}/{path}"),
            ProgramSource::File { file, .. } => {
                format!("file:{},{}", file.aarch64, file.x86_64)
            }
            ProgramSource::Script { script } => format!("script:{script}"),
        }
    }
}

impl<'de> Deserialize<'de> for ProgramSource {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct FromDebian {
            debian: String,
            path: String,
        }
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct FromFile {
            file: ByArch,
            sha256: ByArch,
        }
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct FromScript {
            script: String,
        }
        let custom = |error: toml::de::Error| D::Error::custom(format!("program: {error}"));
        match toml::Value::deserialize(deserializer)? {
            toml::Value::String(name) => Ok(ProgramSource::App(name)),
            toml::Value::Table(table) if table.contains_key("file") => {
                let from: FromFile = toml::Value::Table(table).try_into().map_err(custom)?;
                Ok(ProgramSource::File {
                    file: from.file,
                    sha256: from.sha256,
                })
            }
            toml::Value::Table(table) if table.contains_key("script") => {
                let from: FromScript = toml::Value::Table(table).try_into().map_err(custom)?;
                Ok(ProgramSource::Script {
                    script: from.script,
                })
            }
            table @ toml::Value::Table(_) => {
                let from: FromDebian = table.try_into().map_err(custom)?;
                Ok(ProgramSource::Debian {
                    package: from.debian,
                    path: from.path,
                })
            }
            _ => Err(D::Error::custom(
                "program: a program of apps/ (\"name\"), a file of a Debian package ({ debian = \"PACKAGE\", path = \"PATH\" }), host files ({ file = { aarch64, x86_64 }, sha256 = { aarch64, x86_64 } }) or a shell script ({ script = \"PATH\" })",
            )),
        }
    }
}

/// A `[[package]]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Package {
    /// Its name: the launcher is `/bin/NAME` in every root that calls it.
    pub name: String,
    /// The publisher whose key signs it.
    pub publisher: String,
    /// The program, installed as `bin/NAME` in the root: a program of
    /// `apps/` (default: the package's name), a file of a
    /// `[[debian-package]]`, host files or a `#!/bin/sh` script.
    #[serde(default)]
    pub program: Option<ProgramSource>,
    /// The program is a fixed-address Linux executable (`ET_EXEC`), which
    /// the kernel loads in the low window of addresses; default `false`.
    #[serde(default)]
    pub fixed_address: bool,
    /// Files it ships.
    #[serde(default)]
    pub files: Vec<PackageFile>,
    /// Files and directories of the shared tree it needs.
    #[serde(default)]
    pub needs: Vec<Need>,
    /// Packages it calls: their launchers go into its `bin/`.
    #[serde(default)]
    pub calls: Vec<String>,
    /// Device files made in its root's `dev/` ([`DeviceFile`]).
    #[serde(default)]
    pub devices: Vec<DeviceFile>,
    /// Its launcher's argument grammar (launcher-grammar's TOML form);
    /// default: no options, no arguments.
    #[serde(default)]
    pub grammar: Option<GrammarDescription>,
    /// Signatures, by architecture: 128 hexadecimal digits each.
    #[serde(default)]
    pub signature: BTreeMap<String, String>,
}

impl Package {
    /// Where its program comes from.
    pub fn program_source(&self) -> ProgramSource {
        self.program
            .clone()
            .unwrap_or_else(|| ProgramSource::App(self.name.clone()))
    }

    /// Its program's name in the list of programs the image is built
    /// from ([`ProgramSource::key`]).
    pub fn program(&self) -> String {
        self.program_source().key()
    }
}

/// A whole manifest.
#[derive(Clone, Debug)]
pub struct Manifest {
    /// `[image]`.
    pub image: ImageSection,
    /// `[user]`.
    pub user: UserSection,
    /// `[[directory]]`.
    pub directories: Vec<SharedDirectory>,
    /// `[[file]]`.
    pub files: Vec<SharedFile>,
    /// `[[link]]`.
    pub links: Vec<SharedLink>,
    /// `[[publisher]]`.
    pub publishers: Vec<Publisher>,
    /// `[[package]]`.
    pub packages: Vec<Package>,
    /// `[[debian-package]]`.
    pub debian_packages: Vec<DebianPackage>,
    /// The directory `source` and `development-keys` are relative to.
    pub base_directory: PathBuf,
    /// The text it was read from (for the disk's stamp).
    pub text: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    #[serde(default)]
    image: ImageSection,
    user: UserSection,
    #[serde(default)]
    directory: Vec<SharedDirectory>,
    #[serde(default)]
    file: Vec<SharedFile>,
    #[serde(default)]
    link: Vec<SharedLink>,
    #[serde(default)]
    publisher: Vec<toml::Table>,
    #[serde(default)]
    package: Vec<toml::Table>,
    #[serde(default, rename = "debian-package")]
    debian_package: Vec<toml::Table>,
}

/// The `name` of a raw entry, for messages.
fn entry_name(table: &toml::Table, index: usize) -> String {
    match table.get("name").and_then(toml::Value::as_str) {
        Some(name) => format!("{name:?}"),
        None => format!("#{}", index + 1),
    }
}

impl Manifest {
    /// Reads the manifest at `path`.
    pub fn load(path: &Path) -> Result<Manifest> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let base = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        Manifest::parse(&text, &base).with_context(|| format!("in {}", path.display()))
    }

    /// Reads manifest `text`, whose relative host paths start at `base`.
    ///
    /// Return values: the manifest, or an error naming the TOML line, or
    /// the package or publisher entry and the field, at fault.
    pub fn parse(text: &str, base: &Path) -> Result<Manifest> {
        let raw: RawManifest = toml::from_str(text).map_err(|error| anyhow!("{error}"))?;
        let mut publishers = Vec::with_capacity(raw.publisher.len());
        for (index, table) in raw.publisher.into_iter().enumerate() {
            let name = entry_name(&table, index);
            let publisher: Publisher = toml::Value::Table(table)
                .try_into()
                .map_err(|error| anyhow!("publisher {name}: {error}"))?;
            publishers.push(publisher);
        }
        let mut packages = Vec::with_capacity(raw.package.len());
        for (index, table) in raw.package.into_iter().enumerate() {
            let name = entry_name(&table, index);
            let package: Package = toml::Value::Table(table)
                .try_into()
                .map_err(|error| anyhow!("package {name}: {error}"))?;
            packages.push(package);
        }
        let mut debian_packages = Vec::with_capacity(raw.debian_package.len());
        for (index, table) in raw.debian_package.into_iter().enumerate() {
            let name = entry_name(&table, index);
            let debian: DebianPackage = toml::Value::Table(table)
                .try_into()
                .map_err(|error| anyhow!("[[debian-package]] {name}: {error}"))?;
            debian_packages.push(debian);
        }
        Ok(Manifest {
            image: raw.image,
            user: raw.user,
            directories: raw.directory,
            files: raw.file,
            links: raw.link,
            publishers,
            packages,
            debian_packages,
            base_directory: base.to_path_buf(),
            text: text.to_string(),
        })
    }

    /// The disk size in bytes.
    pub fn size_bytes(&self) -> u64 {
        self.image.size_mib.unwrap_or(DEFAULT_SIZE_MIB) << 20
    }

    /// The launcher program's name.
    pub fn launcher(&self) -> &str {
        self.image.launcher.as_deref().unwrap_or("launcher")
    }

    /// The login shell's package.
    pub fn shell(&self) -> &str {
        self.user.shell.as_deref().unwrap_or("sh")
    }

    /// The package named `name`.
    pub fn package(&self, name: &str) -> Option<&Package> {
        self.packages.iter().find(|package| package.name == name)
    }

    /// The `[[debian-package]]` named `name`.
    pub fn debian_package(&self, name: &str) -> Option<&DebianPackage> {
        self.debian_packages
            .iter()
            .find(|package| package.name == name)
    }

    /// The number (from 1) of the first line of the manifest's text that
    /// holds `needle`, for messages that say which line to edit.
    pub fn line_of(&self, needle: &str) -> Option<usize> {
        self.text
            .lines()
            .position(|line| line.contains(needle))
            .map(|index| index + 1)
    }

    /// The publisher named `name`.
    pub fn publisher(&self, name: &str) -> Option<&Publisher> {
        self.publishers
            .iter()
            .find(|publisher| publisher.name == name)
    }

    /// The development key directory, if the manifest names one.
    pub fn development_keys(&self) -> Option<PathBuf> {
        self.image
            .development_keys
            .as_ref()
            .map(|directory| self.base_directory.join(directory))
    }
}

/// Sets (`Some`) or removes (`None`) the signature for `arch` of package
/// `name` in manifest `text`, keeping everything else — comments, order,
/// spacing — as it was.
///
/// Return values: the new text, or an error when the text is not TOML or
/// has no such package.
pub fn set_signature(
    text: &str,
    name: &str,
    arch: &str,
    signature: Option<&str>,
) -> Result<String> {
    let mut document: toml_edit::DocumentMut = text.parse().map_err(|error| anyhow!("{error}"))?;
    let packages = document
        .get_mut("package")
        .and_then(toml_edit::Item::as_array_of_tables_mut)
        .ok_or_else(|| anyhow!("no [[package]] entries"))?;
    let table = packages
        .iter_mut()
        .find(|table| table.get("name").and_then(toml_edit::Item::as_str) == Some(name))
        .ok_or_else(|| anyhow!("no package {name:?}"))?;
    match signature {
        Some(signature) => {
            if !table.contains_key("signature") {
                let mut signatures = toml_edit::Table::new();
                signatures.set_implicit(false);
                table.insert("signature", toml_edit::Item::Table(signatures));
            }
            let signatures = table["signature"]
                .as_table_like_mut()
                .ok_or_else(|| anyhow!("package {name:?}: `signature` is not a table"))?;
            signatures.insert(arch, toml_edit::value(signature));
        }
        None => {
            if let Some(signatures) = table
                .get_mut("signature")
                .and_then(toml_edit::Item::as_table_like_mut)
            {
                signatures.remove(arch);
                if signatures.is_empty() {
                    table.remove("signature");
                }
            }
        }
    }
    Ok(document.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = r#"
        [image]
        unlaunched = ["init"]
        development-keys = "keys"

        [user]
        name = "user"
        home = "/home/user"

        [[directory]]
        path = "/etc"

        [[file]]
        path = "/etc/motd"
        text = "hello\n"

        [[publisher]]
        name = "manux"
        key = "00"
        may-declare = ["/etc"]
        may-call = ["*"]

        [[package]]
        name = "cat"
        publisher = "manux"
        needs = [{ path = "/etc/motd" }, { path = "/etc", at = "config" }]
        [package.grammar]
        options = [{ short = "n" }]
        rest = "input"
        [package.signature]
        aarch64 = "ab"
    "#;

    #[test]
    fn reads_every_section() {
        let manifest = Manifest::parse(SMALL, Path::new("/m")).unwrap();
        assert_eq!(manifest.image.unlaunched, ["init"]);
        assert_eq!(manifest.development_keys(), Some(PathBuf::from("/m/keys")));
        assert_eq!(manifest.size_bytes(), 64 << 20);
        assert_eq!(manifest.launcher(), "launcher");
        assert_eq!(manifest.shell(), "sh");
        assert_eq!(manifest.user.home, "/home/user");
        assert_eq!(manifest.files[0].text.as_deref(), Some("hello\n"));
        let cat = manifest.package("cat").unwrap();
        assert_eq!(cat.program(), "cat");
        assert_eq!(cat.needs[0].root_path(), "etc/motd");
        assert_eq!(cat.needs[1].root_path(), "config");
        assert_eq!(cat.signature["aarch64"], "ab");
        assert!(cat.grammar.is_some());
        assert_eq!(manifest.publisher("manux").unwrap().may_call, ["*"]);
    }

    #[test]
    fn signatures_are_written_in_place() {
        let text = SMALL.replace("[package.signature]\n        aarch64 = \"ab\"\n", "");
        let signed = set_signature(&text, "cat", "x86_64", Some("cd")).unwrap();
        let manifest = Manifest::parse(&signed, Path::new("/")).unwrap();
        assert_eq!(manifest.package("cat").unwrap().signature["x86_64"], "cd");
        assert!(
            signed.contains("[package.signature]\nx86_64 = \"cd\""),
            "{signed}"
        );
        // Comments and the rest stay; removing the last one removes the table.
        let cleared = set_signature(&signed, "cat", "x86_64", None).unwrap();
        assert_eq!(cleared, text);
        let both = set_signature(SMALL, "cat", "x86_64", Some("cd")).unwrap();
        let manifest = Manifest::parse(&both, Path::new("/")).unwrap();
        assert_eq!(manifest.package("cat").unwrap().signature.len(), 2);
        assert!(set_signature(SMALL, "dog", "x86_64", Some("cd")).is_err());
    }

    #[test]
    fn devices_are_read_with_their_numbers_and_unknown_ones_refused() {
        let text = SMALL
            .replace(
                "name = \"cat\"\n",
                "name = \"cat\"\n        devices = [\"null\", \"urandom\"]\n",
            )
            .replace("[image]", "[image]\ndevices = [\"zero\"]");
        let manifest = Manifest::parse(&text, Path::new("/")).unwrap();
        assert_eq!(manifest.image.devices, [DeviceFile::Zero]);
        let cat = manifest.package("cat").unwrap();
        assert_eq!(cat.devices, [DeviceFile::Null, DeviceFile::Urandom]);
        assert_eq!(
            cat.devices
                .iter()
                .map(|d| (d.name(), d.number()))
                .collect::<Vec<_>>(),
            [("null", 0x103), ("urandom", 0x109)]
        );
        assert_eq!(DeviceFile::Zero.number(), 0x105);
        assert!(Manifest::parse(
            &SMALL.replace("[image]", "[image]\ndevices = []"),
            Path::new("/")
        )
        .unwrap()
        .image
        .devices
        .is_empty());
        let text = SMALL.replace(
            "name = \"cat\"\n",
            "name = \"cat\"\n        devices = [\"sda\"]\n",
        );
        let error = format!("{:#}", Manifest::parse(&text, Path::new("/")).unwrap_err());
        assert!(error.contains("sda"), "{error}");
    }

    #[test]
    fn unknown_fields_are_refused_with_the_entry() {
        let text = SMALL.replace("needs =", "nedds =");
        let error = format!("{:#}", Manifest::parse(&text, Path::new("/")).unwrap_err());
        assert!(
            error.contains("package \"cat\"") && error.contains("nedds"),
            "{error}"
        );
        let text = SMALL.replace("may-call", "may-kall");
        let error = format!("{:#}", Manifest::parse(&text, Path::new("/")).unwrap_err());
        assert!(
            error.contains("publisher \"manux\"") && error.contains("may-kall"),
            "{error}"
        );
        let text = SMALL.replace("[image]", "[image]\nsize = 3");
        assert!(Manifest::parse(&text, Path::new("/")).is_err());
    }
}
