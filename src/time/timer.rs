//! [`TimerReg`]: one registration of a deadline in the current task's
//! task-local [`TimerList`](crate::task::local::TimerList).
//!
//! Creating, updating and cancelling a registration is a plain access to the
//! task's own slab: no lock, no shared atomic (see `task/local.rs`).
//!
//! # Invariants
//! 1. `key` names an entry of the owner it was registered with; it is only
//!    used when that owner is current (`local.rs` invariant 2).
//! 2. An entry of the current owner that `key` names but the list no longer
//!    holds has fired: only `take_expired(now)` removes an entry behind the
//!    registration's back, and only when its deadline is `<= now`, a clock
//!    reading already taken. [`TimerReg::poll`] relies on this to answer
//!    the poll that follows a timer's wake without reading the clock.
//! 3. A spawned task's own waker is registered as `None` (not stored): only the task's run
//!    loop fires its entries, while the task runs (`local.rs` invariant 4).
//! 4. An entry is only inserted into the list of an owner whose runtime reads
//!    the timer's own clock ([`Clock::same`]): the list is expired by that
//!    runtime's clock, and invariant 2 compares with it. A timer polled on a
//!    runtime with another clock (a `ManualClock` runtime and a real-clock
//!    one, or two manual clocks) panics, naming the misuse, rather than
//!    fire early or late. (Until the fourteenth session a sleep of a real
//!    clock moved into a manual-clock runtime completed at the first
//!    `advance` past it, an hour early: `tests/time.rs`
//!    `a_timer_polled_on_a_runtime_with_another_clock_panics`.)

use super::clock::Clock;
use crate::task::local::{self, Current, TimerKey};
use crate::task::waker::is_own_waker;
use std::task::{Poll, Waker};
use std::time::Instant;

/// A deadline registered with the current task's timer list.
#[derive(Debug, Default)]
pub(crate) struct TimerReg {
    key: Option<TimerKey>,
}

/// `waker` as stored for the current owner (invariant 3).
fn stored(cur: &Current, waker: &Waker) -> Option<Waker> {
    match cur.running_task() {
        Some(t) if is_own_waker(waker, t) => None,
        _ => Some(waker.clone()),
    }
}

const OTHER_CLOCK: &str = "a tempo timer (sleep, timeout, wait_until) created with one clock \
     was polled on a runtime with another (a `ManualClock` runtime and a real-clock one, or two \
     manual clocks): its deadline cannot be compared with that runtime's clock. Create the \
     timer on the runtime that awaits it";

/// Invariant 4: the current runtime reads `clock`.
fn check_clock(clock: &Clock) {
    assert!(
        crate::runtime::context::clock_is(clock) != Some(false),
        "{OTHER_CLOCK}"
    );
}

const OUTSIDE: &str =
    "a tempo timer (sleep, timeout, wait_until) was polled outside a tempo runtime: \
                       await it inside `Runtime::block_on` or a task spawned on the runtime";

impl TimerReg {
    pub(crate) const fn new() -> Self {
        TimerReg { key: None }
    }

    /// Registers (or refreshes the waker of) a deadline of `clock` with the
    /// current owner.
    ///
    /// # Panics
    /// Outside a tempo task or `block_on`; on a runtime with another clock
    /// (invariant 4).
    pub(crate) fn register(&mut self, deadline: Instant, waker: &Waker, clock: &Clock) {
        let key = self.key;
        // The replaced waker is dropped after `with_owner`'s borrow ends.
        let new = local::with_owner(|cur, l| {
            let w = stored(&cur, waker);
            let id = cur.id();
            match key {
                Some(k) if k.owner == id && l.timers.contains(k) => {
                    (k, l.timers.update_waker(k, w.as_ref()))
                }
                _ => {
                    check_clock(clock);
                    (l.timers.insert(id, deadline, w.as_ref()), None)
                }
            }
        });
        match new {
            Some((k, replaced)) => {
                self.key = Some(k);
                drop(replaced);
            }
            None => panic!("{OUTSIDE}"),
        }
    }

    /// Polls the registration for `deadline`. `elapsed(fresh)` says whether
    /// the deadline has passed, by a clock reading taken now if `fresh`, or
    /// by any past reading otherwise.
    ///
    /// * A fired entry of the current owner: `Ready`, reading no clock
    ///   (invariant 2). This is the poll that follows the timer's wake.
    /// * A live entry of the current owner: `elapsed(true)`; `Ready` (the
    ///   entry removed) or `Pending` with its waker refreshed.
    /// * Not registered, or registered by another owner: `elapsed(false)`;
    ///   `Ready`, or `deadline` registered and `Pending`. A deadline that
    ///   passed after the past reading is thus registered and fires at the
    ///   owner's next run or the next scheduler round: late by that much,
    ///   never early.
    ///
    /// # Panics
    /// Outside a tempo task or `block_on`; on a runtime with another clock
    /// than `clock`, the one `deadline` is of (invariant 4).
    pub(crate) fn poll(
        &mut self,
        deadline: Instant,
        waker: &Waker,
        clock: &Clock,
        mut elapsed: impl FnMut(bool) -> bool,
    ) -> Poll<()> {
        let key = self.key;
        // A replaced or removed waker is dropped after `with_owner`'s borrow ends.
        let r = local::with_owner(|cur, l| {
            let id = cur.id();
            if let Some(k) = key.filter(|k| k.owner == id) {
                if !l.timers.contains(k) {
                    (None, Poll::Ready(()), None)
                } else if elapsed(true) {
                    (None, Poll::Ready(()), l.timers.remove(k))
                } else {
                    let w = stored(&cur, waker);
                    (Some(k), Poll::Pending, l.timers.update_waker(k, w.as_ref()))
                }
            } else if elapsed(false) {
                // (Another owner's entry is left to fire once, harmlessly:
                // `local.rs` invariant 2.)
                (None, Poll::Ready(()), None)
            } else {
                check_clock(clock);
                let w = stored(&cur, waker);
                let k = l.timers.insert(id, deadline, w.as_ref());
                (Some(k), Poll::Pending, None)
            }
        });
        match r {
            Some((k, p, dropped)) => {
                self.key = k;
                drop(dropped);
                p
            }
            None => panic!("{OUTSIDE}"),
        }
    }

    /// Cancels the registration if its owner is current; otherwise leaves the
    /// entry to fire once, harmlessly (invariant 2 of `local.rs`).
    pub(crate) fn deregister(&mut self) {
        if let Some(k) = self.key.take() {
            let w = local::with_local(|id, l| {
                if id == k.owner {
                    l.timers.remove(k)
                } else {
                    None
                }
            })
            .flatten();
            drop(w);
        }
    }
}
