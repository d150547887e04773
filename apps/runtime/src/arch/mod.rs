// SPDX-License-Identifier: MIT OR Apache-2.0
//! The architecture: the trap instruction, `_start`, and the deliberately
//! bad instructions of [`crate::hazard`].
//!
//! One module per target, selected once here. Each provides the same
//! items, checked by the uses in `syscall.rs`, `start.rs` and `hazard.rs`:
//! `unsafe fn syscall(number, [u64; 6]) -> u64`, `unsafe fn read_word`,
//! `unsafe fn write_word`, `fn privileged_instruction`, `unsafe fn jump`,
//! and `EXIT_66_CODE`, machine code that calls `exit(66)`.
//!
//! Here too, for every target: the program's `PT_NOTE`
//! ([`manux_abi::program_note`]), which tells the kernel's loader that the
//! program is a native one (its relocations are the loader's to apply;
//! `_start` applies them again, idempotently). It sits in the same object
//! as `_start` (one code-generation unit), so every program links it; the
//! xtask refuses a program without it.
//!
//! On the host (tests, `clippy`) a stub stands in: every call fails with
//! `ENOSYS` and nothing is ever dereferenced, so the rest of the crate
//! builds and its pure parts are tested there.

#[cfg(all(target_os = "none", target_arch = "aarch64"))]
mod aarch64;
#[cfg(all(target_os = "none", target_arch = "aarch64"))]
pub use aarch64::*;

#[cfg(all(target_os = "none", target_arch = "x86_64"))]
mod x86_64;
#[cfg(all(target_os = "none", target_arch = "x86_64"))]
pub use x86_64::*;

#[cfg(all(
    target_os = "none",
    not(any(target_arch = "aarch64", target_arch = "x86_64"))
))]
compile_error!("Manux programs run on aarch64 and x86_64 only");

// `n_namesz`, `n_descsz` (no descriptor), `n_type`, the name padded to
// 4 bytes. An allocated `SHT_NOTE` section: the linker gives it a
// `PT_NOTE` segment and keeps it through `--gc-sections`.
#[cfg(target_os = "none")]
core::arch::global_asm!(
    ".pushsection .note.manux, \"a\", %note",
    ".balign 4",
    ".4byte {name_size}",
    ".4byte 0",
    ".4byte {note_type}",
    ".byte {n0}, {n1}, {n2}, {n3}, {n4}, {n5}",
    ".balign 4",
    ".popsection",
    name_size = const manux_abi::program_note::NAME.len(),
    note_type = const manux_abi::program_note::TYPE,
    n0 = const manux_abi::program_note::NAME[0],
    n1 = const manux_abi::program_note::NAME[1],
    n2 = const manux_abi::program_note::NAME[2],
    n3 = const manux_abi::program_note::NAME[3],
    n4 = const manux_abi::program_note::NAME[4],
    n5 = const manux_abi::program_note::NAME[5],
);
#[cfg(target_os = "none")]
const _: () = assert!(manux_abi::program_note::NAME.len() == 6);

#[cfg(not(target_os = "none"))]
mod host;
#[cfg(not(target_os = "none"))]
pub use host::*;
