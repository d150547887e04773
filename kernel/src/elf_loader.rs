// SPDX-License-Identifier: MIT OR Apache-2.0
//! Loading a program: a static ELF — position-independent, or linked
//! for the fixed-address window — into a fresh address space, with its
//! arguments on a new stack.
//!
//! The checks, the image layout, the relocations and the stack are
//! `kernel_core::program` (host-tested); this module gives it this CPU's
//! numbers ([`Arch::ELF_MACHINE`], [`Arch::ELF_RELATIVE_RELOCATION`],
//! [`PAGE_SIZE`]) and the memory: a process's [`UserMemory`], and the
//! program cache's shared frames for the read-only pages. A program is
//! checked and its shared frames built once, when it is first run; they
//! stay with it in the program cache (see `program_cache`).

use crate::program_cache::Program;
use crate::user_memory::UserMemory;
use alloc::sync::Arc;
use alloc::vec::Vec;
use hal::frames::{Frame, FrameBuilder};
use hal::user::{
    SharedFrames, UserPermission, UserRegisters, FIXED_WINDOW_END, PAGE_SIZE, USER_START,
};
use hal::{Arch, Architecture, UserContext};
use kernel_core::budget::Budget;
use kernel_core::program::{PageBytes, PagePermission, ProgramImage, ProgramPages, ProgramTarget};
use manux_abi::Errno;

pub use kernel_core::program::MAX_PROGRAM_BYTES;

/// What this CPU runs.
const TARGET: ProgramTarget = ProgramTarget {
    machine: Arch::ELF_MACHINE,
    relative_relocation: Arch::ELF_RELATIVE_RELOCATION,
    self_applied_relocation: Arch::ELF_IRELATIVE_RELOCATION,
    page_size: PAGE_SIZE,
    fixed_window: (USER_START, FIXED_WINDOW_END),
};

/// A program ready to run.
pub struct LoadedProgram {
    /// Its address space.
    pub memory: UserMemory,
    /// Its first registers.
    pub context: UserContext,
}

/// Loads `program` with `arguments` and `environment`.
///
/// The memory is charged to `budget`.
///
/// Return values: `NotExecutable` for anything but the accepted form;
/// `ArgumentsTooLong` when the strings exceed the limits; `OutOfMemory`;
/// what [`UserMemory`] refuses.
pub fn load(
    program: &Program,
    arguments: &[Vec<u8>],
    environment: &[Vec<u8>],
    budget: &Arc<Budget>,
) -> Result<LoadedProgram, Errno> {
    let file: &[u8] = &program.bytes;
    let image = program.image(|| ProgramImage::parse(file, TARGET))?;
    let mut pages = ProcessPages {
        memory: UserMemory::new(budget)?,
        program,
    };
    match image.load(&mut pages, file, arguments, environment) {
        Ok(start) => Ok(LoadedProgram {
            memory: pages.memory,
            context: UserContext::new(start.entry, start.stack_pointer),
        }),
        Err(error) => {
            pages.memory.destroy();
            Err(error.into())
        }
    }
}

/// A new process's memory, for the loader.
struct ProcessPages<'a> {
    memory: UserMemory,
    program: &'a Program,
}

fn user_permission(permission: PagePermission) -> UserPermission {
    UserPermission {
        write: permission.write,
        execute: permission.execute,
    }
}

impl ProgramPages for ProcessPages<'_> {
    type Page = FramePage;

    fn reserve(&mut self, size: u64) -> Result<u64, Errno> {
        self.memory.reserve(size)
    }

    fn reserve_fixed(&mut self, start: u64, size: u64) -> Result<u64, Errno> {
        self.memory.reserve_fixed(start, size)
    }

    fn map_shared(&mut self, start: u64, image: &ProgramImage, file: &[u8]) -> Result<(), Errno> {
        let shared = self
            .program
            .shared_pages(|| build_shared_pages(image, file))?;
        self.memory.map_shared(start, &shared)
    }

    fn map_built(
        &mut self,
        address: u64,
        permission: PagePermission,
        build: impl FnOnce(&mut FramePage),
    ) -> Result<(), Errno> {
        let mut page = FramePage(FrameBuilder::new().ok_or(Errno::OutOfMemory)?);
        build(&mut page);
        self.memory
            .map_frame(address, user_permission(permission), page.0.finish())
    }

    fn map_lazy(&mut self, start: u64, end: u64, permission: PagePermission) -> Result<(), Errno> {
        self.memory
            .map_lazy(start, end, user_permission(permission))
    }

    fn random_bytes(&mut self) -> [u8; 16] {
        let mut bytes = [0; 16];
        crate::random::fill(&mut bytes);
        bytes
    }

    fn load(&mut self, address: u64, bytes: &[u8]) -> Result<(), Errno> {
        self.memory.load(address, bytes)
    }

    fn map_new(&mut self, size: u64, permission: PagePermission) -> Result<u64, Errno> {
        self.memory.map_new(size, user_permission(permission))
    }

    fn map_stack(&mut self, size: u64) -> Result<u64, Errno> {
        self.memory.map_stack(size)
    }

    fn copy_out(&mut self, address: u64, bytes: &[u8]) -> Result<(), Errno> {
        self.memory.copy_out(address, bytes)
    }
}

/// A frame being built into a page of a program.
struct FramePage(FrameBuilder);

impl PageBytes for FramePage {
    fn write(&mut self, offset: usize, bytes: &[u8]) {
        self.0.write(offset, bytes);
    }

    fn write_word(&mut self, offset: usize, value: u64) {
        self.0.write_word(offset, value);
    }
}

/// Builds the frames of the image's shared pages: each zeroed, then
/// filled with the file bytes of every segment on it.
///
/// Return values: `OutOfMemory` (the frames built so far are freed).
fn build_shared_pages(image: &ProgramImage, file: &[u8]) -> Result<SharedFrames, Errno> {
    let mut pages = Vec::new();
    for page in image.shared_pages() {
        pages.try_reserve(1).map_err(|_| Errno::OutOfMemory)?;
        let frame = Frame::allocate().ok_or(Errno::OutOfMemory)?;
        image.fill_page(file, page.offset, |offset, bytes| {
            frame.write(offset, bytes);
        });
        // Filled: from now on the frame is only ever read.
        pages.push((page.offset, frame, user_permission(page.permission)));
    }
    // The image's shared pages are read-only and distinct by construction.
    SharedFrames::new(pages).map_err(|_| Errno::NotExecutable)
}
