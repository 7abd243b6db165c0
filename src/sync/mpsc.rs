//! A multi-producer, single-consumer FIFO channel: [`channel`] (bounded:
//! senders wait for room) and [`unbounded_channel`].
//!
//! # What it owns
//! One `Chan` per channel, shared by the senders and the receiver through
//! an `Arc`: the queue of messages, the count of live senders, the
//! receiver's closed flag and waker (all under one lock), and, for a
//! bounded channel, a [`Semaphore`] counting its free slots.
//!
//! # Invariants
//! 1. Bounded: `room`'s available permits + the permits held by senders
//!    between their acquire and their push + `queue.len()` = capacity. A
//!    sender takes a slot (a permit) before it pushes; `recv` gives one back
//!    for each message it pops. Senders waiting for room are served in FIFO
//!    order (the semaphore's invariant 1), and `try_send` never overtakes
//!    them.
//! 2. A message enters `queue` only under the lock and only while
//!    `!rx_closed`; otherwise it is handed back to its sender
//!    ([`SendError`] / [`TrySendError::Closed`]). A message in `queue`
//!    leaves it exactly once: popped by the receiver, or dropped by the
//!    receiver's drop (outside the lock). Nothing is lost or duplicated.
//! 3. FIFO per sender: a send returns only after its message is in the
//!    queue, and the queue is popped from the front.
//! 4. `recv` returns `None` exactly when `queue` is empty and either no
//!    sender is left (`senders == 0`) or the receiver closed; it is final.
//! 5. No lost wake: every push and the last sender's drop take `rx_waker`
//!    under the lock that `recv` stores it under. Closing sets `rx_closed`
//!    under the lock *before* it closes `room`: a sender that got a slot
//!    just before sees `rx_closed` when it pushes.
//! 6. The common invariants of [`crate::sync`]: no waker is woken and no
//!    message dropped under the lock.
//!
//! # Who touches what
//! `ChanState` (under `Chan::state`): `queue` is pushed by senders and
//! popped (or drained on drop) by the receiver; `senders` is counted up by
//! clones and down by drops of senders; `rx_closed` is set once by the
//! receiver (`close` or drop), read by senders; `rx_waker` is stored by the
//! receiver's poll, taken by pushes and the last sender's drop. `room`: its
//! own atomic permit word while no sender waits, its own lock otherwise
//! (the semaphore's module doc).

use super::semaphore::Semaphore;
use super::store_waker;
use crate::shim::{Arc, Mutex};
use std::collections::VecDeque;
use std::fmt;
use std::future::poll_fn;
use std::task::{Context, Poll, Waker};

/// A bounded channel with room for `capacity` messages: [`Sender::send`]
/// waits while it is full.
///
/// # Panics
/// If `capacity` is 0 or exceeds [`Semaphore::MAX_PERMITS`].
///
/// # Examples
/// ```
/// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
/// use tempo::sync::mpsc;
///
/// let rt = tempo::Runtime::new().unwrap();
/// rt.block_on(async {
///     let (tx, mut rx) = mpsc::channel(2);
///     let producer = tempo::spawn(async move {
///         for i in 0..10 {
///             tx.send(i).await.unwrap(); // waits while 2 are queued
///         }
///     });
///     let mut got = Vec::new();
///     while let Some(i) = rx.recv().await {
///         got.push(i);
///     }
///     producer.await.unwrap();
///     assert_eq!(got, (0..10).collect::<Vec<_>>());
/// });
/// # }
/// ```
pub fn channel<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    assert!(capacity > 0, "mpsc::channel needs a capacity of at least 1");
    let chan = Chan::new(Some(Semaphore::new(capacity)));
    (Sender { chan: chan.clone() }, Receiver { chan })
}

