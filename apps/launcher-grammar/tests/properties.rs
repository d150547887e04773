// SPDX-License-Identifier: MIT OR Apache-2.0
//! Property tests: parsing never panics and never makes a file of a word;
//! the binary and TOML forms round-trip; hostile bytes are refused
//! cleanly.
#![forbid(unsafe_code)]

use launcher_grammar::{
    embed, from_bytes, parse, read_blob, to_bytes, Access, Grammar, GrammarParts, Inherit, Kind,
    Operands, OptionSpec, Role, ValueChange,
};
use proptest::prelude::*;
use std::collections::BTreeSet;

fn kind() -> impl Strategy<Value = Kind> {
    prop::sample::select(Kind::ALL.to_vec())
}

/// Sometimes, a change of the operands' kinds, other options' value kinds
/// (by index, sanitised once the options are known) and the current
/// directory's access.
fn operands() -> impl Strategy<Value = Option<Operands>> {
    prop_oneof![
        3 => Just(None),
        1 => (
            prop::option::of(prop::collection::vec(kind(), 0..3)),
            prop::option::of(kind()),
            prop::collection::vec((0usize..8, kind()), 0..3),
            prop::option::of(prop::sample::select(vec![Access::ReadOnly, Access::ReadWrite])),
        )
            .prop_map(|(positional, rest, values, directory)| Some(Operands {
                positional,
                rest,
                values: values
                    .into_iter()
                    .map(|(option, kind)| ValueChange { option, kind })
                    .collect(),
                directory,
            })),
    ]
}

fn option() -> impl Strategy<Value = OptionSpec> {
    (
        prop::option::of(prop::sample::select(b"abcdefnoxyzABZ019".to_vec())),
        prop::option::of("[a-z][a-z0-9_-]{0,7}"),
        prop::option::of(kind()),
        operands(),
        0u8..6,
    )
        .prop_map(|(short, long, value, operands, style)| {
            // Now and then `-name` (single-dash) or `-exec` (a command).
            let single_dash = style >= 4 && long.as_ref().is_some_and(|long| long.len() >= 2);
            let command = single_dash && style == 5;
            OptionSpec {
                short,
                long,
                value: if command { Some(Kind::Word) } else { value },
                operands: operands.filter(|_| !command),
                single_dash,
                command,
            }
        })
}

/// Any valid grammar (rarely an invalid combination, which is dropped).
fn grammar() -> impl Strategy<Value = Grammar> {
    (
        prop::collection::vec(option(), 0..8),
        prop::collection::vec(kind(), 0..4),
        prop::option::of(kind()),
        0u16..3,
        prop::option::of(0u16..6),
        prop::collection::vec("[a-z./-]{1,6}", 0..3),
        prop::collection::vec(("[a-z]{1,4}(/[a-z]{1,4})?", any::<bool>()), 0..3),
        any::<bool>(),
        (
            any::<bool>(),
            any::<bool>(),
            prop::collection::vec("[!(a-z]{1,3}", 0..3),
        ),
    )
        .prop_filter_map(
            "an invalid combination",
            |(options, positional, rest, min, max, defaults, inherit, intermixed, shape)| {
                let (bundled_first, operands_first, operand_ends) = shape;
                // Keep the first option of each name: duplicates are a
                // rule `Grammar::new` checks (and the unit tests cover).
                let mut shorts = BTreeSet::new();
                let mut longs = BTreeSet::new();
                let mut options: Vec<OptionSpec> = options
                    .into_iter()
                    .filter(|option| option.short.is_some() || option.long.is_some())
                    .filter(|option| option.short.is_none_or(|short| shorts.insert(short)))
                    .filter(|option| {
                        option
                            .long
                            .as_ref()
                            .is_none_or(|long| longs.insert(long.clone()))
                    })
                    .collect();
                // Value changes name options with a value, in order.
                let targets: Vec<bool> = options
                    .iter()
                    .map(|option| option.value.is_some() && !option.command)
                    .collect();
                for option in &mut options {
                    if let Some(operands) = &mut option.operands {
                        operands
                            .values
                            .retain(|change| targets.get(change.option) == Some(&true));
                        operands.values.sort_by_key(|change| change.option);
                        operands.values.dedup_by_key(|change| change.option);
                        if operands.is_empty() {
                            option.operands = None;
                        }
                    }
                }
                let mut names: Vec<Vec<u8>> = Vec::new();
                let inherit = inherit
                    .into_iter()
                    .filter_map(|(name, writable)| {
                        let name = name.into_bytes();
                        let top = name.split(|&byte| byte == b'/').next()?.to_vec();
                        if names
                            .iter()
                            .any(|other| other.split(|&b| b == b'/').next() == Some(&top))
                        {
                            return None;
                        }
                        names.push(name.clone());
                        Some(Inherit {
                            name,
                            access: if writable {
                                Access::ReadWrite
                            } else {
                                Access::ReadOnly
                            },
                        })
                    })
                    .collect();
                let max = if rest.is_none() {
                    max.filter(|&max| usize::from(max) <= positional.len())
                } else {
                    max
                };
                let parts = GrammarParts {
                    options,
                    positional,
                    rest,
                    min,
                    max,
                    defaults: defaults.into_iter().map(String::into_bytes).collect(),
                    inherit,
                    intermixed,
                    bundled_first,
                    operands_first,
                    operand_ends: if operands_first {
                        operand_ends.into_iter().map(String::into_bytes).collect()
                    } else {
                        Vec::new()
                    },
                };
                Grammar::new(parts.clone())
                    .or_else(|_| {
                        Grammar::new(GrammarParts {
                            defaults: Vec::new(),
                            ..parts.clone()
                        })
                    })
                    .or_else(|_| {
                        Grammar::new(GrammarParts {
                            defaults: Vec::new(),
                            min: 0,
                            ..parts
                        })
                    })
                    .ok()
            },
        )
}

