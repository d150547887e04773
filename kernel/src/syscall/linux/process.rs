// SPDX-License-Identifier: MIT OR Apache-2.0
//! Linux's `exit`/`exit_group`, `arch_prctl`'s thread pointer and
//! `prctl`'s process name (signals are [`super::signals`]).

use super::{read_array, write_bytes, Outcome, ARCH};
use crate::process::{Continue, Process};
use hal::user::{UserRegisters, USER_END};
use hal::UserContext;
use linux_abi::flags::process_control;
use linux_abi::{Arch, Errno};
use manux_abi::wait_status::WaitStatus;

/// `exit(status)` and `exit_group(status)`: with one thread per process,
/// both end it; the status is the low byte, as on Linux.
pub fn exit(status: u64) -> Outcome {
    Outcome::Control(Continue::Exit(WaitStatus::Exited(status as u8).to_raw()))
}

/// `arch_prctl` codes (x86_64's `asm/prctl.h`).
const ARCH_SET_FS: u64 = 0x1002;
const ARCH_GET_FS: u64 = 0x1003;

/// `arch_prctl(code, address)` (x86_64 only): `ARCH_SET_FS` sets the
/// thread pointer (`FS_BASE`, saved and restored with the process's
/// registers), `ARCH_GET_FS` reads it; other codes are `EINVAL`.
pub fn architecture_control(
    process: &Process,
    context: &mut UserContext,
    code: u64,
    address: u64,
) -> Result<u64, Errno> {
    if ARCH != Arch::X86_64 {
        return Err(Errno::NotImplemented);
    }
    match code {
        ARCH_SET_FS => {
            if address >= USER_END {
                return Err(Errno::NotPermitted);
            }
            context.set_thread_pointer(address);
            Ok(0)
        }
        ARCH_GET_FS => {
            write_bytes(process, address, &context.thread_pointer().to_le_bytes())?;
            Ok(0)
        }
        _ => Err(Errno::InvalidArgument),
    }
}

/// `prctl(option, argument, …)`: `PR_SET_NAME` sets the process's name
/// (what reports about it show, at most 15 bytes), `PR_GET_NAME` reads
/// it; other options are `EINVAL`.
pub fn process_control(process: &Process, option: u64, argument: u64) -> Result<u64, Errno> {
    match option {
        process_control::SET_NAME => {
            let name = super::native(crate::syscall::UserAccess::c_string(
                process,
                argument,
                process_control::NAME_BYTES,
            ))
            // A longer name is cut, as Linux cuts it.
            .or_else(|error| match error {
                Errno::NameTooLong => {
                    read_array::<{ process_control::NAME_BYTES }>(process, argument)
                        .map(|bytes| bytes[..process_control::NAME_BYTES - 1].to_vec())
                }
                other => Err(other),
            })?;
            let mut name = alloc::string::String::from_utf8_lossy(&name).into_owned();
            // The lossy decoding may have made the name longer: cut it
            // again, at a character boundary (`truncate` elsewhere panics).
            let mut end = name.len().min(process_control::NAME_BYTES - 1);
            while !name.is_char_boundary(end) {
                end -= 1;
            }
            name.truncate(end);
            *process.name.lock() = name;
            Ok(0)
        }
        process_control::GET_NAME => {
            let name = process.name.lock().clone();
            write_bytes(
                process,
                argument,
                &process_control::encode_name(name.as_bytes()),
            )?;
            Ok(0)
        }
        _ => Err(Errno::InvalidArgument),
    }
}