/// An unbounded channel: [`UnboundedSender::send`] never waits (the queue
/// grows as needed).
///
/// # Examples
/// ```
/// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
/// let rt = tempo::Runtime::new().unwrap();
/// rt.block_on(async {
///     let (tx, mut rx) = tempo::sync::mpsc::unbounded_channel();
///     tx.send("a").unwrap();
///     tx.send("b").unwrap();
///     drop(tx);
///     assert_eq!(rx.recv().await, Some("a"));
///     assert_eq!(rx.recv().await, Some("b"));
///     assert_eq!(rx.recv().await, None);
/// });
/// # }
/// ```
pub fn unbounded_channel<T>() -> (UnboundedSender<T>, Receiver<T>) {
    let chan = Chan::new(None);
    (UnboundedSender { chan: chan.clone() }, Receiver { chan })
}

/// The state shared by a channel's handles.
struct Chan<T> {
    state: Mutex<ChanState<T>>,
    /// Free slots of a bounded channel (invariant 1); `None`: unbounded.
    room: Option<Semaphore>,
}

/// Everything under the channel's lock (see the module's invariants).
struct ChanState<T> {
    queue: VecDeque<T>,
    /// Live senders (bounded or unbounded handles).
    senders: usize,
    /// Set once by the receiver's `close` or drop.
    rx_closed: bool,
    /// The receiver's waker, from its latest pending poll.
    rx_waker: Option<Waker>,
}

impl<T> Chan<T> {
    fn new(room: Option<Semaphore>) -> Arc<Chan<T>> {
        Arc::new(Chan {
            state: Mutex::new(ChanState {
                queue: VecDeque::new(),
                senders: 1,
                rx_closed: false,
                rx_waker: None,
            }),
            room,
        })
    }

    /// Pushes `value` (a bounded sender holds a slot), or hands it back if
    /// the receiver closed, giving the slot back (invariants 2 and 5).
    fn push(&self, value: T) -> Result<(), T> {
        let mut g = self.state.lock();
        if g.rx_closed {
            drop(g);
            self.free_slot();
            return Err(value);
        }
        g.queue.push_back(value);
        let w = g.rx_waker.take();
        drop(g);
        if let Some(w) = w {
            crate::task::waker::wake_contained(w);
        }
        Ok(())
    }

    /// Gives a slot back to a bounded channel's `room` (no-op unbounded).
    fn free_slot(&self) {
        if let Some(room) = &self.room {
            room.release(1);
        }
    }

    fn add_sender(&self) {
        self.state.lock().senders += 1;
    }

    /// A sender's drop: the last one wakes the receiver (invariant 4/5).
    fn drop_sender(&self) {
        let mut g = self.state.lock();
        g.senders -= 1;
        let w = if g.senders == 0 {
            g.rx_waker.take()
        } else {
            None
        };
        drop(g);
        if let Some(w) = w {
            crate::task::waker::wake_contained(w);
        }
    }

    fn is_closed(&self) -> bool {
        self.state.lock().rx_closed
    }
}

/// The sending half of a bounded [`channel`]. Cloneable; the channel
/// stays open while one sender (or the receiver's `close`) is left.
pub struct Sender<T> {
    chan: Arc<Chan<T>>,
}

impl<T> Sender<T> {
    /// Waits for a free slot (FIFO among waiting senders), then queues
    /// `value`.
    ///
    /// # Cancel safety
    /// Dropping the future before it completes sends nothing and frees its
    /// place in the queue of waiting senders (and any slot just granted to
    /// it); the value it owned is dropped with it. Use
    /// [`try_send`](Sender::try_send) to keep the value when the channel
    /// is full.
    ///
    /// # Errors
    /// [`SendError`] with the value if the receiver was dropped or closed.
    ///
    /// # Examples
    /// ```
    /// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
    /// let rt = tempo::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let (tx, rx) = tempo::sync::mpsc::channel(1);
    ///     tx.send(1).await.unwrap();
    ///     drop(rx);
    ///     assert_eq!(tx.send(2).await.unwrap_err().0, 2);
    /// });
    /// # }
    /// ```
    pub async fn send(&self, value: T) -> Result<(), SendError<T>> {
        let room = self.room();
        match room.acquire(1).await {
            Ok(slot) => slot.forget(),
            Err(_) => return Err(SendError(value)),
        }
        self.chan.push(value).map_err(SendError)
    }

