//! The *watch*: work a worker holds privately (its next-run slot and its
//! share of the ready queue) never waits behind that worker's long poll
//! while another runner idles.
//!
//! A task that a run wakes goes to the worker's next-run slot
//! (`running.rs` invariant 3) and runs right after the current task: a
//! message between two tasks costs no queue operation, lock or wake-up. But
//! a poll may last long (user code that computes), and the slot's task then
//! waited for it to end while other workers slept: tokio's "LIFO-slot
//! starvation", which DESIGN lists as a weakness not to repeat
//! (`tests/fairness.rs::woken_task_runs_while_its_waker_keeps_running_two_workers`).
//!
//! The same holds for the rest of a worker's *share* of the ready queue
//! (`worker.rs` invariant 4), popped at once to amortise the queue's lock:
//! it waited for the poll of the share's first task to end
//! (`tests/fairness.rs::ready_task_does_not_wait_behind_a_long_poll_while_a_worker_idles_two_workers`).
//!
//! Each runner (a worker thread, or a caller-driven `block_on`) owns a
//! [`Lane`] on its own cache line: the slot as an atomic pointer, which the
//! owner fills with a plain store and empties with a swap and which a
//! stealer may swap out at any time; the share as a small ring that the
//! owner pops with a CAS and a stealer empties with one; and a run
//! counter. While some runner is awake, one *sleeping* runner, the *monitor*, sleeps with a timeout of
//! [`TICK`] instead of untimed; each time it wakes it steals the slot of
//! every runner whose run counter shows one run in progress since its
//! previous look, and its share ([`Watch::steal_stale`]), into its own
//! share, and runs them. The steal is several atomic steps, each a TLA+
//! action: per robbed runner a swap of its slot (`StealSlot`) and a CAS on
//! its share (`StealShare`), each into a private buffer, then the fill of
//! the monitor's own (empty) share (`StealFill`); the robbed runner goes on
//! meanwhile. (Pushed back to the ready queue instead, they
//! could be popped back by their first owner, between the end of its run
//! and the monitor's pop, and stolen again at the next long run, forever:
//! TLC found that lasso, `SchedulerLive2.cfg`.) A held task therefore
//! waits at most about two ticks behind a long poll (one to see the run, one to see it again),
//! never for the poll's end.
//!
//! Alternatives rejected: handing the slot or the share back to the ready
//! queue before each poll when a sleeper exists costs a shared read per
//! message and still misses a runner that falls asleep *during* the poll
//! (in the share test, the other worker is still running its own share when
//! the long poll starts); waking a sleeper for every kept task is a futex call per message (what the slot is for); a
//! dedicated timer thread is a thread per runtime that ticks even while the
//! runtime idles. The monitor ticks only while some runner is awake and one
//! sleeps, and goes back to untimed sleep as soon as everybody sleeps.
//!
//! # Invariants
//! 1. `Lane::slot` holds at most one notification (`running.rs` invariant
//!    3). Only its owner stores a non-null pointer, and only into an empty
//!    slot (no one else can fill it, so its own load of null is stable);
//!    the owner takes it with a swap ([`Lane::take`]) and a stealer with a
//!    swap ([`Lane::steal`]): exactly one of them gets the notification
//!    (TLA+: `WorkerTakeSlot`/`SlotFlush` and `StealSlot`; loom:
//!    `slot_owner_vs_stealer`). A load and a store for the owner's take
//!    would let both run the task.
//! 2. `Lane::runs` is written by its owner only (`Relaxed` load + store on
//!    its own line: no RMW): incremented when a run starts and when it
//!    ends, so it is odd exactly while the owner is inside a run. It orders
//!    nothing; the monitor only reads it to decide *whether* to steal
//!    (stealing is always safe, invariant 1), through `RunCount`.
//!    `Lane::seen` is the monitor's previous reading and `Lane::seen_at`
//!    when it first saw that run, touched only by the thread holding the
//!    claim: a lane is stale when one run has lasted since a look at least
//!    a [`TICK`] ago ([`Lane::stale_since`]; a monitor woken early by a
//!    notify does not rob a run that has just started).
//! 3. `awake` counts the runners not asleep: a runner counts itself when it
//!    enters the loop and after each sleep ([`Watch::woke`]), and uncounts
//!    itself before each sleep ([`Watch::sleeping`]) and when it leaves
//!    counted (`Entered::counted`: an unwind out of the sleep, between
//!    `sleeping` and `woke`, leaves it uncounted already; uncounting it
//!    twice wrapped `awake`, and the monitor ticked forever on an idle
//!    runtime). Every change is an RMW (SeqCst), so the changes are totally
//!    ordered and each one reads the latest count; it never goes below
//!    zero (`debug_assert`).
//! 4. *A monitor whenever it is needed.* While a runner is awake and
//!    another sleeps, a sleeper holds the claim (`claimed`) and sleeps at
//!    most [`TICK`]; it keeps it until it runs a task, finds nobody
//!    awake or leaves the loop. Handshakes, all on RMWs of `awake` (so they would hold in the
//!    C11 model even without SeqCst loads): a runner going to sleep that sees
//!    another awake claims (or finds it claimed); a monitor that gives the
//!    claim up for finding nobody awake stores `claimed = false` and then
//!    re-reads `awake` with an RMW, re-claiming if a runner woke meanwhile
//!    (that runner's own `woke` RMW is ordered before or after it: before,
//!    the monitor sees it; after, the release of `claimed` is visible to
//!    it); a runner that wakes finding every other runner asleep
//!    (`awake` was 0) marks its lane `unwatched` and, at its first held
//!    work ([`Watch::held`]), wakes a sleeper if nobody holds the claim (at
//!    most one extra wake-up per idle-to-busy transition, none per
//!    message); a monitor that starts a run while others are awake and
//!    some runner sleeps wakes one to take the claim over ([`Watch::run_starts`];
//!    one that starts a run alone awake marks its lane `unwatched` instead,
//!    since a runner may have gone to sleep untimed while it held the claim),
//!    and so does a monitor that leaves the loop ([`Watch::leave`], when its
//!    [`Entered`] guard drops: a `block_on` whose future completed, a worker
//!    at shutdown, an unwind).
//!    The claim itself is only a policy (who ticks): no task is lost or
//!    run twice whatever the monitor does.
//! 5. `lanes` lists every runner's lane (registered by [`Watch::enter`],
//!    removed when the [`Entered`] guard drops); the monitor locks it once
//!    per tick, a lingering runner once per linger ([`Watch::kept_looks`]), the
//!    runners once per loop entry and exit.
//! 6. *The share* (`worker.rs` invariant 4) is a ring of `SHARE_CAP`
//!    entries, the tasks `head..tail`. Only the owner writes entries and
//!    `tail`, and only into an empty ring ([`Lane::fill`], entries then
//!    `tail` with Release), so a live entry is never overwritten. The owner
//!    takes one task with a CAS `head → head + 1` ([`Lane::pop_share`], on
//!    its own line: uncontended but for a steal), a stealer all of them
//!    with a CAS `head → tail` after reading them ([`Lane::steal_share`],
//!    `tail` with Acquire): `head` only grows, so a stealer whose CAS
//!    succeeds read entries that nobody rewrote, and exactly one CAS gets
//!    each task (TLA+: `WorkerTakeShare` and `StealShare`; loom:
//!    `share_owner_vs_stealer`). What a monitor steals waits in its private
//!    buffer until it fills its own ring, which is empty (it slept holding
//!    nothing): `StealFill`.
//! 7. *A spawn kept in a slot* (`shared.rs` invariant 5) is also taken by a
//!    *lingering* runner (`worker.rs` invariant 7: awake, holding nothing,
//!    not the role holder) once the run that kept it has lasted
//!    [`KEPT_STALE`] since the lingerer first saw it ([`KeptLooks`]):
//!    a fork whose spawner computes on runs its halves side by side, while
//!    a chain's link, which its spawner runs a microsecond later, stays put.
//!    `Lane::kept_in` is the run count of the run that kept the slot's task
//!    as a spawn (0 after a keep of a woken task): written by the owner
//!    before the slot's Release store, read after an Acquire load of the
//!    slot, so a woken task (whose place is its waker's worker, module docs)
//!    is never taken this way, but for a race between a look's check and
//!    its swap (the owner ends its run, takes the kept spawn, and a later
//!    run keeps a woken task in between): a policy slip, never a loss
//!    (invariant 1). The keeping run wakes a sleeper only where a worker
//!    may linger (`Shared::may_linger`: no I/O source, no deadline in the
//!    heap), so on a runtime with sockets a fork still waits for its
//!    spawner's run or a monitor's tick.
//!    There it wakes a sleeper when nobody lingers and such wakes have
//!    helped lately (`idle.rs` invariant 5; `running.rs` `keep_spawned`), so
//!    that someone lingers. TLA+: `StealSlot` by a `Lingering(v)` worker
//!    (for any slot task: the policy is over-approximated); `SpawnSlot` may
//!    owe a `NotifySched`.
//!
//! Under loom and shuttle nobody ticks (there is no clock; a timed sleep
//! returns at once), so the run counter, `awake` and the claim are left
//! out there ([`TICKING`]; they are policy, invariant 4): a lane's counter
//! is never bumped and reads as one run seen twice (`runs = seen = 1`), so
//! every lane is stale for good. The lanes, the owner's swap and CAS and
//! the whole steal are the real code: `loom-tests/watch.rs` runs
//! [`Watch::steal_stale`] (or, as a lingering runner, [`KeptLooks`])
//! on a thread that enters as a runner and then runs what it stole
//! (`Watch::steal_and_run`), racing the owner's run end,
//! `pop_share` and `take` at any point of its loop, with the trace oracle
//! on (its steps are the visible `StealSlot`, `StealShare` and `StealFill`
//! of the TLA+ log). The counter's reads are hints anyway (a steal may
//! land after the run it saw ended), and the claim protocol is argued
//! above, not model-checked (the spec over-approximates both by
//! nondeterminism).

