//! The waiting heap: tasks that wait for a deadline, ordered by
//! `(deadline, insertion sequence)` so equal deadlines expire FIFO.
//! Owned by the sched role; nobody else touches it.
//!
//! Deadlines are ticks (`time/clock.rs` `Epoch`): integers, so an entry is
//! 24 bytes and a comparison is two integer compares.
//!
//! # Invariants
//! 1. A task is in the heap at most once; its `heap_pos` is its index
//!    (or `NOT_IN_HEAP`). Each entry owns the task's notification reference.
//! 2. An entry's task is `WAITING`, or `SCHEDULED` after a wake that beat the
//!    deadline (the task then also sits in the front queue, which owns a
//!    second notification; the sched role removes the heap entry when it
//!    dispatches that one).
//! 3. 4-ary min-heap order on `(deadline, seq)`: an entry is not less than
//!    its parent. Four children per node halve the depth of a binary heap
//!    (9 levels at 100,000 timers instead of 17), and with it the number of
//!    `heap_pos` writes into cold task headers per insert and pop.

use crate::task::header::{Notified, NOT_IN_HEAP};

/// What the heap stores: an item that records its own index, so that
/// `remove` finds it in O(1) (invariant 1). [`Notified`] in the runtime; a
/// plain cell in the unit tests.
///
/// # Safety
/// An implementation may assume what the heap guarantees: `pos` and
/// `set_pos` are called only by the heap's owner, which for [`Notified`] is
/// the sched-role holder (header invariant 3).
pub(crate) unsafe trait Positioned {
    /// The recorded index, or `NOT_IN_HEAP`.
    ///
    /// # Safety
    /// The caller owns the heap that holds (or would hold) the item.
    unsafe fn pos(&self) -> u32;
    /// Records the index.
    ///
    /// # Safety
    /// As for `pos`.
    unsafe fn set_pos(&self, pos: u32);
    /// Whether `self` and `other` are the same item (the same task).
    fn same(&self, other: &Self) -> bool;
}

// SAFETY: `heap_pos` is owned by the sched role while the task is in the
// heap or the role's batch (header invariant 3); the heap lives in the
// role's core, reached only through its guard.
unsafe impl Positioned for Notified {
    unsafe fn pos(&self) -> u32 {
        // SAFETY: caller contract (the role holder owns `heap_pos`).
        self.raw().header().heap_pos.with(|p| unsafe { *p })
    }
    unsafe fn set_pos(&self, pos: u32) {
        // SAFETY: caller contract.
        self.raw()
            .header()
            .heap_pos
            .with_mut(|p| unsafe { *p = pos })
    }
    fn same(&self, other: &Self) -> bool {
        self.raw() == other.raw()
    }
}

struct Entry<T> {
    deadline: u64,
    seq: u64,
    item: T,
}

impl<T> Entry<T> {
    fn key(&self) -> (u64, u64) {
        (self.deadline, self.seq)
    }
}

/// Children per node (invariant 3).
const ARITY: usize = 4;

pub(crate) struct WaitingHeap<T: Positioned = Notified> {
    v: Vec<Entry<T>>,
    seq: u64,
}

impl<T: Positioned> Default for WaitingHeap<T> {
    fn default() -> Self {
        WaitingHeap {
            v: Vec::new(),
            seq: 0,
        }
    }
}

/// `i` as a recorded position (the heap never holds `NOT_IN_HEAP` entries).
fn pos32(i: usize) -> u32 {
    u32::try_from(i)
        .ok()
        .filter(|&p| p != NOT_IN_HEAP)
        .expect("more than 2^32 - 1 tasks waiting for a deadline")
}

impl<T: Positioned> WaitingHeap<T> {
    pub(crate) fn len(&self) -> usize {
        self.v.len()
    }

    /// The earliest deadline, in ticks.
    pub(crate) fn next_deadline(&self) -> Option<u64> {
        self.v.first().map(|e| e.deadline)
    }

    /// Inserts an item (must not be in the heap).
    pub(crate) fn insert(&mut self, deadline: u64, item: T) {
        // SAFETY (every `pos`/`set_pos` call of this impl): `&mut self` is
        // the heap's owner (`Positioned`'s contract).
        debug_assert_eq!(unsafe { item.pos() }, NOT_IN_HEAP, "task in the heap twice");
        self.seq += 1;
        let i = self.v.len();
        pos32(i); // the overflow check for the `as u32` casts of the sifts
        self.v.push(Entry {
            deadline,
            seq: self.seq,
            item,
        });
        self.sift_up(i);
    }

    /// Removes `item`'s entry if it has one (`item` may be another handle
    /// to the same task), returning the entry's item.
    pub(crate) fn remove(&mut self, item: &T) -> Option<T> {
        // SAFETY: see `insert`.
        let pos = unsafe { item.pos() };
        if pos == NOT_IN_HEAP {
            return None;
        }
        let i = pos as usize;
        assert!(
            i < self.v.len() && self.v[i].item.same(item),
            "tempo bug: a stale heap position"
        );
        Some(self.remove_at(i))
    }

