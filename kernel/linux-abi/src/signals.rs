// SPDX-License-Identifier: MIT OR Apache-2.0
//! Signals: numbers, default actions, signal sets, `rt_sigaction` flags
//! and `rt_sigprocmask` operations.
//!
//! AArch64 (`asm-generic/signal.h`) and x86_64 (`asm/signal.h`) number
//! the signals alike, 1–31 standard and 32–64 real-time; the kernel's
//! `sigset_t` is one 64-bit word on both. Checked against both headers by
//! `tests/linux_headers.rs`. Default actions are signal(7)'s table.

use bitflags::bitflags;

/// What a signal does to a process that neither catches nor ignores it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefaultAction {
    /// The process ends, killed by the signal.
    Terminate,
    /// The process ends as by [`DefaultAction::Terminate`], and the wait
    /// status says a core was dumped (Manux writes none).
    CoreDump,
    /// Nothing happens.
    Ignore,
    /// The process stops until `SIGCONT`.
    Stop,
    /// A stopped process continues; otherwise nothing.
    Continue,
}

/// A signal number, 1–64 (`_NSIG` is 64 on both architectures).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Signal(u8);

impl Signal {
    /// `SIGHUP` (1).
    pub const HANGUP: Signal = Signal(1);
    /// `SIGINT` (2).
    pub const INTERRUPT: Signal = Signal(2);
    /// `SIGQUIT` (3).
    pub const QUIT: Signal = Signal(3);
    /// `SIGILL` (4).
    pub const ILLEGAL_INSTRUCTION: Signal = Signal(4);
    /// `SIGTRAP` (5).
    pub const TRAP: Signal = Signal(5);
    /// `SIGABRT` (6).
    pub const ABORT: Signal = Signal(6);
    /// `SIGBUS` (7).
    pub const BUS_ERROR: Signal = Signal(7);
    /// `SIGFPE` (8).
    pub const ARITHMETIC_ERROR: Signal = Signal(8);
    /// `SIGKILL` (9).
    pub const KILL: Signal = Signal(9);
    /// `SIGUSR1` (10).
    pub const USER_1: Signal = Signal(10);
    /// `SIGSEGV` (11).
    pub const SEGMENTATION_FAULT: Signal = Signal(11);
    /// `SIGUSR2` (12).
    pub const USER_2: Signal = Signal(12);
    /// `SIGPIPE` (13).
    pub const BROKEN_PIPE: Signal = Signal(13);
    /// `SIGALRM` (14).
    pub const ALARM: Signal = Signal(14);
    /// `SIGTERM` (15).
    pub const TERMINATE: Signal = Signal(15);
    /// `SIGSTKFLT` (16).
    pub const STACK_FAULT: Signal = Signal(16);
    /// `SIGCHLD` (17).
    pub const CHILD: Signal = Signal(17);
    /// `SIGCONT` (18).
    pub const CONTINUE: Signal = Signal(18);
    /// `SIGSTOP` (19).
    pub const STOP: Signal = Signal(19);
    /// `SIGTSTP` (20).
    pub const TERMINAL_STOP: Signal = Signal(20);
    /// `SIGTTIN` (21).
    pub const TERMINAL_INPUT: Signal = Signal(21);
    /// `SIGTTOU` (22).
    pub const TERMINAL_OUTPUT: Signal = Signal(22);
    /// `SIGURG` (23).
    pub const URGENT: Signal = Signal(23);
    /// `SIGXCPU` (24).
    pub const CPU_LIMIT: Signal = Signal(24);
    /// `SIGXFSZ` (25).
    pub const FILE_SIZE_LIMIT: Signal = Signal(25);
    /// `SIGVTALRM` (26).
    pub const VIRTUAL_ALARM: Signal = Signal(26);
    /// `SIGPROF` (27).
    pub const PROFILING_ALARM: Signal = Signal(27);
    /// `SIGWINCH` (28).
    pub const WINDOW_CHANGE: Signal = Signal(28);
    /// `SIGIO` (29).
    pub const IO_POSSIBLE: Signal = Signal(29);
    /// `SIGPWR` (30).
    pub const POWER_FAILURE: Signal = Signal(30);
    /// `SIGSYS` (31).
    pub const BAD_SYSTEM_CALL: Signal = Signal(31);
    /// `SIGRTMIN`: the first real-time signal, as the kernel numbers
    /// them (libcs reserve the first two or three for themselves).
    pub const FIRST_REAL_TIME: Signal = Signal(32);
    /// `SIGRTMAX` (`_NSIG`), the last signal.
    pub const LAST: Signal = Signal(64);

    /// The signal numbered `number`, or `None` outside 1–64 (0 is "no
    /// signal": `kill(pid, 0)` only checks that `pid` exists).
    pub fn from_number(number: u64) -> Option<Signal> {
        match u8::try_from(number) {
            Ok(number @ 1..=64) => Some(Signal(number)),
            _ => None,
        }
    }

    /// Linux's number for the signal.
    pub fn number(self) -> u8 {
        self.0
    }

