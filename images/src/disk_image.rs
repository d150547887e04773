// SPDX-License-Identifier: MIT OR Apache-2.0
//! The development disk: an ext2l volume holding the programs.
//!
//! [`build`] formats a [`DISK_BYTES`] image with 4 KiB blocks and 256-byte
//! inodes through the `fs-ext2l` library (the kernel's own file-system
//! code, so the image is exactly what the kernel reads), then creates:
//!
//! | path | what |
//! |---|---|
//! | `/bin/NAME` | every program, mode 0755, immutable |
//! | `/bin` | immutable too: only the image builder adds programs |
//! | `/etc/motd` | a greeting, mode 0644 |
//! | `/home/user` | the user's directory, writable |
//!
//! and runs the library's checker, which must find nothing. The image is
//! written to `NAME.partial` beside the target and renamed over it only
//! when complete, so a failure never leaves a half-written disk.
//!
//! [`ensure`] keeps a disk between runs — files written in the guest
//! persist — and rebuilds it only when it is missing or the programs
//! changed: a stamp (`NAME.apps`, each program's name, size and FNV-1a
//! hash) beside the image says which programs it holds. A rebuild loses
//! what the guest wrote, so it says so.

use anyhow::{bail, ensure, Context, Result};
use fs_ext2l::{format, FileDevice, FileSystem, FormatOptions, InodeNumber, MountOptions};
use std::path::{Path, PathBuf};

/// Size of the development disk.
pub const DISK_BYTES: u64 = 64 << 20;
/// Its block size.
pub const BLOCK_BYTES: u32 = 4096;
/// The message of the day.
pub const MOTD: &str = "Welcome to Manux\n";

/// A program to install as `/bin/NAME`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Program {
    /// Its name in `/bin`.
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
    /// The programs changed: the disk was made anew (guest files lost).
    Rebuilt,
    /// The disk holds these programs already: kept as it is.
    Kept,
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

