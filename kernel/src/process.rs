// SPDX-License-Identifier: MIT OR Apache-2.0
//! A process: its memory, files, family and life cycle.
//!
//! Life: [`spawn`] loads a program into a new address space and queues a
//! kernel thread (a parked worker, or a new one) to run it: enter user
//! mode, handle whatever brought it back (system call, interrupt, fault),
//! repeat. A
//! process ends by `exit` or by a fault (reported on the console with the
//! program, address and kind); it then becomes a zombie holding its exit
//! status until its parent's `wait` reaps it. Children of an exiting
//! process are handed to init (pid 1). When init itself ends, the kernel
//! syncs, reports its status and powers off with it.

use crate::budgets::{self, Role, TreeLimits};
use crate::elf_loader::{self, LoadedProgram};
use crate::files::FileTable;
use crate::scheduler::{self, with_scheduler, Pid};
use crate::syscall;
use crate::syscall::linux::signals::{self, Fault};
use crate::user_memory::{FaultIn, UserMemory};
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use hal::user::{Access, TrapCause};
use hal::{Arch, Architecture, ExitStatus, KernelThread, UserContext};
use kernel_core::budget::{Budget, Charge, Pool};
use kernel_core::{DotView, Location, ObjectRef};
use manux_abi::wait_status::{self, WaitStatus};
use manux_abi::Errno;
use spin::Mutex;

/// Wait status of a process killed by a memory fault.
pub const STATUS_FAULT: i32 = WaitStatus::Killed(wait_status::MEMORY_FAULT).to_raw();
/// Wait status of a process killed by an illegal instruction.
pub const STATUS_ILLEGAL_INSTRUCTION: i32 =
    WaitStatus::Killed(wait_status::ILLEGAL_INSTRUCTION).to_raw();
/// Wait status of a process killed by `kill`.
pub const STATUS_KILLED: i32 = WaitStatus::Killed(wait_status::KILLED).to_raw();

/// Where a process is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProcessState {
    /// Being built.
    New,
    /// Waiting for the CPU.
    Ready,
    /// On the CPU.
    Running,
    /// Waiting for an event.
    Blocked,
    /// Ended with this status; waiting to be reaped.
    Zombie(i32),
}

/// What a process has, beyond its state.
pub struct ProcessResources {
    /// Its memory (`None` once it has ended).
    pub memory: Option<UserMemory>,
    /// Its open files.
    pub files: FileTable,
    /// The registers to start with (taken by its worker, or replaced
    /// by `execve`).
    pub start: Option<UserContext>,
    /// Set by `kill`: the process ends at its next return to user mode.
    pub killed: bool,
    /// What it is killed by, once `killed`: the reason its wait status
    /// reports (Linux's signal number; `kill` is `SIGKILL`'s 9).
    pub killed_by: u8,
    /// When a sleeping process should wake (time since reset).
    pub wake_at: Option<core::time::Duration>,
    /// Where the process is in the file system: `None` once it has ended
    /// (an ended process holds no file or directory).
    pub place: Option<Place>,
    /// The kernel heap the process may cause (see `budgets`), held until
    /// it ends.
    pub heap: Option<Charge>,
    /// Its Linux signals: actions, mask, pending.
    pub linux_signals: crate::syscall::linux::SignalState,
    /// The process whose memory this one runs in: a vfork child's parent,
    /// until the child execs or ends ([`vfork`]).
    pub lender: Option<Arc<Process>>,
    /// The file-creation mask (`umask`): permission bits the Linux calls
    /// that create files and directories clear. Native calls take modes
    /// as given.
    pub file_creation_mask: u32,
}

/// A new process's file-creation mask, as a Linux login gets it.
pub const DEFAULT_FILE_CREATION_MASK: u32 = 0o022;

impl ProcessResources {
    /// Where the process is.
    ///
    /// Return values: `NoSuchProcess` once the process has ended.
    pub fn place(&self) -> Result<&Place, Errno> {
        self.place.as_ref().ok_or(Errno::NoSuchProcess)
    }

    /// Where the process is, to change it.
    ///
    /// Return values: `NoSuchProcess` once the process has ended.
    pub fn place_mut(&mut self) -> Result<&mut Place, Errno> {
        self.place.as_mut().ok_or(Errno::NoSuchProcess)
    }
}

