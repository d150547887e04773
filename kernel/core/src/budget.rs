// SPDX-License-Identifier: MIT OR Apache-2.0
//! Budgets: what a process tree may hold, against what the machine has.
//!
//! The machine's resources are [`Pool`]s in one [`Ledger`]: the frames of
//! RAM, the kernel heap that processes cause (their kernel stacks,
//! descriptors, pipes, `/...` names), process slots, and live objects
//! (in-use inodes, the slots of the volume's live-object table:
//! `crate::live_objects`). Each pool keeps a
//! reserve that only a privileged budget (init and the login shell) may
//! use, so whatever the other trees hold, the shell can start one more
//! command.
//!
//! A [`Budget`] belongs to a process tree: a program init or the shell
//! starts heads a tree, and every descendant shares its budget. It caps
//! what the tree holds of each pool (so no tree can empty one pool while
//! within a total), and reports frames and kernel heap together as its
//! memory. Resources are committed when a call reserves them — a
//! spawn, a growth — never at first touch: a [`Charge`] is taken from the
//! budget and the pool at once, or the call fails; the charge gives its
//! amount back when dropped. So memory a tree was granted is always there
//! when it touches it, and no tree's demand can take it from another.
//!
//! This module only counts: it allocates nothing, and it never blocks.

use alloc::sync::Arc;
use spin::Mutex;

/// A resource of the machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pool {
    /// RAM frames, in bytes.
    Frames,
    /// Kernel heap caused by processes, in bytes.
    KernelHeap,
    /// Process slots.
    Processes,
    /// Live objects: in-use inodes, one slot each of the volume's table.
    /// A count of its own rather than bytes of [`Pool::KernelHeap`]: the
    /// table is bounded by a count, reserved up front, so the pool's
    /// capacity is exactly the table's limit and the table can only be
    /// full when the pool is.
    LiveObjects,
}

/// How many pools there are.
pub const POOLS: usize = 4;

impl Pool {
    const ALL: [Pool; POOLS] = [
        Pool::Frames,
        Pool::KernelHeap,
        Pool::Processes,
        Pool::LiveObjects,
    ];

    fn index(self) -> usize {
        self as usize
    }
}

/// Why a charge was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OverBudget {
    /// The tree's own limit would be passed.
    Tree(Pool),
    /// The machine has no more of it (outside the reserve).
    Machine(Pool),
}

/// One pool's numbers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolState {
    /// All of it.
    pub capacity: u64,
    /// Committed to budgets.
    pub committed: u64,
    /// Kept for privileged budgets.
    pub reserve: u64,
}

impl PoolState {
    /// What an unprivileged budget may still commit.
    pub fn available(&self) -> u64 {
        self.capacity
            .saturating_sub(self.reserve)
            .saturating_sub(self.committed)
    }
}

/// The machine's pools.
#[derive(Debug)]
pub struct Ledger {
    pools: Mutex<[PoolState; POOLS]>,
}

impl Ledger {
    /// A ledger of `capacity` and `reserve` per pool (in [`Pool`] order:
    /// frames, kernel heap, processes, live objects).
    pub fn new(capacity: [u64; POOLS], reserve: [u64; POOLS]) -> Arc<Ledger> {
        let mut pools = [PoolState::default(); POOLS];
        for pool in Pool::ALL {
            pools[pool.index()] = PoolState {
                capacity: capacity[pool.index()],
                committed: 0,
                reserve: reserve[pool.index()].min(capacity[pool.index()]),
            };
        }
        Arc::new(Ledger {
            pools: Mutex::new(pools),
        })
    }

    /// One pool's numbers now.
    pub fn pool(&self, pool: Pool) -> PoolState {
        self.pools.lock()[pool.index()]
    }
}

/// What a budget allows and holds, per pool (in [`Pool`] order).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BudgetState {
    /// Most of each pool.
    pub limits: [u64; POOLS],
    /// What it holds of each.
    pub used: [u64; POOLS],
}

impl BudgetState {
    /// Most bytes of memory (frames and kernel heap together).
    pub fn memory_limit(&self) -> u64 {
        self.limits[Pool::Frames.index()].saturating_add(self.limits[Pool::KernelHeap.index()])
    }

    /// Bytes of memory held.
    pub fn memory_used(&self) -> u64 {
        self.used[Pool::Frames.index()] + self.used[Pool::KernelHeap.index()]
    }

    /// Most processes.
    pub fn process_limit(&self) -> u64 {
        self.limits[Pool::Processes.index()]
    }

    /// Processes alive.
    pub fn processes(&self) -> u64 {
        self.used[Pool::Processes.index()]
    }

    /// Live objects this tree was the first to hold, still held.
    pub fn live_objects(&self) -> u64 {
        self.used[Pool::LiveObjects.index()]
    }
}

/// A process tree's budget.
#[derive(Debug)]
pub struct Budget {
    ledger: Arc<Ledger>,
    /// May use the pools' reserves.
    privileged: bool,
    state: Mutex<BudgetState>,
}

