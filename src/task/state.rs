//! The task state word: one `AtomicUsize` per task holding the task's
//! status, its flags and its reference count.
//!
//! Every change to the word is one named read-modify-write method below that
//! returns a `#[must_use]` value saying what the caller owes (push the task,
//! poll it, drop its future, drop its output, free it). No other module does
//! bit arithmetic on the word; they read it through [`Snapshot`].
//!
//! # Layout
//! ```text
//!  63 ............ 16 | 15..10 |  9   8   7    6    5    4    3  | 2..0
//!  reference count    | (0)    | STA JW  JI   SIG  WOK  CAN  NOT| status
//! ```
//!
//! # Invariants (checked by `debug_assert!`s and mirrored in `tla/Scheduler.tla`)
//! 1. `status` is exactly one of [`IDLE`], [`SCHEDULED`], [`RUNNING`],
//!    [`WAITING`], [`WAITING_POSTED`], [`COMPLETE`]; `COMPLETE` is terminal.
//! 2. [`NOTIFIED`] is set only while `status == RUNNING` (spec: `NotifiedOnlyRunning`).
//! 3. [`SIGNALED`] set and not `COMPLETE` implies `status ∈ {SCHEDULED, RUNNING}`:
//!    a signal always guarantees one more run (spec: `SignalNeverLost`).
//! 4. Exactly the thread whose RMW moved the task *out of* `IDLE` or `WAITING`
//!    into `SCHEDULED` (or out of `RUNNING` into `SCHEDULED`/`WAITING_POSTED`)
//!    pushes it to the front queue; so a task is in at most one queue
//!    (spec: `AtMostOnePlace`) and is polled by at most one worker (`NoDoubleRun`).
//! 5. The reference count counts: the registry entry, the `JoinHandle`, every
//!    `Waker` and `TaskRef`, and the one notification travelling through the
//!    queues. The task is freed by whoever drops the count to zero.
//! 6. [`STARTED`] is set by the first `transition_to_running` and never
//!    cleared: a `SCHEDULED` task without it was spawned and has never run
//!    (spec: `started`). The sched role reads it in the dispatch RMW
//!    (`Dispatch::ToReady { started }`): a woken task may pass the ready
//!    queue, a spawned one never does (FIFO start order; `sched/role.rs`
//!    invariant 4).

use crate::shim::atomic::{AtomicUsize, Ordering::*};

// ---- status (a 3-bit field; values are mutually exclusive by construction) ----
/// Pending with no deadline; in no queue; a wake must push it.
pub(crate) const IDLE: usize = 0;
/// Owes exactly one run: in the front or ready queue, or in a worker's hand.
pub(crate) const SCHEDULED: usize = 1;
/// A worker is polling the future.
pub(crate) const RUNNING: usize = 2;
/// Pending with a deadline, sitting in the sched role's waiting heap; a wake must push it.
pub(crate) const WAITING: usize = 3;
/// Pending with a deadline, travelling through the front queue to the heap; a wake must NOT push it.
pub(crate) const WAITING_POSTED: usize = 4;
/// Terminal: the output is stored (or the future was dropped).
pub(crate) const COMPLETE: usize = 5;
/// Mask of the status field.
const STATUS_MASK: usize = 0b111;

// ---- flags ----
/// Woken while `RUNNING`: the worker re-posts the task after the poll.
/// Impossible together with any status but `RUNNING`.
pub(crate) const NOTIFIED: usize = 1 << 3;
/// Abort requested (or shutdown): the next worker to hold the task drops the
/// future instead of polling it. Sticky.
pub(crate) const CANCELLED: usize = 1 << 4;
/// An explicit `TaskRef::wakeup()` not yet consumed by `wait`. Never set while `SIGNALED`
/// is being set by the same call (wakeup on a signaled task changes nothing).
pub(crate) const WOKEN: usize = 1 << 5;
/// A signal not yet received (`receive_signal`). Sticky; signals do not stack.
pub(crate) const SIGNALED: usize = 1 << 6;
/// The `JoinHandle` is alive and will read (or drop) the output.
pub(crate) const JOIN_INTEREST: usize = 1 << 7;
/// The join waker slot holds a waker the completer must wake. Never set
/// without `JOIN_INTEREST`.
pub(crate) const JOIN_WAKER: usize = 1 << 8;
/// The task has been started (polled, or dropped as cancelled) at least
/// once; set by `transition_to_running`, never cleared (invariant 6).
/// Combines with every status but the initial `SCHEDULED` of a new task.
pub(crate) const STARTED: usize = 1 << 9;

