//! [`Semaphore`]: an asynchronous, FIFO-fair counting semaphore.
//!
//! # What it owns
//! The permit word (`permits.rs`): the count of available permits, whether
//! anyone waits and whether the semaphore is closed; a FIFO queue of
//! waiting acquires (`queue.rs`) in one [`State`] under the semaphore's
//! lock; and the gate word (`gate.rs`): how far the queue has been served.
//! A waiting acquire future owns a [`Wait`]: how
//! many permits it asked for and its ticket in the queue. Permits handed
//! out are owned by a [`SemaphorePermit`] / [`OwnedSemaphorePermit`],
//! which gives them back on drop.
//!
//! # Without the lock
//! While nobody waits, an acquire takes free permits and a release gives
//! them back with one compare-and-swap on the permit word each, without
//! the lock (`permits.rs` invariants 2 and 3: its `WAITERS` bit sends
//! them to the lock as soon as a waiter is queued). A bounded `mpsc`
//! channel's slot costs two RMWs instead of two lock sections
//! (`benches/results/sync.md`, `mpsc-4x25k`).
//!
//! # Hand-over
//! A release grants the head waiter under the lock; when that completes
//! its grant, the waiter leaves the queue and the gate's `served` count
//! moves past its ticket (one `Release` RMW, in the same lock section).
//! The woken waiter's poll sees its ticket served with one `Acquire` load
//! and completes *without the lock*: one lock section per hand-over fewer
//! than taking the grant under the lock (`benches/results/sync.md`,
//! `mutex-8x10k`). Grants complete waiters strictly in ticket order, so a
//! single count describes every full grant not yet collected.
//!
//! # Invariants
//! 1. FIFO: free permits always go to the oldest waiter first; a waiter is
//!    granted permits *partially* while it waits (only the head of the queue
//!    is ever granted, so only it holds a partial grant). Hence, while the
//!    semaphore is open, `!waiters.is_empty() ⇒ permits == 0` (`permits`:
//!    the permit word's count; its `WAITERS` bit says the queue is not
//!    empty, `permits.rs` invariants 1 and 2): a large
//!    request at the head is never overtaken by small ones, and
//!    [`try_acquire`](Semaphore::try_acquire) fails while anyone waits.
//! 2. Conservation: `permits` + the partial grants of queued waiters + the
//!    full grants of served-but-unpolled acquires (ticket below the gate's
//!    `served`) + the permits held by permit objects = the initial count +
//!    every [`add_permits`](Semaphore::add_permits) − every
//!    [`forget`](SemaphorePermit::forget). A cancelled acquire
//!    (future dropped) gives what it was granted back through
//!    [`State::release`], which hands it on to the next waiters: no permit
//!    is lost or leaked.
//! 3. The ticket `t` of a future in `Wait::Queued(t)` is in `waiters`
//!    (still waiting, `remaining > 0`) iff `t >= served` (the gate's
//!    invariant 3); `t < served` means fully granted and not yet taken by
//!    its future. Tickets are never reused. A future that took its grant,
//!    failed or was cancelled is `Wait::Done` and holds no ticket.
//! 4. Once closed, always closed: no waiter is granted after
//!    [`close`](Semaphore::close), every queued or served-but-unpolled
//!    acquire fails with [`AcquireError`] (its poll sees `CLOSED` in the
//!    permit word and goes on under the lock) and returns what it held to
//!    `permits`; a new acquire fails at the permit word; permits already
//!    handed out stay valid and are returned on drop.
//! 5. [`Semaphore::new`] and [`add_permits`](Semaphore::add_permits) never
//!    raise the available permits above `MAX_PERMITS` (they panic, before
//!    any change); permits given back by their holders are only checked
//!    against the permit word's `COUNT_MAX` (`usize::MAX >> 2`, twice
//!    `MAX_PERMITS` and more).
//! 6. The common invariants of [`crate::sync`]: wakers are woken and
//!    dropped outside the lock.
//!
//! # Who touches what
//! `State` (under `Semaphore::state`), every field: acquire futures (a
//! first poll that finds too few permits queues a ticket, a later poll not
//! yet served refreshes its waker, a poll after close fails, drop
//! cancels), permit drops and `add_permits` that find a waiter (`release`:
//! grants from the head of `waiters`), `close` (takes every waiter's
//! waker). `Semaphore::permits`: the lock-free `take` (`try_acquire`, an
//! acquire's first poll) and `give` (permit drops, `add_permits`) while
//! `WAITERS` is clear, the lock's paths (`take_or_wait`, `settle`,
//! `close`) always; read by anyone. `Semaphore::gate`: written under the
//! lock only (`release` advances `served`); read without the lock by a
//! queued acquire's poll. `Wait` is owned by its future alone.

