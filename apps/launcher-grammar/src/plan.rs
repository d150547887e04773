// SPDX-License-Identifier: MIT OR Apache-2.0
//! What the launcher hands over, and under which names: the launch plan
//! (DESIGN §7, steps 2 and 3).
//!
//! [`prepare`] takes a parsed command line and the caller's view (through
//! the [`CallerView`] trait: the launcher implements it with system calls,
//! the tests with a model) and returns a [`Launch`]: the files to put into
//! the program's `/...` — each one by the descriptor the launcher opened,
//! so nothing can be swapped between the check and the put — the
//! rewritten arguments, and the directory to start the program in.
//!
//! For each file argument, in order (outputs last, so that a missing input
//! truncates nothing), then each inherited name:
//!
//! 1. **Open it in the caller's view**, relative to the caller's current
//!    directory: `input` read-only (a directory is fine), `dir` and
//!    `dir-rw` with `O_DIRECTORY`, `output` with
//!    `O_WRONLY|O_CREAT|O_TRUNC` (mode 0644), `entry`: its parent
//!    directory with `O_DIRECTORY`, keeping the final name — unless that
//!    is no plain name (`.`, `..`, `/`: the target directory of `cp x .`),
//!    when the directory itself is handed over as a `dir-rw`;
//!    `entry-parents` (`mkdir -p a/b/c`): like `entry`, but a missing
//!    parent gives way to the directory above it, until one exists — the
//!    missing plain names are kept as the final name (`b/c`), never past
//!    `.`, `/`, `..` or a reserved name; `update` (`sed -i`): the file
//!    read-only and closed at once, to check it exists, then its parent
//!    as an `entry`'s (a path without a plain final name is refused). A
//!    failure is the argument's error (`notes.txt: No such file or
//!    directory`). When a given option asks for the current directory
//!    (`tar x`), it is handled as a `dir` or `dir-rw` argument `.` that
//!    appears nowhere on the line, and the program starts in it, by
//!    whichever name it gets.
//! 2. **Name it.** An argument that spells a `/...` name — `/.../NAME`,
//!    or a relative path while the caller's current directory is in
//!    `/...` (the usual case: the shell works in `/.../home/user`) — has
//!    that name, after dropping `.` and empty components (a path with
//!    `..` has none: `..` is resolved by the kernel, through symbolic
//!    links, and a lexical guess could name something else). It is
//!    *carried under the same name*. Any other argument is *exposed under
//!    a fresh name*: `N/BASENAME` (`3/true`), or `N` alone when the last
//!    component is not a plain name (`/`, `.`), or, for an `entry`, `N`
//!    being its parent (the argument becomes `/.../N/FINAL`). `N` is the
//!    smallest number, from 1, that is no top-level name of the caller's
//!    `/...` nor of a carried name, so a name printed by the program means
//!    the same thing in the caller's view.
//! 3. **Virtual directories** of `/...` (`/.../home` when only
//!    `/.../home/alice` is a leaf) have no inode to put: an `input` or
//!    `dir` naming one carries every leaf below it under its own name,
//!    read-only; `dir-rw` or an `entry` in one is refused with `EACCES`
//!    (virtual directories are read-only; the program would get the same
//!    answer).
//! 4. **Inherited names** (`inherit`, `inherit-rw`) are opened as
//!    `/.../NAME` and carried under their name, read-only or read-write
//!    (read-write needs the caller to have them writable, else the launch
//!    fails with `EACCES`); a name the caller does not have is skipped.
//! 5. **Conflicts between carried names** are settled without surprise:
//!    the same name twice is put once (read-write if either needs it); a
//!    name inside another carried name (`home/user/notes.txt` inside an
//!    inherited `home/user`) is not put again — it is reached through
//!    the outer one — unless it needs read-write and the outer one is
//!    read-only, in which case it gets a fresh name. Inherited names are
//!    settled first and always keep their names: an argument whose name
//!    holds one gets a fresh name (a leaf of a virtual directory argument
//!    in that position is left out). The same path given twice for a
//!    fresh name gets one name.
//! 6. **Arguments**: a fresh-named argument is rewritten (`/bin/true` →
//!    `/.../3/true`; an attached option value keeps its option,
//!    `--output=/.../1/out`); a carried argument keeps its text.
//! 7. **Current directory**: if the caller's current directory is in
//!    `/...` and still exists in the new view (it is inside or above a
//!    carried name), the program starts there (the launcher changes into
//!    it after `xchroot()`), so relative carried arguments keep their
//!    meaning; otherwise relative carried arguments are rewritten to their
//!    `/.../NAME` and the program starts at its root.
//!
//! At most [`MAX_PUTS`] files are put (one `xchroot()` call holds
//! [`manux_abi::limits::XCHROOT_OPERATIONS`] operations, two of which are
//! the `RemoveAll` and the root change).

