// SPDX-License-Identifier: MIT OR Apache-2.0
//! The ext2 block map: from a file's logical block to a device block.
//!
//! `i_block` holds 12 direct pointers, then the roots of a single, a double
//! and a triple indirect tree; each indirect block is an array of
//! `block_size / 4` pointers, and 0 means a hole. This module finds a
//! logical block ([`FileSystem::map_block`]), allocates missing blocks along
//! the way ([`FileSystem::map_or_allocate`]), and frees every block past a
//! new end of file ([`FileSystem::free_blocks_from`]).
//!
//! Hostile trees cannot run away: the depth is fixed at three, every pointer
//! is range-checked before it is read, and freeing descends only into
//! indirect blocks still marked in use, within a visit budget of the file
//! system's block count, so a tree that points back at itself ends with
//! [`Error::Corrupt`] instead of looping.

use alloc::vec::Vec;

use crate::bytes::{bit_is_set, read_u32, write_u32};
use crate::cache::BlockClass;
use crate::device::BlockDevice;
use crate::error::{Error, Result};
use crate::filesystem::FileSystem;
use crate::inode::{Inode, InodeFlags};

/// Index of the single indirect root in `i_block`.
const SINGLE_INDIRECT: usize = 12;
/// Number of direct pointers.
const DIRECT_POINTERS: u64 = 12;

/// A run of a file found by [`FileSystem::map_run`], as far as its pointer
/// block maps it contiguously (past what was asked): a sequential reader's
/// next calls map from it without walking the tree or scanning pointers
/// again. It holds while the cache's contents are unchanged
/// ([`crate::BlockCache::changes`]): any write, allocation or release
/// changes them.
#[derive(Clone, Copy, Debug)]
pub(crate) struct MappedRun {
    inode: u32,
    changes: u64,
    logical: u64,
    device: u32,
    count: u64,
}

/// Where a logical block's pointer lives.
#[derive(Clone, Copy, Debug)]
struct BlockPath {
    /// Index in `i_block`.
    root: usize,
    /// Indexes inside each indirect level.
    indexes: [u32; 3],
    /// Number of indirect levels (0 for direct).
    depth: usize,
}

impl<D: BlockDevice> FileSystem<D> {
    fn block_path(&self, logical: u64) -> Result<BlockPath> {
        let pointers = u64::from(self.geometry.pointers_per_block());
        if logical < DIRECT_POINTERS {
            return Ok(BlockPath {
                root: logical as usize,
                indexes: [0; 3],
                depth: 0,
            });
        }
        let mut rest = logical - DIRECT_POINTERS;
        if rest < pointers {
            return Ok(BlockPath {
                root: SINGLE_INDIRECT,
                indexes: [rest as u32, 0, 0],
                depth: 1,
            });
        }
        rest -= pointers;
        if rest < pointers * pointers {
            return Ok(BlockPath {
                root: SINGLE_INDIRECT + 1,
                indexes: [(rest / pointers) as u32, (rest % pointers) as u32, 0],
                depth: 2,
            });
        }
        rest -= pointers * pointers;
        if rest < pointers * pointers * pointers {
            return Ok(BlockPath {
                root: SINGLE_INDIRECT + 2,
                indexes: [
                    (rest / (pointers * pointers)) as u32,
                    ((rest / pointers) % pointers) as u32,
                    (rest % pointers) as u32,
                ],
                depth: 3,
            });
        }
        Err(Error::FileTooLarge)
    }

    /// Refuses inodes whose `i_block` is not a block map.
    fn require_block_map(&self, inode: &Inode) -> Result<()> {
        let flags = inode.flags();
        if flags.intersects(InodeFlags::EXTENTS | InodeFlags::INLINE_DATA) {
            return Err(Error::corrupt_inode(
                "inode uses extents or inline data on an ext2 file system",
                inode.number.get(),
            ));
        }
        if !inode.has_block_map() {
            return Err(Error::InvalidArgument);
        }
        Ok(())
    }

