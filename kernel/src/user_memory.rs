// SPDX-License-Identifier: MIT OR Apache-2.0
//! A process's memory: its ranges of the one user address space, the
//! frames behind them, and checked copies in and out.
//!
//! DESIGN §3: every user segment gets a virtual range from one global
//! allocator ([`AddressRanges`]), so no two live processes overlap and an
//! address means the same thing everywhere; each process's own table maps
//! only its own ranges. User pointers are claims: [`UserMemory::copy_in`]
//! and [`UserMemory::copy_out`] look every page up in the process's table,
//! check the user's permission (a page read-only for the user is never
//! written, even through the kernel's direct map) and copy through the
//! direct map. A bad pointer is `EFAULT`, never a kernel fault.
//!
//! The one exception is the fixed-address window (`[USER_START,
//! FIXED_WINDOW_END)`, which the global allocator never hands out): a
//! program linked for fixed addresses (`ET_EXEC`) is reserved where its
//! file says ([`UserMemory::reserve_fixed`]), and from then on that
//! memory is a *windowed* one — its stack and every later mapping come
//! from its own private copy of the window (from the top down), and its
//! program break ([`UserMemory::move_break`]) grows up from the image.
//! Two windowed processes may use the same addresses: each table maps
//! only its own frames, and nothing of a windowed process lies in the
//! shared part of the address space.
//!
//! Zero-filled memory — a program's `.bss` (its heap lives there), its
//! stack — is mapped on first touch ([`UserMemory::map_lazy`]): frames
//! are taken as pages are used. The budget is charged when a range is
//! reserved (what it may take, so a touch never fails for want of
//! budget), except the stack's 8 MiB: its top 128 KiB are paid for at
//! once, the rest page by page as they are touched
//! ([`UserMemory::map_stack`]) — a program pays for the deep stack it
//! uses, and one that runs past its budget there is killed. A user fault on
//! such a page maps a zeroed frame ([`UserMemory::fault_in`]); a copy the
//! kernel makes for a system call maps the pages it crosses first, so a
//! pointer into untouched `.bss` is as good as any other.
//!
//! Linux's `mmap` ranges ([`UserMemory::map_mapping`]) are the only
//! memory a process gives back before it ends ([`UserMemory::unmap`]):
//! each unmapped page loses its translation (flushed) before its frame
//! is let go, so no touch of it reaches a frame used again, and its bytes
//! go back to the budget at once; the range itself is freed when its last
//! page goes (until then its unmapped pages stay reserved, not lazy, not
//! charged — a touch is a fault). The image, the stack, the break and a
//! program's shared pages are never unmapped before the process ends.

use alloc::sync::Arc;
use alloc::vec::Vec;
use hal::frames::Frame;
use hal::user::{
    Access, AccessError, MapError, SharedFrames, UserPages, UserPermission, UserRuns,
    FIXED_WINDOW_END, PAGE_SIZE, USER_END, USER_START,
};
use kernel_core::budget::{Budget, Charge, Pool};
use kernel_core::AddressRanges;
use manux_abi::Errno;
use spin::Mutex;

fn errno(error: AccessError) -> Errno {
    match error {
        AccessError::BadAddress => Errno::BadAddress,
        AccessError::OutOfMemory => Errno::OutOfMemory,
    }
}

/// A refused mapping: no memory, or a request this memory does not allow.
fn map_errno(error: MapError) -> Errno {
    match error {
        MapError::OutOfMemory => Errno::OutOfMemory,
        _ => Errno::InvalidArgument,
    }
}

/// The free ranges of the user half, shared by every process.
static RANGES: Mutex<Option<AddressRanges>> = Mutex::new(None);

/// A gap left unmapped after every range, so running off the end of one
/// segment faults instead of reaching the next.
const GUARD: u64 = PAGE_SIZE;

/// Bytes at the top of a stack paid for when it is reserved (the rest as
/// it is touched, see [`UserMemory::map_stack`]).
pub const STACK_PAID_AT_ONCE: u64 = 128 * 1024;

/// Takes `size` bytes (page-rounded, plus a guard page) of user address
/// space; `None` when none is left.
pub fn allocate_range(size: u64) -> Option<u64> {
    RANGES
        .lock()
        .get_or_insert_with(|| AddressRanges::new(FIXED_WINDOW_END, USER_END, PAGE_SIZE, GUARD))
        .allocate(size)
}

/// Returns a range taken by [`allocate_range`] with the same `size`.
pub fn free_range(start: u64, size: u64) {
    if let Some(ranges) = RANGES.lock().as_mut() {
        if ranges.free(start, size).is_err() {
            log::error!("kernel bug: user range {start:#x} (+{size:#x}) freed twice");
        }
    }
}

/// What a user fault came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultIn {
    /// The page is mapped now: the process may retry the access.
    Mapped,
    /// A real fault: no lazy page there, or the access is not allowed.
    Refused,
    /// A lazy page with no frame left for it (the memory was committed,
    /// so only frames outside the budgets can have run out).
    OutOfMemory,
}

/// The program break (`brk`) of a windowed memory: zeroed memory from
/// just above the image (and its guard page) up to `current`, reserved
/// and charged in whole pages up to `base + reserved`.
#[derive(Clone, Copy, Debug)]
struct ProgramBreak {
    /// Where the break starts.
    base: u64,
    /// The break.
    current: u64,
    /// Bytes reserved from `base` (a multiple of the page size; 0 while
    /// the break has not moved up).
    reserved: u64,
}

