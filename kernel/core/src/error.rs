// SPDX-License-Identifier: MIT OR Apache-2.0
//! What can go wrong in the core, and the one conversion to an errno.
//!
//! The core keeps the file system's and the namespace's own errors as they
//! are (so a host tool can print "corrupt: …" rather than "I/O error") and
//! adds the few that belong to objects and views. The kernel's system-call
//! dispatcher turns an [`Error`] into a [`manux_abi::Errno`] through the
//! `From` impl here, the only place the mapping is written (STYLE §6).

use manux_abi::Errno;

/// An error of the core.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The file system refused the operation or failed.
    FileSystem(fs_ext2l::Error),
    /// A `/...` name or change was refused.
    Dots(dotdotdot::Error),
    /// The handle's object is gone and its inode number holds another
    /// object (or none): never that other object (`ESTALE`).
    Stale,
    /// The table of live objects is full (`ENFILE`). With every new
    /// object charged to a budget whose pool is the table's size, only a
    /// volume whose objects nobody pays for (the host tools) sees it.
    TooManyObjects,
    /// A new live object was refused by the budget paying for it: the
    /// tree's share of live objects, or the machine's outside the
    /// reserve, is used up (`ENOMEM`).
    OverBudget(crate::budget::OverBudget),
    /// A change through a read-only `/...` entry, or in a virtual `/...`
    /// directory (`EACCES`).
    AccessDenied,
    /// A path that names nothing the call can use: empty, or ending in
    /// `.` or `..` where an entry name is needed (`EINVAL`).
    InvalidPath,
    /// A path longer than [`manux_abi::limits::PATH_BYTES`] (`ENAMETOOLONG`).
    PathTooLong,
    /// The kernel heap could not hold what the call needs (`ENOMEM`).
    OutOfMemory,
}

impl From<fs_ext2l::Error> for Error {
    fn from(error: fs_ext2l::Error) -> Self {
        Error::FileSystem(error)
    }
}

impl From<dotdotdot::Error> for Error {
    fn from(error: dotdotdot::Error) -> Self {
        Error::Dots(error)
    }
}

impl core::fmt::Display for Error {
    fn fmt(&self, formatter: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Error::FileSystem(error) => write!(formatter, "{error}"),
            Error::Dots(error) => write!(formatter, "/...: {error:?}"),
            other => formatter.write_str(Errno::from(*other).description()),
        }
    }
}

/// The errno of a file-system error.
fn file_system_errno(error: fs_ext2l::Error) -> Errno {
    use fs_ext2l::Error as E;
    match error {
        E::NotFound => Errno::NotFound,
        E::NotADirectory => Errno::NotADirectory,
        E::IsADirectory => Errno::IsADirectory,
        E::NotASymlink => Errno::InvalidArgument,
        E::Exists => Errno::Exists,
        E::NotEmpty => Errno::NotEmpty,
        E::NoSpace => Errno::NoSpace,
        E::ReadOnly => Errno::ReadOnlyFileSystem,
        E::Immutable | E::NotPermitted => Errno::NotPermitted,
        E::InvalidName => Errno::InvalidArgument,
        E::NameTooLong => Errno::NameTooLong,
        E::TooManyLinks => Errno::TooManyLinks,
        E::WouldCycle => Errno::InvalidArgument,
        E::TooManySymlinks => Errno::Loop,
        E::FileTooLarge => Errno::FileTooLarge,
        E::InvalidArgument => Errno::InvalidArgument,
        E::FeatureInUse => Errno::Busy,
        _ => Errno::InputOutput,
    }
}

impl From<Error> for Errno {
    fn from(error: Error) -> Self {
        match error {
            Error::FileSystem(error) => file_system_errno(error),
            Error::Dots(dotdotdot::Error::InvalidName) => Errno::InvalidArgument,
            Error::Dots(dotdotdot::Error::NoSpace) => Errno::NoSpace,
            Error::Dots(dotdotdot::Error::Exists) => Errno::Exists,
            Error::Dots(dotdotdot::Error::NotFound) => Errno::NotFound,
            Error::Dots(dotdotdot::Error::InsideLeaf) => Errno::NotADirectory,
            Error::Stale => Errno::Stale,
            Error::TooManyObjects => Errno::TooManyFilesInSystem,
            Error::OverBudget(_) => Errno::OutOfMemory,
            Error::AccessDenied => Errno::AccessDenied,
            Error::InvalidPath => Errno::InvalidArgument,
            Error::PathTooLong => Errno::NameTooLong,
            Error::OutOfMemory => Errno::OutOfMemory,
        }
    }
}

impl From<crate::program::LoadError> for Errno {
    fn from(error: crate::program::LoadError) -> Self {
        use crate::program::LoadError;
        match error {
            LoadError::Rejected(_) => Errno::NotExecutable,
            LoadError::ArgumentsTooLong => Errno::ArgumentsTooLong,
            LoadError::OutOfMemory => Errno::OutOfMemory,
            LoadError::Memory(errno) => errno,
        }
    }
}

impl From<crate::xchroot::XchrootError> for Errno {
    fn from(error: crate::xchroot::XchrootError) -> Self {
        use crate::xchroot::XchrootError;
        match error {
            XchrootError::InvalidOperation => Errno::InvalidArgument,
            XchrootError::PathTooLong => Errno::NameTooLong,
            XchrootError::AccessDenied => Errno::AccessDenied,
            XchrootError::NotADirectory => Errno::NotADirectory,
            XchrootError::NotReachable => Errno::NotFound,
            XchrootError::Dots(error) => Errno::from(Error::Dots(error)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_core_error_has_its_own_errno() {
        assert_eq!(Errno::from(Error::Stale), Errno::Stale);
        assert_eq!(
            Errno::from(Error::TooManyObjects),
            Errno::TooManyFilesInSystem
        );
        assert_eq!(
            Errno::from(Error::OverBudget(crate::budget::OverBudget::Tree(
                crate::budget::Pool::LiveObjects
            ))),
            Errno::OutOfMemory
        );
        assert_eq!(
            Errno::from(Error::FileSystem(fs_ext2l::Error::NotFound)),
            Errno::NotFound
        );
        assert_eq!(
            Errno::from(Error::Dots(dotdotdot::Error::InsideLeaf)),
            Errno::NotADirectory
        );
    }
}
