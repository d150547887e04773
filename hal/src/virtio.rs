// SPDX-License-Identifier: MIT OR Apache-2.0
//! virtio devices: the `virtio-drivers` glue and the block-device driver.
//!
//! `virtio-drivers` needs a [`virtio_drivers::Hal`] — how to allocate DMA
//! memory, translate addresses and reach device registers — and transports
//! built from raw register pointers. Both are `unsafe` to provide, so they
//! live here; the kernel gets [`BlockDevice`], a safe handle with sector
//! reads, writes and flush.
//!
//! The block driver is this module's own, on `virtio-drivers`' transports
//! and [`VirtQueue`] (virtio 1.2 §5.2): that crate's `VirtIOBlk` sends one
//! buffer per request, and a read of a file into a program's pages — many
//! separate frames — or a write-back of many consecutive blocks would then
//! cost one request per piece. Here a request carries a scatter-gather
//! list: transfers that follow one another on the disk go out as one
//! request of up to [`LONGEST_REQUEST`] bytes and as many segments as the
//! queue and the device allow (`seg_max`), whatever memory they are in;
//! every request of a call is queued before the device is notified once,
//! and more are queued as others complete.
//!
//! DMA memory comes from the kernel heap (page-aligned, physically
//! contiguous because the heap is one range of the direct map), and buffers
//! the drivers share with devices are translated through the kernel's fixed
//! offsets. QEMU's virtio devices are cache-coherent with the CPU, so
//! sharing needs barriers, not cache maintenance.

use crate::arch::mmu;
use crate::boot_info::BootInfo;
use alloc::alloc::{alloc_zeroed, dealloc, Layout};
use alloc::vec::Vec;
use core::ptr::NonNull;
use core::sync::atomic::{fence, Ordering};
use virtio_drivers::queue::VirtQueue;
use virtio_drivers::transport::mmio::{MmioTransport, VirtIOHeader};
use virtio_drivers::transport::{DeviceType, SomeTransport, Transport};
use virtio_drivers::{BufferDirection, PhysAddr, PAGE_SIZE};

/// Bytes in a virtio-blk sector.
pub const SECTOR_SIZE: usize = 512;

/// The longest request sent to a device: longer transfers are split. A
/// 512 KiB read of a file whose pointer block sits in the middle is then
/// still one request (the block between its two runs bridged).
pub const LONGEST_REQUEST: usize = 1024 * 1024;

/// The longest gap between two reads of a call that is read too (into
/// scratch memory) to make them one request: one 4 KiB block.
const BRIDGED_SECTORS: u64 = 8;

/// The one request queue of a virtio-blk device.
const QUEUE: u16 = 0;
/// Request types (virtio 1.2 §5.2.6): read, write, flush.
const REQUEST_IN: u32 = 0;
const REQUEST_OUT: u32 = 1;
const REQUEST_FLUSH: u32 = 4;
/// `VIRTIO_BLK_S_OK`: the request's status byte on success.
const STATUS_OK: u8 = 0;
/// Where `seg_max` lies in the configuration space (after the 64-bit
/// capacity and `size_max`).
const CONFIG_SEG_MAX: usize = 12;

bitflags::bitflags! {
    /// The features the driver takes when the device offers them (virtio
    /// 1.2 §5.2.3 and §6).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    struct Features: u64 {
        /// `seg_max` says how many segments a request may have.
        const SEG_MAX = 1 << 2;
        /// The device is read-only.
        const READ_ONLY = 1 << 5;
        /// The device takes flush requests.
        const FLUSH = 1 << 9;
        /// Notifications are suppressed by event index.
        const RING_EVENT_IDX = 1 << 29;
        /// The device is not a legacy one.
        const VERSION_1 = 1 << 32;
    }
}

/// The `virtio-drivers` platform glue.
pub struct VirtioHal;

