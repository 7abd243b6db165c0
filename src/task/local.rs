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
//!    Owner ids (task and `block_on` frame ids) are unique within the
//!    process, across runtimes (`shim::IdSource`).
//!    A sleep moved to another task (or dropped elsewhere) leaves its old entry
//!    to fire once, spuriously and harmlessly, and registers anew.
//! 3. `TaskLocal` is cleared when the task completes, so wakers stored in it
//!    never keep a finished task alive.
//! 4. A timer entry without a waker (`None`) belongs to a spawned task and
//!    stands for the task's own waker. Its entries are fired only by the
//!    worker that runs the task, just before the poll (`worker.rs`
//!    `run_one`, holding the run permission), which the wake would only ask
//!    for again, so it is skipped; a `block_on` frame
//!    (`Current::running_task` is `None`) always stores its waker.
//! 5. Every pending `wait` of the task has its waker among `wait_wakers`
//!    (deduplicated with `will_wake`), and a run that consumes `WOKEN` or
//!    `SIGNALED` fires them all: several `wait`s pending at once (children
//!    of a `FuturesUnordered`) each see the wake-up or the signal. A
//!    `wait` that ended without a firing leaves its waker to fire once,
//!    spuriously and harmlessly. (The slab kept one waker, and a second
//!    `wait` replaced the first one's: a second `wakeup` was lost, and a
//!    signal re-ran the task forever without reaching the first `wait`:
//!    `tests/task_control.rs::concurrent_waits_each_see_wakeups_and_signals`.)
//!    `waits` counts the task's pending `wait`s (each counted once, in the
//!    task that first polled it `Pending`); when the last one ends (ready or
//!    dropped), the list is emptied: a waker left by an ended `wait` then
//!    never fires, and the list holds no more wakers than the `wait`s of one
//!    busy period. (Before, each `wait_timeout` that expired inside a
//!    `FuturesUnordered`, whose children each have their own waker, left
//!    its waker and with it the child's allocation in the list until the
//!    next wakeup or signal, which a task that only times out never gets:
//!    200 bytes per wait, without bound:
//!    `tests/memory.rs::expired_waits_do_not_pile_up_in_a_living_task`.)
//! 6. What a burst of timers grew is given back while the task lives: a
//!    slab of more than [`TRIM_ABOVE`] slots frees them all when its last
//!    entry is removed, and gives back its tail once the upper half of its
//!    slots is free (heap mode, invariant 7, knows that from a count; a slab
//!    of at most [`HEAP_ABOVE`] slots never truncates but at zero). Each
//!    truncation scans the slots once and frees at least half of them, so
//!    its cost is paid by the pushes that made them. Keys of removed slots
//!    may still be held by fired registrations (`time/timer.rs` invariant
//!    2), so a slot pushed anew takes the generation `fresh_gen`, at least
//!    that of every slot truncated at its index: a stale key never names a
//!    new entry. Free slots are chained lowest first after a truncation, so
//!    that the low ones are reused. (Before, a task that once held 100,000
//!    timers kept 5.2 MB, and every later run scanned 100,000 slots, for the
//!    task's life: `tests/memory.rs`
//!    `a_task_gives_back_what_a_burst_of_its_timers_grew`.)
//! 7. *Heap mode.* While a slab has more than [`HEAP_ABOVE`] slots, its
//!    deadlines are also kept in a min-heap of `(deadline, slot,
//!    generation)` (in [`Extra`]): every live entry has its heap entry,
//!    and the heap's top entry, if any, is live (a removal pops the stale
//!    entries off the top; the others stay until they surface, and are
//!    all dropped once they outnumber the live entries twice over: O(heap),
//!    paid by the removals that made them stale). `earliest` reads the top
//!    and an expiry pops what expired, in deadline order, instead of
//!    scanning every slot. `Extra::upper` counts the live entries at or
//!    above a mark, half the slot count when it was set (when the heap is
//!    built, when the slots have doubled since, after a truncation): at
//!    zero the tail is free and is given back (invariant 6). With
//!    [`HEAP_ABOVE`] slots or fewer the heap is dropped and scans take over.
//!    (Before, each run of a task holding n timers scanned all n slots
//!    twice: 50,000 timers in one task were fired up to 24 ms late, and
//!    20,000 fired one by one visited 533,373,595 slots:
//!    `tests::many_timers_in_one_task_are_not_scanned_per_run`.)

