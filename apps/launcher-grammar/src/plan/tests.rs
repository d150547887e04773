// SPDX-License-Identifier: MIT OR Apache-2.0
//! Tests of the launch plan against a model of the caller's view.

use super::*;
use crate::grammar::{GrammarParts, Inherit, OptionSpec};
use crate::parse::parse;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec;

/// What a path names in the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Object {
    File { writable: bool },
    Directory { writable: bool },
    Virtual,
}

/// A caller's view: every object by its lexically normalised absolute
/// path (`/.../home/user/notes.txt`), the current directory, the open
/// descriptors.
pub(crate) struct Model {
    pub cwd: Vec<u8>,
    pub objects: BTreeMap<Vec<u8>, Object>,
    pub open: BTreeMap<Fd, Vec<u8>>,
    pub next_fd: Fd,
    pub truncated: Vec<Vec<u8>>,
    pub opened: usize,
    /// Most descriptors open at once (the kernel's: 64 less 0, 1, 2).
    pub fd_limit: usize,
}

fn normalise(cwd: &[u8], path: &[u8]) -> Vec<u8> {
    let mut components: Vec<&[u8]> = Vec::new();
    let whole: Vec<u8> = if path.first() == Some(&b'/') {
        path.to_vec()
    } else {
        [cwd, b"/", path].concat()
    };
    for component in whole.split(|&byte| byte == b'/') {
        match component {
            b"" | b"." => {}
            b".." => {
                components.pop();
            }
            _ => components.push(component),
        }
    }
    let mut out = Vec::new();
    for component in components {
        out.push(b'/');
        out.extend_from_slice(component);
    }
    if out.is_empty() {
        out.push(b'/');
    }
    out
}

impl Model {
    /// `/...` holding `home/user` (a writable directory with `notes.txt`),
    /// and the leaves `1/a`, `2/b`; `/bin/true`, `/notes.txt`, `/tmp`.
    pub fn new(cwd: &str) -> Model {
        let mut model = Model {
            cwd: cwd.as_bytes().to_vec(),
            objects: BTreeMap::new(),
            open: BTreeMap::new(),
            next_fd: 3,
            truncated: Vec::new(),
            opened: 0,
            fd_limit: limits::FDS - 3,
        };
        for directory in ["/...", "/.../home", "/.../1", "/.../2"] {
            model.add(directory, Object::Virtual);
        }
        for (path, object) in [
            ("/", Object::Directory { writable: true }),
            ("/bin", Object::Directory { writable: false }),
            ("/bin/true", Object::File { writable: false }),
            ("/notes.txt", Object::File { writable: true }),
            ("/tmp", Object::Directory { writable: true }),
            ("/.../home/user", Object::Directory { writable: true }),
            ("/.../home/user/notes.txt", Object::File { writable: true }),
            ("/.../home/user/a", Object::File { writable: true }),
            ("/.../home/user/src", Object::Directory { writable: true }),
            ("/.../1/a", Object::File { writable: false }),
            ("/.../2/b", Object::Directory { writable: false }),
        ] {
            model.add(path, object);
        }
        model
    }

    pub fn add(&mut self, path: &str, object: Object) {
        self.objects.insert(path.as_bytes().to_vec(), object);
    }

    fn parent_writable(&self, path: &[u8]) -> bool {
        let slash = path.iter().rposition(|&byte| byte == b'/').unwrap_or(0);
        let parent: &[u8] = if slash == 0 { b"/" } else { &path[..slash] };
        matches!(
            self.objects.get(parent),
            Some(Object::Directory { writable: true })
        )
    }
}

impl CallerView for Model {
    fn open(&mut self, path: &[u8], flags: OpenFlags) -> Result<Fd, Errno> {
        if path.is_empty() {
            return Err(Errno::NotFound);
        }
        let path = normalise(&self.cwd, path);
        let writes = flags.writes() || flags.contains(OpenFlags::TRUNCATE);
        match self.objects.get(&path).copied() {
            None if flags.contains(OpenFlags::CREATE) => {
                if !self.parent_writable(&path) {
                    return Err(Errno::NotFound);
                }
                self.objects
                    .insert(path.clone(), Object::File { writable: true });
            }
            None => return Err(Errno::NotFound),
            Some(Object::Virtual) if writes => return Err(Errno::AccessDenied),
            Some(Object::Directory { .. }) if writes => return Err(Errno::IsADirectory),
            Some(Object::File { .. }) if flags.contains(OpenFlags::DIRECTORY) => {
                return Err(Errno::NotADirectory)
            }
            Some(Object::File { writable: false }) if writes => return Err(Errno::AccessDenied),
            Some(Object::File { .. }) if flags.contains(OpenFlags::TRUNCATE) => {
                self.truncated.push(path.clone());
            }
            Some(_) => {}
        }
        if self.open.len() >= self.fd_limit {
            return Err(Errno::TooManyFiles);
        }
        let fd = self.next_fd;
        self.next_fd += 1;
        self.opened += 1;
        self.open.insert(fd, path);
        Ok(fd)
    }

