// SPDX-License-Identifier: MIT OR Apache-2.0
//! Property test: live objects against a model, with several domains.
//!
//! Each case runs up to 80 random operations on a small volume (few
//! inodes, so numbers are reused all the time): files and directories are
//! created, written, linked, renamed (over open files too), unlinked and
//! removed, while three domains open files, keep descriptors, change
//! their current directory (also by `..`), and change root and `/...` as
//! `xchroot` does. The model knows every object ever made, its content
//! (each file starts with a token of its own), its names and who refers to
//! it. After every operation:
//!
//! - every read through a descriptor returns exactly that object's content
//!   (never another object's, whatever reused its inode number);
//! - listing a current directory gives exactly that directory's entries,
//!   nothing once it was removed, and creating in a removed one fails with
//!   `NotFound`;
//! - `/.../f` reads the file that was put there;
//! - the count of free inodes says that an object is freed exactly when it
//!   has neither a name nor a holder;
//! - after every `Sync`, and at the end once everything is dropped, the
//!   checker finds nothing wrong.
#![forbid(unsafe_code)]

use std::collections::{BTreeMap, BTreeSet};

use dotdotdot::{AccessMode, Operation as DotsOperation};
use fs_ext2l::{format, FormatOptions, MemoryDevice, MountOptions};
use kernel_core::{resolve, DotView, Error, Location, ObjectRef, View, Volume};
use proptest::prelude::*;

const DOMAINS: usize = 3;
const NAMES: [&[u8]; 4] = [b"a", b"b", b"c", b"dd"];

#[derive(Clone, Debug)]
enum Op {
    Create {
        directory: usize,
        name: usize,
    },
    Mkdir {
        directory: usize,
        name: usize,
    },
    Open {
        domain: usize,
        file: usize,
    },
    Close {
        domain: usize,
        handle: usize,
    },
    Write {
        domain: usize,
        handle: usize,
        byte: u8,
        length: u16,
    },
    Read {
        domain: usize,
        handle: usize,
    },
    Unlink {
        entry: usize,
    },
    Rmdir {
        entry: usize,
    },
    Rename {
        entry: usize,
        directory: usize,
        name: usize,
    },
    Link {
        file: usize,
        directory: usize,
        name: usize,
    },
    Chdir {
        domain: usize,
        directory: usize,
    },
    ChdirUp {
        domain: usize,
    },
    Xchroot {
        domain: usize,
        root: usize,
        file: usize,
    },
    ListCwd {
        domain: usize,
    },
    CreateInCwd {
        domain: usize,
        name: usize,
    },
    ReadThroughDots {
        domain: usize,
    },
    Sync,
}

fn op() -> impl Strategy<Value = Op> {
    let i = 0..64usize;
    let d = 0..DOMAINS;
    let n = 0..NAMES.len();
    prop_oneof![
        4 => (i.clone(), n.clone()).prop_map(|(directory, name)| Op::Create { directory, name }),
        2 => (i.clone(), n.clone()).prop_map(|(directory, name)| Op::Mkdir { directory, name }),
        4 => (d.clone(), i.clone()).prop_map(|(domain, file)| Op::Open { domain, file }),
        2 => (d.clone(), i.clone()).prop_map(|(domain, handle)| Op::Close { domain, handle }),
        2 => (d.clone(), i.clone(), any::<u8>(), 1..3000u16)
            .prop_map(|(domain, handle, byte, length)| Op::Write { domain, handle, byte, length }),
        3 => (d.clone(), i.clone()).prop_map(|(domain, handle)| Op::Read { domain, handle }),
        4 => i.clone().prop_map(|entry| Op::Unlink { entry }),
        2 => i.clone().prop_map(|entry| Op::Rmdir { entry }),
        3 => (i.clone(), i.clone(), n.clone())
            .prop_map(|(entry, directory, name)| Op::Rename { entry, directory, name }),
        1 => (i.clone(), i.clone(), n.clone())
            .prop_map(|(file, directory, name)| Op::Link { file, directory, name }),
        2 => (d.clone(), i.clone()).prop_map(|(domain, directory)| Op::Chdir { domain, directory }),
        1 => d.clone().prop_map(|domain| Op::ChdirUp { domain }),
        1 => (d.clone(), i.clone(), i.clone())
            .prop_map(|(domain, root, file)| Op::Xchroot { domain, root, file }),
        2 => d.clone().prop_map(|domain| Op::ListCwd { domain }),
        2 => (d.clone(), n.clone()).prop_map(|(domain, name)| Op::CreateInCwd { domain, name }),
        1 => d.clone().prop_map(|domain| Op::ReadThroughDots { domain }),
        1 => Just(Op::Sync),
    ]
}

