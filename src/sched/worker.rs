//! The worker loop and the running of one task.
//!
//! Every worker thread runs [`run_loop`]; so does the thread calling
//! `block_on`/`run` on a runtime with no worker threads, with [`Hooks`] that
//! poll its own future in between.
//!
//! # Invariants
//! 1. A worker runs at most [`BATCH`] tasks (from its next-run slot or the
//!    ready queue; plus what is left of its share, invariant 4, which is at
//!    most `BATCH + 1` itself) before it tries the sched role again, so front-queue tasks
//!    and expired deadlines reach the ready queue within a bounded delay (no
//!    pinning). A task still in the slot after the batch goes to the rerun
//!    list (invariant 5), behind everything already in the ready queue.
//!    That bounds what waits behind *short* runs. A *long* poll is the
//!    user's own blocking, but what this worker holds for later (its slot
//!    and its share) does not wait for it while another runner idles: the
//!    worker's lane (`watch.rs`) keeps both where a *monitor*, a sleeping
//!    runner that wakes every `watch::TICK` while some runner is awake,
//!    steals them into its own share, and runs them, once one run has
//!    lasted a tick (TLA+: `StealSlot`, `StealShare`, `StealFill`; `tests/fairness.rs`:
//!    `woken_task_runs_while_its_waker_keeps_running_two_workers`,
//!    `ready_task_does_not_wait_behind_a_long_poll_while_a_worker_idles_two_workers`).
//! 2. A worker parks only after re-checking for work with the handshakes of
//!    `shared.rs` invariant 1; the role holder blocks in the driver only with
//!    an empty front queue and ready queue, and without a pass (invariant 4).
//! 3. Between `transition_to_running` and the end of the poll the worker has
//!    the run permission: it alone touches the task's stage and task-local state.
//! 4. A worker pops its *share* of the ready queue at once (`pop_batch`: up
//!    to `len / workers` from its two lanes, `ready.rs` invariant 3, never
//!    more than what is left of its batch but for one task when both lanes
//!    hold tasks): it runs the first at once and keeps the rest in the ring
//!    of its lane (`watch.rs` invariant 6), runs them in order (one CAS on
//!    its own line per task), and pops again only when the share is empty.
//!    The share is always empty when the worker leaves
//!    its batch: it tries the role and parks only with an empty share (and
//!    an empty slot), and exits giving them back (invariants 9 and 10), so no other worker ever waits for a task that this
//!    one holds while it sleeps (TLA+: `share[w]`, `WorkerPop`,
//!    `WorkerTakeShare`). Nor while it runs a long poll and another runner
//!    idles: the monitor steals the whole share (`watch.rs` invariant 4;
//!    TLA+: `StealShare`, enabled at any time). Before, the rest
//!    of the share waited for the poll's end (a task that computed until
//!    its partner, popped into the same share, had run never ended). A slot task still runs before the share (a message
//!    reply is hot in cache), but only within the batch bound. One
//!    exception, in the other direction: the task that passed the ready
//!    queue in the worker's round (`role.rs` invariant 4) is kept in a
//!    private buffer ahead of the share (empty at the end of a batch,
//!    invariant 8 between runs) and runs next, never behind a poll; the worker then never parks (a round
//!    with a pass has work), and if the loop ends first (shutdown, the
//!    `block_on` future is done or panicked) it gives the task back to the
//!    ready queue and wakes a sleeper for it (invariant 9; TLA+: the pass sits in `slot[w]`,
//!    `SchedDispatch`'s pass branch, `WorkerTakeSlot`, `WorkerExit`).
//! 5. A task whose poll returned `AfterPoll::Repost` (it woke itself, e.g.
//!    `yield_now`, or was woken or signaled while running) goes to the
//!    worker's *rerun* list, not to the front queue: it is `SCHEDULED`, in no
//!    queue and in no waiting heap (a running task has no heap entry), so the
//!    sched role has nothing to do for it. At the end of the batch the
//!    worker tries the role; if it gets it, it runs its round first (the
//!    front queue and the expired deadlines go to the ready queue) and then
//!    appends the list behind them (`ReadyQueue::push_batch`, one lock
//!    acquisition) before it releases the role; if another worker holds the
//!    role, it appends the list at once and pops again. Like the share, the
//!    list is always empty when the worker releases the role, parks or exits
//!    (TLA+: `rerun[w]`, `SchedAcquire`/`SchedBusy`, `RerunFlush`,
//!    `tryRole`). A re-posted task therefore runs after every task that was
//!    ready before it and, when its worker holds the role, after every task
//!    woken or expired during the batch: a task woken from outside (a probe,
//!    a timer) does not wait behind the batch's re-posts (`4-fairness`: with
//!    the list flushed *before* the round, the probe's p99 doubled). It never
//!    costs a front-queue CAS, a dispatch RMW or a wake-up of the role
//!    holder, and cannot keep the role from running: a worker whose tasks
//!    re-post themselves forever still tries the role after every batch
//!    (with a single worker, nothing else would take the front queue), and
//!    after shutdown begins it exits before its next task (invariant 10). (Before, each
//!    `yield_now` crossed the front queue and the sched role: `2-yield` spent
//!    44% of a round on the cross-core load of `queue_next` and 28% on the
//!    dispatch CAS; perf.)
//! 6. On a one-runner runtime (`Shared::one_runner`) the rerun list also
//!    takes the tasks spawned by this worker's runs (`shared.rs` invariant
//!    3), and the worker runs the list's next task within its batch, without
//!    a round, when its share and the ready queue are empty and a round
//!    would find nothing to move: before shutdown, no deadline waiting, no
//!    I/O source registered (the round polls readiness), the front queue
//!    empty and the `block_on` future not woken (TLA+: `WorkerTakeRerun`).
//!    Those runs count against the batch, so the role is still tried every
//!    `BATCH` runs. A chain of spawns (each task spawns the next) then costs
//!    no front-queue CAS, dispatch RMW, ready-queue lock or role round per
//!    link; a lone `yield_now` loop likewise (numbers: `benches/RESULTS.md`).
//! 7. *Linger.* A worker thread of a runtime with two or more workers that
//!    holds the role after a round that found nothing to run, with no
//!    deadline waiting, no I/O source registered and an empty front queue,
//!    releases the role instead of blocking in the driver and polls for work
//!    for up to `idle::LINGER` (`Idle::linger`), once per idle period (the
//!    flag `lingered`, reset by every run and by every wake-up that came
//!    before its sleep's bound: a notify, such as a kept spawn's, starts a
//!    new idle period; a monitor's tick does not, so a monitor that ticks
//!    beside a long poll spins no more than before; while spawners do not
//!    wake anyone for their kept spawns, it arms a probe instead (`idle.rs`
//!    invariant 5: the next kept spawn wakes a sleeper once). Nothing can then arrive through
//!    the driver but an unpark, and a producer that finds the role free and
//!    no sleeper wakes nobody: a spawner whose child the lingering worker
//!    would otherwise have been woken for (a futex or eventfd call on the
//!    spawner's side, a context switch on the other) keeps its own work, and
//!    starts the child itself after its poll. The lingering worker takes
//!    work that stays visible for `idle::STALE` (the spawner is still busy:
//!    the start guarantee of `tests/fairness.rs` holds, `STALE` later at
//!    most) or a ready queue of two or more tasks at once. A spawn kept in
//!    its spawner's slot (`shared.rs` invariant 5) it takes once the
//!    spawner's run has lasted `watch::KEPT_STALE` (`watch.rs` invariant 7:
//!    a fork's child runs beside its computing parent; TLA+: `StealSlot` by
//!    a `Lingering` worker, then `StealFill`), and the spawner wakes a
//!    sleeper to linger when nobody does (where a worker may linger, while
//!    such wakes help: `idle.rs` invariant 5). When it stops
//!    (work, shutdown or the time bound) it goes back to the top of the
//!    loop, so it parks only through the usual checks and handshakes
//!    (invariant 2). Spec: `SchedRelease` from `Drained` (already allowed),
//!    then reads (stuttering), or the steal above. (`chain-1000` on two workers:
//!    the second worker, parked in the driver, was woken for every few links
//!    and took the next one to its own core; numbers: `benches/RESULTS.md`.)
//! 8. *A round between runs.* After a run that left the next-run slot
//!    empty, a worker whose share still holds tasks reads the front queue's
//!    hint that a woken task was pushed (`front.rs` invariant 4, one Relaxed
//!    load on the line of the queue's head) and, if set, takes the role for
//!    a round ([`round_between_runs`]): the round's pass (`role.rs`
//!    invariant 4) goes to the head of the share and runs next; everything
//!    else the round moves goes to the ready queue as usual, and the rerun
//!    list waits for the end of the batch (invariant 5). Without it, a task
//!    woken from outside waited for the rest of the share: on one thread the
//!    share is the whole ready queue, so the `4-fairness` probe waited for
//!    all four CPU hogs (400 µs, like tokio and async-executor, which run
//!    FIFO too); now for the run in progress. Spawns and deadline posts do
//!    not set the hint (they never pass), so a spawner from outside or a
//!    burst of first sleeps costs no extra round; a wake costs at most one.
//!    TLA+: `SchedAcquire` with a non-empty share (then `SchedRelease` with
//!    the rerun list kept), the pass in `slot[w]`.
//! 9. *Nothing held is lost on the way out.* The loop keeps its next-run
//!    slot (taken from its lane at the end of each run), the pass, its
//!    share (in its lane's ring) and its rerun list in one drop guard
//!    ([`Held`]), which gives every notification still in them back to the
//!    ready queue (slot, pass, share, rerun list: the order this worker
//!    would have run them; what this worker stole as the monitor is in its
//!    own share, given back with it; only a steal's overflow beyond the
//!    ring's room went to the ready queue at once) and
//!    wakes a sleeper for them, on every way out of [`run_loop`]: the
//!    return on shutdown or when the `block_on` future is done, and an
//!    unwind. A `block_on` future is polled by [`Hooks::done`] between
//!    batches, outside any task's `catch_unwind`; when it panicked there,
//!    the round's pass (invariant 4) went down with the stack and the task
//!    it notified never ran again (its only notification was dropped: the
//!    task stayed `SCHEDULED`, so later wakes did not push it either).
//!    A loop that ends before shutdown and gives nothing back still
//!    notifies (`Shared::notify_sched`): a caller-driven `block_on` that
//!    held the role asleep in the driver is unparked by a front-queue push
//!    and by its own future at once, and ended without a round; the push's
//!    notification was spent and another `block_on` caller, asleep as an
//!    idle worker, never took the task (a lost wakeup:
//!    `tests/runtime.rs::a_block_on_ending_right_after_its_driver_unpark_hands_the_front_queue_over`).
//!    TLA+: `WorkerExit` (the unwind of a `block_on` loop is, like its
//!    normal end, not modelled: the spec's workers leave only at shutdown).
//! 10. *No task is taken once shutdown began.* The loop reads the shutdown
//!     flag before it takes each task (slot, share, pop or rerun list) and
//!     before it tries the role at the end of a batch, and returns at once
//!     when it is set, giving back what it holds (invariant 9); the futures
//!     are dropped by `finish_shutdown`'s sweep. Before, a worker finished
//!     its share first: tasks never polled before were polled after
//!     shutdown began, by a straggler left by `shutdown_timeout` (stuck in a
//!     long poll when the timeout expired) even while `finish_shutdown` was
//!     dropping the others, and a straggler whose next task the sweep had
//!     just claimed (`RUNNING | CANCELLED`) panicked in
//!     `transition_to_running` ("tempo bug"). The read and the take are two
//!     steps, so a straggler may still meet a task the sweep claimed in
//!     between: `transition_to_running` and `transition_to_dispatched` leave
//!     such a task to the sweep (`Start::Skip`, `Dispatch::Drop`). A
//!     straggler that gives its tasks back after the sweep drained the
//!     ready queue drops them itself (they are swept: only their
//!     references are left). TLA+: `WorkerExit` from any point of the
//!     batch where the worker holds no task and not the role (a superset:
//!     the check and the take stay two steps); stragglers are not modelled.

