// SPDX-License-Identifier: MIT OR Apache-2.0
//! Linux's real-time interval timer: `alarm`, `setitimer` and
//! `getitimer` with `ITIMER_REAL` (the CPU-time timers, `ITIMER_VIRTUAL`
//! and `ITIMER_PROF`, are `EINVAL`, logged once), and `pause`.
//!
//! A process has at most one timer: when it is due (time since reset)
//! and the period it is re-armed with. The timer tick checks it
//! ([`expire`], from `process::wake_sleepers`): a due timer sends
//! `SIGALRM` (`SI_KERNEL`, as Linux's) and wakes the process, so a call
//! it sleeps in ends with `EINTR`. The timer is kept in the process's
//! signal state: a child (`fork`, `vfork`, `posix_spawn`) starts without
//! one, `execve` keeps it (as Linux does), and it ends with the process.
//! Its resolution is the tick.
//!
//! This file never touches another process's timer.

use super::signals::{self, Origin};
use super::{read_array, write_bytes};
use crate::process::{Process, ProcessResources};
use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, Ordering};
use core::time::Duration;
use hal::{Arch, Architecture};
use linux_abi::layout::time::{
    IntervalTimer, Timeval, ITIMERVAL_SIZE, ITIMER_CPU_TIME, ITIMER_REAL,
};
use linux_abi::signals::Signal;
use linux_abi::Errno;

/// An armed `ITIMER_REAL`.
#[derive(Clone, Copy, Debug)]
pub struct RealTimer {
    /// When it expires, as time since reset.
    due: Duration,
    /// The period it is re-armed with (zero: once).
    interval: Duration,
}

/// Whether `resources`' timer is due at `now`: if so, `SIGALRM` is
/// posted and the timer re-armed (or disarmed); the caller wakes the
/// process. Called on every tick.
pub fn expire(resources: &mut ProcessResources, now: Duration) -> bool {
    let Some(timer) = resources.linux_signals.real_timer else {
        return false;
    };
    if timer.due > now {
        return false;
    }
    resources.linux_signals.real_timer = (!timer.interval.is_zero()).then(|| {
        // A period shorter than the ticks missed is not made up for.
        let next = timer.due.saturating_add(timer.interval);
        RealTimer {
            due: if next > now {
                next
            } else {
                now.saturating_add(timer.interval)
            },
            interval: timer.interval,
        }
    });
    signals::post(resources, Signal::ALARM, Origin::Kernel);
    true
}

/// The process's timer as `getitimer` reports it: the time left (at
/// least a microsecond while armed, as Linux) and the period.
fn current(process: &Process, now: Duration) -> IntervalTimer {
    let Some(timer) = process.resources.lock().linux_signals.real_timer else {
        return IntervalTimer::default();
    };
    let left = timer.due.saturating_sub(now).max(Duration::from_micros(1));
    IntervalTimer {
        interval: timeval(timer.interval),
        value: timeval(left),
    }
}

/// `duration` as a timeval, rounded up to the microsecond.
fn timeval(duration: Duration) -> Timeval {
    let nanoseconds = u64::try_from(duration.as_nanos())
        .unwrap_or(u64::MAX)
        .saturating_add(999);
    Timeval::from_nanoseconds(nanoseconds)
}

/// Arms (or, with a zero `value`, disarms) the process's timer; returns
/// the previous one.
fn replace(process: &Process, value: Duration, interval: Duration) -> IntervalTimer {
    let now = Arch::time_since_reset();
    let previous = current(process, now);
    process.resources.lock().linux_signals.real_timer = (!value.is_zero()).then(|| RealTimer {
        due: now.saturating_add(value),
        interval,
    });
    previous
}

/// The duration of a timeval a program gave (a huge one is as good as
/// never).
///
/// Return values: `EINVAL` for a negative or out-of-range value.
fn duration(value: &Timeval) -> Result<Duration, Errno> {
    if !value.is_valid() {
        return Err(Errno::InvalidArgument);
    }
    Ok(Duration::new(
        value.seconds as u64,
        value.microseconds as u32 * 1000,
    ))
}

/// Whether a program asked for a CPU-time timer already (logged once).
static CPU_TIME_LOGGED: AtomicBool = AtomicBool::new(false);

/// Checks `which` names the real-time timer.
///
/// Return values: `EINVAL` for the CPU-time timers (not implemented) and
/// for any other number.
fn check_which(which: u64) -> Result<(), Errno> {
    let which = which as u32 as u64;
    if which == ITIMER_REAL {
        return Ok(());
    }
    if ITIMER_CPU_TIME.contains(&which) && !CPU_TIME_LOGGED.swap(true, Ordering::Relaxed) {
        log::warn!("linux: the CPU-time interval timers are not implemented: EINVAL");
    }
    Err(Errno::InvalidArgument)
}

/// `setitimer(which, new, old)`: a null `new` disarms, as on Linux.
pub fn set_interval_timer(process: &Process, which: u64, new: u64, old: u64) -> Result<u64, Errno> {
    check_which(which)?;
    let timer = if new == 0 {
        IntervalTimer::default()
    } else {
        IntervalTimer::decode(&read_array::<ITIMERVAL_SIZE>(process, new)?)
    };
    let value = duration(&timer.value)?;
    let interval = duration(&timer.interval)?;
    let previous = replace(process, value, interval);
    if old != 0 {
        write_bytes(process, old, &previous.encode())?;
    }
    Ok(0)
}

/// `getitimer(which, value)`.
pub fn get_interval_timer(process: &Process, which: u64, value: u64) -> Result<u64, Errno> {
    check_which(which)?;
    let timer = current(process, Arch::time_since_reset());
    write_bytes(process, value, &timer.encode())?;
    Ok(0)
}

/// `alarm(seconds)`: arms the timer once (0 disarms); returns the whole
/// seconds the previous one had left, rounded to the nearest and at least
/// 1 while it was armed (as Linux).
pub fn alarm(process: &Process, seconds: u64) -> u64 {
    let seconds = seconds as u32;
    let previous = replace(
        process,
        Duration::from_secs(u64::from(seconds)),
        Duration::ZERO,
    );
    let left = previous.value;
    let mut whole = left.seconds as u64;
    if left.microseconds >= 500_000 || (whole == 0 && left.microseconds > 0) {
        whole += 1;
    }
    whole
}

/// `pause()`: waits until a signal the mask does not block arrives;
/// always `EINTR` (after its handler has run).
pub fn pause(process: &Arc<Process>) -> Result<u64, Errno> {
    signals::wait_for_signal(process);
    Err(Errno::Interrupted)
}
