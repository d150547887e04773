// SPDX-License-Identifier: MIT OR Apache-2.0
//! Every number this crate holds, checked against Linux's own headers as
//! installed on the host (Debian's `linux-libc-dev`): the generic
//! system-call table (AArch64's) and x86_64's, errno values, signal
//! numbers, auxiliary-vector keys, open and clone flags. A header that is
//! not installed is skipped with a printed note, so the test runs
//! anywhere and catches a typo wherever the headers exist.

use std::collections::HashMap;
use std::path::Path;

use linux_abi::auxv::AuxvKey;
use linux_abi::flags::clone::CloneFlags;
use linux_abi::flags::open::OpenFlags;
use linux_abi::signals::{standard_signals, SignalActionFlags};
use linux_abi::{Arch, Errno, LinuxCall};

const GENERIC_UNISTD: &str = "/usr/include/asm-generic/unistd.h";
const X86_64_UNISTD: &str = "/usr/include/x86_64-linux-gnu/asm/unistd_64.h";

/// The `#define NAME VALUE` lines of the headers, in order; the first
/// definition of a name wins (later ones sit in `#else` branches for
/// 32-bit or compat builds).
fn defines(paths: &[&str]) -> Option<HashMap<String, String>> {
    let mut found = HashMap::new();
    for path in paths {
        if !Path::new(path).exists() {
            println!("note: {path} is not installed (apt-get install linux-libc-dev); skipped");
            return None;
        }
        let text = std::fs::read_to_string(path).unwrap();
        for line in text.lines() {
            let line = line.trim_start();
            let Some(rest) = line
                .strip_prefix('#')
                .map(str::trim_start)
                .and_then(|l| l.strip_prefix("define"))
            else {
                continue;
            };
            let rest = rest.split("/*").next().unwrap();
            let mut words = rest.split_whitespace();
            let (Some(name), Some(_)) = (words.next(), words.clone().next()) else {
                continue;
            };
            if name.contains('(') {
                continue;
            }
            let value: String = words.collect::<Vec<_>>().join(" ");
            found.entry(name.to_string()).or_insert(value);
        }
    }
    Some(found)
}

/// A define's value as a number: decimal, hex, octal, `(1 << n)`, a
/// `(A | B)` of such, or another define's name (followed).
fn value_of(defines: &HashMap<String, String>, name: &str) -> Option<i64> {
    let mut text = defines.get(name)?.trim().to_string();
    for _ in 0..8 {
        let trimmed = text
            .trim()
            .trim_start_matches('(')
            .trim_end_matches(')')
            .trim()
            .to_string();
        if let Some((left, right)) = trimmed.split_once('|') {
            let part = |p: &str| {
                let p = p.trim();
                number(p).or_else(|| value_of(defines, p))
            };
            return Some(part(left)? | part(right)?);
        }
        if let Some((base, shift)) = trimmed.split_once("<<") {
            return Some(number(base.trim())? << number(shift.trim())?);
        }
        if let Some(value) = number(&trimmed) {
            return Some(value);
        }
        text = defines.get(&trimmed)?.clone();
    }
    None
}

fn number(text: &str) -> Option<i64> {
    let text = text.trim();
    // Integer suffixes (`0x04000000U`, `1l`) only follow digits.
    let text = if text.starts_with(|c: char| c.is_ascii_digit()) {
        text.trim_end_matches(['U', 'L', 'u', 'l'])
    } else {
        text
    };
    if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        i64::from_str_radix(hex, 16).ok()
    } else if let Some(negative) = text.strip_prefix('-') {
        number(negative).map(|n| -n)
    } else if text.len() > 1 && text.starts_with('0') {
        i64::from_str_radix(&text[1..], 8).ok()
    } else {
        text.parse().ok()
    }
}

/// System-call numbers: every call's number on each architecture is the
/// header's `__NR_<name>`, and a call this crate says an architecture
/// lacks is absent from that architecture's table.
#[test]
fn call_numbers_match_both_tables() {
    for (arch, path) in [
        (Arch::Aarch64, GENERIC_UNISTD),
        (Arch::X86_64, X86_64_UNISTD),
    ] {
        let Some(defines) = defines(&[path]) else {
            continue;
        };
        let mut checked = 0;
        for call in LinuxCall::all() {
            let in_header = value_of(&defines, &format!("__NR_{}", call.linux_name()));
            let ours = call.number(arch).map(i64::from);
            assert_eq!(
                ours,
                in_header,
                "{call:?} ({}) on {arch:?}",
                call.linux_name()
            );
            checked += 1;
        }
        println!("{arch:?}: {checked} calls checked against {path}");
    }
}

