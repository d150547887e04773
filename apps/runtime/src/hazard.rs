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
//! the linker defines; the heap is in `.bss`) and the stack in use: from a
//! page below the caller's frame up to the end of the initial stack's
//! strings. Stack below that is not in use while the call runs (the
//! targets have no red zone); what the kernel might write there is
//! overwritten by later frames before anything reads it. In one address
//! space with packed ranges (DESIGN §3), the bounds must be this tight:
//! another process's memory, or an unmapped page, may be close by.

use crate::process::initial_stack_end;
use alloc::vec::Vec;
use core::ops::Range;

/// The operation was refused: an address lies in this process's own memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refused;

const PAGE: usize = 4096;
/// Below the caller's frame: room for the frames of the calls the hazard
/// itself makes while the kernel runs.
const STACK_MARGIN: usize = 2 * PAGE;

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

/// This process's own memory in use now: its image, and its stack from
/// just below the caller's frame to the end of the initial stack.
#[inline(never)]
pub fn own_ranges() -> [Range<usize>; 2] {
    let marker = 0u8;
    let frame = core::hint::black_box(&marker) as *const u8 as usize;
    ranges(image_range(), frame, initial_stack_end())
}

/// The own ranges given the image, an address in the current frame and the
/// end of the initial stack, rounded out to pages.
fn ranges(image: Range<usize>, frame: usize, stack_end: usize) -> [Range<usize>; 2] {
    let stack_start = frame.saturating_sub(STACK_MARGIN) & !(PAGE - 1);
    let stack_end = stack_end.next_multiple_of(PAGE);
    [image, stack_start..stack_end.max(stack_start)]
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
    fn the_stack_in_use_and_the_image_are_own_memory() {
        let [image, stack] = ranges(0x40_0000..0x52_3000, 0x7f_1234, 0x80_0000);
        assert_eq!(image, 0x40_0000..0x52_3000);
        assert_eq!(stack, 0x7e_f000..0x80_0000);
        // Without a start-up (on the host) nothing on the stack is known.
        let [_, stack] = ranges(0..0, 0x7f_1234, 0);
        assert!(stack.is_empty());
    }

    #[test]
    fn addresses_outside_are_used() {
        // On the host no image or initial stack is known: nothing refused,
        // and the stub reads and calls nothing.
        assert_eq!(read(0x10), Ok(0));
        assert_eq!(syscall(1, [1, 0x10, 1, 0, 0, 0]).map(|_| ()), Ok(()));
        assert!(!is_own(usize::MAX - 4096));
    }
}