use super::Shared;
use crate::shim::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering::*};
use crate::shim::{Arc, Mutex};
use crate::task::header::{Header, Notified, RawTask};
use std::collections::VecDeque;
use std::ptr::NonNull;
use std::time::{Duration, Instant};

/// Room for a share: `worker.rs` invariant 4 bounds it by `BATCH + 1`.
pub(crate) const SHARE_CAP: usize = super::worker::BATCH + 1;

/// Whether the monitor protocol runs (normal builds; not under loom and
/// shuttle, module docs).
const TICKING: bool = !cfg!(any(tempo_loom, tempo_shuttle));

/// How long the monitor sleeps between two looks at the running workers.
/// A slot task waits at most about two ticks behind a long poll. 1 ms: far
/// below the 50 ms fairness bound of `tests/fairness.rs` and a scheduler
/// quantum, and long enough that a monitor ticking while a ping-pong pair
/// keeps one worker busy costs the other core about a thousand short
/// wake-ups a second (a few µs each: well under 1% of a core), and the busy
/// worker nothing.
#[cfg_attr(any(tempo_loom, tempo_shuttle), allow(dead_code))]
pub(crate) const TICK: Duration = Duration::from_millis(1);

/// How long a spawn kept in a slot waits behind the run that kept it before
/// a lingering runner takes it (invariant 7). Far longer than a chain
/// link's run (under a microsecond: its spawner runs the child itself), far
/// shorter than a [`TICK`] (a fork's halves run side by side). Go's
/// scheduler waits 3 µs before it steals a running P's `runnext`.
#[cfg_attr(any(tempo_loom, tempo_shuttle), allow(dead_code))]
pub(crate) const KEPT_STALE: Duration = Duration::from_micros(5);

