// SPDX-License-Identifier: MIT OR Apache-2.0
//! Error types of the ext2l library.
//!
//! [`Error`] is the one error every public operation returns. Its variants are
//! chosen so the kernel can map each to exactly one errno (the mapping lives in
//! the kernel's syscall layer, STYLE §6); the comment on each variant names the
//! errno it is meant for. [`DeviceError`] is what a [`crate::BlockDevice`]
//! reports; it travels inside [`Error::Device`]. Corruption carries a static
//! description and, where known, the inode and block involved, so a message
//! can point at the damage.

use core::fmt;

use crate::features::FeatureSet;

/// What a [`crate::BlockDevice`] reports when an access fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceError {
    /// The access reaches past the end of the device.
    OutOfRange,
    /// The device refuses writes.
    ReadOnly,
    /// The medium failed; `code` is an OS error number when one is known, else 0.
    Failed {
        /// OS error number (`errno` on the host), 0 when unknown.
        code: i32,
    },
}

impl fmt::Display for DeviceError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceError::OutOfRange => write!(formatter, "access beyond the end of the device"),
            DeviceError::ReadOnly => write!(formatter, "device is read-only"),
            DeviceError::Failed { code: 0 } => write!(formatter, "device input/output error"),
            DeviceError::Failed { code } => {
                write!(formatter, "device input/output error (os error {code})")
            }
        }
    }
}

/// Where on-disk damage was found: a static description plus, when known, the
/// inode and the block that hold it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Corruption {
    /// What is wrong, in words.
    pub reason: &'static str,
    /// The inode concerned, 0 when none.
    pub inode: u32,
    /// The block concerned, 0 when none.
    pub block: u64,
}

impl fmt::Display for Corruption {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}", self.reason)?;
        if self.inode != 0 {
            write!(formatter, " (inode {})", self.inode)?;
        }
        if self.block != 0 {
            write!(formatter, " (block {})", self.block)?;
        }
        Ok(())
    }
}

/// Every error an ext2l operation returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// No entry of that name, or no such inode in use (`ENOENT`).
    NotFound,
    /// A directory was needed (`ENOTDIR`).
    NotADirectory,
    /// The operation does not apply to a directory (`EISDIR`).
    IsADirectory,
    /// The operation applies only to symbolic links (`EINVAL`).
    NotASymlink,
    /// The name already exists (`EEXIST`).
    Exists,
    /// The directory still has entries (`ENOTEMPTY`).
    NotEmpty,
    /// No free block or inode is left (`ENOSPC`).
    NoSpace,
    /// The file system is mounted read-only (`EROFS`).
    ReadOnly,
    /// The inode or directory carries the immutable flag (`EPERM`).
    Immutable,
    /// The ordinary API may not do this (hard link to a directory, a rootlink
    /// on a non-regular file, …); only the installer may (`EPERM`).
    NotPermitted,
    /// The name is empty, contains `/` or NUL, is `.` or `..`, or is a
    /// reserved dot-only name such as `...` (`EINVAL`).
    InvalidName,
    /// A name is longer than 255 bytes, or a symlink target too long (`ENAMETOOLONG`).
    NameTooLong,
    /// The link count would exceed the ext2 limit (`EMLINK`).
    TooManyLinks,
    /// The rename or directory link would make a directory contain itself (`EINVAL`).
    WouldCycle,
    /// Too many symbolic links while resolving a path (`ELOOP`).
    TooManySymlinks,
    /// The offset or size is beyond what the file system can address (`EFBIG`).
    FileTooLarge,
    /// An argument is out of range (`EINVAL`).
    InvalidArgument,
    /// The ext2l feature cannot be turned off: rootlinks or directory
    /// hardlinks exist (`EBUSY`).
    FeatureInUse,
    /// The image is damaged (`EIO`; Linux says `EUCLEAN`).
    Corrupt(Corruption),
    /// The image uses incompatible features this library does not implement;
    /// mounting is refused (`EINVAL` at mount).
    Unsupported {
        /// The features that are not implemented.
        features: FeatureSet,
    },
    /// The volume's journal holds transactions that must be replayed
    /// first (its `needs_recovery` flag is set), and this mount or
    /// operation may not write: a read-only mount (or a volume this library
    /// only mounts read-only), or a journal opened for writing while its
    /// log is not empty (`EROFS` at mount).
    NeedsRecovery,
    /// The block device failed (`EIO`).
    Device(DeviceError),
}

impl Error {
    /// A corruption error with a reason only.
    pub(crate) const fn corrupt(reason: &'static str) -> Error {
        Error::Corrupt(Corruption {
            reason,
            inode: 0,
            block: 0,
        })
    }

    /// A corruption error about one inode.
    pub(crate) const fn corrupt_inode(reason: &'static str, inode: u32) -> Error {
        Error::Corrupt(Corruption {
            reason,
            inode,
            block: 0,
        })
    }

    /// A corruption error about one block of one inode.
    pub(crate) const fn corrupt_block(reason: &'static str, inode: u32, block: u64) -> Error {
        Error::Corrupt(Corruption {
            reason,
            inode,
            block,
        })
    }
}

impl From<DeviceError> for Error {
    fn from(error: DeviceError) -> Self {
        Error::Device(error)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NotFound => write!(formatter, "no such file or directory"),
            Error::NotADirectory => write!(formatter, "not a directory"),
            Error::IsADirectory => write!(formatter, "is a directory"),
            Error::NotASymlink => write!(formatter, "not a symbolic link"),
            Error::Exists => write!(formatter, "file exists"),
            Error::NotEmpty => write!(formatter, "directory not empty"),
            Error::NoSpace => write!(formatter, "no space left on the file system"),
            Error::ReadOnly => write!(formatter, "file system is read-only"),
            Error::Immutable => write!(formatter, "operation not permitted: immutable"),
            Error::NotPermitted => write!(formatter, "operation not permitted"),
            Error::InvalidName => write!(formatter, "invalid or reserved name"),
            Error::NameTooLong => write!(formatter, "name too long"),
            Error::TooManyLinks => write!(formatter, "too many links"),
            Error::WouldCycle => {
                write!(formatter, "a directory cannot be placed inside itself")
            }
            Error::TooManySymlinks => write!(formatter, "too many levels of symbolic links"),
            Error::FileTooLarge => write!(formatter, "file too large"),
            Error::InvalidArgument => write!(formatter, "invalid argument"),
            Error::FeatureInUse => write!(
                formatter,
                "the ext2l feature is in use (rootlinks or directory hardlinks exist)"
            ),
            Error::Corrupt(corruption) => write!(formatter, "corrupt file system: {corruption}"),
            Error::Unsupported { features } => {
                write!(formatter, "unsupported file system features: {features}")
            }
            Error::NeedsRecovery => write!(
                formatter,
                "the journal needs recovery, which a read-only mount cannot do (run `ext2l recover`)"
            ),
            Error::Device(error) => write!(formatter, "{error}"),
        }
    }
}

/// The result type of every ext2l operation.
pub type Result<T> = core::result::Result<T, Error>;