/// Shift of the reference count.
const REF_SHIFT: usize = 16;
/// One reference.
const REF_ONE: usize = 1 << REF_SHIFT;
/// Mask of the reference count.
const REF_MASK: usize = !(REF_ONE - 1);

/// A value of the state word, read once.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Snapshot(usize);

impl Snapshot {
    /// The status field.
    pub(crate) fn status(self) -> usize {
        self.0 & STATUS_MASK
    }
    fn with_status(self, s: usize) -> Snapshot {
        Snapshot((self.0 & !STATUS_MASK) | s)
    }
    /// Whether `flag` is set.
    pub(crate) fn has(self, flag: usize) -> bool {
        self.0 & flag == flag
    }
    fn set(self, flag: usize) -> Snapshot {
        Snapshot(self.0 | flag)
    }
    fn unset(self, flag: usize) -> Snapshot {
        Snapshot(self.0 & !flag)
    }
    /// `status == COMPLETE`.
    pub(crate) fn is_complete(self) -> bool {
        self.status() == COMPLETE
    }
    /// A snapshot of a raw word (trace validation reads recorded words).
    #[cfg(any(tempo_loom, tempo_shuttle))]
    pub(crate) fn from_raw(w: usize) -> Snapshot {
        Snapshot(w)
    }
    /// The reference count.
    pub(crate) fn refs(self) -> usize {
        (self.0 & REF_MASK) >> REF_SHIFT
    }
    fn add_ref(self) -> Snapshot {
        assert!(
            self.refs() < (usize::MAX >> REF_SHIFT) / 2,
            "tempo: task reference count overflow"
        );
        Snapshot(self.0 + REF_ONE)
    }
    /// Debug check of invariants 1–3.
    fn check(self) -> Snapshot {
        debug_assert!(self.status() <= COMPLETE, "bad status {}", self.status());
        debug_assert!(
            !self.has(NOTIFIED) || self.status() == RUNNING,
            "NOTIFIED outside RUNNING: {self:?}"
        );
        debug_assert!(
            !self.has(SIGNALED) || matches!(self.status(), SCHEDULED | RUNNING | COMPLETE),
            "signal could be lost: {self:?}"
        );
        debug_assert!(!self.has(JOIN_WAKER) || self.has(JOIN_INTEREST) || self.is_complete());
        self
    }
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = [
            "IDLE",
            "SCHEDULED",
            "RUNNING",
            "WAITING",
            "WAITING_POSTED",
            "COMPLETE",
            "?6",
            "?7",
        ][self.status()];
        let mut d = f.debug_struct("Snapshot");
        d.field("status", &name);
        for (flag, n) in [
            (NOTIFIED, "notified"),
            (CANCELLED, "cancelled"),
            (WOKEN, "woken"),
            (SIGNALED, "signaled"),
            (JOIN_INTEREST, "join_interest"),
            (JOIN_WAKER, "join_waker"),
            (STARTED, "started"),
        ] {
            if self.has(flag) {
                d.field(n, &true);
            }
        }
        d.field("refs", &self.refs()).finish()
    }
}

/// What a wake-style transition owes.
#[must_use]
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub(crate) enum Notify {
    /// The caller moved the task `IDLE → SCHEDULED` and took a new reference
    /// for the notification. The task is in no queue and no heap: the caller
    /// pushes it to the front queue, or, on a worker of the task's runtime,
    /// may keep it in the worker's next-run slot (`sched/running.rs`).
    PushIdle,
    /// The caller moved the task `WAITING → SCHEDULED` and took a new
    /// reference for the notification. Its stale waiting-heap entry is
    /// removed only by the sched role's dispatch, so the caller must push the
    /// task to the front queue (never to a next-run slot).
    Push,
    /// Nothing to do (already scheduled, running, complete, or no effect).
    Nothing,
}

