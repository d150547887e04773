// SPDX-License-Identifier: MIT OR Apache-2.0
//! `clone` flags and what a `clone` request asks for.
//!
//! Flag values are `linux/sched.h`'s, the same on both architectures.
//! The argument order is not: x86_64 passes
//! `clone(flags, stack, parent_tid, child_tid, tls)`, AArch64 (Linux's
//! `CONFIG_CLONE_BACKWARDS`) `clone(flags, stack, parent_tid, tls,
//! child_tid)` — as glibc's and musl's `clone.S`/`clone.s` for each
//! architecture pass them.
//!
//! Manux has processes, not threads: [`CloneArguments::classify`] accepts
//! a fork (`clone(SIGCHLD)`, with glibc's tid bookkeeping flags) and a
//! vfork (`CLONE_VM | CLONE_VFORK | SIGCHLD`, what `posix_spawn`, `system`
//! and `popen` use) and says why it refuses anything else. `clone3` is not
//! decoded: the kernel answers it `ENOSYS`, and glibc then falls back to
//! `clone`.

use bitflags::bitflags;

use crate::signals::Signal;
use crate::Arch;

bitflags! {
    /// `CLONE_*` flags (bits 8–31 of `clone`'s first argument; the low
    /// byte is the exit signal, `CSIGNAL`).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct CloneFlags: u64 {
        /// `CLONE_VM`: share the address space.
        const VM = 0x0000_0100;
        /// `CLONE_FS`: share root, cwd and umask.
        const FS = 0x0000_0200;
        /// `CLONE_FILES`: share the fd table.
        const FILES = 0x0000_0400;
        /// `CLONE_SIGHAND`: share signal handlers.
        const SIGHAND = 0x0000_0800;
        /// `CLONE_PIDFD`: return a pidfd.
        const PIDFD = 0x0000_1000;
        /// `CLONE_PTRACE`: trace the child too.
        const PTRACE = 0x0000_2000;
        /// `CLONE_VFORK`: the parent waits until the child execs or exits.
        const VFORK = 0x0000_4000;
        /// `CLONE_PARENT`: the child's parent is the caller's parent.
        const PARENT = 0x0000_8000;
        /// `CLONE_THREAD`: same thread group (a thread).
        const THREAD = 0x0001_0000;
        /// `CLONE_NEWNS`: new mount namespace.
        const NEW_MOUNT_NAMESPACE = 0x0002_0000;
        /// `CLONE_SYSVSEM`: share System V semaphore undo lists.
        const SYSV_SEMAPHORES = 0x0004_0000;
        /// `CLONE_SETTLS`: the child's thread pointer is the tls argument.
        const SET_TLS = 0x0008_0000;
        /// `CLONE_PARENT_SETTID`: store the child's tid at parent_tid.
        const PARENT_SET_TID = 0x0010_0000;
        /// `CLONE_CHILD_CLEARTID`: zero child_tid (and futex-wake it) when
        /// the child exits.
        const CHILD_CLEAR_TID = 0x0020_0000;
        /// `CLONE_DETACHED`: ignored by Linux.
        const DETACHED = 0x0040_0000;
        /// `CLONE_UNTRACED`: no forced tracing.
        const UNTRACED = 0x0080_0000;
        /// `CLONE_CHILD_SETTID`: store the child's tid at child_tid in
        /// the child.
        const CHILD_SET_TID = 0x0100_0000;
        /// `CLONE_NEWCGROUP`.
        const NEW_CGROUP_NAMESPACE = 0x0200_0000;
        /// `CLONE_NEWUTS`.
        const NEW_UTS_NAMESPACE = 0x0400_0000;
        /// `CLONE_NEWIPC`.
        const NEW_IPC_NAMESPACE = 0x0800_0000;
        /// `CLONE_NEWUSER`.
        const NEW_USER_NAMESPACE = 0x1000_0000;
        /// `CLONE_NEWPID`.
        const NEW_PID_NAMESPACE = 0x2000_0000;
        /// `CLONE_NEWNET`.
        const NEW_NETWORK_NAMESPACE = 0x4000_0000;
        /// `CLONE_IO`: share the I/O context.
        const IO = 0x8000_0000;
    }
}

/// `CSIGNAL`: the exit-signal byte of `clone`'s flags.
const EXIT_SIGNAL_MASK: u64 = 0xff;

