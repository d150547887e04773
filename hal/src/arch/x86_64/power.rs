// SPDX-License-Identifier: MIT OR Apache-2.0
//! Powering the machine off, with an exit status the host can read.
//!
//! A clean power-off is an ACPI transition to the soft-off state S5:
//! - on a hardware-reduced platform (`microvm`), by writing
//!   `SLP_TYP | SLP_EN` to the FADT's sleep control register (ACPI 6.5
//!   §4.8.3.7: SLP_TYP in bits 2–4, SLP_EN bit 5) — QEMU's generic event
//!   device at `0xfea0_0200`, `0x34`;
//! - elsewhere (`q35`, `pc`), by writing them to the PM1a control block
//!   (§4.8.3.2.1: SLP_TYP in bits 10–12, SLP_EN bit 13) — port `0x604`,
//!   `0x2000`.
//!
//! The SLP_TYP values are those of the `\_S5` object in QEMU's DSDTs (5 for
//! the GED, 0 for PIIX4 and ICH9): reading `\_S5` would need an AML
//! interpreter. QEMU then exits with status 0.
//!
//! A failure ([`ExitStatus::Failure`]) first writes its code to QEMU's
//! `isa-debug-exit` device (`-device isa-debug-exit,iobase=0xf4,iosize=0x04`),
//! which makes QEMU exit at once with status `(code << 1) | 1` — never 0,
//! so the host always sees the failure: a kernel panic (code 2) exits 5,
//! an unexpected exception (code 3) exits 7, a failed self test (code 1)
//! exits 3. Without that device the write goes nowhere, and the machine
//! powers off cleanly with the reason on the console, as on AArch64
//! without semihosting.
//!
//! Registers are mapped by [`init`], at boot: `power_off` runs from the
//! panic handler and must not take the page-table lock.

use super::firmware::{Platform, Register};
use super::mmu;
use crate::ExitStatus;
use core::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use core::time::Duration;
use x86_64::instructions::port::Port;

/// QEMU's `isa-debug-exit` port, as the run commands configure it.
const DEBUG_EXIT_PORT: u16 = 0xf4;
/// q35's and pc's PM1a control block when the FADT cannot be read.
const DEFAULT_PM1A_CONTROL: u16 = 0x604;

/// Sleep control register value for S5: SLP_TYP = 5, SLP_EN.
const SLEEP_CONTROL_S5: u8 = (5 << 2) | (1 << 5);
/// PM1 control value for S5: SLP_TYP = 0, SLP_EN.
const PM1_CONTROL_S5: u16 = 1 << 13;

/// Where one power-off register is, readable without a lock: its kind
/// (none, port, mapped memory) and its port number or virtual address.
struct RegisterSlot {
    kind: AtomicU8,
    address: AtomicU64,
}

/// No register: nothing to write.
const KIND_NONE: u8 = 0;
/// `address` is an I/O port number.
const KIND_PORT: u8 = 1;
/// `address` is the virtual address of a mapped register.
const KIND_MEMORY: u8 = 2;

impl RegisterSlot {
    const fn new() -> Self {
        RegisterSlot {
            kind: AtomicU8::new(KIND_NONE),
            address: AtomicU64::new(0),
        }
    }

    /// Records `register`, mapping it if it is memory-mapped.
    fn set(&self, register: Option<Register>) {
        let (kind, address) = match register {
            Some(Register::Port(port)) => (KIND_PORT, u64::from(port)),
            Some(Register::Memory(physical)) => match mmu::map_device(physical, 4) {
                0 => (KIND_NONE, 0),
                virtual_address => (KIND_MEMORY, virtual_address),
            },
            None => (KIND_NONE, 0),
        };
        self.address.store(address, Ordering::Relaxed);
        self.kind.store(kind, Ordering::Release);
    }

    /// Writes `value`, as a byte or (`wide`) a 16-bit word.
    fn write(&self, value: u16, wide: bool) {
        let kind = self.kind.load(Ordering::Acquire);
        let address = self.address.load(Ordering::Relaxed);
        if kind == KIND_PORT {
            let port = address as u16;
            // SAFETY: the FADT names this port as the PM1a control block or
            // the sleep control register (or it is q35's default PM1a
            // block); writing the sleep value powers the machine off and
            // touches no memory.
            unsafe {
                if wide {
                    Port::<u16>::new(port).write(value)
                } else {
                    Port::<u8>::new(port).write(value as u8)
                }
            }
        } else if kind == KIND_MEMORY {
            // SAFETY: `set` mapped the register uncached at `address` for
            // the kernel's life; a volatile store of the register's width
            // is the access ACPI prescribes.
            unsafe {
                if wide {
                    core::ptr::write_volatile(address as *mut u16, value)
                } else {
                    core::ptr::write_volatile(address as *mut u8, value as u8)
                }
            }
        }
    }
}

static SLEEP_CONTROL: RegisterSlot = RegisterSlot::new();
static PM1A_CONTROL: RegisterSlot = RegisterSlot::new();

/// Records (and maps) the power-off registers the FADT names. Without
/// ACPI, the PM1a block defaults to q35's port.
pub fn init(platform: &Platform) {
    SLEEP_CONTROL.set(platform.sleep_control);
    let pm1a = if platform.has_acpi {
        platform.pm1a_control
    } else {
        Some(Register::Port(DEFAULT_PM1A_CONTROL))
    };
    PM1A_CONTROL.set(pm1a);
}

/// Powers off; never returns.
pub fn power_off(status: ExitStatus) -> ! {
    x86_64::instructions::interrupts::disable();
    if let ExitStatus::Failure(code) = status {
        // SAFETY: port 0xf4 is QEMU's isa-debug-exit when present (QEMU
        // exits), and unclaimed otherwise (the write is dropped).
        unsafe { Port::<u8>::new(DEBUG_EXIT_PORT).write(code) };
    }
    SLEEP_CONTROL.write(u16::from(SLEEP_CONTROL_S5), false);
    PM1A_CONTROL.write(PM1_CONTROL_S5, true);
    wait_for_power_off();
    // Still running: the machine has no ACPI power-off this code knows
    // (`microvm` with `acpi=off`). Say so rather than hang silently.
    super::serial::write_bytes(b"power off: no ACPI power-off register on this machine; halted\n");
    halt()
}

/// How long the CPU may go on running after a power-off write.
const POWER_OFF_GRACE: Duration = Duration::from_millis(500);

/// Lets the machine act on a power-off write before concluding it did not.
///
/// QEMU takes a sleep-register write as a shutdown *request* that its main
/// loop carries out later, so the CPU runs on for a moment — long enough,
/// under TCG, to print a false "no power-off" line. Spinning (rather than
/// `hlt` with interrupts off, which would never wake) bounds the wait.
fn wait_for_power_off() {
    if super::timer::tsc_hz() == 0 {
        // Before calibration there is no clock: a fixed count of pauses
        // (each at least a few nanoseconds) stands in for it.
        for _ in 0..100_000_000u64 {
            core::hint::spin_loop();
        }
        return;
    }
    let start = super::timer::now();
    while super::timer::now().saturating_sub(start) < POWER_OFF_GRACE {
        core::hint::spin_loop();
    }
}

/// Stops this CPU for good (interrupts off, `hlt` forever).
pub fn halt() -> ! {
    loop {
        x86_64::instructions::interrupts::disable();
        x86_64::instructions::hlt();
    }
}
