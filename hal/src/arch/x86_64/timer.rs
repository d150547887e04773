// SPDX-License-Identifier: MIT OR Apache-2.0
//! Time: the TSC as the clock since reset, the local APIC timer as the tick.
//!
//! The time-stamp counter starts at 0 when the machine is reset and counts
//! at a constant rate (*Intel SDM* Vol. 3B §18.17; QEMU resets it with the
//! CPU), so `rdtsc / frequency` is the time since reset. Neither that
//! frequency nor the local APIC timer's is architecturally known, so both
//! are measured once at boot against a clock whose rate is:
//! 1. the 8254 PIT, 1 193 182 Hz (*Intel 8254* datasheet): channel 0 is
//!    loaded with its maximum count in mode 0 and read back with the
//!    counter-latch command while the TSC and the APIC timer run, for
//!    [`CALIBRATION_MS`]. Channel 0 rather than the usual channel 2: its
//!    gate is always open, while channel 2's is port `0x61`, which
//!    `microvm` does not have. Each end of the window brackets the TSC
//!    and APIC readings between two PIT readings, and a window the PIT may
//!    have wrapped in (OUT high) is measured again, so a preempted virtual
//!    CPU cannot skew the rates;
//! 2. failing that (`microvm,pit=off`), the TSC frequency CPUID reports —
//!    leaf `0x15` (crystal ratio), `0x16` (base MHz) or the hypervisor
//!    timing leaf `0x4000_0010` — and the APIC timer measured against it;
//! 3. failing that, an assumed 1 GHz, with a warning.
//!
//! The tick is the local APIC timer in periodic mode, divide-by-16
//! (*Intel SDM* Vol. 3A §11.5.4), at [`TIMER_VECTOR`](super::vectors::TIMER_VECTOR).

use super::local_apic;
use core::sync::atomic::{AtomicU64, Ordering};
use core::time::Duration;
use x86_64::instructions::port::Port;

/// The PIT's input clock.
const PIT_HZ: u64 = 1_193_182;
/// How long calibration measures: long enough that a few microseconds of
/// port-access latency are well under 0.1 %, short enough for boot time.
pub const CALIBRATION_MS: u64 = 10;

/// TSC counts per second, 0 until [`calibrate`] has run.
static TSC_HZ: AtomicU64 = AtomicU64::new(0);
/// Local APIC timer counts per second (after the divide-by-16).
static APIC_TIMER_HZ: AtomicU64 = AtomicU64::new(0);

/// How the frequencies were found, for the boot log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CalibrationSource {
    /// Measured against the 8254 PIT.
    Pit,
    /// TSC frequency from CPUID; APIC timer measured against the TSC.
    Cpuid,
    /// Nothing to measure against: 1 GHz assumed.
    Assumed,
}

fn read_tsc() -> u64 {
    // SAFETY: `rdtsc` reads a counter; CR4.TSD is clear (set by nobody), so
    // it is allowed at every privilege level, and it touches no memory.
    unsafe { core::arch::x86_64::_rdtsc() }
}

fn cpuid(leaf: u32) -> core::arch::x86_64::CpuidResult {
    // SAFETY: `cpuid` exists on every x86_64 CPU and only reads identification
    // registers.
    #[allow(unused_unsafe, reason = "the intrinsic is safe in newer Rust")]
    unsafe {
        core::arch::x86_64::__cpuid(leaf)
    }
}

/// Reads PIT channel 0's current count (latch command, then low and
/// high byte; *Intel 8254* datasheet, "Counter Latch Command").
fn pit_count() -> u16 {
    let mut command = Port::<u8>::new(0x43);
    let mut channel0 = Port::<u8>::new(0x40);
    // SAFETY: the PIT's ports affect only the PIT, whose channel 0 output
    // is masked at both interrupt controllers; nothing else uses it.
    unsafe {
        command.write(0x00); // latch channel 0
        let low = channel0.read();
        let high = channel0.read();
        u16::from_le_bytes([low, high])
    }
}

