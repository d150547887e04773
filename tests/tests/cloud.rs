// SPDX-License-Identifier: MIT OR Apache-2.0
//! Cloud images (DESIGN §9): the GPT disk `cargo xtask test`
//! builds like `cargo xtask image` does (`MANUX_CLOUD_IMAGE_<ARCH>`),
//! booted through UEFI firmware as a cloud VM boots it — AArch64 `virt` with
//! `QEMU_EFI.fd`, x86_64 `q35` with OVMF, the disk on virtio-blk-pci.
//!
//! - a smoke session: the prompt, a launched `cat` of a file written in
//!   the home directory, the file still there on a second boot of the same
//!   disk, and `poweroff` ending the machine cleanly both times; the image
//!   has no kernel command line, and the boot program says so;
//! - the kernel command line from the EFI system partition's
//!   `EFI/manux/cmdline.txt`: `log=debug` (debug lines appear) and
//!   `init=/bin/hello WORD` (hello runs as process 1 with WORD, and its
//!   exit powers the machine off) reach the kernel;
//! - the image copied onto a sparse disk 64 times its size: the first
//!   boot grows the GPT and the volume to fill it and says so, the
//!   second sees the grown volume and the files of the first, and
//!   `ext2l check` finds the grown volume clean on the host;
//! - a GPT without a root partition, and one whose entry array is
//!   corrupt, are each refused with a clear line on the serial console and
//!   a failing power-off (never a panic). These boot the same kernel with
//!   `-kernel` on the same disk: the partition lookup is the kernel's, and
//!   UEFI firmware (about 6 s per boot under emulation) adds nothing there.
#![forbid(unsafe_code)]

use guest_tests::*;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Per step: the firmware alone takes several seconds under TCG.
const STEP: Duration = Duration::from_secs(180);

/// The architectures with a cloud image to test, and the images.
fn cloud_images() -> Vec<(Arch, PathBuf)> {
    let images: Vec<(Arch, PathBuf)> = arches()
        .into_iter()
        .filter_map(|arch| {
            let variable = format!("MANUX_CLOUD_IMAGE_{}", arch.name().to_uppercase());
            std::env::var_os(variable).map(|path| (arch, PathBuf::from(path)))
        })
        .collect();
    assert!(
        !images.is_empty(),
        "no MANUX_CLOUD_IMAGE_<ARCH> is set: run the guest tests with `cargo xtask test`"
    );
    images
}

/// A private copy of `image`, deleted when dropped.
fn copy_of(image: &Path) -> tempfile::NamedTempFile {
    let copy = tempfile::Builder::new()
        .prefix("manux-cloud-")
        .suffix(".raw")
        .tempfile()
        .expect("creating a disk copy");
    std::fs::copy(image, copy.path()).expect("copying the cloud image");
    copy
}

/// The machine a cloud VM of `arch` is: `virt` or `q35`, virtio over PCI,
/// 256 MiB, `disk` as its only disk, booted by UEFI firmware when
/// `variables` (a scratch file for OVMF's variable store) is given, else
/// by `-kernel`.
fn cloud_machine(arch: Arch, disk: &Path, variables: Option<&Path>) -> Machine {
    let mut machine = Machine::new(arch, kernel(arch));
    machine.kind = match arch {
        Arch::Aarch64 => MachineKind::Virt,
        Arch::X86_64 => MachineKind::Q35,
    };
    machine.virtio = VirtioTransport::Pci;
    machine.memory_mib = 256;
    machine.disks = vec![disk.to_path_buf()];
    if let Some(variables) = variables {
        let firmware =
            xtask::toolchain::ensure_uefi_firmware(arch).expect("installing the UEFI firmware");
        machine.uefi = Some(
            firmware
                .boot_with_variables_at(variables)
                .expect("copying the firmware's variable store"),
        );
    }
    machine
}

