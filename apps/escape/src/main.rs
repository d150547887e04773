// SPDX-License-Identifier: MIT OR Apache-2.0
//! `escape`: the escape suite. Tries every known way out of an xchroot
//! domain, each aimed at a secret that exists only outside it; each must
//! be blocked (DESIGN §4–§6).
//!
//! Run as init (`init=/bin/escape`), it builds a laboratory —
//! `/escape/secret.txt` outside, `/escape/jail/…` inside — then runs every
//! technique in a child (`escape --child NAME`) that confines itself with
//! `xchroot` and attacks; some need an accomplice outside the domain,
//! which the parent plays over pipes. Each technique prints one line,
//! `escape: NAME: blocked` or `escape: NAME: ESCAPED: what worked`; the
//! parent ends with `escape suite: N of M techniques blocked` and exits 0
//! only if all were. The directory-hardlink technique uses `/lab`, which
//! the test image builder makes (a directory hard-linked both inside and
//! outside a jail; only the installer can make one), and so does the
//! running-program technique (`/lab/run/escape`, a copy of this program
//! with a rootlink).
//!
//! The techniques against live objects — stale descriptors, removed
//! `/...` entries and roots, renamed directories, a running program's
//! file — are in `live.rs`.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use manux_runtime::abi::wait_status::WaitStatus;
use manux_runtime::abi::{FdMapping, OpenFlags, XchrootKind, XchrootOperation};
use manux_runtime::syscall::{self, Fd};
use manux_runtime::{entry, println, process, Errno};

mod live;

entry!(main);

/// What the secret file says; it must never appear in the output.
const SECRET: &[u8] = b"TOPSECRET-7f3a";
/// The lab's root outside the jail.
const LAB: &[u8] = b"/escape";
/// The jail every child confines itself to.
const JAIL: &[u8] = b"/escape/jail";
/// Exit status of a child whose technique worked.
const ESCAPED: i32 = 66;

const TECHNIQUES: [&str; 14] = [
    "closed-directory-fd",
    "kept-fd-climb",
    "renamed-cwd",
    "renamed-kept-directory",
    "hardlinked-directory",
    "dots-directory-climb",
    "symlinks",
    "dotdot-spellings",
    "reserved-names",
    "immutable",
    "read-only-dots",
    "exec-through-dots",
    "kill-non-descendant",
    "dots-sharing",
];

/// An extra technique that checks the argument checks of `xchroot` and fd
/// inheritance; kept separate so its name says what it covers.
const ARGUMENT_CHECKS: &str = "xchroot-arguments";

fn main() -> i32 {
    match process::argument(1) {
        Some("--child") => match process::argument(2) {
            Some(name) => child(name),
            None => 2,
        },
        Some("--behaviour") => match process::argument(2) {
            Some(mode) => behaviour(mode),
            None => 2,
        },
        _ => parent(),
    }
}

type Outcome = Result<(), String>;

// ---------------------------------------------------------------- helpers

fn text(bytes: &[u8]) -> &str {
    core::str::from_utf8(bytes).unwrap_or("?")
}

/// Fails the technique if `result` succeeded.
fn denied<T>(what: &str, result: Result<T, Errno>) -> Outcome {
    match result {
        Ok(_) => Err(format!("{what} succeeded")),
        Err(_) => Ok(()),
    }
}

/// Fails the technique if `result` is not exactly `expected`.
fn denied_with<T>(what: &str, result: Result<T, Errno>, expected: Errno) -> Outcome {
    match result {
        Ok(_) => Err(format!("{what} succeeded")),
        Err(errno) if errno == expected => Ok(()),
        Err(errno) => Err(format!(
            "{what}: expected {}, got {}",
            expected.name(),
            errno.name()
        )),
    }
}

/// Tries to read the secret through `path` (relative to `directory`).
fn secret_through(directory: Fd, path: &[u8]) -> Outcome {
    let Ok(fd) = syscall::open_at(directory, path, OpenFlags::empty(), 0) else {
        return Ok(());
    };
    let mut buffer = [0u8; 256];
    let count = syscall::read(fd, &mut buffer).unwrap_or(0);
    let _ = syscall::close(fd);
    if buffer[..count]
        .windows(SECRET.len())
        .any(|window| window == SECRET)
    {
        Err(format!("read the secret through {}", text(path)))
    } else {
        Ok(())
    }
}