use crate::grammar::{is_inside, Grammar};
use crate::kind::{Access, Kind};
use crate::parse::{ParsedCommandLine, Role, Text};
use alloc::vec::Vec;
use core::fmt;
use manux_abi::{limits, Errno, OpenFlags};

/// A file descriptor of the caller.
pub type Fd = i32;

/// Most files one launch puts into `/...`.
pub const MAX_PUTS: usize = limits::XCHROOT_OPERATIONS - 2;

/// The mode of files an `output` argument creates.
pub const CREATE_MODE: u32 = 0o644;

/// Deepest `/...` name the launcher walks (as `dotdotdot::MAX_DEPTH`).
const MAX_DEPTH: usize = dotdotdot::MAX_DEPTH;

/// One entry of a virtual directory of `/...`, as `getdents` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DotsEntry {
    /// Its name (one component).
    pub name: Vec<u8>,
    /// A leaf (a real file or directory; `getdents` gives its inode) or a
    /// virtual directory (inode 0).
    pub leaf: bool,
    /// Whether it is a directory (virtual directories are).
    pub directory: bool,
}

/// The caller's view, as the launcher sees it before `xchroot()`.
pub trait CallerView {
    /// `openat(CURRENT_DIRECTORY, path, flags, CREATE_MODE)`.
    fn open(&mut self, path: &[u8], flags: OpenFlags) -> Result<Fd, Errno>;
    /// Whether `fd` is a virtual directory of `/...` (its inode is 0).
    fn is_virtual(&mut self, fd: Fd) -> Result<bool, Errno>;
    /// The entries of the virtual directory at `path` (`/...` or
    /// `/.../NAME`), as `getdents` lists them.
    fn list_dots(&mut self, path: &[u8]) -> Result<Vec<DotsEntry>, Errno>;
    /// The current directory (`getcwd`).
    fn current_directory(&mut self) -> Result<Vec<u8>, Errno>;
    /// `close(fd)`.
    fn close(&mut self, fd: Fd);
}

/// One file to put into the program's `/...`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Put {
    /// The descriptor opened in the caller's view.
    pub fd: Fd,
    /// Its name in `/...` (`3/true`, `home/user`).
    pub name: Vec<u8>,
    /// Read-only or read-write.
    pub access: Access,
    /// What it stands for, for messages: the argument as given
    /// (`notes.txt`, `src/new` for an `entry` whose parent is put) or the
    /// `/...` path of an inherited name or of a leaf (`/.../home/user`).
    pub source: Vec<u8>,
}

/// Everything the launcher does after parsing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Launch {
    /// The files to put, after `RemoveAll`, in this order.
    pub puts: Vec<Put>,
    /// The program's arguments (without `argv[0]`), rewritten.
    pub arguments: Vec<Vec<u8>>,
    /// The caller's current directory, by its name in the new view
    /// (`/.../home/user`), if the new view reaches it: the launcher hands
    /// the directory itself over (`xchroot`'s `ChangeDirectoryFd`), so a
    /// directory renamed meanwhile by another program still works; the
    /// name is for messages.
    pub directory: Option<Vec<u8>>,
}

