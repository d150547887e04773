// SPDX-License-Identifier: MIT OR Apache-2.0
//! The Manux kernel: everything that does not depend on the CPU.
//!
//! `hal/` boots the machine and calls [`kernel_main`] with a [`BootInfo`]:
//! RAM, devices, command line. From there the kernel brings itself up in
//! a fixed order — console and log, physical memory, interrupts and the
//! tick, block devices — and reports `ready` with the time since reset.
//!
//! # Design principles
//! - **No `unsafe`.** Anything that needs it is a safe API in `hal/`.
//! - **No architecture names.** The kernel talks to [`hal::Arch`] through
//!   the [`hal::Architecture`] trait only.
//! - **Errors are values.** Nothing a user or a program can send makes the
//!   kernel panic; a panic is a kernel bug and is reported as one.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

mod boot_args;
mod budgets;
mod clock;
mod console;
mod device_files;
mod devices;
mod disk;
mod elf_loader;
mod files;
mod fsck;
mod logger;
mod partition;
mod process;
mod program_cache;
mod random;
mod root_fs;
mod scheduler;
mod self_test;
mod syscall;
mod user_memory;
mod wall_clock;
mod writeback;

use boot_args::BootArgs;
use hal::{Arch, Architecture, BootInfo, ExitStatus};

hal::kernel_entry!(kernel_main);

/// The kernel's version, printed in the banner.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Ticks per second of the scheduler clock.
pub const TICK_HZ: u32 = 100;

fn kernel_main(boot: &'static BootInfo) -> ! {
    // The banner comes first: tests and people look for it.
    logger::print_fmt(format_args!(
        "Manux {} {} ({}) \"{}\"\n",
        VERSION,
        Arch::NAME,
        if boot.machine.is_empty() {
            "unknown machine"
        } else {
            boot.machine
        },
        boot.command_line
    ));
    let args = BootArgs::parse(boot.command_line);
    logger::init(args.log_level);
    if args.bench {
        syscall::enable_benchmarks();
    }
    for word in args.unknown.iter() {
        log::warn!("ignoring unknown boot argument `{}`", word);
    }
    wall_clock::init(boot.unix_time);

    log::debug!("RAM {:x?}", boot.ram);
    log::debug!("free memory {:x?}, heap {:x?}", boot.free_memory, boot.heap);
    log::debug!("virtio-mmio slots {:x?}", boot.virtio_mmio);
    log::debug!("PCI host bridges {:x?}", boot.pci);
    let free_bytes = hal::frames::init(boot);
    log::info!(
        "memory: {} MiB RAM in {} range(s); {} MiB free for frames; kernel heap {} MiB",
        // Firmware may keep a few hundred KiB below 1 MiB: round up so
        // the line states the machine's RAM size.
        boot.ram_bytes().div_ceil(1 << 20),
        boot.ram.as_slice().len(),
        free_bytes >> 20,
        boot.heap.size >> 20
    );

    clock::start(TICK_HZ);

    let mut disks = devices::probe(boot);
    if let Some(test) = args.self_test.filter(|test| test.needs_raw_disks()) {
        self_test::run_raw(test, core::mem::take(&mut disks));
    }
    match root_fs::mount(boot, disks, args.fsck) {
        Ok(summary) => log::info!("root: {}", summary),
        Err(error) => log::error!("root: cannot mount virtio-blk0: {}", error),
    }

    let elapsed = Arch::time_since_reset();
    log::info!(
        "ready in {}.{:03} ms since reset",
        elapsed.as_millis(),
        elapsed.as_micros() % 1000
    );

    if let Some(test) = args.self_test {
        self_test::run(test, boot);
    }
    budgets::init();
    writeback::configure(args.commit_seconds);
    start_init(args.init.as_deref());
    writeback::start();
    scheduler::run_idle()
}

/// Starts the first process: `init=` or `/bin/init`. Without a root file
/// system or an init program the machine cannot do anything useful: say so
/// and power off with a failure status.
fn start_init(init: Option<&[&'static str]>) {
    if root_fs::ROOT.lock().is_none() {
        log::error!("no root file system: cannot start init; powering off");
        power_off(ExitStatus::Failure(1));
    }
    let default = ["/bin/init"];
    let words = init.unwrap_or(&default);
    let path = words[0].as_bytes();
    let arguments: alloc::vec::Vec<alloc::vec::Vec<u8>> =
        words.iter().map(|w| w.as_bytes().to_vec()).collect();
    let environment = [b"PATH=/bin".to_vec(), b"HOME=/".to_vec()];
    let root = root_fs::ROOT.lock().as_mut().map(|volume| volume.root());
    let Some(Ok(root)) = root else {
        log::error!("init: the root directory cannot be held; powering off");
        power_off(ExitStatus::Failure(1))
    };
    let caller = syscall::Caller {
        root: root.clone(),
        base: kernel_core::Location::root(root.clone()),
        dots: kernel_core::DotView::new(),
        payer: budgets::system(),
    };
    let started = syscall::read_runnable(&caller, path, &arguments).and_then(|runnable| {
        let place = process::Place {
            root: root.clone(),
            cwd: kernel_core::Location::root(root),
            dots: kernel_core::DotView::new(),
            executable: runnable.executable.clone(),
            dots_charge: None,
        };
        process::spawn(
            0,
            path,
            &runnable.program,
            runnable.arguments(&arguments),
            &environment,
            files::FileTable::with_console(),
            place,
        )
    });
    match started {
        Ok(pid) => log::info!("init: started {} as process {}", words[0], pid),
        Err(error) => {
            log::error!("init: cannot start {}: {}", words[0], error);
            power_off(ExitStatus::Failure(1));
        }
    }
}

/// Syncs the root file system and powers the machine off.
pub fn power_off(status: ExitStatus) -> ! {
    // A clean unmount: what could not be written is lost, and says so,
    // and the machine then stops with a failing status.
    let status = match root_fs::unmount() {
        Ok(()) => status,
        Err(lost) => {
            log::error!(
                "power off: {} KiB of changes could not be written and are lost",
                lost.div_ceil(1024)
            );
            match status {
                ExitStatus::Success => ExitStatus::Failure(1),
                failing => failing,
            }
        }
    };
    if let Some(nanos) = console::first_read_nanos() {
        // The boot-to-prompt time (`cargo xtask bench` reads it here).
        log::info!(
            "first console read at {}.{:03} ms after reset",
            nanos / 1_000_000,
            nanos / 1000 % 1000
        );
    }
    log::info!("power off ({:?})", status);
    Arch::power_off(status)
}
