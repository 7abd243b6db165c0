//! Which runtime this thread is running a task of, and the worker's
//! next-run slot.
//!
//! **The runtime pointer.** A wake that pushes a task onto the front queue
//! hands the task over: from then on another worker may run, complete and
//! free it, and with it the task's own `Arc<Shared>`. A wake from an
//! arbitrary thread therefore clones that `Arc` for the duration of the push
//! (`RawTask::act_on`), which is an RMW on a reference count every worker
//! shares. A wake from one of the runtime's own workers, in the middle of a
//! run (a channel send, a join, a spawn, a yield), skips the clone: the
//! worker holds a handle to the runtime for its whole run loop.
//!
//! **The next-run slot** (TLA+: `slot[w]`). A task that a worker's run moves
//! `IDLE → SCHEDULED` (a channel send, a completed task waking its joiner) is
//! not pushed through the front queue, the sched role and the ready queue: the worker keeps its notification here and runs it right after the
//! current task (`worker::run_loop`). A message passed between two tasks then
//! costs no queue operation, no lock and no thread wake-up. Without the slot
//! every such wake crossed two shared queues and, when the role holder slept
//! in the driver, an `eventfd` write and a futex wake (16 ping-pong pairs:
//! 1455 futex calls against tokio's 86, which keeps a woken task on its
//! waker's worker the same way). A spawn uses the slot only when nothing
//! spawned before it awaits dispatch (`shared.rs` invariant 5), so that a
//! new task is still dispatched in spawn order (`shared.rs` invariant 4),
//! whereas a woken
//! task is *re*-run, for which no order is promised beyond "without delay".
//!
//! **The rerun list** (TLA+: `rerun[w]`). The worker's rerun list (`worker.rs`
//! invariant 5) is reachable from here during a run, so that a spawn on a
//! one-runner runtime can append the new task to it (`shared.rs` invariant 3,
//! TLA+: `SpawnLocal`): behind the tasks this worker re-posted before, ahead
//! of the re-post of the spawner itself, if any.
//!
//! # Invariants
//! 1. `RUNNING` is non-null exactly while this thread is inside
//!    `worker::run_task` for the runtime it points at; the thread holds a
//!    `Handle` (an `Arc<Shared>`) for its whole run loop, so the pointee
//!    outlives every step taken while it is set.
//! 2. Only this thread reads or writes its `RUNNING`, `NEXT`, `RERUN` and
//!    `KEEP` (one thread-local, so a run's entry and exit touch it once
//!    each); [`RunGuard`] saves them on entry and restores them when it
//!    ends.
//!    `NEXT` points at the running worker's *lane* (`watch.rs`), which
//!    holds the slot itself, so that another thread can steal from it.
//! 3. The slot holds at most one notification, of a task of the `RUNNING`
//!    runtime whose wake moved it `IDLE → SCHEDULED` (`Notify::PushIdle`)
//!    or that this run spawned ([`keep_spawned`]): the task is in no queue
//!    and in no waiting heap (never a `WAITING` task, whose heap entry only
//!    the sched role removes). Only the running
//!    worker fills it, with a plain store into an empty slot; it is
//!    non-empty only while `RUNNING` is set. [`RunGuard::finish`] takes it
//!    with a swap and hands it to the worker loop, which runs it next or,
//!    after `BATCH` runs, appends it to the worker's rerun list (`worker.rs`
//!    invariant 5; TLA+: `WorkerTakeSlot`, `SlotFlush`). While the run goes
//!    on, the *monitor* (`watch.rs` invariant 4: a sleeping runner that
//!    ticks while others are awake) may swap the task out and run it
//!    once the run has lasted a tick (TLA+: `StealSlot`), and a lingering
//!    worker a kept *spawn* once the run has lasted `watch::KEPT_STALE`
//!    (`watch.rs` invariant 7): a kept task never waits for a long poll's
//!    end while another worker idles (before, it did: tokio's LIFO-slot
//!    starvation). Exactly one of the two swaps
//!    gets it (`watch.rs` invariant 1). Keeping a task costs the owner a
//!    load and a store on its own lane's line (plus one Relaxed load of the
//!    `unwatched` flag there); taking it, a swap on that line when it is
//!    non-empty.
//! 4. A slot never outlives its run: a `RunGuard` dropped without `finish`
//!    (unwinding) pushes the slot's task to the front queue, so no
//!    notification is lost.
//! 5. `RERUN` points at the running worker's rerun list exactly while
//!    `RUNNING` is set (saved and restored with it); the worker loop owns
//!    the list and does not touch it during the run (`worker::run_task`
//!    reaches it only through the pointer it passed to [`enter`]).
//! 6. `KEEP` (saved and restored with `RUNNING`) is [`Keep::Never`] outside
//!    a run and during a batch's last run (`shared.rs` invariant 5), else
//!    [`Keep::May`] until the run keeps a spawn in the slot
//!    ([`keep_spawned`]: [`Keep::Kept`]), which lasts until the run's next
//!    spawn moves it to the front queue ([`spawn_place`]) or a wake puts a
//!    woken task in the slot (the kept one was stolen then). So while it is
//!    `Kept`, the slot holds the kept spawn or nothing.