use super::budget::BudgetGuard;
use super::header::RawTask;
use crate::shim::tls;
use smallvec::SmallVec;
use std::cell::Cell;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::task::Waker;
use std::time::Instant;

/// The task's own timers and waiters: one pointer, null until the task
/// first registers a timer or waits (a task that never does carries 8 bytes).
pub(crate) struct TaskLocal {
    pub(crate) timers: TimerList,
}

impl TaskLocal {
    pub(crate) const fn new() -> TaskLocal {
        TaskLocal {
            timers: TimerList { slab: None },
        }
    }

    /// Stores the waker of a pending `wait`/`wait_until` (fired when the task
    /// is run with `WOKEN` or `SIGNALED` set), unless a stored one would wake
    /// the same (invariant 5).
    pub(crate) fn set_wait_waker(&mut self, waker: &Waker) {
        let wakers = &mut self.timers.slab_mut().extra_mut().wait_wakers;
        if !wakers.iter().any(|w| w.will_wake(waker)) {
            wakers.push(waker.clone());
        }
    }

    /// Counts a `wait` that is pending from now on (invariant 5).
    pub(crate) fn wait_started(&mut self) {
        let e = self.timers.slab_mut().extra_mut();
        e.waits = e
            .waits
            .checked_add(1)
            .expect("more than 2^32 - 1 pending waits in one task");
    }

    /// Uncounts a `wait` that [`wait_started`](Self::wait_started) counted;
    /// when it was the last, takes the list of wakers (invariant 5) for the
    /// caller to drop after its borrow of the `TaskLocal` ends. (A slab
    /// cleared since, at completion, counts nothing.)
    pub(crate) fn wait_ended(&mut self) -> WaitWakers {
        let Some(s) = self.timers.slab.as_deref_mut() else {
            return WaitWakers::new();
        };
        let Some(e) = s.extra.as_deref_mut() else {
            return WaitWakers::new();
        };
        if e.waits == 0 {
            return WaitWakers::new();
        }
        e.waits -= 1;
        if e.waits > 0 {
            return WaitWakers::new();
        }
        let wakers = std::mem::take(&mut e.wait_wakers);
        s.trim_extra();
        wakers
    }

    /// Takes the wakers of the pending `wait`s (invariant 5), for the caller
    /// to wake (or drop) after its borrow of the `TaskLocal` ends.
    pub(crate) fn take_wait_wakers(&mut self) -> WaitWakers {
        match self
            .timers
            .slab
            .as_deref_mut()
            .and_then(|s| s.extra.as_deref_mut())
        {
            Some(e) => std::mem::take(&mut e.wait_wakers),
            None => WaitWakers::new(),
        }
    }

    /// Takes every stored waker (invariant 3); the caller drops the result
    /// outside any borrow of the task.
    pub(crate) fn clear(&mut self) -> TimerList {
        std::mem::take(&mut self.timers)
    }
}

struct Slot {
    generation: u32,
    /// Next free slot (`NO_SLOT`: none) while this one is free.
    next_free: u32,
    deadline: Option<Instant>,
    /// The waker to fire; `None` in a live entry means the owner task's own
    /// waker, which is not stored: it is fired only just before the owner's
    /// poll, when waking it is not needed (invariant 4), so the clone and its drop
    /// (two RMWs on the task's reference count per timer) are saved.
    waker: Option<Waker>,
}

/// End of the free chain.
const NO_SLOT: u32 = u32::MAX;

