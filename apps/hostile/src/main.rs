// SPDX-License-Identifier: MIT OR Apache-2.0
//! `hostile SECONDS`: children throw every system call at the kernel with
//! hostile arguments for SECONDS of wall time; the kernel must stay up and
//! keep processes apart (DESIGN §3: every pointer a syscall receives is
//! checked, a bad one gets `EFAULT`, never a kernel crash).
//!
//! The parent fills a canary buffer on its heap and one on its stack,
//! spawns [`CHILDREN`] copies of itself (`hostile --child SECONDS INDEX
//! PARENT_PID HEAP STACK CODE`) with only descriptors 1 and 2, and waits for
//! them all. Each child, round after round until the time is up, calls
//! every native number (`NATIVE_BASE` + 0 to 63) and a few beyond (`u64::MAX`, `1 << 32 | 1`
//! to catch truncation, …) with arguments drawn from a xorshift generator:
//! kernel addresses, the parent's heap, stack and code, the null page, the
//! top of the user range, non-canonical addresses, huge lengths, small and
//! negative numbers, and plain random words. Arguments inside the child's
//! own memory are never passed (the runtime's `hazard::syscall` refuses
//! them), so nothing the kernel writes can corrupt the child itself.
//!
//! What a child never does, so the run lasts: `exit` (but at the end),
//! `read` on a descriptor that could block (every descriptor but 1 and 2
//! is closed at the start of each round, and `read` gets only closed or
//! invalid ones), long sleeps, `execve` or `spawn` of a real program,
//! `kill` of itself, or close (or `dup2` over) its descriptors 1 and 2,
//! which it reports on at the end. `poweroff` is called too: only init
//! may, and the children are not init.
//!
//! The parent then checks its canaries and prints `hostile: … survived`
//! (status 0), or reports what went wrong (status 1, no `survived`).
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::time::Duration;
use manux_runtime::abi::wait_status::WaitStatus;
use manux_runtime::abi::{clock, FdMapping, SpawnRequest, Syscall, UserString, XchrootOperation};
use manux_runtime::hazard;
use manux_runtime::{entry, eprintln, println, process, syscall};

entry!(main);

/// Children the parent spawns.
const CHILDREN: usize = 3;
/// The canary's pattern.
const CANARY: u64 = 0xca4a_47ca_4a47_ca4a;
/// Words in each canary buffer.
const CANARY_WORDS: usize = 64;

fn main() -> i32 {
    match process::argument(1) {
        Some("--child") => child(),
        Some(seconds) => match seconds.parse::<u64>() {
            Ok(seconds) => parent(seconds),
            Err(_) => usage(),
        },
        None => usage(),
    }
}

fn usage() -> i32 {
    eprintln!("usage: hostile SECONDS");
    2
}

