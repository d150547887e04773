// SPDX-License-Identifier: MIT OR Apache-2.0
//! Linux's `read`, `write`, `writev` and `ioctl`: the native transfers,
//! with Linux's descriptors (`int`), vectors and terminal requests.

use super::{fd, native, write_bytes};
use crate::files::OpenFile;
use crate::process::Process;
use crate::syscall::{sys_io, UserAccess};
use alloc::sync::Arc;
use alloc::vec::Vec;
use linux_abi::flags::ioctl::TerminalRequest;
use linux_abi::layout::io_vector::{IoVector, IOVEC_SIZE, MAX_VECTORS};
use linux_abi::layout::terminal::{
    control_character, control_mode, input_mode, local_mode, output_mode, Termios, WindowSize,
    CONTROL_CHARACTER_COUNT,
};
use linux_abi::Errno;

/// `read(fd, buffer, count)`.
pub fn read(process: &Arc<Process>, file: u64, buffer: u64, count: u64) -> Result<u64, Errno> {
    native(sys_io::read(process, fd(file), buffer, count))
}

/// `write(fd, buffer, count)`.
pub fn write(process: &Arc<Process>, file: u64, buffer: u64, count: u64) -> Result<u64, Errno> {
    native(sys_io::write(process, fd(file), buffer, count))
}

/// The `count` non-empty buffers of the `iovec` array at `vectors`, in
/// order (`readv`'s and `writev`'s).
///
/// Return values: `EINVAL` past [`MAX_VECTORS`]; `EFAULT`.
pub fn io_vectors(process: &Process, vectors: u64, count: u64) -> Result<Vec<IoVector>, Errno> {
    if count > MAX_VECTORS as u64 {
        return Err(Errno::InvalidArgument);
    }
    let table = native(UserAccess::read(
        process,
        vectors,
        count * IOVEC_SIZE as u64,
        MAX_VECTORS * IOVEC_SIZE,
    ))?;
    let mut list = Vec::new();
    list.try_reserve_exact(count as usize)
        .map_err(|_| Errno::OutOfMemory)?;
    for entry in table.chunks_exact(IOVEC_SIZE) {
        let mut bytes = [0u8; IOVEC_SIZE];
        bytes.copy_from_slice(entry);
        let vector = IoVector::decode(&bytes);
        if vector.length != 0 {
            list.push(vector);
        }
    }
    Ok(list)
}

/// `writev(fd, iovec array, count)`: each buffer in turn; a short write
/// or an error after some bytes ends the call with what was written.
pub fn write_vector(
    process: &Arc<Process>,
    file: u64,
    vectors: u64,
    count: u64,
) -> Result<u64, Errno> {
    let mut written: u64 = 0;
    for vector in io_vectors(process, vectors, count)? {
        match sys_io::write(process, fd(file), vector.base, vector.length) {
            Ok(count) => {
                written += count;
                if count < vector.length {
                    break;
                }
            }
            Err(_) if written > 0 => break,
            Err(error) => return Err(error.into()),
        }
    }
    Ok(written)
}

/// The console's window: a serial line has none, so the classic size.
const CONSOLE_WINDOW: WindowSize = WindowSize {
    rows: 24,
    columns: 80,
    width_pixels: 0,
    height_pixels: 0,
};

/// The console's modes as a program reads them: a cooked, echoing
/// UTF-8 line at 38400 baud with the usual control characters.
fn console_termios() -> Termios {
    let mut control_characters = [0u8; CONTROL_CHARACTER_COUNT];
    control_characters[control_character::INTERRUPT] = 0x03;
    control_characters[control_character::QUIT] = 0x1c;
    control_characters[control_character::ERASE] = 0x7f;
    control_characters[control_character::KILL] = 0x15;
    control_characters[control_character::END_OF_FILE] = 0x04;
    control_characters[control_character::MINIMUM] = 1;
    control_characters[control_character::START] = 0x11;
    control_characters[control_character::STOP] = 0x13;
    control_characters[control_character::SUSPEND] = 0x1a;
    control_characters[control_character::WORD_ERASE] = 0x17;
    control_characters[control_character::LITERAL_NEXT] = 0x16;
    Termios {
        input_modes: input_mode::BREAK_INTERRUPTS
            | input_mode::CARRIAGE_RETURN_TO_NEWLINE
            | input_mode::FLOW_CONTROL
            | input_mode::UTF8,
        output_modes: output_mode::POST_PROCESS | output_mode::NEWLINE_TO_CARRIAGE_RETURN_NEWLINE,
        control_modes: control_mode::BAUD_38400
            | control_mode::EIGHT_BIT_CHARACTERS
            | control_mode::RECEIVE,
        local_modes: local_mode::SIGNALS
            | local_mode::CANONICAL
            | local_mode::ECHO
            | local_mode::ECHO_ERASE
            | local_mode::ECHO_KILL
            | local_mode::ECHO_CONTROL
            | local_mode::ECHO_KILL_ERASE
            | local_mode::EXTENDED,
        line_discipline: 0,
        control_characters,
    }
}

/// `ioctl(fd, request, argument)`: `TCGETS` and `TIOCGWINSZ` on the
/// console fill Linux's structures (this is how a libc's `isatty` asks);
/// any other request, or any request on anything else, is `ENOTTY`.
pub fn device_control(
    process: &Process,
    file: u64,
    request: u64,
    argument: u64,
) -> Result<u64, Errno> {
    let file = native(process.resources.lock().files.get(fd(file) as i64))?;
    let is_console = matches!(&*file.lock(), OpenFile::Console);
    if !is_console {
        return Err(Errno::NotATerminal);
    }
    match TerminalRequest::from_number(request) {
        Some(TerminalRequest::GetAttributes) => {
            write_bytes(process, argument, &console_termios().encode())?;
            Ok(0)
        }
        Some(TerminalRequest::GetWindowSize) => {
            write_bytes(process, argument, &CONSOLE_WINDOW.encode())?;
            Ok(0)
        }
        _ => Err(Errno::NotATerminal),
    }
}
