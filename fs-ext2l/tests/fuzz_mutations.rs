// SPDX-License-Identifier: MIT OR Apache-2.0
//! The fuzz target's work, run by `cargo test` over deterministic mutations:
//! seed images (fresh file systems with content, small corpus images) get
//! bytes overwritten at random — mostly in the metadata at the start of the
//! image — and each mutant goes through `fuzz/exercise.rs`. A failure here
//! is a panic, hang or runaway allocation the libFuzzer target would find.

#[path = "../fuzz/exercise.rs"]
mod exercise;

mod common;

use std::io::Read;

use common::*;

/// xorshift64*: reproducible, dependency-free randomness.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound.max(1) as u64) as usize
    }
}

/// A small file system with files, directories, links and rootlinks.
fn seed_image(block_size: u32) -> Vec<u8> {
    let mut file_system = new_file_system(2 << 20, block_size, 256, true);
    let root = file_system.root();
    let directory = file_system.mkdir(root, b"dir", 0o755, 0, 0).unwrap();
    for index in 0..20 {
        let file = file_system
            .create(directory, format!("file{index}").as_bytes(), 0o644, 0, 0)
            .unwrap();
        file_system
            .write(file, 0, &vec![index as u8; 300 * index])
            .unwrap();
    }
    let big = file_system.create(root, b"big", 0o644, 0, 0).unwrap();
    file_system.write(big, 0, &vec![7u8; 300_000]).unwrap();
    file_system
        .symlink(root, b"link", &[b'x'; 80], 0, 0)
        .unwrap();
    let package = file_system.mkdir(root, b"package", 0o755, 0, 0).unwrap();
    file_system
        .installer()
        .link(directory, package, b"shared")
        .unwrap();
    file_system.installer().set_rootlink(big, package).unwrap();
    file_system.unmount().unwrap().into_bytes()
}

fn small_corpus_images() -> Vec<Vec<u8>> {
    // As `corpus.rs`: beside the repository, or where `EXT2L_CORPUS_DIR` says.
    let directory = match std::env::var_os("EXT2L_CORPUS_DIR") {
        Some(directory) => std::path::PathBuf::from(directory),
        None => {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/e2fsprogs-f")
        }
    };
    [
        "f_baddir.img.gz",
        "f_dirlink.img.gz",
        "f_lotsbad.img.gz",
        "f_badsymlinks.img.gz",
        "f_h_normal.img.gz",
    ]
    .iter()
    .filter_map(|name| std::fs::File::open(directory.join(name)).ok())
    .map(|file| {
        let mut image = Vec::new();
        flate2::read::GzDecoder::new(file)
            .take(8 << 20)
            .read_to_end(&mut image)
            .unwrap();
        image
    })
    .collect()
}

#[test]
fn mutated_images_never_break_the_library() {
    let mut seeds: Vec<Vec<u8>> = [1024, 2048, 4096].into_iter().map(seed_image).collect();
    seeds.extend(small_corpus_images());
    // EXT2L_FUZZ_SEED and EXT2L_FUZZ_ROUNDS widen the search by hand; the
    // defaults keep `cargo test` reproducible and quick.
    let seed_value = std::env::var("EXT2L_FUZZ_SEED")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(0x0123_4567_89AB_CDEFu64);
    let rounds: usize = std::env::var("EXT2L_FUZZ_ROUNDS")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(80);
    let mut random = Random(seed_value | 1);
    let mut mounted = 0;
    let mut total = 0;
    for seed in &seeds {
        for _ in 0..rounds {
            let mut image = seed.clone();
            let metadata_area = image.len().min(96 * 1024);
            for _ in 0..1 + random.below(24) {
                let position = if random.below(5) == 0 {
                    random.below(image.len())
                } else {
                    random.below(metadata_area)
                };
                // Small numbers, all-ones and random bytes break different checks.
                image[position] = match random.below(4) {
                    0 => 0,
                    1 => 0xFF,
                    2 => image[position].wrapping_add(1),
                    _ => random.next() as u8,
                };
            }
            total += 1;
            if exercise::exercise(&image) {
                mounted += 1;
            }
        }
    }
    eprintln!("{mounted} of {total} mutants mounted");
    assert!(
        mounted > total / 3,
        "too few mutants mounted to exercise anything"
    );
}
