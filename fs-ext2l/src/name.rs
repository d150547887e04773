// SPDX-License-Identifier: MIT OR Apache-2.0
//! Which names a directory entry may carry.
//!
//! ext2 allows any bytes but `/` and NUL, up to 255 of them. ext2l reserves
//! the names made only of dots other than `.` and `..` (`...`, `....`, …):
//! `/...` is each domain's private namespace (DESIGN §5), so no real file may
//! ever be called that. Such names cannot be created, linked or renamed to,
//! and an entry already carrying one (a foreign or corrupt image) is
//! unreachable: lookups refuse it and the checker reports it.

use crate::error::{Error, Result};

/// Longest name a directory entry can hold.
pub const MAX_NAME_LENGTH: usize = 255;

/// Whether `name` is a reserved dot-only name: three or more dots and nothing else.
pub fn is_reserved_name(name: &[u8]) -> bool {
    name.len() >= 3 && name.iter().all(|&byte| byte == b'.')
}

/// Whether `name` is `.` or `..`.
pub fn is_dot_or_dot_dot(name: &[u8]) -> bool {
    name == b"." || name == b".."
}

/// Checks a name about to be created (by create, mkdir, symlink, link or rename).
///
/// Return values:
/// - `Ok(())` for a usable name;
/// - [`Error::InvalidName`] for an empty name, one containing `/` or NUL,
///   `.`, `..` or a reserved dot-only name;
/// - [`Error::NameTooLong`] past 255 bytes.
pub fn validate_new_name(name: &[u8]) -> Result<()> {
    validate_lookup_name(name)?;
    if is_dot_or_dot_dot(name) {
        return Err(Error::InvalidName);
    }
    Ok(())
}

/// Checks a name to look up: like [`validate_new_name`] but `.` and `..` are
/// left for the caller to decide.
///
/// Return values: as [`validate_new_name`].
pub fn validate_lookup_name(name: &[u8]) -> Result<()> {
    if name.is_empty() || name.iter().any(|&byte| byte == b'/' || byte == 0) {
        return Err(Error::InvalidName);
    }
    if name.len() > MAX_NAME_LENGTH {
        return Err(Error::NameTooLong);
    }
    if is_reserved_name(name) {
        return Err(Error::InvalidName);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_names() {
        assert!(is_reserved_name(b"..."));
        assert!(is_reserved_name(b"......"));
        assert!(!is_reserved_name(b".."));
        assert!(!is_reserved_name(b"...a"));
        assert_eq!(validate_new_name(b"..."), Err(Error::InvalidName));
        assert_eq!(validate_new_name(b".."), Err(Error::InvalidName));
        assert_eq!(validate_new_name(b"a/b"), Err(Error::InvalidName));
        assert_eq!(validate_new_name(b""), Err(Error::InvalidName));
        assert_eq!(validate_new_name(&[b'x'; 256]), Err(Error::NameTooLong));
        assert_eq!(validate_new_name(b".hidden"), Ok(()));
        assert_eq!(validate_lookup_name(b".."), Ok(()));
    }
}
