// SPDX-License-Identifier: MIT OR Apache-2.0
//! Linux's `ppoll` (and x86_64's `poll`): waiting until descriptors are
//! ready.
//!
//! Readiness, per kind of descriptor:
//! - regular files and directories are always ready to read and write
//!   (as on Linux);
//! - the console is always reported ready (a read then waits for a line:
//!   the line discipline's state is not offered to poll);
//! - a pipe's read end is readable when it holds bytes, and reports
//!   `POLLHUP` once every write end is closed; its write end is writable
//!   when there is room, and reports `POLLERR` once every read end is
//!   closed;
//! - a descriptor that is not open reports `POLLNVAL`; a negative one is
//!   skipped.
//!
//! When nothing is ready the caller blocks on every pipe it waits for
//! (the pipes' own wake-up lists, as a blocked `read` does) and, with a
//! timeout, until that time (the tick's sleeper wake-up, as `nanosleep`);
//! a kill ends the wait with `EINTR`. The signal mask of `ppoll` is
//! accepted and not applied: no signal is delivered yet. This file only
//! looks at descriptors; it never reads or writes their data.

use super::{native, read_array, write_bytes};
use crate::files::{OpenFile, Pipe, PIPE_CAPACITY};
use crate::process::{Process, ProcessState};
use crate::scheduler::{self, with_scheduler};
use crate::syscall::UserAccess;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::time::Duration;
use hal::{Arch, Architecture};
use linux_abi::layout::poll::{PollEvents, PollFd, POLLFD_SIZE};
use linux_abi::layout::time::{Timespec, TIMESPEC_SIZE};
use linux_abi::Errno;
use spin::Mutex;

/// Most descriptors one call looks at (Linux's default `RLIMIT_NOFILE`).
const MAX_POLL_FDS: usize = 1024;

/// The events a file or directory always has.
const ALWAYS_READY: PollEvents = PollEvents::IN
    .union(PollEvents::OUT)
    .union(PollEvents::READ_NORMAL)
    .union(PollEvents::WRITE_NORMAL);

/// A pipe end a waiting caller watches.
enum Watched {
    /// Readable when it holds bytes or has no writer.
    Reader(Arc<Mutex<Pipe>>),
    /// Writable when it has room or no reader.
    Writer(Arc<Mutex<Pipe>>),
}

impl Watched {
    /// What the end reports now, among `wanted` (`POLLHUP` and `POLLERR`
    /// are reported whatever was asked).
    fn events(&self, wanted: PollEvents) -> PollEvents {
        match self {
            Watched::Reader(pipe) => {
                let state = pipe.lock();
                let mut events = PollEvents::empty();
                if !state.buffer.is_empty() {
                    events |= wanted & (PollEvents::IN | PollEvents::READ_NORMAL);
                }
                if state.writers == 0 {
                    events |= PollEvents::HANG_UP;
                }
                events
            }
            Watched::Writer(pipe) => {
                let state = pipe.lock();
                if state.readers == 0 {
                    return PollEvents::ERROR;
                }
                if state.buffer.len() < PIPE_CAPACITY {
                    return wanted & (PollEvents::OUT | PollEvents::WRITE_NORMAL);
                }
                PollEvents::empty()
            }
        }
    }

    fn pipe(&self) -> &Arc<Mutex<Pipe>> {
        match self {
            Watched::Reader(pipe) | Watched::Writer(pipe) => pipe,
        }
    }
}

/// What one entry reports now; a pipe end is added to `watched`.
fn entry_events(
    process: &Process,
    entry: &PollFd,
    watched: &mut Vec<(usize, Watched)>,
    index: usize,
) -> PollEvents {
    if entry.fd < 0 {
        return PollEvents::empty();
    }
    let Ok(file) = process.resources.lock().files.get(i64::from(entry.fd)) else {
        return PollEvents::INVALID;
    };
    let end = match &*file.lock() {
        OpenFile::PipeReader { pipe, .. } => Watched::Reader(pipe.clone()),
        OpenFile::PipeWriter { pipe, .. } => Watched::Writer(pipe.clone()),
        _ => return entry.events & ALWAYS_READY,
    };
    let events = end.events(entry.events);
    if watched.try_reserve(1).is_ok() {
        watched.push((index, end));
    }
    events
}

