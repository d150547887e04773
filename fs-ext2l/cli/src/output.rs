// SPDX-License-Identifier: MIT OR Apache-2.0
//! Standard output for the subcommands' reports, a line at a time.
//!
//! `println!` panics when standard output is closed; a reader that went
//! away early (`ext2l info IMAGE | head`) must end the command quietly, as
//! it ends any Unix tool, and any other write error is reported, never a
//! panic. Subcommands print through [`say!`].

use std::io::Write;

/// Writes one line; exits quietly (status 0) if the reader has gone, or
/// with status 1 and a message on any other write error.
pub fn line(arguments: std::fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    let written = out.write_fmt(arguments).and_then(|()| out.write_all(b"\n"));
    if let Err(error) = written {
        if error.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("ext2l: standard output: {error}");
        std::process::exit(1);
    }
}

/// `println!` for the subcommands' reports (see the module doc).
macro_rules! say {
    () => {
        $crate::output::line(format_args!(""))
    };
    ($($arguments:tt)*) => {
        $crate::output::line(format_args!($($arguments)*))
    };
}
pub(crate) use say;