    fn is_virtual(&mut self, fd: Fd) -> Result<bool, Errno> {
        let path = self.open.get(&fd).ok_or(Errno::BadFd)?;
        Ok(self.objects.get(path) == Some(&Object::Virtual))
    }

    fn list_dots(&mut self, path: &[u8]) -> Result<Vec<DotsEntry>, Errno> {
        let directory = path.to_vec();
        if self.objects.get(&directory) != Some(&Object::Virtual) {
            return Err(Errno::NotFound);
        }
        let mut prefix = directory.clone();
        prefix.push(b'/');
        Ok(self
            .objects
            .iter()
            .filter_map(|(path, object)| {
                let rest = path.strip_prefix(&prefix[..])?;
                (!rest.contains(&b'/')).then(|| DotsEntry {
                    name: rest.to_vec(),
                    leaf: *object != Object::Virtual,
                    directory: !matches!(object, Object::File { .. }),
                })
            })
            .collect())
    }

    fn current_directory(&mut self) -> Result<Vec<u8>, Errno> {
        Ok(self.cwd.clone())
    }

    fn close(&mut self, fd: Fd) {
        assert!(self.open.remove(&fd).is_some(), "fd {fd} closed twice");
    }
}

fn cat() -> Grammar {
    Grammar::new(GrammarParts {
        options: vec![
            OptionSpec::flag(Some(b'n'), Some("number")),
            OptionSpec::with_value(Some(b'o'), Some("output"), Kind::Output),
        ],
        rest: Some(Kind::Input),
        ..GrammarParts::default()
    })
    .unwrap()
}

fn grammar(positional: &[Kind], rest: Option<Kind>) -> Grammar {
    Grammar::new(GrammarParts {
        positional: positional.to_vec(),
        rest,
        ..GrammarParts::default()
    })
    .unwrap()
}

fn run(grammar: &Grammar, model: &mut Model, arguments: &[&str]) -> Result<Launch, LaunchError> {
    let line = parse(grammar, arguments).expect("usage");
    // The previous launch's descriptors were closed by its `execve`.
    model.open.clear();
    let launch = prepare(grammar, &line, model);
    match &launch {
        Ok(launch) => {
            // Exactly the descriptors put are left open.
            let mut put: Vec<Fd> = launch.puts.iter().map(|put| put.fd).collect();
            put.sort();
            let open: Vec<Fd> = model.open.keys().copied().collect();
            assert_eq!(put, open, "descriptors left open");
        }
        Err(_) => assert!(model.open.is_empty(), "an error leaves nothing open"),
    }
    launch
}

/// `(name, path the fd refers to, access)` of each put.
fn puts(model: &Model, launch: &Launch) -> Vec<(String, String, Access)> {
    launch
        .puts
        .iter()
        .map(|put| {
            (
                String::from_utf8(put.name.clone()).unwrap(),
                String::from_utf8(model.open[&put.fd].clone()).unwrap(),
                put.access,
            )
        })
        .collect()
}

fn texts(launch: &Launch) -> Vec<String> {
    launch
        .arguments
        .iter()
        .map(|text| String::from_utf8(text.clone()).unwrap())
        .collect()
}

fn owned(items: &[(&str, &str, Access)]) -> Vec<(String, String, Access)> {
    items
        .iter()
        .map(|(a, b, access)| (String::from(*a), String::from(*b), *access))
        .collect()
}

use Access::{ReadOnly as RO, ReadWrite as RW};

#[test]
fn the_design_example_cat_dash_n_notes_and_true() {
    // The caller works in its home; `/.../1` and `/.../2` are taken.
    let mut model = Model::new("/.../home/user");
    let launch = run(&cat(), &mut model, &["-n", "notes.txt", "/bin/true"]).unwrap();
    assert_eq!(
        puts(&model, &launch),
        owned(&[
            ("home/user/notes.txt", "/.../home/user/notes.txt", RO),
            ("3/true", "/bin/true", RO),
        ])
    );
    assert_eq!(texts(&launch), ["-n", "notes.txt", "/.../3/true"]);
    assert_eq!(launch.directory.as_deref(), Some(&b"/.../home/user"[..]));
}