#[test]
fn errno_values_match_the_generic_headers() {
    let Some(defines) = defines(&[
        "/usr/include/asm-generic/errno-base.h",
        "/usr/include/asm-generic/errno.h",
    ]) else {
        return;
    };
    for errno in Errno::all() {
        assert_eq!(
            value_of(&defines, errno.name()),
            Some(i64::from(errno.number())),
            "{}",
            errno.name()
        );
    }
    // x86_64 uses the generic numbers: its header only includes them.
    if let Ok(x86) = std::fs::read_to_string("/usr/include/x86_64-linux-gnu/asm/errno.h") {
        assert!(x86.contains("#include <asm-generic/errno.h>"));
        assert!(
            !x86.contains("#define E"),
            "x86_64 defines no errno of its own"
        );
    }
}

#[test]
fn signal_numbers_match_both_architectures() {
    for path in [
        "/usr/include/asm-generic/signal.h",
        "/usr/include/x86_64-linux-gnu/asm/signal.h",
    ] {
        let Some(defines) = defines(&[path]) else {
            continue;
        };
        for (signal, name) in standard_signals() {
            assert_eq!(
                value_of(&defines, name),
                Some(i64::from(signal.number())),
                "{name} in {path}"
            );
        }
        assert_eq!(value_of(&defines, "SIGRTMIN"), Some(32), "{path}");
    }
    if let Some(defines) = defines(&[
        "/usr/include/asm-generic/signal-defs.h",
        "/usr/include/x86_64-linux-gnu/asm/signal.h",
    ]) {
        for (flag, name) in [
            (SignalActionFlags::NO_CHILD_STOP, "SA_NOCLDSTOP"),
            (SignalActionFlags::NO_CHILD_WAIT, "SA_NOCLDWAIT"),
            (SignalActionFlags::SIGNAL_INFO, "SA_SIGINFO"),
            (SignalActionFlags::RESTORER, "SA_RESTORER"),
            (SignalActionFlags::ON_STACK, "SA_ONSTACK"),
            (SignalActionFlags::RESTART, "SA_RESTART"),
            (SignalActionFlags::NO_DEFER, "SA_NODEFER"),
            (SignalActionFlags::RESET_HANDLER, "SA_RESETHAND"),
        ] {
            assert_eq!(value_of(&defines, name), Some(flag.bits() as i64), "{name}");
        }
    }
}

#[test]
fn auxv_keys_match_the_header() {
    let Some(defines) = defines(&[
        "/usr/include/linux/auxvec.h",
        "/usr/include/x86_64-linux-gnu/asm/auxvec.h",
    ]) else {
        return;
    };
    for (key, name) in AuxvKey::ALL {
        assert_eq!(
            value_of(&defines, name),
            Some(key.number() as i64),
            "{name}"
        );
        assert_eq!(AuxvKey::from_number(key.number()), Some(key));
    }
}

/// x86_64 uses the generic open flags unchanged; AArch64 overrides four
/// of them (`arch/arm64/include/uapi/asm/fcntl.h`, not installed on an
/// x86_64 host: checked when a cross header is present).
#[test]
fn open_flags_match_the_headers() {
    let names = [
        (OpenFlags::CREATE, "O_CREAT"),
        (OpenFlags::EXCLUSIVE, "O_EXCL"),
        (OpenFlags::NO_CONTROLLING_TERMINAL, "O_NOCTTY"),
        (OpenFlags::TRUNCATE, "O_TRUNC"),
        (OpenFlags::APPEND, "O_APPEND"),
        (OpenFlags::NONBLOCK, "O_NONBLOCK"),
        (OpenFlags::DATA_SYNC, "O_DSYNC"),
        (OpenFlags::ASYNC, "FASYNC"),
        (OpenFlags::DIRECT, "O_DIRECT"),
        (OpenFlags::LARGE_FILE, "O_LARGEFILE"),
        (OpenFlags::DIRECTORY, "O_DIRECTORY"),
        (OpenFlags::NO_FOLLOW, "O_NOFOLLOW"),
        (OpenFlags::NO_ACCESS_TIME, "O_NOATIME"),
        (OpenFlags::CLOSE_ON_EXEC, "O_CLOEXEC"),
        (OpenFlags::SYNC, "__O_SYNC"),
        (OpenFlags::PATH, "O_PATH"),
        (OpenFlags::TEMPORARY_FILE, "__O_TMPFILE"),
    ];
    let generic = "/usr/include/asm-generic/fcntl.h";
    if let Some(defines) = defines(&[generic]) {
        for (flag, name) in names {
            assert_eq!(
                value_of(&defines, name),
                Some(i64::from(flag.linux_value(Arch::X86_64))),
                "{name} on x86_64"
            );
        }
    }
    // The AArch64 header first, so its four overrides win.
    let arm64 = "/usr/aarch64-linux-gnu/include/asm/fcntl.h";
    if Path::new(arm64).exists() {
        let defines = defines(&[arm64, generic]).unwrap();
        for (flag, name) in names {
            assert_eq!(
                value_of(&defines, name),
                Some(i64::from(flag.linux_value(Arch::Aarch64))),
                "{name} on AArch64"
            );
        }
    } else {
        println!("note: {arm64} is not installed (libc6-dev-arm64-cross); AArch64 open flags checked by unit tests only");
    }
}

