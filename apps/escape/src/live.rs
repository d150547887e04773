// SPDX-License-Identifier: MIT OR Apache-2.0
//! The live-object techniques: stale handles, removed names, renamed
//! directories and running programs (DESIGN §4, object lifetime; §5).
//!
//! Every holder — an open file, a `/...` entry, a root, a current
//! directory — refers to its object itself, never to an inode number. If
//! one held a bare number, a file deleted by its owner would free the
//! number, and the next file created anywhere — in another domain — would
//! get it: the stale handle would then read and write a stranger's file.
//! Each technique here sets that trap: the confined child holds something,
//! its name goes, and the accomplice (the parent, outside the jail) at
//! once creates files and directories holding the secret, which take the
//! freed numbers if anything freed them. Blocked means the child sees
//! only its own object — its own bytes, an empty removed directory,
//! `ENOENT` for creating in it — and never the secret, and nothing it
//! writes reaches the accomplice's files.
//!
//! The child talks over the parent's pipes as elsewhere in the suite
//! (descriptor 3 to the accomplice, 4 from it); each side waits for the
//! other's byte before its next move. Files of the lab used here:
//! `/escape/jail/live/` (the child's own, inside), `/escape/other/`
//! (outside: what is handed in, and what the accomplice plants),
//! `/lab/run/escape` and `/lab/run-root/` (the test image's fixture).

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use manux_runtime::abi::directory_entry;
use manux_runtime::abi::{seek, OpenFlags, XchrootKind};
use manux_runtime::syscall::{self, Fd};
use manux_runtime::Errno;

use crate::{
    await_signal, denied, denied_with, enter_jail, every_secret_path, operation, put, root,
    secret_through, signal, text, write_file, Outcome, HERE, READ_ONLY, READ_WRITE, SECRET,
};

/// The techniques of this module, in the order they run.
pub const TECHNIQUES: [&str; 9] = [
    "stale-read-fd",
    "stale-write-fd",
    "removed-dots-file",
    "removed-dots-directory",
    "removed-root",
    "renamed-cwd-relative",
    "renamed-over-open-file",
    "hardlink-last-name",
    "running-program-file",
];

/// What the child's own files hold.
const OWN: &[u8] = b"the child's own bytes\n";
/// What a file handed in `/...` holds.
const HANDED: &[u8] = b"handed in by its owner\n";
/// What the child writes through a stale descriptor.
const GRAFFITI: &[u8] = b"GRAFFITI from the jail\n";
/// What the child writes into its renamed current directory.
const LANDED: &[u8] = b"landed in the renamed directory\n";
/// What `/lab/run-root/marker.txt` says (the test image's fixture,
/// `images/src/test_fixtures.rs`).
const RUN_ROOT_MARKER: &[u8] = b"the running program's root\n";
/// The fixture's running program: a copy of this program, immutable, in
/// a writable directory, its rootlink naming `/lab/run-root`.
const RUN_PROGRAM: &[u8] = b"/lab/run/escape";

/// Where the accomplice plants its files and directories.
const PLANTED: &str = "/escape/other/planted";
/// Files the accomplice plants: enough to take any inode number freed
/// just before (ext2l hands out the lowest free number).
const PLANTED_FILES: usize = 6;
/// Directories the accomplice plants, each holding `secret.txt`.
const PLANTED_DIRECTORIES: usize = 3;

/// Whether technique `name` needs the accomplice.
pub fn needs_accomplice(name: &str) -> bool {
    TECHNIQUES.contains(&name)
}

/// The program the child of `name` runs, if not `/bin/escape`.
pub fn program(name: &str) -> Option<&'static [u8]> {
    (name == "running-program-file").then_some(RUN_PROGRAM)
}

/// Runs the child side of technique `name`, if it is one of this module.
pub fn child(name: &str) -> Option<Outcome> {
    Some(match name {
        "stale-read-fd" => stale_read_fd(),
        "stale-write-fd" => stale_write_fd(),
        "removed-dots-file" => removed_dots_file(),
        "removed-dots-directory" => removed_dots_directory(),
        "removed-root" => removed_root(),
        "renamed-cwd-relative" => renamed_cwd_relative(),
        "renamed-over-open-file" => renamed_over_open_file(),
        "hardlink-last-name" => hardlink_last_name(),
        "running-program-file" => running_program_file(),
        _ => return None,
    })
}