/// A lingering runner looks at the other lanes for kept spawns once every
/// this many of its polls (invariant 7; 16 `pause`s a poll: a few µs apart,
/// CPU dependent, against a [`KEPT_STALE`] of 5 µs, so a steal lands 5 to
/// about 10 µs after the keep). The lanes' lines are written by their busy
/// owners at every run; each look pulls them over.
const KEPT_LOOK_EVERY: usize = 8;

/// One runner's stealable state (invariants 1, 2 and 7), on its own cache
/// line: the owner writes it on every run, the monitor reads it once a
/// tick, a lingering runner every few microseconds while it lingers.
#[repr(align(128))]
pub(crate) struct Lane {
    slot: AtomicPtr<Header>,
    /// The share (`worker.rs` invariant 4): a ring of `SHARE_CAP`
    /// notifications, `head..tail` (invariant 6).
    share: [AtomicPtr<Header>; SHARE_CAP],
    head: AtomicUsize,
    tail: AtomicUsize,
    runs: AtomicUsize,
    seen: AtomicUsize,
    /// When the monitor first saw the run `seen` (invariant 2): the lane is
    /// stale only if that was at least a [`TICK`] ago ([`Lane::stale_since`]).
    /// Touched only by the thread holding the claim, under the `lanes`
    /// lock; the mutex only makes the lane `Sync` (never contended).
    seen_at: Mutex<Option<Instant>>,
    /// The owner woke while every other runner slept (invariant 4): its
    /// first held work checks for a monitor. Owner only (Relaxed).
    unwatched: AtomicBool,
    /// The run count (`runs`) of the run that put the slot's task there as a
    /// kept spawn, or 0 if the slot's last keep was a wake (invariant 7).
    /// Owner only (written with each `keep`), read by lingering runners.
    kept_in: AtomicUsize,
}

impl Lane {
    fn new() -> Lane {
        // Under loom and shuttle the counter is not kept (`bump`): a lane
        // reads as inside one run since the previous look for good, so a
        // model's `steal_stale` robs every lane it finds (module docs).
        let stale = usize::from(!TICKING);
        Lane {
            slot: AtomicPtr::new(std::ptr::null_mut()),
            share: std::array::from_fn(|_| AtomicPtr::new(std::ptr::null_mut())),
            head: AtomicUsize::new(0),
            tail: AtomicUsize::new(0),
            runs: AtomicUsize::new(stale),
            seen: AtomicUsize::new(stale),
            seen_at: Mutex::new(None),
            unwatched: AtomicBool::new(false),
            kept_in: AtomicUsize::new(0),
        }
    }

    /// Keeps `n` in the slot if it is empty (owner only, during a run);
    /// otherwise hands it back. Returns whether the slot was filled.
    /// `spawn`: `n` is a spawn of the current run (invariant 7: a lingering
    /// runner may take it), not a woken task.
    ///
    /// TLA+: the slot branch of `WakeEffect`; the slot store of `SpawnSlot`
    pub(crate) fn keep(&self, n: Notified, spawn: bool) -> Result<(), Notified> {
        // Relaxed: only this thread stores a non-null pointer (invariant 1),
        // so a null read here stays null until our own store.
        if !self.slot.load(Relaxed).is_null() {
            return Err(n);
        }
        // Relaxed: published by the Release store of the slot below, which
        // a lingerer loads with Acquire before it reads this (invariant 7).
        let kept_in = if spawn { self.runs.load(Relaxed) } else { 0 };
        self.kept_in.store(kept_in, Relaxed);
        // Release: publishes the notification to a stealer; pairs with the
        // Acquire of the swap in `steal` (and of the load in
        // `Lane::kept_spawn_run`).
        self.slot.store(n.into_raw().ptr().as_ptr(), Release);
        Ok(())
    }

    /// The run count of the owner's run in progress if its slot holds a
    /// spawn that run kept (invariant 7), else `None`. A hint: the owner
    /// may take the slot, and keep another task, right after.
    fn kept_spawn_run(&self) -> Option<RunCount> {
        // Relaxed: a hint (invariant 2).
        let runs = RunCount(self.runs.load(Relaxed));
        // Acquire: pairs with the Release store in `keep`, so that the
        // `kept_in` read next is the one written with the task seen here, or
        // a later keep's (the owner may have moved on: a hint).
        if !runs.in_run() || self.slot.load(Acquire).is_null() {
            return None;
        }
        // Relaxed: ordered by the Acquire above.
        (self.kept_in.load(Relaxed) == runs.0).then_some(runs)
    }

    /// Whether the slot is empty (owner only: only the owner fills it,
    /// invariant 1, so an empty slot stays empty until the owner's `keep`).
    pub(crate) fn slot_is_empty(&self) -> bool {
        // Relaxed: as in `keep`.
        self.slot.load(Relaxed).is_null()
    }

