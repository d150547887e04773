// SPDX-License-Identifier: MIT OR Apache-2.0
//! Linux signals: what a process set (actions, the mask), what is
//! pending, and delivery — a handler run on a frame pushed on the user
//! stack as Linux pushes it, and `rt_sigreturn` back.
//!
//! # Sending
//! [`post`] is the one place a signal reaches a process: `SIGKILL` ends
//! it; `SIGSTOP` and signals whose action is to be ignored (`SIG_IGN`,
//! or `SIG_DFL` of `SIGCHLD`, `SIGURG`, `SIGWINCH`, `SIGCONT` and the
//! stop signals — stopping is not implemented) are dropped; a default
//! action that ends the process ends it at its next return to user mode
//! unless the signal is blocked; anything else (a handler, or a blocked
//! signal) becomes pending, one of each signal at a time (real-time
//! signals are not queued either). The target is woken: a blocking call
//! it sleeps in ends with `EINTR` ([`interrupted`]), or starts again for
//! a handler with `SA_RESTART` ([`restarts`]).
//!
//! # Delivery
//! [`deliver`] runs before every return to user mode (after a system
//! call, an interrupt or a fault handled): for each pending signal not
//! blocked, lowest first, its action — ending the process, nothing, or
//! a handler: a frame (siginfo, ucontext with the registers, FP/SIMD
//! state and the mask to restore; `linux_abi::layout::signal_frame`)
//! below the stack pointer — or, for an `SA_ONSTACK` handler, at the top
//! of the alternate stack (`sigaltstack`) unless it runs there already —
//! the handler's arguments (signal, `&info`, `&ucontext`), the mask
//! plus `sa_mask` plus the signal (unless `SA_NODEFER`), `SA_RESETHAND`
//! honoured. The handler returns to `sa_restorer` (`SA_RESTORER`,
//! required on x86_64 as Linux requires it) or, on AArch64, to the
//! kernel's trampoline: `mov x8, #139; svc #0` on a read-only page
//! mapped in the process on its first handler, as Linux's vDSO
//! `__kernel_rt_sigreturn`. A frame that cannot be written ends the
//! process with `SIGSEGV`'s status.
//!
//! # Faults
//! [`fault`]: a page fault the process's memory refuses (`SIGSEGV`) or
//! an illegal instruction (`SIGILL`) runs the process's handler at once,
//! with `si_addr`, when it has one not blocked; otherwise the process
//! ends with the native report, as before.
//!
//! # Return
//! [`signal_return`] reads the frame back at the stack pointer,
//! refuses a malformed one (`SIGSEGV`) and restores the registers and
//! mask through the hal's sanitising setter: a forged frame cannot
//! raise the privilege, mask interrupts or load a segment selector.

use super::{read_array, write_bytes, Outcome, ARCH};
use crate::process::{Continue, Process, ProcessResources, ProcessState};
use crate::scheduler::{with_scheduler, Pid};
use crate::syscall::UserAccess;
use alloc::sync::Arc;
use alloc::vec::Vec;
use hal::user::SharedFrames;
use hal::UserContext;
use linux_abi::layout::signal_action::{SignalAction, SIGACTION_SIZE};
use linux_abi::layout::signal_info::{self, SIGINFO_SIZE};
use linux_abi::layout::signal_stack::{self, SignalStack, STACK_T_SIZE};
use linux_abi::signals::{
    DefaultAction, MaskOperation, Signal, SignalActionFlags, SignalSet, HANDLER_DEFAULT,
    HANDLER_IGNORE, SIGNAL_SET_SIZE,
};
use linux_abi::wait_status::ChildEvent;
use linux_abi::{Arch, Errno};
use manux_abi::wait_status::WaitStatus;

/// Who sent a pending signal: what its `siginfo` says.
#[derive(Clone, Copy, Debug, Default)]
pub enum Origin {
    /// The kernel (Ctrl-C's `SIGINT`, `SIGPIPE`): `SI_KERNEL`.
    #[default]
    Kernel,
    /// Process `pid` with `kill` (`SI_USER`), or with `tkill`/`tgkill`
    /// (`thread`: `SI_TKILL`).
    Sent {
        /// The sender.
        pid: Pid,
        /// Sent by `tkill` or `tgkill`.
        thread: bool,
    },
    /// A child changed (`SIGCHLD`).
    Child {
        /// The child.
        pid: Pid,
        /// How.
        event: ChildEvent,
        /// Its exit code or the signal that ended it.
        status: i32,
    },
}

