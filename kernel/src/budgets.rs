// SPDX-License-Identifier: MIT OR Apache-2.0
//! Process trees' budgets on this machine (the accounting itself is
//! `kernel_core::budget`).
//!
//! The ledger's pools are sized once the root is mounted: every frame
//! still free, a share of the kernel heap still free (the rest stays for
//! the kernel's caches), and [`crate::process::MAX_PROCESSES`] slots, each
//! with a reserve. Which budget a new process gets follows from its
//! parent's [`Role`], fixed at spawn (re-parenting to init changes
//! nothing): init runs on the system budget; each program init starts (the
//! login shell) heads a privileged tree that may use the reserves; each
//! program such a program starts heads a tree of its own, capped by
//! default at half of what each pool has free when it starts (or what its
//! parent set); every other process shares its parent's budget.
//!
//! What is charged, when: a process slot and the kernel heap a process may
//! use (its kernel stack, a full descriptor table) at spawn; a program's
//! image, `.bss` and stack, with their page tables, when they are reserved
//! (spawn, `execve`) — so first touch never fails for want of budget; a
//! pipe's buffer when it is made; a domain's `/...` names when `xchroot`
//! installs them; a live object (an in-use inode) when a call of the tree
//! makes it, to the first holder for as long as anyone holds it
//! (`kernel_core::live_objects`: the pool of live objects is the root's
//! table, so one tree cannot fill the table while another is within its
//! share; the kernel's own holders pay on the system budget).

use crate::process::MAX_PROCESSES;
use crate::root_fs::ROOT;
use alloc::sync::Arc;
use kernel_core::budget::{Budget, Charge, Ledger, OverBudget, Pool, POOLS};
use manux_abi::Errno;
use spin::Once;

/// Where a process stands for budgets; see the module doc.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Init and kernel tasks: the system budget.
    System,
    /// A program init started: heads a privileged tree.
    Service,
    /// Anything else.
    Member,
}

/// Limits a process gives the trees it starts (0: the default).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TreeLimits {
    /// Bytes of memory.
    pub memory: u64,
    /// Processes.
    pub processes: u64,
}

/// Kernel heap each process may cause besides its memory: its kernel
/// stack, a full descriptor table, its process record.
pub fn process_heap_bytes() -> u64 {
    hal::thread_stack_size() as u64
        + manux_abi::limits::FDS as u64 * OPEN_FILE_BYTES
        + PROCESS_RECORD_BYTES
}

/// Kernel heap of one open descriptor (its table slot and open-file state).
const OPEN_FILE_BYTES: u64 = 256;
/// Kernel heap of a process's record, registers and bookkeeping.
const PROCESS_RECORD_BYTES: u64 = 4096;
/// Kernel heap of one `/...` name besides its bytes.
pub const DOTS_NAME_BYTES: u64 = 128;

static LEDGER: Once<Arc<Ledger>> = Once::new();
static SYSTEM: Once<Arc<Budget>> = Once::new();

/// Sizes the pools from what is free now (after the root is mounted), and
/// has the system budget pay for the live objects no call pays for.
pub fn init() {
    let frames = hal::frames::free_bytes();
    let (heap_used, heap_total) = hal::heap::usage();
    // Half of the free heap for what processes cause; the rest for the
    // kernel's caches (blocks, programs, live objects).
    let heap = (heap_total.saturating_sub(heap_used) / 2) as u64;
    let slots = MAX_PROCESSES as u64;
    let mut root = ROOT.lock();
    // The live-object pool is the root's table, less what is held
    // already (unpaid: held before budgets existed), so the table is
    // full only when the pool is.
    let objects = root.as_ref().map_or(0, |volume| {
        volume
            .objects()
            .limit()
            .saturating_sub(volume.objects().len()) as u64
    });
    let ledger = LEDGER.call_once(|| {
        Ledger::new(
            [frames, heap, slots, objects],
            [(frames / 16).max(1 << 20), heap / 8, 8, objects / 8],
        )
    });
    let system = SYSTEM.call_once(|| Budget::new(ledger, [u64::MAX; POOLS], true));
    if let Some(volume) = root.as_mut() {
        volume.set_fallback_payer(Some(system.clone()));
    }
    drop(root);
    log::info!(
        "budgets: {} MiB of frames, {} MiB of kernel heap, {} processes, {} live objects; reserves {} MiB, {} KiB, {}, {}",
        frames >> 20,
        heap >> 20,
        slots,
        objects,
        ledger.pool(Pool::Frames).reserve >> 20,
        ledger.pool(Pool::KernelHeap).reserve >> 10,
        ledger.pool(Pool::Processes).reserve,
        ledger.pool(Pool::LiveObjects).reserve
    );
}

/// The system budget (init, kernel tasks, and anything before [`init`]).
pub fn system() -> Arc<Budget> {
    SYSTEM
        .call_once(|| {
            let ledger = LEDGER.call_once(|| Ledger::new([u64::MAX; POOLS], [0; POOLS]));
            Budget::new(ledger, [u64::MAX; POOLS], true)
        })
        .clone()
}

/// The budget and role of a child of a process with `role`, `budget` and
/// `limits` for the trees it starts.
pub fn for_child(role: Role, budget: &Arc<Budget>, limits: TreeLimits) -> (Arc<Budget>, Role) {
    match role {
        Role::System => {
            let tree = Budget::new(budget.ledger(), [u64::MAX; POOLS], true);
            (tree, Role::Service)
        }
        Role::Service => {
            // A memory limit set by the parent caps the frames, and half
            // of it the kernel heap (never more than the default share).
            let ledger = budget.ledger();
            let heap_share = ledger.pool(Pool::KernelHeap).available() / 2;
            let limits = [
                limits.memory,
                if limits.memory == 0 {
                    0
                } else {
                    (limits.memory / 2).clamp(1, heap_share.max(1))
                },
                limits.processes,
                // Live objects: always the default share.
                0,
            ];
            (Budget::share(ledger, (1, 2), limits), Role::Member)
        }
        Role::Member => (budget.clone(), Role::Member),
    }
}

/// Charges `amount` of `pool` to `budget`, as an errno.
///
/// Return values: `OutOfMemory`.
pub fn charge(budget: &Arc<Budget>, pool: Pool, amount: u64) -> Result<Charge, Errno> {
    budget.charge(pool, amount).map_err(|refusal| {
        log::debug!("budget: refused {amount} of {pool:?}: {refusal:?}");
        match refusal {
            OverBudget::Tree(_) | OverBudget::Machine(_) => Errno::OutOfMemory,
        }
    })
}
