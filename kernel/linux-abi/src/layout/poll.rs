// SPDX-License-Identifier: MIT OR Apache-2.0
//! `struct pollfd` of `poll` and `ppoll`: `fd` (i32) at 0, `events`
//! (i16) at 4, `revents` (i16) at 6, 8 bytes; and the event bits
//! (`asm-generic/poll.h`, used by both architectures). Checked against
//! the host libc.

use bitflags::bitflags;

use super::bytes::{get_u16, get_u32, put_u16};

/// Bytes in a `struct pollfd`.
pub const POLLFD_SIZE: usize = 8;

bitflags! {
    /// `POLL*` event bits.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct PollEvents: u16 {
        /// `POLLIN`: readable.
        const IN = 0x001;
        /// `POLLPRI`: urgent data.
        const PRIORITY = 0x002;
        /// `POLLOUT`: writable.
        const OUT = 0x004;
        /// `POLLERR` (reported only): an error.
        const ERROR = 0x008;
        /// `POLLHUP` (reported only): the other end hung up.
        const HANG_UP = 0x010;
        /// `POLLNVAL` (reported only): the fd is not open.
        const INVALID = 0x020;
        /// `POLLRDNORM`: normal data readable.
        const READ_NORMAL = 0x040;
        /// `POLLRDBAND`: priority band readable.
        const READ_BAND = 0x080;
        /// `POLLWRNORM`: writable.
        const WRITE_NORMAL = 0x100;
        /// `POLLWRBAND`: priority band writable.
        const WRITE_BAND = 0x200;
        /// `POLLRDHUP`: the peer shut down writing.
        const READ_HANG_UP = 0x2000;
    }
}

/// One `struct pollfd` as the program gave it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PollFd {
    /// The fd; a negative one is skipped (its `revents` is 0).
    pub fd: i32,
    /// What the program waits for; unknown bits are kept.
    pub events: PollEvents,
}

impl PollFd {
    /// Decodes one `struct pollfd`.
    pub fn decode(bytes: &[u8; POLLFD_SIZE]) -> PollFd {
        PollFd {
            fd: get_u32(bytes, 0) as i32,
            events: PollEvents::from_bits_retain(get_u16(bytes, 4)),
        }
    }

    /// Writes `revents` into the record the program gave (the fd and
    /// events stay as they were).
    pub fn encode_returned_events(bytes: &mut [u8; POLLFD_SIZE], returned: PollEvents) {
        put_u16(bytes, 6, returned.bits());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{offset_of, size_of};

    #[test]
    fn layout_and_bits_match_the_host_libc() {
        assert_eq!(size_of::<libc::pollfd>(), POLLFD_SIZE);
        assert_eq!(offset_of!(libc::pollfd, fd), 0);
        assert_eq!(offset_of!(libc::pollfd, events), 4);
        assert_eq!(offset_of!(libc::pollfd, revents), 6);
        assert_eq!(PollEvents::IN.bits() as i16, libc::POLLIN);
        assert_eq!(PollEvents::PRIORITY.bits() as i16, libc::POLLPRI);
        assert_eq!(PollEvents::OUT.bits() as i16, libc::POLLOUT);
        assert_eq!(PollEvents::ERROR.bits() as i16, libc::POLLERR);
        assert_eq!(PollEvents::HANG_UP.bits() as i16, libc::POLLHUP);
        assert_eq!(PollEvents::INVALID.bits() as i16, libc::POLLNVAL);
        assert_eq!(PollEvents::READ_NORMAL.bits() as i16, libc::POLLRDNORM);
        assert_eq!(PollEvents::WRITE_NORMAL.bits() as i16, libc::POLLWRNORM);
        assert_eq!(PollEvents::READ_HANG_UP.bits() as i16, libc::POLLRDHUP);
    }

    #[test]
    fn decode_and_answer() {
        let mut record = [0xff, 0xff, 0xff, 0xff, 0x01, 0x00, 0x00, 0x00];
        let poll = PollFd::decode(&record);
        assert_eq!(poll.fd, -1);
        assert_eq!(poll.events, PollEvents::IN);
        PollFd::encode_returned_events(&mut record, PollEvents::IN | PollEvents::HANG_UP);
        assert_eq!(record, [0xff, 0xff, 0xff, 0xff, 0x01, 0x00, 0x11, 0x00]);
    }
}
