// SPDX-License-Identifier: MIT OR Apache-2.0
//! Host tests: the grammar, expansion, quoting round trips, the
//! `xchroot` clauses, and a property test that no input panics.

use crate::parse::SyntaxError;
use crate::quote::quote_words;
use crate::xchroot::{parse_request, Directory, Mode, Operation, UsageError};
use crate::*;
use proptest::prelude::*;
use std::collections::HashMap;

/// Variables for the tests: a map plus positional arguments.
#[derive(Default)]
struct Table {
    values: HashMap<Vec<u8>, Vec<u8>>,
    positional: Vec<Vec<u8>>,
}

impl Table {
    fn with(pairs: &[(&str, &str)]) -> Table {
        let mut table = Table::default();
        for (name, value) in pairs {
            table
                .values
                .insert(name.as_bytes().to_vec(), value.as_bytes().to_vec());
        }
        table
    }
}

impl Variables for Table {
    fn get(&self, name: &[u8]) -> Option<Vec<u8>> {
        self.values.get(name).cloned()
    }

    fn arguments(&self) -> Vec<Vec<u8>> {
        self.positional.clone()
    }
}

fn strings(fields: Vec<Vec<u8>>) -> Vec<String> {
    fields
        .into_iter()
        .map(|field| String::from_utf8(field).unwrap())
        .collect()
}

/// The fields of every word of the one command `line` holds.
fn words_of(line: &str, table: &Table) -> Vec<String> {
    let script = parse(line.as_bytes()).unwrap();
    assert_eq!(script.lists.len(), 1, "{line}");
    let command = &script.lists[0].first.commands[0];
    command
        .words
        .iter()
        .flat_map(|word| strings(expand(word, table)))
        .collect()
}

fn single_command(line: &str) -> Command {
    let script = parse(line.as_bytes()).unwrap();
    assert_eq!(script.lists.len(), 1);
    assert!(script.lists[0].rest.is_empty());
    assert_eq!(script.lists[0].first.commands.len(), 1);
    script.lists[0].first.commands[0].clone()
}

fn syntax(line: &str) -> SyntaxError {
    match parse(line.as_bytes()) {
        Err(ParseError::Syntax(error)) => error,
        other => panic!("{line:?}: expected a syntax error, got {other:?}"),
    }
}

fn incomplete(line: &str) -> Incomplete {
    match parse(line.as_bytes()) {
        Err(ParseError::Incomplete(what)) => what,
        other => panic!("{line:?}: expected incomplete, got {other:?}"),
    }
}