mod error;
mod gate;
mod permits;
mod queue;

pub use self::error::{AcquireError, TryAcquireError};

use self::gate::{GateWord, Granted};
use self::permits::{Closed, Give, PermitWord, Settled, Take, TakeOrWait, COUNT_MAX};
use self::queue::{Queue, Waiter};
use super::{store_waker, WakeList};
use crate::shim::{Arc, Mutex};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// An asynchronous counting semaphore with FIFO fairness.
///
/// [`acquire(n)`](Semaphore::acquire) waits until `n` permits are free and
/// returns a [`SemaphorePermit`] that gives them back when dropped. Waiters
/// are served strictly in arrival order: an acquire of many permits at the
/// head of the queue collects permits as they are released, and acquires
/// behind it wait even if they need fewer.
///
/// The semaphore is runtime-agnostic (plain wakers): it works on tempo, in
/// [`Runtime::block_on`](crate::Runtime::block_on) and on other executors.
///
/// # Examples
/// At most two tasks in the critical section at once:
/// ```
/// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
/// use std::sync::Arc;
/// use tempo::sync::Semaphore;
///
/// let rt = tempo::Runtime::new().unwrap();
/// rt.block_on(async {
///     let sem = Arc::new(Semaphore::new(2));
///     let mut tasks = Vec::new();
///     for i in 0..6 {
///         let sem = sem.clone();
///         tasks.push(tempo::spawn(async move {
///             let _permit = sem.acquire(1).await.unwrap();
///             // ... at most two tasks run this at a time ...
///             i
///         }));
///     }
///     for t in tasks {
///         t.await.unwrap();
///     }
///     assert_eq!(sem.available_permits(), 2);
/// });
/// # }
/// ```
pub struct Semaphore {
    /// Free permits, `WAITERS` and `CLOSED` (`permits.rs`).
    permits: PermitWord,
    /// Served count (`gate.rs`): written under `state`'s lock.
    gate: GateWord,
    state: Mutex<State>,
}

/// Everything under the semaphore's lock (see the module's invariants).
struct State {
    /// Waiting acquires not fully granted, in arrival (ticket) order.
    waiters: Queue,
    /// The next ticket (invariant 3: never reused).
    next_ticket: u64,
}

/// An acquire future's own state.
#[derive(Debug)]
enum Wait {
    /// Not polled yet (holds nothing).
    Init,
    /// Queued under this ticket (see invariant 3).
    Queued(u64),
    /// Completed (its permits are in a permit object, or it failed).
    Done,
}

/// The permit count would pass its limit (`permits.rs` invariant 5):
/// nothing changed.
struct Overflow;