use super::shared::SpawnTo;
use super::watch::Lane;
use super::Shared;
use crate::shim::tls;
use crate::task::header::Notified;
use std::cell::Cell;
use std::collections::VecDeque;

/// This thread's run context (invariants 1–6).
struct Ctx {
    /// `RUNNING`: the runtime whose task this thread runs, or null.
    running: Cell<*const Shared>,
    /// `NEXT`: the running worker's lane, whose slot is the next-run slot
    /// (invariant 3), or null.
    lane: Cell<*const Lane>,
    /// `RERUN`: the running worker's rerun list, or null (invariant 5).
    rerun: Cell<*mut VecDeque<Notified>>,
    /// `KEEP`: whether this run may keep a spawn, and whether the slot
    /// holds the one it kept (invariant 6).
    keep: Cell<Keep>,
}

/// Invariant 6: the kept-spawn state of a run.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Keep {
    /// No spawn may be kept (no run, or the last run of a batch).
    Never,
    /// A spawn may be kept; none is.
    May,
    /// The slot holds, unless a monitor or a lingering worker stole it, the spawn this run kept.
    Kept,
}

tls! {
    static CTX: Ctx = const {
        Ctx {
            running: Cell::new(std::ptr::null()),
            lane: Cell::new(std::ptr::null()),
            rerun: Cell::new(std::ptr::null_mut()),
            keep: Cell::new(Keep::Never),
        }
    };
}

/// Marks this thread as running a task of one runtime until finished or
/// dropped.
pub(crate) struct RunGuard {
    shared: *const Shared,
    lane: *const Lane,
    prev: *const Shared,
    prev_lane: *const Lane,
    prev_rerun: *mut VecDeque<Notified>,
    prev_keep: Keep,
}

/// Enters `run_task` for `shared` (invariant 1), with the worker's lane at
/// `lane` (its slot empty: the owner took it at the end of its last run),
/// its rerun list at `rerun` (invariant 5), and whether the run may keep a
/// spawn in the slot (`may_keep`: not the last run of a batch, invariant
/// 6).
///
/// # Safety
/// Until the returned guard is finished or dropped: `shared` and `lane`
/// stay alive (the guard and every wake of the run dereference them:
/// invariants 1 and 2), and `rerun` points at a valid list that nothing
/// touches but through the run context (invariant 5: `push_spawned`
/// writes through it). Guards end in the reverse order of their
/// `enter`s (each restores the values it saved).
pub(crate) unsafe fn enter(
    shared: &Shared,
    lane: &Lane,
    rerun: *mut VecDeque<Notified>,
    may_keep: bool,
) -> RunGuard {
    let keep = if may_keep { Keep::May } else { Keep::Never };
    let (prev, prev_lane, prev_rerun, prev_keep) = CTX.with(|c| {
        (
            c.running.replace(shared),
            c.lane.replace(lane),
            c.rerun.replace(rerun),
            c.keep.replace(keep),
        )
    });
    RunGuard {
        shared,
        lane,
        prev,
        prev_lane,
        prev_rerun,
        prev_keep,
    }
}