#[test]
fn cloud_image_boots_under_uefi_and_keeps_files() {
    for (arch, image) in cloud_images() {
        let disk = copy_of(&image);
        let variables = tempfile::NamedTempFile::new().expect("a variable store file");
        let machine = cloud_machine(arch, disk.path(), Some(variables.path()));
        let what = format!("{} cloud image under UEFI", arch.name());

        let first = session(
            &machine,
            &[
                "cd $HOME",
                "echo written-under-uefi > note.txt",
                "cat note.txt",
                "poweroff",
            ],
            STEP,
        );
        assert!(
            first
                .boot_log
                .contains("Manux UEFI boot: loading the kernel"),
            "{what}: the firmware did not start the boot program\n{first:#?}"
        );
        assert!(
            first
                .boot_log
                .contains("Manux UEFI boot: no command line ("),
            "{what}: the image has no command line file\n{first:#?}"
        );
        assert!(
            first.boot_log.contains("root: virtio-blk0 GPT partition 2"),
            "{what}: the root must be the GPT root partition\n{first:#?}"
        );
        assert!(
            first.boot_log.contains("ms since reset"),
            "{what}: the boot log must say the reset-to-ready time\n{first:#?}"
        );
        assert_eq!(
            first.output(2),
            "written-under-uefi\n",
            "{what}: `cat note.txt`\n{first:#?}"
        );
        assert_eq!(
            first.status,
            Some(0),
            "{what}: poweroff must end the machine cleanly\n{first:#?}"
        );

        // The same disk (and variable store) again: the file persisted.
        let second = session(&machine, &["cat $HOME/note.txt", "poweroff"], STEP);
        assert_eq!(
            second.output(0),
            "written-under-uefi\n",
            "{what}: the file written on the first boot\n{second:#?}"
        );
        assert_eq!(
            second.status,
            Some(0),
            "{what}: second poweroff\n{second:#?}"
        );
    }
}

#[test]
fn the_esp_command_line_reaches_the_kernel() {
    let words = "log=debug init=/bin/hello from-the-esp";
    for (arch, image) in cloud_images() {
        let disk = copy_of(&image);
        xtask::cloud_image::set_command_line(disk.path(), words)
            .expect("writing EFI/manux/cmdline.txt");
        let variables = tempfile::NamedTempFile::new().expect("a variable store file");
        let machine = cloud_machine(arch, disk.path(), Some(variables.path()));
        let boot = boot(&machine, b"", STEP);
        boot.expect_line(&format!(
            "Manux UEFI boot: command line from EFI/manux/cmdline.txt: \"{words}\""
        ));
        // The kernel's banner (`Manux VERSION ARCH (MACHINE) "LINE"`)
        // quotes the whole command line it was given.
        let banner = boot
            .output
            .lines()
            .find(|line| line.starts_with("Manux ") && !line.starts_with("Manux UEFI boot"));
        assert!(
            banner.is_some_and(|line| line.ends_with(&format!("\"{words}\""))),
            "{}: the kernel's banner, {banner:?}\n{}",
            arch.name(),
            boot.output
        );
        // Printed only at `log=debug`: the memory the boot handed over.
        boot.expect_line("DEBUG RAM [");
        let hello = boot.expect_line("hello from user mode");
        assert!(hello.contains("pid 1"), "{}: {hello}", arch.name());
        boot.expect_line("argv[1] = from-the-esp");
        boot.expect_line("init exited with status 0");
        boot.expect_status(0);
    }
}

/// Copies `length` bytes at `offset` of `source` into a new sparse file
/// (runs of zeros are skipped, not written).
fn extract_sparse(source: &Path, offset: u64, length: u64) -> tempfile::NamedTempFile {
    let mut input = std::fs::File::open(source).expect("opening the disk");
    input.seek(SeekFrom::Start(offset)).expect("seeking");
    let mut output = tempfile::NamedTempFile::new().expect("a volume file");
    let mut buffer = vec![0u8; 1 << 20];
    let mut done = 0;
    while done < length {
        let chunk = buffer.len().min((length - done) as usize);
        input
            .read_exact(&mut buffer[..chunk])
            .expect("reading the disk");
        if buffer[..chunk].iter().any(|&byte| byte != 0) {
            output
                .write_all(&buffer[..chunk])
                .expect("writing the volume");
        } else {
            output
                .seek(SeekFrom::Current(chunk as i64))
                .expect("skipping zeros");
        }
        done += chunk as u64;
    }
    output.as_file().set_len(length).expect("sizing the volume");
    output
}

