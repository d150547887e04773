// SPDX-License-Identifier: MIT OR Apache-2.0
//! The read-only subcommands: `check`, `ls`, `cat`, `stat`, `get`,
//! `rootlink get` and `info`.
//!
//! They mount the image read-only. `ls` keeps going past entries it cannot
//! describe (a damaged image lists what it can and then fails with status
//! 1); `check` prints every problem with its inode and path and exits 4
//! when there is any. Orphans (inodes a host still held, listed for the
//! next read-write mount to free) are not problems: `check` and `info`
//! count them. A volume whose journal needs recovery cannot be mounted
//! read-only; `check` and `info` see it through a `ReplayedView`, as it
//! will be after the replay, say so, and `check` then exits 1 when that
//! volume is clean. The other commands refuse it (status 2) and say to
//! recover it first.

use crate::output::say;
use std::collections::{BTreeSet, VecDeque};
use std::io::Write;
use std::path::Path;

use fs_ext2l::journal::{self, LogEnd, LogScan, ReplayedView};
use fs_ext2l::{
    Error, FileDevice, FileSystem, FileType, InodeFlags, InodeNumber, Metadata, MountOptions,
};

use crate::image::{failed, host_clock, open, resolve, Image};
use crate::transfer::{copy_extents, Direction};
use crate::{Failure, Outcome};

/// Bytes moved per read when copying a file out.
const COPY_CHUNK: usize = 8 << 20;

/// Opens `image` read-only as it will be after its journal is replayed
/// (as it is when it needs no recovery), writing nothing.
fn open_replayed(image: &Path) -> Result<ReplayedView<FileDevice>, Failure> {
    let device = FileDevice::open(image, false)
        .map_err(|error| Failure::usage(format!("{}: {error}", image.display())))?;
    ReplayedView::new(device).map_err(|error| match error {
        Error::Corrupt(_) => Failure::damage(format!(
            "{}: the journal needs recovery but {error}",
            image.display()
        )),
        other => Failure::usage(format!("{}: {other}", image.display())),
    })
}

/// `ext2l check IMAGE`: exit 0 clean, 1 when the journal needs recovery
/// and the volume as replayed is clean, 4 for damage (in the replayed
/// volume when there is a journal to replay), 2 for an image that cannot
/// be read.
pub fn check(image: &Path) -> Outcome {
    let view = open_replayed(image)?;
    let pending = view.report().cloned();
    let options = MountOptions {
        read_only: true,
        clock: host_clock,
        ..MountOptions::default()
    };
    let mut file_system = FileSystem::mount(view, options)
        .map_err(|error| Failure::usage(format!("{}: {error}", image.display())))?;
    let report = file_system
        .check()
        .map_err(|error| Failure::usage(format!("{}: {error}", image.display())))?;
    for problem in &report.problems {
        say!("{problem}");
    }
    if report.omitted > 0 {
        say!("… and {} more problems", report.omitted);
    }
    let summary = format!(
        "{} inodes in use ({} directories), {} blocks in use, {} rootlinks, {} directory hardlinks",
        report.inodes_in_use,
        report.directories,
        report.blocks_in_use,
        report.rootlinks,
        report.directory_hardlinks
    );
    let orphans = orphan_line(&report.orphans);
    if let Some(pending) = &pending {
        say!(
            "{}: needs recovery: {}; checked as it will be after the replay",
            image.display(),
            pending_text(&pending.scan)
        );
    }
    if report.is_clean() {
        let state = if pending.is_some() {
            "clean once recovered"
        } else {
            "clean"
        };
        say!("{}: {state}: {summary}", image.display());
        if let Some(line) = orphans {
            say!("{line}");
        }
        if pending.is_some() {
            return Err(Failure::needs_recovery(format!(
                "check: {}: the journal needs recovery (`ext2l recover`, or any writing command)",
                image.display()
            )));
        }
        Ok(())
    } else {
        if let Some(line) = orphans {
            say!("{line}");
        }
        say!("{summary}");
        Err(Failure::damage(format!(
            "check: {}: {} problems",
            image.display(),
            report.problems.len() + report.omitted
        )))
    }
}