impl State {
    /// Gives `n` permits back under the lock: while the semaphore is open,
    /// to the queue's head waiters first, in order (invariants 1 and 2; a
    /// waiter granted in full leaves the queue and the gate's `served`
    /// count passes its ticket, invariant 3), the rest to the permit word,
    /// whose `WAITERS` bit then says whether anyone still waits
    /// (`permits.rs` invariant 1). Grants nothing once closed (invariant
    /// 4). Returns the wakers of the waiters it completed, or
    /// [`Overflow`] if the count would pass `limit`, checked before any
    /// change (invariant 5).
    fn release(
        &mut self,
        word: &PermitWord,
        gate: &GateWord,
        n: usize,
        limit: usize,
    ) -> Result<WakeList, Overflow> {
        let mut wake = WakeList::new();
        let mut avail = n;
        if !self.waiters.is_empty() && !word.read().closed() {
            // `permits.rs` invariant 2: the count is 0 and the word is
            // ours while we hold the lock, so `n` is all there is.
            if n > limit {
                return Err(Overflow);
            }
            while avail > 0 {
                let Some((ticket, w)) = self.waiters.front_mut() else {
                    break;
                };
                let take = avail.min(w.remaining);
                w.remaining -= take;
                avail -= take;
                if w.remaining == 0 {
                    let w = self.waiters.pop_front().expect("the head");
                    match gate.grant_through(ticket) {
                        Granted::Wake => wake.push(w.waker),
                    }
                }
            }
        }
        debug_assert!(
            self.waiters.is_empty() || avail == 0 || word.read().closed(),
            "invariant 1"
        );
        match word.settle(avail, !self.waiters.is_empty(), limit) {
            Settled::Done => Ok(wake),
            Settled::Overflow => {
                debug_assert!(avail == n, "no grant before an overflow");
                Err(Overflow)
            }
        }
    }

    /// [`release`](State::release) of permits a waiter held (a cancel, a
    /// failed poll after close).
    ///
    /// # Panics
    /// If the count would pass `COUNT_MAX` (checked before any change).
    fn give_back(&mut self, word: &PermitWord, gate: &GateWord, n: usize) -> WakeList {
        match self.release(word, gate, n, COUNT_MAX) {
            Ok(wake) => wake,
            Err(Overflow) => panic!("semaphore permit count overflowed"),
        }
    }

    /// One poll of an acquire of `n` permits in state `wait`, under the
    /// lock (a served one was completed by `Semaphore::poll_wait` before
    /// it). Returns the outcome and a replaced waker to drop after the lock
    /// (invariant 6).
    fn poll_acquire(
        &mut self,
        word: &PermitWord,
        gate: &GateWord,
        n: usize,
        wait: &mut Wait,
        cx: &Context<'_>,
    ) -> (Poll<Result<(), AcquireError>>, Option<Waker>) {
        match *wait {
            Wait::Init => match word.take_or_wait(n) {
                TakeOrWait::Closed => {
                    *wait = Wait::Done;
                    (Poll::Ready(Err(AcquireError(()))), None)
                }
                // Permits freed, or the last waiter gone, between the
                // lock-free `take` and the lock (`n == 0` is answered by
                // that `take` already; `take_or_wait` keeps it as a guard:
                // a queued waiter always needs at least 1, invariant 3).
                TakeOrWait::Taken => {
                    *wait = Wait::Done;
                    (Poll::Ready(Ok(())), None)
                }
                // Invariant 1: with waiters queued `permits` is 0, so only
                // a new head takes a partial grant here.
                TakeOrWait::Wait { partial } => {
                    let ticket = self.next_ticket;
                    self.next_ticket += 1;
                    self.waiters.push(
                        ticket,
                        Waiter {
                            remaining: n - partial,
                            waker: Some(cx.waker().clone()),
                        },
                    );
                    *wait = Wait::Queued(ticket);
                    (Poll::Pending, None)
                }
            },
            Wait::Queued(ticket) => {
                let g = gate.read_locked();
                if word.read().closed() {
                    // Invariant 4: fail, giving back what it held (no
                    // grants after close, so nobody is woken).
                    *wait = Wait::Done;
                    let (held, old) = self.leave(g.served_ticket(ticket), ticket, n);
                    drop(self.give_back(word, gate, held));
                    return (Poll::Ready(Err(AcquireError(()))), old);
                }
                if g.served_ticket(ticket) {
                    // Served between `poll_wait`'s look and the lock.
                    *wait = Wait::Done;
                    return (Poll::Ready(Ok(())), None);
                }
                let w = self
                    .waiters
                    .get_mut(ticket)
                    .expect("invariant 3: an unserved ticket is queued");
                (Poll::Pending, store_waker(&mut w.waker, cx))
            }
            // `poll_wait` panics before it locks (outside the lock).
            Wait::Done => unreachable!("checked by poll_wait"),
        }
    }

