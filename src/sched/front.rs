//! The front queue: a lock-free, intrusive, multi-producer queue where every
//! spawn, wakeup and deadline post lands (a worker's own re-posts go to its
//! rerun list instead, `worker.rs` invariant 5). Only the sched role consumes it, and it
//! takes everything at once (serverbox's `MultiProducerQueueIntrusive`).
//!
//! Producers push onto a Treiber stack with one CAS; the consumer swaps the
//! head out and reverses the chain, which yields push (linearisation) order:
//! FIFO. No node is ever popped individually, so there is no ABA problem and
//! no memory to reclaim: a node is a task, kept alive by the notification
//! reference it carries.
//!
//! # Invariants
//! 1. A task is pushed only by the holder of its notification (state
//!    invariant 4), hence at most once at a time; its `queue_next` is free.
//! 2. `head` is null (empty), a chain of tasks, or [`CLOSED`] (after
//!    shutdown: pushes are refused and the pusher drops the notification).
//! 3. Push is Release (publishes `queue_next` and the task's state); `take_all`
//!    is Acquire. Both are SeqCst because they take part in the Dekker-style
//!    handshakes of `Shared::push_front` / `Idle::park` (see `shared.rs`).
//! 4. `woken` is a hint, not state: set (Relaxed) after the push of a woken
//!    task (`Shared::push_woken`), cleared (Relaxed) by `take_all` before it
//!    takes the chain. A worker reads it after each run to decide whether a
//!    round between runs is worth taking (`worker.rs` invariant 8). Nothing
//!    depends on it for correctness: a lost or stale hint only moves that
//!    round to the end of the batch or makes it find nothing, and the spec
//!    lets a worker with a share try the role at any time (`SchedAcquire`).
//!    Spawns and deadline posts do not set it: they never pass the ready
//!    queue (`role.rs` invariant 4), so a round for them would buy nothing.

use crate::shim::atomic::{AtomicBool, AtomicPtr, Ordering::*};
use crate::task::header::{Header, Notified, RawTask};
use std::collections::VecDeque;
use std::ptr::NonNull;

/// Sentinel head value of a closed queue (never a valid task address: tasks
/// are at least word-aligned).
const CLOSED: *mut Header = 1 as *mut Header;

/// The outcome of a push.
#[must_use]
pub(crate) enum Pushed {
    /// Pushed; the queue was empty before (the pusher owes a notification).
    WasEmpty,
    /// Pushed behind other tasks (someone already owes the notification).
    Behind,
    /// The queue is closed: the notification is handed back to be dropped.
    Closed(Notified),
}

/// Aligned to 128 bytes (two cache lines: x86 prefetches lines in pairs),
/// so `head` and the hint beside it share no line with the fields around
/// them in `Shared`: the ready queue's length and lock are written on every
/// pop, and a worker reads the hint after every run (`worker.rs` invariant
/// 8). Unpadded, a per-run read of `head` missed in the cache once per run:
/// `2-yield` on two workers ran 3.1 → 3.7 ms (medians of 9, three
/// alternations), and the same false sharing is the likely cause of the
/// tenth session's unexplained `2-yield` loss with a per-run check of the
/// front queue.
#[repr(align(128))]
pub(crate) struct FrontQueue {
    head: AtomicPtr<Header>,
    /// A woken task was pushed since the last `take_all` (invariant 4).
    woken: AtomicBool,
}

impl FrontQueue {
    pub(crate) fn new() -> Self {
        FrontQueue {
            head: AtomicPtr::new(std::ptr::null_mut()),
            woken: AtomicBool::new(false),
        }
    }

