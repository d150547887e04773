// SPDX-License-Identifier: MIT OR Apache-2.0
//! Tests of `xchroot` staging: decoding, checking, applying to a copy, and
//! installing.

use super::*;
use crate::location::Node;
use crate::volume::Volume;
use fs_ext2l::{format, FormatOptions, MemoryDevice, MountOptions};
use manux_abi::XchrootOperation;
use proptest::prelude::*;

fn volume() -> Volume<MemoryDevice> {
    let options = FormatOptions {
        size: 512 * 1024,
        ..FormatOptions::default()
    };
    let file_system = format(
        MemoryDevice::new(512 * 1024),
        &options,
        MountOptions::default(),
    )
    .unwrap();
    Volume::new(file_system, 64).unwrap()
}

/// The bytes of `operations`, as a caller lays them out.
fn encode(operations: &[XchrootOperation]) -> Vec<u8> {
    let mut bytes = Vec::new();
    for operation in operations {
        bytes.extend_from_slice(&operation.kind.to_le_bytes());
        bytes.extend_from_slice(&operation.mode.to_le_bytes());
        bytes.extend_from_slice(&operation.fd.to_le_bytes());
        bytes.extend_from_slice(&operation.reserved.to_le_bytes());
        bytes.extend_from_slice(&operation.path.to_le_bytes());
        bytes.extend_from_slice(&operation.path_length.to_le_bytes());
        bytes.extend_from_slice(&operation.name.to_le_bytes());
        bytes.extend_from_slice(&operation.name_length.to_le_bytes());
    }
    assert_eq!(bytes.len(), operations.len() * OPERATION_BYTES);
    bytes
}

fn operation(kind: XchrootKind) -> XchrootOperation {
    XchrootOperation {
        kind: kind as u32,
        mode: 1,
        fd: 7,
        reserved: 0,
        path: 0x1000,
        path_length: 5,
        name: 0x2000,
        name_length: 3,
    }
}

fn decode_all(operations: &[XchrootOperation]) -> Vec<Result<Request, XchrootError>> {
    decode(&encode(operations)).collect()
}

#[test]
fn the_count_is_bounded() {
    assert_eq!(operation_bytes(0), Err(XchrootError::InvalidOperation));
    assert_eq!(operation_bytes(1), Ok(OPERATION_BYTES));
    let most = limits::XCHROOT_OPERATIONS as u64;
    assert_eq!(
        operation_bytes(most),
        Ok(limits::XCHROOT_OPERATIONS * OPERATION_BYTES)
    );
    assert_eq!(
        operation_bytes(most + 1),
        Err(XchrootError::InvalidOperation)
    );
    assert_eq!(
        operation_bytes(u64::MAX),
        Err(XchrootError::InvalidOperation)
    );
}

#[test]
fn every_kind_decodes() {
    let name = UserBytes {
        address: 0x2000,
        length: 3,
    };
    let path = UserBytes {
        address: 0x1000,
        length: 5,
    };
    let mode = AccessMode::ReadWrite;
    let expected = [
        (XchrootKind::PutPath, Request::PutPath { mode, path, name }),
        (XchrootKind::PutFd, Request::PutFd { mode, fd: 7, name }),
        (XchrootKind::KeepFd, Request::KeepFd { mode, fd: 7, name }),
        (XchrootKind::Remove, Request::Remove { name }),
        (XchrootKind::RemoveAll, Request::RemoveAll),
        (XchrootKind::RootExecutable, Request::RootExecutable),
        (XchrootKind::RootPath, Request::RootPath { path }),
        (
            XchrootKind::ChangeDirectoryFd,
            Request::ChangeDirectoryFd { fd: 7 },
        ),
    ];
    for (kind, request) in expected {
        assert_eq!(decode_all(&[operation(kind)]), [Ok(request)], "{kind:?}");
    }
    // A read-only mode, and a negative fd (the fd table refuses it).
    let mut put = operation(XchrootKind::PutFd);
    put.mode = 0;
    put.fd = -1;
    assert_eq!(
        decode_all(&[put]),
        [Ok(Request::PutFd {
            mode: AccessMode::ReadOnly,
            fd: -1,
            name
        })]
    );
}

