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
#[derive(Clone, Default)]
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

/// `word` expanded with a copy of `table`.
fn ex(word: &Word, table: &Table) -> Vec<Vec<u8>> {
    expand(word, &mut table.clone()).unwrap()
}

/// `word` expanded to one string with a copy of `table`.
fn exj(word: &Word, table: &Table) -> Vec<u8> {
    expand_joined(word, &mut table.clone()).unwrap()
}

/// The simple command `command` is.
fn simple(command: &Command) -> &SimpleCommand {
    match command {
        Command::Simple(simple) => simple,
        other => panic!("not a simple command: {other:?}"),
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
    let command = simple(&script.lists[0].first.commands[0]);
    command
        .words
        .iter()
        .flat_map(|word| strings(ex(word, table)))
        .collect()
}

fn single_command(line: &str) -> SimpleCommand {
    let script = parse(line.as_bytes()).unwrap();
    assert_eq!(script.lists.len(), 1);
    assert!(script.lists[0].rest.is_empty());
    assert_eq!(script.lists[0].first.commands.len(), 1);
    simple(&script.lists[0].first.commands[0]).clone()
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
    assert_eq!(exj(&command.assignments[1].value, &table), b"x y");
    assert_eq!(command.words.len(), 2);
    // Not a name, or a quoted `=`: an ordinary word.
    assert!(single_command("1A=x").assignments.is_empty());
    assert!(single_command("'A'=x").assignments.is_empty());
    let empty = single_command("A=");
    assert_eq!(exj(&empty.assignments[0].value, &table), b"");
    assert!(empty.words.is_empty());
}

#[test]
fn assignment_values_are_not_split() {
    let command = single_command("Y=$X");
    let table = Table::with(&[("X", "a  b")]);
    assert_eq!(exj(&command.assignments[0].value, &table), b"a  b");
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
    assert_eq!(simple(&script.lists[1].first.commands[0]).words.len(), 1);
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
                    format!("<{}", strings(ex(word, &table)).join(" "))
                }
                RedirectionKind::Output(word) => {
                    format!(">{}", strings(ex(word, &table)).join(" "))
                }
                RedirectionKind::Append(word) => {
                    format!(">>{}", strings(ex(word, &table)).join(" "))
                }
                RedirectionKind::Duplicate(fd) => format!("&{fd}"),
                RedirectionKind::Close => "-".to_string(),
                RedirectionKind::HereDocument(body) => {
                    format!("<<{}", String::from_utf8(exj(body, &table)).unwrap())
                }
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
    assert_eq!(syntax("ls ;; x"), SyntaxError::Unexpected(";;"));
    assert_eq!(syntax("ls >"), SyntaxError::MissingTarget(">"));
    assert_eq!(syntax("ls > | x"), SyntaxError::MissingTarget(">"));
    assert_eq!(syntax("ls 2>&x"), SyntaxError::BadDuplicate(">&"));
    assert_eq!(syntax("ls 99>x"), SyntaxError::DescriptorTooLarge);
    assert_eq!(syntax("ls 2>&99"), SyntaxError::DescriptorTooLarge);
    assert_eq!(syntax("fi"), SyntaxError::Unexpected("fi"));
    assert_eq!(
        syntax("if a; then b; done"),
        SyntaxError::Unexpected("done")
    );
    assert_eq!(syntax("for 1 in a; do b; done"), SyntaxError::BadForName);
    assert_eq!(syntax("echo )"), SyntaxError::Unexpected(")"));
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
    let command = simple(&script.lists[0].first.commands[0]);
    assert!(command.assignments.is_empty() && command.redirections.is_empty());
    let fields: Vec<Vec<u8>> = command
        .words
        .iter()
        .flat_map(|word| ex(word, &table))
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

/// Variables that record assignments, for `${X:=w}` and `$((X=1))`.
impl Table {
    fn get_string(&self, name: &str) -> Option<String> {
        self.values
            .get(name.as_bytes())
            .map(|value| String::from_utf8(value.clone()).unwrap())
    }
}

struct Recording(Table);

impl Variables for Recording {
    fn get(&self, name: &[u8]) -> Option<Vec<u8>> {
        self.0.get(name)
    }
    fn arguments(&self) -> Vec<Vec<u8>> {
        self.0.arguments()
    }
    fn set(&mut self, name: &[u8], value: Vec<u8>) {
        self.0.values.insert(name.to_vec(), value);
    }
}

#[test]
fn compound_commands_parse_into_their_parts() {
    let script = parse(b"if a; then b; elif c; then d; else e; fi").unwrap();
    let Command::Compound(
        CompoundCommand::If {
            branches,
            otherwise,
        },
        _,
    ) = &script.lists[0].first.commands[0]
    else {
        panic!("not an if");
    };
    assert_eq!(branches.len(), 2);
    assert!(otherwise.is_some());
    let script = parse(b"for i in 1 2 3; do echo $i; done > out").unwrap();
    let Command::Compound(CompoundCommand::For { name, words, body }, redirections) =
        &script.lists[0].first.commands[0]
    else {
        panic!("not a for");
    };
    assert_eq!(name, b"i");
    assert_eq!(words.as_ref().unwrap().len(), 3);
    assert_eq!(body.lists.len(), 1);
    assert_eq!(redirections.len(), 1);
    let script = parse(b"for i\ndo\n:\ndone").unwrap();
    assert!(matches!(
        &script.lists[0].first.commands[0],
        Command::Compound(CompoundCommand::For { words: None, .. }, _)
    ));
    let script = parse(b"case $x in (a|b) one;; *) two;; esac").unwrap();
    let Command::Compound(CompoundCommand::Case { items, .. }, _) =
        &script.lists[0].first.commands[0]
    else {
        panic!("not a case");
    };
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].patterns.len(), 2);
    let script = parse(b"f() { echo \"$1\"; }; ! f x | cat & wait").unwrap();
    assert_eq!(script.lists.len(), 3);
    let Command::Function(definition) = &script.lists[0].first.commands[0] else {
        panic!("not a function");
    };
    assert_eq!(definition.name, b"f");
    assert_eq!(definition.source, b"f() { echo \"$1\"; }");
    assert!(script.lists[1].first.negated);
    assert!(script.lists[1].background);
    assert_eq!(script.lists[1].source, b"! f x | cat");
    assert_eq!(script.lists[1].first.sources, [&b"f x"[..], b"cat"]);
    let script = parse(b"while a; do b; done; until c; do d; done; (e; f); { g; }").unwrap();
    assert_eq!(script.lists.len(), 4);
    let Command::Compound(CompoundCommand::Subshell { source, .. }, _) =
        &script.lists[2].first.commands[0]
    else {
        panic!("not a subshell");
    };
    assert_eq!(source, b"e; f");
    // Keywords are words anywhere but where a command starts.
    assert_eq!(words_of("echo if then fi done", &Table::default()).len(), 5);
}

