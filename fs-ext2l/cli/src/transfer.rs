// SPDX-License-Identifier: MIT OR Apache-2.0
//! Moving file data between a host file and an image file.
//!
//! `put` and `get` ask the library where a file's bytes lie in the image
//! ([`FileExtent`]s from `allocate_range` or `map_range`) and let the host
//! kernel copy them, so the data never passes through this process:
//!
//! - the target's ranges are first preallocated with `fallocate`, so the
//!   host file system reserves the space once per run instead of once per
//!   page as the copy writes (and the copy lands in contiguous host blocks);
//! - the bytes then go through a pipe enlarged to 1 MiB with `splice`: the
//!   source's cached pages are lent to the pipe without a copy and written
//!   to the target a megabyte at a time, so the host page cache fills the
//!   target with large folios. `copy_file_range` (what `cp` uses, and the
//!   fallback here) goes through the kernel's internal 64 KiB pipe instead.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};

use std::os::fd::OwnedFd;

use fs_ext2l::FileExtent;
use rustix::fs::{fallocate, FallocateFlags};
use rustix::io::Errno;
use rustix::pipe::{fcntl_setpipe_size, pipe_with, splice, PipeFlags, SpliceFlags};

/// The pipe size asked for: Linux's default `pipe-max-size`.
const PIPE_BYTES: usize = 1 << 20;

/// Which way the bytes go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// From the host file into the image (`put`).
    IntoImage,
    /// From the image into the host file (`get`).
    OutOfImage,
}

/// One data extent as a source offset, a target offset and a length.
fn endpoints(extent: &FileExtent, direction: Direction) -> Option<(u64, u64, u64)> {
    match *extent {
        FileExtent::Data {
            file_offset,
            device_offset,
            length,
        } => Some(match direction {
            Direction::IntoImage => (file_offset, device_offset, length),
            Direction::OutOfImage => (device_offset, file_offset, length),
        }),
        FileExtent::Hole { .. } => None,
    }
}

/// Copies every data extent of a file between `host` and `image`; holes
/// are skipped (the caller sets the final length).
pub fn copy_extents(
    extents: &[FileExtent],
    host: &File,
    image: &File,
    direction: Direction,
) -> std::io::Result<()> {
    let (source, target) = match direction {
        Direction::IntoImage => (host, image),
        Direction::OutOfImage => (image, host),
    };
    preallocate(
        target,
        extents
            .iter()
            .filter_map(|extent| endpoints(extent, direction))
            .map(|(_, target_offset, length)| (target_offset, length)),
    );
    let mut pipe = Pipe::new();
    for (source_offset, target_offset, length) in extents
        .iter()
        .filter_map(|extent| endpoints(extent, direction))
    {
        let done = match pipe.as_ref() {
            Some(spliced) => {
                match spliced.copy(source, source_offset, target, target_offset, length) {
                    Ok(()) => continue,
                    // Files that cannot be spliced: copy the rest the other way.
                    Err(Stopped { done, error }) if unspliceable(&error) => {
                        pipe = None;
                        done
                    }
                    Err(Stopped { error, .. }) => return Err(error),
                }
            }
            None => 0,
        };
        copy_range(
            source,
            source_offset + done,
            target,
            target_offset + done,
            length - done,
        )?;
    }
    Ok(())
}

/// A splice that stopped after writing `done` bytes to the target.
struct Stopped {
    done: u64,
    error: std::io::Error,
}

/// Whether a splice failed only because these files cannot be spliced.
fn unspliceable(error: &std::io::Error) -> bool {
    [Errno::INVAL, Errno::NOSYS, Errno::OPNOTSUPP]
        .iter()
        .any(|errno| error.raw_os_error() == Some(errno.raw_os_error()))
}

/// A pipe to splice through, and how much it holds.
struct Pipe {
    read: OwnedFd,
    write: OwnedFd,
    capacity: usize,
}

impl Pipe {
    /// A pipe of [`PIPE_BYTES`] (or the system's limit); `None` where pipes
    /// cannot be made.
    fn new() -> Option<Pipe> {
        let (read, write) = pipe_with(PipeFlags::CLOEXEC).ok()?;
        // The default size (16 pages) still works, only slower.
        let capacity = fcntl_setpipe_size(&write, PIPE_BYTES).unwrap_or(1 << 16);
        Some(Pipe {
            read,
            write,
            capacity,
        })
    }

    /// Copies `length` bytes from `source` at `source_offset` to `target`
    /// at `target_offset`: each round lends up to a pipe's worth of the
    /// source's pages to the pipe, then writes them all to the target.
    fn copy(
        &self,
        source: &File,
        source_offset: u64,
        target: &File,
        target_offset: u64,
        length: u64,
    ) -> Result<(), Stopped> {
        let mut read_at = source_offset;
        let mut write_at = target_offset;
        let end = target_offset + length;
        let stopped = |write_at: u64, error: Errno| Stopped {
            done: write_at - target_offset,
            error: error.into(),
        };
        while write_at < end {
            let want = usize::try_from(end - write_at)
                .unwrap_or(usize::MAX)
                .min(self.capacity);
            let filled = splice(
                source,
                Some(&mut read_at),
                &self.write,
                None,
                want,
                SpliceFlags::empty(),
            )
            .map_err(|error| stopped(write_at, error))?;
            if filled == 0 {
                return Err(Stopped {
                    done: write_at - target_offset,
                    error: std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "the file shrank while it was copied",
                    ),
                });
            }
            let mut drained = 0;
            while drained < filled {
                let written = splice(
                    &self.read,
                    None,
                    target,
                    Some(&mut write_at),
                    filled - drained,
                    SpliceFlags::empty(),
                )
                .map_err(|error| stopped(write_at, error))?;
                if written == 0 {
                    return Err(Stopped {
                        done: write_at - target_offset,
                        error: std::io::ErrorKind::WriteZero.into(),
                    });
                }
                drained += written;
            }
        }
        Ok(())
    }
}