#[test]
fn bad_kinds_modes_and_lengths_are_refused_in_order() {
    for kind in [0, 9, u32::MAX] {
        let mut bad = operation(XchrootKind::RemoveAll);
        bad.kind = kind;
        assert_eq!(decode_all(&[bad]), [Err(XchrootError::InvalidOperation)]);
    }
    for kind in [
        XchrootKind::PutPath,
        XchrootKind::PutFd,
        XchrootKind::KeepFd,
    ] {
        let mut bad = operation(kind);
        bad.mode = 2;
        assert_eq!(decode_all(&[bad]), [Err(XchrootError::InvalidOperation)]);
        let mut long = operation(kind);
        long.name_length = dotdotdot::MAX_NAME_LENGTH as u64 + 1;
        assert_eq!(decode_all(&[long]), [Err(XchrootError::InvalidOperation)]);
    }
    // The mode of a removal is not looked at.
    let mut remove = operation(XchrootKind::Remove);
    remove.mode = 99;
    assert!(decode_all(&[remove])[0].is_ok());
    remove.name_length = u64::MAX;
    assert_eq!(decode_all(&[remove]), [Err(XchrootError::InvalidOperation)]);
    for kind in [XchrootKind::PutPath, XchrootKind::RootPath] {
        let mut long = operation(kind);
        long.path_length = limits::PATH_BYTES as u64 + 1;
        assert_eq!(decode_all(&[long]), [Err(XchrootError::PathTooLong)]);
    }
    let mut exact = operation(XchrootKind::PutPath);
    exact.path_length = limits::PATH_BYTES as u64;
    exact.name_length = dotdotdot::MAX_NAME_LENGTH as u64;
    assert!(decode_all(&[exact])[0].is_ok());
    // Decoding goes one record at a time: the good record before a bad
    // one decodes.
    let mut bad = operation(XchrootKind::RemoveAll);
    bad.kind = 42;
    let decoded = decode_all(&[operation(XchrootKind::RemoveAll), bad]);
    assert_eq!(
        decoded,
        [Ok(Request::RemoveAll), Err(XchrootError::InvalidOperation)]
    );
    // A partial trailing record is not decoded.
    let mut bytes = encode(&[operation(XchrootKind::RemoveAll)]);
    bytes.extend_from_slice(&[1, 0, 0]);
    assert_eq!(decode(&bytes).count(), 1);
}

proptest! {
    /// Any bytes decode without panicking, into at most one request per
    /// record, each within its limits.
    #[test]
    fn any_bytes_decode_safely(bytes in proptest::collection::vec(any::<u8>(), 0..500)) {
        let decoded: Vec<_> = decode(&bytes).collect();
        prop_assert_eq!(decoded.len(), bytes.len() / OPERATION_BYTES);
        for request in decoded.into_iter().flatten() {
            let (path, name) = match request {
                Request::PutPath { path, name, .. } => (Some(path), Some(name)),
                Request::PutFd { name, .. }
                | Request::KeepFd { name, .. }
                | Request::Remove { name } => (None, Some(name)),
                Request::RootPath { path } => (Some(path), None),
                _ => (None, None),
            };
            prop_assert!(path.is_none_or(|p| p.length <= limits::PATH_BYTES as u64));
            prop_assert!(name.is_none_or(|n| n.length <= dotdotdot::MAX_NAME_LENGTH as u64));
        }
    }
}

#[test]
fn read_write_only_if_reached_writable() {
    let mut volume = volume();
    let root = volume.root().unwrap();
    let dots = DotView::new();
    let mut staging = Staging::new();
    assert_eq!(
        staging.put(b"a".to_vec(), root.clone(), AccessMode::ReadWrite, false),
        Err(XchrootError::AccessDenied)
    );
    staging
        .put(b"a".to_vec(), root.clone(), AccessMode::ReadOnly, false)
        .unwrap();
    staging
        .put(b"b".to_vec(), root.clone(), AccessMode::ReadWrite, true)
        .unwrap();
    let staged = staging.stage(&dots).unwrap();
    let mode = |name: &[u8]| match staged.dots.resolve(&[name]) {
        Ok(dotdotdot::Resolved::Leaf { mode, .. }) => mode,
        _ => panic!("no leaf"),
    };
    assert_eq!(mode(b"a"), AccessMode::ReadOnly);
    assert_eq!(mode(b"b"), AccessMode::ReadWrite);
    assert!(dots.is_empty(), "the caller's view is a copy");
}

