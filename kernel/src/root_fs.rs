// SPDX-License-Identifier: MIT OR Apache-2.0
//! The root file system: the ext2l volume on the first virtio-blk disk.
//!
//! The volume is the whole disk, or the disk's GPT root partition
//! ([`crate::partition`]: found by its type GUID, never by position).
//! At boot the kernel mounts it on a [`Disk`] (virtio-blk, uncached: the
//! one block cache is the file system's) and keeps it here as a
//! [`Volume`] — the mounted file system with its table of live objects
//! (`kernel_core`) — behind a lock (the `fs-ext2l` library is
//! single-threaded by design). [`sync`] releases the objects dropped since
//! the last operation (freeing orphans), writes every dirty block back and
//! flushes the device, doing the device work after letting go of the file
//! system; power-off calls it.

use crate::disk::Disk;
use crate::fsck::{self, FsckMode};
use crate::partition::{self, PartitionError};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};
use fs_ext2l::{FileSystem, MountOptions};
use hal::virtio::BlockDevice;
use hal::BootInfo;
use kernel_core::{ObjectRef, Volume};
use spin::Mutex;

/// The mounted root, once [`mount`] succeeded.
pub static ROOT: Mutex<Option<Volume<Disk>>> = Mutex::new(None);

/// Bytes of kernel heap per entry of the live-object table: the table
/// may use about 1/64 of the heap (each entry costs under 100 bytes).
const HEAP_BYTES_PER_OBJECT: u64 = 64 * 96;

/// Why the root could not be mounted.
#[derive(Debug)]
pub enum MountError {
    /// No disk at all.
    NoDisk,
    /// The disk has a partition table but no usable root partition.
    Partition(PartitionError),
    /// The library refused the volume (not ext2, corrupt, unsupported).
    FileSystem(fs_ext2l::Error),
    /// The table of live objects could not be made.
    Objects(kernel_core::Error),
}

impl core::fmt::Display for MountError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            MountError::NoDisk => write!(f, "no disk"),
            MountError::Partition(error) => write!(f, "{error}"),
            MountError::FileSystem(error) => write!(f, "{error}"),
            MountError::Objects(error) => write!(f, "live objects: {error}"),
        }
    }
}

/// Seconds for file timestamps: the time of day.
fn clock() -> u32 {
    crate::wall_clock::timestamp()
}

/// Grows the volume on `disk` to fill it, as far as the volume can grow
/// (`fs_ext2l::grow`: a power cut leaves the old size or the new one),
/// and says so on the console. A failure is logged; the volume is then
/// mounted as it is.
fn grow_volume(disk: &mut Disk, options: MountOptions) {
    use fs_ext2l::BlockDevice as _;
    let sizes = disk
        .size()
        .map_err(fs_ext2l::Error::from)
        .and_then(|disk_bytes| {
            let volume_bytes = fs_ext2l::volume_bytes(disk)?;
            let limit = fs_ext2l::growth_limit(disk)?;
            Ok((disk_bytes.min(limit), volume_bytes))
        });
    let target = match sizes {
        // Less than a mebibyte more is no growth worth a mount.
        Ok((target, volume_bytes)) if target >= volume_bytes + (1 << 20) => target,
        Ok(_) => return,
        Err(error) => {
            log::warn!("root: cannot tell whether the volume can grow: {error}");
            return;
        }
    };
    // A clone of the handle, as the repair does: one instance of the
    // generic library (`FileSystem<Disk>`) in the kernel, not a second
    // one for `&mut Disk`.
    match fs_ext2l::grow(disk.clone(), target, options) {
        Ok((_, growth)) if growth.grew() => log::info!(
            "root grown: {} MiB -> {} MiB",
            growth.old_bytes() >> 20,
            growth.new_bytes() >> 20
        ),
        Ok(_) => {}
        Err(error) => log::warn!("root: the volume was not grown: {error}"),
    }
}

