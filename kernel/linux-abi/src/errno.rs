// SPDX-License-Identifier: MIT OR Apache-2.0
//! Linux's error numbers. AArch64 and x86_64 share the generic values
//! (`asm-generic/errno-base.h`, `asm-generic/errno.h`; x86_64's
//! `asm/errno.h` only includes the generic one), checked by
//! `tests/linux_headers.rs`.
//!
//! The native kernel's errors become Linux ones in one place: the
//! `From<manux_abi::Errno>` below.

/// A Linux error number: the errors a Linux program can be given here.
#[repr(u16)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Errno {
    /// `EPERM`: not allowed.
    NotPermitted = 1,
    /// `ENOENT`: no such file or directory.
    NotFound = 2,
    /// `ESRCH`: no such process.
    NoSuchProcess = 3,
    /// `EINTR`: interrupted by a signal.
    Interrupted = 4,
    /// `EIO`: input/output error.
    InputOutput = 5,
    /// `ENXIO`: no such device or address.
    NoSuchDeviceOrAddress = 6,
    /// `E2BIG`: argument list too long.
    ArgumentsTooLong = 7,
    /// `ENOEXEC`: exec format error.
    NotExecutable = 8,
    /// `EBADF`: bad file descriptor.
    BadFd = 9,
    /// `ECHILD`: no child processes.
    NoChild = 10,
    /// `EAGAIN`: try again (also `EWOULDBLOCK`).
    TryAgain = 11,
    /// `ENOMEM`: out of memory.
    OutOfMemory = 12,
    /// `EACCES`: permission denied.
    AccessDenied = 13,
    /// `EFAULT`: bad address.
    BadAddress = 14,
    /// `ENOTBLK`: block device required.
    NotABlockDevice = 15,
    /// `EBUSY`: device or resource busy.
    Busy = 16,
    /// `EEXIST`: file exists.
    Exists = 17,
    /// `EXDEV`: cross-device link.
    CrossDevice = 18,
    /// `ENODEV`: no such device.
    NoSuchDevice = 19,
    /// `ENOTDIR`: not a directory.
    NotADirectory = 20,
    /// `EISDIR`: is a directory.
    IsADirectory = 21,
    /// `EINVAL`: invalid argument.
    InvalidArgument = 22,
    /// `ENFILE`: file table overflow.
    TooManyFilesInSystem = 23,
    /// `EMFILE`: too many open files.
    TooManyFiles = 24,
    /// `ENOTTY`: not a terminal (inappropriate ioctl).
    NotATerminal = 25,
    /// `ETXTBSY`: text file busy.
    TextFileBusy = 26,
    /// `EFBIG`: file too large.
    FileTooLarge = 27,
    /// `ENOSPC`: no space left on device.
    NoSpace = 28,
    /// `ESPIPE`: illegal seek.
    IllegalSeek = 29,
    /// `EROFS`: read-only file system.
    ReadOnlyFileSystem = 30,
    /// `EMLINK`: too many links.
    TooManyLinks = 31,
    /// `EPIPE`: broken pipe.
    BrokenPipe = 32,
    /// `EDOM`: argument out of domain.
    OutOfDomain = 33,
    /// `ERANGE`: result out of range.
    OutOfRange = 34,
    /// `EDEADLK`: resource deadlock would occur.
    Deadlock = 35,
    /// `ENAMETOOLONG`: file name too long.
    NameTooLong = 36,
    /// `ENOLCK`: no record locks available.
    NoLocks = 37,
    /// `ENOSYS`: function not implemented.
    NotImplemented = 38,
    /// `ENOTEMPTY`: directory not empty.
    NotEmpty = 39,
    /// `ELOOP`: too many symbolic links.
    Loop = 40,
    /// `ENODATA`: no data available.
    NoData = 61,
    /// `ETIME`: timer expired.
    Timer = 62,
    /// `EOVERFLOW`: value too large for its type.
    Overflow = 75,
    /// `EILSEQ`: illegal byte sequence.
    IllegalByteSequence = 84,
    /// `ENOTSOCK`: socket operation on a non-socket.
    NotASocket = 88,
    /// `EOPNOTSUPP`: operation not supported (also `ENOTSUP`).
    NotSupported = 95,
    /// `EAFNOSUPPORT`: address family not supported.
    AddressFamilyNotSupported = 97,
    /// `ETIMEDOUT`: connection timed out.
    TimedOut = 110,
    /// `ECONNREFUSED`: connection refused.
    ConnectionRefused = 111,
    /// `ESTALE`: stale file handle.
    Stale = 116,
    /// `ECANCELED`: operation canceled.
    Canceled = 125,
}