/// Where a process is in the file system; a new process inherits its
/// parent's. Every part holds its objects (DESIGN §4, object lifetime).
#[derive(Clone)]
pub struct Place {
    /// The root directory of the process's view.
    pub root: ObjectRef,
    /// The current directory, as reached (its steps hold their
    /// directories).
    pub cwd: Location,
    /// The process's `/...` (shared with parent and children until one
    /// of them changes it with `xchroot`).
    pub dots: DotView,
    /// The file the process was started from (`spawn` or its last
    /// `execve`): `xchroot` changes the root to this file's rootlink
    /// target. Held, so a running program's file stays what it was.
    pub executable: ObjectRef,
    /// The kernel heap of the `/...` names this domain installed with
    /// `xchroot` (shared, like the view, until one of them changes it).
    pub dots_charge: Option<Arc<Charge>>,
}

/// A process.
pub struct Process {
    /// Its id.
    pub pid: Pid,
    /// Its parent (changes to 1 when the parent ends first).
    pub parent: Mutex<Pid>,
    /// The program's name (`argv[0]`'s last component), for reports.
    pub name: Mutex<String>,
    /// Its kernel thread.
    pub thread: KernelThread,
    /// Its life-cycle state.
    pub state: Mutex<ProcessState>,
    /// Memory, files, registers.
    pub resources: Mutex<ProcessResources>,
    /// For a kernel task (no program, never in user mode): what its
    /// thread runs instead ([`spawn_kernel_task`]).
    pub kernel_task: Option<fn(&Arc<Process>)>,
    /// The budget of its tree.
    pub budget: Arc<Budget>,
    /// Where it stands for budgets.
    pub role: Role,
    /// Limits for the trees it starts.
    pub tree_limits: Mutex<TreeLimits>,
    /// Its process slot, held until it is reaped (its record dropped).
    pub _slot: Option<Charge>,
}

/// The last path component, for names in reports.
pub fn program_name(path: &[u8]) -> String {
    let name = path.rsplit(|&b| b == b'/').next().unwrap_or(path);
    String::from_utf8_lossy(name).into_owned()
}

/// Most processes alive at once (zombies included): each costs a kernel
/// stack and tables, and the kernel must never run out of heap because a
/// program spawns in a loop.
pub const MAX_PROCESSES: usize = 128;

/// Heap that must stay free after a spawn, for the kernel's own needs.
const HEAP_RESERVE: usize = 2 << 20;

/// Starts `program` (already read from the file system) as a child of
/// `parent` with the given files; returns its pid.
///
/// Return values: `TryAgain` when [`MAX_PROCESSES`] are alive or the
/// kernel heap is low; the loader's errors (`NotExecutable`,
/// `ArgumentsTooLong`, `OutOfMemory`), or `OutOfMemory` for the thread.
pub fn spawn(
    parent: Pid,
    path: &[u8],
    program: &crate::program_cache::Program,
    arguments: &[Vec<u8>],
    environment: &[Vec<u8>],
    files: FileTable,
    place: Place,
) -> Result<Pid, Errno> {
    let admission = Admission::of(parent)?;
    let LoadedProgram { memory, context } =
        elf_loader::load(program, arguments, environment, &admission.budget).map_err(|error| {
            match error {
                Errno::OutOfMemory => Errno::TryAgain,
                other => other,
            }
        })?;
    admission.start(
        parent,
        program_name(path),
        memory,
        context,
        files,
        place,
        None,
        DEFAULT_FILE_CREATION_MASK,
        Default::default(),
    )
}

/// What a new process of `parent` holds before it has memory: its
/// budget, its role, and what it is charged for being (a process slot,
/// its share of the kernel heap).
struct Admission {
    budget: Arc<Budget>,
    role: Role,
    slot: Charge,
    heap: Charge,
}

impl Admission {
    /// Admits a new child of `parent`.
    ///
    /// Return values: `TryAgain` when [`MAX_PROCESSES`] are alive, the
    /// kernel heap is low, or the tree's budget cannot pay.
    fn of(parent: Pid) -> Result<Admission, Errno> {
        let (used, total) = hal::heap::usage();
        let crowded = with_scheduler(|scheduler| scheduler.processes.len() >= MAX_PROCESSES);
        if crowded || total.saturating_sub(used) < HEAP_RESERVE + hal::thread_stack_size() {
            return Err(Errno::TryAgain);
        }
        // The child's budget, and everything it holds charged to it
        // first: a tree that cannot pay gets `EAGAIN`, and nothing was
        // built.
        let (budget, role) =
            match with_scheduler(|scheduler| scheduler.processes.get(&parent).cloned()) {
                Some(parent) => {
                    budgets::for_child(parent.role, &parent.budget, *parent.tree_limits.lock())
                }
                None => (budgets::system(), Role::System),
            };
        let out_of_budget = |_| Errno::TryAgain;
        let slot = budgets::charge(&budget, Pool::Processes, 1).map_err(out_of_budget)?;
        let heap = budgets::charge(&budget, Pool::KernelHeap, budgets::process_heap_bytes())
            .map_err(out_of_budget)?;
        Ok(Admission {
            budget,
            role,
            slot,
            heap,
        })
    }