/// What `transition_to_running` owes.
#[must_use]
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub(crate) enum Start {
    /// Poll the future; the snapshot is the word before the transition.
    Poll(Snapshot),
    /// Abort was requested: drop the future and complete the task.
    Cancel,
    /// Shutdown's sweep owns the task: it is complete (swept), or `RUNNING`
    /// with `CANCELLED` and no poll of ours (`finish_shutdown` claimed it
    /// and is dropping its future): drop the notification. Only a straggler
    /// worker (`shutdown_timeout` expired) meets either: it read the
    /// shutdown flag unset just before the sweep (`worker.rs` invariant 10).
    Skip,
}

/// What `transition_to_idle` owes.
#[must_use]
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub(crate) enum AfterPoll {
    /// Pending and nothing pending for it. `released`: this RMW also
    /// dropped the notification's reference (other references remained), so
    /// the caller forgets the notification instead of dropping it; else the
    /// caller drops it (which may free the task). One RMW instead of two on
    /// every run that ends idle (`3-pingpong`: the reference decrement was a
    /// fifth of `run_loop`'s own samples, perf).
    Idle { released: bool },
    /// Woken or signaled during the poll: run it again (keep the notification;
    /// a worker appends it to its rerun list, `sched/worker.rs` invariant 5).
    Repost,
    /// Pending with a deadline: push the task so the sched role puts it in the heap.
    PostWaiting,
    /// Aborted (or shut down) during the poll: the task stays `RUNNING` and the
    /// worker drops the future now (`FinishCancel`).
    Cancel,
}

/// What `transition_to_shutdown` owes.
#[must_use]
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub(crate) enum Shutdown {
    /// The caller now owns the run permission: drop the future and complete.
    Claimed,
    /// A worker is polling it; it will see `CANCELLED` when the poll returns.
    Busy,
    /// Already complete.
    Done,
}

/// What the sched role owes a task it took from the front queue.
#[must_use]
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub(crate) enum Dispatch {
    /// Put it in the waiting heap (it is now `WAITING`).
    ToHeap,
    /// Put it in the ready queue (it is `SCHEDULED`). `started`: it has run
    /// before (a wake, which may pass the ready queue, `sched/role.rs`
    /// invariant 4), or not (a spawn, which never does: FIFO start order).
    ToReady {
        /// [`STARTED`] was set (invariant 6).
        started: bool,
    },
    /// It is complete, or claimed by shutdown's sweep (`RUNNING` with
    /// `CANCELLED`, met only by a straggler's round, as for
    /// [`Start::Skip`]): drop the notification.
    Drop,
}

/// The word of a new task (`State::new`).
pub(crate) const INITIAL: usize = SCHEDULED | JOIN_INTEREST | (3 * REF_ONE);
/// The bits of the word that are not the reference count (trace validation
/// chains transitions on these: reference counting commutes with them).
#[cfg(any(tempo_loom, tempo_shuttle))]
pub(crate) const NON_REF_BITS: usize = !REF_MASK;

/// The atomic state word of one task.
pub(crate) struct State {
    val: AtomicUsize,
}

impl State {
    /// A new task: `SCHEDULED` (the spawner pushes it), `JOIN_INTEREST`, and
    /// three references (registry, `JoinHandle`, the first notification).
    pub(crate) fn new() -> State {
        State {
            val: AtomicUsize::new(INITIAL),
        }
    }

    /// Reads the word (Acquire; pairs with the AcqRel of every transition).
    pub(crate) fn load(&self) -> Snapshot {
        Snapshot(self.val.load(Acquire))
    }

