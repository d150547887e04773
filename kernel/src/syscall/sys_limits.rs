// SPDX-License-Identifier: MIT OR Apache-2.0
//! `get_limits` and `set_tree_limits`: a process's limits, and those of
//! the trees it starts (see `crate::budgets`).

use super::UserAccess;
use crate::budgets::TreeLimits;
use crate::process::Process;
use manux_abi::{limits, Errno, Limits};

/// `get_limits(limits)`: writes the caller's [`Limits`].
pub fn get_limits(process: &Process, address: u64) -> Result<u64, Errno> {
    let state = process.budget.state();
    let report = Limits {
        memory: state.memory_limit(),
        memory_used: state.memory_used(),
        processes: state.process_limit(),
        processes_used: state.processes(),
        open_files: limits::FDS as u64,
    };
    let words = [
        report.memory,
        report.memory_used,
        report.processes,
        report.processes_used,
        report.open_files,
    ];
    let mut bytes = [0u8; 40];
    for (slot, word) in bytes.chunks_exact_mut(8).zip(words) {
        slot.copy_from_slice(&word.to_le_bytes());
    }
    UserAccess::write(process, address, &bytes)?;
    Ok(0)
}

/// `set_tree_limits(memory, processes)`: what trees the caller starts
/// from now on may hold (0: the default share).
pub fn set_tree_limits(process: &Process, memory: u64, processes: u64) -> Result<u64, Errno> {
    *process.tree_limits.lock() = TreeLimits { memory, processes };
    Ok(0)
}
