//! The runtime's clock: the real monotonic clock, or a [`ManualClock`]
//! injected for deterministic tests (loom has no time).
//!
//! # Invariants
//! 1. `now()` is monotonic for both kinds.
//! 2. Advancing a manual clock unparks every runtime built with it, so a
//!    sched role blocked until the next deadline re-evaluates at once.
//! 3. [`Epoch`] keeps order: `a <= b` implies `ticks(a) <= ticks(b)`. An
//!    instant before the epoch maps to 0; since no reading of the clock is
//!    earlier than the epoch, such a deadline has passed at every reading, as
//!    the clamped one has. A deadline 584 years or more after the epoch maps
//!    to `Epoch::NEVER`, and readings saturate one tick below it, so such a
//!    deadline never fires (before: a saturated manual clock, advanced by
//!    `Duration::MAX`, would "fire" it at every round while the task-local
//!    check, on real instants, saw nothing due: a busy loop).
//! 4. `instant(ticks(d)) == d` for every `d` in the range, so the timed wait
//!    for the next deadline ends exactly at it.
//! 5. A manual clock keeps a weak reference to each runtime built with it
//!    while that runtime lives: `attach` drops the references of runtimes
//!    already gone. (It kept them all: a long-lived clock shared by many
//!    short-lived runtimes, a test suite's, kept every dropped runtime's
//!    `Shared` allocation alive through its weak count.)

use crate::sched::Shared;
use crate::shim::atomic::{AtomicU64, Ordering::*};
use crate::shim::Mutex;
use crate::shim::{Arc, Weak};
use std::time::{Duration, Instant};

/// The clock a runtime reads deadlines against.
#[derive(Clone)]
pub(crate) enum Clock {
    Real,
    Manual(ManualClock),
}

impl Clock {
    /// The current instant.
    #[inline]
    pub(crate) fn now(&self) -> Instant {
        match self {
            Clock::Real => Instant::now(),
            Clock::Manual(m) => m.now(),
        }
    }
    /// The origin of the runtime's deadline ticks ([`Epoch`]): no instant
    /// this clock reads is earlier. A manual clock's base is its creation
    /// instant; the real clock's is now (a deadline before it has passed).
    pub(crate) fn epoch(&self) -> Epoch {
        match self {
            Clock::Real => Epoch(Instant::now()),
            Clock::Manual(m) => Epoch(m.inner.base),
        }
    }

    /// Whether this is a manual clock (deadlines then fire on `advance`, not
    /// on a timed wait).
    pub(crate) fn is_manual(&self) -> bool {
        matches!(self, Clock::Manual(_))
    }

    /// Whether `self` and `other` are the same clock: both real, or the same
    /// `ManualClock` (clones share one). Instants of different clocks do not
    /// compare meaningfully (`time/timer.rs` invariant 4).
    pub(crate) fn same(&self, other: &Clock) -> bool {
        match (self, other) {
            (Clock::Real, Clock::Real) => true,
            (Clock::Manual(a), Clock::Manual(b)) => Arc::ptr_eq(&a.inner, &b.inner),
            _ => false,
        }
    }
}

/// Converts deadlines to and from ticks: nanoseconds since a fixed instant,
/// in a `u64` (584 years), so a task header stores its deadline in 8 bytes
/// and the waiting heap compares integers (module invariants 3 and 4).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Epoch(Instant);

impl Epoch {
    /// Deadline ticks that no reading reaches: a deadline at or beyond the
    /// range (584 years after the epoch) never fires (invariant 3).
    pub(crate) const NEVER: u64 = u64::MAX - 1;
    /// Header value "no deadline written" (`task/header.rs` invariant 3).
    pub(crate) const UNSET: u64 = u64::MAX;

    /// Deadline `d` in ticks, saturating at [`NEVER`](Self::NEVER) (invariant 3).
    #[inline]
    pub(crate) fn ticks(self, d: Instant) -> u64 {
        u64::try_from(d.saturating_duration_since(self.0).as_nanos())
            .unwrap_or(u64::MAX)
            .min(Self::NEVER)
    }