    /// One CAS loop: `f` returns the new value and an outcome, or `None` for
    /// "no change" (still performed as an RMW, so every path is ordered).
    /// One transition: a CAS loop applying `f`; `act` names it for trace
    /// validation (`src/trace`; `()` and no code in normal builds).
    fn update<R>(
        &self,
        act: crate::TraceAct,
        mut f: impl FnMut(Snapshot) -> (Snapshot, R),
    ) -> (Snapshot, R) {
        #[cfg(not(any(tempo_loom, tempo_shuttle)))]
        let () = act;
        #[cfg(tempo_mutant = "relaxed_state")]
        let mut cur = Snapshot(self.val.load(Relaxed));
        #[cfg(not(tempo_mutant = "relaxed_state"))]
        let mut cur = Snapshot(self.val.load(Acquire));
        loop {
            let (next, r) = f(cur);
            let next = next.check();
            // AcqRel: every transition publishes what the caller wrote before it
            // (a signal's data, a stored output) and acquires what the previous
            // transition published. Pairs with itself and with `load`.
            // Seeded bug (VERIFICATION.md): the transitions publish nothing.
            #[cfg(tempo_mutant = "relaxed_state")]
            let (success, failure) = (Relaxed, Relaxed);
            #[cfg(not(tempo_mutant = "relaxed_state"))]
            let (success, failure) = (AcqRel, Acquire);
            match self
                .val
                .compare_exchange_weak(cur.0, next.0, success, failure)
            {
                Ok(_) => {
                    // Before the thread's next atomic operation (trace invariant 1).
                    trace!(step(act, self as *const State as usize, cur.0, next.0));
                    return (cur, r);
                }
                Err(actual) => cur = Snapshot(actual),
            }
        }
    }

    /// The common wake step: sets `flags` and moves the task towards a run.
    fn notify_with(&self, act: crate::TraceAct, flags: usize) -> Notify {
        let step = |s: Snapshot| {
            let s2 = s.set(flags);
            match s.status() {
                IDLE => (s2.with_status(SCHEDULED).add_ref(), Notify::PushIdle),
                WAITING => (s2.with_status(SCHEDULED).add_ref(), Notify::Push),
                // Seeded bug (VERIFICATION.md; TLA+ twin `WakePushesWaitingPosted`):
                // the task already travels through the front queue; pushing it
                // again puts it in two places.
                #[cfg(tempo_mutant = "wake_pushes_posted")]
                WAITING_POSTED => (s2.with_status(SCHEDULED).add_ref(), Notify::Push),
                #[cfg(not(tempo_mutant = "wake_pushes_posted"))]
                WAITING_POSTED => (s2.with_status(SCHEDULED), Notify::Nothing),
                RUNNING => (s2.set(NOTIFIED), Notify::Nothing),
                COMPLETE => (s, Notify::Nothing),
                _ => (s2, Notify::Nothing), // SCHEDULED: flags only
            }
        };
        // Seeded bug (VERIFICATION.md): the wake path as a load and a store
        // instead of one RMW; a concurrent transition in between is lost.
        #[cfg(tempo_mutant = "wake_load_store")]
        {
            let cur = Snapshot(self.val.load(Acquire));
            let (next, r) = step(cur);
            self.val.store(next.check().0, Release);
            trace!(step(act, self as *const State as usize, cur.0, next.0));
            return r;
        }
        #[allow(unreachable_code)]
        self.update(act, step).1
    }

    /// `Waker::wake`: guarantees one more poll.
    ///
    /// TLA+: `Wake`
    pub(crate) fn transition_to_notified(&self) -> Notify {
        self.notify_with(act!(Wake), 0)
    }

    /// `TaskRef::wakeup`: like [`transition_to_notified`](Self::transition_to_notified)
    /// and sets `WOKEN`, unless the task is signaled, where it changes nothing
    /// (still one RMW).
    ///
    /// TLA+: `Wakeup`
    pub(crate) fn transition_to_woken(&self) -> Notify {
        self.update(act!(Wakeup), |s| {
            if s.has(SIGNALED) || s.is_complete() {
                return (s, Notify::Nothing);
            }
            let s2 = s.set(WOKEN);
            match s.status() {
                IDLE => (s2.with_status(SCHEDULED).add_ref(), Notify::PushIdle),
                WAITING => (s2.with_status(SCHEDULED).add_ref(), Notify::Push),
                WAITING_POSTED => (s2.with_status(SCHEDULED), Notify::Nothing),
                RUNNING => (s2.set(NOTIFIED), Notify::Nothing),
                _ => (s2, Notify::Nothing),
            }
        })
        .1
    }