/// Appends a task just spawned and registered by a task of this thread's
/// running runtime to the worker's rerun list (`shared.rs` invariant 3).
///
/// # Panics
/// If this thread runs no task (the caller got [`SpawnTo::Rerun`] from
/// [`spawn_place`]).
///
/// TLA+: the append of `SpawnLocal` (private to this worker)
pub(crate) fn push_spawned(n: Notified) {
    debug_assert!(
        n.raw().state().load().status() == crate::task::state::SCHEDULED,
        "tempo bug: only a SCHEDULED task goes to a rerun list"
    );
    let p = CTX.with(|c| c.rerun.get());
    assert!(!p.is_null(), "tempo bug: a local spawn outside a run");
    trace!(rerun(n.raw().state() as *const _ as usize));
    // SAFETY: invariant 5: `p` is the running worker's rerun list, which
    // nothing else touches during the run; no reference to it is live here.
    unsafe { (*p).push_back(n) };
}

/// Where a task spawned now by this thread for the runtime at `shared`
/// goes (`shared.rs` invariants 3 and 5): the front queue unless this
/// thread runs a task of that runtime; then the rerun list if it is the
/// runtime's only runner; else, if this run kept a spawn already, that one
/// goes to the front queue first (unless a monitor or a lingering worker stole it) and this one
/// follows it there; else the next-run slot if the run may keep one
/// (invariant 6), the slot, the share and the rerun list are empty and
/// nothing awaits dispatch ([`Shared::nothing_awaits_dispatch`]). One read
/// of the thread-local (and one write when it moves a kept spawn).
///
/// TLA+: for a kept spawn moved out, `SlotUnkeep(w)` (then `PushFront`)
pub(crate) fn spawn_place(shared: &Shared) -> SpawnTo {
    let Ok((running, lane, rerun, keep)) =
        CTX.try_with(|c| (c.running.get(), c.lane.get(), c.rerun.get(), c.keep.get()))
    else {
        return SpawnTo::Front;
    };
    if !std::ptr::eq(running, shared) {
        return SpawnTo::Front;
    }
    if shared.one_runner() {
        return SpawnTo::Rerun;
    }
    // SAFETY: invariants 1 and 5: `enter` set `lane` and `rerun` with
    // `running`; both outlive the run, nothing else touches the list during
    // it, and no reference to it is live here.
    let (lane, rerun_empty) = unsafe { (&*lane, (*rerun).is_empty()) };
    match keep {
        Keep::Never => SpawnTo::Front,
        Keep::Kept => {
            // Invariant 6: the kept spawn goes first, to the head of the
            // ready queue (everything queued now was pushed after it was
            // kept); this one then takes the front queue, whose push wakes
            // a worker for both (`shared.rs` invariant 5).
            CTX.with(|c| c.keep.set(Keep::May));
            if let Some(n) = lane.take() {
                // TLA+: `SlotUnkeep` (the owner's take of its slot, traced
                // as one: it settles what the kept spawn owed).
                trace!(slot_take(n.raw().state() as *const _ as usize));
                shared.ready.push_head(n);
                // A straggler after shutdown (`worker.rs` invariant 10):
                // the drain may have run; as `Held`'s give-back does.
                if shared.front.is_closed() {
                    drop(shared.ready.drain());
                }
            }
            SpawnTo::Front
        }
        Keep::May => {
            if lane.slot_is_empty()
                && lane.share_is_empty()
                && rerun_empty
                && shared.nothing_awaits_dispatch()
            {
                SpawnTo::Slot
            } else {
                SpawnTo::Front
            }
        }
    }
}