/// The physical address of kernel memory at `virtual_address` handed to a
/// device. Everything the kernel hands a device — heap buffers, the frames
/// behind a caller's pages — lies in the direct map; anything else is a bug
/// that must not become a transfer to some other address, so it stops the
/// kernel with the address.
fn physical_address_of(virtual_address: u64) -> PhysAddr {
    mmu::virtual_to_physical(virtual_address).unwrap_or_else(|| {
        panic!("virtio: buffer at {virtual_address:#x} is outside the direct map")
    })
}

// SAFETY: `dma_alloc` returns zeroed, page-aligned, physically contiguous
// memory (one heap allocation in the direct map) with its true physical
// address, exclusively owned until `dma_dealloc`; `mmio_phys_to_virt`
// returns a device mapping of the requested registers; `share` returns the
// physical address of a buffer the kernel owns, which is contiguous
// because every kernel address is a fixed offset from its physical one.
unsafe impl virtio_drivers::Hal for VirtioHal {
    fn dma_alloc(pages: usize, _direction: BufferDirection) -> (PhysAddr, NonNull<u8>) {
        // The trait gives no way to fail, and a queue at a wrong address
        // would have the device write anywhere: a failure here (only while
        // the devices are probed at boot) stops the kernel with the reason.
        let layout = Layout::from_size_align(pages * PAGE_SIZE, PAGE_SIZE)
            .unwrap_or_else(|_| panic!("virtio: no layout for {pages} DMA pages"));
        // SAFETY: the layout has a non-zero size (pages ≥ 1 in every
        // virtio-drivers call) and a valid alignment.
        let pointer = unsafe { alloc_zeroed(layout) };
        let Some(virtual_address) = NonNull::new(pointer) else {
            panic!("virtio: out of kernel heap for {pages} DMA pages");
        };
        (physical_address_of(pointer as u64), virtual_address)
    }

    unsafe fn dma_dealloc(_paddr: PhysAddr, vaddr: NonNull<u8>, pages: usize) -> i32 {
        let Ok(layout) = Layout::from_size_align(pages * PAGE_SIZE, PAGE_SIZE) else {
            return -1;
        };
        // SAFETY: virtio-drivers passes back exactly what `dma_alloc`
        // returned, with the same page count, so layout and pointer match.
        unsafe { dealloc(vaddr.as_ptr(), layout) };
        0
    }

    unsafe fn mmio_phys_to_virt(paddr: PhysAddr, size: usize) -> NonNull<u8> {
        let virtual_address = mmu::map_device(paddr, size as u64);
        NonNull::new(virtual_address as *mut u8).unwrap_or(NonNull::dangling())
    }

    unsafe fn share(buffer: NonNull<[u8]>, _direction: BufferDirection) -> PhysAddr {
        // Make the CPU's writes visible before the device reads the buffer.
        fence(Ordering::SeqCst);
        physical_address_of(buffer.as_ptr() as *mut u8 as u64)
    }

    unsafe fn unshare(_paddr: PhysAddr, _buffer: NonNull<[u8]>, _direction: BufferDirection) {
        // Make the device's writes visible before the CPU reads the buffer.
        fence(Ordering::SeqCst);
    }
}

/// Why a block request failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockError {
    /// The request lies beyond the end of the device, or the buffer is not
    /// a whole number of sectors.
    OutOfRange,
    /// The device is read-only.
    ReadOnly,
    /// The device reported an I/O error.
    Device,
}

/// One read of [`BlockDevice::read_vectored`]: whole sectors from
/// `sector` into `buffer`.
#[derive(Debug)]
pub struct SectorRead<'a> {
    /// The first sector (relative to the window, as in
    /// [`BlockDevice::read_sectors`]).
    pub sector: u64,
    /// Where the bytes go: a non-zero multiple of [`SECTOR_SIZE`] bytes of
    /// kernel memory (the heap, or a caller's frames through the direct
    /// map — physically consecutive either way, as the device needs).
    pub buffer: &'a mut [u8],
}

/// One write of [`BlockDevice::write_vectored`]: `data` (whole sectors)
/// to the sectors from `sector`.
#[derive(Clone, Copy, Debug)]
pub struct SectorWrite<'a> {
    /// The first sector (relative to the window).
    pub sector: u64,
    /// The bytes: a non-zero multiple of [`SECTOR_SIZE`] of kernel memory.
    pub data: &'a [u8],
}

