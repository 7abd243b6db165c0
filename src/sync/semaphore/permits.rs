//! The semaphore's permit word: the count of free permits, whether anyone
//! waits for permits, and whether the semaphore is closed, in one atomic
//! word, so that an acquire and a release that find nobody waiting do
//! their work with one RMW and no lock.
//!
//! # What it owns
//! The free permits ([`Permits::count`]), the [`WAITERS`] bit (the
//! semaphore's waiter queue is not empty) and the [`CLOSED`] bit. A bounded
//! `mpsc` send took the semaphore's lock for every slot and its receive
//! once more for every slot it freed (`benches/results/sync.md`,
//! `mpsc-4x25k`); tokio's `batch_semaphore` also takes uncontended permits
//! with a compare-and-swap on an atomic count.
//!
//! # Invariants
//! 1. [`WAITERS`] is set iff the semaphore's waiter queue is not empty. It
//!    changes only under the semaphore's lock ([`PermitWord::take_or_wait`]
//!    sets it with the push of a new waiter, [`PermitWord::settle`] writes
//!    it after a release or a waiter's leaving), so it agrees with the
//!    queue whenever the lock is free.
//! 2. Open and [`WAITERS`] ⇒ `count == 0` (the semaphore's invariant 1).
//!    While [`WAITERS`] is set, only the holder of the lock changes the
//!    word: the lock-free [`PermitWord::take`] fails short (FIFO: it never
//!    overtakes a waiter) and [`PermitWord::give`] leaves the permits to
//!    the lock's path, which grants them to the waiters. While it is clear,
//!    the lock-free transitions may change the count at any time, so the
//!    locked ones are compare-and-swap loops too.
//! 3. No lost wake: a waiter is queued only while [`WAITERS`] is set: by
//!    the compare-and-swap that sets it after seeing too few permits, or
//!    with it already set (then only the lock holder writes the word,
//!    invariant 2); a lock-free release is a compare-and-swap that saw
//!    [`WAITERS`] clear. One of the two comes
//!    first in the word's modification order: either the waiter sees the
//!    released permits (and takes them, wholly or as a partial grant), or
//!    the release sees [`WAITERS`] and hands its permits over under the
//!    lock.
//! 4. [`CLOSED`], once set, stays set; it is set under the lock, by
//!    [`PermitWord::close`]. After it no waiter is granted (the semaphore's
//!    invariant 4), and the lock-free `take` fails.
//! 5. `count <= COUNT_MAX`: a transition that would pass its limit changes
//!    nothing and says so (the semaphore's invariant 5).
//! 6. Every write is an RMW, so the permits' hand-over from a lock-free
//!    release to a lock-free acquire is a release sequence even through
//!    the locked transitions in between.
//!
//! # Who touches what
//! `Semaphore::try_acquire` and an acquire's first poll ([`take`](PermitWord::take),
//! without the lock), a permit's drop and `add_permits` ([`give`](PermitWord::give),
//! without the lock), the lock's paths in `State` (`take_or_wait`,
//! `settle`), `Semaphore::close` (`close`, under the lock); anyone reads it
//! (`available_permits`, `is_closed`, a queued acquire's poll).

use crate::shim::atomic::{AtomicUsize, Ordering};

/// Set once the semaphore is closed (invariant 4). Any combination with the
/// other bits is possible.
const CLOSED: usize = 1;

/// Set while the waiter queue is not empty (invariant 1). With [`CLOSED`]
/// clear, impossible with a non-zero count (invariant 2).
const WAITERS: usize = 1 << 1;

/// The count of free permits sits above the flag bits.
const COUNT_SHIFT: u32 = 2;

/// One permit in the word.
const ONE: usize = 1 << COUNT_SHIFT;

/// The flag bits ([`CLOSED`] and [`WAITERS`]).
const FLAGS: usize = ONE - 1;

/// The largest count the word holds (invariant 5): `2 * MAX_PERMITS + 1`,
/// so permits given back by their holders still fit after one
/// `add_permits` to the maximum. A give-back beyond it panics ("permit
/// count overflowed"): before the word, only `usize` overflow did (about
/// `8 * MAX_PERMITS`); unreachable on 64-bit targets in practice.
pub(super) const COUNT_MAX: usize = usize::MAX >> COUNT_SHIFT;

