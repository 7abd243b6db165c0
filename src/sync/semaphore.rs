//! [`Semaphore`]: an asynchronous, FIFO-fair counting semaphore.
//!
//! # What it owns
//! A count of available permits and a FIFO queue of waiting acquires, both
//! in one [`State`] under the semaphore's lock. A waiting acquire future
//! owns a [`Wait`]: how many permits it asked for and its ticket (id) in
//! the queue. Permits handed out are owned by a [`SemaphorePermit`] /
//! [`OwnedSemaphorePermit`], which gives them back on drop.
//!
//! # Invariants
//! 1. FIFO: free permits always go to the oldest waiter first; a waiter is
//!    granted permits *partially* while it waits (only the head of the queue
//!    is ever granted, so only it holds a partial grant). Hence, while the
//!    semaphore is open, `!waiters.is_empty() ⇒ permits == 0`: a large
//!    request at the head is never overtaken by small ones, and
//!    [`try_acquire`](Semaphore::try_acquire) fails while anyone waits.
//! 2. Conservation: `permits` + the partial grants of queued waiters + the
//!    full grants of `granted` waiters + the permits held by permit objects
//!    = the initial count + every [`add_permits`](Semaphore::add_permits) −
//!    every [`forget`](SemaphorePermit::forget). A cancelled acquire
//!    (future dropped) gives what it was granted back through
//!    [`State::release`], which hands it on to the next waiters: no permit
//!    is lost or leaked.
//! 3. A ticket is in at most one of `waiters` (still waiting, `remaining >
//!    0`) and `granted` (fully granted, its future not yet polled); tickets
//!    are never reused. A future whose ticket is in neither has completed.
//! 4. Once closed, always closed: no waiter is granted after
//!    [`close`](Semaphore::close), every queued or granted-but-unpolled
//!    acquire fails with [`AcquireError`] and returns what it held to
//!    `permits`; permits already handed out stay valid and are returned on
//!    drop.
//! 5. [`Semaphore::new`] and [`add_permits`](Semaphore::add_permits) never
//!    raise the available permits above `MAX_PERMITS` (they panic, before
//!    any change); permits given back by their holders are only checked
//!    against `usize` overflow.
//! 6. The common invariants of [`crate::sync`]: wakers are woken and
//!    dropped outside the lock.
//!
//! # Who touches what
//! `State` (under `Semaphore::state`), every field: acquire futures (first
//! poll queues a ticket, later polls take their grant or refresh their
//! waker, drop cancels), permit drops and `add_permits` (`release`:
//! `permits`, then grants from the head of `waiters` into `granted`),
//! `close` (`closed`, takes every waiter's waker), `try_acquire` and
//! `available_permits` (`permits`). `Wait` is owned by its future alone.

use super::{store_waker, WakeList};
use crate::shim::{Arc, Mutex};
use std::collections::VecDeque;
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
    state: Mutex<State>,
}

/// Everything under the semaphore's lock (see the module's invariants).
struct State {
    /// Free permits (invariant 1: 0 while an open semaphore has waiters).
    permits: usize,
    /// Set once by `close` (invariant 4).
    closed: bool,
    /// Waiting acquires not fully granted, in arrival (ticket) order.
    waiters: Queue,
    /// Tickets fully granted whose futures have not yet taken the grant (a
    /// handful at most in practice: each is taken by its future's next
    /// poll; unordered).
    granted: Vec<u64>,
    /// The next ticket (invariant 3: never reused).
    next_ticket: u64,
}

/// The waiting acquires in ticket (arrival) order. Tickets only grow, so a
/// deque is sorted by construction: new waiters go to the back, grants are
/// taken from the front, and a re-poll or a cancel finds its ticket by
/// binary search (a cancel in the middle shifts the rest: rare, and
/// bounded by the queue's length). Unlike the `BTreeMap` it replaces, it
/// allocates only when the queue grows past its largest size so far:
/// a contended `Mutex` handed from task to task allocated a tree node per
/// hand-over (`benches/results/sync.md`).
struct Queue(VecDeque<(u64, Waiter)>);

