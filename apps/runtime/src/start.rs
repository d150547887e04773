// SPDX-License-Identifier: MIT OR Apache-2.0
//! Program start-up: from the initial stack to the program's `main`.
//!
//! `_start` (in [`crate::arch`]) relocates the image and calls
//! [`__manux_start`] with the stack pointer the kernel gave. That reads the
//! initial stack (`manux_abi::startup`: argc, argv, envp, auxv), turns it
//! into [`Startup`] — byte strings that live as long as the program — sets
//! up the heap, and calls the program's `__manux_main`, which the
//! [`crate::entry!`] macro defines; its return value is the exit status.
//! That symbol is the program's only contribution: a safe function that
//! calls [`run_main`] with the program's `main`. Its name, declared here
//! and given in the macro, is the runtime's to keep right, so programs
//! forbid `unsafe_code` outright.
//!
//! The walk over the stack ([`collect`]) takes two readers, so the host
//! tests feed it a fake stack; only the readers `__manux_start` passes
//! touch raw memory.

use alloc::vec::Vec;
use manux_abi::limits;
use manux_abi::startup::{InitialStack, StackError};

/// What the kernel passed to the program.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Startup {
    /// `argv`, without the NUL terminators.
    pub arguments: Vec<&'static [u8]>,
    /// `envp`, `NAME=value` strings.
    pub environment: Vec<&'static [u8]>,
    /// The auxiliary vector's pairs, `AT_NULL` excluded.
    pub auxiliary: Vec<(u64, u64)>,
    /// The initial stack pointer.
    pub stack_pointer: usize,
    /// One past the highest byte of the initial stack's words and strings.
    pub stack_end: usize,
}

/// The start-up facts, set once before `main`.
pub(crate) static STARTUP: spin::Once<Startup> = spin::Once::new();

/// Reads the initial stack: `word(i)` is the `i`-th 64-bit word from the
/// stack pointer, `string(pointer)` the NUL-terminated string at a user
/// address (`None` if it is longer than `limits::ARGUMENT_BYTES`).
///
/// Return values: the start-up facts, or the [`StackError`] that makes the
/// stack unusable (a NULL `argv` entry or a bad string is
/// [`StackError::BadString`]).
pub fn collect(
    stack_pointer: usize,
    mut word: impl FnMut(usize) -> Option<u64>,
    mut string: impl FnMut(u64) -> Option<&'static [u8]>,
) -> Result<Startup, StackError> {
    let layout = InitialStack::parse(&mut word)?;
    let mut startup = Startup {
        stack_pointer,
        stack_end: stack_pointer.saturating_add(layout.words() * 8),
        ..Startup::default()
    };
    let mut total_bytes = 0usize;
    let mut read_strings =
        |first: usize,
         count: usize,
         startup: &mut Startup,
         pick: fn(&mut Startup) -> &mut Vec<&'static [u8]>| {
            for index in first..first + count {
                let pointer = word(index).ok_or(StackError::Truncated)?;
                if pointer == 0 {
                    return Err(StackError::BadString);
                }
                let text = string(pointer).ok_or(StackError::BadString)?;
                let end = (pointer as usize).saturating_add(text.len() + 1);
                startup.stack_end = startup.stack_end.max(end);
                total_bytes += text.len() + 1;
                if total_bytes > limits::ARGUMENT_BYTES {
                    return Err(StackError::BadString);
                }
                pick(startup).push(text);
            }
            Ok(())
        };
    read_strings(
        layout.arguments_index(),
        layout.argument_count,
        &mut startup,
        |startup| &mut startup.arguments,
    )?;
    read_strings(
        layout.environment_index(),
        layout.environment_count,
        &mut startup,
        |startup| &mut startup.environment,
    )?;
    for pair in 0..layout.auxiliary_count {
        let index = layout.auxiliary_index() + 2 * pair;
        let key = word(index).ok_or(StackError::Truncated)?;
        let value = word(index + 1).ok_or(StackError::Truncated)?;
        startup.auxiliary.push((key, value));
    }
    Ok(startup)
}

