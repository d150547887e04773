// SPDX-License-Identifier: MIT OR Apache-2.0
//! What the fuzzer and `tests/fuzz_mutations.rs` do with untrusted bytes:
//! everything the launcher and the image builder do with bytes they did
//! not make. Nothing may panic; what is accepted must be canonical.
//!
//! 1. the bytes as a grammar's binary form (`from_bytes`): if accepted,
//!    writing it back gives the same bytes, and its embedded blob reads
//!    back to the same grammar;
//! 2. the bytes as a launcher's blob (`read_blob`);
//! 3. the bytes, split at NUL, as a command line, parsed with a few fixed
//!    grammars and with the decoded one: no role is a file of kind `word`,
//!    and every file path is non-empty and not `-`.

use launcher_grammar::{
    encode_blob, from_bytes, parse, read_blob, to_bytes, Access, Grammar, GrammarParts, Kind,
    Operands, OptionSpec, Role, ValueChange,
};

/// A few grammars of every shape the manifest uses.
pub fn fixed_grammars() -> Vec<Grammar> {
    let mut grammars = vec![Grammar::empty()];
    let parts = [
        GrammarParts {
            options: vec![
                OptionSpec::flag(Some(b'n'), Some("number")),
                OptionSpec::with_value(Some(b'o'), Some("output"), Kind::Output),
                OptionSpec::with_value(Some(b'l'), Some("lines"), Kind::Word),
            ],
            rest: Some(Kind::Input),
            defaults: vec![b"-".to_vec()],
            ..GrammarParts::default()
        },
        GrammarParts {
            options: vec![OptionSpec::with_value(Some(b'c'), None, Kind::Word)],
            positional: vec![Kind::Input],
            rest: Some(Kind::Word),
            intermixed: false,
            ..GrammarParts::default()
        },
        GrammarParts {
            options: vec![OptionSpec::flag(Some(b'r'), None)],
            positional: vec![Kind::Input, Kind::Dir, Kind::DirRw],
            rest: Some(Kind::Entry),
            min: 1,
            max: Some(6),
            ..GrammarParts::default()
        },
        // `ln -s` / `mkdir -p`: a flag that changes the operands' kinds.
        GrammarParts {
            options: vec![
                OptionSpec::switch(
                    Some(b's'),
                    None,
                    Operands {
                        positional: Some(vec![Kind::Word]),
                        rest: Some(Kind::EntryParents),
                        ..Operands::default()
                    },
                ),
                OptionSpec::flag(Some(b'f'), None),
            ],
            rest: Some(Kind::Entry),
            min: 1,
            ..GrammarParts::default()
        },
        // `tar`: a bundled first argument; modes that change `f`'s kind,
        // the operands and the current directory's access.
        GrammarParts {
            options: vec![
                OptionSpec::switch(
                    Some(b'c'),
                    None,
                    Operands {
                        rest: Some(Kind::Input),
                        values: vec![
                            ValueChange {
                                option: 2,
                                kind: Kind::Output,
                            },
                            ValueChange {
                                option: 3,
                                kind: Kind::Dir,
                            },
                        ],
                        ..Operands::default()
                    },
                ),
                OptionSpec::switch(
                    Some(b'x'),
                    None,
                    Operands {
                        values: vec![ValueChange {
                            option: 2,
                            kind: Kind::Input,
                        }],
                        directory: Some(Access::ReadWrite),
                        ..Operands::default()
                    },
                ),
                OptionSpec::with_value(Some(b'f'), None, Kind::Word),
                OptionSpec {
                    operands: Some(Operands {
                        rest: Some(Kind::Word),
                        ..Operands::default()
                    }),
                    ..OptionSpec::with_value(Some(b'C'), None, Kind::DirRw)
                },
                OptionSpec::flag(Some(b'v'), None),
                OptionSpec {
                    operands: Some(Operands {
                        positional: Some(vec![]),
                        rest: Some(Kind::Update),
                        ..Operands::default()
                    }),
                    ..OptionSpec::with_value(Some(b'e'), None, Kind::Word)
                },
            ],
            positional: vec![Kind::Word],
            rest: Some(Kind::Word),
            bundled_first: true,
            ..GrammarParts::default()
        },
        // `find`: operands first, single-dash options, a command.
        GrammarParts {
            options: vec![
                OptionSpec::flag(Some(b'L'), None),
                OptionSpec::flag(Some(b'o'), None),
                OptionSpec::single_dash("name", Some(Kind::Word)),
                OptionSpec::single_dash("newer", Some(Kind::Input)),
                OptionSpec::single_dash("print", None),
                OptionSpec::command("exec"),
            ],
            rest: Some(Kind::Input),
            defaults: vec![b".".to_vec()],
            operands_first: true,
            operand_ends: vec![b"!".to_vec(), b"(".to_vec()],
            ..GrammarParts::default()
        },
    ];
    for parts in parts {
        grammars.push(Grammar::new(parts).expect("a fixed grammar is valid"));
    }
    grammars
}

fn check_line(grammar: &Grammar, arguments: &[&[u8]]) {
    if let Ok(line) = parse(grammar, arguments) {
        for argument in &line.arguments {
            if let Role::File { kind, offset } = argument.role {
                assert!(kind.is_file(), "a word became a file");
                let path = argument.text.get(offset..).expect("offset in bounds");
                assert!(!path.is_empty() && path != b"-");
            }
        }
    }
}

/// Runs `data` through every parser of untrusted bytes.
pub fn exercise(data: &[u8]) {
    let decoded = from_bytes(data);
    if let Ok(grammar) = &decoded {
        assert_eq!(to_bytes(grammar), data, "an accepted form is canonical");
        let blob = encode_blob(grammar, b"/bin/program").expect("it fits");
        let embedded = read_blob(&blob).expect("a blob reads back");
        assert_eq!(&embedded.grammar, grammar);
    }
    let _ = read_blob(data);
    let arguments: Vec<&[u8]> = data.split(|&byte| byte == 0).take(64).collect();
    for grammar in fixed_grammars().iter().chain(decoded.as_ref().ok()) {
        check_line(grammar, &arguments);
    }
}
