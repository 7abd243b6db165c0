//! Trace validation (compiled only under `--features loom` / `shuttle`): the
//! core emits one abstract event at each linearisation point, and a Rust port
//! of the spec's next-state relation ([`port`]) checks every event *as the
//! model runs*; a mismatch panics inside the loom/shuttle execution, which
//! then prints its replayable schedule.
//!
//! The events are the RMWs of the task state word (`task/state.rs`: one
//! event per successful CAS, emitted before the thread's next atomic
//! operation, so no other model thread can run in between: loom and shuttle
//! switch threads only at synchronisation operations; see invariant 3 for
//! shuttle), the push to the front
//! queue, the take of a task from a worker's next-run slot, the append of a
//! re-posted task to its worker's rerun list, the monitor's steal (its
//! swap of a slot, its CAS on a share, the fill of its own share), spawn,
//! and the start of shutdown.
//!
//! With `TEMPO_TRACE_DIR` set, a sample of each test's traces (the first
//! execution and every `TEMPO_TRACE_EVERY`-th, default 997; at most
//! `TEMPO_TRACE_MAX` per test, default 3; at most `TEMPO_TRACE_EVENTS`
//! events each, default 80) is also written there as TLA+ modules that
//! `tla/check_traces.sh` checks with TLC against `tla/TraceScheduler.tla`,
//! i.e. against the TLA+ text itself: the port and the spec cannot drift apart.
//!
//! In normal builds this module does not exist: the [`trace!`] call sites
//! expand to nothing (no code, no data; `scripts/trace-zero-cost.sh` shows it).
//!
//! # Invariants
//! 1. The recorder is per OS thread: loom and shuttle run all threads of one
//!    execution on the thread that runs the test, and libtest runs each test
//!    on its own thread.
//! 2. A runtime's creation starts a fresh recording; its shutdown marks it
//!    ended, and the end of the model execution (or the next recording) runs
//!    the final checks (every task complete, no event left unplaced; at the
//!    end of the model execution also every task's cell freed: no leaked
//!    reference, which loom cannot see as `Arc` is std's in every flavour).
//! 3. Every change of a task's word other than reference counting is traced
//!    (transitions, signal/woken consumption, join bookkeeping), so the
//!    events of one task form a chain on the word without its reference
//!    count (which commutes with everything traced): each one's word before
//!    equals the previous one's word after. A break is a lost update. Under loom an event is recorded
//!    before the thread's next scheduling point, so events arrive in chain order. shuttle may also
//!    switch threads right *after* an atomic operation, so two racing RMWs
//!    can be recorded in the other order: under shuttle an event that does
//!    not continue the chain yet is parked and retried after each later
//!    event of that task; one still parked at the end is the failure (a lost
//!    update, a push with none owed). A wrong successor fails at once.

pub(crate) mod port;

use crate::sched::shared::SpawnTo;
use port::{Abs, Status};
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::Write as _;

/// A traced action (names as in `tla/Scheduler.tla` where they exist).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Act {
    /// `transition_to_notified`
    Wake,
    /// `transition_to_woken`
    Wakeup,
    /// `transition_to_signaled`
    Signal,
    /// `transition_to_cancelled`
    Abort,
    /// `transition_to_running`
    StartPoll,
    /// `receive_signal`
    ReceiveSignal,
    /// `take_woken`
    ConsumeWoken,
    /// `transition_to_idle`
    PollPending {
        /// The poll registered a deadline.
        has_deadline: bool,
    },
    /// `transition_to_complete` (`PollReady`, `FinishCancel` or the second
    /// half of `ShutdownSweep`)
    Complete,
    /// `transition_to_dispatched`
    Dispatch,
    /// `transition_expired`
    Expire,
    /// `transition_to_shutdown` (first half of `ShutdownSweep`)
    ShutdownClaim,
    /// Join-handle bookkeeping (not in the spec)
    Join,
}

