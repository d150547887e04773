// SPDX-License-Identifier: MIT OR Apache-2.0
//! Structure layouts checked against the C definitions in Linux's
//! installed headers: the structure is read from the header, its field
//! offsets computed with the LP64 rules both architectures follow
//! (natural alignment, `long` and pointers 8 bytes), and each encoder's
//! output read back at those offsets. This is how AArch64's `struct stat`
//! (`asm-generic/stat.h`) is checked on an x86_64 host, where no C
//! library describes it. Headers not installed are skipped with a note.

use std::collections::HashMap;
use std::path::Path;

use linux_abi::layout::signal_action::{SignalAction, SIGACTION_SIZE};
use linux_abi::layout::stat::FileStatus;
use linux_abi::layout::terminal::{Termios, TERMIOS_SIZE};
use linux_abi::layout::time::Timespec;
use linux_abi::signals::{SignalActionFlags, SignalSet};
use linux_abi::Arch;

/// A field of a C structure: offset and size in bytes.
#[derive(Clone, Copy, Debug)]
struct Field {
    offset: usize,
    size: usize,
}

/// Bytes of the C types these structures use, on LP64.
fn type_size(words: &str) -> usize {
    match words {
        "unsigned long" | "long" | "__kernel_ulong_t" | "__kernel_long_t" | "__sighandler_t"
        | "__sigrestore_t" | "sigset_t" => 8,
        "unsigned int" | "int" | "tcflag_t" => 4,
        "cc_t" => 1,
        other => panic!("no size for C type {other:?}"),
    }
}

/// The fields and size of the last `struct <name> {` in `path`, keeping
/// the lines inside an `#ifdef` whose macro is in `defined` and dropping
/// those of any other. `None` when the header is not installed.
fn c_struct(
    path: &str,
    name: &str,
    defined: &[&str],
    constants: &HashMap<&str, usize>,
) -> Option<(HashMap<String, Field>, usize)> {
    if !Path::new(path).exists() {
        println!("note: {path} is not installed; skipped");
        return None;
    }
    let text = std::fs::read_to_string(path).unwrap();
    let opening = format!("struct {name} {{");
    let start = text
        .rfind(&opening)
        .unwrap_or_else(|| panic!("{opening} in {path}"));
    let body = &text[start + opening.len()..];
    let body = &body[..body.find("};").unwrap()];
    let mut fields = HashMap::new();
    let (mut offset, mut alignment) = (0usize, 1usize);
    let mut skipping = false;
    for line in body.lines() {
        let line = line.split("/*").next().unwrap().trim();
        if let Some(condition) = line.strip_prefix("#ifdef") {
            skipping = !defined.contains(&condition.trim());
            continue;
        }
        if line.starts_with("#endif") {
            skipping = false;
            continue;
        }
        if skipping || line.is_empty() {
            continue;
        }
        let declaration = line.trim_end_matches(';');
        let (type_words, field) = declaration.rsplit_once(char::is_whitespace).unwrap();
        let type_words = type_words.split_whitespace().collect::<Vec<_>>().join(" ");
        let element = type_size(&type_words);
        let (field, count) = match field.split_once('[') {
            Some((field, count)) => {
                let count = count.trim_end_matches(']');
                let count = count
                    .parse()
                    .ok()
                    .or_else(|| constants.get(count).copied())
                    .unwrap_or_else(|| panic!("array size {count}"));
                (field, count)
            }
            None => (field, 1),
        };
        offset = offset.next_multiple_of(element);
        alignment = alignment.max(element);
        fields.insert(
            field.to_string(),
            Field {
                offset,
                size: element * count,
            },
        );
        offset += element * count;
    }
    Some((fields, offset.next_multiple_of(alignment)))
}

fn read(bytes: &[u8], field: Field) -> u64 {
    let mut word = [0; 8];
    word[..field.size.min(8)]
        .copy_from_slice(&bytes[field.offset..field.offset + field.size.min(8)]);
    u64::from_le_bytes(word)
}

fn sample_status() -> FileStatus {
    FileStatus {
        device: 0x0102_0304_0506_0708,
        inode: 0x1112_1314_1516_1718,
        mode: 0o100_644,
        link_count: 3,
        user_id: 1000,
        group_id: 100,
        special_device: 0x2122_2324_2526_2728,
        size: 0x3132_3334_3536,
        block_size: 4096,
        blocks: 0x4142,
        access_time: Timespec {
            seconds: 51,
            nanoseconds: 52,
        },
        modify_time: Timespec {
            seconds: 61,
            nanoseconds: 62,
        },
        change_time: Timespec {
            seconds: 71,
            nanoseconds: 72,
        },
    }
}