    /// Takes a queued acquire of `n` permits holding `ticket` off the books
    /// (`served`: whether the gate has served it, invariant 3). Returns the
    /// permits it held and, if it was still waiting, its waker (for after
    /// the lock).
    fn leave(&mut self, served: bool, ticket: u64, n: usize) -> (usize, Option<Waker>) {
        if served {
            return (n, None);
        }
        let w = self
            .waiters
            .remove(ticket)
            .expect("invariant 3: an unserved ticket is queued");
        (n - w.remaining, w.waker)
    }

    /// Cancels an acquire in state `wait` (its future is dropped): its
    /// ticket leaves the queue and what it was granted goes on to the next
    /// waiters (invariant 2). Returns their wakers and the cancelled
    /// waiter's own waker, both for after the lock.
    fn cancel(
        &mut self,
        word: &PermitWord,
        gate: &GateWord,
        n: usize,
        wait: &mut Wait,
    ) -> (WakeList, Option<Waker>) {
        let Wait::Queued(ticket) = *wait else {
            return (WakeList::new(), None);
        };
        *wait = Wait::Done;
        let served = gate.read_locked().served_ticket(ticket);
        let (held, old) = self.leave(served, ticket, n);
        // Giving back even 0 permits rewrites `WAITERS` (the queue may be
        // empty now: `permits.rs` invariant 1); with 0 nobody is granted.
        (self.give_back(word, gate, held), old)
    }
}

impl Semaphore {
    /// The largest number of permits a semaphore can hold available
    /// (`usize::MAX >> 3`).
    pub const MAX_PERMITS: usize = usize::MAX >> 3;

    /// A semaphore with `permits` available permits.
    ///
    /// # Panics
    /// If `permits` exceeds [`MAX_PERMITS`](Semaphore::MAX_PERMITS).
    ///
    /// # Examples
    /// ```
    /// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
    /// let sem = tempo::sync::Semaphore::new(3);
    /// assert_eq!(sem.available_permits(), 3);
    /// # }
    /// ```
    pub fn new(permits: usize) -> Semaphore {
        assert!(
            permits <= Self::MAX_PERMITS,
            "a semaphore holds at most Semaphore::MAX_PERMITS permits"
        );
        Semaphore {
            permits: PermitWord::new(permits),
            gate: GateWord::new(),
            state: Mutex::new(State {
                waiters: Queue::new(),
                next_ticket: 0,
            }),
        }
    }

    /// The permits available now (not counting those granted to waiters).
    ///
    /// # Examples
    /// ```
    /// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
    /// let sem = tempo::sync::Semaphore::new(3);
    /// let p = sem.try_acquire(2).unwrap();
    /// assert_eq!(sem.available_permits(), 1);
    /// drop(p);
    /// assert_eq!(sem.available_permits(), 3);
    /// # }
    /// ```
    pub fn available_permits(&self) -> usize {
        self.permits.read().count()
    }

    /// Adds `n` permits; they go to waiting acquires first, in FIFO order.
    /// On a closed semaphore they are only counted.
    ///
    /// # Panics
    /// If the available permits would exceed
    /// [`MAX_PERMITS`](Semaphore::MAX_PERMITS).
    ///
    /// # Examples
    /// ```
    /// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
    /// let sem = tempo::sync::Semaphore::new(0);
    /// sem.add_permits(2);
    /// assert_eq!(sem.available_permits(), 2);
    /// # }
    /// ```
    pub fn add_permits(&self, n: usize) {
        if n == 0 {
            return;
        }
        // Checked against the count, which permits returned by holders may
        // have raised above MAX_PERMITS already (invariant 5 bounds only
        // new/add).
        if self.give(n, Self::MAX_PERMITS).is_err() {
            panic!("a semaphore holds at most Semaphore::MAX_PERMITS permits");
        }
    }

    /// Gives `n` permits back (a permit object's drop, the `Mutex`'s
    /// unlock, a channel's freed slot).
    pub(crate) fn release(&self, n: usize) {
        if n == 0 {
            return;
        }
        if self.give(n, COUNT_MAX).is_err() {
            panic!("semaphore permit count overflowed");
        }
    }

