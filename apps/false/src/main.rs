// SPDX-License-Identifier: MIT OR Apache-2.0
//! `false`: does nothing, unsuccessfully (status 1), whatever its
//! arguments.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use manux_runtime::entry;

entry!(main);

fn main() -> i32 {
    1
}