/// Polls the `count` records at `address` until one is ready, the
/// `timeout` has passed (`None`: no limit), or the caller is killed.
fn poll_records(
    process: &Arc<Process>,
    address: u64,
    count: u64,
    timeout: Option<Duration>,
) -> Result<u64, Errno> {
    if count > MAX_POLL_FDS as u64 {
        return Err(Errno::InvalidArgument);
    }
    let mut table = native(UserAccess::read(
        process,
        address,
        count * POLLFD_SIZE as u64,
        MAX_POLL_FDS * POLLFD_SIZE,
    ))?;
    let entries: Vec<PollFd> = table
        .chunks_exact(POLLFD_SIZE)
        .map(|record| {
            let mut bytes = [0u8; POLLFD_SIZE];
            bytes.copy_from_slice(record);
            PollFd::decode(&bytes)
        })
        .collect();
    let deadline = timeout.map(|timeout| Arch::time_since_reset().saturating_add(timeout));
    loop {
        let mut watched = Vec::new();
        let mut returned = Vec::new();
        returned
            .try_reserve_exact(entries.len())
            .map_err(|_| Errno::OutOfMemory)?;
        for (index, entry) in entries.iter().enumerate() {
            returned.push(entry_events(process, entry, &mut watched, index));
        }
        let ready = returned.iter().filter(|events| !events.is_empty()).count();
        let expired = deadline.is_some_and(|deadline| Arch::time_since_reset() >= deadline);
        if ready > 0 || expired {
            for (record, events) in table.chunks_exact_mut(POLLFD_SIZE).zip(&returned) {
                let mut bytes = [0u8; POLLFD_SIZE];
                bytes.copy_from_slice(record);
                PollFd::encode_returned_events(&mut bytes, *events);
                record.copy_from_slice(&bytes);
            }
            write_bytes(process, address, &table)?;
            return Ok(ready as u64);
        }
        if super::signals::interrupted(&process.resources.lock()) {
            return Err(Errno::Interrupted);
        }
        // Register and block with interrupts masked, looking once more:
        // a pipe that became ready since the scan would otherwise never
        // wake this caller.
        with_scheduler(|_| {
            let now_ready = watched
                .iter()
                .any(|(index, end)| !end.events(entries[*index].events).is_empty());
            if now_ready {
                return;
            }
            for (_, end) in &watched {
                // Once per pipe: a caller that polls an idle pipe again
                // and again (each time until its timeout) must not grow
                // the pipe's list.
                let mut pipe = end.pipe().lock();
                if !pipe.waiting.contains(&process.pid) {
                    pipe.waiting.push(process.pid);
                }
            }
            process.resources.lock().wake_at = deadline;
            *process.state.lock() = ProcessState::Blocked;
        });
        scheduler::schedule();
        process.resources.lock().wake_at = None;
    }
}

/// x86_64's `poll(fds, count, milliseconds)`: a negative timeout waits
/// without limit.
pub fn poll(
    process: &Arc<Process>,
    address: u64,
    count: u64,
    milliseconds: u64,
) -> Result<u64, Errno> {
    let milliseconds = milliseconds as u32 as i32;
    let timeout = u64::try_from(milliseconds).ok().map(Duration::from_millis);
    poll_records(process, address, count, timeout)
}

/// `ppoll(fds, count, timespec, signal mask, mask size)`: a null timespec
/// waits without limit; an invalid one is `EINVAL`.
pub fn poll_with_timespec(
    process: &Arc<Process>,
    address: u64,
    count: u64,
    timeout_address: u64,
) -> Result<u64, Errno> {
    let timeout = if timeout_address == 0 {
        None
    } else {
        let time = Timespec::decode(&read_array::<TIMESPEC_SIZE>(process, timeout_address)?);
        let nanoseconds = time.as_nanoseconds().ok_or(Errno::InvalidArgument)?;
        Some(Duration::from_nanos(nanoseconds))
    };
    poll_records(process, address, count, timeout)
}
