// SPDX-License-Identifier: MIT OR Apache-2.0
//! The initial stack a libc's start code reads (`_start` in glibc and
//! musl; the System V ABI for AArch64 and x86_64, and Linux's
//! `fs/binfmt_elf.c`, `create_elf_tables`).
//!
//! From the stack pointer up:
//!
//! ```text
//! sp →  argc
//!       argv[0] … argv[argc-1], NULL
//!       envp[0] … envp[n-1], NULL
//!       auxv: (key, value) pairs …, (AT_NULL, 0)
//!       padding
//!       16 random bytes (AT_RANDOM), the platform string (AT_PLATFORM)
//!       argument strings, environment strings, the executable name
//!       8 zero bytes
//! top
//! ```
//!
//! `sp` is 16-byte aligned, as both ABIs require at process entry.
//! [`lay_out`] builds those bytes; the kernel copies them to
//! `[address, address + bytes.len())` of the new program's stack and
//! starts it with that stack pointer.

use alloc::vec;
use alloc::vec::Vec;

use crate::auxv::AuxvKey;

/// What the initial stack holds besides the arguments and environment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StartValues<'text> {
    /// `argv`: the strings, without their NULs.
    pub arguments: &'text [&'text [u8]],
    /// `envp`: `NAME=value` strings, without their NULs.
    pub environment: &'text [&'text [u8]],
    /// `AT_PHDR`: where the program headers are in memory.
    pub program_headers: u64,
    /// `AT_PHENT`: bytes per program header (56 for ELF64).
    pub program_header_size: u64,
    /// `AT_PHNUM`.
    pub program_header_count: u64,
    /// `AT_PAGESZ`.
    pub page_size: u64,
    /// `AT_BASE`: the interpreter's base, 0 for a static program.
    pub interpreter_base: u64,
    /// `AT_ENTRY`: the program's entry point.
    pub entry: u64,
    /// The 16 bytes `AT_RANDOM` points to.
    pub random: [u8; 16],
    /// `AT_HWCAP`.
    pub hardware_capabilities: u64,
    /// `AT_HWCAP2`.
    pub hardware_capabilities2: u64,
    /// `AT_UID`.
    pub user_id: u32,
    /// `AT_EUID`.
    pub effective_user_id: u32,
    /// `AT_GID`.
    pub group_id: u32,
    /// `AT_EGID`.
    pub effective_group_id: u32,
    /// `AT_SECURE`.
    pub secure: bool,
    /// `AT_CLKTCK` (100 on Linux).
    pub clock_ticks: u64,
    /// The string `AT_EXECFN` points to: the path the program was run by.
    pub executable_name: &'text [u8],
    /// The string `AT_PLATFORM` points to (`x86_64`, `aarch64`), if any.
    pub platform: Option<&'text [u8]>,
}

/// The laid-out stack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InitialStack {
    /// The bytes to copy.
    pub bytes: Vec<u8>,
    /// Where the first byte goes.
    pub address: u64,
    /// The program's initial stack pointer (it points at `argc`; equal
    /// to `address`).
    pub stack_pointer: u64,
}

/// Which string of the start values was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartString {
    /// `argv[index]`.
    Argument(usize),
    /// `envp[index]`.
    Environment(usize),
    /// The executable name.
    ExecutableName,
    /// The platform string.
    Platform,
}

/// Why the stack could not be laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InitialStackError {
    /// The image needs more bytes than the stack has (`E2BIG` for
    /// `execve`).
    DoesNotFit {
        /// Bytes the image needs, from the stack top down.
        needed: u64,
        /// Bytes available below the stack top.
        available: u64,
    },
    /// A string holds a NUL byte, so the program would read it cut short.
    ContainsNul(StartString),
}

/// Bytes per pointer-sized word.
const WORD: u64 = 8;
/// The stack pointer's alignment at entry.
const STACK_ALIGNMENT: u64 = 16;

