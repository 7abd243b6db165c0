//! The runtime's clock: the real monotonic clock, or a [`ManualClock`]
//! injected for deterministic tests (loom has no time).
//!
//! # Invariants
//! 1. `now()` is monotonic for both kinds.
//! 2. Advancing a manual clock unparks every runtime built with it, so a
//!    sched role blocked until the next deadline re-evaluates at once.

use crate::sched::Shared;
use crate::sync::atomic::{AtomicU64, Ordering::*};
use crate::sync::Mutex;
use crate::sync::{Arc, Weak};
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
    /// Whether this is a manual clock (deadlines then fire on `advance`, not
    /// on a timed wait).
    pub(crate) fn is_manual(&self) -> bool {
        matches!(self, Clock::Manual(_))
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

    pub(crate) fn attach(&self, shared: &Arc<Shared>) {
        self.inner.runtimes.lock().push(Arc::downgrade(shared));
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