/// A process's signal state: actions, mask, pending signals.
pub struct SignalState {
    /// The blocked signals.
    mask: SignalSet,
    /// The actions set so far, by signal number (the others are
    /// `SIG_DFL`): only the signals a program names take room.
    actions: Vec<(u8, SignalAction)>,
    /// Signals sent and not delivered yet.
    pending: SignalSet,
    /// Who sent each pending signal, by number - 1.
    origins: [Origin; 64],
    /// The mask `rt_sigsuspend` replaced, restored after the handler
    /// that ends it (saved in that handler's frame).
    suspended_mask: Option<SignalSet>,
    /// Whether the process made a Linux call: Ctrl-C is `SIGINT` for it,
    /// and its end a `SIGCHLD` for a Linux parent.
    linux: bool,
    /// Where the return trampoline is mapped in its memory (AArch64),
    /// once a handler needed it.
    trampoline: Option<u64>,
    /// Its `ITIMER_REAL` (`alarm`, `setitimer`), if armed: kept across
    /// `execve`, never inherited.
    pub(super) real_timer: Option<super::timers::RealTimer>,
    /// The alternate stack (`sigaltstack`): its lowest address and size;
    /// `None` when disabled. Inherited, cleared by `execve`.
    alternate_stack: Option<(u64, u64)>,
}

impl Default for SignalState {
    fn default() -> Self {
        SignalState {
            mask: SignalSet::EMPTY,
            actions: Vec::new(),
            pending: SignalSet::EMPTY,
            origins: [Origin::Kernel; 64],
            suspended_mask: None,
            linux: false,
            trampoline: None,
            real_timer: None,
            alternate_stack: None,
        }
    }
}

impl SignalState {
    /// A child's state (`fork`, `vfork`): the same actions, mask and
    /// trampoline (its memory is a copy, or the same), nothing pending.
    pub fn inherit(&self) -> SignalState {
        let mut actions = Vec::new();
        if actions.try_reserve_exact(self.actions.len()).is_ok() {
            actions.extend_from_slice(&self.actions);
        }
        SignalState {
            mask: self.mask,
            actions,
            linux: self.linux,
            trampoline: self.trampoline,
            alternate_stack: self.alternate_stack,
            ..SignalState::default()
        }
    }

    /// At `execve`: handlers go back to the default action (ignored
    /// signals stay ignored), the mask, pending signals and the timer
    /// stay, and the new memory has no trampoline and no alternate stack.
    pub fn on_exec(&mut self) {
        self.actions
            .retain(|(_, action)| action.handler == HANDLER_IGNORE);
        self.trampoline = None;
        self.suspended_mask = None;
        self.alternate_stack = None;
    }

    /// Whether `sp` lies on the alternate stack (Linux's `on_sig_stack`:
    /// the stack grows down from `base + size`).
    fn on_alternate_stack(&self, sp: u64) -> bool {
        self.alternate_stack
            .is_some_and(|(base, size)| sp > base && sp - base <= size)
    }

    /// The alternate stack as `sigaltstack` and a frame's `uc_stack`
    /// report it when the stack pointer is `sp`.
    fn reported_stack(&self, sp: u64) -> SignalStack {
        match self.alternate_stack {
            None => SignalStack {
                base: 0,
                flags: signal_stack::DISABLE,
                size: 0,
            },
            Some((base, size)) => SignalStack {
                base,
                flags: if self.on_alternate_stack(sp) {
                    signal_stack::ON_STACK
                } else {
                    0
                },
                size,
            },
        }
    }

    /// Notes that the process made a Linux call.
    pub fn mark_linux(&mut self) {
        self.linux = true;
    }

    /// Whether the process made a Linux call.
    pub fn is_linux(&self) -> bool {
        self.linux
    }

    /// Whether a pending signal is not blocked: a blocking call ends.
    pub fn interrupts(&self) -> bool {
        self.pending.0 & !self.mask.0 != 0
    }

    /// The action for `signal`.
    fn action(&self, signal: Signal) -> SignalAction {
        self.actions
            .iter()
            .find(|(number, _)| *number == signal.number())
            .map_or(
                SignalAction {
                    handler: HANDLER_DEFAULT,
                    flags: SignalActionFlags::empty(),
                    restorer: 0,
                    mask: SignalSet::EMPTY,
                },
                |(_, action)| *action,
            )
    }

    /// Sets the action for `signal`; returns the previous one.
    fn set_action(&mut self, signal: Signal, action: SignalAction) -> Result<(), Errno> {
        match self
            .actions
            .iter()
            .position(|(number, _)| *number == signal.number())
        {
            Some(index) => self.actions[index].1 = action,
            None => {
                self.actions
                    .try_reserve(1)
                    .map_err(|_| Errno::OutOfMemory)?;
                self.actions.push((signal.number(), action));
            }
        }
        Ok(())
    }

    /// Takes the mask and action a handler of `signal` runs with (the
    /// mask plus `sa_mask` plus the signal unless `SA_NODEFER`;
    /// `SA_RESETHAND`); returns the mask its frame restores.
    fn enter_handler(&mut self, signal: Signal, action: &SignalAction) -> SignalSet {
        let frame_mask = self.suspended_mask.take().unwrap_or(self.mask);
        let mut mask = SignalSet(self.mask.0 | action.mask.0);
        if !action.flags.contains(SignalActionFlags::NO_DEFER) {
            mask = mask.with(signal);
        }
        self.mask = mask.maskable();
        if action.flags.contains(SignalActionFlags::RESET_HANDLER) {
            let reset = SignalAction {
                handler: HANDLER_DEFAULT,
                flags: SignalActionFlags::empty(),
                restorer: 0,
                mask: SignalSet::EMPTY,
            };
            // Replacing an existing entry cannot fail.
            let _ = self.set_action(signal, reset);
        }
        frame_mask
    }