/// Lays out the initial stack below `stack_top`, in at most `available`
/// bytes.
pub fn lay_out(
    stack_top: u64,
    available: u64,
    values: &StartValues<'_>,
) -> Result<InitialStack, InitialStackError> {
    check_strings(values)?;
    let strings_bytes: u64 = values
        .arguments
        .iter()
        .chain(values.environment)
        .chain(core::iter::once(&values.executable_name))
        .map(|text| text.len() as u64 + 1)
        .sum();
    let platform_bytes = values.platform.map_or(0, |text| text.len() as u64 + 1);
    let auxv_pair_count = auxv_pairs(values, 0, 0, 0).len() as u64;
    let table_words = 1
        + (values.arguments.len() as u64 + 1)
        + (values.environment.len() as u64 + 1)
        + 2 * auxv_pair_count;
    // Distances below the aligned top; as the top is 16-aligned, rounding
    // the distance up to 16 aligns the stack pointer.
    let below_aligned_top = [WORD, strings_bytes, platform_bytes, 16, table_words * WORD]
        .iter()
        .try_fold(0u64, |sum, &part| sum.checked_add(part))
        .and_then(|sum| sum.checked_next_multiple_of(STACK_ALIGNMENT));
    let needed = below_aligned_top.and_then(|below| below.checked_add(stack_top % STACK_ALIGNMENT));
    let needed = match needed {
        Some(needed) if needed <= available && needed <= stack_top => needed,
        _ => {
            return Err(InitialStackError::DoesNotFit {
                needed: needed.unwrap_or(u64::MAX),
                available,
            })
        }
    };
    let top = stack_top - stack_top % STACK_ALIGNMENT;
    let stack_pointer = stack_top - needed;
    let strings_start = top - WORD - strings_bytes;
    let platform_address = strings_start - platform_bytes;
    let random_address = platform_address - 16;

    let mut image = Image {
        bytes: vec![0; (top - stack_pointer) as usize],
        base: stack_pointer,
    };
    let mut cursor = strings_start;
    let mut place = |image: &mut Image, text: &[u8]| {
        let address = cursor;
        image.put_bytes(address, text);
        cursor += text.len() as u64 + 1;
        address
    };
    let argument_addresses: Vec<u64> = values
        .arguments
        .iter()
        .map(|text| place(&mut image, text))
        .collect();
    let environment_addresses: Vec<u64> = values
        .environment
        .iter()
        .map(|text| place(&mut image, text))
        .collect();
    let executable_name_address = place(&mut image, values.executable_name);
    if let Some(platform) = values.platform {
        image.put_bytes(platform_address, platform);
    }
    image.put_bytes(random_address, &values.random);

    let mut word_address = stack_pointer;
    let mut push = |image: &mut Image, word: u64| {
        image.put_bytes(word_address, &word.to_le_bytes());
        word_address += WORD;
    };
    push(&mut image, values.arguments.len() as u64);
    for address in argument_addresses {
        push(&mut image, address);
    }
    push(&mut image, 0);
    for address in environment_addresses {
        push(&mut image, address);
    }
    push(&mut image, 0);
    for (key, value) in auxv_pairs(
        values,
        random_address,
        executable_name_address,
        platform_address,
    ) {
        push(&mut image, key.number());
        push(&mut image, value);
    }
    Ok(InitialStack {
        bytes: image.bytes,
        address: stack_pointer,
        stack_pointer,
    })
}

fn check_strings(values: &StartValues<'_>) -> Result<(), InitialStackError> {
    let has_nul = |text: &[u8]| text.contains(&0);
    if let Some(index) = values.arguments.iter().position(|text| has_nul(text)) {
        return Err(InitialStackError::ContainsNul(StartString::Argument(index)));
    }
    if let Some(index) = values.environment.iter().position(|text| has_nul(text)) {
        return Err(InitialStackError::ContainsNul(StartString::Environment(
            index,
        )));
    }
    if has_nul(values.executable_name) {
        return Err(InitialStackError::ContainsNul(StartString::ExecutableName));
    }
    if values.platform.is_some_and(has_nul) {
        return Err(InitialStackError::ContainsNul(StartString::Platform));
    }
    Ok(())
}

/// The auxiliary vector, `AT_NULL` last; the three addresses are where
/// the random bytes and strings were placed.
fn auxv_pairs(
    values: &StartValues<'_>,
    random: u64,
    executable_name: u64,
    platform: u64,
) -> Vec<(AuxvKey, u64)> {
    let mut pairs = vec![
        (AuxvKey::HardwareCapabilities, values.hardware_capabilities),
        (AuxvKey::PageSize, values.page_size),
        (AuxvKey::ClockTicks, values.clock_ticks),
        (AuxvKey::ProgramHeaders, values.program_headers),
        (AuxvKey::ProgramHeaderSize, values.program_header_size),
        (AuxvKey::ProgramHeaderCount, values.program_header_count),
        (AuxvKey::InterpreterBase, values.interpreter_base),
        (AuxvKey::Flags, 0),
        (AuxvKey::Entry, values.entry),
        (AuxvKey::UserId, values.user_id.into()),
        (AuxvKey::EffectiveUserId, values.effective_user_id.into()),
        (AuxvKey::GroupId, values.group_id.into()),
        (AuxvKey::EffectiveGroupId, values.effective_group_id.into()),
        (AuxvKey::Secure, values.secure.into()),
        (AuxvKey::Random, random),
        (
            AuxvKey::HardwareCapabilities2,
            values.hardware_capabilities2,
        ),
        (AuxvKey::ExecutableName, executable_name),
    ];
    if values.platform.is_some() {
        pairs.push((AuxvKey::Platform, platform));
    }
    pairs.push((AuxvKey::Null, 0));
    pairs
}

