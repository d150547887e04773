// SPDX-License-Identifier: MIT OR Apache-2.0
//! The few UEFI tables and boot services the stub uses, and safe wrappers.
//!
//! Layouts are those of the UEFI specification 2.10: the system table
//! (§4.3), the boot services table (§4.4, only up to `ExitBootServices`),
//! configuration tables (§4.6), memory descriptors (§7.2,
//! `EFI_BOOT_SERVICES.GetMemoryMap()`), the simple text output protocol
//! (§12.4), the loaded image protocol (§9.1: the image's load options and
//! the device it came from) and the simple file system and file protocols
//! (§13.4, §13.5: reading one file of that device). Every call goes
//! through [`Firmware`], which exists only while boot services do:
//! [`Firmware::exit_boot_services`] consumes it, so no boot service can be
//! called afterwards.

use core::ffi::c_void;

/// `EFI_STATUS`: 0 is success, the top bit marks errors.
pub type Status = usize;
/// `EFI_HANDLE`.
pub type Handle = *mut c_void;

const ERROR_BIT: usize = 1 << (usize::BITS - 1);
/// `EFI_INVALID_PARAMETER` (a stale map key, for `ExitBootServices`).
pub const INVALID_PARAMETER: Status = ERROR_BIT | 2;
/// `EFI_NOT_FOUND` (no such file, or no such protocol on a handle).
pub const NOT_FOUND: Status = ERROR_BIT | 14;

/// `EFI_GUID`, in its in-memory (mixed-endian) layout.
#[repr(C)]
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Guid {
    data1: u32,
    data2: u16,
    data3: u16,
    data4: [u8; 8],
}

impl Guid {
    /// The GUID written `data1-data2-data3-data4[0..2]-data4[2..8]`.
    pub const fn new(data1: u32, data2: u16, data3: u16, data4: [u8; 8]) -> Self {
        Guid {
            data1,
            data2,
            data3,
            data4,
        }
    }
}

/// `EFI_TABLE_HEADER`.
#[repr(C)]
struct TableHeader {
    signature: u64,
    revision: u32,
    header_size: u32,
    crc32: u32,
    reserved: u32,
}

/// `EFI_SIMPLE_TEXT_OUTPUT_PROTOCOL`, up to `OutputString`.
#[repr(C)]
struct TextOutput {
    reset: usize,
    output_string: unsafe extern "efiapi" fn(*mut TextOutput, *const u16) -> Status,
}

/// `EFI_CONFIGURATION_TABLE`: a GUID and a pointer.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ConfigurationTable {
    /// What the table is.
    pub guid: Guid,
    /// Where it is (identity-mapped physical address).
    pub table: *const c_void,
}

/// `EFI_SYSTEM_TABLE`.
#[repr(C)]
pub struct SystemTable {
    header: TableHeader,
    firmware_vendor: *const u16,
    firmware_revision: u32,
    console_in_handle: Handle,
    console_in: *mut c_void,
    console_out_handle: Handle,
    console_out: *mut TextOutput,
    standard_error_handle: Handle,
    standard_error: *mut c_void,
    runtime_services: *mut c_void,
    boot_services: *mut BootServicesTable,
    configuration_table_entries: usize,
    configuration_table: *const ConfigurationTable,
}

/// `EFI_BOOT_SERVICES`, up to `ExitBootServices`. Entries the stub never
/// calls are kept as plain words so the offsets stay right.
#[repr(C)]
struct BootServicesTable {
    header: TableHeader,
    raise_tpl: usize,
    restore_tpl: usize,
    allocate_pages: unsafe extern "efiapi" fn(u32, u32, usize, *mut u64) -> Status,
    free_pages: unsafe extern "efiapi" fn(u64, usize) -> Status,
    get_memory_map:
        unsafe extern "efiapi" fn(*mut usize, *mut u8, *mut usize, *mut usize, *mut u32) -> Status,
    allocate_pool: usize,
    free_pool: usize,
    create_event: usize,
    set_timer: usize,
    wait_for_event: usize,
    signal_event: usize,
    close_event: usize,
    check_event: usize,
    install_protocol_interface: usize,
    reinstall_protocol_interface: usize,
    uninstall_protocol_interface: usize,
    handle_protocol: unsafe extern "efiapi" fn(Handle, *const Guid, *mut *mut c_void) -> Status,
    reserved: usize,
    register_protocol_notify: usize,
    locate_handle: usize,
    locate_device_path: usize,
    install_configuration_table: usize,
    load_image: usize,
    start_image: usize,
    exit: usize,
    unload_image: usize,
    exit_boot_services: unsafe extern "efiapi" fn(Handle, usize) -> Status,
}