/// The usual ways to name the secret from anywhere in a jail.
fn every_secret_path(directory: Fd) -> Outcome {
    for path in [
        &b"secret.txt"[..],
        b"../secret.txt",
        b"../../secret.txt",
        b"../../../secret.txt",
        b"../../../../../../secret.txt",
        b"/secret.txt",
        b"/escape/secret.txt",
        b"/../escape/secret.txt",
        b"../../escape/secret.txt",
        b"/.../../escape/secret.txt",
    ] {
        secret_through(directory, path)?;
    }
    Ok(())
}

fn operation(kind: XchrootKind, mode: u32, fd: Fd, path: &[u8], name: &[u8]) -> XchrootOperation {
    XchrootOperation {
        kind: kind as u32,
        mode,
        fd,
        reserved: 0,
        path: path.as_ptr() as usize as u64,
        path_length: path.len() as u64,
        name: name.as_ptr() as usize as u64,
        name_length: name.len() as u64,
    }
}

const READ_ONLY: u32 = 0;
const READ_WRITE: u32 = 1;

fn put(path: &[u8], name: &[u8], mode: u32) -> XchrootOperation {
    operation(XchrootKind::PutPath, mode, -1, path, name)
}

fn keep(fd: Fd, name: &[u8], mode: u32) -> XchrootOperation {
    operation(XchrootKind::KeepFd, mode, fd, b"", name)
}

fn root(path: &[u8]) -> XchrootOperation {
    operation(XchrootKind::RootPath, 0, -1, path, b"")
}

/// Confines the caller to the jail, with `extra` operations in the same call.
fn enter_jail(extra: &[XchrootOperation]) -> Outcome {
    let mut operations: Vec<XchrootOperation> = extra.to_vec();
    operations.push(root(JAIL));
    syscall::xchroot(&operations)
        .map_err(|errno| format!("could not enter the jail: {}", errno.name()))
}

fn open_directory(path: &[u8]) -> Result<Fd, String> {
    syscall::open(path, OpenFlags::DIRECTORY, 0)
        .map_err(|errno| format!("opening {}: {}", text(path), errno.name()))
}

fn write_file(path: &[u8], content: &[u8]) -> Result<(), Errno> {
    let fd = syscall::open(
        path,
        OpenFlags::WRITE_ONLY | OpenFlags::CREATE | OpenFlags::TRUNCATE,
        0o644,
    )?;
    let result = syscall::write_all(fd, content);
    let _ = syscall::close(fd);
    result
}

fn standard_fds() -> [FdMapping; 3] {
    [0, 1, 2].map(|fd| FdMapping {
        child: fd,
        parent: fd,
    })
}

/// Waits for a byte on `fd` (the other side's signal).
fn await_signal(fd: Fd) {
    let mut byte = [0u8; 1];
    let _ = syscall::read(fd, &mut byte);
}

fn signal(fd: Fd) {
    let _ = syscall::write(fd, b"!");
}

// ----------------------------------------------------------------- parent

/// Builds the lab: the secret outside, a jail with content, symlinks.
fn build_lab() -> Result<(), Errno> {
    for directory in [
        &b"/escape"[..],
        b"/escape/jail",
        b"/escape/jail/sub",
        b"/escape/jail/sub/deeper",
        b"/escape/jail/box",
        b"/escape/jail/box/inner",
        b"/escape/jail/drop",
        b"/escape/jail/live",
        b"/escape/other",
    ] {
        match syscall::make_directory_at(manux_runtime::abi::CURRENT_DIRECTORY, directory, 0o755) {
            Ok(()) | Err(Errno::Exists) => {}
            Err(errno) => return Err(errno),
        }
    }
    let mut secret = Vec::from(SECRET);
    secret.push(b'\n');
    write_file(b"/escape/secret.txt", &secret)?;
    write_file(b"/escape/jail/inside.txt", b"inside the jail\n")?;
    write_file(b"/escape/jail/box/file.txt", b"read-only content\n")?;
    let at = manux_runtime::abi::CURRENT_DIRECTORY;
    for (target, name) in [
        (&b"/escape/secret.txt"[..], &b"/escape/jail/absolute"[..]),
        (b"../secret.txt", b"/escape/jail/relative"),
        (b"../../../../escape/secret.txt", b"/escape/jail/sub/far"),
        (b"loop-b", b"/escape/jail/loop-a"),
        (b"loop-a", b"/escape/jail/loop-b"),
        (b"/..", b"/escape/jail/to-root-parent"),
    ] {
        match syscall::symlink_at(target, at, name) {
            Ok(()) | Err(Errno::Exists) => {}
            Err(errno) => return Err(errno),
        }
    }
    Ok(())
}