/// The accomplice's end of the pipes: the child sends `!` for each step
/// and `.` when it is done (or ends: end of file), and the accomplice
/// answers each step with `!` until then.
struct Conversation {
    from_child: Fd,
    to_child: Fd,
    done: bool,
}

impl Conversation {
    /// Waits for the child's next step; returns at once once it is done.
    fn wait(&mut self) {
        if self.done {
            return;
        }
        let mut byte = [0u8; 1];
        match syscall::read(self.from_child, &mut byte) {
            Ok(1) if byte[0] != b'.' => {}
            _ => self.done = true,
        }
    }

    /// Lets the child go on (nothing once it is done: it then reads only
    /// the verdict).
    fn answer(&self) {
        if !self.done {
            signal(self.to_child);
        }
    }

    /// Waits until the child is done.
    fn wait_done(&mut self) {
        while !self.done {
            self.wait();
        }
    }
}

/// The accomplice's side of technique `name`. What it finds (a planted
/// file changed, a file not where it should be, an attack that worked) is
/// its verdict, which it sends the child once the child is done, so that
/// the child's one line says it ([`finish`]).
pub fn accomplice(name: &str, from_child: Fd, to_child: Fd) -> Outcome {
    let at = HERE;
    let mut child = Conversation {
        from_child,
        to_child,
        done: false,
    };
    let result: Outcome = match name {
        "stale-read-fd" | "removed-root" => {
            child.wait();
            if name == "removed-root" {
                // The owner empties the child's root and removes it.
                let _ = syscall::unlink_at(at, b"/escape/other/room/furniture.txt");
                let _ = syscall::remove_directory_at(at, b"/escape/other/room");
            }
            let planted = plant(if name == "removed-root" {
                First::Directories
            } else {
                First::Files
            });
            child.answer();
            planted
        }
        "stale-write-fd" => {
            child.wait();
            let planted = plant(First::Files);
            child.answer();
            child.wait_done();
            planted.and_then(|_| planted_unchanged())
        }
        "removed-dots-file" | "removed-dots-directory" => {
            child.wait();
            // The owner removes what it handed in.
            let removed = if name == "removed-dots-file" {
                syscall::unlink_at(at, b"/escape/other/handed.txt")
            } else {
                syscall::remove_directory_at(at, b"/escape/other/handed-dir")
            };
            let planted = plant(if name == "removed-dots-file" {
                First::Files
            } else {
                First::Directories
            });
            child.answer();
            removed
                .map_err(|e| format!("the owner could not remove it: {}", e.name()))
                .and(planted)
        }
        "renamed-cwd-relative" => {
            // The child is in jail/sub/deeper: move `sub` next to the
            // secret; the child then works relative to its cwd.
            child.wait();
            let moved = syscall::rename_at(at, b"/escape/jail/sub", at, b"/escape/moved");
            child.answer();
            child.wait_done();
            let landed = if moved.is_ok() {
                let landed = read_path(b"/escape/moved/deeper/landed.txt");
                let _ = syscall::unlink_at(at, b"/escape/moved/deeper/landed.txt");
                let _ = syscall::unlink_at(at, b"/escape/moved/deeper/here.txt");
                let _ = syscall::rename_at(at, b"/escape/moved", at, b"/escape/jail/sub");
                landed
            } else {
                Ok(Vec::new())
            };
            moved
                .map_err(|e| format!("could not rename: {}", e.name()))
                .and_then(|_| match landed {
                    Ok(content) if content == LANDED => Ok(()),
                    Ok(content) => Err(format!(
                        "the file created in the renamed cwd is not in it (found {:?})",
                        text(&content)
                    )),
                    Err(errno) => Err(format!(
                        "the file created in the renamed cwd is not in it: {}",
                        errno.name()
                    )),
                })
        }
        "renamed-over-open-file" => {
            child.wait();
            // A secret renamed over the child's open file, then fresh
            // files to take the old file's number if it was freed.
            let mut secret = Vec::from(SECRET);
            secret.push(b'\n');
            let renamed = write_file(b"/escape/other/secret-copy.txt", &secret)
                .and_then(|_| {
                    syscall::rename_at(
                        at,
                        b"/escape/other/secret-copy.txt",
                        at,
                        b"/escape/jail/live/open.txt",
                    )
                })
                .map_err(|e| format!("could not rename over: {}", e.name()));
            let planted = plant(First::Files);
            child.answer();
            renamed.and(planted)
        }
        "hardlink-last-name" => {
            // First the outside name goes; after the child removes the
            // inside one (the last), fresh files.
            child.wait();
            let removed = syscall::unlink_at(at, b"/escape/other/linked.txt")
                .map_err(|e| format!("the owner could not remove its name: {}", e.name()));
            child.answer();
            child.wait();
            let planted = plant(First::Files);
            child.answer();
            removed.and(planted)
        }
        "running-program-file" => {
            // From outside the child's domain, the same attacks on the
            // file it runs.
            child.wait();
            let attacked = attack_running_program("the accomplice");
            child.answer();
            attacked
        }
        _ => Ok(()),
    };
    child.wait_done();
    clean_up();
    // The verdict; the parent then closes the pipe, which ends it.
    let verdict = match &result {
        Ok(()) => String::from("."),
        Err(message) => format!("accomplice: {message}"),
    };
    let _ = syscall::write_all(to_child, verdict.as_bytes());
    Ok(())
}

