// SPDX-License-Identifier: MIT OR Apache-2.0
//! Built-in self tests, selected with `test=NAME` on the command line.
//!
//! The guest test suite (`tests/`) boots the kernel with one of these and
//! reads the console. Each prints what it observed — the tests compare it
//! with what the host knows — and powers off with a status saying whether
//! it succeeded:
//! - `poweroff`: a clean power-off (status 0);
//! - `panic`: a deliberate kernel panic (must be reported, status ≠ 0);
//! - `fault`: a deliberate fault in kernel mode (a read of an unmapped
//!   address): the exception report must name it, status ≠ 0;
//! - `ticks`: counts timer ticks over 500 ms of the counter's time;
//! - `frames`: takes every free frame, checks each lies in RAM and outside
//!   the heap, frees them all and checks the count is back;
//! - `fs-read`: prints the root file system's `/motd`;
//! - `fs-write`: creates `/selftest/hello.txt` (replacing an old one) and
//!   powers off, which syncs; the host then reads it with `debugfs` and
//!   checks the volume with `e2fsck`;
//! - `blk-write`: writes a pattern to the last 8 sectors of the first disk
//!   in one request, reads it back, and reports it; the host then checks
//!   the image file.

use crate::{clock, power_off, TICK_HZ};
use alloc::vec;
use alloc::vec::Vec;
use hal::virtio::{BlockDevice, SECTOR_SIZE};
use hal::{Arch, Architecture, BootInfo, ExitStatus};

/// The self tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SelfTest {
    /// Power off cleanly.
    PowerOff,
    /// Panic on purpose.
    Panic,
    /// Fault in kernel mode on purpose.
    Fault,
    /// Measure the tick rate.
    Ticks,
    /// Write and read back sectors.
    BlockWrite,
    /// Exhaust and refill the frame allocator.
    Frames,
    /// Read a file from the root file system.
    FileSystemRead,
    /// Write a file to the root file system.
    FileSystemWrite,
}

impl SelfTest {
    /// The test named `name`, if any.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "poweroff" => SelfTest::PowerOff,
            "panic" => SelfTest::Panic,
            "fault" => SelfTest::Fault,
            "ticks" => SelfTest::Ticks,
            "blk-write" => SelfTest::BlockWrite,
            "frames" => SelfTest::Frames,
            "fs-read" => SelfTest::FileSystemRead,
            "fs-write" => SelfTest::FileSystemWrite,
            _ => return None,
        })
    }

    /// Whether the test uses the disks directly (before the root is mounted).
    pub fn needs_raw_disks(self) -> bool {
        self == SelfTest::BlockWrite
    }
}

/// Runs a test that needs the raw disks; powers off when done.
pub fn run_raw(test: SelfTest, disks: Vec<BlockDevice>) -> ! {
    match test {
        SelfTest::BlockWrite => block_write(disks),
        _ => power_off(ExitStatus::Failure(1)),
    }
}

/// Runs `test`; powers off when done.
pub fn run(test: SelfTest, boot: &BootInfo) -> ! {
    match test {
        SelfTest::PowerOff => power_off(ExitStatus::Success),
        SelfTest::Panic => panic!("self test: panic requested by test=panic"),
        SelfTest::Fault => hal::diagnostics::fault_on_purpose(),
        SelfTest::Ticks => {
            let start_time = Arch::time_since_reset();
            let start_ticks = clock::ticks();
            let interval = core::time::Duration::from_millis(500);
            while Arch::time_since_reset() - start_time < interval {
                Arch::wait_for_interrupt();
            }
            let counted = clock::ticks() - start_ticks;
            crate::logger::print_fmt(format_args!(
                "self test: {} ticks in {} ms at {} Hz\n",
                counted,
                interval.as_millis(),
                TICK_HZ
            ));
            power_off(ExitStatus::Success)
        }
        SelfTest::BlockWrite => power_off(ExitStatus::Failure(1)),
        SelfTest::Frames => frames(boot),
        SelfTest::FileSystemRead => file_system_read(),
        SelfTest::FileSystemWrite => file_system_write(),
    }
}