    /// `TaskRef::signal`: sets the sticky `SIGNALED` and wakes. Release
    /// (in the AcqRel CAS): writes before the signal are visible to the
    /// task after `receive_signal` returns `true`.
    ///
    /// TLA+: `Signal`
    pub(crate) fn transition_to_signaled(&self) -> Notify {
        self.notify_with(act!(Signal), SIGNALED)
    }

    /// `JoinHandle::abort`: sets the sticky `CANCELLED` and wakes.
    ///
    /// TLA+: `Abort`
    pub(crate) fn transition_to_cancelled(&self) -> Notify {
        self.notify_with(act!(Abort), CANCELLED)
    }

    /// A worker that holds the task's notification starts a poll:
    /// `SCHEDULED → RUNNING`, clearing `NOTIFIED`. A task that shutdown's
    /// sweep claimed or completed is left as it is ([`Start::Skip`]): a
    /// notification holder finds `RUNNING` only there (`RUNNING | CANCELLED`,
    /// `transition_to_shutdown`'s claim), as any other `RUNNING` task is
    /// polled by the one holder of its notification (invariant 4).
    ///
    /// TLA+: `StartPoll` (the `Skip` outcomes only meet a straggler worker
    /// racing `finish_shutdown`, which the spec does not model)
    pub(crate) fn transition_to_running(&self) -> Start {
        let (prev, r) = self.update(act!(StartPoll), |s| match s.status() {
            COMPLETE => (s, Start::Skip),
            RUNNING if s.has(CANCELLED) => (s, Start::Skip),
            SCHEDULED if s.has(CANCELLED) => (s.with_status(RUNNING).set(STARTED), Start::Cancel),
            // Seeded bug (VERIFICATION.md): the signal is cleared when the
            // poll starts, before the task could `receive_signal` it.
            #[cfg(tempo_mutant = "signal_cleared_at_start")]
            SCHEDULED => (
                s.with_status(RUNNING)
                    .unset(NOTIFIED | SIGNALED)
                    .set(STARTED),
                Start::Poll(s),
            ),
            #[cfg(not(tempo_mutant = "signal_cleared_at_start"))]
            SCHEDULED => (
                s.with_status(RUNNING).unset(NOTIFIED).set(STARTED),
                Start::Poll(s),
            ),
            _ => panic!("tempo bug: transition_to_running from {s:?}"),
        });
        match r {
            Start::Poll(_) => Start::Poll(prev),
            other => other,
        }
    }

    /// The poll returned `Pending`: stays `RUNNING` if aborted meanwhile (the
    /// caller cancels at once); `RUNNING → SCHEDULED` if woken or signaled
    /// meanwhile (a signaled task ignores its deadline); else `WAITING_POSTED`
    /// with a deadline; else `IDLE`, releasing the caller's notification
    /// reference in the same RMW unless it is the last one
    /// ([`AfterPoll::Idle`]).
    ///
    /// TLA+: `PollPending`
    pub(crate) fn transition_to_idle(&self, has_deadline: bool) -> AfterPoll {
        self.update(act!(PollPending { has_deadline }), |s| {
            debug_assert_eq!(s.status(), RUNNING, "{s:?}");
            if s.has(CANCELLED) {
                (s.unset(NOTIFIED), AfterPoll::Cancel)
            } else if s.has(NOTIFIED) || s.has(SIGNALED) {
                (s.with_status(SCHEDULED).unset(NOTIFIED), AfterPoll::Repost)
            } else if has_deadline {
                (s.with_status(WAITING_POSTED), AfterPoll::PostWaiting)
            } else if s.refs() >= 2 {
                // The notification's reference goes with this RMW; the task
                // keeps at least one, so nothing is freed here.
                (
                    Snapshot(s.with_status(IDLE).0 - REF_ONE),
                    AfterPoll::Idle { released: true },
                )
            } else {
                (s.with_status(IDLE), AfterPoll::Idle { released: false })
            }
        })
        .1
    }