/// Flags a fork or vfork may carry: glibc's `fork` sets the tid pair;
/// `CLONE_DETACHED` and `CLONE_UNTRACED` change nothing here.
const ACCEPTED: CloneFlags = CloneFlags::VM
    .union(CloneFlags::VFORK)
    .union(CloneFlags::PARENT_SET_TID)
    .union(CloneFlags::CHILD_SET_TID)
    .union(CloneFlags::CHILD_CLEAR_TID)
    .union(CloneFlags::DETACHED)
    .union(CloneFlags::UNTRACED);

/// Flags that make a thread rather than a process.
const THREAD_FLAGS: CloneFlags = CloneFlags::THREAD
    .union(CloneFlags::SIGHAND)
    .union(CloneFlags::FILES)
    .union(CloneFlags::FS)
    .union(CloneFlags::SET_TLS)
    .union(CloneFlags::SYSV_SEMAPHORES)
    .union(CloneFlags::IO);

/// Flags that make new namespaces.
const NAMESPACE_FLAGS: CloneFlags = CloneFlags::NEW_MOUNT_NAMESPACE
    .union(CloneFlags::NEW_CGROUP_NAMESPACE)
    .union(CloneFlags::NEW_UTS_NAMESPACE)
    .union(CloneFlags::NEW_IPC_NAMESPACE)
    .union(CloneFlags::NEW_USER_NAMESPACE)
    .union(CloneFlags::NEW_PID_NAMESPACE)
    .union(CloneFlags::NEW_NETWORK_NAMESPACE);

/// `clone`'s five arguments, named.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CloneArguments {
    /// Flags and, in the low byte, the exit signal.
    pub flags: u64,
    /// The child's stack pointer; 0 for the caller's.
    pub stack: u64,
    /// Where `CLONE_PARENT_SETTID` stores the child's tid.
    pub parent_tid: u64,
    /// Where `CLONE_CHILD_SETTID`/`CLONE_CHILD_CLEARTID` work.
    pub child_tid: u64,
    /// The child's thread pointer with `CLONE_SETTLS`.
    pub tls: u64,
}

/// What the child of an accepted clone needs set up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChildSetup {
    /// The child's stack pointer, or `None` to keep the caller's.
    pub stack: Option<u64>,
    /// `CLONE_PARENT_SETTID`: store the child's tid here (in the parent).
    pub store_tid_in_parent: Option<u64>,
    /// `CLONE_CHILD_SETTID`: store the child's tid here, in the child.
    pub store_tid_in_child: Option<u64>,
    /// `CLONE_CHILD_CLEARTID`: the child's `set_tid_address`.
    pub clear_tid_on_exit: Option<u64>,
}

/// Why a clone request is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloneRefusal {
    /// Flags that make a thread (`CLONE_THREAD`, `CLONE_SIGHAND`,
    /// `CLONE_FILES`, `CLONE_FS`, `CLONE_SETTLS`, …): no threads yet.
    Thread(CloneFlags),
    /// Flags that make namespaces: domains are Manux's isolation.
    Namespace(CloneFlags),
    /// Other flags Manux does not offer (`CLONE_PARENT`, `CLONE_PTRACE`,
    /// `CLONE_PIDFD`), or bits Linux does not define.
    OtherFlags(u64),
    /// `CLONE_VM` without `CLONE_VFORK`: two processes running in one
    /// memory at once.
    SharedMemoryWithoutVfork,
    /// `CLONE_VFORK` without `CLONE_VM`.
    VforkWithoutSharedMemory,
    /// An exit signal other than `SIGCHLD` (0 included).
    ExitSignal(u8),
}

/// What a clone request is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloneClass {
    /// A vfork: the child borrows the parent's memory; the parent waits
    /// until the child execs or exits.
    Vfork(ChildSetup),
    /// A fork: the child gets a copy of the parent's memory.
    Fork(ChildSetup),
    /// Refused, with the reason (the kernel answers `EINVAL` or `ENOSYS`
    /// and logs the reason once).
    Unsupported(CloneRefusal),
}

impl CloneArguments {
    /// Names the five argument registers as `arch` orders them.
    pub fn from_registers(arch: Arch, registers: [u64; 5]) -> CloneArguments {
        let [flags, stack, parent_tid, fourth, fifth] = registers;
        let (child_tid, tls) = match arch {
            Arch::X86_64 => (fourth, fifth),
            Arch::Aarch64 => (fifth, fourth),
        };
        CloneArguments {
            flags,
            stack,
            parent_tid,
            child_tid,
            tls,
        }
    }