/// Where a device was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Location {
    /// A virtio-mmio slot at this physical address.
    Mmio(u64),
    /// A PCI function: bus, device, function.
    Pci(u8, u8, u8),
}

/// The request queue: 64 descriptors when the device allows as many, else
/// 16. A request takes one per buffer (header, segments, status), so it
/// carries up to 62 (or 14) segments, and requests are in flight together
/// as long as their descriptors fit.
#[allow(
    clippy::large_enum_variant,
    reason = "one queue per device, made once; boxing it would add an indirection to every request"
)]
enum Queue {
    Large(VirtQueue<VirtioHal, 64>),
    Small(VirtQueue<VirtioHal, 16>),
}

impl Queue {
    /// Entries in the queue.
    fn size(&self) -> usize {
        match self {
            Queue::Large(_) => 64,
            Queue::Small(_) => 16,
        }
    }

    /// [`VirtQueue::add`].
    ///
    /// # Safety
    ///
    /// As [`VirtQueue::add`]: the buffers must stay valid and untouched
    /// until [`Self::pop_used`] returns them.
    unsafe fn add<'a, 'b>(
        &mut self,
        inputs: &'a [&'b [u8]],
        outputs: &'a mut [&'b mut [u8]],
    ) -> virtio_drivers::Result<u16> {
        // SAFETY: the caller's obligation, passed on.
        unsafe {
            match self {
                Queue::Large(queue) => queue.add(inputs, outputs),
                Queue::Small(queue) => queue.add(inputs, outputs),
            }
        }
    }

    fn should_notify(&self) -> bool {
        match self {
            Queue::Large(queue) => queue.should_notify(),
            Queue::Small(queue) => queue.should_notify(),
        }
    }

    fn peek_used(&self) -> Option<u16> {
        match self {
            Queue::Large(queue) => queue.peek_used(),
            Queue::Small(queue) => queue.peek_used(),
        }
    }

    /// [`VirtQueue::pop_used`].
    ///
    /// # Safety
    ///
    /// As [`VirtQueue::pop_used`]: the buffers are exactly those added
    /// with `token`.
    unsafe fn pop_used<'a>(
        &mut self,
        token: u16,
        inputs: &'a [&'a [u8]],
        outputs: &'a mut [&'a mut [u8]],
    ) -> virtio_drivers::Result<u32> {
        // SAFETY: the caller's obligation, passed on.
        unsafe {
            match self {
                Queue::Large(queue) => queue.pop_used(token, inputs, outputs),
                Queue::Small(queue) => queue.pop_used(token, inputs, outputs),
            }
        }
    }
}

/// One virtio-blk request of a batch: its header and status byte (in
/// memory that stays put while it is in flight: the batch's vector is
/// never grown once requests are queued) and the segments it carries.
struct Request {
    /// `struct virtio_blk_req`'s header: type, reserved, sector (LE).
    header: [u8; 16],
    /// Written by the device.
    status: [u8; 1],
    /// Its segments: `first .. first + count` of the batch's.
    first: usize,
    count: usize,
    /// Bytes carried so far.
    bytes: usize,
    /// The sector right after its last one (window-relative): where a
    /// following transfer must start to join it.
    next_sector: u64,
    /// While in flight, the queue's token.
    token: Option<u16>,
}

impl Request {
    fn new(kind: u32, device_sector: u64, next_sector: u64, first: usize) -> Self {
        let mut header = [0u8; 16];
        header[..4].copy_from_slice(&kind.to_le_bytes());
        header[8..].copy_from_slice(&device_sector.to_le_bytes());
        Request {
            header,
            // Anything but OK until the device writes it.
            status: [0xFF],
            first,
            count: 0,
            bytes: 0,
            next_sector,
            token: None,
        }
    }
}

/// The segments of a batch, as the queue takes them: device-writable
/// buffers of reads, device-readable data of writes.
trait Segments {
    /// Queues `request` with its segments.
    ///
    /// # Safety
    ///
    /// `request` and the segments must stay valid and untouched until
    /// [`Self::pop`] with the returned token.
    unsafe fn add(
        &mut self,
        queue: &mut Queue,
        request: &mut Request,
    ) -> virtio_drivers::Result<u16>;

