// SPDX-License-Identifier: MIT OR Apache-2.0
//! Copying the firmware's device tree with the memory it keeps reserved
//! and the kernel command line.
//!
//! The tree QEMU gives UEFI describes all of RAM in `/memory`; part of that
//! RAM stays the firmware's after `ExitBootServices` (runtime services,
//! ACPI tables, reserved pages). The kernel already honours the tree's
//! memory reservation block (`/memreserve/`), so the stub writes a copy of
//! the tree whose reservation block lists those ranges as well. The copy
//! is laid out as the Devicetree Specification v0.4 §5 describes: the
//! 40-byte header, the reservation block (8-byte aligned, pairs of
//! big-endian `u64` ended by a zero pair), then the structure and strings
//! blocks; the header's offsets and sizes are rewritten.
//!
//! The structure block is copied token by token (§5.4: `FDT_BEGIN_NODE`
//! and its padded name, `FDT_PROP` with its length, name offset and padded
//! value, `FDT_END_NODE`, `FDT_NOP`, `FDT_END`) so that a command line can
//! be set: `/chosen/bootargs` is written as the first property of
//! `/chosen`, any `bootargs` it had is left out, and a `/chosen` node is
//! added at the end of the root node when the tree has none. The strings
//! block gains `bootargs` when it does not hold that name already.

/// `FDT_MAGIC`.
const MAGIC: u32 = 0xd00d_feed;
/// Size of a version-17 header.
const HEADER_SIZE: usize = 40;
/// Structure block tokens (§5.4.1).
const BEGIN_NODE: u32 = 1;
const END_NODE: u32 = 2;
const PROPERTY: u32 = 3;
const NOP: u32 = 4;
const END: u32 = 9;
/// The property's name, NUL-terminated as in the strings block.
const BOOTARGS: &[u8] = b"bootargs\0";
/// The node's name, NUL-terminated and padded to a token boundary.
const CHOSEN: &[u8] = b"chosen\0\0";

/// Why the tree could not be copied.
#[derive(Clone, Copy, Debug)]
pub enum TreeError {
    /// No device tree magic, or offsets that point outside the blob.
    Malformed,
    /// The destination buffer is too small.
    NoRoom,
}

fn be32(bytes: &[u8], offset: usize) -> Result<u32, TreeError> {
    let b = bytes.get(offset..offset + 4).ok_or(TreeError::Malformed)?;
    Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

fn be64(bytes: &[u8], offset: usize) -> Result<u64, TreeError> {
    Ok((u64::from(be32(bytes, offset)?) << 32) | u64::from(be32(bytes, offset + 4)?))
}

/// The total size the tree at `header` claims (to know how much to read).
pub fn total_size(header: &[u8; 8]) -> Option<usize> {
    let magic = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
    let total = u32::from_be_bytes([header[4], header[5], header[6], header[7]]) as usize;
    (magic == MAGIC && total >= HEADER_SIZE).then_some(total)
}

/// Bytes the copy may grow by when `command_line` is set as `bootargs`:
/// a property (token, length, name offset, value and NUL padded to 4), a
/// `/chosen` node around it, and the property's name in the strings block.
pub fn bootargs_room(command_line: &str) -> usize {
    12 + (command_line.len() + 1).next_multiple_of(4) + 4 + CHOSEN.len() + 4 + BOOTARGS.len()
}

/// Where the copy is written, and how far.
struct Writer<'a> {
    destination: &'a mut [u8],
    cursor: usize,
}

impl Writer<'_> {
    fn put(&mut self, bytes: &[u8]) -> Result<(), TreeError> {
        let end = self.cursor + bytes.len();
        self.destination
            .get_mut(self.cursor..end)
            .ok_or(TreeError::NoRoom)?
            .copy_from_slice(bytes);
        self.cursor = end;
        Ok(())
    }

    fn put_u32(&mut self, value: u32) -> Result<(), TreeError> {
        self.put(&value.to_be_bytes())
    }

    /// The `bootargs` property: `value` and a NUL, padded to 4 bytes.
    fn put_bootargs(&mut self, value: &str, name_offset: u32) -> Result<(), TreeError> {
        let length = value.len() + 1;
        self.put_u32(PROPERTY)?;
        self.put_u32(u32::try_from(length).map_err(|_| TreeError::NoRoom)?)?;
        self.put_u32(name_offset)?;
        self.put(value.as_bytes())?;
        let padding = length.next_multiple_of(4) - value.len();
        self.put(&[0; 4][..padding])
    }
}