    /// Makes the process, ready to run from `context` in `memory`;
    /// returns its pid. On failure `memory` is released (given back to
    /// `lender`, if it is the lender's).
    ///
    /// Return values: `OutOfMemory` for its thread.
    #[allow(clippy::too_many_arguments, reason = "one field of the process each")]
    fn start(
        self,
        parent: Pid,
        name: String,
        memory: UserMemory,
        context: UserContext,
        files: FileTable,
        place: Place,
        lender: Option<Arc<Process>>,
        file_creation_mask: u32,
        linux_signals: crate::syscall::linux::SignalState,
    ) -> Result<Pid, Errno> {
        let pid = with_scheduler(|scheduler| scheduler.allocate_pid());
        let Some(thread) = worker_for(pid) else {
            give_back(lender, memory);
            return Err(Errno::OutOfMemory);
        };
        let process = Arc::new(Process {
            pid,
            parent: Mutex::new(parent),
            name: Mutex::new(name),
            thread,
            state: Mutex::new(ProcessState::New),
            resources: Mutex::new(ProcessResources {
                memory: Some(memory),
                files,
                start: Some(context),
                killed: false,
                killed_by: wait_status::KILLED,
                wake_at: None,
                place: Some(place),
                heap: Some(self.heap),
                linux_signals,
                lender,
                file_creation_mask,
            }),
            kernel_task: None,
            budget: self.budget,
            role: self.role,
            tree_limits: Mutex::new(TreeLimits::default()),
            _slot: Some(self.slot),
        });
        with_scheduler(|scheduler| scheduler.add(process));
        Ok(pid)
    }
}

/// Starts a child of `parent` that runs in `parent`'s memory (Linux's
/// `vfork`, and `clone(CLONE_VM | CLONE_VFORK)`): the memory is lent, not
/// copied — the child runs from `context` in the same address space,
/// with a copy of the parent's descriptors and its place — and the
/// parent waits until the child execs or ends and the memory comes back
/// ([`release_memory`]). The memory stays the parent's: charged to its
/// budget all along. If the parent is killed meanwhile it ends at once;
/// the child keeps the memory to its exec or end, and it is freed then.
/// Returns the child's pid, once the memory is back.
///
/// Return values: as [`Admission::of`]; `BadAddress` if the parent has
/// no memory; `Interrupted` if the parent was killed while it waited.
pub fn vfork(parent: &Arc<Process>, context: UserContext) -> Result<Pid, Errno> {
    let admission = Admission::of(parent.pid)?;
    let (memory, files, place, mask, signals) = {
        let mut resources = parent.resources.lock();
        let files = resources.files.duplicate()?;
        let place = resources.place()?.clone();
        let memory = resources.memory.take().ok_or(Errno::BadAddress)?;
        let signals = resources.linux_signals.inherit();
        (memory, files, place, resources.file_creation_mask, signals)
    };
    let name = parent.name.lock().clone();
    let child = admission.start(
        parent.pid,
        name,
        memory,
        context,
        files,
        place,
        Some(parent.clone()),
        mask,
        signals,
    )?;
    loop {
        let back = with_scheduler(|_| {
            let resources = parent.resources.lock();
            let back = resources.memory.is_some() || resources.killed;
            if !back {
                *parent.state.lock() = ProcessState::Blocked;
            }
            back
        });
        if back {
            break;
        }
        scheduler::schedule();
    }
    if parent.resources.lock().memory.is_none() {
        return Err(Errno::Interrupted);
    }
    Ok(child)
}

