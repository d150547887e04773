// SPDX-License-Identifier: MIT OR Apache-2.0
//! Error numbers: the only codes Manux returns, with Linux's values.

/// An error a system call returns.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Errno {
    /// `EPERM`: not allowed (immutable file, init-only call).
    NotPermitted = 1,
    /// `ENOENT`
    NotFound = 2,
    /// `ESRCH`: no such process (or not a descendant).
    NoSuchProcess = 3,
    /// `EINTR`
    Interrupted = 4,
    /// `EIO`
    InputOutput = 5,
    /// `ENXIO`: no such device (a device file of a number the kernel
    /// does not know).
    NoSuchDeviceOrAddress = 6,
    /// `E2BIG`: argument list too long.
    ArgumentsTooLong = 7,
    /// `ENOEXEC`: not a runnable program.
    NotExecutable = 8,
    /// `EBADF`
    BadFd = 9,
    /// `ECHILD`
    NoChild = 10,
    /// `EAGAIN`
    TryAgain = 11,
    /// `ENOMEM`
    OutOfMemory = 12,
    /// `EACCES`: access mode forbids it.
    AccessDenied = 13,
    /// `EFAULT`: a pointer the caller may not use.
    BadAddress = 14,
    /// `EBUSY`
    Busy = 16,
    /// `EEXIST`
    Exists = 17,
    /// `EXDEV`
    CrossDevice = 18,
    /// `ENOTDIR`
    NotADirectory = 20,
    /// `EISDIR`
    IsADirectory = 21,
    /// `EINVAL`
    InvalidArgument = 22,
    /// `ENFILE`: the kernel's table of files in use is full.
    TooManyFilesInSystem = 23,
    /// `EMFILE`
    TooManyFiles = 24,
    /// `ENOTTY`
    NotATerminal = 25,
    /// `EFBIG`
    FileTooLarge = 27,
    /// `ENOSPC`
    NoSpace = 28,
    /// `ESPIPE`
    IllegalSeek = 29,
    /// `EROFS`
    ReadOnlyFileSystem = 30,
    /// `EMLINK`
    TooManyLinks = 31,
    /// `EPIPE`
    BrokenPipe = 32,
    /// `ERANGE`
    OutOfRange = 34,
    /// `ENAMETOOLONG`
    NameTooLong = 36,
    /// `ENOSYS`
    NotImplemented = 38,
    /// `ENOTEMPTY`
    NotEmpty = 39,
    /// `ELOOP`
    Loop = 40,
    /// `ESTALE`: a handle whose object is gone; it never reaches another.
    Stale = 116,
    /// A number this crate does not know (decoding only).
    Unknown = 4095,
}

const ALL: [Errno; 37] = [
    Errno::NotPermitted,
    Errno::NotFound,
    Errno::NoSuchProcess,
    Errno::Interrupted,
    Errno::InputOutput,
    Errno::NoSuchDeviceOrAddress,
    Errno::ArgumentsTooLong,
    Errno::NotExecutable,
    Errno::BadFd,
    Errno::NoChild,
    Errno::TryAgain,
    Errno::OutOfMemory,
    Errno::AccessDenied,
    Errno::BadAddress,
    Errno::Busy,
    Errno::Exists,
    Errno::CrossDevice,
    Errno::NotADirectory,
    Errno::IsADirectory,
    Errno::InvalidArgument,
    Errno::TooManyFilesInSystem,
    Errno::TooManyFiles,
    Errno::NotATerminal,
    Errno::FileTooLarge,
    Errno::NoSpace,
    Errno::IllegalSeek,
    Errno::ReadOnlyFileSystem,
    Errno::TooManyLinks,
    Errno::BrokenPipe,
    Errno::OutOfRange,
    Errno::NameTooLong,
    Errno::NotImplemented,
    Errno::NotEmpty,
    Errno::Loop,
    Errno::Stale,
    Errno::Unknown,
    Errno::Unknown,
];

impl Errno {
    /// The errno numbered `raw`, or [`Errno::Unknown`].
    pub fn from_raw(raw: u32) -> Errno {
        ALL.iter()
            .copied()
            .find(|errno| *errno as u32 == raw)
            .unwrap_or(Errno::Unknown)
    }

