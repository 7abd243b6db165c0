//! [`Notify`]: wakes one waiting task ([`notify_one`](Notify::notify_one),
//! FIFO, with a stored permit when nobody waits) or all of them
//! ([`notify_waiters`](Notify::notify_waiters)).
//!
//! # What it owns
//! The FIFO of registered [`Notified`] futures (a ticket each, with the
//! waker of its latest poll), the tickets notified but not yet polled, and
//! one stored permit, all in one `State` under the `Notify`'s lock. A
//! future owns its ticket from [`Notify::notified`] (registration happens
//! there, not at the first poll) until it completes or is dropped.
//!
//! # Invariants
//! 1. A ticket is in at most one of `waiters` (registered, not notified)
//!    and `notified` (notified, future not yet polled); tickets are never
//!    reused.
//! 2. `permit ⇒ waiters.is_empty()` after every transition: `notify_one`
//!    stores the permit only when nobody waits, and a new `notified()`
//!    takes a stored permit at once.
//! 3. A notification of `notify_one` (or the permit) is never lost: the
//!    future it went to completes with it, or, dropped first, hands it on
//!    to the next waiter or back to the permit. `notify_waiters` wakes the
//!    futures registered at that moment only and stores no permit; a
//!    future it notified and that is dropped hands nothing on.
//! 4. Wakers are woken and dropped outside the lock (the common invariants
//!    of [`crate::sync`]).
//!
//! # Who touches what
//! `State` (under `Notify::state`): `notified()` registers (or takes the
//! permit), a future's poll takes its notification or refreshes its waker,
//! its drop cancels; `notify_one` / `notify_waiters` move tickets from
//! `waiters` to `notified` and take their wakers, or set `permit`.

use super::WakeList;
use crate::shim::Mutex;
use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// Notifies tasks: [`notified().await`](Notify::notified) waits until a
/// [`notify_one`](Notify::notify_one) picks this waiter (FIFO) or a
/// [`notify_waiters`](Notify::notify_waiters) wakes everyone.
///
/// `notify_one` with nobody waiting stores one permit (not more): the next
/// `notified()` completes at once. A future registers when it is created
/// by `notified()`, so "create the future, check the condition, await" loses
/// no notification sent in between.
///
/// # Examples
/// ```
/// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
/// use std::sync::Arc;
/// use tempo::sync::Notify;
///
/// let rt = tempo::Runtime::new().unwrap();
/// rt.block_on(async {
///     let notify = Arc::new(Notify::new());
///     let n = notify.clone();
///     let waiter = tempo::spawn(async move {
///         n.notified().await;
///         "notified"
///     });
///     notify.notify_one(); // wakes the waiter, or leaves a permit for it
///     assert_eq!(waiter.await.unwrap(), "notified");
/// });
/// # }
/// ```
pub struct Notify {
    state: Mutex<State>,
}

/// Everything under the lock (see the module's invariants).
#[derive(Default)]
struct State {
    /// One stored `notify_one` (invariant 2).
    permit: bool,
    /// Registered futures not yet notified, FIFO by ticket: their wakers.
    waiters: BTreeMap<u64, Option<Waker>>,
    /// Notified futures not yet polled: `true` if by `notify_one` (or the
    /// permit: handed on if dropped), `false` if by `notify_waiters`.
    notified: BTreeMap<u64, bool>,
    /// The next ticket (invariant 1).
    next: u64,
}

impl State {
    /// Hands one notification to the oldest waiter, or stores the permit.
    fn notify_one(&mut self) -> WakeList {
        let mut wake = WakeList::new();
        match self.waiters.pop_first() {
            Some((ticket, w)) => {
                self.notified.insert(ticket, true);
                wake.push(w);
            }
            None => self.permit = true,
        }
        wake
    }
}

impl Notify {
    /// A `Notify` with no waiter and no permit.
    pub fn new() -> Notify {
        Notify {
            state: Mutex::new(State::default()),
        }
    }