    /// Takes `request`, completed under `token`, off the queue.
    ///
    /// # Safety
    ///
    /// `request` was queued by [`Self::add`] on this batch, with `token`.
    unsafe fn pop(
        &mut self,
        queue: &mut Queue,
        token: u16,
        request: &mut Request,
    ) -> virtio_drivers::Result<u32>;
}

/// Entries of the largest queue: no request has more buffers.
const MOST_ENTRIES: usize = 64;

/// `segments` then `status` as one list of device-writable buffers, on
/// the stack (a read is queued and popped once per request: no heap
/// allocation for it), with how many entries are used.
fn buffer_list<'r>(
    segments: &'r mut [&mut [u8]],
    status: &'r mut [u8],
) -> virtio_drivers::Result<([&'r mut [u8]; MOST_ENTRIES], usize)> {
    let mut list: [&mut [u8]; MOST_ENTRIES] = core::array::from_fn(|_| Default::default());
    let used = segments.len() + 1;
    let slots = list
        .get_mut(..used)
        .ok_or(virtio_drivers::Error::InvalidParam)?;
    for (slot, buffer) in slots.iter_mut().zip(
        segments
            .iter_mut()
            .map(|segment| &mut **segment)
            .chain(core::iter::once(status)),
    ) {
        *slot = buffer;
    }
    Ok((list, used))
}

/// The buffers of a batch of reads.
struct Reads<'s, 'b>(&'s mut [&'b mut [u8]]);

/// The data of a batch of writes.
struct Writes<'s, 'b>(&'s [&'b [u8]]);

impl Segments for Reads<'_, '_> {
    unsafe fn add(
        &mut self,
        queue: &mut Queue,
        request: &mut Request,
    ) -> virtio_drivers::Result<u16> {
        let Request {
            header,
            status,
            first,
            count,
            ..
        } = request;
        let segments = self
            .0
            .get_mut(*first..*first + *count)
            .ok_or(virtio_drivers::Error::InvalidParam)?;
        let (mut outputs, used) = buffer_list(segments, &mut status[..])?;
        let outputs = outputs
            .get_mut(..used)
            .ok_or(virtio_drivers::Error::InvalidParam)?;
        // SAFETY: the caller keeps the request and the segments valid and
        // untouched until `pop` (this function's contract).
        unsafe { queue.add(&[&header[..]], outputs) }
    }

    unsafe fn pop(
        &mut self,
        queue: &mut Queue,
        token: u16,
        request: &mut Request,
    ) -> virtio_drivers::Result<u32> {
        let Request {
            header,
            status,
            first,
            count,
            ..
        } = request;
        let segments = self
            .0
            .get_mut(*first..*first + *count)
            .ok_or(virtio_drivers::Error::InvalidParam)?;
        let (mut outputs, used) = buffer_list(segments, &mut status[..])?;
        let outputs = outputs
            .get_mut(..used)
            .ok_or(virtio_drivers::Error::InvalidParam)?;
        // SAFETY: the same header, segments and status byte, in the same
        // order, that `add` queued with `token` (the caller's contract).
        unsafe { queue.pop_used(token, &[&header[..]], outputs) }
    }
}

impl Segments for Writes<'_, '_> {
    unsafe fn add(
        &mut self,
        queue: &mut Queue,
        request: &mut Request,
    ) -> virtio_drivers::Result<u16> {
        let Request {
            header,
            status,
            first,
            count,
            ..
        } = request;
        let segments = self
            .0
            .get(*first..*first + *count)
            .ok_or(virtio_drivers::Error::InvalidParam)?;
        let mut inputs: [&[u8]; MOST_ENTRIES] = [&[]; MOST_ENTRIES];
        let used = segments.len() + 1;
        let inputs = inputs
            .get_mut(..used)
            .ok_or(virtio_drivers::Error::InvalidParam)?;
        for (slot, data) in inputs
            .iter_mut()
            .zip(core::iter::once(&header[..]).chain(segments.iter().copied()))
        {
            *slot = data;
        }
        // SAFETY: as for reads: valid and untouched until `pop`.
        unsafe { queue.add(inputs, &mut [&mut status[..]]) }
    }

