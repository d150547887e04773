// SPDX-License-Identifier: MIT OR Apache-2.0
//! The writing subcommands: `mkfs`, `put`, `mkdir`, `rm`, `ln`,
//! `rootlink set|clear`, `chattr`, `tune`, `resize` and `recover`.
//!
//! Each mounts the image read-write, does its work through the library, and
//! unmounts (which syncs) before reporting success; the mount replays the
//! journal first when the volume needs recovery. `put`, `mkdir`, `rm` and
//! plain `ln` use the ordinary API, so they obey the immutable flag and
//! never hard-link a directory; `ln --dir`, `rootlink` and `chattr` use the
//! installer API, as the image builder does. `recover` replays the journal
//! without mounting (as `e2fsck -E journal_only`); `mkfs` makes a journal
//! unless told not to, and `tune --journal` adds one.

use crate::output::say;
use std::collections::BTreeSet;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use fs_ext2l::journal::{self, MIN_JOURNAL_BLOCKS};
use fs_ext2l::{format, Error, FileDevice, FileType, FormatOptions, InodeNumber, MountOptions};

use crate::image::{close, failed, host_clock, open, resolve, resolve_parent, Image};
use crate::transfer::{copy_extents, Direction};
use crate::{Failure, JournalSize, Outcome};

/// Deepest directory tree `rm -r` descends.
const MAX_REMOVE_DEPTH: usize = 4096;

/// Parses `64M`, `1G`, `4096K` or a plain byte count.
fn parse_size(text: &str) -> Result<u64, Failure> {
    let text = text.trim();
    let (digits, multiplier) = match text.char_indices().last() {
        Some((index, 'k' | 'K')) => (&text[..index], 1u64 << 10),
        Some((index, 'm' | 'M')) => (&text[..index], 1 << 20),
        Some((index, 'g' | 'G')) => (&text[..index], 1 << 30),
        Some((index, 't' | 'T')) => (&text[..index], 1 << 40),
        _ => (text, 1),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|value| value.checked_mul(multiplier))
        .ok_or_else(|| Failure::usage(format!("bad size `{text}`")))
}

/// Sixteen random bytes for a UUID (version 4), from the host's generator.
fn random_uuid() -> [u8; 16] {
    let mut uuid = [0u8; 16];
    let filled =
        std::fs::File::open("/dev/urandom").and_then(|mut file| file.read_exact(&mut uuid));
    if filled.is_err() {
        // No random source: derive something unique enough from the clock.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|elapsed| elapsed.as_nanos())
            .unwrap_or(0);
        uuid.copy_from_slice(&(now ^ u128::from(std::process::id())).to_le_bytes());
    }
    uuid[6] = (uuid[6] & 0x0F) | 0x40;
    uuid[8] = (uuid[8] & 0x3F) | 0x80;
    uuid
}

