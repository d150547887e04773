// SPDX-License-Identifier: MIT OR Apache-2.0
//! What a Linux program asks about its world: its user and group, the
//! system's name (`uname`), its resource limits (`prlimit64`), the
//! machine's state (`sysinfo`), the time (`clock_gettime`) and random
//! bytes (`getrandom`).
//!
//! Identity: every Linux program is user 0 and group 0 — the one user a
//! Manux machine has. Permission bits and user ids are not the boundary
//! on Manux; a program's domain (its root, its budget) is.

use super::{read_array, write_bytes, ARCH};
use crate::process::Process;
use hal::{Arch as HalArch, Architecture};
use linux_abi::clock::ClockId;
use linux_abi::flags::random::RandomFlags;
use linux_abi::layout::rlimit::{ResourceLimit, RLIMIT_SIZE};
use linux_abi::layout::system_info::SystemInformation;
use linux_abi::layout::time::{Timespec, Timeval};
use linux_abi::layout::utsname::SystemName;
use linux_abi::resource::{Resource, UNLIMITED};
use linux_abi::{Arch, Errno};
use manux_abi::limits;

/// The user and group id of every Linux program (see the module doc).
pub const ID: u32 = 0;

/// The Linux release `uname` reports: the ABI level this personality
/// follows. libcs parse it (glibc refuses to start on a "kernel too old"),
/// so it reads as a Linux version; `-manux` says what runs it.
const RELEASE: &str = "6.1.0-manux";

/// `uname(utsname)`.
pub fn system_name(process: &Process, address: u64) -> Result<u64, Errno> {
    let version = alloc::format!("#1 Manux {}", crate::VERSION);
    let name = SystemName {
        system: "Linux",
        node: "manux",
        release: RELEASE,
        version: &version,
        machine: match ARCH {
            Arch::Aarch64 => "aarch64",
            Arch::X86_64 => "x86_64",
        },
        domain: "(none)",
    };
    let bytes = name.encode().map_err(|_| Errno::Overflow)?;
    write_bytes(process, address, &bytes)?;
    Ok(0)
}

/// Largest `getrandom` answer at once (Linux's own cap is 32 MiB; a
/// libc asks for a few bytes).
const RANDOM_BYTES: usize = 256;

/// `getrandom(buffer, count, flags)`: up to 256 bytes of the kernel's
/// random source ([`crate::random`]) per call; the flags are accepted
/// (the source never blocks).
pub fn get_random(process: &Process, buffer: u64, count: u64, flags: u64) -> Result<u64, Errno> {
    if RandomFlags::from_bits(flags as u32).is_none() || flags > u64::from(u32::MAX) {
        return Err(Errno::InvalidArgument);
    }
    let count = (count as usize).min(RANDOM_BYTES);
    let mut bytes = [0u8; RANDOM_BYTES];
    crate::random::fill(&mut bytes[..count]);
    write_bytes(process, buffer, &bytes[..count])?;
    Ok(count as u64)
}

/// `clock_gettime(clock, timespec)`: `CLOCK_REALTIME` (and its coarse
/// form, and `CLOCK_TAI`, which Manux does not offset) is the time of
/// day; the monotonic clocks and `CLOCK_BOOTTIME` count from reset (the
/// machine never suspends); the CPU-time clocks are not kept yet
/// (`EINVAL`).
pub fn clock_get_time(process: &Process, clock: u64, address: u64) -> Result<u64, Errno> {
    let clock = ClockId::from_number(clock).ok_or(Errno::InvalidArgument)?;
    let now = clock_now(clock).ok_or(Errno::InvalidArgument)?;
    let nanoseconds = u64::try_from(now.as_nanos()).unwrap_or(u64::MAX);
    write_bytes(
        process,
        address,
        &Timespec::from_nanoseconds(nanoseconds).encode(),
    )?;
    Ok(0)
}