/// Why a launch cannot go on. The launcher prints `PROGRAM: MESSAGE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LaunchError {
    /// A file argument or inherited name cannot be opened or handed over:
    /// `notes.txt: No such file or directory`.
    File {
        /// The path as given.
        path: Vec<u8>,
        /// Why.
        errno: Errno,
    },
    /// A `/...` virtual directory was named through `..`, so its name is
    /// unknown and its leaves cannot be carried.
    UnnamedDirectory {
        /// The path as given.
        path: Vec<u8>,
    },
    /// More than [`MAX_PUTS`] files to hand over.
    TooManyFiles,
}

impl fmt::Display for LaunchError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LaunchError::File { path, errno } => write!(formatter, "{}: {}", Text(path), errno),
            LaunchError::UnnamedDirectory { path } => write!(
                formatter,
                "{}: a /... directory can be handed over only by its name, without `..`",
                Text(path)
            ),
            LaunchError::TooManyFiles => write!(
                formatter,
                "too many files to hand over (at most {MAX_PUTS})"
            ),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for LaunchError {}

/// How a file argument ends up.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Outcome {
    /// Not yet decided.
    Pending,
    /// Reached under its own `/...` name (put, merged or covered).
    Carried,
    /// Exposed under a fresh name: the new path.
    Renamed(Vec<u8>),
}

/// A file argument being planned.
struct FileArgument<'a> {
    /// Index in the parsed line.
    index: usize,
    kind: Kind,
    /// The path as given.
    path: &'a [u8],
    /// What is opened (the path, or an entry's parent).
    open_path: &'a [u8],
    /// An entry's final name.
    final_name: Option<&'a [u8]>,
    /// Its `/...` name, if it spells one.
    name: Option<Vec<u8>>,
    outcome: Outcome,
}

/// An opened file that may be put.
struct Candidate {
    fd: Fd,
    name: Option<Vec<u8>>,
    access: Access,
    source: Vec<u8>,
    /// The file argument it stands for (none for inherited names and the
    /// leaves of a virtual directory).
    argument: Option<usize>,
    /// Whether it is an inherited name (or a leaf below one).
    inherited: bool,
}

/// The planner's state: what is open, so an error closes it all.
struct Planner<'c, C: CallerView> {
    caller: &'c mut C,
    candidates: Vec<Candidate>,
}

impl<C: CallerView> Planner<'_, C> {
    fn open(&mut self, path: &[u8], flags: OpenFlags) -> Result<Fd, LaunchError> {
        self.caller
            .open(path, flags)
            .map_err(|errno| LaunchError::File {
                path: path.to_vec(),
                errno,
            })
    }

    fn add(&mut self, candidate: Candidate) -> Result<(), LaunchError> {
        self.candidates.push(candidate);
        if self.candidates.len() > MAX_PUTS {
            return Err(LaunchError::TooManyFiles);
        }
        Ok(())
    }

    /// Opens every leaf below the virtual directory `/.../name` and adds
    /// it under its own name.
    fn expand(
        &mut self,
        name: &[u8],
        access: Access,
        inherited: bool,
        depth: usize,
    ) -> Result<(), LaunchError> {
        let path = dots_path(name);
        if depth > MAX_DEPTH {
            return Err(LaunchError::File {
                path,
                errno: Errno::NameTooLong,
            });
        }
        let entries = self
            .caller
            .list_dots(&path)
            .map_err(|errno| LaunchError::File {
                path: path.clone(),
                errno,
            })?;
        for entry in entries {
            if dotdotdot::validate_component(&entry.name).is_err() {
                continue;
            }
            let child = join(name, &entry.name);
            if !entry.leaf {
                self.expand(&child, access, inherited, depth + 1)?;
                continue;
            }
            let child_path = dots_path(&child);
            let flags = match (entry.directory, access) {
                (true, _) => OpenFlags::DIRECTORY,
                (false, Access::ReadOnly) => OpenFlags::empty(),
                (false, Access::ReadWrite) => OpenFlags::READ_WRITE,
            };
            let fd = self.open(&child_path, flags)?;
            self.add(Candidate {
                fd,
                name: Some(child),
                access,
                source: child_path,
                argument: None,
                inherited,
            })?;
        }
        Ok(())
    }

    fn close_all(&mut self) {
        for candidate in self.candidates.drain(..) {
            self.caller.close(candidate.fd);
        }
    }
}

