// SPDX-License-Identifier: MIT OR Apache-2.0
//! Linux's process family: `execve`, `vfork` and `clone(CLONE_VM |
//! CLONE_VFORK)`, `fork`, `wait4`.
//!
//! - `execve` is the native one ([`sys_process::replace_program`]) with
//!   Linux's NUL-terminated strings and arrays; descriptors marked
//!   close-on-exec are closed there, for both personalities.
//! - `vfork`, and `clone(CLONE_VM | CLONE_VFORK)` (what glibc's and musl's
//!   `posix_spawn`, `system` and `popen` use), lend the parent's memory to
//!   the child until it execs or exits ([`process::vfork`]): no copy, no
//!   second address space, charged to the parent all along. A stack
//!   argument starts the child on that stack; `CLONE_PARENT_SETTID` and
//!   `CLONE_CHILD_SETTID` store its pid; `CLONE_CHILD_CLEARTID` is
//!   accepted and ignored (nobody waits on that address without threads).
//! - A `fork` (`clone` without `CLONE_VM`, x86_64's `fork`) copies the
//!   memory of a fixed-address program ([`process::fork`]): its private
//!   window is the one place two processes may use the same addresses
//!   (DESIGN §3's exception). Any other program's fork would need a copy
//!   of an address space in the one shared space: refused with `ENOSYS`,
//!   logged once. Threads (`CLONE_THREAD`…) and namespaces are refused
//!   the same way; contradictory flags are `EINVAL`.
//! - `wait4` reaps any child (`pid` -1, 0 or a negative group: every child
//!   is in its parent's group) or one, blocking unless `WNOHANG`; the
//!   status word is Linux's (the kernel's own encoding is the same:
//!   `code << 8`, or the signal number that ended it); a `rusage` is
//!   zeroed.
//! - `kill` is with the other signal calls ([`super::signals`]).

use super::{read_array, write_bytes, Outcome, ARCH};
use crate::process::{self, Continue, Process};
use crate::syscall::sys_process;
use crate::syscall::UserAccess;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};
use hal::user::UserRegisters;
use hal::UserContext;
use linux_abi::flags::clone::{ChildSetup, CloneArguments, CloneClass, CloneRefusal};
use linux_abi::wait_status::WaitOptions;
use linux_abi::Errno;
use manux_abi::limits;

/// Bytes of `struct rusage` on both 64-bit ABIs.
const RUSAGE_BYTES: usize = 144;

/// Copies in the NULL-terminated array of strings at `address` (none
/// when `address` is 0), their bytes counted against `budget`.
///
/// Return values: `BadAddress`; `ArgumentListTooLong` past
/// [`limits::ARGUMENTS`] strings or the budget.
fn c_strings(process: &Process, address: u64, budget: &mut usize) -> Result<Vec<Vec<u8>>, Errno> {
    let mut strings = Vec::new();
    if address == 0 {
        return Ok(strings);
    }
    for index in 0..=limits::ARGUMENTS as u64 {
        let slot = address.checked_add(index * 8).ok_or(Errno::BadAddress)?;
        let pointer = u64::from_le_bytes(read_array::<8>(process, slot)?);
        if pointer == 0 {
            return Ok(strings);
        }
        // The string and its NUL must fit what is left of the budget.
        let string =
            UserAccess::c_string(process, pointer, *budget).map_err(|error| match error {
                manux_abi::Errno::NameTooLong => Errno::ArgumentsTooLong,
                other => Errno::from(other),
            })?;
        *budget -= string.len() + 1;
        strings.try_reserve(1).map_err(|_| Errno::OutOfMemory)?;
        strings.push(string);
    }
    Err(Errno::ArgumentsTooLong)
}

/// `execve(path, argv, envp)`.
pub fn execute(process: &Arc<Process>, path: u64, argv: u64, envp: u64) -> Outcome {
    let result = (|| {
        let path = super::path(process, path)?;
        let mut budget = limits::ARGUMENT_BYTES;
        let arguments = c_strings(process, argv, &mut budget)?;
        let environment = c_strings(process, envp, &mut budget)?;
        super::native(sys_process::replace_program(
            process,
            &path,
            &arguments,
            &environment,
        ))
    })();
    match result {
        Ok(context) => Outcome::Control(Continue::Replace(context)),
        Err(error) => Outcome::Value(Err(error)),
    }
}

/// Logs `message` the first time `flag` is passed.
fn log_once(flag: &AtomicBool, message: &str) {
    if !flag.swap(true, Ordering::Relaxed) {
        log::warn!("linux: {message}");
    }
}

static FORK_LOGGED: AtomicBool = AtomicBool::new(false);
static THREAD_LOGGED: AtomicBool = AtomicBool::new(false);