/// A process's memory.
pub struct UserMemory {
    /// Its table and the frames it maps.
    pages: UserPages,
    /// Ranges taken from the global allocator, or from the window:
    /// `(start, size)`.
    reservations: Vec<(u64, u64)>,
    /// The private fixed-address window, once a fixed-address image is
    /// reserved: every range of this memory comes from it then.
    window: Option<AddressRanges>,
    /// The program break of a windowed memory.
    program_break: Option<ProgramBreak>,
    /// Ranges whose pages are paid for when first mapped rather than when
    /// reserved (the stack): `(start, end)`.
    paid_on_touch: Vec<(u64, u64)>,
    /// What the pages mapped so far in those ranges hold of the budget.
    touched: Option<Charge>,
    /// Ranges mapped zeroed on first touch: `(start, end, permission)`.
    lazy: Vec<(u64, u64, UserPermission)>,
    /// The ranges made by `mmap` ([`Self::map_mapping`]): `(start, end,
    /// frozen)` — the only memory [`Self::unmap`] takes back; a frozen
    /// one (a read-only shared mapping of a file) never becomes writable.
    mappings: Vec<(u64, u64, bool)>,
    /// Pages of those mappings unmapped since (no frame, not lazy, not
    /// charged): `(start, end)`, disjoint.
    unmapped: Vec<(u64, u64)>,
    /// What this memory may take, and what it holds of it: its root
    /// table, then each reservation with its page tables, less what
    /// [`Self::unmap`] gave back.
    budget: Arc<Budget>,
    charges: Vec<Charge>,
    /// The last answer of [`UserMemory::writable_runs`]: `(address,
    /// length, runs)`. A program reads into the same buffer again and
    /// again; the answer stays true as long as no page of the range is
    /// unmapped or loses write permission — and whatever does that
    /// ([`UserMemory::map_page`]'s and [`UserMemory::protect`]'s
    /// permission changes, [`UserMemory::unmap`], [`UserMemory::map_over`])
    /// clears it.
    last_runs: Option<(u64, usize, UserRuns)>,
}

impl UserMemory {
    /// An empty address space, charged to `budget`.
    ///
    /// Return values: `OutOfMemory` if no table or id is left, or the
    /// budget cannot cover the root table.
    pub fn new(budget: &Arc<Budget>) -> Result<Self, Errno> {
        let root = crate::budgets::charge(budget, Pool::Frames, PAGE_SIZE)?;
        Ok(UserMemory {
            pages: UserPages::new().ok_or(Errno::OutOfMemory)?,
            reservations: Vec::new(),
            window: None,
            program_break: None,
            paid_on_touch: Vec::new(),
            touched: None,
            lazy: Vec::new(),
            mappings: Vec::new(),
            unmapped: Vec::new(),
            budget: budget.clone(),
            charges: alloc::vec![root],
            last_runs: None,
        })
    }

    /// Bytes of frames `size` bytes of address space may take: its pages,
    /// and the translation tables that can map them (one last-level table
    /// per 512 pages, plus one of each upper level).
    fn commitment(size: u64) -> u64 {
        size.div_ceil(PAGE_SIZE) * PAGE_SIZE + Self::table_commitment(size)
    }

    /// Bytes of the translation tables that can map `size` bytes.
    fn table_commitment(size: u64) -> u64 {
        (size.div_ceil(PAGE_SIZE).div_ceil(512) + 3) * PAGE_SIZE
    }

    /// Takes `size` bytes of the user half for this process; returns the
    /// start. Nothing is mapped yet.
    ///
    /// Return values: `OutOfMemory` when the address space is exhausted.
    pub fn reserve(&mut self, size: u64) -> Result<u64, Errno> {
        self.reserve_paying(size, Self::commitment(size))
    }

    /// Takes `size` bytes of the user half, paying `commitment` now.
    fn reserve_paying(&mut self, size: u64, commitment: u64) -> Result<u64, Errno> {
        self.reservations
            .try_reserve(1)
            .map_err(|_| Errno::OutOfMemory)?;
        self.charges
            .try_reserve(1)
            .map_err(|_| Errno::OutOfMemory)?;
        let charge = crate::budgets::charge(&self.budget, Pool::Frames, commitment)?;
        let start = match self.window.as_mut() {
            Some(window) => window.allocate_from_top(size),
            None => allocate_range(size),
        }
        .ok_or(Errno::OutOfMemory)?;
        self.reservations.push((start, size));
        self.charges.push(charge);
        Ok(start)
    }

    /// Takes the `size` bytes at `start` for a fixed-address image, as
    /// the first reservation of this memory, which becomes windowed (see
    /// the module doc); its program break starts above the image.
    ///
    /// Return values: `InvalidArgument` if `[start, start + size)` is not
    /// inside the window or this memory has reservations already;
    /// `OutOfMemory`.
    pub fn reserve_fixed(&mut self, start: u64, size: u64) -> Result<u64, Errno> {
        let end = start
            .checked_add(size)
            .filter(|&end| start >= USER_START && end <= FIXED_WINDOW_END)
            .ok_or(Errno::InvalidArgument)?;
        if !self.reservations.is_empty() || start % PAGE_SIZE != 0 {
            return Err(Errno::InvalidArgument);
        }
        self.reservations
            .try_reserve(2)
            .map_err(|_| Errno::OutOfMemory)?;
        self.charges
            .try_reserve(2)
            .map_err(|_| Errno::OutOfMemory)?;
        let charge = crate::budgets::charge(&self.budget, Pool::Frames, Self::commitment(size))?;
        let mut window = AddressRanges::new(USER_START, FIXED_WINDOW_END, PAGE_SIZE, GUARD);
        window.allocate_at(start, size).ok_or(Errno::OutOfMemory)?;
        let base = end.next_multiple_of(PAGE_SIZE) + GUARD;
        self.window = Some(window);
        self.program_break = Some(ProgramBreak {
            base,
            current: base,
            reserved: 0,
        });
        self.reservations.push((start, size));
        self.charges.push(charge);
        Ok(start)
    }

