// SPDX-License-Identifier: MIT OR Apache-2.0
//! `spawn`, `execve`, `wait`, `kill`, `poweroff`.
//!
//! `spawn` and `execve` run only immutable regular files (the image
//! builder installs programs immutable; DESIGN §6, §8): a file a program
//! merely wrote can never be run. A file that starts with `#!` is run by
//! its interpreter ([`read_runnable`]), which must pass the same checks.

use super::sys_fs::{with_root, Caller};
use super::{Outcome, UserAccess};
use crate::files::FileTable;
use crate::process::{self, Continue, Place, Process};
use alloc::sync::Arc;
use alloc::vec::Vec;
use fs_ext2l::{FileType, InodeFlags};
use kernel_core::interpreter_line::{self, Start};
use kernel_core::ObjectRef;
use manux_abi::{limits, Errno, CURRENT_DIRECTORY};

/// Reads the program at `path` in the caller's view, checking it may
/// run; returns the file, held, and its bytes (from the program cache
/// when it has them: the file is immutable, see [`crate::program_cache`]).
///
/// Return values: path errors; `AccessDenied` when it is not an immutable
/// regular file, or was reached through `/...` (DESIGN §6: a program handed
/// a writable directory can drop a file there but cannot make anyone run
/// it); `NotExecutable` when it is too large to be a program.
pub fn read_program(
    caller: &Caller,
    path: &[u8],
) -> Result<(ObjectRef, Arc<crate::program_cache::Program>), Errno> {
    with_root(&caller.payer, |volume| {
        let resolved = caller.resolve(volume, path, true)?;
        if resolved.through_dots {
            return Err(Errno::AccessDenied);
        }
        let file = resolved.location.object().ok_or(Errno::AccessDenied)?;
        let metadata = volume.stat(&file)?;
        if metadata.file_type != FileType::RegularFile
            || !metadata.flags.contains(InodeFlags::IMMUTABLE)
        {
            return Err(Errno::AccessDenied);
        }
        if metadata.size > crate::elf_loader::MAX_PROGRAM_BYTES as u64 {
            return Err(Errno::NotExecutable);
        }
        if let Some(bytes) = crate::program_cache::get(&file) {
            return Ok((file, bytes));
        }
        // Seen at `log=debug`: a program run again while the cache had
        // room for it is never read again.
        log::debug!(
            "program read: {} ({} bytes)",
            alloc::string::String::from_utf8_lossy(path),
            metadata.size
        );
        let mut bytes = Vec::new();
        bytes
            .try_reserve_exact(metadata.size as usize)
            .map_err(|_| Errno::OutOfMemory)?;
        bytes.resize(metadata.size as usize, 0);
        let count = volume.read(&file, 0, &mut bytes)?;
        bytes.truncate(count);
        let program = Arc::new(crate::program_cache::Program::new(bytes.into()));
        if count as u64 == metadata.size {
            crate::program_cache::insert(&file, &program);
        }
        Ok((file, program))
    })
}

/// What `spawn` and `execve` start for a path: a program, or a script's
/// interpreter.
pub struct Runnable {
    /// The file the process is executing (DESIGN §6: `xchroot` changes
    /// the root to its rootlink target): the file the caller named,
    /// script or program — never a script's interpreter, which is a
    /// tool the script names, not what was launched (a shell reached
    /// as `/bin/sh` may be a launcher whose rootlink leads to the
    /// shell's root, not the script's).
    pub executable: ObjectRef,
    /// The ELF file that runs: the file itself, or the interpreter.
    pub program: Arc<crate::program_cache::Program>,
    /// For a script, the interpreter's arguments (`[interpreter,
    /// argument?, path, argv[1..]]`); `None`: the caller's, unchanged.
    pub script_arguments: Option<Vec<Vec<u8>>>,
}

impl Runnable {
    /// The arguments the program starts with, given the caller's.
    pub fn arguments<'a>(&'a self, caller_arguments: &'a [Vec<u8>]) -> &'a [Vec<u8>] {
        self.script_arguments.as_deref().unwrap_or(caller_arguments)
    }
}

