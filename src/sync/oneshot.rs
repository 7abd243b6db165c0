//! A one-shot channel: one value from one [`Sender`] to one [`Receiver`].
//!
//! # What it owns
//! One `Inner` per channel, shared by the two halves through an `Arc`: the
//! value once sent, whether the sender finished (sent or dropped), whether
//! the receiver closed (closed or dropped), and each side's waker, all under
//! one lock.
//!
//! # Invariants
//! 1. `tx_done` and `rx_closed` are set once and never cleared.
//! 2. A value is stored only under the lock while `!rx_closed`; otherwise
//!    [`Sender::send`] hands it back. A stored value leaves exactly once:
//!    taken by the receiver, or dropped by the receiver's drop (outside the
//!    lock). `value.is_some() ⇒ tx_done`.
//! 3. The receiver resolves to `Ok` if a value was stored, and to
//!    [`RecvError`] once no value can come: `tx_done` without a value (the
//!    sender was dropped, or its send failed), or `rx_closed` without one.
//! 4. No lost wake: `send` and the sender's drop take `rx_waker` under the
//!    lock the receiver stores it under; `close` and the receiver's drop
//!    take `tx_waker`, which [`Sender::closed`] stores under the same lock.
//! 5. The common invariants of [`crate::sync`]: no waker woken and no value
//!    dropped under the lock.
//!
//! # Who touches what
//! `State` (under `Inner::state`): `value` and `tx_done` are written by the
//! sender (`send`, drop), `value` taken by the receiver (poll, `try_recv`,
//! drop); `rx_closed` is set by the receiver (`close`, drop) and read by
//! the sender; `rx_waker` is stored by the receiver's poll and taken by
//! the sender; `tx_waker` is stored by `Sender::closed` and taken by the
//! receiver.

use super::store_waker;
use crate::shim::{Arc, Mutex};
use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// A one-shot channel: the [`Sender`] sends one value, the [`Receiver`]
/// (a future) resolves to it.
///
/// # Examples
/// ```
/// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
/// use tempo::sync::oneshot;
///
/// let rt = tempo::Runtime::new().unwrap();
/// rt.block_on(async {
///     let (tx, rx) = oneshot::channel();
///     tempo::spawn(async move {
///         tx.send(6 * 7).unwrap();
///     });
///     assert_eq!(rx.await, Ok(42));
///
///     let (tx, rx) = oneshot::channel::<u32>();
///     drop(tx);
///     assert!(rx.await.is_err()); // the sender was dropped
/// });
/// # }
/// ```
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let inner = Arc::new(Inner {
        state: Mutex::new(State {
            value: None,
            tx_done: false,
            rx_closed: false,
            rx_waker: None,
            tx_waker: None,
        }),
    });
    (
        Sender {
            inner: Some(inner.clone()),
        },
        Receiver { inner },
    )
}

struct Inner<T> {
    state: Mutex<State<T>>,
}

/// Everything under the channel's lock (see the module's invariants).
struct State<T> {
    value: Option<T>,
    /// The sender sent or was dropped.
    tx_done: bool,
    /// The receiver closed or was dropped.
    rx_closed: bool,
    rx_waker: Option<Waker>,
    tx_waker: Option<Waker>,
}

/// The sending half of a [`channel`].
pub struct Sender<T> {
    /// `None` once `send` consumed it (its drop then does nothing).
    inner: Option<Arc<Inner<T>>>,
}

impl<T> Sender<T> {
    /// Sends `value`: the receiver resolves to it.
    ///
    /// # Errors
    /// `Err(value)` if the receiver was dropped or closed.
    ///
    /// # Examples
    /// ```
    /// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
    /// let (tx, rx) = tempo::sync::oneshot::channel();
    /// drop(rx);
    /// assert_eq!(tx.send(1), Err(1));
    /// # }
    /// ```
    pub fn send(mut self, value: T) -> Result<(), T> {
        let inner = self.inner.take().expect("a sender sends once");
        let mut g = inner.state.lock();
        g.tx_done = true;
        if g.rx_closed {
            drop(g);
            return Err(value);
        }
        g.value = Some(value);
        let w = g.rx_waker.take();
        drop(g);
        if let Some(w) = w {
            crate::task::waker::wake_contained(w);
        }
        Ok(())
    }

    /// Whether the receiver was dropped or closed (a send would fail).
    pub fn is_closed(&self) -> bool {
        self.inner().state.lock().rx_closed
    }