struct Task {
    /// 1-based index in spawn order (the spec's task `t<idx>`).
    idx: usize,
    /// The whole word after the last applied event (invariant 3).
    word: usize,
    abs: Abs,
    owed_push: u32,
    /// A `PollPending` re-post owes an append to the worker's rerun list
    /// (`worker.rs` invariant 5), not a push.
    owed_rerun: u32,
    /// Of `owed_push`, those a next-run slot may take instead: owed by a
    /// wake from `IDLE` (`Notify::PushIdle`) or a spawn kept in the
    /// spawner's slot (`SpawnSlot`). A wake from `WAITING` must
    /// reach the front queue, whose dispatch removes the heap entry (TLA+
    /// twin `mutants/slot_takes_waiting.cfg`).
    owed_slot: u32,
    accepted: bool,
    claimed: bool,
    /// `cancelled` before the shutdown claim (the spec's sweep keeps it).
    cancelled_before_claim: bool,
    /// Its cell was freed (its last reference dropped).
    freed: bool,
    /// Events that arrived before the ones they follow (shuttle only).
    #[cfg(tempo_shuttle)]
    parked: Vec<Ev>,
    /// Every word the task had (shuttle only: places late no-op RMWs).
    #[cfg(tempo_shuttle)]
    past: Vec<usize>,
}

struct Entry {
    action: &'static str,
    task: usize,
    after: Option<Abs>,
}

struct Recorder {
    workers: usize,
    tasks: Vec<Task>,
    by_key: HashMap<usize, usize>,
    log: Vec<Entry>,
    env_events: usize,
    /// Every event, printed on a mismatch (formatted only then).
    history: Vec<Hist>,
    /// shuttle spliced a late cycle, or two pushes overlapped ([`push`]):
    /// the log is not known to be in TLA+ order, so it is not written for TLC.
    reordered: bool,
    /// Pushes recorded whose queue operation has not returned yet ([`push`]).
    open_pushes: usize,
    /// The runtime shut down; the final checks wait for the execution's end.
    ended: bool,
}

#[derive(Debug)]
enum Hist {
    Spawn {
        t: usize,
        accepted: bool,
        to: SpawnTo,
    },
    Step {
        t: usize,
        act: Act,
        before: Abs,
        after: Abs,
    },
    Push {
        t: usize,
    },
    SlotTake {
        t: usize,
    },
    /// `StealSlot`, `StealShare` (`t`: the share's first task) or
    /// `StealFill` (`t` = 0).
    Steal {
        action: &'static str,
        t: usize,
    },
    Rerun {
        t: usize,
    },
    ShutdownBegin,
}

impl std::fmt::Display for Hist {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Hist::Spawn { t, accepted, to } => {
                write!(f, "t{t}: spawn (accepted: {accepted}, to: {to:?})")
            }
            Hist::Step {
                t,
                act,
                before,
                after,
            } => write!(f, "t{t}: {act:?}: {before:?} -> {after:?}"),
            Hist::Push { t } => write!(f, "t{t}: push to the front queue"),
            Hist::SlotTake { t } => write!(f, "t{t}: taken from a next-run slot"),
            Hist::Steal { action, t } => write!(f, "t{t}: {action} (the monitor)"),
            Hist::Rerun { t } => write!(f, "t{t}: appended to its worker's rerun list"),
            Hist::ShutdownBegin => f.write_str("ShutdownBegin"),
        }
    }
}

thread_local! {
    static REC: RefCell<Option<Recorder>> = const { RefCell::new(None) };
    /// Per test: (executions seen, traces written).
    static WRITTEN: RefCell<HashMap<String, (usize, usize)>> = RefCell::new(HashMap::new());
}

fn fail(r: &Recorder, msg: String) -> ! {
    let mut h = String::new();
    for (i, l) in r.history.iter().enumerate() {
        let _ = writeln!(h, "  {i:3}: {l}");
    }
    panic!(
        "trace validation: the code left the spec (tla/Scheduler.tla): {msg}\n\
         events so far:\n{h}(the loom/shuttle schedule printed with this panic replays it)"
    );
}

