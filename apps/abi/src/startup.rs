// SPDX-License-Identifier: MIT OR Apache-2.0
//! The initial user stack: what a program finds at `sp` when it starts.
//!
//! The kernel enters a new program at its ELF entry point with the stack
//! pointer 16-byte aligned and pointing at this block of 64-bit words (the
//! System V layout Linux uses, so it reads familiarly):
//!
//! ```text
//! sp ->  argc
//!        argv[0] … argv[argc-1]   pointers to NUL-terminated strings
//!        0
//!        envp[0] … envp[envc-1]   pointers to NUL-terminated strings
//!        0
//!        (key, value) pairs       the auxiliary vector, ending with (AT_NULL, 0)
//!        … the strings themselves, above
//! ```
//!
//! Every other register is unspecified (the runtime assumes nothing of
//! them). [`write_initial_stack`] builds the block (for the kernel) and
//! [`InitialStack::parse`] reads it back (for the runtime); the tests make
//! them agree. Both are bounded by [`crate::limits`], so a runtime never walks
//! off a malformed stack.

use crate::limits;

/// End of the auxiliary vector.
pub const AT_NULL: u64 = 0;
/// The page size (value: bytes).
pub const AT_PAGESZ: u64 = 6;
/// The program's entry point (value: address, relocated).
pub const AT_ENTRY: u64 = 9;
/// 16 random bytes (value: their address), for seeding.
pub const AT_RANDOM: u64 = 25;

/// Most auxiliary-vector pairs a runtime reads (the `AT_NULL` pair included).
pub const AUXILIARY_PAIRS: usize = 32;

/// Where the pieces of an initial stack are, in 64-bit words from `sp`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InitialStack {
    /// Number of arguments.
    pub argument_count: usize,
    /// Number of environment strings.
    pub environment_count: usize,
    /// Number of auxiliary pairs before `AT_NULL`.
    pub auxiliary_count: usize,
}

/// Why an initial stack was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StackError {
    /// More arguments plus environment strings than [`limits::ARGUMENTS`].
    TooManyStrings,
    /// The auxiliary vector has no `AT_NULL` within [`AUXILIARY_PAIRS`].
    UnterminatedAuxiliaryVector,
    /// A word could not be read (past the end of what the reader has).
    Truncated,
    /// A string is longer than [`limits::ARGUMENT_BYTES`] or has no NUL.
    BadString,
}

impl InitialStack {
    /// Word index of `argv[0]`.
    pub fn arguments_index(&self) -> usize {
        1
    }

    /// Word index of `envp[0]`.
    pub fn environment_index(&self) -> usize {
        self.arguments_index() + self.argument_count + 1
    }

    /// Word index of the first auxiliary key.
    pub fn auxiliary_index(&self) -> usize {
        self.environment_index() + self.environment_count + 1
    }

    /// Reads the layout through `word`, which returns the 64-bit word at an
    /// index from `sp`, or `None` past what is readable. At most
    /// `limits::ARGUMENTS + 3 + 2 * AUXILIARY_PAIRS` words are read.
    pub fn parse(mut word: impl FnMut(usize) -> Option<u64>) -> Result<InitialStack, StackError> {
        let argument_count = word(0).ok_or(StackError::Truncated)?;
        if argument_count > limits::ARGUMENTS as u64 {
            return Err(StackError::TooManyStrings);
        }
        let argument_count = argument_count as usize;
        let mut layout = InitialStack {
            argument_count,
            environment_count: 0,
            auxiliary_count: 0,
        };
        if word(layout.environment_index() - 1).ok_or(StackError::Truncated)? != 0 {
            // argv must end with its NULL exactly where argc says.
            return Err(StackError::Truncated);
        }
        loop {
            let index = layout.environment_index() + layout.environment_count;
            if word(index).ok_or(StackError::Truncated)? == 0 {
                break;
            }
            layout.environment_count += 1;
            if argument_count + layout.environment_count > limits::ARGUMENTS {
                return Err(StackError::TooManyStrings);
            }
        }
        loop {
            if layout.auxiliary_count >= AUXILIARY_PAIRS {
                return Err(StackError::UnterminatedAuxiliaryVector);
            }
            let index = layout.auxiliary_index() + 2 * layout.auxiliary_count;
            if word(index).ok_or(StackError::Truncated)? == AT_NULL {
                return Ok(layout);
            }
            layout.auxiliary_count += 1;
        }
    }

    /// The number of words the block occupies, `AT_NULL` pair included.
    pub fn words(&self) -> usize {
        self.auxiliary_index() + 2 * (self.auxiliary_count + 1)
    }
}

