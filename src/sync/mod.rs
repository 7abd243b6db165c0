//! Asynchronous synchronisation primitives (DESIGN.md layer 7, cnetmod's
//! "Mutex, channel, semaphore"): [`Semaphore`], [`Mutex`], [`mpsc`] and
//! [`oneshot`] channels, and [`Notify`].
//!
//! They are runtime-agnostic: a waiting future stores the plain
//! [`Waker`] of the context that polled it, so they work
//! on tempo's workers, inside [`Runtime::block_on`](crate::Runtime::block_on)
//! and on any other executor.
//!
//! Every async method documents its *cancel safety*: what happens when its
//! future is dropped before it completes (by `select!`, a timeout, or
//! [`JoinHandle::abort`](crate::JoinHandle::abort)). None of them loses a
//! permit, a lock or a message that was handed to a future that is then
//! dropped.
//!
//! ```
//! # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
//! use std::sync::Arc;
//! use tempo::sync::{mpsc, Mutex};
//!
//! let rt = tempo::Runtime::new().unwrap();
//! let total = rt.block_on(async {
//!     let counter = Arc::new(Mutex::new(0u32));
//!     let (tx, mut rx) = mpsc::channel(4);
//!     for i in 0..8u32 {
//!         let (counter, tx) = (counter.clone(), tx.clone());
//!         tempo::spawn(async move {
//!             *counter.lock().await += i;
//!             tx.send(i).await.unwrap();
//!         });
//!     }
//!     drop(tx);
//!     let mut received = 0;
//!     while let Some(_) = rx.recv().await {
//!         received += 1;
//!     }
//!     assert_eq!(received, 8);
//!     let total = *counter.lock().await;
//!     total
//! });
//! assert_eq!(total, 28);
//! # }
//! ```
//!
//! # How they are built
//! Each primitive keeps its whole state under one lock of the sync shim
//! (`crate::shim::Mutex`), so loom explores them like the rest of tempo.
//! One exception: the [`Semaphore`] keeps its free permits in an atomic
//! word, so that an acquire and a release that find nobody waiting need no
//! lock (`semaphore/permits.rs`: a bit in that word sends them to the lock
//! while anyone waits), and publishes its grants in an atomic gate word
//! (written only under its lock), so that a waiter woken by a hand-over
//! collects its permits without taking the lock again
//! (`semaphore/gate.rs`).
//! Simple and correct beats clever here: a state change is one method on
//! the locked state that returns the `WakeList` of wakers the caller
//! owes a wake, and the caller wakes them after it released the lock (the
//! semaphore's lock-free take and give while nobody waits are the one
//! exception, through the named transitions of its permit word).
//! [`Mutex`] is a one-permit [`Semaphore`]; a bounded [`mpsc`] channel
//! counts its free slots with a [`Semaphore`], which makes waiting senders
//! FIFO-fair.
//!
//! # Invariants (common to every primitive)
//! 1. No waker is woken or dropped under a primitive's lock: transitions
//!    hand wakers to the caller (a `WakeList`, or the one waker a channel
//!    transition owes); a waker replaced by a new
//!    poll is dropped after the lock is released. (A waker is only cloned
//!    under the lock, which the `Waker` contract allows.)
//! 2. No user value (a message, a permit holder's data) is dropped under a
//!    primitive's lock.
//! 3. A pending future's waker is stored under the same lock as the state
//!    it waits for, and every transition that can satisfy it takes that
//!    waker under the lock: no wakeup is lost. (The semaphore's lock-free
//!    give cannot satisfy a waiter: while any waiter is queued its permit
//!    word has `WAITERS` set, which sends every give to the lock,
//!    `semaphore/permits.rs` invariant 3.)
//! 4. *Cooperative budget* (`task/budget.rs`): [`mpsc::Receiver::recv`]
//!    and the first poll of a semaphore acquire (hence [`Mutex::lock`] and
//!    a bounded [`mpsc::Sender::send`]) take a unit of the polling task's
//!    budget before they touch the state; with the budget spent they wake
//!    the task and return `Pending` having changed nothing, so a channel
//!    that is never empty, or a lock taken and released in a loop, cannot
//!    keep a task from yielding (the task continues at its next run). An
//!    acquire already queued takes no unit: it waits anyway. A receive or
//!    acquire that returns `Pending` for its state (empty channel, no
//!    permits) gives its unit back: only completed operations count. Outside
//!    a tempo task nothing is counted.
//! 5. Every wake a primitive owes is contained: a waker whose `wake`
//!    panics (the panic is caught and dropped, as the runtime does with the
//!    wakers it fires) neither keeps the rest of a batch (a grant to several
//!    waiters, `close`, `notify_waiters`) from being woken, where a waiter
//!    already granted its permits and never woken would wait forever, nor
//!    unwinds out of a send, a close or a drop (a caller that caught the
//!    panic of a `send` whose message was already queued would send it
//!    twice; a drop during an unwind would abort).

mod mutex;
mod notify;
mod semaphore;

pub mod mpsc;
pub mod oneshot;

pub use mutex::{Mutex, MutexGuard, OwnedMutexGuard, TryLockError};
pub use notify::{Notified, Notify};
pub use semaphore::{
    Acquire, AcquireError, AcquireOwned, OwnedSemaphorePermit, Semaphore, SemaphorePermit,
    TryAcquireError,
};

use std::task::Waker;

/// The wakers a transition owes a wake (invariant 1): filled under a
/// primitive's lock, woken by the caller after it released the lock.
///
/// The first waker is kept inline: most transitions owe one wake (a
/// `Mutex` handed to its next waiter, a slot freed for one sender), and a
/// `Vec` would allocate and free a buffer for it on every hand-over of a
/// contended `Mutex` (`benches/results/sync.md`, `mutex-8x10k`).
#[must_use = "the wakers must be woken, after the lock is released"]
#[derive(Default)]
pub(crate) struct WakeList {
    /// The first waker added.
    first: Option<Waker>,
    /// The others, in the order they were added (allocated only for a
    /// second one).
    rest: Vec<Waker>,
}

impl WakeList {
    /// An empty list (no allocation).
    pub(crate) fn new() -> WakeList {
        WakeList {
            first: None,
            rest: Vec::new(),
        }
    }

    /// Adds `w`, if any.
    pub(crate) fn push(&mut self, w: Option<Waker>) {
        let Some(w) = w else { return };
        if self.first.is_none() {
            self.first = Some(w);
        } else {
            self.rest.push(w);
        }
    }

    /// Wakes every waker, in the order they were added. Call it with no
    /// primitive's lock held. A waker whose `wake` panics does not keep the
    /// others from being woken (its panic is caught and dropped, as the
    /// runtime does with every waker it fires: `task/waker.rs` invariant 3):
    /// a waiter already granted its permits and never woken would hang.
    pub(crate) fn wake(self) {
        for w in self.first.into_iter().chain(self.rest) {
            crate::task::waker::wake_contained(w);
        }
    }
}

/// Stores `cx`'s waker in `slot` unless the one there already wakes the
/// same task; returns the replaced waker, which the caller drops after it
/// released the lock (invariant 1).
pub(crate) fn store_waker(slot: &mut Option<Waker>, cx: &std::task::Context<'_>) -> Option<Waker> {
    match slot {
        Some(w) if w.will_wake(cx.waker()) => None,
        _ => slot.replace(cx.waker().clone()),
    }
}
