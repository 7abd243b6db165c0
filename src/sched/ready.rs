//! The ready queue: tasks the sched role has released for execution, in
//! FIFO order, consumed by every worker.
//!
//! A `Mutex<VecDeque>` with an atomic length mirror: the sched role appends a
//! whole batch under one lock acquisition, a worker appends the tasks its
//! runs re-posted (`worker.rs` invariant 5), and a worker pops its share of
//! the queue (up to `len / workers`, at most what is left of its batch)
//! under one acquisition too, into a buffer only it reads (`worker.rs`
//! invariant 4). Popping one task per acquisition cost three RMWs on this
//! shared lock per task run: a third of a worker's cycles on `2-yield`
//! (perf), and 2× the time of the batched pop there.
//!
//! # Invariants
//! 1. The sched-role holder pushes what its round released; a worker pushes
//!    only its own rerun list (tasks it ran, still `SCHEDULED`, in no other
//!    queue and no heap, and on a one-runner runtime the tasks they spawned:
//!    `worker.rs` invariant 6), and never wakes anyone for them but at most one sleeper:
//!    it stays awake and pops them itself (`worker.rs` invariant 5). Any
//!    worker pops.
//! 2. `len` equals the deque's length whenever the lock is free; it is
//!    written under the lock (SeqCst: it is read in the park handshake).

use crate::sync::atomic::{AtomicUsize, Ordering::*};
use crate::sync::Mutex;
use crate::task::header::Notified;
use std::collections::VecDeque;

/// Capacity an emptied scheduler deque shrinks back to (8 KiB of pointers).
const KEEP: usize = 1024;
/// An emptied deque shrinks only above this capacity, so a steady load of up
/// to a few thousand queued tasks never reallocates (no grow/shrink churn).
const SHRINK_ABOVE: usize = 4 * KEEP;

/// Takes what a burst grew an emptied deque to, leaving it [`KEEP`] slots:
/// after 100,000 tasks passed through at once, an idle runtime should not
/// hold 100,000 slots in each of its deques (the `8-memory/idle-task`
/// benchmark measured 28 bytes per task of such leftovers on
/// `worker_threads(0)`). The caller drops the returned buffer, outside any
/// lock. A later burst regrows the deque by doubling, amortised over its tasks.
#[must_use = "the big buffer is returned to be dropped outside the lock"]
pub(crate) fn trim<T>(q: &mut VecDeque<T>) -> Option<VecDeque<T>> {
    (q.is_empty() && q.capacity() > SHRINK_ABOVE)
        .then(|| std::mem::replace(q, VecDeque::with_capacity(KEEP)))
}

pub(crate) struct ReadyQueue {
    q: Mutex<VecDeque<Notified>>,
    len: AtomicUsize,
}

impl ReadyQueue {
    pub(crate) fn new() -> Self {
        ReadyQueue {
            q: Mutex::new(VecDeque::new()),
            len: AtomicUsize::new(0),
        }
    }

    /// Appends tasks in order (the sched role's round, or a worker's reruns,
    /// invariant 1). Returns how many.
    ///
    /// TLA+: `SchedDispatch`/`SchedExpire` (the appends of one round);
    /// `RerunFlush`.
    pub(crate) fn push_batch(&self, batch: &mut VecDeque<Notified>) -> usize {
        let k = batch.len();
        if k == 0 {
            return 0;
        }
        let mut q = self.q.lock();
        q.append(batch);
        self.len.store(q.len(), SeqCst);
        k
    }

    /// Pops a worker's share of the oldest tasks under one lock acquisition,
    /// appending them to `out` in order: `len / workers` of them, at least
    /// one and at most `limit` (≥ 1), from the exact length seen under the
    /// lock. Returns how many.
    ///
    /// TLA+: `WorkerPop` (`Scheduler.tla`: the first task to the hand, the
    /// rest to the worker's `share`); `ReadyQueue.tla`: `WFast`, `WLock`,
    /// `WFront` (a prefix of up to `MaxPop` items), `WStore`, `WUnlock`.
    pub(crate) fn pop_batch(
        &self,
        workers: usize,
        limit: usize,
        out: &mut VecDeque<Notified>,
    ) -> usize {
        if self.len.load(Relaxed) == 0 {
            return 0;
        }
        let mut q = self.q.lock();
        let k = (q.len() / workers.max(1)).clamp(1, limit).min(q.len());
        out.extend(q.drain(..k));
        self.len.store(q.len(), SeqCst);
        let big = trim(&mut q);
        drop(q);
        drop(big);
        k
    }

    /// Approximate length (SeqCst read; part of the park handshake).
    pub(crate) fn len(&self) -> usize {
        self.len.load(SeqCst)
    }

    /// Removes everything (shutdown).
    pub(crate) fn drain(&self) -> VecDeque<Notified> {
        let mut q = self.q.lock();
        self.len.store(0, SeqCst);
        std::mem::take(&mut *q)
    }
}