    /// Moves the program break to `wanted` and returns the break, as
    /// Linux's `brk`: the break of a windowed memory grows into zeroed
    /// memory (charged as any reservation) while the window above it is
    /// free and the budget pays, and may shrink back to its base (the
    /// pages stay until the process ends); any other request leaves it
    /// where it is. A memory without a window has no break: 0.
    pub fn move_break(&mut self, wanted: u64) -> u64 {
        let Some(mut program_break) = self.program_break else {
            return 0;
        };
        if wanted >= program_break.base && wanted <= program_break.base + program_break.reserved {
            program_break.current = wanted;
        } else if wanted > program_break.base {
            let size = (wanted - program_break.base).next_multiple_of(PAGE_SIZE);
            if self.grow_break(program_break, size).is_ok() {
                program_break.reserved = size;
                program_break.current = wanted;
            }
        }
        self.program_break = Some(program_break);
        program_break.current
    }

    /// Makes the break's reservation `size` bytes (more than now).
    ///
    /// Return values: `OutOfMemory` when the window above is taken, the
    /// budget cannot pay, or the heap cannot hold the records.
    fn grow_break(&mut self, program_break: ProgramBreak, size: u64) -> Result<(), Errno> {
        let ProgramBreak { base, reserved, .. } = program_break;
        if base
            .checked_add(size)
            .is_none_or(|end| end > FIXED_WINDOW_END)
        {
            return Err(Errno::OutOfMemory);
        }
        self.reservations
            .try_reserve(1)
            .map_err(|_| Errno::OutOfMemory)?;
        self.charges
            .try_reserve(1)
            .map_err(|_| Errno::OutOfMemory)?;
        self.lazy.try_reserve(1).map_err(|_| Errno::OutOfMemory)?;
        let more = Self::commitment(size) - Self::commitment(reserved);
        let charge = crate::budgets::charge(&self.budget, Pool::Frames, more)?;
        let window = self.window.as_mut().ok_or(Errno::OutOfMemory)?;
        if reserved > 0 && window.free(base, reserved).is_err() {
            return Err(Errno::OutOfMemory);
        }
        if window.allocate_at(base, size).is_none() {
            if reserved > 0 {
                // What was just freed is free again: taking it back holds.
                window.allocate_at(base, reserved);
            }
            return Err(Errno::OutOfMemory);
        }
        match self
            .reservations
            .iter_mut()
            .find(|(start, _)| *start == base)
        {
            Some(reservation) => reservation.1 = size,
            None => self.reservations.push((base, size)),
        }
        self.charges.push(charge);
        self.map_lazy(
            base + reserved,
            base + size,
            UserPermission {
                write: true,
                execute: false,
            },
        )
    }

    /// Whether `[start, end)` lies inside one of this process's
    /// reservations.
    fn reserved(&self, start: u64, end: u64) -> bool {
        self.reservations.iter().any(|&(first, size)| {
            start >= first && end <= first + size.div_ceil(PAGE_SIZE) * PAGE_SIZE
        })
    }

    /// Maps a zeroed page at `address` (inside a reservation) with
    /// `permission`; a page already mapped keeps its frame and gets the
    /// union of both permissions.
    ///
    /// Return values: `InvalidArgument` if the address is outside this
    /// process's reservations or the result would be writable and
    /// executable; `OutOfMemory`.
    pub fn map_page(&mut self, address: u64, permission: UserPermission) -> Result<(), Errno> {
        let address = address & !(PAGE_SIZE - 1);
        if !self.reserved(address, address + PAGE_SIZE) || self.pages.is_shared(address) {
            return Err(Errno::InvalidArgument);
        }
        if let Some(old) = self.pages.permission(address) {
            let merged = UserPermission {
                write: old.write || permission.write,
                execute: old.execute || permission.execute,
            };
            if merged == old {
                return Ok(());
            }
            if merged.write && merged.execute {
                return Err(Errno::InvalidArgument);
            }
            self.last_runs = None;
            return self
                .pages
                .set_permission(address, merged)
                .map_err(|_| Errno::OutOfMemory);
        }
        if permission.write && permission.execute {
            return Err(Errno::InvalidArgument);
        }
        self.pay_for_pages(address, 1)?;
        let frame = Frame::allocate().ok_or(Errno::OutOfMemory)?;
        self.pages
            .map(address, frame, permission)
            .map_err(|_| Errno::OutOfMemory)
    }