fn parent(seconds: u64) -> i32 {
    let heap_canary = Box::new([CANARY; CANARY_WORDS]);
    let stack_canary = core::hint::black_box([CANARY; CANARY_WORDS]);
    let pid = syscall::process_id();
    let addresses = [
        heap_canary.as_ptr() as usize,
        stack_canary.as_ptr() as usize,
        main as fn() -> i32 as usize,
    ];
    let fds = [1, 2].map(|fd| FdMapping {
        child: fd,
        parent: fd,
    });
    let mut children = Vec::new();
    for index in 0..CHILDREN {
        let texts: [String; 7] = [
            String::from("hostile"),
            String::from("--child"),
            format!("{seconds}"),
            format!("{index}"),
            format!("{pid}"),
            format!("{:#x}", addresses[0]),
            format!("{:#x}", addresses[1]),
        ];
        let code = format!("{:#x}", addresses[2]);
        let mut arguments: Vec<&[u8]> = texts.iter().map(|text| text.as_bytes()).collect();
        arguments.push(code.as_bytes());
        match syscall::spawn(b"/bin/hostile", &arguments, &[], &fds) {
            Ok(child) => children.push(child),
            Err(errno) => eprintln!("hostile: cannot spawn child {index}: {errno}"),
        }
    }
    if children.is_empty() {
        return 1;
    }
    println!(
        "hostile: parent {pid} spawned children {children:?} for {seconds} s of hostile system calls"
    );
    let mut healthy = true;
    for _ in 0..children.len() {
        match syscall::wait(-1) {
            Ok((child, WaitStatus::Exited(0))) => {
                println!("hostile: child {child} finished (status 0)");
            }
            Ok((child, WaitStatus::Exited(code))) => {
                println!("hostile: child {child} exited with status {code}");
            }
            Ok((child, WaitStatus::Killed(reason))) => {
                println!(
                    "hostile: child {child} was ended by the kernel: {}",
                    WaitStatus::reason_name(reason)
                );
            }
            Err(errno) => {
                println!("hostile: wait: {errno}");
                healthy = false;
                break;
            }
        }
    }
    let stack_canary = core::hint::black_box(stack_canary);
    if heap_canary
        .iter()
        .chain(&stack_canary)
        .any(|&word| word != CANARY)
    {
        println!("hostile: the parent's memory was changed by a child's calls");
        healthy = false;
    }
    if !healthy {
        return 1;
    }
    println!(
        "hostile: {} children done, parent memory intact: the kernel survived",
        children.len()
    );
    0
}

/// Arguments a child was given.
struct Target {
    pid: i32,
    parent_pid: i32,
    parent_addresses: [u64; 3],
}

fn child() -> i32 {
    let number = |index: usize| process::argument(index).and_then(parse_number);
    let (Some(seconds), Some(index), Some(parent_pid), Some(heap), Some(stack), Some(code)) = (
        number(2),
        number(3),
        number(4),
        number(5),
        number(6),
        number(7),
    ) else {
        return usage();
    };
    let target = Target {
        pid: syscall::process_id(),
        parent_pid: parent_pid as i32,
        parent_addresses: [heap, stack, code],
    };
    let seed = now().map(|time| time.as_nanos() as u64).unwrap_or(0)
        ^ (u64::from(target.pid as u32) << 32)
        ^ index.wrapping_mul(0x9e37_79b9_7f4a_7c15)
        ^ 0x2545_f491_4f6c_dd1d;
    let mut attacker = Attacker {
        random: Random(seed | 1),
        target,
        calls: 0,
        successes: 0,
    };
    let deadline = now().map(|start| start + Duration::from_secs(seconds));
    // Without a clock, stop after a generous number of rounds instead.
    let round_limit = seconds.saturating_mul(500).max(1);
    let mut rounds = 0u64;
    loop {
        attacker.round();
        rounds += 1;
        let over = match (deadline, now()) {
            (Some(deadline), Some(time)) => time >= deadline,
            _ => rounds >= round_limit,
        };
        if over {
            break;
        }
    }
    println!(
        "hostile: child {index} (pid {}): {rounds} rounds, {} calls, {} accepted",
        attacker.target.pid, attacker.calls, attacker.successes
    );
    0
}

fn now() -> Option<Duration> {
    syscall::clock_time(clock::MONOTONIC)
        .or_else(|_| syscall::clock_time(clock::REALTIME))
        .ok()
}

fn parse_number(text: &str) -> Option<u64> {
    match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

/// xorshift64* (Vigna, "An experimental exploration of Marsaglia's
/// xorshift generators, scrambled", 2016).
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound.max(1)
    }

    fn pick<T: Copy>(&mut self, choices: &[T]) -> T {
        choices[self.below(choices.len() as u64) as usize]
    }
}

