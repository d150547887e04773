// SPDX-License-Identifier: MIT OR Apache-2.0
//! `embed LAUNCHER GRAMMAR.toml PROGRAM OUTPUT`: writes a copy of the
//! launcher file with the grammar (a `[package.grammar]`-style TOML table,
//! at the top level of the file) and the real program's path embedded —
//! what the image builder does for each package, by hand, for trying a
//! launcher on a scratch disk:
//!
//! ```sh
//! cargo run -p launcher-grammar --example embed -- \
//!     target/apps/aarch64-unknown-none-softfloat/release/launcher cat.toml /bin/cat cat.launcher
//! ext2l put disk.img cat.launcher /bin/cat
//! ext2l rootlink set disk.img /bin/cat /pkg/cat
//! ext2l chattr +i disk.img /bin/cat
//! ```
#![forbid(unsafe_code)]

use launcher_grammar::{embed, Grammar};
use std::process::ExitCode;

fn main() -> ExitCode {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let [launcher, grammar, program, output] = arguments.as_slice() else {
        eprintln!("usage: embed LAUNCHER GRAMMAR.toml PROGRAM OUTPUT");
        return ExitCode::from(2);
    };
    let result = (|| -> Result<(), String> {
        let bytes = std::fs::read(launcher).map_err(|error| format!("{launcher}: {error}"))?;
        let text =
            std::fs::read_to_string(grammar).map_err(|error| format!("{grammar}: {error}"))?;
        let grammar: Grammar =
            toml::from_str(&text).map_err(|error| format!("{grammar}: {error}"))?;
        let filled = embed(&bytes, &grammar, program.as_bytes())
            .map_err(|error| format!("{launcher}: {error}"))?;
        std::fs::write(output, filled).map_err(|error| format!("{output}: {error}"))
    })();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("embed: {message}");
            ExitCode::FAILURE
        }
    }
}