// ---------------------------------------------------------------- helpers

/// Tells the accomplice to act and waits until it has.
fn handshake() {
    signal(3);
    await_signal(4);
}

/// Tells the accomplice the child is done, and adds its verdict to the
/// child's own `result` (`.` is none; steps the accomplice answered after
/// the child stopped early come first, as `!`).
fn finish(result: Outcome) -> Outcome {
    let _ = syscall::write(3, b".");
    let mut verdict = Vec::new();
    let mut buffer = [0u8; 256];
    while let Ok(count) = syscall::read(4, &mut buffer) {
        if count == 0 || verdict.len() > 4096 {
            break;
        }
        verdict.extend_from_slice(&buffer[..count]);
    }
    result?;
    let verdict = verdict
        .iter()
        .position(|&byte| byte != b'!')
        .map_or(&[][..], |start| &verdict[start..]);
    if verdict.is_empty() || verdict == b"." {
        Ok(())
    } else {
        Err(String::from(text(verdict)))
    }
}

/// What the accomplice plants first: what would take the number the
/// child's object had if it were freed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum First {
    Files,
    Directories,
}

/// Plants fresh files and directories outside the jail, each holding the
/// secret (the directories in a `secret.txt`), `first` first.
fn plant(first: First) -> Outcome {
    let mut secret = Vec::from(SECRET);
    secret.push(b'\n');
    let files = || -> Outcome {
        for index in 0..PLANTED_FILES {
            let file = format!("{PLANTED}-{index}");
            write_file(file.as_bytes(), &secret)
                .map_err(|e| format!("writing {file}: {}", e.name()))?;
        }
        Ok(())
    };
    let directories = || -> Outcome {
        for index in 0..PLANTED_DIRECTORIES {
            let directory = format!("{PLANTED}-dir-{index}");
            syscall::make_directory_at(HERE, directory.as_bytes(), 0o755)
                .map_err(|e| format!("mkdir {directory}: {}", e.name()))?;
            let file = format!("{directory}/secret.txt");
            write_file(file.as_bytes(), &secret)
                .map_err(|e| format!("writing {file}: {}", e.name()))?;
        }
        Ok(())
    };
    match first {
        First::Files => files().and_then(|_| directories()),
        First::Directories => directories().and_then(|_| files()),
    }
}