    /// The device block holding logical block `logical` of `inode`, or `None`
    /// for a hole.
    ///
    /// Return values: the mapping, [`Error::Corrupt`] for a pointer outside
    /// the file system, [`Error::FileTooLarge`] past the triple indirect
    /// tree, or [`Error::Device`].
    pub(crate) fn map_block(&mut self, inode: &Inode, logical: u64) -> Result<Option<u32>> {
        self.require_block_map(inode)?;
        let path = self.block_path(logical)?;
        let mut pointer = inode.block_pointer(path.root);
        for level in 0..path.depth {
            if pointer == 0 {
                return Ok(None);
            }
            self.check_block(pointer, inode.number)?;
            let data = self
                .cache
                .read(&mut self.device, pointer, BlockClass::Metadata)?;
            let index = path.indexes.get(level).copied().unwrap_or(0) as usize;
            pointer = read_u32(data, index * 4);
        }
        if pointer == 0 {
            return Ok(None);
        }
        self.check_block(pointer, inode.number)?;
        Ok(Some(pointer))
    }

    /// Maps logical blocks `logical..logical + max` as far as they are
    /// mapped to consecutive device blocks, reading the pointers from one
    /// pointer block (or the inode) instead of walking the tree per block:
    /// `Some((first device block, count))` with `1 <= count <= max`, or
    /// `None` when `logical` is a hole. The count stops at a hole, a
    /// discontinuity, the end of the pointer block, or `max`. The whole
    /// run (not only `max` of it) is remembered ([`MappedRun`]), so the
    /// next calls of a sequential reader find it without a walk.
    ///
    /// Return values: as [`Self::map_block`].
    pub(crate) fn map_run(
        &mut self,
        inode: &Inode,
        logical: u64,
        max: u64,
    ) -> Result<Option<(u32, u64)>> {
        if let Some(run) = self.last_run {
            if run.inode == inode.number.get()
                && run.changes == self.cache.changes()
                && logical >= run.logical
                && logical - run.logical < run.count
            {
                let skip = logical - run.logical;
                return Ok(Some((
                    run.device + skip as u32,
                    (run.count - skip).min(max).max(1),
                )));
            }
        }
        let Some((first, count)) = self.map_run_walk(inode, logical)? else {
            return Ok(None);
        };
        self.last_run = Some(MappedRun {
            inode: inode.number.get(),
            changes: self.cache.changes(),
            logical,
            device: first,
            count,
        });
        Ok(Some((first, count.min(max).max(1))))
    }

    /// [`Self::map_run`] by walking the tree: the run from `logical` as
    /// far as its pointer block (or the inode) maps it contiguously.
    fn map_run_walk(&mut self, inode: &Inode, logical: u64) -> Result<Option<(u32, u64)>> {
        let Some(first) = self.map_block(inode, logical)? else {
            return Ok(None);
        };
        let path = self.block_path(logical)?;
        let mut count = 1u64;
        if path.depth == 0 {
            while path.root + (count as usize) < SINGLE_INDIRECT
                && Some(inode.block_pointer(path.root + count as usize))
                    == first.checked_add(count as u32)
            {
                count += 1;
            }
            return Ok(Some((first, count)));
        }
        // The pointer block holding `logical`'s pointer: walk to it (every
        // block on the way was just checked and cached by `map_block`).
        let mut pointer = inode.block_pointer(path.root);
        for level in 0..path.depth - 1 {
            let data = self
                .cache
                .read(&mut self.device, pointer, BlockClass::Metadata)?;
            let index = path.indexes.get(level).copied().unwrap_or(0) as usize;
            pointer = read_u32(data, index * 4);
        }
        let pointers = self.geometry.pointers_per_block() as usize;
        let index = path.indexes.get(path.depth - 1).copied().unwrap_or(0) as usize;
        let data = self
            .cache
            .read(&mut self.device, pointer, BlockClass::Metadata)?;
        // The pointers after `logical`'s, while each is one more than the
        // last (a tight loop: this scan is most of a long read's mapping).
        let following = data.get((index + 1) * 4..pointers * 4).unwrap_or(&[]);
        let mut expected = first;
        for pointer in following.chunks_exact(4) {
            let Some(next) = expected.checked_add(1) else {
                break;
            };
            if u32::from_le_bytes([pointer[0], pointer[1], pointer[2], pointer[3]]) != next {
                break;
            }
            expected = next;
            count += 1;
        }
        // The run lies between two valid blocks, so all of it is valid.
        self.check_block(first + (count as u32 - 1), inode.number)?;
        Ok(Some((first, count)))
    }