    /// The C name (`ENOENT`).
    pub fn name(self) -> &'static str {
        match self {
            Errno::NotPermitted => "EPERM",
            Errno::NotFound => "ENOENT",
            Errno::NoSuchProcess => "ESRCH",
            Errno::Interrupted => "EINTR",
            Errno::InputOutput => "EIO",
            Errno::NoSuchDeviceOrAddress => "ENXIO",
            Errno::ArgumentsTooLong => "E2BIG",
            Errno::NotExecutable => "ENOEXEC",
            Errno::BadFd => "EBADF",
            Errno::NoChild => "ECHILD",
            Errno::TryAgain => "EAGAIN",
            Errno::OutOfMemory => "ENOMEM",
            Errno::AccessDenied => "EACCES",
            Errno::BadAddress => "EFAULT",
            Errno::Busy => "EBUSY",
            Errno::Exists => "EEXIST",
            Errno::CrossDevice => "EXDEV",
            Errno::NotADirectory => "ENOTDIR",
            Errno::IsADirectory => "EISDIR",
            Errno::InvalidArgument => "EINVAL",
            Errno::TooManyFilesInSystem => "ENFILE",
            Errno::TooManyFiles => "EMFILE",
            Errno::NotATerminal => "ENOTTY",
            Errno::FileTooLarge => "EFBIG",
            Errno::NoSpace => "ENOSPC",
            Errno::IllegalSeek => "ESPIPE",
            Errno::ReadOnlyFileSystem => "EROFS",
            Errno::TooManyLinks => "EMLINK",
            Errno::BrokenPipe => "EPIPE",
            Errno::OutOfRange => "ERANGE",
            Errno::NameTooLong => "ENAMETOOLONG",
            Errno::NotImplemented => "ENOSYS",
            Errno::NotEmpty => "ENOTEMPTY",
            Errno::Loop => "ELOOP",
            Errno::Stale => "ESTALE",
            Errno::Unknown => "EUNKNOWN",
        }
    }

    /// The message programs print (`cat: x: No such file or directory`).
    pub fn description(self) -> &'static str {
        match self {
            Errno::NotPermitted => "Operation not permitted",
            Errno::NotFound => "No such file or directory",
            Errno::NoSuchProcess => "No such process",
            Errno::Interrupted => "Interrupted system call",
            Errno::InputOutput => "Input/output error",
            Errno::NoSuchDeviceOrAddress => "No such device or address",
            Errno::ArgumentsTooLong => "Argument list too long",
            Errno::NotExecutable => "Exec format error",
            Errno::BadFd => "Bad file descriptor",
            Errno::NoChild => "No child processes",
            Errno::TryAgain => "Resource temporarily unavailable",
            Errno::OutOfMemory => "Cannot allocate memory",
            Errno::AccessDenied => "Permission denied",
            Errno::BadAddress => "Bad address",
            Errno::Busy => "Device or resource busy",
            Errno::Exists => "File exists",
            Errno::CrossDevice => "Invalid cross-device link",
            Errno::NotADirectory => "Not a directory",
            Errno::IsADirectory => "Is a directory",
            Errno::InvalidArgument => "Invalid argument",
            Errno::TooManyFilesInSystem => "Too many open files in system",
            Errno::TooManyFiles => "Too many open files",
            Errno::NotATerminal => "Inappropriate ioctl for device",
            Errno::FileTooLarge => "File too large",
            Errno::NoSpace => "No space left on device",
            Errno::IllegalSeek => "Illegal seek",
            Errno::ReadOnlyFileSystem => "Read-only file system",
            Errno::TooManyLinks => "Too many links",
            Errno::BrokenPipe => "Broken pipe",
            Errno::OutOfRange => "Numerical result out of range",
            Errno::NameTooLong => "File name too long",
            Errno::NotImplemented => "Function not implemented",
            Errno::NotEmpty => "Directory not empty",
            Errno::Loop => "Too many levels of symbolic links",
            Errno::Stale => "Stale file handle",
            Errno::Unknown => "Unknown error",
        }
    }
}

impl core::fmt::Display for Errno {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.description())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_values_round_trip_and_are_distinct() {
        for errno in ALL {
            assert_eq!(Errno::from_raw(errno as u32), errno);
        }
        let mut values: Vec<u32> = ALL.iter().map(|e| *e as u32).collect();
        values.sort();
        values.dedup();
        assert_eq!(
            values.len(),
            ALL.len() - 1,
            "every errno but the repeated Unknown is distinct"
        );
        assert_eq!(Errno::from_raw(6), Errno::NoSuchDeviceOrAddress);
        assert_eq!(Errno::from_raw(19), Errno::Unknown);
    }
}
