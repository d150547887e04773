// SPDX-License-Identifier: MIT OR Apache-2.0
//! The terminal structures of `ioctl`: the kernel's `struct termios`
//! (`TCGETS`/`TCSETS`; `asm-generic/termbits.h`, 36 bytes with
//! `c_cc[19]` — not the C library's larger `struct termios`, which libcs
//! translate) and `struct winsize` (`TIOCGWINSZ`; `asm-generic/termios.h`,
//! 8 bytes). Both architectures use the generic definitions.

use super::bytes::{get_u16, get_u32, put_u16, put_u32};

/// Bytes in the kernel's `struct termios`.
pub const TERMIOS_SIZE: usize = 36;
/// `NCCS`: control characters in it.
pub const CONTROL_CHARACTER_COUNT: usize = 19;
/// Bytes in a `struct winsize`.
pub const WINSIZE_SIZE: usize = 8;

/// Indexes into [`Termios::control_characters`] (`V*`).
pub mod control_character {
    /// `VINTR`: sends `SIGINT` (Ctrl-C).
    pub const INTERRUPT: usize = 0;
    /// `VQUIT`: sends `SIGQUIT` (Ctrl-\\).
    pub const QUIT: usize = 1;
    /// `VERASE`: erases a character.
    pub const ERASE: usize = 2;
    /// `VKILL`: erases the line.
    pub const KILL: usize = 3;
    /// `VEOF`: end of file (Ctrl-D).
    pub const END_OF_FILE: usize = 4;
    /// `VTIME`: non-canonical read timeout.
    pub const TIME: usize = 5;
    /// `VMIN`: non-canonical read minimum.
    pub const MINIMUM: usize = 6;
    /// `VSTART`: resumes output (Ctrl-Q).
    pub const START: usize = 8;
    /// `VSTOP`: stops output (Ctrl-S).
    pub const STOP: usize = 9;
    /// `VSUSP`: sends `SIGTSTP` (Ctrl-Z).
    pub const SUSPEND: usize = 10;
    /// `VEOL`: an extra end-of-line character.
    pub const END_OF_LINE: usize = 11;
    /// `VWERASE`: erases a word.
    pub const WORD_ERASE: usize = 14;
    /// `VLNEXT`: quotes the next character.
    pub const LITERAL_NEXT: usize = 15;
}

/// `c_iflag` bits used by a console.
pub mod input_mode {
    /// `BRKINT`.
    pub const BREAK_INTERRUPTS: u32 = 0x002;
    /// `ICRNL`: carriage return becomes newline.
    pub const CARRIAGE_RETURN_TO_NEWLINE: u32 = 0x100;
    /// `IXON`: Ctrl-S/Ctrl-Q flow control.
    pub const FLOW_CONTROL: u32 = 0x400;
    /// `IUTF8`: erase whole UTF-8 characters.
    pub const UTF8: u32 = 0x4000;
}

/// `c_oflag` bits.
pub mod output_mode {
    /// `OPOST`: post-process output.
    pub const POST_PROCESS: u32 = 0x01;
    /// `ONLCR`: newline becomes carriage return, newline.
    pub const NEWLINE_TO_CARRIAGE_RETURN_NEWLINE: u32 = 0x04;
}

/// `c_cflag` bits.
pub mod control_mode {
    /// `B38400`: the speed bits for 38400 baud.
    pub const BAUD_38400: u32 = 0x0f;
    /// `CS8`: 8-bit characters.
    pub const EIGHT_BIT_CHARACTERS: u32 = 0x30;
    /// `CREAD`: the receiver is on.
    pub const RECEIVE: u32 = 0x80;
}

/// `c_lflag` bits.
pub mod local_mode {
    /// `ISIG`: INTR, QUIT and SUSP send signals.
    pub const SIGNALS: u32 = 0x0001;
    /// `ICANON`: line editing, reads return whole lines.
    pub const CANONICAL: u32 = 0x0002;
    /// `ECHO`: echo input.
    pub const ECHO: u32 = 0x0008;
    /// `ECHOE`: ERASE erases on screen.
    pub const ECHO_ERASE: u32 = 0x0010;
    /// `ECHOK`: newline after KILL.
    pub const ECHO_KILL: u32 = 0x0020;
    /// `ECHOCTL`: echo control characters as `^X`.
    pub const ECHO_CONTROL: u32 = 0x0200;
    /// `ECHOKE`: KILL erases the line on screen.
    pub const ECHO_KILL_ERASE: u32 = 0x0800;
    /// `IEXTEN`: implementation-defined processing (LNEXT, WERASE).
    pub const EXTENDED: u32 = 0x8000;
}

/// The kernel's `struct termios`: four mode words at 0, 4, 8, 12,
/// `c_line` at 16, `c_cc` at 17–35.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Termios {
    /// `c_iflag`.
    pub input_modes: u32,
    /// `c_oflag`.
    pub output_modes: u32,
    /// `c_cflag`.
    pub control_modes: u32,
    /// `c_lflag`.
    pub local_modes: u32,
    /// `c_line`: the line discipline (0, `N_TTY`).
    pub line_discipline: u8,
    /// `c_cc`.
    pub control_characters: [u8; CONTROL_CHARACTER_COUNT],
}

impl Termios {
    /// The bytes a program reads.
    pub fn encode(&self) -> [u8; TERMIOS_SIZE] {
        let mut bytes = [0; TERMIOS_SIZE];
        put_u32(&mut bytes, 0, self.input_modes);
        put_u32(&mut bytes, 4, self.output_modes);
        put_u32(&mut bytes, 8, self.control_modes);
        put_u32(&mut bytes, 12, self.local_modes);
        bytes[16] = self.line_discipline;
        bytes[17..].copy_from_slice(&self.control_characters);
        bytes
    }