/// The planted files still hold exactly the secret.
fn planted_unchanged() -> Outcome {
    let mut secret = Vec::from(SECRET);
    secret.push(b'\n');
    for index in 0..PLANTED_FILES {
        let file = format!("{PLANTED}-{index}");
        match read_path(file.as_bytes()) {
            Ok(content) if content == secret => {}
            Ok(content) => {
                return Err(format!(
                    "a write through a stale descriptor changed another domain's file {file}: {:?}",
                    text(&content)
                ))
            }
            Err(errno) => return Err(format!("accomplice reading {file}: {}", errno.name())),
        }
    }
    Ok(())
}

/// Removes what any technique of this module left (best effort: a
/// technique that escaped may have left files in odd places).
fn clean_up() {
    for index in 0..PLANTED_DIRECTORIES {
        remove_tree(format!("{PLANTED}-dir-{index}").as_bytes(), 3);
    }
    for index in 0..PLANTED_FILES {
        let _ = syscall::unlink_at(HERE, format!("{PLANTED}-{index}").as_bytes());
    }
    for file in [
        &b"/escape/other/handed.txt"[..],
        b"/escape/other/linked.txt",
        b"/escape/other/secret-copy.txt",
        b"/escape/jail/live/stale-read.txt",
        b"/escape/jail/live/stale-write.txt",
        b"/escape/jail/live/open.txt",
        b"/escape/jail/live/linked.txt",
    ] {
        let _ = syscall::unlink_at(HERE, file);
    }
    remove_tree(b"/escape/other/handed-dir", 3);
    remove_tree(b"/escape/other/room", 3);
}

/// Removes `path` and everything below it, `depth` levels down at most.
fn remove_tree(path: &[u8], depth: usize) {
    if syscall::unlink_at(HERE, path).is_ok() {
        return;
    }
    if depth > 0 {
        if let Ok(names) = list(path) {
            for name in names {
                let mut below = Vec::from(path);
                below.push(b'/');
                below.extend_from_slice(&name);
                remove_tree(&below, depth - 1);
            }
        }
    }
    let _ = syscall::remove_directory_at(HERE, path);
}

/// The names in directory `path`, without `.` and `..`.
fn list(path: &[u8]) -> Result<Vec<Vec<u8>>, Errno> {
    let fd = syscall::open(path, OpenFlags::DIRECTORY, 0)?;
    let mut names = Vec::new();
    let mut buffer = [0u8; 1024];
    let result = loop {
        match syscall::read_directory(fd, &mut buffer) {
            Ok(0) => break Ok(()),
            Ok(length) => {
                for entry in directory_entry::records(&buffer[..length]) {
                    if entry.name != b"." && entry.name != b".." {
                        names.push(Vec::from(entry.name));
                    }
                }
            }
            Err(errno) => break Err(errno),
        }
    };
    let _ = syscall::close(fd);
    result.map(|_| names)
}

/// Fails unless directory `path` lists nothing (a removed directory).
fn lists_nothing(path: &[u8]) -> Outcome {
    let names = list(path).map_err(|e| format!("listing {}: {}", text(path), e.name()))?;
    if let Some(name) = names.first() {
        let mut message = format!("{} lists {}", text(path), text(name));
        if names.iter().any(|name| name == b"secret.txt") {
            message.push_str(": another domain's new directory");
        }
        return Err(message);
    }
    Ok(())
}

/// Everything `fd` reads from its start.
fn read_from_start(fd: Fd) -> Result<Vec<u8>, Errno> {
    syscall::seek(fd, 0, seek::SET)?;
    let mut content = Vec::new();
    let mut buffer = [0u8; 256];
    loop {
        let count = syscall::read(fd, &mut buffer)?;
        if count == 0 || content.len() > 4096 {
            return Ok(content);
        }
        content.extend_from_slice(&buffer[..count]);
    }
}

/// Everything the file at `path` holds.
fn read_path(path: &[u8]) -> Result<Vec<u8>, Errno> {
    let fd = syscall::open(path, OpenFlags::empty(), 0)?;
    let content = read_from_start(fd);
    let _ = syscall::close(fd);
    content
}

