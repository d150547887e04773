// SPDX-License-Identifier: MIT OR Apache-2.0
//! `struct sysinfo` (`linux/sysinfo.h`): 112 bytes on 64-bit. `uptime`
//! at 0, `loads[3]` at 8, `totalram` … `freeswap` at 32–72, `procs`
//! (u16) at 80, `totalhigh` at 88, `freehigh` at 96, `mem_unit` (u32) at
//! 104, padding to 112. Checked against the host libc.

use super::bytes::{put_i64, put_u16, put_u32, put_u64};

/// Bytes in a `struct sysinfo`.
pub const SYSINFO_SIZE: usize = 112;

/// What `sysinfo` reports; memory sizes are in units of `memory_unit`
/// bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SystemInformation {
    /// Seconds since boot.
    pub uptime_seconds: i64,
    /// 1-, 5- and 15-minute load averages, scaled by 65536.
    pub loads: [u64; 3],
    /// Usable memory.
    pub total_memory: u64,
    /// Free memory.
    pub free_memory: u64,
    /// Shared memory.
    pub shared_memory: u64,
    /// Buffer memory.
    pub buffer_memory: u64,
    /// Swap in total.
    pub total_swap: u64,
    /// Swap free.
    pub free_swap: u64,
    /// Processes.
    pub processes: u16,
    /// Bytes per memory unit.
    pub memory_unit: u32,
}

impl SystemInformation {
    /// The bytes a program reads; high memory is reported as 0.
    pub fn encode(&self) -> [u8; SYSINFO_SIZE] {
        let mut bytes = [0; SYSINFO_SIZE];
        put_i64(&mut bytes, 0, self.uptime_seconds);
        for (index, load) in self.loads.iter().enumerate() {
            put_u64(&mut bytes, 8 + 8 * index, *load);
        }
        put_u64(&mut bytes, 32, self.total_memory);
        put_u64(&mut bytes, 40, self.free_memory);
        put_u64(&mut bytes, 48, self.shared_memory);
        put_u64(&mut bytes, 56, self.buffer_memory);
        put_u64(&mut bytes, 64, self.total_swap);
        put_u64(&mut bytes, 72, self.free_swap);
        put_u16(&mut bytes, 80, self.processes);
        put_u32(&mut bytes, 104, self.memory_unit);
        bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{offset_of, size_of};

    #[test]
    fn layout_matches_the_host_libc() {
        assert_eq!(size_of::<libc::sysinfo>(), SYSINFO_SIZE);
        assert_eq!(offset_of!(libc::sysinfo, uptime), 0);
        assert_eq!(offset_of!(libc::sysinfo, loads), 8);
        assert_eq!(offset_of!(libc::sysinfo, totalram), 32);
        assert_eq!(offset_of!(libc::sysinfo, freeram), 40);
        assert_eq!(offset_of!(libc::sysinfo, sharedram), 48);
        assert_eq!(offset_of!(libc::sysinfo, bufferram), 56);
        assert_eq!(offset_of!(libc::sysinfo, totalswap), 64);
        assert_eq!(offset_of!(libc::sysinfo, freeswap), 72);
        assert_eq!(offset_of!(libc::sysinfo, procs), 80);
        assert_eq!(offset_of!(libc::sysinfo, totalhigh), 88);
        assert_eq!(offset_of!(libc::sysinfo, freehigh), 96);
        assert_eq!(offset_of!(libc::sysinfo, mem_unit), 104);
    }

    #[test]
    fn fields_land_at_their_offsets() {
        let info = SystemInformation {
            uptime_seconds: 7,
            loads: [1, 2, 3],
            total_memory: 0x1000,
            free_memory: 0x800,
            processes: 9,
            memory_unit: 4096,
            ..SystemInformation::default()
        };
        let bytes = info.encode();
        assert_eq!(bytes[0], 7);
        assert_eq!(bytes[24], 3);
        assert_eq!(bytes[33], 0x10);
        assert_eq!(bytes[80], 9);
        assert_eq!(bytes[104..108], 4096u32.to_le_bytes());
    }
}