    unsafe fn pop(
        &mut self,
        queue: &mut Queue,
        token: u16,
        request: &mut Request,
    ) -> virtio_drivers::Result<u32> {
        let Request {
            header,
            status,
            first,
            count,
            ..
        } = request;
        let segments = self
            .0
            .get(*first..*first + *count)
            .ok_or(virtio_drivers::Error::InvalidParam)?;
        let mut inputs: [&[u8]; MOST_ENTRIES] = [&[]; MOST_ENTRIES];
        let used = segments.len() + 1;
        let inputs = inputs
            .get_mut(..used)
            .ok_or(virtio_drivers::Error::InvalidParam)?;
        for (slot, data) in inputs
            .iter_mut()
            .zip(core::iter::once(&header[..]).chain(segments.iter().copied()))
        {
            *slot = data;
        }
        // SAFETY: the same buffers, in the same order, that `add` queued
        // with `token`.
        unsafe { queue.pop_used(token, inputs, &mut [&mut status[..]]) }
    }
}

/// A virtio block device, or the window of it that [`BlockDevice::restrict`]
/// left (a partition): sector numbers are then relative to the window.
pub struct BlockDevice {
    transport: SomeTransport<'static>,
    queue: Queue,
    features: Features,
    /// Most segments in one request.
    max_segments: usize,
    location: Location,
    interrupt: Option<u32>,
    /// The window's first sector on the device (0 for the whole disk).
    first_sector: u64,
    /// The window's length in sectors (the device's capacity at first).
    sectors: u64,
}

impl Drop for BlockDevice {
    fn drop(&mut self) {
        // The device must forget the queue before its memory is freed.
        self.transport.queue_unset(QUEUE);
    }
}

impl BlockDevice {
    /// Starts the driver on `transport` (virtio 1.2 §3.1.1): features,
    /// capacity and `seg_max` from the configuration space, the request
    /// queue.
    fn new(
        mut transport: SomeTransport<'static>,
        location: Location,
        interrupt: Option<u32>,
    ) -> Result<Self, virtio_drivers::Error> {
        let features = transport.begin_init(
            Features::SEG_MAX
                | Features::READ_ONLY
                | Features::FLUSH
                | Features::RING_EVENT_IDX
                | Features::VERSION_1,
        );
        let sectors = transport.read_consistent(|| {
            let low: u32 = transport.read_config_space(0)?;
            let high: u32 = transport.read_config_space(4)?;
            Ok(u64::from(low) | (u64::from(high) << 32))
        })?;
        let seg_max = if features.contains(Features::SEG_MAX) {
            transport.read_config_space::<u32>(CONFIG_SEG_MAX)?
        } else {
            u32::MAX
        };
        let event_index = features.contains(Features::RING_EVENT_IDX);
        let queue = if transport.max_queue_size(QUEUE) >= 64 {
            Queue::Large(VirtQueue::new(&mut transport, QUEUE, false, event_index)?)
        } else {
            Queue::Small(VirtQueue::new(&mut transport, QUEUE, false, event_index)?)
        };
        transport.finish_init();
        // A request is a header, its segments and a status byte, each a
        // descriptor of the queue (indirect tables would cost an
        // allocation per request), and must fit an empty queue.
        let max_segments = (queue.size() - 2).min(seg_max as usize).max(1);
        Ok(BlockDevice {
            transport,
            queue,
            features,
            max_segments,
            location,
            interrupt,
            first_sector: 0,
            sectors,
        })
    }

    /// Capacity in 512-byte sectors (of the window, once restricted).
    pub fn capacity_sectors(&self) -> u64 {
        self.sectors
    }