#[test]
fn clone_flags_match_the_header() {
    let Some(defines) = defines(&["/usr/include/linux/sched.h"]) else {
        return;
    };
    for flag in CloneFlags::all().iter() {
        let name = flag_c_name(flag);
        assert_eq!(value_of(&defines, name), Some(flag.bits() as i64), "{name}");
    }
    assert_eq!(value_of(&defines, "CSIGNAL"), Some(0xff));
}

fn flag_c_name(flag: CloneFlags) -> &'static str {
    const NAMES: [(CloneFlags, &str); 24] = [
        (CloneFlags::VM, "CLONE_VM"),
        (CloneFlags::FS, "CLONE_FS"),
        (CloneFlags::FILES, "CLONE_FILES"),
        (CloneFlags::SIGHAND, "CLONE_SIGHAND"),
        (CloneFlags::PIDFD, "CLONE_PIDFD"),
        (CloneFlags::PTRACE, "CLONE_PTRACE"),
        (CloneFlags::VFORK, "CLONE_VFORK"),
        (CloneFlags::PARENT, "CLONE_PARENT"),
        (CloneFlags::THREAD, "CLONE_THREAD"),
        (CloneFlags::NEW_MOUNT_NAMESPACE, "CLONE_NEWNS"),
        (CloneFlags::SYSV_SEMAPHORES, "CLONE_SYSVSEM"),
        (CloneFlags::SET_TLS, "CLONE_SETTLS"),
        (CloneFlags::PARENT_SET_TID, "CLONE_PARENT_SETTID"),
        (CloneFlags::CHILD_CLEAR_TID, "CLONE_CHILD_CLEARTID"),
        (CloneFlags::DETACHED, "CLONE_DETACHED"),
        (CloneFlags::UNTRACED, "CLONE_UNTRACED"),
        (CloneFlags::CHILD_SET_TID, "CLONE_CHILD_SETTID"),
        (CloneFlags::NEW_CGROUP_NAMESPACE, "CLONE_NEWCGROUP"),
        (CloneFlags::NEW_UTS_NAMESPACE, "CLONE_NEWUTS"),
        (CloneFlags::NEW_IPC_NAMESPACE, "CLONE_NEWIPC"),
        (CloneFlags::NEW_USER_NAMESPACE, "CLONE_NEWUSER"),
        (CloneFlags::NEW_PID_NAMESPACE, "CLONE_NEWPID"),
        (CloneFlags::NEW_NETWORK_NAMESPACE, "CLONE_NEWNET"),
        (CloneFlags::IO, "CLONE_IO"),
    ];
    NAMES
        .iter()
        .find(|(f, _)| *f == flag)
        .map(|&(_, name)| name)
        .expect("every clone flag has a C name here")
}

#[test]
fn the_parser_reads_what_the_headers_write() {
    let mut defines = HashMap::new();
    defines.insert("A".to_string(), "00040000".to_string());
    defines.insert("B".to_string(), "(1 << 2)".to_string());
    defines.insert("C".to_string(), "(A|B)".to_string());
    defines.insert("D".to_string(), "C".to_string());
    defines.insert("E".to_string(), "0x04000000U".to_string());
    defines.insert("F".to_string(), "-100".to_string());
    defines.insert("G".to_string(), "__NR3264_fcntl".to_string());
    defines.insert("__NR3264_fcntl".to_string(), "25".to_string());
    assert_eq!(value_of(&defines, "A"), Some(0o40000));
    assert_eq!(value_of(&defines, "B"), Some(4));
    assert_eq!(value_of(&defines, "D"), Some(0o40004));
    assert_eq!(value_of(&defines, "E"), Some(0x0400_0000));
    assert_eq!(value_of(&defines, "F"), Some(-100));
    assert_eq!(
        value_of(&defines, "G"),
        Some(25),
        "names ending in l are not suffixes"
    );
    assert_eq!(value_of(&defines, "missing"), None);
}

