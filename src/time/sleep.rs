//! [`sleep`], [`sleep_until`] and the [`Sleep`] future.
//!
//! # Invariants
//! 1. A `Sleep` completes only when the runtime clock reads `>= deadline`
//!    (never early).
//! 2. A deadline that overflows `Instant` means "never" (`sleep(Duration::MAX)`).

use super::clock::Clock;
use super::timer::TimerReg;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// Waits until `dur` has elapsed. Never completes early; precision is
/// sub-millisecond (no timer tick: the sched role blocks until the exact
/// nearest deadline). `Duration::MAX` sleeps forever without overflow.
///
/// # Panics
/// Outside a tempo runtime context (a task or `block_on`).
///
/// # Examples
/// ```
/// use std::time::{Duration, Instant};
/// let rt = tempo::Runtime::new().unwrap();
/// let start = Instant::now();
/// rt.block_on(tempo::time::sleep(Duration::from_millis(2)));
/// assert!(start.elapsed() >= Duration::from_millis(2));
/// ```
pub fn sleep(dur: Duration) -> Sleep {
    let clock = crate::runtime::context::clock("tempo::time::sleep");
    let deadline = clock.now().checked_add(dur);
    Sleep { deadline, clock, reg: TimerReg::new() }
}

/// Waits until `deadline`.
///
/// # Panics
/// Outside a tempo runtime context (a task or `block_on`).
///
/// # Examples
/// ```
/// use std::time::{Duration, Instant};
/// let rt = tempo::Runtime::new().unwrap();
/// let when = Instant::now() + Duration::from_millis(1);
/// rt.block_on(tempo::time::sleep_until(when));
/// assert!(Instant::now() >= when);
/// ```
pub fn sleep_until(deadline: Instant) -> Sleep {
    let clock = crate::runtime::context::clock("tempo::time::sleep_until");
    Sleep { deadline: Some(deadline), clock, reg: TimerReg::new() }
}

/// Future returned by [`sleep`] and [`sleep_until`].
///
/// Creating and dropping a `Sleep` touches no shared structure: the deadline
/// is registered in the polling task's own timer list on the first `Pending`
/// poll and removed on drop.
#[must_use = "futures do nothing unless awaited"]
pub struct Sleep {
    deadline: Option<Instant>,
    clock: Clock,
    reg: TimerReg,
}

impl Sleep {
    /// The instant this sleep completes at (`None`: never).
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Whether the deadline has passed.
    pub fn is_elapsed(&self) -> bool {
        self.deadline.is_some_and(|d| self.clock.now() >= d)
    }

    /// Moves the deadline (earlier or later); the sleep can be awaited again.
    pub fn reset(&mut self, deadline: Instant) {
        self.reg.deregister();
        self.deadline = Some(deadline);
    }

    pub(crate) fn poll_at(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        match self.deadline {
            Some(d) if self.clock.now() >= d => {
                self.reg.deregister();
                Poll::Ready(())
            }
            Some(d) => {
                self.reg.register(d, cx.waker());
                Poll::Pending
            }
            None => Poll::Pending,
        }
    }
}

impl Future for Sleep {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.poll_at(cx)
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.reg.deregister();
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep").field("deadline", &self.deadline).finish()
    }
}