/// `EFI_LOADED_IMAGE_PROTOCOL_GUID`.
const LOADED_IMAGE_PROTOCOL: Guid = Guid::new(
    0x5b1b_31a1,
    0x9562,
    0x11d2,
    [0x8e, 0x3f, 0x00, 0xa0, 0xc9, 0x69, 0x72, 0x3b],
);
/// `EFI_SIMPLE_FILE_SYSTEM_PROTOCOL_GUID`.
const SIMPLE_FILE_SYSTEM_PROTOCOL: Guid = Guid::new(
    0x964e_5b22,
    0x6459,
    0x11d2,
    [0x8e, 0x39, 0x00, 0xa0, 0xc9, 0x69, 0x72, 0x3b],
);

/// `EFI_LOADED_IMAGE_PROTOCOL`, up to the load options.
#[repr(C)]
struct LoadedImage {
    revision: u32,
    parent_handle: Handle,
    system_table: *const SystemTable,
    device_handle: Handle,
    file_path: *const c_void,
    reserved: *const c_void,
    load_options_size: u32,
    load_options: *const c_void,
}

/// `EFI_SIMPLE_FILE_SYSTEM_PROTOCOL`.
#[repr(C)]
struct SimpleFileSystem {
    revision: u64,
    open_volume: unsafe extern "efiapi" fn(*mut SimpleFileSystem, *mut *mut FileProtocol) -> Status,
}

/// `EFI_FILE_PROTOCOL`, up to `Read`.
#[repr(C)]
struct FileProtocol {
    revision: u64,
    open: unsafe extern "efiapi" fn(
        *mut FileProtocol,
        *mut *mut FileProtocol,
        *const u16,
        u64,
        u64,
    ) -> Status,
    close: unsafe extern "efiapi" fn(*mut FileProtocol) -> Status,
    delete: usize,
    read: unsafe extern "efiapi" fn(*mut FileProtocol, *mut usize, *mut c_void) -> Status,
}

/// `EFI_FILE_MODE_READ`.
const FILE_MODE_READ: u64 = 1;

/// An open `EFI_FILE_PROTOCOL`, closed when dropped.
struct OpenFile(*mut FileProtocol);

impl Drop for OpenFile {
    fn drop(&mut self) {
        // SAFETY: `self.0` is a file the firmware opened for us (see
        // `Firmware::read_boot_volume_file`), not yet closed; boot services
        // still run (an `OpenFile` never outlives the `&Firmware` it was
        // opened with).
        unsafe { ((*self.0).close)(self.0) };
    }
}

/// `EFI_ALLOCATE_TYPE`.
const ALLOCATE_MAX_ADDRESS: u32 = 1;
const ALLOCATE_ADDRESS: u32 = 2;
/// `EFI_MEMORY_TYPE` of what the stub allocates: `EfiLoaderData`, and
/// `EfiLoaderCode` for code.
const LOADER_DATA: u32 = 2;
const LOADER_CODE: u32 = 1;
/// UEFI pages are 4 KiB on every architecture.
pub const PAGE_SIZE: u64 = 4096;

/// `EFI_MEMORY_TYPE` values (UEFI 2.10 Table 7.5) the stub tells apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemoryKind {
    /// Free once boot services have exited: conventional memory, boot
    /// services code and data, loader code and data.
    Usable,
    /// ACPI tables (`EfiACPIReclaimMemory`): keep until they are read.
    AcpiReclaim,
    /// `EfiACPIMemoryNVS`: firmware's for good.
    AcpiNvs,
    /// Memory-mapped I/O the firmware's runtime uses (not RAM at all).
    Mmio,
    /// Runtime services, reserved, unusable, persistent…: never RAM for
    /// the kernel.
    Reserved,
}

impl MemoryKind {
    fn from_type(memory_type: u32) -> Self {
        match memory_type {
            // Loader code/data, boot services code/data, conventional.
            1 | 2 | 3 | 4 | 7 => MemoryKind::Usable,
            9 => MemoryKind::AcpiReclaim,
            10 => MemoryKind::AcpiNvs,
            11 | 12 => MemoryKind::Mmio,
            _ => MemoryKind::Reserved,
        }
    }
}

/// One memory map entry, decoded.
#[derive(Clone, Copy, Debug)]
pub struct MemoryRegion {
    /// First byte.
    pub start: u64,
    /// Length in bytes.
    pub size: u64,
    /// What it may be used for.
    pub kind: MemoryKind,
}

