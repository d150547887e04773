// SPDX-License-Identifier: MIT OR Apache-2.0
//! The fuzz harness's checks (`fuzz/exercise.rs`) over deterministic
//! mutations of known-good inputs: binary grammars, embedded blobs and
//! command lines, each truncated, bit-flipped, byte-replaced, extended
//! and spliced, so `cargo test` exercises what libFuzzer would without
//! needing it.
#![forbid(unsafe_code)]

#[path = "../fuzz/exercise.rs"]
mod exercise;

use launcher_grammar::{encode_blob, to_bytes};

/// xorshift64*: deterministic, so a failure reproduces.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound.max(1) as u64) as usize
    }
}

fn seeds() -> Vec<Vec<u8>> {
    let mut seeds = Vec::new();
    for grammar in exercise::fixed_grammars() {
        seeds.push(to_bytes(&grammar));
        let blob = encode_blob(&grammar, b"/bin/cat").unwrap();
        // The interesting part of a blob is its head.
        seeds.push(blob[..128].to_vec());
        seeds.push(blob);
    }
    seeds.push(b"-n\0--output=x\0-o\0--\0-\0notes.txt\0--lines\x005".to_vec());
    seeds.push(b"xvf\0in.tar\0-C\0dir\0-e\0s\0m".to_vec());
    seeds.push(b".\0!\0-name\0x\0-newer\0r\0-exec\0wc\0{}\0+\0-print\0;".to_vec());
    seeds
}

fn mutate(random: &mut Random, seed: &[u8]) -> Vec<u8> {
    let mut data = seed.to_vec();
    for _ in 0..1 + random.below(4) {
        match random.below(6) {
            0 if !data.is_empty() => {
                let length = random.below(data.len());
                data.truncate(length);
            }
            1 if !data.is_empty() => {
                let at = random.below(data.len());
                data[at] ^= 1 << random.below(8);
            }
            2 if !data.is_empty() => {
                let at = random.below(data.len());
                data[at] = [0, 1, 0x7f, 0x80, 0xff, b'-', b'=', b'/'][random.below(8)];
            }
            3 => {
                let at = random.below(data.len() + 1);
                let byte = random.next() as u8;
                data.insert(at, byte);
            }
            4 if data.len() > 1 => {
                let from = random.below(data.len());
                let to = random.below(data.len());
                let (low, high) = (from.min(to), from.max(to));
                let piece = data[low..high].to_vec();
                data.extend_from_slice(&piece);
            }
            _ => data.push(random.next() as u8),
        }
    }
    data
}

#[test]
fn mutated_inputs_never_panic() {
    let mut random = Random(0x5eed_1a0c_4e55_0001);
    let seeds = seeds();
    for seed in &seeds {
        exercise::exercise(seed);
    }
    for _ in 0..20_000 {
        let seed = &seeds[random.below(seeds.len())];
        let data = mutate(&mut random, seed);
        exercise::exercise(&data);
    }
}