/// Reads what running `path` with `arguments` starts, in the caller's
/// view: the file, checked by [`read_program`]; if it starts with `#!`
/// (`kernel_core::interpreter_line`), the interpreter its first line
/// names, checked the same way and resolved in the same view (for a
/// launched package, its root: the launcher changed root first), with
/// the interpreter's arguments.
///
/// Return values: [`read_program`]'s for the file and for the
/// interpreter (`ENOENT` for an interpreter not there, `EACCES` for one
/// not immutable or reached through `/...`); `NotExecutable` for a bad
/// `#!` line (too long, no interpreter, a relative path, a NUL); `Loop`
/// when the interpreter is itself a `#!` script (one level only, so a
/// script can never choose its interpreter's interpreter);
/// `OutOfMemory`. Each refusal of a script is logged.
pub fn read_runnable(
    caller: &Caller,
    path: &[u8],
    arguments: &[Vec<u8>],
) -> Result<Runnable, Errno> {
    let (executable, program) = read_program(caller, path)?;
    let refused = |why: &dyn core::fmt::Display, error: Errno| {
        log::warn!(
            "exec: {}: {why}: {error}",
            alloc::string::String::from_utf8_lossy(path)
        );
        error
    };
    let line = match interpreter_line::parse(&program.bytes) {
        Ok(Start::NotScript) => {
            return Ok(Runnable {
                executable,
                program,
                script_arguments: None,
            })
        }
        Ok(Start::Script(line)) => line,
        Err(error) => return Err(refused(&error.describe(), error.into())),
    };
    let shown = || {
        alloc::format!(
            "interpreter {}",
            alloc::string::String::from_utf8_lossy(line.interpreter)
        )
    };
    let (_, interpreter) =
        read_program(caller, line.interpreter).map_err(|error| refused(&shown(), error))?;
    if interpreter.bytes.starts_with(b"#!") {
        return Err(refused(
            &alloc::format!("{} is itself a `#!` script", shown()),
            Errno::Loop,
        ));
    }
    let script_arguments = Some(line.arguments(path, arguments)?);
    Ok(Runnable {
        executable,
        program: interpreter,
        script_arguments,
    })
}

/// `spawn(request)`: a `SpawnRequest` (64 bytes, see `manux-abi`).
pub fn spawn(process: &Arc<Process>, request: u64) -> Result<u64, Errno> {
    let raw = UserAccess::read(process, request, 64, 64)?;
    let word = |i: usize| u64::from_le_bytes(raw[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]));
    let path = UserAccess::path(process, word(0), word(1))?;
    let mut budget = limits::ARGUMENT_BYTES;
    let arguments = UserAccess::strings(process, word(2), word(3), &mut budget)?;
    let environment = UserAccess::strings(process, word(4), word(5), &mut budget)?;
    let fd_count = word(7);
    if fd_count > limits::SPAWN_FDS as u64 {
        return Err(Errno::InvalidArgument);
    }
    let map = UserAccess::read(process, word(6), fd_count * 8, limits::SPAWN_FDS * 8)?;
    let caller = Caller::of(process, CURRENT_DIRECTORY as i64 as u64)?;
    let files = {
        let resources = process.resources.lock();
        let mut files = FileTable::default();
        for pair in map.chunks_exact(8) {
            let child = i32::from_le_bytes(pair[0..4].try_into().unwrap_or([0; 4]));
            let parent = i32::from_le_bytes(pair[4..8].try_into().unwrap_or([0; 4]));
            let file = resources.files.get(i64::from(parent))?;
            // Replaces an earlier mapping of the same child fd: the parent
            // still holds that file, so nothing is closed here.
            let _earlier = files.insert_at(i64::from(child), file)?;
        }
        files
    };
    let runnable = read_runnable(&caller, &path, &arguments)?;
    let dots_charge = process.resources.lock().place()?.dots_charge.clone();
    let place = Place {
        root: caller.root,
        cwd: caller.base,
        dots: caller.dots,
        executable: runnable.executable.clone(),
        dots_charge,
    };
    let pid = process::spawn(
        process.pid,
        &path,
        &runnable.program,
        runnable.arguments(&arguments),
        &environment,
        files,
        place,
    )?;
    Ok(u64::from(pid))
}