fn parent() -> i32 {
    if let Err(errno) = build_lab() {
        println!("escape: cannot build the lab: {}", errno.name());
        return 1;
    }
    // Control: outside the jail the secret is readable, so every
    // "blocked" below means something.
    if secret_through(HERE, b"/escape/secret.txt").is_ok() {
        println!("escape: control: the secret cannot be read even outside the jail; the suite would prove nothing");
        return 1;
    }
    let mut blocked = 0;
    let mut total = 0;
    for name in TECHNIQUES
        .iter()
        .chain(live::TECHNIQUES.iter())
        .copied()
        .chain([ARGUMENT_CHECKS])
    {
        total += 1;
        match run_technique(name) {
            Ok(()) => blocked += 1,
            Err(message) => println!("escape: {name}: {message}"),
        }
    }
    println!("escape suite: {blocked} of {total} techniques blocked");
    let behaviour = [
        ("seed-scenario", "seed"),
        ("persist-through-dots", "persist"),
    ];
    let mut behaving = 0;
    for (name, mode) in behaviour {
        match run_behaviour(mode) {
            Ok(()) => {
                println!("behaviour: {name}: ok");
                behaving += 1;
            }
            Err(message) => println!("behaviour: {name}: FAILED: {message}"),
        }
    }
    if blocked == total && behaving == behaviour.len() {
        0
    } else {
        1
    }
}

/// Runs a behaviour check in a child (it changes its own domain).
fn run_behaviour(mode: &str) -> Outcome {
    let arguments: [&[u8]; 3] = [b"escape", b"--behaviour", mode.as_bytes()];
    let pid = syscall::spawn(b"/bin/escape", &arguments, &[], &standard_fds())
        .map_err(|e| format!("spawn: {}", e.name()))?;
    match syscall::wait(pid) {
        Ok((_, WaitStatus::Exited(0))) => Ok(()),
        Ok((_, status)) => Err(format!("the child ended with {status:?}")),
        Err(errno) => Err(format!("wait: {}", errno.name())),
    }
}

/// The behaviour checks, run in the child.
fn behaviour(mode: &str) -> i32 {
    let outcome = match mode {
        "seed" => seed_scenario(),
        "persist" => persist_through_dots(),
        _ => Err(String::from("unknown check")),
    };
    match outcome {
        Ok(()) => 0,
        Err(message) => {
            println!("behaviour: {mode}: {message}");
            1
        }
    }
}

fn read_all(path: &[u8]) -> Result<Vec<u8>, String> {
    let fd = syscall::open(path, OpenFlags::empty(), 0)
        .map_err(|e| format!("open {}: {}", text(path), e.name()))?;
    let mut buffer = [0u8; 256];
    let count =
        syscall::read(fd, &mut buffer).map_err(|e| format!("read {}: {}", text(path), e.name()));
    let _ = syscall::close(fd);
    Ok(Vec::from(&buffer[..count?]))
}

/// The 2014 description's own example: a file put by name as
/// `/.../rocknroll/blues.dat` and read back, and a kept directory.
fn seed_scenario() -> Outcome {
    let kept = open_directory(b"/escape/jail/sub")?;
    syscall::xchroot(&[
        put(
            b"/escape/jail/inside.txt",
            b"rocknroll/blues.dat",
            READ_ONLY,
        ),
        keep(kept, b"what/ever", READ_ONLY),
        root(JAIL),
    ])
    .map_err(|e| format!("xchroot: {}", e.name()))?;
    let content = read_all(b"/.../rocknroll/blues.dat")?;
    if content != b"inside the jail\n" {
        return Err(format!(
            "/.../rocknroll/blues.dat holds {:?}",
            text(&content)
        ));
    }
    syscall::status_at(HERE, b"/.../rocknroll", 0)
        .map_err(|e| format!("stat /.../rocknroll: {}", e.name()))?;
    syscall::open_at(kept, b"deeper", OpenFlags::DIRECTORY, 0)
        .map_err(|e| format!("openat(kept, deeper): {}", e.name()))?;
    syscall::status_at(HERE, b"/.../what/ever/deeper", 0)
        .map_err(|e| format!("stat /.../what/ever/deeper: {}", e.name()))?;
    let mut cwd = [0u8; 64];
    let length =
        syscall::current_directory(&mut cwd).map_err(|e| format!("getcwd: {}", e.name()))?;
    if &cwd[..length] != b"/" {
        return Err(format!(
            "the cwd after the root change is {}",
            text(&cwd[..length])
        ));
    }
    Ok(())
}