use super::watch::{Lane, Sleep};
use super::Shared;
use crate::shim::Arc;
use crate::task::header::{Notified, RawTask};
use crate::task::local::{self, Current, TaskLocal};
use crate::task::state::{AfterPoll, Start, JOIN_INTEREST, JOIN_WAKER, SIGNALED, WOKEN};
use crate::task::waker::{is_own_waker, wake_by_ref_contained, wake_contained};
use std::collections::VecDeque;
use std::task::Waker;
use std::time::Instant;

/// Ready tasks a worker runs between two visits of the sched role.
pub(crate) const BATCH: usize = 32;

/// What a caller-driven loop (`block_on`, `run`) adds to the worker loop.
pub(crate) trait Hooks {
    /// Called between batches; `true` ends the loop.
    fn done(&mut self) -> bool;
    /// Whether the hook has work right now (do not park).
    fn pending(&self) -> bool;
    /// The hook's own earliest deadline.
    fn deadline(&self) -> Option<Instant>;
    /// Whether this loop may linger (invariant 7): only a worker thread's,
    /// never a caller-driven `block_on`, whose own future's waker unparks
    /// the driver.
    fn may_linger(&self) -> bool {
        false
    }
}

/// Hooks of a plain worker thread.
pub(crate) struct NoHooks;
impl Hooks for NoHooks {
    fn done(&mut self) -> bool {
        false
    }
    fn pending(&self) -> bool {
        false
    }
    fn deadline(&self) -> Option<Instant> {
        None
    }
    fn may_linger(&self) -> bool {
        true
    }
}