#[test]
fn stat_matches_each_architecture_header() {
    for (arch, path) in [
        (Arch::Aarch64, "/usr/include/asm-generic/stat.h"),
        (Arch::X86_64, "/usr/include/x86_64-linux-gnu/asm/stat.h"),
    ] {
        let Some((fields, size)) = c_struct(path, "stat", &[], &HashMap::new()) else {
            continue;
        };
        let status = sample_status();
        let encoded = status.encode_stat(arch);
        let bytes = encoded.as_bytes();
        assert_eq!(bytes.len(), size, "{arch:?}: struct stat size");
        let expected = [
            ("st_dev", status.device),
            ("st_ino", status.inode),
            ("st_nlink", status.link_count),
            ("st_mode", u64::from(status.mode)),
            ("st_uid", u64::from(status.user_id)),
            ("st_gid", u64::from(status.group_id)),
            ("st_rdev", status.special_device),
            ("st_size", status.size as u64),
            ("st_blksize", u64::from(status.block_size)),
            ("st_blocks", status.blocks as u64),
            ("st_atime", 51),
            ("st_atime_nsec", 52),
            ("st_mtime", 61),
            ("st_mtime_nsec", 62),
            ("st_ctime", 71),
            ("st_ctime_nsec", 72),
        ];
        for (name, value) in expected {
            let field = fields[name];
            assert_eq!(read(bytes, field), value, "{arch:?}: {name} at {field:?}");
        }
        for (name, field) in &fields {
            if name.starts_with("__") {
                assert!(
                    bytes[field.offset..field.offset + field.size]
                        .iter()
                        .all(|&b| b == 0),
                    "{arch:?}: {name} zeroed"
                );
            }
        }
    }
}

/// The generic `struct sigaction` with `sa_restorer`, as arm64 (which
/// defines `SA_RESTORER`) compiles it; x86_64's kernel structure is the
/// same (see `layout::signal_action`).
#[test]
fn sigaction_matches_the_generic_header() {
    let Some((fields, size)) = c_struct(
        "/usr/include/asm-generic/signal.h",
        "sigaction",
        &["SA_RESTORER"],
        &HashMap::new(),
    ) else {
        return;
    };
    assert_eq!(size, SIGACTION_SIZE);
    let action = SignalAction {
        handler: 0x11,
        flags: SignalActionFlags::from_bits_retain(0x22),
        restorer: 0x33,
        mask: SignalSet(0x44),
    };
    let bytes = action.encode();
    for (name, value) in [
        ("sa_handler", 0x11),
        ("sa_flags", 0x22),
        ("sa_restorer", 0x33),
        ("sa_mask", 0x44),
    ] {
        assert_eq!(read(&bytes, fields[name]), value, "{name}");
    }
    if let Ok(arm64) = std::fs::read_to_string("/usr/aarch64-linux-gnu/include/asm/signal.h") {
        assert!(
            arm64.contains("#define SA_RESTORER\t0x04000000"),
            "arm64 has sa_restorer"
        );
    }
}

#[test]
fn termios_matches_the_generic_header() {
    let constants = HashMap::from([("NCCS", 19)]);
    let Some((fields, size)) = c_struct(
        "/usr/include/asm-generic/termbits.h",
        "termios",
        &[],
        &constants,
    ) else {
        return;
    };
    // `struct termios`, not `termios2` (which adds the speed words).
    assert!(!fields.contains_key("c_ispeed"));
    assert_eq!(size, TERMIOS_SIZE);
    let mut characters = [0; 19];
    characters[0] = 0x55;
    let termios = Termios {
        input_modes: 0x11,
        output_modes: 0x22,
        control_modes: 0x33,
        local_modes: 0x44,
        line_discipline: 0x66,
        control_characters: characters,
    };
    let bytes = termios.encode();
    for (name, value) in [
        ("c_iflag", 0x11),
        ("c_oflag", 0x22),
        ("c_cflag", 0x33),
        ("c_lflag", 0x44),
        ("c_line", 0x66),
        ("c_cc", 0x55),
    ] {
        assert_eq!(read(&bytes, fields[name]) & 0xff, value, "{name}");
    }
    assert_eq!(fields["c_cc"].size, 19);
}
