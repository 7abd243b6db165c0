//! The ready queue: tasks the sched role has released for execution, in
//! FIFO order, consumed by every worker.
//!
//! A `Mutex<VecDeque>` with an atomic length mirror: the sched role appends a
//! whole batch under one lock acquisition, a worker pops one task per
//! acquisition. (A lock-free replacement is the subject of the performance
//! issue; the protocol around it would not change.)
//!
//! # Invariants
//! 1. Only the sched-role holder pushes (`push_batch`); any worker pops.
//! 2. `len` equals the deque's length whenever the lock is free; it is
//!    written under the lock (SeqCst: it is read in the park handshake).

use crate::sync::atomic::{AtomicUsize, Ordering::*};
use crate::sync::Mutex;
use crate::task::header::Notified;
use std::collections::VecDeque;

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

    /// Appends tasks in order (sched role only).
    pub(crate) fn push_batch(&self, batch: &mut VecDeque<Notified>) {
        if batch.is_empty() {
            return;
        }
        let mut q = self.q.lock();
        q.append(batch);
        self.len.store(q.len(), SeqCst);
    }

    /// Pops the oldest task.
    ///
    /// TLA+: `WorkerPop`
    pub(crate) fn pop(&self) -> Option<Notified> {
        if self.len.load(Relaxed) == 0 {
            return None;
        }
        let mut q = self.q.lock();
        let t = q.pop_front();
        self.len.store(q.len(), SeqCst);
        t
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
