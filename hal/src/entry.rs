// SPDX-License-Identifier: MIT OR Apache-2.0
//! How the architecture's boot code reaches the kernel's `main`.
//!
//! The boot code in `arch/` ends by calling the Rust symbol
//! `__manux_kernel_main`. The kernel defines it with [`kernel_entry!`], which
//! also type-checks the kernel's function against the signature the boot
//! code relies on. This is the pattern of `cortex-m-rt`'s `#[entry]`: the
//! symbol's attribute is written in this crate, so the kernel itself stays
//! free of `unsafe`.

/// Declares the kernel's main function: `fn(&'static BootInfo) -> !`.
///
/// ```ignore
/// hal::kernel_entry!(kernel_main);
/// fn kernel_main(boot: &'static hal::BootInfo) -> ! { … }
/// ```
#[macro_export]
macro_rules! kernel_entry {
    ($path:path) => {
        // SAFETY: this is the one definition of the symbol, and its
        // signature matches the declaration in `hal::entry` exactly.
        #[unsafe(export_name = "__manux_kernel_main")]
        extern "Rust" fn __manux_kernel_main(boot: &'static $crate::BootInfo) -> ! {
            let main: fn(&'static $crate::BootInfo) -> ! = $path;
            main(boot)
        }
    };
}

unsafe extern "Rust" {
    /// Defined by the kernel with [`kernel_entry!`].
    safe fn __manux_kernel_main(boot: &'static crate::BootInfo) -> !;
}

/// Called once by the architecture's boot code, with interrupts masked, the
/// MMU on, the heap ready and the console working.
pub(crate) fn enter_kernel(boot: &'static crate::BootInfo) -> ! {
    __manux_kernel_main(boot)
}
