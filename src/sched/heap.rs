//! The waiting heap: tasks that wait for a deadline, ordered by
//! `(deadline, insertion sequence)` so equal deadlines expire FIFO.
//! Owned by the sched role; nobody else touches it.
//!
//! Deadlines are ticks (`time/clock.rs` `Epoch`): integers, so a comparison
//! is two integer compares.
//!
//! # Layout
//! The items live in a slab of stable slots; the heap array holds only
//! `(deadline, seq, slot)` and each slot records where its entry sits in the
//! array. A sift step thus writes one slot of the slab (1.6 MB at 100,000
//! timers, cache-resident) instead of the header of a task last touched when
//! it went to sleep (a miss to memory per level: that was ~40% of the
//! role's time expiring 100,000 sleeps). A task's header records its slot
//! key, written once on insert and once on removal, when the task is being
//! dispatched or expired and its header is touched anyway.
//!
//! # Invariants
//! 1. A task is in the heap at most once; its recorded key names the slot
//!    that holds it (or is `NOT_IN_HEAP`). Each slot's item owns the task's
//!    notification reference.
//! 2. An entry's task is `WAITING`, or `SCHEDULED` after a wake that beat the
//!    deadline (the task then also sits in the front queue, which owns a
//!    second notification; the sched role removes the heap entry when it
//!    dispatches that one).
//! 3. 4-ary min-heap order on `(deadline, seq)`: an entry is not less than
//!    its parent (9 levels at 100,000 timers instead of a binary heap's 17).
//! 4. Entries and occupied slots correspond one to one:
//!    `slots[v[i].slot].pos == i` for every `i`, and a slot not named by an
//!    entry is on the free list (holds no item).
//! 5. What a burst grew is given back: once fewer than a quarter of more
//!    than [`SHRINK_ABOVE`] slots are occupied, a removal compacts the slab
//!    (entry `i` moves to slot `i`, its item's recorded key rewritten) and
//!    trims both vectors to twice the entries left. Each compaction costs
//!    the entries left, after at least three times as many removals, so it
//!    is amortised O(1) per removal. (Before, a burst of 100,000 sleeping
//!    tasks left the heap at its peak, 40 bytes per task, for the life of
//!    the runtime: `tests/memory.rs`
//!    `the_waiting_heap_gives_back_what_a_burst_of_sleepers_grew`.)

use crate::task::header::{Notified, NOT_IN_HEAP};

/// What the heap stores: an item that records the key of its slot, so that
/// `remove` finds it in O(1) (invariant 1). [`Notified`] in the runtime; a
/// plain cell in the unit tests.
///
/// # Safety
/// An implementation may assume what the heap guarantees: `key` and
/// `set_key` are called only by the heap's owner, which for [`Notified`] is
/// the sched-role holder (header invariant 3).
pub(crate) unsafe trait Keyed {
    /// The recorded slot key, or `NOT_IN_HEAP`.
    ///
    /// # Safety
    /// The caller owns the heap that holds (or would hold) the item.
    unsafe fn key(&self) -> u32;
    /// Records the slot key.
    ///
    /// # Safety
    /// As for `key`.
    unsafe fn set_key(&self, key: u32);
    /// Whether `self` and `other` are the same item (the same task).
    fn same(&self, other: &Self) -> bool;
}

// SAFETY: `heap_key` is owned by the sched role while the task is in the
// heap or the role's batch (header invariant 3); the heap lives in the
// role's core, reached only through its guard.
unsafe impl Keyed for Notified {
    unsafe fn key(&self) -> u32 {
        // SAFETY: caller contract (the role holder owns `heap_key`).
        self.raw().header().heap_key.with(|p| unsafe { *p })
    }
    unsafe fn set_key(&self, key: u32) {
        // SAFETY: caller contract.
        self.raw()
            .header()
            .heap_key
            .with_mut(|p| unsafe { *p = key })
    }
    fn same(&self, other: &Self) -> bool {
        self.raw() == other.raw()
    }
}

/// An array entry: the ordering key and the slot of the item.
struct Entry {
    deadline: u64,
    seq: u64,
    slot: u32,
}

impl Entry {
    fn key(&self) -> (u64, u64) {
        (self.deadline, self.seq)
    }
}

/// A slab slot: the item and its entry's index (invariant 4); when free,
/// `item` is `None` and `pos` links the next free slot (`NOT_IN_HEAP` ends
/// the list).
struct Slot<T> {
    item: Option<T>,
    pos: u32,
}

/// Children per node (invariant 3).
const ARITY: usize = 4;