    /// Adds `n` permits, keeping the count at most `limit`: without the
    /// lock while nobody waits, else under it, granting waiters first
    /// (`State::release`). Wakes the waiters it completed.
    fn give(&self, n: usize, limit: usize) -> Result<(), Overflow> {
        match self.permits.give(n, limit) {
            Give::Given => Ok(()),
            Give::Overflow => Err(Overflow),
            Give::Locked => {
                let r = self
                    .state
                    .lock()
                    .release(&self.permits, &self.gate, n, limit);
                r.map(WakeList::wake)
            }
        }
    }

    /// Closes the semaphore: every pending acquire and every later acquire
    /// fails with [`AcquireError`] (`try_acquire` with
    /// [`TryAcquireError::Closed`]). Permits already held stay valid and are
    /// returned on drop. Idempotent.
    ///
    /// # Examples
    /// ```
    /// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
    /// let sem = tempo::sync::Semaphore::new(0);
    /// sem.close();
    /// let rt = tempo::Runtime::new().unwrap();
    /// assert!(rt.block_on(sem.acquire(1)).is_err());
    /// # }
    /// ```
    pub fn close(&self) {
        let mut wake = WakeList::new();
        let mut g = self.state.lock();
        match self.permits.close() {
            Closed::WakeAll => {
                for w in g.waiters.values_mut() {
                    wake.push(w.waker.take());
                }
            }
            Closed::Already => {}
        }
        drop(g);
        wake.wake();
    }

    /// Whether [`close`](Semaphore::close) was called.
    pub fn is_closed(&self) -> bool {
        self.permits.read().closed()
    }