/// A runtime with `workers` worker threads starts (invariant 2).
pub(crate) fn runtime_start(workers: usize) {
    end_execution();
    REC.with(|r| {
        *r.borrow_mut() = Some(Recorder {
            workers: workers.max(1),
            tasks: Vec::new(),
            by_key: HashMap::new(),
            log: Vec::new(),
            env_events: 0,
            history: Vec::new(),
            reordered: false,
            open_pushes: 0,
            ended: false,
        })
    });
}

/// A task with state word at `key` was created; `accepted`: registered
/// (else rejected by a closed registry: never pushed, claimed at once);
/// `to`: the spawner appends it to its own rerun list (`SpawnLocal`,
/// `shared.rs` invariant 3), keeps it in its next-run slot (`SpawnSlot`,
/// invariant 5: the owner's take, a `StealSlot` or the un-keep of
/// `SlotUnkeep` settles that), or pushes
/// it to the front queue.
pub(crate) fn spawn(key: usize, accepted: bool, to: SpawnTo) {
    with(|r| {
        let idx = r.tasks.len() + 1;
        let (owed_push, owed_rerun, owed_slot) = match (accepted, to) {
            (false, _) => (0, 0, 0),
            (true, SpawnTo::Front) => (1, 0, 0),
            (true, SpawnTo::Rerun) => (0, 1, 0),
            (true, SpawnTo::Slot) => (1, 0, 1),
        };
        r.tasks.push(Task {
            idx,
            word: crate::task::state::INITIAL & crate::task::state::NON_REF_BITS,
            abs: Abs::spawned(),
            owed_push,
            owed_rerun,
            owed_slot,
            accepted,
            claimed: false,
            cancelled_before_claim: false,
            freed: false,
            #[cfg(tempo_shuttle)]
            parked: Vec::new(),
            #[cfg(tempo_shuttle)]
            past: vec![crate::task::state::INITIAL & crate::task::state::NON_REF_BITS],
        });
        r.by_key.insert(key, idx - 1);
        r.history.push(Hist::Spawn {
            t: idx,
            accepted,
            to,
        });
        if accepted {
            r.log.push(Entry {
                action: match to {
                    SpawnTo::Front => "SpawnRegister",
                    SpawnTo::Rerun => "SpawnLocal",
                    SpawnTo::Slot => "SpawnSlot",
                },
                task: idx,
                after: Some(Abs::spawned()),
            });
        }
    });
}

/// The cell of the task with state word at `key` was freed (its last
/// reference dropped); a later spawn may reuse the key (and remaps it).
pub(crate) fn freed(key: usize) {
    with(|r| {
        // The key stays mapped: a thread whose RMW released its reference
        // (`AfterPoll::Idle { released: true }`) may record that step after
        // another thread freed the cell (shuttle: invariant 3).
        if let Some(&i) = r.by_key.get(&key) {
            r.tasks[i].freed = true;
        }
    });
}

/// An event not applied yet (shuttle only, invariant 3).
#[derive(Clone, Copy, Debug)]
enum Ev {
    Step {
        act: Act,
        prev: usize,
        next: usize,
    },
    Push,
    /// A take from a slot: the owner's (`stolen` false, hidden in the TLA+
    /// log) or the monitor's (`StealSlot`, logged).
    SlotTake {
        stolen: bool,
    },
    Rerun,
}

/// One successful RMW of the word at `key`: `prev` → `next` under `act`.
pub(crate) fn step(act: Act, key: usize, prev: usize, next: usize) {
    with(|r| {
        let Some(&i) = r.by_key.get(&key) else {
            return; // a word of no traced task (e.g. created before the recording)
        };
        r.history.push(Hist::Step {
            t: r.tasks[i].idx,
            act,
            before: Abs::from_word(prev),
            after: Abs::from_word(next),
        });
        // Invariant 3: chained on the bits other than the reference count.
        let m = crate::task::state::NON_REF_BITS;
        offer(
            r,
            i,
            Ev::Step {
                act,
                prev: prev & m,
                next: next & m,
            },
        );
    });
}