#[test]
fn outside_dots_everything_gets_a_fresh_name() {
    let mut model = Model::new("/");
    let launch = run(&cat(), &mut model, &["notes.txt", "./bin/true"]).unwrap();
    assert_eq!(
        puts(&model, &launch),
        owned(&[
            ("3/notes.txt", "/notes.txt", RO),
            ("4/true", "/bin/true", RO)
        ])
    );
    assert_eq!(texts(&launch), ["/.../3/notes.txt", "/.../4/true"]);
    assert_eq!(launch.directory, None);
}

#[test]
fn no_file_argument_means_no_work() {
    let mut model = Model::new("/.../home/user");
    let launch = run(&cat(), &mut model, &["-n", "--", "-"]).unwrap();
    assert!(launch.puts.is_empty());
    assert_eq!(texts(&launch), ["-n", "--", "-"]);
    assert_eq!(model.opened, 0);
}

#[test]
fn words_are_never_opened() {
    let words = grammar(&[], Some(Kind::Word));
    let mut model = Model::new("/.../home/user");
    let launch = run(&words, &mut model, &["notes.txt", "/bin/true", "/.../1/a"]).unwrap();
    assert_eq!(model.opened, 0);
    assert_eq!(texts(&launch), ["notes.txt", "/bin/true", "/.../1/a"]);
}

#[test]
fn outputs_are_created_after_the_inputs_opened() {
    let copy = grammar(&[Kind::Input, Kind::Output], None);
    let mut model = Model::new("/.../home/user");
    let error = run(&copy, &mut model, &["missing", "out.txt"]).unwrap_err();
    assert_eq!(
        alloc::format!("{error}"),
        "missing: No such file or directory"
    );
    assert!(!model.objects.contains_key(&b"/.../home/user/out.txt"[..]));

    let launch = run(&copy, &mut model, &["notes.txt", "out.txt"]).unwrap();
    assert_eq!(
        puts(&model, &launch),
        owned(&[
            ("home/user/notes.txt", "/.../home/user/notes.txt", RO),
            ("home/user/out.txt", "/.../home/user/out.txt", RW),
        ])
    );
    assert_eq!(texts(&launch), ["notes.txt", "out.txt"]);

    let launch = run(&copy, &mut model, &["notes.txt", "/.../home/user/a"]).unwrap();
    assert_eq!(model.truncated, [b"/.../home/user/a".to_vec()]);
    assert!(puts(&model, &launch).contains(&(
        String::from("home/user/a"),
        String::from("/.../home/user/a"),
        RW
    )));
}

#[test]
fn an_output_the_caller_cannot_write_is_refused() {
    let mut model = Model::new("/");
    let error = run(&cat(), &mut model, &["-o", "/.../1/a", "notes.txt"]).unwrap_err();
    assert_eq!(
        error,
        LaunchError::File {
            path: b"/.../1/a".to_vec(),
            errno: Errno::AccessDenied
        }
    );
}

#[test]
fn attached_option_values_keep_their_option() {
    let mut model = Model::new("/tmp");
    let launch = run(&cat(), &mut model, &["--output=out", "-o/tmp/x", "-n"]).unwrap();
    assert_eq!(texts(&launch), ["--output=/.../3/out", "-o/.../4/x", "-n"]);
    assert_eq!(
        puts(&model, &launch),
        owned(&[("3/out", "/tmp/out", RW), ("4/x", "/tmp/x", RW)])
    );
}

#[test]
fn entries_expose_their_parent() {
    let remove = grammar(&[], Some(Kind::Entry));
    let mut model = Model::new("/.../home/user");
    let launch = run(&remove, &mut model, &["notes.txt", "src/new"]).unwrap();
    assert_eq!(
        puts(&model, &launch),
        owned(&[
            ("home/user", "/.../home/user", RW),
            // Inside `home/user`, read-write: reached through it.
        ])
    );
    assert_eq!(texts(&launch), ["notes.txt", "src/new"]);

    let mut model = Model::new("/");
    let launch = run(&remove, &mut model, &["/tmp/x", "/tmp/y/", "z"]).unwrap();
    assert_eq!(
        puts(&model, &launch),
        owned(&[("3", "/tmp", RW), ("4", "/", RW)])
    );
    assert_eq!(texts(&launch), ["/.../3/x", "/.../3/y", "/.../4/z"]);

    // `mv a b`: the parent is put once, and messages name the argument.
    let mut model = Model::new("/tmp");
    let launch = run(&remove, &mut model, &["a", "b"]).unwrap();
    assert_eq!(puts(&model, &launch), owned(&[("3", "/tmp", RW)]));
    assert_eq!(texts(&launch), ["/.../3/a", "/.../3/b"]);
    assert_eq!(launch.puts[0].source, b"a");

    // No plain final name: the directory itself, read-write.
    let mut model = Model::new("/tmp");
    let launch = run(&remove, &mut model, &[".", "..", "."]).unwrap();
    assert_eq!(
        puts(&model, &launch),
        owned(&[("3", "/tmp", RW), ("4", "/", RW)])
    );
    assert_eq!(texts(&launch), ["/.../3", "/.../4", "/.../3"]);
    let mut model = Model::new("/.../home/user");
    let launch = run(&remove, &mut model, &["."]).unwrap();
    assert_eq!(
        puts(&model, &launch),
        owned(&[("home/user", "/.../home/user", RW)])
    );
    assert_eq!(texts(&launch), ["."]);
}

