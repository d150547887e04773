// SPDX-License-Identifier: MIT OR Apache-2.0
//! `init`: the first process. Sets up the login session of the default
//! user, keeps a login shell running, and powers the machine off when the
//! shell asks (DESIGN §5, §6; `manux_abi::session`).
//!
//! 1. The home directory, `/home/USER` for `manux_abi::session::DEFAULT_USER`,
//!    is created if the image lacks it.
//! 2. One `xchroot()` puts it into init's own `/...` as `home/USER`,
//!    read-write. A child starts with its parent's `/...` view, so every
//!    login shell sees `/.../home/USER` without doing anything.
//! 3. init changes into `/.../home/USER` (a child starts in its parent's
//!    current directory) and spawns `/bin/sh` with descriptors 0, 1 and 2
//!    (the console, as the kernel gave them to init) and the environment
//!    `HOME=/.../home/USER`, `PATH=/bin`, `USER=USER`.
//! 4. It waits, reaping every child (orphans are re-parented to init).
//!    When the shell exits with `POWER_OFF_REQUEST` (its `poweroff`
//!    builtin), init syncs and calls `poweroff(0)`, which only init may.
//!    When it ends any other way, init says so in one line and starts a
//!    new one.
//! 5. **Backing off.** A shell *fails at start* when it is killed, or
//!    exits with a non-zero status, less than the start window (1 s)
//!    after it was started. After each failure in a row init waits
//!    before the next start, twice as long each time — 1 s, 2 s, 4 s,
//!    8 s, at most 60 s — so a damaged shell does not flood the console;
//!    after 5 in a row it prints one line naming the shell, how it last
//!    ended and how many times
//!    (`init: login shell /bin/sh failed at start 5 times in a row (last:
//!    killed by the kernel: memory fault); powering off`) and ends with
//!    status 1, which powers the machine off with that status. A shell
//!    that exits with status 0 (Ctrl-D, `exit 0`) never counts, and
//!    neither does one that lived longer than the start window: either
//!    resets the count. A quick status-0 exit is still followed by one
//!    base delay's pause.
//!
//! Arguments (`init=/bin/init ARGUMENTS…` on the kernel command line; the
//! guest tests use them to keep the delays short):
//!
//! ```text
//! init [--failures N] [--delay MILLISECONDS] [--start-window MILLISECONDS]
//!      [--shell PROGRAM [ARGUMENT…]]
//! ```
//!
//! `--failures` (default 5, at least 1) is how many failures in a row end
//! the session; `--delay` (default 1000) the first pause; `--start-window`
//! (default 1000) the window. `--shell` replaces `/bin/sh` with PROGRAM,
//! run with `argv[0]` its last component and the ARGUMENTs after it.
//! Anything else is a usage error: init prints its usage and ends with
//! status 2.
//!
//! init never reads the console: the kernel makes the first process that
//! reads it the session leader, whose descendants Ctrl-C interrupts, and
//! that must be the login shell.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;
// On the host, std supplies the panic handler and the allocator the
// runtime supplies on Manux, so `cargo clippy -p NAME` can check this
// program (it is never linked there).
#[cfg(not(target_os = "none"))]
extern crate std;

mod restart;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::time::Duration;
use manux_runtime::abi::session::{DEFAULT_USER, POWER_OFF_REQUEST};
use manux_runtime::abi::wait_status::WaitStatus;
use manux_runtime::abi::{
    clock, AccessMode, FdMapping, XchrootKind, XchrootOperation, CURRENT_DIRECTORY,
};
use manux_runtime::{entry, eprintln, println, process, syscall, Errno};
use restart::{Outcome, Policy, Restarts};

entry!(main);

/// The login shell.
const SHELL: &[u8] = b"/bin/sh";

/// The status init ends with when the login shell keeps failing at start.
const SHELL_FAILED: i32 = 1;

/// The status init ends with when its arguments make no sense.
const USAGE_ERROR: i32 = 2;

/// What the arguments chose: the restart policy and the shell to run.
struct Settings {
    policy: Policy,
    /// The shell's program.
    program: &'static [u8],
    /// Its `argv`: the program's last component, then the `--shell`
    /// arguments.
    arguments: Vec<&'static [u8]>,
}

