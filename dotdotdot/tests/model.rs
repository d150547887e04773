// SPDX-License-Identifier: MIT OR Apache-2.0
//! Property tests: `Namespace` against a deliberately simple model.
//!
//! The model keeps only a map from full leaf names (`rocknroll/blues.dat`) to
//! their handle and mode, and derives everything else (virtual directories,
//! listings, name counts, errors) from it by brute force, straight from the
//! README's rules. Random operation sequences, with many invalid and colliding
//! names, must give the same results and the same tree in both. Further
//! properties check that limits hold, that a failed batch changes nothing,
//! that clones diverge only on change, and that name validation follows the
//! rules exactly.
#![forbid(unsafe_code)]

use std::collections::{BTreeMap, BTreeSet};

use dotdotdot::{
    fresh_names, validate_name, AccessMode, BatchError, Entry, EntryKind, Error, Namespace,
    Operation, Resolved, MAX_COMPONENT_LENGTH, MAX_DEPTH, MAX_ENTRIES, MAX_NAME_LENGTH,
};
use proptest::prelude::*;

type Handle = u32;

/// The README's naming rules, written out independently of the crate.
fn model_is_valid_name(name: &[u8]) -> bool {
    let components: Vec<&[u8]> = name.split(|&byte| byte == b'/').collect();
    !name.is_empty()
        && name.len() <= MAX_NAME_LENGTH
        && components.len() <= MAX_DEPTH
        && components
            .iter()
            .all(|component| model_is_valid_component(component))
}

fn model_is_valid_component(component: &[u8]) -> bool {
    !component.is_empty()
        && component.len() <= MAX_COMPONENT_LENGTH
        && !component.iter().all(|&byte| byte == b'.')
        && !component.contains(&0)
        && !component.contains(&b'/')
}

/// The proper prefixes of `name` that end at a component boundary: `a/b/c`
/// gives `a` and `a/b`.
fn proper_prefixes(name: &[u8]) -> impl Iterator<Item = &[u8]> {
    name.iter()
        .enumerate()
        .filter(|(_, &byte)| byte == b'/')
        .map(move |(index, _)| &name[..index])
}

#[derive(Clone, Debug, Default, PartialEq)]
struct Model {
    leaves: BTreeMap<Vec<u8>, (Handle, AccessMode)>,
}

impl Model {
    /// Every virtual directory: each proper prefix of each leaf.
    fn virtual_directories(&self) -> BTreeSet<Vec<u8>> {
        self.leaves
            .keys()
            .flat_map(|leaf| proper_prefixes(leaf).map(<[u8]>::to_vec))
            .collect()
    }

    fn name_count(&self) -> usize {
        self.leaves.len() + self.virtual_directories().len()
    }

    fn prefix_is_leaf(&self, name: &[u8]) -> bool {
        proper_prefixes(name).any(|prefix| self.leaves.contains_key(prefix))
    }

    fn put(&mut self, name: &[u8], handle: Handle, mode: AccessMode) -> Result<(), Error> {
        if !model_is_valid_name(name) {
            return Err(Error::InvalidName);
        }
        if self.prefix_is_leaf(name) {
            return Err(Error::InsideLeaf);
        }
        if self.leaves.contains_key(name) || self.virtual_directories().contains(name) {
            return Err(Error::Exists);
        }
        let mut grown = self.clone();
        grown.leaves.insert(name.to_vec(), (handle, mode));
        if grown.name_count() > MAX_ENTRIES {
            return Err(Error::NoSpace);
        }
        *self = grown;
        Ok(())
    }

    fn remove(&mut self, name: &[u8]) -> Result<(), Error> {
        if !model_is_valid_name(name) {
            return Err(Error::InvalidName);
        }
        if self.prefix_is_leaf(name) {
            return Err(Error::InsideLeaf);
        }
        if self.leaves.remove(name).is_some() {
            return Ok(());
        }
        if !self.virtual_directories().contains(name) {
            return Err(Error::NotFound);
        }
        let mut below = name.to_vec();
        below.push(b'/');
        self.leaves.retain(|leaf, _| !leaf.starts_with(&below));
        Ok(())
    }

    fn apply(&mut self, operation: &Operation<Handle>) -> Result<(), Error> {
        match operation {
            Operation::Put { name, handle, mode } => self.put(name, *handle, *mode),
            Operation::Remove { name } => self.remove(name),
            Operation::RemoveAll => {
                self.leaves.clear();
                Ok(())
            }
        }
    }