    /// Whether `signal` is dropped when sent: ignored, explicitly or by
    /// default (stop and continue included: not implemented).
    fn ignores(&self, signal: Signal) -> bool {
        let action = self.action(signal);
        action.handler == HANDLER_IGNORE
            || (action.handler == HANDLER_DEFAULT
                && matches!(
                    signal.default_action(),
                    DefaultAction::Ignore | DefaultAction::Stop | DefaultAction::Continue
                ))
    }
}

/// Sends `signal` to the process whose resources these are (see the
/// module doc); the caller wakes it.
pub fn post(resources: &mut ProcessResources, signal: Signal, origin: Origin) {
    if signal == Signal::KILL {
        end(resources, signal);
        return;
    }
    let state = &mut resources.linux_signals;
    if signal == Signal::STOP || state.ignores(signal) {
        return;
    }
    let default = state.action(signal).handler == HANDLER_DEFAULT;
    if default && !state.mask.contains(signal) {
        end(resources, signal);
        return;
    }
    state.pending = state.pending.with(signal);
    state.origins[usize::from(signal.number() - 1)] = origin;
}

/// Ends the process at its next return to user mode, its status naming
/// `signal` (a second reason does not replace the first).
fn end(resources: &mut ProcessResources, signal: Signal) {
    if !resources.killed {
        resources.killed = true;
        resources.killed_by = signal.number();
    }
}

/// Sends `signal` from `sender` to `target` — itself or one of its live
/// descendants (what the native `kill` may reach, and the caller) —
/// and wakes it.
///
/// Return values: `ESRCH` for any other target.
pub fn send(sender: Pid, target: Pid, signal: Signal, thread: bool) -> Result<(), Errno> {
    with_scheduler(|scheduler| {
        let process = if target == sender {
            scheduler.processes.get(&target)
        } else {
            scheduler.live_descendant(target, sender)
        }
        .ok_or(Errno::NoSuchProcess)?;
        post(
            &mut process.resources.lock(),
            signal,
            Origin::Sent {
                pid: sender,
                thread,
            },
        );
        scheduler.wake(target);
        Ok(())
    })
}

/// Whether a blocking call of `process` should end now: it is killed,
/// or a signal it does not block is pending.
pub fn interrupted(resources: &ProcessResources) -> bool {
    resources.killed || resources.linux_signals.interrupts()
}

/// Whether a call that ended with `EINTR` starts again: the signal to be
/// delivered first has a handler set with `SA_RESTART`.
pub fn restarts(process: &Process) -> bool {
    let resources = process.resources.lock();
    let state = &resources.linux_signals;
    if resources.killed {
        return false;
    }
    SignalSet(state.pending.0 & !state.mask.0)
        .first()
        .is_some_and(|signal| {
            let action = state.action(signal);
            action.handler != HANDLER_DEFAULT
                && action.handler != HANDLER_IGNORE
                && action.flags.contains(SignalActionFlags::RESTART)
        })
}

/// The wait status of a process ended by `signal`.
fn killed_by(signal: Signal) -> i32 {
    WaitStatus::Killed(signal.number()).to_raw()
}

/// Runs the actions of `process`'s deliverable signals before it returns
/// to user mode (see the module doc). Returns the status to end it with,
/// if one ends it.
pub fn deliver(process: &Arc<Process>, context: &mut UserContext) -> Option<i32> {
    // At most one frame per signal number: a handler that does not
    // block its own signal cannot make this loop forever.
    for _ in 0..64 {
        let (signal, action, origin, frame_mask) = {
            let mut resources = process.resources.lock();
            let state = &mut resources.linux_signals;
            let Some(signal) = SignalSet(state.pending.0 & !state.mask.0).first() else {
                if let Some(mask) = state.suspended_mask.take() {
                    state.mask = mask;
                }
                return None;
            };
            state.pending = state.pending.without(signal);
            let origin = core::mem::take(&mut state.origins[usize::from(signal.number() - 1)]);
            let action = state.action(signal);
            if action.handler == HANDLER_IGNORE {
                continue;
            }
            if action.handler == HANDLER_DEFAULT {
                match signal.default_action() {
                    DefaultAction::Terminate | DefaultAction::CoreDump => {
                        return Some(killed_by(signal))
                    }
                    _ => continue,
                }
            }
            let frame_mask = state.enter_handler(signal, &action);
            (signal, action, origin, frame_mask)
        };
        let info = match origin {
            Origin::Kernel => signal_info::encode_kernel_signal(signal),
            Origin::Sent { pid, thread: false } => {
                signal_info::encode_sent_signal(signal, pid, super::identity::ID)
            }
            Origin::Sent { pid, thread: true } => {
                signal_info::encode_thread_signal(signal, pid, super::identity::ID)
            }
            Origin::Child { pid, event, status } => {
                let mut info =
                    signal_info::encode_child_event(pid, super::identity::ID, event, status);
                // The same layout for any signal a child's end raises.
                info[..4].copy_from_slice(&u32::from(signal.number()).to_le_bytes());
                info
            }
        };
        if let Err(why) = push_frame(process, context, signal, &action, &info, frame_mask) {
            crate::logger::print_fmt(format_args!(
                "process {} ({}) killed: no room for a signal frame ({})\n",
                process.pid,
                process.name.lock(),
                why
            ));
            return Some(killed_by(Signal::SEGMENTATION_FAULT));
        }
    }
    None
}

