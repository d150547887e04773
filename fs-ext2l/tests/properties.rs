// SPDX-License-Identifier: MIT OR Apache-2.0
//! Property test: random sequences of operations against an in-memory model.
//!
//! Each case applies up to 100 random operations (create, mkdir, write,
//! truncate, unlink, rmdir, link, rename, symlink, remount) with names drawn
//! from a small pool so they collide often. Every operation must succeed
//! exactly when the model says it may; afterwards the whole tree must match
//! the model (names, types, contents, link targets, link counts), our
//! checker must be clean, and so must `e2fsck -fn`.
//!
//! A second test adds the host's holds (hold, release, sync): a held inode
//! whose last name goes is an orphan in the model too. After every
//! operation the free-inode count must be what the model's live inodes
//! leave and every held file must read back; inode numbers are never
//! reused while held, successive occupants of a number never share a
//! generation, and after every sync and remount (which frees the orphans)
//! the checker is clean and lists exactly the model's orphans.
#![forbid(unsafe_code)]

mod common;

use std::collections::{BTreeMap, VecDeque};

use common::*;
use fs_ext2l::*;
use proptest::prelude::*;

const NAMES: [&[u8]; 5] = [
    b"a",
    b"b",
    b"c",
    b"dd",
    b"a-rather-long-name-that-takes-up-room-in-the-block",
];

#[derive(Clone, Debug)]
enum Operation {
    Create(usize, usize),
    Mkdir(usize, usize),
    Write(usize, u16, u16, u8),
    Truncate(usize, u16),
    Unlink(usize, usize),
    Rmdir(usize, usize),
    Link(usize, usize, usize),
    Rename(usize, usize, usize, usize),
    Symlink(usize, usize, u8),
    Remount,
    /// Hold the inode at this index among the model's inodes.
    Hold(usize),
    /// Release the inode at this index among the held ones.
    Release(usize),
    /// Remove one name of the held inode at this index (unlink or rmdir).
    RemoveHeldName(usize),
    /// Sync, then check.
    Sync,
}

fn operation() -> impl Strategy<Value = Operation> {
    let index = 0..64usize;
    let name = 0..NAMES.len();
    prop_oneof![
        3 => (index.clone(), name.clone()).prop_map(|(d, n)| Operation::Create(d, n)),
        2 => (index.clone(), name.clone()).prop_map(|(d, n)| Operation::Mkdir(d, n)),
        4 => (index.clone(), any::<u16>(), 0..6000u16, any::<u8>()).prop_map(|(f, o, l, b)| Operation::Write(f, o, l, b)),
        1 => (index.clone(), any::<u16>()).prop_map(|(f, s)| Operation::Truncate(f, s)),
        2 => (index.clone(), name.clone()).prop_map(|(d, n)| Operation::Unlink(d, n)),
        2 => (index.clone(), name.clone()).prop_map(|(d, n)| Operation::Rmdir(d, n)),
        1 => (index.clone(), index.clone(), name.clone()).prop_map(|(f, d, n)| Operation::Link(f, d, n)),
        3 => (index.clone(), name.clone(), index.clone(), name.clone()).prop_map(|(a, b, c, d)| Operation::Rename(a, b, c, d)),
        1 => (index.clone(), name, 1..200u8).prop_map(|(d, n, l)| Operation::Symlink(d, n, l)),
        1 => Just(Operation::Remount),
    ]
}

#[derive(Clone, Debug)]
enum Node {
    Directory(BTreeMap<Vec<u8>, u32>),
    File(Vec<u8>),
    Symlink(Vec<u8>),
}

/// The model: inode number (as the file system assigned it) to node.
#[derive(Default)]
struct Model {
    /// Every inode in use: named ones and orphans.
    nodes: BTreeMap<u32, Node>,
    /// Inodes the host holds.
    held: std::collections::BTreeSet<u32>,
    /// Held inodes with no name left.
    orphans: std::collections::BTreeSet<u32>,
    /// The generations each inode number's occupants got, in order.
    generations: BTreeMap<u32, Vec<u32>>,
}