#[test]
fn only_a_directory_is_kept_and_only_writable_read_write() {
    let mut volume = volume();
    let root = volume.root().unwrap();
    let file = volume.create(&root, b"f", 0o644).unwrap();
    let mut staging = Staging::new();
    assert_eq!(
        staging.keep(3, b"f".to_vec(), file, false, AccessMode::ReadOnly, true),
        Err(XchrootError::NotADirectory)
    );
    assert_eq!(
        staging.keep(
            3,
            b"d".to_vec(),
            root.clone(),
            true,
            AccessMode::ReadWrite,
            false
        ),
        Err(XchrootError::AccessDenied)
    );
    let mut staging = Staging::new();
    staging
        .keep(
            4,
            b"d".to_vec(),
            root.clone(),
            true,
            AccessMode::ReadWrite,
            true,
        )
        .unwrap();
    let staged = staging.stage(&DotView::new()).unwrap();
    assert_eq!(staged.keeps.len(), 1);
    assert_eq!(
        (
            staged.keeps[0].fd,
            &staged.keeps[0].name[..],
            staged.keeps[0].writable
        ),
        (4, &b"d"[..], true)
    );
    assert!(staged.dots.lookup(b"d").is_ok());
}

#[test]
fn any_failing_step_leaves_the_view_unchanged() {
    let mut volume = volume();
    let root = volume.root().unwrap();
    volume.mkdir(&root, b"a", 0o755).unwrap();
    let a = volume.lookup(&root, b"a").unwrap();
    let mut dots = DotView::new();
    dots.put(b"keep/me", a.clone(), AccessMode::ReadOnly)
        .unwrap();
    let before: Vec<Vec<u8>> = dots.leaves().into_iter().map(|(name, _)| name).collect();
    let failing: [fn(&mut Staging, &ObjectRef); 4] = [
        // A name already taken, after a step that succeeded.
        |staging, object| {
            staging.remove(b"keep/me".to_vec());
            staging
                .put(b"x".to_vec(), object.clone(), AccessMode::ReadOnly, true)
                .unwrap();
            staging
                .put(b"x".to_vec(), object.clone(), AccessMode::ReadOnly, true)
                .unwrap();
        },
        // Removing a name that is not there.
        |staging, _| {
            staging.remove_all();
            staging.remove(b"missing".to_vec());
        },
        // An invalid name.
        |staging, object| {
            staging
                .put(
                    b"../up".to_vec(),
                    object.clone(),
                    AccessMode::ReadOnly,
                    true,
                )
                .unwrap();
        },
        // A name below a leaf.
        |staging, object| {
            staging
                .put(
                    b"keep/me/x".to_vec(),
                    object.clone(),
                    AccessMode::ReadOnly,
                    true,
                )
                .unwrap();
        },
    ];
    for (index, fail_fn) in failing.iter().enumerate() {
        let mut staging = Staging::new();
        fail_fn(&mut staging, &a);
        assert!(
            matches!(staging.stage(&dots), Err(XchrootError::Dots(_))),
            "case {index}"
        );
        let after: Vec<Vec<u8>> = dots.leaves().into_iter().map(|(name, _)| name).collect();
        assert_eq!(after, before, "case {index}");
    }
}

#[test]
fn a_root_change_moves_the_current_directory_to_the_new_root() {
    let mut volume = volume();
    let root = volume.root().unwrap();
    volume.mkdir(&root, b"jail", 0o755).unwrap();
    let jail = volume.lookup(&root, b"jail").unwrap();
    let (mut dots, mut current_root, mut directory) =
        (DotView::new(), root.clone(), Location::root(root.clone()));
    let mut staging = Staging::new();
    staging.change_root(jail.clone());
    staging
        .put(b"old".to_vec(), root.clone(), AccessMode::ReadOnly, true)
        .unwrap();
    let (replaced, keeps) =
        staging
            .stage(&dots)
            .unwrap()
            .install(&mut dots, &mut current_root, &mut directory);
    assert!(keeps.is_empty());
    assert_eq!(current_root, jail);
    assert_eq!(directory.object(), Some(jail.clone()));
    assert!(dots.lookup(b"old").is_ok());
    assert!(replaced.dots.is_empty());
    assert_eq!(replaced.root, Some(root.clone()));
    assert_eq!(
        replaced.directory.and_then(|d| d.object()),
        Some(root.clone())
    );
    // No root change: the root and current directory stay.
    let mut staging = Staging::new();
    staging.remove_all();
    let (replaced, _) =
        staging
            .stage(&dots)
            .unwrap()
            .install(&mut dots, &mut current_root, &mut directory);
    assert!(dots.is_empty());
    assert!(replaced.root.is_none() && replaced.directory.is_none());
    assert_eq!(current_root, jail);
}

