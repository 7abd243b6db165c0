//! The `Driver` contract: how the sched role blocks when there is nothing
//! to run, and how any thread wakes it.
//!
//! # The contract (also modelled in `tla/Scheduler.tla`: `SchedPark`,
//! `DriverTimeout`, the unpark half of `PushFront`)
//! 1. `park(timeout)` blocks the calling sched-role holder until `unpark()` is
//!    called, the timeout passes, or spuriously. An `unpark()` that happens
//!    before `park()` is not lost: it makes the next `park()` return at once
//!    (a sticky token, consumed by `park`).
//! 2. `unpark()` may be called from any thread, at any time, any number of
//!    times; it is cheap (one atomic RMW) when nobody is parked.
//! 3. The only effect a driver has on the core is waking tasks (through their
//!    wakers) and returning from `park`. The reactor backend
//!    (`io::reactor::Reactor`, mio/epoll) dispatches readiness to wakers
//!    inside `park` and `poll_events`.
//! 4. `park` and `poll_events` are called only by the sched-role holder.
//! 5. `has_sources()` is `false` only if `poll_events` could report nothing
//!    now (no registered source); any thread may ask. A worker skips a round
//!    only then (`worker.rs` invariant 6), and a role holder with nothing to
//!    run lingers instead of blocking in `park` only then (invariant 7).
//!
//! [`ParkDriver`] is the backend with no I/O: a mutex/condvar parker. It is
//! also the mock that loom and shuttle run (their condvars are modelled).

use crate::shim::atomic::{AtomicUsize, Ordering::*};
use crate::shim::{Condvar, Mutex};
use std::time::Duration;

/// What the scheduler needs from an event source (see the module docs).
pub(crate) trait Driver: Send + Sync + 'static {
    /// Blocks until `unpark`, the timeout, or spuriously (contract 1).
    fn park(&self, timeout: Option<Duration>);
    /// Wakes a current or the next `park` (contract 2).
    fn unpark(&self);
    /// Reports whatever events are ready without blocking (the sched-role
    /// holder calls it on every round, so readiness reaches tasks even when
    /// nobody ever blocks in `park`). No-op for a driver without events.
    fn poll_events(&self) {}
    /// Whether some event source is registered (contract 5). `false` for a
    /// driver without events.
    fn has_sources(&self) -> bool {
        false
    }
}

const EMPTY: usize = 0;
const PARKED: usize = 1;
const NOTIFIED: usize = 2;

/// A parker with a sticky token (the std thread-parker algorithm).
///
/// # Invariants
/// 1. `state` is `EMPTY`, `PARKED` (a thread is, or is about to be, waiting on
///    `cv`) or `NOTIFIED` (a token is pending).
/// 2. The transition to `PARKED` happens under `lock`, and `unpark` takes
///    `lock` before notifying, so a notification cannot fall between the
///    state check and the wait.
pub(crate) struct ParkDriver {
    state: AtomicUsize,
    lock: Mutex<()>,
    cv: Condvar,
}

impl ParkDriver {
    pub(crate) fn new() -> Self {
        ParkDriver {
            state: AtomicUsize::new(EMPTY),
            lock: Mutex::new(()),
            cv: Condvar::new(),
        }
    }
}

impl Driver for ParkDriver {
    /// TLA+: `DriverBlock` (after `SchedPark`'s check in `run_loop`; returning: `DriverTimeout`, or the unpark of `NotifySched`)
    fn park(&self, timeout: Option<Duration>) {
        // Acquire; pairs with the Release half of the swap in `unpark`.
        if self
            .state
            .compare_exchange(NOTIFIED, EMPTY, Acquire, Relaxed)
            .is_ok()
        {
            return;
        }
        if timeout == Some(Duration::ZERO) {
            return;
        }
        let g = self.lock.lock();
        match self.state.compare_exchange(EMPTY, PARKED, Acquire, Acquire) {
            Ok(_) => {}
            Err(NOTIFIED) => {
                // Acquire; pairs with `unpark`.
                self.state.swap(EMPTY, Acquire);
                return;
            }
            Err(s) => panic!("tempo bug: two threads parked in one driver (state {s})"),
        }
        let g = match timeout {
            Some(d) => self.cv.wait_timeout(g, d),
            None => self.cv.wait(g),
        };
        // Consume a token if one arrived; spurious returns are allowed.
        // Acquire; pairs with `unpark`.
        self.state.swap(EMPTY, Acquire);
        drop(g);
    }

    fn unpark(&self) {
        // AcqRel: Release publishes the caller's writes (a pushed task) to
        // the parked thread; pairs with the Acquire in `park`.
        match self.state.swap(NOTIFIED, AcqRel) {
            EMPTY | NOTIFIED => {}
            PARKED => {
                // Taking the lock orders us after the parker's wait started (invariant 2).
                drop(self.lock.lock());
                self.cv.notify_one();
            }
            s => panic!("tempo bug: driver state {s}"),
        }
    }
}