    /// Takes the slot's notification (owner, at the end of its run).
    ///
    /// TLA+: the owner's take of `slot[w]` (the run's end; then
    /// `WorkerTakeSlot` or `SlotFlush` on the worker's private copy)
    pub(crate) fn take(&self) -> Option<Notified> {
        // Relaxed: a null slot stays null (invariant 1); only a non-null one
        // can race with a stealer, and that needs the swap.
        if self.slot.load(Relaxed).is_null() {
            return None;
        }
        // Seeded bug (tests/mutants/slot_take_load_store.patch) replaces
        // this swap by a load and a store: loom `slot_owner_vs_stealer`.
        // Acquire: pairs with the Release store in `keep` (and orders after
        // nothing else: a stealer only empties the slot).
        let p = self.slot.swap(std::ptr::null_mut(), Acquire);
        NonNull::new(p).map(|p| Notified(RawTask::from_ptr(p)))
    }

    /// Steals the slot's notification (any thread).
    ///
    /// TLA+: `StealSlot(w, v)` (into `v`'s private buffer; traced)
    pub(crate) fn steal(&self) -> Option<Notified> {
        // Relaxed: a hint that saves the swap (an RMW on the owner's line)
        // when the slot looks empty; the swap below decides, and a task
        // stored meanwhile is seen at the next tick or taken by its owner.
        if self.slot.load(Relaxed).is_null() {
            return None;
        }
        // Acquire: pairs with the Release store in `keep`.
        let p = self.slot.swap(std::ptr::null_mut(), Acquire);
        let n = NonNull::new(p).map(|p| Notified(RawTask::from_ptr(p)));
        // The steal settles the push that the wake into the slot owed, as
        // the owner's take does (`trace::steal_slot`).
        #[cfg(any(tempo_loom, tempo_shuttle))]
        if let Some(n) = &n {
            trace!(steal_slot(n.raw().state() as *const _ as usize));
        }
        n
    }

    /// Moves `from` into the share, which is empty (owner only, invariant
    /// 6). `from` holds at most `SHARE_CAP` notifications.
    ///
    /// TLA+: the share part of `WorkerPop`; for a monitor's own ring,
    /// `StealFill(v)` ([`Watch::steal_stale`])
    pub(crate) fn fill(&self, from: &mut VecDeque<Notified>) {
        debug_assert!(self.share_is_empty() && from.len() <= SHARE_CAP);
        // Relaxed: only the owner writes `tail` and the entries.
        let t = self.tail.load(Relaxed);
        let mut k = 0;
        for n in from.drain(..) {
            // Relaxed: published by the Release store of `tail` below.
            self.share[(t + k) % SHARE_CAP].store(n.into_raw().ptr().as_ptr(), Relaxed);
            k += 1;
        }
        // Release: publishes the entries to a stealer; pairs with the
        // Acquire load of `tail` in `steal_share`.
        self.tail.store(t + k, Release);
    }

    /// Whether the share is empty (owner: a stealer only empties it).
    pub(crate) fn share_is_empty(&self) -> bool {
        // Relaxed: the owner's own `tail`; a `head` the owner reads stale
        // is only behind, and `pop_share`'s CAS settles it.
        self.head.load(Relaxed) == self.tail.load(Relaxed)
    }

    /// Takes the share's next notification (owner only, invariant 6).
    ///
    /// TLA+: `WorkerTakeShare`
    pub(crate) fn pop_share(&self) -> Option<Notified> {
        loop {
            // Relaxed: the CAS below decides.
            let h = self.head.load(Relaxed);
            if h == self.tail.load(Relaxed) {
                return None;
            }
            // Relaxed: the owner's own write.
            let p = self.share[h % SHARE_CAP].load(Relaxed);
            // Relaxed: the entries are the owner's own writes, and a failed
            // CAS means a stealer took the rest (`head == tail`).
            if self
                .head
                .compare_exchange(h, h + 1, Relaxed, Relaxed)
                .is_ok()
            {
                return NonNull::new(p).map(|p| Notified(RawTask::from_ptr(p)));
            }
        }
    }

    /// Steals the whole share (any thread, invariant 6) into `out`.
    ///
    /// TLA+: `StealShare(w, v)` (into `v`'s private buffer; traced)
    pub(crate) fn steal_share(&self, out: &mut VecDeque<Notified>) {
        // Relaxed (`head`): only Relaxed CASes write it (the owner's pops,
        // other stealers), so it publishes nothing; the CAS below checks
        // that it has not moved. Acquire (`tail`): pairs with the Release
        // store in `fill`, so the entries below are the ones it wrote (the
        // owner refills only an empty ring, so `head` read before a refill
        // still describes entries of the refilled one, or the CAS fails).
        let h = self.head.load(Relaxed);
        let t = self.tail.load(Acquire);
        if h >= t || t - h > SHARE_CAP {
            // Empty, or refilled since `head` was read: the CAS would fail.
            return;
        }
        let mut got = [std::ptr::null_mut(); SHARE_CAP];
        for i in h..t {
            // Relaxed: ordered by the Acquire of `tail`; a stale read is
            // discarded by the CAS (the owner only rewrites an empty ring).
            got[i - h] = self.share[i % SHARE_CAP].load(Relaxed);
        }
        // Relaxed success: the Acquire load of `tail` ordered the entries;
        // the owner's pops read only its own writes.
        if self.head.compare_exchange(h, t, Relaxed, Relaxed).is_ok() {
            #[cfg(any(tempo_loom, tempo_shuttle))]
            let first = out.len();
            for p in &got[..t - h] {
                if let Some(p) = NonNull::new(*p) {
                    out.push_back(Notified(RawTask::from_ptr(p)));
                }
            }
            #[cfg(any(tempo_loom, tempo_shuttle))]
            if let Some(n) = out.get(first) {
                trace!(steal_share(n.raw().state() as *const _ as usize));
            }
        }
    }