/// Starts a copy of `parent` (Linux's `fork`): a copy of its memory —
/// which must be a fixed-address window, the one part of the address
/// space whose addresses are private ([`UserMemory::fork`]) — charged to
/// the child's budget, its descriptors and place, running from
/// `context`. Returns the child's pid; the child has not run yet.
///
/// Return values: as [`Admission::of`]; `NotImplemented` for a parent
/// outside the window; `TryAgain` when the copy cannot be paid for.
pub fn fork(parent: &Arc<Process>, context: UserContext) -> Result<Pid, Errno> {
    let admission = Admission::of(parent.pid)?;
    let (memory, files, place, mask, signals) = {
        let mut resources = parent.resources.lock();
        let files = resources.files.duplicate()?;
        let place = resources.place()?.clone();
        let mask = resources.file_creation_mask;
        let signals = resources.linux_signals.inherit();
        let memory = resources
            .memory
            .as_mut()
            .ok_or(Errno::BadAddress)?
            .fork(&admission.budget)
            .map_err(|error| match error {
                Errno::OutOfMemory => Errno::TryAgain,
                other => other,
            })?;
        (memory, files, place, mask, signals)
    };
    let name = parent.name.lock().clone();
    admission.start(
        parent.pid, name, memory, context, files, place, None, mask, signals,
    )
}

/// Runs `body` on the memory of process `pid` (a child just started, to
/// write into it before it runs).
///
/// Return values: `NoSuchProcess`; `BadAddress` if it has no memory;
/// what `body` returns.
pub fn with_memory_of<T>(
    pid: Pid,
    body: impl FnOnce(&mut UserMemory) -> Result<T, Errno>,
) -> Result<T, Errno> {
    let process = with_scheduler(|scheduler| scheduler.processes.get(&pid).cloned())
        .ok_or(Errno::NoSuchProcess)?;
    let mut resources = process.resources.lock();
    body(resources.memory.as_mut().ok_or(Errno::BadAddress)?)
}

/// Lets go of `process`'s old memory (at its exec or its end): memory it
/// borrowed goes back to its lender, which wakes; its own is freed.
pub fn release_memory(process: &Process, memory: UserMemory) {
    let lender = process.resources.lock().lender.take();
    give_back(lender, memory);
}

/// Gives `memory` back to `lender` and wakes it — or frees it, with no
/// lender or a lender that has ended.
fn give_back(lender: Option<Arc<Process>>, memory: UserMemory) {
    let Some(lender) = lender else {
        return memory.destroy();
    };
    let refused = with_scheduler(|scheduler| {
        let ended = matches!(*lender.state.lock(), ProcessState::Zombie(_));
        let mut resources = lender.resources.lock();
        if ended || resources.place.is_none() || resources.memory.is_some() {
            return Some(memory);
        }
        resources.memory = Some(memory);
        drop(resources);
        scheduler.wake(lender.pid);
        None
    });
    if let Some(memory) = refused {
        memory.destroy();
    }
}

/// Starts a kernel task: a thread scheduled like a process, with no
/// program, memory, files or place in the file system (so it holds
/// nothing a program could reach), running `task` in kernel mode. It has
/// no parent (`kill` reaches it from nobody); it sleeps with
/// [`sleep_until`]. Returns its pid.
///
/// Return values: `TryAgain` when [`MAX_PROCESSES`] are alive;
/// `OutOfMemory` for its thread.
pub fn spawn_kernel_task(name: &str, task: fn(&Arc<Process>)) -> Result<Pid, Errno> {
    if with_scheduler(|scheduler| scheduler.processes.len() >= MAX_PROCESSES) {
        return Err(Errno::TryAgain);
    }
    let pid = with_scheduler(|scheduler| scheduler.allocate_pid());
    let thread = worker_for(pid).ok_or(Errno::OutOfMemory)?;
    let process = Arc::new(Process {
        pid,
        parent: Mutex::new(0),
        name: Mutex::new(String::from(name)),
        thread,
        state: Mutex::new(ProcessState::New),
        resources: Mutex::new(ProcessResources {
            memory: None,
            files: FileTable::default(),
            start: None,
            killed: false,
            killed_by: wait_status::KILLED,
            wake_at: None,
            place: None,
            heap: None,
            linux_signals: Default::default(),
            lender: None,
            file_creation_mask: DEFAULT_FILE_CREATION_MASK,
        }),
        kernel_task: Some(task),
        budget: budgets::system(),
        role: Role::System,
        tree_limits: Mutex::new(TreeLimits::default()),
        _slot: None,
    });
    with_scheduler(|scheduler| scheduler.add(process));
    Ok(pid)
}