/// `ext2l mkfs IMAGE`.
pub fn mkfs(
    image: &Path,
    size: Option<&str>,
    block_size: Option<u32>,
    inode_size: u32,
    label: Option<&str>,
    ext2l: bool,
    journal: JournalSize,
) -> Outcome {
    let (device, size, zeroed) = match size {
        Some(text) => {
            let size = parse_size(text)?;
            let device = FileDevice::create(image, size)
                .map_err(|error| Failure::usage(format!("{}: {error}", image.display())))?;
            (device, size, true)
        }
        None => {
            let device = FileDevice::open(image, true).map_err(|error| {
                Failure::usage(format!(
                    "{}: {error} (give --size to create it)",
                    image.display()
                ))
            })?;
            let size = std::fs::metadata(image)
                .map(|metadata| metadata.len())
                .unwrap_or(0);
            (device, size, false)
        }
    };
    let block_size = block_size.unwrap_or(if size < 512 << 20 { 1024 } else { 4096 });
    let label = label.unwrap_or("").as_bytes();
    if label.len() > 16 {
        return Err(Failure::usage("the label is longer than 16 bytes"));
    }
    let journal_blocks = match journal {
        JournalSize::None => None,
        JournalSize::Default => {
            let blocks = journal::default_journal_blocks(volume_blocks(size, block_size));
            if blocks.is_none() {
                // As mke2fs says "Filesystem too small for a journal".
                say!(
                    "{}: no journal: the volume has fewer than 2048 blocks",
                    image.display()
                );
            }
            blocks
        }
        JournalSize::Mebibytes(mebibytes) => Some(mebibytes_to_blocks(mebibytes, block_size)?),
    };
    let options = FormatOptions {
        size,
        block_size,
        inode_size,
        label: label.to_vec(),
        ext2l,
        uuid: random_uuid(),
        time: host_clock(),
        assume_zeroed: zeroed,
        journal_blocks,
        ..FormatOptions::default()
    };
    let mount_options = MountOptions {
        clock: host_clock,
        ..MountOptions::default()
    };
    let file_system = format(device, &options, mount_options).map_err(|error| match error {
        Error::InvalidArgument if journal_blocks.is_some() => Failure::usage(format!(
            "mkfs: {}: block size must be 1024, 2048 or 4096, inode size 128 or 256, the image \
             large enough, and the journal {MIN_JOURNAL_BLOCKS} blocks or more and at most half the volume",
            image.display()
        )),
        Error::InvalidArgument => Failure::usage(format!(
            "mkfs: {}: block size must be 1024, 2048 or 4096, inode size 128 or 256, and the image large enough",
            image.display()
        )),
        other => failed(&format!("mkfs: {}", image.display()), other),
    })?;
    file_system
        .unmount()
        .map(|_| ())
        .map_err(|error| failed(&image.display().to_string(), error))
}

/// Fills `inode` with the host file: the library allocates the blocks
/// and says where they are; the operating system copies the bytes straight
/// from the host file into the image (`copy_file_range`), so the data is
/// never copied through this process.
fn copy_in(
    file_system: &mut Image,
    image: &Path,
    inode: InodeNumber,
    host_file: &Path,
    path: &str,
) -> Outcome {
    let host_error =
        |error: std::io::Error| Failure::operation(format!("{}: {error}", host_file.display()));
    let source = std::fs::File::open(host_file).map_err(host_error)?;
    let length = source.metadata().map_err(host_error)?.len();
    let extents = file_system
        .allocate_range(inode, 0, length)
        .map_err(|error| failed(path, error))?;
    let target = std::fs::OpenOptions::new()
        .write(true)
        .open(image)
        .map_err(|error| Failure::operation(format!("{}: {error}", image.display())))?;
    copy_extents(&extents, &source, &target, Direction::IntoImage).map_err(host_error)
}

/// `ext2l put IMAGE HOSTFILE PATH`.
pub fn put(image: &Path, host_file: &Path, path: &str) -> Outcome {
    let host_metadata = std::fs::metadata(host_file)
        .map_err(|error| Failure::operation(format!("{}: {error}", host_file.display())))?;
    if !host_metadata.is_file() {
        return Err(Failure::operation(format!(
            "{}: not a regular file",
            host_file.display()
        )));
    }
    let mut file_system = open(image, true)?;
    let (mut directory, mut name) = resolve_parent(&mut file_system, path)?;
    // An existing directory receives the file under its host name, as cp does.
    if let Ok(existing) = file_system.lookup(directory, &name) {
        if file_system
            .stat(existing)
            .map(|metadata| metadata.file_type)
            == Ok(FileType::Directory)
        {
            directory = existing;
            name = host_file
                .file_name()
                .map(|name| name.as_encoded_bytes().to_vec())
                .ok_or_else(|| Failure::usage(format!("{}: no file name", host_file.display())))?;
        }
    }
    let permissions = (host_metadata.mode() & 0o7777) as u16;
    let inode = match file_system.lookup(directory, &name) {
        Ok(existing) => {
            file_system
                .truncate(existing, 0)
                .map_err(|error| failed(path, error))?;
            existing
        }
        Err(Error::NotFound) => file_system
            .create(
                directory,
                &name,
                permissions,
                host_metadata.uid(),
                host_metadata.gid(),
            )
            .map_err(|error| failed(path, error))?,
        Err(error) => return Err(failed(path, error)),
    };
    copy_in(&mut file_system, image, inode, host_file, path)?;
    close(file_system, image)
}

