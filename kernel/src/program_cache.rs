// SPDX-License-Identifier: MIT OR Apache-2.0
//! The program cache: recently run programs, their bytes and their
//! read-only pages.
//!
//! `spawn` and `execve` run only immutable regular files (DESIGN §6), and
//! an immutable file can be neither written, truncated, renamed nor
//! removed: its bytes are fixed for as long as its inode is. So a program
//! read once is kept, by object (inode and generation: an entry holds its
//! file, which therefore stays that file), and the next spawn of it skips
//! the file system altogether.
//!
//! So is what running it first found: its checked, laid-out image
//! (`kernel_core::program::ProgramImage`), so a program is parsed once,
//! not at every spawn. Its read-only pages (code, constants) are kept too,
//! once built, with their table entries
//! ([`Program::shared_pages`], a `hal::user::SharedFrames`): programs are
//! position-independent with no relocation in read-only segments (`-z
//! text`), so those pages hold the same bytes at every load address, and
//! every process running the program maps the same frames, read-only, all
//! at once at spawn — nothing copied, nothing zeroed, no fault per page,
//! and the emulator's translated code for them stays valid.
//! The frames are freed when the last process using them has ended and
//! the program has left the cache.
//!
//! The cache holds at most its budget (a share of the kernel heap, set by
//! [`init`]) in file bytes; the least recently run program goes first.

use alloc::boxed::Box;
use alloc::sync::Arc;
use hal::user::SharedFrames;
use hashbrown::HashMap;
use kernel_core::program::ProgramImage;
use kernel_core::ObjectRef;
use spin::Mutex;

/// A program file's bytes, and, once it has been run, its checked image
/// and shared read-only pages.
pub struct Program {
    /// The whole file.
    pub bytes: Box<[u8]>,
    image: Mutex<Option<Arc<ProgramImage>>>,
    shared: Mutex<Option<Arc<SharedFrames>>>,
}

impl Program {
    /// A program of `bytes`, not checked yet.
    pub fn new(bytes: Box<[u8]>) -> Self {
        Program {
            bytes,
            image: Mutex::new(None),
            shared: Mutex::new(None),
        }
    }

    /// The checked image of the file, made by `parse` the first time
    /// (a file that fails is checked again each time it is run).
    ///
    /// Return values: `parse`'s error.
    pub fn image<E>(
        &self,
        parse: impl FnOnce() -> Result<ProgramImage, E>,
    ) -> Result<Arc<ProgramImage>, E> {
        once(&self.image, parse)
    }

    /// The shared read-only pages, built by `build` the first time.
    ///
    /// Return values: `build`'s error.
    pub fn shared_pages<E>(
        &self,
        build: impl FnOnce() -> Result<SharedFrames, E>,
    ) -> Result<Arc<SharedFrames>, E> {
        once(&self.shared, build)
    }
}

/// What `slot` holds, or what `make` makes, kept there if it succeeds.
fn once<T, E>(
    slot: &Mutex<Option<Arc<T>>>,
    make: impl FnOnce() -> Result<T, E>,
) -> Result<Arc<T>, E> {
    let mut slot = slot.lock();
    if let Some(made) = slot.as_ref() {
        return Ok(made.clone());
    }
    let made = Arc::new(make()?);
    *slot = Some(made.clone());
    Ok(made)
}

struct Entry {
    /// The file, held while it is cached.
    _file: ObjectRef,
    program: Arc<Program>,
    last_use: u64,
}

/// Programs by `(inode, generation)`.
struct ProgramCache {
    entries: HashMap<(u32, u32), Entry>,
    bytes: usize,
    budget: usize,
    use_counter: u64,
}

/// The cache, made when the root is mounted ([`init`]); absent (and
/// caching nothing) before.
static CACHE: Mutex<Option<ProgramCache>> = Mutex::new(None);

/// Lets the cache hold up to `budget` bytes of program files.
pub fn init(budget: usize) {
    *CACHE.lock() = Some(ProgramCache {
        entries: HashMap::new(),
        bytes: 0,
        budget,
        use_counter: 0,
    });
}

/// The key of `file`: its inode and generation.
fn key(file: &ObjectRef) -> (u32, u32) {
    (file.inode().get(), file.generation())
}

/// The cached program of `file`, if any.
pub fn get(file: &ObjectRef) -> Option<Arc<Program>> {
    let mut cache = CACHE.lock();
    let cache = cache.as_mut()?;
    cache.use_counter += 1;
    let now = cache.use_counter;
    let entry = cache.entries.get_mut(&key(file))?;
    entry.last_use = now;
    Some(entry.program.clone())
}

/// Keeps `program`, the whole of immutable file `file`, evicting the
/// least recently used programs to stay within the budget. A program
/// larger than the budget is not kept.
pub fn insert(file: &ObjectRef, program: &Arc<Program>) {
    let size = program.bytes.len();
    let mut cache = CACHE.lock();
    let Some(cache) = cache.as_mut() else {
        return;
    };
    if size > cache.budget {
        return;
    }
    let key = key(file);
    if cache.entries.contains_key(&key) {
        return;
    }
    while cache.bytes + size > cache.budget {
        let Some((&victim, _)) = cache.entries.iter().min_by_key(|(_, entry)| entry.last_use)
        else {
            break;
        };
        if let Some(entry) = cache.entries.remove(&victim) {
            cache.bytes -= entry.program.bytes.len();
        }
    }
    cache.use_counter += 1;
    let last_use = cache.use_counter;
    cache.bytes += size;
    cache.entries.insert(
        key,
        Entry {
            _file: file.clone(),
            program: program.clone(),
            last_use,
        },
    );
}
