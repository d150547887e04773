// SPDX-License-Identifier: MIT OR Apache-2.0
//! Unit tests of the namespace operations, through the public API.
//!
//! Each test builds a small tree by hand and checks one rule of the README.
//! Handles are plain numbers here; the property tests in `tests/model.rs`
//! compare long random operation sequences with a simple model.

use alloc::vec;
use alloc::vec::Vec;

use crate::{
    AccessMode, BatchError, Entry, EntryKind, Error, Namespace, Operation, Resolved, MAX_ENTRIES,
};

use AccessMode::{ReadOnly, ReadWrite};

/// A namespace holding `names` as read-only leaves with handles 0, 1, 2, ….
fn namespace_with(names: &[&[u8]]) -> Namespace<u32> {
    let mut namespace = Namespace::new();
    for (handle, name) in (0..).zip(names) {
        namespace.put(name, handle, ReadOnly).unwrap();
    }
    namespace
}

/// The names and kinds of the virtual directory `name` (`b""` for the root).
fn listing(namespace: &Namespace<u32>, name: &[u8]) -> Vec<(Vec<u8>, EntryKind)> {
    let directory = if name.is_empty() {
        namespace.root()
    } else {
        match namespace.lookup(name) {
            Ok(Entry::Directory(directory)) => directory,
            other => panic!("{name:?} is not a virtual directory: {other:?}"),
        }
    };
    directory
        .entries()
        .map(|(child, entry)| (child.to_vec(), entry.kind()))
        .collect()
}

fn leaf_handle(namespace: &Namespace<u32>, name: &[u8]) -> Option<(u32, AccessMode)> {
    match namespace.lookup(name) {
        Ok(Entry::Leaf(leaf)) => Some((*leaf.handle(), leaf.mode())),
        _ => None,
    }
}

#[test]
fn put_creates_virtual_parents() {
    let mut namespace = Namespace::new();
    namespace.put(b"rocknroll/blues.dat", 7, ReadWrite).unwrap();
    assert_eq!(
        leaf_handle(&namespace, b"rocknroll/blues.dat"),
        Some((7, ReadWrite))
    );
    assert_eq!(
        listing(&namespace, b""),
        vec![(b"rocknroll".to_vec(), EntryKind::VirtualDirectory)]
    );
    assert_eq!(
        listing(&namespace, b"rocknroll"),
        vec![(b"blues.dat".to_vec(), EntryKind::Leaf(ReadWrite))]
    );
    // The leaf and its virtual directory.
    assert_eq!(namespace.len(), 2);
}

#[test]
fn listing_is_sorted_by_bytes() {
    let namespace = namespace_with(&[b"b", b"a/x", b"C", b"\xff", b"a-"]);
    let names: Vec<Vec<u8>> = listing(&namespace, b"")
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    assert_eq!(names, [&b"C"[..], b"a", b"a-", b"b", b"\xff"]);
}

#[test]
fn put_refuses_existing_names_and_names_inside_leaves() {
    let mut namespace = namespace_with(&[b"home/alice"]);
    assert_eq!(
        namespace.put(b"home/alice", 9, ReadWrite),
        Err(Error::Exists)
    );
    assert_eq!(namespace.put(b"home", 9, ReadWrite), Err(Error::Exists));
    assert_eq!(
        namespace.put(b"home/alice/notes", 9, ReadWrite),
        Err(Error::InsideLeaf)
    );
    assert_eq!(
        namespace.put(b"home/alice/a/b", 9, ReadWrite),
        Err(Error::InsideLeaf)
    );
    assert_eq!(namespace, namespace_with(&[b"home/alice"]));
}

#[test]
fn put_refuses_invalid_names() {
    let mut namespace = Namespace::new();
    for name in [
        &b""[..],
        b"/x",
        b"x/",
        b"a//b",
        b".",
        b"..",
        b"...",
        b"a/../b",
        b"a\0",
    ] {
        assert_eq!(namespace.put(name, 1, ReadOnly), Err(Error::InvalidName));
    }
    assert!(namespace.is_empty());
}