    /// Narrows the device to `sectors` sectors from `first_sector` of the
    /// current window (a partition): later reads and writes are relative to
    /// it and cannot leave it.
    ///
    /// Return values: `OutOfRange` if the window passes the end of the
    /// current one (nothing changes then).
    pub fn restrict(&mut self, first_sector: u64, sectors: u64) -> Result<(), BlockError> {
        match first_sector.checked_add(sectors) {
            Some(end) if end <= self.sectors => {
                self.first_sector += first_sector;
                self.sectors = sectors;
                Ok(())
            }
            _ => Err(BlockError::OutOfRange),
        }
    }

    /// Whether the device refuses writes.
    pub fn is_read_only(&self) -> bool {
        self.features.contains(Features::READ_ONLY)
    }

    /// Where the device was found.
    pub fn location(&self) -> Location {
        self.location
    }

    /// The interrupt line, if the transport has one.
    pub fn interrupt(&self) -> Option<u32> {
        self.interrupt
    }

    fn check(&self, sector: u64, length: usize) -> Result<(), BlockError> {
        if length % SECTOR_SIZE != 0 {
            return Err(BlockError::OutOfRange);
        }
        let count = (length / SECTOR_SIZE) as u64;
        match sector.checked_add(count) {
            Some(end) if end <= self.capacity_sectors() => Ok(()),
            _ => Err(BlockError::OutOfRange),
        }
    }

    /// Reads whole sectors starting at `sector` into `buffer`.
    ///
    /// Return values: `OutOfRange` if the range passes the end or `buffer`
    /// is not a multiple of [`SECTOR_SIZE`]; `Device` on an I/O error.
    pub fn read_sectors(&mut self, sector: u64, buffer: &mut [u8]) -> Result<(), BlockError> {
        if buffer.is_empty() {
            return self.check(sector, 0);
        }
        self.read_vectored(&mut [SectorRead { sector, buffer }])
    }