/// A heap keeps up to this many slots whatever their use, so a steady load
/// of a few thousand timers never reallocates; a larger one that is mostly
/// empty is compacted (invariant 5).
const SHRINK_ABOVE: usize = 4096;

pub(crate) struct WaitingHeap<T: Keyed = Notified> {
    v: Vec<Entry>,
    slots: Vec<Slot<T>>,
    /// Head of the free-slot list (`NOT_IN_HEAP`: none).
    free: u32,
    seq: u64,
}

impl<T: Keyed> Default for WaitingHeap<T> {
    fn default() -> Self {
        WaitingHeap {
            v: Vec::new(),
            slots: Vec::new(),
            free: NOT_IN_HEAP,
            seq: 0,
        }
    }
}

/// `i` as a recorded index or key (never `NOT_IN_HEAP`).
fn idx32(i: usize) -> u32 {
    u32::try_from(i)
        .ok()
        .filter(|&p| p != NOT_IN_HEAP)
        .expect("more than 2^32 - 1 tasks waiting for a deadline")
}

impl<T: Keyed> WaitingHeap<T> {
    pub(crate) fn len(&self) -> usize {
        self.v.len()
    }

    /// The earliest deadline, in ticks.
    pub(crate) fn next_deadline(&self) -> Option<u64> {
        self.v.first().map(|e| e.deadline)
    }

    /// Inserts an item (must not be in the heap).
    pub(crate) fn insert(&mut self, deadline: u64, item: T) {
        // SAFETY (every `key`/`set_key` call of this impl): `&mut self` is
        // the heap's owner (`Keyed`'s contract).
        debug_assert_eq!(unsafe { item.key() }, NOT_IN_HEAP, "task in the heap twice");
        self.seq += 1;
        let i = idx32(self.v.len()); // also bounds the `as u32` casts of the sifts
        let slot = if self.free != NOT_IN_HEAP {
            let k = self.free;
            let s = &mut self.slots[k as usize];
            debug_assert!(s.item.is_none(), "tempo bug: an occupied free slot");
            self.free = s.pos;
            s.item = Some(item);
            k
        } else {
            let k = idx32(self.slots.len());
            self.slots.push(Slot {
                item: Some(item),
                pos: i,
            });
            k
        };
        let s = &self.slots[slot as usize];
        // SAFETY: see above.
        unsafe { s.item.as_ref().expect("just stored").set_key(slot) };
        self.v.push(Entry {
            deadline,
            seq: self.seq,
            slot,
        });
        self.sift_up(i as usize);
    }

    /// Removes `item`'s entry if it has one (`item` may be another handle
    /// to the same task), returning the entry's item.
    pub(crate) fn remove(&mut self, item: &T) -> Option<T> {
        // SAFETY: see `insert`.
        let key = unsafe { item.key() };
        if key == NOT_IN_HEAP {
            return None;
        }
        let s = self.slots.get(key as usize);
        let pos = match s {
            Some(Slot {
                item: Some(held),
                pos,
            }) if held.same(item) => *pos as usize,
            _ => panic!("tempo bug: a stale heap key"),
        };
        Some(self.remove_at(pos))
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
        self.v.clear();
        self.free = NOT_IN_HEAP;
        self.slots
            .drain(..)
            .filter_map(|s| s.item)
            .inspect(|item| {
                // SAFETY: see `insert`.
                unsafe { item.set_key(NOT_IN_HEAP) }
            })
            .collect()
    }

    fn remove_at(&mut self, i: usize) -> T {
        let e = self.v.swap_remove(i);
        let s = &mut self.slots[e.slot as usize];
        let item = s.item.take().expect("tempo bug: an entry without an item");
        s.pos = self.free;
        self.free = e.slot;
        // SAFETY: see `insert`.
        unsafe { item.set_key(NOT_IN_HEAP) };
        if i < self.v.len() {
            // The last entry moved into the hole; only one of the sifts moves it.
            if i > 0 && self.v[i].key() < self.v[(i - 1) / ARITY].key() {
                self.sift_up(i);
            } else {
                self.sift_down(i);
            }
        }
        if self.slots.len() > SHRINK_ABOVE && self.v.len() < self.slots.len() / 4 {
            self.compact();
        }
        item
    }

    /// Moves entry `i` to slot `i` for every `i`, rewriting the items'
    /// recorded keys, and trims the vectors to twice the entries left
    /// (invariant 5). Heap order is untouched (the array does not move).
    fn compact(&mut self) {
        let keep = (2 * self.v.len()).max(ARITY);
        let mut slots = Vec::with_capacity(keep);
        for (i, e) in self.v.iter_mut().enumerate() {
            let item = self.slots[e.slot as usize]
                .item
                .take()
                .expect("tempo bug: an entry without an item");
            // `i < v.len() < slots.len()`, which `idx32` bounded on insert.
            let k = i as u32;
            // SAFETY: see `insert`.
            unsafe { item.set_key(k) };
            e.slot = k;
            slots.push(Slot {
                item: Some(item),
                pos: k,
            });
        }
        self.slots = slots;
        self.free = NOT_IN_HEAP;
        self.v.shrink_to(keep);
    }