/// The `argv[0]` the program gets, from the caller's (`given`) and the
/// program's path: the caller's, when its last component is the
/// program's (`grep`, `/bin/grep`, or `-sh` for a login shell: messages
/// keep the name the caller used), else the program's path. A program
/// installed under several names picks what it does from that component
/// (busybox runs the applet `basename(argv[0])`, a leading `-` dropped),
/// so a caller must not choose another one than the grammar describes.
pub fn program_name<'a>(given: Option<&'a [u8]>, program: &'a [u8]) -> &'a [u8] {
    let last = |path: &'a [u8]| path.rsplit(|&byte| byte == b'/').next().unwrap_or(path);
    let name = last(program);
    match given.map(|given| (given, last(given))) {
        Some((given, component))
            if !name.is_empty()
                && (component == name || component.strip_prefix(b"-") == Some(name)) =>
        {
            given
        }
        _ => program,
    }
}

/// `/.../name` (`/...` for the empty name).
pub fn dots_path(name: &[u8]) -> Vec<u8> {
    let mut path = Vec::from(&b"/..."[..]);
    if !name.is_empty() {
        path.push(b'/');
        path.extend_from_slice(name);
    }
    path
}

/// `outer/inner` (`inner` when `outer` is empty).
fn join(outer: &[u8], inner: &[u8]) -> Vec<u8> {
    let mut name = outer.to_vec();
    if !name.is_empty() {
        name.push(b'/');
    }
    name.extend_from_slice(inner);
    name
}

/// The `/...` name `path` spells, relative to `cwd_name` (the caller's
/// current directory's `/...` name, if it is in `/...`): `Some(empty)`
/// for `/...` itself.
fn dots_name(path: &[u8], cwd_name: Option<&[u8]>) -> Option<Vec<u8>> {
    let (base, rest): (&[u8], &[u8]) = if path.first() == Some(&b'/') {
        if path == b"/..." {
            (b"", b"")
        } else {
            (b"", path.strip_prefix(b"/.../")?)
        }
    } else {
        (cwd_name?, path)
    };
    let mut name = base.to_vec();
    for component in rest.split(|&byte| byte == b'/') {
        match component {
            b"" | b"." => {}
            b".." => return None,
            _ => {
                if !name.is_empty() {
                    name.push(b'/');
                }
                name.extend_from_slice(component);
            }
        }
    }
    if name.is_empty() || dotdotdot::validate_name(&name).is_ok() {
        Some(name)
    } else {
        None
    }
}

/// An `entry` path's parent and final name: `a/b` → (`a`, `b`), `b` →
/// (`.`, `b`), `/b` → (`/`, `b`); trailing slashes are ignored.
fn split_entry(path: &[u8]) -> (&[u8], &[u8]) {
    let mut end = path.len();
    while end > 1 && path[end - 1] == b'/' {
        end -= 1;
    }
    let trimmed = &path[..end];
    match trimmed.iter().rposition(|&byte| byte == b'/') {
        Some(0) => (b"/", &trimmed[1..]),
        Some(slash) => (&trimmed[..slash], &trimmed[slash + 1..]),
        None => (b".", trimmed),
    }
}