/// The stamp of `programs`: one line per program, sorted by name.
pub fn stamp(programs: &[Program]) -> String {
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

/// Builds the disk at `image` from scratch (replacing any there), with
/// `programs` in `/bin`, and writes its stamp.
pub fn build(image: &Path, programs: &[Program]) -> Result<()> {
    let mut names: Vec<&str> = programs.iter().map(|p| p.name.as_str()).collect();
    names.sort_unstable();
    if let Some(pair) = names.windows(2).find(|pair| pair[0] == pair[1]) {
        bail!("two programs are named {}", pair[0]);
    }
    if let Some(parent) = image.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    let mut partial_name = image.as_os_str().to_owned();
    partial_name.push(".partial");
    let partial = PathBuf::from(partial_name);
    let result = write_image(&partial, programs);
    if let Err(error) = result {
        let _ = std::fs::remove_file(&partial);
        return Err(error.context(format!("building {}", image.display())));
    }
    // The stamp goes first: a stamp without its image only causes a
    // rebuild, an image with a stale stamp would be kept wrongly.
    let stamp_file = stamp_path(image);
    let _ = std::fs::remove_file(&stamp_file);
    std::fs::rename(&partial, image)
        .with_context(|| format!("renaming {} to {}", partial.display(), image.display()))?;
    std::fs::write(&stamp_file, stamp(programs))
        .with_context(|| format!("writing {}", stamp_file.display()))?;
    Ok(())
}

fn write_image(path: &Path, programs: &[Program]) -> Result<()> {
    let device = FileDevice::create(path, DISK_BYTES)
        .with_context(|| format!("creating {}", path.display()))?;
    let now = host_clock();
    let hash = fnv1a(stamp(programs).as_bytes()) ^ u64::from(now);
    let mut uuid = [0u8; 16];
    uuid[..8].copy_from_slice(&hash.to_le_bytes());
    uuid[8..].copy_from_slice(&fnv1a(&hash.to_le_bytes()).to_le_bytes());
    let options = FormatOptions {
        size: DISK_BYTES,
        block_size: BLOCK_BYTES,
        inode_size: 256,
        label: b"manux".to_vec(),
        ext2l: true,
        uuid,
        time: now,
        assume_zeroed: true,
        ..FormatOptions::default()
    };
    let mount = MountOptions {
        clock: host_clock,
        ..MountOptions::default()
    };
    let mut file_system = ext2l("formatting", format(device, &options, mount))?;
    populate(&mut file_system, programs)?;
    ext2l("syncing", file_system.sync())?;
    let report = ext2l("checking", file_system.check())?;
    if !report.is_clean() {
        let problems: Vec<String> = report.problems.iter().map(|p| p.to_string()).collect();
        bail!("the checker found problems: {}", problems.join("; "));
    }
    let device = ext2l("unmounting", file_system.unmount())?;
    device
        .sync_all()
        .with_context(|| format!("syncing {}", path.display()))?;
    Ok(())
}

fn populate(file_system: &mut FileSystem<FileDevice>, programs: &[Program]) -> Result<()> {
    let root = file_system.root();
    let mut installer = file_system.installer();
    let bin = ext2l("mkdir /bin", installer.mkdir(root, b"bin", 0o755, 0, 0))?;
    let etc = ext2l("mkdir /etc", installer.mkdir(root, b"etc", 0o755, 0, 0))?;
    let home = ext2l("mkdir /home", installer.mkdir(root, b"home", 0o755, 0, 0))?;
    ext2l(
        "mkdir /home/user",
        installer.mkdir(home, b"user", 0o755, 0, 0),
    )?;
    let motd = ext2l(
        "create /etc/motd",
        installer.create(etc, b"motd", 0o644, 0, 0),
    )?;
    write_all(&mut installer, motd, MOTD.as_bytes(), "/etc/motd")?;
    for program in programs {
        let path = format!("/bin/{}", program.name);
        let inode = ext2l(
            &format!("create {path}"),
            installer.create(bin, program.name.as_bytes(), 0o755, 0, 0),
        )?;
        write_all(&mut installer, inode, &program.bytes, &path)?;
        ext2l(
            &format!("chattr +i {path}"),
            installer.set_immutable(inode, true),
        )?;
    }
    ext2l("chattr +i /bin", installer.set_immutable(bin, true))?;
    Ok(())
}

fn write_all(
    installer: &mut fs_ext2l::Installer<'_, FileDevice>,
    inode: InodeNumber,
    bytes: &[u8],
    path: &str,
) -> Result<()> {
    let mut offset = 0usize;
    while offset < bytes.len() {
        let written = ext2l(
            &format!("write {path}"),
            installer.write(inode, offset as u64, &bytes[offset..]),
        )?;
        ensure!(written > 0, "write {path}: no progress");
        offset += written;
    }
    Ok(())
}

/// Makes sure the disk at `image` holds `programs`: creates it when
/// missing, rebuilds it when the programs changed, keeps it otherwise.
pub fn ensure(image: &Path, programs: &[Program]) -> Result<Outcome> {
    if !image.exists() {
        build(image, programs)?;
        return Ok(Outcome::Created);
    }
    let recorded = std::fs::read_to_string(stamp_path(image)).unwrap_or_default();
    if recorded == stamp(programs) {
        return Ok(Outcome::Kept);
    }
    build(image, programs)?;
    Ok(Outcome::Rebuilt)
}

#[cfg(test)]
mod tests {
    use super::*;
    use fs_ext2l::{FileType, InodeFlags};

    fn programs() -> Vec<Program> {
        vec![
            Program {
                name: "hello".into(),
                bytes: b"\x7fELF pretend hello".repeat(1000),
            },
            Program {
                name: "spin".into(),
                bytes: vec![0xaa; 5000],
            },
        ]
    }

    fn open(image: &Path) -> FileSystem<FileDevice> {
        let device = FileDevice::open(image, false).unwrap();
        let options = MountOptions {
            read_only: true,
            ..MountOptions::default()
        };
        FileSystem::mount(device, options).unwrap()
    }

    #[test]
    fn the_disk_holds_immutable_programs_and_checks_clean() {
        let directory = tempfile::tempdir().unwrap();
        let image = directory.path().join("disk.img");
        build(&image, &programs()).unwrap();
        assert_eq!(std::fs::metadata(&image).unwrap().len(), DISK_BYTES);
        assert!(!directory.path().join("disk.img.partial").exists());

        let mut file_system = open(&image);
        assert_eq!(file_system.block_size(), BLOCK_BYTES);
        assert!(file_system.check().unwrap().is_clean());
        let root = file_system.root();
        let bin = file_system.lookup(root, b"bin").unwrap();
        assert!(file_system
            .stat(bin)
            .unwrap()
            .flags
            .contains(InodeFlags::IMMUTABLE));
        for program in programs() {
            let inode = file_system.lookup(bin, program.name.as_bytes()).unwrap();
            let metadata = file_system.stat(inode).unwrap();
            assert_eq!(metadata.file_type, FileType::RegularFile);
            assert!(metadata.flags.contains(InodeFlags::IMMUTABLE));
            assert_eq!(metadata.mode & 0o777, 0o755);
            let mut contents = vec![0u8; program.bytes.len()];
            let read = file_system.read(inode, 0, &mut contents).unwrap();
            assert_eq!(read, program.bytes.len());
            assert_eq!(contents, program.bytes);
        }
        let etc = file_system.lookup(root, b"etc").unwrap();
        let motd = file_system.lookup(etc, b"motd").unwrap();
        let mut text = vec![0u8; 64];
        let length = file_system.read(motd, 0, &mut text).unwrap();
        assert_eq!(&text[..length], MOTD.as_bytes());
        let home = file_system.lookup(root, b"home").unwrap();
        let user = file_system.lookup(home, b"user").unwrap();
        assert!(!file_system
            .stat(user)
            .unwrap()
            .flags
            .contains(InodeFlags::IMMUTABLE));
    }

    #[test]
    fn ensure_keeps_the_disk_until_the_programs_change() {
        let directory = tempfile::tempdir().unwrap();
        let image = directory.path().join("disk.img");
        assert_eq!(ensure(&image, &programs()).unwrap(), Outcome::Created);
        // A file the guest wrote: kept while the programs stay the same.
        std::fs::write(directory.path().join("marker"), b"").unwrap();
        let before = std::fs::read(&image).unwrap();
        assert_eq!(ensure(&image, &programs()).unwrap(), Outcome::Kept);
        assert_eq!(std::fs::read(&image).unwrap(), before);

        let mut changed = programs();
        changed[1].bytes[0] ^= 1;
        assert_eq!(ensure(&image, &changed).unwrap(), Outcome::Rebuilt);
        assert_eq!(ensure(&image, &changed).unwrap(), Outcome::Kept);
        // A lost stamp means the disk's contents are unknown: rebuild.
        std::fs::remove_file(stamp_path(&image)).unwrap();
        assert_eq!(ensure(&image, &changed).unwrap(), Outcome::Rebuilt);
    }

    #[test]
    fn duplicate_names_are_refused_and_leave_nothing() {
        let directory = tempfile::tempdir().unwrap();
        let image = directory.path().join("disk.img");
        let mut twice = programs();
        twice.push(twice[0].clone());
        assert!(build(&image, &twice).is_err());
        assert!(!image.exists());
    }

    #[test]
    fn the_stamp_is_stable_and_order_free() {
        let mut reversed = programs();
        reversed.reverse();
        assert_eq!(stamp(&programs()), stamp(&reversed));
        assert!(stamp(&programs()).starts_with("hello 18000 "));
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