    /// What the signal does when not caught or ignored: signal(7); every
    /// real-time signal terminates.
    pub fn default_action(self) -> DefaultAction {
        STANDARD
            .iter()
            .find(|(signal, ..)| *signal == self)
            .map_or(DefaultAction::Terminate, |&(_, _, action)| action)
    }

    /// Whether a handler, an ignore or a mask can apply: not for
    /// `SIGKILL` and `SIGSTOP`.
    pub fn can_be_caught(self) -> bool {
        self != Signal::KILL && self != Signal::STOP
    }

    /// Whether the signal is real-time (32–64): queued, not merged.
    pub fn is_real_time(self) -> bool {
        self >= Signal::FIRST_REAL_TIME
    }

    /// The C name (`SIGINT`), or `None` for a real-time signal.
    pub fn name(self) -> Option<&'static str> {
        STANDARD
            .iter()
            .find(|(signal, ..)| *signal == self)
            .map(|&(_, name, _)| name)
    }
}

/// The standard signals with their C names and default actions.
const STANDARD: &[(Signal, &str, DefaultAction)] = &[
    (Signal::HANGUP, "SIGHUP", DefaultAction::Terminate),
    (Signal::INTERRUPT, "SIGINT", DefaultAction::Terminate),
    (Signal::QUIT, "SIGQUIT", DefaultAction::CoreDump),
    (
        Signal::ILLEGAL_INSTRUCTION,
        "SIGILL",
        DefaultAction::CoreDump,
    ),
    (Signal::TRAP, "SIGTRAP", DefaultAction::CoreDump),
    (Signal::ABORT, "SIGABRT", DefaultAction::CoreDump),
    (Signal::BUS_ERROR, "SIGBUS", DefaultAction::CoreDump),
    (Signal::ARITHMETIC_ERROR, "SIGFPE", DefaultAction::CoreDump),
    (Signal::KILL, "SIGKILL", DefaultAction::Terminate),
    (Signal::USER_1, "SIGUSR1", DefaultAction::Terminate),
    (
        Signal::SEGMENTATION_FAULT,
        "SIGSEGV",
        DefaultAction::CoreDump,
    ),
    (Signal::USER_2, "SIGUSR2", DefaultAction::Terminate),
    (Signal::BROKEN_PIPE, "SIGPIPE", DefaultAction::Terminate),
    (Signal::ALARM, "SIGALRM", DefaultAction::Terminate),
    (Signal::TERMINATE, "SIGTERM", DefaultAction::Terminate),
    (Signal::STACK_FAULT, "SIGSTKFLT", DefaultAction::Terminate),
    (Signal::CHILD, "SIGCHLD", DefaultAction::Ignore),
    (Signal::CONTINUE, "SIGCONT", DefaultAction::Continue),
    (Signal::STOP, "SIGSTOP", DefaultAction::Stop),
    (Signal::TERMINAL_STOP, "SIGTSTP", DefaultAction::Stop),
    (Signal::TERMINAL_INPUT, "SIGTTIN", DefaultAction::Stop),
    (Signal::TERMINAL_OUTPUT, "SIGTTOU", DefaultAction::Stop),
    (Signal::URGENT, "SIGURG", DefaultAction::Ignore),
    (Signal::CPU_LIMIT, "SIGXCPU", DefaultAction::CoreDump),
    (Signal::FILE_SIZE_LIMIT, "SIGXFSZ", DefaultAction::CoreDump),
    (Signal::VIRTUAL_ALARM, "SIGVTALRM", DefaultAction::Terminate),
    (Signal::PROFILING_ALARM, "SIGPROF", DefaultAction::Terminate),
    (Signal::WINDOW_CHANGE, "SIGWINCH", DefaultAction::Ignore),
    (Signal::IO_POSSIBLE, "SIGIO", DefaultAction::Terminate),
    (Signal::POWER_FAILURE, "SIGPWR", DefaultAction::Terminate),
    (Signal::BAD_SYSTEM_CALL, "SIGSYS", DefaultAction::CoreDump),
];

/// Every standard signal (1–31) with its C name, for tests and tools.
pub fn standard_signals() -> impl Iterator<Item = (Signal, &'static str)> {
    STANDARD.iter().map(|&(signal, name, _)| (signal, name))
}

/// The kernel's `sigset_t`: one bit per signal, bit `n - 1` for signal
/// `n`; 8 bytes, the `sigsetsize` `rt_sigaction` and `rt_sigprocmask`
/// require.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SignalSet(pub u64);

/// Bytes in a [`SignalSet`]: the only `sigsetsize` the calls accept.
pub const SIGNAL_SET_SIZE: usize = 8;

impl SignalSet {
    /// No signal.
    pub const EMPTY: SignalSet = SignalSet(0);

    /// Whether `signal` is in the set.
    pub fn contains(self, signal: Signal) -> bool {
        self.0 & Self::bit(signal) != 0
    }

    /// The set with `signal` added.
    pub fn with(self, signal: Signal) -> SignalSet {
        SignalSet(self.0 | Self::bit(signal))
    }

