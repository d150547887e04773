// SPDX-License-Identifier: MIT OR Apache-2.0
//! `fault KIND`: a child does something forbidden; the kernel must end it
//! and nothing else (DESIGN §3).
//!
//! The parent spawns `/bin/fault --child KIND ADDRESS` (ADDRESS: a heap
//! word of the parent's, for `other-process`), waits, and reports how the
//! child ended:
//!
//! - killed by the kernel: `fault: child N (KIND) killed by the kernel:
//!   memory fault (status 0x000b)`, then `fault: parent survived`, status 0;
//! - exited 66: the forbidden thing worked — `NOT CONTAINED`, status 1,
//!   and no `survived`;
//! - anything else: reported, status 1, no `survived`.
//!
//! Kinds: `kernel-read`, `kernel-write` (an address of the kernel image),
//! `other-process` (the parent's heap word), `unmapped` (the null page),
//! `privileged` (`mrs x0, ttbr1_el1` / `hlt`), `exec-data` (jump into a
//! heap buffer holding code), `exec-stack` (the same on the stack).
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use manux_runtime::abi::wait_status::WaitStatus;
use manux_runtime::abi::FdMapping;
use manux_runtime::hazard::{self, DataPlace};
use manux_runtime::{entry, eprintln, println, process, syscall};

entry!(main);

/// Where the kernel's image is mapped (README: kernel address space).
const KERNEL_ADDRESS: usize = if cfg!(target_arch = "aarch64") {
    0xffff_0000_4020_0000
} else {
    0xffff_ffff_8010_0000
};

/// Below the lowest user address: never mapped.
const UNMAPPED_ADDRESS: usize = 0x10;

/// The status a child exits with when its forbidden action worked.
const NOT_CONTAINED: u8 = 66;

const KINDS: [&str; 7] = [
    "kernel-read",
    "kernel-write",
    "other-process",
    "unmapped",
    "privileged",
    "exec-data",
    "exec-stack",
];

fn usage() -> i32 {
    eprintln!("usage: fault {}", KINDS.join("|"));
    2
}

fn main() -> i32 {
    match process::argument(1) {
        Some("--child") => child(),
        Some(kind) if KINDS.contains(&kind) => parent(kind),
        _ => usage(),
    }
}

fn parent(kind: &str) -> i32 {
    // A word only this process may read, for `other-process`.
    let secret = Box::new(0x5ec2_e75e_c2e7_5ec2u64);
    let address = format!("{:#x}", &*secret as *const u64 as usize);
    let arguments: [&[u8]; 4] = [b"fault", b"--child", kind.as_bytes(), address.as_bytes()];
    let fds = [0, 1, 2].map(|fd| FdMapping {
        child: fd,
        parent: fd,
    });
    let child = match syscall::spawn(b"/bin/fault", &arguments, &[], &fds) {
        Ok(child) => child,
        Err(errno) => {
            eprintln!("fault: cannot spawn /bin/fault: {errno}");
            return 1;
        }
    };
    println!(
        "fault: parent {} spawned child {child} to do {kind}",
        syscall::process_id()
    );
    let status = match syscall::wait(child) {
        Ok((_, status)) => status,
        Err(errno) => {
            eprintln!("fault: wait for child {child}: {errno}");
            return 1;
        }
    };
    let raw = status.to_raw();
    match status {
        WaitStatus::Killed(reason) => {
            println!(
                "fault: child {child} ({kind}) killed by the kernel: {} (status {raw:#06x})",
                WaitStatus::reason_name(reason)
            );
            if *secret != 0x5ec2_e75e_c2e7_5ec2 {
                println!("fault: the parent's memory changed: NOT CONTAINED");
                return 1;
            }
            println!("fault: parent survived");
            0
        }
        WaitStatus::Exited(NOT_CONTAINED) => {
            println!("fault: child {child} ({kind}) was not stopped: NOT CONTAINED");
            1
        }
        WaitStatus::Exited(code) => {
            println!(
                "fault: child {child} ({kind}) exited with status {code} instead of being killed (status {raw:#06x})"
            );
            1
        }
    }
}

fn child() -> i32 {
    let Some(kind) = process::argument(2) else {
        return usage();
    };
    let outcome = match kind {
        "kernel-read" => hazard::read(KERNEL_ADDRESS).map(|value| format!("read {value:#x}")),
        "kernel-write" => hazard::write(KERNEL_ADDRESS, 0xbad).map(|_| String::from("wrote")),
        "other-process" => {
            let Some(address) = process::argument(3).and_then(parse_address) else {
                return usage();
            };
            hazard::read(address).map(|value| format!("read {value:#x} at {address:#x}"))
        }
        "unmapped" => hazard::read(UNMAPPED_ADDRESS).map(|value| format!("read {value:#x}")),
        "privileged" => {
            hazard::privileged_instruction();
            Ok(String::from("ran a privileged instruction"))
        }
        "exec-data" => hazard::execute_data(DataPlace::Heap),
        "exec-stack" => hazard::execute_data(DataPlace::Stack),
        _ => return usage(),
    };
    match outcome {
        Ok(what) => {
            println!("fault child: {kind} did not fault: {what}");
            i32::from(NOT_CONTAINED)
        }
        Err(hazard::Refused) => {
            eprintln!("fault child: {kind}: the address is this process's own");
            3
        }
    }
}

/// `0x…` hexadecimal or decimal.
fn parse_address(text: &str) -> Option<usize> {
    match text.strip_prefix("0x") {
        Some(hex) => usize::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}