/// Wakes a task-local waker (a timer's, or `wait`'s) unless it is `t`'s
/// own (`t` is about to be polled: its own wake would only re-post it); a
/// panic of a foreign waker is contained (`waker.rs` invariant 3).
fn wake_unless_own(w: Waker, t: RawTask) {
    if !is_own_waker(&w, t) {
        wake_contained(w);
    }
}

fn local_of(t: RawTask) -> *mut TaskLocal {
    t.header().local.with_mut(|p| p)
}

/// Runs one task whose notification the worker popped, and returns the
/// task its run moved into the next-run slot, if any (`running.rs`). A task
/// to run again, and a task it spawned locally (`shared.rs` invariant 3),
/// is appended to `rerun` (invariants 5 and 6). `may_keep`: the run may keep
/// a spawn in the slot (`shared.rs` invariant 5: not the batch's last).
pub(crate) fn run_task(
    shared: &Shared,
    lane: &Lane,
    n: Notified,
    rerun: &mut VecDeque<Notified>,
    may_keep: bool,
) -> Option<Notified> {
    // One raw pointer for the whole run: a local spawn reaches the list
    // through the thread's run context during the poll, the re-post after
    // it (`running.rs` invariant 5).
    let rerun: *mut VecDeque<Notified> = rerun;
    // Wakes from this run need no `Arc<Shared>` clone, and may fill the
    // next-run slot (`running.rs`).
    // `watch.rs` invariant 2: odd while inside the run.
    lane.bump();
    // SAFETY: `running::enter`'s contract: `shared` and `lane` are the
    // caller's borrows, alive until this function returns, and `run` is
    // finished below; `rerun` comes from the caller's `&mut`, reached only
    // through the run context (and `run_one`) until then.
    let run = unsafe { super::running::enter(shared, lane, rerun, may_keep) };
    // SAFETY: `rerun` comes from the caller's `&mut`, unused until we return.
    unsafe { run_one(shared, n, rerun) };
    let next = run.finish();
    lane.bump();
    next
}