/// One object the test made (id = index; 0 is the volume's root).
#[derive(Clone, Debug)]
struct Object {
    directory: bool,
    /// Files: the content.
    content: Vec<u8>,
    /// Directories: name → object id.
    entries: BTreeMap<Vec<u8>, usize>,
    /// Names naming it (a directory has at most one).
    links: usize,
    /// Directories: the one that names it (while named).
    parent: Option<usize>,
}

/// What a domain holds, real and modelled.
struct Domain {
    root: ObjectRef,
    root_id: usize,
    dots: DotView,
    dots_file: Option<usize>,
    cwd: Location,
    /// The cwd's anchor (a root) and the ids of its steps.
    cwd_anchor: usize,
    cwd_chain: Vec<usize>,
    handles: Vec<(ObjectRef, usize)>,
}

struct World {
    volume: Volume<MemoryDevice>,
    objects: Vec<Object>,
    domains: Vec<Domain>,
    free_at_start: u32,
}

fn not_found() -> Error {
    Error::FileSystem(fs_ext2l::Error::NotFound)
}

impl World {
    fn new() -> World {
        let options = FormatOptions {
            size: 1024 * 1024,
            block_size: 1024,
            bytes_per_inode: 32 * 1024,
            ..FormatOptions::default()
        };
        let file_system = format(
            MemoryDevice::new(1024 * 1024),
            &options,
            MountOptions::default(),
        )
        .unwrap();
        let mut volume = Volume::new(file_system, 256).unwrap();
        let free_at_start = volume.file_system().info().free_inodes;
        let root = volume.root().unwrap();
        let domains = (0..DOMAINS)
            .map(|_| Domain {
                root: root.clone(),
                root_id: 0,
                dots: DotView::new(),
                dots_file: None,
                cwd: Location::root(root.clone()),
                cwd_anchor: 0,
                cwd_chain: Vec::new(),
                handles: Vec::new(),
            })
            .collect();
        World {
            volume,
            objects: vec![Object {
                directory: true,
                content: Vec::new(),
                entries: BTreeMap::new(),
                links: 1,
                parent: None,
            }],
            domains,
            free_at_start,
        }
    }

    /// Directories that have a name (reachable from the root), root first.
    fn named_directories(&self) -> Vec<usize> {
        let mut found = vec![0];
        let mut index = 0;
        while index < found.len() {
            let directory = found[index];
            for &child in self.objects[directory].entries.values() {
                if self.objects[child].directory {
                    found.push(child);
                }
            }
            index += 1;
        }
        found
    }

    /// Every entry `(directory, name, object)` reachable from the root.
    fn entries(&self) -> Vec<(usize, Vec<u8>, usize)> {
        let mut all = Vec::new();
        for directory in self.named_directories() {
            for (name, &object) in &self.objects[directory].entries {
                all.push((directory, name.clone(), object));
            }
        }
        all
    }

    fn named_files(&self) -> Vec<usize> {
        let files: BTreeSet<usize> = self
            .entries()
            .into_iter()
            .filter(|(_, _, object)| !self.objects[*object].directory)
            .map(|(_, _, object)| object)
            .collect();
        files.into_iter().collect()
    }