    /// The future finished (or was dropped): `RUNNING → COMPLETE`. Returns the
    /// word before, so the caller knows whether to wake the join waker
    /// (`JOIN_WAKER`) or drop the output itself (no `JOIN_INTEREST`).
    ///
    /// TLA+: `PollReady` / `FinishCancel`
    pub(crate) fn transition_to_complete(&self) -> Snapshot {
        self.update(act!(Complete), |s| {
            debug_assert_eq!(s.status(), RUNNING, "{s:?}");
            (s.with_status(COMPLETE).unset(NOTIFIED), ())
        })
        .0
    }

    /// The sched role handles a task it took from the front queue:
    /// `WAITING_POSTED → WAITING` (to the heap) or `SCHEDULED` (to ready).
    ///
    /// TLA+: `SchedDispatch` (the `Drop` of a claimed task only meets a
    /// straggler racing `finish_shutdown`, which the spec does not model)
    pub(crate) fn transition_to_dispatched(&self) -> Dispatch {
        self.update(act!(Dispatch), |s| match s.status() {
            WAITING_POSTED => (s.with_status(WAITING), Dispatch::ToHeap),
            SCHEDULED => (
                s,
                Dispatch::ToReady {
                    started: s.has(STARTED),
                },
            ),
            COMPLETE => (s, Dispatch::Drop),
            // Claimed by shutdown's sweep while a straggler's round held its
            // notification: as for `transition_to_running`'s `Skip`.
            RUNNING if s.has(CANCELLED) => (s, Dispatch::Drop),
            _ => panic!("tempo bug: dispatch of {s:?}"),
        })
        .1
    }

    /// The sched role pops an expired heap entry: `WAITING → SCHEDULED`
    /// (returns `true`: the heap's reference becomes the notification), or
    /// no change if a wake got there first (returns `false`).
    ///
    /// TLA+: `SchedExpire`
    pub(crate) fn transition_expired(&self) -> bool {
        self.update(act!(Expire), |s| match s.status() {
            WAITING => (s.with_status(SCHEDULED), true),
            _ => (s, false),
        })
        .1
    }

    /// Shutdown claims the task: any non-running, non-complete status →
    /// `RUNNING | CANCELLED` (the caller drops the future); a running task
    /// only gets `CANCELLED`.
    ///
    /// TLA+: `ShutdownSweep`
    pub(crate) fn transition_to_shutdown(&self) -> Shutdown {
        self.update(act!(ShutdownClaim), |s| match s.status() {
            COMPLETE => (s, Shutdown::Done),
            RUNNING => (s.set(CANCELLED), Shutdown::Busy),
            _ => (s.with_status(RUNNING).set(CANCELLED), Shutdown::Claimed),
        })
        .1
    }

    /// Clears `SIGNALED`, returning whether it was set. Acquire (AcqRel);
    /// pairs with the Release in `transition_to_signaled`.
    ///
    /// TLA+: `ReceiveSignal`
    pub(crate) fn receive_signal(&self) -> bool {
        let prev = self.val.fetch_and(!SIGNALED, AcqRel);
        trace!(step(
            act!(ReceiveSignal),
            self as *const State as usize,
            prev,
            prev & !SIGNALED
        ));
        Snapshot(prev).has(SIGNALED)
    }

    /// Clears `WOKEN`, returning whether it was set (AcqRel; pairs with
    /// `transition_to_woken`).
    ///
    /// TLA+: `ConsumeWoken`
    pub(crate) fn take_woken(&self) -> bool {
        let prev = self.val.fetch_and(!WOKEN, AcqRel);
        trace!(step(
            act!(ConsumeWoken),
            self as *const State as usize,
            prev,
            prev & !WOKEN
        ));
        Snapshot(prev).has(WOKEN)
    }

