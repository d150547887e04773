// SPDX-License-Identifier: MIT OR Apache-2.0
//! virtio devices: the `virtio-drivers` glue and the block-device API.
//!
//! `virtio-drivers` needs a [`virtio_drivers::Hal`] — how to allocate DMA
//! memory, translate addresses and reach device registers — and transports
//! built from raw register pointers. Both are `unsafe` to provide, so they
//! live here; the kernel gets [`BlockDevice`], a safe handle with sector
//! reads, writes and flush.
//!
//! DMA memory comes from the kernel heap (page-aligned, physically
//! contiguous because the heap is one range of the direct map), and buffers
//! the drivers share with devices are translated through the kernel's fixed
//! offsets. QEMU's virtio devices are cache-coherent with the CPU, so
//! sharing needs barriers, not cache maintenance.

use crate::arch::mmu;
use crate::boot_info::BootInfo;
use alloc::alloc::{alloc_zeroed, dealloc, Layout};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::ptr::NonNull;
use core::sync::atomic::{fence, Ordering};
use spin::Mutex;
use virtio_drivers::device::blk::{BlkReq, BlkResp, RespStatus, VirtIOBlk};
use virtio_drivers::transport::mmio::{MmioTransport, VirtIOHeader};
use virtio_drivers::transport::{
    DeviceStatus, DeviceType, InterruptStatus, SomeTransport, Transport,
};
use virtio_drivers::{BufferDirection, PhysAddr, PAGE_SIZE};
use zerocopy::{FromBytes, Immutable, IntoBytes};

/// Bytes in a virtio-blk sector.
pub const SECTOR_SIZE: usize = virtio_drivers::device::blk::SECTOR_SIZE;

/// The `virtio-drivers` platform glue.
pub struct VirtioHal;

// SAFETY: `dma_alloc` returns zeroed, page-aligned, physically contiguous
// memory (one heap allocation in the direct map) with its true physical
// address, exclusively owned until `dma_dealloc`; `mmio_phys_to_virt`
// returns a device mapping of the requested registers; `share` returns the
// physical address of a buffer the kernel owns, which is contiguous
// because every kernel address is a fixed offset from its physical one.
unsafe impl virtio_drivers::Hal for VirtioHal {
    fn dma_alloc(pages: usize, _direction: BufferDirection) -> (PhysAddr, NonNull<u8>) {
        let Ok(layout) = Layout::from_size_align(pages * PAGE_SIZE, PAGE_SIZE) else {
            return (0, NonNull::dangling());
        };
        // SAFETY: the layout has a non-zero size (pages ≥ 1 in every
        // virtio-drivers call) and a valid alignment.
        let pointer = unsafe { alloc_zeroed(layout) };
        match NonNull::new(pointer) {
            Some(virtual_address) => {
                let physical = mmu::virtual_to_physical(pointer as u64).unwrap_or(0);
                (physical, virtual_address)
            }
            None => (0, NonNull::dangling()),
        }
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
        mmu::virtual_to_physical(buffer.as_ptr() as *mut u8 as u64).unwrap_or(0)
    }

    unsafe fn unshare(_paddr: PhysAddr, _buffer: NonNull<[u8]>, _direction: BufferDirection) {
        // Make the device's writes visible before the CPU reads the buffer.
        fence(Ordering::SeqCst);
    }
}

/// A transport and whether its queue notifications are held back.
struct TransportState {
    transport: SomeTransport<'static>,
    /// While set, notifications are only recorded, in `held`.
    holding: bool,
    /// Queues (bit per queue number below 64) notified while holding.
    held: u64,
}

/// The transport a driver owns, shared with its [`BlockDevice`] so that
/// the device can hold back the queue notifications of several requests
/// and send one: the device then takes all the requests at once (QEMU
/// joins requests for consecutive sectors into one host read).
struct SharedTransport(Arc<Mutex<TransportState>>);

impl SharedTransport {
    fn new(transport: SomeTransport<'static>) -> Self {
        SharedTransport(Arc::new(Mutex::new(TransportState {
            transport,
            holding: false,
            held: 0,
        })))
    }

    /// Holds back notifications until [`Self::release`].
    fn hold(&self) {
        self.0.lock().holding = true;
    }

    /// Stops holding notifications back and sends the held ones.
    fn release(&self) {
        let mut state = self.0.lock();
        state.holding = false;
        let held = core::mem::take(&mut state.held);
        for queue in 0..64u16 {
            if held & (1 << queue) != 0 {
                state.transport.notify(queue);
            }
        }
    }
}