fn contains_secret(bytes: &[u8]) -> bool {
    bytes.windows(SECRET.len()).any(|window| window == SECRET)
}

/// Fails unless `content`, read through `what`, is exactly `expected`;
/// says so plainly when it is the secret.
fn holds(what: &str, content: Result<Vec<u8>, Errno>, expected: &[u8]) -> Outcome {
    match content {
        Ok(content) if contains_secret(&content) => Err(format!("read the secret through {what}")),
        Ok(content) if content == expected => Ok(()),
        Ok(content) => Err(format!("{what} reads {:?}", text(&content))),
        Err(errno) => Err(format!("{what} no longer reads its file: {}", errno.name())),
    }
}

/// Creates the child's own file `path` (in its jail) and opens it.
fn own_file(path: &[u8], flags: OpenFlags) -> Result<Fd, String> {
    write_file(path, OWN).map_err(|e| format!("writing {}: {}", text(path), e.name()))?;
    syscall::open(path, flags, 0).map_err(|e| format!("opening {}: {}", text(path), e.name()))
}

// ------------------------------------------------------------- techniques

/// The child opens its own file, deletes it, and the accomplice creates
/// files holding the secret: the descriptor reads the child's own bytes.
fn stale_read_fd() -> Outcome {
    enter_jail(&[])?;
    let fd = own_file(b"/live/stale-read.txt", OpenFlags::empty())?;
    syscall::unlink_at(HERE, b"/live/stale-read.txt")
        .map_err(|e| format!("unlink: {}", e.name()))?;
    handshake();
    let result = holds("a descriptor of a deleted file", read_from_start(fd), OWN);
    finish(result)
}

/// The same, writing through the kept descriptor: the accomplice's new
/// files stay as they were (it checks), and the descriptor's own object
/// takes the write.
fn stale_write_fd() -> Outcome {
    enter_jail(&[])?;
    let fd = own_file(b"/live/stale-write.txt", OpenFlags::READ_WRITE)?;
    syscall::unlink_at(HERE, b"/live/stale-write.txt")
        .map_err(|e| format!("unlink: {}", e.name()))?;
    handshake();
    let written = syscall::seek(fd, 0, seek::SET)
        .and_then(|_| syscall::write_all(fd, GRAFFITI))
        .map_err(|e| {
            format!(
                "writing through the descriptor of a deleted file: {}",
                e.name()
            )
        });
    let mut expected = Vec::from(GRAFFITI);
    if OWN.len() > GRAFFITI.len() {
        expected.extend_from_slice(&OWN[GRAFFITI.len()..]);
    }
    let result = written.and_then(|_| {
        holds(
            "a descriptor of a deleted file, after writing",
            read_from_start(fd),
            &expected,
        )
    });
    finish(result)
}

/// A file handed in `/...`, then deleted by its owner, who creates new
/// files: `/.../handed` still reads the original (or fails), never a new
/// file.
fn removed_dots_file() -> Outcome {
    write_file(b"/escape/other/handed.txt", HANDED)
        .map_err(|e| format!("writing the handed file: {}", e.name()))?;
    enter_jail(&[put(b"/escape/other/handed.txt", b"handed", READ_ONLY)])?;
    handshake();
    let result = match read_path(b"/.../handed") {
        // Refusing is allowed: the name's file is gone.
        Err(_) => Ok(()),
        content => holds("/.../handed after its owner deleted it", content, HANDED),
    };
    finish(result)
}

/// A directory handed in `/...`, removed by its owner, who makes new
/// directories holding the secret: `/.../handed-dir` lists nothing,
/// creating in it is `ENOENT`, and nothing new is reached through it.
fn removed_dots_directory() -> Outcome {
    match syscall::make_directory_at(HERE, b"/escape/other/handed-dir", 0o755) {
        Ok(()) | Err(Errno::Exists) => {}
        Err(errno) => return Err(format!("mkdir handed-dir: {}", errno.name())),
    }
    enter_jail(&[put(b"/escape/other/handed-dir", b"handed-dir", READ_WRITE)])?;
    handshake();
    let result = removed_directory_is_empty(b"/.../handed-dir");
    finish(result)
}