/// # Safety
/// `rerun` is the worker's rerun list, valid for the call and reached by
/// nothing else during it but through the run context (`running.rs`
/// invariant 5).
unsafe fn run_one(shared: &Shared, n: Notified, rerun: *mut VecDeque<Notified>) {
    let t = n.raw();
    let lp = local_of(t);
    match t.state().transition_to_running() {
        // Complete (swept), or claimed by the shutdown sweep, which only a
        // straggler meets (invariant 10): anything else is a double run.
        Start::Skip => {
            if cfg!(any(debug_assertions, tempo_loom, tempo_shuttle)) {
                assert!(
                    t.state().load().is_complete() || shared.is_shutdown(),
                    "tempo bug: a second notification of a running task"
                );
            }
        }
        Start::Cancel => cancel_and_complete(shared, t),
        Start::Poll(snap) => {
            // Fire expired task-local timers, now that the run permission is
            // ours (invariant 3). The task's own waker is not stored (`local.rs`
            // invariant 4); a combinator's waker that wraps it (a
            // `FuturesUnordered` of sleeps) sets `NOTIFIED`, one re-post. They
            // used to fire before `transition_to_running`, while the task was
            // `SCHEDULED`, where such a wake changed nothing; but a straggler
            // left by `shutdown_timeout` then touched the timer list of a task
            // that the shutdown sweep had just claimed and was clearing
            // (invariant 10): a data race on the task's slab.
            {
                // SAFETY: invariant 3: RUNNING and we hold the notification.
                let l = unsafe { &mut *lp };
                if let Some(first) = l.timers.earliest() {
                    let now = shared.clock.now();
                    if first <= now {
                        let fired = l.timers.take_expired(now);
                        for w in fired {
                            wake_unless_own(w, t);
                        }
                    }
                }
            }
            let guard = local::enter(Current::task(t, lp));
            if snap.has(WOKEN) || snap.has(SIGNALED) {
                // SAFETY: invariant 3.
                let wakers = unsafe { (*lp).take_wait_wakers() };
                for w in wakers {
                    wake_unless_own(w, t);
                }
            }
            // SAFETY: invariant 3: RUNNING and we hold the notification.
            let done = unsafe { (t.header().vtable.poll)(t.ptr()) };
            drop(guard);
            if done {
                complete(shared, t);
            } else {
                // SAFETY: invariant 3.
                let deadline = unsafe { (*lp).timers.earliest() };
                if let Some(d) = deadline {
                    let ticks = shared.epoch.ticks(d);
                    t.header().deadline.with_mut(|p| {
                        // SAFETY: header invariant 3: we hold the notification and
                        // the task is in no heap while it runs.
                        unsafe { *p = ticks }
                    });
                }
                match t.state().transition_to_idle(deadline.is_some()) {
                    AfterPoll::Idle { released: true } => {
                        // The RMW released the notification's reference.
                        let _ = n.into_raw();
                        return;
                    }
                    AfterPoll::Idle { released: false } => {}
                    AfterPoll::Cancel => cancel_and_complete(shared, t),
                    // TLA+: the again-branch of `PollPending` (invariant 5).
                    AfterPoll::Repost => {
                        trace!(rerun(n.raw().state() as *const _ as usize));
                        // SAFETY: the poll is over and no reference to the
                        // list is live (`running.rs` invariant 5).
                        unsafe { (*rerun).push_back(n) };
                        return;
                    }
                    AfterPoll::PostWaiting => {
                        shared.push_front(n);
                        return;
                    }
                }
            }
        }
    }
    drop(n);
}