/// What a log to replay holds, in words.
fn pending_text(scan: &LogScan) -> String {
    let count = scan.transactions.len();
    let blocks: u64 = scan
        .transactions
        .iter()
        .map(|transaction| u64::from(transaction.data_blocks))
        .sum();
    let range = match sequence_range(scan) {
        Some(range) => format!(", {range}"),
        None => String::new(),
    };
    format!(
        "the journal holds {count} committed transaction{}{range} ({blocks} blocks); {}",
        if count == 1 { "" } else { "s" },
        log_end_text(&scan.end)
    )
}

/// `sequence N` or `sequences N–M` of the committed transactions, if any.
pub fn sequence_range(scan: &LogScan) -> Option<String> {
    match (scan.transactions.first(), scan.transactions.last()) {
        (Some(first), Some(last)) if first.sequence != last.sequence => {
            Some(format!("sequences {}–{}", first.sequence, last.sequence))
        }
        (Some(first), _) => Some(format!("sequence {}", first.sequence)),
        _ => None,
    }
}

/// Why a log ends where it does, in words.
pub fn log_end_text(end: &LogEnd) -> String {
    match end {
        LogEnd::Empty => String::from("the journal is empty"),
        LogEnd::Clean => String::from("the log ends cleanly"),
        LogEnd::Torn { sequence } => format!(
            "transaction {sequence} was cut before its commit block and is dropped"
        ),
        LogEnd::Corrupt {
            sequence,
            log_block,
            reason,
        } => format!(
            "transaction {sequence} is damaged at journal block {log_block} ({reason}) and is dropped with all after it"
        ),
        LogEnd::Wrapped => String::from("the log runs around the whole journal"),
    }
}

/// Most orphan inode numbers `check` names.
const ORPHANS_NAMED: usize = 16;

/// `check`'s line about the orphan list, when it is not empty: orphans are
/// valid state (inodes a host still held when the volume was last
/// written), not problems.
fn orphan_line(orphans: &[InodeNumber]) -> Option<String> {
    if orphans.is_empty() {
        return None;
    }
    let mut numbers: Vec<String> = orphans
        .iter()
        .take(ORPHANS_NAMED)
        .map(|inode| inode.to_string())
        .collect();
    if orphans.len() > ORPHANS_NAMED {
        numbers.push(String::from("…"));
    }
    Some(format!(
        "{} orphan inode{}, freed at the next read-write mount (inode{} {})",
        orphans.len(),
        if orphans.len() == 1 { "" } else { "s" },
        if orphans.len() == 1 { "" } else { "s" },
        numbers.join(", ")
    ))
}

/// The `ls -l` type-and-permission string, `drwxr-xr-x`.
fn mode_string(metadata: &Metadata) -> String {
    let type_char = match metadata.file_type {
        FileType::Directory => 'd',
        FileType::Symlink => 'l',
        FileType::CharacterDevice => 'c',
        FileType::BlockDevice => 'b',
        FileType::Fifo => 'p',
        FileType::Socket => 's',
        FileType::RegularFile => '-',
        FileType::Unknown => '?',
    };
    let mode = metadata.mode;
    let mut text = String::from(type_char);
    for (shift, special, special_char) in [(6, 0o4000, 's'), (3, 0o2000, 's'), (0, 0o1000, 't')] {
        let bits = (mode >> shift) & 7;
        text.push(if bits & 4 != 0 { 'r' } else { '-' });
        text.push(if bits & 2 != 0 { 'w' } else { '-' });
        let execute = bits & 1 != 0;
        text.push(match (mode & special != 0, execute) {
            (true, true) => special_char,
            (true, false) => special_char.to_ascii_uppercase(),
            (false, true) => 'x',
            (false, false) => '-',
        });
    }
    text.push(if metadata.flags.contains(InodeFlags::IMMUTABLE) {
        'i'
    } else {
        ' '
    });
    text
}

/// `YYYY-MM-DD HH:MM` (UTC) from seconds since 1970 (Hinnant's civil-from-days).
pub fn format_time(seconds: u32) -> String {
    let days = i64::from(seconds / 86_400);
    let rest = seconds % 86_400;
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}",
        rest / 3600,
        (rest / 60) % 60
    )
}