/// Entries held in the slab's own allocation: one. Most tasks hold one timer
/// at a time (a `sleep`, a `timeout` or a `wait_until`); a task that holds two
/// at once (a `timeout` around a `sleep`) moves its slots to a second
/// allocation, once: the slot vector keeps its capacity for the task's life.
/// One inline slot instead of two made the slab 72 bytes, an 80-byte malloc
/// chunk instead of 128: the first sleep of each of 100,000 tasks faulted in
/// 37% fewer fresh pages (`benches/RESULTS.md`, eighth session). It grew to
/// 88 bytes (a 96-byte chunk) with the `wait` wakers' list (invariant 5)
/// and `fresh_gen` (invariant 6), and is 72 (an 80-byte chunk) since the
/// `wait` state and the deadline heap (invariant 7) moved to a second
/// allocation ([`Extra`]) that only a task that waits or holds more than
/// [`HEAP_ABOVE`] timers makes.
const INLINE: usize = 1;

/// A slab keeps up to this many slots whatever their use; beyond, what is
/// free at the end is given back (invariant 6).
const TRIM_ABOVE: usize = 16;

/// The wakers of a task's pending `wait`s (invariant 5): one inline.
pub(crate) type WaitWakers = SmallVec<[Waker; 1]>;

/// Wakers fired by one `take_expired`, held on the stack.
const FIRED_INLINE: usize = 2;

/// A small slab of `(deadline, waker)` entries owned by one task, allocated
/// on the task's first timer: a task that never sleeps or times out carries
/// one null pointer (8 bytes) instead of an empty slab. The slab itself is one
/// allocation while it holds at most `INLINE` entries, and its free slots form
/// a chain through `Slot::next_free`, so registering, cancelling and firing a
/// timer allocate nothing after the first (or, for a task that once held
/// more than `INLINE` timers at a time, after the first spill).
#[derive(Default)]
pub(crate) struct TimerList {
    slab: Option<Box<Slab>>,
}

struct Slab {
    slots: SmallVec<[Slot; INLINE]>,
    free_head: u32,
    /// Live entries (at most the slot count, which `insert` keeps below
    /// `NO_SLOT`): a `u32` beside `free_head`, so the two share one word
    /// (see [`INLINE`]).
    live: u32,
    /// The generation a slot pushed anew starts at (invariant 6).
    fresh_gen: u32,
    /// The `wait` wakers and the deadline heap (invariants 5 and 7), in a
    /// second allocation that only a task that waits or holds many timers
    /// at once makes: the slab of a task that only sleeps or times out
    /// stays small.
    extra: Option<Box<Extra>>,
}

/// What few tasks need (see [`Slab::extra`]).
#[derive(Default)]
struct Extra {
    /// Pending `wait`s (invariant 5).
    waits: u32,
    /// In heap mode (invariant 7): the slot count when `mark` was set, the
    /// first slot of the watched upper part (half that count), and how many
    /// live entries sit at `mark` or above. At zero, the upper part is free
    /// and the slab can give it back (invariant 6).
    mark_len: u32,
    mark: u32,
    upper: u32,
    /// Wakers of the pending `wait`/`wait_until`s (invariant 5). One inline.
    wait_wakers: WaitWakers,
    /// The deadline heap while the slab has more than [`HEAP_ABOVE`] slots
    /// (invariant 7).
    heap: Option<BinaryHeap<Reverse<HeapEntry>>>,
}

/// A heap entry: a registration's deadline, slot and generation. Ordered
/// by deadline, then slot: the linear scan's order (FIFO among equal
/// deadlines by slot order).
type HeapEntry = (Instant, u32, u32);

/// Above this many slots a slab keeps its deadlines in a heap (invariant
/// 7); up to it a scan of the slots is cheaper than a heap's upkeep.
const HEAP_ABOVE: usize = TRIM_ABOVE;

impl Default for Slab {
    fn default() -> Self {
        Slab {
            slots: SmallVec::new(),
            free_head: NO_SLOT,
            live: 0,
            fresh_gen: 0,
            extra: None,
        }
    }
}

/// The wakers of the timers one `take_expired` fired, in deadline order.
pub(crate) type Fired = SmallVec<[Waker; FIRED_INLINE]>;

/// Identifies one registration in a [`TimerList`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TimerKey {
    pub(crate) owner: u64,
    slot: u32,
    generation: u32,
}

#[cfg(all(test, not(any(tempo_loom, tempo_shuttle))))]
tls! {
    /// Slots visited by linear scans on this thread (the invariant 7 test).
    static SCANNED: Cell<u64> = const { Cell::new(0) };
}