/// Drops the future of a task whose run permission the caller holds
/// (`RUNNING` with `CANCELLED`) and completes it.
///
/// TLA+: `FinishCancel`
pub(crate) fn cancel_and_complete(shared: &Shared, t: RawTask) {
    let lp = local_of(t);
    let guard = local::enter(Current::task(t, lp));
    // SAFETY: the caller holds the run permission (invariant 3).
    unsafe { (t.header().vtable.cancel)(t.ptr()) };
    drop(guard);
    complete(shared, t);
}

/// `RUNNING → COMPLETE` and its duties: clear task-local wakers, hand the
/// output to the join handle or drop it, unregister.
///
/// TLA+: `PollReady`
fn complete(shared: &Shared, t: RawTask) {
    // SAFETY: invariant 3; local.rs invariant 3.
    let cleared = unsafe { (*local_of(t)).clear() };
    // Dropping user wakers: contained, so that nothing unwinds between the
    // stored result and `transition_to_complete` (harness invariant 4: the
    // task must complete before it can be freed).
    crate::task::unwind::contain(move || drop(cleared));
    let prev = t.state().transition_to_complete();
    // Seeded bug (VERIFICATION.md): decides on a second, later read instead of
    // the RMW's own result; a handle dropped in between also drops the output.
    #[cfg(tempo_mutant = "double_output_drop")]
    let prev = {
        let _ = prev;
        t.state().load()
    };
    if !prev.has(JOIN_INTEREST) {
        // SAFETY: harness invariant 1: no handle will read the output.
        unsafe { (t.header().vtable.drop_stage)(t.ptr()) };
    } else if prev.has(JOIN_WAKER) {
        t.header().join_waker.with(|w| {
            // A panicking join waker (the handle's poller's) is contained:
            // the task is still unregistered below, and the worker lives on
            // (`waker.rs` invariant 3).
            // SAFETY: join.rs invariant 2: JOIN_WAKER was set at completion, the
            // handle no longer writes the slot.
            unsafe { &*w }.with(wake_by_ref_contained);
        });
    }
    if shared.registry.remove(t) {
        t.drop_ref();
    }
}

/// The next task of the worker's own rerun list, when a round now would find
/// nothing to do (invariant 6): one runner, no shutdown, no deadline
/// waiting, no I/O source to poll, the `block_on` future not woken, the
/// ready queue and the front queue empty. The caller found its share empty.
///
/// TLA+: `WorkerTakeRerun` (its step is the read of the shutdown flag, the
/// first shared read: the front queue only grows while this worker is in its
/// batch, and with one runner the ready queue and the heap change only by
/// this worker's own steps, so what the later reads find empty was empty then)
fn take_own_rerun(
    shared: &Shared,
    hooks: &dyn Hooks,
    rerun: &mut VecDeque<Notified>,
) -> Option<Notified> {
    if rerun.is_empty()
        || !shared.one_runner()
        || shared.is_shutdown()
        || shared.role.timed() > 0
        || shared.ready.len() > 0
        || shared.driver.has_sources()
        || hooks.pending()
        || !shared.front.is_empty()
    {
        return None;
    }
    rerun.pop_front()
}

/// After a round, with the role released and this worker about to run
/// tasks: wakes one sleeper per ready task that nobody awake will take
/// (`unclaimed`), and one to keep time if a deadline waits and nothing else
/// would wake a worker for it.
fn help(shared: &Shared, unclaimed: usize, timed: bool) {
    for _ in 0..unclaimed.min(shared.idle.sleepers()) {
        if !shared.idle.notify_one() {
            break;
        }
    }
    // Someone must keep time while we run tasks.
    if timed && unclaimed == 0 {
        shared.idle.notify_one();
    }
}

/// The round a worker takes between two runs of its batch (invariant 8):
/// a woken task was pushed to the front queue, the worker's slot is empty
/// and its share is not. The pass, if any, goes to the head of the share;
/// the rest of the round's tasks go to the ready queue, for sleepers (woken
/// here) or for this worker's next pop. No readiness poll (the round at the end of the
/// batch does that) and no rerun flush (the rerun list waits for the end of
/// the batch, invariant 5).
///
/// TLA+: `SchedAcquire` with `share[w] # <<>>` (then `SchedTakeFront`,
/// `SchedDispatch`, `SchedExpire`, `SchedRelease`, the pass in `slot[w]`).
fn round_between_runs(shared: &Shared, share: &mut VecDeque<Notified>) {
    let Some(mut role) = shared.role.try_acquire() else {
        return;
    };
    let round = role.round(shared);
    let timed = round.next_deadline.is_some();
    drop(role);
    if let Some(p) = round.pass {
        share.push_front(p);
    }
    help(shared, shared.ready.len(), timed);
}