    /// A run starts or ends (invariant 2: odd while inside a run).
    pub(crate) fn bump(&self) {
        if !TICKING {
            return;
        }
        // Relaxed: owner-only counter, read as a hint (invariant 2).
        let next = RunCount(self.runs.load(Relaxed)).next();
        // Relaxed: as above.
        self.runs.store(next.0, Relaxed);
    }

    /// Whether the owner has been inside one run for at least a [`TICK`]:
    /// the monitor's look now read the run counter `runs`, its previous look
    /// `prev` (the lane's `seen`, invariant 2). Records when a run is first
    /// seen, so that a monitor woken early (by a notify, not by its tick's
    /// timeout), microseconds after its previous look, does not rob a run
    /// that has just started: a needless migration, not a starvation (before,
    /// two looks at the same run however close stole). One clock read per
    /// lane inside a run per look.
    ///
    /// Under loom and shuttle there is no clock, and nobody ticks: there the
    /// rule is the counter's alone (two looks at the same run), so a model
    /// that drives the steal directly still steals.
    pub(crate) fn stale_since(&self, runs: usize, prev: usize) -> bool {
        let (runs, prev) = (RunCount(runs), RunCount(prev));
        if !TICKING {
            return runs.same_run(prev);
        }
        if !runs.in_run() {
            return false;
        }
        let now = Instant::now();
        let mut at = self.seen_at.lock();
        match *at {
            Some(t) if runs.same_run(prev) => now.saturating_duration_since(t) >= TICK,
            _ => {
                // A run this monitor had not seen: it starts counting now.
                *at = Some(now);
                false
            }
        }
    }
}

/// A reading of a lane's run counter (`Lane::runs`, invariant 2). The owner
/// adds one when a run starts and one when it ends, from 0, so the counter
/// is odd exactly while the owner is inside a run: bit [`RunCount::IN_RUN`].
/// Two equal odd readings are the same run (the counter wraps only after
/// `usize::MAX` runs). An even reading is the owner between runs (or
/// asleep); no combination is impossible.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RunCount(usize);

impl RunCount {
    /// Set while the owner is inside a run.
    const IN_RUN: usize = 1;

    /// The owner is inside a run.
    fn in_run(self) -> bool {
        self.0 & Self::IN_RUN != 0
    }

    /// The owner is inside the run that `prev` saw.
    fn same_run(self, prev: RunCount) -> bool {
        self.in_run() && self == prev
    }

    /// The reading after the next start or end of a run.
    fn next(self) -> RunCount {
        RunCount(self.0.wrapping_add(1))
    }
}

/// A lingering runner's state for one linger (invariant 7): the other
/// runners' lanes, the run in which each was first seen holding a kept
/// spawn and when, how many polls the linger has made, and what it learnt
/// for `idle.rs` invariant 5.
pub(crate) struct KeptLooks {
    others: Vec<Arc<Lane>>,
    looks: Vec<Option<(RunCount, Instant)>>,
    polls: usize,
    /// A kept spawn seen before left its slot before it waited
    /// [`KEPT_STALE`]: its spawner ran it first (a chain).
    ran_first: bool,
    /// This linger took a kept spawn.
    took: bool,
}

impl KeptLooks {
    /// One poll of the linger: every [`KEPT_LOOK_EVERY`]-th, starting with
    /// the first, looks at the lanes ([`steal`](Self::steal)). Returns
    /// whether it took a kept spawn into `own`'s share.
    pub(crate) fn poll(&mut self, own: &Lane) -> bool {
        let poll = self.polls;
        self.polls = poll.wrapping_add(1);
        poll % KEPT_LOOK_EVERY == 0 && self.steal(own)
    }

    /// What the linger learnt (`idle.rs` invariant 5): `Some(true)` if it
    /// took a kept spawn (wake-ups for kept spawns help), `Some(false)` if
    /// it only saw kept spawns run by their spawners first (a chain: they
    /// would not), `None` if it saw none.
    pub(crate) fn learnt(&self) -> Option<bool> {
        (self.took || self.ran_first).then_some(self.took)
    }

    /// A look at the other lanes: takes a spawn kept in a lane's slot once
    /// the run that kept it has lasted [`KEPT_STALE`] since this linger
    /// first saw it there, into `own`'s share, which is empty (the lingerer
    /// holds nothing). Returns whether it took one.
    ///
    /// Under loom and shuttle there is no clock and the run counter is not
    /// kept (module docs): a kept spawn there is taken at the first look.
    ///
    /// TLA+: `StealSlot(w, v)` by a lingering `v` (`Lingering(v)`), then
    /// `StealFill(v)`
    fn steal(&mut self, own: &Lane) -> bool {
        for (l, look) in self.others.iter().zip(self.looks.iter_mut()) {
            let Some(run) = l.kept_spawn_run() else {
                // A kept spawn seen before is gone: its spawner took it.
                self.ran_first |= look.is_some();
                *look = None;
                continue;
            };
            if TICKING {
                let now = Instant::now();
                match *look {
                    Some((seen, at)) if seen == run => {
                        if now.saturating_duration_since(at) < KEPT_STALE {
                            continue;
                        }
                    }
                    seen => {
                        // Another run's kept spawn: the one seen before left.
                        self.ran_first |= seen.is_some();
                        *look = Some((run, now));
                        continue;
                    }
                }
            }
            if let Some(n) = l.steal() {
                let mut stolen = VecDeque::with_capacity(1);
                stolen.push_back(n);
                own.fill(&mut stolen);
                trace!(steal_fill());
                self.took = true;
                return true;
            }
        }
        false
    }
}