    /// Children of the virtual directory `directory` (empty for the root),
    /// with their kinds, sorted by name.
    fn listing(&self, directory: &[u8]) -> Vec<(Vec<u8>, EntryKind)> {
        let prefix = if directory.is_empty() {
            Vec::new()
        } else {
            [directory, b"/"].concat()
        };
        let mut children = BTreeMap::new();
        for (leaf, (_, mode)) in &self.leaves {
            let Some(below) = leaf.strip_prefix(&prefix[..]) else {
                continue;
            };
            match below.iter().position(|&byte| byte == b'/') {
                None => children.insert(below.to_vec(), EntryKind::Leaf(*mode)),
                Some(end) => children.insert(below[..end].to_vec(), EntryKind::VirtualDirectory),
            };
        }
        children.into_iter().collect()
    }

    fn fresh_number(&self) -> u32 {
        let top_level: BTreeSet<Vec<u8>> = self
            .listing(b"")
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        (1..)
            .find(|number: &u32| !top_level.contains(number.to_string().as_bytes()))
            .unwrap()
    }
}

/// The namespace's children of `directory`, or `None` if it is not a
/// virtual directory there.
fn listing(namespace: &Namespace<Handle>, directory: &[u8]) -> Option<Vec<(Vec<u8>, EntryKind)>> {
    let found = if directory.is_empty() {
        namespace.root()
    } else {
        match namespace.lookup(directory) {
            Ok(Entry::Directory(found)) => found,
            _ => return None,
        }
    };
    Some(
        found
            .entries()
            .map(|(name, entry)| (name.to_vec(), entry.kind()))
            .collect(),
    )
}

/// Checks that `namespace` holds exactly the model's tree.
fn assert_agrees(namespace: &Namespace<Handle>, model: &Model) {
    // The same leaves, listed depth-first in component order.
    let mut expected: Vec<(Vec<u8>, Handle, AccessMode)> = model
        .leaves
        .iter()
        .map(|(name, (handle, mode))| (name.clone(), *handle, *mode))
        .collect();
    expected.sort_by(|left, right| {
        left.0
            .split(|&byte| byte == b'/')
            .cmp(right.0.split(|&byte| byte == b'/'))
    });
    let actual: Vec<(Vec<u8>, Handle, AccessMode)> = namespace
        .leaves()
        .into_iter()
        .map(|(name, leaf)| (name, *leaf.handle(), leaf.mode()))
        .collect();
    assert_eq!(actual, expected);

    assert_eq!(namespace.len(), model.name_count());
    assert!(namespace.len() <= MAX_ENTRIES);
    assert_eq!(namespace.is_empty(), model.leaves.is_empty());

    // Every virtual directory lists like the model's, the root included.
    let mut directories = model.virtual_directories();
    directories.insert(Vec::new());
    for directory in &directories {
        assert_eq!(
            listing(namespace, directory),
            Some(model.listing(directory))
        );
    }

    // Every leaf is found by lookup and by resolve, which hands back what
    // follows it untouched.
    for (name, (handle, mode)) in &model.leaves {
        match namespace.lookup(name) {
            Ok(Entry::Leaf(leaf)) => assert_eq!((*leaf.handle(), leaf.mode()), (*handle, *mode)),
            other => panic!("lookup of a leaf: {other:?}"),
        }
        let mut path: Vec<&[u8]> = name.split(|&byte| byte == b'/').collect();
        let depth = path.len();
        path.extend([&b"inside"[..], b"..", b""]);
        assert_eq!(
            namespace.resolve(&path),
            Ok(Resolved::Leaf {
                handle,
                mode: *mode,
                rest: &path[depth..],
            })
        );
    }

    assert_eq!(namespace.fresh_name().number(), model.fresh_number());
}

/// Bytes of a list of literal names.
fn literal_names(names: &'static [&'static str]) -> impl Strategy<Value = Vec<u8>> + Clone {
    prop::sample::select(names).prop_map(|name| name.as_bytes().to_vec())
}

/// Components that collide often, plus every kind of invalid one.
fn component() -> impl Strategy<Value = Vec<u8>> + Clone {
    prop_oneof![
        12 => literal_names(&["a", "b", "c", "1", "2", "3"]),
        1 => literal_names(&["", ".", "..", "...", "....", "a\0", ".a", "a."]),
        1 => prop::sample::select(vec![MAX_COMPONENT_LENGTH, MAX_COMPONENT_LENGTH + 1])
            .prop_map(|length| vec![b'x'; length]),
        1 => prop::collection::vec(any::<u8>(), 0..6),
    ]
}