impl Queue {
    fn new() -> Queue {
        Queue(VecDeque::new())
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    /// Appends a waiter with a ticket above every queued one.
    fn push(&mut self, ticket: u64, w: Waiter) {
        debug_assert!(self.0.back().is_none_or(|(t, _)| *t < ticket));
        self.0.push_back((ticket, w));
    }

    fn position(&self, ticket: u64) -> Option<usize> {
        self.0.binary_search_by_key(&ticket, |(t, _)| *t).ok()
    }

    fn get_mut(&mut self, ticket: u64) -> Option<&mut Waiter> {
        let i = self.position(ticket)?;
        Some(&mut self.0[i].1)
    }

    fn remove(&mut self, ticket: u64) -> Option<Waiter> {
        let i = self.position(ticket)?;
        self.0.remove(i).map(|(_, w)| w)
    }

    fn values_mut(&mut self) -> impl Iterator<Item = &mut Waiter> {
        self.0.iter_mut().map(|(_, w)| w)
    }
}

/// A queued acquire.
struct Waiter {
    /// Permits it still needs (> 0); it holds `n - remaining`.
    remaining: usize,
    /// Its future's waker, from its latest poll.
    waker: Option<Waker>,
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

impl State {
    /// Adds `n` permits and, if open, grants them to the queue's head
    /// waiters in order (invariants 1 and 2). Returns the wakers of the
    /// waiters it completed.
    ///
    /// # Panics
    /// If the count overflows `usize` (checked before any change).
    fn release(&mut self, n: usize) -> WakeList {
        self.permits = self
            .permits
            .checked_add(n)
            .expect("semaphore permit count overflowed usize");
        self.grant()
    }

    /// Hands free permits to the head of the queue until they run out or
    /// the queue is empty (invariant 1). Grants nothing once closed
    /// (invariant 4).
    fn grant(&mut self) -> WakeList {
        let mut wake = WakeList::new();
        if self.closed {
            return wake;
        }
        while self.permits > 0 {
            let Some((_, w)) = self.waiters.0.front_mut() else {
                break;
            };
            let take = self.permits.min(w.remaining);
            w.remaining -= take;
            self.permits -= take;
            if w.remaining == 0 {
                let (ticket, w) = self.waiters.0.pop_front().expect("the head");
                self.granted.push(ticket);
                wake.push(w.waker);
            }
        }
        debug_assert!(self.waiters.is_empty() || self.permits == 0, "invariant 1");
        wake
    }

    /// One poll of an acquire of `n` permits in state `wait`. Returns the
    /// outcome and a replaced waker to drop after the lock (invariant 6).
    fn poll_acquire(
        &mut self,
        n: usize,
        wait: &mut Wait,
        cx: &Context<'_>,
    ) -> (Poll<Result<(), AcquireError>>, Option<Waker>) {
        match *wait {
            Wait::Init => {
                if self.closed {
                    *wait = Wait::Done;
                    return (Poll::Ready(Err(AcquireError(()))), None);
                }
                // `n == 0` needs nothing, so it waits for nobody (a queued
                // waiter always needs at least 1: invariant 3).
                if n == 0 || (self.waiters.is_empty() && self.permits >= n) {
                    self.permits -= n;
                    *wait = Wait::Done;
                    return (Poll::Ready(Ok(())), None);
                }
                // Invariant 1: with waiters queued `permits` is 0, so only
                // a new head takes a partial grant here.
                let take = self.permits.min(n);
                debug_assert!(take < n);
                self.permits -= take;
                let ticket = self.next_ticket;
                self.next_ticket += 1;
                self.waiters.push(
                    ticket,
                    Waiter {
                        remaining: n - take,
                        waker: Some(cx.waker().clone()),
                    },
                );
                *wait = Wait::Queued(ticket);
                (Poll::Pending, None)
            }
            Wait::Queued(ticket) => {
                if self.closed {
                    // Invariant 4: fail, giving back what it held (no
                    // grants after close, so nobody is woken).
                    *wait = Wait::Done;
                    let mut old = None;
                    let held = if self.take_granted(ticket) {
                        n
                    } else if let Some(w) = self.waiters.remove(ticket) {
                        old = w.waker;
                        n - w.remaining
                    } else {
                        unreachable!("invariant 3: a queued ticket is waiting or granted")
                    };
                    drop(self.release(held));
                    return (Poll::Ready(Err(AcquireError(()))), old);
                }
                if self.take_granted(ticket) {
                    *wait = Wait::Done;
                    return (Poll::Ready(Ok(())), None);
                }
                let w = self
                    .waiters
                    .get_mut(ticket)
                    .expect("invariant 3: a queued ticket is waiting or granted");
                (Poll::Pending, store_waker(&mut w.waker, cx))
            }
            // `poll_wait` panics before it locks (outside the lock).
            Wait::Done => unreachable!("checked by poll_wait"),
        }
    }