/// `ext2l mkdir [-p] IMAGE PATH`.
pub fn mkdir(image: &Path, path: &str, parents: bool) -> Outcome {
    let mut file_system = open(image, true)?;
    if parents {
        let mut current = file_system.root();
        let mut walked = String::new();
        for component in path
            .split('/')
            .filter(|part| !part.is_empty() && *part != ".")
        {
            walked.push('/');
            walked.push_str(component);
            current = match file_system.lookup(current, component.as_bytes()) {
                Ok(existing) => existing,
                Err(Error::NotFound) => file_system
                    .mkdir(current, component.as_bytes(), 0o755, 0, 0)
                    .map_err(|error| failed(&walked, error))?,
                Err(error) => return Err(failed(&walked, error)),
            };
        }
    } else {
        let (directory, name) = resolve_parent(&mut file_system, path)?;
        file_system
            .mkdir(directory, &name, 0o755, 0, 0)
            .map_err(|error| failed(path, error))?;
    }
    close(file_system, image)
}

/// Removes `name` from `directory`; directories holding their last name
/// are emptied first when `recursive`.
fn remove(
    file_system: &mut Image,
    directory: InodeNumber,
    name: &[u8],
    recursive: bool,
    depth: usize,
    visiting: &mut BTreeSet<InodeNumber>,
) -> Result<(), Error> {
    let inode = file_system.lookup(directory, name)?;
    if file_system.stat(inode)?.file_type != FileType::Directory {
        return file_system.unlink(directory, name);
    }
    match file_system.rmdir(directory, name) {
        Err(Error::NotEmpty) if recursive => {
            if depth >= MAX_REMOVE_DEPTH || !visiting.insert(inode) {
                return Err(Error::WouldCycle);
            }
            for entry in file_system.entries(inode)? {
                if entry.name == b"." || entry.name == b".." {
                    continue;
                }
                remove(file_system, inode, &entry.name, true, depth + 1, visiting)?;
            }
            visiting.remove(&inode);
            file_system.rmdir(directory, name)
        }
        other => other,
    }
}

/// `ext2l rm [-r] IMAGE PATH`.
pub fn rm(image: &Path, path: &str, recursive: bool) -> Outcome {
    let mut file_system = open(image, true)?;
    let (directory, name) = resolve_parent(&mut file_system, path)?;
    remove(
        &mut file_system,
        directory,
        &name,
        recursive,
        0,
        &mut BTreeSet::new(),
    )
    .map_err(|error| failed(path, error))?;
    close(file_system, image)
}

/// `ext2l ln [--dir] [-s] IMAGE TARGET NAME`.
pub fn ln(image: &Path, target: &str, name: &str, directory_link: bool, symbolic: bool) -> Outcome {
    let mut file_system = open(image, true)?;
    let (parent, new_name) = resolve_parent(&mut file_system, name)?;
    if symbolic {
        file_system
            .symlink(parent, &new_name, target.as_bytes(), 0, 0)
            .map_err(|error| failed(name, error))?;
        return close(file_system, image);
    }
    let existing = resolve(&mut file_system, target, false)?;
    let is_directory = file_system
        .stat(existing)
        .map_err(|error| failed(target, error))?
        .file_type
        == FileType::Directory;
    if is_directory && !directory_link {
        return Err(Failure::operation(format!(
            "{target}: is a directory (use --dir for a directory hardlink)"
        )));
    }
    let result = if is_directory {
        file_system.installer().link(existing, parent, &new_name)
    } else {
        file_system.link(existing, parent, &new_name)
    };
    result.map_err(|error| failed(name, error))?;
    close(file_system, image)
}

/// `ext2l rootlink set IMAGE FILE DIR`.
pub fn rootlink_set(image: &Path, file: &str, directory: &str) -> Outcome {
    let mut file_system = open(image, true)?;
    let file_inode = resolve(&mut file_system, file, false)?;
    let directory_inode = resolve(&mut file_system, directory, true)?;
    file_system
        .installer()
        .set_rootlink(file_inode, directory_inode)
        .map_err(|error| failed(file, error))?;
    close(file_system, image)
}