#[test]
fn argv0_always_names_the_program() {
    let grep: &[u8] = b"/bin/grep";
    for (given, expected) in [
        (Some(&b"grep"[..]), &b"grep"[..]),
        (Some(b"/bin/grep"), b"/bin/grep"),
        (Some(b"/.../3/grep"), b"/.../3/grep"),
        (Some(b"-grep"), b"-grep"),
        // Another applet of the same binary, or nothing: the program.
        (Some(b"sh"), b"/bin/grep"),
        (Some(b"/bin/sh"), b"/bin/grep"),
        (Some(b"grep/"), b"/bin/grep"),
        (Some(b"xgrep"), b"/bin/grep"),
        (Some(b""), b"/bin/grep"),
        (None, b"/bin/grep"),
    ] {
        assert_eq!(program_name(given, grep), expected, "{given:?}");
    }
}

/// `sed [-i] SCRIPT FILE...`: `-i` makes every file an `update`.
fn sed() -> Grammar {
    Grammar::new(GrammarParts {
        options: vec![OptionSpec::switch(
            Some(b'i'),
            None,
            crate::grammar::Operands {
                rest: Some(Kind::Update),
                ..Default::default()
            },
        )],
        positional: vec![Kind::Word],
        rest: Some(Kind::Input),
        ..GrammarParts::default()
    })
    .unwrap()
}

#[test]
fn updates_expose_their_directory_and_must_exist() {
    let mut model = Model::new("/.../home/user");
    let launch = run(&sed(), &mut model, &["-i", "s/a/z/", "notes.txt"]).unwrap();
    assert_eq!(
        puts(&model, &launch),
        owned(&[("home/user", "/.../home/user", RW)])
    );
    assert_eq!(texts(&launch), ["-i", "s/a/z/", "notes.txt"]);
    assert_eq!(launch.directory, Some(b"/.../home/user".to_vec()));
    // Outside /...: the directory under a fresh name, the name kept.
    let mut model = Model::new("/");
    let launch = run(&sed(), &mut model, &["-i", "s/a/z/", "notes.txt"]).unwrap();
    assert_eq!(puts(&model, &launch), owned(&[("3", "/", RW)]));
    assert_eq!(texts(&launch), ["-i", "s/a/z/", "/.../3/notes.txt"]);
    // A missing file is the launcher's error, and nothing is created.
    let mut model = Model::new("/.../home/user");
    assert_eq!(
        run(&sed(), &mut model, &["-i", "s/a/z/", "missing"]),
        Err(LaunchError::File {
            path: b"missing".to_vec(),
            errno: Errno::NotFound
        })
    );
    assert!(!model.objects.contains_key(&b"/.../home/user/missing"[..]));
    // A directory's own name (`.`) is no file to rewrite.
    assert_eq!(
        run(&sed(), &mut model, &["-i", "s/a/z/", "."]),
        Err(LaunchError::File {
            path: b".".to_vec(),
            errno: Errno::IsADirectory
        })
    );
    // Without -i, the same file is only read.
    let launch = run(&sed(), &mut model, &["s/a/z/", "notes.txt"]).unwrap();
    assert_eq!(
        puts(&model, &launch),
        owned(&[("home/user/notes.txt", "/.../home/user/notes.txt", RO)])
    );
}

/// `tar {c|x} [-f ARCHIVE] [FILE]...`, as in `examples/busybox.toml`.
fn tar() -> Grammar {
    let text = r#"
        options = [
            { short = "c", operands = { rest = "input", values = { "-f" = "output" } } },
            { short = "x", operands = { values = { "-f" = "input" }, directory = "read-write" } },
            { short = "f", value = "word" },
        ]
        rest = "word"
        bundled-first = true
    "#;
    toml::from_str(text).unwrap()
}

