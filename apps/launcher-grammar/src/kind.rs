// SPDX-License-Identifier: MIT OR Apache-2.0
//! What an argument is: the six kinds of DESIGN §7 (and `entry-parents`,
//! the `entry` of `mkdir -p`, and `update`, the file `sed -i` rewrites)
//! and the access a file argument is handed over with.
//!
//! [`Kind`] is what the grammar says about a positional argument or an
//! option's value; [`Access`] is what the launcher asks `xchroot()` for
//! when it puts the file into the program's `/...`. Each kind has a fixed
//! one-byte code in the binary form ([`Kind::code`]) and a fixed spelling
//! in the TOML form ([`Kind::spelling`]).

use core::fmt;

/// What one argument (a positional or an option's value) is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
pub enum Kind {
    /// A file (or directory) the program reads: opened read-only, exposed
    /// read-only.
    Input,
    /// A file the program writes: created or truncated by the launcher,
    /// exposed read-write.
    Output,
    /// A directory, exposed read-only.
    Dir,
    /// A directory, exposed read-write.
    DirRw,
    /// A name to create, remove or rename: its parent directory is exposed
    /// read-write, and the final name is kept.
    Entry,
    /// Not a file: passed on unchanged.
    Word,
    /// A name to create together with its missing parents (`mkdir -p
    /// a/b/c`): the deepest directory of the path that exists is exposed
    /// read-write, and the missing components below it are kept.
    EntryParents,
    /// An existing file rewritten in place through its directory (`sed -i
    /// SCRIPT FILE`: a temporary file is written next to it, then renamed
    /// over it): the launcher checks that the file exists, then hands its
    /// parent directory over read-write like an `entry`'s, keeping the
    /// final name.
    Update,
}

impl Kind {
    /// Every kind, in code order.
    pub const ALL: [Kind; 8] = [
        Kind::Input,
        Kind::Output,
        Kind::Dir,
        Kind::DirRw,
        Kind::Entry,
        Kind::Word,
        Kind::EntryParents,
        Kind::Update,
    ];

    /// Whether the launcher opens an argument of this kind's parent
    /// directory rather than the argument itself (`entry`,
    /// `entry-parents`, `update`).
    pub fn is_entry(self) -> bool {
        matches!(self, Kind::Entry | Kind::EntryParents | Kind::Update)
    }

    /// Whether an argument of this kind names a file the launcher hands
    /// over (every kind but [`Kind::Word`]).
    pub fn is_file(self) -> bool {
        self != Kind::Word
    }

    /// The access the program gets to what an argument of this kind names:
    /// read-only for inputs and `dir`, read-write for outputs, `dir-rw`
    /// and `entry` (or `entry-parents`) parents (DESIGN §7). `None` for a
    /// word.
    pub fn access(self) -> Option<Access> {
        match self {
            Kind::Input | Kind::Dir => Some(Access::ReadOnly),
            Kind::Output | Kind::DirRw | Kind::Entry | Kind::EntryParents | Kind::Update => {
                Some(Access::ReadWrite)
            }
            Kind::Word => None,
        }
    }

    /// The kind's code in the binary form (1 to 8; 0 means "none" where a
    /// kind is optional).
    pub fn code(self) -> u8 {
        match self {
            Kind::Input => 1,
            Kind::Output => 2,
            Kind::Dir => 3,
            Kind::DirRw => 4,
            Kind::Entry => 5,
            Kind::Word => 6,
            Kind::EntryParents => 7,
            Kind::Update => 8,
        }
    }

    /// The kind with binary code `code`, if any.
    pub fn from_code(code: u8) -> Option<Kind> {
        Kind::ALL.iter().copied().find(|kind| kind.code() == code)
    }

    /// The kind's name in the TOML form and in messages: `input`,
    /// `output`, `dir`, `dir-rw`, `entry`, `word`, `entry-parents`,
    /// `update`.
    pub fn spelling(self) -> &'static str {
        match self {
            Kind::Input => "input",
            Kind::Output => "output",
            Kind::Dir => "dir",
            Kind::DirRw => "dir-rw",
            Kind::Entry => "entry",
            Kind::Word => "word",
            Kind::EntryParents => "entry-parents",
            Kind::Update => "update",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.spelling())
    }
}

/// How a file is put into the program's `/...`: the `xchroot()` access
/// mode (`manux_abi::AccessMode`). Read-write allows reading too.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Access {
    /// Read-only, for everything reached through the entry.
    ReadOnly,
    /// Read-write.
    ReadWrite,
}

impl Access {
    /// The ABI's access mode.
    pub fn mode(self) -> manux_abi::AccessMode {
        match self {
            Access::ReadOnly => manux_abi::AccessMode::ReadOnly,
            Access::ReadWrite => manux_abi::AccessMode::ReadWrite,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_zero_is_none() {
        for kind in Kind::ALL {
            assert_eq!(Kind::from_code(kind.code()), Some(kind));
        }
        assert_eq!(Kind::from_code(0), None);
        assert_eq!(Kind::from_code(9), None);
    }

    #[test]
    fn only_words_are_not_files() {
        for kind in Kind::ALL {
            assert_eq!(kind.is_file(), kind.access().is_some());
        }
        assert!(!Kind::Word.is_file());
        assert_eq!(Kind::Entry.access(), Some(Access::ReadWrite));
        assert_eq!(Kind::Dir.access(), Some(Access::ReadOnly));
        assert_eq!(Kind::EntryParents.access(), Some(Access::ReadWrite));
        assert!(Kind::EntryParents.is_entry() && Kind::Entry.is_entry());
        assert!(!Kind::DirRw.is_entry());
        assert!(Kind::Update.is_entry());
        assert_eq!(Kind::Update.access(), Some(Access::ReadWrite));
    }
}
