// SPDX-License-Identifier: MIT OR Apache-2.0
//! Flag and constant values, decoded into typed values. Where the two
//! architectures differ (open flags, `MAP_32BIT`, `PROT_BTI`) the decoder
//! takes an [`crate::Arch`]; bits a decoder does not know are returned
//! beside the typed value, never dropped, so the kernel can refuse them.

pub mod access;
pub mod at;
pub mod clone;
pub mod fcntl;
pub mod ioctl;
pub mod memory;
pub mod open;
pub mod process_control;
pub mod random;
