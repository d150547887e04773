// SPDX-License-Identifier: MIT OR Apache-2.0
//! `struct new_utsname` of `uname` (`linux/utsname.h`): six
//! NUL-terminated fields of 65 bytes — system, node, release, version,
//! machine, domain — 390 bytes. Checked against the host libc.

/// Bytes in each field, NUL included.
pub const FIELD_SIZE: usize = 65;
/// Bytes in the structure.
pub const UTSNAME_SIZE: usize = 6 * FIELD_SIZE;

/// What `uname` reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SystemName<'text> {
    /// `sysname` (`Linux` for programs that check it).
    pub system: &'text str,
    /// `nodename`: the host name.
    pub node: &'text str,
    /// `release`: a kernel version glibc accepts (it refuses to start on
    /// one older than it was built for).
    pub release: &'text str,
    /// `version`.
    pub version: &'text str,
    /// `machine` (`aarch64`, `x86_64`).
    pub machine: &'text str,
    /// `domainname`.
    pub domain: &'text str,
}

/// A field longer than 64 bytes or holding a NUL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldDoesNotFit {
    /// Which field, 0–5 in the order above.
    pub field: usize,
}

impl SystemName<'_> {
    /// The bytes a program reads, every unused byte zero.
    pub fn encode(&self) -> Result<[u8; UTSNAME_SIZE], FieldDoesNotFit> {
        let mut bytes = [0; UTSNAME_SIZE];
        let fields = [
            self.system,
            self.node,
            self.release,
            self.version,
            self.machine,
            self.domain,
        ];
        for (field, text) in fields.iter().enumerate() {
            if text.len() >= FIELD_SIZE || text.bytes().any(|b| b == 0) {
                return Err(FieldDoesNotFit { field });
            }
            let start = field * FIELD_SIZE;
            bytes[start..start + text.len()].copy_from_slice(text.as_bytes());
        }
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{offset_of, size_of};

    #[test]
    fn layout_matches_the_host_libc() {
        assert_eq!(size_of::<libc::utsname>(), UTSNAME_SIZE);
        assert_eq!(offset_of!(libc::utsname, sysname), 0);
        assert_eq!(offset_of!(libc::utsname, nodename), FIELD_SIZE);
        assert_eq!(offset_of!(libc::utsname, release), 2 * FIELD_SIZE);
        assert_eq!(offset_of!(libc::utsname, version), 3 * FIELD_SIZE);
        assert_eq!(offset_of!(libc::utsname, machine), 4 * FIELD_SIZE);
        assert_eq!(offset_of!(libc::utsname, domainname), 5 * FIELD_SIZE);
    }

    #[test]
    fn fields_are_nul_terminated_and_bounded() {
        let name = SystemName {
            system: "Linux",
            node: "manux",
            release: "6.1.0-manux",
            version: "#1",
            machine: "aarch64",
            domain: "(none)",
        };
        let bytes = name.encode().unwrap();
        assert_eq!(&bytes[..6], b"Linux\0");
        assert_eq!(&bytes[4 * FIELD_SIZE..4 * FIELD_SIZE + 8], b"aarch64\0");
        let long = "x".repeat(65);
        assert_eq!(
            SystemName {
                node: &long,
                ..name
            }
            .encode(),
            Err(FieldDoesNotFit { field: 1 })
        );
        let just_fits = "x".repeat(64);
        assert!(SystemName {
            node: &just_fits,
            ..name
        }
        .encode()
        .is_ok());
    }
}
