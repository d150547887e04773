// SPDX-License-Identifier: MIT OR Apache-2.0
//! PSCI: asking the firmware (or QEMU) to power the machine off.
//!
//! Function IDs from the *Arm Power State Coordination Interface* (DEN0022),
//! §5.1. The conduit — `hvc` or `smc` — comes from the device tree's `/psci`
//! node: QEMU uses `hvc` when the guest is entered at EL1 and `smc` when it
//! emulates EL2/EL3 (`virtualization=on`).
//!
//! PSCI `SYSTEM_OFF` always makes QEMU exit with status 0. For a failure
//! status, the kernel's development runs enable Arm semihosting
//! (`-semihosting-config enable=on,target=native`) and pass
//! `poweroff=semihosting` on the command line; then [`power_off`] uses
//! `SYS_EXIT_EXTENDED` (*Semihosting for AArch32 and AArch64*, §6.5), whose
//! subcode becomes QEMU's exit status. Without it a failure still powers
//! off, with the reason on the console.

use crate::ExitStatus;
use core::sync::atomic::{AtomicBool, AtomicU8, Ordering};

/// How PSCI calls reach the firmware.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conduit {
    /// Hypervisor call.
    Hvc,
    /// Secure monitor call.
    Smc,
    /// No PSCI: power-off just stops the CPU.
    None,
}

const SYSTEM_OFF: u64 = 0x8400_0008;

static CONDUIT: AtomicU8 = AtomicU8::new(0);
static SEMIHOSTING_EXIT: AtomicBool = AtomicBool::new(false);

/// Records the conduit found in the device tree.
pub fn init(conduit: Conduit) {
    CONDUIT.store(conduit as u8, Ordering::Relaxed);
}

/// Lets [`power_off`] report failure statuses through semihosting.
pub fn enable_semihosting_exit() {
    SEMIHOSTING_EXIT.store(true, Ordering::Relaxed);
}

/// Powers off; never returns.
pub fn power_off(status: ExitStatus) -> ! {
    if let ExitStatus::Failure(code) = status {
        if SEMIHOSTING_EXIT.load(Ordering::Relaxed) {
            semihosting_exit(code);
        }
    }
    let conduit = CONDUIT.load(Ordering::Relaxed);
    if conduit == Conduit::Hvc as u8 {
        // SAFETY: PSCI SYSTEM_OFF does not return; the call clobbers only
        // x0–x3 per the SMC Calling Convention, all declared.
        unsafe {
            core::arch::asm!("hvc #0", inout("x0") SYSTEM_OFF => _, out("x1") _, out("x2") _, out("x3") _);
        }
    } else if conduit == Conduit::Smc as u8 {
        // SAFETY: as above, through the secure monitor.
        unsafe {
            core::arch::asm!("smc #0", inout("x0") SYSTEM_OFF => _, out("x1") _, out("x2") _, out("x3") _);
        }
    }
    super::boot::halt()
}

/// Semihosting `SYS_EXIT` with `ADP_Stopped_ApplicationExit` and a subcode.
fn semihosting_exit(code: u8) -> ! {
    const SYS_EXIT: u64 = 0x18;
    const ADP_STOPPED_APPLICATION_EXIT: u64 = 0x2_0026;
    let block = [ADP_STOPPED_APPLICATION_EXIT, u64::from(code)];
    // SAFETY: `hlt #0xf000` is the AArch64 semihosting trap; it is only
    // issued when the command line says QEMU enabled semihosting, reads the
    // two-word parameter block on our stack, and does not return.
    unsafe {
        core::arch::asm!("hlt #0xf000", in("x0") SYS_EXIT, in("x1") block.as_ptr(), options(nostack));
    }
    super::boot::halt()
}