impl Budget {
    /// A budget with these limits per pool (in [`Pool`] order).
    pub fn new(ledger: &Arc<Ledger>, limits: [u64; POOLS], privileged: bool) -> Arc<Budget> {
        Arc::new(Budget {
            ledger: ledger.clone(),
            privileged,
            state: Mutex::new(BudgetState {
                limits,
                used: [0; POOLS],
            }),
        })
    }

    /// A budget of `share_of` (numerator, denominator) of what each pool
    /// has available now, unprivileged; `limits` replaces a pool's share
    /// where it is not zero.
    pub fn share(ledger: &Arc<Ledger>, share_of: (u64, u64), limits: [u64; POOLS]) -> Arc<Budget> {
        let mut chosen = [0; POOLS];
        for pool in Pool::ALL {
            let share = (ledger.pool(pool).available() as u128 * share_of.0 as u128
                / share_of.1.max(1) as u128) as u64;
            chosen[pool.index()] = match limits[pool.index()] {
                0 => share.max(1),
                limit => limit,
            };
        }
        Budget::new(ledger, chosen, false)
    }

    /// What it allows and holds now.
    pub fn state(&self) -> BudgetState {
        *self.state.lock()
    }

    /// The ledger it draws on.
    pub fn ledger(&self) -> &Arc<Ledger> {
        &self.ledger
    }

    /// Takes `amount` of `pool` for this tree: from its limit and from the
    /// machine at once, or not at all.
    ///
    /// Return values: `Tree` when the tree's limit would be passed;
    /// `Machine` when the pool (outside the reserve, unless privileged)
    /// cannot cover it.
    pub fn charge(self: &Arc<Self>, pool: Pool, amount: u64) -> Result<Charge, OverBudget> {
        let mut state = self.state.lock();
        let index = pool.index();
        if state.used[index]
            .checked_add(amount)
            .is_none_or(|total| total > state.limits[index])
        {
            return Err(OverBudget::Tree(pool));
        }
        {
            let mut pools = self.ledger.pools.lock();
            let numbers = &mut pools[index];
            let room = if self.privileged {
                numbers.capacity.saturating_sub(numbers.committed)
            } else {
                numbers.available()
            };
            if amount > room {
                return Err(OverBudget::Machine(pool));
            }
            numbers.committed += amount;
        }
        state.used[index] += amount;
        Ok(Charge {
            budget: self.clone(),
            pool,
            amount,
        })
    }

    fn release(&self, pool: Pool, amount: u64) {
        let mut state = self.state.lock();
        let used = &mut state.used[pool.index()];
        *used = used.saturating_sub(amount);
        let mut pools = self.ledger.pools.lock();
        let numbers = &mut pools[pool.index()];
        numbers.committed = numbers.committed.saturating_sub(amount);
    }
}

/// An amount of a pool held for a tree; given back when dropped.
#[derive(Debug)]
pub struct Charge {
    budget: Arc<Budget>,
    pool: Pool,
    amount: u64,
}

impl Charge {
    /// Adds `other` to this charge when both are of the same budget and
    /// pool (one record, given back together); otherwise hands `other`
    /// back untouched.
    pub fn absorb(&mut self, mut other: Charge) -> Result<(), Charge> {
        if !Arc::ptr_eq(&self.budget, &other.budget) || self.pool != other.pool {
            return Err(other);
        }
        // `other` releases nothing when dropped: its amount is ours now.
        self.amount += core::mem::take(&mut other.amount);
        Ok(())
    }

    /// The amount held.
    pub fn amount(&self) -> u64 {
        self.amount
    }

    /// Gives back up to `amount` of this charge now (memory freed before
    /// the rest of what the charge covers); returns what was given back.
    pub fn release_part(&mut self, amount: u64) -> u64 {
        let part = amount.min(self.amount);
        self.amount -= part;
        self.budget.release(self.pool, part);
        part
    }
}

