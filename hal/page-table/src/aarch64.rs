// SPDX-License-Identifier: MIT OR Apache-2.0
//! The AArch64 descriptor format: VMSAv8-64, 4 KiB granule, 48-bit
//! addresses, four levels (*Arm ARM* D8.3).
//!
//! Bits 1:0 of a descriptor say what it is: `0b11` at levels 0–2 a table,
//! at level 3 a page; `0b01` at level 2 a 2 MiB block; bit 0 clear
//! invalid. Leaves carry the memory type (`AttrIndx`, an index into
//! `MAIR_EL1`, which the boot code sets: 0 Device-nGnRE, 1 Normal
//! write-back), shareability, the access flag (preset, so no fault on
//! first use), `AP[2:1]` and the execute-never bits (D8.4).
//!
//! Kernel leaves are global and never readable by EL0; user pages are
//! non-global (tagged with the ASID), readable by EL0 (`AP[1]`), never
//! executable at EL1 (`PXN`), read-only with `AP[2]` and not executable
//! by EL0 with `UXN`.

use crate::{Format, KernelAccess, Owner, UserAccess, PAGE_LEVEL};

/// Bit 0: the descriptor is valid.
pub const VALID: u64 = 1 << 0;
/// Bit 1: a table (levels 0–2) or a page (level 3); clear in a block.
pub const TABLE_OR_PAGE: u64 = 1 << 1;
/// `AttrIndx` 0: Device-nGnRE (per the boot code's `MAIR_EL1`).
pub const ATTRIBUTE_DEVICE: u64 = 0 << 2;
/// `AttrIndx` 1: Normal memory, write-back cacheable.
pub const ATTRIBUTE_NORMAL: u64 = 1 << 2;
/// `AP[1]`: EL0 may access the page.
pub const EL0_ACCESS: u64 = 1 << 6;
/// `AP[2]`: read-only (at every exception level).
pub const READ_ONLY: u64 = 1 << 7;
/// `SH` = 0b11: inner shareable.
pub const INNER_SHAREABLE: u64 = 0b11 << 8;
/// `AF`: the access flag, preset.
pub const ACCESSED: u64 = 1 << 10;
/// `nG`: not global, tagged with the current ASID.
pub const NOT_GLOBAL: u64 = 1 << 11;
/// `PXN`: never executable at EL1.
pub const PRIVILEGED_EXECUTE_NEVER: u64 = 1 << 53;
/// `UXN`: never executable at EL0.
pub const USER_EXECUTE_NEVER: u64 = 1 << 54;
/// Bits 47:12: the output address (next table, block or page).
pub const ADDRESS_MASK: u64 = 0x0000_ffff_ffff_f000;

/// The AArch64 descriptor format.
#[derive(Clone, Copy, Debug, Default)]
pub struct Aarch64;

impl Format for Aarch64 {
    const ADDRESS_MASK: u64 = ADDRESS_MASK;

    fn is_valid(entry: u64) -> bool {
        entry & VALID != 0
    }

    fn is_table(entry: u64) -> bool {
        entry & (VALID | TABLE_OR_PAGE) == VALID | TABLE_OR_PAGE
    }

    fn is_page(entry: u64) -> bool {
        // At level 3 the table encoding is the page encoding; `0b01` is
        // reserved there and treated as invalid (D8.3.2).
        entry & (VALID | TABLE_OR_PAGE) == VALID | TABLE_OR_PAGE
    }

    fn table_descriptor(table: u64, _owner: Owner) -> u64 {
        // Table descriptors' own permission bits (APTable, XNTable, …) stay
        // zero: they restrict nothing, the leaf decides.
        (table & ADDRESS_MASK) | VALID | TABLE_OR_PAGE
    }

    fn kernel_leaf(&self, physical: u64, access: KernelAccess, level: usize) -> u64 {
        let never_execute = PRIVILEGED_EXECUTE_NEVER | USER_EXECUTE_NEVER;
        let kind = if level == PAGE_LEVEL {
            VALID | TABLE_OR_PAGE
        } else {
            VALID
        };
        let attributes = ACCESSED
            | match access {
                KernelAccess::ReadExecute => {
                    ATTRIBUTE_NORMAL | INNER_SHAREABLE | READ_ONLY | USER_EXECUTE_NEVER
                }
                KernelAccess::ReadOnly => {
                    ATTRIBUTE_NORMAL | INNER_SHAREABLE | READ_ONLY | never_execute
                }
                KernelAccess::ReadWrite => ATTRIBUTE_NORMAL | INNER_SHAREABLE | never_execute,
                KernelAccess::Device => ATTRIBUTE_DEVICE | never_execute,
            };
        (physical & ADDRESS_MASK) | kind | attributes
    }

    fn user_page(&self, frame: u64, access: UserAccess) -> u64 {
        let mut entry = (frame & ADDRESS_MASK)
            | VALID
            | TABLE_OR_PAGE
            | ATTRIBUTE_NORMAL
            | INNER_SHAREABLE
            | ACCESSED
            | NOT_GLOBAL
            | EL0_ACCESS
            | PRIVILEGED_EXECUTE_NEVER;
        if !access.write {
            entry |= READ_ONLY;
        }
        if !access.execute {
            entry |= USER_EXECUTE_NEVER;
        }
        entry
    }

    fn user_access(entry: u64) -> UserAccess {
        UserAccess {
            write: entry & READ_ONLY == 0,
            execute: entry & USER_EXECUTE_NEVER == 0,
        }
    }
}
