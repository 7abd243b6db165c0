//! [`timeout`], [`timeout_at`], the [`Timeout`] future and [`Elapsed`].
//!
//! # Invariants
//! 1. The inner future is polled before the deadline is checked, so a result
//!    that is ready in the same poll as the deadline wins (no result is lost
//!    in the race window).
//! 2. When `Elapsed` is returned the inner future has already been dropped.
//! 3. The clock is read and the timer built only when the inner future is
//!    first `Pending` ([`Limit`]): a timeout whose future is ready at once
//!    (the common "created and cancelled" case) costs one poll of the inner
//!    future and nothing else: no clock read, no context lookup.

use super::sleep::{sleep, sleep_until, Sleep};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// Runs `fut` for at most `dur`. `Duration::MAX` means no limit.
///
/// The duration counts from the first poll that finds `fut` not ready. For
/// the usual `timeout(d, fut).await` that is the moment of the call; a
/// `Timeout` built now and awaited later starts counting then (use
/// [`timeout_at`] for a fixed instant). This is what makes a timeout whose
/// future is ready at once free: it reads no clock and builds no timer.
/// Otherwise the deadline lives in the task's own timer list: creating and
/// dropping a timeout touches no shared lock.
///
/// `fut` is polled before the deadline is checked, at every poll: a result
/// ready in the same poll as the deadline wins, so `timeout(Duration::ZERO,
/// fut)` is `Ok` for a `fut` that is ready at its first poll and
/// `Err(Elapsed)` for one that is not (module invariant 1).
///
/// # Errors
/// [`Elapsed`] if the deadline passes before `fut` completes; `fut` is dropped.
///
/// # Panics
/// When polled outside a tempo runtime context (if `fut` is not ready at once).
///
/// # Examples
/// ```
/// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
/// use std::time::Duration;
/// use tempo::time::{sleep, timeout};
/// let rt = tempo::Runtime::new().unwrap();
/// rt.block_on(async {
///     assert_eq!(timeout(Duration::from_secs(1), async { 5 }).await, Ok(5));
///     assert!(timeout(Duration::from_millis(1), sleep(Duration::from_secs(60))).await.is_err());
/// });
/// # }
/// ```
pub fn timeout<F: Future>(dur: Duration, fut: F) -> Timeout<F> {
    Timeout {
        inner: Some(fut),
        limit: Limit::After(dur),
    }
}

/// Runs `fut` until `deadline`. As for [`timeout`], a result ready in the
/// same poll as the deadline wins: with a `deadline` already past, a `fut`
/// ready at its first poll gives `Ok`, any other `Err(Elapsed)` at once.
///
/// # Errors
/// [`Elapsed`] if the deadline passes before `fut` completes; `fut` is dropped.
///
/// # Panics
/// When polled outside a tempo runtime context (if `fut` is not ready at once).
pub fn timeout_at<F: Future>(deadline: Instant, fut: F) -> Timeout<F> {
    Timeout {
        inner: Some(fut),
        limit: Limit::At(deadline),
    }
}

/// The limit of a [`Timeout`]: not armed until the inner future is first
/// `Pending` (invariant 3).
enum Limit {
    /// `timeout(dur, _)`, not polled pending yet.
    After(Duration),
    /// `timeout_at(deadline, _)`, not polled pending yet.
    At(Instant),
    /// Armed: a timer in the polling task's timer list.
    Armed(Sleep),
}

/// Future returned by [`timeout`] and [`timeout_at`].
#[must_use = "futures do nothing unless awaited"]
pub struct Timeout<F> {
    inner: Option<F>,
    limit: Limit,
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `inner` is structurally pinned (never moved out; dropped in
        // place via `Pin::set`); `sleep` is not pinned (it is Unpin-safe to move).
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: see above.
        let mut inner = unsafe { Pin::new_unchecked(&mut this.inner) };
        match inner.as_mut().as_pin_mut() {
            Some(f) => {
                if let Poll::Ready(v) = f.poll(cx) {
                    return Poll::Ready(Ok(v));
                }
            }
            None => panic!("Timeout polled after it completed"),
        }
        let sleep = match &mut this.limit {
            Limit::Armed(s) => s,
            lazy => {
                let s = match *lazy {
                    Limit::After(d) => sleep(d),
                    Limit::At(at) => sleep_until(at),
                    Limit::Armed(_) => unreachable!(),
                };
                *lazy = Limit::Armed(s);
                match lazy {
                    Limit::Armed(s) => s,
                    _ => unreachable!(),
                }
            }
        };
        match sleep.poll_at(cx) {
            Poll::Ready(()) => {
                inner.set(None);
                Poll::Ready(Err(Elapsed(())))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<F> fmt::Debug for Timeout<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Timeout");
        match &self.limit {
            Limit::After(dur) => d.field("after", dur),
            Limit::At(at) => d.field("deadline", at),
            Limit::Armed(s) => d.field("deadline", &s.deadline()),
        };
        d.finish()
    }
}

/// The error of a [`timeout`] whose deadline passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed(());

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

impl From<Elapsed> for std::io::Error {
    fn from(e: Elapsed) -> Self {
        std::io::Error::new(std::io::ErrorKind::TimedOut, e)
    }
}