/// Keeps a task just spawned and registered by a task of this thread's
/// running runtime in the worker's next-run slot, which [`spawn_place`]
/// found empty (`shared.rs` invariant 5), and makes sure a monitor
/// watches, as [`try_keep`] does; where a worker may linger and none does,
/// wakes a sleeper to linger (`watch.rs` invariant 7), so that the child
/// runs beside this run if the run goes on.
///
/// # Panics
/// If this thread runs no task (the caller got [`SpawnTo::Slot`]).
///
/// TLA+: the slot store of `SpawnSlot` (private to this worker until a
/// monitor's or a lingering worker's `StealSlot`), then `NotifySched`
pub(crate) fn keep_spawned(shared: &Shared, n: Notified) {
    let lane = CTX.with(|c| c.lane.get());
    assert!(!lane.is_null(), "tempo bug: a kept spawn outside a run");
    // SAFETY: invariant 1: the lane outlives the run.
    let lane = unsafe { &*lane };
    if let Err(n) = lane.keep(n, true) {
        // Only this thread fills its slot (`watch.rs` invariant 1), and it
        // saw it empty in `spawn_place`: unreachable. Lose nothing anyway
        // (only the debug assertion shows it: a trace of `SpawnSlot` then
        // `PushFront` is accepted with `SpawnSlot` given to another worker).
        debug_assert!(false, "tempo bug: the slot filled during a spawn");
        shared.push_front(n);
        return;
    }
    CTX.with(|c| c.keep.set(Keep::Kept));
    shared.watch.held(shared, lane).pay(shared);
    // `watch.rs` invariant 7: if this run goes on computing, a lingering
    // worker takes the child after `KEPT_STALE`; make sure one will look
    // (a sleeper wakes and lingers), where a worker may linger at all
    // (`worker.rs` invariant 7: no I/O source, no deadline waiting), if
    // such wakes have helped lately or a probe is due (`idle.rs` invariant
    // 5; last: it may take the probe). Nothing if one lingers already: a
    // chain of spawns wakes nobody per link.
    // TLA+: `NotifySched` (owed by `SpawnSlot`).
    if !shared.idle.is_lingering() && shared.idle.keep_wake_wanted(|| shared.may_linger()) {
        shared.notify_sched();
    }
}

/// Whether this thread is running a task of the runtime at `shared`: if so,
/// `*shared` outlives the caller's current step (invariant 1).
pub(crate) fn is_running_for(shared: *const Shared) -> bool {
    CTX.try_with(|c| c.running.get() == shared).unwrap_or(false)
}

/// Keeps `n` in this worker's next-run slot if the slot is empty;
/// otherwise hands `n` back, to be pushed to the front queue.
///
/// The caller checked [`is_running_for`] `n`'s runtime, and its transition
/// returned `Notify::PushIdle` for `n`'s task (invariant 3; the status is
/// checked in debug builds).
///
/// TLA+: the slot branch of `WakeEffect` (part of the wake's RMW step:
/// only this thread fills the slot, `watch.rs` invariant 1).
pub(crate) fn try_keep(n: Notified) -> Result<(), Notified> {
    debug_assert!(
        n.raw().state().load().status() == crate::task::state::SCHEDULED,
        "tempo bug: only a SCHEDULED task goes to the next-run slot"
    );
    let (shared, lane, kept) = CTX
        .try_with(|c| (c.running.get(), c.lane.get(), c.keep.get() == Keep::Kept))
        .unwrap_or((std::ptr::null(), std::ptr::null(), false));
    if lane.is_null() {
        return Err(n);
    }
    // SAFETY: invariant 1: `lane` and `shared` are set together by `enter`
    // and outlive the run (the worker loop holds both).
    let (shared, lane) = unsafe { (&*shared, &*lane) };
    lane.keep(n, false)?;
    if kept {
        // Invariant 6: the slot holds a woken task, not a kept spawn (the
        // kept one was stolen: the slot was empty). The thread-local is
        // written only then, so a wake costs no second access to it.
        CTX.with(|c| c.keep.set(Keep::May));
    }
    // A task now waits behind this run: make sure a monitor watches
    // (`watch.rs` invariant 4; one Relaxed load in the common case).
    shared.watch.held(shared, lane).pay(shared);
    Ok(())
}

impl RunGuard {
    /// Ends the run: restores the outer values and hands over the slot's
    /// notification, unless a monitor or a lingering worker stole it (invariant 3).
    pub(crate) fn finish(self) -> Option<Notified> {
        let next = self.restore();
        std::mem::forget(self);
        next
    }

    fn restore(&self) -> Option<Notified> {
        let (prev, prev_lane, prev_rerun, prev_keep) =
            (self.prev, self.prev_lane, self.prev_rerun, self.prev_keep);
        let _ = CTX.try_with(|c| {
            c.running.set(prev);
            c.lane.set(prev_lane);
            c.rerun.set(prev_rerun);
            c.keep.set(prev_keep);
        });
        // SAFETY: `enter`'s contract (`# Safety`): the lane outlives the
        // guard.
        unsafe { &*self.lane }.take()
    }
}

impl Drop for RunGuard {
    fn drop(&mut self) {
        if let Some(n) = self.restore() {
            // SAFETY: invariant 1: the guard's runtime outlives the guard.
            unsafe { (*self.shared).push_woken(n) }
        }
    }
}
