// SPDX-License-Identifier: MIT OR Apache-2.0
//! Resource isolation: one process tree taking all it may starves no
//! other. `hog` (run as init) plays a login shell whose commands are a
//! spawn storm whose children each take pipes and fill their `/...`, a
//! bystander in another tree that allocates, runs a program and exits
//! normally meanwhile, and a tree with small limits whose spawns get
//! `EAGAIN` and whose pipes get `ENOMEM`. And for in-use inodes: a tree
//! that holds every live object it may gets `ENOMEM` at its share, while
//! another tree still creates, opens and reads files and runs a program.

#![forbid(unsafe_code)]

use guest_tests::*;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(120);

#[test]
fn a_tree_that_takes_everything_starves_no_other() {
    for (mut machine, _disk) in system_machines() {
        machine.append = "init=/bin/hog".into();
        let boot = boot(&machine, b"", TIMEOUT);
        let what = describe(&machine);
        let storm = boot.expect_line("children, then");
        assert!(storm.ends_with("then EAGAIN"), "{what}: {storm}");
        let children: usize = storm
            .trim_start_matches("storm: ")
            .split(' ')
            .next()
            .and_then(|count| count.parse().ok())
            .unwrap_or(0);
        assert!(
            children >= 4,
            "{what}: the storm started only {children} children"
        );
        boot.expect_line("bystander: ok");
        let greedy = boot.expect_line("pipes, then");
        assert!(
            greedy.contains("then EAGAIN") && greedy.ends_with("then ENOMEM"),
            "{what}: {greedy}"
        );
        boot.expect_line("hog: every tree kept running");
        assert!(
            boot.line_with("killed").is_none(),
            "{what}: a process was killed"
        );
        boot.expect_line("init exited with status 0");
        boot.expect_status(0);
    }
}

/// A small machine, so the live-object table (sized from the kernel
/// heap, at least 1024 objects) and a tree's share of it are reached in
/// seconds.
const INODES_MEMORY_MIB: u32 = 32;

#[test]
fn a_tree_that_holds_every_inode_it_may_starves_no_other() {
    for (mut machine, _disk) in system_machines() {
        machine.append = "init=/bin/hog inodes".into();
        machine.memory_mib = INODES_MEMORY_MIB;
        let boot = boot(&machine, b"", TIMEOUT);
        let what = describe(&machine);
        let held = boot.expect_line("directories held, then");
        // Refused by its budget (ENOMEM), not by a full table (ENFILE).
        assert!(held.ends_with("then ENOMEM"), "{what}: {held}");
        let steps: usize = held
            .trim_start_matches("inodes-hold: ")
            .split(' ')
            .next()
            .and_then(|count| count.parse().ok())
            .unwrap_or(0);
        assert!(
            (100..1024).contains(&steps),
            "{what}: the tree held {steps} directories, not its share of the table"
        );
        // The shell runs the bystander only while the holder is full.
        boot.expect_line("inodes-bystander: ok");
        boot.expect_line("hog: every tree kept its inodes");
        assert!(
            boot.line_with("killed").is_none(),
            "{what}: a process was killed"
        );
        boot.expect_line("init exited with status 0");
        boot.expect_status(0);
    }
}