/// The runners' lanes and the monitor claim (see the module invariants),
/// on a cache line of their own: `awake` changes at every sleep and wake.
#[repr(align(128))]
pub(crate) struct Watch {
    /// Invariant 3.
    awake: AtomicUsize,
    claimed: AtomicBool,
    lanes: Mutex<Vec<Arc<Lane>>>,
}

/// A runner inside the loop (its lane registered); removes the lane and
/// uncounts the runner when dropped, handing the claim over if it holds it
/// ([`Watch::leave`]).
pub(crate) struct Entered<'a> {
    shared: &'a Shared,
    pub(crate) lane: Arc<Lane>,
    /// This runner holds the claim (invariant 4).
    pub(crate) monitor: bool,
    /// This runner is counted in `awake` (invariant 3): from
    /// [`Watch::enter`] to [`Watch::sleeping`] and from [`Watch::woke`] on.
    /// An unwind out of the sleep between them (the driver's park) drops
    /// the guard uncounted, and the drop must not uncount it again: `awake`
    /// would wrap, and the monitor would tick forever on an idle runtime.
    counted: bool,
}

impl Drop for Entered<'_> {
    fn drop(&mut self) {
        let shared = self.shared;
        shared.watch.leave(shared, self).pay(shared);
        shared
            .watch
            .lanes
            .lock()
            .retain(|l| !Arc::ptr_eq(l, &self.lane));
        // The slot is empty between runs (the owner takes it at each run's
        // end), the share when the loop ends (`worker::Held`); a stealer
        // only empties them. Relaxed: the owner's own last write, or a
        // stealer's null, which is null either way.
        debug_assert!(self.lane.slot.load(Relaxed).is_null());
        debug_assert!(self.lane.share_is_empty());
    }
}

impl Watch {
    pub(crate) fn new() -> Watch {
        Watch {
            awake: AtomicUsize::new(0),
            claimed: AtomicBool::new(false),
            lanes: Mutex::new(Vec::new()),
        }
    }