fn main() -> i32 {
    let Some(settings) = parse_arguments(process::arguments().get(1..).unwrap_or(&[])) else {
        eprintln!(
            "usage: init [--failures N] [--delay MILLISECONDS] \
             [--start-window MILLISECONDS] [--shell PROGRAM [ARGUMENT...]]"
        );
        return USAGE_ERROR;
    };
    let program = String::from_utf8_lossy(settings.program);
    let home = format!("/home/{DEFAULT_USER}");
    let name = format!("home/{DEFAULT_USER}");
    ensure_directory(b"/home");
    ensure_directory(home.as_bytes());
    let shell_home = match put_home(&home, &name) {
        Ok(()) => format!("/.../{name}"),
        Err(errno) => {
            // Without the `/...` entry the session still works, in the
            // plain path: better a shell than none.
            eprintln!("init: cannot put {home} at /.../{name}: {errno}");
            home
        }
    };
    if let Err(errno) = syscall::change_directory(shell_home.as_bytes()) {
        eprintln!("init: cannot change into {shell_home}: {errno}");
    }
    let environment = [
        format!("HOME={shell_home}"),
        String::from("PATH=/bin"),
        format!("USER={DEFAULT_USER}"),
    ];
    let environment: [&[u8]; 3] = environment.each_ref().map(|text| text.as_bytes());
    let fds = [0, 1, 2].map(|fd| FdMapping {
        child: fd,
        parent: fd,
    });
    let mut restarts = Restarts::new(settings.policy);
    loop {
        let started = now();
        let shell = match syscall::spawn(settings.program, &settings.arguments, &environment, &fds)
        {
            Ok(pid) => pid,
            Err(errno) => {
                eprintln!("init: cannot start {program}: {errno}");
                // Ending init powers the machine off (the kernel syncs).
                return SHELL_FAILED;
            }
        };
        let status = wait_for(shell);
        if status == WaitStatus::Exited(POWER_OFF_REQUEST) {
            let _ = syscall::sync();
            let errno = syscall::power_off(0);
            eprintln!("init: poweroff: {errno}");
            return 1;
        }
        let lived = now().saturating_sub(started);
        match restarts.record(status, lived) {
            Outcome::Restart { pause } => {
                println!(
                    "init: login shell ended ({}); starting a new one",
                    describe(status)
                );
                if let Some(pause) = pause {
                    let _ = syscall::sleep(pause);
                }
            }
            Outcome::Retry { failures, pause } => {
                println!(
                    "init: login shell {program} failed at start ({}), {failures} of {} \
                     in a row; starting a new one in {pause:?}",
                    describe(status),
                    settings.policy.failures,
                );
                let _ = syscall::sleep(pause);
            }
            Outcome::GiveUp { failures } => {
                // One line that says it all: the console may be all the
                // person at the machine has.
                eprintln!(
                    "init: login shell {program} failed at start {failures} times in a row \
                     (last: {}); powering off",
                    describe(status)
                );
                return SHELL_FAILED;
            }
        }
    }
}

/// Reads init's arguments (those after `argv[0]`); `None` on a usage
/// error.
fn parse_arguments(arguments: &'static [&'static [u8]]) -> Option<Settings> {
    let mut policy = Policy::default();
    let mut program = SHELL;
    let mut shell_arguments: &[&[u8]] = &[];
    let mut index = 0;
    while index < arguments.len() {
        let option = arguments[index];
        if option == b"--shell" {
            program = arguments.get(index + 1)?;
            shell_arguments = &arguments[index + 2..];
            break;
        }
        let value = arguments.get(index + 1)?;
        let number: u32 = core::str::from_utf8(value).ok()?.parse().ok()?;
        let milliseconds = Duration::from_millis(u64::from(number));
        match option {
            b"--failures" if number >= 1 => policy.failures = number,
            b"--delay" => policy.delay = milliseconds,
            b"--start-window" => policy.start_window = milliseconds,
            _ => return None,
        }
        index += 2;
    }
    let name = program
        .rsplit(|&byte| byte == b'/')
        .next()
        .unwrap_or(program);
    let mut argv = Vec::with_capacity(1 + shell_arguments.len());
    argv.push(name);
    argv.extend_from_slice(shell_arguments);
    Some(Settings {
        policy,
        program,
        arguments: argv,
    })
}

/// Creates directory `path` (mode 0755) unless something is there.
fn ensure_directory(path: &[u8]) {
    if syscall::status_at(CURRENT_DIRECTORY, path, 0).is_ok() {
        return;
    }
    match syscall::make_directory_at(CURRENT_DIRECTORY, path, 0o755) {
        Ok(()) | Err(Errno::Exists) => {}
        Err(errno) => eprintln!(
            "init: cannot create {}: {errno}",
            core::str::from_utf8(path).unwrap_or("?")
        ),
    }
}

/// Puts directory `home` into this process's `/...` as `name`,
/// read-write.
fn put_home(home: &str, name: &str) -> Result<(), Errno> {
    syscall::xchroot(&[XchrootOperation {
        kind: XchrootKind::PutPath as u32,
        mode: AccessMode::ReadWrite as u32,
        path: home.as_ptr() as usize as u64,
        path_length: home.len() as u64,
        name: name.as_ptr() as usize as u64,
        name_length: name.len() as u64,
        ..XchrootOperation::default()
    }])
}

/// Waits until `shell` ends, reaping any other child on the way.
fn wait_for(shell: syscall::ProcessId) -> WaitStatus {
    loop {
        match syscall::wait(-1) {
            Ok((pid, status)) if pid == shell => return status,
            Ok(_) => {}
            Err(errno) => {
                // Only `ECHILD` is possible, and the shell is a child:
                // report it and treat the shell as gone.
                eprintln!("init: wait: {errno}");
                return WaitStatus::Exited(255);
            }
        }
    }
}

/// `status N`, or `killed by the kernel: REASON`.
fn describe(status: WaitStatus) -> String {
    match status {
        WaitStatus::Exited(code) => format!("status {code}"),
        WaitStatus::Killed(reason) => {
            format!("killed by the kernel: {}", WaitStatus::reason_name(reason))
        }
    }
}

/// Time since boot (zero if the clock cannot be read).
fn now() -> Duration {
    syscall::clock_time(clock::MONOTONIC).unwrap_or_default()
}