#[test]
fn the_current_directory_is_handed_over_when_asked() {
    // In /...: carried under its name, read-write, and the program starts
    // there.
    let mut model = Model::new("/.../home/user");
    model.add("/.../home/user/in.tar", Object::File { writable: true });
    let launch = run(&tar(), &mut model, &["xf", "in.tar", "member"]).unwrap();
    assert_eq!(
        puts(&model, &launch),
        owned(&[("home/user", "/.../home/user", RW)])
    );
    assert_eq!(texts(&launch), ["xf", "in.tar", "member"]);
    assert_eq!(launch.directory, Some(b"/.../home/user".to_vec()));
    // Outside /...: under a fresh name, and the program starts there.
    let mut model = Model::new("/tmp");
    model.add("/tmp/in.tar", Object::File { writable: true });
    let launch = run(&tar(), &mut model, &["xf", "in.tar"]).unwrap();
    assert_eq!(
        puts(&model, &launch),
        owned(&[("3/in.tar", "/tmp/in.tar", RO), ("4", "/tmp", RW)])
    );
    assert_eq!(texts(&launch), ["xf", "/.../3/in.tar"]);
    assert_eq!(launch.directory, Some(b"/.../4".to_vec()));
    // `tar c` asks for nothing but its files.
    let mut model = Model::new("/tmp");
    let launch = run(&tar(), &mut model, &["cf", "out.tar", "/bin/true"]).unwrap();
    assert_eq!(
        puts(&model, &launch),
        owned(&[
            ("3/out.tar", "/tmp/out.tar", RW),
            ("4/true", "/bin/true", RO)
        ])
    );
    assert_eq!(launch.directory, None);
    // A virtual directory of /... cannot be handed over read-write (one
    // the caller cannot write is refused by `xchroot()` itself, as for a
    // `dir-rw`).
    let mut model = Model::new("/.../home");
    assert_eq!(
        run(&tar(), &mut model, &["xf", "/notes.txt"]),
        Err(LaunchError::File {
            path: b".".to_vec(),
            errno: Errno::AccessDenied
        })
    );
}

/// `mkdir [-p] NAME...`: `-p` makes every operand an `entry-parents`.
fn mkdir() -> Grammar {
    Grammar::new(GrammarParts {
        options: vec![OptionSpec::switch(
            Some(b'p'),
            None,
            crate::grammar::Operands {
                positional: None,
                rest: Some(Kind::EntryParents),
                ..Default::default()
            },
        )],
        rest: Some(Kind::Entry),
        min: 1,
        ..GrammarParts::default()
    })
    .unwrap()
}

#[test]
fn missing_parents_expose_the_deepest_directory_that_exists() {
    let mkdir = mkdir();
    // In the home: the home itself, the names kept, the program starts
    // there.
    let mut model = Model::new("/.../home/user");
    let launch = run(&mkdir, &mut model, &["-p", "new/b/c", "src/x/y/"]).unwrap();
    assert_eq!(
        puts(&model, &launch),
        owned(&[("home/user", "/.../home/user", RW)])
    );
    assert_eq!(texts(&launch), ["-p", "new/b/c", "src/x/y/"]);
    // A file on the way is the argument's error (the model finds `a/b`
    // missing, then `a` no directory).
    assert_eq!(
        run(&mkdir, &mut model, &["-p", "a/b/c"]),
        Err(LaunchError::File {
            path: b"a".to_vec(),
            errno: Errno::NotADirectory
        })
    );
    assert_eq!(launch.directory.as_deref(), Some(&b"/.../home/user"[..]));
    // Without `-p` the parent must exist, as for `entry`.
    assert_eq!(
        run(&mkdir, &mut model, &["new/b/c"]),
        Err(LaunchError::File {
            path: b"new/b".to_vec(),
            errno: Errno::NotFound
        })
    );
    // A fresh name for the directory found; the missing names follow it.
    let mut model = Model::new("/tmp");
    let launch = run(&mkdir, &mut model, &["/tmp/x/y/z", "-p", "../q/r", "s"]).unwrap();
    // (`/tmp` and `.` are two spellings: two names, as for `entry`.)
    assert_eq!(
        puts(&model, &launch),
        owned(&[("3", "/tmp", RW), ("4", "/", RW), ("5", "/tmp", RW)])
    );
    assert_eq!(
        texts(&launch),
        ["/.../3/x/y/z", "-p", "/.../4/q/r", "/.../5/s"]
    );
    // Never past a name that cannot be made, nor above `.` or `/`.
    let mut model = Model::new("/tmp");
    assert_eq!(
        run(&mkdir, &mut model, &["-p", "a/.../b"]),
        Err(LaunchError::File {
            path: b"a/...".to_vec(),
            errno: Errno::NotFound
        })
    );
    let mut model = Model::new("/.../home/user/src");
    model.objects.remove(&b"/.../home/user/src"[..]);
    assert_eq!(
        run(&mkdir, &mut model, &["-p", "b/c"]),
        Err(LaunchError::File {
            path: b".".to_vec(),
            errno: Errno::NotFound
        })
    );
}