/// `ext2l rootlink clear IMAGE FILE`.
pub fn rootlink_clear(image: &Path, file: &str) -> Outcome {
    let mut file_system = open(image, true)?;
    let file_inode = resolve(&mut file_system, file, false)?;
    file_system
        .installer()
        .clear_rootlink(file_inode)
        .map_err(|error| failed(file, error))?;
    close(file_system, image)
}

/// `ext2l chattr +i|-i` with the image and path in either order around the flag.
pub fn chattr(arguments: &[String]) -> Outcome {
    let usage = || Failure::usage("usage: ext2l chattr IMAGE +i|-i PATH");
    let flag_position = arguments
        .iter()
        .position(|argument| argument == "+i" || argument == "-i")
        .ok_or_else(usage)?;
    let rest: Vec<&String> = arguments
        .iter()
        .enumerate()
        .filter(|(index, _)| *index != flag_position)
        .map(|(_, argument)| argument)
        .collect();
    let [image, path] = rest.as_slice() else {
        return Err(usage());
    };
    let immutable = arguments[flag_position] == "+i";
    let image = Path::new(image.as_str());
    let mut file_system = open(image, true)?;
    let inode = resolve(&mut file_system, path, false)?;
    file_system
        .installer()
        .set_immutable(inode, immutable)
        .map_err(|error| failed(path, error))?;
    close(file_system, image)
}

/// Blocks of `block_size` bytes in `bytes` (what `mkfs` plans from).
fn volume_blocks(bytes: u64, block_size: u32) -> u32 {
    u32::try_from(bytes / u64::from(block_size.max(1))).unwrap_or(u32::MAX)
}

/// A journal size in MiB as blocks.
fn mebibytes_to_blocks(mebibytes: u64, block_size: u32) -> Result<u32, Failure> {
    mebibytes
        .checked_mul(1 << 20)
        .map(|bytes| bytes / u64::from(block_size.max(1)))
        .and_then(|blocks| u32::try_from(blocks).ok())
        .ok_or_else(|| Failure::usage(format!("journal size {mebibytes} MiB is too large")))
}

/// `ext2l tune IMAGE [--ext2l on|off] [--journal [MIB]]`.
pub fn tune(image: &Path, ext2l: Option<bool>, journal: Option<JournalSize>) -> Outcome {
    if ext2l.is_none() && journal.is_none() {
        return Err(Failure::usage(
            "tune: nothing to change (give --ext2l or --journal)",
        ));
    }
    let what = format!("tune: {}", image.display());
    let mut file_system = open(image, true)?;
    if let Some(journal) = journal {
        let blocks = match journal {
            JournalSize::Mebibytes(mebibytes) => {
                mebibytes_to_blocks(mebibytes, file_system.block_size())?
            }
            _ => journal::default_journal_blocks(file_system.info().blocks_count).ok_or_else(
                || {
                    Failure::usage(format!(
                        "{what}: the volume is too small for a journal (under 2048 blocks)"
                    ))
                },
            )?,
        };
        file_system.add_journal(blocks).map_err(|error| match error {
            Error::InvalidArgument => Failure::usage(format!(
                "{what}: a journal of {blocks} blocks is outside {MIN_JOURNAL_BLOCKS} blocks to half the volume"
            )),
            Error::Exists => Failure::operation(format!("{what}: the volume already has a journal")),
            other => failed(&what, other),
        })?;
    }
    if let Some(ext2l) = ext2l {
        file_system
            .set_ext2l_feature(ext2l)
            .map_err(|error| failed(&what, error))?;
    }
    close(file_system, image)
}