/// A fault that can raise a signal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// A page fault the process's memory refused: `SIGSEGV`
    /// (`SEGV_MAPERR`).
    Page,
    /// An illegal instruction: `SIGILL` (`ILL_ILLOPC`).
    IllegalInstruction,
    /// A general-protection fault (x86_64: a privileged instruction, a
    /// non-canonical address): `SIGSEGV` from the kernel, `si_addr` 0,
    /// as Linux's.
    Protection,
}

/// A fault of `process` at `address` raises its signal: if it made
/// Linux calls and has a handler for that signal that is not blocked,
/// the handler's frame is pushed at once (its `siginfo` with the code
/// and `si_addr`) and `true` returned. Otherwise — no handler
/// (`SIG_DFL`, `SIG_IGN`), the signal blocked (a fault inside its own
/// handler), or a frame that cannot be written (a stack overflow
/// without an alternate stack) — `false`, and the caller ends the
/// process as a native program's fault: Linux ends it with the same
/// signal then.
pub fn fault(process: &Process, context: &mut UserContext, fault: Fault, address: u64) -> bool {
    let (signal, code, address) = match fault {
        Fault::Page => (
            Signal::SEGMENTATION_FAULT,
            signal_info::SEGV_MAPPING_ERROR,
            address,
        ),
        Fault::IllegalInstruction => (
            Signal::ILLEGAL_INSTRUCTION,
            signal_info::ILLEGAL_OPCODE,
            address,
        ),
        Fault::Protection => (Signal::SEGMENTATION_FAULT, signal_info::SENT_BY_KERNEL, 0),
    };
    let (action, frame_mask) = {
        let mut resources = process.resources.lock();
        let state = &mut resources.linux_signals;
        let action = state.action(signal);
        if !state.linux
            || state.mask.contains(signal)
            || action.handler == HANDLER_DEFAULT
            || action.handler == HANDLER_IGNORE
        {
            return false;
        }
        let frame_mask = state.enter_handler(signal, &action);
        (action, frame_mask)
    };
    let info = signal_info::encode_fault(signal, code, address);
    push_frame(process, context, signal, &action, &info, frame_mask).is_ok()
}

/// Where a handler returns: `sa_restorer`, or the trampoline (AArch64).
fn return_address(process: &Process, action: &SignalAction) -> Result<u64, &'static str> {
    if action.flags.contains(SignalActionFlags::RESTORER) {
        return Ok(action.restorer);
    }
    if ARCH == Arch::X86_64 {
        // Linux's x86_64 requires `SA_RESTORER` too.
        return Err("no SA_RESTORER");
    }
    let mut resources = process.resources.lock();
    if let Some(address) = resources.linux_signals.trampoline {
        return Ok(address);
    }
    let pages = trampoline_pages().ok_or("out of memory")?;
    let memory = resources.memory.as_mut().ok_or("no memory")?;
    let start = memory
        .reserve(hal::user::PAGE_SIZE)
        .map_err(|_| "out of memory")?;
    memory
        .map_shared(start, &pages)
        .map_err(|_| "out of memory")?;
    resources.linux_signals.trampoline = Some(start);
    Ok(start)
}

/// AArch64's `__kernel_rt_sigreturn`: `mov x8, #139` (`rt_sigreturn`),
/// `svc #0`.
const TRAMPOLINE_CODE: [u32; 2] = [0xd280_1168, 0xd400_0001];

/// The trampoline's page, built once and shared read-only by every
/// process that maps it.
fn trampoline_pages() -> Option<Arc<SharedFrames>> {
    static PAGES: spin::Mutex<Option<Arc<SharedFrames>>> = spin::Mutex::new(None);
    let mut pages = PAGES.lock();
    if let Some(pages) = pages.as_ref() {
        return Some(pages.clone());
    }
    let frame = hal::frames::Frame::allocate()?;
    for (index, word) in TRAMPOLINE_CODE.iter().enumerate() {
        frame.write(index * 4, &word.to_le_bytes());
    }
    let mut page = Vec::new();
    page.try_reserve(1).ok()?;
    page.push((
        0,
        frame,
        hal::user::UserPermission {
            write: false,
            execute: true,
        },
    ));
    let shared = Arc::new(SharedFrames::new(page).ok()?);
    *pages = Some(shared.clone());
    Some(shared)
}

