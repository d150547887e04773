// SPDX-License-Identifier: MIT OR Apache-2.0
#![doc = include_str!("../README.md")]
//!
//! # Design principles
//! - The only `unsafe` in `apps/` lives here, each block with its proof.
//! - The kernel ABI comes from `manux-abi` alone; nothing is redeclared.
//! - What can be tested on the host is: only the trap and start-up
//!   assembly need a guest.
#![cfg_attr(not(test), no_std)]
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
#[macro_export]
macro_rules! entry {
    ($main:path) => {
        /// The program's entry, called by name by the runtime's start-up.
        // `no_mangle` is why `unsafe_code` must be allowed here: the symbol
        // is this item's only unsafe property, and the runtime declares it
        // with exactly this signature.
        #[allow(unsafe_code)]
        #[no_mangle]
        pub fn __manux_main() -> i32 {
            $crate::process::Termination::exit_code($main())
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