impl Model {
    fn new(lost_and_found: u32) -> Model {
        let mut model = Model::default();
        model.nodes.insert(2, Node::Directory(BTreeMap::new()));
        model
            .nodes
            .insert(lost_and_found, Node::Directory(BTreeMap::new()));
        // lost+found is in the model's node set (so counts work) but outside
        // the pool of names, so operations never hit it by name.
        model
            .children_mut(2)
            .insert(b"lost+found".to_vec(), lost_and_found);
        model
    }

    /// The directories reachable from the root, then the orphaned ones
    /// (which every namespace operation must refuse).
    fn directories(&self) -> Vec<u32> {
        let mut order = Vec::new();
        let mut queue = VecDeque::from([2u32]);
        while let Some(directory) = queue.pop_front() {
            order.push(directory);
            if let Some(Node::Directory(children)) = self.nodes.get(&directory) {
                for child in children.values() {
                    if matches!(self.nodes.get(child), Some(Node::Directory(_))) {
                        queue.push_back(*child);
                    }
                }
            }
        }
        order.extend(
            self.orphans
                .iter()
                .filter(|&&inode| self.is_directory(inode)),
        );
        order
    }

    fn files(&self) -> Vec<u32> {
        self.nodes
            .iter()
            .filter(|(_, node)| matches!(node, Node::File(_)))
            .map(|(inode, _)| *inode)
            .collect()
    }

    fn children(&self, directory: u32) -> &BTreeMap<Vec<u8>, u32> {
        match self.nodes.get(&directory) {
            Some(Node::Directory(children)) => children,
            _ => panic!("not a directory"),
        }
    }

    fn children_mut(&mut self, directory: u32) -> &mut BTreeMap<Vec<u8>, u32> {
        match self.nodes.get_mut(&directory) {
            Some(Node::Directory(children)) => children,
            _ => panic!("not a directory"),
        }
    }

    fn is_directory(&self, inode: u32) -> bool {
        matches!(self.nodes.get(&inode), Some(Node::Directory(_)))
    }

    fn names_of(&self, inode: u32) -> usize {
        self.nodes
            .values()
            .filter_map(|node| match node {
                Node::Directory(children) => {
                    Some(children.values().filter(|&&child| child == inode).count())
                }
                _ => None,
            })
            .sum()
    }

    /// A node no name refers to any more: an orphan when held, else gone.
    fn collect(&mut self, inode: u32) {
        if self.names_of(inode) == 0 {
            if self.held.contains(&inode) {
                self.orphans.insert(inode);
            } else {
                self.nodes.remove(&inode);
            }
        }
    }

    fn is_orphan(&self, inode: u32) -> bool {
        self.orphans.contains(&inode)
    }

    /// Records a new inode's generation; it must be new for its number,
    /// and the number must not be held.
    fn born(&mut self, inode: u32, generation: u32) {
        assert!(
            !self.held.contains(&inode) && !self.nodes.contains_key(&inode),
            "inode {inode} reallocated while in use or held"
        );
        let history = self.generations.entry(inode).or_default();
        assert!(
            !history.contains(&generation),
            "inode {inode} got generation {generation} again (before: {history:?})"
        );
        history.push(generation);
    }

    fn contains(&self, ancestor: u32, target: u32) -> bool {
        if ancestor == target {
            return true;
        }
        self.children(ancestor)
            .values()
            .any(|&child| self.is_directory(child) && self.contains(child, target))
    }
}

fn pick(list: &[u32], index: usize) -> Option<u32> {
    (!list.is_empty()).then(|| list[index % list.len()])
}