    /// Registers a runner of `shared` (whose watch this is) entering the
    /// loop, awake (invariants 3 and 5).
    pub(crate) fn enter<'a>(&self, shared: &'a Shared) -> Entered<'a> {
        debug_assert!(std::ptr::eq(self, &shared.watch));
        let lane = Arc::new(Lane::new());
        self.lanes.lock().push(lane.clone());
        if TICKING {
            let prev = self.awake.fetch_add(1, SeqCst);
            // Relaxed: the owner's own flag (`Lane::unwatched`); the lane is
            // not running yet.
            lane.unwatched.store(prev == 0, Relaxed);
        }
        Entered {
            shared,
            lane,
            monitor: false,
            counted: TICKING,
        }
    }

    /// The runner `e` leaves the loop (its guard drops: the loop returned,
    /// or unwinds): uncounts it if it is counted (invariant 3) and, if it
    /// is the monitor, gives the claim up and hands it over to a sleeper
    /// when another runner is awake, as [`run_starts`](Self::run_starts)
    /// does (invariant 4). Without the hand-over nobody ticked until the
    /// next sleep or wake, and a task kept in the awake runner's slot
    /// waited for its whole poll.
    fn leave(&self, shared: &Shared, e: &mut Entered<'_>) -> Owe {
        let monitor = std::mem::take(&mut e.monitor);
        if monitor {
            self.claimed.store(false, SeqCst);
        }
        // The RMW read of invariant 4 (the uncount; a read-only RMW for a
        // runner uncounted already, by an unwind out of its sleep): a runner
        // that woke since is seen here, or sees the claim free at its first
        // held work.
        let others = if std::mem::take(&mut e.counted) {
            self.uncount()
        } else if monitor {
            self.awake.fetch_add(0, SeqCst)
        } else {
            return Owe::Nothing;
        };
        if monitor {
            self.handover(shared, others)
        } else {
            Owe::Nothing
        }
    }

    /// What a monitor that just gave the claim up owes (invariant 4):
    /// `others` runners besides itself are awake, and `runners()` counts it
    /// (awake, or leaving), so a sleeper exists when fewer than all the
    /// others are awake; it must take the claim when some other runner is.
    fn handover(&self, shared: &Shared, others: usize) -> Owe {
        if others > 0 && others + 1 < shared.runners() {
            Owe::WakeASleeper
        } else {
            Owe::Nothing
        }
    }

    /// Uncounts a runner from `awake` (invariant 3); returns how many
    /// others are awake.
    fn uncount(&self) -> usize {
        // SeqCst RMW: invariant 3 (every change of `awake` is one).
        let prev = self.awake.fetch_sub(1, SeqCst);
        debug_assert!(prev > 0, "tempo bug: `awake` uncounted below zero");
        prev.wrapping_sub(1)
    }

    /// The runner `e` is about to sleep: uncounts it and decides whether it
    /// is the monitor (invariant 4). Returns how it must sleep.
    pub(crate) fn sleeping(&self, e: &mut Entered<'_>) -> Sleep {
        if !TICKING {
            return Sleep::Untimed;
        }
        debug_assert!(e.counted, "tempo bug: a runner sleeps twice");
        e.counted = false;
        let others = self.uncount();
        if others > 0 {
            if !e.monitor {
                e.monitor = !self.claimed.swap(true, SeqCst);
            }
        } else if e.monitor {
            // Nobody awake: give the claim up, then re-read `awake` with an
            // RMW (invariant 4): a runner that woke meanwhile is seen here,
            // or sees the claim free.
            self.claimed.store(false, SeqCst);
            e.monitor = self.awake.fetch_add(0, SeqCst) > 0 && !self.claimed.swap(true, SeqCst);
        }
        if e.monitor {
            Sleep::Tick
        } else {
            Sleep::Untimed
        }
    }

    /// The runner `e` is back from a sleep: counts it again; a monitor
    /// steals stale slots and shares into its own share, which this runner
    /// runs next. It returns nothing: the caller owes nothing (what it stole
    /// is in its own lane's share, which its loop takes first and its `Held`
    /// guard gives back on the way out; a steal's overflow was handed to a
    /// sleeper here).
    pub(crate) fn woke(&self, shared: &Shared, e: &mut Entered<'_>) {
        if !TICKING {
            return;
        }
        debug_assert!(!e.counted, "tempo bug: a runner wakes twice");
        e.counted = true;
        let prev = self.awake.fetch_add(1, SeqCst);
        if prev == 0 {
            // Relaxed: the owner's own flag (`Lane::unwatched`).
            e.lane.unwatched.store(true, Relaxed);
        }
        if e.monitor {
            self.steal_stale(shared, &e.lane);
        }
    }

    /// A lingering runner's looks at the other runners' lanes for one
    /// linger (invariant 7): the lanes are read under one lock of `lanes`.
    pub(crate) fn kept_looks(&self, own: &Arc<Lane>) -> KeptLooks {
        let others: Vec<Arc<Lane>> = self
            .lanes
            .lock()
            .iter()
            .filter(|l| !Arc::ptr_eq(l, own))
            .cloned()
            .collect();
        KeptLooks {
            looks: vec![None; others.len()],
            others,
            polls: 0,
            ran_first: false,
            took: false,
        }
    }

    /// Steals the slot and the share of every other runner that has been
    /// inside one run since the previous look (invariant 2) into the
    /// caller's own share (`own`'s ring, empty: the monitor was asleep),
    /// which the caller runs next; what does not fit (several runners
    /// robbed at once) goes to the head of the ready queue, and a sleeper
    /// is woken for it. Returns how many.
    ///
    /// Not one atomic step: per robbed lane a swap of its slot and a CAS on
    /// its ring, each into `stolen` (private), then the fill of the
    /// caller's ring; the robbed runners go on meanwhile (their runs may
    /// end, their rings be popped: the CAS then fails or takes the rest).
    ///
    /// TLA+: per robbed runner `w`, `StealSlot(w, v)` ([`Lane::steal`]) and
    /// `StealShare(w, v)` ([`Lane::steal_share`]); then `StealFill(v)` (the
    /// overflow's push and the fill), `v` the caller.
    pub(crate) fn steal_stale(&self, shared: &Shared, own: &Arc<Lane>) -> usize {
        let mut stolen = VecDeque::new();
        for l in self.lanes.lock().iter() {
            if Arc::ptr_eq(l, own) {
                continue;
            }
            // Relaxed: a hint (invariant 2).
            let runs = l.runs.load(Relaxed);
            let prev = l.seen.swap(runs, Relaxed);
            if l.stale_since(runs, prev) {
                stolen.extend(l.steal());
                l.steal_share(&mut stolen);
            }
        }
        let k = stolen.len();
        if k > SHARE_CAP {
            let mut rest = stolen.split_off(SHARE_CAP);
            shared.ready.push_front_batch(&mut rest);
            shared.idle.notify_one();
        }
        if !stolen.is_empty() {
            own.fill(&mut stolen);
            trace!(steal_fill());
        }
        k
    }

    /// A monitor's tick for the loom models (no clock there, so nobody
    /// ticks: module docs). The calling thread enters as a runner with a
    /// lane of its own, as a sleeping runner back from its `TICK` would be
    /// (it holds nothing), steals with [`steal_stale`](Self::steal_stale)
    /// (under loom every lane reads as stale), runs what it stole as
    /// `worker::run_loop` does (its share, and a task a run keeps in its
    /// slot next), gives what its runs re-posted to the ready queue and
    /// leaves. Returns how many tasks it stole.
    ///
    /// TLA+: `StealSlot`/`StealShare`/`StealFill` of a `Parked` `v`, then
    /// `v`'s `WorkerTakeShare`/`WorkerTakeSlot` and runs; a re-post is
    /// flushed without trying the role (`RerunFlush` wants `SchedBusy` or
    /// the role first): the models' monitors run no task that re-posts
    ///
    /// `lingering`: the calling thread steals as a lingering runner instead
    /// ([`KeptLooks`], invariant 7: only spawns kept in
    /// a slot; TLA+: `StealSlot` of a `Lingering` `v`, then `StealFill`).
    #[cfg(any(tempo_loom, tempo_shuttle))]
    pub(crate) fn steal_and_run(&self, shared: &Shared, lingering: bool) -> usize {
        let _runner = shared.enter_runner();
        trace!(runner_enters());
        let e = self.enter(shared);
        let k = if lingering {
            usize::from(self.kept_looks(&e.lane).poll(&e.lane))
        } else {
            self.steal_stale(shared, &e.lane)
        };
        let mut rerun = VecDeque::new();
        let mut next: Option<Notified> = None;
        loop {
            let n = if let Some(n) = next.take() {
                // TLA+: `WorkerTakeSlot`
                trace!(slot_take(n.raw().state() as *const _ as usize));
                n
            } else if let Some(n) = e.lane.pop_share() {
                // TLA+: `WorkerTakeShare`
                n
            } else {
                break;
            };
            // The monitor's runs may keep spawns: it runs its slot next.
            next = super::worker::run_task(shared, &e.lane, n, &mut rerun, true);
        }
        if shared.ready.push_batch(&mut rerun) > 0 {
            shared.notify_sched();
        }
        k
    }

    /// The owner of `lane` holds work behind its current run (a task kept
    /// in its slot): at the first such work after it woke finding everybody
    /// asleep, wakes a sleeper to take the claim if nobody holds it
    /// (invariant 4): returns [`Owe::WakeASleeper`] then. Otherwise one
    /// Relaxed load of its own line.
    pub(crate) fn held(&self, shared: &Shared, lane: &Lane) -> Owe {
        // Relaxed: the owner's own flag (`Lane::unwatched`).
        if !TICKING || !lane.unwatched.load(Relaxed) {
            return Owe::Nothing;
        }
        // Relaxed: as above.
        lane.unwatched.store(false, Relaxed);
        // Read-only RMWs (a wake path is an RMW, module rule), once per
        // idle-to-busy transition: the waking runner's half of the
        // handshake with [`monitor_wanted`](Self::monitor_wanted), after
        // its `woke` RMW.
        let claimed = self.claimed.fetch_or(false, SeqCst);
        if !claimed && self.awake.fetch_add(0, SeqCst) < shared.runners() {
            Owe::WakeASleeper
        } else {
            Owe::Nothing
        }
    }

    /// Whether a sleeper must take the claim: some runner is awake and
    /// nobody holds it (invariant 4). Read by a runner about to sleep
    /// untimed, after its registration's SeqCst fence (`idle.rs` invariant
    /// 2): with the RMW of the waking runner's [`woke`](Self::woke) before
    /// its [`held`](Self::held) looks for a sleeper, either that look finds
    /// this sleeper registered (and wakes it) or this read sees the runner
    /// awake. Without it the wake meant to start a monitor could find no
    /// sleeper (the sleeper between `sleeping` and its registration) and be
    /// lost, and a task kept in the awake runner's slot waited for its whole
    /// poll again (found by review).
    pub(crate) fn monitor_wanted(&self) -> bool {
        // SeqCst loads: the sleeper's half of the handshake above.
        TICKING && !self.claimed.load(SeqCst) && self.awake.load(SeqCst) > 0
    }

    /// The runner `e` starts a run: if it is the monitor, it gives the claim
    /// up, and owes a sleeper the wake-up that hands it over when another
    /// runner is awake (invariant 4).
    pub(crate) fn run_starts(&self, shared: &Shared, e: &mut Entered<'_>) -> Owe {
        if !e.monitor {
            return Owe::Nothing;
        }
        e.monitor = false;
        self.claimed.store(false, SeqCst);
        // RMW read (invariant 4): a runner that woke since is seen here or
        // sees the claim free at its first held work.
        let awake = self.awake.fetch_add(0, SeqCst);
        if awake <= 1 {
            // Alone awake and about to run: a runner may have gone to sleep
            // untimed while this one held the claim (it found it held), so,
            // as for a runner that woke finding everybody asleep, the first
            // work held behind this run looks for a monitor (`held`; found
            // by review: nobody ticked, and a task kept behind this run
            // waited for all of it).
            // Relaxed: the owner's own flag (`Lane::unwatched`).
            e.lane.unwatched.store(true, Relaxed);
        }
        self.handover(shared, awake.saturating_sub(1))
    }
}