    /// Waits for `n` permits (FIFO: behind every acquire that started
    /// waiting before it) and returns them as a [`SemaphorePermit`].
    /// `acquire(0)` succeeds at once on an open semaphore, even while others
    /// wait.
    ///
    /// # Cancel safety
    /// Cancel-safe: dropping the future before it completes removes it from
    /// the queue and hands any permits it had already been granted on to
    /// the next waiters (or back to the semaphore). It loses its place in
    /// the queue.
    ///
    /// # Errors
    /// [`AcquireError`] if the semaphore is closed before the permits are
    /// taken.
    ///
    /// # Panics
    /// If `n` exceeds [`MAX_PERMITS`](Semaphore::MAX_PERMITS) (it could
    /// never be satisfied). Polling the future after it completed panics.
    ///
    /// # Examples
    /// ```
    /// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
    /// let rt = tempo::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let sem = tempo::sync::Semaphore::new(3);
    ///     let two = sem.acquire(2).await.unwrap();
    ///     assert_eq!(two.num_permits(), 2);
    ///     assert_eq!(sem.available_permits(), 1);
    /// });
    /// # }
    /// ```
    pub fn acquire(&self, n: usize) -> Acquire<'_> {
        assert!(n <= Self::MAX_PERMITS, "acquire(n) with n > MAX_PERMITS");
        Acquire {
            sem: self,
            n,
            wait: Wait::Init,
        }
    }

    /// Like [`acquire`](Semaphore::acquire), for a semaphore in an `Arc`:
    /// the permit owns a reference to it (`'static`, may move into a task).
    ///
    /// # Cancel safety
    /// As [`acquire`](Semaphore::acquire): cancel-safe.
    ///
    /// # Errors
    /// [`AcquireError`] if the semaphore is closed.
    ///
    /// # Panics
    /// As [`acquire`](Semaphore::acquire).
    ///
    /// # Examples
    /// ```
    /// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
    /// use std::sync::Arc;
    /// let rt = tempo::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let sem = Arc::new(tempo::sync::Semaphore::new(1));
    ///     let permit = sem.clone().acquire_owned(1).await.unwrap();
    ///     let task = tempo::spawn(async move {
    ///         drop(permit); // released from another task
    ///     });
    ///     task.await.unwrap();
    ///     assert_eq!(sem.available_permits(), 1);
    /// });
    /// # }
    /// ```
    pub fn acquire_owned(self: Arc<Self>, n: usize) -> AcquireOwned {
        assert!(n <= Self::MAX_PERMITS, "acquire(n) with n > MAX_PERMITS");
        AcquireOwned {
            sem: self,
            n,
            wait: Wait::Init,
        }
    }

    /// Takes `n` permits now if they are available and nobody waits before
    /// (FIFO: it never overtakes a waiting acquire; `try_acquire(0)` always
    /// succeeds on an open semaphore).
    ///
    /// # Errors
    /// [`TryAcquireError::Closed`] if closed, [`TryAcquireError::NoPermits`]
    /// if fewer than `n` are free or an acquire is waiting.
    ///
    /// # Examples
    /// ```
    /// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
    /// use tempo::sync::{Semaphore, TryAcquireError};
    /// let sem = Semaphore::new(1);
    /// let p = sem.try_acquire(1).unwrap();
    /// assert_eq!(sem.try_acquire(1).unwrap_err(), TryAcquireError::NoPermits);
    /// drop(p);
    /// assert!(sem.try_acquire(1).is_ok());
    /// # }
    /// ```
    pub fn try_acquire(&self, n: usize) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.try_take(n)?;
        Ok(SemaphorePermit { sem: self, n })
    }

    /// Like [`try_acquire`](Semaphore::try_acquire), for a semaphore in an
    /// `Arc`.
    ///
    /// # Errors
    /// As [`try_acquire`](Semaphore::try_acquire).
    ///
    /// # Examples
    /// ```
    /// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
    /// use std::sync::Arc;
    /// let sem = Arc::new(tempo::sync::Semaphore::new(2));
    /// let p = sem.clone().try_acquire_owned(2).unwrap();
    /// assert_eq!(p.num_permits(), 2);
    /// # }
    /// ```
    pub fn try_acquire_owned(
        self: Arc<Self>,
        n: usize,
    ) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        self.try_take(n)?;
        Ok(OwnedSemaphorePermit { sem: self, n })
    }

    fn try_take(&self, n: usize) -> Result<(), TryAcquireError> {
        match self.permits.take(n) {
            Take::Taken => Ok(()),
            Take::Short => Err(TryAcquireError::NoPermits),
            Take::Closed => Err(TryAcquireError::Closed),
        }
    }

    /// One poll of an acquire future; see [`State::poll_acquire`].
    fn poll_wait(
        &self,
        n: usize,
        wait: &mut Wait,
        cx: &Context<'_>,
    ) -> Poll<Result<(), AcquireError>> {
        let fresh = match *wait {
            Wait::Init => true,
            Wait::Queued(ticket) => {
                // The hand-over without the lock (see the module's doc):
                // served and open, the grant is this future's. Closed, it
                // fails under the lock (invariant 4). Served is read first:
                // a grant comes before the close in the lock's order, so
                // seeing it served and the word open, this poll is ordered
                // before the close.
                let g = self.gate.read();
                if g.served_ticket(ticket) && !self.permits.read().closed() {
                    *wait = Wait::Done;
                    return Poll::Ready(Ok(()));
                }
                false
            }
            // Checked before the lock: a panic hook never runs under it.
            Wait::Done => panic!("a semaphore acquire future was polled after it completed"),
        };
        // Invariant 4 of `tempo::sync`: a new acquire takes a unit of the
        // cooperative budget (a queued one waits anyway).
        if fresh && crate::task::budget::poll_take(cx).is_pending() {
            return Poll::Pending;
        }
        if fresh {
            // Without the lock while permits are free and nobody waits
            // (`permits.rs` invariant 2).
            match self.permits.take(n) {
                Take::Taken => {
                    *wait = Wait::Done;
                    return Poll::Ready(Ok(()));
                }
                Take::Closed => {
                    *wait = Wait::Done;
                    return Poll::Ready(Err(AcquireError(())));
                }
                Take::Short => {}
            }
        }
        let (out, old) = self
            .state
            .lock()
            .poll_acquire(&self.permits, &self.gate, n, wait, cx);
        if fresh && out.is_pending() {
            // Queued: it completed nothing, so it gives its unit back.
            crate::task::budget::refund();
        }
        drop(old);
        out
    }

    /// The drop of an acquire future; see [`State::cancel`].
    fn cancel_wait(&self, n: usize, wait: &mut Wait) {
        if matches!(wait, Wait::Queued(_)) {
            let (wake, old) = self.state.lock().cancel(&self.permits, &self.gate, n, wait);
            drop(old);
            wake.wake();
        }
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let g = self.state.lock();
        let p = self.permits.read();
        f.debug_struct("Semaphore")
            .field("permits", &p.count())
            .field("waiters", &g.waiters.len())
            .field("closed", &p.closed())
            .finish()
    }
}

