// SPDX-License-Identifier: MIT OR Apache-2.0
//! Cloud VM images: a GPT disk that UEFI firmware boots (DESIGN §9).
//!
//! `target/images/manux-ARCH.raw` is laid out as
//!
//! | sectors | what |
//! |---|---|
//! | 0 | protective MBR |
//! | 1–33 | primary GPT (header, 128 entries) |
//! | 1 MiB … | partition 1: EFI system partition (FAT, [`ESP_MIB`] MiB) holding the UEFI boot program at the removable-media path, `EFI/BOOT/BOOTAA64.EFI` or `EFI/BOOT/BOOTX64.EFI`, and the directory `EFI/manux` with, when one was given, the kernel command line in [`COMMAND_LINE_FILE`] |
//! | next MiB … | partition 2: the root, the ext2l volume of the system image, byte for byte |
//! | last 33 | backup GPT |
//!
//! The ESP's type is the EFI system partition GUID; the root's is the
//! Discoverable Partitions Specification's root type of the architecture
//! (`b921b045-1df0-41c3-af44-4c6f280d3fae` on AArch64,
//! `4f68bce3-e8cd-4db1-96e7-fbcaf984b709` on x86_64), which the kernel
//! looks for (`kernel/src/partition.rs`): its position does not matter.
//! The GPT is written with the `gpt` crate, the FAT with `fatfs`, and
//! `manux-ARCH.qcow2` by `qemu-img convert`. Both files are written under
//! a temporary name and renamed when complete, so a failed build leaves
//! the previous images (or none), never half of one.
//!
//! The boot program (`hal/uefi-stub`) passes the kernel the load options
//! it was started with or, without any, the words of
//! `EFI/manux/cmdline.txt`; [`set_command_line`] writes (or removes) that
//! file in a built image, in place, and [`command_line`] reads it. The
//! words are checked here as the boot program checks them: at most
//! [`COMMAND_LINE_LIMIT`] bytes once trimmed, no control characters but
//! tabs and line breaks.

use crate::Arch;
use anyhow::{bail, Context, Result};
use std::fs::File;
use std::io::{Cursor, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Size of the EFI system partition. The boot program is well under
/// 1 MiB; 32 MiB leaves room for firmware updates or a second program
/// and is what FAT needs for a comfortable cluster count.
pub const ESP_MIB: u64 = 32;
const MIB: u64 = 1 << 20;
const SECTOR: u64 = 512;

/// The kernel command line file on the EFI system partition, which the
/// boot program reads when it was started without load options.
pub const COMMAND_LINE_FILE: &str = "EFI/manux/cmdline.txt";
/// Longest command line the boot program passes on, in bytes (the kernel
/// keeps this many and a NUL).
pub const COMMAND_LINE_LIMIT: usize = 4095;

/// The images one build produced.
#[derive(Debug)]
pub struct CloudImages {
    /// The raw disk.
    pub raw: PathBuf,
    /// The same disk as qcow2.
    pub qcow2: PathBuf,
    /// Bytes of the raw disk.
    pub raw_bytes: u64,
    /// Bytes of the qcow2 file.
    pub qcow2_bytes: u64,
}

/// The removable-media boot path of `arch` (UEFI 2.10 §3.5.1.1).
pub fn boot_path(arch: Arch) -> &'static str {
    match arch {
        Arch::Aarch64 => "EFI/BOOT/BOOTAA64.EFI",
        Arch::X86_64 => "EFI/BOOT/BOOTX64.EFI",
    }
}

/// The GPT type of the root partition on `arch`.
pub fn root_partition_type(arch: Arch) -> gpt::partition_types::Type {
    match arch {
        Arch::Aarch64 => gpt::partition_types::LINUX_ROOT_ARM_64,
        Arch::X86_64 => gpt::partition_types::LINUX_ROOT_X64,
    }
}

/// Where the cloud images of `arch` go: `target/images/manux-ARCH.{raw,qcow2}`.
pub fn image_paths(arch: Arch) -> (PathBuf, PathBuf) {
    let directory = crate::paths::target_dir().join("images");
    (
        directory.join(format!("manux-{}.raw", arch.name())),
        directory.join(format!("manux-{}.qcow2", arch.name())),
    )
}

