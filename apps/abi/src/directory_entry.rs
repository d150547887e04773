// SPDX-License-Identifier: MIT OR Apache-2.0
//! The records `getdents` writes: one per directory entry, packed.
//!
//! Each record is `inode: u64 (LE)`, `length: u16 (LE)` (of the whole
//! record, a multiple of 8), `kind: u8`, `name_length: u8`, then the name
//! bytes, zero-padded to `length`. The kernel writes whole records only;
//! [`Records`] reads them back and stops at the first malformed one, so a
//! hostile or truncated buffer never makes a reader misbehave.

/// Bytes before the name.
pub const HEADER_BYTES: usize = 12;

/// Entry kinds.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    /// Unknown type.
    Unknown = 0,
    /// Regular file.
    File = 1,
    /// Directory.
    Directory = 2,
    /// Symbolic link.
    Symlink = 7,
    /// Other (device, FIFO, socket).
    Other = 9,
}

impl EntryKind {
    fn from_raw(raw: u8) -> EntryKind {
        match raw {
            1 => EntryKind::File,
            2 => EntryKind::Directory,
            7 => EntryKind::Symlink,
            9 => EntryKind::Other,
            _ => EntryKind::Unknown,
        }
    }
}

/// The size of a record for a name of `name_length` bytes.
pub fn record_length(name_length: usize) -> usize {
    (HEADER_BYTES + name_length).div_ceil(8) * 8
}

/// Writes one record at the start of `buffer`; returns its length, or
/// `None` if it does not fit or the name is longer than 255 bytes.
pub fn encode(buffer: &mut [u8], inode: u64, kind: EntryKind, name: &[u8]) -> Option<usize> {
    let name_length = u8::try_from(name.len()).ok()?;
    let length = record_length(name.len());
    let record = buffer.get_mut(..length)?;
    record.fill(0);
    record[0..8].copy_from_slice(&inode.to_le_bytes());
    record[8..10].copy_from_slice(&(length as u16).to_le_bytes());
    record[10] = kind as u8;
    record[11] = name_length;
    record[HEADER_BYTES..HEADER_BYTES + name.len()].copy_from_slice(name);
    Some(length)
}

/// One decoded record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry<'a> {
    /// Inode number.
    pub inode: u64,
    /// Kind.
    pub kind: EntryKind,
    /// Name.
    pub name: &'a [u8],
}

/// Iterates over the records in a `getdents` buffer.
pub struct Records<'a> {
    rest: &'a [u8],
}

/// Reads the records in `buffer` (the bytes `getdents` reported).
pub fn records(buffer: &[u8]) -> Records<'_> {
    Records { rest: buffer }
}

impl<'a> Iterator for Records<'a> {
    type Item = Entry<'a>;

    fn next(&mut self) -> Option<Entry<'a>> {
        let header = self.rest.get(..HEADER_BYTES)?;
        let inode = u64::from_le_bytes(header[0..8].try_into().ok()?);
        let length = u16::from_le_bytes([header[8], header[9]]) as usize;
        let name_length = header[11] as usize;
        if length < record_length(name_length) || length % 8 != 0 || length > self.rest.len() {
            self.rest = &[];
            return None;
        }
        let entry = Entry {
            inode,
            kind: EntryKind::from_raw(header[10]),
            name: &self.rest[HEADER_BYTES..HEADER_BYTES + name_length],
        };
        self.rest = &self.rest[length..];
        Some(entry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        let mut buffer = [0u8; 256];
        let mut used = 0;
        let names: [&[u8]; 4] = [b".", b"..", b"a-long-file-name.txt", b""];
        for (index, name) in names.iter().enumerate() {
            used += encode(&mut buffer[used..], index as u64 + 2, EntryKind::File, name).unwrap();
        }
        let decoded: Vec<_> = records(&buffer[..used]).collect();
        assert_eq!(decoded.len(), 4);
        for (index, entry) in decoded.iter().enumerate() {
            assert_eq!(entry.name, names[index]);
            assert_eq!(entry.inode, index as u64 + 2);
        }
    }

    #[test]
    fn a_record_that_does_not_fit_is_refused() {
        let mut buffer = [0u8; 16];
        assert_eq!(encode(&mut buffer, 1, EntryKind::File, b"abcdefgh"), None);
        assert_eq!(encode(&mut buffer, 1, EntryKind::File, &[b'x'; 300]), None);
    }

    #[test]
    fn malformed_buffers_end_the_iteration() {
        for seed in 0u32..2000 {
            let mut buffer = [0u8; 64];
            let mut state = seed.wrapping_mul(2654435761).wrapping_add(1);
            for byte in buffer.iter_mut() {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                *byte = state as u8;
            }
            // Must terminate without panicking, consuming at most the buffer.
            let total: usize = records(&buffer)
                .map(|entry| record_length(entry.name.len()))
                .sum();
            assert!(total <= buffer.len());
        }
    }
}
