// SPDX-License-Identifier: MIT OR Apache-2.0
//! Path strings: joining a directory and a name, the last component
//! (`basename`), and the prefixes `mkdir -p` creates.
//!
//! Paths are bytes with `/` separators, as the kernel takes them; nothing
//! here touches the file system.

use crate::memory::{try_extend, try_push, OutOfMemory};
use alloc::vec::Vec;

/// `directory/name`, without doubling a `/` the directory already ends
/// with.
///
/// Return values: the path; [`OutOfMemory`].
pub fn join(directory: &[u8], name: &[u8]) -> Result<Vec<u8>, OutOfMemory> {
    let mut path = Vec::new();
    path.try_reserve(directory.len() + name.len() + 1)
        .map_err(|_| OutOfMemory)?;
    try_extend(&mut path, directory)?;
    if !directory.is_empty() && !directory.ends_with(b"/") {
        try_push(&mut path, b'/')?;
    }
    try_extend(&mut path, name)?;
    Ok(path)
}

/// `path` without trailing slashes (`/` stays `/`).
pub fn trim_trailing_slashes(path: &[u8]) -> &[u8] {
    let mut end = path.len();
    while end > 1 && path[end - 1] == b'/' {
        end -= 1;
    }
    &path[..end]
}

/// The last component of `path`, as `basename` gives it: trailing
/// slashes ignored, `/` for the root, the path itself when it has no `/`.
pub fn base_name(path: &[u8]) -> &[u8] {
    let trimmed = trim_trailing_slashes(path);
    if trimmed == b"/" {
        return trimmed;
    }
    match trimmed.iter().rposition(|&byte| byte == b'/') {
        Some(slash) => &trimmed[slash + 1..],
        None => trimmed,
    }
}

/// The directory part of `path`, as `dirname` gives it: `.` when there is
/// no `/`, `/` for names in the root.
pub fn directory_name(path: &[u8]) -> &[u8] {
    let trimmed = trim_trailing_slashes(path);
    match trimmed.iter().rposition(|&byte| byte == b'/') {
        None => b".",
        Some(slash) => {
            let parent = trim_trailing_slashes(&trimmed[..slash]);
            if parent.is_empty() {
                b"/"
            } else {
                parent
            }
        }
    }
}

/// Whether the last component of `path` is `.` or `..` (which `rm` and
/// `rmdir` refuse to remove).
pub fn ends_in_dot_or_dot_dot(path: &[u8]) -> bool {
    matches!(base_name(path), b"." | b"..")
}

/// The end offsets of each prefix of `path` that names a directory to
/// create for `mkdir -p`: `a/b/c` gives the ends of `a`, `a/b`, `a/b/c`;
/// empty components (`a//b`) and a leading `/` make none.
pub fn prefix_ends(path: &[u8]) -> impl Iterator<Item = usize> + '_ {
    let path = trim_trailing_slashes(path);
    (1..=path.len())
        .filter(move |&end| (end == path.len() || path[end] == b'/') && path[end - 1] != b'/')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joining() {
        assert_eq!(join(b"/bin", b"ls").unwrap(), b"/bin/ls");
        assert_eq!(join(b"/", b"etc").unwrap(), b"/etc");
        assert_eq!(join(b"dir/", b"x").unwrap(), b"dir/x");
        assert_eq!(join(b"", b"x").unwrap(), b"x");
    }

    #[test]
    fn base_and_directory_names() {
        let cases: [(&[u8], &[u8], &[u8]); 8] = [
            (b"/usr/lib", b"lib", b"/usr"),
            (b"/usr/", b"usr", b"/"),
            (b"usr", b"usr", b"."),
            (b"/", b"/", b"/"),
            (b"a//b//", b"b", b"a"),
            (b".", b".", b"."),
            (b"..", b"..", b"."),
            (b"", b"", b"."),
        ];
        for (path, base, directory) in cases {
            assert_eq!(base_name(path), base, "{path:?}");
            assert_eq!(directory_name(path), directory, "{path:?}");
        }
        assert!(ends_in_dot_or_dot_dot(b"a/.."));
        assert!(ends_in_dot_or_dot_dot(b"./"));
        assert!(!ends_in_dot_or_dot_dot(b"a/..b"));
    }

    #[test]
    fn mkdir_prefixes() {
        let path = b"/a//b/c/";
        let prefixes: Vec<&[u8]> = prefix_ends(path).map(|end| &path[..end]).collect();
        assert_eq!(prefixes, [b"/a".as_slice(), b"/a//b", b"/a//b/c"]);
        assert_eq!(prefix_ends(b"x").collect::<Vec<_>>(), [1]);
        assert_eq!(prefix_ends(b"/").count(), 0);
        assert_eq!(prefix_ends(b"").count(), 0);
    }
}
