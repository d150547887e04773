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
//!    new one — after a second's pause if the last one lived less than a
//!    second, so a shell that cannot start does not flood the console.
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

use alloc::format;
use alloc::string::String;
use core::time::Duration;
use manux_runtime::abi::session::{DEFAULT_USER, POWER_OFF_REQUEST};
use manux_runtime::abi::wait_status::WaitStatus;
use manux_runtime::abi::{
    clock, AccessMode, FdMapping, XchrootKind, XchrootOperation, CURRENT_DIRECTORY,
};
use manux_runtime::{entry, eprintln, println, syscall, Errno};

entry!(main);

/// The login shell.
const SHELL: &[u8] = b"/bin/sh";

/// A shell that lived less than this is restarted only after as long.
const QUICK_EXIT: Duration = Duration::from_secs(1);

fn main() -> i32 {
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
    loop {
        let started = now();
        let shell = match syscall::spawn(SHELL, &[b"sh"], &environment, &fds) {
            Ok(pid) => pid,
            Err(errno) => {
                eprintln!("init: cannot start /bin/sh: {errno}");
                // Ending init powers the machine off (the kernel syncs).
                return 1;
            }
        };
        match wait_for(shell) {
            WaitStatus::Exited(POWER_OFF_REQUEST) => {
                let _ = syscall::sync();
                let errno = syscall::power_off(0);
                eprintln!("init: poweroff: {errno}");
                return 1;
            }
            status => println!(
                "init: login shell ended ({}); starting a new one",
                describe(status)
            ),
        }
        if now().saturating_sub(started) < QUICK_EXIT {
            let _ = syscall::sleep(QUICK_EXIT);
        }
    }
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