/// The bytes being built, addressed as the program will see them.
struct Image {
    bytes: Vec<u8>,
    base: u64,
}

impl Image {
    fn put_bytes(&mut self, address: u64, data: &[u8]) {
        let offset = (address - self.base) as usize;
        self.bytes[offset..offset + data.len()].copy_from_slice(data);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const TOP: u64 = 0x7fff_f000_0000;

    fn values<'text>(
        arguments: &'text [&'text [u8]],
        environment: &'text [&'text [u8]],
    ) -> StartValues<'text> {
        StartValues {
            arguments,
            environment,
            program_headers: 0x40_0040,
            program_header_size: 56,
            program_header_count: 9,
            page_size: 4096,
            interpreter_base: 0,
            entry: 0x40_1000,
            random: *b"0123456789abcdef",
            hardware_capabilities: 0xff,
            hardware_capabilities2: 0x2,
            user_id: 1000,
            effective_user_id: 1001,
            group_id: 100,
            effective_group_id: 101,
            secure: false,
            clock_ticks: 100,
            executable_name: b"/bin/busybox",
            platform: Some(b"aarch64"),
        }
    }

    /// What a libc's start code finds, read back from the image.
    struct Parsed {
        arguments: Vec<Vec<u8>>,
        environment: Vec<Vec<u8>>,
        auxv: Vec<(u64, u64)>,
    }

    fn word(stack: &InitialStack, address: u64) -> u64 {
        let offset = usize::try_from(address - stack.address).unwrap();
        u64::from_le_bytes(stack.bytes[offset..offset + 8].try_into().unwrap())
    }

    /// The NUL-terminated string at `address`, which must lie inside the
    /// image.
    fn string(stack: &InitialStack, address: u64) -> Vec<u8> {
        assert!(address >= stack.address, "pointer below the image");
        let offset = usize::try_from(address - stack.address).unwrap();
        let rest = &stack.bytes[offset..];
        let end = rest
            .iter()
            .position(|&b| b == 0)
            .expect("string NUL-terminated inside the image");
        rest[..end].to_vec()
    }

    fn parse(stack: &InitialStack) -> Parsed {
        let mut address = stack.stack_pointer;
        let mut next = || {
            let value = word(stack, address);
            address += 8;
            value
        };
        let argc = next();
        let arguments = (0..argc).map(|_| string(stack, next())).collect();
        assert_eq!(next(), 0, "argv ends with NULL");
        let mut environment = Vec::new();
        loop {
            match next() {
                0 => break,
                pointer => environment.push(string(stack, pointer)),
            }
        }
        let mut auxv = Vec::new();
        loop {
            let pair = (next(), next());
            auxv.push(pair);
            if pair.0 == AuxvKey::Null.number() {
                break;
            }
        }
        Parsed {
            arguments,
            environment,
            auxv,
        }
    }

    fn auxv_value(parsed: &Parsed, key: AuxvKey) -> u64 {
        let matches: Vec<u64> = parsed
            .auxv
            .iter()
            .filter(|(k, _)| *k == key.number())
            .map(|&(_, v)| v)
            .collect();
        assert_eq!(matches.len(), 1, "{key:?} once");
        matches[0]
    }

    #[test]
    fn a_libc_reads_back_what_was_given() {
        let arguments: [&[u8]; 2] = [b"busybox", b"--help"];
        let environment: [&[u8]; 2] = [b"HOME=/home", b"PATH=/bin"];
        let given = values(&arguments, &environment);
        let stack = lay_out(TOP, 64 * 1024, &given).unwrap();
        assert_eq!(stack.stack_pointer % 16, 0);
        assert_eq!(stack.address, stack.stack_pointer);
        assert_eq!(stack.address + stack.bytes.len() as u64, TOP);
        let parsed = parse(&stack);
        assert_eq!(parsed.arguments, arguments.map(<[u8]>::to_vec));
        assert_eq!(parsed.environment, environment.map(<[u8]>::to_vec));
        assert_eq!(auxv_value(&parsed, AuxvKey::ProgramHeaders), 0x40_0040);
        assert_eq!(auxv_value(&parsed, AuxvKey::ProgramHeaderSize), 56);
        assert_eq!(auxv_value(&parsed, AuxvKey::ProgramHeaderCount), 9);
        assert_eq!(auxv_value(&parsed, AuxvKey::PageSize), 4096);
        assert_eq!(auxv_value(&parsed, AuxvKey::InterpreterBase), 0);
        assert_eq!(auxv_value(&parsed, AuxvKey::Entry), 0x40_1000);
        assert_eq!(auxv_value(&parsed, AuxvKey::HardwareCapabilities), 0xff);
        assert_eq!(auxv_value(&parsed, AuxvKey::HardwareCapabilities2), 0x2);
        assert_eq!(auxv_value(&parsed, AuxvKey::UserId), 1000);
        assert_eq!(auxv_value(&parsed, AuxvKey::EffectiveUserId), 1001);
        assert_eq!(auxv_value(&parsed, AuxvKey::GroupId), 100);
        assert_eq!(auxv_value(&parsed, AuxvKey::EffectiveGroupId), 101);
        assert_eq!(auxv_value(&parsed, AuxvKey::Secure), 0);
        assert_eq!(auxv_value(&parsed, AuxvKey::ClockTicks), 100);
        let random = auxv_value(&parsed, AuxvKey::Random);
        let offset = (random - stack.address) as usize;
        assert_eq!(&stack.bytes[offset..offset + 16], b"0123456789abcdef");
        assert_eq!(
            string(&stack, auxv_value(&parsed, AuxvKey::ExecutableName)),
            b"/bin/busybox"
        );
        assert_eq!(
            string(&stack, auxv_value(&parsed, AuxvKey::Platform)),
            b"aarch64"
        );
        assert_eq!(parsed.auxv.last(), Some(&(0, 0)), "AT_NULL last");
        assert_eq!(word(&stack, TOP - 8), 0, "the end marker");
    }

    #[test]
    fn refuses_what_does_not_fit_or_holds_a_nul() {
        let arguments: [&[u8]; 1] = [b"x"];
        let given = values(&arguments, &[]);
        let fits = lay_out(TOP, 4096, &given).unwrap();
        let needed = fits.bytes.len() as u64;
        assert_eq!(lay_out(TOP, needed, &given).unwrap(), fits);
        assert_eq!(
            lay_out(TOP, needed - 1, &given),
            Err(InitialStackError::DoesNotFit {
                needed,
                available: needed - 1
            })
        );
        assert!(matches!(
            lay_out(needed - 16, u64::MAX, &given),
            Err(InitialStackError::DoesNotFit { .. })
        ));
        let unaligned = lay_out(TOP + 9, needed + 9, &given).unwrap();
        assert_eq!(unaligned.stack_pointer % 16, 0);
        assert_eq!(parse(&unaligned).arguments, [b"x".to_vec()]);
        let bad: [&[u8]; 2] = [b"ok", b"n\0l"];
        assert_eq!(
            lay_out(TOP, 4096, &values(&bad, &[])),
            Err(InitialStackError::ContainsNul(StartString::Argument(1)))
        );
        assert_eq!(
            lay_out(TOP, 4096, &values(&[], &bad)),
            Err(InitialStackError::ContainsNul(StartString::Environment(1)))
        );
        let no_platform = StartValues {
            platform: None,
            ..values(&[], &[])
        };
        let parsed = parse(&lay_out(TOP, 4096, &no_platform).unwrap());
        assert!(parsed.arguments.is_empty());
        assert!(parsed
            .auxv
            .iter()
            .all(|(key, _)| *key != AuxvKey::Platform.number()));
    }

    fn text() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(1u8..=255, 0..40)
    }

    proptest! {
        #[test]
        fn any_arguments_and_environment_read_back(
            arguments in proptest::collection::vec(text(), 0..12),
            environment in proptest::collection::vec(text(), 0..12),
            top_offset in 0u64..64,
        ) {
            let argument_slices: Vec<&[u8]> = arguments.iter().map(Vec::as_slice).collect();
            let environment_slices: Vec<&[u8]> = environment.iter().map(Vec::as_slice).collect();
            let given = values(&argument_slices, &environment_slices);
            let top = TOP + top_offset;
            let stack = lay_out(top, 1 << 20, &given).unwrap();
            prop_assert_eq!(stack.stack_pointer % 16, 0);
            prop_assert!(stack.address + stack.bytes.len() as u64 <= top);
            let parsed = parse(&stack);
            prop_assert_eq!(&parsed.arguments, &arguments);
            prop_assert_eq!(&parsed.environment, &environment);
            prop_assert_eq!(parsed.auxv.last(), Some(&(0, 0)));
            let needed = top - stack.stack_pointer;
            prop_assert!(lay_out(top, needed, &given).is_ok());
            let too_small = lay_out(top, needed - 1, &given);
            prop_assert!(
                matches!(too_small, Err(InitialStackError::DoesNotFit { .. })),
                "needed - 1 bytes is refused"
            );
        }
    }
}
