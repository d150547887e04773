// SPDX-License-Identifier: MIT OR Apache-2.0
//! Resource isolation: one process tree taking all it may starves no
//! other. `hog` (run as init) plays a login shell whose commands are a
//! spawn storm whose children each take pipes and fill their `/...`, a
//! bystander in another tree that allocates, runs a program and exits
//! normally meanwhile, and a tree with small limits whose spawns get
//! `EAGAIN` and whose pipes get `ENOMEM`.

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
