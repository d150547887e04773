// SPDX-License-Identifier: MIT OR Apache-2.0
//! `ext2l`: make, inspect, check and edit ext2l images from the host.
//!
//! Every subcommand takes the image path first, then its own arguments
//! (`ext2l put IMAGE HOSTFILE PATH`, `ext2l ls -l IMAGE /`). Paths inside
//! the image are absolute; `..` is resolved lexically, as the kernel does.
//! Errors are one line on standard error and a non-zero exit status: 1 for
//! an operation that failed, 2 for bad usage or an image that cannot be
//! opened at all. `check` has its own scale, after `e2fsck`'s: 0 clean, 1
//! the journal needs recovery (the volume as it will be after the replay
//! is clean), 2 unusable image or usage, 4 damage found; `check --repair`
//! exits 0 when the volume is clean after the repair, 4 when damage
//! remains.
//!
//! Ordinary commands (`put`, `mkdir`, `rm`, `ln`) obey the ext2l rules like
//! the kernel does (immutable files stay untouched, directories cannot be
//! hard-linked); `ln --dir`, `rootlink` and `chattr` are the installer's
//! privileged operations (DESIGN §8). The subcommands live in `inspect`
//! (read-only ones), `edit` (writing ones) and `bench`.

#![forbid(unsafe_code)]

mod bench;
mod edit;
mod image;
mod inspect;
mod output;
mod repair;
mod transfer;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// Make, inspect, check and edit ext2l images.
#[derive(Parser, Debug)]
#[command(name = "ext2l", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// `on` or `off`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Switch {
    /// Enabled.
    On,
    /// Disabled.
    Off,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Make a new file system in IMAGE (created if missing).
    Mkfs {
        /// The image file.
        image: PathBuf,
        /// Size with an optional K, M or G suffix; default: the file's size.
        #[arg(long, short = 's')]
        size: Option<String>,
        /// Block size: 1024, 2048 or 4096 (default 1024 below 512 MiB, else 4096).
        #[arg(long, short = 'b')]
        block_size: Option<u32>,
        /// Inode size: 128 or 256.
        #[arg(long, short = 'I', default_value_t = 256)]
        inode_size: u32,
        /// Volume label (up to 16 bytes).
        #[arg(long, short = 'L')]
        label: Option<String>,
        /// Set the ext2l feature bit (off makes a stock ext2 volume).
        #[arg(long, value_enum, default_value_t = Switch::On)]
        ext2l: Switch,
        /// Journal size in MiB (default: mke2fs's for the volume's block
        /// count: 1024 blocks below 32768 blocks, 4096 below 256 Ki, …;
        /// none below 2048 blocks).
        #[arg(long, value_name = "MIB", conflicts_with = "no_journal")]
        journal_size: Option<u64>,
        /// Make no journal.
        #[arg(long)]
        no_journal: bool,
    },
    /// Check every invariant: exit 0 clean, 1 when the journal needs
    /// recovery (and the volume as replayed is clean), 4 when there is
    /// damage, 2 when the image cannot be read. With --repair, fix what is
    /// found (replaying the journal first) and print each repair: exit 0
    /// when the volume is clean afterwards, 4 when damage remains.
    Check {
        /// Repair what is found, as `e2fsck -y` would.
        #[arg(long)]
        repair: bool,
        /// The image file.
        image: PathBuf,
    },
    /// Grow the volume to SIZE (default: to fill the file), as far as
    /// the descriptor blocks reserved at mkfs allow (1024 times the size
    /// it was made with). The file is extended when SIZE is larger. A
    /// power cut leaves the old size or the new one (with a journal).
    Resize {
        /// The image file.
        image: PathBuf,
        /// New size with an optional K, M, G or T suffix.
        size: Option<String>,
    },
    /// Replay the journal if the volume needs recovery.
    Recover {
        /// The image file.
        image: PathBuf,
    },
    /// List a directory (or describe a file).
    Ls {
        /// Long format: mode, links, owner, size, time, name.
        #[arg(short = 'l')]
        long: bool,
        /// The image file.
        image: PathBuf,
        /// Path inside the image.
        #[arg(default_value = "/")]
        path: String,
    },
    /// Print a file's contents.
    Cat {
        /// The image file.
        image: PathBuf,
        /// Path inside the image.
        path: String,
    },
    /// Describe one inode in detail.
    Stat {
        /// The image file.
        image: PathBuf,
        /// Path inside the image.
        path: String,
    },
    /// Copy a host file into the image.
    Put {
        /// The image file.
        image: PathBuf,
        /// The file on the host.
        host_file: PathBuf,
        /// Destination path inside the image (an existing directory receives
        /// the file under its host name).
        path: String,
    },
    /// Copy a file out of the image (`-` for standard output).
    Get {
        /// The image file.
        image: PathBuf,
        /// Path inside the image.
        path: String,
        /// Destination on the host.
        host_file: PathBuf,
    },
    /// Make a directory.
    Mkdir {
        /// Make missing parents too.
        #[arg(short = 'p', long)]
        parents: bool,
        /// The image file.
        image: PathBuf,
        /// Path inside the image.
        path: String,
    },
    /// Remove a name (a directory name too: empty, or one of several names).
    Rm {
        /// Remove a directory's contents first when it holds its last name.
        #[arg(short = 'r', long)]
        recursive: bool,
        /// The image file.
        image: PathBuf,
        /// Path inside the image.
        path: String,
    },
    /// Make a hard link NAME to TARGET (a directory hardlink with --dir).
    Ln {
        /// Link a directory (installer operation; refuses cycles).
        #[arg(long)]
        dir: bool,
        /// Make a symbolic link whose text is TARGET instead.
        #[arg(short = 's', long)]
        symbolic: bool,
        /// The image file.
        image: PathBuf,
        /// The existing path (or, with -s, the link text).
        target: String,
        /// The new name.
        name: String,
    },
    /// Set, read or clear a file's rootlink (installer operation).
    Rootlink {
        #[command(subcommand)]
        action: RootlinkAction,
    },
    /// Set (+i) or clear (-i) the immutable flag (installer operation):
    /// `ext2l chattr IMAGE +i PATH` or `ext2l chattr +i IMAGE PATH`.
    Chattr {
        /// IMAGE, +i or -i, and PATH.
        #[arg(allow_hyphen_values = true, num_args = 3, value_names = ["IMAGE", "+i|-i", "PATH"])]
        arguments: Vec<String>,
    },
    /// Print a summary of the superblock.
    Info {
        /// The image file.
        image: PathBuf,
    },
    /// Change file-system settings.
    Tune {
        /// The image file.
        image: PathBuf,
        /// Set or clear the ext2l feature bit.
        #[arg(long, value_enum)]
        ext2l: Option<Switch>,
        /// Add a journal of MIB MiB (default: mke2fs's size for the volume).
        #[arg(long, value_name = "MIB", num_args = 0..=1)]
        journal: Option<Option<u64>>,
    },
    /// Time `put` + `get` of a large file against host `cp`.
    Bench {
        /// File size in MiB.
        #[arg(long, default_value_t = 64)]
        size_mib: u64,
        /// Scratch directory (default: the system temporary directory).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Counted rounds (after one warm-up); the median is reported.
        #[arg(long, default_value_t = 11)]
        runs: u32,
    },
}