/// One `ls -l` line.
fn long_line(file_system: &mut Image, name: &[u8], metadata: &Metadata) -> String {
    let mut line = format!(
        "{} {:>3} {:>5} {:>5} {:>10} {} {}",
        mode_string(metadata),
        metadata.links,
        metadata.uid,
        metadata.gid,
        metadata.size,
        format_time(metadata.modification_time),
        String::from_utf8_lossy(name)
    );
    if metadata.file_type == FileType::Symlink {
        match file_system.readlink(metadata.inode) {
            Ok(target) => line.push_str(&format!(" -> {}", String::from_utf8_lossy(&target))),
            Err(error) => line.push_str(&format!(" -> ? ({error})")),
        }
    }
    if let Some(root) = metadata.rootlink {
        line.push_str(&format!(" [rootlink: inode {root}]"));
    }
    line
}

/// `ext2l ls [-l] IMAGE PATH`.
pub fn ls(image: &Path, path: &str, long: bool) -> Outcome {
    let mut file_system = open(image, false)?;
    let inode = resolve(&mut file_system, path, true)?;
    let metadata = file_system
        .stat(inode)
        .map_err(|error| failed(path, error))?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if metadata.file_type != FileType::Directory {
        let line = if long {
            long_line(&mut file_system, path.as_bytes(), &metadata)
        } else {
            path.to_string()
        };
        let _ = writeln!(out, "{line}");
        return Ok(());
    }
    let mut entries = file_system
        .entries(inode)
        .map_err(|error| failed(path, error))?;
    entries.retain(|entry| entry.name != b"." && entry.name != b"..");
    entries.sort_by(|left, right| left.name.cmp(&right.name));
    let mut errors = 0usize;
    for entry in &entries {
        if !long {
            let _ = writeln!(out, "{}", String::from_utf8_lossy(&entry.name));
            continue;
        }
        match file_system.stat(entry.inode) {
            Ok(metadata) => {
                let line = long_line(&mut file_system, &entry.name, &metadata);
                let _ = writeln!(out, "{line}");
            }
            Err(error) => {
                errors += 1;
                let _ = writeln!(
                    out,
                    "?????????? {} (inode {}: {error})",
                    String::from_utf8_lossy(&entry.name),
                    entry.inode
                );
            }
        }
    }
    let _ = out.flush();
    if errors > 0 {
        return Err(Failure::operation(format!(
            "ls: {path}: {errors} entries could not be read"
        )));
    }
    Ok(())
}

/// Streams a regular file to `out`.
fn copy_out(file_system: &mut Image, path: &str, out: &mut dyn Write) -> Outcome {
    let inode = resolve(file_system, path, true)?;
    let mut buffer = vec![0u8; COPY_CHUNK];
    let mut offset = 0u64;
    loop {
        let count = file_system
            .read(inode, offset, &mut buffer)
            .map_err(|error| failed(path, error))?;
        if count == 0 {
            break;
        }
        out.write_all(&buffer[..count])
            .map_err(|error| Failure::operation(format!("{path}: write: {error}")))?;
        offset += count as u64;
    }
    out.flush()
        .map_err(|error| Failure::operation(format!("{path}: write: {error}")))
}

/// `ext2l cat IMAGE PATH`.
pub fn cat(image: &Path, path: &str) -> Outcome {
    let mut file_system = open(image, false)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    copy_out(&mut file_system, path, &mut out)
}

/// `ext2l get IMAGE PATH HOSTFILE`.
pub fn get(image: &Path, path: &str, host_file: &Path) -> Outcome {
    let mut file_system = open(image, false)?;
    if host_file.as_os_str() == "-" {
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        return copy_out(&mut file_system, path, &mut out);
    }
    // The library says where the file's bytes are; the operating system
    // copies them from the image to the host file directly.
    let inode = resolve(&mut file_system, path, true)?;
    let size = file_system
        .stat(inode)
        .map_err(|error| failed(path, error))?
        .size;
    let extents = file_system
        .map_range(inode, 0, size)
        .map_err(|error| failed(path, error))?;
    let host_error =
        |error: std::io::Error| Failure::operation(format!("{}: {error}", host_file.display()));
    let source = std::fs::File::open(image)
        .map_err(|error| Failure::operation(format!("{}: {error}", image.display())))?;
    let out = std::fs::File::create(host_file).map_err(host_error)?;
    copy_extents(&extents, &out, &source, Direction::OutOfImage).map_err(host_error)?;
    // Holes stay holes: the length is set without writing them.
    out.set_len(size).map_err(host_error)
}