/// Called by `_start` with the initial stack pointer; never returns.
///
/// # Safety
/// 1. `stack_pointer` points at an initial stack laid out as
///    `manux_abi::startup` describes, mapped readable for the whole life
///    of the process and written by nobody after this call begins.
/// 2. The image is relocated and nothing else runs (called once, by
///    `_start`).
#[cfg(target_os = "none")]
#[no_mangle]
unsafe extern "C" fn __manux_start(stack_pointer: *const u64) -> ! {
    crate::heap::initialize();
    let word = |index: usize| {
        // SAFETY: obligation 1; `InitialStack::parse` and `collect` read
        // only the words the layout found so far says exist, each one
        // after the NULL or AT_NULL checks that bound the block.
        Some(unsafe { stack_pointer.add(index).read() })
    };
    let string = |pointer: u64| -> Option<&'static [u8]> {
        let start = pointer as usize as *const u8;
        for length in 0..=limits::ARGUMENT_BYTES {
            // SAFETY: obligation 1: the kernel put a NUL-terminated string
            // at each argv/envp pointer, and we stop at its NUL.
            if unsafe { start.add(length).read() } == 0 {
                // SAFETY: the `length` bytes before the NUL were just read
                // from that string; obligation 1 keeps them mapped and
                // unchanged for the rest of the program ('static).
                return Some(unsafe { core::slice::from_raw_parts(start, length) });
            }
        }
        None
    };
    match collect(stack_pointer as usize, word, string) {
        Ok(startup) => {
            STARTUP.call_once(|| startup);
        }
        Err(error) => {
            crate::eprintln!("manux-runtime: unusable initial stack: {error:?}");
            crate::syscall::exit(127);
        }
    }
    crate::syscall::exit(__manux_main())
}

// SAFETY: `entry!` defines the symbol with exactly this signature, a safe
// Rust function; the declaration is the only use of it.
#[cfg(target_os = "none")]
unsafe extern "Rust" {
    /// The program's entry, defined by [`crate::entry!`]: a program
    /// without it does not link.
    safe fn __manux_main() -> i32;
}

/// Runs the program's `main` and turns what it returns into the exit
/// status: the start-up glue [`crate::entry!`] reaches, kept here so the
/// program's expansion is a single call.
#[doc(hidden)]
pub fn run_main<T: crate::process::Termination>(main: fn() -> T) -> i32 {
    main().exit_code()
}

#[cfg(test)]
mod tests {
    use super::*;
    use manux_abi::startup::{write_initial_stack, AT_PAGESZ, AT_RANDOM};

    /// A fake process: a stack block built by the ABI's writer, leaked so
    /// its strings are `'static`.
    fn fake_stack(arguments: &[&[u8]], environment: &[&[u8]]) -> (u64, u64, &'static [u8]) {
        let top = 0x10_0000u64;
        let stack: &'static mut [u8] = Box::leak(vec![0u8; 8192].into_boxed_slice());
        let sp = write_initial_stack(
            stack,
            top,
            arguments,
            environment,
            &[(AT_PAGESZ, 4096), (AT_RANDOM, 0x1234)],
        )
        .unwrap();
        (top, sp, stack)
    }

    type Readers = (
        Box<dyn FnMut(usize) -> Option<u64>>,
        Box<dyn FnMut(u64) -> Option<&'static [u8]>>,
    );

    fn readers(top: u64, sp: u64, stack: &'static [u8]) -> Readers {
        let offset =
            move |address: u64| (stack.len() as u64).checked_sub(top.checked_sub(address)?);
        let word = move |index: usize| {
            let at = offset(sp + 8 * index as u64)? as usize;
            Some(u64::from_le_bytes(stack.get(at..at + 8)?.try_into().ok()?))
        };
        let string = move |pointer: u64| {
            let at = offset(pointer)? as usize;
            let length = stack.get(at..)?.iter().position(|&byte| byte == 0)?;
            Some(&stack[at..at + length])
        };
        (Box::new(word), Box::new(string))
    }

    #[test]
    fn collects_what_the_kernel_laid_out() {
        let (top, sp, stack) = fake_stack(&[b"/bin/hello", b"-v"], &[b"HOME=/.../home/user"]);
        let (word, string) = readers(top, sp, stack);
        let startup = collect(sp as usize, word, string).unwrap();
        assert_eq!(startup.arguments, vec![&b"/bin/hello"[..], &b"-v"[..]]);
        assert_eq!(startup.environment, vec![&b"HOME=/.../home/user"[..]]);
        assert_eq!(
            startup.auxiliary,
            vec![(AT_PAGESZ, 4096), (AT_RANDOM, 0x1234)]
        );
        assert_eq!(startup.stack_pointer, sp as usize);
        // The strings end at the top of the stack.
        assert_eq!(startup.stack_end, top as usize);
    }

    #[test]
    fn a_null_argument_is_refused() {
        let words = [1u64, 0, 0, 0, 0, 0];
        let result = collect(0, |index| words.get(index).copied(), |_| Some(&b""[..]));
        assert_eq!(result, Err(StackError::BadString));
        let words = [2u64, 0x1000, 0, 0, 0, 0, 0];
        let result = collect(0, |index| words.get(index).copied(), |_| Some(&b"x"[..]));
        assert_eq!(result, Err(StackError::BadString));
    }

    #[test]
    fn an_unreadable_string_is_refused() {
        let words = [1u64, 0x1000, 0, 0, 0, 0];
        let result = collect(0, |index| words.get(index).copied(), |_| None);
        assert_eq!(result, Err(StackError::BadString));
    }
}