    /// Maps `frame`, already filled, at the page `address` (inside a
    /// reservation, not mapped yet) with `permission`.
    ///
    /// Return values: `InvalidArgument` if the page is outside this
    /// process's reservations or mapped already, or `permission` writable
    /// and executable.
    pub fn map_frame(
        &mut self,
        address: u64,
        permission: UserPermission,
        frame: Frame,
    ) -> Result<(), Errno> {
        if address % PAGE_SIZE != 0 || !self.reserved(address, address + PAGE_SIZE) {
            return Err(Errno::InvalidArgument);
        }
        self.pages
            .map(address, frame, permission)
            .map_err(map_errno)
    }

    /// Maps `frames`, a program's read-only pages, at `start` plus each
    /// page's offset (inside a reservation), all at once (see
    /// [`UserPages::map_shared`]). The frames are shared: the kernel never
    /// writes them through this memory ([`Self::load`] refuses), and they
    /// never become writable ([`Self::protect`] refuses).
    ///
    /// Return values: `InvalidArgument` if the pages are outside the
    /// reservations or mapped already; `OutOfMemory`.
    pub fn map_shared(&mut self, start: u64, frames: &Arc<SharedFrames>) -> Result<(), Errno> {
        let span = frames.span();
        if span.is_empty() {
            return Ok(());
        }
        let first = start.checked_add(span.start);
        let end = start.checked_add(span.end);
        match (first, end) {
            (Some(first), Some(end)) if self.reserved(first, end) => {
                self.pages.map_shared(start, frames).map_err(map_errno)
            }
            _ => Err(Errno::InvalidArgument),
        }
    }

    /// Whether any page of `[start, end)` is a shared page.
    fn any_shared(&self, start: u64, end: u64) -> bool {
        self.pages.any_shared(start..end)
    }

    /// Makes the pages of `[start, end)` (inside a reservation) zeroed
    /// memory with `permission`, mapped when first touched, by the user
    /// ([`Self::fault_in`]) or by the kernel's copies.
    ///
    /// Return values: `InvalidArgument` if the range is outside this
    /// process's reservations or the permission writable and executable;
    /// `OutOfMemory`.
    pub fn map_lazy(
        &mut self,
        start: u64,
        end: u64,
        permission: UserPermission,
    ) -> Result<(), Errno> {
        let start = start & !(PAGE_SIZE - 1);
        let end = end.div_ceil(PAGE_SIZE) * PAGE_SIZE;
        if end <= start {
            return Ok(());
        }
        if !self.reserved(start, end) || (permission.write && permission.execute) {
            return Err(Errno::InvalidArgument);
        }
        // The break grows by adjoining ranges: one record for them all.
        if let Some(last) = self.lazy.iter_mut().find(|(_, last_end, last_permission)| {
            *last_end == start && *last_permission == permission
        }) {
            last.1 = end;
            return Ok(());
        }
        self.lazy.try_reserve(1).map_err(|_| Errno::OutOfMemory)?;
        self.lazy.push((start, end, permission));
        Ok(())
    }

    /// The permission of the lazy range holding `page`, if any.
    fn lazy_permission(&self, page: u64) -> Option<UserPermission> {
        self.lazy
            .iter()
            .find(|&&(start, end, _)| page >= start && page < end)
            .map(|&(_, _, permission)| permission)
    }

    /// Handles a user fault at `address`: maps a zeroed page there if it
    /// lies in a lazy range, is not mapped yet, and the range allows
    /// `access`.
    pub fn fault_in(&mut self, address: u64, access: Access) -> FaultIn {
        let page = address & !(PAGE_SIZE - 1);
        // A mapped page (own, or a program's shared one) faulted for want
        // of a permission it does not have.
        if self.pages.permission(page).is_some() {
            return FaultIn::Refused;
        }
        let Some(permission) = self.lazy_permission(page) else {
            return FaultIn::Refused;
        };
        let allowed = match access {
            Access::Read => true,
            Access::Write => permission.write,
            Access::Execute => permission.execute,
        };
        if !allowed {
            return FaultIn::Refused;
        }
        match self.map_page(page, permission) {
            Ok(()) => FaultIn::Mapped,
            Err(_) => FaultIn::OutOfMemory,
        }
    }

    /// Maps the lazy pages of `[address, address + length)` not mapped
    /// yet, before the kernel copies through them.
    ///
    /// Return values: `OutOfMemory`.
    fn populate(&mut self, address: u64, length: usize) -> Result<(), Errno> {
        if self.lazy.is_empty() || length == 0 {
            return Ok(());
        }
        let end = address.saturating_add(length as u64).min(USER_END);
        let mut page = address & !(PAGE_SIZE - 1);
        if page >= end {
            // Not a user address: the access's own check refuses it.
            return Ok(());
        }
        // Usually every page is mapped already: one walk over the map
        // says so, rather than a lookup per page.
        let pages = end.saturating_sub(page).div_ceil(PAGE_SIZE) as usize;
        if self.pages.mapped_count(page..end) == pages {
            return Ok(());
        }
        while page < end {
            let missing = |memory: &Self, page: u64| memory.pages.permission(page).is_none();
            if !missing(self, page) {
                page += PAGE_SIZE;
                continue;
            }
            let Some(permission) = self.lazy_permission(page) else {
                page += PAGE_SIZE;
                continue;
            };
            // A stretch of missing pages gets physically consecutive
            // frames where the allocator has them, so a device can fill
            // it in one request (see `writable_runs`).
            let mut wanted = 1;
            while page + wanted * PAGE_SIZE < end
                && missing(self, page + wanted * PAGE_SIZE)
                && self.lazy_permission(page + wanted * PAGE_SIZE) == Some(permission)
            {
                wanted += 1;
            }
            self.pay_for_pages(page, wanted)?;
            let frames = Frame::allocate_run(wanted).ok_or(Errno::OutOfMemory)?;
            for frame in frames {
                self.pages
                    .map(page, frame, permission)
                    .map_err(|_| Errno::OutOfMemory)?;
                page += PAGE_SIZE;
            }
        }
        Ok(())
    }

