/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/* The trivial Linux program: `cargo xtask bench` times spawning it (a
 * static-PIE glibc program: its start-up, relocation and TLS set-up) against
 * the native `nop`. */
int main(void) { return 0; }
