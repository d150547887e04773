// SPDX-License-Identifier: MIT OR Apache-2.0
//! Programs taken from Debian binary packages: download, pin, extract.
//!
//! A `[[debian-package]]` of the manifest names a binary package, its
//! exact version and the SHA-256 of its `.deb` for each architecture; a
//! package whose `program = { debian = "NAME", path = "bin/busybox" }`
//! gets that file of it as its program. [`programs`] makes them, for the
//! image builder, before any package is checked:
//!
//! 1. **Where**: the archive's pool, `ARCHIVE/pool/main/DIR/SOURCE/
//!    PACKAGE_VERSION_DEBARCH.deb` ([`url`]): `ARCHIVE` is
//!    `http://deb.debian.org/debian` unless the entry's `archive` says
//!    otherwise; `DIR` is the source package's first letter, or its first
//!    four for a source starting with `lib` (Debian's pool layout);
//!    `SOURCE` is the entry's `source` (the source package, which may be
//!    named otherwise than the binary one: `busybox` for
//!    `busybox-static`), default its `name`; `VERSION` is the version
//!    without its epoch (`1:` in `1:1.35.0-4`), percent-encoded in the URL
//!    (`+` as `%2B`); `DEBARCH` is `arm64` or `amd64`.
//! 2. **Cache**: `target/debian/PACKAGE_VERSION_DEBARCH.deb`. A cached
//!    file is used only if its SHA-256 is the manifest's, checked on
//!    every build; one that is not is downloaded again.
//! 3. **Download**: `curl` (installed from the archive when missing), a
//!    connection timeout, a time limit, three retries of transient
//!    failures, into a temporary name renamed only once the digest is
//!    right. A file the archive does not have (404: it dropped the
//!    version) and a digest other than the manifest's are errors naming
//!    the entry, the version, the architecture and the manifest line to
//!    update.
//! 4. **Extract**: `dpkg-deb --fsys-tarfile` piped into `tar -xO`, the one
//!    file named, which must be a non-empty regular file.
//!
//! The result is a [`Program`] named [`ProgramSource::key`]
//! (`debian:busybox-static/bin/busybox`); the checks that it is a static
//! Linux executable for the architecture are the package check's
//! ([`crate::linux_elf`]), since whether a fixed address is allowed is
//! each package's to say.

use crate::disk_image::Program;
use crate::manifest::{DebianPackage, Manifest, ProgramSource};
use crate::package_check::{path_components, Scope};
use crate::{paths, toolchain, Arch};
use anyhow::{anyhow, bail, Context, Result};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Debian's name of `arch`.
pub fn debian_arch(arch: Arch) -> &'static str {
    match arch {
        Arch::Aarch64 => "arm64",
        Arch::X86_64 => "amd64",
    }
}

/// The version without its epoch (`1:1.35.0-4` → `1.35.0-4`): what file
/// names spell.
pub fn version_without_epoch(version: &str) -> &str {
    match version.split_once(':') {
        Some((epoch, rest)) if !epoch.is_empty() && epoch.bytes().all(|b| b.is_ascii_digit()) => {
            rest
        }
        _ => version,
    }
}

/// The pool directory of source package `source`: its first letter, or
/// `libX` for a `lib…` source (Debian policy's pool layout).
pub fn pool_prefix(source: &str) -> &str {
    let length = if source.starts_with("lib") && source.len() > 3 {
        4
    } else {
        1
    };
    source.get(..length).unwrap_or(source)
}

/// The `.deb`'s file name for `arch`.
pub fn file_name(package: &DebianPackage, arch: Arch) -> String {
    format!(
        "{}_{}_{}.deb",
        package.name,
        version_without_epoch(&package.version),
        debian_arch(arch)
    )
}

/// Percent-encodes everything but letters, digits and `-._~`.
fn url_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            escaped.push(byte as char);
        } else {
            escaped.push_str(&format!("%{byte:02X}"));
        }
    }
    escaped
}

