// SPDX-License-Identifier: MIT OR Apache-2.0
//! `fcntl` commands and `FD_CLOEXEC` (`asm-generic/fcntl.h`,
//! `linux/fcntl.h`; 64-bit AArch64 and x86_64 share them).

/// `FD_CLOEXEC`: the fd flag `F_GETFD`/`F_SETFD` read and write.
pub const FD_CLOSE_ON_EXEC: u32 = 1;

/// An `fcntl` command.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FcntlCommand {
    /// `F_DUPFD` (0): duplicate to the lowest fd ≥ the argument.
    DuplicateFd,
    /// `F_GETFD` (1): the fd flags (`FD_CLOEXEC`).
    GetFdFlags,
    /// `F_SETFD` (2): set the fd flags.
    SetFdFlags,
    /// `F_GETFL` (3): the open flags and access mode.
    GetStatusFlags,
    /// `F_SETFL` (4): set `O_APPEND`, `O_NONBLOCK`, `O_ASYNC`,
    /// `O_DIRECT`, `O_NOATIME`; others are ignored.
    SetStatusFlags,
    /// `F_GETLK` (5): test a record lock.
    GetLock,
    /// `F_SETLK` (6): take or release a record lock.
    SetLock,
    /// `F_SETLKW` (7): take a record lock, waiting.
    SetLockWait,
    /// `F_SETOWN` (8).
    SetOwner,
    /// `F_GETOWN` (9).
    GetOwner,
    /// `F_DUPFD_CLOEXEC` (1030): `F_DUPFD` with `FD_CLOEXEC` set.
    DuplicateFdCloseOnExec,
    /// `F_SETPIPE_SZ` (1031).
    SetPipeSize,
    /// `F_GETPIPE_SZ` (1032).
    GetPipeSize,
}

const TABLE: [(FcntlCommand, u32); 13] = [
    (FcntlCommand::DuplicateFd, 0),
    (FcntlCommand::GetFdFlags, 1),
    (FcntlCommand::SetFdFlags, 2),
    (FcntlCommand::GetStatusFlags, 3),
    (FcntlCommand::SetStatusFlags, 4),
    (FcntlCommand::GetLock, 5),
    (FcntlCommand::SetLock, 6),
    (FcntlCommand::SetLockWait, 7),
    (FcntlCommand::SetOwner, 8),
    (FcntlCommand::GetOwner, 9),
    (FcntlCommand::DuplicateFdCloseOnExec, 1030),
    (FcntlCommand::SetPipeSize, 1031),
    (FcntlCommand::GetPipeSize, 1032),
];

impl FcntlCommand {
    /// The command numbered `raw`, or `None` (`EINVAL`).
    pub fn from_number(raw: u64) -> Option<FcntlCommand> {
        TABLE
            .iter()
            .find(|&&(_, number)| u64::from(number) == raw)
            .map(|&(command, _)| command)
    }

    /// Linux's number for the command.
    pub fn number(self) -> u32 {
        TABLE
            .iter()
            .find(|(command, _)| *command == self)
            .map(|&(_, number)| number)
            .expect("every FcntlCommand has a row in TABLE")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_match_the_host_libc() {
        let host = [
            (FcntlCommand::DuplicateFd, libc::F_DUPFD),
            (FcntlCommand::GetFdFlags, libc::F_GETFD),
            (FcntlCommand::SetFdFlags, libc::F_SETFD),
            (FcntlCommand::GetStatusFlags, libc::F_GETFL),
            (FcntlCommand::SetStatusFlags, libc::F_SETFL),
            (FcntlCommand::GetLock, libc::F_GETLK),
            (FcntlCommand::SetLock, libc::F_SETLK),
            (FcntlCommand::SetLockWait, libc::F_SETLKW),
            (FcntlCommand::SetOwner, libc::F_SETOWN),
            (FcntlCommand::GetOwner, libc::F_GETOWN),
            (FcntlCommand::DuplicateFdCloseOnExec, libc::F_DUPFD_CLOEXEC),
            (FcntlCommand::SetPipeSize, libc::F_SETPIPE_SZ),
            (FcntlCommand::GetPipeSize, libc::F_GETPIPE_SZ),
        ];
        for (command, number) in host {
            assert_eq!(command.number(), number as u32, "{command:?}");
            assert_eq!(FcntlCommand::from_number(number as u64), Some(command));
        }
        assert_eq!(FcntlCommand::from_number(1029), None);
        assert_eq!(FD_CLOSE_ON_EXEC as i32, libc::FD_CLOEXEC);
    }
}