/// Counts `n` slots visited by a linear scan (unit tests only).
#[inline]
fn scanned(_n: usize) {
    #[cfg(all(test, not(any(tempo_loom, tempo_shuttle))))]
    SCANNED.with(|c| c.set(c.get() + _n as u64));
}

impl Slab {
    fn extra_mut(&mut self) -> &mut Extra {
        self.extra.get_or_insert_with(Default::default)
    }

    /// The heap, in heap mode (invariant 7).
    fn heap_mut(&mut self) -> Option<&mut BinaryHeap<Reverse<HeapEntry>>> {
        self.extra.as_deref_mut()?.heap.as_mut()
    }

    /// Gives the second allocation back once it holds nothing.
    fn trim_extra(&mut self) {
        if self
            .extra
            .as_deref()
            .is_some_and(|e| e.waits == 0 && e.wait_wakers.is_empty() && e.heap.is_none())
        {
            self.extra = None;
        }
    }

    /// Whether `e` names the live registration in its slot.
    fn is_live(&self, (d, i, g): HeapEntry) -> bool {
        self.slots
            .get(i as usize)
            .is_some_and(|s| s.generation == g && s.deadline == Some(d))
    }

    /// Builds the heap from the live slots, or drops it, as the slot count
    /// asks (invariant 7). O(slots) when it builds.
    fn rebuild_heap(&mut self) {
        let entries: Option<Vec<_>> = (self.slots.len() > HEAP_ABOVE).then(|| {
            scanned(self.slots.len());
            self.slots
                .iter()
                .enumerate()
                .filter_map(|(i, s)| Some(Reverse((s.deadline?, i as u32, s.generation))))
                .collect()
        });
        match entries {
            Some(v) => {
                self.extra_mut().heap = Some(BinaryHeap::from(v));
                self.remark();
            }
            None => {
                if let Some(e) = self.extra.as_deref_mut() {
                    e.heap = None;
                }
                self.trim_extra();
            }
        }
    }

    /// Sets the watched upper part of the slots to their upper half and
    /// counts its live entries (invariant 7): O(slots / 2), done when the
    /// heap is built and each time the slots have doubled since (amortised
    /// by the pushes that doubled them) or shrunk.
    fn remark(&mut self) {
        let len = self.slots.len();
        let mark = len / 2;
        scanned(len - mark);
        let upper = self.slots[mark..]
            .iter()
            .filter(|s| s.deadline.is_some())
            .count();
        let e = self.extra_mut();
        // `len` fits: `insert` keeps the slot count below `NO_SLOT`.
        (e.mark_len, e.mark, e.upper) = (len as u32, mark as u32, upper as u32);
    }

    /// After entries left in heap mode (invariant 7): the top made live
    /// again, and the slots given back once the watched upper part is free
    /// (invariant 6: one scan for the last live slot, paid for by the half
    /// or more of the slots it frees).
    fn settle_heap(&mut self) {
        self.prune_heap();
        if self.live == 0 {
            self.truncate(0);
        } else if self
            .extra
            .as_deref()
            .is_some_and(|e| e.heap.is_some() && e.upper == 0)
        {
            scanned(self.slots.len());
            let keep = self
                .slots
                .iter()
                .rposition(|s| s.deadline.is_some())
                .map_or(0, |i| i + 1);
            debug_assert!(
                keep <= self.slots.len() / 2,
                "tempo bug: a live entry above the mark"
            );
            self.truncate(keep);
        }
    }

    /// Drops stale entries from the top of the heap (invariant 7: the top
    /// is live), and all of them when they outnumber the live ones twice
    /// over (amortised O(1) per cancellation).
    fn prune_heap(&mut self) {
        let live = self.live as usize;
        let Some(mut heap) = self.heap_mut().map(std::mem::take) else {
            return;
        };
        while let Some(&Reverse(e)) = heap.peek() {
            if self.is_live(e) {
                break;
            }
            heap.pop();
        }
        if heap.len() > 2 * live + HEAP_ABOVE {
            // O(heap), paid for by the cancellations that made them stale
            // (a rebuild from the slots was O(slots): a live entry pinning
            // the top slot made every 17th cancellation scan them all).
            heap.retain(|&Reverse(e)| self.is_live(e));
            heap.shrink_to_fit();
        }
        if let Some(h) = self.heap_mut() {
            *h = heap;
        }
    }

