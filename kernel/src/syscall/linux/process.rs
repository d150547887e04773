// SPDX-License-Identifier: MIT OR Apache-2.0
//! Linux's `exit`/`exit_group`, the signal calls that only record
//! (`rt_sigaction`, `rt_sigprocmask`: nothing is delivered yet),
//! `arch_prctl`'s thread pointer and `prctl`'s process name.

use super::{read_array, write_bytes, Outcome, ARCH};
use crate::process::{Continue, Process};
use alloc::vec::Vec;
use hal::user::{UserRegisters, USER_END};
use hal::UserContext;
use linux_abi::flags::process_control;
use linux_abi::layout::signal_action::{SignalAction, SIGACTION_SIZE};
use linux_abi::signals::{MaskOperation, Signal, SignalSet, SIGNAL_SET_SIZE};
use linux_abi::{Arch, Errno};
use manux_abi::wait_status::WaitStatus;

/// What a process recorded through the Linux signal calls. No signal is
/// delivered by this stage: the actions are kept so `rt_sigaction`
/// answers with the previous one, and the mask so `rt_sigprocmask` does.
#[derive(Default)]
pub struct SignalRecord {
    /// The blocked signals.
    mask: SignalSet,
    /// The actions set so far, by signal number (the others are
    /// `SIG_DFL`): only the signals a program names take room.
    actions: Vec<(u8, SignalAction)>,
}

impl SignalRecord {
    /// Whether `signal` takes its default action now: no handler set,
    /// not ignored, not blocked.
    fn takes_default_action(&self, signal: Signal) -> bool {
        !self.mask.contains(signal)
            && self
                .actions
                .iter()
                .find(|(number, _)| *number == signal.number())
                .is_none_or(|(_, action)| action.handler == linux_abi::signals::HANDLER_DEFAULT)
    }
}

/// A Linux call of `process` failed with `EPIPE` (a write to a pipe
/// nobody reads): as on Linux, `SIGPIPE` — whose default action ends the
/// process, its wait status naming the signal — unless the program
/// ignores, blocks or handles it, when the call's `EPIPE` is all it gets
/// (handlers are not run yet).
pub fn broken_pipe(process: &Process) {
    let mut resources = process.resources.lock();
    if resources
        .linux_signals
        .takes_default_action(Signal::BROKEN_PIPE)
        && !resources.killed
    {
        resources.killed = true;
        resources.killed_by = Signal::BROKEN_PIPE.number();
    }
}

/// `exit(status)` and `exit_group(status)`: with one thread per process,
/// both end it; the status is the low byte, as on Linux.
pub fn exit(status: u64) -> Outcome {
    Outcome::Control(Continue::Exit(WaitStatus::Exited(status as u8).to_raw()))
}

/// `rt_sigaction(signal, new, old, mask size)`: records `new`, answers
/// with the previous action.
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
        Some(SignalAction::decode(&read_array::<SIGACTION_SIZE>(
            process, new,
        )?))
    } else {
        None
    };
    let previous = {
        let mut resources = process.resources.lock();
        let actions = &mut resources.linux_signals.actions;
        let index = actions.iter().position(|(n, _)| *n == signal.number());
        let previous = index.map(|i| actions[i].1);
        if let Some(action) = new {
            match index {
                Some(i) => actions[i].1 = action,
                None => {
                    actions.try_reserve(1).map_err(|_| Errno::OutOfMemory)?;
                    actions.push((signal.number(), action));
                }
            }
        }
        previous
    };
    if old != 0 {
        let previous = previous.unwrap_or(SignalAction {
            handler: linux_abi::signals::HANDLER_DEFAULT,
            flags: linux_abi::signals::SignalActionFlags::empty(),
            restorer: 0,
            mask: SignalSet(0),
        });
        write_bytes(process, old, &previous.encode())?;
    }
    Ok(0)
}

/// `rt_sigprocmask(how, new, old, mask size)`: changes the recorded mask
/// (`SIGKILL` and `SIGSTOP` never blocked), answers with the previous one.
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
        let record = &mut resources.linux_signals;
        let previous = record.mask;
        if let Some((operation, set)) = change {
            let mask = match operation {
                MaskOperation::Block => SignalSet(previous.0 | set.0),
                MaskOperation::Unblock => SignalSet(previous.0 & !set.0),
                MaskOperation::Set => set,
            };
            record.mask = mask.maskable();
        }
        previous
    };
    if old != 0 {
        write_bytes(process, old, &previous.0.to_le_bytes())?;
    }
    Ok(0)
}

/// `arch_prctl` codes (x86_64's `asm/prctl.h`).
const ARCH_SET_FS: u64 = 0x1002;
const ARCH_GET_FS: u64 = 0x1003;

/// `arch_prctl(code, address)` (x86_64 only): `ARCH_SET_FS` sets the
/// thread pointer (`FS_BASE`, saved and restored with the process's
/// registers), `ARCH_GET_FS` reads it; other codes are `EINVAL`.
pub fn architecture_control(
    process: &Process,
    context: &mut UserContext,
    code: u64,
    address: u64,
) -> Result<u64, Errno> {
    if ARCH != Arch::X86_64 {
        return Err(Errno::NotImplemented);
    }
    match code {
        ARCH_SET_FS => {
            if address >= USER_END {
                return Err(Errno::NotPermitted);
            }
            context.set_thread_pointer(address);
            Ok(0)
        }
        ARCH_GET_FS => {
            write_bytes(process, address, &context.thread_pointer().to_le_bytes())?;
            Ok(0)
        }
        _ => Err(Errno::InvalidArgument),
    }
}

/// `prctl(option, argument, …)`: `PR_SET_NAME` sets the process's name
/// (what reports about it show, at most 15 bytes), `PR_GET_NAME` reads
/// it; other options are `EINVAL`.
pub fn process_control(process: &Process, option: u64, argument: u64) -> Result<u64, Errno> {
    match option {
        process_control::SET_NAME => {
            let name = super::native(crate::syscall::UserAccess::c_string(
                process,
                argument,
                process_control::NAME_BYTES,
            ))
            // A longer name is cut, as Linux cuts it.
            .or_else(|error| match error {
                Errno::NameTooLong => {
                    read_array::<{ process_control::NAME_BYTES }>(process, argument)
                        .map(|bytes| bytes[..process_control::NAME_BYTES - 1].to_vec())
                }
                other => Err(other),
            })?;
            let mut name = alloc::string::String::from_utf8_lossy(&name).into_owned();
            // The lossy decoding may have made the name longer: cut it
            // again, at a character boundary (`truncate` elsewhere panics).
            let mut end = name.len().min(process_control::NAME_BYTES - 1);
            while !name.is_char_boundary(end) {
                end -= 1;
            }
            name.truncate(end);
            *process.name.lock() = name;
            Ok(0)
        }
        process_control::GET_NAME => {
            let name = process.name.lock().clone();
            write_bytes(
                process,
                argument,
                &process_control::encode_name(name.as_bytes()),
            )?;
            Ok(0)
        }
        _ => Err(Errno::InvalidArgument),
    }
}