    /// The set with `signal` removed.
    pub fn without(self, signal: Signal) -> SignalSet {
        SignalSet(self.0 & !Self::bit(signal))
    }

    /// The set less `SIGKILL` and `SIGSTOP`, which no mask may hold
    /// (the kernel silently drops them from every mask a program sets).
    pub fn maskable(self) -> SignalSet {
        self.without(Signal::KILL).without(Signal::STOP)
    }

    /// The lowest-numbered signal in the set.
    pub fn first(self) -> Option<Signal> {
        let bit = self.0.trailing_zeros();
        (bit < 64).then(|| Signal(bit as u8 + 1))
    }

    fn bit(signal: Signal) -> u64 {
        1 << (signal.0 - 1)
    }
}

/// What `rt_sigprocmask` does with the given set (`how`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MaskOperation {
    /// `SIG_BLOCK` (0): add the set to the mask.
    Block,
    /// `SIG_UNBLOCK` (1): remove the set from the mask.
    Unblock,
    /// `SIG_SETMASK` (2): the set becomes the mask.
    Set,
}

impl MaskOperation {
    /// The operation numbered `how`, or `None` (`EINVAL`).
    pub fn from_number(how: u64) -> Option<MaskOperation> {
        match how {
            0 => Some(MaskOperation::Block),
            1 => Some(MaskOperation::Unblock),
            2 => Some(MaskOperation::Set),
            _ => None,
        }
    }
}

/// `SIG_DFL`: the handler address meaning "the default action".
pub const HANDLER_DEFAULT: u64 = 0;
/// `SIG_IGN`: the handler address meaning "ignore".
pub const HANDLER_IGNORE: u64 = 1;

bitflags! {
    /// `sa_flags` of `rt_sigaction`; the same values on both
    /// architectures (`asm-generic/signal-defs.h`, `SA_RESTORER` from
    /// x86's `asm/signal.h` and arm64's `uapi/asm/signal.h`).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct SignalActionFlags: u64 {
        /// `SA_NOCLDSTOP`: no `SIGCHLD` when a child stops.
        const NO_CHILD_STOP = 0x0000_0001;
        /// `SA_NOCLDWAIT`: children do not become zombies.
        const NO_CHILD_WAIT = 0x0000_0002;
        /// `SA_SIGINFO`: the handler takes `(signal, siginfo, ucontext)`.
        const SIGNAL_INFO = 0x0000_0004;
        /// `SA_RESTORER`: `sa_restorer` is the return trampoline (x86_64
        /// libcs always set it; on AArch64 Linux offers a vDSO trampoline
        /// when it is absent).
        const RESTORER = 0x0400_0000;
        /// `SA_ONSTACK`: run on the `sigaltstack` stack.
        const ON_STACK = 0x0800_0000;
        /// `SA_RESTART`: restart interrupted calls.
        const RESTART = 0x1000_0000;
        /// `SA_NODEFER`: do not mask the signal during its handler.
        const NO_DEFER = 0x4000_0000;
        /// `SA_RESETHAND`: back to the default action once delivered.
        const RESET_HANDLER = 0x8000_0000;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_default_actions() {
        assert_eq!(Signal::from_number(0), None);
        assert_eq!(Signal::from_number(65), None);
        assert_eq!(Signal::from_number(17), Some(Signal::CHILD));
        assert_eq!(Signal::CHILD.default_action(), DefaultAction::Ignore);
        assert_eq!(
            Signal::BROKEN_PIPE.default_action(),
            DefaultAction::Terminate
        );
        assert_eq!(
            Signal::SEGMENTATION_FAULT.default_action(),
            DefaultAction::CoreDump
        );
        assert_eq!(Signal::TERMINAL_STOP.default_action(), DefaultAction::Stop);
        assert_eq!(Signal::CONTINUE.default_action(), DefaultAction::Continue);
        assert_eq!(Signal(40).default_action(), DefaultAction::Terminate);
        assert!(Signal(40).is_real_time() && Signal(40).name().is_none());
        assert!(!Signal::KILL.can_be_caught() && Signal::INTERRUPT.can_be_caught());
        for (number, (signal, _)) in (1..).zip(standard_signals()) {
            assert_eq!(signal.number(), number, "the table is in order");
        }
        assert_eq!(standard_signals().count(), 31);
    }

    #[test]
    fn signal_sets_use_bit_n_minus_one() {
        let set = SignalSet::EMPTY.with(Signal::HANGUP).with(Signal::LAST);
        assert_eq!(set.0, 1 | 1 << 63);
        assert!(set.contains(Signal::LAST) && !set.contains(Signal::INTERRUPT));
        assert_eq!(set.first(), Some(Signal::HANGUP));
        assert_eq!(SignalSet::EMPTY.first(), None);
        let all = SignalSet(u64::MAX).maskable();
        assert!(!all.contains(Signal::KILL) && !all.contains(Signal::STOP));
        assert!(all.contains(Signal::CHILD));
    }
}