    /// A clock reading in ticks, saturating below [`NEVER`](Self::NEVER),
    /// so that a saturated reading never fires a deadline that saturated
    /// too (invariant 3).
    #[inline]
    pub(crate) fn now_ticks(self, now: Instant) -> u64 {
        self.ticks(now).min(Self::NEVER - 1)
    }

    /// The instant of deadline `t` (invariant 4); `None` for
    /// [`NEVER`](Self::NEVER) and past `Instant`'s range.
    #[inline]
    pub(crate) fn instant(self, t: u64) -> Option<Instant> {
        if t >= Self::NEVER {
            return None;
        }
        self.0.checked_add(Duration::from_nanos(t))
    }
}

struct ManualInner {
    base: Instant,
    offset_ns: AtomicU64,
    runtimes: Mutex<Vec<Weak<Shared>>>,
}

/// A clock that only moves when told to, for deterministic tests of
/// deadlines (`sleep`, `timeout`, `wait_until`). Give it to
/// [`Builder::manual_clock`](crate::Builder::manual_clock); every runtime built
/// with it reads time from it.
///
/// # Examples
/// ```
/// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
/// use std::time::Duration;
/// let clock = tempo::time::ManualClock::new();
/// let rt = tempo::Runtime::builder().worker_threads(1).manual_clock(&clock).build().unwrap();
/// let h = rt.spawn(tempo::time::sleep_until(clock.now() + Duration::from_secs(3600)));
/// clock.advance(Duration::from_secs(3600));
/// rt.block_on(h).unwrap(); // an hour passed, instantly
/// # }
/// ```
#[derive(Clone)]
pub struct ManualClock {
    inner: Arc<ManualInner>,
}

impl ManualClock {
    /// A clock frozen at the current real instant.
    pub fn new() -> Self {
        ManualClock {
            inner: Arc::new(ManualInner {
                base: Instant::now(),
                offset_ns: AtomicU64::new(0),
                runtimes: Mutex::new(Vec::new()),
            }),
        }
    }

    /// The clock's current instant.
    pub fn now(&self) -> Instant {
        // Acquire; pairs with the Release in `advance`.
        self.inner.base + Duration::from_nanos(self.inner.offset_ns.load(Acquire))
    }

    /// Moves the clock forward by `d` (saturating at about 584 years) and
    /// wakes the runtimes that use it so expired deadlines fire.
    pub fn advance(&self, d: Duration) {
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        // Release; pairs with the Acquire in `now`.
        let _ = self
            .inner
            .offset_ns
            .fetch_update(Release, Relaxed, |v| Some(v.saturating_add(ns)));
        let rts: Vec<_> = self
            .inner
            .runtimes
            .lock()
            .iter()
            .filter_map(|w| w.upgrade())
            .collect();
        for rt in rts {
            rt.unpark_sched();
        }
    }

    /// Registers a runtime built with this clock (invariant 5).
    pub(crate) fn attach(&self, shared: &Arc<Shared>) {
        let mut rts = self.inner.runtimes.lock();
        rts.retain(|w| w.strong_count() > 0);
        rts.push(Arc::downgrade(shared));
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ManualClock")
            .field("offset_ns", &self.inner.offset_ns.load(Relaxed))
            .finish()
    }
}

#[cfg(all(test, not(any(tempo_loom, tempo_shuttle))))]
mod tests {
    use super::ManualClock;

    /// Invariant 5: runtimes dropped long ago are not kept.
    #[test]
    fn a_manual_clock_forgets_dropped_runtimes() {
        let clock = ManualClock::new();
        let keep = crate::Runtime::builder()
            .worker_threads(0)
            .manual_clock(&clock)
            .build()
            .unwrap();
        for _ in 0..100 {
            let rt = crate::Runtime::builder()
                .worker_threads(0)
                .manual_clock(&clock)
                .build()
                .unwrap();
            drop(rt);
        }
        // The live one, and the last one dropped (forgotten at the next attach).
        assert!(clock.inner.runtimes.lock().len() <= 2);
        drop(keep);
    }
}