/// `ext2l recover IMAGE`: replays the journal when the volume needs
/// recovery, and says what it did.
/// `ext2l resize IMAGE [SIZE]`: grows the volume to SIZE, extending the
/// file if needed; without SIZE, to the file's size, or as far as the
/// volume can grow when the file is larger.
pub fn resize(image: &Path, size: Option<&str>) -> Outcome {
    let what = format!("resize: {}", image.display());
    let file_size = std::fs::metadata(image)
        .map_err(|error| Failure::usage(format!("{}: {error}", image.display())))?
        .len();
    let mut device = FileDevice::open(image, true)
        .map_err(|error| Failure::usage(format!("{}: {error}", image.display())))?;
    let limit = fs_ext2l::growth_limit(&mut device).map_err(|error| failed(&what, error))?;
    let target = match size {
        Some(text) => {
            let target = parse_size(text)?;
            if target > limit {
                return Err(Failure::operation(format!(
                    "{what}: {} is beyond the {} this volume can grow to (the descriptor \
                     blocks reserved when it was made)",
                    mebibytes(target),
                    mebibytes(limit)
                )));
            }
            target
        }
        None => file_size.min(limit),
    };
    if target > file_size {
        drop(device);
        std::fs::OpenOptions::new()
            .write(true)
            .open(image)
            .and_then(|file| file.set_len(target))
            .map_err(|error| Failure::operation(format!("{what}: extending the file: {error}")))?;
        device = FileDevice::open(image, true)
            .map_err(|error| Failure::usage(format!("{}: {error}", image.display())))?;
    }
    let options = MountOptions {
        clock: host_clock,
        ..MountOptions::default()
    };
    let (_, growth) = fs_ext2l::grow(device, target, options).map_err(|error| match error {
        Error::InvalidArgument => Failure::operation(format!(
            "{what}: {} is smaller than the volume (volumes only grow)",
            mebibytes(target)
        )),
        Error::NoSpace => {
            Failure::operation(format!("{what}: the change does not fit the journal's log"))
        }
        other => failed(&what, other),
    })?;
    if growth.grew() {
        say!(
            "{}: grown from {} to {} ({} to {} block groups)",
            image.display(),
            mebibytes(growth.old_bytes()),
            mebibytes(growth.new_bytes()),
            growth.old_groups,
            growth.new_groups
        );
    } else {
        say!(
            "{}: already {}, nothing to grow",
            image.display(),
            mebibytes(growth.old_bytes())
        );
    }
    Ok(())
}

/// A byte count in MiB, for messages.
fn mebibytes(bytes: u64) -> String {
    format!("{} MiB", bytes >> 20)
}

pub fn recover(image: &Path) -> Outcome {
    let mut device = FileDevice::open(image, true)
        .map_err(|error| Failure::usage(format!("{}: {error}", image.display())))?;
    let what = format!("recover: {}", image.display());
    let outcome = journal::recover(&mut device).map_err(|error| match error {
        Error::Unsupported { .. } | Error::Device(_) => Failure::usage(format!("{what}: {error}")),
        Error::ReadOnly => Failure::operation(format!(
            "{what}: the volume has features this library cannot write, so it cannot replay \
             its journal (e2fsck can)"
        )),
        other => failed(&what, other),
    })?;
    match outcome {
        Some(report) => {
            let scan = &report.scan;
            let count = scan.transactions.len();
            let range = crate::inspect::sequence_range(scan)
                .map(|range| format!(" ({range})"))
                .unwrap_or_default();
            say!(
                "{}: replayed {count} transaction{}{range}: {} blocks written, {} revoked; {}",
                image.display(),
                if count == 1 { "" } else { "s" },
                report.blocks_replayed,
                report.blocks_revoked,
                crate::inspect::log_end_text(&scan.end)
            );
        }
        None => {
            let unflagged = journal::inspect(&mut device)
                .ok()
                .flatten()
                .is_some_and(|status| status.has_unflagged_data());
            if unflagged {
                say!(
                    "{}: nothing to recover: needs_recovery is clear, so the transactions in \
                     the journal are not replayed (Linux discards them; `ext2l check` reports them)",
                    image.display()
                );
            } else {
                say!("{}: nothing to recover", image.display());
            }
        }
    }
    device
        .sync_all()
        .map_err(|error| Failure::operation(format!("{what}: {error}")))
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("64M").unwrap(), 64 << 20);
        assert_eq!(parse_size("4096").unwrap(), 4096);
        assert_eq!(parse_size("1g").unwrap(), 1 << 30);
        assert!(parse_size("x").is_err());
        assert!(parse_size("99999999999999T").is_err());
    }
}
