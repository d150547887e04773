// SPDX-License-Identifier: MIT OR Apache-2.0
//! When to start the login shell again: the back-off after failed starts.
//!
//! [`Restarts`] is told how each login shell ended and how long it lived
//! ([`Restarts::record`]) and answers with an [`Outcome`]: start a new one
//! now, after a pause, or give up. A shell *fails at start* when it was
//! killed, or exited with a non-zero status, within [`Policy::start_window`]
//! of being started: a damaged program, a missing library of the shell's
//! root, a fault on the first instruction. The pause after the Nth failure
//! in a row is `delay × 2^(N-1)`, capped at [`MAXIMUM_DELAY`] (or `delay`,
//! if that is longer); the `failures`th failure in a row gives up. A
//! status 0 — the person at the console ended the shell with Ctrl-D or
//! `exit 0` — and any shell that outlived the window reset the count.
//!
//! Pure logic, no system calls: `main` measures and sleeps.

use core::time::Duration;
use manux_runtime::abi::wait_status::WaitStatus;

/// The longest pause between two starts, however many failures.
pub const MAXIMUM_DELAY: Duration = Duration::from_secs(60);

/// How init restarts a login shell that keeps failing.
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    /// Failures at start in a row that end the session (at least 1).
    pub failures: u32,
    /// The pause after the first failure, and after a quick status 0.
    pub delay: Duration,
    /// A shell that ended sooner than this after its start failed at
    /// start (unless its status was 0).
    pub start_window: Duration,
}

impl Default for Policy {
    /// 5 failures, from a 1 s pause, within a 1 s window.
    fn default() -> Self {
        Policy {
            failures: 5,
            delay: Duration::from_secs(1),
            start_window: Duration::from_secs(1),
        }
    }
}

/// What to do after a login shell ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It did not fail: start a new one after `pause` (a quick status 0,
    /// so that a shell that ends at once does not flood the console), or
    /// at once.
    Restart { pause: Option<Duration> },
    /// It failed at start, `failures` times in a row: start a new one
    /// after `pause`.
    Retry { failures: u32, pause: Duration },
    /// It failed at start `failures` times in a row, as many as the policy
    /// allows: stop.
    GiveUp { failures: u32 },
}

/// The count of failures at start in a row, under a [`Policy`].
#[derive(Debug)]
pub struct Restarts {
    policy: Policy,
    failures: u32,
}

impl Restarts {
    pub fn new(policy: Policy) -> Self {
        Restarts {
            policy,
            failures: 0,
        }
    }

    /// A login shell ended with `status` after living `lived`: counts it
    /// and says what to do next.
    pub fn record(&mut self, status: WaitStatus, lived: Duration) -> Outcome {
        let quick = lived < self.policy.start_window;
        if !quick || status == WaitStatus::Exited(0) {
            self.failures = 0;
            let pause = quick.then_some(self.policy.delay);
            return Outcome::Restart { pause };
        }
        self.failures = self.failures.saturating_add(1);
        if self.failures >= self.policy.failures.max(1) {
            return Outcome::GiveUp {
                failures: self.failures,
            };
        }
        Outcome::Retry {
            failures: self.failures,
            pause: self.pause(self.failures),
        }
    }

    /// The pause after the `failures`th failure in a row: the delay,
    /// doubled each time, capped.
    fn pause(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(31);
        let cap = MAXIMUM_DELAY.max(self.policy.delay);
        self.policy
            .delay
            .checked_mul(1u32 << doublings)
            .map_or(cap, |pause| pause.min(cap))
    }
}
