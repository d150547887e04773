// SPDX-License-Identifier: MIT OR Apache-2.0
//! libFuzzer target: any bytes as an ext2l image (seed it with the
//! e2fsprogs corpus and `ext2l mkfs` images; libFuzzer mutates them).
//! Run with `cargo +nightly fuzz run mutated_image` from `fs-ext2l/fuzz`.
#![no_main]

#[path = "../exercise.rs"]
mod exercise;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    exercise::exercise(data);
    exercise::exercise_repair(data);
});