    fn insert(&mut self, owner: u64, deadline: Instant, waker: Option<Waker>) -> TimerKey {
        self.live += 1;
        let slot = if self.free_head != NO_SLOT {
            let slot = self.free_head;
            let s = &mut self.slots[slot as usize];
            self.free_head = s.next_free;
            s.next_free = NO_SLOT;
            s.deadline = Some(deadline);
            s.waker = waker;
            slot
        } else {
            let slot = u32::try_from(self.slots.len())
                .ok()
                .filter(|&i| i != NO_SLOT)
                .expect("more than 2^32 - 1 live timers in one task");
            self.slots.push(Slot {
                generation: self.fresh_gen,
                next_free: NO_SLOT,
                deadline: Some(deadline),
                waker,
            });
            slot
        };
        let generation = self.slots[slot as usize].generation;
        let len = self.slots.len();
        match self.extra.as_deref_mut() {
            Some(Extra {
                heap: Some(h),
                mark_len,
                mark,
                upper,
                ..
            }) => {
                h.push(Reverse((deadline, slot, generation)));
                if slot >= *mark {
                    *upper += 1;
                }
                if len > 2 * *mark_len as usize {
                    self.remark();
                }
            }
            _ if len > HEAP_ABOVE => self.rebuild_heap(),
            _ => {}
        }
        TimerKey {
            owner,
            slot,
            generation,
        }
    }

    fn get(&mut self, key: TimerKey) -> Option<&mut Slot> {
        self.slots
            .get_mut(key.slot as usize)
            .filter(|s| s.generation == key.generation && s.deadline.is_some())
    }

    /// Whether `key` is still registered (it has not fired).
    fn contains(&mut self, key: TimerKey) -> bool {
        self.get(key).is_some()
    }

    /// Replaces the stored waker unless it would wake the same task;
    /// returns the replaced one.
    fn update_waker(&mut self, key: TimerKey, waker: Option<&Waker>) -> Option<Waker> {
        let s = self.get(key)?;
        match (&s.waker, waker) {
            (None, None) => None,
            (Some(w), Some(n)) if w.will_wake(n) => None,
            _ => std::mem::replace(&mut s.waker, waker.cloned()),
        }
    }

    /// Frees slot `i` (which is live): bumps its generation, so stale keys
    /// (and heap entries) miss it, and chains it into the free list.
    /// Returns its waker (`None`: the owner's own, see [`Slot::waker`]).
    fn release(&mut self, i: u32) -> Option<Waker> {
        let head = self.free_head;
        let s = &mut self.slots[i as usize];
        s.deadline = None;
        s.generation = s.generation.wrapping_add(1);
        s.next_free = head;
        self.free_head = i;
        self.live -= 1;
        let w = s.waker.take();
        if let Some(Extra {
            heap: Some(_),
            mark,
            upper,
            ..
        }) = self.extra.as_deref_mut()
        {
            if i >= *mark {
                *upper -= 1;
            }
        }
        w
    }

    /// Removes `key` if still registered; returns its waker (to be dropped by
    /// the caller outside any borrow).
    fn remove(&mut self, key: TimerKey) -> Option<Waker> {
        self.get(key)?;
        let w = self.release(key.slot);
        if self.heap_mut().is_some() {
            self.settle_heap();
        } else if self.live == 0 {
            self.truncate(0);
        }
        w
    }