    /// The `JoinHandle` installs a waker: sets `JOIN_WAKER` unless complete.
    pub(crate) fn set_join_waker(&self) -> Result<(), Snapshot> {
        let (prev, ok) = self.update(act!(Join), |s| {
            debug_assert!(s.has(JOIN_INTEREST) && !s.has(JOIN_WAKER));
            if s.is_complete() {
                (s, false)
            } else {
                (s.set(JOIN_WAKER), true)
            }
        });
        if ok {
            Ok(())
        } else {
            Err(prev)
        }
    }

    /// The `JoinHandle` takes back the waker slot: clears `JOIN_WAKER` unless complete.
    pub(crate) fn unset_join_waker(&self) -> Result<(), Snapshot> {
        let (prev, ok) = self.update(act!(Join), |s| {
            if s.is_complete() {
                (s, false)
            } else {
                (s.unset(JOIN_WAKER), true)
            }
        });
        if ok {
            Ok(())
        } else {
            Err(prev)
        }
    }

    /// The `JoinHandle` is dropped: clears `JOIN_INTEREST` (and `JOIN_WAKER`).
    /// Returns the previous word: if it was `COMPLETE`, the handle must drop
    /// the output (the completer saw `JOIN_INTEREST` and left it); otherwise
    /// the completer will drop it. Exactly one side drops it.
    pub(crate) fn drop_join_interest(&self) -> Snapshot {
        self.update(act!(Join), |s| {
            (
                s.unset(JOIN_INTEREST | if s.is_complete() { 0 } else { JOIN_WAKER }),
                (),
            )
        })
        .0
    }

    /// Adds a reference (Relaxed: the caller already holds one, which orders it).
    pub(crate) fn ref_inc(&self) {
        let prev = self.val.fetch_add(REF_ONE, Relaxed);
        assert!(
            Snapshot(prev).refs() < (usize::MAX >> REF_SHIFT) / 2,
            "tempo: task reference count overflow"
        );
    }

    /// Drops a reference; returns `true` if it was the last (the caller frees
    /// the task). AcqRel: the last dropper sees every other holder's writes.
    #[must_use]
    pub(crate) fn ref_dec(&self) -> bool {
        let prev = Snapshot(self.val.fetch_sub(REF_ONE, AcqRel));
        debug_assert!(prev.refs() >= 1);
        prev.refs() == 1
    }
}

#[cfg(all(test, not(any(tempo_loom, tempo_shuttle))))]
mod tests {
    use super::*;

    #[test]
    fn wake_paths() {
        let s = State::new();
        assert_eq!(s.load().status(), SCHEDULED);
        assert_eq!(s.transition_to_notified(), Notify::Nothing);
        assert!(matches!(s.transition_to_running(), Start::Poll(_)));
        assert_eq!(s.transition_to_notified(), Notify::Nothing);
        assert!(s.load().has(NOTIFIED));
        assert_eq!(s.transition_to_idle(false), AfterPoll::Repost);
        assert!(matches!(s.transition_to_running(), Start::Poll(_)));
        assert_eq!(
            s.transition_to_idle(false),
            AfterPoll::Idle { released: true }
        );
        assert_eq!(
            s.load().refs(),
            2,
            "the notification's reference went with it"
        );
        assert_eq!(s.transition_to_notified(), Notify::PushIdle);
        assert_eq!(s.load().refs(), 3);
        assert_eq!(s.transition_to_notified(), Notify::Nothing, "idempotent");
    }

    /// The last reference is never released by `transition_to_idle`: the
    /// caller drops it, and with it frees the task.
    #[test]
    fn idle_keeps_the_last_reference_for_the_caller() {
        let s = State::new();
        assert!(matches!(s.transition_to_running(), Start::Poll(_)));
        assert!(!s.ref_dec() && !s.ref_dec(), "registry and handle gone");
        assert_eq!(s.load().refs(), 1);
        assert_eq!(
            s.transition_to_idle(false),
            AfterPoll::Idle { released: false }
        );
        assert_eq!(s.load().refs(), 1);
        assert!(s.ref_dec(), "the caller's drop is the last");
    }