/// The task at `key` is pushed to the front queue (`AtMostOnePlace`: a push
/// must be owed).
///
/// Recorded *before* the push's CAS, so that the sched role cannot dispatch
/// the task before its push is in the log; [`push_done`] marks the CAS done.
/// Between the two, loom and shuttle may run another thread, whose push may
/// then reach the queue first while being recorded second: the FIFO order of
/// two overlapping pushes is not known. Such a recording is still checked
/// step by step by the port, but not written for TLC (`reordered`). (A
/// shuttle run's TLA+ trace of `readiness_many_readers` was rejected for
/// this: two racing re-posts logged in the other order than the front queue
/// had them.)
pub(crate) fn push(key: usize) {
    with(|r| {
        r.open_pushes += 1;
        if r.open_pushes > 1 {
            r.reordered = true;
        }
        let Some(&i) = r.by_key.get(&key) else { return };
        let t = r.tasks[i].idx;
        r.history.push(Hist::Push { t });
        offer(r, i, Ev::Push);
    });
}

/// A push recorded by [`push`] has done its CAS (any model thread: the
/// recorder is shared by every thread of the execution, invariant 1).
pub(crate) fn push_done() {
    with(|r| r.open_pushes = r.open_pushes.saturating_sub(1));
}

/// A worker takes the task at `key` from its next-run slot to run it
/// (`WorkerTakeSlot`, hidden in the TLA+ log). The wake that put it there
/// owed a push and traced none (the slot is part of the wake's step): the
/// take settles that debt. A slot task that the batch bound moves to the
/// worker's rerun list instead (`SlotFlush`) is traced as a take too; a
/// monitor's steal of it is [`steal_slot`]: exactly one of the owner's take
/// and the steal gets the task, so a second take of one wake's task is
/// rejected here.
pub(crate) fn slot_take(key: usize) {
    take_from_slot(key, false);
}

/// A monitor swapped the task at `key` out of another runner's next-run
/// slot (`StealSlot`, `sched/watch.rs`): as [`slot_take`] (it settles the
/// push the wake owed; exactly one of the owner's take and the steal gets
/// the task), and logged for TLC.
pub(crate) fn steal_slot(key: usize) {
    take_from_slot(key, true);
}

fn take_from_slot(key: usize, stolen: bool) {
    with(|r| {
        let Some(&i) = r.by_key.get(&key) else { return };
        let t = r.tasks[i].idx;
        r.history.push(if stolen {
            Hist::Steal {
                action: "StealSlot",
                t,
            }
        } else {
            Hist::SlotTake { t }
        });
        offer(r, i, Ev::SlotTake { stolen });
    });
}

/// A monitor took another runner's share, whose first task is at `key`,
/// with its CAS (`StealShare`). The tasks were popped from the ready queue,
/// their pushes settled then: nothing is owed; logged for TLC.
pub(crate) fn steal_share(key: usize) {
    with(|r| {
        let Some(&i) = r.by_key.get(&key) else { return };
        let t = r.tasks[i].idx;
        log_steal(r, "StealShare", t);
    });
}

/// A monitor moved what it stole into its own share (`StealFill`).
pub(crate) fn steal_fill() {
    with(|r| log_steal(r, "StealFill", 0));
}

/// A step of the monitor's steal that moves no debt: history and TLA+ log.
fn log_steal(r: &mut Recorder, action: &'static str, t: usize) {
    r.history.push(Hist::Steal { action, t });
    r.log.push(Entry {
        action,
        task: t,
        after: None,
    });
}