    /// Waits until the receiver is dropped or closed: lets a producer stop
    /// computing a value nobody wants.
    ///
    /// # Cancel safety
    /// Cancel-safe: it only observes.
    ///
    /// # Examples
    /// ```
    /// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
    /// let rt = tempo::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let (mut tx, rx) = tempo::sync::oneshot::channel::<()>();
    ///     tempo::spawn(async move { drop(rx) });
    ///     tx.closed().await;
    ///     assert!(tx.is_closed());
    /// });
    /// # }
    /// ```
    pub async fn closed(&mut self) {
        poll_fn(|cx| self.poll_closed(cx)).await
    }

    /// Polls for the receiver's close (the poll behind
    /// [`closed`](Sender::closed)), storing `cx`'s waker while it is open.
    pub fn poll_closed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let mut g = self.inner().state.lock();
        if g.rx_closed {
            return Poll::Ready(());
        }
        let old = store_waker(&mut g.tx_waker, cx);
        drop(g);
        drop(old);
        Poll::Pending
    }

    fn inner(&self) -> &Inner<T> {
        self.inner.as_ref().expect("only `send` takes the inner")
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let Some(inner) = self.inner.take() else {
            return;
        };
        let mut g = inner.state.lock();
        g.tx_done = true;
        let w = g.rx_waker.take();
        let old = g.tx_waker.take();
        drop(g);
        drop(old);
        if let Some(w) = w {
            crate::task::waker::wake_contained(w);
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender").finish_non_exhaustive()
    }
}

/// The receiving half of a [`channel`]: a future resolving to the value, or
/// to [`RecvError`] if the sender was dropped without sending.
///
/// # Cancel safety
/// Cancel-safe as a future: polling takes the value only when it returns
/// it. Dropping the receiver drops a value that was sent but not received.
pub struct Receiver<T> {
    inner: Arc<Inner<T>>,
}

impl<T> Receiver<T> {
    /// Closes the channel: a later `send` fails and hands its value back;
    /// [`Sender::closed`] resolves. A value sent before can still be
    /// received; otherwise the receiver resolves to [`RecvError`] at once,
    /// even while the sender lives. Idempotent.
    ///
    /// # Examples
    /// ```
    /// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
    /// let (tx, mut rx) = tempo::sync::oneshot::channel();
    /// rx.close();
    /// assert!(tx.is_closed());
    /// assert_eq!(tx.send(1), Err(1));
    /// # }
    /// ```
    pub fn close(&mut self) {
        let mut g = self.inner.state.lock();
        g.rx_closed = true;
        let w = g.tx_waker.take();
        drop(g);
        if let Some(w) = w {
            crate::task::waker::wake_contained(w);
        }
    }

    /// Takes the value if it was sent.
    ///
    /// # Errors
    /// [`TryRecvError::Empty`] if nothing was sent yet and the sender is
    /// alive, [`TryRecvError::Closed`] if nothing can come any more (the
    /// sender was dropped without sending, the receiver closed, or the value
    /// was already taken).
    ///
    /// # Examples
    /// ```
    /// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
    /// use tempo::sync::oneshot::{channel, TryRecvError};
    /// let (tx, mut rx) = channel();
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// tx.send(3).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(3));
    /// # }
    /// ```
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let mut g = self.inner.state.lock();
        if let Some(v) = g.value.take() {
            Ok(v)
        } else if g.tx_done || g.rx_closed {
            Err(TryRecvError::Closed)
        } else {
            Err(TryRecvError::Empty)
        }
    }
}

impl<T> Future for Receiver<T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut g = self.inner.state.lock();
        if let Some(v) = g.value.take() {
            return Poll::Ready(Ok(v));
        }
        if g.tx_done || g.rx_closed {
            return Poll::Ready(Err(RecvError(())));
        }
        let old = store_waker(&mut g.rx_waker, cx);
        drop(g);
        drop(old);
        Poll::Pending
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let mut g = self.inner.state.lock();
        g.rx_closed = true;
        let value = g.value.take();
        let w = g.tx_waker.take();
        let old = g.rx_waker.take();
        drop(g);
        drop(old);
        drop(value);
        if let Some(w) = w {
            crate::task::waker::wake_contained(w);
        }
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver").finish_non_exhaustive()
    }
}

/// The error of a [`Receiver`]: no value can come (the sender was dropped
/// without sending, the receiver was closed first, or the value was
/// already received).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecvError(());

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("oneshot sender dropped without sending")
    }
}

impl std::error::Error for RecvError {}

/// The error of [`Receiver::try_recv`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryRecvError {
    /// Nothing sent yet; the sender is alive.
    Empty,
    /// Nothing can come: the sender was dropped without sending, the
    /// receiver closed, or the value was taken.
    Closed,
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("oneshot empty"),
            TryRecvError::Closed => f.write_str("oneshot closed"),
        }
    }
}

impl std::error::Error for TryRecvError {}