    /// Whether the remembered run ([`MappedRun`]) maps all of logical
    /// blocks `first .. first + count` of `inode`: then mapping them reads
    /// no pointer block.
    pub(crate) fn run_covers(&self, inode: &Inode, first: u64, count: u64) -> bool {
        self.last_run.is_some_and(|run| {
            run.inode == inode.number.get()
                && run.changes == self.cache.changes()
                && first >= run.logical
                && first.saturating_add(count) <= run.logical + run.count
        })
    }

    /// The pointer blocks that mapping logical blocks `first .. first +
    /// count` of `inode` would have to read from the device, as far as
    /// the cache can tell without reading anything: each pointer block
    /// that is not cached but whose parent (or the inode) is. A long
    /// sequential read asks this for the stretch it will read next and
    /// fetches those blocks together with its own data, so the next read
    /// does not stop for them.
    pub(crate) fn pointer_blocks_to_fetch(
        &self,
        inode: &Inode,
        first: u64,
        count: u64,
    ) -> Vec<u32> {
        let mut found: Vec<u32> = Vec::new();
        if self.require_block_map(inode).is_err() {
            return found;
        }
        let pointers = u64::from(self.geometry.pointers_per_block());
        let end = first.saturating_add(count);
        let mut logical = first;
        while logical < end {
            let Ok(path) = self.block_path(logical) else {
                break;
            };
            let mut pointer = inode.block_pointer(path.root);
            for level in 0..path.depth {
                if pointer == 0 || !self.geometry.is_valid_block(pointer) {
                    break;
                }
                let Some(data) = self.cache.peek(pointer) else {
                    if !found.contains(&pointer) {
                        found.push(pointer);
                    }
                    break;
                };
                let index = path.indexes.get(level).copied().unwrap_or(0) as usize;
                pointer = read_u32(data, index * 4);
            }
            // On to the first block mapped by another last-level pointer
            // block (or the first indirect one, from the direct pointers).
            logical = match path.depth {
                0 => DIRECT_POINTERS,
                depth => {
                    let index = path.indexes.get(depth - 1).copied().unwrap_or(0);
                    logical + (pointers - u64::from(index)).max(1)
                }
            };
        }
        found
    }

    /// Adds one block to the inode's sector count.
    fn add_block_sectors(&self, inode: &mut Inode) {
        let sectors = self.geometry.block_size / 512;
        inode.set_sectors(inode.sectors().saturating_add(sectors));
    }

    /// Takes one block off the inode's sector count.
    fn remove_block_sectors(&self, inode: &mut Inode) {
        let sectors = self.geometry.block_size / 512;
        inode.set_sectors(inode.sectors().saturating_sub(sectors));
    }

    /// Maps logical block `logical`, allocating it (and missing indirect
    /// blocks) near `goal` when it is a hole. New indirect blocks are zeroed;
    /// a new data block is *not* initialised: the caller writes it whole.
    /// The caller stores `inode` afterwards.
    ///
    /// Return values: `(block, newly_allocated)`, [`Error::NoSpace`],
    /// [`Error::Corrupt`], [`Error::FileTooLarge`] or [`Error::Device`].
    pub(crate) fn map_or_allocate(
        &mut self,
        inode: &mut Inode,
        logical: u64,
        goal: u32,
    ) -> Result<(u32, bool)> {
        self.require_block_map(inode)?;
        let path = self.block_path(logical)?;
        let mut goal = goal;
        let mut pointer = inode.block_pointer(path.root);
        if pointer == 0 {
            let block = self.allocate_block(goal)?;
            self.add_block_sectors(inode);
            inode.set_block_pointer(path.root, block);
            if path.depth == 0 {
                return Ok((block, true));
            }
            self.cache
                .zeroed(&mut self.device, block, BlockClass::Metadata)?;
            pointer = block;
            goal = block.saturating_add(1);
        } else {
            self.check_block(pointer, inode.number)?;
            if path.depth == 0 {
                return Ok((pointer, false));
            }
        }
        for level in 0..path.depth {
            let index = path.indexes.get(level).copied().unwrap_or(0) as usize;
            let last = level + 1 == path.depth;
            let entry = read_u32(
                self.cache
                    .read(&mut self.device, pointer, BlockClass::Metadata)?,
                index * 4,
            );
            if entry != 0 {
                self.check_block(entry, inode.number)?;
                if last {
                    return Ok((entry, false));
                }
                pointer = entry;
                continue;
            }
            let block = self.allocate_block(goal)?;
            self.add_block_sectors(inode);
            if !last {
                self.cache
                    .zeroed(&mut self.device, block, BlockClass::Metadata)?;
            }
            let parent = self
                .cache
                .write(&mut self.device, pointer, BlockClass::Metadata)?;
            write_u32(parent, index * 4, block);
            if last {
                return Ok((block, true));
            }
            pointer = block;
            goal = block.saturating_add(1);
        }
        Err(Error::corrupt_inode(
            "block map walk ended early",
            inode.number.get(),
        ))
    }