impl Drop for Charge {
    fn drop(&mut self) {
        self.budget.release(self.pool, self.amount);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    const MIB: u64 = 1 << 20;

    fn ledger() -> Arc<Ledger> {
        Ledger::new([64 * MIB, 8 * MIB, 128, 1024], [4 * MIB, MIB, 8, 64])
    }

    #[test]
    fn a_tree_stops_at_its_limit_and_the_next_tree_is_untouched() {
        let ledger = ledger();
        let greedy = Budget::new(&ledger, [16 * MIB, MIB, 64, 64], false);
        let mut held = Vec::new();
        while let Ok(charge) = greedy.charge(Pool::Frames, MIB) {
            held.push(charge);
        }
        assert_eq!(held.len(), 16);
        let heap = greedy.charge(Pool::KernelHeap, MIB).unwrap();
        assert_eq!(
            greedy.charge(Pool::KernelHeap, 1).unwrap_err(),
            OverBudget::Tree(Pool::KernelHeap),
            "each pool has its own limit"
        );
        assert_eq!(greedy.state().memory_used(), 17 * MIB);
        drop(heap);
        let bystander = Budget::new(&ledger, [16 * MIB, MIB, 64, 64], false);
        assert!(bystander.charge(Pool::Frames, 16 * MIB).is_ok());
    }

    #[test]
    fn part_of_a_charge_goes_back_and_the_rest_when_dropped() {
        let ledger = ledger();
        let tree = Budget::new(&ledger, [16 * MIB, MIB, 64, 64], false);
        let mut charge = tree.charge(Pool::Frames, 4 * MIB).unwrap();
        assert_eq!(charge.release_part(MIB), MIB);
        assert_eq!(charge.amount(), 3 * MIB);
        assert_eq!(tree.state().memory_used(), 3 * MIB);
        assert_eq!(ledger.pool(Pool::Frames).committed, 3 * MIB);
        assert_eq!(
            charge.release_part(8 * MIB),
            3 * MIB,
            "never more than held"
        );
        assert_eq!(tree.state().memory_used(), 0);
        drop(charge);
        assert_eq!(ledger.pool(Pool::Frames).committed, 0);
    }

    #[test]
    fn the_reserve_is_for_privileged_budgets_only() {
        let ledger = ledger();
        let everything = Budget::new(&ledger, [u64::MAX; POOLS], false);
        let taken = everything.charge(Pool::Frames, 60 * MIB).unwrap();
        assert_eq!(
            everything.charge(Pool::Frames, 4096).unwrap_err(),
            OverBudget::Machine(Pool::Frames)
        );
        let shell = Budget::new(&ledger, [u64::MAX; POOLS], true);
        let command = shell.charge(Pool::Frames, 4 * MIB).unwrap();
        assert_eq!(ledger.pool(Pool::Frames).committed, 64 * MIB);
        drop((taken, command));
        assert_eq!(ledger.pool(Pool::Frames).committed, 0);
        assert_eq!(everything.state().memory_used(), 0);
    }

    #[test]
    fn process_slots_are_counted_apart_from_memory() {
        let ledger = ledger();
        let tree = Budget::new(&ledger, [MIB, MIB, 2, 2], false);
        let first = tree.charge(Pool::Processes, 1).unwrap();
        let _second = tree.charge(Pool::Processes, 1).unwrap();
        assert_eq!(
            tree.charge(Pool::Processes, 1).unwrap_err(),
            OverBudget::Tree(Pool::Processes)
        );
        assert!(tree.charge(Pool::Frames, MIB).is_ok(), "memory is separate");
        drop(first);
        assert!(tree.charge(Pool::Processes, 1).is_ok());
    }

    #[test]
    fn a_share_is_taken_from_what_is_available() {
        let ledger = ledger();
        let first = Budget::share(&ledger, (1, 2), [0; POOLS]);
        assert_eq!(first.state().limits, [30 * MIB, 3 * MIB + MIB / 2, 60, 480]);
        let _held = first.charge(Pool::Frames, 30 * MIB).unwrap();
        let second = Budget::share(&ledger, (1, 2), [0, 0, 5, 0]);
        assert_eq!(second.state().limits, [15 * MIB, 3 * MIB + MIB / 2, 5, 480]);
    }

    #[test]
    fn an_amount_that_overflows_is_refused() {
        let ledger = ledger();
        let tree = Budget::new(&ledger, [u64::MAX, u64::MAX, 1, 1], false);
        let _one = tree.charge(Pool::Frames, MIB).unwrap();
        assert_eq!(
            tree.charge(Pool::Frames, u64::MAX).unwrap_err(),
            OverBudget::Tree(Pool::Frames)
        );
        assert_eq!(tree.state().memory_used(), MIB);
    }

    #[test]
    fn an_absorbed_charge_is_given_back_with_the_one_that_took_it() {
        let ledger = ledger();
        let tree = Budget::new(&ledger, [16 * MIB, MIB, 64, 64], false);
        let other = Budget::new(&ledger, [16 * MIB, MIB, 64, 64], false);
        let mut first = tree.charge(Pool::Frames, MIB).unwrap();
        first
            .absorb(tree.charge(Pool::Frames, 2 * MIB).unwrap())
            .unwrap();
        assert_eq!(first.amount(), 3 * MIB);
        assert_eq!(tree.state().memory_used(), 3 * MIB);
        let foreign = other.charge(Pool::Frames, MIB).unwrap();
        let foreign = first.absorb(foreign).unwrap_err();
        let heap = tree.charge(Pool::KernelHeap, 1).unwrap();
        let heap = first.absorb(heap).unwrap_err();
        drop((foreign, heap));
        assert_eq!(other.state().memory_used(), 0);
        drop(first);
        assert_eq!(tree.state().memory_used(), 0);
        assert_eq!(ledger.pool(Pool::Frames).committed, 0);
    }
}