/// Where the `.deb` for `arch` is in the archive.
pub fn url(package: &DebianPackage, arch: Arch) -> String {
    let source = package.source();
    format!(
        "{}/pool/main/{}/{}/{}",
        package.archive(),
        url_escape(pool_prefix(source)),
        url_escape(source),
        url_escape(&file_name(package, arch))
    )
}

/// Where downloaded `.deb` files are kept.
pub fn cache_dir() -> PathBuf {
    paths::target_dir().join("debian")
}

/// How an entry is named in messages.
fn shown(package: &DebianPackage) -> String {
    format!(
        "[[debian-package]] {:?} (version {:?})",
        package.name, package.version
    )
}

/// Where a `.deb`'s version and digest are pinned, for messages naming
/// what to update.
#[derive(Clone, Copy)]
pub enum Pin<'a> {
    /// A `[[debian-package]]` of the manifest.
    Manifest(&'a Manifest),
    /// A constant of the xtask's source: the file and the constant's
    /// name (`("images/src/linux_programs.rs", "MUSL_DEV")`).
    Code(&'a str, &'a str),
}

impl Pin<'_> {
    /// Who pins: `the manifest`, or the source file.
    fn holder(&self) -> &str {
        match self {
            Pin::Manifest(_) => "the manifest",
            Pin::Code(file, _) => file,
        }
    }

    /// ` (manifest line N)` for the first line holding `needle`, if any;
    /// ` (CONSTANT in FILE)` for a pin in the code.
    fn at(&self, needle: &str) -> String {
        match self {
            Pin::Manifest(manifest) => manifest
                .line_of(needle)
                .map(|line| format!(" (manifest line {line})"))
                .unwrap_or_default(),
            Pin::Code(file, constant) => format!(" ({constant} in {file})"),
        }
    }
}

/// The SHA-256 of `bytes`, lower-case hexadecimal.
fn sha256_hex(bytes: &[u8]) -> String {
    crate::signing::to_hex(&Sha256::digest(bytes))
}

/// The `.deb` of `package` for `arch`, from the cache or the archive,
/// its SHA-256 checked against the manifest's.
///
/// Return values: the file's bytes; an error for a malformed pinned
/// digest, a download that fails (naming the URL; a 404 says the archive
/// dropped the version), or a digest other than the manifest's.
pub fn fetch(manifest: &Manifest, package: &DebianPackage, arch: Arch) -> Result<Vec<u8>> {
    fetch_pinned(Pin::Manifest(manifest), package, arch)
}

/// [`fetch`] for a package pinned by `pin` (the manifest, or the code).
pub fn fetch_pinned(pin: Pin, package: &DebianPackage, arch: Arch) -> Result<Vec<u8>> {
    let expected = package
        .sha256
        .get(arch.name())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let field = format!("sha256.{}", arch.name());
    if expected.len() != 64 || !expected.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!(
            "{}, field {field}: {expected:?} is not 64 hexadecimal digits{}",
            shown(package),
            pin.at(&format!("name = {:?}", package.name))
        );
    }
    let directory = cache_dir();
    let cached = directory.join(file_name(package, arch));
    if let Ok(bytes) = std::fs::read(&cached) {
        if sha256_hex(&bytes) == expected {
            return Ok(bytes);
        }
        // Not what the manifest pins (an older pin, a damaged file):
        // fetched again, and judged below.
        let _ = std::fs::remove_file(&cached);
    }
    std::fs::create_dir_all(&directory)
        .with_context(|| format!("creating {}", directory.display()))?;
    let address = url(package, arch);
    eprintln!("xtask: downloading {address}");
    let bytes = download(pin, package, arch, &address, &cached)?;
    let got = sha256_hex(&bytes);
    if got != expected {
        bail!(
            "{}, field {field}: {address} has SHA-256 {got}, {} expects {expected}{}: \
             if this file is the one wanted, put its digest in {}; otherwise pin the version the digest is of",
            shown(package),
            pin.holder(),
            pin.at(&expected),
            pin.holder()
        );
    }
    // Only a file with the right digest is kept, under its name.
    let partial = partial_name(&cached);
    std::fs::write(&partial, &bytes).with_context(|| format!("writing {}", partial.display()))?;
    std::fs::rename(&partial, &cached)
        .with_context(|| format!("renaming {} to {}", partial.display(), cached.display()))?;
    Ok(bytes)
}