#[test]
fn a_handed_over_directory_is_found_by_the_same_names() {
    let mut volume = volume();
    let root = volume.root().unwrap();
    volume.mkdir(&root, b"work", 0o755).unwrap();
    let work = volume.lookup(&root, b"work").unwrap();
    volume.mkdir(&work, b"sub", 0o755).unwrap();
    let sub = volume.lookup(&work, b"sub").unwrap();
    volume.mkdir(&root, b"other", 0o755).unwrap();
    let other = volume.lookup(&root, b"other").unwrap();
    let mut dots = DotView::new();
    dots.put(b"w/dir", work.clone(), AccessMode::ReadWrite)
        .unwrap();
    // The caller's directory: /.../w/dir/sub.
    let mut inside = Location::in_dots(b"w/dir", work.clone(), true);
    inside.push_object(b"sub".to_vec(), sub.clone(), true);
    assert_eq!(inside.display(), b"/.../w/dir/sub");

    // Kept read-only under the same name: found, re-anchored, read-only.
    let mut staging = Staging::new();
    staging.remove_all();
    staging
        .put(b"w/dir".to_vec(), work.clone(), AccessMode::ReadOnly, true)
        .unwrap();
    staging.change_root(other.clone());
    staging.change_directory(inside.clone());
    let staged = staging.stage(&dots).unwrap();
    let directory = staged.directory.clone().unwrap();
    assert_eq!(directory.display(), b"/.../w/dir/sub");
    assert_eq!(
        directory.node(),
        Node::Object {
            object: sub.clone(),
            writable: false
        }
    );
    // A handed-over directory wins over the new root's.
    let (mut current_root, mut current) = (root.clone(), Location::root(root.clone()));
    let mut view = dots.clone();
    staged.install(&mut view, &mut current_root, &mut current);
    assert_eq!(current.object(), Some(sub.clone()));
    assert_eq!(current_root, other);

    // The same name for another directory, or no such name: refused.
    for put in [Some(other.clone()), None] {
        let mut staging = Staging::new();
        staging.remove_all();
        if let Some(object) = put {
            staging
                .put(b"w/dir".to_vec(), object, AccessMode::ReadOnly, true)
                .unwrap();
        }
        staging.change_directory(inside.clone());
        assert_eq!(staging.stage(&dots).err(), Some(XchrootError::NotReachable));
    }
    // A directory reached from the root, not through /...: refused.
    let mut staging = Staging::new();
    staging.change_directory(Location::root(root.clone()));
    assert_eq!(staging.stage(&dots).err(), Some(XchrootError::NotReachable));
    // A virtual directory of /... the new view still has: stays virtual.
    let mut staging = Staging::new();
    staging.change_directory(Location::virtual_in_dots(&[b"w"]));
    let staged = staging.stage(&dots).unwrap();
    assert_eq!(staged.directory.unwrap().node(), Node::Virtual);
}

#[test]
fn errors_have_their_errno() {
    use manux_abi::Errno;
    let cases = [
        (XchrootError::InvalidOperation, Errno::InvalidArgument),
        (XchrootError::PathTooLong, Errno::NameTooLong),
        (XchrootError::AccessDenied, Errno::AccessDenied),
        (XchrootError::NotADirectory, Errno::NotADirectory),
        (XchrootError::NotReachable, Errno::NotFound),
        (XchrootError::Dots(dotdotdot::Error::Exists), Errno::Exists),
    ];
    for (error, errno) in cases {
        assert_eq!(Errno::from(error), errno);
    }
}
