// SPDX-License-Identifier: MIT OR Apache-2.0
//! New names for entries that may not keep theirs.
//!
//! Two entries of one directory with the same name and different inodes
//! (e2fsck's `PR_2_NON_UNIQUE_FILE`), and a reserved dot-only name (`...`,
//! `....`: DESIGN §4 reserves them), get a new name the way e2fsck's
//! `mutate_name` (`e2fsck/rehash.c`) makes one: the end of the name
//! becomes `~0` (the name grows by two bytes, or to the next multiple of
//! four, at most 255), and a name already ending in `~` and digits counts
//! up (`~0` … `~9`, then `~10`…). The caller repeats until the name is not
//! taken. So `test-008` becomes `test-0~0`, `...` becomes `..~0`.

use alloc::vec::Vec;

use crate::name::MAX_NAME_LENGTH;

/// The next candidate name after `name` (see the module doc).
pub(super) fn mutate_name(name: &[u8]) -> Vec<u8> {
    let mut name: Vec<u8> = name.into();
    let length = name.len();
    if length == 0 {
        return Vec::from(&b"~0"[..]);
    }
    // Already mutated: `…~` followed by digits at the end.
    let mut index = length - 1;
    while index > 0 && name[index].is_ascii_digit() {
        index -= 1;
    }
    if index == length - 1 || name[index] != b'~' {
        let mut new_length = if (length - 1) & 3 < 2 {
            length + 2
        } else {
            (length + 3) & !3
        };
        new_length = new_length.min(MAX_NAME_LENGTH);
        name.resize(new_length, 0);
        name[new_length - 2] = b'~';
        name[new_length - 1] = b'0';
        return name;
    }
    // Count up the digits, carrying; a carry out of the first digit
    // widens the number.
    let mut position = length;
    while position > index + 1 {
        position -= 1;
        if name[position] == b'9' {
            name[position] = b'0';
        } else {
            name[position] += 1;
            return name;
        }
    }
    if name.len() < MAX_NAME_LENGTH {
        name.insert(index + 1, b'1');
    } else if index > 0 {
        // No room to widen: borrow the byte before the `~`.
        name.remove(index - 1);
        name.insert(index, b'1');
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_change_as_e2fsck_changes_them() {
        assert_eq!(mutate_name(b"test-008"), b"test-0~0");
        assert_eq!(mutate_name(b"modules.conf.old"), b"modules.conf.o~0");
        assert_eq!(mutate_name(b"..."), b"..~0");
        assert_eq!(mutate_name(b"a"), b"a~0");
        assert_eq!(mutate_name(b"abcde"), b"abcde~0");
        assert_eq!(mutate_name(b"x~0"), b"x~1");
        assert_eq!(mutate_name(b"x~9"), b"x~10");
        assert_eq!(mutate_name(&[b'n'; 255]).len(), 255);
    }
}