/// `clone(flags, stack, parent_tid, child_tid or tls, tls or child_tid)`.
pub fn clone(process: &Arc<Process>, context: &UserContext, a: [u64; 6]) -> Outcome {
    let arguments = CloneArguments::from_registers(ARCH, [a[0], a[1], a[2], a[3], a[4]]);
    match arguments.classify() {
        CloneClass::Vfork(setup) => lend(process, context, setup).into(),
        CloneClass::Fork(setup) => fork(process, context, setup),
        CloneClass::Unsupported(CloneRefusal::Thread(_) | CloneRefusal::Namespace(_)) => {
            log_once(
                &THREAD_LOGGED,
                "clone of a thread or into namespaces: ENOSYS (processes only)",
            );
            Outcome::Value(Err(Errno::NotImplemented))
        }
        CloneClass::Unsupported(_) => Outcome::Value(Err(Errno::InvalidArgument)),
    }
}

/// `vfork()` (x86_64's call): `clone(CLONE_VM | CLONE_VFORK | SIGCHLD)`.
pub fn vfork(process: &Arc<Process>, context: &UserContext) -> Outcome {
    let setup = ChildSetup {
        stack: None,
        store_tid_in_parent: None,
        store_tid_in_child: None,
        clear_tid_on_exit: None,
    };
    lend(process, context, setup).into()
}

/// `fork()` (x86_64's call): `clone(SIGCHLD)`.
pub fn fork_call(process: &Arc<Process>, context: &UserContext) -> Outcome {
    let setup = ChildSetup {
        stack: None,
        store_tid_in_parent: None,
        store_tid_in_child: None,
        clear_tid_on_exit: None,
    };
    fork(process, context, setup)
}

/// The registers a new child starts from: the caller's at its system
/// call, the call returning 0, on `setup`'s stack if it names one.
fn child_registers(context: &UserContext, setup: &ChildSetup) -> UserContext {
    let mut child = context.clone();
    child.set_system_call_result(0);
    if let Some(stack) = setup.stack {
        child.set_stack_pointer(stack);
    }
    child
}

/// `fork`, and `clone` without `CLONE_VM`: a copy of a fixed-address
/// program; refused for any other (see the module doc).
fn fork(process: &Arc<Process>, context: &UserContext, setup: ChildSetup) -> Outcome {
    let child = child_registers(context, &setup);
    let result = (|| {
        if let Some(address) = setup.store_tid_in_parent {
            super::native(UserAccess::check_writable(process, address, 4))?;
        }
        let pid = match process::fork(process, child) {
            Err(manux_abi::Errno::NotImplemented) => {
                log_once(
                    &FORK_LOGGED,
                    "fork outside the fixed-address window (a copy of an address space in the \
                     shared one) is refused: ENOSYS; vfork and posix_spawn work",
                );
                return Err(Errno::NotImplemented);
            }
            other => super::native(other)?,
        };
        if let Some(address) = setup.store_tid_in_parent {
            write_bytes(process, address, &pid.to_le_bytes())?;
        }
        if let Some(address) = setup.store_tid_in_child {
            // Its memory is a copy: written before it first runs. A bad
            // address there is the child's own fault to meet.
            let _ =
                process::with_memory_of(pid, |memory| memory.copy_out(address, &pid.to_le_bytes()));
        }
        Ok(u64::from(pid))
    })();
    Outcome::Value(result)
}

/// Starts a child in `process`'s memory from `context` (result 0, on
/// `setup`'s stack if it names one); returns its pid once the memory is
/// back.
fn lend(process: &Arc<Process>, context: &UserContext, setup: ChildSetup) -> Result<u64, Errno> {
    let child = child_registers(context, &setup);
    // The tid stores, checked before anything starts: a bad pointer is
    // `EFAULT` and no child.
    for address in [setup.store_tid_in_parent, setup.store_tid_in_child]
        .into_iter()
        .flatten()
    {
        super::native(UserAccess::check_writable(process, address, 4))?;
    }
    let pid = super::native(process::vfork(process, child))?;
    // The memory is the parent's again: both stores land in it.
    for address in [setup.store_tid_in_parent, setup.store_tid_in_child]
        .into_iter()
        .flatten()
    {
        write_bytes(process, address, &pid.to_le_bytes())?;
    }
    Ok(u64::from(pid))
}

/// `wait4(pid, status, options, rusage)`.
pub fn wait(
    process: &Arc<Process>,
    pid: u64,
    status: u64,
    options: u64,
    usage: u64,
) -> Result<u64, Errno> {
    let options = WaitOptions::from_bits(options as u32)
        .filter(|_| options <= u64::from(u32::MAX))
        .ok_or(Errno::InvalidArgument)?;
    let wanted = match pid as i64 as i32 {
        // Any child: -1, or a process group (every child is in its
        // parent's group).
        value if value <= 0 => None,
        value => Some(value as u32),
    };
    let block = !options.contains(WaitOptions::NO_HANG);
    let Some((child, code)) = super::native(process::wait_once(process, wanted, block))? else {
        return Ok(0);
    };
    if status != 0 {
        write_bytes(process, status, &code.to_le_bytes())?;
    }
    if usage != 0 {
        write_bytes(process, usage, &[0; RUSAGE_BYTES])?;
    }
    Ok(u64::from(child))
}