/// For an `entry-parents` argument `path` whose directory `open_path` (a
/// prefix of `path`) is missing: the directory above it and the tail of
/// `path` from the missing component on (`a/b/c` with `a/b` missing →
/// (`a`, `b/c`)), if that component is a plain name. `None` at `.` or `/`
/// or past a `.`, `..` or reserved name, which are never created.
fn climb<'a>(path: &'a [u8], open_path: &[u8]) -> Option<(&'a [u8], &'a [u8])> {
    if open_path == b"." || open_path == b"/" || !path.starts_with(open_path) {
        return None;
    }
    let mut end = open_path.len();
    while end > 0 && path.get(end - 1) == Some(&b'/') {
        end -= 1;
    }
    let start = path
        .get(..end)?
        .iter()
        .rposition(|&byte| byte == b'/')
        .map_or(0, |slash| slash + 1);
    dotdotdot::validate_component(path.get(start..end)?).ok()?;
    let mut tail_end = path.len();
    while tail_end > end && path.get(tail_end - 1) == Some(&b'/') {
        tail_end -= 1;
    }
    let tail = path.get(start..tail_end)?;
    let before = path.get(..start)?;
    let parent: &'a [u8] = if start == 0 {
        b"."
    } else if before.iter().all(|&byte| byte == b'/') {
        b"/"
    } else {
        before.get(..start - 1)?
    };
    Some((parent, tail))
}

/// The last plain component of `path` (`true` for `/bin/true`), if any.
fn basename(path: &[u8]) -> Option<&[u8]> {
    let last = path
        .split(|&byte| byte == b'/')
        .rev()
        .find(|component| !component.is_empty())?;
    dotdotdot::validate_component(last).ok().map(|_| last)
}

/// The open flags for a file argument of `kind`.
fn open_flags(kind: Kind) -> OpenFlags {
    match kind {
        Kind::Output => OpenFlags::WRITE_ONLY | OpenFlags::CREATE | OpenFlags::TRUNCATE,
        Kind::Dir | Kind::DirRw | Kind::Entry | Kind::EntryParents | Kind::Update => {
            OpenFlags::DIRECTORY
        }
        Kind::Input | Kind::Word => OpenFlags::empty(),
    }
}

/// Plans the launch of `line` (parsed with `grammar`) from `caller`'s view.
///
/// Return values:
/// - `Ok(launch)`: the caller must put `launch.puts` (then close their
///   descriptors), change into `launch.directory` and run the program
///   with `launch.arguments`;
/// - `Err(LaunchError)`: nothing can be launched; every descriptor this
///   call opened is closed again (an `output` created stays created).
pub fn prepare<C: CallerView>(
    grammar: &Grammar,
    line: &ParsedCommandLine<'_>,
    caller: &mut C,
) -> Result<Launch, LaunchError> {
    let mut planner = Planner {
        caller,
        candidates: Vec::new(),
    };
    match plan(grammar, line, &mut planner) {
        Ok(launch) => Ok(launch),
        Err(error) => {
            planner.close_all();
            Err(error)
        }
    }
}

