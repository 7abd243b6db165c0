//! The semaphore's gate word: what a queued acquire reads without taking
//! the semaphore's lock.
//!
//! # What it owns
//! One atomic word: how far the queue has been *served* (every ticket
//! below [`Gate::served`] that a queued acquire still holds has been
//! granted in full). Whether the semaphore is closed is in the permit word
//! (`permits.rs`), which a queued acquire's poll reads after this one. A
//! hand-over writes the grant
//! here, under the lock, so that the woken waiter's poll collects it with
//! one `Acquire` load instead of a second lock section (tokio's
//! `batch_semaphore` writes the grant into the waiter's node for the same
//! reason).
//!
//! # Invariants
//! 1. Written only under the semaphore's lock (`State`), by
//!    [`GateWord::grant_through`]; hence a read
//!    under the lock ([`GateWord::read_locked`]) sees the latest value.
//!    Read without the lock only by a queued acquire's poll
//!    ([`GateWord::read`]).
//! 2. `served` only grows; once the semaphore is closed (`permits.rs`,
//!    `CLOSED`) it no longer changes (no grants after close: the
//!    semaphore's invariant 4).
//! 3. For a queued acquire's ticket `t`: `t < served` ⇔ `t` left the
//!    waiter queue granted in full (the semaphore's invariant 3). Grants
//!    complete waiters in ticket order (FIFO), so a served prefix of the
//!    tickets describes them all.
//!
//! # Who touches what
//! `State::release` (`grant_through`, under the lock), everything under
//! the lock reads it (`read_locked`), a queued acquire's poll reads it
//! before the lock (`read`).

use crate::shim::atomic::{AtomicU64, Ordering};

/// The atomic word (see the module's invariants).
pub(super) struct GateWord(AtomicU64);

/// A snapshot of the word.
#[derive(Clone, Copy)]
pub(super) struct Gate(u64);

impl Gate {
    /// How far the queue is served (invariant 3).
    pub(super) fn served(self) -> u64 {
        // The whole word (tickets stay below 2^64 - 1: centuries of
        // waits at one per nanosecond).
        self.0
    }

    /// Whether a queued acquire holding `ticket` was granted in full
    /// (invariant 3), whether the semaphore is closed or not.
    pub(super) fn served_ticket(self, ticket: u64) -> bool {
        ticket < self.served()
    }
}

/// What [`GateWord::grant_through`] leaves its caller to do.
#[must_use = "the granted waiter must be woken, after the lock is released"]
pub(super) enum Granted {
    /// Wake the waiter just granted in full (after the lock).
    Wake,
}

impl GateWord {
    /// Open, nothing served.
    pub(super) fn new() -> GateWord {
        GateWord(AtomicU64::new(0))
    }

    /// Records that the waiter holding `ticket` (the queue's head) was
    /// granted in full. Call it under the lock, with the semaphore open
    /// (invariant 2).
    pub(super) fn grant_through(&self, ticket: u64) -> Granted {
        debug_assert!(ticket < u64::MAX, "tickets stay below 2^64 - 1");
        // Release: pairs with the Acquire in `read`: the waiter that sees
        // its ticket served sees everything before the grant (the permits'
        // previous holder's writes, e.g. a `Mutex`'s value). A swap (the
        // cheapest RMW, no compare loop): only grants write the word, under
        // the lock.
        let old = self.0.swap(ticket + 1, Ordering::Release);
        debug_assert!(old <= ticket, "invariants 2 and 3: FIFO grants");
        Granted::Wake
    }

    /// A snapshot without the lock (a queued acquire's poll).
    pub(super) fn read(&self) -> Gate {
        // Acquire: pairs with the Release in `grant_through`.
        Gate(self.0.load(Ordering::Acquire))
    }

    /// A snapshot under the semaphore's lock (invariant 1: it sees every
    /// write).
    pub(super) fn read_locked(&self) -> Gate {
        // Relaxed: every write is made under the lock the caller holds,
        // whose acquisition ordered it before this load.
        Gate(self.0.load(Ordering::Relaxed))
    }
}