#[test]
fn a_larger_disk_is_filled_on_first_boot() {
    for (arch, image) in cloud_images() {
        let disk = copy_of(&image);
        let image_bytes = std::fs::metadata(&image).expect("the image").len();
        disk.as_file()
            .set_len(image_bytes * 64)
            .expect("making the disk 64 times larger");
        let (_, old_length) =
            xtask::cloud_image::root_partition_bytes(arch, &image).expect("the image's root");
        let variables = tempfile::NamedTempFile::new().expect("a variable store file");
        let machine = cloud_machine(arch, disk.path(), Some(variables.path()));
        let what = format!("{} cloud image on a 64 times larger disk", arch.name());

        let first = session(
            &machine,
            &["echo kept-while-growing > $HOME/grown.txt", "poweroff"],
            STEP,
        );
        let grown = first
            .boot_log
            .lines()
            .find(|line| line.contains("root grown: "))
            .unwrap_or_else(|| panic!("{what}: no `root grown` line\n{first:#?}"));
        assert!(
            grown.contains(&format!("root grown: {} MiB -> ", old_length >> 20)),
            "{what}: {grown}\n{first:#?}"
        );
        assert!(
            first.boot_log.contains("root: GPT partition 2 grown from "),
            "{what}: the partition must grow first\n{first:#?}"
        );
        assert_eq!(first.status, Some(0), "{what}: poweroff\n{first:#?}");

        let second = session(&machine, &["cat $HOME/grown.txt", "poweroff"], STEP);
        assert!(
            !second.boot_log.contains("root grown: "),
            "{what}: a second boot has nothing to grow\n{second:#?}"
        );
        assert_eq!(
            second.output(0),
            "kept-while-growing\n",
            "{what}: the file written on the first boot\n{second:#?}"
        );
        assert_eq!(second.status, Some(0), "{what}: second poweroff");

        let (offset, length) =
            xtask::cloud_image::root_partition_bytes(arch, disk.path()).expect("the grown root");
        assert!(
            length > old_length * 60,
            "{what}: the root partition fills the disk ({length} bytes)"
        );
        let volume = extract_sparse(disk.path(), offset, length);
        assert_ext2l_clean(volume.path(), &what);
    }
}

#[test]
fn a_gpt_without_a_root_partition_is_refused_clearly() {
    for (arch, image) in cloud_images() {
        let disk = copy_of(&image);
        xtask::cloud_image::remove_root_partition(arch, disk.path())
            .expect("removing the root partition");
        let machine = cloud_machine(arch, disk.path(), None);
        let boot = boot(&machine, b"", Duration::from_secs(60));
        assert_refused(arch, &boot, "the GPT has no root partition (type ");
    }
}

#[test]
fn a_corrupt_partition_table_is_refused_clearly() {
    for (arch, image) in cloud_images() {
        let disk = copy_of(&image);
        // Sector 2 holds the first partition entries (the ESP's): one
        // flipped byte breaks the entry array's CRC-32.
        let mut bytes = std::fs::read(disk.path()).expect("reading the copy");
        bytes[2 * 512 + 40] ^= 0xff;
        std::fs::write(disk.path(), &bytes).expect("writing the copy");
        let machine = cloud_machine(arch, disk.path(), None);
        let boot = boot(&machine, b"", Duration::from_secs(60));
        assert_refused(arch, &boot, "corrupt GPT partition entries");
    }
}

/// The boot refused its root disk saying `reason`, said it cannot start
/// init, and halted with a failure status — without a panic.
fn assert_refused(arch: Arch, boot: &Boot, reason: &str) {
    let line = boot.expect_line("root: cannot mount virtio-blk0");
    assert!(
        line.contains(reason),
        "{}: {line}\n{}",
        arch.name(),
        boot.output
    );
    boot.expect_line("no root file system: cannot start init; powering off");
    assert!(
        !boot.output.to_lowercase().contains("panic"),
        "{}: no panic\n{}",
        arch.name(),
        boot.output
    );
    assert!(
        !boot.timed_out,
        "{}: must halt\n{}",
        arch.name(),
        boot.output
    );
    assert_ne!(boot.status, Some(0), "{}: a failing power-off", arch.name());
}