/// What a removed directory `path` must look like from the child.
fn removed_directory_is_empty(path: &[u8]) -> Outcome {
    lists_nothing(path)?;
    let mut inside = Vec::from(path);
    if !inside.ends_with(b"/") {
        inside.push(b'/');
    }
    let name = |last: &[u8]| {
        let mut name = inside.clone();
        name.extend_from_slice(last);
        name
    };
    secret_through(HERE, &name(b"secret.txt"))?;
    for index in 0..PLANTED_DIRECTORIES {
        secret_through(
            HERE,
            &name(format!("planted-dir-{index}/secret.txt").as_bytes()),
        )?;
    }
    denied_with(
        "creating a file in a removed directory",
        syscall::open(
            &name(b"new.txt"),
            OpenFlags::WRITE_ONLY | OpenFlags::CREATE,
            0o644,
        ),
        Errno::NotFound,
    )?;
    denied_with(
        "mkdir in a removed directory",
        syscall::make_directory_at(HERE, &name(b"new-dir"), 0o755),
        Errno::NotFound,
    )
}

/// The jail root itself emptied and removed by its owner, who then makes
/// new directories and files: `/` lists nothing and reaches nothing new.
fn removed_root() -> Outcome {
    match syscall::make_directory_at(HERE, b"/escape/other/room", 0o755) {
        Ok(()) | Err(Errno::Exists) => {}
        Err(errno) => return Err(format!("mkdir room: {}", errno.name())),
    }
    write_file(b"/escape/other/room/furniture.txt", OWN)
        .map_err(|e| format!("furnishing the room: {}", e.name()))?;
    syscall::xchroot(&[root(b"/escape/other/room")])
        .map_err(|e| format!("xchroot to the room: {}", e.name()))?;
    handshake();
    let result = removed_directory_is_empty(b"/")
        .and_then(|_| lists_nothing(b"."))
        .and_then(|_| secret_through(HERE, b"furniture.txt"))
        .and_then(|_| every_secret_path(HERE))
        .and_then(|_| {
            for index in 0..PLANTED_FILES {
                secret_through(HERE, format!("/planted-{index}").as_bytes())?;
                secret_through(HERE, format!("../planted-{index}").as_bytes())?;
            }
            Ok(())
        });
    finish(result)
}

/// After an accomplice renames the current directory out of the jail
/// (next to the secret): relative names still resolve inside it, a new
/// file lands in it (the accomplice finds it there), `getcwd` gives the
/// old names, and `..` still climbs the way in, never to the secret.
fn renamed_cwd_relative() -> Outcome {
    enter_jail(&[])?;
    syscall::change_directory(b"sub/deeper").map_err(|e| format!("chdir: {}", e.name()))?;
    write_file(b"here.txt", OWN).map_err(|e| format!("writing here.txt: {}", e.name()))?;
    handshake();
    let result = (|| {
        holds("here.txt in the renamed cwd", read_path(b"here.txt"), OWN)?;
        holds(
            "../deeper/here.txt in the renamed cwd",
            read_path(b"../deeper/here.txt"),
            OWN,
        )?;
        write_file(b"landed.txt", LANDED)
            .map_err(|e| format!("creating a file in the renamed cwd: {}", e.name()))?;
        let mut cwd = [0u8; 64];
        let length =
            syscall::current_directory(&mut cwd).map_err(|e| format!("getcwd: {}", e.name()))?;
        if &cwd[..length] != b"/sub/deeper" {
            return Err(format!("getcwd after the rename: {}", text(&cwd[..length])));
        }
        every_secret_path(HERE)?;
        secret_through(HERE, b"../../moved/../secret.txt")?;
        // `..` twice is the jail's root, whatever the disk now says.
        holds(
            "../../inside.txt",
            read_path(b"../../inside.txt"),
            b"inside the jail\n",
        )
    })();
    finish(result)
}

