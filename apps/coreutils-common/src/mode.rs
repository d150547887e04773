// SPDX-License-Identifier: MIT OR Apache-2.0
//! File types and permission bits of `Stat::mode` (Linux's `S_IF*`
//! values, which ext2 stores), the `ls -l` mode string, and the names of
//! ext2 inode flags.

/// Mask of the file-type bits.
pub const TYPE_MASK: u32 = 0o170_000;
/// Socket.
pub const SOCKET: u32 = 0o140_000;
/// Symbolic link.
pub const SYMLINK: u32 = 0o120_000;
/// Regular file.
pub const REGULAR: u32 = 0o100_000;
/// Block device.
pub const BLOCK_DEVICE: u32 = 0o060_000;
/// Directory.
pub const DIRECTORY: u32 = 0o040_000;
/// Character device.
pub const CHARACTER_DEVICE: u32 = 0o020_000;
/// FIFO.
pub const FIFO: u32 = 0o010_000;

/// ext2's immutable inode flag (`Stat::flags`).
pub const FLAG_IMMUTABLE: u32 = 0x10;

/// Whether `mode` is a directory.
pub fn is_directory(mode: u32) -> bool {
    mode & TYPE_MASK == DIRECTORY
}

/// Whether `mode` is a symbolic link.
pub fn is_symlink(mode: u32) -> bool {
    mode & TYPE_MASK == SYMLINK
}

/// Whether `mode` is a regular file.
pub fn is_regular(mode: u32) -> bool {
    mode & TYPE_MASK == REGULAR
}

/// The type letter of `ls -l`.
pub fn type_letter(mode: u32) -> u8 {
    match mode & TYPE_MASK {
        REGULAR => b'-',
        DIRECTORY => b'd',
        SYMLINK => b'l',
        CHARACTER_DEVICE => b'c',
        BLOCK_DEVICE => b'b',
        FIFO => b'p',
        SOCKET => b's',
        _ => b'?',
    }
}

/// The type as `stat` names it (GNU's words).
pub fn type_name(mode: u32, size: u64) -> &'static str {
    match mode & TYPE_MASK {
        REGULAR if size == 0 => "regular empty file",
        REGULAR => "regular file",
        DIRECTORY => "directory",
        SYMLINK => "symbolic link",
        CHARACTER_DEVICE => "character special file",
        BLOCK_DEVICE => "block special file",
        FIFO => "fifo",
        SOCKET => "socket",
        _ => "unknown",
    }
}

/// The ten-character mode string of `ls -l` (`drwxr-xr-x`): the type
/// letter, then `rwx` for owner, group and others, with set-user-id,
/// set-group-id and sticky shown as `s`/`S` and `t`/`T` in the execute
/// places (POSIX `ls`, "The STDOUT section").
pub fn mode_string(mode: u32) -> [u8; 10] {
    let mut text = [b'-'; 10];
    text[0] = type_letter(mode);
    let bits = [
        (0o400, b'r'),
        (0o200, b'w'),
        (0o100, b'x'),
        (0o040, b'r'),
        (0o020, b'w'),
        (0o010, b'x'),
        (0o004, b'r'),
        (0o002, b'w'),
        (0o001, b'x'),
    ];
    for (index, (bit, letter)) in bits.iter().enumerate() {
        if mode & bit != 0 {
            text[index + 1] = *letter;
        }
    }
    let specials = [(0o4000, 3, b's'), (0o2000, 6, b's'), (0o1000, 9, b't')];
    for (bit, index, letter) in specials {
        if mode & bit != 0 {
            text[index] = if text[index] == b'x' {
                letter
            } else {
                letter.to_ascii_uppercase()
            };
        }
    }
    text
}

/// The ext2 inode flags (`i_flags`) by name, as `lsattr` spells them
/// out (ext2 layout, "i_flags").
pub const FLAG_NAMES: [(u32, &str); 13] = [
    (0x1, "secure-deletion"),
    (0x2, "undelete"),
    (0x4, "compressed"),
    (0x8, "synchronous"),
    (FLAG_IMMUTABLE, "immutable"),
    (0x20, "append-only"),
    (0x40, "no-dump"),
    (0x80, "no-access-time"),
    (0x1000, "indexed"),
    (0x2000, "imagic"),
    (0x4000, "journal-data"),
    (0x8000, "no-tail-merge"),
    (0x10000, "directory-synchronous"),
];

/// The names of the flags set in `flags`, in bit order; bits without a
/// name are left out (the caller prints the number too).
pub fn flag_names(flags: u32) -> impl Iterator<Item = &'static str> {
    FLAG_NAMES
        .iter()
        .filter(move |(bit, _)| flags & bit != 0)
        .map(|(_, name)| *name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn text(mode: u32) -> &'static str {
        let bytes = mode_string(mode);
        alloc::string::String::from_utf8(bytes.to_vec())
            .unwrap()
            .leak()
    }

    #[test]
    fn mode_strings() {
        assert_eq!(text(0o040_755), "drwxr-xr-x");
        assert_eq!(text(0o100_644), "-rw-r--r--");
        assert_eq!(text(0o120_777), "lrwxrwxrwx");
        assert_eq!(text(0o104_755), "-rwsr-xr-x");
        assert_eq!(text(0o102_644), "-rw-r-Sr--");
        assert_eq!(text(0o041_777), "drwxrwxrwt");
        assert_eq!(text(0o041_776), "drwxrwxrwT");
        assert_eq!(text(0o020_620), "crw--w----");
        assert_eq!(text(0o010_600), "prw-------");
        assert_eq!(text(0o140_000), "s---------");
        assert_eq!(text(0o060_000), "b---------");
        assert_eq!(text(0o000_000), "?---------");
        assert_eq!(text(u32::MAX), "?rwsrwsrwt");
    }

    #[test]
    fn types() {
        assert!(is_directory(0o040_555) && !is_directory(0o100_644));
        assert!(is_symlink(0o120_777) && is_regular(0o100_000));
        assert_eq!(type_name(0o100_644, 0), "regular empty file");
        assert_eq!(type_name(0o100_644, 1), "regular file");
        assert_eq!(type_name(0o120_777, 4), "symbolic link");
        assert_eq!(type_name(0o170_000, 4), "unknown");
    }

    #[test]
    fn flags() {
        let names: Vec<_> = flag_names(0x10 | 0x1000 | 0x8000_0000).collect();
        assert_eq!(names, ["immutable", "indexed"]);
        assert_eq!(flag_names(0).count(), 0);
    }
}