/// Builds both images of `arch` from the UEFI boot program `boot_program`
/// and the ext2l volume `root_volume` (a system image file); with
/// `command_line` (not empty once trimmed), the EFI system partition holds
/// it in [`COMMAND_LINE_FILE`].
///
/// Return values: an error naming the step that failed (a command line the
/// boot program would refuse, reading inputs, the FAT, the GPT,
/// `qemu-img`); the outputs are then untouched.
pub fn build(
    arch: Arch,
    boot_program: &Path,
    root_volume: &Path,
    command_line: Option<&str>,
) -> Result<CloudImages> {
    let (raw, qcow2) = image_paths(arch);
    if let Some(parent) = raw.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    let raw_partial = partial_name(&raw);
    let qcow2_partial = partial_name(&qcow2);
    let result = write_raw(arch, boot_program, root_volume, command_line, &raw_partial)
        .and_then(|()| convert_to_qcow2(&raw_partial, &qcow2_partial));
    if let Err(error) = result {
        let _ = std::fs::remove_file(&raw_partial);
        let _ = std::fs::remove_file(&qcow2_partial);
        return Err(error);
    }
    std::fs::rename(&raw_partial, &raw)
        .with_context(|| format!("renaming {}", raw_partial.display()))?;
    std::fs::rename(&qcow2_partial, &qcow2)
        .with_context(|| format!("renaming {}", qcow2_partial.display()))?;
    let size = |path: &Path| std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    Ok(CloudImages {
        raw_bytes: size(&raw),
        qcow2_bytes: size(&qcow2),
        raw,
        qcow2,
    })
}

/// Builds only the raw image of `arch`, at `raw` (the test driver's copy,
/// which must not replace the user's images).
///
/// Return values: as [`build`]; `raw` is then untouched.
pub fn build_raw(arch: Arch, boot_program: &Path, root_volume: &Path, raw: &Path) -> Result<()> {
    if let Some(parent) = raw.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    let partial = partial_name(raw);
    if let Err(error) = write_raw(arch, boot_program, root_volume, None, &partial) {
        let _ = std::fs::remove_file(&partial);
        return Err(error);
    }
    std::fs::rename(&partial, raw).with_context(|| format!("renaming {}", partial.display()))
}

/// The root partition of the image at `raw`: its first byte and length,
/// as the primary GPT says.
///
/// Return values: the `gpt` crate's error if the table cannot be read, or
/// an error if there is no root entry.
pub fn root_partition_bytes(arch: Arch, raw: &Path) -> Result<(u64, u64)> {
    let disk = gpt::GptConfig::new()
        .writable(false)
        .open(raw)
        .with_context(|| format!("opening the GPT of {}", raw.display()))?;
    let root_type = root_partition_type(arch);
    let root = disk
        .partitions()
        .values()
        .find(|partition| partition.part_type_guid == root_type)
        .context("the image has no root partition")?;
    let sector = 512;
    Ok((
        root.first_lba * sector,
        (root.last_lba - root.first_lba + 1) * sector,
    ))
}

/// Removes the root partition's entry from the GPT of the image at `raw`
/// (a valid table without a root: what the kernel must refuse clearly).
///
/// Return values: the `gpt` crate's error if the table cannot be read or
/// written, or an error if there is no root entry to remove.
pub fn remove_root_partition(arch: Arch, raw: &Path) -> Result<()> {
    let mut disk = gpt::GptConfig::new()
        .writable(true)
        .open(raw)
        .with_context(|| format!("opening the GPT of {}", raw.display()))?;
    let root_type = root_partition_type(arch);
    let id = disk
        .partitions()
        .iter()
        .find(|(_, partition)| partition.part_type_guid == root_type)
        .map(|(id, _)| *id)
        .context("the image has no root partition")?;
    disk.remove_partition(id);
    disk.write().context("writing the GPT")?;
    Ok(())
}

/// The first byte and length of the EFI system partition of the image at
/// `raw`, as the primary GPT says.
fn esp_bytes(raw: &Path) -> Result<(u64, u64)> {
    let disk = gpt::GptConfig::new()
        .writable(false)
        .open(raw)
        .with_context(|| format!("opening the GPT of {}", raw.display()))?;
    let esp = disk
        .partitions()
        .values()
        .find(|partition| partition.part_type_guid == gpt::partition_types::EFI)
        .context("the image has no EFI system partition")?;
    Ok((
        esp.first_lba * SECTOR,
        (esp.last_lba - esp.first_lba + 1) * SECTOR,
    ))
}