/// Names of 1 to 4 components, sometimes with a stray `/`, sometimes too deep.
fn name() -> impl Strategy<Value = Vec<u8>> {
    let stray_slash = (prop::collection::vec(component(), 1..=3), prop::bool::ANY).prop_map(
        |(components, leading)| {
            let joined = components.join(&b'/');
            if leading {
                [&b"/"[..], &joined].concat()
            } else {
                [&joined[..], b"/"].concat()
            }
        },
    );
    prop_oneof![
        20 => prop::collection::vec(component(), 1..=4)
            .prop_map(|components| components.join(&b'/')),
        1 => stray_slash,
        1 => (MAX_DEPTH - 1..=MAX_DEPTH + 1)
            .prop_map(|depth| vec![&b"d"[..]; depth].join(&b'/')),
    ]
}

fn mode() -> impl Strategy<Value = AccessMode> {
    prop_oneof![Just(AccessMode::ReadOnly), Just(AccessMode::ReadWrite)]
}

fn operation() -> impl Strategy<Value = Operation<Handle>> {
    prop_oneof![
        10 => (name(), 0..1000u32, mode())
            .prop_map(|(name, handle, mode)| Operation::Put { name, handle, mode }),
        5 => name().prop_map(|name| Operation::Remove { name }),
        1 => Just(Operation::RemoveAll),
    ]
}

/// Mostly puts, of names from a space of 400 (`l0` to `l39` at the top,
/// and `d0/b0` to `d39/b8`), so long sequences reach `MAX_ENTRIES`. Removes
/// name leaves only: removing a whole `dN` would keep the tree small.
fn crowding_operation() -> impl Strategy<Value = Operation<Handle>> {
    let name = prop_oneof![
        1 => (0..40u32).prop_map(|top| format!("l{top}").into_bytes()),
        4 => (0..40u32, 0..9u32).prop_map(|(top, below)| format!("d{top}/b{below}").into_bytes()),
    ];
    prop_oneof![
        8 => (name.clone(), 0..1000u32, mode())
            .prop_map(|(name, handle, mode)| Operation::Put { name, handle, mode }),
        1 => name.prop_map(|name| Operation::Remove { name }),
    ]
}