/// What a worker loop holds between runs: the task its last run put in the
/// next-run slot (`running.rs`), its share of the ready queue (invariant 4)
/// and its rerun list (invariant 5). Dropping it gives every notification
/// back to the ready queue, slot first, in the order the worker would have
/// run them, and wakes a sleeper for them (invariant 9): on the loop's
/// normal return and on an unwind out of it alike.
struct Held<'a> {
    shared: &'a Shared,
    /// This runner's lane: the popped share sits in its ring
    /// (`watch.rs` invariant 6).
    lane: Arc<Lane>,
    next: Option<Notified>,
    share: VecDeque<Notified>,
    rerun: VecDeque<Notified>,
}

impl Drop for Held<'_> {
    /// TLA+: `WorkerExit` (the slot, then the share, then the rerun list go
    /// back to the ready queue; at the top of the loop only a pass can be
    /// left, in the share).
    fn drop(&mut self) {
        if let Some(n) = self.next.take() {
            self.share.push_front(n);
        }
        while let Some(n) = self.lane.pop_share() {
            self.share.push_back(n);
        }
        self.share.append(&mut self.rerun);
        if self.shared.ready.push_batch(&mut self.share) > 0 {
            // Another runner may hold the role, asleep in the driver, which
            // an idle-worker notification would not reach (a `block_on` that
            // ends hands its tasks back while another `block_on` caller of a
            // `worker_threads(0)` runtime parks there): the pusher's half of
            // `shared.rs` invariant 1, as for a front-queue push.
            self.shared.notify_sched();
            // Invariant 10: a straggler that gets here after
            // `finish_shutdown` drained the ready queue drops what it just
            // pushed (swept tasks; their references would keep the runtime
            // alive through the tasks' `Arc<Shared>`). The queue's lock
            // orders the push and the drain, and the drain follows the
            // front queue's close, so a push the drain missed sees the close.
            if self.shared.front.is_closed() {
                drop(self.shared.ready.drain());
            }
        } else if !self.shared.is_shutdown() {
            // The loop may have been the one notified for work it never
            // took: a caller-driven `block_on` that held the role, asleep
            // in the driver, and was unparked for a push to the front queue
            // (or counted itself as the taker of a ready task, or kept time
            // for the waiting heap) ends without a round when its own future
            // is done. Another runner may sleep as an idle worker meanwhile:
            // hand the role's duties over (invariant 9; `shared.rs`
            // invariant 1). With nobody asleep this is a fence and two loads.
            self.shared.notify_sched();
        }
    }
}