/// `execve(path, path_length, argv, argc, envp, envc)`: replaces the
/// program; on success the old image is gone, the close-on-exec
/// descriptors are closed, and nothing returns.
pub fn execute(process: &Arc<Process>, a: [u64; 6]) -> Outcome {
    let result = (|| {
        let path = UserAccess::path(process, a[0], a[1])?;
        let mut budget = limits::ARGUMENT_BYTES;
        let arguments = UserAccess::strings(process, a[2], a[3], &mut budget)?;
        let environment = UserAccess::strings(process, a[4], a[5], &mut budget)?;
        replace_program(process, &path, &arguments, &environment)
    })();
    match result {
        Err(error) => Outcome::Value(Err(error)),
        Ok(context) => Outcome::Control(Continue::Replace(context)),
    }
}

/// Replaces `process`'s program with the one at `path` (in its view,
/// from its current directory) run with `arguments` and `environment`;
/// returns the registers to start it with. The old image's mappings are
/// dropped (DESIGN §3) — or, for a vfork child, the borrowed memory goes
/// back to its parent. On error nothing changed.
///
/// Return values: as [`read_runnable`] and the loader's.
pub fn replace_program(
    process: &Arc<Process>,
    path: &[u8],
    arguments: &[Vec<u8>],
    environment: &[Vec<u8>],
) -> Result<hal::UserContext, Errno> {
    let caller = Caller::of(process, CURRENT_DIRECTORY as i64 as u64)?;
    let Runnable {
        executable,
        program,
        script_arguments,
    } = read_runnable(&caller, path, arguments)?;
    let arguments = script_arguments.as_deref().unwrap_or(arguments);
    let loaded = crate::elf_loader::load(&program, arguments, environment, &process.budget)?;
    let (old, old_executable, closed) = {
        let mut resources = process.resources.lock();
        let old_executable = resources
            .place
            .as_mut()
            .map(|place| core::mem::replace(&mut place.executable, executable));
        // Close-on-exec descriptors end with the old image, and so do
        // its signal handlers.
        let closed = resources.files.close_on_exec_all();
        resources.linux_signals.on_exec();
        (
            resources.memory.replace(loaded.memory),
            old_executable,
            closed,
        )
    };
    // Dropped outside the lock: the last end of a pipe wakes its waiters.
    drop(closed);
    drop(old_executable);
    if let Some(old) = old {
        process::release_memory(process, old);
    }
    *process.name.lock() = process::program_name(path);
    Ok(loaded.context)
}

/// `wait(pid or -1, status)`.
pub fn wait(process: &Arc<Process>, pid: u64, status: u64) -> Result<u64, Errno> {
    let wanted = match pid as i64 {
        -1 => None,
        value if value > 0 && value <= i64::from(u32::MAX) => Some(value as u32),
        _ => return Err(Errno::InvalidArgument),
    };
    let (child, code) = process::wait(process, wanted)?;
    if status != 0 {
        UserAccess::write(process, status, &code.to_le_bytes())?;
    }
    Ok(u64::from(child))
}

/// `kill(pid)`.
pub fn kill(process: &Process, pid: u64) -> Result<u64, Errno> {
    let target = u32::try_from(pid).map_err(|_| Errno::NoSuchProcess)?;
    process::kill(process.pid, target)?;
    Ok(0)
}

/// `poweroff(status)`: init only; the kernel syncs and powers off.
pub fn power_off(process: &Process, status: u64) -> Result<u64, Errno> {
    if process.pid != 1 {
        return Err(Errno::NotPermitted);
    }
    let status = status as u8;
    crate::power_off(if status == 0 {
        hal::ExitStatus::Success
    } else {
        hal::ExitStatus::Failure(status)
    })
}