/// A thread that is no worker of the runtime enters it as a runner (a
/// model's monitor, `Watch::steal_and_run`): one more worker in the TLA+
/// trace (a steal needs a thief other than the robbed worker).
pub(crate) fn runner_enters() {
    with(|r| r.workers += 1);
}

/// The worker that ran the task at `key` appends it to its rerun list
/// (`worker.rs` invariant 5; the spec's `PollPending` again-branch, whose
/// `RerunFlush`/`WorkerPop` are hidden in the TLA+ log), or the worker whose
/// run spawned it locally does (`SpawnLocal`). Settles the debt of that
/// `PollPending` or spawn; a push for it would fail ([`push`]: none owed).
pub(crate) fn rerun(key: usize) {
    with(|r| {
        let Some(&i) = r.by_key.get(&key) else { return };
        let t = r.tasks[i].idx;
        r.history.push(Hist::Rerun { t });
        offer(r, i, Ev::Rerun);
    });
}

/// Applies `ev` to task `i`, or (shuttle) parks it until the events it
/// depends on arrived, then retries the parked ones (invariant 3).
fn offer(r: &mut Recorder, i: usize, ev: Ev) {
    match apply(r, i, ev) {
        Ok(()) => {}
        #[cfg(tempo_shuttle)]
        Err(_) => {
            r.tasks[i].parked.push(ev);
            return;
        }
        #[cfg(not(tempo_shuttle))]
        Err(e) => fail(r, e),
    }
    #[cfg(tempo_shuttle)]
    loop {
        let parked = std::mem::take(&mut r.tasks[i].parked);
        let before = parked.len();
        for ev in parked {
            if apply(r, i, ev).is_err() {
                r.tasks[i].parked.push(ev);
            }
        }
        if r.tasks[i].parked.len() == before {
            break;
        }
    }
}