/// Where a handler runs: its address and the one it returns to, the
/// stack pointer its frame starts below (the top of the alternate stack;
/// `None`: the interrupted one), the lowest address the frame may reach,
/// and the alternate stack as the frame's `uc_stack` reports it.
struct FramePlace {
    handler: u64,
    return_to: u64,
    top: Option<u64>,
    floor: u64,
    stack: SignalStack,
}

/// Pushes the frame for `signal`'s handler and points the registers at
/// the handler: on the alternate stack for an `SA_ONSTACK` handler when
/// one is set and not in use already (a frame that would leave the
/// alternate stack is refused, as on Linux).
fn push_frame(
    process: &Process,
    context: &mut UserContext,
    signal: Signal,
    action: &SignalAction,
    info: &[u8; SIGINFO_SIZE],
    mask: SignalSet,
) -> Result<(), &'static str> {
    let return_to = return_address(process, action)?;
    let sp = context.stack_pointer();
    let place = {
        let resources = process.resources.lock();
        let state = &resources.linux_signals;
        let on_stack = state.on_alternate_stack(sp);
        let switch = action.flags.contains(SignalActionFlags::ON_STACK) && !on_stack;
        let (top, floor) = match state.alternate_stack {
            Some((base, size)) if switch => (Some(base.wrapping_add(size)), base),
            Some((base, _)) if on_stack => (None, base),
            _ => (None, 0),
        };
        FramePlace {
            handler: action.handler,
            return_to,
            top,
            floor,
            stack: state.reported_stack(sp),
        }
    };
    arch::push_frame(process, context, signal, info, mask, &place)
}

/// `sigaltstack(new, old)`: answers the alternate stack (`SS_ONSTACK`
/// while the caller runs on it, `SS_DISABLE` when there is none), and
/// sets `new`: `SS_DISABLE` removes it; flags 0 (or `SS_ONSTACK`, as
/// Linux accepts) set it.
///
/// Return values: `EPERM` while the caller runs on it; `EINVAL` for
/// other flags (`SS_AUTODISARM` is not implemented); `ENOMEM` for a
/// stack smaller than `MINSIGSTKSZ`; `EFAULT`.
pub fn signal_stack(
    process: &Process,
    context: &UserContext,
    new: u64,
    old: u64,
) -> Result<u64, Errno> {
    let sp = context.stack_pointer();
    let requested = if new != 0 {
        Some(SignalStack::decode(&read_array::<STACK_T_SIZE>(
            process, new,
        )?))
    } else {
        None
    };
    let previous = {
        let mut resources = process.resources.lock();
        let state = &mut resources.linux_signals;
        let previous = state.reported_stack(sp);
        if let Some(stack) = requested {
            if state.on_alternate_stack(sp) {
                return Err(Errno::NotPermitted);
            }
            state.alternate_stack = match stack.flags {
                signal_stack::DISABLE => None,
                0 | signal_stack::ON_STACK => {
                    if stack.size < signal_stack::minimum_size(ARCH) {
                        return Err(Errno::OutOfMemory);
                    }
                    Some((stack.base, stack.size))
                }
                _ => return Err(Errno::InvalidArgument),
            };
        }
        previous
    };
    if old != 0 {
        write_bytes(process, old, &previous.encode())?;
    }
    Ok(0)
}

/// `rt_sigreturn()`: back from a handler (see the module doc).
pub fn signal_return(process: &Process, context: &mut UserContext) -> Outcome {
    match arch::restore_frame(process, context) {
        Ok(mask) => {
            process.resources.lock().linux_signals.mask = mask.maskable();
            Outcome::Control(Continue::Resume)
        }
        Err(()) => {
            crate::logger::print_fmt(format_args!(
                "process {} ({}) killed: bad signal frame at rt_sigreturn\n",
                process.pid,
                process.name.lock()
            ));
            Outcome::Control(Continue::Exit(killed_by(Signal::SEGMENTATION_FAULT)))
        }
    }
}

#[cfg(target_arch = "aarch64")]
mod arch {
    use super::*;
    use linux_abi::layout::signal_frame::aarch64::{self as frame, Registers};

