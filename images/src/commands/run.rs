// SPDX-License-Identifier: MIT OR Apache-2.0
//! `cargo xtask run`: boot under QEMU with the console on this terminal.

use crate::Target;
use anyhow::{Context, Result};
use xtask::qemu::{guest_status, Machine};

/// Builds, boots, and returns the guest's exit status.
pub fn run(target: Target, append: &str, memory_mib: u32) -> Result<i32> {
    let built = super::build::run(target)?;
    let mut machine = Machine::new(target.arch, built.kernel);
    machine.kind = target.machine();
    machine.virtio = target.virtio();
    machine.memory_mib = memory_mib;
    machine.disks.push(built.disk);
    machine.append = append.to_string();
    let status = machine.command().status().context("starting QEMU")?;
    let code = status.code().unwrap_or(1);
    Ok(guest_status(target.arch, code))
}
