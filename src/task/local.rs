//! Task-local state: the task's own timers and its `wait` waker, and the
//! thread-local pointer ("current timer owner") through which `sleep`,
//! `timeout` and `wait` reach them.
//!
//! This is how creating and cancelling a timer touches no shared lock and no
//! shared atomic: a [`TimerList`] lives inside the task (or inside the
//! `block_on` frame) and is only touched by the thread that currently runs
//! that task. The scheduler sees only the task's earliest deadline, once, when
//! the poll returns `Pending`.
//!
//! # Invariants
//! 1. `CURRENT` is non-null exactly while a thread polls (or drops) a task's
//!    future or a `block_on` future, and points at that owner's `TaskLocal`,
//!    to which this thread then has exclusive access.
//! 2. A timer entry is identified by `(owner id, slot, generation)`; an entry
//!    is only touched when the current owner's id equals the entry's owner id.
//!    A sleep moved to another task (or dropped elsewhere) leaves its old entry
//!    to fire once, spuriously and harmlessly, and registers anew.
//! 3. `TaskLocal` is cleared when the task completes, so wakers stored in it
//!    (possibly the task's own) never keep a finished task alive.

use super::header::RawTask;
use crate::sync::tls;
use std::cell::Cell;
use std::task::Waker;
use std::time::Instant;

/// The task's own timers and waiters.
pub(crate) struct TaskLocal {
    /// Unique id of the owner (task id or a `block_on` id).
    pub(crate) id: u64,
    pub(crate) timers: TimerList,
    /// Waker of a pending `wait`/`wait_until`, fired when the task is run
    /// with `WOKEN` or `SIGNALED` set.
    pub(crate) wait_waker: Option<Waker>,
}

impl TaskLocal {
    pub(crate) fn new(id: u64) -> TaskLocal {
        TaskLocal {
            id,
            timers: TimerList::default(),
            wait_waker: None,
        }
    }
    /// Drops every stored waker (invariant 3).
    pub(crate) fn clear(&mut self) -> (TimerList, Option<Waker>) {
        (std::mem::take(&mut self.timers), self.wait_waker.take())
    }
}

struct Slot {
    generation: u32,
    deadline: Option<Instant>,
    waker: Option<Waker>,
}

/// A small slab of `(deadline, waker)` entries owned by one task, allocated
/// on the task's first timer: a task that never sleeps or times out carries
/// one null pointer (8 bytes) instead of an empty slab (56 bytes).
#[derive(Default)]
pub(crate) struct TimerList {
    slab: Option<Box<Slab>>,
}

#[derive(Default)]
struct Slab {
    slots: Vec<Slot>,
    free: Vec<usize>,
    live: usize,
}

/// Identifies one registration in a [`TimerList`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TimerKey {
    pub(crate) owner: u64,
    slot: usize,
    generation: u32,
}

impl Slab {
    fn insert(&mut self, owner: u64, deadline: Instant, waker: Waker) -> TimerKey {
        self.live += 1;
        if let Some(slot) = self.free.pop() {
            let s = &mut self.slots[slot];
            s.deadline = Some(deadline);
            s.waker = Some(waker);
            TimerKey {
                owner,
                slot,
                generation: s.generation,
            }
        } else {
            self.slots.push(Slot {
                generation: 0,
                deadline: Some(deadline),
                waker: Some(waker),
            });
            TimerKey {
                owner,
                slot: self.slots.len() - 1,
                generation: 0,
            }
        }
    }

    fn get(&mut self, key: TimerKey) -> Option<&mut Slot> {
        self.slots
            .get_mut(key.slot)
            .filter(|s| s.generation == key.generation && s.deadline.is_some())
    }

    /// Whether `key` is still registered (it has not fired).
    fn contains(&mut self, key: TimerKey) -> bool {
        self.get(key).is_some()
    }

    /// Replaces the stored waker unless it would wake the same task.
    fn update_waker(&mut self, key: TimerKey, waker: &Waker) {
        if let Some(s) = self.get(key) {
            if !s.waker.as_ref().is_some_and(|w| w.will_wake(waker)) {
                s.waker = Some(waker.clone());
            }
        }
    }