fn block_write(mut disks: Vec<BlockDevice>) -> ! {
    let Some(disk) = disks.first_mut() else {
        crate::logger::print_fmt(format_args!("self test: no disk\n"));
        power_off(ExitStatus::Failure(1))
    };
    let sectors = 8u64;
    let first = disk.capacity_sectors().saturating_sub(sectors);
    let mut pattern = vec![0u8; sectors as usize * SECTOR_SIZE];
    for (index, sector) in pattern.chunks_mut(SECTOR_SIZE).enumerate() {
        let text = alloc::format!("MANUX BLOCK TEST sector {}\n", first + index as u64);
        sector[..text.len()].copy_from_slice(text.as_bytes());
    }
    let outcome = disk
        .write_sectors(first, &pattern)
        .and_then(|_| disk.flush())
        .and_then(|_| {
            let mut back = vec![0u8; pattern.len()];
            disk.read_sectors(first, &mut back).map(|_| back)
        });
    match outcome {
        Ok(back) if back == pattern => {
            crate::logger::print_fmt(format_args!(
                "self test: wrote and read back sectors {}..{}\n",
                first,
                first + sectors
            ));
            power_off(ExitStatus::Success)
        }
        Ok(_) => {
            crate::logger::print_fmt(format_args!("self test: read-back differs\n"));
            power_off(ExitStatus::Failure(1))
        }
        Err(error) => {
            crate::logger::print_fmt(format_args!("self test: block I/O failed: {:?}\n", error));
            power_off(ExitStatus::Failure(1))
        }
    }
}

fn frames(boot: &BootInfo) -> ! {
    use hal::frames::{free_bytes, Frame, FRAME_SIZE};
    let free_before = free_bytes();
    let mut taken = Vec::new();
    let mut misplaced = 0u64;
    while let Some(frame) = Frame::allocate() {
        let start = frame.physical_address();
        let end = start + FRAME_SIZE;
        let in_ram = boot
            .ram
            .as_slice()
            .iter()
            .any(|r| start >= r.start && end <= r.end());
        let in_heap = start < boot.heap.end() && end > boot.heap.start;
        if !in_ram || in_heap {
            misplaced += 1;
        }
        taken.push(frame);
    }
    let count = taken.len() as u64;
    let exhausted = free_bytes() == 0;
    taken.sort_by_key(Frame::physical_address);
    let duplicates = taken
        .windows(2)
        .filter(|pair| pair[0].physical_address() == pair[1].physical_address())
        .count();
    drop(taken);
    let restored = free_bytes() == free_before;
    crate::logger::print_fmt(format_args!(
        "self test: allocated {} frames ({} MiB), {} misplaced, {} duplicated, exhausted {}, restored {}\n",
        count,
        (count * FRAME_SIZE) >> 20,
        misplaced,
        duplicates,
        exhausted,
        restored
    ));
    let ok = misplaced == 0
        && duplicates == 0
        && exhausted
        && restored
        && count * FRAME_SIZE == free_before;
    power_off(if ok {
        ExitStatus::Success
    } else {
        ExitStatus::Failure(1)
    })
}

fn report(result: Result<alloc::string::String, kernel_core::Error>) -> ! {
    match result {
        Ok(text) => {
            crate::logger::print_fmt(format_args!("self test: {}\n", text));
            power_off(ExitStatus::Success)
        }
        Err(error) => {
            crate::logger::print_fmt(format_args!("self test: file system error: {}\n", error));
            power_off(ExitStatus::Failure(1))
        }
    }
}

fn file_system_read() -> ! {
    let result = {
        let mut root = crate::root_fs::ROOT.lock();
        match root.as_mut() {
            None => Err(kernel_core::Error::FileSystem(fs_ext2l::Error::NotFound)),
            Some(volume) => (|| {
                let file = volume.resolve_path(b"/motd", true)?;
                let size = volume.stat(&file)?.size.min(4096) as usize;
                let mut text = vec![0u8; size];
                let read = volume.read(&file, 0, &mut text)?;
                text.truncate(read);
                Ok(alloc::format!(
                    "/motd: {}",
                    alloc::string::String::from_utf8_lossy(&text).trim_end()
                ))
            })(),
        }
    };
    report(result)
}

fn file_system_write() -> ! {
    const TEXT: &[u8] = b"written by the Manux kernel\n";
    let result = {
        let mut root = crate::root_fs::ROOT.lock();
        let not_found = kernel_core::Error::FileSystem(fs_ext2l::Error::NotFound);
        match root.as_mut() {
            None => Err(not_found),
            Some(volume) => (|| {
                let top = volume.root()?;
                let directory = match volume.lookup(&top, b"selftest") {
                    Ok(directory) => directory,
                    Err(error) if error == not_found => {
                        volume.mkdir(&top, b"selftest", 0o755)?;
                        volume.lookup(&top, b"selftest")?
                    }
                    Err(error) => return Err(error),
                };
                match volume.unlink(&directory, b"hello.txt") {
                    Ok(()) => {}
                    Err(error) if error == not_found => {}
                    Err(error) => return Err(error),
                }
                let file = volume.create(&directory, b"hello.txt", 0o644)?;
                volume.write(&file, 0, TEXT)?;
                Ok(alloc::format!(
                    "wrote /selftest/hello.txt ({} bytes)",
                    TEXT.len()
                ))
            })(),
        }
    };
    report(result)
}