/// Blocks `process` until `until` (time since reset) has passed; the tick
/// wakes it ([`wake_sleepers`]).
pub fn sleep_until(process: &Arc<Process>, until: core::time::Duration) {
    while Arch::time_since_reset() < until {
        with_scheduler(|_| {
            process.resources.lock().wake_at = Some(until);
            *process.state.lock() = ProcessState::Blocked;
        });
        scheduler::schedule();
    }
}

/// What the system-call layer asks the process loop to do next.
#[allow(
    clippy::large_enum_variant,
    reason = "moved once per system call; boxing the registers would allocate in `execve`"
)]
pub enum Continue {
    /// Return to user mode.
    Resume,
    /// Start over with new registers (after `execve`).
    Replace(UserContext),
    /// End the process with this status.
    Exit(i32),
}

/// Kernel threads whose process has ended, parked, each with its worker
/// number: a new process takes one before a new thread is made.
///
/// A thread that ends its process cannot free its own stack (it is
/// running on it, and its last switch keeps references there), so kernel
/// threads are workers that outlive processes: one runs a process to its
/// end, parks, and runs the next one it is given. There are never more
/// of them than processes were ever alive at once.
static IDLE_WORKERS: Mutex<Vec<(KernelThread, usize)>> = Mutex::new(Vec::new());

/// The process each worker is to run next, by worker number.
static ASSIGNMENTS: Mutex<Vec<Option<Pid>>> = Mutex::new(Vec::new());

/// A kernel thread to run process `pid`: a parked worker, or a new one.
/// `None` when a new thread's stack cannot be allocated.
fn worker_for(pid: Pid) -> Option<KernelThread> {
    let idle = with_scheduler(|_| IDLE_WORKERS.lock().pop());
    let (thread, worker) = match idle {
        Some(idle) => idle,
        None => {
            let worker = {
                let mut assignments = ASSIGNMENTS.lock();
                assignments.try_reserve(1).ok()?;
                assignments.push(None);
                assignments.len() - 1
            };
            match KernelThread::new(worker_main, worker as u64) {
                Some(thread) => (thread, worker),
                None => {
                    // Nobody will run this worker: its slot stays empty.
                    return None;
                }
            }
        }
    };
    if let Some(slot) = ASSIGNMENTS.lock().get_mut(worker) {
        *slot = Some(pid);
    }
    Some(thread)
}

/// A worker: runs the process it is given to its end, parks, repeats.
extern "C" fn worker_main(worker: u64) -> ! {
    let worker = worker as usize;
    loop {
        let pid = ASSIGNMENTS.lock().get_mut(worker).and_then(Option::take);
        if let Some(pid) = pid {
            run_process(pid);
        }
        // The process is a zombie now, and this thread still its current
        // one: park, and switch away for good until `worker_for` hands
        // this thread a new process (which makes it ready again).
        let me = with_scheduler(|scheduler| scheduler.current_thread());
        if let Some(me) = me {
            with_scheduler(|_| {
                let mut idle = IDLE_WORKERS.lock();
                if idle.try_reserve(1).is_ok() {
                    idle.push((me, worker));
                }
            });
        }
        scheduler::schedule();
    }
}