/// Mounts the first of `disks` as the root, repaired first if `fsck` says
/// so and it needs it ([`crate::fsck`]); returns a one-line summary.
///
/// Return values: `NoDisk` when `disks` is empty; `Partition(error)` when
/// the disk has a GPT without a usable root partition (corrupt, missing);
/// `FileSystem(error)` when the volume is not a mountable ext2/ext2l file
/// system (the error names what is wrong, e.g. an unsupported feature or a
/// bad superblock).
pub fn mount(
    boot: &BootInfo,
    disks: Vec<BlockDevice>,
    fsck: FsckMode,
) -> Result<String, MountError> {
    let mut disk = disks.into_iter().next().ok_or(MountError::NoDisk)?;
    // First the table, then the volume: a cut between them leaves a
    // partition larger than its volume, which the next boot grows.
    match partition::grow_root(&mut disk) {
        Ok(Some(grown)) if grown.new_sectors > grown.old_sectors => log::info!(
            "root: GPT partition {} grown from {} to {} sectors",
            grown.index,
            grown.old_sectors,
            grown.new_sectors
        ),
        Ok(_) => {}
        Err(error) => log::warn!("root: the GPT was not grown: {error}"),
    }
    let volume = partition::find_root(&mut disk).map_err(MountError::Partition)?;
    if let partition::Volume::Partition {
        index,
        first,
        sectors,
    } = volume
    {
        disk.restrict(first, sectors)
            .map_err(|error| MountError::Partition(PartitionError::Device(error)))?;
        log::info!(
            "root: virtio-blk0 GPT partition {} (sectors {}..{})",
            index,
            first,
            first + sectors
        );
    }
    // A quarter of the heap for the file system's block cache, within sane
    // bounds (256 KiB to 64 MiB).
    let cache_bytes = (boot.heap.size / 4).clamp(256 << 10, 64 << 20) as usize;
    // For the bytes of programs recently run, a sixteenth of the first
    // 16 MiB of the heap and an eighth of the rest: at the default 128 MiB
    // (a heap of 30 MiB on x86_64, 2.75 MiB for programs) room for busybox
    // (1.9 MiB) with its launcher and the program that ran it. A
    // sixteenth of it all held less than busybox on x86_64, so every
    // applet read and checked the whole file again; an eighth of it all
    // made the smallest machine that runs a session 25 MiB instead of 17
    // (cached programs keep their shared frames too).
    const SMALL_HEAP: u64 = 16 << 20;
    let program_bytes =
        boot.heap.size.min(SMALL_HEAP) / 16 + boot.heap.size.saturating_sub(SMALL_HEAP) / 8;
    crate::program_cache::init(program_bytes as usize);
    let options = MountOptions {
        clock,
        cache_bytes,
        ..MountOptions::default()
    };
    let mut disk = Disk::new(disk);
    fsck::run(&disk, fsck, options);
    grow_volume(&mut disk, options);
    let file_system = FileSystem::mount(disk, options).map_err(MountError::FileSystem)?;
    let info = file_system.info();
    let label = String::from_utf8_lossy(&info.label).into_owned();
    let summary = format!(
        "mounted {} volume '{}' as / ({}-byte blocks, {} of {} blocks free, {} of {} inodes free{})",
        if info.features.has_ext2l() { "ext2l" } else { "ext2" },
        label,
        info.block_size,
        info.free_blocks,
        info.blocks_count,
        info.free_inodes,
        info.inodes_count,
        match info.read_only_reason {
            Some(reason) => format!("; read-only: {reason}"),
            None => String::new(),
        }
    );
    if let Some(report) = file_system.recovery_report() {
        log::info!(
            "root: journal replayed: {} transaction(s), {} block(s) written, {} revoked ({:?})",
            report.scan.transactions.len(),
            report.blocks_replayed,
            report.blocks_revoked,
            report.scan.end
        );
    }
    if info.orphans_cleaned > 0 {
        log::info!(
            "root: freed {} orphan inode(s) left by the last boot",
            info.orphans_cleaned
        );
    }
    if let Some(damage) = info.orphan_list_damage {
        log::warn!(
            "root: {damage}; {} orphan(s) still listed (`ext2l check` reports them)",
            info.orphans_listed
        );
    }
    let object_limit = (boot.heap.size / HEAP_BYTES_PER_OBJECT).clamp(1024, 65536) as usize;
    let volume = Volume::new(file_system, object_limit).map_err(MountError::Objects)?;
    log::info!(
        "root: up to {} live objects ({} KiB of heap)",
        volume.objects().limit(),
        volume.objects().memory_bytes() / 1024
    );
    *ROOT.lock() = Some(volume);
    Ok(summary)
}

/// Which changes a write-back takes.
#[derive(Clone, Copy)]
enum Scope<'a> {
    /// Everything (`sync`, the write-back task).
    Everything,
    /// One file: its data, and the running transaction (`fsync`).
    File(&'a ObjectRef),
}

