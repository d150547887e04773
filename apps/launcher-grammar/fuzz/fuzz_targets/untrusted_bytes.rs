// SPDX-License-Identifier: MIT OR Apache-2.0
//! libFuzzer target: any bytes as a binary grammar, an embedded blob and a
//! command line (see `exercise.rs`). Run with
//! `cargo +nightly fuzz run untrusted_bytes` from `apps/launcher-grammar/fuzz`.
#![no_main]

#[path = "../exercise.rs"]
mod exercise;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    exercise::exercise(data);
});
