// SPDX-License-Identifier: MIT OR Apache-2.0
//! `hog`: shows that one process tree taking everything it may starves no
//! other. Run as init (`init=/bin/hog`); it plays the roles of a login
//! shell and its commands, each a mode of this program:
//!
//! - `hog` (as init) starts `hog shell`, a program init starts, which
//!   heads a privileged tree — as the login shell does — and exits with
//!   its status;
//! - `hog shell` starts `hog storm` (a tree of its own), lets it fill its
//!   tree, then starts `hog bystander` (another tree) and `hog greedy`
//!   (a third, with small limits set by `set_tree_limits`), and checks
//!   that each reports success; it prints `hog: every tree kept running`;
//! - `hog storm` spawns `hog hold` children until a spawn is refused and
//!   reports how (`EAGAIN` expected), then waits for them;
//! - `hog hold` opens pipes and fills its `/...` until refused, holds
//!   what it got for a while, and exits;
//! - `hog bystander` writes and checks 512 KiB of its heap and runs
//!   `/bin/hello`;
//! - `hog greedy` spawns and opens pipes until its small tree is full:
//!   spawns end in `EAGAIN`, pipes in `ENOMEM`.
//!
//! `init=/bin/hog inodes` runs the same kind of play for live objects
//! (in-use inodes), which every tree pays for:
//!
//! - `hog inodes-shell` (the privileged tree) starts `hog inodes-hold`,
//!   waits until it says it is full, runs `hog inodes-bystander` while it
//!   holds everything, lets it go, runs the bystander again, and prints
//!   `hog: every tree kept its inodes`;
//! - `hog inodes-hold` (a tree of its own, the default share) makes a
//!   chain of directories and keeps walking into it, its current
//!   directory holding every step, until refused (`ENOMEM` expected, not
//!   the table's `ENFILE`), says so, and holds the chain until told;
//! - `hog inodes-bystander` makes, writes, opens and reads back files of
//!   its own, lists `/bin`, and runs `/bin/hello`.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::vec::Vec;
use manux_runtime::abi::wait_status::WaitStatus;
use manux_runtime::abi::{
    AccessMode, Errno, FdMapping, LimitValue, OpenFlags, XchrootKind, XchrootOperation,
    CURRENT_DIRECTORY,
};
use manux_runtime::{entry, eprintln, println, process, syscall};

entry!(main);

const FDS: [FdMapping; 3] = [
    FdMapping {
        child: 0,
        parent: 0,
    },
    FdMapping {
        child: 1,
        parent: 1,
    },
    FdMapping {
        child: 2,
        parent: 2,
    },
];

/// How long `hold` children keep what they took.
const HOLD: core::time::Duration = core::time::Duration::from_secs(3);

fn main() -> i32 {
    match process::argument(1) {
        None => run(b"shell"),
        Some("shell") => shell(),
        Some("storm") => storm(),
        Some("hold") => hold(),
        Some("bystander") => bystander(),
        Some("greedy") => greedy(),
        Some("inodes") => run(b"inodes-shell"),
        Some("inodes-shell") => inodes_shell(),
        Some("inodes-hold") => inodes_hold(),
        Some("inodes-bystander") => inodes_bystander(),
        Some(other) => {
            eprintln!("hog: unknown mode {other}");
            2
        }
    }
}

fn start(mode: &[u8]) -> Result<syscall::ProcessId, Errno> {
    syscall::spawn(b"/bin/hog", &[b"hog", mode], &[], &FDS)
}

/// Starts `hog MODE` and returns its exit status (1 if it was killed).
fn run(mode: &[u8]) -> i32 {
    match start(mode).and_then(syscall::wait) {
        Ok((_, WaitStatus::Exited(code))) => i32::from(code),
        Ok((_, status)) => {
            eprintln!(
                "hog: {} ended: {status:?}",
                core::str::from_utf8(mode).unwrap_or("?")
            );
            1
        }
        Err(errno) => {
            eprintln!(
                "hog: cannot run {}: {errno}",
                core::str::from_utf8(mode).unwrap_or("?")
            );
            1
        }
    }
}

fn print_limits(who: &str) {
    match syscall::limits() {
        Ok(limits) => println!(
            "{who}: memory {} of {} KiB, processes {} of {}, open files {}",
            limits.memory_used >> 10,
            LimitValue(limits.memory, 10),
            limits.processes_used,
            LimitValue(limits.processes, 0),
            limits.open_files
        ),
        Err(errno) => eprintln!("{who}: get_limits: {errno}"),
    }
}