    /// Records in its slot that the entry at `i` sits at `i` (invariant 4).
    fn place(&mut self, i: usize) {
        let slot = self.v[i].slot as usize;
        self.slots[slot].pos = i as u32;
    }

    /// Moves the entry at `i` towards the root while it is less than its
    /// parent. Each step records the index of the one entry that moved
    /// down; the moving entry's index is recorded once, at the end.
    fn sift_up(&mut self, mut i: usize) {
        while i > 0 {
            let p = (i - 1) / ARITY;
            if self.v[i].key() < self.v[p].key() {
                self.v.swap(i, p);
                self.place(i);
                i = p;
            } else {
                break;
            }
        }
        self.place(i);
    }

    /// Moves the entry at `i` towards the leaves while a child is less, with
    /// the index records of `sift_up`.
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
                self.place(i);
                i = m;
            } else {
                break;
            }
        }
        self.place(i);
    }
}

#[cfg(all(test, not(any(tempo_loom, tempo_shuttle))))]
mod tests {
    //! The heap against a sorted model: random inserts, removals by key
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
    unsafe impl Keyed for Item {
        unsafe fn key(&self) -> u32 {
            self.pos.get()
        }
        unsafe fn set_key(&self, key: u32) {
            self.pos.set(key)
        }
        fn same(&self, other: &Self) -> bool {
            self.id == other.id
        }
    }

    fn pos(it: &Item) -> u32 {
        // SAFETY: the test owns the heap.
        unsafe { it.key() }
    }

    fn check(h: &WaitingHeap<Item>, what: &str) {
        let mut used = 0;
        for (i, e) in h.v.iter().enumerate() {
            let s = &h.slots[e.slot as usize];
            assert_eq!(s.pos as usize, i, "{what}: recorded index");
            let item = s.item.as_ref().expect("an entry's slot holds its item");
            assert_eq!(pos(item), e.slot, "{what}: recorded key");
            used += 1;
            if i > 0 {
                assert!(e.key() >= h.v[(i - 1) / ARITY].key(), "{what}: heap order");
            }
        }
        // Invariant 4: the other slots are exactly the free list.
        let mut free = 0;
        let mut k = h.free;
        while k != NOT_IN_HEAP {
            assert!(
                h.slots[k as usize].item.is_none(),
                "{what}: occupied free slot"
            );
            k = h.slots[k as usize].pos;
            free += 1;
        }
        assert_eq!(used + free, h.slots.len(), "{what}: slots leaked");
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
            // A burst far above `SHRINK_ABOVE`, then removals down to a few:
            // the vectors are given back (invariant 5), order and keys intact.
            for k in 0..5 * SHRINK_ABOVE {
                let it = Item {
                    id: items.len(),
                    pos: Rc::new(Cell::new(NOT_IN_HEAP)),
                };
                let d = now + 1 + rnd(1000);
                inserted += 1;
                model.push((d, inserted, it.id));
                items.push(it.clone());
                h.insert(d, it);
                if k % 512 == 0 {
                    check(&h, &format!("seed {seed} burst {k}"));
                }
            }
            while model.len() > 10 {
                let k = rnd(model.len() as u64) as usize;
                let (_, _, id) = model.swap_remove(k);
                assert_eq!(h.remove(&items[id]).expect("present").id, id);
                if model.len() % 512 == 0 {
                    check(&h, &format!("seed {seed} drain {}", model.len()));
                }
            }
            check(&h, &format!("seed {seed} drained"));
            assert!(
                h.slots.capacity() <= SHRINK_ABOVE && h.v.capacity() <= SHRINK_ABOVE,
                "seed {seed}: the burst's vectors were kept ({} slots, {} entries)",
                h.slots.capacity(),
                h.v.capacity()
            );
            now += 2000;
            model.sort();
            let want: Vec<usize> = model.drain(..).map(|m| m.2).collect();
            let mut got = Vec::new();
            while let Some(it) = h.pop_expired(now) {
                got.push(it.id);
            }
            assert_eq!(got, want, "seed {seed}: expiry order after compaction");
            let left = h.drain();
            assert_eq!(left.len(), model.len());
            assert!(left.iter().all(|it| pos(it) == NOT_IN_HEAP));
        }
    }
}