    /// The path of a named directory from the volume's root.
    fn directory_path(&self, mut directory: usize) -> Vec<u8> {
        let mut names: Vec<Vec<u8>> = Vec::new();
        while let Some(parent) = self.objects[directory].parent {
            let name = self.objects[parent]
                .entries
                .iter()
                .find(|(_, &child)| child == directory)
                .map(|(name, _)| name.clone())
                .unwrap();
            names.push(name);
            directory = parent;
        }
        let mut path = Vec::from(&b"/"[..]);
        for name in names.iter().rev() {
            path.extend_from_slice(name);
            path.push(b'/');
        }
        path
    }

    fn file_path(&self, file: usize) -> Vec<u8> {
        let (directory, name, _) = self
            .entries()
            .into_iter()
            .find(|(_, _, object)| *object == file)
            .unwrap();
        let mut path = self.directory_path(directory);
        path.extend_from_slice(&name);
        path
    }

    fn hold_path(&mut self, path: &[u8]) -> ObjectRef {
        self.volume.resolve_path(path, false).unwrap()
    }

    /// Where `directory` is, as a chain from the volume's root.
    fn location_of(&mut self, directory: usize) -> (Location, Vec<usize>) {
        let path = self.directory_path(directory);
        let root = self.volume.root().unwrap();
        let dots = DotView::new();
        let view = View {
            root: &root,
            dots: &dots,
        };
        let resolved = resolve(
            &mut self.volume,
            view,
            &Location::root(root.clone()),
            &path,
            true,
        )
        .unwrap();
        let mut chain = Vec::new();
        let mut current = directory;
        while let Some(parent) = self.objects[current].parent {
            chain.push(current);
            current = parent;
        }
        chain.reverse();
        (resolved.location, chain)
    }

    /// Resolves `path` in `domain`'s view from its current directory.
    fn resolve_in(&mut self, domain: usize, path: &[u8]) -> kernel_core::Resolved {
        let domain = &self.domains[domain];
        let view = View {
            root: &domain.root,
            dots: &domain.dots,
        };
        resolve(&mut self.volume, view, &domain.cwd, path, true).unwrap()
    }

    fn referenced(&self) -> BTreeSet<usize> {
        let mut held = BTreeSet::new();
        for domain in &self.domains {
            held.insert(domain.root_id);
            held.insert(domain.cwd_anchor);
            held.extend(domain.cwd_chain.iter().copied());
            held.extend(domain.dots_file);
            held.extend(domain.handles.iter().map(|(_, id)| *id));
        }
        held
    }

    fn alive_count(&self) -> usize {
        let held = self.referenced();
        (1..self.objects.len())
            .filter(|&id| self.objects[id].links > 0 || held.contains(&id))
            .count()
    }

    fn check_free_inodes(&mut self) {
        let free = self.volume.file_system().info().free_inodes;
        assert_eq!(
            free as usize,
            self.free_at_start as usize - self.alive_count(),
            "an inode was freed too early, too late or never"
        );
    }

    fn new_object(&mut self, directory: bool, parent: usize, name: &[u8]) -> usize {
        let id = self.objects.len();
        self.objects.push(Object {
            directory,
            content: if directory {
                Vec::new()
            } else {
                format!("object-{id};").into_bytes()
            },
            entries: BTreeMap::new(),
            links: 1,
            parent: directory.then_some(parent),
        });
        self.objects[parent].entries.insert(name.to_vec(), id);
        id
    }

    fn create_in(&mut self, directory: &ObjectRef, directory_id: usize, name: &[u8]) {
        let expected_exists = self.objects[directory_id].entries.contains_key(name);
        match self.volume.create(directory, name, 0o644) {
            Ok(file) => {
                assert!(!expected_exists, "created over an existing name");
                let id = self.new_object(false, directory_id, name);
                let token = self.objects[id].content.clone();
                assert_eq!(self.volume.write(&file, 0, &token).unwrap(), token.len());
            }
            Err(Error::FileSystem(fs_ext2l::Error::Exists)) => assert!(expected_exists),
            Err(Error::FileSystem(fs_ext2l::Error::NoSpace)) => {}
            Err(error) => panic!("create: {error:?}"),
        }
    }