    /// Reads every one of `reads`. Reads that follow one another on the
    /// disk become one request (up to [`LONGEST_REQUEST`] bytes and the
    /// segments a request may have), whatever memory they go to — as do
    /// reads a few sectors apart, the sectors between read into scratch
    /// memory and dropped — and all the requests are queued before one
    /// notification: the device serves them together, so a read the
    /// caller had to split — its memory is not physically consecutive —
    /// costs what one request would.
    ///
    /// Return values: `OutOfRange` (before any request) if a read passes
    /// the end, is empty or is not whole sectors; `Device` if a request
    /// failed (the others are still waited for: nothing is in flight on
    /// return).
    pub fn read_vectored(&mut self, reads: &mut [SectorRead<'_>]) -> Result<(), BlockError> {
        for read in reads.iter() {
            self.check(read.sector, read.buffer.len())?;
            if read.buffer.is_empty() {
                return Err(BlockError::OutOfRange);
            }
        }
        // Short gaps between reads are read too, into scratch memory, so
        // the reads around them go as one request (a file's pointer block
        // sits between its runs of data every few MiB).
        let mut bridged = 0usize;
        let mut end_of_previous: Option<u64> = None;
        for read in reads.iter() {
            if let Some(gap) = end_of_previous.and_then(|end| read.sector.checked_sub(end)) {
                if (1..=BRIDGED_SECTORS).contains(&gap) {
                    bridged += gap as usize * SECTOR_SIZE;
                }
            }
            end_of_previous = Some(read.sector + (read.buffer.len() / SECTOR_SIZE) as u64);
        }
        let mut scratch = alloc::vec![0u8; bridged];
        let mut scratch_left: &mut [u8] = &mut scratch;
        let mut segments: Vec<&mut [u8]> = Vec::new();
        let mut requests: Vec<Request> = Vec::new();
        for read in reads.iter_mut() {
            let mut sector = read.sector;
            if let Some(last) = requests.last_mut() {
                let gap = sector.saturating_sub(last.next_sector);
                let bytes = gap as usize * SECTOR_SIZE;
                if (1..=BRIDGED_SECTORS).contains(&gap)
                    && bytes <= scratch_left.len()
                    && last.count + 2 <= self.max_segments
                    && last.bytes + bytes < LONGEST_REQUEST
                {
                    let (head, tail) = core::mem::take(&mut scratch_left).split_at_mut(bytes);
                    scratch_left = tail;
                    last.count += 1;
                    last.bytes += bytes;
                    last.next_sector = sector;
                    segments.push(head);
                }
            }
            let mut rest: &mut [u8] = &mut *read.buffer;
            while !rest.is_empty() {
                let request = self.request_for(&mut requests, REQUEST_IN, sector, segments.len());
                let length = rest.len().min(LONGEST_REQUEST - request.bytes);
                let (head, tail) = core::mem::take(&mut rest).split_at_mut(length);
                request.count += 1;
                request.bytes += length;
                sector += (length / SECTOR_SIZE) as u64;
                request.next_sector = sector;
                segments.push(head);
                rest = tail;
            }
        }
        self.run(&mut requests, &mut Reads(&mut segments))
    }

    /// Writes whole sectors starting at `sector`.
    ///
    /// Return values: as [`Self::read_sectors`], plus `ReadOnly`.
    pub fn write_sectors(&mut self, sector: u64, buffer: &[u8]) -> Result<(), BlockError> {
        if self.is_read_only() {
            return Err(BlockError::ReadOnly);
        }
        if buffer.is_empty() {
            return self.check(sector, 0);
        }
        self.write_vectored(&[SectorWrite {
            sector,
            data: buffer,
        }])
    }

    /// Writes every one of `writes` (no two may overlap), joined into
    /// requests and queued as [`Self::read_vectored`] does.
    ///
    /// Return values: `ReadOnly`; `OutOfRange` (before any request) if a
    /// write passes the end, is empty or is not whole sectors; `Device` if
    /// a request failed (nothing is in flight on return; some writes may
    /// be done).
    pub fn write_vectored(&mut self, writes: &[SectorWrite<'_>]) -> Result<(), BlockError> {
        if self.is_read_only() {
            return Err(BlockError::ReadOnly);
        }
        for write in writes {
            self.check(write.sector, write.data.len())?;
            if write.data.is_empty() {
                return Err(BlockError::OutOfRange);
            }
        }
        let mut segments: Vec<&[u8]> = Vec::new();
        let mut requests: Vec<Request> = Vec::new();
        for write in writes {
            let mut sector = write.sector;
            let mut rest: &[u8] = write.data;
            while !rest.is_empty() {
                let request = self.request_for(&mut requests, REQUEST_OUT, sector, segments.len());
                let length = rest.len().min(LONGEST_REQUEST - request.bytes);
                let (head, tail) = rest.split_at(length);
                request.count += 1;
                request.bytes += length;
                sector += (length / SECTOR_SIZE) as u64;
                request.next_sector = sector;
                segments.push(head);
                rest = tail;
            }
        }
        self.run(&mut requests, &mut Writes(&segments))
    }

    /// Asks the device to make every completed write durable (nothing to
    /// do for a device without a write cache to flush).
    ///
    /// Return values: `Device` if the device failed.
    pub fn flush(&mut self) -> Result<(), BlockError> {
        if !self.features.contains(Features::FLUSH) {
            return Ok(());
        }
        let mut requests = [Request::new(REQUEST_FLUSH, 0, 0, 0)];
        self.run(&mut requests, &mut Writes(&[]))
    }

    /// The request a transfer of `kind` from `sector` joins: the last
    /// one, if it ends right there with room for another segment, else a
    /// new one whose segments start at `first_segment`.
    fn request_for<'r>(
        &self,
        requests: &'r mut Vec<Request>,
        kind: u32,
        sector: u64,
        first_segment: usize,
    ) -> &'r mut Request {
        let joins = requests.last().is_some_and(|last| {
            last.next_sector == sector
                && last.bytes < LONGEST_REQUEST
                && last.count < self.max_segments
        });
        if !joins {
            requests.push(Request::new(
                kind,
                self.first_sector + sector,
                sector,
                first_segment,
            ));
        }
        let last = requests.len() - 1;
        &mut requests[last]
    }