#[derive(Subcommand, Debug)]
enum RootlinkAction {
    /// Make FILE's rootlink name directory DIR.
    Set {
        /// The image file.
        image: PathBuf,
        /// A regular file inside the image.
        file: String,
        /// A directory inside the image.
        dir: String,
    },
    /// Print FILE's rootlink.
    Get {
        /// The image file.
        image: PathBuf,
        /// A regular file inside the image.
        file: String,
    },
    /// Remove FILE's rootlink.
    Clear {
        /// The image file.
        image: PathBuf,
        /// A regular file inside the image.
        file: String,
    },
}

/// A failed command: its one-line message and exit status.
#[derive(Debug)]
pub struct Failure {
    message: String,
    status: u8,
}

impl Failure {
    /// An operation that failed (status 1).
    pub fn operation(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            status: 1,
        }
    }

    /// Bad usage or an unusable image (status 2).
    pub fn usage(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            status: 2,
        }
    }

    /// `check`: the journal needs recovery, nothing else is wrong (status 1).
    pub fn needs_recovery(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            status: 1,
        }
    }

    /// `check`: damage found (status 4, as `e2fsck` says "errors left
    /// uncorrected").
    pub fn damage(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            status: 4,
        }
    }
}

/// The journal `mkfs` makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JournalSize {
    /// `mke2fs`'s default for the volume's size.
    Default,
    /// This many MiB.
    Mebibytes(u64),
    /// None.
    None,
}

/// What each subcommand returns.
pub type Outcome = Result<(), Failure>;

fn run(command: Command) -> Outcome {
    match command {
        Command::Mkfs {
            image,
            size,
            block_size,
            inode_size,
            label,
            ext2l,
            journal_size,
            no_journal,
        } => edit::mkfs(
            &image,
            size.as_deref(),
            block_size,
            inode_size,
            label.as_deref(),
            ext2l == Switch::On,
            match (journal_size, no_journal) {
                (_, true) => JournalSize::None,
                (Some(mebibytes), false) => JournalSize::Mebibytes(mebibytes),
                (None, false) => JournalSize::Default,
            },
        ),
        Command::Check { repair, image } => {
            if repair {
                repair::repair(&image)
            } else {
                inspect::check(&image)
            }
        }
        Command::Resize { image, size } => edit::resize(&image, size.as_deref()),
        Command::Recover { image } => edit::recover(&image),
        Command::Ls { long, image, path } => inspect::ls(&image, &path, long),
        Command::Cat { image, path } => inspect::cat(&image, &path),
        Command::Stat { image, path } => inspect::stat(&image, &path),
        Command::Put {
            image,
            host_file,
            path,
        } => edit::put(&image, &host_file, &path),
        Command::Get {
            image,
            path,
            host_file,
        } => inspect::get(&image, &path, &host_file),
        Command::Mkdir {
            parents,
            image,
            path,
        } => edit::mkdir(&image, &path, parents),
        Command::Rm {
            recursive,
            image,
            path,
        } => edit::rm(&image, &path, recursive),
        Command::Ln {
            dir,
            symbolic,
            image,
            target,
            name,
        } => edit::ln(&image, &target, &name, dir, symbolic),
        Command::Rootlink { action } => match action {
            RootlinkAction::Set { image, file, dir } => edit::rootlink_set(&image, &file, &dir),
            RootlinkAction::Get { image, file } => inspect::rootlink_get(&image, &file),
            RootlinkAction::Clear { image, file } => edit::rootlink_clear(&image, &file),
        },
        Command::Chattr { arguments } => edit::chattr(&arguments),
        Command::Info { image } => inspect::info(&image),
        Command::Tune {
            image,
            ext2l,
            journal,
        } => edit::tune(
            &image,
            ext2l.map(|switch| switch == Switch::On),
            journal.map(|size| size.map_or(JournalSize::Default, JournalSize::Mebibytes)),
        ),
        Command::Bench {
            size_mib,
            dir,
            runs,
        } => bench::bench(size_mib, dir.as_deref(), runs),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("ext2l: {}", failure.message);
            ExitCode::from(failure.status)
        }
    }
}