/// Command-line words shaped like real ones, and some that are not.
fn argument() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        "-[a-zA-Z0-9]{0,4}".prop_map(String::into_bytes),
        "--[a-z0-9=-]{0,10}".prop_map(String::into_bytes),
        "[a-z./-]{0,8}".prop_map(String::into_bytes),
        Just(b"--".to_vec()),
        Just(b"-".to_vec()),
        Just(b";".to_vec()),
        Just(b"{}".to_vec()),
        Just(b"+".to_vec()),
        Just(b"!".to_vec()),
        prop::collection::vec(any::<u8>(), 0..12),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn parsing_never_panics_and_only_grammar_files_are_files(
        grammar in grammar(),
        arguments in prop::collection::vec(argument(), 0..10),
    ) {
        // Every kind the grammar names anywhere: its own, and what the
        // switching options change.
        let switched = grammar.parts().options.iter().filter_map(|option| option.operands.as_ref());
        let file_kinds: BTreeSet<Kind> = grammar
            .parts()
            .positional
            .iter()
            .copied()
            .chain(grammar.parts().rest)
            .chain(grammar.parts().options.iter().filter_map(|option| option.value))
            .chain(switched.clone().flat_map(|operands| operands.positional.iter().flatten().copied()))
            .chain(switched.clone().filter_map(|operands| operands.rest))
            .chain(switched.flat_map(|operands| operands.values.iter().map(|change| change.kind)))
            .filter(|kind| kind.is_file())
            .collect();
        if let Ok(line) = parse(&grammar, &arguments) {
            for argument in &line.arguments {
                if let Role::File { kind, offset } = argument.role {
                    prop_assert!(kind.is_file());
                    prop_assert!(file_kinds.contains(&kind));
                    let path = &argument.text[offset..];
                    prop_assert!(!path.is_empty() && path != b"-");
                }
            }
            let given = line.arguments.iter().filter(|a| !a.from_default).count();
            prop_assert_eq!(given, arguments.len());
        }
    }

    #[test]
    fn a_grammar_of_words_makes_no_file(
        options in prop::collection::vec(option(), 0..6),
        arguments in prop::collection::vec(argument(), 0..10),
    ) {
        let mut seen = BTreeSet::new();
        let options: Vec<OptionSpec> = options
            .into_iter()
            .filter(|o| (o.short.is_some() || o.long.is_some()) && seen.insert((o.short, o.long.clone())))
            .map(|o| OptionSpec {
                value: o.value.map(|_| Kind::Word),
                operands: None,
                ..o
            })
            .collect();
        let grammar = Grammar::new(GrammarParts {
            options,
            positional: vec![Kind::Word],
            rest: Some(Kind::Word),
            ..GrammarParts::default()
        });
        if let Ok(grammar) = grammar {
            if let Ok(line) = parse(&grammar, &arguments) {
                prop_assert_eq!(line.files().count(), 0);
            }
        }
    }

    #[test]
    fn the_binary_form_round_trips(grammar in grammar()) {
        let bytes = to_bytes(&grammar);
        prop_assert_eq!(from_bytes(&bytes), Ok(grammar));
    }

    #[test]
    fn the_toml_form_round_trips(grammar in grammar()) {
        let text = toml::to_string(&grammar).unwrap();
        let again: Grammar = toml::from_str(&text).unwrap();
        prop_assert_eq!(again, grammar);
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(grammar) = from_bytes(&bytes) {
            // What is accepted is canonical.
            prop_assert_eq!(to_bytes(&grammar), bytes.clone());
        }
        let _ = read_blob(&bytes);
    }

    #[test]
    fn damaged_encodings_never_panic(
        grammar in grammar(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let mut bytes = to_bytes(&grammar);
        for (index, value) in flips {
            let at = index.index(bytes.len());
            bytes[at] = value;
        }
        if let Ok(decoded) = from_bytes(&bytes) {
            prop_assert_eq!(to_bytes(&decoded), bytes);
        }
        let mut blob = launcher_grammar::encode_blob(&grammar, b"/bin/x").unwrap();
        let length = blob.len();
        blob[30 + length % 7] ^= 0x5a;
        let _ = read_blob(&blob);
    }

    #[test]
    fn embedding_round_trips(grammar in grammar(), before in 0usize..64, after in 0usize..64) {
        let mut file = vec![0xee; before];
        file.extend_from_slice(&launcher_grammar::placeholder());
        file.extend(std::iter::repeat_n(0x11, after));
        let filled = embed(&file, &grammar, b"/bin/program").unwrap();
        let blob = &filled[before..before + launcher_grammar::embed::BLOB_BYTES];
        let embedded = read_blob(blob).unwrap();
        prop_assert_eq!(embedded.grammar, grammar);
        prop_assert_eq!(embedded.program, b"/bin/program".to_vec());
    }
}