/// `ext2l stat IMAGE PATH`.
pub fn stat(image: &Path, path: &str) -> Outcome {
    let mut file_system = open(image, false)?;
    let inode = resolve(&mut file_system, path, false)?;
    let metadata = file_system
        .stat(inode)
        .map_err(|error| failed(path, error))?;
    say!("  path: {path}");
    say!(" inode: {}", metadata.inode);
    say!("  type: {:?}", metadata.file_type);
    say!(
        "  mode: {:o} ({})",
        metadata.mode,
        mode_string(&metadata).trim_end()
    );
    say!(" owner: uid {} gid {}", metadata.uid, metadata.gid);
    say!(
        "  size: {} bytes, {} sectors",
        metadata.size,
        metadata.sectors
    );
    say!(" links: {}", metadata.links);
    say!(
        " flags: {:#x}{}",
        metadata.flags.bits(),
        if metadata.flags.contains(InodeFlags::IMMUTABLE) {
            " (immutable)"
        } else {
            ""
        }
    );
    say!("access: {}", format_time(metadata.access_time));
    say!("modify: {}", format_time(metadata.modification_time));
    say!("change: {}", format_time(metadata.change_time));
    if let Some(root) = metadata.rootlink {
        say!("rootlink: inode {root}");
    }
    if metadata.file_type == FileType::Symlink {
        let target = file_system
            .readlink(inode)
            .map_err(|error| failed(path, error))?;
        say!("target: {}", String::from_utf8_lossy(&target));
    }
    Ok(())
}

/// A path from the root to directory `target`, by breadth-first search
/// over entries (each directory visited once).
pub fn find_path(file_system: &mut Image, target: InodeNumber) -> Option<String> {
    let root = file_system.root();
    if target == root {
        return Some(String::from("/"));
    }
    let mut visited = BTreeSet::new();
    let mut queue = VecDeque::new();
    visited.insert(root);
    queue.push_back((root, String::new()));
    while let Some((directory, path)) = queue.pop_front() {
        let Ok(entries) = file_system.entries(directory) else {
            continue;
        };
        for entry in entries {
            if entry.name == b"." || entry.name == b".." {
                continue;
            }
            let child_path = format!("{path}/{}", String::from_utf8_lossy(&entry.name));
            if entry.inode == target {
                return Some(child_path);
            }
            let is_directory = match entry.file_type {
                FileType::Directory => true,
                FileType::Unknown => file_system
                    .stat(entry.inode)
                    .map(|metadata| metadata.file_type == FileType::Directory)
                    .unwrap_or(false),
                _ => false,
            };
            if is_directory && visited.insert(entry.inode) {
                queue.push_back((entry.inode, child_path));
            }
        }
    }
    None
}

/// `ext2l rootlink get IMAGE FILE`.
pub fn rootlink_get(image: &Path, file: &str) -> Outcome {
    let mut file_system = open(image, false)?;
    let inode = resolve(&mut file_system, file, false)?;
    match file_system
        .rootlink(inode)
        .map_err(|error| failed(file, error))?
    {
        Some(root) => {
            match find_path(&mut file_system, root) {
                Some(path) => say!("{path} (inode {root})"),
                None => say!("inode {root} (no name; reachable only through rootlinks)"),
            }
            Ok(())
        }
        None => Err(Failure::operation(format!("{file}: no rootlink"))),
    }
}

