// SPDX-License-Identifier: MIT OR Apache-2.0
//! Linux programs for the guest tests: C sources in `tests/linux/`,
//! built as static executables by Debian's compilers against glibc and
//! against musl, unmodified Linux binaries that Manux runs through its
//! Linux personality.
//!
//! [`PROGRAMS`] is the table: each entry a source, a C library and a way
//! of linking. `tests/linux/NAME.c` becomes the program `linux-NAME`
//! (glibc) or `linux-musl-NAME` (musl), in `target/linux/ARCH/NAME` or
//! `target/linux/ARCH/musl-NAME`, linked `-static-pie` (or, for
//! [`Link::Fixed`], `-static -no-pie`), `-O2`. The compiler: for x86_64
//! `x86_64-linux-gnu-gcc` (package `gcc`, the host compiler on an x86_64
//! host, `gcc-x86-64-linux-gnu` elsewhere), for AArch64
//! `aarch64-linux-gnu-gcc` (`gcc-aarch64-linux-gnu`).
//!
//! - **glibc**: `libc6-dev`'s static glibc (`libc6-dev-arm64-cross` for
//!   AArch64), through the compiler's own driver. Missing packages are
//!   installed as every other tool is ([`toolchain::apt_install`]).
//! - **musl**: Debian's `musl-dev` [`MUSL_DEV`] for the architecture,
//!   downloaded (not installed: no foreign dpkg architecture is added)
//!   with the image builder's Debian code ([`debian::fetch_pinned`]: the
//!   pool URL, the cache in `target/debian/`, the SHA-256 pinned here)
//!   and unpacked into `target/linux/musl-dev-DEBARCH/`. The same
//!   compiler builds against it by hand, since `musl-gcc -static-pie`
//!   quietly makes a dynamic executable: `-fPIE -nostdinc -isystem
//!   MUSL/include -isystem GCC/include`, then `-static-pie -nostdlib
//!   -nostartfiles rcrt1.o crti.o OBJECT -lc libgcc.a crtn.o` — an
//!   `ET_DYN` file without `PT_INTERP`, which relocates itself.
//!
//! `linux-escape` (`tests/linux/escape.c`, the escape suite's main
//! techniques) is instead the program of a package of the same name, so
//! that it runs confined, launched from the shell.
//!
//! The image installs the others as unlaunched programs (`[image] unlaunched`
//! in `images/manifest.toml`: `/bin/linux-NAME`, `/bin/linux-musl-NAME`),
//! the smallest way to reach them: a guest test runs one as init
//! (`init=/bin/linux-hello …`). They are not checked as Manux programs
//! ([`crate::program_elf`]): they carry glibc's `IRELATIVE` relocations
//! and a TLS segment, which the kernel's loader accepts for any program.
//! The guest tests also run the same file on the host (natively, or
//! under `qemu-aarch64-static`) and compare: `MANUX_LINUX_PROGRAMS_<ARCH>`
//! names the directory.

use crate::debian::{self, Pin};
use crate::disk_image::Program;
use crate::manifest::{ByArch, DebianPackage};
use crate::{paths, toolchain, Arch};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The C library a program is built against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Libc {
    /// Debian's static glibc.
    Glibc,
    /// Debian's static musl ([`MUSL_DEV`]).
    Musl,
}

/// How a program is linked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    /// `-static-pie`: `ET_DYN`, relocating itself, loaded anywhere.
    StaticPie,
    /// `-static -no-pie`: `ET_EXEC` at 0x400000, the form of Debian's
    /// static executables, which the kernel runs in a private low window
    /// of addresses.
    Fixed,
}

/// One Linux program: `tests/linux/SOURCE.c` built against `libc`,
/// linked as `link`.
#[derive(Clone, Copy, Debug)]
pub struct LinuxProgram {
    /// The source's name, without `.c`.
    pub source: &'static str,
    /// The C library.
    pub libc: Libc,
    /// How it is linked.
    pub link: Link,
}

impl LinuxProgram {
    /// The file's name in [`output_dir`]: `NAME` or `musl-NAME`.
    pub fn file_name(&self) -> String {
        match self.libc {
            Libc::Glibc => self.source.to_string(),
            Libc::Musl => format!("musl-{}", self.source),
        }
    }

    /// The program's name in the image: `linux-` and [`Self::file_name`].
    pub fn program_name(&self) -> String {
        format!("linux-{}", self.file_name())
    }
}

