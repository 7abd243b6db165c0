//! Idle workers: workers that found nothing to run while another worker
//! holds the sched role sleep here until woken with a token.
//!
//! # Invariants
//! 1. `inner.sleeping` counts threads between registration and wake-up;
//!    `sleepers` mirrors it for lock-free reads (SeqCst).
//! 2. A sleeper registers (`sleepers += 1`, SeqCst) *before* re-checking for
//!    work; a producer publishes work (SeqCst) *before* reading `sleepers`.
//!    In the single SeqCst order one of them sees the other: no lost wakeup
//!    (spec: `WorkerPark` guard + `NotifySched`).
//! 3. `tokens <= sleeping`; each token releases exactly one sleeper.

use crate::sync::atomic::{fence, AtomicUsize, Ordering::*};
use crate::sync::{Condvar, Mutex};

struct Inner {
    sleeping: usize,
    tokens: usize,
}

pub(crate) struct Idle {
    sleepers: AtomicUsize,
    inner: Mutex<Inner>,
    cv: Condvar,
}

impl Idle {
    pub(crate) fn new() -> Self {
        Idle {
            sleepers: AtomicUsize::new(0),
            inner: Mutex::new(Inner {
                sleeping: 0,
                tokens: 0,
            }),
            cv: Condvar::new(),
        }
    }

    /// Sleeps unless `has_work()` (evaluated after registering, invariant 2).
    ///
    /// TLA+: `WorkerPark`
    /// `timeout` bounds the sleep (a caller-driven `block_on` whose own
    /// future has a deadline); `None` sleeps until a token arrives.
    pub(crate) fn park(&self, has_work: impl Fn() -> bool, timeout: Option<std::time::Duration>) {
        let mut g = self.inner.lock();
        g.sleeping += 1;
        // SeqCst: invariant 2.
        self.sleepers.fetch_add(1, SeqCst);
        // SeqCst fence: the sleeper's half of the handshake (invariant 2);
        // pairs with the fence in `notify_one`.
        fence(SeqCst);
        if !has_work() {
            match timeout {
                None => {
                    while g.tokens == 0 {
                        g = self.cv.wait(g);
                    }
                    g.tokens -= 1;
                }
                Some(d) => {
                    if g.tokens == 0 {
                        g = self.cv.wait_timeout(g, d);
                    }
                    // Woken by a token, a timeout or spuriously: take a token if
                    // one is there (invariant 3 keeps tokens <= sleeping).
                    if g.tokens > 0 {
                        g.tokens -= 1;
                    }
                }
            }
        }
        g.sleeping -= 1;
        self.sleepers.fetch_sub(1, SeqCst);
    }

    /// Number of registered sleepers (SeqCst read, invariant 2).
    pub(crate) fn sleepers(&self) -> usize {
        self.sleepers.load(SeqCst)
    }

    /// Wakes one sleeper if there is one without a token; returns whether it did.
    ///
    /// TLA+: `WorkerNotify`
    pub(crate) fn notify_one(&self) -> bool {
        // SeqCst fence: the producer's half of the handshake (invariant 2):
        // the work it published is ordered before this read of `sleepers`.
        fence(SeqCst);
        self.notify_one_fenced()
    }

    /// [`notify_one`](Self::notify_one) for a caller that has just issued the
    /// handshake's `fence(SeqCst)` itself (`Shared::notify_sched`).
    pub(crate) fn notify_one_fenced(&self) -> bool {
        if self.sleepers() == 0 {
            return false;
        }
        let mut g = self.inner.lock();
        if g.sleeping > g.tokens {
            g.tokens += 1;
            drop(g);
            self.cv.notify_one();
            true
        } else {
            false
        }
    }

    /// Wakes every sleeper (shutdown, stop).
    pub(crate) fn notify_all(&self) {
        let mut g = self.inner.lock();
        g.tokens = g.sleeping;
        drop(g);
        self.cv.notify_all();
    }
}
