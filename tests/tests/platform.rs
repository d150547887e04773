// SPDX-License-Identifier: MIT OR Apache-2.0
//! Platform tests: the kernel boots each machine
//! configuration to `ready`, reports RAM and disks as QEMU configured them,
//! ticks at the rate it claims, writes sectors the host can read back, and
//! ends with an exit status that tells success from failure. What depends
//! on the transport runs on every configuration; what depends on the
//! machine (RAM map, timer, power-off, panic) on every machine model.
#![forbid(unsafe_code)]

use guest_tests::*;
use std::io::{Read, Seek, SeekFrom};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(60);

#[test]
fn every_configuration_boots_to_ready_and_powers_off_cleanly() {
    for mut machine in configurations() {
        let disk = scratch_disk(16 << 20);
        machine.disks.push(disk.path().to_path_buf());
        machine.append = "test=poweroff".into();
        let boot = boot(&machine, b"", TIMEOUT);
        let what = describe(&machine);
        let banner = boot
            .output
            .lines()
            .find(|line| !line.trim().is_empty())
            .unwrap_or("");
        let expected = format!(
            "Manux {} {} ",
            env!("CARGO_PKG_VERSION"),
            machine.arch.name()
        );
        assert!(
            banner.starts_with(&expected),
            "{what}: first line {banner:?} is not the banner {expected:?}"
        );
        boot.expect_line("ready in ");
        assert!(!boot.output.contains("PANIC"), "{what}: {}", boot.output);
        boot.expect_status(0);
    }
}

#[test]
fn ram_reported_equals_dash_m() {
    for mut machine in machine_models() {
        for memory in [96u32, 256] {
            machine.memory_mib = memory;
            machine.append = "test=poweroff".into();
            let boot = boot(&machine, b"", TIMEOUT);
            boot.expect_line(&format!("memory: {memory} MiB RAM"));
            boot.expect_status(0);
        }
    }
}

#[test]
fn disk_capacity_equals_image_size() {
    for mut machine in configurations() {
        // Two disks of different sizes: each is found, in order.
        let first = scratch_disk(24 << 20);
        let second = scratch_disk(5 << 20);
        machine.disks = vec![first.path().to_path_buf(), second.path().to_path_buf()];
        machine.append = "test=poweroff".into();
        let boot = boot(&machine, b"", TIMEOUT);
        let what = describe(&machine);
        let line = boot.expect_line("virtio-blk0:");
        assert!(
            line.contains(&format!(
                "capacity {} sectors ({} bytes)",
                (24 << 20) / 512,
                24 << 20
            )),
            "{what}: {line}"
        );
        let line = boot.expect_line("virtio-blk1:");
        assert!(
            line.contains(&format!(
                "capacity {} sectors ({} bytes)",
                (5 << 20) / 512,
                5 << 20
            )),
            "{what}: {line}"
        );
        boot.expect_status(0);
    }
}

#[test]
fn missing_disk_is_reported_and_boot_goes_on() {
    for mut machine in machine_models() {
        machine.disks.clear();
        machine.append = "test=poweroff".into();
        let boot = boot(&machine, b"", TIMEOUT);
        boot.expect_line("no virtio-blk disk found");
        boot.expect_line("ready in ");
        boot.expect_status(0);
    }
}

#[test]
fn timer_ticks_at_the_configured_rate() {
    for mut machine in machine_models() {
        machine.append = "test=ticks".into();
        let boot = boot(&machine, b"", TIMEOUT);
        let line = boot.expect_line("self test: ").to_string();
        // "self test: N ticks in 500 ms at 100 Hz": 50 expected; emulation
        // may delay a tick, never invent one.
        let ticks: u64 = line
            .split_whitespace()
            .nth(2)
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("unparsable tick line {line:?}"));
        assert!(line.ends_with("ticks in 500 ms at 100 Hz"), "{line}");
        assert!(
            (35..=51).contains(&ticks),
            "{}: {ticks} ticks in 500 ms at 100 Hz",
            describe(&machine)
        );
        boot.expect_status(0);
    }
}