fn plan<C: CallerView>(
    grammar: &Grammar,
    line: &ParsedCommandLine<'_>,
    planner: &mut Planner<'_, C>,
) -> Result<Launch, LaunchError> {
    let inherit = &grammar.parts().inherit;
    let texts = || line.arguments.iter().map(|argument| argument.text.to_vec());
    if line.files().next().is_none() && inherit.is_empty() && line.directory.is_none() {
        return Ok(Launch {
            puts: Vec::new(),
            arguments: texts().collect(),
            directory: None,
        });
    }
    let cwd_name = planner
        .caller
        .current_directory()
        .ok()
        .and_then(|cwd| dots_name(&cwd, None));

    // 1–3: the file arguments, outputs last.
    let mut files: Vec<FileArgument<'_>> = Vec::new();
    for (index, argument) in line.files() {
        let (Some(kind), Some(path)) = (argument.file_kind(), argument.path()) else {
            continue;
        };
        let (kind, open_path, final_name) = match (kind, split_entry(path)) {
            (kind, (parent, final_name))
                if kind.is_entry() && dotdotdot::validate_component(final_name).is_ok() =>
            {
                (kind, parent, Some(final_name))
            }
            // A file rewritten in place has a name in its directory.
            (Kind::Update, _) => {
                return Err(LaunchError::File {
                    path: path.to_vec(),
                    errno: Errno::IsADirectory,
                })
            }
            // `.`, `..`, `/`: no name in a parent, but a directory (`cp x
            // .`, `mv x ..`): handed over itself, read-write.
            (kind, _) if kind.is_entry() => (Kind::DirRw, path, None),
            _ => (kind, path, None),
        };
        files.push(FileArgument {
            index,
            kind,
            path,
            open_path,
            final_name,
            name: dots_name(open_path, cwd_name.as_deref()),
            outcome: Outcome::Pending,
        });
    }
    // The current directory, when a given option asks for it (`tar x`):
    // handed over as a `dir` or `dir-rw` argument `.` that is no
    // argument (its index is past the line's).
    if let Some(access) = line.directory {
        files.push(FileArgument {
            index: usize::MAX,
            kind: match access {
                Access::ReadOnly => Kind::Dir,
                Access::ReadWrite => Kind::DirRw,
            },
            path: b".",
            open_path: b".",
            final_name: None,
            name: dots_name(b".", cwd_name.as_deref()),
            outcome: Outcome::Pending,
        });
    }
    let order: Vec<usize> = (0..files.len())
        .filter(|&file| files[file].kind != Kind::Output)
        .chain((0..files.len()).filter(|&file| files[file].kind == Kind::Output))
        .collect();
    for file in order {
        let argument = &files[file];
        let (kind, path) = (argument.kind, argument.path);
        let access = kind.access().unwrap_or(Access::ReadOnly);
        if kind == Kind::Update {
            // `sed -i` on a missing file is an error, as sed gives.
            match planner.caller.open(path, OpenFlags::empty()) {
                Ok(fd) => planner.caller.close(fd),
                Err(errno) => {
                    return Err(LaunchError::File {
                        path: path.to_vec(),
                        errno,
                    })
                }
            }
        }
        let fd = loop {
            let open_path = files[file].open_path;
            match planner.caller.open(open_path, open_flags(kind)) {
                Ok(fd) => break fd,
                // `mkdir -p a/b/c`: the deepest directory that exists is
                // handed over, and the missing names are kept.
                Err(Errno::NotFound) if kind == Kind::EntryParents => {
                    let Some((parent, tail)) = climb(path, open_path) else {
                        return Err(LaunchError::File {
                            path: open_path.to_vec(),
                            errno: Errno::NotFound,
                        });
                    };
                    let argument = &mut files[file];
                    argument.open_path = parent;
                    argument.final_name = Some(tail);
                    argument.name = dots_name(parent, cwd_name.as_deref());
                }
                Err(errno) => {
                    return Err(LaunchError::File {
                        path: open_path.to_vec(),
                        errno,
                    })
                }
            }
        };
        let is_virtual = kind != Kind::Output
            && match planner.caller.is_virtual(fd) {
                Ok(is_virtual) => is_virtual,
                Err(errno) => {
                    planner.caller.close(fd);
                    return Err(LaunchError::File {
                        path: path.to_vec(),
                        errno,
                    });
                }
            };
        if is_virtual {
            planner.caller.close(fd);
            if access == Access::ReadWrite {
                return Err(LaunchError::File {
                    path: path.to_vec(),
                    errno: Errno::AccessDenied,
                });
            }
            let Some(name) = files[file].name.clone() else {
                return Err(LaunchError::UnnamedDirectory {
                    path: path.to_vec(),
                });
            };
            planner.expand(&name, Access::ReadOnly, false, 0)?;
            files[file].outcome = Outcome::Carried;
        } else {
            planner.add(Candidate {
                fd,
                name: files[file].name.clone(),
                access,
                source: path.to_vec(),
                argument: Some(file),
                inherited: false,
            })?;
        }
    }

    // 4: inherited names.
    for inherited in inherit {
        let path = dots_path(&inherited.name);
        let fd = match planner.caller.open(&path, OpenFlags::DIRECTORY) {
            Ok(fd) => fd,
            Err(Errno::NotADirectory) => {
                let flags = match inherited.access {
                    Access::ReadOnly => OpenFlags::empty(),
                    Access::ReadWrite => OpenFlags::READ_WRITE,
                };
                planner.open(&path, flags)?
            }
            Err(Errno::NotFound) => continue,
            Err(errno) => return Err(LaunchError::File { path, errno }),
        };
        match planner.caller.is_virtual(fd) {
            Ok(true) => {
                planner.caller.close(fd);
                planner.expand(&inherited.name, inherited.access, true, 0)?;
            }
            Ok(false) => planner.add(Candidate {
                fd,
                name: Some(inherited.name.clone()),
                access: inherited.access,
                source: path,
                argument: None,
                inherited: true,
            })?,
            Err(errno) => {
                planner.caller.close(fd);
                return Err(LaunchError::File { path, errno });
            }
        }
    }

    // 5: settle the carried names; the rest gets fresh names. Inherited
    // names go first and keep their names whatever the arguments say
    // (they never overlap one another); then the arguments, outer names
    // before inner ones.
    let mut candidates = core::mem::take(&mut planner.candidates);
    candidates.sort_by(|a, b| (!a.inherited, &a.name).cmp(&(!b.inherited, &b.name)));
    let mut kept: Vec<Candidate> = Vec::new();
    let mut unnamed: Vec<Candidate> = Vec::new();
    for candidate in candidates {
        let Some(name) = candidate.name.as_deref() else {
            unnamed.push(candidate);
            continue;
        };
        if let Some(same) = kept.iter_mut().find(|k| k.name.as_deref() == Some(name)) {
            let closed = if candidate.access > same.access {
                let old = core::mem::replace(&mut same.fd, candidate.fd);
                same.access = candidate.access;
                old
            } else {
                candidate.fd
            };
            planner.caller.close(closed);
            if let Some(file) = candidate.argument {
                files[file].outcome = Outcome::Carried;
            }
            continue;
        }
        let outer = kept.iter().find(|k| {
            k.name
                .as_deref()
                .is_some_and(|outer| is_inside(name, outer))
        });
        let holds_inner = kept.iter().any(|k| {
            k.name
                .as_deref()
                .is_some_and(|inner| is_inside(inner, name))
        });
        match outer {
            Some(outer) if outer.access >= candidate.access => {
                planner.caller.close(candidate.fd);
                if let Some(file) = candidate.argument {
                    files[file].outcome = Outcome::Carried;
                }
            }
            // It cannot keep its name: a file argument gets a fresh one,
            // a leaf of a virtual directory is left out.
            Some(_) => unnamed.push(candidate),
            None if holds_inner => unnamed.push(candidate),
            None => {
                if let Some(file) = candidate.argument {
                    files[file].outcome = Outcome::Carried;
                }
                kept.push(candidate);
            }
        }
    }
    planner.candidates = kept;

    // 6: fresh names, in argument order.
    unnamed.sort_by_key(|candidate| candidate.argument);
    if !unnamed.is_empty() {
        let mut taken: Vec<Vec<u8>> = match planner.caller.list_dots(b"/...") {
            Ok(entries) => entries.into_iter().map(|entry| entry.name).collect(),
            Err(errno) => {
                for candidate in unnamed {
                    planner.caller.close(candidate.fd);
                }
                return Err(LaunchError::File {
                    path: Vec::from(&b"/..."[..]),
                    errno,
                });
            }
        };
        for candidate in &planner.candidates {
            if let Some(name) = &candidate.name {
                let top = name.split(|&byte| byte == b'/').next().unwrap_or(&[]);
                taken.push(top.to_vec());
            }
        }
        // One number per unnamed candidate at most. There are always
        // enough (the numbers go to 2^32 - 1; the puts are at most 62), but
        // should there not be, close everything rather than leak.
        let mut fresh: Vec<dotdotdot::FreshName> =
            dotdotdot::fresh_names(|name| taken.iter().any(|t| t == name))
                .take(unnamed.len())
                .collect();
        if fresh.len() < unnamed.len() {
            for candidate in unnamed {
                planner.caller.close(candidate.fd);
            }
            return Err(LaunchError::TooManyFiles);
        }
        fresh.reverse();
        // (what was opened, entry parent?) → index in planner.candidates:
        // the same path opened twice gets one name (`mv a b` puts `.`
        // once).
        let mut given: Vec<(&[u8], bool, usize)> = Vec::new();
        for candidate in unnamed {
            // A leaf of a virtual directory that cannot keep its name
            // (it holds, or lies read-only around, an inherited name) is
            // left out: the argument names the directory, not it.
            let Some(file) = candidate.argument else {
                planner.caller.close(candidate.fd);
                continue;
            };
            let argument = &files[file];
            let is_entry = argument.kind.is_entry();
            let existing = given
                .iter()
                .find(|(opened, entry, _)| *opened == argument.open_path && *entry == is_entry)
                .map(|(_, _, put)| *put);
            let leaf = match existing {
                Some(put) => {
                    let same = &mut planner.candidates[put];
                    let closed = if candidate.access > same.access {
                        let old = core::mem::replace(&mut same.fd, candidate.fd);
                        same.access = candidate.access;
                        old
                    } else {
                        candidate.fd
                    };
                    planner.caller.close(closed);
                    same.name.clone().unwrap_or_default()
                }
                None => {
                    // Counted above: one per unnamed candidate.
                    let number = fresh.pop().unwrap_or(dotdotdot::FreshName::from_number(0));
                    let leaf = match (is_entry, basename(argument.open_path)) {
                        (false, Some(base)) => join(number.as_bytes(), base),
                        _ => number.as_bytes().to_vec(),
                    };
                    given.push((argument.open_path, is_entry, planner.candidates.len()));
                    planner.candidates.push(Candidate {
                        name: Some(leaf.clone()),
                        ..candidate
                    });
                    leaf
                }
            };
            let mut path = dots_path(&leaf);
            if let Some(final_name) = argument.final_name {
                path.push(b'/');
                path.extend_from_slice(final_name);
            }
            files[file].outcome = Outcome::Renamed(path);
        }
    }
    if planner.candidates.len() > MAX_PUTS {
        return Err(LaunchError::TooManyFiles);
    }

    // 7: the current directory, and the arguments. Asked for, it is
    // where it was put.
    let asked = files
        .iter()
        .find(|argument| argument.index == usize::MAX)
        .and_then(|argument| match &argument.outcome {
            Outcome::Renamed(path) => Some(path.clone()),
            Outcome::Carried => Some(dots_path(argument.name.as_deref().unwrap_or(b""))),
            Outcome::Pending => None,
        });
    let directory = asked.or_else(|| {
        cwd_name.as_ref().and_then(|cwd| {
            planner
                .candidates
                .iter()
                .filter_map(|candidate| candidate.name.as_deref())
                .any(|put| is_inside(cwd, put) || cwd.is_empty() || is_inside(put, cwd))
                .then(|| dots_path(cwd))
        })
    });
    let mut arguments: Vec<Vec<u8>> = texts().collect();
    for argument in &files {
        let Some(Role::File { offset, .. }) =
            line.arguments.get(argument.index).map(|given| given.role)
        else {
            continue;
        };
        let new_path = match &argument.outcome {
            Outcome::Renamed(path) => path.clone(),
            Outcome::Carried if argument.path.first() != Some(&b'/') && directory.is_none() => {
                let mut path = dots_path(argument.name.as_deref().unwrap_or(b""));
                if let Some(final_name) = argument.final_name {
                    path.push(b'/');
                    path.extend_from_slice(final_name);
                }
                path
            }
            Outcome::Carried | Outcome::Pending => continue,
        };
        let text = &mut arguments[argument.index];
        text.truncate(offset);
        text.extend_from_slice(&new_path);
    }
    let puts = planner
        .candidates
        .drain(..)
        .map(|candidate| Put {
            fd: candidate.fd,
            name: candidate.name.unwrap_or_default(),
            access: candidate.access,
            source: candidate.source,
        })
        .collect();
    Ok(Launch {
        puts,
        arguments,
        directory,
    })
}

#[cfg(test)]
mod tests;