/// The accomplice renames a secret file over the child's open file: the
/// descriptor still reads the old content.
fn renamed_over_open_file() -> Outcome {
    enter_jail(&[])?;
    let fd = own_file(b"/live/open.txt", OpenFlags::empty())?;
    handshake();
    let result = holds(
        "a descriptor of a file renamed over",
        read_from_start(fd),
        OWN,
    );
    finish(result)
}

/// A file with a name outside (its owner's) and one inside: after the
/// owner removes its name, the descriptor and the inside name reach the
/// same object; after the child removes the last name and the accomplice
/// creates new files, the descriptor still reads the same object.
fn hardlink_last_name() -> Outcome {
    write_file(b"/escape/other/linked.txt", OWN)
        .map_err(|e| format!("writing linked.txt: {}", e.name()))?;
    syscall::link_at(
        HERE,
        b"/escape/other/linked.txt",
        HERE,
        b"/escape/jail/live/linked.txt",
    )
    .map_err(|e| format!("link: {}", e.name()))?;
    enter_jail(&[])?;
    let fd = syscall::open(b"/live/linked.txt", OpenFlags::empty(), 0)
        .map_err(|e| format!("open: {}", e.name()))?;
    handshake();
    let result = (|| {
        holds("the descriptor, one name gone", read_from_start(fd), OWN)?;
        holds(
            "the other name, one name gone",
            read_path(b"/live/linked.txt"),
            OWN,
        )?;
        let by_fd = syscall::file_status(fd).map_err(|e| format!("fstat: {}", e.name()))?;
        let by_name = syscall::status_at(HERE, b"/live/linked.txt", 0)
            .map_err(|e| format!("stat: {}", e.name()))?;
        if by_fd.inode != by_name.inode || by_name.links != 1 {
            return Err(format!(
                "the descriptor (inode {}) and the name (inode {}, {} links) differ",
                by_fd.inode, by_name.inode, by_name.links
            ));
        }
        syscall::unlink_at(HERE, b"/live/linked.txt")
            .map_err(|e| format!("unlink the last name: {}", e.name()))?;
        handshake();
        holds("the descriptor, every name gone", read_from_start(fd), OWN)
    })();
    finish(result)
}

/// Tries to delete, replace, move and write the running program's file.
fn attack_running_program(who: &str) -> Outcome {
    let mut secret = Vec::from(SECRET);
    secret.push(b'\n');
    let decoy = b"/lab/run/decoy";
    let _ = write_file(decoy, &secret);
    let result = (|| {
        denied_with(
            &format!("{who}: unlink the running program's file"),
            syscall::unlink_at(HERE, RUN_PROGRAM),
            Errno::NotPermitted,
        )?;
        denied(
            &format!("{who}: rename a file over the running program's file"),
            syscall::rename_at(HERE, decoy, HERE, RUN_PROGRAM),
        )?;
        denied(
            &format!("{who}: rename the running program's file away"),
            syscall::rename_at(HERE, RUN_PROGRAM, HERE, b"/lab/run/moved"),
        )?;
        denied(
            &format!("{who}: open the running program's file for writing"),
            syscall::open(RUN_PROGRAM, OpenFlags::WRITE_ONLY, 0),
        )?;
        denied(
            &format!("{who}: truncate the running program's file"),
            syscall::open(RUN_PROGRAM, OpenFlags::WRITE_ONLY | OpenFlags::TRUNCATE, 0),
        )
    })();
    let _ = syscall::unlink_at(HERE, decoy);
    result
}

/// A running program's file cannot be deleted or replaced (programs are
/// immutable), by itself or by anyone else; it runs on, and its rootlink
/// still leads to its own root.
fn running_program_file() -> Outcome {
    attack_running_program("the program itself")?;
    handshake();
    let result = (|| {
        syscall::xchroot(&[operation(XchrootKind::RootExecutable, 0, -1, b"", b"")])
            .map_err(|e| format!("xchroot to the running program's rootlink: {}", e.name()))?;
        holds(
            "/marker.txt in the program's root",
            read_path(b"/marker.txt"),
            RUN_ROOT_MARKER,
        )?;
        every_secret_path(HERE)
    })();
    finish(result)
}