/// Reserves the target's ranges (`offset`, `length`), merging adjacent
/// ones, without changing its size or any byte already written. Only an
/// optimisation: a file system without `fallocate` (or out of space, which
/// the copy then reports) is left to the copy.
fn preallocate(target: &File, ranges: impl Iterator<Item = (u64, u64)>) {
    let mut pending: Option<(u64, u64)> = None;
    for (offset, length) in ranges {
        pending = match pending {
            Some((start, run)) if start.checked_add(run) == Some(offset) => {
                Some((start, run.saturating_add(length)))
            }
            Some((start, run)) => {
                if fallocate(target, FallocateFlags::KEEP_SIZE, start, run).is_err() {
                    return;
                }
                Some((offset, length))
            }
            None => Some((offset, length)),
        };
    }
    if let Some((start, run)) = pending {
        let _ = fallocate(target, FallocateFlags::KEEP_SIZE, start, run);
    }
}

/// Copies `length` bytes between two files at the given offsets, with the
/// kernel's file-to-file copy where the platform has one.
pub fn copy_range(
    source: &File,
    source_offset: u64,
    target: &File,
    target_offset: u64,
    length: u64,
) -> std::io::Result<()> {
    let mut reader = source;
    reader.seek(SeekFrom::Start(source_offset))?;
    let mut writer = target;
    writer.seek(SeekFrom::Start(target_offset))?;
    let copied = std::io::copy(&mut reader.take(length), &mut writer)?;
    if copied != length {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "the file shrank while it was copied",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::FileExt;
    use std::path::PathBuf;

    fn scratch(name: &str) -> PathBuf {
        let directory =
            std::env::temp_dir().join(format!("ext2l-transfer-test-{}", std::process::id()));
        std::fs::create_dir_all(&directory).unwrap();
        directory.join(name)
    }

    fn pattern(length: usize, seed: u64) -> Vec<u8> {
        (0..length as u64)
            .map(|index| (index.wrapping_mul(0x9E37_79B9).wrapping_add(seed) >> 11) as u8)
            .collect()
    }

    /// Extents of several pipe sizes and odd lengths, with a hole, at
    /// scattered device offsets.
    fn layout() -> Vec<FileExtent> {
        vec![
            FileExtent::Data {
                file_offset: 0,
                device_offset: 40 << 20,
                length: (2 << 20) + 4096 + 13,
            },
            FileExtent::Hole {
                file_offset: (2 << 20) + 4096 + 13,
                length: 100_000,
            },
            FileExtent::Data {
                file_offset: (2 << 20) + 4096 + 13 + 100_000,
                device_offset: 3 << 20,
                length: 5000,
            },
        ]
    }

    #[test]
    fn copies_every_extent_both_ways_and_skips_holes() {
        let extents = layout();
        let file_size = (2 << 20) + 4096 + 13 + 100_000 + 5000;
        let content = pattern(file_size, 7);
        let host_path = scratch("host");
        std::fs::write(&host_path, &content).unwrap();
        let image_path = scratch("image");
        let image = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&image_path)
            .unwrap();
        image.set_len(64 << 20).unwrap();
        let host = File::open(&host_path).unwrap();
        copy_extents(&extents, &host, &image, Direction::IntoImage).unwrap();
        // Preallocation never grows the image.
        assert_eq!(image.metadata().unwrap().len(), 64 << 20);
        for extent in &extents {
            if let FileExtent::Data {
                file_offset,
                device_offset,
                length,
            } = *extent
            {
                let mut stored = vec![0u8; length as usize];
                image.read_exact_at(&mut stored, device_offset).unwrap();
                let start = file_offset as usize;
                assert!(stored == content[start..start + length as usize]);
            }
        }

        let out_path = scratch("out");
        let out = File::create(&out_path).unwrap();
        copy_extents(&extents, &out, &image, Direction::OutOfImage).unwrap();
        out.set_len(file_size as u64).unwrap();
        let mut expected = content.clone();
        expected[(2 << 20) + 4096 + 13..(2 << 20) + 4096 + 13 + 100_000].fill(0);
        assert!(std::fs::read(&out_path).unwrap() == expected);
    }

    #[test]
    fn falls_back_to_copy_file_range_when_the_target_cannot_be_spliced() {
        // Linux refuses to splice into a file opened for appending; writing
        // from offset 0 of an empty file, appending lands the same bytes.
        let content = pattern(3 << 20, 9);
        let source_path = scratch("fallback-source");
        std::fs::write(&source_path, &content).unwrap();
        let target_path = scratch("fallback-target");
        let target = File::options()
            .append(true)
            .create(true)
            .truncate(false)
            .open(&target_path)
            .unwrap();
        target.set_len(0).unwrap();
        let extents = [FileExtent::Data {
            file_offset: 0,
            device_offset: 0,
            length: content.len() as u64,
        }];
        let source = File::open(&source_path).unwrap();
        copy_extents(&extents, &target, &source, Direction::OutOfImage).unwrap();
        assert!(std::fs::read(&target_path).unwrap() == content);
    }
}
