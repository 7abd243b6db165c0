//! The waiting heap: tasks that wait for a deadline, ordered by
//! `(deadline, insertion sequence)` so equal deadlines expire FIFO.
//! Owned by the sched role; nobody else touches it.
//!
//! # Invariants
//! 1. A task is in the heap at most once; its `sched.heap_pos` is its index
//!    (or `NOT_IN_HEAP`). Each entry owns the task's notification reference.
//! 2. An entry's task is `WAITING`, or `SCHEDULED` after a wake that beat the
//!    deadline (the task then also sits in the front queue, which owns a
//!    second notification; the sched role removes the heap entry when it
//!    dispatches that one).
//! 3. Binary min-heap order on `(deadline, seq)`.

use crate::task::header::{Notified, RawTask, NOT_IN_HEAP};
use std::time::Instant;

struct Entry {
    deadline: Instant,
    seq: u64,
    task: Notified,
}

impl Entry {
    fn key(&self) -> (Instant, u64) {
        (self.deadline, self.seq)
    }
}

#[derive(Default)]
pub(crate) struct WaitingHeap {
    v: Vec<Entry>,
    seq: u64,
}

fn set_pos(t: RawTask, pos: usize) {
    t.header().sched.with_mut(|s| {
        // SAFETY: the sched role owns `sched` fields of tasks in the heap
        // (header invariant 3); the caller holds the role.
        unsafe { (*s).heap_pos = pos }
    })
}

pub(crate) fn heap_pos(t: RawTask) -> usize {
    // SAFETY: as in `set_pos`.
    t.header().sched.with(|s| unsafe { (*s).heap_pos })
}

impl WaitingHeap {
    pub(crate) fn len(&self) -> usize {
        self.v.len()
    }

    /// The earliest deadline.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.v.first().map(|e| e.deadline)
    }

    /// Inserts a task (must not be in the heap).
    pub(crate) fn insert(&mut self, deadline: Instant, task: Notified) {
        debug_assert_eq!(heap_pos(task.raw()), NOT_IN_HEAP, "task in the heap twice");
        self.seq += 1;
        let i = self.v.len();
        set_pos(task.raw(), i);
        self.v.push(Entry {
            deadline,
            seq: self.seq,
            task,
        });
        self.sift_up(i);
    }

    /// Removes `t` if it is in the heap, returning its entry's notification.
    pub(crate) fn remove(&mut self, t: RawTask) -> Option<Notified> {
        let i = heap_pos(t);
        if i == NOT_IN_HEAP {
            return None;
        }
        debug_assert!(self.v[i].task.raw() == t);
        Some(self.remove_at(i))
    }

    /// Pops the earliest entry if its deadline is `<= now`.
    pub(crate) fn pop_expired(&mut self, now: Instant) -> Option<Notified> {
        match self.v.first() {
            // Seeded bug (VERIFICATION.md): `<` instead of `<=`; a deadline
            // equal to the clock does not fire.
            #[cfg(tempo_mutant = "deadline_strict")]
            Some(e) if e.deadline < now => Some(self.remove_at(0)),
            #[cfg(not(tempo_mutant = "deadline_strict"))]
            Some(e) if e.deadline <= now => Some(self.remove_at(0)),
            _ => None,
        }
    }

    /// Removes everything (shutdown).
    pub(crate) fn drain(&mut self) -> Vec<Notified> {
        self.v
            .drain(..)
            .map(|e| {
                set_pos(e.task.raw(), NOT_IN_HEAP);
                e.task
            })
            .collect()
    }

    fn remove_at(&mut self, i: usize) -> Notified {
        let last = self.v.len() - 1;
        self.v.swap(i, last);
        let e = self.v.pop().expect("non-empty");
        set_pos(e.task.raw(), NOT_IN_HEAP);
        if i < self.v.len() {
            set_pos(self.v[i].task.raw(), i);
            self.sift_down(i);
            self.sift_up(i);
        }
        e.task
    }

    fn swap(&mut self, a: usize, b: usize) {
        self.v.swap(a, b);
        set_pos(self.v[a].task.raw(), a);
        set_pos(self.v[b].task.raw(), b);
    }

    fn sift_up(&mut self, mut i: usize) {
        while i > 0 {
            let p = (i - 1) / 2;
            if self.v[i].key() < self.v[p].key() {
                self.swap(i, p);
                i = p;
            } else {
                break;
            }
        }
    }

    fn sift_down(&mut self, mut i: usize) {
        loop {
            let (l, r) = (2 * i + 1, 2 * i + 2);
            let mut m = i;
            if l < self.v.len() && self.v[l].key() < self.v[m].key() {
                m = l;
            }
            if r < self.v.len() && self.v[r].key() < self.v[m].key() {
                m = r;
            }
            if m == i {
                break;
            }
            self.swap(i, m);
            i = m;
        }
    }
}
