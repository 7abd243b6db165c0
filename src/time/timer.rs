//! [`TimerReg`]: one registration of a deadline in the current task's
//! task-local [`TimerList`](crate::task::local::TimerList).
//!
//! Creating, updating and cancelling a registration is a plain access to the
//! task's own slab: no lock, no shared atomic (see `task/local.rs`).
//!
//! # Invariants
//! 1. `key` names an entry of the owner it was registered with; it is only
//!    used when that owner is current (`local.rs` invariant 2).

use crate::task::local::{self, TimerKey};
use std::task::Waker;
use std::time::Instant;

/// A deadline registered with the current task's timer list.
#[derive(Debug, Default)]
pub(crate) struct TimerReg {
    key: Option<TimerKey>,
}

impl TimerReg {
    pub(crate) const fn new() -> Self {
        TimerReg { key: None }
    }

    /// Registers (or refreshes the waker of) a deadline with the current owner.
    ///
    /// # Panics
    /// Outside a tempo task or `block_on`.
    pub(crate) fn register(&mut self, deadline: Instant, waker: &Waker) {
        let key = self.key;
        // The replaced waker is dropped after `with_local`'s borrow ends.
        let new = local::with_local(|id, l| match key {
            Some(k) if k.owner == id && l.timers.contains(k) => {
                (k, l.timers.update_waker(k, waker))
            }
            _ => (l.timers.insert(id, deadline, waker.clone()), None),
        });
        match new {
            Some((k, replaced)) => {
                self.key = Some(k);
                drop(replaced);
            }
            None => panic!(
                "a tempo timer (sleep, timeout, wait_until) was polled outside a tempo runtime: \
                 await it inside `Runtime::block_on` or a task spawned on the runtime"
            ),
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