/// A file written into a read-write directory placed in `/...` is on the
/// disk (the guest test reads `/home/user/through-dots.txt` on the host).
fn persist_through_dots() -> Outcome {
    enter_jail(&[put(b"/home/user", b"home/user", READ_WRITE)])?;
    write_file(
        b"/.../home/user/through-dots.txt",
        b"written through /...\n",
    )
    .map_err(|e| format!("write: {}", e.name()))?;
    syscall::sync().map_err(|e| format!("sync: {}", e.name()))
}

/// Spawns the child for `name`, plays the accomplice if needed, and
/// judges its status.
fn run_technique(name: &str) -> Result<(), String> {
    let needs_accomplice = matches!(
        name,
        "renamed-cwd" | "renamed-kept-directory" | "dots-sharing"
    ) || live::needs_accomplice(name);
    let mut fds: Vec<FdMapping> = standard_fds().to_vec();
    let mut channels = None;
    if needs_accomplice {
        // 3: the child writes to us; 4: the child reads from us.
        let to_parent = syscall::pipe().map_err(|e| format!("pipe: {}", e.name()))?;
        let to_child = syscall::pipe().map_err(|e| format!("pipe: {}", e.name()))?;
        fds.push(FdMapping {
            child: 3,
            parent: to_parent[1],
        });
        fds.push(FdMapping {
            child: 4,
            parent: to_child[0],
        });
        channels = Some((to_parent, to_child));
    }
    let arguments: [&[u8]; 3] = [b"escape", b"--child", name.as_bytes()];
    let program = live::program(name).unwrap_or(b"/bin/escape");
    let pid = syscall::spawn(program, &arguments, &[], &fds)
        .map_err(|e| format!("spawn {}: {}", text(program), e.name()))?;
    if let Some((to_parent, to_child)) = channels {
        let _ = syscall::close(to_parent[1]);
        let _ = syscall::close(to_child[0]);
        let accomplice = accomplice(name, to_parent[0], to_child[1]);
        let _ = syscall::close(to_parent[0]);
        let _ = syscall::close(to_child[1]);
        if let Err(message) = accomplice {
            let _ = syscall::wait(pid);
            return Err(message);
        }
    }
    match syscall::wait(pid) {
        Ok((_, WaitStatus::Exited(0))) => Ok(()),
        Ok((_, WaitStatus::Exited(66))) => Err(String::from("the child escaped")),
        Ok((_, status)) => Err(format!("the child ended with {status:?}")),
        Err(errno) => Err(format!("wait: {}", errno.name())),
    }
}

/// The accomplice's side: acts outside the domain when the child signals.
fn accomplice(name: &str, from_child: Fd, to_child: Fd) -> Result<(), String> {
    match name {
        "renamed-cwd" | "renamed-kept-directory" => {
            // The child is inside jail/sub/deeper (or holds it); move `sub`
            // out of the jail, next to the secret, then let it climb.
            await_signal(from_child);
            let at = manux_runtime::abi::CURRENT_DIRECTORY;
            let moved = syscall::rename_at(at, b"/escape/jail/sub", at, b"/escape/moved");
            signal(to_child);
            await_signal(from_child);
            if moved.is_ok() {
                let _ = syscall::rename_at(at, b"/escape/moved", at, b"/escape/jail/sub");
            }
            moved.map_err(|e| format!("accomplice could not rename: {}", e.name()))
        }
        "dots-sharing" => {
            // The child was spawned before either side changed `/...`.
            await_signal(from_child); // the child has put `child-entry`
            let parent_sees_child = syscall::status_at(
                manux_runtime::abi::CURRENT_DIRECTORY,
                b"/.../child-entry",
                0,
            );
            let own = syscall::xchroot(&[put(b"/escape/secret.txt", b"parent-entry", READ_ONLY)]);
            signal(to_child); // the child now looks for `parent-entry`
            await_signal(from_child);
            let _ =
                syscall::xchroot(&[operation(XchrootKind::Remove, 0, -1, b"", b"parent-entry")]);
            if parent_sees_child.is_ok() {
                return Err(String::from("the parent saw the child's new /... entry"));
            }
            own.map_err(|e| format!("accomplice xchroot: {}", e.name()))
        }
        _ => live::accomplice(name, from_child, to_child),
    }
}