/// Checks `ev` against the spec from task `i`'s abstract state and applies it.
fn apply(r: &mut Recorder, i: usize, ev: Ev) -> Result<(), String> {
    let idx = r.tasks[i].idx;
    let abs = r.tasks[i].abs;
    let (act, before, after) = match ev {
        Ev::Push => {
            if r.tasks[i].owed_push == 0 {
                return Err(format!(
                    "t{idx} pushed to the front queue with no push owed (it would be in two places: AtMostOnePlace)"
                ));
            }
            r.tasks[i].owed_push -= 1;
            r.tasks[i].owed_slot = r.tasks[i].owed_slot.min(r.tasks[i].owed_push);
            if r.tasks[i].accepted {
                r.log.push(Entry {
                    action: "PushFront",
                    task: idx,
                    after: None,
                });
            }
            return Ok(());
        }
        Ev::SlotTake { stolen } => {
            if r.tasks[i].owed_push == 0 {
                return Err(format!(
                    "t{idx} taken from a next-run slot with no push owed (it would be in two places: AtMostOnePlace)"
                ));
            }
            if r.tasks[i].owed_slot == 0 {
                return Err(format!(
                    "t{idx} taken from a next-run slot, but its push is owed by a wake from Waiting: it must go to the front queue (its heap entry stays otherwise)"
                ));
            }
            r.tasks[i].owed_slot -= 1;
            r.tasks[i].owed_push -= 1;
            if stolen && r.tasks[i].accepted {
                r.log.push(Entry {
                    action: "StealSlot",
                    task: idx,
                    after: None,
                });
            }
            return Ok(());
        }
        Ev::Rerun => {
            if r.tasks[i].owed_rerun == 0 {
                return Err(format!(
                    "t{idx} appended to a rerun list that no PollPending re-post or local spawn owed (AtMostOnePlace)"
                ));
            }
            r.tasks[i].owed_rerun -= 1;
            return Ok(());
        }
        Ev::Step { act, prev, next } => {
            // shuttle: a no-op RMW (prev == next) recorded late happened while
            // the word had that value; it is checked there and not logged.
            #[cfg(tempo_shuttle)]
            if prev != r.tasks[i].word && prev == next && r.tasks[i].past.contains(&prev) {
                let a = Abs::from_word(prev);
                // Not in the TLA+ log (and so the log is not in TLA+ order).
                r.reordered = true;
                return match port::step(act, a) {
                    Ok((n, false)) if n == a => Ok(()),
                    _ => Err(format!(
                        "t{idx}: {act:?} from {a:?} is not a no-op, but the code changed nothing"
                    )),
                };
            }
            if prev != r.tasks[i].word {
                let before = Abs::from_word(prev);
                return Err(format!(
                    "t{idx}: {act:?} started from {before:?} (word {prev:#x}), but the last transition left {abs:?} (word {:#x}): a lost update, the RMW did not see the previous transition",
                    r.tasks[i].word
                ));
            }
            r.tasks[i].word = next;
            #[cfg(tempo_shuttle)]
            r.tasks[i].past.push(next);
            (act, Abs::from_word(prev), Abs::from_word(next))
        }
    };
    debug_assert_eq!(before, abs, "the word chain and the abstract state agree");
    let (want, push) = port::step(act, abs).map_err(|e| format!("t{idx}: {e}"))?;
    if after != want {
        // Not a reordering: the code computed the wrong successor. Fatal everywhere.
        fail(
            r,
            format!("t{idx}: {act:?} from {abs:?} must give {want:?}, the code wrote {after:?}"),
        );
    }
    let t = &mut r.tasks[i];
    t.abs = want;
    if push {
        // The again-branch of PollPending (Running -> Scheduled) goes to the
        // worker's rerun list; every other owed place is the front queue.
        if matches!(act, Act::PollPending { .. }) && want.status == Status::Scheduled {
            t.owed_rerun += 1;
        } else {
            t.owed_push += 1;
            if abs.status == Status::Idle
                && matches!(act, Act::Wake | Act::Wakeup | Act::Signal | Act::Abort)
            {
                t.owed_slot += 1;
            }
        }
    }
    if act == Act::ShutdownClaim && abs.status != Status::Running && abs.status != Status::Complete
    {
        t.claimed = true;
        t.cancelled_before_claim = abs.cancelled;
    }
    if !t.accepted {
        return Ok(());
    }
    // The TLA+ action this step is (None: a step the spec does not have:
    // a no-op, or the first half of ShutdownSweep).
    let env = |r: &mut Recorder, name| {
        r.env_events += 1;
        Some(name)
    };
    let name = match act {
        Act::Wake | Act::Wakeup | Act::Signal | Act::Abort if abs.status == Status::Complete => {
            None
        }
        Act::Wake => env(r, "Wake"),
        Act::Wakeup => env(r, "Wakeup"),
        Act::Signal => env(r, "Signal"),
        Act::Abort => env(r, "Abort"),
        Act::StartPoll if abs.status == Status::Complete => None,
        Act::StartPoll => Some("StartPoll"),
        Act::ReceiveSignal if abs.signaled => Some("ReceiveSignal"),
        Act::ConsumeWoken if abs.woken => Some("ConsumeWoken"),
        Act::ReceiveSignal | Act::ConsumeWoken => None,
        Act::PollPending { .. } => Some("PollPending"),
        Act::Complete if r.tasks[i].claimed => Some("ShutdownSweep"),
        Act::Complete => Some("Complete"),
        Act::Dispatch => Some("SchedDispatch"),
        Act::Expire => Some("SchedExpire"),
        Act::ShutdownClaim | Act::Join => None,
    };
    // The spec's ShutdownSweep is one step (claim and complete) that leaves
    // `cancelled` as it was; the code's claim sets it on the way.
    let logged = if name == Some("ShutdownSweep") {
        Abs {
            cancelled: r.tasks[i].cancelled_before_claim,
            ..want
        }
    } else {
        want
    };
    if let Some(action) = name {
        r.log.push(Entry {
            action,
            task: idx,
            after: Some(logged),
        });
    }
    Ok(())
}

