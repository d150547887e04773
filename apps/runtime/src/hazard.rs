// SPDX-License-Identifier: MIT OR Apache-2.0
//! Deliberately bad operations, for the test programs `fault` and
//! `hostile`: loads and stores at arbitrary addresses, a privileged
//! instruction, executing data, and raw system calls with arbitrary
//! arguments.
//!
//! They exist to make the kernel prove that a process cannot reach the
//! kernel or another process (DESIGN §3): each one either faults — the
//! kernel ends the process — or is refused by the kernel. They are safe
//! functions because they refuse ([`Refused`]) any access reaching into this
//! process's own image (code, data, heap) or stack: what remains is memory
//! this program's Rust code never uses, so whatever the kernel lets
//! through cannot corrupt it. (A correct kernel lets nothing through; that
//! is what the tests check.)
//!
//! A check covers a whole extent, not just where it starts: a word load or
//! store touches 8 bytes, and a system call that writes a buffer writes
//! from its pointer argument up to its length (or the size of the record
//! it fills, [`written_buffers`]), so a pointer just below this process's
//! memory with a length reaching into it is refused too. An extent whose
//! end would pass the top of the address space is taken to run to the
//! top: a correct kernel never wraps a user buffer around (DESIGN §3).
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
use core::mem::size_of;
use core::ops::Range;
use manux_abi::{Stat, Syscall};

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

/// Whether any of the `length` bytes from `start` lies in [`own_ranges`].
pub fn is_any_own(start: usize, length: usize) -> bool {
    overlaps(&own_ranges(), start, length)
}

/// Whether the extent of `length` bytes from `start` meets one of
/// `ranges`. An empty extent meets nothing; one whose end would wrap
/// runs to the top of the address space.
fn overlaps(ranges: &[Range<usize>], start: usize, length: usize) -> bool {
    if length == 0 {
        return false;
    }
    // The last byte, not one past it: `usize::MAX` itself can be covered.
    let last = start.saturating_add(length - 1);
    ranges
        .iter()
        .any(|range| !range.is_empty() && start < range.end && last >= range.start)
}

fn refuse_own(start: usize, length: usize) -> Result<(), Refused> {
    if is_any_own(start, length) {
        Err(Refused)
    } else {
        Ok(())
    }
}

/// How long a buffer the kernel writes is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Length {
    /// The value of this argument.
    Argument(usize),
    /// A record of this many bytes.
    Bytes(usize),
}

/// The buffers system call `number` writes, as (pointer argument, length),
/// after the ABI's table (`manux_abi::Syscall`) and `crate::syscall`'s
/// SAFETY comments. No wildcard: a new call must say what it writes.
fn written_buffers(number: u64) -> &'static [(usize, Length)] {
    use Length::{Argument, Bytes};
    use Syscall::*;
    let Some(call) = Syscall::from_number(number) else {
        // Unknown numbers are `ENOSYS`: nothing is written.
        return &[];
    };
    match call {
        Read | ReadDirectory => &[(1, Argument(2))],
        FileStatus => &[(1, Bytes(size_of::<Stat>()))],
        StatAt => &[(3, Bytes(size_of::<Stat>()))],
        ReadLink => &[(3, Argument(4))],
        GetCurrentDirectory => &[(0, Argument(1))],
        Pipe => &[(0, Bytes(2 * size_of::<i32>()))],
        Wait => &[(1, Bytes(size_of::<i32>()))],
        ClockGetTime => &[(1, Bytes(2 * size_of::<u64>()))],
        GetLimits => &[(0, Bytes(size_of::<manux_abi::Limits>()))],
        Write | OpenAt | Close | Seek | MakeDirectory | Unlink | RemoveDirectory | Link
        | Rename | Symlink | ChangeDirectory | ChangeDirectoryFd | Duplicate | DuplicateTo
        | Spawn | Execute | Exit | GetProcessId | Kill | Sleep | Sync | FileSync | PowerOff
        | Xchroot | SetTimes | ChangeMode | Benchmark | CloseRange | SetTreeLimits
        | TakeInterrupt => &[],
    }
}

/// Refuses a system call that could touch this process's own memory: an
/// argument that, taken as an address, lies in `ranges`, or a buffer the
/// call writes (pointer and length, [`written_buffers`]) that reaches
/// into them anywhere along its extent.
fn check_syscall(
    ranges: &[Range<usize>],
    number: u64,
    arguments: &[u64; 6],
) -> Result<(), Refused> {
    let word = size_of::<u64>();
    for argument in arguments {
        if overlaps(ranges, *argument as usize, 1) {
            return Err(Refused);
        }
    }
    for (pointer, length) in written_buffers(number) {
        let length = match *length {
            Length::Argument(index) => usize::try_from(arguments[index]).unwrap_or(usize::MAX),
            Length::Bytes(bytes) => bytes,
        };
        // A zero length still names an address: keep a word, so the
        // refusal does not depend on how the kernel treats empty buffers.
        if overlaps(ranges, arguments[*pointer] as usize, length.max(word)) {
            return Err(Refused);
        }
    }
    Ok(())
}