/// Every error with its C name.
const TABLE: &[(Errno, &str)] = &[
    (Errno::NotPermitted, "EPERM"),
    (Errno::NotFound, "ENOENT"),
    (Errno::NoSuchProcess, "ESRCH"),
    (Errno::Interrupted, "EINTR"),
    (Errno::InputOutput, "EIO"),
    (Errno::NoSuchDeviceOrAddress, "ENXIO"),
    (Errno::ArgumentsTooLong, "E2BIG"),
    (Errno::NotExecutable, "ENOEXEC"),
    (Errno::BadFd, "EBADF"),
    (Errno::NoChild, "ECHILD"),
    (Errno::TryAgain, "EAGAIN"),
    (Errno::OutOfMemory, "ENOMEM"),
    (Errno::AccessDenied, "EACCES"),
    (Errno::BadAddress, "EFAULT"),
    (Errno::NotABlockDevice, "ENOTBLK"),
    (Errno::Busy, "EBUSY"),
    (Errno::Exists, "EEXIST"),
    (Errno::CrossDevice, "EXDEV"),
    (Errno::NoSuchDevice, "ENODEV"),
    (Errno::NotADirectory, "ENOTDIR"),
    (Errno::IsADirectory, "EISDIR"),
    (Errno::InvalidArgument, "EINVAL"),
    (Errno::TooManyFilesInSystem, "ENFILE"),
    (Errno::TooManyFiles, "EMFILE"),
    (Errno::NotATerminal, "ENOTTY"),
    (Errno::TextFileBusy, "ETXTBSY"),
    (Errno::FileTooLarge, "EFBIG"),
    (Errno::NoSpace, "ENOSPC"),
    (Errno::IllegalSeek, "ESPIPE"),
    (Errno::ReadOnlyFileSystem, "EROFS"),
    (Errno::TooManyLinks, "EMLINK"),
    (Errno::BrokenPipe, "EPIPE"),
    (Errno::OutOfDomain, "EDOM"),
    (Errno::OutOfRange, "ERANGE"),
    (Errno::Deadlock, "EDEADLK"),
    (Errno::NameTooLong, "ENAMETOOLONG"),
    (Errno::NoLocks, "ENOLCK"),
    (Errno::NotImplemented, "ENOSYS"),
    (Errno::NotEmpty, "ENOTEMPTY"),
    (Errno::Loop, "ELOOP"),
    (Errno::NoData, "ENODATA"),
    (Errno::Timer, "ETIME"),
    (Errno::Overflow, "EOVERFLOW"),
    (Errno::IllegalByteSequence, "EILSEQ"),
    (Errno::NotASocket, "ENOTSOCK"),
    (Errno::NotSupported, "EOPNOTSUPP"),
    (Errno::AddressFamilyNotSupported, "EAFNOSUPPORT"),
    (Errno::TimedOut, "ETIMEDOUT"),
    (Errno::ConnectionRefused, "ECONNREFUSED"),
    (Errno::Stale, "ESTALE"),
    (Errno::Canceled, "ECANCELED"),
];

impl Errno {
    /// Every error this crate knows.
    pub fn all() -> impl Iterator<Item = Errno> {
        TABLE.iter().map(|&(errno, _)| errno)
    }

    /// The error numbered `number`, or `None` for one this crate does not
    /// name.
    pub fn from_number(number: u32) -> Option<Errno> {
        Errno::all().find(|errno| u32::from(errno.number()) == number)
    }