    /// Reserves `size` bytes of zeroed, writable memory for a stack,
    /// mapped on first touch like [`Self::map_new`]'s. Its top
    /// [`STACK_PAID_AT_ONCE`] bytes (and its tables) are paid for now, as
    /// any reservation, so a tree that cannot pay for a new process's
    /// usual stack is refused at the spawn; the rest is paid for page by
    /// page as it is mapped: a process pays for the deep stack it uses,
    /// not for the 8 MiB it may. A page the budget cannot pay for then is
    /// refused like any frame the memory cannot get (a fault there kills
    /// the process).
    ///
    /// Return values: as [`Self::map_new`].
    pub fn map_stack(&mut self, size: u64) -> Result<u64, Errno> {
        self.paid_on_touch
            .try_reserve(1)
            .map_err(|_| Errno::OutOfMemory)?;
        let size = size.next_multiple_of(PAGE_SIZE);
        let at_once = STACK_PAID_AT_ONCE.min(size);
        let start = self.reserve_paying(size, Self::table_commitment(size) + at_once)?;
        let end = start + size;
        let writable = UserPermission {
            write: true,
            execute: false,
        };
        self.map_lazy(start, end, writable)?;
        self.paid_on_touch.push((start, end - at_once));
        Ok(start)
    }

    /// Pays for mapping the `count` pages from `page`: those in a range
    /// paid on touch ([`Self::map_stack`]) are charged now.
    ///
    /// Return values: `OutOfMemory` when the budget cannot pay.
    fn pay_for_pages(&mut self, page: u64, count: u64) -> Result<(), Errno> {
        let end = page.saturating_add(count * PAGE_SIZE);
        let bytes: u64 = self
            .paid_on_touch
            .iter()
            .map(|&(start, stop)| stop.min(end).saturating_sub(start.max(page)))
            .sum();
        if bytes == 0 {
            return Ok(());
        }
        let charge = crate::budgets::charge(&self.budget, Pool::Frames, bytes)?;
        match self.touched.as_mut() {
            // Always the same budget and pool: nothing comes back.
            Some(touched) => drop(touched.absorb(charge)),
            None => self.touched = Some(charge),
        }
        Ok(())
    }

    /// Reserves `size` bytes of zeroed memory, mapped on first touch;
    /// returns the start.
    ///
    /// Return values: as [`Self::reserve`] and [`Self::map_lazy`].
    pub fn map_new(&mut self, size: u64, permission: UserPermission) -> Result<u64, Errno> {
        let start = self.reserve(size)?;
        self.map_lazy(start, start + size, permission)?;
        Ok(start)
    }

    /// Reserves `size` bytes (a multiple of the page size) of zeroed
    /// memory for `mmap`, mapped on first touch like [`Self::map_new`]'s,
    /// that [`Self::unmap`] may take back; a `frozen` mapping never
    /// becomes writable ([`Self::protect`] refuses). Returns the start.
    ///
    /// Return values: as [`Self::map_new`].
    pub fn map_mapping(
        &mut self,
        size: u64,
        permission: UserPermission,
        frozen: bool,
    ) -> Result<u64, Errno> {
        if size == 0 || size % PAGE_SIZE != 0 {
            return Err(Errno::InvalidArgument);
        }
        self.mappings
            .try_reserve(1)
            .map_err(|_| Errno::OutOfMemory)?;
        let start = self.map_new(size, permission)?;
        self.mappings.push((start, start + size, frozen));
        Ok(start)
    }

    /// Makes `[start, end)` (page-aligned, inside one reservation of this
    /// process) fresh zeroed memory with `permission`, mapped on first
    /// touch, as `mmap`'s `MAP_FIXED` over memory the process owns: the
    /// pages mapped there are unmapped and their frames freed, and pages
    /// unmapped before are paid for again. With `no_replace`
    /// (`MAP_FIXED_NOREPLACE`) every page must be one unmapped before.
    ///
    /// Return values: `OutOfMemory` if the range is not inside one of this
    /// process's reservations, overlaps its stack, or the budget cannot
    /// pay; `InvalidArgument` if it holds a program's shared pages or the
    /// permission is writable and executable; `Exists` with `no_replace`
    /// when a page is in use.
    pub fn map_over(
        &mut self,
        start: u64,
        end: u64,
        permission: UserPermission,
        no_replace: bool,
    ) -> Result<(), Errno> {
        if start % PAGE_SIZE != 0
            || end % PAGE_SIZE != 0
            || end <= start
            || (permission.write && permission.execute)
        {
            return Err(Errno::InvalidArgument);
        }
        if !self.reserved(start, end)
            || self.paid_on_touch.iter().any(|&(first, _)| {
                self.reservation_holding(first)
                    .is_some_and(|(s, e)| s < end && e > start)
            })
        {
            return Err(Errno::OutOfMemory);
        }
        if self.any_shared(start, end) {
            return Err(Errno::InvalidArgument);
        }
        let holes = overlap(&self.unmapped, start, end);
        if no_replace && holes != end - start {
            return Err(Errno::Exists);
        }
        if self.lazy.len() + self.unmapped.len() + 3 > MAX_RECORDS {
            return Err(Errno::OutOfMemory);
        }
        self.lazy
            .try_reserve(self.lazy.len() + 3)
            .map_err(|_| Errno::OutOfMemory)?;
        self.unmapped
            .try_reserve(2)
            .map_err(|_| Errno::OutOfMemory)?;
        self.charges
            .try_reserve(1)
            .map_err(|_| Errno::OutOfMemory)?;
        if holes > 0 {
            let charge = crate::budgets::charge(&self.budget, Pool::Frames, holes)?;
            self.charges.push(charge);
        }
        self.last_runs = None;
        self.pages.unmap_own(start..end);
        cut_lazy(&mut self.lazy, start, end);
        cut(&mut self.unmapped, start, end);
        self.lazy.push((start, end, permission));
        Ok(())
    }

