// SPDX-License-Identifier: MIT OR Apache-2.0
//! What `wait4` reports: the status word, its options, and `waitid`'s
//! id types and `si_code` values (`linux/wait.h`, `asm-generic/siginfo.h`;
//! the status encoding is what glibc's and musl's `WIFEXITED` and friends
//! decode).

use bitflags::bitflags;

use crate::signals::Signal;

/// The status word `wait4` stores.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WaitStatus(pub u32);

impl WaitStatus {
    /// The child called `exit(code)`: `WEXITSTATUS` is the low 8 bits.
    pub fn exited(code: u32) -> WaitStatus {
        WaitStatus((code & 0xff) << 8)
    }

    /// The child was killed by `signal` (`WTERMSIG`).
    pub fn signaled(signal: Signal) -> WaitStatus {
        WaitStatus(u32::from(signal.number()) & 0x7f)
    }

    /// Killed by `signal` with a core dump reported (`WCOREDUMP`).
    pub fn signaled_with_core_dump(signal: Signal) -> WaitStatus {
        WaitStatus(WaitStatus::signaled(signal).0 | 0x80)
    }

    /// The child stopped on `signal` (`WIFSTOPPED`, `WSTOPSIG`).
    pub fn stopped(signal: Signal) -> WaitStatus {
        WaitStatus((u32::from(signal.number()) << 8) | 0x7f)
    }

    /// The stopped child continued (`WIFCONTINUED`).
    pub const CONTINUED: WaitStatus = WaitStatus(0xffff);
}

bitflags! {
    /// `wait4`'s and `waitid`'s options.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct WaitOptions: u32 {
        /// `WNOHANG`: return 0 at once when no child has changed.
        const NO_HANG = 0x0000_0001;
        /// `WUNTRACED` (`WSTOPPED` for `waitid`): report stopped children.
        const UNTRACED = 0x0000_0002;
        /// `WEXITED` (`waitid`): report children that ended.
        const EXITED = 0x0000_0004;
        /// `WCONTINUED`: report continued children.
        const CONTINUED = 0x0000_0008;
        /// `WNOWAIT` (`waitid`): report without reaping.
        const NO_WAIT = 0x0100_0000;
        /// `__WNOTHREAD`: only this thread's children.
        const NO_THREAD = 0x2000_0000;
        /// `__WALL`: every child, whatever its exit signal.
        const ALL = 0x4000_0000;
        /// `__WCLONE`: only children whose exit signal is not `SIGCHLD`.
        const CLONE = 0x8000_0000;
    }
}

/// `waitid`'s `idtype`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitIdType {
    /// `P_ALL` (0): any child.
    All,
    /// `P_PID` (1): the child with this process id.
    Process,
    /// `P_PGID` (2): any child in this process group.
    ProcessGroup,
    /// `P_PIDFD` (3): the child this pidfd names.
    ProcessFd,
}

impl WaitIdType {
    /// The id type numbered `raw`, or `None` (`EINVAL`).
    pub fn from_number(raw: u64) -> Option<WaitIdType> {
        match raw {
            0 => Some(WaitIdType::All),
            1 => Some(WaitIdType::Process),
            2 => Some(WaitIdType::ProcessGroup),
            3 => Some(WaitIdType::ProcessFd),
            _ => None,
        }
    }
}

/// `si_code` of a `SIGCHLD` siginfo (`CLD_*`).
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChildEvent {
    /// `CLD_EXITED`: the child exited.
    Exited = 1,
    /// `CLD_KILLED`: the child was killed.
    Killed = 2,
    /// `CLD_DUMPED`: the child was killed and dumped core.
    Dumped = 3,
    /// `CLD_TRAPPED`: a traced child trapped.
    Trapped = 4,
    /// `CLD_STOPPED`: the child stopped.
    Stopped = 5,
    /// `CLD_CONTINUED`: the child continued.
    Continued = 6,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_decode_as_libc_macros_do() {
        let exited = WaitStatus::exited(0x1_2a).0;
        assert_eq!(exited & 0x7f, 0, "WIFEXITED");
        assert_eq!((exited >> 8) & 0xff, 0x2a, "WEXITSTATUS keeps 8 bits");
        let killed = WaitStatus::signaled(Signal::KILL).0;
        assert_eq!(killed & 0x7f, 9, "WTERMSIG");
        assert!(((killed & 0x7f) + 1) as i8 >> 1 > 0, "WIFSIGNALED");
        assert_eq!(WaitStatus::signaled_with_core_dump(Signal::ABORT).0, 0x86);
        let stopped = WaitStatus::stopped(Signal::TERMINAL_STOP).0;
        assert_eq!(stopped & 0xff, 0x7f, "WIFSTOPPED");
        assert_eq!(stopped >> 8, 20, "WSTOPSIG");
        assert_eq!(WaitIdType::from_number(2), Some(WaitIdType::ProcessGroup));
        assert_eq!(WaitIdType::from_number(4), None);
    }

    #[test]
    fn agrees_with_the_host_libc_macros() {
        let exited = WaitStatus::exited(3).0 as i32;
        assert!(libc::WIFEXITED(exited));
        assert_eq!(libc::WEXITSTATUS(exited), 3);
        let killed = WaitStatus::signaled(Signal::INTERRUPT).0 as i32;
        assert!(libc::WIFSIGNALED(killed) && !libc::WIFEXITED(killed));
        assert_eq!(libc::WTERMSIG(killed), libc::SIGINT);
        assert!(libc::WCOREDUMP(
            WaitStatus::signaled_with_core_dump(Signal::QUIT).0 as i32
        ));
        let stopped = WaitStatus::stopped(Signal::STOP).0 as i32;
        assert!(libc::WIFSTOPPED(stopped));
        assert_eq!(libc::WSTOPSIG(stopped), libc::SIGSTOP);
        assert!(libc::WIFCONTINUED(WaitStatus::CONTINUED.0 as i32));
        assert_eq!(WaitOptions::NO_HANG.bits() as i32, libc::WNOHANG);
        assert_eq!(WaitOptions::NO_WAIT.bits() as i32, libc::WNOWAIT);
    }
}