    #[test]
    fn waiting_posted_is_not_pushed_twice() {
        let s = State::new();
        assert!(matches!(s.transition_to_running(), Start::Poll(_)));
        assert_eq!(s.transition_to_idle(true), AfterPoll::PostWaiting);
        assert_eq!(s.transition_to_signaled(), Notify::Nothing);
        assert_eq!(s.load().status(), SCHEDULED);
        assert_eq!(
            s.transition_to_dispatched(),
            Dispatch::ToReady { started: true }
        );
    }

    #[test]
    fn a_spawned_task_dispatches_unstarted_and_a_woken_one_started() {
        let s = State::new();
        assert_eq!(
            s.transition_to_dispatched(),
            Dispatch::ToReady { started: false },
            "a spawn never passes the ready queue (invariant 6)"
        );
        assert!(matches!(s.transition_to_running(), Start::Poll(_)));
        assert!(s.load().has(STARTED));
        assert_eq!(
            s.transition_to_idle(false),
            AfterPoll::Idle { released: true }
        );
        assert!(s.load().has(STARTED), "never cleared");
        assert_eq!(s.transition_to_notified(), Notify::PushIdle);
        assert_eq!(
            s.transition_to_dispatched(),
            Dispatch::ToReady { started: true }
        );
    }

    #[test]
    fn wakeup_ignored_when_signaled_and_signal_received_once() {
        let s = State::new();
        assert!(matches!(s.transition_to_running(), Start::Poll(_)));
        assert_eq!(s.transition_to_signaled(), Notify::Nothing);
        assert_eq!(s.transition_to_woken(), Notify::Nothing);
        assert!(!s.load().has(WOKEN));
        assert!(s.receive_signal());
        assert!(!s.receive_signal());
        assert_eq!(
            s.transition_to_idle(true),
            AfterPoll::Repost,
            "signal arrived during the run"
        );
    }

    #[test]
    fn expiry_vs_wake() {
        let s = State::new();
        assert!(matches!(s.transition_to_running(), Start::Poll(_)));
        assert_eq!(s.transition_to_idle(true), AfterPoll::PostWaiting);
        assert_eq!(s.transition_to_dispatched(), Dispatch::ToHeap);
        assert_eq!(s.transition_to_notified(), Notify::Push);
        assert!(!s.transition_expired(), "the wake won");
    }

    #[test]
    fn join_output_dropped_once() {
        let s = State::new();
        assert!(matches!(s.transition_to_running(), Start::Poll(_)));
        let before = s.transition_to_complete();
        assert!(before.has(JOIN_INTEREST));
        assert!(
            s.drop_join_interest().is_complete(),
            "handle drops the output"
        );
    }

    /// A straggler worker that still held a task's notification when the
    /// shutdown sweep claimed it skips the task (it used to panic with
    /// "tempo bug: transition_to_running from RUNNING, cancelled").
    #[test]
    fn a_task_claimed_by_shutdown_is_skipped_by_a_late_notification_holder() {
        let s = State::new();
        assert_eq!(s.transition_to_shutdown(), Shutdown::Claimed);
        let claimed = s.load();
        assert_eq!(s.transition_to_running(), Start::Skip);
        assert!(s.load() == claimed, "no change: the sweep owns the run");
        assert_eq!(s.transition_to_dispatched(), Dispatch::Drop);
        let _ = s.transition_to_complete();
        assert_eq!(s.transition_to_running(), Start::Skip);
    }

    #[test]
    fn shutdown_claims_idle_and_waits_for_running() {
        let s = State::new();
        assert_eq!(s.transition_to_shutdown(), Shutdown::Claimed);
        let _ = s.transition_to_complete();
        assert_eq!(s.transition_to_shutdown(), Shutdown::Done);
        assert_eq!(
            s.transition_to_notified(),
            Notify::Nothing,
            "wake after shutdown is harmless"
        );
    }
}