/// The worker loop (see the module invariants).
///
/// TLA+: the order of `WorkerTakeSlot`/`WorkerTakeShare`/`WorkerPop`, `SlotFlush`,
/// `SchedAcquire`, the round, `SchedRelease`, `SchedPark`/`DriverBlock`,
/// `WorkerPark` and `WorkerExit` for one worker.
pub(crate) fn run_loop(shared: &Shared, hooks: &mut dyn Hooks) {
    let _runner = shared.enter_runner();
    // This runner's lane (its next-run slot, stealable) and its part in the
    // monitor protocol (`watch.rs`); dropped after `held` below.
    let mut watch = shared.watch.enter(shared);
    // The slot, this worker's share of the ready queue (invariant 4) and the
    // tasks its runs re-posted (invariant 5); given back on every way out
    // (invariant 9), also when `hooks.done()` unwinds (a panicking `block_on`
    // future).
    let mut held = Held {
        shared,
        lane: watch.lane.clone(),
        next: None,
        share: VecDeque::with_capacity(BATCH),
        rerun: VecDeque::with_capacity(BATCH),
    };
    let Held {
        lane,
        next,
        share,
        rerun,
        ..
    } = &mut held;
    let lane: &Lane = lane;
    // This idle period's linger is spent (invariant 7).
    let mut lingered = false;
    loop {
        debug_assert!(share.len() <= 1, "tempo bug: a share outlived its batch");
        debug_assert!(rerun.is_empty(), "tempo bug: a rerun outlived its batch");
        debug_assert!(next.is_none(), "tempo bug: a slot outlived its batch");
        if shared.is_shutdown() || hooks.done() {
            // TLA+: `WorkerExit`: `held` gives a pass not yet run back
            // (invariant 4) when it drops.
            return;
        }
        let mut ran = 0;
        while ran < BATCH || !share.is_empty() || !lane.share_is_empty() {
            if shared.is_shutdown_hint() {
                // Invariant 10: no task is taken once shutdown began; `held`
                // gives the slot, the share and the rerun list back.
                return;
            }
            if ran >= BATCH {
                // A slot task that would pass the batch bound goes behind the
                // others (invariant 1: a ping-pong pair cannot pin its worker).
                if let Some(n) = next.take() {
                    // TLA+: `SlotFlush` (to the rerun list, invariant 5)
                    trace!(slot_take(n.raw().state() as *const _ as usize));
                    rerun.push_back(n);
                }
            }
            let n = if let Some(n) = next.take() {
                // TLA+: `WorkerTakeSlot`
                trace!(slot_take(n.raw().state() as *const _ as usize));
                n
            } else if let Some(n) = share.pop_front() {
                // The pass (invariant 4). TLA+: `WorkerTakeSlot`
                n
            } else if let Some(n) = lane.pop_share() {
                // TLA+: `WorkerTakeShare`
                n
            } else {
                // Tasks woken or spawned from elsewhere wait in the front
                // queue for the role: end the batch early for them rather
                // than pop another share (invariant 1: the batch bound is an
                // upper bound; TLA+: `SchedAcquire` with `front # <<>>`).
                if ran > 0 && !shared.front.is_empty() {
                    break;
                }
                // TLA+: `WorkerPop`
                shared.ready.pop_batch(shared.workers, BATCH - ran, share);
                // The share's tasks last ran on another worker, or were
                // spawned on another thread: start loading their headers
                // now, so that their cache misses overlap instead of
                // stalling each run's first state RMW in turn (`2-yield`
                // on two workers: those two loads were a third of the
                // loop's samples; about 7% less time).
                share.iter().for_each(Notified::prefetch);
                match share.pop_front() {
                    Some(n) => {
                        if !share.is_empty() {
                            // The rest waits behind this run where a
                            // monitor can steal it (invariant 4).
                            lane.fill(share);
                            shared.watch.held(shared, lane).pay(shared);
                        }
                        n
                    }
                    None => match take_own_rerun(shared, &*hooks, rerun) {
                        Some(n) => n,
                        None => break,
                    },
                }
            };
            // A monitor gives its claim up (`watch.rs` invariant 4).
            shared.watch.run_starts(shared, &mut watch).pay(shared);
            // `shared.rs` invariant 5: no spawn is kept on the batch's last
            // run (its slot goes to the rerun list, behind the round).
            *next = run_task(shared, lane, n, rerun, ran + 1 < BATCH);
            ran += 1;
            lingered = false;
            if next.is_none()
                && (!share.is_empty() || !lane.share_is_empty())
                && shared.front.has_woken()
            {
                // Invariant 8: a woken task waits for one run, not for the
                // rest of the share.
                round_between_runs(shared, share);
            }
        }
        if shared.is_shutdown_hint() {
            // Invariant 10: no round once shutdown began.
            return;
        }
        if let Some(n) = next.take() {
            // TLA+: `SlotFlush` (to the rerun list, invariant 5). Through the
            // front queue it cost a push and, the queue being empty, a futex
            // or eventfd wake-up every `BATCH` runs of a ping-pong pair.
            trace!(slot_take(n.raw().state() as *const _ as usize));
            rerun.push_back(n);
        }
        if let Some(mut role) = shared.role.try_acquire() {
            // Readiness first, so the tasks it wakes are taken by this round.
            shared.driver.poll_events();
            let round = role.round(shared);
            // Invariant 4: the round's pass runs first in the next batch.
            share.extend(round.pass);
            if !rerun.is_empty() {
                // TLA+: `RerunFlush` (as the holder, after the round:
                // invariant 5). The help loop below wakes sleepers for them.
                shared.ready.push_batch(rerun);
                // A burst of local spawns (invariant 6) may have grown the
                // list far beyond `BATCH`: give that back (`ready::trim`).
                drop(super::ready::trim(rerun));
            }
            let ready = shared.ready.len();
            if ready > 0 || ran > 0 || !share.is_empty() || hooks.pending() || shared.is_shutdown()
            {
                let timed = round.next_deadline.is_some();
                drop(role);
                // This worker takes one of the ready tasks itself.
                help(shared, ready.saturating_sub(1), timed);
                continue;
            }
            if !lingered
                && shared.workers >= 2
                && hooks.may_linger()
                && round.next_deadline.is_none()
                && !shared.driver.has_sources()
                && shared.front.is_empty()
            {
                // Invariant 7. TLA+: `SchedRelease` (from `Drained`), then
                // reads, or a steal (`StealSlot`, `StealFill`).
                drop(role);
                lingered = true;
                // `watch.rs` invariant 7: spawns kept behind a run that goes
                // on (`KeptLooks`: the lanes every few polls).
                let looks = std::cell::RefCell::new(shared.watch.kept_looks(&watch.lane));
                shared.idle.linger(
                    || {
                        shared.is_shutdown()
                            || shared.ready.len() >= 2
                            || looks.borrow_mut().poll(lane)
                    },
                    || shared.ready.len() > 0 || !shared.front.is_empty(),
                );
                // `idle.rs` invariant 5: whether wakes for kept spawns help.
                if let Some(useful) = looks.borrow().learnt() {
                    shared.idle.learn_keep_wakes(useful);
                }
                continue;
            }
            // Nothing to run: block in the driver, holding the role, until the
            // nearest deadline (ours or the hook's) or an unpark.
            let deadline = match (round.next_deadline, hooks.deadline()) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            // Seeded bug (VERIFICATION.md; TLA+ twin `ParkWithoutHolder`): the
            // role is released before blocking in the driver, so a pusher that
            // sees it free wakes an idle worker instead of the driver.
            #[cfg(tempo_mutant = "park_after_release")]
            drop(role);
            if shared.front.is_empty() {
                let timeout = deadline.map(|d| d.saturating_duration_since(shared.clock.now()));
                let timeout = if shared.clock.is_manual() {
                    None
                } else {
                    timeout
                };
                if timeout != Some(std::time::Duration::ZERO) {
                    // The monitor sleeps at most a tick (`watch.rs`).
                    // No `monitor_wanted` re-check here: a wake meant to
                    // start a monitor (`Owe::pay`) unparks the driver when no
                    // idle worker sleeps, and the unpark is sticky.
                    let sleep = shared.watch.sleeping(&mut watch);
                    let bound = earliest(timeout, sleep.bound());
                    let since = WokeEarly::start();
                    shared.driver.park(bound);
                    shared.watch.woke(shared, &mut watch);
                    if since.notified(bound, sleep, &shared.idle) {
                        lingered = false;
                    }
                }
            }
            #[cfg(not(tempo_mutant = "park_after_release"))]
            drop(role);
            continue;
        }
        // TLA+: `SchedBusy` (the role is held by another worker).
        if !rerun.is_empty() {
            // TLA+: `RerunFlush`; then back to popping (`ran > 0`), a
            // sleeper helping with the rest.
            let k = shared.ready.push_batch(rerun);
            drop(super::ready::trim(rerun));
            if k > 1 {
                shared.idle.notify_one();
            }
        }
        if ran > 0 {
            continue;
        }
        // The role is held by another worker: sleep until there is work.
        // A caller-driven loop bounds the sleep by its own future's deadline,
        // which the role holder does not know about.
        let timeout = match hooks.deadline() {
            Some(d) if !shared.clock.is_manual() => {
                Some(d.saturating_duration_since(shared.clock.now()))
            }
            _ => None,
        };
        let sleep = shared.watch.sleeping(&mut watch);
        let bound = earliest(timeout, sleep.bound());
        let since = WokeEarly::start();
        shared.idle.park(
            || {
                shared.ready.len() > 0
                    || (!shared.role.is_held()
                        && (!shared.front.is_empty() || shared.role.timed() > 0))
                    || shared.is_shutdown()
                    || hooks.pending()
                    // `watch.rs` invariant 4: a runner is awake and nobody
                    // holds the claim (a wake meant to start a monitor found
                    // no sleeper yet): go round and claim it.
                    || (sleep == Sleep::Untimed && shared.watch.monitor_wanted())
            },
            bound,
        );
        shared.watch.woke(shared, &mut watch);
        if since.notified(bound, sleep, &shared.idle) {
            lingered = false;
        }
    }
}