impl Transport for SharedTransport {
    fn device_type(&self) -> DeviceType {
        self.0.lock().transport.device_type()
    }
    fn read_device_features(&mut self) -> u64 {
        self.0.lock().transport.read_device_features()
    }
    fn write_driver_features(&mut self, driver_features: u64) {
        self.0
            .lock()
            .transport
            .write_driver_features(driver_features)
    }
    fn max_queue_size(&mut self, queue: u16) -> u32 {
        self.0.lock().transport.max_queue_size(queue)
    }
    fn notify(&mut self, queue: u16) {
        let mut state = self.0.lock();
        if state.holding && queue < 64 {
            state.held |= 1 << queue;
        } else {
            state.transport.notify(queue);
        }
    }
    fn get_status(&self) -> DeviceStatus {
        self.0.lock().transport.get_status()
    }
    fn set_status(&mut self, status: DeviceStatus) {
        self.0.lock().transport.set_status(status)
    }
    fn set_guest_page_size(&mut self, guest_page_size: u32) {
        self.0.lock().transport.set_guest_page_size(guest_page_size)
    }
    fn requires_legacy_layout(&self) -> bool {
        self.0.lock().transport.requires_legacy_layout()
    }
    fn queue_set(
        &mut self,
        queue: u16,
        size: u32,
        descriptors: PhysAddr,
        driver_area: PhysAddr,
        device_area: PhysAddr,
    ) {
        self.0
            .lock()
            .transport
            .queue_set(queue, size, descriptors, driver_area, device_area)
    }
    fn queue_unset(&mut self, queue: u16) {
        self.0.lock().transport.queue_unset(queue)
    }
    fn queue_used(&mut self, queue: u16) -> bool {
        self.0.lock().transport.queue_used(queue)
    }
    fn ack_interrupt(&mut self) -> InterruptStatus {
        self.0.lock().transport.ack_interrupt()
    }
    fn read_config_generation(&self) -> u32 {
        self.0.lock().transport.read_config_generation()
    }
    fn read_config_space<T: FromBytes + IntoBytes>(
        &self,
        offset: usize,
    ) -> virtio_drivers::Result<T> {
        self.0.lock().transport.read_config_space(offset)
    }
    fn write_config_space<T: IntoBytes + Immutable>(
        &mut self,
        offset: usize,
        value: T,
    ) -> virtio_drivers::Result<()> {
        self.0.lock().transport.write_config_space(offset, value)
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

/// Requests [`BlockDevice::read_vectored`] and
/// [`BlockDevice::write_vectored`] send at once: five requests of three
/// descriptors each fit the driver's 16-entry queue even without indirect
/// descriptors.
const REQUESTS_IN_FLIGHT: usize = 5;

/// Where a device was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Location {
    /// A virtio-mmio slot at this physical address.
    Mmio(u64),
    /// A PCI function: bus, device, function.
    Pci(u8, u8, u8),
}

/// A virtio block device, or the window of it that [`BlockDevice::restrict`]
/// left (a partition): sector numbers are then relative to the window.
pub struct BlockDevice {
    driver: VirtIOBlk<VirtioHal, SharedTransport>,
    /// The driver's transport, to hold back notifications.
    transport: SharedTransport,
    location: Location,
    interrupt: Option<u32>,
    /// The window's first sector on the device (0 for the whole disk).
    first_sector: u64,
    /// The window's length in sectors (the device's capacity at first).
    sectors: u64,
}

impl BlockDevice {
    /// Starts the driver on `transport`.
    fn new(
        transport: SomeTransport<'static>,
        location: Location,
        interrupt: Option<u32>,
    ) -> Result<Self, virtio_drivers::Error> {
        let shared = SharedTransport::new(transport);
        let kept = SharedTransport(shared.0.clone());
        let driver = VirtIOBlk::<VirtioHal, _>::new(shared)?;
        let sectors = driver.capacity();
        Ok(BlockDevice {
            driver,
            transport: kept,
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
        self.driver.readonly()
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

    /// Reads whole sectors starting at `sector` into `buffer` (one request).
    ///
    /// Return values: `OutOfRange` if the range passes the end or `buffer`
    /// is not a multiple of [`SECTOR_SIZE`]; `Device` on an I/O error.
    pub fn read_sectors(&mut self, sector: u64, buffer: &mut [u8]) -> Result<(), BlockError> {
        self.check(sector, buffer.len())?;
        if buffer.is_empty() {
            return Ok(());
        }
        self.driver
            .read_blocks((self.first_sector + sector) as usize, buffer)
            .map_err(|_| BlockError::Device)
    }

    /// Reads every one of `reads` (one request each), with up to
    /// [`REQUESTS_IN_FLIGHT`] requests submitted, with one notification,
    /// before waiting for the first: the device serves them side by side
    /// (QEMU joins requests for consecutive sectors into one host read),
    /// so a read the caller had to split — its memory is not physically
    /// consecutive — costs about what one request would.
    ///
    /// Return values: `OutOfRange` (before any request) if a read passes
    /// the end or is not whole sectors; `Device` if a request failed (the
    /// others are still waited for: nothing is in flight on return).
    pub fn read_vectored(&mut self, reads: &mut [SectorRead<'_>]) -> Result<(), BlockError> {
        for read in reads.iter() {
            self.check(read.sector, read.buffer.len())?;
            if read.buffer.is_empty() {
                return Err(BlockError::OutOfRange);
            }
        }
        let mut result = Ok(());
        for batch in reads.chunks_mut(REQUESTS_IN_FLIGHT) {
            let mut requests: Vec<BlkReq> = batch.iter().map(|_| BlkReq::default()).collect();
            let mut responses: Vec<BlkResp> = batch.iter().map(|_| BlkResp::default()).collect();
            let mut tokens: Vec<Option<u16>> = Vec::with_capacity(batch.len());
            // One notification for the whole batch, after the last request:
            // the device takes them all at once.
            self.transport.hold();
            for (index, read) in batch.iter_mut().enumerate() {
                // SAFETY: the request, buffer and response stay alive and
                // untouched until `complete_read_blocks` below, which runs
                // for every submitted token before this function returns
                // (the buffer is borrowed mutably for all of it); the
                // buffer is whole sectors, not empty (checked above), and
                // physically consecutive (kernel memory, `SectorRead`).
                let submitted = unsafe {
                    self.driver.read_blocks_nb(
                        (self.first_sector + read.sector) as usize,
                        &mut requests[index],
                        read.buffer,
                        &mut responses[index],
                    )
                };
                match submitted {
                    Ok(token) => tokens.push(Some(token)),
                    Err(_) => {
                        result = Err(BlockError::Device);
                        break;
                    }
                }
            }
            self.transport.release();
            let mut waiting = tokens.iter().filter(|token| token.is_some()).count();
            while waiting > 0 {
                let Some(used) = self.driver.peek_used() else {
                    core::hint::spin_loop();
                    continue;
                };
                let Some(index) = tokens.iter().position(|token| *token == Some(used)) else {
                    // Not one of ours: nothing else is in flight while the
                    // driver is borrowed mutably, so this cannot happen.
                    result = Err(BlockError::Device);
                    break;
                };
                // SAFETY: the same request, buffer and response that were
                // submitted with this token.
                let completed = unsafe {
                    self.driver.complete_read_blocks(
                        used,
                        &requests[index],
                        batch[index].buffer,
                        &mut responses[index],
                    )
                };
                if completed.is_err() || responses[index].status() != RespStatus::OK {
                    result = Err(BlockError::Device);
                }
                tokens[index] = None;
                waiting -= 1;
            }
            result?;
        }
        result
    }

    /// Writes every one of `writes` (one request each), several in flight
    /// at once as [`Self::read_vectored`] reads.
    ///
    /// Return values: `ReadOnly`; `OutOfRange` (before any request) if a
    /// write passes the end or is not whole sectors; `Device` if a request
    /// failed (nothing is in flight on return; some writes may be done).
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
        let mut result = Ok(());
        for batch in writes.chunks(REQUESTS_IN_FLIGHT) {
            let mut requests: Vec<BlkReq> = batch.iter().map(|_| BlkReq::default()).collect();
            let mut responses: Vec<BlkResp> = batch.iter().map(|_| BlkResp::default()).collect();
            let mut tokens: Vec<Option<u16>> = Vec::with_capacity(batch.len());
            self.transport.hold();
            for (index, write) in batch.iter().enumerate() {
                // SAFETY: as in `read_vectored`: request, data and response
                // stay alive and untouched until `complete_write_blocks`
                // below, run for every submitted token before returning.
                let submitted = unsafe {
                    self.driver.write_blocks_nb(
                        (self.first_sector + write.sector) as usize,
                        &mut requests[index],
                        write.data,
                        &mut responses[index],
                    )
                };
                match submitted {
                    Ok(token) => tokens.push(Some(token)),
                    Err(_) => {
                        result = Err(BlockError::Device);
                        break;
                    }
                }
            }
            self.transport.release();
            let mut waiting = tokens.iter().filter(|token| token.is_some()).count();
            while waiting > 0 {
                let Some(used) = self.driver.peek_used() else {
                    core::hint::spin_loop();
                    continue;
                };
                let Some(index) = tokens.iter().position(|token| *token == Some(used)) else {
                    result = Err(BlockError::Device);
                    break;
                };
                // SAFETY: the same request, data and response that were
                // submitted with this token.
                let completed = unsafe {
                    self.driver.complete_write_blocks(
                        used,
                        &requests[index],
                        batch[index].data,
                        &mut responses[index],
                    )
                };
                if completed.is_err() || responses[index].status() != RespStatus::OK {
                    result = Err(BlockError::Device);
                }
                tokens[index] = None;
                waiting -= 1;
            }
            result?;
        }
        result
    }

    /// Writes whole sectors starting at `sector` (one request).
    ///
    /// Return values: as [`Self::read_sectors`], plus `ReadOnly`.
    pub fn write_sectors(&mut self, sector: u64, buffer: &[u8]) -> Result<(), BlockError> {
        if self.is_read_only() {
            return Err(BlockError::ReadOnly);
        }
        self.check(sector, buffer.len())?;
        if buffer.is_empty() {
            return Ok(());
        }
        self.driver
            .write_blocks((self.first_sector + sector) as usize, buffer)
            .map_err(|_| BlockError::Device)
    }

    /// Asks the device to make every completed write durable.
    pub fn flush(&mut self) -> Result<(), BlockError> {
        self.driver.flush().map_err(|_| BlockError::Device)
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