    /// Linux's number for the error.
    pub fn number(self) -> u16 {
        self as u16
    }

    /// The C name (`ENOENT`).
    pub fn name(self) -> &'static str {
        TABLE
            .iter()
            .find(|(errno, _)| *errno == self)
            .map(|&(_, name)| name)
            .expect("every Errno has a row in TABLE (tested)")
    }

    /// The value a failing call leaves in the result register: `-errno`
    /// as a 64-bit two's-complement word (`-4095..=-1` is an error to
    /// every libc).
    pub fn as_return_value(self) -> u64 {
        (-i64::from(self.number())) as u64
    }
}

impl core::fmt::Display for Errno {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// The native kernel's errors as Linux ones. Manux already uses Linux's
/// numbers, so each maps to its namesake; the native `Unknown` (a
/// decoding placeholder the kernel never returns) becomes `EIO`.
impl From<manux_abi::Errno> for Errno {
    fn from(native: manux_abi::Errno) -> Errno {
        use manux_abi::Errno as Native;
        match native {
            Native::NotPermitted => Errno::NotPermitted,
            Native::NotFound => Errno::NotFound,
            Native::NoSuchProcess => Errno::NoSuchProcess,
            Native::Interrupted => Errno::Interrupted,
            Native::InputOutput => Errno::InputOutput,
            Native::NoSuchDeviceOrAddress => Errno::NoSuchDeviceOrAddress,
            Native::ArgumentsTooLong => Errno::ArgumentsTooLong,
            Native::NotExecutable => Errno::NotExecutable,
            Native::BadFd => Errno::BadFd,
            Native::NoChild => Errno::NoChild,
            Native::TryAgain => Errno::TryAgain,
            Native::OutOfMemory => Errno::OutOfMemory,
            Native::AccessDenied => Errno::AccessDenied,
            Native::BadAddress => Errno::BadAddress,
            Native::Busy => Errno::Busy,
            Native::Exists => Errno::Exists,
            Native::CrossDevice => Errno::CrossDevice,
            Native::NotADirectory => Errno::NotADirectory,
            Native::IsADirectory => Errno::IsADirectory,
            Native::InvalidArgument => Errno::InvalidArgument,
            Native::TooManyFilesInSystem => Errno::TooManyFilesInSystem,
            Native::TooManyFiles => Errno::TooManyFiles,
            Native::NotATerminal => Errno::NotATerminal,
            Native::FileTooLarge => Errno::FileTooLarge,
            Native::NoSpace => Errno::NoSpace,
            Native::IllegalSeek => Errno::IllegalSeek,
            Native::ReadOnlyFileSystem => Errno::ReadOnlyFileSystem,
            Native::TooManyLinks => Errno::TooManyLinks,
            Native::BrokenPipe => Errno::BrokenPipe,
            Native::OutOfRange => Errno::OutOfRange,
            Native::NameTooLong => Errno::NameTooLong,
            Native::NotImplemented => Errno::NotImplemented,
            Native::NotEmpty => Errno::NotEmpty,
            Native::Loop => Errno::Loop,
            Native::Stale => Errno::Stale,
            Native::Unknown => Errno::InputOutput,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip_and_names_are_distinct() {
        for errno in Errno::all() {
            assert_eq!(Errno::from_number(errno.number().into()), Some(errno));
            assert_eq!(
                Errno::all()
                    .filter(|other| other.name() == errno.name())
                    .count(),
                1
            );
        }
        assert_eq!(Errno::from_number(41), None);
        assert_eq!(Errno::NotFound.as_return_value(), (-2i64) as u64);
    }

    #[test]
    fn native_errors_keep_their_linux_number() {
        for raw in 0..200 {
            let native = manux_abi::Errno::from_raw(raw);
            if native == manux_abi::Errno::Unknown {
                continue;
            }
            let linux = Errno::from(native);
            assert_eq!(u32::from(linux.number()), native as u32, "{native:?}");
            assert_eq!(linux.name(), native.name());
        }
        assert_eq!(Errno::from(manux_abi::Errno::Unknown), Errno::InputOutput);
    }
}
