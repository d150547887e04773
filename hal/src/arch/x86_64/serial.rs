// SPDX-License-Identifier: MIT OR Apache-2.0
//! The 16550 UART on COM1: the console of every PC-like machine, QEMU's
//! `-nographic` and `-serial` included.
//!
//! COM1's eight registers sit at I/O ports `0x3f8`–`0x3ff`, its interrupt
//! is ISA IRQ 4 (routed through the I/O APIC, see [`super::io_apic`]).
//! Register map and bits: *National Semiconductor PC16550D* datasheet,
//! Table II. The port is set to 115200 baud, 8 data bits, no parity, one
//! stop bit, FIFOs on — what QEMU ignores and real hardware needs.
//!
//! Port I/O needs no mapping, so the console works from the first
//! instruction of `boot_main`, before any page table of ours exists.

use core::sync::atomic::{AtomicBool, Ordering};
use x86_64::instructions::port::Port;

/// COM1's base port.
const COM1: u16 = 0x3f8;

// Register offsets from the base (with DLAB = 0 unless noted).
const DATA: u16 = 0; // receive buffer / transmit holding
const INTERRUPT_ENABLE: u16 = 1; // bit 0: received data available
const DIVISOR_LOW: u16 = 0; // with DLAB = 1
const DIVISOR_HIGH: u16 = 1; // with DLAB = 1
const FIFO_CONTROL: u16 = 2; // write-only; reads give the interrupt identity
const LINE_CONTROL: u16 = 3; // word length, parity, stop bits, DLAB (bit 7)
const MODEM_CONTROL: u16 = 4; // DTR, RTS, OUT1, OUT2, loopback
const LINE_STATUS: u16 = 5; // data ready, errors, transmitter empty

// Line status bits.
/// A received byte waits in the receive buffer (or FIFO).
const DATA_READY: u8 = 1 << 0;
/// The transmit holding register (or FIFO) can take a byte.
const TRANSMIT_HOLDING_EMPTY: u8 = 1 << 5;

/// Set once the port has been initialised; before that, output is dropped.
static READY: AtomicBool = AtomicBool::new(false);

fn write_register(offset: u16, value: u8) {
    let mut port = Port::<u8>::new(COM1 + offset);
    // SAFETY: COM1's registers are plain device registers with no memory
    // effects; writing them affects only the UART.
    unsafe { port.write(value) }
}

fn read_register(offset: u16) -> u8 {
    let mut port = Port::<u8>::new(COM1 + offset);
    // SAFETY: as in `write_register`; reading the data register consumes
    // a received byte, which is what the callers want.
    unsafe { port.read() }
}

/// Programs the UART: 115200 8N1, FIFOs on, interrupts off.
pub fn init() {
    write_register(INTERRUPT_ENABLE, 0);
    write_register(LINE_CONTROL, 0x80); // DLAB: divisor latch access
    write_register(DIVISOR_LOW, 1); // 115200 / 1
    write_register(DIVISOR_HIGH, 0);
    write_register(LINE_CONTROL, 0x03); // 8 bits, no parity, 1 stop bit
    write_register(FIFO_CONTROL, 0xc7); // enable and clear FIFOs, 14-byte trigger
                                        // DTR, RTS, and OUT2, which gates the UART's interrupt onto the ISA
                                        // line on PC hardware (and in QEMU's model).
    write_register(MODEM_CONTROL, 0x0b);
    READY.store(true, Ordering::Release);
}

/// Writes bytes, turning `\n` into `\r\n`. Spins while the transmitter is busy.
pub fn write_bytes(bytes: &[u8]) {
    if !READY.load(Ordering::Acquire) {
        return;
    }
    for &byte in bytes {
        if byte == b'\n' {
            put(b'\r');
        }
        put(byte);
    }
}

fn put(byte: u8) {
    // A bounded wait: a missing UART reads 0xff (transmitter "empty"), a
    // wedged one must not hang the kernel forever.
    let mut tries = 0u32;
    while read_register(LINE_STATUS) & TRANSMIT_HOLDING_EMPTY == 0 && tries < 1_000_000 {
        tries += 1;
        core::hint::spin_loop();
    }
    write_register(DATA, byte);
}

/// Whether a received byte is waiting.
pub fn has_byte() -> bool {
    if !READY.load(Ordering::Acquire) {
        return false;
    }
    let status = read_register(LINE_STATUS);
    // 0xff: no UART at all (an unclaimed port reads all ones).
    status != 0xff && status & DATA_READY != 0
}

/// Takes one received byte, if any.
pub fn read_byte() -> Option<u8> {
    has_byte().then(|| read_register(DATA))
}

/// Enables the "received data available" interrupt. Reading the data
/// register until it is empty clears it (PC16550D, Table IV), which is
/// what the kernel's handler does.
pub fn enable_receive_interrupt() {
    set_receive_interrupt(true);
}

/// Enables (`true`) or disables (`false`) the "received data available"
/// interrupt: IER bit 0, the only one this driver uses. Disabled, the
/// UART stops requesting the interrupt (its IIR shows none pending) and
/// received bytes wait in the FIFO; re-enabled with data waiting, the
/// request is raised again (PC16550D, Table IV: the condition is the
/// data, IER only gates it; QEMU's model re-evaluates it on an IER write),
/// a rising edge on the edge-triggered ISA line.
pub fn set_receive_interrupt(enabled: bool) {
    write_register(INTERRUPT_ENABLE, u8::from(enabled));
}
