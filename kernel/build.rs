//! Links the kernel with its architecture's linker script from `hal/`,
//! without a symbol table; the link map `kernel.map`, next to the kernel
//! (`target/<triple>/release/kernel.map`), lists every symbol's address
//! for reading a fault or panic report.
use std::env;
use std::path::PathBuf;

fn main() {
    let arch = env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os != "none" {
        return;
    }
    let manifest =
        PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let script = manifest
        .join("..")
        .join("hal")
        .join("src")
        .join("arch")
        .join(&arch)
        .join("link.ld");
    println!("cargo:rerun-if-changed={}", script.display());
    println!("cargo:rustc-link-arg=-T{}", script.display());
    // Segments aligned to 4 KiB pages in the file too: lld's AArch64
    // default (64 KiB) pads the ELF by up to 64 KiB per segment.
    println!("cargo:rustc-link-arg=-zmax-page-size=4096");
    // The symbol table would be a fifth of the file; the map keeps the
    // addresses where a person can read them. OUT_DIR is
    // `<profile dir>/build/kernel-<hash>/out`.
    println!("cargo:rustc-link-arg=--strip-all");
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    if let Some(profile_directory) = out.ancestors().nth(3) {
        println!(
            "cargo:rustc-link-arg=-Map={}",
            profile_directory.join("kernel.map").display()
        );
    }
}
