// SPDX-License-Identifier: MIT OR Apache-2.0
#![doc = include_str!("../README.md")]
//!
//! # Design principles
//! - The only `unsafe` in `apps/` lives here, each block with its proof.
//! - The kernel ABI comes from `manux-abi` alone; nothing is redeclared.
//! - What can be tested on the host is: only the trap and start-up
//!   assembly need a guest.
#![cfg_attr(not(test), no_std)]
#![allow(
    unsafe_code,
    reason = "the runtime is where the programs' unsafe code lives"
)]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]
#![warn(missing_docs)]

extern crate alloc;

mod arch;
pub mod hazard;
pub mod heap;
pub mod io;
pub mod process;
pub mod start;
pub mod syscall;

pub use manux_abi as abi;
pub use manux_abi::Errno;

/// Defines the program's entry: `entry!(main)` makes the start-up code call
/// `main()` after it has read the arguments and set up the heap, and exit
/// with the status `main`'s return value gives (see
/// [`process::Termination`]).
///
/// The program supplies only a safe function; the one unsafe property of
/// the expansion, the symbol's name, is written here, in the runtime, as
/// `hal::kernel_entry!` does for the kernel (and `cortex-m-rt`'s `#[entry]`
/// for its programs). rustc does not report `unsafe_code` for tokens that
/// come from another crate's macro, so a program that declares
/// `#![forbid(unsafe_code)]` can use it — and, under that forbid, cannot
/// define the symbol any other way.
///
/// ```
/// #![forbid(unsafe_code)]
/// fn program_main() -> Result<(), &'static str> {
///     Ok(())
/// }
/// manux_runtime::entry!(program_main);
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! entry {
    ($main:path) => {
        /// The program's entry, called by name by the runtime's start-up.
        // SAFETY: this is the one definition of the symbol (a second
        // `entry!` fails to link), and its signature is the one
        // `manux_runtime::start` declares.
        #[unsafe(export_name = "__manux_main")]
        extern "Rust" fn __manux_main() -> i32 {
            $crate::start::run_main($main)
        }
    };
}

/// Prints the panic on standard error and exits with status 101.
#[cfg(all(target_os = "none", not(test)))]
#[panic_handler]
fn panic(information: &core::panic::PanicInfo<'_>) -> ! {
    eprintln!("{}: {}", process::name(), information);
    syscall::exit(101)
}
