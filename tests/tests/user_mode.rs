// SPDX-License-Identifier: MIT OR Apache-2.0
//! User mode: programs from the ext2l disk run unprivileged as
//! processes isolated by page tables; faults kill only the faulting
//! process; hostile system calls leave the kernel standing; a spinning
//! process does not starve others; files programs write persist.
#![forbid(unsafe_code)]

use guest_tests::*;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(90);

fn privilege_name(arch: Arch) -> &'static str {
    match arch {
        Arch::Aarch64 => "EL0",
        Arch::X86_64 => "ring 3",
    }
}

#[test]
fn hello_runs_unprivileged_as_init_with_its_arguments() {
    // On every configuration: user mode does not depend on the machine.
    for (mut machine, _disk) in system_configurations() {
        machine.append = "init=/bin/hello first second".into();
        let boot = boot(&machine, b"", TIMEOUT);
        let what = describe(&machine);
        let line = boot.expect_line("hello from user mode");
        assert!(line.contains("pid 1"), "{what}: {line}");
        assert!(
            line.contains(privilege_name(machine.arch)),
            "{what}: {line}"
        );
        boot.expect_line("argv[1] = first");
        boot.expect_line("argv[2] = second");
        boot.expect_line("init exited with status 0");
        boot.expect_status(0);
    }
}

#[test]
fn every_fault_kills_only_the_faulting_child() {
    let kinds = [
        ("kernel-read", "page fault"),
        ("kernel-write", "page fault"),
        ("other-process", "page fault"),
        ("unmapped", "page fault"),
        ("privileged", "instruction"),
        ("exec-data", "page fault"),
    ];
    for (mut machine, _disk) in system_machines() {
        for (kind, report) in kinds {
            machine.append = format!("init=/bin/fault {kind}");
            let boot = boot(&machine, b"", TIMEOUT);
            let what = format!("{} fault {kind}", describe(&machine));
            let line = boot
                .line_with("killed:")
                .unwrap_or_else(|| panic!("{what}: no kill report:\n{}", boot.output));
            assert!(
                line.contains("(fault)") && line.contains(report),
                "{what}: {line}"
            );
            boot.expect_line("survived");
            assert!(
                !boot.output.contains("PANIC") && !boot.output.contains("KERNEL BUG"),
                "{what}:\n{}",
                boot.output
            );
            boot.expect_status(0);
        }
    }
}

#[test]
fn hostile_system_calls_leave_the_kernel_standing() {
    for (mut machine, _disk) in system_machines() {
        machine.append = "init=/bin/hostile 5".into();
        let boot = boot(&machine, b"", TIMEOUT);
        boot.expect_line("survived");
        assert!(
            !boot.output.contains("PANIC") && !boot.output.contains("KERNEL BUG"),
            "{}",
            boot.output
        );
        boot.expect_status(0);
    }
}

#[test]
fn a_spinning_process_does_not_starve_another() {
    for (mut machine, _disk) in system_machines() {
        machine.append = "init=/bin/race".into();
        let boot = boot(&machine, b"", TIMEOUT);
        boot.expect_line("hello from user mode");
        boot.expect_line("race: hello finished while spin was running");
        boot.expect_status(0);
    }
}

#[test]
fn a_file_written_by_a_program_is_on_disk_after_power_off() {
    // On every configuration: the block cache's writes go through each
    // virtio transport.
    for (mut machine, disk) in system_configurations() {
        machine.append = "init=/bin/writefile /home/user/persist.txt written-in-the-guest".into();
        let boot = boot(&machine, b"", TIMEOUT);
        boot.expect_status(0);
        assert_eq!(
            ext2l_cat(disk.path(), "/home/user/persist.txt"),
            "written-in-the-guest\n",
            "{}:\n{}",
            describe(&machine),
            boot.output
        );
        assert_ext2l_clean(disk.path(), &describe(&machine));
    }
}

#[test]
fn a_program_that_is_not_immutable_is_refused() {
    for (mut machine, _disk) in system_machines() {
        // The test image's /lab/secret.txt is an ordinary (mutable) file:
        // `init=` of it must fail (/etc/motd is installed immutable).
        machine.append = "init=/lab/secret.txt".into();
        let boot = boot(&machine, b"", TIMEOUT);
        boot.expect_line("init: cannot start /lab/secret.txt: Permission denied");
        assert!(!boot.output.contains("PANIC"), "{}", boot.output);
    }
}