/// The memory map as the firmware returned it, in a buffer of ours.
pub struct MemoryMap<'a> {
    bytes: &'a [u8],
    descriptor_size: usize,
    /// The key `ExitBootServices` wants.
    pub key: usize,
}

impl MemoryMap<'_> {
    /// The entries, in the firmware's order (ascending addresses in
    /// practice, though nothing here relies on it).
    pub fn regions(&self) -> impl Iterator<Item = MemoryRegion> + '_ {
        // EFI_MEMORY_DESCRIPTOR: u32 type, u32 padding, u64 physical start,
        // u64 virtual start, u64 number of pages, u64 attributes; the
        // firmware's stride (`descriptor_size`) may be larger.
        self.bytes
            .chunks_exact(self.descriptor_size)
            .map(|descriptor| {
                let word = |offset: usize| {
                    let mut bytes = [0; 8];
                    bytes.copy_from_slice(&descriptor[offset..offset + 8]);
                    u64::from_le_bytes(bytes)
                };
                let memory_type = u32::from_le_bytes([
                    descriptor[0],
                    descriptor[1],
                    descriptor[2],
                    descriptor[3],
                ]);
                MemoryRegion {
                    start: word(8),
                    size: word(24).saturating_mul(PAGE_SIZE),
                    kind: MemoryKind::from_type(memory_type),
                }
            })
    }
}

/// Boot services, usable until [`Firmware::exit_boot_services`].
pub struct Firmware {
    image: Handle,
    system: &'static SystemTable,
    boot: &'static BootServicesTable,
}

impl Firmware {
    /// Wraps the arguments the firmware passed to `efi_main`.
    ///
    /// # Safety
    /// 1. `system` is the system table the firmware passed to the image
    ///    entry point, with boot services still running;
    /// 2. `image` is the handle passed with it;
    /// 3. there is one `Firmware` at a time.
    pub unsafe fn new(image: Handle, system: *const SystemTable) -> Option<Self> {
        // SAFETY: obligation 1: the firmware's system table and its boot
        // services table stay valid and unchanged while boot services run,
        // which is as long as a `Firmware` exists (exit consumes it).
        let system = unsafe { system.as_ref()? };
        // SAFETY: as above.
        let boot = unsafe { system.boot_services.as_ref()? };
        Some(Firmware {
            image,
            system,
            boot,
        })
    }

    /// Prints `text` on the firmware's console (its serial port under
    /// QEMU), converting line feeds to CR LF.
    pub fn print(&self, text: &str) {
        let console = self.system.console_out;
        if console.is_null() {
            return;
        }
        let mut buffer = [0u16; 128];
        let mut length = 0;
        let flush = |buffer: &mut [u16; 128], length: &mut usize| {
            buffer[*length] = 0;
            // SAFETY: `console` is the firmware's text output protocol
            // (non-null, checked above), valid while boot services run;
            // `buffer` is NUL-terminated UCS-2.
            unsafe { ((*console).output_string)(console, buffer.as_ptr()) };
            *length = 0;
        };
        for character in text.chars() {
            if character == '\n' {
                buffer[length] = u16::from(b'\r');
                length += 1;
            }
            let code = u32::from(character);
            buffer[length] = if code <= 0xffff { code as u16 } else { 0xfffd };
            length += 1;
            if length >= buffer.len() - 3 {
                flush(&mut buffer, &mut length);
            }
        }
        if length > 0 {
            flush(&mut buffer, &mut length);
        }
    }

