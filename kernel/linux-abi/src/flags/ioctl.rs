// SPDX-License-Identifier: MIT OR Apache-2.0
//! Terminal `ioctl` requests (`asm-generic/ioctls.h`, which both
//! AArch64 and x86_64 use). The structures are in
//! [`crate::layout::terminal`].

/// A terminal request a libc or shell makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TerminalRequest {
    /// `TCGETS` (0x5401): read the `termios` (also `isatty`).
    GetAttributes,
    /// `TCSETS` (0x5402): set the `termios` now.
    SetAttributes,
    /// `TCSETSW` (0x5403): set after output drains.
    SetAttributesAfterDrain,
    /// `TCSETSF` (0x5404): set after output drains, discarding input.
    SetAttributesAfterFlush,
    /// `TIOCSCTTY` (0x540E): make this the controlling terminal.
    SetControllingTerminal,
    /// `TIOCGPGRP` (0x540F): the foreground process group.
    GetForegroundGroup,
    /// `TIOCSPGRP` (0x5410): set the foreground process group.
    SetForegroundGroup,
    /// `TIOCGWINSZ` (0x5413): read the window size.
    GetWindowSize,
    /// `TIOCSWINSZ` (0x5414): set the window size.
    SetWindowSize,
    /// `FIONREAD` (0x541B): bytes ready to read.
    BytesReadable,
    /// `FIONBIO` (0x5421): set or clear `O_NONBLOCK`.
    SetNonblocking,
}

const TABLE: [(TerminalRequest, u32); 11] = [
    (TerminalRequest::GetAttributes, 0x5401),
    (TerminalRequest::SetAttributes, 0x5402),
    (TerminalRequest::SetAttributesAfterDrain, 0x5403),
    (TerminalRequest::SetAttributesAfterFlush, 0x5404),
    (TerminalRequest::SetControllingTerminal, 0x540E),
    (TerminalRequest::GetForegroundGroup, 0x540F),
    (TerminalRequest::SetForegroundGroup, 0x5410),
    (TerminalRequest::GetWindowSize, 0x5413),
    (TerminalRequest::SetWindowSize, 0x5414),
    (TerminalRequest::BytesReadable, 0x541B),
    (TerminalRequest::SetNonblocking, 0x5421),
];

impl TerminalRequest {
    /// The request numbered `raw`, or `None` (the kernel answers
    /// `ENOTTY`).
    pub fn from_number(raw: u64) -> Option<TerminalRequest> {
        TABLE
            .iter()
            .find(|&&(_, number)| u64::from(number) == raw)
            .map(|&(request, _)| request)
    }

    /// Linux's number for the request.
    pub fn number(self) -> u32 {
        TABLE
            .iter()
            .find(|(request, _)| *request == self)
            .map(|&(_, number)| number)
            .expect("every TerminalRequest has a row in TABLE")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_match_the_host_libc() {
        let host = [
            (TerminalRequest::GetAttributes, libc::TCGETS),
            (TerminalRequest::SetAttributes, libc::TCSETS),
            (TerminalRequest::SetAttributesAfterDrain, libc::TCSETSW),
            (TerminalRequest::SetAttributesAfterFlush, libc::TCSETSF),
            (TerminalRequest::SetControllingTerminal, libc::TIOCSCTTY),
            (TerminalRequest::GetForegroundGroup, libc::TIOCGPGRP),
            (TerminalRequest::SetForegroundGroup, libc::TIOCSPGRP),
            (TerminalRequest::GetWindowSize, libc::TIOCGWINSZ),
            (TerminalRequest::SetWindowSize, libc::TIOCSWINSZ),
            (TerminalRequest::BytesReadable, libc::FIONREAD),
            (TerminalRequest::SetNonblocking, libc::FIONBIO),
        ];
        for (request, number) in host {
            assert_eq!(u64::from(request.number()), number, "{request:?}");
            assert_eq!(TerminalRequest::from_number(number), Some(request));
        }
    }
}