    /// The reservation holding `address`: `(start, end)`.
    fn reservation_holding(&self, address: u64) -> Option<(u64, u64)> {
        self.reservations
            .iter()
            .map(|&(start, size)| (start, start + size.next_multiple_of(PAGE_SIZE)))
            .find(|&(start, end)| address >= start && address < end)
    }

    /// Unmaps the pages of `[start, end)` (page-aligned) that lie in this
    /// process's `mmap` mappings, as Linux's `munmap`: their frames are
    /// freed and their bytes given back to the budget at once, a later
    /// touch faults, and a mapping whose last page goes gives back its
    /// address range and its tables' share of the budget too. Addresses
    /// the process does not own are left alone (unmapping nothing is no
    /// error).
    ///
    /// Return values: `InvalidArgument` if the range is not page-aligned
    /// or touches this process's other memory (its image, stack, break,
    /// a program's shared pages): nothing is unmapped then;
    /// `OutOfMemory` if the records cannot grow (nothing is unmapped).
    pub fn unmap(&mut self, start: u64, end: u64) -> Result<(), Errno> {
        if start % PAGE_SIZE != 0 || end % PAGE_SIZE != 0 {
            return Err(Errno::InvalidArgument);
        }
        if end <= start {
            return Ok(());
        }
        let is_mapping =
            |memory: &Self, first: u64| memory.mappings.iter().any(|&(start, ..)| start == first);
        if self.reservations.iter().any(|&(first, size)| {
            first < end
                && first + size.next_multiple_of(PAGE_SIZE) > start
                && !is_mapping(self, first)
        }) {
            return Err(Errno::InvalidArgument);
        }
        // Each cut may split one lazy range and add one hole per mapping.
        let touched = self
            .mappings
            .iter()
            .filter(|&&(first, last, _)| first < end && last > start)
            .count();
        if touched == 0 {
            return Ok(());
        }
        if self.lazy.len() + self.unmapped.len() + 2 * touched > MAX_RECORDS {
            return Err(Errno::OutOfMemory);
        }
        self.lazy
            .try_reserve(touched)
            .map_err(|_| Errno::OutOfMemory)?;
        self.unmapped
            .try_reserve(touched)
            .map_err(|_| Errno::OutOfMemory)?;
        self.last_runs = None;
        let mut index = 0;
        while index < self.mappings.len() {
            let (first, last, _) = self.mappings[index];
            let (from, to) = (start.max(first), end.min(last));
            if from >= to {
                index += 1;
                continue;
            }
            let newly = (to - from) - overlap(&self.unmapped, from, to);
            self.pages.unmap_own(from..to);
            cut_lazy(&mut self.lazy, from, to);
            cut(&mut self.unmapped, from, to);
            add_range(&mut self.unmapped, from, to);
            self.uncharge(newly);
            if overlap(&self.unmapped, first, last) == last - first {
                // The whole mapping is gone: its range and tables too.
                cut(&mut self.unmapped, first, last);
                self.mappings.swap_remove(index);
                if let Some(at) = self.reservations.iter().position(|&(s, _)| s == first) {
                    let (_, size) = self.reservations.swap_remove(at);
                    match self.window.as_mut() {
                        Some(window) => {
                            if window.free(first, size).is_err() {
                                log::error!("kernel bug: window range {first:#x} freed twice");
                            }
                        }
                        None => free_range(first, size),
                    }
                    self.uncharge(Self::table_commitment(size));
                }
                continue;
            }
            index += 1;
        }
        Ok(())
    }

    /// Gives `bytes` of this memory's reservations back to the budget.
    fn uncharge(&mut self, mut bytes: u64) {
        // Every charge is of the same budget and pool (a forked memory
        // holds one for everything): any of them may give the bytes back.
        for charge in self.charges.iter_mut().rev() {
            if bytes == 0 {
                break;
            }
            bytes -= charge.release_part(bytes);
        }
    }