// ------------------------------------------------------------------ child

fn child(name: &str) -> i32 {
    let outcome = match name {
        "closed-directory-fd" => closed_directory_fd(),
        "kept-fd-climb" => kept_fd_climb(),
        "renamed-cwd" => renamed_cwd(),
        "renamed-kept-directory" => renamed_kept_directory(),
        "hardlinked-directory" => hardlinked_directory(),
        "dots-directory-climb" => dots_directory_climb(),
        "symlinks" => symlinks(),
        "dotdot-spellings" => dotdot_spellings(),
        "reserved-names" => reserved_names(),
        "immutable" => immutable(),
        "read-only-dots" => read_only_dots(),
        "exec-through-dots" => exec_through_dots(),
        "kill-non-descendant" => kill_non_descendant(),
        "dots-sharing" => dots_sharing(),
        ARGUMENT_CHECKS => xchroot_arguments(),
        _ => live::child(name).unwrap_or_else(|| Err(String::from("unknown technique"))),
    };
    match outcome {
        Ok(()) => {
            println!("escape: {name}: blocked");
            0
        }
        Err(message) => {
            println!("escape: {name}: ESCAPED: {message}");
            ESCAPED
        }
    }
}

const HERE: Fd = manux_runtime::abi::CURRENT_DIRECTORY;

/// A directory fd opened before xchroot and not kept is closed by it.
fn closed_directory_fd() -> Outcome {
    let outside = open_directory(LAB)?;
    enter_jail(&[])?;
    denied_with(
        "fchdir to a directory fd opened before xchroot",
        syscall::change_directory_fd(outside),
        Errno::BadFd,
    )?;
    denied_with(
        "openat(old fd, \"..\")",
        syscall::open_at(outside, b"..", OpenFlags::DIRECTORY, 0),
        Errno::BadFd,
    )?;
    secret_through(outside, b"secret.txt")?;
    for _ in 0..8 {
        let _ = syscall::change_directory(b"..");
    }
    every_secret_path(HERE)
}

/// xchroot to a subdirectory while keeping a handle on a directory above
/// it, then climbing from the handle.
fn kept_fd_climb() -> Outcome {
    let handle = open_directory(b"/escape/jail/sub")?;
    syscall::xchroot(&[
        keep(handle, b"kept", READ_WRITE),
        root(b"/escape/jail/sub/deeper"),
    ])
    .map_err(|e| format!("xchroot: {}", e.name()))?;
    every_secret_path(handle)?;
    secret_through(handle, b"../inside.txt")?;
    denied(
        "reading jail/inside.txt from below the new root",
        syscall::open_at(handle, b"../inside.txt", OpenFlags::empty(), 0),
    )?;
    syscall::change_directory_fd(handle).map_err(|e| format!("fchdir(kept): {}", e.name()))?;
    for _ in 0..8 {
        let _ = syscall::change_directory(b"..");
        every_secret_path(HERE)?;
    }
    Ok(())
}

/// An accomplice renames the confined process's cwd out of the domain
/// while it climbs with `..`.
fn renamed_cwd() -> Outcome {
    enter_jail(&[])?;
    syscall::change_directory(b"sub/deeper").map_err(|e| format!("chdir: {}", e.name()))?;
    signal(3);
    await_signal(4);
    let mut result = Ok(());
    for _ in 0..8 {
        let _ = syscall::change_directory(b"..");
        if let Err(message) = every_secret_path(HERE) {
            result = Err(message);
            break;
        }
    }
    signal(3);
    result
}

/// The same with a kept directory fd instead of the cwd.
fn renamed_kept_directory() -> Outcome {
    let handle = open_directory(b"/escape/jail/sub/deeper")?;
    enter_jail(&[keep(handle, b"deep", READ_ONLY)])?;
    signal(3);
    await_signal(4);
    let mut result = every_secret_path(handle);
    if result.is_ok() {
        result = secret_through(handle, b"../../../secret.txt")
            .and_then(|_| secret_through(handle, b"../../../../moved/../secret.txt"));
    }
    signal(3);
    result
}

