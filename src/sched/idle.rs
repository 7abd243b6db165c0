//! Idle workers: workers that found nothing to run while another worker
//! holds the sched role sleep here until woken with a token; and the short
//! *linger* of a worker that just ran out of work ([`Idle::linger`]).
//!
//! # Invariants
//! 1. `inner.sleeping` counts threads between registration and wake-up;
//!    `sleepers` mirrors it for lock-free reads (SeqCst).
//! 2. A sleeper registers (`sleepers += 1`, SeqCst) *before* re-checking for
//!    work; a producer publishes work (SeqCst) *before* reading `sleepers`.
//!    In the single SeqCst order one of them sees the other: no lost wakeup
//!    (spec: `WorkerPark` guard + `NotifySched`).
//! 3. `tokens <= sleeping`; each token releases exactly one sleeper.
//! 4. `lingering`: at most one thread is inside [`Idle::linger`] at a time
//!    (a swap claims it, the end of the linger clears it). It guards no data,
//!    only how many cores may spin at once, so both accesses are `Relaxed`.
//!    A lingering thread is not a sleeper: it is not counted in `sleepers`,
//!    so a producer does not wake it (and pays no futex call); it sees the
//!    work itself, by polling, and never blocks. Its polls also take spawns
//!    kept behind another runner's long run (`watch.rs` invariant 7), and a
//!    spawner keeping one wakes a sleeper only when nobody lingers
//!    ([`Idle::is_lingering`]) and invariant 5 says it helps.
//! 5. `keep_wakes`: whether waking a sleeper for a kept spawn has helped
//!    lately (`running::keep_spawned`). A linger that took a kept spawn sets
//!    it; one that saw a kept spawn leave its slot before it waited
//!    `watch::KEPT_STALE` (its spawner ran it: a chain of spawns), and took
//!    none, clears it, so that a chain does not keep a second core waking
//!    and lingering for nothing. While it is clear, each monitor's tick (a
//!    sleep that ran to its bound, in the driver or here) arms `probe_due`,
//!    and the next kept spawn wakes a sleeper once anyway, whose linger
//!    finds out whether forks are back: a probe per tick, and only while
//!    spawns are being kept. A hint: `Relaxed`; a wrong value costs a
//!    wake-up, or a fork's parallelism for a tick or two, never a task.

use crate::shim::atomic::{fence, AtomicBool, AtomicUsize, Ordering::*};
use crate::shim::{Condvar, Mutex};
use std::time::Duration;
#[cfg(not(any(tempo_loom, tempo_shuttle)))]
use std::time::Instant;

/// How long a worker lingers after running out of work ([`Idle::linger`]).
/// About the cost of the futex sleep and wake-up it saves on this class of
/// machine (a context switch on each side), and far below a scheduler tick.
#[cfg_attr(any(tempo_loom, tempo_shuttle), allow(dead_code))]
pub(crate) const LINGER: Duration = Duration::from_micros(50);

/// Work that stays visible this long while a worker lingers is taken by it
/// (the thread that made it is busy: a spawner still in its poll, a remote
/// spawner): the bound on how late the linger can make a task start.
#[cfg_attr(any(tempo_loom, tempo_shuttle), allow(dead_code))]
pub(crate) const STALE: Duration = Duration::from_micros(10);

struct Inner {
    sleeping: usize,
    tokens: usize,
}

pub(crate) struct Idle {
    /// Invariant 4.
    lingering: AtomicBool,
    /// Invariant 5.
    keep_wakes: AtomicBool,
    /// Invariant 5.
    probe_due: AtomicBool,
    sleepers: AtomicUsize,
    inner: Mutex<Inner>,
    cv: Condvar,
}