/// `Shared::begin_shutdown`.
pub(crate) fn shutdown_begin() {
    with(|r| {
        r.history.push(Hist::ShutdownBegin);
        r.log.push(Entry {
            action: "ShutdownBegin",
            task: 0,
            after: None,
        });
    });
}

/// The runtime finished shutting down (invariant 2). The final checks wait
/// for the end of the model execution ([`end_execution`]): a thread outside
/// the runtime (a late spawner, a waker) may still be between its RMW and
/// its event, or finishing a rejected spawn.
pub(crate) fn runtime_end() {
    with(|r| r.ended = true);
}

/// The end of a model execution (all its threads joined): the final checks
/// of an ended recording, then maybe the trace for TLC. The harnesses call it
/// through `tempo::__model::end_execution` after each execution
/// ([`end_model_execution`]); the next `runtime_start` on the thread calls
/// it too.
pub(crate) fn end_execution() {
    end_recording(false)
}

/// [`end_execution`] called by the harness after every thread of the
/// execution was joined and every value of the model body dropped: every
/// task's cell must have been freed by then (a reference that nobody drops,
/// e.g. a notification left in a queue that shutdown forgot, leaks the
/// task and, through its header, the runtime).
pub(crate) fn end_model_execution() {
    end_recording(true)
}

fn end_recording(final_: bool) {
    let Some(r) = REC.with(|r| r.borrow_mut().take()) else {
        return;
    };
    if !r.ended {
        return; // the runtime was never shut down: nothing to conclude
    }
    #[cfg(tempo_shuttle)]
    let mut r = r;
    #[cfg(tempo_shuttle)]
    for i in 0..r.tasks.len() {
        while splice_cycle(&mut r, i) {}
    }
    for t in &r.tasks {
        #[cfg(tempo_shuttle)]
        if !t.parked.is_empty() {
            fail(
                &r,
                format!("t{}: events that never fit the spec (a lost update, or a push with none owed): {:?}", t.idx, t.parked),
            );
        }
        if t.abs.status != Status::Complete {
            fail(
                &r,
                format!("t{}: not complete after shutdown ({:?})", t.idx, t.abs),
            );
        }
        if final_ && !t.freed {
            fail(
                &r,
                format!(
                    "t{}: never freed after the execution ended (a reference leaked: a notification left in a queue, a handle or waker nobody dropped)",
                    t.idx
                ),
            );
        }
    }
    write_tla(&r);
}

fn with(f: impl FnOnce(&mut Recorder)) {
    REC.with(|r| {
        if let Some(rec) = r.borrow_mut().as_mut() {
            f(rec);
        }
    });
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// shuttle (invariant 3): parked events that form a closed cycle from a
/// word the task had back to the same word (a whole wake/run/park round
/// recorded after the task moved on) happened while the task had that word.
/// Each step of the cycle is checked against the spec from its own state;
/// the cycle is then removed. The trace is no longer in TLA+ order, so it is
/// not written for TLC. Returns whether a cycle was spliced.
#[cfg(tempo_shuttle)]
fn splice_cycle(r: &mut Recorder, i: usize) -> bool {
    let parked = r.tasks[i].parked.clone();
    for (k, start) in parked.iter().enumerate() {
        let Ev::Step { prev: origin, .. } = *start else {
            continue;
        };
        if !r.tasks[i].past.contains(&origin) {
            continue;
        }
        let mut used = vec![false; parked.len()];
        let (mut word, mut owed) = (origin, 0u32);
        let mut next_k = Some(k);
        while let Some(j) = next_k {
            used[j] = true;
            match parked[j] {
                // (Owed pushes and reruns are counted together here.)
                Ev::Push | Ev::SlotTake { .. } | Ev::Rerun => owed -= 1,
                Ev::Step { act, prev, next } => {
                    let a = Abs::from_word(prev);
                    match port::step(act, a) {
                        Ok((n, push)) if n == Abs::from_word(next) => owed += u32::from(push),
                        _ => break,
                    }
                    word = next;
                }
            }
            if word == origin && owed == 0 {
                let keep = parked
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| !used[*j])
                    .map(|(_, ev)| *ev)
                    .collect();
                r.tasks[i].parked = keep;
                r.reordered = true;
                return true;
            }
            next_k = parked.iter().enumerate().position(|(j, ev)| {
                !used[j]
                    && match ev {
                        Ev::Push | Ev::SlotTake { .. } | Ev::Rerun => owed > 0,
                        Ev::Step { prev, .. } => *prev == word,
                    }
            });
        }
    }
    false
}