#[test]
fn climb_splits_at_the_missing_component() {
    assert_eq!(climb(b"a/b/c", b"a/b"), Some((&b"a"[..], &b"b/c"[..])));
    assert_eq!(climb(b"a/b/c", b"a"), Some((&b"."[..], &b"a/b/c"[..])));
    assert_eq!(climb(b"a//b/c//", b"a//b"), Some((&b"a/"[..], &b"b/c"[..])));
    assert_eq!(climb(b"/x/y", b"/x"), Some((&b"/"[..], &b"x/y"[..])));
    assert_eq!(climb(b"//x/y", b"//x"), Some((&b"/"[..], &b"x/y"[..])));
    assert_eq!(climb(b"../q/r", b"../q"), Some((&b".."[..], &b"q/r"[..])));
    assert_eq!(climb(b"x/y", b"."), None);
    assert_eq!(climb(b"/x", b"/"), None);
    assert_eq!(climb(b"../q", b".."), None);
    assert_eq!(climb(b"a/./b", b"a/."), None);
}

#[test]
fn virtual_directories_carry_their_leaves() {
    let list = Grammar::new(GrammarParts {
        rest: Some(Kind::Input),
        defaults: vec![b".".to_vec()],
        ..GrammarParts::default()
    })
    .unwrap();
    let mut model = Model::new("/");
    let launch = run(&list, &mut model, &["/.../home"]).unwrap();
    assert_eq!(
        puts(&model, &launch),
        owned(&[("home/user", "/.../home/user", RO)])
    );
    assert_eq!(texts(&launch), ["/.../home"]);

    // `ls` in `/...`: the default `.` is all of it, and the program starts
    // there.
    let mut model = Model::new("/...");
    let launch = run(&list, &mut model, &[]).unwrap();
    assert_eq!(
        puts(&model, &launch),
        owned(&[
            ("1/a", "/.../1/a", RO),
            ("2/b", "/.../2/b", RO),
            ("home/user", "/.../home/user", RO),
        ])
    );
    assert_eq!(texts(&launch), ["."]);
    assert_eq!(launch.directory.as_deref(), Some(&b"/..."[..]));

    // Reached through `..`, its name is unknown.
    let error = run(&list, &mut Model::new("/"), &["/.../home/user/.."]).unwrap_err();
    assert!(matches!(error, LaunchError::UnnamedDirectory { .. }));

    // Nothing can be written in a virtual directory: not in it (an
    // entry of `/.../1`), not to it (`dir-rw`).
    let error = run(
        &grammar(&[Kind::Entry], None),
        &mut Model::new("/"),
        &["/.../1/x"],
    );
    assert_eq!(
        error,
        Err(LaunchError::File {
            path: b"/.../1/x".to_vec(),
            errno: Errno::AccessDenied
        })
    );
    let error = run(
        &grammar(&[Kind::DirRw], None),
        &mut Model::new("/"),
        &["/.../1"],
    );
    assert_eq!(
        error,
        Err(LaunchError::File {
            path: b"/.../1".to_vec(),
            errno: Errno::AccessDenied
        })
    );
}

fn shell(access: Access) -> Grammar {
    Grammar::new(GrammarParts {
        positional: vec![Kind::Input],
        rest: Some(Kind::Word),
        inherit: vec![Inherit {
            name: b"home".to_vec(),
            access,
        }],
        intermixed: false,
        ..GrammarParts::default()
    })
    .unwrap()
}

#[test]
fn inherited_names_are_carried_and_cover_what_they_hold() {
    let mut model = Model::new("/.../home/user/src");
    let launch = run(&shell(RW), &mut model, &["../notes.txt", "x"]).unwrap();
    assert_eq!(
        puts(&model, &launch),
        owned(&[
            ("home/user", "/.../home/user", RW),
            // `../notes.txt` has no /... name (`..`): a fresh one.
            ("3/notes.txt", "/.../home/user/notes.txt", RO),
        ])
    );
    assert_eq!(texts(&launch), ["/.../3/notes.txt", "x"]);
    assert_eq!(
        launch.directory.as_deref(),
        Some(&b"/.../home/user/src"[..])
    );

    let mut model = Model::new("/.../home/user");
    let launch = run(&shell(RW), &mut model, &["notes.txt"]).unwrap();
    assert_eq!(
        puts(&model, &launch),
        owned(&[("home/user", "/.../home/user", RW)])
    );
    assert_eq!(texts(&launch), ["notes.txt"]);

    // A caller without a home: nothing inherited, no error.
    let mut model = Model::new("/");
    model
        .objects
        .retain(|path, _| !path.starts_with(b"/.../home"));
    let launch = run(&shell(RW), &mut model, &[]).unwrap();
    assert!(launch.puts.is_empty());
}