/// The atomic word (see the module's invariants).
pub(super) struct PermitWord(AtomicUsize);

/// A snapshot of the word.
#[derive(Clone, Copy)]
pub(super) struct Permits(usize);

impl Permits {
    /// Free permits.
    pub(super) fn count(self) -> usize {
        self.0 >> COUNT_SHIFT
    }

    /// Whether the semaphore is closed.
    pub(super) fn closed(self) -> bool {
        self.0 & CLOSED != 0
    }

    /// Whether the waiter queue is not empty (invariant 1): exact under the
    /// lock, a hint without it.
    fn waiting(self) -> bool {
        self.0 & WAITERS != 0
    }

    /// This snapshot with `count` free permits and the [`WAITERS`] bit as
    /// `waiting` ([`CLOSED`] kept).
    fn with(self, count: usize, waiting: bool) -> usize {
        debug_assert!(count <= COUNT_MAX, "invariant 5");
        let flags = (self.0 & FLAGS & !WAITERS) | if waiting { WAITERS } else { 0 };
        (count << COUNT_SHIFT) | flags
    }
}

/// What [`PermitWord::take`] leaves its caller to do.
#[must_use = "a failed take must go on under the lock or report it"]
pub(super) enum Take {
    /// The permits are the caller's.
    Taken,
    /// Too few are free, or someone waits: nothing changed (queue under
    /// the lock, or report `NoPermits`).
    Short,
    /// Closed: nothing changed (fail).
    Closed,
}

/// What [`PermitWord::take_or_wait`] leaves its caller to do.
#[must_use = "a waiter must be queued with its partial grant"]
pub(super) enum TakeOrWait {
    /// The permits are the caller's.
    Taken,
    /// [`WAITERS`] is set and the free permits (`partial`, fewer than
    /// asked) are the caller's: queue it, in the same lock section.
    Wait {
        /// Permits granted to the new waiter at once (0 behind others).
        partial: usize,
    },
    /// Closed: nothing changed (fail).
    Closed,
}

/// What [`PermitWord::give`] leaves its caller to do.
#[must_use = "permits the word did not take must be given back under the lock"]
pub(super) enum Give {
    /// The permits are in the count: done.
    Given,
    /// Someone waits: nothing changed; give them back under the lock
    /// (`State::release` grants them).
    Locked,
    /// The count would pass the limit: nothing changed (panic).
    Overflow,
}

/// What [`PermitWord::settle`] leaves its caller to do.
#[must_use = "an overflow must be reported"]
pub(super) enum Settled {
    /// The count and [`WAITERS`] are written: wake what the grants owe.
    Done,
    /// The count would pass the limit: nothing changed (panic).
    Overflow,
}

/// What [`PermitWord::close`] leaves its caller to do.
#[must_use = "a first close must wake every waiter"]
pub(super) enum Closed {
    /// This call closed it: wake every queued waiter (after the lock).
    WakeAll,
    /// It was closed already: nothing to do.
    Already,
}

impl PermitWord {
    /// Open, nobody waiting, `permits` free (at most [`COUNT_MAX`]).
    pub(super) fn new(permits: usize) -> PermitWord {
        debug_assert!(permits <= COUNT_MAX, "invariant 5");
        PermitWord(AtomicUsize::new(permits << COUNT_SHIFT))
    }

    /// A snapshot. Relaxed: the flags and the count it reports order
    /// nothing (`CLOSED` is set under the lock, which orders what depends
    /// on it; permits are only taken by the RMWs below).
    pub(super) fn read(&self) -> Permits {
        Permits(self.0.load(Ordering::Relaxed))
    }

    /// The compare-and-swap loop behind every transition but `close`:
    /// `next` maps a snapshot to the word to write and the outcome, or to
    /// an outcome that ends the loop without a write (as does a word equal
    /// to the snapshot). `success` is the
    /// ordering of the write (each caller names its partner).
    fn update<T>(
        &self,
        success: Ordering,
        mut next: impl FnMut(Permits) -> Result<(usize, T), T>,
    ) -> T {
        let mut cur = self.read();
        loop {
            let (new, out) = match next(cur) {
                Ok(write) => write,
                Err(out) => return out,
            };
            if new == cur.0 {
                // Nothing moves, so nothing to order or publish: a new
                // acquire queued behind others (`WAITERS` set, count 0) and a release whose grants took every permit, both
                // under the lock, where `WAITERS` keeps the word still
                // (invariant 2); or a no-op (`n == 0`). This saves the
                // contended `Mutex` two RMWs per hand-over.
                return out;
            }
            // Failure Relaxed: the loop only retries from the new value.
            match self
                .0
                .compare_exchange_weak(cur.0, new, success, Ordering::Relaxed)
            {
                Ok(_) => return out,
                Err(v) => cur = Permits(v),
            }
        }
    }

