// SPDX-License-Identifier: MIT OR Apache-2.0
//! `true`: does nothing, successfully (status 0), whatever its arguments.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use manux_runtime::entry;

entry!(main);

fn main() -> i32 {
    0
}