    /// Takes `ticket` out of `granted`, if it is there.
    fn take_granted(&mut self, ticket: u64) -> bool {
        match self.granted.iter().position(|&t| t == ticket) {
            Some(i) => {
                self.granted.swap_remove(i);
                true
            }
            None => false,
        }
    }

    /// Cancels an acquire in state `wait` (its future is dropped): its
    /// ticket leaves the queue and what it was granted goes on to the next
    /// waiters (invariant 2). Returns their wakers and the cancelled
    /// waiter's own waker, both for after the lock.
    fn cancel(&mut self, n: usize, wait: &mut Wait) -> (WakeList, Option<Waker>) {
        let Wait::Queued(ticket) = *wait else {
            return (WakeList::new(), None);
        };
        *wait = Wait::Done;
        if self.take_granted(ticket) {
            (self.release(n), None)
        } else if let Some(w) = self.waiters.remove(ticket) {
            // Releasing even 0 permits re-runs the grant: harmless.
            (self.release(n - w.remaining), w.waker)
        } else {
            unreachable!("invariant 3: a queued ticket is waiting or granted")
        }
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
            state: Mutex::new(State {
                permits,
                closed: false,
                waiters: Queue::new(),
                granted: Vec::new(),
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
        self.state.lock().permits
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
        let mut g = self.state.lock();
        // Checked: permits returned by holders may have raised the count
        // above MAX_PERMITS already (invariant 5 bounds only new/add).
        // A panic here changes nothing (the shim's lock does not poison).
        let fits = g
            .permits
            .checked_add(n)
            .is_some_and(|t| t <= Self::MAX_PERMITS);
        assert!(
            fits,
            "a semaphore holds at most Semaphore::MAX_PERMITS permits"
        );
        let wake = g.release(n);
        drop(g);
        wake.wake();
    }

    /// Gives `n` permits back (a permit object's drop, the `Mutex`'s
    /// unlock, a channel's freed slot).
    pub(crate) fn release(&self, n: usize) {
        if n == 0 {
            return;
        }
        let wake = self.state.lock().release(n);
        wake.wake();
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
        g.closed = true;
        for w in g.waiters.values_mut() {
            wake.push(w.waker.take());
        }
        drop(g);
        wake.wake();
    }

    /// Whether [`close`](Semaphore::close) was called.
    pub fn is_closed(&self) -> bool {
        self.state.lock().closed
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
        let mut g = self.state.lock();
        if g.closed {
            Err(TryAcquireError::Closed)
        } else if n == 0 || (g.waiters.is_empty() && g.permits >= n) {
            g.permits -= n;
            Ok(())
        } else {
            Err(TryAcquireError::NoPermits)
        }
    }

    /// One poll of an acquire future; see [`State::poll_acquire`].
    fn poll_wait(
        &self,
        n: usize,
        wait: &mut Wait,
        cx: &Context<'_>,
    ) -> Poll<Result<(), AcquireError>> {
        // Invariant 4 of `tempo::sync`: a new acquire takes a unit of the
        // cooperative budget (a queued one waits anyway).
        // Checked before the lock: a panic hook never runs under it.
        assert!(
            !matches!(wait, Wait::Done),
            "a semaphore acquire future was polled after it completed"
        );
        let fresh = matches!(wait, Wait::Init);
        if fresh && crate::task::budget::poll_take(cx).is_pending() {
            return Poll::Pending;
        }
        let (out, old) = self.state.lock().poll_acquire(n, wait, cx);
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
            let (wake, old) = self.state.lock().cancel(n, wait);
            drop(old);
            wake.wake();
        }
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let g = self.state.lock();
        f.debug_struct("Semaphore")
            .field("permits", &g.permits)
            .field("waiters", &g.waiters.len())
            .field("closed", &g.closed)
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

/// The error of [`Semaphore::acquire`]: the semaphore was closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcquireError(());

impl fmt::Display for AcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("semaphore closed")
    }
}

impl std::error::Error for AcquireError {}

/// The error of [`Semaphore::try_acquire`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryAcquireError {
    /// The semaphore was closed.
    Closed,
    /// Not enough permits are free now, or an acquire waits before.
    NoPermits,
}

impl fmt::Display for TryAcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryAcquireError::Closed => f.write_str("semaphore closed"),
            TryAcquireError::NoPermits => f.write_str("no permits available"),
        }
    }
}

