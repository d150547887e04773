// SPDX-License-Identifier: MIT OR Apache-2.0
//! The kernel log: `log` records printed on the console with a timestamp.
//!
//! Lines look like `[    0.012345] INFO  memory: 128 MiB RAM …`: seconds
//! since reset, the level, the message. A spin lock keeps lines from
//! interleaving; interrupts are masked while it is held so an interrupt
//! handler that logs cannot deadlock against the code it interrupted.

use core::fmt;
use embedded_io::Write;
use hal::console::Console;
use hal::{Arch, Architecture};
use log::{LevelFilter, Log, Metadata, Record};
use spin::Mutex;

static CONSOLE: Mutex<Console> = Mutex::new(Console);

/// Prints formatted text on the console, atomically with respect to other
/// prints and log lines.
pub fn print_fmt(arguments: fmt::Arguments<'_>) {
    let were_enabled = Arch::disable_interrupts();
    let _ = CONSOLE.lock().write_fmt(arguments);
    if were_enabled {
        Arch::enable_interrupts();
    }
}

/// Prints raw bytes (program output) on the console, atomically with
/// respect to other prints.
pub fn print_bytes(bytes: &[u8]) {
    let were_enabled = Arch::disable_interrupts();
    let _ = CONSOLE.lock().write_all(bytes);
    if were_enabled {
        Arch::enable_interrupts();
    }
}

struct KernelLogger;

impl Log for KernelLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let time = Arch::time_since_reset();
        print_fmt(format_args!(
            "[{:5}.{:06}] {:<5} {}\n",
            time.as_secs(),
            time.subsec_micros(),
            record.level(),
            record.args()
        ));
    }

    fn flush(&self) {}
}

static LOGGER: KernelLogger = KernelLogger;

/// Installs the logger with the given maximum level.
pub fn init(level: LevelFilter) {
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(level);
}