    /// Pops the earliest entry if its deadline is `<= now` (ticks).
    pub(crate) fn pop_expired(&mut self, now: u64) -> Option<T> {
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
    pub(crate) fn drain(&mut self) -> Vec<T> {
        self.v
            .drain(..)
            .map(|e| {
                // SAFETY: see `insert`.
                unsafe { e.item.set_pos(NOT_IN_HEAP) };
                e.item
            })
            .collect()
    }

    fn remove_at(&mut self, i: usize) -> T {
        let last = self.v.len() - 1;
        self.v.swap(i, last);
        let e = self.v.pop().expect("non-empty");
        // SAFETY: see `insert`.
        unsafe { e.item.set_pos(NOT_IN_HEAP) };
        if i < self.v.len() {
            // The last entry moved into the hole; only one of the sifts moves it.
            if i > 0 && self.v[i].key() < self.v[(i - 1) / ARITY].key() {
                self.sift_up(i);
            } else {
                self.sift_down(i);
            }
        }
        e.item
    }

    /// Moves the entry at `i` towards the root while it is less than its
    /// parent. Each step writes the position of the one entry that moved
    /// down; the moving entry's position is written once, at the end.
    fn sift_up(&mut self, mut i: usize) {
        while i > 0 {
            let p = (i - 1) / ARITY;
            if self.v[i].key() < self.v[p].key() {
                self.v.swap(i, p);
                // SAFETY: see `insert`.
                unsafe { self.v[i].item.set_pos(i as u32) };
                i = p;
            } else {
                break;
            }
        }
        // SAFETY: see `insert`.
        unsafe { self.v[i].item.set_pos(i as u32) };
    }

    /// Moves the entry at `i` towards the leaves while a child is less, with
    /// the position writes of `sift_up`.
    fn sift_down(&mut self, mut i: usize) {
        let n = self.v.len();
        loop {
            let first = ARITY * i + 1;
            if first >= n {
                break;
            }
            let mut m = first;
            for c in first + 1..(first + ARITY).min(n) {
                if self.v[c].key() < self.v[m].key() {
                    m = c;
                }
            }
            if self.v[m].key() < self.v[i].key() {
                self.v.swap(i, m);
                // SAFETY: see `insert`.
                unsafe { self.v[i].item.set_pos(i as u32) };
                i = m;
            } else {
                break;
            }
        }
        // SAFETY: see `insert`.
        unsafe { self.v[i].item.set_pos(i as u32) };
    }
}

#[cfg(all(test, not(any(tempo_loom, tempo_shuttle))))]
mod tests {
    //! The heap against a sorted model: random inserts, removals by position
    //! and expiries; every recorded position checked after every step.
    use super::*;
    use std::cell::Cell;
    use std::rc::Rc;

    #[derive(Clone)]
    struct Item {
        id: usize,
        pos: Rc<Cell<u32>>,
    }

    // SAFETY: a single-threaded cell; the contract asks nothing more.
    unsafe impl Positioned for Item {
        unsafe fn pos(&self) -> u32 {
            self.pos.get()
        }
        unsafe fn set_pos(&self, pos: u32) {
            self.pos.set(pos)
        }
        fn same(&self, other: &Self) -> bool {
            self.id == other.id
        }
    }

    fn pos(it: &Item) -> u32 {
        // SAFETY: the test owns the heap.
        unsafe { it.pos() }
    }

    fn check(h: &WaitingHeap<Item>, what: &str) {
        for (i, e) in h.v.iter().enumerate() {
            assert_eq!(pos(&e.item) as usize, i, "{what}: recorded position");
            if i > 0 {
                assert!(e.key() >= h.v[(i - 1) / ARITY].key(), "{what}: heap order");
            }
        }
    }

    #[test]
    fn matches_a_sorted_model() {
        for seed in 1..=20u64 {
            let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
            let mut rnd = move |n: u64| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x % n
            };
            let mut h = WaitingHeap::<Item>::default();
            // The model: (deadline, insertion number, id) of live entries.
            let mut model: Vec<(u64, u64, usize)> = Vec::new();
            let mut items: Vec<Item> = Vec::new();
            let mut inserted = 0u64;
            let mut now = 0u64;
            for step in 0..3000 {
                let what = format!("seed {seed} step {step}");
                match rnd(10) {
                    0..=4 => {
                        let it = Item {
                            id: items.len(),
                            pos: Rc::new(Cell::new(NOT_IN_HEAP)),
                        };
                        // Few distinct deadlines, so equal ones are common.
                        let d = now + rnd(50);
                        inserted += 1;
                        model.push((d, inserted, it.id));
                        items.push(it.clone());
                        h.insert(d, it);
                    }
                    5..=6 if !model.is_empty() => {
                        let k = rnd(model.len() as u64) as usize;
                        let (_, _, id) = model.swap_remove(k);
                        let got = h.remove(&items[id]).expect("present");
                        assert_eq!(got.id, id, "{what}: removed the wrong entry");
                        assert_eq!(pos(&items[id]), NOT_IN_HEAP, "{what}: stale position");
                        assert!(h.remove(&items[id]).is_none());
                    }
                    _ => {
                        now += rnd(10);
                        model.sort();
                        let due = model.iter().take_while(|m| m.0 <= now).count();
                        let want: Vec<usize> = model.drain(..due).map(|m| m.2).collect();
                        let mut got = Vec::new();
                        while let Some(it) = h.pop_expired(now) {
                            got.push(it.id);
                        }
                        assert_eq!(got, want, "{what}: expiry order");
                    }
                }
                check(&h, &what);
                assert_eq!(h.len(), model.len(), "{what}: length");
                let min = model.iter().map(|m| (m.0, m.1)).min().map(|m| m.0);
                assert_eq!(h.next_deadline(), min, "{what}: next deadline");
            }
            let left = h.drain();
            assert_eq!(left.len(), model.len());
            assert!(left.iter().all(|it| pos(it) == NOT_IN_HEAP));
        }
    }
}