    pub fn push_frame(
        process: &Process,
        context: &mut UserContext,
        signal: Signal,
        info: &[u8; SIGINFO_SIZE],
        mask: SignalSet,
        place: &FramePlace,
    ) -> Result<(), &'static str> {
        let saved = context.signal_registers();
        let registers = Registers {
            x: saved.x,
            sp: saved.sp,
            pc: saved.pc,
            pstate: saved.pstate,
            fpsr: saved.fp_status,
            fpcr: saved.fp_control,
            vregs: saved.vector,
        };
        let record = place
            .top
            .unwrap_or(saved.sp)
            .checked_sub(frame::FRAME_RECORD_SIZE as u64)
            .ok_or("bad stack")?
            & !15;
        let start = record
            .checked_sub(frame::FRAME_SIZE as u64)
            .ok_or("bad stack")?
            & !15;
        if start < place.floor {
            return Err("no room on the alternate stack");
        }
        let bytes = frame::encode(info, &place.stack, mask, &registers);
        let mut pair = [0u8; 16];
        pair[..8].copy_from_slice(&saved.x[29].to_le_bytes());
        pair[8..].copy_from_slice(&saved.x[30].to_le_bytes());
        UserAccess::write(process, record, &pair).map_err(|_| "bad stack")?;
        UserAccess::write(process, start, &bytes).map_err(|_| "bad stack")?;
        let mut entry = saved;
        entry.x[0] = u64::from(signal.number());
        entry.x[1] = start;
        entry.x[2] = start + frame::UCONTEXT_OFFSET as u64;
        entry.x[29] = record;
        entry.x[30] = place.return_to;
        entry.sp = start;
        entry.pc = place.handler;
        context.set_signal_registers(&entry);
        Ok(())
    }

    /// Reads the frame at the stack pointer into the registers; returns
    /// the mask it holds.
    pub fn restore_frame(process: &Process, context: &mut UserContext) -> Result<SignalSet, ()> {
        let start = context.stack_pointer();
        if start % 16 != 0 {
            return Err(());
        }
        let bytes = UserAccess::read(process, start, frame::FRAME_SIZE as u64, frame::FRAME_SIZE)
            .map_err(|_| ())?;
        let (registers, mask) = frame::decode(&bytes).map_err(|_| ())?;
        context.set_signal_registers(&hal::SignalRegisters {
            x: registers.x,
            sp: registers.sp,
            pc: registers.pc,
            pstate: registers.pstate,
            fp_status: registers.fpsr,
            fp_control: registers.fpcr,
            vector: registers.vregs,
        });
        Ok(mask)
    }
}

#[cfg(target_arch = "x86_64")]
mod arch {
    use super::*;
    use linux_abi::layout::signal_frame::x86_64::{self as frame, index, Registers};

    /// Bytes below the stack pointer the ABI lets a function use
    /// without moving it (the red zone): the frame goes below them.
    const RED_ZONE: u64 = 128;
    /// RFLAGS bits a handler starts with cleared: TF, DF, RF.
    const HANDLER_CLEARED_FLAGS: u64 = (1 << 8) | (1 << 10) | (1 << 16);
    /// The user code and stack selectors of the hal's GDT, as reported
    /// in the frame (never loaded from it).
    const USER_CODE: u16 = 0x23;
    const USER_STACK: u16 = 0x1b;

    /// `hal`'s order (rax, rbx, rcx, rdx, rsi, rdi, rbp, r8–r15) to the
    /// frame's: for each of hal's registers, its index in the frame.
    const FRAME_INDEX: [usize; 15] = [
        index::RAX,
        index::RBX,
        index::RCX,
        index::RDX,
        index::RSI,
        index::RDI,
        index::RBP,
        index::R8,
        index::R9,
        index::R10,
        index::R11,
        index::R12,
        index::R13,
        index::R14,
        index::R15,
    ];

    pub fn push_frame(
        process: &Process,
        context: &mut UserContext,
        signal: Signal,
        info: &[u8; SIGINFO_SIZE],
        mask: SignalSet,
        place: &FramePlace,
    ) -> Result<(), &'static str> {
        let saved = context.signal_registers();
        // A switch to the alternate stack starts at its top; the red
        // zone belongs to the interrupted stack.
        let below = match place.top {
            Some(top) => top,
            None => saved.rsp.checked_sub(RED_ZONE).ok_or("bad stack")?,
        };
        let fpstate = below
            .checked_sub(frame::FPSTATE_SIZE as u64)
            .ok_or("bad stack")?
            & !63;
        // As after a `call`: the stack is 16-aligned plus the return
        // address (`pretcode`).
        let start = (fpstate
            .checked_sub(frame::FRAME_SIZE as u64)
            .ok_or("bad stack")?
            & !15)
            .checked_sub(8)
            .ok_or("bad stack")?;
        if start < place.floor {
            return Err("no room on the alternate stack");
        }
        let mut registers = Registers {
            rsp: saved.rsp,
            rip: saved.rip,
            rflags: saved.rflags,
            cs: USER_CODE,
            ss: USER_STACK,
            fpstate,
            ..Registers::default()
        };
        for (hal_index, value) in saved.general.iter().enumerate() {
            registers.general[FRAME_INDEX[hal_index]] = *value;
        }
        let bytes = frame::encode(place.return_to, info, &place.stack, mask, &registers);
        UserAccess::write(process, fpstate, &saved.fx).map_err(|_| "bad stack")?;
        UserAccess::write(process, start, &bytes).map_err(|_| "bad stack")?;
        let mut entry = saved;
        // rdi, rsi, rdx: the handler's arguments; rax 0 (no vector
        // registers used by a variadic call).
        entry.general[5] = u64::from(signal.number());
        entry.general[4] = start + frame::SIGINFO_OFFSET as u64;
        entry.general[3] = start + frame::UCONTEXT_OFFSET as u64;
        entry.general[0] = 0;
        entry.rsp = start;
        entry.rip = place.handler;
        entry.rflags &= !HANDLER_CLEARED_FLAGS;
        entry.fx = hal::initial_fx_state();
        context.set_signal_registers(&entry);
        Ok(())
    }

    /// Reads the frame below the stack pointer (the handler's `ret`
    /// popped `pretcode`) into the registers; returns the mask it holds.
    pub fn restore_frame(process: &Process, context: &mut UserContext) -> Result<SignalSet, ()> {
        let ucontext = context.stack_pointer();
        let bytes = UserAccess::read(
            process,
            ucontext,
            frame::UCONTEXT_SIZE as u64,
            frame::UCONTEXT_SIZE,
        )
        .map_err(|_| ())?;
        let (registers, mask) = frame::decode(&bytes).map_err(|_| ())?;
        let fx = if registers.fpstate == 0 {
            hal::initial_fx_state()
        } else {
            let bytes = UserAccess::read(
                process,
                registers.fpstate,
                frame::FPSTATE_SIZE as u64,
                frame::FPSTATE_SIZE,
            )
            .map_err(|_| ())?;
            let mut fx = [0u8; frame::FPSTATE_SIZE];
            fx.copy_from_slice(&bytes);
            fx
        };
        let mut general = [0u64; 15];
        for (hal_index, value) in general.iter_mut().enumerate() {
            *value = registers.general[FRAME_INDEX[hal_index]];
        }
        context.set_signal_registers(&hal::SignalRegisters {
            general,
            rsp: registers.rsp,
            rip: registers.rip,
            rflags: registers.rflags,
            fx,
        });
        Ok(mask)
    }
}

