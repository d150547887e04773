// SPDX-License-Identifier: MIT OR Apache-2.0
//! Each program's root holds exactly what its package declares,
//! checked on the system image the guest tests boot — the one
//! `cargo xtask test` built from `images/manifest.toml` with the real
//! programs — by the image builder's audit
//! (`xtask::package_roots::audit`): the launcher of each package with its
//! rootlink, grammar and program path; in its root, `bin/NAME` (the real
//! program), the launchers of the packages it calls, its files and needs
//! and nothing else, all immutable; the needs the shared inodes; no root
//! with a name. No QEMU: the image is read on the host.
#![forbid(unsafe_code)]

use guest_tests::*;
use xtask::disk_image;
use xtask::manifest::{self, Manifest};

#[test]
fn every_package_root_holds_exactly_what_its_package_declares() {
    let manifest = Manifest::load(&manifest::default_path()).unwrap();
    for arch in arches() {
        let image = system_disk(arch);
        let differences = disk_image::audit(image.path(), &manifest).unwrap();
        assert!(
            differences.is_empty(),
            "{}: the image differs from the manifest:\n{}",
            arch.name(),
            differences.join("\n")
        );
    }
}