const fn program(source: &'static str, libc: Libc, link: Link) -> LinuxProgram {
    LinuxProgram { source, libc, link }
}

/// The programs.
pub const PROGRAMS: &[LinuxProgram] = &[
    program("hello", Libc::Glibc, Link::StaticPie),
    program("files", Libc::Glibc, Link::StaticPie),
    program("spawn", Libc::Glibc, Link::StaticPie),
    program("signals", Libc::Glibc, Link::StaticPie),
    program("fixed", Libc::Glibc, Link::Fixed),
    program("escape", Libc::Glibc, Link::StaticPie),
    program("nop", Libc::Glibc, Link::StaticPie),
    program("system", Libc::Glibc, Link::StaticPie),
    program("mmap", Libc::Glibc, Link::StaticPie),
    program("hello", Libc::Musl, Link::StaticPie),
    program("files", Libc::Musl, Link::StaticPie),
    program("spawn", Libc::Musl, Link::StaticPie),
    program("system", Libc::Musl, Link::StaticPie),
    program("mmap", Libc::Musl, Link::StaticPie),
    program("signals", Libc::Musl, Link::StaticPie),
];

/// Debian's `musl-dev` (bookworm's), pinned: version and the SHA-256 of
/// each architecture's `.deb`. When the archive drops this version (the
/// download fails with 404), put the current one here (`apt-cache policy
/// musl-dev`; each `.deb`'s `sha256sum`), or keep this one with `archive:
/// Some("https://snapshot.debian.org/archive/debian/YYYYMMDDT000000Z")`.
pub const MUSL_DEV: (&str, &str, &str) = (
    "1.2.3-1",
    "55c2ca4bc3041c8ed8ac7dc3ef6080d9551a21650568b2fd7610b59eaf98a4f4",
    "7c34f29a0c1aa12f6da1d25ed6de6fe6bbd9e048ee76b3dcb88c5e51fb65507f",
);

/// Where the sources are.
pub fn source_dir() -> PathBuf {
    paths::workspace_root().join("tests").join("linux")
}

/// Where the programs for `arch` are built.
pub fn output_dir(arch: Arch) -> PathBuf {
    paths::target_dir().join("linux").join(arch.name())
}

/// The compiler for `arch` (its command, its Debian package) and the
/// Debian package and file of its static glibc.
fn compiler(arch: Arch) -> (&'static str, &'static str, &'static str, &'static str) {
    match arch {
        Arch::Aarch64 => (
            "aarch64-linux-gnu-gcc",
            "gcc-aarch64-linux-gnu",
            "libc6-dev-arm64-cross",
            "/usr/aarch64-linux-gnu/lib/libc.a",
        ),
        Arch::X86_64 if std::env::consts::ARCH == "x86_64" => (
            "gcc",
            "gcc",
            "libc6-dev",
            "/usr/lib/x86_64-linux-gnu/libc.a",
        ),
        Arch::X86_64 => (
            "x86_64-linux-gnu-gcc",
            "gcc-x86-64-linux-gnu",
            "libc6-dev-amd64-cross",
            "/usr/x86_64-linux-gnu/lib/libc.a",
        ),
    }
}