    /// Pushes a task (takes its notification).
    ///
    /// TLA+: `PushFront`
    pub(crate) fn push(&self, n: Notified) -> Pushed {
        let node = n.raw().ptr().as_ptr();
        let mut head = self.head.load(Relaxed);
        loop {
            if head == CLOSED {
                return Pushed::Closed(n);
            }
            n.raw().header().queue_next.with_mut(|p| {
                // SAFETY: invariant 1: we own the task's link until the CAS publishes it.
                unsafe { *p = head }
            });
            // SeqCst (≥ Release): publishes `queue_next`; pairs with the swap in
            // `take_all`, and orders against the sleeper check in `Idle::park`.
            match self.head.compare_exchange_weak(head, node, SeqCst, Relaxed) {
                Ok(_) => {
                    let _ = n.into_raw(); // the reference now lives in the queue
                    return if head.is_null() {
                        Pushed::WasEmpty
                    } else {
                        Pushed::Behind
                    };
                }
                Err(h) => head = h,
            }
        }
    }

    /// Records that a woken task was just pushed (invariant 4: a hint).
    pub(crate) fn mark_woken(&self) {
        // Relaxed: a hint (invariant 4); read before written, so a stream of
        // wakes costs one store per round, not one per wake.
        if !self.woken.load(Relaxed) {
            self.woken.store(true, Relaxed);
        }
    }

    /// Whether a woken task may be waiting here (invariant 4: a hint).
    pub(crate) fn has_woken(&self) -> bool {
        // Relaxed: a hint (invariant 4).
        self.woken.load(Relaxed)
    }

    /// Whether the queue looks empty (SeqCst; part of the park handshake).
    pub(crate) fn is_empty(&self) -> bool {
        let h = self.head.load(SeqCst);
        h.is_null() || h == CLOSED
    }

    /// Whether [`close`](Self::close) ran (SeqCst: read by a straggler
    /// worker after its push to the ready queue, `worker.rs` invariant 10).
    pub(crate) fn is_closed(&self) -> bool {
        self.head.load(SeqCst) == CLOSED
    }

    /// Takes every queued task, in FIFO order, appending to `out`.
    ///
    /// TLA+: `SchedTakeFront`
    pub(crate) fn take_all(&self, out: &mut VecDeque<Notified>) {
        // A CAS loop that never takes `CLOSED` out: the first version swapped
        // the head with null and stored `CLOSED` back when it found it, and a
        // push in between (from a straggler left by `shutdown_timeout`)
        // succeeded and was overwritten, leaking its task
        // (`tla/FrontQueue.tla`, `mutants/front_straggler_take_after_close.cfg`).
        // Invariant 4: cleared before the take, so no hint is lost for a
        // task this take misses (one set between the clear and the take may
        // be stale: the next round between runs then finds nothing).
        if self.woken.load(Relaxed) {
            self.woken.store(false, Relaxed);
        }
        let mut p = self.head.load(Relaxed);
        loop {
            if p.is_null() || p == CLOSED {
                return;
            }
            // SeqCst (≥ Acquire): pairs with the push CAS, so every
            // `queue_next` of the chain is visible.
            match self
                .head
                .compare_exchange_weak(p, std::ptr::null_mut(), SeqCst, Relaxed)
            {
                Ok(_) => break,
                Err(h) => p = h,
            }
        }
        let start = out.len();
        while let Some(nn) = NonNull::new(p) {
            let t = RawTask::from_ptr(nn);
            // SAFETY: invariant 1 and the Acquire above: the link was written
            // before the push that published this node.
            p = t.header().queue_next.with(|q| unsafe { *q }) as *mut Header;
            out.push_back(Notified(t));
        }
        out.make_contiguous()[start..].reverse();
    }

    /// Closes the queue, returning what was in it. Later pushes are refused.
    ///
    /// TLA+: `FrontClose`
    pub(crate) fn close(&self) -> VecDeque<Notified> {
        let mut out = VecDeque::new();
        let mut p = self.head.swap(CLOSED, SeqCst);
        while let Some(nn) = NonNull::new(p).filter(|_| p != CLOSED) {
            let t = RawTask::from_ptr(nn);
            // SAFETY: as in `take_all`.
            p = t.header().queue_next.with(|q| unsafe { *q }) as *mut Header;
            out.push_back(Notified(t));
        }
        out
    }
}