    /// Queues `value` if a slot is free now and no sender waits for one.
    ///
    /// # Errors
    /// [`TrySendError::Full`] if the channel is full (or senders wait),
    /// [`TrySendError::Closed`] if the receiver was dropped or closed; both
    /// hand the value back.
    ///
    /// # Examples
    /// ```
    /// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
    /// use tempo::sync::mpsc::{channel, TrySendError};
    /// let (tx, _rx) = channel(1);
    /// tx.try_send(1).unwrap();
    /// assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
    /// # }
    /// ```
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        match self.room().try_acquire(1) {
            Ok(slot) => slot.forget(),
            Err(super::TryAcquireError::NoPermits) => return Err(TrySendError::Full(value)),
            Err(super::TryAcquireError::Closed) => return Err(TrySendError::Closed(value)),
        }
        self.chan.push(value).map_err(TrySendError::Closed)
    }

    /// Whether the receiver was dropped or closed (a send would fail).
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed()
    }

    /// Free slots now (the capacity minus queued and in-flight messages).
    pub fn capacity(&self) -> usize {
        self.room().available_permits()
    }

    fn room(&self) -> &Semaphore {
        self.chan
            .room
            .as_ref()
            .expect("a bounded channel has a room semaphore")
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.chan.add_sender();
        Sender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.chan.drop_sender();
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender").finish_non_exhaustive()
    }
}

/// The sending half of an [`unbounded_channel`]. Cloneable.
pub struct UnboundedSender<T> {
    chan: Arc<Chan<T>>,
}

impl<T> UnboundedSender<T> {
    /// Queues `value` at once (never waits).
    ///
    /// # Errors
    /// [`SendError`] with the value if the receiver was dropped or closed.
    ///
    /// # Examples
    /// ```
    /// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
    /// let (tx, rx) = tempo::sync::mpsc::unbounded_channel();
    /// tx.send(1).unwrap();
    /// drop(rx);
    /// assert_eq!(tx.send(2).unwrap_err().0, 2);
    /// # }
    /// ```
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        self.chan.push(value).map_err(SendError)
    }

    /// Whether the receiver was dropped or closed (a send would fail).
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed()
    }
}

impl<T> Clone for UnboundedSender<T> {
    fn clone(&self) -> Self {
        self.chan.add_sender();
        UnboundedSender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for UnboundedSender<T> {
    fn drop(&mut self) {
        self.chan.drop_sender();
    }
}

impl<T> fmt::Debug for UnboundedSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnboundedSender").finish_non_exhaustive()
    }
}

/// The receiving half of a channel ([`channel`] or [`unbounded_channel`]).
pub struct Receiver<T> {
    chan: Arc<Chan<T>>,
}