#[test]
fn remove_prunes_parents_left_empty() {
    let mut namespace = namespace_with(&[b"a/b/c", b"a/d"]);
    namespace.remove(b"a/b/c").unwrap();
    // `a/b` had nothing else and is gone; `a` still holds `d`.
    assert_eq!(namespace.lookup(b"a/b"), Err(Error::NotFound));
    assert_eq!(
        listing(&namespace, b"a"),
        vec![(b"d".to_vec(), EntryKind::Leaf(ReadOnly))]
    );
    assert_eq!(namespace.len(), 2);
    namespace.remove(b"a/d").unwrap();
    assert!(namespace.is_empty());
    assert!(namespace.root().is_empty());
}

#[test]
fn remove_of_a_virtual_directory_removes_its_subtree() {
    let mut namespace = namespace_with(&[b"3/true", b"3/lib/x", b"4/false"]);
    assert_eq!(namespace.len(), 6);
    namespace.remove(b"3").unwrap();
    assert_eq!(namespace.lookup(b"3"), Err(Error::NotFound));
    assert_eq!(leaf_handle(&namespace, b"4/false"), Some((2, ReadOnly)));
    assert_eq!(namespace.len(), 2);
}

#[test]
fn remove_reports_missing_and_inside_leaf_names() {
    let mut namespace = namespace_with(&[b"home/alice"]);
    assert_eq!(namespace.remove(b"home/bob"), Err(Error::NotFound));
    assert_eq!(namespace.remove(b"nothing/here"), Err(Error::NotFound));
    assert_eq!(
        namespace.remove(b"home/alice/notes"),
        Err(Error::InsideLeaf)
    );
    assert_eq!(namespace.remove(b"home/"), Err(Error::InvalidName));
    assert_eq!(namespace.remove(b""), Err(Error::InvalidName));
    assert_eq!(namespace, namespace_with(&[b"home/alice"]));
}

#[test]
fn remove_all_empties_the_tree() {
    let mut namespace = namespace_with(&[b"a/b", b"c"]);
    namespace.remove_all();
    assert!(namespace.is_empty());
    assert!(namespace.root().is_empty());
    assert_eq!(namespace.fresh_name().as_bytes(), b"1");
}

#[test]
fn lookup_distinguishes_missing_inside_leaf_and_invalid() {
    let namespace = namespace_with(&[b"home/alice"]);
    assert!(matches!(namespace.lookup(b"home"), Ok(Entry::Directory(_))));
    assert_eq!(namespace.lookup(b"home/bob"), Err(Error::NotFound));
    assert_eq!(namespace.lookup(b"home/alice/x"), Err(Error::InsideLeaf));
    assert_eq!(namespace.lookup(b"home/../etc"), Err(Error::InvalidName));
}

#[test]
fn resolve_stops_at_the_first_leaf() {
    let namespace = namespace_with(&[b"home/alice", b"rocknroll/blues.dat"]);

    let empty: [&[u8]; 0] = [];
    assert_eq!(
        namespace.resolve(&empty),
        Ok(Resolved::Virtual(namespace.root()))
    );

    match namespace.resolve(&[&b"home"[..]]) {
        Ok(Resolved::Virtual(directory)) => assert_eq!(directory.len(), 1),
        other => panic!("home: {other:?}"),
    }

    // `rest` is returned verbatim, `..` included: the kernel's walk handles it.
    let path = [&b"home"[..], b"alice", b"notes", b"..", b"todo.txt"];
    assert_eq!(
        namespace.resolve(&path),
        Ok(Resolved::Leaf {
            handle: &0,
            mode: ReadOnly,
            rest: &path[2..],
        })
    );

    let exact = [b"rocknroll".to_vec(), b"blues.dat".to_vec()];
    match namespace.resolve(&exact) {
        Ok(Resolved::Leaf { handle, rest, .. }) => {
            assert_eq!(*handle, 1);
            assert!(rest.is_empty());
        }
        other => panic!("rocknroll/blues.dat: {other:?}"),
    }
}

