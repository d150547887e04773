// SPDX-License-Identifier: MIT OR Apache-2.0
//! Inode generations from a persistent counter.
//!
//! A host names an object by (inode number, `i_generation`) and must get
//! `ESTALE`, never another object, once the number has been freed and
//! reused (DESIGN §4, object lifetime). So every allocation takes the next
//! value of a counter kept in the superblock — ext2l's word at byte 0x3F8,
//! the last word of ext4's `s_reserved` (see the README's "On-disk
//! extensions") — written back with the superblock at `sync`, so the
//! values keep increasing across mounts. Successive occupants of one
//! inode number therefore get increasing generations; on top of that a new
//! generation always differs from the one the slot held before (read from
//! the slot before it is cleared), which covers a counter that wrapped or
//! a slot written by another implementation.
//!
//! `mkfs` starts the counter at 1. A volume made before the counter
//! existed reads 0 there: its first allocation starts the counter at the
//! mount's clock (or 1 without a clock), values unrelated to the ones the
//! old scheme (inode number and time mixed) produced. 0 is never handed
//! out, so it can keep meaning "not started".

use crate::device::BlockDevice;
use crate::filesystem::FileSystem;

impl<D: BlockDevice> FileSystem<D> {
    /// Takes the next generation for a new occupant of a slot whose
    /// previous occupant had `previous`, and advances the counter.
    pub(crate) fn take_generation(&mut self, previous: u32) -> u32 {
        let mut generation = self.superblock.next_generation();
        if generation == 0 {
            generation = self.now().max(1);
        }
        // At most two steps: past 0 (a wrapped counter) and past `previous`.
        while generation == 0 || generation == previous {
            generation = generation.wrapping_add(1);
        }
        let mut next = generation.wrapping_add(1);
        if next == 0 {
            next = 1;
        }
        self.superblock.set_next_generation(next);
        self.superblock_dirty = true;
        generation
    }
}

#[cfg(test)]
mod tests {
    use crate::device::MemoryDevice;
    use crate::filesystem::MountOptions;
    use crate::format::{format, FormatOptions};

    fn clock() -> u32 {
        1_700_000_000
    }

    fn file_system() -> crate::FileSystem<MemoryDevice> {
        let options = FormatOptions {
            uuid: [3; 16],
            ..FormatOptions::default()
        };
        let mount = MountOptions {
            clock,
            ..MountOptions::default()
        };
        format(MemoryDevice::new(2 << 20), &options, mount).unwrap()
    }

    #[test]
    fn the_counter_advances_and_skips_the_previous_value_and_zero() {
        let mut file_system = file_system();
        let start = file_system.superblock.next_generation();
        assert_eq!(file_system.take_generation(0), start);
        assert_eq!(file_system.take_generation(start + 1), start + 2);
        file_system.superblock.set_next_generation(u32::MAX);
        assert_eq!(file_system.take_generation(u32::MAX), 1);
        assert_eq!(file_system.superblock.next_generation(), 2);
        file_system.superblock.set_next_generation(u32::MAX);
        assert_eq!(file_system.take_generation(0), u32::MAX);
        assert_eq!(file_system.superblock.next_generation(), 1);
    }

    #[test]
    fn a_volume_without_a_counter_starts_at_the_clock() {
        let mut file_system = file_system();
        file_system.superblock.set_next_generation(0);
        assert_eq!(file_system.take_generation(0), clock());
        assert_eq!(file_system.superblock.next_generation(), clock() + 1);
    }
}