    /// Classifies the request.
    pub fn classify(&self) -> CloneClass {
        let exit_signal = (self.flags & EXIT_SIGNAL_MASK) as u8;
        let flags = CloneFlags::from_bits_retain(self.flags & !EXIT_SIGNAL_MASK);
        let thread = flags & THREAD_FLAGS;
        if !thread.is_empty() {
            return CloneClass::Unsupported(CloneRefusal::Thread(thread));
        }
        let namespace = flags & NAMESPACE_FLAGS;
        if !namespace.is_empty() {
            return CloneClass::Unsupported(CloneRefusal::Namespace(namespace));
        }
        let other = flags.bits() & !ACCEPTED.bits();
        if other != 0 {
            return CloneClass::Unsupported(CloneRefusal::OtherFlags(other));
        }
        if exit_signal != Signal::CHILD.number() {
            return CloneClass::Unsupported(CloneRefusal::ExitSignal(exit_signal));
        }
        let given = |flag: CloneFlags, address: u64| flags.contains(flag).then_some(address);
        let setup = ChildSetup {
            stack: (self.stack != 0).then_some(self.stack),
            store_tid_in_parent: given(CloneFlags::PARENT_SET_TID, self.parent_tid),
            store_tid_in_child: given(CloneFlags::CHILD_SET_TID, self.child_tid),
            clear_tid_on_exit: given(CloneFlags::CHILD_CLEAR_TID, self.child_tid),
        };
        match (
            flags.contains(CloneFlags::VM),
            flags.contains(CloneFlags::VFORK),
        ) {
            (true, true) => CloneClass::Vfork(setup),
            (false, false) => CloneClass::Fork(setup),
            (true, false) => CloneClass::Unsupported(CloneRefusal::SharedMemoryWithoutVfork),
            (false, true) => CloneClass::Unsupported(CloneRefusal::VforkWithoutSharedMemory),
        }
    }
}

impl CloneClass {
    /// What x86_64's `fork()` call is.
    pub fn fork_call() -> CloneClass {
        CloneClass::Fork(ChildSetup::same_stack())
    }

    /// What x86_64's `vfork()` call is.
    pub fn vfork_call() -> CloneClass {
        CloneClass::Vfork(ChildSetup::same_stack())
    }
}

