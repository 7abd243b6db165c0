//! [`sleep`], [`sleep_until`] and the [`Sleep`] future.
//!
//! # Invariants
//! 1. A `Sleep` completes only when the runtime clock reads `>= deadline`
//!    (never early).
//! 2. A deadline that overflows `Instant` means "never" (`sleep(Duration::MAX)`).
//! 3. `seen`, when set, is a reading of `clock` taken no later than now (or
//!    the deadline itself once it is known to have passed). A poll compares
//!    the deadline with it instead of reading the clock again before it
//!    registers: `sleep(d)` takes one reading in all (for its deadline), and
//!    the poll after the timer fired reads none (`time/timer.rs` `poll`). A
//!    deadline that passes between the reading and the first poll is
//!    registered and fires at the next run of the task or the next
//!    scheduler round (late by that much, never early). A poll of a sleep
//!    still registered reads the clock, as before; so does every poll on a
//!    `ManualClock` (a cheap read there, and `advance` is then seen by the
//!    next poll, as tests expect).

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
/// The deadline is taken when `sleep` is called, against the current
/// runtime's clock. A `sleep` created outside any runtime (e.g. to hand to
/// `block_on` or `Runtime::spawn`) starts counting when it is first polled.
///
/// # Panics
/// When *polled* outside a tempo runtime context (a task or `block_on`).
///
/// # Examples
/// ```
/// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
/// use std::time::{Duration, Instant};
/// let rt = tempo::Runtime::new().unwrap();
/// let start = Instant::now();
/// rt.block_on(tempo::time::sleep(Duration::from_millis(2)));
/// assert!(start.elapsed() >= Duration::from_millis(2));
/// # }
/// ```
pub fn sleep(dur: Duration) -> Sleep {
    match crate::runtime::context::try_clock() {
        Some(clock) => {
            let now = clock.now();
            Sleep {
                deadline: now.checked_add(dur),
                start: None,
                seen: Some(now),
                clock,
                reg: TimerReg::new(),
            }
        }
        // Outside a runtime: the sleep starts when first polled, on the clock of
        // the runtime that polls it.
        None => Sleep {
            deadline: None,
            start: Some(Some(dur)),
            seen: None,
            clock: Clock::Real,
            reg: TimerReg::new(),
        },
    }
}

/// Waits until `deadline`.
///
/// # Panics
/// When polled outside a tempo runtime context (a task or `block_on`).
///
/// # Examples
/// ```
/// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
/// use std::time::{Duration, Instant};
/// let rt = tempo::Runtime::new().unwrap();
/// let when = Instant::now() + Duration::from_millis(1);
/// rt.block_on(tempo::time::sleep_until(when));
/// assert!(Instant::now() >= when);
/// # }
/// ```
pub fn sleep_until(deadline: Instant) -> Sleep {
    match crate::runtime::context::try_clock() {
        Some(clock) => Sleep {
            deadline: Some(deadline),
            start: None,
            seen: None,
            clock,
            reg: TimerReg::new(),
        },
        // Outside a runtime: the clock is that of the runtime that first polls it.
        None => Sleep {
            deadline: Some(deadline),
            start: Some(None),
            seen: None,
            clock: Clock::Real,
            reg: TimerReg::new(),
        },
    }
}

/// Future returned by [`sleep`] and [`sleep_until`].
///
/// Creating and dropping a `Sleep` touches no shared structure: the deadline
/// is registered in the polling task's own timer list on the first `Pending`
/// poll and removed on drop.
#[must_use = "futures do nothing unless awaited"]
pub struct Sleep {
    deadline: Option<Instant>,
    /// Created outside a runtime: the clock is taken at the first poll, and
    /// the duration (for `sleep`) applied then.
    start: Option<Option<Duration>>,
    /// A past reading of `clock` (invariant 3).
    seen: Option<Instant>,
    clock: Clock,
    reg: TimerReg,
}

impl Sleep {
    /// The instant this sleep completes at (`None`: never).
    /// (`None` also before the first poll of a sleep created outside a runtime.)
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
        // Not yet polled (created outside a runtime): the clock is still
        // the polling runtime's, adopted at the first poll; only the
        // duration is dropped. (Clearing `start` left the placeholder real
        // clock in place, and the sleep ran on it inside a manual-clock
        // runtime: `tests/time.rs::reset_before_the_first_poll_keeps_the_runtime_clock`.)
        if self.start.is_some() {
            self.start = Some(None);
        }
        self.seen = None;
        self.deadline = Some(deadline);
    }

    pub(crate) fn poll_at(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if let Some(dur) = self.start.take() {
            self.clock = crate::runtime::context::clock("polling a tempo::time::sleep timer");
            let now = self.clock.now();
            self.seen = Some(now);
            if let Some(dur) = dur {
                self.deadline = now.checked_add(dur);
            }
        }
        let Some(d) = self.deadline else {
            return Poll::Pending;
        };
        let Sleep {
            seen, clock, reg, ..
        } = self;
        let r = reg.poll(d, cx.waker(), clock, |fresh| {
            // Invariant 3: a past reading settles a passed deadline; a fresh
            // one is taken when asked for, or when there is none.
            if seen.is_some_and(|s| d <= s) {
                return true;
            }
            if fresh || seen.is_none() || clock.is_manual() {
                *seen = Some(clock.now());
            }
            seen.is_some_and(|s| d <= s)
        });
        if r.is_ready() {
            // Known to have passed: later polls answer `Ready` at once.
            self.seen = Some(d);
        }
        r
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
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .finish()
    }
}