/// Lays out an initial stack at the top of `stack`, a buffer that will be
/// mapped so that its end is at user address `stack_top`; returns the user
/// address `sp` must hold (16-byte aligned). Each string is copied with a
/// NUL after it; `auxiliary` pairs are written before the closing
/// `(AT_NULL, 0)`.
///
/// Return values: `Some(sp)`, or `None` when the strings or pairs exceed
/// [`limits`], a string contains a NUL, `stack_top` is not 16-byte
/// aligned, or the buffer is too small.
pub fn write_initial_stack(
    stack: &mut [u8],
    stack_top: u64,
    arguments: &[&[u8]],
    environment: &[&[u8]],
    auxiliary: &[(u64, u64)],
) -> Option<u64> {
    if arguments.len() + environment.len() > limits::ARGUMENTS
        || auxiliary.len() >= AUXILIARY_PAIRS
        || stack_top % 16 != 0
    {
        return None;
    }
    let string_bytes: usize = arguments
        .iter()
        .chain(environment)
        .map(|string| string.len() + 1)
        .sum();
    if string_bytes > limits::ARGUMENT_BYTES
        || arguments.iter().chain(environment).any(|s| s.contains(&0))
    {
        return None;
    }
    let layout = InitialStack {
        argument_count: arguments.len(),
        environment_count: environment.len(),
        auxiliary_count: auxiliary.len(),
    };
    let length = stack.len();
    let strings_start = length.checked_sub(string_bytes)?;
    // The word block sits below the strings, its start 16-byte aligned in
    // user space (stack_top is, so the distance from the end decides).
    let block_from_top = (string_bytes + layout.words() * 8).div_ceil(16) * 16;
    let block_start = length.checked_sub(block_from_top)?;
    let user_address = |offset: usize| stack_top - (length - offset) as u64;

    let mut string_offset = strings_start;
    let mut word_offset = block_start;
    let mut put_word = |stack: &mut [u8], value: u64| {
        stack[word_offset..word_offset + 8].copy_from_slice(&value.to_le_bytes());
        word_offset += 8;
    };
    put_word(stack, arguments.len() as u64);
    for group in [arguments, environment] {
        for string in group {
            stack[string_offset..string_offset + string.len()].copy_from_slice(string);
            stack[string_offset + string.len()] = 0;
            put_word(stack, user_address(string_offset));
            string_offset += string.len() + 1;
        }
        put_word(stack, 0);
    }
    for &(key, value) in auxiliary.iter().chain(&[(AT_NULL, 0)]) {
        put_word(stack, key);
        put_word(stack, value);
    }
    Some(user_address(block_start))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_string(stack: &[u8], stack_top: u64, address: u64) -> Vec<u8> {
        let offset = (stack.len() as u64 - (stack_top - address)) as usize;
        let length = stack[offset..].iter().position(|&b| b == 0).unwrap();
        stack[offset..offset + length].to_vec()
    }

    #[test]
    fn a_written_stack_parses_back() {
        let mut stack = vec![0u8; 4096];
        let top = 0x7000_0000u64;
        let arguments: [&[u8]; 3] = [b"/bin/hello", b"one", b""];
        let environment: [&[u8]; 1] = [b"HOME=/.../home/user"];
        let auxiliary = [(AT_PAGESZ, 4096), (AT_ENTRY, 0x40_1000)];
        let sp =
            write_initial_stack(&mut stack, top, &arguments, &environment, &auxiliary).unwrap();
        assert_eq!(sp % 16, 0);
        let base = (stack.len() as u64 - (top - sp)) as usize;
        let word = |index: usize| {
            let at = base + index * 8;
            stack
                .get(at..at + 8)
                .map(|bytes| u64::from_le_bytes(bytes.try_into().unwrap()))
        };
        let layout = InitialStack::parse(word).unwrap();
        assert_eq!(layout.argument_count, 3);
        assert_eq!(layout.environment_count, 1);
        assert_eq!(layout.auxiliary_count, 2);
        for (index, expected) in arguments.iter().enumerate() {
            let pointer = word(layout.arguments_index() + index).unwrap();
            assert_eq!(&read_string(&stack, top, pointer), expected);
        }
        let pointer = word(layout.environment_index()).unwrap();
        assert_eq!(read_string(&stack, top, pointer), environment[0]);
        assert_eq!(word(layout.auxiliary_index()), Some(AT_PAGESZ));
        assert_eq!(word(layout.auxiliary_index() + 1), Some(4096));
        assert_eq!(word(layout.auxiliary_index() + 4), Some(AT_NULL));
    }

    #[test]
    fn malformed_stacks_are_refused() {
        let from = |words: Vec<u64>| move |index: usize| words.get(index).copied();
        assert_eq!(
            InitialStack::parse(from(vec![])),
            Err(StackError::Truncated)
        );
        assert_eq!(
            InitialStack::parse(from(vec![u64::MAX])),
            Err(StackError::TooManyStrings)
        );
        // argc says 1, but argv[1] is not NULL.
        assert_eq!(
            InitialStack::parse(from(vec![1, 0x1000, 0x2000, 0, 0, 0])),
            Err(StackError::Truncated)
        );
        // No AT_NULL anywhere.
        let mut endless = vec![0u64, 0, 0];
        endless.extend(std::iter::repeat_n(7, 200));
        assert_eq!(
            InitialStack::parse(from(endless)),
            Err(StackError::UnterminatedAuxiliaryVector)
        );
        // Too many environment strings.
        let mut crowded = vec![0u64, 0];
        crowded.extend(std::iter::repeat_n(0x1000, limits::ARGUMENTS + 1));
        crowded.push(0);
        assert_eq!(
            InitialStack::parse(from(crowded)),
            Err(StackError::TooManyStrings)
        );
        // The smallest valid stack: no arguments, no environment, AT_NULL.
        assert_eq!(
            InitialStack::parse(from(vec![0, 0, 0, AT_NULL, 0])),
            Ok(InitialStack {
                argument_count: 0,
                environment_count: 0,
                auxiliary_count: 0
            })
        );
    }

    #[test]
    fn oversized_inputs_are_refused() {
        let mut stack = vec![0u8; 256];
        assert_eq!(
            write_initial_stack(&mut stack, 0x1000, &[&[b'x'; 300]], &[], &[]),
            None
        );
        assert_eq!(
            write_initial_stack(&mut stack, 0x1008, &[b"a"], &[], &[]),
            None
        );
        assert_eq!(
            write_initial_stack(&mut stack, 0x1000, &[b"a\0b"], &[], &[]),
            None
        );
    }
}