impl ChildSetup {
    fn same_stack() -> ChildSetup {
        ChildSetup {
            stack: None,
            store_tid_in_parent: None,
            store_tid_in_child: None,
            clear_tid_on_exit: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIGCHLD: u64 = 17;

    fn classify(flags: u64) -> CloneClass {
        CloneArguments {
            flags,
            stack: 0,
            parent_tid: 0x1000,
            child_tid: 0x2000,
            tls: 0x3000,
        }
        .classify()
    }

    #[test]
    fn flag_values_match_the_host_libc() {
        let host = [
            (CloneFlags::VM, libc::CLONE_VM),
            (CloneFlags::FS, libc::CLONE_FS),
            (CloneFlags::FILES, libc::CLONE_FILES),
            (CloneFlags::SIGHAND, libc::CLONE_SIGHAND),
            (CloneFlags::PIDFD, libc::CLONE_PIDFD),
            (CloneFlags::PTRACE, libc::CLONE_PTRACE),
            (CloneFlags::VFORK, libc::CLONE_VFORK),
            (CloneFlags::PARENT, libc::CLONE_PARENT),
            (CloneFlags::THREAD, libc::CLONE_THREAD),
            (CloneFlags::NEW_MOUNT_NAMESPACE, libc::CLONE_NEWNS),
            (CloneFlags::SYSV_SEMAPHORES, libc::CLONE_SYSVSEM),
            (CloneFlags::SET_TLS, libc::CLONE_SETTLS),
            (CloneFlags::PARENT_SET_TID, libc::CLONE_PARENT_SETTID),
            (CloneFlags::CHILD_CLEAR_TID, libc::CLONE_CHILD_CLEARTID),
            (CloneFlags::DETACHED, libc::CLONE_DETACHED),
            (CloneFlags::UNTRACED, libc::CLONE_UNTRACED),
            (CloneFlags::CHILD_SET_TID, libc::CLONE_CHILD_SETTID),
            (CloneFlags::NEW_CGROUP_NAMESPACE, libc::CLONE_NEWCGROUP),
            (CloneFlags::NEW_UTS_NAMESPACE, libc::CLONE_NEWUTS),
            (CloneFlags::NEW_IPC_NAMESPACE, libc::CLONE_NEWIPC),
            (CloneFlags::NEW_USER_NAMESPACE, libc::CLONE_NEWUSER),
            (CloneFlags::NEW_PID_NAMESPACE, libc::CLONE_NEWPID),
            (CloneFlags::NEW_NETWORK_NAMESPACE, libc::CLONE_NEWNET),
            (CloneFlags::IO, libc::CLONE_IO),
        ];
        for (flag, value) in host {
            assert_eq!(flag.bits(), value as u32 as u64, "{flag:?}");
        }
    }

    #[test]
    fn what_the_libcs_ask_for() {
        // musl's fork (and its AArch64 vfork): clone(SIGCHLD).
        assert_eq!(classify(SIGCHLD), CloneClass::fork_call());
        // glibc's fork: the tid pair for its thread descriptor.
        let glibc_fork = CloneFlags::CHILD_SET_TID | CloneFlags::CHILD_CLEAR_TID;
        match classify(glibc_fork.bits() | SIGCHLD) {
            CloneClass::Fork(setup) => {
                assert_eq!(setup.store_tid_in_child, Some(0x2000));
                assert_eq!(setup.clear_tid_on_exit, Some(0x2000));
                assert_eq!(setup.store_tid_in_parent, None);
                assert_eq!(setup.stack, None);
            }
            other => panic!("glibc fork is a fork, not {other:?}"),
        }
        // posix_spawn, system, popen (both libcs).
        let spawn = (CloneFlags::VM | CloneFlags::VFORK).bits() | SIGCHLD;
        assert!(matches!(classify(spawn), CloneClass::Vfork(_)));
    }

    #[test]
    fn refusals_say_why() {
        let thread = CloneFlags::VM
            | CloneFlags::FS
            | CloneFlags::FILES
            | CloneFlags::SIGHAND
            | CloneFlags::THREAD
            | CloneFlags::SYSV_SEMAPHORES
            | CloneFlags::SET_TLS
            | CloneFlags::PARENT_SET_TID
            | CloneFlags::CHILD_CLEAR_TID;
        assert!(matches!(
            classify(thread.bits()),
            CloneClass::Unsupported(CloneRefusal::Thread(_))
        ));
        assert_eq!(
            classify(CloneFlags::NEW_PID_NAMESPACE.bits() | SIGCHLD),
            CloneClass::Unsupported(CloneRefusal::Namespace(CloneFlags::NEW_PID_NAMESPACE))
        );
        assert_eq!(
            classify(CloneFlags::VM.bits() | SIGCHLD),
            CloneClass::Unsupported(CloneRefusal::SharedMemoryWithoutVfork)
        );
        assert_eq!(
            classify(CloneFlags::VFORK.bits() | SIGCHLD),
            CloneClass::Unsupported(CloneRefusal::VforkWithoutSharedMemory)
        );
        assert_eq!(
            classify(0),
            CloneClass::Unsupported(CloneRefusal::ExitSignal(0))
        );
        assert_eq!(
            classify(CloneFlags::PARENT.bits() | SIGCHLD),
            CloneClass::Unsupported(CloneRefusal::OtherFlags(CloneFlags::PARENT.bits()))
        );
        assert_eq!(
            classify(1 << 40 | SIGCHLD),
            CloneClass::Unsupported(CloneRefusal::OtherFlags(1 << 40))
        );
    }

    #[test]
    fn register_order_differs_per_architecture() {
        let registers = [SIGCHLD, 0x10, 0x20, 0x30, 0x40];
        let x86 = CloneArguments::from_registers(Arch::X86_64, registers);
        assert_eq!((x86.child_tid, x86.tls), (0x30, 0x40));
        let arm = CloneArguments::from_registers(Arch::Aarch64, registers);
        assert_eq!((arm.child_tid, arm.tls), (0x40, 0x30));
        assert_eq!(
            (arm.flags, arm.stack, arm.parent_tid),
            (SIGCHLD, 0x10, 0x20)
        );
    }
}