#[test]
fn substitutions_hold_whole_lists() {
    let substitution = |line: &str| -> (usize, Vec<u8>) {
        let script = parse(line.as_bytes()).unwrap();
        let command = simple(&script.lists[0].first.commands[0]);
        for part in &command.words[1].parts {
            if let WordPart::CommandSubstitution { script, source, .. } = part {
                return (script.lists.len(), source.clone());
            }
        }
        panic!("no substitution in {line:?}");
    };
    assert_eq!(substitution("echo $(a; b)"), (2, b"a; b".to_vec()));
    assert_eq!(
        substitution("echo $(case x in x) y;; esac)"),
        (1, b"case x in x) y;; esac".to_vec())
    );
    assert_eq!(
        substitution("echo \"$(echo \")\")\""),
        (1, b"echo \")\"".to_vec())
    );
    assert_eq!(substitution("echo `a \\`b\\``"), (1, b"a `b`".to_vec()));
    assert_eq!(
        substitution("echo $(cat <<E\n)\nE\n)"),
        (1, b"cat <<E\n)\nE\n".to_vec())
    );
    // `$((` is arithmetic, with parentheses inside.
    let script = parse(b"echo $(( (1 + 2) * 3 ))").unwrap();
    let command = simple(&script.lists[0].first.commands[0]);
    assert!(matches!(
        command.words[1].parts[0],
        WordPart::Arithmetic { .. }
    ));
}

#[test]
fn unfinished_compound_commands_ask_for_more() {
    assert_eq!(incomplete("if a; then b"), Incomplete::Keyword("fi"));
    assert_eq!(incomplete("while a\n"), Incomplete::Keyword("do"));
    assert_eq!(incomplete("for i in a b; do"), Incomplete::Keyword("done"));
    assert_eq!(incomplete("case a in"), Incomplete::Keyword("esac"));
    assert_eq!(incomplete("{ a"), Incomplete::Keyword("}"));
    assert_eq!(incomplete("(a"), Incomplete::Parenthesis);
    assert_eq!(incomplete("echo $(a"), Incomplete::Parenthesis);
    assert_eq!(incomplete("echo `a"), Incomplete::Backquote);
    assert_eq!(incomplete("echo $((1+"), Incomplete::Arithmetic);
    assert_eq!(incomplete("cat <<E\nabc\n"), Incomplete::HereDocument);
    assert_eq!(incomplete("f()"), Incomplete::Keyword("}"));
}