    /// Takes `n` permits without the lock if they are free and nobody
    /// waits (invariant 2); `n == 0` succeeds on an open semaphore even
    /// while others wait (it needs nothing).
    pub(super) fn take(&self, n: usize) -> Take {
        // Acquire: pairs with the Release in `give` and `settle` that put
        // these permits here: their previous holder's writes (a `Mutex`'s
        // value) happen before the new holder's reads.
        self.update(Ordering::Acquire, |cur| {
            if cur.closed() {
                Err(Take::Closed)
            } else if n == 0 {
                Err(Take::Taken)
            } else if cur.waiting() || cur.count() < n {
                Err(Take::Short)
            } else {
                Ok((cur.with(cur.count() - n, false), Take::Taken))
            }
        })
    }

    /// Under the lock, for a new acquire of `n` permits that `take` found
    /// short: takes them if they are free by now and nobody waits, or else
    /// sets [`WAITERS`] and takes what is free as the new waiter's partial
    /// grant (invariant 3; with waiters queued that is 0: invariant 2).
    pub(super) fn take_or_wait(&self, n: usize) -> TakeOrWait {
        // Acquire: as in `take` (the permits taken, wholly or in part).
        self.update(Ordering::Acquire, |cur| {
            if cur.closed() {
                Err(TakeOrWait::Closed)
            } else if n == 0 || (!cur.waiting() && cur.count() >= n) {
                Ok((cur.with(cur.count() - n, cur.waiting()), TakeOrWait::Taken))
            } else {
                let partial = cur.count();
                debug_assert!(partial < n);
                Ok((cur.with(0, true), TakeOrWait::Wait { partial }))
            }
        })
    }

    /// Gives `n` permits back without the lock if nobody waits (invariant
    /// 3), keeping the count at most `limit` (invariant 5).
    pub(super) fn give(&self, n: usize, limit: usize) -> Give {
        debug_assert!(limit <= COUNT_MAX);
        // Release: pairs with the Acquire in `take` and `take_or_wait`
        // (see `take`).
        self.update(Ordering::Release, |cur| {
            if cur.waiting() {
                return Err(Give::Locked);
            }
            match cur.count().checked_add(n).filter(|&c| c <= limit) {
                Some(count) => Ok((cur.with(count, false), Give::Given)),
                None => Err(Give::Overflow),
            }
        })
    }

    /// Under the lock, after a release or a waiter's leaving: adds `add`
    /// permits (what the grants left) to the count, keeping it at most
    /// `limit`, and writes [`WAITERS`] as `waiting` (whether the queue is
    /// still not empty: invariant 1).
    pub(super) fn settle(&self, add: usize, waiting: bool, limit: usize) -> Settled {
        debug_assert!(limit <= COUNT_MAX);
        // Release: pairs with the Acquire in `take` and `take_or_wait`
        // (see `take`).
        self.update(Ordering::Release, |cur| {
            let Some(count) = cur.count().checked_add(add).filter(|&c| c <= limit) else {
                return Err(Settled::Overflow);
            };
            debug_assert!(
                !waiting || count == 0 || cur.closed(),
                "invariant 2: no free permits while open with waiters"
            );
            Ok((cur.with(count, waiting), Settled::Done))
        })
    }

    /// Closes the semaphore. Call it under the lock.
    pub(super) fn close(&self) -> Closed {
        // Relaxed: a lock-free `take` that sees `CLOSED` fails and one that
        // does not is ordered before the close (the word's modification
        // order); a queued acquire's poll that sees it goes on under the
        // lock, which orders the rest.
        if self.0.fetch_or(CLOSED, Ordering::Relaxed) & CLOSED == 0 {
            Closed::WakeAll
        } else {
            Closed::Already
        }
    }
}