/// Writes back what `scope` names, in three phases: the batch is taken
/// under the file system's lock (on a journaled volume: the running
/// transaction closes, ordered data first); the device is locked before
/// the file system is let go (so the batch reaches the disk before
/// anything the file system does next), and the writes happen with only
/// the device held, while other processes keep using the cache; then the
/// file system marks written what did not change meanwhile. Objects
/// dropped since the last operation are released first (orphans among
/// them are freed, in the same transaction).
///
/// Return values: `Stale` for a file that is gone; the library's error if
/// a write or a flush failed (nothing is then marked written: the next
/// write-back carries it all again), or if freeing an orphan failed.
fn write_back(scope: Scope<'_>) -> Result<(), kernel_core::Error> {
    let mut root = ROOT.lock();
    let Some(volume) = root.as_mut() else {
        return Ok(());
    };
    let collected = volume.collect();
    if let Scope::File(object) = scope {
        volume.verify(object)?;
    }
    let file_system = volume.file_system();
    let disk = file_system.device().clone();
    let batch = match scope {
        Scope::Everything => file_system.begin_write_back(),
        Scope::File(object) => file_system.begin_fsync(object.inode())?,
    };
    let mut locked = disk.lock();
    drop(root);
    let written = batch.write_to(&mut locked);
    drop(locked);
    let finished = match ROOT.lock().as_mut() {
        Some(volume) => {
            let finished = volume.file_system().finish_commit(batch, written);
            report_damage(volume);
            finished
        }
        None => written,
    };
    finished?;
    collected
}

/// Writes every change back and flushes the disk: on a journaled volume,
/// commits the running transaction (`sync`, the write-back task).
///
/// Return values: as [`write_back`].
pub fn sync() -> Result<(), kernel_core::Error> {
    write_back(Scope::Everything)
}

/// Makes `file` durable: its data and the metadata that reaches it (the
/// running transaction commits; other files' data is not written, but for
/// the blocks they newly allocated, which ordered mode writes first).
///
/// Return values: as [`write_back`].
pub fn fsync(file: &ObjectRef) -> Result<(), kernel_core::Error> {
    write_back(Scope::File(file))
}

/// Whether the damage of the mount was told already.
static DAMAGE_TOLD: AtomicBool = AtomicBool::new(false);

/// Says once, on the console, that the volume turned read-only because an
/// operation found damage.
pub fn report_damage(volume: &mut Volume<Disk>) {
    let file_system = volume.file_system_ref();
    if let Some(damage) = file_system.damage() {
        if !DAMAGE_TOLD.swap(true, Ordering::Relaxed) {
            log::error!(
                "root: damage found ({damage}); the volume is marked and now read-only (`ext2l check --repair`)"
            );
        }
    }
}

/// Unmounts the root cleanly (power-off): the last commit, the journal
/// emptied, the volume marked valid. What could not be written is said.
///
/// Return values: `Ok(())`, or how many bytes of changes were lost.
pub fn unmount() -> Result<(), u64> {
    // Write back first with the usual path (objects released, orphans
    // freed), then let the library finish cleanly.
    let synced = sync();
    let Some(volume) = ROOT.lock().take() else {
        return Ok(());
    };
    let file_system = volume.into_file_system();
    let pending = file_system.pending_bytes();
    let lost = pending.data + pending.metadata;
    if let Err(error) = synced {
        log::error!("unmount: writing back failed: {error}");
    }
    match file_system.unmount() {
        Ok(_) => Ok(()),
        Err(error) => {
            log::error!("unmount: {error}");
            Err(lost)
        }
    }
}

/// Writes every dirty block back, then drops every block of file data
/// from the file system's cache: the next read of a file's contents
/// comes from the disk (the benchmarks' cold read). Metadata — inodes,
/// directories, pointer blocks — stays cached, as it did when the file
/// system kept its own metadata cache above the kernel's.
///
/// Return values: `InputOutput` if writing back failed; `NotFound`
/// without a root.
pub fn drop_cache() -> Result<(), manux_abi::Errno> {
    if ROOT.lock().is_none() {
        return Err(manux_abi::Errno::NotFound);
    }
    sync().map_err(|_| manux_abi::Errno::InputOutput)?;
    if let Some(volume) = ROOT.lock().as_mut() {
        volume
            .file_system()
            .drop_clean_blocks(Some(fs_ext2l::BlockClass::Data));
    }
    Ok(())
}

/// Reads `sectors` sectors of the root disk from `first_sector`, past the
/// file system, keeping nothing; returns the bytes read.
///
/// Return values: as [`Disk::read_raw`]; `NotFound` without a root.
pub fn read_raw(first_sector: u64, sectors: u64) -> Result<u64, manux_abi::Errno> {
    let disk = match ROOT.lock().as_ref() {
        Some(volume) => volume.file_system_ref().device().clone(),
        None => return Err(manux_abi::Errno::NotFound),
    };
    disk.read_raw(first_sector, sectors)
}