#[test]
fn here_documents_are_read_after_their_line() {
    let table = Table::with(&[("X", "1")]);
    let body = |text: &str| -> Vec<String> {
        let script = parse(text.as_bytes()).unwrap();
        let mut bodies = Vec::new();
        for list in &script.lists {
            if let Command::Simple(command) = &list.first.commands[0] {
                for redirection in &command.redirections {
                    if let RedirectionKind::HereDocument(word) = &redirection.kind {
                        bodies.push(String::from_utf8(exj(word, &table)).unwrap());
                    }
                }
            }
        }
        bodies
    };
    assert_eq!(body("cat <<E\na $X\n\"b\"\nE\n"), ["a 1\n\"b\"\n"]);
    assert_eq!(body("cat <<'E'\na $X\nE\n"), ["a $X\n"]);
    assert_eq!(body("cat <<-E\n\t\ta\n\tE\n"), ["a\n"]);
    assert_eq!(
        body("cat <<A <<B; echo x\n1\nA\n2\nB\necho y"),
        ["1\n", "2\n"]
    );
    let script = parse(b"cat <<A; echo x\n1\nA\necho y\n").unwrap();
    assert_eq!(script.lists.len(), 3);
}

#[test]
fn parameter_operations() {
    let table = Table::with(&[("v", "abc.tar.gz"), ("e", ""), ("w", "a b")]);
    let words = |line: &str| words_of(line, &table);
    assert_eq!(
        words("x ${u:-d} ${e:-d} ${e-d} ${v:+y} ${u:+y}"),
        ["x", "d", "d", "y"]
    );
    assert_eq!(
        words("x ${v%.gz} ${v%%.*} ${v#*.} ${v##*.} ${#v}"),
        ["x", "abc.tar", "abc", "tar.gz", "gz", "10"]
    );
    assert_eq!(
        words("x ${v%\"*\"} ${v#'abc'}"),
        ["x", "abc.tar.gz", ".tar.gz"]
    );
    assert_eq!(
        words("x ${u:-a  b} \"${u:-a  b}\""),
        ["x", "a", "b", "a  b"]
    );
    // A pattern is active inside double quotes; its own quotes are not.
    assert_eq!(
        words(r#"x "${v%.*}" "${v#*.}" "${v%"*"}""#),
        ["x", "abc.tar", "tar.gz", "abc.tar.gz"]
    );
    let mut recording = Recording(table.clone());
    let script = parse(b"x ${n:=set} $((m = 2 + 3))").unwrap();
    let Command::Simple(command) = &script.lists[0].first.commands[0] else {
        panic!()
    };
    for word in &command.words {
        expand(word, &mut recording).unwrap();
    }
    assert_eq!(recording.0.get_string("n").as_deref(), Some("set"));
    assert_eq!(recording.0.get_string("m").as_deref(), Some("5"));
    let script = parse(b"x ${u:?gone}").unwrap();
    let Command::Simple(command) = &script.lists[0].first.commands[0] else {
        panic!()
    };
    let error = expand(&command.words[1], &mut table.clone()).unwrap_err();
    assert_eq!(error.to_string(), "u: gone");
}

#[test]
fn arithmetic_follows_c() {
    let mut table = Recording(Table::with(&[("x", "7"), ("bad", "z")]));
    let mut eval = |text: &str| arithmetic::evaluate(text.as_bytes(), &mut Arith(&mut table));
    assert_eq!(eval("1 + 2 * 3"), Ok(7));
    assert_eq!(eval("(1 + 2) * 3"), Ok(9));
    assert_eq!(eval("x % 4 + -x / 2"), Ok(0));
    assert_eq!(eval("1 << 4 | 3 & 1 ^ 2"), Ok(19));
    assert_eq!(eval("3 > 2 && 2 >= 2 || 0"), Ok(1));
    assert_eq!(eval("!0 + ~0"), Ok(0));
    assert_eq!(eval("x == 7 ? 10 : 20"), Ok(10));
    assert_eq!(eval("0x10 + 010"), Ok(24));
    assert!(eval("y = 5, 1").is_err());
    assert_eq!(eval("y += 5"), Ok(5));
    assert_eq!(eval("y *= 3"), Ok(15));
    assert_eq!(eval("0 && (z = 1)"), Ok(0));
    assert_eq!(eval("z"), Ok(0));
    assert_eq!(
        eval("1 / 0"),
        Err(arithmetic::ArithmeticError::DivisionByZero)
    );
    assert_eq!(
        eval("1 % 0"),
        Err(arithmetic::ArithmeticError::DivisionByZero)
    );
    assert_eq!(eval("0 && 1 / 0"), Ok(0));
    assert_eq!(eval("1 +"), Err(arithmetic::ArithmeticError::Syntax));
    assert!(eval("bad + 1").is_err());
    assert_eq!(eval(""), Ok(0));
}

struct Arith<'a>(&'a mut Recording);