/// Builds a namespace and its model from `operations`, ignoring failures.
fn build(operations: &[Operation<Handle>]) -> (Namespace<Handle>, Model) {
    let mut namespace = Namespace::new();
    let mut model = Model::default();
    for operation in operations {
        let _ = namespace.apply_operation(operation);
        let _ = model.apply(operation);
    }
    (namespace, model)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Each operation gives the model's result, a failed one changes nothing
    /// (not even storage sharing), and the trees agree after every step.
    #[test]
    fn operations_agree_with_the_model(operations in prop::collection::vec(operation(), 0..60)) {
        let mut namespace = Namespace::new();
        let mut model = Model::default();
        for operation in &operations {
            let before = namespace.clone();
            let result = namespace.apply_operation(operation);
            prop_assert_eq!(result, model.apply(operation), "{:?}", operation);
            if result.is_err() {
                prop_assert!(namespace.shares_storage_with(&before));
                prop_assert_eq!(&namespace, &before);
            }
            assert_agrees(&namespace, &model);
        }
    }

    /// Resolving arbitrary paths follows the tree to the first leaf.
    #[test]
    fn resolve_agrees_with_the_model(
        operations in prop::collection::vec(operation(), 0..40),
        path in prop::collection::vec(component(), 0..6),
    ) {
        let (namespace, model) = build(&operations);
        let directories = model.virtual_directories();
        let mut expected = None;
        for depth in 0..path.len() {
            if !model_is_valid_component(&path[depth]) {
                expected = Some(Err(Error::InvalidName));
                break;
            }
            let prefix = path[..=depth].join(&b'/');
            if let Some((handle, mode)) = model.leaves.get(&prefix) {
                expected = Some(Ok((*handle, *mode, depth + 1)));
                break;
            }
            if !directories.contains(&prefix) {
                expected = Some(Err(Error::NotFound));
                break;
            }
        }
        match (namespace.resolve(&path), expected) {
            (
                Ok(Resolved::Leaf { handle, mode, rest }),
                Some(Ok((model_handle, model_mode, depth))),
            ) => {
                prop_assert_eq!((*handle, mode), (model_handle, model_mode));
                prop_assert_eq!(rest, &path[depth..]);
            }
            (Ok(Resolved::Virtual(directory)), None) => {
                let listed: Vec<(Vec<u8>, EntryKind)> = directory
                    .entries()
                    .map(|(name, entry)| (name.to_vec(), entry.kind()))
                    .collect();
                prop_assert_eq!(listed, model.listing(&path.join(&b'/')));
            }
            (Err(error), Some(Err(model_error))) => prop_assert_eq!(error, model_error),
            (actual, expected) => {
                prop_assert!(false, "resolve gave {:?}, model {:?}", actual, expected)
            }
        }
    }

    /// A batch commits all its operations or none: a failure names the first
    /// failing operation, as applying them one by one finds it, and leaves
    /// the namespace equal to, and sharing storage with, what it was.
    #[test]
    fn batches_are_atomic(
        setup in prop::collection::vec(operation(), 0..30),
        batch in prop::collection::vec(operation(), 0..12),
    ) {
        let (mut namespace, model) = build(&setup);
        let before = namespace.clone();

        let mut expected_model = model.clone();
        let mut expected_failure = None;
        for (index, operation) in batch.iter().enumerate() {
            if let Err(error) = expected_model.apply(operation) {
                expected_failure = Some(BatchError { index, error });
                break;
            }
        }

        let result = namespace.apply(&batch);
        match expected_failure {
            Some(failure) => {
                prop_assert_eq!(result, Err(failure));
                prop_assert!(namespace.shares_storage_with(&before));
                assert_agrees(&namespace, &model);
            }
            None => {
                prop_assert_eq!(result, Ok(()));
                assert_agrees(&namespace, &expected_model);
            }
        }
        // The clone taken before never sees the batch.
        assert_agrees(&before, &model);
    }

    /// A clone (a spawned child's view) shares storage until it changes, and
    /// no change to it reaches the original.
    #[test]
    fn clones_diverge_only_on_change(
        setup in prop::collection::vec(operation(), 0..30),
        changes in prop::collection::vec(operation(), 1..20),
    ) {
        let (parent, parent_model) = build(&setup);
        let mut child = parent.clone();
        let mut child_model = parent_model.clone();
        let mut changed = false;
        for operation in &changes {
            let result = child.apply_operation(operation);
            prop_assert_eq!(result, child_model.apply(operation));
            changed |= result.is_ok();
            // Sharing ends with the first successful change, not before.
            prop_assert_eq!(child.shares_storage_with(&parent), !changed);
            assert_agrees(&parent, &parent_model);
        }
        assert_agrees(&child, &child_model);
    }

    /// Validation accepts exactly the names the rules allow.
    #[test]
    fn validation_follows_the_rules(
        name in prop_oneof![
            prop::collection::vec(prop::sample::select(vec![b'a', b'.', b'/', 0u8, 0xff]), 0..12),
            prop::collection::vec(any::<u8>(), 0..(MAX_NAME_LENGTH + 20)),
            name(),
        ]
    ) {
        prop_assert_eq!(validate_name(&name).is_ok(), model_is_valid_name(&name));
        let mut namespace = Namespace::new();
        let result = namespace.put(&name, 0, AccessMode::ReadOnly);
        prop_assert_eq!(result.is_ok(), model_is_valid_name(&name));
        if result.is_err() {
            prop_assert_eq!(result, Err(Error::InvalidName));
            prop_assert!(namespace.is_empty());
        }
    }

    /// `fresh_names` yields increasing, valid, untaken names and skips no
    /// free one.
    #[test]
    fn fresh_names_are_the_free_numbers_in_order(
        taken in prop::collection::btree_set(0..40u32, 0..30),
    ) {
        let taken_names: BTreeSet<Vec<u8>> = taken
            .iter()
            .map(|number| number.to_string().into_bytes())
            .collect();
        let fresh: Vec<u32> = fresh_names(|name| taken_names.contains(name))
            .take(10)
            .map(|name| {
                assert_eq!(validate_name(name.as_bytes()), Ok(()));
                assert_eq!(name.as_bytes(), name.number().to_string().as_bytes());
                name.number()
            })
            .collect();
        let expected: Vec<u32> = (1..).filter(|number| !taken.contains(number)).take(10).collect();
        prop_assert_eq!(fresh, expected);
    }
}

proptest! {
    // Each case runs hundreds of operations; fewer cases keep the suite quick.
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Long sequences in a crowded name space hit `MAX_ENTRIES` and never go
    /// over it.
    #[test]
    fn the_entry_limit_holds(operations in prop::collection::vec(crowding_operation(), 300..600)) {
        let mut namespace = Namespace::new();
        let mut model = Model::default();
        let mut refused_for_space = false;
        for operation in &operations {
            let result = namespace.apply_operation(operation);
            prop_assert_eq!(result, model.apply(operation));
            refused_for_space |= result == Err(Error::NoSpace);
            prop_assert!(namespace.len() <= MAX_ENTRIES);
            prop_assert_eq!(namespace.len(), model.name_count());
        }
        assert_agrees(&namespace, &model);
        // Most sequences fill the tree; the property must not pass vacuously.
        prop_assume!(refused_for_space);
    }
}
