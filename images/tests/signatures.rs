// SPDX-License-Identifier: MIT OR Apache-2.0
//! Signatures end to end: a package signed with `cargo xtask sign`'s
//! machinery verifies; a changed file, grammar or program, or another
//! key, does not; a missing signature needs a development key, and that
//! key must be the publisher's.
#![forbid(unsafe_code)]

mod common;

use common::*;
use std::path::Path;
use xtask::manifest::{self, Manifest};
use xtask::package_check::{self, DevelopmentKeys, Problem, Rejected};
use xtask::signing::SecretKey;

/// The base image without development keys, plus a package `tool` that
/// ships a file from the lab.
fn text() -> String {
    let base = base_text().replace("development-keys = \"keys\"\n", "");
    format!(
        "{base}\n[[package]]\nname = \"tool\"\npublisher = \"trusted\"\nfiles = [{{ path = \"share/hello.txt\", source = \"files/hello.txt\" }}]\nneeds = [{{ path = \"/etc/fonts\" }}]\ncalls = [\"cat\"]\n[package.grammar]\noptions = [{{ short = \"v\" }}]\nrest = \"input\"\n"
    )
}

fn key(lab: &Path, publisher: &str) -> SecretKey {
    SecretKey::read(&lab.join("keys").join(format!("{publisher}.secret"))).unwrap()
}

/// `text` with every package signed by `signer`'s key for aarch64.
fn signed(text: &str, lab: &Path, signer: &str) -> String {
    let manifest = parse(text, lab).unwrap();
    let programs = corpus_programs();
    let key = key(lab, signer);
    let mut text = text.to_string();
    for package in &manifest.packages {
        let loaded = package_check::load(&manifest, package, &programs, "aarch64").unwrap();
        let signature = key.sign(&loaded.canonical_form);
        text = manifest::set_signature(&text, &package.name, "aarch64", Some(&signature)).unwrap();
    }
    text
}

/// The problems of checking `text` (no development keys).
fn problems(
    text: &str,
    lab: &Path,
    programs: &[xtask::disk_image::Program],
) -> Vec<(String, Problem)> {
    let manifest = parse(text, lab).unwrap();
    match package_check::check(&manifest, programs, "aarch64", &DevelopmentKeys::none()) {
        Ok(_) => Vec::new(),
        Err(Rejected(rejections)) => rejections
            .into_iter()
            .map(|rejection| (rejection.entry, rejection.problem))
            .collect(),
    }
}

#[test]
fn a_signed_image_verifies_and_builds() {
    let lab = lab();
    let text = signed(&text(), lab.path(), "trusted");
    assert_eq!(problems(&text, lab.path(), &corpus_programs()), []);
    let image = lab.path().join("disk.img");
    build(&text, lab.path(), &image, &corpus_programs()).unwrap();
    // The signature is per architecture: the x86_64 form differs.
    let manifest = parse(&text, lab.path()).unwrap();
    let error = package_check::check(
        &manifest,
        &corpus_programs(),
        "x86_64",
        &DevelopmentKeys::none(),
    )
    .unwrap_err();
    assert!(error
        .0
        .iter()
        .all(|r| r.problem == Problem::MissingSignature("x86_64".into())));
}

#[test]
fn a_tampered_file_breaks_the_signature() {
    let lab = lab();
    let text = signed(&text(), lab.path(), "trusted");
    std::fs::write(lab.path().join("files/hello.txt"), b"hello, trojan\n").unwrap();
    assert_eq!(
        problems(&text, lab.path(), &corpus_programs()),
        [("package \"tool\"".to_string(), Problem::BadSignature)]
    );
    let error = build(
        &text,
        lab.path(),
        &lab.path().join("disk.img"),
        &corpus_programs(),
    )
    .unwrap_err();
    assert!(
        format!("{error:#}").contains("package \"tool\", field signature.aarch64: bad signature")
    );
    assert!(!lab.path().join("disk.img").exists());
}

#[test]
fn a_tampered_program_breaks_the_signature() {
    let lab = lab();
    let text = signed(&text(), lab.path(), "trusted");
    let mut programs = corpus_programs();
    let cat = programs
        .iter_mut()
        .find(|program| program.name == "cat")
        .unwrap();
    cat.bytes[7] ^= 0x20;
    assert_eq!(
        problems(&text, lab.path(), &programs),
        [("package \"cat\"".to_string(), Problem::BadSignature)]
    );
}

#[test]
fn a_tampered_grammar_breaks_the_signature() {
    let lab = lab();
    let text = signed(&text(), lab.path(), "trusted");
    // `-v` now takes an output file: the launcher would hand over more.
    let tampered = text.replace(
        "options = [{ short = \"v\" }]",
        "options = [{ short = \"v\", value = \"output\" }]",
    );
    assert_ne!(tampered, text);
    assert_eq!(
        problems(&tampered, lab.path(), &corpus_programs()),
        [("package \"tool\"".to_string(), Problem::BadSignature)]
    );
    // So does a need or a call added after signing.
    let tampered = text.replace(
        "/etc/fonts\" }]\ncalls = [\"cat\"]",
        "/etc/fonts\" }]\ncalls = [\"cat\", \"sh\"]",
    );
    assert_ne!(tampered, text);
    assert_eq!(
        problems(&tampered, lab.path(), &corpus_programs()),
        [("package \"tool\"".to_string(), Problem::BadSignature)]
    );
    // Spelling the same entry differently changes nothing.
    let respelled = text.replace(
        "name = \"tool\"\npublisher = \"trusted\"",
        "publisher = 'trusted'\nname = 'tool'   # reordered",
    );
    assert_ne!(respelled, text);
    assert_eq!(problems(&respelled, lab.path(), &corpus_programs()), []);
}

#[test]
fn another_key_is_refused() {
    let lab = lab();
    let text = signed(&text(), lab.path(), "limited");
    let found = problems(&text, lab.path(), &corpus_programs());
    assert_eq!(found.len(), 3, "{found:?}");
    assert!(found
        .iter()
        .all(|(_, problem)| *problem == Problem::BadSignature));
}

#[test]
fn unsigned_packages_need_the_publishers_development_key() {
    let lab = lab();
    let unsigned = text();
    let found = problems(&unsigned, lab.path(), &corpus_programs());
    assert!(found
        .iter()
        .all(|(_, problem)| *problem == Problem::MissingSignature("aarch64".into())));
    // With the development keys they are signed at build time.
    let with_keys = unsigned.replacen("[image]\n", "[image]\ndevelopment-keys = \"keys\"\n", 1);
    let manifest: Manifest = parse(&with_keys, lab.path()).unwrap();
    let keys = DevelopmentKeys::for_manifest(&manifest).unwrap();
    package_check::check(&manifest, &corpus_programs(), "aarch64", &keys).unwrap();
    // A development key that is not the publisher's signs nothing.
    std::fs::copy(
        lab.path().join("keys/limited.secret"),
        lab.path().join("keys/trusted.secret"),
    )
    .unwrap();
    let keys = DevelopmentKeys::for_manifest(&manifest).unwrap();
    let error = package_check::check(&manifest, &corpus_programs(), "aarch64", &keys).unwrap_err();
    assert!(error
        .0
        .iter()
        .all(|rejection| rejection.problem == Problem::DevelopmentKeyMismatch));
}