    /// Frees the slots from `keep` on, which are all free, if there are
    /// more than [`TRIM_ABOVE`] slots and they are at least half of them
    /// (invariant 6): raises `fresh_gen` past their generations, rebuilds
    /// the free chain lowest first, and gives back the spare capacity; the
    /// heap goes with the slots when they fall to [`HEAP_ABOVE`] or fewer
    /// (invariant 7). O(slots) when it truncates.
    fn truncate(&mut self, keep: usize) {
        let len = self.slots.len();
        if len <= TRIM_ABOVE || keep > len / 2 {
            return;
        }
        scanned(len);
        for s in &self.slots[keep..] {
            debug_assert!(s.deadline.is_none(), "tempo bug: truncating a live slot");
            // Every stale key of this slot has an older generation.
            self.fresh_gen = self.fresh_gen.max(s.generation);
        }
        self.slots.truncate(keep);
        self.slots.shrink_to_fit();
        self.free_head = NO_SLOT;
        for (i, s) in self.slots.iter_mut().enumerate().rev() {
            if s.deadline.is_none() {
                s.next_free = self.free_head;
                // `i < keep <= len`, which `insert` keeps below `NO_SLOT`.
                self.free_head = i as u32;
            }
        }
        // The heap's entries of truncated slots name no slot any more
        // (stale); with few slots left, scans take over again.
        self.rebuild_heap();
    }

    /// The earliest registered deadline: the heap's top in heap mode
    /// (invariant 7), else a scan of the slots.
    fn earliest(&self) -> Option<Instant> {
        if self.live == 0 {
            return None;
        }
        if let Some(h) = self.extra.as_deref().and_then(|e| e.heap.as_ref()) {
            return h.peek().map(|&Reverse((d, _, _))| d);
        }
        scanned(self.slots.len());
        self.slots.iter().filter_map(|s| s.deadline).min()
    }

    /// Removes every entry whose deadline is `<= now` and returns their
    /// wakers, in deadline order (FIFO among equal deadlines by slot order);
    /// the owner's own (not stored) are left out.
    fn take_expired(&mut self, now: Instant) -> Fired {
        let mut fired: SmallVec<[(Instant, u32); FIRED_INLINE]> = SmallVec::new();
        // A slab out of heap mode has at most `HEAP_ABOVE` (= `TRIM_ABOVE`)
        // slots, which invariant 6 never truncates: only heap mode settles.
        let heap_mode = self.heap_mut().is_some();
        if self.live > 0 {
            if let Some(mut heap) = self.heap_mut().map(std::mem::take) {
                // Popped in deadline order: no sort needed.
                while let Some(&Reverse(e @ (d, i, _))) = heap.peek() {
                    if d > now {
                        break;
                    }
                    heap.pop();
                    if self.is_live(e) {
                        fired.push((d, i));
                    }
                }
                if let Some(h) = self.heap_mut() {
                    *h = heap;
                }
            } else {
                debug_assert!(self.slots.len() <= TRIM_ABOVE, "invariant 7");
                scanned(self.slots.len());
                for (i, s) in self.slots.iter().enumerate() {
                    if let Some(d) = s.deadline {
                        if d <= now {
                            // `i` fits: `insert` never makes more than `NO_SLOT` slots.
                            fired.push((d, i as u32));
                        }
                    }
                }
                if fired.len() > 1 {
                    fired.sort_unstable();
                }
            }
        }
        let wakers = fired
            .into_iter()
            .filter_map(|(_, i)| self.release(i))
            .collect();
        if heap_mode {
            self.settle_heap();
        }
        wakers
    }
}

impl TimerList {
    fn slab_mut(&mut self) -> &mut Slab {
        self.slab.get_or_insert_with(Default::default)
    }

    /// Registers `deadline` with `waker` for `owner` (`None`: the owner
    /// task's own waker, which is not stored; only a spawned task's run loop
    /// may fire such an entry, see [`Slot::waker`]).
    pub(crate) fn insert(
        &mut self,
        owner: u64,
        deadline: Instant,
        waker: Option<&Waker>,
    ) -> TimerKey {
        self.slab_mut().insert(owner, deadline, waker.cloned())
    }

    /// Whether `key` names a live entry.
    pub(crate) fn contains(&mut self, key: TimerKey) -> bool {
        self.slab.as_deref_mut().is_some_and(|s| s.contains(key))
    }