    /// Sends `requests`: as many queued as fit, one notification for them,
    /// then each completion makes room for more, until every one is done.
    ///
    /// Return values: `Device` if a request failed or could not be queued
    /// (the others are still waited for).
    fn run<S: Segments>(
        &mut self,
        requests: &mut [Request],
        segments: &mut S,
    ) -> Result<(), BlockError> {
        let mut next = 0;
        let mut in_flight = 0usize;
        let mut result = Ok(());
        loop {
            let mut queued = false;
            while result.is_ok() {
                let Some(request) = requests.get_mut(next) else {
                    break;
                };
                // SAFETY: `requests` (its headers and status bytes) and
                // the segments are borrowed for this whole call and not
                // touched otherwise; `requests` is not resized; every
                // queued request is popped below before returning.
                match unsafe { segments.add(&mut self.queue, request) } {
                    Ok(token) => {
                        request.token = Some(token);
                        next += 1;
                        in_flight += 1;
                        queued = true;
                    }
                    // Room comes as requests complete.
                    Err(virtio_drivers::Error::QueueFull) if in_flight > 0 => break,
                    Err(_) => result = Err(BlockError::Device),
                }
            }
            if queued && self.queue.should_notify() {
                self.transport.notify(QUEUE);
            }
            if in_flight == 0 {
                return result;
            }
            let used = loop {
                if let Some(token) = self.queue.peek_used() {
                    break token;
                }
                core::hint::spin_loop();
            };
            let Some(request) = requests
                .iter_mut()
                .find(|request| request.token == Some(used))
            else {
                // Not one of ours: nothing else is queued while the
                // device is borrowed mutably, so this cannot happen.
                return Err(BlockError::Device);
            };
            // SAFETY: the request queued with this token, on this batch.
            let popped = unsafe { segments.pop(&mut self.queue, used, request) };
            if popped.is_err() || request.status[0] != STATUS_OK {
                result = Err(BlockError::Device);
            }
            request.token = None;
            in_flight -= 1;
        }
    }
}

/// Finds every virtio block device the machine describes: virtio-mmio
/// slots in slot order, then PCI functions behind each host bridge in
/// bus/device/function order (see [`crate::pci`]). Empty virtio-mmio slots
/// (device ID 0) and other device types are skipped; a device that fails
/// to initialise is logged and skipped.
pub fn probe_block_devices(boot: &BootInfo) -> Vec<BlockDevice> {
    let mut devices = Vec::new();
    for slot in boot.virtio_mmio.as_slice() {
        let virtual_address = mmu::map_device(slot.base, slot.size);
        let Some(header) = NonNull::new(virtual_address as *mut VirtIOHeader) else {
            continue;
        };
        // SAFETY: `header` is the slot's register window, mapped as device
        // memory for `slot.size` bytes by `map_device` and never unmapped;
        // each slot is probed once, so no other transport aliases it.
        let transport = match unsafe { MmioTransport::new(header, slot.size as usize) } {
            Ok(transport) => transport,
            Err(_) => continue,
        };
        if transport.device_type() != DeviceType::Block {
            continue;
        }
        match BlockDevice::new(
            SomeTransport::from(transport),
            Location::Mmio(slot.base),
            Some(slot.interrupt),
        ) {
            Ok(device) => devices.push(device),
            Err(error) => log::warn!(
                "virtio-blk at {:#x}: initialisation failed: {:?}",
                slot.base,
                error
            ),
        }
    }
    for bridge in boot.pci.as_slice() {
        for function in crate::pci::virtio_block_functions(bridge) {
            let location = function.location;
            let place = Location::Pci(location.bus, location.device, location.function);
            let transport = match function.transport {
                Ok(transport) => transport,
                Err(error) => {
                    log::warn!("virtio-blk at pci {}: unusable: {}", location, error);
                    continue;
                }
            };
            // No interrupt line yet: PCI devices are polled (see `pci`).
            match BlockDevice::new(SomeTransport::from(transport), place, None) {
                Ok(device) => devices.push(device),
                Err(error) => log::warn!(
                    "virtio-blk at pci {}: initialisation failed: {:?}",
                    location,
                    error
                ),
            }
        }
    }
    devices
}