/// The future of [`Semaphore::acquire`]. Cancel-safe (see there).
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct Acquire<'a> {
    sem: &'a Semaphore,
    n: usize,
    wait: Wait,
}

impl<'a> Future for Acquire<'a> {
    type Output = Result<SemaphorePermit<'a>, AcquireError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let sem = this.sem;
        sem.poll_wait(this.n, &mut this.wait, cx)
            .map_ok(|()| SemaphorePermit { sem, n: this.n })
    }
}

impl Drop for Acquire<'_> {
    fn drop(&mut self) {
        self.sem.cancel_wait(self.n, &mut self.wait);
    }
}

/// The future of [`Semaphore::acquire_owned`]. Cancel-safe (see
/// [`Semaphore::acquire`]).
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct AcquireOwned {
    sem: Arc<Semaphore>,
    n: usize,
    wait: Wait,
}

impl Future for AcquireOwned {
    type Output = Result<OwnedSemaphorePermit, AcquireError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        this.sem
            .poll_wait(this.n, &mut this.wait, cx)
            .map_ok(|()| OwnedSemaphorePermit {
                sem: this.sem.clone(),
                n: this.n,
            })
    }
}

impl Drop for AcquireOwned {
    fn drop(&mut self) {
        self.sem.cancel_wait(self.n, &mut self.wait);
    }
}

/// Permits borrowed from a [`Semaphore`]; dropping it gives them back.
#[must_use = "dropping a permit releases it at once"]
#[derive(Debug)]
pub struct SemaphorePermit<'a> {
    sem: &'a Semaphore,
    n: usize,
}

impl SemaphorePermit<'_> {
    /// How many permits this holds.
    pub fn num_permits(&self) -> usize {
        self.n
    }

    /// Drops the permits without giving them back: the semaphore has `n`
    /// fewer for good.
    ///
    /// # Examples
    /// ```
    /// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
    /// let sem = tempo::sync::Semaphore::new(2);
    /// sem.try_acquire(1).unwrap().forget();
    /// assert_eq!(sem.available_permits(), 1);
    /// # }
    /// ```
    pub fn forget(mut self) {
        self.n = 0;
    }
}

impl Drop for SemaphorePermit<'_> {
    fn drop(&mut self) {
        self.sem.release(self.n);
    }
}

/// Permits of a [`Semaphore`] in an `Arc` (`'static`); dropping it gives
/// them back.
#[must_use = "dropping a permit releases it at once"]
#[derive(Debug)]
pub struct OwnedSemaphorePermit {
    sem: Arc<Semaphore>,
    n: usize,
}

impl OwnedSemaphorePermit {
    /// How many permits this holds.
    pub fn num_permits(&self) -> usize {
        self.n
    }

    /// The semaphore the permits belong to.
    pub fn semaphore(&self) -> &Arc<Semaphore> {
        &self.sem
    }

    /// Drops the permits without giving them back (see
    /// [`SemaphorePermit::forget`]).
    pub fn forget(mut self) {
        self.n = 0;
    }
}

impl Drop for OwnedSemaphorePermit {
    fn drop(&mut self) {
        self.sem.release(self.n);
    }
}

#[cfg(all(test, not(any(tempo_loom, tempo_shuttle))))]
mod tests;