/// Addresses in the kernel's half, per architecture (README: kernel
/// address space; x86_64: the top 2 GiB and the direct map).
const KERNEL_ADDRESSES: [u64; 4] = if cfg!(target_arch = "aarch64") {
    [
        0xffff_0000_4020_0000,
        0xffff_8000_4000_0000,
        0xffff_0000_0000_0000,
        0xffff_ffff_ffff_f000,
    ]
} else {
    [
        0xffff_ffff_8010_0000,
        0xffff_8000_0000_0000,
        0xffff_8880_0000_0000,
        0xffff_ffff_ffff_f000,
    ]
};

/// The top of the user range and just past it (non-canonical on x86_64).
const EDGE_ADDRESSES: [u64; 4] = [
    0x0000_7fff_ffff_f000,
    0x0000_8000_0000_0000,
    0x0000_ffff_ffff_fff8,
    0x0001_0000_0000_0000,
];

const HUGE: [u64; 6] = [
    u64::MAX,
    u64::MAX - 7,
    1 << 63,
    1 << 40,
    0xffff_ffff,
    (1 << 20) + 1,
];

/// Numbers beyond the table, some of them a real number plus high bits.
const EXTRA_NUMBERS: [u64; 6] = [
    u64::MAX,
    1 << 32 | 1,
    1 << 32 | 23,
    1 << 63,
    0xffff_ffff,
    4096,
];

struct Attacker {
    random: Random,
    target: Target,
    calls: u64,
    successes: u64,
}

impl Attacker {
    /// One hostile argument.
    fn value(&mut self) -> u64 {
        let random = &mut self.random;
        match random.below(9) {
            0 => random.pick(&KERNEL_ADDRESSES) + (random.below(0x10_0000) & !7),
            1 => random.pick(&self.target.parent_addresses) + random.below(512),
            2 => random.pick(&[0, 1, 8, 0x10, 0xfff, 0x1000]),
            3 => random.pick(&EDGE_ADDRESSES),
            4 => random.pick(&HUGE),
            5 => random.below(70),
            6 => random.pick(&[-1i64 as u64, -100i64 as u64, i32::MIN as i64 as u64]),
            7 => random.next() & 0x0000_ffff_ffff_ffff,
            _ => random.next(),
        }
    }

    /// An address the kernel must refuse: the kernel's, the parent's, the
    /// null page or past the user range.
    fn bad_pointer(&mut self) -> u64 {
        match self.random.below(4) {
            0 => self.random.pick(&KERNEL_ADDRESSES),
            1 => self.random.pick(&self.target.parent_addresses),
            2 => self.random.pick(&[0, 8, 0xff8]),
            _ => self.random.pick(&EDGE_ADDRESSES),
        }
    }

    /// A descriptor that is closed or invalid, so `read` cannot block.
    fn closed_fd(&mut self) -> u64 {
        match self.random.below(4) {
            0 => 0,
            1 => 3 + self.random.below(61),
            2 => self.random.pick(&[-1i64 as u64, 64, 1 << 31, u64::MAX]),
            _ => self.random.next() | 1 << 40,
        }
    }

    /// Calls `number` with `arguments`, drawing new ones (up to a few
    /// times) when the runtime refuses them as this process's own memory.
    fn call(&mut self, number: u64, mut arguments: [u64; 6]) {
        for _ in 0..4 {
            match hazard::syscall(number, arguments) {
                Ok(result) => {
                    self.record(manux_runtime::abi::decode_result(result).is_ok());
                    return;
                }
                Err(hazard::Refused) => arguments = arguments.map(|_| self.value()),
            }
        }
    }

    fn record(&mut self, success: bool) {
        self.calls += 1;
        self.successes += u64::from(success);
    }

    /// Every number once, then the extra ones.
    fn round(&mut self) {
        // Nothing but 1 and 2 stays open, so no `read` can block.
        for fd in (0..64).filter(|fd| *fd != 1 && *fd != 2) {
            let _ = syscall::close(fd);
        }
        for index in 0..64 {
            self.attack(manux_runtime::abi::NATIVE_BASE + index);
        }
        for number in EXTRA_NUMBERS {
            let arguments = [0; 6].map(|_| self.value());
            self.call(number, arguments);
        }
    }