fn shell() -> i32 {
    print_limits("shell");
    let storm = match start(b"storm") {
        Ok(pid) => pid,
        Err(errno) => {
            eprintln!("hog: cannot start storm: {errno}");
            return 1;
        }
    };
    // Let the storm fill its tree.
    let _ = syscall::sleep(core::time::Duration::from_millis(1500));
    let bystander = run(b"bystander");
    // A small tree: its spawns and pipes must be refused, not the shell's.
    if let Err(errno) = syscall::set_tree_limits(3 << 20, 3) {
        eprintln!("hog: set_tree_limits: {errno}");
        return 1;
    }
    let greedy = run(b"greedy");
    let _ = syscall::set_tree_limits(0, 0);
    let storm = match syscall::wait(storm) {
        Ok((_, WaitStatus::Exited(code))) => i32::from(code),
        other => {
            eprintln!("hog: storm ended: {other:?}");
            1
        }
    };
    // The shell can still start a command once the trees are gone.
    let after = run(b"bystander");
    if (bystander, greedy, storm, after) == (0, 0, 0, 0) {
        println!("hog: every tree kept running");
        0
    } else {
        eprintln!("hog: bystander {bystander}, greedy {greedy}, storm {storm}, after {after}");
        1
    }
}

fn storm() -> i32 {
    let mut children = Vec::new();
    let refusal = loop {
        match start(b"hold") {
            Ok(pid) => children.push(pid),
            Err(errno) => break errno,
        }
        if children.len() > 1000 {
            eprintln!("storm: 1000 children and no refusal");
            return 1;
        }
    };
    print_limits("storm");
    println!(
        "storm: {} children, then {}",
        children.len(),
        refusal.name()
    );
    let mut failed = 0;
    for child in children {
        if !matches!(syscall::wait(child), Ok((_, WaitStatus::Exited(0)))) {
            failed += 1;
        }
    }
    if refusal == Errno::TryAgain && failed == 0 {
        0
    } else {
        eprintln!(
            "storm: refused with {}, {failed} children failed",
            refusal.name()
        );
        1
    }
}

/// Takes pipes until refused; returns how many and the refusal.
fn take_pipes() -> (usize, Errno) {
    let mut count = 0;
    loop {
        match syscall::pipe() {
            Ok(_) => count += 1,
            Err(errno) => return (count, errno),
        }
    }
}

/// Fills this process's `/...` with long names until refused.
fn fill_dots() -> usize {
    let mut count = 0;
    let mut name = [b'n'; 200];
    while count < 1000 {
        let digits = [
            b'0' + (count / 100 % 10) as u8,
            b'0' + (count / 10 % 10) as u8,
            b'0' + (count % 10) as u8,
        ];
        name[..3].copy_from_slice(&digits);
        let put = XchrootOperation {
            kind: XchrootKind::PutPath as u32,
            mode: AccessMode::ReadOnly as u32,
            path: b"/".as_ptr() as usize as u64,
            path_length: 1,
            name: name.as_ptr() as usize as u64,
            name_length: name.len() as u64,
            ..XchrootOperation::default()
        };
        if syscall::xchroot(&[put]).is_err() {
            break;
        }
        count += 1;
    }
    count
}

fn hold() -> i32 {
    let _ = take_pipes();
    let _ = fill_dots();
    let _ = syscall::sleep(HOLD);
    0
}

fn bystander() -> i32 {
    let mut memory: Vec<u8> = Vec::new();
    if memory.try_reserve_exact(512 << 10).is_err() {
        eprintln!("bystander: no heap");
        return 1;
    }
    memory.extend((0..512usize << 10).map(|index| index as u8));
    if !memory
        .iter()
        .enumerate()
        .all(|(index, &byte)| byte == index as u8)
    {
        eprintln!("bystander: memory changed");
        return 1;
    }
    match syscall::spawn(b"/bin/hello", &[b"hello"], &[], &FDS).and_then(syscall::wait) {
        Ok((_, WaitStatus::Exited(0))) => {
            println!("bystander: ok");
            0
        }
        other => {
            eprintln!("bystander: hello: {other:?}");
            1
        }
    }
}

fn greedy() -> i32 {
    print_limits("greedy");
    let mut children = Vec::new();
    let spawn_refusal = loop {
        match syscall::spawn(b"/bin/hello", &[b"hello"], &[], &[]) {
            Ok(pid) => children.push(pid),
            Err(errno) => break errno,
        }
    };
    let (pipes, pipe_refusal) = take_pipes();
    print_limits("greedy");
    println!(
        "greedy: {} children, then {}; {pipes} pipes, then {}",
        children.len(),
        spawn_refusal.name(),
        pipe_refusal.name()
    );
    for child in children {
        let _ = syscall::wait(child);
    }
    if spawn_refusal == Errno::TryAgain && pipe_refusal == Errno::OutOfMemory {
        0
    } else {
        1
    }
}

/// Where `inodes-hold` makes its chain.
const CHAIN: &[u8] = b"/hog-inodes";
/// Steps `inodes-hold` takes at most (well past any tree's share).
const MOST_STEPS: usize = 100_000;
/// The fds of `inodes-hold` for "full" (written) and "let go" (read).
const FULL_FD: i32 = 3;
const LET_GO_FD: i32 = 4;