/// The EFI system partition of the image at `raw`: its first byte, and
/// its bytes (32 MiB: read whole, edited in memory, written back whole).
fn read_esp(raw: &Path) -> Result<(u64, Cursor<Vec<u8>>)> {
    let (start, length) = esp_bytes(raw)?;
    let mut disk = File::open(raw).with_context(|| format!("opening {}", raw.display()))?;
    let mut esp = vec![0u8; usize::try_from(length)?];
    disk.seek(SeekFrom::Start(start))?;
    disk.read_exact(&mut esp)
        .with_context(|| format!("reading the EFI system partition of {}", raw.display()))?;
    Ok((start, Cursor::new(esp)))
}

/// `words` as the boot program will pass them: trimmed, and `None` when
/// that leaves nothing.
///
/// Return values: an error when the boot program would refuse them
/// (longer than [`COMMAND_LINE_LIMIT`] bytes, a control character other
/// than a tab or a line break).
fn checked_command_line(words: &str) -> Result<Option<&str>> {
    let words = words.trim();
    if words.len() > COMMAND_LINE_LIMIT {
        bail!(
            "the kernel command line is {} bytes long; the boot program passes at most {COMMAND_LINE_LIMIT}",
            words.len()
        );
    }
    if let Some(character) = words
        .chars()
        .find(|character| character.is_control() && !matches!(character, '\t' | '\r' | '\n'))
    {
        bail!("the kernel command line holds the control character {character:?}");
    }
    Ok((!words.is_empty()).then_some(words))
}

/// Writes `command_line` to [`COMMAND_LINE_FILE`] of the mounted ESP
/// `file_system` (one line, newline-terminated), or removes the file when
/// it is `None`.
fn put_command_line<T: fatfs::ReadWriteSeek>(
    file_system: &fatfs::FileSystem<T>,
    command_line: Option<&str>,
) -> Result<()> {
    let root = file_system.root_dir();
    let Some(words) = command_line else {
        return match root.remove(COMMAND_LINE_FILE) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                Err(error).with_context(|| format!("removing {COMMAND_LINE_FILE}"))
            }
            _ => Ok(()),
        };
    };
    root.create_dir("EFI")
        .and_then(|_| root.create_dir("EFI/manux"))
        .context("creating EFI/manux")?;
    let mut file = root
        .create_file(COMMAND_LINE_FILE)
        .with_context(|| format!("creating {COMMAND_LINE_FILE}"))?;
    file.truncate()?;
    file.write_all(words.as_bytes())
        .and_then(|()| file.write_all(b"\n"))
        .with_context(|| format!("writing {COMMAND_LINE_FILE}"))?;
    Ok(())
}

/// Sets the kernel command line of the image at `raw`, in place: writes
/// `words` to [`COMMAND_LINE_FILE`] on its EFI system partition, or
/// removes that file when `words` is empty once trimmed (the kernel then
/// boots with no command line, unless the firmware passes load options).
///
/// Return values: an error for words the boot program would refuse (the
/// image is then untouched), an image without an EFI system partition, or
/// a failure to read, edit or write its FAT.
pub fn set_command_line(raw: &Path, words: &str) -> Result<()> {
    let command_line = checked_command_line(words)?;
    let (start, mut volume) = read_esp(raw)?;
    {
        let file_system = fatfs::FileSystem::new(&mut volume, fatfs::FsOptions::new())
            .context("mounting the EFI system partition")?;
        put_command_line(&file_system, command_line)?;
        file_system
            .unmount()
            .context("unmounting the EFI system partition")?;
    }
    let mut disk = std::fs::OpenOptions::new()
        .write(true)
        .open(raw)
        .with_context(|| format!("opening {}", raw.display()))?;
    disk.seek(SeekFrom::Start(start))?;
    disk.write_all(volume.get_ref())
        .and_then(|()| disk.sync_all())
        .with_context(|| format!("writing the EFI system partition of {}", raw.display()))
}

/// The kernel command line file of the image at `raw`, as written:
/// `None` when the EFI system partition has no such file.
///
/// Return values: an error for an image without an EFI system partition,
/// an unreadable FAT, or a file that is not UTF-8.
pub fn command_line(raw: &Path) -> Result<Option<String>> {
    read_esp_file(raw, COMMAND_LINE_FILE)?
        .map(|bytes| {
            String::from_utf8(bytes).with_context(|| format!("{COMMAND_LINE_FILE} is not UTF-8"))
        })
        .transpose()
}

/// The file `path` of the EFI system partition of the image at `raw`, or
/// `None` when there is no such file.
///
/// Return values: an error for an image without an EFI system partition
/// or an unreadable FAT.
fn read_esp_file(raw: &Path, path: &str) -> Result<Option<Vec<u8>>> {
    let (_, mut volume) = read_esp(raw)?;
    let file_system = fatfs::FileSystem::new(&mut volume, fatfs::FsOptions::new())
        .context("mounting the EFI system partition")?;
    let mut file = match file_system.root_dir().open_file(path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error).with_context(|| format!("opening {path}")),
    };
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)
        .with_context(|| format!("reading {path}"))?;
    Ok(Some(bytes))
}