    fn attack(&mut self, number: u64) {
        let random_arguments = [0; 6].map(|_| self.value());
        match Syscall::from_number(number) {
            Some(Syscall::Exit) => {}
            Some(Syscall::Read) | Some(Syscall::ReadDirectory) => {
                let arguments = [self.closed_fd(), self.bad_pointer(), self.value(), 0, 0, 0];
                self.call(number, arguments);
            }
            Some(Syscall::Sleep) => {
                // At most a microsecond: the run must go on.
                let nanoseconds = self.random.below(1000);
                self.call(number, [nanoseconds, 0, 0, 0, 0, 0]);
            }
            Some(Syscall::Kill) => {
                let choices = [
                    self.target.parent_pid,
                    self.target.pid + 1,
                    self.target.pid - 1,
                    self.target.pid + 2,
                    0,
                    -1,
                    1,
                    i32::MAX,
                    self.random.next() as i32,
                ];
                let victim = self.random.pick(&choices);
                if victim != self.target.pid {
                    self.call(number, [victim as i64 as u64, 0, 0, 0, 0, 0]);
                }
            }
            Some(Syscall::Execute) => {
                let arguments = [
                    self.bad_pointer(),
                    self.value(),
                    self.bad_pointer(),
                    self.value(),
                    self.bad_pointer(),
                    self.value(),
                ];
                self.call(number, arguments);
            }
            Some(Syscall::Spawn) => {
                if self.random.below(2) == 0 {
                    let request = self.bad_pointer();
                    self.call(number, [request, 0, 0, 0, 0, 0]);
                } else {
                    // A well-formed request full of bad addresses.
                    let request = SpawnRequest {
                        path: UserString {
                            pointer: self.bad_pointer(),
                            length: self.value(),
                        },
                        arguments: self.bad_pointer(),
                        argument_count: self.value(),
                        environment: self.bad_pointer(),
                        environment_count: self.value(),
                        fds: self.bad_pointer(),
                        fd_count: self.value(),
                    };
                    let result = syscall::spawn_request(&request);
                    self.record(result.is_ok());
                    if let Ok(child) = result {
                        // Should never happen; do not leave it running.
                        let _ = syscall::kill(child);
                        let _ = syscall::wait(child);
                    }
                }
            }
            Some(Syscall::Xchroot) => {
                if self.random.below(2) == 0 {
                    let arguments = [self.bad_pointer(), self.value(), 0, 0, 0, 0];
                    self.call(number, arguments);
                } else {
                    let count = 1 + self.random.below(4) as usize;
                    let operations: Vec<XchrootOperation> = (0..count)
                        .map(|_| XchrootOperation {
                            kind: self.random.below(9) as u32,
                            mode: self.random.below(3) as u32,
                            fd: self.random.below(70) as i32 - 2,
                            reserved: 0,
                            path: self.bad_pointer(),
                            path_length: self.value(),
                            name: self.bad_pointer(),
                            name_length: self.value(),
                        })
                        .collect();
                    self.record(syscall::xchroot(&operations).is_ok());
                }
            }
            Some(Syscall::Close) | Some(Syscall::DuplicateTo) => {
                // Anything but closing (or replacing) 1 and 2: the child
                // reports on them at the end.
                let mut arguments = random_arguments;
                let fd_index = usize::from(number == Syscall::DuplicateTo.number());
                if matches!(arguments[fd_index], 1 | 2) {
                    arguments[fd_index] = self.closed_fd();
                }
                self.call(number, arguments);
            }
            Some(Syscall::Wait) => {
                // No child of ours runs, so this returns at once.
                let arguments = [self.value(), self.bad_pointer(), 0, 0, 0, 0];
                self.call(number, arguments);
            }
            _ => self.call(number, random_arguments),
        }
    }
}