impl Idle {
    pub(crate) fn new() -> Self {
        Idle {
            lingering: AtomicBool::new(false),
            keep_wakes: AtomicBool::new(true),
            probe_due: AtomicBool::new(false),
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

    /// Polls, without blocking and without registering as a sleeper, for up
    /// to [`LINGER`]: returns as soon as `take_now()` holds, or `present()`
    /// has held at every look for [`STALE`]. Returns at once if another
    /// thread lingers (invariant 4). The caller goes back to the top of its
    /// loop either way, where the normal checks (and, to sleep, the
    /// handshake of invariant 2) decide. The linger itself only reads, but
    /// for what `take_now` does: the worker loop's takes a spawn kept behind
    /// another runner's long run (`watch.rs` invariant 7).
    ///
    /// Under loom and shuttle the linger is one look (no clock: a model must
    /// not branch on real time), so the models still run the caller's path
    /// around it.
    ///
    /// TLA+: stuttering steps (reads) of a worker between `SchedRelease` and
    /// its next action (`worker.rs` invariant 7), or its `StealSlot` and
    /// `StealFill` (`Lingering(v)`).
    pub(crate) fn linger(&self, take_now: impl Fn() -> bool, present: impl Fn() -> bool) {
        if self.lingering.swap(true, Relaxed) {
            return;
        }
        #[cfg(any(tempo_loom, tempo_shuttle))]
        {
            let _ = take_now() || present();
        }
        #[cfg(not(any(tempo_loom, tempo_shuttle)))]
        {
            let start = Instant::now();
            let mut since: Option<Instant> = None;
            while !take_now() {
                let now = Instant::now();
                if present() {
                    if now - *since.get_or_insert(now) >= STALE {
                        break;
                    }
                } else {
                    since = None;
                }
                if now - start >= LINGER {
                    break;
                }
                // A few hundred nanoseconds between looks (16 `pause`s, CPU
                // dependent): the lines read here (front queue head, ready
                // length) are written by the busy worker on every task, and
                // each look pulls them over to this core.
                for _ in 0..16 {
                    std::hint::spin_loop();
                }
            }
        }
        self.lingering.store(false, Relaxed);
    }

    /// Whether a thread lingers now (invariant 4): a hint for a spawner
    /// deciding whether to wake someone (`running::keep_spawned`).
    pub(crate) fn is_lingering(&self) -> bool {
        // Relaxed: a hint; a wake-up too many or too few costs time only
        // (the spawner runs its kept spawn itself after its run).
        self.lingering.load(Relaxed)
    }

    /// Whether a spawner keeping a spawn should wake a sleeper to linger
    /// for it (invariant 5): wakes have helped lately, or a probe is due
    /// (taken by this call), and `possible()` (a worker may linger at all),
    /// which is asked only then: a chain of spawns, with wakes off, pays two
    /// Relaxed loads per link and nothing more.
    pub(crate) fn keep_wake_wanted(&self, possible: impl FnOnce() -> bool) -> bool {
        // Relaxed: hints (invariant 5). The load before the swap keeps the
        // line shared while no probe is due.
        if self.keep_wakes.load(Relaxed) {
            return possible();
        }
        self.probe_due.load(Relaxed) && possible() && self.probe_due.swap(false, Relaxed)
    }

    /// What a linger learnt of kept spawns (invariant 5): it took one
    /// (`true`: wakes help), or saw one run by its spawner first and took
    /// none (`false`: a chain; wakes would only make this core spin).
    pub(crate) fn learn_keep_wakes(&self, useful: bool) {
        // Relaxed: a hint (invariant 5); written only when it changes, so a
        // chain's lingers leave the line shared.
        if self.keep_wakes.load(Relaxed) != useful {
            self.keep_wakes.store(useful, Relaxed);
        }
    }

    /// A monitor's tick (invariant 5): while kept-spawn wakes are off, the
    /// next kept spawn wakes a sleeper once, to probe.
    #[cfg_attr(any(tempo_loom, tempo_shuttle), allow(dead_code))]
    pub(crate) fn tick(&self) {
        // Relaxed: hints (invariant 5).
        if !self.keep_wakes.load(Relaxed) && !self.probe_due.load(Relaxed) {
            self.probe_due.store(true, Relaxed);
        }
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