/// The kernel half of every process: runs process `pid` until it ends.
fn run_process(pid: Pid) {
    let process = with_scheduler(|scheduler| scheduler.processes.get(&pid).cloned());
    let Some(process) = process else {
        // Cannot happen: `spawn` adds the process before its thread runs.
        return;
    };
    if let Some(task) = process.kernel_task {
        task(&process);
        return exit(&process, WaitStatus::Exited(0).to_raw());
    }
    let mut context = match process.resources.lock().start.take() {
        Some(context) => context,
        None => return exit(&process, WaitStatus::Exited(1).to_raw()),
    };
    loop {
        let killed = {
            let resources = process.resources.lock();
            resources.killed.then_some(resources.killed_by)
        };
        if let Some(reason) = killed {
            return exit(&process, WaitStatus::Killed(reason).to_raw());
        }
        if let Some(status) = syscall::linux::signals::deliver(&process, &mut context) {
            return exit(&process, status);
        }
        if let Some(memory) = process.resources.lock().memory.as_ref() {
            memory.activate();
        }
        let cause = context.run();
        let outcome = match cause {
            TrapCause::SystemCall => syscall::dispatch(&process, &mut context),
            TrapCause::Interrupt => {
                // The tick already ran; the time slice is one tick.
                scheduler::schedule();
                Continue::Resume
            }
            TrapCause::PageFault { address, access } => {
                let outcome = process
                    .resources
                    .lock()
                    .memory
                    .as_mut()
                    .map_or(FaultIn::Refused, |memory| memory.fault_in(address, access));
                match outcome {
                    FaultIn::Mapped => Continue::Resume,
                    FaultIn::Refused
                        if signals::fault(&process, &mut context, Fault::Page, address) =>
                    {
                        Continue::Resume
                    }
                    FaultIn::Refused => {
                        report_fault(&process, &context, "page fault", address, Some(access));
                        Continue::Exit(STATUS_FAULT)
                    }
                    FaultIn::OutOfMemory => {
                        report_fault(&process, &context, "out of memory", address, Some(access));
                        Continue::Exit(STATUS_KILLED)
                    }
                }
            }
            TrapCause::IllegalInstruction { address }
                if signals::fault(&process, &mut context, Fault::IllegalInstruction, address) =>
            {
                Continue::Resume
            }
            TrapCause::ProtectionFault { address }
                if signals::fault(&process, &mut context, Fault::Protection, address) =>
            {
                Continue::Resume
            }
            TrapCause::IllegalInstruction { address } | TrapCause::ProtectionFault { address } => {
                report_fault(
                    &process,
                    &context,
                    "illegal or privileged instruction",
                    address,
                    None,
                );
                Continue::Exit(STATUS_ILLEGAL_INSTRUCTION)
            }
            TrapCause::Other { code, address } => {
                report_fault(&process, &context, "unexpected exception", address, None);
                log::debug!("exception syndrome {:#x}", code);
                Continue::Exit(STATUS_FAULT)
            }
        };
        match outcome {
            Continue::Resume => {}
            Continue::Replace(new_context) => context = new_context,
            Continue::Exit(status) => return exit(&process, status),
        }
    }
}

fn report_fault(
    process: &Process,
    context: &UserContext,
    kind: &str,
    address: u64,
    access: Option<Access>,
) {
    use hal::user::UserRegisters;
    let access = match access {
        Some(Access::Read) => " (read)",
        Some(Access::Write) => " (write)",
        Some(Access::Execute) => " (execute)",
        None => "",
    };
    crate::logger::print_fmt(format_args!(
        "process {} ({}) killed: {} at {:#x}{}, pc {:#x}\n",
        process.pid,
        process.name.lock(),
        kind,
        address,
        access,
        context.instruction_pointer()
    ));
}

/// Ends the current process with `status`: frees its memory and files,
/// makes it a zombie for its parent to reap. Returns (to the worker, which
/// parks) except for init, whose end powers the machine off.
pub fn exit(process: &Arc<Process>, status: i32) {
    let (memory, files, place, heap) = {
        let mut resources = process.resources.lock();
        (
            resources.memory.take(),
            core::mem::take(&mut resources.files),
            resources.place.take(),
            resources.heap.take(),
        )
    };
    // Dropped outside the lock: the last end of a pipe wakes its readers,
    // the last reference to an object queues its release.
    drop(files);
    drop(place);
    if let Some(memory) = memory {
        release_memory(process, memory);
    }
    drop(heap);
    let parent = *process.parent.lock();
    let pid = process.pid;
    with_scheduler(|scheduler| {
        *process.state.lock() = ProcessState::Zombie(status);
        // Orphans go to init.
        for child in scheduler.processes.values() {
            let mut child_parent = child.parent.lock();
            if *child_parent == pid {
                *child_parent = 1;
            }
        }
        syscall::linux::signals::child_ended(scheduler, process, parent, status);
        scheduler.wake(parent);
        if pid != 1 {
            // Init reaps orphaned zombies too.
            scheduler.wake(1);
        }
    });
    if pid == 1 {
        let code = match WaitStatus::from_raw(status) {
            WaitStatus::Exited(code) => {
                crate::logger::print_fmt(format_args!("init exited with status {}\n", code));
                code
            }
            WaitStatus::Killed(reason) => {
                crate::logger::print_fmt(format_args!(
                    "init was killed ({})\n",
                    WaitStatus::reason_name(reason)
                ));
                128u8.saturating_add(reason)
            }
        };
        crate::power_off(if code == 0 {
            ExitStatus::Success
        } else {
            ExitStatus::Failure(code)
        });
    }
}