/// `..` from a directory hard-linked inside and outside the jail follows
/// the way in, not the on-disk `..` (the image's `/lab` fixture).
fn hardlinked_directory() -> Outcome {
    syscall::xchroot(&[root(b"/lab/jail")])
        .map_err(|e| format!("xchroot to /lab/jail: {}", e.name()))?;
    for path in [
        &b"shared/../secret.txt"[..],
        b"shared/../../secret.txt",
        b"shared/../../lab/secret.txt",
    ] {
        secret_through(HERE, path)?;
    }
    syscall::change_directory(b"shared").map_err(|e| format!("chdir shared: {}", e.name()))?;
    for _ in 0..4 {
        let _ = syscall::change_directory(b"..");
        secret_through(HERE, b"secret.txt")?;
        secret_through(HERE, b"lab/secret.txt")?;
    }
    Ok(())
}

/// `..` from a directory placed in `/...` returns into `/...`, then to the
/// root — never to the directory's real parent.
fn dots_directory_climb() -> Outcome {
    enter_jail(&[put(b"/escape/jail/sub/deeper", b"deep", READ_WRITE)])?;
    for path in [
        &b"/.../deep/../secret.txt"[..],
        b"/.../deep/../../secret.txt",
        b"/.../deep/../../../../secret.txt",
        b"/.../deep/../../escape/secret.txt",
    ] {
        secret_through(HERE, path)?;
    }
    syscall::change_directory(b"/.../deep")
        .map_err(|e| format!("chdir /.../deep: {}", e.name()))?;
    for _ in 0..5 {
        let _ = syscall::change_directory(b"..");
        every_secret_path(HERE)?;
    }
    Ok(())
}

/// Symbolic links resolve inside the view: absolute targets from the
/// jail's root, `../` chains clamped, loops refused.
fn symlinks() -> Outcome {
    enter_jail(&[])?;
    for path in [
        &b"absolute"[..],
        b"relative",
        b"sub/far",
        b"to-root-parent/escape/secret.txt",
    ] {
        secret_through(HERE, path)?;
    }
    denied_with(
        "opening a symlink loop",
        syscall::open(b"loop-a", OpenFlags::empty(), 0),
        Errno::Loop,
    )?;
    Ok(())
}

/// Every spelling of "the parent of the root".
fn dotdot_spellings() -> Outcome {
    enter_jail(&[])?;
    for path in [
        &b"/../secret.txt"[..],
        b"//../secret.txt",
        b"/../../escape/secret.txt",
        b"/.../../secret.txt",
        b"/.../../escape/secret.txt",
        b"sub/../../secret.txt",
        b"sub/../../../escape/secret.txt",
        b"./../.././secret.txt",
        b"sub/deeper/../../../../escape/secret.txt",
    ] {
        secret_through(HERE, path)?;
    }
    let mut cwd = [0u8; 64];
    let _ = syscall::change_directory(b"/..");
    let length = syscall::current_directory(&mut cwd).unwrap_or(0);
    if &cwd[..length] != b"/" {
        return Err(format!("cd /.. led to {}", text(&cwd[..length])));
    }
    Ok(())
}

/// Dot-only names cannot be created, linked, renamed to, or used in `/...`.
fn reserved_names() -> Outcome {
    enter_jail(&[])?;
    let create = OpenFlags::WRITE_ONLY | OpenFlags::CREATE;
    for name in [&b"..."[..], b"....", b"drop/....."] {
        denied(
            "mkdir of a dot-only name",
            syscall::make_directory_at(HERE, name, 0o755),
        )?;
        denied(
            "create of a dot-only name",
            syscall::open(name, create, 0o644),
        )?;
        denied(
            "link to a dot-only name",
            syscall::link_at(HERE, b"inside.txt", HERE, name),
        )?;
        denied(
            "rename to a dot-only name",
            syscall::rename_at(HERE, b"inside.txt", HERE, name),
        )?;
        denied(
            "symlink named with dots only",
            syscall::symlink_at(b"inside.txt", HERE, name),
        )?;
    }
    for name in [
        &b"..."[..],
        b"....",
        b"a/...",
        b"../x",
        b"",
        b".",
        b"..",
        b"x/../y",
    ] {
        denied_with(
            "a /... name that is not a name",
            syscall::xchroot(&[put(b"/inside.txt", name, READ_ONLY)]),
            Errno::InvalidArgument,
        )?;
    }
    // `...` at the root is always `/...`, never a directory on disk.
    denied(
        "creating a file inside /... itself",
        syscall::open(b"/.../file", create, 0o644),
    )?;
    Ok(())
}