/// Loads the word at `address`: the kernel must end the process unless
/// the address is mapped readable for it.
pub fn read(address: usize) -> Result<u64, Refused> {
    refuse_own(address, size_of::<u64>())?;
    // SAFETY: no byte of the word at `address` is in this process's own
    // memory (checked above), so no Rust reference covers it: the load
    // faults or reads bytes this program does not otherwise use
    // (obligation 1).
    Ok(unsafe { crate::arch::read_word(address) })
}

/// Stores `value` at `address`: the kernel must end the process unless the
/// address is mapped writable for it.
pub fn write(address: usize, value: u64) -> Result<(), Refused> {
    refuse_own(address, size_of::<u64>())?;
    // SAFETY: no byte of the word at `address` is in this process's own
    // memory (checked above): the store faults or lands where this
    // program's Rust code never looks (obligation 1).
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
/// process's own memory, or when a buffer the call writes reaches into it
/// from below ([`written_buffers`]): then nothing the kernel writes can
/// land in memory this program uses.
pub fn syscall(number: u64, arguments: [u64; 6]) -> Result<u64, Refused> {
    check_syscall(&own_ranges(), number, &arguments)?;
    // SAFETY: no argument points into this process's own memory and no
    // buffer the call writes overlaps it (checked above), so the call can
    // only read or write memory this program does not use, or fail with
    // EFAULT (obligation 1).
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
    fn an_extent_is_checked_to_its_end() {
        let own = [0x40_0000..0x52_3000, 0x7e_f000..0x80_0000];
        // Wholly below, touching the start, inside, straddling the end.
        assert!(!overlaps(&own, 0x3f_fff8, 8));
        assert!(overlaps(&own, 0x3f_fffc, 8));
        assert!(overlaps(&own, 0x45_0000, 1));
        assert!(overlaps(&own, 0x52_2ffc, 8));
        assert!(!overlaps(&own, 0x52_3000, 8));
        // A long extent that starts below and ends beyond a range.
        assert!(overlaps(&own, 0x10_0000, 0x100_0000));
        // Empty extents and empty ranges meet nothing.
        assert!(!overlaps(&own, 0x45_0000, 0));
        assert!(!overlaps(&[0x1000..0x1000, 0..0], 0x1000, 8));
        // An end past the top of the address space does not wrap to 0.
        assert!(!overlaps(&own, usize::MAX - 4, usize::MAX));
        let top = [0..0, usize::MAX - 1..usize::MAX];
        assert!(overlaps(&top, usize::MAX - 4, 8));
        assert!(overlaps(&own, 0x7f_ffff, usize::MAX));
    }

    #[test]
    fn a_written_buffer_that_reaches_own_memory_is_refused() {
        let own = [0x40_0000..0x52_3000, 0x7e_f000..0x80_0000];
        let read = Syscall::Read.number();
        let below = 0x3f_f000;
        // `read(fd, buffer, length)`: the buffer starts below the image.
        assert_eq!(
            check_syscall(&own, read, &[5, below, 0x800, 0, 0, 0]),
            Ok(())
        );
        assert_eq!(
            check_syscall(&own, read, &[5, below, 0x1001, 0, 0, 0]),
            Err(Refused)
        );
        assert_eq!(
            check_syscall(&own, read, &[5, below, u64::MAX, 0, 0, 0]),
            Err(Refused)
        );
        // `write` only reads its buffer: the length is not an extent.
        let write = Syscall::Write.number();
        assert_eq!(
            check_syscall(&own, write, &[5, below, 0x1001, 0, 0, 0]),
            Ok(())
        );
        // Records of fixed size: `fstat` fills a `Stat`, `wait` an `i32`.
        let fstat = Syscall::FileStatus.number();
        let just_below = 0x40_0000 - 16;
        assert_eq!(
            check_syscall(&own, fstat, &[3, just_below, 0, 0, 0, 0]),
            Err(Refused)
        );
        let wait = Syscall::Wait.number();
        assert_eq!(
            check_syscall(&own, wait, &[3, just_below, 0, 0, 0, 0]),
            Ok(())
        );
        // The length may sit in any argument the ABI says: `readlinkat`'s is the fifth.
        let read_link = Syscall::ReadLink.number();
        let arguments = [3, 0x10, 4, below, 0x2000, 0];
        assert_eq!(check_syscall(&own, read_link, &arguments), Err(Refused));
        // Any argument inside own memory is refused, whatever the call.
        assert_eq!(
            check_syscall(&own, 999, &[0x45_0000, 0, 0, 0, 0, 0]),
            Err(Refused)
        );
        // Kernel addresses with huge lengths do not wrap into own memory.
        let kernel = 0xffff_0000_4020_0000;
        assert_eq!(
            check_syscall(&own, read, &[5, kernel, u64::MAX, 0, 0, 0]),
            Ok(())
        );
    }

    #[test]
    fn addresses_outside_are_used() {
        // On the host no image or initial stack is known: nothing refused,
        // and the stub reads and calls nothing.
        assert_eq!(read(0x10), Ok(0));
        assert_eq!(syscall(1, [1, 0x10, 1, 0, 0, 0]).map(|_| ()), Ok(()));
        assert!(!is_own(usize::MAX - 4096));
        assert!(!is_any_own(usize::MAX - 4096, usize::MAX));
    }
}
