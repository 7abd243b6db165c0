//! The semaphore's queue of waiting acquires, in ticket (arrival) order.
//!
//! # What it owns
//! One [`Waiter`] per queued acquire not yet granted in full, keyed by its
//! ticket. Tickets only grow, so a deque is sorted by construction: new
//! waiters go to the back, grants are taken from the front, and a re-poll
//! or a cancel finds its ticket by binary search (a cancel in the middle
//! shifts the rest: rare, and bounded by the queue's length). Unlike the
//! `BTreeMap` it replaced, it allocates only when the queue grows past its
//! largest size so far: a contended `Mutex` handed from task to task
//! allocated a tree node per hand-over (`benches/results/sync.md`).
//!
//! # Invariants
//! 1. Tickets are strictly increasing from front to back.
//! 2. Every waiter needs at least one more permit (`remaining > 0`).
//!
//! # Who touches what
//! Everything is under the semaphore's lock, inside its `State`.

use std::collections::VecDeque;
use std::task::Waker;

/// A queued acquire.
pub(super) struct Waiter {
    /// Permits it still needs (> 0); it holds `n - remaining`.
    pub(super) remaining: usize,
    /// Its future's waker, from its latest poll.
    pub(super) waker: Option<Waker>,
}

/// The waiting acquires (see the module's doc).
pub(super) struct Queue(VecDeque<(u64, Waiter)>);

impl Queue {
    pub(super) fn new() -> Queue {
        Queue(VecDeque::new())
    }

    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(super) fn len(&self) -> usize {
        self.0.len()
    }

    /// Appends a waiter with a ticket above every queued one (invariant 1).
    pub(super) fn push(&mut self, ticket: u64, w: Waiter) {
        debug_assert!(self.0.back().is_none_or(|(t, _)| *t < ticket));
        debug_assert!(w.remaining > 0, "invariant 2");
        self.0.push_back((ticket, w));
    }

    /// The head: its ticket and waiter.
    pub(super) fn front_mut(&mut self) -> Option<(u64, &mut Waiter)> {
        self.0.front_mut().map(|(t, w)| (*t, w))
    }

    /// Takes the head out.
    pub(super) fn pop_front(&mut self) -> Option<Waiter> {
        self.0.pop_front().map(|(_, w)| w)
    }

    fn position(&self, ticket: u64) -> Option<usize> {
        self.0.binary_search_by_key(&ticket, |(t, _)| *t).ok()
    }

    pub(super) fn get_mut(&mut self, ticket: u64) -> Option<&mut Waiter> {
        let i = self.position(ticket)?;
        Some(&mut self.0[i].1)
    }

    pub(super) fn remove(&mut self, ticket: u64) -> Option<Waiter> {
        let i = self.position(ticket)?;
        self.0.remove(i).map(|(_, w)| w)
    }

    pub(super) fn values_mut(&mut self) -> impl Iterator<Item = &mut Waiter> {
        self.0.iter_mut().map(|(_, w)| w)
    }
}