/// `rt_sigaction(signal, new, old, mask size)`: sets the action, answers
/// with the previous one. Setting `SIG_IGN`, or `SIG_DFL` of a signal
/// ignored by default, drops it if pending (as Linux).
pub fn signal_action(
    process: &Process,
    signal: u64,
    new: u64,
    old: u64,
    mask_size: u64,
) -> Result<u64, Errno> {
    if mask_size != SIGNAL_SET_SIZE as u64 {
        return Err(Errno::InvalidArgument);
    }
    let signal = Signal::from_number(signal).ok_or(Errno::InvalidArgument)?;
    let new = if new != 0 {
        if !signal.can_be_caught() {
            return Err(Errno::InvalidArgument);
        }
        let mut action = SignalAction::decode(&read_array::<SIGACTION_SIZE>(process, new)?);
        action.mask = action.mask.maskable();
        Some(action)
    } else {
        None
    };
    let previous = {
        let mut resources = process.resources.lock();
        let state = &mut resources.linux_signals;
        let previous = state.action(signal);
        if let Some(action) = new {
            state.set_action(signal, action)?;
            if state.ignores(signal) {
                state.pending = state.pending.without(signal);
            }
        }
        previous
    };
    if old != 0 {
        write_bytes(process, old, &previous.encode())?;
    }
    Ok(0)
}

/// `rt_sigprocmask(how, new, old, mask size)`: changes the mask
/// (`SIGKILL` and `SIGSTOP` never blocked), answers with the previous
/// one. Signals it unblocks are delivered on the way back.
pub fn signal_mask(
    process: &Process,
    how: u64,
    new: u64,
    old: u64,
    mask_size: u64,
) -> Result<u64, Errno> {
    if mask_size != SIGNAL_SET_SIZE as u64 {
        return Err(Errno::InvalidArgument);
    }
    let change = if new != 0 {
        let operation = MaskOperation::from_number(how).ok_or(Errno::InvalidArgument)?;
        let set = SignalSet(u64::from_le_bytes(read_array::<SIGNAL_SET_SIZE>(
            process, new,
        )?));
        Some((operation, set))
    } else {
        None
    };
    let previous = {
        let mut resources = process.resources.lock();
        let state = &mut resources.linux_signals;
        let previous = state.mask;
        if let Some((operation, set)) = change {
            let mask = match operation {
                MaskOperation::Block => SignalSet(previous.0 | set.0),
                MaskOperation::Unblock => SignalSet(previous.0 & !set.0),
                MaskOperation::Set => set,
            };
            state.mask = mask.maskable();
        }
        previous
    };
    if old != 0 {
        write_bytes(process, old, &previous.0.to_le_bytes())?;
    }
    Ok(0)
}

/// `rt_sigpending(set, mask size)`: the pending signals (all of them
/// blocked, or they would have been delivered).
pub fn signal_pending(process: &Process, set: u64, mask_size: u64) -> Result<u64, Errno> {
    if mask_size != SIGNAL_SET_SIZE as u64 {
        return Err(Errno::InvalidArgument);
    }
    let pending = process.resources.lock().linux_signals.pending;
    write_bytes(process, set, &pending.0.to_le_bytes())?;
    Ok(0)
}