#[test]
fn sectors_written_by_the_kernel_are_on_the_host_image() {
    for mut machine in configurations() {
        let size = 8u64 << 20;
        let disk = scratch_disk(size);
        machine.disks = vec![disk.path().to_path_buf()];
        machine.append = "test=blk-write".into();
        let boot = boot(&machine, b"", TIMEOUT);
        let what = describe(&machine);
        let sectors = size / 512;
        boot.expect_line(&format!(
            "wrote and read back sectors {}..{}",
            sectors - 8,
            sectors
        ));
        boot.expect_status(0);
        let mut file = std::fs::File::open(disk.path()).unwrap();
        for sector in sectors - 8..sectors {
            file.seek(SeekFrom::Start(sector * 512)).unwrap();
            let mut data = [0u8; 512];
            file.read_exact(&mut data).unwrap();
            let expected = format!("MANUX BLOCK TEST sector {sector}\n");
            assert_eq!(
                &data[..expected.len()],
                expected.as_bytes(),
                "{what}: sector {sector} on the host image"
            );
            assert!(
                data[expected.len()..].iter().all(|&b| b == 0),
                "{what}: sector {sector} tail"
            );
        }
    }
}

#[test]
fn a_kernel_panic_is_reported_and_exits_non_zero() {
    for mut machine in machine_models() {
        machine.append = "test=panic".into();
        let boot = boot(&machine, b"", TIMEOUT);
        let line = boot.expect_line("KERNEL PANIC");
        assert!(line.contains("panic requested by test=panic"), "{line}");
        assert!(
            !boot.timed_out,
            "a panic must stop the machine:\n{}",
            boot.output
        );
        assert!(
            matches!(boot.status, Some(code) if code != 0),
            "a panic must not look like success: {:?}",
            boot.status
        );
    }
}

#[test]
fn a_kernel_fault_is_reported_with_its_address_and_exits_non_zero() {
    for mut machine in machine_models() {
        machine.append = "test=fault".into();
        let boot = boot(&machine, b"", TIMEOUT);
        let what = describe(&machine);
        boot.expect_line("KERNEL BUG: unexpected exception");
        // The self test reads address 0x1000 (`hal::diagnostics`): the
        // report names it as the faulting address, then halts.
        let address = boot
            .output
            .lines()
            .find(|line| line.contains("faulting address"))
            .unwrap_or_else(|| panic!("{what}: no faulting address:\n{}", boot.output));
        assert!(address.contains("0x0000000000001000"), "{what}: {address}");
        boot.expect_line("system halted");
        assert!(
            !boot.output.contains("did not fault"),
            "{what}: the read did not fault:\n{}",
            boot.output
        );
        assert!(!boot.timed_out, "{what}: a fault must stop the machine");
        assert!(
            matches!(boot.status, Some(code) if code != 0),
            "{what}: a fault must not look like success: {:?}",
            boot.status
        );
    }
}

#[test]
fn gic_version_3_works_too() {
    for mut machine in default_machines()
        .into_iter()
        .filter(|m| m.arch == Arch::Aarch64)
    {
        machine.gic_version = 3;
        machine.append = "test=ticks".into();
        let boot = boot(&machine, b"", TIMEOUT);
        boot.expect_line("ticks in 500 ms");
        boot.expect_status(0);
    }
}

#[test]
fn unknown_boot_arguments_are_reported_not_fatal() {
    for mut machine in machine_models() {
        machine.append = "frobnicate=7 log=debug test=poweroff".into();
        let boot = boot(&machine, b"", TIMEOUT);
        boot.expect_line("ignoring unknown boot argument `frobnicate=7`");
        boot.expect_line("DEBUG");
        boot.expect_status(0);
    }
}

#[test]
fn every_free_frame_is_in_ram_outside_the_heap_and_comes_back() {
    for mut machine in machine_models() {
        machine.append = "test=frames".into();
        let boot = boot(&machine, b"", TIMEOUT);
        let free_mib: u64 = boot
            .expect_line("MiB free for frames")
            .split("; ")
            .nth(1)
            .and_then(|part| part.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .expect("free MiB in the memory line");
        let line = boot.expect_line("self test: allocated");
        assert!(
            line.contains(&format!(
                "({free_mib} MiB), 0 misplaced, 0 duplicated, exhausted true, restored true"
            )),
            "{line}"
        );
        boot.expect_status(0);
    }
}