    /// The firmware's console as a formatter target.
    pub fn console(&self) -> Console<'_> {
        Console(self)
    }

    /// The configuration tables (device tree, ACPI, …).
    pub fn configuration_tables(&self) -> &[ConfigurationTable] {
        if self.system.configuration_table.is_null() {
            return &[];
        }
        // SAFETY: the system table says `configuration_table_entries`
        // entries live at `configuration_table`, and the firmware keeps
        // them there while boot services run (and `self` borrows those).
        unsafe {
            core::slice::from_raw_parts(
                self.system.configuration_table,
                self.system.configuration_table_entries,
            )
        }
    }

    /// The table registered under `guid`, if any.
    pub fn configuration_table(&self, guid: Guid) -> Option<*const c_void> {
        self.configuration_tables()
            .iter()
            .find(|entry| entry.guid == guid)
            .map(|entry| entry.table)
    }

    /// This image's `EFI_LOADED_IMAGE_PROTOCOL`, which the firmware
    /// installs on the image handle before starting it.
    fn loaded_image(&self) -> Option<&LoadedImage> {
        let mut interface = core::ptr::null_mut();
        // SAFETY: a boot service called with our image handle (`new`'s
        // obligation 2), a GUID that lives in this image and a valid
        // out-pointer, while boot services run.
        let status = unsafe {
            (self.boot.handle_protocol)(self.image, &LOADED_IMAGE_PROTOCOL, &mut interface)
        };
        if status != 0 {
            return None;
        }
        // SAFETY: the firmware returned its loaded image protocol for this
        // image; it stays installed, unchanged, while the image runs and
        // boot services do (as long as `self` is borrowed).
        unsafe { (interface as *const LoadedImage).as_ref() }
    }

    /// The load options this image was started with (`LoadOptions`,
    /// `LoadOptionsSize` of the loaded image protocol), as raw bytes: a
    /// shell or a boot entry normally passes UTF-16 text, firmware may
    /// pass binary data of its own. Empty when there are none.
    pub fn load_options(&self) -> &[u8] {
        let Some(image) = self.loaded_image() else {
            return &[];
        };
        if image.load_options.is_null() || image.load_options_size == 0 {
            return &[];
        }
        // SAFETY: the protocol says `load_options_size` bytes live at
        // `load_options` (non-null, checked above); the firmware keeps them
        // while the image runs, and the slice borrows `self`.
        unsafe {
            core::slice::from_raw_parts(
                image.load_options as *const u8,
                image.load_options_size as usize,
            )
        }
    }

    /// Reads the file `path` (UCS-2, `\`-separated, NUL-terminated) of
    /// the volume this image was loaded from into `buffer`; returns how
    /// many bytes were read: `buffer.len()` when the file is at least that
    /// long (a caller that must know a file is too long passes one byte
    /// more than it accepts).
    ///
    /// Return values: `Err(NOT_FOUND)` when there is no such file (or the
    /// image's device has no file system), `Err(INVALID_PARAMETER)` for a
    /// path that is not NUL-terminated, other firmware errors as they come
    /// from opening the volume, the file or reading it.
    pub fn read_boot_volume_file(&self, path: &[u16], buffer: &mut [u8]) -> Result<usize, Status> {
        if path.last() != Some(&0) {
            return Err(INVALID_PARAMETER);
        }
        let image = self.loaded_image().ok_or(NOT_FOUND)?;
        let mut interface = core::ptr::null_mut();
        // SAFETY: as in `loaded_image`, on the handle of the device the
        // firmware loaded us from.
        let status = unsafe {
            (self.boot.handle_protocol)(
                image.device_handle,
                &SIMPLE_FILE_SYSTEM_PROTOCOL,
                &mut interface,
            )
        };
        if status != 0 {
            return Err(status);
        }
        let file_system = interface as *mut SimpleFileSystem;
        let mut root = core::ptr::null_mut();
        // SAFETY: `file_system` is the firmware's simple file system
        // protocol on that device (just returned, non-null on success);
        // `root` is a valid out-pointer.
        let status = unsafe { ((*file_system).open_volume)(file_system, &mut root) };
        if status != 0 {
            return Err(status);
        }
        if root.is_null() {
            return Err(NOT_FOUND);
        }
        let root = OpenFile(root);
        let mut file = core::ptr::null_mut();
        // SAFETY: `root.0` is the volume's open root directory; `path` is
        // NUL-terminated (checked above) and outlives the call; `file` is a
        // valid out-pointer.
        let status =
            unsafe { ((*root.0).open)(root.0, &mut file, path.as_ptr(), FILE_MODE_READ, 0) };
        if status != 0 {
            return Err(status);
        }
        if file.is_null() {
            return Err(NOT_FOUND);
        }
        let file = OpenFile(file);
        let mut filled = 0;
        while filled < buffer.len() {
            let rest = &mut buffer[filled..];
            let mut size = rest.len();
            // SAFETY: `file.0` is open for reading; `rest` is writable for
            // `size` bytes, and the firmware writes no more than that.
            let status = unsafe { ((*file.0).read)(file.0, &mut size, rest.as_mut_ptr().cast()) };
            if status != 0 {
                return Err(status);
            }
            if size == 0 {
                break;
            }
            filled += size.min(rest.len());
        }
        Ok(filled)
    }

    /// Allocates `pages` pages at exactly `address` as loader data.
    ///
    /// Return values: `Err(status)` when the firmware refuses (the range is
    /// in use or not RAM: `EFI_NOT_FOUND`, `EFI_OUT_OF_RESOURCES`).
    pub fn allocate_pages_at(&self, address: u64, pages: usize) -> Result<(), Status> {
        let mut memory = address;
        // SAFETY: a boot service called with valid arguments while boot
        // services run; `memory` is a valid out-pointer.
        let status = unsafe {
            (self.boot.allocate_pages)(ALLOCATE_ADDRESS, LOADER_DATA, pages, &mut memory)
        };
        if status == 0 {
            Ok(())
        } else {
            Err(status)
        }
    }

    /// Allocates `pages` zeroed pages of loader data ending at or below
    /// `limit`; returns them as a `'static` slice (they are never freed).
    ///
    /// Return values: `Err(status)` when no such range is free
    /// (`EFI_OUT_OF_RESOURCES`, `EFI_NOT_FOUND`).
    pub fn allocate_pages_below(
        &self,
        limit: u64,
        pages: usize,
    ) -> Result<&'static mut [u8], Status> {
        self.allocate_below(limit, pages, LOADER_DATA)
    }

    /// As [`Self::allocate_pages_below`], as loader *code*: firmware that
    /// maps loader data never-execute (edk2's
    /// `PcdDxeNxMemoryProtectionPolicy`) still maps this executable.
    #[cfg_attr(
        not(target_arch = "x86_64"),
        allow(dead_code, reason = "only the x86_64 hand-off loads code")
    )]
    pub fn allocate_code_pages_below(
        &self,
        limit: u64,
        pages: usize,
    ) -> Result<&'static mut [u8], Status> {
        self.allocate_below(limit, pages, LOADER_CODE)
    }

    fn allocate_below(
        &self,
        limit: u64,
        pages: usize,
        memory_type: u32,
    ) -> Result<&'static mut [u8], Status> {
        let mut memory = limit;
        // SAFETY: as in `allocate_pages_at`.
        let status = unsafe {
            (self.boot.allocate_pages)(ALLOCATE_MAX_ADDRESS, memory_type, pages, &mut memory)
        };
        if status != 0 {
            return Err(status);
        }
        let length = pages * PAGE_SIZE as usize;
        // SAFETY: the firmware just gave us these pages (identity-mapped
        // while boot services run, and nobody else's after they exit); they
        // are never freed, so a `'static` exclusive borrow is sound.
        let slice = unsafe { core::slice::from_raw_parts_mut(memory as *mut u8, length) };
        slice.fill(0);
        Ok(slice)
    }

    /// Fills `buffer` with the memory map.
    ///
    /// Return values: `Err(EFI_BUFFER_TOO_SMALL)` when it does not fit,
    /// other firmware errors as they come.
    pub fn memory_map<'a>(&self, buffer: &'a mut [u8]) -> Result<MemoryMap<'a>, Status> {
        let mut size = buffer.len();
        let mut key = 0;
        let mut descriptor_size = 0;
        let mut version = 0;
        // SAFETY: `buffer` is writable for `size` bytes; the other
        // arguments are valid out-pointers.
        let status = unsafe {
            (self.boot.get_memory_map)(
                &mut size,
                buffer.as_mut_ptr(),
                &mut key,
                &mut descriptor_size,
                &mut version,
            )
        };
        if status != 0 {
            return Err(status);
        }
        if descriptor_size < 40 || size > buffer.len() {
            return Err(INVALID_PARAMETER);
        }
        Ok(MemoryMap {
            bytes: &buffer[..size],
            descriptor_size,
            key,
        })
    }

    /// Bytes the memory map needs right now (it grows by a few
    /// descriptors with every allocation).
    pub fn memory_map_size(&self) -> usize {
        let mut size = 0;
        let mut key = 0;
        let mut descriptor_size = 0;
        let mut version = 0;
        // SAFETY: a zero-sized buffer may be null: the firmware only
        // reports the size it needs.
        unsafe {
            (self.boot.get_memory_map)(
                &mut size,
                core::ptr::null_mut(),
                &mut key,
                &mut descriptor_size,
                &mut version,
            )
        };
        size
    }

    /// Ends boot services with the map key of the latest map.
    ///
    /// Return values: `Err((self, status))` — boot services still run —
    /// when the key is stale (`EFI_INVALID_PARAMETER`): the caller takes a
    /// new map and tries again.
    pub fn exit_boot_services(self, key: usize) -> Result<(), (Self, Status)> {
        // SAFETY: the image handle is ours (`new`'s obligation 2); after
        // success nothing calls a boot service again, since `self` is gone.
        let status = unsafe { (self.boot.exit_boot_services)(self.image, key) };
        if status == 0 {
            Ok(())
        } else {
            Err((self, status))
        }
    }
}

/// [`Firmware::print`] as a `core::fmt::Write`.
pub struct Console<'a>(&'a Firmware);

impl core::fmt::Write for Console<'_> {
    fn write_str(&mut self, text: &str) -> core::fmt::Result {
        self.0.print(text);
        Ok(())
    }
}
