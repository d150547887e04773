// SPDX-License-Identifier: MIT OR Apache-2.0
//! The login session: how init and the login shell talk.
//!
//! Only init may power the machine off (DESIGN §6). The shell's `poweroff`
//! builtin ends the session by exiting with [`POWER_OFF_REQUEST`]; init
//! sees that status from `wait`, syncs and powers off. When the login
//! shell ends with any other status, init starts a new one — backing off,
//! and in the end powering off with status 1, if it keeps failing at
//! start (see `apps/init`).

/// The exit status of a login shell that asks init to power off.
pub const POWER_OFF_REQUEST: u8 = 254;

/// The user the default image is built for.
pub const DEFAULT_USER: &str = "user";
