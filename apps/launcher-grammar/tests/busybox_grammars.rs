// SPDX-License-Identifier: MIT OR Apache-2.0
//! The busybox applets' grammars (`examples/busybox.toml`) on the command
//! lines they are meant for: which arguments are files of which kind,
//! which are words; and that each grammar round-trips through both forms
//! and fits the size limit.
#![forbid(unsafe_code)]

use launcher_grammar::{from_bytes, parse, to_bytes, Access, Grammar, Kind, Role, UsageError};
use std::collections::BTreeMap;

const BUSYBOX: &str = include_str!("../examples/busybox.toml");

fn grammars() -> BTreeMap<String, Grammar> {
    toml::from_str(BUSYBOX).expect("examples/busybox.toml is valid")
}

/// One letter per argument: `o` option (with a word attached to it, if
/// any), `-` end of options, `w` word, and the file kinds (of the
/// argument, or of the value attached to its option: `-fpats`): `i`
/// input, `O` output, `d` dir, `D` dir-rw, `e` entry, `u` update.
fn letters(grammar: &Grammar, line: &[&str]) -> Result<(String, Option<Access>), UsageError> {
    let parsed = parse(grammar, line)?;
    let letters = parsed
        .arguments
        .iter()
        .map(|argument| match argument.role {
            Role::Option => 'o',
            Role::EndOfOptions => '-',
            Role::Word => 'w',
            Role::File { kind, .. } => match kind {
                Kind::Input => 'i',
                Kind::Output => 'O',
                Kind::Dir => 'd',
                Kind::DirRw => 'D',
                Kind::Entry => 'e',
                Kind::EntryParents => 'p',
                Kind::Update => 'u',
                Kind::Word => '?',
            },
        })
        .collect();
    Ok((letters, parsed.directory))
}

/// (command line, roles, current directory handed over). The line is
/// split at spaces; `␣` stands for a space inside an argument.
const CASES: &[(&str, &str, Option<Access>)] = &[
    ("sort bl", "i", None),
    ("sort -r -n -u -k 2 -t , bl", "oooowowi", None),
    ("sort -o out -k2,2 bl", "oOoi", None),
    ("grep -c a bl", "owi", None),
    ("grep -e a -e b bl", "owowi", None),
    ("grep -f pats bl", "oii", None),
    ("grep --help", "o", None),
    ("grep -rn x dir", "owi", None),
    ("grep -fpats bl", "ii", None),
    ("sed s/a/z/ bl", "wi", None),
    ("sed -e s/a/z/ -e s/b/y/ bl", "owowi", None),
    ("sed -i s/a/z/ bl", "owu", None),
    ("sed -i -e s/a/z/ bl b2", "oowuu", None),
    ("sed -f p.sed bl", "oii", None),
    ("sed -n 1p bl", "owi", None),
    ("tr a-c A-C", "ww", None),
    ("tr -d a", "ow", None),
    ("uniq bl", "i", None),
    ("uniq -c bl out", "oiO", None),
    ("awk {print␣NR\":\"$0} bl", "wi", None),
    ("awk -F: -v x=1 -f p.awk bl", "oowoii", None),
    ("cut -c1 bl", "oi", None),
    ("cut -d: -f1 bl", "ooi", None),
    ("sha256sum bl", "i", None),
    ("sha256sum -c sums", "oi", Some(Access::ReadOnly)),
    ("md5sum bl", "i", None),
    ("md5sum -c sums", "oi", Some(Access::ReadOnly)),
    ("find . -name bl", "iow", None),
    (
        "find dir -type f -name *.c -exec wc -l {} ;",
        "iowowowwww",
        None,
    ),
    ("find . -maxdepth 1 -print", "iowo", None),
    // No path: `.`, from the default.
    ("find -maxdepth 1", "owi", None),
    ("find . ! -name bl", "iwow", None),
    ("find ( -name a -o -name b ) -print", "wowoowwoi", None),
    ("find . -newer ref -print", "ioio", None),
    ("find . -exec echo + ; -print", "iowwwo", None),
    ("find a b -exec wc {} + -print", "iiowwwo", None),
    ("find . -name x -delete", "eowo", None),
    ("xargs wc -l", "ww", None),
    ("xargs -n 1 echo", "oww", None),
    ("xargs -0 -a list grep -e x", "ooiwww", None),
    ("date +%Y", "w", None),
    ("date -u -d @0", "oow", None),
    ("date -r bl", "oi", None),
    ("diff a b", "ii", None),
    ("diff -u a b", "oii", None),
    ("tar cf out.tar a b", "oOii", None),
    ("tar xf in.tar", "oi", Some(Access::ReadWrite)),
    ("tar -tvf in.tar", "oi", None),
    ("tar tvf in.tar", "oi", None),
    ("tar -cf out.tar a", "oOi", None),
    ("tar czf out.tgz dir", "oOi", None),
    ("tar xf in.tar member", "oiw", Some(Access::ReadWrite)),
    ("tar -xf in.tar -C dir", "oioD", Some(Access::ReadWrite)),
    ("tar -C dir -cf out.tar a b", "odoOww", None),
    ("tar -f out.tar -c a", "oOoi", None),
    ("tar -c -f- a", "ooi", None),
    ("uname -m", "o", None),
    ("uname -a", "o", None),
    ("uname", "", None),
    ("tr --help", "o", None),
    ("diff --help", "o", None),
];