/// AArch64's own headers (`linux-libc-dev-arm64-cross`), where they
/// differ from or select parts of the generic ones.
#[test]
fn aarch64_headers_select_what_this_crate_says() {
    let directory = "/usr/aarch64-linux-gnu/include/asm";
    if !Path::new(directory).exists() {
        println!("note: {directory} is not installed (linux-libc-dev-arm64-cross); skipped");
        return;
    }
    let read = |name: &str| std::fs::read_to_string(format!("{directory}/{name}")).unwrap();
    // The generic table's optional sections that hold calls of the table:
    // renameat, newfstatat/fstat, getrlimit/setrlimit, clone3.
    let unistd = read("unistd.h");
    assert!(unistd.contains("#include <asm-generic/unistd.h>"));
    for wanted in [
        "__ARCH_WANT_RENAMEAT",
        "__ARCH_WANT_NEW_STAT",
        "__ARCH_WANT_SET_GET_RLIMIT",
        "__ARCH_WANT_SYS_CLONE3",
    ] {
        assert!(unistd.contains(&format!("#define {wanted}")), "{wanted}");
    }
    assert!(read("stat.h").contains("#include <asm-generic/stat.h>"));
    assert!(read("errno.h").contains("#include <asm-generic/errno.h>"));
    let signal = defines(&[&format!("{directory}/signal.h")]).unwrap();
    assert_eq!(
        value_of(&signal, "SA_RESTORER"),
        Some(SignalActionFlags::RESTORER.bits() as i64)
    );
    let mman = defines(&[&format!("{directory}/mman.h")]).unwrap();
    assert_eq!(
        value_of(&mman, "PROT_BTI"),
        Some(linux_abi::flags::memory::PROT_BTI_AARCH64 as i64)
    );
    assert_eq!(
        value_of(&mman, "PROT_MTE"),
        Some(linux_abi::flags::memory::PROT_MTE_AARCH64 as i64)
    );
    let auxvec = defines(&[&format!("{directory}/auxvec.h")]).unwrap();
    assert_eq!(
        value_of(&auxvec, "AT_SYSINFO_EHDR"),
        Some(AuxvKey::VdsoBase.number() as i64)
    );
}

/// Both architectures take these headers from the generic ones, so the
/// values checked against the host (x86_64) libc — terminal ioctls, poll
/// events, resource ids, termios, siginfo, mmap flags — hold on AArch64
/// too.
#[test]
fn both_architectures_include_the_generic_headers() {
    for directory in [
        "/usr/include/x86_64-linux-gnu/asm",
        "/usr/aarch64-linux-gnu/include/asm",
    ] {
        if !Path::new(directory).exists() {
            println!("note: {directory} is not installed; skipped");
            continue;
        }
        for header in [
            "ioctls.h",
            "poll.h",
            "resource.h",
            "termbits.h",
            "termios.h",
            "siginfo.h",
            "mman.h",
            "fcntl.h",
        ] {
            let text = std::fs::read_to_string(format!("{directory}/{header}")).unwrap();
            assert!(
                text.contains(&format!("#include <asm-generic/{header}>")),
                "{directory}/{header} includes the generic one"
            );
        }
    }
}

/// The signal frame's record magic (`FPSIMD_MAGIC`) from arm64's
/// `asm/sigcontext.h`, installed with the cross C library
/// (`libc6-dev-arm64-cross`) or on an arm64 host.
#[test]
fn the_fpsimd_record_magic_matches_the_arm64_header() {
    use linux_abi::layout::signal_frame::aarch64::FPSIMD_MAGIC;
    for path in [
        "/usr/aarch64-linux-gnu/include/asm/sigcontext.h",
        "/usr/include/aarch64-linux-gnu/asm/sigcontext.h",
    ] {
        if !Path::new(path).exists() {
            println!("note: {path} is not installed; skipped");
            continue;
        }
        let defines = defines(&[path]).unwrap();
        assert_eq!(
            value_of(&defines, "FPSIMD_MAGIC"),
            Some(i64::from(FPSIMD_MAGIC)),
            "{path}"
        );
    }
}