#[test]
fn resolve_refuses_dots_and_missing_names_before_a_leaf() {
    let namespace = namespace_with(&[b"home/alice"]);
    assert_eq!(namespace.resolve(&["home", "bob"]), Err(Error::NotFound));
    assert_eq!(namespace.resolve(&["nothing"]), Err(Error::NotFound));
    assert_eq!(namespace.resolve(&["home", ".."]), Err(Error::InvalidName));
    assert_eq!(namespace.resolve(&[".", "home"]), Err(Error::InvalidName));
    assert_eq!(namespace.resolve(&["", "home"]), Err(Error::InvalidName));
    assert_eq!(namespace.resolve(&["..."]), Err(Error::InvalidName));
}

#[test]
fn fresh_name_is_the_smallest_unused_top_level_number() {
    assert_eq!(Namespace::<u32>::new().fresh_name().as_bytes(), b"1");
    // `01` and `x/2` do not spell the top-level names `1` and `2`.
    let namespace = namespace_with(&[b"1/true", b"2", b"4/x", b"01", b"x/3"]);
    assert_eq!(namespace.fresh_name().as_bytes(), b"3");
    // Asking again gives the same name until it is used.
    assert_eq!(namespace.fresh_name().as_bytes(), b"3");
}

#[test]
fn fresh_name_is_found_in_a_full_top_level() {
    let mut namespace = Namespace::new();
    for number in 1..=MAX_ENTRIES {
        let name = alloc::format!("{number}");
        namespace.put(name.as_bytes(), 0u32, ReadOnly).unwrap();
    }
    assert_eq!(namespace.fresh_name().number() as usize, MAX_ENTRIES + 1);
}

#[test]
fn entry_limit_counts_virtual_directories() {
    let mut namespace = Namespace::new();
    for number in 0..MAX_ENTRIES - 1 {
        let name = alloc::format!("n{number}");
        namespace.put(name.as_bytes(), 0u32, ReadOnly).unwrap();
    }
    assert_eq!(namespace.len(), MAX_ENTRIES - 1);
    // One name left: a leaf in a new virtual directory needs two.
    let before = namespace.clone();
    assert_eq!(namespace.put(b"dir/leaf", 1, ReadOnly), Err(Error::NoSpace));
    assert_eq!(namespace, before);
    namespace.put(b"last", 1, ReadOnly).unwrap();
    assert_eq!(namespace.len(), MAX_ENTRIES);
    assert_eq!(namespace.put(b"more", 1, ReadOnly), Err(Error::NoSpace));
    // A structural error is reported before the lack of space.
    assert_eq!(namespace.put(b"last", 1, ReadOnly), Err(Error::Exists));
    // Removing makes room again.
    namespace.remove(b"n0").unwrap();
    namespace.put(b"more", 1, ReadOnly).unwrap();
}

#[test]
fn clones_share_until_one_changes() {
    let parent = namespace_with(&[b"home/alice", b"bin/ls"]);
    let mut child = parent.clone();
    assert!(child.shares_storage_with(&parent));

    // Failed changes do not unshare.
    assert_eq!(child.put(b"home/alice", 5, ReadWrite), Err(Error::Exists));
    assert_eq!(child.remove(b"nothing"), Err(Error::NotFound));
    assert!(child.shares_storage_with(&parent));

    child.put(b"home/bob", 5, ReadWrite).unwrap();
    assert!(!child.shares_storage_with(&parent));
    assert_eq!(parent, namespace_with(&[b"home/alice", b"bin/ls"]));
    assert_eq!(parent.lookup(b"home/bob"), Err(Error::NotFound));
    assert_eq!(leaf_handle(&child, b"home/bob"), Some((5, ReadWrite)));

    // Only the path to the change was copied: `bin` is still shared.
    match (parent.lookup(b"bin"), child.lookup(b"bin")) {
        (Ok(Entry::Directory(old)), Ok(Entry::Directory(new))) => {
            assert!(old.shares_storage_with(new));
        }
        other => panic!("bin: {other:?}"),
    }
}

