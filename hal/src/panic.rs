// SPDX-License-Identifier: MIT OR Apache-2.0
//! The kernel's panic handler: a readable report, then power-off with a
//! failure status, so a panic never looks like a clean shutdown.

use crate::{Arch, Architecture, ExitStatus};
use core::fmt::Write;

struct PanicWriter;

impl Write for PanicWriter {
    fn write_str(&mut self, text: &str) -> core::fmt::Result {
        Arch::console_write(text.as_bytes());
        Ok(())
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    Arch::disable_interrupts();
    let mut out = PanicWriter;
    let _ = write!(out, "\nKERNEL PANIC");
    if let Some(location) = info.location() {
        let _ = write!(out, " at {}:{}", location.file(), location.line());
    }
    let _ = writeln!(out, ": {}", info.message());
    let _ = writeln!(out, "system halted");
    Arch::power_off(ExitStatus::Failure(2))
}