/// When a sleep began, to tell a wake-up by a notify from the sleep's bound
/// running out (invariant 7). Under loom and shuttle there is no clock (a
/// model must not branch on real time): a wake-up never counts as early
/// there, so the linger stays once per idle period, as before.
struct WokeEarly(#[cfg(not(any(tempo_loom, tempo_shuttle)))] std::time::Instant);

impl WokeEarly {
    fn start() -> WokeEarly {
        WokeEarly(
            #[cfg(not(any(tempo_loom, tempo_shuttle)))]
            std::time::Instant::now(),
        )
    }

    /// After a sleep that began at `self` with `bound`: whether a notify
    /// ended it, before its bound (`None`: unbounded, so any wake-up was
    /// one): invariant 7, a new idle period starts. A monitor's sleep that
    /// ran to its bound is a tick instead (`idle.rs` invariant 5).
    fn notified(
        &self,
        bound: Option<std::time::Duration>,
        sleep: super::watch::Sleep,
        idle: &super::idle::Idle,
    ) -> bool {
        #[cfg(not(any(tempo_loom, tempo_shuttle)))]
        {
            if bound.is_none_or(|b| self.0.elapsed() < b) {
                return true;
            }
            if sleep.bound().is_some() {
                idle.tick();
            }
            false
        }
        #[cfg(any(tempo_loom, tempo_shuttle))]
        {
            let _ = (bound, sleep, idle);
            false
        }
    }
}

/// The shorter of two optional sleep bounds (`None`: unbounded).
fn earliest(
    a: Option<std::time::Duration>,
    b: Option<std::time::Duration>,
) -> Option<std::time::Duration> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}