impl<T> Receiver<T> {
    /// Waits for the next message; `None` once every sender is dropped (or
    /// the receiver closed) and the queue is empty.
    ///
    /// # Cancel safety
    /// Cancel-safe: a message is taken from the queue only by the poll that
    /// returns it, so dropping the future loses nothing.
    ///
    /// # Examples
    /// ```
    /// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
    /// let rt = tempo::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let (tx, mut rx) = tempo::sync::mpsc::channel(4);
    ///     tempo::spawn(async move { tx.send("hi").await.unwrap() });
    ///     assert_eq!(rx.recv().await, Some("hi"));
    ///     assert_eq!(rx.recv().await, None); // the sender is gone
    /// });
    /// # }
    /// ```
    pub async fn recv(&mut self) -> Option<T> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Polls for the next message (the poll behind [`recv`](Receiver::recv)):
    /// `Ready(None)` when the channel is finished, `Pending` with `cx`'s
    /// waker stored otherwise. Inside a tempo task whose cooperative budget
    /// is spent (`tempo::task::consume_budget`), `Pending` after waking
    /// `cx`'s waker, having taken nothing.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        // Invariant 4 of `tempo::sync`: the cooperative budget.
        if crate::task::budget::poll_take(cx).is_pending() {
            return Poll::Pending;
        }
        let mut g = self.chan.state.lock();
        if let Some(v) = g.queue.pop_front() {
            drop(g);
            self.chan.free_slot();
            return Poll::Ready(Some(v));
        }
        if g.senders == 0 || g.rx_closed {
            return Poll::Ready(None);
        }
        let old = store_waker(&mut g.rx_waker, cx);
        drop(g);
        drop(old);
        // Invariant 4: a receive that completes nothing gives its unit back.
        crate::task::budget::refund();
        Poll::Pending
    }

    /// Takes the next message if one is queued.
    ///
    /// # Errors
    /// [`TryRecvError::Empty`] if none is queued but the channel is open,
    /// [`TryRecvError::Disconnected`] if it is empty and finished (every
    /// sender dropped, or closed).
    ///
    /// # Examples
    /// ```
    /// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
    /// use tempo::sync::mpsc::{unbounded_channel, TryRecvError};
    /// let (tx, mut rx) = unbounded_channel();
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// tx.send(5).unwrap();
    /// drop(tx);
    /// assert_eq!(rx.try_recv(), Ok(5));
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    /// # }
    /// ```
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let mut g = self.chan.state.lock();
        if let Some(v) = g.queue.pop_front() {
            drop(g);
            self.chan.free_slot();
            return Ok(v);
        }
        if g.senders == 0 || g.rx_closed {
            Err(TryRecvError::Disconnected)
        } else {
            Err(TryRecvError::Empty)
        }
    }

    /// Closes the channel for sending: every send from now on (and every
    /// sender waiting for room) fails and hands its value back. Messages
    /// already queued can still be received; then `recv` returns `None`.
    /// Idempotent.
    ///
    /// # Examples
    /// ```
    /// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
    /// let rt = tempo::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let (tx, mut rx) = tempo::sync::mpsc::channel(4);
    ///     tx.send(1).await.unwrap();
    ///     rx.close();
    ///     assert!(tx.send(2).await.is_err());
    ///     assert_eq!(rx.recv().await, Some(1));
    ///     assert_eq!(rx.recv().await, None);
    /// });
    /// # }
    /// ```
    pub fn close(&mut self) {
        // Invariant 5: the flag first, then the room.
        self.chan.state.lock().rx_closed = true;
        if let Some(room) = &self.chan.room {
            room.close();
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.close();
        // Invariant 2: the queued messages are dropped here, outside the lock.
        let queue = std::mem::take(&mut self.chan.state.lock().queue);
        drop(queue);
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver").finish_non_exhaustive()
    }
}

/// The error of a send: the receiver was dropped or closed. Holds the
/// message that was not sent.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SendError<T>(pub T);

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError(..)")
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("channel closed")
    }
}

impl<T> std::error::Error for SendError<T> {}

/// The error of [`Sender::try_send`]; holds the message that was not sent.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum TrySendError<T> {
    /// The channel is full (or senders are waiting for room).
    Full(T),
    /// The receiver was dropped or closed.
    Closed(T),
}

impl<T> TrySendError<T> {
    /// The message that was not sent.
    pub fn into_inner(self) -> T {
        match self {
            TrySendError::Full(v) | TrySendError::Closed(v) => v,
        }
    }
}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("Full(..)"),
            TrySendError::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("channel full"),
            TrySendError::Closed(_) => f.write_str("channel closed"),
        }
    }
}

impl<T> std::error::Error for TrySendError<T> {}

/// The error of [`Receiver::try_recv`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryRecvError {
    /// No message is queued, but senders are left.
    Empty,
    /// No message is queued and none can come (every sender dropped, or
    /// the receiver closed).
    Disconnected,
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("channel empty"),
            TryRecvError::Disconnected => f.write_str("channel closed"),
        }
    }
}

impl std::error::Error for TryRecvError {}