#[test]
fn words_split_on_blanks_and_quotes_group() {
    let table = Table::default();
    assert_eq!(words_of("ls  -l\t/bin", &table), ["ls", "-l", "/bin"]);
    assert_eq!(
        words_of("echo 'a  b' \"c  d\" e\\ f", &table),
        ["echo", "a  b", "c  d", "e f"]
    );
    assert_eq!(words_of("echo a'b'\"c\"d", &table), ["echo", "abcd"]);
    assert_eq!(words_of("echo '' \"\"", &table), ["echo", "", ""]);
    assert_eq!(
        words_of(r#"echo "a\"b" 'c\d' "e\f""#, &table),
        ["echo", "a\"b", "c\\d", "e\\f"]
    );
    assert_eq!(words_of("echo a\\\nb", &table), ["echo", "ab"]);
}

#[test]
fn variables_expand_outside_single_quotes() {
    let table = Table::with(&[("HOME", "/.../home/user"), ("X", "1"), ("?", "3")]);
    assert_eq!(
        words_of("echo $HOME ${X}y $Xy '$X' \"$X\" $? \\$X", &table),
        ["echo", "/.../home/user", "1y", "", "$X", "1", "3", "$X"]
            .into_iter()
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
    );
    assert_eq!(words_of("echo $ a$ $/", &table), ["echo", "$", "a$", "$/"]);
    assert_eq!(
        words_of("echo ~ ~/x a~ '~' ~user", &Table::with(&[("HOME", "/h")])),
        ["echo", "/h", "/h/x", "a~", "~", "~user"]
    );
}

#[test]
fn unquoted_expansions_are_split_quoted_ones_are_not() {
    let table = Table::with(&[("X", " a  b "), ("E", "")]);
    assert_eq!(words_of("echo $X", &table), ["echo", "a", "b"]);
    assert_eq!(words_of("echo \"$X\"", &table), ["echo", " a  b "]);
    assert_eq!(
        words_of("echo p$X.q", &table),
        ["echo", "p", "a", "b", ".q"]
    );
    assert_eq!(words_of("echo $E $UNSET", &table), ["echo"]);
    assert_eq!(words_of("echo \"$E\"", &table), ["echo", ""]);
}

#[test]
fn quoted_at_is_one_field_per_argument() {
    let mut table = Table {
        positional: vec![b"a b".to_vec(), b"c".to_vec()],
        ..Table::default()
    };
    assert_eq!(words_of("x \"$@\"", &table), ["x", "a b", "c"]);
    assert_eq!(words_of("x \"<$@>\"", &table), ["x", "<a b", "c>"]);
    table.positional.clear();
    assert_eq!(words_of("x \"$@\"", &table), ["x"]);
}

#[test]
fn assignments_come_before_the_command_name() {
    let command = single_command("A=1 B='x y' cmd C=2");
    assert_eq!(command.assignments.len(), 2);
    assert_eq!(command.assignments[0].name, b"A");
    assert_eq!(command.assignments[1].name, b"B");
    let table = Table::default();
    assert_eq!(expand_joined(&command.assignments[1].value, &table), b"x y");
    assert_eq!(command.words.len(), 2);
    // Not a name, or a quoted `=`: an ordinary word.
    assert!(single_command("1A=x").assignments.is_empty());
    assert!(single_command("'A'=x").assignments.is_empty());
    let empty = single_command("A=");
    assert_eq!(expand_joined(&empty.assignments[0].value, &table), b"");
    assert!(empty.words.is_empty());
}

#[test]
fn assignment_values_are_not_split() {
    let command = single_command("Y=$X");
    let table = Table::with(&[("X", "a  b")]);
    assert_eq!(
        expand_joined(&command.assignments[0].value, &table),
        b"a  b"
    );
}

#[test]
fn pipelines_lists_and_comments() {
    let script = parse(b"a | b | c && d || e; f # g | h\n\ng").unwrap();
    assert_eq!(script.lists.len(), 3);
    assert_eq!(script.lists[0].first.commands.len(), 3);
    assert_eq!(
        script.lists[0]
            .rest
            .iter()
            .map(|(connector, _)| *connector)
            .collect::<Vec<_>>(),
        [Connector::And, Connector::Or]
    );
    assert_eq!(script.lists[1].first.commands[0].words.len(), 1);
    assert!(parse(b"# only a comment").unwrap().lists.is_empty());
    assert!(parse(b"  \n ; \n").is_err());
    assert!(parse(b"").unwrap().lists.is_empty());
    assert_eq!(words_of("echo a#b", &Table::default()), ["echo", "a#b"]);
    // A newline may follow `|`, `&&` and `||`.
    let script = parse(b"a |\n b &&\n\n c").unwrap();
    assert_eq!(script.lists.len(), 1);
    assert_eq!(script.lists[0].first.commands.len(), 2);
}

#[test]
fn redirections_in_order() {
    let command = single_command("cmd <in >out 2>>log 2>&1 3<&0 4>&- arg");
    let table = Table::default();
    let kinds: Vec<(u8, String)> = command
        .redirections
        .iter()
        .map(|redirection| {
            let text = match &redirection.kind {
                RedirectionKind::Input(word) => {
                    format!("<{}", strings(expand(word, &table)).join(" "))
                }
                RedirectionKind::Output(word) => {
                    format!(">{}", strings(expand(word, &table)).join(" "))
                }
                RedirectionKind::Append(word) => {
                    format!(">>{}", strings(expand(word, &table)).join(" "))
                }
                RedirectionKind::Duplicate(fd) => format!("&{fd}"),
                RedirectionKind::Close => "-".to_string(),
            };
            (redirection.fd, text)
        })
        .collect();
    assert_eq!(
        kinds,
        [
            (0, "<in".to_string()),
            (1, ">out".to_string()),
            (2, ">>log".to_string()),
            (2, "&1".to_string()),
            (3, "&0".to_string()),
            (4, "-".to_string()),
        ]
    );
    assert_eq!(command.words.len(), 2);
    // A quoted or spaced number is an argument, not a descriptor.
    assert_eq!(single_command("echo '2'>f").words.len(), 2);
    assert_eq!(single_command("echo 2 >f").words.len(), 2);
    assert_eq!(single_command("> f").redirections.len(), 1);
}

#[test]
fn syntax_errors_are_named() {
    assert_eq!(syntax("| ls"), SyntaxError::Unexpected("|"));
    assert_eq!(syntax("ls || && x"), SyntaxError::Unexpected("&&"));
    assert_eq!(syntax("ls ;; x"), SyntaxError::Unexpected(";"));
    assert_eq!(syntax("ls >"), SyntaxError::MissingTarget(">"));
    assert_eq!(syntax("ls > | x"), SyntaxError::MissingTarget(">"));
    assert_eq!(syntax("ls 2>&x"), SyntaxError::BadDuplicate(">&"));
    assert_eq!(syntax("ls 99>x"), SyntaxError::DescriptorTooLarge);
    assert_eq!(syntax("ls 2>&99"), SyntaxError::DescriptorTooLarge);
    assert!(matches!(syntax("sleep 1 &"), SyntaxError::Unsupported(_)));
    assert!(matches!(syntax("(ls)"), SyntaxError::Unsupported(_)));
    assert!(matches!(syntax("echo $(ls)"), SyntaxError::Unsupported(_)));
    assert!(matches!(syntax("echo `ls`"), SyntaxError::Unsupported(_)));
    assert!(matches!(syntax("cat <<EOF"), SyntaxError::Unsupported(_)));
    assert_eq!(
        syntax("echo ${a b}"),
        SyntaxError::BadSubstitution(b"a b".to_vec())
    );
    assert_eq!(syntax("echo ${}"), SyntaxError::BadSubstitution(Vec::new()));
    assert_eq!(
        ParseError::Syntax(SyntaxError::Unexpected("|")).to_string(),
        "unexpected `|`"
    );
}

#[test]
fn unfinished_input_asks_for_more() {
    assert_eq!(incomplete("echo 'abc"), Incomplete::SingleQuote);
    assert_eq!(incomplete("echo \"abc"), Incomplete::DoubleQuote);
    assert_eq!(incomplete("echo ${abc"), Incomplete::Brace);
    assert_eq!(incomplete("echo abc\\"), Incomplete::Backslash);
    assert_eq!(incomplete("ls |"), Incomplete::Operator("|"));
    assert_eq!(incomplete("ls &&\n"), Incomplete::Operator("&&"));
    assert_eq!(incomplete("ls ||"), Incomplete::Operator("||"));
    // Completed by the next line, the quote keeps its newline.
    let table = Table::default();
    assert_eq!(words_of("echo 'a\nb'", &table), ["echo", "a\nb"]);
}

#[test]
fn special_parameters() {
    let table = Table::with(&[
        ("?", "127"),
        ("$", "5"),
        ("#", "0"),
        ("0", "sh"),
        ("1", "one"),
    ]);
    assert_eq!(
        words_of("x $? $$ $# $0 $1 ${1} $2", &table),
        ["x", "127", "5", "0", "sh", "one", "one"]
    );
}

#[test]
fn quoting_round_trips_awkward_words() {
    let table = Table::default();
    let words: Vec<&[u8]> = vec![
        b"plain", b"", b"it's", b"a b", b"$HOME", b"~", b"#x", b"A=b", b"\\", b"'", b"\n", b"2>&1",
        b"--",
    ];
    let line = quote_words(&words);
    let script = parse(&line).unwrap();
    let command = &script.lists[0].first.commands[0];
    assert!(command.assignments.is_empty() && command.redirections.is_empty());
    let fields: Vec<Vec<u8>> = command
        .words
        .iter()
        .flat_map(|word| expand(word, &table))
        .collect();
    assert_eq!(fields, words);
}

#[test]
fn xchroot_clauses() {
    let request = parse_request(&[
        "put",
        "/etc/motd",
        "motd",
        ",",
        "put",
        "/tmp",
        "/.../scratch/",
        "rw,",
        "remove",
        "home/user",
        "keep",
        "3",
        "k",
        "keep",
        "d",
        "k2",
        "rw",
        "clear",
        "root",
        "/x",
        "root-exe",
        "--",
        "ls",
        "-l",
    ])
    .unwrap();
    assert_eq!(
        request.operations,
        [
            Operation::Put {
                path: b"/etc/motd".to_vec(),
                name: b"motd".to_vec(),
                mode: Mode::ReadOnly
            },
            Operation::Put {
                path: b"/tmp".to_vec(),
                name: b"scratch".to_vec(),
                mode: Mode::ReadWrite
            },
            Operation::Remove {
                name: b"home/user".to_vec()
            },
            Operation::Keep {
                directory: Directory::Fd(3),
                name: b"k".to_vec(),
                mode: Mode::ReadOnly
            },
            Operation::Keep {
                directory: Directory::Path(b"d".to_vec()),
                name: b"k2".to_vec(),
                mode: Mode::ReadWrite
            },
            Operation::Clear,
            Operation::Root {
                path: b"/x".to_vec()
            },
            Operation::RootExecutable,
        ]
    );
    assert_eq!(request.command, [b"ls".to_vec(), b"-l".to_vec()]);
    assert_eq!(parse_request::<&str>(&[]), Err(UsageError::NoOperation));
    assert_eq!(parse_request(&[","]), Err(UsageError::NoOperation));
    assert_eq!(
        parse_request(&["clear", "--"]),
        Err(UsageError::MissingCommand)
    );
    assert_eq!(
        parse_request(&["put", "a"]),
        Err(UsageError::MissingArgument("put PATH NAME [ro|rw]"))
    );
    assert_eq!(
        parse_request(&["put", "a", ",", "b"]),
        Err(UsageError::MissingArgument("put PATH NAME [ro|rw]"))
    );
    assert_eq!(
        parse_request(&["remove"]),
        Err(UsageError::MissingArgument("remove NAME"))
    );
    assert_eq!(
        parse_request(&["frob"]),
        Err(UsageError::UnknownClause(b"frob".to_vec()))
    );
    // `--` words after the first belong to the command.
    let request = parse_request(&["clear", "--", "sh", "-c", "--"]).unwrap();
    assert_eq!(request.command.len(), 3);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// No input makes the parser, or expanding what it parsed, panic.
    #[test]
    fn parsing_arbitrary_bytes_never_panics(input in proptest::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(script) = parse(&input) {
            let table = Table::with(&[("HOME", "/h"), ("X", "a b")]);
            for list in &script.lists {
                for command in std::iter::once(&list.first).chain(list.rest.iter().map(|(_, p)| p)).flat_map(|p| &p.commands) {
                    for word in &command.words {
                        let _ = expand(word, &table);
                    }
                }
            }
        }
    }

    /// Shell-looking input (the bytes that matter, densely) never panics either.
    #[test]
    fn parsing_shell_alphabet_never_panics(input in "[a-c0-2 \\t\\n'\"\\\\$#{}|&;<>()~=`-]{0,60}") {
        let _ = parse(input.as_bytes());
    }

    /// Quoted words come back exactly, whatever their bytes.
    #[test]
    fn quoted_words_round_trip(words in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..12), 1..6)) {
        let line = quote_words(&words);
        let script = parse(&line).unwrap();
        prop_assert_eq!(script.lists.len(), 1);
        let command = &script.lists[0].first.commands[0];
        prop_assert!(command.assignments.is_empty());
        prop_assert!(command.redirections.is_empty());
        let table = Table::with(&[("HOME", "/h")]);
        let fields: Vec<Vec<u8>> = command.words.iter().flat_map(|word| expand(word, &table)).collect();
        prop_assert_eq!(fields, words);
    }

    /// The clause reader is total too.
    #[test]
    fn xchroot_clauses_never_panic(words in proptest::collection::vec("(put|keep|remove|clear|root|root-exe|rw|ro|,|--|[a-z0-9/.]{1,4}),?", 0..10)) {
        let _ = parse_request(&words);
    }
}