fn partial_name(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

/// The FAT volume of the EFI system partition, in memory: the boot
/// program and, if given, the command line file.
fn esp_volume(arch: Arch, boot_program: &[u8], command_line: Option<&str>) -> Result<Vec<u8>> {
    let mut volume = Cursor::new(vec![0u8; (ESP_MIB * MIB) as usize]);
    fatfs::format_volume(
        &mut volume,
        fatfs::FormatVolumeOptions::new().volume_label(*b"MANUX-EFI  "),
    )
    .context("formatting the EFI system partition")?;
    {
        let file_system = fatfs::FileSystem::new(&mut volume, fatfs::FsOptions::new())
            .context("mounting the new EFI system partition")?;
        let root = file_system.root_dir();
        // EFI/manux is made even without a command line: adding the file
        // later (`mcopy`, a mounted ESP) is then one copy.
        root.create_dir("EFI")
            .and_then(|_| root.create_dir("EFI/BOOT"))
            .and_then(|_| root.create_dir("EFI/manux"))
            .context("creating EFI/BOOT and EFI/manux")?;
        let mut file = root
            .create_file(boot_path(arch))
            .with_context(|| format!("creating {}", boot_path(arch)))?;
        file.truncate()?;
        file.write_all(boot_program)
            .with_context(|| format!("writing {}", boot_path(arch)))?;
        drop(file);
        drop(root);
        if command_line.is_some() {
            put_command_line(&file_system, command_line)?;
        }
        file_system
            .unmount()
            .context("unmounting the EFI system partition")?;
    }
    Ok(volume.into_inner())
}

fn write_raw(
    arch: Arch,
    boot_program: &Path,
    root_volume: &Path,
    command_line: Option<&str>,
    path: &Path,
) -> Result<()> {
    let command_line = match command_line {
        Some(words) => checked_command_line(words)?,
        None => None,
    };
    let program = std::fs::read(boot_program)
        .with_context(|| format!("reading {}", boot_program.display()))?;
    let esp = esp_volume(arch, &program, command_line)?;
    let root_bytes = std::fs::metadata(root_volume)
        .with_context(|| format!("reading {}", root_volume.display()))?
        .len();
    if root_bytes == 0 || root_bytes % SECTOR != 0 {
        bail!("{} is not a whole number of sectors", root_volume.display());
    }
    // 1 MiB before the ESP (MBR, GPT, alignment), the root from the MiB
    // after it, 1 MiB at the end for the backup GPT.
    let esp_start = MIB;
    let root_start = esp_start + ESP_MIB * MIB;
    let total = root_start + root_bytes.div_ceil(MIB) * MIB + MIB;
    // Read and write: the `gpt` crate reads back what it wrote.
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.set_len(total)
        .with_context(|| format!("sizing {}", path.display()))?;

    let protective = gpt::mbr::ProtectiveMBR::with_lb_size(
        u32::try_from(total / SECTOR - 1).unwrap_or(u32::MAX),
    );
    protective
        .overwrite_lba0(&mut file)
        .context("writing the protective MBR")?;
    let mut disk = gpt::GptConfig::new()
        .writable(true)
        .logical_block_size(gpt::disk::LogicalBlockSize::Lb512)
        .create_from_device(file, None)
        .context("creating the GPT")?;
    disk.add_partition_at(
        "EFI system",
        1,
        esp_start / SECTOR,
        ESP_MIB * MIB / SECTOR,
        gpt::partition_types::EFI,
        0,
    )
    .context("adding the EFI system partition")?;
    disk.add_partition_at(
        "Manux root",
        2,
        root_start / SECTOR,
        root_bytes / SECTOR,
        root_partition_type(arch),
        0,
    )
    .context("adding the root partition")?;
    let mut file = disk.write().context("writing the GPT")?;

    file.seek(SeekFrom::Start(esp_start))?;
    file.write_all(&esp)
        .context("writing the EFI system partition")?;
    file.seek(SeekFrom::Start(root_start))?;
    let mut root =
        File::open(root_volume).with_context(|| format!("opening {}", root_volume.display()))?;
    std::io::copy(&mut root, &mut file).context("writing the root partition")?;
    file.sync_all()
        .with_context(|| format!("syncing {}", path.display()))?;
    Ok(())
}

fn convert_to_qcow2(raw: &Path, qcow2: &Path) -> Result<()> {
    crate::toolchain::ensure_commands(&[("qemu-img", "qemu-utils")])?;
    let status = Command::new("qemu-img")
        .args(["convert", "-f", "raw", "-O", "qcow2"])
        .arg(raw)
        .arg(qcow2)
        .stdin(Stdio::null())
        .status()
        .context("running qemu-img")?;
    if !status.success() {
        bail!("qemu-img convert {} failed", raw.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The image's GPT, read back with the `gpt` crate: the ESP and the
    /// root where the layout says, with their types; the root's bytes are
    /// the volume's, and the ESP holds the boot program.
    #[test]
    fn layout_reads_back() {
        let directory = tempfile::tempdir().unwrap();
        let program = directory.path().join("boot.efi");
        std::fs::write(&program, b"MZ not really a program").unwrap();
        let volume = directory.path().join("root.img");
        let mut bytes = vec![0u8; 3 * MIB as usize];
        bytes[1024..1028].copy_from_slice(b"ROOT");
        std::fs::write(&volume, &bytes).unwrap();
        let raw = directory.path().join("disk.raw");
        write_raw(Arch::Aarch64, &program, &volume, None, &raw).unwrap();

        let disk = gpt::GptConfig::new().open(&raw).unwrap();
        let partitions = disk.partitions();
        let esp = &partitions[&1];
        assert_eq!(esp.part_type_guid, gpt::partition_types::EFI);
        assert_eq!(esp.first_lba, MIB / SECTOR);
        let root = &partitions[&2];
        assert_eq!(root.part_type_guid, gpt::partition_types::LINUX_ROOT_ARM_64);
        assert_eq!(root.last_lba - root.first_lba + 1, 3 * MIB / SECTOR);

        let image = std::fs::read(&raw).unwrap();
        let root_start = (root.first_lba * SECTOR) as usize;
        assert_eq!(&image[root_start..root_start + bytes.len()], &bytes[..]);

        let read = read_esp_file(&raw, boot_path(Arch::Aarch64))
            .unwrap()
            .unwrap();
        assert_eq!(read, b"MZ not really a program");
        assert_eq!(command_line(&raw).unwrap(), None, "no command line file");
    }

    /// The command line file: written by a build (trimmed, one line),
    /// replaced and removed in place with the boot program kept; words the
    /// boot program would refuse are refused before anything is written.
    #[test]
    fn command_line_file_is_written_and_read_back() {
        let directory = tempfile::tempdir().unwrap();
        let program = directory.path().join("boot.efi");
        std::fs::write(&program, b"MZ not really a program").unwrap();
        let volume = directory.path().join("root.img");
        std::fs::write(&volume, vec![0u8; MIB as usize]).unwrap();
        let raw = directory.path().join("disk.raw");
        write_raw(
            Arch::X86_64,
            &program,
            &volume,
            Some("  log=debug init=/bin/hello a b \n"),
            &raw,
        )
        .unwrap();
        assert_eq!(
            command_line(&raw).unwrap().as_deref(),
            Some("log=debug init=/bin/hello a b\n")
        );

        set_command_line(&raw, "fsck=check").unwrap();
        assert_eq!(command_line(&raw).unwrap().as_deref(), Some("fsck=check\n"));
        let longest = "x".repeat(COMMAND_LINE_LIMIT);
        set_command_line(&raw, &longest).unwrap();
        assert_eq!(command_line(&raw).unwrap(), Some(format!("{longest}\n")));
        assert_eq!(
            read_esp_file(&raw, boot_path(Arch::X86_64))
                .unwrap()
                .unwrap(),
            b"MZ not really a program",
            "the boot program survives the edits"
        );

        set_command_line(&raw, " \n").unwrap();
        assert_eq!(
            command_line(&raw).unwrap(),
            None,
            "empty words remove the file"
        );
        set_command_line(&raw, "").unwrap();
        assert_eq!(command_line(&raw).unwrap(), None, "removing twice is fine");

        let too_long = "x".repeat(COMMAND_LINE_LIMIT + 1);
        let error = set_command_line(&raw, &too_long).unwrap_err();
        assert!(error.to_string().contains("at most 4095"), "{error:#}");
        let error = set_command_line(&raw, "log=debug\u{7}").unwrap_err();
        assert!(error.to_string().contains("control character"), "{error:#}");
        assert_eq!(
            command_line(&raw).unwrap(),
            None,
            "refused words write nothing"
        );
    }
}