#[test]
fn each_applet_reads_its_command_lines() {
    let grammars = grammars();
    for &(line, expected, directory) in CASES {
        let words: Vec<String> = line.split(' ').map(|w| w.replace('␣', " ")).collect();
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        let grammar = &grammars[words[0]];
        assert_eq!(
            letters(grammar, &words[1..]),
            Ok((expected.to_string(), directory)),
            "{line}"
        );
    }
}

#[test]
fn what_the_applets_refuse() {
    let grammars = grammars();
    let message = |line: &str| {
        let words: Vec<&str> = line.split(' ').collect();
        match letters(&grammars[words[0]], &words[1..]) {
            Ok(roles) => panic!("{line}: accepted as {roles:?}"),
            Err(error) => error.to_string(),
        }
    };
    assert_eq!(message("tr a b c"), "too many arguments (at most 2)");
    assert_eq!(
        message("find . -exec wc {}"),
        "option -exec needs a command ending in ; or {} +"
    );
    assert_eq!(message("find . -nam x"), "unknown option -nam");
    assert_eq!(message("find . -Lx"), "unknown option -Lx");
    assert_eq!(message("find . -x"), "unknown option -x");
    assert_eq!(message("uname x"), "too many arguments (at most 0)");
    assert_eq!(message("uniq a b c"), "too many arguments (at most 2)");
    // The first argument of tar is letters; nothing else's is.
    assert_eq!(message("tar q"), "unknown option -q");
    assert_eq!(message("sort -q"), "unknown option -q");
}

#[test]
fn each_grammar_round_trips_and_fits() {
    for (name, grammar) in grammars() {
        let bytes = to_bytes(&grammar);
        // The README says: the largest, find's, under 400 bytes.
        assert!(bytes.len() < 400, "{name}: {} bytes", bytes.len());
        assert_eq!(from_bytes(&bytes).as_ref(), Ok(&grammar), "{name}");
        let text = toml::to_string(&grammar).unwrap();
        let again: Grammar = toml::from_str(&text).unwrap();
        assert_eq!(again, grammar, "{name}");
    }
}

#[test]
fn every_applet_has_a_grammar() {
    let grammars = grammars();
    for name in [
        "grep",
        "sed",
        "awk",
        "sort",
        "uniq",
        "tr",
        "cut",
        "find",
        "xargs",
        "date",
        "sha256sum",
        "md5sum",
        "tar",
        "diff",
        "uname",
    ] {
        assert!(grammars.contains_key(name), "{name}");
    }
}
