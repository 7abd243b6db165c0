//! The ready queue: tasks the sched role has released for execution, in
//! two FIFO lanes (invariant 3), consumed by every worker.
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
//!    it stays awake and pops them itself (`worker.rs` invariant 5); a
//!    monitor (`watch.rs`) pushes, at the head of the FIFO lane, what it
//!    stole beyond its own share's room (several runners robbed at once).
//!    Any worker pops.
//! 2. `len` equals the two lanes' total length whenever the lock is free;
//!    it is written under the lock (SeqCst: it is read in the park
//!    handshake).
//! 3. *Two lanes.* Tasks whose deadline passed (from the round's expiry,
//!    in `(deadline, seq)` order) wait in their own lane; everything else
//!    (spawns, wakes, re-posts) in the other (`push_round`, `push_batch`).
//!    A pop takes half its share (at least one task) from the expired lane
//!    and the rest from the other, at least one from each non-empty lane
//!    (so a share of one becomes two when both hold tasks), the expired
//!    tasks first; a lane short of its half leaves it to the other. So a
//!    deadline that passes while a backlog waits (100,000 tasks spawned at
//!    once, each polled once before it sleeps: `5-timers/sleep-100k`) runs
//!    after a share or two, not after the whole backlog (it used to be
//!    late by the backlog's length: 15–20 ms; tokio and async-executor
//!    queue their timers' wakes behind it too), and neither lane can keep
//!    the other waiting: every pop takes from both. Within each lane the
//!    order is FIFO; equal deadlines expire in one round, in registration
//!    order, so they still run FIFO (`tests/fifo.rs`). Start order (FIFO
//!    among spawns) is the other lane's order, unchanged. TLA+: `expq` in
//!    `Scheduler.tla` (`SchedExpire` appends to it, `WorkerPop` takes from
//!    both lanes); `ReadyQueue.tla` models one lane (`README.md`).

use crate::shim::atomic::{AtomicUsize, Ordering::*};
use crate::shim::Mutex;
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

/// The two lanes (invariant 3), under one lock.
#[derive(Default)]
struct Lanes {
    /// Spawned, woken and re-posted tasks, FIFO.
    fifo: VecDeque<Notified>,
    /// Tasks whose deadline passed, in `(deadline, seq)` order.
    expired: VecDeque<Notified>,
}

impl Lanes {
    fn len(&self) -> usize {
        self.fifo.len() + self.expired.len()
    }
}

/// How many tasks one pop takes from the expired lane (`e` tasks) and from
/// the other (`f`): `(e + f) / workers` in all, at least one and at most
/// `limit`, split as invariant 3 says (half, at least one, from the expired
/// lane; at least one from each non-empty lane; a short lane's part goes
/// to the other).
fn share_of(e: usize, f: usize, workers: usize, limit: usize) -> (usize, usize) {
    if e + f == 0 {
        return (0, 0);
    }
    let n = ((e + f) / workers.max(1)).clamp(1, limit.max(1)).min(e + f);
    if e == 0 || f == 0 {
        return (n.min(e), n.min(f));
    }
    let ne = (n / 2).max(1).min(e);
    let nf = (n - ne).max(1).min(f);
    ((n - nf).max(ne).min(e), nf)
}

pub(crate) struct ReadyQueue {
    q: Mutex<Lanes>,
    len: AtomicUsize,
}

impl ReadyQueue {
    pub(crate) fn new() -> Self {
        ReadyQueue {
            q: Mutex::new(Lanes::default()),
            len: AtomicUsize::new(0),
        }
    }

    /// Appends tasks in order to the FIFO lane (a worker's reruns,
    /// invariant 1, or a pass given back at exit). Returns how many.
    ///
    /// TLA+: `RerunFlush`; `WorkerExit`.
    pub(crate) fn push_batch(&self, batch: &mut VecDeque<Notified>) -> usize {
        let k = batch.len();
        if k == 0 {
            return 0;
        }
        let mut q = self.q.lock();
        q.fifo.append(batch);
        self.len.store(q.len(), SeqCst);
        k
    }