/// Reaps a zombie child of `parent` (`pid` or any when `None`); returns
/// its pid and status, blocking until one exists.
///
/// Return values: `NoChild` when `parent` has no such child.
pub fn wait(parent: &Arc<Process>, pid: Option<Pid>) -> Result<(Pid, i32), Errno> {
    loop {
        if let Some(reaped) = wait_once(parent, pid, true)? {
            return Ok(reaped);
        }
    }
}

/// Reaps a zombie child of `parent` (`pid` or any when `None`) if there
/// is one; else `None` at once (`block` false: Linux's `WNOHANG`), or
/// after blocking until one exists.
///
/// Return values: `NoChild` when `parent` has no such child;
/// `Interrupted` when it is killed while it waits, or a signal it does
/// not block arrives.
pub fn wait_once(
    parent: &Arc<Process>,
    pid: Option<Pid>,
    block: bool,
) -> Result<Option<(Pid, i32)>, Errno> {
    loop {
        let found = with_scheduler(|scheduler| {
            let children: Vec<Arc<Process>> = scheduler
                .processes
                .values()
                .filter(|p| {
                    *p.parent.lock() == parent.pid && pid.is_none_or(|wanted| wanted == p.pid)
                })
                .cloned()
                .collect();
            if children.is_empty() {
                return Err(Errno::NoChild);
            }
            for child in children {
                if let ProcessState::Zombie(status) = *child.state.lock() {
                    scheduler.processes.remove(&child.pid);
                    return Ok(Some((child.pid, status)));
                }
            }
            if block {
                *parent.state.lock() = ProcessState::Blocked;
            }
            Ok(None)
        })?;
        if found.is_some() || !block {
            return Ok(found);
        }
        if syscall::linux::signals::interrupted(&parent.resources.lock()) {
            *parent.state.lock() = ProcessState::Running;
            return Err(Errno::Interrupted);
        }
        scheduler::schedule();
    }
}

/// Asks `target` to end; only the caller's descendants may be killed.
///
/// Return values: `NoSuchProcess` if `target` is not a live descendant.
pub fn kill(caller: Pid, target: Pid) -> Result<(), Errno> {
    kill_for(caller, target, wait_status::KILLED)
}

/// Asks `target` to end, its wait status saying `reason` (a signal
/// number); only the caller's descendants may be killed. A second
/// request before it ends keeps the first reason.
///
/// Return values: `NoSuchProcess` if `target` is not a live descendant.
pub fn kill_for(caller: Pid, target: Pid, reason: u8) -> Result<(), Errno> {
    with_scheduler(|scheduler| {
        let process = scheduler
            .live_descendant(target, caller)
            .ok_or(Errno::NoSuchProcess)?;
        let mut resources = process.resources.lock();
        if !resources.killed {
            resources.killed = true;
            resources.killed_by = reason;
        }
        drop(resources);
        scheduler.wake(target);
        Ok(())
    })
}

/// Checks that `target` is a live descendant of `caller` (what
/// [`kill_for`] may reach), changing nothing.
///
/// Return values: `NoSuchProcess` if it is not.
pub fn check_descendant(caller: Pid, target: Pid) -> Result<(), Errno> {
    with_scheduler(|scheduler| {
        scheduler
            .live_descendant(target, caller)
            .map(drop)
            .ok_or(Errno::NoSuchProcess)
    })
}

/// Wakes sleepers whose time has come, and processes whose Linux
/// interval timer expired (called on every tick).
pub fn wake_sleepers() {
    let now = Arch::time_since_reset();
    with_scheduler(|scheduler| {
        let due: Vec<Pid> = scheduler
            .processes
            .values()
            .filter(|p| {
                // Try-locks: the tick may have interrupted their holder.
                let ended = p
                    .state
                    .try_lock()
                    .is_some_and(|state| matches!(*state, ProcessState::Zombie(_)));
                if ended {
                    return false;
                }
                let mut resources = match p.resources.try_lock() {
                    Some(resources) => resources,
                    None => return false,
                };
                let alarm = syscall::linux::timers::expire(&mut resources, now);
                match resources.wake_at {
                    Some(when) if when <= now => {
                        resources.wake_at = None;
                        true
                    }
                    _ => alarm,
                }
            })
            .map(|p| p.pid)
            .collect();
        for pid in due {
            scheduler.wake(pid);
        }
    });
}