/// Immutable files and directories (a program's own root, a shared
/// launcher: here `/bin` and `/bin/hello`) cannot be changed in any way.
fn immutable() -> Outcome {
    let write = OpenFlags::WRITE_ONLY;
    denied_with(
        "open /bin/hello for writing",
        syscall::open(b"/bin/hello", write, 0),
        Errno::NotPermitted,
    )?;
    denied(
        "truncate /bin/hello",
        syscall::open(b"/bin/hello", write | OpenFlags::TRUNCATE, 0),
    )?;
    denied(
        "rename /bin/hello",
        syscall::rename_at(HERE, b"/bin/hello", HERE, b"/escape/hello"),
    )?;
    denied("unlink /bin/hello", syscall::unlink_at(HERE, b"/bin/hello"))?;
    denied(
        "link /bin/hello elsewhere",
        syscall::link_at(HERE, b"/bin/hello", HERE, b"/escape/hello-link"),
    )?;
    denied(
        "chmod /bin/hello",
        syscall::change_mode_at(HERE, b"/bin/hello", 0o777),
    )?;
    denied(
        "touch /bin/hello",
        syscall::set_times_at(
            HERE,
            b"/bin/hello",
            manux_runtime::abi::TIME_NOW,
            manux_runtime::abi::TIME_NOW,
        ),
    )?;
    denied(
        "create in /bin",
        syscall::open(b"/bin/dropped", write | OpenFlags::CREATE, 0o755),
    )?;
    denied(
        "mkdir in /bin",
        syscall::make_directory_at(HERE, b"/bin/dir", 0o755),
    )?;
    denied(
        "symlink in /bin",
        syscall::symlink_at(b"/escape/secret.txt", HERE, b"/bin/link"),
    )?;
    denied(
        "rename into /bin",
        syscall::rename_at(HERE, b"/escape/jail/inside.txt", HERE, b"/bin/inside"),
    )?;
    denied(
        "link into /bin",
        syscall::link_at(HERE, b"/escape/jail/inside.txt", HERE, b"/bin/inside"),
    )?;
    denied("rmdir /bin", syscall::remove_directory_at(HERE, b"/bin"))?;
    Ok(())
}

/// A read-only `/...` entry protects everything reached through it.
fn read_only_dots() -> Outcome {
    enter_jail(&[put(b"/escape/jail/box", b"box", READ_ONLY)])?;
    let create = OpenFlags::WRITE_ONLY | OpenFlags::CREATE;
    denied_with(
        "write box/file.txt",
        syscall::open(b"/.../box/file.txt", OpenFlags::WRITE_ONLY, 0),
        Errno::AccessDenied,
    )?;
    denied(
        "truncate box/file.txt",
        syscall::open(
            b"/.../box/file.txt",
            OpenFlags::WRITE_ONLY | OpenFlags::TRUNCATE,
            0,
        ),
    )?;
    denied(
        "create in box",
        syscall::open(b"/.../box/new.txt", create, 0o644),
    )?;
    denied(
        "create in box/inner",
        syscall::open(b"/.../box/inner/new.txt", create, 0o644),
    )?;
    denied(
        "mkdir in box",
        syscall::make_directory_at(HERE, b"/.../box/dir", 0o755),
    )?;
    denied(
        "unlink in box",
        syscall::unlink_at(HERE, b"/.../box/file.txt"),
    )?;
    denied(
        "rename out of box",
        syscall::rename_at(HERE, b"/.../box/file.txt", HERE, b"/stolen.txt"),
    )?;
    denied(
        "link out of box into a writable place",
        syscall::link_at(HERE, b"/.../box/file.txt", HERE, b"/linked.txt"),
    )?;
    denied(
        "chmod in box",
        syscall::change_mode_at(HERE, b"/.../box/file.txt", 0o777),
    )?;
    denied(
        "re-putting box read-write",
        syscall::xchroot(&[put(b"/.../box", b"box-rw", READ_WRITE)]),
    )?;
    let inner = open_directory(b"/.../box/inner")?;
    denied(
        "create through a directory fd reached via box",
        syscall::open_at(inner, b"x", create, 0o644),
    )?;
    denied(
        "keeping that fd read-write",
        syscall::xchroot(&[keep(inner, b"inner-rw", READ_WRITE)]),
    )?;
    denied(
        "writing the virtual /... directory",
        syscall::make_directory_at(HERE, b"/.../newdir", 0o755),
    )?;
    // Reading still works: the mode limits changes, not access.
    syscall::open(b"/.../box/file.txt", OpenFlags::empty(), 0)
        .map(drop)
        .map_err(|e| format!("reading box/file.txt should work: {}", e.name()))
}