    /// Frees every block of `inode` at logical index `keep` and beyond, and
    /// every indirect block left empty. The caller stores `inode` afterwards.
    ///
    /// Return values: `Ok(())`, [`Error::Corrupt`] for a damaged tree, or
    /// [`Error::Device`].
    pub(crate) fn free_blocks_from(&mut self, inode: &mut Inode, keep: u64) -> Result<()> {
        self.require_block_map(inode)?;
        for index in keep.min(DIRECT_POINTERS)..DIRECT_POINTERS {
            let block = inode.block_pointer(index as usize);
            if block != 0 {
                self.free_block(block, inode.number)?;
                inode.set_block_pointer(index as usize, 0);
                self.remove_block_sectors(inode);
            }
        }
        let pointers = u64::from(self.geometry.pointers_per_block());
        let mut base = DIRECT_POINTERS;
        let mut span = pointers;
        let mut budget = u64::from(self.geometry.blocks_count);
        for depth in 1..=3usize {
            let root = SINGLE_INDIRECT + depth - 1;
            let block = inode.block_pointer(root);
            if block != 0 && keep < base + span {
                let empty = self.free_subtree(inode, block, depth, base, keep, &mut budget)?;
                if empty {
                    self.free_block(block, inode.number)?;
                    inode.set_block_pointer(root, 0);
                    self.remove_block_sectors(inode);
                }
            }
            base += span;
            span = span.saturating_mul(pointers);
        }
        Ok(())
    }

    /// Frees the part of the indirect tree rooted at `block` (depth `depth`,
    /// first logical block `base`) that lies at `keep` or beyond. Returns
    /// whether the tree is now empty, so the caller can free `block` too.
    fn free_subtree(
        &mut self,
        inode: &mut Inode,
        block: u32,
        depth: usize,
        base: u64,
        keep: u64,
        budget: &mut u64,
    ) -> Result<bool> {
        self.check_block(block, inode.number)?;
        if *budget == 0 {
            return Err(Error::corrupt_inode(
                "indirect block tree revisits blocks",
                inode.number.get(),
            ));
        }
        *budget -= 1;
        if !self.block_in_use(block)? {
            return Err(Error::corrupt_block(
                "indirect block not marked in use",
                inode.number.get(),
                u64::from(block),
            ));
        }
        let pointers = u64::from(self.geometry.pointers_per_block());
        let child_span = pointers.pow(depth as u32 - 1);
        let mut entries: Vec<u8> = self
            .cache
            .read(&mut self.device, block, BlockClass::Metadata)?
            .into();
        let mut all_empty = true;
        let mut modified = false;
        for index in 0..pointers as usize {
            let entry = read_u32(&entries, index * 4);
            if entry == 0 {
                continue;
            }
            let child_base = base + index as u64 * child_span;
            if child_base + child_span <= keep {
                all_empty = false;
                continue;
            }
            let child_empty = if depth == 1 {
                true
            } else {
                self.free_subtree(inode, entry, depth - 1, child_base, keep, budget)?
            };
            if child_empty {
                self.free_block(entry, inode.number)?;
                self.remove_block_sectors(inode);
                write_u32(&mut entries, index * 4, 0);
                modified = true;
            } else {
                all_empty = false;
            }
        }
        if modified && !all_empty {
            let target = self
                .cache
                .write(&mut self.device, block, BlockClass::Metadata)?;
            target.copy_from_slice(&entries);
        }
        Ok(all_empty)
    }

    /// Whether `block`'s bitmap bit is set.
    pub(crate) fn block_in_use(&mut self, block: u32) -> Result<bool> {
        let group = self.geometry.group_of_block(block);
        if !self.groups.is_valid(group) {
            return Ok(false);
        }
        let index = (block - self.geometry.group_first_block(group)) as usize;
        let bitmap_block = self.groups.block_bitmap(group);
        let bitmap = self
            .cache
            .read(&mut self.device, bitmap_block, BlockClass::Metadata)?;
        Ok(bit_is_set(bitmap, index))
    }
}