/// Reads PIT channel 0's OUT pin (read-back command, status only; *Intel
/// 8254* datasheet, "Read-Back Command"). In mode 0 it goes high at the
/// terminal count and stays high until the channel is programmed again.
fn pit_out_high() -> bool {
    let mut command = Port::<u8>::new(0x43);
    let mut channel0 = Port::<u8>::new(0x40);
    // SAFETY: as in `pit_count`: read-back (bits 7–6), no count latch
    // (bit 5), status latch (bit 4 clear), counter 0 (bit 1).
    unsafe {
        command.write(0b1110_0010);
        channel0.read() & 0x80 != 0
    }
}

/// Programs channel 0 in mode 0 (interrupt on terminal count), binary,
/// low/high byte access, with the full count 0xffff (55 ms), so OUT is
/// low, and waits for the count to load (one PIT clock). `false` if the
/// count never changes: no PIT (an absent port reads all ones).
fn pit_start_countdown() -> bool {
    let mut command = Port::<u8>::new(0x43);
    let mut channel0 = Port::<u8>::new(0x40);
    // SAFETY: as in `pit_count`.
    unsafe {
        command.write(0b0011_0000);
        channel0.write(0xff);
        channel0.write(0xff);
    }
    let first = pit_count();
    (0..100_000).any(|_| pit_count() != first)
}

/// The widest PIT interval (in PIT ticks, 0.84 µs each) a [`Sample`] may
/// span: reading three counters takes a few microseconds; more means the
/// virtual CPU was preempted in between, and the sample is taken again.
const MAX_SAMPLE_SPREAD: u16 = 24;

/// The PIT, the TSC and the APIC timer read at one instant: the PIT is read
/// before and after the other two, and its midpoint kept.
struct Sample {
    pit: u16,
    tsc: u64,
    apic: u32,
}

/// Takes a [`Sample`]; `None` if none of many tries was tight enough.
fn sample() -> Option<Sample> {
    for _ in 0..10_000 {
        let before = pit_count();
        let tsc = read_tsc();
        let apic = local_apic::timer_count();
        let after = pit_count();
        let spread = before.wrapping_sub(after);
        if spread <= MAX_SAMPLE_SPREAD {
            return Some(Sample {
                pit: before.wrapping_sub(spread / 2),
                tsc,
                apic,
            });
        }
    }
    None
}

/// How many times calibration is tried before the PIT is given up.
const CALIBRATION_ATTEMPTS: u32 = 20;

/// Measures the TSC and the APIC timer against the PIT. `None` when the
/// PIT does not count (absent) or no attempt could be measured.
///
/// On a loaded host the virtual CPU can be descheduled for tens of
/// milliseconds at any point; the PIT (and, under TCG, the TSC) keep
/// following the host's clock meanwhile. Each end of the window is
/// therefore a [`Sample`] that brackets the TSC and APIC readings between
/// two PIT readings, and an attempt whose window the 16-bit PIT count may
/// have wrapped around in (its OUT pin went high: 55 ms passed) is thrown
/// away and tried again. Without this, one preemption at the wrong moment
/// made the clock run tens of times too fast or too slow for the whole
/// boot.
fn calibrate_with_pit() -> Option<(u64, u64)> {
    // PIT ticks in the calibration window (11 931 for 10 ms).
    let wanted = PIT_HZ * CALIBRATION_MS / 1000;
    local_apic::start_calibration_count();
    for _ in 0..CALIBRATION_ATTEMPTS {
        if !pit_start_countdown() {
            return None;
        }
        let Some(start) = sample() else { continue };
        let mut end = None;
        // A PIT that stops counting halfway is as good as none.
        for _ in 0..50_000_000u32 {
            let Some(now) = sample() else { break };
            if u64::from(start.pit.wrapping_sub(now.pit)) >= wanted {
                end = Some(now);
                break;
            }
        }
        let Some(end) = end else { continue };
        if pit_out_high() {
            // The count reached zero: the window may hide a wrap.
            continue;
        }
        let elapsed = u64::from(start.pit.wrapping_sub(end.pit));
        let tsc = end.tsc.wrapping_sub(start.tsc);
        let apic = u64::from(start.apic.wrapping_sub(end.apic));
        return Some((tsc * PIT_HZ / elapsed, apic * PIT_HZ / elapsed));
    }
    None
}