/// `rt_sigsuspend(mask, mask size)`: waits with `mask` in place until a
/// signal it does not block arrives; always `EINTR`. The mask goes back
/// after the handler (it is the one saved in the handler's frame).
pub fn signal_suspend(process: &Arc<Process>, mask: u64, mask_size: u64) -> Result<u64, Errno> {
    if mask_size != SIGNAL_SET_SIZE as u64 {
        return Err(Errno::InvalidArgument);
    }
    let mask = SignalSet(u64::from_le_bytes(read_array::<SIGNAL_SET_SIZE>(
        process, mask,
    )?))
    .maskable();
    {
        let mut resources = process.resources.lock();
        let state = &mut resources.linux_signals;
        state.suspended_mask = Some(state.mask);
        state.mask = mask;
    }
    wait_for_signal(process);
    Err(Errno::Interrupted)
}

/// Blocks until `process` is killed or a signal its mask does not block
/// is pending (`rt_sigsuspend`, `pause`).
pub fn wait_for_signal(process: &Arc<Process>) {
    loop {
        let wait = with_scheduler(|_| {
            let resources = process.resources.lock();
            let wait = !interrupted(&resources);
            if wait {
                *process.state.lock() = ProcessState::Blocked;
            }
            wait
        });
        if !wait {
            return;
        }
        crate::scheduler::schedule();
    }
}

/// `kill(pid, signal)`: to the caller itself or a live descendant (the
/// native `kill`'s reach); process groups and "everyone" are not
/// reachable. Signal 0 only checks.
pub fn kill(process: &Process, pid: u64, signal: u64) -> Result<u64, Errno> {
    let target = match pid as i64 as i32 {
        value if value > 0 => value as u32,
        _ => return Err(Errno::NoSuchProcess),
    };
    send_to(process, target, signal, false)
}

/// `tkill(thread, signal)` and `tgkill(group, thread, signal)`: one
/// thread per process, so the thread is the process (and the group, if
/// named, must be the same).
pub fn thread_kill(
    process: &Process,
    group: Option<u64>,
    thread: u64,
    signal: u64,
) -> Result<u64, Errno> {
    let thread = match thread as i64 as i32 {
        value if value > 0 => value as u32,
        _ => return Err(Errno::InvalidArgument),
    };
    if group.is_some_and(|group| group as i64 as i32 != thread as i32) {
        return Err(Errno::NoSuchProcess);
    }
    send_to(process, thread, signal, true)
}

fn send_to(process: &Process, target: Pid, signal: u64, thread: bool) -> Result<u64, Errno> {
    match signal {
        0 => {
            if target != process.pid {
                super::native(crate::process::check_descendant(process.pid, target))?;
            }
        }
        number => {
            let signal = Signal::from_number(number).ok_or(Errno::InvalidArgument)?;
            send(process.pid, target, signal, thread)?;
        }
    }
    Ok(0)
}

/// A Linux call of `process` failed with `EPIPE` (a write to a pipe
/// nobody reads): `SIGPIPE`, whose default action ends the process; a
/// handler runs, and the call still returns `EPIPE`.
pub fn broken_pipe(process: &Process) {
    post(
        &mut process.resources.lock(),
        Signal::BROKEN_PIPE,
        Origin::Kernel,
    );
}

/// Ctrl-C for process `pid`: `SIGINT` if it made Linux calls (its
/// handler runs, or it ends with `SIGINT`'s status); `false` for a
/// native program, which the caller kills as before.
pub fn interrupt(pid: Pid) -> bool {
    with_scheduler(|scheduler| {
        let Some(process) = scheduler.processes.get(&pid) else {
            return false;
        };
        if matches!(*process.state.lock(), ProcessState::Zombie(_)) {
            return false;
        }
        let mut resources = process.resources.lock();
        if !resources.linux_signals.is_linux() {
            return false;
        }
        post(&mut resources, Signal::INTERRUPT, Origin::Kernel);
        drop(resources);
        scheduler.wake(pid);
        true
    })
}

/// A child ended with `status`: its parent gets `SIGCHLD` if both made
/// Linux calls (ignored unless the parent set a handler). Called with
/// the scheduler held, by the child's end.
pub fn child_ended(
    scheduler: &mut crate::scheduler::Scheduler,
    child: &Process,
    parent: Pid,
    status: i32,
) {
    if !child.resources.lock().linux_signals.is_linux() {
        return;
    }
    let Some(parent_process) = scheduler.processes.get(&parent) else {
        return;
    };
    let mut resources = parent_process.resources.lock();
    if !resources.linux_signals.is_linux() {
        return;
    }
    let (event, status) = match WaitStatus::from_raw(status) {
        WaitStatus::Exited(code) => (ChildEvent::Exited, i32::from(code)),
        WaitStatus::Killed(signal) => (ChildEvent::Killed, i32::from(signal)),
    };
    post(
        &mut resources,
        Signal::CHILD,
        Origin::Child {
            pid: child.pid,
            event,
            status,
        },
    );
}
