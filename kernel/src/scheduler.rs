// SPDX-License-Identifier: MIT OR Apache-2.0
//! Processes and the round-robin scheduler.
//!
//! Each process has one kernel thread (`hal::KernelThread`, a worker
//! reused from process to process) that runs it: enter user mode, handle
//! the trap, repeat. The boot
//! thread becomes the idle thread: it runs whoever is ready and otherwise
//! waits for an interrupt. Scheduling is preemptive on the timer tick (a
//! process trapping on an interrupt yields the CPU when its time slice is
//! used), and a process that blocks — in `wait`, `nanosleep`, a console or
//! pipe read — yields until something wakes it.
//!
//! Interrupt handlers wake processes too, so every access to the
//! scheduler's state happens with interrupts masked ([`with_scheduler`]).

use crate::process::{Process, ProcessState};
use alloc::collections::{BTreeMap, VecDeque};
use alloc::sync::Arc;
use hal::{switch_thread, Arch, Architecture, KernelThread};
use spin::Mutex;

/// A process id.
pub type Pid = u32;

/// The scheduler's state.
pub struct Scheduler {
    /// Every process not yet reaped, by pid.
    pub processes: BTreeMap<Pid, Arc<Process>>,
    /// Ready processes, in the order they will run.
    ready: VecDeque<Pid>,
    /// The running process (`None`: the idle thread).
    current: Option<Pid>,
    /// The boot thread, running when nothing else is.
    idle: Option<KernelThread>,
    next_pid: Pid,
}

static SCHEDULER: Mutex<Scheduler> = Mutex::new(Scheduler {
    processes: BTreeMap::new(),
    ready: VecDeque::new(),
    current: None,
    idle: None,
    next_pid: 1,
});

/// Runs `body` on the scheduler's state with interrupts masked.
pub fn with_scheduler<T>(body: impl FnOnce(&mut Scheduler) -> T) -> T {
    let were_enabled = Arch::disable_interrupts();
    let result = body(&mut SCHEDULER.lock());
    if were_enabled {
        Arch::enable_interrupts();
    }
    result
}

impl Scheduler {
    /// A fresh pid.
    pub fn allocate_pid(&mut self) -> Pid {
        let pid = self.next_pid;
        self.next_pid += 1;
        pid
    }

    /// Marks `pid` ready (if it is blocked) and queues it.
    pub fn wake(&mut self, pid: Pid) {
        if let Some(process) = self.processes.get(&pid) {
            let mut state = process.state.lock();
            if matches!(*state, ProcessState::Blocked) {
                *state = ProcessState::Ready;
                self.ready.push_back(pid);
            }
        }
    }

    /// Whether `pid` descends from `ancestor` (following parents).
    pub fn is_descendant(&self, pid: Pid, ancestor: Pid) -> bool {
        let mut current = self.processes.get(&pid).map(|p| *p.parent.lock());
        for _ in 0..self.processes.len() {
            match current {
                Some(parent) if parent == ancestor => return true,
                Some(parent) if parent != 0 => {
                    current = self.processes.get(&parent).map(|p| *p.parent.lock())
                }
                _ => return false,
            }
        }
        false
    }

    /// `target` if it is a live (not yet a zombie) descendant of
    /// `ancestor` — what a `kill` from `ancestor` may reach.
    pub fn live_descendant(&self, target: Pid, ancestor: Pid) -> Option<&Arc<Process>> {
        if !self.is_descendant(target, ancestor) {
            return None;
        }
        self.processes
            .get(&target)
            .filter(|process| !matches!(*process.state.lock(), ProcessState::Zombie(_)))
    }

    /// The kernel thread of the running process, if a process runs.
    pub fn current_thread(&self) -> Option<KernelThread> {
        let pid = self.current?;
        self.processes
            .get(&pid)
            .map(|process| process.thread.clone())
    }

    /// Adds a new process, ready to run.
    pub fn add(&mut self, process: Arc<Process>) {
        let pid = process.pid;
        *process.state.lock() = ProcessState::Ready;
        self.processes.insert(pid, process);
        self.ready.push_back(pid);
    }
}

/// Wakes `pid` if it is blocked.
pub fn wake(pid: Pid) {
    with_scheduler(|scheduler| scheduler.wake(pid));
}

/// Gives up the CPU. The current process's state says what happens to it:
/// `Running` → back in the ready queue; `Blocked` → waits for [`wake`];
/// `Zombie` → never runs again. Returns when it is scheduled again.
pub fn schedule() {
    let were_enabled = Arch::disable_interrupts();
    let switch = {
        let mut scheduler = SCHEDULER.lock();
        let current_pid = scheduler.current;
        let current = current_pid.and_then(|pid| scheduler.processes.get(&pid).cloned());
        if let Some(process) = &current {
            let mut state = process.state.lock();
            if matches!(*state, ProcessState::Running) {
                *state = ProcessState::Ready;
                drop(state);
                scheduler.ready.push_back(process.pid);
            }
        }
        let next = pick_next(&mut scheduler);
        if next.as_ref().map(|p| p.pid) == current_pid {
            if let Some(process) = &next {
                *process.state.lock() = ProcessState::Running;
            }
            None
        } else {
            scheduler.current = next.as_ref().map(|p| p.pid);
            let from = match &current {
                Some(process) => process.thread.clone(),
                None => scheduler.idle.clone().expect("idle thread exists"),
            };
            let to = match &next {
                Some(process) => {
                    *process.state.lock() = ProcessState::Running;
                    process.thread.clone()
                }
                None => scheduler.idle.clone().expect("idle thread exists"),
            };
            Some((from, to))
        }
    };
    if let Some((from, to)) = switch {
        switch_thread(&from, &to);
    }
    if were_enabled {
        Arch::enable_interrupts();
    }
}

/// The next ready process still alive.
fn pick_next(scheduler: &mut Scheduler) -> Option<Arc<Process>> {
    while let Some(pid) = scheduler.ready.pop_front() {
        if let Some(process) = scheduler.processes.get(&pid) {
            if matches!(*process.state.lock(), ProcessState::Ready) {
                return Some(process.clone());
            }
        }
    }
    None
}

/// Turns the boot thread into the idle thread and runs processes until
/// the machine powers off.
pub fn run_idle() -> ! {
    with_scheduler(|scheduler| scheduler.idle = Some(KernelThread::boot_thread()));
    loop {
        let has_ready = with_scheduler(|scheduler| !scheduler.ready.is_empty());
        if has_ready {
            schedule();
        } else {
            // Masked check-then-wait would miss a wake-up; WFI wakes on a
            // pending interrupt even when interrupts are masked, and the
            // interrupt is taken as soon as they are unmasked.
            Arch::disable_interrupts();
            let idle = with_scheduler(|scheduler| scheduler.ready.is_empty());
            if idle {
                Arch::wait_for_interrupt();
            }
            Arch::enable_interrupts();
        }
    }
}
