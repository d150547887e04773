// SPDX-License-Identifier: MIT OR Apache-2.0
//! Deliberately bad operations, for the test programs `fault` and
//! `hostile`: loads and stores at arbitrary addresses, a privileged
//! instruction, executing data, and raw system calls with arbitrary
//! arguments.
//!
//! They exist to make the kernel prove that a process cannot reach the
//! kernel or another process (DESIGN §3): each one either faults — the
//! kernel ends the process — or is refused by the kernel. They are safe
//! functions because they refuse ([`Refused`]) any address inside this
//! process's own image (code, data, heap) or stack: what remains is memory
//! this program's Rust code never uses, so whatever the kernel lets
//! through cannot corrupt it. (A correct kernel lets nothing through; that
//! is what the tests check.)
//!
//! The own ranges are the image from `__ehdr_start` to `_end` (symbols
//! the linker defines) and 16 MiB below to 1 MiB above the initial stack
//! pointer — wider than the stack the kernel gives, which is fine: a
//! refusal only makes the caller pick another address.

use crate::process::initial_stack_pointer;
use alloc::vec::Vec;
use core::ops::Range;

/// The operation was refused: an address lies in this process's own memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refused;

const PAGE: usize = 4096;
const STACK_BELOW: usize = 16 << 20;
const STACK_ABOVE: usize = 1 << 20;

#[cfg(target_os = "none")]
fn image_range() -> Range<usize> {
    extern "C" {
        static __ehdr_start: u8;
        static _end: u8;
    }
    let start = &raw const __ehdr_start as usize;
    let end = &raw const _end as usize;
    start & !(PAGE - 1)..end.next_multiple_of(PAGE)
}

#[cfg(not(target_os = "none"))]
fn image_range() -> Range<usize> {
    0..0
}

/// This process's own memory: its image and (generously) its stack.
pub fn own_ranges() -> [Range<usize>; 2] {
    let stack = initial_stack_pointer();
    let stack_range = stack.saturating_sub(STACK_BELOW) & !(PAGE - 1)
        ..stack.saturating_add(STACK_ABOVE).next_multiple_of(PAGE);
    [image_range(), stack_range]
}

/// Whether `address` lies in [`own_ranges`].
pub fn is_own(address: usize) -> bool {
    own_ranges().iter().any(|range| range.contains(&address))
}

fn refuse_own(address: usize) -> Result<(), Refused> {
    if is_own(address) {
        Err(Refused)
    } else {
        Ok(())
    }
}

/// Loads the word at `address`: the kernel must end the process unless
/// the address is mapped readable for it.
pub fn read(address: usize) -> Result<u64, Refused> {
    refuse_own(address)?;
    // SAFETY: `address` is not in this process's own memory (checked
    // above), so no Rust reference covers it: the load faults or reads
    // bytes this program does not otherwise use (obligation 1).
    Ok(unsafe { crate::arch::read_word(address) })
}

/// Stores `value` at `address`: the kernel must end the process unless the
/// address is mapped writable for it.
pub fn write(address: usize, value: u64) -> Result<(), Refused> {
    refuse_own(address)?;
    // SAFETY: `address` is not in this process's own memory (checked
    // above): the store faults or lands where this program's Rust code
    // never looks (obligation 1).
    unsafe { crate::arch::write_word(address, value) };
    Ok(())
}

/// Executes an instruction only the kernel may: `mrs x0, ttbr1_el1` on
/// AArch64, `hlt` on x86_64. Returns only if the CPU let it run.
pub fn privileged_instruction() {
    crate::arch::privileged_instruction();
}

/// Where [`execute_data`] puts its code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataPlace {
    /// A heap buffer (in the image's `.bss`).
    Heap,
    /// A buffer on the stack.
    Stack,
}

/// Copies machine code that calls `exit(66)` into writable data and jumps
/// to it: the kernel must end the process (data is never executable), and
/// if it does not, the process exits with status 66.
pub fn execute_data(place: DataPlace) -> ! {
    let code = crate::arch::EXIT_66_CODE;
    let mut on_stack = [0u8; 64];
    let heap_buffer: Vec<u8>;
    let address = match place {
        DataPlace::Heap => {
            heap_buffer = code.to_vec();
            heap_buffer.as_ptr() as usize
        }
        DataPlace::Stack => {
            on_stack[..code.len()].copy_from_slice(code);
            core::hint::black_box(&mut on_stack);
            on_stack.as_ptr() as usize
        }
    };
    // SAFETY: the code at `address` is `EXIT_66_CODE`, which, if it runs
    // at all, ends the process with `exit(66)` and never returns
    // (obligation 1).
    unsafe { crate::arch::jump(address) }
}

/// Makes system call `number` with raw `arguments`; returns the raw result
/// register. Refused when any argument, taken as an address, lies in this
/// process's own memory: then nothing the kernel writes through it can
/// land in memory this program uses.
pub fn syscall(number: u64, arguments: [u64; 6]) -> Result<u64, Refused> {
    for argument in arguments {
        refuse_own(argument as usize)?;
    }
    // SAFETY: no argument points into this process's own memory (checked
    // above), so the call can only read or write memory this program does
    // not use, or fail with EFAULT (obligation 1).
    Ok(unsafe { crate::arch::syscall(number, arguments) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_null_page_is_refused_before_start_up() {
        // On the host the "stack" is at 0, so low addresses are own memory.
        assert_eq!(read(0x10), Err(Refused));
        assert_eq!(syscall(1, [1, 0x10, 1, 0, 0, 0]), Err(Refused));
        assert!(!is_own(usize::MAX - 4096));
    }
}