    /// A future that completes when this waiter is notified. It is
    /// registered now (before its first poll): a `notify_one` or
    /// `notify_waiters` after this call reaches it. A stored permit is
    /// taken at once.
    ///
    /// # Cancel safety
    /// Cancel-safe: dropping the future leaves the queue; if `notify_one`
    /// (or the permit) had picked it, the notification goes on to the next
    /// waiter or back to the permit, never lost.
    ///
    /// # Panics
    /// Polling the future after it completed panics.
    ///
    /// # Examples
    /// ```
    /// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
    /// let rt = tempo::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let notify = tempo::sync::Notify::new();
    ///     notify.notify_one(); // nobody waits: stored as the permit
    ///     notify.notified().await; // takes it at once
    /// });
    /// # }
    /// ```
    pub fn notified(&self) -> Notified<'_> {
        let mut g = self.state.lock();
        let ticket = g.next;
        g.next += 1;
        if g.permit {
            g.permit = false;
            g.notified.insert(ticket, true);
        } else {
            g.waiters.insert(ticket, None);
        }
        drop(g);
        Notified {
            notify: self,
            ticket: Some(ticket),
        }
    }

    /// Notifies the oldest waiting [`Notified`] future, or stores one permit
    /// for the next `notified()` if none waits (several calls store one).
    ///
    /// # Examples
    /// ```
    /// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
    /// let notify = tempo::sync::Notify::new();
    /// notify.notify_one();
    /// notify.notify_one(); // still one permit
    /// # }
    /// ```
    pub fn notify_one(&self) {
        let wake = self.state.lock().notify_one();
        wake.wake();
    }

    /// Notifies every [`Notified`] future registered now; stores no permit
    /// (later futures wait for the next notification).
    ///
    /// # Examples
    /// ```
    /// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
    /// use std::sync::Arc;
    /// let rt = tempo::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let notify = Arc::new(tempo::sync::Notify::new());
    ///     let a = notify.notified();
    ///     let b = notify.notified();
    ///     notify.notify_waiters();
    ///     a.await;
    ///     b.await;
    /// });
    /// # }
    /// ```
    pub fn notify_waiters(&self) {
        let mut wake = WakeList::new();
        let mut g = self.state.lock();
        for (ticket, w) in std::mem::take(&mut g.waiters) {
            g.notified.insert(ticket, false);
            wake.push(w);
        }
        drop(g);
        wake.wake();
    }
}

impl Default for Notify {
    fn default() -> Self {
        Notify::new()
    }
}

impl fmt::Debug for Notify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let g = self.state.lock();
        f.debug_struct("Notify")
            .field("permit", &g.permit)
            .field("waiters", &g.waiters.len())
            .finish()
    }
}

/// The future of [`Notify::notified`]. Cancel-safe (see there).
#[must_use = "futures do nothing unless polled"]
pub struct Notified<'a> {
    notify: &'a Notify,
    /// `None` once completed.
    ticket: Option<u64>,
}

impl Future for Notified<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let ticket = this
            .ticket
            .expect("a Notified future was polled after it completed");
        let mut g = this.notify.state.lock();
        if g.notified.remove(&ticket).is_some() {
            drop(g);
            this.ticket = None;
            return Poll::Ready(());
        }
        let slot = g
            .waiters
            .get_mut(&ticket)
            .expect("invariant 1: a live ticket is waiting or notified");
        let old = super::store_waker(slot, cx);
        drop(g);
        drop(old);
        Poll::Pending
    }
}

impl Drop for Notified<'_> {
    fn drop(&mut self) {
        let Some(ticket) = self.ticket.take() else {
            return;
        };
        let mut g = self.notify.state.lock();
        let mut wake = WakeList::new();
        let mut old = None;
        match g.notified.remove(&ticket) {
            // Invariant 3: a notify_one's notification goes on.
            Some(true) => wake = g.notify_one(),
            Some(false) => {}
            None => old = g.waiters.remove(&ticket).flatten(),
        }
        drop(g);
        drop(old);
        wake.wake();
    }
}

impl fmt::Debug for Notified<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notified")
            .field("ticket", &self.ticket)
            .finish()
    }
}