#[test]
fn a_read_only_inherited_name_does_not_hide_an_output() {
    let grammar = Grammar::new(GrammarParts {
        rest: Some(Kind::Output),
        inherit: vec![Inherit {
            name: b"home".to_vec(),
            access: RO,
        }],
        ..GrammarParts::default()
    })
    .unwrap();
    let mut model = Model::new("/.../home/user");
    let launch = run(&grammar, &mut model, &["out.txt"]).unwrap();
    assert_eq!(
        puts(&model, &launch),
        owned(&[
            ("home/user", "/.../home/user", RO),
            ("3/out.txt", "/.../home/user/out.txt", RW),
        ])
    );
    assert_eq!(texts(&launch), ["/.../3/out.txt"]);
}

#[test]
fn an_argument_holding_an_inherited_name_gets_a_fresh_name() {
    let grammar = Grammar::new(GrammarParts {
        rest: Some(Kind::Dir),
        inherit: vec![Inherit {
            name: b"data/sub".to_vec(),
            access: RW,
        }],
        ..GrammarParts::default()
    })
    .unwrap();
    let mut model = Model::new("/");
    model.add("/.../data", Object::Directory { writable: true });
    model.add("/.../data/sub", Object::Directory { writable: true });
    let launch = run(&grammar, &mut model, &["/.../data"]).unwrap();
    assert_eq!(
        puts(&model, &launch),
        owned(&[
            ("data/sub", "/.../data/sub", RW),
            ("3/data", "/.../data", RO),
        ])
    );
    assert_eq!(texts(&launch), ["/.../3/data"]);
}

#[test]
fn the_same_file_twice_is_put_once() {
    let mut model = Model::new("/");
    let launch = run(
        &cat(),
        &mut model,
        &["notes.txt", "notes.txt", "-o", "notes.txt"],
    )
    .unwrap();
    assert_eq!(
        puts(&model, &launch),
        owned(&[("3/notes.txt", "/notes.txt", RW)])
    );
    assert_eq!(
        texts(&launch),
        [
            "/.../3/notes.txt",
            "/.../3/notes.txt",
            "-o",
            "/.../3/notes.txt"
        ]
    );

    let mut model = Model::new("/");
    let launch = run(
        &cat(),
        &mut model,
        &["/.../home/user/a", "/.../home//user/./a"],
    )
    .unwrap();
    assert_eq!(
        puts(&model, &launch),
        owned(&[("home/user/a", "/.../home/user/a", RO)])
    );
    assert_eq!(texts(&launch), ["/.../home/user/a", "/.../home//user/./a"]);
    // Carried absolute names need no directory; the caller's `/` is not
    // in the new view.
    assert_eq!(launch.directory, None);
}

#[test]
fn relative_names_are_rewritten_when_the_directory_is_not_kept() {
    // The caller's cwd is in /... but below a leaf the program only sees
    // read-only through an inherited name? No: here the cwd is visible.
    // Make it invisible: a cwd whose only relative argument is renamed.
    let mut model = Model::new("/.../home/user");
    let launch = run(&cat(), &mut model, &["-o", "../user/x"]).unwrap();
    assert_eq!(texts(&launch), ["-o", "/.../3/x"]);
    assert_eq!(launch.directory, None);
}

#[test]
fn too_many_files_is_an_error_and_closes_everything() {
    let mut model = Model::new("/");
    let names: Vec<String> = (0..MAX_PUTS + 1)
        .map(|index| alloc::format!("/f{index}"))
        .collect();
    for name in &names {
        model.add(name, Object::File { writable: false });
    }
    let arguments: Vec<&str> = names.iter().map(String::as_str).collect();
    // The kernel's descriptor limit comes first ...
    assert_eq!(
        run(&cat(), &mut model, &arguments),
        Err(LaunchError::File {
            path: b"/f61".to_vec(),
            errno: Errno::TooManyFiles
        })
    );
    // ... but the plan has its own bound, for `xchroot()`.
    model.fd_limit = 1000;
    assert_eq!(
        run(&cat(), &mut model, &arguments),
        Err(LaunchError::TooManyFiles)
    );
    let launch = run(&cat(), &mut model, &arguments[..MAX_PUTS]).unwrap();
    assert_eq!(launch.puts.len(), MAX_PUTS);
}