    /// Removes `key` if still registered; returns its waker (to be dropped by
    /// the caller outside any borrow).
    fn remove(&mut self, key: TimerKey) -> Option<Waker> {
        let s = self.get(key)?;
        s.deadline = None;
        s.generation = s.generation.wrapping_add(1);
        let w = s.waker.take();
        self.free.push(key.slot);
        self.live -= 1;
        w
    }

    /// The earliest registered deadline.
    fn earliest(&self) -> Option<Instant> {
        if self.live == 0 {
            return None;
        }
        self.slots.iter().filter_map(|s| s.deadline).min()
    }

    /// Removes every entry whose deadline is `<= now` and returns their
    /// wakers, in deadline order (FIFO among equal deadlines by slot order).
    fn take_expired(&mut self, now: Instant) -> Vec<Waker> {
        if self.live == 0 {
            return Vec::new();
        }
        let mut fired: Vec<(Instant, usize, Waker)> = Vec::new();
        for (i, s) in self.slots.iter_mut().enumerate() {
            if let Some(d) = s.deadline.filter(|d| *d <= now) {
                s.deadline = None;
                s.generation = s.generation.wrapping_add(1);
                self.free.push(i);
                self.live -= 1;
                if let Some(w) = s.waker.take() {
                    fired.push((d, i, w));
                }
            }
        }
        fired.sort_by_key(|(d, i, _)| (*d, *i));
        fired.into_iter().map(|(_, _, w)| w).collect()
    }
}

impl TimerList {
    /// Registers `deadline` with `waker` for `owner`.
    pub(crate) fn insert(&mut self, owner: u64, deadline: Instant, waker: Waker) -> TimerKey {
        self.slab
            .get_or_insert_with(Default::default)
            .insert(owner, deadline, waker)
    }

    /// Whether `key` names a live entry.
    pub(crate) fn contains(&mut self, key: TimerKey) -> bool {
        self.slab.as_deref_mut().is_some_and(|s| s.contains(key))
    }

    /// Replaces the waker of `key` unless it would wake the same task.
    pub(crate) fn update_waker(&mut self, key: TimerKey, waker: &Waker) {
        if let Some(s) = self.slab.as_deref_mut() {
            s.update_waker(key, waker);
        }
    }

    /// Removes `key`, returning its waker.
    pub(crate) fn remove(&mut self, key: TimerKey) -> Option<Waker> {
        self.slab.as_deref_mut()?.remove(key)
    }

    /// The earliest registered deadline.
    pub(crate) fn earliest(&self) -> Option<Instant> {
        self.slab.as_deref()?.earliest()
    }

    /// Removes every entry whose deadline is `<= now` and returns their
    /// wakers, in deadline order (FIFO among equal deadlines by slot order).
    pub(crate) fn take_expired(&mut self, now: Instant) -> Vec<Waker> {
        match self.slab.as_deref_mut() {
            Some(s) => s.take_expired(now),
            None => Vec::new(),
        }
    }
}

/// What the thread is currently running (invariant 1).
#[derive(Clone, Copy)]
pub(crate) struct Current {
    pub(crate) local: *mut TaskLocal,
    /// The task, when the owner is a spawned task (not `block_on`).
    pub(crate) task: Option<RawTask>,
}

tls! {
    static CURRENT: Cell<Option<Current>> = Cell::new(None);
}

/// Restores the previous `CURRENT` on drop.
pub(crate) struct EnterGuard(Option<Current>);

/// Makes `cur` the current timer owner until the guard drops.
pub(crate) fn enter(cur: Current) -> EnterGuard {
    EnterGuard(CURRENT.with(|c| c.replace(Some(cur))))
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        let prev = self.0.take();
        let _ = CURRENT.try_with(|c| c.set(prev));
    }
}

/// The current owner, if any.
pub(crate) fn current() -> Option<Current> {
    CURRENT.try_with(|c| c.get()).ok().flatten()
}

/// Runs `f` with exclusive access to the current owner's `TaskLocal`.
/// `f` must not call user code (it may clone/drop wakers, as every
/// timer implementation does).
pub(crate) fn with_local<R>(f: impl FnOnce(&mut TaskLocal) -> R) -> Option<R> {
    let cur = current()?;
    // SAFETY: invariant 1: while CURRENT is set, this thread has exclusive
    // access to the pointed-to TaskLocal; the borrow ends before `f` returns.
    Some(f(unsafe { &mut *cur.local }))
}