fn inodes_shell() -> i32 {
    print_limits("shell");
    let (Ok([full_read, full_write]), Ok([let_go_read, let_go_write])) =
        (syscall::pipe(), syscall::pipe())
    else {
        eprintln!("hog: no pipes");
        return 1;
    };
    let fds = [
        FDS[0],
        FDS[1],
        FDS[2],
        FdMapping {
            child: FULL_FD,
            parent: full_write,
        },
        FdMapping {
            child: LET_GO_FD,
            parent: let_go_read,
        },
    ];
    let holder = match syscall::spawn(b"/bin/hog", &[b"hog", b"inodes-hold"], &[], &fds) {
        Ok(pid) => pid,
        Err(errno) => {
            eprintln!("hog: cannot start inodes-hold: {errno}");
            return 1;
        }
    };
    let _ = (syscall::close(full_write), syscall::close(let_go_read));
    // The holder writes one byte once it is full (none if it failed).
    let mut byte = [0u8];
    let full = matches!(syscall::read(full_read, &mut byte), Ok(1));
    let bystander = if full { run(b"inodes-bystander") } else { 1 };
    let _ = syscall::close(let_go_write);
    let holder = match syscall::wait(holder) {
        Ok((_, WaitStatus::Exited(code))) => i32::from(code),
        other => {
            eprintln!("hog: inodes-hold ended: {other:?}");
            1
        }
    };
    let after = run(b"inodes-bystander");
    if (full, bystander, holder, after) == (true, 0, 0, 0) {
        println!("hog: every tree kept its inodes");
        0
    } else {
        eprintln!("hog: full {full}, bystander {bystander}, holder {holder}, after {after}");
        1
    }
}

fn inodes_hold() -> i32 {
    print_limits("inodes-hold");
    match syscall::make_directory_at(CURRENT_DIRECTORY, CHAIN, 0o755) {
        Ok(()) | Err(Errno::Exists) => {}
        Err(errno) => {
            eprintln!("inodes-hold: mkdir: {errno}");
            return 1;
        }
    }
    if let Err(errno) = syscall::change_directory(CHAIN) {
        eprintln!("inodes-hold: chdir: {errno}");
        return 1;
    }
    // Each step is a new directory, held by the current directory's chain
    // for as long as the process stays below it.
    let mut steps = 0;
    let refusal = loop {
        if steps == MOST_STEPS {
            eprintln!("inodes-hold: {MOST_STEPS} directories held and no refusal");
            return 1;
        }
        if let Err(errno) = syscall::make_directory_at(CURRENT_DIRECTORY, b"d", 0o755) {
            break errno;
        }
        if let Err(errno) = syscall::change_directory(b"d") {
            break errno;
        }
        steps += 1;
    };
    print_limits("inodes-hold");
    println!(
        "inodes-hold: {steps} directories held, then {}",
        refusal.name()
    );
    let _ = syscall::write(FULL_FD, b"!");
    // Hold everything until the shell lets go (closes its end).
    let mut byte = [0u8];
    let _ = syscall::read(LET_GO_FD, &mut byte);
    if refusal == Errno::OutOfMemory {
        0
    } else {
        1
    }
}

fn inodes_bystander() -> i32 {
    match inodes_bystander_steps() {
        Ok(()) => {
            println!("inodes-bystander: ok");
            0
        }
        Err((what, errno)) => {
            eprintln!("inodes-bystander: {what}: {errno}");
            1
        }
    }
}

fn inodes_bystander_steps() -> Result<(), (&'static str, Errno)> {
    let pid = syscall::process_id();
    let mut names = Vec::new();
    for index in 0..8u8 {
        let mut name = Vec::from(b"/bystander-".as_slice());
        name.extend_from_slice(alloc::format!("{pid}-{index}").as_bytes());
        names.push(name);
    }
    let create = OpenFlags::READ_WRITE | OpenFlags::CREATE | OpenFlags::TRUNCATE;
    let mut open = Vec::new();
    for name in &names {
        let fd = syscall::open(name, create, 0o644).map_err(|errno| ("create", errno))?;
        syscall::write_all(fd, name).map_err(|errno| ("write", errno))?;
        open.push(fd);
    }
    for (name, fd) in names.iter().zip(open) {
        syscall::close(fd).map_err(|errno| ("close", errno))?;
        let fd = syscall::open(name, OpenFlags::empty(), 0).map_err(|errno| ("open", errno))?;
        let mut back = [0u8; 64];
        let count = syscall::read(fd, &mut back).map_err(|errno| ("read", errno))?;
        if back[..count] != name[..] {
            return Err(("read back", Errno::InputOutput));
        }
        syscall::close(fd).map_err(|errno| ("close", errno))?;
        syscall::unlink_at(CURRENT_DIRECTORY, name).map_err(|errno| ("unlink", errno))?;
    }
    let bin =
        syscall::open(b"/bin", OpenFlags::DIRECTORY, 0).map_err(|errno| ("open /bin", errno))?;
    let mut entries = [0u8; 4096];
    syscall::read_directory(bin, &mut entries).map_err(|errno| ("list /bin", errno))?;
    let _ = syscall::close(bin);
    match syscall::spawn(b"/bin/hello", &[b"hello"], &[], &FDS).and_then(syscall::wait) {
        Ok((_, WaitStatus::Exited(0))) => Ok(()),
        Ok(_) => Err(("hello", Errno::InputOutput)),
        Err(errno) => Err(("hello", errno)),
    }
}