    /// Gives the pages of `[start, end)` (page-aligned, inside this
    /// process's reservations) `permission`: the mapped ones now, the
    /// lazy ones when first touched. Shared pages (a program's code and
    /// read-only data) keep theirs, and may not become writable.
    ///
    /// Return values: `OutOfMemory` if the range is outside the
    /// reservations (Linux's `ENOMEM`); `InvalidArgument` if `permission`
    /// is writable and executable or the range is not page-aligned;
    /// `AccessDenied` for a shared page made writable.
    pub fn protect(
        &mut self,
        start: u64,
        end: u64,
        permission: UserPermission,
    ) -> Result<(), Errno> {
        if start % PAGE_SIZE != 0
            || end % PAGE_SIZE != 0
            || (permission.write && permission.execute)
        {
            return Err(Errno::InvalidArgument);
        }
        if end <= start {
            return Ok(());
        }
        if !self.reserved(start, end) {
            return Err(Errno::OutOfMemory);
        }
        if permission.write
            && (self.any_shared(start, end)
                || self
                    .mappings
                    .iter()
                    .any(|&(first, last, frozen)| frozen && first < end && last > start))
        {
            return Err(Errno::AccessDenied);
        }
        // The lazy ranges first (the only step that allocates): the parts
        // inside `[start, end)` take the new permission.
        let mut lazy = Vec::new();
        lazy.try_reserve(self.lazy.len() + 2)
            .map_err(|_| Errno::OutOfMemory)?;
        for &(first, last, old) in &self.lazy {
            if last <= start || first >= end {
                lazy.push((first, last, old));
                continue;
            }
            if first < start {
                lazy.push((first, start, old));
            }
            lazy.push((first.max(start), last.min(end), permission));
            if last > end {
                lazy.push((end, last, old));
            }
        }
        self.lazy = lazy;
        self.last_runs = None;
        let mut page = start;
        while page < end {
            if !self.pages.is_shared(page)
                && self
                    .pages
                    .permission(page)
                    .is_some_and(|old| old != permission)
            {
                self.pages
                    .set_permission(page, permission)
                    .map_err(map_errno)?;
            }
            page += PAGE_SIZE;
        }
        Ok(())
    }

    /// Writes `bytes` at `address` as the kernel (ignoring the user's
    /// write permission: for loading read-only segments).
    ///
    /// Return values: `BadAddress` if a byte is not mapped;
    /// `InvalidArgument` if one lies in a shared page.
    pub fn load(&mut self, address: u64, bytes: &[u8]) -> Result<(), Errno> {
        if !bytes.is_empty() {
            let end = address.saturating_add(bytes.len() as u64);
            if self.any_shared(address & !(PAGE_SIZE - 1), end) {
                return Err(Errno::InvalidArgument);
            }
        }
        self.populate(address, bytes.len())?;
        self.pages.load(address, bytes).map_err(errno)
    }

    /// Copies `length` bytes from user memory at `address`.
    ///
    /// Return values: `BadAddress` if any byte is not mapped readable for
    /// the user; `OutOfMemory` if the kernel cannot hold the copy.
    pub fn copy_in(&mut self, address: u64, length: usize) -> Result<Vec<u8>, Errno> {
        let mut bytes = Vec::new();
        bytes
            .try_reserve_exact(length)
            .map_err(|_| Errno::OutOfMemory)?;
        bytes.resize(length, 0);
        self.populate(address, length)?;
        self.pages.read(address, &mut bytes).map_err(errno)?;
        Ok(bytes)
    }

    /// Copies `bytes` to user memory at `address`.
    ///
    /// Return values: `BadAddress` if any byte is not mapped writable for
    /// the user (nothing is written then).
    pub fn copy_out(&mut self, address: u64, bytes: &[u8]) -> Result<(), Errno> {
        self.populate(address, bytes.len())?;
        self.pages.write(address, bytes).map_err(errno)
    }

    /// The memory behind `[address, address + length)`, checked writable
    /// for the user, held for a transfer into it.
    ///
    /// Return values: `BadAddress`; `OutOfMemory`.
    pub fn writable_runs(&mut self, address: u64, length: usize) -> Result<UserRuns, Errno> {
        if let Some((last_address, last_length, runs)) = &self.last_runs {
            if (*last_address, *last_length) == (address, length) {
                return Ok(runs.clone());
            }
        }
        if address.checked_add(length as u64).is_none() {
            return Err(Errno::BadAddress);
        }
        self.populate(address, length)?;
        let runs = self.pages.writable_runs(address, length).map_err(errno)?;
        self.last_runs = Some((address, length, runs.clone()));
        Ok(runs)
    }

    /// Checks that `[address, address + length)` is mapped for the user,
    /// writable if `write`.
    ///
    /// Return values: `BadAddress`.
    pub fn check(&mut self, address: u64, length: usize, write: bool) -> Result<(), Errno> {
        if address.checked_add(length as u64).is_none() {
            return Err(Errno::BadAddress);
        }
        self.populate(address, length)?;
        self.pages.check(address, length, write).map_err(errno)
    }