/// A temporary name beside `path`, unique to this process and call (the
/// tests build images in parallel).
fn partial_name(path: &Path) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut name = path.as_os_str().to_owned();
    name.push(format!(
        ".partial-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    PathBuf::from(name)
}

/// Downloads `address` with curl.
fn download(
    pin: Pin,
    package: &DebianPackage,
    arch: Arch,
    address: &str,
    cached: &Path,
) -> Result<Vec<u8>> {
    toolchain::ensure_commands(&[("curl", "curl")])?;
    let partial = partial_name(cached);
    let output = Command::new("curl")
        .args([
            "--fail",
            "--silent",
            "--show-error",
            "--location",
            "--connect-timeout",
            "30",
            "--max-time",
            "600",
            "--retry",
            "3",
            "--retry-delay",
            "2",
            "--write-out",
            "%{http_code}",
            "--output",
        ])
        .arg(&partial)
        .arg(address)
        .stdin(Stdio::null())
        .output()
        .context("running curl")?;
    let bytes = std::fs::read(&partial);
    let _ = std::fs::remove_file(&partial);
    if !output.status.success() {
        let code = String::from_utf8_lossy(&output.stdout).trim().to_string();
        let reason = String::from_utf8_lossy(&output.stderr).trim().to_string();
        if code == "404" || (address.starts_with("file:") && output.status.code() == Some(37)) {
            bail!(
                "{}: {address} does not exist (HTTP 404): the archive no longer has this version for {}. \
                 Pin the version it has now (version and both sha256 digests{}), or keep this one with \
                 archive = \"https://snapshot.debian.org/archive/debian/YYYYMMDDT000000Z\"",
                shown(package),
                debian_arch(arch),
                pin.at(&format!("version = {:?}", package.version))
            );
        }
        bail!(
            "{}: downloading {address} failed (curl: {reason}; HTTP {code})",
            shown(package)
        );
    }
    bytes.with_context(|| format!("reading {}", partial.display()))
}

/// The file `path` (relative, as in the package: `bin/busybox`) of the
/// `.deb` whose bytes are `deb`.
///
/// Return values: its bytes; an error if `dpkg-deb` or `tar` fail, or
/// the package has no such regular, non-empty file.
pub fn extract(deb: &[u8], path: &str, shown: &str) -> Result<Vec<u8>> {
    toolchain::ensure_commands(&[("dpkg-deb", "dpkg"), ("tar", "tar")])?;
    let directory = cache_dir();
    std::fs::create_dir_all(&directory)
        .with_context(|| format!("creating {}", directory.display()))?;
    let temporary = partial_name(&directory.join("extracting.deb"));
    std::fs::write(&temporary, deb).with_context(|| format!("writing {}", temporary.display()))?;
    let result = extract_file(&temporary, path, shown);
    let _ = std::fs::remove_file(&temporary);
    result
}

fn extract_file(deb: &Path, path: &str, shown: &str) -> Result<Vec<u8>> {
    let mut unpack = Command::new("dpkg-deb")
        .arg("--fsys-tarfile")
        .arg(deb)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .context("running dpkg-deb")?;
    let tar_input = unpack
        .stdout
        .take()
        .ok_or_else(|| anyhow!("dpkg-deb gave no output"))?;
    // Members of a .deb are spelled `./bin/busybox`; only that one is
    // written, to standard output.
    let member = format!("./{path}");
    let tar = Command::new("tar")
        .args(["--extract", "--to-stdout", "--file", "-"])
        .arg(&member)
        .stdin(Stdio::from(tar_input))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("running tar")?;
    let output = tar.wait_with_output().context("running tar")?;
    let unpacked = unpack.wait().context("running dpkg-deb")?;
    if !output.status.success() {
        bail!(
            "{shown}: has no file {path} ({})",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    if !unpacked.success() {
        bail!("{shown}: dpkg-deb --fsys-tarfile failed: not a valid .deb?");
    }
    if output.stdout.is_empty() {
        bail!("{shown}: {path} is empty or not a regular file");
    }
    Ok(output.stdout)
}

/// Unpacks the whole `.deb` whose bytes are `deb` into `directory`
/// (`dpkg-deb -x`), emptied first.
///
/// Return values: an error naming `shown` if `dpkg-deb` fails.
pub fn unpack(deb: &[u8], directory: &Path, shown: &str) -> Result<()> {
    toolchain::ensure_commands(&[("dpkg-deb", "dpkg")])?;
    if directory.exists() {
        std::fs::remove_dir_all(directory)
            .with_context(|| format!("removing {}", directory.display()))?;
    }
    std::fs::create_dir_all(directory)
        .with_context(|| format!("creating {}", directory.display()))?;
    let temporary = partial_name(&cache_dir().join("unpacking.deb"));
    std::fs::write(&temporary, deb).with_context(|| format!("writing {}", temporary.display()))?;
    let status = Command::new("dpkg-deb")
        .arg("-x")
        .arg(&temporary)
        .arg(directory)
        .stdin(Stdio::null())
        .status()
        .context("running dpkg-deb");
    let _ = std::fs::remove_file(&temporary);
    if !status?.success() {
        bail!(
            "{shown}: dpkg-deb -x into {} failed: not a valid .deb?",
            directory.display()
        );
    }
    Ok(())
}

/// Every program the packages of `manifest` take from Debian packages,
/// for `arch`, except those `have` already names (so a caller may supply
/// them), each fetched and extracted once however many packages name it.
/// A package naming an unknown `[[debian-package]]` or an invalid path is
/// skipped here: the package check refuses it with its name and field.
///
/// Return values: the programs, named [`ProgramSource::key`]; an error
/// from [`fetch`] or [`extract`].
pub fn programs(manifest: &Manifest, arch: Arch, have: &[Program]) -> Result<Vec<Program>> {
    let mut done = BTreeSet::new();
    let mut programs = Vec::new();
    for package in &manifest.packages {
        let source = package.program_source();
        let ProgramSource::Debian {
            package: debian,
            path,
        } = &source
        else {
            continue;
        };
        let key = source.key();
        if have.iter().any(|program| program.name == key) || !done.insert(key.clone()) {
            continue;
        }
        let Some(entry) = manifest.debian_package(debian) else {
            continue;
        };
        if path_components(path, Scope::PackageRoot).is_err() {
            continue;
        }
        let deb = fetch(manifest, entry, arch)?;
        let bytes = extract(&deb, path, &format!("{} for {}", shown(entry), arch.name()))?;
        programs.push(Program { name: key, bytes });
    }
    Ok(programs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::ByArch;

    fn busybox() -> DebianPackage {
        DebianPackage {
            name: "busybox-static".into(),
            source: Some("busybox".into()),
            version: "1:1.35.0-4+deb12u1+b1".into(),
            sha256: ByArch {
                aarch64: String::new(),
                x86_64: String::new(),
            },
            archive: None,
        }
    }

    #[test]
    fn urls_follow_the_pool_layout() {
        assert_eq!(
            url(&busybox(), Arch::X86_64),
            "http://deb.debian.org/debian/pool/main/b/busybox/busybox-static_1.35.0-4%2Bdeb12u1%2Bb1_amd64.deb"
        );
        assert_eq!(
            file_name(&busybox(), Arch::Aarch64),
            "busybox-static_1.35.0-4+deb12u1+b1_arm64.deb"
        );
        let mut other = busybox();
        other.source = None;
        other.name = "libfoo1".into();
        other.version = "2.0-1".into();
        other.archive = Some("https://snapshot.debian.org/archive/debian/20240101T000000Z/".into());
        assert_eq!(
            url(&other, Arch::Aarch64),
            "https://snapshot.debian.org/archive/debian/20240101T000000Z/pool/main/libf/libfoo1/libfoo1_2.0-1_arm64.deb"
        );
        assert_eq!(version_without_epoch("1.2:3"), "1.2:3");
        assert_eq!(version_without_epoch("12:3-1"), "3-1");
        assert_eq!(pool_prefix("lib"), "l");
    }
}