/// The TSC frequency CPUID states, if any.
fn tsc_hz_from_cpuid() -> Option<u64> {
    // Leaf 0 gives the highest standard leaf; asking beyond it returns the
    // highest leaf's data on Intel, so the bound matters.
    let max_leaf = cpuid(0).eax;
    if max_leaf >= 0x15 {
        // EAX/EBX = TSC/crystal ratio, ECX = crystal Hz (SDM Vol. 2A, CPUID).
        let leaf = cpuid(0x15);
        if leaf.eax != 0 && leaf.ebx != 0 && leaf.ecx != 0 {
            return Some(u64::from(leaf.ecx) * u64::from(leaf.ebx) / u64::from(leaf.eax));
        }
    }
    if max_leaf >= 0x16 {
        let base_mhz = cpuid(0x16).eax & 0xffff;
        if base_mhz != 0 {
            return Some(u64::from(base_mhz) * 1_000_000);
        }
    }
    // The hypervisor timing leaf (VMware's convention, also QEMU/KVM's
    // with `vmware-cpuid-freq`): EAX = TSC kHz.
    if cpuid(1).ecx & (1 << 31) != 0 && cpuid(0x4000_0000).eax >= 0x4000_0010 {
        let khz = cpuid(0x4000_0010).eax;
        if khz != 0 {
            return Some(u64::from(khz) * 1000);
        }
    }
    None
}

/// Measures the APIC timer against a TSC of known frequency.
fn calibrate_apic_with_tsc(tsc_hz: u64) -> u64 {
    let window = tsc_hz * CALIBRATION_MS / 1000;
    local_apic::start_calibration_count();
    let apic_start = local_apic::timer_count();
    let tsc_start = read_tsc();
    while read_tsc() - tsc_start < window {
        core::hint::spin_loop();
    }
    let apic = u64::from(apic_start - local_apic::timer_count());
    apic * 1000 / CALIBRATION_MS
}

/// Finds both frequencies. Called once at boot, after the local APIC is
/// enabled and before interrupts are.
pub fn calibrate() -> CalibrationSource {
    let (tsc_hz, apic_hz, source) = if let Some((tsc, apic)) = calibrate_with_pit() {
        (tsc, apic, CalibrationSource::Pit)
    } else if let Some(tsc) = tsc_hz_from_cpuid() {
        (tsc, calibrate_apic_with_tsc(tsc), CalibrationSource::Cpuid)
    } else {
        let tsc = 1_000_000_000;
        (
            tsc,
            calibrate_apic_with_tsc(tsc),
            CalibrationSource::Assumed,
        )
    };
    TSC_HZ.store(tsc_hz.max(1), Ordering::Relaxed);
    APIC_TIMER_HZ.store(apic_hz.max(1), Ordering::Relaxed);
    source
}

/// The measured TSC frequency in Hz (0 before [`calibrate`]).
pub fn tsc_hz() -> u64 {
    TSC_HZ.load(Ordering::Relaxed)
}

/// Time since reset (zero before [`calibrate`]).
pub fn now() -> Duration {
    // Seconds and remainder separately: `count * 1e9` would overflow a
    // u64 after a few seconds at GHz rates.
    let frequency = TSC_HZ.load(Ordering::Relaxed);
    if frequency == 0 {
        return Duration::ZERO;
    }
    let count = read_tsc();
    let seconds = count / frequency;
    let remainder = count % frequency;
    Duration::new(
        seconds,
        ((u128::from(remainder) * 1_000_000_000) / u128::from(frequency)) as u32,
    )
}

/// Starts a tick of `hz` interrupts a second.
pub fn start(hz: u32) {
    // The periodic mode reloads the count by itself, so unlike AArch64's
    // timer nothing is re-armed in the interrupt handler.
    let per_tick = APIC_TIMER_HZ.load(Ordering::Relaxed) / u64::from(hz.max(1));
    local_apic::start_periodic(per_tick.clamp(1, u64::from(u32::MAX)) as u32);
}