    /// A copy of this windowed memory for a forked child, charged to
    /// `budget`: the same reservations, breaks and lazy ranges at the same
    /// addresses, the program's shared pages mapped to the same frames,
    /// every other mapped page copied. Only a windowed memory can be
    /// copied: its addresses are its own, where any other memory's ranges
    /// are unique in the one shared space (DESIGN §3).
    ///
    /// Return values: `NotImplemented` for a memory without a window;
    /// `OutOfMemory` when the budget cannot pay, or no frame or table is
    /// left.
    pub fn fork(&self, budget: &Arc<Budget>) -> Result<UserMemory, Errno> {
        let window = self.window.clone().ok_or(Errno::NotImplemented)?;
        // What this memory holds of its budget: its root table, its
        // reservations (less the pages unmapped since) and the pages
        // touched.
        let bytes = self.charges.iter().map(Charge::amount).sum::<u64>()
            + self.touched.as_ref().map_or(0, Charge::amount);
        let charge = crate::budgets::charge(budget, Pool::Frames, bytes)?;
        let mut reservations = Vec::new();
        reservations
            .try_reserve_exact(self.reservations.len())
            .map_err(|_| Errno::OutOfMemory)?;
        reservations.extend_from_slice(&self.reservations);
        let mut lazy = Vec::new();
        lazy.try_reserve_exact(self.lazy.len())
            .map_err(|_| Errno::OutOfMemory)?;
        lazy.extend_from_slice(&self.lazy);
        let mut charges = Vec::new();
        charges.try_reserve(1).map_err(|_| Errno::OutOfMemory)?;
        charges.push(charge);
        let mut paid_on_touch = Vec::new();
        paid_on_touch
            .try_reserve_exact(self.paid_on_touch.len())
            .map_err(|_| Errno::OutOfMemory)?;
        paid_on_touch.extend_from_slice(&self.paid_on_touch);
        let mut mappings = Vec::new();
        mappings
            .try_reserve_exact(self.mappings.len())
            .map_err(|_| Errno::OutOfMemory)?;
        mappings.extend_from_slice(&self.mappings);
        let mut unmapped = Vec::new();
        unmapped
            .try_reserve_exact(self.unmapped.len())
            .map_err(|_| Errno::OutOfMemory)?;
        unmapped.extend_from_slice(&self.unmapped);
        let pages = self.pages.copy().ok_or(Errno::OutOfMemory)?;
        Ok(UserMemory {
            pages,
            reservations,
            window: Some(window),
            program_break: self.program_break,
            paid_on_touch,
            touched: None,
            lazy,
            mappings,
            unmapped,
            budget: budget.clone(),
            charges,
            last_runs: None,
        })
    }

    /// Makes this process's table the current one.
    pub fn activate(&self) {
        self.pages.activate();
    }

    /// Frees everything: the table and its id, the frames (after the
    /// table, see [`UserPages`]), the ranges, and then the budget's
    /// charges.
    pub fn destroy(self) {
        let UserMemory {
            pages,
            reservations,
            window,
            last_runs,
            charges,
            touched,
            ..
        } = self;
        drop(last_runs);
        drop(pages);
        // A window's ranges are its own: nothing to give back globally.
        if window.is_none() {
            for (start, size) in reservations {
                free_range(start, size);
            }
        }
        // Only now that the frames are free may the budget commit them again.
        drop(charges);
        drop(touched);
    }
}

/// The most records of lazy and unmapped ranges a memory keeps: an
/// `munmap` or `MAP_FIXED` that would split them further is `ENOMEM`, as
/// Linux's past its count of mappings (`vm.max_map_count`, 65530 by
/// default), so no program can make every later call on its memory slow.
const MAX_RECORDS: usize = 65_536;

/// Adds `[start, end)` (disjoint from them) to `ranges`, merged with a
/// range it touches; one more slot is reserved by the caller.
fn add_range(ranges: &mut Vec<(u64, u64)>, start: u64, end: u64) {
    if let Some(before) = ranges.iter().position(|&(_, last)| last == start) {
        ranges[before].1 = end;
        if let Some(after) = ranges.iter().position(|&(first, _)| first == end) {
            let (_, last) = ranges.swap_remove(after);
            // `swap_remove` may have moved `before`'s entry.
            if let Some(merged) = ranges.iter_mut().find(|(_, last_end)| *last_end == end) {
                merged.1 = last;
            }
        }
        return;
    }
    if let Some(after) = ranges.iter_mut().find(|(first, _)| *first == end) {
        after.0 = start;
        return;
    }
    ranges.push((start, end));
}

/// Bytes of `[start, end)` covered by `ranges` (disjoint).
fn overlap(ranges: &[(u64, u64)], start: u64, end: u64) -> u64 {
    ranges
        .iter()
        .map(|&(first, last)| last.min(end).saturating_sub(first.max(start)))
        .sum()
}

/// Takes `[start, end)` out of `ranges`; a range split in two needs one
/// more slot (reserved by the caller).
fn cut(ranges: &mut Vec<(u64, u64)>, start: u64, end: u64) {
    let mut index = 0;
    while index < ranges.len() {
        let (first, last) = ranges[index];
        if last <= start || first >= end {
            index += 1;
            continue;
        }
        if first < start && last > end {
            ranges[index] = (first, start);
            ranges.push((end, last));
            return;
        }
        if first < start {
            ranges[index] = (first, start);
        } else if last > end {
            ranges[index] = (end, last);
        } else {
            ranges.swap_remove(index);
            continue;
        }
        index += 1;
    }
}

/// Takes `[start, end)` out of the lazy ranges, as [`cut`].
fn cut_lazy(ranges: &mut Vec<(u64, u64, UserPermission)>, start: u64, end: u64) {
    let mut index = 0;
    while index < ranges.len() {
        let (first, last, permission) = ranges[index];
        if last <= start || first >= end {
            index += 1;
            continue;
        }
        if first < start && last > end {
            ranges[index] = (first, start, permission);
            ranges.push((end, last, permission));
            return;
        }
        if first < start {
            ranges[index] = (first, start, permission);
        } else if last > end {
            ranges[index] = (end, last, permission);
        } else {
            ranges.swap_remove(index);
            continue;
        }
        index += 1;
    }
}