impl std::error::Error for TryAcquireError {}

#[cfg(all(test, not(any(tempo_loom, tempo_shuttle))))]
mod tests {
    use super::*;
    use std::task::Wake;

    struct Flag(crate::shim::atomic::AtomicBool);
    impl Wake for Flag {
        fn wake(self: Arc<Self>) {
            // SeqCst: a test flag, read after the wake.
            self.0.store(true, crate::shim::atomic::Ordering::SeqCst);
        }
    }

    fn flag() -> (Arc<Flag>, Waker) {
        let f = Arc::new(Flag(crate::shim::atomic::AtomicBool::new(false)));
        (f.clone(), Waker::from(f))
    }

    fn woken(f: &Flag) -> bool {
        // SeqCst: as above.
        f.0.load(crate::shim::atomic::Ordering::SeqCst)
    }

    /// A head waiter needing 3 collects permits partially; a later waiter
    /// for 1 is not served before it (invariant 1).
    #[test]
    fn head_collects_partial_grants_first() {
        let sem = Semaphore::new(1);
        let (fa, wa) = flag();
        let (fb, wb) = flag();
        let mut a = Box::pin(sem.acquire(3));
        let mut b = Box::pin(sem.acquire(1));
        assert!(a.as_mut().poll(&mut Context::from_waker(&wa)).is_pending());
        assert!(b.as_mut().poll(&mut Context::from_waker(&wb)).is_pending());
        assert_eq!(sem.available_permits(), 0, "the head holds the free permit");
        sem.add_permits(1);
        assert!(!woken(&fa) && !woken(&fb));
        sem.add_permits(2);
        assert!(woken(&fa) && woken(&fb), "a granted 3, b granted the last");
        let pa = a.as_mut().poll(&mut Context::from_waker(&wa));
        assert!(matches!(pa, Poll::Ready(Ok(ref p)) if p.num_permits() == 3));
        drop(pa);
        drop(b);
        assert_eq!(sem.available_permits(), 4, "b's grant went back");
    }

    /// Cancelling the head hands its partial grant on (invariant 2).
    #[test]
    fn cancelled_head_hands_partial_grant_on() {
        let sem = Semaphore::new(2);
        let (_fa, wa) = flag();
        let (fb, wb) = flag();
        let mut a = Box::pin(sem.acquire(3));
        let mut b = Box::pin(sem.acquire(2));
        assert!(a.as_mut().poll(&mut Context::from_waker(&wa)).is_pending());
        assert!(b.as_mut().poll(&mut Context::from_waker(&wb)).is_pending());
        drop(a);
        assert!(woken(&fb));
        let pb = b.as_mut().poll(&mut Context::from_waker(&wb));
        assert!(matches!(pb, Poll::Ready(Ok(_))));
        drop(pb);
        assert_eq!(sem.available_permits(), 2);
    }
}