impl arithmetic::ArithmeticVariables for Arith<'_> {
    fn value(&self, name: &[u8]) -> Option<Vec<u8>> {
        self.0.get(name)
    }
    fn assign(&mut self, name: &[u8], value: i64) {
        self.0.set(name, value.to_string().into_bytes());
    }
}

fn unquoted(text: &str) -> Vec<pattern::PatternChar> {
    text.bytes()
        .map(|byte| pattern::PatternChar {
            byte,
            quoted: false,
        })
        .collect()
}

#[test]
fn patterns_match_as_in_case() {
    let matches = |p: &str, t: &str| pattern::matches(&unquoted(p), t.as_bytes());
    assert!(matches("a*", "abc"));
    assert!(matches("*c", "abc"));
    assert!(matches("a?c", "abc"));
    assert!(!matches("a?c", "ac"));
    assert!(matches("[abc]x", "bx"));
    assert!(matches("[!abc]x", "dx"));
    assert!(!matches("[!abc]x", "ax"));
    assert!(matches("[a-c][[:digit:]]", "b7"));
    assert!(matches("[]]", "]"));
    assert!(matches("[", "["));
    assert!(matches("*a*b*", "xxaxxbxx"));
    assert!(!matches("*a*b", "xxaxxbxx"));
    assert!(matches("", ""));
    assert!(!matches("", "a"));
    assert!(!pattern::matches(&pattern::literal(b"a*"), b"abc"));
    assert!(pattern::matches(&pattern::literal(b"a*"), b"a*"));
}

#[test]
fn globbing_sorts_and_skips_dot_files() {
    let mut list = |directory: &[u8]| -> Option<Vec<Vec<u8>>> {
        match directory {
            b"." => Some(vec![
                b"b.txt".to_vec(),
                b".h.txt".to_vec(),
                b"a.txt".to_vec(),
                b"d".to_vec(),
                b"B.txt".to_vec(),
            ]),
            b"d" => Some(vec![b"x".to_vec()]),
            _ => None,
        }
    };
    let glob =
        |p: &str, list: &mut pattern::ListDirectory<'_>| strings(pattern::glob(&unquoted(p), list));
    assert_eq!(glob("*.txt", &mut list), ["B.txt", "a.txt", "b.txt"]);
    assert_eq!(glob(".*.txt", &mut list), [".h.txt"]);
    assert_eq!(glob("*/x", &mut list), ["d/x"]);
    assert_eq!(glob("*/", &mut list), ["d/"]);
    assert!(glob("*.none", &mut list).is_empty());
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
                    if let Command::Simple(command) = command {
                        for word in &command.words {
                            let _ = expand(word, &mut table.clone());
                        }
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
        let command = simple(&script.lists[0].first.commands[0]);
        prop_assert!(command.assignments.is_empty());
        prop_assert!(command.redirections.is_empty());
        let table = Table::with(&[("HOME", "/h")]);
        let fields: Vec<Vec<u8>> = command.words.iter().flat_map(|word| ex(word, &table)).collect();
        prop_assert_eq!(fields, words);
    }

    /// The evaluator and the matcher are total too.
    #[test]
    fn arithmetic_and_patterns_never_panic(text in "[0-9a-c+*/%<>=!~&|^?:() -]{0,40}", subject in "[a-c*?\\[\\]!-]{0,12}") {
        let mut table = Recording(Table::with(&[("a", "3"), ("b", "0")]));
        let _ = arithmetic::evaluate(text.as_bytes(), &mut Arith(&mut table));
        let _ = pattern::matches(&unquoted(&subject), text.as_bytes());
        let _ = pattern::remove_suffix(text.as_bytes(), &unquoted(&subject), true);
    }

    /// The clause reader is total too.
    #[test]
    fn xchroot_clauses_never_panic(words in proptest::collection::vec("(put|keep|remove|clear|root|root-exe|rw|ro|,|--|[a-z0-9/.]{1,4}),?", 0..10)) {
        let _ = parse_request(&words);
    }
}