/// Programs reached through `/...` never run: neither a dropped binary
/// nor a real program handed in.
fn exec_through_dots() -> Outcome {
    let standard = standard_fds();
    enter_jail(&[
        put(b"/bin/hello", b"hello", READ_ONLY),
        put(b"/escape/jail/drop", b"drop", READ_WRITE),
    ])?;
    denied_with(
        "spawn /.../hello",
        syscall::spawn(b"/.../hello", &[b"hello"], &[], &standard),
        Errno::AccessDenied,
    )?;
    // Drop a copy of a program into the writable directory and try it.
    let copy = write_file(b"/.../drop/hello", b"\x7fELF dropped");
    if copy.is_ok() {
        denied(
            "spawn a dropped file",
            syscall::spawn(b"/.../drop/hello", &[b"hello"], &[], &standard),
        )?;
        denied(
            "spawn a dropped file by its path in the root",
            syscall::spawn(b"/drop/hello", &[b"hello"], &[], &standard),
        )?;
    }
    let error = syscall::execute(b"/.../hello", &[b"hello"], &[]);
    if error != Errno::AccessDenied {
        return Err(format!(
            "execve /.../hello: expected EACCES, got {}",
            error.name()
        ));
    }
    Ok(())
}

/// `kill` reaches only descendants.
fn kill_non_descendant() -> Outcome {
    enter_jail(&[])?;
    denied_with("kill init", syscall::kill(1), Errno::NoSuchProcess)?;
    denied_with(
        "kill itself",
        syscall::kill(syscall::process_id()),
        Errno::NoSuchProcess,
    )?;
    for pid in 2..64 {
        if pid != syscall::process_id() {
            denied(
                "kill a process that is not a descendant",
                syscall::kill(pid),
            )?;
        }
    }
    Ok(())
}

/// A parent and a child that shared `/...` diverge at either's xchroot.
fn dots_sharing() -> Outcome {
    syscall::xchroot(&[put(b"/escape/jail/inside.txt", b"child-entry", READ_ONLY)])
        .map_err(|e| format!("xchroot: {}", e.name()))?;
    signal(3);
    await_signal(4);
    let seen = syscall::status_at(HERE, b"/.../parent-entry", 0);
    signal(3);
    if seen.is_ok() {
        return Err(String::from("the child saw the parent's new /... entry"));
    }
    Ok(())
}

/// `xchroot`'s own checks, and fd inheritance after it.
fn xchroot_arguments() -> Outcome {
    let file = syscall::open(b"/escape/jail/inside.txt", OpenFlags::empty(), 0)
        .map_err(|e| format!("open: {}", e.name()))?;
    denied_with(
        "keep of a non-directory fd",
        syscall::xchroot(&[keep(file, b"file", READ_ONLY)]),
        Errno::NotADirectory,
    )?;
    denied_with(
        "put of a missing path",
        syscall::xchroot(&[put(b"/nonexistent", b"x", READ_ONLY)]),
        Errno::NotFound,
    )?;
    denied(
        "put through the parent of the root",
        syscall::xchroot(&[put(b"/../../../escape/nothing", b"x", READ_ONLY)]),
    )?;
    // A failed batch changes nothing: the first (valid) put must not stay.
    denied(
        "a batch with a bad operation",
        syscall::xchroot(&[
            put(b"/escape/jail", b"half", READ_ONLY),
            put(b"/nonexistent", b"y", READ_ONLY),
        ]),
    )?;
    denied_with(
        "the valid half of a failed batch",
        syscall::status_at(HERE, b"/.../half", 0),
        Errno::NotFound,
    )?;
    // A directory fd closed by a root change cannot be handed to a child.
    let directory = open_directory(LAB)?;
    enter_jail(&[])?;
    let mut fds: Vec<FdMapping> = standard_fds().to_vec();
    fds.push(FdMapping {
        child: 3,
        parent: directory,
    });
    denied_with(
        "spawn with a directory fd closed by xchroot",
        syscall::spawn(b"/bin/hello", &[b"hello"], &[], &fds),
        Errno::BadFd,
    )?;
    every_secret_path(HERE)
}