/// The `Journal` lines of `info`.
fn journal_lines(image: &Path) -> Vec<String> {
    let mut device = match FileDevice::open(image, false) {
        Ok(device) => device,
        Err(error) => return vec![format!("Journal:              unreadable ({error})")],
    };
    let status = match journal::inspect(&mut device) {
        Ok(Some(status)) => status,
        Ok(None) => return vec![String::from("Journal:              none")],
        Err(error) => return vec![format!("Journal:              unusable ({error})")],
    };
    let superblock = &status.superblock;
    let bytes = u64::from(superblock.journal_blocks()) * u64::from(superblock.block_size());
    let mut lines = vec![
        format!(
            "Journal:              inode {}, {} blocks ({} KiB), version {}",
            status.inode,
            superblock.journal_blocks(),
            bytes >> 10,
            superblock.version()
        ),
        format!("Journal features:     {}", superblock.features()),
    ];
    let state = if status.needs_recovery {
        format!("needs recovery: {}", pending_text(&status.log))
    } else if status.has_unflagged_data() {
        format!(
            "holds transactions although needs_recovery is clear (not replayed): {}",
            pending_text(&status.log)
        )
    } else if superblock.is_empty() {
        format!("clean (sequence {})", superblock.first_sequence())
    } else {
        format!(
            "in use from journal block {} (sequence {})",
            superblock.log_start(),
            superblock.first_sequence()
        )
    };
    lines.push(format!("Journal state:        {state}"));
    if superblock.errno() != 0 {
        lines.push(format!("Journal errno:        {}", superblock.errno()));
    }
    lines
}

/// `ext2l info IMAGE`.
pub fn info(image: &Path) -> Outcome {
    // Mounted as if for writing (on a read-only view) so the report says
    // whether the image could be written; `info` itself writes nothing, and
    // sees a volume that needs recovery as it will be after the replay.
    let view = open_replayed(image)?;
    let recovered = view.report().is_some();
    let options = MountOptions {
        clock: host_clock,
        clean_orphans: false,
        ..MountOptions::default()
    };
    let file_system = FileSystem::mount(view, options)
        .map_err(|error| Failure::usage(format!("{}: {error}", image.display())))?;
    let info = file_system.info();
    let uuid: String = info
        .uuid
        .iter()
        .enumerate()
        .map(|(index, byte)| {
            let dash = if matches!(index, 4 | 6 | 8 | 10) {
                "-"
            } else {
                ""
            };
            format!("{dash}{byte:02x}")
        })
        .collect();
    say!(
        "Volume name:          {}",
        String::from_utf8_lossy(&info.label)
    );
    say!("Volume UUID:          {uuid}");
    say!("Revision:             {}", info.revision);
    say!("Features:             {}", info.features);
    say!(
        "ext2l:                {}",
        if info.features.has_ext2l() {
            "yes"
        } else {
            "no"
        }
    );
    let unmounted = if info.state & fs_ext2l::STATE_VALID != 0 {
        "clean"
    } else {
        "not clean (mounted, or cut off while mounted)"
    };
    let errors = if info.state & fs_ext2l::STATE_ERRORS != 0 {
        "; errors found"
    } else {
        ""
    };
    say!("State:                {unmounted}{errors}");
    say!("Block size:           {}", info.block_size);
    say!("Inode size:           {}", info.inode_size);
    say!(
        "Blocks:               {} ({} free, {} reserved)",
        info.blocks_count,
        info.free_blocks,
        info.reserved_blocks
    );
    say!(
        "Inodes:               {} ({} free)",
        info.inodes_count,
        info.free_inodes
    );
    say!(
        "Groups:               {} ({} blocks, {} inodes each)",
        info.group_count,
        info.blocks_per_group,
        info.inodes_per_group
    );
    say!("First inode:          {}", info.first_inode);
    match info.orphans_listed {
        0 => say!("Orphan list:          empty"),
        count => say!(
            "Orphan list:          {count} inode{} (freed at the next read-write mount)",
            if count == 1 { "" } else { "s" }
        ),
    }
    if let Some(damage) = info.orphan_list_damage {
        say!("Orphan list damage:   {damage}");
    }
    match info.next_generation {
        0 => say!("Next generation:      not started (set by the first new inode)"),
        generation => say!("Next generation:      {generation}"),
    }
    for line in journal_lines(image) {
        say!("{line}");
    }
    match (info.read_only_reason, recovered) {
        (Some(reason), _) => say!("Writable:             no ({reason})"),
        (None, true) => say!("Writable:             yes, once the journal is replayed"),
        (None, false) => say!("Writable:             yes"),
    }
    Ok(())
}