/// Applies one operation to both sides; checks they agree on success.
fn apply(file_system: &mut FileSystem<MemoryDevice>, model: &mut Model, operation: &Operation) {
    let directories = model.directories();
    let files = model.files();
    let inode = |number: u32| InodeNumber(number);
    match *operation {
        Operation::Create(directory, name)
        | Operation::Mkdir(directory, name)
        | Operation::Symlink(directory, name, _) => {
            let directory = pick(&directories, directory).unwrap();
            let name = NAMES[name];
            let expected_ok =
                !model.is_orphan(directory) && !model.children(directory).contains_key(name);
            let result = match *operation {
                Operation::Create(..) => file_system.create(inode(directory), name, 0o644, 0, 0),
                Operation::Mkdir(..) => file_system.mkdir(inode(directory), name, 0o755, 0, 0),
                Operation::Symlink(_, _, length) => {
                    file_system.symlink(inode(directory), name, &vec![b't'; length as usize], 0, 0)
                }
                _ => unreachable!(),
            };
            assert_eq!(result.is_ok(), expected_ok, "{operation:?}: {result:?}");
            if model.is_orphan(directory) {
                assert_eq!(result, Err(Error::NotFound), "{operation:?}");
            }
            if let Ok(new) = result {
                model.born(new.get(), file_system.stat(new).unwrap().generation);
                let node = match *operation {
                    Operation::Create(..) => Node::File(Vec::new()),
                    Operation::Mkdir(..) => Node::Directory(BTreeMap::new()),
                    Operation::Symlink(_, _, length) => Node::Symlink(vec![b't'; length as usize]),
                    _ => unreachable!(),
                };
                model.nodes.insert(new.get(), node);
                model
                    .children_mut(directory)
                    .insert(name.to_vec(), new.get());
            }
        }
        Operation::Write(file, offset, length, byte) => {
            let Some(file) = pick(&files, file) else {
                return;
            };
            let data = vec![byte; length as usize];
            assert_eq!(
                file_system
                    .write(inode(file), u64::from(offset), &data)
                    .unwrap(),
                data.len()
            );
            // A write of nothing changes nothing, even past the end.
            if let (Some(Node::File(contents)), false) =
                (model.nodes.get_mut(&file), data.is_empty())
            {
                let end = offset as usize + data.len();
                if contents.len() < end {
                    contents.resize(end, 0);
                }
                contents[offset as usize..end].copy_from_slice(&data);
            }
        }
        Operation::Truncate(file, size) => {
            let Some(file) = pick(&files, file) else {
                return;
            };
            file_system.truncate(inode(file), u64::from(size)).unwrap();
            if let Some(Node::File(contents)) = model.nodes.get_mut(&file) {
                contents.resize(size as usize, 0);
            }
        }
        Operation::Unlink(directory, name) | Operation::Rmdir(directory, name) => {
            let directory = pick(&directories, directory).unwrap();
            let name = NAMES[name];
            let target = model.children(directory).get(name).copied();
            let is_rmdir = matches!(operation, Operation::Rmdir(..));
            let expected_ok = match target {
                None => false,
                Some(target) if is_rmdir => {
                    model.is_directory(target) && model.children(target).is_empty()
                }
                Some(target) => !model.is_directory(target),
            };
            let result = if is_rmdir {
                file_system.rmdir(inode(directory), name)
            } else {
                file_system.unlink(inode(directory), name)
            };
            assert_eq!(result.is_ok(), expected_ok, "{operation:?}: {result:?}");
            if result.is_ok() {
                let target = model.children_mut(directory).remove(name).unwrap();
                model.collect(target);
            }
        }
        Operation::Link(file, directory, name) => {
            let Some(file) = pick(&files, file) else {
                return;
            };
            let directory = pick(&directories, directory).unwrap();
            let name = NAMES[name];
            let expected_ok = !model.is_orphan(file)
                && !model.is_orphan(directory)
                && !model.children(directory).contains_key(name);
            let result = file_system.link(inode(file), inode(directory), name);
            assert_eq!(result.is_ok(), expected_ok, "{operation:?}: {result:?}");
            if result.is_ok() {
                model.children_mut(directory).insert(name.to_vec(), file);
            }
        }
        Operation::Rename(source_directory, source_name, target_directory, target_name) => {
            let source_directory = pick(&directories, source_directory).unwrap();
            let target_directory = pick(&directories, target_directory).unwrap();
            let (source_name, target_name) = (NAMES[source_name], NAMES[target_name]);
            let source = model.children(source_directory).get(source_name).copied();
            let existing = model.children(target_directory).get(target_name).copied();
            let expected_ok = match source {
                None => false,
                Some(_) if model.is_orphan(target_directory) => false,
                Some(_) if source_directory == target_directory && source_name == target_name => {
                    true
                }
                Some(source) if Some(source) == existing => true,
                Some(source) if model.is_directory(source) => {
                    let fits = match existing {
                        None => true,
                        Some(existing) => {
                            model.is_directory(existing) && model.children(existing).is_empty()
                        }
                    };
                    fits && (source_directory == target_directory
                        || !model.contains(source, target_directory))
                }
                Some(_) => existing.is_none_or(|existing| !model.is_directory(existing)),
            };
            let result = file_system.rename(
                inode(source_directory),
                source_name,
                inode(target_directory),
                target_name,
            );
            assert_eq!(result.is_ok(), expected_ok, "{operation:?}: {result:?}");
            let noop = source_directory == target_directory && source_name == target_name
                || source == existing;
            if result.is_ok() && !noop {
                let source = model
                    .children_mut(source_directory)
                    .remove(source_name)
                    .unwrap();
                let replaced = model
                    .children_mut(target_directory)
                    .insert(target_name.to_vec(), source);
                if let Some(replaced) = replaced {
                    model.collect(replaced);
                }
            }
        }
        Operation::Remount => {
            let device =
                std::mem::replace(file_system, new_file_system(64 * 1024, 1024, 128, false))
                    .unmount()
                    .unwrap();
            *file_system = FileSystem::mount(device, mount_options()).unwrap();
            // The holds are gone with the old mount; the new one freed the
            // orphans they left.
            let info = file_system.info();
            assert_eq!(info.orphans_cleaned, model.orphans.len() as u32);
            assert_eq!(info.orphan_list_damage, None);
            for orphan in std::mem::take(&mut model.orphans) {
                model.nodes.remove(&orphan);
            }
            model.held.clear();
            check_with_orphans(file_system, model);
        }
        Operation::Hold(index) => {
            // Not the root and lost+found: they never lose their names here.
            let lost_and_found = model.children(2).get(&b"lost+found"[..]).copied();
            let all: Vec<u32> = model
                .nodes
                .keys()
                .copied()
                .filter(|&number| number != 2 && Some(number) != lost_and_found)
                .collect();
            let Some(target) = pick(&all, index) else {
                return;
            };
            let held = file_system.hold(inode(target)).unwrap();
            if let Some(generation) = model.generations.get(&target).and_then(|list| list.last()) {
                assert_eq!(held.generation, *generation);
            }
            model.held.insert(target);
        }
        Operation::Release(index) => {
            let held: Vec<u32> = model.held.iter().copied().collect();
            let Some(target) = pick(&held, index) else {
                return;
            };
            let free_before = file_system.info().free_inodes;
            file_system.release(inode(target)).unwrap();
            model.held.remove(&target);
            if model.orphans.remove(&target) {
                // Freed exactly now: its last reference was the hold.
                model.nodes.remove(&target);
                assert_eq!(file_system.info().free_inodes, free_before + 1);
                assert_eq!(file_system.stat(inode(target)), Err(Error::NotFound));
                assert_eq!(file_system.hold(inode(target)), Err(Error::NotFound));
            } else {
                assert_eq!(file_system.info().free_inodes, free_before);
            }
        }
        Operation::Sync => {
            file_system.sync().unwrap();
            check_with_orphans(file_system, model);
        }
        Operation::RemoveHeldName(index) => {
            let named: Vec<u32> = model
                .held
                .iter()
                .copied()
                .filter(|&number| model.names_of(number) != 0)
                .collect();
            let Some(target) = pick(&named, index) else {
                return;
            };
            let (parent, name) = model
                .nodes
                .iter()
                .find_map(|(&parent, node)| match node {
                    Node::Directory(children) => children
                        .iter()
                        .find(|(_, &child)| child == target)
                        .map(|(name, _)| (parent, name.clone())),
                    _ => None,
                })
                .unwrap();
            if model.is_directory(target) {
                let result = file_system.rmdir(inode(parent), &name);
                let expected_ok = model.children(target).is_empty();
                assert_eq!(result.is_ok(), expected_ok, "{operation:?}: {result:?}");
                if result.is_err() {
                    return;
                }
            } else {
                file_system.unlink(inode(parent), &name).unwrap();
            }
            model.children_mut(parent).remove(&name);
            model.collect(target);
        }
    }
}