#[test]
fn helpers() {
    assert_eq!(split_entry(b"a/b"), (&b"a"[..], &b"b"[..]));
    assert_eq!(split_entry(b"b"), (&b"."[..], &b"b"[..]));
    assert_eq!(split_entry(b"/b//"), (&b"/"[..], &b"b"[..]));
    assert_eq!(split_entry(b"/"), (&b"/"[..], &b""[..]));
    assert_eq!(basename(b"/bin/true/"), Some(&b"true"[..]));
    assert_eq!(basename(b"."), None);
    assert_eq!(basename(b"/"), None);
    assert_eq!(dots_name(b"/...", None), Some(Vec::new()));
    assert_eq!(dots_name(b"/.../a//./b/", None), Some(b"a/b".to_vec()));
    assert_eq!(dots_name(b"/.../a/../b", None), None);
    assert_eq!(dots_name(b"/....", None), None);
    assert_eq!(dots_name(b"x", Some(b"home/u")), Some(b"home/u/x".to_vec()));
    assert_eq!(dots_name(b".", Some(b"")), Some(Vec::new()));
    assert_eq!(dots_name(b"x", None), None);
    assert_eq!(dots_name(b"/bin", Some(b"home")), None);
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn mixed() -> Grammar {
        Grammar::new(GrammarParts {
            options: vec![
                OptionSpec::with_value(Some(b'o'), None, Kind::Output),
                OptionSpec::with_value(Some(b'd'), None, Kind::DirRw),
                OptionSpec::with_value(Some(b'e'), None, Kind::Entry),
                OptionSpec::with_value(Some(b'p'), None, Kind::EntryParents),
                OptionSpec::with_value(Some(b'w'), None, Kind::Word),
            ],
            positional: vec![Kind::Dir],
            rest: Some(Kind::Input),
            defaults: vec![b".".to_vec()],
            inherit: vec![Inherit {
                name: b"home".to_vec(),
                access: RW,
            }],
            ..GrammarParts::default()
        })
        .unwrap()
    }

    fn path() -> impl Strategy<Value = String> {
        prop::sample::select(vec![
            "notes.txt",
            "a",
            "./a",
            "src",
            "src/new",
            "..",
            ".",
            "/",
            "/bin/true",
            "/bin",
            "/notes.txt",
            "/tmp/x",
            "/tmp",
            "/...",
            "/.../home",
            "/.../home/user",
            "/.../home/user/a",
            "/.../home/user/../user/a",
            "/.../1",
            "/.../1/a",
            "/.../2/b",
            "/.../2/b/c",
            "/.../nothing",
            "missing",
            "missing/a/b",
            "src/x/y/",
            "/tmp/x/y",
            "a/.../b",
            "-",
            "",
        ])
        .prop_map(String::from)
    }

    fn argument() -> impl Strategy<Value = Vec<String>> {
        prop_oneof![
            path().prop_map(|path| vec![path]),
            (
                prop::sample::select(vec!["-o", "-d", "-e", "-p", "-w"]),
                path()
            )
                .prop_map(|(option, path)| vec![String::from(option), path]),
            (prop::sample::select(vec!["-o", "-e", "-p"]), path())
                .prop_map(|(option, path)| vec![alloc::format!("{option}{path}")]),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        #[test]
        fn any_launch_is_one_xchroot_the_kernel_accepts(
            cwd in prop::sample::select(vec!["/", "/tmp", "/...", "/.../home/user", "/.../home/user/src", "/.../2/b"]),
            arguments in prop::collection::vec(argument(), 0..6),
        ) {
            let arguments: Vec<String> = arguments.into_iter().flatten().collect();
            let grammar = mixed();
            let Ok(line) = parse(&grammar, &arguments) else {
                return Ok(());
            };
            let mut model = Model::new(cwd);
            // `run` checks that exactly the puts stay open (or nothing,
            // after an error).
            let borrowed: Vec<&str> = arguments.iter().map(String::as_str).collect();
            let Ok(launch) = run(&grammar, &mut model, &borrowed) else {
                return Ok(());
            };
            // Only file arguments and inherited names are opened.
            let files = line.files().count();
            prop_assert!(launch.puts.len() <= MAX_PUTS);
            // The puts form a valid batch: what `xchroot()` applies.
            let mut operations = vec![dotdotdot::Operation::RemoveAll];
            for (handle, put) in launch.puts.iter().enumerate() {
                operations.push(dotdotdot::Operation::Put {
                    name: put.name.clone(),
                    handle,
                    mode: dotdotdot::AccessMode::ReadOnly,
                });
            }
            let mut view: dotdotdot::Namespace<usize> = dotdotdot::Namespace::new();
            prop_assert!(view.apply(&operations).is_ok(), "{:?}", launch.puts);
            prop_assert_eq!(launch.arguments.len(), line.arguments.len());
            // Words and options pass unchanged.
            for (argument, text) in line.arguments.iter().zip(&launch.arguments) {
                if !matches!(argument.role, Role::File { .. }) {
                    prop_assert_eq!(argument.text, &text[..]);
                }
            }
            if files == 0 {
                // Only the inherited home, if anything.
                prop_assert!(launch.puts.iter().all(|put| put.name.starts_with(b"home")));
            }
        }
    }
}
