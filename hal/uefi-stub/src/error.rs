// SPDX-License-Identifier: MIT OR Apache-2.0
//! Why the boot program gave up, as one typed enum.
//!
//! Every error happens before `ExitBootServices` (after it, nothing can
//! fail: the hand-off only writes memory already allocated), so each is
//! printed on the firmware's console (`Manux UEFI boot failed: …`) and
//! `EFI_LOAD_ERROR` goes back to the firmware, which then tries its next
//! boot option.

use crate::efi::Status;
use core::fmt;

/// A reason the kernel could not be started.
#[derive(Clone, Copy, Debug)]
pub enum BootError {
    /// The carried kernel is not a little-endian ELF-64 executable.
    KernelNotElf,
    /// Its program headers or segments are malformed.
    KernelSegments,
    /// x86_64: it has no PVH entry note, or the entry is above 4 GiB.
    #[cfg_attr(
        not(target_arch = "x86_64"),
        allow(dead_code, reason = "an x86_64 failure")
    )]
    KernelNoPvhEntry,
    /// The kernel's physical load range is not free RAM here.
    KernelRangeTaken(Status),
    /// No memory for something the hand-off needs (what, and the status).
    OutOfMemory(&'static str, Status),
    /// AArch64: the firmware does not run at EL1.
    #[cfg_attr(
        not(target_arch = "aarch64"),
        allow(dead_code, reason = "an AArch64 failure")
    )]
    NotEl1,
    /// AArch64: no device tree (neither the configuration table nor edk2's
    /// FDT HOB).
    #[cfg_attr(
        not(target_arch = "aarch64"),
        allow(dead_code, reason = "an AArch64 failure")
    )]
    NoDeviceTree,
    /// AArch64: the device tree is malformed.
    #[cfg_attr(
        not(target_arch = "aarch64"),
        allow(dead_code, reason = "an AArch64 failure")
    )]
    MalformedDeviceTree,
    /// x86_64: no ACPI RSDP in the configuration tables.
    #[cfg_attr(
        not(target_arch = "x86_64"),
        allow(dead_code, reason = "an x86_64 failure")
    )]
    NoAcpi,
    /// The firmware's memory map has more ranges than the boot
    /// information can list.
    MemoryMapTooLong,
    /// The memory map could not be read, or `ExitBootServices` kept
    /// refusing.
    ExitRefused(Status),
}

impl fmt::Display for BootError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BootError::KernelNotElf => write!(f, "the carried kernel is not an ELF-64 executable"),
            BootError::KernelSegments => {
                write!(f, "the carried kernel has malformed load segments")
            }
            BootError::KernelNoPvhEntry => {
                write!(f, "the carried kernel has no PVH entry below 4 GiB")
            }
            BootError::KernelRangeTaken(status) => write!(
                f,
                "the kernel's physical load range is not free RAM on this machine (EFI status {status:#x})"
            ),
            BootError::OutOfMemory(what, status) => {
                write!(f, "no memory for {what} (EFI status {status:#x})")
            }
            BootError::NotEl1 => write!(
                f,
                "the firmware runs at EL2 (or EL3); Manux is entered at EL1 only"
            ),
            BootError::NoDeviceTree => write!(f, "the firmware publishes no device tree"),
            BootError::MalformedDeviceTree => write!(f, "the firmware's device tree is malformed"),
            BootError::NoAcpi => write!(f, "the firmware publishes no ACPI tables"),
            BootError::MemoryMapTooLong => write!(
                f,
                "the firmware's memory map has more ranges than the boot information holds"
            ),
            BootError::ExitRefused(status) => write!(
                f,
                "the firmware would not exit boot services (EFI status {status:#x})"
            ),
        }
    }
}