    /// Puts tasks, in order, at the head of the FIFO lane: what a monitor
    /// stole from several runners at once beyond its own share's room
    /// (`watch.rs`). A share was
    /// popped from the head, so its tasks go back ahead of everything
    /// pushed since (FIFO start order); a slot task is a wake, for which
    /// no order is promised, or a spawn kept there (`shared.rs` invariant
    /// 5), dispatched before anything pushed since. Returns how many.
    ///
    /// TLA+: the overflow branch of `StealFill` (more than `ShareCap`
    /// stolen; never with two runners, nor with the configs' tasks).
    pub(crate) fn push_front_batch(&self, batch: &mut VecDeque<Notified>) -> usize {
        let k = batch.len();
        if k == 0 {
            return 0;
        }
        let mut q = self.q.lock();
        while let Some(n) = batch.pop_back() {
            q.fifo.push_front(n);
        }
        self.len.store(q.len(), SeqCst);
        k
    }

    /// Puts a task at the head of the FIFO lane: a spawn its run had kept
    /// in its slot, moved out by the run's next spawn (`shared.rs`
    /// invariant 5). Nothing pushed before it was waiting for dispatch when
    /// it was kept, so everything in the queues now came after it.
    ///
    /// TLA+: the push of `SlotUnkeep`
    pub(crate) fn push_head(&self, n: Notified) {
        let mut q = self.q.lock();
        q.fifo.push_front(n);
        self.len.store(q.len(), SeqCst);
    }

    /// Appends a round's output under one lock acquisition: `fifo` (woken
    /// and spawned tasks) to the FIFO lane, `expired` (tasks whose deadline
    /// passed, in `(deadline, seq)` order) to the expired lane (invariant
    /// 3). Returns how many in all.
    ///
    /// TLA+: `SchedDispatch` (to `ready`) and `SchedExpire` (to `expq`): the
    /// appends of one round.
    pub(crate) fn push_round(
        &self,
        fifo: &mut VecDeque<Notified>,
        expired: &mut VecDeque<Notified>,
    ) -> usize {
        let k = fifo.len() + expired.len();
        if k == 0 {
            return 0;
        }
        let mut q = self.q.lock();
        q.fifo.append(fifo);
        q.expired.append(expired);
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
        let (ne, nf) = share_of(q.expired.len(), q.fifo.len(), workers, limit);
        out.extend(q.expired.drain(..ne));
        out.extend(q.fifo.drain(..nf));
        self.len.store(q.len(), SeqCst);
        let big = (trim(&mut q.expired), trim(&mut q.fifo));
        drop(q);
        drop(big);
        ne + nf
    }

    /// Approximate length (SeqCst read; part of the park handshake).
    pub(crate) fn len(&self) -> usize {
        self.len.load(SeqCst)
    }

    /// Removes everything (shutdown).
    pub(crate) fn drain(&self) -> VecDeque<Notified> {
        let mut q = self.q.lock();
        self.len.store(0, SeqCst);
        let mut all = std::mem::take(&mut q.expired);
        all.append(&mut q.fifo);
        all
    }
}

#[cfg(test)]
mod tests {
    use super::share_of;

    /// Invariant 3, over every small case: each lane gives what it has up to
    /// its part, at least one task from each non-empty lane, the total is
    /// the share (`(e + f) / workers`, at least one, at most `limit`) but
    /// for the extra task when both lanes hold tasks and the share is one,
    /// and the expired lane gives at least half the share when it can.
    #[test]
    fn a_pop_takes_from_both_lanes() {
        for workers in 1..=3 {
            for limit in 1..=6 {
                for e in 0..=8 {
                    for f in 0..=8 {
                        let (ne, nf) = share_of(e, f, workers, limit);
                        let what =
                            format!("e={e} f={f} workers={workers} limit={limit}: ({ne}, {nf})");
                        assert!(ne <= e && nf <= f, "{what}");
                        if e + f == 0 {
                            assert_eq!((ne, nf), (0, 0), "{what}");
                            continue;
                        }
                        let n = ((e + f) / workers).clamp(1, limit).min(e + f);
                        assert!(e == 0 || ne >= 1, "{what}");
                        assert!(f == 0 || nf >= 1, "{what}");
                        if e > 0 && f > 0 && n == 1 {
                            assert_eq!((ne, nf), (1, 1), "{what}");
                        } else {
                            assert_eq!(ne + nf, n, "{what}");
                        }
                        assert!(ne >= (n / 2).max(1).min(e), "{what}");
                    }
                }
            }
        }
        // The shapes the docs name: a share of 4 from 2 expired and 4 others.
        assert_eq!(share_of(2, 4, 1, 4), (2, 2));
        // A short expired lane leaves its part to the other.
        assert_eq!(share_of(1, 9, 1, 8), (1, 7));
        // A short other lane leaves its part to the expired one.
        assert_eq!(share_of(9, 1, 1, 8), (7, 1));
    }
}