/// Writes the trace as a TLA+ module extending `TraceScheduler` (module docs).
fn write_tla(r: &Recorder) {
    let Some(dir) = std::env::var_os("TEMPO_TRACE_DIR") else {
        return;
    };
    if r.reordered {
        return;
    }
    if r.log.is_empty() || r.log.len() > env_usize("TEMPO_TRACE_EVENTS", 80) {
        return;
    }
    let test = crate::shim::os_thread_name()
        .unwrap_or_else(|| "model".into())
        .replace(|c: char| !c.is_ascii_alphanumeric(), "_");
    // Sample: the first execution of each test and every `TEMPO_TRACE_EVERY`-th
    // (default 997) after it, at most `TEMPO_TRACE_MAX` (default 3) per test.
    let (seen, written) = WRITTEN.with(|w| {
        let mut w = w.borrow_mut();
        let e = w.entry(test.clone()).or_insert((0, 0));
        e.0 += 1;
        (e.0, e.1)
    });
    let every = env_usize("TEMPO_TRACE_EVERY", 997).max(1);
    if written >= env_usize("TEMPO_TRACE_MAX", 3) || (seen != 1 && seen % every != 0) {
        return;
    }
    let n = written + 1;
    WRITTEN.with(|w| w.borrow_mut().get_mut(&test).expect("entry above").1 = n);
    let module = format!("trace_{test}_{n}");
    let mut s = format!(
        "---- MODULE {module} ----\n\\* Generated by tempo's trace recorder (src/trace/mod.rs); checked by tla/check_traces.sh.\nEXTENDS TraceScheduler\n\n"
    );
    let _ = writeln!(
        s,
        "TraceTasks == 1..{}",
        r.tasks.iter().filter(|t| t.accepted).count().max(1)
    );
    let ws: Vec<String> = (1..=r.workers).map(|w| format!("\"w{w}\"")).collect();
    let _ = writeln!(s, "TraceWorkers == {{{}}}", ws.join(", "));
    let _ = writeln!(s, "TraceBudget == {}", r.env_events);
    s.push_str("TraceLog == <<\n");
    for (k, e) in r.log.iter().enumerate() {
        let sep = if k + 1 == r.log.len() { "" } else { "," };
        let a = e.after.unwrap_or(Abs::spawned());
        let _ = writeln!(
            s,
            "  [a |-> \"{}\", t |-> {}, chk |-> {}, st |-> \"{}\", nt |-> {}, ca |-> {}, wo |-> {}, si |-> {}]{sep}",
            e.action,
            e.task,
            if e.after.is_some() { "TRUE" } else { "FALSE" },
            a.status.tla(),
            tla_bool(a.notified),
            tla_bool(a.cancelled),
            tla_bool(a.woken),
            tla_bool(a.signaled),
        );
    }
    s.push_str(">>\n====\n");
    let dir = std::path::PathBuf::from(dir);
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(dir.join(format!("{module}.tla")), s);
}

fn tla_bool(b: bool) -> &'static str {
    if b {
        "TRUE"
    } else {
        "FALSE"
    }
}