/// Writes `source` into `destination` with `extra` (start, size) ranges
/// appended to its memory reservation block and, when `bootargs` is
/// given, `/chosen/bootargs` set to it; returns the new tree's size.
///
/// Return values: `Err(Malformed)` for a blob that is not a version ≥ 16
/// device tree, whose blocks lie outside it or whose structure block is
/// not a well-formed token sequence, `Err(NoRoom)` when `destination`
/// cannot hold the result.
pub fn copy_for_kernel(
    source: &[u8],
    extra: impl Iterator<Item = (u64, u64)>,
    bootargs: Option<&str>,
    destination: &mut [u8],
) -> Result<usize, TreeError> {
    if be32(source, 0)? != MAGIC || be32(source, 20)? < 16 {
        return Err(TreeError::Malformed);
    }
    let total = be32(source, 4)? as usize;
    let structure_offset = be32(source, 8)? as usize;
    let strings_offset = be32(source, 12)? as usize;
    let reservations_offset = be32(source, 16)? as usize;
    let strings_size = be32(source, 32)? as usize;
    let structure_size = be32(source, 36)? as usize;
    let block = |offset: usize, size: usize| {
        offset
            .checked_add(size)
            .filter(|end| *end <= total && *end <= source.len())
            .map(|end| &source[offset..end])
            .ok_or(TreeError::Malformed)
    };
    let structure = block(structure_offset, structure_size)?;
    let strings = block(strings_offset, strings_size)?;
    // The name `bootargs` in the strings block, or appended to it.
    let existing_name = strings
        .windows(BOOTARGS.len())
        .position(|window| window == BOOTARGS);
    let name_offset =
        u32::try_from(existing_name.unwrap_or(strings.len())).map_err(|_| TreeError::Malformed)?;
    let bootargs = bootargs.map(|value| (value, name_offset));

    let mut out = Writer {
        destination,
        cursor: HEADER_SIZE,
    };
    // The old reservations first, then ours, then the terminating pair.
    let mut old = reservations_offset;
    loop {
        let (address, size) = (be64(source, old)?, be64(source, old + 8)?);
        if address == 0 && size == 0 {
            break;
        }
        out.put(&address.to_be_bytes())?;
        out.put(&size.to_be_bytes())?;
        old += 16;
    }
    for (address, size) in extra {
        out.put(&address.to_be_bytes())?;
        out.put(&size.to_be_bytes())?;
    }
    out.put(&[0; 16])?;
    let new_structure = out.cursor;
    copy_structure(structure, strings, bootargs, &mut out)?;
    let new_structure_size = out.cursor - new_structure;
    let new_strings = out.cursor;
    out.put(strings)?;
    if bootargs.is_some() && existing_name.is_none() {
        out.put(BOOTARGS)?;
    }
    let new_strings_size = out.cursor - new_strings;
    let new_total = out.cursor;

    // Header: magic, totalsize, off_dt_struct, off_dt_strings,
    // off_mem_rsvmap, version, last_comp_version, boot_cpuid_phys,
    // size_dt_strings, size_dt_struct.
    let header: [u32; 10] = [
        MAGIC,
        new_total as u32,
        new_structure as u32,
        new_strings as u32,
        HEADER_SIZE as u32,
        17,
        16,
        be32(source, 28)?,
        new_strings_size as u32,
        new_structure_size as u32,
    ];
    out.cursor = 0;
    for word in header {
        out.put_u32(word)?;
    }
    Ok(new_total)
}

/// Copies the structure block token by token; with `bootargs` (the value
/// and its name's offset), sets `/chosen/bootargs` as the module doc says.
fn copy_structure(
    structure: &[u8],
    strings: &[u8],
    bootargs: Option<(&str, u32)>,
    out: &mut Writer<'_>,
) -> Result<(), TreeError> {
    let is_bootargs = |name_offset: u32| {
        strings
            .get(name_offset as usize..)
            .is_some_and(|name| name.starts_with(BOOTARGS))
    };
    // Nodes open around the current token: 1 inside the root, 2 inside
    // one of its children, such as `/chosen`.
    let mut depth = 0usize;
    let mut in_chosen = false;
    let mut chosen_seen = false;
    let mut offset = 0;
    loop {
        let token = be32(structure, offset)?;
        let next = match token {
            BEGIN_NODE => {
                let name_start = offset + 4;
                let name_length = structure
                    .get(name_start..)
                    .and_then(|rest| rest.iter().position(|&byte| byte == 0))
                    .ok_or(TreeError::Malformed)?;
                let next = (name_start + name_length + 1).next_multiple_of(4);
                out.put(structure.get(offset..next).ok_or(TreeError::Malformed)?)?;
                depth += 1;
                if depth == 2 && &structure[name_start..name_start + name_length] == b"chosen" {
                    in_chosen = true;
                    chosen_seen = true;
                    if let Some((value, name_offset)) = bootargs {
                        out.put_bootargs(value, name_offset)?;
                    }
                }
                next
            }
            END_NODE => {
                match depth {
                    0 => return Err(TreeError::Malformed),
                    1 if !chosen_seen => {
                        if let Some((value, name_offset)) = bootargs {
                            out.put_u32(BEGIN_NODE)?;
                            out.put(CHOSEN)?;
                            out.put_bootargs(value, name_offset)?;
                            out.put_u32(END_NODE)?;
                        }
                    }
                    2 => in_chosen = false,
                    _ => {}
                }
                depth -= 1;
                out.put_u32(END_NODE)?;
                offset + 4
            }
            PROPERTY => {
                let length = be32(structure, offset + 4)? as usize;
                let name_offset = be32(structure, offset + 8)?;
                let next = (offset + 12)
                    .checked_add(length)
                    .ok_or(TreeError::Malformed)?
                    .next_multiple_of(4);
                let property = structure.get(offset..next).ok_or(TreeError::Malformed)?;
                let replaced =
                    bootargs.is_some() && in_chosen && depth == 2 && is_bootargs(name_offset);
                if !replaced {
                    out.put(property)?;
                }
                next
            }
            NOP => {
                out.put_u32(NOP)?;
                offset + 4
            }
            END if depth == 0 => {
                out.put_u32(END)?;
                return Ok(());
            }
            _ => return Err(TreeError::Malformed),
        };
        offset = next;
    }
}