    /// The `struct termios` a program gave.
    pub fn decode(bytes: &[u8; TERMIOS_SIZE]) -> Termios {
        let mut control_characters = [0; CONTROL_CHARACTER_COUNT];
        control_characters.copy_from_slice(&bytes[17..]);
        Termios {
            input_modes: get_u32(bytes, 0),
            output_modes: get_u32(bytes, 4),
            control_modes: get_u32(bytes, 8),
            local_modes: get_u32(bytes, 12),
            line_discipline: bytes[16],
            control_characters,
        }
    }
}

/// `struct winsize`: rows, columns, then pixel width and height, each a
/// u16.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WindowSize {
    /// `ws_row`.
    pub rows: u16,
    /// `ws_col`.
    pub columns: u16,
    /// `ws_xpixel` (0 when unknown).
    pub width_pixels: u16,
    /// `ws_ypixel` (0 when unknown).
    pub height_pixels: u16,
}

impl WindowSize {
    /// The bytes a program reads.
    pub fn encode(&self) -> [u8; WINSIZE_SIZE] {
        let mut bytes = [0; WINSIZE_SIZE];
        put_u16(&mut bytes, 0, self.rows);
        put_u16(&mut bytes, 2, self.columns);
        put_u16(&mut bytes, 4, self.width_pixels);
        put_u16(&mut bytes, 6, self.height_pixels);
        bytes
    }

    /// The `struct winsize` a program gave.
    pub fn decode(bytes: &[u8; WINSIZE_SIZE]) -> WindowSize {
        WindowSize {
            rows: get_u16(bytes, 0),
            columns: get_u16(bytes, 2),
            width_pixels: get_u16(bytes, 4),
            height_pixels: get_u16(bytes, 6),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{offset_of, size_of};

    /// The host libc's `termios2` is the kernel's `struct termios` plus
    /// two speed words, so its prefix is the layout here.
    #[test]
    fn termios_matches_the_kernel_prefix_of_the_host_termios2() {
        assert_eq!(offset_of!(libc::termios2, c_iflag), 0);
        assert_eq!(offset_of!(libc::termios2, c_oflag), 4);
        assert_eq!(offset_of!(libc::termios2, c_cflag), 8);
        assert_eq!(offset_of!(libc::termios2, c_lflag), 12);
        assert_eq!(offset_of!(libc::termios2, c_line), 16);
        assert_eq!(offset_of!(libc::termios2, c_cc), 17);
        assert_eq!(offset_of!(libc::termios2, c_ispeed), TERMIOS_SIZE);
        assert_eq!(CONTROL_CHARACTER_COUNT, 19);
        assert_eq!(control_character::INTERRUPT, libc::VINTR);
        assert_eq!(control_character::END_OF_FILE, libc::VEOF);
        assert_eq!(control_character::MINIMUM, libc::VMIN);
        assert_eq!(control_character::SUSPEND, libc::VSUSP);
        assert_eq!(control_character::WORD_ERASE, libc::VWERASE);
        assert_eq!(local_mode::CANONICAL, libc::ICANON);
        assert_eq!(local_mode::ECHO, libc::ECHO);
        assert_eq!(local_mode::SIGNALS, libc::ISIG);
        assert_eq!(local_mode::EXTENDED, libc::IEXTEN);
        assert_eq!(input_mode::CARRIAGE_RETURN_TO_NEWLINE, libc::ICRNL);
        assert_eq!(input_mode::UTF8, libc::IUTF8);
        assert_eq!(output_mode::NEWLINE_TO_CARRIAGE_RETURN_NEWLINE, libc::ONLCR);
        assert_eq!(control_mode::EIGHT_BIT_CHARACTERS, libc::CS8);
        assert_eq!(control_mode::BAUD_38400, libc::B38400);
    }

    #[test]
    fn winsize_matches_the_host_libc_and_round_trips() {
        assert_eq!(size_of::<libc::winsize>(), WINSIZE_SIZE);
        assert_eq!(offset_of!(libc::winsize, ws_row), 0);
        assert_eq!(offset_of!(libc::winsize, ws_col), 2);
        assert_eq!(offset_of!(libc::winsize, ws_xpixel), 4);
        assert_eq!(offset_of!(libc::winsize, ws_ypixel), 6);
        let size = WindowSize {
            rows: 24,
            columns: 80,
            ..WindowSize::default()
        };
        assert_eq!(size.encode(), [24, 0, 80, 0, 0, 0, 0, 0]);
        assert_eq!(WindowSize::decode(&size.encode()), size);
    }

    #[test]
    fn termios_round_trips() {
        let mut control_characters = [0; CONTROL_CHARACTER_COUNT];
        control_characters[control_character::INTERRUPT] = 3;
        control_characters[18] = 0x7f;
        let termios = Termios {
            input_modes: 0x0102_0304,
            output_modes: 5,
            control_modes: 6,
            local_modes: local_mode::CANONICAL | local_mode::ECHO,
            line_discipline: 0,
            control_characters,
        };
        let bytes = termios.encode();
        assert_eq!(bytes[0..4], [4, 3, 2, 1]);
        assert_eq!(bytes[17], 3);
        assert_eq!(bytes[35], 0x7f);
        assert_eq!(Termios::decode(&bytes), termios);
    }
}