/// How a runner must sleep ([`Watch::sleeping`]).
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sleep {
    /// Untimed (as far as the watch goes), but the sleep's re-check after
    /// registering must go round when [`Watch::monitor_wanted`] (a wake
    /// meant to start a monitor may have found no sleeper yet).
    Untimed,
    /// At most [`TICK`]: this runner is the monitor.
    Tick,
}

impl Sleep {
    /// The watch's bound on the sleep.
    pub(crate) fn bound(self) -> Option<Duration> {
        match self {
            Sleep::Untimed => None,
            Sleep::Tick => Some(TICK),
        }
    }
}

/// What a watch transition leaves its caller to do (module rule: a
/// transition returns what its caller owes).
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Owe {
    /// Nothing.
    Nothing,
    /// Wake one sleeping runner, to take the monitor claim (invariant 4).
    WakeASleeper,
}

impl Owe {
    /// Does what is owed.
    pub(crate) fn pay(self, shared: &Shared) {
        if self == Owe::WakeASleeper {
            wake_a_sleeper(shared);
        }
    }
}

/// Wakes one sleeping runner: an idle worker, or the role holder asleep in
/// the driver. It goes back to sleep at once, as the monitor.
fn wake_a_sleeper(shared: &Shared) {
    if !shared.idle.notify_one() && shared.role.is_held() {
        shared.driver.unpark();
    }
}

#[cfg(all(test, not(any(tempo_loom, tempo_shuttle))))]
mod tests;