/// musl for `arch`: [`MUSL_DEV`], its `.deb` fetched (the cached copy's
/// digest checked) and unpacked once into `target/linux/` (a unique name,
/// renamed into place, as the tests build images in parallel); its
/// include and library directories.
fn musl(arch: Arch) -> Result<(PathBuf, PathBuf)> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let (version, arm64, amd64) = MUSL_DEV;
    let package = DebianPackage {
        name: "musl-dev".into(),
        source: Some("musl".into()),
        version: version.into(),
        sha256: ByArch {
            aarch64: arm64.into(),
            x86_64: amd64.into(),
        },
        archive: None,
    };
    let triple = match arch {
        Arch::Aarch64 => "aarch64-linux-musl",
        Arch::X86_64 => "x86_64-linux-musl",
    };
    let name = format!("musl-dev-{version}-{}", debian::debian_arch(arch));
    let root = paths::target_dir().join("linux").join(&name);
    let pin = Pin::Code("images/src/linux_programs.rs", "MUSL_DEV");
    let deb = debian::fetch_pinned(pin, &package, arch)?;
    let shown = format!("musl-dev {version} for {}", arch.name());
    let needed = |root: &Path| {
        [
            root.join("usr/lib").join(triple).join("rcrt1.o"),
            root.join("usr/lib").join(triple).join("libc.a"),
            root.join("usr/include").join(triple).join("stdio.h"),
        ]
    };
    if !needed(&root).iter().all(|file| file.exists()) {
        let partial = paths::target_dir().join("linux").join(format!(
            "{name}.partial-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        debian::unpack(&deb, &partial, &shown)?;
        if let Some(missing) = needed(&partial).iter().find(|file| !file.exists()) {
            bail!("{shown}: the package has no {}", missing.display());
        }
        if root.exists() {
            std::fs::remove_dir_all(&root)
                .with_context(|| format!("removing {}", root.display()))?;
        }
        // Another build that got there first is as good.
        if std::fs::rename(&partial, &root).is_err() {
            let _ = std::fs::remove_dir_all(&partial);
        }
    }
    Ok((
        root.join("usr/include").join(triple),
        root.join("usr/lib").join(triple),
    ))
}

/// What `command -print-file-name=…`-like `argument` prints.
fn ask_compiler(command: &str, argument: &str) -> Result<PathBuf> {
    let output = Command::new(command)
        .arg(argument)
        .output()
        .with_context(|| format!("running {command} {argument}"))?;
    let text = String::from_utf8_lossy(&output.stdout).trim().to_string();
    if !output.status.success() || text.is_empty() {
        bail!("{command} {argument} failed");
    }
    Ok(PathBuf::from(text))
}

/// Runs `command`, failing with `what` if it fails.
fn run(mut command: Command, what: &str) -> Result<()> {
    let status = command
        .status()
        .with_context(|| format!("running {:?}", command.get_program()))?;
    if !status.success() {
        bail!("{what}");
    }
    Ok(())
}

/// Builds every program of [`PROGRAMS`] for `arch`.
pub fn build(arch: Arch) -> Result<Vec<Program>> {
    let (command, package, libc_package, libc) = compiler(arch);
    toolchain::ensure_commands(&[(command, package)])?;
    if !Path::new(libc).exists() {
        toolchain::apt_install(&[libc_package])?;
    }
    let output = output_dir(arch);
    std::fs::create_dir_all(&output).with_context(|| format!("creating {}", output.display()))?;
    let mut programs = Vec::new();
    for entry in PROGRAMS {
        let source = source_dir().join(format!("{}.c", entry.source));
        let binary = output.join(entry.file_name());
        let failed = format!(
            "{command} could not build {} against {:?} for {}",
            source.display(),
            entry.libc,
            arch.name()
        );
        let flags: &[&str] = &["-O2", "-Wall", "-Werror"];
        match (entry.libc, entry.link) {
            (Libc::Glibc, link) => {
                let mut compile = Command::new(command);
                compile.args(match link {
                    Link::StaticPie => &["-static-pie"][..],
                    Link::Fixed => &["-static", "-no-pie"][..],
                });
                compile.args(flags).arg("-o").arg(&binary).arg(&source);
                run(compile, &failed)?;
            }
            (Libc::Musl, Link::StaticPie) => {
                let (include, lib) = musl(arch)?;
                let gcc_include = ask_compiler(command, "-print-file-name=include")?;
                let libgcc = ask_compiler(command, "-print-libgcc-file-name")?;
                let object = binary.with_extension("o");
                let mut compile = Command::new(command);
                compile
                    .args(flags)
                    .args(["-fPIE", "-nostdinc", "-isystem"])
                    .arg(&include)
                    .arg("-isystem")
                    .arg(&gcc_include)
                    .arg("-c")
                    .arg(&source)
                    .arg("-o")
                    .arg(&object);
                run(compile, &failed)?;
                let mut link = Command::new(command);
                link.args(["-static-pie", "-nostdlib", "-nostartfiles"])
                    .arg(lib.join("rcrt1.o"))
                    .arg(lib.join("crti.o"))
                    .arg(&object)
                    .arg("-L")
                    .arg(&lib)
                    .arg("-lc")
                    .arg(&libgcc)
                    .arg(lib.join("crtn.o"))
                    .arg("-o")
                    .arg(&binary);
                run(link, &failed)?;
                let _ = std::fs::remove_file(&object);
            }
            (Libc::Musl, Link::Fixed) => bail!(
                "tests/linux/{}.c: musl programs are built static-PIE only",
                entry.source
            ),
        }
        programs.push(Program::read(&entry.program_name(), &binary)?);
    }
    Ok(programs)
}