#[test]
fn a_kept_virtual_directory_is_a_snapshot() {
    let mut namespace = namespace_with(&[b"rocknroll/blues.dat"]);
    let kept = match namespace.lookup(b"rocknroll") {
        Ok(Entry::Directory(directory)) => directory.clone(),
        other => panic!("rocknroll: {other:?}"),
    };
    namespace.put(b"rocknroll/jazz.dat", 1, ReadOnly).unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(listing(&namespace, b"rocknroll").len(), 2);
}

#[test]
fn apply_commits_a_whole_batch() {
    let mut namespace = namespace_with(&[b"home/alice", b"tmp/x"]);
    namespace
        .apply(&[
            Operation::RemoveAll,
            Operation::Put {
                name: b"home/alice".to_vec(),
                handle: 10,
                mode: ReadWrite,
            },
            Operation::Put {
                name: b"1/true".to_vec(),
                handle: 11,
                mode: ReadOnly,
            },
            Operation::Remove {
                name: b"home".to_vec(),
            },
        ])
        .unwrap();
    assert_eq!(namespace.leaves().len(), 1);
    assert_eq!(leaf_handle(&namespace, b"1/true"), Some((11, ReadOnly)));
}

#[test]
fn a_failed_batch_changes_nothing() {
    let mut namespace = namespace_with(&[b"home/alice"]);
    let sharer = namespace.clone();
    let result = namespace.apply(&[
        Operation::RemoveAll,
        Operation::Put {
            name: b"1/true".to_vec(),
            handle: 11,
            mode: ReadOnly,
        },
        Operation::Put {
            name: b"1/true/x".to_vec(),
            handle: 12,
            mode: ReadOnly,
        },
    ]);
    assert_eq!(
        result,
        Err(BatchError {
            index: 2,
            error: Error::InsideLeaf,
        })
    );
    assert_eq!(namespace, namespace_with(&[b"home/alice"]));
    assert!(namespace.shares_storage_with(&sharer));
}

#[test]
fn applied_leaves_the_original_for_a_later_commit() {
    let namespace = namespace_with(&[b"home/alice"]);
    let staged = namespace
        .applied(&[Operation::Remove {
            name: b"home/alice".to_vec(),
        }])
        .unwrap();
    assert!(staged.is_empty());
    assert_eq!(namespace.len(), 2);
}

#[test]
fn a_batch_may_refill_a_full_tree_after_remove_all() {
    let mut namespace = Namespace::new();
    for number in 0..MAX_ENTRIES {
        let name = alloc::format!("n{number}");
        namespace.put(name.as_bytes(), 0u32, ReadOnly).unwrap();
    }
    let put = Operation::Put {
        name: b"1/true".to_vec(),
        handle: 1,
        mode: ReadOnly,
    };
    assert_eq!(
        namespace.apply(core::slice::from_ref(&put)),
        Err(BatchError {
            index: 0,
            error: Error::NoSpace,
        })
    );
    namespace.apply(&[Operation::RemoveAll, put]).unwrap();
    assert_eq!(namespace.len(), 2);
}

#[test]
fn leaves_lists_full_names() {
    let namespace = namespace_with(&[b"b", b"a/y", b"a/x/z"]);
    let names: Vec<Vec<u8>> = namespace
        .leaves()
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    assert_eq!(names, [&b"a/x/z"[..], b"a/y", b"b"]);
}

#[test]
fn access_modes_narrow() {
    assert_eq!(ReadWrite.narrowed_to(ReadOnly), ReadOnly);
    assert_eq!(ReadOnly.narrowed_to(ReadWrite), ReadOnly);
    assert_eq!(ReadWrite.narrowed_to(ReadWrite), ReadWrite);
    assert!(ReadWrite.allows_write());
    assert!(!ReadOnly.allows_write());
}