    fn apply(&mut self, op: &Op) {
        let pick = |list: &[usize], index: usize| list.get(index % list.len().max(1)).copied();
        match *op {
            Op::Create { directory, name } => {
                let Some(directory) = pick(&self.named_directories(), directory) else {
                    return;
                };
                let path = self.directory_path(directory);
                let object = self.hold_path(&path);
                self.create_in(&object, directory, NAMES[name]);
            }
            Op::Mkdir { directory, name } => {
                let Some(directory) = pick(&self.named_directories(), directory) else {
                    return;
                };
                let path = self.directory_path(directory);
                let object = self.hold_path(&path);
                let exists = self.objects[directory].entries.contains_key(NAMES[name]);
                match self.volume.mkdir(&object, NAMES[name], 0o755) {
                    Ok(()) => {
                        assert!(!exists);
                        self.new_object(true, directory, NAMES[name]);
                    }
                    Err(Error::FileSystem(fs_ext2l::Error::Exists)) => assert!(exists),
                    Err(Error::FileSystem(fs_ext2l::Error::NoSpace)) => {}
                    Err(error) => panic!("mkdir: {error:?}"),
                }
            }
            Op::Open { domain, file } => {
                let Some(file) = pick(&self.named_files(), file) else {
                    return;
                };
                let path = self.file_path(file);
                let object = self.hold_path(&path);
                self.domains[domain].handles.push((object, file));
            }
            Op::Close { domain, handle } => {
                let handles = &mut self.domains[domain].handles;
                if !handles.is_empty() {
                    let index = handle % handles.len();
                    handles.remove(index);
                }
            }
            Op::Write {
                domain,
                handle,
                byte,
                length,
            } => {
                let handles = &self.domains[domain].handles;
                if handles.is_empty() {
                    return;
                }
                let (object, id) = handles[handle % handles.len()].clone();
                let data = vec![byte; usize::from(length)];
                let end = self.objects[id].content.len() as u64;
                match self.volume.write(&object, end, &data) {
                    Ok(count) => {
                        assert_eq!(count, data.len());
                        self.objects[id].content.extend_from_slice(&data);
                    }
                    Err(Error::FileSystem(fs_ext2l::Error::NoSpace)) => {
                        // Part may have been written: take what is there.
                        let mut content = vec![0u8; 1 << 20];
                        let read = self.volume.read(&object, 0, &mut content).unwrap();
                        content.truncate(read);
                        assert!(content.starts_with(&self.objects[id].content));
                        self.objects[id].content = content;
                    }
                    Err(error) => panic!("write: {error:?}"),
                }
            }
            Op::Read { domain, handle } => {
                let handles = &self.domains[domain].handles;
                if handles.is_empty() {
                    return;
                }
                let (object, id) = handles[handle % handles.len()].clone();
                let mut content = vec![0u8; self.objects[id].content.len() + 64];
                let read = self.volume.read(&object, 0, &mut content).unwrap();
                assert_eq!(
                    &content[..read],
                    &self.objects[id].content[..],
                    "a descriptor read another object's bytes"
                );
            }
            Op::Unlink { entry } => {
                let files: Vec<_> = self
                    .entries()
                    .into_iter()
                    .filter(|(_, _, object)| !self.objects[*object].directory)
                    .collect();
                let Some((directory, name, object)) =
                    files.get(entry % files.len().max(1)).cloned()
                else {
                    return;
                };
                let path = self.directory_path(directory);
                let parent = self.hold_path(&path);
                self.volume.unlink(&parent, &name).unwrap();
                self.objects[directory].entries.remove(&name);
                self.objects[object].links -= 1;
            }
            Op::Rmdir { entry } => {
                let directories: Vec<_> = self
                    .entries()
                    .into_iter()
                    .filter(|(_, _, object)| self.objects[*object].directory)
                    .collect();
                let Some((directory, name, object)) =
                    directories.get(entry % directories.len().max(1)).cloned()
                else {
                    return;
                };
                let path = self.directory_path(directory);
                let parent = self.hold_path(&path);
                let empty = self.objects[object].entries.is_empty();
                match self.volume.rmdir(&parent, &name) {
                    Ok(()) => {
                        assert!(empty, "a non-empty directory was removed");
                        self.objects[directory].entries.remove(&name);
                        self.objects[object].links = 0;
                        self.objects[object].parent = None;
                    }
                    Err(Error::FileSystem(fs_ext2l::Error::NotEmpty)) => assert!(!empty),
                    Err(error) => panic!("rmdir: {error:?}"),
                }
            }
            Op::Rename {
                entry,
                directory,
                name,
            } => {
                let all = self.entries();
                let Some((from, old_name, object)) = all.get(entry % all.len().max(1)).cloned()
                else {
                    return;
                };
                let Some(to) = pick(&self.named_directories(), directory) else {
                    return;
                };
                let new_name = NAMES[name].to_vec();
                let moving_directory = self.objects[object].directory;
                let existing = self.objects[to].entries.get(&new_name).copied();
                // Keep to the cases whose outcome is simple to model.
                if existing.is_some_and(|victim| self.objects[victim].directory || moving_directory)
                {
                    return;
                }
                if moving_directory {
                    let mut ancestor = Some(to);
                    while let Some(current) = ancestor {
                        if current == object {
                            return; // a cycle: refused, tested in fs-ext2l
                        }
                        ancestor = self.objects[current].parent;
                    }
                }
                let from_path = self.directory_path(from);
                let to_path = self.directory_path(to);
                let from_object = self.hold_path(&from_path);
                let to_object = self.hold_path(&to_path);
                self.volume
                    .rename(&from_object, &old_name, &to_object, &new_name)
                    .unwrap();
                if existing == Some(object) {
                    return; // two names of one file: nothing happens
                }
                if from == to && old_name == new_name {
                    return;
                }
                self.objects[from].entries.remove(&old_name);
                if let Some(victim) = existing {
                    self.objects[victim].links -= 1;
                }
                self.objects[to].entries.insert(new_name, object);
                if moving_directory {
                    self.objects[object].parent = Some(to);
                }
            }
            Op::Link {
                file,
                directory,
                name,
            } => {
                let Some(file) = pick(&self.named_files(), file) else {
                    return;
                };
                let Some(directory) = pick(&self.named_directories(), directory) else {
                    return;
                };
                if self.objects[directory].entries.contains_key(NAMES[name]) {
                    return;
                }
                let file_path = self.file_path(file);
                let directory_path = self.directory_path(directory);
                let object = self.hold_path(&file_path);
                let target = self.hold_path(&directory_path);
                self.volume.link(&object, &target, NAMES[name]).unwrap();
                self.objects[directory]
                    .entries
                    .insert(NAMES[name].to_vec(), file);
                self.objects[file].links += 1;
            }
            Op::Chdir { domain, directory } => {
                let Some(directory) = pick(&self.named_directories(), directory) else {
                    return;
                };
                let (location, chain) = self.location_of(directory);
                let domain = &mut self.domains[domain];
                domain.cwd = location;
                domain.cwd_anchor = 0;
                domain.cwd_chain = chain;
            }
            Op::ChdirUp { domain } => {
                let up = self.resolve_in(domain, b"..");
                let domain = &mut self.domains[domain];
                domain.cwd = up.location;
                domain.cwd_chain.pop();
            }
            Op::Xchroot { domain, root, file } => {
                let Some(root) = pick(&self.named_directories(), root) else {
                    return;
                };
                let Some(file) = pick(&self.named_files(), file) else {
                    return;
                };
                let root_path = self.directory_path(root);
                let file_path = self.file_path(file);
                let root_object = self.hold_path(&root_path);
                let file_object = self.hold_path(&file_path);
                let domain = &mut self.domains[domain];
                domain.dots = domain
                    .dots
                    .applied(&[
                        DotsOperation::RemoveAll,
                        DotsOperation::Put {
                            name: b"f".to_vec(),
                            handle: file_object,
                            mode: AccessMode::ReadOnly,
                        },
                    ])
                    .unwrap();
                domain.dots_file = Some(file);
                domain.cwd = Location::root(root_object.clone());
                domain.root = root_object;
                domain.root_id = root;
                domain.cwd_anchor = root;
                domain.cwd_chain.clear();
            }
            Op::ListCwd { domain } => {
                let Some(directory) = self.domains[domain].cwd.object() else {
                    return;
                };
                let id = self.domains[domain]
                    .cwd_chain
                    .last()
                    .copied()
                    .unwrap_or(self.domains[domain].cwd_anchor);
                let mut names = BTreeSet::new();
                let mut cursor = 0;
                while let Some(entry) = self.volume.read_dir(&directory, cursor).unwrap() {
                    cursor = entry.next_cursor;
                    if entry.name != b"." && entry.name != b".." && entry.name != b"lost+found" {
                        names.insert(entry.name);
                    }
                }
                let expected: BTreeSet<Vec<u8>> =
                    self.objects[id].entries.keys().cloned().collect();
                assert_eq!(
                    names, expected,
                    "a current directory lists another's entries"
                );
            }
            Op::CreateInCwd { domain, name } => {
                let Some(directory) = self.domains[domain].cwd.object() else {
                    return;
                };
                let id = self.domains[domain]
                    .cwd_chain
                    .last()
                    .copied()
                    .unwrap_or(self.domains[domain].cwd_anchor);
                if self.objects[id].links == 0 {
                    assert_eq!(
                        self.volume.create(&directory, NAMES[name], 0o644).err(),
                        Some(not_found()),
                        "created a file in a removed directory"
                    );
                } else {
                    self.create_in(&directory, id, NAMES[name]);
                }
            }
            Op::ReadThroughDots { domain } => {
                let Some(id) = self.domains[domain].dots_file else {
                    return;
                };
                let found = self.resolve_in(domain, b"/.../f");
                let object = found.location.object().unwrap();
                let mut content = vec![0u8; self.objects[id].content.len() + 64];
                let read = self.volume.read(&object, 0, &mut content).unwrap();
                assert_eq!(&content[..read], &self.objects[id].content[..]);
            }
            Op::Sync => {
                self.volume.sync().unwrap();
                let report = self.volume.file_system().check().unwrap();
                assert!(report.problems.is_empty(), "{:?}", report.problems);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn no_handle_reaches_another_object(ops in prop::collection::vec(op(), 1..80)) {
        let mut world = World::new();
        for op in &ops {
            world.apply(op);
            world.check_free_inodes();
        }
        world.domains.clear();
        world.volume.sync().unwrap();
        world.check_free_inodes();
        let report = world.volume.file_system().check().unwrap();
        prop_assert!(report.problems.is_empty(), "{:?}", report.problems);
    }
}

/// A reference whose inode was freed behind the volume's back (the
/// contract broken on purpose) and reused is `Stale`, never the new file.
#[test]
fn a_reused_inode_is_stale_for_an_old_reference() {
    let mut world = World::new();
    let root = world.volume.root().unwrap();
    let old = world.volume.create(&root, b"old", 0o644).unwrap();
    world.volume.write(&old, 0, b"mine").unwrap();
    // Break the contract: let the file system forget the hold.
    world.volume.file_system().release(old.inode()).unwrap();
    world.volume.unlink(&root, b"old").unwrap();
    let new = world.volume.create(&root, b"new", 0o644).unwrap();
    world.volume.write(&new, 0, b"someone else's").unwrap();
    assert_eq!(new.inode(), old.inode(), "the number was reused");
    let mut buffer = [0u8; 32];
    assert_eq!(world.volume.read(&old, 0, &mut buffer), Err(Error::Stale));
    // The long-read path checks the generation itself, also when it
    // reuses the inode the last read loaded.
    let (first, second) = buffer.split_at_mut(4);
    assert_eq!(
        world.volume.read_pieces(&new, 0, &mut [first, second]),
        Ok(14)
    );
    let (first, second) = buffer.split_at_mut(4);
    assert_eq!(
        world.volume.read_pieces(&old, 0, &mut [first, second]),
        Err(Error::Stale)
    );
    assert_eq!(world.volume.write(&old, 0, b"x"), Err(Error::Stale));
}