    /// Replaces the waker of `key` unless it would wake the same task.
    /// Returns the replaced waker, for the caller to drop after its borrow
    /// ends (dropping a waker may free a task, whose drop may reach
    /// `with_local` again).
    #[must_use = "drop the replaced waker outside the borrow"]
    pub(crate) fn update_waker(&mut self, key: TimerKey, waker: Option<&Waker>) -> Option<Waker> {
        self.slab.as_deref_mut()?.update_waker(key, waker)
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
    /// wakers, in deadline order (FIFO among equal deadlines by slot order);
    /// the owner's own (not stored) are left out.
    pub(crate) fn take_expired(&mut self, now: Instant) -> Fired {
        match self.slab.as_deref_mut() {
            Some(s) => s.take_expired(now),
            None => Fired::new(),
        }
    }
}

/// What the thread is currently running (invariant 1).
#[derive(Clone, Copy)]
pub(crate) struct Current {
    owner: Owner,
    pub(crate) local: *mut TaskLocal,
}

/// Whose poll is running: a spawned task, or a `block_on` frame (by id).
#[derive(Clone, Copy)]
enum Owner {
    Task(RawTask),
    Frame(u64),
}

impl Current {
    /// A spawned task's poll, with its task-local state at `local`.
    pub(crate) fn task(t: RawTask, local: *mut TaskLocal) -> Current {
        Current {
            owner: Owner::Task(t),
            local,
        }
    }

    /// A `block_on` frame's poll (`id`: the frame's process-unique id).
    pub(crate) fn frame(id: u64, local: *mut TaskLocal) -> Current {
        Current {
            owner: Owner::Frame(id),
            local,
        }
    }

    /// The task, when the owner is a spawned task (not `block_on`).
    pub(crate) fn running_task(&self) -> Option<RawTask> {
        match self.owner {
            Owner::Task(t) => Some(t),
            Owner::Frame(_) => None,
        }
    }

    /// Unique id of the owner: the task's id (read from its header only
    /// when asked: `header.rs` invariant 7), or the `block_on` frame's.
    pub(crate) fn id(&self) -> u64 {
        match self.owner {
            Owner::Task(t) => t.id(),
            Owner::Frame(id) => id,
        }
    }
}

tls! {
    static CURRENT: Cell<Option<Current>> = const { Cell::new(None) };
}

/// Restores the previous `CURRENT` on drop, and the enclosing poll's
/// cooperative budget (`budget.rs` invariant 2).
pub(crate) struct EnterGuard(Option<Current>, #[allow(dead_code)] BudgetGuard);

/// Makes `cur` the current timer owner until the guard drops, and gives the
/// poll a fresh cooperative budget (`budget.rs`): every poll of a task or a
/// `block_on` future enters here.
pub(crate) fn enter(cur: Current) -> EnterGuard {
    EnterGuard(
        CURRENT.with(|c| c.replace(Some(cur))),
        super::budget::enter(),
    )
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

/// Runs `f` with the current owner and exclusive access to its `TaskLocal`.
/// `f` must not call user code (as for [`with_local`]).
pub(crate) fn with_owner<R>(f: impl FnOnce(Current, &mut TaskLocal) -> R) -> Option<R> {
    let cur = current()?;
    // SAFETY: invariant 1, as in `with_local`.
    Some(f(cur, unsafe { &mut *cur.local }))
}

/// Runs `f` with the current owner's id and exclusive access to its
/// `TaskLocal`. `f` must not call user code (it may clone/drop wakers, as
/// every timer implementation does).
pub(crate) fn with_local<R>(f: impl FnOnce(u64, &mut TaskLocal) -> R) -> Option<R> {
    let cur = current()?;
    // SAFETY: invariant 1: while CURRENT is set, this thread has exclusive
    // access to the pointed-to TaskLocal; the borrow ends before `f` returns.
    Some(f(cur.id(), unsafe { &mut *cur.local }))
}

// The size [`INLINE`]'s doc promises (loom and shuttle builds differ).
#[cfg(all(target_pointer_width = "64", not(any(tempo_loom, tempo_shuttle))))]
const _: () = assert!(std::mem::size_of::<Slab>() == 72);

#[cfg(all(test, not(any(tempo_loom, tempo_shuttle))))]
mod tests;