/// Our checker is clean and lists exactly the model's orphans.
fn check_with_orphans(file_system: &mut FileSystem<MemoryDevice>, model: &Model) {
    let report = file_system.check().unwrap();
    assert!(
        report.is_clean(),
        "checker problems:\n{}",
        report
            .problems
            .iter()
            .map(|problem| problem.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    );
    let listed: std::collections::BTreeSet<u32> =
        report.orphans.iter().map(|inode| inode.get()).collect();
    assert_eq!(listed, model.orphans);
}

/// What the model says after each operation of the holding test: free
/// inodes are exactly those no live inode (named or orphan) uses, and every
/// held file reads back.
fn check_live(file_system: &mut FileSystem<MemoryDevice>, model: &Model, reserved: u32) {
    let info = file_system.info();
    // The root is one of the reserved inodes; every other node takes one.
    let used = reserved + model.nodes.len() as u32 - 1;
    assert_eq!(info.free_inodes, info.inodes_count - used, "free inodes");
    for &held in &model.held {
        if let Some(Node::File(contents)) = model.nodes.get(&held) {
            let mut buffer = vec![0u8; contents.len() + 1];
            let count = file_system.read(InodeNumber(held), 0, &mut buffer).unwrap();
            assert_eq!(count, contents.len(), "size of held {held}");
            assert!(
                &buffer[..count] == contents.as_slice(),
                "contents of held {held}"
            );
        }
    }
}

/// Compares the file system with the model, from the root down.
fn compare(file_system: &mut FileSystem<MemoryDevice>, model: &Model) {
    for (&number, node) in &model.nodes {
        let metadata = file_system.stat(InodeNumber(number)).unwrap();
        match node {
            Node::Directory(_) if model.is_orphan(number) => {
                assert_eq!(metadata.file_type, FileType::Directory);
                assert_eq!((metadata.links, metadata.size), (0, 0));
                assert_eq!(file_system.entries(InodeNumber(number)), Ok(Vec::new()));
            }
            Node::Directory(children) => {
                assert_eq!(metadata.file_type, FileType::Directory);
                let subdirectories = children
                    .values()
                    .filter(|&&child| model.is_directory(child))
                    .count();
                let names = if number == 2 {
                    1
                } else {
                    model.names_of(number)
                };
                assert_eq!(
                    usize::from(metadata.links),
                    names + 1 + subdirectories,
                    "links of directory {number}"
                );
                let entries: BTreeMap<Vec<u8>, u32> = file_system
                    .entries(InodeNumber(number))
                    .unwrap()
                    .into_iter()
                    .filter(|entry| entry.name != b"." && entry.name != b"..")
                    .map(|entry| (entry.name, entry.inode.get()))
                    .collect();
                assert_eq!(&entries, children, "entries of {number}");
            }
            Node::File(contents) => {
                assert_eq!(metadata.size as usize, contents.len());
                assert_eq!(usize::from(metadata.links), model.names_of(number));
                let mut buffer = vec![0u8; contents.len()];
                file_system
                    .read(InodeNumber(number), 0, &mut buffer)
                    .unwrap();
                assert!(&buffer == contents, "contents of {number}");
            }
            Node::Symlink(target) => {
                assert_eq!(&file_system.readlink(InodeNumber(number)).unwrap(), target);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_operations_match_the_model(operations in proptest::collection::vec(operation(), 1..100), geometry in 0..4usize) {
        // The last geometry journals its metadata.
        let (block_size, inode_size) = [(1024, 128), (2048, 256), (4096, 256), (1024, 256)][geometry];
        let mut file_system = if geometry == 3 {
            new_journaled_file_system(8 << 20, block_size, inode_size)
        } else {
            new_file_system(8 << 20, block_size, inode_size, false)
        };
        let lost_and_found = file_system.lookup(file_system.root(), b"lost+found").unwrap();
        let mut model = Model::new(lost_and_found.get());
        for operation in &operations {
            apply(&mut file_system, &mut model, operation);
        }
        compare(&mut file_system, &model);
        let mut file_system = remount(file_system);
        compare(&mut file_system, &model);
        assert_checker_clean(&mut file_system);
        let image = file_system.unmount().unwrap().into_bytes();
        let (clean, output) = e2fsck(&image);
        prop_assert!(clean, "e2fsck -fn:\n{}", output);
    }
}

/// The operations of [`operation`] plus the host's holds and syncs, with
/// holds frequent enough that most removals hit a held inode.
fn held_operation() -> impl Strategy<Value = Operation> {
    let index = 0..64usize;
    prop_oneof![
        8 => operation(),
        4 => index.clone().prop_map(Operation::Hold),
        3 => index.clone().prop_map(Operation::RemoveHeldName),
        2 => index.prop_map(Operation::Release),
        1 => Just(Operation::Sync),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    /// Holds and releases mixed with everything else (DESIGN §4, object
    /// lifetime): see the module doc for what is asserted.
    #[test]
    fn held_inodes_live_until_released(operations in proptest::collection::vec(held_operation(), 1..100), geometry in 0..4usize) {
        // Geometries 2 and 3 journal their metadata.
        let (block_size, inode_size) = [(1024, 128), (4096, 256)][geometry % 2];
        let mut file_system = if geometry >= 2 {
            new_journaled_file_system(8 << 20, block_size, inode_size)
        } else {
            new_file_system(8 << 20, block_size, inode_size, false)
        };
        let lost_and_found = file_system.lookup(file_system.root(), b"lost+found").unwrap();
        let mut model = Model::new(lost_and_found.get());
        let reserved = file_system.info().first_inode - 1;
        for operation in &operations {
            apply(&mut file_system, &mut model, operation);
            check_live(&mut file_system, &model, reserved);
        }
        compare(&mut file_system, &model);
        file_system.sync().unwrap();
        check_with_orphans(&mut file_system, &model);
        // Releasing everything frees every orphan; a remount frees none.
        for held in std::mem::take(&mut model.held) {
            file_system.release(InodeNumber(held)).unwrap();
            if model.orphans.remove(&held) {
                model.nodes.remove(&held);
            }
            check_live(&mut file_system, &model, reserved);
        }
        let mut file_system = remount(file_system);
        prop_assert_eq!(file_system.info().orphans_cleaned, 0);
        compare(&mut file_system, &model);
        assert_checker_clean(&mut file_system);
        let image = file_system.unmount().unwrap().into_bytes();
        let (clean, output) = e2fsck(&image);
        prop_assert!(clean, "e2fsck -fn:\n{}", output);
    }
}

/// Operations of the installer mixed with ordinary ones.
#[derive(Clone, Debug)]
enum Ext2lOperation {
    Mkdir(usize, usize),
    Create(usize, usize),
    LinkDirectory(usize, usize, usize),
    SetRootlink(usize, usize),
    ClearRootlink(usize),
    Rmdir(usize, usize),
    Unlink(usize, usize),
    Rename(usize, usize, usize, usize),
    Immutable(usize, bool),
    /// Hold a reachable directory or file (by index over both).
    Hold(usize),
    /// Release one of the held inodes.
    Release(usize),
}

fn ext2l_operation() -> impl Strategy<Value = Ext2lOperation> {
    let index = 0..64usize;
    let name = 0..NAMES.len();
    prop_oneof![
        3 => (index.clone(), name.clone()).prop_map(|(d, n)| Ext2lOperation::Mkdir(d, n)),
        2 => (index.clone(), name.clone()).prop_map(|(d, n)| Ext2lOperation::Create(d, n)),
        3 => (index.clone(), index.clone(), name.clone()).prop_map(|(s, d, n)| Ext2lOperation::LinkDirectory(s, d, n)),
        2 => (index.clone(), index.clone()).prop_map(|(f, d)| Ext2lOperation::SetRootlink(f, d)),
        1 => index.clone().prop_map(Ext2lOperation::ClearRootlink),
        3 => (index.clone(), name.clone()).prop_map(|(d, n)| Ext2lOperation::Rmdir(d, n)),
        2 => (index.clone(), name.clone()).prop_map(|(d, n)| Ext2lOperation::Unlink(d, n)),
        3 => (index.clone(), name.clone(), index.clone(), name.clone()).prop_map(|(a, b, c, d)| Ext2lOperation::Rename(a, b, c, d)),
        1 => (index.clone(), any::<bool>()).prop_map(|(i, on)| Ext2lOperation::Immutable(i, on)),
        2 => index.clone().prop_map(Ext2lOperation::Hold),
        1 => index.prop_map(Ext2lOperation::Release),
    ]
}

/// Every directory and regular file reachable from the root (through
/// entries and rootlinks), in a deterministic order.
fn reachable(file_system: &mut FileSystem<MemoryDevice>) -> (Vec<InodeNumber>, Vec<InodeNumber>) {
    let mut directories = Vec::new();
    let mut files = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    let mut queue = VecDeque::from([file_system.root()]);
    while let Some(directory) = queue.pop_front() {
        if !seen.insert(directory) {
            continue;
        }
        directories.push(directory);
        for entry in file_system.entries(directory).unwrap() {
            if entry.name == b"." || entry.name == b".." {
                continue;
            }
            let metadata = file_system.stat(entry.inode).unwrap();
            match metadata.file_type {
                FileType::Directory => queue.push_back(entry.inode),
                FileType::RegularFile => {
                    if seen.insert(entry.inode) {
                        files.push(entry.inode);
                    }
                    if let Some(root) = metadata.rootlink {
                        queue.push_back(root);
                    }
                }
                _ => {}
            }
        }
    }
    (directories, files)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    /// Directory hardlinks, rootlinks, immutable flags, renames, removals
    /// and holds in any order: whatever succeeds or fails, the checker stays
    /// clean (link counts, reachability — orphans and what their rootlinks
    /// reach included —, no cycles), refusals are the documented ones, and
    /// a release never fails.
    #[test]
    fn ext2l_operations_keep_every_invariant(operations in proptest::collection::vec(ext2l_operation(), 1..80)) {
        let mut file_system = new_file_system(4 << 20, 1024, 128, true);
        let mut held: Vec<InodeNumber> = Vec::new();
        for operation in &operations {
            let (directories, files) = reachable(&mut file_system);
            let directory = |index: usize| directories[index % directories.len()];
            let file = |index: usize| (!files.is_empty()).then(|| files[index % files.len()]);
            let result = match *operation {
                Ext2lOperation::Mkdir(d, n) => file_system.installer().mkdir(directory(d), NAMES[n], 0o755, 0, 0).map(|_| ()),
                Ext2lOperation::Create(d, n) => file_system.create(directory(d), NAMES[n], 0o644, 0, 0).map(|_| ()),
                Ext2lOperation::LinkDirectory(s, d, n) => file_system.installer().link(directory(s), directory(d), NAMES[n]),
                Ext2lOperation::SetRootlink(f, d) => match file(f) {
                    Some(f) => file_system.installer().set_rootlink(f, directory(d)),
                    None => Ok(()),
                },
                Ext2lOperation::ClearRootlink(f) => match file(f) {
                    Some(f) => file_system.installer().clear_rootlink(f),
                    None => Ok(()),
                },
                Ext2lOperation::Rmdir(d, n) => file_system.rmdir(directory(d), NAMES[n]),
                Ext2lOperation::Unlink(d, n) => file_system.unlink(directory(d), NAMES[n]),
                Ext2lOperation::Rename(a, b, c, d) => file_system.rename(directory(a), NAMES[b], directory(c), NAMES[d]),
                Ext2lOperation::Hold(index) => {
                    let all: Vec<InodeNumber> = directories.iter().chain(files.iter()).copied().collect();
                    let target = all[index % all.len()];
                    file_system.hold(target).unwrap();
                    if !held.contains(&target) {
                        held.push(target);
                    }
                    Ok(())
                }
                Ext2lOperation::Release(index) => {
                    if !held.is_empty() {
                        let target = held.remove(index % held.len());
                        file_system.release(target).unwrap();
                    }
                    Ok(())
                }
                Ext2lOperation::Immutable(index, on) => {
                    let all: Vec<InodeNumber> = directories.iter().chain(files.iter()).copied().filter(|&inode| inode != file_system.root()).collect();
                    match all.get(index % all.len().max(1)) {
                        Some(&inode) => file_system.installer().set_immutable(inode, on),
                        None => Ok(()),
                    }
                }
            };
            if let Err(error) = result {
                prop_assert!(
                    matches!(
                        error,
                        Error::NotFound | Error::Exists | Error::NotEmpty | Error::NotADirectory | Error::IsADirectory
                            | Error::WouldCycle | Error::Immutable | Error::NotPermitted | Error::TooManyLinks
                    ),
                    "{:?} failed with {:?}", operation, error
                );
            }
            let report = file_system.check().unwrap();
            prop_assert!(report.is_clean(), "after {:?}:\n{}", operation,
                report.problems.iter().map(|problem| problem.to_string()).collect::<Vec<_>>().join("\n"));
        }
        let mut file_system = remount(file_system);
        assert_checker_clean(&mut file_system);
    }
}