/// What `clock` reads now: the time of day for the real-time clocks, the
/// time since reset for the monotonic ones; `None` for a clock Manux does
/// not keep (CPU time).
pub fn clock_now(clock: ClockId) -> Option<core::time::Duration> {
    match clock {
        ClockId::Realtime | ClockId::RealtimeCoarse | ClockId::Tai => {
            Some(crate::wall_clock::now())
        }
        ClockId::Monotonic
        | ClockId::MonotonicRaw
        | ClockId::MonotonicCoarse
        | ClockId::Boottime => Some(HalArch::time_since_reset()),
        _ => None,
    }
}

/// `time(address)` (x86_64): the seconds since the epoch, also stored at
/// `address` unless it is null.
pub fn time(process: &Process, address: u64) -> Result<u64, Errno> {
    let seconds = crate::wall_clock::now().as_secs();
    if address != 0 {
        write_bytes(process, address, &seconds.to_le_bytes())?;
    }
    Ok(seconds)
}

/// `gettimeofday(time, zone)`: the time of day in seconds and
/// microseconds; the zone, if asked, is UTC (all zeros).
pub fn time_of_day(process: &Process, time: u64, zone: u64) -> Result<u64, Errno> {
    if time != 0 {
        let nanoseconds = u64::try_from(crate::wall_clock::now().as_nanos()).unwrap_or(u64::MAX);
        write_bytes(
            process,
            time,
            &Timeval::from_nanoseconds(nanoseconds).encode(),
        )?;
    }
    if zone != 0 {
        // `struct timezone`: minutes west of Greenwich, DST kind.
        write_bytes(process, zone, &[0; 8])?;
    }
    Ok(0)
}

/// `prlimit64(pid, resource, new, old)`: the caller's own limits, as its
/// budget sets them; none can be changed (`EPERM`).
pub fn resource_limit(
    process: &Process,
    pid: u64,
    resource: u64,
    new: u64,
    old: u64,
) -> Result<u64, Errno> {
    if pid != 0 && pid != u64::from(process.pid) {
        return Err(Errno::NoSuchProcess);
    }
    let resource = Resource::from_number(resource).ok_or(Errno::InvalidArgument)?;
    if new != 0 {
        // Checked like any pointer before it is refused.
        read_array::<RLIMIT_SIZE>(process, new)?;
        return Err(Errno::NotPermitted);
    }
    if old != 0 {
        let state = process.budget.state();
        let value = match resource {
            // The stack the loader gives (the 8 MiB of Linux is a later stage).
            Resource::StackSize => kernel_core::program::STACK_BYTES,
            Resource::OpenFiles => limits::FDS as u64,
            Resource::Processes => state.process_limit(),
            Resource::AddressSpace | Resource::DataSize | Resource::ResidentSize => {
                state.memory_limit()
            }
            Resource::CoreSize => 0,
            _ => UNLIMITED,
        };
        let limit = ResourceLimit {
            soft: value,
            hard: value,
        };
        write_bytes(process, old, &limit.encode())?;
    }
    Ok(0)
}

/// `sysinfo(info)`: the time since reset, the processes alive, and
/// memory as the caller's budget sees it (its limit as the total, what
/// its tree has not used as free — the memory it could still get, as
/// `prlimit64` reports the limit); no swap, no load averages (0).
pub fn system_information(process: &Process, address: u64) -> Result<u64, Errno> {
    let state = process.budget.state();
    let total = state.memory_limit();
    let processes = crate::scheduler::with_scheduler(|scheduler| scheduler.processes.len());
    let info = SystemInformation {
        uptime_seconds: i64::try_from(HalArch::time_since_reset().as_secs()).unwrap_or(i64::MAX),
        total_memory: total,
        free_memory: total.saturating_sub(state.memory_used()),
        processes: u16::try_from(processes).unwrap_or(u16::MAX),
        memory_unit: 1,
        ..SystemInformation::default()
    };
    write_bytes(process, address, &info.encode())?;
    Ok(0)
}
